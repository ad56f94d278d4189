/*
 * Conversions between f32 and the 16-bit float formats (bf16, IEEE binary16).
 *
 * The scalar functions are exact bit-level implementations (round to nearest even, NaN
 * kept NaN and quiet, subnormals kept). The array functions eco_to_f32 / eco_from_f32 use
 * AVX2/F16C when the CPU has them (chosen at run time; the default build has no
 * -march=native) and give the same bits as the scalar functions, NaN payloads aside.
 */
#include "ecology/tensor.h"
#include "tensor/simd.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

uint16_t eco_f32_to_bf16(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        /* NaN: keep sign and top payload bits, force the quiet bit so that a signalling
         * NaN whose payload lives only in the low 16 bits does not become inf. */
        return (uint16_t)((u >> 16) | 0x0040u);
    }
    /* Round to nearest even: add 0x7fff plus the lowest kept bit; a carry into the
     * exponent is the correct rounding (up to inf for values above bf16's max). */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float eco_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu;
    uint32_t m = h & 0x3ffu;
    if (e == 0) {
        if (m == 0) return bits_f32(sign);
        /* Subnormal: m · 2^-24. Normalise so the leading 1 sits at bit 10. */
        int32_t ex = 1;
        while (!(m & 0x400u)) {
            m <<= 1;
            ex--;
        }
        m &= 0x3ffu;
        return bits_f32(sign | ((uint32_t)(ex + 112) << 23) | (m << 13));
    }
    if (e == 31) return bits_f32(sign | 0x7f800000u | (m << 13)); /* inf or NaN */
    return bits_f32(sign | ((e + 112u) << 23) | (m << 13));
}

uint16_t eco_f32_to_f16(float f) {
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    u &= 0x7fffffffu;
    if (u >= 0x7f800000u) {
        if (u > 0x7f800000u) /* NaN: quiet, top payload bits kept */
            return (uint16_t)(sign | 0x7e00u | ((u >> 13) & 0x3ffu));
        return (uint16_t)(sign | 0x7c00u);
    }
    /* 65520 is halfway between 65504 (max f16, odd mantissa) and 65536: ties go to even,
     * which is inf. */
    if (u >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);
    if (u >= 0x38800000u) {
        /* Normal f16 (>= 2^-14): rebias the exponent (127 -> 15) and round 13 bits off. */
        uint32_t v = u - 0x38000000u;
        v += 0xfffu + ((v >> 13) & 1u);
        return (uint16_t)(sign | (v >> 13));
    }
    if (u <= 0x33000000u) return sign; /* <= 2^-25: rounds to zero (2^-25 is a tie → 0) */
    /* Subnormal f16: value = m · 2^(e-150); in units of 2^-24 that is m >> (126 - e). */
    uint32_t e = u >> 23;
    uint32_t m = (u & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e; /* 14 .. 24 */
    uint32_t r = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (r & 1u))) r++; /* r may become 0x400: min normal */
    return (uint16_t)(sign | r);
}

/* ---- array conversions ------------------------------------------------------------- */

static void bf16_to_f32_scalar(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = eco_bf16_to_f32(src[i]);
}

static void f16_to_f32_scalar(float *dst, const uint16_t *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = eco_f16_to_f32(src[i]);
}

static void f32_to_bf16_scalar(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = eco_f32_to_bf16(src[i]);
}

static void f32_to_f16_scalar(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = eco_f32_to_f16(src[i]);
}

#if defined(__x86_64__)
static bool have_avx2_f16c(void) { return __builtin_cpu_supports("avx2") && eco_cpu_has_f16c(); }

__attribute__((target("avx2"))) static void bf16_to_f32_avx2(float *dst, const uint16_t *src,
                                                             size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(src + i));
        __m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(w));
    }
    bf16_to_f32_scalar(dst + i, src + i, n - i);
}

__attribute__((target("avx2,f16c"))) static void f16_to_f32_f16c(float *dst, const uint16_t *src,
                                                                 size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(src + i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    f16_to_f32_scalar(dst + i, src + i, n - i);
}

__attribute__((target("avx2,f16c"))) static void f32_to_f16_f16c(uint16_t *dst, const float *src,
                                                                 size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(src + i);
        __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_si128((__m128i *)(dst + i), h);
    }
    f32_to_f16_scalar(dst + i, src + i, n - i);
}

/* Same rounding as eco_f32_to_bf16, eight lanes at a time. */
__attribute__((target("avx2"))) static void f32_to_bf16_avx2(uint16_t *dst, const float *src,
                                                             size_t n) {
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff);
    const __m256i inf = _mm256_set1_epi32(0x7f800000);
    const __m256i bias = _mm256_set1_epi32(0x7fff);
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i quiet = _mm256_set1_epi32(0x00400000);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i u = _mm256_castps_si256(_mm256_loadu_ps(src + i));
        __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs_mask), inf);
        __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), one);
        __m256i r = _mm256_add_epi32(u, _mm256_add_epi32(bias, lsb));
        r = _mm256_blendv_epi8(r, _mm256_or_si256(u, quiet), is_nan);
        r = _mm256_srli_epi32(r, 16);
        /* Pack 8 x u32 (each < 65536) into 8 x u16. packus works per 128-bit lane. */
        __m128i lo = _mm256_castsi256_si128(r);
        __m128i hi = _mm256_extracti128_si256(r, 1);
        _mm_storeu_si128((__m128i *)(dst + i), _mm_packus_epi32(lo, hi));
    }
    f32_to_bf16_scalar(dst + i, src + i, n - i);
}
#endif

/* The kernel to run: `fast` (AVX2/F16C) when this CPU has it, else the scalar reference.
 * Elsewhere than x86-64 `fast` is not even named, so it need not exist. */
#if defined(__x86_64__)
#define PICK_KERNEL(fast, scalar) (have_avx2_f16c() ? (fast) : (scalar))
#else
#define PICK_KERNEL(fast, scalar) (scalar)
#endif

void eco_to_f32(float *dst, const void *src, eco_dtype src_dtype, size_t n) {
    switch (src_dtype) {
        case ECO_DTYPE_F32:
            if (dst != src) memmove(dst, src, n * sizeof(float));
            return;
        case ECO_DTYPE_BF16:
            PICK_KERNEL(bf16_to_f32_avx2, bf16_to_f32_scalar)(dst, (const uint16_t *)src, n);
            return;
        case ECO_DTYPE_F16:
            PICK_KERNEL(f16_to_f32_f16c, f16_to_f32_scalar)(dst, (const uint16_t *)src, n);
            return;
        case ECO_DTYPE_Q8_0:
            eco_q8_0_dequantize_row(dst, (const uint8_t *)src, (int64_t)n);
            return;
        default:
            /* Programmer error: kernels take only float weights (the loader checks dtypes). */
            memset(dst, 0, n * sizeof(float));
            return;
    }
}

void eco_from_f32(void *dst, eco_dtype dst_dtype, const float *src, size_t n) {
    switch (dst_dtype) {
        case ECO_DTYPE_F32:
            if (dst != src) memmove(dst, src, n * sizeof(float));
            return;
        case ECO_DTYPE_BF16:
            PICK_KERNEL(f32_to_bf16_avx2, f32_to_bf16_scalar)((uint16_t *)dst, src, n);
            return;
        case ECO_DTYPE_F16:
            PICK_KERNEL(f32_to_f16_f16c, f32_to_f16_scalar)((uint16_t *)dst, src, n);
            return;
        case ECO_DTYPE_Q8_0:
            eco_q8_0_quantize_row((uint8_t *)dst, src, (int64_t)n);
            return;
        default:
            return;
    }
}
