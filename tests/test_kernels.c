/*
 * tensor kernels: conversions against exact expectations, and every optimised kernel
 * against its scalar _ref twin on odd sizes (1, 7, 33, 576, 1537) so that SIMD bodies,
 * tails and multi-row blocks are all exercised.
 *
 * Tolerances: products and reductions are compared with
 *   |got − want| <= 1e-5 · Σ|terms| + 1e-30
 * (the relative error of a float sum is bounded by its condition, Σ|terms|, not by the
 * result, which may cancel to near zero). Elementwise kernels use 1e-5 relative plus a
 * tiny absolute floor. On failure each test prints the largest difference it saw.
 *
 * ISA levels: every dispatching kernel (matvec, the attention partials including the
 * grouped f16 one, RMSNorm, softmax, log-sum-exp, SwiGLU) is run against its twin once
 * per level — plain C, AVX2, AVX-512 — with the dispatcher held to that level
 * (eco_matvec_set_simd_cap). A level the CPU does not have is skipped, saying so ("AVX-512
 * not available: not tested"), and the run ends with a line listing the levels tested and
 * not tested. ECO_SIMD_CAP=0|1 in the environment makes the run act as a CPU without the
 * wider levels (the ctest test_kernels_no_avx512 checks that it then says so).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "ecology/tensor.h"
#include "tensor/simd.h"
#include "model/layer.h" /* eco_layer_rope_dir beside the eco_rope kernel */

static const int64_t SIZES[] = {1, 7, 33, 576, 1537};
#define NSIZES (sizeof SIZES / sizeof SIZES[0])

/* ---- helpers ------------------------------------------------------------------------ */

static uint32_t f32u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float uf32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Deterministic uniform floats in [lo, hi). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static float rng_uniform(float lo, float hi) {
    return lo + (hi - lo) * (float)((double)(rng_next() >> 11) * 0x1.0p-53);
}
static float *rand_floats(size_t n, float lo, float hi) {
    float *p = malloc((n ? n : 1) * sizeof(float));
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) p[i] = rng_uniform(lo, hi);
    return p;
}

/* Checks |got[i] − want[i]| <= rel·scale[i] + abs for all i (scale NULL: |want[i]|);
 * prints the worst case on failure. */
static void check_close(const char *what, const float *got, const float *want, const double *scale,
                        size_t n, double rel, double abs_tol) {
    double worst_ratio = 0.0, worst_d = 0.0;
    size_t worst_i = 0;
    for (size_t i = 0; i < n; i++) {
        double s = scale ? scale[i] : fabs((double)want[i]);
        double d;
        if (isnan(got[i]) || isnan(want[i]))
            d = (isnan(got[i]) && isnan(want[i])) ? 0.0 : INFINITY;
        else if (isinf(want[i]) || isinf(got[i]))
            d = (got[i] == want[i]) ? 0.0 : INFINITY;
        else
            d = fabs((double)got[i] - (double)want[i]);
        double ratio = d / (rel * s + abs_tol);
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            worst_d = d;
            worst_i = i;
        }
    }
    if (worst_ratio > 1.0) {
        print_error("%s: worst at %zu of %zu: got %.9g want %.9g (|diff| %.3g, %.2fx tolerance)\n",
                    what, worst_i, n, (double)got[worst_i], (double)want[worst_i], worst_d,
                    worst_ratio);
        fail();
    }
}

/* ---- bf16 ---------------------------------------------------------------------------- */

static void test_bf16_exact(void **state) {
    (void)state;
    struct {
        uint32_t in;
        uint16_t want;
    } cases[] = {
        {0x3f800000u, 0x3f80u}, /* 1.0 */
        {0xbf800000u, 0xbf80u}, /* -1.0 */
        {0x00000000u, 0x0000u}, /* +0 */
        {0x80000000u, 0x8000u}, /* -0 */
        {0x3f808000u, 0x3f80u}, /* tie, lower even: stays */
        {0x3f818000u, 0x3f82u}, /* tie, lower odd: up to even */
        {0x3f808001u, 0x3f81u}, /* just above tie: up */
        {0x3f807fffu, 0x3f80u}, /* just below tie: down */
        {0xbf818000u, 0xbf82u}, /* negative tie to even */
        {0x7f800000u, 0x7f80u}, /* +inf */
        {0xff800000u, 0xff80u}, /* -inf */
        {0x7f7fffffu, 0x7f80u}, /* FLT_MAX rounds up to inf */
        {0x7f7f7fffu, 0x7f7fu}, /* largest value that stays finite */
        {0x00000001u, 0x0000u}, /* smallest subnormal rounds to 0 */
        {0x00010000u, 0x0001u}, /* subnormal exactly representable */
        {0x00018000u, 0x0002u}, /* subnormal tie to even (up) */
        {0x00028000u, 0x0002u}, /* subnormal tie to even (down) */
        {0x007fffffu, 0x0080u}, /* largest subnormal rounds up to min normal */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t got = eco_f32_to_bf16(uf32(cases[i].in));
        if (got != cases[i].want) {
            print_error("f32 0x%08x -> bf16 0x%04x, want 0x%04x\n", cases[i].in, got,
                        cases[i].want);
            fail();
        }
    }
    /* NaNs stay NaN, including a signalling NaN whose payload is only in the low bits
     * (plain truncation would turn it into inf). */
    uint32_t nans[] = {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xff800001u, 0x7fbfffffu};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        uint16_t h = eco_f32_to_bf16(uf32(nans[i]));
        assert_true((h & 0x7f80u) == 0x7f80u && (h & 0x007fu) != 0);
        assert_int_equal(h & 0x8000u, (nans[i] >> 16) & 0x8000u);
        assert_true(isnan(eco_bf16_to_f32(h)));
    }
    /* Widening is exact: bit pattern shifted up. */
    assert_true(eco_bf16_to_f32(0x3f80u) == 1.0f);
    assert_true(eco_bf16_to_f32(0x0001u) == uf32(0x00010000u));
    assert_true(isinf(eco_bf16_to_f32(0xff80u)) && eco_bf16_to_f32(0xff80u) < 0);
}

/* Every bf16 value round-trips; rounding of random f32 matches a reference computed by
 * choosing the nearer of the two neighbouring bf16 values in double. */
static void test_bf16_roundtrip_and_random(void **state) {
    (void)state;
    for (uint32_t h = 0; h < 65536u; h++) {
        float f = eco_bf16_to_f32((uint16_t)h);
        uint16_t back = eco_f32_to_bf16(f);
        if (isnan(f))
            assert_true(isnan(eco_bf16_to_f32(back)));
        else
            assert_int_equal(back, h);
    }
    for (int i = 0; i < 1000000; i++) {
        uint32_t u = (uint32_t)rng_next();
        float f = uf32(u);
        if (isnan(f) || isinf(f)) continue;
        uint32_t a = u & 0xffff0000u; /* truncated: toward zero */
        uint32_t b = a + 0x10000u;    /* next away from zero (may be inf) */
        double fa = (double)uf32(a);
        double fb = ((b & 0x7fffffffu) >= 0x7f800000u)
                        ? copysign(0x1.0p128, (double)f) /* inf as the next step */
                        : (double)uf32(b);
        double da = fabs((double)f - fa), db = fabs((double)f - fb);
        uint16_t want;
        if (da < db)
            want = (uint16_t)(a >> 16);
        else if (db < da)
            want = (uint16_t)(b >> 16);
        else
            want = ((a >> 16) & 1u) ? (uint16_t)(b >> 16) : (uint16_t)(a >> 16);
        uint16_t got = eco_f32_to_bf16(f);
        if (got != want) {
            print_error("f32 0x%08x -> bf16 0x%04x, want 0x%04x\n", u, got, want);
            fail();
        }
    }
}

/* ---- f16 ----------------------------------------------------------------------------- */

/* Independent decode of a binary16 value through ldexp. */
static double f16_decode_ref(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v;
    if (e == 0)
        v = ldexp((double)m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexp(1.0 + m / 1024.0, e - 15);
    return s ? -v : v;
}

static void test_f16_decode_all(void **state) {
    (void)state;
    for (uint32_t h = 0; h < 65536u; h++) {
        double want = f16_decode_ref((uint16_t)h);
        float got = eco_f16_to_f32((uint16_t)h);
        if (isnan(want)) {
            assert_true(isnan(got));
            continue;
        }
        if ((double)got != want || !signbit(got) != !signbit(want)) {
            print_error("f16 0x%04x -> %.9g, want %.9g\n", h, (double)got, want);
            fail();
        }
        /* and back, exactly */
        assert_int_equal(eco_f32_to_f16(got), h);
    }
}

static void test_f16_exact(void **state) {
    (void)state;
    struct {
        float in;
        uint16_t want;
    } cases[] = {
        {1.0f, 0x3c00u},
        {-2.0f, 0xc000u},
        {0.0f, 0x0000u},
        {-0.0f, 0x8000u},
        {65504.0f, 0x7bffu}, /* max finite */
        {65519.0f, 0x7bffu}, /* below the tie: max finite */
        {65520.0f, 0x7c00u}, /* tie with odd mantissa: to even = inf */
        {1e6f, 0x7c00u},     /* overflow */
        {-1e6f, 0xfc00u},
        {INFINITY, 0x7c00u},
        {-INFINITY, 0xfc00u},
        {0x1.0p-14f, 0x0400u},      /* min normal */
        {0x1.0p-24f, 0x0001u},      /* min subnormal */
        {0x1.0p-25f, 0x0000u},      /* tie between 0 and min subnormal: to even 0 */
        {0x1.000002p-25f, 0x0001u}, /* just above that tie */
        {0x1.8p-24f, 0x0002u},      /* 1.5 units: tie, odd 1 -> even 2 */
        {0x1.4p-23f, 0x0002u},      /* 2.5 units: tie, even 2 stays */
        {0x1.ff8p-15f, 0x03ffu},    /* largest subnormal, exact */
        {0x1.ffcp-15f, 0x0400u},    /* tie between largest subnormal and min normal */
        {0x1.ffbp-15f, 0x03ffu},    /* just below that tie */
        {1e-9f, 0x0000u},           /* underflow to 0 */
        {-1e-9f, 0x8000u},
        {1.0f + 0x1.0p-11f, 0x3c00u},              /* tie, even mantissa stays */
        {1.0f + 0x1.8p-10f, 0x3c02u},              /* tie, odd mantissa 1 -> 2 */
        {1.0f + 0x1.0p-11f + 0x1.0p-20f, 0x3c01u}, /* above tie: up */
        {FLT_MIN, 0x0000u},                        /* f32 min normal underflows */
        {0x1.0p-149f, 0x0000u},                    /* f32 subnormal */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t got = eco_f32_to_f16(cases[i].in);
        if (got != cases[i].want) {
            print_error("f32 %a -> f16 0x%04x, want 0x%04x\n", (double)cases[i].in, got,
                        cases[i].want);
            fail();
        }
    }
    uint32_t nans[] = {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0x7fbfffffu};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        uint16_t h = eco_f32_to_f16(uf32(nans[i]));
        assert_true((h & 0x7c00u) == 0x7c00u && (h & 0x03ffu) != 0);
        assert_true(isnan(eco_f16_to_f32(h)));
    }
}

/* Sorted table of the non-negative finite f16 values, for a reference rounding by search. */
static double f16_table[0x7c00];

static uint16_t f16_round_ref(float f) {
    double a = fabs((double)f);
    uint16_t sign = signbit(f) ? 0x8000u : 0;
    if (a >= 65520.0) return sign | 0x7c00u;
    /* largest index with table[i] <= a */
    int lo = 0, hi = 0x7bff;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (f16_table[mid] <= a)
            lo = mid;
        else
            hi = mid - 1;
    }
    if (lo == 0x7bff) return sign | 0x7bffu;
    double d0 = a - f16_table[lo], d1 = f16_table[lo + 1] - a;
    int pick = d0 < d1 ? lo : d1 < d0 ? lo + 1 : ((lo & 1) ? lo + 1 : lo);
    return (uint16_t)(sign | pick);
}

static void test_f16_random(void **state) {
    (void)state;
    for (int i = 0; i < 0x7c00; i++) f16_table[i] = f16_decode_ref((uint16_t)i);
    for (int i = 0; i < 2000000; i++) {
        uint32_t u = (uint32_t)rng_next();
        /* half the draws in f16's exponent range, where the interesting rounding is */
        if (i & 1) u = (u & 0x807fffffu) | ((uint32_t)(100 + (rng_next() % 45)) << 23);
        float f = uf32(u);
        if (isnan(f)) continue;
        uint16_t want = isinf(f) ? (uint16_t)((u >> 16 & 0x8000u) | 0x7c00u) : f16_round_ref(f);
        uint16_t got = eco_f32_to_f16(f);
        if (got != want) {
            print_error("f32 0x%08x (%a) -> f16 0x%04x, want 0x%04x\n", u, (double)f, got, want);
            fail();
        }
    }
    /* every midpoint between neighbouring f16 values (exact in f32) */
    for (int i = 0; i < 0x7bff; i++) {
        float mid = (float)((f16_table[i] + f16_table[i + 1]) / 2);
        uint16_t want = (uint16_t)((i & 1) ? i + 1 : i);
        assert_int_equal(eco_f32_to_f16(mid), want);
        assert_int_equal(eco_f32_to_f16(-mid), want | 0x8000u);
    }
}

/* ---- array conversions match the scalar functions, all sizes and tails --------------- */

static void test_array_conversions(void **state) {
    (void)state;
    const float specials[] = {0.0f,
                              -0.0f,
                              INFINITY,
                              -INFINITY,
                              NAN,
                              65520.0f,
                              0x1.0p-25f,
                              0x1.8p-24f,
                              1.0f + 0x1.0p-11f,
                              uf32(0x3f818000u),
                              uf32(0x7f800001u),
                              uf32(0x00018000u),
                              FLT_MAX,
                              1e-40f};
    const size_t nspec = sizeof specials / sizeof specials[0];
    for (size_t si = 0; si < NSIZES; si++) {
        size_t n = (size_t)SIZES[si] + 3; /* 4, 10, 36, 579, 1540 */
        float *src = rand_floats(n, -70000.0f, 70000.0f);
        for (size_t i = 0; i < n; i++) {
            if (i % 3 == 0)
                src[i] = specials[(i / 3) % nspec];
            else if (i % 3 == 1)
                src[i] *= 1e-9f;
        }
        uint16_t *h = malloc(n * 2);
        float *back = malloc(n * sizeof(float));
        float *f32c = malloc(n * sizeof(float));
        assert_non_null(h);
        assert_non_null(back);
        assert_non_null(f32c);
        /* bf16 */
        eco_from_f32(h, ECO_DTYPE_BF16, src, n);
        for (size_t i = 0; i < n; i++) {
            uint16_t want = eco_f32_to_bf16(src[i]);
            if (isnan(src[i]))
                assert_true(isnan(eco_bf16_to_f32(h[i])));
            else if (h[i] != want) {
                print_error("bf16 array[%zu] of %zu: 0x%04x want 0x%04x\n", i, n, h[i], want);
                fail();
            }
        }
        eco_to_f32(back, h, ECO_DTYPE_BF16, n);
        for (size_t i = 0; i < n; i++) assert_int_equal(f32u(back[i]), f32u(eco_bf16_to_f32(h[i])));
        /* f16 */
        eco_from_f32(h, ECO_DTYPE_F16, src, n);
        for (size_t i = 0; i < n; i++) {
            uint16_t want = eco_f32_to_f16(src[i]);
            if (isnan(src[i]))
                assert_true(isnan(eco_f16_to_f32(h[i])));
            else if (h[i] != want) {
                print_error("f16 array[%zu] of %zu from %a: 0x%04x want 0x%04x\n", i, n,
                            (double)src[i], h[i], want);
                fail();
            }
        }
        eco_to_f32(back, h, ECO_DTYPE_F16, n);
        for (size_t i = 0; i < n; i++) {
            float want = eco_f16_to_f32(h[i]);
            if (isnan(want))
                assert_true(isnan(back[i]));
            else
                assert_int_equal(f32u(back[i]), f32u(want));
        }
        /* f32 copies */
        eco_from_f32(f32c, ECO_DTYPE_F32, src, n);
        assert_memory_equal(f32c, src, n * sizeof(float));
        eco_to_f32(back, f32c, ECO_DTYPE_F32, n);
        assert_memory_equal(back, src, n * sizeof(float));
        free(src);
        free(h);
        free(back);
        free(f32c);
    }
}

/* ---- matvec / linear / matmul ------------------------------------------------------- */

/* Weights in `t` from uniform floats (rounded to the dtype). Caller frees. */
static void *make_weights(eco_dtype t, size_t n, float lo, float hi) {
    float *f = rand_floats(n, lo, hi);
    if (t == ECO_DTYPE_F32) return f;
    uint16_t *h = malloc((n ? n : 1) * 2);
    assert_non_null(h);
    eco_from_f32(h, t, f, n);
    free(f);
    return h;
}

static float weight_at(const void *W, eco_dtype t, size_t i) {
    if (t == ECO_DTYPE_F32) return ((const float *)W)[i];
    if (t == ECO_DTYPE_BF16) return eco_bf16_to_f32(((const uint16_t *)W)[i]);
    return eco_f16_to_f32(((const uint16_t *)W)[i]);
}

/* scale[r] = Σ_k |W[r,k]·x[k]| (+|bias|), the condition of each dot product. */
static double *dot_scale(const void *W, eco_dtype t, const float *x, const float *bias, int64_t N,
                         int64_t K) {
    double *s = malloc((size_t)N * sizeof(double));
    assert_non_null(s);
    for (int64_t r = 0; r < N; r++) {
        double a = bias ? fabs((double)bias[r]) : 0.0;
        for (int64_t k = 0; k < K; k++)
            a += fabs((double)weight_at(W, t, (size_t)r * (size_t)K + (size_t)k) * x[k]);
        s[r] = a;
    }
    return s;
}

static void test_matvec_vs_ref(void **state) {
    (void)state;
    const eco_dtype types[] = {ECO_DTYPE_F32, ECO_DTYPE_BF16, ECO_DTYPE_F16};
    for (size_t ti = 0; ti < 3; ti++) {
        for (size_t a = 0; a < NSIZES; a++) {
            for (size_t b = 0; b < NSIZES; b++) {
                int64_t N = SIZES[a], K = SIZES[b];
                void *W = make_weights(types[ti], (size_t)(N * K), -1.0f, 1.0f);
                float *x = rand_floats((size_t)K, -2.0f, 2.0f);
                float *y = malloc((size_t)N * sizeof(float));
                float *yr = malloc((size_t)N * sizeof(float));
                assert_non_null(y);
                assert_non_null(yr);
                eco_matvec(y, W, types[ti], x, N, K);
                eco_matvec_ref(yr, W, types[ti], x, N, K);
                double *s = dot_scale(W, types[ti], x, NULL, N, K);
                char what[96];
                snprintf(what, sizeof what, "matvec %s N=%lld K=%lld", eco_dtype_name(types[ti]),
                         (long long)N, (long long)K);
                check_close(what, y, yr, s, (size_t)N, 1e-5, 1e-30);
                free(W);
                free(x);
                free(y);
                free(yr);
                free(s);
            }
        }
    }
}

/* The ref matvec's own accuracy: exact small-integer products have exact sums. */
static void test_matvec_exact_integers(void **state) {
    (void)state;
    int64_t N = 37, K = 1537;
    float *Wf = malloc((size_t)(N * K) * sizeof(float));
    float *x = malloc((size_t)K * sizeof(float));
    uint16_t *Wh = malloc((size_t)(N * K) * 2);
    float *y = malloc((size_t)N * sizeof(float));
    assert_non_null(Wf);
    assert_non_null(x);
    assert_non_null(Wh);
    assert_non_null(y);
    for (int64_t k = 0; k < K; k++) x[k] = (float)((k % 7) - 3);
    for (int64_t i = 0; i < N * K; i++) Wf[i] = (float)((i % 5) - 2);
    const eco_dtype types[] = {ECO_DTYPE_F32, ECO_DTYPE_BF16, ECO_DTYPE_F16};
    for (size_t ti = 0; ti < 3; ti++) {
        const void *W = Wf;
        if (types[ti] != ECO_DTYPE_F32) {
            eco_from_f32(Wh, types[ti], Wf, (size_t)(N * K));
            W = Wh;
        }
        eco_matvec(y, W, types[ti], x, N, K);
        for (int64_t r = 0; r < N; r++) {
            double want = 0;
            for (int64_t k = 0; k < K; k++) want += (double)Wf[r * K + k] * x[k];
            assert_true((double)y[r] == want);
        }
    }
    free(Wf);
    free(x);
    free(Wh);
    free(y);
}

/* eco_matvec_multi against its _ref twin: three matrices of mixed dtypes (bf16 twice, so
 * the shared permuted input is reused), sizes from tiny to several 4-row blocks; and
 * eco_matvec_multi_part run part by part with 1..5 parts gives the same bits as the
 * parallel call (each row is summed by one kernel, whatever the split). */
static void test_matvec_multi_vs_ref(void **state) {
    (void)state;
    const eco_dtype mixes[][3] = {{ECO_DTYPE_F32, ECO_DTYPE_F32, ECO_DTYPE_F32},
                                  {ECO_DTYPE_BF16, ECO_DTYPE_F32, ECO_DTYPE_BF16},
                                  {ECO_DTYPE_F16, ECO_DTYPE_BF16, ECO_DTYPE_F16}};
    const int64_t Nsets[][3] = {{1, 7, 33}, {576, 192, 192}, {0, 1537, 5}, {1536, 1536, 3}};
    const int64_t Ks[] = {1, 7, 33, 576, 1537};
    for (size_t mi = 0; mi < 3; mi++)
        for (size_t ni = 0; ni < sizeof Nsets / sizeof Nsets[0]; ni++)
            for (size_t ki = 0; ki < sizeof Ks / sizeof Ks[0]; ki++) {
                const int64_t K = Ks[ki];
                const int64_t *Ns = Nsets[ni];
                if ((Ns[0] + Ns[1] + Ns[2]) * K > 2000000) continue; /* keep it quick */
                void *W[3];
                float *y[3], *yr[3], *yp[3];
                for (int i = 0; i < 3; i++) {
                    W[i] = make_weights(mixes[mi][i], (size_t)(Ns[i] * K), -1.0f, 1.0f);
                    y[i] = malloc((size_t)(Ns[i] + 1) * sizeof(float));
                    yr[i] = malloc((size_t)(Ns[i] + 1) * sizeof(float));
                    yp[i] = malloc((size_t)(Ns[i] + 1) * sizeof(float));
                    assert_non_null(y[i]);
                    assert_non_null(yr[i]);
                    assert_non_null(yp[i]);
                    for (int64_t r = 0; r < Ns[i]; r++) y[i][r] = yp[i][r] = NAN;
                }
                float *x = rand_floats((size_t)K, -2.0f, 2.0f);
                const void *Wc[3] = {W[0], W[1], W[2]};
                eco_matvec_multi(y, Wc, mixes[mi], x, Ns, K, 3);
                eco_matvec_multi_ref(yr, Wc, mixes[mi], x, Ns, K, 3);
                for (int i = 0; i < 3; i++) {
                    double *sc = dot_scale(W[i], mixes[mi][i], x, NULL, Ns[i], K);
                    char what[96];
                    snprintf(what, sizeof what, "matvec_multi[%d] %s N=%lld K=%lld", i,
                             eco_dtype_name(mixes[mi][i]), (long long)Ns[i], (long long)K);
                    check_close(what, y[i], yr[i], sc, (size_t)Ns[i], 1e-5, 1e-30);
                    free(sc);
                }
                for (int nparts = 1; nparts <= 5; nparts++) {
                    for (int part = 0; part < nparts; part++)
                        eco_matvec_multi_part(yp, Wc, mixes[mi], x, Ns, K, 3, part, nparts);
                    for (int i = 0; i < 3; i++)
                        assert_memory_equal(yp[i], y[i], (size_t)Ns[i] * sizeof(float));
                }
                for (int i = 0; i < 3; i++) {
                    free(W[i]);
                    free(y[i]);
                    free(yr[i]);
                    free(yp[i]);
                }
                free(x);
            }
}

/* The parts' row ranges tile [0, N) in order, on 4-row boundaries. */
static void test_matvec_part_rows(void **state) {
    (void)state;
    for (int64_t N = 0; N <= 70; N++)
        for (int nparts = 1; nparts <= 9; nparts++) {
            int64_t next = 0;
            for (int part = 0; part < nparts; part++) {
                int64_t r0, r1;
                eco_matvec_part_rows(N, part, nparts, &r0, &r1);
                assert_true(r0 <= r1);
                if (r0 < r1) {
                    assert_int_equal(r0, next);
                    assert_int_equal(r0 % 4, 0);
                    next = r1;
                }
            }
            assert_int_equal(next, N);
        }
}

/* eco_linear_multi equals eco_linear per matrix, at M == 1 (the fused matvec path) and
 * M > 1 (sgemm), with a bias on some matrices only. */
static void test_linear_multi(void **state) {
    (void)state;
    const eco_dtype types[] = {ECO_DTYPE_F32, ECO_DTYPE_BF16, ECO_DTYPE_F16};
    const int64_t K = 65, Ns[3] = {33, 576, 7};
    for (size_t ti = 0; ti < 3; ti++)
        for (int64_t M = 1; M <= 3; M += 2) {
            void *W[3];
            eco_tensor T[3];
            const eco_tensor *Tp[3];
            float *y[3], *yr[3];
            float *bias1 = rand_floats((size_t)Ns[1], -1.0f, 1.0f);
            const float *biases[3] = {NULL, bias1, NULL};
            size_t ns = 0;
            for (int i = 0; i < 3; i++) {
                W[i] = make_weights(types[ti], (size_t)(Ns[i] * K), -1.0f, 1.0f);
                T[i] = (eco_tensor){
                    .name = "w", .dtype = types[ti], .ndim = 2, .shape = {Ns[i], K}, .data = W[i]};
                Tp[i] = &T[i];
                y[i] = malloc((size_t)(M * Ns[i]) * sizeof(float));
                yr[i] = malloc((size_t)(M * Ns[i]) * sizeof(float));
                assert_non_null(y[i]);
                assert_non_null(yr[i]);
                size_t s = eco_linear_scratch_floats(K, Ns[i]);
                if (s > ns) ns = s;
            }
            float *scratch = malloc((ns ? ns : 1) * sizeof(float));
            float *x = rand_floats((size_t)(M * K), -2.0f, 2.0f);
            assert_non_null(scratch);
            eco_linear_multi(y, x, Tp, biases, M, 3, scratch);
            for (int i = 0; i < 3; i++) {
                eco_linear(yr[i], x, &T[i], biases[i], M, scratch);
                assert_memory_equal(y[i], yr[i], (size_t)(M * Ns[i]) * sizeof(float));
            }
            eco_linear_multi(y, x, Tp, NULL, M, 3, scratch); /* no biases at all */
            for (int i = 0; i < 3; i++) {
                eco_linear(yr[i], x, &T[i], NULL, M, scratch);
                assert_memory_equal(y[i], yr[i], (size_t)(M * Ns[i]) * sizeof(float));
                free(W[i]);
                free(y[i]);
                free(yr[i]);
            }
            free(bias1);
            free(scratch);
            free(x);
        }
}

/* y[M,N] = x[M,K]·W[N,K]ᵀ + bias in double, as the reference for linear and matmul. */
static void linear_ref(float *y, const float *x, const void *W, eco_dtype t, const float *bias,
                       int64_t M, int64_t K, int64_t N) {
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double acc = bias ? bias[n] : 0.0;
            for (int64_t k = 0; k < K; k++)
                acc += (double)weight_at(W, t, (size_t)n * (size_t)K + (size_t)k) * x[m * K + k];
            y[m * N + n] = (float)acc;
        }
}

static void test_linear_vs_ref(void **state) {
    (void)state;
    const eco_dtype types[] = {ECO_DTYPE_F32, ECO_DTYPE_BF16, ECO_DTYPE_F16};
    const int64_t Ms[] = {1, 2, 7, 33};
    /* odd K; the last shape has K large enough that the widening block is 256 rows, so
     * N = 600 takes three blocks, the last one partial */
    const int64_t shapes[][2] = {{1, 1},     {7, 33},     {33, 7},    {576, 33},
                                 {1537, 65}, {1100, 576}, {600, 4099}};
    for (size_t ti = 0; ti < 3; ti++)
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
            for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++)
                for (int with_bias = 0; with_bias < 2; with_bias++) {
                    int64_t N = shapes[si][0], K = shapes[si][1], M = Ms[mi];
                    if (N * K > 100000 && M > 7) continue; /* keep the double ref quick */
                    void *W = make_weights(types[ti], (size_t)(N * K), -1.0f, 1.0f);
                    float *x = rand_floats((size_t)(M * K), -2.0f, 2.0f);
                    float *bias = with_bias ? rand_floats((size_t)N, -1.0f, 1.0f) : NULL;
                    float *y = malloc((size_t)(M * N) * sizeof(float));
                    float *yr = malloc((size_t)(M * N) * sizeof(float));
                    size_t ns = eco_linear_scratch_floats(K, N);
                    float *scratch = ns ? malloc(ns * sizeof(float)) : NULL;
                    assert_non_null(y);
                    assert_non_null(yr);
                    eco_tensor T = {
                        .name = "w", .dtype = types[ti], .ndim = 2, .shape = {N, K}, .data = W};
                    /* garbage in y: the kernel must overwrite, not accumulate */
                    for (int64_t i = 0; i < M * N; i++) y[i] = 1e30f;
                    eco_linear(y, x, &T, bias, M, scratch);
                    linear_ref(yr, x, W, types[ti], bias, M, K, N);
                    double *s = malloc((size_t)(M * N) * sizeof(double));
                    assert_non_null(s);
                    for (int64_t m = 0; m < M; m++) {
                        double *sr = dot_scale(W, types[ti], x + m * K, bias, N, K);
                        memcpy(s + m * N, sr, (size_t)N * sizeof(double));
                        free(sr);
                    }
                    char what[128];
                    snprintf(what, sizeof what, "linear %s M=%lld N=%lld K=%lld bias=%d",
                             eco_dtype_name(types[ti]), (long long)M, (long long)N, (long long)K,
                             with_bias);
                    check_close(what, y, yr, s, (size_t)(M * N), 1e-5, 1e-30);
                    free(W);
                    free(x);
                    free(bias);
                    free(y);
                    free(yr);
                    free(scratch);
                    free(s);
                }
}

static void test_matmul_f32(void **state) {
    (void)state;
    const int64_t dims[][3] = {{1, 1, 1}, {7, 33, 1}, {33, 7, 576}, {5, 576, 1537}};
    for (size_t di = 0; di < sizeof dims / sizeof dims[0]; di++)
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            int64_t M = dims[di][0], K = dims[di][1], N = dims[di][2];
            float *W = rand_floats((size_t)(N * K), -1.0f, 1.0f);
            float *x = rand_floats((size_t)(M * K), -2.0f, 2.0f);
            float *bias = with_bias ? rand_floats((size_t)N, -1.0f, 1.0f) : NULL;
            float *y = malloc((size_t)(M * N) * sizeof(float));
            float *yr = malloc((size_t)(M * N) * sizeof(float));
            double *s = malloc((size_t)(M * N) * sizeof(double));
            assert_non_null(y);
            assert_non_null(yr);
            assert_non_null(s);
            for (int64_t i = 0; i < M * N; i++) y[i] = NAN; /* beta = 0 must ignore it */
            eco_matmul_f32(y, x, W, bias, M, K, N);
            linear_ref(yr, x, W, ECO_DTYPE_F32, bias, M, K, N);
            for (int64_t m = 0; m < M; m++) {
                double *sr = dot_scale(W, ECO_DTYPE_F32, x + m * K, bias, N, K);
                memcpy(s + m * N, sr, (size_t)N * sizeof(double));
                free(sr);
            }
            check_close("matmul_f32", y, yr, s, (size_t)(M * N), 1e-5, 1e-30);
            free(W);
            free(x);
            free(bias);
            free(y);
            free(yr);
            free(s);
        }
}

static void test_linear_scratch_size(void **state) {
    (void)state;
    /* bounded by a block of rows, never the whole matrix */
    assert_true(eco_linear_scratch_floats(576, 49152) < (size_t)576 * 49152);
    assert_true(eco_linear_scratch_floats(576, 7) >= (size_t)576 * 7);
    assert_int_equal(eco_linear_scratch_floats(0, 10), 0);
}

/* ---- row kernels ------------------------------------------------------------------- */

static void test_rmsnorm_vs_ref(void **state) {
    (void)state;
    for (size_t si = 0; si < NSIZES; si++) {
        int64_t n = SIZES[si];
        float *x = rand_floats((size_t)n, -3.0f, 3.0f);
        float *w = rand_floats((size_t)n, 0.5f, 1.5f);
        float *o = malloc((size_t)n * sizeof(float));
        float *orf = malloc((size_t)n * sizeof(float));
        assert_non_null(o);
        assert_non_null(orf);
        eco_rmsnorm(o, x, w, n, 1e-5f);
        eco_rmsnorm_ref(orf, x, w, n, 1e-5f);
        check_close("rmsnorm", o, orf, NULL, (size_t)n, 1e-5, 1e-30);
        /* in place is allowed (out == x) */
        eco_rmsnorm(x, x, w, n, 1e-5f);
        check_close("rmsnorm in place", x, orf, NULL, (size_t)n, 1e-5, 1e-30);
        free(x);
        free(w);
        free(o);
        free(orf);
    }
    /* known value: x = [3, 4], w = 1, eps 0: rms = sqrt(12.5) */
    float x2[2] = {3.0f, 4.0f}, w2[2] = {1.0f, 1.0f}, o2[2];
    eco_rmsnorm(o2, x2, w2, 2, 0.0f);
    assert_float_equal(o2[0], 3.0 / sqrt(12.5), 1e-6);
    assert_float_equal(o2[1], 4.0 / sqrt(12.5), 1e-6);
}

static void test_rope_vs_ref(void **state) {
    (void)state;
    const int64_t heads[] = {1, 7, 9};
    const int64_t dims[] = {2, 14, 64, 66, 128};
    for (size_t hi = 0; hi < 3; hi++)
        for (size_t di = 0; di < 5; di++) {
            int64_t H = heads[hi], D = dims[di], n = H * D;
            float *x = rand_floats((size_t)n, -2.0f, 2.0f);
            float *xr = malloc((size_t)n * sizeof(float));
            float *c = malloc((size_t)(D / 2) * sizeof(float));
            float *s = malloc((size_t)(D / 2) * sizeof(float));
            assert_non_null(xr);
            assert_non_null(c);
            assert_non_null(s);
            for (int64_t i = 0; i < D / 2; i++) {
                float ang = 17.0f * powf(10000.0f, -2.0f * (float)i / (float)D);
                c[i] = cosf(ang);
                s[i] = sinf(ang);
            }
            memcpy(xr, x, (size_t)n * sizeof(float));
            float *x0 = malloc((size_t)n * sizeof(float)), *xl = malloc((size_t)n * sizeof(float));
            assert_true(x0 && xl);
            memcpy(x0, x, (size_t)n * sizeof(float));
            memcpy(xl, x, (size_t)n * sizeof(float));
            eco_rope(x, c, s, H, D);
            eco_rope_ref(xr, c, s, H, D);
            check_close("rope", x, xr, NULL, (size_t)n, 1e-5, 1e-6);
            /* the training passes' rotation (model/layer.h) is the kernel's, bit for bit, and
             * its inverse rotates back */
            eco_layer_rope_dir(xl, c, s, H, D, false);
            assert_memory_equal(xl, x, (size_t)n * sizeof(float));
            eco_layer_rope_dir(xl, c, s, H, D, true);
            check_close("rope inverse", xl, x0, NULL, (size_t)n, 1e-5, 1e-6);
            free(x0);
            free(xl);
            free(x);
            free(xr);
            free(c);
            free(s);
        }
    /* known value: rotation by 90° of (1, 0) is (0, 1) */
    float v[2] = {1.0f, 0.0f}, c1 = 0.0f, s1 = 1.0f;
    eco_rope(v, &c1, &s1, 1, 2);
    assert_float_equal(v[0], 0.0, 1e-7);
    assert_float_equal(v[1], 1.0, 1e-7);
}

static void test_softmax_vs_ref(void **state) {
    (void)state;
    for (size_t si = 0; si < NSIZES; si++) {
        int64_t n = SIZES[si];
        for (int variant = 0; variant < 3; variant++) {
            float *x = rand_floats((size_t)n, -20.0f, 20.0f);
            if (variant == 1)
                for (int64_t i = 0; i < n; i++) x[i] += 1000.0f; /* large: needs max-subtract */
            if (variant == 2)
                for (int64_t i = 1; i < n; i += 3) x[i] = -INFINITY; /* causal mask */
            float *xr = malloc((size_t)n * sizeof(float));
            assert_non_null(xr);
            memcpy(xr, x, (size_t)n * sizeof(float));
            eco_softmax(x, n);
            eco_softmax_ref(xr, n);
            check_close("softmax", x, xr, NULL, (size_t)n, 1e-5, 1e-30);
            double sum = 0;
            for (int64_t i = 0; i < n; i++) sum += x[i];
            assert_float_equal(sum, 1.0, 1e-5);
            free(x);
            free(xr);
        }
    }
    /* wide range of exponents: every value of exp over [-87, 0] against libm */
    int64_t n = 1537;
    float *x = malloc((size_t)n * sizeof(float));
    float *xr = malloc((size_t)n * sizeof(float));
    assert_non_null(x);
    assert_non_null(xr);
    for (int64_t i = 0; i < n; i++) x[i] = -87.0f * (float)i / (float)(n - 1);
    memcpy(xr, x, (size_t)n * sizeof(float));
    eco_softmax(x, n);
    eco_softmax_ref(xr, n);
    check_close("softmax range", x, xr, NULL, (size_t)n, 1e-5, 1e-37);
    free(x);
    free(xr);
}

/* Softmax attention of q[hd] over n keys in double: the reference for the blocked path. */
static void attention_double(double *out, const float *q, const float *K, const float *V,
                             int64_t ld, int64_t n, int64_t hd, double scale) {
    double *s = malloc((size_t)n * sizeof(double)), mx = -INFINITY, sum = 0.0;
    assert_non_null(s);
    for (int64_t j = 0; j < n; j++) {
        double d = 0.0;
        for (int64_t c = 0; c < hd; c++) d += (double)q[c] * K[j * ld + c];
        s[j] = d * scale;
        if (s[j] > mx) mx = s[j];
    }
    for (int64_t j = 0; j < n; j++) sum += (s[j] = exp(s[j] - mx));
    for (int64_t c = 0; c < hd; c++) {
        double o = 0.0;
        for (int64_t j = 0; j < n; j++) o += s[j] * V[j * ld + c];
        out[c] = o / sum;
    }
    free(s);
}

/* eco_attend_part against its scalar twin, and blocks merged by eco_attend_merge against
 * attention over all keys at once, for f32 and f16 caches, head sizes with and without the
 * 64-column path, key counts around the 8-key step, rows strided as in a KV cache, and
 * large scores. The reference takes the f16 rows widened, so both see the same values. */
static void test_attend_vs_ref(void **state) {
    (void)state;
    const int64_t hds[] = {8, 24, 64, 128}, ns[] = {1, 7, 8, 9, 32, 100};
    const eco_dtype kvts[] = {ECO_DTYPE_F32, ECO_DTYPE_F16};
    for (size_t ti = 0; ti < 2; ti++)
        for (size_t hi = 0; hi < sizeof hds / sizeof hds[0]; hi++)
            for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
                for (int big = 0; big < 2; big++) {
                    const eco_dtype kvt = kvts[ti];
                    const int64_t hd = hds[hi], n = ns[ni], ld = 3 * hd;
                    const size_t esz = eco_dtype_size(kvt);
                    const float scale = 1.0f / sqrtf((float)hd);
                    float *q = rand_floats((size_t)hd, big ? -30.0f : -1.0f, big ? 30.0f : 1.0f);
                    float *K = rand_floats((size_t)(n * ld), -1.0f, 1.0f);
                    float *V = rand_floats((size_t)(n * ld), -1.0f, 1.0f);
                    /* Kt, Vt: the cache's elements; K, V: the same values in f32 */
                    void *Kt = malloc((size_t)(n * ld) * esz), *Vt = malloc((size_t)(n * ld) * esz);
                    assert_non_null(Kt);
                    assert_non_null(Vt);
                    eco_from_f32(Kt, kvt, K, (size_t)(n * ld));
                    eco_from_f32(Vt, kvt, V, (size_t)(n * ld));
                    eco_to_f32(K, Kt, kvt, (size_t)(n * ld));
                    eco_to_f32(V, Vt, kvt, (size_t)(n * ld));
                    float o[128], orf[128], S[100], Sr[100], m, l, mr, lr;
                    eco_attend_part(o, &m, &l, q, Kt, Vt, kvt, ld, n, hd, scale, S);
                    eco_attend_part_ref(orf, &mr, &lr, q, Kt, Vt, kvt, ld, n, hd, scale, Sr);
                    /* m is a sum of hd products up to |q_c|·scale each: its rounding grows with
                     * Σ|q_c|·scale, whatever m's own size (terms may cancel) */
                    double qsum = 0.0;
                    for (int64_t c = 0; c < hd; c++) qsum += fabs((double)q[c]) * scale;
                    check_close("attend m", &m, &mr, NULL, 1, 1e-5, 1e-6 * (1.0 + qsum));
                    check_close("attend l", &l, &lr, NULL, 1, 1e-5, 0.0);
                    check_close("attend o", o, orf, NULL, (size_t)hd, 1e-4, 1e-5 * (double)lr);

                    /* blocks of 32 keys (the last one short), merged */
                    const int64_t B = 32, nb = (n + B - 1) / B;
                    float po[4 * 128], pml[4 * 2], out[128];
                    for (int64_t b = 0; b < nb; b++) {
                        const int64_t k0 = b * B, nk = n - k0 < B ? n - k0 : B;
                        const size_t at = (size_t)(k0 * ld) * esz;
                        eco_attend_part(po + b * hd, &pml[2 * b], &pml[2 * b + 1], q,
                                        (char *)Kt + at, (char *)Vt + at, kvt, ld, nk, hd, scale,
                                        S);
                    }
                    eco_attend_merge(out, po, pml, pml + 1, nb, hd, 2, hd);
                    double want[128], ones[128];
                    attention_double(want, q, K, V, ld, n, hd, scale);
                    float wantf[128];
                    for (int64_t c = 0; c < hd; c++) {
                        wantf[c] = (float)want[c];
                        ones[c] = 1.0; /* outputs are averages of values in [−1, 1] */
                    }
                    check_close("attend blocks merged", out, wantf, ones, (size_t)hd, 1e-5, 0.0);
                    free(q);
                    free(K);
                    free(V);
                    free(Kt);
                    free(Vt);
                }
}

/* eco_attend_part_group against G calls of the scalar kernel: group sizes around the
 * runs of 4 (1 to 9), head sizes with (64, 128) and without (16, 48) the grouped kernel,
 * key counts around its 4-key step, f32 and f16 rows strided as in a KV cache. */
static void test_attend_group_vs_ref(void **state) {
    (void)state;
    const int64_t Gs[] = {1, 2, 3, 4, 5, 7, 9}, hds[] = {16, 48, 64, 128},
                  ns[] = {1, 3, 4, 5, 32, 67};
    const eco_dtype kvts[] = {ECO_DTYPE_F32, ECO_DTYPE_F16};
    for (size_t ti = 0; ti < 2; ti++)
        for (size_t gi = 0; gi < sizeof Gs / sizeof Gs[0]; gi++)
            for (size_t hi = 0; hi < sizeof hds / sizeof hds[0]; hi++)
                for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
                    const eco_dtype kvt = kvts[ti];
                    const int64_t G = Gs[gi], hd = hds[hi], n = ns[ni], ld = 2 * hd;
                    const size_t esz = eco_dtype_size(kvt);
                    float *q = rand_floats((size_t)(G * hd), -3.0f, 3.0f);
                    float *K = rand_floats((size_t)(n * ld), -1.0f, 1.0f);
                    float *V = rand_floats((size_t)(n * ld), -1.0f, 1.0f);
                    void *Kt = malloc((size_t)(n * ld) * esz), *Vt = malloc((size_t)(n * ld) * esz);
                    float *o = malloc((size_t)(G * hd) * sizeof(float)),
                          *orf = malloc((size_t)(G * hd) * sizeof(float));
                    float *S = malloc((size_t)(4 * n) * sizeof(float)), ml[2 * 9], mlr[2 * 9];
                    assert_true(Kt && Vt && o && orf && S);
                    eco_from_f32(Kt, kvt, K, (size_t)(n * ld));
                    eco_from_f32(Vt, kvt, V, (size_t)(n * ld));
                    const float scale = 1.0f / sqrtf((float)hd);
                    eco_attend_part_group(o, ml, q, Kt, Vt, kvt, ld, n, hd, G, scale, S);
                    eco_attend_part_group_ref(orf, mlr, q, Kt, Vt, kvt, ld, n, hd, G, scale, S);
                    for (int64_t g = 0; g < G; g++) {
                        double qsum = 0.0; /* as in test_attend_vs_ref */
                        for (int64_t c = 0; c < hd; c++)
                            qsum += fabs((double)q[g * hd + c]) * scale;
                        check_close("group m", &ml[2 * g], &mlr[2 * g], NULL, 1, 1e-5,
                                    1e-6 * (1.0 + qsum));
                        check_close("group l", &ml[2 * g + 1], &mlr[2 * g + 1], NULL, 1, 1e-5, 0.0);
                        check_close("group o", o + g * hd, orf + g * hd, NULL, (size_t)hd, 1e-4,
                                    1e-5 * (double)mlr[2 * g + 1]);
                    }
                    free(q);
                    free(K);
                    free(V);
                    free(Kt);
                    free(Vt);
                    free(o);
                    free(orf);
                    free(S);
                }
}

/* eco_logsumexp against its double-precision twin: vocabulary sizes around the 8-lane
 * and 512-block steps, wide ranges, −inf entries; all −inf gives −inf, +inf gives +inf. */
static void test_logsumexp_vs_ref(void **state) {
    (void)state;
    const int64_t ns[] = {1, 7, 8, 9, 511, 512, 513, 4099, 49152, 151936};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (int wide = 0; wide < 2; wide++) {
            const int64_t n = ns[i];
            float *x = rand_floats((size_t)n, wide ? -60.0f : -8.0f, wide ? 60.0f : 8.0f);
            if (n > 3) x[n / 3] = -INFINITY;
            const double got = eco_logsumexp(x, n), want = eco_logsumexp_ref(x, n);
            if (!(fabs(got - want) <= 1e-6 * (1.0 + fabs(want)))) {
                print_error("logsumexp n %lld: %.9f, want %.9f\n", (long long)n, got, want);
                fail();
            }
            free(x);
        }
    float inf3[3] = {-INFINITY, -INFINITY, -INFINITY};
    assert_true(eco_logsumexp(inf3, 3) == -INFINITY);
    inf3[1] = INFINITY;
    assert_true(eco_logsumexp(inf3, 3) == INFINITY);
    assert_true(eco_logsumexp(inf3, 0) == -INFINITY);
}

static void test_swiglu_vs_ref(void **state) {
    (void)state;
    for (size_t si = 0; si <= NSIZES; si++) {
        /* the last size (a 128 × 1537 block) takes the multi-threaded split */
        int64_t n = si < NSIZES ? SIZES[si] : 128 * 1537;
        float *g = rand_floats((size_t)n, -12.0f, 12.0f);
        float *u = rand_floats((size_t)n, -3.0f, 3.0f);
        if (n > 4) {
            g[0] = 100.0f;  /* exp(-g) underflows */
            g[1] = -100.0f; /* exp(-g) overflows: silu → -0 */
            g[2] = 0.0f;
            g[3] = -88.5f;
        }
        float *o = malloc((size_t)n * sizeof(float));
        float *orf = malloc((size_t)n * sizeof(float));
        assert_non_null(o);
        assert_non_null(orf);
        eco_swiglu(o, g, u, n);
        eco_swiglu_ref(orf, g, u, n);
        check_close("swiglu", o, orf, NULL, (size_t)n, 1e-5, 1e-30);
        free(g);
        free(u);
        free(o);
        free(orf);
    }
}

static void test_add_inplace(void **state) {
    (void)state;
    for (size_t si = 0; si < NSIZES; si++) {
        int64_t n = SIZES[si];
        float *y = rand_floats((size_t)n, -1.0f, 1.0f);
        float *x = rand_floats((size_t)n, -1.0f, 1.0f);
        float *want = malloc((size_t)n * sizeof(float));
        assert_non_null(want);
        for (int64_t i = 0; i < n; i++) want[i] = y[i] + x[i];
        eco_add_inplace(y, x, n);
        assert_memory_equal(y, want, (size_t)n * sizeof(float));
        free(y);
        free(x);
        free(want);
    }
}

/* ---- ISA levels ------------------------------------------------------------------------ */

static const char *const isa_names[3] = {"plain C", "AVX2", "AVX-512"};
static bool isa_tested[3];

/* The widest level this run may test: the CPU's, or less when ECO_SIMD_CAP says so. */
static int isa_max(const char **why) {
    eco_matvec_set_simd_cap(2);
    int max = eco_simd_level();
    *why = "";
    const char *env = getenv("ECO_SIMD_CAP");
    if (env && *env >= '0' && *env <= '2' && env[1] == '\0' && *env - '0' < max) {
        max = *env - '0';
        *why = " (ECO_SIMD_CAP)";
    }
    return max;
}

/* Every dispatching kernel against its twin with the dispatcher held to `level`; skipped,
 * with a line saying so, where the CPU (or ECO_SIMD_CAP) does not have the level. */
static void run_isa_level(void **state, int level) {
    const char *why;
    if (level > isa_max(&why)) {
        printf("%s not available%s: not tested\n", isa_names[level], why);
        fflush(stdout);
        skip();
        return;
    }
    eco_matvec_set_simd_cap(level);
    assert_int_equal(eco_simd_level(), level);
    test_matvec_vs_ref(state);
    test_matvec_exact_integers(state);
    test_matvec_multi_vs_ref(state);
    test_attend_vs_ref(state);
    test_attend_group_vs_ref(state); /* at AVX-512: the grouped f16 kernel */
    test_rmsnorm_vs_ref(state);
    test_softmax_vs_ref(state);
    test_logsumexp_vs_ref(state);
    test_swiglu_vs_ref(state);
    eco_matvec_set_simd_cap(2);
    isa_tested[level] = true;
    printf("%s: kernels tested\n", isa_names[level]);
}

static void test_isa_plain_c(void **state) { run_isa_level(state, 0); }
static void test_isa_avx2(void **state) { run_isa_level(state, 1); }
static void test_isa_avx512(void **state) { run_isa_level(state, 2); }

/* "ISA levels tested: plain C, AVX2, AVX-512" (and the ones not tested, when any). */
static void print_isa_summary(void) {
    char tested[64] = "", missing[64] = "";
    for (int i = 0; i < 3; i++) {
        char *dst = isa_tested[i] ? tested : missing;
        const size_t len = strlen(dst);
        snprintf(dst + len, 64 - len, "%s%s", len ? ", " : "", isa_names[i]);
    }
    printf("kernels: ISA levels tested: %s", tested[0] ? tested : "none");
    if (missing[0]) printf("; not tested: %s", missing);
    printf("\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bf16_exact),     cmocka_unit_test(test_bf16_roundtrip_and_random),
        cmocka_unit_test(test_f16_decode_all), cmocka_unit_test(test_f16_exact),
        cmocka_unit_test(test_f16_random),     cmocka_unit_test(test_array_conversions),
        cmocka_unit_test(test_isa_plain_c),    cmocka_unit_test(test_isa_avx2),
        cmocka_unit_test(test_isa_avx512),     cmocka_unit_test(test_matvec_part_rows),
        cmocka_unit_test(test_linear_multi),   cmocka_unit_test(test_linear_vs_ref),
        cmocka_unit_test(test_matmul_f32),     cmocka_unit_test(test_linear_scratch_size),
        cmocka_unit_test(test_rope_vs_ref),    cmocka_unit_test(test_add_inplace),
    };
    const int failed = cmocka_run_group_tests_name("kernels", tests, NULL, NULL);
    print_isa_summary();
    return failed;
}
