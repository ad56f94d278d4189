/*
 * libFuzzer target: eco_safetensors_open_memory over arbitrary bytes. On success every
 * tensor's bytes are read (so ASan sees any view that strays outside the image), every
 * name is looked up through the by-name index, and the metadata is walked.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ecology/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eco_safetensors *st = NULL;
    if (eco_safetensors_open_memory(data, size, "fuzz", &st) != ECO_STATUS_OK) return 0;
    volatile uint8_t sink = 0;
    size_t total = 0;
    for (size_t i = 0; i < eco_safetensors_count(st); i++) {
        const eco_tensor *t = eco_safetensors_get(st, i);
        const uint8_t *p = t->data;
        for (size_t k = 0; k < t->nbytes; k++) sink ^= p[k];
        total += t->nbytes;
        if (eco_safetensors_find(st, t->name) != t) __builtin_trap();
        if ((const uint8_t *)t->data < data || (const uint8_t *)t->data + t->nbytes > data + size)
            __builtin_trap();
    }
    const void *buf;
    size_t blen;
    eco_safetensors_buffer(st, &buf, &blen);
    if (total != blen) __builtin_trap();
    for (size_t i = 0; i < eco_safetensors_metadata_count(st); i++) {
        const char *k, *v;
        eco_safetensors_metadata_at(st, i, &k, &v);
        if (eco_safetensors_metadata(st, k) != v) __builtin_trap();
        sink ^= (uint8_t)strlen(v);
    }
    (void)sink;
    eco_safetensors_close(st);
    return 0;
}
