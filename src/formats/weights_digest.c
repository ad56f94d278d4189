/*
 * The digests that identify a model folder's weights in lineage records and training runs
 * (safetensors.h): model.safetensors alone, or a sharded folder's index and every shard the
 * index names (the index holds only names, shard names and a total size, so its digest
 * alone cannot tell two models of the same layout apart).
 */
#include "ecology/safetensors.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_MAX_BYTES ((size_t)64 << 20)

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool shard_name_ok(const char *s) {
    return s[0] != '\0' && strchr(s, '/') == NULL && strstr(s, "..") == NULL && strcmp(s, ".") != 0;
}

void eco_weights_files_free(char **names, size_t n) {
    for (size_t i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

/* The distinct shard names of index_path's weight_map, sorted, appended after names[0]. */
static eco_status index_shards(const char *index_path, char ***names, size_t *n) {
    char *text = NULL;
    size_t len = 0;
    eco_status st = eco_read_file(index_path, INDEX_MAX_BYTES, &text, &len);
    if (st) return st;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!root)
        return eco_error(ECO_STATUS_EFORMAT, "%s: not valid JSON: %s (line %d)", index_path,
                         jerr.text, jerr.line);
    const json_t *map = json_object_get(root, "weight_map");
    if (!json_is_object(map)) {
        json_decref(root);
        return eco_error(ECO_STATUS_EFORMAT, "%s: weight_map: missing or not an object",
                         index_path);
    }
    size_t cap = 1 + json_object_size(map);
    char **v = eco_calloc_array(cap, sizeof *v);
    if (!v) {
        json_decref(root);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", index_path);
    }
    v[0] = (*names)[0];
    free(*names);
    *names = v;
    size_t k = 1;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)map, key, val) {
        const char *s = json_string_value(val);
        if (!s || !shard_name_ok(s)) {
            st = eco_error(ECO_STATUS_EFORMAT,
                           "%s: weight_map['%s']: not a plain file name in the folder", index_path,
                           key);
            break;
        }
        if (!(v[k] = eco_strdup(s))) {
            st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", index_path);
            break;
        }
        k++;
    }
    json_decref(root);
    if (!st && k > 2) qsort(v + 1, k - 1, sizeof *v, cmp_str);
    size_t u = 1;
    for (size_t i = 1; !st && i < k; i++) {
        if (u > 1 && strcmp(v[u - 1], v[i]) == 0) {
            free(v[i]);
            v[i] = NULL;
            continue;
        }
        v[u++] = v[i];
        if (u - 1 != i) v[i] = NULL;
    }
    *n = st ? k : u;
    return st;
}

eco_status eco_weights_files(const char *dir, char ***names, size_t *n) {
    *names = NULL;
    *n = 0;
    const bool sharded = eco_path_has_file(dir, ECO_SAFETENSORS_INDEX_FILE);
    if (!sharded && !eco_path_has_file(dir, "model.safetensors"))
        return eco_error(ECO_STATUS_ENOTFOUND,
                         "%s: no weights (model.safetensors or " ECO_SAFETENSORS_INDEX_FILE ")",
                         dir);
    char **v = eco_calloc_array(1, sizeof *v);
    if (!v || !(v[0] = eco_strdup(sharded ? ECO_SAFETENSORS_INDEX_FILE : "model.safetensors"))) {
        free(v);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
    }
    *names = v;
    *n = 1;
    if (!sharded) return ECO_STATUS_OK;
    char *ip = eco_path_join(dir, ECO_SAFETENSORS_INDEX_FILE);
    eco_status st = ip ? index_shards(ip, names, n) : eco_error(ECO_STATUS_ENOMEM, "out of memory");
    free(ip);
    if (st) {
        eco_weights_files_free(*names, *n);
        *names = NULL;
        *n = 0;
    }
    return st;
}

/* hex[i]: the SHA-256 of dir/names[i]. */
static eco_status file_digests(const char *dir, char **names, size_t n, char (*hex)[65]) {
    for (size_t i = 0; i < n; i++) {
        char *p = eco_path_join(dir, names[i]);
        eco_status st = p ? eco_sha256_file_hex(p, hex[i])
                          : eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
        free(p);
        if (st) return st;
    }
    return ECO_STATUS_OK;
}

eco_status eco_weights_lineage_entry(const char *dir, const char *role,
                                     const char *const *given_names, const char *const *given,
                                     size_t n_given, json_t **out) {
    *out = NULL;
    char **names = NULL;
    size_t n = 0;
    eco_status st = ECO_STATUS_OK;
    if (given_names) {
        names = (char **)given_names; /* borrowed: not freed below */
        n = n_given;
    } else if ((st = eco_weights_files(dir, &names, &n)))
        return st;
    if (n == 0) return eco_error(ECO_STATUS_EINVAL, "%s: no weights files", dir);
    char(*hex)[ECO_SHA256_HEX_LEN + 1] = eco_malloc_array(n, sizeof *hex);
    if (!hex) st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
    for (size_t i = 0; !st && given && i < n; i++) snprintf(hex[i], sizeof hex[i], "%s", given[i]);
    if (!st && !given) st = file_digests(dir, names, n, hex);
    if (!st && given && !given_names)
        st = eco_error(ECO_STATUS_EINVAL, "%s: digests given without their files", dir);
    json_t *e = NULL;
    if (!st) {
        e = json_pack("{s:s, s:s, s:s}", "role", role, "file", names[0], "sha256", hex[0]);
        json_t *shards = n > 1 ? json_array() : NULL;
        for (size_t i = 1; e && shards && i < n; i++)
            if (json_array_append_new(
                    shards, json_pack("{s:s, s:s}", "file", names[i], "sha256", hex[i]))) {
                json_decref(shards);
                shards = NULL;
            }
        if (e && n > 1 && (!shards || json_object_set_new(e, "shards", shards))) {
            json_decref(e);
            e = NULL;
        }
        if (!e) st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
    }
    free(hex);
    if (!given_names) eco_weights_files_free(names, n);
    *out = e;
    return st;
}

eco_status eco_weights_digest(const char *dir, char out[ECO_SHA256_HEX_LEN + 1]) {
    char **names = NULL;
    size_t n = 0;
    eco_status st = eco_weights_files(dir, &names, &n);
    if (st) return st;
    char(*hex)[ECO_SHA256_HEX_LEN + 1] = eco_malloc_array(n, sizeof *hex);
    st = hex ? file_digests(dir, names, n, hex) : eco_error(ECO_STATUS_ENOMEM, "out of memory");
    if (!st && n == 1) memcpy(out, hex[0], sizeof hex[0]);
    if (!st && n > 1) { /* sha256sum's lines, "H  F\n", index first then the shards */
        eco_buf b = {0};
        for (size_t i = 0; !st && i < n; i++)
            if (!eco_buf_printf(&b, "%s  %s\n", hex[i], names[i]))
                st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
        if (!st) st = eco_sha256_hex(b.data, b.len, out);
        eco_buf_free(&b);
    }
    free(hex);
    eco_weights_files_free(names, n);
    return st;
}
