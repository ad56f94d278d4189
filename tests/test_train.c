/*
 * Training tests: the loss, the logits and the gradient of every trainable tensor against
 * PyTorch autograd (tests/fixtures/train/<case>/, written by scripts/make_train_fixtures.py),
 * ten AdamW steps with clipping, warm-up + cosine and two micro-batches of accumulation
 * against torch.optim.AdamW's loss trajectory, finite differences (full model and LoRA with
 * dropout), the training forward against the inference forward, packed documents with
 * positions against the same documents in rows of their own, LoRA initialisation,
 * determinism, and checkpoint/resume against an uninterrupted run.
 *
 * Tolerances: loss 1e-5 (relative to max(1, |loss|)); gradients 1e-4 absolute; logits 1e-4
 * absolute against torch; AdamW losses and gradient norms 1e-4; training vs inference logits
 * 1e-5 relative to the largest |logit|; finite differences 3e-3 + 3% (f32 central differences).
 */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/model.h"
#include "ecology/peft.h"
#include "ecology/safetensors.h"
#include "ecology/train.h"

#define LOSS_TOL  1e-5
#define GRAD_TOL  1e-4
#define LOGIT_TOL 1e-4
#define ADAM_TOL  1e-4

typedef struct train_case {
    const char *name;
    eco_train_mode mode;
    int64_t r;
    double alpha;
    bool rslora;
    const char *targets; /* letters: q k v o g u d */
    const char *rank_key;
    int64_t rank_val;
    const char *alpha_key;
    double alpha_val;
} train_case;

/* Must match scripts/make_train_fixtures.py main(). */
static const train_case CASES[] = {
    {"full_llama", ECO_TRAIN_MODE_FULL, 0, 0, false, "", NULL, 0, NULL, 0},
    {"full_qwen2_masked", ECO_TRAIN_MODE_FULL, 0, 0, false, "", NULL, 0, NULL, 0},
    {"lora_llama", ECO_TRAIN_MODE_LORA, 4, 8, false, "qkvogud", "layers.1.mlp.down_proj", 2,
     "o_proj", 4},
    {"lora_qwen2_rslora_masked", ECO_TRAIN_MODE_LORA, 2, 4, true, "qvod", NULL, 0, NULL, 0},
};
#define N_CASES (sizeof CASES / sizeof CASES[0])

static eco_train_options case_options(const train_case *tc, int64_t B, int64_t T, double dropout,
                                      uint64_t seed) {
    eco_train_options o;
    memset(&o, 0, sizeof o);
    o.mode = tc->mode;
    o.seed = seed;
    o.max_batch = B;
    o.max_seq = T;
    if (tc->mode == ECO_TRAIN_MODE_LORA) {
        o.lora.r = tc->r;
        o.lora.lora_alpha = tc->alpha;
        o.lora.use_rslora = tc->rslora;
        o.lora.lora_dropout = dropout;
        static const char letters[] = "qkvogud";
        for (const char *p = tc->targets; *p; p++)
            o.lora.targets[strchr(letters, *p) - letters] = true;
        if (tc->rank_key) {
            o.lora.n_rank_pattern = 1;
            snprintf(o.lora.rank_pattern_key[0], sizeof o.lora.rank_pattern_key[0], "%s",
                     tc->rank_key);
            o.lora.rank_pattern_val[0] = tc->rank_val;
        }
        if (tc->alpha_key) {
            o.lora.n_alpha_pattern = 1;
            snprintf(o.lora.alpha_pattern_key[0], sizeof o.lora.alpha_pattern_key[0], "%s",
                     tc->alpha_key);
            o.lora.alpha_pattern_val[0] = tc->alpha_val;
        }
    }
    return o;
}

typedef eco_test_train_fixture fixture;

static void fixture_open(fixture *fx, const train_case *tc) {
    eco_test_train_fixture_open(fx, tc->name, 0);
}

/* Opens tc's fixture and a model on it; the options go to *o when o is not NULL. */
static eco_train_model *open_case(fixture *fx, const train_case *tc, double dropout, uint64_t seed,
                                  eco_train_options *o) {
    fixture_open(fx, tc);
    eco_train_options opts = case_options(tc, fx->B, fx->T, dropout, seed);
    eco_train_model *m;
    ECO_ASSERT_OK(eco_train_model_create(fx->dir, &opts, &m));
    if (o) *o = opts;
    return m;
}

/* ---- loss, logits and every gradient against torch --------------------------------------- */

static void test_grads_vs_torch(void **state) {
    (void)state;
    for (size_t c = 0; c < N_CASES; c++) {
        fixture fx;
        eco_train_model *m = open_case(&fx, &CASES[c], 0.0, 7, NULL);
        eco_test_load_lora_params(m, fx.exp);
        const int64_t V = eco_train_model_config(m)->vocab_size;
        float loss;
        ECO_ASSERT_OK(eco_train_forward(m, fx.tokens, fx.targets, fx.B, fx.T, true, &loss));
        const float want_loss = eco_test_scalar(fx.exp, "loss");
        double dl = fabs((double)loss - (double)want_loss);
        double dlogit =
            eco_test_max_abs_diff(eco_train_logits(m), eco_test_must_find(fx.exp, "logits")->data,
                                  (size_t)(fx.B * fx.T * V));
        printf("%-26s loss %.6f (torch %.6f, diff %.2e)  logits max diff %.2e\n", CASES[c].name,
               loss, want_loss, dl, dlogit);
        assert_true(dl <= LOSS_TOL * fmax(1.0, fabs(want_loss)));
        assert_true(dlogit <= LOGIT_TOL);
        eco_train_zero_grad(m);
        ECO_ASSERT_OK(eco_train_backward(m, 1.0f));
        eco_test_check_grads(m, fx.exp, CASES[c].name, GRAD_TOL, true);
        eco_train_model_free(m);
        eco_test_train_fixture_close(&fx);
    }
}

/* ---- ten AdamW steps ------------------------------------------------------------------- */

static eco_adamw_config fixture_adamw(void) {
    eco_adamw_config a = eco_adamw_config_default();
    a.lr = 1e-2;
    a.beta1 = 0.9;
    a.beta2 = 0.95;
    a.eps = 1e-8;
    a.weight_decay = 0.1;
    a.grad_clip = 1.0;
    a.warmup_steps = 3;
    a.total_steps = 10;
    a.min_lr_ratio = 0.1;
    return a;
}

/* One optimiser step over two micro-batches of B rows starting at row 2·B·k of tok/tgt. */
static float train_step(eco_train_model *m, const eco_adamw_config *a, const int32_t *tok,
                        const int32_t *tgt, int64_t B, int64_t T, double *norm) {
    eco_train_zero_grad(m);
    double total = 0;
    for (int mb = 0; mb < 2; mb++) {
        float loss;
        ECO_ASSERT_OK(eco_train_forward(m, tok + mb * B * T, tgt + mb * B * T, B, T, true, &loss));
        ECO_ASSERT_OK(eco_train_backward(m, 0.5f));
        total += loss / 2.0;
    }
    ECO_ASSERT_OK(eco_train_step(m, a, norm, NULL));
    return (float)total;
}

static void test_adamw_trajectory(void **state) {
    (void)state;
    const eco_adamw_config a = fixture_adamw();
    for (size_t c = 0; c < N_CASES; c++) {
        fixture fx;
        eco_train_model *m = open_case(&fx, &CASES[c], 0.0, 7, NULL);
        eco_test_load_lora_params(m, fx.exp);
        const int32_t *tok = eco_test_must_find(fx.exp, "adam.tokens")->data;
        const int32_t *tgt = eco_test_must_find(fx.exp, "adam.targets")->data;
        const float *losses = eco_test_must_find(fx.exp, "adam.losses")->data;
        const float *norms = eco_test_must_find(fx.exp, "adam.norms")->data;
        double worst_l = 0, worst_n = 0;
        for (int s = 0; s < 10; s++) {
            double norm;
            float l = train_step(m, &a, tok, tgt, fx.B, fx.T, &norm);
            worst_l = fmax(worst_l, fabs((double)l - losses[s]));
            worst_n = fmax(worst_n, fabs(norm - norms[s]));
        }
        printf(
            "%-26s AdamW 10 steps: loss %.5f → %.5f, max loss diff %.2e, max grad-norm diff %.2e\n",
            CASES[c].name, losses[0], losses[9], worst_l, worst_n);
        assert_true(worst_l <= ADAM_TOL);
        assert_true(worst_n <= ADAM_TOL * fmax(1.0, norms[0]));
        assert_int_equal(eco_train_model_state(m)->step, 10);
        eco_train_model_free(m);
        eco_test_train_fixture_close(&fx);
    }
}

/* ---- finite differences ------------------------------------------------------------------ */

static float loss_at(eco_train_model *m, const fixture *fx, uint64_t counter) {
    eco_train_model_state(m)->forward_counter = counter;
    float l;
    ECO_ASSERT_OK(eco_train_forward(m, fx->tokens, fx->targets, fx->B, fx->T, true, &l));
    return l;
}

typedef struct fd_point {
    const fixture *fx;
    uint64_t counter; /* fixes the dropout masks */
} fd_point;

static double fd_loss(eco_train_model *m, void *ctx) {
    const fd_point *at = ctx;
    return loss_at(m, at->fx, at->counter);
}

static void finite_differences(const train_case *tc, double dropout) {
    fixture fx;
    eco_train_model *m = open_case(&fx, tc, dropout, 11, NULL);
    eco_test_load_lora_params(m, fx.exp);
    const uint64_t c0 = 5;
    if (dropout > 0) { /* dropout is on in training forwards only, and changes the loss */
        float eval_loss;
        ECO_ASSERT_OK(eco_train_forward(m, fx.tokens, fx.targets, fx.B, fx.T, false, &eval_loss));
        assert_true(fabsf(eval_loss - loss_at(m, &fx, c0)) > 1e-4f);
        assert_true(loss_at(m, &fx, c0) != loss_at(m, &fx, c0 + 1));
    }
    loss_at(m, &fx, c0);
    eco_train_zero_grad(m);
    ECO_ASSERT_OK(eco_train_backward(m, 1.0f));
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s: ", tc->name);
    fd_point at = {&fx, c0};
    int checked;
    double worst = eco_test_finite_differences(m, fd_loss, &at, 99, prefix, &checked);
    printf("%-26s finite differences (dropout %.2f): %d elements, max |fd − grad| %.2e\n", tc->name,
           dropout, checked, worst);
    eco_train_model_free(m);
    eco_test_train_fixture_close(&fx);
}

static void test_finite_differences(void **state) {
    (void)state;
    finite_differences(&CASES[0], 0.0);
    finite_differences(&CASES[1], 0.0);
    finite_differences(&CASES[2], 0.25); /* dropout masks held fixed by the forward counter */
}

/* ---- the training forward equals the inference forward ----------------------------------- */

static void forward_matches_inference(const char *dir, eco_train_mode mode, int64_t B, int64_t T) {
    eco_model *im;
    ECO_ASSERT_OK(eco_model_load(dir, &im));
    const eco_model_config *c = eco_model_get_config(im);
    const int64_t V = c->vocab_size;
    int32_t *tok = malloc((size_t)(B * T) * sizeof *tok);
    float *want = malloc((size_t)(T * V) * sizeof *want);
    eco_rng rng;
    eco_rng_seed(&rng, 3);
    for (int64_t i = 0; i < B * T; i++) tok[i] = (int32_t)(eco_rng_next(&rng) % (uint64_t)V);
    train_case tc = {"", mode, 4, 8, false, "qkvogud", NULL, 0, NULL, 0};
    eco_train_options o = case_options(&tc, B, T, 0.1, 1);
    eco_train_model *m;
    ECO_ASSERT_OK(eco_train_model_create(dir, &o, &m));
    ECO_ASSERT_OK(eco_train_forward(m, tok, NULL, B, T, true, NULL)); /* B = 0: LoRA adds nothing */
    double worst = 0;
    for (int64_t b = 0; b < B; b++) {
        eco_kv_cache *kv;
        ECO_ASSERT_OK(eco_kv_cache_create_typed(im, T, ECO_DTYPE_F32, &kv)); /* exact: f32 K, V */
        ECO_ASSERT_OK(eco_model_forward(im, kv, tok + b * T, T, want, true));
        double mx = 1.0;
        for (int64_t i = 0; i < T * V; i++) mx = fmax(mx, fabs(want[i]));
        double d =
            eco_test_max_abs_diff(eco_train_logits(m) + b * T * V, want, (size_t)(T * V)) / mx;
        worst = fmax(worst, d);
        eco_kv_cache_free(kv);
    }
    printf("train vs inference forward %-40s %s B=%lld T=%lld: max relative diff %.2e\n", dir,
           mode == ECO_TRAIN_MODE_LORA ? "lora" : "full", (long long)B, (long long)T, worst);
    assert_true(worst <= 1e-5);
    eco_train_model_free(m);
    eco_model_free(im);
    free(tok);
    free(want);
}

static void test_forward_matches_inference(void **state) {
    (void)state;
    const char *dirs[] = {"tests/fixtures/model/llama_gqa",
                          "tests/fixtures/model/qwen2_tied_bias_f16",
                          "tests/fixtures/model/llama_head_dim", "tests/fixtures/train/lora_llama"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        char *dir = eco_test_source_path(dirs[i]);
        forward_matches_inference(dir, ECO_TRAIN_MODE_FULL, 2, 16);
        forward_matches_inference(dir, ECO_TRAIN_MODE_LORA, 3, 11);
        free(dir);
    }
    char *dir = eco_test_source_path("tests/fixtures/model/llama3_rope");
    forward_matches_inference(dir, ECO_TRAIN_MODE_FULL, 1, 150); /* past the original context */
    free(dir);
}

/* ---- packed documents: a row [A | B] with positions equals A and B in rows of their own ---- */

/* Forward + backward of tokens/targets [B, T] (positions may be NULL) on a fresh model;
 * the loss, a copy of the logits and of the gradients come back. */
static eco_train_model *forward_backward(const char *dir, const eco_train_options *o,
                                         const int32_t *tok, const int32_t *tgt, const int32_t *pos,
                                         int64_t B, int64_t T, float *loss) {
    eco_train_model *m;
    ECO_ASSERT_OK(eco_train_model_create(dir, o, &m));
    eco_train_zero_grad(m);
    ECO_ASSERT_OK(eco_train_forward_pos(m, tok, tgt, pos, B, T, true, loss));
    return m;
}

static void packed_documents(const train_case *tc) {
    fixture fx;
    fixture_open(&fx, tc);
    const int64_t T = 12, a = 7, b = T - a; /* row [A (7) | B (5)] */
    eco_train_options o = case_options(tc, 2, T, 0.0, 9);
    eco_train_model *mp; /* the packed row's model, made first for its vocabulary size */
    ECO_ASSERT_OK(eco_train_model_create(fx.dir, &o, &mp));
    const int64_t V = eco_train_model_config(mp)->vocab_size;
    int32_t tok[12], tgt[12], pos[12], tok2[24], tgt2[24];
    eco_rng rng;
    eco_rng_seed(&rng, 17);
    for (int64_t i = 0; i < T; i++) {
        tok[i] = (int32_t)(eco_rng_next(&rng) % (uint64_t)V);
        tgt[i] = i % 4 == 3 ? -1 : (int32_t)(eco_rng_next(&rng) % (uint64_t)V); /* some masked */
        pos[i] = (int32_t)(i < a ? i : i - a);
    }
    /* separate: row 0 = A then padding, row 1 = B then padding (padding never a target) */
    for (int64_t i = 0; i < 2 * T; i++) {
        tok2[i] = 0;
        tgt2[i] = -1;
    }
    memcpy(tok2, tok, (size_t)a * sizeof *tok);
    memcpy(tgt2, tgt, (size_t)a * sizeof *tgt);
    memcpy(tok2 + T, tok + a, (size_t)b * sizeof *tok);
    memcpy(tgt2 + T, tgt + a, (size_t)b * sizeof *tgt);

    float lp, ls, lx;
    eco_train_zero_grad(mp);
    ECO_ASSERT_OK(eco_train_forward_pos(mp, tok, tgt, pos, 1, T, true, &lp));
    eco_train_model *ms = forward_backward(fx.dir, &o, tok2, tgt2, NULL, 2, T, &ls);
    eco_train_model *mx =
        forward_backward(fx.dir, &o, tok, tgt, NULL, 1, T, &lx); /* no positions */
    /* logits: A's rows and B's rows */
    const float *gp = eco_train_logits(mp), *gs = eco_train_logits(ms), *gx = eco_train_logits(mx);
    double dl = fmax(eco_test_max_abs_diff(gp, gs, (size_t)(a * V)),
                     eco_test_max_abs_diff(gp + a * V, gs + T * V, (size_t)(b * V)));
    double dx = eco_test_max_abs_diff(gp + a * V, gx + a * V, (size_t)(b * V));
    ECO_ASSERT_OK(eco_train_backward(mp, 1.0f));
    ECO_ASSERT_OK(eco_train_backward(ms, 1.0f));
    const size_t n = eco_train_num_floats(mp);
    double gmax = 1e-3;
    for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(eco_train_grads(ms)[i]));
    double dg = eco_test_max_abs_diff(eco_train_grads(mp), eco_train_grads(ms), n) / gmax;
    printf("%-26s packed [A|B] with positions vs separate rows: loss %.6f / %.6f, logits %.1e, "
           "grads %.1e "
           "(relative); without positions B's logits differ by %.2f\n",
           tc->name, lp, ls, dl, dg, dx);
    assert_true(fabs(lp - ls) <= 1e-5 * fmax(1.0, fabs(ls)));
    assert_true(dl <= 1e-4);
    assert_true(dg <= 1e-4);
    assert_true(dx > 1e-3); /* the test can fail: attention across A and B changes B */

    /* positions that neither start a document nor count up are refused */
    pos[3] = 5;
    float l;
    assert_int_equal(eco_train_forward_pos(mp, tok, tgt, pos, 1, T, false, &l), ECO_STATUS_EINVAL);
    pos[3] = 3;
    pos[0] = 1;
    assert_int_equal(eco_train_forward_pos(mp, tok, tgt, pos, 1, T, false, &l), ECO_STATUS_EINVAL);
    eco_train_model_free(mp);
    eco_train_model_free(ms);
    eco_train_model_free(mx);
    eco_test_train_fixture_close(&fx);
}

static void test_packed_documents(void **state) {
    (void)state;
    for (size_t c = 0; c < N_CASES; c++) packed_documents(&CASES[c]);
}

/* ---- LoRA initialisation ------------------------------------------------------------------ */

static void test_lora_init(void **state) {
    (void)state;
    char *dir = eco_test_source_path("tests/fixtures/train/lora_llama");
    eco_train_options o = case_options(&CASES[2], 1, 4, 0.0, 42);
    eco_train_model *m1, *m2, *m3;
    ECO_ASSERT_OK(eco_train_model_create(dir, &o, &m1));
    ECO_ASSERT_OK(eco_train_model_create(dir, &o, &m2));
    o.seed = 43;
    ECO_ASSERT_OK(eco_train_model_create(dir, &o, &m3));
    assert_int_equal(eco_train_num_params(m1), 2 * 2 * 7);
    assert_memory_equal(eco_train_params(m1), eco_train_params(m2),
                        eco_train_num_floats(m1) * sizeof(float));
    assert_true(memcmp(eco_train_params(m1), eco_train_params(m3),
                       eco_train_num_floats(m1) * sizeof(float)) != 0);
    for (size_t i = 0; i < eco_train_num_params(m1); i++) {
        const eco_train_param *p = eco_train_param_at(m1, i);
        const float *x = eco_train_params(m1) + p->offset;
        const bool is_a = strstr(p->name, "lora_A") != NULL;
        assert_true(strncmp(p->name, "base_model.model.model.layers.", 30) == 0);
        assert_true(p->decay);
        double bound = 1.0 / sqrt((double)p->shape[1]), mx = 0, sum = 0;
        for (size_t j = 0; j < p->numel; j++) {
            mx = fmax(mx, fabs(x[j]));
            sum += x[j];
        }
        if (is_a) {
            assert_true(mx <= bound && mx > 0.5 * bound); /* U(−bound, bound) */
            assert_true(fabs(sum / (double)p->numel) < 0.5 * bound);
        } else {
            assert_true(mx == 0.0);
        }
    }
    /* ranks after rank_pattern: layers.1.mlp.down_proj has r = 2 */
    const eco_train_param *p =
        eco_train_find_param(m1, "base_model.model.model.layers.1.mlp.down_proj.lora_A.weight");
    assert_non_null(p);
    assert_int_equal(p->shape[0], 2);
    p = eco_train_find_param(m1, "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight");
    assert_non_null(p);
    assert_int_equal(p->shape[1], 4);
    eco_train_model_free(m1);
    eco_train_model_free(m2);
    eco_train_model_free(m3);
    free(dir);
}

/* ---- determinism and resume -------------------------------------------------------------- */

static void run_steps(eco_train_model *m, const fixture *fx, const eco_adamw_config *a, int n) {
    const int32_t *tok = eco_test_must_find(fx->exp, "adam.tokens")->data;
    const int32_t *tgt = eco_test_must_find(fx->exp, "adam.targets")->data;
    for (int s = 0; s < n; s++) {
        eco_train_state *st = eco_train_model_state(m);
        /* the "data loader": alternate micro-batch order by data position and its RNG */
        const int64_t pos = st->data_position;
        (void)eco_rng_next(&st->data_rng);
        (void)pos;
        train_step(m, a, tok, tgt, fx->B, fx->T, NULL);
        st->data_position++;
    }
}

static void test_determinism(void **state) {
    (void)state;
    const eco_adamw_config a = fixture_adamw();
    for (size_t c = 0; c < N_CASES; c += 2) {
        fixture fx;
        fixture_open(&fx, &CASES[c]);
        eco_train_options o = case_options(&CASES[c], fx.B, fx.T, 0.1, 5);
        eco_train_model *m1, *m2;
        ECO_ASSERT_OK(eco_train_model_create(fx.dir, &o, &m1));
        ECO_ASSERT_OK(eco_train_model_create(fx.dir, &o, &m2));
        run_steps(m1, &fx, &a, 4);
        run_steps(m2, &fx, &a, 4);
        const size_t n = eco_train_num_floats(m1) * sizeof(float);
        assert_memory_equal(eco_train_params(m1), eco_train_params(m2), n);
        assert_memory_equal(eco_train_adam_m(m1), eco_train_adam_m(m2), n);
        assert_memory_equal(eco_train_adam_v(m1), eco_train_adam_v(m2), n);
        printf("%-26s two runs of 4 steps: bit-identical\n", CASES[c].name);
        eco_train_model_free(m1);
        eco_train_model_free(m2);
        eco_test_train_fixture_close(&fx);
    }
}

static void test_checkpoint_resume(void **state) {
    (void)state;
    const eco_adamw_config a = fixture_adamw();
    char *tmp = eco_test_tmpdir();
    char *ck = eco_path_join(tmp, "ckpt.safetensors");
    for (size_t c = 0; c < N_CASES; c += 2) {
        fixture fx;
        fixture_open(&fx, &CASES[c]);
        eco_train_options o = case_options(&CASES[c], fx.B, fx.T, 0.1, 5);
        eco_train_model *full, *part, *resumed;
        ECO_ASSERT_OK(eco_train_model_create(fx.dir, &o, &full));
        run_steps(full, &fx, &a, 6);
        ECO_ASSERT_OK(eco_train_model_create(fx.dir, &o, &part));
        run_steps(part, &fx, &a, 3);
        ECO_ASSERT_OK(eco_train_checkpoint_save(part, ck));
        eco_train_model_free(part); /* "killed" */
        o.seed = 5;
        ECO_ASSERT_OK(eco_train_model_create(fx.dir, &o, &resumed));
        ECO_ASSERT_OK(eco_train_checkpoint_load(resumed, ck));
        assert_int_equal(eco_train_model_state(resumed)->step, 3);
        assert_int_equal(eco_train_model_state(resumed)->data_position, 3);
        run_steps(resumed, &fx, &a, 3);
        const size_t n = eco_train_num_floats(full) * sizeof(float);
        assert_memory_equal(eco_train_params(full), eco_train_params(resumed), n);
        assert_memory_equal(eco_train_adam_m(full), eco_train_adam_m(resumed), n);
        assert_memory_equal(eco_train_adam_v(full), eco_train_adam_v(resumed), n);
        assert_memory_equal(eco_train_model_state(full), eco_train_model_state(resumed),
                            sizeof(eco_train_state));
        printf("%-26s 3 steps + checkpoint + 3 steps == 6 steps: bit-identical\n", CASES[c].name);
        /* a checkpoint of the other mode is refused */
        const train_case *other = &CASES[c == 0 ? 2 : 0];
        eco_train_options oo = case_options(other, fx.B, fx.T, 0.0, 5);
        eco_train_model *wrong;
        ECO_ASSERT_OK(eco_train_model_create(fx.dir, &oo, &wrong));
        ECO_ASSERT_STATUS(eco_train_checkpoint_load(wrong, ck), ECO_STATUS_EFORMAT);
        eco_train_model_free(wrong);
        eco_train_model_free(full);
        eco_train_model_free(resumed);
        eco_test_train_fixture_close(&fx);
    }
    free(ck);
    eco_test_rmtree(tmp);
    free(tmp);
}

/* ---- saved model, errors, schedule -------------------------------------------------------- */

static void test_save_model_and_errors(void **state) {
    (void)state;
    fixture fx;
    eco_train_options o;
    eco_train_model *m = open_case(&fx, &CASES[0], 0.0, 1, &o);
    const eco_adamw_config a = fixture_adamw();
    run_steps(m, &fx, &a, 2);
    char *tmp = eco_test_tmpdir();
    ECO_ASSERT_OK(eco_train_save_model(m, tmp));
    forward_matches_inference(tmp, ECO_TRAIN_MODE_FULL, 1, 8);
    eco_test_rmtree(tmp);
    free(tmp);

    /* all positions masked: loss 0, backward adds nothing */
    int32_t masked[16];
    for (int i = 0; i < 16; i++) masked[i] = -1;
    float loss = -1;
    eco_train_zero_grad(m);
    ECO_ASSERT_OK(eco_train_forward(m, fx.tokens, masked, fx.B, fx.T, true, &loss));
    assert_true(loss == 0.0f);
    ECO_ASSERT_OK(eco_train_backward(m, 1.0f));
    assert_true(eco_train_grad_norm(m) == 0.0);
    /* backward twice, bad tokens, oversized batch */
    ECO_ASSERT_STATUS(eco_train_backward(m, 1.0f), ECO_STATUS_EINVAL);
    int32_t bad[16];
    memcpy(bad, fx.tokens, sizeof bad);
    bad[5] = 64;
    ECO_ASSERT_STATUS(eco_train_forward(m, bad, NULL, fx.B, fx.T, true, NULL), ECO_STATUS_ERANGE);
    ECO_ASSERT_STATUS(eco_train_forward(m, fx.tokens, NULL, fx.B + 1, fx.T, true, NULL),
                      ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_train_forward(m, fx.tokens, NULL, fx.B, fx.T, true, NULL), ECO_STATUS_OK);
    ECO_ASSERT_STATUS(eco_train_backward(m, 1.0f), ECO_STATUS_EINVAL); /* no targets */
    eco_train_model_free(m);

    /* LoRA without targets is refused */
    train_case none = CASES[2];
    none.targets = "";
    o = case_options(&none, 1, 4, 0.0, 1);
    ECO_ASSERT_STATUS(eco_train_model_create(fx.dir, &o, &m), ECO_STATUS_EINVAL);
    eco_test_train_fixture_close(&fx);

    /* schedule: warm-up (step+1)/warmup, cosine to min at total */
    eco_adamw_config s = fixture_adamw();
    assert_true(fabs(eco_train_lr_at(&s, 0) - 1e-2 / 3) < 1e-12);
    assert_true(fabs(eco_train_lr_at(&s, 2) - 1e-2) < 1e-12);
    assert_true(fabs(eco_train_lr_at(&s, 10) - 1e-3) < 1e-12);
    assert_true(fabs(eco_train_lr_at(&s, 50) - 1e-3) < 1e-12);
}

/* ---- the trained adapter in PEFT's layout ------------------------------------------------ */

static void test_save_lora_roundtrip(void **state) {
    (void)state;
    for (size_t c = 2; c < N_CASES; c++) {
        fixture fx;
        eco_train_options o;
        eco_train_model *m = open_case(&fx, &CASES[c], 0.05, 9, &o);
        const eco_adamw_config a = fixture_adamw();
        run_steps(m, &fx, &a, 2);
        char *tmp = eco_test_tmpdir();
        ECO_ASSERT_OK(eco_train_save_lora(m, tmp));
        ECO_ASSERT_STATUS(eco_train_save_model(m, tmp), ECO_STATUS_EINVAL);
        eco_lora_adapter *ad;
        ECO_ASSERT_OK(eco_lora_adapter_load(tmp, eco_train_model_config(m), &ad));
        assert_int_equal(ad->config.r, o.lora.r);
        assert_true(ad->config.use_rslora == o.lora.use_rslora);
        size_t n_mod = 0;
        for (int64_t l = 0; l < ad->n_layers; l++)
            for (int t = 0; t < ECO_LORA__COUNT; t++) {
                const eco_lora_module *mod = eco_lora_adapter_module(ad, l, (eco_lora_target)t);
                if (!mod->A) continue;
                n_mod++;
                char name[200];
                snprintf(name, sizeof name, "base_model.model.model.layers.%lld.%s.lora_A.weight",
                         (long long)l, eco_lora_target_path((eco_lora_target)t));
                const eco_train_param *pa = eco_train_find_param(m, name);
                assert_non_null(pa);
                assert_int_equal(mod->A->dtype, ECO_DTYPE_F32);
                assert_memory_equal(mod->A->data, eco_train_params(m) + pa->offset,
                                    pa->numel * sizeof(float));
                const eco_train_param *pb = pa + 1;
                assert_memory_equal(mod->B->data, eco_train_params(m) + pb->offset,
                                    pb->numel * sizeof(float));
                assert_int_equal(mod->r, pa->shape[0]);
            }
        assert_int_equal(2 * n_mod, eco_train_num_params(m));
        printf("%-26s adapter saved and reloaded through PEFT's layout: %zu modules identical\n",
               CASES[c].name, n_mod);
        eco_lora_adapter_free(ad);
        eco_test_rmtree(tmp);
        free(tmp);
        eco_train_model_free(m);
        eco_test_train_fixture_close(&fx);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grads_vs_torch),
        cmocka_unit_test(test_adamw_trajectory),
        cmocka_unit_test(test_finite_differences),
        cmocka_unit_test(test_forward_matches_inference),
        cmocka_unit_test(test_packed_documents),
        cmocka_unit_test(test_lora_init),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_checkpoint_resume),
        cmocka_unit_test(test_save_model_and_errors),
        cmocka_unit_test(test_save_lora_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
