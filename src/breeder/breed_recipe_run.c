/*
 * Running a breeding recipe (breed_recipe.h's parsed file) as a chain of operators
 * (eco_breed_chain): steps, inputs and bases mapped onto chain references (a base named by
 * a registry id outside the recipe's parents becomes one more registered input), the
 * hard examples' resolved paths put in place of the written ones, the recipe's corpora
 * given to the steps that train.
 */
#include "breeder/breed_internal.h"
#include "ecology/breed_recipe.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* r's reference into a chain reference; a registry id outside the parents is appended to
 * ids (at most ECO_BREEDER_MAX_INPUTS - 1 in all). */
static eco_status map_ref(const eco_breed_ref *ref, const char **ids, size_t *n_ids,
                          eco_breed_chain_ref *out) {
    if (ref->kind == ECO_BREED_REF_STEP) {
        *out = (eco_breed_chain_ref){true, (size_t)ref->index};
        return ECO_STATUS_OK;
    }
    if (ref->kind == ECO_BREED_REF_PARENT) {
        *out = (eco_breed_chain_ref){false, (size_t)ref->index};
        return ECO_STATUS_OK;
    }
    for (size_t j = 0; j < *n_ids; j++)
        if (strcmp(ids[j], ref->id) == 0) {
            *out = (eco_breed_chain_ref){false, j};
            return ECO_STATUS_OK;
        }
    if (*n_ids + 1 >= ECO_BREEDER_MAX_INPUTS)
        return eco_error(ECO_STATUS_EINVAL, "recipe: more than %d registered inputs",
                         ECO_BREEDER_MAX_INPUTS - 1);
    ids[*n_ids] = ref->id;
    *out = (eco_breed_chain_ref){false, (*n_ids)++};
    return ECO_STATUS_OK;
}

eco_status eco_breed_recipe_run(eco_registry *r, const struct eco_breed_recipe *recipe,
                                const eco_breed_recipe_run_options *ro, eco_breed_result *res) {
    if (!r || !recipe) return eco_error(ECO_STATUS_EINVAL, "recipe: NULL argument");
    const eco_breed_recipe *rc = recipe;
    const char *ids[ECO_BREEDER_MAX_INPUTS];
    size_t n_ids = rc->n_parents;
    if (n_ids >= ECO_BREEDER_MAX_INPUTS)
        return eco_error(ECO_STATUS_EINVAL, "recipe: %zu parents", n_ids);
    for (size_t i = 0; i < n_ids; i++) ids[i] = rc->parents[i];
    eco_breed_chain_step *steps = eco_calloc_array(rc->n_steps, sizeof *steps);
    json_t **params = eco_calloc_array(rc->n_steps, sizeof *params);
    eco_status st =
        steps && params ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "recipe: out of memory");
    for (size_t i = 0; i < rc->n_steps && !st; i++) {
        const eco_breed_step *s = &rc->steps[i];
        eco_breed_chain_step *c = &steps[i];
        c->op = eco_breed_op_name(s->op);
        c->seed = s->seed;
        c->n_inputs = s->n_inputs;
        if (s->n_inputs == 0 || s->n_inputs >= ECO_BREEDER_MAX_INPUTS) {
            st = eco_error(ECO_STATUS_EINVAL, "recipe: steps[%zu]: %zu inputs", i, s->n_inputs);
            break;
        }
        for (size_t k = 0; k < s->n_inputs && !st; k++)
            st = map_ref(&s->inputs[k], ids, &n_ids, &c->inputs[k]);
        if (!st && s->has_base) {
            c->has_base = true;
            st = map_ref(&s->base, ids, &n_ids, &c->base);
        }
        if (st) break;
        /* base is a reference, resolved above; hard examples by their resolved paths */
        if (!(params[i] = json_deep_copy(s->params))) {
            st = eco_error(ECO_STATUS_ENOMEM, "recipe: out of memory");
            break;
        }
        json_object_del(params[i], "base");
        if (s->n_files) {
            json_t *hard = json_array();
            for (size_t k = 0; hard && k < s->n_files; k++)
                if (json_array_append_new(hard, json_string(s->files[k]))) {
                    json_decref(hard);
                    hard = NULL;
                }
            if (!hard || json_object_set_new(params[i], "hard_examples", hard))
                st = eco_error(ECO_STATUS_ENOMEM, "recipe: out of memory");
        }
        c->params = params[i];
    }
    if (!st) {
        eco_breed_chain_options co = {
            .name = rc->name,
            .parents = ids,
            .n_parents = n_ids,
            .steps = steps,
            .n_steps = rc->n_steps,
            .corpora = (const char *const *)rc->corpus,
            .n_corpora = rc->n_corpus,
            .id = ro && ro->id ? ro->id : rc->id,
            .sign_key = ro && ro->sign_key ? ro->sign_key : rc->sign_key,
            .created_at = ro ? ro->created_at : NULL,
            .progress = ro && ro->progress,
        };
        st = eco_breed_chain(r, &co, res);
    }
    for (size_t i = 0; params && i < rc->n_steps; i++) json_decref(params[i]);
    free(params);
    free(steps);
    return st;
}
