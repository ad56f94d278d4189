/*
 * bench_kernels: the tensor kernels against the machine's own limits, measured in the
 * same run.
 *
 *   matvec (decode): GB/s of weights streamed for f32, bf16 and f16, on the SmolLM2-135M
 *   layer shapes laid end to end over a buffer far larger than the last-level cache, and
 *   on one lm_head-shaped matrix; ratio to the measured read bandwidth.
 *   sgemm / eco_linear (prompt): GFLOP/s at M = 128 on the same shapes; eco_linear with
 *   bf16 weights (widen + sgemm) as a ratio to f32 sgemm.
 *
 * Usage: bench_kernels [threads (default 2)] [bandwidth buffer MiB (default 1024)]
 * A benchmark, not a test: prints figures, never fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "ecology/tensor.h"

/* SmolLM2-135M: d 576, f 1536, 9 heads and 3 kv heads of 64. */
static const int64_t SHAPES[][2] = {
    {576, 576},  /* q_proj [N, K] */
    {192, 576},  /* k_proj */
    {192, 576},  /* v_proj */
    {576, 576},  /* o_proj */
    {1536, 576}, /* gate_proj */
    {1536, 576}, /* up_proj */
    {576, 1536}, /* down_proj */
};
#define NSHAPES 7

static void fill_random(void *p, eco_dtype t, size_t n, uint64_t seed) {
    eco_rng r;
    eco_rng_seed(&r, seed);
    float tmp[4096];
    for (size_t i = 0; i < n; i += 4096) {
        size_t m = n - i < 4096 ? n - i : 4096;
        for (size_t j = 0; j < m; j++) tmp[j] = (float)(eco_rng_uniform(&r) - 0.5) * 0.04f;
        eco_from_f32((char *)p + i * eco_dtype_size(t), t, tmp, m);
    }
}

/* Decode-like pass: matrices of the layer shapes laid end to end until `bytes` is used,
 * each multiplied once per pass. Returns median bytes/s. */
static double bench_matvec_layers(eco_dtype t, size_t bytes, int reps) {
    size_t esz = eco_dtype_size(t);
    char *W = NULL;
    if (posix_memalign((void **)&W, 4096, bytes) != 0) return 0.0;
    fill_random(W, t, bytes / esz, 1);
    float *x = malloc(1536 * sizeof(float)), *y = malloc(1536 * sizeof(float));
    fill_random(x, ECO_DTYPE_F32, 1536, 2);
    /* the list of (offset, shape) that fits */
    size_t off[4096];
    int shp[4096], nm = 0;
    size_t used = 0;
    for (int s = 0; nm < 4096; s = (s + 1) % NSHAPES) {
        size_t b = (size_t)(SHAPES[s][0] * SHAPES[s][1]) * esz;
        if (used + b > bytes) break;
        off[nm] = used;
        shp[nm++] = s;
        used += b;
    }
    double *tm = malloc((size_t)reps * sizeof(double));
    for (int r = 0; r < reps + 1; r++) {
        double t0 = eco_now();
        for (int i = 0; i < nm; i++)
            eco_matvec(y, W + off[i], t, x, SHAPES[shp[i]][0], SHAPES[shp[i]][1]);
        if (r > 0) tm[r - 1] = eco_now() - t0; /* first pass warms up */
    }
    double med = bench_median(tm, reps);
    free(tm);
    free(W);
    free(x);
    free(y);
    return (double)used / med;
}

static double bench_matvec_one(eco_dtype t, int64_t N, int64_t K, int reps) {
    size_t esz = eco_dtype_size(t), bytes = (size_t)(N * K) * esz;
    void *W = NULL;
    if (posix_memalign(&W, 4096, bytes) != 0) return 0.0;
    fill_random(W, t, (size_t)(N * K), 3);
    float *x = malloc((size_t)K * sizeof(float)), *y = malloc((size_t)N * sizeof(float));
    fill_random(x, ECO_DTYPE_F32, (size_t)K, 4);
    double *tm = malloc((size_t)reps * sizeof(double));
    for (int r = 0; r < reps + 1; r++) {
        double t0 = eco_now();
        eco_matvec(y, W, t, x, N, K);
        if (r > 0) tm[r - 1] = eco_now() - t0;
    }
    double med = bench_median(tm, reps);
    free(tm);
    free(W);
    free(x);
    free(y);
    return (double)bytes / med;
}

/* GFLOP/s of y[M,N] = x[M,K]·Wᵀ: f32 through eco_matmul_f32 (plain sgemm) or 16-bit
 * through eco_linear (widen + sgemm). */
static double bench_gemm(eco_dtype t, int64_t M, int64_t N, int64_t K, int reps) {
    size_t esz = eco_dtype_size(t);
    void *W = malloc((size_t)(N * K) * esz);
    float *x = malloc((size_t)(M * K) * sizeof(float)), *y = malloc((size_t)(M * N) * sizeof(float));
    size_t ns = eco_linear_scratch_floats(K, N);
    float *scratch = malloc((ns ? ns : 1) * sizeof(float));
    fill_random(W, t, (size_t)(N * K), 5);
    fill_random(x, ECO_DTYPE_F32, (size_t)(M * K), 6);
    eco_tensor T = {.name = "w", .dtype = t, .ndim = 2, .shape = {N, K}, .data = W,
                    .nbytes = (size_t)(N * K) * esz};
    double *tm = malloc((size_t)reps * sizeof(double));
    for (int r = 0; r < reps + 1; r++) {
        double t0 = eco_now();
        if (t == ECO_DTYPE_F32) eco_matmul_f32(y, x, W, NULL, M, K, N);
        else eco_linear(y, x, &T, NULL, M, scratch);
        if (r > 0) tm[r - 1] = eco_now() - t0;
    }
    double med = bench_median(tm, reps);
    free(tm);
    free(W);
    free(x);
    free(y);
    free(scratch);
    return 2.0 * (double)M * (double)N * (double)K / med / 1e9;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    size_t bw_mib = argc > 2 ? (size_t)atoll(argv[2]) : 1024;
    eco_set_threads(threads);
    printf("bench_kernels: %d threads (OpenMP max %d)\n", threads, omp_get_max_threads());

    double bw = bench_read_bandwidth(bw_mib << 20, 7);
    printf("memory read bandwidth (streaming sum, %zu MiB, median of 7): %.2f GB/s\n\n", bw_mib,
           bw / 1e9);

    printf("%-44s %10s %8s\n", "matvec (decode)", "GB/s", "vs bw");
    const eco_dtype types[] = {ECO_DTYPE_F32, ECO_DTYPE_BF16, ECO_DTYPE_F16};
    for (int i = 0; i < 3; i++) {
        char label[96];
        double g = bench_matvec_layers(types[i], (size_t)512 << 20, 5);
        snprintf(label, sizeof label, "  %s SmolLM2 layer shapes, 512 MiB", eco_dtype_name(types[i]));
        printf("%-44s %10.2f %8.2f\n", label, g / 1e9, g / bw);
        g = bench_matvec_one(types[i], 49152, 576, 9);
        snprintf(label, sizeof label, "  %s lm_head 49152x576", eco_dtype_name(types[i]));
        printf("%-44s %10.2f %8.2f\n", label, g / 1e9, g / bw);
    }

    printf("\n%-44s %10s %10s %8s\n", "prompt products, M=128 (N x K)", "f32 sgemm", "bf16 lin",
           "ratio");
    const int64_t gshapes[][2] = {{576, 576}, {192, 576}, {1536, 576}, {576, 1536}, {49152, 576}};
    for (int i = 0; i < 5; i++) {
        int64_t N = gshapes[i][0], K = gshapes[i][1];
        int reps = N * K > 10000000 ? 5 : 21;
        double gf = bench_gemm(ECO_DTYPE_F32, 128, N, K, reps);
        double gb = bench_gemm(ECO_DTYPE_BF16, 128, N, K, reps);
        char label[64];
        snprintf(label, sizeof label, "  %lld x %lld (GFLOP/s)", (long long)N, (long long)K);
        printf("%-44s %10.1f %10.1f %8.2f\n", label, gf, gb, gb / gf);
    }
    return 0;
}
