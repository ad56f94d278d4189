/*
 * The tensor operators beside the merges (merge.h): mutate (seeded Gaussian noise relative
 * to the tensor's RMS) and magnitude pruning. The noise of entry i is the counter draw
 * (seed, stream, i) and the RMS a fixed-chunk reduction, so the bytes do not depend on the
 * thread count.
 */
#include "merge_internal.h"

#include <math.h>

void eco_mutate_tensor(float *w, int64_t n, double sigma_rel, uint64_t seed, uint64_t stream) {
    if (n <= 0 || !(sigma_rel != 0) || !isfinite(sigma_rel)) return;
    double sigma = sigma_rel * sqrt(eco_merge__sum_sq(w, n) / (double)n);
    if (sigma == 0 || !isfinite(sigma)) return;
    uint64_t key = eco_merge__key(seed, stream);
#pragma omp parallel for schedule(static) if (n >= ECO_MERGE_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        double u1 = eco_merge__uniform_k(key, 2 * (uint64_t)i);
        double u2 = eco_merge__uniform_k(key, 2 * (uint64_t)i + 1);
        double z = sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2); /* eco_merge_normal */
        w[i] = (float)((double)w[i] + sigma * z);
    }
}

int64_t eco_prune_magnitude(float *w, const float *base, int64_t n, double density) {
    if (n <= 0 || !(density < 1)) return 0;
    int64_t k = density > 0 ? (int64_t)(density * (double)n) : 0;
    eco_merge_topk s = eco_merge__topk(w, base, n, k);
    int64_t eq = 0, set = 0;
    for (int64_t i = 0; i < n; i++) {
        float v = base ? w[i] - base[i] : w[i];
        if (!eco_merge__in_topk(&s, eco_merge__abs_key(v), &eq)) {
            w[i] = base ? base[i] : 0.0f;
            set++;
        }
    }
    return set;
}
