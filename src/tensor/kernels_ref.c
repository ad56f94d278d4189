/*
 * Scalar reference twins of the kernels in kernels.c and matvec.c: the plain loops, in the
 * obvious order, kept simple so that tests can hold the optimised kernels to them.
 * Reductions accumulate in double so that the reference is the more accurate side.
 */
#include "ecology/tensor.h"

#include <math.h>
#include <string.h>

void eco_rmsnorm_ref(float *out, const float *x, const float *weight, int64_t n, float eps) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++) ss += (double)x[i] * (double)x[i];
    float mean = (float)(ss / (double)(n > 0 ? n : 1));
    float inv = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < n; i++) out[i] = (x[i] * inv) * weight[i];
}

void eco_rope_ref(float *x, const float *cos_tab, const float *sin_tab, int64_t n_heads,
                  int64_t head_dim) {
    int64_t half = head_dim / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * head_dim;
        for (int64_t i = 0; i < half; i++) {
            float a = v[i], b = v[i + half];
            v[i] = a * cos_tab[i] - b * sin_tab[i];
            v[i + half] = b * cos_tab[i] + a * sin_tab[i];
        }
    }
}

void eco_softmax_ref(float *x, int64_t n) {
    if (n <= 0) return;
    float mx = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > mx) mx = x[i];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

double eco_logsumexp_ref(const float *x, int64_t n) {
    if (n <= 0) return -INFINITY;
    float mx = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > mx) mx = x[i];
    if (!isfinite(mx)) return mx;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += exp((double)x[i] - mx);
    return (double)mx + log(sum);
}

void eco_swiglu_ref(float *out, const float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

/* Weight k of row r of a q8_0 matrix W[N, K]: d·q of its block, as the dequantizer. */
static float q8_0_at(const void *W, int64_t r, int64_t k, int64_t K) {
    const uint8_t *blk = (const uint8_t *)W + (size_t)r * eco_dtype_row_bytes(ECO_DTYPE_Q8_0, K) +
                         (size_t)(k / ECO_Q8_0_BLOCK) * ECO_Q8_0_BLOCK_BYTES;
    uint16_t dh;
    memcpy(&dh, blk, 2);
    return eco_f16_to_f32(dh) * (float)(int8_t)blk[2 + k % ECO_Q8_0_BLOCK];
}

void eco_matvec_ref(float *y, const void *W, eco_dtype wtype, const float *x, int64_t N,
                    int64_t K) {
    for (int64_t r = 0; r < N; r++) {
        double acc = 0.0;
        for (int64_t k = 0; k < K; k++) {
            size_t idx = (size_t)r * (size_t)K + (size_t)k;
            float w;
            switch (wtype) {
                case ECO_DTYPE_F32:
                    w = ((const float *)W)[idx];
                    break;
                case ECO_DTYPE_BF16:
                    w = eco_bf16_to_f32(((const uint16_t *)W)[idx]);
                    break;
                case ECO_DTYPE_F16:
                    w = eco_f16_to_f32(((const uint16_t *)W)[idx]);
                    break;
                case ECO_DTYPE_Q8_0:
                    w = q8_0_at(W, r, k, K);
                    break;
                default:
                    w = 0.0f;
                    break;
            }
            acc += (double)w * (double)x[k];
        }
        y[r] = (float)acc;
    }
}

void eco_matvec_multi_ref(float *const *ys, const void *const *Ws, const eco_dtype *wtypes,
                          const float *x, const int64_t *Ns, int64_t K, int n) {
    for (int i = 0; i < n; i++) eco_matvec_ref(ys[i], Ws[i], wtypes[i], x, Ns[i], K);
}
