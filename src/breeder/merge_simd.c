/*
 * The per-element spans of the task-vector merges (merge_internal.h): the TIES/weighted
 * combination of the deltas, dare's seeded coin flips and the magnitude selection's keep
 * test. Each is a scalar reference (_ref: the formula as merge_tensor.c wrote it before,
 * element by element) and a dispatcher that runs an AVX-512 (combine, dare) or AVX2
 * version where the CPU has it:
 * the same IEEE operations on each element in the same order (products, sums and
 * quotients in double, one rounding to f32; no fused multiply-add), and the same integer
 * decisions, so the same bytes (tests/test_merge.c holds each pair together on random
 * values, ±0, subnormals, infinities and NaN).
 *
 * dare's coin: keep when uniform_k(key, i) < density, uniform_k = (mix(...) >> 11) · 2⁻⁵³.
 * X = mix(...) >> 11 is an integer below 2⁵³, X · 2⁻⁵³ is exact, and scaling by 2⁵³ keeps
 * the order, so the test is X < density · 2⁵³, i.e. X < ⌈density · 2⁵³⌉ for the integer X:
 * an integer compare, no conversion to double (which AVX2 lacks for 64-bit integers).
 */
#include "merge_internal.h"

#include <math.h>
#include <stdatomic.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static bool has_consensus(eco_merge_method m) {
    return m == ECO_MERGE_METHOD_TIES || m == ECO_MERGE_METHOD_DARE_TIES ||
           m == ECO_MERGE_METHOD_DELLA;
}

/* The widest kernels the dispatchers may pick (eco_merge__set_simd_cap, a test hook). */
static atomic_int simd_cap = 2;

void eco_merge__set_simd_cap(int cap) { atomic_store(&simd_cap, cap); }

static bool avx2_ok(void) {
#if defined(__x86_64__)
    return atomic_load_explicit(&simd_cap, memory_order_relaxed) >= 1 &&
           __builtin_cpu_supports("avx2");
#else
    return false;
#endif
}

static bool avx512_ok(void) {
#if defined(__x86_64__)
    return atomic_load_explicit(&simd_cap, memory_order_relaxed) >= 2 &&
           __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
#else
    return false;
#endif
}

/* ---- combine -------------------------------------------------------------------------- */

/* What combine needs of p, computed once per span. */
typedef struct combine_k {
    int np;
    bool consensus, normalize, by_count;
    double wsum, lambda, w[ECO_MERGE_MAX_PARENTS];
} combine_k;

static combine_k combine_consts(const eco_merge_params *p) {
    combine_k k = {.np = p->n_parents,
                   .consensus = has_consensus(p->method),
                   .normalize = eco_merge_params_normalize(p),
                   .by_count = p->election == ECO_MERGE_ELECTION_COUNT,
                   .lambda = p->lambda};
    for (int m = 0; m < k.np; m++) k.wsum += p->weight[m];
    if (fabs(k.wsum) < 1e-8) k.wsum = 1;
    for (int m = 0; m < k.np; m++) k.w[m] = p->weight[m];
    return k;
}

#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=off")))
#endif
static void
combine_scalar(float *out, const float *base, const float *const *src, const bool *minus_base,
               const combine_k *k, int64_t i0, int64_t i1) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
    const int np = k->np;
    for (int64_t i = i0; i < i1; i++) {
        double u[ECO_MERGE_MAX_PARENTS], mix = 0, div = k->wsum;
        for (int m = 0; m < np; m++) {
            float dm = minus_base[m] ? src[m][i] - base[i] : src[m][i];
            u[m] = k->w[m] * (double)dm;
        }
        if (k->consensus) {
            double s = 0;
            for (int m = 0; m < np; m++)
                s += k->by_count ? (double)((u[m] > 0) - (u[m] < 0)) : u[m];
            double e = s >= 0 ? 1.0 : -1.0; /* a tie elects +1 */
            div = 0;
            for (int m = 0; m < np; m++) { /* sign(u) == e, zeros never; no branch */
                bool sel = u[m] * e > 0;
                mix += eco_merge__keep_d(sel, u[m]);
                div += eco_merge__keep_d(sel, k->w[m]);
            }
            if (div == 0) div = 1;
        } else {
            for (int m = 0; m < np; m++) mix += u[m];
        }
        if (k->normalize) mix /= div;
        out[i] = (float)((base ? (double)base[i] : 0.0) + k->lambda * mix);
    }
}

#if defined(__x86_64__)
/* combine_scalar four elements at a time. */
__attribute__((target("avx2"))) static void combine_avx2(float *out, const float *base,
                                                         const float *const *src,
                                                         const bool *minus_base, const combine_k *k,
                                                         int64_t i0, int64_t i1) {
    const int np = k->np;
    const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0),
                  lambda = _mm256_set1_pd(k->lambda), wsum = _mm256_set1_pd(k->wsum);
    int64_t i = i0;
    for (; i + 4 <= i1; i += 4) {
        __m256d u[ECO_MERGE_MAX_PARENTS], mix = zero, div = wsum;
        const __m128 b4 = base ? _mm_loadu_ps(base + i) : _mm_setzero_ps();
        for (int m = 0; m < np; m++) {
            __m128 x = _mm_loadu_ps(src[m] + i);
            if (minus_base[m]) x = _mm_sub_ps(x, b4);
            u[m] = _mm256_mul_pd(_mm256_set1_pd(k->w[m]), _mm256_cvtps_pd(x));
        }
        if (k->consensus) {
            __m256d s = zero;
            for (int m = 0; m < np; m++) {
                __m256d v = u[m];
                if (k->by_count)
                    v = _mm256_sub_pd(_mm256_and_pd(_mm256_cmp_pd(u[m], zero, _CMP_GT_OQ), one),
                                      _mm256_and_pd(_mm256_cmp_pd(u[m], zero, _CMP_LT_OQ), one));
                s = _mm256_add_pd(s, v);
            }
            /* e = s >= 0 ? 1 : -1 (NaN: -1) */
            __m256d e =
                _mm256_blendv_pd(_mm256_set1_pd(-1.0), one, _mm256_cmp_pd(s, zero, _CMP_GE_OQ));
            div = zero;
            for (int m = 0; m < np; m++) {
                __m256d sel = _mm256_cmp_pd(_mm256_mul_pd(u[m], e), zero, _CMP_GT_OQ);
                mix = _mm256_add_pd(mix, _mm256_and_pd(sel, u[m]));
                div = _mm256_add_pd(div, _mm256_and_pd(sel, _mm256_set1_pd(k->w[m])));
            }
            div = _mm256_blendv_pd(div, one, _mm256_cmp_pd(div, zero, _CMP_EQ_OQ));
        } else {
            for (int m = 0; m < np; m++) mix = _mm256_add_pd(mix, u[m]);
        }
        if (k->normalize) mix = _mm256_div_pd(mix, div);
        __m256d b = base ? _mm256_cvtps_pd(b4) : zero;
        _mm_storeu_ps(out + i, _mm256_cvtpd_ps(_mm256_add_pd(b, _mm256_mul_pd(lambda, mix))));
    }
    combine_scalar(out, base, src, minus_base, k, i, i1);
}
#endif

#if defined(__x86_64__)
/* combine_scalar eight elements at a time (AVX-512: masks for the comparisons). */
__attribute__((target("avx512f,avx512dq"))) static void
combine_avx512(float *out, const float *base, const float *const *src, const bool *minus_base,
               const combine_k *k, int64_t i0, int64_t i1) {
    const int np = k->np;
    const __m512d zero = _mm512_setzero_pd(), one = _mm512_set1_pd(1.0),
                  lambda = _mm512_set1_pd(k->lambda), wsum = _mm512_set1_pd(k->wsum);
    int64_t i = i0;
    for (; i + 8 <= i1; i += 8) {
        __m512d u[ECO_MERGE_MAX_PARENTS], mix = zero, div = wsum;
        const __m256 b8 = base ? _mm256_loadu_ps(base + i) : _mm256_setzero_ps();
        for (int m = 0; m < np; m++) {
            __m256 x = _mm256_loadu_ps(src[m] + i);
            if (minus_base[m]) x = _mm256_sub_ps(x, b8);
            u[m] = _mm512_mul_pd(_mm512_set1_pd(k->w[m]), _mm512_cvtps_pd(x));
        }
        if (k->consensus) {
            __m512d s = zero;
            for (int m = 0; m < np; m++) {
                __m512d v = u[m];
                if (k->by_count)
                    v = _mm512_sub_pd(
                        _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(u[m], zero, _CMP_GT_OQ), one),
                        _mm512_maskz_mov_pd(_mm512_cmp_pd_mask(u[m], zero, _CMP_LT_OQ), one));
                s = _mm512_add_pd(s, v);
            }
            __m512d e = _mm512_mask_mov_pd(_mm512_set1_pd(-1.0),
                                           _mm512_cmp_pd_mask(s, zero, _CMP_GE_OQ), one);
            div = zero;
            for (int m = 0; m < np; m++) {
                __mmask8 sel = _mm512_cmp_pd_mask(_mm512_mul_pd(u[m], e), zero, _CMP_GT_OQ);
                mix = _mm512_add_pd(mix, _mm512_maskz_mov_pd(sel, u[m]));
                div = _mm512_add_pd(div, _mm512_maskz_mov_pd(sel, _mm512_set1_pd(k->w[m])));
            }
            div = _mm512_mask_mov_pd(div, _mm512_cmp_pd_mask(div, zero, _CMP_EQ_OQ), one);
        } else {
            for (int m = 0; m < np; m++) mix = _mm512_add_pd(mix, u[m]);
        }
        if (k->normalize) mix = _mm512_div_pd(mix, div);
        __m512d b = base ? _mm512_cvtps_pd(b8) : zero;
        _mm256_storeu_ps(out + i, _mm512_cvtpd_ps(_mm512_add_pd(b, _mm512_mul_pd(lambda, mix))));
    }
    combine_scalar(out, base, src, minus_base, k, i, i1);
}
#endif

void eco_merge__combine_span_ref(float *out, const float *base, const float *const *src,
                                 const bool *minus_base, const eco_merge_params *p, int64_t i0,
                                 int64_t i1) {
    combine_k k = combine_consts(p);
    combine_scalar(out, base, src, minus_base, &k, i0, i1);
}

void eco_merge__combine_span(float *out, const float *base, const float *const *src,
                             const bool *minus_base, const eco_merge_params *p, int64_t i0,
                             int64_t i1) {
    combine_k k = combine_consts(p);
#if defined(__x86_64__)
    if (avx512_ok()) {
        combine_avx512(out, base, src, minus_base, &k, i0, i1);
        return;
    }
    if (avx2_ok()) {
        combine_avx2(out, base, src, minus_base, &k, i0, i1);
        return;
    }
#endif
    combine_scalar(out, base, src, minus_base, &k, i0, i1);
}

/* ---- dare's coin flips ---------------------------------------------------------------- */

int64_t eco_merge__dare_span_ref(float *d, const float *a, const float *b, int64_t n, uint64_t key,
                                 int64_t at, double density, bool inverse) {
    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++) {
        float x = b ? a[i] - b[i] : a[i];
        bool keep = eco_merge__uniform_k(key, (uint64_t)(at + i)) < density;
        float v = inverse ? (float)((double)x / density) : x;
        d[i] = eco_merge__keep_f(keep, v);
        kept += keep;
    }
    return kept;
}

#if defined(__x86_64__)
/* The low 64 bits of a · b, lane by lane (b_hi: b >> 32 in every lane). */
__attribute__((target("avx2"))) static inline __m256i mul64(__m256i a, __m256i b, __m256i b_hi) {
    __m256i lo = _mm256_mul_epu32(a, b);
    __m256i cross =
        _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), b), _mm256_mul_epu32(a, b_hi));
    return _mm256_add_epi64(lo, _mm256_slli_epi64(cross, 32));
}

/* eco_merge__mix on four lanes. */
__attribute__((target("avx2"))) static inline __m256i mix4(__m256i z) {
    const __m256i c1 = _mm256_set1_epi64x((long long)0xbf58476d1ce4e5b9ULL),
                  c1h = _mm256_set1_epi64x((long long)(0xbf58476d1ce4e5b9ULL >> 32)),
                  c2 = _mm256_set1_epi64x((long long)0x94d049bb133111ebULL),
                  c2h = _mm256_set1_epi64x((long long)(0x94d049bb133111ebULL >> 32));
    z = _mm256_add_epi64(z, _mm256_set1_epi64x((long long)0x9e3779b97f4a7c15ULL));
    z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), c1, c1h);
    z = mul64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), c2, c2h);
    return _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
}

__attribute__((target("avx2"))) static int64_t dare_avx2(float *d, const float *a, const float *b,
                                                         int64_t n, uint64_t key, int64_t at,
                                                         double density, bool inverse) {
    const uint64_t gamma = 0x9e3779b97f4a7c15ULL;
    /* keep ⇔ X < lim (the header's reasoning); density in (0, 1) here, so lim ≤ 2⁵³ */
    const double lim_d = ceil(density * 0x1.0p53);
    const __m256i lim = _mm256_set1_epi64x((long long)lim_d);
    const __m256d vden = _mm256_set1_pd(density);
    const __m256i step = _mm256_set1_epi64x((long long)(4 * gamma));
    uint64_t z0 = key + (uint64_t)at * gamma;
    __m256i z = _mm256_set_epi64x((long long)(z0 + 3 * gamma), (long long)(z0 + 2 * gamma),
                                  (long long)(z0 + gamma), (long long)z0);
    int64_t kept = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 x = _mm_loadu_ps(a + i);
        if (b) x = _mm_sub_ps(x, _mm_loadu_ps(b + i));
        __m256i xs = _mm256_srli_epi64(mix4(z), 11);
        z = _mm256_add_epi64(z, step);
        __m256i keep64 = _mm256_cmpgt_epi64(lim, xs); /* both below 2⁶³: signed is fine */
        /* the four 64-bit masks to four 32-bit ones: the low halves, in order */
        __m128i keep32 = _mm256_castsi256_si128(
            _mm256_permutevar8x32_epi32(keep64, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7)));
        __m128 v = inverse ? _mm256_cvtpd_ps(_mm256_div_pd(_mm256_cvtps_pd(x), vden)) : x;
        _mm_storeu_ps(d + i, _mm_and_ps(_mm_castsi128_ps(keep32), v));
        kept += __builtin_popcount((unsigned)_mm_movemask_ps(_mm_castsi128_ps(keep32)));
    }
    return kept + eco_merge__dare_span_ref(d + i, a + i, b ? b + i : NULL, n - i, key, at + i,
                                           density, inverse);
}
#endif

#if defined(__x86_64__)
/* dare_avx2 eight lanes at a time, with AVX-512's 64-bit multiply. */
__attribute__((target("avx512f,avx512dq"))) static int64_t
dare_avx512(float *d, const float *a, const float *b, int64_t n, uint64_t key, int64_t at,
            double density, bool inverse) {
    const uint64_t gamma = 0x9e3779b97f4a7c15ULL;
    const __m512i lim = _mm512_set1_epi64((long long)ceil(density * 0x1.0p53));
    const __m512i c1 = _mm512_set1_epi64((long long)0xbf58476d1ce4e5b9ULL),
                  c2 = _mm512_set1_epi64((long long)0x94d049bb133111ebULL),
                  g = _mm512_set1_epi64((long long)gamma),
                  step = _mm512_set1_epi64((long long)(8 * gamma));
    const __m512d vden = _mm512_set1_pd(density);
    uint64_t z0 = key + (uint64_t)at * gamma;
    __m512i z = _mm512_add_epi64(_mm512_set1_epi64((long long)z0),
                                 _mm512_mullo_epi64(_mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7), g));
    int64_t kept = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(a + i);
        if (b) x = _mm256_sub_ps(x, _mm256_loadu_ps(b + i));
        __m512i y = _mm512_add_epi64(z, g); /* eco_merge__mix */
        y = _mm512_mullo_epi64(_mm512_xor_si512(y, _mm512_srli_epi64(y, 30)), c1);
        y = _mm512_mullo_epi64(_mm512_xor_si512(y, _mm512_srli_epi64(y, 27)), c2);
        y = _mm512_srli_epi64(_mm512_xor_si512(y, _mm512_srli_epi64(y, 31)), 11);
        z = _mm512_add_epi64(z, step);
        __mmask8 keep = _mm512_cmplt_epu64_mask(y, lim);
        __m256 v = inverse ? _mm512_cvtpd_ps(_mm512_div_pd(_mm512_cvtps_pd(x), vden)) : x;
        _mm256_storeu_ps(d + i, _mm512_castps512_ps256(_mm512_maskz_mov_ps(
                                    (__mmask16)keep, _mm512_castps256_ps512(v))));
        kept += __builtin_popcount((unsigned)keep);
    }
    return kept + eco_merge__dare_span_ref(d + i, a + i, b ? b + i : NULL, n - i, key, at + i,
                                           density, inverse);
}
#endif

int64_t eco_merge__dare_span(float *d, const float *a, const float *b, int64_t n, uint64_t key,
                             int64_t at, double density, bool inverse) {
#if defined(__x86_64__)
    if (avx512_ok() && density > 0 && density < 1)
        return dare_avx512(d, a, b, n, key, at, density, inverse);
    if (avx2_ok() && density > 0 && density < 1)
        return dare_avx2(d, a, b, n, key, at, density, inverse);
#endif
    return eco_merge__dare_span_ref(d, a, b, n, key, at, density, inverse);
}

/* ---- the magnitude selection's keep --------------------------------------------------- */

int64_t eco_merge__cut_span_ref(float *d, const float *a, const float *b, int64_t n,
                                const eco_merge_cut *big, const eco_merge_cut *top, int64_t at) {
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) {
        float v = b ? a[i] - b[i] : a[i];
        uint32_t u = eco_merge__abs_key(v);
        int keep = eco_merge__in_cut(big, u, at + i) & !eco_merge__in_cut(top, u, at + i);
        d[i] = eco_merge__keep_f(keep, v);
        c += keep;
    }
    return c;
}

#if defined(__x86_64__)
/* eco_merge__in_cut on eight keys u of indices at .. at + 7. */
__attribute__((target("avx2"))) static inline __m256i in_cut8(const eco_merge_cut *c, __m256i u,
                                                              int64_t at) {
    if (c->k <= 0) return _mm256_setzero_si256();
    if (c->k >= c->n) return _mm256_set1_epi32(-1);
    const __m256i thr = _mm256_set1_epi32((int)c->thr); /* keys and thr below 2³¹ */
    __m256i gt = _mm256_cmpgt_epi32(u, thr), eq = _mm256_cmpeq_epi32(u, thr);
    int64_t room = c->last - at; /* lanes 0 .. room have index <= last */
    int lanes = room < 0 ? 0 : room >= 7 ? 8 : (int)room + 1;
    __m256i upto =
        _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_or_si256(gt, _mm256_and_si256(eq, upto));
}

__attribute__((target("avx2"))) static int64_t cut_avx2(float *d, const float *a, const float *b,
                                                        int64_t n, const eco_merge_cut *big,
                                                        const eco_merge_cut *top, int64_t at) {
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff);
    int64_t c = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(a + i);
        if (b) v = _mm256_sub_ps(v, _mm256_loadu_ps(b + i));
        __m256i u = _mm256_and_si256(_mm256_castps_si256(v), abs_mask);
        __m256i keep = _mm256_andnot_si256(in_cut8(top, u, at + i), in_cut8(big, u, at + i));
        _mm256_storeu_ps(d + i, _mm256_and_ps(_mm256_castsi256_ps(keep), v));
        c += __builtin_popcount((unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(keep)));
    }
    return c + eco_merge__cut_span_ref(d + i, a + i, b ? b + i : NULL, n - i, big, top, at + i);
}
#endif

int64_t eco_merge__cut_span(float *d, const float *a, const float *b, int64_t n,
                            const eco_merge_cut *big, const eco_merge_cut *top, int64_t at) {
#if defined(__x86_64__)
    if (avx2_ok()) return cut_avx2(d, a, b, n, big, top, at);
#endif
    return eco_merge__cut_span_ref(d, a, b, n, big, top, at);
}
