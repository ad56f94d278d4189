/*
 * The http engine (include/ecology/remote.h) against this project's server on loopback
 * (eco_server_start in-process over a registry holding the shipped base and its reverse
 * adapter): its greedy text equals the llama engine's over the same folders, token for token
 * as the server reports them, with the server's log-probabilities, streamed (on_token) or
 * not; on_token sees each token as its event arrives (a fake server holds the rest back
 * until it has) and can cut the answer; the server's llama-server timings agree with its
 * usage; the stream reader's malformed-input table; errors name the URL (an error event
 * mid-stream, (a wrong key, an unknown model, a refused
 * connection, a server that never answers, a malformed answer from a fake server). The
 * answer parser's malformed-input table. A remote model registered (its key's variable name,
 * never the key) and opened by the runtime pool, compatible with nothing. A remote teacher
 * writes the same sequence-level distillation data as the local engine.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server_fixture.h"
#include "test_util.h"

#include "ecology/daemon.h"
#include "ecology/engine.h"
#include "ecology/registry.h"
#include "ecology/remote.h"
#include "ecology/runtime.h"
#include "ecology/server.h"
#include "ecology/train.h"

#define PROMPT  "Reverse: kosjeco\nReversed:"
#define KEY_ENV "ECO_TEST_REMOTE_KEY"

typedef eco_test_server fixture;

static void request(eco_infer_request *q) {
    static const char *stops[] = {"\n"};
    eco_infer_request_init(q);
    q->prompt = PROMPT;
    q->max_tokens = 16;
    q->stop = stops;
    q->n_stop = 1;
}

/* The llama engine's own greedy answer over the same folders. */
static void local_answer(eco_infer_response *resp) {
    char *base = eco_test_source_path("data/models/eco-tiny");
    char *rev = eco_test_source_path("data/adapters/text.reverse@1");
    eco_engine *e = NULL;
    ECO_ASSERT_OK(eco_llama_engine_open_adapter(base, rev, NULL, &e));
    eco_infer_request q;
    request(&q);
    ECO_ASSERT_OK(e->infer(e, &q, resp));
    eco_engine_destroy(e);
    free(base);
    free(rev);
}

static eco_engine *open_http(const fixture *f, const char *model, const char *key) {
    eco_remote_options o = {.base_url = f->base_url, .model = model, .api_key = key};
    eco_engine *e = NULL;
    ECO_ASSERT_OK(eco_remote_engine_open(&o, &e));
    return e;
}

static void assert_same(const eco_infer_response *want, const eco_infer_response *got) {
    assert_string_equal(got->text, want->text);
    assert_int_equal(got->text_len, want->text_len);
    assert_int_equal(got->n_tokens, want->n_tokens);
    assert_int_equal(got->n_prompt_tokens, want->n_prompt_tokens);
    assert_string_equal(got->finish_reason, want->finish_reason);
    double worst = 0;
    for (size_t i = 0; i < got->n_tokens; i++) {
        assert_int_equal(got->tokens[i], -1);
        double d = fabs((double)got->logprobs[i] - (double)want->logprobs[i]);
        worst = d > worst ? d : worst;
    }
    if (worst > 1e-5) print_error("logprobs differ by up to %g\n", worst);
    assert_true(worst <= 1e-5);
}

static void test_equals_local_engine(void **state) {
    fixture *f = *state;
    eco_infer_response want, got;
    local_answer(&want);
    assert_true(want.text_len > 1 && want.n_tokens > 1);
    eco_engine *e = open_http(f, "reverse", KEY_INF);
    assert_string_equal(e->genome(e)->id, "reverse");
    eco_infer_request q;
    request(&q);
    ECO_ASSERT_OK(e->infer(e, &q, &got));
    assert_same(&want, &got);
    assert_true(got.decode_ms > 0);
    eco_infer_response_free(&got);
    /* a second request on the same engine (the connection kept alive) */
    ECO_ASSERT_OK(e->infer(e, &q, &got));
    assert_same(&want, &got);
    eco_infer_response_free(&got);
    /* the base URL without /v1, with a trailing slash */
    eco_engine_destroy(e);
    char plain[80];
    snprintf(plain, sizeof plain, "http://127.0.0.1:%u/", (unsigned)f->port);
    eco_remote_options o = {.base_url = plain, .model = "reverse", .api_key = KEY_INF};
    ECO_ASSERT_OK(eco_remote_engine_open(&o, &e));
    ECO_ASSERT_OK(e->infer(e, &q, &got));
    assert_same(&want, &got);
    eco_infer_response_free(&got);
    eco_engine_destroy(e);
    eco_infer_response_free(&want);
}

typedef struct steps {
    size_t n, cut_at;
    float lp[64];
    double at[64]; /* eco_now() at each step */
    char text[256];
} steps;

static bool on_step(void *ctx, const eco_infer_step *s) {
    steps *k = ctx;
    assert_int_equal(s->index, k->n);
    assert_int_equal(s->token, -1);
    if (k->n < 64) {
        k->lp[k->n] = s->logprob;
        k->at[k->n] = eco_now();
    }
    snprintf(k->text, sizeof k->text, "%.*s", (int)s->text_len, s->text);
    k->n++;
    return k->n < k->cut_at;
}

static void test_on_token(void **state) {
    fixture *f = *state;
    eco_infer_response want, got;
    local_answer(&want);
    eco_engine *e = open_http(f, "reverse", KEY_INF);
    eco_infer_request q;
    request(&q);
    steps k = {.cut_at = 1000};
    q.on_token = on_step;
    q.on_token_ctx = &k;
    double t0 = eco_now();
    ECO_ASSERT_OK(e->infer(e, &q, &got));
    double t_end = eco_now();
    assert_int_equal(k.n, want.n_tokens);
    assert_string_equal(k.text, want.text);
    for (size_t i = 0; i < k.n && i < 64; i++) assert_float_equal(k.lp[i], want.logprobs[i], 1e-5);
    /* the streamed answer is the local engine's, as the plain one is (test_equals_local) */
    assert_same(&want, &got);
    /* the steps came one by one before the answer ended; prompt_ms is the time to the first */
    assert_true(k.n >= 2 && k.at[0] < k.at[k.n - 1] && k.at[k.n - 1] <= t_end);
    for (size_t i = 1; i < k.n && i < 64; i++) assert_true(k.at[i] >= k.at[i - 1]);
    assert_true(got.prompt_ms > 0 && got.decode_ms > 0);
    assert_true(got.prompt_ms <= (k.at[0] - t0) * 1e3);
    assert_true(got.prompt_ms + got.decode_ms <= (t_end - t0) * 1e3 + 1);
    eco_infer_response_free(&got);
    /* returning false after the second token cuts the answer there */
    memset(&k, 0, sizeof k);
    k.cut_at = 2;
    ECO_ASSERT_OK(e->infer(e, &q, &got));
    assert_int_equal(k.n, 2);
    assert_int_equal(got.n_tokens, 2);
    assert_string_equal(got.finish_reason, "cancelled");
    assert_string_equal(got.text, k.text);
    assert_true(strncmp(want.text, got.text, got.text_len) == 0);
    eco_infer_response_free(&got);
    eco_engine_destroy(e);
    eco_infer_response_free(&want);
}

static void assert_fails(eco_engine *e, eco_status want, const char *fragment,
                         const char *url_part) {
    eco_infer_request q;
    request(&q);
    eco_infer_response resp;
    eco_status st = e->infer(e, &q, &resp);
    if (st != want || !strstr(eco_last_error(), fragment) || !strstr(eco_last_error(), url_part))
        print_error("status %d (want %d): %s\n", (int)st, (int)want, eco_last_error());
    assert_int_equal(st, want);
    assert_non_null(strstr(eco_last_error(), fragment));
    assert_non_null(strstr(eco_last_error(), url_part));
    assert_null(resp.text);
}

static void test_server_errors(void **state) {
    fixture *f = *state;
    eco_engine *e = open_http(f, "reverse", "sk-wrong-key-000");
    assert_fails(e, ECO_STATUS_EINVAL, "HTTP 401", f->base_url);
    assert_non_null(strstr(eco_last_error(), "invalid API key")); /* the server's message */
    eco_engine_destroy(e);
    e = open_http(f, "reverse", NULL);
    assert_fails(e, ECO_STATUS_EINVAL, "HTTP 401", "/v1/completions");
    eco_engine_destroy(e);
    e = open_http(f, "no-such-model", KEY_INF);
    assert_fails(e, ECO_STATUS_ENOTFOUND, "HTTP 404", f->base_url);
    assert_non_null(strstr(eco_last_error(), "no-such-model"));
    /* a stream request's error answer (JSON, not events) is read as the plain one's */
    {
        eco_infer_request sq;
        request(&sq);
        steps k = {.cut_at = 1000};
        sq.on_token = on_step;
        sq.on_token_ctx = &k;
        eco_infer_response sr;
        assert_int_equal(e->infer(e, &sq, &sr), ECO_STATUS_ENOTFOUND);
        assert_non_null(strstr(eco_last_error(), "HTTP 404"));
        assert_non_null(strstr(eco_last_error(), "no-such-model"));
        assert_int_equal(k.n, 0);
    }
    eco_engine_destroy(e);
    /* what the completions API cannot carry is refused before anything is sent */
    e = open_http(f, "reverse", KEY_INF);
    eco_infer_request q;
    request(&q);
    q.top_k = 5;
    eco_infer_response resp;
    assert_int_equal(e->infer(e, &q, &resp), ECO_STATUS_EUNSUPPORTED);
    assert_non_null(strstr(eco_last_error(), "top_k"));
    q.top_k = 0;
    eco_decode_constraint dc = {0}; /* a mask over this machine's vocabulary is not sent */
    q.constraint = &dc;
    assert_int_equal(e->infer(e, &q, &resp), ECO_STATUS_EUNSUPPORTED);
    assert_non_null(strstr(eco_last_error(), "structured output"));
    eco_engine_destroy(e);
    /* options */
    eco_remote_options o = {.base_url = "ftp://x", .model = "m"};
    assert_int_equal(eco_remote_engine_open(&o, &e), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "ftp://x"));
    o.base_url = "http://x";
    o.model = NULL;
    assert_int_equal(eco_remote_engine_open(&o, &e), ECO_STATUS_EINVAL);
}

/* A loopback port nothing listens on. */
static uint16_t closed_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t n = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &n), 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* A listening socket on loopback (its port in *port). */
static int listener(uint16_t *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    socklen_t n = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &n), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* Accepts one connection on the listening fd and reads its request (the headers, then the
 * body Content-Length says; at most 8 KiB). Returns the connection, or -1. */
static int accept_request(int fd) {
    int c = accept(fd, NULL, NULL);
    if (c < 0) return -1;
    char buf[8192];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = recv(c, buf + got, sizeof buf - 1 - got, 0)) > 0) {
        got += (size_t)n;
        buf[got] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        char *cl = strstr(buf, "Content-Length: ");
        if (end && cl && got >= (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10)) break;
    }
    return c;
}

/* A fake server answering one request with a canned response. */
typedef struct fake {
    int fd;
    const char *response;
} fake;

static void *serve_once(void *arg) {
    fake *k = arg;
    int c = accept_request(k->fd);
    if (c < 0) return NULL;
    (void)send(c, k->response, strlen(k->response), MSG_NOSIGNAL);
    close(c);
    return NULL;
}

static void fake_call(const char *status, const char *body, eco_status want, const char *fragment) {
    uint16_t port = 0;
    char response[1024];
    snprintf(response, sizeof response,
             "HTTP/1.1 %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s", status,
             strlen(body), body);
    fake k = {.fd = listener(&port), .response = response};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, serve_once, &k), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)port);
    eco_remote_options o = {.base_url = url, .model = "m", .timeout_s = 10};
    eco_engine *e = NULL;
    ECO_ASSERT_OK(eco_remote_engine_open(&o, &e));
    assert_fails(e, want, fragment, url);
    eco_engine_destroy(e);
    pthread_join(th, NULL);
    close(k.fd);
}

static void test_transport_errors(void **state) {
    (void)state;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", (unsigned)closed_port());
    eco_remote_options o = {.base_url = url, .model = "m"};
    eco_engine *e = NULL;
    ECO_ASSERT_OK(eco_remote_engine_open(&o, &e));
    assert_fails(e, ECO_STATUS_EIO, "cannot connect", url);
    eco_engine_destroy(e);
    /* a server that accepts (the kernel's backlog) and never answers */
    uint16_t port = 0;
    int fd = listener(&port);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", (unsigned)port);
    o.base_url = url;
    o.timeout_s = 0.3;
    ECO_ASSERT_OK(eco_remote_engine_open(&o, &e));
    double t0 = eco_now();
    assert_fails(e, ECO_STATUS_ERANGE, "timed out", url);
    assert_true(eco_now() - t0 < 5);
    eco_engine_destroy(e);
    close(fd);
    /* malformed answers and error answers from a fake server */
    fake_call("200 OK", "not json!", ECO_STATUS_EFORMAT, "invalid JSON");
    fake_call("200 OK", "{\"choices\":[]}", ECO_STATUS_EFORMAT, "choices: is empty");
    fake_call("200 OK", "{\"choices\":[{\"text\":1}]}", ECO_STATUS_EFORMAT,
              "answer of http://127.0.0.1");
    fake_call("500 Oops", "{\"error\":{\"message\":\"GPU on fire\"}}", ECO_STATUS_EIO,
              "HTTP 500: GPU on fire");
    fake_call("503 No", "busy\x01\xff!!", ECO_STATUS_EIO, "HTTP 503: busy\\x01\\xff!!");
    fake_call("400 Bad",
              "{\"error\":{\"message\":\"too long\",\"code\":\"context_length_exceeded\"}}",
              ECO_STATUS_ERANGE, "too long");
    fake_call("302 Found", "elsewhere", ECO_STATUS_EIO, "HTTP 302, expected 200");
}

/* The answer parser's table: each input accepted, or refused with a message fragment. */
static void test_parse_table(void **state) {
    (void)state;
    static const struct {
        const char *body;
        const char *err; /* NULL: accepted */
    } cases[] = {
        {"{\"choices\":[{\"text\":\"ab\"}]}", NULL},
        {"{\"choices\":[{\"text\":\"ab\",\"finish_reason\":\"length\",\"logprobs\":null}],"
         "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2},\"extra\":[1]}",
         NULL},
        {"{\"choices\":[{\"text\":\"ab\",\"logprobs\":{\"tokens\":[\"a\",\"b\"],"
         "\"token_logprobs\":[-0.5,null],\"top_logprobs\":null}}],"
         "\"timings\":{\"prompt_ms\":1.5,\"predicted_ms\":2}}",
         NULL},
        {"", "invalid JSON"},
        {"[]", "expected a JSON object"},
        {"{\"choices\":[{\"text\":\"a\"}],\"choices\":[]}", "invalid JSON"},
        {"{}", "choices: missing"},
        {"{\"choices\":{}}", "choices: expected an array"},
        {"{\"choices\":[]}", "choices: is empty"},
        {"{\"choices\":[1]}", "choices[0]: expected an object"},
        {"{\"choices\":[{}]}", "choices[0].text: missing"},
        {"{\"choices\":[{\"text\":5}]}", "choices[0].text: expected a string"},
        {"{\"choices\":[{\"text\":\"a\",\"finish_reason\":3}]}",
         "choices[0].finish_reason: expected a string"},
        {"{\"choices\":[{\"text\":\"a\",\"logprobs\":[]}]}",
         "choices[0].logprobs: expected an object"},
        {"{\"choices\":[{\"text\":\"a\",\"logprobs\":{\"tokens\":[\"a\"]}}]}",
         "choices[0].logprobs.token_logprobs: missing"},
        {"{\"choices\":[{\"text\":\"a\",\"logprobs\":{\"tokens\":[\"a\"],\"token_logprobs\":[]}}]}",
         "token_logprobs: 0 entries, tokens has 1"},
        {"{\"choices\":[{\"text\":\"a\",\"logprobs\":{\"tokens\":[1],\"token_logprobs\":[0]}}]}",
         "choices[0].logprobs.tokens[0]: expected a string"},
        {"{\"choices\":[{\"text\":\"a\",\"logprobs\":{\"tokens\":[\"a\"],"
         "\"token_logprobs\":[\"x\"]}}]}",
         "token_logprobs[0]: expected a number"},
        {"{\"choices\":[{\"text\":\"a\",\"logprobs\":{\"tokens\":[\"a\"],"
         "\"token_logprobs\":[0.5]}}]}",
         "outside"},
        {"{\"choices\":[{\"text\":\"a\"}],\"usage\":{\"prompt_tokens\":-1}}",
         "usage.prompt_tokens"},
        {"{\"choices\":[{\"text\":\"a\"}],\"usage\":7}", "usage: expected an object"},
        {"{\"choices\":[{\"text\":\"a\"}],\"timings\":{\"prompt_ms\":\"1\"}}",
         "timings.prompt_ms: expected a number"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        eco_remote_completion c;
        eco_status st =
            eco_remote_parse_completion(cases[i].body, strlen(cases[i].body), "answer", &c);
        bool ok = cases[i].err
                      ? st == ECO_STATUS_EFORMAT && strstr(eco_last_error(), cases[i].err) &&
                            !strncmp(eco_last_error(), "answer", 6)
                      : st == ECO_STATUS_OK;
        if (!ok)
            print_error("case %zu (%s): status %d, message: %s\n", i, cases[i].body, (int)st,
                        st ? eco_last_error() : "");
        assert_true(ok);
        eco_remote_completion_free(&c);
    }
    eco_remote_completion c;
    const char *lp = "{\"choices\":[{\"text\":\"ab\",\"finish_reason\":\"stop\",\"logprobs\":"
                     "{\"tokens\":[\"a\",\"b\"],\"token_logprobs\":[-0.5,null]}}],"
                     "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}";
    ECO_ASSERT_OK(eco_remote_parse_completion(lp, strlen(lp), "answer", &c));
    assert_int_equal(c.n_tokens, 2);
    assert_float_equal(c.logprobs[0], -0.5, 0);
    assert_true(isinf(c.logprobs[1]) && c.logprobs[1] < 0);
    assert_string_equal(c.token_texts[1], "b");
    assert_string_equal(c.finish_reason, "stop");
    assert_int_equal(c.prompt_tokens, 3);
    eco_remote_completion_free(&c);
    char msg[64], code[32];
    eco_remote_error_message("{\"error\":\"plain\"}", 17, msg, sizeof msg, code, sizeof code);
    assert_string_equal(msg, "plain");
    assert_string_equal(code, "");
    eco_remote_error_message(NULL, 0, msg, sizeof msg, NULL, 0);
    assert_string_equal(msg, "(no message)");
}

/* A POST to the fixture's server over a plain socket (Connection: close): the body of its
 * answer (malloc'd). */
static char *raw_post(const fixture *f, const char *path, const char *body) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(f->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " KEY_INF
                      "\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      path, strlen(body));
    assert_true(send(fd, head, (size_t)hn, MSG_NOSIGNAL) == hn);
    assert_true(send(fd, body, strlen(body), MSG_NOSIGNAL) == (ssize_t)strlen(body));
    eco_buf b = {0};
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) assert_true(eco_buf_append(&b, buf, (size_t)n));
    close(fd);
    assert_non_null(b.data);
    char *start = strstr(b.data, "\r\n\r\n");
    assert_non_null(start);
    assert_non_null(strstr(b.data, " 200 "));
    char *out = eco_strdup(start + 4);
    eco_buf_free(&b);
    return out;
}

/* llama-server's timings fields, checked against the answer's usage. */
static void check_timings(const json_t *t, json_int_t prompt_n, json_int_t predicted_n) {
    assert_true(json_is_object(t));
    assert_int_equal(json_integer_value(json_object_get(t, "prompt_n")), prompt_n);
    assert_int_equal(json_integer_value(json_object_get(t, "predicted_n")), predicted_n);
    double pms = json_number_value(json_object_get(t, "prompt_ms"));
    double dms = json_number_value(json_object_get(t, "predicted_ms"));
    assert_true(pms > 0 && dms > 0 && pms < 60e3 && dms < 60e3);
    double pps = json_number_value(json_object_get(t, "prompt_per_second"));
    double dps = json_number_value(json_object_get(t, "predicted_per_second"));
    double ptk = json_number_value(json_object_get(t, "prompt_per_token_ms"));
    double dtk = json_number_value(json_object_get(t, "predicted_per_token_ms"));
    assert_float_equal(pps, 1e3 * (double)prompt_n / pms, 1e-6 * pps);
    assert_float_equal(dps, 1e3 * (double)predicted_n / dms, 1e-6 * dps);
    assert_float_equal(ptk, pms / (double)prompt_n, 1e-6 * ptk);
    assert_float_equal(dtk, dms / (double)predicted_n, 1e-6 * dtk);
}

#define RAW_BODY                                                                                   \
    "{\"model\":\"reverse\",\"prompt\":\"Reverse: kosjeco\\nReversed:\",\"max_tokens\":16,"        \
    "\"stop\":[\"\\n\"],\"logprobs\":0"

static void test_timings(void **state) {
    fixture *f = *state;
    /* the plain answer: timings beside usage */
    char *text = raw_post(f, "/v1/completions", RAW_BODY "}");
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    const json_t *u = json_object_get(v, "usage");
    json_int_t pt = json_integer_value(json_object_get(u, "prompt_tokens"));
    json_int_t ct = json_integer_value(json_object_get(u, "completion_tokens"));
    assert_true(pt > 1 && ct > 1);
    check_timings(json_object_get(v, "timings"), pt, ct);
    json_decref(v);
    free(text);
    /* the stream: timings in the last chunk (the one with finish_reason), none before */
    text = raw_post(f, "/v1/completions", RAW_BODY ",\"stream\":true}");
    size_t chunks = 0, with_timings = 0, tokens = 0;
    for (char *ev = strstr(text, "data: "); ev; ev = strstr(ev + 1, "data: ")) {
        char *end = strstr(ev, "\n\n");
        assert_non_null(end);
        if (!strncmp(ev + 6, "[DONE]", 6)) break;
        json_t *c = json_loadb(ev + 6, (size_t)(end - ev - 6), 0, NULL);
        assert_non_null(c);
        chunks++;
        const json_t *ch = json_array_get(json_object_get(c, "choices"), 0);
        const json_t *lp = json_object_get(ch, "logprobs");
        if (json_is_object(lp)) tokens += json_array_size(json_object_get(lp, "tokens"));
        const json_t *t = json_object_get(c, "timings");
        if (t) {
            with_timings++;
            assert_true(json_is_string(json_object_get(ch, "finish_reason")));
            check_timings(t, pt, (json_int_t)tokens);
        }
        json_decref(c);
    }
    assert_true(chunks > 2);
    assert_int_equal(with_timings, 1);
    assert_int_equal(tokens, ct);
    free(text);
    /* the http engine reads them: its plain answer's prompt and decode times */
    eco_engine *e = open_http(f, "reverse", KEY_INF);
    eco_infer_request q;
    request(&q);
    eco_infer_response got;
    double t0 = eco_now();
    ECO_ASSERT_OK(e->infer(e, &q, &got));
    double wall_ms = (eco_now() - t0) * 1e3;
    assert_true(got.prompt_ms > 0 && got.decode_ms > 0);
    assert_true(got.prompt_ms + got.decode_ms <= wall_ms);
    eco_infer_response_free(&got);
    eco_engine_destroy(e);
}

/* A fake streaming server: sends first, waits (at most wait_s) until go is set, then rest. */
typedef struct fake_stream {
    int fd;
    const char *first, *rest;
    double wait_s;
    atomic_bool go;
    bool waited; /* go was set before the wait ran out */
} fake_stream;

static void *serve_stream(void *arg) {
    fake_stream *k = arg;
    int c = accept_request(k->fd);
    if (c < 0) return NULL;
    const char *head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                       "Connection: close\r\n\r\n";
    (void)send(c, head, strlen(head), MSG_NOSIGNAL);
    (void)send(c, k->first, strlen(k->first), MSG_NOSIGNAL);
    double t0 = eco_now();
    while (!atomic_load(&k->go) && eco_now() - t0 < k->wait_s) usleep(1000);
    k->waited = atomic_load(&k->go);
    (void)send(c, k->rest, strlen(k->rest), MSG_NOSIGNAL);
    close(c);
    return NULL;
}

#define EV_A                                                                                       \
    "data: {\"choices\":[{\"text\":\"ab\",\"logprobs\":{\"tokens\":[\"ab\"],"                      \
    "\"token_logprobs\":[-0.25]},\"finish_reason\":null}]}\n\n"
#define EV_B                                                                                       \
    "data: {\"choices\":[{\"text\":\"c\",\"logprobs\":{\"tokens\":[\"c\"],"                        \
    "\"token_logprobs\":[-0.5]},\"finish_reason\":null}]}\n\n"
#define EV_END                                                                                     \
    "data: {\"choices\":[{\"text\":\"\",\"logprobs\":null,\"finish_reason\":\"length\"}]}\n\n"     \
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2}}\n\n"           \
    "data: [DONE]\n\n"

static bool go_on_first(void *ctx, const eco_infer_step *s) {
    fake_stream *k = ctx;
    if (s->index == 0) atomic_store(&k->go, true);
    return true;
}

/* One streamed request to a fake server sending first, then (after the first token) rest. */
static eco_status fake_stream_call(const char *first, const char *rest, eco_infer_response *resp,
                                   bool *waited, char *url, size_t url_size) {
    uint16_t port = 0;
    fake_stream k = {.fd = listener(&port), .first = first, .rest = rest, .wait_s = 10};
    if (strlen(first) < 60) k.wait_s = 0.3; /* no whole event in first: nothing will come */
    atomic_init(&k.go, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, serve_stream, &k), 0);
    snprintf(url, url_size, "http://127.0.0.1:%u", (unsigned)port);
    eco_remote_options o = {.base_url = url, .model = "m", .timeout_s = 20};
    eco_engine *e = NULL;
    ECO_ASSERT_OK(eco_remote_engine_open(&o, &e));
    eco_infer_request q;
    eco_infer_request_init(&q);
    q.prompt = "p";
    q.max_tokens = 2;
    q.on_token = go_on_first;
    q.on_token_ctx = &k;
    eco_status st = e->infer(e, &q, resp);
    pthread_join(th, NULL);
    close(k.fd);
    eco_engine_destroy(e);
    *waited = k.waited;
    return st;
}

static void test_stream_incremental(void **state) {
    (void)state;
    char url[64];
    bool waited = false;
    eco_infer_response r;
    /* the server sends the rest only once on_token has seen the first token */
    ECO_ASSERT_OK(fake_stream_call(EV_A, EV_B EV_END, &r, &waited, url, sizeof url));
    assert_true(waited);
    assert_string_equal(r.text, "abc");
    assert_int_equal(r.n_tokens, 2);
    assert_float_equal(r.logprobs[0], -0.25, 0);
    assert_float_equal(r.logprobs[1], -0.5, 0);
    assert_string_equal(r.finish_reason, "length");
    assert_int_equal(r.n_prompt_tokens, 4);
    eco_infer_response_free(&r);
    /* an event split across reads: half of it first */
    char half[sizeof EV_A], rest[sizeof EV_A EV_B EV_END];
    snprintf(half, sizeof half, "%s", EV_A);
    half[40] = '\0';
    snprintf(rest, sizeof rest, "%s", EV_A EV_B EV_END);
    ECO_ASSERT_OK(fake_stream_call(half, rest + 40, &r, &waited, url, sizeof url));
    assert_false(waited); /* no token came before the rest */
    assert_string_equal(r.text, "abc");
    assert_int_equal(r.n_tokens, 2);
    eco_infer_response_free(&r);
    /* an error event mid-stream: EIO naming the URL and the server's message */
    eco_status st = fake_stream_call(
        EV_A, "data: {\"error\":{\"message\":\"slot crashed\",\"code\":\"internal\"}}\n\n", &r,
        &waited, url, sizeof url);
    assert_int_equal(st, ECO_STATUS_EIO);
    assert_true(waited);
    assert_non_null(strstr(eco_last_error(), url));
    assert_non_null(
        strstr(eco_last_error(), "event 2: the server reported an error: slot crashed"));
    assert_null(r.text);
    /* llama-server's own error line */
    st = fake_stream_call(EV_A, "error: {\"code\":500,\"message\":\"boom\"}\n\n", &r, &waited, url,
                          sizeof url);
    assert_int_equal(st, ECO_STATUS_EIO);
    assert_non_null(strstr(eco_last_error(), "boom"));
    /* a malformed event: EFORMAT naming it */
    st = fake_stream_call(EV_A, "data: {\"choices\":[{\"text\":7}]}\n\n", &r, &waited, url,
                          sizeof url);
    assert_int_equal(st, ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), url));
    assert_non_null(strstr(eco_last_error(), "event 2: choices[0].text: expected a string"));
    /* the connection closed before data: [DONE] */
    st = fake_stream_call(EV_A, EV_B, &r, &waited, url, sizeof url);
    assert_int_equal(st, ECO_STATUS_EIO);
    assert_non_null(strstr(eco_last_error(), "before data: [DONE]"));
}

/* The stream reader's table: each stream fed whole and byte by byte, accepted with its text
 * and token count, or refused with a message fragment. */
static bool count_token(void *ctx, const eco_remote_token *t) {
    size_t *n = ctx;
    assert_int_equal(t->index, *n);
    (*n)++;
    return true;
}

static void test_stream_table(void **state) {
    (void)state;
    static const struct {
        const char *in;
        eco_status want;
        const char *frag; /* accepted: the text; refused: a fragment of the message */
        size_t tokens;    /* accepted: tokens read */
    } cases[] = {
        {EV_A EV_B EV_END, ECO_STATUS_OK, "abc", 2},
        {": ping\n\nid: 1\nretry: 5\nevent: message\nfoo: bar\n" EV_A "data: [DONE]\n\n",
         ECO_STATUS_OK, "ab", 1},
        {"data: {\"choices\":[{\"text\":\"a\"}]}\r\n\r\ndata: {\"choices\":[{\"text\":\"b\"}]}"
         "\r\rdata:[DONE]\n\n",
         ECO_STATUS_OK, "ab", 2},
        {"data: {\"choices\":\ndata: [{\"text\":\"x\"}]}\n\ndata: [DONE]\n\nnot read",
         ECO_STATUS_OK, "x", 1},
        {"data: {\"choices\":[{\"text\":\"\"}]}\n\ndata: [DONE]\n\n", ECO_STATUS_OK, "", 0},
        {"event: ping\n\n\n\ndata: [DONE]\n\n", ECO_STATUS_OK, "", 0},
        {"data: [DONE]", ECO_STATUS_EIO, "before data: [DONE]", 0},
        {"", ECO_STATUS_EIO, "before data: [DONE]", 0},
        {"data: nope\n\n", ECO_STATUS_EFORMAT, "stream: event 1: invalid JSON", 0},
        {EV_A "data: {\"choices\":[{\"text\":\"a\"\n\n", ECO_STATUS_EFORMAT,
         "event 2: invalid JSON", 0},
        {"data: []\n\n", ECO_STATUS_EFORMAT, "event 1: expected a JSON object", 0},
        {"data: {}\n\n", ECO_STATUS_EFORMAT, "event 1: choices: missing", 0},
        {"data: {\"choices\":[1]}\n\n", ECO_STATUS_EFORMAT,
         "event 1: choices[0]: expected an object", 0},
        {"data: {\"choices\":[{\"text\":\"a\",\"finish_reason\":1}]}\n\n", ECO_STATUS_EFORMAT,
         "choices[0].finish_reason: expected a string", 0},
        {"data: {\"choices\":[{\"text\":\"a\",\"logprobs\":{\"tokens\":[\"a\"],"
         "\"token_logprobs\":[2]}}]}\n\n",
         ECO_STATUS_EFORMAT, "token_logprobs[0]", 0},
        {"data: {\"choices\":[{\"text\":\"a\",\"logprobs\":{\"tokens\":[\"a\",\"b\"],"
         "\"token_logprobs\":[0]}}]}\n\n",
         ECO_STATUS_EFORMAT, "1 entries, tokens has 2", 0},
        {"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":\"9\"}}\n\n", ECO_STATUS_EFORMAT,
         "event 1: usage.prompt_tokens", 0},
        {"data: {\"choices\":[],\"timings\":{\"predicted_ms\":-1}}\n\n", ECO_STATUS_EFORMAT,
         "event 1: timings.predicted_ms", 0},
        {"data: {\"error\":{\"message\":\"overloaded\"}}\n\n", ECO_STATUS_EIO,
         "event 1: the server reported an error: overloaded", 0},
        {"event: error\ndata: {\"message\":\"bad\"}\n\n", ECO_STATUS_EIO, "reported an error: bad",
         0},
        {"error: {\"message\":\"slot\"}\n\n", ECO_STATUS_EIO, "reported an error: slot", 0},
        {"event: error\ndata: \x01\xff\n\n", ECO_STATUS_EIO, "reported an error: \\x01\\xff", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            size_t n = 0, len = strlen(cases[i].in);
            eco_remote_stream *s = NULL;
            ECO_ASSERT_OK(eco_remote_stream_open("stream", count_token, &n, &s));
            eco_status st = ECO_STATUS_OK;
            for (size_t at = 0; at < len && st == ECO_STATUS_OK; at += bytewise ? 1 : len)
                st = eco_remote_stream_feed(s, cases[i].in + at, bytewise ? 1 : len);
            eco_remote_completion c;
            eco_status st2 = eco_remote_stream_result(s, &c);
            if (st == ECO_STATUS_OK) st = st2;
            bool ok = st == cases[i].want;
            if (ok && st == ECO_STATUS_OK)
                ok = !strcmp(c.text, cases[i].frag) && n == cases[i].tokens &&
                     c.n_tokens == cases[i].tokens;
            else if (ok)
                ok = strstr(eco_last_error(), cases[i].frag) &&
                     !strncmp(eco_last_error(), "stream", 6) && st2 == st;
            if (!ok)
                print_error("case %zu (%s, %s): status %d, %s\n", i, cases[i].in,
                            bytewise ? "byte by byte" : "whole", (int)st,
                            st ? eco_last_error() : c.text);
            assert_true(ok);
            if (st2 == ECO_STATUS_OK) eco_remote_completion_free(&c);
            eco_remote_stream_free(s);
        }
    }
    /* the reader's cap: more than ECO_REMOTE_MAX_ANSWER_BYTES in all */
    eco_remote_stream *s = NULL;
    ECO_ASSERT_OK(eco_remote_stream_open("stream", NULL, NULL, &s));
    char *big = calloc(1, ECO_REMOTE_MAX_ANSWER_BYTES / 2 + 1);
    memset(big, ':', ECO_REMOTE_MAX_ANSWER_BYTES / 2 + 1);
    ECO_ASSERT_OK(eco_remote_stream_feed(s, big, ECO_REMOTE_MAX_ANSWER_BYTES / 2 + 1));
    assert_int_equal(eco_remote_stream_feed(s, big, ECO_REMOTE_MAX_ANSWER_BYTES / 2 + 1),
                     ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "over"));
    free(big);
    eco_remote_stream_free(s);
}

/* A remote model in the registry and the pool. */
static void test_registry_and_pool(void **state) {
    fixture *f = *state;
    eco_registry_options ro = {.data_dir = f->data};
    eco_registry *r = NULL;
    ECO_ASSERT_OK(eco_registry_open(&ro, &r));
    const char *caps[] = {"text.reverse@1"};
    eco_remote_add_options o = {.id = "far-reverse",
                                .endpoint = f->base_url,
                                .model = "reverse",
                                .api_key_env = KEY_ENV,
                                .capabilities = caps,
                                .n_capabilities = 1};
    /* a key given where its variable's name belongs is refused, not stored */
    o.api_key_env = KEY_INF;
    assert_int_equal(eco_registry_add_remote(r, &o, NULL), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "NAME of an environment variable"));
    o.api_key_env = KEY_ENV;
    o.endpoint = "file:///etc/passwd";
    assert_int_equal(eco_registry_add_remote(r, &o, NULL), ECO_STATUS_EINVAL);
    o.endpoint = f->base_url;
    eco_genome g = {0};
    ECO_ASSERT_OK(eco_registry_add_remote(r, &o, &g));
    assert_int_equal(g.kind, ECO_GENOME_KIND_REMOTE);
    assert_int_equal(g.files.n, 0);
    assert_false(eco_compat_equal(&g.compatibility, &g.compatibility));
    const char *fields[ECO_COMPAT_FIELDS];
    assert_int_equal(eco_compat_diff_all(&g.compatibility, &g.compatibility, fields), 4);
    char *text = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_genome_to_canonical(&g, &text, &len));
    assert_non_null(strstr(text, "\"api_key_env\":\"" KEY_ENV "\""));
    assert_non_null(strstr(text, "\"kind\":\"remote\""));
    assert_null(strstr(text, KEY_INF));
    free(text);
    eco_genome_free(&g);
    ECO_ASSERT_OK(eco_registry_add_remote(r, &o, NULL)); /* again: a no-op */
    /* nothing is listed as compatible with it */
    char **ids = NULL;
    size_t n_ids = 9;
    eco_genome far = {0};
    ECO_ASSERT_OK(eco_registry_get(r, "far-reverse", &far, NULL));
    eco_registry_filter flt = {.compat = &far.compatibility};
    ECO_ASSERT_OK(eco_registry_list(r, &flt, &ids, &n_ids));
    assert_int_equal(n_ids, 0);
    eco_registry_ids_free(ids, n_ids);
    eco_genome_free(&far);
    /* the genome is parsed back by the registry */
    ECO_ASSERT_OK(eco_registry_get(r, "far-reverse", &g, NULL));
    const char *ep = NULL, *model = NULL, *kv = NULL;
    ECO_ASSERT_OK(eco_genome_remote_target(&g, &ep, &model, &kv));
    assert_string_equal(ep, f->base_url);
    assert_string_equal(model, "reverse");
    assert_string_equal(kv, KEY_ENV);
    eco_genome_free(&g);

    eco_pool *p = NULL;
    ECO_ASSERT_OK(eco_pool_create(r, NULL, &p));
    eco_engine *e = NULL;
    unsetenv(KEY_ENV);
    assert_int_equal(eco_pool_acquire(p, "far-reverse", &e), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), KEY_ENV));
    setenv(KEY_ENV, KEY_INF, 1);
    ECO_ASSERT_OK(eco_pool_acquire(p, "far-reverse", &e));
    assert_int_equal(e->genome(e)->kind, ECO_GENOME_KIND_REMOTE);
    eco_infer_response want, got;
    local_answer(&want);
    eco_infer_request q;
    request(&q);
    ECO_ASSERT_OK(e->infer(e, &q, &got));
    assert_same(&want, &got);
    eco_infer_response_free(&got);
    eco_infer_response_free(&want);
    eco_pool_release(p, e);
    eco_pool_stats ps;
    eco_pool_get_stats(p, &ps);
    assert_int_equal(ps.bases, 1);
    assert_int_equal(ps.base_bytes, 0);
    eco_pool_destroy(p);
    /* the loop's evaluation and canaries open it too (daemon.h's registry opener) */
    ECO_ASSERT_OK(eco_canary_open_registry(r, "far-reverse", &e));
    local_answer(&want);
    ECO_ASSERT_OK(e->infer(e, &q, &got));
    assert_same(&want, &got);
    eco_infer_response_free(&got);
    eco_infer_response_free(&want);
    eco_engine_destroy(e);
    unsetenv(KEY_ENV);
    assert_int_equal(eco_canary_open_registry(r, "far-reverse", &e), ECO_STATUS_EINVAL);
    eco_registry_close(r);
}

/* A remote teacher for sequence-level distillation: the same data as the local engine's. */
static void test_distill_teacher(void **state) {
    fixture *f = *state;
    char *prompts = eco_path_join(f->tmp, "prompts.jsonl");
    const char *text = "{\"prompt\":\"Reverse: kosjeco\\nReversed:\"}\n"
                       "{\"prompt\":\"Reverse: abc\\nReversed:\"}\n"
                       "{\"prompt\":\"Reverse: tiny ecology\\nReversed:\"}\n";
    eco_test_write_file(prompts, text, strlen(text));
    char *base = eco_test_source_path("data/models/eco-tiny");
    char *rev = eco_test_source_path("data/adapters/text.reverse@1");
    eco_engine *local = NULL;
    ECO_ASSERT_OK(eco_llama_engine_open_adapter(base, rev, NULL, &local));
    eco_engine *far = open_http(f, "reverse", KEY_INF);
    char *a = eco_path_join(f->tmp, "local.jsonl"), *b = eco_path_join(f->tmp, "remote.jsonl");
    size_t na = 0, nb = 0;
    ECO_ASSERT_OK(eco_distill_generate_jsonl(&local, 1, prompts, a, 12, &na));
    ECO_ASSERT_OK(eco_distill_generate_jsonl(&far, 1, prompts, b, 12, &nb));
    assert_int_equal(na, 3);
    assert_int_equal(nb, 3);
    char *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    ECO_ASSERT_OK(eco_read_file(a, 1 << 20, &da, &la));
    ECO_ASSERT_OK(eco_read_file(b, 1 << 20, &db, &lb));
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    free(da);
    free(db);
    free(a);
    free(b);
    eco_engine_destroy(far);
    eco_engine_destroy(local);
    free(base);
    free(rev);
    free(prompts);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),
        cmocka_unit_test(test_transport_errors),
        cmocka_unit_test(test_stream_table),
        cmocka_unit_test(test_stream_incremental),
        cmocka_unit_test_setup_teardown(test_timings, eco_test_server_setup,
                                        eco_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_equals_local_engine, eco_test_server_setup,
                                        eco_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_on_token, eco_test_server_setup,
                                        eco_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_server_errors, eco_test_server_setup,
                                        eco_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_registry_and_pool, eco_test_server_setup,
                                        eco_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_distill_teacher, eco_test_server_setup,
                                        eco_test_server_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
