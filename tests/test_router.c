/*
 * The router (include/ecology/router.h) over scripted engines: the confidence function, the
 * policy parser's malformed-input table and its round trip through canonical JSON, the route
 * table's checks, and each policy: the cascade escalating exactly the low-confidence answers
 * (2 and 3 stages, a failing stage), capability ranking by quality then cost within a
 * profile with fallback on failure, ensemble majority and confidence votes, the canary split
 * sending its share and agreeing with eco_route_canary_pick, the shadow's answer scored and
 * discarded, a canary split inside a capability route, the eco_router contract's route, and
 * the trace's JSON.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "test_util.h"

#include "ecology/router.h"

/* ---- a scripted engine ----------------------------------------------------------------------- */

/* Answers "<name>:<prompt>" (or its fixed answer) with 3 tokens whose log-probabilities are
 * all log(conf), conf from conf_of(prompt) (a number after "q " in the prompt indexes
 * confs[]) or the engine's fixed confidence; fails when fail is set. */
typedef struct fake {
    eco_engine base;
    eco_genome g;
    const char *name;
    const char *answer; /* NULL: "<name>:<prompt>" */
    double conf;        /* used when confs is NULL */
    const double *confs;
    size_t n_confs;
    bool fail;
    int calls;
} fake;

static const eco_genome *fake_genome(const eco_engine *e) { return &((const fake *)e)->g; }

static double fake_conf(const fake *f, const char *prompt) {
    if (!f->confs) return f->conf;
    unsigned k = 0;
    if (sscanf(prompt, "q %u", &k) != 1 || k >= f->n_confs) return f->conf;
    return f->confs[k];
}

static eco_status fake_infer(eco_engine *e, const eco_infer_request *req, eco_infer_response *r) {
    fake *f = (fake *)e;
    f->calls++;
    if (f->fail) return eco_error(ECO_STATUS_EIO, "%s: scripted failure", f->name);
    char text[256];
    if (f->answer)
        snprintf(text, sizeof text, "%s", f->answer);
    else
        snprintf(text, sizeof text, "%s:%s", f->name, req->prompt);
    memset(r, 0, sizeof *r);
    r->text = eco_strdup(text);
    r->text_len = strlen(text);
    r->n_tokens = 3;
    r->tokens = calloc(3, sizeof *r->tokens);
    r->logprobs = calloc(3, sizeof *r->logprobs);
    const double c = fake_conf(f, req->prompt);
    for (int i = 0; i < 3; i++) r->logprobs[i] = (float)log(c);
    r->finish_reason = "length";
    return ECO_STATUS_OK;
}

static void fake_destroy(eco_engine *e) { (void)e; }

static void fake_init(fake *f, const char *name) {
    memset(f, 0, sizeof *f);
    f->base = (eco_engine){.genome = fake_genome, .infer = fake_infer, .destroy = fake_destroy};
    f->g.id = (char *)name;
    f->name = name;
    f->conf = 0.9;
}

static eco_route_node *parse_ok(const char *json) {
    eco_route_node *p = NULL;
    ECO_ASSERT_OK(eco_route_policy_parse(json, strlen(json), "policy.json", &p));
    return p;
}

static eco_policy_router *router_ok(const eco_route_target *t, size_t n, const char *json) {
    eco_route_node *p = parse_ok(json);
    eco_policy_router *r = NULL;
    ECO_ASSERT_OK(eco_router_create(t, n, p, &r));
    eco_route_policy_free(p);
    return r;
}

static eco_infer_request request(const char *prompt, const char *cap) {
    eco_infer_request q;
    eco_infer_request_init(&q);
    q.prompt = prompt;
    q.capability = cap;
    q.max_tokens = 3;
    return q;
}

/* ---- confidence ------------------------------------------------------------------------------ */

static void test_confidence(void **state) {
    (void)state;
    float lp[3] = {logf(0.5f), logf(0.25f), logf(1.0f)};
    eco_infer_response r = {.logprobs = lp, .n_tokens = 3};
    /* exp(mean) = (0.5 · 0.25 · 1)^(1/3) = 0.5 */
    assert_true(fabs(eco_route_confidence(&r) - 0.5) < 1e-6);
    r.n_tokens = 0;
    assert_true(eco_route_confidence(&r) == 0);
    assert_true(eco_route_confidence(NULL) == 0);
    r.n_tokens = 3;
    lp[1] = -INFINITY;
    assert_true(eco_route_confidence(&r) == 0);
    lp[1] = NAN;
    assert_true(eco_route_confidence(&r) == 0);
    lp[0] = lp[1] = lp[2] = 0;
    assert_true(eco_route_confidence(&r) == 1);
}

/* ---- the parser ------------------------------------------------------------------------------ */

static void test_policy_table(void **state) {
    (void)state;
    static const struct {
        const char *json;
        const char *want; /* NULL: accepted; else a piece of the message */
    } cases[] = {
        {"\"a\"", NULL},
        {"{\"policy\":\"capability\"}", NULL},
        {"{\"policy\":\"capability\",\"capability\":\"arith.add@1\",\"profile\":{\"max_p95_ms\":"
         "50,\"max_resident_bytes\":1000000},\"members\":[\"a\",{\"policy\":\"canary\",\"share\":"
         "0.1,\"champion\":\"b\",\"canary\":\"c\"}]}",
         NULL},
        {"{\"policy\":\"cascade\",\"threshold\":0.7,\"stages\":[\"a\",\"b\"]}", NULL},
        {"{\"policy\":\"cascade\",\"threshold\":1,\"stages\":[\"a\",\"b\",\"c\"]}", NULL},
        {"{\"policy\":\"ensemble\",\"members\":[\"a\",\"b\"]}", NULL},
        {"{\"policy\":\"ensemble\",\"vote\":\"confidence\",\"members\":[\"a\",\"b\",\"c\"]}", NULL},
        {"{\"policy\":\"canary\",\"share\":0,\"champion\":\"a\",\"canary\":\"b\"}", NULL},
        {"{\"policy\":\"shadow\",\"champion\":\"a\",\"canary\":\"b\"}", NULL},
        {"", "invalid JSON"},
        {"{\"policy\":\"cascade\",", "invalid JSON"},
        {"42", "expected a target id (a string) or a policy (an object)"},
        {"\"\"", "an empty target id"},
        {"{}", "policy: missing"},
        {"{\"policy\":7}", "policy: expected a string"},
        {"{\"policy\":\"router\"}", "policy: 'router': expected capability, cascade"},
        {"{\"policy\":\"target\"}", "policy: 'target': expected"},
        {"{\"policy\":\"capability\",\"x\":1}", "unknown field 'x'"},
        {"{\"policy\":\"capability\",\"capability\":\"\"}", "capability: empty"},
        {"{\"policy\":\"capability\",\"capability\":3}", "capability: expected a string"},
        {"{\"policy\":\"capability\",\"profile\":{\"max_p95\":3}}", "profile: unknown field"},
        {"{\"policy\":\"capability\",\"profile\":{\"max_p95_ms\":-1}}", "profile.max_p95_ms"},
        {"{\"policy\":\"capability\",\"profile\":{\"max_resident_bytes\":1.5}}",
         "profile.max_resident_bytes"},
        {"{\"policy\":\"capability\",\"profile\":[]}", "profile: expected an object"},
        {"{\"policy\":\"capability\",\"members\":[]}", "members: empty"},
        {"{\"policy\":\"capability\",\"members\":\"a\"}", "members: expected an array"},
        {"{\"policy\":\"capability\",\"members\":[\"a\",3]}", "members[1]: expected a target id"},
        {"{\"policy\":\"cascade\",\"stages\":[\"a\",\"b\"]}", "threshold: missing"},
        {"{\"policy\":\"cascade\",\"threshold\":0,\"stages\":[\"a\",\"b\"]}",
         "threshold: 0 outside (0, 1]"},
        {"{\"policy\":\"cascade\",\"threshold\":1.5,\"stages\":[\"a\",\"b\"]}", "threshold"},
        {"{\"policy\":\"cascade\",\"threshold\":\"0.5\",\"stages\":[\"a\",\"b\"]}",
         "threshold: expected a number"},
        {"{\"policy\":\"cascade\",\"threshold\":0.5,\"stages\":[\"a\"]}",
         "stages: 1 entries, expected 2"},
        {"{\"policy\":\"cascade\",\"threshold\":0.5}", "stages: missing"},
        {"{\"policy\":\"ensemble\",\"vote\":\"max\",\"members\":[\"a\",\"b\"]}",
         "vote: 'max': expected \"majority\" or \"confidence\""},
        {"{\"policy\":\"ensemble\",\"members\":[\"a\"]}", "members: 1 entries"},
        {"{\"policy\":\"canary\",\"champion\":\"a\",\"canary\":\"b\"}", "share: missing"},
        {"{\"policy\":\"canary\",\"share\":1.1,\"champion\":\"a\",\"canary\":\"b\"}",
         "share: 1.1 outside [0, 1]"},
        {"{\"policy\":\"canary\",\"share\":0.1,\"canary\":\"b\"}", "champion: missing"},
        {"{\"policy\":\"canary\",\"share\":0.1,\"champion\":\"a\"}", "canary: missing"},
        {"{\"policy\":\"canary\",\"share\":0.1,\"champion\":\"a\",\"canary\":\"\"}",
         "canary: an empty target id"},
        {"{\"policy\":\"shadow\",\"share\":0.1,\"champion\":\"a\",\"canary\":\"b\"}",
         "unknown field 'share'"},
        {"{\"policy\":\"shadow\",\"champion\":\"a\",\"canary\":{\"policy\":\"cascade\","
         "\"threshold\""
         ":0.5,\"stages\":[\"a\",null]}}",
         "canary.stages[1]: expected a target id"},
        {"{\"policy\":\"capability\",\"policy\":\"capability\"}", "duplicate"},
        {"\"a\\u0000b\"", "is not allowed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        eco_route_node *p = NULL;
        eco_status st =
            eco_route_policy_parse(cases[i].json, strlen(cases[i].json), "policy.json", &p);
        if (!cases[i].want) {
            if (st != ECO_STATUS_OK) {
                print_error("case %zu %s: refused: %s\n", i, cases[i].json, eco_last_error());
                fail();
            }
            /* the round trip: canonical JSON parses back to the same canonical JSON */
            char *a = NULL, *b = NULL;
            ECO_ASSERT_OK(eco_route_policy_json(p, &a));
            eco_route_node *q = NULL;
            ECO_ASSERT_OK(eco_route_policy_parse(a, strlen(a), "again", &q));
            ECO_ASSERT_OK(eco_route_policy_json(q, &b));
            assert_string_equal(a, b);
            free(a);
            free(b);
            eco_route_policy_free(q);
            eco_route_policy_free(p);
            continue;
        }
        if (st == ECO_STATUS_OK || p != NULL || strncmp(eco_last_error(), "policy.json", 11) != 0 ||
            !strstr(eco_last_error(), cases[i].want)) {
            print_error("case %zu %s: got %s '%s', want a refusal naming '%s'\n", i, cases[i].json,
                        eco_status_str(st), eco_last_error(), cases[i].want);
            fail();
        }
        assert_int_equal(st, ECO_STATUS_EFORMAT);
    }
}

static void test_policy_limits(void **state) {
    (void)state;
    /* nested deeper than the limit */
    eco_buf b = {0};
    for (int i = 0; i < ECO_ROUTE_MAX_DEPTH + 2; i++)
        assert_true(eco_buf_puts(&b, "{\"policy\":\"shadow\",\"canary\":\"a\",\"champion\":"));
    assert_true(eco_buf_puts(&b, "\"a\""));
    for (int i = 0; i < ECO_ROUTE_MAX_DEPTH + 2; i++) assert_true(eco_buf_puts(&b, "}"));
    eco_route_node *p = NULL;
    ECO_ASSERT_STATUS(eco_route_policy_parse(b.data, b.len, "deep.json", &p), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "nested more than"));
    /* too many children */
    eco_buf_reset(&b);
    assert_true(eco_buf_puts(&b, "{\"policy\":\"ensemble\",\"members\":["));
    for (int i = 0; i <= ECO_ROUTE_MAX_CHILDREN; i++)
        assert_true(eco_buf_printf(&b, "%s\"a\"", i ? "," : ""));
    assert_true(eco_buf_puts(&b, "]}"));
    ECO_ASSERT_STATUS(eco_route_policy_parse(b.data, b.len, "wide.json", &p), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "members: 65 entries"));
    eco_buf_free(&b);
    /* too large */
    char *big = calloc(ECO_ROUTE_MAX_POLICY_BYTES + 2, 1);
    memset(big, ' ', ECO_ROUTE_MAX_POLICY_BYTES + 1);
    ECO_ASSERT_STATUS(eco_route_policy_parse(big, ECO_ROUTE_MAX_POLICY_BYTES + 1, "big.json", &p),
                      ECO_STATUS_EFORMAT);
    free(big);
    ECO_ASSERT_STATUS(eco_route_policy_parse("\"a\"", 3, NULL, NULL), ECO_STATUS_EINVAL);
}

/* ---- the table ------------------------------------------------------------------------------- */

static void test_create_checks(void **state) {
    (void)state;
    fake a, b;
    fake_init(&a, "a");
    fake_init(&b, "b");
    eco_route_target t[2] = {{.id = "a", .engine = &a.base}, {.id = "b", .engine = &b.base}};
    eco_route_node *p = parse_ok("{\"policy\":\"canary\",\"share\":0.5,\"champion\":\"a\","
                                 "\"canary\":\"nobody\"}");
    eco_policy_router *r = NULL;
    ECO_ASSERT_STATUS(eco_router_create(t, 2, p, &r), ECO_STATUS_ENOTFOUND);
    assert_non_null(strstr(eco_last_error(), "canary: unknown target 'nobody'"));
    eco_route_policy_free(p);
    p = parse_ok("\"a\"");
    t[1].id = "a";
    ECO_ASSERT_STATUS(eco_router_create(t, 2, p, &r), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "'a' given twice"));
    t[1].id = "b";
    t[1].cost = -1;
    ECO_ASSERT_STATUS(eco_router_create(t, 2, p, &r), ECO_STATUS_EINVAL);
    t[1].cost = 0;
    t[1].engine = NULL;
    ECO_ASSERT_STATUS(eco_router_create(t, 2, p, &r), ECO_STATUS_EINVAL);
    t[1].engine = &b.base;
    const char *caps[] = {"x"};
    const double q[] = {1.5};
    t[1].capabilities = caps;
    t[1].quality = q;
    t[1].n_capabilities = 1;
    ECO_ASSERT_STATUS(eco_router_create(t, 2, p, &r), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_router_create(t, 0, p, &r), ECO_STATUS_EINVAL);
    eco_route_policy_free(p);
}

/* ---- cascade --------------------------------------------------------------------------------- */

#define N_REQ 200

static void test_cascade_escalates_low_confidence(void **state) {
    (void)state;
    /* the weak engine's confidence for request k: seeded uniform; the cascade must call the
     * strong engine for exactly the requests whose weak confidence is under 0.6 */
    double conf[N_REQ];
    eco_rng rng;
    eco_rng_seed(&rng, 21);
    for (int k = 0; k < N_REQ; k++) {
        conf[k] = eco_rng_uniform(&rng);
        if (fabs(conf[k] - 0.6) < 1e-3) conf[k] = 0.3; /* keep float rounding off the edge */
    }
    fake weak, strong;
    fake_init(&weak, "weak");
    fake_init(&strong, "strong");
    weak.confs = conf;
    weak.n_confs = N_REQ;
    strong.conf = 0.2; /* the last stage answers whatever its confidence */
    /* listed strong first: the cascade puts the cheaper first */
    eco_route_target t[2] = {{.id = "strong", .engine = &strong.base, .cost = 10},
                             {.id = "weak", .engine = &weak.base, .cost = 1}};
    eco_policy_router *r = router_ok(
        t, 2, "{\"policy\":\"cascade\",\"threshold\":0.6,\"stages\":[\"strong\",\"weak\"]}");
    eco_route_trace tr = {0};
    int escalated = 0;
    for (int k = 0; k < N_REQ; k++) {
        char prompt[32], id[32];
        snprintf(prompt, sizeof prompt, "q %d", k);
        snprintf(id, sizeof id, "req-%d", k);
        eco_infer_request q = request(prompt, NULL);
        eco_infer_response resp;
        const int before = strong.calls;
        ECO_ASSERT_OK(eco_router_answer(r, id, &q, &resp, &tr));
        const bool low = conf[k] < 0.6;
        escalated += low;
        assert_int_equal(strong.calls - before, low ? 1 : 0);
        assert_int_equal(tr.n_calls, low ? 2 : 1);
        assert_int_equal(tr.n_escalations, low ? 1 : 0);
        assert_string_equal(eco_router_target_id(r, tr.calls[0].target), "weak");
        assert_true(fabs(tr.calls[0].confidence - conf[k]) < 1e-5);
        assert_int_equal(tr.calls[0].escalated, low);
        assert_int_equal(tr.calls[0].chosen, !low);
        assert_int_equal(tr.calls[0].via, ECO_ROUTE_KIND_CASCADE);
        if (low) assert_true(tr.calls[1].chosen && !tr.calls[1].escalated);
        char want[64];
        snprintf(want, sizeof want, "%s:%s", low ? "strong" : "weak", prompt);
        assert_string_equal(resp.text, want);
        assert_string_equal(eco_router_target_id(r, tr.answered), low ? "strong" : "weak");
        eco_infer_response_free(&resp);
    }
    assert_int_equal(weak.calls, N_REQ);
    assert_int_equal(strong.calls, escalated);
    assert_true(escalated > 0.5 * N_REQ && escalated < 0.7 * N_REQ);
    eco_router_free(r);

    /* three stages; the middle one fails: a low-confidence first answer goes on to the third */
    fake mid;
    fake_init(&mid, "mid");
    mid.fail = true;
    eco_route_target t3[3] = {{.id = "weak", .engine = &weak.base, .cost = 1},
                              {.id = "mid", .engine = &mid.base, .cost = 5},
                              {.id = "strong", .engine = &strong.base, .cost = 10}};
    r = router_ok(
        t3, 3,
        "{\"policy\":\"cascade\",\"threshold\":0.6,\"stages\":[\"weak\",\"mid\",\"strong\"]}");
    eco_infer_request q = request("q 0", NULL);
    conf[0] = 0.1;
    eco_infer_response resp;
    ECO_ASSERT_OK(eco_router_answer(r, "x", &q, &resp, &tr));
    assert_int_equal(tr.n_calls, 3);
    assert_int_equal(tr.n_failures, 1);
    assert_int_equal(tr.calls[1].status, ECO_STATUS_EIO);
    assert_string_equal(resp.text, "strong:q 0");
    eco_infer_response_free(&resp);
    /* and when the last fails too, the low-confidence answer stands */
    strong.fail = true;
    ECO_ASSERT_OK(eco_router_answer(r, "x", &q, &resp, &tr));
    assert_string_equal(resp.text, "weak:q 0");
    assert_true(tr.calls[0].chosen);
    assert_int_equal(tr.n_failures, 2);
    eco_infer_response_free(&resp);
    /* every stage failing: the last error */
    weak.fail = true;
    ECO_ASSERT_STATUS(eco_router_answer(r, "x", &q, &resp, &tr), ECO_STATUS_EIO);
    assert_null(resp.text);
    assert_true(tr.answered == SIZE_MAX);
    eco_router_free(r);
    eco_route_trace_free(&tr);
}

/* ---- capability ------------------------------------------------------------------------------ */

static void test_capability_ranking(void **state) {
    (void)state;
    fake a, b, c;
    fake_init(&a, "a");
    fake_init(&b, "b");
    fake_init(&c, "c");
    const char *add[] = {"arith.add@1", "text.sort@1"}, *add_only[] = {"arith.add@1"};
    const double qa[] = {0.7, 0.9}, qb[] = {0.9}, qc[] = {0.9};
    /* b and c tie on quality for add: the cheaper (c) first; c is too slow for a 50 ms profile */
    eco_route_target t[3] = {{.id = "a",
                              .engine = &a.base,
                              .capabilities = add,
                              .quality = qa,
                              .n_capabilities = 2,
                              .cost = 1},
                             {.id = "b",
                              .engine = &b.base,
                              .capabilities = add_only,
                              .quality = qb,
                              .n_capabilities = 1,
                              .cost = 5,
                              .p95_ms = 20},
                             {.id = "c",
                              .engine = &c.base,
                              .capabilities = add_only,
                              .quality = qc,
                              .n_capabilities = 1,
                              .cost = 3,
                              .p95_ms = 80}};
    eco_policy_router *r = router_ok(t, 3, "{\"policy\":\"capability\"}");
    eco_route_trace tr = {0};
    eco_infer_request q = request("1+1=", "arith.add@1");
    eco_infer_response resp;
    ECO_ASSERT_OK(eco_router_answer(r, "r1", &q, &resp, &tr));
    assert_string_equal(resp.text, "c:1+1=");
    assert_int_equal(tr.calls[0].via, ECO_ROUTE_KIND_CAPABILITY);
    eco_infer_response_free(&resp);
    /* the contract's order: c, b, a */
    eco_engine *order[4];
    size_t n;
    eco_router *ct = eco_router_contract(r);
    ECO_ASSERT_OK(ct->route(ct, "r1", &q, order, 4, &n));
    assert_int_equal(n, 3);
    assert_ptr_equal(order[0], &c.base);
    assert_ptr_equal(order[1], &b.base);
    assert_ptr_equal(order[2], &a.base);
    /* c fails: b answers */
    c.fail = true;
    ECO_ASSERT_OK(eco_router_answer(r, "r1", &q, &resp, &tr));
    assert_string_equal(resp.text, "b:1+1=");
    assert_int_equal(tr.n_calls, 2);
    assert_int_equal(tr.n_failures, 1);
    eco_infer_response_free(&resp);
    c.fail = false;
    /* sort: only a */
    q.capability = "text.sort@1";
    ECO_ASSERT_OK(eco_router_answer(r, "r1", &q, &resp, &tr));
    assert_string_equal(resp.text, "a:1+1=");
    eco_infer_response_free(&resp);
    /* nobody: ENOTFOUND; no capability: EINVAL */
    q.capability = "text.reverse@1";
    ECO_ASSERT_STATUS(eco_router_answer(r, "r1", &q, &resp, &tr), ECO_STATUS_ENOTFOUND);
    assert_non_null(strstr(eco_last_error(), "'text.reverse@1'"));
    ECO_ASSERT_STATUS(ct->route(ct, "r1", &q, order, 4, &n), ECO_STATUS_ENOTFOUND);
    q.capability = NULL;
    ECO_ASSERT_STATUS(eco_router_answer(r, "r1", &q, &resp, &tr), ECO_STATUS_EINVAL);
    eco_router_free(r);

    /* a profile: c (80 ms) excluded, so b first */
    r = router_ok(t, 3,
                  "{\"policy\":\"capability\",\"capability\":\"arith.add@1\","
                  "\"profile\":{\"max_p95_ms\":50}}");
    ECO_ASSERT_OK(eco_router_answer(r, "r1", &q, &resp, &tr));
    assert_string_equal(resp.text, "b:1+1=");
    eco_infer_response_free(&resp);
    eco_router_free(r);
    eco_route_trace_free(&tr);
}

/* ---- ensemble -------------------------------------------------------------------------------- */

static void test_ensemble(void **state) {
    (void)state;
    fake a, b, c;
    fake_init(&a, "a");
    fake_init(&b, "b");
    fake_init(&c, "c");
    a.answer = "42\nmore";
    a.conf = 0.5;
    b.answer = " 42 ";
    b.conf = 0.6;
    c.answer = "41";
    c.conf = 0.99;
    eco_route_target t[3] = {{.id = "a", .engine = &a.base},
                             {.id = "b", .engine = &b.base},
                             {.id = "c", .engine = &c.base}};
    eco_policy_router *r =
        router_ok(t, 3, "{\"policy\":\"ensemble\",\"members\":[\"a\",\"b\",\"c\"]}");
    eco_route_trace tr = {0};
    eco_infer_request q = request("6*7=", NULL);
    eco_infer_response resp;
    /* majority: "42" twice (a's and b's answer spans agree); b the more confident of the two */
    ECO_ASSERT_OK(eco_router_answer(r, "e", &q, &resp, &tr));
    assert_string_equal(resp.text, " 42 ");
    assert_int_equal(tr.n_calls, 3);
    assert_true(!tr.calls[0].chosen && tr.calls[1].chosen && !tr.calls[2].chosen);
    eco_infer_response_free(&resp);
    eco_router_free(r);
    /* confidence: c */
    r = router_ok(
        t, 3, "{\"policy\":\"ensemble\",\"vote\":\"confidence\",\"members\":[\"a\",\"b\",\"c\"]}");
    ECO_ASSERT_OK(eco_router_answer(r, "e", &q, &resp, &tr));
    assert_string_equal(resp.text, "41");
    eco_infer_response_free(&resp);
    eco_router_free(r);
    /* a tie of one vote each: the most confident; a failed member does not vote */
    b.fail = true;
    r = router_ok(t, 3, "{\"policy\":\"ensemble\",\"members\":[\"a\",\"b\",\"c\"]}");
    ECO_ASSERT_OK(eco_router_answer(r, "e", &q, &resp, &tr));
    assert_string_equal(resp.text, "41");
    assert_int_equal(tr.n_failures, 1);
    eco_infer_response_free(&resp);
    eco_router_free(r);
    eco_route_trace_free(&tr);
}

/* ---- canary and shadow ----------------------------------------------------------------------- */

static double score_len(void *user, const eco_infer_request *req, const eco_infer_response *s,
                        const eco_infer_response *champ) {
    (void)req;
    ++*(int *)user;
    return (double)s->text_len - (double)champ->text_len;
}

static void test_canary_and_shadow(void **state) {
    (void)state;
    fake champ, can;
    fake_init(&champ, "champ");
    fake_init(&can, "can");
    eco_route_target t[2] = {{.id = "champ", .engine = &champ.base},
                             {.id = "can", .engine = &can.base}};
    eco_policy_router *r = router_ok(
        t, 2, "{\"policy\":\"canary\",\"share\":0.1,\"champion\":\"champ\",\"canary\":\"can\"}");
    eco_route_trace tr = {0};
    eco_infer_request q = request("hello", NULL);
    int to_canary = 0;
    const int n = 4000;
    for (int k = 0; k < n; k++) {
        char id[32];
        snprintf(id, sizeof id, "request-%d", k);
        eco_infer_response resp;
        ECO_ASSERT_OK(eco_router_answer(r, id, &q, &resp, &tr));
        const bool pick = eco_route_canary_pick(id, 0.1);
        assert_int_equal(tr.n_arms, 1);
        assert_int_equal(tr.arms[0].canary, pick);
        assert_string_equal(resp.text, pick ? "can:hello" : "champ:hello");
        to_canary += pick;
        eco_infer_response_free(&resp);
    }
    /* 10% ± 4.5 standard errors */
    assert_true(fabs((double)to_canary / n - 0.1) < 4.5 * sqrt(0.09 / n));
    assert_int_equal(can.calls, to_canary);
    eco_router_free(r);

    /* shadow: the champion answers, the canary's answer is scored and discarded */
    r = router_ok(t, 2, "{\"policy\":\"shadow\",\"champion\":\"champ\",\"canary\":\"can\"}");
    int scored = 0;
    eco_router_set_scorer(r, score_len, &scored);
    eco_infer_response resp;
    ECO_ASSERT_OK(eco_router_answer(r, "s1", &q, &resp, &tr));
    assert_string_equal(resp.text, "champ:hello");
    assert_int_equal(scored, 1);
    assert_int_equal(tr.n_calls, 2);
    assert_true(tr.calls[0].chosen && !tr.calls[0].shadow);
    assert_true(tr.calls[1].shadow && !tr.calls[1].chosen);
    assert_true(tr.calls[1].score == -2); /* "can:hello" is 2 bytes shorter */
    assert_true(isnan(tr.calls[0].score));
    eco_infer_response_free(&resp);
    /* the agreement scorer: the answer spans compared */
    char t1[] = "42\nmore", t2[] = " 42 ", t3[] = "41";
    eco_infer_response x = {.text = t1, .text_len = 7}, y = {.text = t2, .text_len = 4},
                       z = {.text = t3, .text_len = 2};
    assert_true(eco_route_score_agree(NULL, &q, &x, &y) == 1);
    assert_true(eco_route_score_agree(NULL, &q, &x, &z) == 0);
    assert_true(eco_route_score_agree(NULL, &q, NULL, &z) == 0);
    /* a failing shadow is recorded, never returned */
    can.fail = true;
    ECO_ASSERT_OK(eco_router_answer(r, "s2", &q, &resp, &tr));
    assert_string_equal(resp.text, "champ:hello");
    assert_int_equal(tr.n_failures, 1);
    assert_int_equal(scored, 1);
    eco_infer_response_free(&resp);
    /* the contract: the champion only */
    eco_engine *order[2];
    size_t n_order;
    eco_router *ct = eco_router_contract(r);
    ECO_ASSERT_OK(ct->route(ct, "s2", &q, order, 2, &n_order));
    assert_int_equal(n_order, 1);
    assert_ptr_equal(order[0], &champ.base);
    eco_router_destroy(ct);
    eco_route_trace_free(&tr);
}

/* a canary split inside a capability route: the split route advertises add (both arms do)
 * and is the best member; the trace says which arm */
static void test_composed(void **state) {
    (void)state;
    fake base, v1, v2;
    fake_init(&base, "base");
    fake_init(&v1, "v1");
    fake_init(&v2, "v2");
    const char *add[] = {"arith.add@1"};
    const double q_lo[] = {0.2}, q_hi[] = {0.8}, q_new[] = {0.85};
    eco_route_target t[3] = {
        {.id = "base",
         .engine = &base.base,
         .capabilities = add,
         .quality = q_lo,
         .n_capabilities = 1},
        {.id = "v1", .engine = &v1.base, .capabilities = add, .quality = q_hi, .n_capabilities = 1},
        {.id = "v2",
         .engine = &v2.base,
         .capabilities = add,
         .quality = q_new,
         .n_capabilities = 1}};
    eco_policy_router *r = router_ok(
        t, 3,
        "{\"policy\":\"capability\",\"members\":[\"base\",{\"policy\":\"canary\",\"share\":0.5,"
        "\"champion\":\"v1\",\"canary\":\"v2\"}]}");
    eco_route_trace tr = {0};
    eco_infer_request q = request("2+2=", "arith.add@1");
    int arms[2] = {0, 0};
    for (int k = 0; k < 200; k++) {
        char id[16];
        snprintf(id, sizeof id, "%d", k);
        eco_infer_response resp;
        ECO_ASSERT_OK(eco_router_answer(r, id, &q, &resp, &tr));
        const bool pick = eco_route_canary_pick(id, 0.5);
        assert_string_equal(resp.text, pick ? "v2:2+2=" : "v1:2+2=");
        assert_int_equal(tr.n_arms, 1);
        assert_string_equal(tr.arms[0].at, "members[1]");
        arms[pick]++;
        if (k == 0) {
            char *js = NULL;
            ECO_ASSERT_OK(eco_route_trace_json(r, &tr, &js));
            json_t *j = json_loads(js, 0, NULL);
            assert_non_null(j);
            assert_string_equal(json_string_value(json_object_get(j, "answered")),
                                pick ? "v2" : "v1");
            json_t *c0 = json_array_get(json_object_get(j, "calls"), 0);
            assert_string_equal(json_string_value(json_object_get(c0, "via")), "canary");
            assert_true(json_is_true(json_object_get(c0, "chosen")));
            assert_true(json_is_null(json_object_get(c0, "score")));
            json_t *a0 = json_array_get(json_object_get(j, "arms"), 0);
            assert_string_equal(json_string_value(json_object_get(a0, "at")), "members[1]");
            json_decref(j);
            free(js);
        }
        eco_infer_response_free(&resp);
    }
    assert_true(arms[0] > 60 && arms[1] > 60);
    assert_int_equal(base.calls, 0);
    eco_router_free(r);
    eco_route_trace_free(&tr);
}

/* Targets whose cost is unknown here (remote models) go after every known one. */
static void test_cost_unknown_last(void **state) {
    (void)state;
    eco_route_target t[4] = {{.id = "far", .cost = 0},
                             {.id = "a", .cost = 300},
                             {.id = "b", .cost = 1200},
                             {.id = "far2", .cost = 5}};
    const bool unknown[4] = {true, false, false, true};
    eco_route_cost_unknown_last(t, 4, unknown);
    assert_true(t[0].cost == 1201 && t[3].cost == 1201);
    assert_true(t[1].cost == 300 && t[2].cost == 1200);
    const bool none[1] = {true}; /* only unknown ones: all at 1 */
    eco_route_cost_unknown_last(t, 1, none);
    assert_true(t[0].cost == 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_confidence),
        cmocka_unit_test(test_policy_table),
        cmocka_unit_test(test_policy_limits),
        cmocka_unit_test(test_create_checks),
        cmocka_unit_test(test_cascade_escalates_low_confidence),
        cmocka_unit_test(test_capability_ranking),
        cmocka_unit_test(test_ensemble),
        cmocka_unit_test(test_canary_and_shadow),
        cmocka_unit_test(test_composed),
        cmocka_unit_test(test_cost_unknown_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
