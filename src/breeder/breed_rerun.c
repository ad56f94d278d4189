/*
 * eco_breed_rerun: the recorded operation of a registered child bred again, its bytes
 * compared with the registered ones (breeder.h).
 *
 * What is re-run comes from the registry: the child's verified checkout holds the
 * lineage.json its operator wrote (operation name, parameters, seed, parents with their
 * roles, corpus hashes), and its genome names the parents' ids in the record's order.
 */
#include "ecology/breeder.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Copies the regular files at the top of src into dst (flat model folders). */
static eco_status copy_flat(const char *src, const eco_manifest *m, const char *dst) {
    eco_status st = ECO_STATUS_OK;
    for (size_t i = 0; i < m->n && !st; i++) {
        char *from = eco_path_join(src, m->files[i].name),
             *to = eco_path_join(dst, m->files[i].name);
        char *data = NULL;
        size_t len = 0;
        if (!from || !to)
            st = eco_error(ECO_STATUS_ENOMEM, "rerun: out of memory");
        else if (strchr(m->files[i].name, '/'))
            st = eco_error(ECO_STATUS_EUNSUPPORTED, "rerun: %s: sub-folders are not copied",
                           m->files[i].name);
        else if (!(st = eco_read_file(from, SIZE_MAX, &data, &len)))
            st = eco_write_file_atomic(to, data, len);
        free(data);
        free(from);
        free(to);
    }
    return st;
}

/* The first difference between the re-bred folder's manifest and the registered one. */
static bool same_files(const eco_manifest *got, const eco_manifest *want, char *diff,
                       size_t diff_len) {
    for (size_t i = 0; i < want->n; i++) {
        const eco_file_entry *g = eco_manifest_find(got, want->files[i].name);
        if (!g) {
            snprintf(diff, diff_len, "%s: not written by the re-run", want->files[i].name);
            return false;
        }
        if (strcmp(g->sha256, want->files[i].sha256) != 0 || g->size != want->files[i].size) {
            snprintf(diff, diff_len, "%s: different bytes (sha256 %.12s... vs %.12s...)",
                     want->files[i].name, g->sha256, want->files[i].sha256);
            return false;
        }
    }
    for (size_t i = 0; i < got->n; i++)
        if (!eco_manifest_find(want, got->files[i].name)) {
            snprintf(diff, diff_len, "%s: written by the re-run, not registered",
                     got->files[i].name);
            return false;
        }
    return true;
}

/* "parents[j]" / "steps[k]" into ref. */
static bool parse_ref(const char *s, eco_breed_chain_ref *ref) {
    size_t idx = 0;
    int used = 0;
    if (!s) return false;
    if (sscanf(s, "parents[%zu]%n", &idx, &used) == 1 && s[used] == '\0')
        ref->step = false;
    else if (sscanf(s, "steps[%zu]%n", &idx, &used) == 1 && s[used] == '\0')
        ref->step = true;
    else
        return false;
    ref->index = idx;
    return true;
}

/* A recipe's record (params.steps) run again as a chain over the genome's parents. */
static eco_status rerun_recipe(eco_registry *r, const eco_genome *g, const json_t *params,
                               const char *const *corpora, size_t n_corpora, eco_breed_result *res,
                               char **work, char **child) {
    const json_t *steps = json_object_get(params, "steps");
    size_t n = json_array_size(steps);
    if (n == 0) return eco_error(ECO_STATUS_EFORMAT, "rerun: '%s': a recipe without steps", g->id);
    eco_breed_chain_step *cs = eco_calloc_array(n, sizeof *cs);
    if (!cs) return eco_error(ECO_STATUS_ENOMEM, "rerun: out of memory");
    eco_status st = ECO_STATUS_OK;
    for (size_t i = 0; i < n && !st; i++) {
        const json_t *e = json_array_get(steps, i), *inputs = json_object_get(e, "inputs");
        const json_t *seed = json_object_get(e, "seed");
        cs[i].op = json_string_value(json_object_get(e, "op"));
        cs[i].params = json_object_get(e, "params");
        cs[i].seed = json_is_integer(seed) ? (uint64_t)json_integer_value(seed) : 0;
        cs[i].n_inputs = json_array_size(inputs);
        bool ok = cs[i].op && json_is_object(cs[i].params) && json_is_integer(seed) &&
                  json_integer_value(seed) >= 0 && cs[i].n_inputs >= 1 &&
                  cs[i].n_inputs < ECO_BREEDER_MAX_INPUTS;
        for (size_t k = 0; ok && k < cs[i].n_inputs; k++)
            ok = parse_ref(json_string_value(json_array_get(inputs, k)), &cs[i].inputs[k]);
        const json_t *base = json_object_get(e, "base");
        if (ok && base) {
            cs[i].has_base = true;
            ok = parse_ref(json_string_value(base), &cs[i].base);
        }
        if (!ok)
            st = eco_error(ECO_STATUS_EFORMAT, "rerun: '%s': its recipe's steps[%zu] is malformed",
                           g->id, i);
    }
    const char *name = json_string_value(json_object_get(params, "name"));
    eco_breed_chain_options co = {.name = name && *name ? name : NULL,
                                  .parents = (const char *const *)g->parents,
                                  .n_parents = g->n_parents,
                                  .steps = cs,
                                  .n_steps = n,
                                  .corpora = corpora,
                                  .n_corpora = n_corpora};
    if (!st) st = eco_breed_chain_to_dir(r, &co, res, work, child);
    free(cs);
    return st;
}

eco_status eco_breed_rerun(eco_registry *r, const char *ref, const char *const *corpora,
                           size_t n_corpora, const char *out, bool force,
                           eco_breed_rerun_report *rep) {
    if (!r || !ref || !rep) return eco_error(ECO_STATUS_EINVAL, "rerun: NULL argument");
    memset(rep, 0, sizeof *rep);
    char *dir = NULL, *work = NULL, *child = NULL, *rec_path = NULL;
    eco_genome g = {0};
    json_t *rec = NULL;
    eco_manifest got = {0};
    eco_breed_result res = {0};
    eco_status st = eco_registry_checkout(r, ref, &dir, &g);
    if (st) return st;
    if (out && (st = eco_output_check(out, (const char *const *)&dir, 1, NULL,
                                      force ? ECO_OUTPUT_FORCE : 0)))
        goto out;
    if (!(rec_path = eco_path_join(dir, ECO_LINEAGE_FILE))) {
        st = eco_error(ECO_STATUS_ENOMEM, "rerun: out of memory");
        goto out;
    }
    if (!eco_path_has_file(dir, ECO_LINEAGE_FILE)) {
        st = eco_error(ECO_STATUS_EINVAL,
                       "rerun: '%s' was not made by a breeding operator (its lineage: '%s', no %s)",
                       g.id, g.op_name, ECO_LINEAGE_FILE);
        goto out;
    }
    json_error_t err;
    rec = json_load_file(rec_path, JSON_REJECT_DUPLICATES, &err);
    json_t *op_rec = json_object_get(rec, "operation");
    json_t *params = json_object_get(op_rec, "params");
    json_t *prec = json_object_get(rec, "parents");
    const char *op_name = json_string_value(json_object_get(op_rec, "name"));
    if (!json_is_object(params) || !json_is_array(prec) || !op_name) {
        st = eco_error(ECO_STATUS_EFORMAT, "rerun: %s of '%s': not a lineage record",
                       ECO_LINEAGE_FILE, g.id);
        goto out;
    }
    const bool recipe = strcmp(op_name, "recipe") == 0;
    const eco_breeder_op *op = NULL;
    if (!recipe && (st = eco_breeder_op_for_record(op_name, params, &op))) goto out;
    if (json_array_size(prec) != g.n_parents) {
        st =
            eco_error(ECO_STATUS_EINTEGRITY, "rerun: '%s': %zu parents recorded, %zu in its genome",
                      g.id, json_array_size(prec), g.n_parents);
        goto out;
    }
    /* the recorded base (θ₀), first; fold's base is its first parent */
    const char *role0 = json_string_value(json_object_get(json_array_get(prec, 0), "role"));
    const bool has_base =
        !recipe && role0 && strcmp(role0, "base") == 0 && strcmp(op->name, "fold") != 0;
    const json_t *rec_corpora = json_object_get(rec, "corpora");
    if (n_corpora == 0 && json_array_size(rec_corpora) > 0) {
        st = eco_error(ECO_STATUS_EINVAL,
                       "rerun: '%s' was bred on %zu corpora (sha256 %.12s...): give them, in "
                       "their original order",
                       g.id, json_array_size(rec_corpora),
                       json_string_value(json_array_get(rec_corpora, 0)));
        goto out;
    }
    for (size_t k = 0; k < n_corpora; k++) {
        char hex[ECO_SHA256_HEX_LEN + 1];
        if ((st = eco_breed_corpus_hash(corpora[k], hex))) goto out;
        bool known = false;
        for (size_t i = 0; i < json_array_size(rec_corpora); i++) {
            const char *v = json_string_value(json_array_get(rec_corpora, i));
            known = known || (v && strcmp(v, hex) == 0);
        }
        if (!known) {
            st = eco_error(ECO_STATUS_EINVAL,
                           "rerun: corpus %s (sha256 %.12s...) is not one '%s' was bred on",
                           corpora[k], hex, g.id);
            goto out;
        }
    }
    if (recipe) {
        st = rerun_recipe(r, &g, params, corpora, n_corpora, &res, &work, &child);
    } else {
        eco_breed_options bo = {.op = op->name,
                                .parents = (const char *const *)g.parents + (has_base ? 1 : 0),
                                .n_parents = g.n_parents - (has_base ? 1 : 0),
                                .base = has_base ? g.parents[0] : NULL,
                                .params = params,
                                .corpora = corpora,
                                .n_corpora = n_corpora};
        json_t *seed = json_object_get(op_rec, "seed");
        json_t *with_seed = json_deep_copy(params);
        if (!with_seed || (json_is_integer(seed) && !json_object_get(params, "seed") &&
                           json_object_set(with_seed, "seed", seed))) {
            json_decref(with_seed);
            st = eco_error(ECO_STATUS_ENOMEM, "rerun: out of memory");
            goto out;
        }
        bo.params = with_seed;
        st = eco_breed_to_dir(r, &bo, &res, &work, &child);
        json_decref(with_seed);
    }
    if (st) goto out;
    static const char *const skip[] = {ECO_GENOME_FILE, ECO_SIGNATURE_FILE, NULL};
    if ((st = eco_manifest_from_dir(child, skip, &got))) goto out;
    rep->n_files = g.files.n;
    rep->same = same_files(&got, &g.files, rep->first_diff, sizeof rep->first_diff);
    if (out) {
        eco_output_dir od = {0};
        if ((st = eco_output_begin(&od, out, (const char *const *)&dir, 1, NULL,
                                   force ? ECO_OUTPUT_FORCE : 0)))
            goto out;
        /* the re-bred folder moved in place of the empty temporary one (a copy across file
         * systems) */
        const bool moved = rmdir(od.tmp) == 0 && rename(child, od.tmp) == 0;
        if (!moved && (st = eco_mkdir_p(od.tmp)) == ECO_STATUS_OK)
            st = copy_flat(child, &got, od.tmp);
        if (st) {
            eco_output_abort(&od);
            goto out;
        }
        st = eco_output_commit(&od);
    }
out:
    eco_breed_result_free(&res);
    eco_manifest_free(&got);
    if (work) (void)eco_remove_tree(work);
    free(work);
    free(child);
    json_decref(rec);
    free(rec_path);
    free(dir);
    eco_genome_free(&g);
    return st;
}
