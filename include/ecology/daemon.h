/*
 * daemon: the ecology loop of issue 21 and what it runs (src/daemon/). Sections belong to
 * their authors: the canary runner (src/daemon/canary_*.c) and the loop (src/daemon/loop*.c).
 */
#ifndef ECOLOGY_DAEMON_H
#define ECOLOGY_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ecology/canary.h"
#include "ecology/contracts.h"
#include "ecology/core.h"
#include "ecology/registry.h"
#include "ecology/telemetry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- canary runner ------------------------------------------------------------------------
 *
 * One canary of a challenger against the champion of a capability, on a stream of labelled
 * requests (issue 21, "Promotion: canary and rollback"; src/daemon/canary_run.c):
 *
 *   traffic corpus ──case i (cycled)──▶ request id "<run>/g<generation>/<i>"
 *     ──eco_route_canary_pick(id, weight/100)──▶ canary arm | champion arm
 *     ──eco_evaluate on that one case (the evaluator's own generation and check rules)──▶
 *     observation {arm, error, label = passed, latency_ms, safety alert}
 *     ──eco_canary_ctl_observe──▶ hold | advance | promote | abort
 *
 * Per request: each answer is judged by the case's check exactly as eco_evaluate judges it
 * (evaluator.h: greedy, stop "\n", exact on answer spans, refusal by verifier.h's rule,
 * deny list), with robustness off. A request without an answer is an error observation:
 * an engine failure, an answer past case_timeout_ms, or a request that does not fit the
 * model's context (nothing ran). A safety alert is
 * a refusal case answered or a deny-list term in an answer; on the canary it aborts at once
 * (eco_canary_ctl_observe's critical rule), on the champion it is counted.
 * Latency is the engine's own (prompt_ms + decode_ms). When telemetry is given every request
 * is recorded in it (engine = the arm's model id, capability = the case's, failed = an error
 * or a failed check, confidence = exp(Σ logprobs) of the answer, as the evaluator's).
 *
 * Decisions: at each step boundary (settings->interval requests, both arms) the controller
 * judges the step (eco_canary_judge) and applies Flagger's rule (eco_canary_ctl_step). Its
 * PROMOTE is taken only when the canary is also better, not merely not worse: over all the
 * requests of the canary, its success rate on labelled traffic is higher than the champion's
 * by the one-sided pooled two-proportion test at ECO_CANARY_ALPHA (the judge passes a canary
 * that is not significantly worse, so without this an equal one would be promoted); else the
 * canary is aborted with the reason "not better than the champion". Promote calls
 * eco_promote(r, challenger, {capability, expect = champion, by "canary",
 * require_report = true}); when that refuses (no accepted report: EGATE; the champion moved:
 * ECONFLICT) the decision is an abort with the refusal as its reason. An abort leaves the
 * champion alias as it was; the canary's weight is 0.
 *
 * Record: the alias "<capability>.canary" is set to the challenger when the run starts (the
 * canary under test), and one "canary" event (model_id the challenger) ends every run:
 *   {"run", "generation", "capability", "champion", "challenger",
 *    "decision": "promote"|"abort", "promoted": bool,
 *    "step": steps judged, "weight": the canary's weight (percent) in the deciding step,
 *    "requests": n, "seconds": wall time, "reasons": [text, ...],
 *    "verdict": <eco_canary_verdict_json of the deciding step>,
 *    "improvement": {"k_canary", "n_canary", "k_champion", "n_champion", "rate_canary",
 *                    "rate_champion", "z", "p_better", "ran", "better"} (all requests),
 *    "settings": {"stepWeight", "maxWeight", "interval", "threshold"},
 *    "timing": {"steps", "min_promote_requests", "rollback_requests", "seconds_per_request",
 *               "min_promote_seconds", "rollback_seconds"} (seconds from the measured mean
 *               wall time per request of this run),
 *    "arms": {"canary": {"n", "errors", "labelled", "correct", "safety_alerts", "p50_ms",
 *                        "p95_ms"}, "champion": {...}} (all requests; latencies null when
 *             an arm answered none),
 *    "hard_examples": n, "hard_examples_path": path | null,
 *    "traffic_sha256": hex of the traffic file}
 *
 * Hard examples: each champion answer that failed its check, for an exact case (completion
 * " " + the expected answer span + "\n", tasks.h's training format) or a refusal case
 * (completion " " ECO_TASKS_REFUSAL "\n"), kept once per prompt (SHA-256 of the prompt; the
 * first seen), at most ECO_CANARY_HARD_MAX, written atomically to hard_examples_path as
 * JSONL {"completion", "prompt"} (sorted keys) in the order first seen, when the path is
 * given (an empty file when there are none). Failures of other checks have no completion
 * to train on and are not kept. */

#define ECO_CANARY_HARD_MAX 10000 /* hard examples kept per run */

/* Opens the engine of model id (a registered id, already resolved); the caller destroys it
 * with eco_engine_destroy. */
typedef eco_status (*eco_canary_open_fn)(void *ctx, const char *id, eco_engine **out);

typedef struct eco_canary_run_options {
    const char *run; /* loop name, for the events (and the request ids) */
    int64_t generation;
    const char *capability;
    const char *champion, *challenger;   /* model ids (or aliases: resolved first) */
    const eco_canary_settings *settings; /* canary.h */
    const char *traffic_path;       /* JSONL evaluation corpus (eval_corpus.h) of labelled requests,
                               * replayed in order, cycled; choice cases are refused (they are
                               * scored, not served) */
    eco_telemetry *telemetry;       /* may be NULL */
    const char *hard_examples_path; /* may be NULL: the champion's failures, above */
    int threads;                    /* engine threads (0: the library default) */
    /* Optional (zero: the defaults) */
    eco_canary_open_fn open; /* NULL: eco_canary_open_registry on r */
    void *open_ctx;
    const char *const *deny; /* deny-list terms (verifier.h); a hit is a safety alert */
    size_t n_deny;
    double case_timeout_ms; /* an answer slower than this is an error (0: 30000, as eval) */
    /* Called after each request (may be NULL): requests so far, the canary weight now. */
    void (*progress)(void *ctx, size_t requests, int weight, size_t steps);
    void *progress_ctx;
} eco_canary_run_options;

typedef struct eco_canary_run_result {
    bool promoted;      /* alias moved by eco_promote(..., by "canary") */
    char reasons[1024]; /* why aborted / promoted ("; "-separated) */
    size_t requests, steps, hard_examples;
    double seconds;
    int64_t event_seq; /* the "canary" event */
} eco_canary_run_result;

/* Runs one canary as described above and records it. The run ends with a promote or an
 * abort (the controller bounds it: at most interval × (steps + threshold − 1) requests).
 * Errors (no event written): EINVAL for missing or bad options (settings as
 * eco_canary_settings_check; champion = challenger), the corpus loader's errors (EFORMAT,
 * ERANGE, EIO naming the file), EFORMAT for a choice case, ENOTFOUND for an id the registry
 * does not know, the engine opener's errors, ENOMEM, EIO writing the hard examples or the
 * registry's errors. A refused promotion is not an error: res->promoted false, reasons say
 * why. On an error res->event_seq is -1; res->promoted is true only when the alias moved
 * (then only recording the event failed). */
eco_status eco_canary_run(eco_registry *r, const eco_canary_run_options *o,
                          eco_canary_run_result *res);

/* The default opener: the model's verified checkout (eco_registry_checkout, the handle's
 * trust cache honoured), and for an adapter its base's, opened as `ecology generate --model
 * BASE --adapter ID` does (eco_llama_engine_open_adapter; the engine's id is the model id);
 * a remote model as an http engine (eco_runtime_open_remote). ctx is the eco_registry. ENOTFOUND for an unknown id or an adapter without a base; the
 * loaders' errors. */
eco_status eco_canary_open_registry(void *ctx, const char *id, eco_engine **out);

/* The runtime pool's opener (runtime.h): ctx is an eco_pool over the same registry; the
 * engine is eco_pool_acquire's (eco_engine_destroy releases it). Both arms of adapters on
 * one base then share that base; its infers are serialised (the pool's rule). The pool's
 * errors. */
eco_status eco_canary_open_pool(void *ctx, const char *id, eco_engine **out);

/* Where the canaries stand, from the registry: a JSON array (canonical) with one entry per
 * capability that has had a canary (capability NULL), sorted by capability, or the one
 * entry of capability (with "last" null when it has had none):
 *   {"capability", "champion": the "C.champion" alias's target | null,
 *    "canary": the "C.canary" alias's target | null,
 *    "last": {"seq", "at", "challenger", "detail": <the "canary" event's detail>} | null}
 * *out malloc'd, NUL-terminated (caller frees). Reads the whole event log. EINVAL for a
 * capability that makes no alias name; the registry's errors; ENOMEM. */
eco_status eco_canary_status_json(eco_registry *r, const char *capability, char **out);

/* ---- end of canary runner ---------------------------------------------------------------- */

/* ---- the loop (src/daemon/loop*.c) ------------------------------------------------------
 *
 * The loop, configured by one JSON file (eco_loop_config_parse):
 *
 *   seeding (generation 0, once): import the population (eco_registry_add_dir, skipped for
 *     an id already registered), evaluate every member that has capabilities on its
 *     capabilities' evaluation corpus, gate it, put the accepted ones in the Pareto archive,
 *     make the best held-out exact match of each capability (across base families) its
 *     champion (eco_promote by "seed") and mine the champion's failures on the traffic
 *     corpus as the first hard examples;
 *   generation g = 1, 2, ...: "generation" start event; for each child k: parents from the
 *     archive (eco_pareto_select, an eco_rng seeded from (seed, g, k)), an operator chosen
 *     by weight among those whose supports() accepts them, bred (eco_breed; a chain when the
 *     operator entry asks for a fine-tune after it) as "<name>-g<g>-<k>", evaluated and gated
 *     ("gate" event), survivors inserted in the archive (eco_archive_save); then per
 *     capability the best accepted challenger runs the canary (eco_canary_run) against the
 *     champion, whose failures on the traffic become hard examples for the next generation's
 *     finetune; "generation" end event.
 *
 * The state is the registry and its event log (the events: "loop-start", "generation",
 * "candidate", "breed-failed", "gate", "hard-examples", promotion.h's and the canary's): on start the loop reads the events of its run and continues
 * after the last finished generation; an interrupted generation is redone from its start
 * (child ids are deterministic, an existing child is reused and its stored report judged
 * again, aliases move by compare-and-swap), so a kill -9 at any point loses or duplicates
 * no model.
 */

#define ECO_LOOP_CONFIG_MAX_BYTES ((size_t)1 << 20)
#define ECO_LOOP_MAX_MEMBERS      256
#define ECO_LOOP_MAX_CAPS         64
#define ECO_LOOP_MAX_OPS          32
#define ECO_LOOP_MAX_CHILDREN     64
#define ECO_LOOP_NAME_MAX         64 /* bytes of a run name: [a-z0-9_-], first a letter or digit */
#define ECO_LOOP_MAX_SLICES       64 /* traffic slices */

/* One model of the population, imported on the first run. */
typedef struct eco_loop_member {
    char *id;            /* registry id */
    char *path;          /* its folder (a relative path: from the config file's folder) */
    char *base;          /* registered base id of an adapter, or NULL */
    char **capabilities; /* [n_capabilities] */
    size_t n_capabilities;
} eco_loop_member;

/* One breeding operator entry, chosen by weight. */
typedef struct eco_loop_op {
    char *op;            /* eco_breeder_op_find name */
    double weight;       /* > 0 */
    char *params;        /* canonical JSON object (the operator's parameters) */
    char *then;          /* canonical JSON object: a finetune after it (a chain), or NULL */
    int64_t train_items; /* TRAIN items per capability a finetune trains on */
    char *train_mix;     /* canonical JSON object {capability: factor > 0}: that capability's
                          * TRAIN items are train_items × factor (absent: × 1), or NULL */
    int64_t slot;        /* "child": only child k of each generation draws this entry; −1 any */
    char **capabilities; /* "capabilities": the entry breeds only from models holding one of
                          * these (a finetune repairs one of them; a merge takes both parents
                          * among them), drawn from their own rng stream; NULL: any */
    size_t n_capabilities;
} eco_loop_op;

typedef struct eco_loop_config {
    char name[ECO_LOOP_NAME_MAX + 1];
    uint64_t seed;
    int64_t generations; /* budget: 0 none */
    double minutes;      /* budget: 0 none */
    int64_t children;    /* children bred per generation (default 2) */
    eco_loop_member *members;
    size_t n_members;
    char **capabilities; /* [n_capabilities] the loop works on, sorted */
    size_t n_capabilities;
    struct {
        /* cases per capability part; safety pairs (the suite of ECO_TASKS_SAFETY_CAPABILITY,
         * which must then be one of the loop's capabilities: part of the corpus of the
         * models holding it) */
        int64_t n, shift_n, safety_pairs;
        uint64_t seed;
        /* every thread count of the loop (eco_set_threads): the same for a resumed run,
         * so that a fine-tune writes the same bytes */
        int threads;
        int64_t max_tokens; /* 0: the corpus's */
        char *deny;         /* deny-list file (verifier.h's format; relative: from the config
                             * file's folder) searched in every answer of every evaluation and
                             * canary, or NULL */
    } evaluation;
    struct {
        int64_t n, shift_n;   /* traffic cases per capability and slice (disjoint from the
                             * evaluation's and from each other) */
        int64_t safety_pairs; /* safety pairs a slice (the safety capability's traffic; its
                               * refusal cases are the canary's safety alerts) after the
                               * evaluation's (default 0) */
        int64_t slices;       /* generation g's canary replays slice g mod slices (the seeding
                             * mines slice 0), so a child trained on one slice's mined
                             * failures is judged on traffic never mined (default 4) */
    } traffic;
    char *gates; /* canonical JSON of the gates object (evaluator.h's format) */
    eco_canary_settings canary;
    int64_t archive_capacity;
    char **objectives; /* [n_objectives] names of pareto.h's default objectives, or
                        * "capabilities": one objective per capability, its in-distribution
                        * exact match ("q_<capability>", 0 for a model without it) */
    size_t n_objectives;
    eco_loop_op *ops;
    size_t n_ops;
    struct {
        int64_t max; /* hard examples kept per capability and generation */
    } hard_examples;
    char sha256[ECO_SHA256_HEX_LEN + 1]; /* of the canonical config */
    char *base_dir;                      /* folder relative member paths are taken from */
} eco_loop_config;

/* Parses a loop config (strict: an unknown or duplicate key, a missing or mistyped field, a
 * value out of range, an unknown operator, capability or objective, gates or canary
 * settings their own parsers refuse, all EFORMAT naming the field: "loop.json:
 * evaluation.n: 0 outside [1, 100000]"). label names the text in messages ("loop" when
 * NULL). *out is the caller's (eco_loop_config_free) on success, zeroed on error. */
eco_status eco_loop_config_parse(const char *text, size_t len, const char *label,
                                 eco_loop_config *out);
/* Reads path (at most ECO_LOOP_CONFIG_MAX_BYTES) and parses it; base_dir is its folder. */
eco_status eco_loop_config_load(const char *path, eco_loop_config *out);
void eco_loop_config_free(eco_loop_config *c);

/* ---- the run ----------------------------------------------------------------------------- */

typedef struct eco_loop_options {
    int64_t generations; /* overrides the config's budget when > 0 */
    double minutes;      /* overrides the config's budget when > 0 */
    FILE *out;           /* progress: one line per generation (NULL: none) */
    bool live;           /* out is a terminal: a redrawn status line as well */
    bool progress;       /* the breeder's and trainer's progress lines on stderr */
} eco_loop_options;

typedef struct eco_loop_result {
    int64_t first_generation; /* the first generation this call ran (1 after seeding) */
    int64_t last_generation;  /* the last finished generation (0: seeding only) */
    bool resumed;             /* the run had events already */
    bool seeded;              /* this call did the seeding */
    size_t bred, rejected, failed, promoted;
    double seconds;
} eco_loop_result;

/* Runs (or continues) the loop of c on registry r until its budget is spent. res may be
 * NULL. Errors: a failure of the registry, the evaluator or the breeder that is not about
 * one candidate (a candidate the breeder refuses or that fails is a "breed-failed" event,
 * not an error). */
eco_status eco_loop_run(eco_registry *r, const eco_loop_config *c, const eco_loop_options *o,
                        eco_loop_result *res);

/* The last finished generation of run `name` (-1 when none, 0 when only seeding finished). */
eco_status eco_loop_last_generation(eco_registry *r, const char *name, int64_t *generation);

/* ---- pausing the loop (src/daemon/loop_pause.c) -------------------------------------------
 *
 * <data>/loop.pause: while the file exists the loop starts no new generation (the one running
 * finishes); it waits, polling the file every second, and the time it waits does not count
 * against its minutes. Anyone may create it (the server's POST /admin/loop/pause, or by
 * hand); its content, {"by", "paused_at"}, is informative only. */
#define ECO_LOOP_PAUSE_FILE "loop.pause"

/* Creates (paused: {"by", "paused_at": at}, canonical, written atomically) or removes the
 * pause file of data_dir. EINVAL without data_dir, EIO. */
eco_status eco_loop_pause_set(const char *data_dir, bool paused, const char *by, const char *at);
/* Whether data_dir's loop is paused; *detail (may be NULL) the file's JSON object,
 * canonical, malloc'd, or NULL when it holds none. EIO when the file cannot be looked at. */
eco_status eco_loop_pause_get(const char *data_dir, bool *paused, char **detail);
/* Returns when data_dir's loop is not paused, polling every poll_s seconds (0: 1); a line on
 * out (may be NULL) when it starts and stops waiting. *waited_s (may be NULL) the seconds
 * waited. */
eco_status eco_loop_pause_wait(const char *data_dir, double poll_s, FILE *out, double *waited_s);

/* ---- end of the loop ---------------------------------------------------------------------- */

#ifdef __cplusplus
}
#endif
#endif
