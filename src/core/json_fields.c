/* json_fields: helpers shared by the JSON readers in src/formats (see json_fields.h). */
#include "core/json_fields.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

const json_t *jf_opt(const json_t *obj, const char *field) {
    const json_t *v = json_object_get(obj, field);
    return json_is_null(v) ? NULL : v;
}

eco_status jf_bool(const char *label, const json_t *obj, const char *field, const char *shown,
                   bool *out) {
    const json_t *v = jf_opt(obj, field);
    if (!v) return ECO_STATUS_OK;
    if (!json_is_boolean(v))
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: expected true or false", label, shown);
    *out = json_is_true(v);
    return ECO_STATUS_OK;
}

int jf_real_digits(double v) {
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

eco_status jf_read_doc(const char *path, const char *name, size_t max_bytes, char **file, char **text,
                       size_t *len) {
    *text = NULL;
    *len = 0;
    *file = doc_file(path, name);
    if (!*file) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    return eco_read_file(*file, max_bytes, text, len);
}

eco_status jf_write_doc(const char *path, const char *name, const char *text, size_t len) {
    char *file = doc_file(path, name);
    if (!file) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    eco_status rc = eco_write_file_atomic(file, text, len);
    free(file);
    return rc;
}
