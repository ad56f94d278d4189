/*
 * distill_run: `ecology distill` as a library call (eco_distill_run, trainer.h). Token
 * level when every teacher shares the student's tokenizer (teacher logits per micro-batch,
 * eco_train_forward_distill), sequence level otherwise (teacher completions written as
 * JSONL, then eco_trainer_run in full mode on them).
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/engine.h"
#include "ecology/model.h"
#include "ecology/tokenizer.h"
#include "ecology/trainer.h"

#ifndef ECO_VERSION
#define ECO_VERSION ECO_VERSION_STRING
#endif

void eco_distill_run_options_init(eco_distill_run_options *o) {
    memset(o, 0, sizeof *o);
    eco_trainer_options_init(&o->train);
    o->weight = 0.5;
    o->temperature = 2.0;
    o->max_tokens = 64;
}

static eco_status copy_tokenizer(const char *from_dir, const char *to_dir) {
    char *from = eco_path_join(from_dir, "tokenizer.json"), *to = eco_path_join(to_dir, "tokenizer.json");
    eco_status st = ECO_STATUS_OK;
    char *data = NULL;
    size_t len = 0;
    if (!from || !to) st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
    if (!st) st = eco_read_file(from, (size_t)1 << 30, &data, &len);
    if (!st) st = eco_write_file_atomic(to, data, len);
    free(data);
    free(from);
    free(to);
    return st;
}

static eco_status hex_of_file(const char *dir, const char *name, char hex[ECO_SHA256_HEX_LEN + 1]) {
    char *p = eco_path_join(dir, name);
    if (!p) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    uint8_t d[ECO_SHA256_LEN];
    eco_status st = eco_sha256_file(p, d);
    free(p);
    if (!st) eco_hex(hex, d, ECO_SHA256_LEN);
    return st;
}

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static eco_status token_level(const eco_distill_run_options *d, eco_trainer_result *r) {
    const eco_trainer_options *o = &d->train;
    eco_status st;
    eco_data_corpus *corpus = NULL;
    eco_tokenizer *tok = NULL;
    eco_data_tokens *tokens = NULL;
    eco_data_loader *loader = NULL;
    eco_train_model *model = NULL;
    eco_model **teachers = calloc(d->n_teachers, sizeof *teachers);
    float **tlogits = calloc(d->n_teachers, sizeof *tlogits);
    int32_t *inputs = NULL, *targets = NULL;
    uint8_t *mask = NULL;
    json_t *run = NULL, *tj = NULL;
    if (!teachers || !tlogits) {
        st = eco_error(ECO_STATUS_ENOMEM, "distill: out of memory");
        goto done;
    }
    if ((st = hex_of_file(o->model_dir, "model.safetensors", r->base_sha256))) goto done;
    if ((st = eco_data_corpus_load(o->data_path, &corpus))) goto done;
    memcpy(r->corpus_sha256, corpus->sha256_hex, sizeof r->corpus_sha256);
    if ((st = eco_tokenizer_load(o->model_dir, &tok))) goto done;
    eco_train_options to;
    memset(&to, 0, sizeof to);
    to.mode = ECO_TRAIN_MODE_FULL;
    to.seed = o->seed;
    to.max_batch = o->batch;
    to.max_seq = o->seq;
    if ((st = eco_train_model_create(o->model_dir, &to, &model))) goto done;
    const eco_model_config *cfg = eco_train_model_config(model);
    const int64_t V = cfg->vocab_size;
    if (cfg->n_eos < 1 || cfg->eos_token_ids[0] < 0 || cfg->eos_token_ids[0] >= eco_tokenizer_vocab_size(tok)) {
        st = eco_error(ECO_STATUS_EINVAL, "distill: %s: config.json has no usable eos_token_id", o->model_dir);
        goto done;
    }
    int32_t eos = (int32_t)cfg->eos_token_ids[0];
    if ((st = eco_data_tokenize(corpus, tok, eos, &tokens))) goto done;
    eco_data_loader_options lo = {.batch = o->batch, .seq = o->seq, .seed = o->seed, .shuffle = true,
                                  .pack = o->pack, .pad_id = eos};
    if ((st = eco_data_loader_create(tokens, &lo, &loader))) goto done;
    const size_t n = (size_t)(o->batch * o->seq);
    tj = json_array();
    for (size_t k = 0; k < d->n_teachers; k++) {
        if ((st = eco_model_load(d->teachers[k], &teachers[k]))) goto done;
        int64_t tv = eco_model_get_config(teachers[k])->vocab_size;
        if (tv != V) {
            st = eco_error(ECO_STATUS_EINVAL, "distill: teacher %s has vocab %lld, the student %lld",
                           d->teachers[k], (long long)tv, (long long)V);
            goto done;
        }
        char hex[ECO_SHA256_HEX_LEN + 1];
        if ((st = hex_of_file(d->teachers[k], "model.safetensors", hex))) goto done;
        tlogits[k] = eco_malloc_array(n * (size_t)V, sizeof(float));
        if (!tlogits[k] || !tj ||
            json_array_append_new(tj, json_pack("{s:s, s:s}", "path", d->teachers[k], "model_sha256", hex))) {
            st = eco_error(ECO_STATUS_ENOMEM, "distill: out of memory");
            goto done;
        }
    }
    inputs = eco_malloc_array(n, sizeof(int32_t));
    targets = eco_malloc_array(n, sizeof(int32_t));
    mask = eco_malloc_array(n, 1);
    run = json_pack("{s:s, s:{s:s, s:s}, s:{s:s, s:s, s:I, s:I}, s:{s:s, s:O, s:f, s:f}, "
                    "s:{s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:I}}",
                    "mode", "full", "base", "path", o->model_dir, "model_sha256", r->base_sha256, "data", "path",
                    o->data_path, "sha256", corpus->sha256_hex, "records", (json_int_t)corpus->n_records, "tokens",
                    (json_int_t)tokens->n_tokens, "distill", "level", "token", "teachers", tj, "weight", d->weight,
                    "temperature", d->temperature, "hyper", "steps", (json_int_t)o->steps, "batch",
                    (json_int_t)o->batch, "seq", (json_int_t)o->seq, "accum", (json_int_t)o->accum, "lr", o->lr,
                    "min_lr_ratio", o->min_lr_ratio, "weight_decay", o->weight_decay, "clip", o->grad_clip,
                    "warmup", (json_int_t)o->warmup, "seed", (json_int_t)o->seed);
    if (!inputs || !targets || !mask || !run) {
        st = eco_error(ECO_STATUS_ENOMEM, "distill: out of memory");
        goto done;
    }
    if ((st = eco_mkdir_p(o->out_dir))) goto done;
    eco_train_state *state = eco_train_model_state(model);
    eco_rng_seed(&state->data_rng, o->seed);
    eco_adamw_config ac = eco_adamw_config_default();
    ac.lr = o->lr;
    ac.beta1 = o->beta1;
    ac.beta2 = o->beta2;
    ac.eps = o->eps;
    ac.weight_decay = o->weight_decay;
    ac.grad_clip = o->grad_clip;
    ac.warmup_steps = o->warmup;
    ac.total_steps = o->steps;
    ac.min_lr_ratio = o->min_lr_ratio;
    const int64_t step_tokens = o->accum * o->batch * o->seq;
    char label[128];
    eco_progress prog;
    if (o->progress) {
        snprintf(label, sizeof label, "distill step 0/%lld", (long long)o->steps);
        eco_progress_begin(&prog, label, (double)(o->steps * step_tokens), "tok");
    }
    double last_loss = NAN, t0 = eco_now();
    while (state->step < o->steps) {
        eco_train_zero_grad(model);
        double loss_sum = 0;
        for (int64_t k = 0; k < o->accum; k++) {
            int64_t nt;
            if ((st = eco_data_loader_next(loader, inputs, targets, mask, &nt))) goto done;
            for (size_t i = 0; i < n; i++)
                if (!mask[i]) targets[i] = -1;
            for (size_t t = 0; t < d->n_teachers; t++)
                if ((st = eco_distill_teacher_logits_model(teachers[t], inputs, o->batch, o->seq, tlogits[t])))
                    goto done;
            eco_distill_losses dl;
            if ((st = eco_train_forward_distill(model, inputs, targets, (const float *const *)tlogits,
                                                d->n_teachers, V, o->batch, o->seq, (float)d->weight,
                                                (float)d->temperature, true, &dl)))
                goto done;
            if ((st = eco_train_backward(model, 1.0f / (float)o->accum))) goto done;
            loss_sum += dl.loss;
        }
        double gnorm, lr;
        if ((st = eco_train_step(model, &ac, &gnorm, &lr))) goto done;
        last_loss = loss_sum / (double)o->accum;
        if (!isfinite(last_loss)) {
            st = eco_error(ECO_STATUS_ERANGE, "distill: step %lld: loss is %g (try a lower --lr)",
                           (long long)state->step, last_loss);
            goto done;
        }
        if (isnan(r->first_loss)) r->first_loss = last_loss;
        r->tokens += step_tokens;
        eco_trainer_step_info info = {state->step, o->steps, last_loss, gnorm, lr, step_tokens};
        if (o->on_step) o->on_step(o->on_step_ctx, &info);
        if (o->progress) {
            snprintf(label, sizeof label, "distill step %lld/%lld loss %.4f", (long long)state->step,
                     (long long)o->steps, last_loss);
            eco_progress_update(&prog, (double)r->tokens);
        }
    }
    if (o->progress) eco_progress_end(&prog);
    r->seconds = eco_now() - t0;
    r->final_loss = last_loss;
    r->steps_done = state->step;
    r->trainable_floats = eco_train_num_floats(model);
    if ((st = eco_train_save_model(model, o->out_dir))) goto done;
    if ((st = copy_tokenizer(o->model_dir, o->out_dir))) goto done;
    json_t *j = json_pack("{s:s, s:s, s:O, s:i, s:I, s:o, s:I}", "tool", "ecology", "version", ECO_VERSION, "run",
                          run, "threads", eco_get_threads(), "steps_done", (json_int_t)state->step, "final_loss",
                          jnum(last_loss), "trainable_floats", (json_int_t)r->trainable_floats);
    char *path = eco_path_join(o->out_dir, "training.json");
    st = (j && path) ? eco_json_write_canonical_file(path, j) : eco_error(ECO_STATUS_ENOMEM, "out of memory");
    free(path);
    json_decref(j);
    if (!st) r->finished = true;
done:
    for (size_t k = 0; teachers && k < d->n_teachers; k++) eco_model_free(teachers[k]);
    for (size_t k = 0; tlogits && k < d->n_teachers; k++) free(tlogits[k]);
    free(teachers);
    free(tlogits);
    free(inputs);
    free(targets);
    free(mask);
    json_decref(tj);
    json_decref(run);
    eco_train_model_free(model);
    eco_data_loader_free(loader);
    eco_data_tokens_free(tokens);
    eco_tokenizer_free(tok);
    eco_data_corpus_free(corpus);
    return st;
}

static eco_status sequence_level(const eco_distill_run_options *d, eco_trainer_result *r) {
    const eco_trainer_options *o = &d->train;
    eco_status st = ECO_STATUS_OK;
    eco_engine **eng = calloc(d->n_teachers, sizeof *eng);
    char *work = eco_path_join(o->out_dir, "work");
    char *jsonl = work ? eco_path_join(work, "distill.jsonl") : NULL;
    if (!eng || !work || !jsonl) st = eco_error(ECO_STATUS_ENOMEM, "distill: out of memory");
    if (!st) st = eco_mkdir_p(work);
    for (size_t k = 0; !st && k < d->n_teachers; k++) st = eco_llama_engine_open(d->teachers[k], NULL, &eng[k]);
    if (!st) st = eco_distill_generate_jsonl(eng, d->n_teachers, o->data_path, jsonl, d->max_tokens, NULL);
    for (size_t k = 0; eng && k < d->n_teachers; k++)
        if (eng[k]) eco_engine_destroy(eng[k]);
    free(eng);
    if (!st) {
        eco_trainer_options t = *o;
        t.mode = ECO_TRAIN_MODE_FULL;
        t.data_path = jsonl;
        t.checkpoint_dir = work;
        st = eco_trainer_run(&t, r);
    }
    free(jsonl);
    free(work);
    return st;
}

eco_status eco_distill_run(const eco_distill_run_options *d, bool *token_level_out, eco_trainer_result *res) {
    if (!d) return eco_error(ECO_STATUS_EINVAL, "distill: NULL options");
    const eco_trainer_options *o = &d->train;
    if (!d->teachers || d->n_teachers == 0) return eco_error(ECO_STATUS_EINVAL, "distill: no teachers");
    for (size_t k = 0; k < d->n_teachers; k++)
        if (!d->teachers[k]) return eco_error(ECO_STATUS_EINVAL, "distill: teacher %zu is NULL", k);
    if (!o->model_dir || !o->data_path || !o->out_dir)
        return eco_error(ECO_STATUS_EINVAL, "distill: student, data and output folder are required");
    if (o->mode != ECO_TRAIN_MODE_FULL) return eco_error(ECO_STATUS_EINVAL, "distill: only full mode is supported");
    if (!(d->weight >= 0 && d->weight <= 1)) return eco_error(ECO_STATUS_EINVAL, "distill: weight %g outside [0, 1]", d->weight);
    if (!(d->temperature > 0) || !isfinite(d->temperature))
        return eco_error(ECO_STATUS_EINVAL, "distill: temperature %g is not > 0", d->temperature);
    if (d->max_tokens < 1) return eco_error(ECO_STATUS_EINVAL, "distill: max_tokens %d < 1", d->max_tokens);
    if (o->steps < 1 || o->batch < 1 || o->seq < 1 || o->accum < 1 || !(o->lr > 0) || !isfinite(o->lr))
        return eco_error(ECO_STATUS_EINVAL, "distill: steps, batch, seq, accum and lr must be positive");
    bool same = true;
    for (size_t k = 0; k < d->n_teachers && same; k++) {
        eco_status st = eco_distill_same_tokenizer(d->teachers[k], o->model_dir, &same);
        if (st) return st;
    }
    if (token_level_out) *token_level_out = same;
    if (o->threads > 0) eco_set_threads(o->threads);
    eco_trainer_result r;
    memset(&r, 0, sizeof r);
    r.first_loss = r.final_loss = NAN;
    if (same && (o->resume || o->stop_after > 0))
        return eco_error(ECO_STATUS_EINVAL, "distill: token-level runs do not support resume or stop_after");
    eco_status st = same ? token_level(d, &r) : sequence_level(d, &r);
    if (!st && res) *res = r;
    return st;
}
