/*
 * router: routing policies over engines (the seed's ModelRouter), on the engine contract
 * only (contracts.h): capability, cascade, ensemble, canary and shadow (issue 21).
 *
 * The pieces:
 *
 *  - a route table: the targets a router may call, each an engine (borrowed) with its id,
 *    family, the capabilities it advertises with a quality for each (the evaluator's
 *    reports: the caller fills them), its cost and its resource figures;
 *  - a policy: a tree of nodes parsed from JSON (eco_route_policy_parse), each a target or
 *    one of the five policies over child nodes, so that policies compose (a canary split
 *    inside a capability route, a cascade whose last stage is an ensemble);
 *  - a router (eco_router_create): the table and the policy checked against each other
 *    (every target the policy names exists), answering requests (eco_router_answer) with a
 *    trace of what it did: which engines answered, their confidences, the escalations, the
 *    canary arms, the shadow's score. It implements the eco_router contract (route: the
 *    engines that may answer, in the order they would be tried);
 *  - RouteLLM's quality metrics for a strong/weak router (eco_routellm_eval): the quality
 *    against the share of calls sent to the strong model as the threshold sweeps, APGR and
 *    CPT(50%) / CPT(80%).
 *
 * The policy JSON (every field checked, unknown fields refused, messages naming the field's
 * path, e.g. "policy.json: members[1].share: 1.5 outside [0, 1]"):
 *
 *   node := "<target id>"
 *         | {"policy": "capability", "capability": C?, "profile": {"max_p95_ms": X?,
 *            "max_resident_bytes": N?}?, "members": [node, ...]?}
 *              members that advertise C (the node's own, else the request's capability)
 *              and fit the profile, best first: quality for C descending (unknown last),
 *              then cost ascending, then the order given; the first answers, the next is
 *              tried when an engine fails. Without "members", every target of the table.
 *         | {"policy": "cascade", "threshold": T, "stages": [node, node, ...]}
 *              stages cheapest first (cost ascending, order given on ties); a stage's
 *              answer is taken when its confidence (eco_route_confidence) is >= T, in
 *              (0, 1]; otherwise the next stage answers (FrugalGPT's LLM cascade with the
 *              answer's own token log-probabilities as its scorer). The last stage's answer
 *              is taken whatever its confidence. A stage that fails passes the request on;
 *              when every stage after a low-confidence answer fails, that answer stands.
 *         | {"policy": "ensemble", "vote": "majority" | "confidence"?, "members": [node,
 *            node, ...]}
 *              every member answers; "majority" (the default): the answer (its answer span,
 *              core's eco_text_answer_span) given most often, ties to the group holding the
 *              most confident answer, then to the earlier member; the response returned is
 *              the group's most confident one. "confidence": the most confident answer.
 *         | {"policy": "canary", "share": S, "champion": node, "canary": node}
 *              eco_route_canary_pick(request_id, S) sends the request to the canary.
 *         | {"policy": "shadow", "champion": node, "canary": node}
 *              the champion answers; the canary answers the same request too, its answer is
 *              scored by the router's scorer against the champion's and discarded (its
 *              failure is recorded, never returned).
 *
 * A node's figures, for ranking and the profile (a composite node from its children's):
 * it advertises C when every engine whose answer it may return does (a target: C in its
 * list; capability: its fixed C equals C, or without one a member advertises C; cascade and
 * ensemble: every child; canary: both arms; shadow: the champion); its quality for C is a
 * target's, the best child's (capability, cascade, ensemble) or the champion's (canary,
 * shadow); its cost is a target's, the cheapest member's (capability), the first stage's
 * (cascade), the sum (ensemble, shadow) or the champion's (canary). A node fits a profile
 * when every engine it may call does (p95 and resident bytes at most the bounds; a figure
 * of 0, unknown, fits).
 *
 * Limits: a policy of at most ECO_ROUTE_MAX_NODES nodes, ECO_ROUTE_MAX_DEPTH deep, in at
 * most ECO_ROUTE_MAX_POLICY_BYTES; at most ECO_ROUTE_MAX_CHILDREN children a node.
 *
 * A router is used by one thread at a time (engines are: contracts.h).
 */
#ifndef ECOLOGY_ROUTER_H
#define ECOLOGY_ROUTER_H

#include "ecology/contracts.h"
#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECO_ROUTE_MAX_POLICY_BYTES (64u << 10)
#define ECO_ROUTE_MAX_NODES        256
#define ECO_ROUTE_MAX_DEPTH        16
#define ECO_ROUTE_MAX_CHILDREN     64

/* The canary split: whether the request named request_id goes to the canary when the
 * canary's share of traffic is share (in [0, 1]). Deterministic: the first 8 bytes of
 * SHA-256(request_id), big-endian, divided by 2^64, compared with share (u < share); so a
 * request keeps its arm while the share grows, and the arms' shares converge to share. */
bool eco_route_canary_pick(const char *request_id, double share);

/* The confidence of an answer: exp of the MEAN of its per-token log-probabilities (the
 * geometric mean of the tokens' probabilities), in [0, 1]. The mean, not the minimum: one
 * unlikely token among confident ones lowers it without deciding alone, and answers of
 * different lengths compare. 0 for an answer without tokens (no evidence: a cascade
 * escalates it) and when a log-probability is NaN; a log-probability of -inf gives 0.
 * resp NULL: 0. */
double eco_route_confidence(const eco_infer_response *resp);

/* ---- the route table ------------------------------------------------------------------ */

/* One target. Everything is borrowed for the call to eco_router_create, which copies it;
 * the engine is borrowed for the router's life. */
typedef struct eco_route_target {
    const char *id;                  /* unique, non-empty: what the policy names */
    eco_engine *engine;              /* borrowed; outlives the router */
    const char *family;              /* the base family (may be NULL) */
    const char *const *capabilities; /* [n_capabilities] advertised capabilities */
    const double *quality;           /* [n_capabilities] quality for each in [0, 1] (NaN:
                                      * unknown), or NULL: every one unknown */
    size_t n_capabilities;
    double cost;             /* cost of one call, >= 0 (resident bytes, measured ms): the
                              * cheaper first */
    double p95_ms;           /* p95 latency from the evaluator's report; 0: unknown */
    uint64_t resident_bytes; /* resident memory; 0: unknown */
} eco_route_target;

/* Targets whose cost is not known on this machine (unknown[i]: a remote model, whose weights
 * are elsewhere) are given a cost above every known one (the largest known + 1), so a
 * cascade tries them last, as the expensive tier. */
void eco_route_cost_unknown_last(eco_route_target *t, size_t n, const bool *unknown);

/* ---- the policy ----------------------------------------------------------------------- */

typedef enum eco_route_kind {
    ECO_ROUTE_KIND_TARGET = 0,
    ECO_ROUTE_KIND_CAPABILITY = 1,
    ECO_ROUTE_KIND_CASCADE = 2,
    ECO_ROUTE_KIND_ENSEMBLE = 3,
    ECO_ROUTE_KIND_CANARY = 4,
    ECO_ROUTE_KIND_SHADOW = 5,
} eco_route_kind;

/* "target", "capability", ...; static; "?" for a value outside the enum. */
const char *eco_route_kind_str(eco_route_kind k);

typedef enum eco_route_vote {
    ECO_ROUTE_VOTE_MAJORITY = 0,
    ECO_ROUTE_VOTE_CONFIDENCE = 1,
} eco_route_vote;

/* One node of a policy tree; every pointer owned by the node (eco_route_policy_free). */
typedef struct eco_route_node eco_route_node;
struct eco_route_node {
    eco_route_kind kind;
    char *at;                  /* where it sits in the document: "" the root, "members[1]",
                                * "members[1].champion" (for messages) */
    char *target;              /* TARGET: the target's id; NULL otherwise */
    eco_route_node **children; /* [n_children]: CAPABILITY members (n 0: every target),
                                * CASCADE stages, ENSEMBLE members as given; CANARY and
                                * SHADOW: [0] the champion, [1] the canary */
    size_t n_children;
    char *capability;            /* CAPABILITY: the capability routed, or NULL: the request's */
    double max_p95_ms;           /* CAPABILITY profile: bound, or 0: none */
    uint64_t max_resident_bytes; /* CAPABILITY profile: bound, or 0: none */
    double threshold;            /* CASCADE: the confidence accepted, in (0, 1] */
    eco_route_vote vote;         /* ENSEMBLE */
    double share;                /* CANARY: the canary's share, in [0, 1] */
};

/* Parses the policy text[len] (JSON, one node as above); label names it in messages (NULL:
 * "policy"). *out is the caller's (eco_route_policy_free). EFORMAT naming the field for
 * anything malformed: not JSON, duplicate keys, a wrong type, a missing or unknown field,
 * a value out of range, an empty target id, too few children (cascade and ensemble: 2;
 * canary and shadow: both arms), past the limits above; EINVAL for NULL arguments. */
eco_status eco_route_policy_parse(const char *text, size_t len, const char *label,
                                  eco_route_node **out);
/* The policy as canonical JSON (core's eco_json_canonical; defaults written out), which
 * parses back to the same tree; *out malloc'd, NUL-terminated, caller frees. */
eco_status eco_route_policy_json(const eco_route_node *policy, char **out);
/* Frees the tree; NULL is fine. */
void eco_route_policy_free(eco_route_node *policy);

/* ---- the router ----------------------------------------------------------------------- */

typedef struct eco_policy_router eco_policy_router;

/* The shadow's scorer: how good the shadow's answer is, against the champion's answer
 * (both borrowed for the call); any finite number (NaN is recorded as it is). */
typedef double (*eco_route_scorer)(void *user, const eco_infer_request *req,
                                   const eco_infer_response *shadow,
                                   const eco_infer_response *champion);

/* A scorer for the shadow policy: 1 when the shadow's answer span (core's
 * eco_text_answer_span) equals the champion's, else 0 (user unused): the agreement rate of
 * a canary with its champion on live traffic. */
double eco_route_score_agree(void *user, const eco_infer_request *req,
                             const eco_infer_response *shadow, const eco_infer_response *champion);

/* A router over targets[n] and policy (both copied: the caller may free them after the
 * call; engines borrowed). *out the caller's (eco_router_free, or the contract's destroy).
 * EINVAL: NULL arguments, n 0, an empty or duplicate target id, a target without engine, a
 * negative or non-finite cost, a quality outside [0, 1], a capability route without
 * members over a table of more than ECO_ROUTE_MAX_CHILDREN targets; ENOTFOUND naming the
 * node's path and the id for a target the policy names that the table lacks. */
eco_status eco_router_create(const eco_route_target *targets, size_t n,
                             const eco_route_node *policy, eco_policy_router **out);
void eco_router_free(eco_policy_router *r);
/* The scorer the shadow policy scores with (NULL: none, scores NaN); user is passed back. */
void eco_router_set_scorer(eco_policy_router *r, eco_route_scorer scorer, void *user);
/* The router as the eco_router contract (borrowed: it is r; its destroy frees r). */
eco_router *eco_router_contract(eco_policy_router *r);
/* The route table's size and its entries' ids (borrowed from r). */
size_t eco_router_n_targets(const eco_policy_router *r);
const char *eco_router_target_id(const eco_policy_router *r, size_t i);

/* One engine call of a request. */
typedef struct eco_route_call {
    size_t target;      /* index in the route table */
    eco_route_kind via; /* the policy that made the call (TARGET at the root) */
    eco_status status;  /* the engine's */
    double confidence;  /* eco_route_confidence of its answer (0 on failure) */
    double ms;          /* wall time of the call */
    size_t n_tokens;    /* tokens it generated */
    bool escalated;     /* a cascade passed its answer over (or its failure) */
    bool chosen;        /* its answer is the router's */
    bool shadow;        /* a shadow's call: answer scored and discarded */
    double score;       /* a shadow's answer: the scorer's value (NaN: none or failed) */
} eco_route_call;

/* One canary split. */
typedef struct eco_route_arm {
    const char *at; /* the canary node's path (borrowed from the router) */
    bool canary;    /* the canary arm (else the champion) */
} eco_route_arm;

/* What the router did for one request. Zero it before its first use; eco_router_answer
 * resets it (memory kept), eco_route_trace_free releases it. */
typedef struct eco_route_trace {
    eco_route_call *calls; /* [n_calls] in the order made */
    size_t n_calls, cap_calls;
    eco_route_arm *arms; /* [n_arms] in the order split */
    size_t n_arms, cap_arms;
    size_t answered;      /* target index of the answer (SIZE_MAX: none) */
    double confidence;    /* the answer's */
    size_t n_escalations; /* cascade stages passed over */
    size_t n_failures;    /* engine calls that failed (shadows' included) */
} eco_route_trace;

void eco_route_trace_free(eco_route_trace *t);
/* The trace as canonical JSON: {"answered": id|null, "confidence", "escalations",
 * "failures", "arms": [{"at", "arm": "champion"|"canary"}], "calls": [{"target": id, "via",
 * "status", "confidence", "ms", "tokens", "escalated", "chosen", "shadow", "score"|null}]};
 * *out malloc'd, caller frees. */
eco_status eco_route_trace_json(const eco_policy_router *r, const eco_route_trace *t, char **out);

/* Answers req (request_id names it: the canary split hashes it; NULL is "") by the policy:
 * *resp the answer (caller frees, eco_infer_response_free), *trace what was done (may be
 * NULL). Errors: EINVAL for NULL arguments or a capability route with neither its own
 * capability nor the request's; ENOTFOUND when no member of a capability route advertises
 * the capability within the profile; otherwise the error of the last engine that failed
 * when no engine could answer (*resp then holds nothing; the trace says what was tried). */
eco_status eco_router_answer(eco_policy_router *r, const char *request_id,
                             const eco_infer_request *req, eco_infer_response *resp,
                             eco_route_trace *trace);

/* ---- RouteLLM's metrics ---------------------------------------------------------------- */

/* One point of the quality / call-share curve: requests whose router score is >= threshold
 * go to the strong model. */
typedef struct eco_routellm_point {
    double threshold;  /* +inf at the first point (no strong calls) */
    double call_share; /* share of requests sent to the strong model, in [0, 1] */
    double quality;    /* mean quality of the answers so routed */
    double pgr;        /* performance gap recovered: (quality - q_weak) / (q_strong - q_weak) */
} eco_routellm_point;

typedef struct eco_routellm_result {
    eco_routellm_point *curve; /* [n_points] call_share ascending, from 0 to 1; owned */
    size_t n_points;           /* distinct scores + 1 */
    double q_weak, q_strong;   /* every request to the weak, to the strong model */
    double apgr;               /* mean PGR over call share in [0, 1] (trapezoids) */
    double cpt50, cpt80;       /* the call share reaching PGR 0.5, 0.8 */
} eco_routellm_result;

/* RouteLLM's evaluation of a router that sends a request to the strong model when its score
 * is at or above a threshold, swept over every distinct score[i] (n requests: strong[i] and
 * weak[i] the quality of each model's answer, 1/0 correctness or any score; score[i] the
 * router's, higher = strong). EINVAL: NULL arrays, n 0, a non-finite value; ERANGE when
 * q_strong == q_weak (no gap to recover). *out the caller's (eco_routellm_free). */
eco_status eco_routellm_eval(const double *strong, const double *weak, const double *score,
                             size_t n, eco_routellm_result *out);
/* The call share at which the curve first reaches PGR p (in (0, 1]), by linear
 * interpolation inside the segment where it crosses p; NaN when p is outside (0, 1]. */
double eco_routellm_cpt(const eco_routellm_result *res, double p);
void eco_routellm_free(eco_routellm_result *res);

#ifdef __cplusplus
}
#endif
#endif
