/*
 * canary_stats: the judge's statistics (canary.h has every definition): the pooled
 * two-proportion z-test, the Mann–Whitney U test (normal approximation, tie and continuity
 * corrections) and the Hodges–Lehmann shift with its confidence interval.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/canary.h"

/* Φ(x), the standard normal distribution function. */
static double norm_cdf(double x) { return 0.5 * erfc(-x / sqrt(2.0)); }

static eco_status check_sample(const char *what, const double *v, size_t n) {
    if (n == 0) return eco_error(ECO_STATUS_EINVAL, "%s: empty sample", what);
    if (!v) return eco_error(ECO_STATUS_EINVAL, "%s: NULL sample", what);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return eco_error(ECO_STATUS_EINVAL, "%s[%zu]: %g is not a finite number", what, i,
                             v[i]);
    return ECO_STATUS_OK;
}

eco_status eco_canary_prop_test(uint64_t k_canary, uint64_t n_canary, uint64_t k_champion,
                                uint64_t n_champion, bool higher_is_worse, eco_canary_prop *out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "two-proportion test: NULL argument");
    *out = (eco_canary_prop){.k_canary = k_canary,
                             .n_canary = n_canary,
                             .k_champion = k_champion,
                             .n_champion = n_champion,
                             .p_worse = 1.0};
    if (k_canary > n_canary || k_champion > n_champion)
        return eco_error(ECO_STATUS_EINVAL,
                         "two-proportion test: %llu of %llu (canary), %llu of %llu (champion)",
                         (unsigned long long)k_canary, (unsigned long long)n_canary,
                         (unsigned long long)k_champion, (unsigned long long)n_champion);
    if (n_canary == 0 || n_champion == 0) return ECO_STATUS_OK;
    const double n1 = (double)n_canary, n2 = (double)n_champion;
    const double p1 = (double)k_canary / n1, p2 = (double)k_champion / n2;
    const double pool = ((double)k_canary + (double)k_champion) / (n1 + n2);
    const double se = sqrt(pool * (1.0 - pool) * (1.0 / n1 + 1.0 / n2));
    out->rate_canary = p1;
    out->rate_champion = p2;
    out->ran = true;
    out->z = se > 0 ? (p1 - p2) / se : 0.0;
    out->p_worse = norm_cdf(higher_is_worse ? -out->z : out->z);
    return ECO_STATUS_OK;
}

eco_status eco_canary_mann_whitney(const double *canary, size_t n, const double *champion, size_t m,
                                   eco_canary_mwu *out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "Mann-Whitney: NULL argument");
    *out = (eco_canary_mwu){.n_canary = n, .n_champion = m, .p_greater = 1, .p_two_sided = 1};
    eco_status st;
    if ((st = check_sample("canary", canary, n)) || (st = check_sample("champion", champion, m)))
        return st;
    size_t N;
    if (!eco_add_ok(n, m, &N)) return eco_error(ECO_STATUS_EOVERFLOW, "Mann-Whitney: n + m");
    eco_keyed *p = eco_malloc_array(N, sizeof *p);
    if (!p) return eco_error(ECO_STATUS_ENOMEM, "Mann-Whitney: %zu values", N);
    for (size_t i = 0; i < n; i++) p[i] = (eco_keyed){canary[i], i};
    for (size_t j = 0; j < m; j++) p[n + j] = (eco_keyed){champion[j], n + j};
    qsort(p, N, sizeof *p, eco_cmp_keyed);
    /* R₁: the canary's rank sum with ties given their average rank; Σ(t³−t) over the ties. */
    double r1 = 0, tie_term = 0;
    for (size_t a = 0; a < N;) {
        size_t b = a + 1;
        while (b < N && p[b].v == p[a].v) b++;
        const double t = (double)(b - a), avg = ((double)a + 1 + (double)b) / 2.0;
        for (size_t k = a; k < b; k++)
            if (p[k].i < n) r1 += avg;
        tie_term += t * t * t - t;
        a = b;
    }
    free(p);
    const double nn = (double)n, mm = (double)m, NN = (double)N;
    out->u = r1 - nn * (nn + 1) / 2.0;
    const double mu = nn * mm / 2.0;
    const double var = nn * mm / 12.0 * ((NN + 1) - tie_term / (NN * (NN - 1)));
    if (!(var > 0)) return ECO_STATUS_OK; /* every value equal */
    const double s = sqrt(var);
    out->z = (out->u - mu - 0.5) / s;
    out->p_greater = norm_cdf(-out->z);
    const double umax = fmax(out->u, nn * mm - out->u);
    out->p_two_sided = fmin(1.0, 2.0 * norm_cdf(-(umax - mu - 0.5) / s));
    return ECO_STATUS_OK;
}

/* Σ(t³−t) over the groups of equal values of the sorted v[0..n). */
static double sorted_tie_term(const double *v, size_t n) {
    double tt = 0;
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && v[b] == v[a]) b++;
        const double t = (double)(b - a);
        tt += t * t * t - t;
        a = b;
    }
    return tt;
}

/* The corrected statistic W between jumps with U = c pairs above μ (canary.h). */
static double w_of(double c, double half, double s) {
    const double dz = c - half;
    const double corr = dz > 0 ? 0.5 : dz < 0 ? -0.5 : 0.0;
    return (dz - corr) / s;
}

/* The smallest difference d[k] (sorted ascending, total pairs) with W(d[k]⁺) <= level:
 * W(d⁺) uses c = #{d > d[k]}, the count past the last copy of d[k]. W is non-increasing in k,
 * so a binary search over the distinct values. Returns d[total − 1] when none (W at the
 * largest difference is the smallest W, (−nm/2 + 0.5)/σ, so only for a huge level). */
static double jump_at(const double *d, size_t total, double half, double s, double level) {
    size_t lo = 0, hi = total - 1; /* answer in [lo, hi] */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        /* end of mid's group of equal values */
        size_t e = mid;
        while (e + 1 < total && d[e + 1] == d[mid]) e++;
        const double c = (double)(total - 1 - e);
        if (w_of(c, half, s) <= level)
            hi = mid;
        else
            lo = e + 1;
    }
    return d[lo];
}

eco_status eco_canary_hodges_lehmann(const double *canary, size_t n, const double *champion,
                                     size_t m, double z, eco_canary_shift *out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "Hodges-Lehmann: NULL argument");
    *out = (eco_canary_shift){0};
    eco_status st;
    if ((st = check_sample("canary", canary, n)) || (st = check_sample("champion", champion, m)))
        return st;
    if (!(z > 0) || !isfinite(z))
        return eco_error(ECO_STATUS_EINVAL, "Hodges-Lehmann: quantile %g is not positive", z);
    size_t total;
    if (!eco_mul_ok(n, m, &total) || total > ECO_CANARY_MAX_PAIRS)
        return eco_error(ECO_STATUS_ERANGE,
                         "Hodges-Lehmann: %zu x %zu samples, more than %zu pairs", n, m,
                         ECO_CANARY_MAX_PAIRS);
    size_t N = n + m;
    double *d = eco_malloc_array(total + N, sizeof *d);
    if (!d) return eco_error(ECO_STATUS_ENOMEM, "Hodges-Lehmann: %zu pairs", total);
    /* d[0..total): the differences canary[i] − champion[j], sorted; s[0..N): scratch for
     * each sample sorted, to count the ties inside it. */
    double *sc = d + total;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) d[i * m + j] = canary[i] - champion[j];
    qsort(d, total, sizeof *d, eco_cmp_double);
    memcpy(sc, canary, n * sizeof *sc);
    memcpy(sc + n, champion, m * sizeof *sc);
    qsort(sc, n, sizeof *sc, eco_cmp_double);
    qsort(sc + n, m, sizeof *sc, eco_cmp_double);
    const double tie = sorted_tie_term(sc, n) + sorted_tie_term(sc + n, m);
    const double nn = (double)n, mm = (double)m, NN = (double)N;
    const double var = nn * mm / 12.0 * ((NN + 1) - tie / (NN * (NN - 1)));
    out->estimate = total % 2 ? d[total / 2] : (d[total / 2 - 1] + d[total / 2]) / 2.0;
    if (var > 0) {
        const double s = sqrt(var), half = nn * mm / 2.0;
        out->lo = jump_at(d, total, half, s, z);
        out->hi = jump_at(d, total, half, s, -z);
    } else {
        /* each sample constant: every difference is the same value */
        out->lo = out->hi = d[0];
    }
    free(d);
    return ECO_STATUS_OK;
}

const char *eco_canary_class_name(eco_canary_class c) {
    switch (c) {
        case ECO_CANARY_CLASS_PASS:
            return "pass";
        case ECO_CANARY_CLASS_HIGH:
            return "high";
        case ECO_CANARY_CLASS_LOW:
            return "low";
        case ECO_CANARY_CLASS_NODATA:
            return "nodata";
    }
    return NULL;
}

static double mean_of(const double *v, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += v[i];
    return s / (double)n;
}

eco_status eco_canary_classify(const double *canary, size_t n, const double *champion, size_t m,
                               eco_canary_metric *out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "classify: NULL argument");
    *out = (eco_canary_metric){.cls = ECO_CANARY_CLASS_NODATA, .mean_ratio = NAN};
    if (n == 0 || m == 0) return ECO_STATUS_OK;
    eco_status st;
    if ((st = check_sample("canary", canary, n)) || (st = check_sample("champion", champion, m)))
        return st;
    out->cls = ECO_CANARY_CLASS_PASS;
    const double mc = mean_of(canary, n), mh = mean_of(champion, m);
    out->mean_ratio = (mc == 0 || mh == 0) ? NAN : mc / mh;
    /* Kayenta's shortcuts: identical data, or a single distinct value in both samples. */
    bool one_value = true;
    for (size_t i = 0; i < n && one_value; i++) one_value = canary[i] == canary[0];
    for (size_t j = 0; j < m && one_value; j++) one_value = champion[j] == canary[0];
    if (one_value) return ECO_STATUS_OK;
    if (n == m) {
        double *a = eco_malloc_array(2 * n, sizeof *a);
        if (!a) return eco_error(ECO_STATUS_ENOMEM, "classify: %zu values", n);
        memcpy(a, canary, n * sizeof *a);
        memcpy(a + n, champion, n * sizeof *a);
        qsort(a, n, sizeof *a, eco_cmp_double);
        qsort(a + n, n, sizeof *a, eco_cmp_double);
        bool same = true;
        for (size_t i = 0; i < n && same; i++) same = a[i] == a[n + i];
        free(a);
        if (same) return ECO_STATUS_OK;
    }
    if ((st = eco_canary_mann_whitney(canary, n, champion, m, &out->mwu)) ||
        (st = eco_canary_hodges_lehmann(canary, n, champion, m, ECO_CANARY_Z98, &out->shift)))
        return st;
    out->ran = true;
    out->bound = ECO_CANARY_TOLERANCE * fabs(out->shift.estimate);
    const bool nan_ratio = isnan(out->mean_ratio);
    if (out->shift.lo > out->bound && (nan_ratio || out->mean_ratio >= 1.0))
        out->cls = ECO_CANARY_CLASS_HIGH;
    else if (out->shift.hi < -out->bound && (nan_ratio || out->mean_ratio <= 1.0))
        out->cls = ECO_CANARY_CLASS_LOW;
    return ECO_STATUS_OK;
}
