/* policy: <data>/policy.json, the registry's settings that every opener applies. */
#include "core/json_read.h"
#include "ecology/registry.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define POLICY_FILE      "policy.json"
#define POLICY_MAX_BYTES ((size_t)1 << 20)

eco_status eco_registry_policy_set(const char *data_dir, bool require_signature) {
    if (!data_dir) return eco_error(ECO_STATUS_EINVAL, "policy: NULL data folder");
    char *path = eco_path_join(data_dir, POLICY_FILE);
    json_t *j = json_pack("{s:b}", "require_signature", (int)require_signature);
    eco_status st = path && j ? eco_json_write_canonical_file(path, j)
                              : eco_error(ECO_STATUS_ENOMEM, "policy: out of memory");
    json_decref(j);
    free(path);
    return st;
}

eco_status eco_registry_policy_get(const char *data_dir, bool *require_signature) {
    *require_signature = false;
    if (!data_dir) return eco_error(ECO_STATUS_EINVAL, "policy: NULL data folder");
    char *path = eco_path_join(data_dir, POLICY_FILE);
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "policy: out of memory");
    struct stat sb;
    if (stat(path, &sb) != 0) {
        free(path);
        return ECO_STATUS_OK;
    }
    char *text = NULL;
    size_t len = 0;
    eco_status st = eco_read_file(path, POLICY_MAX_BYTES, &text, &len);
    if (st == ECO_STATUS_OK) {
        json_error_t err;
        json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
        static const char *const keys[] = {"require_signature", NULL};
        eco_jr r = eco_jr_root(path, j);
        if (!j)
            st = eco_error(ECO_STATUS_EFORMAT, "%s: line %d: %s", path, err.line, err.text);
        else if (!(st = eco_jr_only(&r, keys)))
            st = eco_jr_bool(&r, "require_signature", false, require_signature);
        json_decref(j);
    }
    free(text);
    free(path);
    return st;
}
