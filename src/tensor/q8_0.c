/*
 * q8_0 blocks (tensor.h): quantize is the scalar reference, byte for byte ggml's
 * quantize_row_q8_0_ref (tests/test_q8_0.c holds it to bytes written by an independent
 * numpy transcription, scripts/make_q8_0_fixture.py); dequantize is ggml's
 * dequantize_row_q8_0, with an AVX2 body beside the scalar _ref (each weight is the one
 * product d·q in both, so the two give the same bits).
 *
 * NaN and infinity: the block's amax is ggml's MAX(amax, fabsf(x)), i.e.
 * (a > b ? a : b), not fmaxf: a NaN element makes amax NaN and the next element replaces
 * it (the comparison is false both ways), so the scale is exactly ggml's for any input (a
 * NaN scale when the last element is NaN; an infinite one, with id = 0, when an infinity
 * is the largest after the last NaN). ggml's int8 conversion, roundf(x·id) stored into
 * an int8_t, is undefined behaviour in C once the value is NaN or outside [-128, 127] (a
 * NaN element, an infinite one times id = 0, any element when the scale is NaN, or a
 * finite element before a NaN larger than the amax after it); we define it as x86 does
 * for ggml's scalar code (cvttss2si to int32, the integer-indefinite 0x80000000 for NaN
 * and out-of-range values, then the low byte): q = low byte of (int32)r, so a NaN gets 0.
 * Finite blocks without NaN are unchanged (|x·id| <= 127 there).
 */
#include "ecology/tensor.h"
#include "tensor/simd.h"

#include <math.h>
#include <string.h>

#if ECO_HAVE_X86_SIMD
#include <immintrin.h>
#endif

void eco_q8_0_quantize_row(uint8_t *dst, const float *src, int64_t n) {
    for (int64_t b = 0; b < n / ECO_Q8_0_BLOCK; b++) {
        const float *x = src + b * ECO_Q8_0_BLOCK;
        uint8_t *blk = dst + b * ECO_Q8_0_BLOCK_BYTES;
        float amax = 0.0f;
        for (int j = 0; j < ECO_Q8_0_BLOCK; j++) {
            const float v = fabsf(x[j]);
            amax = amax > v ? amax : v; /* ggml's MAX, NaN included */
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t dh = eco_f32_to_f16(d);
        memcpy(blk, &dh, 2); /* little-endian hosts only, as ggml */
        for (int j = 0; j < ECO_Q8_0_BLOCK; j++) {
            const float r = roundf(x[j] * id);
            /* cvttss2si's result, then its low byte (see above): NaN gives 0 */
            const uint32_t i32 = r >= -2147483648.0f && r < 2147483648.0f ? (uint32_t)(int32_t)r
                                                                          : UINT32_C(0x80000000);
            blk[2 + j] = (uint8_t)(i32 & 0xffu);
        }
    }
}

void eco_q8_0_dequantize_row_ref(float *dst, const uint8_t *src, int64_t n) {
    for (int64_t b = 0; b < n / ECO_Q8_0_BLOCK; b++) {
        const uint8_t *blk = src + b * ECO_Q8_0_BLOCK_BYTES;
        uint16_t dh;
        memcpy(&dh, blk, 2);
        const float d = eco_f16_to_f32(dh);
        for (int j = 0; j < ECO_Q8_0_BLOCK; j++)
            dst[b * ECO_Q8_0_BLOCK + j] = d * (float)(int8_t)blk[2 + j];
    }
}

#if ECO_HAVE_X86_SIMD
ECO_TARGET_AVX2 static void dequantize_avx2(float *dst, const uint8_t *src, int64_t n) {
    for (int64_t b = 0; b < n / ECO_Q8_0_BLOCK; b++) {
        const uint8_t *blk = src + b * ECO_Q8_0_BLOCK_BYTES;
        uint16_t dh;
        memcpy(&dh, blk, 2);
        const __m256 d = _mm256_set1_ps(_cvtsh_ss(dh));
        float *o = dst + b * ECO_Q8_0_BLOCK;
        for (int j = 0; j < ECO_Q8_0_BLOCK; j += 8) {
            const __m128i q8 = _mm_loadl_epi64((const __m128i *)(const void *)(blk + 2 + j));
            const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q8));
            _mm256_storeu_ps(o + j, _mm256_mul_ps(d, q));
        }
    }
}
#endif

void eco_q8_0_dequantize_row(float *dst, const uint8_t *src, int64_t n) {
#if ECO_HAVE_X86_SIMD
    if (eco_simd_avx2_ok()) {
        dequantize_avx2(dst, src, n);
        return;
    }
#endif
    eco_q8_0_dequantize_row_ref(dst, src, n);
}
