/*
 * q8_0 (GGUF's Q8_0 blocks) in the tensor module: the quantizer's bytes against an
 * independent numpy transcription of ggml's quantize_row_q8_0_ref
 * (tests/fixtures/q8_0/blocks.safetensors, scripts/make_q8_0_fixture.py); exact edge
 * cases; the round trip per weight; the dtype's names and sizes; and every q8_0 kernel
 * against its scalar _ref twin with the dispatcher held to each ISA level the CPU has
 * (dequantize: identical bits; matvec, matvec_multi(_part): within 1e-5·Σ|w·x|, the
 * condition of the sum, and parts giving the bits of the whole; eco_linear with M > 1,
 * the int8 product on quantized activations, against its scalar reference
 * eco_q8_0_gemm_ref within 1e-5·Σ|w·x|).
 *
 * Round trip: ggml stores d = amax/127 rounded to f16 (d16) but quantizes with the f32
 * d, so |x − d16·q| <= d/2 + 127·|d − d16| (the second term is the f16 rounding of the
 * scale, up to 6% of d); where d is an f16 exactly the error is within d/2.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "ecology/safetensors.h"
#include "ecology/tensor.h"
#include "tensor/q8_0_gemm.h"
#include "tensor/simd.h"

static float urand(uint64_t *s, float lo, float hi) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((*s >> 40) & 0xffffff) / (float)0x1000000;
}

static uint8_t *quantize(const float *x, int64_t rows, int64_t K) {
    uint8_t *q = malloc(eco_dtype_row_bytes(ECO_DTYPE_Q8_0, K) * (size_t)rows + 1);
    assert_non_null(q);
    for (int64_t r = 0; r < rows; r++)
        eco_q8_0_quantize_row(q + (size_t)r * eco_dtype_row_bytes(ECO_DTYPE_Q8_0, K), x + r * K, K);
    return q;
}

/* ---- bytes ----------------------------------------------------------------------------- */

static void test_fixture_bytes(void **state) {
    (void)state;
    char *path = eco_test_source_path("tests/fixtures/q8_0/blocks.safetensors");
    eco_safetensors *st;
    ECO_ASSERT_OK(eco_safetensors_open(path, &st));
    const eco_tensor *x = eco_test_must_find(st, "x"), *q = eco_test_must_find(st, "q8_0");
    assert_int_equal(x->dtype, ECO_DTYPE_F32);
    assert_int_equal(q->dtype, ECO_DTYPE_U8);
    const int64_t R = x->shape[0], K = x->shape[1];
    assert_int_equal(q->shape[0], R);
    assert_int_equal((size_t)q->shape[1], eco_dtype_row_bytes(ECO_DTYPE_Q8_0, K));
    uint8_t *got = quantize((const float *)x->data, R, K);
    size_t differ = 0;
    for (size_t i = 0; i < q->nbytes; i++) differ += got[i] != ((const uint8_t *)q->data)[i];
    printf("  %lld rows of %lld weights: %zu of %zu bytes differ from ggml's reference\n",
           (long long)R, (long long)K, differ, q->nbytes);
    assert_memory_equal(got, q->data, q->nbytes);
    free(got);
    eco_safetensors_close(st);
    free(path);
}

static void block_of(uint8_t blk[34], const float x[32]) { eco_q8_0_quantize_row(blk, x, 32); }

static float block_d(const uint8_t *blk) {
    uint16_t h;
    memcpy(&h, blk, 2);
    return eco_f16_to_f32(h);
}

static void test_edge_cases(void **state) {
    (void)state;
    float x[32];
    uint8_t blk[34];
    /* all zeros: d = 0, every q 0, and back to zeros */
    memset(x, 0, sizeof x);
    block_of(blk, x);
    for (int j = 0; j < 34; j++) assert_int_equal(blk[j], 0);
    /* ±amax map to ±127 */
    for (int j = 0; j < 32; j++) x[j] = (float)j / 40.0f - 0.3f;
    x[3] = 5.0f;
    x[17] = -5.0f;
    block_of(blk, x);
    assert_int_equal((int8_t)blk[2 + 3], 127);
    assert_int_equal((int8_t)blk[2 + 17], -127);
    assert_true(block_d(blk) == eco_f16_to_f32(eco_f32_to_f16(5.0f / 127.0f)));
    /* halfway products round away from zero (roundf), d = 1 exactly */
    memset(x, 0, sizeof x);
    x[0] = 127.0f;
    x[1] = 2.5f;
    x[2] = -2.5f;
    x[3] = 0.5f;
    x[4] = -0.5f;
    x[5] = 126.5f;
    x[6] = -126.5f;
    block_of(blk, x);
    assert_true(block_d(blk) == 1.0f);
    const int want[7] = {127, 3, -3, 1, -1, 127, -127};
    for (int j = 0; j < 7; j++) assert_int_equal((int8_t)blk[2 + j], want[j]);
    /* the dequantizer gives d·q */
    float y[32];
    eco_q8_0_dequantize_row(y, blk, 32);
    for (int j = 0; j < 7; j++) assert_true(y[j] == (float)want[j]);
}

/* ggml's quantize_row_q8_0_ref scale, transcribed: amax = MAX(amax, fabsf(v)) with
 * #define MAX(a, b) ((a) > (b) ? (a) : (b)), then d = amax / 127, stored as f16. */
static uint16_t ggml_scale(const float x[32]) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
    return eco_f32_to_f16(amax / 127.0f);
}

static void expect_block(const float x[32], const int q[32], const char *what) {
    uint8_t blk[34];
    block_of(blk, x);
    uint16_t dh, want = ggml_scale(x);
    memcpy(&dh, blk, 2);
    if (dh != want) print_message("%s: scale 0x%04x, ggml's 0x%04x\n", what, dh, want);
    assert_int_equal(dh, want);
    for (int j = 0; j < 32; j++) {
        if ((int8_t)blk[2 + j] != q[j])
            print_message("%s: q[%d] = %d, want %d\n", what, j, (int8_t)blk[2 + j], q[j]);
        assert_int_equal((int8_t)blk[2 + j], q[j]);
    }
}

/* Blocks holding NaN or infinity: the scale byte for byte ggml's (its MAX, not fmaxf: a
 * NaN resets the running amax to the next element), and every int8 defined (q8_0.c: the
 * low byte of x86's cvttss2si, so 0 for NaN; UBSan's float-cast-overflow checks the cast
 * in the sanitizer build). */
static void test_nan_inf(void **state) {
    (void)state;
    float x[32];
    int q[32];
    /* a NaN after the largest element: amax restarts after it (4, not 50) */
    for (int j = 0; j < 32; j++) x[j] = 1.0f;
    x[2] = 50.0f;
    x[5] = NAN;
    x[9] = 4.0f;
    for (int j = 0; j < 32; j++) q[j] = 32; /* 1 · 127/4 = 31.75 */
    q[2] = (int)((uint32_t)(int32_t)roundf(50.0f * (1.0f / (4.0f / 127.0f))) & 0xff);
    q[2] = (int8_t)(uint8_t)q[2];
    q[5] = 0;
    q[9] = 127;
    expect_block(x, q, "NaN inside");
    /* the last element NaN: a NaN scale, id = 1/NaN, every q 0 */
    for (int j = 0; j < 32; j++) x[j] = (float)j;
    x[31] = NAN;
    for (int j = 0; j < 32; j++) q[j] = 0;
    expect_block(x, q, "NaN last");
    /* an infinity as the amax: d = inf, id = 0, every q 0 (inf · 0 is NaN) */
    for (int j = 0; j < 32; j++) x[j] = (float)j - 16.0f;
    x[7] = -INFINITY;
    expect_block(x, q, "infinity");
    /* every element NaN */
    for (int j = 0; j < 32; j++) x[j] = NAN;
    expect_block(x, q, "all NaN");
}

static void test_round_trip(void **state) {
    (void)state;
    uint64_t s = 7;
    double worst_exact = 0, worst_all = 0; /* largest error / (d/2), and over the bound */
    for (int trial = 0; trial < 400; trial++) {
        float x[64], y[64];
        uint8_t q[68];
        const float scale = powf(10.0f, urand(&s, -4.0f, 3.0f));
        const bool exact = trial % 2 == 0; /* amax 127·2^k: d an f16 exactly */
        for (int j = 0; j < 64; j++) x[j] = urand(&s, -scale, scale);
        if (exact) {
            const float a = 127.0f * ldexpf(1.0f, (int)(trial % 20) - 10);
            x[trial % 32] = a;
            x[32 + trial % 32] = -a;
            for (int j = 0; j < 64; j++) x[j] = fmaxf(-a, fminf(a, x[j]));
        }
        eco_q8_0_quantize_row(q, x, 64);
        eco_q8_0_dequantize_row(y, q, 64);
        for (int b = 0; b < 2; b++) {
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * b + j]));
            const float d = amax / 127.0f, d16 = block_d(q + 34 * b);
            if (exact) assert_true(d == d16);
            const double bound = (double)d / 2 + 127.0 * fabs((double)d - (double)d16);
            for (int j = 0; j < 32; j++) {
                const double err = fabs((double)x[32 * b + j] - (double)y[32 * b + j]);
                if (exact) {
                    if (err / (d / 2) > worst_exact) worst_exact = err / (d / 2);
                    assert_true(err <= (double)d / 2 * (1 + 1e-6));
                }
                if (err / bound > worst_all) worst_all = err / bound;
                assert_true(err <= bound * (1 + 1e-6));
            }
        }
    }
    printf("  d an f16: largest |x - d*q| = %.4f d/2; any d: %.4f of d/2 + 127|d - d16|\n",
           worst_exact, worst_all);
}

static void test_dtype(void **state) {
    (void)state;
    eco_dtype t;
    ECO_ASSERT_STATUS(eco_dtype_parse("Q8_0", &t), ECO_STATUS_ENOTFOUND);
    assert_string_equal(eco_dtype_name(ECO_DTYPE_Q8_0), "Q8_0");
    assert_int_equal(eco_dtype_size(ECO_DTYPE_Q8_0), 0);
    assert_int_equal(eco_dtype_row_bytes(ECO_DTYPE_Q8_0, 576), 18 * 34);
    assert_int_equal(eco_dtype_row_bytes(ECO_DTYPE_BF16, 576), 1152);
    assert_int_equal(eco_dtype_row_bytes(ECO_DTYPE_F32, 0), 0);
    /* eco_to_f32 / eco_from_f32 take q8_0 rows */
    float x[96], y[96], z[96];
    uint8_t q[102], q2[102];
    uint64_t s = 3;
    for (int j = 0; j < 96; j++) x[j] = urand(&s, -2, 2);
    eco_from_f32(q, ECO_DTYPE_Q8_0, x, 96);
    eco_q8_0_quantize_row(q2, x, 96);
    assert_memory_equal(q, q2, sizeof q);
    eco_to_f32(y, q, ECO_DTYPE_Q8_0, 96);
    eco_q8_0_dequantize_row_ref(z, q, 96);
    assert_memory_equal(y, z, sizeof y);
}

/* ---- kernels against their twins, per ISA level ------------------------------------------ */

static const char *const isa_names[3] = {"plain C", "AVX2", "AVX-512"};

/* Σ_k |w_rk · x_k| per row, the condition of each dot product. */
static double *dot_scale(const float *Wf, const float *x, int64_t N, int64_t K) {
    double *s = malloc(((size_t)N + 1) * sizeof(double));
    assert_non_null(s);
    for (int64_t r = 0; r < N; r++) {
        double a = 0;
        for (int64_t k = 0; k < K; k++) a += fabs((double)Wf[r * K + k] * x[k]);
        s[r] = a;
    }
    return s;
}

static double check_rows(const char *what, const float *y, const float *want, const double *sc,
                         int64_t N) {
    double worst = 0;
    for (int64_t r = 0; r < N; r++) {
        const double e = fabs((double)y[r] - (double)want[r]) / (sc[r] + 1e-30);
        if (e > worst) worst = e;
        if (!(e <= 1e-5)) {
            print_error("%s: row %lld: %g vs %g (scale %g)\n", what, (long long)r, y[r], want[r],
                        sc[r]);
            fail();
        }
    }
    return worst;
}

static void kernels_at_level(int level) {
    static const int64_t Ns[] = {1, 3, 4, 5, 9, 33, 64};
    static const int64_t Ks[] = {32, 64, 96, 576, 1536};
    uint64_t s = 11 + (uint64_t)level;
    double worst = 0;
    for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
        const int64_t K = Ks[ki];
        const size_t row = eco_dtype_row_bytes(ECO_DTYPE_Q8_0, K);
        /* dequantize: the same bits as the scalar twin */
        {
            float *x = malloc((size_t)K * 3 * sizeof(float)), *a = malloc((size_t)K * 3 * 4),
                  *b = malloc((size_t)K * 3 * 4);
            assert_non_null(x);
            assert_non_null(a);
            assert_non_null(b);
            for (int64_t i = 0; i < 3 * K; i++) x[i] = urand(&s, -3, 3);
            uint8_t *q = quantize(x, 3, K);
            eco_q8_0_dequantize_row(a, q, 3 * K);
            eco_q8_0_dequantize_row_ref(b, q, 3 * K);
            assert_memory_equal(a, b, (size_t)(3 * K) * sizeof(float));
            free(q);
            free(x);
            free(a);
            free(b);
        }
        for (size_t ni = 0; ni < sizeof Ns / sizeof Ns[0]; ni++) {
            const int64_t N = Ns[ni];
            float *Wf = malloc((size_t)(N * K) * sizeof(float));
            float *x = malloc((size_t)K * sizeof(float));
            float *y = malloc((size_t)N * sizeof(float)), *yr = malloc((size_t)N * sizeof(float));
            float *yp = malloc((size_t)N * sizeof(float));
            assert_non_null(Wf);
            assert_non_null(x);
            assert_non_null(y);
            assert_non_null(yr);
            assert_non_null(yp);
            for (int64_t i = 0; i < N * K; i++) Wf[i] = urand(&s, -1, 1);
            for (int64_t k = 0; k < K; k++) x[k] = urand(&s, -2, 2);
            uint8_t *W = quantize(Wf, N, K);
            eco_q8_0_dequantize_row_ref(Wf, W, N * K); /* the weights the kernels see */
            double *sc = dot_scale(Wf, x, N, K);
            char what[96];
            snprintf(what, sizeof what, "%s matvec q8_0 N=%lld K=%lld", isa_names[level],
                     (long long)N, (long long)K);
            eco_matvec(y, W, ECO_DTYPE_Q8_0, x, N, K);
            eco_matvec_ref(yr, W, ECO_DTYPE_Q8_0, x, N, K);
            double e = check_rows(what, y, yr, sc, N);
            if (e > worst) worst = e;
            /* the f32 matvec of the dequantized matrix agrees too */
            eco_matvec_ref(yp, Wf, ECO_DTYPE_F32, x, N, K);
            e = check_rows(what, y, yp, sc, N);
            if (e > worst) worst = e;
            /* multi with a q8_0, an f32 and a q8_0 matrix; parts give the same bits */
            {
                float *ys[3] = {y, yp, malloc((size_t)N * 4)};
                const void *Ws[3] = {W, Wf, W};
                const eco_dtype ts[3] = {ECO_DTYPE_Q8_0, ECO_DTYPE_F32, ECO_DTYPE_Q8_0};
                const int64_t NN[3] = {N, N, N};
                assert_non_null(ys[2]);
                eco_matvec_multi(ys, Ws, ts, x, NN, K, 3);
                e = check_rows(what, ys[0], yr, sc, N);
                if (e > worst) worst = e;
                assert_memory_equal(ys[2], ys[0], (size_t)N * 4);
                float *whole = malloc((size_t)N * 4);
                assert_non_null(whole);
                memcpy(whole, ys[0], (size_t)N * 4);
                for (int nparts = 1; nparts <= 4; nparts++) {
                    memset(ys[0], 0xff, (size_t)N * 4);
                    for (int p = 0; p < nparts; p++)
                        eco_matvec_multi_part(ys, Ws, ts, x, NN, K, 3, p, nparts);
                    assert_memory_equal(ys[0], whole, (size_t)N * 4);
                }
                free(whole);
                free(ys[2]);
            }
            /* eco_linear, M = 5 */
            {
                const int64_t M = 5; /* >= 4: the int8 product (fewer: matvec) */
                float *X = malloc((size_t)(M * K) * 4), *Y = malloc((size_t)(M * N) * 4);
                float *Yf = malloc((size_t)(M * N) * 4), *bias = malloc((size_t)N * 4);
                float *scratch = malloc(eco_linear_scratch_floats(K, N) * 4 + 4);
                assert_non_null(X);
                assert_non_null(Y);
                assert_non_null(Yf);
                assert_non_null(bias);
                assert_non_null(scratch);
                for (int64_t i = 0; i < M * K; i++) X[i] = urand(&s, -2, 2);
                for (int64_t i = 0; i < N; i++) bias[i] = urand(&s, -1, 1);
                eco_tensor tq = {.dtype = ECO_DTYPE_Q8_0,
                                 .ndim = 2,
                                 .shape = {N, K},
                                 .data = W,
                                 .nbytes = row * (size_t)N};
                /* q8_0, M > 1: the int8 product (x quantized per block; its own test is
                 * test_q8_0_gemm), against its scalar reference */
                eco_linear(Y, X, &tq, bias, M, scratch);
                eco_q8_0_gemm_ref(Yf, X, W, bias, M, N, K);
                for (int64_t m = 0; m < M; m++) {
                    double *sm = dot_scale(Wf, X + m * K, N, K);
                    for (int64_t r = 0; r < N; r++) sm[r] += fabs(bias[r]);
                    e = check_rows("linear q8_0", Y + m * N, Yf + m * N, sm, N);
                    if (e > worst) worst = e;
                    free(sm);
                }
                free(X);
                free(Y);
                free(Yf);
                free(bias);
                free(scratch);
            }
            free(sc);
            free(W);
            free(Wf);
            free(x);
            free(y);
            free(yr);
            free(yp);
        }
    }
    printf("  %s: q8_0 kernels tested, largest |diff| / sum|w*x| = %.3g (tol 1e-5)\n",
           isa_names[level], worst);
}

static void test_kernels_per_isa(void **state) {
    (void)state;
    eco_matvec_set_simd_cap(2);
    const int max = eco_simd_level();
    for (int level = 0; level <= 2; level++) {
        if (level > max) {
            printf("  %s not available: not tested\n", isa_names[level]);
            continue;
        }
        eco_matvec_set_simd_cap(level);
        assert_int_equal(eco_simd_level(), level);
        kernels_at_level(level);
    }
    eco_matvec_set_simd_cap(2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_bytes),   cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_dtype),
        cmocka_unit_test(test_kernels_per_isa), cmocka_unit_test(test_nan_inf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
