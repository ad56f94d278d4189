/* Canonical JSON: sorted keys, compact separators, UTF-8 kept as is. The same value always
 * gives the same bytes, so the bytes can be hashed and signed. */
#include "ecology/core.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

eco_status eco_json_canonical(const json_t *value, char **out, size_t *len) {
    *out = NULL;
    char *s = json_dumps(value,
                         JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    if (!s) return eco_error(ECO_STATUS_EINVAL, "canonical JSON: value cannot be serialised");
    *out = s;
    if (len) *len = strlen(s);
    return ECO_STATUS_OK;
}

eco_status eco_json_parse(const char *text, size_t len, size_t flags, const char *label,
                          json_t **out) {
    json_error_t err;
    *out = json_loadb(text ? text : "", text ? len : 0, JSON_REJECT_DUPLICATES | flags, &err);
    if (!*out)
        return eco_error(ECO_STATUS_EFORMAT, "%s: invalid JSON at line %d column %d: %s", label,
                         err.line, err.column, err.text);
    return ECO_STATUS_OK;
}

eco_status eco_json_canonicalize(const char *text, size_t len, const char *label, char **out,
                                 size_t *out_len) {
    json_t *v;
    eco_status st = eco_json_parse(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, label, &v);
    if (st) return st;
    st = eco_json_canonical(v, out, out_len);
    json_decref(v);
    return st;
}

eco_status eco_json_dumps_line(const json_t *value, size_t flags, const char *what, char **out,
                               size_t *len) {
    char *text = json_dumps(value, flags);
    size_t n = text ? strlen(text) : 0;
    char *line = text ? realloc(text, n + 2) : NULL;
    if (!line) {
        free(text);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory serialising JSON", what);
    }
    line[n] = '\n';
    line[n + 1] = '\0';
    *out = line;
    if (len) *len = n + 1;
    return ECO_STATUS_OK;
}

eco_status eco_json_write_canonical_file(const char *path, const json_t *value) {
    char *text = NULL;
    size_t len = 0;
    eco_status st = eco_json_canonical(value, &text, &len);
    if (st) return st;
    char *line = realloc(text, len + 2);
    if (!line) {
        free(text);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    }
    line[len] = '\n';
    st = eco_write_file_atomic(path, line, len + 1);
    free(line);
    return st;
}
