/*
 * Shared pieces of the benchmarks (header-only: each bench_*.c is its own executable).
 *
 *  - bench_bw_*: the machine's memory read bandwidth, measured in the same run as (and
 *    interleaved with) the figure it is compared with: a streaming sum over a large buffer
 *    (1 GiB) on the current OpenMP thread count, plain and with software prefetch, median
 *    of several passes, the better of the two.
 *  - bench_median, bench_max over small arrays; bench_loadavg, printed beside the figures
 *    because these machines may be shared and a busy one gives lower, noisier figures.
 *
 * Benchmarks print figures and ratios and never fail a build.
 */
#ifndef ECO_BENCH_COMMON_H
#define ECO_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "ecology/core.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* $ECO_SOURCE_DIR/rel (or ./rel), malloc'd; NULL on ENOMEM. */
static inline char *bench_source_path(const char *rel) {
    const char *root = getenv("ECO_SOURCE_DIR");
    if (!root) root = ".";
    size_t n = strlen(root) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", root, rel);
    return p;
}

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[n] (sorts v). */
static inline double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof v[0], bench_cmp_double);
    return (n % 2) ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#if defined(__x86_64__)
/* Sum of p[n] in 128-byte steps; with `prefetch`, each step also prefetches 2 KiB ahead
 * (more reads in flight than the hardware prefetcher alone keeps: the baseline must be as
 * good as the best kernel, or ratios above 1 say nothing). */
__attribute__((target("avx2"))) static inline uint64_t bench_sum_avx2(const uint64_t *p, size_t n,
                                                                      int prefetch) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        if (prefetch) {
            _mm_prefetch((const char *)(p + i) + 2048, _MM_HINT_T0);
            _mm_prefetch((const char *)(p + i) + 2048 + 64, _MM_HINT_T0);
        }
        a0 = _mm256_add_epi64(a0, _mm256_load_si256((const __m256i *)(const void *)(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256((const __m256i *)(const void *)(p + i + 4)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256((const __m256i *)(const void *)(p + i + 8)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256((const __m256i *)(const void *)(p + i + 12)));
    }
    a0 = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    uint64_t lanes[4];
    _mm256_storeu_si256((__m256i *)(void *)lanes, a0);
    uint64_t s = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    for (; i < n; i++) s += p[i];
    return s;
}
#endif

static inline uint64_t bench_sum(const uint64_t *p, size_t n, int prefetch) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) return bench_sum_avx2(p, n, prefetch);
#else
    (void)prefetch;
#endif
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += p[i];
        s1 += p[i + 1];
        s2 += p[i + 2];
        s3 += p[i + 3];
    }
    for (; i < n; i++) s0 += p[i];
    return s0 + s1 + s2 + s3;
}

/* A buffer kept for repeated bandwidth measurements interleaved with the figures they
 * are compared with (the machine may be shared: a baseline measured minutes earlier says
 * little about the load now). */
typedef struct bench_bw {
    uint64_t *buf;
    size_t n; /* words */
} bench_bw;

/* Allocates and first-touches `bytes` (rounded down to 4 KiB) from the OpenMP team, in
 * transparent huge pages where the kernel grants them (eco_zalloc_large), as the model's
 * matrices are (model_load.c): the baseline is the best the machine's memory reads at, not
 * what 4 KiB pages cost on top. Returns 0 on success. */
static inline int bench_bw_open(bench_bw *b, size_t bytes) {
    bytes &= ~(size_t)4095;
    b->n = bytes / sizeof(uint64_t);
    b->buf = eco_zalloc_large(bytes);
    if (!b->buf) return -1;
    uint64_t *buf = b->buf;
    const size_t n = b->n;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) buf[i] = i;
    return 0;
}

static inline void bench_bw_close(bench_bw *b) {
    eco_free_large(b->buf, b->n * sizeof(uint64_t));
    b->buf = NULL;
}

/* Read bandwidth in bytes/s: streaming sum of the buffer by the current OpenMP team, each
 * thread one contiguous slice; for plain loads and for loads with software prefetch, the
 * median of `reps` passes; returns the better of the two (each also through *plain / *pf
 * when not NULL). */
static inline double bench_bw_measure(bench_bw *b, int reps, double *plain, double *pf) {
    if (plain) *plain = 0.0;
    if (pf) *pf = 0.0;
    if (!b->buf) return 0.0;
    const uint64_t *buf = b->buf;
    const size_t n = b->n;
    double *t = malloc((size_t)reps * sizeof(double));
    volatile uint64_t sink = 0;
    double best = 0.0;
    for (int mode = 0; mode < 2; mode++) {
        for (int r = 0; r < reps; r++) {
            uint64_t total = 0;
            double t0 = eco_now();
#pragma omp parallel reduction(+ : total)
            {
                int nt = omp_get_num_threads(), id = omp_get_thread_num();
                size_t per = (n / (size_t)nt) & ~(size_t)15;
                size_t lo = per * (size_t)id, hi = (id == nt - 1) ? n : lo + per;
                total += bench_sum(buf + lo, hi - lo, mode);
            }
            t[r] = eco_now() - t0;
            sink += total;
        }
        double bw = (double)n * sizeof(uint64_t) / bench_median(t, reps);
        if (mode == 0 && plain) *plain = bw;
        if (mode == 1 && pf) *pf = bw;
        if (bw > best) best = bw;
    }
    (void)sink;
    free(t);
    return best;
}

/* One-shot: allocate, measure (median of reps), free. */
static inline double bench_read_bandwidth(size_t bytes, int reps) {
    bench_bw b;
    if (bench_bw_open(&b, bytes) != 0) return 0.0;
    double bw = bench_bw_measure(&b, reps, NULL, NULL);
    bench_bw_close(&b);
    return bw;
}

/* Largest of v[n]. */
static inline double bench_max(const double *v, int n) {
    double m = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] > m) m = v[i];
    return m;
}

/* The 1-minute load average, so that a reader can tell a busy machine's figures apart. */
static inline double bench_loadavg(void) {
    double l = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &l) != 1) l = -1.0;
        fclose(f);
    }
    return l;
}

#endif
