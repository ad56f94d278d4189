/*
 * The sparsifiers of the task-vector merges (merge.h), in place on one delta:
 * magnitude (TIES), random (DARE), breadcrumbs, della. The random ones draw entry i's keep
 * from the counter RNG (seed, stream, i), or read it from an explicit mask, so the result
 * does not depend on the thread count (the loops over entries or rows are split across the
 * OpenMP team; per-entry draws and integer counts are order-free, and the L1 norms are the
 * fixed-chunk reductions of merge_reduce.c).
 */
#include "merge_internal.h"

#include <stdlib.h>

int64_t eco_sparsify_magnitude(float *d, int64_t n, double density) {
    if (n <= 0) return 0;
    if (!(density < 1)) return n;
    int64_t k = density > 0 ? (int64_t)(density * (double)n) : 0;
    eco_merge_topk s = eco_merge__topk(d, NULL, n, k);
    int64_t eq = 0;
    for (int64_t i = 0; i < n; i++)
        if (!eco_merge__in_topk(&s, eco_merge__abs_key(d[i]), &eq)) d[i] = 0;
    return k;
}

/* The L1 rescale: multiply d by before/after (its L1 norms before and after masking), unless
 * either is zero (nothing to rescale). */
static void l1_rescale(float *d, int64_t n, double before) {
    double after = eco_merge__sum_abs(d, n);
    if (!(before > 0) || !(after > 0)) return;
    double scale = before / after;
#pragma omp parallel for schedule(static) if (n >= ECO_MERGE_PAR_MIN)
    for (int64_t i = 0; i < n; i++) d[i] = (float)((double)d[i] * scale);
}

int64_t eco_sparsify_random(float *d, int64_t n, double density, eco_merge_rescale rescale,
                            uint64_t seed, uint64_t stream, const uint8_t *mask) {
    if (n <= 0) return 0;
    if (!(density < 1)) return n;
    if (!(density > 0)) {
        memset(d, 0, (size_t)n * sizeof *d);
        return 0;
    }
    double before = rescale == ECO_MERGE_RESCALE_L1 ? eco_merge__sum_abs(d, n) : 0;
    uint64_t key = eco_merge__key(seed, stream);
    bool inverse = rescale != ECO_MERGE_RESCALE_L1;
    int64_t kept = 0;
#pragma omp parallel for schedule(static) reduction(+ : kept) if (n >= ECO_MERGE_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        bool keep = mask ? mask[i] != 0 : eco_merge__uniform_k(key, (uint64_t)i) < density;
        if (!keep)
            d[i] = 0;
        else {
            kept++;
            if (inverse) d[i] = (float)((double)d[i] / density);
        }
    }
    if (!inverse) l1_rescale(d, n, before);
    return kept;
}

int64_t eco_sparsify_breadcrumbs(float *d, int64_t n, double density, double gamma) {
    if (n <= 0) return 0;
    if (!(density < 1)) return n;
    int64_t target = density > 0 ? (int64_t)(density * (double)n) : 0;
    int64_t n_top = gamma > 0 ? (int64_t)(gamma * (double)n) : 0;
    if (n_top > target) n_top = target;
    eco_merge_topk big = eco_merge__topk(d, NULL, n, target);
    eco_merge_topk top = eco_merge__topk(d, NULL, n, n_top);
    int64_t eq_big = 0, eq_top = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u = eco_merge__abs_key(d[i]);
        int in_big = eco_merge__in_topk(&big, u, &eq_big); /* both walk every entry */
        int in_top = eco_merge__in_topk(&top, u, &eq_top);
        if (!in_big || in_top) d[i] = 0;
    }
    return target - n_top;
}

static int cmp_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

int64_t eco_sparsify_della(float *d, int64_t rows, int64_t cols, double density, double epsilon,
                           eco_merge_rescale rescale, uint64_t seed, uint64_t stream,
                           const uint8_t *mask) {
    if (rows <= 0 || cols <= 0) return 0;
    if (cols > (int64_t)UINT32_MAX || rows > INT64_MAX / cols) return -1;
    int64_t n = rows * cols;
    if (!(density < 1)) return n;
    if (!(density > 0)) {
        memset(d, 0, (size_t)n * sizeof *d);
        return 0;
    }
    double before = rescale == ECO_MERGE_RESCALE_L1 ? eco_merge__sum_abs(d, n) : 0;
    uint64_t key = eco_merge__key(seed, stream);
    bool inverse = rescale != ECO_MERGE_RESCALE_L1;
    int64_t kept = 0;
    int failed = 0;
#pragma omp parallel if (rows >= 2 && n >= ECO_MERGE_PAR_MIN) reduction(+ : kept, failed)
    {
        uint64_t *order = malloc((size_t)cols * sizeof *order);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            if (!order) {
                failed = 1;
                continue;
            }
            float *row = d + r * cols;
            for (int64_t j = 0; j < cols; j++)
                order[j] = ((uint64_t)eco_merge__abs_key(row[j]) << 32) | (uint64_t)j;
            qsort(order, (size_t)cols, sizeof *order, cmp_u64); /* |d| ascending, index */
            for (int64_t q = 0; q < cols; q++) {                /* q = rank − 1 */
                int64_t j = (int64_t)(order[q] & 0xffffffffu);
                double p = cols > 1
                               ? density - epsilon + 2.0 * epsilon * (double)q / (double)(cols - 1)
                               : density;
                if (p > 1) p = 1;
                int64_t i = r * cols + j;
                bool keep =
                    p > 0 && (mask ? mask[i] != 0 : eco_merge__uniform_k(key, (uint64_t)i) < p);
                if (!keep)
                    row[j] = 0;
                else {
                    kept++;
                    if (inverse) row[j] = (float)((double)row[j] / p);
                }
            }
        }
        free(order);
    }
    if (failed) return -1;
    if (!inverse) l1_rescale(d, n, before);
    return kept;
}

int64_t eco_merge__sparsify(float *d, int64_t rows, int64_t cols, const eco_merge_params *p, int m,
                            uint64_t stream, const uint8_t *mask) {
    int64_t n = rows * cols;
    uint64_t sub = eco_merge_substream(stream, (uint64_t)m);
    switch (p->method) {
        case ECO_MERGE_METHOD_TIES:
            return eco_sparsify_magnitude(d, n, p->density[m]);
        case ECO_MERGE_METHOD_DARE_LINEAR:
        case ECO_MERGE_METHOD_DARE_TIES:
            return eco_sparsify_random(d, n, p->density[m], p->rescale, p->seed, sub, mask);
        case ECO_MERGE_METHOD_BREADCRUMBS:
            return eco_sparsify_breadcrumbs(d, n, p->density[m], p->gamma);
        case ECO_MERGE_METHOD_DELLA:
            return eco_sparsify_della(d, rows, cols, p->density[m], p->epsilon, p->rescale, p->seed,
                                      sub, mask);
        default:
            return n;
    }
}
