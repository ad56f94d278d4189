/*
 * The telemetry store: its configuration, recording an event into its series (counters,
 * histogram, reservoir) and reading a series' figures back. The hard-example set is in
 * hard_examples.c, the outputs in prometheus.c and snapshot.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "telemetry/telemetry_internal.h"

#define RESERVOIR_MAX ((size_t)1 << 20)

void eco_telemetry_config_default(eco_telemetry_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->low_confidence = 0.5;
    cfg->hard_max_count = 1000;
    cfg->hard_max_bytes = (size_t)4 << 20;
    cfg->reservoir_size = 1024;
    cfg->max_series = 1024;
    cfg->max_label_bytes = 256;
    cfg->seed = 0;
}

eco_status eco_telemetry_create(const eco_telemetry_config *cfg, eco_telemetry **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "telemetry: out is NULL");
    *out = NULL;
    eco_telemetry_config c;
    if (cfg)
        c = *cfg;
    else
        eco_telemetry_config_default(&c);
    if (!(c.low_confidence >= 0 && c.low_confidence <= 1))
        return eco_error(ECO_STATUS_EINVAL, "telemetry: low_confidence %g outside [0, 1]",
                         c.low_confidence);
    if (c.reservoir_size > RESERVOIR_MAX)
        return eco_error(ECO_STATUS_EINVAL, "telemetry: reservoir_size %zu outside [0, %zu]",
                         c.reservoir_size, RESERVOIR_MAX);
    if (c.max_series == 0)
        return eco_error(ECO_STATUS_EINVAL, "telemetry: max_series must be at least 1");
    if (c.max_label_bytes == 0)
        return eco_error(ECO_STATUS_EINVAL, "telemetry: max_label_bytes must be at least 1");
    eco_telemetry *t = calloc(1, sizeof *t);
    if (!t) return eco_error(ECO_STATUS_ENOMEM, "telemetry: out of memory");
    if (pthread_mutex_init(&t->mu, NULL) != 0) {
        free(t);
        return eco_error(ECO_STATUS_ENOMEM, "telemetry: cannot create its mutex");
    }
    t->cfg = c;
    eco_rng_seed(&t->rng, c.seed);
    *out = t;
    return ECO_STATUS_OK;
}

static void series_free(tm_series *s) {
    if (!s) return;
    free(s->engine);
    free(s->capability);
    free(s->reservoir);
    free(s);
}

void eco_telemetry_free(eco_telemetry *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n_series; i++) series_free(t->series[i]);
    free(t->series);
    tm_hard_set_free(&t->hard);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

bool tm_grow(void **items, size_t *cap, size_t count, size_t elem) {
    if (count < *cap) return true;
    size_t n = *cap ? *cap * 2 : 16, bytes;
    if (n < *cap || !eco_mul_ok(n, elem, &bytes)) return false;
    void *p = realloc(*items, bytes);
    if (!p) return false;
    *items = p;
    *cap = n;
    return true;
}

/* ---- recording ------------------------------------------------------------------------- */

static eco_status check_name(const eco_telemetry *t, const char *field, const char *s) {
    if (!s || !*s)
        return eco_error(ECO_STATUS_EINVAL, "telemetry event: %s is missing or empty", field);
    size_t n = strnlen(s, t->cfg.max_label_bytes + 1);
    char shown[ECO_JSON_SHOWN_SIZE];
    if (n > t->cfg.max_label_bytes)
        return eco_error(ECO_STATUS_EINVAL, "telemetry event: %s '%s' longer than %zu bytes", field,
                         eco_json_shown(s, n, shown), t->cfg.max_label_bytes);
    if (eco_utf8_valid_prefix(s, n) != n)
        return eco_error(ECO_STATUS_EINVAL, "telemetry event: %s '%s' is not valid UTF-8", field,
                         eco_json_shown(s, n, shown));
    return ECO_STATUS_OK;
}

static eco_status check_event(const eco_telemetry *t, const eco_telemetry_event *ev) {
    if (!ev) return eco_error(ECO_STATUS_EINVAL, "telemetry event: NULL");
    eco_status st = check_name(t, "engine", ev->engine);
    if (st == ECO_STATUS_OK) st = check_name(t, "capability", ev->capability);
    if (st != ECO_STATUS_OK) return st;
    if (!(isfinite(ev->latency_s) && ev->latency_s >= 0))
        return eco_error(ECO_STATUS_EINVAL,
                         "telemetry event: latency_s %g is not a finite "
                         "number >= 0",
                         ev->latency_s);
    if (!(isfinite(ev->gen_seconds) && ev->gen_seconds >= 0))
        return eco_error(ECO_STATUS_EINVAL,
                         "telemetry event: gen_seconds %g is not a finite "
                         "number >= 0",
                         ev->gen_seconds);
    if (!isnan(ev->confidence) && !(ev->confidence >= 0 && ev->confidence <= 1))
        return eco_error(ECO_STATUS_EINVAL, "telemetry event: confidence %g outside [0, 1]",
                         ev->confidence);
    if (!ev->prompt && ev->prompt_len)
        return eco_error(ECO_STATUS_EINVAL, "telemetry event: prompt NULL with prompt_len %zu",
                         ev->prompt_len);
    if (!ev->answer && ev->answer_len)
        return eco_error(ECO_STATUS_EINVAL, "telemetry event: answer NULL with answer_len %zu",
                         ev->answer_len);
    return ECO_STATUS_OK;
}

static int series_cmp(const char *engine, const char *capability, const tm_series *s) {
    int c = strcmp(engine, s->engine);
    return c ? c : strcmp(capability, s->capability);
}

/* The index of (engine, capability) in t->series, or where it would go (*found false). */
static size_t series_find(const eco_telemetry *t, const char *engine, const char *capability,
                          bool *found) {
    size_t lo = 0, hi = t->n_series;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = series_cmp(engine, capability, t->series[mid]);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *found = false;
    return lo;
}

/* The series of the pair, made when new (t->mu held). ERANGE at max_series. */
static eco_status series_get(eco_telemetry *t, const char *engine, const char *capability,
                             tm_series **out) {
    bool found;
    size_t at = series_find(t, engine, capability, &found);
    if (found) {
        *out = t->series[at];
        return ECO_STATUS_OK;
    }
    if (t->n_series >= t->cfg.max_series) {
        t->dropped++;
        char e[ECO_JSON_SHOWN_SIZE], c[ECO_JSON_SHOWN_SIZE];
        return eco_error(ECO_STATUS_ERANGE,
                         "telemetry: %zu series already (max_series); engine '%s' capability "
                         "'%s' not recorded",
                         t->n_series, eco_json_shown(engine, strlen(engine), e),
                         eco_json_shown(capability, strlen(capability), c));
    }
    tm_series *s = calloc(1, sizeof *s);
    if (s) {
        s->engine = eco_strdup(engine);
        s->capability = eco_strdup(capability);
        if (t->cfg.reservoir_size)
            s->reservoir = eco_malloc_array(t->cfg.reservoir_size, sizeof(double));
    }
    if (!s || !s->engine || !s->capability || (t->cfg.reservoir_size && !s->reservoir)) {
        series_free(s);
        return eco_error(ECO_STATUS_ENOMEM, "telemetry: out of memory for a new series");
    }
    void *grown = t->series;
    if (!tm_grow(&grown, &t->series_cap, t->n_series, sizeof *t->series)) {
        series_free(s);
        return eco_error(ECO_STATUS_ENOMEM, "telemetry: out of memory for a new series");
    }
    t->series = grown;
    memmove(t->series + at + 1, t->series + at, (t->n_series - at) * sizeof *t->series);
    t->series[at] = s;
    t->n_series++;
    *out = s;
    return ECO_STATUS_OK;
}

/* Vitter's algorithm R: the first R latencies fill the reservoir; the n-th after that
 * replaces a uniformly chosen slot with probability R/n, so the reservoir is a uniform
 * sample of all n (the modulo's bias, n/2^64, is negligible). t->mu held. */
static void reservoir_add(eco_telemetry *t, tm_series *s, double x) {
    size_t r = t->cfg.reservoir_size;
    if (!r) return;
    if (s->requests <= r) { /* requests already counts x */
        s->reservoir[s->requests - 1] = x;
        return;
    }
    uint64_t j = eco_rng_next(&t->rng) % s->requests;
    if (j < r) s->reservoir[j] = x;
}

/* A candidate built before the lock: the prompt's hash and UTF-8 copies. */
static eco_status candidate_make(const eco_telemetry_event *ev, tm_hard *c) {
    memset(c, 0, sizeof *c);
    eco_status st = eco_sha256(ev->prompt, ev->prompt_len, c->hash);
    if (st != ECO_STATUS_OK) return st;
    c->prompt = eco_utf8_lossy(ev->prompt, ev->prompt_len, &c->prompt_len);
    c->answer = eco_utf8_lossy(ev->answer ? ev->answer : "", ev->answer_len, &c->answer_len);
    c->engine = eco_strdup(ev->engine);
    c->capability = eco_strdup(ev->capability);
    c->confidence = ev->confidence;
    c->seen = 1;
    if (!c->prompt || !c->answer || !c->engine || !c->capability) {
        tm_hard_clear(c);
        return eco_error(ECO_STATUS_ENOMEM, "telemetry: out of memory for a hard example");
    }
    return ECO_STATUS_OK;
}

eco_status eco_telemetry_record(eco_telemetry *t, const eco_telemetry_event *ev) {
    if (!t) return eco_error(ECO_STATUS_EINVAL, "telemetry: NULL store");
    eco_status st = check_event(t, ev);
    if (st != ECO_STATUS_OK) return st;
    bool known = !isnan(ev->confidence);
    bool low = known && ev->confidence < t->cfg.low_confidence;
    bool candidate = ev->prompt && (ev->failed || low) && t->cfg.hard_max_count > 0;
    tm_hard c;
    if (candidate && (st = candidate_make(ev, &c)) != ECO_STATUS_OK) return st;

    pthread_mutex_lock(&t->mu);
    tm_series *s = NULL;
    st = series_get(t, ev->engine, ev->capability, &s);
    if (st == ECO_STATUS_OK) {
        s->requests++;
        s->failures += ev->failed;
        s->low_confidence += low;
        s->tokens += ev->tokens;
        s->gen_seconds += ev->gen_seconds;
        s->latency_sum += ev->latency_s;
        s->bucket[eco_telemetry_bucket_index(ev->latency_s)]++;
        reservoir_add(t, s, ev->latency_s);
        if (candidate) {
            candidate = false; /* tm_hard_offer takes c, kept or freed */
            st = tm_hard_offer(t, &c);
        }
    }
    pthread_mutex_unlock(&t->mu);
    if (candidate) tm_hard_clear(&c);
    return st;
}

/* ---- reading --------------------------------------------------------------------------- */

void tm_series_stats(const eco_telemetry *t, const tm_series *s, eco_telemetry_stats *out) {
    memset(out, 0, sizeof *out);
    out->requests = s->requests;
    out->failures = s->failures;
    out->low_confidence = s->low_confidence;
    out->tokens = s->tokens;
    out->gen_seconds = s->gen_seconds;
    out->tokens_per_s = s->gen_seconds > 0 ? (double)s->tokens / s->gen_seconds : 0;
    out->latency_sum = s->latency_sum;
    /* upper: [N_BUCKETS] bounds with +Inf last. */
    double upper[ECO_TELEMETRY_N_BUCKETS];
    memcpy(upper, eco_telemetry_latency_bounds(), ECO_TELEMETRY_N_BOUNDS * sizeof(double));
    upper[ECO_TELEMETRY_N_BOUNDS] = INFINITY;
    uint64_t run = 0;
    for (size_t i = 0; i < ECO_TELEMETRY_N_BUCKETS; i++) {
        run += s->bucket[i];
        out->buckets[i] = run;
    }
    const double qs[3] = {0.5, 0.95, 0.99};
    double *est[3] = {&out->p50, &out->p95, &out->p99};
    for (int k = 0; k < 3; k++)
        if (eco_telemetry_bucket_quantile(qs[k], upper, out->buckets, ECO_TELEMETRY_N_BUCKETS,
                                          est[k]) != ECO_STATUS_OK)
            *est[k] = NAN; /* cannot happen: the bounds and counts are well formed */
    out->exact_p50 = out->exact_p95 = out->exact_p99 = NAN;
    size_t r = t->cfg.reservoir_size;
    out->exact = r > 0 && s->requests <= r;
    size_t m = s->requests < r ? (size_t)s->requests : r;
    if (m == 0) return;
    /* sorted: [m] a copy of the reservoir, ascending (the reservoir keeps its slots). */
    double *sorted = eco_malloc_array(m, sizeof *sorted);
    if (!sorted) { /* out of memory: the exact figures stay NaN, said by exact = false */
        out->exact = false;
        return;
    }
    memcpy(sorted, s->reservoir, m * sizeof *sorted);
    qsort(sorted, m, sizeof *sorted, eco_cmp_double);
    /* m >= 1 and the percentiles are in range: these cannot fail */
    (void)eco_percentile_nearest_rank(sorted, m, 50, &out->exact_p50);
    (void)eco_percentile_nearest_rank(sorted, m, 95, &out->exact_p95);
    (void)eco_percentile_nearest_rank(sorted, m, 99, &out->exact_p99);
    free(sorted);
}

eco_status eco_telemetry_get(eco_telemetry *t, const char *engine, const char *capability,
                             eco_telemetry_stats *out) {
    if (!t || !engine || !capability || !out)
        return eco_error(ECO_STATUS_EINVAL, "telemetry get: NULL argument");
    pthread_mutex_lock(&t->mu);
    bool found;
    size_t at = series_find(t, engine, capability, &found);
    if (found) tm_series_stats(t, t->series[at], out);
    pthread_mutex_unlock(&t->mu);
    if (!found) {
        char e[ECO_JSON_SHOWN_SIZE], c[ECO_JSON_SHOWN_SIZE];
        return eco_error(ECO_STATUS_ENOTFOUND,
                         "telemetry: nothing recorded for engine '%s' capability '%s'",
                         eco_json_shown(engine, strlen(engine), e),
                         eco_json_shown(capability, strlen(capability), c));
    }
    return ECO_STATUS_OK;
}

void eco_telemetry_get_totals(eco_telemetry *t, eco_telemetry_totals *out) {
    memset(out, 0, sizeof *out);
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    out->series = t->n_series;
    out->dropped = t->dropped;
    out->hard_count = t->hard.count;
    out->hard_bytes = t->hard.bytes;
    out->hard_offered = t->hard.offered;
    out->hard_deduped = t->hard.deduped;
    out->hard_evicted = t->hard.evicted;
    out->hard_rejected = t->hard.rejected;
    pthread_mutex_unlock(&t->mu);
}
