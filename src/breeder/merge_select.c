/*
 * Top-k selection by magnitude (merge_internal.h) for the magnitude and breadcrumbs
 * sparsifiers and magnitude pruning: a two-pass radix select on the 31-bit keys |x| (high
 * 15 bits, then low 16 bits among the entries in the chosen bucket), O(n), no copy of the
 * tensor. Ties are broken by index (lower first) through the quota of the threshold key.
 */
#include "merge_internal.h"

#include <stdlib.h>

static inline uint32_t key_at(const float *a, const float *b, int64_t i) {
    return eco_merge__abs_key(b ? a[i] - b[i] : a[i]);
}

eco_merge_topk eco_merge__topk(const float *a, const float *b, int64_t n, int64_t k) {
    eco_merge_topk s = {.k = k, .n = n, .thr = 0, .quota = 0};
    if (k <= 0 || k >= n) return s;
    static const int HI = 1 << 15, LO = 1 << 16;
    int64_t *hist = calloc((size_t)LO, sizeof *hist); /* large enough for both passes */
    if (!hist) {
        /* no memory for the histogram: a slower selection by bisection on the key */
        uint32_t lo = 0, hi = 0x7fffffffu; /* the threshold: count(key >= thr) >= k */
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo + 1) / 2;
            int64_t c = 0;
            for (int64_t i = 0; i < n; i++) c += key_at(a, b, i) >= mid;
            if (c >= k)
                lo = mid;
            else
                hi = mid - 1;
        }
        int64_t above = 0;
        for (int64_t i = 0; i < n; i++) above += key_at(a, b, i) > lo;
        s.thr = lo;
        s.quota = k - above;
        return s;
    }
    for (int64_t i = 0; i < n; i++) hist[key_at(a, b, i) >> 16]++;
    int64_t above = 0;
    int h = HI - 1;
    while (above + hist[h] < k) above += hist[h--];
    int64_t need = k - above; /* of bucket h, 1..hist[h] */
    for (int j = 0; j < LO; j++) hist[j] = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u = key_at(a, b, i);
        if ((int)(u >> 16) == h) hist[u & 0xffffu]++;
    }
    int64_t above2 = 0;
    int l = LO - 1;
    while (above2 + hist[l] < need) above2 += hist[l--];
    free(hist);
    s.thr = ((uint32_t)h << 16) | (uint32_t)l;
    s.quota = need - above2;
    return s;
}
