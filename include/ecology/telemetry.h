/*
 * telemetry: what the serving side learns from each request, per engine and capability, for
 * the ecology loop of issue 21 (the router records, the server publishes, the breeder mines).
 *
 * One eco_telemetry holds a series per (engine, capability) pair, both plain strings:
 *
 *  - counters: requests, failures, low-confidence answers, generated tokens and the seconds
 *    that produced them (tokens/s = tokens / seconds, summed as Prometheus's rate() wants);
 *  - a latency histogram on fixed log-spaced buckets (the bounds of
 *    eco_telemetry_latency_bounds, in seconds), cumulative as Prometheus histograms are, with
 *    p50/p95/p99 estimated from the buckets by Prometheus's histogram_quantile rule
 *    (eco_telemetry_bucket_quantile says the rule and its error bound);
 *  - a bounded reservoir of latencies (Vitter's algorithm R, a seeded RNG) giving exact
 *    nearest-rank quantiles while a series has no more requests than the reservoir holds,
 *    and an unbiased sample's quantiles after.
 *
 * Beside the series, a bounded set of hard-example candidates: failed answers and answers
 * whose confidence is under a threshold, with their prompt, answer and confidence, bounded in
 * count and in bytes, deduplicated by the SHA-256 of the prompt (the lower confidence stays),
 * and, when full, keeping the lowest confidences. They export as JSONL for a fine-tune.
 *
 * Outputs: the Prometheus text exposition format 0.0.4 (for the server's /metrics), a JSON
 * snapshot of every series (for the report page), and the hard examples as JSONL.
 *
 * Thread safety: every function on one eco_telemetry may be called from several threads at
 * once (one mutex; the prompt's hash and copies are made before it is taken; a
 * hard-example candidate scans the held set under it, linear in hard_max_count).
 */
#ifndef ECOLOGY_TELEMETRY_H
#define ECOLOGY_TELEMETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- latency buckets and the quantile estimate ----------------------------------------- */

/* The finite upper bounds of the latency buckets, in seconds, ascending: the R10 preferred
 * numbers of ISO 3 (1, 1.25, 1.6, 2, 2.5, 3.15, 4, 5, 6.3, 8 per decade) from 0.0001 s
 * (100 µs) to 100 s, ECO_TELEMETRY_N_BOUNDS of them; a last bucket "+Inf" follows. Each
 * bound is between 1.25 and 1.28 times the one before. */
#define ECO_TELEMETRY_N_BOUNDS  61
#define ECO_TELEMETRY_N_BUCKETS (ECO_TELEMETRY_N_BOUNDS + 1) /* with +Inf */
/* The ECO_TELEMETRY_N_BOUNDS bounds (static; never NULL). */
const double *eco_telemetry_latency_bounds(void);
/* The bucket a latency of `seconds` (finite, >= 0) falls in: the first whose bound is >=
 * seconds (buckets are "le", upper bound included); ECO_TELEMETRY_N_BOUNDS for the +Inf
 * bucket. */
size_t eco_telemetry_bucket_index(double seconds);

/* The q-quantile estimated from a histogram as Prometheus's histogram_quantile computes it
 * (promql's bucketQuantile): upper[0..n) are the buckets' upper bounds, strictly ascending,
 * the last +Inf; cumulative[0..n) the count of observations <= upper[i], non-decreasing
 * (cumulative[n-1] the total). With N = cumulative[n-1] and rank = q·N, b is the first bucket
 * with cumulative[b] >= rank; the estimate interpolates linearly inside it:
 *     lo + (upper[b] − lo) · (rank − cumulative[b−1]) / (cumulative[b] − cumulative[b−1])
 * with lo = upper[b−1] (0 for the first bucket, so observations are taken as >= 0). When b
 * is the +Inf bucket the estimate is the highest finite bound, upper[n−2]; a first bound
 * <= 0 is returned as it is. N = 0: *out = NAN (no data), status OK.
 *
 * Error bound. The true quantile here is the nearest-rank one, the ceil(q·N)-th smallest
 * observation (as eval_metrics.h's percentiles). It lies in bucket b, as the estimate does,
 * so |estimate − true| <= upper[b] − upper[b−1] (upper[0] for the first bucket). With the
 * latency bounds above (each at most 1.28 times the one before): for b >= 1 the estimate is
 * within a factor 1.28 of the true value (|error| <= 28% of it); in the first bucket the
 * error is at most 100 µs; in the +Inf bucket the estimate is 100 s while the true value is
 * larger, by any amount.
 *
 * q in (0, 1], n >= 2, bounds and counts as said; otherwise EINVAL naming what is wrong
 * (Prometheus answers ±Inf or NaN there; a library call that gets them is a bug). */
eco_status eco_telemetry_bucket_quantile(double q, const double *upper, const uint64_t *cumulative,
                                         size_t n, double *out);

/* ---- the store ------------------------------------------------------------------------ */

typedef struct eco_telemetry eco_telemetry;

typedef struct eco_telemetry_config {
    double low_confidence;  /* an answer with confidence < this is a hard-example candidate
                             * (and counts as low confidence); in [0, 1]; default 0.5 */
    size_t hard_max_count;  /* hard examples kept at most; default 1000 (0: none kept) */
    size_t hard_max_bytes;  /* their prompt + answer bytes at most; default 4 MiB */
    size_t reservoir_size;  /* latencies kept per series for exact quantiles; default 1024,
                             * at most 1 << 20; 0: none (the exact figures are then NaN) */
    size_t max_series;      /* (engine, capability) pairs at most; default 1024, >= 1 */
    size_t max_label_bytes; /* bytes of an engine or capability name at most; default 256 */
    uint64_t seed;          /* the reservoirs' RNG; default 0 */
} eco_telemetry_config;

/* The defaults above. */
void eco_telemetry_config_default(eco_telemetry_config *cfg);

/* A new, empty store (cfg NULL: the defaults). EINVAL naming the field for a value out of
 * range, ENOMEM. *out is the caller's; free with eco_telemetry_free. */
eco_status eco_telemetry_create(const eco_telemetry_config *cfg, eco_telemetry **out);
/* Frees t and everything it holds; NULL is fine. No other thread may be using it. */
void eco_telemetry_free(eco_telemetry *t);

/* One finished request, as the router sees it. Strings are borrowed for the call. */
typedef struct eco_telemetry_event {
    const char *engine;     /* non-empty UTF-8, at most max_label_bytes */
    const char *capability; /* the same */
    bool failed;            /* an error, or an answer judged wrong */
    double latency_s;       /* request to response, seconds; finite, >= 0 */
    uint64_t tokens;        /* tokens generated */
    double gen_seconds;     /* seconds that generated them (decode); finite, >= 0 */
    double confidence;      /* in [0, 1] (the product of the tokens' probabilities), or NAN
                             * when unknown (a failure before any answer) */
    const char *prompt;     /* [prompt_len] bytes, or NULL: then no hard-example candidate */
    size_t prompt_len;
    const char *answer; /* [answer_len] bytes, or NULL when there is none (answer_len 0) */
    size_t answer_len;
} eco_telemetry_event;

/* Counts ev in its series (made on first use) and, when ev->failed or its confidence is
 * under cfg.low_confidence and it has a prompt, offers it as a hard example:
 *  - a prompt already held (same SHA-256) keeps one entry: the new answer replaces the held
 *    one when its confidence is lower (unknown confidence ranks as 0), and the entry's
 *    count of sightings goes up either way;
 *  - a new prompt is added when it fits the count and byte bounds; when it does not, the
 *    held entries of highest confidence are evicted while the new one is lower than they
 *    are, and it is dropped when it is not (the lowest confidences are kept);
 *  - one larger than hard_max_bytes alone is dropped.
 * Prompt and answer are stored as UTF-8 (an invalid byte becomes U+FFFD) for the JSONL.
 * EINVAL naming the field for a missing or bad name, latency, seconds or confidence (nothing
 * is recorded); ERANGE when a new pair would pass max_series (counted in the store's
 * dropped-events counter, nothing else recorded); ENOMEM. */
eco_status eco_telemetry_record(eco_telemetry *t, const eco_telemetry_event *ev);

/* ---- reading it back ------------------------------------------------------------------ */

/* One series' figures, copied out at one moment. */
typedef struct eco_telemetry_stats {
    uint64_t requests, failures, low_confidence;
    uint64_t tokens;
    double gen_seconds;   /* seconds that produced `tokens` */
    double tokens_per_s;  /* tokens / gen_seconds; 0 when gen_seconds is 0 */
    double latency_sum;   /* seconds, over all requests */
    double p50, p95, p99; /* seconds, from the buckets (eco_telemetry_bucket_quantile);
                             * NAN when requests = 0 */
    double exact_p50, exact_p95, exact_p99; /* seconds, nearest rank over the reservoir;
                                             * NAN when it is empty or disabled */
    bool exact; /* the reservoir holds every request (requests <= its size) */
    uint64_t buckets[ECO_TELEMETRY_N_BUCKETS]; /* cumulative counts: [i] = requests with
                                                * latency <= bound i; the last, +Inf, =
                                                * requests */
} eco_telemetry_stats;

/* The figures of (engine, capability). ENOTFOUND naming both when nothing was recorded
 * for the pair. */
eco_status eco_telemetry_get(eco_telemetry *t, const char *engine, const char *capability,
                             eco_telemetry_stats *out);

/* Store-wide counts of the hard-example set and of refused records. */
typedef struct eco_telemetry_totals {
    size_t series;          /* (engine, capability) pairs */
    uint64_t dropped;       /* events refused for the series bound (ERANGE) */
    size_t hard_count;      /* hard examples held */
    size_t hard_bytes;      /* their prompt + answer bytes (as stored) */
    uint64_t hard_offered;  /* candidates offered */
    uint64_t hard_deduped;  /* offered with a prompt already held */
    uint64_t hard_evicted;  /* held ones evicted for lower-confidence ones */
    uint64_t hard_rejected; /* offered and not kept (not low enough, or too large) */
} eco_telemetry_totals;

void eco_telemetry_get_totals(eco_telemetry *t, eco_telemetry_totals *out);

/* ---- outputs -------------------------------------------------------------------------- */

/* Appends the Prometheus text exposition (format version 0.0.4; served as "text/plain;
 * version=0.0.4") of every series to out. Families, each with its # HELP and # TYPE lines,
 * and inside each the series ordered by engine then capability (bytewise):
 *   ecology_requests_total, ecology_request_failures_total,
 *   ecology_low_confidence_answers_total, ecology_generated_tokens_total,
 *   ecology_generation_seconds_total          counters {engine="...",capability="..."}
 *   ecology_request_latency_seconds           histogram: _bucket{...,le="<bound>"}
 *                                             cumulative and le="+Inf", _sum, _count
 *   ecology_telemetry_dropped_events_total    counter, no labels
 * Label values escape backslash, double quote and line feed as \\, \" and \n. Nothing is
 * written for a family with no series (the dropped counter is always written). ENOMEM (out
 * then holds a part). */
eco_status eco_telemetry_prometheus(eco_telemetry *t, eco_buf *out);

/* Appends s (n bytes) to out as a Prometheus label value's content: \ " and line feed
 * escaped as \\ \" \n, every other byte as it is. false when out of memory. */
bool eco_telemetry_escape_label(eco_buf *out, const char *s, size_t n);

/* A JSON snapshot of everything, canonical (sorted keys), for the report page:
 *   {"bounds": [the latency bounds, seconds],
 *    "hard_examples": {"bytes", "count", "deduped", "evicted", "max_bytes", "max_count",
 *                      "offered", "rejected"},
 *    "dropped_events": N, "low_confidence_threshold": x, "reservoir_size": N,
 *    "series": [{"engine", "capability", "requests", "failures", "low_confidence",
 *                "tokens", "gen_seconds", "tokens_per_s", "latency_sum",
 *                "p50", "p95", "p99", "exact_p50", "exact_p95", "exact_p99", "exact",
 *                "buckets": [cumulative counts, the last the +Inf one]}, ...]}
 * series ordered as the exposition; a figure that is NaN (no data) is null. *out malloc'd,
 * NUL-terminated, *len bytes (may be NULL); caller frees. ENOMEM. */
eco_status eco_telemetry_snapshot_json(eco_telemetry *t, char **out, size_t *len);
/* The snapshot written atomically to path, with a trailing newline. */
eco_status eco_telemetry_write_snapshot(eco_telemetry *t, const char *path);

/* Writes the hard examples to path atomically as JSONL, one object per line with sorted keys
 *   {"answer": "...", "capability": "...", "confidence": x | null, "engine": "...",
 *    "prompt": "..."}
 * lowest confidence first (unknown confidence as 0), ties in the order the prompts were
 * first seen. An empty set writes an empty file. *n_written (may be NULL): the lines. EIO
 * naming the path, ENOMEM. */
eco_status eco_telemetry_export_hard_examples(eco_telemetry *t, const char *path,
                                              size_t *n_written);

#ifdef __cplusplus
}
#endif
#endif
