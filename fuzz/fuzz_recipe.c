/*
 * libFuzzer target: eco_recipe_parse over arbitrary bytes (a recipe names files, a model
 * folder and capabilities; nothing is read or written while parsing). An accepted recipe
 * must hold what the parser promises: 1..ECO_RECIPE_MAX_SOURCES sources of exactly one
 * kind each, positive steps, batch and seq, and warmup within the steps.
 */
#include <stddef.h>
#include <stdint.h>

#include "ecology/recipe.h"
#include "ecology/trainer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eco_recipe *r = NULL;
    if (eco_recipe_parse((const char *)data, size, "fuzz", "/base", &r) != ECO_STATUS_OK) {
        if (r) __builtin_trap();
        return 0;
    }
    if (!r || r->n_sources == 0 || r->n_sources > ECO_RECIPE_MAX_SOURCES) __builtin_trap();
    for (size_t i = 0; i < r->n_sources; i++) {
        const eco_recipe_source *s = &r->sources[i];
        int kinds = (s->path != NULL) + (s->capability[0] != 0) + (s->drill[0] != 0);
        if (kinds != 1) __builtin_trap();
        if (r->kind == ECO_RECIPE_LORA && !s->capability[0]) __builtin_trap();
        if (!s->path && s->n < 1) __builtin_trap();
    }
    if (r->steps < 1 || r->batch < 1 || r->seq < 1 || r->warmup < 0 || r->warmup > r->steps)
        __builtin_trap();
    if (r->kind == ECO_RECIPE_LORA && !r->base_model) __builtin_trap();
    eco_recipe_free(r);
    return 0;
}
