/*
 * The JSON snapshot of a telemetry store (ecology/telemetry.h gives its shape), built with
 * jansson and serialised by core's canonical writer.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "telemetry/telemetry_internal.h"

/* A real, or null for NaN (no data). */
static json_t *real_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *count(uint64_t v) { return json_integer((json_int_t)v); }

/* Sets key to v (a new reference, NULL on failure); false when either failed. */
static bool put(json_t *o, const char *key, json_t *v) {
    return v && json_object_set_new(o, key, v) == 0;
}

static json_t *series_json(const eco_telemetry *t, const tm_series *s) {
    eco_telemetry_stats st;
    tm_series_stats(t, s, &st);
    json_t *o = json_object(), *b = json_array();
    bool ok = o && b;
    for (size_t i = 0; ok && i < ECO_TELEMETRY_N_BUCKETS; i++)
        ok = json_array_append_new(b, count(st.buckets[i])) == 0;
    if (ok) {
        ok = put(o, "buckets", b);
        b = NULL;
    }
    ok = ok && put(o, "engine", json_string(s->engine)) &&
         put(o, "capability", json_string(s->capability)) &&
         put(o, "requests", count(st.requests)) && put(o, "failures", count(st.failures)) &&
         put(o, "low_confidence", count(st.low_confidence)) && put(o, "tokens", count(st.tokens)) &&
         put(o, "gen_seconds", json_real(st.gen_seconds)) &&
         put(o, "tokens_per_s", json_real(st.tokens_per_s)) &&
         put(o, "latency_sum", json_real(st.latency_sum)) && put(o, "p50", real_or_null(st.p50)) &&
         put(o, "p95", real_or_null(st.p95)) && put(o, "p99", real_or_null(st.p99)) &&
         put(o, "exact_p50", real_or_null(st.exact_p50)) &&
         put(o, "exact_p95", real_or_null(st.exact_p95)) &&
         put(o, "exact_p99", real_or_null(st.exact_p99)) && put(o, "exact", json_boolean(st.exact));
    json_decref(b);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The snapshot's JSON (t->mu held); NULL when out of memory. */
static json_t *snapshot(const eco_telemetry *t) {
    json_t *root = json_object(), *bounds = json_array(), *series = json_array(),
           *hard = json_object();
    bool ok = root && bounds && series && hard;
    const double *bd = eco_telemetry_latency_bounds();
    for (size_t i = 0; ok && i < ECO_TELEMETRY_N_BOUNDS; i++)
        ok = json_array_append_new(bounds, json_real(bd[i])) == 0;
    for (size_t i = 0; ok && i < t->n_series; i++) {
        json_t *s = series_json(t, t->series[i]);
        ok = s && json_array_append_new(series, s) == 0;
    }
    const tm_hard_set *h = &t->hard;
    ok = ok && put(hard, "count", count(h->count)) && put(hard, "bytes", count(h->bytes)) &&
         put(hard, "max_count", count(t->cfg.hard_max_count)) &&
         put(hard, "max_bytes", count(t->cfg.hard_max_bytes)) &&
         put(hard, "offered", count(h->offered)) && put(hard, "deduped", count(h->deduped)) &&
         put(hard, "evicted", count(h->evicted)) && put(hard, "rejected", count(h->rejected));
    if (ok) { /* root takes each, set or not */
        ok = put(root, "bounds", bounds);
        ok = put(root, "series", series) && ok;
        ok = put(root, "hard_examples", hard) && ok;
        bounds = series = hard = NULL;
    }
    ok = ok && put(root, "dropped_events", count(t->dropped)) &&
         put(root, "low_confidence_threshold", json_real(t->cfg.low_confidence)) &&
         put(root, "reservoir_size", count(t->cfg.reservoir_size));
    json_decref(bounds);
    json_decref(series);
    json_decref(hard);
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

eco_status eco_telemetry_snapshot_json(eco_telemetry *t, char **out, size_t *len) {
    if (!t || !out) return eco_error(ECO_STATUS_EINVAL, "telemetry snapshot: NULL argument");
    *out = NULL;
    pthread_mutex_lock(&t->mu);
    json_t *root = snapshot(t);
    pthread_mutex_unlock(&t->mu);
    if (!root) return eco_error(ECO_STATUS_ENOMEM, "telemetry snapshot: out of memory");
    size_t n = 0;
    eco_status st = eco_json_canonical(root, out, &n);
    json_decref(root);
    if (st == ECO_STATUS_OK && len) *len = n;
    return st;
}

eco_status eco_telemetry_write_snapshot(eco_telemetry *t, const char *path) {
    if (!t || !path) return eco_error(ECO_STATUS_EINVAL, "telemetry snapshot: NULL argument");
    pthread_mutex_lock(&t->mu);
    json_t *root = snapshot(t);
    pthread_mutex_unlock(&t->mu);
    if (!root) return eco_error(ECO_STATUS_ENOMEM, "telemetry snapshot: out of memory");
    eco_status st = eco_json_write_canonical_file(path, root);
    json_decref(root);
    return st;
}
