/*
 * The server in-process (include/ecology/server.h) over a registry holding the shipped base
 * (data/models/eco-tiny) and its reverse adapter, driven by a minimal HTTP/1.0 client over a
 * loopback socket, so the ASan+UBSan pass of `make test` runs the HTTP glue, the suspended
 * generations and the streams: /health; a greedy completion through the adapter equal to
 * the llama engine's own infer over the same folders; a stream whose deltas join to it and
 * end with [DONE]; 400, 401, 403, 404 error objects; and a graceful stop while a long stream
 * is in flight (it finishes, every choice to its length).
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server_fixture.h"
#include "test_util.h"

#include "ecology/artifacts.h"
#include "ecology/engine.h"
#include "ecology/json_schema.h"
#include "ecology/registry.h"
#include "ecology/server.h"

#define PROMPT "Reverse: kosjeco\nReversed:"

typedef eco_test_server fixture;

/* The error object's code, checking its shape. */
static void assert_error(const char *body, const char *code) {
    json_t *j = eco_test_parse(body), *e = json_object_get(j, "error");
    assert_non_null(e);
    assert_true(json_is_string(json_object_get(e, "message")));
    assert_true(json_is_string(json_object_get(e, "type")));
    assert_non_null(json_object_get(e, "param"));
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    json_decref(j);
}

/* The llama engine's own greedy answer over the same folders. */
static char *engine_answer(void) {
    char *base = eco_test_source_path("data/models/eco-tiny");
    char *rev = eco_test_source_path("data/adapters/text.reverse@1");
    eco_engine *e = NULL;
    ECO_ASSERT_OK(eco_llama_engine_open_adapter(base, rev, NULL, &e));
    eco_infer_request q;
    eco_infer_request_init(&q);
    const char *stops[] = {"\n"};
    q.prompt = PROMPT;
    q.max_tokens = 16;
    q.stop = stops;
    q.n_stop = 1;
    eco_infer_response resp;
    ECO_ASSERT_OK(e->infer(e, &q, &resp));
    char *text = eco_strdup(resp.text);
    eco_infer_response_free(&resp);
    eco_engine_destroy(e);
    free(base);
    free(rev);
    return text;
}

static void test_health_and_errors(void **state) {
    fixture *f = *state;
    char *b = NULL;
    assert_int_equal(eco_test_http(f->port, "GET", "/health", NULL, NULL, &b), 200);
    free(b);
    assert_int_equal(eco_test_http(f->port, "GET", "/v1/models", NULL, NULL, &b), 401);
    assert_error(b, "invalid_api_key");
    free(b);
    assert_int_equal(eco_test_http(f->port, "GET", "/admin/aliases", KEY_INF, NULL, &b), 403);
    assert_error(b, "insufficient_scope");
    free(b);
    assert_int_equal(eco_test_http(f->port, "GET", "/admin/aliases", KEY_ADMIN, NULL, &b), 200);
    free(b);
    assert_int_equal(eco_test_http(f->port, "POST", "/v1/completions", KEY_INF, "{\"model\":", &b),
                     400);
    assert_error(b, "invalid_request");
    free(b);
    assert_int_equal(eco_test_http(f->port, "POST", "/v1/completions", KEY_INF,
                                   "{\"model\":\"nope\",\"prompt\":\"x\"}", &b),
                     404);
    assert_error(b, "model_not_found");
    free(b);
    assert_int_equal(eco_test_http(f->port, "GET", "/v1/models", KEY_INF, NULL, &b), 200);
    json_t *j = eco_test_parse(b);
    assert_int_equal(json_array_size(json_object_get(j, "data")), 2);
    json_decref(j);
    free(b);
}

static void test_completion_equals_engine(void **state) {
    fixture *f = *state;
    char *want = engine_answer();
    assert_true(strlen(want) > 1);
    const char *req = "{\"model\":\"reverse\",\"prompt\":\"Reverse: kosjeco\\nReversed:\","
                      "\"max_tokens\":16,\"temperature\":0,\"stop\":\"\\n\"}";
    char *b = NULL;
    assert_int_equal(eco_test_http(f->port, "POST", "/v1/completions", KEY_INF, req, &b), 200);
    json_t *j = eco_test_parse(b);
    json_t *c = json_array_get(json_object_get(j, "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "text")), want);
    assert_string_equal(json_string_value(json_object_get(j, "model")), "reverse");
    json_decref(j);
    free(b);

    /* the stream: deltas joined, then [DONE] */
    const char *sreq = "{\"model\":\"reverse\",\"prompt\":\"Reverse: kosjeco\\nReversed:\","
                       "\"max_tokens\":16,\"temperature\":0,\"stop\":\"\\n\",\"stream\":true}";
    assert_int_equal(eco_test_http(f->port, "POST", "/v1/completions", KEY_INF, sreq, &b), 200);
    eco_buf text = {0};
    assert_true(eco_buf_reserve(&text, 0));
    bool done = false;
    for (char *line = strtok(b, "\n"); line; line = strtok(NULL, "\n")) {
        if (!strcmp(line, "data: [DONE]")) done = true;
        if (strncmp(line, "data: {", 7) != 0) continue;
        json_t *ev = eco_test_parse(line + 6);
        const char *t = json_string_value(
            json_object_get(json_array_get(json_object_get(ev, "choices"), 0), "text"));
        if (t) assert_true(eco_buf_puts(&text, t));
        json_decref(ev);
    }
    assert_true(done);
    assert_string_equal(text.data, want);
    eco_buf_free(&text);
    free(b);
    free(want);
}

/* Structured output: json_schema and json_object answers (plain, streamed, several choices
 * sampled) parse and validate; max_tokens cutting one short says "length"; a keyword the
 * decoder cannot enforce is a 400 naming it. */
#define PERSON_SCHEMA                                                                              \
    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":6},"         \
    "\"age\":{\"type\":\"integer\"},\"pets\":{\"type\":\"array\",\"items\":{\"enum\":"             \
    "[\"cat\",\"dog\"]},\"maxItems\":2}},\"required\":[\"name\",\"age\"],"                         \
    "\"additionalProperties\":false}"

static void test_structured_output(void **state) {
    fixture *f = *state;
    eco_json_schema *schema = NULL;
    ECO_ASSERT_OK(eco_json_schema_compile(PERSON_SCHEMA, strlen(PERSON_SCHEMA), "test", &schema));
    static const char *const reqs[] = {
        "{\"model\":\"eco-tiny\",\"messages\":[{\"role\":\"user\",\"content\":\"a person\"}],"
        "\"max_tokens\":200,\"temperature\":1,\"seed\":3,\"n\":3,\"response_format\":{\"type\":"
        "\"json_schema\",\"json_schema\":{\"name\":\"person\",\"strict\":true,"
        "\"schema\":" PERSON_SCHEMA "}}}",
        "{\"model\":\"reverse\",\"prompt\":\"x\",\"max_tokens\":200,\"temperature\":0,"
        "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"person\","
        "\"schema\":" PERSON_SCHEMA "}}}",
    };
    for (size_t r = 0; r < 2; r++) {
        char *b = NULL;
        assert_int_equal(eco_test_http(f->port, "POST",
                                       r == 0 ? "/v1/chat/completions" : "/v1/completions", KEY_INF,
                                       reqs[r], &b),
                         200);
        json_t *j = eco_test_parse(b);
        json_t *choices = json_object_get(j, "choices");
        assert_int_equal(json_array_size(choices), r == 0 ? 3 : 1);
        for (size_t i = 0; i < json_array_size(choices); i++) {
            json_t *c = json_array_get(choices, i);
            json_t *t = r == 0 ? json_object_get(json_object_get(c, "message"), "content")
                               : json_object_get(c, "text");
            assert_string_equal(json_string_value(json_object_get(c, "finish_reason")), "stop");
            bool valid = false;
            ECO_ASSERT_OK(eco_json_schema_validate_text(schema, json_string_value(t),
                                                        json_string_length(t), &valid, NULL));
            if (!valid) fail_msg("invalid: %s", json_string_value(t));
        }
        json_decref(j);
        free(b);
    }
    /* json_object, streamed: the deltas join to one JSON object */
    const char *sreq = "{\"model\":\"eco-tiny\",\"prompt\":\"{\",\"max_tokens\":300,"
                       "\"temperature\":0.7,\"seed\":5,\"stream\":true,\"response_format\":"
                       "{\"type\":\"json_object\"}}";
    char *b = NULL;
    assert_int_equal(eco_test_http(f->port, "POST", "/v1/completions", KEY_INF, sreq, &b), 200);
    eco_buf text = {0};
    assert_true(eco_buf_reserve(&text, 0));
    const char *finish = NULL;
    for (char *line = strtok(b, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "data: {", 7) != 0) continue;
        json_t *ev = eco_test_parse(line + 6);
        json_t *c = json_array_get(json_object_get(ev, "choices"), 0);
        const char *t = json_string_value(json_object_get(c, "text"));
        if (t) assert_true(eco_buf_puts(&text, t));
        const char *fr = json_string_value(json_object_get(c, "finish_reason"));
        if (fr) finish = !strcmp(fr, "stop") ? "stop" : "length";
        json_decref(ev);
    }
    assert_non_null(finish);
    if (!strcmp(finish, "stop")) {
        json_t *o = eco_test_parse(text.data);
        assert_true(json_is_object(o));
        json_decref(o);
    }
    eco_buf_free(&text);
    free(b);
    /* cut short by max_tokens: "length" */
    const char *short_req = "{\"model\":\"eco-tiny\",\"prompt\":\"x\",\"max_tokens\":2,"
                            "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{"
                            "\"name\":\"p\",\"schema\":" PERSON_SCHEMA "}}}";
    assert_int_equal(eco_test_http(f->port, "POST", "/v1/completions", KEY_INF, short_req, &b),
                     200);
    json_t *j = eco_test_parse(b);
    json_t *c = json_array_get(json_object_get(j, "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "finish_reason")), "length");
    assert_true(!strncmp(json_string_value(json_object_get(c, "text")), "{\"", 2));
    json_decref(j);
    free(b);
    /* a keyword the decoder cannot enforce: 400 naming it */
    const char *bad = "{\"model\":\"eco-tiny\",\"prompt\":\"x\",\"response_format\":{\"type\":"
                      "\"json_schema\",\"json_schema\":{\"name\":\"p\",\"schema\":{\"type\":"
                      "\"object\",\"properties\":{\"zip\":{\"type\":\"string\",\"pattern\":"
                      "\"^[0-9]{5}$\"}}}}}}";
    assert_int_equal(eco_test_http(f->port, "POST", "/v1/completions", KEY_INF, bad, &b), 400);
    j = eco_test_parse(b);
    json_t *e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "param")),
                        "response_format.json_schema.schema.properties.zip.pattern");
    assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "'pattern'"));
    json_decref(j);
    free(b);
    eco_json_schema_free(schema);
}

typedef struct long_stream {
    uint16_t port;
    char *body;
    int status;
} long_stream;

static void *run_long(void *arg) {
    long_stream *ls = arg;
    ls->status = eco_test_http(
        ls->port, "POST", "/v1/completions", KEY_INF,
        "{\"model\":\"eco-tiny\",\"prompt\":\"The quick brown fox\",\"max_tokens\":100,"
        "\"n\":8,\"temperature\":0,\"stream\":true}",
        &ls->body);
    return NULL;
}

/* The last test: stops the server with a stream in flight. */
static void test_stop_with_stream_in_flight(void **state) {
    fixture *f = *state;
    long_stream ls = {.port = f->port};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_long, &ls), 0);
    for (int i = 0; i < 5000 && eco_server_in_flight(f->srv) == 0; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    assert_true(eco_server_in_flight(f->srv) > 0);
    eco_server_stop(f->srv, 60);
    f->srv = NULL;
    pthread_join(th, NULL);
    assert_int_equal(ls.status, 200);
    size_t lengths = 0;
    for (const char *p = ls.body; (p = strstr(p, "\"finish_reason\":\"length\"")); p++) lengths++;
    assert_int_equal(lengths, 8);
    assert_non_null(strstr(ls.body, "data: [DONE]"));
    free(ls.body);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_errors),
        cmocka_unit_test(test_completion_equals_engine),
        cmocka_unit_test(test_structured_output),
        cmocka_unit_test(test_stop_with_stream_in_flight),
    };
    return cmocka_run_group_tests(tests, eco_test_server_setup, eco_test_server_teardown);
}
