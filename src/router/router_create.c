/* The policy router (router.h): the route table copied, the policy compiled against it, the
 * node figures a capability route ranks by, and the eco_router contract's route. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "router/router_internal.h"

/* ---- the node figures (router.h: "A node's figures") ------------------------------------ */

static bool target_has(const rtarget *t, const char *cap, double *quality) {
    for (size_t i = 0; i < t->n_caps; i++)
        if (!strcmp(t->caps[i], cap)) {
            if (quality) *quality = t->quality[i];
            return true;
        }
    return false;
}

/* Whether node k advertises cap. */
static bool advertises(const eco_policy_router *r, size_t k, const char *cap) {
    const rnode *n = &r->nodes[k];
    switch (n->kind) {
        case ECO_ROUTE_KIND_TARGET:
            return target_has(&r->t[n->target], cap, NULL);
        case ECO_ROUTE_KIND_CAPABILITY:
            if (n->capability) return !strcmp(n->capability, cap);
            for (size_t i = 0; i < n->n_kids; i++)
                if (advertises(r, n->kids[i], cap)) return true;
            return false;
        case ECO_ROUTE_KIND_SHADOW:
            return advertises(r, n->kids[0], cap);
        default:
            for (size_t i = 0; i < n->n_kids; i++)
                if (!advertises(r, n->kids[i], cap)) return false;
            return true;
    }
}

/* Node k's quality for cap (NaN: unknown). */
static double quality(const eco_policy_router *r, size_t k, const char *cap) {
    const rnode *n = &r->nodes[k];
    double q = NAN;
    switch (n->kind) {
        case ECO_ROUTE_KIND_TARGET:
            target_has(&r->t[n->target], cap, &q);
            return q;
        case ECO_ROUTE_KIND_CANARY:
        case ECO_ROUTE_KIND_SHADOW:
            return quality(r, n->kids[0], cap);
        default:
            for (size_t i = 0; i < n->n_kids; i++) {
                double c = quality(r, n->kids[i], cap);
                if (!isnan(c) && (isnan(q) || c > q)) q = c;
            }
            return q;
    }
}

/* Whether every engine node k may call fits the bounds (0: none; a figure 0 fits). */
static bool fits(const eco_policy_router *r, size_t k, double max_ms, uint64_t max_bytes) {
    const rnode *n = &r->nodes[k];
    if (n->kind == ECO_ROUTE_KIND_TARGET) {
        const rtarget *t = &r->t[n->target];
        return !(max_ms > 0 && t->p95_ms > max_ms) && !(max_bytes > 0 && t->resident > max_bytes);
    }
    for (size_t i = 0; i < n->n_kids; i++)
        if (!fits(r, n->kids[i], max_ms, max_bytes)) return false;
    return true;
}

static double node_cost(const eco_policy_router *r, const rnode *n) {
    double c = 0;
    switch (n->kind) {
        case ECO_ROUTE_KIND_TARGET:
            return r->t[n->target].cost;
        case ECO_ROUTE_KIND_CAPABILITY:
            c = INFINITY;
            for (size_t i = 0; i < n->n_kids; i++)
                if (r->nodes[n->kids[i]].cost < c) c = r->nodes[n->kids[i]].cost;
            return c;
        case ECO_ROUTE_KIND_CASCADE:
        case ECO_ROUTE_KIND_CANARY:
            return r->nodes[n->kids[0]].cost;
        default:
            for (size_t i = 0; i < n->n_kids; i++) c += r->nodes[n->kids[i]].cost;
            return c;
    }
}

eco_status router_capability(const rnode *n, const eco_infer_request *req, const char **cap) {
    *cap = n->capability ? n->capability : req->capability;
    if (!*cap || !**cap)
        return eco_error(ECO_STATUS_EINVAL,
                         "route: capability route at '%s': the request names no capability and "
                         "the route has none of its own",
                         n->at[0] ? n->at : "(root)");
    return ECO_STATUS_OK;
}

void router_rank(const eco_policy_router *r, const rnode *n, const char *cap, size_t *idx,
                 size_t *n_out) {
    double q[ECO_ROUTE_MAX_CHILDREN]; /* q[j]: idx[j]'s quality, -1 when unknown */
    size_t m = 0;
    for (size_t i = 0; i < n->n_kids && i < ECO_ROUTE_MAX_CHILDREN; i++) {
        size_t k = n->kids[i];
        if (!advertises(r, k, cap) || !fits(r, k, n->max_p95_ms, n->max_resident)) continue;
        /* insertion: quality descending (unknown last), cost ascending, order given */
        double qk = quality(r, k, cap), ck = r->nodes[k].cost;
        double key = isnan(qk) ? -1 : qk;
        size_t j = m;
        while (j > 0 && (q[j - 1] < key || (q[j - 1] == key && r->nodes[idx[j - 1]].cost > ck))) {
            idx[j] = idx[j - 1];
            q[j] = q[j - 1];
            j--;
        }
        idx[j] = k;
        q[j] = key;
        m++;
    }
    *n_out = m;
}

/* ---- compiling ------------------------------------------------------------------------- */

/* A new node slot (index in *k); its fields zeroed. */
static eco_status new_node(eco_policy_router *r, size_t *k) {
    if (r->n_nodes == r->cap_nodes) {
        size_t cap = r->cap_nodes ? 2 * r->cap_nodes : 16;
        rnode *g = realloc(r->nodes, cap * sizeof *g);
        if (!g) return eco_error(ECO_STATUS_ENOMEM, "route: out of memory");
        r->nodes = g;
        r->cap_nodes = cap;
    }
    memset(&r->nodes[r->n_nodes], 0, sizeof *r->nodes);
    *k = r->n_nodes++;
    return ECO_STATUS_OK;
}

static eco_status find_target(const eco_policy_router *r, const eco_route_node *p, size_t *out) {
    for (size_t i = 0; i < r->n_t; i++)
        if (!strcmp(r->t[i].id, p->target)) {
            *out = i;
            return ECO_STATUS_OK;
        }
    return eco_error(ECO_STATUS_ENOTFOUND, "route: policy: %s%sunknown target '%s'", p->at,
                     p->at[0] ? ": " : "", p->target);
}

/* Sorts a cascade's stages by cost, stable (insertion). */
static void sort_by_cost(const eco_policy_router *r, size_t *kids, size_t n) {
    for (size_t i = 1; i < n; i++) {
        size_t k = kids[i], j = i;
        while (j > 0 && r->nodes[kids[j - 1]].cost > r->nodes[k].cost) {
            kids[j] = kids[j - 1];
            j--;
        }
        kids[j] = k;
    }
}

static eco_status compile(eco_policy_router *r, const eco_route_node *p, size_t *out) {
    size_t k = 0;
    eco_status st = new_node(r, &k);
    if (st) return st;
    *out = k;
    rnode *n = &r->nodes[k];
    n->kind = p->kind;
    n->at = eco_strdup(p->at ? p->at : "");
    n->capability = p->capability ? eco_strdup(p->capability) : NULL;
    if (!n->at || (p->capability && !n->capability))
        return eco_error(ECO_STATUS_ENOMEM, "route: out of memory");
    n->max_p95_ms = p->max_p95_ms;
    n->max_resident = p->max_resident_bytes;
    n->threshold = p->threshold;
    n->vote = p->vote;
    n->share = p->share;
    if (p->kind == ECO_ROUTE_KIND_TARGET) {
        if (!p->target) return eco_error(ECO_STATUS_EINVAL, "route: policy: a target without id");
        if ((st = find_target(r, p, &n->target))) return st;
        n->cost = r->t[n->target].cost;
        return ECO_STATUS_OK;
    }
    if ((unsigned)p->kind > ECO_ROUTE_KIND_SHADOW ||
        ((p->kind == ECO_ROUTE_KIND_CANARY || p->kind == ECO_ROUTE_KIND_SHADOW) &&
         p->n_children != 2) ||
        (p->kind != ECO_ROUTE_KIND_CAPABILITY && p->n_children == 0) ||
        p->n_children > ECO_ROUTE_MAX_CHILDREN)
        return eco_error(ECO_STATUS_EINVAL, "route: policy: %s: a malformed %s node",
                         p->at ? p->at : "", eco_route_kind_str(p->kind));
    /* a capability route without members: every target */
    const bool every = p->kind == ECO_ROUTE_KIND_CAPABILITY && p->n_children == 0;
    size_t m = every ? r->n_t : p->n_children;
    if (every && m > ECO_ROUTE_MAX_CHILDREN)
        return eco_error(ECO_STATUS_EINVAL,
                         "route: a capability route over every target: %zu targets, more than %d "
                         "(name its members)",
                         m, ECO_ROUTE_MAX_CHILDREN);
    size_t *kids = calloc(m, sizeof *kids);
    if (!kids) return eco_error(ECO_STATUS_ENOMEM, "route: out of memory");
    r->nodes[k].kids = kids; /* r->nodes may move below: index it afresh each time */
    for (size_t i = 0; i < m; i++) {
        size_t c = 0;
        if (every) {
            if ((st = new_node(r, &c))) return st;
            rnode *leaf = &r->nodes[c];
            leaf->kind = ECO_ROUTE_KIND_TARGET;
            leaf->target = i;
            leaf->cost = r->t[i].cost;
            leaf->at = eco_strdup(r->t[i].id);
            if (!leaf->at) return eco_error(ECO_STATUS_ENOMEM, "route: out of memory");
        } else if ((st = compile(r, p->children[i], &c))) {
            return st;
        }
        kids[i] = c;
        r->nodes[k].n_kids = i + 1;
    }
    n = &r->nodes[k];
    if (n->kind == ECO_ROUTE_KIND_CASCADE) sort_by_cost(r, n->kids, n->n_kids);
    n->cost = node_cost(r, n);
    return ECO_STATUS_OK;
}

/* ---- the table -------------------------------------------------------------------------- */

static eco_status copy_target(rtarget *d, const eco_route_target *s, size_t i) {
    if (!s->id || !s->id[0])
        return eco_error(ECO_STATUS_EINVAL, "route: target %zu: an empty id", i);
    if (!s->engine) return eco_error(ECO_STATUS_EINVAL, "route: target '%s': no engine", s->id);
    if (!(s->cost >= 0) || !isfinite(s->cost) || !(s->p95_ms >= 0) || !isfinite(s->p95_ms))
        return eco_error(ECO_STATUS_EINVAL,
                         "route: target '%s': cost %g and p95 %g ms must be finite and >= 0", s->id,
                         s->cost, s->p95_ms);
    if (s->n_capabilities && !s->capabilities)
        return eco_error(ECO_STATUS_EINVAL, "route: target '%s': capabilities NULL", s->id);
    d->engine = s->engine;
    d->cost = s->cost;
    d->p95_ms = s->p95_ms;
    d->resident = s->resident_bytes;
    d->id = eco_strdup(s->id);
    d->family = s->family ? eco_strdup(s->family) : NULL;
    d->caps = eco_calloc_array(s->n_capabilities + 1, sizeof *d->caps);
    d->quality = eco_calloc_array(s->n_capabilities + 1, sizeof *d->quality);
    if (!d->id || (s->family && !d->family) || !d->caps || !d->quality)
        return eco_error(ECO_STATUS_ENOMEM, "route: out of memory");
    for (size_t c = 0; c < s->n_capabilities; c++) {
        const double q = s->quality ? s->quality[c] : NAN;
        if (!s->capabilities[c] || !s->capabilities[c][0])
            return eco_error(ECO_STATUS_EINVAL, "route: target '%s': capability %zu empty", s->id,
                             c);
        if (!isnan(q) && !(q >= 0 && q <= 1))
            return eco_error(ECO_STATUS_EINVAL,
                             "route: target '%s': quality for %s: %g outside "
                             "[0, 1]",
                             s->id, s->capabilities[c], q);
        if (!(d->caps[c] = eco_strdup(s->capabilities[c])))
            return eco_error(ECO_STATUS_ENOMEM, "route: out of memory");
        d->quality[c] = q;
        d->n_caps = c + 1;
    }
    return ECO_STATUS_OK;
}

void eco_router_free(eco_policy_router *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_t; i++) {
        rtarget *t = &r->t[i];
        for (size_t c = 0; c < t->n_caps; c++) free(t->caps[c]);
        free(t->caps);
        free(t->quality);
        free(t->id);
        free(t->family);
    }
    free(r->t);
    for (size_t i = 0; i < r->n_nodes; i++) {
        free(r->nodes[i].at);
        free(r->nodes[i].kids);
        free(r->nodes[i].capability);
    }
    free(r->nodes);
    eco_route_trace_free(&r->scratch);
    free(r);
}

static void contract_destroy(eco_router *self) { eco_router_free((eco_policy_router *)self); }

/* Appends node k's engines in the order tried, each once. */
static eco_status collect(eco_policy_router *r, size_t k, const char *rid,
                          const eco_infer_request *req, eco_engine **order, size_t max, size_t *n) {
    const rnode *nd = &r->nodes[k];
    eco_status st;
    switch (nd->kind) {
        case ECO_ROUTE_KIND_TARGET: {
            eco_engine *e = r->t[nd->target].engine;
            for (size_t i = 0; i < *n && i < max; i++)
                if (order[i] == e) return ECO_STATUS_OK;
            if (*n < max) order[*n] = e;
            ++*n;
            return ECO_STATUS_OK;
        }
        case ECO_ROUTE_KIND_CAPABILITY: {
            const char *cap;
            size_t idx[ECO_ROUTE_MAX_CHILDREN], m;
            if ((st = router_capability(nd, req, &cap))) return st;
            router_rank(r, nd, cap, idx, &m);
            if (m == 0)
                return eco_error(ECO_STATUS_ENOTFOUND,
                                 "route: no engine advertises '%s' within the profile", cap);
            for (size_t i = 0; i < m; i++)
                if ((st = collect(r, idx[i], rid, req, order, max, n))) return st;
            return ECO_STATUS_OK;
        }
        case ECO_ROUTE_KIND_CANARY:
            return collect(r, nd->kids[eco_route_canary_pick(rid, nd->share) ? 1 : 0], rid, req,
                           order, max, n);
        case ECO_ROUTE_KIND_SHADOW:
            return collect(r, nd->kids[0], rid, req, order, max, n);
        default:
            for (size_t i = 0; i < nd->n_kids; i++)
                if ((st = collect(r, nd->kids[i], rid, req, order, max, n))) return st;
            return ECO_STATUS_OK;
    }
}

static eco_status contract_route(eco_router *self, const char *request_id,
                                 const eco_infer_request *req, eco_engine **order, size_t max,
                                 size_t *n) {
    if (!self || !req || !n || (max && !order))
        return eco_error(ECO_STATUS_EINVAL, "route: NULL argument");
    *n = 0;
    return collect((eco_policy_router *)self, 0, request_id ? request_id : "", req, order, max, n);
}

eco_status eco_router_create(const eco_route_target *targets, size_t n,
                             const eco_route_node *policy, eco_policy_router **out) {
    if (!targets || !policy || !out || n == 0)
        return eco_error(ECO_STATUS_EINVAL, "route: NULL argument or an empty route table");
    *out = NULL;
    eco_policy_router *r = calloc(1, sizeof *r);
    if (!r || !(r->t = eco_calloc_array(n, sizeof *r->t))) {
        free(r);
        return eco_error(ECO_STATUS_ENOMEM, "route: out of memory");
    }
    r->base.route = contract_route;
    r->base.destroy = contract_destroy;
    eco_status st = ECO_STATUS_OK;
    for (size_t i = 0; !st && i < n; i++) {
        st = copy_target(&r->t[i], &targets[i], i);
        r->n_t = i + 1;
        for (size_t j = 0; !st && j < i; j++)
            if (!strcmp(r->t[j].id, r->t[i].id))
                st = eco_error(ECO_STATUS_EINVAL, "route: target id '%s' given twice", r->t[i].id);
    }
    size_t root;
    if (!st) st = compile(r, policy, &root);
    if (st) {
        eco_router_free(r);
        return st;
    }
    *out = r;
    return ECO_STATUS_OK;
}

void eco_router_set_scorer(eco_policy_router *r, eco_route_scorer scorer, void *user) {
    if (!r) return;
    r->scorer = scorer;
    r->scorer_user = user;
}

eco_router *eco_router_contract(eco_policy_router *r) { return r ? &r->base : NULL; }

size_t eco_router_n_targets(const eco_policy_router *r) { return r ? r->n_t : 0; }

const char *eco_router_target_id(const eco_policy_router *r, size_t i) {
    return r && i < r->n_t ? r->t[i].id : NULL;
}
