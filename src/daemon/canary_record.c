/*
 * canary_record: the "canary" event that ends every canary run (daemon.h lists its
 * members), and the status of each capability's canary read back from the event log
 * (`ecology canary status`).
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/eval_metrics.h"
#include "ecology/promotion.h"
#include "daemon/canary_internal.h"

static json_t *real_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }
static int set(json_t *o, const char *k, json_t *v) { return json_object_set_new(o, k, v); }
static json_t *count(uint64_t n) { return json_integer((json_int_t)n); }

/* An arm's figures over the whole run (latencies nearest rank; null when none). */
static json_t *arm_json(const canary_arm *a, eco_status *st) {
    eco_latency lat = {0};
    if (*st == ECO_STATUS_OK) *st = eco_latency_compute(a->latency, a->n_latency, &lat);
    const bool any = a->n_latency > 0;
    json_t *o = json_object();
    if (o &&
        (set(o, "n", count(a->requests)) | set(o, "errors", count(a->errors)) |
         set(o, "labelled", count(a->labelled)) | set(o, "correct", count(a->correct)) |
         set(o, "safety_alerts", count(a->safety_alerts)) | set(o, "model", json_string(a->id)) |
         set(o, "p50_ms", any ? real_or_null(lat.p50) : json_null()) |
         set(o, "p95_ms", any ? real_or_null(lat.p95) : json_null()))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *improvement_json(const eco_canary_prop *p, bool better) {
    json_t *o = json_object();
    if (o &&
        (set(o, "ran", json_boolean(p->ran)) | set(o, "better", json_boolean(better)) |
         set(o, "k_canary", count(p->k_canary)) | set(o, "n_canary", count(p->n_canary)) |
         set(o, "k_champion", count(p->k_champion)) | set(o, "n_champion", count(p->n_champion)) |
         set(o, "rate_canary", real_or_null(p->rate_canary)) |
         set(o, "rate_champion", real_or_null(p->rate_champion)) | set(o, "z", real_or_null(p->z)) |
         set(o, "p_better", real_or_null(p->p_worse)))) { /* tested with higher_is_worse */
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *timing_json(const eco_canary_timing *t, double seconds, size_t requests) {
    const double per = requests ? seconds / (double)requests : NAN;
    json_t *o = json_object();
    if (o && (set(o, "steps", json_integer(t->steps)) |
              set(o, "min_promote_requests", json_integer(t->promote_requests)) |
              set(o, "rollback_requests", json_integer(t->rollback_requests)) |
              set(o, "seconds_per_request", real_or_null(per)) |
              set(o, "min_promote_seconds", real_or_null(per * (double)t->promote_requests)) |
              set(o, "rollback_seconds", real_or_null(per * (double)t->rollback_requests)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *settings_json(const eco_canary_settings *s) {
    return json_pack("{s:i, s:i, s:I, s:i}", "stepWeight", s->step_weight, "maxWeight",
                     s->max_weight, "interval", (json_int_t)s->interval, "threshold", s->threshold);
}

eco_status canary_record_append(eco_registry *r, const canary_record *rec, int64_t *seq) {
    const eco_canary_run_options *o = rec->o;
    eco_status st = ECO_STATUS_OK;
    char *verdict_text = NULL;
    json_t *verdict = NULL;
    if ((st = eco_canary_verdict_json(rec->verdict, &verdict_text)) != ECO_STATUS_OK) return st;
    json_error_t jerr;
    verdict = json_loads(verdict_text, 0, &jerr);
    free(verdict_text);
    json_t *reasons = json_array(), *arms = json_object(), *d = json_object();
    int bad = !verdict || !reasons || !arms || !d;
    for (size_t i = 0; !bad && i < rec->n_reasons; i++)
        bad |= json_array_append_new(reasons, json_string(rec->reasons[i]));
    if (!bad) {
        bad |= set(arms, "canary", arm_json(rec->canary, &st)) |
               set(arms, "champion", arm_json(rec->champ, &st));
        bad |= set(d, "run", json_string(o->run)) |
               set(d, "generation", json_integer((json_int_t)o->generation)) |
               set(d, "capability", json_string(o->capability)) |
               set(d, "champion", json_string(rec->champion)) |
               set(d, "challenger", json_string(rec->challenger)) |
               set(d, "decision", json_string(rec->promoted ? "promote" : "abort")) |
               set(d, "promoted", json_boolean(rec->promoted)) | set(d, "step", count(rec->steps)) |
               set(d, "weight", json_integer(rec->weight)) |
               set(d, "requests", count(rec->requests)) |
               set(d, "seconds", real_or_null(rec->seconds)) | set(d, "reasons", reasons) |
               set(d, "verdict", verdict) |
               set(d, "improvement", improvement_json(rec->improvement, rec->better)) |
               set(d, "settings", settings_json(o->settings)) |
               set(d, "timing", timing_json(rec->timing, rec->seconds, rec->requests)) |
               set(d, "arms", arms) | set(d, "hard_examples", count(rec->hard_examples)) |
               set(d, "hard_examples_path",
                   o->hard_examples_path ? json_string(o->hard_examples_path) : json_null()) |
               set(d, "traffic_sha256", json_string(rec->traffic_sha256));
        reasons = arms = verdict = NULL; /* owned by d now, even on failure */
    }
    char *text = NULL;
    if (st == ECO_STATUS_OK && bad)
        st = eco_error(ECO_STATUS_ENOMEM, "canary: event: out of memory");
    if (st == ECO_STATUS_OK) st = eco_json_canonical(d, &text, NULL);
    if (st == ECO_STATUS_OK)
        st = eco_registry_event_append(r, "canary", rec->challenger, text, seq);
    free(text);
    json_decref(reasons);
    json_decref(arms);
    json_decref(verdict);
    json_decref(d);
    return st;
}

/* An alias's target, or JSON null when it is not set. */
static json_t *alias_json(eco_registry *r, const char *capability, const char *role,
                          eco_status *st) {
    char name[ECO_PROMOTION_ALIAS_MAX];
    char *id = NULL;
    if (*st == ECO_STATUS_OK) *st = eco_promotion_alias(capability, role, name);
    if (*st != ECO_STATUS_OK) return NULL;
    eco_status s = eco_registry_alias_get(r, name, &id);
    if (s == ECO_STATUS_ENOTFOUND) return json_null();
    if (s != ECO_STATUS_OK) {
        *st = s;
        return NULL;
    }
    json_t *v = json_string(id);
    free(id);
    return v;
}

/* The status entry of capability: its aliases and its last canary event (ev NULL: none). */
static json_t *status_entry(eco_registry *r, const char *capability, const eco_registry_event *ev,
                            eco_status *st) {
    json_t *o = json_object(), *last = NULL;
    if (ev) {
        json_error_t jerr;
        json_t *detail = json_loads(ev->detail ? ev->detail : "{}", 0, &jerr);
        last = json_pack("{s:I, s:s, s:s?, s:o?}", "seq", (json_int_t)ev->seq, "at", ev->at,
                         "challenger", ev->model_id, "detail", detail);
    }
    if (!o || (ev && !last) ||
        (set(o, "capability", json_string(capability)) |
         set(o, "champion", alias_json(r, capability, "champion", st)) |
         set(o, "canary", alias_json(r, capability, "canary", st)) |
         set(o, "last", last ? last : json_null()))) {
        if (*st == ECO_STATUS_OK)
            *st = eco_error(ECO_STATUS_ENOMEM, "canary status: out of memory");
        json_decref(o);
        return NULL;
    }
    return o;
}

eco_status eco_canary_status_json(eco_registry *r, const char *capability, char **out) {
    if (out) *out = NULL;
    if (!r || !out) return eco_error(ECO_STATUS_EINVAL, "canary status: NULL argument");
    eco_registry_event *e = NULL;
    size_t n = 0;
    eco_status st = eco_registry_events(r, 0, &e, &n);
    if (st != ECO_STATUS_OK) return st;
    /* capability -> index of its last canary event (jansson keeps keys; sorted at the end) */
    json_t *last = json_object(), *list = json_array();
    if (!last || !list) st = eco_error(ECO_STATUS_ENOMEM, "canary status: out of memory");
    for (size_t i = 0; st == ECO_STATUS_OK && i < n; i++) {
        if (strcmp(e[i].type, "canary") != 0 || !e[i].detail) continue;
        json_error_t jerr;
        json_t *d = json_loads(e[i].detail, 0, &jerr);
        const char *cap = json_string_value(json_object_get(d, "capability"));
        if (cap && (!capability || strcmp(cap, capability) == 0) &&
            json_object_set_new(last, cap, json_integer((json_int_t)i)))
            st = eco_error(ECO_STATUS_ENOMEM, "canary status: out of memory");
        json_decref(d);
    }
    if (st == ECO_STATUS_OK && capability && !json_object_get(last, capability) &&
        json_array_append_new(list, status_entry(r, capability, NULL, &st)) && st == ECO_STATUS_OK)
        st = eco_error(ECO_STATUS_ENOMEM, "canary status: out of memory");
    const char *key;
    json_t *idx;
    json_object_foreach(last, key, idx) {
        if (st != ECO_STATUS_OK) break;
        json_t *entry = status_entry(r, key, &e[json_integer_value(idx)], &st);
        if (st == ECO_STATUS_OK && json_array_append_new(list, entry))
            st = eco_error(ECO_STATUS_ENOMEM, "canary status: out of memory");
    }
    if (st == ECO_STATUS_OK && json_array_size(list) > 1) { /* by capability */
        size_t m = json_array_size(list);
        for (size_t i = 1; i < m; i++)
            for (size_t j = i; j > 0; j--) {
                json_t *a = json_array_get(list, j - 1), *b = json_array_get(list, j);
                if (strcmp(json_string_value(json_object_get(a, "capability")),
                           json_string_value(json_object_get(b, "capability"))) <= 0)
                    break;
                json_incref(a);
                json_array_set(list, j - 1, b);
                json_array_set_new(list, j, a);
            }
    }
    if (st == ECO_STATUS_OK) st = eco_json_canonical(list, out, NULL);
    json_decref(last);
    json_decref(list);
    eco_registry_events_free(e, n);
    return st;
}
