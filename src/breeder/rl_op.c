/*
 * The rl operator's folder function (breed_train.h): a LoRA child continued with GRPO
 * (eco_rl_run, rl.h) on its base model, rewarded by the capabilities' checkers, written
 * whole into an output folder with lineage.json. The rl record (training.json) names working
 * paths and the thread count: its prompt-set hash is read into the lineage, then it goes.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/breed_train.h"
#include "ecology/rl.h"
#include "breeder/breed_train_internal.h"

void eco_breed_rl_init(eco_breed_rl_options *o) {
    memset(o, 0, sizeof *o);
    eco_rl_options_init(&o->rl);
    o->rl.eval_n = ECO_BREED_RL_EVAL_N;
}

/* The capabilities by name into caps[n] (distinct). */
static eco_status find_caps(const eco_breed_rl_options *o, const eco_capability **caps) {
    for (size_t i = 0; i < o->n_capabilities; i++) {
        if (!o->capabilities[i])
            return eco_error(ECO_STATUS_EINVAL, "rl: capabilities[%zu]: NULL", i);
        eco_status st = eco_tasks_find(o->capabilities[i], &caps[i]);
        if (st) return eco_error_wrap(st, "rl: capabilities[%zu]", i);
        for (size_t j = 0; j < i; j++)
            if (caps[j] == caps[i])
                return eco_error(ECO_STATUS_EINVAL, "rl: capability %s given twice",
                                 o->capabilities[i]);
    }
    return ECO_STATUS_OK;
}

static eco_status check(const eco_breed_rl_options *o) {
    if (!o || !o->child || !o->out)
        return eco_error(ECO_STATUS_EINVAL, "rl: child and out are required");
    if (!o->base_model)
        return eco_error(ECO_STATUS_EINVAL, "rl: the child's base model is required");
    if (o->n_capabilities == 0 || !o->capabilities)
        return eco_error(ECO_STATUS_EINVAL,
                         "rl: no capability: the prompts and rewards come from capabilities");
    eco_status st = eco_path_require_dir(o->child, "an adapter folder");
    if (st) return st;
    if (!eco_path_has_file(o->child, "adapter_config.json"))
        return eco_error(ECO_STATUS_EINVAL,
                         "rl: %s is not an adapter (no adapter_config.json): rl continues a LoRA "
                         "adapter on its base model",
                         o->child);
    return eco_path_require_dir(o->base_model, ECO_MODEL_DIR_EXPECTED);
}

/* The settings as the run uses them (rl.h's defaults resolved), lineage params. */
static json_t *params_json(const eco_rl_options *r, const eco_capability *const *caps, size_t n) {
    size_t mt = 0;
    for (size_t i = 0; i < n; i++)
        if (caps[i]->max_completion_bytes > mt) mt = caps[i]->max_completion_bytes;
    const int64_t max_tokens = r->max_tokens > 0 ? r->max_tokens : (int64_t)mt + 8;
    const int64_t micro = r->micro_batch > 0 ? r->micro_batch : r->group;
    const int64_t max_seq = r->max_seq > 0 ? r->max_seq : 256;
    json_t *names = json_array();
    for (size_t i = 0; names && i < n; i++)
        if (json_array_append_new(names, json_string(caps[i]->name))) {
            json_decref(names);
            names = NULL;
        }
    if (!names) return NULL;
    json_t *p = json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:o, s:o}", "capabilities",
                          names, "steps", (json_int_t)r->steps, "batch", (json_int_t)r->batch,
                          "group", (json_int_t)r->group, "micro_batch", (json_int_t)micro,
                          "iterations", (json_int_t)r->iterations, "lr", breed_real(r->lr),
                          "warmup", (json_int_t)r->warmup, "clip", breed_real(r->clip),
                          "weight_decay", breed_real(r->weight_decay));
    json_t *q = json_pack(
        "{s:o, s:s, s:o, s:o, s:s, s:b, s:I, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I}",
        "beta", breed_real(r->grpo.beta), "reference", eco_rl_reference_name(r->reference),
        "epsilon", breed_real(r->grpo.epsilon_low), "epsilon_high",
        breed_real(r->grpo.epsilon_high), "loss_type", eco_grpo_loss_type_name(r->grpo.loss_type),
        "scale_rewards", (int)r->scale_rewards, "resample", (json_int_t)r->resample,
        "reward_correct", breed_real(r->reward.correct), "reward_format",
        breed_real(r->reward.format), "length_penalty", breed_real(r->reward.length_penalty),
        "temperature", breed_real(r->temperature), "top_p", breed_real(r->top_p), "max_tokens",
        (json_int_t)max_tokens, "max_seq", (json_int_t)max_seq, "eval_every",
        (json_int_t)r->eval_every, "eval_n", (json_int_t)r->eval_n, "eval_seed",
        (json_int_t)r->eval_seed);
    if (!p || !q || json_object_update(p, q)) {
        json_decref(p);
        json_decref(q);
        return NULL;
    }
    json_decref(q);
    return p;
}

/* prompts_used and prompts_sha256 of the rl record dir/training.json into rep. */
static eco_status read_record(const char *dir, eco_breed_rl_report *rep) {
    char *path = eco_path_join(dir, "training.json");
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
    json_error_t err;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    const json_t *used = json_object_get(j, "prompts_used");
    const char *hex = json_string_value(json_object_get(j, "prompts_sha256"));
    eco_status st = ECO_STATUS_OK;
    if (!json_is_integer(used) || !hex || strlen(hex) != ECO_SHA256_HEX_LEN)
        st = eco_error(ECO_STATUS_EINTERNAL, "rl: %s: no prompts_used and prompts_sha256 (%s)",
                       path, j ? "not in the record" : err.text);
    else {
        rep->prompts_used = (int64_t)json_integer_value(used);
        memcpy(rep->prompts_sha256, hex, ECO_SHA256_HEX_LEN + 1);
    }
    json_decref(j);
    free(path);
    return st;
}

static json_t *result_json(const eco_breed_rl_report *r) {
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:s}", "steps_done",
                     (json_int_t)r->rl.steps_done, "first_reward", breed_real(r->rl.first_reward),
                     "final_reward", breed_real(r->rl.final_reward), "heldout_start",
                     breed_real(r->rl.heldout_start), "heldout_end", breed_real(r->rl.heldout_end),
                     "zero_signal_groups", (json_int_t)r->rl.zero_signal, "groups",
                     (json_int_t)r->rl.groups, "tokens", (json_int_t)r->rl.tokens, "prompts_used",
                     (json_int_t)r->prompts_used, "prompts_sha256", r->prompts_sha256);
}

eco_status eco_breed_rl(const eco_breed_rl_options *o, eco_breed_rl_report *rep) {
    eco_status st = check(o);
    if (st) return st;
    const eco_capability **caps = eco_calloc_array(o->n_capabilities, sizeof *caps);
    if (!caps) return eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
    if ((st = find_caps(o, caps))) {
        free(caps);
        return st;
    }
    eco_breed_rl_report r;
    memset(&r, 0, sizeof r);
    json_t *params = NULL, *parents = json_array();
    eco_output_dir od = {0};
    const char *inputs[2] = {o->child, o->base_model};
    if (!parents) {
        st = eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
        goto done;
    }
    if ((st = eco_output_begin(&od, o->out, inputs, 2, NULL, o->force ? ECO_OUTPUT_FORCE : 0)))
        goto done;

    eco_rl_options ro = o->rl;
    ro.model_dir = o->base_model;
    ro.init_adapter = o->child;
    ro.caps = caps;
    ro.n_caps = o->n_capabilities;
    ro.adapter_out = od.tmp;
    ro.work_dir = o->work_dir;
    ro.force = true; /* od.tmp is this run's own temporary folder */
    ro.resume = false;
    ro.stop_after = 0;
    ro.checkpoint_every = 0;
    ro.threads = o->threads;
    ro.progress = o->progress;
    ro.on_step = NULL;
    ro.on_step_ctx = NULL;
    if ((st = eco_rl_run(&ro, &r.rl))) goto done;
    if (!r.rl.finished) {
        st = eco_error(ECO_STATUS_EINTERNAL, "rl: the run stopped after %lld of %lld steps",
                       (long long)r.rl.steps_done, (long long)ro.steps);
        goto done;
    }
    if ((st = read_record(od.tmp, &r))) goto done;
    if ((st = breed_drop_training_files(od.tmp))) goto done;

    /* lineage: every setting as used, the result, the base and the child by digest */
    if (!(params = params_json(&ro, caps, o->n_capabilities))) {
        st = eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
        goto done;
    }
    if ((st = breed_weights_entry(o->base_model, "base", parents)) ||
        (st = breed_weights_entry(o->child, "parent", parents)))
        goto done;
    if ((st = breed_write_lineage_result(od.tmp, "rl", params, ro.seed, result_json(&r), parents)))
        goto done;
    st = eco_output_commit(&od);
    if (!st && rep) *rep = r;
done:
    if (st) eco_output_abort(&od);
    json_decref(params);
    json_decref(parents);
    free(caps);
    return st;
}
