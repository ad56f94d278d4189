/*
 * The int8 q8_0 product (src/tensor/q8_0_gemm.c), the prompt path of eco_linear for q8_0
 * weights, with the dispatcher held to each ISA level the CPU has (plain C, AVX2, and at
 * level 2 AVX-512 VNNI where the CPU has it, else AVX2 again):
 *   - activation quantization: for finite blocks the int8 values are exactly
 *     eco_q8_0_quantize_row's and the f32 scale rounds to its f16 scale; a block with a NaN
 *     or an infinity gets scale NaN (so its products are NaN) and q = 0; padding is zero;
 *     the stored sums are −128·Σq;
 *   - eco_q8_0_gemm on odd shapes (M, N not multiples of the 16-row × 8-token tile; K = 32 .. 1536)
 *     against eco_q8_0_gemm_ref (the same exact int32 block dots, summed in double): within
 *     1e-5 · Σ|w·x| (+ |bias|), the f32 summation order;
 *   - eco_linear / eco_linear_multi with M >= 4 (several token chunks): the same, and the
 *     matrices of a multi call give the bits of single calls; M < 4 takes eco_matvec per
 *     token (its bits);
 *   - against the f32 product of the dequantized weights: within the activation
 *     quantization's bound Σ_b (dx_b / 2) · Σ_j |w_bj| (+ 1e-5 · Σ|w·x|).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "ecology/tensor.h"
#include "tensor/q8_0_gemm.h"
#include "tensor/simd.h"

static float urand(uint64_t *s, float lo, float hi) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((*s >> 40) & 0xffffff) / (float)0x1000000;
}

static uint8_t *quantize(const float *x, int64_t rows, int64_t K) {
    const size_t row = eco_dtype_row_bytes(ECO_DTYPE_Q8_0, K);
    uint8_t *q = malloc(row * (size_t)rows + 1);
    assert_non_null(q);
    for (int64_t r = 0; r < rows; r++) eco_q8_0_quantize_row(q + (size_t)r * row, x + r * K, K);
    return q;
}

static const char *kernel_name(int level) {
    if (level >= 2 && eco_cpu_has_avx512_vnni()) return "AVX-512 VNNI";
    return level >= 1 ? "AVX2" : "plain C";
}

/* ---- activation quantization ------------------------------------------------------------ */

static void act_at_level(int level) {
    static const int64_t Ks[] = {32, 64, 96, 576, 1536};
    uint64_t s = 5 + (uint64_t)level;
    for (size_t ki = 0; ki < sizeof Ks / sizeof *Ks; ki++) {
        const int64_t K = Ks[ki], M = 5, nb = K / 32;
        float *x = malloc((size_t)(M * K) * sizeof(float));
        assert_non_null(x);
        for (int64_t i = 0; i < M * K; i++) x[i] = urand(&s, -4, 4) * (i % 7 == 0 ? 10.0f : 1.0f);
        for (int j = 0; j < 32; j++) x[K + j] = 0.0f; /* an all-zero block: scale 0 */
        x[2 * K + 3] = NAN;                           /* non-finite blocks */
        if (K > 32) x[3 * K + 40] = INFINITY;
        x[4 * K + 5] = 0.5f; /* ties: roundf goes away from zero */
        x[4 * K + 6] = -0.5f;
        x[4 * K + 7] = 127.0f; /* amax 127: scale 1, x·id exact halves below */
        x[4 * K + 8] = 2.5f;
        x[4 * K + 9] = -3.5f;
        void *buf = malloc(eco_q8_act_bytes(M, K));
        assert_non_null(buf);
        eco_q8_act a;
        eco_q8_act_init(&a, buf, M, K);
        eco_q8_act_quantize(&a, x);
        uint8_t *ref = quantize(x, M, K);
        const size_t row = eco_dtype_row_bytes(ECO_DTYPE_Q8_0, K);
        for (int64_t m = 0; m < a.Mp; m++)
            for (int64_t b = 0; b < nb; b++) {
                const float d = eco_q8_act_scale(&a, m, b);
                const int8_t *q = eco_q8_act_block(&a, m, b);
                int32_t sum = 0;
                for (int j = 0; j < 32; j++) sum += q[j];
                assert_int_equal(eco_q8_act_corr(&a, m, b), -128 * sum);
                if (m >= M) { /* padding */
                    assert_true(d == 0.0f);
                    for (int j = 0; j < 32; j++) assert_int_equal(q[j], 0);
                    continue;
                }
                bool finite = true;
                for (int j = 0; j < 32; j++) finite = finite && isfinite(x[m * K + b * 32 + j]);
                if (!finite) {
                    assert_true(isnan(d));
                    for (int j = 0; j < 32; j++) assert_int_equal(q[j], 0);
                    continue;
                }
                const uint8_t *blk = ref + (size_t)m * row + (size_t)b * 34;
                uint16_t h;
                memcpy(&h, blk, 2);
                assert_int_equal(eco_f32_to_f16(d), h);
                for (int j = 0; j < 32; j++) assert_int_equal(q[j], (int8_t)blk[2 + j]);
            }
        /* the scalar reference row by row gives the same bytes */
        int8_t *q1 = malloc((size_t)K);
        float *d1 = malloc((size_t)nb * sizeof(float));
        int32_t *c1 = malloc((size_t)nb * sizeof(int32_t));
        assert_non_null(q1);
        assert_non_null(d1);
        assert_non_null(c1);
        for (int64_t m = 0; m < M; m++) {
            eco_q8_act_quantize_row_ref(q1, d1, c1, x + m * K, K);
            for (int64_t b = 0; b < nb; b++) {
                assert_memory_equal(q1 + b * 32, eco_q8_act_block(&a, m, b), 32);
                const float d = eco_q8_act_scale(&a, m, b);
                assert_true(d1[b] == d || (isnan(d1[b]) && isnan(d)));
                assert_int_equal(c1[b], eco_q8_act_corr(&a, m, b));
            }
        }
        free(q1);
        free(d1);
        free(c1);
        free(ref);
        free(buf);
        free(x);
    }
    printf("  %s: activation quantization matches eco_q8_0_quantize_row\n",
           level >= 1 ? "AVX2" : "plain C");
}

/* ---- the product -------------------------------------------------------------------------- */

typedef struct case_figs {
    double worst_ref, worst_quant;
} case_figs;

static eco_tensor q8_tensor(uint8_t *W, int64_t N, int64_t K) {
    return (eco_tensor){.dtype = ECO_DTYPE_Q8_0,
                        .ndim = 2,
                        .shape = {N, K},
                        .data = W,
                        .nbytes = eco_dtype_row_bytes(ECO_DTYPE_Q8_0, K) * (size_t)N};
}

/* y[M,N] against the reference and the dequantized f32 product (see the file's comment). */
static void check_product(const char *what, const float *y, const float *X, const uint8_t *W,
                          const float *Wf, const float *bias, int64_t M, int64_t N, int64_t K,
                          case_figs *f) {
    float *yr = malloc((size_t)(M * N) * sizeof(float));
    assert_non_null(yr);
    eco_q8_0_gemm_ref(yr, X, W, bias, M, N, K);
    int8_t *q = malloc((size_t)K);
    float *d = malloc((size_t)K * sizeof(float));
    int32_t *c = malloc((size_t)K * sizeof(int32_t));
    assert_non_null(q);
    assert_non_null(d);
    assert_non_null(c);
    for (int64_t m = 0; m < M; m++) {
        eco_q8_act_quantize_row_ref(q, d, c, X + m * K, K);
        for (int64_t n = 0; n < N; n++) {
            double sc = bias ? fabs(bias[n]) : 0, bound = 0, exact = bias ? bias[n] : 0;
            for (int64_t k = 0; k < K; k++) {
                const double w = Wf[n * K + k];
                sc += fabs(w * X[m * K + k]);
                bound += fabs(w) * d[k / 32] * 0.5;
                exact += w * X[m * K + k];
            }
            const double got = y[m * N + n];
            const double e1 = fabs(got - yr[m * N + n]) / (sc + 1e-30);
            const double e2 = fabs(got - exact) / (bound + 1e-5 * sc + 1e-30);
            if (e1 > f->worst_ref) f->worst_ref = e1;
            if (e2 > f->worst_quant) f->worst_quant = e2;
            if (!(e1 <= 1e-5) || !(e2 <= 1.0)) {
                print_error("%s: [%lld, %lld]: %.9g, reference %.9g, f32 %.9g (scale %g, "
                            "quantization bound %g)\n",
                            what, (long long)m, (long long)n, got, yr[m * N + n], exact, sc, bound);
                fail();
            }
        }
    }
    free(q);
    free(d);
    free(c);
    free(yr);
}

static void gemm_at_level(int level) {
    static const int64_t Ms[] = {2, 3, 7, 9, 20};
    static const int64_t Ns[] = {1, 3, 5, 16, 17, 40};
    static const int64_t Ks[] = {32, 64, 96, 576, 1536};
    uint64_t s = 17 + (uint64_t)level;
    case_figs f = {0, 0};
    for (size_t ki = 0; ki < sizeof Ks / sizeof *Ks; ki++)
        for (size_t ni = 0; ni < sizeof Ns / sizeof *Ns; ni++)
            for (size_t mi = 0; mi < sizeof Ms / sizeof *Ms; mi++) {
                const int64_t M = Ms[mi], N = Ns[ni], K = Ks[ki];
                float *Wf = malloc((size_t)(N * K) * sizeof(float));
                float *X = malloc((size_t)(M * K) * sizeof(float));
                float *bias = malloc((size_t)N * sizeof(float));
                float *y = malloc((size_t)(M * N) * sizeof(float));
                assert_non_null(Wf);
                assert_non_null(X);
                assert_non_null(bias);
                assert_non_null(y);
                for (int64_t i = 0; i < N * K; i++) Wf[i] = urand(&s, -1, 1);
                for (int64_t i = 0; i < M * K; i++) X[i] = urand(&s, -2, 2);
                for (int64_t i = 0; i < N; i++) bias[i] = urand(&s, -1, 1);
                uint8_t *W = quantize(Wf, N, K);
                if (N > 2) W[34 + 2 + 5] = 0x80; /* a −128 weight (GGUF files may hold one) */
                eco_q8_0_dequantize_row_ref(Wf, W, N * K);
                void *buf = malloc(eco_q8_act_bytes(M, K));
                assert_non_null(buf);
                eco_q8_act a;
                eco_q8_act_init(&a, buf, M, K);
                eco_q8_act_quantize(&a, X);
                char what[96];
                snprintf(what, sizeof what, "%s gemm M=%lld N=%lld K=%lld", kernel_name(level),
                         (long long)M, (long long)N, (long long)K);
                eco_q8_0_gemm(y, N, &a, W, (mi & 1) ? bias : NULL, N);
                check_product(what, y, X, W, Wf, (mi & 1) ? bias : NULL, M, N, K, &f);
                free(buf);
                free(W);
                free(Wf);
                free(X);
                free(bias);
                free(y);
            }
    printf("  %s: int8 gemm vs reference: largest |diff| / sum|w*x| %.3g (tol 1e-5); vs f32 of "
           "the dequantized weights: largest |diff| / quantization bound %.3g (tol 1)\n",
           kernel_name(level), f.worst_ref, f.worst_quant);
}

/* eco_linear and eco_linear_multi, M large enough for several token chunks. */
static void linear_at_level(int level) {
    const int64_t M = 203, K = 576, N = 37;
    uint64_t s = 99 + (uint64_t)level;
    float *Wf = malloc((size_t)(N * K) * sizeof(float)), *Wf2 = malloc((size_t)(N * K) * 4);
    float *X = malloc((size_t)(M * K) * sizeof(float)), *bias = malloc((size_t)N * 4);
    float *y[3], *z[3];
    for (int i = 0; i < 3; i++) {
        y[i] = malloc((size_t)(M * N) * 4);
        z[i] = malloc((size_t)(M * N) * 4);
        assert_non_null(y[i]);
        assert_non_null(z[i]);
    }
    assert_non_null(Wf);
    assert_non_null(Wf2);
    assert_non_null(X);
    assert_non_null(bias);
    for (int64_t i = 0; i < N * K; i++) Wf[i] = urand(&s, -1, 1);
    for (int64_t i = 0; i < N * K; i++) Wf2[i] = urand(&s, -1, 1);
    for (int64_t i = 0; i < M * K; i++) X[i] = urand(&s, -3, 3);
    for (int64_t i = 0; i < N; i++) bias[i] = urand(&s, -1, 1);
    uint8_t *W = quantize(Wf, N, K);
    eco_q8_0_dequantize_row_ref(Wf, W, N * K);
    float *scratch = malloc(eco_linear_scratch_floats(K, N) * sizeof(float));
    assert_non_null(scratch);
    const eco_tensor tq = q8_tensor(W, N, K);
    const eco_tensor tf = {.dtype = ECO_DTYPE_F32,
                           .ndim = 2,
                           .shape = {N, K},
                           .data = Wf2,
                           .nbytes = (size_t)(N * K) * 4};
    eco_linear(y[0], X, &tq, bias, M, scratch);
    case_figs f = {0, 0};
    check_product("eco_linear q8_0", y[0], X, W, Wf, bias, M, N, K, &f);
    /* multi: q8_0, f32, q8_0 sharing one quantization; the bits of single calls */
    eco_linear(y[1], X, &tf, NULL, M, scratch);
    eco_linear(y[2], X, &tq, NULL, M, scratch);
    const eco_tensor *ws[3] = {&tq, &tf, &tq};
    const float *bs[3] = {bias, NULL, NULL};
    eco_linear_multi(z, X, ws, bs, M, 3, scratch);
    for (int i = 0; i < 3; i++) assert_memory_equal(z[i], y[i], (size_t)(M * N) * 4);
    /* M < 4: one matvec per token (f32 activations), the same bits as eco_matvec */
    eco_linear(z[0], X, &tq, NULL, 3, scratch);
    for (int64_t m = 0; m < 3; m++) {
        eco_matvec(z[1], W, ECO_DTYPE_Q8_0, X + m * K, N, K);
        assert_memory_equal(z[0] + m * N, z[1], (size_t)N * 4);
    }
    printf("  %s: eco_linear q8_0 M=%lld: vs reference %.3g, vs f32 / bound %.3g; "
           "eco_linear_multi gives the same bits\n",
           kernel_name(level), (long long)M, f.worst_ref, f.worst_quant);
    for (int i = 0; i < 3; i++) {
        free(y[i]);
        free(z[i]);
    }
    free(scratch);
    free(W);
    free(Wf);
    free(Wf2);
    free(X);
    free(bias);
}

/* A NaN in an activation block makes that token's outputs NaN, not a quiet zero. */
static void nan_propagates(void) {
    const int64_t M = 3, N = 5, K = 64;
    float X[3 * 64], Wf[5 * 64], y[3 * 5];
    uint64_t s = 3;
    for (int i = 0; i < M * K; i++) X[i] = urand(&s, -1, 1);
    for (int i = 0; i < N * K; i++) Wf[i] = urand(&s, -1, 1);
    X[K + 40] = NAN;
    uint8_t *W = quantize(Wf, N, K);
    float *scratch = malloc(eco_linear_scratch_floats(K, N) * sizeof(float));
    assert_non_null(scratch);
    const eco_tensor tq = q8_tensor(W, N, K);
    eco_linear(y, X, &tq, NULL, M, scratch);
    for (int64_t n = 0; n < N; n++) {
        assert_true(isfinite(y[n]));
        assert_true(isnan(y[N + n]));
        assert_true(isfinite(y[2 * N + n]));
    }
    free(scratch);
    free(W);
}

static void test_per_isa(void **state) {
    (void)state;
    eco_matvec_set_simd_cap(2);
    const int max = eco_simd_level();
    for (int level = 0; level <= 2; level++) {
        if (level > max) {
            printf("  level %d not available: not tested\n", level);
            continue;
        }
        eco_matvec_set_simd_cap(level);
        assert_int_equal(eco_simd_level(), level);
        act_at_level(level);
        gemm_at_level(level);
        linear_at_level(level);
        nan_propagates();
    }
    eco_matvec_set_simd_cap(2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_isa),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
