/*
 * Word counting for the BPE trainer: each line is pre-tokenized by the project's own
 * pipeline (tok_pretok_run over the skeleton tokenizer) and its words counted. Threads take
 * contiguous runs of a batch's lines and count into maps of their own (HF's feed counts per
 * sequence and reduces the maps; the sums are the same whatever the split), added together
 * at the end. An error on a thread is carried to the caller's thread with its message.
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/bpe_train_internal.h"

/* ---- tok_wordcount ------------------------------------------------------------------ */

bool tok_wordcount_add(tok_wordcount *w, const char *s, size_t n, uint64_t count) {
    if (n > UINT32_MAX) return false;
    int32_t k = tok_strmap_get(&w->map, s, n);
    if (k >= 0) {
        w->count[k] += count;
        w->total += count;
        return true;
    }
    if (w->n >= (size_t)INT32_MAX) return false;
    if (w->n == w->cap) {
        size_t c1 = w->cap, c2 = w->cap, c3 = w->cap;
        const char **a = tok_array_grow(w->word, sizeof *a, &c1, w->n + 1, 1024);
        if (!a) return false;
        w->word = a;
        uint32_t *b = tok_array_grow(w->len, sizeof *b, &c2, w->n + 1, 1024);
        if (!b) return false;
        w->len = b;
        uint64_t *c = tok_array_grow(w->count, sizeof *c, &c3, w->n + 1, 1024);
        if (!c) return false;
        w->count = c;
        w->cap = c1;
    }
    char *key = eco_arena_strndup(&w->keys, s, n);
    if (!key || !tok_strmap_put(&w->map, key, n, (int32_t)w->n, NULL)) return false;
    w->word[w->n] = key;
    w->len[w->n] = (uint32_t)n;
    w->count[w->n] = count;
    w->n++;
    w->total += count;
    return true;
}

bool tok_wordcount_merge(tok_wordcount *dst, const tok_wordcount *src) {
    for (size_t i = 0; i < src->n; i++)
        if (!tok_wordcount_add(dst, src->word[i], src->len[i], src->count[i])) return false;
    return true;
}

void tok_wordcount_free(tok_wordcount *w) {
    tok_strmap_free(&w->map);
    eco_arena_free(&w->keys);
    free(w->word);
    free(w->len);
    free(w->count);
    memset(w, 0, sizeof *w);
}

/* ---- the counter -------------------------------------------------------------------- */

typedef struct worker {
    tok_pretok *pre;
    tok_wordcount wc;
    eco_status st;
    char *msg; /* the thread's error message (malloc'd) when st != OK */
} worker;

struct tok_counter {
    const eco_tokenizer *skel;
    int threads;
    worker *w; /* [threads] */
};

eco_status tok_counter_create(const eco_tokenizer *skeleton, int threads, tok_counter **out) {
    *out = NULL;
    if (threads < 1) threads = 1;
    if (threads > ECO_MAX_THREADS) threads = ECO_MAX_THREADS;
    tok_counter *c = calloc(1, sizeof *c);
    worker *w = eco_calloc_array((size_t)threads, sizeof *w);
    if (!c || !w) {
        free(c);
        free(w);
        return eco_error(ECO_STATUS_ENOMEM, "tokenizer train: out of memory");
    }
    c->skel = skeleton;
    c->threads = threads;
    c->w = w;
    for (int i = 0; i < threads; i++) {
        eco_arena_init(&w[i].wc.keys, 0);
        eco_status st = tok_pretok_create(skeleton, &w[i].pre);
        if (st != ECO_STATUS_OK) {
            tok_counter_free(c);
            return st;
        }
    }
    *out = c;
    return ECO_STATUS_OK;
}

static eco_status count_piece(void *ctx, const char *s, size_t n) {
    if (!tok_wordcount_add(ctx, s, n, 1))
        return eco_error(ECO_STATUS_ENOMEM, "tokenizer train: counting words: out of memory");
    return ECO_STATUS_OK;
}

eco_status tok_counter_lines(tok_counter *c, const char *data, const size_t *ends, size_t n) {
    if (n == 0) return ECO_STATUS_OK;
    int nt = c->threads;
    if ((size_t)nt > n) nt = (int)n;
    /* runs of equal byte length rather than equal line count: lines vary a lot */
    size_t total = ends[n - 1];
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num(), tn = omp_get_num_threads();
        worker *w = &c->w[t];
        /* this thread's lines: those whose end lies in (total*t/tn, total*(t+1)/tn] */
        size_t lo_b = (size_t)((unsigned __int128)total * (unsigned)t / (unsigned)tn);
        size_t hi_b = (size_t)((unsigned __int128)total * (unsigned)(t + 1) / (unsigned)tn);
        size_t k = 0;
        {
            size_t a = 0, b = n; /* first line with end > lo_b */
            while (a < b) {
                size_t m = a + (b - a) / 2;
                if (ends[m] > lo_b)
                    b = m;
                else
                    a = m + 1;
            }
            k = t == 0 ? 0 : a;
        }
        for (; k < n && w->st == ECO_STATUS_OK; k++) {
            if (t + 1 < tn && ends[k] > hi_b) break;
            size_t start = k ? ends[k - 1] : 0;
            w->st = tok_pretok_run(w->pre, data + start, ends[k] - start, count_piece, &w->wc);
            if (w->st != ECO_STATUS_OK) w->msg = eco_strdup(eco_last_error());
        }
    }
    for (int t = 0; t < c->threads; t++) {
        worker *w = &c->w[t];
        if (w->st == ECO_STATUS_OK) continue;
        eco_status st =
            eco_error(w->st, "%s", w->msg ? w->msg : "tokenizer train: counting failed");
        return st;
    }
    return ECO_STATUS_OK;
}

eco_status tok_counter_collect(tok_counter *c, tok_wordcount *out) {
    for (int t = 0; t < c->threads; t++)
        if (!tok_wordcount_merge(out, &c->w[t].wc))
            return eco_error(ECO_STATUS_ENOMEM,
                             "tokenizer train: merging word counts: out of memory");
    return ECO_STATUS_OK;
}

void tok_counter_free(tok_counter *c) {
    if (!c) return;
    for (int t = 0; t < c->threads; t++) {
        tok_pretok_free(c->w[t].pre);
        tok_wordcount_free(&c->w[t].wc);
        free(c->w[t].msg);
    }
    free(c->w);
    free(c);
}
