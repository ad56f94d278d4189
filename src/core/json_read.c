/* json_read: the one JSON field reader (see json_read.h). */
#include "core/json_read.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

eco_jr eco_jr_root(const char *file, const json_t *obj) {
    eco_jr r;
    r.file = file ? file : "JSON";
    r.obj = obj;
    r.at[0] = '\0';
    return r;
}

eco_jr eco_jr_child(const eco_jr *parent, const char *key, const json_t *obj) {
    eco_jr r;
    r.file = parent->file;
    r.obj = obj;
    eco_jr_name(parent, key, r.at);
    return r;
}

eco_jr eco_jr_item(const eco_jr *parent, const char *key, size_t i, const json_t *obj) {
    eco_jr r = eco_jr_child(parent, key, obj);
    size_t n = strlen(r.at);
    snprintf(r.at + n, sizeof r.at - n, "[%zu]", i);
    return r;
}

const char *eco_json_shown(const char *s, size_t len, char buf[ECO_JSON_SHOWN_SIZE]) {
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o + 4 + 4 > ECO_JSON_SHOWN_SIZE) { /* room for one escape, "..." and the NUL */
            memcpy(buf + o, "...", 4);
            return buf;
        }
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            buf[o++] = (char)c;
        } else {
            snprintf(buf + o, 5, "\\x%02x", c);
            o += 4;
        }
    }
    buf[o] = '\0';
    return buf;
}

const char *eco_jr_name(const eco_jr *r, const char *key, char buf[ECO_JR_PATH_MAX]) {
    if (!key) {
        snprintf(buf, ECO_JR_PATH_MAX, "%s", r->at);
        return buf;
    }
    char shown[ECO_JSON_SHOWN_SIZE];
    eco_json_shown(key, strlen(key), shown);
    /* A name that begins with '[' or "['" indexes the object itself: no dot before it. */
    const char *dot = r->at[0] && key[0] != '[' ? "." : "";
    int n = snprintf(buf, ECO_JR_PATH_MAX, "%s%s%s", r->at, dot, shown);
    if (n >= ECO_JR_PATH_MAX) memcpy(buf + ECO_JR_PATH_MAX - 4, "...", 4); /* cut, and says so */
    return buf;
}

eco_status eco_jr_fail(const eco_jr *r, const char *key, eco_status code, const char *fmt, ...) {
    char what[512], name[ECO_JR_PATH_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    eco_jr_name(r, key, name);
    if (!name[0]) return eco_error(code, "%s: %s", r->file, what);
    return eco_error(code, "%s: %s: %s", r->file, name, what);
}

const json_t *eco_jr_opt(const eco_jr *r, const char *key) {
    const json_t *v = json_object_get(r->obj, key);
    return json_is_null(v) ? NULL : v;
}

eco_status eco_jr_need(const eco_jr *r, const char *key, const json_t **v) {
    *v = json_object_get(r->obj, key);
    return *v ? ECO_STATUS_OK : eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "missing");
}

/* The member or NULL: "missing" when required and absent; a required null is kept, so the
 * type check after names it ("expected a string"); an optional null reads as absent. */
static eco_status field(const eco_jr *r, const char *key, bool required, const json_t **v) {
    if (required) return eco_jr_need(r, key, v);
    *v = eco_jr_opt(r, key);
    return ECO_STATUS_OK;
}

eco_status eco_jr_int_value(const eco_jr *r, const char *name, const json_t *v, int64_t lo,
                            int64_t hi, int64_t *out) {
    if (!json_is_integer(v)) return eco_jr_fail(r, name, ECO_STATUS_EFORMAT, "expected an integer");
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return eco_jr_fail(r, name, ECO_STATUS_EFORMAT, "%lld outside [%lld, %lld]", (long long)x,
                           (long long)lo, (long long)hi);
    *out = (int64_t)x;
    return ECO_STATUS_OK;
}

eco_status eco_jr_num_value(const eco_jr *r, const char *name, const json_t *v, double lo,
                            double hi, double *out) {
    if (!json_is_number(v)) return eco_jr_fail(r, name, ECO_STATUS_EFORMAT, "expected a number");
    double x = json_number_value(v);
    if (!isfinite(x)) return eco_jr_fail(r, name, ECO_STATUS_EFORMAT, "expected a finite number");
    if (x < lo || x > hi)
        return eco_jr_fail(r, name, ECO_STATUS_EFORMAT, "%g outside [%g, %g]", x, lo, hi);
    *out = x;
    return ECO_STATUS_OK;
}

eco_status eco_jr_str_value(const eco_jr *r, const char *name, const json_t *v, bool nul_ok,
                            const char **out, size_t *len) {
    if (!json_is_string(v)) return eco_jr_fail(r, name, ECO_STATUS_EFORMAT, "expected a string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (!nul_ok && strlen(s) != n)
        return eco_jr_fail(r, name, ECO_STATUS_EFORMAT, "holds a NUL byte");
    *out = s;
    if (len) *len = n;
    return ECO_STATUS_OK;
}

eco_status eco_jr_int(const eco_jr *r, const char *key, bool required, int64_t lo, int64_t hi,
                      int64_t *out) {
    const json_t *v;
    eco_status st = field(r, key, required, &v);
    return st || !v ? st : eco_jr_int_value(r, key, v, lo, hi, out);
}

eco_status eco_jr_num(const eco_jr *r, const char *key, bool required, double lo, double hi,
                      double *out) {
    const json_t *v;
    eco_status st = field(r, key, required, &v);
    return st || !v ? st : eco_jr_num_value(r, key, v, lo, hi, out);
}

eco_status eco_jr_bool(const eco_jr *r, const char *key, bool required, bool *out) {
    const json_t *v;
    eco_status st = field(r, key, required, &v);
    if (st || !v) return st;
    if (!json_is_boolean(v))
        return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "expected true or false");
    *out = json_is_true(v);
    return ECO_STATUS_OK;
}

eco_status eco_jr_str(const eco_jr *r, const char *key, bool required, bool nul_ok,
                      const char **out, size_t *len) {
    const json_t *v;
    eco_status st = field(r, key, required, &v);
    return st || !v ? st : eco_jr_str_value(r, key, v, nul_ok, out, len);
}

/* r[key] of JSON type `type` ("expected <what>"), into *out. */
static eco_status typed(const eco_jr *r, const char *key, bool required, json_type type,
                        const char *what, const json_t **out) {
    const json_t *v;
    eco_status st = field(r, key, required, &v);
    if (st || !v) return st;
    if (json_typeof(v) != type) return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "expected %s", what);
    *out = v;
    return ECO_STATUS_OK;
}

eco_status eco_jr_object(const eco_jr *r, const char *key, bool required, const json_t **out) {
    return typed(r, key, required, JSON_OBJECT, "an object", out);
}

eco_status eco_jr_array(const eco_jr *r, const char *key, bool required, const json_t **out) {
    return typed(r, key, required, JSON_ARRAY, "an array", out);
}

eco_status eco_jr_only(const eco_jr *r, const char *const *allowed) {
    if (!json_is_object(r->obj))
        return eco_jr_fail(r, NULL, ECO_STATUS_EFORMAT, "expected an object");
    const char *key;
    size_t klen;
    json_t *v;
    json_object_keylen_foreach((json_t *)r->obj, key, klen, v) {
        bool ok = false;
        /* "id\u0000x" compares equal to "id" as a C string: a key with a NUL is never known. */
        for (size_t i = 0; allowed[i] && !ok && strlen(key) == klen; i++)
            ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            char shown[ECO_JSON_SHOWN_SIZE];
            return eco_jr_fail(r, NULL, ECO_STATUS_EFORMAT, "unknown field '%s'",
                               eco_json_shown(key, klen, shown));
        }
    }
    return ECO_STATUS_OK;
}

eco_status eco_jr_exact(const eco_jr *r, const char *const *keys) {
    eco_status st = eco_jr_only(r, keys);
    if (st) return st;
    for (size_t i = 0; keys[i]; i++)
        if (!json_object_get(r->obj, keys[i]))
            return eco_jr_fail(r, keys[i], ECO_STATUS_EFORMAT, "missing");
    return ECO_STATUS_OK;
}

/* ---- documents ------------------------------------------------------------------------ */

int eco_json_real_digits(double v) {
    int p = 1;
    char buf[40];
    for (; p < 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, v);
        if (strtod(buf, NULL) == v) break;
    }
    double a = fabs(v);
    if (a >= 1 && a < 1e16) {
        int digits = (int)floor(log10(a)) + 1;
        if (digits > p) p = digits;
    }
    return p;
}

/* path itself, or path/name when path is a folder; malloc'd, NULL when out of memory. */
static char *doc_file(const char *path, const char *name) {
    return eco_path_is_dir(path) ? eco_path_join(path, name) : eco_strdup(path);
}

eco_status eco_json_read_doc(const char *path, const char *name, size_t max_bytes, char **file,
                             char **text, size_t *len) {
    *text = NULL;
    *len = 0;
    *file = doc_file(path, name);
    if (!*file) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    return eco_read_file(*file, max_bytes, text, len);
}

eco_status eco_json_load_doc(const char *path, const char *name, size_t max_bytes,
                             eco_json_parse_fn parse, void *out) {
    char *file, *text;
    size_t len;
    eco_status rc = eco_json_read_doc(path, name, max_bytes, &file, &text, &len);
    if (rc == ECO_STATUS_OK) rc = parse(text, len, file, out);
    free(text);
    free(file);
    return rc;
}

eco_status eco_json_write_doc(const char *path, const char *name, eco_status st, char *text,
                              size_t len) {
    if (st != ECO_STATUS_OK) {
        free(text);
        return eco_error_wrap(st, "%s", path);
    }
    char *file = doc_file(path, name);
    st = file ? eco_write_file_atomic(file, text, len)
              : eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    free(file);
    free(text);
    return st;
}
