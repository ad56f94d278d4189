/*
 * json_schema: the JSON Schema validator (ecology/json_schema.h).
 *
 * 1. The official JSON-Schema-Test-Suite, draft 2020-12 files vendored under
 *    tests/data/json-schema-test-suite/ (see its README). Each schema group is walked here,
 *    independently of the library, for keywords the validator does not support; such a
 *    group must be refused at compile time (EUNSUPPORTED) with one of them named, every
 *    other group must compile and every case must get the suite's verdict. The counts, the
 *    refused groups and the (justified) skips are printed.
 * 2. A table of malformed schemas, each refused with the status and a message naming the
 *    pointer and the problem.
 * 3. Failure reports (instance pointer, schema pointer, reason), numbers past int64 and
 *    double precision, code points, depth limits, $ref cycles, texts that are not JSON.
 */
#include "test_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/json_schema.h"
#include "ecology/tasks.h"

/* ---- 1. the test suite ------------------------------------------------------------- */

static const char *const SUITE_FILES[] = {
    "additionalProperties",
    "allOf",
    "anyOf",
    "boolean_schema",
    "const",
    "contains",
    "default",
    "defs",
    "dependentRequired",
    "dependentSchemas",
    "enum",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "if-then-else",
    "infinite-loop-detection",
    "items",
    "maxContains",
    "maxItems",
    "maxLength",
    "maxProperties",
    "maximum",
    "minContains",
    "minItems",
    "minLength",
    "minProperties",
    "minimum",
    "multipleOf",
    "not",
    "oneOf",
    "pattern",
    "patternProperties",
    "prefixItems",
    "properties",
    "propertyNames",
    "ref",
    "required",
    "type",
    "uniqueItems",
    "optional/bignum",
    "optional/float-overflow",
    "optional/non-bmp-regex",
};

/* Groups not run, with why. Keep it tiny. */
static const struct {
    const char *file, *group, *why;
} SKIPS[] = {
    {NULL, NULL, NULL},
};

/* The keywords the library supports, as this test knows them (json_schema.h's list). */
static const char *const APPLICATOR_MAP[] = {"properties", "patternProperties", "$defs", NULL};
static const char *const APPLICATOR_ONE[] = {
    "items",    "additionalProperties", "not", "if", "then", "else",
    "contains", "propertyNames",        NULL};
static const char *const APPLICATOR_LIST[] = {"prefixItems", "allOf", "anyOf", "oneOf", NULL};
/* clang-format off */
static const char *const OTHER_KEYWORDS[] = {
    "type", "required", "enum", "const", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "maxLength", "pattern", "minItems", "maxItems", "$ref",
    "title", "description", "default", "examples", "$comment", "format", "deprecated",
    "readOnly", "writeOnly", "uniqueItems", "multipleOf", "minProperties", "maxProperties",
    "minContains", "maxContains", "dependentRequired", NULL,
};
/* clang-format on */

static bool in_list(const char *const *list, const char *k) {
    for (; *list; list++)
        if (strcmp(*list, k) == 0) return true;
    return false;
}

typedef struct unsupported {
    char what[8][64]; /* each a piece the refusal message must hold, e.g. "'if'" */
    int n;
} unsupported;

static void add_unsupported(unsupported *u, const char *fmt, const char *s) {
    if (u->n < 8) snprintf(u->what[u->n++], sizeof u->what[0], fmt, s);
}

/* Walks schema s for what the library must refuse. */
static void walk(const json_t *s, bool root, const char *root_id, unsupported *u) {
    if (!json_is_object(s)) return;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)s, k, v) {
        if (in_list(APPLICATOR_MAP, k)) {
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2) walk(v2, false, root_id, u);
        } else if (in_list(APPLICATOR_ONE, k)) {
            walk(v, false, root_id, u);
        } else if (in_list(APPLICATOR_LIST, k)) {
            size_t i;
            json_t *v2;
            json_array_foreach(v, i, v2) walk(v2, false, root_id, u);
        } else if (strcmp(k, "$id") == 0 || strcmp(k, "$schema") == 0) {
            if (!root) add_unsupported(u, "'%s'", k);
        } else if (!in_list(OTHER_KEYWORDS, k)) {
            add_unsupported(u, "'%s'", k);
        }
        if (strcmp(k, "$ref") == 0 && json_is_string(v)) {
            const char *r = json_string_value(v);
            size_t idl = root_id ? strcspn(root_id, "#") : 0;
            if (idl && strncmp(r, root_id, idl) == 0 && (r[idl] == '#' || r[idl] == 0)) r += idl;
            if (r[0] != 0 && (r[0] != '#' || (r[1] != 0 && r[1] != '/')))
                add_unsupported(u, "%s", "$ref '");
        }
    }
}

/* Loads a suite file; a file with integers past int64 (bignum) is read with every integer
 * as a double, as the library reads such texts. */
static json_t *load_suite_file(const char *path) {
    json_error_t err;
    json_t *doc = json_load_file(path, JSON_ALLOW_NUL, &err);
    if (!doc) doc = json_load_file(path, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &err);
    if (!doc) print_error("%s: %s\n", path, err.text);
    return doc;
}

static void test_suite(void **state) {
    (void)state;
    size_t n_groups = 0, n_cases = 0, n_pass = 0, n_refused = 0, n_refused_cases = 0;
    size_t n_skipped = 0, n_fail = 0;
    for (size_t f = 0; f < sizeof SUITE_FILES / sizeof *SUITE_FILES; f++) {
        char rel[256];
        snprintf(rel, sizeof rel, "tests/data/json-schema-test-suite/draft2020-12/%s.json",
                 SUITE_FILES[f]);
        char *path = eco_test_source_path(rel);
        json_t *doc = load_suite_file(path);
        free(path);
        assert_non_null(doc);
        size_t gi;
        json_t *group;
        json_array_foreach(doc, gi, group) {
            const char *gdesc = json_string_value(json_object_get(group, "description"));
            const json_t *schema = json_object_get(group, "schema");
            const json_t *tests = json_object_get(group, "tests");
            n_groups++;
            bool skip = false;
            for (size_t s = 0; SKIPS[s].file; s++) {
                if (strcmp(SKIPS[s].file, SUITE_FILES[f]) == 0 &&
                    strcmp(SKIPS[s].group, gdesc) == 0) {
                    printf("SKIP %s: %s: %s\n", SUITE_FILES[f], gdesc, SKIPS[s].why);
                    skip = true;
                }
            }
            if (skip) {
                n_skipped++;
                continue;
            }
            unsupported u = {0};
            const json_t *id = json_is_object(schema) ? json_object_get(schema, "$id") : NULL;
            walk(schema, true, json_string_value(id), &u);
            char label[300];
            snprintf(label, sizeof label, "%s.json[%zu]", SUITE_FILES[f], gi);
            eco_json_schema *js = NULL;
            eco_status st = eco_json_schema_compile_value(schema, label, &js);
            if (u.n > 0) {
                bool named = false;
                for (int i = 0; i < u.n; i++)
                    if (strstr(eco_last_error(), u.what[i])) named = true;
                if (st != ECO_STATUS_EUNSUPPORTED || !named) {
                    print_error("FAIL %s: %s: expected refusal naming %s, got %s: %s\n",
                                SUITE_FILES[f], gdesc, u.what[0], eco_status_str(st),
                                st ? eco_last_error() : "");
                    n_fail++;
                } else {
                    printf("refused %s: %s: %s\n", SUITE_FILES[f], gdesc, eco_last_error());
                }
                eco_json_schema_free(js);
                n_refused++;
                n_refused_cases += json_array_size(tests);
                continue;
            }
            if (st != ECO_STATUS_OK) {
                print_error("FAIL %s: %s: not compiled: %s\n", SUITE_FILES[f], gdesc,
                            eco_last_error());
                n_fail += json_array_size(tests);
                continue;
            }
            size_t ti;
            json_t *t;
            json_array_foreach(tests, ti, t) {
                n_cases++;
                const json_t *data = json_object_get(t, "data");
                bool want = json_is_true(json_object_get(t, "valid"));
                bool got = !want, got_text = !want;
                eco_json_schema_error err;
                ECO_ASSERT_OK(eco_json_schema_validate(js, data, &got, &err));
                /* The text path gives the same verdict. */
                char *text = json_dumps(data, JSON_ENCODE_ANY | JSON_COMPACT);
                assert_non_null(text);
                ECO_ASSERT_OK(
                    eco_json_schema_validate_text(js, text, strlen(text), &got_text, NULL));
                free(text);
                if (got == want && got_text == want && (want || err.reason[0])) {
                    n_pass++;
                } else {
                    char why[1024];
                    print_error("FAIL %s: %s: %s: want %s, got %s (text %s) %s\n", SUITE_FILES[f],
                                gdesc, json_string_value(json_object_get(t, "description")),
                                want ? "valid" : "invalid", got ? "valid" : "invalid",
                                got_text ? "valid" : "invalid",
                                got ? "" : eco_json_schema_error_str(&err, why, sizeof why));
                    n_fail++;
                }
            }
            eco_json_schema_free(js);
        }
        json_decref(doc);
    }
    printf("json-schema-test-suite draft2020-12: %zu files, %zu groups: %zu cases passed, "
           "%zu failed; %zu groups (%zu cases) refused at compile time as unsupported; "
           "%zu groups skipped\n",
           sizeof SUITE_FILES / sizeof *SUITE_FILES, n_groups, n_pass, n_fail, n_refused,
           n_refused_cases, n_skipped);
    assert_int_equal(n_fail, 0);
    assert_int_equal(n_pass, n_cases);
    assert_true(n_pass > 500);
}

/* ---- 2. malformed schemas ---------------------------------------------------------- */

/* clang-format off */
static const struct {
    const char *schema;
    eco_status st;
    const char *msg; /* the whole message, after "t.json: " */
} BAD[] = {
    {"{\"type\": ", ECO_STATUS_EFORMAT, "not JSON: line 1 column 9: unexpected token near end of file"},
    {"[1]", ECO_STATUS_EFORMAT, "#: expected a schema (an object, true or false), got array"},
    {"{\"a\": 1, \"a\": 2}", ECO_STATUS_EFORMAT, "not JSON: line 1 column 12: duplicate object key near '\"a\"'"},
    {"{\"minimum\": \"a\"}", ECO_STATUS_EFORMAT, "#/minimum: expected a number, got string"},
    {"{\"properties\": {\"age\": {\"maximum\": null}}}", ECO_STATUS_EFORMAT, "#/properties/age/maximum: expected a number, got null"},
    {"{\"minLength\": -1}", ECO_STATUS_EFORMAT, "#/minLength: expected a non-negative integer, got a negative or fractional number"},
    {"{\"maxItems\": 1.5}", ECO_STATUS_EFORMAT, "#/maxItems: expected a non-negative integer, got a negative or fractional number"},
    {"{\"type\": \"int\"}", ECO_STATUS_EFORMAT, "#/type: unknown type 'int' (null, boolean, object, array, number, integer, string)"},
    {"{\"type\": []}", ECO_STATUS_EFORMAT, "#/type: expected a type name or a non-empty array of them, got an empty array"},
    {"{\"type\": [\"string\", \"string\"]}", ECO_STATUS_EFORMAT, "#/type: type 'string' listed twice"},
    {"{\"required\": [\"a\", 1]}", ECO_STATUS_EFORMAT, "#/required: entry 1: expected a string, got integer"},
    {"{\"required\": [\"a\", \"a\"]}", ECO_STATUS_EFORMAT, "#/required: entry 1 repeats entry 0"},
    {"{\"enum\": 3}", ECO_STATUS_EFORMAT, "#/enum: expected an array, got integer"},
    {"{\"allOf\": []}", ECO_STATUS_EFORMAT, "#/allOf: expected a non-empty array of schemas, got an empty array"},
    {"{\"anyOf\": [{}, 3]}", ECO_STATUS_EFORMAT, "#/anyOf/1: expected a schema (an object, true or false), got integer"},
    {"{\"items\": [{}]}", ECO_STATUS_EFORMAT, "#/items: expected a schema (an object, true or false), got array"},
    {"{\"pattern\": \"a(\"}", ECO_STATUS_EFORMAT, "#/pattern: bad regular expression at offset 2: missing closing parenthesis"},
    {"{\"patternProperties\": {\"[\": {}}}", ECO_STATUS_EFORMAT, "#/patternProperties/[: bad regular expression at offset 1: missing terminating ] for character class"},
    {"{\"$ref\": \"#/$defs/missing\"}", ECO_STATUS_EFORMAT, "#/$ref: $ref '#/$defs/missing': no such location in the schema"},
    {"{\"$ref\": \"#/$defs/a~2\", \"$defs\": {\"a\": {}}}", ECO_STATUS_EFORMAT, "#/$ref: $ref '#/$defs/a~2': '~' not followed by 0 or 1 in the JSON pointer"},
    {"{\"$ref\": \"#/$defs/%zz\"}", ECO_STATUS_EFORMAT, "#/$ref: $ref '#/$defs/%zz': bad percent-encoding"},
    {"{\"$ref\": \"#/enum/0\", \"enum\": [1]}", ECO_STATUS_EFORMAT, "#/$ref: $ref '#/enum/0': the target is not a schema (integer)"},
    {"{\"$ref\": \"#\"}", ECO_STATUS_EFORMAT, "#: $ref cycle: # is applied to the same instance again without descending into it"},
    {"{\"$defs\": {\"a\": {\"allOf\": [{\"$ref\": \"#/$defs/b\"}]}, \"b\": {\"not\": {\"$ref\": \"#/$defs/a\"}}}}", ECO_STATUS_EFORMAT, "#/$defs/b/not: $ref cycle: #/$defs/a is applied to the same instance again without descending into it"},
    {"{\"$ref\": \"other.json#/a\"}", ECO_STATUS_EUNSUPPORTED, "#/$ref: $ref 'other.json#/a': only local references (\"#...\") are supported"},
    {"{\"$ref\": \"#foo\"}", ECO_STATUS_EUNSUPPORTED, "#/$ref: $ref '#foo': anchors ($anchor) are not supported, only JSON pointers"},
    {"{\"properties\": {\"a\": {\"dependentSchemas\": {}}}}", ECO_STATUS_EUNSUPPORTED, "#/properties/a/dependentSchemas: unsupported keyword 'dependentSchemas'"},
    {"{\"$defs\": {\"x\": {\"unevaluatedItems\": false}}}", ECO_STATUS_EUNSUPPORTED, "#/$defs/x/unevaluatedItems: unsupported keyword 'unevaluatedItems'"},
    {"{\"properties\": {\"a/b~c\": {\"contentMediaType\": \"x\"}}}", ECO_STATUS_EUNSUPPORTED, "#/properties/a~1b~0c/contentMediaType: unsupported keyword 'contentMediaType'"},
    {"{\"multipleOf\": 0}", ECO_STATUS_EFORMAT, "#/multipleOf: expected a number greater than 0, got one that is not"},
    {"{\"uniqueItems\": 1}", ECO_STATUS_EFORMAT, "#/uniqueItems: expected true or false, got integer"},
    {"{\"dependentRequired\": {\"a\": [\"b\", 2]}}", ECO_STATUS_EFORMAT, "#/dependentRequired/a: entry 1: expected a string, got integer"},
    {"{\"$defs\": {\"a\": {\"if\": {\"$ref\": \"#/$defs/a\"}}}}", ECO_STATUS_EFORMAT, "#/$defs/a/if: $ref cycle: #/$defs/a is applied to the same instance again without descending into it"},
    {"{\"items\": {\"$id\": \"x\"}}", ECO_STATUS_EUNSUPPORTED, "#/items/$id: unsupported keyword '$id' below the root (embedded schema resources)"},
    {"{\"$schema\": \"http://json-schema.org/draft-04/schema#\"}", ECO_STATUS_EUNSUPPORTED, "#/$schema: unsupported dialect 'http://json-schema.org/draft-04/schema#' (https://json-schema.org/draft/2020-12/schema or http://json-schema.org/draft-07/schema# only)"},
    {"{\"$schema\": \"http://json-schema.org/draft-07/schema#\", \"items\": [{}]}", ECO_STATUS_EFORMAT, "#/items: expected a schema (an object, true or false), got array"},
    {"{\"$schema\": \"http://json-schema.org/draft-07/schema#\", \"definitions\": {}}", ECO_STATUS_EUNSUPPORTED, "#/definitions: unsupported keyword 'definitions'"},
    {"{\"$schema\": \"http://json-schema.org/draft-07/schema#\", \"properties\": {\"a\": {\"$ref\": \"#/$defs/x\", \"type\": \"string\"}}, \"$defs\": {\"x\": {}}}", ECO_STATUS_EUNSUPPORTED, "#/properties/a/type: 'type' beside $ref in a draft-07 schema (draft-07 ignores it, 2020-12 applies it; declare https://json-schema.org/draft/2020-12/schema)"},
    {"{\"title\": 3}", ECO_STATUS_EFORMAT, "#/title: expected a string, got integer"},
    {"{\"minimum\": 1e400}", ECO_STATUS_EFORMAT, "not JSON: line 1 column 17: real number overflow near '1e400'"},
};
/* clang-format on */

static void test_malformed(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
        eco_json_schema *js = (eco_json_schema *)&js; /* must come back NULL */
        eco_status st =
            eco_json_schema_compile(BAD[i].schema, strlen(BAD[i].schema), "t.json", &js);
        char want[600];
        snprintf(want, sizeof want, "t.json: %s", BAD[i].msg);
        if (st != BAD[i].st || strcmp(eco_last_error(), want) != 0 || js != NULL) {
            print_error("row %zu %s:\n  got  %s: %s\n  want %s: %s\n", i, BAD[i].schema,
                        eco_status_str(st), eco_last_error(), eco_status_str(BAD[i].st), want);
            fail();
        }
    }
}

/* ---- 3. verdicts and reports ------------------------------------------------------- */

static eco_json_schema *compile_ok(const char *schema) {
    eco_json_schema *js = NULL;
    ECO_ASSERT_OK(eco_json_schema_compile(schema, strlen(schema), "t.json", &js));
    return js;
}

/* The verdict of instance (a text) under schema; the report into err. */
static bool verdict(const char *schema, const char *instance, eco_json_schema_error *err) {
    eco_json_schema *js = compile_ok(schema);
    bool valid = false;
    ECO_ASSERT_OK(eco_json_schema_validate_text(js, instance, strlen(instance), &valid, err));
    eco_json_schema_free(js);
    return valid;
}

/* clang-format off */
static const struct {
    const char *schema, *instance;
    bool valid;
    const char *report; /* eco_json_schema_error_str when invalid */
} CASES[] = {
    {"{\"type\": \"object\", \"properties\": {\"items\": {\"type\": \"array\", \"items\": {\"properties\": {\"name\": {\"type\": \"string\"}}}}}}",
     "{\"items\": [{\"name\": \"a\"}, {\"name\": \"b\"}, {\"name\": 3}]}", false,
     "at #/items/2/name: #/properties/items/items/properties/name/type: expected string, got integer"},
    {"{\"required\": [\"id\"]}", "{}", false, "at #: #/required: required property 'id' is missing"},
    {"{\"additionalProperties\": false, \"properties\": {\"a\": {}}}", "{\"a\": 1, \"b~/\": 2}", false,
     "at #: #/additionalProperties: property 'b~/' is not allowed"},
    {"{\"$defs\": {\"pos\": {\"exclusiveMinimum\": 0}}, \"items\": {\"$ref\": \"#/$defs/pos\"}}", "[1, 0.5, 0]", false,
     "at #/2: #/$defs/pos/exclusiveMinimum: 0 is not greater than the exclusive minimum 0"},
    {"{\"prefixItems\": [{\"type\": \"string\"}], \"items\": false}", "[\"a\", 1]", false,
     "at #: #/items: 2 items, at most 1 allowed"},
    {"{\"prefixItems\": [{\"type\": \"string\"}], \"items\": {\"type\": \"integer\"}}", "[\"a\", 1, 2.0]", true, NULL},
    {"{\"prefixItems\": [{\"type\": \"string\"}], \"items\": {\"type\": \"integer\"}}", "[\"a\", 1, 2.5]", false,
     "at #/2: #/items/type: expected integer, got number"},
    {"{\"prefixItems\": [{\"type\": \"string\"}, {\"type\": \"integer\"}]}", "[\"a\"]", true, NULL},
    {"{\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 2}]}", "3", false,
     "at #: #/oneOf: matches subschemas 0 and 1, not exactly one"},
    {"{\"anyOf\": [{\"type\": \"string\"}, {\"type\": \"null\"}]}", "1", false,
     "at #: #/anyOf: matches none of the 2 subschemas"},
    {"{\"not\": {\"type\": \"null\"}}", "null", false, "at #: #/not: matches the schema it must not match"},
    {"{\"pattern\": \"^[a-z]+$\"}", "\"abc\\n\"", false, "at #: #/pattern: 'abc\\x0a' does not match the pattern"},
    {"{\"pattern\": \"\\\\u00e9\"}", "\"caf\\u00e9\"", true, NULL},
    {"{\"minLength\": 4, \"maxLength\": 4}", "\"日本語!\"", true, NULL},
    {"{\"maxLength\": 3}", "\"😀😀😀😀\"", false, "at #: #/maxLength: 4 characters, more than 3"},
    {"{\"type\": \"string\", \"minLength\": 2}", "\"\\u0000\\u0000\"", true, NULL},
    {"{\"const\": {\"a\": [1, 2.0], \"b\": null}}", "{\"b\": null, \"a\": [1.0, 2]}", true, NULL},
    {"{\"enum\": [[1, 2], \"x\"]}", "[2, 1]", false, "at #: #/enum: not one of the 2 allowed values"},
    {"{\"type\": [\"string\", \"null\"]}", "true", false, "at #: #/type: expected null or string, got boolean"},
    {"false", "1", false, "at #: #: the schema false allows nothing"},
    {"{\"type\": \"object\"}", "{\"a\": 1", false,
     "at #: #: not JSON: line 1 column 7: '}' expected near end of file"},
    {"{\"type\": \"object\"}", "{\"a\": 1, \"a\": 2}", false,
     "at #: #: not JSON: line 1 column 12: duplicate object key near '\"a\"'"},
    /* Numbers: int64 exact against doubles; past int64, doubles. */
    {"{\"maximum\": 9007199254740992}", "9007199254740993", false,
     "at #: #/maximum: 9007199254740993 is greater than the maximum 9007199254740992"},
    {"{\"maximum\": 9007199254740992.0}", "9007199254740993", false,
     "at #: #/maximum: 9007199254740993 is greater than the maximum 9007199254740992"},
    {"{\"const\": 9007199254740993}", "9007199254740992.0", false, "at #: #/const: not the constant value"},
    {"{\"const\": 9223372036854775807}", "9223372036854775807", true, NULL},
    {"{\"maximum\": 9223372036854775807}", "9223372036854775808", false,
     "at #: #/maximum: 9.2233720368547758e+18 is greater than the maximum 9223372036854775807"},
    {"{\"type\": \"integer\", \"minimum\": 1e19}", "12345678901234567890", true, NULL},
    {"{\"type\": \"number\"}", "1e400", false,
     "at #: #: not JSON: line 1 column 5: real number overflow near '1e400'"},
    {"{\"type\": \"integer\"}", "1e300", true, NULL},
    /* $ref: percent-encoding and ~ escapes; a root $id prefix; refs into items. */
    {"{\"$defs\": {\"a b\": {\"type\": \"string\"}, \"c/d~\": {\"$ref\": \"#/$defs/a%20b\"}}, \"$ref\": \"#/$defs/c~1d~0\"}", "1", false,
     "at #: #/$defs/a b/type: expected string, got integer"},
    {"{\"$id\": \"https://example.com/s.json\", \"items\": {\"$ref\": \"https://example.com/s.json#/$defs/x\"}, \"$defs\": {\"x\": {\"type\": \"null\"}}}", "[null, 1]", false,
     "at #/1: #/$defs/x/type: expected null, got integer"},
    {"{\"prefixItems\": [{\"type\": \"integer\"}], \"properties\": {\"a\": {\"$ref\": \"#/prefixItems/0\"}}}", "{\"a\": 1.5}", false,
     "at #/a: #/prefixItems/0/type: expected integer, got number"},
    {"{\"patternProperties\": {\"^x-\": {\"type\": \"string\"}}, \"additionalProperties\": {\"type\": \"integer\"}}", "{\"x-a\": \"s\", \"b\": 1, \"c\": \"no\"}", false,
     "at #/c: #/additionalProperties/type: expected integer, got string"},
    {"{\"uniqueItems\": true}", "[1, {\"a\": [2]}, 1.0]", false, "at #: #/uniqueItems: items 0 and 2 are equal"},
    {"{\"contains\": {\"type\": \"null\"}, \"maxContains\": 1}", "[null, 1, null]", false,
     "at #: #/maxContains: 2 items match contains, more than 1"},
    {"{\"contains\": {\"type\": \"null\"}}", "[1]", false, "at #: #/contains: 0 items match contains, fewer than 1"},
    {"{\"multipleOf\": 0.01}", "19.99", true, NULL},
    {"{\"multipleOf\": 3}", "10", false, "at #: #/multipleOf: 10 is not a multiple of 3"},
    {"{\"propertyNames\": {\"maxLength\": 2}}", "{\"ab\": 1, \"abc\": 2}", false, "at #: #/propertyNames/maxLength: 3 characters, more than 2"},
    {"{\"dependentRequired\": {\"card\": [\"cvv\"]}}", "{\"card\": 1}", false,
     "at #: #/dependentRequired: property 'cvv' is required when 'card' is present"},
    {"{\"if\": {\"minimum\": 10}, \"then\": {\"multipleOf\": 10}, \"else\": {\"maximum\": 5}}", "7", false,
     "at #: #/else/maximum: 7 is greater than the maximum 5"},
    {"{\"minProperties\": 1, \"maxProperties\": 1}", "{}", false, "at #: #/minProperties: 0 properties, fewer than 1"},
    {"{\"title\": \"t\", \"description\": \"d\", \"default\": 1, \"examples\": [1], \"$comment\": \"c\", \"format\": \"email\", \"$schema\": \"https://json-schema.org/draft/2020-12/schema\", \"$id\": \"urn:x\"}", "\"not an email\"", true, NULL},
};
/* clang-format on */

static void test_reports(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++) {
        eco_json_schema_error err;
        bool valid = verdict(CASES[i].schema, CASES[i].instance, &err);
        char got[1024];
        eco_json_schema_error_str(&err, got, sizeof got);
        if (valid != CASES[i].valid || (!valid && strcmp(got, CASES[i].report) != 0)) {
            print_error("case %zu: %s on %s:\n  got  %s %s\n  want %s %s\n", i, CASES[i].schema,
                        CASES[i].instance, valid ? "valid" : "invalid", valid ? "" : got,
                        CASES[i].valid ? "valid" : "invalid",
                        CASES[i].report ? CASES[i].report : "");
            fail();
        }
    }
}

/* Nesting: a recursive schema over arrays nested n deep. */
static void test_depth(void **state) {
    (void)state;
    eco_json_schema *js = compile_ok("{\"type\": \"array\", \"items\": {\"$ref\": \"#\"}}");
    for (int n = 100; n <= 1500; n += 1400) {
        char *text = malloc((size_t)n * 2 + 1);
        assert_non_null(text);
        for (int i = 0; i < n; i++) text[i] = '[', text[n + i] = ']';
        text[2 * n] = 0;
        bool valid = false;
        eco_json_schema_error err;
        ECO_ASSERT_OK(eco_json_schema_validate_text(js, text, strlen(text), &valid, &err));
        if (n == 100) {
            assert_true(valid);
        } else {
            assert_false(valid);
            assert_non_null(strstr(err.reason, "nesting deeper than 512 levels"));
        }
        free(text);
    }
    eco_json_schema_free(js);
    /* A schema nested deeper than the limit is refused. */
    eco_buf b = {0};
    for (int i = 0; i < 600; i++) assert_true(eco_buf_puts(&b, "{\"not\": "));
    assert_true(eco_buf_puts(&b, "true"));
    for (int i = 0; i < 600; i++) assert_true(eco_buf_push(&b, '}'));
    eco_json_schema *deep = NULL;
    ECO_ASSERT_STATUS(eco_json_schema_compile(b.data, b.len, "deep.json", &deep),
                      ECO_STATUS_ERANGE);
    assert_non_null(strstr(eco_last_error(), "schema nested deeper than 512 levels"));
    assert_null(deep);
    eco_buf_free(&b);
    /* 40 levels of anyOf over two refs to the next level: 2^40 applications, stopped. */
    eco_buf_reset(&b);
    assert_true(eco_buf_puts(&b, "{\"$ref\": \"#/$defs/d0\", \"$defs\": {"));
    for (int i = 0; i < 40; i++)
        assert_true(eco_buf_printf(&b,
                                   "\"d%d\": {\"anyOf\": [{\"$ref\": \"#/$defs/d%d\"}, "
                                   "{\"$ref\": \"#/$defs/d%d\"}]}, ",
                                   i, i + 1, i + 1));
    assert_true(eco_buf_puts(&b, "\"d40\": {\"type\": \"string\"}}}"));
    eco_json_schema *costly = compile_ok(b.data);
    bool valid = true;
    ECO_ASSERT_STATUS(eco_json_schema_validate_text(costly, "1", 1, &valid, NULL),
                      ECO_STATUS_ERANGE);
    assert_non_null(strstr(eco_last_error(), "more than 2000000 subschema applications"));
    ECO_ASSERT_OK(eco_json_schema_validate_text(costly, "\"s\"", 3, &valid, NULL));
    assert_true(valid);
    eco_json_schema_free(costly);
    eco_buf_free(&b);
}

/* Long pointers end in "..." inside their buffers; arguments are checked. */
static void test_long_pointer_and_args(void **state) {
    (void)state;
    char key[400];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = 0;
    char schema[1000], inst[1000];
    snprintf(schema, sizeof schema, "{\"properties\": {\"%s\": {\"type\": \"null\"}}}", key);
    snprintf(inst, sizeof inst, "{\"%s\": 1}", key);
    eco_json_schema_error err;
    assert_false(verdict(schema, inst, &err));
    assert_int_equal(strlen(err.instance), ECO_JSON_SCHEMA_PTR_MAX - 1);
    assert_string_equal(err.instance + ECO_JSON_SCHEMA_PTR_MAX - 4, "...");
    assert_string_equal(err.schema + ECO_JSON_SCHEMA_PTR_MAX - 4, "...");
    eco_json_schema *js = compile_ok("true");
    bool valid;
    ECO_ASSERT_STATUS(eco_json_schema_validate(js, NULL, &valid, NULL), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_json_schema_validate_text(NULL, "1", 1, &valid, NULL), ECO_STATUS_EINVAL);
    ECO_ASSERT_OK(eco_json_schema_validate_text(js, "[1, {}]", 7, &valid, NULL));
    assert_true(valid);
    eco_json_schema_free(js);
    eco_json_schema_free(NULL);
}

/* The capability suite's own answer schemas (draft-07 declared): every generated answer is
 * valid, and answers broken in each way the schema forbids are not. */
static void test_capability_schemas(void **state) {
    (void)state;
    size_t n_schemas = 0, n_answers = 0;
    for (size_t c = 0; c < eco_tasks_count(); c++) {
        const eco_capability *cap = eco_tasks_get(c);
        if (!cap->json_schema) continue;
        n_schemas++;
        eco_json_schema *js = NULL;
        ECO_ASSERT_OK(
            eco_json_schema_compile(cap->json_schema, strlen(cap->json_schema), cap->name, &js));
        for (int split = 0; split < 2; split++) {
            eco_task_item *items = NULL;
            ECO_ASSERT_OK(eco_tasks_generate(cap, (eco_task_split)split, 500, 7, &items));
            for (size_t i = 0; i < 500; i++) {
                const char *a = items[i].completion;
                size_t len = strlen(a);
                while (len > 0 && (a[len - 1] == '\n' || a[len - 1] == ' ')) len--;
                while (len > 0 && a[0] == ' ') a++, len--;
                bool valid = false;
                eco_json_schema_error err;
                ECO_ASSERT_OK(eco_json_schema_validate_text(js, a, len, &valid, &err));
                if (!valid) {
                    char why[1024];
                    print_error("%s: answer %s invalid: %s\n", cap->name, items[i].completion,
                                eco_json_schema_error_str(&err, why, sizeof why));
                    fail();
                }
                n_answers++;
            }
            eco_task_items_free(items, 500);
        }
        if (strcmp(cap->name, "json.record@1") == 0) {
            static const char *const broken[] = {
                "{\"name\": \"ann\"}",               /* minProperties 2 */
                "{\"name\": \"ann\", \"age\": 121}", /* maximum */
                "{\"name\": \"Ann\", \"age\": 1}",   /* pattern */
                "{\"name\": \"ann\", \"age\": 1.5}", /* integer */
                "{\"name\": \"ann\", \"zip\": 1}",   /* additionalProperties */
                "{\"color\": \"pink\", \"age\": 1}", /* enum */
                "{\"name\": \"ann\", \"age\": 1",    /* cut short */
                "[1, 2]",                            /* type */
            };
            for (size_t b = 0; b < sizeof broken / sizeof *broken; b++) {
                bool valid = true;
                ECO_ASSERT_OK(
                    eco_json_schema_validate_text(js, broken[b], strlen(broken[b]), &valid, NULL));
                if (valid) {
                    print_error("%s: %s accepted\n", cap->name, broken[b]);
                    fail();
                }
            }
        }
        eco_json_schema_free(js);
    }
    printf("capability schemas: %zu compiled, %zu generated answers valid\n", n_schemas, n_answers);
    assert_true(n_schemas >= 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suite),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_reports),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_long_pointer_and_args),
        cmocka_unit_test(test_capability_schemas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
