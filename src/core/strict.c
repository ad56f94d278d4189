/* Checks shared by the readers of hostile input (strict.h). */
#include "core/strict.h"

#include <string.h>

bool eco_strict_lower_hex(const char *s, size_t len, size_t want) {
    if (len != want) return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

const char *eco_strict_shown(const char *s, char buf[ECO_STRICT_SHOWN_SIZE]) {
    size_t i = 0;
    for (; s[i] && i < 40; i++) buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i]) memcpy(buf + i, "...", 4);
    else buf[i] = '\0';
    return buf;
}

const char *eco_strict_unknown_field(const json_t *obj, const char *const *allowed) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++) ok = strcmp(key, allowed[i]) == 0;
        if (!ok) return key;
    }
    return NULL;
}

eco_status eco_strict_only_fields(const json_t *obj, const char *const *allowed, const char *label,
                                  const char *where) {
    const char *bad = eco_strict_unknown_field(obj, allowed);
    if (!bad) return ECO_STATUS_OK;
    char buf[ECO_STRICT_SHOWN_SIZE];
    return eco_error(ECO_STATUS_EFORMAT, "%s: %sunknown field '%s'", label, where, eco_strict_shown(bad, buf));
}

eco_status eco_strict_string(const json_t *obj, const char *field, const char *label, const char *name,
                             const char **out, size_t *len) {
    const json_t *v = json_object_get(obj, field);
    if (!v) return eco_error(ECO_STATUS_EFORMAT, "%s: %s: missing", label, name);
    if (!json_is_string(v)) return eco_error(ECO_STATUS_EFORMAT, "%s: %s: expected a string", label, name);
    *out = json_string_value(v);
    *len = json_string_length(v);
    return ECO_STATUS_OK;
}
