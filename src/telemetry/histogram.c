/*
 * The latency buckets and Prometheus's histogram_quantile estimate over them
 * (ecology/telemetry.h says the rule and its error bound).
 */
#include <math.h>

#include "ecology/telemetry.h"

/* [ECO_TELEMETRY_N_BOUNDS] seconds: R10 preferred numbers, 1e-4 .. 100, written out so that
 * each is the double nearest its decimal (the exposition's le labels read "0.000315", not a
 * product's rounding). */
static const double BOUNDS[ECO_TELEMETRY_N_BOUNDS] = {
    0.0001,  0.000125, 0.00016, 0.0002, 0.00025, 0.000315, 0.0004, 0.0005, 0.00063, 0.0008, 0.001,
    0.00125, 0.0016,   0.002,   0.0025, 0.00315, 0.004,    0.005,  0.0063, 0.008,   0.01,   0.0125,
    0.016,   0.02,     0.025,   0.0315, 0.04,    0.05,     0.063,  0.08,   0.1,     0.125,  0.16,
    0.2,     0.25,     0.315,   0.4,    0.5,     0.63,     0.8,    1,      1.25,    1.6,    2,
    2.5,     3.15,     4,       5,      6.3,     8,        10,     12.5,   16,      20,     25,
    31.5,    40,       50,      63,     80,      100,
};

const double *eco_telemetry_latency_bounds(void) { return BOUNDS; }

size_t eco_telemetry_bucket_index(double seconds) {
    /* The first bound >= seconds (lower_bound); N_BOUNDS when none is. */
    return eco_lower_bound(BOUNDS, ECO_TELEMETRY_N_BOUNDS, seconds);
}

eco_status eco_telemetry_bucket_quantile(double q, const double *upper, const uint64_t *cumulative,
                                         size_t n, double *out) {
    if (!(q > 0 && q <= 1))
        return eco_error(ECO_STATUS_EINVAL, "histogram quantile: q %g outside (0, 1]", q);
    if (!upper || !cumulative || !out || n < 2)
        return eco_error(ECO_STATUS_EINVAL,
                         "histogram quantile: need at least 2 buckets (got %zu) and the arrays", n);
    if (!(isinf(upper[n - 1]) && upper[n - 1] > 0))
        return eco_error(ECO_STATUS_EINVAL, "histogram quantile: last bound %g is not +Inf",
                         upper[n - 1]);
    for (size_t i = 0; i + 1 < n; i++) {
        if (isnan(upper[i]) || !(upper[i] < upper[i + 1]))
            return eco_error(ECO_STATUS_EINVAL,
                             "histogram quantile: bounds not strictly ascending at [%zu] (%g, %g)",
                             i, upper[i], upper[i + 1]);
        if (cumulative[i] > cumulative[i + 1])
            return eco_error(ECO_STATUS_EINVAL,
                             "histogram quantile: cumulative counts decrease at [%zu] (%llu, %llu)",
                             i, (unsigned long long)cumulative[i],
                             (unsigned long long)cumulative[i + 1]);
    }
    uint64_t total = cumulative[n - 1];
    if (total == 0) {
        *out = NAN;
        return ECO_STATUS_OK;
    }
    double rank = q * (double)total;
    /* promql: b = sort.Search(n-1, cumulative[i] >= rank); n-1 when no finite bucket has. */
    size_t b = 0;
    while (b < n - 1 && !((double)cumulative[b] >= rank)) b++;
    if (b == n - 1) {
        *out = upper[n - 2];
        return ECO_STATUS_OK;
    }
    if (b == 0 && upper[0] <= 0) {
        *out = upper[0];
        return ECO_STATUS_OK;
    }
    double start = 0, end = upper[b], count = (double)cumulative[b];
    if (b > 0) {
        start = upper[b - 1];
        count -= (double)cumulative[b - 1];
        rank -= (double)cumulative[b - 1];
    }
    /* rank > 0 and cumulative[b-1] < rank <= cumulative[b], so count > 0. */
    *out = start + (end - start) * (rank / count);
    return ECO_STATUS_OK;
}
