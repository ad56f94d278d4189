/* eco_router_answer (router.h): the compiled policy run over a request, engine calls
 * recorded in the trace; the answer's confidence. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "router/router_internal.h"

double eco_route_confidence(const eco_infer_response *resp) {
    if (!resp || resp->n_tokens == 0 || !resp->logprobs) return 0;
    double sum = 0;
    for (size_t i = 0; i < resp->n_tokens; i++) {
        const double lp = resp->logprobs[i];
        if (isnan(lp)) return 0;
        sum += lp;
    }
    const double c = exp(sum / (double)resp->n_tokens);
    return c > 1 ? 1 : c; /* a log-probability above 0 is not one: held to 1 */
}

/* ---- the trace -------------------------------------------------------------------------- */

void eco_route_trace_free(eco_route_trace *t) {
    if (!t) return;
    free(t->calls);
    free(t->arms);
    memset(t, 0, sizeof *t);
}

static void trace_reset(eco_route_trace *t) {
    t->n_calls = t->n_arms = 0;
    t->answered = SIZE_MAX;
    t->confidence = 0;
    t->n_escalations = t->n_failures = 0;
}

/* Grows *p (of *cap entries of size sz) to hold one more than n. */
static bool grow(void **p, size_t *cap, size_t n, size_t sz) {
    if (n < *cap) return true;
    size_t c = *cap ? 2 * *cap : 8;
    void *g = eco_malloc_array(c, sz);
    if (!g) return false;
    if (n) memcpy(g, *p, n * sz);
    free(*p);
    *p = g;
    *cap = c;
    return true;
}

/* ---- running the policy ------------------------------------------------------------------ */

typedef struct ctx {
    eco_policy_router *r;
    const char *rid;
    const eco_infer_request *req;
    eco_route_trace *t;
    bool shadow; /* inside a shadow arm */
    eco_route_kind via;
} ctx;

static eco_status run(ctx *c, size_t k, eco_infer_response *resp, size_t *call);

static eco_status call_engine(ctx *c, const rnode *n, eco_infer_response *resp, size_t *call) {
    eco_route_trace *t = c->t;
    if (!grow((void **)&t->calls, &t->cap_calls, t->n_calls, sizeof *t->calls))
        return eco_error(ECO_STATUS_ENOMEM, "route: out of memory");
    eco_engine *e = c->r->t[n->target].engine;
    memset(resp, 0, sizeof *resp);
    const double t0 = eco_now();
    eco_status st = e->infer(e, c->req, resp);
    const double ms = 1e3 * (eco_now() - t0);
    eco_route_call *rc = &t->calls[t->n_calls];
    *rc = (eco_route_call){.target = n->target,
                           .via = c->via,
                           .status = st,
                           .confidence = st ? 0 : eco_route_confidence(resp),
                           .ms = ms,
                           .n_tokens = st ? 0 : resp->n_tokens,
                           .shadow = c->shadow,
                           .score = NAN};
    if (st) {
        t->n_failures++;
        memset(resp, 0, sizeof *resp); /* the contract: nothing to free on error */
    }
    *call = t->n_calls++;
    return st;
}

static eco_status run_capability(ctx *c, const rnode *n, eco_infer_response *resp, size_t *call) {
    const char *cap;
    size_t idx[ECO_ROUTE_MAX_CHILDREN], m;
    eco_status st = router_capability(n, c->req, &cap);
    if (st) return st;
    router_rank(c->r, n, cap, idx, &m);
    if (m == 0)
        return eco_error(ECO_STATUS_ENOTFOUND,
                         "route: no engine advertises '%s' within the profile of the capability "
                         "route at '%s'",
                         cap, n->at[0] ? n->at : "(root)");
    /* best first; the next when one fails */
    for (size_t i = 0; i < m; i++) {
        c->via = ECO_ROUTE_KIND_CAPABILITY;
        if (!(st = run(c, idx[i], resp, call))) return ECO_STATUS_OK;
    }
    return st;
}

static eco_status run_cascade(ctx *c, const rnode *n, eco_infer_response *resp, size_t *call) {
    eco_infer_response held = {0};
    size_t held_call = SIZE_MAX;
    eco_status st = ECO_STATUS_OK;
    for (size_t i = 0; i < n->n_kids; i++) {
        eco_infer_response cur;
        size_t cc;
        c->via = ECO_ROUTE_KIND_CASCADE;
        if ((st = run(c, n->kids[i], &cur, &cc))) continue; /* a failed stage: the next */
        const bool last = i + 1 == n->n_kids;
        if (last || c->t->calls[cc].confidence >= n->threshold) {
            eco_infer_response_free(&held);
            *resp = cur;
            *call = cc;
            return ECO_STATUS_OK;
        }
        c->t->calls[cc].escalated = true;
        c->t->n_escalations++;
        eco_infer_response_free(&held);
        held = cur;
        held_call = cc;
    }
    if (held_call == SIZE_MAX) return st;
    /* the stages after a low-confidence answer all failed: that answer stands */
    *resp = held;
    *call = held_call;
    return ECO_STATUS_OK;
}

/* Whether answers a and b have the same answer span (eco_text_answer_span). */
static bool same_answer(const eco_infer_response *a, const eco_infer_response *b) {
    size_t sa, la, sb, lb;
    eco_text_answer_span(a->text, a->text_len, &sa, &la);
    eco_text_answer_span(b->text, b->text_len, &sb, &lb);
    return la == lb && memcmp(a->text + sa, b->text + sb, la) == 0;
}

double eco_route_score_agree(void *user, const eco_infer_request *req,
                             const eco_infer_response *shadow, const eco_infer_response *champion) {
    (void)user;
    (void)req;
    if (!shadow || !champion || !shadow->text || !champion->text) return 0;
    return same_answer(shadow, champion) ? 1 : 0;
}

static eco_status run_ensemble(ctx *c, const rnode *n, eco_infer_response *resp, size_t *call) {
    eco_infer_response r[ECO_ROUTE_MAX_CHILDREN];
    size_t cl[ECO_ROUTE_MAX_CHILDREN];
    bool ok[ECO_ROUTE_MAX_CHILDREN];
    eco_status st = ECO_STATUS_OK, last = ECO_STATUS_OK;
    size_t n_ok = 0;
    for (size_t i = 0; i < n->n_kids; i++) {
        c->via = ECO_ROUTE_KIND_ENSEMBLE;
        st = run(c, n->kids[i], &r[i], &cl[i]);
        ok[i] = st == ECO_STATUS_OK;
        if (ok[i])
            n_ok++;
        else
            last = st;
    }
    if (n_ok == 0) return last;
    const eco_route_call *calls = c->t->calls;
    /* best: the winner; for majority, a member's group is counted by its votes and judged
     * by its most confident answer */
    size_t best = SIZE_MAX, best_votes = 0;
    for (size_t i = 0; i < n->n_kids; i++) {
        if (!ok[i]) continue;
        size_t votes = 1;
        if (n->vote == ECO_ROUTE_VOTE_MAJORITY)
            for (size_t j = 0; j < n->n_kids; j++)
                if (j != i && ok[j] && same_answer(&r[i], &r[j])) votes++;
        const double conf = calls[cl[i]].confidence;
        if (best == SIZE_MAX || votes > best_votes ||
            (votes == best_votes && conf > calls[cl[best]].confidence)) {
            best = i;
            best_votes = votes;
        }
    }
    for (size_t i = 0; i < n->n_kids; i++)
        if (ok[i] && i != best) eco_infer_response_free(&r[i]);
    *resp = r[best];
    *call = cl[best];
    return ECO_STATUS_OK;
}

static eco_status run_shadow(ctx *c, const rnode *n, eco_infer_response *resp, size_t *call) {
    c->via = ECO_ROUTE_KIND_SHADOW;
    eco_status st = run(c, n->kids[0], resp, call);
    if (st) return st;
    const bool was = c->shadow;
    c->shadow = true;
    c->via = ECO_ROUTE_KIND_SHADOW;
    eco_infer_response s;
    size_t sc;
    if (!run(c, n->kids[1], &s, &sc)) {
        eco_policy_router *r = c->r;
        c->t->calls[sc].score = r->scorer ? r->scorer(r->scorer_user, c->req, &s, resp) : NAN;
        eco_infer_response_free(&s); /* scored and discarded */
    }
    c->shadow = was;
    return ECO_STATUS_OK;
}

static eco_status run(ctx *c, size_t k, eco_infer_response *resp, size_t *call) {
    const rnode *n = &c->r->nodes[k];
    switch (n->kind) {
        case ECO_ROUTE_KIND_TARGET:
            return call_engine(c, n, resp, call);
        case ECO_ROUTE_KIND_CAPABILITY:
            return run_capability(c, n, resp, call);
        case ECO_ROUTE_KIND_CASCADE:
            return run_cascade(c, n, resp, call);
        case ECO_ROUTE_KIND_ENSEMBLE:
            return run_ensemble(c, n, resp, call);
        case ECO_ROUTE_KIND_SHADOW:
            return run_shadow(c, n, resp, call);
        case ECO_ROUTE_KIND_CANARY: {
            eco_route_trace *t = c->t;
            if (!grow((void **)&t->arms, &t->cap_arms, t->n_arms, sizeof *t->arms))
                return eco_error(ECO_STATUS_ENOMEM, "route: out of memory");
            const bool canary = eco_route_canary_pick(c->rid, n->share);
            t->arms[t->n_arms++] = (eco_route_arm){.at = n->at, .canary = canary};
            c->via = ECO_ROUTE_KIND_CANARY;
            return run(c, n->kids[canary ? 1 : 0], resp, call);
        }
    }
    return eco_error(ECO_STATUS_EINTERNAL, "route: a node of kind %d", (int)n->kind);
}

eco_status eco_router_answer(eco_policy_router *r, const char *request_id,
                             const eco_infer_request *req, eco_infer_response *resp,
                             eco_route_trace *trace) {
    if (!r || !req || !resp) return eco_error(ECO_STATUS_EINVAL, "route: NULL argument");
    memset(resp, 0, sizeof *resp);
    eco_route_trace *t = trace ? trace : &r->scratch;
    trace_reset(t);
    ctx c = {.r = r,
             .rid = request_id ? request_id : "",
             .req = req,
             .t = t,
             .via = ECO_ROUTE_KIND_TARGET};
    size_t call;
    eco_status st = run(&c, 0, resp, &call);
    if (st) return st;
    t->calls[call].chosen = true;
    t->answered = t->calls[call].target;
    t->confidence = t->calls[call].confidence;
    return ECO_STATUS_OK;
}
