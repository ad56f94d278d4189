/* The tensor arithmetic of parameter-level breeding (ecology/merge.h): every method on small
 * tensors whose merge is worked out by hand here (exact comparisons, or 1e-6 relative where
 * a division or a sine is involved); the random sparsifiers statistically with fixed seeds;
 * thread-count independence; the parameters' check and their JSON. */
#include "test_util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/merge.h"
#include "breeder/merge_internal.h"

static eco_merge_params params(eco_merge_method m, int n, const double *w) {
    eco_merge_params p;
    eco_merge_params_init(&p, m);
    p.n_parents = n;
    for (int i = 0; i < n; i++) p.weight[i] = w ? w[i] : 1.0;
    if (m == ECO_MERGE_METHOD_SLERP) {
        p.n_t = 1;
        p.t[0] = 0.5;
    }
    return p;
}

/* |got − want| <= tol·max(1, |want|) for every entry; prints the largest difference. */
static void assert_close(const float *got, const double *want, int64_t n, double tol) {
    double worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(got[i] - want[i]) / fmax(1.0, fabs(want[i]));
        if (!(e <= worst)) {
            worst = e;
            at = i;
        }
    }
    if (!(worst <= tol)) {
        print_error("largest relative difference %g at %lld (got %.9g, want %.9g), tol %g\n", worst,
                    (long long)at, got[at], want[at], tol);
        fail();
    }
}

static void assert_exact(const float *got, const double *want, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (got[i] != (float)want[i]) {
            print_error("entry %lld: got %.9g, want %.9g\n", (long long)i, got[i], want[i]);
            fail();
        }
}

static void assert_msg_has(const char *piece) {
    if (!strstr(eco_last_error(), piece)) {
        print_error("message '%s' does not name '%s'\n", eco_last_error(), piece);
        fail();
    }
}

/* ---- deterministic methods ---------------------------------------------------------- */

static void test_linear(void **state) {
    (void)state;
    const float a[4] = {1, 2, 3, 4}, b[4] = {3, 0, -1, 8};
    const float *par[2] = {a, b};
    double w[2] = {1, 3};
    eco_merge_params p = params(ECO_MERGE_METHOD_LINEAR, 2, w);
    float out[4];
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, par, 1, 4, &p, 0, 0, NULL, NULL));
    assert_exact(out, (double[]){2.5, 0.5, 0, 7}, 4); /* (a + 3b) / 4 */
    p.normalize = 0;
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, par, 1, 4, &p, 0, 0, NULL, NULL));
    assert_exact(out, (double[]){10, 2, 0, 28}, 4); /* a + 3b */
    /* with a base and λ = 1 the soup itself; λ = 0.5 halfway from the base */
    const float base[4] = {0, 0, 2, 2};
    p.normalize = -1;
    ECO_ASSERT_OK(eco_merge_tensor(out, base, par, 1, 4, &p, 0, 0, NULL, NULL));
    assert_exact(out, (double[]){2.5, 0.5, 0, 7}, 4);
    p.lambda = 0.5;
    ECO_ASSERT_OK(eco_merge_tensor(out, base, par, 1, 4, &p, 0, 0, NULL, NULL));
    assert_exact(out, (double[]){1.25, 0.25, 1, 4.5}, 4);
    /* weights summing to 0: the divisor becomes 1 (a − b) */
    p.lambda = 1;
    p.weight[1] = -1;
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, par, 1, 4, &p, 0, 0, NULL, NULL));
    assert_exact(out, (double[]){-2, 2, 4, -4}, 4);
}

/* The element's formula of linear (merge_tensor.c) written out: products summed in parent
 * order in double (no fused multiply-add), one division, λ, one rounding to f32. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=off")))
#endif
static float
linear_ref(const float *base, const float *const *par, int np, const double *w, double div,
           double lambda, int64_t i) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
    double mix = 0;
    for (int m = 0; m < np; m++) mix += w[m] * (double)par[m][i];
    double soup = mix / div;
    if (lambda == 1) return (float)soup;
    double b = base ? base[i] : 0.0;
    return (float)(b + lambda * (soup - b));
}

/* The vectorised linear gives the scalar formula's bytes on every element (odd lengths:
 * the tail; subnormals, infinities, NaN, ±0 among the values), on one thread or the team. */
static void test_linear_exact(void **state) {
    (void)state;
    static const float special[] = {0.0f, -0.0f, 1e-40f, -3e-39f, 1e30f, -1e38f, 3.4e38f};
    const int64_t n = 3 * ECO_MERGE_PAR_MIN + 7;
    float *par[3], *base = malloc((size_t)n * sizeof *base), *out = malloc((size_t)n * sizeof *out);
    assert_non_null(base);
    assert_non_null(out);
    uint64_t x = 12345;
    for (int m = 0; m < 3; m++) {
        par[m] = malloc((size_t)n * sizeof *par[m]);
        assert_non_null(par[m]);
        for (int64_t i = 0; i < n; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = (double)(x >> 11) / 9007199254740992.0 - 0.5;
            par[m][i] = i % 13 == 0 ? special[(x >> 7) % 7] : (float)(u * 0.04);
        }
    }
    par[1][5] = NAN;
    par[2][9] = INFINITY;
    par[0][9] = -INFINITY;
    for (int64_t i = 0; i < n; i++) base[i] = par[0][n - 1 - i] * 3;
    const double weights[][3] = {{1.0 / 3, 1.0 / 3, 1.0 / 3}, {0.7, -0.2, 1e-3}, {1, 1, -2}};
    const double lambdas[] = {1, 0.5, 3};
    int64_t checked = 0;
    for (int np = 1; np <= 3; np++)
        for (int wi = 0; wi < 3; wi++)
            for (int li = 0; li < 3; li++)
                for (int with_base = 0; with_base < 2; with_base++) {
                    eco_merge_params p = params(ECO_MERGE_METHOD_LINEAR, np, weights[wi]);
                    p.lambda = lambdas[li];
                    int64_t len = np == 2 ? ECO_MERGE_PAR_MIN / 2 + 3 : n; /* one thread */
                    const float *b = with_base ? base : NULL;
                    ECO_ASSERT_OK(eco_merge_tensor(out, b, (const float *const *)par, 1, len, &p, 0,
                                                   0, NULL, NULL));
                    double div = 0;
                    for (int m = 0; m < np; m++) div += p.weight[m];
                    if (fabs(div) < 1e-8) div = 1;
                    for (int64_t i = 0; i < len; i++) {
                        float want = linear_ref(b, (const float *const *)par, np, p.weight, div,
                                                p.lambda, i);
                        if (memcmp(&want, &out[i], sizeof want) != 0) {
                            print_error("np %d weights %d λ %g base %d: entry %lld: got %.9g "
                                        "(0x%08x), want %.9g\n",
                                        np, wi, p.lambda, with_base, (long long)i, out[i],
                                        *(const uint32_t *)(const void *)&out[i], want);
                            fail();
                        }
                    }
                    checked += len;
                }
    printf("linear: %lld entries, the same bytes as the scalar formula\n", (long long)checked);
    for (int m = 0; m < 3; m++) free(par[m]);
    free(base);
    free(out);
}

static void test_task_arithmetic(void **state) {
    (void)state;
    const float base[4] = {1, 1, 1, 1}, a[4] = {2, 0, 1, 3}, b[4] = {1, 3, 0, 1};
    const float *par[2] = {a, b};
    eco_merge_params p = params(ECO_MERGE_METHOD_TASK_ARITHMETIC, 2, (double[]){0.5, 1});
    p.lambda = 2;
    float out[4];
    /* δa = (1, −1, 0, 2), δb = (0, 2, −1, 0); mix = 0.5δa + δb = (0.5, 1.5, −1, 1) */
    ECO_ASSERT_OK(eco_merge_tensor(out, base, par, 2, 2, &p, 0, 0, NULL, NULL));
    assert_exact(out, (double[]){2, 4, -1, 3}, 4);
    p.normalize = 1; /* mix / 1.5 */
    ECO_ASSERT_OK(eco_merge_tensor(out, base, par, 2, 2, &p, 0, 0, NULL, NULL));
    assert_close(out, (double[]){1 + 2 * 0.5 / 1.5, 1 + 2 * 1.5 / 1.5, 1 - 2 / 1.5, 1 + 2 / 1.5}, 4,
                 1e-7);
    /* out may alias the base */
    float alias[4];
    memcpy(alias, base, sizeof alias);
    p.normalize = -1;
    ECO_ASSERT_OK(eco_merge_tensor(alias, alias, par, 2, 2, &p, 0, 0, NULL, NULL));
    assert_exact(alias, (double[]){2, 4, -1, 3}, 4);
}

/* Three deltas with distinct magnitudes, density 0.6 (k = 3 of 5):
 *   d1 = ( 5, −1,  3, −4,  0.5)  keeps  5, 3, −4
 *   d2 = (−2,  6, −1,  1,  7  )  keeps −2, 6, 7
 *   d3 = ( 1, −3, −8,  2, −0.25) keeps −3, −8, 2
 * weights (1, 0.5, 2): u1 = (5,0,3,−4,0), u2 = (−1,3,0,0,3.5), u3 = (0,−6,−16,4,0)
 *   entry 0: Σu = 4 → +: 5 / 1 = 5         entry 1: Σu = −3 → −: −6 / 2 = −3
 *   entry 2: −13 → −: −16 / 2 = −8          entry 3: Σu = 0, a tie → +: 4 / 2 = 2
 *   entry 4: + : 3.5 / 0.5 = 7 */
static void test_ties(void **state) {
    (void)state;
    const float d1[5] = {5, -1, 3, -4, 0.5f}, d2[5] = {-2, 6, -1, 1, 7},
                d3[5] = {1, -3, -8, 2, -0.25f};
    const float *par[3] = {d1, d2, d3};
    eco_merge_params p = params(ECO_MERGE_METHOD_TIES, 3, (double[]){1, 0.5, 2});
    for (int m = 0; m < 3; m++) p.density[m] = 0.6;
    float out[5];
    eco_merge_stats stats;
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, par, 1, 5, &p, 0, 0, NULL, &stats));
    assert_exact(out, (double[]){5, -3, -8, 2, 7}, 5);
    assert_int_equal(stats.n, 5);
    for (int m = 0; m < 3; m++) assert_int_equal(stats.kept[m], 3);
    assert_false(stats.empty);
    /* without normalize: the elected sums */
    p.normalize = 0;
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, par, 1, 5, &p, 0, 0, NULL, NULL));
    assert_exact(out, (double[]){5, -6, -16, 4, 3.5}, 5);
    /* over a base, with λ */
    const float base[5] = {1, 1, 1, 1, 1};
    float th[3][5];
    const float *tp[3] = {th[0], th[1], th[2]};
    for (int m = 0; m < 3; m++)
        for (int i = 0; i < 5; i++) th[m][i] = par[m][i] + 1;
    p.normalize = -1;
    p.lambda = 0.5;
    ECO_ASSERT_OK(eco_merge_tensor(out, base, tp, 1, 5, &p, 0, 0, NULL, NULL));
    assert_exact(out, (double[]){3.5, -0.5, -3, 2, 4.5}, 5);
}

static void test_ties_election(void **state) {
    (void)state;
    float out[1];
    /* an exact tie elects +1 */
    const float a[1] = {1}, b[1] = {-1};
    const float *ab[2] = {a, b};
    eco_merge_params p = params(ECO_MERGE_METHOD_TIES, 2, NULL);
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, ab, 1, 1, &p, 0, 0, NULL, NULL));
    assert_true(out[0] == 1.0f);
    /* sum vs count: (10, −1, −1): the sum elects + (10), the count − (mean of −1, −1) */
    const float x[1] = {10}, y[1] = {-1}, z[1] = {-1};
    const float *xyz[3] = {x, y, z};
    p = params(ECO_MERGE_METHOD_TIES, 3, NULL);
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, xyz, 1, 1, &p, 0, 0, NULL, NULL));
    assert_true(out[0] == 10.0f);
    p.election = ECO_MERGE_ELECTION_COUNT;
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, xyz, 1, 1, &p, 0, 0, NULL, NULL));
    assert_true(out[0] == -1.0f);
    /* a zero divisor: weights (1, −1) on deltas (2, −3): u = (2, 3), both elected, Σ w·M = 0
     * → divisor 1, out = 5; and an entry where every delta is 0: nothing elected, 0 (no NaN) */
    const float c[2] = {2, 0}, d[2] = {-3, 0};
    const float *cd[2] = {c, d};
    p = params(ECO_MERGE_METHOD_TIES, 2, (double[]){1, -1});
    float out2[2];
    ECO_ASSERT_OK(eco_merge_tensor(out2, NULL, cd, 1, 2, &p, 0, 0, NULL, NULL));
    assert_exact(out2, (double[]){5, 0}, 2);
    /* dare_ties elects the same way (density 1: no dropping) but does not normalize */
    p = params(ECO_MERGE_METHOD_DARE_TIES, 3, (double[]){1, 2, 2});
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, xyz, 1, 1, &p, 0, 0, NULL, NULL));
    assert_true(out[0] == 10.0f); /* Σu = 10 − 2 − 2 = 6 → + */
}

static void test_breadcrumbs(void **state) {
    (void)state;
    enum { N = 100 };
    float d[N], orig[N];
    /* magnitudes 1..100 in a scrambled order, alternating signs */
    for (int i = 0; i < N; i++) orig[i] = (float)((i * 37) % N + 1) * (i % 2 ? -1.0f : 1.0f);
    memcpy(d, orig, sizeof d);
    /* density 0.5, gamma 0.1: keep the 50 largest less the 10 largest, i.e. |d| in [51, 90] */
    int64_t kept = eco_sparsify_breadcrumbs(d, N, 0.5, 0.1);
    assert_int_equal(kept, 40);
    int64_t nz = 0;
    for (int i = 0; i < N; i++) {
        float m = fabsf(orig[i]);
        bool want = m >= 51 && m <= 90;
        assert_true(d[i] == (want ? orig[i] : 0.0f));
        nz += d[i] != 0;
    }
    assert_int_equal(nz, 40);
    /* gamma share 0 (0.005·100 = 0): the 50 largest stay (mergekit's slice empties it) */
    memcpy(d, orig, sizeof d);
    assert_int_equal(eco_sparsify_breadcrumbs(d, N, 0.5, 0.005), 50);
    for (int i = 0; i < N; i++) assert_true(d[i] == (fabsf(orig[i]) >= 51 ? orig[i] : 0.0f));
    /* ⌊0.333·100⌋ = 33 minus ⌊0.05·100⌋ = 5 */
    memcpy(d, orig, sizeof d);
    assert_int_equal(eco_sparsify_breadcrumbs(d, N, 0.333, 0.05), 28);
    /* through eco_merge_tensor: the kept count is reported, no normalize */
    const float *par[1] = {orig};
    eco_merge_params p = params(ECO_MERGE_METHOD_BREADCRUMBS, 1, (double[]){2});
    p.density[0] = 0.5;
    p.gamma = 0.1;
    float out[N];
    eco_merge_stats stats;
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, par, 10, 10, &p, 0, 0, NULL, &stats));
    assert_int_equal(stats.kept[0], 40);
    for (int i = 0; i < N; i++) {
        float m = fabsf(orig[i]);
        assert_true(out[i] == (m >= 51 && m <= 90 ? 2 * orig[i] : 0.0f));
    }
}

static void test_magnitude(void **state) {
    (void)state;
    /* ties in magnitude: lower index first */
    float d[6] = {1, -3, 3, 2, -3, 0};
    assert_int_equal(eco_sparsify_magnitude(d, 6, 0.5), 3);
    assert_exact(d, (double[]){0, -3, 3, 0, -3, 0}, 6);
    float e[6] = {1, -3, 3, 2, -3, 0};
    assert_int_equal(eco_sparsify_magnitude(e, 6, 0.34), 2); /* (int)(2.04) */
    assert_exact(e, (double[]){0, -3, 3, 0, 0, 0}, 6);
    /* k = 0 keeps nothing, and the merge reports it empty */
    float f[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    assert_int_equal(eco_sparsify_magnitude(f, 10, 0.05), 0);
    for (int i = 0; i < 10; i++) assert_true(f[i] == 0.0f);
    const float g[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    const float *par[1] = {g};
    eco_merge_params p = params(ECO_MERGE_METHOD_TIES, 1, NULL);
    p.density[0] = 0.05;
    float out[10];
    eco_merge_stats stats;
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, par, 1, 10, &p, 0, 0, NULL, &stats));
    assert_true(stats.empty);
    assert_int_equal(stats.kept[0], 0);
    for (int i = 0; i < 10; i++) assert_true(out[i] == 0.0f);
    /* density 1 leaves it alone */
    p.density[0] = 1;
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, par, 1, 10, &p, 0, 0, NULL, &stats));
    assert_false(stats.empty);
    assert_int_equal(stats.kept[0], 10);
    assert_memory_equal(out, g, sizeof g);
}

static void test_della_check(void **state) {
    (void)state;
    eco_merge_params p = params(ECO_MERGE_METHOD_DELLA, 1, NULL);
    p.epsilon = 0.15;
    const double bad[] = {0.1, 0.15, 0.85, 0.9, 0.0};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        p.density[0] = bad[i];
        ECO_ASSERT_STATUS(eco_merge_params_check(&p), ECO_STATUS_EINVAL);
        assert_msg_has("density");
        assert_msg_has("epsilon");
        float out[1];
        const float x[1] = {1};
        const float *par[1] = {x};
        ECO_ASSERT_STATUS(eco_merge_tensor(out, NULL, par, 1, 1, &p, 0, 0, NULL, NULL),
                          ECO_STATUS_EINVAL);
    }
    const double good[] = {0.15 + 1e-9, 0.5, 0.85 - 1e-9, 1.0};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        p.density[0] = good[i];
        ECO_ASSERT_OK(eco_merge_params_check(&p));
    }
}

/* One row of 5, density 0.5, ε 0.1: ranks by |d| ascending 0.1 < 0.2 < 0.3 < 0.4 < 0.5 get
 * p = 0.4, 0.45, 0.5, 0.55, 0.6; with a mask keeping all, each is divided by its p. */
static void test_della_fixed_mask(void **state) {
    (void)state;
    float d[5] = {0.1f, -0.5f, 0.3f, 0.2f, -0.4f};
    const uint8_t all[5] = {1, 1, 1, 1, 1}, some[5] = {0, 1, 1, 0, 1};
    assert_int_equal(eco_sparsify_della(d, 1, 5, 0.5, 0.1, ECO_MERGE_RESCALE_INVERSE, 0, 0, all),
                     5);
    assert_close(d, (double[]){0.1f / 0.4, -0.5f / 0.6, 0.3f / 0.5, 0.2f / 0.45, -0.4f / 0.55}, 5,
                 1e-7);
    float e[5] = {0.1f, -0.5f, 0.3f, 0.2f, -0.4f};
    assert_int_equal(eco_sparsify_della(e, 1, 5, 0.5, 0.1, ECO_MERGE_RESCALE_L1, 0, 0, some), 3);
    double s = 1.5 / 1.2; /* ‖d‖₁ / ‖kept‖₁ */
    assert_close(e, (double[]){0, -0.5f * s, 0.3f * s, 0, -0.4f * s}, 5, 1e-7);
    /* rows rank separately: two rows, the second a permutation of the first */
    float f[10] = {0.1f, -0.5f, 0.3f, 0.2f, -0.4f, -0.4f, 0.2f, 0.3f, -0.5f, 0.1f};
    uint8_t ones[10];
    memset(ones, 1, sizeof ones);
    eco_sparsify_della(f, 2, 5, 0.5, 0.1, ECO_MERGE_RESCALE_INVERSE, 0, 0, ones);
    assert_close(f + 5, (double[]){-0.4f / 0.55, 0.2f / 0.45, 0.3f / 0.5, -0.5f / 0.6, 0.1f / 0.4},
                 5, 1e-7);
}

static void test_dare_fixed_mask(void **state) {
    (void)state;
    float d[4] = {1, -2, 3, 4};
    const uint8_t mask[4] = {1, 0, 1, 0};
    assert_int_equal(eco_sparsify_random(d, 4, 0.5, ECO_MERGE_RESCALE_INVERSE, 1, 2, mask), 2);
    assert_exact(d, (double[]){2, 0, 6, 0}, 4);
    float e[4] = {1, -2, 3, 4};
    assert_int_equal(eco_sparsify_random(e, 4, 0.5, ECO_MERGE_RESCALE_L1, 1, 2, mask), 2);
    assert_exact(e, (double[]){2.5, 0, 7.5, 0}, 4); /* ×10/4 */
    /* through the merge: the mask replaces parent 1's draw only */
    const float a[4] = {1, 1, 1, 1}, b[4] = {2, 2, 2, 2};
    const float *par[2] = {a, b};
    const uint8_t ma[4] = {1, 1, 0, 0}, mb[4] = {0, 1, 1, 0};
    const uint8_t *masks[2] = {ma, mb};
    eco_merge_params p = params(ECO_MERGE_METHOD_DARE_LINEAR, 2, NULL);
    p.density[0] = 0.5;
    p.density[1] = 0.25;
    float out[4];
    eco_merge_stats stats;
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, par, 1, 4, &p, 0, 0, masks, &stats));
    assert_exact(out, (double[]){2, 2 + 8, 8, 0}, 4);
    assert_int_equal(stats.kept[0], 2);
    assert_int_equal(stats.kept[1], 2);
}

static void test_slerp(void **state) {
    (void)state;
    const float a[4] = {0.3f, -1.2f, 2.5f, 0.7f}, b[4] = {1.1f, 0.4f, -0.6f, 2.0f};
    const float *par[2] = {a, b};
    eco_merge_params p = params(ECO_MERGE_METHOD_SLERP, 2, NULL);
    float out[4];
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, par, 2, 2, &p, 0.0, 0, NULL, NULL));
    assert_memory_equal(out, a, sizeof a);
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, par, 2, 2, &p, 1.0, 0, NULL, NULL));
    assert_memory_equal(out, b, sizeof b);
    /* 90°: a = 3e1, b = 2e2: out = cos(tπ/2)·a + sin(tπ/2)·b */
    const float x[4] = {3, 0, 0, 0}, y[4] = {0, 2, 0, 0};
    const float *xy[2] = {x, y};
    for (double t = 0.1; t < 1; t += 0.2) {
        ECO_ASSERT_OK(eco_merge_tensor(out, NULL, xy, 1, 4, &p, t, 0, NULL, NULL));
        assert_close(out, (double[]){3 * cos(t * M_PI / 2), 2 * sin(t * M_PI / 2), 0, 0}, 4, 1e-7);
    }
    /* 60° (cos = 0.5): the closed form sin((1−t)θ)/sinθ, sin(tθ)/sinθ */
    const float u[2] = {1, 0}, v[2] = {0.5f, (float)(sqrt(3) / 2)};
    const float *uv[2] = {u, v};
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, uv, 1, 2, &p, 0.5, 0, NULL, NULL));
    assert_close(out, (double[]){cos(M_PI / 6), sin(M_PI / 6)}, 2, 1e-6);
    /* near-parallel (cos θ = 0.9996 > 0.9995): lerp, which differs from the slerp formula */
    double c = 0.9996, s = sqrt(1 - c * c);
    const float q[2] = {1, 0}, r[2] = {(float)(2 * c), (float)(2 * s)};
    const float *qr[2] = {q, r};
    double t = 0.5;
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, qr, 1, 2, &p, t, 0, NULL, NULL));
    double lerp[2] = {(1 - t) * q[0] + t * r[0], (1 - t) * q[1] + t * r[1]};
    assert_exact(out, lerp, 2);
    double th = acos(c), sl0 = sin((1 - t) * th) / sin(th) * q[0] + sin(t * th) / sin(th) * r[0];
    assert_true(fabs(sl0 - lerp[0]) > 1e-5); /* the fallback is visible */
    /* just below the threshold (0.9994) the slerp formula is used */
    c = 0.9994;
    s = sqrt(1 - c * c);
    const float r2[2] = {(float)(2 * c), (float)(2 * s)};
    const float *qr2[2] = {q, r2};
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, qr2, 1, 2, &p, t, 0, NULL, NULL));
    double dot = r2[0] / sqrt((double)r2[0] * r2[0] + (double)r2[1] * r2[1]);
    th = acos(dot);
    assert_close(out,
                 (double[]){sin((1 - t) * th) / sin(th) + sin(t * th) / sin(th) * r2[0],
                            sin(t * th) / sin(th) * r2[1]},
                 2, 1e-6);
    /* t outside [0, 1] refused */
    ECO_ASSERT_STATUS(eco_merge_tensor(out, NULL, qr, 1, 2, &p, 1.5, 0, NULL, NULL),
                      ECO_STATUS_EINVAL);
}

static void test_slerp_t(void **state) {
    (void)state;
    eco_merge_params p = params(ECO_MERGE_METHOD_SLERP, 2, NULL);
    const double g[5] = {0, 0.5, 1, 0.5, 0};
    p.n_t = 5;
    memcpy(p.t, g, sizeof g);
    /* 9 layers: layer i sits at i/8, scaled by 4 */
    assert_true(eco_merge_slerp_t(&p, 0, 9) == 0);
    assert_true(eco_merge_slerp_t(&p, 1, 9) == 0.25);
    assert_true(eco_merge_slerp_t(&p, 2, 9) == 0.5);
    assert_true(eco_merge_slerp_t(&p, 4, 9) == 1);
    assert_true(eco_merge_slerp_t(&p, 7, 9) == 0.25);
    assert_true(eco_merge_slerp_t(&p, 8, 9) == 0);
    p.n_t = 2;
    p.t[0] = 0.2;
    p.t[1] = 0.8;
    assert_true(eco_merge_slerp_t(&p, -1, 30) == 0.2); /* before the layers: the first */
    assert_true(eco_merge_slerp_t(&p, 30, 30) == 0.8); /* after them: the last */
    assert_true(fabs(eco_merge_slerp_t(&p, 10, 21) - 0.5) < 1e-15);
    assert_true(eco_merge_slerp_t(&p, 0, 1) == 0.8); /* one layer: position 1 (mergekit) */
    p.n_t = 1;
    assert_true(eco_merge_slerp_t(&p, 5, 30) == 0.2);
}

/* One parent at weight 1 is returned unchanged by every method; λ = 0 returns the base. */
static void test_identities(void **state) {
    (void)state;
    const float base[6] = {1.0f, -0.5f, 2.0f, 0.25f, -1.5f, 3.0f};
    const float x[6] = {1.25f, -0.75f, 2.5f, 0.375f, -1.0f, 2.5f}; /* θ − θ₀ exact (Sterbenz) */
    const float *par[1] = {x};
    float out[6];
    for (int m = 0; m < ECO_MERGE_METHOD__COUNT; m++) {
        if (m == ECO_MERGE_METHOD_SLERP) continue;
        eco_merge_params p = params((eco_merge_method)m, 1, NULL);
        ECO_ASSERT_OK(eco_merge_tensor(out, base, par, 2, 3, &p, 0, 0, NULL, NULL));
        assert_memory_equal(out, x, sizeof x);
        ECO_ASSERT_OK(eco_merge_tensor(out, NULL, par, 2, 3, &p, 0, 0, NULL, NULL));
        assert_memory_equal(out, x, sizeof x);
        p.lambda = 0;
        p.density[0] = m == ECO_MERGE_METHOD_DELLA ? 0.5 : 0.7;
        ECO_ASSERT_OK(eco_merge_tensor(out, base, par, 2, 3, &p, 0, 0, NULL, NULL));
        assert_memory_equal(out, base, sizeof base);
    }
    /* slerp of a tensor with itself */
    const float *xx[2] = {x, x};
    eco_merge_params p = params(ECO_MERGE_METHOD_SLERP, 2, NULL);
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, xx, 2, 3, &p, 0.37, 0, NULL, NULL));
    assert_close(out, (double[]){1.25, -0.75, 2.5, 0.375, -1.0, 2.5}, 6, 1e-7);
}

/* ---- random sparsifiers, statistically ----------------------------------------------- */

enum { NS = 100000 };

static void fill(float *d, int64_t n, uint64_t seed) {
    for (int64_t i = 0; i < n; i++)
        d[i] = (float)(eco_merge_normal(seed, 77, (uint64_t)i) + 0.1); /* never 0 */
}

static void test_dare_statistics(void **state) {
    (void)state;
    float *d = malloc(NS * sizeof *d), *e = malloc(NS * sizeof *e), *o = malloc(NS * sizeof *o);
    assert_non_null(d);
    assert_non_null(e);
    assert_non_null(o);
    fill(o, NS, 1);
    const double dens[] = {0.1, 0.5, 0.9};
    for (size_t k = 0; k < 3; k++) {
        double dd = dens[k], sd = sqrt(NS * dd * (1 - dd));
        for (uint64_t seed = 1; seed <= 3; seed++) {
            memcpy(d, o, NS * sizeof *d);
            int64_t kept = eco_sparsify_random(d, NS, dd, ECO_MERGE_RESCALE_INVERSE, seed, 5, NULL);
            int64_t nz = 0;
            for (int64_t i = 0; i < NS; i++) nz += d[i] != 0;
            assert_int_equal(nz, kept);
            if (!(fabs((double)kept - NS * dd) <= 5 * sd)) {
                print_error("density %g seed %llu: kept %lld, expected %g ± %g\n", dd,
                            (unsigned long long)seed, (long long)kept, NS * dd, 5 * sd);
                fail();
            }
        }
        /* two seeds overlap ≈ d²: within 5 standard deviations of Bin(n, d²) */
        memcpy(d, o, NS * sizeof *d);
        memcpy(e, o, NS * sizeof *e);
        eco_sparsify_random(d, NS, dd, ECO_MERGE_RESCALE_INVERSE, 11, 5, NULL);
        eco_sparsify_random(e, NS, dd, ECO_MERGE_RESCALE_INVERSE, 12, 5, NULL);
        int64_t both = 0;
        for (int64_t i = 0; i < NS; i++) both += d[i] != 0 && e[i] != 0;
        double want = NS * dd * dd, sd2 = sqrt(NS * dd * dd * (1 - dd * dd));
        if (!(fabs((double)both - want) <= 5 * sd2)) {
            print_error("density %g: overlap %lld, expected %g ± %g\n", dd, (long long)both, want,
                        5 * sd2);
            fail();
        }
    }
    /* same seed: same bytes; another seed or another stream: another mask */
    memcpy(d, o, NS * sizeof *d);
    memcpy(e, o, NS * sizeof *e);
    eco_sparsify_random(d, NS, 0.3, ECO_MERGE_RESCALE_INVERSE, 42, 9, NULL);
    eco_sparsify_random(e, NS, 0.3, ECO_MERGE_RESCALE_INVERSE, 42, 9, NULL);
    assert_memory_equal(d, e, NS * sizeof *d);
    memcpy(e, o, NS * sizeof *e);
    eco_sparsify_random(e, NS, 0.3, ECO_MERGE_RESCALE_INVERSE, 43, 9, NULL);
    assert_memory_not_equal(d, e, NS * sizeof *d);
    memcpy(e, o, NS * sizeof *e);
    eco_sparsify_random(e, NS, 0.3, ECO_MERGE_RESCALE_INVERSE, 42, 10, NULL);
    assert_memory_not_equal(d, e, NS * sizeof *d);
    /* L1 rescale keeps ‖·‖₁ (to f32 rounding: 1e-6 relative) */
    for (size_t k = 0; k < 3; k++) {
        memcpy(d, o, NS * sizeof *d);
        double before = 0, after = 0;
        for (int64_t i = 0; i < NS; i++) before += fabs(d[i]);
        eco_sparsify_random(d, NS, dens[k], ECO_MERGE_RESCALE_L1, 3, 5, NULL);
        for (int64_t i = 0; i < NS; i++) after += fabs(d[i]);
        if (!(fabs(after - before) <= 1e-6 * before)) {
            print_error("L1: %.9g before, %.9g after\n", before, after);
            fail();
        }
    }
    free(d);
    free(e);
    free(o);
}

/* eco_merge_tensor draws parent m's mask from (seed, eco_merge_substream(stream, m)): the
 * same bytes as the sparsifier called by hand; two identical parents get different masks. */
static void test_dare_draws(void **state) {
    (void)state;
    enum { N = 1000 };
    float o[N], d0[N], d1[N], out[N];
    fill(o, N, 4);
    const float *par[2] = {o, o};
    eco_merge_params p = params(ECO_MERGE_METHOD_DARE_LINEAR, 2, (double[]){0.5, 2});
    p.density[0] = p.density[1] = 0.5;
    p.seed = 7;
    uint64_t stream = eco_merge_stream("model.layers.3.self_attn.q_proj.weight");
    eco_merge_stats stats;
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, par, 10, 100, &p, 0, stream, NULL, &stats));
    memcpy(d0, o, sizeof o);
    memcpy(d1, o, sizeof o);
    int64_t k0 = eco_sparsify_random(d0, N, 0.5, ECO_MERGE_RESCALE_INVERSE, 7,
                                     eco_merge_substream(stream, 0), NULL);
    int64_t k1 = eco_sparsify_random(d1, N, 0.5, ECO_MERGE_RESCALE_INVERSE, 7,
                                     eco_merge_substream(stream, 1), NULL);
    assert_int_equal(stats.kept[0], k0);
    assert_int_equal(stats.kept[1], k1);
    int64_t differ = 0;
    for (int i = 0; i < N; i++) {
        assert_true(out[i] == (float)(0.5 * d0[i] + 2.0 * d1[i]));
        differ += (d0[i] != 0) != (d1[i] != 0);
    }
    assert_true(differ > N / 4); /* ≈ N/2 of the keeps differ */
    /* the draw is the documented uniform: entry i kept when uniform(seed, stream, i) < d */
    for (int i = 0; i < N; i++)
        assert_true((d0[i] != 0) ==
                    (eco_merge_uniform(7, eco_merge_substream(stream, 0), (uint64_t)i) < 0.5));
}

/* Inverse rescale is unbiased: over S seeds the mean of each entry approaches δ, with
 * standard deviation |δ|·√((1 − d)/(d·S)); every entry must lie within 5 of those. */
static void test_dare_unbiased(void **state) {
    (void)state;
    enum { N = 64, S = 4000 };
    float o[N], d[N];
    double sum[N] = {0};
    fill(o, N, 2);
    const double dd = 0.3;
    for (uint64_t seed = 0; seed < S; seed++) {
        memcpy(d, o, sizeof d);
        eco_sparsify_random(d, N, dd, ECO_MERGE_RESCALE_INVERSE, seed, 1, NULL);
        for (int i = 0; i < N; i++) sum[i] += d[i];
    }
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double sd = fabs(o[i]) * sqrt((1 - dd) / (dd * S));
        double z = fabs(sum[i] / S - o[i]) / sd;
        if (z > worst) worst = z;
    }
    printf("DARE inverse rescale: largest deviation of the mean %.2f standard deviations\n", worst);
    assert_true(worst <= 5);
    /* DELLA with inverse rescale is unbiased too (each entry divided by its own p) */
    memset(sum, 0, sizeof sum);
    for (uint64_t seed = 0; seed < S; seed++) {
        memcpy(d, o, sizeof d);
        eco_sparsify_della(d, 4, 16, 0.4, 0.2, ECO_MERGE_RESCALE_INVERSE, seed, 1, NULL);
        for (int i = 0; i < N; i++) sum[i] += d[i];
    }
    worst = 0;
    for (int i = 0; i < N; i++) {
        double sd = fabs(o[i]) * sqrt((1 - 0.2) / (0.2 * S)); /* p ≥ 0.2: a bound */
        double z = fabs(sum[i] / S - o[i]) / sd;
        if (z > worst) worst = z;
    }
    printf("DELLA inverse rescale: largest deviation of the mean %.2f (bound) sd\n", worst);
    assert_true(worst <= 5);
}

/* DELLA keeps larger entries more often: per row, the top fifth by |d| is kept with
 * p ≈ d + 0.8ε, the bottom fifth with p ≈ d − 0.8ε. */
static void test_della_statistics(void **state) {
    (void)state;
    enum { R = 200, C = 500 };
    float *o = malloc(R * C * sizeof *o), *d = malloc(R * C * sizeof *d);
    assert_non_null(o);
    assert_non_null(d);
    fill(o, R * C, 3);
    memcpy(d, o, R * C * sizeof *d);
    double dens = 0.5, eps = 0.2;
    int64_t kept = eco_sparsify_della(d, R, C, dens, eps, ECO_MERGE_RESCALE_INVERSE, 7, 3, NULL);
    double sd = sqrt(R * C * dens * (1 - dens));
    assert_true(fabs((double)kept - R * C * dens) <= 5 * sd);
    /* rank of each entry inside its row: count the entries of the row with smaller |d| */
    int64_t kept_lo = 0, kept_hi = 0, n_lo = 0, n_hi = 0;
    for (int r = 0; r < R; r++)
        for (int j = 0; j < C; j++) {
            float a = fabsf(o[r * C + j]);
            int rank = 0;
            for (int q = 0; q < C; q++) rank += fabsf(o[r * C + q]) < a;
            if (rank < C / 5) {
                n_lo++;
                kept_lo += d[r * C + j] != 0;
            } else if (rank >= C - C / 5) {
                n_hi++;
                kept_hi += d[r * C + j] != 0;
            }
        }
    double p_lo = dens - 0.8 * eps, p_hi = dens + 0.8 * eps; /* the means over each fifth */
    assert_true(fabs((double)kept_lo - n_lo * p_lo) <= 5 * sqrt(n_lo * p_lo * (1 - p_lo)));
    assert_true(fabs((double)kept_hi - n_hi * p_hi) <= 5 * sqrt(n_hi * p_hi * (1 - p_hi)));
    free(o);
    free(d);
}

/* Every method gives the same bytes with 1 and 2 threads (tensors above the parallel
 * threshold). */
static void test_threads(void **state) {
    (void)state;
    enum { R = 300, C = 400, N = R * C, NP = 3 };
    float *base = malloc(N * sizeof(float)), *par[NP], *o1 = malloc(N * sizeof(float)),
          *o2 = malloc(N * sizeof(float));
    assert_non_null(base);
    fill(base, N, 10);
    for (int m = 0; m < NP; m++) {
        par[m] = malloc(N * sizeof(float));
        assert_non_null(par[m]);
        fill(par[m], N, 20 + m);
    }
    int saved = eco_get_threads();
    for (int m = 0; m < ECO_MERGE_METHOD__COUNT; m++) {
        int np = m == ECO_MERGE_METHOD_SLERP ? 2 : NP;
        eco_merge_params p = params((eco_merge_method)m, np, (double[]){0.5, 0.3, 0.9});
        for (int k = 0; k < np; k++) p.density[k] = 0.4;
        p.seed = 1234;
        if (m == ECO_MERGE_METHOD_DARE_LINEAR) p.rescale = ECO_MERGE_RESCALE_L1;
        eco_set_threads(1);
        ECO_ASSERT_OK(
            eco_merge_tensor(o1, base, (const float *const *)par, R, C, &p, 0.3, 99, NULL, NULL));
        eco_set_threads(2);
        ECO_ASSERT_OK(
            eco_merge_tensor(o2, base, (const float *const *)par, R, C, &p, 0.3, 99, NULL, NULL));
        if (memcmp(o1, o2, N * sizeof(float)) != 0) {
            print_error("%s: 1 and 2 threads differ\n", eco_merge_method_name((eco_merge_method)m));
            fail();
        }
    }
    /* mutate as well */
    memcpy(o1, base, N * sizeof(float));
    memcpy(o2, base, N * sizeof(float));
    eco_set_threads(1);
    eco_mutate_tensor(o1, N, 0.1, 5, 6);
    eco_set_threads(2);
    eco_mutate_tensor(o2, N, 0.1, 5, 6);
    assert_memory_equal(o1, o2, N * sizeof(float));
    eco_set_threads(saved);
    for (int m = 0; m < NP; m++) free(par[m]);
    free(base);
    free(o1);
    free(o2);
}

/* ---- chunks of rows (eco_merge__tensor_rows) ------------------------------------------- */

typedef struct blk_ctx {
    const float *a, *b;
} blk_ctx;

static bool blk(void *ctx, int64_t off, int64_t len, const float **a, const float **b) {
    (void)len;
    const blk_ctx *c = ctx;
    *a = c->a + off;
    *b = c->b ? c->b + off : NULL;
    return true;
}

/* Several parents' blocks at once (eco_merge__cuts_multi). */
typedef struct blk_multi {
    const float *const *a;
    int ns;
    const float *b;
    int calls;
} blk_multi;

static bool blk_many(void *ctx, int64_t off, int64_t len, const float **a, const float **b) {
    (void)len;
    blk_multi *c = ctx;
    for (int s = 0; s < c->ns; s++) a[s] = c->a[s] + off;
    *b = c->b ? c->b + off : NULL;
    c->calls++;
    return c->calls < 1000000;
}

/* The selections of several parents found in the same walks are each parent's own
 * (eco_merge__cuts, and through it eco_merge__topk's entries): keys with many ties at the
 * threshold, one parent whose k needs no walk (k = 0 and k = n), with and without θ₀; a
 * failing block read is reported (−2). */
static void test_cuts_multi(void **state) {
    (void)state;
    enum { N = 20000, NSEL = 4 };
    static const float steps[] = {0, 0.25f, -0.25f, 0.5f, -0.5f, 1, -1, 0.5f};
    float *par[NSEL], *base = malloc(N * sizeof(float));
    assert_non_null(base);
    for (int64_t i = 0; i < N; i++) base[i] = 0.25f * (float)((i * 7919) % 13) - 1.5f;
    for (int s = 0; s < NSEL; s++) {
        par[s] = malloc(N * sizeof(float));
        assert_non_null(par[s]);
        uint64_t x = 0x9e3779b97f4a7c15ULL * (uint64_t)(s + 3);
        for (int64_t i = 0; i < N; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            par[s][i] = base[i] + steps[(x >> 33) % 8] * (s == NSEL - 1 ? 1.0001f : 1.0f);
        }
    }
    const int64_t k[NSEL][2] = {{N / 3, N / 20}, {N / 2, 0}, {0, N}, {7, 3}};
    for (int with_base = 0; with_base < 2; with_base++) {
        const float *b = with_base ? base : NULL;
        blk_multi m = {(const float *const *)par, NSEL, b, 0};
        eco_merge_cut got[NSEL][2];
        assert_int_equal(eco_merge__cuts_multi(blk_many, &m, N, 333, NSEL, k, 2, got), 0);
        for (int s = 0; s < NSEL; s++) {
            eco_merge_cut want[2];
            blk_ctx c = {par[s], b};
            assert_int_equal(eco_merge__cuts(blk, &c, N, 1000, k[s], 2, want), 0);
            for (int j = 0; j < 2; j++)
                if (got[s][j].k != want[j].k || got[s][j].n != want[j].n ||
                    got[s][j].thr != want[j].thr || got[s][j].last != want[j].last) {
                    print_error("parent %d cut %d: thr %u last %lld, want thr %u last %lld\n", s, j,
                                got[s][j].thr, (long long)got[s][j].last, want[j].thr,
                                (long long)want[j].last);
                    fail();
                }
        }
        blk_multi bad = {(const float *const *)par, NSEL, b, 1000000 - 5};
        assert_int_equal(eco_merge__cuts_multi(blk_many, &bad, N, 333, NSEL, k, 2, got), -2);
    }
    for (int s = 0; s < NSEL; s++) free(par[s]);
    free(base);
}

/* ties, breadcrumbs, della and dare_* merged by chunks of rows, each magnitude selection
 * found over the whole tensor in blocks (eco_merge__cuts), each l1 scale in blocks of rows
 * (eco_merge__l1_scale), give eco_merge_tensor's bytes and kept counts: deltas of a few magnitudes only (exact in f32), so many entries equal
 * the threshold and the lower-index-first rule decides; 1 and 2 threads (the tensor is
 * above the parallel threshold); chunks of 1, 7 and all the rows; blocks of 17 and 1000. */
static void test_rows_equal_whole(void **state) {
    (void)state;
    enum { R = 300, C = 130, N = R * C, NP = 3 };
    static const float steps[] = {0, 0.25f, -0.25f, 0.5f, -0.5f, 1, -1, 0.5f};
    float *base = malloc(N * sizeof(float)), *quant[NP], *noisy[NP],
          *ref = malloc(N * sizeof(float)), *got = malloc(N * sizeof(float)),
          *scratch = malloc(NP * N * sizeof(float));
    assert_non_null(base);
    assert_non_null(ref);
    assert_non_null(got);
    assert_non_null(scratch);
    for (int64_t i = 0; i < N; i++) base[i] = 0.25f * (float)((i * 7919) % 13) - 1.5f;
    for (int m = 0; m < NP; m++) { /* quantized deltas; noisy ones for the l1 scales */
        quant[m] = malloc(N * sizeof(float));
        noisy[m] = malloc(N * sizeof(float));
        assert_non_null(quant[m]);
        assert_non_null(noisy[m]);
        uint64_t x = 0x9e3779b97f4a7c15ULL * (uint64_t)(m + 1);
        for (int64_t i = 0; i < N; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            quant[m][i] = base[i] + steps[(x >> 33) % 8];
            noisy[m][i] = quant[m][i] + (float)((x >> 40) % 1000) * 1e-4f;
        }
    }
    static const eco_merge_method methods[] = {
        ECO_MERGE_METHOD_TIES,      ECO_MERGE_METHOD_TIES,       ECO_MERGE_METHOD_BREADCRUMBS,
        ECO_MERGE_METHOD_DELLA,     ECO_MERGE_METHOD_DELLA,      ECO_MERGE_METHOD_DARE_TIES,
        ECO_MERGE_METHOD_DARE_TIES, ECO_MERGE_METHOD_DARE_LINEAR};
    static const int l1[] = {0, 0, 0, 0, 1, 0, 1, 1};
    static const int64_t chunk_rows[] = {1, 7, R};
    int saved = eco_get_threads(), partial = 0;
    for (size_t k = 0; k < sizeof methods / sizeof *methods; k++) {
        eco_merge_params p = params(methods[k], NP, (double[]){0.7, -0.4, 1.1});
        p.density[0] = 0.3;
        p.density[1] = 0.55;
        p.density[2] = methods[k] == ECO_MERGE_METHOD_DELLA ? 0.8 : 1.0;
        p.rescale = l1[k] ? ECO_MERGE_RESCALE_L1 : ECO_MERGE_RESCALE_INVERSE;
        float **par = l1[k] ? noisy : quant;
        p.gamma = 0.05;
        p.epsilon = 0.1;
        p.seed = 77;
        if (k == 1) p.election = ECO_MERGE_ELECTION_COUNT;
        assert_true(eco_merge__rows_ok(&p));
        for (int th = 1; th <= 2; th++) {
            eco_set_threads(th);
            eco_merge_stats stats;
            ECO_ASSERT_OK(eco_merge_tensor(ref, base, (const float *const *)par, R, C, &p, 0, 99,
                                           NULL, &stats));
            for (int bi = 0; bi < 2; bi++) {
                eco_merge_select sel[NP];
                memset(sel, 0, sizeof sel);
                for (int m = 0; m < NP; m++) {
                    int64_t kk[2];
                    eco_merge__select_k(&p, m, N, kk);
                    eco_merge_cut cut[2];
                    blk_ctx c = {par[m], base};
                    assert_int_equal(eco_merge__cuts(blk, &c, N, bi ? 1000 : 17, kk, 2, cut), 0);
                    sel[m].big = cut[0];
                    sel[m].top = cut[1];
                    if (eco_merge__l1(&p, m)) /* blocks of 1 or 7 rows */
                        assert_int_equal(eco_merge__l1_scale(blk, &c, R, C, bi ? 7 : 1, &p, m, 99,
                                                             scratch, &sel[m].scale),
                                         0);
                    else
                        partial += cut[0].k > 0 && cut[0].k < N && cut[0].last < N;
                }
                for (size_t ci = 0; ci < sizeof chunk_rows / sizeof *chunk_rows; ci++) {
                    int64_t kept[NP] = {0};
                    memset(got, 0xff, N * sizeof(float));
                    for (int64_t r0 = 0; r0 < R; r0 += chunk_rows[ci]) {
                        int64_t nr = R - r0 < chunk_rows[ci] ? R - r0 : chunk_rows[ci];
                        const float *pp[NP];
                        for (int m = 0; m < NP; m++) pp[m] = par[m] + r0 * C;
                        int64_t kc[NP];
                        ECO_ASSERT_OK(eco_merge__tensor_rows(got + r0 * C, base + r0 * C, pp, C, r0,
                                                             nr, &p, 99, sel, scratch, kc));
                        for (int m = 0; m < NP; m++) kept[m] += kc[m];
                    }
                    if (memcmp(got, ref, N * sizeof(float)) != 0) {
                        int64_t at = 0;
                        while (memcmp(&got[at], &ref[at], sizeof(float)) == 0) at++;
                        print_error("%s (case %zu), %d threads, blocks %d, chunks of %lld rows: "
                                    "element %lld is %.9g, whole tensor %.9g\n",
                                    eco_merge_method_name(p.method), k, th, bi ? 1000 : 17,
                                    (long long)chunk_rows[ci], (long long)at, got[at], ref[at]);
                        fail();
                    }
                    for (int m = 0; m < NP; m++) assert_int_equal(kept[m], stats.kept[m]);
                }
            }
        }
    }
    printf("rows = whole: %d selections stopped inside a run of equal magnitudes\n", partial);
    assert_true(partial > 0); /* the index rule was exercised */
    eco_set_threads(saved);
    for (int m = 0; m < NP; m++) {
        free(quant[m]);
        free(noisy[m]);
    }
    free(base);
    free(ref);
    free(got);
    free(scratch);
}

/* ---- the other operators ---------------------------------------------------------------- */

static void test_mutate(void **state) {
    (void)state;
    enum { N = 50000 };
    float *w = malloc(N * sizeof *w), *o = malloc(N * sizeof *o);
    assert_non_null(w);
    assert_non_null(o);
    for (int i = 0; i < N; i++) o[i] = (float)(i % 2 ? 2.0 : -2.0); /* RMS 2 */
    memcpy(w, o, N * sizeof *w);
    eco_mutate_tensor(w, N, 0.05, 3, 4); /* σ = 0.1 */
    double s = 0, s2 = 0;
    for (int i = 0; i < N; i++) {
        double e = (double)w[i] - o[i];
        s += e;
        s2 += e * e;
    }
    double mean = s / N, sd = sqrt(s2 / N - mean * mean);
    printf("mutate: noise mean %.5f, sd %.5f (want 0, 0.1)\n", mean, sd);
    assert_true(fabs(mean) <= 5 * 0.1 / sqrt(N));
    assert_true(fabs(sd - 0.1) <= 0.005); /* sd of the sample sd ≈ 0.1/√(2N) = 3e-4 */
    /* σ 0: unchanged; same seed: same bytes */
    memcpy(w, o, N * sizeof *w);
    eco_mutate_tensor(w, N, 0, 3, 4);
    assert_memory_equal(w, o, N * sizeof *w);
    free(w);
    free(o);
}

static void test_prune(void **state) {
    (void)state;
    float w[6] = {0.5f, -3, 2, 0.1f, -1, 4};
    assert_int_equal(eco_prune_magnitude(w, NULL, 6, 0.5), 3); /* keeps 4, −3, 2 */
    assert_exact(w, (double[]){0, -3, 2, 0, 0, 4}, 6);
    const float base[6] = {1, 1, 1, 1, 1, 1};
    float v[6] = {1.5f, -3, 2, 1.1f, 1, 4}; /* deltas 0.5, −4, 1, 0.1, 0, 3 */
    assert_int_equal(eco_prune_magnitude(v, base, 6, 1.0 / 3), 4); /* keeps −3 and 4 */
    assert_exact(v, (double[]){1, -3, 1, 1, 1, 4}, 6);
    float u[3] = {1, 2, 3};
    assert_int_equal(eco_prune_magnitude(u, NULL, 3, 1), 0);
    assert_int_equal(eco_prune_magnitude(u, NULL, 3, 0), 3);
    assert_exact(u, (double[]){0, 0, 0}, 3);
}

static void test_crossover_and_draws(void **state) {
    (void)state;
    int count[3] = {0};
    for (uint64_t s = 0; s < 3000; s++) {
        int k = eco_crossover_pick(s, eco_merge_stream("model.layers.0.mlp.up_proj.weight"), 3);
        assert_true(k >= 0 && k < 3);
        count[k]++;
    }
    for (int k = 0; k < 3; k++) assert_true(abs(count[k] - 1000) <= 5 * 26); /* √(3000·2/9) */
    assert_int_equal(eco_crossover_pick(1, 2, 1), 0);
    assert_true(eco_merge_stream("a") != eco_merge_stream("b"));
    assert_true(eco_merge_stream("a") == eco_merge_stream("a"));
    assert_true(eco_merge_substream(5, 0) != eco_merge_substream(5, 1));
    double u = eco_merge_uniform(1, 2, 3);
    assert_true(u >= 0 && u < 1 && u == eco_merge_uniform(1, 2, 3));
    assert_true(u != eco_merge_uniform(1, 2, 4));
}

/* ---- parameters ---------------------------------------------------------------------- */

static void test_params_check(void **state) {
    (void)state;
    eco_merge_params p = params(ECO_MERGE_METHOD_TIES, 2, NULL);
    ECO_ASSERT_OK(eco_merge_params_check(&p));
    assert_true(eco_merge_params_normalize(&p));
    p.n_parents = 0;
    ECO_ASSERT_STATUS(eco_merge_params_check(&p), ECO_STATUS_EINVAL);
    assert_msg_has("weights");
    p.n_parents = 2;
    p.weight[1] = NAN;
    ECO_ASSERT_STATUS(eco_merge_params_check(&p), ECO_STATUS_EINVAL);
    assert_msg_has("weights[1]");
    p.weight[1] = 1;
    p.density[0] = 1.5;
    ECO_ASSERT_STATUS(eco_merge_params_check(&p), ECO_STATUS_EINVAL);
    assert_msg_has("density[0]");
    p.density[0] = 1;
    p.gamma = 1;
    ECO_ASSERT_STATUS(eco_merge_params_check(&p), ECO_STATUS_EINVAL);
    assert_msg_has("gamma");
    p.gamma = 0.01;
    p.t[0] = 2;
    p.n_t = 1;
    ECO_ASSERT_STATUS(eco_merge_params_check(&p), ECO_STATUS_EINVAL);
    assert_msg_has("t[0]");
    eco_merge_params s = params(ECO_MERGE_METHOD_SLERP, 3, NULL);
    ECO_ASSERT_STATUS(eco_merge_params_check(&s), ECO_STATUS_EINVAL);
    assert_msg_has("exactly 2");
    s.n_parents = 2;
    s.n_t = 0;
    ECO_ASSERT_STATUS(eco_merge_params_check(&s), ECO_STATUS_EINVAL);
    assert_msg_has("t:");
    /* defaults */
    eco_merge_params d;
    eco_merge_params_init(&d, ECO_MERGE_METHOD_DELLA);
    assert_true(d.density[5] == 1 && d.lambda == 1 && d.gamma == 0.01 && d.epsilon == 0.15);
    assert_int_equal(d.normalize, -1);
    assert_true(eco_merge_params_normalize(&d));
    d.method = ECO_MERGE_METHOD_DARE_TIES;
    assert_false(eco_merge_params_normalize(&d));
    d.normalize = 1;
    assert_true(eco_merge_params_normalize(&d));
}

static void test_params_json(void **state) {
    (void)state;
    eco_merge_params p = params(ECO_MERGE_METHOD_DELLA, 3, (double[]){0.5, -0.25, 1.0 / 3});
    p.density[0] = 0.4;
    p.density[1] = 0.6;
    p.density[2] = 0.5;
    p.lambda = 1.1;
    p.epsilon = 0.1;
    p.gamma = 0.02;
    p.election = ECO_MERGE_ELECTION_COUNT;
    p.rescale = ECO_MERGE_RESCALE_L1;
    p.n_t = 2;
    p.t[0] = 0.25;
    p.t[1] = 0.75;
    p.seed = 123456789012345ULL;
    json_t *j = NULL;
    ECO_ASSERT_OK(eco_merge_params_to_json(&p, &j));
    char *text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    printf("%s\n", text);
    eco_merge_params q;
    ECO_ASSERT_OK(eco_merge_params_from_json(j, "lineage.json", &q));
    p.normalize = 1; /* recorded resolved */
    assert_int_equal(q.method, p.method);
    assert_int_equal(q.n_parents, 3);
    for (int m = 0; m < 3; m++) {
        assert_true(q.weight[m] == p.weight[m]);
        assert_true(q.density[m] == p.density[m]);
    }
    assert_true(q.lambda == p.lambda && q.gamma == p.gamma && q.epsilon == p.epsilon);
    assert_int_equal(q.election, p.election);
    assert_int_equal(q.rescale, p.rescale);
    assert_int_equal(q.normalize, 1);
    assert_int_equal(q.n_t, 2);
    assert_true(q.t[0] == 0.25 && q.t[1] == 0.75);
    assert_true(q.seed == p.seed);
    json_t *j2 = NULL;
    ECO_ASSERT_OK(eco_merge_params_to_json(&q, &j2));
    assert_true(json_equal(j, j2));
    json_decref(j2);
    free(text);
    json_decref(j);

    /* minimal documents; slerp needs no weights; a number density applies to all */
    static const char *const ok[] = {
        "{\"method\": \"linear\", \"weights\": [1, 2]}",
        "{\"method\": \"slerp\", \"t\": 0.3}",
        "{\"method\": \"ties\", \"weights\": [1, 1], \"density\": 0.5, \"normalize\": null}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        json_t *v = json_loads(ok[i], 0, NULL);
        assert_non_null(v);
        ECO_ASSERT_OK(eco_merge_params_from_json(v, "recipe.json", &q));
        json_decref(v);
    }
    assert_int_equal(q.n_parents, 2);
    assert_true(q.density[1] == 0.5);
    assert_int_equal(q.normalize, -1);

    typedef struct {
        const char *text, *msg;
    } bad_case;
    static const bad_case bad[] = {
        {"{\"method\": \"ties\", \"weights\": [1], \"densty\": 0.5}",
         "recipe.json: unknown field 'densty'"},
        {"{\"method\": \"ties\", \"weights\": [1], \"lambda\": \"big\"}",
         "recipe.json: lambda: expected a number"},
        {"{\"method\": \"ties\", \"weights\": [1, 1], \"density\": [0.5, 1.5]}",
         "recipe.json: density[1]: 1.5 outside [0, 1]"},
        {"{\"method\": \"ties\", \"weights\": [1, 1], \"density\": [0.5]}",
         "recipe.json: density: 1 values for 2 parents"},
        {"{\"method\": \"ties\"}", "recipe.json: weights: missing"},
        {"{\"method\": \"soup\", \"weights\": [1]}", "recipe.json: method: 'soup' is not"},
        {"{\"method\": \"ties\", \"weights\": [1], \"election\": \"peft\"}",
         "recipe.json: election: 'peft' is not sum or count"},
        {"{\"method\": \"ties\", \"weights\": [1], \"seed\": -1}", "recipe.json: seed:"},
        {"{\"method\": \"ties\", \"weights\": [1], \"normalize\": 1}",
         "recipe.json: normalize: expected"},
        {"{\"method\": \"della\", \"weights\": [1], \"density\": 0.1}",
         "recipe.json: density[0]: della needs density ± epsilon inside (0, 1)"},
        {"{\"method\": \"slerp\", \"weights\": [1, 1]}", "recipe.json: t: slerp needs"},
        {"[1]", "recipe.json: expected an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *v = json_loads(bad[i].text, 0, NULL);
        assert_non_null(v);
        ECO_ASSERT_STATUS(eco_merge_params_from_json(v, "recipe.json", &q), ECO_STATUS_EFORMAT);
        if (strncmp(eco_last_error(), bad[i].msg, strlen(bad[i].msg)) != 0) {
            print_error("%s: message '%s', want '%s...'\n", bad[i].text, eco_last_error(),
                        bad[i].msg);
            fail();
        }
        json_decref(v);
    }
}

static void test_bad_calls(void **state) {
    (void)state;
    const float x[2] = {1, 2};
    const float *par[2] = {x, NULL};
    float out[2];
    eco_merge_params p = params(ECO_MERGE_METHOD_LINEAR, 2, NULL);
    ECO_ASSERT_STATUS(eco_merge_tensor(out, NULL, par, 1, 2, &p, 0, 0, NULL, NULL),
                      ECO_STATUS_EINVAL);
    par[1] = x;
    ECO_ASSERT_STATUS(eco_merge_tensor(out, NULL, par, -1, 2, &p, 0, 0, NULL, NULL),
                      ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_merge_tensor(out, NULL, par, INT64_MAX / 2, 4, &p, 0, 0, NULL, NULL),
                      ECO_STATUS_EOVERFLOW);
    ECO_ASSERT_OK(eco_merge_tensor(out, NULL, par, 0, 2, &p, 0, 0, NULL, NULL)); /* empty */
}

/* ---- the numpy fixture (scripts/make_merge_fixtures.py) --------------------------------- */

static float *json_floats(const json_t *a, size_t want) {
    assert_true(json_is_array(a));
    assert_int_equal(json_array_size(a), want);
    float *v = malloc(want * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < want; i++) v[i] = (float)json_number_value(json_array_get(a, i));
    return v;
}

/* Every case of tests/fixtures/merge/cases.json: the parameters read by from_json, the
 * random keeps given as masks; within 1e-6·max(1, |x|) of numpy's float64 reference (the
 * sums over parents and the L1 norms are summed in other orders there). */
static void test_fixture(void **state) {
    (void)state;
    char *path = eco_test_source_path("tests/fixtures/merge/cases.json");
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) {
        print_error("%s: %s\n", path, err.text);
        fail();
    }
    const json_t *cases = json_object_get(root, "cases");
    assert_true(json_array_size(cases) >= 10);
    double worst_all = 0;
    for (size_t c = 0; c < json_array_size(cases); c++) {
        const json_t *k = json_array_get(cases, c);
        const char *name = json_string_value(json_object_get(k, "name"));
        eco_merge_params p;
        ECO_ASSERT_OK(eco_merge_params_from_json(json_object_get(k, "params"), name, &p));
        int64_t rows = json_integer_value(json_object_get(k, "rows"));
        int64_t cols = json_integer_value(json_object_get(k, "cols"));
        size_t n = (size_t)(rows * cols);
        const json_t *jb = json_object_get(k, "base"), *jp = json_object_get(k, "parents");
        const json_t *jm = json_object_get(k, "masks");
        assert_int_equal(json_array_size(jp), (size_t)p.n_parents);
        float *base = json_is_array(jb) ? json_floats(jb, n) : NULL;
        float *par[ECO_MERGE_MAX_PARENTS];
        uint8_t *mask[ECO_MERGE_MAX_PARENTS];
        for (int m = 0; m < p.n_parents; m++) {
            par[m] = json_floats(json_array_get(jp, (size_t)m), n);
            mask[m] = NULL;
            if (json_is_array(jm)) {
                mask[m] = malloc(n);
                assert_non_null(mask[m]);
                const json_t *mm = json_array_get(jm, (size_t)m);
                for (size_t i = 0; i < n; i++)
                    mask[m][i] = (uint8_t)json_integer_value(json_array_get(mm, i));
            }
        }
        float *want = json_floats(json_object_get(k, "expected"), n);
        float *out = malloc(n * sizeof *out);
        assert_non_null(out);
        double t = json_is_number(json_object_get(k, "t"))
                       ? json_number_value(json_object_get(k, "t"))
                       : 0.0;
        ECO_ASSERT_OK(eco_merge_tensor(
            out, base, (const float *const *)par, rows, cols, &p, t, eco_merge_stream(name),
            json_is_array(jm) ? (const uint8_t *const *)mask : NULL, NULL));
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double e = fabs((double)out[i] - want[i]) / fmax(1.0, fabs(want[i]));
            if (e > worst) worst = e;
        }
        printf("fixture %-20s largest relative difference %.3g\n", name, worst);
        if (!(worst <= 1e-6)) {
            print_error("fixture %s: %g over 1e-6\n", name, worst);
            fail();
        }
        if (worst > worst_all) worst_all = worst;
        for (int m = 0; m < p.n_parents; m++) {
            free(par[m]);
            free(mask[m]);
        }
        free(base);
        free(want);
        free(out);
    }
    printf("fixture: %zu cases, largest relative difference %.3g (tolerance 1e-6)\n",
           json_array_size(cases), worst_all);
    json_decref(root);
    free(path);
}

/* Fills x[n] with small random values, one entry in 11 a special one (±0, subnormals, huge,
 * ±∞, NaN). */
static void fill_special(float *x, int64_t n, uint64_t *state) {
    static const float special[] = {0.0f,   -0.0f,   1e-40f,   -3e-39f,   1e30f,
                                    -1e38f, 3.4e38f, INFINITY, -INFINITY, NAN};
    for (int64_t i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(*state >> 11) / 9007199254740992.0 - 0.5;
        x[i] = i % 11 == 3 ? special[(*state >> 7) % 10] : (float)(u * 0.04);
    }
}

/* Bytes equal, except that any NaN matches any NaN: when two NaNs meet (an input NaN and the
 * default NaN of ∞ − ∞), x86 keeps the first operand's, and the compiler may commute an
 * addition at one optimisation level and not at another (the Debug build's scalar reference
 * gave 0x7fc00000 where the vector span gave 0xffc00000). */
static void assert_same_bytes(const char *what, const float *got, const float *want, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&got[i], &want[i], sizeof got[i]) != 0 && !(isnan(got[i]) && isnan(want[i]))) {
            print_error("%s: entry %lld: got %.9g (0x%08x), want %.9g (0x%08x)\n", what,
                        (long long)i, got[i], *(const uint32_t *)(const void *)&got[i], want[i],
                        *(const uint32_t *)(const void *)&want[i]);
            fail();
        }
}

/* The spans' dispatchers (AVX2 where the CPU has it) give their scalar references' bytes and
 * counts: combine for every method of the task-vector family, with and without θ₀,
 * normalising or not, both elections; dare's draws at several densities and offsets,
 * inverse or not; the magnitude cut with every kind of cut (none, all, a threshold with an
 * index limit inside, before and after the span). Odd lengths and offsets: the tails. Each
 * kernel the CPU has: AVX2, and AVX-512 where there is one. */
static void test_spans_match_ref(void **state) {
    (void)state;
    const int64_t n = 1000 + 7;
    float *par[4], *got = malloc((size_t)n * sizeof *got), *want = malloc((size_t)n * sizeof *want);
    assert_non_null(got);
    assert_non_null(want);
    uint64_t x = 99;
    for (int m = 0; m < 4; m++) {
        par[m] = malloc((size_t)n * sizeof *par[m]);
        assert_non_null(par[m]);
        fill_special(par[m], n, &x);
    }
    par[1][20] = 0.01f; /* equal keys for the cut's threshold */
    par[1][21] = -0.01f;
    par[1][30] = 0.01f;
    const float *base = par[3];
    static const eco_merge_method methods[] = {
        ECO_MERGE_METHOD_TIES, ECO_MERGE_METHOD_DARE_TIES, ECO_MERGE_METHOD_TASK_ARITHMETIC,
        ECO_MERGE_METHOD_DARE_LINEAR, ECO_MERGE_METHOD_DELLA};
    const double weights[][3] = {{1.0 / 3, 1.0 / 3, 1.0 / 3}, {0.7, -0.2, 1e-3}, {1, 1, -2}};
    int64_t checked = 0;
    for (int cap = 1; cap <= 2; cap++) { /* AVX2, then AVX-512 where the CPU has them */
        eco_merge__set_simd_cap(cap);
        for (size_t mi = 0; mi < sizeof methods / sizeof *methods; mi++)
            for (int np = 1; np <= 3; np++)
                for (int wi = 0; wi < 3; wi++)
                    for (int v = 0; v < 8; v++) {
                        eco_merge_params p = params(methods[mi], np, weights[wi]);
                        p.normalize = v & 1 ? 0 : 1;
                        p.election = v & 2 ? ECO_MERGE_ELECTION_COUNT : ECO_MERGE_ELECTION_SUM;
                        p.lambda = v & 4 ? 0.75 : 1.0;
                        bool minus[3] = {v & 1, true, false};
                        const float *src[3] = {par[0], par[1], par[2]};
                        for (int with_base = 0; with_base < 2; with_base++) {
                            const float *b = with_base ? base : NULL;
                            bool mb[3];
                            for (int m = 0; m < 3; m++) mb[m] = minus[m] && b;
                            eco_merge__combine_span_ref(want, b, src, mb, &p, 3, n);
                            eco_merge__combine_span(got, b, src, mb, &p, 3, n);
                            assert_same_bytes("combine", got + 3, want + 3, n - 3);
                            checked += n - 3;
                        }
                    }
        static const double densities[] = {0.5, 0.1, 0.9, 1e-9, 0.999999999};
        for (size_t di = 0; di < sizeof densities / sizeof *densities; di++)
            for (int v = 0; v < 4; v++) {
                const float *b = v & 1 ? base : NULL;
                bool inverse = v & 2;
                int64_t at = (int64_t)di * 1000003 + 5;
                int64_t k1 = eco_merge__dare_span_ref(want, par[0], b, n, 0x1234567 + di, at,
                                                      densities[di], inverse);
                int64_t k2 = eco_merge__dare_span(got, par[0], b, n, 0x1234567 + di, at,
                                                  densities[di], inverse);
                assert_int_equal(k1, k2);
                assert_same_bytes("dare", got, want, n);
                checked += n;
            }
        /* cuts over a tensor of 5000 entries whose span is [at, at + n) */
        uint32_t key20 = eco_merge__abs_key(par[1][20] - base[20]);
        const eco_merge_cut cuts[] = {
            {.k = 0, .n = 5000, .thr = 0, .last = 5000},
            {.k = 5000, .n = 5000, .thr = 0, .last = 5000},
            {.k = 100, .n = 5000, .thr = key20, .last = 1000 + 21},
            {.k = 100, .n = 5000, .thr = key20, .last = 1000 + 25},
            {.k = 100, .n = 5000, .thr = key20, .last = 999},
            {.k = 100, .n = 5000, .thr = 0x3c000000u, .last = 5000},
            {.k = 100, .n = 5000, .thr = 0x3c000000u, .last = 1000 + 500},
        };
        const int nc = (int)(sizeof cuts / sizeof *cuts);
        for (int i = 0; i < nc; i++)
            for (int j = 0; j < nc; j++)
                for (int with_base = 0; with_base < 2; with_base++) {
                    const float *b = with_base ? base : NULL;
                    int64_t k1 =
                        eco_merge__cut_span_ref(want, par[1], b, n, &cuts[i], &cuts[j], 1000);
                    int64_t k2 = eco_merge__cut_span(got, par[1], b, n, &cuts[i], &cuts[j], 1000);
                    assert_int_equal(k1, k2);
                    assert_same_bytes("cut", got, want, n);
                    checked += n;
                }
    }
    eco_merge__set_simd_cap(2);
    printf("spans: %lld entries, the same bytes as the scalar references\n", (long long)checked);
    for (int m = 0; m < 4; m++) free(par[m]);
    free(got);
    free(want);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear),
        cmocka_unit_test(test_linear_exact),
        cmocka_unit_test(test_spans_match_ref),
        cmocka_unit_test(test_task_arithmetic),
        cmocka_unit_test(test_ties),
        cmocka_unit_test(test_ties_election),
        cmocka_unit_test(test_breadcrumbs),
        cmocka_unit_test(test_magnitude),
        cmocka_unit_test(test_della_check),
        cmocka_unit_test(test_della_fixed_mask),
        cmocka_unit_test(test_dare_fixed_mask),
        cmocka_unit_test(test_slerp),
        cmocka_unit_test(test_slerp_t),
        cmocka_unit_test(test_identities),
        cmocka_unit_test(test_dare_statistics),
        cmocka_unit_test(test_dare_draws),
        cmocka_unit_test(test_dare_unbiased),
        cmocka_unit_test(test_della_statistics),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_cuts_multi),
        cmocka_unit_test(test_rows_equal_whole),
        cmocka_unit_test(test_mutate),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_crossover_and_draws),
        cmocka_unit_test(test_params_check),
        cmocka_unit_test(test_params_json),
        cmocka_unit_test(test_bad_calls),
        cmocka_unit_test(test_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
