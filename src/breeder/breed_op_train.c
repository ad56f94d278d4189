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

/* capabilities: "a" / "a,b" or ["a", "b"] (checked by the folder function), or absent: the
 * ones the adapter claims that the task suite knows (an adapter's genome lists them).
 * names[] borrows from params or the genome. */
static eco_status read_caps(const char *op, const json_t *params, const eco_genome *g, char *buf,
                            size_t buf_len, const char **names, size_t max, size_t *n) {
    *n = 0;
    const json_t *v = json_object_get(params, "capabilities");
    if (!v || json_is_null(v)) {
        for (size_t i = 0; g && i < g->n_capabilities && *n < max; i++) {
            const eco_capability *cap;
            if (eco_tasks_find(g->capabilities[i], &cap) == ECO_STATUS_OK)
                names[(*n)++] = g->capabilities[i];
            else
                eco_clear_error();
        }
        if (*n == 0)
            return eco_error(ECO_STATUS_EINVAL,
                             "%s: params: capabilities: missing (the adapter claims no capability "
                             "of the task suite: name them, e.g. capabilities=arith.add@1)",
                             op);
        return ECO_STATUS_OK;
    }
    if (json_is_string(v)) {
        if ((size_t)snprintf(buf, buf_len, "%s", json_string_value(v)) >= buf_len)
            return eco_error(ECO_STATUS_EINVAL, "%s: params: capabilities: too long", op);
        for (char *p = buf, *e;; p = e + 1) {
            if ((e = strchr(p, ','))) *e = '\0';
            if (!*p || *n == max)
                return eco_error(ECO_STATUS_EINVAL,
                                 "%s: params: capabilities: expected 1 to %zu names, without "
                                 "empty entries",
                                 op, max);
            names[(*n)++] = p;
            if (!e) break;
        }
    } else if (json_is_array(v) && json_array_size(v) > 0 && json_array_size(v) <= max) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            const char *s = json_string_value(json_array_get(v, i));
            if (!s || !*s)
                return eco_error(ECO_STATUS_EINVAL,
                                 "%s: params: capabilities[%zu]: expected a capability name", op,
                                 i);
            names[(*n)++] = s;
        }
    } else {
        return eco_error(ECO_STATUS_EINVAL,
                         "%s: params: capabilities: expected a list of 1 to %zu capability names",
                         op, max);
    }
    for (size_t i = 0; i < *n; i++) {
        const eco_capability *cap;
        if (eco_tasks_find(names[i], &cap) != ECO_STATUS_OK)
            return eco_error(ECO_STATUS_EINVAL, "%s: params: capabilities: %s", op,
                             eco_last_error());
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[j], names[i]) == 0)
                return eco_error(ECO_STATUS_EINVAL, "%s: params: capabilities: '%.64s' given twice",
                                 op, names[i]);
    }
    return ECO_STATUS_OK;
}

eco_status eco_breed_op_rl(const eco_breeder_op *op, const eco_breed_parent *parents, size_t n,
                           const char *const *corpora, size_t n_corpora, const json_t *params,
                           const char *out) {
    (void)corpora;
    static const char *const keys[] = {"capabilities",
                                       "steps",
                                       "batch",
                                       "group",
                                       "micro_batch",
                                       "iterations",
                                       "lr",
                                       "warmup",
                                       "clip",
                                       "weight_decay",
                                       "beta",
                                       "reference",
                                       "epsilon",
                                       "epsilon_high",
                                       "loss_type",
                                       "scale_rewards",
                                       "resample",
                                       "reward_correct",
                                       "reward_format",
                                       "length_penalty",
                                       "temperature",
                                       "top_p",
                                       "max_tokens",
                                       "max_seq",
                                       "eval_every",
                                       "eval_n",
                                       "eval_seed",
                                       "seed",
                                       NULL};
    static const char *const refs[] = {"start", "base", NULL};
    static const char *const losses[] = {"grpo", "bnpo", "dr_grpo", NULL};
    if (n_corpora)
        return eco_error(ECO_STATUS_EINVAL,
                         "%s: takes no corpus (--corpus): its prompts come from the capabilities' "
                         "generators and its rewards from their checkers",
                         op->name);
    eco_breed_rl_options o;
    eco_breed_rl_init(&o);
    eco_rl_options *r = &o.rl;
    int64_t max_tokens = r->max_tokens, eval_n = (int64_t)r->eval_n, eval_seed = 0;
    const char *ref = NULL, *loss = NULL;
    const json_t *eps_high = json_object_get(params, "epsilon_high");
    const bool eps_high_given = eps_high && !json_is_null(eps_high);
    eco_status st;
    if ((st = eco_breed_params_only(op->name, params, keys)) ||
        (st = eco_breed_param_int(op->name, params, "steps", true, 1, 1000000, &r->steps)) ||
        (st = eco_breed_param_int(op->name, params, "batch", false, 1, 4096, &r->batch)) ||
        (st = eco_breed_param_int(op->name, params, "group", false, 2, 1024, &r->group)) ||
        (st = eco_breed_param_int(op->name, params, "micro_batch", false, 1, 65536,
                                  &r->micro_batch)) ||
        (st = eco_breed_param_int(op->name, params, "iterations", false, 1, 64, &r->iterations)) ||
        (st = eco_breed_param_num(op->name, params, "lr", false, 1e-12, 10, &r->lr)) ||
        (st = eco_breed_param_int(op->name, params, "warmup", false, 0, r->steps, &r->warmup)) ||
        (st = eco_breed_param_num(op->name, params, "clip", false, 0, 1e6, &r->clip)) ||
        (st = eco_breed_param_num(op->name, params, "weight_decay", false, 0, 1,
                                  &r->weight_decay)) ||
        (st = eco_breed_param_num(op->name, params, "beta", false, 0, 1e6, &r->grpo.beta)) ||
        (st = eco_breed_param_str(op->name, params, "reference", refs, &ref)) ||
        (st = eco_breed_param_num(op->name, params, "epsilon", false, 0, 0.999,
                                  &r->grpo.epsilon_low)))
        return st;
    if (!eps_high_given) r->grpo.epsilon_high = r->grpo.epsilon_low; /* TRL's default */
    if ((st = eco_breed_param_num(op->name, params, "epsilon_high", false, 0, 1e6,
                                  &r->grpo.epsilon_high)) ||
        (st = eco_breed_param_str(op->name, params, "loss_type", losses, &loss)) ||
        (st = eco_breed_param_bool(op->name, params, "scale_rewards", &r->scale_rewards)) ||
        (st = eco_breed_param_int(op->name, params, "resample", false, 0, 64, &r->resample)) ||
        (st = eco_breed_param_num(op->name, params, "reward_correct", false, -1e6, 1e6,
                                  &r->reward.correct)) ||
        (st = eco_breed_param_num(op->name, params, "reward_format", false, -1e6, 1e6,
                                  &r->reward.format)) ||
        (st = eco_breed_param_num(op->name, params, "length_penalty", false, -1e6, 1e6,
                                  &r->reward.length_penalty)) ||
        (st = eco_breed_param_num(op->name, params, "temperature", false, 1e-6, 100,
                                  &r->temperature)) ||
        (st = eco_breed_param_num(op->name, params, "top_p", false, 1e-6, 1, &r->top_p)) ||
        (st = eco_breed_param_int(op->name, params, "max_tokens", false, 1, 4096, &max_tokens)) ||
        (st = eco_breed_param_int(op->name, params, "max_seq", false, 2, 1 << 20, &r->max_seq)) ||
        (st = eco_breed_param_int(op->name, params, "eval_every", false, 0, 1000000,
                                  &r->eval_every)) ||
        (st = eco_breed_param_int(op->name, params, "eval_n", false, 0, 100000, &eval_n)) ||
        (st =
             eco_breed_param_int(op->name, params, "eval_seed", false, 0, INT64_MAX, &eval_seed)) ||
        (st = eco_breed_param_seed(op->name, params, &r->seed)))
        return st;
    if (ref && (st = eco_rl_reference_parse(ref, &r->reference))) return st;
    if (loss && (st = eco_grpo_loss_type_parse(loss, &r->grpo.loss_type))) return st;
    r->max_tokens = (int)max_tokens;
    r->eval_n = (size_t)eval_n;
    r->eval_seed = (uint64_t)eval_seed;
    if (n != 2 || strcmp(parents[0].role, "base") != 0)
        return eco_error(ECO_STATUS_EINVAL,
                         "%s: one adapter to train (--parents) and its base model (--base)",
                         op->name);
    const char *names[64];
    char buf[1024];
    if ((st = read_caps(op->name, params, parents[1].genome, buf, sizeof buf, names,
                        sizeof names / sizeof *names, &o.n_capabilities)))
        return st;
    o.capabilities = names;
    o.child = parents[1].dir;
    o.base_model = parents[0].dir;
    o.out = out;
    return eco_breed_rl(&o, NULL);
}
