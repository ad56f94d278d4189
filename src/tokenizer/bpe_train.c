/*
 * The BPE trainer's public face (include/ecology/tokenizer_train.h): options checked once,
 * each fed file or text counted into a counter of its own and added to the trainer's word
 * counts only when the whole input was read (a refused file leaves nothing behind), then
 * the merge loop and the tokenizer.json.
 */
#include <stdlib.h>
#include <string.h>

#include "ecology/tokenizer_train.h"
#include "tokenizer/bpe_train_internal.h"

/* Bytes of whole lines handed to the counting threads at once. */
#define BATCH_BYTES ((size_t)4 << 20)

struct eco_bpe_trainer {
    int64_t vocab_size;
    uint64_t min_frequency;
    char **specials; /* [n_specials] owned */
    size_t n_specials;
    char *bos; /* owned or NULL */
    int threads;
    bool progress;
    eco_tokenizer *skeleton;
    tok_wordcount words;
    int64_t bytes, lines;
    double count_seconds;
};

/* A special token must be non-empty UTF-8, and not one of the 256 ByteLevel characters: it
 * would take that byte token's id (HF lets it), so the byte would decode as the special's
 * text. what names it in messages. */
static eco_status check_special(const eco_tokenizer *skel, const char *s, const char *what) {
    size_t n = strlen(s);
    if (n == 0) return eco_error(ECO_STATUS_EINVAL, "tokenizer train: %s is empty", what);
    if (eco_utf8_valid_prefix(s, n) != n)
        return eco_error(ECO_STATUS_EINVAL, "tokenizer train: %s is not UTF-8", what);
    if (eco_tokenizer_token_id(skel, s) >= 0)
        return eco_error(ECO_STATUS_EINVAL,
                         "tokenizer train: %s '%s' is the character of a byte token (it would "
                         "stand for that byte too)",
                         what, s);
    /* The ByteLevel decoder (HF's too) turns a token made only of byte characters into those
     * bytes: beyond ASCII that is not the token's own text ("é" stands for byte 0xE9). */
    bool all_byte_chars = true, ascii = true;
    for (size_t k = 0; k < n && all_byte_chars;) {
        uint32_t cp;
        size_t l = eco_utf8_decode(s + k, n - k, &cp);
        all_byte_chars = tok_char_to_byte(cp) >= 0;
        ascii &= cp < 0x80;
        k += l;
    }
    if (all_byte_chars && !ascii)
        return eco_error(ECO_STATUS_EINVAL,
                         "tokenizer train: %s '%s' would not decode to itself: every character "
                         "of it stands for a byte in a byte-level vocabulary",
                         what, s);
    return ECO_STATUS_OK;
}

static eco_status check_options(const eco_bpe_train_options *opt, const eco_tokenizer *skel) {
    if (opt->n_specials && !opt->specials)
        return eco_error(ECO_STATUS_EINVAL, "tokenizer train: no special tokens given");
    for (size_t i = 0; i < opt->n_specials; i++) {
        char what[48];
        snprintf(what, sizeof what, "special token %zu", i + 1);
        if (!opt->specials[i])
            return eco_error(ECO_STATUS_EINVAL, "tokenizer train: %s is NULL", what);
        eco_status st = check_special(skel, opt->specials[i], what);
        if (st != ECO_STATUS_OK) return st;
        for (size_t j = 0; j < i; j++)
            if (strcmp(opt->specials[i], opt->specials[j]) == 0)
                return eco_error(ECO_STATUS_EINVAL,
                                 "tokenizer train: special token '%s' is given twice",
                                 opt->specials[i]);
    }
    return opt->bos ? check_special(skel, opt->bos, "the BOS token") : ECO_STATUS_OK;
}

eco_status eco_bpe_trainer_create(const eco_bpe_train_options *opt, eco_bpe_trainer **out) {
    *out = NULL;
    if (!opt) return eco_error(ECO_STATUS_EINVAL, "tokenizer train: no options");
    eco_tokenizer *skel = NULL;
    eco_status st = tok_bpe_skeleton(&skel);
    if (st == ECO_STATUS_OK) st = check_options(opt, skel);
    size_t n_sp = opt->n_specials;
    bool add_bos = opt->bos != NULL;
    for (size_t i = 0; st == ECO_STATUS_OK && i < opt->n_specials; i++)
        if (opt->bos && strcmp(opt->bos, opt->specials[i]) == 0) add_bos = false;
    if (add_bos) n_sp++;
    if (st == ECO_STATUS_OK &&
        (opt->vocab_size < (int64_t)n_sp + 256 || opt->vocab_size > ECO_BPE_TRAIN_MAX_VOCAB))
        st = eco_error(ECO_STATUS_EINVAL,
                       "tokenizer train: vocab size %lld is outside [%lld, %d]: the %zu special "
                       "token(s) and the 256 byte tokens come first",
                       (long long)opt->vocab_size, (long long)n_sp + 256, ECO_BPE_TRAIN_MAX_VOCAB,
                       n_sp);
    eco_bpe_trainer *t = st == ECO_STATUS_OK ? calloc(1, sizeof *t) : NULL;
    if (st == ECO_STATUS_OK && !t)
        st = eco_error(ECO_STATUS_ENOMEM, "tokenizer train: out of memory");
    if (st != ECO_STATUS_OK) {
        eco_tokenizer_free(skel);
        return st;
    }
    t->skeleton = skel;
    eco_arena_init(&t->words.keys, 0);
    t->vocab_size = opt->vocab_size;
    t->min_frequency = opt->min_frequency;
    t->threads = opt->threads > 0 ? opt->threads : eco_get_threads();
    t->progress = opt->progress;
    t->specials = eco_calloc_array(n_sp ? n_sp : 1, sizeof *t->specials);
    bool ok = t->specials != NULL;
    for (size_t i = 0; ok && i < opt->n_specials; i++)
        ok = (t->specials[t->n_specials++] = eco_strdup(opt->specials[i])) != NULL;
    if (ok && add_bos) ok = (t->specials[t->n_specials++] = eco_strdup(opt->bos)) != NULL;
    if (ok && opt->bos) ok = (t->bos = eco_strdup(opt->bos)) != NULL;
    if (!ok) {
        eco_bpe_trainer_free(t);
        return eco_error(ECO_STATUS_ENOMEM, "tokenizer train: out of memory");
    }
    *out = t;
    return ECO_STATUS_OK;
}

void eco_bpe_trainer_free(eco_bpe_trainer *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n_specials; i++) free(t->specials[i]);
    free(t->specials);
    free(t->bos);
    eco_tokenizer_free(t->skeleton);
    tok_wordcount_free(&t->words);
    free(t);
}

static eco_status on_lines(void *ctx, const char *data, const size_t *ends, size_t n,
                           int64_t first_line) {
    (void)first_line;
    return tok_counter_lines(ctx, data, ends, n);
}

/* Streams one input (a file when text is NULL) into a fresh counter, then adds its counts. */
static eco_status feed(eco_bpe_trainer *t, const char *label, const char *text, size_t len,
                       bool is_file) {
    if (!t || !label) return eco_error(ECO_STATUS_EINVAL, "tokenizer train: feed: no input");
    double t0 = eco_now();
    tok_counter *c;
    eco_status st = tok_counter_create(t->skeleton, t->threads, &c);
    if (st != ECO_STATUS_OK) return st;
    int64_t lines = 0, bytes = 0;
    eco_progress prog;
    bool show = t->progress && is_file;
    if (show) {
        FILE *fp = fopen(label, "rb");
        double size = 0;
        if (fp && fseeko(fp, 0, SEEK_END) == 0) size = (double)ftello(fp);
        if (fp) fclose(fp);
        eco_progress_begin(&prog, "counting words", size, "B");
    }
    if (is_file)
        st = tok_corpus_stream_file(label, BATCH_BYTES, on_lines, c, show ? &prog : NULL, &lines,
                                    &bytes);
    else
        st = tok_corpus_stream_text(label, text, len, BATCH_BYTES, on_lines, c, &lines, &bytes);
    if (show) eco_progress_end(&prog);
    if (st == ECO_STATUS_OK) st = tok_counter_collect(c, &t->words);
    tok_counter_free(c);
    if (st != ECO_STATUS_OK) return st;
    t->lines += lines;
    t->bytes += bytes;
    t->count_seconds += eco_now() - t0;
    return ECO_STATUS_OK;
}

eco_status eco_bpe_trainer_feed_file(eco_bpe_trainer *t, const char *path) {
    return feed(t, path, NULL, 0, true);
}

eco_status eco_bpe_trainer_feed_text(eco_bpe_trainer *t, const char *label, const char *text,
                                     size_t len) {
    return feed(t, label, text, len, false);
}

eco_status eco_bpe_trainer_finish(eco_bpe_trainer *t, char **json, size_t *len,
                                  eco_bpe_train_stats *stats) {
    *json = NULL;
    *len = 0;
    if (!t) return eco_error(ECO_STATUS_EINVAL, "tokenizer train: no trainer");
    if (t->lines == 0) return eco_error(ECO_STATUS_EINVAL, "tokenizer train: no corpus was given");
    double t0 = eco_now();
    eco_progress prog;
    tok_bpe_params p = {.vocab_size = t->vocab_size,
                        .min_frequency = t->min_frequency,
                        .specials = (const char *const *)t->specials,
                        .n_specials = t->n_specials,
                        .byte_alphabet = true,
                        .progress = t->progress ? &prog : NULL};
    if (t->progress) eco_progress_begin(&prog, "merging", (double)t->vocab_size, "tokens");
    tok_bpe_result r = {0};
    eco_status st = tok_bpe_merge(&p, &t->words, &r);
    if (t->progress) eco_progress_end(&prog);
    if (st == ECO_STATUS_OK) st = tok_bpe_json(&r, t->n_specials, t->bos, json, len);
    if (st == ECO_STATUS_OK && stats) {
        *stats = (eco_bpe_train_stats){.bytes = t->bytes,
                                       .lines = t->lines,
                                       .words = (int64_t)t->words.n,
                                       .word_total = (int64_t)t->words.total,
                                       .merges = (int64_t)r.n_merges,
                                       .vocab_size = (int64_t)r.n_tok,
                                       .count_seconds = t->count_seconds,
                                       .merge_seconds = eco_now() - t0};
    }
    tok_bpe_result_free(&r);
    return st;
}

eco_status eco_bpe_train_files(const eco_bpe_train_options *opt, const char *const *files,
                               size_t n_files, const char *out_path, eco_bpe_train_stats *stats) {
    if (!out_path) return eco_error(ECO_STATUS_EINVAL, "tokenizer train: no output path");
    if (n_files == 0 || !files)
        return eco_error(ECO_STATUS_EINVAL, "tokenizer train: no corpus was given");
    eco_bpe_trainer *t;
    eco_status st = eco_bpe_trainer_create(opt, &t);
    if (st != ECO_STATUS_OK) return st;
    for (size_t i = 0; i < n_files && st == ECO_STATUS_OK; i++)
        st = eco_bpe_trainer_feed_file(t, files[i]);
    char *json = NULL;
    size_t len = 0;
    if (st == ECO_STATUS_OK) st = eco_bpe_trainer_finish(t, &json, &len, stats);
    if (st == ECO_STATUS_OK) st = eco_write_file_atomic(out_path, json, len);
    free(json);
    eco_bpe_trainer_free(t);
    return st;
}
