/*
 * metrics_rate: a pass rate k/n with its 95% Wilson score interval (eval_metrics.h has the
 * formula and the n = 0 rule).
 */
#include <math.h>

#include "ecology/eval_metrics.h"

eco_status eco_rate_wilson(uint64_t k, uint64_t n, eco_rate *out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "eco_rate_wilson: NULL argument");
    *out = (eco_rate){.k = k, .n = n, .rate = 0, .lo = 0, .hi = 1};
    if (k > n)
        return eco_error(ECO_STATUS_EINVAL, "pass rate: %llu passed of %llu counted",
                         (unsigned long long)k, (unsigned long long)n);
    if (n == 0) return ECO_STATUS_OK;
    const double z = ECO_WILSON_Z95, z2 = z * z, nn = (double)n;
    const double p = (double)k / nn;
    const double d = 1.0 + z2 / nn;
    const double centre = (p + z2 / (2.0 * nn)) / d;
    const double half = (z / d) * sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn));
    out->rate = p;
    out->lo = k == 0 ? 0.0 : fmax(0.0, centre - half);
    out->hi = k == n ? 1.0 : fmin(1.0, centre + half);
    return ECO_STATUS_OK;
}
