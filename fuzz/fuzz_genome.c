/*
 * libFuzzer target: eco_genome_parse over arbitrary bytes. An accepted genome must write
 * (eco_genome_to_canonical never refuses what the parser accepted), its canonical text must
 * parse back, and the second canonical text must be byte-identical to the first; the hash
 * must succeed. Anything else traps.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eco_genome g, h;
    if (eco_genome_parse((const char *)data, size, "fuzz", &g) != ECO_STATUS_OK) return 0;
    char *c1 = NULL, *c2 = NULL;
    size_t n1 = 0, n2 = 0;
    if (eco_genome_to_canonical(&g, &c1, &n1) != ECO_STATUS_OK) __builtin_trap();
    if (eco_genome_parse(c1, n1, "fuzz-rt", &h) != ECO_STATUS_OK) __builtin_trap();
    if (eco_genome_to_canonical(&h, &c2, &n2) != ECO_STATUS_OK) __builtin_trap();
    if (n1 != n2 || memcmp(c1, c2, n1) != 0) __builtin_trap();
    char hex[ECO_SHA256_HEX_LEN + 1];
    if (eco_genome_hash(&h, hex) != ECO_STATUS_OK) __builtin_trap();
    /* Fields the codec promises. */
    if (!eco_model_id_ok(g.id) || (g.base && !eco_model_id_ok(g.base)) || g.n_params < 0)
        __builtin_trap();
    for (size_t i = 0; i < g.n_parents; i++)
        if (!eco_model_id_ok(g.parents[i])) __builtin_trap();
    free(c1);
    free(c2);
    eco_genome_free(&g);
    eco_genome_free(&h);
    return 0;
}
