/*
 * The loop's parts (daemon.h), shared by src/daemon/loop*.c:
 *   loop.c         the run: budget, resume, the generation's frame, progress lines
 *   loop_config.c  the configuration file
 *   loop_corpus.c  evaluation and traffic corpora, training items, hard examples on disk
 *   loop_eval.c    evaluating and gating one registered model ("gate" event)
 *   loop_seed.c    generation 0: the population imported, evaluated, champions set
 *   loop_breed.c   one child: parents, operator, eco_breed ("candidate" / "breed-failed")
 *   loop_events.c  the record: appending events, finding the ones of this run
 */
#ifndef ECO_DAEMON_LOOP_INTERNAL_H
#define ECO_DAEMON_LOOP_INTERNAL_H

#include <jansson.h>

#include "ecology/daemon.h"
#include "ecology/evaluator.h"
#include "ecology/pareto.h"
#include "ecology/registry.h"
#include "ecology/runtime.h"

/* What the loop keeps per capability of the config (in config order). */
typedef struct loop_cap {
    const char *name; /* the config's */
    char *eval_text;  /* its evaluation cases (JSONL): in-distribution then shift */
    size_t eval_len;
    char **traffic;   /* [slices] <dir>/traffic-<cap>-<s>.jsonl: its canary traffic */
    char *train_path; /* <dir>/train-<cap>-<n>.jsonl (the last one written), or NULL */
    int64_t train_n;
    bool has_shift;
} loop_cap;

typedef struct loop_ctx {
    eco_registry *r;
    const eco_loop_config *c;
    const eco_loop_options *o;
    eco_loop_result *res;
    char *dir;         /* <data>/loop/<name> */
    char *safety_text; /* the safety pairs (JSONL), or NULL */
    size_t safety_len;
    int safety_cap;  /* ctx index of ECO_TASKS_SAFETY_CAPABILITY (the pairs'), or −1 */
    char *deny_data; /* the deny-list file's text; deny[n_deny] point into it */
    const char **deny;
    size_t n_deny;
    loop_cap *caps; /* [c->n_capabilities] */
    eco_pool *pool; /* the canaries' engines (the serving path: runtime.h's pool, one base
                     * loaded once and shared by its adapters); evaluation and mining open
                     * their own llama engines (the choice scorer needs one) */
    eco_gates *gates;
    /* the archive's objectives: obj[i] is the default objective obj_index[i] (pareto.h), or
     * for obj_index[i] >= ECO_PARETO_OBJ__COUNT the in-distribution exact match of
     * capability obj_index[i] - ECO_PARETO_OBJ__COUNT, named "q_<capability>" */
    eco_pareto_objective obj[ECO_PARETO_MAX_OBJECTIVES];
    size_t obj_index[ECO_PARETO_MAX_OBJECTIVES];
    char obj_names[ECO_PARETO_MAX_OBJECTIVES][ECO_PARETO_NAME_MAX + 1];
    size_t n_obj;
    double t_start;
} loop_ctx;

/* One model's evaluation and gate. */
typedef struct loop_outcome {
    bool accepted;
    double fitness;                           /* NaN when rejected */
    double values[ECO_PARETO_MAX_OBJECTIVES]; /* the archive's objectives (ctx->obj order) */
    double quality[ECO_LOOP_MAX_CAPS]; /* in-distribution exact match per ctx cap (NaN: none) */
    double shift[ECO_LOOP_MAX_CAPS];   /* shift exact match per ctx cap (NaN: none) */
    char reasons[512];                 /* "gate, gate" when rejected */
} loop_outcome;

/* ---- loop_events.c ---- */

/* Appends an event whose detail is d (stolen; "run" added when run is set). */
eco_status loop_event(loop_ctx *x, const char *type, const char *model_id, json_t *d, bool run,
                      int64_t *seq);
/* Calls fn on every event of type (NULL: any) whose detail's "run" is this run's (or, with
 * any_run, every one), in order, until fn returns false. The detail is parsed. */
typedef bool (*loop_event_fn)(void *ctx, const eco_registry_event *e, const json_t *detail);
eco_status loop_events_each(loop_ctx *x, const char *type, bool any_run, loop_event_fn fn,
                            void *ctx);
/* Whether an event of type for model_id (NULL: any) exists in this run, with "generation" g
 * when g >= 0 and "capability" capability when not NULL; *detail (may be NULL) receives the
 * parsed detail (new reference) of the last one. */
eco_status loop_event_find(loop_ctx *x, const char *type, const char *model_id, int64_t g,
                           const char *capability, bool *found, json_t **detail);

/* ---- loop_corpus.c ---- */

/* Builds every capability's evaluation and traffic cases and the safety pairs (ctx caps). */
eco_status loop_corpora_prepare(loop_ctx *x);
/* The traffic file of capability ci replayed at generation g (slice g mod slices). */
const char *loop_traffic(const loop_ctx *x, size_t ci, int64_t g);
/* The evaluation corpus of capability indices caps[n] (sorted), plus the safety pairs when
 * one of them is the safety capability: written to <dir>, recorded hidden in the registry;
 * *path malloc'd. */
eco_status loop_eval_corpus(loop_ctx *x, const size_t *caps, size_t n, char **path);
/* The TRAIN items of capability ci (the first n of eco_tasks_generate with the loop's seed)
 * as a JSONL training corpus, written once and recorded; *path borrowed from the ctx. */
eco_status loop_train_corpus(loop_ctx *x, size_t ci, int64_t n, const char **path);
/* Records a training corpus file (hard examples, training items) in the registry. */
eco_status loop_record_train(loop_ctx *x, const char *path, const char *name, char hex[65],
                             int64_t *records);
/* The index of capability name in ctx (-1 when the loop does not work on it). */
int loop_cap_index(const loop_ctx *x, const char *name);
/* Whether caps[n] (ctx indices) hold the safety capability and the loop has safety pairs:
 * then the candidate's corpus holds the pairs and the safety rates are gated. */
bool loop_judged_on_pairs(const loop_ctx *x, const size_t *caps, size_t n);

/* ---- loop_eval.c ---- */

/* Evaluates registered model id on the corpus of its capabilities caps[n] (ctx indices),
 * judges it with the config's gates, stores the report and appends the "gate" event of
 * generation g. With reuse, a model that already has a gate event in this run is judged
 * again from its stored report instead (no run, no event). */
eco_status loop_evaluate(loop_ctx *x, const char *id, const size_t *caps, size_t n, int64_t g,
                         loop_outcome *out);
/* The capabilities (ctx indices) model id holds: its genome's, or for a child of this run
 * the ones its "candidate" event names. */
eco_status loop_model_caps(loop_ctx *x, const char *id, size_t *caps, size_t *n);

/* ---- loop_seed.c ---- */

eco_status loop_seed(loop_ctx *x);
/* Mines the failures of model id on capability ci's traffic into hard examples (generation
 * g) when it has no "hard-examples" event of g yet. */
eco_status loop_mine(loop_ctx *x, const char *id, size_t ci, int64_t g);
/* The "hard-examples" event of champion id for capability ci: the file at path with n
 * records (recorded as a training corpus when n > 0). */
eco_status loop_hard_event(loop_ctx *x, const char *id, size_t ci, int64_t g, const char *path,
                           int64_t n);
/* The archive as the last "archive" event of generation < g (or a new empty one). */
eco_status loop_archive_at(loop_ctx *x, int64_t g, eco_pareto **out);
/* Offers id with its values to the archive a (a member already there is kept); *changed. */
eco_status loop_archive_offer(loop_ctx *x, eco_pareto *a, const char *id, const loop_outcome *oc,
                              bool *changed);
/* The current champion of capability ci (malloc'd) or NULL. */
char *loop_champion(loop_ctx *x, size_t ci);

/* ---- loop_breed.c ---- */

/* Breeds child k of generation g from archive a (registering it, or reusing the registered
 * one). *id (malloc'd) is the child's id, or NULL when it failed ("breed-failed" event). caps
 * receives the child's capabilities (ctx indices). */
eco_status loop_breed_child(loop_ctx *x, const eco_pareto *a, int64_t g, int64_t k, char **id,
                            size_t *caps, size_t *n_caps);

#endif
