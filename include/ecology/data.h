/*
 * data: JSONL training corpora, tokenised, shuffled and packed into batches.
 *
 * Three pieces, each owning what it makes:
 *
 *  eco_data_corpus   the records of one JSONL file, checked line by line. Each non-blank
 *                    line is one JSON object, either {"prompt": str, "completion": str}
 *                    or {"text": str}; one kind per file (the first record decides; a
 *                    record of the other kind, or one holding both "text" and "prompt", is
 *                    an error naming its line). Other keys are ignored. Every bad line is
 *                    reported as "file:line: problem" (the first ECO_DATA_MAX_REPORTED in
 *                    the message, then a count). Lines longer than ECO_DATA_MAX_LINE and
 *                    files larger than ECO_DATA_MAX_FILE are refused; an empty corpus is
 *                    an error. The corpus SHA-256 is taken over its canonical content:
 *                    every record (all its keys) re-serialised by eco_json_canonical, one
 *                    per line ending in "\n", in file order, so white space and key order
 *                    do not change it.
 *
 *  eco_data_tokens   every record tokenised into one flat id array with a per-token loss
 *                    mask: loss[j] = 1 when token j is a training target (predicted from
 *                    the tokens before it). prompt/completion: encode(prompt, specials on,
 *                    so BOS per the tokenizer's post-processor) ++ encode(completion,
 *                    specials off) ++ [eos]; the mask covers the completion tokens and the
 *                    EOS only. text: encode(text, specials on) ++ [eos]; every token but
 *                    the first is a target. (Prompt and completion are encoded separately,
 *                    as SFT trainers do, so the boundary never merges across them. Text
 *                    that spells a special token, e.g. "<|eos|>", is encoded as that
 *                    token, as Hugging Face tokenizers do by default.)
 *
 *  eco_data_loader   batches of B rows of T+1 tokens: inputs = row[0..T), targets =
 *                    row[1..T], mask aligned to targets. Each epoch shuffles the examples
 *                    with Fisher-Yates on eco_rng seeded from (seed, epoch) and packs them:
 *                      ECO_DATA_PACK_WHOLE   whole examples per row, greedily in shuffled
 *                                            order, the rest of a row padded (pad_id,
 *                                            mask 0); an example longer than T+1 tokens is
 *                                            cut to its first T+1 (counted in
 *                                            n_truncated). No prompt is ever separated from
 *                                            its completion.
 *                      ECO_DATA_PACK_STREAM  all examples concatenated (each already ends in
 *                                            EOS) and cut into windows of T+1 with stride T,
 *                                            so every token is a target exactly once; the
 *                                            last window is padded.
 *                    In both modes attention may see earlier documents in the same row, as
 *                    with most packers, and the EOS between documents is the separator the
 *                    model learns; eco_data_loader_next_pos gives each token's position in
 *                    its document, with which eco_train_forward_pos keeps each document's
 *                    attention to itself (the trainer's doc_mask). ECO_DATA_PACK_AUTO picks
 *                    WHOLE for prompt/completion corpora and STREAM for text corpora. A batch that
 *                    runs past the end of an epoch continues into the next one.
 *                    The position (epoch, row) says which row comes next: saving it with a
 *                    checkpoint and seeking back to it replays exactly the same batches.
 */
#ifndef ECOLOGY_DATA_H
#define ECOLOGY_DATA_H

#include "ecology/core.h"
#include "ecology/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECO_DATA_MAX_LINE     (4u * 1024u * 1024u)                /* bytes per JSONL line */
#define ECO_DATA_MAX_FILE     ((size_t)2 * 1024u * 1024u * 1024u) /* bytes per file */
#define ECO_DATA_MAX_RECORDS  ((size_t)1 << 31)
#define ECO_DATA_MAX_REPORTED 8 /* bad lines spelled out in the error message */

typedef enum eco_data_kind {
    ECO_DATA_KIND_PROMPT_COMPLETION = 0, /* {"prompt", "completion"} */
    ECO_DATA_KIND_TEXT = 1,              /* {"text"} */
} eco_data_kind;

typedef struct eco_data_record {
    const char *prompt; /* NULL for text records */
    size_t prompt_len;
    const char *text; /* the completion, or the text; may hold NUL bytes */
    size_t text_len;
    int64_t line; /* 1-based line in the file */
} eco_data_record;

typedef struct eco_data_corpus {
    eco_data_kind kind;
    size_t n_records;
    eco_data_record *records;       /* [n_records], file order */
    uint8_t sha256[ECO_SHA256_LEN]; /* over the canonical content (see above) */
    char sha256_hex[ECO_SHA256_HEX_LEN + 1];
    eco_arena arena; /* owns the strings */
} eco_data_corpus;

/* Parses JSONL text (label names the source: "train.jsonl" in "train.jsonl:7: ...").
 * EFORMAT listing the bad lines, ERANGE for a line or file over its limit. On success
 * *out is owned by the caller (eco_data_corpus_free). */
eco_status eco_data_corpus_parse(const char *text, size_t len, const char *label,
                                 eco_data_corpus **out);
/* Reads and parses a file (ENOTFOUND when absent). */
eco_status eco_data_corpus_load(const char *path, eco_data_corpus **out);
void eco_data_corpus_free(eco_data_corpus *c);

typedef struct eco_data_tokens {
    eco_data_kind kind;
    size_t n_examples;
    size_t *offsets; /* [n_examples + 1]: example i is ids[offsets[i] .. offsets[i+1]) */
    int32_t *ids;    /* [n_tokens] */
    uint8_t *loss;   /* [n_tokens]: 1 when the token is a training target */
    size_t n_tokens;
    size_t n_targets; /* sum of loss */
} eco_data_tokens;

/* Tokenises a corpus (see above). eos_id must be a valid id of tok. The caller owns *out
 * (eco_data_tokens_free). EINVAL for a bad eos_id; errors from the tokenizer name the line. */
eco_status eco_data_tokenize(const eco_data_corpus *corpus, const eco_tokenizer *tok,
                             int32_t eos_id, eco_data_tokens **out);
void eco_data_tokens_free(eco_data_tokens *t);

typedef enum eco_data_pack {
    ECO_DATA_PACK_AUTO = 0,
    ECO_DATA_PACK_WHOLE = 1,
    ECO_DATA_PACK_STREAM = 2,
} eco_data_pack;

typedef struct eco_data_loader_options {
    int64_t batch; /* B rows per batch, >= 1 */
    int64_t seq;   /* T tokens of input per row, >= 1 */
    uint64_t seed; /* shuffling seed */
    bool shuffle;  /* false keeps file order every epoch */
    eco_data_pack pack;
    int32_t pad_id; /* fills the rest of a row (never a target) */
} eco_data_loader_options;

/* Where the next row comes from. */
typedef struct eco_data_pos {
    int64_t epoch;
    int64_t row; /* row index within that epoch's packing */
} eco_data_pos;

typedef struct eco_data_loader eco_data_loader;

/* `tokens` must outlive the loader. EINVAL for bad options or a corpus with no example. */
eco_status eco_data_loader_create(const eco_data_tokens *tokens, const eco_data_loader_options *opt,
                                  eco_data_loader **out);
void eco_data_loader_free(eco_data_loader *l);
/* Fills one batch: inputs[B*T], targets[B*T] (ids) and mask[B*T] (1 where the target
 * counts in the loss), row-major [B, T]. *n_targets (may be NULL) gets the mask's sum.
 * Advances the position by B rows. */
eco_status eco_data_loader_next(eco_data_loader *l, int32_t *inputs, int32_t *targets,
                                uint8_t *mask, int64_t *n_targets);
/* eco_data_loader_next, also filling positions[B*T] (may be NULL) with each input token's
 * position within its document: 0 where an example starts in the row (or its part in this
 * row, STREAM mode), counting up from there; the padding after the last example counts as
 * one more document. For eco_train_forward_pos. */
eco_status eco_data_loader_next_pos(eco_data_loader *l, int32_t *inputs, int32_t *targets,
                                    uint8_t *mask, int32_t *positions, int64_t *n_targets);
eco_data_pos eco_data_loader_tell(const eco_data_loader *l);
/* Moves to a position told before (same tokens and options). ERANGE when row is past the
 * end of that epoch or epoch < 0. */
eco_status eco_data_loader_seek(eco_data_loader *l, eco_data_pos pos);
/* Rows in the current epoch's packing (depends on the epoch's order in WHOLE mode). */
int64_t eco_data_loader_epoch_rows(const eco_data_loader *l);
/* Examples cut to T+1 tokens in the current epoch's packing (WHOLE mode). */
int64_t eco_data_loader_truncated(const eco_data_loader *l);
/* The pack mode in effect (AUTO resolved). */
eco_data_pack eco_data_loader_pack(const eco_data_loader *l);

/* How the examples fit the loader's rows (WHOLE packing; in STREAM packing no example is
 * cut and none loses its targets). An example with no target token at all is not counted. */
typedef struct eco_data_fit {
    int64_t n_examples; /* examples with at least one target */
    int64_t n_cut;      /* of those, longer than seq + 1 tokens: cut to their first seq + 1 */
    int64_t n_lost;     /* of those, cut before their first target: they train nothing */
    int64_t seq_keep;   /* the smallest seq at which every example keeps a target */
    int64_t seq_whole;  /* the smallest seq at which every example fits whole */
} eco_data_fit;
/* Fills *out for the loader's tokens, seq and pack mode (O(tokens)). */
void eco_data_loader_fit(const eco_data_loader *l, eco_data_fit *out);
/* Looks at the next n_batches batches without moving the position (it builds their rows:
 * O(n_batches · B · T)): *first_empty gets the index (0 = the next batch) of the first
 * with no target token, or -1 when every one has one. EINVAL for a NULL argument. */
eco_status eco_data_loader_find_empty(eco_data_loader *l, int64_t n_batches, int64_t *first_empty);

#ifdef __cplusplus
}
#endif
#endif
