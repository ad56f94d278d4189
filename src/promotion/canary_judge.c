/*
 * canary_judge: one step's verdict (quality, latency, error rate, safety) and its JSON
 * (canary.h has the rules).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ecology/canary.h"

const char *eco_canary_check_name(eco_canary_check c) {
    switch (c) {
        case ECO_CANARY_CHECK_QUALITY:
            return "quality";
        case ECO_CANARY_CHECK_LATENCY:
            return "latency";
        case ECO_CANARY_CHECK_ERRORS:
            return "errors";
        case ECO_CANARY_CHECK_SAFETY:
            return "safety";
    }
    return NULL;
}

static eco_status check_arm(const char *name, const eco_canary_arm *a) {
    if (!a) return eco_error(ECO_STATUS_EINVAL, "judge: %s: NULL arm", name);
    if (a->errors > a->requests)
        return eco_error(ECO_STATUS_EINVAL, "judge: %s.errors: %llu of %llu requests", name,
                         (unsigned long long)a->errors, (unsigned long long)a->requests);
    if (a->correct > a->labelled)
        return eco_error(ECO_STATUS_EINVAL, "judge: %s.correct: %llu of %llu labelled", name,
                         (unsigned long long)a->correct, (unsigned long long)a->labelled);
    if (a->labelled > a->requests - a->errors)
        return eco_error(ECO_STATUS_EINVAL, "judge: %s.labelled: %llu of %llu answered", name,
                         (unsigned long long)a->labelled,
                         (unsigned long long)(a->requests - a->errors));
    if (a->n_latency > a->requests - a->errors)
        return eco_error(ECO_STATUS_EINVAL, "judge: %s.n_latency: %zu of %llu answered", name,
                         a->n_latency, (unsigned long long)(a->requests - a->errors));
    return ECO_STATUS_OK;
}

/* Appends a reason, "; "-separated, cut at the buffer's end. */
static void add_reason(eco_canary_verdict *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_reason(eco_canary_verdict *v, const char *fmt, ...) {
    size_t len = strlen(v->reasons);
    if (len && len + 2 < sizeof v->reasons) {
        memcpy(v->reasons + len, "; ", 3);
        len += 2;
    }
    if (len + 1 >= sizeof v->reasons) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reasons + len, sizeof v->reasons - len, fmt, ap);
    va_end(ap);
}

eco_status eco_canary_judge(const eco_canary_arm *canary, const eco_canary_arm *champion,
                            eco_canary_verdict *out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "judge: NULL verdict");
    memset(out, 0, sizeof *out);
    eco_status st;
    if ((st = check_arm("canary", canary)) || (st = check_arm("champion", champion))) return st;
    out->requests_canary = canary->requests;
    out->requests_champion = champion->requests;
    if ((st = eco_canary_prop_test(canary->correct, canary->labelled, champion->correct,
                                   champion->labelled, false, &out->quality)) ||
        (st = eco_canary_prop_test(canary->errors, canary->requests, champion->errors,
                                   champion->requests, true, &out->errors)) ||
        (st = eco_canary_classify(canary->latency, canary->n_latency, champion->latency,
                                  champion->n_latency, &out->latency)))
        return st;
    out->safety_alerts = canary->safety_alerts;
    if (canary->safety_alerts) {
        out->failed |= ECO_CANARY_CHECK_SAFETY;
        out->critical = true;
        add_reason(out, "safety: %llu alert(s) on the canary (critical)",
                   (unsigned long long)canary->safety_alerts);
    }
    if (out->quality.ran && out->quality.p_worse < ECO_CANARY_ALPHA) {
        out->failed |= ECO_CANARY_CHECK_QUALITY;
        add_reason(out, "quality: %.4g (%llu/%llu) below the champion's %.4g (%llu/%llu), p = %.3g",
                   out->quality.rate_canary, (unsigned long long)canary->correct,
                   (unsigned long long)canary->labelled, out->quality.rate_champion,
                   (unsigned long long)champion->correct, (unsigned long long)champion->labelled,
                   out->quality.p_worse);
    }
    if (out->latency.cls == ECO_CANARY_CLASS_HIGH) {
        out->failed |= ECO_CANARY_CHECK_LATENCY;
        add_reason(out,
                   "latency: higher by %.4g ms (Hodges-Lehmann; 98%% interval [%.4g, %.4g] "
                   "above 0.25 x |shift| = %.4g), mean ratio %.4g",
                   out->latency.shift.estimate, out->latency.shift.lo, out->latency.shift.hi,
                   out->latency.bound, out->latency.mean_ratio);
    }
    if (out->errors.ran && out->errors.p_worse < ECO_CANARY_ALPHA) {
        out->failed |= ECO_CANARY_CHECK_ERRORS;
        add_reason(out,
                   "errors: rate %.4g (%llu/%llu) above the champion's %.4g (%llu/%llu), p = %.3g",
                   out->errors.rate_canary, (unsigned long long)canary->errors,
                   (unsigned long long)canary->requests, out->errors.rate_champion,
                   (unsigned long long)champion->errors, (unsigned long long)champion->requests,
                   out->errors.p_worse);
    }
    out->pass = out->failed == 0;
    return ECO_STATUS_OK;
}

/* ---- JSON ------------------------------------------------------------------------------ */

/* A real, or null when it is not finite (jansson refuses NaN and infinities). */
static json_t *real_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static int set(json_t *o, const char *k, json_t *v) { return json_object_set_new(o, k, v); }

static json_t *prop_json(const eco_canary_prop *p) {
    json_t *o = json_object();
    if (!o) return NULL;
    int bad = set(o, "ran", json_boolean(p->ran)) |
              set(o, "k_canary", json_integer((json_int_t)p->k_canary)) |
              set(o, "n_canary", json_integer((json_int_t)p->n_canary)) |
              set(o, "k_champion", json_integer((json_int_t)p->k_champion)) |
              set(o, "n_champion", json_integer((json_int_t)p->n_champion)) |
              set(o, "rate_canary", real_or_null(p->rate_canary)) |
              set(o, "rate_champion", real_or_null(p->rate_champion)) |
              set(o, "z", real_or_null(p->z)) | set(o, "p_worse", real_or_null(p->p_worse));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *metric_json(const eco_canary_metric *m) {
    json_t *o = json_object();
    if (!o) return NULL;
    int bad = set(o, "ran", json_boolean(m->ran)) |
              set(o, "class", json_string(eco_canary_class_name(m->cls))) |
              set(o, "n_canary", json_integer((json_int_t)m->mwu.n_canary)) |
              set(o, "n_champion", json_integer((json_int_t)m->mwu.n_champion)) |
              set(o, "u", real_or_null(m->mwu.u)) | set(o, "z", real_or_null(m->mwu.z)) |
              set(o, "p_greater", real_or_null(m->mwu.p_greater)) |
              set(o, "p_two_sided", real_or_null(m->mwu.p_two_sided)) |
              set(o, "hl_estimate", real_or_null(m->shift.estimate)) |
              set(o, "hl_lo", real_or_null(m->shift.lo)) |
              set(o, "hl_hi", real_or_null(m->shift.hi)) | set(o, "bound", real_or_null(m->bound)) |
              set(o, "mean_ratio", real_or_null(m->mean_ratio));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

eco_status eco_canary_verdict_json(const eco_canary_verdict *v, char **out) {
    if (!v || !out) return eco_error(ECO_STATUS_EINVAL, "verdict JSON: NULL argument");
    *out = NULL;
    json_t *o = json_object(), *failed = json_array(), *req = json_object();
    int bad = !o || !failed || !req;
    for (unsigned bit = 1; !bad && bit <= ECO_CANARY_CHECK_SAFETY; bit <<= 1)
        if (v->failed & bit)
            bad |= json_array_append_new(failed,
                                         json_string(eco_canary_check_name((eco_canary_check)bit)));
    if (!bad) {
        bad |= set(req, "canary", json_integer((json_int_t)v->requests_canary)) |
               set(req, "champion", json_integer((json_int_t)v->requests_champion));
        bad |= set(o, "pass", json_boolean(v->pass)) |
               set(o, "critical", json_boolean(v->critical)) | set(o, "failed", failed) |
               set(o, "requests", req) | set(o, "reasons", json_string(v->reasons)) |
               set(o, "quality", prop_json(&v->quality)) | set(o, "errors", prop_json(&v->errors)) |
               set(o, "latency", metric_json(&v->latency)) |
               set(o, "safety_alerts", json_integer((json_int_t)v->safety_alerts));
        failed = req = NULL; /* owned by o now, even on failure */
    }
    eco_status st = bad ? eco_error(ECO_STATUS_ENOMEM, "verdict JSON: out of memory")
                        : eco_json_canonical(o, out, NULL);
    json_decref(failed);
    json_decref(req);
    json_decref(o);
    return st;
}
