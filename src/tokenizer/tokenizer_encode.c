/*
 * Encoding: added-token split, normalizers, pre-tokenizers, BPE (with a per-call cache of
 * piece → ids), post-processor. The order and the edge rules follow Hugging Face
 * `tokenizers` (AddedVocabulary::extract_and_normalize, PreTokenizedString::split,
 * the Split behaviours, ByteLevel, Metaspace); see tokenizer_internal.h for how invalid
 * UTF-8 is handled.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

/* One pre-token: bytes [off, off+len) of a pieces buffer. `first` marks a piece that starts
 * at offset 0 of the original input (Metaspace prepend_scheme "first"). */
typedef struct piece {
    size_t off;
    size_t len;
    bool first;
} piece;

typedef struct pieces {
    piece *v;
    size_t n;
    size_t cap;
    eco_buf buf;
} pieces;

static bool pieces_add(pieces *p, const char *s, size_t n, bool first) {
    if (n == 0) return true; /* HF drops empty splits */
    if (p->n == p->cap) {
        piece *v = tok_array_grow(p->v, sizeof *v, &p->cap, p->n + 1, 16);
        if (!v) return false;
        p->v = v;
    }
    size_t off = p->buf.len;
    if (!eco_buf_append(&p->buf, s, n)) return false;
    p->v[p->n++] = (piece){off, n, first};
    return true;
}

static void pieces_clear(pieces *p) {
    p->n = 0;
    p->buf.len = 0;
}

static void pieces_free(pieces *p) {
    free(p->v);
    eco_buf_free(&p->buf);
}

/* State of one encode call. */
typedef struct enc {
    const eco_tokenizer *tok;
    tok_ids *out;
    pcre2_match_data *md;
    pieces a, b;  /* ping-pong piece lists of the pre-tokenizer steps */
    eco_buf norm; /* normalized segment */
    eco_buf scratch;
    tok_strmap cache; /* piece → index into cache_spans */
    eco_arena cache_keys;
    tok_ids cache_ids;
    size_t *cache_spans; /* [2 * count]: offset, length in cache_ids */
    size_t cache_n, cache_cap;
} enc;

#define CACHE_MAX_PIECE   256
#define CACHE_MAX_ENTRIES 65536

static eco_status oom(void) {
    return eco_error(ECO_STATUS_ENOMEM, "tokenizer: encode: out of memory");
}

/* ---- BPE with cache ---------------------------------------------------------------- */

static eco_status bpe_cached(enc *e, const char *s, size_t n) {
    if (n > CACHE_MAX_PIECE) return tok_bpe_word(e->tok, s, n, e->out);
    int32_t k = tok_strmap_get(&e->cache, s, n);
    if (k >= 0) {
        size_t cnt = e->cache_spans[2 * k + 1]; /* 0 when every character was dropped */
        if (cnt && !tok_ids_append(e->out, e->cache_ids.data + e->cache_spans[2 * k], cnt))
            return oom();
        return ECO_STATUS_OK;
    }
    size_t before = e->out->len;
    eco_status st = tok_bpe_word(e->tok, s, n, e->out);
    if (st != ECO_STATUS_OK || e->cache_n >= CACHE_MAX_ENTRIES) return st;
    if (e->cache_n == e->cache_cap) {
        size_t *v =
            tok_array_grow(e->cache_spans, 2 * sizeof *v, &e->cache_cap, e->cache_n + 1, 256);
        if (!v) return oom();
        e->cache_spans = v;
    }
    char *key = eco_arena_strndup(&e->cache_keys, s, n);
    size_t off = e->cache_ids.len, cnt = e->out->len - before;
    if (!key || (cnt && !tok_ids_append(&e->cache_ids, e->out->data + before, cnt)) ||
        !tok_strmap_put(&e->cache, key, n, (int32_t)e->cache_n, NULL))
        return oom();
    e->cache_spans[2 * e->cache_n] = off;
    e->cache_spans[2 * e->cache_n + 1] = cnt;
    e->cache_n++;
    return ECO_STATUS_OK;
}

/* ---- splitting by behaviour -------------------------------------------------------- */

typedef struct span {
    size_t s, e;
    bool match;
} span;

typedef struct spans {
    span *v;
    size_t n, cap;
} spans;

static bool spans_add(spans *sp, size_t s, size_t e, bool match) {
    if (sp->n == sp->cap) {
        span *v = tok_array_grow(sp->v, sizeof *v, &sp->cap, sp->n + 1, 32);
        if (!v) return false;
        sp->v = v;
    }
    sp->v[sp->n++] = (span){s, e, match};
    return true;
}

/* Appends s[a, b) to out, with every invalid UTF-8 byte as a piece of its own. */
static bool add_isolating_invalid(pieces *out, const char *s, size_t a, size_t b, bool first) {
    size_t run = a, i = a;
    while (i < b) {
        uint32_t cp;
        size_t l = eco_utf8_decode((const unsigned char *)s + i, b - i, &cp);
        if (l) {
            i += l;
            continue;
        }
        if (!pieces_add(out, s + run, i - run, first && run == 0)) return false;
        if (!pieces_add(out, s + i, 1, first && i == 0)) return false;
        i++;
        run = i;
    }
    return pieces_add(out, s + run, b - run, first && run == 0);
}

/* Turns the match/non-match spans of s into pieces by HF's SplitDelimiterBehavior. */
static bool apply_behavior(pieces *out, const char *s, spans *sp, tok_split_behavior beh,
                           bool invert, bool first) {
    if (invert)
        for (size_t i = 0; i < sp->n; i++) sp->v[i].match = !sp->v[i].match;
    size_t n = 0; /* spans compacted in place */
    switch (beh) {
        case TOK_SPLIT_ISOLATED:
            n = sp->n;
            break;
        case TOK_SPLIT_REMOVED:
            for (size_t i = 0; i < sp->n; i++)
                if (!sp->v[i].match) sp->v[n++] = sp->v[i];
            break;
        case TOK_SPLIT_MERGED_WITH_PREVIOUS: {
            bool prev = false;
            for (size_t i = 0; i < sp->n; i++) {
                span x = sp->v[i];
                if (x.match && !prev && n)
                    sp->v[n - 1].e = x.e;
                else
                    sp->v[n++] = x;
                prev = x.match;
            }
            break;
        }
        case TOK_SPLIT_MERGED_WITH_NEXT: {
            /* right to left, writing from the end */
            bool prev = false;
            size_t w = sp->n;
            for (size_t i = sp->n; i-- > 0;) {
                span x = sp->v[i];
                if (x.match && !prev && w < sp->n)
                    sp->v[w].s = x.s;
                else
                    sp->v[--w] = x;
                prev = x.match;
            }
            n = sp->n - w;
            memmove(sp->v, sp->v + w, n * sizeof *sp->v);
            break;
        }
        case TOK_SPLIT_CONTIGUOUS: {
            bool prev = false;
            for (size_t i = 0; i < sp->n; i++) {
                span x = sp->v[i];
                if (x.match == prev && n)
                    sp->v[n - 1].e = x.e;
                else
                    sp->v[n++] = x;
                prev = x.match;
            }
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!add_isolating_invalid(out, s, sp->v[i].s, sp->v[i].e, first && sp->v[i].s == 0))
            return false;
    return true;
}

/* Match spans of re over s[0..n) (empty matches are skipped). */
static eco_status regex_spans(enc *e, const pcre2_code *re, const char *s, size_t n, spans *sp) {
    size_t pos = 0, prev = 0;
    while (pos <= n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, n, pos, 0, e->md, NULL);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
            rc = pcre2_match(re, (PCRE2_SPTR)s, n, pos, PCRE2_NO_JIT, e->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return eco_error(ECO_STATUS_EUNSUPPORTED, "tokenizer: pre-tokenizer regex failed: %s",
                             (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(e->md);
        size_t ms = ov[0], me = ov[1];
        if (me <= ms) { /* empty match: step over one character (or invalid byte) */
            uint32_t cp;
            size_t l = ms < n ? eco_utf8_decode((const unsigned char *)s + ms, n - ms, &cp) : 1;
            pos = ms + (l ? l : 1);
            continue;
        }
        if (ms > prev && !spans_add(sp, prev, ms, false)) return oom();
        if (!spans_add(sp, ms, me, true)) return oom();
        prev = pos = me;
    }
    if (prev < n && !spans_add(sp, prev, n, false)) return oom();
    return ECO_STATUS_OK;
}

/* Literal occurrences of pat (non-overlapping, left to right). */
static bool literal_spans(const char *s, size_t n, const char *pat, size_t pn, spans *sp) {
    size_t prev = 0, i = 0;
    while (pn && i + pn <= n) {
        if (memcmp(s + i, pat, pn) == 0) {
            if (i > prev && !spans_add(sp, prev, i, false)) return false;
            if (!spans_add(sp, i, i + pn, true)) return false;
            i += pn;
            prev = i;
        } else {
            i++;
        }
    }
    return prev >= n || spans_add(sp, prev, n, false);
}

/* ---- pre-tokenizer steps ----------------------------------------------------------- */

static eco_status step_split(enc *e, const tok_pre *p, const pieces *in, pieces *out) {
    spans sp = {0};
    eco_status st = ECO_STATUS_OK;
    for (size_t i = 0; i < in->n && !st; i++) {
        const char *s = in->buf.data + in->v[i].off;
        sp.n = 0;
        st = regex_spans(e, p->re, s, in->v[i].len, &sp);
        if (!st && !apply_behavior(out, s, &sp, p->behavior, p->invert, in->v[i].first)) st = oom();
    }
    free(sp.v);
    return st;
}

static eco_status step_bytelevel(enc *e, const tok_pre *p, const pieces *in, pieces *out) {
    const eco_tokenizer *t = e->tok;
    pieces mid = {0};
    const pieces *src = in;
    eco_status st = ECO_STATUS_OK;
    if (p->add_prefix_space || p->re) {
        spans sp = {0};
        for (size_t i = 0; i < in->n && !st; i++) {
            const char *s = in->buf.data + in->v[i].off;
            size_t n = in->v[i].len;
            if (p->add_prefix_space && s[0] != ' ') {
                e->scratch.len = 0;
                if (!eco_buf_push(&e->scratch, ' ') || !eco_buf_append(&e->scratch, s, n)) {
                    st = oom();
                    break;
                }
                s = e->scratch.data;
                n = e->scratch.len;
            }
            if (!p->re) {
                if (!pieces_add(&mid, s, n, in->v[i].first)) st = oom();
                continue;
            }
            sp.n = 0;
            st = regex_spans(e, p->re, s, n, &sp);
            if (!st && !apply_behavior(&mid, s, &sp, TOK_SPLIT_ISOLATED, false, in->v[i].first))
                st = oom();
        }
        free(sp.v);
        src = &mid;
    }
    for (size_t i = 0; i < src->n && !st; i++) {
        const unsigned char *s = (const unsigned char *)src->buf.data + src->v[i].off;
        e->scratch.len = 0;
        for (size_t k = 0; k < src->v[i].len; k++)
            if (!eco_buf_append(&e->scratch, t->byte_char[s[k]], t->byte_char_len[s[k]])) {
                st = oom();
                break;
            }
        if (!st && !pieces_add(out, e->scratch.data, e->scratch.len, src->v[i].first)) st = oom();
    }
    pieces_free(&mid);
    return st;
}

static eco_status step_metaspace(enc *e, const tok_pre *p, const pieces *in, pieces *out) {
    spans sp = {0};
    eco_status st = ECO_STATUS_OK;
    for (size_t i = 0; i < in->n && !st; i++) {
        const char *s = in->buf.data + in->v[i].off;
        size_t n = in->v[i].len;
        eco_buf *r = &e->scratch;
        r->len = 0;
        bool starts = n >= p->replacement_len && memcmp(s, p->replacement, p->replacement_len) == 0;
        bool ok = true;
        if (!starts && s[0] != ' ' &&
            (p->prepend_scheme == TOK_PREPEND_ALWAYS ||
             (p->prepend_scheme == TOK_PREPEND_FIRST && in->v[i].first)))
            ok = eco_buf_append(r, p->replacement, p->replacement_len);
        for (size_t k = 0; ok && k < n; k++)
            ok = s[k] == ' ' ? eco_buf_append(r, p->replacement, p->replacement_len)
                             : eco_buf_push(r, s[k]);
        if (!ok) {
            st = oom();
            break;
        }
        if (!p->split) {
            if (!pieces_add(out, r->data, r->len, in->v[i].first)) st = oom();
            continue;
        }
        sp.n = 0;
        if (!literal_spans(r->data, r->len, p->replacement, p->replacement_len, &sp) ||
            !apply_behavior(out, r->data, &sp, TOK_SPLIT_MERGED_WITH_NEXT, false, in->v[i].first))
            st = oom();
    }
    free(sp.v);
    return st;
}

/* Pre-tokenizes s[0..n) into *result (e->a or e->b, valid until the next call). */
static eco_status pretokenize_segment(enc *e, const char *s, size_t n, bool first,
                                      const pieces **result) {
    const eco_tokenizer *t = e->tok;
    pieces *cur = &e->a, *nxt = &e->b;
    pieces_clear(cur);
    if (!pieces_add(cur, s, n, first)) return oom();
    for (size_t k = 0; k < t->n_pre; k++) {
        const tok_pre *p = &t->pre[k];
        pieces_clear(nxt);
        eco_status st;
        switch (p->kind) {
            case TOK_PRE_SPLIT:
                st = step_split(e, p, cur, nxt);
                break;
            case TOK_PRE_BYTELEVEL:
                st = step_bytelevel(e, p, cur, nxt);
                break;
            case TOK_PRE_METASPACE:
                st = step_metaspace(e, p, cur, nxt);
                break;
            default:
                st = eco_error(ECO_STATUS_EINTERNAL, "tokenizer: unknown pre-tokenizer kind");
        }
        if (st != ECO_STATUS_OK) return st;
        pieces *tmp = cur;
        cur = nxt;
        nxt = tmp;
    }
    *result = cur;
    return ECO_STATUS_OK;
}

/* Pre-tokenizes s[0..n) and BPE-encodes every piece. */
static eco_status encode_segment(enc *e, const char *s, size_t n, bool first) {
    const pieces *cur;
    eco_status st0 = pretokenize_segment(e, s, n, first, &cur);
    if (st0 != ECO_STATUS_OK) return st0;
    for (size_t i = 0; i < cur->n; i++) {
        eco_status st = bpe_cached(e, cur->buf.data + cur->v[i].off, cur->v[i].len);
        if (st != ECO_STATUS_OK) return st;
    }
    return ECO_STATUS_OK;
}

/* ---- normalizers ------------------------------------------------------------------- */

/* Normalizes s[0..n) into e->norm. */
static eco_status normalize(enc *e, const char *s, size_t n) {
    const eco_tokenizer *t = e->tok;
    eco_buf *cur = &e->norm;
    cur->len = 0;
    if (!eco_buf_append(cur, s, n)) return oom();
    for (size_t k = 0; k < t->n_norm; k++) {
        const tok_norm *nm = &t->norm[k];
        eco_buf *tmp = &e->scratch;
        tmp->len = 0;
        switch (nm->kind) {
            case TOK_NORM_NFC:
                if (tok_nfc_quick(cur->data, cur->len)) continue;
                {
                    eco_status st = tok_nfc(cur->data, cur->len, tmp);
                    if (st != ECO_STATUS_OK) return st;
                }
                break;
            case TOK_NORM_PREPEND:
                if (cur->len == 0) continue;
                if (!eco_buf_append(tmp, nm->str, nm->str_len) ||
                    !eco_buf_append(tmp, cur->data, cur->len))
                    return oom();
                break;
            case TOK_NORM_REPLACE:
                if (!tok_buf_append_replaced(tmp, cur->data, cur->len, nm->str, nm->str_len,
                                             nm->str2, nm->str2_len))
                    return oom();
                break;
        }
        /* swap cur and scratch */
        eco_buf x = *cur;
        *cur = *tmp;
        *tmp = x;
    }
    return ECO_STATUS_OK;
}

/* ---- added tokens ------------------------------------------------------------------ */

static bool is_word_char(const char *s, size_t n, size_t at, bool before) {
    /* the character just before (or at) `at` */
    size_t i = at;
    if (before) {
        if (at == 0) return false;
        i = at - 1;
        while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80) i--;
    } else if (at >= n) {
        return false;
    }
    uint32_t cp;
    size_t l = eco_utf8_decode((const unsigned char *)s + i, n - i, &cp);
    if (!l) return false;
    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
               cp == '_';
    /* beyond ASCII: letters and digits as PCRE2 sees them */
    static const char pat[] = "^[\\p{L}\\p{N}\\p{Mn}\\p{Mc}_]";
    static pcre2_code *re; /* compiled once; immutable afterwards */
    static int failed;
    if (!re && !failed) {
        int err;
        PCRE2_SIZE off;
        pcre2_code *r = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                                      &err, &off, NULL);
        if (!r)
            failed = 1;
        else if (!__atomic_compare_exchange_n(&re, &(pcre2_code *){NULL}, r, false,
                                              __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            pcre2_code_free(r);
    }
    pcre2_code *r = __atomic_load_n(&re, __ATOMIC_ACQUIRE);
    if (!r) return false;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md) return false;
    int rc = pcre2_match(r, (PCRE2_SPTR)s + i, l, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc > 0;
}

static size_t ws_before(const char *s, size_t at, size_t floor) {
    /* start of the run of white space that ends at `at` (not below floor) */
    size_t i = at;
    while (i > floor) {
        size_t j = i - 1;
        while (j > floor && ((unsigned char)s[j] & 0xC0) == 0x80) j--;
        uint32_t cp;
        if (eco_utf8_decode((const unsigned char *)s + j, i - j, &cp) != i - j ||
            !tok_is_whitespace(cp))
            break;
        i = j;
    }
    return i;
}

static size_t ws_after(const char *s, size_t n, size_t at) {
    size_t i = at;
    while (i < n) {
        uint32_t cp;
        size_t l = eco_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (!l || !tok_is_whitespace(cp)) break;
        i += l;
    }
    return i;
}

typedef eco_status (*segment_fn)(enc *e, const char *s, size_t n, bool first);

/* Splits s[0..n) on the added tokens whose `normalized` flag equals `normalized` (leftmost
 * longest, as HF's Aho-Corasick), emitting their ids and passing the text between them to
 * fn. `first` tells whether s starts at offset 0 of the original input. */
static eco_status split_added(enc *e, const char *s, size_t n, bool normalized, bool first,
                              segment_fn fn) {
    const eco_tokenizer *t = e->tok;
    bool any = false;
    for (size_t k = 0; k < t->n_added && !any; k++) any = t->added[k].normalized == normalized;
    if (!any) return fn(e, s, n, first);
    size_t done = 0, i = 0;
    while (i < n) {
        const tok_added *hit = NULL;
        for (size_t k = 0; k < t->n_added; k++) {
            const tok_added *a = &t->added[k];
            if (a->normalized != normalized || a->len > n - i ||
                (unsigned char)a->content[0] != (unsigned char)s[i])
                continue;
            if (memcmp(s + i, a->content, a->len) == 0) {
                hit = a; /* sorted longest first */
                break;
            }
        }
        if (!hit) {
            i++;
            continue;
        }
        size_t ms = i, me = i + hit->len;
        if (hit->single_word && (is_word_char(s, n, ms, true) || is_word_char(s, n, me, false))) {
            i = me; /* HF discards the match and goes on after it */
            continue;
        }
        if (hit->lstrip) ms = ws_before(s, ms, done);
        if (hit->rstrip) me = ws_after(s, n, me);
        if (ms > done) {
            eco_status st = fn(e, s + done, ms - done, first && done == 0);
            if (st != ECO_STATUS_OK) return st;
        }
        if (!tok_ids_push(e->out, hit->id)) return oom();
        done = i = me;
    }
    if (done < n) return fn(e, s + done, n - done, first && done == 0);
    return ECO_STATUS_OK;
}

static eco_status after_normalize(enc *e, const char *s, size_t n, bool first) {
    return encode_segment(e, s, n, first);
}

static eco_status raw_segment(enc *e, const char *s, size_t n, bool first) {
    eco_status st = normalize(e, s, n);
    if (st != ECO_STATUS_OK) return st;
    /* the normalized text must survive nested calls that reuse e->norm: take it over */
    eco_buf norm = e->norm;
    e->norm = (eco_buf){0};
    st = split_added(e, norm.data, norm.len, true, first, after_normalize);
    if (!e->norm.data) {
        e->norm = norm;
    } else {
        eco_buf_free(&norm);
    }
    return st;
}

eco_status eco_tokenizer_encode(const eco_tokenizer *tok, const char *text, size_t len,
                                bool add_special, int32_t **ids, size_t *n_ids) {
    *ids = NULL;
    *n_ids = 0;
    if (!tok) return eco_error(ECO_STATUS_EINVAL, "tokenizer: encode: no tokenizer");
    if (!text && len) return eco_error(ECO_STATUS_EINVAL, "tokenizer: encode: no text");
    tok_ids out = {0};
    enc e = {.tok = tok, .out = &out};
    eco_arena_init(&e.cache_keys, 0);
    eco_status st = ECO_STATUS_OK;
    e.md = pcre2_match_data_create(1, NULL);
    if (!e.md) st = oom();
    if (!st && add_special && tok->n_post_prefix &&
        !tok_ids_append(&out, tok->post_prefix, tok->n_post_prefix))
        st = oom();
    if (!st && len) st = split_added(&e, text, len, false, true, raw_segment);
    if (!st && add_special && tok->n_post_suffix &&
        !tok_ids_append(&out, tok->post_suffix, tok->n_post_suffix))
        st = oom();
    if (!st && !out.data && !(out.data = malloc(sizeof(int32_t)))) st = oom();
    pcre2_match_data_free(e.md);
    pieces_free(&e.a);
    pieces_free(&e.b);
    eco_buf_free(&e.norm);
    eco_buf_free(&e.scratch);
    tok_strmap_free(&e.cache);
    eco_arena_free(&e.cache_keys);
    free(e.cache_ids.data);
    free(e.cache_spans);
    if (st != ECO_STATUS_OK) {
        free(out.data);
        return st;
    }
    *ids = out.data;
    *n_ids = out.len;
    return ECO_STATUS_OK;
}

/* ---- pre-tokenization alone (the BPE trainer) -------------------------------------- */

struct tok_pretok {
    enc e;
};

eco_status tok_pretok_create(const eco_tokenizer *tok, tok_pretok **out) {
    *out = NULL;
    tok_pretok *p = calloc(1, sizeof *p);
    if (!p) return oom();
    p->e.tok = tok;
    p->e.md = pcre2_match_data_create(1, NULL);
    if (!p->e.md) {
        free(p);
        return oom();
    }
    *out = p;
    return ECO_STATUS_OK;
}

eco_status tok_pretok_run(tok_pretok *p, const char *text, size_t len, tok_piece_fn fn, void *ctx) {
    if (len == 0) return ECO_STATUS_OK;
    enc *e = &p->e;
    eco_status st = normalize(e, text, len);
    if (st != ECO_STATUS_OK) return st;
    const pieces *cur;
    st = pretokenize_segment(e, e->norm.data, e->norm.len, true, &cur);
    for (size_t i = 0; st == ECO_STATUS_OK && i < cur->n; i++)
        st = fn(ctx, cur->buf.data + cur->v[i].off, cur->v[i].len);
    return st;
}

void tok_pretok_free(tok_pretok *p) {
    if (!p) return;
    pcre2_match_data_free(p->e.md);
    pieces_free(&p->e.a);
    pieces_free(&p->e.b);
    eco_buf_free(&p->e.norm);
    eco_buf_free(&p->e.scratch);
    free(p);
}
