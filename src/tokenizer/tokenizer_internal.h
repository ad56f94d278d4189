/*
 * tokenizer internals: shared by tokenizer_load.c (tokenizer.json → eco_tokenizer),
 * tokenizer_bpe.c (hash tables, merges by rank), tokenizer_encode.c (added tokens,
 * normalizers, pre-tokenizers, post-processor), tokenizer_decode.c (decoders),
 * tokenizer_nfc.c (NFC through utf8proc) and tokenizer_bytes.c.
 *
 * Pipeline of one encode call (the order of Hugging Face `tokenizers`):
 *   raw bytes ─ split on non-normalized added tokens ─► segments
 *   segment   ─ normalizers (NFC, Prepend, Replace) ─ split on normalized added tokens
 *             ─ pre-tokenizers (Split regex, ByteLevel, Metaspace, Digits) ─► pieces
 *   piece     ─ BPE (byte fallback, unk) ─► ids ─ post-processor (template) ─► output
 *
 * Invalid UTF-8 (HF works on Rust strings and never sees it; we accept any bytes):
 * normalizers leave invalid bytes untouched (NFC composes only across valid code points);
 * a Split regex runs with PCRE2_MATCH_INVALID_UTF and every invalid byte becomes a piece
 * of its own; the ByteLevel mapping turns every byte into a character, so byte-level models
 * encode invalid bytes as their byte tokens; in SentencePiece-style models an invalid byte
 * is a BPE symbol of its own that no merge touches, so it goes to byte fallback (<0xNN>).
 * Decoding returns raw bytes where HF would substitute U+FFFD, so that decoding stays the
 * exact inverse of encoding.
 */
#ifndef ECO_TOKENIZER_TOKENIZER_INTERNAL_H
#define ECO_TOKENIZER_TOKENIZER_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "ecology/core.h"
#include "ecology/tokenizer.h"

/* Largest id accepted in a tokenizer.json (the id → token table is sized by it). */
#define TOK_MAX_ID (1 << 24)

/* ---- growable arrays ---------------------------------------------------------------- */

/* Grows the array `data` (elements of `size` bytes, capacity *cap) to hold at least `need`
 * elements, need > *cap: the capacity doubles, starting from `first`. Returns the reallocated
 * array (the elements in use are kept) and updates *cap; on overflow or ENOMEM returns NULL
 * and leaves data (still the caller's) and *cap unchanged. */
void *tok_array_grow(void *data, size_t size, size_t *cap, size_t need, size_t first);

/* A binary heap of TYPE whose top is the element that BEFORE(&x, &y) puts ahead of every
 * other (BEFORE is a strict order). Defines the type NAME {TYPE *v; size_t n, cap;} (zero is
 * empty; the caller frees v), NAME##_push (false on ENOMEM; FIRST is the first capacity) and
 * NAME##_pop (the top; the heap must not be empty). The BPE encoder and trainer use it. */
#define TOK_HEAP_DEFINE(NAME, TYPE, BEFORE, FIRST)                                                 \
    typedef struct NAME {                                                                          \
        TYPE *v;                                                                                   \
        size_t n, cap;                                                                             \
    } NAME;                                                                                        \
    static bool NAME##_push(NAME *h, TYPE c) {                                                     \
        if (h->n == h->cap) {                                                                      \
            TYPE *v = tok_array_grow(h->v, sizeof *v, &h->cap, h->n + 1, (FIRST));                 \
            if (!v) return false;                                                                  \
            h->v = v;                                                                              \
        }                                                                                          \
        size_t i = h->n++;                                                                         \
        while (i > 0) {                                                                            \
            size_t p = (i - 1) / 2;                                                                \
            if (!BEFORE(&c, &h->v[p])) break;                                                      \
            h->v[i] = h->v[p];                                                                     \
            i = p;                                                                                 \
        }                                                                                          \
        h->v[i] = c;                                                                               \
        return true;                                                                               \
    }                                                                                              \
    static TYPE NAME##_pop(NAME *h) {                                                              \
        TYPE top = h->v[0];                                                                        \
        TYPE last = h->v[--h->n];                                                                  \
        size_t i = 0;                                                                              \
        for (;;) {                                                                                 \
            size_t l = 2 * i + 1, r = l + 1, m = i;                                                \
            const TYPE *best = &last;                                                              \
            if (l < h->n && BEFORE(&h->v[l], best)) {                                              \
                m = l;                                                                             \
                best = &h->v[l];                                                                   \
            }                                                                                      \
            if (r < h->n && BEFORE(&h->v[r], best)) m = r;                                         \
            if (m == i) break;                                                                     \
            h->v[i] = h->v[m];                                                                     \
            i = m;                                                                                 \
        }                                                                                          \
        if (h->n) h->v[i] = last;                                                                  \
        return top;                                                                                \
    }


/* Byte strings grow in an eco_buf (ecology/core.h). */
/* Appends s[0..n) with every occurrence of pat (pn > 0; left to right, not overlapping)
 * replaced by rep[0..rn); false when out of memory. */
bool tok_buf_append_replaced(eco_buf *b, const char *s, size_t n, const char *pat, size_t pn,
                             const char *rep, size_t rn);

/* Growable int32 vector. */
typedef struct tok_ids {
    int32_t *data;
    size_t len;
    size_t cap;
} tok_ids;
bool tok_ids_push(tok_ids *v, int32_t id);
bool tok_ids_append(tok_ids *v, const int32_t *ids, size_t n);

/* ---- UTF-8: eco_utf8_decode / eco_utf8_encode (ecology/core.h) ----------------------- */
/* Unicode White_Space (Rust's char::is_whitespace). */
bool tok_is_whitespace(uint32_t cp);

/* ---- string → int32 table (open addressing, linear probing) ------------------------ */

typedef struct tok_strmap_slot {
    const char *key; /* not owned (points into the tokenizer's arena); NULL when empty */
    uint32_t len;
    int32_t value;
    uint64_t hash;
} tok_strmap_slot;

typedef struct tok_strmap {
    tok_strmap_slot *slots;
    size_t cap; /* power of two */
    size_t count;
} tok_strmap;

uint64_t tok_hash_bytes(const void *data, size_t n);
/* Inserts or replaces key → value; the key must outlive the map. false on ENOMEM. */
bool tok_strmap_put(tok_strmap *m, const char *key, size_t len, int32_t value, bool *existed);
/* Value of key, or -1. */
int32_t tok_strmap_get(const tok_strmap *m, const char *key, size_t len);
void tok_strmap_free(tok_strmap *m);

/* ---- merges: (left id, right id) → (rank, merged id) -------------------------------- */

typedef struct tok_pair_slot {
    uint64_t key; /* (left << 32 | right) + 1; 0 = empty */
    int32_t rank;
    int32_t merged;
} tok_pair_slot;

typedef struct tok_pairmap {
    tok_pair_slot *slots;
    size_t cap;
    size_t count;
} tok_pairmap;

/* Inserts or replaces (a, b); a later duplicate wins, as in HF. false on ENOMEM. */
bool tok_pairmap_put(tok_pairmap *m, int32_t a, int32_t b, int32_t rank, int32_t merged);
const tok_pair_slot *tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b);
void tok_pairmap_free(tok_pairmap *m);

/* ---- pipeline descriptions ---------------------------------------------------------- */

typedef enum tok_norm_kind {
    TOK_NORM_NFC,
    TOK_NORM_PREPEND, /* str: prepended to a non-empty segment */
    TOK_NORM_REPLACE, /* str → str2 (literal pattern) */
} tok_norm_kind;

typedef struct tok_norm {
    tok_norm_kind kind;
    const char *str;
    size_t str_len;
    const char *str2;
    size_t str2_len;
} tok_norm;

typedef enum tok_split_behavior {
    TOK_SPLIT_REMOVED,
    TOK_SPLIT_ISOLATED,
    TOK_SPLIT_MERGED_WITH_PREVIOUS,
    TOK_SPLIT_MERGED_WITH_NEXT,
    TOK_SPLIT_CONTIGUOUS,
} tok_split_behavior;

typedef enum tok_pre_kind {
    TOK_PRE_SPLIT,     /* regex (or literal) split: re, behavior, invert */
    TOK_PRE_BYTELEVEL, /* add_prefix_space; re (GPT-2 pattern) when use_regex; byte → char */
    TOK_PRE_METASPACE, /* ' ' → replacement; prepend_scheme; split before each replacement */
} tok_pre_kind;

typedef enum tok_prepend_scheme {
    TOK_PREPEND_ALWAYS,
    TOK_PREPEND_FIRST,
    TOK_PREPEND_NEVER,
} tok_prepend_scheme;

typedef struct tok_pre {
    tok_pre_kind kind;
    pcre2_code *re; /* owned; NULL when none */
    tok_split_behavior behavior;
    bool invert;
    bool add_prefix_space;
    tok_prepend_scheme prepend_scheme;
    bool split;
    char replacement[5]; /* UTF-8 of the Metaspace replacement character */
    size_t replacement_len;
} tok_pre;

typedef enum tok_dec_kind {
    TOK_DEC_BYTELEVEL,
    TOK_DEC_REPLACE,      /* str → str2 in each token */
    TOK_DEC_BYTEFALLBACK, /* runs of <0xNN> tokens → their bytes */
    TOK_DEC_FUSE,         /* all tokens → one */
    TOK_DEC_STRIP,        /* strip `start` leading / `stop` trailing `str` from each token */
    TOK_DEC_METASPACE,    /* replacement → ' ', leading space of the first token dropped */
} tok_dec_kind;

typedef struct tok_dec {
    tok_dec_kind kind;
    const char *str;
    size_t str_len;
    const char *str2;
    size_t str2_len;
    size_t start;
    size_t stop;
    bool prepend; /* Metaspace: prepend_scheme != never */
} tok_dec;

typedef struct tok_added {
    const char *content; /* in the arena */
    size_t len;
    int32_t id;
    bool special;
    bool lstrip;
    bool rstrip;
    bool single_word;
    bool normalized;
} tok_added;

/* Per-id flags. */
enum {
    TOK_ID_PRESENT = 1, /* the id names a token */
    TOK_ID_ADDED = 2,
    TOK_ID_SPECIAL = 4,
};

struct eco_tokenizer {
    eco_arena arena; /* every string below */

    /* model: BPE */
    tok_strmap vocab;     /* model vocabulary: token → id */
    tok_strmap added_map; /* added tokens: content → id */
    tok_pairmap merges;
    int64_t n_ids;       /* highest id + 1 over vocabulary and added tokens */
    const char **id_str; /* [n_ids] token string (added token content wins), or NULL */
    uint32_t *id_len;    /* [n_ids] */
    uint8_t *id_flags;   /* [n_ids] TOK_ID_* */
    int32_t unk_id;      /* -1 when none */
    bool fuse_unk;
    bool byte_fallback;
    bool ignore_merges;
    int32_t byte_ids[256]; /* ids of "<0xNN>" tokens, -1 when missing */

    /* added tokens, longest first within each list (leftmost-longest matching) */
    tok_added *added;
    size_t n_added;

    tok_norm *norm;
    size_t n_norm;
    tok_pre *pre;
    size_t n_pre;
    tok_dec *dec;
    size_t n_dec;

    /* post-processor for a single sequence: prefix ids, $A, suffix ids */
    int32_t *post_prefix;
    size_t n_post_prefix;
    int32_t *post_suffix;
    size_t n_post_suffix;

    /* GPT-2 byte ↔ unicode tables */
    char byte_char[256][3]; /* UTF-8 of the character standing for byte b */
    uint8_t byte_char_len[256];
};

/* Fills the byte → character table (GPT-2's bytes_to_unicode). */
void tok_init_byte_table(eco_tokenizer *tok);
/* Inverse: byte of a code point in the table, or -1. */
int tok_char_to_byte(uint32_t cp);

/* BPE of one piece (already normalized and pre-tokenized) → ids appended to out.
 * Returns ECO_STATUS_ENOMEM on allocation failure. */
eco_status tok_bpe_word(const eco_tokenizer *tok, const char *s, size_t n, tok_ids *out);

/* NFC of s[0..n) appended to out; invalid bytes are copied through unchanged. */
eco_status tok_nfc(const char *s, size_t n, eco_buf *out);
/* True when s is already in NFC by the quick check (no normalization needed). */
bool tok_nfc_quick(const char *s, size_t n);

/* The byte tokenizer's tokenizer.json text, what eco_tokenizer_write_bytes writes (a final
 * newline included); *out is malloc'd, caller frees. */
eco_status tok_byte_tokenizer_json(char **out);

/* Pre-tokenization alone, for the BPE trainer (bpe_train_*.c): tok's normalizers and
 * pre-tokenizers over a text, without the added-token split, so that training and encoding
 * cut words identically. Hugging Face's Tokenizer::train(_from_files) feeds BpeTrainer the
 * same way for a tokenizer that has no added tokens yet (the trainer's special tokens are
 * added after training): extract_and_normalize finds nothing to extract, then
 * do_pre_tokenize. One tok_pretok per thread; tok is
 * borrowed and must outlive it. */
typedef struct tok_pretok tok_pretok;
eco_status tok_pretok_create(const eco_tokenizer *tok, tok_pretok **out);
/* Called with each piece (valid only during the call); a non-OK status stops the run. */
typedef eco_status (*tok_piece_fn)(void *ctx, const char *s, size_t n);
/* Pre-tokenizes text[0..len) and passes every piece, in order, to fn. */
eco_status tok_pretok_run(tok_pretok *p, const char *text, size_t len, tok_piece_fn fn, void *ctx);
void tok_pretok_free(tok_pretok *p);

/* GPT-2's pre-tokenizer regex (ByteLevel with use_regex true). */
extern const char tok_gpt2_pattern[];
/* Compiles a pattern from tokenizer.json (Oniguruma syntax as HF uses it) for PCRE2 with
 * UTF, UCP and MATCH_INVALID_UTF, JIT-compiled when available. `literal` compiles the text
 * as a plain string. On failure records an error naming `what` and returns EFORMAT. */
eco_status tok_regex_compile(const char *pattern, size_t len, bool literal, const char *label,
                             const char *what, pcre2_code **out);

#endif
