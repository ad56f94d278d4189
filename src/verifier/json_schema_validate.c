/*
 * The validator of ecology/json_schema.h: applies a compiled schema (json_schema_internal.h)
 * to an instance. Keywords are applied in one fixed order ($ref, type, enum, const, the
 * number, string, array and object keywords, allOf, anyOf, oneOf, not, if) and the first
 * failure ends the validation, so the failure reported is deterministic. Inside anyOf,
 * oneOf, not, if and contains, failures of the branches are not reported (they are expected); the
 * combinator's own failure is.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verifier/json_schema_internal.h"

typedef struct seg { /* one step of the instance path: a member name or an array index */
    const char *key; /* NULL: an index */
    size_t klen, index;
} seg;

typedef struct vctx {
    const eco_json_schema *s;
    eco_json_schema_error *err; /* NULL: not wanted */
    bool recorded;
    bool oom;
    bool too_costly; /* more than ECO_JSON_SCHEMA_MAX_STEPS applications */
    uint64_t steps;
    pcre2_match_data *md; /* created at the first pattern match */
    int quiet;            /* > 0 inside anyOf, oneOf, not */
    int depth;
    int n_path;
    seg path[ECO_JSON_SCHEMA_MAX_DEPTH + 2];
} vctx;

/* A bounded text being written: 3 bytes and the NUL always stay free, so "..." can end a
 * text that did not fit. */
typedef struct sbuf {
    char *b;
    size_t cap, at;
    bool full;
} sbuf;

static void sb_put(sbuf *s, const char *p, size_t n) {
    if (s->full) return;
    if (s->at + n + 4 > s->cap) {
        size_t k = s->cap - 4 - s->at; /* < n here; the clamp lets gcc -O3 see it */
        if (k > n) k = n;
        memcpy(s->b + s->at, p, k);
        memcpy(s->b + s->at + k, "...", 4);
        s->at = s->cap - 1;
        s->full = true;
        return;
    }
    memcpy(s->b + s->at, p, n);
    s->at += n;
    s->b[s->at] = 0;
}

static void sb_str(sbuf *s, const char *p) { sb_put(s, p, strlen(p)); }

/* key escaped as json_schema.h says: ~0, ~1, \xNN outside printable ASCII. */
static void sb_token(sbuf *s, const char *key, size_t klen, bool pointer) {
    for (size_t i = 0; i < klen && !s->full; i++) {
        char e[5];
        sb_put(s, e, js_escape_byte((unsigned char)key[i], pointer, e));
    }
}

static sbuf sb_init(char *b, size_t cap) {
    b[0] = 0;
    return (sbuf){b, cap, 0, false};
}

static bool vfail(vctx *v, const js_node *n, const char *kw, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Records the failure of keyword kw (NULL: the node itself) of n, unless quiet or already
 * recorded. Returns false (the verdict). */
static bool vfail(vctx *v, const js_node *n, const char *kw, const char *fmt, ...) {
    if (v->quiet || v->recorded || !v->err) return false;
    v->recorded = true;
    eco_json_schema_error *e = v->err;
    sbuf in = sb_init(e->instance, sizeof e->instance);
    for (int i = 0; i < v->n_path; i++) {
        sb_str(&in, "/");
        if (v->path[i].key) {
            sb_token(&in, v->path[i].key, v->path[i].klen, true);
        } else {
            char num[32];
            sb_put(&in, num, (size_t)snprintf(num, sizeof num, "%zu", v->path[i].index));
        }
    }
    sbuf sc = sb_init(e->schema, sizeof e->schema);
    sb_str(&sc, n->ptr); /* already escaped */
    if (kw) {
        sb_str(&sc, "/");
        sb_str(&sc, kw);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
    return false;
}

static bool eval(vctx *v, const js_node *n, const json_t *x);

/* eval of n on a member (key) or an entry (index) of the current instance. */
static bool eval_member(vctx *v, const js_node *n, const json_t *x, const char *key, size_t klen,
                        size_t index) {
    seg *sg = &v->path[v->n_path++];
    sg->key = key;
    sg->klen = klen;
    sg->index = index;
    bool ok = eval(v, n, x);
    v->n_path--;
    return ok;
}

/* 1 match, 0 no match, -1 matching failed (limit, memory; v->oom set for memory). One
 * match-data block of one pair serves every match of a validation: only "matched or not"
 * is needed, and pcre2_match returns 0 (a match, the pairs not all stored) when it is too
 * small for the captures. */
static int re_match(vctx *v, const pcre2_code *re, const char *s, size_t len) {
    if (!v->md && !(v->md = pcre2_match_data_create(1, NULL))) {
        v->oom = true;
        return -1;
    }
    int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, v->md, v->s->mctx);
    if (rc >= 0) return 1;
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    if (rc == PCRE2_ERROR_NOMEMORY) v->oom = true;
    return -1;
}

/* s (from the instance) fit for a message, at most 64 bytes shown. */
static const char *shown(const char *s, size_t n, char buf[80]) {
    sbuf b = sb_init(buf, 80);
    sb_token(&b, s, n > 64 ? 64 : n, false);
    if (n > 64) sb_str(&b, "...");
    return buf;
}

static bool type_ok(unsigned types, const json_t *x) {
    switch (json_typeof(x)) {
        case JSON_NULL:
            return types & JS_T_NULL;
        case JSON_TRUE:
        case JSON_FALSE:
            return types & JS_T_BOOLEAN;
        case JSON_OBJECT:
            return types & JS_T_OBJECT;
        case JSON_ARRAY:
            return types & JS_T_ARRAY;
        case JSON_STRING:
            return types & JS_T_STRING;
        case JSON_INTEGER:
        case JSON_REAL:
            return (types & JS_T_NUMBER) || ((types & JS_T_INTEGER) && js_num_is_integral(x));
    }
    return false;
}

static void types_str(unsigned types, char *buf, size_t cap) {
    static const char *const names[] = {"null",   "boolean", "object", "array",
                                        "number", "integer", "string"};
    sbuf b = sb_init(buf, cap);
    for (unsigned i = 0; i < 7; i++) {
        if (!(types & (1u << i))) continue;
        if (b.at) sb_str(&b, " or ");
        sb_str(&b, names[i]);
    }
}

/* A JSON number as text: integers exactly, reals with the digits that read them back. */
static const char *num_str(const json_t *x, char buf[32]) {
    if (json_is_integer(x))
        snprintf(buf, 32, "%lld", (long long)json_integer_value(x));
    else
        snprintf(buf, 32, "%.17g", json_real_value(x));
    return buf;
}

/* x a multiple of m (> 0): integers exactly; otherwise x / m must be an integer within 1e-9
 * of its size (so 0.0075 is a multiple of 0.0001 despite binary fractions), or, when x / m
 * overflows, the exact remainder fmod(x, m) must be 0 (1e308 is a multiple of 0.5). */
static bool is_multiple(const json_t *x, const json_t *m) {
    if (json_is_integer(x) && json_is_integer(m))
        return json_integer_value(x) % json_integer_value(m) == 0;
    double q = json_number_value(x) / json_number_value(m);
    if (!isfinite(q)) return fmod(json_number_value(x), json_number_value(m)) == 0;
    double r = nearbyint(q);
    return fabs(q - r) <= 1e-9 * (fabs(q) > 1 ? fabs(q) : 1);
}

static bool eval_numbers(vctx *v, const js_node *n, const json_t *x) {
    static const char *const kw[] = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"};
    static const char *const why[] = {"less than the minimum", "greater than the maximum",
                                      "not greater than the exclusive minimum",
                                      "not less than the exclusive maximum"};
    const json_t *limit[] = {n->minimum, n->maximum, n->ex_minimum, n->ex_maximum};
    for (int i = 0; i < 4; i++) {
        if (!limit[i]) continue;
        int c = js_num_cmp(x, limit[i]);
        bool bad = i == 0 ? c < 0 : i == 1 ? c > 0 : i == 2 ? c <= 0 : c >= 0;
        if (bad) {
            char a[32], b[32];
            return vfail(v, n, kw[i], "%s is %s %s", num_str(x, a), why[i], num_str(limit[i], b));
        }
    }
    if (n->multiple_of && !is_multiple(x, n->multiple_of)) {
        char a[32], b[32];
        return vfail(v, n, "multipleOf", "%s is not a multiple of %s", num_str(x, a),
                     num_str(n->multiple_of, b));
    }
    return true;
}

static bool eval_string(vctx *v, const js_node *n, const json_t *x) {
    const char *s = json_string_value(x);
    size_t len = json_string_length(x);
    if (n->min_length >= 0 || n->max_length >= 0) {
        size_t cps = js_utf8_count(s, len);
        if (n->min_length >= 0 && cps < (uint64_t)n->min_length)
            return vfail(v, n, "minLength", "%zu characters, fewer than %lld", cps,
                         (long long)n->min_length);
        if (n->max_length >= 0 && cps > (uint64_t)n->max_length)
            return vfail(v, n, "maxLength", "%zu characters, more than %lld", cps,
                         (long long)n->max_length);
    }
    if (n->pattern) {
        int m = re_match(v, n->pattern, s, len);
        if (m < 0) return vfail(v, n, "pattern", "matching failed (match limit or not UTF-8)");
        if (m == 0) {
            char buf[80];
            return vfail(v, n, "pattern", "'%s' does not match the pattern", shown(s, len, buf));
        }
    }
    return true;
}

static bool eval_array(vctx *v, const js_node *n, const json_t *x) {
    size_t size = json_array_size(x);
    if (n->min_items >= 0 && size < (uint64_t)n->min_items)
        return vfail(v, n, "minItems", "%zu items, fewer than %lld", size, (long long)n->min_items);
    if (n->max_items >= 0 && size > (uint64_t)n->max_items)
        return vfail(v, n, "maxItems", "%zu items, more than %lld", size, (long long)n->max_items);
    size_t i = 0;
    for (; i < n->n_prefix && i < size; i++)
        if (!eval_member(v, n->prefix[i], json_array_get(x, i), NULL, 0, i)) return false;
    if (n->items) {
        for (i = n->n_prefix; i < size; i++) {
            if (n->items->is_bool && !n->items->bool_value)
                return vfail(v, n, "items", "%zu items, at most %zu allowed", size, n->n_prefix);
            if (!eval_member(v, n->items, json_array_get(x, i), NULL, 0, i)) return false;
        }
    }
    if (n->unique_items) {
        for (i = 1; i < size; i++)
            for (size_t j = 0; j < i; j++)
                if (js_equal(json_array_get(x, i), json_array_get(x, j)))
                    return vfail(v, n, "uniqueItems", "items %zu and %zu are equal", j, i);
    }
    if (n->contains) {
        size_t hits = 0;
        v->quiet++;
        for (i = 0; i < size && !v->oom && !v->too_costly; i++)
            hits += eval_member(v, n->contains, json_array_get(x, i), NULL, 0, i);
        v->quiet--;
        int64_t min = n->min_contains < 0 ? 1 : n->min_contains;
        if (hits < (uint64_t)min)
            return vfail(v, n, n->min_contains < 0 ? "contains" : "minContains",
                         "%zu items match contains, fewer than %lld", hits, (long long)min);
        if (n->max_contains >= 0 && hits > (uint64_t)n->max_contains)
            return vfail(v, n, "maxContains", "%zu items match contains, more than %lld", hits,
                         (long long)n->max_contains);
    }
    return true;
}

static bool eval_object(vctx *v, const js_node *n, const json_t *x) {
    char buf[80];
    size_t size = json_object_size(x);
    if (n->min_props >= 0 && size < (uint64_t)n->min_props)
        return vfail(v, n, "minProperties", "%zu properties, fewer than %lld", size,
                     (long long)n->min_props);
    if (n->max_props >= 0 && size > (uint64_t)n->max_props)
        return vfail(v, n, "maxProperties", "%zu properties, more than %lld", size,
                     (long long)n->max_props);
    for (size_t i = 0; i < n->n_required; i++)
        if (!json_object_getn(x, n->required[i], n->required_lens[i]))
            return vfail(v, n, "required", "required property '%s' is missing",
                         shown(n->required[i], n->required_lens[i], buf));
    for (size_t i = 0; i < n->n_props; i++) {
        const json_t *m = json_object_getn(x, n->prop_keys[i], n->prop_key_lens[i]);
        if (m && !eval_member(v, n->props[i], m, n->prop_keys[i], n->prop_key_lens[i], 0))
            return false;
    }
    const char *k;
    size_t klen;
    json_t *m;
    if (n->dependent_required) {
        json_t *names;
        json_object_keylen_foreach((json_t *)n->dependent_required, k, klen, names) {
            if (!json_object_getn(x, k, klen)) continue;
            for (size_t i = 0; i < json_array_size(names); i++) {
                const json_t *e = json_array_get(names, i);
                if (!json_object_getn(x, json_string_value(e), json_string_length(e))) {
                    char b2[80];
                    return vfail(v, n, "dependentRequired",
                                 "property '%s' is required when '%s' is present",
                                 shown(json_string_value(e), json_string_length(e), buf),
                                 shown(k, klen, b2));
                }
            }
        }
    }
    if (n->property_names) {
        json_object_keylen_foreach((json_t *)x, k, klen, m) {
            json_t *name = json_stringn_nocheck(k, klen);
            if (!name) {
                v->oom = true;
                return false;
            }
            bool ok = eval(v, n->property_names, name);
            json_decref(name);
            if (!ok) return false;
        }
    }
    if (!n->n_pprops && !n->additional) return true;
    json_object_keylen_foreach((json_t *)x, k, klen, m) {
        bool named = false;
        for (size_t i = 0; i < n->n_pprops; i++) {
            int r = re_match(v, n->pprop_res[i], k, klen);
            if (r < 0)
                return vfail(v, n, "patternProperties", "matching '%s' failed",
                             shown(k, klen, buf));
            if (r == 1) {
                named = true;
                if (!eval_member(v, n->pprops[i], m, k, klen, 0)) return false;
            }
        }
        if (!n->additional || named) continue;
        for (size_t i = 0; i < n->n_props && !named; i++)
            named = n->prop_key_lens[i] == klen && memcmp(n->prop_keys[i], k, klen) == 0;
        if (named) continue;
        if (n->additional->is_bool && !n->additional->bool_value)
            return vfail(v, n, "additionalProperties", "property '%s' is not allowed",
                         shown(k, klen, buf));
        if (!eval_member(v, n->additional, m, k, klen, 0)) return false;
    }
    return true;
}

static bool eval_combinators(vctx *v, const js_node *n, const json_t *x) {
    for (size_t i = 0; i < n->n_all; i++)
        if (!eval(v, n->all_of[i], x)) return false;
    if (n->n_any) {
        bool any = false;
        v->quiet++;
        for (size_t i = 0; i < n->n_any && !any && !v->oom && !v->too_costly; i++)
            any = eval(v, n->any_of[i], x);
        v->quiet--;
        if (!any) return vfail(v, n, "anyOf", "matches none of the %zu subschemas", n->n_any);
    }
    if (n->n_one) {
        size_t hits = 0, first = 0, second = 0;
        v->quiet++;
        for (size_t i = 0; i < n->n_one && hits < 2 && !v->oom && !v->too_costly; i++) {
            if (eval(v, n->one_of[i], x)) {
                if (hits++ == 0)
                    first = i;
                else
                    second = i;
            }
        }
        v->quiet--;
        if (hits == 0) return vfail(v, n, "oneOf", "matches none of the %zu subschemas", n->n_one);
        if (hits > 1)
            return vfail(v, n, "oneOf", "matches subschemas %zu and %zu, not exactly one", first,
                         second);
    }
    if (n->not_) {
        v->quiet++;
        bool ok = eval(v, n->not_, x);
        v->quiet--;
        if (ok) return vfail(v, n, "not", "matches the schema it must not match");
    }
    if (n->if_) {
        v->quiet++;
        bool cond = eval(v, n->if_, x);
        v->quiet--;
        if (cond && n->then_ && !eval(v, n->then_, x)) return false;
        if (!cond && n->else_ && !eval(v, n->else_, x)) return false;
    }
    return true;
}

static bool eval(vctx *v, const js_node *n, const json_t *x) {
    if (v->oom || v->too_costly) return false;
    if (++v->steps > ECO_JSON_SCHEMA_MAX_STEPS) {
        v->too_costly = true;
        return false;
    }
    if (n->is_bool) return n->bool_value || vfail(v, n, NULL, "the schema false allows nothing");
    if (v->depth >= ECO_JSON_SCHEMA_MAX_DEPTH || v->n_path > ECO_JSON_SCHEMA_MAX_DEPTH)
        return vfail(v, n, NULL, "nesting deeper than %d levels", ECO_JSON_SCHEMA_MAX_DEPTH);
    v->depth++;
    bool ok = true;
    if (n->ref) ok = eval(v, n->ref, x);
    if (ok && n->types && !type_ok(n->types, x)) {
        char want[96];
        types_str(n->types, want, sizeof want);
        ok = vfail(v, n, "type", "expected %s, got %s", want, js_type_name(x));
    }
    if (ok && n->enum_values) {
        bool found = false;
        for (size_t i = 0; i < json_array_size(n->enum_values) && !found; i++)
            found = js_equal(x, json_array_get(n->enum_values, i));
        if (!found)
            ok = vfail(v, n, "enum", "not one of the %zu allowed values",
                       json_array_size(n->enum_values));
    }
    if (ok && n->const_value && !js_equal(x, n->const_value))
        ok = vfail(v, n, "const", "not the constant value");
    if (ok && json_is_number(x))
        ok = eval_numbers(v, n, x);
    else if (ok && json_is_string(x))
        ok = eval_string(v, n, x);
    else if (ok && json_is_array(x))
        ok = eval_array(v, n, x);
    else if (ok && json_is_object(x))
        ok = eval_object(v, n, x);
    if (ok) ok = eval_combinators(v, n, x);
    v->depth--;
    return ok && !v->oom && !v->too_costly;
}

eco_status eco_json_schema_validate(const eco_json_schema *s, const json_t *instance, bool *valid,
                                    eco_json_schema_error *err) {
    if (!s || !instance || !valid)
        return eco_error(ECO_STATUS_EINVAL, "json_schema_validate: bad arguments");
    vctx *v = malloc(sizeof *v); /* path[] is written before it is read: no zeroing */
    if (!v) return eco_error(ECO_STATUS_ENOMEM, "json_schema_validate: out of memory");
    memset(v, 0, offsetof(vctx, path));
    v->s = s;
    v->err = err;
    if (err) memset(err, 0, sizeof *err);
    bool ok = eval(v, s->nodes[0], instance);
    bool oom = v->oom, costly = v->too_costly;
    pcre2_match_data_free(v->md);
    free(v);
    if (oom) return eco_error(ECO_STATUS_ENOMEM, "json_schema_validate: out of memory");
    if (costly)
        return eco_error(ECO_STATUS_ERANGE,
                         "json_schema_validate: more than %d subschema applications (the "
                         "schema's anyOf/oneOf/$ref make validation too costly)",
                         ECO_JSON_SCHEMA_MAX_STEPS);
    *valid = ok;
    return ECO_STATUS_OK;
}

eco_status eco_json_schema_validate_text(const eco_json_schema *s, const char *text, size_t len,
                                         bool *valid, eco_json_schema_error *err) {
    if (!s || (!text && len) || !valid)
        return eco_error(ECO_STATUS_EINVAL, "json_schema_validate: bad arguments");
    json_error_t jerr;
    json_t *x = js_parse(text, len, &jerr);
    if (!x) {
        *valid = false;
        if (err) {
            memset(err, 0, sizeof *err);
            snprintf(err->reason, sizeof err->reason, "not JSON: line %d column %d: %s", jerr.line,
                     jerr.column, jerr.text);
        }
        return ECO_STATUS_OK;
    }
    eco_status st = eco_json_schema_validate(s, x, valid, err);
    json_decref(x);
    return st;
}

const char *eco_json_schema_error_str(const eco_json_schema_error *err, char *buf, size_t size) {
    if (!buf || !size) return buf;
    if (!err) {
        buf[0] = 0;
        return buf;
    }
    snprintf(buf, size, "at #%s: #%s: %s", err->instance, err->schema, err->reason);
    return buf;
}
