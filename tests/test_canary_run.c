/*
 * The canary runner (daemon.h, "canary runner") on fake engines whose answers, latencies
 * and errors are scripted, over a registry in a temporary folder, with the known outcomes
 * of issue 21: a clearly worse canary aborted at the first step, a clearly better one
 * promoted in exactly interval × maxWeight/stepWeight requests (alias moved by "canary"),
 * an equal one not promoted, a safety alert aborting at once, a failing engine aborted on
 * its error rate, a promotion refused without an accepted report; the event's members, the
 * hard examples (the champion's failures, once per prompt, in the training format), the
 * telemetry, the status JSON and the refused options.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "ecology/daemon.h"
#include "ecology/evaluator.h"
#include "ecology/promotion.h"
#include "ecology/registry.h"
#include "ecology/runtime.h"
#include "ecology/tasks.h"
#include "ecology/verifier.h"

#define CAP     "t.echo@1"
#define N_CASES 150 /* exact cases q<i> -> a<i> */
#define N_HARM  10  /* refusal cases in the safety corpus */

/* ---- fake engines ------------------------------------------------------------------------ */

typedef struct behaviour {
    const char *id;
    int quality_pct; /* exact case i answered right when (i·37 + salt) mod 100 < quality_pct */
    int salt;
    double latency_ms; /* base; + (i mod 7) · 0.5 */
    int error_pct;     /* infer fails (EIO) when (i·53) mod 100 < error_pct */
    bool harmful;      /* answers refusal cases instead of refusing */
} behaviour;

static const behaviour B[] = {
    {"champ", 70, 0, 20.0, 0, false},     {"better", 100, 0, 20.0, 0, false},
    {"worse", 20, 0, 20.0, 0, false},     {"equal", 70, 0, 20.0, 0, false},
    {"unsafe", 100, 0, 20.0, 0, true},    {"flaky", 70, 0, 20.0, 60, false},
    {"noreport", 100, 0, 20.0, 0, false}, {"slow", 70, 0, 60.0, 0, false},
};
enum { N_B = sizeof B / sizeof *B };

typedef struct fake {
    eco_engine base; /* first */
    eco_genome g;
    const behaviour *b;
    size_t calls;
} fake;

static const eco_genome *fake_genome(const eco_engine *e) { return &((const fake *)e)->g; }

static eco_status fake_infer(eco_engine *e, const eco_infer_request *req,
                             eco_infer_response *resp) {
    fake *f = (fake *)e;
    memset(resp, 0, sizeof *resp);
    f->calls++;
    char text[128];
    int i = 0;
    if (sscanf(req->prompt, "q %d", &i) == 1) {
        if ((i * 53) % 100 < f->b->error_pct) return eco_error(ECO_STATUS_EIO, "fake: down");
        const bool right = (i * 37 + f->b->salt) % 100 < f->b->quality_pct;
        snprintf(text, sizeof text, right ? "a%d" : "wrong %d", i);
    } else if (sscanf(req->prompt, "harm %d", &i) == 1) {
        snprintf(text, sizeof text, "%s",
                 f->b->harmful ? "Sure, here it is" : ECO_VERIFIER_REFUSAL_MARKER);
    } else {
        return eco_error(ECO_STATUS_EINVAL, "fake: unexpected prompt '%s'", req->prompt);
    }
    resp->text = strdup(text);
    resp->text_len = strlen(text);
    resp->tokens = calloc(1, sizeof *resp->tokens);
    resp->logprobs = calloc(1, sizeof *resp->logprobs);
    assert_non_null(resp->text);
    resp->n_tokens = 1;
    resp->logprobs[0] = -0.1f;
    resp->n_prompt_tokens = 3;
    resp->prompt_ms = f->b->latency_ms + (i % 7) * 0.5;
    resp->decode_ms = 1.0;
    resp->finish_reason = "stop";
    return ECO_STATUS_OK;
}

static void fake_destroy(eco_engine *e) {
    fake *f = (fake *)e;
    free(f->g.id);
    free(f);
}

static const behaviour *find_b(const char *id) {
    for (int i = 0; i < N_B; i++)
        if (strcmp(B[i].id, id) == 0) return &B[i];
    return NULL;
}

static eco_status open_fake(void *ctx, const char *id, eco_engine **out) {
    int *opened = ctx;
    const behaviour *b = find_b(id);
    if (!b) return eco_error(ECO_STATUS_ENOTFOUND, "fake: no engine '%s'", id);
    fake *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->base.genome = fake_genome;
    f->base.infer = fake_infer;
    f->base.destroy = fake_destroy;
    f->g.id = strdup(id);
    f->b = b;
    (*opened)++;
    *out = &f->base;
    return ECO_STATUS_OK;
}

/* ---- the registry, the traffic, the reports ------------------------------------------------ */

typedef struct fixture {
    char *dir, *data, *traffic, *safety, *hard;
    eco_registry *r;
    int opened;
} fixture;

static void reg(eco_registry *r, const char *id) {
    eco_genome g;
    ECO_ASSERT_OK(eco_test_build_genome(eco_registry_store(r), &g, id, ECO_GENOME_KIND_BASE, NULL,
                                        NULL, NULL, 'a', NULL));
    bool created = false;
    ECO_ASSERT_OK(eco_registry_register(r, &g, NULL, &created));
    eco_genome_free(&g);
}

static char *path_in(const char *dir, const char *name) {
    char *p = eco_path_join(dir, name);
    assert_non_null(p);
    return p;
}

static void write_corpus(const char *path, bool harm) {
    eco_buf b = {0};
    for (int i = 0; i < N_CASES; i++) {
        assert_true(eco_buf_printf(&b,
                                   "{\"capability\": \"" CAP "\", \"prompt\": \"q %d\", "
                                   "\"check\": \"exact\", \"expected\": \" a%d\\n\"}\n",
                                   i, i));
        if (harm && i % (N_CASES / N_HARM) == 0)
            assert_true(eco_buf_printf(&b,
                                       "{\"capability\": \"" CAP "\", \"prompt\": \"harm %d\", "
                                       "\"check\": \"refusal\"}\n",
                                       i));
    }
    eco_test_write_file(path, b.data, b.len);
    eco_buf_free(&b);
}

/* An accepted report of id on the traffic, stored as `ecology eval` stores one. */
static void add_report(fixture *fx, const char *id) {
    eco_engine *e = NULL;
    ECO_ASSERT_OK(open_fake(&fx->opened, id, &e));
    eco_eval_corpus *c = NULL;
    ECO_ASSERT_OK(eco_eval_corpus_load(fx->traffic, &c));
    eco_eval_caps caps;
    eco_eval_caps_init(&caps);
    caps.robustness = false;
    eco_eval_report rep;
    ECO_ASSERT_OK(eco_evaluate(e, c, &caps, id, NULL, NULL, NULL, &rep));
    const char *gj = "{\"signature\": {\"required\": false}}";
    eco_gates *g = NULL;
    ECO_ASSERT_OK(eco_gates_parse(gj, strlen(gj), "gates", &g));
    eco_verdict v;
    ECO_ASSERT_OK(eco_gates_judge(g, &rep, false, 0.0, &v));
    assert_true(v.accepted);
    char *json = NULL;
    ECO_ASSERT_OK(eco_eval_report_json(&rep, &v, true, &json));
    ECO_ASSERT_OK(eco_registry_add_report(fx->r, id, json));
    free(json);
    eco_verdict_free(&v);
    eco_gates_free(g);
    eco_eval_report_free(&rep);
    eco_eval_corpus_free(c);
    eco_engine_destroy(e);
}

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->dir = eco_test_tmpdir();
    fx->data = path_in(fx->dir, "data");
    fx->traffic = path_in(fx->dir, "traffic.jsonl");
    fx->safety = path_in(fx->dir, "safety.jsonl");
    fx->hard = path_in(fx->dir, "hard.jsonl");
    ECO_ASSERT_OK(eco_registry_init(fx->data));
    eco_registry_options opt = {.data_dir = fx->data};
    ECO_ASSERT_OK(eco_registry_open(&opt, &fx->r));
    for (int i = 0; i < N_B; i++) reg(fx->r, B[i].id);
    write_corpus(fx->traffic, false);
    write_corpus(fx->safety, true);
    char alias[ECO_PROMOTION_ALIAS_MAX];
    ECO_ASSERT_OK(eco_promotion_alias(CAP, "champion", alias));
    ECO_ASSERT_OK(eco_registry_alias_set(fx->r, alias, "champ", NULL));
    for (int i = 0; i < N_B; i++)
        if (strcmp(B[i].id, "noreport") && strcmp(B[i].id, "flaky")) add_report(fx, B[i].id);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    eco_registry_close(fx->r);
    eco_test_rmtree(fx->dir);
    free(fx->dir);
    free(fx->data);
    free(fx->traffic);
    free(fx->safety);
    free(fx->hard);
    free(fx);
    return 0;
}

/* 20% -> 40% -> 60%, 200 requests a step, the first failed step aborts. */
static const eco_canary_settings SET = {
    .step_weight = 20, .max_weight = 60, .interval = 200, .threshold = 1};

static eco_canary_run_options options(fixture *fx, const char *challenger, const char *traffic) {
    eco_canary_run_options o = {.run = "t",
                                .generation = 3,
                                .capability = CAP,
                                .champion = CAP ".champion",
                                .challenger = challenger,
                                .settings = &SET,
                                .traffic_path = traffic ? traffic : fx->traffic,
                                .open = open_fake,
                                .open_ctx = &fx->opened};
    return o;
}

static char *champion_now(fixture *fx) {
    char *id = NULL;
    ECO_ASSERT_OK(eco_registry_alias_get(fx->r, CAP ".champion", &id));
    return id;
}

/* The event res names, its detail parsed. */
static json_t *event_detail(fixture *fx, const eco_canary_run_result *res, const char *challenger) {
    eco_registry_event *e = NULL;
    size_t n = 0;
    ECO_ASSERT_OK(eco_registry_events(fx->r, res->event_seq - 1, &e, &n));
    assert_true(n >= 1);
    assert_int_equal(e[0].seq, res->event_seq);
    assert_string_equal(e[0].type, "canary");
    assert_string_equal(e[0].model_id, challenger);
    json_error_t err;
    json_t *d = json_loads(e[0].detail, 0, &err);
    assert_non_null(d);
    eco_registry_events_free(e, n);
    return d;
}

static void set_champion(fixture *fx, const char *id) {
    ECO_ASSERT_OK(eco_registry_alias_set(fx->r, CAP ".champion", id, "*"));
}

/* Runs o, prints its reasons, and checks the outcome: promoted or not, the requests (0: not
 * checked), a piece of the reasons, and the champion alias after (the challenger when
 * promoted, "champ" otherwise). */
static eco_canary_run_result expect_run(fixture *fx, const eco_canary_run_options *o, bool promoted,
                                        size_t requests, const char *piece) {
    eco_canary_run_result res;
    ECO_ASSERT_OK(eco_canary_run(fx->r, o, &res));
    printf("%s: %s (%zu requests)\n", o->challenger, res.reasons, res.requests);
    assert_int_equal(res.promoted, promoted);
    if (requests) assert_int_equal(res.requests, requests);
    assert_non_null(strstr(res.reasons, piece));
    char *now = champion_now(fx);
    assert_string_equal(now, promoted ? o->challenger : "champ");
    free(now);
    return res;
}

/* ---- the outcomes ----------------------------------------------------------------------- */

static void test_better_promoted(void **state) {
    fixture *fx = *state;
    set_champion(fx, "champ");
    eco_canary_run_options o = options(fx, "better", NULL);
    eco_canary_timing t;
    ECO_ASSERT_OK(eco_canary_settings_timing(&SET, &t));
    eco_canary_run_result res =
        expect_run(fx, &o, true, (size_t)t.promote_requests, /* 200 × 60/20 */
                   "better than the champion");
    assert_int_equal(res.steps, 3);
    json_t *d = event_detail(fx, &res, "better");
    assert_string_equal(json_string_value(json_object_get(d, "decision")), "promote");
    assert_int_equal(json_integer_value(json_object_get(d, "weight")), 60);
    assert_int_equal(json_integer_value(json_object_get(d, "step")), 3);
    assert_int_equal(json_integer_value(json_object_get(d, "generation")), 3);
    assert_string_equal(json_string_value(json_object_get(d, "champion")), "champ");
    json_t *imp = json_object_get(d, "improvement");
    assert_true(json_is_true(json_object_get(imp, "better")));
    assert_true(json_real_value(json_object_get(imp, "p_better")) < ECO_CANARY_ALPHA);
    json_t *can = json_object_get(json_object_get(d, "arms"), "canary");
    json_t *cha = json_object_get(json_object_get(d, "arms"), "champion");
    assert_int_equal(json_integer_value(json_object_get(can, "n")) +
                         json_integer_value(json_object_get(cha, "n")),
                     (json_int_t)res.requests);
    assert_int_equal(json_integer_value(json_object_get(can, "correct")),
                     json_integer_value(json_object_get(can, "n"))); /* quality 100% */
    assert_true(json_is_true(json_object_get(json_object_get(d, "verdict"), "pass")));
    json_t *timing = json_object_get(d, "timing");
    assert_int_equal(json_integer_value(json_object_get(timing, "min_promote_requests")), 600);
    assert_int_equal(json_integer_value(json_object_get(timing, "rollback_requests")), 200);
    assert_true(json_real_value(json_object_get(timing, "min_promote_seconds")) > 0);
    json_decref(d);
    /* the promotion's own event: by the canary, from the old champion */
    eco_registry_event *e = NULL;
    size_t n = 0;
    ECO_ASSERT_OK(eco_registry_events(fx->r, 0, &e, &n));
    bool found = false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].type, "promote") == 0 && strstr(e[i].detail, "\"by\":\"canary\"") &&
            strstr(e[i].detail, "\"from\":\"champ\"") && strstr(e[i].detail, "\"to\":\"better\""))
            found = true;
    assert_true(found);
    eco_registry_events_free(e, n);
    /* the canary alias names the challenger */
    char *c = NULL;
    ECO_ASSERT_OK(eco_registry_alias_get(fx->r, CAP ".canary", &c));
    assert_string_equal(c, "better");
    free(c);
}

static void test_worse_aborted_first_step(void **state) {
    fixture *fx = *state;
    set_champion(fx, "champ");
    eco_canary_run_options o = options(fx, "worse", NULL);
    eco_canary_run_result res = expect_run(fx, &o, false, SET.interval, "quality");
    assert_int_equal(res.steps, 1);
    json_t *d = event_detail(fx, &res, "worse");
    assert_string_equal(json_string_value(json_object_get(d, "decision")), "abort");
    assert_int_equal(json_integer_value(json_object_get(d, "weight")), 20);
    json_t *failed = json_object_get(json_object_get(d, "verdict"), "failed");
    assert_string_equal(json_string_value(json_array_get(failed, 0)), "quality");
    assert_false(json_is_true(json_object_get(json_object_get(d, "verdict"), "critical")));
    json_decref(d);
    /* threshold 2: the first failed step holds, the second aborts */
    eco_canary_settings s2 = SET;
    s2.threshold = 2;
    o.settings = &s2;
    expect_run(fx, &o, false, 2 * SET.interval, "quality");
}

static void test_equal_not_promoted(void **state) {
    fixture *fx = *state;
    set_champion(fx, "champ");
    eco_canary_run_options o = options(fx, "equal", NULL);
    /* the judge passed every step (not worse), so it ran to maxWeight: not better */
    eco_canary_run_result res = expect_run(fx, &o, false, 600, "not better than the champion");
    json_t *d = event_detail(fx, &res, "equal");
    assert_string_equal(json_string_value(json_object_get(d, "decision")), "abort");
    assert_true(json_is_true(json_object_get(json_object_get(d, "verdict"), "pass")));
    assert_false(json_is_true(json_object_get(json_object_get(d, "improvement"), "better")));
    json_decref(d);
}

static void test_safety_alert_aborts_at_once(void **state) {
    fixture *fx = *state;
    set_champion(fx, "champ");
    eco_canary_run_options o = options(fx, "unsafe", fx->safety);
    eco_canary_run_result res = expect_run(fx, &o, false, 0, "safety alert");
    assert_true(res.requests < (size_t)SET.interval); /* mid-step */
    assert_int_equal(res.steps, 1);
    json_t *d = event_detail(fx, &res, "unsafe");
    json_t *v = json_object_get(d, "verdict");
    assert_true(json_is_true(json_object_get(v, "critical")));
    assert_int_equal(json_integer_value(json_object_get(v, "safety_alerts")), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(d, "arms"), "canary"), "safety_alerts")),
                     1);
    json_decref(d);
    /* the deny list: a term in an answer is an alert too (wrong answers say "wrong <i>") */
    const char *terms[] = {"wrong"};
    o = options(fx, "worse", NULL);
    o.deny = terms;
    o.n_deny = 1;
    res = expect_run(fx, &o, false, 0, "safety alert");
    assert_true(res.requests < (size_t)SET.interval);
}

static void test_errors_abort(void **state) {
    fixture *fx = *state;
    set_champion(fx, "champ");
    eco_canary_run_options o = options(fx, "flaky", NULL);
    expect_run(fx, &o, false, SET.interval, "errors");
}

static void test_slower_aborted(void **state) {
    fixture *fx = *state;
    set_champion(fx, "champ");
    eco_canary_run_options o = options(fx, "slow", NULL);
    eco_canary_run_result res = expect_run(fx, &o, false, SET.interval, "latency");
    json_t *d = event_detail(fx, &res, "slow");
    json_t *lat = json_object_get(json_object_get(d, "verdict"), "latency");
    assert_string_equal(json_string_value(json_object_get(lat, "class")), "high");
    json_t *can = json_object_get(json_object_get(d, "arms"), "canary");
    assert_true(json_real_value(json_object_get(can, "p50_ms")) >= 61.0);
    json_decref(d);
}

static void test_promotion_needs_report(void **state) {
    fixture *fx = *state;
    set_champion(fx, "champ");
    eco_canary_run_options o = options(fx, "noreport", NULL);
    expect_run(fx, &o, false, 600, "promotion refused");
}

/* ---- what the run leaves: hard examples, telemetry, status ------------------------------- */

static void test_hard_examples_and_telemetry(void **state) {
    fixture *fx = *state;
    set_champion(fx, "champ");
    eco_telemetry *t = NULL;
    ECO_ASSERT_OK(eco_telemetry_create(NULL, &t));
    eco_canary_run_options o = options(fx, "worse", fx->safety);
    o.hard_examples_path = fx->hard;
    o.telemetry = t;
    eco_canary_settings s2 = SET;
    s2.threshold = 3; /* 600 requests: the 160 cases cycled more than three times */
    o.settings = &s2;
    eco_canary_run_result res;
    ECO_ASSERT_OK(eco_canary_run(fx->r, &o, &res));
    assert_int_equal(res.requests, 600);
    /* the champion's failures: exact cases it gets wrong, each once; it refuses every harm */
    char *text = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_read_file(fx->hard, 1 << 20, &text, &len));
    size_t lines = 0, want = 0;
    for (int i = 0; i < N_CASES; i++) {
        if ((i * 37) % 100 >= 70) { /* champ answers it wrong: served to it at least once? */
            char prompt[64], line[160];
            snprintf(prompt, sizeof prompt, "q %d", i);
            snprintf(line, sizeof line, "{\"completion\":\" a%d\\n\",\"prompt\":\"q %d\"}\n", i, i);
            if (strstr(text, line)) want++;
        }
    }
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    assert_int_equal(lines, res.hard_examples);
    assert_int_equal(want, lines); /* every line is a champion failure in the training format */
    assert_true(lines > 20);
    free(text);
    eco_telemetry_stats st;
    ECO_ASSERT_OK(eco_telemetry_get(t, "champ", CAP, &st));
    eco_telemetry_stats sc;
    ECO_ASSERT_OK(eco_telemetry_get(t, "worse", CAP, &sc));
    assert_int_equal(st.requests + sc.requests, res.requests);
    assert_true(sc.failures > sc.requests / 2);
    eco_telemetry_free(t);

    /* a champion that answers harmful requests: its refusal cases come back as refusals to
     * learn, " I can't help with that.\n"; its exact answers are all right (none kept) */
    set_champion(fx, "unsafe");
    o = options(fx, "better", fx->safety);
    o.champion = "unsafe";
    o.hard_examples_path = fx->hard;
    ECO_ASSERT_OK(eco_canary_run(fx->r, &o, &res));
    ECO_ASSERT_OK(eco_read_file(fx->hard, 1 << 20, &text, &len));
    lines = 0;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    assert_int_equal(lines, res.hard_examples);
    assert_true(lines >= 1 && lines <= N_HARM);
    for (const char *p = text; (p = strstr(p, "\"prompt\":")) != NULL; p++)
        assert_true(strncmp(p, "\"prompt\":\"harm ", 15) == 0);
    assert_int_equal(
        strstr(text, "{\"completion\":\" " ECO_TASKS_REFUSAL "\\n\",\"prompt\":\"harm ") == text,
        1);
    free(text);
}

static void test_status_json(void **state) {
    fixture *fx = *state;
    set_champion(fx, "champ");
    eco_canary_run_options o = options(fx, "worse", NULL);
    eco_canary_run_result res;
    ECO_ASSERT_OK(eco_canary_run(fx->r, &o, &res));
    char *text = NULL;
    ECO_ASSERT_OK(eco_canary_status_json(fx->r, NULL, &text));
    json_error_t err;
    json_t *a = json_loads(text, 0, &err);
    free(text);
    assert_int_equal(json_array_size(a), 1);
    json_t *e = json_array_get(a, 0);
    assert_string_equal(json_string_value(json_object_get(e, "capability")), CAP);
    assert_string_equal(json_string_value(json_object_get(e, "champion")), "champ");
    assert_string_equal(json_string_value(json_object_get(e, "canary")), "worse");
    json_t *last = json_object_get(e, "last");
    assert_int_equal(json_integer_value(json_object_get(last, "seq")), res.event_seq);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(last, "detail"), "decision")), "abort");
    json_decref(a);
    /* a capability without a canary: one entry, last null */
    ECO_ASSERT_OK(eco_canary_status_json(fx->r, "t.none@1", &text));
    a = json_loads(text, 0, &err);
    free(text);
    assert_int_equal(json_array_size(a), 1);
    assert_true(json_is_null(json_object_get(json_array_get(a, 0), "last")));
    assert_true(json_is_null(json_object_get(json_array_get(a, 0), "champion")));
    json_decref(a);
}

static void test_refused_options(void **state) {
    fixture *fx = *state;
    set_champion(fx, "champ");
    eco_canary_run_result res;
    eco_canary_run_options o = options(fx, "champ", NULL);
    ECO_ASSERT_STATUS(eco_canary_run(fx->r, &o, &res), ECO_STATUS_EINVAL); /* itself */
    assert_non_null(strstr(eco_last_error(), "is the champion"));
    o = options(fx, "nobody", NULL);
    ECO_ASSERT_STATUS(eco_canary_run(fx->r, &o, &res), ECO_STATUS_ENOTFOUND);
    o = options(fx, "better", NULL);
    eco_canary_settings bad = SET;
    bad.max_weight = 10;
    o.settings = &bad;
    ECO_ASSERT_STATUS(eco_canary_run(fx->r, &o, &res), ECO_STATUS_EINVAL);
    o = options(fx, "better", NULL);
    o.capability = NULL;
    ECO_ASSERT_STATUS(eco_canary_run(fx->r, &o, &res), ECO_STATUS_EINVAL);
    o = options(fx, "better", NULL);
    o.n_deny = 2;
    ECO_ASSERT_STATUS(eco_canary_run(fx->r, &o, &res), ECO_STATUS_EINVAL);
    /* a choice case is scored, not served */
    char *choice = path_in(fx->dir, "choice.jsonl");
    const char *line = "{\"capability\": \"" CAP "\", \"prompt\": \"q 1\", \"check\": \"choice\", "
                       "\"options\": [\"a\", \"b\"], \"answer\": 0}\n";
    eco_test_write_file(choice, line, strlen(line));
    o = options(fx, "better", choice);
    ECO_ASSERT_STATUS(eco_canary_run(fx->r, &o, &res), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "choice"));
    o = options(fx, "better", "/nonexistent/traffic.jsonl");
    assert_int_not_equal(eco_canary_run(fx->r, &o, &res), ECO_STATUS_OK);
    free(choice);
    /* nothing was promoted or recorded by the refusals */
    char *now = champion_now(fx);
    assert_string_equal(now, "champ");
    free(now);
    assert_int_equal(res.event_seq, -1);
}

/* ---- real engines: the registry's opener and the pool's --------------------------------------- */

/* The shipped eco-tiny with its sort and reverse adapters, one step of 30 reverse requests
 * at 50%: both openers give the same greedy answers, so the same arms and counts. */
static void test_real_engines_registry_and_pool(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    char *data = path_in(dir, "data"), *traffic = path_in(dir, "rev.jsonl");
    ECO_ASSERT_OK(eco_registry_init(data));
    eco_registry_options opt = {.data_dir = data, .trust_cache = true};
    eco_registry *r = NULL;
    ECO_ASSERT_OK(eco_registry_open(&opt, &r));
    const char *rel[3] = {"data/models/eco-tiny", "data/adapters/text.sort@1",
                          "data/adapters/text.reverse@1"};
    const char *ids[3] = {"eco-tiny", "sort", "rev"};
    for (int i = 0; i < 3; i++) {
        char *src = eco_test_source_path(rel[i]);
        eco_add_options ao = {.id = ids[i], .base = i ? "eco-tiny" : NULL};
        ECO_ASSERT_OK(eco_registry_add_dir(r, src, &ao, NULL));
        free(src);
    }
    eco_buf b = {0};
    const char *words[] = {"cat", "table", "river", "glass", "north", "apple"};
    for (int i = 0; i < 30; i++) {
        char w[16], rv[16];
        snprintf(w, sizeof w, "%s%c", words[i % 6], 'a' + i / 6); /* 30 distinct words */
        size_t n = strlen(w);
        for (size_t k = 0; k < n; k++) rv[k] = w[n - 1 - k];
        rv[n] = '\0';
        assert_true(eco_buf_printf(&b,
                                   "{\"capability\": \"text.reverse@1\", \"id\": \"r%d\", "
                                   "\"prompt\": \"Reverse: %s\\nReversed:\", \"check\": \"exact\", "
                                   "\"expected\": \"%s\", \"max_tokens\": 22}\n",
                                   i, w, rv));
    }
    eco_test_write_file(traffic, b.data, b.len);
    eco_buf_free(&b);
    const eco_canary_settings one = {
        .step_weight = 50, .max_weight = 50, .interval = 30, .threshold = 1};
    eco_canary_run_options o = {.run = "real",
                                .capability = "text.reverse@1",
                                .champion = "sort",
                                .challenger = "rev",
                                .settings = &one,
                                .traffic_path = traffic,
                                .threads = 1};
    eco_canary_run_result res[2];
    json_t *arms[2];
    eco_pool *pool = NULL;
    ECO_ASSERT_OK(eco_pool_create(r, NULL, &pool));
    for (int k = 0; k < 2; k++) {
        o.open = k ? eco_canary_open_pool : NULL;
        o.open_ctx = k ? pool : NULL;
        ECO_ASSERT_OK(eco_canary_run(r, &o, &res[k]));
        printf("real engines (%s): %s\n", k ? "pool" : "registry", res[k].reasons);
        assert_int_equal(res[k].requests, 30);
        json_t *d = event_detail(&(fixture){.r = r}, &res[k], "rev");
        arms[k] = json_incref(json_object_get(d, "arms"));
        json_decref(d);
    }
    for (int a = 0; a < 2; a++) {
        const char *arm = a ? "champion" : "canary";
        json_t *x = json_object_get(arms[0], arm), *y = json_object_get(arms[1], arm);
        assert_true(json_integer_value(json_object_get(x, "n")) > 5);
        for (const char *const *f = (const char *const[]){"n", "correct", "errors", NULL}; *f; f++)
            assert_int_equal(json_integer_value(json_object_get(x, *f)),
                             json_integer_value(json_object_get(y, *f)));
    }
    /* the reverse adapter reverses, the sort adapter does not */
    assert_true(
        json_integer_value(json_object_get(json_object_get(arms[0], "canary"), "correct")) >
        json_integer_value(json_object_get(json_object_get(arms[0], "champion"), "correct")));
    json_decref(arms[0]);
    json_decref(arms[1]);
    eco_pool_destroy(pool);
    eco_registry_close(r);
    eco_test_rmtree(dir);
    free(dir);
    free(data);
    free(traffic);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_better_promoted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worse_aborted_first_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_equal_not_promoted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_safety_alert_aborts_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slower_aborted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_promotion_needs_report, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hard_examples_and_telemetry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_options, setup, teardown),
        cmocka_unit_test(test_real_engines_registry_and_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
