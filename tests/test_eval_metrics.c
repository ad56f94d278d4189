/*
 * The evaluator's metrics (include/ecology/eval_metrics.h): each against hand-computed
 * values on small fixed sets (worked in the comments), against an independent numpy
 * reference (tests/fixtures/eval_metrics/reference.json, scripts/make_eval_metrics_fixture.py:
 * HELM's ece_10_bin binning re-derived, numpy's inverted_cdf percentiles; tolerance 1e-12,
 * the largest difference printed), the edge cases (n = 0, all equal confidences,
 * confidences 0 and 1, NaN refused), and the perturbations' determinism, UTF-8 safety
 * and pinned outputs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "test_util.h"

#include "ecology/eval_metrics.h"

/* test_perturb_pinned: seed 20261207, case 5, "Reverse the letters of the word: whale". */
#define PINNED_TYPO  "Reverse the letterss oof the word: whle"
#define PINNED_CASE  "ReVeRSe the leTTeRs of THe woRd: WhAlE"
#define PINNED_SPACE "Reverse the  letters of the word: whale"
#define PINNED_PREFIX                                                                              \
    "The train left the station a little late. Reverse the letters of the word: whale"

#define TOL 1e-12

static void near(double got, double want, double tol, const char *what) {
    if (!(fabs(got - want) <= tol)) {
        print_error("%s: got %.17g, want %.17g (tolerance %g)\n", what, got, want, tol);
        fail();
    }
}

/* ---- Wilson ------------------------------------------------------------------------- */

static void test_wilson(void **state) {
    (void)state;
    eco_rate r;
    /* n = 0: rate 0, [0, 1]. */
    ECO_ASSERT_OK(eco_rate_wilson(0, 0, &r));
    assert_true(r.rate == 0 && r.lo == 0 && r.hi == 1);
    /* 7 of 10: p = 0.7, z²/n = 0.38414588, d = 1.38414588, centre = (0.7 + 0.19207294)/d =
     * 0.64449344, half = (z/d)·sqrt(0.021 + 0.00960365) = 1.41601101·0.17494184 = 0.24771529:
     * [0.39677815, 0.89220873] (the interval usually quoted for 7/10: 0.3968–0.8922). */
    ECO_ASSERT_OK(eco_rate_wilson(7, 10, &r));
    near(r.rate, 0.7, 0, "7/10 rate");
    near(r.lo, 0.39677815, 1e-8, "7/10 lo");
    near(r.hi, 0.89220873, 1e-8, "7/10 hi");
    /* 0 of 10 and 10 of 10: exact ends; hi of 0/10 = (z²/n) / (1 + z²/n) = 0.2775328. */
    ECO_ASSERT_OK(eco_rate_wilson(0, 10, &r));
    assert_true(r.lo == 0);
    near(r.hi, 0.27753280, 1e-8, "0/10 hi");
    ECO_ASSERT_OK(eco_rate_wilson(10, 10, &r));
    assert_true(r.hi == 1);
    near(r.lo, 1 - 0.27753280, 1e-8, "10/10 lo");
    ECO_ASSERT_STATUS(eco_rate_wilson(3, 2, &r), ECO_STATUS_EINVAL);
}

/* ---- calibration by hand --------------------------------------------------------------- */

static void test_calibration_hand(void **state) {
    (void)state;
    eco_calibration c;
    /* Five answers, five equal-mass bins of one answer each: bounds (midpoints of the
     * sorted 0.1 0.3 0.55 0.75 0.9) 0.2 0.425 0.65 0.825 1.0; ECE = mean |c − y| =
     * (0.1 + 0.7 + 0.55 + 0.25 + 0.1)/5 = 0.34; equal width puts each in its own bin
     * too; Brier = (0.01 + 0.01 + 0.3025 + 0.49 + 0.0625)/5 = 0.175; top 10%: ceil(0.5) = 1
     * answer, the 0.9 one, correct. */
    const double c5[] = {0.9, 0.1, 0.55, 0.3, 0.75};
    const uint8_t y5[] = {1, 0, 0, 1, 1};
    ECO_ASSERT_OK(eco_calibration_compute(c5, y5, 5, &c));
    near(c.ece_em, 0.34, 1e-15, "five ece_em");
    near(c.ece_ew, 0.34, 1e-15, "five ece_ew");
    near(c.brier, 0.175, 1e-15, "five brier");
    assert_int_equal(c.n_top10, 1);
    near(c.acc_top10, 1.0, 0, "five acc_top10");
    near(c.accuracy, 0.6, 1e-15, "five accuracy");
    assert_true(c.small_n);

    /* All confidences equal: one bin. 0.8 everywhere, 1 of 4 right: ECE = |0.8 − 0.25| =
     * 0.55 for both binnings; the top 10% is 1 answer, the first by index (correct). */
    const double ce[] = {0.8, 0.8, 0.8, 0.8};
    const uint8_t ye[] = {1, 0, 0, 0};
    ECO_ASSERT_OK(eco_calibration_compute(ce, ye, 4, &c));
    near(c.ece_em, 0.55, 1e-15, "equal ece_em");
    near(c.ece_ew, 0.55, 1e-15, "equal ece_ew");
    near(c.acc_top10, 1.0, 0, "equal acc_top10 (ties in index order)");
    double b[ECO_CALIBRATION_BINS];
    size_t nb = 0;
    ECO_ASSERT_OK(eco_calibration_em_bounds(ce, 4, b, &nb));
    assert_int_equal(nb, 2); /* {0.8, 1.0}: the three midpoints 0.8 are one boundary */
    assert_true(b[0] == 0.8 && b[1] == 1.0);

    /* A confidence equal to a boundary falls in the lower bin: 0.2 0.2 0.4 0.4 gives bounds
     * 0.2, (0.2 + 0.4)/2, 0.4, 1.0; the 0.2s share bin 0, the 0.4s bin 2; right 1 0 0 0:
     * ECE = 0.5·|0.2 − 0.5| + 0.5·|0.4 − 0| = 0.35. */
    const double cb[] = {0.2, 0.4, 0.2, 0.4};
    const uint8_t yb[] = {1, 0, 0, 0};
    ECO_ASSERT_OK(eco_calibration_em_bounds(cb, 4, b, &nb));
    assert_int_equal(nb, 4);
    assert_true(b[0] == 0.2 && b[1] == (0.2 + 0.4) / 2.0 && b[2] == 0.4 && b[3] == 1.0);
    ECO_ASSERT_OK(eco_calibration_compute(cb, yb, 4, &c));
    near(c.ece_em, 0.35, 1e-15, "boundary ece_em");

    /* Where the side of the boundary matters (n = 12: the first two parts hold two): sorted
     * 0.1 0.1 | 0.1 0.15 | 0.3 | 0.4 | 0.5 | 0.6 | 0.7 | 0.8 | 0.9 | 0.95, boundary 0 =
     * (0.1 + 0.1)/2 = 0.1, boundary 1 = (0.15 + 0.3)/2. All three 0.1s (wrong) fall in bin 0
     * (c <= 0.1), the 0.15 (right) alone in bin 1; the rest (right) one a bin: ECE =
     * (3·0.1 + 0.85 + 0.7 + 0.6 + 0.5 + 0.4 + 0.3 + 0.2 + 0.1 + 0.05)/12 = 4/12. (Were a
     * boundary value put in the upper bin, 0.1 0.1 0.1 0.15 would share one: 3.4/12.) */
    const double c12[] = {0.95, 0.1, 0.3, 0.1, 0.4, 0.15, 0.5, 0.6, 0.1, 0.7, 0.8, 0.9};
    const uint8_t y12[] = {1, 0, 1, 0, 1, 1, 1, 1, 0, 1, 1, 1};
    ECO_ASSERT_OK(eco_calibration_compute(c12, y12, 12, &c));
    near(c.ece_em, 4.0 / 12, 1e-14, "boundary side ece_em");

    /* Confidences 0 and 1: bounds {0, 0.5, 1}; ECE = 0.5·|0 − 0.5| + 0.5·|1 − 0.5| = 0.5,
     * Brier = (0 + 0 + 1 + 1)/4 = 0.5; equal width: 0 in the first bin, 1 in the last. */
    const double c01[] = {0, 1, 0, 1};
    const uint8_t y01[] = {0, 1, 1, 0};
    ECO_ASSERT_OK(eco_calibration_compute(c01, y01, 4, &c));
    near(c.ece_em, 0.5, 1e-15, "0/1 ece_em");
    near(c.ece_ew, 0.5, 1e-15, "0/1 ece_ew");
    near(c.brier, 0.5, 1e-15, "0/1 brier");

    /* Equal mass and equal width differ: 0.05 0.15 0.25 0.35 0.45 0.55 0.65 0.75 0.85 0.95
     * 0.96 (n = 11, 10 parts: the first holds 2) all right. Equal width: bins of one
     * answer except (0.9, 1.0] with 0.95 and 0.96, ECE = mean(1 − c) = 0.4755 (Σc = 5.96,
     * 11 − 5.96 = 5.04 → 5.04/11); equal mass is the same here: every bin is all right, so
     * ECE = mean(1 − c) whatever the bins. Make one wrong (0.96) to split them: equal
     * width bin (0.9, 1]: |0.955 − 0.5|·2/11, equal mass puts 0.95 and 0.96 apart. */
    const double c11[] = {0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95, 0.96};
    uint8_t y11[11];
    for (int i = 0; i < 11; i++) y11[i] = 1;
    ECO_ASSERT_OK(eco_calibration_compute(c11, y11, 11, &c));
    near(c.ece_em, 5.04 / 11, 1e-14, "all right ece_em");
    near(c.ece_ew, 5.04 / 11, 1e-14, "all right ece_ew");
    assert_int_equal(c.n_top10, 2);
    y11[10] = 0;
    ECO_ASSERT_OK(eco_calibration_compute(c11, y11, 11, &c));
    /* equal width: nine bins of one answer (0.05 .. 0.85), then (0.9, 1] with 0.95, 0.96 */
    double ew = 0;
    for (int i = 0; i < 9; i++) ew += 1 - c11[i];
    ew = ew / 11 + (2.0 / 11) * fabs((0.95 + 0.96) / 2 - 0.5);
    near(c.ece_ew, ew, 1e-14, "one wrong ece_ew");
    /* equal mass: parts {0.05, 0.15} {0.25} ... {0.95} {0.96}: the first bin holds two. */
    double em = (2.0 / 11) * fabs(0.1 - 1);
    for (int i = 2; i < 10; i++) em += (1.0 / 11) * (1 - c11[i]);
    em += (1.0 / 11) * 0.96;
    near(c.ece_em, em, 1e-14, "one wrong ece_em");
    near(c.acc_top10, 0.5, 0, "one wrong acc_top10"); /* 0.96 (wrong) and 0.95 (right) */
}

static void test_calibration_edges(void **state) {
    (void)state;
    eco_calibration c;
    ECO_ASSERT_OK(eco_calibration_compute(NULL, NULL, 0, &c));
    assert_true(c.n == 0 && c.ece_em == 0 && c.ece_ew == 0 && c.brier == 0 && c.n_top10 == 0);
    assert_true(c.small_n);
    const double bad[] = {0.5, NAN};
    const uint8_t y[] = {1, 0, 1};
    ECO_ASSERT_STATUS(eco_calibration_compute(bad, y, 2, &c), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "confidence 1"));
    const double over[] = {1.5};
    ECO_ASSERT_STATUS(eco_calibration_compute(over, y, 1, &c), ECO_STATUS_EINVAL);
    const double neg[] = {-0.1};
    ECO_ASSERT_STATUS(eco_calibration_compute(neg, y, 1, &c), ECO_STATUS_EINVAL);
    const double ok[] = {0.5, 0.5};
    const uint8_t y2[] = {1, 2};
    ECO_ASSERT_STATUS(eco_calibration_compute(ok, y2, 2, &c), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "correct 1"));
    /* small_n flips at 300. */
    double *c300 = malloc(300 * sizeof *c300);
    uint8_t *y300 = calloc(300, 1);
    for (int i = 0; i < 300; i++) c300[i] = (i % 7) / 7.0;
    ECO_ASSERT_OK(eco_calibration_compute(c300, y300, 299, &c));
    assert_true(c.small_n);
    ECO_ASSERT_OK(eco_calibration_compute(c300, y300, 300, &c));
    assert_false(c.small_n);
    assert_int_equal(c.n_top10, 30);
    free(c300);
    free(y300);
}

/* ---- against numpy --------------------------------------------------------------------- */

static json_t *load_fixture(void) {
    return eco_test_load_json("tests/fixtures/eval_metrics/reference.json");
}

static void track(double got, double want, double *worst, const char *set, const char *what) {
    double d = fabs(got - want);
    if (!(d <= TOL)) {
        print_error("%s %s: got %.17g, numpy %.17g\n", set, what, got, want);
        fail();
    }
    if (d > *worst) *worst = d;
}

static void test_calibration_numpy(void **state) {
    (void)state;
    json_t *j = load_fixture();
    const json_t *sets = json_object_get(j, "calibration");
    assert_true(json_array_size(sets) >= 5);
    double worst = 0;
    for (size_t s = 0; s < json_array_size(sets); s++) {
        const json_t *e = json_array_get(sets, s);
        const char *name = json_string_value(json_object_get(e, "name"));
        size_t n, nbw;
        double *conf = eco_test_json_doubles(json_object_get(e, "conf"), &n);
        uint8_t *y = malloc(n);
        for (size_t i = 0; i < n; i++)
            y[i] = (uint8_t)json_integer_value(json_array_get(json_object_get(e, "correct"), i));
        eco_calibration c;
        ECO_ASSERT_OK(eco_calibration_compute(conf, y, n, &c));
        track(c.ece_em, json_number_value(json_object_get(e, "ece_em")), &worst, name, "ece_em");
        track(c.ece_ew, json_number_value(json_object_get(e, "ece_ew")), &worst, name, "ece_ew");
        track(c.brier, json_number_value(json_object_get(e, "brier")), &worst, name, "brier");
        track(c.accuracy, json_number_value(json_object_get(e, "accuracy")), &worst, name, "acc");
        track(c.mean_conf, json_number_value(json_object_get(e, "mean_conf")), &worst, name,
              "mean_conf");
        assert_int_equal(c.n_top10, json_integer_value(json_object_get(e, "n_top10")));
        track(c.acc_top10, json_number_value(json_object_get(e, "acc_top10")), &worst, name,
              "acc_top10");
        /* The bin boundaries are the same arithmetic: identical bits. */
        double *want = eco_test_json_doubles(json_object_get(e, "em_bounds"), &nbw),
               b[ECO_CALIBRATION_BINS];
        size_t nb = 0;
        ECO_ASSERT_OK(eco_calibration_em_bounds(conf, n, b, &nb));
        assert_int_equal(nb, nbw);
        for (size_t i = 0; i < nb; i++)
            if (b[i] != want[i]) {
                print_error("%s: bound %zu: %.17g, numpy %.17g\n", name, i, b[i], want[i]);
                fail();
            }
        free(want);
        free(conf);
        free(y);
    }
    printf("calibration vs numpy: %zu sets, largest difference %.3g (tolerance %g)\n",
           json_array_size(sets), worst, TOL);
    json_decref(j);
}

static void test_wilson_numpy(void **state) {
    (void)state;
    json_t *j = load_fixture();
    const json_t *w = json_object_get(j, "wilson");
    double worst = 0;
    for (size_t i = 0; i < json_array_size(w); i++) {
        const json_t *e = json_array_get(w, i);
        eco_rate r;
        ECO_ASSERT_OK(eco_rate_wilson((uint64_t)json_integer_value(json_object_get(e, "k")),
                                      (uint64_t)json_integer_value(json_object_get(e, "n")), &r));
        track(r.rate, json_number_value(json_object_get(e, "rate")), &worst, "wilson", "rate");
        track(r.lo, json_number_value(json_object_get(e, "lo")), &worst, "wilson", "lo");
        track(r.hi, json_number_value(json_object_get(e, "hi")), &worst, "wilson", "hi");
    }
    printf("wilson vs numpy: %zu cases, largest difference %.3g (tolerance %g)\n",
           json_array_size(w), worst, TOL);
    json_decref(j);
}

/* ---- percentiles ----------------------------------------------------------------------- */

static void test_percentiles(void **state) {
    (void)state;
    double v;
    const double four[] = {1, 2, 3, 4};
    ECO_ASSERT_OK(eco_percentile_nearest_rank(four, 4, 50, &v)); /* rank ceil(2) = 2 */
    assert_true(v == 2);
    ECO_ASSERT_OK(eco_percentile_nearest_rank(four, 4, 95, &v)); /* rank ceil(3.8) = 4 */
    assert_true(v == 4);
    double twenty[20], hundred[100];
    for (int i = 0; i < 20; i++) twenty[i] = i + 1;
    for (int i = 0; i < 100; i++) hundred[i] = i + 1;
    ECO_ASSERT_OK(eco_percentile_nearest_rank(twenty, 20, 95, &v)); /* rank 19 */
    assert_true(v == 19);
    ECO_ASSERT_OK(eco_percentile_nearest_rank(twenty, 20, 99, &v)); /* rank ceil(19.8) = 20 */
    assert_true(v == 20);
    ECO_ASSERT_OK(eco_percentile_nearest_rank(hundred, 100, 99, &v));
    assert_true(v == 99);
    ECO_ASSERT_OK(eco_percentile_nearest_rank(hundred, 100, 100, &v));
    assert_true(v == 100);
    ECO_ASSERT_OK(eco_percentile_nearest_rank(four, 1, 99, &v));
    assert_true(v == 1);
    ECO_ASSERT_STATUS(eco_percentile_nearest_rank(four, 0, 50, &v), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_percentile_nearest_rank(four, 4, 0, &v), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_percentile_nearest_rank(four, 4, 101, &v), ECO_STATUS_EINVAL);

    eco_latency l;
    const double lat[] = {30, 10, 20, 40, 1000}; /* unsorted in */
    ECO_ASSERT_OK(eco_latency_compute(lat, 5, &l));
    assert_true(l.p50 == 30 && l.p95 == 1000 && l.p99 == 1000 && l.min == 10 && l.max == 1000);
    near(l.mean, 220, 1e-12, "mean");
    assert_true(lat[0] == 30); /* not modified */
    ECO_ASSERT_OK(eco_latency_compute(NULL, 0, &l));
    assert_true(l.n == 0 && l.p50 == 0 && l.p99 == 0);
    const double nan_lat[] = {1, NAN};
    ECO_ASSERT_STATUS(eco_latency_compute(nan_lat, 2, &l), ECO_STATUS_EINVAL);

    json_t *j = load_fixture();
    const json_t *sets = json_object_get(j, "latency");
    for (size_t s = 0; s < json_array_size(sets); s++) {
        const json_t *e = json_array_get(sets, s);
        size_t n;
        double *vals = eco_test_json_doubles(json_object_get(e, "values"), &n);
        ECO_ASSERT_OK(eco_latency_compute(vals, n, &l));
        /* nearest rank picks a value: identical bits */
        if (l.p50 != json_number_value(json_object_get(e, "p50")) ||
            l.p95 != json_number_value(json_object_get(e, "p95")) ||
            l.p99 != json_number_value(json_object_get(e, "p99"))) {
            print_error("latency n=%zu: %g %g %g, numpy %g %g %g\n", n, l.p50, l.p95, l.p99,
                        json_number_value(json_object_get(e, "p50")),
                        json_number_value(json_object_get(e, "p95")),
                        json_number_value(json_object_get(e, "p99")));
            fail();
        }
        free(vals);
    }
    printf("percentiles vs numpy (inverted_cdf): %zu sets identical\n", json_array_size(sets));
    json_decref(j);
}

/* ---- perturbations --------------------------------------------------------------------- */

static char *perturb(eco_perturb_kind k, uint64_t seed, uint64_t idx, const char *p,
                     const eco_perturb_opts *o) {
    eco_buf b = {0};
    ECO_ASSERT_OK(eco_perturb(k, seed, idx, p, strlen(p), o, &b));
    char *s = b.data ? b.data : strdup("");
    return s;
}

static void strip(char *s, char c) {
    char *w = s;
    for (char *r = s; *r; r++)
        if (*r != c) *w++ = *r;
    *w = 0;
}

static void test_perturb(void **state) {
    (void)state;
    const char *p = "Reverse the word café — naïve 日本語 whale, then stop.";
    for (int k = 0; k < ECO_PERTURB__COUNT; k++) {
        for (uint64_t idx = 0; idx < 200; idx++) {
            char *a = perturb((eco_perturb_kind)k, 42, idx, p, NULL);
            char *b = perturb((eco_perturb_kind)k, 42, idx, p, NULL);
            assert_string_equal(a, b); /* deterministic */
            assert_int_equal(eco_utf8_valid_prefix(a, strlen(a)), strlen(a));
            assert_true(strcmp(a, p) != 0 || k == ECO_PERTURB_TYPO); /* see "ee" in the header */
            /* the non-ASCII text survives whole */
            assert_non_null(strstr(a, "日本語"));
            if (k == ECO_PERTURB_CASE) {
                char *la = strdup(a), *lp = strdup(p);
                for (char *q = la; *q; q++) *q = (char)(*q >= 'A' && *q <= 'Z' ? *q | 0x20 : *q);
                for (char *q = lp; *q; q++) *q = (char)(*q >= 'A' && *q <= 'Z' ? *q | 0x20 : *q);
                assert_string_equal(la, lp);
                free(la);
                free(lp);
            }
            if (k == ECO_PERTURB_SPACE) {
                char *sa = strdup(a), *sp = strdup(p);
                strip(sa, ' ');
                strip(sp, ' ');
                assert_string_equal(sa, sp);
                free(sa);
                free(sp);
            }
            if (k == ECO_PERTURB_PREFIX) {
                size_t la = strlen(a), lp = strlen(p);
                assert_true(la > lp && strcmp(a + la - lp, p) == 0);
                bool found = false;
                for (size_t i = 0; i < ECO_PERTURB_N_PREFIXES; i++)
                    found |= strncmp(a, eco_perturb_prefix(i), la - lp) == 0 &&
                             strlen(eco_perturb_prefix(i)) == la - lp;
                assert_true(found);
            }
            free(a);
            free(b);
        }
    }
    /* Another seed or case index gives another stream (not the same 200 outputs). */
    int same = 0;
    for (uint64_t idx = 0; idx < 50; idx++) {
        char *a = perturb(ECO_PERTURB_TYPO, 1, idx, p, NULL),
             *b = perturb(ECO_PERTURB_TYPO, 2, idx, p, NULL);
        same += strcmp(a, b) == 0;
        free(a);
        free(b);
    }
    assert_true(same < 5);

    /* The span: only [begin, end) changes. */
    const char *q = "Sort these words.\nInput: pear apple fig\nOutput:";
    size_t begin = 0, end = strlen("Sort these words.");
    eco_perturb_opts o = {.begin = begin, .end = end};
    for (int k = 0; k < ECO_PERTURB_PREFIX; k++)
        for (uint64_t idx = 0; idx < 50; idx++) {
            char *a = perturb((eco_perturb_kind)k, 9, idx, q, &o);
            const char *tail = q + end;
            size_t la = strlen(a), lt = strlen(tail);
            assert_true(la >= lt && strcmp(a + la - lt, tail) == 0);
            free(a);
        }
    /* No spaces: one inserted. */
    char *a = perturb(ECO_PERTURB_SPACE, 3, 0, "whale", NULL);
    assert_int_equal(strlen(a), 6);
    strip(a, ' ');
    assert_string_equal(a, "whale");
    free(a);
    /* Empty prompt: allowed (a typo needs a letter: nothing changes). */
    a = perturb(ECO_PERTURB_TYPO, 3, 0, "", NULL);
    assert_string_equal(a, "");
    free(a);

    /* Refusals. */
    eco_buf b = {0};
    ECO_ASSERT_STATUS(eco_perturb(ECO_PERTURB_TYPO, 1, 1, "a\xff", 2, NULL, &b), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "byte 1"));
    eco_perturb_opts split = {.begin = 1, .end = 0}; /* inside "é" */
    ECO_ASSERT_STATUS(eco_perturb(ECO_PERTURB_CASE, 1, 1, "\xc3\xa9t\xc3\xa9", 5, &split, &b),
                      ECO_STATUS_EINVAL);
    eco_perturb_opts far = {.begin = 0, .end = 10};
    ECO_ASSERT_STATUS(eco_perturb(ECO_PERTURB_CASE, 1, 1, "abc", 3, &far, &b), ECO_STATUS_EINVAL);
    eco_perturb_opts rate = {.typo_rate = NAN};
    ECO_ASSERT_STATUS(eco_perturb(ECO_PERTURB_TYPO, 1, 1, "abc", 3, &rate, &b), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_perturb((eco_perturb_kind)9, 1, 1, "abc", 3, NULL, &b),
                      ECO_STATUS_EINVAL);
    assert_int_equal(b.len, 0);
    eco_buf_free(&b);

    eco_perturb_kind kind;
    ECO_ASSERT_OK(eco_perturb_kind_parse("space", &kind));
    assert_int_equal(kind, ECO_PERTURB_SPACE);
    ECO_ASSERT_STATUS(eco_perturb_kind_parse("typos", &kind), ECO_STATUS_EINVAL);
    assert_string_equal(eco_perturb_kind_name(ECO_PERTURB_PREFIX), "prefix");
    assert_null(eco_perturb_prefix(ECO_PERTURB_N_PREFIXES));
}

/* Pinned outputs: reports must reproduce across versions, so the streams may not drift. */
static void test_perturb_pinned(void **state) {
    (void)state;
    const char *p = "Reverse the letters of the word: whale";
    const char *want[ECO_PERTURB__COUNT] = {PINNED_TYPO, PINNED_CASE, PINNED_SPACE, PINNED_PREFIX};
    for (int k = 0; k < ECO_PERTURB__COUNT; k++) {
        char *a = perturb((eco_perturb_kind)k, 20261207, 5, p, NULL);
        if (strcmp(a, want[k]) != 0) {
            print_error("%s: got \"%s\", pinned \"%s\"\n",
                        eco_perturb_kind_name((eco_perturb_kind)k), a, want[k]);
            fail();
        }
        free(a);
    }
}

static void test_robustness(void **state) {
    (void)state;
    eco_robustness r;
    const double rates[] = {0.9, 0.5, 0.7, 0.5};
    ECO_ASSERT_OK(eco_robustness_summary(rates, 4, &r));
    near(r.mean, 0.65, 1e-15, "mean");
    assert_true(r.worst == 0.5 && r.worst_kind == 1); /* the first of the tie */
    ECO_ASSERT_OK(eco_robustness_summary(NULL, 0, &r));
    assert_true(r.mean == 0 && r.worst == 0 && r.worst_kind == -1);
    const double bad[] = {0.5, NAN};
    ECO_ASSERT_STATUS(eco_robustness_summary(bad, 2, &r), ECO_STATUS_EINVAL);
    const double big[] = {1.5};
    ECO_ASSERT_STATUS(eco_robustness_summary(big, 1, &r), ECO_STATUS_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wilson),
        cmocka_unit_test(test_calibration_hand),
        cmocka_unit_test(test_calibration_edges),
        cmocka_unit_test(test_calibration_numpy),
        cmocka_unit_test(test_wilson_numpy),
        cmocka_unit_test(test_percentiles),
        cmocka_unit_test(test_perturb),
        cmocka_unit_test(test_perturb_pinned),
        cmocka_unit_test(test_robustness),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
