/*
 * Full-model mutate, crossover and prune (merge_dir.h), streamed tensor by tensor through
 * model_stream.h like the merges. The tensor arithmetic is merge.h's (eco_mutate_tensor,
 * eco_prune_magnitude, eco_crossover_pick); here: which tensors, which parent, the
 * lineage's params and result.
 */
#include "ecology/merge_dir.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breeder/model_stream.h"

#define COPY_CHUNK ((size_t)1 << 20) /* elements per piece of a tensor copied unchanged */

bool eco_module_list_selects(const char *modules, const char *name) {
    if (!modules || !*modules) return true;
    if (!name) return false;
    const char *m = modules;
    while (*m) {
        while (*m == ',' || *m == ' ') m++;
        size_t ml = strcspn(m, ", ");
        if (ml == 0) break;
        /* a dot-separated component of name equal to m[0..ml) */
        for (const char *c = name; c;) {
            size_t cl = strcspn(c, ".");
            if (cl == ml && strncmp(c, m, ml) == 0) return true;
            c = c[cl] == '.' ? c + cl + 1 : NULL;
        }
        m += ml;
    }
    return false;
}

/* A module list with no empty entry (EINVAL naming the option). */
static eco_status check_modules(const char *op, const char *modules) {
    if (!modules) return ECO_STATUS_OK;
    const char *m = modules;
    size_t n = 0;
    for (;;) {
        size_t ml = strcspn(m, ",");
        while (ml > 0 && m[0] == ' ') m++, ml--;
        if (ml == 0)
            return eco_error(ECO_STATUS_EINVAL, "%s: modules: '%s' has an empty entry", op,
                             modules);
        n++;
        m += ml;
        if (*m == '\0') break;
        m++;
    }
    return n ? ECO_STATUS_OK : eco_error(ECO_STATUS_EINVAL, "%s: modules: empty", op);
}

static json_t *modules_json(const char *modules) {
    return modules && *modules ? json_string(modules) : json_null();
}

/* ---- mutate ---------------------------------------------------------------------------- */

eco_status eco_mutate_model_dir(const eco_mutate_dir_options *o, eco_merge_dir_report *rep) {
    if (rep) memset(rep, 0, sizeof *rep);
    if (!o || !o->parent || !o->out) return eco_error(ECO_STATUS_EINVAL, "mutate: NULL argument");
    if (!isfinite(o->sigma) || o->sigma < 0)
        return eco_error(ECO_STATUS_EINVAL, "mutate: sigma: %g is not a finite value ≥ 0",
                         o->sigma);
    eco_status st = o->modules && *o->modules ? check_modules("mutate", o->modules) : 0;
    if (st) return st;
    breed_inputs in = {.op = "mutate"};
    if ((st = breed_inputs_add_known(&in, o->parent, "parent", o->parent_files)) ||
        (st = breed_inputs_open(&in)))
        return st;
    breed_stream *s = NULL;
    json_t *params = NULL, *result = NULL;
    int64_t n_tensors = 0, n_mutated = 0;
    st = breed_stream_begin(&s, &in, 0, o->out, o->force, o->progress, 0, o->shard_bytes);
    if (st) goto done;
    breed_tensor t;
    while (breed_stream_next(s, &t)) {
        n_tensors++;
        if (!eco_module_list_selects(o->modules, t.decl->name) || o->sigma == 0) {
            if ((st = breed_stream_copy(s, 0))) goto done;
            continue;
        }
        const float *x = breed_stream_input(s, 0);
        if (!x) break;
        float *y = breed_stream_out(s);
        memcpy(y, x, (size_t)t.len * sizeof *y);
        eco_mutate_tensor(y, t.len, o->sigma, o->seed, eco_merge_stream(t.decl->name));
        n_mutated++;
        if ((st = breed_stream_put(s))) goto done;
    }
    if ((st = breed_stream_status(s))) goto done;
    params = json_pack("{s:f, s:o}", "sigma", o->sigma, "modules", modules_json(o->modules));
    result =
        json_pack("{s:I, s:I}", "tensors", (json_int_t)n_tensors, "mutated", (json_int_t)n_mutated);
    if (!params || !result) {
        st = eco_error(ECO_STATUS_ENOMEM, "mutate: out of memory");
        goto done;
    }
    st = breed_stream_finish(s, "mutate", params, o->seed, result, rep);
    s = NULL;
    if (!st && rep) rep->result = json_incref(result);
done:
    breed_stream_abort(s);
    json_decref(params);
    json_decref(result);
    breed_inputs_close(&in);
    return st;
}

/* ---- crossover ------------------------------------------------------------------------- */

eco_status eco_crossover_models_dir(const eco_crossover_dir_options *o, eco_merge_dir_report *rep) {
    if (rep) memset(rep, 0, sizeof *rep);
    if (!o || !o->parents || !o->out)
        return eco_error(ECO_STATUS_EINVAL, "crossover: NULL argument");
    if (o->n_parents < 2 || o->n_parents > ECO_MERGE_MAX_PARENTS)
        return eco_error(ECO_STATUS_EINVAL, "crossover: parents: %zu given, 2 to %d allowed",
                         o->n_parents, ECO_MERGE_MAX_PARENTS);
    breed_inputs in = {.op = "crossover"};
    eco_status st = ECO_STATUS_OK;
    for (size_t i = 0; !st && i < o->n_parents; i++)
        st = breed_inputs_add_known(&in, o->parents[i], "parent",
                                    o->parent_files ? o->parent_files[i] : NULL);
    if (st || (st = breed_inputs_open(&in))) return st;
    breed_stream *s = NULL;
    json_t *params = NULL, *result = NULL, *picks = json_object(), *share = json_array();
    uint64_t bytes_from[ECO_MERGE_MAX_PARENTS] = {0}, bytes_all = 0;
    if (!picks || !share) {
        st = eco_error(ECO_STATUS_ENOMEM, "crossover: out of memory");
        goto done;
    }
    st = breed_stream_begin(&s, &in, 0, o->out, o->force, o->progress, COPY_CHUNK, o->shard_bytes);
    if (st) goto done;
    breed_tensor t;
    int pick = 0;
    while (breed_stream_next(s, &t)) {
        if (t.row0 == 0) { /* the coin of a tensor (or its layer), once per tensor */
            char key[64];
            const char *k = t.decl->name;
            if (o->per_layer && t.layer >= 0) {
                snprintf(key, sizeof key, "model.layers.%lld", (long long)t.layer);
                k = key;
            }
            pick = eco_crossover_pick(o->seed, eco_merge_stream(k), (int)o->n_parents);
            if (pick < 0 || (size_t)pick >= o->n_parents) {
                st = eco_error(ECO_STATUS_EINTERNAL, "crossover: coin %d of %zu parents", pick,
                               o->n_parents);
                goto done;
            }
            if (!json_object_get(picks, k) && json_object_set_new(picks, k, json_integer(pick))) {
                st = eco_error(ECO_STATUS_ENOMEM, "crossover: out of memory");
                goto done;
            }
            bytes_from[pick] += t.decl->nbytes;
            bytes_all += t.decl->nbytes;
        }
        if ((st = breed_stream_copy(s, (size_t)pick))) goto done;
    }
    if ((st = breed_stream_status(s))) goto done;
    for (size_t m = 0; m < o->n_parents; m++)
        if (json_array_append_new(
                share, json_real(bytes_all ? (double)bytes_from[m] / (double)bytes_all : 0.0))) {
            st = eco_error(ECO_STATUS_ENOMEM, "crossover: out of memory");
            goto done;
        }
    params = json_pack("{s:b}", "per_layer", o->per_layer);
    result =
        json_pack("{s:b, s:O, s:O}", "per_layer", o->per_layer, "picks", picks, "share", share);
    if (!params || !result) {
        st = eco_error(ECO_STATUS_ENOMEM, "crossover: out of memory");
        goto done;
    }
    st = breed_stream_finish(s, "crossover", params, o->seed, result, rep);
    s = NULL;
    if (!st && rep) rep->result = json_incref(result);
done:
    breed_stream_abort(s);
    json_decref(picks);
    json_decref(share);
    json_decref(params);
    json_decref(result);
    breed_inputs_close(&in);
    return st;
}

/* ---- prune ------------------------------------------------------------------------------ */

eco_status eco_prune_model_dir(const eco_prune_dir_options *o, eco_merge_dir_report *rep) {
    if (rep) memset(rep, 0, sizeof *rep);
    if (!o || !o->parent || !o->out) return eco_error(ECO_STATUS_EINVAL, "prune: NULL argument");
    if (!(o->density >= 0 && o->density <= 1))
        return eco_error(ECO_STATUS_EINVAL, "prune: density: %g outside [0, 1]", o->density);
    eco_status st = o->modules && *o->modules ? check_modules("prune", o->modules) : 0;
    if (st) return st;
    breed_inputs in = {.op = "prune"};
    if (o->base) st = breed_inputs_add_known(&in, o->base, "base", o->base_files);
    if (st || (st = breed_inputs_add_known(&in, o->parent, "parent", o->parent_files)) ||
        (st = breed_inputs_open(&in)))
        return st;
    const size_t me = o->base ? 1 : 0;
    breed_stream *s = NULL;
    json_t *params = NULL, *result = NULL, *sparsity = json_object();
    int64_t n_pruned_tensors = 0, n_elems = 0, n_set = 0;
    if (!sparsity) {
        st = eco_error(ECO_STATUS_ENOMEM, "prune: out of memory");
        goto done;
    }
    st = breed_stream_begin(&s, &in, me, o->out, o->force, o->progress, 0, o->shard_bytes);
    if (st) goto done;
    breed_tensor t;
    while (breed_stream_next(s, &t)) {
        bool selected = o->modules && *o->modules
                            ? eco_module_list_selects(o->modules, t.decl->name)
                            : t.decl->ndim == 2;
        if (!selected || t.len == 0) {
            if ((st = breed_stream_copy(s, me))) goto done;
            continue;
        }
        const float *x = breed_stream_input(s, me);
        const float *b = o->base ? breed_stream_input(s, 0) : NULL;
        if (!x || (o->base && !b)) break;
        float *y = breed_stream_out(s);
        memcpy(y, x, (size_t)t.len * sizeof *y);
        int64_t set = eco_prune_magnitude(y, b, t.len, o->density);
        n_pruned_tensors++;
        n_elems += t.len;
        n_set += set;
        if (json_object_set_new(sparsity, t.decl->name, json_real((double)set / (double)t.len))) {
            st = eco_error(ECO_STATUS_ENOMEM, "prune: out of memory");
            goto done;
        }
        if ((st = breed_stream_put(s))) goto done;
    }
    if ((st = breed_stream_status(s))) goto done;
    params = json_pack("{s:f, s:b, s:o}", "density", o->density, "of_deltas", o->base != NULL,
                       "modules", modules_json(o->modules));
    result = json_pack("{s:O, s:f, s:I}", "sparsity", sparsity, "overall",
                       n_elems ? (double)n_set / (double)n_elems : 0.0, "pruned_tensors",
                       (json_int_t)n_pruned_tensors);
    if (!params || !result) {
        st = eco_error(ECO_STATUS_ENOMEM, "prune: out of memory");
        goto done;
    }
    st = breed_stream_finish(s, "prune", params, 0, result, rep);
    s = NULL;
    if (!st && rep) rep->result = json_incref(result);
done:
    breed_stream_abort(s);
    json_decref(sparsity);
    json_decref(params);
    json_decref(result);
    breed_inputs_close(&in);
    return st;
}
