/*
 * metrics_perturb: seeded prompt perturbations for the robustness figures (eval_metrics.h
 * has the rules). Every edit touches ASCII letters or U+0020 only, so the output is valid
 * UTF-8 whenever the input is; the input is checked to be valid UTF-8 first.
 */
#include <stdlib.h>
#include <string.h>

#include "ecology/eval_metrics.h"

/* clang-format off */
static const char *const KIND_NAMES[ECO_PERTURB__COUNT] = {"typo", "case", "space", "prefix"};

/* The distracting prefixes: true, harmless, unrelated sentences (no instruction, no digit,
 * nothing a task could read as data), each ending in a space. */
static const char *const PREFIXES[ECO_PERTURB_N_PREFIXES] = {
    "The weather was mild and grey all week. ",
    "My neighbour keeps three cats and a parrot. ",
    "Libraries lend books, maps and sometimes tools. ",
    "A kettle takes a few minutes to boil. ",
    "Some rivers freeze over in the winter. ",
    "The train left the station a little late. ",
    "Bees visit many flowers on a warm day. ",
    "Old maps often show roads that no longer exist. ",
};
/* clang-format on */

const char *eco_perturb_kind_name(eco_perturb_kind kind) {
    return (unsigned)kind < ECO_PERTURB__COUNT ? KIND_NAMES[kind] : NULL;
}

eco_status eco_perturb_kind_parse(const char *name, eco_perturb_kind *out) {
    for (int i = 0; name && i < ECO_PERTURB__COUNT; i++)
        if (strcmp(name, KIND_NAMES[i]) == 0) {
            if (out) *out = (eco_perturb_kind)i;
            return ECO_STATUS_OK;
        }
    return eco_error(ECO_STATUS_EINVAL,
                     "unknown perturbation '%.40s' (one of typo, case, space, prefix)",
                     name ? name : "(null)");
}

const char *eco_perturb_prefix(size_t i) { return i < ECO_PERTURB_N_PREFIXES ? PREFIXES[i] : NULL; }

/* splitmix64's finaliser. */
static uint64_t mix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* An integer uniform in [0, n), n >= 1 (rejection sampling: no modulo bias). */
static size_t below(eco_rng *r, size_t n) {
    uint64_t lim = UINT64_MAX - UINT64_MAX % (uint64_t)n;
    uint64_t x;
    do x = eco_rng_next(r);
    while (x >= lim);
    return (size_t)(x % (uint64_t)n);
}

static bool is_letter(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

static eco_status oom(void) { return eco_error(ECO_STATUS_ENOMEM, "perturb: out of memory"); }

/* Typos on the letters of s[0..n) (the span), appended to out. */
static eco_status do_typo(eco_rng *r, const char *s, size_t n, double rate, eco_buf *out) {
    size_t letters = 0;
    for (size_t i = 0; i < n; i++) letters += is_letter((unsigned char)s[i]);
    /* edit[i]: 0 none, 1 swap (or duplicate when the next is no letter), 2 drop, 3 duplicate */
    uint8_t *edit = calloc(n ? n : 1, 1);
    if (!edit) return oom();
    size_t edits = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_letter((unsigned char)s[i])) continue;
        if (eco_rng_uniform(r) < rate) {
            edit[i] = (uint8_t)(1 + below(r, 3));
            edits++;
            if (edit[i] == 1 && i + 1 < n && is_letter((unsigned char)s[i + 1])) i++; /* swapped */
        }
    }
    if (edits == 0 && letters > 0) {
        size_t pick = below(r, letters), seen = 0;
        for (size_t i = 0; i < n; i++)
            if (is_letter((unsigned char)s[i]) && seen++ == pick) {
                edit[i] = (uint8_t)(1 + below(r, 3));
                break;
            }
    }
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        char c = s[i];
        switch (edit[i]) {
            case 0:
                ok = eco_buf_push(out, c);
                break;
            case 1:
                if (i + 1 < n && is_letter((unsigned char)s[i + 1])) {
                    ok = eco_buf_push(out, s[i + 1]) && eco_buf_push(out, c);
                    i++;
                } else {
                    ok = eco_buf_push(out, c) && eco_buf_push(out, c);
                }
                break;
            case 2:
                break;
            default:
                ok = eco_buf_push(out, c) && eco_buf_push(out, c);
                break;
        }
    }
    free(edit);
    return ok ? ECO_STATUS_OK : oom();
}

static eco_status do_case(eco_rng *r, const char *s, size_t n, eco_buf *out) {
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (is_letter((unsigned char)c))
            c = (eco_rng_next(r) >> 63) ? (char)(c & ~0x20) : (char)(c | 0x20);
        if (!eco_buf_push(out, c)) return oom();
    }
    return ECO_STATUS_OK;
}

static eco_status do_space(eco_rng *r, const char *s, size_t n, double rate, eco_buf *out) {
    size_t spaces = 0;
    for (size_t i = 0; i < n; i++) spaces += s[i] == ' ';
    if (spaces == 0) {
        /* Insert one space at a code point boundary strictly inside the span. */
        size_t cps = 0;
        for (size_t i = 0; i < n; i++) cps += ((unsigned char)s[i] & 0xC0) != 0x80;
        size_t at = n; /* one code point or none: after it */
        if (cps >= 2) {
            size_t pick = 1 + below(r, cps - 1), seen = 0; /* boundary before code point pick */
            for (size_t i = 0; i < n; i++)
                if (((unsigned char)s[i] & 0xC0) != 0x80 && seen++ == pick) {
                    at = i;
                    break;
                }
        }
        bool ok = eco_buf_append(out, s, at) && eco_buf_push(out, ' ') &&
                  eco_buf_append(out, s + at, n - at);
        return ok ? ECO_STATUS_OK : oom();
    }
    uint8_t *edit = calloc(n, 1); /* 0 keep, 1 drop, 2 double */
    if (!edit) return oom();
    size_t edits = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ' ' && eco_rng_uniform(r) < rate) {
            edit[i] = (uint8_t)(1 + (eco_rng_next(r) >> 63));
            edits++;
        }
    if (edits == 0) {
        size_t pick = below(r, spaces), seen = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i] == ' ' && seen++ == pick) {
                edit[i] = (uint8_t)(1 + (eco_rng_next(r) >> 63));
                break;
            }
    }
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        if (edit[i] == 1) continue;
        ok = eco_buf_push(out, s[i]);
        if (ok && edit[i] == 2) ok = eco_buf_push(out, ' ');
    }
    free(edit);
    return ok ? ECO_STATUS_OK : oom();
}

eco_status eco_perturb(eco_perturb_kind kind, uint64_t seed, uint64_t case_index,
                       const char *prompt, size_t len, const eco_perturb_opts *opts, eco_buf *out) {
    if (!out || (!prompt && len)) return eco_error(ECO_STATUS_EINVAL, "perturb: NULL argument");
    if ((unsigned)kind >= ECO_PERTURB__COUNT)
        return eco_error(ECO_STATUS_EINVAL, "perturb: unknown kind %d", (int)kind);
    eco_perturb_opts o = opts ? *opts : (eco_perturb_opts){0};
    if (!(o.typo_rate >= 0 && o.typo_rate <= 1) || !(o.space_rate >= 0 && o.space_rate <= 1))
        return eco_error(ECO_STATUS_EINVAL, "perturb: a rate outside [0, 1]");
    if (o.typo_rate == 0) o.typo_rate = ECO_PERTURB_TYPO_RATE;
    if (o.space_rate == 0) o.space_rate = ECO_PERTURB_SPACE_RATE;
    size_t bad = eco_utf8_valid_prefix(prompt, len);
    if (bad < len)
        return eco_error(ECO_STATUS_EINVAL, "perturb: the prompt is not valid UTF-8 at byte %zu",
                         bad);
    size_t begin = o.begin, end = o.end ? o.end : len;
    if (begin > end || end > len)
        return eco_error(ECO_STATUS_EINVAL,
                         "perturb: span [%zu, %zu) outside the prompt (%zu bytes)", begin, end,
                         len);
    if ((begin < len && ((unsigned char)prompt[begin] & 0xC0) == 0x80) ||
        (end < len && ((unsigned char)prompt[end] & 0xC0) == 0x80))
        return eco_error(ECO_STATUS_EINVAL, "perturb: span [%zu, %zu) splits a code point", begin,
                         end);

    eco_rng r;
    eco_rng_seed(&r, mix64(mix64(mix64(seed) ^ case_index) ^ ((uint64_t)kind + 1)));
    size_t mark = out->len;
    eco_status st = ECO_STATUS_OK;
    if (kind == ECO_PERTURB_PREFIX) {
        if (!eco_buf_puts(out, PREFIXES[below(&r, ECO_PERTURB_N_PREFIXES)]) ||
            !eco_buf_append(out, prompt, len))
            st = oom();
    } else if (!eco_buf_append(out, prompt, begin)) {
        st = oom();
    } else {
        const char *s = prompt + begin;
        size_t n = end - begin;
        if (kind == ECO_PERTURB_TYPO)
            st = do_typo(&r, s, n, o.typo_rate, out);
        else if (kind == ECO_PERTURB_CASE)
            st = do_case(&r, s, n, out);
        else
            st = do_space(&r, s, n, o.space_rate, out);
        if (!st && !eco_buf_append(out, prompt + end, len - end)) st = oom();
    }
    if (st) {
        out->len = mark; /* keep what it had */
        if (out->data) out->data[mark] = '\0';
    }
    return st;
}
