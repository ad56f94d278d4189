/*
 * Attention of one query (decoding), split over blocks of keys so that any number of
 * threads can share one head's keys and the result still does not depend on how many did:
 * each block gives a partial (m, l, o) with the softmax taken against the block's own
 * maximum, and eco_attend_merge rescales and sums the blocks in block order (the
 * log-sum-exp merge of flash-decoding).
 *
 * K and V are the cache's f32 or f16 rows (widened in registers, F16C). The AVX-512 path
 * (head_dim a multiple of 16) and the AVX2/FMA path (a multiple of 8), chosen at run time,
 * differ from the scalar twins only in summation order and in the vectorised expf of
 * simd_math.h.
 */
#include "ecology/tensor.h"

#include <math.h>

#include "tensor/simd_math.h"

#if ECO_HAVE_X86_SIMD
/* [Σ a0, Σ a1, …, Σ a7]: the eight horizontal sums as one vector. */
ECO_TARGET_AVX2 static inline __m256 hsum8x8(const __m256 a[8]) {
    __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
    __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
    __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                         _mm256_permute2f128_ps(u0, u1, 0x31));
}

#define KV_LOAD8_F32(p) _mm256_loadu_ps(p)
#define KV_LOAD8_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(p)))

/* S[j] = (q · K_j) · scale for j < n; returns max_j S[j]. Eight keys at a time: eight
 * independent accumulators of W lanes (VEC) over hd, each brought to 8 lanes by TO8 and
 * the eight summed together by hsum8x8; the last n % 8 keys one at a time (SUM). LOADK
 * widens W elements of K to f32. */
#define DEFINE_SCORES(NAME, TARGET, ELEM, VEC, W, ZERO, LOADF, LOADK, FMA, TO8, SUM)               \
    TARGET static float NAME(float *S, const float *q, const ELEM *K, int64_t ld, int64_t n,       \
                             int64_t hd, float scale) {                                            \
        const __m256 vs = _mm256_set1_ps(scale);                                                   \
        __m256 vmax = _mm256_set1_ps(-INFINITY);                                                   \
        int64_t j = 0;                                                                             \
        for (; j + 8 <= n; j += 8) {                                                               \
            const ELEM *k = K + j * ld;                                                            \
            VEC a[8];                                                                              \
            for (int i = 0; i < 8; i++) a[i] = ZERO();                                             \
            for (int64_t c = 0; c < hd; c += W) {                                                  \
                const VEC qc = LOADF(q + c);                                                       \
                for (int i = 0; i < 8; i++) a[i] = FMA(LOADK(k + i * ld + c), qc, a[i]);           \
            }                                                                                      \
            __m256 a8[8];                                                                          \
            for (int i = 0; i < 8; i++) a8[i] = TO8(a[i]);                                         \
            const __m256 sc = _mm256_mul_ps(hsum8x8(a8), vs);                                      \
            _mm256_storeu_ps(S + j, sc);                                                           \
            vmax = _mm256_max_ps(vmax, sc);                                                        \
        }                                                                                          \
        float mx = hmax8(vmax);                                                                    \
        for (; j < n; j++) {                                                                       \
            const ELEM *k = K + j * ld;                                                            \
            VEC a = ZERO();                                                                        \
            for (int64_t c = 0; c < hd; c += W) a = FMA(LOADK(k + c), LOADF(q + c), a);            \
            S[j] = SUM(a) * scale;                                                                 \
            if (S[j] > mx) mx = S[j];                                                              \
        }                                                                                          \
        return mx;                                                                                 \
    }

#define SAME8(v) (v)
/* the two 256-bit halves of a 512-bit accumulator added */
#define HALVES_ADDED(v)                                                                            \
    _mm256_add_ps(_mm512_castps512_ps256(v),                                                       \
                  _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)))

/* One kernel per cache element type: ELEM the element, LOAD8 widens 8 of them to f32;
 * scores_avx2_SUFFIX comes from DEFINE_SCORES. */
#define DEFINE_ATTEND_AVX2(SUFFIX, ELEM, LOAD8)                                                    \
    /* o[hd] = Σ_j S[j]·V_j, 64 columns at a time held in eight registers (hd % 64 == 0),  \
     * else accumulated in o itself. */     \
    ECO_TARGET_AVX2 static void weighted_sum_avx2_##SUFFIX(                                        \
        float *o, const float *S, const ELEM *V, int64_t ld, int64_t n, int64_t hd) {              \
        if (hd % 64 == 0) {                                                                        \
            for (int64_t c0 = 0; c0 < hd; c0 += 64) {                                              \
                __m256 a[8];                                                                       \
                for (int i = 0; i < 8; i++) a[i] = _mm256_setzero_ps();                            \
                for (int64_t j = 0; j < n; j++) {                                                  \
                    const __m256 p = _mm256_set1_ps(S[j]);                                         \
                    const ELEM *v = V + j * ld + c0;                                               \
                    for (int i = 0; i < 8; i++) a[i] = _mm256_fmadd_ps(p, LOAD8(v + 8 * i), a[i]); \
                }                                                                                  \
                for (int i = 0; i < 8; i++) _mm256_storeu_ps(o + c0 + 8 * i, a[i]);                \
            }                                                                                      \
            return;                                                                                \
        }                                                                                          \
        for (int64_t c = 0; c < hd; c += 8) _mm256_storeu_ps(o + c, _mm256_setzero_ps());          \
        for (int64_t j = 0; j < n; j++) {                                                          \
            const __m256 p = _mm256_set1_ps(S[j]);                                                 \
            const ELEM *v = V + j * ld;                                                            \
            for (int64_t c = 0; c < hd; c += 8)                                                    \
                _mm256_storeu_ps(o + c, _mm256_fmadd_ps(p, LOAD8(v + c), _mm256_loadu_ps(o + c))); \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    ECO_TARGET_AVX2 static void attend_part_avx2_##SUFFIX(                                         \
        float *o, float *m_out, float *l_out, const float *q, const ELEM *K, const ELEM *V,        \
        int64_t ld, int64_t n, int64_t hd, float scale, float *S) {                                \
        const float mx = scores_avx2_##SUFFIX(S, q, K, ld, n, hd, scale);                          \
        const float l = exp_sub_sum(S, n, mx); /* S[j] = exp(S[j] − m) */                        \
        weighted_sum_avx2_##SUFFIX(o, S, V, ld, n, hd);                                            \
        *m_out = mx;                                                                               \
        *l_out = l;                                                                                \
    }

DEFINE_SCORES(scores_avx2_f32, ECO_TARGET_AVX2, float, __m256, 8, _mm256_setzero_ps,
              _mm256_loadu_ps, KV_LOAD8_F32, _mm256_fmadd_ps, SAME8, hsum8)
DEFINE_SCORES(scores_avx2_f16, ECO_TARGET_AVX2, uint16_t, __m256, 8, _mm256_setzero_ps,
              _mm256_loadu_ps, KV_LOAD8_F16, _mm256_fmadd_ps, SAME8, hsum8)
DEFINE_ATTEND_AVX2(f32, float, KV_LOAD8_F32)
DEFINE_ATTEND_AVX2(f16, uint16_t, KV_LOAD8_F16)

/* AVX-512 twins (head_dim a multiple of 16): half the FMAs of the AVX2 kernels, faster with
 * the rows in cache (bench_kernels; figures in the README's performance section). Inside
 * decoding the phase mostly waits on the rows coming from memory, where the two kernels
 * are about even. The scores
 * sum each key's 512-bit accumulator to 256 bits and then eight keys at once with
 * hsum8x8; the weighted sum keeps two sets of accumulators (even and odd keys), so that
 * no FMA waits on the one before it. */
#define KV_LOAD16_F32(p) _mm512_loadu_ps(p)
#define KV_LOAD16_F16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)(p)))

#define DEFINE_ATTEND_AVX512(SUFFIX, ELEM, LOAD16)                                                 \
    /* o[hd] = Σ_j S[j]·V_j: 64 columns at a time in 2 × 4 registers (hd % 64 == 0), else    \
     * accumulated in o itself. */  \
    ECO_TARGET_AVX512 static void weighted_sum_avx512_##SUFFIX(                                    \
        float *o, const float *S, const ELEM *V, int64_t ld, int64_t n, int64_t hd) {              \
        if (hd % 64 == 0) {                                                                        \
            for (int64_t c0 = 0; c0 < hd; c0 += 64) {                                              \
                __m512 a[4], b[4];                                                                 \
                for (int i = 0; i < 4; i++) a[i] = b[i] = _mm512_setzero_ps();                     \
                int64_t j = 0;                                                                     \
                for (; j + 2 <= n; j += 2) {                                                       \
                    const __m512 p0 = _mm512_set1_ps(S[j]), p1 = _mm512_set1_ps(S[j + 1]);         \
                    const ELEM *v0 = V + j * ld + c0, *v1 = v0 + ld;                               \
                    for (int i = 0; i < 4; i++) {                                                  \
                        a[i] = _mm512_fmadd_ps(p0, LOAD16(v0 + 16 * i), a[i]);                     \
                        b[i] = _mm512_fmadd_ps(p1, LOAD16(v1 + 16 * i), b[i]);                     \
                    }                                                                              \
                }                                                                                  \
                if (j < n) {                                                                       \
                    const __m512 p0 = _mm512_set1_ps(S[j]);                                        \
                    const ELEM *v0 = V + j * ld + c0;                                              \
                    for (int i = 0; i < 4; i++)                                                    \
                        a[i] = _mm512_fmadd_ps(p0, LOAD16(v0 + 16 * i), a[i]);                     \
                }                                                                                  \
                for (int i = 0; i < 4; i++)                                                        \
                    _mm512_storeu_ps(o + c0 + 16 * i, _mm512_add_ps(a[i], b[i]));                  \
            }                                                                                      \
            return;                                                                                \
        }                                                                                          \
        for (int64_t c = 0; c < hd; c += 16) _mm512_storeu_ps(o + c, _mm512_setzero_ps());         \
        for (int64_t j = 0; j < n; j++) {                                                          \
            const __m512 p = _mm512_set1_ps(S[j]);                                                 \
            const ELEM *v = V + j * ld;                                                            \
            for (int64_t c = 0; c < hd; c += 16)                                                   \
                _mm512_storeu_ps(o + c,                                                            \
                                 _mm512_fmadd_ps(p, LOAD16(v + c), _mm512_loadu_ps(o + c)));       \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    ECO_TARGET_AVX512 static void attend_part_avx512_##SUFFIX(                                     \
        float *o, float *m_out, float *l_out, const float *q, const ELEM *K, const ELEM *V,        \
        int64_t ld, int64_t n, int64_t hd, float scale, float *S) {                                \
        const float mx = scores_avx512_##SUFFIX(S, q, K, ld, n, hd, scale);                        \
        const float l = exp_sub_sum(S, n, mx);                                                     \
        weighted_sum_avx512_##SUFFIX(o, S, V, ld, n, hd);                                          \
        *m_out = mx;                                                                               \
        *l_out = l;                                                                                \
    }

DEFINE_SCORES(scores_avx512_f32, ECO_TARGET_AVX512, float, __m512, 16, _mm512_setzero_ps,
              _mm512_loadu_ps, KV_LOAD16_F32, _mm512_fmadd_ps, HALVES_ADDED, _mm512_reduce_add_ps)
DEFINE_SCORES(scores_avx512_f16, ECO_TARGET_AVX512, uint16_t, __m512, 16, _mm512_setzero_ps,
              _mm512_loadu_ps, KV_LOAD16_F16, _mm512_fmadd_ps, HALVES_ADDED, _mm512_reduce_add_ps)
DEFINE_ATTEND_AVX512(f32, float, KV_LOAD16_F32)
DEFINE_ATTEND_AVX512(f16, uint16_t, KV_LOAD16_F16)

/* Each pass prefetches its stream ATTN_PF_ROWS rows ahead (into the thread's next block at
 * a block's end; past the cache's end it only wastes a few lines: a prefetch never faults,
 * and its address is made as an integer). It pays at long contexts, where the rows come
 * from memory (at 127 tokens they are in cache and it changes nothing); 32 rows ahead beat
 * 64 (README, performance). */
#ifndef ATTN_PF_ROWS
#define ATTN_PF_ROWS 32
#endif
static inline void prefetch_row(const void *X, int64_t row, int64_t ld, size_t esz,
                                size_t row_bytes) {
    const uintptr_t p = (uintptr_t)X + (size_t)row * (size_t)ld * esz;
    for (size_t b = 0; b < row_bytes; b += 64) _mm_prefetch((const char *)(p + b), _MM_HINT_T0);
}

/* G (2 to 4) query heads of one kv group over the same block of keys (grouped-query
 * attention), each K and V row widened once for all G heads: against G calls of the
 * one-head kernel, a third to a half of the loads and conversions, and G times fewer
 * calls. Scores four keys at a time, G × 4 accumulators (at most 16 zmm, with 4 for the
 * rows and 1 for q), summed two heads at a time by hsum8x8; the weighted sum 64 columns
 * at a time, G × 4 accumulators. hd % 64 == 0. Same arithmetic for any G: each head's
 * figures are summed in the same order whatever heads share the call.
 * f16 rows only: for f16 it beats one head a call both in cache and from memory; for f32
 * rows it measured slower than the one-head kernel, so f32 keeps that (bench_kernels;
 * figures in the README). */
ECO_TARGET_AVX512 static inline __attribute__((always_inline)) void
attend_group_f16_g(float *o, float *ml, const float *q, const uint16_t *K, const uint16_t *V,
                   int64_t ld, int64_t n, int64_t hd, float scale, float *S, const int G) {
    const __m256 vs = _mm256_set1_ps(scale);
    __m256 vmax[2] = {_mm256_set1_ps(-INFINITY), _mm256_set1_ps(-INFINITY)};
    const size_t rb = (size_t)hd * sizeof(uint16_t);
    int64_t j = 0;
    for (; j + 4 <= n; j += 4) {
        for (int i = 0; i < 4; i++) prefetch_row(K, j + ATTN_PF_ROWS + i, ld, sizeof(uint16_t), rb);
        __m512 acc[4][4];
        for (int g = 0; g < G; g++)
            for (int i = 0; i < 4; i++) acc[g][i] = _mm512_setzero_ps();
        for (int64_t c = 0; c < hd; c += 16) {
            __m512 k[4];
            for (int i = 0; i < 4; i++) k[i] = KV_LOAD16_F16(K + (j + i) * ld + c);
            for (int g = 0; g < G; g++) {
                const __m512 qg = _mm512_loadu_ps(q + g * hd + c);
                for (int i = 0; i < 4; i++) acc[g][i] = _mm512_fmadd_ps(k[i], qg, acc[g][i]);
            }
        }
        for (int p = 0; 2 * p < G; p++) { /* heads 2p and 2p+1: lanes 0-3 and 4-7 */
            __m256 a8[8];
            for (int i = 0; i < 4; i++) {
                a8[i] = HALVES_ADDED(acc[2 * p][i]);
                a8[4 + i] = 2 * p + 1 < G ? HALVES_ADDED(acc[2 * p + 1][i]) : _mm256_setzero_ps();
            }
            const __m256 sc = _mm256_mul_ps(hsum8x8(a8), vs);
            _mm_storeu_ps(S + 2 * p * n + j, _mm256_castps256_ps128(sc));
            if (2 * p + 1 < G) _mm_storeu_ps(S + (2 * p + 1) * n + j, _mm256_extractf128_ps(sc, 1));
            vmax[p] = _mm256_max_ps(vmax[p], sc);
        }
    }
    float mx[4];
    for (int g = 0; g < G; g++) {
        const __m128 h =
            g % 2 ? _mm256_extractf128_ps(vmax[g / 2], 1) : _mm256_castps256_ps128(vmax[g / 2]);
        float t[4];
        _mm_storeu_ps(t, h);
        mx[g] = fmaxf(fmaxf(t[0], t[1]), fmaxf(t[2], t[3]));
    }
    for (; j < n; j++)
        for (int g = 0; g < G; g++) {
            __m512 a = _mm512_setzero_ps();
            for (int64_t c = 0; c < hd; c += 16)
                a = _mm512_fmadd_ps(KV_LOAD16_F16(K + j * ld + c), _mm512_loadu_ps(q + g * hd + c),
                                    a);
            const float sc = _mm512_reduce_add_ps(a) * scale;
            S[g * n + j] = sc;
            if (sc > mx[g]) mx[g] = sc;
        }
    for (int g = 0; g < G; g++) {
        ml[2 * g] = mx[g];
        ml[2 * g + 1] = exp_sub_sum(S + g * n, n, mx[g]);
    }
    for (int64_t c0 = 0; c0 < hd; c0 += 64) {
        __m512 a[4][4];
        for (int g = 0; g < G; g++)
            for (int i = 0; i < 4; i++) a[g][i] = _mm512_setzero_ps();
        for (int64_t jj = 0; jj < n; jj++) {
            if (c0 == 0) prefetch_row(V, jj + ATTN_PF_ROWS, ld, sizeof(uint16_t), rb);
            const uint16_t *v = V + jj * ld + c0;
            __m512 vv[4];
            for (int i = 0; i < 4; i++) vv[i] = KV_LOAD16_F16(v + 16 * i);
            for (int g = 0; g < G; g++) {
                const __m512 pg = _mm512_set1_ps(S[g * n + jj]);
                for (int i = 0; i < 4; i++) a[g][i] = _mm512_fmadd_ps(pg, vv[i], a[g][i]);
            }
        }
        for (int g = 0; g < G; g++)
            for (int i = 0; i < 4; i++) _mm512_storeu_ps(o + g * hd + c0 + 16 * i, a[g][i]);
    }
}

ECO_TARGET_AVX512 static void attend_group_avx512_f16(float *o, float *ml, const float *q,
                                                      const uint16_t *K, const uint16_t *V,
                                                      int64_t ld, int64_t n, int64_t hd,
                                                      float scale, float *S, int64_t G) {
    switch (G) {
        case 2:
            attend_group_f16_g(o, ml, q, K, V, ld, n, hd, scale, S, 2);
            break;
        case 3:
            attend_group_f16_g(o, ml, q, K, V, ld, n, hd, scale, S, 3);
            break;
        default:
            attend_group_f16_g(o, ml, q, K, V, ld, n, hd, scale, S, 4);
            break;
    }
}
#endif /* ECO_HAVE_X86_SIMD */

/* Element i of K or V as f32. */
static inline float kv_at(const void *X, eco_dtype t, int64_t i) {
    return t == ECO_DTYPE_F16 ? eco_f16_to_f32(((const uint16_t *)X)[i]) : ((const float *)X)[i];
}

void eco_attend_part_ref(float *o, float *m_out, float *l_out, const float *q, const void *K,
                         const void *V, eco_dtype kvt, int64_t ld, int64_t n, int64_t hd,
                         float scale, float *S) {
    float mx = -INFINITY;
    for (int64_t j = 0; j < n; j++) {
        float s = 0.0f;
        for (int64_t c = 0; c < hd; c++) s += q[c] * kv_at(K, kvt, j * ld + c);
        S[j] = s * scale;
        if (S[j] > mx) mx = S[j];
    }
    float l = 0.0f;
    for (int64_t j = 0; j < n; j++) {
        S[j] = expf(S[j] - mx);
        l += S[j];
    }
    for (int64_t c = 0; c < hd; c++) o[c] = 0.0f;
    for (int64_t j = 0; j < n; j++)
        for (int64_t c = 0; c < hd; c++) o[c] += S[j] * kv_at(V, kvt, j * ld + c);
    *m_out = mx;
    *l_out = l;
}

void eco_attend_part(float *o, float *m_out, float *l_out, const float *q, const void *K,
                     const void *V, eco_dtype kvt, int64_t ld, int64_t n, int64_t hd, float scale,
                     float *S) {
    /* rows of K and V are ld apart and hold a head of hd values; S holds n scores */
    ECO_ASSERT(o && m_out && l_out && q && hd > 0 && ld >= hd && (n <= 0 || (K && V && S)));
    ECO_ASSERT(kvt == ECO_DTYPE_F32 || kvt == ECO_DTYPE_F16);
#if ECO_HAVE_X86_SIMD
    const int level = eco_simd_level();
    if (hd % 16 == 0 && level >= 2) {
        if (kvt == ECO_DTYPE_F16)
            attend_part_avx512_f16(o, m_out, l_out, q, K, V, ld, n, hd, scale, S);
        else
            attend_part_avx512_f32(o, m_out, l_out, q, K, V, ld, n, hd, scale, S);
        return;
    }
    if (hd % 8 == 0 && level >= 1) {
        if (kvt == ECO_DTYPE_F16)
            attend_part_avx2_f16(o, m_out, l_out, q, K, V, ld, n, hd, scale, S);
        else
            attend_part_avx2_f32(o, m_out, l_out, q, K, V, ld, n, hd, scale, S);
        return;
    }
#endif
    eco_attend_part_ref(o, m_out, l_out, q, K, V, kvt, ld, n, hd, scale, S);
}

void eco_attend_part_group_ref(float *o, float *ml, const float *q, const void *K, const void *V,
                               eco_dtype kvt, int64_t ld, int64_t n, int64_t hd, int64_t G,
                               float scale, float *S) {
    for (int64_t g = 0; g < G; g++)
        eco_attend_part_ref(o + g * hd, ml + 2 * g, ml + 2 * g + 1, q + g * hd, K, V, kvt, ld, n,
                            hd, scale, S);
}

void eco_attend_part_group(float *o, float *ml, const float *q, const void *K, const void *V,
                           eco_dtype kvt, int64_t ld, int64_t n, int64_t hd, int64_t G, float scale,
                           float *S) {
    int64_t g = 0;
#if ECO_HAVE_X86_SIMD
    if (kvt == ECO_DTYPE_F16 && hd % 64 == 0 && eco_simd_level() >= 2)
        for (; G - g >= 2; g += G - g >= 4 ? 4 : G - g) /* runs of 4, the last of 2 or 3 */
            attend_group_avx512_f16(o + g * hd, ml + 2 * g, q + g * hd, K, V, ld, n, hd, scale, S,
                                    G - g >= 4 ? 4 : G - g);
#endif
    for (; g < G; g++) /* one head a call: other CPUs and head sizes, and a lone last head */
        eco_attend_part(o + g * hd, ml + 2 * g, ml + 2 * g + 1, q + g * hd, K, V, kvt, ld, n, hd,
                        scale, S);
}

/* Non-temporal, as the matvec kernels' weights: the cache rows are read once per token. */
void eco_attend_prefetch(const void *K, const void *V, eco_dtype kvt, int64_t ld, int64_t n,
                         int64_t hd) {
#if ECO_HAVE_X86_SIMD
    const size_t esz = eco_dtype_size(kvt), bytes = (size_t)hd * esz, row = (size_t)ld * esz;
    for (int64_t j = 0; j < n; j++)
        for (size_t o = 0; o < bytes; o += 64) {
            _mm_prefetch((const char *)K + (size_t)j * row + o, _MM_HINT_NTA);
            _mm_prefetch((const char *)V + (size_t)j * row + o, _MM_HINT_NTA);
        }
#else
    (void)K;
    (void)V;
    (void)kvt;
    (void)ld;
    (void)n;
    (void)hd;
#endif
}

void eco_attend_merge(float *out, const float *o, const float *m, const float *l, int64_t nb,
                      int64_t o_stride, int64_t ml_stride, int64_t hd) {
    float mx = -INFINITY;
    for (int64_t b = 0; b < nb; b++)
        if (m[b * ml_stride] > mx) mx = m[b * ml_stride];
    float sum = 0.0f;
    for (int64_t c = 0; c < hd; c++) out[c] = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const float w = expf(m[b * ml_stride] - mx);
        const float *ob = o + b * o_stride;
        sum += w * l[b * ml_stride];
        for (int64_t c = 0; c < hd; c++) out[c] += w * ob[c];
    }
    const float inv = 1.0f / sum;
    for (int64_t c = 0; c < hd; c++) out[c] *= inv;
}
