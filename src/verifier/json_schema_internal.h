/*
 * json_schema_internal: the compiled form of a JSON Schema (ecology/json_schema.h), shared by
 * the compiler (json_schema_compile.c) and the validator (json_schema_validate.c), and the
 * JSON value helpers both use (json_value.c). Internal to the verifier module.
 */
#ifndef ECO_VERIFIER_JSON_SCHEMA_INTERNAL_H
#define ECO_VERIFIER_JSON_SCHEMA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>

#include "ecology/json_schema.h"

/* Type bits of the "type" keyword. */
enum {
    JS_T_NULL = 1 << 0,
    JS_T_BOOLEAN = 1 << 1,
    JS_T_OBJECT = 1 << 2,
    JS_T_ARRAY = 1 << 3,
    JS_T_NUMBER = 1 << 4,
    JS_T_INTEGER = 1 << 5,
    JS_T_STRING = 1 << 6,
};

typedef struct js_node js_node;

/* One compiled subschema. Children are borrowed from the schema's node list (every node is
 * owned by eco_json_schema.nodes); json_t pointers are borrowed from eco_json_schema.doc. */
struct js_node {
    char *ptr;          /* its JSON pointer in the schema, escaped (RFC 6901), "" the root */
    bool is_bool;       /* a boolean schema */
    bool bool_value;    /* its value */
    const json_t *json; /* the object it was compiled from (NULL for a boolean schema) */

    unsigned types; /* JS_T_* bits; 0: no "type" keyword */

    size_t n_props;
    const char **prop_keys; /* borrowed from doc */
    size_t *prop_key_lens;
    js_node **props;
    size_t n_pprops;
    pcre2_code **pprop_res;
    js_node **pprops;
    js_node *additional; /* NULL: absent */

    size_t n_required;
    const char **required; /* borrowed from doc */
    size_t *required_lens;

    size_t n_prefix;
    js_node **prefix;
    js_node *items;               /* NULL: absent */
    int64_t min_items, max_items; /* -1: absent */

    const json_t *enum_values; /* NULL: absent */
    const json_t *const_value; /* NULL: absent (JSON null is json_null(), never NULL) */

    const json_t *minimum, *maximum, *ex_minimum, *ex_maximum; /* numbers, NULL: absent */
    int64_t min_length, max_length;                            /* -1: absent */
    pcre2_code *pattern;

    size_t n_all, n_any, n_one;
    js_node **all_of, **any_of, **one_of;
    js_node *not_;
    js_node *if_, *then_, *else_; /* NULL: absent */

    bool unique_items;
    js_node *contains;                  /* NULL: absent */
    int64_t min_contains, max_contains; /* -1: absent (minContains then reads 1) */
    const json_t *multiple_of;          /* a number > 0, NULL: absent */
    int64_t min_props, max_props;       /* -1: absent */
    js_node *property_names;            /* NULL: absent */
    const json_t *dependent_required;   /* {name: [names]} checked at compile, NULL: absent */

    const char *ref_text; /* the $ref as written (borrowed; NULL: none) */
    js_node *ref;         /* its target once resolved */

    int mark; /* cycle search: 0 unseen, 1 on the stack, 2 done */
};

struct eco_json_schema {
    json_t *doc; /* the schema document (owned) */
    js_node **nodes;
    size_t n_nodes, cap_nodes;
    pcre2_match_context *mctx; /* match limits shared by every pattern */
};

/* ---- regular expressions (json_schema_regex.c) -------------------------------------- */

/* Compiles the ECMA-262 pattern re[0..len) (json_schema.h says how) into *out. Returns 0,
 * -1 when out of memory, 1 for a bad pattern (PCRE2's message in why, the offset, in the
 * pattern as rewritten, in *offset). */
int js_regex_compile(const char *re, size_t len, pcre2_code **out, char *why, size_t why_size,
                     size_t *offset);

/* ---- JSON values (json_value.c) ----------------------------------------------------- */

/* Parses text[0..len) (any value at the top, duplicate keys refused, \u0000 allowed); an
 * integer beyond int64 makes it re-read with every integer as a double. NULL on failure,
 * with jansson's message in *err. */
json_t *js_parse(const char *text, size_t len, json_error_t *err);
/* Sign of a - b for two JSON numbers, exact between an int64 and a double. */
int js_num_cmp(const json_t *a, const json_t *b);
/* True when n (a JSON number) has no fractional part. */
bool js_num_is_integral(const json_t *n);
/* JSON equality: numbers by value (1 == 1.0), strings by bytes, arrays in order, objects as
 * sets of members. */
bool js_equal(const json_t *a, const json_t *b);
/* Unicode code points in s[0..n) (a byte that does not start a valid UTF-8 sequence counts
 * as one). */
size_t js_utf8_count(const char *s, size_t n);
/* The name of v's JSON type, with "integer" for integral numbers ("null", "boolean",
 * "object", "array", "integer", "number", "string"). */
const char *js_type_name(const json_t *v);
/* Byte c of a key or string as json_schema.h shows it in a JSON Pointer (pointer: '~' as
 * "~0", '/' as "~1") or a message: "\xNN" outside printable ASCII and for '\\', else c.
 * Written NUL-terminated into out; returns its length (1 to 4). */
size_t js_escape_byte(unsigned char c, bool pointer, char out[5]);

#endif
