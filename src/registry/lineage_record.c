/*
 * The lineage record of a model folder made without training (lineage.json,
 * ECO_LINEAGE_FILE in core.h: `model create`, `model merge`), read by add (ingest.c).
 *
 * The operation (name, params, seed) becomes the genome's lineage operation. A merge's
 * parents are found among the registered models by content: the registered model whose
 * manifest holds the record's file with the record's digest (a base for role "base", an
 * adapter for role "adapter"; the first registered when several hold the same bytes), so
 * neither folder paths nor names matter. add's --base, when given, names the base instead.
 * The record is hostile input like any file of a folder: wrong types, unknown roles and
 * malformed digests are EFORMAT naming the field.
 */
#include "registry/registry_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static eco_status bad(const char *path, const char *field, const char *what) {
    return eco_error(ECO_STATUS_EFORMAT, "%s: %s: %s", path, field, what);
}

static bool hex64(const char *s) {
    if (!s || strlen(s) != ECO_SHA256_HEX_LEN) return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return false;
    return true;
}

/* The id of the first registered model of the wanted kind (adapter or not) whose file
 * `name` has digest hex; ENOTFOUND naming the record's entry otherwise. *id malloc'd. */
static eco_status find_by_file(eco_registry *r, bool adapter, const char *name, const char *hex,
                               const char *label, char **id) {
    char **ids = NULL;
    size_t n = 0;
    eco_registry_filter f = {.kind = adapter ? "adapter" : NULL};
    eco_status st = eco_registry_list(r, &f, &ids, &n);
    if (st) return st;
    *id = NULL;
    for (size_t i = 0; i < n && !*id && !st; i++) {
        eco_genome g = {0};
        if ((st = eco_registry_get(r, ids[i], &g, NULL))) break;
        const eco_file_entry *e = eco_manifest_find(&g.files, name);
        if ((g.kind == ECO_GENOME_KIND_ADAPTER) == adapter && e && strcmp(e->sha256, hex) == 0 &&
            !(*id = eco_strdup(ids[i])))
            st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
        eco_genome_free(&g);
    }
    eco_registry_ids_free(ids, n);
    if (!st && !*id)
        st = eco_error(ECO_STATUS_ENOTFOUND,
                       "%s: no registered %s holds %s with sha256 %.12s...: add it first%s", label,
                       adapter ? "adapter" : "model", name, hex,
                       adapter ? "" : " (or give --base ID)");
    return st;
}

eco_status eco_ingest_lineage_record(eco_registry *r, const char *dir, const char *base_override,
                                     eco_genome *g, char **base_id) {
    *base_id = NULL;
    char *path = eco_path_join(dir, ECO_LINEAGE_FILE);
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
    struct stat sb;
    if (stat(path, &sb) != 0) {
        free(path);
        return ECO_STATUS_OK;
    }
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    eco_status st = ECO_STATUS_OK;
    char **parents = NULL;
    size_t n_parents = 0;
    if (!root) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: line %d: %s", path, err.line, err.text);
        goto out;
    }
    json_t *op = json_object_get(root, "operation"), *plist = json_object_get(root, "parents");
    json_t *name = json_object_get(op, "name"), *params = json_object_get(op, "params"),
           *seed = json_object_get(op, "seed");
    if (!json_is_object(op)) {
        st = bad(path, "operation", "missing or not an object");
        goto out;
    }
    if (!json_is_string(name) || (strcmp(json_string_value(name), "create") != 0 &&
                                  strcmp(json_string_value(name), "merge") != 0)) {
        st = bad(path, "operation.name", "expected \"create\" or \"merge\"");
        goto out;
    }
    if (!json_is_object(params)) {
        st = bad(path, "operation.params", "missing or not an object");
        goto out;
    }
    if (!json_is_integer(seed) || json_integer_value(seed) < 0) {
        st = bad(path, "operation.seed", "not an integer >= 0");
        goto out;
    }
    if (!json_is_array(plist) || json_array_size(plist) > 2) {
        st = bad(path, "parents", "missing, not an array or more than two entries");
        goto out;
    }
    const bool merge = strcmp(json_string_value(name), "merge") == 0;
    if (merge != (json_array_size(plist) == 2)) {
        st = bad(path, "parents",
                 merge ? "a merge needs its base and adapter" : "a created model has no parents");
        goto out;
    }
    parents = eco_calloc_array(2, sizeof *parents);
    if (!parents) {
        st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(plist); i++) {
        json_t *p = json_array_get(plist, i);
        const char *role = json_string_value(json_object_get(p, "role"));
        const char *file = json_string_value(json_object_get(p, "file"));
        const char *hex = json_string_value(json_object_get(p, "sha256"));
        char label[64];
        snprintf(label, sizeof label, "parents[%zu]", i);
        const char *want = i == 0 ? "base" : "adapter";
        if (!role || strcmp(role, want) != 0) {
            st = bad(path, label, i == 0 ? "role is not \"base\"" : "role is not \"adapter\"");
            goto out;
        }
        if (!file || !*file || strlen(file) > 256 || !hex64(hex)) {
            st = bad(path, label, "file or sha256 missing or malformed");
            goto out;
        }
        char where[512];
        snprintf(where, sizeof where, "%s: %s (%s)", path, label, role);
        if (i == 0 && base_override) {
            eco_genome bg = {0};
            if ((st = eco_registry_get(r, base_override, &bg, NULL))) goto out;
            eco_genome_free(&bg);
            parents[n_parents] = eco_strdup(base_override);
            if (!parents[n_parents]) st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
        } else {
            st = find_by_file(r, i == 1, file, hex, where, &parents[n_parents]);
        }
        if (st) goto out;
        n_parents++;
    }
    json_t *params_copy = json_deep_copy(params);
    char *op_name = eco_strdup(json_string_value(name));
    if (!params_copy || !op_name) {
        json_decref(params_copy);
        free(op_name);
        st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
        goto out;
    }
    free(g->op_name);
    g->op_name = op_name;
    json_decref(g->op_params);
    g->op_params = params_copy;
    g->op_seed = (uint64_t)json_integer_value(seed);
    if (merge) {
        if (!(*base_id = eco_strdup(parents[0]))) {
            st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
            goto out;
        }
        g->parents = parents;
        g->n_parents = n_parents;
        parents = NULL;
        n_parents = 0;
    }
out:
    for (size_t i = 0; parents && i < n_parents; i++) free(parents[i]);
    free(parents);
    json_decref(root);
    free(path);
    return st;
}
