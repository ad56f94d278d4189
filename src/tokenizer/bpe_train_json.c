/*
 * The trained tokenizer as a Hugging Face tokenizer.json (keys in HF's order, so that the
 * bytes are stable): version, truncation, padding, added_tokens (the specials), normalizer
 * null, pre_tokenizer ByteLevel (no prefix space, GPT-2 regex), post_processor
 * TemplateProcessing with BOS or ByteLevel, decoder ByteLevel, model BPE with the vocabulary
 * in id order and the merges as [a, b] pairs in rank order.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/bpe_train_internal.h"

static json_t *bytelevel(bool use_regex) {
    return json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0,
                     "trim_offsets", 1, "use_regex", use_regex);
}

static json_t *added_token(int32_t id, const char *content) {
    return json_pack("{s:i, s:s, s:b, s:b, s:b, s:b, s:b}", "id", (json_int_t)id, "content",
                     content, "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 0,
                     "special", 1);
}

static json_t *post_processor(const tok_bpe_result *r, const char *bos) {
    if (!bos) return bytelevel(true);
    int32_t id = -1;
    for (size_t i = 0; i < r->n_tok && id < 0; i++)
        if (strcmp(r->tok[i], bos) == 0) id = (int32_t)i;
    if (id < 0) return NULL;
    return json_pack("{s:s, s:[{s:{s:s, s:i}}, {s:{s:s, s:i}}],"
                     " s:[{s:{s:s, s:i}}, {s:{s:s, s:i}}, {s:{s:s, s:i}}],"
                     " s:{s:{s:s, s:[i], s:[s]}}}",
                     "type", "TemplateProcessing", "single", "SpecialToken", "id", bos, "type_id",
                     0, "Sequence", "id", "A", "type_id", 0, "pair", "SpecialToken", "id", bos,
                     "type_id", 0, "Sequence", "id", "A", "type_id", 0, "Sequence", "id", "B",
                     "type_id", 1, "special_tokens", bos, "id", bos, "ids", (json_int_t)id,
                     "tokens", bos);
}

/* Merges by rank: a pair made twice keeps its later rank (HF collects the merges into a
 * HashMap, where the later entry wins, and writes them sorted by rank). */
static json_t *merges_json(const tok_bpe_result *r) {
    json_t *arr = json_array();
    uint8_t *keep = calloc(r->n_merges ? r->n_merges : 1, 1);
    tok_pairmap seen = {0};
    bool ok = arr && keep;
    for (size_t i = r->n_merges; ok && i-- > 0;) {
        const tok_bpe_merge_rec *m = &r->merges[i];
        if (tok_pairmap_get(&seen, m->a, m->b)) continue;
        keep[i] = 1;
        ok = tok_pairmap_put(&seen, m->a, m->b, (int32_t)i, m->merged);
    }
    for (size_t i = 0; ok && i < r->n_merges; i++) {
        if (!keep[i]) continue;
        const tok_bpe_merge_rec *m = &r->merges[i];
        json_t *pair = json_pack("[s#, s#]", r->tok[m->a], (int)r->tok_len[m->a], r->tok[m->b],
                                 (int)r->tok_len[m->b]);
        ok = pair && json_array_append_new(arr, pair) == 0;
    }
    tok_pairmap_free(&seen);
    free(keep);
    if (!ok) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

eco_status tok_bpe_json(const tok_bpe_result *r, size_t n_specials, const char *bos, char **out,
                        size_t *len) {
    *out = NULL;
    *len = 0;
    json_t *vocab = json_object(), *added = json_array();
    bool ok = vocab && added;
    for (size_t i = 0; ok && i < r->n_tok; i++)
        ok =
            json_object_setn_new(vocab, r->tok[i], r->tok_len[i], json_integer((json_int_t)i)) == 0;
    for (size_t i = 0; ok && i < n_specials && i < r->n_tok; i++)
        ok = json_array_append_new(added, added_token((int32_t)i, r->tok[i])) == 0;
    json_t *merges = ok ? merges_json(r) : NULL;
    json_t *post = ok ? post_processor(r, bos) : NULL;
    json_t *root = NULL;
    if (ok && merges && post) {
        root = json_pack("{s:s, s:n, s:n, s:o, s:n, s:o, s:o, s:o, s:{s:s, s:n, s:n, s:n, s:n, "
                         "s:b, s:b, s:b, s:o, s:o}}",
                         "version", "1.0", "truncation", "padding", "added_tokens", added,
                         "normalizer", "pre_tokenizer", bytelevel(true), "post_processor", post,
                         "decoder", bytelevel(true), "model", "type", "BPE", "dropout", "unk_token",
                         "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0,
                         "byte_fallback", 0, "ignore_merges", 0, "vocab", vocab, "merges", merges);
        added = vocab = merges = post = NULL; /* stolen by json_pack, also on failure */
    }
    json_decref(vocab);
    json_decref(added);
    json_decref(merges);
    json_decref(post);
    if (!root)
        return eco_error(ECO_STATUS_ENOMEM, "tokenizer train: building tokenizer.json failed");
    eco_status st = eco_json_dumps_line(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER,
                                        "tokenizer train: tokenizer.json", out, len);
    json_decref(root);
    return st;
}

eco_status tok_bpe_skeleton(eco_tokenizer **out) {
    *out = NULL;
    tok_wordcount none = {0};
    tok_bpe_result r = {0};
    tok_bpe_params p = {.vocab_size = 256, .byte_alphabet = true};
    eco_status st = tok_bpe_merge(&p, &none, &r);
    char *json = NULL;
    size_t len = 0;
    if (st == ECO_STATUS_OK) st = tok_bpe_json(&r, 0, NULL, &json, &len);
    if (st == ECO_STATUS_OK) st = eco_tokenizer_parse(json, len, "tokenizer train skeleton", out);
    free(json);
    tok_bpe_result_free(&r);
    return st;
}
