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

#include "ecology/contracts.h"
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

/* ---- decoding constraint (structured output) ---------------------------------------------
 *
 * eco_json_constraint: an incremental pushdown recogniser over bytes that accepts exactly the
 * prefixes that can still complete to an instance of a schema, made into an
 * eco_decode_constraint (contracts.h) so that an engine samples only tokens that keep the
 * output valid. The output it allows is a subset of the valid instances, written in one
 * form: no white space except an optional single space after ':' and after ','; numbers of at
 * most 15 integer digits, 15 fraction digits and 2 exponent digits ("integer": no fraction,
 * no exponent); strings of valid UTF-8 with the escapes \" \\ \/ \b \f \n \r \t and
 * \uXXXX outside the surrogate range; enum and const values as their compact JSON text;
 * an object with properties or required lists only those keys, each at most once, and
 * closes only once the required ones are present; an object without them takes any keys
 * (written without escapes, each at most once, up to ECO_JSON_CONSTRAINT_MAX_FREE_KEYS
 * pending in the open objects) whose values follow additionalProperties (absent: any JSON).
 * Nesting: at most ECO_JSON_CONSTRAINT_MAX_DEPTH levels (a schema that needs more is refused
 * with ERANGE; values the schema leaves free nest no deeper).
 *
 * Enforced keywords: type, properties, required, additionalProperties, items, minItems,
 * maxItems, minLength, maxLength, enum, const (enum and const beside type only); boolean
 * schemas; $ref (not recursive), anyOf and oneOf whose branches never start with the same
 * byte (["string", "null"] as anyOf, a model or null) and allOf of one subschema, each
 * beside annotations only; annotations ($schema, $id, $defs, title, description, $comment,
 * default, examples, deprecated, readOnly, writeOnly) are ignored. Every other keyword the
 * validator knows (pattern, format, minimum, uniqueItems, ...) is refused with EUNSUPPORTED
 * ("<label>: #/properties/zip/pattern: keyword 'pattern' cannot be enforced while
 * decoding"), never ignored; so are a recursive $ref and branches that start alike. */
#define ECO_JSON_CONSTRAINT_MAX_DEPTH     32
#define ECO_JSON_CONSTRAINT_MAX_FREE_KEYS 32

typedef struct eco_json_constraint eco_json_constraint;

/* A constraint for instances of s (borrowed: s must outlive the constraint), or for any JSON
 * object when s is NULL (OpenAI's "json_object"). label names the schema in messages. On
 * EUNSUPPORTED or ERANGE, where (when not NULL) gets the JSON pointer of the refused
 * keyword ("/properties/zip/pattern"). Errors: EUNSUPPORTED (above), ERANGE (nesting; more
 * than 64 properties or enum values in one place), EFORMAT (no value satisfies the
 * schema), ENOMEM. Caller frees *out with eco_json_constraint_free. */
eco_status eco_json_constraint_create(const eco_json_schema *s, const char *label,
                                      eco_json_constraint **out, char *where, size_t where_size);
void eco_json_constraint_free(eco_json_constraint *c);
/* The constraint as the engine takes it (borrowed from c). */
eco_decode_constraint *eco_json_constraint_decoder(eco_json_constraint *c);
/* Back to the empty output. */
void eco_json_constraint_reset(eco_json_constraint *c);
/* Feeds bytes[0..n): true when they may come next (the state advances), false when not
 * (the state is left as it was). */
bool eco_json_constraint_feed(eco_json_constraint *c, const void *bytes, size_t n);
/* Whether the output so far is a whole instance. */
bool eco_json_constraint_complete(const eco_json_constraint *c);
/* allowed[b] for each byte b: whether it may come next. */
void eco_json_constraint_next_bytes(const eco_json_constraint *c, bool allowed[256]);

#ifdef __cplusplus
}
#endif
#endif
