/*
 * metrics_latency: the latency summary of a run (nearest-rank percentiles: core.h's
 * eco_percentile_nearest_rank).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/eval_metrics.h"

eco_status eco_latency_compute(const double *values, size_t n, eco_latency *out) {
    if (!out || (!values && n)) return eco_error(ECO_STATUS_EINVAL, "latency: NULL argument");
    memset(out, 0, sizeof *out);
    if (n == 0) return ECO_STATUS_OK;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(values[i]))
            return eco_error(ECO_STATUS_EINVAL, "latency: value %zu is not a finite number", i);
    double *s = eco_malloc_array(n, sizeof *s);
    if (!s) return eco_error(ECO_STATUS_ENOMEM, "latency: out of memory (%zu values)", n);
    memcpy(s, values, n * sizeof *s);
    qsort(s, n, sizeof *s, eco_cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += s[i];
    eco_latency r = {.n = n, .min = s[0], .max = s[n - 1], .mean = sum / (double)n};
    eco_status st = eco_percentile_nearest_rank(s, n, 50, &r.p50);
    if (!st) st = eco_percentile_nearest_rank(s, n, 95, &r.p95);
    if (!st) st = eco_percentile_nearest_rank(s, n, 99, &r.p99);
    free(s);
    if (!st) *out = r;
    return st;
}
