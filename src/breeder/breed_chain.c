/*
 * Chains of breeding operators (breeder.h's eco_breed_chain; `ecology recipe run`): the
 * registered parents checked out once, each step's operator run into its own folder under
 * <data>/work/recipe.<pid>.<n>/ (step<i>/), a later step reading an earlier one's folder,
 * and the last folder registered with one lineage record holding every step.
 *
 * An intermediate output is not registered, so supports() sees a stand-in genome for it:
 * id "steps[i]", its kind from the folder (adapter or full), the compatibility of the
 * step's first input (a breeding operator keeps its parents' identity; distill's student
 * is its first input).
 */
#include "breeder/breed_internal.h"
#include "ecology/safetensors.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct chain_state {
    size_t n_parents;
    char *ids[ECO_BREEDER_MAX_INPUTS];
    char *dirs[ECO_BREEDER_MAX_INPUTS];
    eco_genome genomes[ECO_BREEDER_MAX_INPUTS];
    size_t n_done;      /* steps run */
    char **step_dirs;   /* [n_steps] */
    eco_genome *step_g; /* [n_steps] stand-ins: id, kind, compatibility only */
    char (*step_ids)[32];
} chain_state;

static void chain_free(chain_state *c, size_t n_steps) {
    for (size_t i = 0; i < c->n_parents; i++) {
        free(c->ids[i]);
        free(c->dirs[i]);
        eco_genome_free(&c->genomes[i]);
    }
    for (size_t i = 0; c->step_dirs && i < n_steps; i++) free(c->step_dirs[i]);
    free(c->step_dirs);
    free(c->step_g);
    free(c->step_ids);
}

static const char *ref_name(eco_breed_chain_ref ref, char *buf, size_t len) {
    snprintf(buf, len, "%s[%zu]", ref.step ? "steps" : "parents", ref.index);
    return buf;
}

/* The folder, genome and id of a reference (checked by check_refs). */
static void ref_get(const chain_state *c, eco_breed_chain_ref ref, const char **dir,
                    const eco_genome **g, const char **id) {
    if (ref.step) {
        *dir = c->step_dirs[ref.index];
        *g = &c->step_g[ref.index];
        *id = c->step_ids[ref.index];
    } else {
        *dir = c->dirs[ref.index];
        *g = &c->genomes[ref.index];
        *id = c->ids[ref.index];
    }
}

static eco_status check_ref(const eco_breed_chain_options *o, size_t step, eco_breed_chain_ref ref,
                            const char *what) {
    if (ref.step ? ref.index >= step : ref.index >= o->n_parents) {
        char b[48];
        return eco_error(ECO_STATUS_EINVAL, "recipe: steps[%zu].%s: %s is not %s", step, what,
                         ref_name(ref, b, sizeof b),
                         ref.step ? "an earlier step" : "one of the parents");
    }
    return ECO_STATUS_OK;
}

/* The weights file that names a registered model in a lineage record. */
static const eco_file_entry *weights_entry(const eco_genome *g) {
    static const char *const names[] = {"adapter_model.safetensors", "model.safetensors",
                                        "model.safetensors.index.json"};
    for (size_t i = 0; i < 3; i++) {
        const eco_file_entry *e = eco_manifest_find(&g->files, names[i]);
        if (e) return e;
    }
    return NULL;
}

/* The lineage entry of a registered sharded model (folder dir): the index and every shard
 * (eco_weights_lineage_entry) with the digests its manifest holds. */
static eco_status sharded_entry(const char *dir, const eco_genome *g, json_t **out) {
    char **names = NULL;
    size_t n = 0;
    eco_status st = eco_weights_files(dir, &names, &n);
    if (st) return st;
    const char **hex = eco_calloc_array(n, sizeof *hex);
    if (!hex) st = eco_error(ECO_STATUS_ENOMEM, "recipe: out of memory");
    for (size_t k = 0; !st && k < n; k++) {
        const eco_file_entry *e = eco_manifest_find(&g->files, names[k]);
        if (!e)
            st = eco_error(ECO_STATUS_EINTEGRITY, "recipe: '%s': %s is not in its manifest", g->id,
                           names[k]);
        else
            hex[k] = e->sha256;
    }
    if (!st) st = eco_weights_lineage_entry(dir, "parent", (const char *const *)names, hex, n, out);
    free(hex);
    eco_weights_files_free(names, n);
    return st;
}

/* steps[i]'s entry of the recipe record, from the operator's own lineage.json in dir. */
static eco_status step_record(const char *dir, const eco_breeder_op *op,
                              const eco_breed_chain_step *s, json_t **out) {
    char *path = eco_path_join(dir, ECO_LINEAGE_FILE);
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "recipe: out of memory");
    json_error_t err;
    json_t *rec = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    json_t *opj = json_object_get(rec, "operation");
    eco_status st = ECO_STATUS_OK;
    json_t *e = NULL, *inputs = json_array();
    if (!json_is_object(opj)) {
        st = eco_error(ECO_STATUS_EINTERNAL, "recipe: %s: the operator's record has no operation",
                       path);
        goto out;
    }
    char b[48];
    for (size_t k = 0; inputs && k < s->n_inputs; k++)
        if (json_array_append_new(inputs, json_string(ref_name(s->inputs[k], b, sizeof b)))) {
            json_decref(inputs);
            inputs = NULL;
        }
    json_t *params = json_object_get(opj, "params"), *seed = json_object_get(opj, "seed");
    const char *name = json_string_value(json_object_get(opj, "name"));
    if (!json_is_object(params) || !json_is_integer(seed) || !name) {
        st = eco_error(ECO_STATUS_EINTERNAL,
                       "recipe: %s: the operator's record lacks its name, params or seed", path);
        goto out;
    }
    e = inputs ? json_pack("{s:s, s:s, s:O, s:O, s:O}", "op", op->name, "operation", name, "params",
                           params, "seed", seed, "inputs", inputs)
               : NULL;
    json_t *result = json_object_get(opj, "result");
    if (!e || (result && json_object_set(e, "result", result)) ||
        (s->has_base &&
         json_object_set_new(e, "base", json_string(ref_name(s->base, b, sizeof b))))) {
        st = eco_error(ECO_STATUS_ENOMEM, "recipe: out of memory");
        goto out;
    }
    *out = e;
    e = NULL;
out:
    json_decref(e);
    json_decref(inputs);
    json_decref(rec);
    free(path);
    return st;
}

/* The recipe's lineage.json over the last step's own. */
static eco_status write_record(const chain_state *c, const eco_breed_chain_options *o,
                               json_t *steps, const char *dir) {
    json_t *parents = json_array();
    for (size_t i = 0; parents && i < c->n_parents; i++) {
        const eco_file_entry *w = weights_entry(&c->genomes[i]);
        if (!w) {
            json_decref(parents);
            return eco_error(ECO_STATUS_EINVAL, "recipe: parent '%s' has no weights file",
                             c->ids[i]);
        }
        json_t *e = NULL;
        eco_status st = strcmp(w->name, ECO_SAFETENSORS_INDEX_FILE) == 0
                            ? sharded_entry(c->dirs[i], &c->genomes[i], &e)
                            : ECO_STATUS_OK;
        if (st) {
            json_decref(parents);
            return st;
        }
        if (!e)
            e = json_pack("{s:s, s:s, s:s}", "role", "parent", "file", w->name, "sha256",
                          w->sha256);
        if (json_array_append_new(parents, e)) {
            json_decref(parents);
            parents = NULL;
        }
    }
    json_t *rec = parents ? json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:O}, s:i}, s:o}", "tool",
                                      "ecology", "version", ECO_VERSION_STRING, "operation", "name",
                                      "recipe", "params", "name", o->name ? o->name : "", "steps",
                                      steps, "seed", 0, "parents", parents)
                          : NULL;
    char *path = eco_path_join(dir, ECO_LINEAGE_FILE);
    eco_status st = rec && path ? eco_json_write_canonical_file(path, rec)
                                : eco_error(ECO_STATUS_ENOMEM, "recipe: out of memory");
    json_decref(rec);
    free(path);
    return st;
}

/* A registered model the chain reads besides its parents (an implied base): its index among
 * c's parents, checked out and appended when it is not one of them yet. */
static eco_status extra_parent(eco_registry *r, chain_state *c, const char *ref, size_t *index) {
    char *id = NULL;
    eco_status st = eco_registry_resolve(r, ref, &id);
    if (st) return eco_error_wrap(st, "recipe: '%s'", ref);
    for (size_t j = 0; j < c->n_parents; j++)
        if (strcmp(c->ids[j], id) == 0) {
            free(id);
            *index = j;
            return ECO_STATUS_OK;
        }
    if (c->n_parents >= ECO_BREEDER_MAX_INPUTS) {
        free(id);
        return eco_error(ECO_STATUS_EINVAL, "recipe: more than %d registered inputs",
                         ECO_BREEDER_MAX_INPUTS);
    }
    const size_t k = c->n_parents++;
    c->ids[k] = id;
    if ((st = eco_registry_checkout(r, id, &c->dirs[k], &c->genomes[k])))
        return eco_error_wrap(st, "recipe: '%s'", ref);
    *index = k;
    return ECO_STATUS_OK;
}

/* The base a step implies when it names none (eco_breed_implied_base): distill's student;
 * finetune or rl of an adapter, its base model (an earlier step's adapter: the base of the
 * first adapter among the registered parents). *base NULL when none. */
static eco_status implied_base(eco_registry *r, const chain_state *c, const eco_breeder_op *op,
                               const eco_breed_chain_step *s, char **base) {
    *base = NULL;
    if (s->has_base) return ECO_STATUS_OK;
    if ((strcmp(op->name, "finetune") == 0 || strcmp(op->name, "rl") == 0) && s->n_inputs == 1) {
        const char *dir, *id;
        const eco_genome *g;
        ref_get(c, s->inputs[0], &dir, &g, &id);
        if (g->kind != ECO_GENOME_KIND_ADAPTER) return ECO_STATUS_OK;
        if (!s->inputs[0].step) return eco_breed_implied_base(r, op, &id, 1, s->params, base);
        for (size_t j = 0; j < c->n_parents; j++)
            if (c->genomes[j].kind == ECO_GENOME_KIND_ADAPTER && c->genomes[j].base) {
                *base = eco_strdup(c->genomes[j].base);
                return *base ? ECO_STATUS_OK
                             : eco_error(ECO_STATUS_ENOMEM, "recipe: out of memory");
            }
        return ECO_STATUS_OK;
    }
    return eco_breed_implied_base(r, op, NULL, 0, s->params, base);
}

static eco_status run_step(eco_registry *r, const eco_breed_chain_options *o, chain_state *c,
                           size_t i, eco_breed_result *res, json_t *steps) {
    eco_breed_chain_step step = o->steps[i], *s = &step;
    const eco_breeder_op *op = NULL;
    eco_status st = eco_breeder_op_find(s->op, &op);
    if (st) return eco_error_wrap(st, "recipe: steps[%zu]", i);
    char *implied = NULL;
    if ((st = implied_base(r, c, op, s, &implied))) return st;
    if (implied) {
        st = extra_parent(r, c, implied, &s->base.index);
        free(implied);
        if (st) return st;
        s->has_base = true;
        s->base.step = false;
    }
    eco_breed_parent bp[ECO_BREEDER_MAX_INPUTS];
    const eco_genome *gs[ECO_BREEDER_MAX_INPUTS];
    size_t n = 0;
    for (size_t k = 0; k < s->n_inputs + (s->has_base ? 1 : 0); k++) {
        const bool is_base = s->has_base && k == 0;
        eco_breed_chain_ref ref = is_base ? s->base : s->inputs[k - (s->has_base ? 1 : 0)];
        const char *dir, *id;
        const eco_genome *g;
        ref_get(c, ref, &dir, &g, &id);
        for (size_t j = 0; j < n; j++)
            if (bp[j].dir == dir)
                return eco_error(ECO_STATUS_EINVAL, "recipe: steps[%zu]: '%s' is an input twice", i,
                                 id);
        bp[n] = (eco_breed_parent){
            .id = id, .dir = dir, .genome = g, .role = is_base ? "base" : "parent"};
        gs[n++] = g;
    }
    char reason[400];
    if (!op->supports(op, gs, n, s->has_base, reason, sizeof reason)) {
        if (res) {
            res->refused = true;
            snprintf(res->reason, sizeof res->reason, "steps[%zu] (%s): %s", i, op->name, reason);
        }
        return eco_error(ECO_STATUS_EINVAL, "recipe: steps[%zu] (%s): refused: %s", i, op->name,
                         reason);
    }
    json_t *params = s->params ? json_deep_copy(s->params) : json_object();
    if (!params || !json_is_object(params) ||
        json_object_set_new(params, "seed", json_integer((json_int_t)s->seed))) {
        json_decref(params);
        return eco_error(ECO_STATUS_EINVAL, "recipe: steps[%zu]: params: not an object", i);
    }
    const bool corpora = eco_breeder_op_takes_corpora(op);
    st = op->breed(op, bp, n, corpora ? o->corpora : NULL, corpora ? o->n_corpora : 0, params,
                   c->step_dirs[i]);
    json_decref(params);
    if (st) return eco_error_wrap(st, "recipe: steps[%zu] (%s)", i, op->name);
    json_t *e = NULL;
    if ((st = step_record(c->step_dirs[i], op, s, &e))) return st;
    if (json_array_append_new(steps, e))
        return eco_error(ECO_STATUS_ENOMEM, "recipe: out of memory");
    /* the stand-in genome of this output */
    snprintf(c->step_ids[i], sizeof c->step_ids[i], "steps[%zu]", i);
    c->step_g[i].id = c->step_ids[i];
    c->step_g[i].kind = eco_path_has_file(c->step_dirs[i], "adapter_config.json")
                            ? ECO_GENOME_KIND_ADAPTER
                        : strcmp(op->name, "quantize") == 0 ? ECO_GENOME_KIND_QUANTIZED
                                                            : ECO_GENOME_KIND_MERGED;
    c->step_g[i].compatibility = gs[s->has_base && n > 1 ? 1 : 0]->compatibility;
    c->n_done = i + 1;
    return ECO_STATUS_OK;
}

eco_status eco_breed_chain_to_dir(eco_registry *r, const eco_breed_chain_options *o,
                                  eco_breed_result *res, char **work, char **dir) {
    *work = *dir = NULL;
    if (res) memset(res, 0, sizeof *res);
    if (!r || !o || (o->n_parents && !o->parents) || (o->n_steps && !o->steps) ||
        (o->n_corpora && !o->corpora))
        return eco_error(ECO_STATUS_EINVAL, "recipe: NULL argument");
    if (o->n_parents == 0 || o->n_parents >= ECO_BREEDER_MAX_INPUTS)
        return eco_error(ECO_STATUS_EINVAL, "recipe: parents: 1 to %d, not %zu",
                         ECO_BREEDER_MAX_INPUTS - 1, o->n_parents);
    if (o->n_steps == 0) return eco_error(ECO_STATUS_EINVAL, "recipe: no steps");
    eco_status st = ECO_STATUS_OK;
    for (size_t i = 0; i < o->n_steps && !st; i++) {
        const eco_breed_chain_step *s = &o->steps[i];
        const eco_breeder_op *op = NULL;
        if ((st = eco_breeder_op_find(s->op, &op)))
            return eco_error_wrap(st, "recipe: steps[%zu]", i);
        if (s->n_inputs == 0 || s->n_inputs + (s->has_base ? 1 : 0) > ECO_BREEDER_MAX_INPUTS)
            return eco_error(ECO_STATUS_EINVAL, "recipe: steps[%zu]: %zu inputs", i, s->n_inputs);
        for (size_t k = 0; k < s->n_inputs && !st; k++)
            st = check_ref(o, i, s->inputs[k], "inputs");
        if (!st && s->has_base) st = check_ref(o, i, s->base, "base");
        if (!st && eco_breeder_op_takes_corpora(op) && o->n_corpora == 0 &&
            strcmp(op->name, "finetune") != 0)
            st = eco_error(ECO_STATUS_EINVAL, "recipe: steps[%zu] (%s): needs a corpus", i,
                           op->name);
    }
    if (st) return st;
    chain_state c = {0};
    json_t *steps = json_array();
    c.step_dirs = eco_calloc_array(o->n_steps, sizeof *c.step_dirs);
    c.step_g = eco_calloc_array(o->n_steps, sizeof *c.step_g);
    c.step_ids = eco_calloc_array(o->n_steps, sizeof *c.step_ids);
    if (!steps || !c.step_dirs || !c.step_g || !c.step_ids) {
        st = eco_error(ECO_STATUS_ENOMEM, "recipe: out of memory");
        goto out;
    }
    for (size_t i = 0; i < o->n_parents && !st; i++) {
        char *id = NULL;
        if ((st = eco_registry_resolve(r, o->parents[i], &id))) {
            st = eco_error_wrap(st, "recipe: parents[%zu] '%s'", i, o->parents[i]);
            break;
        }
        for (size_t j = 0; j < c.n_parents && !st; j++)
            if (strcmp(c.ids[j], id) == 0)
                st = eco_error(ECO_STATUS_EINVAL, "recipe: parents[%zu]: '%s' is named twice", i,
                               id);
        c.ids[c.n_parents] = id;
        c.n_parents++;
        if (!st && (st = eco_registry_checkout(r, id, &c.dirs[i], &c.genomes[i])))
            st = eco_error_wrap(st, "recipe: parents[%zu] '%s'", i, o->parents[i]);
    }
    if (st) goto out;
    if ((st = eco_breed_make_work_dir(r, "recipe", work))) goto out;
    for (size_t i = 0; i < o->n_steps && !st; i++) {
        char name[32];
        snprintf(name, sizeof name, "step%zu", i);
        if (!(c.step_dirs[i] = eco_path_join(*work, name)))
            st = eco_error(ECO_STATUS_ENOMEM, "recipe: out of memory");
    }
    for (size_t i = 0; i < o->n_steps && !st; i++) {
        if (o->progress) fprintf(stderr, "recipe: steps[%zu] %s\n", i, o->steps[i].op);
        st = run_step(r, o, &c, i, res, steps);
        /* an input no later step reads is removed as soon as it is done with */
        for (size_t k = 0; !st && k + 1 <= i; k++) {
            bool needed = false;
            for (size_t j = i + 1; j < o->n_steps && !needed; j++) {
                const eco_breed_chain_step *s = &o->steps[j];
                for (size_t q = 0; q < s->n_inputs; q++)
                    needed = needed || (s->inputs[q].step && s->inputs[q].index == k);
                needed = needed || (s->has_base && s->base.step && s->base.index == k);
            }
            if (!needed) (void)eco_remove_tree(c.step_dirs[k]);
        }
    }
    if (st) goto out;
    const char *last = c.step_dirs[o->n_steps - 1];
    if ((st = write_record(&c, o, steps, last))) goto out;
    if (o->n_corpora && (st = eco_breed_record_corpora(last, o->corpora, o->n_corpora))) goto out;
    if (!(*dir = eco_strdup(last))) st = eco_error(ECO_STATUS_ENOMEM, "recipe: out of memory");
out:
    json_decref(steps);
    chain_free(&c, o->n_steps);
    if (st) eco_breed_work_drop(work, dir);
    return st;
}

eco_status eco_breed_chain(eco_registry *r, const eco_breed_chain_options *o,
                           eco_breed_result *res) {
    eco_breed_result local;
    if (!res) res = &local;
    char *work = NULL, *dir = NULL;
    eco_status st = eco_breed_chain_to_dir(r, o, res, &work, &dir);
    if (st) {
        if (res == &local) eco_breed_result_free(res);
        return st;
    }
    st = eco_breed_register(r, dir, "recipe", o->parents, o->n_parents, o->id, o->sign_key,
                            o->created_at, o->progress, res);
    eco_breed_work_drop(&work, &dir);
    if (res == &local) eco_breed_result_free(res);
    return st;
}
