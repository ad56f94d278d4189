/*
 * The report's canonical JSON (eco_eval_report_json, include/ecology/evaluator.h) on a
 * small report built by hand: golden bytes with and without timings, the bytes without
 * timings identical when every timing differs (and the bytes with them not), every real
 * reading back exactly, invalid UTF-8 in an output replaced and flagged, a non-finite
 * figure refused with its name.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "ecology/evaluator.h"

typedef struct small {
    eco_eval_report r;
    eco_eval_cap_figures f[2];
    eco_eval_result c[2];
    eco_gate_failure fail[3];
    char *nm[1];
    eco_verdict v;
} small;

/* One capability, two cases (one passed, one failed), a rejected verdict with a quality
 * failure, a latency failure and a set gate failed as not measured (value NaN: JSON null),
 * one default gate not measured. */
static void small_init(small *s) {
    memset(s, 0, sizeof *s);
    eco_eval_report *r = &s->r;
    r->model = (char *)"eco-tiny";
    r->adapter = (char *)"data/adapters/text.reverse@1";
    memset(r->corpus_sha256, 'c', ECO_SHA256_HEX_LEN);
    memset(r->gates_sha256, 'g', ECO_SHA256_HEX_LEN);
    r->caps = (eco_eval_caps){.threads = 2,
                              .max_tokens = 16,
                              .case_timeout_ms = 30000,
                              .robustness = true,
                              .seed = 7,
                              .n_deny = 3};
    r->n_caps = 2;
    r->caps_fig = s->f;
    for (int i = 0; i < 2; i++) {
        eco_eval_cap_figures *f = &s->f[i];
        f->capability = (char *)(i ? "overall" : "text.reverse@1");
        ECO_ASSERT_OK(eco_rate_wilson(1, 2, &f->quality));
        f->quality_by_tag[0] = f->quality;
        ECO_ASSERT_OK(eco_rate_wilson(0, 0, &f->quality_by_tag[1]));
        f->format = f->refusal = f->compliance = f->quality_by_tag[1];
        const double conf[2] = {0.75, 0.25};
        const uint8_t ok[2] = {1, 0};
        ECO_ASSERT_OK(eco_calibration_compute(conf, ok, 2, &f->calibration));
        const double rp[ECO_PERTURB__COUNT] = {0.5, 1, 0.5, 0};
        memcpy(f->robust_pass, rp, sizeof rp);
        ECO_ASSERT_OK(eco_robustness_summary(rp, ECO_PERTURB__COUNT, &f->robustness));
    }
    r->n_results = 2;
    r->results = s->c;
    s->c[0] = (eco_eval_result){.index = 0,
                                .id = (char *)"rev-1",
                                .passed = true,
                                .deny_hit = -1,
                                .confidence = 0.75,
                                .chosen = -1,
                                .output = (char *)"elahw",
                                .output_len = 5,
                                .perturbed_pass = 0x5,
                                .latency_ms = 12.5,
                                .prompt_tokens = 9,
                                .gen_tokens = 3,
                                .prompt_ms = 2.5,
                                .decode_ms = 10};
    s->c[1] = (eco_eval_result){.index = 1,
                                .passed = false,
                                .truncated = true,
                                .deny_hit = 2,
                                .confidence = 0.25,
                                .chosen = -1,
                                .output = (char *)"pih\"s\n",
                                .output_len = 6,
                                .reason = (char *)"truncated at max_tokens",
                                .latency_ms = 40,
                                .prompt_tokens = 8,
                                .gen_tokens = 16,
                                .prompt_ms = 4,
                                .decode_ms = 36};
    r->deny_hits = 1;
    double lat[2] = {12.5, 40};
    ECO_ASSERT_OK(eco_latency_compute(lat, 2, &r->latency_ms));
    r->prompt_tok_s = 2833.3333333333335;
    r->decode_tok_s = 413.04347826086956;
    r->peak_rss_bytes = 123456789;
    r->n_params = 1234567;
    r->bytes_on_disk = 4938268;
    r->wall_s = 0.0625;

    s->fail[0] = (eco_gate_failure){(char *)"quality.min[text.reverse@1]", 0.5, 0.9, false};
    s->fail[1] = (eco_gate_failure){(char *)"latency.max_p95_ms", 40, 20, false};
    s->fail[2] = (eco_gate_failure){(char *)"quality.min_shift[text.reverse@1]", NAN, 0.05, true};
    s->nm[0] = (char *)"safety.min_refusal_rate";
    s->v = (eco_verdict){.accepted = false,
                         .n_failures = 3,
                         .failures = s->fail,
                         .n_not_measured = 1,
                         .not_measured = s->nm};
}

/* noinline: inlined at -O3, gcc 12 takes the returned buffer for a pointer to `out` itself
 * (a false -Wdangling-pointer in test_parse_errors). */
__attribute__((noinline)) static char *to_json(const eco_eval_report *r, const eco_verdict *v,
                                               bool timing) {
    char *out = NULL;
    ECO_ASSERT_OK(eco_eval_report_json(r, v, timing, &out));
    assert_non_null(out);
    return out;
}

/* clang-format off */
static const char GOLDEN_NO_TIMING[] =
    "{\"adapter\":\"data/adapters/text.reverse@1\",\"capabilities\":{\"text.reverse@1\":{\"calibrat"
    "ion\":{\"acc_top10\":1.0,\"accuracy\":0.5,\"brier\":0.0625,\"ece_em\":0.25,\"ece_ew\":0.25,\"m"
    "ean_conf\":0.5,\"n\":2,\"n_top10\":1,\"small_n\":true},\"compliance\":{\"hi\":1.0,\"k\":0,\"lo"
    "\":0.0,\"n\":0,\"rate\":0.0},\"format\":{\"hi\":1.0,\"k\":0,\"lo\":0.0,\"n\":0,\"rate\":0.0},"
    "\"in_distribution\":{\"hi\":0.90546879426576932,\"k\":1,\"lo\":0.094531205734230739,\"n\":2,\""
    "rate\":0.5},\"quality\":{\"hi\":0.90546879426576932,\"k\":1,\"lo\":0.094531205734230739,\"n\":"
    "2,\"rate\":0.5},\"refusal\":{\"hi\":1.0,\"k\":0,\"lo\":0.0,\"n\":0,\"rate\":0.0},\"robustness"
    "\":{\"kinds\":{\"case\":1.0,\"prefix\":0.0,\"space\":0.5,\"typo\":0.5},\"mean\":0.5,\"worst\":"
    "0.0,\"worst_kind\":\"prefix\"},\"shift\":{\"hi\":1.0,\"k\":0,\"lo\":0.0,\"n\":0,\"rate\":0.0}}"
    "},\"caps\":{\"case_timeout_ms\":30000.0,\"max_tokens\":16,\"n_deny\":3,\"robustness\":true,\"s"
    "eed\":7,\"threads\":2},\"cases\":[{\"chosen\":null,\"confidence\":0.75,\"deny_hit\":null,\"for"
    "mat_valid\":false,\"id\":\"rev-1\",\"index\":0,\"output\":\"elahw\",\"passed\":true,\"perturbe"
    "d\":{\"case\":false,\"prefix\":false,\"space\":true,\"typo\":true},\"reason\":null,\"refused\""
    ":false,\"timed_out\":false,\"tokens\":{\"generated\":3,\"prompt\":9},\"truncated\":false},{\"c"
    "hosen\":null,\"confidence\":0.25,\"deny_hit\":2,\"format_valid\":false,\"id\":null,\"index\":1"
    ",\"output\":\"pih\\\"s\\n\",\"passed\":false,\"perturbed\":{\"case\":false,\"prefix\":false,\""
    "space\":false,\"typo\":false},\"reason\":\"truncated at max_tokens\",\"refused\":false,\"timed"
    "_out\":false,\"tokens\":{\"generated\":16,\"prompt\":8},\"truncated\":true}],\"corpus\":\"cccc"
    "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\",\"evaluator_version\":\"1\",\"g"
    "ates\":\"gggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggggg\",\"model\":\"eco-ti"
    "ny\",\"overall\":{\"calibration\":{\"acc_top10\":1.0,\"accuracy\":0.5,\"brier\":0.0625,\"ece_e"
    "m\":0.25,\"ece_ew\":0.25,\"mean_conf\":0.5,\"n\":2,\"n_top10\":1,\"small_n\":true},\"complianc"
    "e\":{\"hi\":1.0,\"k\":0,\"lo\":0.0,\"n\":0,\"rate\":0.0},\"format\":{\"hi\":1.0,\"k\":0,\"lo\""
    ":0.0,\"n\":0,\"rate\":0.0},\"in_distribution\":{\"hi\":0.90546879426576932,\"k\":1,\"lo\":0.09"
    "4531205734230739,\"n\":2,\"rate\":0.5},\"quality\":{\"hi\":0.90546879426576932,\"k\":1,\"lo\":"
    "0.094531205734230739,\"n\":2,\"rate\":0.5},\"refusal\":{\"hi\":1.0,\"k\":0,\"lo\":0.0,\"n\":0,"
    "\"rate\":0.0},\"robustness\":{\"kinds\":{\"case\":1.0,\"prefix\":0.0,\"space\":0.5,\"typo\":0."
    "5},\"mean\":0.5,\"worst\":0.0,\"worst_kind\":\"prefix\"},\"shift\":{\"hi\":1.0,\"k\":0,\"lo\":"
    "0.0,\"n\":0,\"rate\":0.0}},\"safety\":{\"compliance\":{\"hi\":1.0,\"k\":0,\"lo\":0.0,\"n\":0,"
    "\"rate\":0.0},\"deny_hits\":1,\"refusal\":{\"hi\":1.0,\"k\":0,\"lo\":0.0,\"n\":0,\"rate\":0.0}"
    "},\"size\":{\"bytes_on_disk\":4938268,\"n_params\":1234567},\"verdict\":{\"accepted\":false,\""
    "coverage\":0.0,\"failures\":[{\"gate\":\"quality.min[text.reverse@1]\",\"limit\":0.900000000"
    "00000002,\"value\":0.5},{\"gate\":\"latency.max_p95_ms\",\"limit\":20.0},{\"gate\":\"quality"
    ".min_shift[text.reverse@1]\",\"limit\":0.050000000000000003,\"not_measured\":true,\"value\":n"
    "ull}],\"fitness\":null,\"not_measured\":[\"safety.min_refusal_rate\"],\"signature_ok\":false}"
    "}";
/* The end of the bytes with timings: the report's "timing" and the verdict's. */
static const char GOLDEN_TIMING_TAIL[] =
    ",\"timing\":{\"decode_tok_s\":413.04347826086956,\"latency_ms\":{\"max\":40.0,\"mean\":26.25,"
    "\"min\":12.5,\"n\":2,\"p50\":12.5,\"p95\":40.0,\"p99\":40.0},\"peak_rss_bytes\":123456789,\"pr"
    "ompt_tok_s\":2833.3333333333335,\"wall_s\":0.0625},\"verdict\":{\"accepted\":false,\"coverag"
    "e\":0.0,\"failures\":[{\"gate\":\"quality.min[text.reverse@1]\",\"limit\":0.9000000000000000"
    "2,\"value\":0.5},{\"gate\":\"latency.max_p95_ms\",\"limit\":20.0,\"timing\":{\"value\":40.0}"
    "},{\"gate\":\"quality.min_shift[text.reverse@1]\",\"limit\":0.050000000000000003,\"not_measu"
    "red\":true,\"value\":null}],\"fitness\":null,\"not_measured\":[\"safety.min_refusal_rate\"],"
    "\"signature_ok\":false}}";
/* clang-format on */

static void test_golden(void **state) {
    (void)state;
    small s;
    small_init(&s);
    char *a = to_json(&s.r, &s.v, false);
    char *b = to_json(&s.r, &s.v, true);
    printf("without timing:\n%s\nwith timing:\n%s\n", a, b);
    assert_string_equal(a, GOLDEN_NO_TIMING);
    assert_non_null(strstr(b, GOLDEN_TIMING_TAIL));
    assert_null(strstr(a, "timing"));
    free(a);
    free(b);
}

/* Every timing figure changed: the bytes without timings stay, those with them move. */
static void test_timing_apart(void **state) {
    (void)state;
    small s, t;
    small_init(&s);
    small_init(&t);
    t.c[0].latency_ms = 99.25;
    t.c[0].prompt_ms = 1;
    t.c[0].decode_ms = 98.25;
    t.c[1].latency_ms = 3;
    t.c[1].prompt_ms = 0.5;
    t.c[1].decode_ms = 2.5;
    double lat[2] = {99.25, 3};
    ECO_ASSERT_OK(eco_latency_compute(lat, 2, &t.r.latency_ms));
    t.r.prompt_tok_s = 17;
    t.r.decode_tok_s = 5;
    t.r.peak_rss_bytes = 987654321;
    t.r.wall_s = 3.5;
    t.fail[1].value = 99.25; /* the latency gate's measured value */
    char *a = to_json(&s.r, &s.v, false), *b = to_json(&t.r, &t.v, false);
    assert_string_equal(a, b);
    free(a);
    free(b);
    a = to_json(&s.r, &s.v, true);
    b = to_json(&t.r, &t.v, true);
    assert_string_not_equal(a, b);
    free(a);
    free(b);

    /* An accepted verdict: the fitness terms that depend on timing sit under "timing". */
    s.v = (eco_verdict){.accepted = true, .has_fitness = true};
    s.v.fitness = (eco_fitness){.total = 1.25,
                                .quality = 0.5,
                                .calibration = 0.2,
                                .robustness = 0.3,
                                .coverage = 0.5,
                                .latency = -0.125,
                                .memory = -0.125,
                                .objectives = {0.5, 1, 1, 1, -2.5, -2.5}};
    t.v = s.v;
    t.v.fitness.latency = -1;
    t.v.fitness.total = 0.375;
    t.v.fitness.objectives[4] = -20;
    a = to_json(&s.r, &s.v, false);
    b = to_json(&t.r, &t.v, false);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "\"fitness\":{\"calibration\":0.20000000000000001,\"coverage\":0.5,"
                              "\"quality\":0.5,\"robustness\":0.29999999999999999}"));
    free(a);
    free(b);
    a = to_json(&s.r, &s.v, true);
    assert_non_null(strstr(a, "\"timing\":{\"latency\":-0.125,\"memory\":-0.125,\"objectives\":"
                              "[0.5,1.0,1.0,1.0,-2.5,-2.5],\"total\":1.25}"));
    free(a);
}

/* Reals read back exactly (17 significant digits), through a JSON reader. */
static void test_round_trip(void **state) {
    (void)state;
    small s;
    small_init(&s);
    char *a = to_json(&s.r, &s.v, true);
    json_error_t err;
    json_t *doc = json_loads(a, 0, &err);
    assert_non_null(doc);
    const json_t *q =
        json_object_get(json_object_get(json_object_get(doc, "overall"), "quality"), "lo");
    assert_true(json_is_real(q));
    printf("overall quality lo: struct %.17g, JSON %.17g\n", s.f[1].quality.lo, json_real_value(q));
    assert_true(json_real_value(q) == s.f[1].quality.lo);
    const json_t *t = json_object_get(json_object_get(doc, "timing"), "decode_tok_s");
    assert_true(json_real_value(t) == s.r.decode_tok_s);
    const json_t *c = json_array_get(json_object_get(doc, "cases"), 1);
    assert_string_equal(json_string_value(json_object_get(c, "output")), "pih\"s\n");
    json_decref(doc);
    free(a);
}

static void test_utf8_and_errors(void **state) {
    (void)state;
    small s;
    small_init(&s);
    s.c[0].output = (char *)"ok\xff\xc3\xa9";
    s.c[0].output_len = 5;
    char *a = to_json(&s.r, NULL, false);
    assert_non_null(
        strstr(a, "\"output\":\"ok\xef\xbf\xbd\xc3\xa9\",\"output_invalid_utf8\":true"));
    assert_null(strstr(a, "verdict"));
    free(a);

    small_init(&s);
    s.f[0].calibration.brier = NAN;
    char *out = (char *)1;
    ECO_ASSERT_STATUS(eco_eval_report_json(&s.r, &s.v, false, &out), ECO_STATUS_EINVAL);
    assert_null(out);
    assert_non_null(strstr(eco_last_error(), "calibration.brier"));
    small_init(&s);
    s.c[1].latency_ms = INFINITY; /* only checked where written */
    a = to_json(&s.r, &s.v, false);
    free(a);
    ECO_ASSERT_STATUS(eco_eval_report_json(&s.r, &s.v, true, &out), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "latency_ms"));
    small_init(&s);
    s.f[1].capability = (char *)"text.reverse@1"; /* two figures of one name, no "overall" */
    ECO_ASSERT_STATUS(eco_eval_report_json(&s.r, &s.v, false, &out), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "'text.reverse@1' twice"));
    ECO_ASSERT_STATUS(eco_eval_report_json(NULL, NULL, false, &out), ECO_STATUS_EINVAL);
    /* A seed past INT64_MAX is a decimal string. */
    small_init(&s);
    s.r.caps.seed = UINT64_MAX;
    a = to_json(&s.r, NULL, false);
    assert_non_null(strstr(a, "\"seed\":\"18446744073709551615\""));
    free(a);
}

/* Parses text (must succeed) into *r. */
static void parse_ok(const char *text, eco_eval_report *r, bool *sig, double *cov) {
    eco_status st = eco_eval_report_parse(text, strlen(text), "report.json", r, sig, cov);
    if (st) print_error("parse: %s\n", eco_last_error());
    ECO_ASSERT_OK(st);
}

/* A stored report reads back to the same bytes (with and without timing, with and without
 * a verdict), and judging it again gives the same verdict bytes as judging the original;
 * stricter gates reject it. */
static void test_parse_round_trip(void **state) {
    (void)state;
    small s;
    small_init(&s);
    memset(s.r.gates_sha256, 'e', ECO_SHA256_HEX_LEN); /* hex, as a real one */
    eco_gates *g = NULL;
    const char *gates = "{\"quality\": {\"min\": {\"text.reverse@1\": 0.5}},"
                        " \"safety\": {\"max_deny_hits\": 1},"
                        " \"latency\": {\"max_p95_ms\": 100}}";
    ECO_ASSERT_OK(eco_gates_parse(gates, strlen(gates), "gates.json", &g));
    eco_verdict v0;
    ECO_ASSERT_OK(eco_gates_judge(g, &s.r, true, 0.25, &v0));
    assert_true(v0.accepted);
    for (int timing = 0; timing < 2; timing++) {
        for (int with_v = 0; with_v < 2; with_v++) {
            char *a = to_json(&s.r, with_v ? &v0 : NULL, timing);
            eco_eval_report r;
            bool sig = !with_v;
            double cov = -1;
            parse_ok(a, &r, &sig, &cov);
            assert_true(sig == (bool)with_v); /* no verdict: not known to have passed */
            assert_true(cov == (with_v ? 0.25 : 0));
            char *b = to_json(&r, with_v ? &v0 : NULL, timing);
            if (strcmp(a, b) != 0) printf("original:\n%s\nread back:\n%s\n", a, b);
            assert_string_equal(a, b);
            if (with_v && timing) { /* re-judged: the same verdict bytes */
                eco_verdict v1;
                ECO_ASSERT_OK(eco_gates_judge(g, &r, sig, cov, &v1));
                char *j0 = NULL, *j1 = NULL;
                ECO_ASSERT_OK(eco_verdict_json(&v0, true, &j0));
                ECO_ASSERT_OK(eco_verdict_json(&v1, true, &j1));
                printf("verdict re-judged: %s\n", j1);
                assert_string_equal(j0, j1);
                char *in = malloc(strlen(j0) + 16);
                sprintf(in, "\"verdict\":%s", j0); /* the report's own member */
                assert_non_null(strstr(a, in));
                free(in);
                free(j0);
                free(j1);
                eco_verdict_free(&v1);
                /* stricter gates reject the stored report */
                eco_gates *g2 = NULL;
                const char *strict = "{\"quality\": {\"min\": {\"text.reverse@1\": 0.75}},"
                                     " \"safety\": {\"max_deny_hits\": 1}}";
                ECO_ASSERT_OK(eco_gates_parse(strict, strlen(strict), "strict.json", &g2));
                ECO_ASSERT_OK(eco_gates_judge(g2, &r, sig, cov, &v1));
                assert_false(v1.accepted);
                assert_int_equal(v1.n_failures, 1);
                assert_string_equal(v1.failures[0].gate, "quality.min[text.reverse@1]");
                assert_true(v1.failures[0].value == 0.5);
                eco_verdict_free(&v1);
                eco_gates_free(g2);
            }
            if (!timing) assert_int_equal(r.latency_ms.n, 0); /* no timing: not measured */
            eco_eval_report_free(&r);
            free(a);
            free(b);
        }
    }
    eco_verdict_free(&v0);
    eco_gates_free(g);
}

/* A malformed stored report is refused naming the field. */
static void test_parse_errors(void **state) {
    (void)state;
    small s;
    small_init(&s);
    memset(s.r.gates_sha256, 'e', ECO_SHA256_HEX_LEN);
    char *a = to_json(&s.r, &s.v, true);
    static const struct {
        const char *from, *to, *want;
    } edits[] = {
        {"\"evaluator_version\":\"1\"", "\"evaluator_version\":\"9\"", "evaluator_version: '9'"},
        {"\"model\":", "\"mode\":", "unknown field 'mode'"},
        {"\"n_deny\":3", "\"n_deny\":-3", "caps.n_deny"},
        {"\"deny_hits\":1", "\"deny_hits\":true", "safety.deny_hits"},
        {"\"rate\":0.5}", "\"rate\":0.25}", "rate: 0.25"},
        {"\"worst\":0.0", "\"worst\":0.5", "robustness: mean, worst"},
        {"\"corpus\":\"cc", "\"corpus\":\"Xc", "corpus: not a SHA-256"},
        {"\"index\":1,", "\"index\":\"1\",", "cases[1].index"},
        {"\"p95\":40.0", "\"p95\":-1", "timing.latency_ms.p95"},
        {"\"overall\":{", "\"overall\":null,\"x\":{", "unknown field 'x'"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        const char *at = strstr(a, edits[i].from);
        assert_non_null(at);
        size_t n = strlen(a) + strlen(edits[i].to) + 1;
        char *t = malloc(n);
        snprintf(t, n, "%.*s%s%s", (int)(at - a), a, edits[i].to, at + strlen(edits[i].from));
        eco_eval_report r;
        bool sig;
        double cov;
        eco_status st = eco_eval_report_parse(t, strlen(t), "report.json", &r, &sig, &cov);
        printf("%s -> %s: %s\n", edits[i].from, edits[i].to, eco_last_error());
        assert_true(st == ECO_STATUS_EFORMAT || st == ECO_STATUS_EUNSUPPORTED);
        assert_non_null(strstr(eco_last_error(), "report.json: "));
        assert_non_null(strstr(eco_last_error(), edits[i].want));
        assert_int_equal(r.n_caps, 0); /* zeroed on error */
        free(t);
    }
    eco_eval_report r;
    bool sig;
    double cov;
    ECO_ASSERT_STATUS(eco_eval_report_parse("[1]", 3, "r.json", &r, &sig, &cov),
                      ECO_STATUS_EFORMAT);
    ECO_ASSERT_STATUS(eco_eval_report_parse("{", 1, "r.json", &r, &sig, &cov), ECO_STATUS_EFORMAT);
    free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),           cmocka_unit_test(test_timing_apart),
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_utf8_and_errors),
        cmocka_unit_test(test_parse_round_trip), cmocka_unit_test(test_parse_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
