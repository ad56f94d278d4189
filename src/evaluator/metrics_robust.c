/*
 * metrics_robust: the mean and the worst pass rate over perturbation kinds
 * (eval_metrics.h).
 */
#include <math.h>

#include "ecology/eval_metrics.h"

eco_status eco_robustness_summary(const double *pass_rate, size_t n, eco_robustness *out) {
    if (!out || (!pass_rate && n)) return eco_error(ECO_STATUS_EINVAL, "robustness: NULL argument");
    *out = (eco_robustness){.mean = 0, .worst = 0, .worst_kind = -1};
    if (n > 1024) return eco_error(ECO_STATUS_EINVAL, "robustness: %zu kinds", n);
    double sum = 0, worst = 2;
    int wk = -1;
    for (size_t i = 0; i < n; i++) {
        double r = pass_rate[i];
        if (!(r >= 0 && r <= 1)) /* NaN fails both */
            return eco_error(ECO_STATUS_EINVAL, "robustness: pass rate %zu (%g) outside [0, 1]", i,
                             r);
        sum += r;
        if (r < worst) worst = r, wk = (int)i;
    }
    if (n) *out = (eco_robustness){.mean = sum / (double)n, .worst = worst, .worst_kind = wk};
    return ECO_STATUS_OK;
}
