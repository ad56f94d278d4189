/*
 * libFuzzer target: eco_data_corpus_parse over arbitrary bytes. An accepted corpus is
 * tokenised with the byte tokenizer and run through one epoch of the loader in stream
 * packing; every target of every example must be trained exactly once and targets must be
 * the inputs shifted by one. (Masks may cover BOS/PAD ids: text that spells "<|bos|>" is
 * encoded as that special token, as Hugging Face tokenizers do.)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/data.h"
#include "tokenizer/tokenizer_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static eco_tokenizer *tok;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tok) {
        char *j = NULL;
        if (tok_byte_tokenizer_json(&j) != ECO_STATUS_OK ||
            eco_tokenizer_parse(j, strlen(j), "bytes", &tok) != ECO_STATUS_OK)
            __builtin_trap();
        free(j);
    }
    eco_data_corpus *c = NULL;
    if (eco_data_corpus_parse((const char *)data, size, "fuzz.jsonl", &c) != ECO_STATUS_OK) {
        if (c) __builtin_trap();
        return 0;
    }
    if (c->n_records == 0) __builtin_trap();
    eco_data_tokens *t = NULL;
    if (eco_data_tokenize(c, tok, ECO_BYTE_TOKENIZER_EOS, &t) != ECO_STATUS_OK) __builtin_trap();
    int64_t T = 1 + (int64_t)(size % 13);
    eco_data_loader_options opt = {.batch = 1,
                                   .seq = T,
                                   .seed = size,
                                   .shuffle = true,
                                   .pack = ECO_DATA_PACK_STREAM,
                                   .pad_id = ECO_BYTE_TOKENIZER_PAD};
    eco_data_loader *l = NULL;
    if (eco_data_loader_create(t, &opt, &l) != ECO_STATUS_OK) __builtin_trap();
    int32_t *in = malloc((size_t)T * 4), *tg = malloc((size_t)T * 4);
    uint8_t *mask = malloc((size_t)T);
    int64_t rows = eco_data_loader_epoch_rows(l), total = 0;
    if (rows > 100000) rows = 0; /* keep iterations short; skip the check for huge inputs */
    for (int64_t r = 0; r < rows; r++) {
        int64_t n = 0;
        if (eco_data_loader_next(l, in, tg, mask, &n) != ECO_STATUS_OK) __builtin_trap();
        for (int64_t j = 0; j + 1 < T; j++)
            if (in[j + 1] != tg[j]) __builtin_trap();
        for (int64_t j = 0; j < T; j++)
            if (mask[j] > 1) __builtin_trap();
        total += n;
    }
    if (rows && total != (int64_t)t->n_targets) __builtin_trap();
    free(in), free(tg), free(mask);
    eco_data_loader_free(l);
    eco_data_tokens_free(t);
    eco_data_corpus_free(c);
    return 0;
}
