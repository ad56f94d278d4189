/*
 * tokenizer.json → eco_tokenizer. The JSON is parsed by jansson (duplicate keys rejected),
 * then every field this module reads is checked for type and range before use; anything
 * well-formed but unsupported is refused with ECO_STATUS_EUNSUPPORTED naming the field.
 * Strings are copied into the tokenizer's arena, so the jansson tree is freed on return.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/json_read.h"
#include "ecology/gguf.h"
#include "tokenizer/tokenizer_internal.h"

/* Largest tokenizer.json that eco_tokenizer_load reads. */
#define TOK_MAX_FILE ((size_t)1 << 30)

const char tok_gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

typedef struct ctx {
    const char *label;
    eco_tokenizer *tok;
} ctx;

/* ---- JSON fields: the core reader (core/json_read.h); every message is
 * "<label>: <path>: <what>" ------------------------------------------------------------- */

/* A reader for obj, found at `path` in the document. */
static eco_jr at(const ctx *c, const json_t *obj, const char *path) {
    eco_jr r = eco_jr_root(c->label, obj);
    snprintf(r.at, sizeof r.at, "%s", path);
    return r;
}

static eco_status type_error(const ctx *c, const char *path, const char *want, const json_t *v) {
    (void)v;
    return eco_error(ECO_STATUS_EFORMAT, "%s: %s: expected %s", c->label, path, want);
}

static eco_status missing(const ctx *c, const char *path) {
    return eco_error(ECO_STATUS_EFORMAT, "%s: %s: missing", c->label, path);
}

static eco_status out_of_memory(const ctx *c) {
    return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", c->label);
}

/* Optional boolean (absent or null → def). */
static eco_status get_bool(const ctx *c, const json_t *obj, const char *key, const char *path,
                           bool def, bool *out) {
    eco_jr r = at(c, obj, path);
    *out = def;
    return eco_jr_bool(&r, key, false, out);
}

/* Required (or optional when out_present is given) string, copied into the arena. */
static eco_status get_str(const ctx *c, const json_t *obj, const char *key, const char *path,
                          bool *out_present, const char **s, size_t *n) {
    eco_jr r = at(c, obj, path);
    const char *v = NULL;
    size_t len = 0;
    if (out_present) {
        *out_present = false;
        *s = NULL;
        *n = 0;
    }
    /* A required null is "missing" here, as an absent one (HF writes null for "none"). */
    eco_status st = eco_jr_opt(&r, key) || out_present
                        ? eco_jr_str(&r, key, false, true, &v, &len)
                        : eco_jr_fail(&r, key, ECO_STATUS_EFORMAT, "missing");
    if (st || !v) return st;
    char *d = eco_arena_strndup(&c->tok->arena, v, len);
    if (!d) return out_of_memory(c);
    if (out_present) *out_present = true;
    *s = d;
    *n = len;
    return ECO_STATUS_OK;
}

/* An integer in [0, max]; absent or null: def, or "missing" when def < 0. */
static eco_status get_uint(const ctx *c, const json_t *obj, const char *key, const char *path,
                           int64_t def, int64_t max, int64_t *out) {
    eco_jr r = at(c, obj, path);
    if (!eco_jr_opt(&r, key) && def < 0) return eco_jr_fail(&r, key, ECO_STATUS_EFORMAT, "missing");
    *out = def;
    return eco_jr_int(&r, key, false, 0, max, out);
}

/* The "type" of a component object; `what` names it in messages. */
static eco_status get_type(const ctx *c, const json_t *obj, const char *path, const char **type) {
    if (!json_is_object(obj)) return type_error(c, path, "an object or null", obj);
    const json_t *t = json_object_get(obj, "type");
    char p[256];
    snprintf(p, sizeof p, "%s.type", path);
    if (!t) return missing(c, p);
    if (!json_is_string(t)) return type_error(c, p, "a string", t);
    *type = json_string_value(t);
    return ECO_STATUS_OK;
}

static eco_status unsupported(const ctx *c, const char *path, const char *type) {
    return eco_error(ECO_STATUS_EUNSUPPORTED, "%s: %s.type '%s' is not supported", c->label, path,
                     type);
}

/* A {"String": s} or {"Regex": r} pattern; *is_regex tells which. */
static eco_status get_pattern(const ctx *c, const json_t *obj, const char *path, const char **s,
                              size_t *n, bool *is_regex) {
    const json_t *p = json_object_get(obj, "pattern");
    char pp[256];
    snprintf(pp, sizeof pp, "%s.pattern", path);
    if (!p) return missing(c, pp);
    if (!json_is_object(p)) return type_error(c, pp, "an object", p);
    bool present = false;
    eco_status st = get_str(c, p, "String", pp, &present, s, n);
    if (st != ECO_STATUS_OK) return st;
    if (present) {
        *is_regex = false;
        return ECO_STATUS_OK;
    }
    st = get_str(c, p, "Regex", pp, &present, s, n);
    if (st != ECO_STATUS_OK) return st;
    if (!present)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s must hold \"String\" or \"Regex\"", c->label,
                         pp);
    *is_regex = true;
    return ECO_STATUS_OK;
}

/* A Replace normalizer or decoder: a non-empty literal pattern → content. */
static eco_status get_replace(const ctx *c, const json_t *v, const char *path, const char *what,
                              const char **pat, size_t *pat_len, const char **content,
                              size_t *content_len) {
    bool is_regex;
    eco_status st = get_pattern(c, v, path, pat, pat_len, &is_regex);
    if (st != ECO_STATUS_OK) return st;
    if (is_regex)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s: %s.pattern: Regex is not supported in a Replace %s", c->label, path,
                         what);
    if (*pat_len == 0)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s.pattern.String is empty", c->label, path);
    return get_str(c, v, "content", path, NULL, content, content_len);
}

/* Parses one pipeline component (normalizer, pre-tokenizer, post-processor or decoder). */
typedef eco_status (*component_fn)(ctx *c, const json_t *v, const char *path, int depth);

/* What the component parsers share: *type = NULL when v is absent or null (nothing to do)
 * or a Sequence, whose elements in v[list_key] have been parsed by fn one level deeper;
 * otherwise *type is v.type, for the caller to handle. */
static eco_status component_type(ctx *c, const json_t *v, const char *path, int depth,
                                 const char *list_key, component_fn fn, const char **type) {
    *type = NULL;
    if (!v || json_is_null(v)) return ECO_STATUS_OK;
    if (depth > 8)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: nested too deeply", c->label, path);
    const char *t;
    eco_status st = get_type(c, v, path, &t);
    if (st != ECO_STATUS_OK) return st;
    if (strcmp(t, "Sequence") != 0) {
        *type = t;
        return ECO_STATUS_OK;
    }
    const json_t *list = json_object_get(v, list_key);
    char p[256];
    snprintf(p, sizeof p, "%s.%s", path, list_key);
    if (!list) return missing(c, p);
    if (!json_is_array(list)) return type_error(c, p, "an array", list);
    for (size_t i = 0; i < json_array_size(list); i++) {
        char pi[256];
        snprintf(pi, sizeof pi, "%.200s[%zu]", p, i);
        const json_t *e = json_array_get(list, i);
        if (json_is_null(e)) return type_error(c, pi, "an object", e);
        if ((st = fn(c, e, pi, depth + 1))) return st;
    }
    return ECO_STATUS_OK;
}

/* ---- regex ------------------------------------------------------------------------- */

/* Oniguruma (what HF compiles these patterns with) and PCRE2 differ on \s: Oniguruma's is
 * Unicode White_Space; PCRE2's with UCP adds U+180E. We spell \s and \S out. */
#define WS_CLASS                                                                                   \
    "\\t\\n\\x0B\\f\\r "                                                                           \
    "\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

static bool translate_pattern(const char *p, size_t n, eco_buf *out) {
    int depth = 0; /* inside a character class */
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '\\' && i + 1 < n) {
            char e = p[i + 1];
            bool ok;
            if (e == 's')
                ok = depth ? eco_buf_append(out, WS_CLASS, strlen(WS_CLASS))
                           : eco_buf_append(out, "[" WS_CLASS "]", strlen(WS_CLASS) + 2);
            else if (e == 'S' && !depth)
                ok = eco_buf_append(out, "[^" WS_CLASS "]", strlen(WS_CLASS) + 3);
            else
                ok = eco_buf_append(out, p + i, 2);
            if (!ok) return false;
            i++;
            continue;
        }
        if (ch == '[') {
            if (!depth && i + 1 < n && p[i + 1] == '^') {
                if (!eco_buf_append(out, "[^", 2)) return false;
                i++;
                depth++;
                if (i + 1 < n && p[i + 1] == ']') { /* literal ] first in class */
                    if (!eco_buf_push(out, ']')) return false;
                    i++;
                }
                continue;
            }
            if (!depth) {
                depth++;
                if (!eco_buf_push(out, '[')) return false;
                if (i + 1 < n && p[i + 1] == ']') {
                    if (!eco_buf_push(out, ']')) return false;
                    i++;
                }
                continue;
            }
            /* nested class or POSIX [:name:]: copy as is */
        } else if (ch == ']' && depth) {
            depth--;
        }
        if (!eco_buf_push(out, ch)) return false;
    }
    return true;
}

eco_status tok_regex_compile(const char *pattern, size_t len, bool literal, const char *label,
                             const char *what, pcre2_code **out) {
    eco_buf b = {0};
    const char *src = pattern;
    size_t n = len;
    if (!literal) {
        if (!translate_pattern(pattern, len, &b)) {
            eco_buf_free(&b);
            return eco_error(ECO_STATUS_ENOMEM, "%s: %s: out of memory", label, what);
        }
        src = b.data ? b.data : "";
        n = b.len;
    }
    /* PCRE2_LITERAL does not combine with UCP (nothing to classify in a literal) */
    uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
    int err = 0;
    PCRE2_SIZE off = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)src, n, opts, &err, &off, NULL);
    eco_buf_free(&b);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: regex does not compile: %s", label, what,
                         (const char *)msg);
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter */
    *out = re;
    return ECO_STATUS_OK;
}

/* ---- model ------------------------------------------------------------------------- */

static eco_status set_id(ctx *c, int64_t id, const char *s, size_t n, bool added, bool special) {
    eco_tokenizer *t = c->tok;
    if (added && t->id_str[id] && (t->id_flags[id] & TOK_ID_ADDED))
        return eco_error(ECO_STATUS_EFORMAT, "%s: added_tokens: id %lld is used twice", c->label,
                         (long long)id);
    /* An added token may repeat its vocabulary entry (HF lists "<s>" in both), not replace
     * another token under the same id. */
    if (added && t->id_str[id] && (t->id_len[id] != n || memcmp(t->id_str[id], s, n) != 0)) {
        char was[ECO_JSON_SHOWN_SIZE], now[ECO_JSON_SHOWN_SIZE];
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: added_tokens: id %lld is '%s' in model.vocab, not '%s'", c->label,
                         (long long)id, eco_json_shown(t->id_str[id], t->id_len[id], was),
                         eco_json_shown(s, n, now));
    }
    t->id_str[id] = s;
    t->id_len[id] = (uint32_t)n;
    t->id_flags[id] |= TOK_ID_PRESENT | (added ? TOK_ID_ADDED : 0) | (special ? TOK_ID_SPECIAL : 0);
    return ECO_STATUS_OK;
}

static eco_status parse_merge(ctx *c, const json_t *m, size_t i, int32_t *a, int32_t *b,
                              int32_t *merged) {
    eco_tokenizer *t = c->tok;
    const char *sa, *sb;
    size_t na, nb;
    if (json_is_string(m)) {
        const char *s = json_string_value(m);
        size_t n = json_string_length(m);
        const char *sp = memchr(s, ' ', n);
        if (!sp || memchr(sp + 1, ' ', n - (size_t)(sp - s) - 1))
            return eco_error(
                ECO_STATUS_EFORMAT,
                "%s: model.merges[%zu]: \"%.64s\" is not two tokens separated by one space",
                c->label, i, s);
        sa = s;
        na = (size_t)(sp - s);
        sb = sp + 1;
        nb = n - na - 1;
    } else if (json_is_array(m) && json_array_size(m) == 2 &&
               json_is_string(json_array_get(m, 0)) && json_is_string(json_array_get(m, 1))) {
        sa = json_string_value(json_array_get(m, 0));
        na = json_string_length(json_array_get(m, 0));
        sb = json_string_value(json_array_get(m, 1));
        nb = json_string_length(json_array_get(m, 1));
    } else {
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: model.merges[%zu]: expected \"a b\" or [\"a\", \"b\"]", c->label, i);
    }
    *a = tok_strmap_get(&t->vocab, sa, na);
    *b = tok_strmap_get(&t->vocab, sb, nb);
    if (*a < 0 || *b < 0)
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: model.merges[%zu]: token '%.*s' is not in the vocabulary", c->label,
                         i, (int)(*a < 0 ? (na > 64 ? 64 : na) : (nb > 64 ? 64 : nb)),
                         *a < 0 ? sa : sb);
    char stackbuf[256];
    char *cat = stackbuf;
    size_t nc = na + nb;
    if (nc > sizeof stackbuf && !(cat = malloc(nc))) return out_of_memory(c);
    memcpy(cat, sa, na);
    memcpy(cat + na, sb, nb);
    *merged = tok_strmap_get(&t->vocab, cat, nc);
    if (cat != stackbuf) free(cat);
    if (*merged < 0)
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: model.merges[%zu]: merged token '%.*s%.*s' is not in the vocabulary",
                         c->label, i, (int)(na > 64 ? 64 : na), sa, (int)(nb > 64 ? 64 : nb), sb);
    return ECO_STATUS_OK;
}

static eco_status parse_model(ctx *c, const json_t *root, const json_t *added_arr) {
    eco_tokenizer *t = c->tok;
    const json_t *model = json_object_get(root, "model");
    if (!model) return missing(c, "model");
    const char *type;
    eco_status st = get_type(c, model, "model", &type);
    if (st != ECO_STATUS_OK) return st;
    if (strcmp(type, "BPE") != 0) return unsupported(c, "model", type);

    const json_t *dropout = json_object_get(model, "dropout");
    if (dropout && !json_is_null(dropout)) {
        if (!json_is_number(dropout))
            return type_error(c, "model.dropout", "a number or null", dropout);
        if (json_number_value(dropout) != 0.0)
            return eco_error(ECO_STATUS_EUNSUPPORTED,
                             "%s: model.dropout %g is not supported (only null or 0)", c->label,
                             json_number_value(dropout));
    }
    static const char *const affixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int k = 0; k < 2; k++) {
        const char *s;
        size_t n;
        bool present;
        char p[64];
        snprintf(p, sizeof p, "model");
        st = get_str(c, model, affixes[k], p, &present, &s, &n);
        if (st != ECO_STATUS_OK) return st;
        if (present && n)
            return eco_error(ECO_STATUS_EUNSUPPORTED,
                             "%s: model.%s '%s' is not supported (only null or \"\")", c->label,
                             affixes[k], s);
    }
    if ((st = get_bool(c, model, "fuse_unk", "model", false, &t->fuse_unk)) ||
        (st = get_bool(c, model, "byte_fallback", "model", false, &t->byte_fallback)) ||
        (st = get_bool(c, model, "ignore_merges", "model", false, &t->ignore_merges)))
        return st;

    const json_t *vocab = json_object_get(model, "vocab");
    if (!vocab) return missing(c, "model.vocab");
    if (!json_is_object(vocab)) return type_error(c, "model.vocab", "an object", vocab);
    if (json_object_size(vocab) == 0)
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: model.vocab: empty (a BPE model needs its tokens)", c->label);

    /* ids: size the id table from the largest id in vocab and added_tokens */
    int64_t max_id = -1;
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)vocab, key, val) {
        if (!json_is_integer(val))
            return eco_error(ECO_STATUS_EFORMAT, "%s: model.vocab['%.64s']: expected an integer",
                             c->label, key);
        json_int_t id = json_integer_value(val);
        if (id < 0 || id >= TOK_MAX_ID)
            return eco_error(ECO_STATUS_EFORMAT, "%s: model.vocab['%.64s']: %lld outside [0, %d]",
                             c->label, key, (long long)id, TOK_MAX_ID - 1);
        if (id > max_id) max_id = id;
    }
    size_t na = added_arr ? json_array_size(added_arr) : 0;
    for (size_t i = 0; i < na; i++) {
        const json_t *e = json_array_get(added_arr, i);
        char p[64];
        snprintf(p, sizeof p, "added_tokens[%zu]", i);
        if (!json_is_object(e)) return type_error(c, p, "an object", e);
        int64_t id;
        st = get_uint(c, e, "id", p, -1, TOK_MAX_ID - 1, &id);
        if (st != ECO_STATUS_OK) return st;
        if (id > max_id) max_id = id;
    }
    /* Real vocabularies are dense; a hostile file must not make us allocate the id table
     * for a lone id near TOK_MAX_ID. */
    size_t n_entries = json_object_size(vocab) + na;
    if (max_id >= 0 && (size_t)max_id >= 4 * n_entries + 65536)
        return eco_error(ECO_STATUS_ERANGE,
                         "%s: ids are too sparse: largest id %lld for %zu tokens", c->label,
                         (long long)max_id, n_entries);
    t->n_ids = max_id + 1;
    size_t nids = (size_t)t->n_ids;
    t->id_str = eco_calloc_array(nids ? nids : 1, sizeof *t->id_str);
    t->id_len = eco_calloc_array(nids ? nids : 1, sizeof *t->id_len);
    t->id_flags = eco_calloc_array(nids ? nids : 1, sizeof *t->id_flags);
    if (!t->id_str || !t->id_len || !t->id_flags)
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory for %zu ids", c->label, nids);

    json_object_foreach((json_t *)vocab, key, val) {
        int32_t id = (int32_t)json_integer_value(val);
        size_t kl = strlen(key); /* jansson object keys cannot hold NUL */
        if (t->id_str[id])
            return eco_error(ECO_STATUS_EFORMAT,
                             "%s: model.vocab: id %d is used by both '%.64s' and '%.64s'", c->label,
                             id, t->id_str[id], key);
        char *s = eco_arena_strndup(&t->arena, key, kl);
        if (!s || !tok_strmap_put(&t->vocab, s, kl, id, NULL)) return out_of_memory(c);
        if ((st = set_id(c, id, s, kl, false, false))) return st;
    }

    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->byte_ids[b] = tok_strmap_get(&t->vocab, name, 6);
    }
    t->unk_id = -1;
    {
        const char *s;
        size_t n;
        bool present;
        if ((st = get_str(c, model, "unk_token", "model", &present, &s, &n))) return st;
        if (present) {
            t->unk_id = tok_strmap_get(&t->vocab, s, n);
            if (t->unk_id < 0)
                return eco_error(ECO_STATUS_EFORMAT,
                                 "%s: model.unk_token '%.64s' is not in the vocabulary", c->label,
                                 s);
        }
    }

    const json_t *merges = json_object_get(model, "merges");
    if (merges && !json_is_null(merges)) {
        if (!json_is_array(merges)) return type_error(c, "model.merges", "an array", merges);
        size_t nm = json_array_size(merges);
        if (nm > INT32_MAX)
            return eco_error(ECO_STATUS_ERANGE, "%s: model.merges: %zu merges is too many",
                             c->label, nm);
        for (size_t i = 0; i < nm; i++) {
            int32_t a = -1, b = -1, m = -1;
            if ((st = parse_merge(c, json_array_get(merges, i), i, &a, &b, &m))) return st;
            if (!tok_pairmap_put(&t->merges, a, b, (int32_t)i, m)) return out_of_memory(c);
        }
    }
    return ECO_STATUS_OK;
}

/* ---- added tokens ------------------------------------------------------------------ */

static int added_cmp(const void *pa, const void *pb) {
    const tok_added *a = pa, *b = pb;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static eco_status parse_added(ctx *c, const json_t *arr) {
    eco_tokenizer *t = c->tok;
    size_t n = json_array_size(arr);
    if (!n) return ECO_STATUS_OK;
    t->added = eco_arena_alloc(&t->arena, n * sizeof *t->added, _Alignof(tok_added));
    if (!t->added) return out_of_memory(c);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(arr, i);
        char p[64];
        snprintf(p, sizeof p, "added_tokens[%zu]", i);
        tok_added *a = &t->added[i];
        int64_t id;
        eco_status st;
        if ((st = get_uint(c, e, "id", p, -1, TOK_MAX_ID - 1, &id)) ||
            (st = get_str(c, e, "content", p, NULL, &a->content, &a->len)) ||
            (st = get_bool(c, e, "special", p, false, &a->special)) ||
            (st = get_bool(c, e, "lstrip", p, false, &a->lstrip)) ||
            (st = get_bool(c, e, "rstrip", p, false, &a->rstrip)) ||
            (st = get_bool(c, e, "single_word", p, false, &a->single_word)) ||
            (st = get_bool(c, e, "normalized", p, !a->special, &a->normalized)))
            return st;
        if (a->len == 0)
            return eco_error(ECO_STATUS_EFORMAT, "%s: %s.content is empty", c->label, p);
        a->id = (int32_t)id;
        bool existed;
        if (!tok_strmap_put(&t->added_map, a->content, a->len, a->id, &existed))
            return out_of_memory(c);
        if (existed)
            return eco_error(ECO_STATUS_EFORMAT, "%s: %s: content '%.64s' is added twice", c->label,
                             p, a->content);
        if ((st = set_id(c, id, a->content, a->len, true, a->special))) return st;
    }
    t->n_added = n;
    qsort(t->added, n, sizeof *t->added, added_cmp);
    return ECO_STATUS_OK;
}

/* ---- normalizer -------------------------------------------------------------------- */

static eco_status push_norm(ctx *c, tok_norm nrm) {
    eco_tokenizer *t = c->tok;
    tok_norm *v = realloc(t->norm, (t->n_norm + 1) * sizeof *v);
    if (!v) return out_of_memory(c);
    t->norm = v;
    t->norm[t->n_norm++] = nrm;
    return ECO_STATUS_OK;
}

static eco_status parse_normalizer(ctx *c, const json_t *v, const char *path, int depth) {
    const char *type;
    eco_status st = component_type(c, v, path, depth, "normalizers", parse_normalizer, &type);
    if (st != ECO_STATUS_OK || !type) return st;
    tok_norm nrm = {0};
    if (strcmp(type, "NFC") == 0) {
        nrm.kind = TOK_NORM_NFC;
    } else if (strcmp(type, "Prepend") == 0) {
        nrm.kind = TOK_NORM_PREPEND;
        if ((st = get_str(c, v, "prepend", path, NULL, &nrm.str, &nrm.str_len))) return st;
    } else if (strcmp(type, "Replace") == 0) {
        nrm.kind = TOK_NORM_REPLACE;
        if ((st = get_replace(c, v, path, "normalizer", &nrm.str, &nrm.str_len, &nrm.str2,
                              &nrm.str2_len)))
            return st;
    } else {
        return unsupported(c, path, type);
    }
    return push_norm(c, nrm);
}

/* ---- pre-tokenizer ----------------------------------------------------------------- */

static eco_status push_pre(ctx *c, tok_pre pre) {
    eco_tokenizer *t = c->tok;
    tok_pre *v = realloc(t->pre, (t->n_pre + 1) * sizeof *v);
    if (!v) {
        if (pre.re) pcre2_code_free(pre.re);
        return out_of_memory(c);
    }
    t->pre = v;
    t->pre[t->n_pre++] = pre;
    return ECO_STATUS_OK;
}

static eco_status parse_prepend_scheme(ctx *c, const json_t *v, const char *path,
                                       tok_prepend_scheme *out) {
    const json_t *ps = json_object_get(v, "prepend_scheme");
    char p[256];
    snprintf(p, sizeof p, "%s.prepend_scheme", path);
    if (ps && !json_is_null(ps)) {
        if (!json_is_string(ps)) return type_error(c, p, "a string", ps);
        const char *s = json_string_value(ps);
        if (strcmp(s, "always") == 0)
            *out = TOK_PREPEND_ALWAYS;
        else if (strcmp(s, "first") == 0)
            *out = TOK_PREPEND_FIRST;
        else if (strcmp(s, "never") == 0)
            *out = TOK_PREPEND_NEVER;
        else
            return eco_error(ECO_STATUS_EFORMAT, "%s: %s '%.32s' is not always, first or never",
                             c->label, p, s);
        return ECO_STATUS_OK;
    }
    bool add = true; /* older files: add_prefix_space */
    eco_status st = get_bool(c, v, "add_prefix_space", path, true, &add);
    *out = add ? TOK_PREPEND_ALWAYS : TOK_PREPEND_NEVER;
    return st;
}

static eco_status parse_replacement(ctx *c, const json_t *v, const char *path, char *out,
                                    size_t *len) {
    const char *s;
    size_t n;
    eco_status st = get_str(c, v, "replacement", path, NULL, &s, &n);
    if (st != ECO_STATUS_OK) return st;
    uint32_t cp;
    if (n == 0 || n > 4 || eco_utf8_decode((const unsigned char *)s, n, &cp) != n)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s.replacement: expected one character", c->label,
                         path);
    memcpy(out, s, n);
    out[n] = '\0';
    *len = n;
    return ECO_STATUS_OK;
}

static eco_status parse_pre(ctx *c, const json_t *v, const char *path, int depth) {
    const char *type;
    eco_status st = component_type(c, v, path, depth, "pretokenizers", parse_pre, &type);
    if (st != ECO_STATUS_OK || !type) return st;
    tok_pre pre = {0};
    if (strcmp(type, "Split") == 0) {
        pre.kind = TOK_PRE_SPLIT;
        const char *pat;
        size_t n;
        bool is_regex;
        if ((st = get_pattern(c, v, path, &pat, &n, &is_regex))) return st;
        if ((st = get_bool(c, v, "invert", path, false, &pre.invert))) return st;
        const json_t *b = json_object_get(v, "behavior");
        char p[256];
        snprintf(p, sizeof p, "%s.behavior", path);
        if (!b) return missing(c, p);
        if (!json_is_string(b)) return type_error(c, p, "a string", b);
        const char *bs = json_string_value(b);
        if (strcmp(bs, "Removed") == 0)
            pre.behavior = TOK_SPLIT_REMOVED;
        else if (strcmp(bs, "Isolated") == 0)
            pre.behavior = TOK_SPLIT_ISOLATED;
        else if (strcmp(bs, "MergedWithPrevious") == 0)
            pre.behavior = TOK_SPLIT_MERGED_WITH_PREVIOUS;
        else if (strcmp(bs, "MergedWithNext") == 0)
            pre.behavior = TOK_SPLIT_MERGED_WITH_NEXT;
        else if (strcmp(bs, "Contiguous") == 0)
            pre.behavior = TOK_SPLIT_CONTIGUOUS;
        else
            return eco_error(ECO_STATUS_EFORMAT, "%s: %s '%.32s' is not a split behaviour",
                             c->label, p, bs);
        snprintf(p, sizeof p, "%s.pattern", path);
        if (!is_regex && n == 0)
            return eco_error(ECO_STATUS_EFORMAT, "%s: %s.String is empty", c->label, p);
        if ((st = tok_regex_compile(pat, n, !is_regex, c->label, p, &pre.re))) return st;
        return push_pre(c, pre);
    }
    if (strcmp(type, "ByteLevel") == 0) {
        pre.kind = TOK_PRE_BYTELEVEL;
        bool use_regex;
        if ((st = get_bool(c, v, "add_prefix_space", path, true, &pre.add_prefix_space)) ||
            (st = get_bool(c, v, "use_regex", path, true, &use_regex)))
            return st;
        if (use_regex) {
            char p[256];
            snprintf(p, sizeof p, "%s (GPT-2 pattern)", path);
            if ((st = tok_regex_compile(tok_gpt2_pattern, strlen(tok_gpt2_pattern), false, c->label,
                                        p, &pre.re)))
                return st;
        }
        return push_pre(c, pre);
    }
    if (strcmp(type, "Metaspace") == 0) {
        pre.kind = TOK_PRE_METASPACE;
        if ((st = parse_replacement(c, v, path, pre.replacement, &pre.replacement_len)) ||
            (st = parse_prepend_scheme(c, v, path, &pre.prepend_scheme)) ||
            (st = get_bool(c, v, "split", path, true, &pre.split)))
            return st;
        return push_pre(c, pre);
    }
    if (strcmp(type, "Digits") == 0) {
        bool individual;
        if ((st = get_bool(c, v, "individual_digits", path, false, &individual))) return st;
        pre.kind = TOK_PRE_SPLIT;
        pre.behavior = TOK_SPLIT_ISOLATED;
        const char *pat = individual ? "\\p{N}" : "\\p{N}+";
        if ((st = tok_regex_compile(pat, strlen(pat), false, c->label, path, &pre.re))) return st;
        return push_pre(c, pre);
    }
    return unsupported(c, path, type);
}

/* ---- decoder ----------------------------------------------------------------------- */

static eco_status push_dec(ctx *c, tok_dec d) {
    eco_tokenizer *t = c->tok;
    tok_dec *v = realloc(t->dec, (t->n_dec + 1) * sizeof *v);
    if (!v) return out_of_memory(c);
    t->dec = v;
    t->dec[t->n_dec++] = d;
    return ECO_STATUS_OK;
}

static eco_status parse_decoder(ctx *c, const json_t *v, const char *path, int depth) {
    const char *type;
    eco_status st = component_type(c, v, path, depth, "decoders", parse_decoder, &type);
    if (st != ECO_STATUS_OK || !type) return st;
    tok_dec d = {0};
    if (strcmp(type, "ByteLevel") == 0) {
        d.kind = TOK_DEC_BYTELEVEL;
    } else if (strcmp(type, "ByteFallback") == 0) {
        d.kind = TOK_DEC_BYTEFALLBACK;
    } else if (strcmp(type, "Fuse") == 0) {
        d.kind = TOK_DEC_FUSE;
    } else if (strcmp(type, "Replace") == 0) {
        d.kind = TOK_DEC_REPLACE;
        if ((st = get_replace(c, v, path, "decoder", &d.str, &d.str_len, &d.str2, &d.str2_len)))
            return st;
    } else if (strcmp(type, "Strip") == 0) {
        d.kind = TOK_DEC_STRIP;
        int64_t a, b;
        if ((st = get_str(c, v, "content", path, NULL, &d.str, &d.str_len)) ||
            (st = get_uint(c, v, "start", path, 0, 1 << 20, &a)) ||
            (st = get_uint(c, v, "stop", path, 0, 1 << 20, &b)))
            return st;
        uint32_t cp;
        if (d.str_len == 0 ||
            eco_utf8_decode((const unsigned char *)d.str, d.str_len, &cp) != d.str_len)
            return eco_error(ECO_STATUS_EFORMAT, "%s: %s.content: expected one character", c->label,
                             path);
        d.start = (size_t)a;
        d.stop = (size_t)b;
    } else if (strcmp(type, "Metaspace") == 0) {
        d.kind = TOK_DEC_METASPACE;
        char rep[5];
        size_t rl = 0;
        tok_prepend_scheme ps;
        if ((st = parse_replacement(c, v, path, rep, &rl)) ||
            (st = parse_prepend_scheme(c, v, path, &ps)))
            return st;
        char *s = eco_arena_strndup(&c->tok->arena, rep, rl);
        if (!s) return out_of_memory(c);
        d.str = s;
        d.str_len = rl;
        d.prepend = ps != TOK_PREPEND_NEVER;
    } else {
        return unsupported(c, path, type);
    }
    return push_dec(c, d);
}

/* ---- post-processor ---------------------------------------------------------------- */

static eco_status push_ids(ctx *c, int32_t **arr, size_t *n, const int32_t *ids, size_t k,
                           bool front) {
    int32_t *v = eco_malloc_array(*n + k + 1, sizeof *v);
    if (!v) return out_of_memory(c);
    if (front) {
        memcpy(v, ids, k * sizeof *ids);
        if (*n) memcpy(v + k, *arr, *n * sizeof *v);
    } else {
        if (*n) memcpy(v, *arr, *n * sizeof *v);
        memcpy(v + *n, ids, k * sizeof *ids);
    }
    free(*arr);
    *arr = v;
    *n += k;
    return ECO_STATUS_OK;
}

static eco_status check_id(ctx *c, const char *path, json_int_t id) {
    if (id < 0 || id >= c->tok->n_ids || !(c->tok->id_flags[id] & TOK_ID_PRESENT))
        return eco_error(ECO_STATUS_ERANGE, "%s: %s: id %lld is not a token of this vocabulary",
                         c->label, path, (long long)id);
    return ECO_STATUS_OK;
}

/* ["<s>", 1] of RobertaProcessing and BertProcessing. */
static eco_status get_pair_id(ctx *c, const json_t *v, const char *key, const char *path,
                              int32_t *id) {
    const json_t *p = json_object_get(v, key);
    char pp[256];
    snprintf(pp, sizeof pp, "%s.%s", path, key);
    if (!p) return missing(c, pp);
    if (!json_is_array(p) || json_array_size(p) != 2 || !json_is_integer(json_array_get(p, 1)))
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: expected [token, id]", c->label, pp);
    json_int_t x = json_integer_value(json_array_get(p, 1));
    eco_status st = check_id(c, pp, x);
    *id = (int32_t)x;
    return st;
}

static eco_status parse_template(ctx *c, const json_t *v, const char *path, int32_t **pre,
                                 size_t *npre, int32_t **suf, size_t *nsuf) {
    const json_t *single = json_object_get(v, "single");
    const json_t *specials = json_object_get(v, "special_tokens");
    char p[256];
    snprintf(p, sizeof p, "%s.single", path);
    if (!single) return missing(c, p);
    if (!json_is_array(single)) return type_error(c, p, "an array", single);
    if (specials && !json_is_object(specials)) {
        char q[256];
        snprintf(q, sizeof q, "%s.special_tokens", path);
        return type_error(c, q, "an object", specials);
    }
    int seen_a = 0;
    for (size_t i = 0; i < json_array_size(single); i++) {
        const json_t *item = json_array_get(single, i);
        char pi[256];
        snprintf(pi, sizeof pi, "%.200s[%zu]", p, i);
        const json_t *seq = json_is_object(item) ? json_object_get(item, "Sequence") : NULL;
        const json_t *sp = json_is_object(item) ? json_object_get(item, "SpecialToken") : NULL;
        if (seq) {
            const json_t *id = json_is_object(seq) ? json_object_get(seq, "id") : NULL;
            if (!id || !json_is_string(id) || strcmp(json_string_value(id), "A") != 0)
                return eco_error(ECO_STATUS_EUNSUPPORTED,
                                 "%s: %s: only Sequence A is supported in a single template",
                                 c->label, pi);
            seen_a++;
            continue;
        }
        const json_t *name = sp && json_is_object(sp) ? json_object_get(sp, "id") : NULL;
        if (!name || !json_is_string(name))
            return eco_error(
                ECO_STATUS_EFORMAT,
                "%s: %s: expected {\"SpecialToken\": {\"id\": ...}} or {\"Sequence\": ...}",
                c->label, pi);
        const json_t *entry = specials ? json_object_get(specials, json_string_value(name)) : NULL;
        const json_t *ids = entry && json_is_object(entry) ? json_object_get(entry, "ids") : NULL;
        if (!ids || !json_is_array(ids))
            return eco_error(ECO_STATUS_EFORMAT,
                             "%s: %s: special token '%.64s' has no ids in %s.special_tokens",
                             c->label, pi, json_string_value(name), path);
        for (size_t k = 0; k < json_array_size(ids); k++) {
            const json_t *x = json_array_get(ids, k);
            char pk[300];
            snprintf(pk, sizeof pk, "%s.special_tokens['%.64s'].ids[%zu]", path,
                     json_string_value(name), k);
            if (!json_is_integer(x)) return type_error(c, pk, "an integer", x);
            eco_status st = check_id(c, pk, json_integer_value(x));
            if (st != ECO_STATUS_OK) return st;
            int32_t idv = (int32_t)json_integer_value(x);
            st = seen_a ? push_ids(c, suf, nsuf, &idv, 1, false)
                        : push_ids(c, pre, npre, &idv, 1, false);
            if (st != ECO_STATUS_OK) return st;
        }
    }
    if (seen_a != 1)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s must hold Sequence A exactly once", c->label,
                         p);
    return ECO_STATUS_OK;
}

static eco_status parse_post(ctx *c, const json_t *v, const char *path, int depth) {
    const char *type;
    eco_status st = component_type(c, v, path, depth, "processors", parse_post, &type);
    if (st != ECO_STATUS_OK || !type) return st;
    eco_tokenizer *t = c->tok;
    if (strcmp(type, "ByteLevel") == 0) return ECO_STATUS_OK; /* offsets only */
    /* Each processor wraps what the earlier ones produced: new prefix goes in front. */
    int32_t *pre = NULL, *suf = NULL;
    size_t npre = 0, nsuf = 0;
    if (strcmp(type, "TemplateProcessing") == 0) {
        st = parse_template(c, v, path, &pre, &npre, &suf, &nsuf);
    } else if (strcmp(type, "RobertaProcessing") == 0 || strcmp(type, "BertProcessing") == 0) {
        int32_t cls, sep;
        st = get_pair_id(c, v, "cls", path, &cls);
        if (!st) st = get_pair_id(c, v, "sep", path, &sep);
        if (!st) st = push_ids(c, &pre, &npre, &cls, 1, false);
        if (!st) st = push_ids(c, &suf, &nsuf, &sep, 1, false);
    } else {
        st = unsupported(c, path, type);
    }
    if (!st && npre) st = push_ids(c, &t->post_prefix, &t->n_post_prefix, pre, npre, true);
    if (!st && nsuf) st = push_ids(c, &t->post_suffix, &t->n_post_suffix, suf, nsuf, false);
    free(pre);
    free(suf);
    return st;
}

/* ---- entry points ------------------------------------------------------------------ */

static eco_status parse_root(ctx *c, const json_t *root) {
    if (!json_is_object(root))
        return eco_error(ECO_STATUS_EFORMAT, "%s: expected an object", c->label);
    const json_t *trunc = json_object_get(root, "truncation");
    if (trunc && !json_is_null(trunc))
        return eco_error(ECO_STATUS_EUNSUPPORTED, "%s: truncation is not supported (must be null)",
                         c->label);
    const json_t *added = json_object_get(root, "added_tokens");
    if (added && !json_is_null(added) && !json_is_array(added))
        return type_error(c, "added_tokens", "an array", added);
    if (added && json_is_null(added)) added = NULL;
    eco_status st;
    if ((st = parse_model(c, root, added))) return st;
    if (added && (st = parse_added(c, added))) return st;
    if ((st = parse_normalizer(c, json_object_get(root, "normalizer"), "normalizer", 0))) return st;
    if ((st = parse_pre(c, json_object_get(root, "pre_tokenizer"), "pre_tokenizer", 0))) return st;
    if ((st = parse_post(c, json_object_get(root, "post_processor"), "post_processor", 0)))
        return st;
    if ((st = parse_decoder(c, json_object_get(root, "decoder"), "decoder", 0))) return st;
    return ECO_STATUS_OK;
}

eco_status eco_tokenizer_parse(const char *json, size_t len, const char *label,
                               eco_tokenizer **out) {
    *out = NULL;
    if (!label) label = "tokenizer.json";
    if (!json) return eco_error(ECO_STATUS_EINVAL, "%s: no text", label);
    json_t *root;
    eco_status pst = eco_json_parse(json, len, JSON_ALLOW_NUL, label, &root);
    if (pst) return pst;
    eco_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) {
        json_decref(root);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
    }
    eco_arena_init(&tok->arena, 1 << 20);
    tok->unk_id = -1;
    for (int b = 0; b < 256; b++) tok->byte_ids[b] = -1;
    tok_init_byte_table(tok);
    ctx c = {.label = label, .tok = tok};
    eco_status st = parse_root(&c, root);
    json_decref(root);
    if (st != ECO_STATUS_OK) {
        eco_tokenizer_free(tok);
        return st;
    }
    *out = tok;
    return ECO_STATUS_OK;
}

eco_status eco_tokenizer_load(const char *path, eco_tokenizer **out) {
    *out = NULL;
    if (!path) return eco_error(ECO_STATUS_EINVAL, "tokenizer: no path");
    if (eco_gguf_is_model_path(path)) { /* tokenizer.json rebuilt from tokenizer.ggml.* */
        eco_gguf *g;
        eco_status st = eco_gguf_open(path, &g);
        if (st) return st;
        char *json = NULL;
        size_t len = 0;
        st = eco_gguf_tokenizer_json(g, &json, &len);
        eco_gguf_close(g);
        if (st == ECO_STATUS_OK) st = eco_tokenizer_parse(json, len, path, out);
        free(json);
        return st;
    }
    char *file = NULL;
    if (eco_path_is_dir(path)) {
        if (!eco_path_has_file(path, "tokenizer.json"))
            return eco_error(ECO_STATUS_ENOTFOUND,
                             "%s: a folder without tokenizer.json: expected tokenizer.json or "
                             "a model folder holding one",
                             path);
        file = eco_path_join(path, "tokenizer.json");
        if (!file) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    }
    const char *p = file ? file : path;
    char *data = NULL;
    size_t len = 0;
    eco_status st = eco_read_file(p, TOK_MAX_FILE, &data, &len);
    if (st == ECO_STATUS_OK) st = eco_tokenizer_parse(data, len, p, out);
    free(data);
    free(file);
    return st;
}

void eco_tokenizer_free(eco_tokenizer *tok) {
    if (!tok) return;
    tok_strmap_free(&tok->vocab);
    tok_strmap_free(&tok->added_map);
    tok_pairmap_free(&tok->merges);
    free(tok->id_str);
    free(tok->id_len);
    free(tok->id_flags);
    for (size_t i = 0; i < tok->n_pre; i++)
        if (tok->pre[i].re) pcre2_code_free(tok->pre[i].re);
    free(tok->pre);
    free(tok->norm);
    free(tok->dec);
    free(tok->post_prefix);
    free(tok->post_suffix);
    eco_arena_free(&tok->arena);
    free(tok);
}

/* ---- queries ----------------------------------------------------------------------- */

int64_t eco_tokenizer_vocab_size(const eco_tokenizer *tok) { return tok ? tok->n_ids : 0; }

int32_t eco_tokenizer_token_id(const eco_tokenizer *tok, const char *token) {
    if (!tok || !token) return -1;
    size_t n = strlen(token);
    int32_t id = tok_strmap_get(&tok->added_map, token, n);
    return id >= 0 ? id : tok_strmap_get(&tok->vocab, token, n);
}

const char *eco_tokenizer_token_str(const eco_tokenizer *tok, int32_t id) {
    if (!tok || id < 0 || id >= tok->n_ids) return NULL;
    return tok->id_str[id];
}

bool eco_tokenizer_is_special(const eco_tokenizer *tok, int32_t id) {
    if (!tok || id < 0 || id >= tok->n_ids) return false;
    return (tok->id_flags[id] & TOK_ID_SPECIAL) != 0;
}
