/*
 * q8_0 blocks (tensor.h): the scalar reference, byte for byte ggml's quantize_row_q8_0_ref
 * and dequantize_row_q8_0.
 */
#include "ecology/tensor.h"

#include <math.h>
#include <string.h>

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

void eco_q8_0_dequantize_row(float *dst, const uint8_t *src, int64_t n) {
    for (int64_t b = 0; b < n / ECO_Q8_0_BLOCK; b++) {
        const uint8_t *blk = src + b * ECO_Q8_0_BLOCK_BYTES;
        uint16_t dh;
        memcpy(&dh, blk, 2);
        const float d = eco_f16_to_f32(dh);
        for (int j = 0; j < ECO_Q8_0_BLOCK; j++)
            dst[b * ECO_Q8_0_BLOCK + j] = d * (float)(int8_t)blk[2 + j];
    }
}
