/*
 * The training operators over breed_train.h: finetune (an adapter child continued as LoRA
 * on its base model, given as the base; a full model trained whole) and distill (the
 * student given as the base, the teachers as the parents). Parameters as breed_recipe.h
 * lists them; a recorded lineage's extra keys (mode, level, corpus, mix_sha256: what the
 * run measured) are accepted on a re-run and checked where they decide something.
 */
#include "breeder/breed_internal.h"
#include "ecology/breed_train.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The hyper-parameters shared by finetune and distill. */
static eco_status read_train(const char *op, const json_t *params, eco_breed_train_params *t) {
    eco_status st;
    if ((st = eco_breed_param_int(op, params, "steps", true, 1, 1000000, &t->steps)) ||
        (st = eco_breed_param_num(op, params, "lr", true, 1e-12, 1, &t->lr)) ||
        (st = eco_breed_param_int(op, params, "batch", false, 1, 4096, &t->batch)) ||
        (st = eco_breed_param_int(op, params, "seq", false, 1, 65536, &t->seq)) ||
        (st = eco_breed_param_int(op, params, "accum", false, 1, 1024, &t->accum)) ||
        (st = eco_breed_param_int(op, params, "warmup", false, 0, t->steps, &t->warmup)) ||
        (st = eco_breed_param_num(op, params, "weight_decay", false, 0, 1, &t->weight_decay)) ||
        (st = eco_breed_param_num(op, params, "clip", false, 0, 1e6, &t->clip)) ||
        (st = eco_breed_param_seed(op, params, &t->seed)))
        return st;
    return ECO_STATUS_OK;
}

/* hard_examples: a list of file paths (a recorded list of hashes cannot be re-run). */
static eco_status read_hard(const char *op, const json_t *params, const char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    const json_t *h = json_object_get(params, "hard_examples");
    if (!h || json_is_null(h) || (json_is_array(h) && json_array_size(h) == 0))
        return ECO_STATUS_OK;
    if (!json_is_array(h))
        return eco_error(ECO_STATUS_EINVAL, "%s: params: hard_examples: expected a list of files",
                         op);
    const char **v = eco_calloc_array(json_array_size(h), sizeof *v);
    if (!v) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", op);
    for (size_t i = 0; i < json_array_size(h); i++) {
        const json_t *e = json_array_get(h, i);
        if (!json_is_string(e)) {
            free(v);
            return eco_error(ECO_STATUS_EINVAL,
                             "%s: params: hard_examples[%zu]: expected a file (a recorded run's "
                             "hard examples are known by their hashes only: give the files)",
                             op, i);
        }
        v[i] = json_string_value(e);
    }
    *out = v;
    *n = json_array_size(h);
    return ECO_STATUS_OK;
}

eco_status eco_breed_op_finetune(const eco_breeder_op *op, const eco_breed_parent *parents,
                                 size_t n, const char *const *corpora, size_t n_corpora,
                                 const json_t *params, const char *out) {
    static const char *const keys[] = {
        "steps",         "lr",   "batch", "seq",    "accum",      "warmup", "weight_decay", "clip",
        "hard_examples", "seed", "mode",  "corpus", "mix_sha256", NULL};
    static const char *const modes[] = {"lora", "full", NULL};
    eco_breed_finetune_options o;
    eco_breed_finetune_init(&o);
    const bool has_base = n > 0 && strcmp(parents[0].role, "base") == 0;
    const char *mode = NULL;
    eco_status st;
    if ((st = eco_breed_params_only(op->name, params, keys)) ||
        (st = read_train(op->name, params, &o.train)) ||
        (st = eco_breed_param_str(op->name, params, "mode", modes, &mode)))
        return st;
    if (n != 1 + (has_base ? 1 : 0))
        return eco_error(ECO_STATUS_EINVAL, "%s: one child to train (and its base model)",
                         op->name);
    const bool lora = eco_path_has_file(parents[n - 1].dir, "adapter_config.json");
    if (lora != has_base)
        return eco_error(ECO_STATUS_EINVAL,
                         lora ? "%s: an adapter is trained on its base model: give it (--base)"
                              : "%s: a full model is trained whole: no base",
                         op->name);
    if (mode && strcmp(mode, lora ? "lora" : "full") != 0)
        return eco_error(ECO_STATUS_EINVAL, "%s: params: mode: '%s' but the child is %s", op->name,
                         mode, lora ? "an adapter" : "a full model");
    const char **hard = NULL;
    if ((st = read_hard(op->name, params, &hard, &o.n_hard))) return st;
    if (n_corpora == 0 && o.n_hard == 0) {
        free(hard);
        return eco_error(ECO_STATUS_EINVAL, "%s: no corpus (--corpus) and no hard_examples",
                         op->name);
    }
    o.child = parents[n - 1].dir;
    o.base_model = has_base ? parents[0].dir : NULL;
    o.corpora = corpora;
    o.n_corpora = n_corpora;
    o.hard = hard;
    o.out = out;
    st = eco_breed_finetune(&o, NULL);
    free(hard);
    return st;
}

eco_status eco_breed_op_distill(const eco_breeder_op *op, const eco_breed_parent *parents, size_t n,
                                const char *const *corpora, size_t n_corpora, const json_t *params,
                                const char *out) {
    static const char *const keys[] = {
        "steps",        "lr",    "batch",  "seq",         "accum",      "warmup",
        "weight_decay", "clip",  "weight", "temperature", "max_tokens", "seed",
        "student",      "level", "corpus", "mix_sha256",  NULL};
    eco_breed_distill_options o;
    eco_breed_distill_init(&o);
    int64_t max_tokens = o.max_tokens;
    eco_status st;
    if ((st = eco_breed_params_only(op->name, params, keys)) ||
        (st = read_train(op->name, params, &o.train)) ||
        (st = eco_breed_param_num(op->name, params, "weight", false, 0, 1, &o.weight)) ||
        (st = eco_breed_param_num(op->name, params, "temperature", false, 1e-6, 100,
                                  &o.temperature)) ||
        (st = eco_breed_param_int(op->name, params, "max_tokens", false, 1, 4096, &max_tokens)))
        return st;
    if (n < 2 || strcmp(parents[0].role, "base") != 0)
        return eco_error(ECO_STATUS_EINVAL,
                         "%s: needs the student (--base) and at least one teacher (--parents)",
                         op->name);
    if (n_corpora == 0) return eco_error(ECO_STATUS_EINVAL, "%s: no corpus (--corpus)", op->name);
    const char *teachers[ECO_BREEDER_MAX_INPUTS];
    for (size_t i = 1; i < n; i++) teachers[i - 1] = parents[i].dir;
    o.teachers = teachers;
    o.n_teachers = n - 1;
    o.student = parents[0].dir;
    o.corpora = corpora;
    o.n_corpora = n_corpora;
    o.max_tokens = (int)max_tokens;
    o.out = out;
    return eco_breed_distill(&o, NULL);
}
