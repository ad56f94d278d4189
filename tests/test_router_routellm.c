/*
 * RouteLLM's router metrics (router.h: eco_routellm_eval): hand-made curves with their APGR
 * and CPT worked out below, ties taken whole, the refusals; on synthetic oracle data (a
 * seeded RNG) a random router's APGR within 0.5 ± 0.05 and an oracle router's above 0.9;
 * and every figure against numpy (tests/fixtures/router/routellm.json, written by
 * scripts/make_router_fixture.py) within 1e-12.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "test_util.h"

#include "ecology/router.h"

static void near(double got, double want, double tol, const char *what) {
    if (!(fabs(got - want) <= tol)) {
        print_error("%s: got %.17g, want %.17g (tolerance %g)\n", what, got, want, tol);
        fail();
    }
}

static void test_hand(void **state) {
    (void)state;
    eco_routellm_result res;
    /* strong always right, weak never; scores 4 3 2 1: PGR = call share, a straight line:
     * APGR 0.5, CPT(50%) 0.5, CPT(80%) 0.8 */
    const double s1[] = {1, 1, 1, 1}, w1[] = {0, 0, 0, 0}, sc1[] = {4, 3, 2, 1};
    ECO_ASSERT_OK(eco_routellm_eval(s1, w1, sc1, 4, &res));
    assert_int_equal(res.n_points, 5);
    near(res.apgr, 0.5, 1e-15, "line: APGR");
    near(res.cpt50, 0.5, 1e-15, "line: CPT(50%)");
    near(res.cpt80, 0.8, 1e-15, "line: CPT(80%)");
    assert_true(isinf(res.curve[0].threshold) && res.curve[0].call_share == 0);
    near(res.curve[2].threshold, 3, 0, "threshold of the second point");
    eco_routellm_free(&res);
    /* strong right on the first two only (q_strong 0.5, gap 0.5), scores 4 3 2 1: PGR 0,
     * 0.5, 1, 1, 1 at shares 0, .25, .5, .75, 1. APGR = .25·(0+.5)/2 + .25·(.5+1)/2 + .25
     * + .25 = 0.75; CPT(50%) = 0.25 (reached at the first point); CPT(80%) = .25 + .25·0.6
     * = 0.4 */
    const double s2[] = {1, 1, 0, 0};
    ECO_ASSERT_OK(eco_routellm_eval(s2, w1, sc1, 4, &res));
    near(res.apgr, 0.75, 1e-15, "step: APGR");
    near(res.cpt50, 0.25, 1e-15, "step: CPT(50%)");
    near(res.cpt80, 0.4, 1e-15, "step: CPT(80%)");
    near(eco_routellm_cpt(&res, 1), 0.5, 1e-15, "step: CPT(100%)");
    assert_true(isnan(eco_routellm_cpt(&res, 0)) && isnan(eco_routellm_cpt(&res, 1.1)));
    eco_routellm_free(&res);
    /* ties: scores 1 1 0 0 give one threshold for the two first requests: 3 points */
    const double sc3[] = {1, 1, 0, 0};
    ECO_ASSERT_OK(eco_routellm_eval(s2, w1, sc3, 4, &res));
    assert_int_equal(res.n_points, 3);
    near(res.curve[1].call_share, 0.5, 0, "tie: share");
    near(res.curve[1].pgr, 1, 1e-15, "tie: PGR");
    /* APGR = .5·(0+1)/2 + .5·1 = 0.75 */
    near(res.apgr, 0.75, 1e-15, "tie: APGR");
    eco_routellm_free(&res);
    /* refusals */
    ECO_ASSERT_STATUS(eco_routellm_eval(w1, w1, sc1, 4, &res), ECO_STATUS_ERANGE);
    ECO_ASSERT_STATUS(eco_routellm_eval(s1, w1, sc1, 0, &res), ECO_STATUS_EINVAL);
    const double bad[] = {1, NAN, 0, 0};
    ECO_ASSERT_STATUS(eco_routellm_eval(s1, w1, bad, 4, &res), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "request 1"));
}

/* Synthetic oracle data: weak right with p 0.5, strong with p 0.8, independent. */
static void test_random_and_oracle(void **state) {
    (void)state;
    const size_t n = 20000;
    double *strong = calloc(n, sizeof *strong), *weak = calloc(n, sizeof *weak);
    double *rnd = calloc(n, sizeof *rnd), *orc = calloc(n, sizeof *orc);
    assert_true(strong && weak && rnd && orc);
    for (uint64_t seed = 1; seed <= 5; seed++) {
        eco_rng g;
        eco_rng_seed(&g, seed);
        for (size_t i = 0; i < n; i++) {
            weak[i] = eco_rng_uniform(&g) < 0.5;
            strong[i] = eco_rng_uniform(&g) < 0.8;
            rnd[i] = eco_rng_uniform(&g);
            orc[i] = strong[i] - weak[i]; /* knows which model is right */
        }
        eco_routellm_result r, o;
        ECO_ASSERT_OK(eco_routellm_eval(strong, weak, rnd, n, &r));
        ECO_ASSERT_OK(eco_routellm_eval(strong, weak, orc, n, &o));
        printf("seed %llu: random APGR %.4f CPT(50%%) %.3f CPT(80%%) %.3f; oracle APGR %.4f "
               "CPT(50%%) %.3f CPT(80%%) %.3f\n",
               (unsigned long long)seed, r.apgr, r.cpt50, r.cpt80, o.apgr, o.cpt50, o.cpt80);
        near(r.apgr, 0.5, 0.05, "random router: APGR");
        near(r.cpt50, 0.5, 0.1, "random router: CPT(50%)");
        assert_true(o.apgr > 0.9);
        /* the oracle recovers half the gap with fewer strong calls than the random router */
        assert_true(o.cpt50 < r.cpt50 && o.cpt80 < r.cpt80);
        /* a router that ranks the requests backwards recovers less than a random one */
        for (size_t i = 0; i < n; i++) orc[i] = -orc[i];
        eco_routellm_result b;
        ECO_ASSERT_OK(eco_routellm_eval(strong, weak, orc, n, &b));
        assert_true(b.apgr < 0.1);
        eco_routellm_free(&b);
        eco_routellm_free(&r);
        eco_routellm_free(&o);
    }
    free(strong);
    free(weak);
    free(rnd);
    free(orc);
}

static void test_against_numpy(void **state) {
    (void)state;
    json_t *root = eco_test_load_json("tests/fixtures/router/routellm.json");
    json_t *cases = json_object_get(root, "cases");
    assert_true(json_array_size(cases) >= 3);
    double worst = 0;
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        size_t n, n2, n3;
        double *strong = eco_test_json_doubles(json_object_get(c, "strong"), &n);
        double *weak = eco_test_json_doubles(json_object_get(c, "weak"), &n2);
        double *score = eco_test_json_doubles(json_object_get(c, "score"), &n3);
        assert_true(n == n2 && n == n3);
        eco_routellm_result res;
        ECO_ASSERT_OK(eco_routellm_eval(strong, weak, score, n, &res));
        size_t np_;
        double *share = eco_test_json_doubles(json_object_get(c, "call_share"), &np_);
        double *quality = eco_test_json_doubles(json_object_get(c, "quality"), &n2);
        double *pgr = eco_test_json_doubles(json_object_get(c, "pgr"), &n3);
        assert_int_equal(res.n_points, np_);
        for (size_t k = 0; k < np_; k++) {
            double d = fmax(
                fabs(res.curve[k].call_share - share[k]),
                fmax(fabs(res.curve[k].quality - quality[k]), fabs(res.curve[k].pgr - pgr[k])));
            if (d > worst) worst = d;
            near(res.curve[k].pgr, pgr[k], 1e-12, name);
            near(res.curve[k].quality, quality[k], 1e-12, name);
            near(res.curve[k].call_share, share[k], 1e-15, name);
        }
        const double apgr = json_real_value(json_object_get(c, "apgr"));
        near(res.apgr, apgr, 1e-12, "APGR");
        worst = fmax(worst, fabs(res.apgr - apgr));
        json_t *cpt = json_object_get(c, "cpt");
        const char *key;
        json_t *v;
        json_object_foreach(cpt, key, v) {
            const double p = atof(key), got = eco_routellm_cpt(&res, p);
            near(got, json_real_value(v), 1e-12, "CPT");
            worst = fmax(worst, fabs(got - json_real_value(v)));
        }
        near(res.q_weak, json_real_value(json_object_get(c, "q_weak")), 1e-12, "q_weak");
        near(res.q_strong, json_real_value(json_object_get(c, "q_strong")), 1e-12, "q_strong");
        printf("%s: %zu requests, %zu points, APGR %.6f\n", name, n, np_, res.apgr);
        eco_routellm_free(&res);
        free(strong);
        free(weak);
        free(score);
        free(share);
        free(quality);
        free(pgr);
    }
    printf("largest difference from numpy: %.3g (tolerance 1e-12)\n", worst);
    json_decref(root);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand),
        cmocka_unit_test(test_random_and_oracle),
        cmocka_unit_test(test_against_numpy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
