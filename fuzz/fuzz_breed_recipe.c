/*
 * libFuzzer target: eco_breed_recipe_parse over arbitrary bytes (a breeding recipe names
 * registered parents, operators and files; nothing is read or written while parsing). An
 * accepted recipe must hold what the parser promises: 1..ECO_BREED_MAX_PARENTS parents,
 * 1..ECO_BREED_MAX_STEPS steps of a known operator, each with 1..ECO_BREED_MAX_INPUTS
 * inputs that name a parent or an EARLIER step, a params object, a seed in range, and a
 * base (when any) that is a parent, an earlier step or an id.
 */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ecology/breed_recipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ref(const eco_breed_recipe *r, size_t step, const eco_breed_ref *ref) {
    switch (ref->kind) {
        case ECO_BREED_REF_PARENT:
            if (ref->index < 0 || (size_t)ref->index >= r->n_parents) __builtin_trap();
            break;
        case ECO_BREED_REF_STEP:
            if (ref->index < 0 || (size_t)ref->index >= step) __builtin_trap();
            break;
        case ECO_BREED_REF_ID:
            if (!ref->id || !ref->id[0]) __builtin_trap();
            break;
        default:
            __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eco_breed_recipe *r = NULL;
    if (eco_breed_recipe_parse((const char *)data, size, "fuzz", &r) != ECO_STATUS_OK) {
        if (r) __builtin_trap();
        return 0;
    }
    if (!r || !r->name[0] || r->n_parents == 0 || r->n_parents > ECO_BREED_MAX_PARENTS ||
        r->n_steps == 0 || r->n_steps > ECO_BREED_MAX_STEPS || !r->doc)
        __builtin_trap();
    for (size_t i = 0; i < r->n_steps; i++) {
        const eco_breed_step *s = &r->steps[i];
        if (!eco_breed_op_name(s->op) || !json_is_object(s->params)) __builtin_trap();
        if (s->n_inputs == 0 || s->n_inputs > ECO_BREED_MAX_INPUTS) __builtin_trap();
        if (s->seed > (uint64_t)ECO_BREED_SEED_MAX) __builtin_trap();
        if (eco_breed_op_draws(s->op) && !s->seed_given) __builtin_trap();
        for (size_t k = 0; k < s->n_inputs; k++) {
            if (s->inputs[k].kind == ECO_BREED_REF_ID) __builtin_trap();
            check_ref(r, i, &s->inputs[k]);
        }
        if (s->has_base) check_ref(r, i, &s->base);
        if ((s->op == ECO_BREED_OP_FINETUNE && !s->n_files && !r->n_corpus) ||
            (s->op == ECO_BREED_OP_DISTILL && !r->n_corpus))
            __builtin_trap();
    }
    eco_breed_recipe_free(r);
    return 0;
}
