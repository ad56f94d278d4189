/*
 * genome: the genome record's JSON codec (layout in registry.h).
 *
 * The parser is hostile-input code: a genome arrives from other machines, exported
 * folders and HTTP bodies. Every object must hold exactly its keys (none missing, none
 * unknown), every value its JSON type, and every string its grammar:
 *
 *   id, parents[i], base   eco_model_id_ok
 *   kind                   base | adapter | merged | distilled | quantized | remote
 *   compatibility.*        64 lower-case hex digits
 *   corpora[i]             64 lower-case hex digits, sorted (strcmp), unique
 *   interface_version,     "name@version": name [a-z0-9_.-]+, version [0-9]+ without a
 *   capabilities[i]        leading zero; at most 128 bytes; capabilities sorted, unique
 *   lineage.parents        valid ids, no id twice (order kept: it can matter)
 *   lineage.operation      {"name": [a-z0-9_.-]{1,64}, "params": object, "seed": integer >= 0};
 *                          no string or key in params holds a NUL character
 *   files                  eco_manifest_from_json (artifacts.h)
 *   resource_profile.*     integers >= 0
 *   created_at             "YYYY-MM-DDTHH:MM:SSZ", a real calendar date (no leap seconds)
 *   tool_version           1..256 bytes, no control characters
 *
 * Errors are EFORMAT "<label>: <path>: <what>" with the path of the offending value
 * ("genome.json: lineage.parents[1]: not a valid model id"). A failed parse leaves *out
 * untouched. The codec checks form only; what needs the registry (parents and base
 * registered, an adapter's base present) is checked at registration.
 *
 * Writing (eco_genome_to_json) re-checks the JSON it built with the same parser, so
 * whatever is written parses back, and canonical(parse(canonical(g))) == canonical(g).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/json_read.h"
#include "ecology/registry.h"
#include "registry/registry_internal.h"

#define GENOME_MAX_BYTES (64u * 1024u * 1024u)
#define NAME_VERSION_MAX 128
#define OP_NAME_MAX      64
#define TOOL_VERSION_MAX 256
#define PATH_MAX_LEN     96

static const char *const kind_names[] = {
    [ECO_GENOME_KIND_BASE] = "base",           [ECO_GENOME_KIND_ADAPTER] = "adapter",
    [ECO_GENOME_KIND_MERGED] = "merged",       [ECO_GENOME_KIND_DISTILLED] = "distilled",
    [ECO_GENOME_KIND_QUANTIZED] = "quantized", [ECO_GENOME_KIND_REMOTE] = "remote",
};
#define N_KINDS ((int)(sizeof kind_names / sizeof kind_names[0]))

const char *eco_genome_kind_str(eco_genome_kind k) {
    if ((unsigned)k >= (unsigned)N_KINDS) return "unknown";
    return kind_names[k];
}

eco_status eco_genome_kind_parse(const char *s, eco_genome_kind *out) {
    if (!s || !out) return eco_error(ECO_STATUS_EINVAL, "eco_genome_kind_parse: NULL argument");
    for (int i = 0; i < N_KINDS; i++)
        if (strcmp(s, kind_names[i]) == 0) {
            *out = (eco_genome_kind)i;
            return ECO_STATUS_OK;
        }
    return eco_error(
        ECO_STATUS_EINVAL,
        "genome kind '%.64s' is unknown (base, adapter, merged, distilled, quantized, remote)", s);
}

bool eco_model_id_ok(const char *id) {
    if (!id || id[0] == '\0' || id[0] == '.' || id[0] == '-') return false;
    size_t n = 0;
    for (const char *p = id; *p; p++, n++) {
        unsigned char c = (unsigned char)*p;
        if (n >= 127) return false;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '@' || c == '+' || c == '-';
        if (!ok) return false;
    }
    return true;
}

static void free_strv(char **v, size_t n) {
    if (!v) return;
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

void eco_genome_free(eco_genome *g) {
    if (!g) return;
    free(g->id);
    free(g->interface_version);
    free_strv(g->capabilities, g->n_capabilities);
    free_strv(g->parents, g->n_parents);
    free(g->op_name);
    json_decref(g->op_params);
    eco_manifest_free(&g->files);
    free(g->base);
    free_strv(g->corpora, g->n_corpora);
    free(g->created_at);
    free(g->tool_version);
    memset(g, 0, sizeof *g);
}

/* ---- string grammars --------------------------------------------------------------- */

static bool is_lower_hex64(const char *s) {
    return eco_hex_is_lower(s, strnlen(s, ECO_SHA256_HEX_LEN + 1), ECO_SHA256_HEX_LEN);
}

/* "name@version": name [a-z0-9_.-]+, version [0-9]+ with no leading zero (so "x@01" and
 * "x@1" cannot both appear as different capabilities); at most NAME_VERSION_MAX bytes. */
static bool name_version_ok(const char *s) {
    size_t n = strlen(s);
    if (n > NAME_VERSION_MAX) return false;
    const char *at = strchr(s, '@');
    if (!at || at == s) return false;
    for (const char *p = s; p < at; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return false;
    }
    const char *v = at + 1;
    if (*v == '\0' || (v[0] == '0' && v[1] != '\0')) return false;
    for (const char *p = v; *p; p++)
        if (*p < '0' || *p > '9') return false;
    return true;
}

static bool op_name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > OP_NAME_MAX) return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

static bool tool_version_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > TOOL_VERSION_MAX) return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return false;
    return true;
}

static int digits(const char *s, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* RFC 3339 in UTC, seconds precision, exactly "YYYY-MM-DDTHH:MM:SSZ". */
static bool rfc3339_ok(const char *s) {
    if (strlen(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != 'Z')
        return false;
    int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
    int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 ||
        se > 59)
        return false;
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int maxd = dim[mo - 1] + (mo == 2 && leap ? 1 : 0);
    return d <= maxd;
}

/* ---- parse: every field read with the core reader (core/json_read.h) ------------------ */

#define PARAMS_MAX_DEPTH 2048 /* jansson's own parser nests no deeper */

/* No string or key anywhere in v holds a NUL, so that the canonical text (which would
 * spell it \u0000) parses back: the parser refuses \u0000. Depth-limited for values a
 * caller built. */
static bool nul_free(const json_t *v, int depth) {
    if (depth > PARAMS_MAX_DEPTH) return false;
    if (json_is_string(v)) return strlen(json_string_value(v)) == json_string_length(v);
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!nul_free(json_array_get(v, i), depth + 1)) return false;
        return true;
    }
    if (json_is_object(v)) {
        const char *k;
        size_t klen;
        json_t *x;
        json_object_keylen_foreach((json_t *)v, k, klen, x) {
            if (strlen(k) != klen || !nul_free(x, depth + 1)) return false;
        }
    }
    return true;
}

/* r[key]: a string without NUL bytes (borrowed). */
static eco_status get_str(const eco_jr *r, const char *key, const char **out) {
    *out = NULL;
    return eco_jr_str(r, key, true, false, out, NULL);
}

static eco_status dup_str(const eco_jr *r, const char *key, const char *s, char **out) {
    *out = eco_strdup(s);
    return *out ? ECO_STATUS_OK : eco_jr_fail(r, key, ECO_STATUS_ENOMEM, "out of memory");
}

/* r[key]: a non-negative JSON integer. */
static eco_status get_uint(const eco_jr *r, const char *key, uint64_t *out) {
    int64_t x = 0;
    eco_status rc = eco_jr_int(r, key, true, 0, INT64_MAX, &x);
    *out = (uint64_t)x;
    return rc;
}

static eco_status get_hex(const eco_jr *r, const char *key, char out[ECO_SHA256_HEX_LEN + 1]) {
    const char *s;
    eco_status rc = get_str(r, key, &s);
    if (rc) return rc;
    if (!is_lower_hex64(s))
        return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "not 64 lower-case hex digits");
    memcpy(out, s, ECO_SHA256_HEX_LEN + 1);
    return ECO_STATUS_OK;
}

enum list_rule { LIST_ID, LIST_CAPABILITY, LIST_HEX };

static int cmp_strp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* r[key]: a list of strings each obeying rule; LIST_CAPABILITY and LIST_HEX must be sorted
 * and unique, LIST_ID (parents) unique in any order. *out owns copies. */
static eco_status get_list(const eco_jr *r, const char *key, enum list_rule rule, char ***out,
                           size_t *n_out) {
    const json_t *v;
    eco_status rc = eco_jr_need(r, key, &v);
    if (rc) return rc;
    if (!json_is_array(v)) return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "expected an array");
    size_t n = json_array_size(v);
    char **items = n ? eco_calloc_array(n, sizeof *items) : NULL;
    if (n && !items) return eco_jr_fail(r, key, ECO_STATUS_ENOMEM, "out of memory");
    char p[ECO_JR_PATH_MAX];
    for (size_t i = 0; i < n && rc == ECO_STATUS_OK; i++) {
        snprintf(p, sizeof p, "%s[%zu]", key, i);
        const char *s;
        if ((rc = eco_jr_str_value(r, p, json_array_get(v, i), false, &s, NULL))) break;
        switch (rule) {
            case LIST_ID:
                if (!eco_model_id_ok(s))
                    rc = eco_jr_fail(r, p, ECO_STATUS_EFORMAT, "not a valid model id");
                break;
            case LIST_CAPABILITY:
                if (!name_version_ok(s))
                    rc = eco_jr_fail(
                        r, p, ECO_STATUS_EFORMAT,
                        "'%.64s' is not \"name@version\" (name [a-z0-9_.-]+, version [0-9]+)", s);
                break;
            case LIST_HEX:
                if (!is_lower_hex64(s))
                    rc = eco_jr_fail(r, p, ECO_STATUS_EFORMAT, "not 64 lower-case hex digits");
                break;
        }
        if (rc) break;
        if (rule != LIST_ID && i > 0) {
            int c = strcmp(items[i - 1], s);
            if (c == 0)
                rc = eco_jr_fail(r, p, ECO_STATUS_EFORMAT, "duplicate of the entry before it");
            else if (c > 0)
                rc = eco_jr_fail(r, p, ECO_STATUS_EFORMAT, "not in sorted order");
            if (rc) break;
        }
        rc = dup_str(r, p, s, &items[i]);
    }
    if (rc == ECO_STATUS_OK && rule == LIST_ID && n > 1) {
        /* Duplicates among parents, found in O(n log n) on a sorted copy of the pointers. */
        char **sorted = eco_malloc_array(n, sizeof *sorted);
        if (!sorted) {
            rc = eco_jr_fail(r, key, ECO_STATUS_ENOMEM, "out of memory");
        } else {
            memcpy(sorted, items, n * sizeof *sorted);
            qsort(sorted, n, sizeof *sorted, cmp_strp);
            for (size_t i = 1; i < n && rc == ECO_STATUS_OK; i++)
                if (strcmp(sorted[i - 1], sorted[i]) == 0)
                    rc = eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "'%.64s' appears more than once",
                                     sorted[i]);
            free(sorted);
        }
    }
    if (rc) {
        free_strv(items, n);
        return rc;
    }
    *out = items;
    *n_out = n;
    return ECO_STATUS_OK;
}

static const char *const root_keys[] = {
    "id",    "kind", "compatibility",    "interface_version", "capabilities", "lineage",
    "files", "base", "resource_profile", "corpora",           "created_at",   "tool_version",
    NULL,
};
static const char *const compat_keys[] = {"base_family", "architecture_hash", "tokenizer_hash",
                                          "tensor_schema_hash", NULL};
static const char *const lineage_keys[] = {"parents", "operation", NULL};
static const char *const op_keys[] = {"name", "params", "seed", NULL};
static const char *const profile_keys[] = {"parameters", "bytes", "resident_bytes", NULL};

/* The member `key` of parent as a reader holding exactly keys. */
static eco_status enter(const eco_jr *parent, const char *key, const char *const *keys,
                        eco_jr *out) {
    *out = eco_jr_child(parent, key, json_object_get(parent->obj, key));
    return eco_jr_exact(out, keys);
}

static eco_status parse_compat(const eco_jr *root, eco_compat_identity *out) {
    eco_jr c;
    eco_status rc = enter(root, "compatibility", compat_keys, &c);
    if (rc) return rc;
    char *fields[] = {out->base_family, out->architecture_hash, out->tokenizer_hash,
                      out->tensor_schema_hash};
    for (size_t i = 0; compat_keys[i]; i++)
        if ((rc = get_hex(&c, compat_keys[i], fields[i]))) return rc;
    return ECO_STATUS_OK;
}

static eco_status parse_lineage(const eco_jr *root, eco_genome *g) {
    eco_jr l, op;
    eco_status rc = enter(root, "lineage", lineage_keys, &l);
    if (rc) return rc;
    if ((rc = get_list(&l, "parents", LIST_ID, &g->parents, &g->n_parents))) return rc;
    if ((rc = enter(&l, "operation", op_keys, &op))) return rc;
    const char *name;
    if ((rc = get_str(&op, "name", &name))) return rc;
    if (!op_name_ok(name))
        return eco_jr_fail(&op, "name", ECO_STATUS_EFORMAT, "'%.64s' is not 1..%d of [a-z0-9_.-]",
                           name, OP_NAME_MAX);
    if ((rc = dup_str(&op, "name", name, &g->op_name))) return rc;
    const json_t *params = json_object_get(op.obj, "params");
    if (!json_is_object(params))
        return eco_jr_fail(&op, "params", ECO_STATUS_EFORMAT, "expected an object");
    if (!nul_free(params, 0))
        return eco_jr_fail(&op, "params", ECO_STATUS_EFORMAT,
                           "a string or key holds a NUL character, or nesting deeper than %d",
                           PARAMS_MAX_DEPTH);
    /* A private copy: the record must not change when the caller's document does. */
    g->op_params = json_deep_copy(params);
    if (!g->op_params) return eco_jr_fail(&op, "params", ECO_STATUS_ENOMEM, "out of memory");
    return get_uint(&op, "seed", &g->op_seed);
}

static eco_status parse_profile(const eco_jr *root, eco_genome *g) {
    eco_jr r;
    eco_status rc = enter(root, "resource_profile", profile_keys, &r);
    if (rc) return rc;
    uint64_t params = 0;
    if ((rc = get_uint(&r, "parameters", &params)) || (rc = get_uint(&r, "bytes", &g->bytes)) ||
        (rc = get_uint(&r, "resident_bytes", &g->resident_bytes)))
        return rc;
    g->n_params = (int64_t)params; /* <= INT64_MAX: a json_int_t that is >= 0 */
    return ECO_STATUS_OK;
}

static eco_status parse_into(const json_t *j, const char *label, eco_genome *g) {
    eco_jr r = eco_jr_root(label, j);
    eco_status rc = eco_jr_exact(&r, root_keys);
    if (rc) return rc;
    const char *s;
    if ((rc = get_str(&r, "id", &s))) return rc;
    if (!eco_model_id_ok(s))
        return eco_jr_fail(&r, "id", ECO_STATUS_EFORMAT, "not a valid model id");
    if ((rc = dup_str(&r, "id", s, &g->id))) return rc;

    if ((rc = get_str(&r, "kind", &s))) return rc;
    int kind = -1;
    for (int i = 0; i < N_KINDS; i++)
        if (strcmp(s, kind_names[i]) == 0) kind = i;
    if (kind < 0)
        return eco_jr_fail(
            &r, "kind", ECO_STATUS_EFORMAT,
            "'%.32s' is not one of base, adapter, merged, distilled, quantized, remote", s);
    g->kind = (eco_genome_kind)kind;

    if ((rc = parse_compat(&r, &g->compatibility))) return rc;

    if ((rc = get_str(&r, "interface_version", &s))) return rc;
    if (!name_version_ok(s))
        return eco_jr_fail(&r, "interface_version", ECO_STATUS_EFORMAT,
                           "'%.64s' is not \"name@version\"", s);
    if ((rc = dup_str(&r, "interface_version", s, &g->interface_version))) return rc;

    if ((rc = get_list(&r, "capabilities", LIST_CAPABILITY, &g->capabilities, &g->n_capabilities)))
        return rc;
    if ((rc = parse_lineage(&r, g))) return rc;
    /* The manifest reader names entries "<its label>[i].name": give it "<label>: files". */
    size_t flen = strlen(label) + sizeof ": files";
    char *flabel = malloc(flen);
    if (!flabel) return eco_error(ECO_STATUS_ENOMEM, "%s: files: out of memory", label);
    snprintf(flabel, flen, "%s: files", label);
    rc = eco_manifest_from_json(json_object_get(j, "files"), flabel, &g->files);
    free(flabel);
    if (rc) return rc;

    const json_t *base = json_object_get(j, "base");
    if (!json_is_null(base)) {
        if (get_str(&r, "base", &s))
            return eco_jr_fail(&r, "base", ECO_STATUS_EFORMAT, "expected a model id or null");
        if (!eco_model_id_ok(s))
            return eco_jr_fail(&r, "base", ECO_STATUS_EFORMAT, "not a valid model id");
        if ((rc = dup_str(&r, "base", s, &g->base))) return rc;
    }
    if ((rc = parse_profile(&r, g))) return rc;
    if ((rc = get_list(&r, "corpora", LIST_HEX, &g->corpora, &g->n_corpora))) return rc;

    if ((rc = get_str(&r, "created_at", &s))) return rc;
    if (!rfc3339_ok(s))
        return eco_jr_fail(&r, "created_at", ECO_STATUS_EFORMAT,
                           "'%.32s' is not an RFC 3339 UTC time \"YYYY-MM-DDTHH:MM:SSZ\"", s);
    if ((rc = dup_str(&r, "created_at", s, &g->created_at))) return rc;

    if ((rc = get_str(&r, "tool_version", &s))) return rc;
    if (!tool_version_ok(s))
        return eco_jr_fail(&r, "tool_version", ECO_STATUS_EFORMAT,
                           "expected 1..%d bytes without control characters", TOOL_VERSION_MAX);
    return dup_str(&r, "tool_version", s, &g->tool_version);
}

eco_status eco_genome_from_json(const json_t *j, const char *label, eco_genome *out) {
    if (!label) label = "genome";
    if (!j || !out)
        return eco_error(ECO_STATUS_EINVAL, "%s: eco_genome_from_json: NULL argument", label);
    eco_genome g;
    memset(&g, 0, sizeof g);
    eco_status rc = parse_into(j, label, &g);
    if (rc) {
        eco_genome_free(&g);
        return rc;
    }
    *out = g;
    return ECO_STATUS_OK;
}

eco_status eco_genome_parse(const char *text, size_t len, const char *label, eco_genome *out) {
    if (!label) label = "genome";
    if (!out || (!text && len > 0))
        return eco_error(ECO_STATUS_EINVAL, "%s: eco_genome_parse: NULL argument", label);
    if (len > GENOME_MAX_BYTES)
        return eco_error(ECO_STATUS_ERANGE, "%s: %zu bytes is too large for a genome (at most %u)",
                         label, len, GENOME_MAX_BYTES);
    json_error_t jerr;
    json_t *root = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return eco_error(ECO_STATUS_EFORMAT, "%s: not valid JSON: %s (line %d, column %d)", label,
                         jerr.text, jerr.line, jerr.column);
    eco_status rc = eco_genome_from_json(root, label, out);
    json_decref(root);
    return rc;
}

/* ---- write ---------------------------------------------------------------------------- */

#define WLABEL "genome"

/* A JSON string of s (field named in the error); NULL on failure with the error set. */
static json_t *jstr(const char *s, const char *path, eco_status *rc) {
    if (*rc) return NULL;
    if (!s) {
        *rc = eco_error(ECO_STATUS_EINVAL, WLABEL ": %s: missing (NULL)", path);
        return NULL;
    }
    json_t *v = json_string(s);
    if (!v)
        *rc = eco_error(ECO_STATUS_EINVAL, WLABEL ": %s: not valid UTF-8 (or out of memory)", path);
    return v;
}

/* A fixed char[65] hex field as a string (bounded: the array may lack its NUL). */
static json_t *jhex(const char *s, const char *path, eco_status *rc) {
    if (*rc) return NULL;
    json_t *v = json_stringn(s, strnlen(s, ECO_SHA256_HEX_LEN + 1));
    if (!v) *rc = eco_error(ECO_STATUS_EINVAL, WLABEL ": %s: not 64 lower-case hex digits", path);
    return v;
}

static json_t *jint(uint64_t x, const char *path, eco_status *rc) {
    if (*rc) return NULL;
    if (x > (uint64_t)INT64_MAX) {
        *rc = eco_error(ECO_STATUS_ERANGE,
                        WLABEL ": %s: %llu does not fit a JSON integer (at most 2^63-1)", path,
                        (unsigned long long)x);
        return NULL;
    }
    json_t *v = json_integer((json_int_t)x);
    if (!v) *rc = eco_error(ECO_STATUS_ENOMEM, WLABEL ": %s: out of memory", path);
    return v;
}

static json_t *jlist(char *const *items, size_t n, const char *path, eco_status *rc) {
    if (*rc) return NULL;
    if (n && !items) {
        *rc = eco_error(ECO_STATUS_EINVAL, WLABEL ": %s: %zu entries but no array", path, n);
        return NULL;
    }
    json_t *a = json_array();
    if (!a) {
        *rc = eco_error(ECO_STATUS_ENOMEM, WLABEL ": %s: out of memory", path);
        return NULL;
    }
    char p[PATH_MAX_LEN];
    for (size_t i = 0; i < n && !*rc; i++) {
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        json_t *s = jstr(items[i], p, rc);
        if (s && json_array_append_new(a, s))
            *rc = eco_error(ECO_STATUS_ENOMEM, WLABEL ": %s: out of memory", p);
    }
    if (*rc) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* obj[key] = v, stealing v. obj or v NULL without an error set means allocation failed;
 * once an error is set, v is released and nothing more is added. */
static void put(json_t *obj, const char *key, json_t *v, eco_status *rc) {
    if (*rc || !obj || !v) {
        json_decref(v);
        if (!*rc) *rc = eco_error(ECO_STATUS_ENOMEM, WLABEL ": %s: out of memory", key);
        return;
    }
    if (json_object_set_new(obj, key, v)) /* steals v even when it fails */
        *rc = eco_error(ECO_STATUS_ENOMEM, WLABEL ": %s: out of memory", key);
}

static json_t *build(const eco_genome *g, eco_status *rc) {
    json_t *o = json_object();
    if (!o) {
        *rc = eco_error(ECO_STATUS_ENOMEM, WLABEL ": out of memory");
        return NULL;
    }
    put(o, "id", jstr(g->id, "id", rc), rc);
    if (!*rc && (unsigned)g->kind >= (unsigned)N_KINDS)
        *rc = eco_error(ECO_STATUS_EINVAL, WLABEL ": kind: %d is not a genome kind", (int)g->kind);
    put(o, "kind", jstr(eco_genome_kind_str(g->kind), "kind", rc), rc);

    json_t *c = *rc ? NULL : json_object();
    const eco_compat_identity *ci = &g->compatibility;
    put(c, "base_family", jhex(ci->base_family, "compatibility.base_family", rc), rc);
    put(c, "architecture_hash", jhex(ci->architecture_hash, "compatibility.architecture_hash", rc),
        rc);
    put(c, "tokenizer_hash", jhex(ci->tokenizer_hash, "compatibility.tokenizer_hash", rc), rc);
    put(c, "tensor_schema_hash",
        jhex(ci->tensor_schema_hash, "compatibility.tensor_schema_hash", rc), rc);
    put(o, "compatibility", c, rc);

    put(o, "interface_version", jstr(g->interface_version, "interface_version", rc), rc);
    put(o, "capabilities", jlist(g->capabilities, g->n_capabilities, "capabilities", rc), rc);

    json_t *lin = *rc ? NULL : json_object();
    put(lin, "parents", jlist(g->parents, g->n_parents, "lineage.parents", rc), rc);
    json_t *op = *rc ? NULL : json_object();
    put(op, "name", jstr(g->op_name, "lineage.operation.name", rc), rc);
    /* NULL params are written as {}. A private copy keeps the record's object unshared. */
    json_t *params = *rc ? NULL : (g->op_params ? json_deep_copy(g->op_params) : json_object());
    put(op, "params", params, rc);
    put(op, "seed", jint(g->op_seed, "lineage.operation.seed", rc), rc);
    put(lin, "operation", op, rc);
    put(o, "lineage", lin, rc);

    json_t *files = NULL;
    if (!*rc) *rc = eco_manifest_to_json(&g->files, &files);
    if (!*rc) put(o, "files", files, rc);

    put(o, "base", *rc ? NULL : (g->base ? jstr(g->base, "base", rc) : json_null()), rc);

    json_t *rp = *rc ? NULL : json_object();
    if (!*rc && g->n_params < 0)
        *rc = eco_error(ECO_STATUS_EINVAL, WLABEL ": resource_profile.parameters: %lld is negative",
                        (long long)g->n_params);
    put(rp, "parameters", jint((uint64_t)g->n_params, "resource_profile.parameters", rc), rc);
    put(rp, "bytes", jint(g->bytes, "resource_profile.bytes", rc), rc);
    put(rp, "resident_bytes", jint(g->resident_bytes, "resource_profile.resident_bytes", rc), rc);
    put(o, "resource_profile", rp, rc);

    put(o, "corpora", jlist(g->corpora, g->n_corpora, "corpora", rc), rc);
    put(o, "created_at", jstr(g->created_at, "created_at", rc), rc);
    put(o, "tool_version", jstr(g->tool_version, "tool_version", rc), rc);
    if (*rc) {
        json_decref(o);
        return NULL;
    }
    return o;
}

eco_status eco_genome_to_json(const eco_genome *g, json_t **out) {
    if (!g || !out) return eco_error(ECO_STATUS_EINVAL, "eco_genome_to_json: NULL argument");
    *out = NULL;
    eco_status rc = ECO_STATUS_OK;
    json_t *o = build(g, &rc);
    if (rc) return rc;
    /* Whatever is written must parse: the same checks as a reader's, on what was built. */
    eco_genome check;
    memset(&check, 0, sizeof check);
    rc = eco_genome_from_json(o, WLABEL, &check);
    eco_genome_free(&check);
    if (rc) {
        json_decref(o);
        return rc == ECO_STATUS_EFORMAT ? ECO_STATUS_EINVAL
                                        : rc; /* a caller's record, not a file */
    }
    *out = o;
    return ECO_STATUS_OK;
}

eco_status eco_genome_to_canonical(const eco_genome *g, char **out, size_t *len) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "eco_genome_to_canonical: NULL argument");
    *out = NULL;
    json_t *j;
    eco_status rc = eco_genome_to_json(g, &j);
    if (rc) return rc;
    rc = eco_json_canonical(j, out, len);
    json_decref(j);
    return rc;
}

eco_status eco_genome_hash(const eco_genome *g, char out[ECO_SHA256_HEX_LEN + 1]) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "eco_genome_hash: NULL argument");
    char *text;
    size_t len;
    eco_status rc = eco_genome_to_canonical(g, &text, &len);
    if (rc) return rc;
    rc = eco_sha256_hex(text, len, out);
    free(text);
    return rc;
}
