/*
 * The Prometheus text exposition format, version 0.0.4 (prometheus.io, "Exposition
 * formats"): lines "# HELP name text" (text escaping \ and line feed) and "# TYPE name
 * type", one of each per family before its samples, then samples
 * "name{label="value",...} number", a family's samples together. Histograms write
 * name_bucket{...,le="bound"} with cumulative counts, le="+Inf" equal to name_count, then
 * name_sum and name_count.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "telemetry/telemetry_internal.h"

bool eco_telemetry_escape_label(eco_buf *out, const char *s, size_t n) {
    size_t from = 0; /* s[from..i) is appended as it is */
    for (size_t i = 0; i < n; i++) {
        const char *esc = s[i] == '\\'   ? "\\\\"
                          : s[i] == '"'  ? "\\\""
                          : s[i] == '\n' ? "\\n"
                                         : NULL;
        if (!esc) continue;
        if (!eco_buf_append(out, s + from, i - from) || !eco_buf_puts(out, esc)) return false;
        from = i + 1;
    }
    return eco_buf_append(out, s + from, n - from);
}

bool tm_buf_real(eco_buf *b, double v) {
    if (isnan(v)) return eco_buf_puts(b, "NaN");
    if (isinf(v)) return eco_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
    return eco_buf_printf(b, "%.*g", eco_json_real_digits(v), v);
}

/* "# HELP name help\n# TYPE name type\n" (help holds neither \ nor a line feed). */
static bool family_header(eco_buf *b, const char *name, const char *type, const char *help) {
    return eco_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{engine="...",capability="..."[,le="..."]} : everything before the value. */
static bool sample_start(eco_buf *b, const char *name, const char *suffix, const tm_series *s,
                         const char *le) {
    bool ok = eco_buf_puts(b, name) && eco_buf_puts(b, suffix) && eco_buf_puts(b, "{engine=\"") &&
              eco_telemetry_escape_label(b, s->engine, strlen(s->engine)) &&
              eco_buf_puts(b, "\",capability=\"") &&
              eco_telemetry_escape_label(b, s->capability, strlen(s->capability)) &&
              eco_buf_push(b, '"');
    if (ok && le) ok = eco_buf_puts(b, ",le=\"") && eco_buf_puts(b, le) && eco_buf_push(b, '"');
    return ok && eco_buf_puts(b, "} ");
}

/* The counter families: name, help, and where each series holds its value. */
typedef struct counter_family {
    const char *name, *help;
    bool real;     /* the value is a double (else a uint64_t) */
    size_t offset; /* of the value in tm_series */
} counter_family;

static const counter_family COUNTERS[] = {
    {"ecology_requests_total", "Requests answered, per engine and capability.", false,
     offsetof(tm_series, requests)},
    {"ecology_request_failures_total",
     "Requests that failed (an error, or an answer judged wrong).", false,
     offsetof(tm_series, failures)},
    {"ecology_low_confidence_answers_total",
     "Answers whose confidence was under the low-confidence threshold.", false,
     offsetof(tm_series, low_confidence)},
    {"ecology_generated_tokens_total", "Tokens generated.", false, offsetof(tm_series, tokens)},
    {"ecology_generation_seconds_total",
     "Seconds spent generating those tokens (tokens/s is the ratio of the two rates).", true,
     offsetof(tm_series, gen_seconds)},
};

#define LATENCY "ecology_request_latency_seconds"

static bool write_counters(eco_buf *b, const eco_telemetry *t) {
    for (size_t f = 0; f < sizeof COUNTERS / sizeof COUNTERS[0]; f++) {
        const counter_family *cf = &COUNTERS[f];
        if (!family_header(b, cf->name, "counter", cf->help)) return false;
        for (size_t i = 0; i < t->n_series; i++) {
            const tm_series *s = t->series[i];
            const char *at = (const char *)s + cf->offset;
            bool ok = sample_start(b, cf->name, "", s, NULL);
            if (ok && cf->real)
                ok = tm_buf_real(b, *(const double *)at);
            else if (ok)
                ok = eco_buf_printf(b, "%llu", (unsigned long long)*(const uint64_t *)at);
            if (!ok || !eco_buf_push(b, '\n')) return false;
        }
    }
    return true;
}

static bool write_latency(eco_buf *b, const eco_telemetry *t) {
    if (!family_header(b, LATENCY, "histogram", "Request latency in seconds, request to response."))
        return false;
    /* les: the le label of every bucket, each ended by a NUL, bucket k's at les.data + at[k]
     * (written once, not once per series: the shortest exact form costs a few printfs). */
    const double *bounds = eco_telemetry_latency_bounds();
    eco_buf les = {0};
    size_t at[ECO_TELEMETRY_N_BUCKETS];
    bool ok = true;
    for (size_t k = 0; ok && k < ECO_TELEMETRY_N_BUCKETS; k++) {
        at[k] = les.len;
        ok = (k < ECO_TELEMETRY_N_BOUNDS ? tm_buf_real(&les, bounds[k])
                                         : eco_buf_puts(&les, "+Inf")) &&
             eco_buf_push(&les, '\0');
    }
    for (size_t i = 0; ok && i < t->n_series; i++) {
        const tm_series *s = t->series[i];
        uint64_t run = 0;
        for (size_t k = 0; ok && k < ECO_TELEMETRY_N_BUCKETS; k++) {
            run += s->bucket[k];
            ok = sample_start(b, LATENCY, "_bucket", s, les.data + at[k]) &&
                 eco_buf_printf(b, "%llu\n", (unsigned long long)run);
        }
        ok = ok && sample_start(b, LATENCY, "_sum", s, NULL) && tm_buf_real(b, s->latency_sum) &&
             eco_buf_push(b, '\n') && sample_start(b, LATENCY, "_count", s, NULL) &&
             eco_buf_printf(b, "%llu\n", (unsigned long long)s->requests);
    }
    eco_buf_free(&les);
    return ok;
}

eco_status eco_telemetry_prometheus(eco_telemetry *t, eco_buf *out) {
    if (!t || !out) return eco_error(ECO_STATUS_EINVAL, "telemetry exposition: NULL argument");
    pthread_mutex_lock(&t->mu);
    bool ok = true;
    if (t->n_series) ok = write_counters(out, t) && write_latency(out, t);
    ok = ok &&
         family_header(out, "ecology_telemetry_dropped_events_total", "counter",
                       "Events not recorded because the series bound was reached.") &&
         eco_buf_printf(out, "ecology_telemetry_dropped_events_total %llu\n",
                        (unsigned long long)t->dropped);
    pthread_mutex_unlock(&t->mu);
    return ok ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "telemetry exposition: out of memory");
}
