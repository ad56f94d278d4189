/*
 * merge_internal: what the merge_*.c files share (the counter RNG's inner step, the
 * thread-count independent reductions, the top-k selection). Private to src/breeder/.
 */
#ifndef ECO_BREEDER_MERGE_INTERNAL_H
#define ECO_BREEDER_MERGE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ecology/merge.h"

/* Elements per reduction chunk: a reduction sums each chunk in index order, then the chunk
 * sums in chunk order, whatever the thread count, so it gives the same double everywhere. */
#define ECO_MERGE_CHUNK   16384
/* Loops over at least this many elements run on the OpenMP team (element-wise only). */
#define ECO_MERGE_PAR_MIN (1 << 15)

/* splitmix64's output function applied to z (z advanced by the golden gamma first). */
static inline uint64_t eco_merge__mix(uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The key of (seed, stream): the state splitmix64 starts from for that pair. */
static inline uint64_t eco_merge__key(uint64_t seed, uint64_t stream) {
    return eco_merge__mix(eco_merge__mix(seed) ^ stream);
}

/* The i-th uniform in [0, 1) of a key: splitmix64's i-th output from it, 53 bits. */
static inline double eco_merge__uniform_k(uint64_t key, uint64_t i) {
    return (double)(eco_merge__mix(key + i * 0x9e3779b97f4a7c15ULL) >> 11) * 0x1.0p-53;
}

/* x when keep, else +0, without a branch (compilers turn `keep ? x : 0` into a jump, which
 * the coin-flip keeps of the sparsifiers and the sign votes of TIES mispredict half the
 * time). */
static inline float eco_merge__keep_f(int keep, float x) {
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    b &= 0u - (uint32_t)(keep != 0);
    memcpy(&x, &b, sizeof x);
    return x;
}
static inline double eco_merge__keep_d(int keep, double x) {
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    b &= (uint64_t)0 - (uint64_t)(keep != 0);
    memcpy(&x, &b, sizeof x);
    return x;
}

/* |x| as an ordered 31-bit key (non-negative floats order as their bit patterns). */
static inline uint32_t eco_merge__abs_key(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u & 0x7fffffffu;
}

/* Reductions in double over fixed chunks (ECO_MERGE_CHUNK): Σ|a|, Σa², Σa·b. */
double eco_merge__sum_abs(const float *a, int64_t n);
double eco_merge__sum_sq(const float *a, int64_t n);
double eco_merge__dot(const float *a, const float *b, int64_t n);

/* The k largest keys |a[i] − b[i]| (b NULL: |a[i]|), ordered by key, then lower index
 * first: an entry is among them when its key > thr, or key == thr and it is one of the
 * first `quota` entries (by index) with that key. k <= 0: none; k >= n: all. */
typedef struct eco_merge_topk {
    int64_t k, n;
    uint32_t thr;
    int64_t quota;
} eco_merge_topk;
eco_merge_topk eco_merge__topk(const float *a, const float *b, int64_t n, int64_t k);
/* Whether an entry of key u is in the top-k; *eq_seen counts the entries of key thr met so
 * far (walk the entries in index order, starting at 0). */
static inline int eco_merge__in_topk(const eco_merge_topk *s, uint32_t u, int64_t *eq_seen) {
    if (s->k <= 0) return 0;
    if (s->k >= s->n) return 1;
    int eq = u == s->thr, keep = (u > s->thr) | (eq & (*eq_seen < s->quota)); /* no branch */
    *eq_seen += eq;
    return keep;
}

/* The same top-k as a function of (index, key) alone, for a tensor seen a block at a time:
 * an entry of index i and key u is among the k when u > thr, or u == thr and i <= last (the
 * index of the quota-th entry of key thr; n when every entry of that key is in). k <= 0:
 * none; k >= n: all. */
typedef struct eco_merge_cut {
    int64_t k, n;
    uint32_t thr;
    int64_t last;
} eco_merge_cut;
static inline int eco_merge__in_cut(const eco_merge_cut *c, uint32_t u, int64_t i) {
    if (c->k <= 0) return 0;
    if (c->k >= c->n) return 1;
    return (u > c->thr) | ((u == c->thr) & (i <= c->last)); /* no branch */
}
/* Gives the block [off, off + len) of the arrays a and b of eco_merge__topk (*b NULL: keys
 * |a|); false on an error (kept by the callee). */
typedef bool (*eco_merge_blocks_fn)(void *ctx, int64_t off, int64_t len, const float **a,
                                    const float **b);
/* cut[j] = the k[j] largest keys of the n entries fn gives in blocks of `block` (nk <= 2:
 * both found in the same two or three walks over the blocks; the same entries as
 * eco_merge__topk). 0, −1 when out of memory, −2 when fn failed. */
int eco_merge__cuts(eco_merge_blocks_fn fn, void *ctx, int64_t n, int64_t block, const int64_t *k,
                    int nk, eco_merge_cut *cut);
/* Blocks [off, off + len) of several parents' arrays a[s] (and one shared b, NULL: keys
 * |a[s]|) at once; false on an error (kept by the callee). */
typedef bool (*eco_merge_blocks_multi_fn)(void *ctx, int64_t off, int64_t len, const float **a,
                                          const float **b);
/* eco_merge__cuts for ns parents at once (ns <= ECO_MERGE_MAX_PARENTS): cut[s][j] = the
 * k[s][j] largest keys of parent s's entries, the same cuts as ns calls of eco_merge__cuts,
 * from the same two or three walks over the blocks (each block of b read once a walk, not
 * once per parent). 0, −1 when out of memory (or nk outside 0..2), −2 when fn failed. */
int eco_merge__cuts_multi(eco_merge_blocks_multi_fn fn, void *ctx, int64_t n, int64_t block, int ns,
                          const int64_t (*k)[2], int nk, eco_merge_cut (*cut)[2]);

/* The element spans of the task-vector merges (merge_simd.c), each a scalar reference
 * (_ref) and a dispatcher giving the same bytes (AVX-512 or AVX2 where the CPU has it).
 *
 * combine: out[i] for i in [i0, i1) = θ₀ + λ · (the weighted sum of the deltas, with TIES
 * consensus for ties, dare_ties and della, normalised when p says so), each element in
 * double, parents in order, one rounding to f32. Parent m's δ(i) is src[m][i] − base[i]
 * (in f32) when minus_base[m], else src[m][i]; base NULL: θ₀ = 0. */
/* Test hook: the widest span kernels the dispatchers may pick: 0 scalar, 1 AVX2, 2 AVX-512
 * (the default: whatever the CPU has). Not thread-safe against running merges. */
void eco_merge__set_simd_cap(int cap);
void eco_merge__combine_span(float *out, const float *base, const float *const *src,
                             const bool *minus_base, const eco_merge_params *p, int64_t i0,
                             int64_t i1);
void eco_merge__combine_span_ref(float *out, const float *base, const float *const *src,
                                 const bool *minus_base, const eco_merge_params *p, int64_t i0,
                                 int64_t i1);
/* dare: d[i] = x (divided by density when inverse, in double) when the draw
 * eco_merge__uniform_k(key, at + i) < density, else +0, with x = a[i] − b[i] (b NULL: a[i]);
 * d may be a. Returns the kept count. */
int64_t eco_merge__dare_span(float *d, const float *a, const float *b, int64_t n, uint64_t key,
                             int64_t at, double density, bool inverse);
int64_t eco_merge__dare_span_ref(float *d, const float *a, const float *b, int64_t n, uint64_t key,
                                 int64_t at, double density, bool inverse);
/* The magnitude selection: d[i] = x when x's key is in big and not in top (indices at + i),
 * else +0, x = a[i] − b[i] (b NULL: a[i]); d may be a. Returns the kept count. */
int64_t eco_merge__cut_span(float *d, const float *a, const float *b, int64_t n,
                            const eco_merge_cut *big, const eco_merge_cut *top, int64_t at);
int64_t eco_merge__cut_span_ref(float *d, const float *a, const float *b, int64_t n,
                                const eco_merge_cut *big, const eco_merge_cut *top, int64_t at);

/* What one parent's sparsifier needs of the whole tensor: a magnitude selection keeps the
 * entries in big and not in top (ties: top.k = 0; breadcrumbs: top is the gamma share);
 * l1 rescaling (dare_*, della) multiplies the kept by scale (‖δ‖₁ / ‖kept‖₁, 1 when either
 * is 0, as eco_sparsify_random / _della). */
typedef struct eco_merge_select {
    eco_merge_cut big, top;
    double scale;
} eco_merge_select;
/* The k of big and top for parent m of a tensor of n entries (p->method ties or
 * breadcrumbs, p->density[m] < 1), as eco_sparsify_magnitude / _breadcrumbs count them. */
void eco_merge__select_k(const eco_merge_params *p, int m, int64_t n, int64_t k[2]);

/* Whether parent m's sparsifier rescales by L1 norms over the whole tensor (dare_*, della
 * with rescale l1 and 0 < density < 1). */
bool eco_merge__l1(const eco_merge_params *p, int m);
/* The scale of parent m's l1 rescaling over a rows × cols tensor whose δ_m = a − b (b NULL:
 * a) fn gives in blocks of whole rows (block_rows each): the norms of the delta and of what
 * dare's or della's draws (at the tensor's indices, stream as eco_merge_tensor's) keep,
 * summed in eco_merge__sum_abs's order. scratch[block_rows · cols]. 0, −1 when out of
 * memory, −2 when fn failed. */
int eco_merge__l1_scale(eco_merge_blocks_fn fn, void *ctx, int64_t rows, int64_t cols,
                        int64_t block_rows, const eco_merge_params *p, int m, uint64_t stream,
                        float *scratch, double *scale);

/* Whether eco_merge__tensor_rows can merge a tensor of method p by chunks of rows: ties and
 * breadcrumbs (their selections given), della (ranks per row), dare_* (draws per entry);
 * l1 rescaling with the scales given. */
bool eco_merge__rows_ok(const eco_merge_params *p);
/* Rows [row0, row0 + nrows) of a rows × cols tensor merged as eco_merge_tensor would merge
 * the whole (the same bytes there): out, base (NULL: zero) and parents[m] hold these rows
 * ([nrows · cols]); sel[m] is parent m's selection over the whole tensor (ties,
 * breadcrumbs) or its scale (l1 rescaling; unused otherwise); dare and della draw at the tensor's indices from stream;
 * scratch[n_parents · nrows · cols]; kept[m] = the entries parent m kept in these rows.
 * EINVAL when !eco_merge__rows_ok(p); ENOMEM (della's sort buffers). Runs the element
 * loops on the OpenMP team from ECO_MERGE_PAR_MIN elements, as eco_merge_tensor. */
eco_status eco_merge__tensor_rows(float *out, const float *base, const float *const *parents,
                                  int64_t cols, int64_t row0, int64_t nrows,
                                  const eco_merge_params *p, uint64_t stream,
                                  const eco_merge_select *sel, float *scratch, int64_t *kept);

/* della's sparsifier on rows [row0, row0 + rows) of a tensor of `cols` columns, d the
 * rows' delta, drawing at the tensor's indices (row0 · cols + ...), with inverse or no
 * rescaling (rescale != inverse leaves the kept unscaled: the caller L1-rescales); the kept
 * count, −1 when out of memory. */
int64_t eco_merge__della_rows(float *d, int64_t row0, int64_t rows, int64_t cols, double density,
                              double epsilon, bool inverse, uint64_t key, const uint8_t *mask);

/* The method's sparsifier applied to parent m's delta d[n] (rows × cols view), per p;
 * mask NULL draws. Returns the kept count, or −1 when out of memory. */
int64_t eco_merge__sparsify(float *d, int64_t rows, int64_t cols, const eco_merge_params *p, int m,
                            uint64_t stream, const uint8_t *mask);

#endif
