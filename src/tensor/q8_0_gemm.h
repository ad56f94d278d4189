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

/* Weight rows and tokens of one register tile. */
#define ECO_Q8G_ROWS  4
#define ECO_Q8G_TOKS  4
/* Largest K the kernels take (each thread keeps a tile of repacked weight rows on its
 * stack: ECO_Q8G_ROWS · 1.125 · K bytes); eco_linear widens beyond it. */
#define ECO_Q8G_MAX_K 8192

/* Quantized activations: M rows (padded with zero rows to Mp, a multiple of
 * ECO_Q8G_TOKS) of K columns (padded with zero blocks to Kp, a multiple of 64), stored
 * tile by tile for the kernels: for token tile i (rows 4i .. 4i+3) and 64-column chunk c,
 * the four rows' 64 bytes one after the other, and their scales likewise:
 *   q: the int8 values plus 128 (unsigned, what vpdpbusd takes), block b of row m at
 *      eco_q8_act_block(a, m, b);
 *   d: the f32 scales, at eco_q8_act_scale(a, m, b) (a NaN scale marks a block with a
 *      NaN or infinity). */
typedef struct eco_q8_act {
    uint8_t *q;
    float *d;
    int64_t M, Mp, K, Kp;
} eco_q8_act;

static inline int64_t eco_q8_act_qoff(const eco_q8_act *a, int64_t m, int64_t b) {
    return (m / ECO_Q8G_TOKS) * ECO_Q8G_TOKS * a->Kp + (b >> 1) * 64 * ECO_Q8G_TOKS +
           (m % ECO_Q8G_TOKS) * 64 + (b & 1) * 32;
}
static inline int64_t eco_q8_act_doff(const eco_q8_act *a, int64_t m, int64_t b) {
    return (m / ECO_Q8G_TOKS) * ECO_Q8G_TOKS * (a->Kp / 32) + (b >> 1) * 2 * ECO_Q8G_TOKS +
           (m % ECO_Q8G_TOKS) * 2 + (b & 1);
}
static inline const uint8_t *eco_q8_act_block(const eco_q8_act *a, int64_t m, int64_t b) {
    return a->q + eco_q8_act_qoff(a, m, b);
}
static inline float eco_q8_act_scale(const eco_q8_act *a, int64_t m, int64_t b) {
    return a->d[eco_q8_act_doff(a, m, b)];
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
/* The scalar reference of one row, contiguous: q[Kp] (value + 128), d[Kp/32]. */
void eco_q8_act_quantize_row_ref(uint8_t *q, float *d, const float *x, int64_t K);

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
