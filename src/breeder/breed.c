/*
 * eco_breed: an operator over registered parents → a registered, signed child (breeder.h).
 *
 *   parents (ids or aliases) → resolved, checked out (every object verified)
 *   supports()               → refused with the reason, or
 *   breed() into <data>/work/breed.<pid>.<n>/child/   (lineage.json written by the operator;
 *                                                     the corpus hash added to it here)
 *   add (eco_registry_add_dir): genome from the folder and its lineage.json, signed
 *   the working folder removed
 */
#include "ecology/breeder.h"
#include "ecology/data.h"
#include "breeder/breed_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void eco_breed_result_free(eco_breed_result *res) {
    if (!res) return;
    free(res->id);
    eco_genome_free(&res->genome);
    memset(res, 0, sizeof *res);
}

/* The checked-out parents of a run (base first when there is one). */
typedef struct breed_inputs {
    size_t n;
    char *ids[ECO_BREEDER_MAX_INPUTS];
    char *dirs[ECO_BREEDER_MAX_INPUTS];
    eco_genome genomes[ECO_BREEDER_MAX_INPUTS];
} breed_inputs;

static void inputs_free(breed_inputs *in) {
    for (size_t i = 0; i < in->n; i++) {
        free(in->ids[i]);
        free(in->dirs[i]);
        eco_genome_free(&in->genomes[i]);
    }
    in->n = 0;
}

/* Resolves and checks out ref as input in->n. */
static eco_status add_input(eco_registry *r, const char *ref, breed_inputs *in) {
    if (in->n >= ECO_BREEDER_MAX_INPUTS)
        return eco_error(ECO_STATUS_EINVAL, "breed: more than %d parents",
                         ECO_BREEDER_MAX_INPUTS - 1);
    char *id = NULL;
    eco_status st = eco_registry_resolve(r, ref, &id);
    if (st) return eco_error_wrap(st, "breed: parent '%s'", ref);
    for (size_t i = 0; i < in->n; i++)
        if (strcmp(in->ids[i], id) == 0) {
            st = eco_error(ECO_STATUS_EINVAL, "breed: '%s' is named twice (as '%s')", id, ref);
            free(id);
            return st;
        }
    const size_t k = in->n;
    in->ids[k] = id;
    in->dirs[k] = NULL;
    memset(&in->genomes[k], 0, sizeof in->genomes[k]);
    in->n++;
    st = eco_registry_checkout(r, id, &in->dirs[k], &in->genomes[k]);
    if (st) return eco_error_wrap(st, "breed: parent '%s'", ref);
    return ECO_STATUS_OK;
}

/* A fresh working folder under <data>/work/ (malloc'd). */
eco_status eco_breed_make_work_dir(eco_registry *r, const char *label, char **out) {
    static unsigned seq;
    *out = NULL;
    char *root = eco_path_join(eco_registry_data_dir(r), "work");
    if (!root) return eco_error(ECO_STATUS_ENOMEM, "breed: out of memory");
    eco_status st = eco_mkdir_p(root);
    char name[96];
    for (int tries = 0; !st && tries < 1000 && !*out; tries++) {
        snprintf(name, sizeof name, "%s.%ld.%u", label, (long)getpid(), seq++);
        char *p = eco_path_join(root, name);
        if (!p) {
            st = eco_error(ECO_STATUS_ENOMEM, "breed: out of memory");
            break;
        }
        if (!eco_path_is_dir(p) && eco_mkdir_p(p) == ECO_STATUS_OK)
            *out = p;
        else
            free(p);
    }
    free(root);
    if (!st && !*out)
        st = eco_error(ECO_STATUS_EIO, "breed: cannot make a working folder under %s/work",
                       eco_registry_data_dir(r));
    return st;
}

eco_status eco_breed_corpus_hash(const char *path, char hex[ECO_SHA256_HEX_LEN + 1]) {
    eco_data_corpus *c = NULL;
    eco_status st = eco_data_corpus_load(path, &c);
    if (st) return eco_error_wrap(st, "breed: corpus %s", path);
    memcpy(hex, c->sha256_hex, ECO_SHA256_HEX_LEN + 1);
    eco_data_corpus_free(c);
    return ECO_STATUS_OK;
}

/* Adds the corpora's hashes to the child's lineage.json ("corpora", sorted, unique). */
eco_status eco_breed_record_corpora(const char *child, const char *const *corpora, size_t n) {
    char *path = eco_path_join(child, ECO_LINEAGE_FILE);
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "breed: out of memory");
    json_error_t err;
    eco_status st = ECO_STATUS_OK;
    json_t *rec = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(rec)) {
        st = eco_error(ECO_STATUS_EINTERNAL, "breed: %s: the operator's record: %s", path,
                       rec ? "not an object" : err.text);
        goto out;
    }
    json_t *c = json_object_get(rec, "corpora");
    if (!c) {
        c = json_array();
        if (!c || json_object_set_new(rec, "corpora", c)) {
            st = eco_error(ECO_STATUS_ENOMEM, "breed: out of memory");
            goto out;
        }
    }
    for (size_t k = 0; k < n; k++) {
        char hex[ECO_SHA256_HEX_LEN + 1];
        if ((st = eco_breed_corpus_hash(corpora[k], hex))) goto out;
        size_t at = 0;
        const char *v;
        while (at < json_array_size(c) && (v = json_string_value(json_array_get(c, at))) &&
               strcmp(v, hex) < 0)
            at++;
        v = json_string_value(json_array_get(c, at));
        if (v && strcmp(v, hex) == 0) continue;
        if (json_array_insert_new(c, at, json_string(hex))) {
            st = eco_error(ECO_STATUS_ENOMEM, "breed: out of memory");
            goto out;
        }
    }
    st = eco_json_write_canonical_file(path, rec);
out:
    json_decref(rec);
    free(path);
    return st;
}

eco_status eco_breed_implied_base(eco_registry *r, const eco_breeder_op *op,
                                  const char *const *parents, size_t n_parents,
                                  const json_t *params, char **base) {
    *base = NULL;
    if (strcmp(op->name, "distill") == 0) {
        const char *student = json_string_value(json_object_get(params, "student"));
        if (student && !(*base = eco_strdup(student)))
            return eco_error(ECO_STATUS_ENOMEM, "breed: out of memory");
        return ECO_STATUS_OK;
    }
    if ((strcmp(op->name, "finetune") != 0 && strcmp(op->name, "rl") != 0) || n_parents != 1)
        return ECO_STATUS_OK;
    char *id = NULL;
    eco_genome g = {0};
    eco_status st = eco_registry_resolve(r, parents[0], &id);
    if (!st) st = eco_registry_get(r, id, &g, NULL);
    if (!st && g.kind == ECO_GENOME_KIND_ADAPTER && g.base && !(*base = eco_strdup(g.base)))
        st = eco_error(ECO_STATUS_ENOMEM, "breed: out of memory");
    free(id);
    eco_genome_free(&g);
    if (st) eco_clear_error(); /* the parent's own lookup reports it */
    return st == ECO_STATUS_ENOMEM ? st : ECO_STATUS_OK;
}

eco_status eco_breed_to_dir(eco_registry *r, const eco_breed_options *o, eco_breed_result *res,
                            char **work, char **dir) {
    *work = *dir = NULL;
    if (res) memset(res, 0, sizeof *res);
    if (!r || !o || !o->op || (o->n_parents && !o->parents))
        return eco_error(ECO_STATUS_EINVAL, "breed: NULL argument");
    const eco_breeder_op *op = NULL;
    eco_status st = eco_breeder_op_find(o->op, &op);
    if (st) return st;
    if (o->n_parents == 0) return eco_error(ECO_STATUS_EINVAL, "breed %s: no parents", o->op);
    if (o->params && !json_is_object(o->params))
        return eco_error(ECO_STATUS_EINVAL, "breed %s: params: not a JSON object", o->op);
    if (o->n_corpora && !o->corpora) return eco_error(ECO_STATUS_EINVAL, "breed: NULL argument");
    for (size_t i = 0; i < o->n_corpora; i++) {
        struct stat sb;
        if (!o->corpora[i] || stat(o->corpora[i], &sb) != 0 || !S_ISREG(sb.st_mode))
            return eco_error(ECO_STATUS_ENOTFOUND, "breed %s: corpus %s: no such file", o->op,
                             o->corpora[i] ? o->corpora[i] : "(null)");
    }
    breed_inputs in = {0};
    json_t *empty = NULL;
    char *implied = NULL;
    const char *base = o->base;
    if (!base &&
        (st = eco_breed_implied_base(r, op, o->parents, o->n_parents, o->params, &implied)))
        goto out;
    if (!base) base = implied;
    if (base && (st = add_input(r, base, &in))) goto out;
    for (size_t i = 0; i < o->n_parents && !st; i++) st = add_input(r, o->parents[i], &in);
    if (st) goto out;
    const eco_genome *gs[ECO_BREEDER_MAX_INPUTS];
    for (size_t i = 0; i < in.n; i++) gs[i] = &in.genomes[i];
    char reason[512] = "";
    if (!op->supports(op, gs, in.n, base != NULL, reason, sizeof reason)) {
        if (res) {
            res->refused = true;
            snprintf(res->reason, sizeof res->reason, "%s", reason);
        }
        st = eco_error(ECO_STATUS_EINVAL, "breed %s: refused: %s", op->name, reason);
        goto out;
    }
    eco_breed_parent bp[ECO_BREEDER_MAX_INPUTS];
    for (size_t i = 0; i < in.n; i++)
        bp[i] = (eco_breed_parent){.id = in.ids[i],
                                   .dir = in.dirs[i],
                                   .genome = &in.genomes[i],
                                   .role = base && i == 0 ? "base" : "parent"};
    if ((st = eco_breed_make_work_dir(r, "breed", work))) goto out;
    if (!(*dir = eco_path_join(*work, "child"))) {
        st = eco_error(ECO_STATUS_ENOMEM, "breed: out of memory");
        goto out;
    }
    const json_t *params = o->params;
    if (!params && !(params = empty = json_object())) {
        st = eco_error(ECO_STATUS_ENOMEM, "breed: out of memory");
        goto out;
    }
    if ((st = op->breed(op, bp, in.n, o->corpora, o->n_corpora, params, *dir))) goto out;
    if (!eco_path_has_file(*dir, ECO_LINEAGE_FILE)) {
        st = eco_error(ECO_STATUS_EINTERNAL, "breed %s: the operator wrote no %s", op->name,
                       ECO_LINEAGE_FILE);
        goto out;
    }
    if (o->n_corpora && (st = eco_breed_record_corpora(*dir, o->corpora, o->n_corpora))) goto out;
out:
    free(implied);
    json_decref(empty);
    inputs_free(&in);
    if (st) eco_breed_work_drop(work, dir);
    return st;
}

void eco_breed_work_drop(char **work, char **dir) {
    if (*work) (void)eco_remove_tree(*work);
    free(*work);
    free(*dir);
    *work = *dir = NULL;
}

/* "<op>-<12 hex of the folder's manifest root>" (malloc'd). */
static eco_status default_id(const char *op, const char *dir, char **id) {
    static const char *const skip[] = {ECO_GENOME_FILE, ECO_SIGNATURE_FILE, NULL};
    eco_manifest m = {0};
    char root[ECO_SHA256_HEX_LEN + 1];
    eco_status st = eco_manifest_from_dir(dir, skip, &m);
    if (!st) st = eco_manifest_root(&m, root);
    eco_manifest_free(&m);
    if (st) return st;
    size_t len = strlen(op) + 14;
    if (!(*id = malloc(len))) return eco_error(ECO_STATUS_ENOMEM, "breed: out of memory");
    snprintf(*id, len, "%s-%.12s", op, root);
    return ECO_STATUS_OK;
}

eco_status eco_breed_register(eco_registry *r, const char *dir, const char *label,
                              const char *const *parents, size_t n_parents, const char *id,
                              const char *sign_key, const char *created_at, bool progress,
                              eco_breed_result *res) {
    eco_status st = ECO_STATUS_OK;
    char *adapter_base = NULL, *own_id = NULL;
    /* the child claims the union of its parents' capabilities (the registry sorts and
     * dedups them): what its evaluation then measures, and what a capability route finds */
    char **caps = NULL;
    size_t n_caps = 0;
    for (size_t i = 0; i < n_parents && !st; i++) {
        eco_genome pg = {0};
        char *pid = NULL;
        if ((st = eco_registry_resolve(r, parents[i], &pid)) == ECO_STATUS_OK &&
            (st = eco_registry_get(r, pid, &pg, NULL)) == ECO_STATUS_OK && pg.n_capabilities) {
            char **grown = realloc(caps, (n_caps + pg.n_capabilities) * sizeof *caps);
            if (!grown) st = eco_error(ECO_STATUS_ENOMEM, "breed: out of memory");
            if (grown) caps = grown;
            for (size_t k = 0; !st && k < pg.n_capabilities; k++) {
                if (!(caps[n_caps] = eco_strdup(pg.capabilities[k])))
                    st = eco_error(ECO_STATUS_ENOMEM, "breed: out of memory");
                else
                    n_caps++;
            }
        }
        free(pid);
        eco_genome_free(&pg);
    }
    if (st) goto out;
    /* an adapter child keeps the base model of its first adapter parent */
    for (size_t i = 0;
         i < n_parents && !adapter_base && !st && eco_path_has_file(dir, "adapter_config.json");
         i++) {
        eco_genome pg = {0};
        char *pid = NULL;
        if ((st = eco_registry_resolve(r, parents[i], &pid)) == ECO_STATUS_OK &&
            (st = eco_registry_get(r, pid, &pg, NULL)) == ECO_STATUS_OK &&
            pg.kind == ECO_GENOME_KIND_ADAPTER && pg.base && !(adapter_base = eco_strdup(pg.base)))
            st = eco_error(ECO_STATUS_ENOMEM, "breed: out of memory");
        free(pid);
        eco_genome_free(&pg);
    }
    if (st) goto out;
    if (!id) {
        if ((st = default_id(label, dir, &own_id))) goto out;
        id = own_id;
    }
    eco_add_options ao = {.id = id,
                          .base = adapter_base,
                          .capabilities = (const char *const *)caps,
                          .n_capabilities = n_caps,
                          .sign_key = sign_key,
                          .created_at = created_at,
                          .progress = progress};
    if ((st = eco_registry_add_dir(r, dir, &ao, &res->genome))) {
        st = eco_error_wrap(st, "%s: registering the child '%s'", label, id);
        goto out;
    }
    if (!(res->id = eco_strdup(id))) st = eco_error(ECO_STATUS_ENOMEM, "breed: out of memory");
out:
    for (size_t k = 0; k < n_caps; k++) free(caps[k]);
    free(caps);
    free(adapter_base);
    free(own_id);
    return st;
}

eco_status eco_breed(eco_registry *r, const eco_breed_options *o, eco_breed_result *res) {
    eco_breed_result local;
    if (!res) res = &local;
    char *work = NULL, *dir = NULL;
    eco_status st = eco_breed_to_dir(r, o, res, &work, &dir);
    if (st) {
        if (res == &local) eco_breed_result_free(res);
        return st;
    }
    st = eco_breed_register(r, dir, o->op, o->parents, o->n_parents, o->id, o->sign_key,
                            o->created_at, o->progress, res);
    eco_breed_work_drop(&work, &dir);
    if (res == &local) eco_breed_result_free(res);
    return st;
}
