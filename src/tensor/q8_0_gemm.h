/*
 * tensor-internal: the int8 product y[M,N] = x[M,K] · W[N,K]ᵀ for q8_0 weights (the prompt
 * path of eco_linear, M > 1), as llama.cpp does it: each activation row is quantized per
 * 32-block to int8 with an f32 scale (eco_q8_act_quantize: ggml's quantize_row_q8_0 rule,
 * q = roundf(x / d), d = amax / 127, the scale kept in f32 rather than rounded to f16), then
 * every (weight block, activation block) pair is an exact int32 dot product times dw·dx,
 * summed in f32.
 *
 * Kernels, chosen per call by eco_simd_level() (held by eco_matvec_set_simd_cap in tests):
 * AVX-512 VNNI (vpdpbusd; level 2 on a CPU with avx512vnni), AVX2 (maddubs + madd; level 1,
 * or 2 without VNNI) and portable C (level 0). They share the per-block int32 dots exactly
 * and differ only in the f32 summation order across blocks (tests: 1e-5 of Σ|dw·dx·dot|).
 */
#ifndef ECOLOGY_TENSOR_Q8_0_GEMM_H
#define ECOLOGY_TENSOR_Q8_0_GEMM_H

#include <stddef.h>
#include <stdint.h>

/* Weight rows and tokens of one register tile: the AVX-512 kernel holds 16 rows' 4-byte
 * groups in each vector lane by lane, so a block's dot for 16 rows ends in one vector. */
#define ECO_Q8G_ROWS  16
#define ECO_Q8G_TOKS  8
/* Largest K the kernels take (each thread keeps a tile of repacked weight rows on its
 * stack: ECO_Q8G_ROWS · 36 bytes per 32 columns, 72 KiB at 4096); eco_linear widens beyond
 * it. */
#define ECO_Q8G_MAX_K 4096

/* Quantized activations: M rows (padded with zero rows to Mp, a multiple of
 * ECO_Q8G_TOKS) of K columns (a multiple of 32), stored tile by tile for the kernels: for
 * token tile i (rows 8i .. 8i+7) and 32-block b, the eight rows' blocks one after the
 * other, and their scales and sums likewise:
 *   q: the int8 values, block b of row m at eco_q8_act_block(a, m, b);
 *   d: the f32 scales, eco_q8_act_scale(a, m, b) (a NaN scale marks a block with a NaN or
 *      infinity);
 *   c: −128 · (the sum of the block's int8 values), eco_q8_act_corr(a, m, b): the
 *      AVX-512 kernel multiplies weights + 128 (unsigned) by x, and starts from it. */
typedef struct eco_q8_act {
    int8_t *q;
    float *d;
    int32_t *c;
    int64_t M, Mp, K;
} eco_q8_act;

static inline int64_t eco_q8_act_at(int64_t m, int64_t b, int64_t nb) {
    return (m / ECO_Q8G_TOKS) * ECO_Q8G_TOKS * nb + b * ECO_Q8G_TOKS + m % ECO_Q8G_TOKS;
}
static inline const int8_t *eco_q8_act_block(const eco_q8_act *a, int64_t m, int64_t b) {
    return a->q + eco_q8_act_at(m, b, a->K / 32) * 32;
}
static inline float eco_q8_act_scale(const eco_q8_act *a, int64_t m, int64_t b) {
    return a->d[eco_q8_act_at(m, b, a->K / 32)];
}
static inline int32_t eco_q8_act_corr(const eco_q8_act *a, int64_t m, int64_t b) {
    return a->c[eco_q8_act_at(m, b, a->K / 32)];
}

/* Bytes eco_q8_act_init needs for M rows of K (a multiple of 32). */
size_t eco_q8_act_bytes(int64_t M, int64_t K);
/* Lays out a for M rows of K in buf (eco_q8_act_bytes(M, K) bytes, any alignment). */
void eco_q8_act_init(eco_q8_act *a, void *buf, int64_t M, int64_t K);
/* Quantizes x[M, K] (row stride K) into a (rows in parallel when large). For finite blocks
 * the int8 values are those eco_q8_0_quantize_row writes, and d is the scale before its
 * f16 rounding; a block with a NaN or an infinity gets q = 0 and d = NaN, so the products
 * it enters are NaN. */
void eco_q8_act_quantize(eco_q8_act *a, const float *x);
/* The scalar reference of one row, contiguous: q[K], d[K/32], c[K/32]. */
void eco_q8_act_quantize_row_ref(int8_t *q, float *d, int32_t *c, const float *x, int64_t K);

/* y[m, n] (row stride ldy) = Σ over 32-blocks b of dw[n,b]·dx[m,b]·dot_b (+ bias[n], may be
 * NULL), for m < a->M and n < N; W is N rows of a->K/32 q8_0 blocks. Row tiles in parallel
 * (OpenMP). */
void eco_q8_0_gemm(float *y, int64_t ldy, const eco_q8_act *a, const void *W, const float *bias,
                   int64_t N);

/* Scalar reference of the whole product from f32 activations (quantized by
 * eco_q8_act_quantize_row_ref), summed in double: y[M, N] row stride N. */
void eco_q8_0_gemm_ref(float *y, const float *x, const void *W, const float *bias, int64_t M,
                       int64_t N, int64_t K);

#endif
