/*
 * Generation 0 (loop_internal.h): the population imported (an id already registered is
 * kept as it is), every member with capabilities of the loop evaluated and gated, the
 * accepted ones offered to the archive, each capability's champion set to the accepted
 * member with the best held-out exact match on it (across base families; ties: the smaller
 * id) by eco_promote(by "seed"), and the champion's failures on the traffic mined as the
 * first hard examples. Also the archive's state at a generation, and the mining itself.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/canary_internal.h"
#include "daemon/loop_internal.h"
#include "ecology/engine.h"
#include "ecology/promotion.h"

char *loop_champion(loop_ctx *x, size_t ci) {
    char alias[ECO_PROMOTION_ALIAS_MAX], *id = NULL;
    if (eco_promotion_alias(x->caps[ci].name, "champion", alias) != ECO_STATUS_OK) return NULL;
    if (eco_registry_alias_get(x->r, alias, &id) != ECO_STATUS_OK) return NULL;
    return id;
}

typedef struct archive_scan {
    int64_t g;
    char *text; /* the archive object of the last event before g */
} archive_scan;

static bool archive_fn(void *p, const eco_registry_event *e, const json_t *d) {
    (void)e;
    archive_scan *s = p;
    json_t *gen = json_object_get(d, "generation"), *a = json_object_get(d, "archive");
    if (!json_is_integer(gen) || json_integer_value(gen) >= s->g || !json_is_object(a)) return true;
    free(s->text);
    s->text = NULL;
    eco_json_canonical(a, &s->text, NULL);
    return true;
}

eco_status loop_archive_at(loop_ctx *x, int64_t g, eco_pareto **out) {
    *out = NULL;
    archive_scan s = {.g = g};
    eco_status st = loop_events_each(x, "archive", true, archive_fn, &s);
    if (!st && s.text) st = eco_pareto_from_json(s.text, strlen(s.text), "archive event", out);
    free(s.text);
    /* an archive over other objectives (another config) is not this loop's */
    if (!st && *out && eco_pareto_n_objectives(*out) != x->n_obj) {
        eco_pareto_free(*out);
        *out = NULL;
    }
    if (!st && !*out) st = eco_pareto_create(x->obj, x->n_obj, (size_t)x->c->archive_capacity, out);
    return st;
}

eco_status loop_archive_offer(loop_ctx *x, eco_pareto *a, const char *id, const loop_outcome *oc,
                              bool *changed) {
    (void)x;
    size_t at;
    if (eco_pareto_find(a, id, &at) == ECO_STATUS_OK) return ECO_STATUS_OK;
    eco_pareto_insert_info info;
    eco_status st = eco_pareto_insert(a, id, oc->values, &info);
    if (!st && info.outcome == ECO_PARETO_OUTCOME_ADDED) *changed = true;
    return st;
}

/* The hard-examples file of capability ci at generation g. */
static char *hard_path(loop_ctx *x, size_t ci, int64_t g) {
    char name[200];
    snprintf(name, sizeof name, "hard-%s-g%lld.jsonl", x->caps[ci].name, (long long)g);
    return eco_path_join(x->dir, name);
}

/* The failures of rep on c as hard examples (canary_hard's rule: an exact case trains
 * towards its answer, a refusal case towards the refusal; each prompt once, at most max),
 * written to path when there is one; *n how many. */
static eco_status mine_failures(const eco_eval_corpus *c, const eco_eval_report *rep, int64_t max,
                                const char *path, int64_t *n) {
    *n = 0;
    canary_hard *h = NULL;
    size_t cap = max > ECO_CANARY_HARD_MAX ? ECO_CANARY_HARD_MAX : (size_t)max;
    eco_status st = canary_hard_create(cap, &h);
    for (size_t i = 0; !st && i < rep->n_results; i++)
        if (!rep->results[i].passed) st = canary_hard_offer(h, &c->cases[rep->results[i].index]);
    *n = (int64_t)canary_hard_count(h);
    if (!st && *n > 0) st = canary_hard_write(h, path);
    canary_hard_free(h);
    return st;
}

/* The "hard-examples" event of champion id for capability ci (file at path with n records). */
eco_status loop_hard_event(loop_ctx *x, const char *id, size_t ci, int64_t g, const char *path,
                           int64_t n) {
    char hex[ECO_SHA256_HEX_LEN + 1] = "";
    eco_status st = ECO_STATUS_OK;
    if (n > 0) {
        char name[200];
        snprintf(name, sizeof name, "loop %s hard examples %s g%lld", x->c->name, x->caps[ci].name,
                 (long long)g);
        st = loop_record_train(x, path, name, hex, &n);
    }
    if (st) return st;
    json_t *d = json_pack("{s:I,s:s,s:I,s:o,s:o}", "generation", (json_int_t)g, "capability",
                          x->caps[ci].name, "n", (json_int_t)n, "corpus",
                          n > 0 ? json_string(hex) : json_null(), "path",
                          n > 0 ? json_string(path) : json_null());
    return loop_event(x, "hard-examples", id, d, true, NULL);
}

eco_status loop_mine(loop_ctx *x, const char *id, size_t ci, int64_t g) {
    bool found = false;
    json_t *d = NULL;
    eco_status st = loop_event_find(x, "hard-examples", id, g, x->caps[ci].name, &found, &d);
    json_decref(d);
    if (st || found) return st;
    eco_eval_corpus *c = NULL;
    eco_engine *eng = NULL;
    eco_eval_report rep;
    memset(&rep, 0, sizeof rep);
    int64_t n = 0;
    char *path = hard_path(x, ci, g);
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    eco_eval_caps caps;
    eco_eval_caps_init(&caps);
    caps.threads = x->c->evaluation.threads;
    caps.robustness = false;
    if (!(st = eco_eval_corpus_load(loop_traffic(x, ci, g), &c)) &&
        !(st = eco_canary_open_registry(x->r, id, &eng))) {
        eco_eval_llama_scorer(eng, &caps.scorer);
        st = eco_evaluate(eng, c, &caps, id, NULL, NULL, NULL, &rep);
    }
    if (!st) st = mine_failures(c, &rep, x->c->hard_examples.max, path, &n);
    if (!st) st = loop_hard_event(x, id, ci, g, path, n);
    eco_eval_report_free(&rep);
    eco_engine_destroy(eng);
    eco_eval_corpus_free(c);
    free(path);
    return st ? eco_error_wrap(st, "loop: mining the failures of '%s'", id) : ECO_STATUS_OK;
}

/* The member's folder: a relative path is taken from the config's folder. */
static char *member_dir(loop_ctx *x, const eco_loop_member *m) {
    if (m->path[0] == '/' || !x->c->base_dir) return eco_strdup(m->path);
    return eco_path_join(x->c->base_dir, m->path);
}

static eco_status import(loop_ctx *x) {
    for (size_t i = 0; i < x->c->n_members; i++) {
        const eco_loop_member *m = &x->c->members[i];
        if (eco_registry_exists(x->r, m->id)) continue;
        char *dir = member_dir(x, m);
        if (!dir) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
        eco_add_options ao = {.id = m->id,
                              .base = m->base,
                              .capabilities = (const char *const *)m->capabilities,
                              .n_capabilities = m->n_capabilities,
                              .progress = x->o->progress};
        eco_status st = eco_registry_add_dir(x->r, dir, &ao, NULL);
        free(dir);
        if (st) return eco_error_wrap(st, "loop: population[%zu] '%s'", i, m->id);
    }
    return ECO_STATUS_OK;
}

eco_status loop_seed(loop_ctx *x) {
    const eco_loop_config *c = x->c;
    eco_status st = import(x);
    eco_pareto *a = NULL;
    if (!st) st = loop_archive_at(x, 1, &a);
    bool changed = false;
    double best[ECO_LOOP_MAX_CAPS];
    const char *best_id[ECO_LOOP_MAX_CAPS] = {0};
    for (size_t i = 0; i < c->n_capabilities; i++) best[i] = -1;
    for (size_t i = 0; !st && i < c->n_members; i++) {
        const char *id = c->members[i].id;
        size_t caps[ECO_LOOP_MAX_CAPS], n = 0;
        if ((st = loop_model_caps(x, id, caps, &n)) || n == 0) continue;
        loop_outcome oc;
        if ((st = loop_evaluate(x, id, caps, n, 0, &oc))) break;
        if (!oc.accepted) {
            x->res->rejected++;
            continue;
        }
        if ((st = loop_archive_offer(x, a, id, &oc, &changed))) break;
        for (size_t k = 0; k < n; k++) {
            size_t ci = caps[k];
            double q = oc.quality[ci];
            if (!isnan(q) && (q > best[ci] || (q == best[ci] && strcmp(id, best_id[ci]) < 0))) {
                best[ci] = q;
                best_id[ci] = id;
            }
        }
    }
    if (!st && (changed || eco_pareto_count(a) == 0)) st = eco_archive_save(x->r, a, 0);
    eco_pareto_free(a);
    for (size_t ci = 0; !st && ci < c->n_capabilities; ci++) {
        char *champ = loop_champion(x, ci);
        if (!champ && best_id[ci]) {
            eco_promote_options po = {.capability = x->caps[ci].name,
                                      .expect = "-",
                                      .by = "seed",
                                      .require_report = true};
            st = eco_promote(x->r, best_id[ci], &po);
            if (st == ECO_STATUS_ECONFLICT) st = ECO_STATUS_OK; /* set meanwhile */
            champ = loop_champion(x, ci);
        }
        if (!st && champ) st = loop_mine(x, champ, ci, 0);
        free(champ);
    }
    return st;
}
