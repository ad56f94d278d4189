/*
 * One child of a generation (loop_internal.h). The plan is a function of the config, the
 * archive as it stood when the generation started and the hard-examples events before it,
 * drawn from an eco_rng seeded from (seed, generation, child), so a redone generation plans
 * the same children under the same ids:
 *
 *   parents   two tournament winners of the archive (eco_pareto_select, k = 2), the second
 *             drawn again (up to 8 times) while it equals the first;
 *   operators an entry is eligible when its operator's supports() accepts its parents:
 *             "finetune" takes the champion of a capability with hard examples mined in an
 *             earlier generation (drawn among them), as it stood when the generation first
 *             started, on its base, trained on every hard example mined for the capability
 *             plus `train_items` TRAIN items of each of its capabilities; "distill" the first parent as the student and the
 *             second as the teacher; "rl" the first parent (an adapter) on its base, trained
 *             with GRPO on its capabilities' prompts; an operator that takes two parents (a merge) both
 *             when they hold different capabilities and it accepts them (else it is not
 *             eligible: a merge of one is a copy); one that takes one parent the first. One eligible
 *             entry is drawn by weight (an entry with a "child" slot only for that child
 *             of the generation); none: a "breed-failed" event. An entry with
 *             "capabilities" takes its own two parents among the archive's members holding
 *             one of them, by the same tournament on an rng of its own (seeded from seed,
 *             generation, child and the entry's index, so the other entries' draws are
 *             unchanged), the second drawn again (up to 8 times) while it holds the same
 *             capabilities as the first;
 *   breeding  eco_breed (eco_breed_chain when the entry has "then": its fine-tune after the
 *             operator, on the TRAIN items of the child's capabilities), params.seed drawn
 *             from the rng when the entry does not set it; the child "<name>-g<g>-<k>" holds
 *             the union of its parents' capabilities. A child already registered is reused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/loop_internal.h"
#include "ecology/breeder.h"
#include "ecology/promotion.h"

#define MAX_PARENTS 3

typedef struct plan {
    const eco_loop_op *entry;
    const eco_breeder_op *op;
    const char *parents[MAX_PARENTS]; /* borrowed from the archive or owned (finetune) */
    size_t n_parents;
    char *base;   /* the base given to the operator (finetune: the adapter's base), or NULL */
    char *owned;  /* a parent id owned by the plan */
    json_t *hard; /* the hard examples files (finetune): a JSON array, owned */
    size_t caps[ECO_LOOP_MAX_CAPS];
    size_t n_caps;
} plan;

static void plan_free(plan *p) {
    free(p->base);
    free(p->owned);
    json_decref(p->hard);
    memset(p, 0, sizeof *p);
}

/* Whether op's supports() accepts parents (a base first when base is set). */
static bool supported(loop_ctx *x, const eco_breeder_op *op, const char *base,
                      const char *const *parents, size_t n) {
    eco_genome g[MAX_PARENTS + 1];
    const eco_genome *gp[MAX_PARENTS + 1];
    memset(g, 0, sizeof g);
    size_t m = 0;
    bool ok = true;
    if (base) ok = eco_registry_get(x->r, base, &g[m++], NULL) == ECO_STATUS_OK;
    for (size_t i = 0; ok && i < n; i++)
        ok = eco_registry_get(x->r, parents[i], &g[m++], NULL) == 0;
    for (size_t i = 0; i < m; i++) gp[i] = &g[i];
    char reason[512];
    ok = ok && op->supports(op, gp, m, base != NULL, reason, sizeof reason);
    for (size_t i = 0; i < m; i++) eco_genome_free(&g[i]);
    return ok;
}

/* The union of the capabilities (ctx indices) of ids[n] into p. */
static eco_status union_caps(loop_ctx *x, const char *const *ids, size_t n, plan *p) {
    p->n_caps = 0;
    for (size_t i = 0; i < n; i++) {
        size_t c[ECO_LOOP_MAX_CAPS], nc = 0;
        eco_status st = loop_model_caps(x, ids[i], c, &nc);
        if (st) return st;
        for (size_t k = 0; k < nc; k++) {
            bool seen = false;
            for (size_t j = 0; j < p->n_caps; j++) seen = seen || p->caps[j] == c[k];
            if (!seen) p->caps[p->n_caps++] = c[k];
        }
    }
    for (size_t i = 1; i < p->n_caps; i++) /* sorted: the corpus of a set is one file */
        for (size_t j = i; j > 0 && p->caps[j - 1] > p->caps[j]; j--) {
            size_t t = p->caps[j];
            p->caps[j] = p->caps[j - 1];
            p->caps[j - 1] = t;
        }
    return ECO_STATUS_OK;
}

/* The hard-examples files of each capability mined before generation g (n > 0). */
typedef struct hard_scan {
    int64_t g;
    json_t *paths[ECO_LOOP_MAX_CAPS]; /* arrays of file names, oldest first */
    loop_ctx *x;
} hard_scan;

static bool hard_fn(void *p, const eco_registry_event *e, const json_t *d) {
    (void)e;
    hard_scan *s = p;
    const char *cap = json_string_value(json_object_get(d, "capability"));
    const char *path = json_string_value(json_object_get(d, "path"));
    int ci = cap ? loop_cap_index(s->x, cap) : -1;
    if (ci < 0 || !path || json_integer_value(json_object_get(d, "n")) <= 0 ||
        json_integer_value(json_object_get(d, "generation")) >= s->g || access(path, R_OK) != 0)
        return true;
    if (!s->paths[ci]) s->paths[ci] = json_array();
    json_array_append_new(s->paths[ci], json_string(path));
    return true;
}

/* The first "generation" start event of g in this run (its seq; -1 before it is written). */
typedef struct start_scan {
    int64_t g, seq;
} start_scan;

static bool start_fn(void *p, const eco_registry_event *e, const json_t *d) {
    start_scan *s = p;
    const char *phase = json_string_value(json_object_get(d, "phase"));
    if (phase && strcmp(phase, "start") == 0 &&
        json_integer_value(json_object_get(d, "generation")) == s->g) {
        s->seq = e->seq;
        return false;
    }
    return true;
}

/* The target of alias `name` just before event seq `before` (the "alias" events). */
typedef struct alias_scan {
    const char *name;
    int64_t before;
    char *id;
} alias_scan;

static bool alias_fn(void *p, const eco_registry_event *e, const json_t *d) {
    alias_scan *s = p;
    if (e->seq >= s->before) return false;
    const char *name = json_string_value(json_object_get(d, "name"));
    if (name && strcmp(name, s->name) == 0 && e->model_id) {
        free(s->id);
        s->id = eco_strdup(e->model_id);
    }
    return true;
}

/* The champion of capability ci when generation g started (its first start event, so a
 * redone generation plans with the champion the first attempt saw), malloc'd, or NULL. */
static eco_status champion_at(loop_ctx *x, size_t ci, int64_t g, char **id) {
    *id = NULL;
    char alias[ECO_PROMOTION_ALIAS_MAX];
    start_scan ss = {.g = g, .seq = -1};
    eco_status st = loop_events_each(x, "generation", false, start_fn, &ss);
    if (!st) st = eco_promotion_alias(x->caps[ci].name, "champion", alias);
    if (st || ss.seq < 0) return st;
    alias_scan as = {.name = alias, .before = ss.seq};
    st = loop_events_each(x, "alias", true, alias_fn, &as);
    *id = as.id;
    return st;
}

/* Whether capability ci is one of entry e's (every one when the entry names none). */
static bool entry_takes(const loop_ctx *x, const eco_loop_op *e, size_t ci) {
    for (size_t i = 0; i < e->n_capabilities; i++)
        if (strcmp(e->capabilities[i], x->caps[ci].name) == 0) return true;
    return e->n_capabilities == 0;
}

/* Whether model id holds one of entry e's capabilities; its capabilities into c[*nc]. */
static eco_status member_taken(loop_ctx *x, const eco_loop_op *e, const char *id, size_t *c,
                               size_t *nc, bool *yes) {
    *yes = false;
    eco_status st = loop_model_caps(x, id, c, nc);
    for (size_t i = 0; !st && i < *nc; i++) *yes = *yes || entry_takes(x, e, c[i]);
    return st;
}

/* Entry e's own parents (it names capabilities): a tournament among the archive's members
 * holding one of them (loop_breed.c's header). *pa NULL when none does. */
static eco_status select_among(loop_ctx *x, const eco_pareto *a, const eco_loop_op *e, eco_rng *rng,
                               const char **pa, const char **pb) {
    size_t n = eco_pareto_count(a), m = 0;
    *pa = *pb = NULL;
    size_t *idx = eco_calloc_array(n ? n : 1, sizeof *idx), *rank = NULL;
    double *all = eco_calloc_array(n ? n : 1, sizeof *all);
    double *dist = eco_calloc_array(n ? n : 1, sizeof *dist);
    size_t(*caps)[ECO_LOOP_MAX_CAPS] = eco_calloc_array(n ? n : 1, sizeof *caps);
    size_t *ncaps = eco_calloc_array(n ? n : 1, sizeof *ncaps);
    rank = eco_calloc_array(n ? n : 1, sizeof *rank);
    eco_status st = idx && all && dist && caps && ncaps && rank
                        ? eco_pareto_member_crowding(a, all)
                        : eco_error(ECO_STATUS_ENOMEM, "out of memory");
    for (size_t i = 0; !st && i < n; i++) {
        bool yes = false;
        st = member_taken(x, e, eco_pareto_id(a, i), caps[m], &ncaps[m], &yes);
        if (!st && yes) {
            dist[m] = all[i];
            idx[m++] = i;
        }
    }
    size_t wa = 0, wb = 0;
    if (!st && m > 0 && !(st = eco_pareto_tournament(rank, dist, m, 2, rng, &wa))) {
        wb = wa;
        for (int t = 0; !st && t < 8 && m > 1; t++) {
            bool same = ncaps[wb] == ncaps[wa] &&
                        memcmp(caps[wb], caps[wa], ncaps[wa] * sizeof **caps) == 0;
            if (wb != wa && !same) break;
            st = eco_pareto_tournament(rank, dist, m, 2, rng, &wb);
        }
        *pa = eco_pareto_id(a, idx[wa]);
        *pb = wb != wa ? eco_pareto_id(a, idx[wb]) : NULL;
    }
    free(idx);
    free(rank);
    free(all);
    free(dist);
    free(caps);
    free(ncaps);
    return st;
}

/* The finetune plan: the champion of a capability with mined hard examples (drawn among
 * them, and among the entry's capabilities when it names some), as it stood when the
 * generation started, on every hard example mined for it. */
static eco_status plan_finetune(loop_ctx *x, const eco_loop_op *e, const eco_breeder_op *op,
                                int64_t g, eco_rng *rng, plan *p, bool *ok) {
    *ok = false;
    hard_scan s = {.g = g, .x = x};
    eco_status st = loop_events_each(x, "hard-examples", false, hard_fn, &s);
    size_t avail[ECO_LOOP_MAX_CAPS], na = 0;
    for (size_t i = 0; i < x->c->n_capabilities; i++)
        if (s.paths[i] && entry_takes(x, e, i)) avail[na++] = i;
    if (!st && na) {
        size_t ci = avail[eco_rng_next(rng) % na];
        eco_genome gen = {0};
        if (!(st = champion_at(x, ci, g, &p->owned)) && p->owned &&
            !(st = eco_registry_get(x->r, p->owned, &gen, NULL))) {
            p->hard = s.paths[ci];
            s.paths[ci] = NULL;
            p->base = gen.base ? eco_strdup(gen.base) : NULL;
            p->parents[0] = p->owned;
            p->n_parents = 1;
            *ok = supported(x, op, p->base, p->parents, 1);
            if (*ok) st = union_caps(x, p->parents, 1, p);
            p->entry = e;
            p->op = op;
        }
        eco_genome_free(&gen);
    }
    for (size_t i = 0; i < ECO_LOOP_MAX_CAPS; i++) json_decref(s.paths[i]);
    if (!*ok) plan_free(p);
    return st;
}

/* The plan of child k; *ok false when no operator entry is eligible. */
static eco_status make_plan(loop_ctx *x, const eco_pareto *a, int64_t g, int64_t k, eco_rng *rng,
                            plan *out, const char **pa, const char **pb, bool *ok) {
    *ok = false;
    size_t ia = 0, ib = 0;
    *pa = *pb = NULL;
    eco_status st = ECO_STATUS_OK;
    if (eco_pareto_count(a) > 0) {
        if ((st = eco_pareto_select(a, rng, 2, &ia))) return st;
        ib = ia;
        for (int t = 0; t < 8 && ib == ia && eco_pareto_count(a) > 1; t++)
            if ((st = eco_pareto_select(a, rng, 2, &ib))) return st;
        *pa = eco_pareto_id(a, ia);
        *pb = ib != ia ? eco_pareto_id(a, ib) : NULL;
    }
    plan cand[ECO_LOOP_MAX_OPS];
    memset(cand, 0, sizeof cand);
    double total = 0;
    for (size_t i = 0; !st && i < x->c->n_ops; i++) {
        const eco_loop_op *e = &x->c->ops[i];
        const eco_breeder_op *op;
        plan *p = &cand[i];
        bool yes = false;
        if ((st = eco_breeder_op_find(e->op, &op))) break;
        if (e->slot >= 0 && e->slot != k) { /* the entry breeds another child of the generation */
            p->entry = NULL;
            continue;
        }
        const char *ea = *pa, *eb = *pb;
        if (e->n_capabilities && strcmp(e->op, "finetune") != 0) {
            eco_rng own;
            eco_rng_seed(&own, x->c->seed ^ ((uint64_t)g * 0x9E3779B97F4A7C15ull) ^
                                   ((uint64_t)(k + 1) * 0xC2B2AE3D27D4EB4Full) ^
                                   ((uint64_t)(i + 1) * 0x165667B19E3779F9ull));
            if ((st = select_among(x, a, e, &own, &ea, &eb))) break;
        }
        if (strcmp(e->op, "finetune") == 0) {
            st = plan_finetune(x, e, op, g, rng, p, &yes);
        } else if (ea) {
            p->entry = e;
            p->op = op;
            const char *two[2] = {ea, eb};
            if (strcmp(e->op, "rl") == 0) { /* the first parent, on the base it adapts */
                eco_genome gen = {0};
                if (!(st = eco_registry_get(x->r, ea, &gen, NULL)) && gen.base &&
                    !(p->base = eco_strdup(gen.base)))
                    st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
                eco_genome_free(&gen);
                p->parents[0] = ea;
                p->n_parents = 1;
                yes = !st && p->base && supported(x, op, p->base, p->parents, 1);
            } else if (strcmp(e->op, "distill") == 0) {
                yes = eb && supported(x, op, ea, two + 1, 1);
                if (yes && !(p->base = eco_strdup(ea)))
                    st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
                p->parents[0] = eb;
                p->n_parents = 1;
            } else {
                plan one = {0}, both = {0};
                bool differ = false;
                if (eb && !(st = union_caps(x, two, 1, &one)) &&
                    !(st = union_caps(x, two + 1, 1, &both)))
                    differ = one.n_caps != both.n_caps ||
                             memcmp(one.caps, both.caps, one.n_caps * sizeof *one.caps) != 0;
                const char *same[2] = {ea, ea}; /* does the operator take two at all? */
                bool takes_two = supported(x, op, NULL, same, 2);
                if (differ && supported(x, op, NULL, two, 2)) {
                    /* in the order of their first capabilities, so that a merge's weights
                     * (and a chain's train_mix) name the capabilities in the config's order */
                    bool swap = one.n_caps && both.n_caps && both.caps[0] < one.caps[0];
                    p->parents[0] = swap ? eb : ea;
                    p->parents[1] = swap ? ea : eb;
                    p->n_parents = 2;
                    yes = true;
                } else if (!takes_two && supported(x, op, NULL, two, 1)) {
                    p->parents[0] = ea;
                    p->n_parents = 1;
                    yes = true;
                }
            }
            if (yes && !st) st = union_caps(x, p->parents, p->n_parents, p);
        }
        if (yes && !st)
            total += e->weight;
        else if (!yes)
            p->entry = NULL;
    }
    size_t pick = x->c->n_ops;
    if (!st && total > 0) {
        double u = eco_rng_uniform(rng) * total;
        for (size_t i = 0; i < x->c->n_ops; i++) {
            if (!cand[i].entry) continue;
            pick = i;
            if ((u -= cand[i].entry->weight) < 0) break;
        }
    }
    for (size_t i = 0; i < x->c->n_ops; i++)
        if (i != pick) plan_free(&cand[i]);
    if (pick < x->c->n_ops) {
        *out = cand[pick];
        *ok = true;
    }
    return st ? eco_error_wrap(st, "loop: planning") : ECO_STATUS_OK;
}

static json_t *ids_json(const char *const *ids, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (ids[i]) json_array_append_new(a, json_string(ids[i]));
    return a;
}

/* The operator's parameters with "seed" set (drawn when the entry has none). */
static json_t *params_with_seed(const char *text, uint64_t seed) {
    json_t *p = json_loads(text, 0, NULL);
    if (p && !json_object_get(p, "seed"))
        json_object_set_new(p, "seed", json_integer((json_int_t)(seed >> 2)));
    return p;
}

/* Runs the plan into child id (eco_breed or a chain with the entry's fine-tune). */
static eco_status breed(loop_ctx *x, const plan *p, const char *id, uint64_t seed,
                        json_t **params_out, eco_breed_result *res) {
    const char *corpora[ECO_LOOP_MAX_CAPS];
    size_t nc = 0;
    eco_status st = ECO_STATUS_OK;
    bool trains = eco_breeder_op_takes_corpora(p->op) || p->entry->then;
    json_t *mix = p->entry->train_mix ? json_loads(p->entry->train_mix, 0, NULL) : NULL;
    for (size_t i = 0; trains && !st && i < p->n_caps; i++) {
        const json_t *w = json_object_get(mix, x->caps[p->caps[i]].name);
        double n = (double)p->entry->train_items * (w ? json_number_value(w) : 1.0);
        st = loop_train_corpus(x, p->caps[i], n < 1 ? 1 : (int64_t)(n + 0.5), &corpora[nc++]);
    }
    json_decref(mix);
    json_t *params = params_with_seed(p->entry->params, seed);
    if (!params) st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
    if (!st && p->hard) json_object_set_new(params, "hard_examples", json_deep_copy(p->hard));
    if (!st && !p->entry->then) {
        eco_breed_options o = {.op = p->op->name,
                               .parents = p->parents,
                               .n_parents = p->n_parents,
                               .base = p->base,
                               .params = params,
                               .corpora = eco_breeder_op_takes_corpora(p->op) ? corpora : NULL,
                               .n_corpora = eco_breeder_op_takes_corpora(p->op) ? nc : 0,
                               .id = id,
                               .progress = x->o->progress};
        st = eco_breed(x->r, &o, res);
    } else if (!st) { /* the operator, then a fine-tune of its output on the parents' base */
        json_t *then = params_with_seed(p->entry->then, seed + 1);
        eco_genome g0 = {0};
        const char *parents[MAX_PARENTS + 1];
        size_t np = p->n_parents;
        memcpy(parents, p->parents, np * sizeof *parents);
        if (!then) st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
        if (!st) st = eco_registry_get(x->r, p->parents[0], &g0, NULL);
        if (!st && g0.base) parents[np++] = g0.base;
        eco_breed_chain_step steps[2];
        memset(steps, 0, sizeof steps);
        steps[0].op = p->op->name;
        steps[0].params = params;
        steps[0].seed = seed >> 2;
        steps[0].n_inputs = p->n_parents;
        for (size_t i = 0; i < p->n_parents; i++) steps[0].inputs[i].index = i;
        steps[1].op = "finetune";
        steps[1].params = then;
        steps[1].seed = (seed + 1) >> 2;
        steps[1].n_inputs = 1;
        steps[1].inputs[0] = (eco_breed_chain_ref){.step = true, .index = 0};
        steps[1].has_base = g0.base != NULL;
        steps[1].base = (eco_breed_chain_ref){.step = false, .index = p->n_parents};
        json_object_del(then, "seed");
        json_object_del(params, "seed");
        eco_breed_chain_options co = {.name = p->op->name,
                                      .parents = parents,
                                      .n_parents = np,
                                      .steps = steps,
                                      .n_steps = 2,
                                      .corpora = corpora,
                                      .n_corpora = nc,
                                      .id = id,
                                      .progress = x->o->progress};
        if (!st) st = eco_breed_chain(x->r, &co, res);
        if (!st) json_object_set_new(params, "then", json_deep_copy(then));
        if (!st) json_object_set_new(params, "seed", json_integer((json_int_t)(seed >> 2)));
        eco_genome_free(&g0);
        json_decref(then);
    }
    *params_out = params;
    return st;
}

eco_status loop_breed_child(loop_ctx *x, const eco_pareto *a, int64_t g, int64_t k, char **id,
                            size_t *caps, size_t *n_caps) {
    *id = NULL;
    *n_caps = 0;
    char child[ECO_LOOP_NAME_MAX + 48];
    snprintf(child, sizeof child, "%s-g%lld-%lld", x->c->name, (long long)g, (long long)k);
    eco_rng rng;
    eco_rng_seed(&rng, x->c->seed ^ ((uint64_t)g * 0x9E3779B97F4A7C15ull) ^
                           ((uint64_t)(k + 1) * 0xC2B2AE3D27D4EB4Full));
    plan p = {0};
    const char *pa, *pb;
    bool ok = false;
    eco_status st = make_plan(x, a, g, k, &rng, &p, &pa, &pb, &ok);
    if (st) return st;
    uint64_t seed = eco_rng_next(&rng);
    if (!ok) {
        const char *two[2] = {pa, pb};
        json_t *d = json_pack("{s:I,s:s,s:o,s:s}", "generation", (json_int_t)g, "op", "none",
                              "parents", ids_json(two, 2), "error",
                              "no operator of the config supports the parents drawn");
        x->res->failed++;
        return loop_event(x, "breed-failed", NULL, d, true, NULL);
    }
    memcpy(caps, p.caps, p.n_caps * sizeof *caps);
    *n_caps = p.n_caps;
    bool have = false;
    json_t *params = NULL;
    double t0 = eco_now();
    if (eco_registry_exists(x->r, child)) { /* bred before an interruption: reused */
        if (!(st = loop_event_find(x, "candidate", child, -1, NULL, &have, NULL)) && !have)
            params = params_with_seed(p.entry->params, seed);
    } else {
        eco_breed_result res;
        memset(&res, 0, sizeof res);
        st = breed(x, &p, child, seed, &params, &res);
        eco_breed_result_free(&res);
        if (st) { /* a failure of this candidate, not of the loop */
            json_t *d =
                json_pack("{s:I,s:s,s:o,s:s}", "generation", (json_int_t)g, "op", p.op->name,
                          "parents", ids_json(p.parents, p.n_parents), "error", eco_last_error());
            json_decref(params);
            plan_free(&p);
            *n_caps = 0;
            x->res->failed++;
            return loop_event(x, "breed-failed", NULL, d, true, NULL);
        }
        x->res->bred++;
    }
    if (!st && !have) {
        json_t *cj = json_array();
        for (size_t i = 0; i < p.n_caps; i++)
            json_array_append_new(cj, json_string(x->caps[p.caps[i]].name));
        eco_genome gen = {0};
        st = eco_registry_get(x->r, child, &gen, NULL);
        const char *family = gen.base ? gen.base : child;
        json_t *d =
            st ? NULL
               : json_pack("{s:I,s:s,s:o,s:o,s:s,s:o,s:f}", "generation", (json_int_t)g, "op",
                           p.op->name, "parents", ids_json(p.parents, p.n_parents), "capabilities",
                           cj, "family", family, "params",
                           params ? json_incref(params) : json_object(), "seconds", eco_now() - t0);
        if (!st)
            st = loop_event(x, "candidate", child, d, true, NULL);
        else
            json_decref(cj);
        eco_genome_free(&gen);
    }
    json_decref(params);
    plan_free(&p);
    if (!st && !(*id = eco_strdup(child))) st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
    return st;
}
