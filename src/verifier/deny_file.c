/* A deny-list file (ecology/verifier.h: eco_deny_file_read): one term a line. */
#include <stdlib.h>
#include <string.h>

#include "ecology/verifier.h"

eco_status eco_deny_file_read(const char *path, char **data, const char ***terms, size_t *n) {
    if (!path || !data || !terms || !n)
        return eco_error(ECO_STATUS_EINVAL, "deny file: NULL argument");
    size_t len = 0;
    *data = NULL;
    *terms = NULL;
    *n = 0;
    eco_status st = eco_read_file(path, ECO_DENY_FILE_MAX_BYTES, data, &len);
    if (st != ECO_STATUS_OK) return st;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += (*data)[i] == '\n';
    if (!(*terms = eco_calloc_array(lines, sizeof **terms)))
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    size_t line = 0;
    for (char *p = *data, *end = *data + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        *e = '\0';
        line++;
        if (e > p && e[-1] == '\r') e[-1] = '\0';
        if (p[strspn(p, " \t")] && *p != '#') {
            if ((st = eco_deny_term_check(p)) != ECO_STATUS_OK)
                return eco_error_wrap(st, "%s:%zu", path, line);
            (*terms)[(*n)++] = p;
        }
        p = e + 1;
    }
    eco_deny_list *d = NULL;
    st = eco_deny_list_new(*terms, *n, &d);
    eco_deny_list_free(d);
    return st == ECO_STATUS_OK ? st : eco_error_wrap(st, "%s", path);
}
