/*
 * promotion: who serves each capability, and how that changes (issue 21).
 *
 * The champion of a capability C is the alias "C.champion" (eco_promotion_alias: e.g.
 * "text.sort@1.champion"; the canary under test is "C.canary"). It moves only by
 * compare-and-swap (eco_registry_alias_set with the expected current target), so two
 * processes promoting at once settle with one winner; the old champion stays registered and
 * the alias history keeps every move, so a rollback is one more move.
 *
 * Events this module appends to the registry's log (eco_registry_event_append; detail is a
 * canonical JSON object, model_id as given):
 *   "promote"   model_id the new champion; {"capability", "from" (id or null), "to",
 *               "by": "canary"|"manual"|"seed", "report_seq" (the accepted report it
 *               rests on, or null)}
 *   "rollback"  model_id the restored champion; {"capability", "from", "to", "reason"}
 *   "archive"   model_id null; {"generation": N, "archive": <eco_pareto_to_json object>}:
 *               the whole archive after a change; the last one is the archive's state
 *   "canary"    model_id the challenger; {"capability", "champion", "challenger",
 *               "decision": "promote"|"abort"|"hold", "step", "weight", "reasons": [...],
 *               "verdict": <eco_canary_verdict_json object>, "timing": {...}}
 */
#ifndef ECOLOGY_PROMOTION_H
#define ECOLOGY_PROMOTION_H

#include "ecology/core.h"
#include "ecology/pareto.h"
#include "ecology/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECO_PROMOTION_ALIAS_MAX 160

/* "<capability>.<role>" into out (role "champion" or "canary"); EINVAL when the result is
 * not a valid alias name (eco_model_id_ok) or does not fit. */
eco_status eco_promotion_alias(const char *capability, const char *role,
                               char out[ECO_PROMOTION_ALIAS_MAX]);

/* The latest stored report of model id whose verdict accepted it and that scores
 * capability (its "capabilities" / per-capability detail names it): *seq (-1 when none). */
eco_status eco_promotion_accepted_report(eco_registry *r, const char *id, const char *capability,
                                         int64_t *seq);

typedef struct eco_promote_options {
    const char *capability; /* required */
    const char *expect;     /* the champion the caller saw (NULL: whatever it is now, read
                             * first; "-" : none yet) */
    const char *by;         /* "canary", "manual", "seed" */
    bool require_report;    /* refuse (EGATE) without an accepted report for capability */
} eco_promote_options;

/* Moves "C.champion" to ref's model by compare-and-swap and appends a "promote" event.
 * ECO_STATUS_EGATE naming why when require_report and the model has no accepted report scoring C;
 * ECONFLICT when the champion moved meanwhile. Promoting the current champion is a no-op. */
eco_status eco_promote(eco_registry *r, const char *ref, const eco_promote_options *o);

/* Moves "C.champion" back to the target it had before its last move (alias history) and
 * appends a "rollback" event with reason. ENOTFOUND when C has no champion or no earlier
 * one. *to (may be NULL; malloc'd) receives the restored champion. */
eco_status eco_rollback(eco_registry *r, const char *capability, const char *reason, char **to);

/* The archive as the last "archive" event recorded it (*out NULL and *generation -1 when
 * none yet). */
eco_status eco_archive_load(eco_registry *r, eco_pareto **out, int64_t *generation);
/* Appends an "archive" event holding a's JSON. */
eco_status eco_archive_save(eco_registry *r, const eco_pareto *a, int64_t generation);

#ifdef __cplusplus
}
#endif
#endif
