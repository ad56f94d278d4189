/* LoRA merges exact in weight space and LoRA extraction (merge_dir.h; MERGING.md point 1).
 *
 * Random adapters on the tiny preset are built here and saved with eco_lora_adapter_save;
 * every written adapter is read back by the project's PEFT loader (eco_lora_adapter_load)
 * and its ΔW = s·B·A compared, in double, with the reference formula computed here from the
 * parents: Σ c_i·ΔW_i for linear / task arithmetic (concatenation exact; the SVD route
 * exact at a rank ≥ Σ r_i), eco_merge_tensor on the ΔW_i for TIES, and the truncation
 * error against the dropped singular values of the reference ΔW (Eckart–Young; LAPACK's
 * dgesdd in double here). Extraction is checked on a fine-tune made from the base plus a
 * synthetic rank-k delta, and the merged adapter's logits against the base with the merged
 * ΔW written into its weights. Every comparison prints its largest relative error. */
#include "test_util.h"

#include <jansson.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/merge_dir.h"
#include "ecology/model.h"
#include "ecology/peft.h"

static char *tmp;
static eco_model_config cfg; /* the tiny preset */

static int setup(void **state) {
    (void)state;
    tmp = eco_test_tmpdir();
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    return 0;
}

static int teardown(void **state) {
    (void)state;
    eco_test_rmtree(tmp);
    free(tmp);
    return 0;
}

static char *sub(const char *name) {
    char *p = eco_path_join(tmp, name);
    assert_non_null(p);
    return p;
}

/* Uniform in [-1, 1) from a 64-bit LCG. */
static float urand(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* An adapter spec: targets as a bit mask over eco_lora_target, r, alpha, rsLoRA, and one
 * optional rank/alpha pattern key. */
typedef struct spec {
    unsigned targets;
    int64_t r;
    double alpha;
    bool rslora;
    const char *pattern_key; /* NULL: none */
    int64_t pattern_r;
    double pattern_alpha;
    const char *base_name;
    uint64_t seed;
} spec;

/* Random A and B (B non-zero, unlike a fresh PEFT adapter) saved to dir for config c. */
static void make_adapter_cfg(const char *dir, const eco_model_config *c, const spec *sp) {
    eco_peft_config pc;
    eco_peft_config_init(&pc);
    pc.r = sp->r;
    pc.lora_alpha = sp->alpha;
    pc.use_rslora = sp->rslora;
    snprintf(pc.base_model_name_or_path, sizeof pc.base_model_name_or_path, "%s",
             sp->base_name ? sp->base_name : "eco-tiny");
    for (int t = 0; t < ECO_LORA__COUNT; t++) pc.targets[t] = (sp->targets >> t) & 1u;
    if (sp->pattern_key) {
        pc.n_rank_pattern = pc.n_alpha_pattern = 1;
        snprintf(pc.rank_pattern_key[0], sizeof pc.rank_pattern_key[0], "%s", sp->pattern_key);
        snprintf(pc.alpha_pattern_key[0], sizeof pc.alpha_pattern_key[0], "%s", sp->pattern_key);
        pc.rank_pattern_val[0] = sp->pattern_r;
        pc.alpha_pattern_val[0] = sp->pattern_alpha;
    }
    const size_t n_mod = (size_t)c->n_layers * ECO_LORA__COUNT;
    eco_lora_module *mods = calloc(n_mod, sizeof *mods);
    eco_tensor *ts = calloc(2 * n_mod, sizeof *ts);
    float **bufs = calloc(2 * n_mod, sizeof *bufs);
    assert_true(mods && ts && bufs);
    uint64_t s = sp->seed;
    for (size_t m = 0; m < n_mod; m++) {
        const int t = (int)(m % ECO_LORA__COUNT);
        if (!pc.targets[t]) continue;
        int64_t r, out, in;
        double alpha;
        eco_peft_module_rank_alpha(&pc, (int64_t)(m / ECO_LORA__COUNT), (eco_lora_target)t, &r,
                                   &alpha);
        eco_lora_module_dims(c, (eco_lora_target)t, &out, &in);
        const int64_t shp[2][2] = {{r, in}, {out, r}};
        for (int h = 0; h < 2; h++) {
            const size_t n = (size_t)(shp[h][0] * shp[h][1]);
            float *b = bufs[2 * m + (size_t)h] = malloc(n * sizeof *b);
            assert_non_null(b);
            for (size_t i = 0; i < n; i++) b[i] = (h ? 0.2f : 0.5f) * urand(&s);
            ts[2 * m + (size_t)h] = (eco_tensor){.dtype = ECO_DTYPE_F32,
                                                 .ndim = 2,
                                                 .shape = {shp[h][0], shp[h][1]},
                                                 .data = b,
                                                 .nbytes = n * sizeof *b};
        }
        mods[m].A = &ts[2 * m];
        mods[m].B = &ts[2 * m + 1];
    }
    ECO_ASSERT_OK(eco_lora_adapter_save(dir, &pc, mods, c->n_layers));
    for (size_t i = 0; i < 2 * n_mod; i++) free(bufs[i]);
    free(bufs);
    free(ts);
    free(mods);
}

static void make_adapter(const char *dir, const spec *sp) { make_adapter_cfg(dir, &cfg, sp); }

/* The adapter in dir read back by the project's loader: dW[out·in] (double) = s·B·A of
 * module (l, t), zeros when it does not adapt the module. Returns false then. */
static bool adapter_delta(const char *dir, int64_t l, int t, double *dW) {
    eco_lora_adapter *a = NULL;
    ECO_ASSERT_OK(eco_lora_adapter_load(dir, &cfg, &a));
    int64_t out, in;
    eco_lora_module_dims(&cfg, (eco_lora_target)t, &out, &in);
    memset(dW, 0, (size_t)(out * in) * sizeof *dW);
    const eco_lora_module *m = eco_lora_adapter_module(a, l, (eco_lora_target)t);
    if (!m->A) {
        eco_lora_adapter_free(a);
        return false;
    }
    float *A = malloc(eco_tensor_numel(m->A) * sizeof *A);
    float *B = malloc(eco_tensor_numel(m->B) * sizeof *B);
    assert_true(A && B);
    eco_to_f32(A, m->A->data, m->A->dtype, eco_tensor_numel(m->A));
    eco_to_f32(B, m->B->data, m->B->dtype, eco_tensor_numel(m->B));
    /* the scale in double, as the reference: alpha/r or alpha/√r after the patterns */
    int64_t r;
    double alpha;
    eco_peft_module_rank_alpha(&a->config, l, (eco_lora_target)t, &r, &alpha);
    const double sc = eco_peft_scale(&a->config, r, alpha);
    for (int64_t i = 0; i < out; i++)
        for (int64_t k = 0; k < r; k++) {
            const double b = sc * B[i * r + k];
            for (int64_t j = 0; j < in; j++) dW[i * in + j] += b * A[k * in + j];
        }
    free(A);
    free(B);
    eco_lora_adapter_free(a);
    return true;
}

static double rel_diff(const double *a, const double *b, size_t n) {
    double d = 0, nb = 0;
    for (size_t i = 0; i < n; i++) {
        d += (a[i] - b[i]) * (a[i] - b[i]);
        nb += b[i] * b[i];
    }
    return nb > 0 ? sqrt(d / nb) : sqrt(d);
}

static eco_merge_dir_options options(const char **parents, size_t n, const double *w,
                                     eco_merge_method m, int64_t rank, const char *out) {
    eco_merge_dir_options o;
    memset(&o, 0, sizeof o);
    o.parents = parents;
    o.n_parents = n;
    eco_merge_params_init(&o.params, m);
    o.params.n_parents = (int)n;
    for (size_t i = 0; i < n; i++) o.params.weight[i] = w[i];
    o.rank = rank;
    o.out = out;
    o.force = true;
    return o;
}

#define ALL_TARGETS 0x7fu

/* Compares every module of the merged adapter in out with Σ coef[i]·ΔW_i of the parents,
 * returning the largest relative error (printed with label). */
static double check_linear(const char *label, const char *out, const char **parents, size_t n,
                           const double *coef) {
    const size_t big = 172 * 64;
    double *ref = malloc(big * sizeof *ref), *d = malloc(big * sizeof *d);
    double *got = malloc(big * sizeof *got);
    assert_true(ref && d && got);
    double worst = 0;
    for (int64_t l = 0; l < cfg.n_layers; l++)
        for (int t = 0; t < ECO_LORA__COUNT; t++) {
            int64_t o_, i_;
            eco_lora_module_dims(&cfg, (eco_lora_target)t, &o_, &i_);
            const size_t numel = (size_t)(o_ * i_);
            memset(ref, 0, numel * sizeof *ref);
            bool any = false;
            for (size_t p = 0; p < n; p++)
                if (adapter_delta(parents[p], l, t, d)) {
                    any = true;
                    for (size_t k = 0; k < numel; k++) ref[k] += coef[p] * d[k];
                }
            const bool has = adapter_delta(out, l, t, got);
            assert_int_equal(has, any);
            if (!any) continue;
            const double e = rel_diff(got, ref, numel);
            if (e > worst) worst = e;
        }
    print_message("%s: largest relative Frobenius error %.3g\n", label, worst);
    free(ref);
    free(d);
    free(got);
    return worst;
}

static json_t *load_lineage(const char *dir) {
    char *p = eco_path_join(dir, ECO_LINEAGE_FILE);
    json_error_t err;
    json_t *j = json_load_file(p, 0, &err);
    free(p);
    assert_non_null(j);
    return j;
}

/* One adapter at weight w (task arithmetic) gives w·ΔW, concatenated at its own rank. */
static void test_single_weight(void **state) {
    (void)state;
    char *a = sub("single_a"), *out = sub("single_out");
    const spec sp = {.targets = ALL_TARGETS, .r = 4, .alpha = 8, .seed = 1};
    make_adapter(a, &sp);
    const char *ps[1] = {a};
    const double w[1] = {0.7};
    eco_merge_dir_options o = options(ps, 1, w, ECO_MERGE_METHOD_TASK_ARITHMETIC, 0, out);
    eco_merge_dir_report rep;
    ECO_ASSERT_OK(eco_merge_adapters_dir(&o, &rep));
    assert_true(rep.adapters && rep.concatenated);
    assert_int_equal(rep.rank, 4);
    assert_int_equal(rep.n_tensors, cfg.n_layers * ECO_LORA__COUNT);
    assert_true(check_linear("one adapter at 0.7", out, ps, 1, w) <= 1e-5);
    /* the lineage: operation, params, result, the parent by digest */
    json_t *j = load_lineage(out);
    json_t *op = json_object_get(j, "operation");
    assert_string_equal(json_string_value(json_object_get(op, "name")), "merge");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(op, "params"), "rank")), 0);
    json_t *res = json_object_get(op, "result");
    assert_string_equal(json_string_value(json_object_get(res, "factorization")), "concatenation");
    json_t *p0 = json_array_get(json_object_get(j, "parents"), 0);
    assert_string_equal(json_string_value(json_object_get(p0, "role")), "parent");
    assert_string_equal(json_string_value(json_object_get(p0, "file")),
                        "adapter_model.safetensors");
    char *st = eco_path_join(a, "adapter_model.safetensors");
    char hex[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_sha256_file_hex(st, hex));
    assert_string_equal(json_string_value(json_object_get(p0, "sha256")), hex);
    free(st);
    json_decref(j);
    /* the written config: rank 4, alpha 4, no rsLoRA, every target */
    eco_peft_config pc;
    ECO_ASSERT_OK(eco_peft_config_load(out, &pc));
    assert_int_equal(pc.r, 4);
    assert_true(pc.lora_alpha == 4.0 && !pc.use_rslora);
    assert_string_equal(pc.base_model_name_or_path, "eco-tiny");
    json_decref(rep.result);
    free(a);
    free(out);
}

/* Singular values (descending) of dW [m, n] in double. */
static void singular_values(const double *dW, int64_t m, int64_t n, double *S) {
    double *copy = malloc((size_t)(m * n) * sizeof *copy);
    assert_non_null(copy);
    memcpy(copy, dW, (size_t)(m * n) * sizeof *copy);
    /* read column-major, copy is dW's transpose: the same singular values */
    double dummy = 0;
    assert_int_equal(LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'N', (lapack_int)n, (lapack_int)m, copy,
                                    (lapack_int)n, S, &dummy, 1, &dummy, 1),
                     0);
    free(copy);
}

/* The truncated adapter's error per module against the singular values the rank drops, and
 * against what the report says. Returns the largest relative mismatch. */
static double check_eckart_young(const char *label, const char *out, const char **parents, size_t n,
                                 const double *coef, int64_t rank, const json_t *result) {
    const size_t big = 172 * 64;
    double *ref = malloc(big * sizeof *ref), *d = malloc(big * sizeof *d);
    double *got = malloc(big * sizeof *got), S[172];
    assert_true(ref && d && got);
    double worst = 0;
    const json_t *mods = json_object_get(result, "modules");
    for (int64_t l = 0; l < cfg.n_layers; l++)
        for (int t = 0; t < ECO_LORA__COUNT; t++) {
            int64_t o_, i_;
            eco_lora_module_dims(&cfg, (eco_lora_target)t, &o_, &i_);
            const size_t numel = (size_t)(o_ * i_);
            memset(ref, 0, numel * sizeof *ref);
            for (size_t p = 0; p < n; p++)
                if (adapter_delta(parents[p], l, t, d))
                    for (size_t k = 0; k < numel; k++) ref[k] += coef[p] * d[k];
            assert_true(adapter_delta(out, l, t, got));
            singular_values(ref, o_, i_, S);
            const int64_t k0 = o_ < i_ ? o_ : i_;
            double tail = 0, all = 0;
            for (int64_t j = 0; j < k0; j++) {
                all += S[j] * S[j];
                if (j >= rank) tail += S[j] * S[j];
            }
            const double want = sqrt(tail / all), have = rel_diff(got, ref, numel);
            char name[96];
            snprintf(name, sizeof name, "model.layers.%lld.%s", (long long)l,
                     eco_lora_target_path((eco_lora_target)t));
            const double reported = json_real_value(json_object_get(mods, name));
            const double e1 = fabs(have - want) / want, e2 = fabs(reported - want) / want;
            if (e1 > worst) worst = e1;
            if (e2 > worst) worst = e2;
        }
    print_message("%s: truncation error vs the dropped singular values: largest relative "
                  "mismatch %.3g\n",
                  label, worst);
    free(ref);
    free(d);
    free(got);
    return worst;
}

/* Weights [1, −1]: ΔW₁ − ΔW₂ by concatenation (rank ≥ r₁ + r₂), by the dense SVD route
 * (dare_linear at density 1 is the same sum, merged by eco_merge_tensor) at full rank, and
 * truncated below r₁ + r₂ by both SVD routes with the error Eckart–Young predicts. */
static void test_difference(void **state) {
    (void)state;
    char *a = sub("diff_a"), *b = sub("diff_b"), *out = sub("diff_out");
    const spec sa = {.targets = ALL_TARGETS, .r = 4, .alpha = 8, .seed = 2};
    const spec sb = {.targets = ALL_TARGETS, .r = 6, .alpha = 3, .seed = 3};
    make_adapter(a, &sa);
    make_adapter(b, &sb);
    const char *ps[2] = {a, b};
    const double w[2] = {1, -1};
    eco_merge_dir_report rep;

    eco_merge_dir_options o = options(ps, 2, w, ECO_MERGE_METHOD_TASK_ARITHMETIC, 10, out);
    ECO_ASSERT_OK(eco_merge_adapters_dir(&o, &rep));
    assert_true(rep.concatenated);
    assert_int_equal(rep.rank, 10);
    assert_true(rep.rel_error == 0.0);
    assert_true(check_linear("[1, -1] concatenated", out, ps, 2, w) <= 1e-5);
    json_decref(rep.result);

    o = options(ps, 2, w, ECO_MERGE_METHOD_DARE_LINEAR, 10, out);
    ECO_ASSERT_OK(eco_merge_adapters_dir(&o, &rep));
    assert_false(rep.concatenated);
    print_message("dense SVD at rank 10: reported error %.3g\n", rep.rel_error);
    assert_true(rep.rel_error <= 1e-5);
    assert_true(check_linear("[1, -1] through the dense SVD", out, ps, 2, w) <= 1e-5);
    json_decref(rep.result);

    /* rank 0: the largest parent rank, 6 < 10: truncated (factored route) */
    o = options(ps, 2, w, ECO_MERGE_METHOD_TASK_ARITHMETIC, 0, out);
    ECO_ASSERT_OK(eco_merge_adapters_dir(&o, &rep));
    assert_false(rep.concatenated);
    assert_int_equal(rep.rank, 6);
    assert_true(rep.rel_error > 1e-3);
    assert_true(check_eckart_young("factored SVD, rank 6", out, ps, 2, w, 6, rep.result) <= 1e-3);
    json_decref(rep.result);

    /* slerp on the deltas at t = 0 and 1: the first and the second parent's ΔW */
    for (int e = 0; e < 2; e++) {
        const double ones[2] = {1, 1};
        o = options(ps, 2, ones, ECO_MERGE_METHOD_SLERP, 10, out);
        o.params.n_t = 1;
        o.params.t[0] = e;
        ECO_ASSERT_OK(eco_merge_adapters_dir(&o, &rep));
        const double pick[2] = {1.0 - e, e};
        assert_true(check_linear(e ? "slerp t = 1" : "slerp t = 0", out, ps, 2, pick) <= 1e-5);
        json_decref(rep.result);
    }

    /* a rank above every module's min(out, in) (64 in tiny) is lowered to it */
    o = options(ps, 2, w, ECO_MERGE_METHOD_DARE_LINEAR, 500, out);
    ECO_ASSERT_OK(eco_merge_adapters_dir(&o, &rep));
    assert_int_equal(rep.rank, 64);
    assert_true(rep.rel_error <= 1e-5);
    json_decref(rep.result);

    o = options(ps, 2, w, ECO_MERGE_METHOD_DARE_LINEAR, 3, out);
    ECO_ASSERT_OK(eco_merge_adapters_dir(&o, &rep));
    assert_int_equal(rep.rank, 3);
    assert_true(check_eckart_young("dense SVD, rank 3", out, ps, 2, w, 3, rep.result) <= 1e-3);
    json_decref(rep.result);
    free(a);
    free(b);
    free(out);
}

/* Different ranks, different target modules (a missing module is a zero delta), rsLoRA,
 * rank_pattern / alpha_pattern, linear's normalisation and λ. */
static void test_mixed_parents(void **state) {
    (void)state;
    char *a = sub("mix_a"), *b = sub("mix_b"), *c = sub("mix_c"), *out = sub("mix_out");
    const spec sa = {.targets = (1u << ECO_LORA_Q) | (1u << ECO_LORA_V),
                     .r = 4,
                     .alpha = 8,
                     .rslora = true,
                     .seed = 4};
    const spec sb = {.targets = (1u << ECO_LORA_Q) | (1u << ECO_LORA_K) | (1u << ECO_LORA_O) |
                                (1u << ECO_LORA_DOWN),
                     .r = 2,
                     .alpha = 16,
                     .pattern_key = "layers.1.self_attn.q_proj",
                     .pattern_r = 5,
                     .pattern_alpha = 2,
                     .seed = 5};
    const spec sc = {.targets = 1u << ECO_LORA_UP, .r = 3, .alpha = 3, .seed = 6};
    make_adapter(a, &sa);
    make_adapter(b, &sb);
    make_adapter(c, &sc);
    const char *ps[3] = {a, b, c};
    const double w[3] = {0.3, 0.5, 0.2};
    eco_merge_dir_report rep;
    eco_merge_dir_options o = options(ps, 3, w, ECO_MERGE_METHOD_LINEAR, 16, out);
    ECO_ASSERT_OK(eco_merge_adapters_dir(&o, &rep));
    assert_true(rep.concatenated);
    assert_int_equal(rep.rank, 9);          /* layer 1's q: 4 + 5 */
    const double coef[3] = {0.3, 0.5, 0.2}; /* Σw = 1 */
    assert_true(check_linear("mixed parents, linear", out, ps, 3, coef) <= 1e-5);
    eco_peft_config pc;
    ECO_ASSERT_OK(eco_peft_config_load(out, &pc));
    for (int t = 0; t < ECO_LORA__COUNT; t++) assert_true(pc.targets[t] == (t != ECO_LORA_GATE));
    json_decref(rep.result);

    /* task arithmetic with λ = 0.5 and weights that do not sum to 1 */
    const double w2[3] = {1.5, -0.5, 2.0};
    o = options(ps, 3, w2, ECO_MERGE_METHOD_TASK_ARITHMETIC, 16, out);
    o.params.lambda = 0.5;
    ECO_ASSERT_OK(eco_merge_adapters_dir(&o, &rep));
    const double coef2[3] = {0.75, -0.25, 1.0};
    assert_true(check_linear("mixed parents, task arithmetic, lambda 0.5", out, ps, 3, coef2) <=
                1e-5);
    json_decref(rep.result);

    /* the same through the dense route */
    o = options(ps, 3, w2, ECO_MERGE_METHOD_DARE_LINEAR, 16, out);
    o.params.lambda = 0.5;
    ECO_ASSERT_OK(eco_merge_adapters_dir(&o, &rep));
    assert_true(check_linear("mixed parents, dense route", out, ps, 3, coef2) <= 1e-5);
    json_decref(rep.result);
    /* Σ r (24 + 16) beyond a module's rank (k_proj [32, 64]): linear through the dense
     * route, exact at rank 32 */
    const spec sd = {.targets = 1u << ECO_LORA_K, .r = 24, .alpha = 24, .seed = 9};
    const spec se = {.targets = 1u << ECO_LORA_K, .r = 16, .alpha = 8, .seed = 10};
    make_adapter(a, &sd);
    make_adapter(b, &se);
    const double w3[2] = {0.4, 0.6};
    o = options(ps, 2, w3, ECO_MERGE_METHOD_LINEAR, 32, out);
    ECO_ASSERT_OK(eco_merge_adapters_dir(&o, &rep));
    assert_false(rep.concatenated);
    assert_true(check_linear("linear, ranks beyond the module's", out, ps, 2, w3) <= 1e-5);
    json_decref(rep.result);
    free(a);
    free(b);
    free(c);
    free(out);
}

/* TIES on adapters equals eco_merge_tensor on the ΔW_i, factored at full rank. */
static void test_ties(void **state) {
    (void)state;
    char *a = sub("ties_a"), *b = sub("ties_b"), *out = sub("ties_out");
    const spec sa = {.targets = ALL_TARGETS, .r = 4, .alpha = 8, .seed = 7};
    const spec sb = {.targets = ALL_TARGETS ^ (1u << ECO_LORA_K), .r = 8, .alpha = 8, .seed = 8};
    make_adapter(a, &sa);
    make_adapter(b, &sb);
    const char *ps[2] = {a, b};
    const double w[2] = {0.6, 0.9};
    eco_merge_dir_report rep;
    eco_merge_dir_options o = options(ps, 2, w, ECO_MERGE_METHOD_TIES, 64, out);
    o.params.density[0] = o.params.density[1] = 0.5;
    ECO_ASSERT_OK(eco_merge_adapters_dir(&o, &rep));
    assert_false(rep.concatenated);
    const size_t big = 172 * 64;
    double *d = malloc(big * sizeof *d), *got = malloc(big * sizeof *got);
    float *f0 = malloc(big * sizeof *f0), *f1 = malloc(big * sizeof *f1);
    float *m = malloc(big * sizeof *m);
    double *md = malloc(big * sizeof *md);
    assert_true(d && got && f0 && f1 && m && md);
    double worst = 0;
    for (int64_t l = 0; l < cfg.n_layers; l++)
        for (int t = 0; t < ECO_LORA__COUNT; t++) {
            int64_t o_, i_;
            eco_lora_module_dims(&cfg, (eco_lora_target)t, &o_, &i_);
            const size_t numel = (size_t)(o_ * i_);
            adapter_delta(a, l, t, d);
            for (size_t k = 0; k < numel; k++) f0[k] = (float)d[k];
            adapter_delta(b, l, t, d);
            for (size_t k = 0; k < numel; k++) f1[k] = (float)d[k];
            const float *parents[2] = {f0, f1};
            char name[96];
            snprintf(name, sizeof name, "model.layers.%lld.%s.weight", (long long)l,
                     eco_lora_target_path((eco_lora_target)t));
            ECO_ASSERT_OK(eco_merge_tensor(m, NULL, parents, o_, i_, &o.params, 0.0,
                                           eco_merge_stream(name), NULL, NULL));
            for (size_t k = 0; k < numel; k++) md[k] = m[k];
            assert_true(adapter_delta(out, l, t, got));
            const double e = rel_diff(got, md, numel);
            if (e > worst) worst = e;
        }
    print_message("ties at full rank against eco_merge_tensor on the deltas: largest relative "
                  "Frobenius error %.3g (reported overall %.3g)\n",
                  worst, rep.rel_error);
    assert_true(worst <= 1e-4);
    assert_true(rep.rel_error <= 1e-5);
    json_decref(rep.result);
    free(d);
    free(got);
    free(f0);
    free(f1);
    free(m);
    free(md);
    free(a);
    free(b);
    free(out);
}

/* ---- models: a base, a fine-tune with a synthetic low-rank delta ------------------------ */

/* Writes dir as base_dir's model with W += delta(l, t) for the linear modules in `targets`
 * (delta of rank k: U [out, k] V [k, in] random, seeded) and, when norm_shift, the final
 * norm changed. Returns nothing; the deltas are recomputed by the same seed. */
static void synth_delta(int64_t l, int t, int64_t k, double *dW) {
    int64_t out, in;
    eco_lora_module_dims(&cfg, (eco_lora_target)t, &out, &in);
    uint64_t s = 1000 + (uint64_t)(l * 16 + t);
    double *U = malloc((size_t)(out * k) * sizeof *U), *V = malloc((size_t)(k * in) * sizeof *V);
    assert_true(U && V);
    for (int64_t i = 0; i < out * k; i++) U[i] = 0.1 * urand(&s);
    for (int64_t i = 0; i < k * in; i++) V[i] = 0.1 * urand(&s);
    for (int64_t i = 0; i < out; i++)
        for (int64_t j = 0; j < in; j++) {
            double x = 0;
            for (int64_t q = 0; q < k; q++) x += U[i * k + q] * V[q * in + j];
            dW[i * in + j] = x;
        }
    free(U);
    free(V);
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name) {
    char *a = eco_path_join(from_dir, name), *b = eco_path_join(to_dir, name);
    char *data = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_read_file(a, (size_t)1 << 30, &data, &len));
    ECO_ASSERT_OK(eco_write_file_atomic(b, data, len));
    free(data);
    free(a);
    free(b);
}

/* dir = base_dir's model with W += the delta for each linear weight: synth (rank k) when
 * adapter is NULL, else the adapter's ΔW; the final norm scaled by 1.5 when norm_shift. */
static void make_model_plus(const char *base_dir, const char *dir, unsigned targets, int64_t k,
                            const char *adapter, bool norm_shift) {
    ECO_ASSERT_OK(eco_mkdir_p(dir));
    char *p = eco_path_join(base_dir, "model.safetensors");
    eco_safetensors *st = NULL;
    ECO_ASSERT_OK(eco_safetensors_open(p, &st));
    free(p);
    const size_t n = eco_safetensors_count(st);
    eco_tensor *ts = calloc(n, sizeof *ts);
    float **bufs = calloc(n, sizeof *bufs);
    double *d = malloc(172 * 64 * sizeof *d);
    assert_true(ts && bufs && d);
    for (size_t i = 0; i < n; i++) {
        const eco_tensor *t = eco_safetensors_get(st, i);
        assert_int_equal(t->dtype, ECO_DTYPE_F32);
        ts[i] = *t;
        bufs[i] = malloc(t->nbytes);
        memcpy(bufs[i], t->data, t->nbytes);
        ts[i].data = bufs[i];
        long long l;
        char path[64];
        if (sscanf(t->name, "model.layers.%lld.%63[a-z_.]", &l, path) == 2)
            for (int m = 0; m < ECO_LORA__COUNT; m++) {
                char want[80];
                snprintf(want, sizeof want, "%s.weight", eco_lora_target_path((eco_lora_target)m));
                if (strcmp(path, want) != 0 || !((targets >> m) & 1u)) continue;
                if (adapter)
                    adapter_delta(adapter, l, m, d);
                else
                    synth_delta(l, m, k, d);
                for (size_t j = 0; j < eco_tensor_numel(t); j++) bufs[i][j] += (float)d[j];
            }
        if (norm_shift && strcmp(t->name, "model.norm.weight") == 0)
            for (size_t j = 0; j < eco_tensor_numel(t); j++) bufs[i][j] *= 1.5f;
    }
    p = eco_path_join(dir, "model.safetensors");
    ECO_ASSERT_OK(eco_safetensors_write(p, ts, n, NULL, 0));
    free(p);
    copy_file(base_dir, dir, "config.json");
    for (size_t i = 0; i < n; i++) free(bufs[i]);
    free(bufs);
    free(ts);
    free(d);
    eco_safetensors_close(st);
}

static char *base_model(void) {
    char *dir = sub("base_model");
    if (!eco_path_has_file(dir, "config.json"))
        ECO_ASSERT_OK(eco_model_create_random(&cfg, 11, ECO_DTYPE_F32, dir));
    return dir;
}

/* Extraction of a synthetic rank-3 delta: exact at rank ≥ 3 (energy 1), Eckart–Young below,
 * sv_epsilon, other tensors reported or refused; then merge → the same ΔW (round trip). */
static void test_extract_round_trip(void **state) {
    (void)state;
    char *base = base_model(), *ft = sub("ft_model"), *ad = sub("ft_lora");
    char *merged = sub("ft_lora_merged"), *ft2 = sub("ft_model_norm");
    const unsigned targets = ALL_TARGETS ^ (1u << ECO_LORA_K);
    make_model_plus(base, ft, targets, 3, NULL, false);
    eco_extract_options eo = {.model = ft, .base = base, .rank = 4, .out = ad, .force = true};
    eco_merge_dir_report rep;
    ECO_ASSERT_OK(eco_extract_lora_dir(&eo, &rep));
    assert_int_equal(rep.rank, 4); /* a 4th direction at rounding level, as mergekit keeps */
    const double energy = json_real_value(json_object_get(rep.result, "energy"));
    print_message("extract at rank 4 of a rank-3 delta: energy %.9f, rel error %.3g\n", energy,
                  rep.rel_error);
    assert_true(energy > 1 - 1e-9 && rep.rel_error < 1e-4);
    assert_int_equal(json_object_size(json_object_get(rep.result, "not_extracted")), 0);
    eco_peft_config pc;
    ECO_ASSERT_OK(eco_peft_config_load(ad, &pc));
    for (int t = 0; t < ECO_LORA__COUNT; t++) assert_true(pc.targets[t] == ((targets >> t) & 1u));
    json_decref(rep.result);
    json_t *j = load_lineage(ad);
    json_t *op = json_object_get(j, "operation");
    assert_string_equal(json_string_value(json_object_get(op, "name")), "extract");
    assert_int_equal(json_array_size(json_object_get(j, "parents")), 2);
    json_decref(j);

    /* the adapter's ΔW against the synthetic one */
    const size_t big = 172 * 64;
    double *want = malloc(big * sizeof *want), *got = malloc(big * sizeof *got);
    assert_true(want && got);
    double worst = 0;
    const char *ps[1] = {ad};
    const double w1[1] = {1};
    eco_merge_dir_options mo = options(ps, 1, w1, ECO_MERGE_METHOD_TASK_ARITHMETIC, 3, merged);
    ECO_ASSERT_OK(eco_merge_adapters_dir(&mo, &rep));
    json_decref(rep.result);
    for (int pass = 0; pass < 2; pass++)
        for (int64_t l = 0; l < cfg.n_layers; l++)
            for (int t = 0; t < ECO_LORA__COUNT; t++) {
                if (!((targets >> t) & 1u)) continue;
                int64_t o_, i_;
                eco_lora_module_dims(&cfg, (eco_lora_target)t, &o_, &i_);
                synth_delta(l, t, 3, want);
                assert_true(adapter_delta(pass ? merged : ad, l, t, got));
                const double e = rel_diff(got, want, (size_t)(o_ * i_));
                if (e > worst) worst = e;
            }
    print_message("extract -> merge round trip on a rank-3 delta: largest relative Frobenius "
                  "error %.3g\n",
                  worst);
    assert_true(worst <= 1e-5);

    /* rank 2 < 3: the energy kept is that of the two largest singular values */
    eo.rank = 2;
    ECO_ASSERT_OK(eco_extract_lora_dir(&eo, &rep));
    assert_int_equal(rep.rank, 2);
    double mism = 0, S[64];
    json_t *mods = json_object_get(rep.result, "modules");
    for (int64_t l = 0; l < cfg.n_layers; l++)
        for (int t = 0; t < ECO_LORA__COUNT; t++) {
            if (!((targets >> t) & 1u)) continue;
            int64_t o_, i_;
            eco_lora_module_dims(&cfg, (eco_lora_target)t, &o_, &i_);
            synth_delta(l, t, 3, want);
            singular_values(want, o_, i_, S);
            const double e_want =
                (S[0] * S[0] + S[1] * S[1]) / (S[0] * S[0] + S[1] * S[1] + S[2] * S[2]);
            char name[96];
            snprintf(name, sizeof name, "model.layers.%lld.%s", (long long)l,
                     eco_lora_target_path((eco_lora_target)t));
            const double e_got =
                json_real_value(json_object_get(json_object_get(mods, name), "energy"));
            if (fabs(e_got - e_want) > mism) mism = fabs(e_got - e_want);
        }
    print_message("extract at rank 2: largest energy mismatch %.3g\n", mism);
    assert_true(mism <= 1e-4);
    json_decref(rep.result);

    /* sv_epsilon alone: a threshold between S_3 and 0 keeps rank 3; above every S: nothing */
    eo.rank = 0;
    eo.sv_epsilon = 1e-3;
    ECO_ASSERT_OK(eco_extract_lora_dir(&eo, &rep));
    assert_int_equal(rep.rank, 3);
    json_decref(rep.result);
    eo.sv_epsilon = 1e6;
    ECO_ASSERT_STATUS(eco_extract_lora_dir(&eo, &rep), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "nothing to extract"));
    eo.sv_epsilon = 0;
    ECO_ASSERT_STATUS(eco_extract_lora_dir(&eo, &rep), ECO_STATUS_EINVAL);

    /* a changed norm: reported, or refused with strict */
    make_model_plus(base, ft2, targets, 3, NULL, true);
    eco_extract_options e2 = {.model = ft2, .base = base, .rank = 3, .out = ad, .force = true};
    ECO_ASSERT_OK(eco_extract_lora_dir(&e2, &rep));
    json_t *other = json_object_get(rep.result, "not_extracted");
    assert_int_equal(json_object_size(other), 1);
    print_message("not extracted: model.norm.weight relative change %.3g\n",
                  json_real_value(json_object_get(other, "model.norm.weight")));
    assert_true(fabs(json_real_value(json_object_get(other, "model.norm.weight")) - 0.5) < 1e-6);
    json_decref(rep.result);
    e2.strict = true;
    ECO_ASSERT_STATUS(eco_extract_lora_dir(&e2, &rep), ECO_STATUS_EUNSUPPORTED);
    assert_non_null(strstr(eco_last_error(), "model.norm.weight"));
    /* identical models: nothing to extract; a model against itself as out: refused */
    e2 = (eco_extract_options){.model = base, .base = base, .rank = 3, .out = ad, .force = true};
    ECO_ASSERT_STATUS(eco_extract_lora_dir(&e2, &rep), ECO_STATUS_EINVAL);
    free(want);
    free(got);
    free(base);
    free(ft);
    free(ft2);
    free(ad);
    free(merged);
}

/* The merged adapter, attached to the base, gives the logits of the base with the merged
 * ΔW written into its weights; the project's loader reads it (and a PEFT-shaped config). */
static void test_logits(void **state) {
    (void)state;
    char *base = base_model(), *a = sub("log_a"), *b = sub("log_b"), *out = sub("log_out");
    char *applied = sub("log_applied");
    const spec sa = {.targets = ALL_TARGETS, .r = 4, .alpha = 8, .seed = 21};
    const spec sb = {.targets = (1u << ECO_LORA_Q) | (1u << ECO_LORA_UP),
                     .r = 8,
                     .alpha = 4,
                     .rslora = true,
                     .seed = 22};
    make_adapter(a, &sa);
    make_adapter(b, &sb);
    const char *ps[2] = {a, b};
    const double w[2] = {0.8, -0.4};
    eco_merge_dir_options o = options(ps, 2, w, ECO_MERGE_METHOD_TASK_ARITHMETIC, 0, out);
    o.base = base;
    eco_merge_dir_report rep;
    ECO_ASSERT_OK(eco_merge_adapters_dir(&o, &rep));
    assert_int_equal(rep.rank, 8); /* truncated: Σ r = 12 on q and up */
    json_decref(rep.result);
    json_t *j = load_lineage(out);
    json_t *p0 = json_array_get(json_object_get(j, "parents"), 0);
    assert_string_equal(json_string_value(json_object_get(p0, "role")), "base");
    assert_string_equal(json_string_value(json_object_get(p0, "file")), "model.safetensors");
    json_decref(j);
    /* the written adapter applied into the base's weights, as a model */
    make_model_plus(base, applied, ALL_TARGETS, 0, out, false);

    eco_model *m1 = NULL, *m2 = NULL;
    ECO_ASSERT_OK(eco_model_load(base, &m1));
    ECO_ASSERT_OK(eco_model_load(applied, &m2));
    eco_lora_adapter *ad = NULL;
    ECO_ASSERT_OK(eco_lora_adapter_load(out, eco_model_get_config(m1), &ad));
    ECO_ASSERT_OK(eco_model_set_adapter(m1, ad));
    eco_lora_adapter_free(ad);
    enum { T = 10 };
    const int32_t toks[T] = {1, 72, 101, 108, 108, 111, 44, 32, 119, 258};
    const size_t V = (size_t)cfg.vocab_size;
    float *l1 = malloc(T * V * sizeof *l1), *l2 = malloc(T * V * sizeof *l2);
    eco_kv_cache *k1 = NULL, *k2 = NULL;
    ECO_ASSERT_OK(eco_kv_cache_create(m1, T, &k1));
    ECO_ASSERT_OK(eco_kv_cache_create(m2, T, &k2));
    ECO_ASSERT_OK(eco_model_forward(m1, k1, toks, T, l1, true));
    ECO_ASSERT_OK(eco_model_forward(m2, k2, toks, T, l2, true));
    const double diff = eco_test_max_abs_diff(l1, l2, T * V);
    print_message("merged adapter attached vs merged delta applied: largest logit difference "
                  "%.3g\n",
                  diff);
    assert_true(diff <= 1e-4);
    eco_kv_cache_free(k1);
    eco_kv_cache_free(k2);
    eco_model_free(m1);
    eco_model_free(m2);
    free(l1);
    free(l2);
    free(base);
    free(a);
    free(b);
    free(out);
    free(applied);
}

/* Refusals: other bases (name, shapes), a weights count that does not match, an occupied
 * output without force, a model folder among adapters. */
static void test_refusals(void **state) {
    (void)state;
    char *a = sub("ref_a"), *b = sub("ref_b"), *c = sub("ref_c"), *out = sub("ref_out");
    const spec sa = {.targets = ALL_TARGETS, .r = 2, .alpha = 2, .seed = 31};
    spec sb = sa;
    sb.base_name = "/somewhere/else/SmolLM2-135M";
    make_adapter(a, &sa);
    make_adapter(b, &sb);
    eco_model_config c2 = cfg;
    c2.intermediate_size = 100;
    make_adapter_cfg(c, &c2, &sa);
    const double w[2] = {1, 1};
    eco_merge_dir_report rep;
    const char *ab[2] = {a, b}, *ac[2] = {a, c};
    eco_merge_dir_options o = options(ab, 2, w, ECO_MERGE_METHOD_LINEAR, 0, out);
    ECO_ASSERT_STATUS(eco_merge_adapters_dir(&o, &rep), ECO_STATUS_EINCOMPAT);
    print_message("refused: %s\n", eco_last_error());
    assert_non_null(strstr(eco_last_error(), "different base models"));
    o = options(ac, 2, w, ECO_MERGE_METHOD_LINEAR, 0, out);
    ECO_ASSERT_STATUS(eco_merge_adapters_dir(&o, &rep), ECO_STATUS_EINCOMPAT);
    print_message("refused: %s\n", eco_last_error());
    assert_non_null(strstr(eco_last_error(), "different base models"));
    /* same name in another folder: accepted ("a/eco-tiny" and "eco-tiny") */
    sb.base_name = "/models/eco-tiny/";
    make_adapter(b, &sb);
    o = options(ab, 2, w, ECO_MERGE_METHOD_LINEAR, 0, out);
    ECO_ASSERT_OK(eco_merge_adapters_dir(&o, &rep));
    json_decref(rep.result);
    /* occupied output without force */
    o.force = false;
    ECO_ASSERT_STATUS(eco_merge_adapters_dir(&o, &rep), ECO_STATUS_EEXIST);
    o.force = true;
    o.params.n_parents = 1;
    ECO_ASSERT_STATUS(eco_merge_adapters_dir(&o, &rep), ECO_STATUS_EINVAL);
    /* the output as a parent */
    const char *aa[2] = {a, out};
    o = options(aa, 2, w, ECO_MERGE_METHOD_LINEAR, 0, a);
    ECO_ASSERT_STATUS(eco_merge_adapters_dir(&o, &rep), ECO_STATUS_EINVAL);
    free(a);
    free(b);
    free(c);
    free(out);
}

/* The same merge, and the same extraction, with 1 and 2 threads write the same bytes. */
static void test_threads_same_bytes(void **state) {
    (void)state;
    const int saved = eco_get_threads();
    char *a = sub("thr_a"), *b = sub("thr_b"), *o1 = sub("thr_o1"), *o2 = sub("thr_o2");
    const spec sa = {.targets = ALL_TARGETS, .r = 8, .alpha = 8, .seed = 41};
    const spec sb = {.targets = ALL_TARGETS, .r = 8, .alpha = 16, .seed = 42};
    make_adapter(a, &sa);
    make_adapter(b, &sb);
    const char *ps[2] = {a, b};
    const double w[2] = {0.5, 0.5};
    const char *outs[2] = {o1, o2};
    for (int m = 0; m < 2; m++) {
        for (int th = 0; th < 2; th++) {
            eco_set_threads(th + 1);
            eco_merge_dir_options o =
                options(ps, 2, w, m ? ECO_MERGE_METHOD_TIES : ECO_MERGE_METHOD_LINEAR, 6, outs[th]);
            eco_merge_dir_report rep;
            ECO_ASSERT_OK(eco_merge_adapters_dir(&o, &rep));
            json_decref(rep.result);
        }
        eco_set_threads(saved);
        const char *names[2] = {"adapter_model.safetensors", ECO_LINEAGE_FILE};
        for (int f = 0; f < 2; f++) {
            char *p1 = eco_path_join(o1, names[f]), *p2 = eco_path_join(o2, names[f]);
            char h1[ECO_SHA256_HEX_LEN + 1], h2[ECO_SHA256_HEX_LEN + 1];
            ECO_ASSERT_OK(eco_sha256_file_hex(p1, h1));
            ECO_ASSERT_OK(eco_sha256_file_hex(p2, h2));
            if (strcmp(h1, h2) != 0)
                print_error("%s, %s differs\n", m ? "ties" : "linear", names[f]);
            assert_string_equal(h1, h2);
            free(p1);
            free(p2);
        }
    }
    /* extraction too */
    char *base = base_model(), *ft = sub("thr_ft");
    make_model_plus(base, ft, ALL_TARGETS, 5, NULL, false);
    for (int th = 0; th < 2; th++) {
        eco_set_threads(th + 1);
        eco_extract_options eo = {
            .model = ft, .base = base, .rank = 3, .out = outs[th], .force = true};
        eco_merge_dir_report rep;
        ECO_ASSERT_OK(eco_extract_lora_dir(&eo, &rep));
        json_decref(rep.result);
    }
    eco_set_threads(saved);
    char *p1 = eco_path_join(o1, "adapter_model.safetensors");
    char *p2 = eco_path_join(o2, "adapter_model.safetensors");
    char h1[ECO_SHA256_HEX_LEN + 1], h2[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_sha256_file_hex(p1, h1));
    ECO_ASSERT_OK(eco_sha256_file_hex(p2, h2));
    assert_string_equal(h1, h2);
    free(p1);
    free(p2);
    free(base);
    free(ft);
    free(a);
    free(b);
    free(o1);
    free(o2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_weight),      cmocka_unit_test(test_difference),
        cmocka_unit_test(test_mixed_parents),      cmocka_unit_test(test_ties),
        cmocka_unit_test(test_extract_round_trip), cmocka_unit_test(test_logits),
        cmocka_unit_test(test_refusals),           cmocka_unit_test(test_threads_same_bytes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
