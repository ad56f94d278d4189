/*
 * corpus_ngram: word n-gram sets of prompts and their containment / Jaccard scores, for
 * the hidden-corpus contamination rule (eval_corpus.h has the definitions). A set is an
 * open-addressing table of 64-bit n-gram hashes (0 marks an empty slot; a hash of 0 is
 * stored as 1).
 */
#include <stdlib.h>
#include <string.h>

#include "ecology/eval_corpus.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull
#define MAX_N      64

struct eco_ngram_set {
    unsigned n;
    size_t count, cap; /* cap a power of two, count <= cap/2 */
    uint64_t *slot;
};

eco_status eco_ngram_set_new(unsigned n, eco_ngram_set **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "ngram: NULL argument");
    *out = NULL;
    if (n < 1 || n > MAX_N) return eco_error(ECO_STATUS_EINVAL, "ngram: n = %u outside [1, 64]", n);
    eco_ngram_set *s = calloc(1, sizeof *s);
    if (!s) return eco_error(ECO_STATUS_ENOMEM, "ngram: out of memory");
    s->n = n;
    *out = s;
    return ECO_STATUS_OK;
}

void eco_ngram_set_free(eco_ngram_set *s) {
    if (!s) return;
    free(s->slot);
    free(s);
}

size_t eco_ngram_set_size(const eco_ngram_set *s) { return s ? s->count : 0; }
unsigned eco_ngram_set_n(const eco_ngram_set *s) { return s ? s->n : 0; }

static size_t home(uint64_t h, size_t cap) {
    h ^= h >> 33; /* the low bits of FNV-1a are weak: fold the high ones in */
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (size_t)h & (cap - 1);
}

static bool contains(const eco_ngram_set *s, uint64_t h) {
    if (!s->cap) return false;
    for (size_t i = home(h, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (s->slot[i] == h) return true;
        if (s->slot[i] == 0) return false;
    }
}

static void put(uint64_t *slot, size_t cap, uint64_t h) {
    size_t i = home(h, cap);
    while (slot[i] && slot[i] != h) i = (i + 1) & (cap - 1);
    slot[i] = h;
}

static eco_status insert(eco_ngram_set *s, uint64_t h) {
    if (h == 0) h = 1;
    if (contains(s, h)) return ECO_STATUS_OK;
    if ((s->count + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 64;
        uint64_t *ns = ncap > s->cap ? eco_calloc_array(ncap, sizeof *ns) : NULL;
        if (!ns)
            return eco_error(ECO_STATUS_ENOMEM, "ngram: out of memory (%zu n-grams)", s->count);
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i]) put(ns, ncap, s->slot[i]);
        free(s->slot);
        s->slot = ns;
        s->cap = ncap;
    }
    put(s->slot, s->cap, h);
    s->count++;
    return ECO_STATUS_OK;
}

/* A word byte: an ASCII letter or digit, or any byte of a non-ASCII code point. */
static bool word_byte(unsigned char c) {
    return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

/* Hash of words w[0..k): FNV-1a over each word's bytes (ASCII lower-cased) and 0xFF. */
static uint64_t gram_hash(const char *text, const size_t *start, const size_t *end, size_t k) {
    uint64_t h = FNV_OFFSET;
    for (size_t w = 0; w < k; w++) {
        for (size_t i = start[w]; i < end[w]; i++) {
            unsigned char c = (unsigned char)text[i];
            if (c >= 'A' && c <= 'Z') c |= 0x20;
            h = (h ^ c) * FNV_PRIME;
        }
        h = (h ^ 0xFF) * FNV_PRIME;
    }
    return h;
}

eco_status eco_ngram_set_add(eco_ngram_set *s, const char *text, size_t len) {
    if (!s || (!text && len)) return eco_error(ECO_STATUS_EINVAL, "ngram: NULL argument");
    size_t bad = eco_utf8_valid_prefix(text, len);
    if (bad < len)
        return eco_error(ECO_STATUS_EINVAL, "ngram: the text is not valid UTF-8 at byte %zu", bad);
    /* The words' spans, in a ring of the last n (the n-gram ending at each word). */
    size_t start[MAX_N], end[MAX_N], ring_s[MAX_N], ring_e[MAX_N];
    size_t words = 0, n = s->n;
    for (size_t i = 0; i < len;) {
        if (!word_byte((unsigned char)text[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && word_byte((unsigned char)text[j])) j++;
        ring_s[words % n] = i;
        ring_e[words % n] = j;
        words++;
        if (words >= n) {
            for (size_t w = 0; w < n; w++) { /* oldest first */
                size_t r = (words - n + w) % n;
                start[w] = ring_s[r];
                end[w] = ring_e[r];
            }
            eco_status st = insert(s, gram_hash(text, start, end, n));
            if (st) return st;
        }
        i = j;
    }
    if (words > 0 && words < n) { /* a short text: one n-gram of all its words */
        for (size_t w = 0; w < words; w++) start[w] = ring_s[w], end[w] = ring_e[w];
        return insert(s, gram_hash(text, start, end, words));
    }
    return ECO_STATUS_OK;
}

size_t eco_ngram_word_count(const char *text, size_t len) {
    size_t words = 0;
    for (size_t i = 0; text && i < len;) {
        if (!word_byte((unsigned char)text[i])) {
            i++;
            continue;
        }
        words++;
        while (i < len && word_byte((unsigned char)text[i])) i++;
    }
    return words;
}

static eco_status shared(const eco_ngram_set *a, const eco_ngram_set *b, size_t *both) {
    if (!a || !b) return eco_error(ECO_STATUS_EINVAL, "ngram: NULL argument");
    if (a->n != b->n)
        return eco_error(ECO_STATUS_EINVAL, "ngram: sets of %u-grams and %u-grams compared", a->n,
                         b->n);
    size_t k = 0;
    for (size_t i = 0; i < a->cap; i++) k += a->slot[i] && contains(b, a->slot[i]);
    *both = k;
    return ECO_STATUS_OK;
}

eco_status eco_ngram_containment(const eco_ngram_set *a, const eco_ngram_set *b, double *out) {
    size_t k = 0;
    eco_status st = shared(a, b, &k);
    if (st || !out) return st ? st : eco_error(ECO_STATUS_EINVAL, "ngram: NULL argument");
    *out = a->count ? (double)k / (double)a->count : 0.0;
    return ECO_STATUS_OK;
}

eco_status eco_ngram_jaccard(const eco_ngram_set *a, const eco_ngram_set *b, double *out) {
    size_t k = 0;
    eco_status st = shared(a, b, &k);
    if (st || !out) return st ? st : eco_error(ECO_STATUS_EINVAL, "ngram: NULL argument");
    size_t uni = a->count + b->count - k;
    *out = uni ? (double)k / (double)uni : 0.0;
    return ECO_STATUS_OK;
}
