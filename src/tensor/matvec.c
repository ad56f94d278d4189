/*
 * y[N] = W[N,K] · x[K] for f32, bf16 or f16 W: the decode path, bound by memory
 * bandwidth (every weight byte is read once per token), so the aim is to stream W at the
 * machine's read bandwidth: OpenMP splits the rows into one contiguous static range per
 * thread; each thread walks four rows at a time (four independent read streams, x loaded
 * once per chunk for all four) with two accumulators per row. 16-bit weights are widened
 * in registers (bf16: zero-extend and shift left 16; f16: F16C vcvtph2ps), never in
 * memory.
 *
 * The AVX2/FMA path is chosen at run time; the portable path is plain C with several
 * accumulators per row so that the compiler can keep the loop pipelined.
 */
#include "ecology/tensor.h"

#include "tensor/matvec_internal.h"
#include "tensor/simd_math.h"

#include <omp.h>
#include <stdatomic.h>
#include <string.h>

#if ECO_HAVE_X86_SIMD
#include <immintrin.h>
#endif

/* Below this many weights a parallel region costs more than it saves. */
#define MATVEC_PARALLEL_MIN ((int64_t)1 << 15)

/* Software prefetch of the next 4-row block while this one is summed (see the AVX2 body). */
#ifndef MATVEC_PREFETCH
#define MATVEC_PREFETCH 1
#endif

static inline float load_w(const void *W, eco_dtype t, size_t i) {
    switch (t) {
        case ECO_DTYPE_BF16:
            return eco_bf16_to_f32(((const uint16_t *)W)[i]);
        case ECO_DTYPE_F16:
            return eco_f16_to_f32(((const uint16_t *)W)[i]);
        default:
            return ((const float *)W)[i];
    }
}

/* ---- portable path ------------------------------------------------------------------ */

static void rows_portable(float *y, const void *W, eco_dtype t, const float *x, int64_t r0,
                          int64_t r1, int64_t K) {
    for (int64_t r = r0; r < r1; r++) {
        size_t base = (size_t)r * (size_t)K;
        float a0 = 0.f, a1 = 0.f, a2 = 0.f, a3 = 0.f;
        int64_t k = 0;
        if (t == ECO_DTYPE_F32) {
            const float *w = (const float *)W + base;
            for (; k + 4 <= K; k += 4) {
                a0 += w[k] * x[k];
                a1 += w[k + 1] * x[k + 1];
                a2 += w[k + 2] * x[k + 2];
                a3 += w[k + 3] * x[k + 3];
            }
        } else if (t == ECO_DTYPE_BF16) {
            const uint16_t *w = (const uint16_t *)W + base;
            for (; k + 4 <= K; k += 4) {
                a0 += eco_bf16_to_f32(w[k]) * x[k];
                a1 += eco_bf16_to_f32(w[k + 1]) * x[k + 1];
                a2 += eco_bf16_to_f32(w[k + 2]) * x[k + 2];
                a3 += eco_bf16_to_f32(w[k + 3]) * x[k + 3];
            }
        }
        for (; k < K; k++) a0 += load_w(W, t, base + (size_t)k) * x[k];
        y[r] = (a0 + a1) + (a2 + a3);
    }
}

/* q8_0 rows: per 32-column block s = Σ q·x (four partial sums), then acc += d·s. Row r
 * starts (K/32)·34 bytes after row r−1. */
static void rows_portable_q8_0(float *y, const uint8_t *W, const float *x, int64_t r0, int64_t r1,
                               int64_t K) {
    const int64_t nb = K / ECO_Q8_0_BLOCK;
    const size_t row = (size_t)nb * ECO_Q8_0_BLOCK_BYTES;
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *w = W + (size_t)r * row;
        float acc = 0.f;
        for (int64_t b = 0; b < nb; b++, w += ECO_Q8_0_BLOCK_BYTES) {
            uint16_t dh;
            memcpy(&dh, w, 2);
            const int8_t *q = (const int8_t *)(w + 2);
            const float *xb = x + b * ECO_Q8_0_BLOCK;
            float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
            for (int j = 0; j < ECO_Q8_0_BLOCK; j += 4) {
                s0 += (float)q[j] * xb[j];
                s1 += (float)q[j + 1] * xb[j + 1];
                s2 += (float)q[j + 2] * xb[j + 2];
                s3 += (float)q[j + 3] * xb[j + 3];
            }
            acc += eco_f16_to_f32(dh) * ((s0 + s1) + (s2 + s3));
        }
        y[r] = acc;
    }
}

/* ---- AVX2 + FMA (+ F16C) path ------------------------------------------------------- */

#if ECO_HAVE_X86_SIMD

#define LOAD8_F32(p) _mm256_loadu_ps((const float *)(p))
#define LOAD8_BF16(p)                                                                              \
    _mm256_castsi256_ps(_mm256_slli_epi32(                                                         \
        _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(p))), 16))
#define LOAD8_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(p)))

/* One body per dtype: ELEM is the element type, LOAD8 widens 8 elements to f32. */
#define DEFINE_ROWS_AVX2(NAME, ELEM, LOAD8, SCALAR)                                                \
    ECO_TARGET_AVX2 static void NAME(float *y, const ELEM *W, const float *x, int64_t r0,          \
                                     int64_t r1, int64_t K) {                                      \
        int64_t r = r0;                                                                            \
        for (; r + 4 <= r1; r += 4) {                                                              \
            const ELEM *w0 = W + (size_t)r * (size_t)K;                                            \
            const ELEM *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;                                   \
            __m256 a0 = _mm256_setzero_ps(), b0 = _mm256_setzero_ps();                             \
            __m256 a1 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();                             \
            __m256 a2 = _mm256_setzero_ps(), b2 = _mm256_setzero_ps();                             \
            __m256 a3 = _mm256_setzero_ps(), b3 = _mm256_setzero_ps();                             \
            /* prefetch the same columns of the next block's rows, 4 rows ahead, as        \
             * non-temporal (see prefetch_ahead) */       \
            const bool pf_on = MATVEC_PREFETCH && r + 8 <= r1;                                     \
            const char *pf = pf_on ? (const char *)(w3 + K) : NULL;                                \
            const size_t pf_row = (size_t)K * sizeof(ELEM);                                        \
            int64_t k = 0;                                                                         \
            for (; k + 16 <= K; k += 16) {                                                         \
                if (pf_on) {                                                                       \
                    const char *p = pf + (size_t)k * sizeof(ELEM);                                 \
                    _mm_prefetch(p, _MM_HINT_NTA);                                                 \
                    _mm_prefetch(p + pf_row, _MM_HINT_NTA);                                        \
                    _mm_prefetch(p + 2 * pf_row, _MM_HINT_NTA);                                    \
                    _mm_prefetch(p + 3 * pf_row, _MM_HINT_NTA);                                    \
                }                                                                                  \
                __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);               \
                a0 = _mm256_fmadd_ps(LOAD8(w0 + k), x0, a0);                                       \
                b0 = _mm256_fmadd_ps(LOAD8(w0 + k + 8), x1, b0);                                   \
                a1 = _mm256_fmadd_ps(LOAD8(w1 + k), x0, a1);                                       \
                b1 = _mm256_fmadd_ps(LOAD8(w1 + k + 8), x1, b1);                                   \
                a2 = _mm256_fmadd_ps(LOAD8(w2 + k), x0, a2);                                       \
                b2 = _mm256_fmadd_ps(LOAD8(w2 + k + 8), x1, b2);                                   \
                a3 = _mm256_fmadd_ps(LOAD8(w3 + k), x0, a3);                                       \
                b3 = _mm256_fmadd_ps(LOAD8(w3 + k + 8), x1, b3);                                   \
            }                                                                                      \
            for (; k + 8 <= K; k += 8) {                                                           \
                __m256 x0 = _mm256_loadu_ps(x + k);                                                \
                a0 = _mm256_fmadd_ps(LOAD8(w0 + k), x0, a0);                                       \
                a1 = _mm256_fmadd_ps(LOAD8(w1 + k), x0, a1);                                       \
                a2 = _mm256_fmadd_ps(LOAD8(w2 + k), x0, a2);                                       \
                a3 = _mm256_fmadd_ps(LOAD8(w3 + k), x0, a3);                                       \
            }                                                                                      \
            float s0 = hsum8(_mm256_add_ps(a0, b0)), s1 = hsum8(_mm256_add_ps(a1, b1));            \
            float s2 = hsum8(_mm256_add_ps(a2, b2)), s3 = hsum8(_mm256_add_ps(a3, b3));            \
            for (; k < K; k++) {                                                                   \
                float xk = x[k];                                                                   \
                s0 += SCALAR(w0[k]) * xk;                                                          \
                s1 += SCALAR(w1[k]) * xk;                                                          \
                s2 += SCALAR(w2[k]) * xk;                                                          \
                s3 += SCALAR(w3[k]) * xk;                                                          \
            }                                                                                      \
            y[r] = s0;                                                                             \
            y[r + 1] = s1;                                                                         \
            y[r + 2] = s2;                                                                         \
            y[r + 3] = s3;                                                                         \
        }                                                                                          \
        for (; r < r1; r++) {                                                                      \
            const ELEM *w0 = W + (size_t)r * (size_t)K;                                            \
            __m256 a0 = _mm256_setzero_ps(), b0 = _mm256_setzero_ps();                             \
            int64_t k = 0;                                                                         \
            for (; k + 16 <= K; k += 16) {                                                         \
                a0 = _mm256_fmadd_ps(LOAD8(w0 + k), _mm256_loadu_ps(x + k), a0);                   \
                b0 = _mm256_fmadd_ps(LOAD8(w0 + k + 8), _mm256_loadu_ps(x + k + 8), b0);           \
            }                                                                                      \
            for (; k + 8 <= K; k += 8)                                                             \
                a0 = _mm256_fmadd_ps(LOAD8(w0 + k), _mm256_loadu_ps(x + k), a0);                   \
            float s0 = hsum8(_mm256_add_ps(a0, b0));                                               \
            for (; k < K; k++) s0 += SCALAR(w0[k]) * x[k];                                         \
            y[r] = s0;                                                                             \
        }                                                                                          \
    }

#define SCALAR_F32(v) (v)
DEFINE_ROWS_AVX2(rows_avx2_f32, float, LOAD8_F32, SCALAR_F32)
DEFINE_ROWS_AVX2(rows_avx2_bf16, uint16_t, LOAD8_BF16, eco_bf16_to_f32)
DEFINE_ROWS_AVX2(rows_avx2_f16, uint16_t, LOAD8_F16, eco_f16_to_f32)

/* bf16 with fewer instructions: 16 bf16 weights are one 256-bit load; in each 32-bit lane
 * the low half is element 2j and the high half element 2j+1, so `lane << 16` is element 2j
 * as f32 and `lane & 0xffff0000` is element 2j+1, with no zero-extension. x is permuted
 * once per call to match (xp[16c + j] = x[16c + 2j], xp[16c + 8 + j] = x[16c + 2j + 1]).
 * Rows of at most BF16_XP_MAX columns; longer rows take the generic kernel. */
#define BF16_XP_MAX 8192

/* x permuted for the pair kernels in blocks of `block` (16 for AVX2, 32 for AVX-512):
 * xp[c + j] = x[c + 2j] and xp[c + block/2 + j] = x[c + 2j + 1] for j < block/2, over the
 * whole blocks of K (the kernels take the last K % block columns from x itself). */
static void bf16_pair_permute(float *xp, const float *x, int64_t K, int block) {
    const int64_t Kb = K - K % block, half = block / 2;
    for (int64_t c = 0; c < Kb; c += block)
        for (int64_t j = 0; j < half; j++) {
            xp[c + j] = x[c + 2 * j];
            xp[c + half + j] = x[c + 2 * j + 1];
        }
}

/* xp: x permuted by bf16_pair_permute (shared by every matrix of one call). */
ECO_TARGET_AVX2 static void rows_avx2_bf16_pair(float *y, const uint16_t *W, const float *xp,
                                                const float *x, int64_t r0, int64_t r1, int64_t K) {
    const int64_t K16 = K & ~(int64_t)15;
    const __m256i hi_mask = _mm256_set1_epi32((int)0xffff0000u);
#define BF16_EVEN(v) _mm256_castsi256_ps(_mm256_slli_epi32((v), 16))
#define BF16_ODD(v)  _mm256_castsi256_ps(_mm256_and_si256((v), hi_mask))
#define LOAD16(p)    _mm256_loadu_si256((const __m256i *)(const void *)(p))
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        const uint16_t *w0 = W + (size_t)r * (size_t)K;
        const uint16_t *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
        const bool pf_on = MATVEC_PREFETCH && r + 8 <= r1;
        const char *pf = pf_on ? (const char *)(w3 + K) : NULL;
        const size_t pf_row = (size_t)K * sizeof(uint16_t);
        __m256 a0 = _mm256_setzero_ps(), b0 = _mm256_setzero_ps();
        __m256 a1 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
        __m256 a2 = _mm256_setzero_ps(), b2 = _mm256_setzero_ps();
        __m256 a3 = _mm256_setzero_ps(), b3 = _mm256_setzero_ps();
        for (int64_t k = 0; k < K16; k += 16) {
            if (pf_on && (k & 31) == 0) { /* one 64-byte line per row every 32 columns */
                const char *p = pf + (size_t)k * sizeof(uint16_t);
                _mm_prefetch(p, _MM_HINT_NTA);
                _mm_prefetch(p + pf_row, _MM_HINT_NTA);
                _mm_prefetch(p + 2 * pf_row, _MM_HINT_NTA);
                _mm_prefetch(p + 3 * pf_row, _MM_HINT_NTA);
            }
            __m256 xe = _mm256_loadu_ps(xp + k), xo = _mm256_loadu_ps(xp + k + 8);
            __m256i v0 = LOAD16(w0 + k), v1 = LOAD16(w1 + k);
            __m256i v2 = LOAD16(w2 + k), v3 = LOAD16(w3 + k);
            a0 = _mm256_fmadd_ps(BF16_EVEN(v0), xe, a0);
            b0 = _mm256_fmadd_ps(BF16_ODD(v0), xo, b0);
            a1 = _mm256_fmadd_ps(BF16_EVEN(v1), xe, a1);
            b1 = _mm256_fmadd_ps(BF16_ODD(v1), xo, b1);
            a2 = _mm256_fmadd_ps(BF16_EVEN(v2), xe, a2);
            b2 = _mm256_fmadd_ps(BF16_ODD(v2), xo, b2);
            a3 = _mm256_fmadd_ps(BF16_EVEN(v3), xe, a3);
            b3 = _mm256_fmadd_ps(BF16_ODD(v3), xo, b3);
        }
        float s0 = hsum8(_mm256_add_ps(a0, b0)), s1 = hsum8(_mm256_add_ps(a1, b1));
        float s2 = hsum8(_mm256_add_ps(a2, b2)), s3 = hsum8(_mm256_add_ps(a3, b3));
        for (int64_t k = K16; k < K; k++) {
            float xk = x[k];
            s0 += eco_bf16_to_f32(w0[k]) * xk;
            s1 += eco_bf16_to_f32(w1[k]) * xk;
            s2 += eco_bf16_to_f32(w2[k]) * xk;
            s3 += eco_bf16_to_f32(w3[k]) * xk;
        }
        y[r] = s0;
        y[r + 1] = s1;
        y[r + 2] = s2;
        y[r + 3] = s3;
    }
    for (; r < r1; r++) {
        const uint16_t *w0 = W + (size_t)r * (size_t)K;
        __m256 a0 = _mm256_setzero_ps(), b0 = _mm256_setzero_ps();
        for (int64_t k = 0; k < K16; k += 16) {
            __m256i v0 = LOAD16(w0 + k);
            a0 = _mm256_fmadd_ps(BF16_EVEN(v0), _mm256_loadu_ps(xp + k), a0);
            b0 = _mm256_fmadd_ps(BF16_ODD(v0), _mm256_loadu_ps(xp + k + 8), b0);
        }
        float s0 = hsum8(_mm256_add_ps(a0, b0));
        for (int64_t k = K16; k < K; k++) s0 += eco_bf16_to_f32(w0[k]) * x[k];
        y[r] = s0;
    }
#undef BF16_EVEN
#undef BF16_ODD
#undef LOAD16
}

/* q8_0, four rows at a time as the kernels above (x loaded once per block for all four):
 * each block's 32 int8 are sign-extended and converted to f32 in registers (never widened
 * in memory), p = Σ q·x over the block in one ymm, then acc += d·p. */
#define Q8_0_SCALE(blk) _mm256_set1_ps(_cvtsh_ss(*(const uint16_t *)(const void *)(blk)))
#define Q8_0_Q8(blk, j)                                                                            \
    _mm256_cvtepi32_ps(                                                                            \
        _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)((blk) + 2 + (j)))))
ECO_TARGET_AVX2 static inline __m256 q8_0_block_dot_avx2(const uint8_t *blk, __m256 x0, __m256 x1,
                                                         __m256 x2, __m256 x3) {
    __m256 p = _mm256_mul_ps(Q8_0_Q8(blk, 0), x0);
    p = _mm256_fmadd_ps(Q8_0_Q8(blk, 8), x1, p);
    p = _mm256_fmadd_ps(Q8_0_Q8(blk, 16), x2, p);
    return _mm256_fmadd_ps(Q8_0_Q8(blk, 24), x3, p);
}

ECO_TARGET_AVX2 static void rows_avx2_q8_0(float *y, const uint8_t *W, const float *x, int64_t r0,
                                           int64_t r1, int64_t K) {
    const int64_t nb = K / ECO_Q8_0_BLOCK;
    const size_t row = (size_t)nb * ECO_Q8_0_BLOCK_BYTES;
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
        const uint8_t *w0 = W + (size_t)r * row;
        const uint8_t *w1 = w0 + row, *w2 = w1 + row, *w3 = w2 + row;
        const bool pf_on = MATVEC_PREFETCH && r + 8 <= r1;
        const char *pf = pf_on ? (const char *)(w3 + row) : NULL;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const size_t o = (size_t)b * ECO_Q8_0_BLOCK_BYTES;
            if (pf_on && (b & 1) == 0) { /* 68 bytes a row every two blocks */
                _mm_prefetch(pf + o, _MM_HINT_NTA);
                _mm_prefetch(pf + o + row, _MM_HINT_NTA);
                _mm_prefetch(pf + o + 2 * row, _MM_HINT_NTA);
                _mm_prefetch(pf + o + 3 * row, _MM_HINT_NTA);
            }
            const float *xb = x + b * ECO_Q8_0_BLOCK;
            const __m256 x0 = _mm256_loadu_ps(xb), x1 = _mm256_loadu_ps(xb + 8);
            const __m256 x2 = _mm256_loadu_ps(xb + 16), x3 = _mm256_loadu_ps(xb + 24);
            a0 = _mm256_fmadd_ps(q8_0_block_dot_avx2(w0 + o, x0, x1, x2, x3), Q8_0_SCALE(w0 + o),
                                 a0);
            a1 = _mm256_fmadd_ps(q8_0_block_dot_avx2(w1 + o, x0, x1, x2, x3), Q8_0_SCALE(w1 + o),
                                 a1);
            a2 = _mm256_fmadd_ps(q8_0_block_dot_avx2(w2 + o, x0, x1, x2, x3), Q8_0_SCALE(w2 + o),
                                 a2);
            a3 = _mm256_fmadd_ps(q8_0_block_dot_avx2(w3 + o, x0, x1, x2, x3), Q8_0_SCALE(w3 + o),
                                 a3);
        }
        y[r] = hsum8(a0);
        y[r + 1] = hsum8(a1);
        y[r + 2] = hsum8(a2);
        y[r + 3] = hsum8(a3);
    }
    for (; r < r1; r++) {
        const uint8_t *w0 = W + (size_t)r * row;
        __m256 a0 = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = w0 + (size_t)b * ECO_Q8_0_BLOCK_BYTES;
            const float *xb = x + b * ECO_Q8_0_BLOCK;
            const __m256 p =
                q8_0_block_dot_avx2(blk, _mm256_loadu_ps(xb), _mm256_loadu_ps(xb + 8),
                                    _mm256_loadu_ps(xb + 16), _mm256_loadu_ps(xb + 24));
            a0 = _mm256_fmadd_ps(p, Q8_0_SCALE(blk), a0);
        }
        y[r] = hsum8(a0);
    }
}

/* ---- AVX-512 (F + BW) path ---------------------------------------------------------- */

/* One row at a time, so each thread reads its rows as a single contiguous stream, with a
 * software prefetch MATVEC_PF_AHEAD bytes ahead of the loads (one per 64-byte line, never
 * past row pf_r1: the end of the thread's rows, or of the rows the caller will read next).
 * Four interleaved row streams, the AVX2 shape, fall well short of the read bandwidth for
 * bf16: rows of 576 bf16 are 18 lines, too short for the hardware prefetcher to lock onto
 * four at once. One stream with the prefetch ahead is faster for both bf16 and f32
 * (bench_kernels; figures in the README). Four accumulators per row
 * (64 columns a step), a 16-wide step for the rest, then a scalar tail; every row is
 * summed the same way whatever the split, so any row split gives the same bits. */
#ifndef MATVEC_PF_AHEAD
#define MATVEC_PF_AHEAD 4096
#endif

/* Prefetches the lines of [p + MATVEC_PF_AHEAD, … + bytes) that lie before `end`, as
 * non-temporal (PREFETCHNTA): each weight line is read once per token, and a line fetched
 * so does not displace the caches' other contents on its way out (on Zen every line the
 * L2 evicts is written into the L3). Against _MM_HINT_T0 the streaming phases of a decode
 * step take less time (per-phase timers and bench_inference; figures in the README). The
 * AVX2 kernels' prefetches are non-temporal for the same reason, and bench_kernels with
 * ECO_SIMD_CAP=1 shows the same gain. */
static inline void prefetch_ahead(const void *p, size_t bytes, uintptr_t end) {
    if (!MATVEC_PREFETCH) return;
    const uintptr_t a = (uintptr_t)p + MATVEC_PF_AHEAD;
    for (size_t o = 0; o < bytes; o += 64)
        if (a + o < end) _mm_prefetch((const char *)(a + o), _MM_HINT_NTA);
}

#define LOAD16_F32(p) _mm512_loadu_ps((const float *)(p))
#define LOAD16_F16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(p)))

#define DEFINE_ROWS_AVX512(NAME, ELEM, LOAD16, SCALAR)                                             \
    ECO_TARGET_AVX512 static void NAME(float *y, const ELEM *W, const float *x, int64_t r0,        \
                                       int64_t r1, int64_t pf_r1, int64_t K) {                     \
        const uintptr_t end = (uintptr_t)(W + (size_t)pf_r1 * (size_t)K);                          \
        for (int64_t r = r0; r < r1; r++) {                                                        \
            const ELEM *w = W + (size_t)r * (size_t)K;                                             \
            __m512 a0 = _mm512_setzero_ps(), b0 = _mm512_setzero_ps();                             \
            __m512 a1 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();                             \
            int64_t k = 0;                                                                         \
            for (; k + 64 <= K; k += 64) {                                                         \
                prefetch_ahead(w + k, 64 * sizeof(ELEM), end);                                     \
                a0 = _mm512_fmadd_ps(LOAD16(w + k), _mm512_loadu_ps(x + k), a0);                   \
                b0 = _mm512_fmadd_ps(LOAD16(w + k + 16), _mm512_loadu_ps(x + k + 16), b0);         \
                a1 = _mm512_fmadd_ps(LOAD16(w + k + 32), _mm512_loadu_ps(x + k + 32), a1);         \
                b1 = _mm512_fmadd_ps(LOAD16(w + k + 48), _mm512_loadu_ps(x + k + 48), b1);         \
            }                                                                                      \
            for (; k + 16 <= K; k += 16)                                                           \
                a0 = _mm512_fmadd_ps(LOAD16(w + k), _mm512_loadu_ps(x + k), a0);                   \
            float s =                                                                              \
                _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, b0), _mm512_add_ps(a1, b1))); \
            for (; k < K; k++) s += SCALAR(w[k]) * x[k];                                           \
            y[r] = s;                                                                              \
        }                                                                                          \
    }

DEFINE_ROWS_AVX512(rows_avx512_f32, float, LOAD16_F32, SCALAR_F32)
DEFINE_ROWS_AVX512(rows_avx512_f16, uint16_t, LOAD16_F16, eco_f16_to_f32)

/* bf16, the pair trick of rows_avx2_bf16_pair at 512 bits: 32 bf16 weights are one zmm
 * load; `lane << 16` is element 2j, `lane & 0xffff0000` element 2j+1 (exact widening, no
 * rounding of x). x is permuted in blocks of 32 by bf16_pair_permute. One row at a time
 * as above, 64 columns (two zmm of weights) a step. */
ECO_TARGET_AVX512 static void rows_avx512_bf16_pair(float *y, const uint16_t *W, const float *xp,
                                                    const float *x, int64_t r0, int64_t r1,
                                                    int64_t pf_r1, int64_t K) {
    const __m512i hi_mask = _mm512_set1_epi32((int)0xffff0000u);
    const uintptr_t end = (uintptr_t)(W + (size_t)pf_r1 * (size_t)K);
#define BF16_EVEN(v) _mm512_castsi512_ps(_mm512_slli_epi32((v), 16))
#define BF16_ODD(v)  _mm512_castsi512_ps(_mm512_and_si512((v), hi_mask))
#define LOAD32(p)    _mm512_loadu_si512((const void *)(p))
    for (int64_t r = r0; r < r1; r++) {
        const uint16_t *w = W + (size_t)r * (size_t)K;
        __m512 a0 = _mm512_setzero_ps(), b0 = _mm512_setzero_ps();
        __m512 a1 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
        int64_t k = 0;
        for (; k + 64 <= K; k += 64) {
            prefetch_ahead(w + k, 64 * sizeof(uint16_t), end);
            __m512i v0 = LOAD32(w + k), v1 = LOAD32(w + k + 32);
            a0 = _mm512_fmadd_ps(BF16_EVEN(v0), _mm512_loadu_ps(xp + k), a0);
            b0 = _mm512_fmadd_ps(BF16_ODD(v0), _mm512_loadu_ps(xp + k + 16), b0);
            a1 = _mm512_fmadd_ps(BF16_EVEN(v1), _mm512_loadu_ps(xp + k + 32), a1);
            b1 = _mm512_fmadd_ps(BF16_ODD(v1), _mm512_loadu_ps(xp + k + 48), b1);
        }
        for (; k + 32 <= K; k += 32) {
            __m512i v0 = LOAD32(w + k);
            a0 = _mm512_fmadd_ps(BF16_EVEN(v0), _mm512_loadu_ps(xp + k), a0);
            b0 = _mm512_fmadd_ps(BF16_ODD(v0), _mm512_loadu_ps(xp + k + 16), b0);
        }
        float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, b0), _mm512_add_ps(a1, b1)));
        for (; k < K; k++) s += eco_bf16_to_f32(w[k]) * x[k];
        y[r] = s;
    }
#undef BF16_EVEN
#undef BF16_ODD
#undef LOAD32
}

/* rows_avx512_bf16_pair for four vectors at once: each 64 columns of a row are loaded and
 * split into even and odd halves once, then multiplied into each vector's own four
 * accumulators exactly as the one-vector kernel does (same lanes, same order, same
 * reduction and tail), so every output has that kernel's bits. No prefetch: the caller
 * has the rows in cache (a block read for several vectors). */
ECO_TARGET_AVX512 static void rows_avx512_bf16_pair4(float *const *ys, const uint16_t *W,
                                                     const float *const *xps,
                                                     const float *const *xs, int64_t r0, int64_t r1,
                                                     int64_t K) {
    const __m512i hi_mask = _mm512_set1_epi32((int)0xffff0000u);
#define BF16_EVEN(v) _mm512_castsi512_ps(_mm512_slli_epi32((v), 16))
#define BF16_ODD(v)  _mm512_castsi512_ps(_mm512_and_si512((v), hi_mask))
#define LOAD32(p)    _mm512_loadu_si512((const void *)(p))
    const float *p0 = xps[0], *p1 = xps[1], *p2 = xps[2], *p3 = xps[3];
    for (int64_t r = r0; r < r1; r++) {
        const uint16_t *w = W + (size_t)r * (size_t)K;
        __m512 a00 = _mm512_setzero_ps(), b00 = a00, a10 = a00, b10 = a00;
        __m512 a01 = a00, b01 = a00, a11 = a00, b11 = a00;
        __m512 a02 = a00, b02 = a00, a12 = a00, b12 = a00;
        __m512 a03 = a00, b03 = a00, a13 = a00, b13 = a00;
        int64_t k = 0;
        for (; k + 64 <= K; k += 64) {
            const __m512i v0 = LOAD32(w + k), v1 = LOAD32(w + k + 32);
            const __m512 e0 = BF16_EVEN(v0), o0 = BF16_ODD(v0);
            const __m512 e1 = BF16_EVEN(v1), o1 = BF16_ODD(v1);
#define STEP64(a0, b0, a1, b1, xp)                                                                 \
    a0 = _mm512_fmadd_ps(e0, _mm512_loadu_ps((xp) + k), a0);                                       \
    b0 = _mm512_fmadd_ps(o0, _mm512_loadu_ps((xp) + k + 16), b0);                                  \
    a1 = _mm512_fmadd_ps(e1, _mm512_loadu_ps((xp) + k + 32), a1);                                  \
    b1 = _mm512_fmadd_ps(o1, _mm512_loadu_ps((xp) + k + 48), b1)
            STEP64(a00, b00, a10, b10, p0);
            STEP64(a01, b01, a11, b11, p1);
            STEP64(a02, b02, a12, b12, p2);
            STEP64(a03, b03, a13, b13, p3);
#undef STEP64
        }
        for (; k + 32 <= K; k += 32) {
            const __m512i v0 = LOAD32(w + k);
            const __m512 e0 = BF16_EVEN(v0), o0 = BF16_ODD(v0);
#define STEP32(a0, b0, xp)                                                                         \
    a0 = _mm512_fmadd_ps(e0, _mm512_loadu_ps((xp) + k), a0);                                       \
    b0 = _mm512_fmadd_ps(o0, _mm512_loadu_ps((xp) + k + 16), b0)
            STEP32(a00, b00, p0);
            STEP32(a01, b01, p1);
            STEP32(a02, b02, p2);
            STEP32(a03, b03, p3);
#undef STEP32
        }
        float s[4] = {
            _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a00, b00), _mm512_add_ps(a10, b10))),
            _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a01, b01), _mm512_add_ps(a11, b11))),
            _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a02, b02), _mm512_add_ps(a12, b12))),
            _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a03, b03), _mm512_add_ps(a13, b13)))};
        for (int v = 0; v < 4; v++) {
            float sv = s[v];
            const float *x = xs[v];
            for (int64_t kk = k; kk < K; kk++) sv += eco_bf16_to_f32(w[kk]) * x[kk];
            ys[v][r] = sv;
        }
    }
#undef BF16_EVEN
#undef BF16_ODD
#undef LOAD32
}

/* q8_0, one row at a time with the prefetch ahead as above: a block's 32 int8 are two
 * sign-extending converts to 16 f32 lanes each, p = q·x over the block, acc += d·p; two
 * accumulators (even and odd blocks). */
#define Q8_0_Q16(blk, j)                                                                           \
    _mm512_cvtepi32_ps(                                                                            \
        _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)((blk) + 2 + (j)))))
#define Q8_0_SCALE16(blk) _mm512_set1_ps(_cvtsh_ss(*(const uint16_t *)(const void *)(blk)))
ECO_TARGET_AVX512 static inline __m512 q8_0_block_dot_avx512(const uint8_t *blk, const float *xb) {
    const __m512 p = _mm512_mul_ps(Q8_0_Q16(blk, 0), _mm512_loadu_ps(xb));
    return _mm512_fmadd_ps(Q8_0_Q16(blk, 16), _mm512_loadu_ps(xb + 16), p);
}

ECO_TARGET_AVX512 static void rows_avx512_q8_0(float *y, const uint8_t *W, const float *x,
                                               int64_t r0, int64_t r1, int64_t pf_r1, int64_t K) {
    const int64_t nb = K / ECO_Q8_0_BLOCK;
    const size_t row = (size_t)nb * ECO_Q8_0_BLOCK_BYTES;
    const uintptr_t end = (uintptr_t)(W + (size_t)pf_r1 * row);
    for (int64_t r = r0; r < r1; r++) {
        const uint8_t *w = W + (size_t)r * row;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
        int64_t b = 0;
        for (; b + 2 <= nb; b += 2) {
            const uint8_t *blk = w + (size_t)b * ECO_Q8_0_BLOCK_BYTES;
            prefetch_ahead(blk, 2 * ECO_Q8_0_BLOCK_BYTES, end);
            const float *xb = x + b * ECO_Q8_0_BLOCK;
            a0 = _mm512_fmadd_ps(q8_0_block_dot_avx512(blk, xb), Q8_0_SCALE16(blk), a0);
            a1 = _mm512_fmadd_ps(
                q8_0_block_dot_avx512(blk + ECO_Q8_0_BLOCK_BYTES, xb + ECO_Q8_0_BLOCK),
                Q8_0_SCALE16(blk + ECO_Q8_0_BLOCK_BYTES), a1);
        }
        if (b < nb) {
            const uint8_t *blk = w + (size_t)b * ECO_Q8_0_BLOCK_BYTES;
            a0 = _mm512_fmadd_ps(q8_0_block_dot_avx512(blk, x + b * ECO_Q8_0_BLOCK),
                                 Q8_0_SCALE16(blk), a0);
        }
        y[r] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    }
}

#endif /* ECO_HAVE_X86_SIMD */

/* Widest kernel the dispatchers may pick (eco_matvec_set_simd_cap, a test hook; simd.h). */
atomic_int eco_simd_cap = 2;

void eco_matvec_set_simd_cap(int cap) {
    atomic_store_explicit(&eco_simd_cap, cap, memory_order_relaxed);
}

/* 0 portable, 1 AVX2/FMA/F16C, 2 AVX-512 F+BW. */
int eco_simd_level(void) {
    const int cap = atomic_load_explicit(&eco_simd_cap, memory_order_relaxed);
    if (cap >= 2 && eco_cpu_has_avx512()) return 2;
    if (cap >= 1 && eco_cpu_has_avx2_fma()) return 1;
    return 0;
}

/* Rows [r0, r1) of y = W·x on this thread. xp: x permuted for the bf16 pair kernel of this
 * level, or NULL when the caller has not made it (then bf16 takes the generic kernel). */
static void matvec_rows(float *y, const void *W, eco_dtype t, const float *x, const float *xp,
                        int64_t r0, int64_t r1, int64_t pf_r1, int64_t K, int level) {
#if ECO_HAVE_X86_SIMD
    if (level >= 2) {
        switch (t) {
            case ECO_DTYPE_F32:
                rows_avx512_f32(y, (const float *)W, x, r0, r1, pf_r1, K);
                return;
            case ECO_DTYPE_BF16:
                if (xp) {
                    rows_avx512_bf16_pair(y, (const uint16_t *)W, xp, x, r0, r1, pf_r1, K);
                    return;
                }
                break; /* the AVX2 generic bf16 kernel below */
            case ECO_DTYPE_F16:
                rows_avx512_f16(y, (const uint16_t *)W, x, r0, r1, pf_r1, K);
                return;
            case ECO_DTYPE_Q8_0:
                rows_avx512_q8_0(y, (const uint8_t *)W, x, r0, r1, pf_r1, K);
                return;
            default:
                break;
        }
    }
    if (level >= 1) {
        switch (t) {
            case ECO_DTYPE_F32:
                rows_avx2_f32(y, (const float *)W, x, r0, r1, K);
                return;
            case ECO_DTYPE_BF16:
                if (xp && level == 1)
                    rows_avx2_bf16_pair(y, (const uint16_t *)W, xp, x, r0, r1, K);
                else
                    rows_avx2_bf16(y, (const uint16_t *)W, x, r0, r1, K);
                return;
            case ECO_DTYPE_F16:
                rows_avx2_f16(y, (const uint16_t *)W, x, r0, r1, K);
                return;
            case ECO_DTYPE_Q8_0:
                rows_avx2_q8_0(y, (const uint8_t *)W, x, r0, r1, K);
                return;
            default:
                break;
        }
    }
#else
    (void)level;
    (void)xp;
    (void)pf_r1;
#endif
    if (t == ECO_DTYPE_Q8_0)
        rows_portable_q8_0(y, (const uint8_t *)W, x, r0, r1, K);
    else
        rows_portable(y, W, t, x, r0, r1, K);
}

void eco_matvec_part_rows(int64_t N, int part, int nparts, int64_t *r0, int64_t *r1) {
    /* whole 4-row blocks, one contiguous range per part (a static schedule done by hand,
     * so that the kernel sees the whole range and can prefetch across blocks) */
    const int64_t nblk = N > 0 ? (N + 3) / 4 : 0;
    const int64_t b0 = nblk * part / nparts, b1 = nblk * (part + 1) / nparts;
    *r1 = b1 * 4 < N ? b1 * 4 : (N > 0 ? N : 0);
    *r0 = b0 * 4 < *r1 ? b0 * 4 : *r1;
}

void eco_matvec_multi_part(float *const *ys, const void *const *Ws, const eco_dtype *wtypes,
                           const float *x, const int64_t *Ns, int64_t K, int n, int part,
                           int nparts) {
    const int level = eco_simd_level();
#if ECO_HAVE_X86_SIMD
    float xp_buf[BF16_XP_MAX];
    const float *xp = NULL; /* permuted on first use, then shared by every bf16 matrix */
#else
    const float *xp = NULL;
#endif
    for (int i = 0; i < n; i++) {
        int64_t r0, r1;
        eco_matvec_part_rows(Ns[i], part, nparts, &r0, &r1);
        if (r0 >= r1) continue;
#if ECO_HAVE_X86_SIMD
        if (!xp && level >= 1 && wtypes[i] == ECO_DTYPE_BF16 && K <= BF16_XP_MAX) {
            if (level >= 2)
                bf16_pair_permute(xp_buf, x, K, 32);
            else
                bf16_pair_permute(xp_buf, x, K, 16);
            xp = xp_buf;
        }
#endif
        matvec_rows(ys[i], Ws[i], wtypes[i], x, xp, r0, r1, r1, K, level);
    }
}

void eco_matvec_prefetch_rows(const void *W, eco_dtype wtype, int64_t r0, int64_t r1, int64_t K) {
#if ECO_HAVE_X86_SIMD
    if (!MATVEC_PREFETCH || r1 <= r0) return;
    const size_t row = eco_dtype_row_bytes(wtype, K);
    size_t bytes = (size_t)(r1 - r0) * row;
    if (bytes > MATVEC_PF_AHEAD) bytes = MATVEC_PF_AHEAD;
    const char *p = (const char *)W + (size_t)r0 * row;
    for (size_t o = 0; o < bytes; o += 64) _mm_prefetch(p + o, _MM_HINT_NTA);
#else
    (void)W;
    (void)wtype;
    (void)r0;
    (void)r1;
    (void)K;
#endif
}

const float *eco_matvec_prep_bf16(float *xp, const float *x, int64_t K) {
#if ECO_HAVE_X86_SIMD
    _Static_assert(ECO_MATVEC_XP_MAX >= BF16_XP_MAX, "prepared-x buffer too small");
    const int level = eco_simd_level();
    if (level < 1 || K > BF16_XP_MAX) return NULL;
    if (level >= 2)
        bf16_pair_permute(xp, x, K, 32);
    else
        bf16_pair_permute(xp, x, K, 16);
    return xp;
#else
    (void)xp;
    (void)x;
    (void)K;
    return NULL;
#endif
}

void eco_matvec_rows(float *y, const void *W, eco_dtype wtype, const float *x, const float *xp,
                     int64_t r0, int64_t r1, int64_t pf_r1, int64_t K) {
    if (r0 < r1)
        matvec_rows(y, W, wtype, x, wtype == ECO_DTYPE_BF16 ? xp : NULL, r0, r1,
                    pf_r1 > r1 ? pf_r1 : r1, K, eco_simd_level());
}

void eco_matvec_rows4(float *const *ys, const void *W, eco_dtype wtype, const float *const *xs,
                      const float *const *xps, int nv, int64_t r0, int64_t r1, int64_t K) {
    if (r0 >= r1 || nv <= 0) return;
    const int level = eco_simd_level();
#if ECO_HAVE_X86_SIMD
    if (nv == 4 && level >= 2 && wtype == ECO_DTYPE_BF16 && xps[0] && xps[1] && xps[2] && xps[3]) {
        rows_avx512_bf16_pair4(ys, (const uint16_t *)W, xps, xs, r0, r1, K);
        return;
    }
#endif
    for (int v = 0; v < nv; v++)
        matvec_rows(ys[v], W, wtype, xs[v], wtype == ECO_DTYPE_BF16 ? xps[v] : NULL, r0, r1, r1, K,
                    level);
}

void eco_matvec_multi(float *const *ys, const void *const *Ws, const eco_dtype *wtypes,
                      const float *x, const int64_t *Ns, int64_t K, int n) {
    int64_t work = 0;
    for (int i = 0; i < n; i++)
        if (Ns[i] > 0) work += Ns[i] * K;
    if (work <= 0) return;
#pragma omp parallel if (work >= MATVEC_PARALLEL_MIN)
    eco_matvec_multi_part(ys, Ws, wtypes, x, Ns, K, n, omp_get_thread_num(), omp_get_num_threads());
}

void eco_matvec(float *y, const void *W, eco_dtype wtype, const float *x, int64_t N, int64_t K) {
    ECO_ASSERT(N <= 0 || K <= 0 || (y && W && x));
    eco_matvec_multi(&y, &W, &wtype, x, &N, K, 1);
}
