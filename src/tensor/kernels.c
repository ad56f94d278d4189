/*
 * Row and elementwise kernels of the transformer: RMSNorm, RoPE, softmax, SwiGLU, add.
 *
 * Each has a scalar twin in kernels_ref.c. The AVX2/FMA paths (chosen at run time) differ
 * from the twins only in summation order and in using a vectorised expf (Cephes
 * polynomial, about 2 ulp) instead of libm's; tests hold them to 1e-5 relative.
 * These kernels are single-threaded (they run on one row; the caller parallelises over
 * rows or heads), except eco_swiglu, which splits spans of 64K elements or more.
 */
#include "ecology/tensor.h"

#include <math.h>

#include "tensor/simd_math.h"

#if ECO_HAVE_X86_SIMD
ECO_TARGET_AVX2 static void rmsnorm_avx2(float *out, const float *x, const float *weight, int64_t n,
                                         float eps) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
        __m256 v2 = _mm256_loadu_ps(x + i + 16), v3 = _mm256_loadu_ps(x + i + 24);
        a0 = _mm256_fmadd_ps(v0, v0, a0);
        a1 = _mm256_fmadd_ps(v1, v1, a1);
        a2 = _mm256_fmadd_ps(v2, v2, a2);
        a3 = _mm256_fmadd_ps(v3, v3, a3);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 v0 = _mm256_loadu_ps(x + i);
        a0 = _mm256_fmadd_ps(v0, v0, a0);
    }
    float ss = hsum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++) ss += x[i] * x[i];
    float inv = 1.0f / sqrtf(ss / (float)n + eps);
    __m256 vinv = _mm256_set1_ps(inv);
    i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv);
        _mm256_storeu_ps(out + i, _mm256_mul_ps(v, _mm256_loadu_ps(weight + i)));
    }
    for (; i < n; i++) out[i] = (x[i] * inv) * weight[i];
}

/* max of x[n] (n >= 1) */
ECO_TARGET_AVX2 static float max_avx2(const float *x, int64_t n) {
    __m256 vm = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(x + i));
    float mx = hmax8(vm);
    for (; i < n; i++)
        if (x[i] > mx) mx = x[i];
    return mx;
}

ECO_TARGET_AVX2 static void softmax_avx2(float *x, int64_t n) {
    float inv = 1.0f / exp_sub_sum(x, n, max_avx2(x, n));
    __m256 vinv = _mm256_set1_ps(inv);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
    for (; i < n; i++) x[i] *= inv;
}

/* max of x[n], and Σ exp(x[i] − max) with 8 float lanes per block of 512 elements, the
 * blocks' sums added in double. */
ECO_TARGET_AVX2 static double logsumexp_avx2(const float *x, int64_t n) {
    const float mx = max_avx2(x, n);
    if (!isfinite(mx)) return mx; /* all −inf, or +inf/NaN present */
    const __m256 vmx = _mm256_set1_ps(mx);
    double sum = 0.0;
    int64_t i = 0;
    while (i + 8 <= n) {
        __m256 vs = _mm256_setzero_ps();
        const int64_t end = i + 512 < n ? i + 512 : n;
        for (; i + 8 <= end; i += 8)
            vs = _mm256_add_ps(vs, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmx)));
        sum += (double)hsum8(vs);
    }
    for (; i < n; i++) sum += exp((double)x[i] - mx);
    return (double)mx + log(sum);
}

ECO_TARGET_AVX2 static void swiglu_avx2(float *out, const float *gate, const float *up, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i);
        __m256 e = exp8(_mm256_xor_ps(g, sign));
        __m256 s = _mm256_div_ps(g, _mm256_add_ps(one, e));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(s, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}
#endif /* ECO_HAVE_X86_SIMD */

void eco_rmsnorm(float *out, const float *x, const float *weight, int64_t n, float eps) {
    if (n <= 0) return;
    ECO_ASSERT(out && x && weight);
#if ECO_HAVE_X86_SIMD
    if (eco_simd_avx2_ok()) {
        rmsnorm_avx2(out, x, weight, n, eps);
        return;
    }
#endif
    float s0 = 0.f, s1 = 0.f, s2 = 0.f, s3 = 0.f;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += x[i] * x[i];
        s1 += x[i + 1] * x[i + 1];
        s2 += x[i + 2] * x[i + 2];
        s3 += x[i + 3] * x[i + 3];
    }
    for (; i < n; i++) s0 += x[i] * x[i];
    float ss = (s0 + s1) + (s2 + s3);
    float inv = 1.0f / sqrtf(ss / (float)n + eps);
    for (i = 0; i < n; i++) out[i] = (x[i] * inv) * weight[i];
}

/* Elementwise on independent pairs; the plain loop vectorises as is (restrict-free because
 * a and b halves never alias within one i). */
void eco_rope(float *x, const float *cos_tab, const float *sin_tab, int64_t n_heads,
              int64_t head_dim) {
    ECO_ASSERT(head_dim % 2 == 0 && (n_heads <= 0 || (x && cos_tab && sin_tab)));
    const int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        float *restrict a = x + h * head_dim;
        float *restrict b = a + half;
        for (int64_t i = 0; i < half; i++) {
            float va = a[i], vb = b[i];
            a[i] = va * cos_tab[i] - vb * sin_tab[i];
            b[i] = vb * cos_tab[i] + va * sin_tab[i];
        }
    }
}

void eco_softmax(float *x, int64_t n) {
    if (n <= 0) return;
    ECO_ASSERT(x);
#if ECO_HAVE_X86_SIMD
    if (eco_simd_avx2_ok()) {
        softmax_avx2(x, n);
        return;
    }
#endif
    float mx = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > mx) mx = x[i];
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = 1.0f / sum;
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

double eco_logsumexp(const float *x, int64_t n) {
    if (n <= 0) return -INFINITY;
#if ECO_HAVE_X86_SIMD
    if (eco_simd_avx2_ok()) return logsumexp_avx2(x, n);
#endif
    return eco_logsumexp_ref(x, n);
}

static void swiglu_span(float *out, const float *gate, const float *up, int64_t n, bool simd) {
#if ECO_HAVE_X86_SIMD
    if (simd) {
        swiglu_avx2(out, gate, up, n);
        return;
    }
#else
    (void)simd;
#endif
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

/* The model calls this on a whole [n_tokens, f] block at once during a prompt, so large
 * spans are split over the OpenMP team (each element's result does not depend on the
 * split). */
#define SWIGLU_CHUNK ((int64_t)16384)

void eco_swiglu(float *out, const float *gate, const float *up, int64_t n) {
    if (n <= 0) return;
    const bool simd = eco_simd_avx2_ok();
    if (n < 4 * SWIGLU_CHUNK) {
        swiglu_span(out, gate, up, n, simd);
        return;
    }
    const int64_t nchunks = (n + SWIGLU_CHUNK - 1) / SWIGLU_CHUNK;
#pragma omp parallel for schedule(static)
    for (int64_t c = 0; c < nchunks; c++) {
        int64_t i0 = c * SWIGLU_CHUNK, len = n - i0 < SWIGLU_CHUNK ? n - i0 : SWIGLU_CHUNK;
        swiglu_span(out + i0, gate + i0, up + i0, len, simd);
    }
}

void eco_add_inplace(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}
