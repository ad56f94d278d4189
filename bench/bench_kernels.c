/*
 * bench_kernels: the tensor kernels against the machine's own limits, measured in the
 * same run.
 *
 *   matvec (decode): GB/s of weights streamed for f32, bf16 and f16, on the SmolLM2-135M
 *   layer shapes laid end to end over 512 MiB (far larger than the last-level cache), and
 *   on copies of the lm_head shape over 512 MiB; ratio to the read bandwidth measured in
 *   the same trial.
 *   sgemm / eco_linear (prompt): GFLOP/s at M = 128 on the same shapes; eco_linear with
 *   bf16 weights (widen + sgemm) as a ratio to f32 sgemm.
 *   barrier: µs per crossing of eco_team_barrier_wait (the decode path's barrier) beside
 *   `#pragma omp barrier`, interleaved in the same run.
 *   attention: ns per (query head, key) of eco_attend_part, AVX2 against AVX-512 kernels,
 *   and of eco_attend_part_group (the group's 3 heads in one call, as decoding calls it),
 *   f32 and f16 rows, in cache and from memory.
 *
 * Usage: bench_kernels [threads (default 2)]
 * A benchmark, not a test: prints figures, never fails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "core/team_barrier.h"
#include "tensor/simd.h"
#include "ecology/tensor.h"

/* Seconds per crossing of `rounds` barriers by the team: ours (eco_team_barrier_wait, with
 * its busy-wait when every thread has a CPU) or libgomp's. */
static double barrier_crossing(bool ours, long rounds) {
    _Alignas(64) static atomic_long arrived[64 * ECO_BARRIER_STRIDE];
    for (int i = 0; i < 64 * ECO_BARRIER_STRIDE; i++) atomic_store(&arrived[i], 0);
    const double t0 = eco_now();
#pragma omp parallel
    {
        const int id = omp_get_thread_num(), T = omp_get_num_threads();
        const long spins = eco_team_barrier_spins(T, omp_get_num_procs());
        long crossed = 0;
        if (T <= 64)
            for (long r = 0; r < rounds; r++) {
                if (ours)
                    eco_team_barrier_wait(arrived, id, T, &crossed, spins);
                else {
#pragma omp barrier
                }
            }
    }
    return (eco_now() - t0) / (double)rounds;
}

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

/* Matrices of the given shapes laid end to end over `bytes` of weights, far more than the
 * last-level cache, each multiplied once per pass (decode-like: every byte read once). */
typedef struct mv_set {
    eco_dtype t;
    char *W;
    size_t bytes; /* allocated (eco_zalloc_large) */
    size_t used;
    int n;
    size_t off[8192];
    int64_t shape[8192][2];
} mv_set;

static mv_set *mv_set_create(eco_dtype t, size_t bytes, const int64_t (*shapes)[2], int nshapes) {
    mv_set *s = calloc(1, sizeof *s);
    size_t esz = eco_dtype_size(t);
    s->t = t;
    s->W = eco_zalloc_large(bytes); /* huge pages, as the model's matrices (model_load.c) */
    if (!s->W) {
        free(s);
        return NULL;
    }
    s->bytes = bytes;
    fill_random(s->W, t, bytes / esz, 1);
    for (int i = 0; s->n < 8192; i = (i + 1) % nshapes) {
        size_t b = (size_t)(shapes[i][0] * shapes[i][1]) * esz;
        if (s->used + b > bytes) break;
        s->off[s->n] = s->used;
        s->shape[s->n][0] = shapes[i][0];
        s->shape[s->n][1] = shapes[i][1];
        s->n++;
        s->used += b;
    }
    return s;
}

/* Seconds for one pass. */
static double mv_set_pass(const mv_set *s, float *y, const float *x) {
    double t0 = eco_now();
    for (int i = 0; i < s->n; i++)
        eco_matvec(y, s->W + s->off[i], s->t, x, s->shape[i][0], s->shape[i][1]);
    return eco_now() - t0;
}

static void mv_set_free(mv_set *s) {
    if (s) eco_free_large(s->W, s->bytes);
    free(s);
}

/* Seconds of y[M,N] = x[M,K]·Wᵀ: f32 through eco_matmul_f32 (plain sgemm) or 16-bit
 * through eco_linear (widen + sgemm). */
typedef struct gemm_case {
    eco_dtype t;
    int64_t M, N, K;
    void *W;
    float *x, *y, *scratch;
    eco_tensor T;
} gemm_case;

static void gemm_init(gemm_case *g, eco_dtype t, int64_t M, int64_t N, int64_t K) {
    size_t esz = eco_dtype_size(t);
    g->t = t;
    g->M = M;
    g->N = N;
    g->K = K;
    g->W = malloc((size_t)(N * K) * esz);
    g->x = malloc((size_t)(M * K) * sizeof(float));
    g->y = malloc((size_t)(M * N) * sizeof(float));
    size_t ns = eco_linear_scratch_floats(K, N);
    g->scratch = malloc((ns ? ns : 1) * sizeof(float));
    fill_random(g->W, t, (size_t)(N * K), 5);
    fill_random(g->x, ECO_DTYPE_F32, (size_t)(M * K), 6);
    eco_tensor T = {.name = "w",
                    .dtype = t,
                    .ndim = 2,
                    .shape = {N, K},
                    .data = g->W,
                    .nbytes = (size_t)(N * K) * esz};
    g->T = T;
}

static double gemm_run(gemm_case *g) {
    double t0 = eco_now();
    if (g->t == ECO_DTYPE_F32)
        eco_matmul_f32(g->y, g->x, g->W, NULL, g->M, g->K, g->N);
    else
        eco_linear(g->y, g->x, &g->T, NULL, g->M, g->scratch);
    return eco_now() - t0;
}

static void gemm_free(gemm_case *g) {
    free(g->W);
    free(g->x);
    free(g->y);
    free(g->scratch);
}

#define TRIALS 9

/* Nanoseconds per (query head, key) of eco_attend_part, one head a call, or (`grouped`)
 * of eco_attend_part_group, the decode step's call: head_dim 64, blocks of 32 keys, 3 query heads a block (SmolLM2-135M's group), rows of
 * kvt; `hot`: the same block every time (in cache, the kernel's own speed), else a new
 * block each time from 64 MiB of K and of V (rows from memory, no prefetch). One thread,
 * at the dispatcher's current level. */
static double attend_ns(eco_dtype kvt, bool hot, bool grouped) {
    enum { HD = 64, NK = 32, GROUP = 3 };
    const size_t esz = eco_dtype_size(kvt), n_elems = ((size_t)64 << 20) / esz;
    const size_t blocks = n_elems / (NK * HD);
    void *K = malloc(n_elems * esz), *V = malloc(n_elems * esz);
    if (!K || !V) {
        free(K);
        free(V);
        return 0.0;
    }
    fill_random(K, kvt, n_elems, 5);
    fill_random(V, kvt, n_elems, 6);
    float q[GROUP * HD], o[GROUP * HD], S[4 * NK], ml[2 * GROUP];
    for (int i = 0; i < GROUP * HD; i++) q[i] = 0.01f * (float)(i % HD);
    double t0 = eco_now();
    for (size_t b = 0; b < blocks; b++) {
        const size_t at = (hot ? 0 : b) * NK * HD * esz;
        if (grouped)
            eco_attend_part_group(o, ml, q, (char *)K + at, (char *)V + at, kvt, HD, NK, HD, GROUP,
                                  0.125f, S);
        else
            for (int h = 0; h < GROUP; h++)
                eco_attend_part(o + h * HD, ml + 2 * h, ml + 2 * h + 1, q + h * HD, (char *)K + at,
                                (char *)V + at, kvt, HD, NK, HD, 0.125f, S);
    }
    const double ns = (eco_now() - t0) / (double)(blocks * GROUP * NK) * 1e9;
    free(K);
    free(V);
    return ns;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    eco_set_threads(threads);
    /* ECO_SIMD_CAP=0|1|2: hold the matvec dispatcher to portable / AVX2 / AVX-512 kernels */
    const char *cap = getenv("ECO_SIMD_CAP");
    if (cap && *cap) {
        eco_matvec_set_simd_cap(atoi(cap));
        printf("matvec kernels capped at level %d (ECO_SIMD_CAP)\n", atoi(cap));
    }
    printf("bench_kernels: %d threads (OpenMP max %d), load average %.2f at start\n", threads,
           omp_get_max_threads(), bench_loadavg());
    printf("Each trial measures the baseline and then the kernels; figures are the median over\n"
           "%d trials and the best trial (the best is the figure least disturbed by other work\n"
           "on a shared machine); ratios are median of per-trial ratios and best/best.\n\n",
           TRIALS);

    bench_bw bw;
    if (bench_bw_open(&bw, (size_t)1 << 30) != 0) {
        printf("cannot allocate the bandwidth buffer\n");
        return 0;
    }
    const eco_dtype types[] = {ECO_DTYPE_F32, ECO_DTYPE_BF16, ECO_DTYPE_F16};
    const int64_t head[1][2] = {{49152, 576}};
    mv_set *layers[3], *heads[3];
    for (int i = 0; i < 3; i++) {
        layers[i] = mv_set_create(types[i], (size_t)512 << 20, SHAPES, NSHAPES);
        heads[i] = mv_set_create(types[i], (size_t)512 << 20, head, 1);
    }
    float *x = malloc(4096 * sizeof(float)), *y = malloc(49152 * sizeof(float));
    fill_random(x, ECO_DTYPE_F32, 4096, 2);
    double bws[TRIALS], lay[3][TRIALS], hd[3][TRIALS];
    for (int i = 0; i < 3; i++) { /* warm-up pass */
        mv_set_pass(layers[i], y, x);
        mv_set_pass(heads[i], y, x);
    }
    for (int t = 0; t < TRIALS; t++) {
        bws[t] = bench_bw_measure(&bw, 3, NULL, NULL);
        for (int i = 0; i < 3; i++) {
            lay[i][t] = (double)layers[i]->used / mv_set_pass(layers[i], y, x);
            hd[i][t] = (double)heads[i]->used / mv_set_pass(heads[i], y, x);
        }
    }
    double bw_best = bench_max(bws, TRIALS), bw_sorted[TRIALS];
    memcpy(bw_sorted, bws, sizeof bws);
    printf("%-48s %9s %9s %8s %8s\n", "matvec (decode), GB/s", "median", "best", "ratio",
           "best/bw");
    printf("%-48s %9.2f %9.2f\n", "  memory read bandwidth (1 GiB streaming sum)",
           bench_median(bw_sorted, TRIALS) / 1e9, bw_best / 1e9);
    for (int i = 0; i < 3; i++) {
        for (int which = 0; which < 2; which++) {
            double *v = which ? hd[i] : lay[i], r[TRIALS], c[TRIALS];
            for (int t = 0; t < TRIALS; t++) {
                r[t] = v[t] / bws[t];
                c[t] = v[t];
            }
            char label[96];
            snprintf(label, sizeof label, "  %s %s", eco_dtype_name(types[i]),
                     which ? "49152x576 (lm_head) copies, 512 MiB"
                           : "SmolLM2 layer shapes, 512 MiB");
            double best = bench_max(c, TRIALS);
            printf("%-48s %9.2f %9.2f %8.2f %8.2f\n", label, bench_median(c, TRIALS) / 1e9,
                   best / 1e9, bench_median(r, TRIALS), best / bw_best);
        }
    }
    for (int i = 0; i < 3; i++) {
        mv_set_free(layers[i]);
        mv_set_free(heads[i]);
    }
    free(x);
    free(y);

    printf("\n%-44s %10s %10s %8s\n", "prompt products M=128 (N x K), GFLOP/s", "f32 sgemm",
           "bf16 lin", "ratio");
    const int64_t gshapes[][2] = {{576, 576}, {192, 576}, {1536, 576}, {576, 1536}, {49152, 576}};
    for (int i = 0; i < 5; i++) {
        gemm_case gf, gb;
        gemm_init(&gf, ECO_DTYPE_F32, 128, gshapes[i][0], gshapes[i][1]);
        gemm_init(&gb, ECO_DTYPE_BF16, 128, gshapes[i][0], gshapes[i][1]);
        double flops = 2.0 * 128 * (double)gshapes[i][0] * (double)gshapes[i][1];
        int reps = gshapes[i][0] > 10000 ? 5 : 21;
        double vf[21], vb[21], r[21];
        gemm_run(&gf);
        gemm_run(&gb);
        for (int t = 0; t < reps; t++) { /* interleaved: same load for both */
            vf[t] = flops / gemm_run(&gf) / 1e9;
            vb[t] = flops / gemm_run(&gb) / 1e9;
            r[t] = vb[t] / vf[t];
        }
        char label[64];
        snprintf(label, sizeof label, "  %lld x %lld (median; best)", (long long)gshapes[i][0],
                 (long long)gshapes[i][1]);
        double bf = bench_max(vf, reps), bb = bench_max(vb, reps);
        printf("%-44s %10.1f %10.1f %8.2f\n", label, bench_median(vf, reps), bench_median(vb, reps),
               bench_median(r, reps));
        printf("%-44s %10.1f %10.1f %8.2f\n", "", bf, bb, bb / bf);
        gemm_free(&gf);
        gemm_free(&gb);
    }
    {
        double vo[TRIALS], vg[TRIALS];
        for (int t = 0; t < TRIALS; t++) { /* interleaved: same load for both */
            vo[t] = barrier_crossing(true, 100000) * 1e6;
            vg[t] = barrier_crossing(false, 100000) * 1e6;
        }
        double bo = vo[0], bg = vg[0]; /* best: the fewest microseconds */
        for (int t = 1; t < TRIALS; t++) {
            bo = vo[t] < bo ? vo[t] : bo;
            bg = vg[t] < bg ? vg[t] : bg;
        }
        printf("\n%-44s %10s %10s\n", "barrier, us per crossing (median; best)", "ours", "omp");
        printf("%-44s %10.3f %10.3f\n", "  eco_team_barrier_wait, #pragma omp barrier",
               bench_median(vo, TRIALS), bench_median(vg, TRIALS));
        printf("%-44s %10.3f %10.3f\n", "", bo, bg);
    }
    {
        printf("\n%-44s %10s %10s %10s\n", "attention, ns per (query head, key), median", "AVX2",
               "AVX-512", "grouped");
        const eco_dtype kvts[2] = {ECO_DTYPE_F32, ECO_DTYPE_F16};
        for (int ti = 0; ti < 2; ti++)
            for (int hot = 1; hot >= 0; hot--) {
                double v[3][5];
                for (int t = 0; t < 5; t++) /* interleaved: same load for all */
                    for (int k = 0; k < 3; k++) {
                        eco_matvec_set_simd_cap(k == 0 ? 1 : 2);
                        v[k][t] = attend_ns(kvts[ti], hot, k == 2);
                    }
                eco_matvec_set_simd_cap(2);
                char label[64];
                snprintf(label, sizeof label, "  %s rows, %s", eco_dtype_name(kvts[ti]),
                         hot ? "in cache" : "from memory");
                printf("%-44s %10.2f %10.2f %10.2f\n", label, bench_median(v[0], 5),
                       bench_median(v[1], 5), bench_median(v[2], 5));
            }
    }
    bench_bw_close(&bw);
    printf("\nload average %.2f at end\n", bench_loadavg());
    return 0;
}
