/*
 * The telemetry store's insides, shared by its files (record and read in telemetry.c, the
 * hard-example set in hard_examples.c, the outputs in prometheus.c and snapshot.c). Not
 * under include/: callers use ecology/telemetry.h.
 */
#ifndef ECO_TELEMETRY_INTERNAL_H
#define ECO_TELEMETRY_INTERNAL_H

#include <pthread.h>

#include "ecology/telemetry.h"

/* One (engine, capability) pair's figures. */
typedef struct tm_series {
    char *engine, *capability; /* malloc'd, NUL-terminated */
    uint64_t requests, failures, low_confidence, tokens;
    double gen_seconds, latency_sum;
    uint64_t bucket[ECO_TELEMETRY_N_BUCKETS]; /* per bucket, NOT cumulative: [i] counts the
                                               * latencies in (bound i−1, bound i] */
    double *reservoir;                        /* [min(requests, reservoir_size)] latencies */
} tm_series;

/* One hard example. */
typedef struct tm_hard {
    uint8_t hash[ECO_SHA256_LEN]; /* SHA-256 of the prompt's bytes as recorded */
    char *prompt, *answer;        /* malloc'd UTF-8, NUL-terminated */
    size_t prompt_len, answer_len;
    char *engine, *capability; /* malloc'd */
    double confidence;         /* in [0, 1] or NAN (unknown) */
    uint64_t seen;             /* sightings of this prompt */
    uint64_t seq;              /* when the prompt was first seen (export order on ties) */
} tm_hard;

/* The hard-example set: an unordered array, scanned linearly (only candidates reach it,
 * and it holds hard_max_count entries at most). */
typedef struct tm_hard_set {
    tm_hard *items; /* [count], capacity cap */
    size_t count, cap;
    size_t bytes; /* sum of prompt_len + answer_len over items */
    uint64_t next_seq;
    uint64_t offered, deduped, evicted, rejected;
} tm_hard_set;

struct eco_telemetry {
    pthread_mutex_t mu; /* guards everything below */
    eco_telemetry_config cfg;
    tm_series **series; /* [n_series] (room for series_cap), sorted by (engine, capability)
                         * bytewise */
    size_t n_series, series_cap;
    uint64_t dropped;
    eco_rng rng; /* the reservoirs' sampling */
    tm_hard_set hard;
};

/* The rank a confidence has among hard examples: unknown (NaN) as 0. */
static inline double tm_rank(double confidence) {
    return confidence != confidence ? 0.0 : confidence;
}

/* Offers a candidate to the set (t->mu held). c is moved in when kept (its strings then
 * belong to the set) and freed otherwise: the caller owns nothing of it afterwards. ENOMEM
 * only (c freed). */
eco_status tm_hard_offer(eco_telemetry *t, tm_hard *c);
/* Frees an entry's strings. */
void tm_hard_clear(tm_hard *h);
/* Frees the set's entries and array. */
void tm_hard_set_free(tm_hard_set *s);

/* Room for one more element in *items ([count] elements of elem bytes, room for *cap):
 * the room doubles (16 at first). false, *items as it was, when out of memory or on
 * overflow. */
bool tm_grow(void **items, size_t *cap, size_t count, size_t elem);

/* The figures of s (t->mu held). */
void tm_series_stats(const eco_telemetry *t, const tm_series *s, eco_telemetry_stats *out);

/* %.*g with the fewest digits that read back exactly ("+Inf"/"-Inf"/"NaN" as Prometheus
 * writes them), appended to b. false when out of memory. */
bool tm_buf_real(eco_buf *b, double v);

#endif
