/*
 * json_schema: a JSON Schema validator (draft 2020-12 semantics) for the keywords models are
 * asked to produce; the verifier module's format check. src/verifier/json_schema*.c.
 *
 * Supported (validation):
 *   type (a name or an array of distinct names; "integer" accepts 1.0), properties,
 *   patternProperties, additionalProperties (bool or schema; applies to the members neither
 *   properties nor patternProperties name), required, prefixItems, items (2020-12: the
 *   schema for the entries after prefixItems), minItems, maxItems, enum, const (JSON
 *   equality: 1 == 1.0, object member order irrelevant), minimum, maximum,
 *   exclusiveMinimum, exclusiveMaximum (numbers), minLength, maxLength (counted in Unicode
 *   code points), pattern (PCRE2, see below), allOf, anyOf, oneOf, not, boolean schemas,
 *   local $ref and $defs; and, as cheap extras, uniqueItems, contains / minContains /
 *   maxContains, minProperties, maxProperties, propertyNames, dependentRequired,
 *   if / then / else, multipleOf (integers exactly; reals when x / m is within 1e-9
 *   (relative) of an integer, or by the exact fmod when x / m overflows).
 * Accepted and ignored (annotations): $schema (root only; the draft 2020-12 URI, or
 *   draft-07's, see below), $id (root only), title, description, $comment, format (never
 *   asserted), default, examples, deprecated, readOnly, writeOnly.
 * Anything else is refused when the schema is compiled (EUNSUPPORTED "<label>: #<pointer>:
 *   unsupported keyword 'unevaluatedProperties'"), never silently accepted; so are $id
 *   below the root, $anchor, $dynamicRef and a $ref that is not local.
 *
 * Draft-07: a schema whose $schema is http://json-schema.org/draft-07/schema# (as the
 *   capability suite's json.record@1 schema says) is read with 2020-12 semantics; the
 *   draft-07 keywords whose meaning changed are refused, never reinterpreted: items as an
 *   array (EFORMAT, "expected a schema"), additionalItems, definitions, dependencies
 *   (unsupported keywords), and a validation keyword beside $ref (draft-07 ignores it).
 *
 * $ref: "#" or "#<JSON pointer>" (RFC 6901 inside a URI fragment: the fragment is
 *   percent-decoded, then ~1 reads '/' and ~0 '~'); a ref that starts with the root $id
 *   followed by '#' (or is the root $id) is local too. The target may be any schema
 *   location of the document (#/$defs/x, #/properties/a, #/items ...). A chain of $ref and
 *   in-place applicators (allOf, anyOf, oneOf, not, if, then, else) that comes back to
 *   where it started without descending into the instance is refused at compile time
 *   ("$ref cycle"), so validation always terminates.
 *
 * pattern (and patternProperties' names) are compiled once per schema with PCRE2 as
 *   ECMA-262-ish regular expressions: PCRE2_UTF | PCRE2_ALT_BSUX (\uXXXX escapes) |
 *   PCRE2_DOLLAR_ENDONLY, unanchored (a match anywhere), ASCII \d \w \s; ECMA's long
 *   property names (\p{Letter}, \p{gc=Lu}, \p{Script=Greek}) are rewritten to PCRE2's
 *   (\p{L}, \p{Lu}, \p{sc:Greek}) first. A match that hits PCRE2's match limit (10^6
 *   steps, 64 MiB) counts as a failure ("matching failed").
 *
 * Numbers: texts are parsed by jansson; an integer that fits int64 stays exact; when a text
 *   holds an integer beyond int64 the whole text is re-read with every integer as the
 *   nearest double. Comparisons between an int64 and a double are exact (no rounding of the
 *   integer to double). A real beyond double's range (1e400) makes the text unreadable: a
 *   schema is refused, an instance is invalid ("not JSON").
 *
 * Limits: a schema nested deeper than ECO_JSON_SCHEMA_MAX_DEPTH, or with more than
 *   ECO_JSON_SCHEMA_MAX_NODES subschemas, is refused (ERANGE); an instance whose
 *   validation nests deeper than ECO_JSON_SCHEMA_MAX_DEPTH is invalid ("nesting deeper
 *   than ..."). A validation that applies more than ECO_JSON_SCHEMA_MAX_STEPS subschemas
 *   (nested anyOf/oneOf through $ref can cost exponential time) stops with ERANGE: no
 *   verdict. Texts with duplicate object keys are refused (schema) or invalid
 *   (instance). Strings may hold \u0000.
 *
 * A compiled schema is immutable: any number of threads may validate with it at once.
 * The library never aborts on bad input; every problem is an eco_status with a message.
 */
#ifndef ECO_JSON_SCHEMA_H
#define ECO_JSON_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECO_JSON_SCHEMA_MAX_DEPTH 512
#define ECO_JSON_SCHEMA_MAX_NODES 100000
#define ECO_JSON_SCHEMA_MAX_STEPS 2000000
#define ECO_JSON_SCHEMA_PTR_MAX   256
#define ECO_JSON_SCHEMA_WHY_MAX   256

typedef struct eco_json_schema eco_json_schema;

/* Compiles the schema text[0..len) (a JSON document: an object or true/false). label names
 * the schema in messages ("gates.json", "case 12 schema"). On success *out is the caller's
 * (eco_json_schema_free). Errors: EFORMAT (not JSON; a keyword of the wrong type or value:
 * "<label>: #/properties/age/minimum: expected a number"; a bad regex; a dangling $ref),
 * EUNSUPPORTED (an unsupported keyword, $anchor, a remote $ref, $id below the root, a
 * $schema other than draft 2020-12 or draft-07), ERANGE (too deep, too many subschemas), ENOMEM.
 * *out is NULL on error. */
eco_status eco_json_schema_compile(const char *text, size_t len, const char *label,
                                   eco_json_schema **out);
/* The same from a parsed value (borrowed; the compiled schema keeps its own copy). */
eco_status eco_json_schema_compile_value(const struct json_t *schema, const char *label,
                                         eco_json_schema **out);
void eco_json_schema_free(eco_json_schema *s);

/* Why an instance is invalid: the first failure found (keywords are tried in a fixed order,
 * so the same schema and instance always give the same failure). Pointers are RFC 6901
 * JSON pointers ("" the root) in a shown form: a byte outside printable ASCII reads \xNN,
 * and a pointer longer than the buffer ends in "...". */
typedef struct eco_json_schema_error {
    char instance[ECO_JSON_SCHEMA_PTR_MAX]; /* where in the instance ("/items/2/name") */
    char schema[ECO_JSON_SCHEMA_PTR_MAX];   /* the keyword that failed ("/properties/name/type") */
    char reason[ECO_JSON_SCHEMA_WHY_MAX];   /* "expected string, got integer" */
} eco_json_schema_error;

/* Validates instance against s: *valid true or false; when false and err is not NULL, err
 * holds the first failure. Returns OK whenever a verdict was reached (invalid is not an
 * error); EINVAL for NULL arguments, ENOMEM, ERANGE (too costly, see Limits). */
eco_status eco_json_schema_validate(const eco_json_schema *s, const struct json_t *instance,
                                    bool *valid, eco_json_schema_error *err);
/* The same for a JSON text (any value at the top, e.g. a model's output): a text that is not
 * JSON is invalid with instance "" and schema "" and reason "not JSON: <jansson's message>". */
eco_status eco_json_schema_validate_text(const eco_json_schema *s, const char *text, size_t len,
                                         bool *valid, eco_json_schema_error *err);

/* Formats err as "at #<instance>: #<schema>: <reason>" into buf (always NUL-terminated);
 * returns buf. */
const char *eco_json_schema_error_str(const eco_json_schema_error *err, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
