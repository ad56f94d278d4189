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

/* ---- selections over a tensor read in blocks -------------------------------------------- */

/* Calls fn for every block of [0, n) in order, adding to the histograms: pass 1 the high
 * 15 bits of every key (hist1), pass 2 the low 16 bits of the keys in bucket h[j] (hist2[j]),
 * pass 3 the index of the quota[j]-th key equal to thr[j] (last[j], found when < 0). */
typedef struct sel_pass {
    int pass, nj;
    int64_t *hist1, *hist2[2];
    int h[2];
    uint32_t thr[2];
    int64_t quota[2], seen[2], last[2];
} sel_pass;

static int sel_walk(eco_merge_blocks_fn fn, void *ctx, int64_t n, int64_t block, sel_pass *w) {
    for (int64_t off = 0; off < n; off += block) {
        int64_t len = n - off < block ? n - off : block;
        const float *a, *b;
        if (!fn(ctx, off, len, &a, &b)) return -2;
        if (w->pass == 1) {
            for (int64_t i = 0; i < len; i++) w->hist1[key_at(a, b, i) >> 16]++;
        } else if (w->pass == 2) {
            for (int64_t i = 0; i < len; i++) {
                uint32_t u = key_at(a, b, i);
                for (int j = 0; j < w->nj; j++)
                    if ((int)(u >> 16) == w->h[j]) w->hist2[j][u & 0xffffu]++;
            }
        } else {
            int open = 0;
            for (int j = 0; j < w->nj; j++) {
                if (w->last[j] >= 0) continue;
                for (int64_t i = 0; i < len && w->last[j] < 0; i++)
                    if (key_at(a, b, i) == w->thr[j] && ++w->seen[j] == w->quota[j])
                        w->last[j] = off + i;
                open |= w->last[j] < 0;
            }
            if (!open) break;
        }
    }
    return 0;
}

int eco_merge__cuts(eco_merge_blocks_fn fn, void *ctx, int64_t n, int64_t block, const int64_t *k,
                    int nk, eco_merge_cut *cut) {
    static const int HI = 1 << 15, LO = 1 << 16;
    sel_pass w;
    memset(&w, 0, sizeof w);
    int idx[2]; /* cut of each selection that needs the passes */
    for (int j = 0; j < nk && j < 2; j++) {
        cut[j] = (eco_merge_cut){.k = k[j], .n = n, .thr = 0, .last = n};
        if (k[j] > 0 && k[j] < n) idx[w.nj++] = j;
    }
    if (w.nj == 0) return 0;
    if (block < 1) block = 1;
    int rc = -1;
    w.hist1 = calloc((size_t)HI, sizeof *w.hist1);
    for (int j = 0; j < w.nj; j++) w.hist2[j] = calloc((size_t)LO, sizeof *w.hist2[j]);
    if (!w.hist1 || !w.hist2[0] || (w.nj > 1 && !w.hist2[1])) goto done;
    w.pass = 1;
    if ((rc = sel_walk(fn, ctx, n, block, &w))) goto done;
    int64_t need[2];
    for (int j = 0; j < w.nj; j++) { /* as eco_merge__topk */
        int64_t kk = k[idx[j]], above = 0;
        int h = HI - 1;
        while (above + w.hist1[h] < kk) above += w.hist1[h--];
        w.h[j] = h;
        need[j] = kk - above;
    }
    w.pass = 2;
    if ((rc = sel_walk(fn, ctx, n, block, &w))) goto done;
    bool walk3 = false;
    for (int j = 0; j < w.nj; j++) {
        int64_t above2 = 0;
        int l = LO - 1;
        while (above2 + w.hist2[j][l] < need[j]) above2 += w.hist2[j][l--];
        w.thr[j] = ((uint32_t)w.h[j] << 16) | (uint32_t)l;
        w.quota[j] = need[j] - above2;
        /* every entry of the threshold key kept: no index needed */
        w.last[j] = w.quota[j] == w.hist2[j][l] ? n : -1;
        walk3 |= w.last[j] < 0;
    }
    w.pass = 3;
    if (walk3 && (rc = sel_walk(fn, ctx, n, block, &w))) goto done;
    for (int j = 0; j < w.nj; j++) {
        cut[idx[j]].thr = w.thr[j];
        cut[idx[j]].last = w.last[j];
    }
    rc = 0;
done:
    free(w.hist1);
    free(w.hist2[0]);
    free(w.hist2[1]);
    return rc;
}
