/*
 * The server's hostile-input pieces (include/ecology/server.h): the request-body parser's
 * malformed-input table (each row accepted or refused, with the status, the field named as
 * OpenAI's "param" and a word of the message), what an accepted body holds, deep nesting
 * and truncations of a valid body, the API-key file's table and the key check, and the
 * config file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "ecology/server.h"

#define C ECO_SERVER_ENDPOINT_COMPLETIONS
#define H ECO_SERVER_ENDPOINT_CHAT

typedef struct row {
    eco_server_endpoint ep;
    const char *body;
    eco_status want;   /* OK: accepted */
    const char *param; /* the field named (refusals) */
    const char *words; /* in the message (refusals) */
} row;

static const row rows[] = {
    {C, "{\"model\":\"m\",\"prompt\":\"hi\"}", ECO_STATUS_OK, "", ""},
    {C,
     "{\"model\":\"m\",\"prompt\":[\"hi\"],\"max_tokens\":4,\"temperature\":0,\"top_p\":0.5,"
     "\"seed\":-3,\"stop\":[\"a\",\"b\"],\"n\":2,\"stream\":true,\"stream_options\":"
     "{\"include_usage\":true},\"logprobs\":2,\"user\":\"u\",\"echo\":false,"
     "\"frequency_penalty\":0,\"presence_penalty\":0,\"best_of\":2,\"logit_bias\":{}}",
     ECO_STATUS_OK, "", ""},
    {H, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", ECO_STATUS_OK,
     "", ""},
    {H,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"text\","
     "\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]}],\"logprobs\":true,"
     "\"top_logprobs\":3,\"max_completion_tokens\":5}",
     ECO_STATUS_OK, "", ""},
    /* not JSON, truncated, not an object */
    {C, "", ECO_STATUS_EFORMAT, "", "invalid JSON"},
    {C, "{\"model\":\"m\",\"prompt\":\"hi\"", ECO_STATUS_EFORMAT, "", "invalid JSON"},
    {C, "{\"model\":\"m\",\"prompt\":\"h", ECO_STATUS_EFORMAT, "", "invalid JSON"},
    {C, "[1,2]", ECO_STATUS_EFORMAT, "", "expected a JSON object"},
    {C, "\"text\"", ECO_STATUS_EFORMAT, "", "invalid JSON"},
    {C, "{\"model\":\"m\",\"model\":\"n\",\"prompt\":\"x\"}", ECO_STATUS_EFORMAT, "", "duplicate"},
    {C, "{\"model\":\"m\",\"prompt\":\"a\\u0000b\"}", ECO_STATUS_EFORMAT, "", "invalid JSON"},
    {C, "{\"model\":\"m\",\"prompt\":\"\xff\"}", ECO_STATUS_EFORMAT, "", "invalid JSON"},
    /* fields */
    {C, "{\"prompt\":\"hi\"}", ECO_STATUS_EFORMAT, "model", "missing"},
    {C, "{\"model\":\"\",\"prompt\":\"hi\"}", ECO_STATUS_EFORMAT, "model", "empty"},
    {C, "{\"model\":7,\"prompt\":\"hi\"}", ECO_STATUS_EFORMAT, "model", "expected a string"},
    {C, "{\"model\":\"m\"}", ECO_STATUS_EFORMAT, "prompt", "missing"},
    {C, "{\"model\":\"m\",\"prompt\":[\"a\",\"b\"]}", ECO_STATUS_EUNSUPPORTED, "prompt", "one"},
    {C, "{\"model\":\"m\",\"prompt\":[1,2,3]}", ECO_STATUS_EUNSUPPORTED, "prompt", "one"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"bogus\":1}", ECO_STATUS_EFORMAT, "bogus",
     "unknown field"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":0}", ECO_STATUS_EFORMAT, "max_tokens",
     "outside"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":100000}", ECO_STATUS_EFORMAT,
     "max_tokens", "outside"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"max_tokens\":1.5}", ECO_STATUS_EFORMAT, "max_tokens",
     "integer"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"temperature\":3}", ECO_STATUS_EFORMAT, "temperature",
     "outside"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"temperature\":\"hot\"}", ECO_STATUS_EFORMAT,
     "temperature", "number"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"top_p\":0}", ECO_STATUS_ERANGE, "top_p", "> 0"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"n\":0}", ECO_STATUS_EFORMAT, "n", "outside"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"n\":9}", ECO_STATUS_EFORMAT, "n", "outside"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"stop\":\"\"}", ECO_STATUS_EFORMAT, "stop", "empty"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}",
     ECO_STATUS_ERANGE, "stop", "more than 4"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"stop\":[\"a\",7]}", ECO_STATUS_EFORMAT, "stop[1]",
     "string"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"stop\":{\"a\":1}}", ECO_STATUS_EFORMAT, "stop",
     "string or an array"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"stream\":\"yes\"}", ECO_STATUS_EFORMAT, "stream",
     "true or false"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"stream_options\":{\"x\":1}}", ECO_STATUS_EFORMAT,
     "stream_options", "unknown field"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"logprobs\":6}", ECO_STATUS_EFORMAT, "logprobs",
     "outside"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"logprobs\":true}", ECO_STATUS_EFORMAT, "logprobs",
     "integer"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"echo\":true}", ECO_STATUS_EUNSUPPORTED, "echo",
     "not supported"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"presence_penalty\":0.5}", ECO_STATUS_EUNSUPPORTED,
     "presence_penalty", "not supported"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"best_of\":3}", ECO_STATUS_EUNSUPPORTED, "best_of",
     "equal to n"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"suffix\":\"s\"}", ECO_STATUS_EUNSUPPORTED, "suffix",
     "not supported"},
/* model selection: lora, merged_adapters, routing */
#define CX "{\"model\":\"m\",\"prompt\":\"x\","
    {C, CX "\"lora\":[{\"id\":\"a\",\"scale\":0.5},{\"id\":\"b\"}]}", ECO_STATUS_OK, "", ""},
    {C, CX "\"lora\":{\"id\":\"a\"}}", ECO_STATUS_EFORMAT, "lora", "array"},
    {C, CX "\"lora\":[]}", ECO_STATUS_ERANGE, "lora", "expected 1 to"},
    {C, CX "\"lora\":[\"a\"]}", ECO_STATUS_EFORMAT, "lora[0]", "object"},
    {C, CX "\"lora\":[{\"scale\":1}]}", ECO_STATUS_EFORMAT, "lora[0].id", "missing"},
    {C, CX "\"lora\":[{\"id\":\"\"}]}", ECO_STATUS_EFORMAT, "lora[0].id", "empty"},
    {C, CX "\"lora\":[{\"id\":\"a\",\"scale\":\"1\"}]}", ECO_STATUS_EFORMAT, "lora[0].scale",
     "scale"},
    {C, CX "\"lora\":[{\"id\":\"a\",\"alpha\":2}]}", ECO_STATUS_EFORMAT, "lora[0]", "unknown"},
    {C,
     CX "\"merged_adapters\":{\"ids\":[\"a\",\"b\"],\"weights\":[0.5,2],\"merge_strategy\":"
        "\"dare_ties\",\"density\":0.5,\"majority_sign_method\":\"frequency\",\"seed\":3}}",
     ECO_STATUS_OK, "", ""},
    {C, CX "\"merged_adapters\":{}}", ECO_STATUS_EFORMAT, "merged_adapters.ids", "missing"},
    {C, CX "\"merged_adapters\":[\"a\"]}", ECO_STATUS_EFORMAT, "merged_adapters", "object"},
    {C, CX "\"merged_adapters\":{\"ids\":[]}}", ECO_STATUS_ERANGE, "merged_adapters.ids",
     "expected 1 to"},
    {C, CX "\"merged_adapters\":{\"ids\":[1]}}", ECO_STATUS_EFORMAT, "merged_adapters.ids[0]",
     "string"},
    {C, CX "\"merged_adapters\":{\"ids\":[\"a\",\"\"]}}", ECO_STATUS_EFORMAT,
     "merged_adapters.ids[1]", "empty"},
    {C, CX "\"merged_adapters\":{\"ids\":[\"a\",\"b\"],\"weights\":[1]}}", ECO_STATUS_EFORMAT,
     "merged_adapters.weights", "one weight per adapter"},
    {C, CX "\"merged_adapters\":{\"ids\":[\"a\"],\"weights\":[\"1\"]}}", ECO_STATUS_EFORMAT,
     "merged_adapters.weights[0]", "number"},
    {C, CX "\"merged_adapters\":{\"ids\":[\"a\"],\"density\":0}}", ECO_STATUS_EFORMAT,
     "merged_adapters.density", "(0, 1]"},
    {C, CX "\"merged_adapters\":{\"ids\":[\"a\"],\"density\":1.5}}", ECO_STATUS_EFORMAT,
     "merged_adapters.density", "outside"},
    {C, CX "\"merged_adapters\":{\"ids\":[\"a\"],\"merge_strategy\":\"svd\"}}",
     ECO_STATUS_EUNSUPPORTED, "merged_adapters.merge_strategy", "not one of"},
    {C, CX "\"merged_adapters\":{\"ids\":[\"a\"],\"majority_sign_method\":\"max\"}}",
     ECO_STATUS_EUNSUPPORTED, "merged_adapters.majority_sign_method", "not one of"},
    {C, CX "\"merged_adapters\":{\"ids\":[\"a\"],\"seed\":-1}}", ECO_STATUS_EFORMAT,
     "merged_adapters.seed", "outside"},
    {C, CX "\"merged_adapters\":{\"ids\":[\"a\"],\"adapter_ids\":[]}}", ECO_STATUS_EFORMAT,
     "merged_adapters", "unknown"},
    {C, CX "\"lora\":[{\"id\":\"a\"}],\"merged_adapters\":{\"ids\":[\"a\"]}}", ECO_STATUS_EFORMAT,
     "merged_adapters", "cannot be given with lora"},
    {C, CX "\"routing\":{\"policy\":\"cascade\",\"threshold\":0.5,\"stages\":[\"a\",\"b\"]}}",
     ECO_STATUS_OK, "", ""},
    {C, CX "\"routing\":{\"policy\":\"capability\",\"capability\":\"text.sort@1\"}}", ECO_STATUS_OK,
     "", ""},
    {C, CX "\"routing\":\"cascade\"}", ECO_STATUS_EFORMAT, "routing", "object"},
    {C, CX "\"routing\":{\"policy\":\"cascade\"}}", ECO_STATUS_EFORMAT, "routing", "routing"},
    {C, CX "\"routing\":{\"policy\":\"nope\",\"stages\":[]}}", ECO_STATUS_EFORMAT, "routing",
     "routing"},
    {C,
     CX "\"stream\":true,\"routing\":{\"policy\":\"cascade\",\"threshold\":0.5,\"stages\":"
        "[\"a\",\"b\"]}}",
     ECO_STATUS_EUNSUPPORTED, "routing", "whole"},
    {C, CX "\"lora\":[{\"id\":\"a\"}],\"routing\":{\"policy\":\"cascade\"}}", ECO_STATUS_EFORMAT,
     "routing", "cannot be given with lora"},
    {H,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logprobs\":true,"
     "\"routing\":{\"policy\":\"cascade\",\"threshold\":0.5,\"stages\":[\"a\",\"b\"]}}",
     ECO_STATUS_EUNSUPPORTED, "routing", "no logprobs"},
#undef CX
    /* response_format (structured output) */
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":\"json_object\"}}",
     ECO_STATUS_OK, "", ""},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":\"text\"}}", ECO_STATUS_OK,
     "", ""},
    {C,
     "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":\"json_schema\",\"json_"
     "schema\":{\"name\":\"a-b_1\",\"strict\":true,\"description\":\"d\",\"schema\":{\"type\":"
     "\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"],"
     "\"additionalProperties\":false}}}}",
     ECO_STATUS_OK, "", ""},
    {C,
     "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":\"json_schema\",\"json_"
     "schema\":{\"name\":\"s\"}}}",
     ECO_STATUS_OK, "", ""},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":\"json\"}", ECO_STATUS_EFORMAT,
     "response_format", "expected an object"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{}}", ECO_STATUS_EFORMAT,
     "response_format.type", "missing"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":\"xml\"}}",
     ECO_STATUS_EUNSUPPORTED, "response_format.type", "not supported"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":7}}", ECO_STATUS_EFORMAT,
     "response_format.type", "expected a string"},
    {C,
     "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":\"json_object\",\"extra\":1}"
     "}",
     ECO_STATUS_EFORMAT, "response_format", "unknown field 'extra'"},
    {C,
     "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":\"json_object\",\"json_"
     "schema\":{}}}",
     ECO_STATUS_EFORMAT, "response_format.json_schema", "only with"},
    {C, "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":\"json_schema\"}}",
     ECO_STATUS_EFORMAT, "response_format.json_schema", "missing"},
    {C,
     "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":\"json_schema\",\"json_"
     "schema\":{\"schema\":{}}}}",
     ECO_STATUS_EFORMAT, "response_format.json_schema.name", "missing"},
    {C,
     "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":\"json_schema\",\"json_"
     "schema\":{\"name\":\"a b\"}}}",
     ECO_STATUS_EFORMAT, "response_format.json_schema.name", "1 to 64"},
    {C,
     "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":\"json_schema\",\"json_"
     "schema\":{\"name\":\"s\",\"strict\":1}}}",
     ECO_STATUS_EFORMAT, "response_format.json_schema.strict", "expected"},
    {C,
     "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":\"json_schema\",\"json_"
     "schema\":{\"name\":\"s\",\"schema\":[]}}}",
     ECO_STATUS_EFORMAT, "response_format.json_schema.schema", "expected an object"},
    {C,
     "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":\"json_schema\",\"json_"
     "schema\":{\"name\":\"s\",\"schema\":{\"type\":\"strin\"}}}}",
     ECO_STATUS_EFORMAT, "response_format.json_schema.schema", "type"},
    {C,
     "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":\"json_schema\",\"json_"
     "schema\":{\"name\":\"s\",\"schema\":{\"properties\":{\"zip\":{\"type\":\"string\","
     "\"pattern\":\"^[0-9]+$\"}}}}}}",
     ECO_STATUS_EUNSUPPORTED, "response_format.json_schema.schema.properties.zip.pattern",
     "keyword 'pattern' cannot be enforced"},
    {H,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":{"
     "\"type\":\"json_schema\",\"json_schema\":{\"name\":\"s\",\"schema\":{\"type\":\"string\","
     "\"format\":\"email\"}}}}",
     ECO_STATUS_EUNSUPPORTED, "response_format.json_schema.schema.format", "'format'"},
    {C,
     "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":\"json_schema\",\"json_"
     "schema\":{\"name\":\"s\",\"schema\":{\"type\":\"number\",\"minimum\":1}}}}",
     ECO_STATUS_EUNSUPPORTED, "response_format.json_schema.schema.minimum", "'minimum'"},
    {C,
     "{\"model\":\"m\",\"prompt\":\"x\",\"response_format\":{\"type\":\"json_schema\",\"json_"
     "schema\":{\"name\":\"s\",\"schema\":false}}}",
     ECO_STATUS_EFORMAT, "response_format.json_schema.schema", "no JSON value"},
    /* chat */
    {H, "{\"model\":\"m\"}", ECO_STATUS_EFORMAT, "messages", "missing"},
    {H, "{\"model\":\"m\",\"messages\":[]}", ECO_STATUS_EFORMAT, "messages", "empty"},
    {H, "{\"model\":\"m\",\"messages\":\"hi\"}", ECO_STATUS_EFORMAT, "messages", "array"},
    {H, "{\"model\":\"m\",\"messages\":[\"hi\"]}", ECO_STATUS_EFORMAT, "messages[0]", "object"},
    {H, "{\"model\":\"m\",\"messages\":[{\"content\":\"hi\"}]}", ECO_STATUS_EFORMAT,
     "messages[0].role", "missing"},
    {H, "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"hi\"}]}",
     ECO_STATUS_EUNSUPPORTED, "messages[0].role", "not supported"},
    {H, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]}", ECO_STATUS_EFORMAT,
     "messages[0].content", "missing"},
    {H, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":null}]}", ECO_STATUS_EFORMAT,
     "messages[0].content", "string or an array"},
    {H,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}",
     ECO_STATUS_EUNSUPPORTED, "messages[0].content[0].type", "text"},
    {H, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[[[]]]}]}",
     ECO_STATUS_EFORMAT, "messages[0].content[0]", "object"},
    {H, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"tool_calls\":[]}]}",
     ECO_STATUS_EFORMAT, "messages[0]", "unknown field"},
    {H, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_logprobs\":2}",
     ECO_STATUS_EFORMAT, "top_logprobs", "logprobs"},
    {H,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logprobs\":true,"
     "\"top_logprobs\":21}",
     ECO_STATUS_EFORMAT, "top_logprobs", "outside"},
    {H,
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":2,"
     "\"max_completion_tokens\":2}",
     ECO_STATUS_EFORMAT, "max_completion_tokens", "not both"},
    {H, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[]}",
     ECO_STATUS_EUNSUPPORTED, "tools", "yet"},
    {H, "{\"model\":\"m\",\"prompt\":\"x\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
     ECO_STATUS_EFORMAT, "prompt", "unknown field"},
};

static void test_table(void **state) {
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        const row *w = &rows[i];
        eco_server_request q;
        char param[128] = "?";
        eco_status st = eco_server_request_parse(w->body, strlen(w->body), w->ep, NULL, &q, param,
                                                 sizeof param);
        const char *msg = eco_last_error();
        bool ok = st == w->want;
        if (ok && st != ECO_STATUS_OK)
            ok = strcmp(param, w->param) == 0 && strstr(msg, w->words) != NULL;
        if (!ok) {
            print_error("row %zu %s: got %s param '%s' (%s), want %s param '%s' with '%s'\n", i,
                        w->body, eco_status_str(st), param, msg, eco_status_str(w->want), w->param,
                        w->words);
            bad++;
        }
        if (st == ECO_STATUS_OK) eco_server_request_free(&q);
    }
    assert_int_equal(bad, 0);
}

static void test_accepted_fields(void **state) {
    (void)state;
    eco_server_request q;
    const char *b = rows[1].body;
    ECO_ASSERT_OK(eco_server_request_parse(b, strlen(b), C, NULL, &q, NULL, 0));
    assert_string_equal(q.model, "m");
    assert_string_equal(q.prompt, "hi");
    assert_int_equal(q.max_tokens, 4);
    assert_true(q.temperature == 0 && q.top_p == 0.5);
    assert_true(q.seed == (uint64_t)-3);
    assert_int_equal(q.n_stop, 2);
    assert_string_equal(q.stop[1], "b");
    assert_int_equal(q.n, 2);
    assert_true(q.stream && q.include_usage && q.logprobs);
    assert_int_equal(q.top_logprobs, 2);
    eco_server_request_free(&q);

    b = rows[3].body;
    ECO_ASSERT_OK(eco_server_request_parse(b, strlen(b), H, NULL, &q, NULL, 0));
    assert_int_equal(q.n_messages, 1);
    assert_string_equal(q.messages[0].role, "system");
    assert_string_equal(q.messages[0].content, "ab");
    assert_int_equal(q.max_tokens, 5);
    assert_true(q.logprobs);
    assert_int_equal(q.top_logprobs, 3);
    assert_true(q.temperature == 1 && q.top_p == 1 && q.n == 1 && !q.stream);
    eco_server_request_free(&q);
}

/* Every prefix of a valid body is refused (never a crash), and so is nesting 100000 deep;
 * a body over the limit is ERANGE before parsing. */
/* What lora, merged_adapters and routing hold once accepted (defaults filled). */
static void test_selection_fields(void **state) {
    (void)state;
    eco_server_request q;
    const char *lora = "{\"model\":\"b\",\"prompt\":\"x\",\"lora\":[{\"id\":\"a\",\"scale\":0.25},"
                       "{\"id\":\"text.sort@1:champion\"}]}";
    ECO_ASSERT_OK(eco_server_request_parse(lora, strlen(lora), C, NULL, &q, NULL, 0));
    assert_int_equal(q.n_lora, 2);
    assert_string_equal(q.lora[0].id, "a");
    assert_true(q.lora[0].scale == 0.25 && q.lora[1].scale == 1);
    assert_string_equal(q.lora[1].id, "text.sort@1:champion");
    assert_null(q.merged);
    assert_null(q.routing);
    eco_server_request_free(&q);
    const char *m = "{\"model\":\"b\",\"prompt\":\"x\",\"merged_adapters\":{\"ids\":[\"a\",\"b\"],"
                    "\"merge_strategy\":\"ties\",\"density\":0.3,"
                    "\"majority_sign_method\":\"frequency\"}}";
    ECO_ASSERT_OK(eco_server_request_parse(m, strlen(m), C, NULL, &q, NULL, 0));
    assert_non_null(q.merged);
    assert_int_equal(q.merged->n, 2);
    assert_string_equal(q.merged->ids[1], "b");
    assert_true(q.merged->weights[0] == 1 && q.merged->weights[1] == 1);
    assert_int_equal(q.merged->strategy, 2); /* ECO_MERGE_METHOD_TIES */
    assert_true(q.merged->density == 0.3 && q.merged->sign_by_count);
    assert_int_equal(q.merged->seed, 0);
    eco_server_request_free(&q);
    const char *r = "{\"model\":\"b\",\"prompt\":\"x\",\"routing\":{\"stages\":[\"a\",\"b\"],"
                    "\"policy\":\"cascade\",\"threshold\":0.5}}";
    ECO_ASSERT_OK(eco_server_request_parse(r, strlen(r), C, NULL, &q, NULL, 0));
    assert_non_null(q.routing);
    assert_non_null(strstr(q.routing, "\"policy\":\"cascade\""));
    assert_non_null(strstr(q.routing, "\"threshold\":0.5"));
    eco_server_request_free(&q);
}

static void test_truncated_and_deep(void **state) {
    (void)state;
    const char *b = rows[3].body;
    for (size_t n = 0; n < strlen(b); n++) {
        eco_server_request q;
        eco_status st = eco_server_request_parse(b, n, H, NULL, &q, NULL, 0);
        if (st == ECO_STATUS_OK) {
            print_error("prefix of %zu bytes accepted\n", n);
            fail();
        }
    }
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 64);
    assert_non_null(deep);
    size_t o = (size_t)sprintf(deep, "{\"model\":\"m\",\"prompt\":");
    for (size_t i = 0; i < depth; i++) deep[o++] = '[';
    for (size_t i = 0; i < depth; i++) deep[o++] = ']';
    deep[o++] = '}';
    eco_server_request q;
    eco_server_limits l;
    eco_server_limits_default(&l);
    l.max_body_bytes = 1 << 20;
    ECO_ASSERT_STATUS(eco_server_request_parse(deep, o, C, &l, &q, NULL, 0), ECO_STATUS_EFORMAT);
    l.max_body_bytes = 100;
    ECO_ASSERT_STATUS(eco_server_request_parse(deep, o, C, &l, &q, NULL, 0), ECO_STATUS_ERANGE);
    free(deep);
}

static void test_keys(void **state) {
    (void)state;
    static const struct {
        const char *text;
        bool ok;
        const char *words;
    } k[] = {
        {"{\"keys\":[{\"key\":\"inference-key-1\",\"scope\":\"inference\"},"
         "{\"key\":\"admin-key-0001\",\"scope\":\"admin\",\"name\":\"ops\"}]}",
         true, ""},
        {"{\"keys\":[]}", false, "expected 1 to"},
        {"{}", false, "keys: missing"},
        {"{\"keys\":[{\"key\":\"short\",\"scope\":\"admin\"}]}", false, "expected 8 to 256"},
        {"{\"keys\":[{\"key\":\"with space in\",\"scope\":\"admin\"}]}", false, "printable"},
        {"{\"keys\":[{\"key\":\"abcdefgh\",\"scope\":\"root\"}]}", false, "\"inference\" or"},
        {"{\"keys\":[{\"key\":\"abcdefgh\",\"scope\":\"admin\"},{\"key\":\"abcdefgh\","
         "\"scope\":\"inference\"}]}",
         false, "the same key"},
        {"{\"keys\":[{\"key\":\"abcdefgh\",\"scope\":\"admin\",\"x\":1}]}", false, "unknown field"},
        {"{\"keys\":[\"abcdefgh\"]}", false, "expected an object"},
        {"{\"keys\":[{\"key\":\"abcdefgh\",\"scope\":\"admin\"}],\"more\":1}", false,
         "unknown field"},
        {"[", false, "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        eco_server_keys *keys = NULL;
        eco_status st = eco_server_keys_parse(k[i].text, strlen(k[i].text), "keys.json", &keys);
        if ((st == ECO_STATUS_OK) != k[i].ok ||
            (!k[i].ok && !strstr(eco_last_error(), k[i].words))) {
            print_error("keys row %zu: %s (%s)\n", i, eco_status_str(st), eco_last_error());
            fail();
        }
        if (i == 0) {
            const char *name = NULL;
            assert_int_equal(eco_server_keys_check(keys, "inference-key-1", 15, &name),
                             ECO_SERVER_SCOPE_INFERENCE);
            assert_null(name);
            assert_int_equal(eco_server_keys_check(keys, "admin-key-0001", 14, &name),
                             ECO_SERVER_SCOPE_ADMIN);
            assert_string_equal(name, "ops");
            /* a prefix, a longer key, a wrong byte, nothing */
            assert_int_equal(eco_server_keys_check(keys, "admin-key-000", 13, NULL),
                             ECO_SERVER_SCOPE_NONE);
            assert_int_equal(eco_server_keys_check(keys, "admin-key-00011", 15, NULL),
                             ECO_SERVER_SCOPE_NONE);
            assert_int_equal(eco_server_keys_check(keys, "admin-key-0002", 14, NULL),
                             ECO_SERVER_SCOPE_NONE);
            assert_int_equal(eco_server_keys_check(keys, NULL, 0, NULL), ECO_SERVER_SCOPE_NONE);
        }
        eco_server_keys_free(keys);
    }
}

static void test_config(void **state) {
    (void)state;
    eco_server_options o;
    eco_server_options_init(&o);
    eco_server_config *c = NULL;
    const char *t = "{\"host\":\"0.0.0.0\",\"port\":9000,\"preload\":[\"a\",\"b\"],"
                    "\"limits\":{\"max_tokens\":64,\"default_max_tokens\":8,"
                    "\"request_timeout_s\":2.5},\"pool\":{\"max_bases\":2}}";
    ECO_ASSERT_OK(eco_server_config_parse(t, strlen(t), "serve.json", &o, &c));
    assert_string_equal(o.host, "0.0.0.0");
    assert_int_equal(o.port, 9000);
    assert_int_equal(o.n_preload, 2);
    assert_string_equal(o.preload[1], "b");
    assert_int_equal(o.limits.max_tokens, 64);
    assert_true(o.limits.request_timeout_s == 2.5);
    assert_int_equal(o.pool.max_bases, 2);
    eco_server_config_free(c);
    static const char *const bad[] = {"{\"port\":70000}",
                                      "{\"limits\":{\"max_tokens\":4,\"default_max_tokens\":8}}",
                                      "{\"limits\":{\"nope\":1}}",
                                      "{\"preload\":[1]}",
                                      "{\"host\":5}",
                                      "[]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        eco_server_options_init(&o);
        eco_status st = eco_server_config_parse(bad[i], strlen(bad[i]), "serve.json", &o, &c);
        if (st == ECO_STATUS_OK || !strstr(eco_last_error(), "serve.json")) {
            print_error("config row %zu accepted or unnamed: %s\n", i, eco_last_error());
            fail();
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_accepted_fields),
        cmocka_unit_test(test_selection_fields),
        cmocka_unit_test(test_truncated_and_deep),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
