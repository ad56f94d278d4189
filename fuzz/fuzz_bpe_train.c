/*
 * libFuzzer target: the BPE trainer's input (a corpus text, hostile).
 *   byte 0 picks the options: vocab size 258 + 4 * (b & 63) (two specials, "<|s|>" and "日é",
 *   one of them the BOS when b & 64), min_frequency (b >> 7) * 2; the rest is the corpus.
 *   - invalid UTF-8 or an empty corpus is refused with EFORMAT, naming the line or "empty";
 *   - otherwise training succeeds; the tokenizer.json loads; its vocabulary holds at most the
 *     size asked for and at least the specials and the 256 bytes; 1 and 2 counting threads
 *     give the same bytes; decode(encode(corpus)) == corpus (specials included: they decode
 *     to their text).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/tokenizer.h"
#include "ecology/tokenizer_train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed property: what failed and the library's last message, then a trap. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_bpe_train: %s does not hold (%s)\n", #cond, eco_last_error());   \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

static char *train(const eco_bpe_train_options *opt, const char *text, size_t len, eco_status *st) {
    eco_bpe_trainer *t = NULL;
    char *json = NULL;
    size_t jl = 0;
    *st = eco_bpe_trainer_create(opt, &t);
    CHECK(*st == ECO_STATUS_OK);
    *st = eco_bpe_trainer_feed_text(t, "fuzz", text, len);
    if (*st == ECO_STATUS_OK) *st = eco_bpe_trainer_finish(t, &json, &jl, NULL);
    eco_bpe_trainer_free(t);
    return json;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 4096) return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    static const char *const specials[] = {"<|s|>", "\xe6\x97\xa5\xc3\xa9"};
    eco_bpe_train_options opt = {.vocab_size = 258 + 4 * (data[0] & 63),
                                 .min_frequency = (uint64_t)(data[0] >> 7) * 2,
                                 .specials = specials,
                                 .n_specials = 2,
                                 .bos = (data[0] & 64) ? "<|s|>" : NULL,
                                 .threads = 1};
    eco_status st;
    char *j1 = train(&opt, text, len, &st);
    bool valid = len > 0 && eco_utf8_valid_prefix(text, len) == len;
    if (!valid) {
        CHECK(st == ECO_STATUS_EFORMAT);
        CHECK(strstr(eco_last_error(), "fuzz: line ") || strstr(eco_last_error(), "fuzz: empty"));
        free(j1);
        return 0;
    }
    CHECK(st == ECO_STATUS_OK && j1);
    opt.threads = 2;
    char *j2 = train(&opt, text, len, &st);
    CHECK(st == ECO_STATUS_OK && j2);
    CHECK(strcmp(j1, j2) == 0);
    eco_tokenizer *tok = NULL;
    CHECK(eco_tokenizer_parse(j1, strlen(j1), "trained", &tok) == ECO_STATUS_OK);
    int64_t nv = eco_tokenizer_vocab_size(tok);
    CHECK(nv <= opt.vocab_size && nv >= 258); /* 2 specials + 256 bytes */
    CHECK(eco_tokenizer_token_id(tok, "<|s|>") == 0);
    CHECK(eco_tokenizer_token_id(tok, "\xe6\x97\xa5\xc3\xa9") == 1);
    int32_t *ids = NULL;
    size_t n = 0;
    char *back = NULL;
    size_t blen = 0;
    CHECK(eco_tokenizer_encode(tok, text, len, false, &ids, &n) == ECO_STATUS_OK);
    CHECK(eco_tokenizer_decode(tok, ids, n, false, &back, &blen) == ECO_STATUS_OK);
    CHECK(blen == len && memcmp(back, text, len) == 0);
    free(back);
    free(ids);
    eco_tokenizer_free(tok);
    free(j1);
    free(j2);
    return 0;
}
