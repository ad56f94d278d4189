/*
 * json_constraint: structured output's recogniser and token mask (ecology/json_schema.h).
 *
 * 1. A table of prefixes per keyword: accepted or refused, complete or not.
 * 2. Schemas the decoder must refuse (keyword named, its pointer in `where`).
 * 3. Property: random walks choosing random allowed bytes until complete (a budget, then
 *    bytes that close) never dead-end and always give text the validator accepts.
 * 4. The token mask against a brute-force check of every token, on a synthetic vocabulary.
 * 5. The engine: a random-weight model constrained by several schemas, greedy and sampled,
 *    over the byte tokenizer and a BPE tokenizer trained here, always writes valid JSON.
 */
#include "test_util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/engine.h"
#include "ecology/json_schema.h"
#include "ecology/tokenizer.h"
#include "ecology/tokenizer_train.h"

static eco_json_schema *compile(const char *text) {
    eco_json_schema *s = NULL;
    ECO_ASSERT_OK(eco_json_schema_compile(text, strlen(text), "test", &s));
    return s;
}

/* ---- 1. prefixes ------------------------------------------------------------------------- */

typedef struct prefix_case {
    const char *schema; /* NULL: json_object */
    const char *text;
    bool accepted;
    bool complete;
} prefix_case;

#define OBJ_AB                                                                                     \
    "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},\"ab\":{\"type\":"          \
    "\"string\"}},\"required\":[\"ab\"],\"additionalProperties\":false}"

static const prefix_case PREFIXES[] = {
    /* type: integer */
    {"{\"type\":\"integer\"}", "0", true, true},
    {"{\"type\":\"integer\"}", "-12", true, true},
    {"{\"type\":\"integer\"}", "-", true, false},
    {"{\"type\":\"integer\"}", "01", false, false},
    {"{\"type\":\"integer\"}", "1.5", false, false},
    {"{\"type\":\"integer\"}", "1e3", false, false},
    {"{\"type\":\"integer\"}", " 1", false, false},
    {"{\"type\":\"integer\"}", "123456789012345", true, true},
    {"{\"type\":\"integer\"}", "1234567890123456", false, false},
    {"{\"type\":\"integer\"}", "\"1\"", false, false},
    /* type: number */
    {"{\"type\":\"number\"}", "1.5e-3", true, true},
    {"{\"type\":\"number\"}", "1.", true, false},
    {"{\"type\":\"number\"}", "1e", true, false},
    {"{\"type\":\"number\"}", "1e+", true, false},
    {"{\"type\":\"number\"}", "1e999", false, false},
    {"{\"type\":\"number\"}", "-0.0", true, true},
    {"{\"type\":\"number\"}", ".5", false, false},
    /* booleans and null */
    {"{\"type\":\"boolean\"}", "tru", true, false},
    {"{\"type\":\"boolean\"}", "false", true, true},
    {"{\"type\":\"boolean\"}", "null", false, false},
    {"{\"type\":[\"boolean\",\"null\"]}", "null", true, true},
    {"{\"type\":\"boolean\"}", "true ", false, false},
    /* strings */
    {"{\"type\":\"string\"}", "\"a\\n\\u00e9\\\"\"", true, true},
    {"{\"type\":\"string\"}", "\"\\x\"", false, false},
    {"{\"type\":\"string\"}", "\"\\ud800\"", false, false},
    {"{\"type\":\"string\"}", "\"\x01\"", false, false},
    {"{\"type\":\"string\"}", "\"\xc3\xa9\"", true, true},
    {"{\"type\":\"string\"}", "\"\xc3\"", false, false},
    {"{\"type\":\"string\"}", "\"\xed\xa0\x80\"", false, false}, /* a surrogate in UTF-8 */
    {"{\"type\":\"string\"}", "\"\xe0\x80\"", false, false},     /* overlong */
    {"{\"type\":\"string\"}", "\"\xf4\x90\"", false, false},     /* past U+10FFFF */
    {"{\"type\":\"string\"}", "\"\xf0\x9f\x98\x80\"", true, true},
    {"{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}", "\"a\"", false, false},
    {"{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}", "\"a\xc3\xa9\"", true, true},
    {"{\"type\":\"string\",\"minLength\":2,\"maxLength\":3}", "\"abcd", false, false},
    {"{\"type\":\"string\",\"maxLength\":2}", "\"\\n\\t\"", true, true},
    {"{\"type\":\"string\",\"maxLength\":2}", "\"\\n\\t\\r", false, false},
    /* enum and const */
    {"{\"enum\":[\"red\",\"green\",1,12]}", "\"gr", true, false},
    {"{\"enum\":[\"red\",\"green\",1,12]}", "\"blue\"", false, false},
    {"{\"enum\":[\"red\",\"green\",1,12]}", "1", true, true},
    {"{\"enum\":[\"red\",\"green\",1,12]}", "12", true, true},
    {"{\"enum\":[\"red\",\"green\",1,12]}", "13", false, false},
    {"{\"type\":\"string\",\"enum\":[\"a\",1]}", "1", false, false},
    {"{\"const\":{\"b\":[1,2],\"a\":null}}", "{\"a\":null,\"b\":[1,2]}", true, true},
    {"{\"const\":{\"b\":[1,2],\"a\":null}}", "{\"b\"", false, false},
    /* objects with known keys */
    {OBJ_AB, "{}", false, false},
    {OBJ_AB, "{\"ab\":\"x\"}", true, true},
    {OBJ_AB, "{\"a\":1}", false, false},
    {OBJ_AB, "{\"a\":1,\"ab\":\"\"}", true, true},
    {OBJ_AB, "{\"a\": 1, \"ab\": \"\"}", true, true},
    {OBJ_AB, "{\"a\":  1", false, false},
    {OBJ_AB, "{ \"a\"", false, false},
    {OBJ_AB, "{\"a\":1,\"a\"", false, false},
    {OBJ_AB, "{\"c\"", false, false},
    {OBJ_AB, "{\"a\":\"1\"", false, false},
    {OBJ_AB, "{\"ab\":\"\",\"a\":1,", false, false}, /* no key left for the comma */
    {OBJ_AB, "{\"ab\":\"\"}x", false, false},
    {"{\"type\":\"object\",\"required\":[\"k\"]}", "{\"k\":[{}]}", true, true},
    {"{\"type\":\"object\",\"properties\":{\"q\\\"\":{}}}", "{\"q\\\"\":1}", true, true},
    /* objects with free keys */
    {NULL, "{\"x\":{\"y\":[1,\"z\",null]},\"\xc3\xa9\":true}", true, true},
    {NULL, "[]", false, false},
    {NULL, "{\"x\":1,\"x\"", false, false},
    {NULL, "{\"x\\n\"", false, false},
    {"{\"type\":\"object\",\"additionalProperties\":false}", "{}", true, true},
    {"{\"type\":\"object\",\"additionalProperties\":false}", "{\"", false, false},
    {"{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}}", "{\"a\":1,\"b\":2}",
     true, true},
    {"{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}}", "{\"a\":true", false,
     false},
    /* arrays */
    {"{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1,\"maxItems\":2}", "[]",
     false, false},
    {"{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1,\"maxItems\":2}",
     "[1, 2]", true, true},
    {"{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1,\"maxItems\":2}", "[1,2,",
     false, false},
    {"{\"type\":\"array\",\"items\":false}", "[]", true, true},
    {"{\"type\":\"array\",\"items\":false}", "[1", false, false},
    {"{\"type\":\"array\"}", "[[[\"a\",{}]],-1.5]", true, true},
    /* $ref, anyOf / oneOf told apart by the first byte, allOf of one */
    {"{\"$defs\":{\"a\":{\"type\":\"string\"}},\"$ref\":\"#/$defs/a\"}", "\"x\"", true, true},
    {"{\"$defs\":{\"a\":{\"type\":\"string\"}},\"$ref\":\"#/$defs/a\"}", "1", false, false},
    {"{\"anyOf\":[{\"type\":\"string\",\"maxLength\":1},{\"type\":\"null\"}]}", "null", true, true},
    {"{\"anyOf\":[{\"type\":\"string\",\"maxLength\":1},{\"type\":\"null\"}]}", "\"ab", false,
     false},
    {"{\"oneOf\":[{\"type\":\"integer\"},{\"anyOf\":[{\"enum\":[\"a\"]},{\"type\":\"array\","
     "\"maxItems\":0}]}]}",
     "[]", true, true},
    {"{\"allOf\":[{\"type\":\"boolean\"}]}", "true", true, true},
    {"{\"allOf\":[{\"type\":\"boolean\"}]}", "1", false, false},
    /* boolean schemas */
    {"true", "\"x\"", true, true},
    {"true", "[1]", true, true},
};

static void test_prefixes(void **state) {
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof PREFIXES / sizeof *PREFIXES; i++) {
        const prefix_case *t = &PREFIXES[i];
        eco_json_schema *s = t->schema ? compile(t->schema) : NULL;
        eco_json_constraint *c;
        ECO_ASSERT_OK(eco_json_constraint_create(s, "test", &c, NULL, 0));
        bool ok = eco_json_constraint_feed(c, t->text, strlen(t->text));
        bool done = eco_json_constraint_complete(c);
        if (ok != t->accepted || (ok && done != t->complete)) {
            print_error("case %zu: schema %s text '%s': accepted %d (want %d), complete %d (want "
                        "%d)\n",
                        i, t->schema ? t->schema : "json_object", t->text, ok, t->accepted, done,
                        t->complete);
            bad++;
        }
        /* byte by byte gives the same verdict, and a refused prefix leaves the state alone */
        eco_json_constraint_reset(c);
        size_t n = strlen(t->text), k = 0;
        while (k < n && eco_json_constraint_feed(c, t->text + k, 1)) k++;
        if ((k == n) != t->accepted) {
            print_error("case %zu: byte by byte disagrees\n", i);
            bad++;
        }
        eco_json_constraint_free(c);
        eco_json_schema_free(s);
    }
    assert_int_equal(bad, 0);
}

/* ---- 2. refused schemas ------------------------------------------------------------------ */

typedef struct refuse_case {
    const char *schema;
    eco_status want;
    const char *where;   /* expected pointer */
    const char *message; /* a substring of the message */
} refuse_case;

static const refuse_case REFUSED[] = {
    {"{\"type\":\"string\",\"pattern\":\"^a\"}", ECO_STATUS_EUNSUPPORTED, "/pattern", "'pattern'"},
    {"{\"type\":\"string\",\"format\":\"date\"}", ECO_STATUS_EUNSUPPORTED, "/format", "'format'"},
    {"{\"properties\":{\"n\":{\"type\":\"number\",\"minimum\":0}}}", ECO_STATUS_EUNSUPPORTED,
     "/properties/n/minimum", "cannot be enforced"},
    {"{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"number\"}]}", ECO_STATUS_EUNSUPPORTED,
     "/anyOf", "same byte ('-')"},
    {"{\"oneOf\":[{\"type\":\"string\"},{\"enum\":[\"a\"]}]}", ECO_STATUS_EUNSUPPORTED, "/oneOf",
     "cannot be told apart"},
    {"{\"type\":\"object\",\"properties\":{\"next\":{\"$ref\":\"#\"}}}", ECO_STATUS_EUNSUPPORTED,
     "/properties/next/$ref", "recursive"},
    {"{\"type\":\"string\",\"anyOf\":[{\"maxLength\":2},{\"type\":\"null\"}]}",
     ECO_STATUS_EUNSUPPORTED, "/type", "beside 'anyOf'"},
    {"{\"allOf\":[{\"type\":\"string\"},{\"maxLength\":2}]}", ECO_STATUS_EUNSUPPORTED, "/allOf",
     "one subschema"},
    {"{\"type\":\"array\",\"prefixItems\":[{}]}", ECO_STATUS_EUNSUPPORTED, "/prefixItems",
     "prefixItems"},
    {"{\"type\":\"array\",\"uniqueItems\":true}", ECO_STATUS_EUNSUPPORTED, "/uniqueItems",
     "uniqueItems"},
    {"{\"enum\":[\"a\"],\"minLength\":1}", ECO_STATUS_EUNSUPPORTED, "/minLength", "beside enum"},
    {"false", ECO_STATUS_EFORMAT, "", "no JSON value"},
    {"{\"type\":\"integer\",\"enum\":[\"a\"]}", ECO_STATUS_EFORMAT, "", "no JSON value"},
    {"{\"type\":\"object\",\"properties\":{\"a\":false},\"required\":[\"a\"]}", ECO_STATUS_EFORMAT,
     "", "no JSON value"},
};

static void test_refused(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof REFUSED / sizeof *REFUSED; i++) {
        const refuse_case *t = &REFUSED[i];
        eco_json_schema *s = compile(t->schema);
        eco_json_constraint *c = (eco_json_constraint *)1;
        char where[128];
        eco_status st = eco_json_constraint_create(s, "test", &c, where, sizeof where);
        if (st != t->want || c != NULL || strcmp(where, t->where) ||
            !strstr(eco_last_error(), t->message)) {
            print_error("case %zu: %s: got %s where '%s' message '%s'\n", i, t->schema,
                        eco_status_str(st), where, eco_last_error());
            fail();
        }
        eco_json_schema_free(s);
    }
    /* a schema deeper than the decoder nests */
    char deep[2048] = "";
    for (int i = 0; i < ECO_JSON_CONSTRAINT_MAX_DEPTH + 1; i++)
        strcat(deep, "{\"type\":\"array\",\"minItems\":1,\"items\":");
    strcat(deep, "{}");
    for (int i = 0; i < ECO_JSON_CONSTRAINT_MAX_DEPTH + 1; i++) strcat(deep, "}");
    eco_json_schema *s = compile(deep);
    eco_json_constraint *c;
    ECO_ASSERT_STATUS(eco_json_constraint_create(s, "test", &c, NULL, 0), ECO_STATUS_ERANGE);
    eco_json_schema_free(s);
}

/* ---- 3. random walks ----------------------------------------------------------------------- */

static const char *const WALK_SCHEMAS[] = {
    NULL,
    "true",
    "{\"type\":\"integer\"}",
    "{\"type\":\"number\"}",
    "{\"type\":[\"string\",\"null\",\"boolean\"]}",
    "{\"type\":\"string\",\"minLength\":3,\"maxLength\":6}",
    "{\"enum\":[\"red\",\"green\",\"gr\",1,12,{\"a\":[true]},null]}",
    OBJ_AB,
    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":8},"
    "\"age\":{\"type\":\"integer\"},\"tags\":{\"type\":\"array\",\"items\":{\"enum\":[\"x\",\"y\"]}"
    ","
    "\"maxItems\":3},\"pet\":{\"type\":\"object\",\"properties\":{\"kind\":{\"const\":\"cat\"},"
    "\"ok\":{\"type\":\"boolean\"}},\"required\":[\"kind\",\"ok\"],\"additionalProperties\":false}}"
    ","
    "\"required\":[\"name\",\"age\",\"pet\"],\"additionalProperties\":false}",
    "{\"type\":\"array\",\"items\":{\"type\":\"object\",\"additionalProperties\":{\"type\":"
    "\"number\"}},\"minItems\":2,\"maxItems\":4}",
    "{\"type\":\"object\",\"required\":[\"only\"],\"additionalProperties\":{\"type\":\"integer\"}}",
    /* as pydantic writes a model with a nested model, an optional field and a list */
    "{\"$defs\":{\"Pet\":{\"properties\":{\"kind\":{\"enum\":[\"cat\",\"dog\"],\"title\":\"Kind\"},"
    "\"age\":{\"anyOf\":[{\"type\":\"integer\"},{\"type\":\"null\"}],\"default\":null}},"
    "\"required\":[\"kind\"],\"title\":\"Pet\",\"type\":\"object\"}},\"properties\":{\"name\":"
    "{\"title\":\"Name\",\"type\":\"string\"},\"pets\":{\"items\":{\"$ref\":\"#/$defs/Pet\"},"
    "\"type\":\"array\",\"maxItems\":3},\"best\":{\"anyOf\":[{\"$ref\":\"#/$defs/Pet\"},"
    "{\"type\":\"null\"}]}},\"required\":[\"name\",\"pets\",\"best\"],\"title\":\"Owner\","
    "\"type\":\"object\"}",
    "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"object\",\"properties\":{\"b\":{"
    "\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},"
    "\"minItems\":1}}},\"required\":[\"b\"]}},\"required\":[\"a\"]}",
};

/* Walks c from empty output with random allowed bytes (after `budget` bytes, the first
 * allowed of "\"}],:" or else the lowest allowed byte) until complete, ending at a random
 * point once complete. Returns the text (malloc'd, *len bytes). */
static char *random_walk(eco_json_constraint *c, eco_rng *rng, size_t budget, size_t *len) {
    eco_json_constraint_reset(c);
    eco_buf b = {0};
    for (size_t step = 0;; step++) {
        bool allowed[256];
        eco_json_constraint_next_bytes(c, allowed);
        int n = 0, pick = -1;
        for (int i = 0; i < 256; i++) n += allowed[i];
        bool done = eco_json_constraint_complete(c);
        if (done && (n == 0 || eco_rng_next(rng) % 4 == 0 || step > budget)) break;
        if (n == 0) fail_msg("dead end after '%.*s'", (int)b.len, b.data);
        if (step < budget) {
            int k = (int)(eco_rng_next(rng) % (uint64_t)n);
            for (int i = 0; i < 256; i++)
                if (allowed[i] && k-- == 0) pick = i;
        } else {
            for (const char *p = "\"}],:"; *p && pick < 0; p++)
                if (allowed[(uint8_t)*p]) pick = (uint8_t)*p;
            for (int i = 0; i < 256 && pick < 0; i++)
                if (allowed[i]) pick = i;
        }
        if (step > budget + 10000) fail_msg("no completion after '%.*s'", (int)b.len, b.data);
        uint8_t byte = (uint8_t)pick;
        assert_true(eco_json_constraint_feed(c, &byte, 1));
        assert_true(eco_buf_append(&b, (const char *)&byte, 1));
    }
    assert_true(eco_buf_append(&b, "", 0));
    *len = b.len;
    if (!b.data) b.data = calloc(1, 1);
    return b.data;
}

static void test_random_walks(void **state) {
    (void)state;
    eco_json_schema *any_object = compile("{\"type\":\"object\"}");
    size_t walks = 0;
    for (size_t i = 0; i < sizeof WALK_SCHEMAS / sizeof *WALK_SCHEMAS; i++) {
        eco_json_schema *s = WALK_SCHEMAS[i] ? compile(WALK_SCHEMAS[i]) : NULL;
        eco_json_constraint *c;
        ECO_ASSERT_OK(eco_json_constraint_create(s, "walk", &c, NULL, 0));
        for (uint64_t seed = 1; seed <= 200; seed++) {
            eco_rng rng;
            eco_rng_seed(&rng, seed * 7919 + i);
            size_t len;
            char *text = random_walk(c, &rng, 4 + seed % 60, &len);
            bool valid = false;
            eco_json_schema_error err;
            ECO_ASSERT_OK(
                eco_json_schema_validate_text(s ? s : any_object, text, len, &valid, &err));
            if (!valid) {
                char why[1024];
                fail_msg("schema %zu seed %llu: '%.*s' invalid: %s", i, (unsigned long long)seed,
                         (int)len, text, eco_json_schema_error_str(&err, why, sizeof why));
            }
            json_error_t jerr; /* plain jansson too (no duplicate keys, no NUL) */
            json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
            if (!v && !memchr(text, 0, len) && !strstr(text, "\\u0000"))
                fail_msg("'%.*s': %s", (int)len, text, jerr.text);
            json_decref(v);
            free(text);
            walks++;
        }
        eco_json_constraint_free(c);
        eco_json_schema_free(s);
    }
    eco_json_schema_free(any_object);
    print_message("random walks: %zu, every one valid\n", walks);
}

/* ---- 4. the token mask --------------------------------------------------------------------- */

static void test_mask_matches_brute_force(void **state) {
    (void)state;
    /* tokens: every byte, plus random strings over JSON-ish bytes */
    enum { N = 900 };
    static const char alpha[] = "{}[]\",: 0123456789-.eE+truefalsnabcxyz\\/\xc3\xa9";
    uint8_t *bytes[N];
    size_t lens[N];
    eco_rng rng;
    eco_rng_seed(&rng, 42);
    for (int i = 0; i < N; i++) {
        if (i < 256) {
            lens[i] = i == 3 ? 0 : 1; /* id 3: a "special" token */
            bytes[i] = malloc(1);
            bytes[i][0] = (uint8_t)i;
            continue;
        }
        lens[i] = 2 + eco_rng_next(&rng) % 7;
        bytes[i] = malloc(lens[i]);
        for (size_t k = 0; k < lens[i]; k++)
            bytes[i][k] = (uint8_t)alpha[eco_rng_next(&rng) % (sizeof alpha - 1)];
    }
    int32_t eos[1] = {3};
    eco_token_vocab *v;
    ECO_ASSERT_OK(eco_token_vocab_create((const uint8_t *const *)bytes, lens, N, eos, 1, &v));
    float *logits = malloc(N * sizeof *logits);
    size_t checked = 0;
    for (size_t si = 0; si < sizeof WALK_SCHEMAS / sizeof *WALK_SCHEMAS; si++) {
        eco_json_schema *s = WALK_SCHEMAS[si] ? compile(WALK_SCHEMAS[si]) : NULL;
        eco_json_constraint *c, *probe;
        ECO_ASSERT_OK(eco_json_constraint_create(s, "mask", &c, NULL, 0));
        ECO_ASSERT_OK(eco_json_constraint_create(s, "mask", &probe, NULL, 0));
        eco_decode_constraint *d = eco_json_constraint_decoder(c);
        eco_buf text = {0};
        for (int step = 0; step < 40; step++) {
            for (int i = 0; i < N; i++) logits[i] = 0;
            size_t n_allowed = 0;
            bool complete = false;
            ECO_ASSERT_OK(d->mask(d, v, logits, &n_allowed, &complete));
            size_t count = 0;
            for (int id = 0; id < N; id++) {
                eco_json_constraint_reset(probe);
                assert_true(eco_json_constraint_feed(probe, text.data ? text.data : "", text.len));
                bool want = id == 3 ? eco_json_constraint_complete(probe)
                                    : eco_json_constraint_feed(probe, bytes[id], lens[id]);
                bool got = logits[id] == 0;
                if (want != got)
                    fail_msg("schema %zu after '%.*s': token %d: mask %d, brute force %d", si,
                             (int)text.len, text.data, id, got, want);
                count += want;
                checked++;
            }
            assert_int_equal(count, n_allowed);
            assert_int_equal(complete, eco_json_constraint_complete(c));
            /* follow a random allowed token (not EOS) */
            int cand[N], nc = 0;
            for (int id = 0; id < N; id++)
                if (logits[id] == 0 && id != 3) cand[nc++] = id;
            if (nc == 0) break;
            int id = cand[eco_rng_next(&rng) % (uint64_t)nc];
            ECO_ASSERT_OK(d->accept(d, v, id));
            assert_true(eco_buf_append(&text, (const char *)bytes[id], lens[id]));
        }
        /* a token that may not come is refused by accept */
        for (int id = 0; id < N; id++) {
            for (int i = 0; i < N; i++) logits[i] = 0;
            size_t na;
            bool cm;
            ECO_ASSERT_OK(d->mask(d, v, logits, &na, &cm));
            if (id != 3 && isinf(logits[id])) {
                ECO_ASSERT_STATUS(d->accept(d, v, id), ECO_STATUS_EINVAL);
                break;
            }
        }
        eco_buf_free(&text);
        eco_json_constraint_free(c);
        eco_json_constraint_free(probe);
        eco_json_schema_free(s);
    }
    print_message("mask: %zu (state, token) pairs checked against brute force\n", checked);
    free(logits);
    eco_token_vocab_free(v);
    for (int i = 0; i < N; i++) free(bytes[i]);
}

/* ---- 5. the engine ------------------------------------------------------------------------- */

static const char *const ENGINE_SCHEMAS[] = {
    NULL,
    OBJ_AB,
    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":8},"
    "\"n\":{\"type\":\"integer\"},\"ok\":{\"type\":\"boolean\"},\"tags\":{\"type\":\"array\","
    "\"items\":{\"enum\":[\"x\",\"y\"]},\"maxItems\":3}},\"required\":[\"name\",\"n\",\"ok\"],"
    "\"additionalProperties\":false}",
    "{\"type\":\"array\",\"items\":{\"type\":\"number\"},\"minItems\":1,\"maxItems\":4}",
    "{\"enum\":[\"yes\",\"no\",\"maybe\"]}",
};

static void run_engine(const char *dir, int runs) {
    eco_engine *e;
    ECO_ASSERT_OK(eco_llama_engine_open(dir, NULL, &e));
    eco_json_schema *obj = compile("{\"type\":\"object\"}");
    size_t outputs = 0, complete = 0;
    for (size_t i = 0; i < sizeof ENGINE_SCHEMAS / sizeof *ENGINE_SCHEMAS; i++) {
        eco_json_schema *s = ENGINE_SCHEMAS[i] ? compile(ENGINE_SCHEMAS[i]) : NULL;
        for (int run = 0; run < runs; run++) {
            eco_json_constraint *c;
            ECO_ASSERT_OK(eco_json_constraint_create(s, "engine", &c, NULL, 0));
            eco_infer_request req;
            eco_infer_request_init(&req);
            req.prompt = "the cat";
            req.max_tokens = 160;
            req.temperature = run == 0 ? 0.0f : 1.0f;
            req.seed = (uint64_t)run;
            req.stop_at_eos = false; /* a constraint ends at EOS all the same */
            req.constraint = eco_json_constraint_decoder(c);
            eco_infer_response r;
            ECO_ASSERT_OK(e->infer(e, &req, &r));
            outputs++;
            if (!strcmp(r.finish_reason, "stop")) {
                complete++;
                bool valid = false;
                eco_json_schema_error err;
                ECO_ASSERT_OK(
                    eco_json_schema_validate_text(s ? s : obj, r.text, r.text_len, &valid, &err));
                if (!valid) {
                    char why[512];
                    fail_msg("schema %zu run %d: '%s' invalid: %s", i, run, r.text,
                             eco_json_schema_error_str(&err, why, sizeof why));
                }
            } else {
                /* cut by max_tokens: still a prefix the recogniser accepts */
                assert_string_equal(r.finish_reason, "length");
                eco_json_constraint_reset(c);
                assert_true(eco_json_constraint_feed(c, r.text, r.text_len));
            }
            eco_infer_response_free(&r);
            eco_json_constraint_free(c);
        }
        eco_json_schema_free(s);
    }
    print_message("%s: %zu constrained outputs, %zu complete and valid, the rest cut by "
                  "max_tokens\n",
                  dir, outputs, complete);
    assert_true(complete * 2 >= outputs);
    eco_json_schema_free(obj);
    eco_engine_destroy(e);
}

static void test_engine(void **state) {
    (void)state;
    char *tmp = eco_test_tmpdir();
    /* byte tokenizer */
    char *tiny = eco_path_join(tmp, "tiny");
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 11, ECO_DTYPE_F32, tiny));
    run_engine(tiny, 6);
    /* a byte-level BPE trained on JSON-ish text: multi-byte tokens crossing structure */
    char *dir = eco_path_join(tmp, "bpe"), *corpus = eco_path_join(tmp, "corpus.txt");
    eco_test_bpe_model(dir, corpus, &cfg, 400,
                       "{\"name\": \"cat\", \"n\": 12, \"ok\": true, \"tags\": [\"x\", \"y\"]}\n"
                       "{\"a\":1,\"ab\":\"yes\"} [1.5, 2, -3e2] \"maybe\" \"no\" null false\n");
    run_engine(dir, 6);
    eco_test_rmtree(tmp);
    free(tiny), free(dir), free(corpus), free(tmp);
}

/* Real vocabularies from the test material: a token's bytes keep a SentencePiece token's
 * leading space and byte fallback's byte, special tokens get none; a random model over each
 * vocabulary, constrained, writes valid JSON. */
static void real_vocabulary(const char *rel, int64_t vocab, int64_t bos, int64_t eos,
                            const char *const *tokens, const char *const *want) {
    char *path = eco_test_source_path(rel);
    eco_tokenizer *tok;
    ECO_ASSERT_OK(eco_tokenizer_load(path, &tok));
    int32_t e = (int32_t)eos;
    eco_token_vocab *v;
    ECO_ASSERT_OK(eco_tokenizer_token_vocab(tok, &e, 1, &v));
    for (size_t i = 0; tokens[i]; i++) {
        int32_t id = eco_tokenizer_token_id(tok, tokens[i]);
        assert_true(id >= 0);
        assert_int_equal(v->len[id], strlen(want[i]));
        assert_memory_equal(v->bytes[id], want[i], strlen(want[i]));
    }
    assert_int_equal(v->len[e], 0);
    assert_int_equal(v->len[bos], 0);
    eco_token_vocab_free(v);
    eco_tokenizer_free(tok);
    char *tmp = eco_test_tmpdir(), *dir = eco_path_join(tmp, "m");
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    cfg.vocab_size = vocab;
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 5, ECO_DTYPE_BF16, dir));
    cfg.bos_token_id = bos;
    cfg.eos_token_ids[0] = eos;
    cfg.n_eos = 1;
    char *cfg_path = eco_path_join(dir, "config.json"),
         *tok_path = eco_path_join(dir, "tokenizer.json");
    ECO_ASSERT_OK(eco_config_write(cfg_path, &cfg));
    char *data;
    size_t len;
    ECO_ASSERT_OK(eco_read_file(path, (size_t)64 << 20, &data, &len));
    eco_test_write_file(tok_path, data, len);
    free(data);
    run_engine(dir, 3);
    eco_test_rmtree(tmp);
    free(path), free(tmp), free(dir), free(cfg_path), free(tok_path);
}

static void test_real_vocabularies(void **state) {
    (void)state;
    static const char *const sp_tokens[] = {"\xe2\x96\x81the", "<0x41>", "{", NULL};
    static const char *const sp_want[] = {" the", "A", "{"};
    real_vocabulary(".cache/test-material/llama2/package/models/tokenizer.json", 32000, 1, 2,
                    sp_tokens, sp_want);
    static const char *const bl_tokens[] = {"\xc4\xa0the", "\":", "{\"", NULL};
    static const char *const bl_want[] = {" the", "\":", "{\""};
    real_vocabulary(".cache/test-material/qwen3/package/models/tokenizer.json", 151936, 151643,
                    151645, bl_tokens, bl_want);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefixes),     cmocka_unit_test(test_refused),
        cmocka_unit_test(test_random_walks), cmocka_unit_test(test_mask_matches_brute_force),
        cmocka_unit_test(test_engine),       cmocka_unit_test(test_real_vocabularies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
