/*
 * Decoding: ids → token strings → the decoder chain of tokenizer.json (ByteLevel, Replace,
 * ByteFallback, Fuse, Strip, Metaspace), each step as HF's `decode_chain`, over a list of
 * strings. One deliberate difference: where HF substitutes U+FFFD for bytes that are not
 * valid UTF-8 (ByteLevel's from_utf8_lossy, ByteFallback), we return the raw bytes, so
 * that decode(encode(x)) == x for any bytes x.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

typedef struct strvec {
    eco_buf buf;
    size_t *span; /* [2 * cap]: offset, length */
    size_t n, cap;
} strvec;

#define TOKSTR(v, i) ((v)->buf.data + (v)->span[2 * (i)])
#define TOKLEN(v, i) ((v)->span[2 * (i) + 1])

static bool sv_add(strvec *v, const char *s, size_t n) {
    if (v->n == v->cap) {
        size_t *sp = tok_array_grow(v->span, 2 * sizeof *sp, &v->cap, v->n + 1, 64);
        if (!sp) return false;
        v->span = sp;
    }
    size_t off = v->buf.len;
    if (!eco_buf_append(&v->buf, s, n)) return false;
    v->span[2 * v->n] = off;
    v->span[2 * v->n + 1] = n;
    v->n++;
    return true;
}

/* Starts a token that is then grown with sv_grow. */
static bool sv_open(strvec *v) { return sv_add(v, "", 0); }
static bool sv_grow(strvec *v, const void *s, size_t n) {
    if (!eco_buf_append(&v->buf, s, n)) return false;
    TOKLEN(v, v->n - 1) += n;
    return true;
}

/* Adds each token of in to out with every pat replaced by rep, except that in the first
 * token it is dropped when drop_first. */
static bool sv_add_replaced(strvec *out, const strvec *in, const char *pat, size_t pn,
                            const char *rep, size_t rn, bool drop_first) {
    for (size_t i = 0; i < in->n; i++) {
        if (!sv_open(out)) return false;
        size_t before = out->buf.len;
        if (!tok_buf_append_replaced(&out->buf, TOKSTR(in, i), TOKLEN(in, i), pat, pn, rep,
                                     i == 0 && drop_first ? 0 : rn))
            return false;
        TOKLEN(out, out->n - 1) += out->buf.len - before;
    }
    return true;
}

static void sv_free(strvec *v) {
    eco_buf_free(&v->buf);
    free(v->span);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Byte of a "<0xNN>" token, or -1. */
static int byte_token(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int hi = hexval(s[3]), lo = hexval(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

static bool dec_step(const eco_tokenizer *tok, const tok_dec *d, const strvec *in, strvec *out) {
    switch (d->kind) {
        case TOK_DEC_BYTELEVEL: {
            if (!sv_open(out)) return false;
            for (size_t i = 0; i < in->n; i++) {
                const unsigned char *s = (const unsigned char *)TOKSTR(in, i);
                size_t n = TOKLEN(in, i);
                /* every character must map to a byte, else the token's own bytes are used */
                bool all = true;
                size_t mark = out->buf.len;
                for (size_t k = 0; k < n && all;) {
                    uint32_t cp;
                    size_t l = eco_utf8_decode(s + k, n - k, &cp);
                    int b = l ? tok_char_to_byte(cp) : -1;
                    if (b < 0) {
                        all = false;
                        break;
                    }
                    char c = (char)b;
                    if (!sv_grow(out, &c, 1)) return false;
                    k += l;
                }
                if (!all) {
                    TOKLEN(out, out->n - 1) -= out->buf.len - mark;
                    out->buf.len = mark;
                    if (!sv_grow(out, s, n)) return false;
                }
            }
            return true;
        }
        case TOK_DEC_REPLACE:
            return sv_add_replaced(out, in, d->str, d->str_len, d->str2, d->str2_len, false);
        case TOK_DEC_BYTEFALLBACK: {
            bool in_bytes = false;
            for (size_t i = 0; i < in->n; i++) {
                int b = byte_token(TOKSTR(in, i), TOKLEN(in, i));
                if (b >= 0) {
                    char c = (char)b;
                    if (!in_bytes && !sv_open(out)) return false;
                    if (!sv_grow(out, &c, 1)) return false;
                    in_bytes = true;
                } else {
                    if (!sv_add(out, TOKSTR(in, i), TOKLEN(in, i))) return false;
                    in_bytes = false;
                }
            }
            return true;
        }
        case TOK_DEC_FUSE:
            if (!sv_open(out)) return false;
            for (size_t i = 0; i < in->n; i++)
                if (!sv_grow(out, TOKSTR(in, i), TOKLEN(in, i))) return false;
            return true;
        case TOK_DEC_STRIP:
            for (size_t i = 0; i < in->n; i++) {
                const char *s = TOKSTR(in, i);
                size_t n = TOKLEN(in, i), a = 0, b = n, cl = d->str_len;
                for (size_t k = 0; k < d->start && a + cl <= b && memcmp(s + a, d->str, cl) == 0;
                     k++)
                    a += cl;
                for (size_t k = 0;
                     k < d->stop && b >= a + cl && memcmp(s + b - cl, d->str, cl) == 0; k++)
                    b -= cl;
                if (!sv_add(out, s + a, b - a)) return false;
            }
            return true;
        case TOK_DEC_METASPACE:
            /* HF drops every replacement of the first token when it prepends */
            return sv_add_replaced(out, in, d->str, d->str_len, " ", 1, d->prepend);
    }
    (void)tok;
    return false;
}

eco_status eco_tokenizer_decode(const eco_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                bool skip_special, char **text, size_t *len) {
    *text = NULL;
    *len = 0;
    if (!tok) return eco_error(ECO_STATUS_EINVAL, "tokenizer: decode: no tokenizer");
    if (!ids && n_ids) return eco_error(ECO_STATUS_EINVAL, "tokenizer: decode: no ids");
    strvec a = {0}, b = {0};
    eco_status st = ECO_STATUS_OK;
    for (size_t i = 0; i < n_ids; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= tok->n_ids || !(tok->id_flags[id] & TOK_ID_PRESENT)) {
            st = eco_error(
                ECO_STATUS_ERANGE,
                "tokenizer: decode: id %d at position %zu is not in the vocabulary (size %lld)", id,
                i, (long long)tok->n_ids);
            goto done;
        }
        if (skip_special && (tok->id_flags[id] & TOK_ID_SPECIAL)) continue;
        if (!sv_add(&a, tok->id_str[id], tok->id_len[id])) goto oom;
    }
    strvec *cur = &a, *nxt = &b;
    for (size_t k = 0; k < tok->n_dec; k++) {
        nxt->n = 0;
        nxt->buf.len = 0;
        if (!dec_step(tok, &tok->dec[k], cur, nxt)) goto oom;
        strvec *t = cur;
        cur = nxt;
        nxt = t;
    }
    eco_buf res = {0};
    for (size_t i = 0; i < cur->n; i++) {
        /* no decoder: HF joins the tokens with spaces */
        if ((tok->n_dec == 0 && i > 0 && !eco_buf_push(&res, ' ')) ||
            !eco_buf_append(&res, TOKSTR(cur, i), TOKLEN(cur, i))) {
            eco_buf_free(&res);
            goto oom;
        }
    }
    if (!res.data && !eco_buf_reserve(&res, 0)) goto oom;
    res.data[res.len] = '\0';
    *text = res.data;
    *len = res.len;
    goto done;
oom:
    st = eco_error(ECO_STATUS_ENOMEM, "tokenizer: decode: out of memory");
done:
    sv_free(&a);
    sv_free(&b);
    return st;
}
