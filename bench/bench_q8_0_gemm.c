/*
 * bench_q8_0_gemm: eco_linear on q8_0 weights with M > 1 (the int8 product on activations
 * quantized per block, src/tensor/q8_0_gemm.c) beside sgemm on the f32 weights of the same
 * shape and beside the widening path (q8_0 → f32 blocks → sgemm, what eco_linear did before),
 * on SmolLM2-135M's shapes (K × N: 576 × 576 q/o, 576 × 192 k/v, 576 × 1536 gate/up,
 * 1536 × 576 down) at M = 2, 4, 8, 16, 32, 128, 1000 tokens, and the matvec path (M
 * eco_matvec calls) at small M. Rates in GFLOP-equivalent/s (2·M·N·K per call), median of
 * reps (by the process CPU clock with 1 thread, the wall clock otherwise), interleaved so
 * that each figure's baseline is measured beside it; the kernel levels
 * (AVX-512 VNNI, AVX2) at M = 128.
 *
 * Usage: bench_q8_0_gemm [threads (default 2)] [M (only this one)]. A benchmark, not a
 * test: never fails.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"
#include "ecology/tensor.h"
#include "tensor/q8_0_gemm.h"
#include "tensor/simd.h"

/* With 1 thread the process CPU clock (time descheduled on a shared machine not counted);
 * otherwise the wall clock. */
static int use_cpu_clock;
static double now(void) {
    struct timespec t;
    clock_gettime(use_cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float urand(uint64_t *s) {
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((*s >> 40) & 0xffffff) / (float)0x1000000 * 2.0f - 1.0f;
}

enum { PATH_Q8G, PATH_F32, PATH_WIDEN, PATH_MATVEC, NPATH };
static const char *const path_names[NPATH] = {"q8_0 int8", "f32 sgemm", "q8_0 widen",
                                              "q8_0 matvec"};

typedef struct shape {
    const char *name;
    int64_t K, N;
} shape;

/* One call of the path (seconds). */
static double run(int path, float *y, const float *x, const eco_tensor *tq, const eco_tensor *tf,
                  const float *Wf, int64_t M, float *scratch) {
    const int64_t N = tq->shape[0], K = tq->shape[1];
    double t0 = now();
    switch (path) {
        case PATH_Q8G:
            eco_linear(y, x, tq, NULL, M, scratch);
            break;
        case PATH_F32:
            eco_linear(y, x, tf, NULL, M, NULL);
            break;
        case PATH_WIDEN: /* the previous q8_0 prompt path: widen all, then one sgemm */
            eco_to_f32(scratch, tq->data, ECO_DTYPE_Q8_0, (size_t)(N * K));
            eco_matmul_f32(y, x, scratch, NULL, M, K, N);
            break;
        default:
            for (int64_t m = 0; m < M; m++)
                eco_matvec(y + m * N, tq->data, ECO_DTYPE_Q8_0, x + m * K, N, K);
            break;
    }
    (void)Wf;
    return now() - t0;
}

int main(int argc, char **argv) {
    const int threads = argc > 1 ? atoi(argv[1]) : 2;
    const int64_t only_m = argc > 2 ? atoll(argv[2]) : 0;
    use_cpu_clock = threads == 1;
    omp_set_num_threads(threads);
    static const shape shapes[] = {
        {"q/o 576x576", 576, 576},
        {"k/v 576x192", 576, 192},
        {"gate/up 576x1536", 576, 1536},
        {"down 1536x576", 1536, 576},
    };
    static const int64_t Ms[] = {2, 4, 8, 16, 32, 128, 1000};
    const int64_t maxM = 1000;
    printf("bench_q8_0_gemm: %d threads, load %.2f; GFLOP/s (2·M·N·K per call), median\n", threads,
           bench_loadavg());
    eco_matvec_set_simd_cap(2);
    printf("  int8 kernel: %s\n", eco_cpu_has_avx512_vnni() ? "AVX-512 VNNI"
                                  : eco_simd_level() >= 1   ? "AVX2"
                                                            : "plain C");
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        const int64_t K = shapes[si].K, N = shapes[si].N;
        uint64_t s = 7;
        float *Wf = malloc((size_t)(N * K) * 4), *x = malloc((size_t)(maxM * K) * 4);
        float *y = malloc((size_t)(maxM * N) * 4);
        const size_t row = eco_dtype_row_bytes(ECO_DTYPE_Q8_0, K);
        uint8_t *Wq = malloc(row * (size_t)N);
        size_t sf = eco_linear_scratch_floats(K, N);
        if (sf < (size_t)(N * K)) sf = (size_t)(N * K);
        float *scratch = malloc(sf * 4);
        if (!Wf || !x || !y || !Wq || !scratch) return 1;
        for (int64_t i = 0; i < N * K; i++) Wf[i] = urand(&s) * 0.05f;
        for (int64_t i = 0; i < maxM * K; i++) x[i] = urand(&s);
        for (int64_t n = 0; n < N; n++) eco_q8_0_quantize_row(Wq + (size_t)n * row, Wf + n * K, K);
        const eco_tensor tq = {.dtype = ECO_DTYPE_Q8_0,
                               .ndim = 2,
                               .shape = {N, K},
                               .data = Wq,
                               .nbytes = row * (size_t)N};
        const eco_tensor tf = {.dtype = ECO_DTYPE_F32,
                               .ndim = 2,
                               .shape = {N, K},
                               .data = Wf,
                               .nbytes = (size_t)(N * K) * 4};
        printf("  %-17s %6s %10s %10s %10s %10s %8s\n", shapes[si].name, "M", path_names[0],
               path_names[1], path_names[2], path_names[3], "int8/f32");
        for (size_t mi = 0; mi < sizeof Ms / sizeof *Ms; mi++) {
            const int64_t M = Ms[mi];
            if (only_m && M != only_m) continue;
            const double flop = 2.0 * (double)M * (double)N * (double)K;
            int reps = (int)(3e8 / flop);
            if (reps < 5) reps = 5;
            if (reps > 201) reps = 201;
            double *t[NPATH];
            for (int p = 0; p < NPATH; p++) t[p] = malloc((size_t)reps * sizeof(double));
            for (int p = 0; p < NPATH; p++) run(p, y, x, &tq, &tf, Wf, M, scratch); /* warm */
            for (int r = 0; r < reps; r++)
                for (int p = 0; p < NPATH; p++)
                    t[p][r] =
                        (p == PATH_MATVEC && M > 32) ? 0 : run(p, y, x, &tq, &tf, Wf, M, scratch);
            double g[NPATH];
            for (int p = 0; p < NPATH; p++) {
                const double med = bench_median(t[p], reps);
                g[p] = med > 0 ? flop / med / 1e9 : 0;
                free(t[p]);
            }
            printf("  %-17s %6lld %10.1f %10.1f %10.1f %10.1f %8.2f\n", "", (long long)M, g[0],
                   g[1], g[2], g[3], g[0] / g[1]);
        }
        /* kernel levels at M = 128 */
        for (int level = 2; level >= 0; level--) {
            eco_matvec_set_simd_cap(level);
            if (eco_simd_level() != level) continue;
            const int64_t M = 128;
            const double flop = 2.0 * (double)M * (double)N * (double)K;
            double tt[9];
            for (int r = 0; r < 9; r++) tt[r] = run(PATH_Q8G, y, x, &tq, &tf, Wf, M, scratch);
            printf("  %-17s level %d (%s): %.1f GFLOP/s at M = 128\n", "", level,
                   level == 2   ? (eco_cpu_has_avx512_vnni() ? "AVX-512 VNNI" : "AVX2")
                   : level == 1 ? "AVX2"
                                : "plain C",
                   flop / bench_median(tt, 9) / 1e9);
        }
        eco_matvec_set_simd_cap(2);
        free(Wf);
        free(x);
        free(y);
        free(Wq);
        free(scratch);
    }
    printf("  load after: %.2f\n", bench_loadavg());
    return 0;
}
