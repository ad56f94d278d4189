/*
 * metrics_calibration: ECE over 10 equal-mass bins (HELM's ece_10_bin, reproduced bin rule
 * for bin rule), ECE over 10 equal-width bins, the Brier score and the accuracy on the 10%
 * most confident answers. eval_metrics.h has the definitions and the sources.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/eval_metrics.h"

static eco_status check_inputs(const double *conf, const uint8_t *correct, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (!(conf[i] >= 0.0 && conf[i] <= 1.0)) /* NaN fails both */
            return eco_error(ECO_STATUS_EINVAL,
                             "calibration: confidence %zu (%g) is not a number in [0, 1]", i,
                             conf[i]);
        if (correct && correct[i] > 1)
            return eco_error(ECO_STATUS_EINVAL, "calibration: correct %zu is %u, not 0 or 1", i,
                             (unsigned)correct[i]);
    }
    return ECO_STATUS_OK;
}

/* The boundaries of calibration/utils.py get_equal_bins(sorted, num_bins=10) from the
 * confidences sorted ascending: np.array_split into m = min(10, n) parts, midpoints between
 * parts, 1.0 appended, then sorted(set(...)). Returns their count (1..10). */
static size_t em_bounds_sorted(const double *s, size_t n, double *bounds) {
    size_t m = n < ECO_CALIBRATION_BINS ? n : ECO_CALIBRATION_BINS;
    size_t q = n / m, extra = n % m, start = 0, nb = 0;
    double raw[ECO_CALIBRATION_BINS];
    for (size_t j = 0; j + 1 < m; j++) {
        size_t size = q + (j < extra ? 1 : 0); /* np.array_split: the first n mod m get one more */
        size_t next = start + size;            /* first index of part j+1 */
        raw[nb++] = (s[next - 1] + s[next]) / 2.0;
        start = next;
    }
    raw[nb++] = 1.0;
    /* sorted(set(bins)): the midpoints are already non-decreasing, and none exceeds 1.0
     * (every confidence is <= 1), so sorting is a no-op and equal neighbours go. */
    size_t k = 0;
    for (size_t j = 0; j < nb; j++)
        if (k == 0 || raw[j] != bounds[k - 1]) bounds[k++] = raw[j];
    return k;
}

/* np.searchsorted(bounds, c, side='left'): the first j with bounds[j] >= c. The last bound
 * is 1.0 and c <= 1, so the result is < nb. */
static size_t bin_of(const double *bounds, size_t nb, double c) {
    size_t lo = eco_lower_bound(bounds, nb, c);
    return lo < nb ? lo : nb - 1;
}

/* Σ_b (|b|/n)·|mean conf − mean correct| over the non-empty bins given by bounds. */
static double ece_binned(const double *conf, const uint8_t *correct, size_t n, const double *bounds,
                         size_t nb) {
    double sc[ECO_CALIBRATION_BINS] = {0}, sy[ECO_CALIBRATION_BINS] = {0};
    size_t cnt[ECO_CALIBRATION_BINS] = {0};
    for (size_t i = 0; i < n; i++) {
        size_t b = bin_of(bounds, nb, conf[i]);
        sc[b] += conf[i];
        sy[b] += correct[i];
        cnt[b]++;
    }
    double ece = 0;
    for (size_t b = 0; b < nb; b++)
        if (cnt[b])
            ece += ((double)cnt[b] / (double)n) *
                   fabs(sc[b] / (double)cnt[b] - sy[b] / (double)cnt[b]);
    return ece;
}

eco_status eco_calibration_em_bounds(const double *conf, size_t n, double *bounds,
                                     size_t *n_bounds) {
    if (!n_bounds || !bounds || (!conf && n))
        return eco_error(ECO_STATUS_EINVAL, "eco_calibration_em_bounds: NULL argument");
    *n_bounds = 0;
    eco_status st = check_inputs(conf, NULL, n);
    if (st || n == 0) return st;
    double *s = eco_malloc_array(n, sizeof *s);
    if (!s) return eco_error(ECO_STATUS_ENOMEM, "calibration: out of memory (%zu answers)", n);
    memcpy(s, conf, n * sizeof *s);
    qsort(s, n, sizeof *s, eco_cmp_double);
    *n_bounds = em_bounds_sorted(s, n, bounds);
    free(s);
    return ECO_STATUS_OK;
}

/* Answer order for the selective accuracy: confidence descending, then index ascending. */
typedef struct ranked {
    double conf;
    size_t index;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->conf != y->conf) return x->conf > y->conf ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index ? 1 : 0;
}

eco_status eco_calibration_compute(const double *conf, const uint8_t *correct, size_t n,
                                   eco_calibration *out) {
    if (!out || ((!conf || !correct) && n))
        return eco_error(ECO_STATUS_EINVAL, "eco_calibration_compute: NULL argument");
    memset(out, 0, sizeof *out);
    out->small_n = true;
    eco_status st = check_inputs(conf, correct, n);
    if (st || n == 0) return st;

    double *s = eco_malloc_array(n, sizeof *s);
    ranked *r = eco_malloc_array(n, sizeof *r);
    if (!s || !r) {
        free(s);
        free(r);
        return eco_error(ECO_STATUS_ENOMEM, "calibration: out of memory (%zu answers)", n);
    }
    eco_calibration c = {.n = n, .small_n = n < ECO_CALIBRATION_MIN_N};
    double sum_c = 0, sum_y = 0, sum_sq = 0;
    for (size_t i = 0; i < n; i++) {
        double d = conf[i] - (double)correct[i];
        sum_c += conf[i];
        sum_y += correct[i];
        sum_sq += d * d;
        s[i] = conf[i];
        r[i] = (ranked){conf[i], i};
    }
    c.mean_conf = sum_c / (double)n;
    c.accuracy = sum_y / (double)n;
    c.brier = sum_sq / (double)n;

    qsort(s, n, sizeof *s, eco_cmp_double);
    double bounds[ECO_CALIBRATION_BINS];
    size_t nb = em_bounds_sorted(s, n, bounds);
    c.ece_em = ece_binned(conf, correct, n, bounds, nb);

    double ew[ECO_CALIBRATION_BINS];
    for (int j = 0; j < ECO_CALIBRATION_BINS; j++) ew[j] = (double)(j + 1) / ECO_CALIBRATION_BINS;
    c.ece_ew = ece_binned(conf, correct, n, ew, ECO_CALIBRATION_BINS);

    qsort(r, n, sizeof *r, cmp_ranked);
    c.n_top10 = n / 10 + (n % 10 ? 1 : 0);
    size_t hits = 0;
    for (size_t i = 0; i < c.n_top10; i++) hits += correct[r[i].index];
    c.acc_top10 = (double)hits / (double)c.n_top10;

    free(s);
    free(r);
    *out = c;
    return ECO_STATUS_OK;
}
