/*
 * sorted: the helpers for sorted arrays of doubles that the evaluator's metrics and the
 * telemetry and promotion modules share (core.h: eco_cmp_double, eco_cmp_keyed,
 * eco_lower_bound, eco_percentile_nearest_rank).
 */
#include "ecology/core.h"

int eco_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int eco_cmp_keyed(const void *pa, const void *pb) {
    const eco_keyed *a = pa, *b = pb;
    if (a->v != b->v) return a->v < b->v ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

size_t eco_lower_bound(const double *sorted, size_t n, double x) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sorted[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

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
