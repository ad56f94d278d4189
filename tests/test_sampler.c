/* sampler: greedy, temperature, top-k, top-p, seeds, log-probabilities. */
#include "test_util.h"

#include <math.h>
#include <string.h>

#include "ecology/sampler.h"

static eco_sampler make(float t, int k, float p, uint64_t seed, int64_t vocab) {
    eco_sampler s;
    eco_sampler_params sp = {t, k, p, seed};
    ECO_ASSERT_OK(eco_sampler_init(&s, &sp, vocab));
    return s;
}

/* logits whose softmax is exactly probs (log of probs). */
static void logits_of(float *logits, const double *probs, int n) {
    for (int i = 0; i < n; i++) logits[i] = (float)log(probs[i]);
}

static void test_greedy_and_logprob(void **state) {
    (void)state;
    float logits[5] = {0.5f, 2.0f, -1.0f, 2.0f, 1.0f};
    eco_sampler s = make(0, 0, 1, 1, 5);
    float lp;
    assert_int_equal(eco_sampler_sample(&s, logits, &lp), 1); /* first of the tied maxima */
    double z = 0;
    for (int i = 0; i < 5; i++) z += exp(logits[i]);
    assert_true(fabs(lp - (2.0 - log(z))) < 1e-6);
    eco_sampler_free(&s);
}

static void test_invalid_params(void **state) {
    (void)state;
    eco_sampler s;
    eco_sampler_params bad[] = {
        {-1, 0, 1, 0}, {1, -1, 1, 0}, {1, 0, 0, 0}, {1, 0, 1.5f, 0}, {NAN, 0, 1, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ECO_ASSERT_STATUS(eco_sampler_init(&s, &bad[i], 10), ECO_STATUS_EINVAL);
    eco_sampler_params ok = {1, 0, 1, 0};
    ECO_ASSERT_STATUS(eco_sampler_init(&s, &ok, 0), ECO_STATUS_EINVAL);
}

/* Draws n tokens and checks the frequencies against want[] within 4 standard errors. */
static void check_frequencies(eco_sampler *s, const float *logits, const double *want, int vocab,
                              int n) {
    int counts[16] = {0};
    for (int i = 0; i < n; i++) {
        int t = eco_sampler_sample(s, logits, NULL);
        assert_true(t >= 0 && t < vocab);
        counts[t]++;
    }
    for (int i = 0; i < vocab; i++) {
        double f = (double)counts[i] / n;
        double se = sqrt(want[i] * (1 - want[i]) / n) + 1e-12;
        if (want[i] == 0) {
            if (counts[i] != 0) {
                print_error("token %d drawn %d times, want never\n", i, counts[i]);
                fail();
            }
        } else if (fabs(f - want[i]) > 4 * se) {
            print_error("token %d: frequency %.4f, want %.4f (4 se = %.4f)\n", i, f, want[i],
                        4 * se);
            fail();
        }
    }
}

static void test_temperature_one_matches_softmax(void **state) {
    (void)state;
    const double p[4] = {0.5, 0.3, 0.15, 0.05};
    float logits[4];
    logits_of(logits, p, 4);
    eco_sampler s = make(1, 0, 1, 123, 4);
    check_frequencies(&s, logits, p, 4, 100000);
    eco_sampler_free(&s);
}

static void test_temperature_two(void **state) {
    (void)state;
    const double p[4] = {0.5, 0.3, 0.15, 0.05};
    float logits[4];
    logits_of(logits, p, 4);
    double want[4], z = 0;
    for (int i = 0; i < 4; i++) z += sqrt(p[i]);
    for (int i = 0; i < 4; i++) want[i] = sqrt(p[i]) / z; /* softmax(log p / 2) */
    eco_sampler s = make(2, 0, 1, 9, 4);
    check_frequencies(&s, logits, want, 4, 100000);
    eco_sampler_free(&s);
}

static void test_top_k(void **state) {
    (void)state;
    const double p[5] = {0.1, 0.4, 0.05, 0.3, 0.15};
    float logits[5];
    logits_of(logits, p, 5);
    const double want[5] = {0, 0.4 / 0.7, 0, 0.3 / 0.7, 0};
    eco_sampler s = make(1, 2, 1, 5, 5);
    check_frequencies(&s, logits, want, 5, 50000);
    eco_sampler_free(&s);
    /* top-k 1 is greedy */
    s = make(1.5f, 1, 1, 5, 5);
    for (int i = 0; i < 100; i++) assert_int_equal(eco_sampler_sample(&s, logits, NULL), 1);
    eco_sampler_free(&s);
}

static void test_top_p(void **state) {
    (void)state;
    const double p[4] = {0.15, 0.5, 0.05, 0.3};
    float logits[4];
    logits_of(logits, p, 4);
    /* sorted: 0.5, 0.3 (0.8 >= 0.7: stop) */
    const double want[4] = {0, 0.5 / 0.8, 0, 0.3 / 0.8};
    eco_sampler s = make(1, 0, 0.7f, 77, 4);
    check_frequencies(&s, logits, want, 4, 50000);
    eco_sampler_free(&s);
    /* top-k then top-p on the renormalised k: k=3 keeps 0.5,0.3,0.15 (0.95); p=0.5 → 0.5/0.95 >= 0.5 */
    const double want2[4] = {0, 1, 0, 0};
    s = make(1, 3, 0.5f, 77, 4);
    check_frequencies(&s, logits, want2, 4, 1000);
    eco_sampler_free(&s);
}

static void test_seed_reproducible(void **state) {
    (void)state;
    enum { V = 1000 };
    static float logits[V];
    eco_rng r;
    eco_rng_seed(&r, 3);
    for (int i = 0; i < V; i++) logits[i] = (float)eco_rng_normal(&r) * 2;
    int a[200], b[200], c[200];
    eco_sampler s1 = make(0.9f, 50, 0.9f, 42, V), s2 = make(0.9f, 50, 0.9f, 42, V),
                s3 = make(0.9f, 50, 0.9f, 43, V);
    int differ = 0;
    for (int i = 0; i < 200; i++) {
        a[i] = eco_sampler_sample(&s1, logits, NULL);
        b[i] = eco_sampler_sample(&s2, logits, NULL);
        c[i] = eco_sampler_sample(&s3, logits, NULL);
        differ += a[i] != c[i];
    }
    assert_memory_equal(a, b, sizeof a);
    assert_true(differ > 0);
    eco_sampler_free(&s1);
    eco_sampler_free(&s2);
    eco_sampler_free(&s3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_and_logprob),
        cmocka_unit_test(test_invalid_params),
        cmocka_unit_test(test_temperature_one_matches_softmax),
        cmocka_unit_test(test_temperature_two),
        cmocka_unit_test(test_top_k),
        cmocka_unit_test(test_top_p),
        cmocka_unit_test(test_seed_reproducible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
