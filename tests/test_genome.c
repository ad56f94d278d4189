/*
 * Genomes and compatibility identity (registry.h).
 *
 * Genome codec: a golden canonical text (its SHA-256 computed independently, by Python's
 * hashlib over the same bytes) that a record built field by field must write exactly;
 * parse → canonical → parse round trips; a table of malformed genomes, each a one-place
 * edit of the golden text, refused with EFORMAT and a message naming the field's path;
 * records that cannot be written refused with the field named.
 *
 * Compatibility identity on random "tiny" models: the same model twice is equal; config.json
 * rewritten (key order, white space, irrelevant fields) keeps architecture_hash; a changed
 * hidden size changes it (and eco_compat_diff names it); a changed merge or vocab entry
 * changes tokenizer_hash; a bf16 copy keeps tensor_schema_hash but not base_family; a sharded
 * copy keeps the schema; base_family is the manifest root of the weight files.
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "ecology/config.h"
#include "ecology/model.h"
#include "ecology/registry.h"
#include "ecology/safetensors.h"

#define X8(c)  c c c c c c c c
#define X64(c) X8(X8(c))
#define X4(c)  c c c c

/* The golden genome, in canonical form (sorted keys, no white space). */
static const char
    golden
        [] =
            "{\"base\":null,\"capabilities\":[\"arith.add@1\",\"sentiment@2\"],"
            "\"compatibility\":{\"architecture_hash\":\"" X64("a") "\",\"base_family\":\"" X64("b") "\",\"tensor_schema_hash\":\"" X64(
                "c") "\",\"tokenizer_hash\":\"" X64("d") "\"},"
                                                         "\"corpora\":[\"" X4("0123456789abcdef") "\",\"" X64(
                                                             "f") "\"],"
                                                                  "\"created_at\":\"2026-11-28T01:"
                                                                  "02:03Z\","
                                                                  "\"files\":[{\"name\":\"config."
                                                                  "json\",\"sha256\":\"" X64(
                                                                      "1") "\",\"size\":612},"
                                                                           "{\"name\":\"model."
                                                                           "safetensors\","
                                                                           "\"sha256\":\"" X64(
                                                                               "2") "\",\"size\":"
                                                                                    "1048576}],"
                                                                                    "\"id\":\"tiny-"
                                                                                    "merge@1\","
                                                                                    "\"interface_"
                                                                                    "version\":"
                                                                                    "\"text-"
                                                                                    "generation@"
                                                                                    "1\",\"kind\":"
                                                                                    "\"merged\","
                                                                                    "\"lineage\":{"
                                                                                    "\"operation\":"
                                                                                    "{\"name\":"
                                                                                    "\"merge\","
                                                                                    "\"params\":{"
                                                                                    "\"method\":"
                                                                                    "\"linear\","
                                                                                    "\"weights\":["
                                                                                    "0.5,0.25]},"
                                                                                    "\"seed\":42},"
                                                                                    "\"parents\":["
                                                                                    "\"parent-b\","
                                                                                    "\"parent-a\"]}"
                                                                                    ","
                                                                                    "\"resource_"
                                                                                    "profile\":{"
                                                                                    "\"bytes\":"
                                                                                    "1048576,"
                                                                                    "\"parameters\""
                                                                                    ":262144,"
                                                                                    "\"resident_"
                                                                                    "bytes\":"
                                                                                    "2097152},"
                                                                                    "\"tool_"
                                                                                    "version\":"
                                                                                    "\"tiny-"
                                                                                    "ecology "
                                                                                    "0.1.0\"}";
/* sha256 of `golden` (python3: hashlib.sha256(golden.encode()).hexdigest()). */
static const char golden_sha256[] =
    "34f1ec986d9eaee79f26e33f4ea736c4b401109514a35acf391864f7dcc98568";

static char **strv(size_t n, ...) {
    char **v = calloc(n, sizeof *v);
    assert_non_null(v);
    va_list ap;
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) v[i] = strdup(va_arg(ap, const char *));
    va_end(ap);
    return v;
}

/* The golden genome built field by field (independently of the parser). */
static void golden_record(eco_genome *g) {
    memset(g, 0, sizeof *g);
    g->id = strdup("tiny-merge@1");
    g->kind = ECO_GENOME_KIND_MERGED;
    memset(g->compatibility.architecture_hash, 'a', ECO_SHA256_HEX_LEN);
    memset(g->compatibility.base_family, 'b', ECO_SHA256_HEX_LEN);
    memset(g->compatibility.tensor_schema_hash, 'c', ECO_SHA256_HEX_LEN);
    memset(g->compatibility.tokenizer_hash, 'd', ECO_SHA256_HEX_LEN);
    g->interface_version = strdup("text-generation@1");
    g->capabilities = strv(2, "arith.add@1", "sentiment@2");
    g->n_capabilities = 2;
    g->parents = strv(2, "parent-b", "parent-a");
    g->n_parents = 2;
    g->op_name = strdup("merge");
    g->op_params = json_pack("{s:s, s:[f,f]}", "method", "linear", "weights", 0.5, 0.25);
    assert_non_null(g->op_params);
    g->op_seed = 42;
    g->files.n = 2;
    g->files.files = calloc(2, sizeof *g->files.files);
    assert_non_null(g->files.files);
    g->files.files[0].name = strdup("config.json");
    g->files.files[0].size = 612;
    memset(g->files.files[0].sha256, '1', ECO_SHA256_HEX_LEN);
    g->files.files[1].name = strdup("model.safetensors");
    g->files.files[1].size = 1048576;
    memset(g->files.files[1].sha256, '2', ECO_SHA256_HEX_LEN);
    g->base = NULL;
    g->n_params = 262144;
    g->bytes = 1048576;
    g->resident_bytes = 2097152;
    g->corpora = strv(2, X4("0123456789abcdef"), X64("f"));
    g->n_corpora = 2;
    g->created_at = strdup("2026-11-28T01:02:03Z");
    g->tool_version = strdup("tiny-ecology 0.1.0");
}

static char *canonical(const eco_genome *g) {
    char *text = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_genome_to_canonical(g, &text, &len));
    assert_int_equal(len, strlen(text));
    return text;
}

static void test_golden(void **state) {
    (void)state;
    eco_genome g;
    golden_record(&g);
    char *text = canonical(&g);
    assert_string_equal(text, golden);
    char hex[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_genome_hash(&g, hex));
    assert_string_equal(hex, golden_sha256);
    free(text);
    eco_genome_free(&g);
    assert_null(g.id); /* zeroed: a second free is harmless */
    eco_genome_free(&g);

    /* The same text parsed gives the same fields. */
    ECO_ASSERT_OK(eco_genome_parse(golden, strlen(golden), "genome.json", &g));
    assert_string_equal(g.id, "tiny-merge@1");
    assert_int_equal(g.kind, ECO_GENOME_KIND_MERGED);
    assert_string_equal(g.compatibility.tokenizer_hash, X64("d"));
    assert_int_equal(g.n_capabilities, 2);
    assert_string_equal(g.capabilities[1], "sentiment@2");
    assert_int_equal(g.n_parents, 2);
    assert_string_equal(g.parents[0], "parent-b"); /* order kept */
    assert_string_equal(g.op_name, "merge");
    assert_true(json_is_object(g.op_params));
    assert_int_equal(g.op_seed, 42);
    assert_int_equal(g.files.n, 2);
    assert_string_equal(g.files.files[1].name, "model.safetensors");
    assert_int_equal(g.files.files[1].size, 1048576);
    assert_null(g.base);
    assert_int_equal(g.n_params, 262144);
    assert_int_equal(g.bytes, 1048576);
    assert_int_equal(g.resident_bytes, 2097152);
    assert_int_equal(g.n_corpora, 2);
    assert_string_equal(g.created_at, "2026-11-28T01:02:03Z");
    assert_string_equal(g.tool_version, "tiny-ecology 0.1.0");
    eco_genome_free(&g);
}

/* parse(text) → canonical must equal want (NULL: text itself), and parse again → canonical
 * byte-identical. */
static void roundtrip(const char *text, const char *want) {
    eco_genome a, b;
    ECO_ASSERT_OK(eco_genome_parse(text, strlen(text), "genome.json", &a));
    char *c1 = canonical(&a);
    assert_string_equal(c1, want ? want : text);
    ECO_ASSERT_OK(eco_genome_parse(c1, strlen(c1), "genome.json", &b));
    char *c2 = canonical(&b);
    assert_string_equal(c1, c2);
    json_t *j;
    ECO_ASSERT_OK(eco_genome_to_json(&b, &j));
    eco_genome c;
    ECO_ASSERT_OK(eco_genome_from_json(j, "json", &c));
    json_decref(j); /* the record holds its own copy of params */
    char *c3 = canonical(&c);
    assert_string_equal(c1, c3);
    free(c1);
    free(c2);
    free(c3);
    eco_genome_free(&a);
    eco_genome_free(&b);
    eco_genome_free(&c);
}

/* Replaces the first `find` in src by `repl` (malloc'd); fails when find is absent. */
static char *replace(const char *src, const char *find, const char *repl) {
    const char *at = strstr(src, find);
    if (!at) {
        print_error("'%s' is not in the golden genome\n", find);
        fail();
    }
    size_t n = strlen(src) - strlen(find) + strlen(repl) + 1;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "%.*s%s%s", (int)(at - src), src, repl, at + strlen(find));
    return out;
}

static void test_roundtrip(void **state) {
    (void)state;
    roundtrip(golden, NULL);
    /* An adapter: base set, no parents, no capabilities or corpora, empty manifest,
     * nested params with every JSON type, the largest seed and sizes. */
    char *t1 = replace(golden, "\"base\":null", "\"base\":\"qwen2.5-0.5b+instruct\"");
    char *t2 = replace(t1, "[\"arith.add@1\",\"sentiment@2\"]", "[]");
    char *t3 = replace(t2, "\"parents\":[\"parent-b\",\"parent-a\"]", "\"parents\":[]");
    char *t4 = replace(t3, "\"seed\":42", "\"seed\":9223372036854775807");
    char *t5 = replace(t4, "{\"method\":\"linear\",\"weights\":[0.5,0.25]}",
                       "{\"a\":{\"b\":[null,true,false,-1,-0.375,\"\xc3\xa9\\n\"]},\"z\":{}}");
    char *t6 = replace(t5, "\"kind\":\"merged\"", "\"kind\":\"adapter\"");
    char *t7 = replace(t6, "\"bytes\":1048576", "\"bytes\":0");
    roundtrip(t7, NULL);
    /* Insignificant white space and key order are gone after one trip. */
    char *t8 =
        replace(golden,
                "\"lineage\":{\"operation\":{\"name\":\"merge\",\"params\":{\"method\":\"linear\","
                "\"weights\":[0.5,0.25]},\"seed\":42},\"parents\":[\"parent-b\",\"parent-a\"]}",
                " \"lineage\" : {\"parents\" : [ \"parent-b\",\n\"parent-a\" ],\n\t\"operation\": "
                "{\"seed\": 42, "
                "\"params\": {\"weights\": [5e-1, 0.250], \"method\": \"linear\"}, \"name\": "
                "\"merge\"} } ");
    roundtrip(t8, golden);
    char *all[] = {t1, t2, t3, t4, t5, t6, t7, t8};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);

    /* Every kind round trips through its name. */
    for (int k = 0; k <= ECO_GENOME_KIND_QUANTIZED; k++) {
        eco_genome_kind got;
        ECO_ASSERT_OK(eco_genome_kind_parse(eco_genome_kind_str((eco_genome_kind)k), &got));
        assert_int_equal(got, k);
    }
    assert_string_equal(eco_genome_kind_str((eco_genome_kind)99), "unknown");
    eco_genome_kind k;
    ECO_ASSERT_STATUS(eco_genome_kind_parse("Base", &k), ECO_STATUS_EINVAL);
}

typedef struct bad_genome {
    const char *find; /* NULL: repl is the whole text */
    const char *repl;
    const char *needle; /* in eco_last_error(), after "genome.json: " */
} bad_genome;

static const bad_genome bad_genomes[] = {
    {NULL, "{", "not valid JSON"},
    {NULL, "", "not valid JSON"},
    {NULL, "[]", "genome.json: expected an object"},
    {NULL, "null", "not valid JSON"}, /* only an object or array is a document */
    {NULL, "[{}]", "genome.json: expected an object"},
    {"\"base\":null", "\"base\":null,\"base\":null", "duplicate"},
    {",\"tool_version\":\"tiny-ecology 0.1.0\"", "", "tool_version: missing"},
    {"\"base\":null", "\"base\":null,\"extra\":1", "genome.json: unknown field 'extra'"},
    {"\"id\":\"tiny-merge@1\"", "\"id\":\".hidden\"", "id: not a valid model id"},
    {"\"id\":\"tiny-merge@1\"", "\"id\":\"tiny merge\"", "id: not a valid model id"},
    {"\"id\":\"tiny-merge@1\"", "\"id\":\"\"", "id: not a valid model id"},
    {"\"id\":\"tiny-merge@1\"", "\"id\":7", "id: expected a string"},
    {"\"id\":\"tiny-merge@1\"", "\"id\":\"tiny\\u0000x\"", "not valid JSON"},
    {"\"kind\":\"merged\"", "\"kind\":\"Merged\"", "kind: 'Merged' is not one of"},
    {"\"kind\":\"merged\"", "\"kind\":null", "kind: expected a string"},
    {"\"architecture_hash\":\"a", "\"architecture_hash\":\"A",
     "compatibility.architecture_hash: not 64 lower-case hex"},
    {"\"base_family\":\"b", "\"base_family\":\"",
     "compatibility.base_family: not 64 lower-case hex"},
    {"\"base_family\":\"b", "\"base_family\":\"bb",
     "compatibility.base_family: not 64 lower-case hex"},
    {"\"compatibility\":{", "\"compatibility\":{\"extra\":0,",
     "compatibility: unknown field 'extra'"},
    {",\"tokenizer_hash\":\"" X64("d") "\"", "", "compatibility.tokenizer_hash: missing"},
    {"\"compatibility\":{", "\"compatibility\":[{", "not valid JSON"},
    {"\"interface_version\":\"text-generation@1\"", "\"interface_version\":\"text-generation\"",
     "interface_version: "},
    {"[\"arith.add@1\",\"sentiment@2\"]", "[\"sentiment@2\",\"arith.add@1\"]",
     "capabilities[1]: not in sorted order"},
    {"[\"arith.add@1\",\"sentiment@2\"]", "[\"arith.add@1\",\"arith.add@1\"]",
     "capabilities[1]: duplicate"},
    {"[\"arith.add@1\",", "[\"Arith.add@1\",",
     "capabilities[0]: 'Arith.add@1' is not \"name@version\""},
    {"[\"arith.add@1\",", "[\"arith.add@01\",", "capabilities[0]: "},
    {"[\"arith.add@1\",", "[\"arith.add@\",", "capabilities[0]: "},
    {"[\"arith.add@1\",", "[\"@1\",", "capabilities[0]: "},
    {"[\"arith.add@1\",", "[1,", "capabilities[0]: expected a string"},
    {"[\"arith.add@1\",\"sentiment@2\"]", "\"arith.add@1\"", "capabilities: expected an array"},
    {"[\"parent-b\",\"parent-a\"]", "[\"parent-b\",\"-bad\"]",
     "lineage.parents[1]: not a valid model id"},
    {"[\"parent-b\",\"parent-a\"]", "[\"parent-b\",\"parent-a\",\"parent-b\"]",
     "lineage.parents: 'parent-b' appears more than once"},
    {"[\"parent-b\",\"parent-a\"]", "[null]", "lineage.parents[0]: expected a string"},
    {",\"parents\":[\"parent-b\",\"parent-a\"]", "", "lineage.parents: missing"},
    {"\"lineage\":{", "\"lineage\":{\"notes\":\"\",", "lineage: unknown field 'notes'"},
    {"\"operation\":{", "\"operation\":{\"when\":1,", "lineage.operation: unknown field 'when'"},
    {"\"name\":\"merge\"", "\"name\":\"\"", "lineage.operation.name: "},
    {"\"name\":\"merge\"", "\"name\":\"Merge it\"", "lineage.operation.name: "},
    {"{\"method\":\"linear\",\"weights\":[0.5,0.25]}", "[0.5]",
     "lineage.operation.params: expected an object"},
    {"{\"method\":\"linear\",\"weights\":[0.5,0.25]}", "null",
     "lineage.operation.params: expected an object"},
    {"\"seed\":42", "\"seed\":-1", "lineage.operation.seed: -1 outside [0, 9223372036854775807]"},
    {"\"seed\":42", "\"seed\":42.0", "lineage.operation.seed: expected an integer"},
    {"\"seed\":42", "\"seed\":\"42\"", "lineage.operation.seed: expected an integer"},
    {"\"seed\":42", "\"seed\":18446744073709551615", "not valid JSON"},
    {"\"operation\":{\"name\":\"merge\",\"params\":{\"method\":\"linear\",\"weights\":[0.5,0.25]},"
     "\"seed\":42}",
     "\"operation\":7", "lineage.operation: expected an object"},
    {"\"base\":null", "\"base\":\"..x\"", "base: not a valid model id"},
    {"\"base\":null", "\"base\":3", "base: expected a model id or null"},
    {"\"parameters\":262144", "\"parameters\":-262144",
     "resource_profile.parameters: -262144 outside [0, "},
    {"\"bytes\":1048576", "\"bytes\":\"1 MiB\"", "resource_profile.bytes: expected an integer"},
    {",\"resident_bytes\":2097152", "", "resource_profile.resident_bytes: missing"},
    {"\"corpora\":[\"0", "\"corpora\":[\"g", "corpora[0]: not 64 lower-case hex digits"},
    {"[\"" X4("0123456789abcdef") "\",\"" X64("f") "\"]",
     "[\"" X64("f") "\",\"" X4("0123456789abcdef") "\"]", "corpora[1]: not in sorted order"},
    {"[\"" X4("0123456789abcdef") "\",\"" X64("f") "\"]", "[\"" X64("f") "\",\"" X64("f") "\"]",
     "corpora[1]: duplicate"},
    {"\"2026-11-28T01:02:03Z\"", "\"2026-11-28T01:02:03\"",
     "created_at: '2026-11-28T01:02:03' is not an RFC 3339"},
    {"\"2026-11-28T01:02:03Z\"", "\"2026-02-29T01:02:03Z\"", "created_at: "},
    {"\"2026-11-28T01:02:03Z\"", "\"2026-13-01T01:02:03Z\"", "created_at: "},
    {"\"2026-11-28T01:02:03Z\"", "\"2026-11-28 01:02:03Z\"", "created_at: "},
    {"\"2026-11-28T01:02:03Z\"", "\"2026-11-28T24:00:00Z\"", "created_at: "},
    {"\"2026-11-28T01:02:03Z\"", "\"2026-11-28T01:02:03.5Z\"", "created_at: "},
    {"\"2026-11-28T01:02:03Z\"", "\"2026-11-28T01:02:03+00:00\"", "created_at: "},
    {"\"tiny-ecology 0.1.0\"", "\"\"", "tool_version: expected 1.."},
    {"\"tiny-ecology 0.1.0\"", "\"tiny\\tecology\"", "tool_version: expected 1.."},
    {"\"tiny-ecology 0.1.0\"", "[\"tiny-ecology\"]", "tool_version: expected a string"},
    {"\"sha256\":\"1", "\"sha256\":\"X", "files[0].sha256"},
    {"\"name\":\"config.json\"", "\"name\":\"zconfig.json\"", "files[1].name"},
    {"\"name\":\"config.json\"", "\"name\":\"../config.json\"", "files[0].name"},
    {"\"size\":612", "\"size\":-612", "files[0].size"},
    {"\"files\":[", "\"files\":{\"x\":[", "not valid JSON"},
    {"\"files\":[{\"name\":\"config.json\"", "\"files\":7,\"unused\":[{\"name\":\"config.json\"",
     "unknown field 'unused'"},
};

static void test_bad_genomes(void **state) {
    (void)state;
    size_t n = sizeof bad_genomes / sizeof bad_genomes[0];
    assert_true(n >= 25);
    for (size_t i = 0; i < n; i++) {
        const bad_genome *b = &bad_genomes[i];
        char *text = b->find ? replace(golden, b->find, b->repl) : strdup(b->repl);
        eco_genome g;
        memset(&g, 0x5A, sizeof g);
        eco_genome before = g;
        eco_clear_error();
        eco_status got = eco_genome_parse(text, strlen(text), "genome.json", &g);
        const char *msg = eco_last_error();
        if (got != ECO_STATUS_EFORMAT || strncmp(msg, "genome.json: ", 13) != 0 ||
            !strstr(msg, b->needle)) {
            print_error("case %zu %s: got %s \"%s\", want EFORMAT containing \"%s\"\n", i, text,
                        eco_status_str(got), msg, b->needle);
            fail();
        }
        /* A failed parse leaves the output untouched. */
        assert_memory_equal(&g, &before, sizeof g);
        free(text);
    }
    /* A non-object array file "files" entry, the id limit (127 bytes ok, 128 not). */
    char id127[128], id128[129];
    memset(id127, 'x', 127);
    id127[127] = '\0';
    memset(id128, 'x', 128);
    id128[128] = '\0';
    char repl[200];
    snprintf(repl, sizeof repl, "\"id\":\"%s\"", id127);
    char *ok = replace(golden, "\"id\":\"tiny-merge@1\"", repl);
    roundtrip(ok, NULL);
    free(ok);
    snprintf(repl, sizeof repl, "\"id\":\"%s\"", id128);
    char *bad = replace(golden, "\"id\":\"tiny-merge@1\"", repl);
    eco_genome g;
    ECO_ASSERT_STATUS(eco_genome_parse(bad, strlen(bad), "genome.json", &g), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "genome.json: id: not a valid model id"));
    free(bad);
    /* Bytes after the document. */
    char *trail = malloc(sizeof golden + 2);
    snprintf(trail, sizeof golden + 2, "%s}", golden);
    ECO_ASSERT_STATUS(eco_genome_parse(trail, strlen(trail), "genome.json", &g),
                      ECO_STATUS_EFORMAT);
    free(trail);
    /* eco_genome_from_json on a value holding a NUL inside a string. */
    json_t *j = json_loads(golden, 0, NULL);
    assert_non_null(j);
    json_object_set_new(j, "tool_version", json_stringn("tiny\0x", 6));
    ECO_ASSERT_STATUS(eco_genome_from_json(j, "obj", &g), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "obj: tool_version: holds a NUL byte"));
    /* ...in a key of the root, in params (a string, a key). */
    json_object_del(j, "tool_version");
    json_object_setn_new(j, "tool_version\0x", 14, json_string("t"));
    json_object_set_new(j, "tool_version", json_string("t"));
    ECO_ASSERT_STATUS(eco_genome_from_json(j, "obj", &g), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "obj: unknown field 'tool_version\\x00x'"));
    json_object_deln(j, "tool_version\0x", 14);
    ECO_ASSERT_OK(eco_genome_from_json(j, "obj", &g));
    eco_genome_free(&g);
    json_t *params =
        json_object_get(json_object_get(json_object_get(j, "lineage"), "operation"), "params");
    json_object_set_new(params, "deep", json_pack("[{s:s%}]", "k", "a\0b", (size_t)3));
    ECO_ASSERT_STATUS(eco_genome_from_json(j, "obj", &g), ECO_STATUS_EFORMAT);
    assert_non_null(
        strstr(eco_last_error(), "obj: lineage.operation.params: a string or key holds a NUL"));
    json_object_set_new(params, "deep", json_pack("[{s:s}]", "k", "ab"));
    json_object_setn_new(params, "k\0", 2, json_true());
    ECO_ASSERT_STATUS(eco_genome_from_json(j, "obj", &g), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "lineage.operation.params"));
    json_decref(j);
    /* A record whose params hold a NUL cannot be written (its text would not parse). */
    golden_record(&g);
    json_object_set_new(g.op_params, "nul", json_stringn("a\0b", 3));
    char *text = NULL;
    ECO_ASSERT_STATUS(eco_genome_to_canonical(&g, &text, NULL), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "genome: lineage.operation.params"));
    eco_genome_free(&g);
}

static void test_model_id(void **state) {
    (void)state;
    const char *good[] = {"a", "Qwen2.5-0.5B", "tiny@1", "x+y", "_private", "a.b_c@d+e-f", "9"};
    const char *bad[] = {"", ".a", "-a", "a b", "a/b", "a\\b", "ä", "a:b", "a\n", "*"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (!eco_model_id_ok(good[i])) {
            print_error("'%s' should be a valid id\n", good[i]);
            fail();
        }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (eco_model_id_ok(bad[i])) {
            print_error("'%s' should not be a valid id\n", bad[i]);
            fail();
        }
    assert_false(eco_model_id_ok(NULL));
}

/* Records that cannot be written: EINVAL / ERANGE naming the field. */
static void test_write_refused(void **state) {
    (void)state;
    struct {
        int which;
        eco_status want;
        const char *needle;
    } cases[] = {
        {0, ECO_STATUS_EINVAL, "genome: id: missing"},
        {1, ECO_STATUS_EINVAL, "capabilities[1]: not in sorted order"},
        {2, ECO_STATUS_ERANGE, "lineage.operation.seed: 9223372036854775808 does not fit"},
        {3, ECO_STATUS_EINVAL, "resource_profile.parameters: -1 is negative"},
        {4, ECO_STATUS_EINVAL, "kind: 9 is not a genome kind"},
        {5, ECO_STATUS_EINVAL, "lineage.parents[0]: not a valid model id"},
        {6, ECO_STATUS_EINVAL, "created_at"},
        {7, ECO_STATUS_EINVAL, "compatibility.base_family: not 64 lower-case hex digits"},
        {8, ECO_STATUS_EINVAL, "tool_version: not valid UTF-8"},
        {9, ECO_STATUS_EINVAL, "corpora: 1 entries but no array"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        eco_genome g;
        golden_record(&g);
        switch (cases[i].which) {
            case 0:
                free(g.id);
                g.id = NULL;
                break;
            case 1: {
                char *t = g.capabilities[0];
                g.capabilities[0] = g.capabilities[1];
                g.capabilities[1] = t;
            } break;
            case 2:
                g.op_seed = (uint64_t)INT64_MAX + 1;
                break;
            case 3:
                g.n_params = -1;
                break;
            case 4:
                g.kind = (eco_genome_kind)9;
                break;
            case 5:
                g.parents[0][0] = '.';
                break;
            case 6:
                g.created_at[10] = ' ';
                break;
            case 7:
                g.compatibility.base_family[3] = 'B';
                break;
            case 8:
                free(g.tool_version);
                g.tool_version = strdup("\xff\xfe");
                break;
            case 9:
                free(g.corpora[0]);
                free(g.corpora[1]);
                free(g.corpora);
                g.corpora = NULL;
                g.n_corpora = 1;
                break;
        }
        char *text = NULL;
        eco_status got = eco_genome_to_canonical(&g, &text, NULL);
        if (got != cases[i].want || !strstr(eco_last_error(), cases[i].needle)) {
            print_error("case %zu: got %s \"%s\", want %s containing \"%s\"\n", i,
                        eco_status_str(got), eco_last_error(), eco_status_str(cases[i].want),
                        cases[i].needle);
            fail();
        }
        assert_null(text);
        if (cases[i].which == 9) g.n_corpora = 0;
        eco_genome_free(&g);
    }
    /* NULL params are written as {}. */
    eco_genome g;
    golden_record(&g);
    json_decref(g.op_params);
    g.op_params = NULL;
    char *text = canonical(&g);
    assert_non_null(strstr(text, "\"params\":{}"));
    free(text);
    eco_genome_free(&g);
}

/* ---- compatibility identity ------------------------------------------------------------- */

static char *make_model(const char *root, const char *name, eco_dtype dtype) {
    char *dir = eco_path_join(root, name);
    assert_non_null(dir);
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 7, dtype, dir));
    return dir;
}

static json_t *load_json(const char *dir, const char *name) {
    char *p = eco_path_join(dir, name);
    json_error_t err;
    json_t *j = json_load_file(p, 0, &err);
    if (!j) {
        print_error("%s: %s\n", p, err.text);
        fail();
    }
    free(p);
    return j;
}

static void save_json(const char *dir, const char *name, const json_t *j, size_t flags) {
    char *p = eco_path_join(dir, name);
    char *text = json_dumps(j, flags);
    assert_non_null(text);
    eco_test_write_file(p, text, strlen(text));
    free(text);
    free(p);
}

static eco_compat_identity identity(const char *dir) {
    eco_compat_identity id;
    memset(&id, 0, sizeof id);
    ECO_ASSERT_OK(eco_compat_compute_base(dir, &id));
    const char *f[] = {id.base_family, id.architecture_hash, id.tokenizer_hash,
                       id.tensor_schema_hash};
    for (int i = 0; i < 4; i++) assert_int_equal(strlen(f[i]), ECO_SHA256_HEX_LEN);
    return id;
}

static void test_compat_same(void **state) {
    (void)state;
    char *tmp = eco_test_tmpdir();
    char *a = make_model(tmp, "a", ECO_DTYPE_F32);
    char *b = make_model(tmp, "b", ECO_DTYPE_F32); /* same preset, seed, dtype: same bytes */
    eco_compat_identity ia = identity(a), ia2 = identity(a), ib = identity(b);
    assert_true(eco_compat_equal(&ia, &ia2));
    assert_true(eco_compat_equal(&ia, &ib));
    assert_null(eco_compat_diff(&ia, &ib));
    /* The four fields are four different digests. */
    assert_string_not_equal(ia.base_family, ia.architecture_hash);
    assert_string_not_equal(ia.tokenizer_hash, ia.tensor_schema_hash);

    /* Each hash on its own agrees with the whole; the tokenizer and config readers take a
     * folder too. */
    char h[ECO_SHA256_HEX_LEN + 1];
    char *cfg = eco_path_join(a, "config.json"), *tok = eco_path_join(a, "tokenizer.json");
    ECO_ASSERT_OK(eco_compat_architecture_hash(cfg, h));
    assert_string_equal(h, ia.architecture_hash);
    ECO_ASSERT_OK(eco_compat_architecture_hash(a, h));
    assert_string_equal(h, ia.architecture_hash);
    ECO_ASSERT_OK(eco_compat_tokenizer_hash(tok, h));
    assert_string_equal(h, ia.tokenizer_hash);
    ECO_ASSERT_OK(eco_compat_tokenizer_hash(a, h));
    assert_string_equal(h, ia.tokenizer_hash);
    ECO_ASSERT_OK(eco_compat_tensor_schema_hash(a, h));
    assert_string_equal(h, ia.tensor_schema_hash);

    /* base_family is the manifest root of the weight files: the same as the root of a
     * manifest of the folder without its other files. */
    const char *const skip[] = {"config.json", "tokenizer.json", NULL};
    eco_manifest m;
    ECO_ASSERT_OK(eco_manifest_from_dir(a, skip, &m));
    assert_int_equal(m.n, 1);
    ECO_ASSERT_OK(eco_manifest_root(&m, h));
    assert_string_equal(h, ia.base_family);
    eco_manifest_free(&m);

    /* Other files in the folder (a README, a genome) change nothing. */
    char *readme = eco_path_join(a, "README.md");
    eco_test_write_file(readme, "hi\n", 3);
    eco_compat_identity ia3 = identity(a);
    assert_true(eco_compat_equal(&ia, &ia3));

    free(readme);
    free(cfg);
    free(tok);
    free(a);
    free(b);
    eco_test_rmtree(tmp);
    free(tmp);
}

static void test_compat_architecture(void **state) {
    (void)state;
    char *tmp = eco_test_tmpdir();
    char *a = make_model(tmp, "a", ECO_DTYPE_F32);
    char *b = make_model(tmp, "b", ECO_DTYPE_F32);
    eco_compat_identity ia = identity(a);

    /* Keys in reverse order, other white space, irrelevant fields changed or added, an
     * integer where the file had a real: the same architecture. */
    json_t *cfg = load_json(b, "config.json");
    json_t *rev = json_object();
    const char *keys[64];
    size_t nk = 0;
    const char *k;
    json_t *v;
    json_object_foreach(cfg, k, v) {
        assert_true(nk < 64);
        keys[nk++] = k;
    }
    for (size_t i = nk; i-- > 0;) json_object_set(rev, keys[i], json_object_get(cfg, keys[i]));
    json_object_set_new(rev, "transformers_version", json_string("4.99.0"));
    json_object_set_new(rev, "torch_dtype", json_string("bfloat16"));
    json_object_set_new(rev, "bos_token_id", json_integer(1));
    json_object_set_new(rev, "rope_theta", json_integer(10000));
    json_object_set_new(rev, "initializer_range", json_real(0.02));
    assert_true(json_number_value(json_object_get(cfg, "rope_theta")) == 10000.0);
    save_json(b, "config.json", rev, JSON_INDENT(7) | JSON_PRESERVE_ORDER);
    eco_compat_identity ib = identity(b);
    assert_string_equal(ia.architecture_hash, ib.architecture_hash);
    assert_true(eco_compat_equal(&ia, &ib));

    /* A different hidden size (head_dim stays 16 explicitly) is another architecture; the
     * weights are untouched, so base_family and the schema stay and the diff names the
     * architecture. */
    json_object_set_new(rev, "hidden_size", json_integer(32));
    save_json(b, "config.json", rev, JSON_INDENT(2));
    ib = identity(b);
    assert_string_not_equal(ia.architecture_hash, ib.architecture_hash);
    assert_false(eco_compat_equal(&ia, &ib));
    assert_string_equal(eco_compat_diff(&ia, &ib), "architecture_hash");

    /* rope_scaling absent vs llama3 scaling. */
    json_object_set_new(rev, "hidden_size", json_integer(64));
    json_object_set_new(rev, "rope_scaling",
                        json_pack("{s:s, s:f, s:f, s:f, s:i}", "rope_type", "llama3", "factor", 8.0,
                                  "low_freq_factor", 1.0, "high_freq_factor", 4.0,
                                  "original_max_position_embeddings", 512));
    save_json(b, "config.json", rev, JSON_COMPACT);
    ib = identity(b);
    assert_string_equal(eco_compat_diff(&ia, &ib), "architecture_hash");
    /* ...and "default" rope scaling is no scaling, as transformers reads it. */
    json_object_set_new(rev, "rope_scaling", json_pack("{s:s}", "rope_type", "default"));
    save_json(b, "config.json", rev, JSON_COMPACT);
    ib = identity(b);
    assert_null(eco_compat_diff(&ia, &ib));

    /* An unreadable config names the file and field. */
    json_object_set_new(rev, "hidden_size", json_string("64"));
    save_json(b, "config.json", rev, JSON_COMPACT);
    eco_compat_identity keep = ia;
    ECO_ASSERT_STATUS(eco_compat_compute_base(b, &ia), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "config.json: hidden_size"));
    assert_memory_equal(&ia, &keep, sizeof ia); /* untouched on failure */

    json_decref(cfg);
    json_decref(rev);
    free(a);
    free(b);
    eco_test_rmtree(tmp);
    free(tmp);
}

static void test_compat_tokenizer(void **state) {
    (void)state;
    char *tmp = eco_test_tmpdir();
    char *a = make_model(tmp, "a", ECO_DTYPE_F32);
    char *b = make_model(tmp, "b", ECO_DTYPE_F32);
    eco_compat_identity ia = identity(a);
    json_t *tok = load_json(b, "tokenizer.json");

    /* Sorted keys, compact, plus a top-level field outside the hashed ones: the same. */
    json_object_set_new(tok, "truncation", json_pack("{s:i}", "max_length", 8));
    save_json(b, "tokenizer.json", tok, JSON_COMPACT | JSON_SORT_KEYS);
    eco_compat_identity ib = identity(b);
    assert_true(eco_compat_equal(&ia, &ib));

    /* One merge more: another tokenizer. */
    json_t *merges = json_object_get(json_object_get(tok, "model"), "merges");
    assert_true(json_is_array(merges));
    json_array_append_new(merges, json_string("a b"));
    save_json(b, "tokenizer.json", tok, JSON_INDENT(1));
    ib = identity(b);
    assert_string_not_equal(ia.tokenizer_hash, ib.tokenizer_hash);
    assert_string_equal(eco_compat_diff(&ia, &ib), "tokenizer_hash");
    char with_merge[ECO_SHA256_HEX_LEN + 1];
    memcpy(with_merge, ib.tokenizer_hash, sizeof with_merge);

    /* A merge changed in place: differs from both. */
    json_array_set_new(merges, json_array_size(merges) - 1, json_string("a c"));
    save_json(b, "tokenizer.json", tok, JSON_INDENT(1));
    ib = identity(b);
    assert_string_not_equal(ia.tokenizer_hash, ib.tokenizer_hash);
    assert_string_not_equal(with_merge, ib.tokenizer_hash);

    /* A vocab entry with another id. */
    json_array_clear(merges);
    json_t *vocab = json_object_get(json_object_get(tok, "model"), "vocab");
    json_t *ida = json_object_get(vocab, "a");
    assert_true(json_is_integer(ida));
    json_int_t id_a = json_integer_value(ida); /* ida dies when "a" is replaced */
    json_object_set_new(vocab, "a", json_integer(id_a + 1000));
    save_json(b, "tokenizer.json", tok, JSON_INDENT(1));
    ib = identity(b);
    assert_string_equal(eco_compat_diff(&ia, &ib), "tokenizer_hash");

    /* A missing decoder is null, not an error; not the same as the original. */
    json_object_set_new(vocab, "a", json_integer(id_a));
    json_object_del(tok, "decoder");
    save_json(b, "tokenizer.json", tok, JSON_INDENT(1));
    ib = identity(b);
    assert_string_equal(eco_compat_diff(&ia, &ib), "tokenizer_hash");

    /* Malformed tokenizer files. */
    char *p = eco_path_join(b, "tokenizer.json");
    char h[ECO_SHA256_HEX_LEN + 1];
    const struct {
        const char *text;
        const char *needle;
    } bad[] = {
        {"{\"model\": {}, \"model\": {}}", "not valid JSON"},
        {"[]", "not a JSON object"},
        {"{}", "model: missing"},
        {"{\"model\": []}", "model: expected an object"},
        {"{\"model\": {}, \"added_tokens\": {}}", "added_tokens: expected an array or null"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        eco_test_write_file(p, bad[i].text, strlen(bad[i].text));
        ECO_ASSERT_STATUS(eco_compat_tokenizer_hash(p, h), ECO_STATUS_EFORMAT);
        if (!strstr(eco_last_error(), bad[i].needle) ||
            !strstr(eco_last_error(), "tokenizer.json")) {
            print_error("case %zu: \"%s\", want \"%s\"\n", i, eco_last_error(), bad[i].needle);
            fail();
        }
    }
    const char *minimal = "{\"model\": {\"type\": \"BPE\"}}";
    eco_test_write_file(p, minimal, strlen(minimal));
    ECO_ASSERT_OK(eco_compat_tokenizer_hash(p, h));

    free(p);
    json_decref(tok);
    free(a);
    free(b);
    eco_test_rmtree(tmp);
    free(tmp);
}

/* Writes the tensors of dir/model.safetensors as two shards plus an index, then removes
 * model.safetensors. */
static void shard(const char *dir) {
    char *single = eco_path_join(dir, "model.safetensors");
    eco_safetensors *st;
    ECO_ASSERT_OK(eco_safetensors_open(single, &st));
    size_t n = eco_safetensors_count(st);
    assert_true(n >= 2);
    eco_tensor *t = calloc(n, sizeof *t);
    assert_non_null(t);
    for (size_t i = 0; i < n; i++) t[i] = *eco_safetensors_get(st, i);
    size_t half = n / 2;
    char *s1 = eco_path_join(dir, "model-00001-of-00002.safetensors");
    char *s2 = eco_path_join(dir, "model-00002-of-00002.safetensors");
    ECO_ASSERT_OK(eco_safetensors_write(s1, t, half, NULL, 0));
    ECO_ASSERT_OK(eco_safetensors_write(s2, t + half, n - half, NULL, 0));
    json_t *map = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(map, t[i].name,
                            json_string(i < half ? "model-00001-of-00002.safetensors"
                                                 : "model-00002-of-00002.safetensors"));
    json_t *index = json_pack("{s:{}, s:o}", "metadata", "weight_map", map);
    save_json(dir, "model.safetensors.index.json", index, JSON_INDENT(2));
    json_decref(index);
    eco_safetensors_close(st);
    free(t);
    assert_int_equal(unlink(single), 0);
    free(single);
    free(s1);
    free(s2);
}

static void test_compat_weights(void **state) {
    (void)state;
    char *tmp = eco_test_tmpdir();
    char *a = make_model(tmp, "a", ECO_DTYPE_F32);
    char *b = make_model(tmp, "b", ECO_DTYPE_BF16);
    char *c = make_model(tmp, "c", ECO_DTYPE_F32);
    eco_compat_identity ia = identity(a), ib = identity(b);

    /* A bf16 copy: same architecture (torch_dtype is not part of it), tokenizer and
     * schema (dtype is not part of it), but other weight bytes. */
    assert_string_equal(ia.architecture_hash, ib.architecture_hash);
    assert_string_equal(ia.tokenizer_hash, ib.tokenizer_hash);
    assert_string_equal(ia.tensor_schema_hash, ib.tensor_schema_hash);
    assert_string_not_equal(ia.base_family, ib.base_family);
    assert_string_equal(eco_compat_diff(&ia, &ib), "base_family");
    assert_false(eco_compat_equal(&ia, &ib));

    /* The same tensors as shards: the same schema, another family (other files). */
    shard(c);
    eco_compat_identity ic = identity(c);
    assert_string_equal(ia.tensor_schema_hash, ic.tensor_schema_hash);
    assert_string_not_equal(ia.base_family, ic.base_family);
    const char *const skip[] = {"config.json", "tokenizer.json", NULL};
    eco_manifest m;
    ECO_ASSERT_OK(eco_manifest_from_dir(c, skip, &m));
    assert_int_equal(m.n, 3); /* two shards and the index */
    char h[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_manifest_root(&m, h));
    assert_string_equal(h, ic.base_family);
    eco_manifest_free(&m);

    /* One tensor of another shape: another schema. */
    char *single = eco_path_join(a, "model.safetensors");
    eco_safetensors *st;
    ECO_ASSERT_OK(eco_safetensors_open(single, &st));
    size_t n = eco_safetensors_count(st);
    eco_tensor *t = calloc(n, sizeof *t);
    assert_non_null(t);
    for (size_t i = 0; i < n; i++) t[i] = *eco_safetensors_get(st, i);
    size_t one = n;
    for (size_t i = 0; i < n; i++)
        if (t[i].ndim == 1 && one == n) one = i;
    assert_true(one < n && t[one].shape[0] >= 2);
    t[one].shape[0] /= 2;
    t[one].nbytes /= 2;
    char *d = eco_path_join(tmp, "d");
    ECO_ASSERT_OK(eco_mkdir_p(d));
    char *dfile = eco_path_join(d, "model.safetensors");
    ECO_ASSERT_OK(eco_safetensors_write(dfile, t, n, NULL, 0));
    eco_safetensors_close(st);
    ECO_ASSERT_OK(eco_compat_tensor_schema_hash(d, h));
    assert_string_not_equal(h, ia.tensor_schema_hash);

    /* Failures name the folder or file: no weights, a weight file that is a link. */
    char *e = eco_path_join(tmp, "e");
    ECO_ASSERT_OK(eco_mkdir_p(e));
    eco_compat_identity out;
    char *cfg_src = eco_path_join(a, "config.json"), *cfg_dst = eco_path_join(e, "config.json");
    char *tok_src = eco_path_join(a, "tokenizer.json"),
         *tok_dst = eco_path_join(e, "tokenizer.json");
    assert_int_equal(symlink(cfg_src, cfg_dst), 0); /* config and tokenizer may be links... */
    assert_int_equal(symlink(tok_src, tok_dst), 0);
    eco_status got = eco_compat_compute_base(e, &out);
    assert_int_not_equal(got, ECO_STATUS_OK);
    assert_non_null(strstr(eco_last_error(), e));
    char *link = eco_path_join(e, "model.safetensors");
    assert_int_equal(symlink(single, link), 0); /* ...weights may not */
    ECO_ASSERT_STATUS(eco_compat_compute_base(e, &out), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "model.safetensors: not a regular file"));
    char *missing = eco_path_join(tmp, "missing");
    assert_int_not_equal(eco_compat_compute_base(missing, &out), ECO_STATUS_OK);
    assert_non_null(strstr(eco_last_error(), "missing"));

    char *frees[] = {a,       b,       c,       single,  d,    dfile,  e,
                     cfg_src, cfg_dst, tok_src, tok_dst, link, missing};
    for (size_t i = 0; i < sizeof frees / sizeof frees[0]; i++) free(frees[i]);
    free(t);
    eco_test_rmtree(tmp);
    free(tmp);
}

static void test_compat_diff_order(void **state) {
    (void)state;
    eco_compat_identity a, b;
    memset(&a, 0, sizeof a);
    memset(a.base_family, '1', ECO_SHA256_HEX_LEN);
    memset(a.architecture_hash, '2', ECO_SHA256_HEX_LEN);
    memset(a.tokenizer_hash, '3', ECO_SHA256_HEX_LEN);
    memset(a.tensor_schema_hash, '4', ECO_SHA256_HEX_LEN);
    b = a;
    assert_null(eco_compat_diff(&a, &b));
    assert_true(eco_compat_equal(&a, &b));
    b.tensor_schema_hash[63] = '5';
    assert_string_equal(eco_compat_diff(&a, &b), "tensor_schema_hash");
    b.tokenizer_hash[0] = '5';
    assert_string_equal(eco_compat_diff(&a, &b), "tokenizer_hash");
    b.architecture_hash[31] = '5';
    assert_string_equal(eco_compat_diff(&a, &b), "architecture_hash");
    b.base_family[5] = '5';
    assert_string_equal(eco_compat_diff(&a, &b), "base_family");
    assert_false(eco_compat_equal(&a, &b));
    /* Only the last field differs: the others still compare equal. */
    b = a;
    b.tokenizer_hash[10] = 'f';
    assert_string_equal(eco_compat_diff(&b, &a), "tokenizer_hash");
    /* every differing field, in order (another family's architecture and tokenizer) */
    const char *fields[ECO_COMPAT_FIELDS];
    assert_int_equal(eco_compat_diff_all(&a, &b, fields), 1);
    assert_string_equal(fields[0], "tokenizer_hash");
    b.architecture_hash[0] = 'f';
    assert_int_equal(eco_compat_diff_all(&a, &b, fields), 2);
    assert_string_equal(fields[0], "architecture_hash");
    assert_string_equal(fields[1], "tokenizer_hash");
    b = a;
    assert_int_equal(eco_compat_diff_all(&a, &b, fields), 0);
    assert_int_equal(eco_compat_diff_all(&a, NULL, fields), ECO_COMPAT_FIELDS);
    assert_string_equal(fields[0], "base_family");
    assert_string_equal(fields[3], "tensor_schema_hash");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_bad_genomes),
        cmocka_unit_test(test_model_id),
        cmocka_unit_test(test_write_refused),
        cmocka_unit_test(test_compat_same),
        cmocka_unit_test(test_compat_architecture),
        cmocka_unit_test(test_compat_tokenizer),
        cmocka_unit_test(test_compat_weights),
        cmocka_unit_test(test_compat_diff_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
