/*
 * The BPE merge loop, step for step Hugging Face tokenizers' BpeTrainer::do_train
 * (src/models/bpe/trainer.rs) and Word::merge (word.rs):
 *
 *  1. special tokens take ids 0.. in order; 2. the alphabet (characters seen in the words,
 *  plus the initial alphabet) follows, sorted by code point; 3. every word becomes its
 *  characters' ids; 4. pair counts (each adjacent occurrence, overlapping ones too, times the
 *  word's count) and, per pair, the words holding it; a max-heap of {count, pair, words}
 *  ordered by count, then by pair ascending; 5. loop: stop when the vocabulary is full or
 *  the heap is empty; pop the top; if its count is stale, push it back with the current
 *  count (same words) and go on; stop when the count is below 1 or min_frequency; the new
 *  token is the concatenation (an existing token keeps its id, the merge is still
 *  recorded); merge the pair, left to right without overlap, in the entry's words only; each
 *  merge changes (prev, a) -1, (prev, new) +1, (b, next) -1, (new, next) +1 times the word's
 *  count (the merged pair itself is not decremented, as in HF); every pair that gained in
 *  some word is pushed, with those words, when its count is positive.
 *
 * Determinism: words are sorted by their bytes first and the pushes of one step go in pair
 * order, so the result does not depend on the order of the word counts (HF iterates hash
 * maps, and heap entries equal in count and pair may come out in either order there; the
 * merges made do not depend on it).
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/bpe_train_internal.h"

static eco_status oom(void) {
    return eco_error(ECO_STATUS_ENOMEM, "tokenizer train: merges: out of memory");
}

/* ---- pair → count (open addressing; key (a << 32 | b) + 1, 0 empty) ------------------ */

typedef struct pcmap {
    uint64_t *keys;
    int64_t *vals;
    size_t cap, count;
} pcmap;

static inline uint64_t pair_key(int32_t a, int32_t b) {
    return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}

static inline size_t pc_slot(uint64_t k, size_t cap) {
    uint64_t h = k * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

static bool pc_grow(pcmap *m) {
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    uint64_t *keys = eco_calloc_array(ncap, sizeof *keys);
    int64_t *vals = eco_malloc_array(ncap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = pc_slot(m->keys[i], ncap);
        while (keys[j]) j = (j + 1) & (ncap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = ncap;
    return true;
}

/* The count slot of pair p (created at 0 when new); NULL when out of memory. */
static int64_t *pc_at(pcmap *m, uint64_t p) {
    if ((m->count + 1) * 4 > m->cap * 3 && !pc_grow(m)) return NULL;
    uint64_t k = p + 1;
    size_t j = pc_slot(k, m->cap);
    while (m->keys[j] && m->keys[j] != k) j = (j + 1) & (m->cap - 1);
    if (!m->keys[j]) {
        m->keys[j] = k;
        m->vals[j] = 0;
        m->count++;
    }
    return &m->vals[j];
}

static int64_t pc_get(const pcmap *m, uint64_t p) {
    if (!m->cap) return 0;
    uint64_t k = p + 1;
    size_t j = pc_slot(k, m->cap);
    while (m->keys[j]) {
        if (m->keys[j] == k) return m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    return 0;
}

/* ---- heap of merge candidates ------------------------------------------------------- */

typedef struct cand {
    int64_t count;
    uint64_t pair;
    int32_t *pos; /* owned: sorted distinct word indices */
    uint32_t npos;
} cand;

/* x before y: higher count, then smaller pair. */
static inline bool cand_before(const cand *x, const cand *y) {
    return x->count != y->count ? x->count > y->count : x->pair < y->pair;
}

TOK_HEAP_DEFINE(heap, cand, cand_before, 1024)

/* ---- (pair, word) lists -------------------------------------------------------------- */

typedef struct pw {
    uint64_t pair;
    int32_t word;
} pw;

typedef struct pwlist {
    pw *v;
    size_t n, cap;
} pwlist;

static bool pw_add(pwlist *l, uint64_t pair, int32_t word) {
    if (l->n == l->cap) {
        pw *v = tok_array_grow(l->v, sizeof *v, &l->cap, l->n + 1, 256);
        if (!v) return false;
        l->v = v;
    }
    l->v[l->n++] = (pw){pair, word};
    return true;
}

static int pw_cmp(const void *x, const void *y) {
    const pw *a = x, *b = y;
    if (a->pair != b->pair) return a->pair < b->pair ? -1 : 1;
    return (a->word > b->word) - (a->word < b->word);
}

/* Sorts l, and pushes one candidate per pair whose count is positive, with its distinct
 * words (HF: where_to_update.drain() → queue.push when count > 0). Empties l. */
static bool push_groups(pwlist *l, const pcmap *pc, heap *h) {
    if (l->n) qsort(l->v, l->n, sizeof *l->v, pw_cmp);
    for (size_t i = 0; i < l->n;) {
        size_t j = i;
        while (j < l->n && l->v[j].pair == l->v[i].pair) j++;
        int64_t count = pc_get(pc, l->v[i].pair);
        if (count > 0) {
            int32_t *pos = eco_malloc_array(j - i, sizeof *pos);
            if (!pos) return false;
            uint32_t np = 0;
            for (size_t k = i; k < j; k++)
                if (np == 0 || pos[np - 1] != l->v[k].word) pos[np++] = l->v[k].word;
            if (!heap_push(h, (cand){count, l->v[i].pair, pos, np})) {
                free(pos);
                return false;
            }
        }
        i = j;
    }
    l->n = 0;
    return true;
}

/* ---- vocabulary --------------------------------------------------------------------- */

typedef struct vocab {
    tok_bpe_result *r;
    tok_strmap map; /* token → id (keys in r->strs) */
} vocab;

/* Id of token s[0..n), added at the end when new; -1 when out of memory. */
static int32_t vocab_add(vocab *v, const char *s, size_t n) {
    int32_t id = tok_strmap_get(&v->map, s, n);
    if (id >= 0) return id;
    tok_bpe_result *r = v->r;
    if (r->n_tok == r->cap_tok) {
        size_t c1 = r->cap_tok, c2 = r->cap_tok;
        const char **t = tok_array_grow(r->tok, sizeof *t, &c1, r->n_tok + 1, 512);
        if (!t) return -1;
        r->tok = t;
        uint32_t *l = tok_array_grow(r->tok_len, sizeof *l, &c2, r->n_tok + 1, 512);
        if (!l) return -1;
        r->tok_len = l;
        r->cap_tok = c1;
    }
    char *key = eco_arena_strndup(&r->strs, s, n);
    if (!key || !tok_strmap_put(&v->map, key, n, (int32_t)r->n_tok, NULL)) return -1;
    r->tok[r->n_tok] = key;
    r->tok_len[r->n_tok] = (uint32_t)n;
    return (int32_t)r->n_tok++;
}

/* ---- words -------------------------------------------------------------------------- */

typedef struct words {
    int32_t *sym;  /* all words' symbols, word i at off[i], len[i] symbols (shrinks) */
    size_t *off;   /* [n] */
    uint32_t *len; /* [n] */
    int64_t *count;
    size_t n;
} words;

typedef struct wref {
    const char *s;
    uint32_t len;
    size_t idx;
} wref;

static int word_cmp(const void *x, const void *y) {
    const wref *a = x, *b = y;
    int c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    if (c) return c;
    return (a->len > b->len) - (a->len < b->len);
}

/* Merges (a, b) into c in word i, recording the changes in pc and the gains in gain. */
static bool word_merge(words *w, size_t i, int32_t a, int32_t b, int32_t c, pcmap *pc,
                       pwlist *gain) {
    int32_t *s = w->sym + w->off[i];
    size_t n = w->len[i], o = 0, r = 0;
    int64_t cnt = w->count[i];
#define CHANGE(x, y, d)                                                                            \
    do {                                                                                           \
        uint64_t p_ = pair_key((x), (y));                                                          \
        int64_t *v_ = pc_at(pc, p_);                                                               \
        if (!v_) return false;                                                                     \
        *v_ += (d)*cnt;                                                                            \
        if ((d) > 0 && !pw_add(gain, p_, (int32_t)i)) return false;                                \
    } while (0)
    while (r < n) {
        if (s[r] == a && r + 1 < n && s[r + 1] == b) {
            if (o > 0) {
                CHANGE(s[o - 1], a, -1);
                CHANGE(s[o - 1], c, 1);
            }
            s[o++] = c;
            r += 2;
            if (r < n) {
                CHANGE(b, s[r], -1);
                CHANGE(c, s[r], 1);
            }
        } else {
            s[o++] = s[r++];
        }
    }
#undef CHANGE
    w->len[i] = (uint32_t)o;
    return true;
}

/* The 256 characters of HF's ByteLevel::alphabet() (GPT-2's bytes_to_unicode). */
static eco_status add_alphabet(vocab *v, const tok_bpe_params *p, const tok_wordcount *wc) {
    /* seen: bitmap over code points */
    enum { NCP = 0x110000 };
    uint8_t *seen = calloc(NCP / 8, 1);
    if (!seen) return oom();
    for (size_t i = 0; i < wc->n; i++) {
        const char *s = wc->word[i];
        for (size_t k = 0; k < wc->len[i];) {
            uint32_t cp;
            size_t l = eco_utf8_decode(s + k, wc->len[i] - k, &cp);
            if (!l) {
                free(seen);
                return eco_error(ECO_STATUS_EINTERNAL,
                                 "tokenizer train: a pre-tokenized word is not UTF-8");
            }
            seen[cp / 8] |= (uint8_t)(1u << (cp % 8));
            k += l;
        }
    }
    if (p->byte_alphabet) {
        eco_tokenizer tmp;
        tok_init_byte_table(&tmp);
        for (int b = 0; b < 256; b++) {
            uint32_t cp;
            eco_utf8_decode(tmp.byte_char[b], tmp.byte_char_len[b], &cp);
            seen[cp / 8] |= (uint8_t)(1u << (cp % 8));
        }
    }
    for (uint32_t cp = 0; cp < NCP; cp++) {
        if (!(seen[cp / 8] & (1u << (cp % 8)))) continue;
        char u[4];
        size_t l = eco_utf8_encode(cp, u);
        if (vocab_add(v, u, l) < 0) {
            free(seen);
            return oom();
        }
    }
    free(seen);
    return ECO_STATUS_OK;
}

/* Word i's symbols: its characters' ids. */
static eco_status build_words(vocab *v, const tok_wordcount *wc, words *w) {
    wref *order = eco_malloc_array(wc->n ? wc->n : 1, sizeof *order);
    w->off = eco_malloc_array(wc->n ? wc->n : 1, sizeof *w->off);
    w->len = eco_malloc_array(wc->n ? wc->n : 1, sizeof *w->len);
    w->count = eco_malloc_array(wc->n ? wc->n : 1, sizeof *w->count);
    size_t total = 0;
    for (size_t i = 0; i < wc->n; i++) total += wc->len[i]; /* symbols <= bytes */
    w->sym = eco_malloc_array(total ? total : 1, sizeof *w->sym);
    if (!order || !w->off || !w->len || !w->count || !w->sym) {
        free(order);
        return oom();
    }
    for (size_t i = 0; i < wc->n; i++) order[i] = (wref){wc->word[i], wc->len[i], i};
    qsort(order, wc->n, sizeof *order, word_cmp);
    size_t at = 0;
    for (size_t k = 0; k < wc->n; k++) {
        size_t i = order[k].idx;
        const char *s = wc->word[i];
        w->off[k] = at;
        w->count[k] = wc->count[i] > INT64_MAX ? INT64_MAX : (int64_t)wc->count[i];
        for (size_t j = 0; j < wc->len[i];) {
            uint32_t cp;
            size_t l = eco_utf8_decode(s + j, wc->len[i] - j, &cp);
            int32_t id = l ? tok_strmap_get(&v->map, s + j, l) : -1;
            if (id < 0) {
                free(order);
                return eco_error(ECO_STATUS_EINTERNAL, "tokenizer train: a character is not in "
                                                       "the alphabet");
            }
            w->sym[at++] = id;
            j += l;
        }
        w->len[k] = (uint32_t)(at - w->off[k]);
    }
    w->n = wc->n;
    free(order);
    return ECO_STATUS_OK;
}

static bool add_merge(tok_bpe_result *r, int32_t a, int32_t b, int32_t m) {
    if (r->n_merges == r->cap_merges) {
        tok_bpe_merge_rec *v =
            tok_array_grow(r->merges, sizeof *v, &r->cap_merges, r->n_merges + 1, 512);
        if (!v) return false;
        r->merges = v;
    }
    r->merges[r->n_merges++] = (tok_bpe_merge_rec){a, b, m};
    return true;
}

static eco_status merge_loop(const tok_bpe_params *p, vocab *v, words *w) {
    pcmap pc = {0};
    heap h = {0};
    pwlist l = {0};
    eco_buf joined = {0};
    eco_status st = ECO_STATUS_OK;
    /* 4. pair counts and where each pair is */
    for (size_t i = 0; i < w->n && !st; i++) {
        const int32_t *s = w->sym + w->off[i];
        for (uint32_t k = 0; k + 1 < w->len[i]; k++) {
            uint64_t pr = pair_key(s[k], s[k + 1]);
            int64_t *c = pc_at(&pc, pr);
            if (!c || !pw_add(&l, pr, (int32_t)i)) {
                st = oom();
                break;
            }
            *c += w->count[i];
        }
    }
    if (!st && !push_groups(&l, &pc, &h)) st = oom();
    /* 5. merges */
    tok_bpe_result *r = v->r;
    while (!st && (int64_t)r->n_tok < p->vocab_size && h.n) {
        cand top = heap_pop(&h);
        int64_t now = pc_get(&pc, top.pair);
        if (top.count != now) {
            top.count = now;
            if (!heap_push(&h, top)) {
                free(top.pos);
                st = oom();
            }
            continue;
        }
        if (top.count < 1 || (uint64_t)top.count < p->min_frequency) {
            free(top.pos);
            break;
        }
        int32_t a = (int32_t)(top.pair >> 32), b = (int32_t)(uint32_t)top.pair;
        joined.len = 0;
        int32_t m = -1;
        if (eco_buf_append(&joined, r->tok[a], r->tok_len[a]) &&
            eco_buf_append(&joined, r->tok[b], r->tok_len[b]) && joined.len <= UINT32_MAX)
            m = vocab_add(v, joined.data, joined.len);
        if (m < 0 || !add_merge(r, a, b, m)) {
            free(top.pos);
            st = oom();
            break;
        }
        for (uint32_t k = 0; k < top.npos && !st; k++)
            if (!word_merge(w, (size_t)top.pos[k], a, b, m, &pc, &l)) st = oom();
        free(top.pos);
        if (!st && !push_groups(&l, &pc, &h)) st = oom();
        if (p->progress && (r->n_merges & 63) == 0)
            eco_progress_update(p->progress, (double)r->n_tok);
    }
    for (size_t i = 0; i < h.n; i++) free(h.v[i].pos);
    free(h.v);
    free(l.v);
    free(pc.keys);
    free(pc.vals);
    eco_buf_free(&joined);
    return st;
}

eco_status tok_bpe_merge(const tok_bpe_params *p, const tok_wordcount *wc, tok_bpe_result *out) {
    eco_arena_init(&out->strs, 0);
    vocab v = {.r = out};
    words w = {0};
    eco_status st = ECO_STATUS_OK;
    /* 1. special tokens */
    for (size_t i = 0; i < p->n_specials && !st; i++)
        if (vocab_add(&v, p->specials[i], strlen(p->specials[i])) < 0) st = oom();
    /* 2. alphabet */
    if (!st) st = add_alphabet(&v, p, wc);
    /* 3. words */
    if (!st) st = build_words(&v, wc, &w);
    if (!st) st = merge_loop(p, &v, &w);
    if (!st && p->progress) eco_progress_update(p->progress, (double)out->n_tok);
    tok_strmap_free(&v.map);
    free(w.sym);
    free(w.off);
    free(w.len);
    free(w.count);
    return st;
}

void tok_bpe_result_free(tok_bpe_result *r) {
    eco_arena_free(&r->strs);
    free(r->tok);
    free(r->tok_len);
    free(r->merges);
    memset(r, 0, sizeof *r);
}
