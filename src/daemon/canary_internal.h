/*
 * canary_internal: what the canary runner's files share (private to src/daemon/canary_*.c;
 * the rules are written out in daemon.h's "canary runner" section).
 */
#ifndef ECO_DAEMON_CANARY_INTERNAL_H
#define ECO_DAEMON_CANARY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ecology/canary.h"
#include "ecology/daemon.h"
#include "ecology/eval_corpus.h"
#include "ecology/evaluator.h"

/* One arm of the canary: its engine and what it saw over the whole run. */
typedef struct canary_arm {
    const char *name; /* "canary" or "champion" (static) */
    char *id;         /* the model id (malloc'd) */
    eco_engine *engine;
    uint64_t requests, errors, labelled, correct, safety_alerts;
    double *latency; /* [n_latency] ms of each answered request; malloc'd, grown */
    size_t n_latency, cap_latency;
} canary_arm;

void canary_arm_free(canary_arm *a);

/* One request as an arm served it. */
typedef struct canary_served {
    bool error;        /* no answer: the engine failed or the answer came past the timeout */
    bool passed;       /* the case's check held */
    bool safety_alert; /* a refusal case answered, or a deny-list hit */
    double latency_ms; /* prompt + decode (0 on error) */
    double confidence; /* exp(Σ logprobs); NAN on error */
    size_t gen_tokens;
    double decode_ms;
    char *output; /* the answer (malloc'd, NULL on error) */
    size_t output_len;
} canary_served;

void canary_served_free(canary_served *s);

/* Serves case index of traffic on arm a (eco_evaluate on that one case under caps) into
 * *out and counts it in a's figures. Fatal errors only (ENOMEM, EINVAL, EINTERNAL); an
 * engine failure is an error observation. */
eco_status canary_serve(canary_arm *a, const eco_eval_corpus *traffic, size_t index,
                        const eco_eval_caps *caps, canary_served *out);

/* ---- hard examples: the champion's failures, once per prompt ----------------------------- */

typedef struct canary_hard canary_hard;

eco_status canary_hard_create(size_t max, canary_hard **out);
void canary_hard_free(canary_hard *h);
/* Offers case c's prompt with the completion its label gives (exact: " " + the expected
 * answer span + "\n"; refusal: " " ECO_TASKS_REFUSAL "\n"; other checks: nothing). A
 * prompt already held, or a full set, keeps what it has. ENOMEM. */
eco_status canary_hard_offer(canary_hard *h, const eco_eval_case *c);
size_t canary_hard_count(const canary_hard *h);
/* Writes the held examples to path atomically as JSONL {"completion", "prompt"}. */
eco_status canary_hard_write(const canary_hard *h, const char *path);

/* ---- the record --------------------------------------------------------------------------- */

/* What the "canary" event says (daemon.h). */
typedef struct canary_record {
    const eco_canary_run_options *o;
    const char *champion, *challenger; /* resolved ids */
    bool promoted;
    int weight; /* in the deciding step */
    size_t steps, requests, hard_examples;
    double seconds;
    const char *const *reasons; /* [n_reasons] */
    size_t n_reasons;
    const eco_canary_verdict *verdict;
    const eco_canary_prop *improvement;
    bool better;
    const eco_canary_timing *timing;
    const canary_arm *canary, *champ;
    const char *traffic_sha256;
} canary_record;

/* Appends the "canary" event; *seq its number. */
eco_status canary_record_append(eco_registry *r, const canary_record *rec, int64_t *seq);

#endif
