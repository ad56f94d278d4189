/*
 * The compiler of ecology/json_schema.h: a schema document into js_node trees
 * (json_schema_internal.h). Three passes: the walk from the root (every subschema at a
 * schema location, $defs included, so an unsupported keyword anywhere is refused), the
 * resolution of every $ref (compiling a target that no walk reached, e.g. "#/items/0",
 * on demand), and the search for $ref cycles that consume no instance.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "verifier/json_schema_internal.h"

#define SCHEMA_2020_12 "https://json-schema.org/draft/2020-12/schema"
#define SCHEMA_DRAFT_7 "http://json-schema.org/draft-07/schema"

typedef struct node_map { /* json_t * (an object of the document) -> its compiled node */
    const json_t **keys;
    js_node **vals;
    size_t cap, n;
} node_map;

typedef struct cctx {
    eco_json_schema *s;
    const char *label;
    const char *root_id; /* the root's $id (borrowed), NULL when none */
    bool draft7;         /* the root's $schema names draft-07 */
    size_t root_id_len;
    node_map map;
} cctx;

/* ---- pointers and messages --------------------------------------------------------- */

/* parent + "/" + key escaped (~0, ~1; bytes outside printable ASCII as \xNN). malloc'd;
 * NULL when out of memory. */
static char *ptr_join(const char *parent, const char *key, size_t klen) {
    eco_buf b = {0};
    bool ok = eco_buf_puts(&b, parent) && eco_buf_push(&b, '/');
    for (size_t i = 0; ok && i < klen; i++) {
        char e[5];
        ok = eco_buf_append(&b, e, js_escape_byte((unsigned char)key[i], true, e));
    }
    if (!ok || !b.data) {
        eco_buf_free(&b);
        return NULL;
    }
    return b.data;
}

static char *ptr_index(const char *parent, size_t i) {
    char num[32];
    int n = snprintf(num, sizeof num, "%zu", i);
    return ptr_join(parent, num, (size_t)n);
}

static eco_status cfail(const cctx *c, const char *ptr, eco_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static eco_status cfail(const cctx *c, const char *ptr, eco_status code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t plen = strlen(ptr);
    return eco_error(code, "%s: #%.200s%s: %s", c->label, ptr, plen > 200 ? "..." : "", msg);
}

static eco_status oom(void) { return eco_error(ECO_STATUS_ENOMEM, "json_schema: out of memory"); }

/* ---- the node map ------------------------------------------------------------------ */

static size_t map_slot(const node_map *m, const json_t *k) {
    size_t h = ((uintptr_t)k >> 4) * 0x9E3779B97F4A7C15ull;
    size_t i = h & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != k) i = (i + 1) & (m->cap - 1);
    return i;
}

static js_node *map_get(const node_map *m, const json_t *k) {
    if (!m->cap) return NULL;
    size_t i = map_slot(m, k);
    return m->keys[i] ? m->vals[i] : NULL;
}

static bool map_put(node_map *m, const json_t *k, js_node *v) {
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        node_map g = {calloc(cap, sizeof *g.keys), calloc(cap, sizeof *g.vals), cap, 0};
        if (!g.keys || !g.vals) {
            free(g.keys);
            free(g.vals);
            return false;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i]) continue;
            size_t j = map_slot(&g, m->keys[i]);
            g.keys[j] = m->keys[i];
            g.vals[j] = m->vals[i];
        }
        g.n = m->n;
        free(m->keys);
        free(m->vals);
        *m = g;
    }
    size_t i = map_slot(m, k);
    m->keys[i] = k;
    m->vals[i] = v;
    m->n++;
    return true;
}

/* ---- nodes ------------------------------------------------------------------------- */

static void node_free(js_node *n) {
    if (!n) return;
    free(n->ptr);
    free(n->prop_keys);
    free(n->prop_key_lens);
    free(n->props);
    for (size_t i = 0; i < n->n_pprops; i++) pcre2_code_free(n->pprop_res[i]);
    free(n->pprop_res);
    free(n->pprops);
    free(n->required);
    free(n->required_lens);
    free(n->prefix);
    pcre2_code_free(n->pattern);
    free(n->all_of);
    free(n->any_of);
    free(n->one_of);
    free(n);
}

/* A new node owning ptr (freed here on failure), added to the schema's list. */
static eco_status node_new(cctx *c, char *ptr, js_node **out) {
    eco_json_schema *s = c->s;
    if (!ptr) return oom();
    if (s->n_nodes >= ECO_JSON_SCHEMA_MAX_NODES) {
        eco_status st =
            cfail(c, ptr, ECO_STATUS_ERANGE, "more than %d subschemas", ECO_JSON_SCHEMA_MAX_NODES);
        free(ptr);
        return st;
    }
    if (s->n_nodes == s->cap_nodes) {
        size_t cap = s->cap_nodes ? s->cap_nodes * 2 : 16;
        js_node **nodes = realloc(s->nodes, cap * sizeof *nodes);
        if (!nodes) {
            free(ptr);
            return oom();
        }
        s->nodes = nodes;
        s->cap_nodes = cap;
    }
    js_node *n = calloc(1, sizeof *n);
    if (!n) {
        free(ptr);
        return oom();
    }
    n->ptr = ptr;
    n->min_items = n->max_items = n->min_length = n->max_length = -1;
    n->min_contains = n->max_contains = n->min_props = n->max_props = -1;
    s->nodes[s->n_nodes++] = n;
    *out = n;
    return ECO_STATUS_OK;
}

static eco_status compile_node(cctx *c, const json_t *v, char *ptr, int depth, js_node **out);

/* The subschema v at parent/key (or parent/index when key is NULL). */
static eco_status compile_child(cctx *c, const json_t *v, const char *parent, const char *key,
                                size_t klen, size_t index, int depth, js_node **out) {
    char *ptr = key ? ptr_join(parent, key, klen) : ptr_index(parent, index);
    return compile_node(c, v, ptr, depth + 1, out);
}

/* ---- keyword readers --------------------------------------------------------------- */

static const char *const TYPE_NAMES[] = {"null",   "boolean", "object", "array",
                                         "number", "integer", "string"};

static eco_status read_type_name(cctx *c, const char *ptr, const json_t *v, unsigned *bit) {
    if (!json_is_string(v))
        return cfail(c, ptr, ECO_STATUS_EFORMAT, "expected a type name (a string), got %s",
                     js_type_name(v));
    for (unsigned i = 0; i < sizeof TYPE_NAMES / sizeof *TYPE_NAMES; i++) {
        if (json_string_length(v) == strlen(TYPE_NAMES[i]) &&
            strcmp(json_string_value(v), TYPE_NAMES[i]) == 0) {
            *bit = 1u << i;
            return ECO_STATUS_OK;
        }
    }
    char shown[ECO_JSON_SHOWN_SIZE];
    return cfail(c, ptr, ECO_STATUS_EFORMAT,
                 "unknown type '%s' (null, boolean, object, array, number, integer, string)",
                 eco_json_shown(json_string_value(v), json_string_length(v), shown));
}

static eco_status kw_type(cctx *c, js_node *n, const char *kp, const json_t *v) {
    unsigned bit;
    if (json_is_string(v)) {
        eco_status st = read_type_name(c, kp, v, &bit);
        if (st == ECO_STATUS_OK) n->types = bit;
        return st;
    }
    if (!json_is_array(v) || json_array_size(v) == 0)
        return cfail(c, kp, ECO_STATUS_EFORMAT,
                     "expected a type name or a non-empty array of them, got %s",
                     json_is_array(v) ? "an empty array" : js_type_name(v));
    for (size_t i = 0; i < json_array_size(v); i++) {
        eco_status st = read_type_name(c, kp, json_array_get(v, i), &bit);
        if (st != ECO_STATUS_OK) return st;
        if (n->types & bit)
            return cfail(c, kp, ECO_STATUS_EFORMAT, "type '%s' listed twice",
                         json_string_value(json_array_get(v, i)));
        n->types |= bit;
    }
    return ECO_STATUS_OK;
}

/* A non-negative integer (an integral real such as 2.0 too); values past int64 clamp. */
static eco_status read_count(cctx *c, const char *kp, const json_t *v, int64_t *out) {
    if (!json_is_number(v) || !js_num_is_integral(v) ||
        (json_is_integer(v) ? json_integer_value(v) < 0 : json_real_value(v) < 0))
        return cfail(c, kp, ECO_STATUS_EFORMAT, "expected a non-negative integer, got %s",
                     json_is_number(v) ? "a negative or fractional number" : js_type_name(v));
    if (json_is_integer(v))
        *out = (int64_t)json_integer_value(v);
    else
        *out = json_real_value(v) >= 9.2e18 ? INT64_MAX : (int64_t)json_real_value(v);
    return ECO_STATUS_OK;
}

static eco_status compile_regex(cctx *c, const char *kp, const char *re, size_t len,
                                pcre2_code **out) {
    char why[160];
    size_t off = 0;
    int r = js_regex_compile(re, len, out, why, sizeof why, &off);
    if (r == 0) return ECO_STATUS_OK;
    if (r < 0) return oom();
    return cfail(c, kp, ECO_STATUS_EFORMAT, "bad regular expression at offset %zu: %s", off, why);
}

/* An array of subschemas (non-empty) into *arr, *n. */
static eco_status kw_schema_array(cctx *c, const char *kp, const json_t *v, int depth,
                                  js_node ***arr, size_t *n) {
    if (!json_is_array(v) || json_array_size(v) == 0)
        return cfail(c, kp, ECO_STATUS_EFORMAT, "expected a non-empty array of schemas, got %s",
                     json_is_array(v) ? "an empty array" : js_type_name(v));
    size_t count = json_array_size(v);
    *arr = calloc(count, sizeof **arr);
    if (!*arr) return oom();
    *n = count;
    for (size_t i = 0; i < count; i++) {
        eco_status st = compile_child(c, json_array_get(v, i), kp, NULL, 0, i, depth, &(*arr)[i]);
        if (st != ECO_STATUS_OK) return st;
    }
    return ECO_STATUS_OK;
}

static eco_status kw_properties(cctx *c, js_node *n, const char *kp, const json_t *v, int depth) {
    if (!json_is_object(v))
        return cfail(c, kp, ECO_STATUS_EFORMAT, "expected an object of schemas, got %s",
                     js_type_name(v));
    size_t count = json_object_size(v);
    n->prop_keys = calloc(count ? count : 1, sizeof *n->prop_keys);
    n->prop_key_lens = calloc(count ? count : 1, sizeof *n->prop_key_lens);
    n->props = calloc(count ? count : 1, sizeof *n->props);
    if (!n->prop_keys || !n->prop_key_lens || !n->props) return oom();
    const char *k;
    size_t klen;
    json_t *sub;
    json_object_keylen_foreach((json_t *)v, k, klen, sub) {
        size_t i = n->n_props;
        eco_status st = compile_child(c, sub, kp, k, klen, 0, depth, &n->props[i]);
        if (st != ECO_STATUS_OK) return st;
        n->prop_keys[i] = k;
        n->prop_key_lens[i] = klen;
        n->n_props++;
    }
    return ECO_STATUS_OK;
}

static eco_status kw_pattern_properties(cctx *c, js_node *n, const char *kp, const json_t *v,
                                        int depth) {
    if (!json_is_object(v))
        return cfail(c, kp, ECO_STATUS_EFORMAT, "expected an object of schemas, got %s",
                     js_type_name(v));
    size_t count = json_object_size(v);
    n->pprop_res = calloc(count ? count : 1, sizeof *n->pprop_res);
    n->pprops = calloc(count ? count : 1, sizeof *n->pprops);
    if (!n->pprop_res || !n->pprops) return oom();
    const char *k;
    size_t klen;
    json_t *sub;
    json_object_keylen_foreach((json_t *)v, k, klen, sub) {
        size_t i = n->n_pprops;
        char *sp = ptr_join(kp, k, klen);
        if (!sp) return oom();
        eco_status st = compile_regex(c, sp, k, klen, &n->pprop_res[i]);
        free(sp);
        if (st != ECO_STATUS_OK) return st;
        n->n_pprops++;
        st = compile_child(c, sub, kp, k, klen, 0, depth, &n->pprops[i]);
        if (st != ECO_STATUS_OK) return st;
    }
    return ECO_STATUS_OK;
}

static eco_status kw_required(cctx *c, js_node *n, const char *kp, const json_t *v) {
    if (!json_is_array(v))
        return cfail(c, kp, ECO_STATUS_EFORMAT, "expected an array of strings, got %s",
                     js_type_name(v));
    size_t count = json_array_size(v);
    n->required = calloc(count ? count : 1, sizeof *n->required);
    n->required_lens = calloc(count ? count : 1, sizeof *n->required_lens);
    if (!n->required || !n->required_lens) return oom();
    for (size_t i = 0; i < count; i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_string(e))
            return cfail(c, kp, ECO_STATUS_EFORMAT, "entry %zu: expected a string, got %s", i,
                         js_type_name(e));
        for (size_t j = 0; j < i; j++)
            if (js_equal(e, json_array_get(v, j)))
                return cfail(c, kp, ECO_STATUS_EFORMAT, "entry %zu repeats entry %zu", i, j);
        n->required[i] = json_string_value(e);
        n->required_lens[i] = json_string_length(e);
    }
    n->n_required = count;
    return ECO_STATUS_OK;
}

/* {"name": ["other", ...], ...}: arrays of distinct strings. */
static eco_status kw_dependent_required(cctx *c, js_node *n, const char *kp, const json_t *v) {
    if (!json_is_object(v))
        return cfail(c, kp, ECO_STATUS_EFORMAT, "expected an object of arrays of names, got %s",
                     js_type_name(v));
    const char *k;
    size_t klen;
    json_t *arr;
    json_object_keylen_foreach((json_t *)v, k, klen, arr) {
        char *ap = ptr_join(kp, k, klen);
        if (!ap) return oom();
        eco_status st = ECO_STATUS_OK;
        if (!json_is_array(arr))
            st = cfail(c, ap, ECO_STATUS_EFORMAT, "expected an array of names, got %s",
                       js_type_name(arr));
        for (size_t i = 0; st == ECO_STATUS_OK && i < json_array_size(arr); i++) {
            const json_t *e = json_array_get(arr, i);
            if (!json_is_string(e))
                st = cfail(c, ap, ECO_STATUS_EFORMAT, "entry %zu: expected a string, got %s", i,
                           js_type_name(e));
            for (size_t j = 0; st == ECO_STATUS_OK && j < i; j++)
                if (js_equal(e, json_array_get(arr, j)))
                    st = cfail(c, ap, ECO_STATUS_EFORMAT, "entry %zu repeats entry %zu", i, j);
        }
        free(ap);
        if (st != ECO_STATUS_OK) return st;
    }
    n->dependent_required = v;
    return ECO_STATUS_OK;
}

static eco_status expect_string(cctx *c, const char *kp, const json_t *v) {
    if (json_is_string(v)) return ECO_STATUS_OK;
    return cfail(c, kp, ECO_STATUS_EFORMAT, "expected a string, got %s", js_type_name(v));
}

static bool key_is(const char *k, size_t klen, const char *name) {
    return klen == strlen(name) && memcmp(k, name, klen) == 0;
}

/* One keyword k (at kp) of node n, whose object sits at depth. */
static eco_status compile_keyword(cctx *c, js_node *n, const char *k, size_t klen, const char *kp,
                                  const json_t *v, int depth) {
    bool root = depth == 0 && n->ptr[0] == 0;
    if (key_is(k, klen, "type")) return kw_type(c, n, kp, v);
    if (key_is(k, klen, "properties")) return kw_properties(c, n, kp, v, depth);
    if (key_is(k, klen, "patternProperties")) return kw_pattern_properties(c, n, kp, v, depth);
    if (key_is(k, klen, "additionalProperties"))
        return compile_node(c, v, strdup(kp), depth + 1, &n->additional);
    if (key_is(k, klen, "required")) return kw_required(c, n, kp, v);
    if (key_is(k, klen, "items")) return compile_node(c, v, strdup(kp), depth + 1, &n->items);
    if (key_is(k, klen, "prefixItems"))
        return kw_schema_array(c, kp, v, depth, &n->prefix, &n->n_prefix);
    if (key_is(k, klen, "minItems")) return read_count(c, kp, v, &n->min_items);
    if (key_is(k, klen, "maxItems")) return read_count(c, kp, v, &n->max_items);
    if (key_is(k, klen, "minLength")) return read_count(c, kp, v, &n->min_length);
    if (key_is(k, klen, "maxLength")) return read_count(c, kp, v, &n->max_length);
    if (key_is(k, klen, "enum")) {
        if (!json_is_array(v))
            return cfail(c, kp, ECO_STATUS_EFORMAT, "expected an array, got %s", js_type_name(v));
        n->enum_values = v;
        return ECO_STATUS_OK;
    }
    if (key_is(k, klen, "const")) {
        n->const_value = v;
        return ECO_STATUS_OK;
    }
    const json_t **num = key_is(k, klen, "minimum")            ? &n->minimum
                         : key_is(k, klen, "maximum")          ? &n->maximum
                         : key_is(k, klen, "exclusiveMinimum") ? &n->ex_minimum
                         : key_is(k, klen, "exclusiveMaximum") ? &n->ex_maximum
                                                               : NULL;
    if (num) {
        if (!json_is_number(v))
            return cfail(c, kp, ECO_STATUS_EFORMAT, "expected a number, got %s", js_type_name(v));
        *num = v;
        return ECO_STATUS_OK;
    }
    if (key_is(k, klen, "pattern")) {
        eco_status st = expect_string(c, kp, v);
        if (st != ECO_STATUS_OK) return st;
        return compile_regex(c, kp, json_string_value(v), json_string_length(v), &n->pattern);
    }
    if (key_is(k, klen, "allOf")) return kw_schema_array(c, kp, v, depth, &n->all_of, &n->n_all);
    if (key_is(k, klen, "anyOf")) return kw_schema_array(c, kp, v, depth, &n->any_of, &n->n_any);
    if (key_is(k, klen, "oneOf")) return kw_schema_array(c, kp, v, depth, &n->one_of, &n->n_one);
    if (key_is(k, klen, "not")) return compile_node(c, v, strdup(kp), depth + 1, &n->not_);
    if (key_is(k, klen, "if")) return compile_node(c, v, strdup(kp), depth + 1, &n->if_);
    if (key_is(k, klen, "then")) return compile_node(c, v, strdup(kp), depth + 1, &n->then_);
    if (key_is(k, klen, "else")) return compile_node(c, v, strdup(kp), depth + 1, &n->else_);
    if (key_is(k, klen, "contains")) return compile_node(c, v, strdup(kp), depth + 1, &n->contains);
    if (key_is(k, klen, "propertyNames"))
        return compile_node(c, v, strdup(kp), depth + 1, &n->property_names);
    if (key_is(k, klen, "minContains")) return read_count(c, kp, v, &n->min_contains);
    if (key_is(k, klen, "maxContains")) return read_count(c, kp, v, &n->max_contains);
    if (key_is(k, klen, "minProperties")) return read_count(c, kp, v, &n->min_props);
    if (key_is(k, klen, "maxProperties")) return read_count(c, kp, v, &n->max_props);
    if (key_is(k, klen, "uniqueItems")) {
        if (!json_is_boolean(v))
            return cfail(c, kp, ECO_STATUS_EFORMAT, "expected true or false, got %s",
                         js_type_name(v));
        n->unique_items = json_is_true(v);
        return ECO_STATUS_OK;
    }
    if (key_is(k, klen, "multipleOf")) {
        if (!json_is_number(v) || json_number_value(v) <= 0)
            return cfail(c, kp, ECO_STATUS_EFORMAT, "expected a number greater than 0, got %s",
                         json_is_number(v) ? "one that is not" : js_type_name(v));
        n->multiple_of = v;
        return ECO_STATUS_OK;
    }
    if (key_is(k, klen, "dependentRequired")) return kw_dependent_required(c, n, kp, v);
    if (key_is(k, klen, "$ref")) {
        eco_status st = expect_string(c, kp, v);
        if (st != ECO_STATUS_OK) return st;
        if (strlen(json_string_value(v)) != json_string_length(v))
            return cfail(c, kp, ECO_STATUS_EFORMAT, "holds a NUL byte");
        n->ref_text = json_string_value(v);
        return ECO_STATUS_OK;
    }
    if (key_is(k, klen, "$defs")) {
        if (!json_is_object(v))
            return cfail(c, kp, ECO_STATUS_EFORMAT, "expected an object of schemas, got %s",
                         js_type_name(v));
        const char *dk;
        size_t dklen;
        json_t *sub;
        json_object_keylen_foreach((json_t *)v, dk, dklen, sub) {
            js_node *unused;
            eco_status st = compile_child(c, sub, kp, dk, dklen, 0, depth, &unused);
            if (st != ECO_STATUS_OK) return st;
        }
        return ECO_STATUS_OK;
    }
    /* Annotations. */
    if (key_is(k, klen, "$schema")) {
        if (!root)
            return cfail(c, kp, ECO_STATUS_EUNSUPPORTED,
                         "unsupported keyword '$schema' below the root");
        eco_status st = expect_string(c, kp, v);
        if (st != ECO_STATUS_OK) return st;
        const char *u = json_string_value(v);
        if (strcmp(u, SCHEMA_2020_12) != 0 && strcmp(u, SCHEMA_2020_12 "#") != 0 &&
            strcmp(u, SCHEMA_DRAFT_7) != 0 && strcmp(u, SCHEMA_DRAFT_7 "#") != 0) {
            char shown[ECO_JSON_SHOWN_SIZE];
            return cfail(c, kp, ECO_STATUS_EUNSUPPORTED,
                         "unsupported dialect '%s' (" SCHEMA_2020_12 " or " SCHEMA_DRAFT_7
                         "# only)",
                         eco_json_shown(u, json_string_length(v), shown));
        }
        return ECO_STATUS_OK;
    }
    if (key_is(k, klen, "$id")) {
        if (!root)
            return cfail(c, kp, ECO_STATUS_EUNSUPPORTED,
                         "unsupported keyword '$id' below the root (embedded schema resources)");
        return expect_string(c, kp, v); /* read before the walk (root_id) */
    }
    if (key_is(k, klen, "title") || key_is(k, klen, "description") || key_is(k, klen, "$comment") ||
        key_is(k, klen, "format"))
        return expect_string(c, kp, v);
    if (key_is(k, klen, "examples")) {
        if (json_is_array(v)) return ECO_STATUS_OK;
        return cfail(c, kp, ECO_STATUS_EFORMAT, "expected an array, got %s", js_type_name(v));
    }
    if (key_is(k, klen, "deprecated") || key_is(k, klen, "readOnly") ||
        key_is(k, klen, "writeOnly")) {
        if (json_is_boolean(v)) return ECO_STATUS_OK;
        return cfail(c, kp, ECO_STATUS_EFORMAT, "expected true or false, got %s", js_type_name(v));
    }
    if (key_is(k, klen, "default")) return ECO_STATUS_OK;
    char shown[ECO_JSON_SHOWN_SIZE];
    return cfail(c, kp, ECO_STATUS_EUNSUPPORTED, "unsupported keyword '%s'",
                 eco_json_shown(k, klen, shown));
}

/* Draft-07 ignores every keyword beside $ref, 2020-12 applies them: a draft-07 schema with
 * a validation keyword beside $ref is refused rather than read either way. */
static eco_status draft7_ref_alone(cctx *c, const js_node *n) {
    static const char *const harmless[] = {"$ref",    "$comment", "title",    "description",
                                           "default", "examples", "$schema",  "$id",
                                           "$defs",   "format",   "readOnly", "writeOnly"};
    const char *k;
    size_t klen;
    json_t *kv;
    json_object_keylen_foreach((json_t *)n->json, k, klen, kv) {
        bool ok = false;
        for (size_t i = 0; i < sizeof harmless / sizeof *harmless && !ok; i++)
            ok = key_is(k, klen, harmless[i]);
        if (ok) continue;
        char *kp = ptr_join(n->ptr, k, klen);
        if (!kp) return oom();
        char shown[ECO_JSON_SHOWN_SIZE];
        eco_status st = cfail(c, kp, ECO_STATUS_EUNSUPPORTED,
                              "'%s' beside $ref in a draft-07 schema (draft-07 ignores it, "
                              "2020-12 applies it; declare " SCHEMA_2020_12 ")",
                              eco_json_shown(k, klen, shown));
        free(kp);
        return st;
    }
    return ECO_STATUS_OK;
}

/* Compiles v (a schema at ptr, which it takes) into *out. An object already compiled (a
 * $ref target reached again) gives its node. */
static eco_status compile_node(cctx *c, const json_t *v, char *ptr, int depth, js_node **out) {
    if (!ptr) return oom();
    if (depth > ECO_JSON_SCHEMA_MAX_DEPTH) {
        eco_status st = cfail(c, ptr, ECO_STATUS_ERANGE, "schema nested deeper than %d levels",
                              ECO_JSON_SCHEMA_MAX_DEPTH);
        free(ptr);
        return st;
    }
    if (json_is_object(v)) {
        js_node *seen = map_get(&c->map, v);
        if (seen) {
            free(ptr);
            *out = seen;
            return ECO_STATUS_OK;
        }
    } else if (!json_is_boolean(v)) {
        eco_status st =
            cfail(c, ptr, ECO_STATUS_EFORMAT,
                  "expected a schema (an object, true or false), got %s", js_type_name(v));
        free(ptr);
        return st;
    }
    js_node *n = NULL;
    eco_status st = node_new(c, ptr, &n);
    if (st != ECO_STATUS_OK) return st;
    *out = n;
    if (json_is_boolean(v)) {
        n->is_bool = true;
        n->bool_value = json_is_true(v);
        return ECO_STATUS_OK;
    }
    n->json = v;
    if (!map_put(&c->map, v, n)) return oom();
    const char *k;
    size_t klen;
    json_t *kv;
    json_object_keylen_foreach((json_t *)v, k, klen, kv) {
        char *kp = ptr_join(n->ptr, k, klen);
        if (!kp) return oom();
        st = compile_keyword(c, n, k, klen, kp, kv, depth);
        free(kp);
        if (st != ECO_STATUS_OK) return st;
    }
    return c->draft7 && n->ref_text ? draft7_ref_alone(c, n) : ECO_STATUS_OK;
}

/* ---- $ref resolution --------------------------------------------------------------- */

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Resolves n's $ref (at n->ptr/$ref) to its node. */
static eco_status resolve_ref(cctx *c, js_node *n) {
    char *kp = ptr_join(n->ptr, "$ref", 4);
    if (!kp) return oom();
    const char *ref = n->ref_text;
    size_t rlen = strlen(ref);
    char shown[ECO_JSON_SHOWN_SIZE];
    eco_json_shown(ref, rlen, shown);
    if (c->root_id && c->root_id_len > 0 && rlen >= c->root_id_len &&
        memcmp(ref, c->root_id, c->root_id_len) == 0 &&
        (ref[c->root_id_len] == '#' || ref[c->root_id_len] == 0)) {
        ref += c->root_id_len;
        rlen -= c->root_id_len;
    }
    eco_status st = ECO_STATUS_OK;
    char *frag = NULL, *tok = NULL, *tptr = NULL;
    if (rlen > 0 && ref[0] != '#') {
        st = cfail(c, kp, ECO_STATUS_EUNSUPPORTED,
                   "$ref '%s': only local references (\"#...\") are supported", shown);
        goto done;
    }
    /* Percent-decode the fragment. */
    frag = malloc(rlen + 1);
    tok = malloc(rlen + 1);
    tptr = strdup("");
    if (!frag || !tok || !tptr) {
        st = oom();
        goto done;
    }
    size_t flen = 0;
    for (size_t i = rlen ? 1 : 0; i < rlen; i++) {
        if (ref[i] != '%') {
            frag[flen++] = ref[i];
            continue;
        }
        int hi = i + 2 < rlen ? hexval(ref[i + 1]) : -1, lo = hi >= 0 ? hexval(ref[i + 2]) : -1;
        if (lo < 0) {
            st = cfail(c, kp, ECO_STATUS_EFORMAT, "$ref '%s': bad percent-encoding", shown);
            goto done;
        }
        frag[flen++] = (char)(hi * 16 + lo);
        i += 2;
    }
    frag[flen] = 0;
    if (flen > 0 && frag[0] != '/') {
        st = cfail(c, kp, ECO_STATUS_EUNSUPPORTED,
                   "$ref '%s': anchors ($anchor) are not supported, only JSON pointers", shown);
        goto done;
    }
    /* Walk the JSON pointer through the document. */
    const json_t *t = c->s->doc;
    size_t i = 0;
    while (i < flen) {
        i++; /* the '/' */
        size_t tl = 0;
        for (; i < flen && frag[i] != '/'; i++) {
            if (frag[i] == '~') {
                if (i + 1 >= flen || (frag[i + 1] != '0' && frag[i + 1] != '1')) {
                    st = cfail(c, kp, ECO_STATUS_EFORMAT,
                               "$ref '%s': '~' not followed by 0 or 1 in the JSON pointer", shown);
                    goto done;
                }
                tok[tl++] = frag[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                tok[tl++] = frag[i];
            }
        }
        const json_t *next = NULL;
        if (json_is_object(t)) {
            next = json_object_getn(t, tok, tl);
        } else if (json_is_array(t) && tl > 0 && tl <= 18 && (tok[0] != '0' || tl == 1)) {
            size_t idx = 0;
            bool digits = true;
            for (size_t j = 0; j < tl; j++) {
                if (tok[j] < '0' || tok[j] > '9')
                    digits = false;
                else
                    idx = idx * 10 + (size_t)(tok[j] - '0');
            }
            if (digits) next = json_array_get(t, idx);
        }
        if (!next) {
            st = cfail(c, kp, ECO_STATUS_EFORMAT, "$ref '%s': no such location in the schema",
                       shown);
            goto done;
        }
        char *p2 = ptr_join(tptr, tok, tl);
        if (!p2) {
            st = oom();
            goto done;
        }
        free(tptr);
        tptr = p2;
        t = next;
    }
    if (!json_is_object(t) && !json_is_boolean(t)) {
        st = cfail(c, kp, ECO_STATUS_EFORMAT, "$ref '%s': the target is not a schema (%s)", shown,
                   js_type_name(t));
        goto done;
    }
    st = compile_node(c, t, tptr, 0, &n->ref);
    tptr = NULL; /* taken */
done:
    free(kp);
    free(frag);
    free(tok);
    free(tptr);
    return st;
}

/* ---- cycles ------------------------------------------------------------------------ */

/* The k-th in-place child of n (applied to the same instance: $ref, allOf, anyOf, oneOf,
 * not, if, then, else), NULL past the last. */
static js_node *inplace_child(const js_node *n, size_t k) {
    if (n->ref) {
        if (k == 0) return n->ref;
        k--;
    }
    if (k < n->n_all) return n->all_of[k];
    k -= n->n_all;
    if (k < n->n_any) return n->any_of[k];
    k -= n->n_any;
    if (k < n->n_one) return n->one_of[k];
    k -= n->n_one;
    js_node *rest[] = {n->not_, n->if_, n->then_, n->else_};
    for (size_t i = 0; i < 4; i++) {
        if (!rest[i]) continue;
        if (k == 0) return rest[i];
        k--;
    }
    return NULL;
}

/* Refuses a cycle of in-place applications (iterative depth-first search). */
static eco_status find_cycles(cctx *c) {
    eco_json_schema *s = c->s;
    js_node **stack = malloc(s->n_nodes * sizeof *stack);
    size_t *next = malloc(s->n_nodes * sizeof *next);
    if (!stack || !next) {
        free(stack);
        free(next);
        return oom();
    }
    eco_status st = ECO_STATUS_OK;
    for (size_t r = 0; r < s->n_nodes && st == ECO_STATUS_OK; r++) {
        if (s->nodes[r]->mark) continue;
        size_t top = 0;
        stack[top] = s->nodes[r];
        next[top++] = 0;
        s->nodes[r]->mark = 1;
        while (top > 0) {
            js_node *n = stack[top - 1];
            js_node *ch = inplace_child(n, next[top - 1]++);
            if (!ch) {
                n->mark = 2;
                top--;
            } else if (ch->mark == 1) {
                st = cfail(c, n->ptr, ECO_STATUS_EFORMAT,
                           "$ref cycle: #%.200s is applied to the same instance again without "
                           "descending into it",
                           ch->ptr);
                break;
            } else if (ch->mark == 0) {
                ch->mark = 1;
                stack[top] = ch;
                next[top++] = 0;
            }
        }
    }
    free(stack);
    free(next);
    return st;
}

/* ---- the public face --------------------------------------------------------------- */

void eco_json_schema_free(eco_json_schema *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_nodes; i++) node_free(s->nodes[i]);
    free(s->nodes);
    pcre2_match_context_free(s->mctx);
    json_decref(s->doc);
    free(s);
}

/* Takes doc (one reference). */
static eco_status compile_doc(json_t *doc, const char *label, eco_json_schema **out) {
    eco_json_schema *s = calloc(1, sizeof *s);
    if (!s) {
        json_decref(doc);
        return oom();
    }
    s->doc = doc;
    s->mctx = pcre2_match_context_create(NULL);
    if (!s->mctx) {
        eco_json_schema_free(s);
        return oom();
    }
    pcre2_set_match_limit(s->mctx, 1000000);
    pcre2_set_heap_limit(s->mctx, 64 * 1024); /* KiB */
    cctx c = {.s = s, .label = label ? label : "schema"};
    const json_t *id = json_is_object(doc) ? json_object_get(doc, "$id") : NULL;
    if (json_is_string(id)) {
        c.root_id = json_string_value(id);
        c.root_id_len = strcspn(c.root_id, "#"); /* a root $id's empty fragment is no part */
    }
    const json_t *dialect = json_is_object(doc) ? json_object_get(doc, "$schema") : NULL;
    if (json_is_string(dialect))
        c.draft7 = strncmp(json_string_value(dialect), SCHEMA_DRAFT_7, strlen(SCHEMA_DRAFT_7)) == 0;
    js_node *root;
    eco_status st = compile_node(&c, doc, strdup(""), 0, &root);
    for (size_t i = 0; st == ECO_STATUS_OK && i < s->n_nodes; i++) /* n_nodes may grow */
        if (s->nodes[i]->ref_text) st = resolve_ref(&c, s->nodes[i]);
    if (st == ECO_STATUS_OK) st = find_cycles(&c);
    free(c.map.keys);
    free(c.map.vals);
    if (st != ECO_STATUS_OK) {
        eco_json_schema_free(s);
        return st;
    }
    *out = s;
    return ECO_STATUS_OK;
}

eco_status eco_json_schema_compile(const char *text, size_t len, const char *label,
                                   eco_json_schema **out) {
    if (!out || (!text && len)) return eco_error(ECO_STATUS_EINVAL, "json_schema: bad arguments");
    *out = NULL;
    json_error_t jerr;
    json_t *doc = js_parse(text, len, &jerr);
    if (!doc)
        return eco_error(ECO_STATUS_EFORMAT, "%s: not JSON: line %d column %d: %s",
                         label ? label : "schema", jerr.line, jerr.column, jerr.text);
    return compile_doc(doc, label, out);
}

eco_status eco_json_schema_compile_value(const json_t *schema, const char *label,
                                         eco_json_schema **out) {
    if (!out || !schema) return eco_error(ECO_STATUS_EINVAL, "json_schema: bad arguments");
    *out = NULL;
    json_t *doc = json_deep_copy(schema);
    if (!doc) return oom();
    return compile_doc(doc, label, out);
}
