/*
 * The breeding operators over merge_dir.h's folder functions: the merge methods
 * (eco_merge_dir: full models or adapters), mutate, crossover and prune of full models,
 * and LoRA extraction. Each reads its params (a breed's --param, a recipe step's, or a
 * recorded lineage's on a re-run: both spellings are accepted) and hands the parents'
 * folders over.
 */
#include "breeder/breed_internal.h"
#include "ecology/merge_dir.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static bool has_base_role(const eco_breed_parent *parents, size_t n) {
    return n > 0 && strcmp(parents[0].role, "base") == 0;
}

/* A registered parent's files, verified by the checkout (their digests not hashed again). */
static const eco_manifest *files_of(const eco_breed_parent *p) {
    return p->genome ? &p->genome->files : NULL;
}

static eco_status no_corpora(const char *op, size_t n_corpora) {
    return n_corpora ? eco_error(ECO_STATUS_EINVAL, "%s: takes no corpus", op) : ECO_STATUS_OK;
}

eco_status eco_breed_op_merge(const eco_breeder_op *op, const eco_breed_parent *parents, size_t n,
                              const char *const *corpora, size_t n_corpora, const json_t *params,
                              const char *out) {
    (void)corpora;
    eco_status st = no_corpora(op->name, n_corpora);
    if (st) return st;
    const bool has_base = has_base_role(parents, n);
    const size_t np = n - (has_base ? 1 : 0);
    if (np == 0 || np > ECO_MERGE_MAX_PARENTS)
        return eco_error(ECO_STATUS_EINVAL, "%s: %zu parents", op->name, np);
    json_t *pj = json_deep_copy(params);
    if (!pj) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", op->name);
    /* rank (adapters' target rank) and base (a recipe's θ₀, already among the parents) are
     * not merge parameters */
    int64_t rank = 0;
    if ((st = eco_breed_param_int(op->name, pj, "rank", false, 0, 65536, &rank))) goto out;
    json_object_del(pj, "rank");
    json_object_del(pj, "base");
    const char *method = NULL;
    if ((st = eco_breed_param_str(op->name, pj, "method", NULL, &method))) goto out;
    if (method && strcmp(method, op->name) != 0) {
        st = eco_error(ECO_STATUS_EINVAL, "%s: params: method: '%.64s' is not this operator",
                       op->name, method);
        goto out;
    }
    if (json_object_set_new(pj, "method", json_string(op->name))) goto oom;
    /* weights default to 1 for each parent (slerp has none) */
    if (!json_object_get(pj, "weights") && strcmp(op->name, "slerp") != 0) {
        json_t *w = json_array();
        for (size_t i = 0; w && i < np; i++)
            if (json_array_append_new(w, json_real(1.0))) {
                json_decref(w);
                w = NULL;
            }
        if (!w || json_object_set_new(pj, "weights", w)) goto oom;
    }
    eco_merge_params mp;
    char label[64];
    snprintf(label, sizeof label, "%s: params", op->name);
    if ((st = eco_merge_params_from_json(pj, label, &mp))) {
        char msg[512]; /* the caller's values: EINVAL, the message kept */
        snprintf(msg, sizeof msg, "%s", eco_last_error());
        st = eco_error(ECO_STATUS_EINVAL, "%s", msg);
        goto out;
    }
    if ((size_t)mp.n_parents != np) {
        st = eco_error(ECO_STATUS_EINVAL, "%s: params: weights: %d values for %zu parents",
                       op->name, mp.n_parents, np);
        goto out;
    }
    const char *dirs[ECO_MERGE_MAX_PARENTS];
    const eco_manifest *files[ECO_MERGE_MAX_PARENTS]; /* verified by the checkout: not hashed */
    for (size_t i = 0; i < np; i++) {
        const eco_breed_parent *bp = &parents[i + (has_base ? 1 : 0)];
        dirs[i] = bp->dir;
        files[i] = files_of(bp);
    }
    eco_merge_dir_options o = {.base = has_base ? parents[0].dir : NULL,
                               .base_files = has_base ? files_of(&parents[0]) : NULL,
                               .parents = dirs,
                               .n_parents = np,
                               .params = mp,
                               .rank = rank,
                               .out = out,
                               .parent_files = files};
    eco_merge_dir_report rep = {0};
    st = eco_merge_dir(&o, &rep);
    eco_merge_dir_report_free(&rep);
    goto out;
oom:
    st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", op->name);
out:
    json_decref(pj);
    return st;
}

eco_status eco_breed_op_mutate(const eco_breeder_op *op, const eco_breed_parent *parents, size_t n,
                               const char *const *corpora, size_t n_corpora, const json_t *params,
                               const char *out) {
    (void)corpora;
    static const char *const keys[] = {"sigma", "modules", "seed", NULL};
    eco_status st;
    char modules[1024];
    eco_mutate_dir_options o = {.parent = parents[0].dir, .out = out};
    if (n > 0) o.parent_files = files_of(&parents[0]);
    if ((st = no_corpora(op->name, n_corpora)) ||
        (st = eco_breed_params_only(op->name, params, keys)) ||
        (st = eco_breed_param_num(op->name, params, "sigma", true, 0, 100, &o.sigma)) ||
        (st = eco_breed_param_modules(op->name, params, modules, sizeof modules)) ||
        (st = eco_breed_param_seed(op->name, params, &o.seed)))
        return st;
    if (n != 1) return eco_error(ECO_STATUS_EINVAL, "%s: one parent", op->name);
    o.modules = modules[0] ? modules : NULL;
    eco_merge_dir_report rep = {0};
    st = eco_mutate_model_dir(&o, &rep);
    eco_merge_dir_report_free(&rep);
    return st;
}

eco_status eco_breed_op_crossover(const eco_breeder_op *op, const eco_breed_parent *parents,
                                  size_t n, const char *const *corpora, size_t n_corpora,
                                  const json_t *params, const char *out) {
    (void)corpora;
    static const char *const keys[] = {"granularity", "per_layer", "seed", NULL};
    static const char *const grains[] = {"tensor", "layer", NULL};
    const char *grain = NULL;
    eco_crossover_dir_options o = {.n_parents = n, .out = out};
    eco_status st;
    if ((st = no_corpora(op->name, n_corpora)) ||
        (st = eco_breed_params_only(op->name, params, keys)) ||
        (st = eco_breed_param_str(op->name, params, "granularity", grains, &grain)) ||
        (st = eco_breed_param_bool(op->name, params, "per_layer", &o.per_layer)) ||
        (st = eco_breed_param_seed(op->name, params, &o.seed)))
        return st;
    if (grain && json_object_get(params, "per_layer") &&
        o.per_layer != (strcmp(grain, "layer") == 0))
        return eco_error(ECO_STATUS_EINVAL, "%s: params: granularity and per_layer disagree",
                         op->name);
    if (grain) o.per_layer = strcmp(grain, "layer") == 0;
    const char *dirs[ECO_MERGE_MAX_PARENTS];
    const eco_manifest *files[ECO_MERGE_MAX_PARENTS];
    if (n < 2 || n > ECO_MERGE_MAX_PARENTS)
        return eco_error(ECO_STATUS_EINVAL, "%s: 2 to %d parents", op->name, ECO_MERGE_MAX_PARENTS);
    for (size_t i = 0; i < n; i++) {
        dirs[i] = parents[i].dir;
        files[i] = files_of(&parents[i]);
    }
    o.parents = dirs;
    o.parent_files = files;
    eco_merge_dir_report rep = {0};
    st = eco_crossover_models_dir(&o, &rep);
    eco_merge_dir_report_free(&rep);
    return st;
}

eco_status eco_breed_op_prune(const eco_breeder_op *op, const eco_breed_parent *parents, size_t n,
                              const char *const *corpora, size_t n_corpora, const json_t *params,
                              const char *out) {
    (void)corpora;
    static const char *const keys[] = {"density", "of", "of_deltas", "modules", "seed", NULL};
    static const char *const ofs[] = {"weights", "delta", NULL};
    const bool has_base = has_base_role(parents, n);
    const char *of = NULL;
    bool of_deltas = has_base;
    char modules[1024];
    uint64_t seed = 0;
    eco_prune_dir_options o = {.parent = parents[n - 1].dir, .out = out};
    eco_status st;
    if ((st = no_corpora(op->name, n_corpora)) ||
        (st = eco_breed_params_only(op->name, params, keys)) ||
        (st = eco_breed_param_num(op->name, params, "density", true, 0, 1, &o.density)) ||
        (st = eco_breed_param_str(op->name, params, "of", ofs, &of)) ||
        (st = eco_breed_param_bool(op->name, params, "of_deltas", &of_deltas)) ||
        (st = eco_breed_param_modules(op->name, params, modules, sizeof modules)) ||
        (st = eco_breed_param_seed(op->name, params, &seed)))
        return st;
    if (of) of_deltas = strcmp(of, "delta") == 0;
    if (of_deltas != has_base)
        return eco_error(ECO_STATUS_EINVAL,
                         "%s: params: of: pruning deltas needs a base (--base), weights none",
                         op->name);
    if (n != 1 + (has_base ? 1 : 0))
        return eco_error(ECO_STATUS_EINVAL, "%s: one parent", op->name);
    o.base = has_base ? parents[0].dir : NULL;
    o.base_files = has_base ? files_of(&parents[0]) : NULL;
    o.parent_files = files_of(&parents[n - 1]);
    o.modules = modules[0] ? modules : NULL;
    eco_merge_dir_report rep = {0};
    st = eco_prune_model_dir(&o, &rep);
    eco_merge_dir_report_free(&rep);
    return st;
}

eco_status eco_breed_op_extract(const eco_breeder_op *op, const eco_breed_parent *parents, size_t n,
                                const char *const *corpora, size_t n_corpora, const json_t *params,
                                const char *out) {
    (void)corpora;
    static const char *const keys[] = {"rank", "sv_epsilon", "strict", "seed", NULL};
    eco_status st;
    uint64_t seed = 0;
    eco_extract_options o = {.out = out};
    if ((st = no_corpora(op->name, n_corpora)) ||
        (st = eco_breed_params_only(op->name, params, keys)) ||
        (st = eco_breed_param_int(op->name, params, "rank", false, 0, 65536, &o.rank)) ||
        (st = eco_breed_param_num(op->name, params, "sv_epsilon", false, 0, 1e30, &o.sv_epsilon)) ||
        (st = eco_breed_param_bool(op->name, params, "strict", &o.strict)) ||
        (st = eco_breed_param_seed(op->name, params, &seed)))
        return st;
    if (!has_base_role(parents, n) || n != 2)
        return eco_error(ECO_STATUS_EINVAL,
                         "%s: needs the base (--base) and the fine-tuned model (one parent)",
                         op->name);
    o.base = parents[0].dir;
    o.model = parents[1].dir;
    eco_merge_dir_report rep = {0};
    st = eco_extract_lora_dir(&o, &rep);
    eco_merge_dir_report_free(&rep);
    return st;
}
