/* Dominance, fast non-dominated sorting, crowding distance and the crowded tournament of
 * NSGA-II (Deb, Pratap, Agarwal, Meyarivan 2002), on plain [n, m] arrays. */
#include "ecology/pareto.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool eco_pareto_dominates(const eco_pareto_objective *obj, size_t m, const double *a,
                          const double *b) {
    bool better = false;
    for (size_t j = 0; j < m; j++) {
        if (a[j] == b[j]) continue;
        bool a_better = obj[j].dir == ECO_PARETO_DIR_MAX ? a[j] > b[j] : a[j] < b[j];
        if (!a_better) return false;
        better = true;
    }
    return better;
}

static eco_status check_values(size_t m, const double *values, size_t n, const char *what) {
    if (m < 1 || m > ECO_PARETO_MAX_OBJECTIVES)
        return eco_error(ECO_STATUS_EINVAL, "%s: %zu objectives, expected 1..%d", what, m,
                         ECO_PARETO_MAX_OBJECTIVES);
    if (n > 0 && !values) return eco_error(ECO_STATUS_EINVAL, "%s: NULL values", what);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            if (!isfinite(values[i * m + j]))
                return eco_error(ECO_STATUS_EINVAL,
                                 "%s: point %zu objective %zu is %g (not finite)", what, i, j,
                                 values[i * m + j]);
    return ECO_STATUS_OK;
}

eco_status eco_pareto_rank(const eco_pareto_objective *obj, size_t m, const double *values,
                           size_t n, size_t *rank) {
    eco_status st = check_values(m, values, n, "pareto rank");
    if (st) return st;
    if (n == 0) return ECO_STATUS_OK;
    if (!obj || !rank) return eco_error(ECO_STATUS_EINVAL, "pareto rank: NULL argument");
    /* S_p, the points p dominates, in one CSR layout: count first, then fill. */
    size_t *count = eco_calloc_array(n, sizeof *count); /* [n] how many dominate p */
    size_t *start =
        eco_calloc_array(n + 1, sizeof *start);         /* [n+1] S_p = set[start[p]..start[p+1]) */
    size_t *front = eco_malloc_array(n, sizeof *front); /* [n] the current front, then the next */
    size_t *next = eco_malloc_array(n, sizeof *next);   /* [n] */
    size_t *set = NULL;
    if (!count || !start || !front || !next) {
        st = eco_error(ECO_STATUS_ENOMEM, "pareto rank: out of memory for %zu points", n);
        goto done;
    }
    size_t total = 0;
    for (size_t p = 0; p < n; p++) {
        for (size_t q = 0; q < n; q++) {
            if (q == p) continue;
            if (eco_pareto_dominates(obj, m, values + p * m, values + q * m)) {
                start[p + 1]++;
                total++;
            } else if (eco_pareto_dominates(obj, m, values + q * m, values + p * m)) {
                count[p]++;
            }
        }
    }
    for (size_t p = 0; p < n; p++) start[p + 1] += start[p];
    set = eco_malloc_array(total ? total : 1, sizeof *set); /* [total] */
    if (!set) {
        st = eco_error(ECO_STATUS_ENOMEM, "pareto rank: out of memory for %zu dominations", total);
        goto done;
    }
    /* The second pass fills S_p in order; next[] serves as the fill cursor. */
    for (size_t p = 0; p < n; p++) {
        size_t k = start[p];
        for (size_t q = 0; q < n; q++)
            if (q != p && eco_pareto_dominates(obj, m, values + p * m, values + q * m))
                set[k++] = q;
    }
    size_t nf = 0;
    for (size_t p = 0; p < n; p++)
        if (count[p] == 0) {
            rank[p] = 0;
            front[nf++] = p;
        }
    for (size_t r = 1; nf > 0; r++) {
        size_t nn = 0;
        for (size_t i = 0; i < nf; i++) {
            size_t p = front[i];
            for (size_t k = start[p]; k < start[p + 1]; k++) {
                size_t q = set[k];
                if (--count[q] == 0) {
                    rank[q] = r;
                    next[nn++] = q;
                }
            }
        }
        memcpy(front, next, nn * sizeof *front);
        nf = nn;
    }
done:
    free(count), free(start), free(front), free(next), free(set);
    return st;
}

eco_status eco_pareto_crowding(size_t m, const double *values, size_t n, const size_t *rank,
                               double *dist) {
    eco_status st = check_values(m, values, n, "pareto crowding");
    if (st) return st;
    if (n == 0) return ECO_STATUS_OK;
    if (!rank || !dist) return eco_error(ECO_STATUS_EINVAL, "pareto crowding: NULL argument");
    size_t *members = eco_malloc_array(n, sizeof *members); /* [n] points of the current front */
    eco_keyed *k = eco_malloc_array(n, sizeof *k);          /* [n] the front along one objective */
    bool *done = eco_calloc_array(n, sizeof *done);         /* [n] point's front handled */
    if (!members || !k || !done) {
        free(members), free(k), free(done);
        return eco_error(ECO_STATUS_ENOMEM, "pareto crowding: out of memory for %zu points", n);
    }
    for (size_t i = 0; i < n; i++) dist[i] = 0;
    for (size_t s = 0; s < n; s++) {
        if (done[s]) continue;
        size_t nf = 0;
        for (size_t i = s; i < n; i++)
            if (rank[i] == rank[s]) {
                members[nf++] = i;
                done[i] = true;
            }
        for (size_t j = 0; j < m; j++) {
            for (size_t t = 0; t < nf; t++)
                k[t] = (eco_keyed){values[members[t] * m + j], members[t]};
            qsort(k, nf, sizeof *k, eco_cmp_keyed);
            dist[k[0].i] = INFINITY;
            dist[k[nf - 1].i] = INFINITY;
            double range = k[nf - 1].v - k[0].v;
            if (!(range > 0)) continue;
            /* Finite values whose range overflows (±1e308): the same ratio on halves. */
            double h = isfinite(range) ? 1.0 : 0.5;
            range = k[nf - 1].v * h - k[0].v * h;
            for (size_t t = 1; t + 1 < nf; t++)
                dist[k[t].i] += (k[t + 1].v * h - k[t - 1].v * h) / range;
        }
    }
    free(members), free(k), free(done);
    return ECO_STATUS_OK;
}

/* Whether point a wins against b under the crowded comparison. */
static bool crowded_better(const size_t *rank, const double *dist, size_t a, size_t b) {
    if (rank[a] != rank[b]) return rank[a] < rank[b];
    if (dist[a] != dist[b]) return dist[a] > dist[b];
    return a < b;
}

/* Uniform in [0, n) from rng (n >= 1). */
static size_t draw(eco_rng *rng, size_t n) {
    size_t i = (size_t)(eco_rng_uniform(rng) * (double)n);
    return i < n ? i : n - 1;
}

eco_status eco_pareto_tournament(const size_t *rank, const double *dist, size_t n, size_t k,
                                 eco_rng *rng, size_t *winner) {
    if (!rank || !dist || !rng || !winner)
        return eco_error(ECO_STATUS_EINVAL, "pareto tournament: NULL argument");
    if (n == 0) return eco_error(ECO_STATUS_EINVAL, "pareto tournament: no points to choose from");
    if (k == 0) return eco_error(ECO_STATUS_EINVAL, "pareto tournament: k must be at least 1");
    size_t best = draw(rng, n);
    for (size_t t = 1; t < k; t++) {
        size_t c = draw(rng, n);
        if (crowded_better(rank, dist, c, best)) best = c;
    }
    *winner = best;
    return ECO_STATUS_OK;
}
