/*
 * lora_lineage: lineage.json for the adapter merge and extraction (lora_lineage.h).
 */
#include "breeder/lora_lineage.h"
#include "ecology/safetensors.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

eco_status eco_lora_lineage_parent(json_t *parents, const char *role, const char *dir,
                                   const char *name) {
    if (!name) { /* a model's weights: the index and its shards when sharded */
        json_t *e = NULL;
        eco_status rc = eco_weights_lineage_entry(dir, role, NULL, NULL, 0, &e);
        if (rc) return rc;
        if (json_array_append_new(parents, e))
            return eco_error(ECO_STATUS_ENOMEM, "lineage: out of memory");
        return ECO_STATUS_OK;
    }
    char *path = eco_path_join(dir, name);
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "lineage: out of memory");
    char hex[ECO_SHA256_HEX_LEN + 1];
    eco_status rc = eco_sha256_file_hex(path, hex);
    free(path);
    if (rc) return rc;
    if (json_array_append_new(
            parents, json_pack("{s:s, s:s, s:s}", "role", role, "file", name, "sha256", hex)))
        return eco_error(ECO_STATUS_ENOMEM, "lineage: out of memory");
    return ECO_STATUS_OK;
}

eco_status eco_lora_lineage_write(const char *dir, const char *op, const json_t *params,
                                  uint64_t seed, const json_t *result, const json_t *parents) {
    if (seed > (uint64_t)INT64_MAX)
        return eco_error(ECO_STATUS_ERANGE, "lineage: seed %llu beyond JSON's integers",
                         (unsigned long long)seed);
    char *path = eco_path_join(dir, ECO_LINEAGE_FILE);
    /* json_pack's O takes a new reference; the casts only drop const for it */
    json_t *rec =
        json_pack("{s:s, s:s, s:{s:s, s:O, s:I, s:O}, s:O}", "tool", "ecology", "version",
                  ECO_VERSION_STRING, "operation", "name", op, "params", (json_t *)params, "seed",
                  (json_int_t)seed, "result", (json_t *)result, "parents", (json_t *)parents);
    eco_status rc = rec && path ? eco_json_write_canonical_file(path, rec)
                                : eco_error(ECO_STATUS_ENOMEM, "lineage: out of memory");
    json_decref(rec);
    free(path);
    return rc;
}

const char *eco_lora_last_component(const char *s, size_t *len) {
    size_t n = strlen(s);
    while (n > 1 && s[n - 1] == '/') n--;
    size_t b = n;
    while (b > 0 && s[b - 1] != '/') b--;
    *len = n - b;
    return s + b;
}
