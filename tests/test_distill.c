/*
 * Distillation tests.
 *
 * Token level: the mixed loss (1 − w)·CE + w·τ²·KL(p ‖ softmax(z/τ)), its parts and the
 * gradient of every trainable tensor against PyTorch autograd (tests/fixtures/train/distill_*,
 * written by scripts/make_train_fixtures.py: a full Llama student with two teachers of other
 * shapes, w 0.5, τ 2, masked prompt; a LoRA Qwen2 student with one teacher, w 0.8, τ 0.5);
 * the teacher-logits helpers (inference model and eval-mode training model) against the
 * teachers' torch logits; w = 0 bit-identical to plain cross-entropy; w = 1 with the
 * student's own logits as teacher gives zero KL and an exactly zero gradient at several
 * temperatures; τ² scaling and finite differences of the mixed loss at τ = 3; a plain
 * forward after a distillation forward is plain again; argument errors (vocabulary
 * mismatch first); a row of two packed documents with positions gives the teachers' logits,
 * loss and gradients of two rows of their own. Tokenizer identity through canonical hashes.
 *
 * Sequence level: tiny random teachers (preset "tiny") complete prompts greedily; the JSONL
 * has one line per prompt holding the engine's greedy completion (with two teachers: the one
 * with the higher mean log-probability); errors leave no file behind.
 *
 * Tolerances: loss, ce, kl 1e-5 (relative to max(1, |value|)); gradients 1e-4 absolute;
 * logits (student and teachers) 1e-4 absolute; finite differences 3e-3 + 3%.
 */
#include "test_util.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/engine.h"
#include "ecology/model.h"
#include "ecology/safetensors.h"
#include "ecology/train.h"

#define LOSS_TOL  1e-5
#define GRAD_TOL  1e-4
#define LOGIT_TOL 1e-4

typedef struct distill_case {
    const char *name;
    eco_train_mode mode;
    int64_t r;
    double alpha;
    const char *targets; /* letters: q k v o g u d */
    int n_teachers;
} distill_case;

/* Must match scripts/make_train_fixtures.py write_distill_cases(). */
static const distill_case CASES[] = {
    {"distill_llama", ECO_TRAIN_MODE_FULL, 0, 0, "", 2},
    {"distill_lora_qwen2", ECO_TRAIN_MODE_LORA, 2, 4, "qvod", 1},
};
#define N_CASES (sizeof CASES / sizeof CASES[0])

typedef eco_test_train_fixture fixture;

/* Opens case dc's fixture and the student model on it (LoRA: with the fixture's A and B). */
static eco_train_model *open_case(fixture *fx, const distill_case *dc) {
    eco_test_train_fixture_open(fx, dc->name, dc->n_teachers);
    eco_train_options o;
    memset(&o, 0, sizeof o);
    o.mode = dc->mode;
    o.seed = 7;
    o.max_batch = fx->B;
    o.max_seq = fx->T;
    if (dc->mode == ECO_TRAIN_MODE_LORA) {
        o.lora.r = dc->r;
        o.lora.lora_alpha = dc->alpha;
        static const char letters[] = "qkvogud";
        for (const char *p = dc->targets; *p; p++)
            o.lora.targets[strchr(letters, *p) - letters] = true;
    }
    eco_train_model *m;
    ECO_ASSERT_OK(eco_train_model_create(fx->dir, &o, &m));
    eco_test_load_lora_params(m, fx->exp);
    return m;
}

/* Teacher k of the fixture as an inference model; returns its folder (to free). */
static char *open_teacher(const fixture *fx, int k, eco_model **tm) {
    char rel[32];
    snprintf(rel, sizeof rel, "teacher%d", k);
    char *tdir = eco_path_join(fx->dir, rel);
    assert_non_null(tdir);
    ECO_ASSERT_OK(eco_model_load(tdir, tm));
    return tdir;
}

static int64_t vocab(eco_train_model *m) { return eco_train_model_config(m)->vocab_size; }

static double rel_diff(double got, double want) { return fabs(got - want) / fmax(1.0, fabs(want)); }

/* ---- mixed loss and every gradient against torch ------------------------------------------ */

static void test_distill_vs_torch(void **state) {
    (void)state;
    for (size_t c = 0; c < N_CASES; c++) {
        const distill_case *dc = &CASES[c];
        fixture fx;
        eco_train_model *m = open_case(&fx, dc);
        const int64_t V = vocab(m), NV = fx.B * fx.T * V;

        /* the teachers' logits from our forward (inference model and eval-mode training model) */
        float *tl = malloc((size_t)NV * sizeof(float));
        const float *teachers[4];
        float *ours[4];
        for (int k = 0; k < dc->n_teachers; k++) {
            eco_model *tm;
            char *tdir = open_teacher(&fx, k, &tm);
            assert_int_equal(eco_model_get_config(tm)->vocab_size, V);
            ours[k] = malloc((size_t)NV * sizeof(float));
            ECO_ASSERT_OK(
                eco_distill_teacher_logits_model(tm, fx.tokens, NULL, fx.B, fx.T, ours[k]));
            double d1 = eco_test_max_abs_diff(ours[k], fx.teacher[k], (size_t)NV);
            eco_train_options to = {
                .mode = ECO_TRAIN_MODE_FULL, .max_batch = fx.B, .max_seq = fx.T};
            eco_train_model *ttm;
            ECO_ASSERT_OK(eco_train_model_create(tdir, &to, &ttm));
            ECO_ASSERT_OK(eco_distill_teacher_logits_train(ttm, fx.tokens, NULL, fx.B, fx.T, tl));
            assert_int_equal(eco_train_model_state(ttm)->forward_counter, 0); /* eval mode */
            double d2 = eco_test_max_abs_diff(tl, fx.teacher[k], (size_t)NV);
            printf("%-20s teacher %d logits vs torch: eco_model %.2e, eco_train (eval) %.2e\n",
                   dc->name, k, d1, d2);
            assert_true(d1 <= LOGIT_TOL);
            assert_true(d2 <= LOGIT_TOL);
            eco_train_model_free(ttm);
            eco_model_free(tm);
            free(tdir);
            teachers[k] = fx.teacher[k];
        }

        for (int pass = 0; pass < 2; pass++) { /* torch's teacher logits, then ours */
            eco_distill_losses L;
            ECO_ASSERT_OK(eco_train_forward_distill(
                m, fx.tokens, fx.targets, pass ? (const float *const *)ours : teachers,
                (size_t)dc->n_teachers, V, fx.B, fx.T, fx.weight, fx.temperature, true, &L));
            const double dl = rel_diff(L.loss, eco_test_scalar(fx.exp, "loss"));
            const double dce = rel_diff(L.ce, eco_test_scalar(fx.exp, "ce"));
            const double dkl = rel_diff(L.kl, eco_test_scalar(fx.exp, "kl"));
            const double dlogit = eco_test_max_abs_diff(
                eco_train_logits(m), eco_test_must_find(fx.exp, "logits")->data, (size_t)NV);
            printf("%-20s [%s teacher logits] w %.2f τ %.2f: loss %.6f (torch %.6f) diff %.2e, ce "
                   "diff %.2e, kl %.6f "
                   "diff %.2e, logits %.2e\n",
                   dc->name, pass ? "our" : "torch", fx.weight, fx.temperature, L.loss,
                   eco_test_scalar(fx.exp, "loss"), dl, dce, L.kl, dkl, dlogit);
            assert_true(dl <= LOSS_TOL && dce <= LOSS_TOL && dkl <= LOSS_TOL);
            assert_true(dlogit <= LOGIT_TOL);
            assert_true(fabs((double)L.loss - ((1.0 - fx.weight) * L.ce +
                                               fx.weight * fx.temperature * fx.temperature *
                                                   L.kl)) <= 1e-6 * fmax(1.0, L.loss));
            eco_train_zero_grad(m);
            ECO_ASSERT_OK(eco_train_backward(m, 1.0f));
            eco_test_check_grads(m, fx.exp, dc->name, GRAD_TOL, false);
        }
        for (int k = 0; k < dc->n_teachers; k++) free(ours[k]);
        free(tl);
        eco_train_model_free(m);
        eco_test_train_fixture_close(&fx);
    }
}

/* ---- packed documents ------------------------------------------------------------------- */

/* Teacher logits of two rows [A | B | c] and [D], c a one-token document, with positions:
 * the largest difference from each document run alone. */
static double two_rows_by_document(eco_model *tm, const int32_t *tokens, int64_t T, int64_t V) {
    const int64_t a = T / 3, starts[4] = {0, a, T - 1, T}, ends[4] = {a, T - 1, T, 2 * T};
    int32_t *pos = malloc((size_t)(2 * T) * sizeof(int32_t));
    float *all = malloc((size_t)(2 * T * V) * sizeof(float)),
          *one = malloc((size_t)(T * V) * sizeof(float));
    for (int d = 0; d < 4; d++)
        for (int64_t i = starts[d]; i < ends[d]; i++) pos[i] = (int32_t)(i - starts[d]);
    ECO_ASSERT_OK(eco_distill_teacher_logits_model(tm, tokens, pos, 2, T, all));
    double diff = 0;
    for (int d = 0; d < 4; d++) {
        const int64_t n = ends[d] - starts[d];
        ECO_ASSERT_OK(eco_distill_teacher_logits_model(tm, tokens + starts[d], NULL, 1, n, one));
        diff = fmax(diff, eco_test_max_abs_diff(all + starts[d] * V, one, (size_t)(n * V)));
    }
    free(pos), free(all), free(one);
    return diff;
}

/* A row [A | B] with positions gives the teachers' logits, the mixed loss and every gradient
 * that A and B give in rows of their own (teachers: eco_model and eval-mode training model;
 * also two rows, one ending in a one-token document). */
static void test_packed_documents(void **state) {
    (void)state;
    for (size_t c = 0; c < N_CASES; c++) {
        const distill_case *dc = &CASES[c];
        fixture fx;
        eco_train_model *m = open_case(&fx, dc);
        assert_true(fx.B >= 2);
        const int64_t V = vocab(m), T = fx.T, a = T / 2 + 1, b = T - a;
        /* packed: row 0 of the fixture, split at a; separate: [2, T], each padded with token 0 */
        int32_t *pos = malloc((size_t)T * sizeof(int32_t)),
                *tok2 = calloc((size_t)(2 * T), sizeof(int32_t));
        int32_t *tgt2 = malloc((size_t)(2 * T) * sizeof(int32_t));
        for (int64_t i = 0; i < T; i++) pos[i] = (int32_t)(i < a ? i : i - a);
        for (int64_t i = 0; i < 2 * T; i++) tgt2[i] = -1;
        memcpy(tok2, fx.tokens, (size_t)a * sizeof(int32_t));
        memcpy(tgt2, fx.targets, (size_t)a * sizeof(int32_t));
        memcpy(tok2 + T, fx.tokens + a, (size_t)b * sizeof(int32_t));
        memcpy(tgt2 + T, fx.targets + a, (size_t)b * sizeof(int32_t));

        float *tp[4], *ts[4], *tt = malloc((size_t)(T * V) * sizeof(float));
        double dt = 0;
        for (int k = 0; k < dc->n_teachers; k++) {
            eco_model *tm;
            char *tdir = open_teacher(&fx, k, &tm);
            tp[k] = malloc((size_t)(T * V) * sizeof(float));
            ts[k] = malloc((size_t)(2 * T * V) * sizeof(float));
            ECO_ASSERT_OK(eco_distill_teacher_logits_model(tm, fx.tokens, pos, 1, T, tp[k]));
            ECO_ASSERT_OK(eco_distill_teacher_logits_model(tm, tok2, NULL, 2, T, ts[k]));
            dt = fmax(dt,
                      fmax(eco_test_max_abs_diff(tp[k], ts[k], (size_t)(a * V)),
                           eco_test_max_abs_diff(tp[k] + a * V, ts[k] + T * V, (size_t)(b * V))));
            eco_train_options to = {.mode = ECO_TRAIN_MODE_FULL, .max_batch = 1, .max_seq = T};
            eco_train_model *ttm;
            ECO_ASSERT_OK(eco_train_model_create(tdir, &to, &ttm));
            ECO_ASSERT_OK(eco_distill_teacher_logits_train(ttm, fx.tokens, pos, 1, T, tt));
            dt = fmax(dt, eco_test_max_abs_diff(tt, tp[k], (size_t)(T * V)));
            dt = fmax(dt, two_rows_by_document(tm, fx.tokens, T, V));
            pos[1] = 5; /* neither 0 nor 0 + 1 */
            ECO_ASSERT_STATUS(eco_distill_teacher_logits_model(tm, fx.tokens, pos, 1, T, tt),
                              ECO_STATUS_EINVAL);
            assert_non_null(strstr(eco_last_error(), "column 1"));
            ECO_ASSERT_STATUS(eco_distill_teacher_logits_train(ttm, fx.tokens, pos, 1, T, tt),
                              ECO_STATUS_EINVAL);
            pos[1] = 1;
            eco_train_model_free(ttm);
            eco_model_free(tm);
            free(tdir);
        }

        eco_distill_losses lp, ls, lx;
        eco_train_zero_grad(m);
        ECO_ASSERT_OK(eco_train_forward_distill_pos(
            m, fx.tokens, fx.targets, pos, (const float *const *)tp, (size_t)dc->n_teachers, V, 1,
            T, fx.weight, fx.temperature, false, &lp));
        float *logits_p = malloc((size_t)(T * V) * sizeof(float));
        memcpy(logits_p, eco_train_logits(m), (size_t)(T * V) * sizeof(float));
        ECO_ASSERT_OK(eco_train_backward(m, 1.0f));
        const size_t n = eco_train_num_floats(m);
        float *gp = malloc(n * sizeof(float));
        memcpy(gp, eco_train_grads(m), n * sizeof(float));
        eco_train_zero_grad(m);
        ECO_ASSERT_OK(eco_train_forward_distill(m, tok2, tgt2, (const float *const *)ts,
                                                (size_t)dc->n_teachers, V, 2, T, fx.weight,
                                                fx.temperature, false, &ls));
        const float *logits_s = eco_train_logits(m);
        const double dl =
            fmax(eco_test_max_abs_diff(logits_p, logits_s, (size_t)(a * V)),
                 eco_test_max_abs_diff(logits_p + a * V, logits_s + T * V, (size_t)(b * V)));
        ECO_ASSERT_OK(eco_train_backward(m, 1.0f));
        double gmax = 1e-3;
        for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(eco_train_grads(m)[i]));
        const double dg = eco_test_max_abs_diff(gp, eco_train_grads(m), n) / gmax;
        /* the same row and teachers without positions: B sees A */
        ECO_ASSERT_OK(eco_train_forward_distill(m, fx.tokens, fx.targets, (const float *const *)tp,
                                                (size_t)dc->n_teachers, V, 1, T, fx.weight,
                                                fx.temperature, false, &lx));
        printf("%-20s packed [A|B] with positions vs separate rows: teacher logits %.1e, loss %.6f "
               "/ %.6f (ce %.6f / "
               "%.6f, kl %.6f / %.6f), logits %.1e, grads %.1e (relative); without positions loss "
               "%.6f\n",
               dc->name, dt, lp.loss, ls.loss, lp.ce, ls.ce, lp.kl, ls.kl, dl, dg, lx.loss);
        assert_true(dt <= LOGIT_TOL);
        assert_true(rel_diff(lp.loss, ls.loss) <= LOSS_TOL && rel_diff(lp.ce, ls.ce) <= LOSS_TOL &&
                    rel_diff(lp.kl, ls.kl) <= LOSS_TOL);
        assert_true(dl <= LOGIT_TOL);
        assert_true(dg <= GRAD_TOL);
        assert_true(rel_diff(lx.loss, lp.loss) > 1e-4); /* the test can fail */
        for (int k = 0; k < dc->n_teachers; k++) free(tp[k]), free(ts[k]);
        free(tt), free(gp), free(logits_p), free(pos), free(tok2), free(tgt2);
        eco_train_model_free(m);
        eco_test_train_fixture_close(&fx);
    }
}

/* ---- w = 0 is plain cross-entropy, bit for bit ------------------------------------------- */

static void test_weight_zero_is_ce(void **state) {
    (void)state;
    for (size_t c = 0; c < N_CASES; c++) {
        const distill_case *dc = &CASES[c];
        fixture fx;
        eco_train_model *m = open_case(&fx, dc);
        const size_t nf = eco_train_num_floats(m);
        float ce;
        ECO_ASSERT_OK(eco_train_forward(m, fx.tokens, fx.targets, fx.B, fx.T, false, &ce));
        eco_train_zero_grad(m);
        ECO_ASSERT_OK(eco_train_backward(m, 0.75f));
        float *want = malloc(nf * sizeof(float));
        memcpy(want, eco_train_grads(m), nf * sizeof(float));
        eco_distill_losses L;
        ECO_ASSERT_OK(eco_train_forward_distill(m, fx.tokens, fx.targets, fx.teacher,
                                                (size_t)dc->n_teachers, vocab(m), fx.B, fx.T, 0.0f,
                                                fx.temperature, false, &L));
        eco_train_zero_grad(m);
        ECO_ASSERT_OK(eco_train_backward(m, 0.75f));
        double d = eco_test_max_abs_diff(eco_train_grads(m), want, nf);
        printf(
            "%-20s w = 0: loss %.7f vs CE %.7f, max gradient difference %.1e (bit-identical: %s)\n",
            dc->name, L.loss, ce, d,
            memcmp(eco_train_grads(m), want, nf * sizeof(float)) == 0 ? "yes" : "no");
        assert_true(L.loss == ce && L.ce == ce);
        assert_true(L.kl > 0.0f);
        assert_memory_equal(eco_train_grads(m), want, nf * sizeof(float));
        /* a plain forward after a distillation forward differentiates plain CE again */
        ECO_ASSERT_OK(eco_train_forward_distill(m, fx.tokens, fx.targets, fx.teacher,
                                                (size_t)dc->n_teachers, vocab(m), fx.B, fx.T, 0.5f,
                                                fx.temperature, false, &L));
        ECO_ASSERT_OK(eco_train_forward(m, fx.tokens, fx.targets, fx.B, fx.T, false, &ce));
        eco_train_zero_grad(m);
        ECO_ASSERT_OK(eco_train_backward(m, 0.75f));
        assert_memory_equal(eco_train_grads(m), want, nf * sizeof(float));
        free(want);
        eco_train_model_free(m);
        eco_test_train_fixture_close(&fx);
    }
}

/* ---- w = 1, teacher = student: zero KL, zero gradient; τ² scaling --------------------------- */

static void test_self_distillation_is_zero(void **state) {
    (void)state;
    fixture fx;
    eco_train_model *m = open_case(&fx, &CASES[0]);
    const int64_t V = vocab(m), NV = fx.B * fx.T * V;
    const size_t nf = eco_train_num_floats(m);
    ECO_ASSERT_OK(eco_train_forward(m, fx.tokens, fx.targets, fx.B, fx.T, false, NULL));
    float *self = malloc((size_t)NV * sizeof(float));
    memcpy(self, eco_train_logits(m), (size_t)NV * sizeof(float));
    const float *t1[1] = {self};
    const float *t2[2] = {self, self};
    const float temps[] = {0.5f, 1.0f, 3.0f};
    for (size_t i = 0; i < sizeof temps / sizeof *temps; i++)
        for (int nt = 1; nt <= 2; nt++) {
            eco_distill_losses L;
            ECO_ASSERT_OK(eco_train_forward_distill(m, fx.tokens, fx.targets, nt == 1 ? t1 : t2,
                                                    (size_t)nt, V, fx.B, fx.T, 1.0f, temps[i],
                                                    false, &L));
            eco_train_zero_grad(m);
            ECO_ASSERT_OK(eco_train_backward(m, 1.0f));
            double gmax = 0;
            for (size_t j = 0; j < nf; j++) gmax = fmax(gmax, fabs(eco_train_grads(m)[j]));
            printf("w = 1, teacher = student ×%d, τ %.1f: kl %.2e, loss %.2e, max |grad| %.2e\n",
                   nt, (double)temps[i], L.kl, L.loss, gmax);
            assert_true(fabsf(L.kl) <= 1e-6f && fabsf(L.loss) <= 1e-5f);
            /* two equal teachers average to (p + p)/2, which can differ from p in the last bit */
            assert_true(gmax <= (nt == 1 ? 0.0 : 1e-7));
        }
    /* τ² scaling: at w = 1 the loss is τ²·KL */
    for (size_t i = 0; i < sizeof temps / sizeof *temps; i++) {
        eco_distill_losses L;
        ECO_ASSERT_OK(eco_train_forward_distill(m, fx.tokens, fx.targets, fx.teacher, 2, V, fx.B,
                                                fx.T, 1.0f, temps[i], false, &L));
        const double tau = temps[i];
        printf("w = 1, τ %.1f: kl %.6f, loss %.6f = τ²·kl (diff %.1e)\n", tau, L.kl, L.loss,
               fabs(L.loss - tau * tau * L.kl));
        assert_true(fabs(L.loss - tau * tau * L.kl) <= 1e-6 * fmax(1.0, L.loss));
    }
    free(self);
    eco_train_model_free(m);
    eco_test_train_fixture_close(&fx);
}

/* ---- finite differences of the mixed loss at τ = 3 -------------------------------------- */

static float mixed_loss(eco_train_model *m, const fixture *fx, float w, float tau) {
    eco_distill_losses L;
    ECO_ASSERT_OK(eco_train_forward_distill(m, fx->tokens, fx->targets, fx->teacher, 2, vocab(m),
                                            fx->B, fx->T, w, tau, false, &L));
    return L.loss;
}

typedef struct fd_point {
    const fixture *fx;
    float w, tau;
} fd_point;

static double fd_loss(eco_train_model *m, void *ctx) {
    const fd_point *at = ctx;
    return mixed_loss(m, at->fx, at->w, at->tau);
}

static void test_finite_differences(void **state) {
    (void)state;
    fixture fx;
    eco_train_model *m = open_case(&fx, &CASES[0]);
    const float w = 0.6f, tau = 3.0f;
    mixed_loss(m, &fx, w, tau);
    eco_train_zero_grad(m);
    ECO_ASSERT_OK(eco_train_backward(m, 1.0f));
    fd_point at = {&fx, w, tau};
    int checked;
    double worst = eco_test_finite_differences(m, fd_loss, &at, 17, "", &checked);
    printf("finite differences of the mixed loss (w %.1f, τ %.1f): %d elements, max |fd − grad| "
           "%.2e\n",
           (double)w, (double)tau, checked, worst);
    eco_train_model_free(m);
    eco_test_train_fixture_close(&fx);
}

/* ---- errors -------------------------------------------------------------------------------- */

static void test_errors(void **state) {
    (void)state;
    fixture fx;
    eco_train_model *m = open_case(&fx, &CASES[0]);
    const int64_t V = vocab(m), NV = fx.B * fx.T * V;
    eco_distill_losses L;
    ECO_ASSERT_STATUS(eco_train_forward_distill(m, fx.tokens, fx.targets, fx.teacher, 2, V + 1,
                                                fx.B, fx.T, 0.5f, 2.0f, false, &L),
                      ECO_STATUS_EINVAL);
    printf("vocabulary mismatch: %s\n", eco_last_error());
    assert_non_null(strstr(eco_last_error(), "vocabulary"));
    ECO_ASSERT_STATUS(eco_train_backward(m, 1.0f), ECO_STATUS_EINVAL); /* no forward happened */
    ECO_ASSERT_STATUS(eco_train_forward_distill(m, fx.tokens, NULL, fx.teacher, 2, V, fx.B, fx.T,
                                                0.5f, 2.0f, false, &L),
                      ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_train_forward_distill(m, fx.tokens, fx.targets, fx.teacher, 0, V, fx.B,
                                                fx.T, 0.5f, 2.0f, false, &L),
                      ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_train_forward_distill(m, fx.tokens, fx.targets, fx.teacher, 2, V, fx.B,
                                                fx.T, 1.5f, 2.0f, false, &L),
                      ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_train_forward_distill(m, fx.tokens, fx.targets, fx.teacher, 2, V, fx.B,
                                                fx.T, 0.5f, 0.0f, false, &L),
                      ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_train_forward_distill(m, fx.tokens, fx.targets, fx.teacher, 2, V, fx.B,
                                                fx.T, 0.5f, NAN, false, &L),
                      ECO_STATUS_EINVAL);
    /* a non-finite teacher logit at an unmasked position: ERANGE, and no backward after it */
    float *bad = malloc((size_t)NV * sizeof(float));
    memcpy(bad, fx.teacher[0], (size_t)NV * sizeof(float));
    int64_t pos = 0;
    while (fx.targets[pos] < 0) pos++;
    bad[pos * V + 3] = INFINITY;
    const float *tb[1] = {bad};
    ECO_ASSERT_STATUS(eco_train_forward_distill(m, fx.tokens, fx.targets, tb, 1, V, fx.B, fx.T,
                                                0.5f, 2.0f, false, &L),
                      ECO_STATUS_ERANGE);
    printf("non-finite teacher logit: %s\n", eco_last_error());
    ECO_ASSERT_STATUS(eco_train_backward(m, 1.0f), ECO_STATUS_EINVAL);
    /* at a masked position it is never read */
    bad[pos * V + 3] = 0.0f;
    if (fx.targets[0] < 0) {
        bad[3] = NAN;
        ECO_ASSERT_OK(eco_train_forward_distill(m, fx.tokens, fx.targets, tb, 1, V, fx.B, fx.T,
                                                0.5f, 2.0f, false, &L));
    }
    free(bad);
    eco_train_model_free(m);
    eco_test_train_fixture_close(&fx);
}

/* ---- tokenizer identity ---------------------------------------------------------------------- */

static void write_text(const char *dir, const char *name, const char *text) {
    ECO_ASSERT_OK(eco_mkdir_p(dir));
    char *p = eco_path_join(dir, name);
    eco_test_write_file(p, text, strlen(text));
    free(p);
}

static void test_same_tokenizer(void **state) {
    (void)state;
    char *tmp = eco_test_tmpdir();
    char *a = eco_path_join(tmp, "a"), *b = eco_path_join(tmp, "b"), *c = eco_path_join(tmp, "c");
    char *none = eco_path_join(tmp, "none");
    write_text(
        a, "tokenizer.json",
        "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}}, \"version\": \"1.0\"}");
    write_text(b, "tokenizer.json",
               "{\n  \"version\":\"1.0\",\n  "
               "\"model\":{\"vocab\":{\"b\":1,\"a\":0},\"type\":\"BPE\"}\n}\n");
    write_text(
        c, "tokenizer.json",
        "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 2}}, \"version\": \"1.0\"}");
    write_text(none, "config.json", "{}");
    bool same = false;
    ECO_ASSERT_OK(eco_distill_same_tokenizer(a, b, &same));
    assert_true(same); /* key order and white space do not matter */
    ECO_ASSERT_OK(eco_distill_same_tokenizer(a, c, &same));
    assert_false(same);
    ECO_ASSERT_STATUS(eco_distill_same_tokenizer(a, none, &same), ECO_STATUS_ENOTFOUND);
    write_text(c, "tokenizer.json", "{\"model\": ");
    ECO_ASSERT_STATUS(eco_distill_same_tokenizer(a, c, &same), ECO_STATUS_EFORMAT);
    /* two random models share the byte tokenizer */
    char *m1 = eco_path_join(tmp, "m1"), *m2 = eco_path_join(tmp, "m2");
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 1, ECO_DTYPE_F32, m1));
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 2, ECO_DTYPE_F32, m2));
    ECO_ASSERT_OK(eco_distill_same_tokenizer(m1, m2, &same));
    assert_true(same);
    ECO_ASSERT_OK(eco_distill_same_tokenizer(m1, a, &same));
    assert_false(same);
    eco_test_rmtree(tmp);
    free(a), free(b), free(c), free(none), free(m1), free(m2), free(tmp);
}

/* ---- sequence level ------------------------------------------------------------------------- */

/* Independent reference for the writer's repair of invalid UTF-8: one U+FFFD per byte that
 * does not start a valid sequence. */
static size_t ref_seq_len(const unsigned char *s, size_t n) {
    if (s[0] < 0x80) return 1;
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 0;
    if (len == 0 || len > n || s[0] > 0xF4 || s[0] == 0xC0 || s[0] == 0xC1) return 0;
    uint32_t cp = s[0] & (0xFF >> (len + 1));
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80) return 0;
        cp = cp << 6 | (s[k] & 0x3F);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return 0;
    return len;
}

static char *ref_lossy(const char *s, size_t n, size_t *out_len) {
    char *o = malloc(3 * n + 1);
    size_t w = 0;
    for (size_t i = 0; i < n;) {
        size_t l = ref_seq_len((const unsigned char *)s + i, n - i);
        if (!l) {
            memcpy(o + w, "\xEF\xBF\xBD", 3), w += 3, i++;
        } else {
            memcpy(o + w, s + i, l), w += l, i += l;
        }
    }
    *out_len = w;
    return o;
}

static double mean_lp(const eco_infer_response *r) {
    if (!r->n_tokens) return -INFINITY;
    double s = 0;
    for (size_t i = 0; i < r->n_tokens; i++) s += r->logprobs[i];
    return s / (double)r->n_tokens;
}

static size_t count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void test_generate_jsonl(void **state) {
    (void)state;
    char *tmp = eco_test_tmpdir();
    char *d1 = eco_path_join(tmp, "teacher1"), *d2 = eco_path_join(tmp, "teacher2");
    char *io = eco_path_join(tmp, "io");
    ECO_ASSERT_OK(eco_mkdir_p(io));
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 21, ECO_DTYPE_F32, d1));
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 22, ECO_DTYPE_F32, d2));
    eco_engine *e[2];
    ECO_ASSERT_OK(eco_llama_engine_open(d1, NULL, &e[0]));
    ECO_ASSERT_OK(eco_llama_engine_open(d2, NULL, &e[1]));
    static const char *const prompts[] = {"Add 12 and 30:", "Reverse \"abc\":", "héllo wörld"};
    const size_t n_prompts = 3;
    const char *in_text = "{\"prompt\": \"Add 12 and 30:\", \"id\": 1}\n"
                          "\n"
                          "{\"completion\": \"ignored\", \"prompt\": \"Reverse \\\"abc\\\":\"}\r\n"
                          "   \n"
                          "{\"prompt\": \"h\\u00e9llo w\\u00f6rld\"}";
    char *in = eco_path_join(io, "prompts.jsonl"), *out = eco_path_join(io, "out.jsonl");
    eco_test_write_file(in, in_text, strlen(in_text));
    const int max_tokens = 12;

    for (size_t nt = 1; nt <= 2; nt++) {
        size_t n_written = 0;
        ECO_ASSERT_OK(eco_distill_generate_jsonl(e, nt, in, out, max_tokens, &n_written));
        assert_int_equal(n_written, n_prompts);
        char *text;
        size_t len;
        ECO_ASSERT_OK(eco_read_file(out, 1 << 20, &text, &len));
        const char *line = text;
        for (size_t i = 0; i < n_prompts; i++) {
            const char *nl = strchr(line, '\n');
            assert_non_null(nl);
            json_error_t err;
            json_t *o = json_loadb(line, (size_t)(nl - line),
                                   JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
            assert_non_null(o);
            assert_int_equal(json_object_size(o), 2);
            assert_string_equal(json_string_value(json_object_get(o, "prompt")), prompts[i]);
            /* the engine's greedy completion; with two teachers the higher mean log-probability */
            eco_infer_request req;
            eco_infer_request_init(&req);
            req.prompt = prompts[i];
            req.max_tokens = max_tokens;
            eco_infer_response r[2];
            size_t best = 0;
            for (size_t k = 0; k < nt; k++) {
                ECO_ASSERT_OK(e[k]->infer(e[k], &req, &r[k]));
                if (k > 0 && mean_lp(&r[k]) > mean_lp(&r[best])) best = k;
            }
            size_t wl;
            char *want = ref_lossy(r[best].text, r[best].text_len, &wl);
            json_t *c = json_object_get(o, "completion");
            assert_true(json_is_string(c));
            assert_int_equal(json_string_length(c), wl);
            assert_memory_equal(json_string_value(c), want, wl);
            if (nt == 2)
                printf("prompt %zu: teacher 1 mean logprob %.4f (%zu tokens), teacher 2 %.4f (%zu "
                       "tokens) → teacher %zu\n",
                       i, mean_lp(&r[0]), r[0].n_tokens, mean_lp(&r[1]), r[1].n_tokens, best + 1);
            free(want);
            for (size_t k = 0; k < nt; k++) eco_infer_response_free(&r[k]);
            /* canonical JSON: the line is exactly its canonical form */
            char *canon;
            size_t cl;
            ECO_ASSERT_OK(eco_json_canonical(o, &canon, &cl));
            assert_int_equal(cl, (size_t)(nl - line));
            assert_memory_equal(canon, line, cl);
            free(canon);
            json_decref(o);
            line = nl + 1;
        }
        assert_int_equal(*line, '\0'); /* one line per prompt, nothing more */
        printf("%zu teacher(s): %zu lines written\n", nt, n_written);
        free(text);
    }

    /* errors leave no file behind (and an existing output untouched) */
    char *missing = eco_path_join(io, "missing.jsonl"), *out2 = eco_path_join(io, "out2.jsonl");
    ECO_ASSERT_STATUS(eco_distill_generate_jsonl(e, 1, missing, out2, max_tokens, NULL),
                      ECO_STATUS_ENOTFOUND);
    size_t before = count_entries(io);
    assert_int_equal(before, 2); /* prompts.jsonl, out.jsonl */
    char *bad = eco_path_join(io, "bad.jsonl");
    static const char *const bad_inputs[] = {
        "{\"prompt\": \"ok\"}\n{\"prompt\": 3}\n",  /* not a string */
        "{\"prompt\": \"ok\"}\n[\"prompt\"]\n",     /* not an object */
        "{\"prompt\": \"a\", \"prompt\": \"b\"}\n", /* duplicate key */
        "{\"prompt\": \"a\\u0000b\"}\n",            /* NUL in the prompt */
        "{\"prompt\": \"ok\"}\n{\"prompt\": \n",    /* truncated JSON */
        "\n  \n",                                   /* no prompt */
        "{\"text\": \"no prompt\"}\n",
    };
    char *before_text;
    size_t before_len;
    ECO_ASSERT_OK(eco_read_file(out, 1 << 20, &before_text, &before_len));
    for (size_t i = 0; i < sizeof bad_inputs / sizeof *bad_inputs; i++) {
        eco_test_write_file(bad, bad_inputs[i], strlen(bad_inputs[i]));
        ECO_ASSERT_STATUS(eco_distill_generate_jsonl(e, 2, bad, out, max_tokens, NULL),
                          ECO_STATUS_EFORMAT);
        printf("bad input %zu: %s\n", i, eco_last_error());
        assert_int_equal(count_entries(io), 3); /* prompts, out, bad: no temp file left */
    }
    char *after_text;
    size_t after_len;
    ECO_ASSERT_OK(eco_read_file(out, 1 << 20, &after_text, &after_len));
    assert_int_equal(after_len, before_len);
    assert_memory_equal(after_text, before_text, before_len);
    ECO_ASSERT_STATUS(eco_distill_generate_jsonl(e, 1, in, out2, 0, NULL), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_distill_generate_jsonl(e, 0, in, out2, 4, NULL), ECO_STATUS_EINVAL);
    assert_int_equal(count_entries(io), 3);
    free(before_text), free(after_text);

    eco_engine_destroy(e[0]);
    eco_engine_destroy(e[1]);
    eco_test_rmtree(tmp);
    free(d1), free(d2), free(io), free(in), free(out), free(missing), free(out2), free(bad),
        free(tmp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distill_vs_torch),
        cmocka_unit_test(test_weight_zero_is_ce),
        cmocka_unit_test(test_self_distillation_is_zero),
        cmocka_unit_test(test_finite_differences),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_same_tokenizer),
        cmocka_unit_test(test_generate_jsonl),
        cmocka_unit_test(test_packed_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
