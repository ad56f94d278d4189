/*
 * Batched products y[M,N] = x[M,K] · W[N,K]ᵀ (+ bias): the prompt (prefill) and training
 * path, compute bound, handed to OpenBLAS sgemm.
 *
 * f32 weights go straight to sgemm (W row-major [N,K] is Wᵀ column-major, so the call is
 * NoTrans × Trans). bf16/f16/q8_0 weights are widened a block of rows at a time into a
 * caller-provided scratch buffer and multiplied block by block, writing the block's
 * columns of y in place (ldc = N), so the scratch stays small (at most 4 MiB, or 256
 * rows when K is very large) whatever the matrix size. M == 1 goes to eco_matvec, which
 * reads the 16-bit weights directly.
 *
 * q8_0 weights with M >= 4 take the int8 product instead (q8_0_gemm.h): x quantized per
 * 32-block like llama.cpp (once per call, shared by the q8_0 matrices of an
 * eco_linear_multi), exact int32 block dots. Only this forward product: training widens its
 * frozen weights to f32 once (train_model.c) and never comes here. M = 2, 3: eco_matvec per
 * token.
 */
#include "ecology/tensor.h"
#include "tensor/q8_0_gemm.h"

#include <cblas.h>
#include <stdbool.h>
#include <string.h>

/* Rows of W widened per sgemm call: as many as fit in LINEAR_SCRATCH_BUDGET floats (4 MiB,
 * which stays in the last-level cache between being written and being packed by sgemm),
 * but at least LINEAR_MIN_ROWS so that each sgemm has a decent N. Fewer, larger sgemm
 * calls matter: at M = 128 an sgemm with N = 512 runs well below one with N = 1536. */
#define LINEAR_SCRATCH_BUDGET ((int64_t)1 << 20)
#define LINEAR_MIN_ROWS       256

/* Matrices eco_linear_multi runs in one matvec region (more go one by one). */
#define ECO_LINEAR_MULTI_MAX 8

static int64_t linear_block_rows(int64_t K, int64_t N) {
    int64_t rows = LINEAR_SCRATCH_BUDGET / K;
    if (rows < LINEAR_MIN_ROWS) rows = LINEAR_MIN_ROWS;
    rows &= ~(int64_t)15;
    return rows < N ? rows : N;
}

/* Fills every row of y[M,N] with bias[N]. */
static void fill_bias(float *y, const float *bias, int64_t M, int64_t N) {
    for (int64_t m = 0; m < M; m++)
        memcpy(y + (size_t)m * (size_t)N, bias, (size_t)N * sizeof(float));
}

void eco_matmul_f32(float *y, const float *x, const float *W, const float *bias, int64_t M,
                    int64_t K, int64_t N) {
    if (M <= 0 || N <= 0) return;
    ECO_ASSERT(y && (K <= 0 || (x && W)));
    if (K <= 0) {
        if (bias)
            fill_bias(y, bias, M, N);
        else
            memset(y, 0, (size_t)M * (size_t)N * sizeof(float));
        return;
    }
    if (bias) fill_bias(y, bias, M, N);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)M, (blasint)N, (blasint)K, 1.0f,
                x, (blasint)K, W, (blasint)K, bias ? 1.0f : 0.0f, y, (blasint)N);
}

/* q8_0 weights, M >= Q8G_MIN_M: the int8 product (q8_0_gemm.c) on activations quantized
 * into the scratch, Q8G_CHUNK_BYTES of them at a time at most (they stay in L2 while every
 * weight row tile reads them); the scratch always holds Q8G_MIN_TOKENS. Below Q8G_MIN_M
 * tokens the matvec path (one streaming pass over W per token, f32 activations) is faster
 * than repacking W for the int8 kernels (bench_q8_0_gemm). */
#define Q8G_MIN_TOKENS  64
#define Q8G_MIN_M       4
#define Q8G_CHUNK_BYTES ((size_t)384 << 10)

static bool q8g_applies(const eco_tensor *W, int64_t M, int64_t K) {
    return W->dtype == ECO_DTYPE_Q8_0 && M >= Q8G_MIN_M && K % ECO_Q8_0_BLOCK == 0 &&
           K <= ECO_Q8G_MAX_K;
}

/* Tokens per quantized chunk for K columns in scratch_floats floats (a multiple of
 * ECO_Q8G_TOKS, at least Q8G_MIN_TOKENS). */
static int64_t q8g_chunk(int64_t K, size_t scratch_floats) {
    const size_t per = eco_q8_act_bytes(ECO_Q8G_TOKS, K) / ECO_Q8G_TOKS + 1;
    size_t bytes = scratch_floats * sizeof(float);
    if (bytes > Q8G_CHUNK_BYTES) bytes = Q8G_CHUNK_BYTES;
    int64_t mc = (int64_t)(bytes / per) / ECO_Q8G_TOKS * ECO_Q8G_TOKS - ECO_Q8G_TOKS;
    return mc < Q8G_MIN_TOKENS ? Q8G_MIN_TOKENS : mc;
}

size_t eco_linear_scratch_floats(int64_t K, int64_t N) {
    if (K <= 0 || N <= 0) return 0;
    size_t f = (size_t)linear_block_rows(K, N) * (size_t)K;
    if (K <= ECO_Q8G_MAX_K) {
        const size_t q = eco_q8_act_bytes(Q8G_MIN_TOKENS + ECO_Q8G_TOKS, K) / sizeof(float) + 1;
        if (q > f) f = q;
    }
    return f;
}

/* ys[i][M, N_i] = x · Ws[i]ᵀ (+ biases[i]) for the q8_0 matrices among Ws (the others
 * untouched), x quantized once per chunk of tokens for all of them. */
static void linear_q8g(float *const *ys, const float *x, const eco_tensor *const *Ws,
                       const float *const *biases, int n, int64_t M, int64_t K, float *scratch) {
    const int64_t N0 = Ws[0]->shape[0];
    const int64_t mc = q8g_chunk(K, eco_linear_scratch_floats(K, N0));
    for (int64_t m0 = 0; m0 < M; m0 += mc) {
        const int64_t mm = M - m0 < mc ? M - m0 : mc;
        eco_q8_act a;
        eco_q8_act_init(&a, scratch, mm, K);
        eco_q8_act_quantize(&a, x + (size_t)m0 * (size_t)K);
        for (int i = 0; i < n; i++) {
            if (Ws[i]->dtype != ECO_DTYPE_Q8_0) continue;
            const int64_t N = Ws[i]->shape[0];
            eco_q8_0_gemm(ys[i] + (size_t)m0 * (size_t)N, N, &a, Ws[i]->data,
                          biases ? biases[i] : NULL, N);
        }
    }
}

void eco_linear(float *y, const float *x, const eco_tensor *W, const float *bias, int64_t M,
                float *scratch) {
    const int64_t N = W->shape[0];
    const int64_t K = W->ndim > 1 ? W->shape[1] : 1;
    if (M <= 0 || N <= 0) return;
    ECO_ASSERT(y && x && W->data);
    /* bf16/f16/q8_0 weights are widened block by block into scratch (eco_linear_scratch_floats) */
    ECO_ASSERT(M == 1 || W->dtype == ECO_DTYPE_F32 || scratch);
    if (M == 1 || (W->dtype == ECO_DTYPE_Q8_0 && M < Q8G_MIN_M)) {
        for (int64_t m = 0; m < M; m++) {
            float *ym = y + (size_t)m * (size_t)N;
            eco_matvec(ym, W->data, W->dtype, x + (size_t)m * (size_t)K, N, K);
            if (bias)
                for (int64_t i = 0; i < N; i++) ym[i] += bias[i];
        }
        return;
    }
    if (W->dtype == ECO_DTYPE_F32) {
        eco_matmul_f32(y, x, (const float *)W->data, bias, M, K, N);
        return;
    }
    if (q8g_applies(W, M, K)) {
        float *const ys[1] = {y};
        const eco_tensor *const ws[1] = {W};
        const float *const bs[1] = {bias};
        linear_q8g(ys, x, ws, bs, 1, M, K, scratch);
        return;
    }
    if (bias) fill_bias(y, bias, M, N);
    const size_t row = eco_dtype_row_bytes(W->dtype, K); /* bf16, f16: 2K; q8_0: (K/32)·34 */
    const int64_t block = linear_block_rows(K, N);
    for (int64_t n0 = 0; n0 < N; n0 += block) {
        int64_t nb = N - n0 < block ? N - n0 : block;
        const char *src = (const char *)W->data + (size_t)n0 * row;
        /* Widen rows in parallel: each thread converts a contiguous slice. */
        const int64_t chunk_rows = 16;
        int64_t nchunks = (nb + chunk_rows - 1) / chunk_rows;
#pragma omp parallel for schedule(static) if (nb * K >= ((int64_t)1 << 16))
        for (int64_t c = 0; c < nchunks; c++) {
            int64_t r0 = c * chunk_rows, r1 = r0 + chunk_rows < nb ? r0 + chunk_rows : nb;
            eco_to_f32(scratch + (size_t)r0 * (size_t)K, src + (size_t)r0 * row, W->dtype,
                       (size_t)(r1 - r0) * (size_t)K);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)M, (blasint)nb, (blasint)K,
                    1.0f, x, (blasint)K, scratch, (blasint)K, bias ? 1.0f : 0.0f, y + n0,
                    (blasint)N);
    }
}

void eco_linear_multi(float *const *ys, const float *x, const eco_tensor *const *Ws,
                      const float *const *biases, int64_t M, int n, float *scratch) {
    if (M <= 0 || n <= 0) return;
    if (M > 1 || n > ECO_LINEAR_MULTI_MAX) {
        const int64_t K = Ws[0]->ndim > 1 ? Ws[0]->shape[1] : 1;
        bool q8g = false; /* the q8_0 matrices share one quantization of x */
        for (int i = 0; i < n; i++) q8g = q8g || q8g_applies(Ws[i], M, K);
        if (q8g) linear_q8g(ys, x, Ws, biases, n, M, K, scratch);
        for (int i = 0; i < n; i++)
            if (!q8g || Ws[i]->dtype != ECO_DTYPE_Q8_0)
                eco_linear(ys[i], x, Ws[i], biases ? biases[i] : NULL, M, scratch);
        return;
    }
    const void *W[ECO_LINEAR_MULTI_MAX];
    eco_dtype t[ECO_LINEAR_MULTI_MAX];
    int64_t N[ECO_LINEAR_MULTI_MAX];
    const int64_t K = Ws[0]->ndim > 1 ? Ws[0]->shape[1] : 1;
    for (int i = 0; i < n; i++) {
        W[i] = Ws[i]->data;
        t[i] = Ws[i]->dtype;
        N[i] = Ws[i]->shape[0];
    }
    eco_matvec_multi(ys, W, t, x, N, K, n);
    if (biases)
        for (int i = 0; i < n; i++)
            if (biases[i])
                for (int64_t r = 0; r < N[i]; r++) ys[i][r] += biases[i][r];
}
