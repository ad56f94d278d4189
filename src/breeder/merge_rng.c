/*
 * The seeded draws of the merges (merge.h): counter-based, so the i-th draw of a tensor
 * depends only on (seed, stream, i) — never on the thread count or the visiting order.
 *
 * draw(seed, stream, i) = splitmix64 output i from the state mix(mix(seed) ^ stream), i.e.
 * mix(key + (i+1)·γ) with γ = 0x9e3779b97f4a7c15 and mix the splitmix64 finaliser.
 */
#include "merge_internal.h"

#include <math.h>

uint64_t eco_merge_stream(const char *tensor_name) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
    for (const unsigned char *s = (const unsigned char *)(tensor_name ? tensor_name : ""); *s;
         s++) {
        h ^= *s;
        h *= 0x100000001b3ULL;
    }
    return eco_merge__mix(h);
}

uint64_t eco_merge_substream(uint64_t stream, uint64_t k) {
    return eco_merge__mix(stream ^ eco_merge__mix(k ^ 0x5851f42d4c957f2dULL));
}

double eco_merge_uniform(uint64_t seed, uint64_t stream, uint64_t i) {
    return eco_merge__uniform_k(eco_merge__key(seed, stream), i);
}

double eco_merge_normal(uint64_t seed, uint64_t stream, uint64_t i) {
    uint64_t key = eco_merge__key(seed, stream);
    double u1 = eco_merge__uniform_k(key, 2 * i), u2 = eco_merge__uniform_k(key, 2 * i + 1);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2); /* 1 − u1 in (0, 1] */
}

int eco_crossover_pick(uint64_t seed, uint64_t stream, int n_parents) {
    if (n_parents <= 1) return 0;
    int k = (int)(eco_merge_uniform(seed, stream, 0) * n_parents);
    return k < n_parents ? k : n_parents - 1;
}
