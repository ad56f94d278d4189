/* Clocks, thread counts and the project RNG. */
#include "ecology/core.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <time.h>

double eco_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void eco_set_threads(int n) {
    if (n <= 0) return;
    int asked = n;
    if (n > ECO_MAX_THREADS) n = ECO_MAX_THREADS;
    omp_set_num_threads(n);
    openblas_set_num_threads(n); /* an OpenMP OpenBLAS also caps OpenMP's count at its own limit */
    if (asked > ECO_MAX_THREADS)
        ECO_WARN("%d threads asked for; using %d (--threads allows at most %d)", asked,
                 omp_get_max_threads(), ECO_MAX_THREADS);
}

/* Runs before main (and before any OpenMP region): the team size libgomp took from
 * OMP_NUM_THREADS or the CPU count is clamped here, so no caller can forget to. */
__attribute__((constructor)) static void clamp_default_threads(void) {
    int n = omp_get_max_threads();
    if (n <= ECO_MAX_THREADS) return;
    omp_set_num_threads(ECO_MAX_THREADS);
    openblas_set_num_threads(ECO_MAX_THREADS);
    ECO_WARN("%s asks for %d threads; using %d (--threads allows at most %d)",
             getenv("OMP_NUM_THREADS") ? "OMP_NUM_THREADS" : "the CPU count", n,
             omp_get_max_threads(), ECO_MAX_THREADS);
}

int eco_get_threads(void) { return omp_get_max_threads(); }

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void eco_rng_seed(eco_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t eco_rng_next(eco_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double eco_rng_uniform(eco_rng *r) { return (double)(eco_rng_next(r) >> 11) * 0x1.0p-53; }

double eco_rng_normal(eco_rng *r) {
    double u1 = eco_rng_uniform(r), u2 = eco_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
