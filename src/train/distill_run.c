/*
 * distill_run: `ecology distill` as a library call (eco_distill_run, trainer.h). Token
 * level when every teacher shares the student's tokenizer (eco_trainer_run with a forward
 * hook: teacher logits per micro-batch, eco_train_forward_distill_pos; with doc_mask both
 * teachers and student see each packed document alone), sequence level
 * otherwise (teacher completions written as JSONL, then eco_trainer_run in full mode on
 * them; the JSONL and the checkpoints in the working folder, out_dir/.work by default). Both
 * are the trainer's loop, so both checkpoint and resume, and both write the student into a
 * temporary sibling of out_dir renamed into place at the end.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/config.h"
#include "ecology/engine.h"
#include "ecology/model.h"
#include "ecology/tokenizer.h"
#include "ecology/trainer.h"

void eco_distill_run_options_init(eco_distill_run_options *o) {
    memset(o, 0, sizeof *o);
    eco_trainer_options_init(&o->train);
    o->weight = 0.5;
    o->temperature = 2.0;
    o->max_tokens = 64;
}

/* The teachers of a token-level run, for the trainer's forward hook. */
typedef struct teacher_set {
    eco_model **models; /* [n] */
    float **logits;     /* [n][batch·seq·V] */
    size_t n;
    int64_t vocab;
    float weight, temperature;
} teacher_set;

/* One micro-batch: the teachers' logits on inputs, then the student's KL+CE mix
 * (eco_train_forward_distill_pos; positions NULL without doc_mask), whose backward pass the
 * trainer runs. */
static eco_status distill_forward(void *ctx, eco_train_model *m, const int32_t *inputs,
                                  const int32_t *targets, const int32_t *positions, int64_t batch,
                                  int64_t seq, float *loss) {
    teacher_set *ts = ctx;
    for (size_t t = 0; t < ts->n; t++) {
        eco_status st = eco_distill_teacher_logits_model(ts->models[t], inputs, positions, batch,
                                                         seq, ts->logits[t]);
        if (st) return st;
    }
    eco_distill_losses dl;
    eco_status st = eco_train_forward_distill_pos(
        m, inputs, targets, positions, (const float *const *)ts->logits, ts->n, ts->vocab, batch,
        seq, ts->weight, ts->temperature, true, &dl);
    if (!st) *loss = dl.loss;
    return st;
}

/* Token level: the trainer's loop (checkpoints and resume included) with the teachers'
 * distribution as the target; training.json's run gains "distill". */
static eco_status token_level(const eco_distill_run_options *d, eco_trainer_result *r) {
    const eco_trainer_options *o = &d->train;
    teacher_set ts = {
        .n = d->n_teachers, .weight = (float)d->weight, .temperature = (float)d->temperature};
    json_t *tj = json_array(), *extra = NULL;
    eco_model_config scfg;
    char *scfg_path = eco_path_join(o->model_dir, "config.json");
    eco_status st = ECO_STATUS_OK;
    ts.models = calloc(d->n_teachers, sizeof *ts.models);
    ts.logits = calloc(d->n_teachers, sizeof *ts.logits);
    if (!ts.models || !ts.logits || !tj || !scfg_path) {
        st = eco_error(ECO_STATUS_ENOMEM, "distill: out of memory");
        goto done;
    }
    if ((st = eco_config_load(scfg_path, &scfg))) goto done;
    ts.vocab = scfg.vocab_size;
    size_t n;
    if (!eco_mul_ok((size_t)o->batch, (size_t)o->seq, &n) || !eco_mul_ok(n, (size_t)ts.vocab, &n)) {
        st = eco_error(ECO_STATUS_EOVERFLOW, "distill: batch × seq × vocab overflows");
        goto done;
    }
    for (size_t k = 0; k < d->n_teachers; k++) {
        if ((st = eco_model_load(d->teachers[k], &ts.models[k]))) goto done;
        int64_t tv = eco_model_get_config(ts.models[k])->vocab_size;
        if (tv != ts.vocab) {
            st =
                eco_error(ECO_STATUS_EINVAL, "distill: teacher %s has vocab %lld, the student %lld",
                          d->teachers[k], (long long)tv, (long long)ts.vocab);
            goto done;
        }
        char hex[ECO_SHA256_HEX_LEN + 1];
        if ((st = eco_weights_digest(d->teachers[k], hex))) goto done;
        ts.logits[k] = eco_malloc_array(n, sizeof(float));
        if (!ts.logits[k] ||
            json_array_append_new(
                tj, json_pack("{s:s, s:s}", "path", d->teachers[k], "model_sha256", hex))) {
            st = eco_error(ECO_STATUS_ENOMEM, "distill: out of memory");
            goto done;
        }
    }
    extra = json_pack("{s:{s:s, s:O, s:f, s:f}}", "distill", "level", "token", "teachers", tj,
                      "weight", d->weight, "temperature", d->temperature);
    if (!extra) {
        st = eco_error(ECO_STATUS_ENOMEM, "distill: out of memory");
        goto done;
    }
    eco_trainer_options t = *o;
    t.mode = ECO_TRAIN_MODE_FULL;
    t.forward = distill_forward;
    t.forward_ctx = &ts;
    t.run_extra = extra;
    st = eco_trainer_run(&t, r);
done:
    for (size_t k = 0; ts.models && k < d->n_teachers; k++) eco_model_free(ts.models[k]);
    for (size_t k = 0; ts.logits && k < d->n_teachers; k++) free(ts.logits[k]);
    free(ts.models);
    free(ts.logits);
    free(scfg_path);
    json_decref(tj);
    json_decref(extra);
    return st;
}

static eco_status sequence_level(const eco_distill_run_options *d, eco_trainer_result *r) {
    const eco_trainer_options *o = &d->train;
    eco_status st = ECO_STATUS_OK;
    eco_engine **eng = calloc(d->n_teachers, sizeof *eng);
    char *work = o->work_dir ? eco_strdup(o->work_dir) : eco_path_join(o->out_dir, ECO_WORK_DIR);
    char *jsonl = work ? eco_path_join(work, "distill.jsonl") : NULL;
    if (!eng || !work || !jsonl) st = eco_error(ECO_STATUS_ENOMEM, "distill: out of memory");
    if (!st) st = eco_mkdir_p(work);
    for (size_t k = 0; !st && k < d->n_teachers; k++)
        st = eco_llama_engine_open(d->teachers[k], NULL, &eng[k]);
    if (!st)
        st = eco_distill_generate_jsonl(eng, d->n_teachers, o->data_path, jsonl, d->max_tokens,
                                        NULL);
    for (size_t k = 0; eng && k < d->n_teachers; k++)
        if (eng[k]) eco_engine_destroy(eng[k]);
    free(eng);
    /* training.json's run records the distillation (add registers the student as distilled) */
    json_t *tj = json_array(), *extra = NULL;
    for (size_t k = 0; !st && k < d->n_teachers; k++) {
        char hex[ECO_SHA256_HEX_LEN + 1];
        if ((st = eco_weights_digest(d->teachers[k], hex))) break;
        if (!tj || json_array_append_new(
                       tj, json_pack("{s:s, s:s}", "path", d->teachers[k], "model_sha256", hex)))
            st = eco_error(ECO_STATUS_ENOMEM, "distill: out of memory");
    }
    if (!st && !(extra = json_pack("{s:{s:s, s:O, s:i}}", "distill", "level", "sequence",
                                   "teachers", tj, "max_tokens", d->max_tokens)))
        st = eco_error(ECO_STATUS_ENOMEM, "distill: out of memory");
    if (!st) {
        eco_trainer_options t = *o;
        t.mode = ECO_TRAIN_MODE_FULL;
        t.data_path = jsonl;
        t.work_dir = work;
        t.run_extra = extra;
        st = eco_trainer_run(&t, r);
    }
    json_decref(tj);
    json_decref(extra);
    free(jsonl);
    free(work);
    return st;
}

eco_status eco_distill_run(const eco_distill_run_options *d, bool *token_level_out,
                           eco_trainer_result *res) {
    if (!d) return eco_error(ECO_STATUS_EINVAL, "distill: NULL options");
    const eco_trainer_options *o = &d->train;
    if (!d->teachers || d->n_teachers == 0)
        return eco_error(ECO_STATUS_EINVAL, "distill: no teachers");
    for (size_t k = 0; k < d->n_teachers; k++)
        if (!d->teachers[k]) return eco_error(ECO_STATUS_EINVAL, "distill: teacher %zu is NULL", k);
    if (!o->model_dir || !o->data_path || !o->out_dir)
        return eco_error(ECO_STATUS_EINVAL,
                         "distill: student, data and output folder are required");
    if (o->mode != ECO_TRAIN_MODE_FULL)
        return eco_error(ECO_STATUS_EINVAL, "distill: only full mode is supported");
    if (!(d->weight >= 0 && d->weight <= 1))
        return eco_error(ECO_STATUS_EINVAL, "distill: weight %g outside [0, 1]", d->weight);
    if (!(d->temperature > 0) || !isfinite(d->temperature))
        return eco_error(ECO_STATUS_EINVAL, "distill: temperature %g is not > 0", d->temperature);
    if (d->max_tokens < 1)
        return eco_error(ECO_STATUS_EINVAL, "distill: max_tokens %d < 1", d->max_tokens);
    if (o->steps < 1 || o->batch < 1 || o->seq < 1 || o->accum < 1 || !(o->lr > 0) ||
        !isfinite(o->lr))
        return eco_error(ECO_STATUS_EINVAL,
                         "distill: steps, batch, seq, accum and lr must be positive");
    /* before the teachers run: neither the student nor a teacher is overwritten */
    eco_status cst = eco_trainer_output_check(o, (const char *const *)d->teachers, d->n_teachers);
    if (cst) return cst;
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
    eco_status st = same ? token_level(d, &r) : sequence_level(d, &r);
    if (!st && res) *res = r;
    return st;
}
