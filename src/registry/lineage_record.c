/*
 * The lineage record of a model folder made without training, or by a breeding operator
 * (lineage.json, ECO_LINEAGE_FILE in core.h; the general form is merge_dir.h's), read by
 * add (ingest.c):
 *   {"tool": "ecology", "version": V,
 *    "operation": {"name": N, "params": {...}, "seed": S, "result": {...}},   result optional
 *    "parents": [{"role": "base" | "parent" | "adapter", "file": F, "sha256": H,
 *                 "shards": [{"file": S, "sha256": H}, ...]}, ...],      shards optional
 *    "corpora": [hex, ...]}                                                   optional
 * N is "create" (no parents), "merge" (`model merge`: roles base then adapter; or a merge
 * method's record: any number of parents, at most one base, first) or one of the breeder's
 * operations (LINEAGE_OPS below). The operation (name, params, seed) becomes the genome's
 * lineage operation, and operation.result is kept as op_params["result"] so that `show`
 * and `lineage` display it. Parents are found among the registered models by content: the
 * registered model whose manifest holds the record's file with the record's digest, and
 * every shard a sharded parent's entry lists with its digest (an entry without "shards", as
 * records written before shards were recorded, matches by its file alone) (not an
 * adapter for role "base", an adapter for "adapter", any model for "parent"; the first
 * registered when several hold the same bytes), so neither folder paths nor names matter.
 * add's --base, when given, names the base instead. The record is hostile input like any
 * file of a folder: wrong types, unknown fields or roles, malformed digests and duplicate
 * parents are EFORMAT naming the field.
 */
#include "core/json_read.h"
#include "registry/registry_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Parents a record may name (a merge's 32 plus its base, with room to spare). */
#define LINEAGE_MAX_PARENTS 64
/* Shards one parent entry may list. */
#define LINEAGE_MAX_SHARDS  100000
/* Corpus hashes a record may name. */
#define LINEAGE_MAX_CORPORA 64

/* Every operation name a record may carry: `model create`, the merges (as "merge" with
 * params.method, or by method name), and the breeder's other operators. */
static const char *const LINEAGE_OPS[] = {
    "create",      "merge",     "fold",        "linear",   "task_arithmetic", "ties",
    "dare_linear", "dare_ties", "breadcrumbs", "della",    "slerp",           "mutate",
    "crossover",   "prune",     "extract",     "quantize", "finetune",        "distill",
    "recipe",      "rl",        NULL};

static bool known_op(const char *name) {
    for (const char *const *p = LINEAGE_OPS; *p; p++)
        if (strcmp(*p, name) == 0) return true;
    return false;
}

typedef enum want_kind { WANT_MODEL, WANT_ADAPTER, WANT_ANY } want_kind;

/* Whether manifest m holds every shard of shards ([{"file", "sha256"}], checked) with its
 * digest; true for NULL (a record without shards). */
static bool shards_match(const eco_manifest *m, const json_t *shards) {
    for (size_t k = 0; k < json_array_size(shards); k++) {
        const json_t *o = json_array_get(shards, k);
        const eco_file_entry *e =
            eco_manifest_find(m, json_string_value(json_object_get(o, "file")));
        if (!e || strcmp(e->sha256, json_string_value(json_object_get(o, "sha256"))) != 0)
            return false;
    }
    return true;
}

/* The id of the first registered model of the wanted kind whose file `name` has digest
 * hex (and, when shards is not NULL, every shard listed its digest); ENOTFOUND naming the
 * record's entry otherwise. *id malloc'd. */
static eco_status find_by_file(eco_registry *r, want_kind want, const char *name, const char *hex,
                               const json_t *shards, const char *label, char **id) {
    char **ids = NULL;
    size_t n = 0;
    eco_registry_filter f = {.kind = want == WANT_ADAPTER ? "adapter" : NULL};
    eco_status st = eco_registry_list(r, &f, &ids, &n);
    if (st) return st;
    *id = NULL;
    for (size_t i = 0; i < n && !*id && !st; i++) {
        eco_genome g = {0};
        if ((st = eco_registry_get(r, ids[i], &g, NULL))) break;
        const eco_file_entry *e = eco_manifest_find(&g.files, name);
        const bool is_adapter = g.kind == ECO_GENOME_KIND_ADAPTER;
        const bool kind_ok = want == WANT_ANY || (want == WANT_ADAPTER) == is_adapter;
        if (kind_ok && e && strcmp(e->sha256, hex) == 0 && shards_match(&g.files, shards) &&
            !(*id = eco_strdup(ids[i])))
            st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
        eco_genome_free(&g);
    }
    eco_registry_ids_free(ids, n);
    if (!st && !*id)
        st = eco_error(ECO_STATUS_ENOTFOUND,
                       "%s: no registered %s holds %s with sha256 %.12s...%s: add it first%s",
                       label, want == WANT_ADAPTER ? "adapter" : "model", name, hex,
                       shards ? " and the shards listed" : "",
                       want == WANT_MODEL ? " (or give --base ID)" : "");
    return st;
}

/* One parsed parent entry (pointers into the document). */
typedef struct rec_parent {
    const char *role, *file, *sha256;
    const json_t *shards; /* NULL when the entry lists none */
} rec_parent;

/* A parent entry's "shards": a non-empty array of {"file", "sha256"}, distinct files. */
static eco_status parse_shards(const eco_jr *e, const json_t *shards) {
    size_t n = json_array_size(shards);
    if (n == 0 || n > LINEAGE_MAX_SHARDS)
        return eco_jr_fail(e, "shards", ECO_STATUS_EFORMAT, "expected 1 to %d entries",
                           LINEAGE_MAX_SHARDS);
    for (size_t k = 0; k < n; k++) {
        const json_t *o = json_array_get(shards, k);
        if (!json_is_object(o))
            return eco_jr_fail(e, "shards", ECO_STATUS_EFORMAT, "entry %zu: expected an object", k);
        eco_jr s = eco_jr_item(e, "shards", k, o);
        static const char *const keys[] = {"file", "sha256", NULL};
        const char *file = NULL, *hex = NULL;
        size_t len = 0;
        eco_status st;
        if ((st = eco_jr_exact(&s, keys)) ||
            (st = eco_jr_str(&s, "file", true, false, &file, NULL)) ||
            (st = eco_jr_str(&s, "sha256", true, false, &hex, &len)))
            return st;
        if (!eco_manifest_name_ok(file) || strlen(file) > 256)
            return eco_jr_fail(&s, "file", ECO_STATUS_EFORMAT, "not a file name of a model");
        if (!eco_hex_is_lower(hex, len, ECO_SHA256_HEX_LEN))
            return eco_jr_fail(&s, "sha256", ECO_STATUS_EFORMAT,
                               "expected 64 lower-case hex digits");
        for (size_t j = 0; j < k; j++)
            if (strcmp(json_string_value(json_object_get(json_array_get(shards, j), "file")),
                       file) == 0)
                return eco_jr_fail(&s, "file", ECO_STATUS_EFORMAT, "the same file as shards[%zu]",
                                   j);
    }
    return ECO_STATUS_OK;
}

/* The shape of the record, checked before anything is looked up. */
static eco_status parse_record(const char *path, const json_t *root, const char **name,
                               const json_t **params, int64_t *seed, const json_t **result,
                               rec_parent *parents, size_t *n_parents, const json_t **corpora) {
    if (!json_is_object(root)) return eco_error(ECO_STATUS_EFORMAT, "%s: not a JSON object", path);
    eco_jr top = eco_jr_root(path, root);
    static const char *const top_keys[] = {"tool",    "version", "operation",
                                           "parents", "corpora", NULL};
    eco_status st = eco_jr_only(&top, top_keys);
    const char *s = NULL;
    if (!st) st = eco_jr_str(&top, "tool", false, false, &s, NULL);
    if (!st) st = eco_jr_str(&top, "version", false, false, &s, NULL);
    const json_t *op = NULL, *plist = NULL;
    if (!st) st = eco_jr_object(&top, "operation", true, &op);
    if (st) return st;
    eco_jr o = eco_jr_child(&top, "operation", op);
    static const char *const op_keys[] = {"name", "params", "seed", "result", NULL};
    size_t name_len = 0;
    if ((st = eco_jr_only(&o, op_keys)) ||
        (st = eco_jr_str(&o, "name", true, false, name, &name_len)))
        return st;
    if (!known_op(*name)) {
        char shown[ECO_JSON_SHOWN_SIZE];
        return eco_jr_fail(&o, "name", ECO_STATUS_EFORMAT,
                           "'%s' is not an operation (create, merge or a breeding operator)",
                           eco_json_shown(*name, name_len, shown));
    }
    *result = NULL;
    if ((st = eco_jr_object(&o, "params", true, params)) ||
        (st = eco_jr_int(&o, "seed", true, 0, INT64_MAX, seed)) ||
        (st = eco_jr_object(&o, "result", false, result)))
        return st;
    if ((st = eco_jr_array(&top, "parents", true, &plist))) return st;
    *n_parents = json_array_size(plist);
    if (*n_parents > LINEAGE_MAX_PARENTS)
        return eco_jr_fail(&top, "parents", ECO_STATUS_EFORMAT, "more than %d entries",
                           LINEAGE_MAX_PARENTS);
    for (size_t i = 0; i < *n_parents; i++) {
        const json_t *p = json_array_get(plist, i);
        if (!json_is_object(p))
            return eco_jr_fail(&top, "parents", ECO_STATUS_EFORMAT, "entry %zu: expected an object",
                               i);
        eco_jr e = eco_jr_item(&top, "parents", i, p);
        static const char *const p_keys[] = {"role", "file", "sha256", "shards", NULL};
        rec_parent *rp = &parents[i];
        size_t len = 0;
        rp->shards = NULL;
        if ((st = eco_jr_only(&e, p_keys)) ||
            (st = eco_jr_str(&e, "role", true, false, &rp->role, NULL)) ||
            (st = eco_jr_str(&e, "file", true, false, &rp->file, NULL)) ||
            (st = eco_jr_str(&e, "sha256", true, false, &rp->sha256, &len)) ||
            (st = eco_jr_array(&e, "shards", false, &rp->shards)) ||
            (rp->shards && (st = parse_shards(&e, rp->shards))))
            return st;
        if (strcmp(rp->role, "base") != 0 && strcmp(rp->role, "parent") != 0 &&
            strcmp(rp->role, "adapter") != 0)
            return eco_jr_fail(&e, "role", ECO_STATUS_EFORMAT,
                               "expected \"base\", \"parent\" or \"adapter\"");
        if (strcmp(rp->role, "base") == 0 && i != 0)
            return eco_jr_fail(&e, "role", ECO_STATUS_EFORMAT,
                               "the base must be the first parent, and only one");
        if (!eco_manifest_name_ok(rp->file) || strlen(rp->file) > 256)
            return eco_jr_fail(&e, "file", ECO_STATUS_EFORMAT, "not a file name of a model");
        if (!eco_hex_is_lower(rp->sha256, len, ECO_SHA256_HEX_LEN))
            return eco_jr_fail(&e, "sha256", ECO_STATUS_EFORMAT,
                               "expected 64 lower-case hex digits");
        for (size_t j = 0; j < i; j++)
            if (strcmp(parents[j].sha256, rp->sha256) == 0 &&
                strcmp(parents[j].file, rp->file) == 0 &&
                (parents[j].shards == rp->shards ||
                 (parents[j].shards && rp->shards && json_equal(parents[j].shards, rp->shards))))
                return eco_jr_fail(&e, NULL, ECO_STATUS_EFORMAT, "the same file as parents[%zu]",
                                   j);
    }
    /* what each operation needs */
    const bool create = strcmp(*name, "create") == 0;
    const bool old_merge =
        strcmp(*name, "merge") == 0 && *n_parents == 2 && strcmp(parents[1].role, "adapter") == 0;
    if (create && *n_parents != 0)
        return eco_jr_fail(&top, "parents", ECO_STATUS_EFORMAT, "a created model has no parents");
    if (!create && *n_parents == 0)
        return eco_jr_fail(&top, "parents", ECO_STATUS_EFORMAT, "'%s' needs at least one parent",
                           *name);
    if (!create && *n_parents == 1 && strcmp(parents[0].role, "base") == 0)
        return eco_jr_fail(&top, "parents", ECO_STATUS_EFORMAT, "a base and no parent");
    if (old_merge && strcmp(parents[0].role, "base") != 0)
        return eco_jr_fail(&top, "parents[0].role", ECO_STATUS_EFORMAT,
                           "a merge of an adapter needs its base first");
    for (size_t i = 0; i < *n_parents && !old_merge; i++)
        if (strcmp(parents[i].role, "adapter") == 0) {
            char at[48];
            snprintf(at, sizeof at, "parents[%zu].role", i);
            return eco_jr_fail(&top, at, ECO_STATUS_EFORMAT,
                               "\"adapter\" only in a merge of an adapter into its base "
                               "(breeding records say \"parent\")");
        }
    *corpora = NULL;
    if ((st = eco_jr_array(&top, "corpora", false, corpora))) return st;
    size_t nc = *corpora ? json_array_size(*corpora) : 0;
    if (nc > LINEAGE_MAX_CORPORA)
        return eco_jr_fail(&top, "corpora", ECO_STATUS_EFORMAT, "more than %d entries",
                           LINEAGE_MAX_CORPORA);
    for (size_t i = 0; i < nc; i++) {
        const char *h = NULL;
        size_t len = 0;
        char at[48];
        snprintf(at, sizeof at, "corpora[%zu]", i);
        if ((st = eco_jr_str_value(&top, at, json_array_get(*corpora, i), false, &h, &len)))
            return st;
        if (!eco_hex_is_lower(h, len, ECO_SHA256_HEX_LEN))
            return eco_jr_fail(&top, at, ECO_STATUS_EFORMAT, "expected 64 lower-case hex digits");
    }
    return ECO_STATUS_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* g's corpora plus the record's, sorted, unique. */
static eco_status add_corpora(eco_genome *g, const json_t *corpora) {
    size_t nc = corpora ? json_array_size(corpora) : 0;
    if (nc == 0) return ECO_STATUS_OK;
    char **v = eco_calloc_array(g->n_corpora + nc, sizeof(char *));
    if (!v) return eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
    size_t n = 0;
    for (size_t i = 0; i < g->n_corpora; i++) v[n++] = g->corpora[i];
    for (size_t i = 0; i < nc; i++) {
        if (!(v[n] = eco_strdup(json_string_value(json_array_get(corpora, i))))) {
            for (size_t k = g->n_corpora; k < n; k++) free(v[k]);
            free(v);
            return eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
        }
        n++;
    }
    qsort(v, n, sizeof *v, cmp_str);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w > 0 && strcmp(v[w - 1], v[i]) == 0) {
            free(v[i]);
            continue;
        }
        v[w++] = v[i];
    }
    free(g->corpora);
    g->corpora = v;
    g->n_corpora = w;
    return ECO_STATUS_OK;
}

eco_status eco_ingest_lineage_record(eco_registry *r, const char *dir, const char *base_override,
                                     bool trained, eco_genome *g, eco_lineage_record_info *info) {
    memset(info, 0, sizeof *info);
    char *path = eco_path_join(dir, ECO_LINEAGE_FILE);
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
    struct stat sb;
    if (stat(path, &sb) != 0) {
        free(path);
        return ECO_STATUS_OK;
    }
    char *text = NULL;
    size_t text_len = 0;
    json_t *root = NULL;
    eco_status st = eco_read_file(path, 16u << 20, &text, &text_len);
    char **parents = NULL;
    size_t n_parents = 0;
    if (st) goto out;
    json_error_t err;
    root = json_loadb(text, text_len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: line %d: %s", path, err.line, err.text);
        goto out;
    }
    const char *name = NULL;
    const json_t *params = NULL, *result = NULL, *corpora = NULL;
    int64_t seed = 0;
    rec_parent rp[LINEAGE_MAX_PARENTS];
    size_t n_rec = 0;
    if ((st = parse_record(path, root, &name, &params, &seed, &result, rp, &n_rec, &corpora)))
        goto out;
    const bool create = strcmp(name, "create") == 0;
    const bool old_merge =
        strcmp(name, "merge") == 0 && n_rec == 2 && strcmp(rp[1].role, "adapter") == 0;
    /* A trained folder's training.json tells how it was made, unless a breeding operator
     * wrote this record (finetune leaves both: the record is the operation). */
    if (trained && (create || old_merge)) goto out;
    parents = n_rec ? eco_calloc_array(n_rec, sizeof *parents) : NULL;
    if (n_rec && !parents) {
        st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_rec; i++) {
        char where[512];
        snprintf(where, sizeof where, "%s: parents[%zu] (%s)", path, i, rp[i].role);
        const bool base = strcmp(rp[i].role, "base") == 0;
        if (base && base_override) {
            eco_genome bg = {0};
            if ((st = eco_registry_get(r, base_override, &bg, NULL))) goto out;
            eco_genome_free(&bg);
            parents[n_parents] = eco_strdup(base_override);
            if (!parents[n_parents]) st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
        } else {
            want_kind want = base                                 ? WANT_MODEL
                             : strcmp(rp[i].role, "adapter") == 0 ? WANT_ADAPTER
                                                                  : WANT_ANY;
            st = find_by_file(r, want, rp[i].file, rp[i].sha256, rp[i].shards, where,
                              &parents[n_parents]);
        }
        if (st) goto out;
        n_parents++;
        for (size_t j = 0; j + 1 < n_parents; j++)
            if (strcmp(parents[j], parents[n_parents - 1]) == 0) {
                st = eco_error(ECO_STATUS_EFORMAT,
                               "%s: parents[%zu]: the same registered model '%s' as parents[%zu]",
                               path, i, parents[j], j);
                goto out;
            }
    }
    json_t *params_copy = json_deep_copy(params);
    char *op_name = eco_strdup(name);
    if (!params_copy || !op_name ||
        (result && json_object_set_new(params_copy, "result", json_deep_copy(result)) != 0)) {
        json_decref(params_copy);
        free(op_name);
        st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
        goto out;
    }
    free(g->op_name);
    g->op_name = op_name;
    json_decref(g->op_params);
    g->op_params = params_copy;
    g->op_seed = (uint64_t)seed;
    if ((st = add_corpora(g, corpora))) goto out;
    info->present = true;
    /* a recipe makes what its last step makes */
    const char *made = name;
    if (strcmp(name, "recipe") == 0) {
        const json_t *steps = json_object_get(params, "steps");
        const char *last = json_string_value(
            json_object_get(json_array_get(steps, json_array_size(steps) - 1), "op"));
        made = last ? last : name;
    }
    info->kind = create                          ? ECO_GENOME_KIND_BASE
                 : strcmp(made, "quantize") == 0 ? ECO_GENOME_KIND_QUANTIZED
                 : strcmp(made, "distill") == 0  ? ECO_GENOME_KIND_DISTILLED
                                                 : ECO_GENOME_KIND_MERGED;
    if (n_parents > 0) {
        info->has_base_role = strcmp(rp[0].role, "base") == 0;
        if (!(info->family = eco_strdup(parents[0]))) {
            st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
            goto out;
        }
        /* the genome's parents are replaced: training.json's --base is not the record's */
        for (size_t i = 0; i < g->n_parents; i++) free(g->parents[i]);
        free(g->parents);
        g->parents = parents;
        g->n_parents = n_parents;
        parents = NULL;
        n_parents = 0;
    }
out:
    for (size_t i = 0; parents && i < n_parents; i++) free(parents[i]);
    free(parents);
    json_decref(root);
    free(text);
    free(path);
    return st;
}
