/*
 * The loop's run (daemon.h): the state is the registry and its event log. A "loop-start"
 * event opens each call; generation 0 is the seeding; generation g runs between a
 * "generation" start and end event. On start the last finished generation of the run (its
 * end event) is read and the loop goes on after it; a generation with a start event and no
 * end is redone from its start (loop_breed.c reuses its registered children, loop_eval.c
 * judges their stored reports again, the archive is taken as it stood before the generation).
 *
 * Budget: budget.generations (or --generations) is the run's last generation, so a resumed
 * run stops where an uninterrupted one would; budget.minutes (or --minutes) is the time of
 * this call: a generation is started only when the time spent plus the expected time of a
 * generation fits (the mean of the run's finished generations, recorded in their end events;
 * before any, the seeding's time per model evaluated times the children).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/loop_internal.h"
#include "ecology/promotion.h"
#include "ecology/verifier.h"

typedef struct last_scan {
    int64_t last;
    bool any;
    double seconds;  /* of the finished generations >= 1 */
    size_t finished; /* how many */
    double seed_seconds;
} last_scan;

static bool last_fn(void *p, const eco_registry_event *e, const json_t *d) {
    (void)e;
    last_scan *s = p;
    s->any = true;
    const char *phase = json_string_value(json_object_get(d, "phase"));
    int64_t g = json_integer_value(json_object_get(d, "generation"));
    if (!phase || strcmp(phase, "end") != 0) return true;
    if (g > s->last) s->last = g;
    double t = json_number_value(json_object_get(d, "seconds"));
    if (g == 0) {
        s->seed_seconds = t;
    } else {
        s->seconds += t;
        s->finished++;
    }
    return true;
}

static eco_status scan_last(loop_ctx *x, last_scan *s) {
    memset(s, 0, sizeof *s);
    s->last = -1;
    return loop_events_each(x, "generation", false, last_fn, s);
}

/* The time a generation is expected to take: the mean of the run's finished generations;
 * before any, the seeding's time per model it evaluated times the children (a child costs
 * about one evaluation besides its breeding). */
static double expected_generation(loop_ctx *x) {
    last_scan s;
    if (scan_last(x, &s) != ECO_STATUS_OK) return 0;
    if (s.finished) return s.seconds / (double)s.finished;
    size_t evaluated = 0;
    for (size_t i = 0; i < x->c->n_members; i++) evaluated += x->c->members[i].n_capabilities > 0;
    return s.seed_seconds * (double)x->c->children / (double)(evaluated ? evaluated : 1);
}

eco_status eco_loop_last_generation(eco_registry *r, const char *name, int64_t *generation) {
    eco_loop_config c;
    memset(&c, 0, sizeof c);
    snprintf(c.name, sizeof c.name, "%s", name);
    loop_ctx x = {.r = r, .c = &c};
    last_scan s;
    eco_status st = scan_last(&x, &s);
    *generation = s.last;
    return st;
}

/* The champion of each capability and its fitness (its last gate event): a JSON object for
 * the end event, and the progress line's text. */
static eco_status champions(loop_ctx *x, json_t **obj, eco_buf *line) {
    *obj = json_object();
    for (size_t ci = 0; ci < x->c->n_capabilities; ci++) {
        char *id = loop_champion(x, ci);
        json_t *d = NULL;
        bool found = false;
        if (id) loop_event_find(x, "gate", id, -1, NULL, &found, &d);
        double f = found ? json_number_value(json_object_get(d, "fitness")) : NAN;
        json_t *q = found ? json_object_get(json_object_get(d, "quality"), x->caps[ci].name) : NULL;
        json_object_set_new(*obj, x->caps[ci].name, id ? json_string(id) : json_null());
        eco_buf_printf(line, "%s %s = %s", ci ? ";" : "", x->caps[ci].name, id ? id : "none");
        if (found && json_object_get(d, "fitness") && !json_is_null(json_object_get(d, "fitness")))
            eco_buf_printf(line, " (fitness %.3f, held-out %.3f)", f, json_number_value(q));
        json_decref(d);
        free(id);
    }
    return *obj ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "out of memory");
}

/* The live status line (a terminal only). */
static void live(loop_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void live(loop_ctx *x, const char *fmt, ...) {
    if (!x->o->out || !x->o->live) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(x->o->out, "\r\033[K");
    vfprintf(x->o->out, fmt, ap);
    va_end(ap);
    fflush(x->o->out);
}

/* The "generation" end event and the progress line. */
static eco_status generation_end(loop_ctx *x, int64_t g, size_t bred, size_t rejected,
                                 const char *why, size_t archive, double t0) {
    json_t *champs = NULL;
    eco_buf line = {0};
    eco_status st = champions(x, &champs, &line);
    json_t *d = st ? NULL
                   : json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:o,s:f}", "generation", (json_int_t)g,
                               "phase", "end", "seed", (json_int_t)x->c->seed, "bred",
                               (json_int_t)bred, "rejected", (json_int_t)rejected, "archive_size",
                               (json_int_t)archive, "champions", champs, "seconds", eco_now() - t0);
    if (!st) st = loop_event(x, "generation", NULL, d, true, NULL);
    if (!st && x->o->out) {
        if (x->o->live) fprintf(x->o->out, "\r\033[K");
        fprintf(x->o->out,
                "generation %lld: bred %zu, rejected %zu%s%s%s, archive %zu, %.0f s;%s\n",
                (long long)g, bred, rejected, why[0] ? " (" : "", why, why[0] ? ")" : "", archive,
                eco_now() - t0, line.data ? line.data : "");
        fflush(x->o->out);
    }
    eco_buf_free(&line);
    return st;
}

static eco_status generation_start(loop_ctx *x, int64_t g) {
    json_t *d = json_pack("{s:I,s:s,s:I}", "generation", (json_int_t)g, "phase", "start", "seed",
                          (json_int_t)x->c->seed);
    return loop_event(x, "generation", NULL, d, true, NULL);
}

/* One child's result kept for the canary. */
typedef struct child {
    char *id;
    loop_outcome oc;
    size_t caps[ECO_LOOP_MAX_CAPS], n_caps;
} child;

/* The canary of capability ci: the best accepted child holding it (held-out plus shift
 * exact match) against the champion; the champion's failures on the traffic become the
 * hard examples of generation g. */
static eco_status canary(loop_ctx *x, int64_t g, size_t ci, const child *kids, size_t n) {
    const child *best = NULL;
    double best_score = -1;
    for (size_t i = 0; i < n; i++) {
        bool has = false;
        for (size_t k = 0; k < kids[i].n_caps; k++) has = has || kids[i].caps[k] == ci;
        if (!kids[i].id || !kids[i].oc.accepted || !has) continue;
        double s = (isnan(kids[i].oc.quality[ci]) ? 0 : kids[i].oc.quality[ci]) +
                   (isnan(kids[i].oc.shift[ci]) ? 0 : kids[i].oc.shift[ci]);
        if (s > best_score) {
            best_score = s;
            best = &kids[i];
        }
    }
    char *champ = loop_champion(x, ci);
    eco_status st = ECO_STATUS_OK;
    bool found = false;
    json_t *prev = NULL;
    if (best) st = loop_event_find(x, "canary", best->id, g, x->caps[ci].name, &found, &prev);
    if (!st && found) { /* ran before an interruption: its hard examples, when not recorded */
        const char *was = json_string_value(json_object_get(prev, "champion"));
        const char *path = json_string_value(json_object_get(prev, "hard_examples_path"));
        json_int_t nh = json_integer_value(json_object_get(prev, "hard_examples"));
        bool have = false;
        if (was && path && nh > 0 &&
            !(st = loop_event_find(x, "hard-examples", was, g, x->caps[ci].name, &have, NULL)) &&
            !have)
            st = loop_hard_event(x, was, ci, g, path, (int64_t)nh);
    }
    json_decref(prev);
    if (!st && best && champ && strcmp(champ, best->id) != 0 && !found) {
        char name[200];
        snprintf(name, sizeof name, "hard-%s-g%lld.jsonl", x->caps[ci].name, (long long)g);
        char *hard = eco_path_join(x->dir, name);
        eco_canary_run_options co = {.run = x->c->name,
                                     .generation = g,
                                     .capability = x->caps[ci].name,
                                     .champion = champ,
                                     .challenger = best->id,
                                     .settings = &x->c->canary,
                                     .traffic_path = loop_traffic(x, ci, g),
                                     .hard_examples_path = hard,
                                     .threads = x->c->evaluation.threads,
                                     .deny = x->deny,
                                     .n_deny = x->n_deny,
                                     .open = eco_canary_open_pool,
                                     .open_ctx = x->pool};
        eco_canary_run_result res;
        memset(&res, 0, sizeof res);
        live(x, "generation %lld: canary of %s", (long long)g, x->caps[ci].name);
        st = hard ? eco_canary_run(x->r, &co, &res) : eco_error(ECO_STATUS_ENOMEM, "oom");
        if (!st && res.promoted) x->res->promoted++;
        if (!st && res.hard_examples > 0)
            st = loop_hard_event(x, champ, ci, g, hard, (int64_t)res.hard_examples);
        free(hard);
    }
    free(champ);
    return st ? eco_error_wrap(st, "loop: canary of %s", x->caps[ci].name) : ECO_STATUS_OK;
}

static eco_status run_generation(loop_ctx *x, int64_t g) {
    double t0 = eco_now();
    eco_pareto *a0 = NULL, *a = NULL;
    eco_status st = generation_start(x, g);
    if (!st) st = loop_archive_at(x, g, &a0);
    if (!st) st = loop_archive_at(x, g, &a);
    size_t n = (size_t)x->c->children, bred = 0, rejected = 0;
    child *kids = eco_calloc_array(n, sizeof *kids);
    if (!st && !kids) st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
    bool changed = false;
    char why[256] = "";
    for (size_t k = 0; !st && k < n; k++) {
        live(x, "generation %lld: breeding child %zu", (long long)g, k);
        if ((st = loop_breed_child(x, a0, g, (int64_t)k, &kids[k].id, kids[k].caps,
                                   &kids[k].n_caps)) ||
            !kids[k].id)
            continue;
        bred++;
        live(x, "generation %lld: gating child %zu", (long long)g, k);
        if ((st = loop_evaluate(x, kids[k].id, kids[k].caps, kids[k].n_caps, g, &kids[k].oc)))
            break;
        if (kids[k].oc.accepted) {
            st = loop_archive_offer(x, a, kids[k].id, &kids[k].oc, &changed);
        } else {
            rejected++;
            x->res->rejected++;
            snprintf(why + strlen(why), sizeof why - strlen(why), "%s%s: %s", why[0] ? "; " : "",
                     kids[k].id, kids[k].oc.reasons);
        }
    }
    if (!st && changed) st = eco_archive_save(x->r, a, g);
    for (size_t ci = 0; !st && ci < x->c->n_capabilities; ci++) st = canary(x, g, ci, kids, n);
    if (!st) st = generation_end(x, g, bred, rejected, why, eco_pareto_count(a), t0);
    for (size_t k = 0; kids && k < n; k++) free(kids[k].id);
    free(kids);
    eco_pareto_free(a0);
    eco_pareto_free(a);
    return st;
}

static eco_status seed_generation(loop_ctx *x) {
    double t0 = eco_now();
    eco_pareto *a = NULL;
    size_t before = x->res->rejected;
    eco_status st = generation_start(x, 0);
    live(x, "generation 0: seeding");
    if (!st) st = loop_seed(x);
    if (!st) st = loop_archive_at(x, 1, &a);
    if (!st) st = generation_end(x, 0, 0, x->res->rejected - before, "", eco_pareto_count(a), t0);
    eco_pareto_free(a);
    x->res->seeded = !st;
    return st;
}

static eco_status ctx_init(loop_ctx *x) {
    const eco_loop_config *c = x->c;
    char *loop_dir = eco_path_join(eco_registry_data_dir(x->r), "loop");
    x->dir = loop_dir ? eco_path_join(loop_dir, c->name) : NULL;
    free(loop_dir);
    if (!x->dir) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    eco_status st = eco_mkdir_p(x->dir);
    if (!st) st = eco_gates_parse(c->gates, strlen(c->gates), "loop gates", &x->gates);
    if (!st) st = eco_pool_create(x->r, NULL, &x->pool);
    if (!st && c->evaluation.deny) {
        bool rel = c->evaluation.deny[0] != '/' && c->base_dir;
        char *path =
            rel ? eco_path_join(c->base_dir, c->evaluation.deny) : eco_strdup(c->evaluation.deny);
        st = path ? eco_deny_file_read(path, &x->deny_data, &x->deny, &x->n_deny)
                  : eco_error(ECO_STATUS_ENOMEM, "out of memory");
        if (st) st = eco_error_wrap(st, "loop: evaluation.deny");
        free(path);
    }
    if (!st && c->n_capabilities > ECO_LOOP_MAX_CAPS)
        st = eco_error(ECO_STATUS_EINVAL, "loop: too many capabilities");
    if (!st && !(x->caps = eco_calloc_array(c->n_capabilities, sizeof *x->caps)))
        st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
    for (size_t i = 0; !st && i < c->n_objectives; i++) {
        bool per_cap = strcmp(c->objectives[i], "capabilities") == 0;
        for (size_t k = 0; k < ECO_PARETO_OBJ__COUNT + c->n_capabilities; k++) {
            if (k < ECO_PARETO_OBJ__COUNT
                    ? strcmp(c->objectives[i], eco_pareto_default_objectives[k].name) != 0
                    : !per_cap)
                continue;
            if (x->n_obj == ECO_PARETO_MAX_OBJECTIVES) {
                st = eco_error(ECO_STATUS_EINVAL, "loop: more than %d objectives",
                               ECO_PARETO_MAX_OBJECTIVES);
                break;
            }
            char *nm = x->obj_names[x->n_obj];
            if (k < ECO_PARETO_OBJ__COUNT) {
                snprintf(nm, ECO_PARETO_NAME_MAX + 1, "%s", eco_pareto_default_objectives[k].name);
            } else { /* "q_" and the capability, [a-z0-9_] */
                snprintf(nm, ECO_PARETO_NAME_MAX + 1, "q_%s",
                         c->capabilities[k - ECO_PARETO_OBJ__COUNT]);
                for (char *q = nm; *q; q++)
                    if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9'))) *q = '_';
            }
            x->obj[x->n_obj] = (eco_pareto_objective){
                .name = nm,
                .dir = k < ECO_PARETO_OBJ__COUNT ? eco_pareto_default_objectives[k].dir
                                                 : ECO_PARETO_DIR_MAX};
            x->obj_index[x->n_obj++] = k;
        }
    }
    if (!st) st = loop_corpora_prepare(x);
    return st;
}

static void ctx_free(loop_ctx *x) {
    for (size_t i = 0; x->caps && i < x->c->n_capabilities; i++) {
        free(x->caps[i].eval_text);
        for (int64_t s = 0; x->caps[i].traffic && s < x->c->traffic.slices; s++)
            free(x->caps[i].traffic[s]);
        free(x->caps[i].traffic);
        free(x->caps[i].train_path);
    }
    free(x->caps);
    free(x->safety_text);
    free(x->deny_data);
    free(x->deny);
    eco_pool_destroy(x->pool);
    free(x->dir);
    eco_gates_free(x->gates);
}

eco_status eco_loop_run(eco_registry *r, const eco_loop_config *c, const eco_loop_options *o,
                        eco_loop_result *res) {
    if (!r || !c || !o) return eco_error(ECO_STATUS_EINVAL, "loop: NULL argument");
    eco_loop_result local;
    if (!res) res = &local;
    memset(res, 0, sizeof *res);
    loop_ctx x = {.r = r, .c = c, .o = o, .res = res, .t_start = eco_now()};
    /* one thread count for everything the loop runs (evaluation, training, the canary):
     * the bytes a fine-tune writes depend on it, and a resumed run must breed the same */
    eco_set_threads(c->evaluation.threads);
    eco_status st = ctx_init(&x);
    last_scan ls = {.last = -1};
    if (!st) st = scan_last(&x, &ls);
    int64_t last = ls.last;
    bool any = ls.any;
    res->resumed = any;
    if (!st) {
        json_t *d = json_pack("{s:s,s:b,s:I}", "config_sha256", c->sha256, "resumed", any,
                              "generation", (json_int_t)(last + 1));
        st = loop_event(&x, "loop-start", NULL, d, true, NULL);
    }
    if (!st && x.o->out && any)
        fprintf(x.o->out, "continuing run %s after generation %lld\n", c->name, (long long)last);
    if (!st && last < 0 && !(st = seed_generation(&x))) last = 0;
    int64_t gens = o->generations > 0 ? o->generations : c->generations;
    double minutes = o->minutes > 0 ? o->minutes : c->minutes;
    res->first_generation = last + 1;
    res->last_generation = last;
    for (int64_t g = last + 1; !st && (gens <= 0 || g <= gens); g++) {
        double waited = 0; /* a pause (loop_pause.c) is not counted against the minutes */
        if ((st = eco_loop_pause_wait(eco_registry_data_dir(r), 1, x.o->out, &waited))) break;
        x.t_start += waited;
        double spent = eco_now() - x.t_start;
        if (minutes > 0 && spent + expected_generation(&x) > minutes * 60) break;
        if ((st = run_generation(&x, g))) break;
        res->last_generation = g;
        if (gens <= 0 && minutes <= 0) break;
    }
    res->seconds = eco_now() - x.t_start;
    ctx_free(&x);
    return st;
}
