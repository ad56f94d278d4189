/*
 * Reductions of the merges in double over fixed chunks (merge_internal.h): each chunk of
 * ECO_MERGE_CHUNK elements is summed in index order (on any thread), then the chunk sums in
 * chunk order, so the result is the same double for 1 thread or many.
 */
#include "merge_internal.h"

#include <math.h>
#include <stdlib.h>

typedef enum { SUM_ABS, SUM_SQ, DOT } sum_kind;

static double chunk_sum(sum_kind kind, const float *a, const float *b, int64_t lo, int64_t hi) {
    double s = 0;
    switch (kind) {
        case SUM_ABS:
            for (int64_t i = lo; i < hi; i++) s += fabs((double)a[i]);
            break;
        case SUM_SQ:
            for (int64_t i = lo; i < hi; i++) s += (double)a[i] * a[i];
            break;
        case DOT:
            for (int64_t i = lo; i < hi; i++) s += (double)a[i] * b[i];
            break;
    }
    return s;
}

static double chunked(sum_kind kind, const float *a, const float *b, int64_t n) {
    if (n <= 0) return 0;
    int64_t nc = (n + ECO_MERGE_CHUNK - 1) / ECO_MERGE_CHUNK;
    double *part = nc > 1 ? malloc((size_t)nc * sizeof *part) : NULL;
    double s = 0;
    if (!part) { /* one chunk, or no memory for the partials: the same sums, in order */
        for (int64_t c = 0; c < nc; c++)
            s += chunk_sum(kind, a, b, c * ECO_MERGE_CHUNK,
                           c + 1 < nc ? (c + 1) * ECO_MERGE_CHUNK : n);
        return s;
    }
#pragma omp parallel for schedule(static) if (nc >= 4)
    for (int64_t c = 0; c < nc; c++)
        part[c] =
            chunk_sum(kind, a, b, c * ECO_MERGE_CHUNK, c + 1 < nc ? (c + 1) * ECO_MERGE_CHUNK : n);
    for (int64_t c = 0; c < nc; c++) s += part[c];
    free(part);
    return s;
}

double eco_merge__sum_abs(const float *a, int64_t n) { return chunked(SUM_ABS, a, NULL, n); }
double eco_merge__sum_sq(const float *a, int64_t n) { return chunked(SUM_SQ, a, NULL, n); }
double eco_merge__dot(const float *a, const float *b, int64_t n) { return chunked(DOT, a, b, n); }
