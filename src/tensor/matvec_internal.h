/*
 * tensor-internal: the matvec pieces for callers that split rows themselves (the decode
 * step's dynamic row chunks): prepare x once for the kernels of this CPU, then compute any
 * rows [r0, r1) of y = W·x, as many times as needed, without a parallel region. Every row
 * is summed by the same kernel in the same order as eco_matvec / eco_matvec_multi_part
 * would, so any split gives the same bits.
 */
#ifndef ECOLOGY_TENSOR_MATVEC_INTERNAL_H
#define ECOLOGY_TENSOR_MATVEC_INTERNAL_H

#include "ecology/tensor.h"

/* Floats a prepared-x buffer needs for K columns (an upper bound for every dtype). */
#define ECO_MATVEC_XP_MAX 8192

/* x[K] prepared for bf16 weights on this CPU into xp (ECO_MATVEC_XP_MAX floats):
 * returns xp, or NULL when the kernels take x as it is (then pass NULL on). */
const float *eco_matvec_prep_bf16(float *xp, const float *x, int64_t K);

/* Rows [r0, r1) of y[N] = W[N, K] · x[K]; xp from eco_matvec_prep_bf16 for the same x and
 * K (or NULL). Rows up to pf_r1 (at most N; r1 or less: none) are the ones this thread
 * will most likely read next, and may be prefetched. */
void eco_matvec_rows(float *y, const void *W, eco_dtype wtype, const float *x, const float *xp,
                     int64_t r0, int64_t r1, int64_t pf_r1, int64_t K);

/* Rows [r0, r1) of ys[v][N] = W · xs[v] for nv <= 4 vectors (xps[v] prepared for xs[v]
 * as above, or NULL), each output bit for bit what eco_matvec_rows gives for that vector
 * alone; with four vectors and prepared bf16 rows on AVX-512, each weight is loaded and
 * widened once for all four. Prefetches nothing: for rows already in cache. */
void eco_matvec_rows4(float *const *ys, const void *W, eco_dtype wtype, const float *const *xs,
                      const float *const *xps, int nv, int64_t r0, int64_t r1, int64_t K);

/* Prefetches the first lines (as far as the kernels prefetch ahead) of rows [r0, r1) of
 * W[·, K]: for a thread about to wait at a barrier, the start of its rows in the next
 * product, so that the product starts streaming at once. */
void eco_matvec_prefetch_rows(const void *W, eco_dtype wtype, int64_t r0, int64_t r1, int64_t K);

#endif
