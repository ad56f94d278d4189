/* A router's trace as canonical JSON (router.h: eco_route_trace_json). */
#include <math.h>
#include <stdlib.h>

#include <jansson.h>

#include "router/router_internal.h"

/* A JSON number, or null for what JSON cannot hold (NaN, infinities). */
static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *call_json(const eco_policy_router *r, const eco_route_call *c) {
    json_t *o = json_object();
    const char *id = eco_router_target_id(r, c->target);
    if (!o || !id) {
        json_decref(o);
        return NULL;
    }
    bool bad = json_object_set_new(o, "target", json_string(id)) != 0;
    bad |= json_object_set_new(o, "via", json_string(eco_route_kind_str(c->via))) != 0;
    bad |= json_object_set_new(o, "status", json_string(eco_status_str(c->status))) != 0;
    bad |= json_object_set_new(o, "confidence", num(c->confidence)) != 0;
    bad |= json_object_set_new(o, "ms", num(c->ms)) != 0;
    bad |= json_object_set_new(o, "tokens", json_integer((json_int_t)c->n_tokens)) != 0;
    bad |= json_object_set_new(o, "escalated", json_boolean(c->escalated)) != 0;
    bad |= json_object_set_new(o, "chosen", json_boolean(c->chosen)) != 0;
    bad |= json_object_set_new(o, "shadow", json_boolean(c->shadow)) != 0;
    bad |= json_object_set_new(o, "score", num(c->score)) != 0;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

eco_status eco_route_trace_json(const eco_policy_router *r, const eco_route_trace *t, char **out) {
    if (!r || !t || !out) return eco_error(ECO_STATUS_EINVAL, "route trace: NULL argument");
    json_t *o = json_object(), *calls = json_array(), *arms = json_array();
    bool bad = !o || !calls || !arms;
    for (size_t i = 0; !bad && i < t->n_calls; i++)
        bad |= json_array_append_new(calls, call_json(r, &t->calls[i])) != 0;
    for (size_t i = 0; !bad && i < t->n_arms; i++) {
        json_t *a = json_pack("{s:s, s:s}", "at", t->arms[i].at, "arm",
                              t->arms[i].canary ? "canary" : "champion");
        bad |= json_array_append_new(arms, a) != 0;
    }
    const char *answered = eco_router_target_id(r, t->answered);
    if (!bad) {
        bad |= json_object_set_new(o, "answered", answered ? json_string(answered) : json_null());
        bad |= json_object_set_new(o, "confidence", num(t->confidence)) != 0;
        bad |= json_object_set_new(o, "escalations", json_integer((json_int_t)t->n_escalations));
        bad |= json_object_set_new(o, "failures", json_integer((json_int_t)t->n_failures)) != 0;
        bad |= json_object_set_new(o, "calls", calls) != 0;
        bad |= json_object_set_new(o, "arms", arms) != 0;
        calls = arms = NULL;
    }
    eco_status st = bad ? eco_error(ECO_STATUS_ENOMEM, "route trace: out of memory writing JSON")
                        : eco_json_canonical(o, out, NULL);
    json_decref(calls);
    json_decref(arms);
    json_decref(o);
    return st;
}
