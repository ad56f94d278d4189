/*
 * canary_ctl: the step controller (canary.h): a pure state machine over Flagger's settings.
 * It accumulates one step's requests per arm, judges the step when it holds `interval`
 * requests, and applies the verdict.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/canary.h"

typedef enum ctl_state { CTL_RUNNING = 0, CTL_PROMOTED, CTL_ABORTED } ctl_state;

/* One arm's counts in the current step, and its latencies. */
typedef struct arm_acc {
    uint64_t requests, errors, labelled, correct, safety_alerts;
    double *latency; /* [interval] latencies of the answered requests; n_latency used */
    size_t n_latency;
} arm_acc;

struct eco_canary_ctl {
    eco_canary_settings s;
    ctl_state state;
    int weight;
    int failed_checks;
    int64_t step_requests; /* requests in the current step, both arms */
    int64_t total_requests;
    arm_acc arm[2]; /* [0] champion, [1] canary */
};

const char *eco_canary_action_name(eco_canary_action a) {
    switch (a) {
        case ECO_CANARY_ACTION_HOLD:
            return "hold";
        case ECO_CANARY_ACTION_ADVANCE:
            return "advance";
        case ECO_CANARY_ACTION_PROMOTE:
            return "promote";
        case ECO_CANARY_ACTION_ABORT:
            return "abort";
    }
    return NULL;
}

eco_status eco_canary_ctl_create(const eco_canary_settings *s, eco_canary_ctl **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "canary controller: NULL argument");
    *out = NULL;
    eco_status st = eco_canary_settings_check(s);
    if (st) return st;
    eco_canary_ctl *c = calloc(1, sizeof *c);
    if (!c) return eco_error(ECO_STATUS_ENOMEM, "canary controller: out of memory");
    c->s = *s;
    c->weight = s->step_weight;
    for (int a = 0; a < 2; a++) {
        c->arm[a].latency = eco_malloc_array((size_t)s->interval, sizeof(double));
        if (!c->arm[a].latency) {
            eco_canary_ctl_free(c);
            return eco_error(ECO_STATUS_ENOMEM, "canary controller: %lld latencies",
                             (long long)s->interval);
        }
    }
    *out = c;
    return ECO_STATUS_OK;
}

void eco_canary_ctl_free(eco_canary_ctl *c) {
    if (!c) return;
    free(c->arm[0].latency);
    free(c->arm[1].latency);
    free(c);
}

int eco_canary_ctl_weight(const eco_canary_ctl *c) { return c ? c->weight : 0; }
int64_t eco_canary_ctl_requests(const eco_canary_ctl *c) { return c ? c->total_requests : 0; }

static void reset_step(eco_canary_ctl *c) {
    for (int a = 0; a < 2; a++) {
        double *lat = c->arm[a].latency;
        c->arm[a] = (arm_acc){.latency = lat};
    }
    c->step_requests = 0;
}

static eco_canary_arm arm_view(const arm_acc *a) {
    return (eco_canary_arm){.requests = a->requests,
                            .errors = a->errors,
                            .labelled = a->labelled,
                            .correct = a->correct,
                            .safety_alerts = a->safety_alerts,
                            .latency = a->latency,
                            .n_latency = a->n_latency};
}

static eco_status finished(const eco_canary_ctl *c) {
    return eco_error(ECO_STATUS_EINVAL, "canary controller: the canary was already %s",
                     c->state == CTL_PROMOTED ? "promoted" : "aborted");
}

eco_status eco_canary_ctl_step(eco_canary_ctl *c, const eco_canary_verdict *v,
                               eco_canary_decision *out) {
    if (!c || !v || !out) return eco_error(ECO_STATUS_EINVAL, "canary controller: NULL argument");
    if (c->state != CTL_RUNNING) return finished(c);
    if (out != NULL && &out->verdict != v) out->verdict = *v;
    reset_step(c);
    out->step_ended = true;
    if (v->critical) {
        c->state = CTL_ABORTED;
        c->weight = 0;
        out->action = ECO_CANARY_ACTION_ABORT;
    } else if (!v->pass) {
        c->failed_checks++;
        if (c->failed_checks >= c->s.threshold) {
            c->state = CTL_ABORTED;
            c->weight = 0;
            out->action = ECO_CANARY_ACTION_ABORT;
        } else {
            out->action = ECO_CANARY_ACTION_HOLD;
        }
    } else if (c->weight >= c->s.max_weight) {
        c->state = CTL_PROMOTED;
        out->action = ECO_CANARY_ACTION_PROMOTE;
    } else {
        c->weight += c->s.step_weight;
        if (c->weight > c->s.max_weight) c->weight = c->s.max_weight;
        out->action = ECO_CANARY_ACTION_ADVANCE;
    }
    out->weight = c->weight;
    out->failed_checks = c->failed_checks;
    return ECO_STATUS_OK;
}

eco_status eco_canary_ctl_observe(eco_canary_ctl *c, const eco_canary_obs *obs,
                                  eco_canary_decision *out) {
    if (!c || !obs || !out) return eco_error(ECO_STATUS_EINVAL, "canary controller: NULL argument");
    if (c->state != CTL_RUNNING) return finished(c);
    if (obs->label < -1 || obs->label > 1)
        return eco_error(ECO_STATUS_EINVAL, "canary observation: label %d is not -1, 0 or 1",
                         obs->label);
    if (!obs->error && !(isfinite(obs->latency) && obs->latency >= 0))
        return eco_error(ECO_STATUS_EINVAL,
                         "canary observation: latency %g is not a finite "
                         "number >= 0",
                         obs->latency);
    memset(out, 0, sizeof *out);
    arm_acc *a = &c->arm[obs->canary ? 1 : 0];
    a->requests++;
    c->step_requests++;
    c->total_requests++;
    if (obs->error) {
        a->errors++;
    } else {
        a->latency[a->n_latency++] = obs->latency;
        if (obs->label >= 0) {
            a->labelled++;
            a->correct += obs->label == 1;
        }
    }
    if (obs->safety_alert) a->safety_alerts++;
    /* A safety alert on the canary is critical: judge what the step has now, and abort. */
    if (!(obs->canary && obs->safety_alert) && c->step_requests < c->s.interval) {
        out->action = ECO_CANARY_ACTION_HOLD;
        out->weight = c->weight;
        out->failed_checks = c->failed_checks;
        return ECO_STATUS_OK;
    }
    eco_canary_arm can = arm_view(&c->arm[1]), champ = arm_view(&c->arm[0]);
    eco_status st = eco_canary_judge(&can, &champ, &out->verdict);
    if (st) return st;
    return eco_canary_ctl_step(c, &out->verdict, out);
}
