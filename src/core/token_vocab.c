/* eco_token_vocab (include/ecology/contracts.h): a vocabulary as byte strings, sorted so that
 * a decoding constraint can walk it as a trie (tokens sharing a prefix are neighbours, and
 * lcp says how much each shares with the one before). */
#include <stdlib.h>
#include <string.h>

#include "ecology/contracts.h"

/* The owned form behind the public struct. */
typedef struct vocab_owned {
    eco_token_vocab v; /* first member: the public view */
    uint8_t *blob;     /* every token's bytes, back to back */
    const uint8_t **bytes;
    uint32_t *len;
    int32_t *sorted;
    uint32_t *lcp;
    int32_t *eos;
} vocab_owned;

void eco_token_vocab_free(eco_token_vocab *v) {
    vocab_owned *o = (vocab_owned *)v;
    if (!o) return;
    free(o->blob);
    free(o->bytes);
    free(o->len);
    free(o->sorted);
    free(o->lcp);
    free(o->eos);
    free(o);
}

/* One token while sorting. */
typedef struct entry {
    const uint8_t *b;
    uint32_t len;
    int32_t id;
} entry;

static int cmp_entries(const void *a, const void *b) {
    const entry *x = a, *y = b;
    int c = memcmp(x->b, y->b, x->len < y->len ? x->len : y->len);
    if (c) return c;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

eco_status eco_token_vocab_create(const uint8_t *const *bytes, const size_t *lens, int64_t n,
                                  const int32_t *eos, size_t n_eos, eco_token_vocab **out) {
    if (!out || n < 0 || (n > 0 && (!bytes || !lens)) || (n_eos && !eos) || n > INT32_MAX)
        return eco_error(ECO_STATUS_EINVAL, "token vocabulary: invalid argument");
    *out = NULL;
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
        if (lens[i] > UINT32_MAX || (lens[i] && !bytes[i]))
            return eco_error(ECO_STATUS_EINVAL, "token vocabulary: id %lld: bad bytes",
                             (long long)i);
        if (total + lens[i] < total)
            return eco_error(ECO_STATUS_EOVERFLOW, "token vocabulary: too many bytes");
        total += lens[i];
    }
    vocab_owned *o = calloc(1, sizeof *o);
    if (!o) return eco_error(ECO_STATUS_ENOMEM, "token vocabulary: out of memory");
    size_t nn = (size_t)n;
    o->blob = malloc(total ? total : 1);
    o->bytes = eco_malloc_array(nn ? nn : 1, sizeof *o->bytes);
    o->len = eco_malloc_array(nn ? nn : 1, sizeof *o->len);
    o->sorted = eco_malloc_array(nn ? nn : 1, sizeof *o->sorted);
    o->lcp = eco_malloc_array(nn ? nn : 1, sizeof *o->lcp);
    o->eos = eco_malloc_array(n_eos ? n_eos : 1, sizeof *o->eos);
    if (!o->blob || !o->bytes || !o->len || !o->sorted || !o->lcp || !o->eos) {
        eco_token_vocab_free(&o->v);
        return eco_error(ECO_STATUS_ENOMEM, "token vocabulary: out of memory");
    }
    size_t at = 0, n_sorted = 0;
    uint32_t max_len = 0;
    for (size_t i = 0; i < nn; i++) {
        if (lens[i]) memcpy(o->blob + at, bytes[i], lens[i]);
        o->bytes[i] = o->blob + at;
        o->len[i] = (uint32_t)lens[i];
        at += lens[i];
        if (lens[i]) o->sorted[n_sorted++] = (int32_t)i;
        if (o->len[i] > max_len) max_len = o->len[i];
    }
    entry *e = eco_malloc_array(n_sorted ? n_sorted : 1, sizeof *e);
    if (!e) {
        eco_token_vocab_free(&o->v);
        return eco_error(ECO_STATUS_ENOMEM, "token vocabulary: out of memory");
    }
    for (size_t k = 0; k < n_sorted; k++) {
        int32_t id = o->sorted[k];
        e[k] = (entry){o->bytes[id], o->len[id], id};
    }
    qsort(e, n_sorted, sizeof *e, cmp_entries);
    for (size_t k = 0; k < n_sorted; k++) o->sorted[k] = e[k].id;
    free(e);
    for (size_t k = 0; k < n_sorted; k++) {
        uint32_t l = 0;
        if (k > 0) {
            int32_t a = o->sorted[k - 1], b = o->sorted[k];
            uint32_t m = o->len[a] < o->len[b] ? o->len[a] : o->len[b];
            while (l < m && o->bytes[a][l] == o->bytes[b][l]) l++;
        }
        o->lcp[k] = l;
    }
    size_t ne = 0;
    for (size_t i = 0; i < n_eos; i++)
        if (eos[i] >= 0 && eos[i] < n) o->eos[ne++] = eos[i];
    o->v.n = n;
    o->v.bytes = o->bytes;
    o->v.len = o->len;
    o->v.sorted = o->sorted;
    o->v.lcp = o->lcp;
    o->v.n_sorted = (int64_t)n_sorted;
    o->v.max_len = max_len;
    o->v.eos = o->eos;
    o->v.n_eos = ne;
    *out = &o->v;
    return ECO_STATUS_OK;
}
