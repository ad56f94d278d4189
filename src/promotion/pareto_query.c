/* Queries on the archive: the best member for a profile, a parent by tournament, and a
 * scalar fitness. */
#include "promotion/pareto_internal.h"

#include <math.h>
#include <stdlib.h>

/* Whether v is no worse than limit in direction dir. */
static bool within(eco_pareto_dir dir, double v, double limit) {
    return dir == ECO_PARETO_DIR_MIN ? v <= limit : v >= limit;
}

/* Whether v is strictly better than w in direction dir. */
static bool better(eco_pareto_dir dir, double v, double w) {
    return dir == ECO_PARETO_DIR_MIN ? v < w : v > w;
}

eco_status eco_pareto_best(const eco_pareto *a, size_t objective, const eco_pareto_bound *bounds,
                           size_t n_bounds, size_t *index) {
    if (!a || !index || (n_bounds && !bounds))
        return eco_error(ECO_STATUS_EINVAL, "pareto best: NULL argument");
    if (objective >= a->n_obj)
        return eco_error(ECO_STATUS_EINVAL, "pareto best: objective %zu, the archive has %zu",
                         objective, a->n_obj);
    for (size_t b = 0; b < n_bounds; b++) {
        if (bounds[b].objective >= a->n_obj)
            return eco_error(ECO_STATUS_EINVAL,
                             "pareto best: bound %zu names objective %zu, the archive has %zu", b,
                             bounds[b].objective, a->n_obj);
        if (!isfinite(bounds[b].limit))
            return eco_error(ECO_STATUS_EINVAL, "pareto best: bound on %s is %g (not finite)",
                             a->names[bounds[b].objective], bounds[b].limit);
    }
    size_t m = a->n_obj, best = a->n;
    for (size_t i = 0; i < a->n; i++) {
        const double *v = a->vals + i * m;
        bool ok = true;
        for (size_t b = 0; b < n_bounds && ok; b++)
            ok = within(a->dirs[bounds[b].objective], v[bounds[b].objective], bounds[b].limit);
        /* Members are in id order: a strict improvement only, so ties keep the smaller id. */
        if (ok && (best == a->n ||
                   better(a->dirs[objective], v[objective], a->vals[best * m + objective])))
            best = i;
    }
    if (best < a->n) {
        *index = best;
        return ECO_STATUS_OK;
    }
    if (a->n == 0)
        return eco_error(ECO_STATUS_ENOTFOUND, "pareto best: none (the archive is empty)");
    /* none: say what was asked (n_bounds > 0 here: without bounds every member fits). */
    eco_buf msg = {0};
    bool okb = eco_buf_printf(&msg, "pareto best: none of the %zu members has", a->n);
    for (size_t b = 0; b < n_bounds && okb; b++) {
        size_t j = bounds[b].objective;
        okb = eco_buf_printf(&msg, "%s %s %s %g", b ? "," : "", a->names[j],
                             a->dirs[j] == ECO_PARETO_DIR_MIN ? "<=" : ">=", bounds[b].limit);
    }
    eco_status st =
        okb ? eco_error(ECO_STATUS_ENOTFOUND, "%s (best %s: none)", msg.data, a->names[objective])
            : eco_error(ECO_STATUS_ENOTFOUND, "pareto best: none fits");
    eco_buf_free(&msg);
    return st;
}

eco_status eco_pareto_select(const eco_pareto *a, eco_rng *rng, size_t k, size_t *index) {
    if (!a || !rng || !index) return eco_error(ECO_STATUS_EINVAL, "pareto select: NULL argument");
    if (a->n == 0) return eco_error(ECO_STATUS_EINVAL, "pareto select: the archive is empty");
    if (k == 0) return eco_error(ECO_STATUS_EINVAL, "pareto select: k must be at least 1");
    size_t *rank = eco_calloc_array(a->n, sizeof *rank); /* [n] all 0: one front */
    double *dist = eco_malloc_array(a->n, sizeof *dist); /* [n] */
    eco_status st = ECO_STATUS_OK;
    if (!rank || !dist) st = eco_error(ECO_STATUS_ENOMEM, "pareto select: out of memory");
    if (!st) st = eco_pareto_crowding(a->n_obj, a->vals, a->n, rank, dist);
    if (!st) st = eco_pareto_tournament(rank, dist, a->n, k, rng, index);
    free(rank);
    free(dist);
    return st;
}

eco_status eco_pareto_scalar(const eco_pareto *a, const double *weights, size_t index,
                             double *out) {
    if (!a || !weights || !out) return eco_error(ECO_STATUS_EINVAL, "pareto scalar: NULL argument");
    if (index >= a->n)
        return eco_error(ECO_STATUS_EINVAL, "pareto scalar: member %zu, the archive has %zu", index,
                         a->n);
    size_t m = a->n_obj;
    for (size_t j = 0; j < m; j++)
        if (!isfinite(weights[j]) || weights[j] < 0)
            return eco_error(ECO_STATUS_EINVAL,
                             "pareto scalar: weight of %s is %g (need finite, >= 0)", a->names[j],
                             weights[j]);
    double sum = 0;
    for (size_t j = 0; j < m; j++) {
        double lo = a->vals[j], hi = a->vals[j];
        for (size_t i = 1; i < a->n; i++) {
            double v = a->vals[i * m + j];
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        if (!(hi > lo)) continue;
        /* Finite values whose range overflows (±1e308): the same ratio on halves. */
        double h = isfinite(hi - lo) ? 1.0 : 0.5, v = a->vals[index * m + j] * h;
        lo *= h, hi *= h;
        double t = a->dirs[j] == ECO_PARETO_DIR_MAX ? (v - lo) / (hi - lo) : (hi - v) / (hi - lo);
        sum += weights[j] * t;
    }
    *out = sum;
    return ECO_STATUS_OK;
}
