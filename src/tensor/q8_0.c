/*
 * q8_0 blocks (tensor.h): quantize is the scalar reference, byte for byte ggml's
 * quantize_row_q8_0_ref (tests/test_q8_0.c holds it to bytes written by an independent
 * numpy transcription, scripts/make_q8_0_fixture.py); dequantize is ggml's
 * dequantize_row_q8_0, with an AVX2 body beside the scalar _ref (each weight is the one
 * product d·q in both, so the two give the same bits).
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
        for (int j = 0; j < ECO_Q8_0_BLOCK; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        const uint16_t dh = eco_f32_to_f16(d);
        memcpy(blk, &dh, 2); /* little-endian hosts only, as ggml */
        for (int j = 0; j < ECO_Q8_0_BLOCK; j++) {
            const int8_t q = (int8_t)roundf(x[j] * id);
            memcpy(blk + 2 + j, &q, 1);
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
