/*
 * bench_merge: eco_merge_tensor on one SmolLM2-135M-shaped MLP tensor (1536 × 576, 3
 * parents over a base), every method, with 1 and 2 threads. Prints the median time of 7
 * runs, the bytes streamed per second ((parents + base + out) · n · 4 bytes / time) and the
 * ratio to linear (one pass, no sparsifier) measured in the same run on the same thread
 * count, and linear's bytes per second beside the machine's read bandwidth (a streaming
 * sum over 256 MiB, bench_common.h) on that thread count. Figures only; never fails.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_common.h"
#include "ecology/merge.h"

enum { ROWS = 1536, COLS = 576, NP = 3, RUNS = 7 };

static double time_method(eco_merge_method m, float *out, const float *base,
                          const float *const *par) {
    eco_merge_params p;
    eco_merge_params_init(&p, m);
    p.n_parents = m == ECO_MERGE_METHOD_SLERP ? 2 : NP;
    for (int i = 0; i < p.n_parents; i++) {
        p.weight[i] = 1.0 / p.n_parents;
        p.density[i] = 0.5;
    }
    p.n_t = 1;
    p.t[0] = 0.5;
    p.seed = 1;
    double ts[RUNS];
    for (int r = 0; r < RUNS; r++) {
        double t0 = eco_now();
        if (eco_merge_tensor(out, base, par, ROWS, COLS, &p, 0.5, 7, NULL, NULL) != ECO_STATUS_OK) {
            fprintf(stderr, "bench_merge: %s: %s\n", eco_merge_method_name(m), eco_last_error());
            exit(1);
        }
        ts[r] = eco_now() - t0;
    }
    return bench_median(ts, RUNS);
}

int main(void) {
    size_t n = (size_t)ROWS * COLS;
    float *base = malloc(n * sizeof *base), *out = malloc(n * sizeof *out), *par[NP];
    if (!base || !out) return 1;
    for (size_t i = 0; i < n; i++) base[i] = (float)eco_merge_normal(1, 1, i) * 0.02f;
    for (int m = 0; m < NP; m++) {
        par[m] = malloc(n * sizeof *par[m]);
        if (!par[m]) return 1;
        for (size_t i = 0; i < n; i++)
            par[m][i] = base[i] + (float)eco_merge_normal(2 + m, 1, i) * 0.002f;
    }
    printf("bench_merge: %d x %d f32 tensor, %d parents over a base (loadavg %.2f)\n", ROWS, COLS,
           NP, bench_loadavg());
    int saved = eco_get_threads();
    for (int th = 1; th <= 2; th++) {
        eco_set_threads(th);
        double lin = time_method(ECO_MERGE_METHOD_LINEAR, out, base, (const float *const *)par);
        double bw = bench_read_bandwidth((size_t)256 << 20, 3);
        double lin_bytes = (double)(NP + 2) * (double)n * 4;
        printf("  threads %d  read bandwidth %.2f GB/s; linear streams %.2f GB/s (%.0f%% of it)\n",
               th, bw / 1e9, lin_bytes / lin / 1e9, 100 * lin_bytes / lin / bw);
        for (int m = 0; m < ECO_MERGE_METHOD__COUNT; m++) {
            double t = m == ECO_MERGE_METHOD_LINEAR
                           ? lin
                           : time_method((eco_merge_method)m, out, base, (const float *const *)par);
            int np = m == ECO_MERGE_METHOD_SLERP ? 2 : NP;
            double bytes = (double)(np + 2) * (double)n * 4;
            printf("  threads %d  %-16s %8.2f ms  %6.2f GB/s  %5.2fx linear\n", th,
                   eco_merge_method_name((eco_merge_method)m), t * 1e3, bytes / t / 1e9, t / lin);
        }
    }
    eco_set_threads(saved);
    for (int m = 0; m < NP; m++) free(par[m]);
    free(base);
    free(out);
    return 0;
}
