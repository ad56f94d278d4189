/* JSON value helpers of the schema validator (json_schema_internal.h): parsing with a
 * fallback for integers beyond int64, exact number comparison, JSON equality. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "verifier/json_schema_internal.h"

json_t *js_parse(const char *text, size_t len, json_error_t *err) {
    const size_t flags = JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL;
    json_t *v = json_loadb(text ? text : "", len, flags, err);
    if (!v && json_error_code(err) == json_error_numeric_overflow &&
        strstr(err->text, "integer") != NULL) {
        /* An integer beyond int64 ("too big integer"): read every integer as a double. */
        v = json_loadb(text ? text : "", len, flags | JSON_DECODE_INT_AS_REAL, err);
    }
    return v;
}

/* Sign of i - d, exactly (d finite: jansson never holds NaN or an infinity). */
static int cmp_int_real(json_int_t i, double d) {
    if (d >= 9223372036854775808.0) return -1;
    if (d < -9223372036854775808.0) return 1;
    double f = floor(d);
    json_int_t fi = (json_int_t)f; /* exact: |f| < 2^63 and integral */
    if (i < fi) return -1;
    if (i > fi) return 1;
    return d > f ? -1 : 0;
}

int js_num_cmp(const json_t *a, const json_t *b) {
    if (json_is_integer(a) && json_is_integer(b)) {
        json_int_t x = json_integer_value(a), y = json_integer_value(b);
        return (x > y) - (x < y);
    }
    if (json_is_integer(a)) return cmp_int_real(json_integer_value(a), json_real_value(b));
    if (json_is_integer(b)) return -cmp_int_real(json_integer_value(b), json_real_value(a));
    double x = json_real_value(a), y = json_real_value(b);
    return (x > y) - (x < y);
}

bool js_num_is_integral(const json_t *n) {
    if (json_is_integer(n)) return true;
    double d = json_real_value(n);
    return isfinite(d) && floor(d) == d;
}

bool js_equal(const json_t *a, const json_t *b) {
    if (json_is_number(a) && json_is_number(b)) return js_num_cmp(a, b) == 0;
    if (json_typeof(a) != json_typeof(b)) return false;
    switch (json_typeof(a)) {
        case JSON_STRING: {
            size_t n = json_string_length(a);
            return n == json_string_length(b) &&
                   memcmp(json_string_value(a), json_string_value(b), n) == 0;
        }
        case JSON_ARRAY: {
            size_t n = json_array_size(a);
            if (n != json_array_size(b)) return false;
            for (size_t i = 0; i < n; i++)
                if (!js_equal(json_array_get(a, i), json_array_get(b, i))) return false;
            return true;
        }
        case JSON_OBJECT: {
            if (json_object_size(a) != json_object_size(b)) return false;
            const char *k;
            size_t klen;
            json_t *va;
            json_object_keylen_foreach((json_t *)a, k, klen, va) {
                const json_t *vb = json_object_getn(b, k, klen);
                if (!vb || !js_equal(va, vb)) return false;
            }
            return true;
        }
        default:
            return true; /* true, false, null: same type, same value */
    }
}

size_t js_escape_byte(unsigned char c, bool pointer, char out[5]) {
    if (pointer && (c == '~' || c == '/')) {
        out[0] = '~';
        out[1] = c == '~' ? '0' : '1';
        out[2] = '\0';
        return 2;
    }
    if (c < 0x20 || c >= 0x7f || c == '\\') return (size_t)snprintf(out, 5, "\\x%02x", c);
    out[0] = (char)c;
    out[1] = '\0';
    return 1;
}

size_t js_utf8_count(const char *s, size_t n) {
    size_t count = 0, i = 0;
    while (i < n) {
        uint32_t cp;
        size_t l = (unsigned char)s[i] < 0x80 ? 1 : eco_utf8_decode(s + i, n - i, &cp);
        i += l ? l : 1;
        count++;
    }
    return count;
}

const char *js_type_name(const json_t *v) {
    switch (json_typeof(v)) {
        case JSON_NULL:
            return "null";
        case JSON_TRUE:
        case JSON_FALSE:
            return "boolean";
        case JSON_OBJECT:
            return "object";
        case JSON_ARRAY:
            return "array";
        case JSON_INTEGER:
            return "integer";
        case JSON_REAL:
            return js_num_is_integral(v) ? "integer" : "number";
        case JSON_STRING:
            return "string";
    }
    return "unknown";
}
