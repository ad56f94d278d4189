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
 */
#include "ecology/tensor.h"

#include <cblas.h>
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

size_t eco_linear_scratch_floats(int64_t K, int64_t N) {
    if (K <= 0 || N <= 0) return 0;
    return (size_t)linear_block_rows(K, N) * (size_t)K;
}

void eco_linear(float *y, const float *x, const eco_tensor *W, const float *bias, int64_t M,
                float *scratch) {
    const int64_t N = W->shape[0];
    const int64_t K = W->ndim > 1 ? W->shape[1] : 1;
    if (M <= 0 || N <= 0) return;
    ECO_ASSERT(y && x && W->data);
    /* bf16/f16/q8_0 weights are widened block by block into scratch (eco_linear_scratch_floats) */
    ECO_ASSERT(M == 1 || W->dtype == ECO_DTYPE_F32 || scratch);
    if (M == 1) {
        eco_matvec(y, W->data, W->dtype, x, N, K);
        if (bias)
            for (int64_t i = 0; i < N; i++) y[i] += bias[i];
        return;
    }
    if (W->dtype == ECO_DTYPE_F32) {
        eco_matmul_f32(y, x, (const float *)W->data, bias, M, K, N);
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
        for (int i = 0; i < n; i++)
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
