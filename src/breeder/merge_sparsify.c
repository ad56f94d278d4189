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
        d[i] = eco_merge__keep_f(eco_merge__in_topk(&s, eco_merge__abs_key(d[i]), &eq), d[i]);
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
        float v = inverse ? (float)((double)d[i] / density) : d[i];
        d[i] = eco_merge__keep_f(keep, v); /* no branch on a coin */
        kept += keep;
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
        d[i] = eco_merge__keep_f(in_big & !in_top, d[i]);
    }
    return target - n_top;
}

/* Sorts order[cols] (key << 32 | index, in index order) by key ascending, ties keeping
 * index order: a stable LSD radix sort on the key's four bytes (tmp[cols] scratch); a byte
 * that is the same in every entry is skipped. */
static void sort_row(uint64_t *order, uint64_t *tmp, int64_t cols) {
    for (int shift = 32; shift < 64; shift += 8) {
        int64_t count[257] = {0};
        for (int64_t j = 0; j < cols; j++) count[((order[j] >> shift) & 0xff) + 1]++;
        if (count[((order[0] >> shift) & 0xff) + 1] == cols) continue;
        for (int b = 0; b < 256; b++) count[b + 1] += count[b];
        for (int64_t j = 0; j < cols; j++) tmp[count[(order[j] >> shift) & 0xff]++] = order[j];
        memcpy(order, tmp, (size_t)cols * sizeof *order);
    }
}

int64_t eco_merge__della_rows(float *d, int64_t row0, int64_t rows, int64_t cols, double density,
                              double epsilon, bool inverse, uint64_t key, const uint8_t *mask) {
    int64_t n = rows * cols;
    /* the keep probability of rank q + 1, the same for every row */
    double *prob = malloc((size_t)cols * sizeof *prob);
    if (!prob) return -1;
    for (int64_t q = 0; q < cols; q++) {
        double p =
            cols > 1 ? density - epsilon + 2.0 * epsilon * (double)q / (double)(cols - 1) : density;
        prob[q] = p > 1 ? 1 : p;
    }
    int64_t kept = 0;
    int failed = 0;
#pragma omp parallel if (rows >= 2 && n >= ECO_MERGE_PAR_MIN) reduction(+ : kept, failed)
    {
        uint64_t *order = malloc(2 * (size_t)cols * sizeof *order);
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            if (!order) {
                failed = 1;
                continue;
            }
            float *row = d + r * cols;
            for (int64_t j = 0; j < cols; j++)
                order[j] = ((uint64_t)eco_merge__abs_key(row[j]) << 32) | (uint64_t)j;
            sort_row(order, order + cols, cols); /* |d| ascending, then index */
            for (int64_t q = 0; q < cols; q++) { /* q = rank − 1 */
                int64_t j = (int64_t)(order[q] & 0xffffffffu), i = r * cols + j;
                double p = prob[q];
                bool keep =
                    p > 0 && (mask ? mask[i] != 0
                                   : eco_merge__uniform_k(key, (uint64_t)(row0 * cols + i)) < p);
                float v = inverse && p > 0 ? (float)((double)row[j] / p) : row[j];
                row[j] = eco_merge__keep_f(keep, v);
                kept += keep;
            }
        }
        free(order);
    }
    free(prob);
    return failed ? -1 : kept;
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
    bool inverse = rescale != ECO_MERGE_RESCALE_L1;
    int64_t kept = eco_merge__della_rows(d, 0, rows, cols, density, epsilon, inverse,
                                         eco_merge__key(seed, stream), mask);
    if (kept < 0) return -1;
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
