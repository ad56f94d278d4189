/*
 * BPE trainer internals (include/ecology/tokenizer_train.h says what the trainer does):
 *   bpe_train_corpus.c  lines of a file or a text, in batches, UTF-8 checked
 *   bpe_train_count.c   word counts (tok_wordcount) and the multi-threaded counter
 *   bpe_train_merge.c   the merge loop over word counts (HF's BpeTrainer::do_train)
 *   bpe_train_json.c    the tokenizer.json of a result, and the pre-tokenizer skeleton
 *   bpe_train.c         the public trainer: options, feeding, finishing
 */
#ifndef ECO_TOKENIZER_BPE_TRAIN_INTERNAL_H
#define ECO_TOKENIZER_BPE_TRAIN_INTERNAL_H

#include "ecology/tokenizer_train.h"
#include "tokenizer/tokenizer_internal.h"

/* ---- word counts ----------------------------------------------------------------------- */

/* word (bytes) → count, words kept in insertion order. */
typedef struct tok_wordcount {
    eco_arena keys;    /* the words' bytes (NUL-terminated) */
    tok_strmap map;    /* word → index */
    const char **word; /* [n] borrowed from keys */
    uint32_t *len;     /* [n] */
    uint64_t *count;   /* [n] */
    size_t n, cap;
    uint64_t total; /* sum of count */
} tok_wordcount;

/* Adds count to word s[0..n) (n < 2^32). false when out of memory (w keeps what it had). */
bool tok_wordcount_add(tok_wordcount *w, const char *s, size_t n, uint64_t count);
/* Adds every word of src to dst. false when out of memory. */
bool tok_wordcount_merge(tok_wordcount *dst, const tok_wordcount *src);
void tok_wordcount_free(tok_wordcount *w);

/* Counts the pre-tokenized words of lines with several threads, each into a map of its own;
 * tok_counter_collect adds them together. The skeleton tokenizer (its normalizers and
 * pre-tokenizers) is borrowed. */
typedef struct tok_counter tok_counter;
eco_status tok_counter_create(const eco_tokenizer *skeleton, int threads, tok_counter **out);
/* Counts the words of the n lines data[ends[k-1] .. ends[k]) (ends[-1] = 0), each line as
 * one sequence; lines are split among the threads in contiguous runs. */
eco_status tok_counter_lines(tok_counter *c, const char *data, const size_t *ends, size_t n);
/* Adds every thread's counts to out (in thread order). */
eco_status tok_counter_collect(tok_counter *c, tok_wordcount *out);
void tok_counter_free(tok_counter *c);

/* ---- corpus lines ---------------------------------------------------------------------- */

/* Receives a batch of whole lines: line k is data[ends[k-1] .. ends[k]) (ends[-1] = 0), its
 * '\n' included (the last line of the input may lack one); first_line is the 1-based number
 * of line 0. */
typedef eco_status (*tok_lines_fn)(void *ctx, const char *data, const size_t *ends, size_t n,
                                   int64_t first_line);

/* Streams path in batches of about batch_bytes of whole lines, each line checked to be
 * UTF-8 ("PATH: line N: invalid UTF-8 at byte B of the line"); an empty file is EFORMAT,
 * an unreadable one EIO, a line over ECO_BPE_TRAIN_MAX_LINE ERANGE. *lines and *bytes
 * receive what was read. progress (may be NULL) is advanced by the bytes read. */
eco_status tok_corpus_stream_file(const char *path, size_t batch_bytes, tok_lines_fn fn, void *ctx,
                                  eco_progress *progress, int64_t *lines, int64_t *bytes);
/* The same over text[0..len) in memory; label names it in messages. */
eco_status tok_corpus_stream_text(const char *label, const char *text, size_t len,
                                  size_t batch_bytes, tok_lines_fn fn, void *ctx, int64_t *lines,
                                  int64_t *bytes);

/* ---- the merge loop -------------------------------------------------------------------- */

typedef struct tok_bpe_params {
    int64_t vocab_size;
    uint64_t min_frequency;
    const char *const *specials; /* ids 0.. in order (a duplicate keeps its first id) */
    size_t n_specials;
    /* the initial alphabet: the 256 ByteLevel characters (HF's ByteLevel::alphabet());
     * false: only the characters seen */
    bool byte_alphabet;
    eco_progress *progress; /* may be NULL: advanced by merges, total vocab_size */
} tok_bpe_params;

typedef struct tok_bpe_merge_rec {
    int32_t a, b;   /* the pair's ids */
    int32_t merged; /* the id of the concatenation */
} tok_bpe_merge_rec;

typedef struct tok_bpe_result {
    eco_arena strs;
    const char **tok; /* [n_tok] id → token (NUL-terminated, in strs) */
    uint32_t *tok_len;
    size_t n_tok, cap_tok;
    tok_bpe_merge_rec *merges; /* [n_merges] in the order made (a pair may repeat) */
    size_t n_merges, cap_merges;
} tok_bpe_result;

/* HF's BpeTrainer::do_train over the word counts wc (words in UTF-8; their order does not
 * matter: they are sorted first). out is filled (zero it first; free with
 * tok_bpe_result_free, also after a failure). */
eco_status tok_bpe_merge(const tok_bpe_params *p, const tok_wordcount *wc, tok_bpe_result *out);
void tok_bpe_result_free(tok_bpe_result *r);

/* ---- tokenizer.json -------------------------------------------------------------------- */

/* The tokenizer.json of a result: specials (ids 0..n_specials-1 in r) as added tokens, bos
 * (NULL or one of them) in a TemplateProcessing post-processor, else a ByteLevel one; the
 * merges by rank with a later duplicate of a pair winning (HF's HashMap of merges). *out is
 * malloc'd, NUL-terminated, ends in a newline; caller frees. */
eco_status tok_bpe_json(const tok_bpe_result *r, size_t n_specials, const char *bos, char **out,
                        size_t *len);
/* A tokenizer with exactly the normalizer and pre-tokenizer that tok_bpe_json writes (the
 * 256 byte tokens, no merges): what the trainer pre-tokenizes with. Caller frees. */
eco_status tok_bpe_skeleton(eco_tokenizer **out);

#endif
