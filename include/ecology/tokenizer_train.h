/*
 * tokenizer_train: a byte-level BPE tokenizer trainer, as Hugging Face tokenizers'
 * BpeTrainer does it (src/models/bpe/trainer.rs and word.rs), writing a standard
 * tokenizer.json that this project's loader and any other implementation read.
 *
 * How the pieces fit (src/tokenizer/bpe_train_*.c):
 *   corpus   files (or texts) streamed line by line, each line with its '\n' as HF's
 *            read_line gives it; invalid UTF-8 is refused naming the file and line, an
 *            empty file is refused (bpe_train_corpus.c)
 *   count    each line through the project's own ByteLevel pre-tokenizer (GPT-2 regex, no
 *            prefix space: tokenizer_encode.c's pipeline, so training and encoding cut words
 *            identically), words counted by several threads in maps of their own, merged at
 *            the end (bpe_train_count.c)
 *   merge    special tokens take the first ids (in the order given), then the alphabet (the
 *            256 ByteLevel characters and any other character seen, by code point), then one
 *            token per merge: the most frequent adjacent pair, ties to the smallest (left id,
 *            right id), counts kept up to date word by word exactly as HF's trainer does,
 *            until the vocabulary holds vocab_size tokens, no pair is left, or the best
 *            pair's count is below min_frequency (bpe_train_merge.c)
 *   write    tokenizer.json: ByteLevel pre-tokenizer and decoder, the specials as added
 *            tokens, a TemplateProcessing post-processor adding BOS when one is named (else
 *            ByteLevel), model BPE with the vocabulary by id and merges as [a, b] pairs by
 *            rank (bpe_train_json.c)
 *
 * Output is deterministic: the same corpus and options give the same bytes whatever the
 * thread count. Words are counted exactly as HF counts them, and the merge sequence equals
 * HF's (its one source of freedom, the order of heap entries equal in count and pair, does
 * not change the merges). Pair counts are 64-bit where HF's are i32 (HF would overflow past
 * 2^31 occurrences of one pair).
 */
#ifndef ECOLOGY_TOKENIZER_TRAIN_H
#define ECOLOGY_TOKENIZER_TRAIN_H

#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest vocabulary the trainer makes (ids are int32 in tokenizer.json readers). */
#define ECO_BPE_TRAIN_MAX_VOCAB (1 << 24)
/* Longest line of a corpus (a line is held whole in memory). */
#define ECO_BPE_TRAIN_MAX_LINE  ((size_t)1 << 30)

typedef struct eco_bpe_train_options {
    /* tokens in the result, specials included; at least n_specials + 256 (the bytes) */
    int64_t vocab_size;
    /* a pair seen fewer times is not merged (0: no floor) */
    uint64_t min_frequency;
    /* special tokens, ids 0.. in this order (borrowed): non-empty UTF-8, distinct, not one
     * byte character and not made only of byte characters beyond ASCII */
    const char *const *specials;
    size_t n_specials;
    /* NULL, or a special token the post-processor puts before every sequence (added to the
     * specials when missing) */
    const char *bos;
    /* counting threads; <= 0: eco_get_threads() */
    int threads;
    /* a progress line on stderr (eco_progress) */
    bool progress;
} eco_bpe_train_options;

/* What a run saw and made. */
typedef struct eco_bpe_train_stats {
    int64_t bytes;        /* corpus bytes read */
    int64_t lines;        /* lines read */
    int64_t words;        /* distinct pre-tokenized words */
    int64_t word_total;   /* words counted, with repetition */
    int64_t merges;       /* merges done (duplicates of a pair included, as HF makes them) */
    int64_t vocab_size;   /* tokens in the result */
    double count_seconds; /* reading and counting */
    double merge_seconds; /* the merge loop */
} eco_bpe_train_stats;

typedef struct eco_bpe_trainer eco_bpe_trainer;

/* A trainer with its options checked (ECO_STATUS_EINVAL naming the option: a vocabulary
 * below n_specials + 256 or above ECO_BPE_TRAIN_MAX_VOCAB, an empty, duplicate or invalid
 * UTF-8 special, or one that a byte-level vocabulary cannot hold apart from bytes: a single
 * byte character ("a", "Ġ"), or only byte characters beyond ASCII ("é" is byte 0xE9), which
 * the ByteLevel decoder would turn into those bytes). The options' strings are copied. Free with eco_bpe_trainer_free. */
eco_status eco_bpe_trainer_create(const eco_bpe_train_options *opt, eco_bpe_trainer **out);
void eco_bpe_trainer_free(eco_bpe_trainer *t);

/* Counts the words of a file, streamed line by line. ECO_STATUS_EIO when it cannot be read,
 * EFORMAT for invalid UTF-8 ("FILE: line N: invalid UTF-8 at byte B of the line") or an
 * empty file, ERANGE for a line longer than ECO_BPE_TRAIN_MAX_LINE. On failure the trainer
 * keeps what earlier calls counted, and none of this file. */
eco_status eco_bpe_trainer_feed_file(eco_bpe_trainer *t, const char *path);
/* The same over text[0..len) in memory; label names it in messages. */
eco_status eco_bpe_trainer_feed_text(eco_bpe_trainer *t, const char *label, const char *text,
                                     size_t len);

/* Runs the merges over everything fed and returns the tokenizer.json text (NUL-terminated,
 * ending in a newline; *json malloc'd, caller frees). ECO_STATUS_EINVAL when nothing was fed.
 * stats (may be NULL) receives the run's figures. May be called more than once. */
eco_status eco_bpe_trainer_finish(eco_bpe_trainer *t, char **json, size_t *len,
                                  eco_bpe_train_stats *stats);

/* One call: trains on the files (in order) and writes tokenizer.json to out_path atomically.
 * The folder of out_path must exist. */
eco_status eco_bpe_train_files(const eco_bpe_train_options *opt, const char *const *files,
                               size_t n_files, const char *out_path, eco_bpe_train_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
