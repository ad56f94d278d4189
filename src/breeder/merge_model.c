/*
 * Full-model merges (merge_dir.h): eco_merge_models_dir, and eco_merge_dir, which sends
 * adapter folders to eco_merge_adapters_dir.
 *
 * Each tensor of the first parent, in the output's data order: every parent's tensor (and
 * the base's) as f32 (the mapped file itself when it is aligned f32, else widened), merged
 * by eco_merge_tensor (merge.h) with slerp's t for its layer ("model.layers.N."), converted
 * to the first parent's dtype and written; the inputs' pages are then dropped. linear and
 * task_arithmetic are elementwise, so they go in chunks of rows (CHUNK_ELEMS) and hold a
 * few MB whatever the tensor; the other methods look at whole tensors (top-k, random
 * masks drawn by element index, norms) and hold the parents' copies of one tensor, the
 * deltas eco_merge_tensor allocates and the output.
 */
#include "ecology/merge_dir.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "breeder/model_stream.h"

#define CHUNK_ELEMS ((size_t)1 << 14) /* 64 KB of f32 per input: stays in L2 */

void eco_merge_dir_report_free(eco_merge_dir_report *rep) {
    if (!rep) return;
    json_decref(rep->result);
    rep->result = NULL;
}

eco_status eco_merge_dir(const eco_merge_dir_options *o, eco_merge_dir_report *rep) {
    if (!o || !o->parents || o->n_parents == 0 || !o->parents[0])
        return eco_error(ECO_STATUS_EINVAL, "merge: no parents");
    if (rep) memset(rep, 0, sizeof *rep);
    if (eco_path_has_file(o->parents[0], "adapter_config.json"))
        return eco_merge_adapters_dir(o, rep);
    return eco_merge_models_dir(o, rep);
}

static bool elementwise(eco_merge_method m) {
    return m == ECO_MERGE_METHOD_LINEAR || m == ECO_MERGE_METHOD_TASK_ARITHMETIC;
}

static bool sparsifies(const eco_merge_params *p) {
    for (int m = 0; m < p->n_parents; m++)
        if (p->density[m] < 1.0) return true;
    return p->method == ECO_MERGE_METHOD_BREADCRUMBS;
}

eco_status eco_merge_models_dir(const eco_merge_dir_options *o, eco_merge_dir_report *rep) {
    if (rep) memset(rep, 0, sizeof *rep);
    if (!o || !o->parents || !o->out) return eco_error(ECO_STATUS_EINVAL, "merge: NULL argument");
    const eco_merge_params *p = &o->params;
    if (o->n_parents < 1 || o->n_parents > ECO_MERGE_MAX_PARENTS)
        return eco_error(ECO_STATUS_EINVAL, "merge: parents: %zu given, 1 to %d allowed",
                         o->n_parents, ECO_MERGE_MAX_PARENTS);
    if ((size_t)p->n_parents != o->n_parents)
        return eco_error(ECO_STATUS_EINVAL, "merge: weights: %d given for %zu parents",
                         p->n_parents, o->n_parents);
    eco_status st = eco_merge_params_check(p);
    if (st) return eco_error_wrap(st, "merge");
    if (eco_merge_method_needs_base(p->method) && !o->base)
        return eco_error(ECO_STATUS_EINVAL,
                         "merge: base: method %s needs the base model θ₀ the parents were "
                         "fine-tuned from (--base)",
                         eco_merge_method_name(p->method));

    breed_inputs in = {.op = "merge"};
    if (o->base) st = breed_inputs_add(&in, o->base, "base");
    for (size_t i = 0; !st && i < o->n_parents; i++)
        st = breed_inputs_add(&in, o->parents[i], "parent");
    if (!st) st = breed_inputs_open(&in);
    if (st) return st;
    const size_t first = o->base ? 1 : 0;
    json_t *params = NULL, *result = NULL, *kept = NULL;
    breed_stream *s = NULL;
    if ((st = eco_merge_params_to_json(p, &params))) goto done;
    st = breed_stream_begin(&s, &in, first, o->out, o->force, o->progress,
                            elementwise(p->method) ? CHUNK_ELEMS : 0, o->shard_bytes);
    if (st) goto done;

    int64_t kept_total[ECO_MERGE_MAX_PARENTS] = {0}, n_total = 0, n_empty = 0;
    breed_tensor t;
    while (breed_stream_next(s, &t)) {
        const float *par[ECO_MERGE_MAX_PARENTS];
        const float *base = o->base ? breed_stream_input(s, 0) : NULL;
        bool ok = !o->base || base;
        for (int m = 0; ok && m < p->n_parents; m++)
            ok = (par[m] = breed_stream_input(s, first + m));
        if (!ok) break;
        double tt =
            p->method == ECO_MERGE_METHOD_SLERP ? eco_merge_slerp_t(p, t.layer, in.n_layers) : 0.0;
        eco_merge_stats stats;
        memset(&stats, 0, sizeof stats);
        st = eco_merge_tensor(breed_stream_out(s), base, par, t.nrows, t.cols, p, tt,
                              eco_merge_stream(t.decl->name), NULL, &stats);
        if (st) {
            st = eco_error_wrap(st, "merge: tensor '%s'", t.decl->name);
            goto done;
        }
        n_total += t.len;
        for (int m = 0; m < p->n_parents; m++) kept_total[m] += stats.kept[m];
        if (stats.empty) {
            n_empty++;
            eco_log(ECO_LOG_WARN, "merge: tensor '%s': a sparsifier kept nothing (zeros)",
                    t.decl->name);
        }
        if ((st = breed_stream_put(s))) goto done;
    }
    if ((st = breed_stream_status(s))) goto done;

    result = json_object();
    if (!result) goto oom;
    if (sparsifies(p)) {
        kept = json_array();
        for (int m = 0; kept && m < p->n_parents; m++)
            if (json_array_append_new(
                    kept, json_real(n_total ? (double)kept_total[m] / (double)n_total : 0.0)))
                goto oom;
        if (!kept || json_object_set_new(result, "kept_fraction", kept)) goto oom;
        kept = NULL;
        if (json_object_set_new(result, "empty_tensors", json_integer(n_empty))) goto oom;
    }
    st = breed_stream_finish(s, "merge", params, p->seed, result, rep);
    s = NULL;
    if (!st && rep) {
        rep->result = result;
        result = NULL;
    }
    goto done;
oom:
    st = eco_error(ECO_STATUS_ENOMEM, "merge: out of memory");
done:
    breed_stream_abort(s);
    json_decref(kept);
    json_decref(result);
    json_decref(params);
    breed_inputs_close(&in);
    return st;
}
