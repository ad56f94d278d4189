/*
 * eco_rl_run: the GRPO loop of rl.h — rollouts from the policy, rewards from the checkers,
 * group-relative advantages, clipped updates of the LoRA adapter, checkpoints, the record.
 */
#include "ecology/safetensors.h"
#include "ecology/trainer.h"
#include "tasks/rl_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rl_ctx {
    const eco_rl_options *o;
    eco_engine *engine;
    eco_train_model *m;
    rl_stream stream;
    rl_heldout held;
    float *ref, *swap; /* [n_floats]: the reference's parameters (beta > 0), a spare arena */
    json_t *run, *curve, *heldout;
    char *work;
    int max_tokens;
    int64_t max_seq, rows;
    rl_sample *samples;          /* [rows] group-major */
    int32_t *tokens, *targets;   /* [rows, max_seq] */
    float *old, *refl, *rewards; /* [rows, max_seq], [rows, max_seq], [rows] */
    float *adv;                  /* [rows] */
    double *acc;                 /* [n_caps] */
} rl_ctx;

static json_t *jreal(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static void ctx_free(rl_ctx *c) {
    if (c->engine) eco_engine_destroy(c->engine);
    eco_train_model_free(c->m);
    rl_stream_free(&c->stream);
    rl_heldout_free(&c->held);
    free(c->ref);
    free(c->swap);
    json_decref(c->run);
    json_decref(c->curve);
    json_decref(c->heldout);
    free(c->work);
    if (c->samples)
        for (int64_t i = 0; i < c->rows; i++) rl_sample_free(&c->samples[i]);
    free(c->samples);
    free(c->tokens);
    free(c->targets);
    free(c->old);
    free(c->refl);
    free(c->rewards);
    free(c->adv);
    free(c->acc);
}

static eco_status check_options(const eco_rl_options *o) {
#define BAD(...) return eco_error(ECO_STATUS_EINVAL, "rl: " __VA_ARGS__)
    if (!o->model_dir) BAD("no base model folder");
    if (!o->adapter_out) BAD("no output adapter folder (--adapter-out)");
    if (!o->caps || o->n_caps == 0) BAD("no capability (--capability)");
    for (size_t i = 0; i < o->n_caps; i++)
        for (size_t j = 0; j < i; j++)
            if (o->caps[i] == o->caps[j]) BAD("capability %s given twice", o->caps[i]->name);
    if (o->steps < 1 || o->steps > 1000000)
        BAD("--steps %lld outside [1, 1000000]", (long long)o->steps);
    if (o->batch < 1 || o->batch > 4096) BAD("--batch %lld outside [1, 4096]", (long long)o->batch);
    if (o->group < 2 || o->group > 1024)
        BAD("--group %lld outside [2, 1024] (a group of one has no relative signal)",
            (long long)o->group);
    if (o->micro_batch < 0 || o->micro_batch > 65536)
        BAD("--micro-batch %lld outside [1, 65536]", (long long)o->micro_batch);
    if (o->iterations < 1 || o->iterations > 64)
        BAD("--iterations %lld outside [1, 64]", (long long)o->iterations);
    if (!isfinite(o->lr) || !(o->lr > 0)) BAD("--lr %g must be > 0", o->lr);
    if (o->warmup < 0) BAD("--warmup %lld < 0", (long long)o->warmup);
    if (!isfinite(o->clip)) BAD("--clip %g is not finite", o->clip);
    if (!isfinite(o->weight_decay) || o->weight_decay < 0)
        BAD("weight decay %g must be >= 0", o->weight_decay);
    if (!eco_rl_reference_name(o->reference)) BAD("reference %d unknown", (int)o->reference);
    if (o->resample < 0 || o->resample > 64)
        BAD("--resample %lld outside [0, 64]", (long long)o->resample);
    if (!isfinite(o->reward.correct) || !isfinite(o->reward.format) ||
        !isfinite(o->reward.length_penalty))
        BAD("reward weights must be finite");
    if (!isfinite(o->temperature) || !(o->temperature > 0) || o->temperature > 100)
        BAD("--temperature %g outside (0, 100] (GRPO samples; greedy has no group signal)",
            o->temperature);
    if (!isfinite(o->top_p) || !(o->top_p > 0) || o->top_p > 1)
        BAD("--top-p %g outside (0, 1]", o->top_p);
    if (o->max_tokens < 0 || o->max_tokens > 4096)
        BAD("--max-tokens %d outside [1, 4096]", o->max_tokens);
    if (o->max_seq < 0 || o->max_seq > 1 << 20)
        BAD("max_seq %lld out of range", (long long)o->max_seq);
    if (o->eval_every < 0) BAD("--eval-every %lld < 0", (long long)o->eval_every);
    if (o->eval_n > 100000) BAD("--eval-n %zu > 100000", o->eval_n);
    if (o->checkpoint_every < 0) BAD("--checkpoint-every %lld < 0", (long long)o->checkpoint_every);
    if (o->stop_after < 0) BAD("stop_after %lld < 0", (long long)o->stop_after);
#undef BAD
    eco_grpo_config g = o->grpo;
    g.temperature = o->temperature;
    g.max_completion_length = o->max_tokens > 0 ? o->max_tokens : 1;
    eco_status st = eco_grpo_config_check(&g);
    return st ? eco_error_wrap(st, "rl") : ECO_STATUS_OK;
}

/* The run's identity (rl.h): everything that decides the bytes, except threads. */
static json_t *run_json(const eco_rl_options *o, const char *base_hex, const char *init_hex,
                        const eco_peft_config *lora, int max_tokens, int64_t micro) {
    json_t *caps = json_array();
    for (size_t i = 0; caps && i < o->n_caps; i++)
        if (json_array_append_new(caps, json_string(o->caps[i]->name))) {
            json_decref(caps);
            caps = NULL;
        }
    if (!caps) return NULL;
    json_t *run = json_pack(
        "{s:s, s:{s:s, s:s}, s:o, s:{s:s, s:I}, s:{s:o, s:o, s:o}, "
        "s:{s:o, s:o, s:o, s:s, s:s, s:b, s:I, s:I, s:I}, s:{s:o, s:o, s:i}, "
        "s:{s:I, s:I, s:I, s:o, s:I, s:o, s:o, s:I}, s:{s:I, s:I, s:I}}",
        "mode", "rl", "base", "path", o->model_dir, "model_sha256", base_hex, "capabilities", caps,
        "prompts", "split", "train", "seed", (json_int_t)o->seed, "reward", "correct",
        jreal(o->reward.correct), "format", jreal(o->reward.format), "length_penalty",
        jreal(o->reward.length_penalty), "grpo", "epsilon_low", jreal(o->grpo.epsilon_low),
        "epsilon_high", jreal(o->grpo.epsilon_high), "beta", jreal(o->grpo.beta), "reference",
        eco_rl_reference_name(o->reference), "loss_type",
        eco_grpo_loss_type_name(o->grpo.loss_type), "scale_rewards", o->scale_rewards, "iterations",
        (json_int_t)o->iterations, "group", (json_int_t)o->group, "resample",
        (json_int_t)o->resample, "sampling", "temperature", jreal(o->temperature), "top_p",
        jreal(o->top_p), "max_tokens", max_tokens, "hyper", "steps", (json_int_t)o->steps, "batch",
        (json_int_t)o->batch, "micro_batch", (json_int_t)micro, "lr", jreal(o->lr), "warmup",
        (json_int_t)o->warmup, "clip", jreal(o->clip), "weight_decay", jreal(o->weight_decay),
        "seed", (json_int_t)o->seed, "eval", "every", (json_int_t)o->eval_every, "n",
        (json_int_t)o->eval_n, "seed", (json_int_t)o->eval_seed);
    if (!run) return NULL;
    char *pc;
    size_t len;
    json_error_t err;
    json_t *jl = NULL;
    if (eco_peft_config_to_json(lora, &pc, &len) == ECO_STATUS_OK) {
        jl = json_loadb(pc, len, 0, &err);
        free(pc);
    }
    if (!jl || json_object_set_new(run, "lora", jl)) {
        json_decref(run);
        return NULL;
    }
    if (init_hex &&
        json_object_set_new(run, "init", json_pack("{s:s}", "adapter_sha256", init_hex))) {
        json_decref(run);
        return NULL;
    }
    return run;
}

/* ---- reference and old log-probabilities ------------------------------------------------- */

/* logps [rows, T] of the rows under the model's parameters as they are, micro-batch by
 * micro-batch. */
static eco_status token_logps(rl_ctx *c, int64_t T, int64_t micro, float *out) {
    for (int64_t r0 = 0; r0 < c->rows; r0 += micro) {
        int64_t b = c->rows - r0 < micro ? c->rows - r0 : micro;
        eco_status st = eco_train_token_logps(c->m, c->tokens + r0 * T, c->targets + r0 * T, b, T,
                                              c->o->temperature, out + r0 * T);
        if (st) return st;
    }
    return ECO_STATUS_OK;
}

/* The reference's log-probabilities: its parameters swapped in, then back. */
static eco_status ref_logps(rl_ctx *c, int64_t T, int64_t micro) {
    float *p = eco_train_params(c->m);
    const size_t bytes = eco_train_num_floats(c->m) * sizeof(float);
    memcpy(c->swap, p, bytes);
    memcpy(p, c->ref, bytes);
    eco_status st = token_logps(c, T, micro, c->refl);
    memcpy(p, c->swap, bytes);
    return st;
}

/* ---- one step ---------------------------------------------------------------------------- */

static bool group_equal(const rl_sample *g, int64_t G) {
    for (int64_t j = 1; j < G; j++)
        if (g[j].reward.reward != g[0].reward.reward) return false;
    return true;
}

static int64_t count_zero(const rl_ctx *c) {
    int64_t z = 0;
    for (int64_t g = 0; g < c->o->batch; g++)
        z += group_equal(c->samples + g * c->o->group, c->o->group);
    return z;
}

/* The next stream position at or after *cursor whose prompt fits the context and a training
 * row (the others are passed over, the same way on every run); *cursor moves past it. */
static eco_status next_fit(rl_ctx *c, int64_t *cursor, int64_t *pos) {
    for (int64_t tries = 0;; tries++) {
        const eco_capability *cap = NULL;
        const eco_task_item *item = NULL;
        bool fits = false;
        eco_status st = rl_stream_get(&c->stream, *cursor, &cap, &item);
        if (!st) st = rl_prompt_fits(c->engine, item->prompt, c->max_tokens, c->max_seq, &fits);
        if (st) return st;
        if (fits) {
            *pos = (*cursor)++;
            return ECO_STATUS_OK;
        }
        (*cursor)++;
        if (tries == 1000)
            return eco_error(ECO_STATUS_ERANGE,
                             "rl: 1000 prompts in a row (the last of %s) do not fit the context "
                             "with --max-tokens %d and rows of %lld tokens (--max-seq)",
                             cap->name, c->max_tokens, (long long)c->max_seq + 1);
    }
}

/* Rollouts of the step's prompts with the policy as it stands, zero-signal groups resampled
 * from the stream. *cursor advances past every prompt used. */
static eco_status sample_step(rl_ctx *c, int64_t *cursor, eco_rl_step_info *info) {
    const eco_rl_options *o = c->o;
    const int64_t G = o->group;
    eco_model_adapter *ad = NULL;
    int64_t *pos = eco_malloc_array((size_t)o->batch, sizeof *pos);
    rl_sample *fresh = eco_calloc_array((size_t)c->rows, sizeof *fresh);
    eco_status st = ECO_STATUS_OK;
    if (!pos || !fresh) {
        st = eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
        goto done;
    }
    if ((st = eco_train_model_adapter(c->m, eco_llama_engine_model(c->engine), &ad))) goto done;
    for (int64_t g = 0; g < o->batch; g++)
        if ((st = next_fit(c, cursor, &pos[g]))) goto done;
    if ((st = rl_rollout(c->engine, ad, &c->stream, pos, (size_t)o->batch, o, c->max_tokens,
                         c->samples)))
        goto done;
    info->zero_signal = count_zero(c);
    for (int64_t round = 0; round < o->resample; round++) {
        int64_t k = 0;
        for (int64_t g = 0; g < o->batch; g++)
            if (group_equal(c->samples + g * G, G)) pos[k++] = g; /* the group's index, for now */
        if (k == 0) break;
        int64_t *newpos = eco_malloc_array((size_t)k, sizeof *newpos);
        if (!newpos) {
            st = eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
            goto done;
        }
        for (int64_t i = 0; i < k && !st; i++) st = next_fit(c, cursor, &newpos[i]);
        if (!st)
            st = rl_rollout(c->engine, ad, &c->stream, newpos, (size_t)k, o, c->max_tokens, fresh);
        free(newpos);
        if (st) goto done;
        for (int64_t i = 0; i < k; i++)
            for (int64_t j = 0; j < G; j++) {
                rl_sample_free(&c->samples[pos[i] * G + j]);
                c->samples[pos[i] * G + j] = fresh[i * G + j];
                memset(&fresh[i * G + j], 0, sizeof fresh[i * G + j]);
            }
        info->groups += k;
    }
    info->zero_signal_left = count_zero(c);
done:
    eco_model_adapter_free(ad);
    free(pos);
    free(fresh);
    return st;
}

/* Training rows [rows, T] from the samples: T is the longest row less one. */
static eco_status build_rows(rl_ctx *c, int64_t *T_out) {
    int64_t T = 1;
    for (int64_t i = 0; i < c->rows; i++) {
        const rl_sample *x = &c->samples[i];
        if (x->n_row - 1 > c->max_seq)
            return eco_error(ECO_STATUS_ERANGE,
                             "rl: a %s prompt with its completion is %lld tokens, over the "
                             "training rows' %lld (raise --max-seq)",
                             x->cap->name, (long long)x->n_row, (long long)c->max_seq + 1);
        if (x->n_row - 1 > T) T = x->n_row - 1;
    }
    const int32_t pad = c->samples[0].row[0];
    for (int64_t i = 0; i < c->rows; i++) {
        const rl_sample *x = &c->samples[i];
        int32_t *tk = c->tokens + i * T, *tg = c->targets + i * T;
        for (int64_t t = 0; t < T; t++) {
            tk[t] = t < x->n_row - 1 ? x->row[t] : pad;
            /* position t predicts row[t + 1]: a target where that is a completion token */
            tg[t] = (t + 1 >= x->n_prompt && t + 1 < x->n_row) ? x->row[t + 1] : -1;
        }
    }
    *T_out = T;
    return ECO_STATUS_OK;
}

static eco_status update_step(rl_ctx *c, const eco_adamw_config *ac, int64_t micro,
                              eco_rl_step_info *info) {
    const eco_rl_options *o = c->o;
    int64_t T = 1;
    eco_status st = build_rows(c, &T);
    if (st) return st;
    for (int64_t i = 0; i < c->rows; i++) c->rewards[i] = (float)c->samples[i].reward.reward;
    int64_t zero;
    if ((st = eco_grpo_advantages(c->rewards, o->batch, o->group, o->scale_rewards, c->adv, &zero)))
        return st;
    eco_grpo_config g = o->grpo;
    g.temperature = o->temperature;
    g.max_completion_length = c->max_tokens;
    if (g.beta > 0 && (st = ref_logps(c, T, micro))) return st;
    const bool use_old = o->iterations > 1;
    if (use_old && (st = token_logps(c, T, micro, c->old))) return st;
    const int64_t n_micro = (c->rows + micro - 1) / micro;
    for (int64_t it = 0; it < o->iterations; it++) {
        eco_train_zero_grad(c->m);
        double loss = 0, kl = 0, clip = 0;
        int64_t ntok = 0;
        for (int64_t r0 = 0; r0 < c->rows; r0 += micro) {
            int64_t b = c->rows - r0 < micro ? c->rows - r0 : micro;
            eco_grpo_stats s;
            st = eco_train_forward_grpo(
                c->m, c->tokens + r0 * T, c->targets + r0 * T, use_old ? c->old + r0 * T : NULL,
                g.beta > 0 ? c->refl + r0 * T : NULL, c->adv + r0, b, T, &g, true, &s, NULL);
            if (st) return st;
            if ((st = eco_train_backward(c->m, 1.0f / (float)n_micro))) return st;
            loss += s.loss / (double)n_micro;
            kl += s.kl * (double)s.n_tokens;
            clip += s.clip_ratio * (double)s.n_tokens;
            ntok += s.n_tokens;
        }
        double gnorm, lr;
        if ((st = eco_train_step(c->m, ac, &gnorm, &lr))) return st;
        if (!isfinite(loss) || !isfinite(gnorm))
            return eco_error(ECO_STATUS_ERANGE,
                             "rl: step %lld: loss %g, gradient norm %g (try a lower --lr)",
                             (long long)info->step, loss, gnorm);
        info->loss = loss;
        info->kl = ntok ? kl / (double)ntok : 0;
        info->clip_ratio = ntok ? clip / (double)ntok : 0;
    }
    return ECO_STATUS_OK;
}

/* ---- records ----------------------------------------------------------------------------- */

static eco_status curve_add(rl_ctx *c, const eco_rl_step_info *in) {
    json_t *e = json_pack(
        "{s:I, s:o, s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:I}", "step", (json_int_t)in->step,
        "reward", jreal(in->reward), "correct", jreal(in->correct), "format", jreal(in->format),
        "zero_signal", (json_int_t)in->zero_signal, "zero_signal_left",
        (json_int_t)in->zero_signal_left, "kl", jreal(in->kl), "clip_ratio", jreal(in->clip_ratio),
        "loss", jreal(in->loss), "tokens", (json_int_t)in->tokens);
    if (!e || json_array_append_new(c->curve, e))
        return eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
    return ECO_STATUS_OK;
}

static eco_status heldout_add(rl_ctx *c, int64_t step) {
    json_t *e = json_pack("{s:I}", "step", (json_int_t)step);
    for (size_t i = 0; e && i < c->o->n_caps; i++)
        if (json_object_set_new(e, c->o->caps[i]->name, json_real(c->acc[i]))) {
            json_decref(e);
            e = NULL;
        }
    if (!e || json_array_append_new(c->heldout, e))
        return eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
    return ECO_STATUS_OK;
}

static eco_status evaluate(rl_ctx *c, int64_t step, double *mean) {
    eco_model_adapter *ad = NULL;
    eco_status st = eco_train_model_adapter(c->m, eco_llama_engine_model(c->engine), &ad);
    if (!st) st = rl_heldout_eval(&c->held, c->engine, ad, c->acc);
    eco_model_adapter_free(ad);
    if (st) return eco_error_wrap(st, "rl: held-out evaluation at step %lld", (long long)step);
    double s = 0;
    for (size_t i = 0; i < c->o->n_caps; i++) s += c->acc[i];
    *mean = s / (double)c->o->n_caps;
    return heldout_add(c, step);
}

/* The curve so far beside the checkpoint (rl-curve.json), written first: a crash between the
 * two leaves it ahead, and a resume drops what lies past the checkpoint. */
static eco_status save(rl_ctx *c, double last) {
    json_t *j = json_pack("{s:O, s:O}", "curve", c->curve, "heldout", c->heldout);
    char *p = eco_path_join(c->work, "rl-curve.json");
    eco_status st = (!j || !p) ? eco_error(ECO_STATUS_ENOMEM, "rl: out of memory")
                               : eco_json_write_canonical_file(p, j);
    json_decref(j);
    free(p);
    return st ? st : eco_trainer_checkpoint_write(c->m, c->work, c->run, last);
}

static eco_status load_curve(rl_ctx *c, int64_t step) {
    char *p = eco_path_join(c->work, "rl-curve.json"), *text = NULL;
    size_t len;
    eco_status st = p ? eco_read_file(p, (size_t)1 << 28, &text, &len)
                      : eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
    if (st == ECO_STATUS_ENOTFOUND) /* a checkpoint without its curve: the record is lost */
        st = eco_error(ECO_STATUS_EFORMAT, "resume: %s: missing beside the checkpoint", p);
    json_t *j = NULL;
    if (!st) {
        json_error_t err;
        j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
        json_t *cv = json_object_get(j, "curve"), *ho = json_object_get(j, "heldout");
        if (!json_is_array(cv) || !json_is_array(ho))
            st = eco_error(ECO_STATUS_EFORMAT, "resume: %s: not an rl curve (%s)", p,
                           j ? "no curve or heldout array" : err.text);
        for (size_t k = 0; !st && k < 2; k++) {
            json_t *src = k ? ho : cv, *dst = k ? c->heldout : c->curve, *e;
            size_t i;
            json_array_foreach(src, i, e) {
                json_t *s = json_object_get(e, "step");
                if (!json_is_integer(s)) {
                    st = eco_error(ECO_STATUS_EFORMAT, "resume: %s: entry %zu has no step", p, i);
                    break;
                }
                if (json_integer_value(s) <= step && json_array_append(dst, e)) {
                    st = eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
                    break;
                }
            }
        }
        if (!st && (int64_t)json_array_size(c->curve) != step)
            st = eco_error(ECO_STATUS_EFORMAT,
                           "resume: %s holds %zu steps, the checkpoint %lld: the curve was lost", p,
                           json_array_size(c->curve), (long long)step);
    }
    json_decref(j);
    free(text);
    free(p);
    return st;
}

static eco_status finish(rl_ctx *c, int64_t cursor) {
    char hex[ECO_SHA256_HEX_LEN + 1];
    eco_status st = rl_stream_hash(&c->stream, cursor, hex);
    int64_t skipped = 0; /* prompts passed over: too long for the context or the rows */
    for (int64_t i = 0; i < cursor && !st; i++) {
        const eco_capability *cap = NULL;
        const eco_task_item *item = NULL;
        bool fits = true;
        if (!(st = rl_stream_get(&c->stream, i, &cap, &item)))
            st = rl_prompt_fits(c->engine, item->prompt, c->max_tokens, c->max_seq, &fits);
        skipped += !fits;
    }
    if (st) return st;
    size_t n = json_array_size(c->curve);
    json_t *j = json_pack(
        "{s:s, s:s, s:O, s:i, s:I, s:I, s:I, s:s, s:O, s:O, s:O}", "tool", "ecology", "version",
        ECO_VERSION, "run", c->run, "threads", eco_get_threads(), "steps_done", (json_int_t)n,
        "prompts_used", (json_int_t)cursor, "prompts_skipped", (json_int_t)skipped,
        "prompts_sha256", hex, "final", n ? json_array_get(c->curve, n - 1) : json_null(), "curve",
        c->curve, "heldout", c->heldout);
    if (!j) return eco_error(ECO_STATUS_ENOMEM, "training.json: out of memory");
    st = eco_trainer_commit(c->m, c->o->adapter_out, c->o->model_dir, j);
    json_decref(j);
    return st;
}

/* ---- the run ----------------------------------------------------------------------------- */

static void progress_line(const eco_rl_step_info *in, const rl_ctx *c) {
    fprintf(stderr,
            "rl step %lld/%lld  reward %.3f  correct %.1f%%  zero-signal %lld/%lld  kl %.4f  "
            "%.0f tok/s  (sample %.2f s, update %.2f s)\n",
            (long long)in->step, (long long)in->total_steps, in->reward, 100 * in->correct,
            (long long)in->zero_signal, (long long)c->o->batch, in->kl,
            in->sample_seconds > 0 ? (double)in->tokens / in->sample_seconds : 0.0,
            in->sample_seconds, in->update_seconds);
    if (in->n_heldout) {
        fprintf(stderr, "rl step %lld held-out:", (long long)in->step);
        for (size_t i = 0; i < c->o->n_caps; i++)
            fprintf(stderr, " %s %.1f%%", c->o->caps[i]->name, 100 * in->heldout[i]);
        fputc('\n', stderr);
    }
}

static eco_status setup(rl_ctx *c, const eco_rl_options *o, eco_peft_config *lora, int64_t *micro,
                        bool *resumed, eco_rl_result *r) {
    eco_status st;
    if ((st = eco_path_require_dir(o->model_dir, ECO_MODEL_DIR_EXPECTED))) return st;
    eco_trainer_options to;
    eco_trainer_options_init(&to);
    to.model_dir = o->model_dir;
    to.mode = ECO_TRAIN_MODE_LORA;
    to.adapter_out = o->adapter_out;
    to.work_dir = o->work_dir;
    to.force = o->force;
    to.resume = o->resume;
    const char *in[1] = {o->init_adapter};
    if ((st = eco_trainer_output_check(&to, in, o->init_adapter ? 1 : 0))) return st;
    c->work = o->work_dir ? eco_strdup(o->work_dir) : eco_path_join(o->adapter_out, ECO_WORK_DIR);
    if (!c->work) return eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");

    char base_hex[ECO_SHA256_HEX_LEN + 1], init_hex[ECO_SHA256_HEX_LEN + 1];
    if ((st = eco_weights_digest(o->model_dir, base_hex))) return st;
    *lora = o->lora;
    if (o->init_adapter) {
        char *f = eco_path_join(o->init_adapter, "adapter_model.safetensors");
        st = f ? eco_sha256_file_hex(f, init_hex) : eco_error(ECO_STATUS_ENOMEM, "out of memory");
        free(f);
        if (st || (st = eco_peft_config_load(o->init_adapter, lora))) return st;
    }
    if (!lora->base_model_name_or_path[0])
        snprintf(lora->base_model_name_or_path, sizeof lora->base_model_name_or_path, "%s",
                 o->model_dir);

    if ((st = eco_llama_engine_open(o->model_dir, NULL, &c->engine))) return st;
    const eco_model_config *cfg = eco_model_get_config(eco_llama_engine_model(c->engine));
    size_t mt = 0;
    for (size_t i = 0; i < o->n_caps; i++)
        if (o->caps[i]->max_completion_bytes > mt) mt = o->caps[i]->max_completion_bytes;
    c->max_tokens = o->max_tokens > 0 ? o->max_tokens : (int)mt + 8;
    c->max_seq = o->max_seq > 0 ? o->max_seq : 256;
    if (c->max_seq > cfg->max_position_embeddings) c->max_seq = cfg->max_position_embeddings;
    if (c->max_tokens >= c->max_seq)
        return eco_error(ECO_STATUS_EINVAL,
                         "rl: --max-tokens %d leaves no room for a prompt in "
                         "rows of %lld tokens",
                         c->max_tokens, (long long)c->max_seq);
    *micro = o->micro_batch > 0 ? o->micro_batch : o->group;
    c->rows = o->batch * o->group;
    if (*micro > c->rows) *micro = c->rows;

    eco_train_options tro;
    memset(&tro, 0, sizeof tro);
    tro.mode = ECO_TRAIN_MODE_LORA;
    tro.lora = *lora;
    tro.seed = o->seed;
    tro.max_batch = *micro;
    tro.max_seq = c->max_seq;
    if ((st = eco_train_model_create(o->model_dir, &tro, &c->m))) return st;
    if (o->init_adapter && (st = eco_train_load_lora(c->m, o->init_adapter))) return st;

    const size_t nf = eco_train_num_floats(c->m);
    if (o->grpo.beta > 0) { /* the reference: the adapter now, or with B = 0 the bare base */
        c->ref = eco_malloc_array(nf, sizeof(float));
        c->swap = eco_malloc_array(nf, sizeof(float));
        if (!c->ref || !c->swap) return eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
        memcpy(c->ref, eco_train_params(c->m), nf * sizeof(float));
        if (o->reference == ECO_RL_REF_BASE)
            for (size_t i = 0; i < eco_train_num_params(c->m); i++) {
                const eco_train_param *p = eco_train_param_at(c->m, i);
                if (strstr(p->name, "lora_B"))
                    memset(c->ref + p->offset, 0, p->numel * sizeof(float));
            }
    }
    const size_t cells = (size_t)c->rows * (size_t)c->max_seq;
    c->samples = eco_calloc_array((size_t)c->rows, sizeof *c->samples);
    c->tokens = eco_malloc_array(cells, sizeof(int32_t));
    c->targets = eco_malloc_array(cells, sizeof(int32_t));
    c->old = o->iterations > 1 ? eco_malloc_array(cells, sizeof(float)) : NULL;
    c->refl = o->grpo.beta > 0 ? eco_malloc_array(cells, sizeof(float)) : NULL;
    c->rewards = eco_malloc_array((size_t)c->rows, sizeof(float));
    c->adv = eco_malloc_array((size_t)c->rows, sizeof(float));
    c->acc = eco_calloc_array(o->n_caps, sizeof(double));
    c->run = run_json(o, base_hex, o->init_adapter ? init_hex : NULL, lora, c->max_tokens, *micro);
    c->curve = json_array();
    c->heldout = json_array();
    if (!c->samples || !c->tokens || !c->targets || (o->iterations > 1 && !c->old) ||
        (o->grpo.beta > 0 && !c->refl) || !c->rewards || !c->adv || !c->acc || !c->run ||
        !c->curve || !c->heldout)
        return eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
    if ((st = rl_stream_init(&c->stream, o->caps, o->n_caps, o->seed))) return st;
    if (o->eval_n > 0 &&
        (st = rl_heldout_init(&c->held, o->caps, o->n_caps, o->eval_n, o->eval_seed)))
        return st;
    if ((st = eco_mkdir_p(c->work))) return st;
    double last;
    if (o->resume) {
        if ((st = eco_trainer_checkpoint_restore(c->m, c->work, c->run, resumed, &last))) return st;
        if (*resumed && (st = load_curve(c, eco_train_model_state(c->m)->step / o->iterations)))
            return st;
    }
    r->resumed = *resumed;
    return ECO_STATUS_OK;
}

eco_status eco_rl_run(const eco_rl_options *o, eco_rl_result *res) {
    if (!o) return eco_error(ECO_STATUS_EINVAL, "rl: NULL options");
    eco_status st = check_options(o);
    if (st) return st;
    if (o->threads > 0) eco_set_threads(o->threads);
    rl_ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    eco_rl_result r;
    memset(&r, 0, sizeof r);
    r.first_reward = r.final_reward = r.heldout_start = r.heldout_end = NAN;
    eco_peft_config lora;
    int64_t micro = 1;
    bool resumed = false;
    if ((st = setup(&c, o, &lora, &micro, &resumed, &r))) goto done;

    eco_train_state *state = eco_train_model_state(c.m);
    int64_t step = state->step / o->iterations;
    int64_t cursor = resumed ? state->data_position : 0;
    r.start_step = step;
    eco_adamw_config ac = eco_adamw_config_default();
    ac.lr = o->lr;
    ac.weight_decay = o->weight_decay;
    ac.grad_clip = o->clip;
    ac.warmup_steps = o->warmup;
    ac.total_steps = 0; /* constant after warm-up: RL runs are short and stop at will */
    int64_t end = o->steps;
    if (o->stop_after > 0 && o->stop_after < end) end = o->stop_after;
    double t_start = eco_now();
    if (o->eval_n > 0 && step == 0) {
        double mean;
        if ((st = evaluate(&c, 0, &mean))) goto done;
        r.heldout_start = mean;
        if (o->progress) {
            eco_rl_step_info z = {
                .total_steps = o->steps, .n_heldout = o->n_caps, .heldout = c.acc};
            fprintf(stderr, "rl step 0 held-out:");
            for (size_t i = 0; i < o->n_caps; i++)
                fprintf(stderr, " %s %.1f%%", o->caps[i]->name, 100 * z.heldout[i]);
            fputc('\n', stderr);
        }
    }
    double last = NAN;
    while (step < end) {
        eco_rl_step_info info;
        memset(&info, 0, sizeof info);
        info.step = step + 1;
        info.total_steps = o->steps;
        info.groups = o->batch;
        double t0 = eco_now();
        if ((st = sample_step(&c, &cursor, &info))) goto done;
        double t1 = eco_now();
        for (int64_t i = 0; i < c.rows; i++) {
            info.reward += c.samples[i].reward.reward / (double)c.rows;
            info.correct += (c.samples[i].reward.correct ? 1.0 : 0.0) / (double)c.rows;
            info.format += (c.samples[i].reward.format ? 1.0 : 0.0) / (double)c.rows;
            info.tokens += (int64_t)c.samples[i].n_tokens;
        }
        if ((st = update_step(&c, &ac, micro, &info))) goto done;
        state->data_position = cursor;
        step++;
        info.sample_seconds = t1 - t0;
        info.update_seconds = eco_now() - t1;
        r.sample_seconds += info.sample_seconds;
        r.update_seconds += info.update_seconds;
        r.zero_signal += info.zero_signal;
        r.groups += info.groups;
        r.tokens += info.tokens;
        if (isnan(r.first_reward)) r.first_reward = info.reward;
        r.final_reward = info.reward;
        last = info.loss;
        if ((st = curve_add(&c, &info))) goto done;
        if (o->eval_n > 0 &&
            ((o->eval_every > 0 && step % o->eval_every == 0) || step == o->steps)) {
            double mean;
            if ((st = evaluate(&c, step, &mean))) goto done;
            if (isnan(r.heldout_start)) r.heldout_start = mean;
            r.heldout_end = mean;
            info.n_heldout = o->n_caps;
            info.heldout = c.acc;
        }
        if (o->progress) progress_line(&info, &c);
        if (o->on_step) o->on_step(o->on_step_ctx, &info);
        if (o->checkpoint_every > 0 && step % o->checkpoint_every == 0 && step < end &&
            (st = save(&c, last)))
            goto done;
    }
    r.seconds = eco_now() - t_start;
    if ((st = save(&c, last))) goto done;
    r.steps_done = step;
    if (step >= o->steps) {
        if ((st = finish(&c, cursor))) goto done;
        r.finished = true;
    }
    if (res) *res = r;
done:
    ctx_free(&c);
    return st;
}
