/*
 * libFuzzer target: eco_tokenizer_parse over arbitrary bytes. A tokenizer that loads must
 * encode a fixed text and a slice of the input, and decode what it produced, without a
 * crash; ids from encode must be inside the vocabulary.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const eco_tokenizer *tok, const char *text, size_t len) {
    int32_t *ids = NULL;
    size_t n = 0;
    if (eco_tokenizer_encode(tok, text, len, true, &ids, &n) != ECO_STATUS_OK) return;
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= eco_tokenizer_vocab_size(tok)) __builtin_trap();
    char *out = NULL;
    size_t olen = 0;
    if (eco_tokenizer_decode(tok, ids, n, false, &out, &olen) == ECO_STATUS_OK && out[olen] != '\0')
        __builtin_trap();
    free(out);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eco_tokenizer *tok = NULL;
    if (eco_tokenizer_parse((const char *)data, size, "fuzz", &tok) != ECO_STATUS_OK) {
        if (tok) __builtin_trap();
        return 0;
    }
    static const char text[] =
        "Hello world! <s> caf\xc3\xa9 e\xcc\x81 \xff\xfe  \xe2\x96\x81x 123\n";
    exercise(tok, text, sizeof text - 1);
    exercise(tok, (const char *)data, size < 256 ? size : 256);
    eco_tokenizer_free(tok);
    return 0;
}
