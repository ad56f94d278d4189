/*
 * The policy router's inside (router.h), shared by its files: the route table's copy, the
 * policy compiled against it (targets resolved to indices, a capability route without
 * members given every target, cascade stages sorted cheapest first) and the scorer.
 */
#ifndef ECO_ROUTER_INTERNAL_H
#define ECO_ROUTER_INTERNAL_H

#include "ecology/router.h"

typedef struct rtarget {
    char *id;
    eco_engine *engine; /* borrowed */
    char *family;       /* or NULL */
    char **caps;        /* [n_caps] */
    double *quality;    /* [n_caps] NaN: unknown */
    size_t n_caps;
    double cost, p95_ms;
    uint64_t resident;
} rtarget;

typedef struct rnode {
    eco_route_kind kind;
    char *at;
    size_t target; /* TARGET: index in the table */
    size_t *kids;  /* [n_kids] node indices; CASCADE sorted by cost; CANARY/SHADOW: champion,
                    * canary */
    size_t n_kids;
    char *capability; /* CAPABILITY: fixed, or NULL */
    double max_p95_ms;
    uint64_t max_resident;
    double threshold;
    eco_route_vote vote;
    double share;
    double cost; /* the node's cost (router.h) */
} rnode;

struct eco_policy_router {
    eco_router base; /* first: the contract */
    rtarget *t;      /* [n_t] */
    size_t n_t;
    rnode *nodes; /* [n_nodes]; the root is nodes[0] */
    size_t n_nodes, cap_nodes;
    eco_route_scorer scorer;
    void *scorer_user;
    eco_route_trace scratch; /* the trace when the caller gives none */
};

/* A capability route's members for capability cap, best first, into idx[0..*n) (idx holds
 * room for the node's n_kids). */
void router_rank(const eco_policy_router *r, const rnode *n, const char *cap, size_t *idx,
                 size_t *n_out);
/* The capability a capability route serves for req: its own, else the request's; EINVAL
 * naming the node when neither. */
eco_status router_capability(const rnode *n, const eco_infer_request *req, const char **cap);
/* EINVAL naming the node: NULL route_json arguments etc. are the caller's. */

#endif
