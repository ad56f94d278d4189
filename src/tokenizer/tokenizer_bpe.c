/*
 * BPE core: byte buffers, UTF-8, the two hash tables (token → id, id pair → merge) and the
 * merge loop of Hugging Face's `Word::merge_all`: every adjacent pair with a merge goes
 * into a binary heap ordered by (rank, position); the best is applied if still valid, and
 * the pairs it forms with its neighbours are pushed. O(n log n) in the symbols of a piece.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

/* ---- buffers ----------------------------------------------------------------------- */

void *tok_array_grow(void *data, size_t size, size_t *cap, size_t need, size_t first) {
    size_t n = *cap ? *cap : first, bytes;
    while (n < need) {
        if (n > SIZE_MAX / 2) return NULL;
        n *= 2;
    }
    if (!eco_mul_ok(n, size, &bytes)) return NULL;
    void *p = realloc(data, bytes);
    if (p) *cap = n;
    return p;
}

bool tok_buf_append_replaced(eco_buf *b, const char *s, size_t n, const char *pat, size_t pn,
                             const char *rep, size_t rn) {
    for (size_t k = 0; k < n;) {
        if (k + pn <= n && memcmp(s + k, pat, pn) == 0) {
            if (!eco_buf_append(b, rep, rn)) return false;
            k += pn;
        } else {
            if (!eco_buf_push(b, s[k])) return false;
            k++;
        }
    }
    return true;
}

bool tok_ids_push(tok_ids *v, int32_t id) { return tok_ids_append(v, &id, 1); }

bool tok_ids_append(tok_ids *v, const int32_t *ids, size_t n) {
    size_t need;
    if (!eco_add_ok(v->len, n, &need)) return false;
    if (need > v->cap) {
        int32_t *p = tok_array_grow(v->data, sizeof *p, &v->cap, need, 16);
        if (!p) return false;
        v->data = p;
    }
    if (n) memcpy(v->data + v->len, ids, n * sizeof *ids);
    v->len += n;
    return true;
}

bool tok_is_whitespace(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* ---- byte ↔ unicode (GPT-2) -------------------------------------------------------- */

/* Bytes that stand for themselves: '!'..'~', '¡'..'¬', '®'..'ÿ'; the other 68 map to
 * U+0100 + n in byte order. */
static bool byte_is_printable(int b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

static uint32_t byte_to_cp(int b) {
    if (byte_is_printable(b)) return (uint32_t)b;
    uint32_t n = 0;
    for (int i = 0; i < b; i++)
        if (!byte_is_printable(i)) n++;
    return 0x100 + n;
}

void tok_init_byte_table(eco_tokenizer *tok) {
    for (int b = 0; b < 256; b++)
        tok->byte_char_len[b] = (uint8_t)eco_utf8_encode(byte_to_cp(b), tok->byte_char[b]);
}

int tok_char_to_byte(uint32_t cp) {
    if (cp < 0x100) return byte_is_printable((int)cp) ? (int)cp : -1;
    if (cp >= 0x100 + 68) return -1;
    uint32_t n = cp - 0x100;
    for (int b = 0; b < 256; b++) {
        if (byte_is_printable(b)) continue;
        if (n == 0) return b;
        n--;
    }
    return -1;
}

/* ---- hashing ----------------------------------------------------------------------- */

static uint64_t mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

uint64_t tok_hash_bytes(const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x100000001B3ULL;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < n; i++) w |= (uint64_t)p[i] << (8 * i);
    h = (h ^ w) * 0x100000001B3ULL;
    return mix64(h);
}

/* The slot holding key (hash h) in m (cap > 0), or the empty slot where it would go. */
static tok_strmap_slot *strmap_find(const tok_strmap *m, const char *key, size_t len, uint64_t h) {
    size_t j = h & (m->cap - 1);
    for (; m->slots[j].key; j = (j + 1) & (m->cap - 1)) {
        const tok_strmap_slot *s = &m->slots[j];
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) break;
    }
    return &m->slots[j];
}

static bool strmap_grow(tok_strmap *m) {
    tok_strmap g = {.cap = m->cap ? m->cap * 2 : 64, .count = m->count};
    if (!(g.slots = eco_calloc_array(g.cap, sizeof *g.slots))) return false;
    for (size_t i = 0; i < m->cap; i++) {
        const tok_strmap_slot *s = &m->slots[i];
        if (s->key) *strmap_find(&g, s->key, s->len, s->hash) = *s;
    }
    free(m->slots);
    *m = g;
    return true;
}

bool tok_strmap_put(tok_strmap *m, const char *key, size_t len, int32_t value, bool *existed) {
    if (existed) *existed = false;
    if (len > UINT32_MAX) return false;
    if ((m->count + 1) * 2 > m->cap && !strmap_grow(m)) return false;
    uint64_t h = tok_hash_bytes(key, len);
    tok_strmap_slot *s = strmap_find(m, key, len, h);
    if (s->key) {
        s->value = value;
        if (existed) *existed = true;
        return true;
    }
    *s = (tok_strmap_slot){.key = key, .len = (uint32_t)len, .value = value, .hash = h};
    m->count++;
    return true;
}

int32_t tok_strmap_get(const tok_strmap *m, const char *key, size_t len) {
    if (!m->cap) return -1;
    const tok_strmap_slot *s = strmap_find(m, key, len, tok_hash_bytes(key, len));
    return s->key ? s->value : -1;
}

void tok_strmap_free(tok_strmap *m) {
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

static uint64_t pair_key(int32_t a, int32_t b) {
    return (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1;
}

/* The slot holding key k in m (cap > 0), or the empty slot where it would go. */
static tok_pair_slot *pairmap_find(const tok_pairmap *m, uint64_t k) {
    size_t j = mix64(k) & (m->cap - 1);
    while (m->slots[j].key && m->slots[j].key != k) j = (j + 1) & (m->cap - 1);
    return &m->slots[j];
}

static bool pairmap_grow(tok_pairmap *m) {
    tok_pairmap g = {.cap = m->cap ? m->cap * 2 : 64, .count = m->count};
    if (!(g.slots = eco_calloc_array(g.cap, sizeof *g.slots))) return false;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key) *pairmap_find(&g, m->slots[i].key) = m->slots[i];
    free(m->slots);
    *m = g;
    return true;
}

bool tok_pairmap_put(tok_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t merged) {
    if ((m->count + 1) * 2 > m->cap && !pairmap_grow(m)) return false;
    uint64_t k = pair_key(a, b);
    tok_pair_slot *s = pairmap_find(m, k);
    if (!s->key) m->count++;
    *s = (tok_pair_slot){.key = k, .rank = rank, .merged = merged};
    return true;
}

const tok_pair_slot *tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b) {
    if (!m->cap) return NULL;
    const tok_pair_slot *s = pairmap_find(m, pair_key(a, b));
    return s->key ? s : NULL;
}

void tok_pairmap_free(tok_pairmap *m) {
    free(m->slots);
    m->slots = NULL;
    m->cap = m->count = 0;
}

/* ---- merge loop -------------------------------------------------------------------- */

typedef struct sym {
    int32_t id;
    int32_t prev; /* -1 at the start */
    int32_t next; /* -1 at the end */
    int32_t alive;
} sym;

typedef struct cand {
    int32_t rank;
    int32_t pos;
    int32_t merged;
} cand;

static bool cand_less(const cand *a, const cand *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

TOK_HEAP_DEFINE(heap, cand, cand_less, 64)

/* Pushes the merge of symbol `pos` with its right neighbour `right`, when there is one;
 * false on ENOMEM. */
static bool push_merge(heap *h, const tok_pairmap *merges, const sym *sy, int32_t pos,
                       int32_t right) {
    const tok_pair_slot *m = tok_pairmap_get(merges, sy[pos].id, sy[right].id);
    return !m || heap_push(h, (cand){m->rank, pos, m->merged});
}

/* Appends symbol ids for s[0..n) to syms, following HF's BPE::merge_word: one symbol per
 * character when it is in the vocabulary; otherwise its bytes as <0xNN> tokens (byte
 * fallback, when all exist), otherwise unk (consecutive unks fused when fuse_unk; no unk
 * token means the character is dropped). */
static eco_status initial_symbols(const eco_tokenizer *tok, const char *s, size_t n,
                                  tok_ids *syms) {
    int32_t pending_unk = -1; /* HF keeps one unk pending until a known symbol arrives */
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t cl = eco_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (cl == 0) cl = 1; /* an invalid byte is a symbol of its own */
        int32_t id = tok_strmap_get(&tok->vocab, s + i, cl);
        if (id >= 0) {
            if (pending_unk >= 0) {
                if (!tok_ids_push(syms, pending_unk)) return ECO_STATUS_ENOMEM;
                pending_unk = -1;
            }
            if (!tok_ids_push(syms, id)) return ECO_STATUS_ENOMEM;
            i += cl;
            continue;
        }
        if (tok->byte_fallback) {
            bool all = true;
            for (size_t k = 0; k < cl; k++)
                if (tok->byte_ids[(unsigned char)s[i + k]] < 0) all = false;
            if (all) {
                for (size_t k = 0; k < cl; k++)
                    if (!tok_ids_push(syms, tok->byte_ids[(unsigned char)s[i + k]]))
                        return ECO_STATUS_ENOMEM;
                i += cl;
                continue;
            }
        }
        if (tok->unk_id >= 0) {
            if (pending_unk >= 0 && !tok->fuse_unk) {
                if (!tok_ids_push(syms, pending_unk)) return ECO_STATUS_ENOMEM;
            }
            pending_unk = tok->unk_id;
        }
        i += cl;
    }
    if (pending_unk >= 0 && !tok_ids_push(syms, pending_unk)) return ECO_STATUS_ENOMEM;
    return ECO_STATUS_OK;
}

eco_status tok_bpe_word(const eco_tokenizer *tok, const char *s, size_t n, tok_ids *out) {
    if (n == 0) return ECO_STATUS_OK;
    if (tok->ignore_merges) {
        int32_t id = tok_strmap_get(&tok->vocab, s, n);
        if (id >= 0) return tok_ids_push(out, id) ? ECO_STATUS_OK : ECO_STATUS_ENOMEM;
    }
    tok_ids ids = {0};
    eco_status st = initial_symbols(tok, s, n, &ids);
    if (st != ECO_STATUS_OK) goto done;
    if (ids.len > INT32_MAX) {
        st = eco_error(ECO_STATUS_ERANGE, "tokenizer: piece of %zu symbols is too long", ids.len);
        goto done;
    }
    if (ids.len < 2 || tok->merges.count == 0) {
        if (!tok_ids_append(out, ids.data, ids.len)) st = ECO_STATUS_ENOMEM;
        goto done;
    }
    size_t ns = ids.len;
    sym *sy = eco_malloc_array(ns, sizeof *sy);
    heap h = {0};
    if (!sy) {
        st = ECO_STATUS_ENOMEM;
        goto done;
    }
    for (size_t k = 0; k < ns; k++) {
        sy[k].id = ids.data[k];
        sy[k].prev = (int32_t)k - 1;
        sy[k].next = k + 1 < ns ? (int32_t)k + 1 : -1;
        sy[k].alive = 1;
    }
    bool ok = true;
    for (size_t k = 0; ok && k + 1 < ns; k++)
        ok = push_merge(&h, &tok->merges, sy, (int32_t)k, (int32_t)k + 1);
    while (ok && h.n) {
        cand c = heap_pop(&h);
        sym *a = &sy[c.pos];
        if (!a->alive || a->next < 0) continue;
        sym *b = &sy[a->next];
        const tok_pair_slot *m = tok_pairmap_get(&tok->merges, a->id, b->id);
        if (!m || m->merged != c.merged) continue; /* stale: a neighbour changed */
        a->id = c.merged;
        b->alive = 0;
        a->next = b->next;
        if (b->next >= 0) sy[b->next].prev = c.pos;
        ok = (a->prev < 0 || push_merge(&h, &tok->merges, sy, a->prev, c.pos)) &&
             (a->next < 0 || push_merge(&h, &tok->merges, sy, c.pos, a->next));
    }
    for (int32_t k = 0; ok && k >= 0; k = sy[k].next) ok = tok_ids_push(out, sy[k].id);
    if (!ok) st = ECO_STATUS_ENOMEM;
    free(h.v);
    free(sy);
done:
    free(ids.data);
    return st;
}
