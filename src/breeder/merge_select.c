/*
 * Top-k selection by magnitude (merge_internal.h) for the magnitude and breadcrumbs
 * sparsifiers and magnitude pruning: a two-pass radix select on the 31-bit keys |x| (high
 * 15 bits, then low 16 bits among the entries in the chosen bucket), O(n), no copy of the
 * tensor. Ties are broken by index (lower first) through the quota of the threshold key.
 */
#include "merge_internal.h"

#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

/* One selection's state over the walks (the top-k of one parent's keys, one or two k): pass
 * 1 counts the high 15 bits of every key (hist1), pass 2 the low 16 bits of the keys in
 * bucket h[j] (hist2[j]), pass 3 finds the index of the quota[j]-th key equal to thr[j]
 * (last[j], found when >= 0). */
typedef struct sel_pass {
    int pass, nj;
    int idx[2]; /* the cut of each k that needs the walks */
    int64_t *hist1, *hist2[2];
    uint32_t *h32;   /* pass 1 counts here first: half hist1's cache footprint */
    int64_t h32_len; /* keys counted in h32 since its last flush into hist1 */
    int h[2];
    uint32_t thr[2];
    int64_t need[2], quota[2], seen[2], last[2];
    bool open; /* pass 3: an index is still sought */
} sel_pass;

#define KEYS_BLOCK 2048 /* keys computed at a time (8 KB on the stack) */

/* u[i] = the key of a[i] − b[i] (b NULL: a[i]), i < len. */
static void keys_scalar(uint32_t *u, const float *a, const float *b, int64_t len) {
    for (int64_t i = 0; i < len; i++) u[i] = key_at(a, b, i);
}

/* The first i in [i, len) with (u[i] >> shift) == v, else len. */
static int64_t next_scalar(const uint32_t *u, int64_t i, int64_t len, int shift, uint32_t v) {
    while (i < len && (u[i] >> shift) != v) i++;
    return i;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void keys_avx2(uint32_t *u, const float *a, const float *b,
                                                      int64_t len) {
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff);
    int64_t i = 0;
    for (; i + 8 <= len; i += 8) {
        __m256 v = _mm256_loadu_ps(a + i);
        if (b) v = _mm256_sub_ps(v, _mm256_loadu_ps(b + i));
        _mm256_storeu_si256((__m256i *)(void *)(u + i),
                            _mm256_and_si256(_mm256_castps_si256(v), abs_mask));
    }
    keys_scalar(u + i, a + i, b ? b + i : NULL, len - i);
}

__attribute__((target("avx2"))) static int64_t next_avx2(const uint32_t *u, int64_t i, int64_t len,
                                                         int shift, uint32_t v) {
    const __m256i want = _mm256_set1_epi32((int)v);
    const __m128i sh = _mm_cvtsi32_si128(shift);
    for (; i + 8 <= len; i += 8) {
        __m256i x =
            _mm256_srl_epi32(_mm256_loadu_si256((const __m256i *)(const void *)(u + i)), sh);
        unsigned hit =
            (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(x, want)));
        if (hit) return i + __builtin_ctz(hit);
    }
    return next_scalar(u, i, len, shift, v);
}
#endif

static bool simd_ok(void) {
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx2");
#else
    return false;
#endif
}

static void keys_of(uint32_t *u, const float *a, const float *b, int64_t len, bool simd) {
#if defined(__x86_64__)
    if (simd) {
        keys_avx2(u, a, b, len);
        return;
    }
#endif
    (void)simd;
    keys_scalar(u, a, b, len);
}

static int64_t next_of(const uint32_t *u, int64_t i, int64_t len, int shift, uint32_t v,
                       bool simd) {
#if defined(__x86_64__)
    if (simd) return next_avx2(u, i, len, shift, v);
#endif
    (void)simd;
    return next_scalar(u, i, len, shift, v);
}

/* Adds the counts of h32 to hist1 and clears them. */
static void h32_flush(sel_pass *w) {
    for (int j = 0; j < (1 << 15); j++) {
        w->hist1[j] += w->h32[j];
        w->h32[j] = 0;
    }
    w->h32_len = 0;
}

/* Adds keys u[len] of indices at .. to w's histograms (its pass); pass 3: w->open updated. */
static void sel_keys(sel_pass *w, const uint32_t *u, int64_t len, int64_t at, bool simd) {
    if (w->pass == 1) {
        uint32_t *h = w->h32;
        for (int64_t i = 0; i < len; i++) h[u[i] >> 16]++;
        if ((w->h32_len += len) >= ((int64_t)1 << 31)) h32_flush(w);
        return;
    }
    if (w->pass == 2) { /* the few keys in bucket h[j] */
        for (int j = 0; j < w->nj; j++)
            for (int64_t i = next_of(u, 0, len, 16, (uint32_t)w->h[j], simd); i < len;
                 i = next_of(u, i + 1, len, 16, (uint32_t)w->h[j], simd))
                w->hist2[j][u[i] & 0xffffu]++;
        return;
    }
    bool open = false;
    for (int j = 0; j < w->nj; j++) {
        for (int64_t i = next_of(u, 0, len, 0, w->thr[j], simd); i < len && w->last[j] < 0;
             i = next_of(u, i + 1, len, 0, w->thr[j], simd))
            if (++w->seen[j] == w->quota[j]) w->last[j] = at + i;
        open |= w->last[j] < 0;
    }
    w->open = open;
}

/* One walk over the blocks of [0, n) in order: each selection w[s] that takes part (pass > 0
 * and, in pass 3, open) gets the keys of its parent's block (a[s] − b). Ends early when
 * no selection is left open in pass 3. */
static int sel_walk(eco_merge_blocks_multi_fn fn, void *ctx, int64_t n, int64_t block, sel_pass *w,
                    int ns, int pass) {
    uint32_t u[KEYS_BLOCK];
    const float *a[ECO_MERGE_MAX_PARENTS];
    const bool simd = simd_ok();
    for (int s = 0; s < ns; s++) w[s].pass = w[s].nj > 0 && (pass < 3 || w[s].open) ? pass : 0;
    for (int64_t off = 0; off < n; off += block) {
        int64_t len = n - off < block ? n - off : block;
        const float *b;
        if (!fn(ctx, off, len, a, &b)) return -2;
        bool any = false;
        for (int s = 0; s < ns; s++) {
            if (w[s].pass == 0 || (pass == 3 && !w[s].open)) continue;
            for (int64_t k = 0; k < len && (pass < 3 || w[s].open); k += KEYS_BLOCK) {
                int64_t m = len - k < KEYS_BLOCK ? len - k : KEYS_BLOCK;
                keys_of(u, a[s] + k, b ? b + k : NULL, m, simd);
                sel_keys(&w[s], u, m, off + k, simd);
            }
            any |= pass < 3 || w[s].open;
        }
        if (!any) break;
    }
    return 0;
}

int eco_merge__cuts_multi(eco_merge_blocks_multi_fn fn, void *ctx, int64_t n, int64_t block, int ns,
                          const int64_t (*k)[2], int nk, eco_merge_cut (*cut)[2]) {
    static const int HI = 1 << 15, LO = 1 << 16;
    if (ns < 0 || ns > ECO_MERGE_MAX_PARENTS || nk < 0 || nk > 2) return -1;
    sel_pass w[ECO_MERGE_MAX_PARENTS];
    memset(w, 0, sizeof w);
    bool any = false;
    for (int s = 0; s < ns; s++)
        for (int j = 0; j < nk; j++) {
            cut[s][j] = (eco_merge_cut){.k = k[s][j], .n = n, .thr = 0, .last = n};
            if (k[s][j] > 0 && k[s][j] < n) w[s].idx[w[s].nj++] = j;
            any |= w[s].nj > 0;
        }
    if (!any) return 0;
    if (block < 1) block = 1;
    int rc = -1;
    for (int s = 0; s < ns; s++) {
        if (w[s].nj == 0) continue;
        if (!(w[s].hist1 = calloc((size_t)HI, sizeof *w[s].hist1))) goto done;
        if (!(w[s].h32 = calloc((size_t)HI, sizeof *w[s].h32))) goto done;
        for (int j = 0; j < w[s].nj; j++)
            if (!(w[s].hist2[j] = calloc((size_t)LO, sizeof *w[s].hist2[j]))) goto done;
    }
    if ((rc = sel_walk(fn, ctx, n, block, w, ns, 1))) goto done;
    for (int s = 0; s < ns; s++)
        if (w[s].nj > 0) h32_flush(&w[s]);
    for (int s = 0; s < ns; s++)
        for (int j = 0; j < w[s].nj; j++) { /* as eco_merge__topk */
            int64_t kk = k[s][w[s].idx[j]], above = 0;
            int h = HI - 1;
            while (above + w[s].hist1[h] < kk) above += w[s].hist1[h--];
            w[s].h[j] = h;
            w[s].need[j] = kk - above;
        }
    if ((rc = sel_walk(fn, ctx, n, block, w, ns, 2))) goto done;
    bool walk3 = false;
    for (int s = 0; s < ns; s++) {
        for (int j = 0; j < w[s].nj; j++) {
            int64_t above2 = 0;
            int l = LO - 1;
            while (above2 + w[s].hist2[j][l] < w[s].need[j]) above2 += w[s].hist2[j][l--];
            w[s].thr[j] = ((uint32_t)w[s].h[j] << 16) | (uint32_t)l;
            w[s].quota[j] = w[s].need[j] - above2;
            /* every entry of the threshold key kept: no index needed */
            w[s].last[j] = w[s].quota[j] == w[s].hist2[j][l] ? n : -1;
            w[s].open |= w[s].last[j] < 0;
        }
        walk3 |= w[s].open;
    }
    if (walk3 && (rc = sel_walk(fn, ctx, n, block, w, ns, 3))) goto done;
    for (int s = 0; s < ns; s++)
        for (int j = 0; j < w[s].nj; j++) {
            cut[s][w[s].idx[j]].thr = w[s].thr[j];
            cut[s][w[s].idx[j]].last = w[s].last[j];
        }
    rc = 0;
done:
    for (int s = 0; s < ns; s++) {
        free(w[s].hist1);
        free(w[s].h32);
        free(w[s].hist2[0]);
        free(w[s].hist2[1]);
    }
    return rc;
}

/* eco_merge__cuts's one parent as a selection of eco_merge__cuts_multi. */
typedef struct one_fn {
    eco_merge_blocks_fn fn;
    void *ctx;
} one_fn;

static bool one_block(void *ctx, int64_t off, int64_t len, const float **a, const float **b) {
    one_fn *o = ctx;
    return o->fn(o->ctx, off, len, &a[0], b);
}

int eco_merge__cuts(eco_merge_blocks_fn fn, void *ctx, int64_t n, int64_t block, const int64_t *k,
                    int nk, eco_merge_cut *cut) {
    if (nk < 0 || nk > 2) return -1;
    one_fn o = {fn, ctx};
    int64_t kk[1][2] = {{nk > 0 ? k[0] : 0, nk > 1 ? k[1] : 0}};
    eco_merge_cut c[1][2];
    int rc = eco_merge__cuts_multi(one_block, &o, n, block, 1, (const int64_t(*)[2])kk, nk, c);
    for (int j = 0; j < nk; j++) cut[j] = c[0][j];
    return rc;
}
