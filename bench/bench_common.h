/*
 * Shared pieces of the benchmarks (header-only: each bench_*.c is its own executable).
 *
 *  - bench_read_bandwidth: the machine's memory read bandwidth, measured in the same run as
 *    the figure it is compared with: a streaming sum over a large buffer (1 GiB by default)
 *    on the current OpenMP thread count, median of several passes.
 *  - bench_median: median of a small array of doubles.
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

static int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[n] (sorts v). */
static double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof v[0], bench_cmp_double);
    return (n % 2) ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static uint64_t bench_sum_avx2(const uint64_t *p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
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

static uint64_t bench_sum(const uint64_t *p, size_t n) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) return bench_sum_avx2(p, n);
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

/* Read bandwidth in bytes/s: streaming sum of `bytes` (rounded down to 4 KiB) by the
 * current OpenMP team, each thread one contiguous slice, median of `reps` passes.
 * Returns 0 if the buffer cannot be allocated. */
static double bench_read_bandwidth(size_t bytes, int reps) {
    bytes &= ~(size_t)4095;
    uint64_t *buf = NULL;
    if (posix_memalign((void **)&buf, 4096, bytes) != 0) return 0.0;
    size_t n = bytes / sizeof(uint64_t);
    /* first touch by the threads that will read (one NUMA node here, but harmless) */
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) buf[i] = i;
    double *t = malloc((size_t)reps * sizeof(double));
    volatile uint64_t sink = 0;
    for (int r = 0; r < reps; r++) {
        uint64_t total = 0;
        double t0 = eco_now();
#pragma omp parallel reduction(+ : total)
        {
            int nt = omp_get_num_threads(), id = omp_get_thread_num();
            size_t per = (n / (size_t)nt) & ~(size_t)15;
            size_t b = per * (size_t)id, e = (id == nt - 1) ? n : b + per;
            total += bench_sum(buf + b, e - b);
        }
        t[r] = eco_now() - t0;
        sink += total;
    }
    (void)sink;
    double med = bench_median(t, reps);
    free(t);
    free(buf);
    return (double)bytes / med;
}

#endif
