/*
 * The canary judge and controller (include/ecology/canary.h): the statistics against hand
 * computation and against scipy (tests/fixtures/canary/reference.json, written by
 * scripts/make_canary_fixture.py), Kayenta's classification rules, the verdict's JSON, the
 * settings parser's malformed-input table, the timing, and the controller on synthetic
 * traffic from a seeded RNG with known outcomes: a clearly worse canary aborted at the first
 * step, a clearly better one promoted in exactly interval × maxWeight/stepWeight requests,
 * an equal one (many seeds) aborted at about the nominal rate, a safety alert aborting at
 * once.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "test_util.h"

#include "ecology/canary.h"

static void near(double got, double want, double tol, const char *what) {
    if (!(fabs(got - want) <= tol)) {
        print_error("%s: got %.17g, want %.17g (tolerance %g)\n", what, got, want, tol);
        fail();
    }
}

/* ---- hand-computed -------------------------------------------------------------------- */

static void test_prop_hand(void **state) {
    (void)state;
    eco_canary_prop p;
    /* 30/60 against 500/600: pool 530/660 = 0.80303, se = sqrt(0.80303·0.19697·(1/60 +
     * 1/600)) = 0.053857, z = (0.5 − 0.83333)/0.053857 = −6.1890; p_worse = Φ(z) ≈ 3e-10. */
    ECO_ASSERT_OK(eco_canary_prop_test(30, 60, 500, 600, false, &p));
    assert_true(p.ran);
    near(p.z, -6.19002, 1e-4, "z");
    assert_true(p.p_worse < 1e-9);
    /* The same counts as an error rate: the canary's is lower, so not worse. */
    ECO_ASSERT_OK(eco_canary_prop_test(30, 60, 500, 600, true, &p));
    assert_true(p.p_worse > 0.999);
    /* No data: not run, p 1. Equal extremes: se 0, z 0, p 0.5. */
    ECO_ASSERT_OK(eco_canary_prop_test(0, 0, 5, 10, false, &p));
    assert_false(p.ran);
    assert_true(p.p_worse == 1);
    ECO_ASSERT_OK(eco_canary_prop_test(10, 10, 20, 20, false, &p));
    assert_true(p.ran && p.z == 0 && p.p_worse == 0.5);
    ECO_ASSERT_STATUS(eco_canary_prop_test(3, 2, 1, 1, false, &p), ECO_STATUS_EINVAL);
}

static void test_mwu_hl_hand(void **state) {
    (void)state;
    /* canary {12,15,11,19,14}, champion {10,9,13,8}: the canary beats 3+4+3+4+4 = 18 of the
     * 20 pairs, so U = 18; no ties, σ² = 20/12·10, z = (18 − 10 − 0.5)/4.08248 = 1.83712,
     * p_greater = Φ(−1.83712) = 0.033096. The 20 differences sorted are
     * −2 −1 1 1 2 2 2 3 3 4 | 4 5 5 6 6 6 7 9 10 11: Hodges–Lehmann (4 + 4)/2 = 4. */
    const double x[] = {12, 15, 11, 19, 14}, y[] = {10, 9, 13, 8};
    eco_canary_mwu u;
    ECO_ASSERT_OK(eco_canary_mann_whitney(x, 5, y, 4, &u));
    assert_true(u.u == 18);
    near(u.z, 1.8371173, 1e-6, "z");
    near(u.p_greater, 0.033096, 1e-6, "p_greater");
    near(u.p_two_sided, 0.066193, 1e-6, "p_two_sided");
    eco_canary_shift s;
    ECO_ASSERT_OK(eco_canary_hodges_lehmann(x, 5, y, 4, ECO_CANARY_Z98, &s));
    assert_true(s.estimate == 4);
    assert_true(s.lo <= 4 && s.hi >= 4);
    /* All equal: σ = 0, z 0, p 1. */
    const double c[] = {3, 3, 3};
    ECO_ASSERT_OK(eco_canary_mann_whitney(c, 3, c, 2, &u));
    assert_true(u.z == 0 && u.p_greater == 1 && u.p_two_sided == 1);
    /* Refused: empty, NaN (naming the index), z <= 0. */
    const double bad[] = {1, NAN};
    ECO_ASSERT_STATUS(eco_canary_mann_whitney(x, 0, y, 4, &u), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_canary_mann_whitney(bad, 2, y, 4, &u), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "canary[1]"));
    ECO_ASSERT_STATUS(eco_canary_hodges_lehmann(x, 5, y, 4, 0, &s), ECO_STATUS_EINVAL);
}

/* ---- against scipy --------------------------------------------------------------------- */

static json_t *load_fixture(void) {
    return eco_test_load_json("tests/fixtures/canary/reference.json");
}

static double num(const json_t *o, const char *k) {
    return json_number_value(json_object_get(o, k));
}

/* |got − want| within 1e-12 absolute or 1e-9 relative (p-values as small as 1e-11). */
static void track(double got, double want, double *worst, const char *set, const char *what) {
    double d = fabs(got - want), rel = want != 0 ? d / fabs(want) : d;
    if (!(d <= 1e-12 || rel <= 1e-9)) {
        print_error("%s %s: got %.17g, scipy %.17g\n", set, what, got, want);
        fail();
    }
    if (rel > *worst) *worst = rel;
}

static void test_against_scipy(void **state) {
    (void)state;
    json_t *j = load_fixture();
    near(num(j, "z98"), ECO_CANARY_Z98, 0, "z98");
    const json_t *sets = json_object_get(j, "samples");
    assert_true(json_array_size(sets) >= 5);
    double worst = 0;
    for (size_t s = 0; s < json_array_size(sets); s++) {
        const json_t *e = json_array_get(sets, s);
        const char *name = json_string_value(json_object_get(e, "name"));
        size_t n, m;
        double *x = eco_test_json_doubles(json_object_get(e, "canary"), &n);
        double *y = eco_test_json_doubles(json_object_get(e, "champion"), &m);
        eco_canary_mwu u;
        ECO_ASSERT_OK(eco_canary_mann_whitney(x, n, y, m, &u));
        track(u.u, num(e, "u"), &worst, name, "U");
        track(u.p_greater, num(e, "p_greater"), &worst, name, "p_greater");
        track(u.p_two_sided, num(e, "p_two_sided"), &worst, name, "p_two_sided");
        /* The estimate is the same arithmetic on the same differences: identical bits. The
         * interval ends are differences too, but the reference finds them by ranking
         * canary − μ, which can order two differences that are equal up to rounding (1.42
         * as 25.50 − 24.08 and as 26.12 − 24.70) the other way: within track's tolerance. */
        eco_canary_shift sh;
        ECO_ASSERT_OK(eco_canary_hodges_lehmann(x, n, y, m, ECO_CANARY_Z98, &sh));
        const json_t *hl = json_object_get(e, "hl");
        if (sh.estimate != num(hl, "estimate")) {
            print_error("%s: HL %.17g, reference %.17g\n", name, sh.estimate, num(hl, "estimate"));
            fail();
        }
        track(sh.lo, num(hl, "lo"), &worst, name, "HL lo");
        track(sh.hi, num(hl, "hi"), &worst, name, "HL hi");
        free(x);
        free(y);
    }
    const json_t *props = json_object_get(j, "prop");
    for (size_t i = 0; i < json_array_size(props); i++) {
        const json_t *e = json_array_get(props, i);
        eco_canary_prop p;
        ECO_ASSERT_OK(
            eco_canary_prop_test((uint64_t)num(e, "k_canary"), (uint64_t)num(e, "n_canary"),
                                 (uint64_t)num(e, "k_champion"), (uint64_t)num(e, "n_champion"),
                                 json_is_true(json_object_get(e, "higher_is_worse")), &p));
        track(p.z, num(e, "z"), &worst, "prop", "z");
        track(p.p_worse, num(e, "p_worse"), &worst, "prop", "p_worse");
    }
    printf("canary statistics vs scipy %s: %zu samples, %zu proportion tests, largest relative "
           "difference %.3g; Hodges-Lehmann estimates identical\n",
           json_string_value(json_object_get(j, "scipy")), json_array_size(sets),
           json_array_size(props), worst);
    json_decref(j);
}

/* ---- Kayenta's rules -------------------------------------------------------------------- */

static void test_classify(void **state) {
    (void)state;
    eco_canary_metric m;
    const double a[] = {10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
    const double shuffled[] = {19, 10, 18, 11, 17, 12, 16, 13, 15, 14};
    /* empty: no data */
    ECO_ASSERT_OK(eco_canary_classify(a, 0, a, 10, &m));
    assert_int_equal(m.cls, ECO_CANARY_CLASS_NODATA);
    /* identical once sorted: pass without statistics */
    ECO_ASSERT_OK(eco_canary_classify(shuffled, 10, a, 10, &m));
    assert_int_equal(m.cls, ECO_CANARY_CLASS_PASS);
    assert_false(m.ran);
    /* clearly higher: every canary value 20 above */
    double hi[10], lo[10], close[10];
    for (int i = 0; i < 10; i++) {
        hi[i] = a[i] + 20;
        lo[i] = a[i] - 8;
        close[i] = a[i] + (i % 2 ? 1 : 0);
    }
    ECO_ASSERT_OK(eco_canary_classify(hi, 10, a, 10, &m));
    assert_int_equal(m.cls, ECO_CANARY_CLASS_HIGH);
    assert_true(m.ran && m.shift.estimate == 20 && m.shift.lo > m.bound);
    ECO_ASSERT_OK(eco_canary_classify(lo, 10, a, 10, &m));
    assert_int_equal(m.cls, ECO_CANARY_CLASS_LOW);
    /* a small shift the data cannot tell from zero: the interval straddles the bound */
    ECO_ASSERT_OK(eco_canary_classify(close, 10, a, 10, &m));
    assert_int_equal(m.cls, ECO_CANARY_CLASS_PASS);
    assert_true(m.ran && m.shift.lo <= m.bound);
    /* Kayenta's effect-size condition: the canary's values are higher in rank, but the
     * champion has one huge value, so mean(canary)/mean(champion) < 1: not HIGH. */
    double c2[10], h2[10];
    for (int i = 0; i < 10; i++) {
        c2[i] = 100 + i;
        h2[i] = 10 + i;
    }
    h2[9] = 100000;
    ECO_ASSERT_OK(eco_canary_classify(c2, 10, h2, 10, &m));
    assert_true(m.shift.lo > m.bound && m.mean_ratio < 1);
    assert_int_equal(m.cls, ECO_CANARY_CLASS_PASS);
    assert_string_equal(eco_canary_class_name(ECO_CANARY_CLASS_HIGH), "high");
}

/* ---- judge and JSON --------------------------------------------------------------------- */

static void test_judge_json(void **state) {
    (void)state;
    double lc[40], lh[60];
    for (int i = 0; i < 40; i++) lc[i] = 80 + i;
    for (int i = 0; i < 60; i++) lh[i] = 40 + (i % 30);
    eco_canary_arm can = {.requests = 50,
                          .errors = 10,
                          .labelled = 40,
                          .correct = 10,
                          .safety_alerts = 0,
                          .latency = lc,
                          .n_latency = 40};
    eco_canary_arm ch = {
        .requests = 60, .errors = 0, .labelled = 60, .correct = 55, .latency = lh, .n_latency = 60};
    eco_canary_verdict v;
    ECO_ASSERT_OK(eco_canary_judge(&can, &ch, &v));
    assert_false(v.pass);
    assert_false(v.critical);
    assert_int_equal(v.failed,
                     ECO_CANARY_CHECK_QUALITY | ECO_CANARY_CHECK_LATENCY | ECO_CANARY_CHECK_ERRORS);
    assert_non_null(strstr(v.reasons, "quality: "));
    assert_non_null(strstr(v.reasons, "latency: "));
    assert_non_null(strstr(v.reasons, "errors: "));
    char *js = NULL;
    ECO_ASSERT_OK(eco_canary_verdict_json(&v, &js));
    json_error_t err;
    json_t *o = json_loads(js, 0, &err);
    assert_non_null(o);
    assert_true(json_is_false(json_object_get(o, "pass")));
    assert_int_equal(json_array_size(json_object_get(o, "failed")), 3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "failed"), 0)),
                        "quality");
    const json_t *lat = json_object_get(o, "latency");
    assert_string_equal(json_string_value(json_object_get(lat, "class")), "high");
    near(json_number_value(json_object_get(lat, "hl_estimate")), v.latency.shift.estimate, 0,
         "hl in JSON");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "quality"), "n_canary")),
                     40);
    json_decref(o);
    free(js);
    /* a safety alert: critical */
    can.safety_alerts = 1;
    ECO_ASSERT_OK(eco_canary_judge(&can, &ch, &v));
    assert_true(v.critical && (v.failed & ECO_CANARY_CHECK_SAFETY));
    /* no data anywhere: passes, nothing ran, mean_ratio null in JSON */
    eco_canary_arm none = {0};
    ECO_ASSERT_OK(eco_canary_judge(&none, &none, &v));
    assert_true(v.pass && !v.quality.ran && !v.errors.ran && !v.latency.ran);
    ECO_ASSERT_OK(eco_canary_verdict_json(&v, &js));
    assert_non_null(strstr(js, "\"mean_ratio\":null"));
    free(js);
    /* inconsistent counts, naming the field */
    eco_canary_arm bad = {.requests = 5, .errors = 6};
    ECO_ASSERT_STATUS(eco_canary_judge(&bad, &ch, &v), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "canary.errors"));
    bad = (eco_canary_arm){.requests = 5, .labelled = 3, .correct = 4};
    ECO_ASSERT_STATUS(eco_canary_judge(&ch, &bad, &v), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "champion.correct"));
}

/* ---- settings ------------------------------------------------------------------------------ */

static void test_settings_table(void **state) {
    (void)state;
    static const struct {
        const char *json;
        const char *want; /* NULL: accepted; else a piece of the message */
    } cases[] = {
        {"{\"stepWeight\":10,\"maxWeight\":50,\"interval\":400,\"threshold\":2}", NULL},
        {"{\"stepWeight\":5,\"maxWeight\":5,\"interval\":1,\"threshold\":1}", NULL},
        {"{\"stepWeight\":100,\"maxWeight\":100,\"interval\":4096,\"threshold\":1000}", NULL},
        {"{\"maxWeight\":50,\"interval\":400,\"threshold\":2}", "stepWeight: missing"},
        {"{\"stepWeight\":10,\"interval\":400,\"threshold\":2}", "maxWeight: missing"},
        {"{\"stepWeight\":10,\"maxWeight\":50,\"threshold\":2}", "interval: missing"},
        {"{\"stepWeight\":10,\"maxWeight\":50,\"interval\":400}", "threshold: missing"},
        {"{\"stepWeight\":0,\"maxWeight\":50,\"interval\":400,\"threshold\":2}", "stepWeight"},
        {"{\"stepWeight\":101,\"maxWeight\":50,\"interval\":400,\"threshold\":2}", "stepWeight"},
        {"{\"stepWeight\":\"10\",\"maxWeight\":50,\"interval\":400,\"threshold\":2}",
         "stepWeight: expected an integer"},
        {"{\"stepWeight\":10.5,\"maxWeight\":50,\"interval\":400,\"threshold\":2}", "stepWeight"},
        {"{\"stepWeight\":20,\"maxWeight\":10,\"interval\":400,\"threshold\":2}",
         "maxWeight: 10 below stepWeight 20"},
        {"{\"stepWeight\":10,\"maxWeight\":101,\"interval\":400,\"threshold\":2}", "maxWeight"},
        {"{\"stepWeight\":10,\"maxWeight\":50,\"interval\":0,\"threshold\":2}", "interval"},
        {"{\"stepWeight\":10,\"maxWeight\":50,\"interval\":4097,\"threshold\":2}", "interval"},
        {"{\"stepWeight\":10,\"maxWeight\":50,\"interval\":-3,\"threshold\":2}", "interval"},
        {"{\"stepWeight\":10,\"maxWeight\":50,\"interval\":400,\"threshold\":0}", "threshold"},
        {"{\"stepWeight\":10,\"maxWeight\":50,\"interval\":400,\"threshold\":null}", "threshold"},
        {"{\"stepWeight\":10,\"maxWeight\":50,\"interval\":400,\"threshold\":2,\"x\":1}",
         "unknown field 'x'"},
        {"{\"stepWeight\":10,\"stepWeight\":10,\"maxWeight\":50,\"interval\":400,\"threshold\":2}",
         "duplicate"},
        {"[10, 50, 400, 2]", "expected an object"},
        {"{\"stepWeight\":10,", "line 1"},
        {"", "line"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        eco_canary_settings s;
        eco_status st =
            eco_canary_settings_parse(cases[i].json, strlen(cases[i].json), "canary.json", &s);
        if (!cases[i].want) {
            if (st != ECO_STATUS_OK) {
                print_error("case %zu %s: refused: %s\n", i, cases[i].json, eco_last_error());
                fail();
            }
            ECO_ASSERT_OK(eco_canary_settings_check(&s));
        } else if (st != ECO_STATUS_EFORMAT || !strstr(eco_last_error(), cases[i].want) ||
                   strncmp(eco_last_error(), "canary.json", 11) != 0) {
            print_error("case %zu %s: got %s \"%s\", want EFORMAT naming \"%s\"\n", i,
                        cases[i].json, eco_status_str(st), eco_last_error(), cases[i].want);
            fail();
        }
    }
    eco_canary_settings bad = {.step_weight = 10, .max_weight = 5, .interval = 10, .threshold = 1};
    ECO_ASSERT_STATUS(eco_canary_settings_check(&bad), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "maxWeight"));
}

static void test_timing(void **state) {
    (void)state;
    eco_canary_settings s = {.step_weight = 5, .max_weight = 25, .interval = 200, .threshold = 3};
    eco_canary_timing t;
    ECO_ASSERT_OK(eco_canary_settings_timing(&s, &t));
    assert_int_equal(t.steps, 5);
    assert_int_equal(t.promote_requests, 1000);
    assert_int_equal(t.rollback_requests, 600);
    eco_buf b = {0};
    ECO_ASSERT_OK(eco_canary_settings_describe(&s, &b));
    assert_string_equal(b.data, "minimum time to promote: 5 steps x 200 requests = 1000 requests "
                                "(weights 5%, 10%, 15%, 20%, 25%)\n"
                                "time to roll back: 3 failed steps x 200 requests = 600 "
                                "requests (a safety alert: at once)\n");
    eco_buf_free(&b);
    /* maxWeight not a multiple of stepWeight: the last step is capped (Flagger issue 189) */
    s = (eco_canary_settings){.step_weight = 20, .max_weight = 50, .interval = 10, .threshold = 1};
    ECO_ASSERT_OK(eco_canary_settings_timing(&s, &t));
    assert_int_equal(t.steps, 3);
    ECO_ASSERT_OK(eco_canary_settings_describe(&s, &b));
    assert_non_null(strstr(b.data, "(weights 20%, 40%, 50%)"));
    eco_buf_free(&b);
}

/* ---- the controller on synthetic traffic ------------------------------------------------- */

/* One arm's behaviour: success rate on labelled requests, error rate, latency median (ms). */
typedef struct model {
    double quality, error_rate, latency_ms;
} model;

static const model CHAMPION = {0.80, 0.02, 40.0};

typedef struct run_result {
    eco_canary_action last;
    int64_t requests;   /* requests fed until the controller stopped */
    int steps;          /* steps judged */
    unsigned failed[3]; /* steps in which quality, latency, errors failed */
    eco_canary_verdict verdict;
} run_result;

/* Feeds requests routed by the controller's weight (a seeded coin) until it promotes or
 * aborts; every request is labelled; latency lognormal with σ 0.3 around the median.
 * alert_at > 0 raises a safety alert on the canary's alert_at-th request. */
static run_result simulate(const eco_canary_settings *s, const model *canary, uint64_t seed,
                           int64_t alert_at) {
    eco_canary_ctl *c = NULL;
    ECO_ASSERT_OK(eco_canary_ctl_create(s, &c));
    eco_rng rng;
    eco_rng_seed(&rng, seed);
    run_result r = {0};
    int64_t canary_n = 0;
    for (;;) {
        const bool to_canary = eco_rng_uniform(&rng) * 100.0 < eco_canary_ctl_weight(c);
        const model *md = to_canary ? canary : &CHAMPION;
        eco_canary_obs o = {.canary = to_canary};
        o.error = eco_rng_uniform(&rng) < md->error_rate;
        o.label = eco_rng_uniform(&rng) < md->quality ? 1 : 0;
        o.latency = md->latency_ms * exp(0.3 * eco_rng_normal(&rng));
        if (to_canary && ++canary_n == alert_at) o.safety_alert = true;
        eco_canary_decision d;
        ECO_ASSERT_OK(eco_canary_ctl_observe(c, &o, &d));
        r.requests++;
        if (d.step_ended) {
            r.steps++;
            r.verdict = d.verdict;
            r.failed[0] += !!(d.verdict.failed & ECO_CANARY_CHECK_QUALITY);
            r.failed[1] += !!(d.verdict.failed & ECO_CANARY_CHECK_LATENCY);
            r.failed[2] += !!(d.verdict.failed & ECO_CANARY_CHECK_ERRORS);
        }
        if (d.action == ECO_CANARY_ACTION_PROMOTE || d.action == ECO_CANARY_ACTION_ABORT) {
            r.last = d.action;
            assert_int_equal(d.weight, d.action == ECO_CANARY_ACTION_ABORT ? 0 : s->max_weight);
            /* finished: further requests are refused */
            ECO_ASSERT_STATUS(eco_canary_ctl_observe(c, &o, &d), ECO_STATUS_EINVAL);
            break;
        }
    }
    assert_int_equal(eco_canary_ctl_requests(c), r.requests);
    eco_canary_ctl_free(c);
    return r;
}

static const eco_canary_settings SIM = {
    .step_weight = 20, .max_weight = 60, .interval = 1000, .threshold = 1};

static void test_worse_aborted_first_step(void **state) {
    (void)state;
    const model worse = {0.55, 0.06, 60.0};
    for (uint64_t seed = 1; seed <= 5; seed++) {
        run_result r = simulate(&SIM, &worse, seed, 0);
        assert_int_equal(r.last, ECO_CANARY_ACTION_ABORT);
        assert_int_equal(r.steps, 1);
        assert_int_equal(r.requests, SIM.interval);
        assert_true(r.verdict.failed & ECO_CANARY_CHECK_QUALITY);
        assert_true(r.verdict.failed & ECO_CANARY_CHECK_LATENCY);
        assert_false(r.verdict.critical);
    }
    /* threshold 2: the first failed step holds, the second aborts: interval × threshold */
    eco_canary_settings s2 = SIM;
    s2.threshold = 2;
    run_result r = simulate(&s2, &worse, 7, 0);
    assert_int_equal(r.last, ECO_CANARY_ACTION_ABORT);
    assert_int_equal(r.requests, 2 * SIM.interval);
}

static void test_better_promoted(void **state) {
    (void)state;
    const model better = {0.92, 0.005, 30.0};
    eco_canary_timing t;
    ECO_ASSERT_OK(eco_canary_settings_timing(&SIM, &t));
    for (uint64_t seed = 1; seed <= 5; seed++) {
        run_result r = simulate(&SIM, &better, seed, 0);
        assert_int_equal(r.last, ECO_CANARY_ACTION_PROMOTE);
        assert_int_equal(r.requests, t.promote_requests); /* 1000 × 60/20 = 3000 */
        assert_int_equal(r.steps, t.steps);
        assert_true(r.verdict.pass);
        assert_int_equal(r.verdict.latency.cls, ECO_CANARY_CLASS_LOW);
    }
}

static void test_equal_false_abort_rate(void **state) {
    (void)state;
    enum { RUNS = 300 };
    int aborted = 0, steps = 0;
    unsigned failed[3] = {0};
    for (uint64_t seed = 1; seed <= RUNS; seed++) {
        run_result r = simulate(&SIM, &CHAMPION, 1000 + seed, 0);
        aborted += r.last == ECO_CANARY_ACTION_ABORT;
        steps += r.steps;
        for (int k = 0; k < 3; k++) failed[k] += r.failed[k];
    }
    /* Nominal: quality and errors each fail a step with probability 0.02 (one-sided,
     * α = 0.02); latency at most 0.01 (one side of a 98% interval, and the 0.25·|HL| margin
     * makes it rarer); a step at most 0.05; with threshold 1 a run of 3 steps is aborted with
     * probability at most 1 − 0.95³ = 0.143. */
    const double rate = (double)aborted / RUNS;
    printf("equal canary, %d runs (%d steps judged): aborted %.3f (nominal at most 0.143); "
           "per step: quality %.4f, latency %.4f, errors %.4f (nominal 0.02, <= 0.01, 0.02)\n",
           RUNS, steps, rate, (double)failed[0] / steps, (double)failed[1] / steps,
           (double)failed[2] / steps);
    /* 3 binomial standard deviations above nominal: sqrt(0.143·0.857/300) = 0.020. */
    assert_true(rate <= 0.143 + 3 * 0.020);
    assert_true((double)failed[0] / steps <= 0.02 + 3 * sqrt(0.02 * 0.98 / steps));
    assert_true((double)failed[2] / steps <= 0.02 + 3 * sqrt(0.02 * 0.98 / steps));
    assert_true((double)failed[1] / steps <= 0.01 + 3 * sqrt(0.01 * 0.99 / steps));
}

static void test_safety_alert_aborts_at_once(void **state) {
    (void)state;
    const model better = {0.92, 0.005, 30.0};
    /* the canary's 37th request raises an alert: aborted on that request, mid first step */
    run_result r = simulate(&SIM, &better, 3, 37);
    assert_int_equal(r.last, ECO_CANARY_ACTION_ABORT);
    assert_true(r.requests < SIM.interval);
    assert_true(r.verdict.critical);
    assert_int_equal(r.verdict.requests_canary, 37);
    assert_non_null(strstr(r.verdict.reasons, "safety"));
    /* in a later step, whatever the threshold */
    eco_canary_settings s = SIM;
    s.threshold = 10;
    r = simulate(&s, &better, 3, 500);
    assert_int_equal(r.last, ECO_CANARY_ACTION_ABORT);
    assert_true(r.requests > SIM.interval && r.requests < 3 * SIM.interval);
}

/* The controller fed step verdicts directly. */
static void test_ctl_steps(void **state) {
    (void)state;
    eco_canary_settings s = {.step_weight = 10, .max_weight = 30, .interval = 5, .threshold = 2};
    eco_canary_ctl *c = NULL;
    ECO_ASSERT_OK(eco_canary_ctl_create(&s, &c));
    assert_int_equal(eco_canary_ctl_weight(c), 10);
    eco_canary_verdict pass = {.pass = true}, failv = {.pass = false, .failed = 1};
    eco_canary_decision d;
    ECO_ASSERT_OK(eco_canary_ctl_step(c, &pass, &d));
    assert_int_equal(d.action, ECO_CANARY_ACTION_ADVANCE);
    assert_int_equal(d.weight, 20);
    ECO_ASSERT_OK(eco_canary_ctl_step(c, &failv, &d));
    assert_int_equal(d.action, ECO_CANARY_ACTION_HOLD);
    assert_int_equal(d.weight, 20);
    assert_int_equal(d.failed_checks, 1);
    ECO_ASSERT_OK(eco_canary_ctl_step(c, &pass, &d)); /* a pass does not reset the count */
    assert_int_equal(d.weight, 30);
    assert_int_equal(d.failed_checks, 1);
    ECO_ASSERT_OK(eco_canary_ctl_step(c, &failv, &d));
    assert_int_equal(d.action, ECO_CANARY_ACTION_ABORT);
    assert_int_equal(d.weight, 0);
    assert_int_equal(eco_canary_ctl_weight(c), 0);
    ECO_ASSERT_STATUS(eco_canary_ctl_step(c, &pass, &d), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "aborted"));
    eco_canary_ctl_free(c);

    ECO_ASSERT_OK(eco_canary_ctl_create(&s, &c));
    for (int i = 0; i < 2; i++) ECO_ASSERT_OK(eco_canary_ctl_step(c, &pass, &d));
    ECO_ASSERT_OK(eco_canary_ctl_step(c, &pass, &d));
    assert_int_equal(d.action, ECO_CANARY_ACTION_PROMOTE);
    assert_int_equal(d.weight, 30);
    ECO_ASSERT_STATUS(eco_canary_ctl_step(c, &pass, &d), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "promoted"));
    eco_canary_ctl_free(c);

    /* bad observations and settings */
    ECO_ASSERT_OK(eco_canary_ctl_create(&s, &c));
    eco_canary_obs o = {.label = 2, .latency = 1};
    ECO_ASSERT_STATUS(eco_canary_ctl_observe(c, &o, &d), ECO_STATUS_EINVAL);
    o = (eco_canary_obs){.label = -1, .latency = NAN};
    ECO_ASSERT_STATUS(eco_canary_ctl_observe(c, &o, &d), ECO_STATUS_EINVAL);
    o.error = true; /* a failed request has no latency */
    ECO_ASSERT_OK(eco_canary_ctl_observe(c, &o, &d));
    assert_int_equal(d.action, ECO_CANARY_ACTION_HOLD);
    eco_canary_ctl_free(c);
    s.interval = 0;
    ECO_ASSERT_STATUS(eco_canary_ctl_create(&s, &c), ECO_STATUS_EINVAL);
    assert_string_equal(eco_canary_action_name(ECO_CANARY_ACTION_PROMOTE), "promote");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prop_hand),
        cmocka_unit_test(test_mwu_hl_hand),
        cmocka_unit_test(test_against_scipy),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_judge_json),
        cmocka_unit_test(test_settings_table),
        cmocka_unit_test(test_timing),
        cmocka_unit_test(test_worse_aborted_first_step),
        cmocka_unit_test(test_better_promoted),
        cmocka_unit_test(test_equal_false_abort_rate),
        cmocka_unit_test(test_safety_alert_aborts_at_once),
        cmocka_unit_test(test_ctl_steps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
