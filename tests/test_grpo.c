/*
 * GRPO tests (the GRPO section of include/ecology/train.h).
 *
 * Against PyTorch (tests/fixtures/train/grpo_*, written by scripts/make_grpo_fixtures.py
 * from TRL's GRPOTrainer formulas, differentiated by autograd):
 *   - group advantages, scaled by the group's std + 1e-4 and not, with a group of equal
 *     rewards (exactly zero advantages, counted);
 *   - the objective and its gradient on fixed log-probabilities, for each loss type
 *     ("grpo", "bnpo", "dr_grpo"), with and without the k3 KL term, with and without old
 *     log-probabilities, symmetric and asymmetric clipping; tokens clipped on both sides are
 *     counted as torch counts them; positions off the mask hold NaN and are never read;
 *   - the same objective through a tiny llama with a LoRA adapter on every target: the
 *     policy's log-probabilities at a sampling temperature, the loss and the gradient of
 *     every LoRA tensor, for three settings.
 * The fixture can fail: a negated advantage, no clipping, clipping on one side only, a
 * missing KL term and the wrong loss type each move the loss or the gradient far outside
 * the tolerance. Finite differences of the objective agree with its gradient away from the
 * clip boundaries, and through the model (no clipping, KL on, a temperature) with the
 * backward's gradient of every LoRA tensor. Configuration and argument errors.
 *
 * Tolerances: relative error 1e-4 (the bound) on advantages, losses and gradients
 * (a gradient's error relative to its tensor's largest element); log-probabilities 1e-4
 * absolute.
 */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/safetensors.h"
#include "ecology/train.h"

#define REL_TOL 1e-4

typedef struct variant {
    const char *name;
    eco_grpo_loss_type type;
    double beta, eps_low, eps_high;
    bool with_old;
    int64_t lmax;
} variant;

/* Must match VARIANTS in scripts/make_grpo_fixtures.py. */
static const variant VARIANTS[] = {
    {"grpo_b0", ECO_GRPO_LOSS_GRPO, 0.0, 0.2, 0.2, true, 0},
    {"grpo_kl", ECO_GRPO_LOSS_GRPO, 0.04, 0.2, 0.28, true, 0},
    {"grpo_noold_kl", ECO_GRPO_LOSS_GRPO, 0.1, 0.2, 0.2, false, 0},
    {"bnpo_kl", ECO_GRPO_LOSS_BNPO, 0.04, 0.2, 0.2, true, 0},
    {"bnpo_b0", ECO_GRPO_LOSS_BNPO, 0.0, 0.1, 0.3, true, 0},
    {"dr_grpo_kl", ECO_GRPO_LOSS_DR_GRPO, 0.05, 0.2, 0.2, true, 9},
};
#define N_VARIANTS (sizeof VARIANTS / sizeof VARIANTS[0])

typedef struct model_variant {
    const char *name;
    eco_grpo_loss_type type;
    double beta, eps_low, eps_high, temperature;
    int64_t lmax;
} model_variant;

/* Must match MODEL_VARIANTS in scripts/make_grpo_fixtures.py. */
static const model_variant MODEL_VARIANTS[] = {
    {"grpo", ECO_GRPO_LOSS_GRPO, 0.04, 0.2, 0.28, 0.7, 0},
    {"bnpo", ECO_GRPO_LOSS_BNPO, 0.0, 0.2, 0.2, 1.0, 0},
    {"dr_grpo", ECO_GRPO_LOSS_DR_GRPO, 0.1, 0.2, 0.2, 1.3, 8},
};
#define N_MODEL_VARIANTS (sizeof MODEL_VARIANTS / sizeof MODEL_VARIANTS[0])

static eco_grpo_config config_of(const variant *v) {
    eco_grpo_config c = eco_grpo_config_default();
    c.loss_type = v->type;
    c.beta = v->beta;
    c.epsilon_low = v->eps_low;
    c.epsilon_high = v->eps_high;
    c.max_completion_length = v->lmax;
    return c;
}

static const eco_tensor *find_named(eco_safetensors *st, const char *prefix, const char *name) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s%s", prefix, name);
    return eco_test_must_find(st, buf);
}

static double rel_err(double got, double want) {
    return fabs(got - want) / fmax(fabs(want), 1e-30);
}

/* max |got − want| / max |want| over n elements. */
static double rel_err_vec(const float *got, const float *want, size_t n) {
    double d = 0, w = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)got[i] - (double)want[i]));
        w = fmax(w, fabs((double)want[i]));
    }
    return d / fmax(w, 1e-30);
}

/* ---- the objective fixture -------------------------------------------------------------- */

typedef struct objective_fixture {
    eco_safetensors *st;
    int64_t B, T;
    float *lp, *old, *ref; /* copies with NaN off the mask */
    uint8_t *mask;         /* from the fixture's i32 mask */
    const float *adv;
} objective_fixture;

static void objective_open(objective_fixture *f) {
    char *p = eco_test_source_path("tests/fixtures/train/grpo_objective/expected.safetensors");
    ECO_ASSERT_OK(eco_safetensors_open(p, &f->st));
    free(p);
    const eco_tensor *lp = eco_test_must_find(f->st, "lp");
    f->B = lp->shape[0];
    f->T = lp->shape[1];
    const size_t n = (size_t)(f->B * f->T);
    const int32_t *m32 = eco_test_must_find(f->st, "mask")->data;
    f->mask = malloc(n);
    assert_non_null(f->mask);
    for (size_t i = 0; i < n; i++) f->mask[i] = m32[i] != 0;
    f->adv = eco_test_must_find(f->st, "advantages")->data;
    float **dst[3] = {&f->lp, &f->old, &f->ref};
    const char *names[3] = {"lp", "old", "ref"};
    for (int k = 0; k < 3; k++) {
        const float *src = eco_test_must_find(f->st, names[k])->data;
        *dst[k] = malloc(n * sizeof(float));
        assert_non_null(*dst[k]);
        for (size_t i = 0; i < n; i++) (*dst[k])[i] = f->mask[i] ? src[i] : NAN;
    }
}

static void objective_close(objective_fixture *f) {
    free(f->lp), free(f->old), free(f->ref), free(f->mask);
    eco_safetensors_close(f->st);
}

/* Relative errors of our loss and gradient against torch's for variant v under config c. */
static void objective_errors(objective_fixture *f, const variant *v, const eco_grpo_config *c,
                             const float *adv, double *e_loss, double *e_grad,
                             eco_grpo_stats *stats) {
    const size_t n = (size_t)(f->B * f->T);
    float *dlp = malloc(n * sizeof(float));
    ECO_ASSERT_OK(eco_grpo_objective(c, f->lp, v->with_old ? f->old : NULL,
                                     c->beta > 0 ? f->ref : NULL, f->mask, adv, f->B, f->T, stats,
                                     dlp));
    const float *want_loss = find_named(f->st, v->name, ".loss")->data;
    const float *want_dlp = find_named(f->st, v->name, ".dlp")->data;
    *e_loss = rel_err(stats->loss, want_loss[0]);
    *e_grad = rel_err_vec(dlp, want_dlp, n);
    for (size_t i = 0; i < n; i++)
        if (!f->mask[i]) assert_true(dlp[i] == 0.0f);
    free(dlp);
}

static void test_advantages_vs_torch(void **state) {
    (void)state;
    objective_fixture f;
    objective_open(&f);
    const eco_tensor *r = eco_test_must_find(f.st, "rewards");
    const int64_t ng = r->shape[0], G = r->shape[1];
    float adv[64];
    assert_true(ng * G <= 64);
    for (int scale = 0; scale < 2; scale++) {
        int64_t zero = -1;
        ECO_ASSERT_OK(eco_grpo_advantages(r->data, ng, G, scale, adv, &zero));
        const float *want = eco_test_must_find(f.st, scale ? "adv.scaled" : "adv.unscaled")->data;
        const double e = rel_err_vec(adv, want, (size_t)(ng * G));
        printf("advantages (%s) vs torch: relative error %.2e, zero-signal groups %lld\n",
               scale ? "scaled" : "unscaled", e, (long long)zero);
        assert_true(e <= REL_TOL);
        assert_int_equal(zero, 1);
        for (int64_t i = 0; i < G; i++) assert_true(adv[G + i] == 0.0f); /* group 1: equal */
        double sum = 0;
        for (int64_t i = 0; i < G; i++) sum += adv[i];
        assert_true(fabs(sum) < 1e-6); /* centred */
    }
    /* errors */
    const float bad[4] = {0.0f, NAN, 1.0f, 0.0f};
    ECO_ASSERT_STATUS(eco_grpo_advantages(bad, 2, 2, true, adv, NULL), ECO_STATUS_ERANGE);
    assert_non_null(strstr(eco_last_error(), "group 0, completion 1"));
    ECO_ASSERT_STATUS(eco_grpo_advantages(r->data, 4, 1, true, adv, NULL), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_grpo_advantages(r->data, 0, 4, true, adv, NULL), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_grpo_advantages(NULL, 1, 4, true, adv, NULL), ECO_STATUS_EINVAL);
    objective_close(&f);
}

static void test_objective_vs_torch(void **state) {
    (void)state;
    objective_fixture f;
    objective_open(&f);
    double worst_l = 0, worst_g = 0;
    for (size_t k = 0; k < N_VARIANTS; k++) {
        const variant *v = &VARIANTS[k];
        const eco_grpo_config c = config_of(v);
        eco_grpo_stats s;
        double el, eg;
        objective_errors(&f, v, &c, f.adv, &el, &eg, &s);
        const int32_t *lo = find_named(f.st, v->name, ".clipped_low")->data;
        const int32_t *hi = find_named(f.st, v->name, ".clipped_high")->data;
        const int64_t got_lo = llround(s.clip_low * (double)s.n_tokens),
                      got_hi = llround(s.clip_high * (double)s.n_tokens);
        printf("objective %-14s loss %+.6f: relative error loss %.2e, gradient %.2e; clipped "
               "low %lld (torch %d) high %lld (torch %d) of %lld tokens, kl %.5f\n",
               v->name, s.loss, el, eg, (long long)got_lo, lo[0], (long long)got_hi, hi[0],
               (long long)s.n_tokens, s.kl);
        assert_true(el <= REL_TOL && eg <= REL_TOL);
        assert_int_equal(got_lo, lo[0]);
        assert_int_equal(got_hi, hi[0]);
        assert_true(fabs(s.clip_ratio - s.clip_low - s.clip_high) < 1e-12);
        if (v->with_old) assert_true(got_lo > 0 && got_hi > 0);
        assert_true((v->beta > 0) == (s.kl > 0));
        worst_l = fmax(worst_l, el), worst_g = fmax(worst_g, eg);
    }
    printf("objective vs torch: largest relative error loss %.2e, gradient %.2e\n", worst_l,
           worst_g);
    objective_close(&f);
}

/* Each wrong objective is caught by the fixture: the loss or the gradient moves far outside
 * the tolerance. */
static void test_objective_mutations_caught(void **state) {
    (void)state;
    objective_fixture f;
    objective_open(&f);
    const variant *v = &VARIANTS[1]; /* grpo_kl: asymmetric clipping, KL on */
    assert_string_equal(v->name, "grpo_kl");
    float neg[64];
    assert_true(f.B <= 64);
    for (int64_t b = 0; b < f.B; b++) neg[b] = -f.adv[b];
    struct {
        const char *what;
        eco_grpo_config c;
        const float *adv;
    } wrong[6];
    for (int i = 0; i < 6; i++) wrong[i].c = config_of(v), wrong[i].adv = f.adv;
    wrong[0].what = "negated advantages", wrong[0].adv = neg;
    wrong[1].what = "no clipping", wrong[1].c.epsilon_low = 0.999, wrong[1].c.epsilon_high = 1e9;
    wrong[2].what = "no clipping below", wrong[2].c.epsilon_low = 0.999;
    wrong[3].what = "no clipping above", wrong[3].c.epsilon_high = 1e9;
    wrong[4].what = "no KL term", wrong[4].c.beta = 0.0;
    wrong[5].what = "per token instead of per sequence", wrong[5].c.loss_type = ECO_GRPO_LOSS_BNPO;
    for (int i = 0; i < 6; i++) {
        eco_grpo_stats s;
        double el, eg;
        /* config_of(v) with its old log-probabilities; KL read only when beta > 0 */
        objective_errors(&f, v, &wrong[i].c, wrong[i].adv, &el, &eg, &s);
        printf("mutation %-36s relative error loss %.2e, gradient %.2e\n", wrong[i].what, el, eg);
        assert_true(fmax(el, eg) > 100 * REL_TOL);
    }
    objective_close(&f);
}

/* Central differences of the objective (in double through float inputs) against dlp, at
 * every masked element not within reach of a clip boundary. */
static void test_objective_finite_differences(void **state) {
    (void)state;
    objective_fixture f;
    objective_open(&f);
    const size_t n = (size_t)(f.B * f.T);
    float *dlp = malloc(n * sizeof(float));
    const float h = 1e-3f;
    for (size_t k = 0; k < N_VARIANTS; k++) {
        const variant *v = &VARIANTS[k];
        if (!v->with_old) continue; /* ratio ≡ 1 there: lp is also the old one, no direction */
        const eco_grpo_config c = config_of(v);
        eco_grpo_stats s;
        ECO_ASSERT_OK(eco_grpo_objective(&c, f.lp, f.old, f.ref, f.mask, f.adv, f.B, f.T, &s, dlp));
        double worst = 0;
        int checked = 0;
        for (size_t i = 0; i < n; i++) {
            if (!f.mask[i]) continue;
            const double rho = exp((double)f.lp[i] - (double)f.old[i]);
            if (fabs(rho - (1 - c.epsilon_low)) < 0.01 || fabs(rho - (1 + c.epsilon_high)) < 0.01)
                continue;
            const float keep = f.lp[i];
            const volatile float up = keep + h, dn = keep - h;
            eco_grpo_stats sp, sm;
            f.lp[i] = up;
            ECO_ASSERT_OK(
                eco_grpo_objective(&c, f.lp, f.old, f.ref, f.mask, f.adv, f.B, f.T, &sp, NULL));
            f.lp[i] = dn;
            ECO_ASSERT_OK(
                eco_grpo_objective(&c, f.lp, f.old, f.ref, f.mask, f.adv, f.B, f.T, &sm, NULL));
            f.lp[i] = keep;
            const double fd = (sp.loss - sm.loss) / ((double)up - (double)dn);
            const double d = fabs(fd - (double)dlp[i]);
            worst = fmax(worst, d);
            checked++;
            assert_true(d <= 1e-4 + 1e-3 * fabs(fd));
        }
        printf("finite differences %-14s %d elements, largest |fd − grad| %.2e\n", v->name, checked,
               worst);
        assert_true(checked > 20);
    }
    free(dlp);
    objective_close(&f);
}

static void test_config_and_errors(void **state) {
    (void)state;
    eco_grpo_loss_type t = ECO_GRPO_LOSS_GRPO;
    const char *names[] = {"grpo", "bnpo", "dr_grpo"};
    for (int i = 0; i < 3; i++) {
        ECO_ASSERT_OK(eco_grpo_loss_type_parse(names[i], &t));
        assert_int_equal(t, i);
        assert_string_equal(eco_grpo_loss_type_name(t), names[i]);
    }
    ECO_ASSERT_STATUS(eco_grpo_loss_type_parse("dapo", &t), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "\"dapo\""));
    assert_null(eco_grpo_loss_type_name((eco_grpo_loss_type)7));
    eco_grpo_config d = eco_grpo_config_default();
    assert_true(d.epsilon_low == 0.2 && d.epsilon_high == 0.2 && d.beta == 0.0 &&
                d.temperature == 1.0 && d.loss_type == ECO_GRPO_LOSS_GRPO);
    ECO_ASSERT_OK(eco_grpo_config_check(&d));
    struct {
        const char *field;
        eco_grpo_config c;
    } bad[7];
    for (int i = 0; i < 7; i++) bad[i].c = d;
    bad[0].field = "epsilon_low", bad[0].c.epsilon_low = 1.0;
    bad[1].field = "epsilon_low", bad[1].c.epsilon_low = -0.1;
    bad[2].field = "epsilon_high", bad[2].c.epsilon_high = NAN;
    bad[3].field = "beta", bad[3].c.beta = -1;
    bad[4].field = "temperature", bad[4].c.temperature = 0;
    bad[5].field = "max_completion_length", bad[5].c.loss_type = ECO_GRPO_LOSS_DR_GRPO;
    bad[6].field = "loss type", bad[6].c.loss_type = (eco_grpo_loss_type)9;
    for (int i = 0; i < 7; i++) {
        ECO_ASSERT_STATUS(eco_grpo_config_check(&bad[i].c), ECO_STATUS_EINVAL);
        assert_non_null(strstr(eco_last_error(), bad[i].field));
    }
    /* objective: beta > 0 without the reference; a NaN under the mask names its place */
    const float lp[4] = {-1.0f, -2.0f, NAN, -0.5f}, adv[2] = {1.0f, -1.0f};
    const uint8_t mask[4] = {1, 1, 1, 1};
    eco_grpo_config c = d;
    c.beta = 0.1;
    float dlp[4] = {7, 7, 7, 7};
    ECO_ASSERT_STATUS(eco_grpo_objective(&c, lp, NULL, NULL, mask, adv, 2, 2, NULL, dlp),
                      ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_grpo_objective(&d, lp, NULL, NULL, mask, adv, 2, 2, NULL, dlp),
                      ECO_STATUS_ERANGE);
    assert_non_null(strstr(eco_last_error(), "[1, 0]"));
    assert_true(dlp[0] == 7.0f); /* untouched on error */
    const uint8_t mask2[4] = {1, 1, 0, 1};
    eco_grpo_stats s;
    ECO_ASSERT_OK(eco_grpo_objective(&d, lp, NULL, NULL, mask2, adv, 2, 2, &s, dlp));
    /* ratio 1: the loss is −mean_b A_b over rows (grpo), the gradient −A_b / (B·n_b) */
    assert_true(fabs(s.loss - 0.0) < 1e-12);
    assert_true(dlp[0] == -0.25f && dlp[1] == -0.25f && dlp[2] == 0.0f && dlp[3] == 0.5f);
    assert_int_equal(s.n_tokens, 3);
    assert_int_equal(s.n_sequences, 2);
}

/* ---- through the model ------------------------------------------------------------------ */

static eco_train_model *open_model(eco_test_train_fixture *fx) {
    eco_test_train_fixture_open(fx, "grpo_lora_llama", 0);
    eco_train_options o;
    memset(&o, 0, sizeof o);
    o.mode = ECO_TRAIN_MODE_LORA;
    o.seed = 7;
    o.max_batch = fx->B;
    o.max_seq = fx->T;
    o.lora.r = 2;
    o.lora.lora_alpha = 4;
    for (int t = 0; t < ECO_LORA__COUNT; t++) o.lora.targets[t] = true;
    eco_train_model *m;
    ECO_ASSERT_OK(eco_train_model_create(fx->dir, &o, &m));
    eco_test_load_lora_params(m, fx->exp);
    return m;
}

/* Largest relative gradient error over the LoRA tensors (each against its largest element). */
static double grad_rel_err(eco_train_model *m, eco_safetensors *exp, const char *vname,
                           float scale) {
    double worst = 0;
    for (size_t i = 0; i < eco_train_num_params(m); i++) {
        const eco_train_param *p = eco_train_param_at(m, i);
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s.grad.", vname);
        const eco_tensor *t = find_named(exp, prefix, p->name);
        assert_int_equal(eco_tensor_numel(t), p->numel);
        const float *g = eco_train_grads(m) + p->offset, *w = t->data;
        double d = 0, mx = 0;
        for (size_t j = 0; j < p->numel; j++) {
            d = fmax(d, fabs((double)g[j] - (double)scale * (double)w[j]));
            mx = fmax(mx, fabs((double)scale * (double)w[j]));
        }
        worst = fmax(worst, d / fmax(mx, 1e-30));
    }
    return worst;
}

static void test_model_vs_torch(void **state) {
    (void)state;
    eco_test_train_fixture fx;
    eco_train_model *m = open_model(&fx);
    const int64_t B = fx.B, T = fx.T, N = B * T;
    const float *adv = eco_test_must_find(fx.exp, "advantages")->data;
    float *lp = malloc((size_t)N * sizeof(float)), *lp2 = malloc((size_t)N * sizeof(float));
    for (size_t k = 0; k < N_MODEL_VARIANTS; k++) {
        const model_variant *v = &MODEL_VARIANTS[k];
        eco_grpo_config c = eco_grpo_config_default();
        c.loss_type = v->type;
        c.beta = v->beta;
        c.epsilon_low = v->eps_low;
        c.epsilon_high = v->eps_high;
        c.temperature = v->temperature;
        c.max_completion_length = v->lmax;
        const float *old = find_named(fx.exp, v->name, ".old")->data;
        const float *ref = find_named(fx.exp, v->name, ".ref")->data;
        const float *want_lp = find_named(fx.exp, v->name, ".logps")->data;
        const double want_loss = ((const float *)find_named(fx.exp, v->name, ".loss")->data)[0];

        ECO_ASSERT_OK(eco_train_token_logps(m, fx.tokens, fx.targets, B, T, v->temperature, lp2));
        eco_grpo_stats s;
        ECO_ASSERT_OK(eco_train_forward_grpo(m, fx.tokens, fx.targets, old, ref, adv, B, T, &c,
                                             true, &s, lp));
        const double e_lp = eco_test_max_abs_diff(lp, want_lp, (size_t)N);
        const double e_lp2 = eco_test_max_abs_diff(lp2, want_lp, (size_t)N);
        const double e_loss = rel_err(s.loss, want_loss);
        eco_train_zero_grad(m);
        ECO_ASSERT_OK(eco_train_backward(m, 1.0f));
        const double e_grad = grad_rel_err(m, fx.exp, v->name, 1.0f);
        printf("model %-8s τ %.1f β %.2f: loss %+.6f (torch %+.6f) relative error %.2e; "
               "gradient relative error %.2e over %zu LoRA tensors; log-probabilities %.2e "
               "(eval helper %.2e); clipped low %.3f high %.3f\n",
               v->name, v->temperature, v->beta, s.loss, want_loss, e_loss, e_grad,
               eco_train_num_params(m), e_lp, e_lp2, s.clip_low, s.clip_high);
        assert_true(e_lp <= 1e-4 && e_lp2 <= 1e-4);
        assert_true(e_loss <= REL_TOL);
        assert_true(e_grad <= REL_TOL);
        assert_true(s.clip_low > 0 && s.clip_high > 0);

        /* grad_scale scales; the wrong sign of the advantages is far off */
        ECO_ASSERT_OK(eco_train_forward_grpo(m, fx.tokens, fx.targets, old, ref, adv, B, T, &c,
                                             true, NULL, NULL));
        eco_train_zero_grad(m);
        ECO_ASSERT_OK(eco_train_backward(m, 0.5f));
        assert_true(grad_rel_err(m, fx.exp, v->name, 0.5f) <= REL_TOL);
        float neg[16];
        for (int64_t b = 0; b < B; b++) neg[b] = -adv[b];
        ECO_ASSERT_OK(eco_train_forward_grpo(m, fx.tokens, fx.targets, old, ref, neg, B, T, &c,
                                             true, NULL, NULL));
        eco_train_zero_grad(m);
        ECO_ASSERT_OK(eco_train_backward(m, 1.0f));
        assert_true(grad_rel_err(m, fx.exp, v->name, 1.0f) > 100 * REL_TOL);
    }
    /* a plain forward afterwards is cross-entropy again; errors leave no backward */
    float ce = 0;
    ECO_ASSERT_OK(eco_train_forward(m, fx.tokens, fx.targets, B, T, true, &ce));
    eco_train_zero_grad(m);
    ECO_ASSERT_OK(eco_train_backward(m, 1.0f));
    assert_true(grad_rel_err(m, fx.exp, "grpo", 1.0f) > 100 * REL_TOL);
    eco_grpo_config c = eco_grpo_config_default();
    c.beta = 0.1;
    ECO_ASSERT_STATUS(eco_train_forward_grpo(m, fx.tokens, fx.targets, NULL, NULL, adv, B, T, &c,
                                             true, NULL, NULL),
                      ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_train_backward(m, 1.0f), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_train_token_logps(m, fx.tokens, fx.targets, B, T, 0.0, lp),
                      ECO_STATUS_EINVAL);
    free(lp), free(lp2);
    eco_train_model_free(m);
    eco_test_train_fixture_close(&fx);
}

typedef struct fd_ctx {
    eco_test_train_fixture *fx;
    const float *old, *ref, *adv;
    eco_grpo_config cfg;
} fd_ctx;

static double fd_loss(eco_train_model *m, void *ctx) {
    fd_ctx *c = ctx;
    eco_grpo_stats s;
    ECO_ASSERT_OK(eco_train_forward_grpo(m, c->fx->tokens, c->fx->targets, c->old, c->ref, c->adv,
                                         c->fx->B, c->fx->T, &c->cfg, false, &s, NULL));
    return s.loss;
}

/* Central differences of the whole chain (LoRA tensors → logits → log-probabilities at a
 * temperature → objective with KL), with bounds wide enough that nothing clips so the loss
 * is smooth, against the backward's gradient: independent of the torch fixture's gradients. */
static void test_model_finite_differences(void **state) {
    (void)state;
    eco_test_train_fixture fx;
    eco_train_model *m = open_model(&fx);
    fd_ctx c = {.fx = &fx,
                .old = find_named(fx.exp, "grpo", ".old")->data,
                .ref = find_named(fx.exp, "grpo", ".ref")->data,
                .adv = eco_test_must_find(fx.exp, "advantages")->data,
                .cfg = eco_grpo_config_default()};
    c.cfg.epsilon_low = 0.999;
    c.cfg.epsilon_high = 1e9;
    c.cfg.beta = 0.1;
    c.cfg.temperature = 0.8;
    eco_grpo_stats s;
    ECO_ASSERT_OK(eco_train_forward_grpo(m, fx.tokens, fx.targets, c.old, c.ref, c.adv, fx.B, fx.T,
                                         &c.cfg, false, &s, NULL));
    assert_true(s.clip_ratio == 0.0);
    eco_train_zero_grad(m);
    ECO_ASSERT_OK(eco_train_backward(m, 1.0f));
    int checked = 0;
    const double worst = eco_test_finite_differences(m, fd_loss, &c, 23, "grpo fd ", &checked);
    printf("model finite differences: %d elements, largest |fd − grad| %.2e\n", checked, worst);
    assert_true(checked > 0);
    eco_train_model_free(m);
    eco_test_train_fixture_close(&fx);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_advantages_vs_torch),
        cmocka_unit_test(test_objective_vs_torch),
        cmocka_unit_test(test_objective_mutations_caught),
        cmocka_unit_test(test_objective_finite_differences),
        cmocka_unit_test(test_config_and_errors),
        cmocka_unit_test(test_model_vs_torch),
        cmocka_unit_test(test_model_finite_differences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
