/*
 * The project's own byte tokenizer, written as a Hugging Face tokenizer.json: a byte-level
 * BPE with exactly 256 byte tokens (id b = byte b, spelled in GPT-2's byte → unicode
 * mapping), no merges, a ByteLevel pre-tokenizer without regex or prefix space, special
 * tokens <|bos|>=256, <|eos|>=257, <|pad|>=258, a TemplateProcessing post-processor that
 * puts <|bos|> before a single sequence, and a ByteLevel decoder. The output is
 * deterministic (keys in a fixed order), so its hash is stable.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

static json_t *bytelevel(void) {
    return json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0,
                     "trim_offsets", 1, "use_regex", 0);
}

static json_t *added(int id, const char *content) {
    return json_pack("{s:i, s:s, s:b, s:b, s:b, s:b, s:b}", "id", id, "content", content,
                     "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 0, "special", 1);
}

eco_status tok_byte_tokenizer_json(char **out) {
    eco_tokenizer tmp;
    tok_init_byte_table(&tmp);
    json_t *vocab = json_object();
    for (int b = 0; vocab && b < 256; b++) {
        char key[4];
        memcpy(key, tmp.byte_char[b], tmp.byte_char_len[b]);
        key[tmp.byte_char_len[b]] = '\0';
        if (json_object_set_new(vocab, key, json_integer(b)) != 0) {
            json_decref(vocab);
            vocab = NULL;
        }
    }
    json_t *bos_item = json_pack("{s:{s:s, s:i}}", "SpecialToken", "id", "<|bos|>", "type_id", 0);
    json_t *root = json_pack(
        "{s:s, s:n, s:n, s:[o,o,o], s:n, s:o, s:{s:s, s:[O,{s:{s:s,s:i}}], "
        "s:[O,{s:{s:s,s:i}},{s:{s:s,s:i}}],"
        " s:{s:{s:s, s:[i], s:[s]}}}, s:o, s:{s:s, s:n, s:n, s:n, s:n, s:b, s:b, s:b, s:o, s:[]}}",
        "version", "1.0", "truncation", "padding", "added_tokens",
        added(ECO_BYTE_TOKENIZER_BOS, "<|bos|>"), added(ECO_BYTE_TOKENIZER_EOS, "<|eos|>"),
        added(ECO_BYTE_TOKENIZER_PAD, "<|pad|>"), "normalizer", "pre_tokenizer", bytelevel(),
        "post_processor", "type", "TemplateProcessing", "single", bos_item, "Sequence", "id", "A",
        "type_id", 0, "pair", bos_item, "Sequence", "id", "A", "type_id", 0, "Sequence", "id", "B",
        "type_id", 1, "special_tokens", "<|bos|>", "id", "<|bos|>", "ids", ECO_BYTE_TOKENIZER_BOS,
        "tokens", "<|bos|>", "decoder", bytelevel(), "model", "type", "BPE", "dropout", "unk_token",
        "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0, "byte_fallback", 0,
        "ignore_merges", 0, "vocab", vocab, "merges");
    json_decref(bos_item);
    if (!root) return eco_error(ECO_STATUS_ENOMEM, "tokenizer: building the byte tokenizer failed");
    eco_status st = eco_json_dumps_line(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER,
                                        "tokenizer: the byte tokenizer", out, NULL);
    json_decref(root);
    return st;
}

eco_status eco_tokenizer_write_bytes(const char *path) {
    if (!path) return eco_error(ECO_STATUS_EINVAL, "tokenizer: write_bytes: no path");
    char *text = NULL;
    eco_status st = tok_byte_tokenizer_json(&text);
    if (st != ECO_STATUS_OK) return st;
    st = eco_write_file_atomic(path, text, strlen(text));
    free(text);
    return st;
}
