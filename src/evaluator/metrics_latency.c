/*
 * metrics_latency: nearest-rank percentiles (eval_metrics.h: rank = ceil(pct/100 · n),
 * 1-based, on the values sorted ascending) and the latency summary of a run.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/eval_metrics.h"

eco_status eco_percentile_nearest_rank(const double *sorted, size_t n, unsigned pct, double *out) {
    if (!sorted || !out) return eco_error(ECO_STATUS_EINVAL, "percentile: NULL argument");
    if (n == 0) return eco_error(ECO_STATUS_EINVAL, "percentile: no values");
    if (pct < 1 || pct > 100)
        return eco_error(ECO_STATUS_EINVAL, "percentile: %u outside [1, 100]", pct);
    /* ceil(pct·n/100) in integers: pct·n cannot overflow for n < 2^57. */
    if (n > ((size_t)1 << 57)) return eco_error(ECO_STATUS_EOVERFLOW, "percentile: %zu values", n);
    size_t r = ((size_t)pct * n + 99) / 100;
    if (r < 1) r = 1;
    *out = sorted[r - 1];
    return ECO_STATUS_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

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
    qsort(s, n, sizeof *s, cmp_double);
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
