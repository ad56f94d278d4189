/*
 * libFuzzer target: encode arbitrary bytes with fixed small tokenizers, decode, and check
 * the round trip:
 *   byte 0 of the input picks the tokenizer and add_special; the rest is the text.
 *   - the project's byte tokenizer: decode(encode(x)) == x, byte for byte, always;
 *   - a byte-level BPE (NFC, the Qwen/Llama 3 split regex, merges, added tokens):
 *     decode(encode(x)) == NFC(x);
 *   - a SentencePiece-style BPE (Prepend/Replace, byte fallback): decode(encode(x)) == x
 *     unless x holds "▁" or an added token's text (which that format cannot give back).
 * Also: NFC is idempotent, and the quick check never says "already NFC" wrongly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/tokenizer.h"
#include "tokenizer/tokenizer_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static eco_tokenizer *toks[3];

static const char BPE_JSON[] =
    "{\"added_tokens\":[{\"id\":20,\"content\":\"<|e|>\",\"special\":true,\"normalized\":false},"
    "{\"id\":21,\"content\":\"<t>\",\"special\":false,\"normalized\":false}],"
    "\"normalizer\":{\"type\":\"NFC\"},"
    "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{"
    "\"Regex\":"
    "\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| "
    "?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*"
    "|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},\"behavior\":\"Isolated\",\"invert\":false},"
    "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":false}]},"
    "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<|"
    "e|>\"}},"
    "{\"Sequence\":{\"id\":\"A\"}}],\"special_tokens\":{\"<|e|>\":{\"ids\":[20]}}},"
    "\"decoder\":{\"type\":\"ByteLevel\"},"
    "\"model\":{\"type\":\"BPE\",\"vocab\":VOCAB,\"merges\":[[\"a\",\"b\"],[\"\xc4\xa0\",\"a\"],["
    "\"ab\",\"c\"]]}}";

static const char SP_JSON[] =
    "{\"added_tokens\":[{\"id\":0,\"content\":\"<unk>\",\"special\":true},{\"id\":1,\"content\":\"<"
    "s>\","
    "\"special\":true},{\"id\":2,\"content\":\"</s>\",\"special\":true}],"
    "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":"
    "\"\xe2\x96\x81\"},"
    "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\xe2\x96\x81\"}]},"
    "\"pre_tokenizer\":null,"
    "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<"
    "s>\"}},"
    "{\"Sequence\":{\"id\":\"A\"}}],\"special_tokens\":{\"<s>\":{\"ids\":[1]}}},"
    "\"decoder\":{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{"
    "\"String\":\"\xe2\x96\x81\"},"
    "\"content\":\" "
    "\"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \","
    "\"start\":1,\"stop\":0}]},"
    "\"model\":{\"type\":\"BPE\",\"unk_token\":\"<unk>\",\"fuse_unk\":true,\"byte_fallback\":true,"
    "\"vocab\":VOCAB,"
    "\"merges\":[\"\xe2\x96\x81 t\",\"h e\",\"\xe2\x96\x81t he\",\"\xe2\x96\x81 a\"]}}";

/* Replaces VOCAB in tmpl by the vocabulary that fits it. */
static char *with_vocab(const char *tmpl, bool bytelevel) {
    eco_tokenizer tmp;
    tok_init_byte_table(&tmp);
    eco_buf v = {0};
    char num[32];
    eco_buf_push(&v, '{');
    if (bytelevel) {
        /* byte b is id 22 + b; merged tokens after */
        for (int b = 0; b < 256; b++) {
            eco_buf_append(&v, b ? ",\"" : "\"", b ? 2 : 1);
            if (tmp.byte_char[b][0] == '"' || tmp.byte_char[b][0] == '\\') eco_buf_push(&v, '\\');
            eco_buf_append(&v, tmp.byte_char[b], tmp.byte_char_len[b]);
            snprintf(num, sizeof num, "\":%d", 22 + b);
            eco_buf_append(&v, num, strlen(num));
        }
        const char *more = ",\"ab\":278,\"\xc4\xa0"
                           "a\":279,\"abc\":280";
        eco_buf_append(&v, more, strlen(more));
    } else {
        eco_buf_append(&v, "\"<unk>\":0,\"<s>\":1,\"</s>\":2", 26);
        for (int b = 0; b < 256; b++) {
            snprintf(num, sizeof num, ",\"<0x%02X>\":%d", b, 3 + b);
            eco_buf_append(&v, num, strlen(num));
        }
        const char *more =
            ",\"\xe2\x96\x81\":259,\"t\":260,\"h\":261,\"e\":262,\"a\":263,\"\xe2\x96\x81t\":264,"
            "\"he\":265,\"\xe2\x96\x81the\":266,\"\xe2\x96\x81"
            "a\":267";
        eco_buf_append(&v, more, strlen(more));
    }
    eco_buf_push(&v, '}');
    const char *at = strstr(tmpl, "VOCAB");
    eco_buf out = {0};
    eco_buf_append(&out, tmpl, (size_t)(at - tmpl));
    eco_buf_append(&out, v.data, v.len);
    eco_buf_append(&out, at + 5, strlen(at + 5));
    eco_buf_free(&v);
    return out.data;
}

static void init(void) {
    char *j = NULL;
    if (tok_byte_tokenizer_json(&j) != ECO_STATUS_OK ||
        eco_tokenizer_parse(j, strlen(j), "bytes", &toks[0]) != ECO_STATUS_OK)
        __builtin_trap();
    free(j);
    j = with_vocab(BPE_JSON, true);
    if (eco_tokenizer_parse(j, strlen(j), "bpe", &toks[1]) != ECO_STATUS_OK) {
        fprintf(stderr, "%s\n", eco_last_error());
        __builtin_trap();
    }
    free(j);
    j = with_vocab(SP_JSON, false);
    if (eco_tokenizer_parse(j, strlen(j), "sp", &toks[2]) != ECO_STATUS_OK) {
        fprintf(stderr, "%s\n", eco_last_error());
        __builtin_trap();
    }
    free(j);
}

static bool contains(const char *s, size_t n, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(s + i, needle, k) == 0) return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!toks[0]) init();
    if (size == 0) return 0;
    int which = data[0] % 3;
    bool special = (data[0] >> 2) & 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    const eco_tokenizer *tok = toks[which];

    int32_t *ids = NULL;
    size_t n = 0;
    if (eco_tokenizer_encode(tok, text, len, special, &ids, &n) != ECO_STATUS_OK) __builtin_trap();
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= eco_tokenizer_vocab_size(tok)) __builtin_trap();
    char *back = NULL;
    size_t blen = 0;
    if (eco_tokenizer_decode(tok, ids, n, true, &back, &blen) != ECO_STATUS_OK) __builtin_trap();

    eco_buf want = {0};
    bool check = true;
    if (which == 1) {
        if (tok_nfc(text, len, &want) != ECO_STATUS_OK) __builtin_trap();
        /* NFC is idempotent, and the quick check agrees */
        eco_buf again = {0};
        if (tok_nfc(want.data ? want.data : "", want.len, &again) != ECO_STATUS_OK)
            __builtin_trap();
        if (again.len != want.len || (want.len && memcmp(again.data, want.data, want.len) != 0))
            __builtin_trap();
        if (tok_nfc_quick(text, len) &&
            (want.len != len || (len && memcmp(want.data, text, len) != 0)))
            __builtin_trap();
        eco_buf_free(&again);
        /* a special added token is skipped by decode */
        check = !contains(text, len, "<|e|>");
    } else {
        eco_buf_append(&want, text, len);
        if (which == 0)
            check = !contains(text, len, "<|bos|>") && !contains(text, len, "<|eos|>") &&
                    !contains(text, len, "<|pad|>");
        if (which == 2)
            check = !contains(text, len, "\xe2\x96\x81") && !contains(text, len, "<s>") &&
                    !contains(text, len, "</s>") && !contains(text, len, "<unk>");
    }
    if (check && (blen != want.len || (blen && memcmp(back, want.data, blen) != 0)))
        __builtin_trap();
    eco_buf_free(&want);
    free(back);
    free(ids);
    return 0;
}
