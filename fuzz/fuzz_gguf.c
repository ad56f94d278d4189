/*
 * libFuzzer target: eco_gguf_open_memory over arbitrary bytes. On success every key is read
 * through every typed getter, every tensor's bytes are read (so ASan sees a view that strays
 * outside the image) and found by name, and the model mapping runs on it: the config, the
 * rebuilt tokenizer.json (parsed by the tokenizer) and the HF-named tensors (read too).
 * Seeds: scripts/make_gguf_seeds.py.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/gguf.h"
#include "ecology/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eco_gguf *g = NULL;
    if (eco_gguf_open_memory(data, size, "fuzz", &g) != ECO_STATUS_OK) return 0;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < eco_gguf_kv_count(g); i++) {
        const char *k = eco_gguf_kv_key(g, i);
        if (eco_gguf_find_key(g, k) != (int64_t)i) __builtin_trap();
        int64_t v;
        double d;
        bool b;
        eco_gguf_str s;
        const eco_gguf_str *items;
        uint64_t n;
        int64_t *arr = NULL;
        if (eco_gguf_get_int(g, k, &v) == ECO_STATUS_OK) sink ^= (uint8_t)v;
        if (eco_gguf_get_float(g, k, &d) == ECO_STATUS_OK) sink ^= (uint8_t)(d != 0);
        if (eco_gguf_get_bool(g, k, &b) == ECO_STATUS_OK) sink ^= (uint8_t)b;
        if (eco_gguf_get_str(g, k, &s) == ECO_STATUS_OK)
            sink ^= (uint8_t)(s.len ? s.s[s.len - 1] : 0);
        if (eco_gguf_get_str_array(g, k, &items, &n) == ECO_STATUS_OK)
            for (uint64_t j = 0; j < n; j++) sink ^= (uint8_t)items[j].len;
        if (eco_gguf_get_int_array(g, k, &arr, &n) == ECO_STATUS_OK)
            for (uint64_t j = 0; j < n; j++) sink ^= (uint8_t)arr[j];
        free(arr);
    }
    for (size_t i = 0; i < eco_gguf_tensor_count(g); i++) {
        const eco_gguf_tensor *t = eco_gguf_tensor_at(g, i);
        const uint8_t *p = t->data;
        if (p < data || p + t->nbytes > data + size) __builtin_trap();
        for (size_t k = 0; k < t->nbytes; k++) sink ^= p[k];
        if (eco_gguf_find_tensor(g, t->name) != t) __builtin_trap();
    }
    eco_model_config cfg;
    (void)eco_gguf_model_config(g, &cfg);
    char *json = NULL;
    size_t len = 0;
    if (eco_gguf_tokenizer_json(g, &json, &len) == ECO_STATUS_OK) {
        eco_tokenizer *tok = NULL;
        if (eco_tokenizer_parse(json, len, "fuzz", &tok) == ECO_STATUS_OK) eco_tokenizer_free(tok);
        free(json);
    }
    eco_gguf_hf *hf = NULL;
    if (eco_gguf_hf_open(g, &hf) == ECO_STATUS_OK) {
        for (size_t i = 0; i < eco_gguf_hf_count(hf); i++) {
            const eco_tensor *t = eco_gguf_hf_get(hf, i);
            const uint8_t *p = t->data;
            for (size_t k = 0; k < t->nbytes; k++) sink ^= p[k];
        }
        eco_gguf_hf_free(hf);
    }
    (void)sink;
    eco_gguf_close(g);
    return 0;
}
