/*
 * Unicode NFC (canonical decomposition, canonical ordering, canonical composition, as in
 * UAX #15), on tables generated from the Unicode Character Database by
 * scripts/gen_nfc_table.py into tokenizer_nfc_table.c. Hangul syllables are composed and
 * decomposed arithmetically. Invalid UTF-8 bytes are copied through and block composition
 * across them (each valid run between them is normalized on its own).
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

enum {
    S_BASE = 0xAC00,
    L_BASE = 0x1100,
    V_BASE = 0x1161,
    T_BASE = 0x11A7,
    L_COUNT = 19,
    V_COUNT = 21,
    T_COUNT = 28,
    N_COUNT = V_COUNT * T_COUNT,
    S_COUNT = L_COUNT * N_COUNT,
};

static int ccc_of(uint32_t cp) {
    if (cp < 0x300) return 0;
    size_t lo = 0, hi = tok_nfc_ccc_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (tok_nfc_ccc[mid][0] < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < tok_nfc_ccc_count && tok_nfc_ccc[lo][0] == cp ? (int)tok_nfc_ccc[lo][1] : 0;
}

static bool qc_not_yes(uint32_t cp) {
    if (cp < 0x300) return false;
    size_t lo = 0, hi = tok_nfc_qc_count;
    while (lo < hi) { /* first range whose end >= cp */
        size_t mid = (lo + hi) / 2;
        if (tok_nfc_qc[mid][1] < cp) lo = mid + 1;
        else hi = mid;
    }
    return lo < tok_nfc_qc_count && tok_nfc_qc[lo][0] <= cp;
}

/* Full canonical decomposition of cp, or NULL (with *n = 0) when it has none. */
static const uint32_t *decomp_of(uint32_t cp, size_t *n) {
    *n = 0;
    if (cp < 0xC0) return NULL;
    size_t lo = 0, hi = tok_nfc_decomp_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (tok_nfc_decomp[mid][0] < cp) lo = mid + 1;
        else hi = mid;
    }
    if (lo < tok_nfc_decomp_count && tok_nfc_decomp[lo][0] == cp) {
        *n = tok_nfc_decomp[lo][2];
        return &tok_nfc_decomp_pool[tok_nfc_decomp[lo][1]];
    }
    return NULL;
}

/* Primary composite of (a, b), or 0. */
static uint32_t compose(uint32_t a, uint32_t b) {
    if (a >= L_BASE && a < L_BASE + L_COUNT && b >= V_BASE && b < V_BASE + V_COUNT)
        return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
    if (a >= S_BASE && a < S_BASE + S_COUNT && (a - S_BASE) % T_COUNT == 0 && b > T_BASE &&
        b < T_BASE + T_COUNT)
        return a + (b - T_BASE);
    size_t lo = 0, hi = tok_nfc_comp_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const uint32_t *e = tok_nfc_comp[mid];
        if (e[0] < a || (e[0] == a && e[1] < b)) lo = mid + 1;
        else hi = mid;
    }
    if (lo < tok_nfc_comp_count && tok_nfc_comp[lo][0] == a && tok_nfc_comp[lo][1] == b)
        return tok_nfc_comp[lo][2];
    return 0;
}

bool tok_nfc_quick(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    int last = 0;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0xCC) { /* below U+0300 (or an invalid byte): a starter that is NFC */
            last = 0;
            i++;
            continue;
        }
        uint32_t cp;
        size_t l = eco_utf8_decode(u + i, n - i, &cp);
        if (l == 0) {
            last = 0;
            i++;
            continue;
        }
        if (qc_not_yes(cp)) return false;
        int c = ccc_of(cp);
        if (c != 0 && last > c) return false;
        last = c;
        i += l;
    }
    return true;
}

typedef struct cpvec {
    uint32_t *v;
    size_t n;
    size_t cap;
} cpvec;

static bool cp_push(cpvec *c, uint32_t cp) {
    if (c->n == c->cap) {
        uint32_t *v = tok_array_grow(c->v, sizeof *v, &c->cap, c->n + 1, 64);
        if (!v) return false;
        c->v = v;
    }
    c->v[c->n++] = cp;
    return true;
}

/* Normalizes the code points in c (one valid run) and appends them to out as UTF-8. */
static bool flush_run(cpvec *c, eco_buf *out) {
    uint32_t *d = c->v;
    size_t n = c->n;
    /* canonical ordering: stable insertion sort inside each run of non-starters */
    for (size_t i = 1; i < n; i++) {
        int ci = ccc_of(d[i]);
        if (ci == 0) continue;
        size_t j = i;
        uint32_t x = d[i];
        while (j > 0) {
            int cj = ccc_of(d[j - 1]);
            if (cj == 0 || cj <= ci) break;
            d[j] = d[j - 1];
            j--;
        }
        d[j] = x;
    }
    /* canonical composition */
    size_t m = 0;
    ptrdiff_t starter = -1;
    int last_cc = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t ch = d[i];
        int cc = ccc_of(ch);
        if (starter >= 0) {
            bool adjacent = (size_t)starter == m - 1;
            if (adjacent || (last_cc != 0 && last_cc < cc)) {
                uint32_t comp = compose(d[starter], ch);
                if (comp) {
                    d[starter] = comp;
                    continue;
                }
            }
        }
        if (cc == 0) starter = (ptrdiff_t)m;
        last_cc = cc;
        d[m++] = ch;
    }
    for (size_t i = 0; i < m; i++) {
        char u[4];
        size_t l = eco_utf8_encode(d[i], u);
        if (!eco_buf_append(out, u, l)) return false;
    }
    c->n = 0;
    return true;
}

eco_status tok_nfc(const char *s, size_t n, eco_buf *out) {
    const unsigned char *u = (const unsigned char *)s;
    cpvec c = {0};
    size_t i = 0;
    bool ok = eco_buf_reserve(out, n);
    while (ok && i < n) {
        uint32_t cp;
        size_t l = eco_utf8_decode(u + i, n - i, &cp);
        if (l == 0) {
            ok = flush_run(&c, out) && eco_buf_push(out, s[i]);
            i++;
            continue;
        }
        i += l;
        if (cp >= S_BASE && cp < S_BASE + S_COUNT) {
            uint32_t si = cp - S_BASE;
            ok = cp_push(&c, L_BASE + si / N_COUNT) && cp_push(&c, V_BASE + (si % N_COUNT) / T_COUNT);
            if (ok && si % T_COUNT) ok = cp_push(&c, T_BASE + si % T_COUNT);
            continue;
        }
        size_t dn;
        const uint32_t *dp = decomp_of(cp, &dn);
        if (dp) {
            for (size_t k = 0; ok && k < dn; k++) ok = cp_push(&c, dp[k]);
        } else {
            ok = cp_push(&c, cp);
        }
    }
    if (ok) ok = flush_run(&c, out);
    free(c.v);
    return ok ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "tokenizer: NFC: out of memory");
}
