/*
 * eco_merge_tensor (merge.h): one tensor of a merge. The task-vector family (deltas,
 * sparsify, weighted sum with or without TIES consensus, normalize, λ), linear (the model
 * soup) and slerp. Element-wise loops run on the OpenMP team; each element is computed the
 * same way on any thread (its sums over parents in double, in parent order), and slerp's
 * norms are fixed-chunk reductions, so the bytes do not depend on the thread count.
 */
#include "merge_internal.h"

#include <math.h>
#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static bool has_sparsifier(eco_merge_method m) {
    return m == ECO_MERGE_METHOD_TIES || m == ECO_MERGE_METHOD_DARE_LINEAR ||
           m == ECO_MERGE_METHOD_DARE_TIES || m == ECO_MERGE_METHOD_BREADCRUMBS ||
           m == ECO_MERGE_METHOD_DELLA;
}

/* out = θ₀ + λ·(soup − θ₀), soup = Σ w_m θ_m (/ Σ w_m when normalizing); λ = 1: the soup.
 * Elements [i0, i1), each in double: the sum in parent order (a product, then a sum: no
 * fused multiply-add, even in a -march=native build), one division, one rounding to f32. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=off")))
#endif
static void
linear_span(float *out, const float *base, const float *const *parents, int np, const double *w,
            double div, double lambda, int64_t i0, int64_t i1) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
    for (int64_t i = i0; i < i1; i++) {
        double mix = 0;
        for (int m = 0; m < np; m++) mix += w[m] * (double)parents[m][i];
        double soup = mix / div;
        if (lambda == 1)
            out[i] = (float)soup;
        else {
            double b = base ? base[i] : 0.0;
            out[i] = (float)(b + lambda * (soup - b));
        }
    }
}

#if defined(__x86_64__)
/* linear_span four elements at a time: the same operations on each element in the same
 * order (IEEE products, sums and quotients are the same packed or scalar), so the same
 * bytes; about 10× the scalar loop (three parents of 16K elements, in L2; the scalar
 * loop waits on its division). */
__attribute__((target("avx2"))) static void
linear_span_avx2(float *out, const float *base, const float *const *parents, int np,
                 const double *w, double div, double lambda, int64_t i0, int64_t i1) {
    const __m256d vdiv = _mm256_set1_pd(div), vl = _mm256_set1_pd(lambda);
    __m256d vw[ECO_MERGE_MAX_PARENTS];
    for (int m = 0; m < np; m++) vw[m] = _mm256_set1_pd(w[m]);
    int64_t i = i0;
    for (; i + 4 <= i1; i += 4) {
        __m256d mix = _mm256_setzero_pd();
        for (int m = 0; m < np; m++)
            mix = _mm256_add_pd(
                mix, _mm256_mul_pd(vw[m], _mm256_cvtps_pd(_mm_loadu_ps(parents[m] + i))));
        __m256d r = _mm256_div_pd(mix, vdiv);
        if (lambda != 1) {
            __m256d b = base ? _mm256_cvtps_pd(_mm_loadu_ps(base + i)) : _mm256_setzero_pd();
            r = _mm256_add_pd(b, _mm256_mul_pd(vl, _mm256_sub_pd(r, b)));
        }
        _mm_storeu_ps(out + i, _mm256_cvtpd_ps(r));
    }
    linear_span(out, base, parents, np, w, div, lambda, i, i1);
}
#endif

#define LINEAR_BLOCK 4096 /* elements per task of the OpenMP loop */

static void merge_linear(float *out, const float *base, const float *const *parents, int64_t n,
                         const eco_merge_params *p) {
    int np = p->n_parents;
    double div = 0;
    for (int m = 0; m < np; m++) div += p->weight[m];
    if (!eco_merge_params_normalize(p) || fabs(div) < 1e-8) div = 1;
    double lambda = p->lambda;
    bool avx2 = false;
#if defined(__x86_64__)
    avx2 = __builtin_cpu_supports("avx2");
#endif
    int64_t nb = (n + LINEAR_BLOCK - 1) / LINEAR_BLOCK;
#pragma omp parallel for schedule(static) if (n >= ECO_MERGE_PAR_MIN)
    for (int64_t k = 0; k < nb; k++) {
        int64_t i0 = k * LINEAR_BLOCK, i1 = i0 + LINEAR_BLOCK < n ? i0 + LINEAR_BLOCK : n;
#if defined(__x86_64__)
        if (avx2) {
            linear_span_avx2(out, base, parents, np, p->weight, div, lambda, i0, i1);
            continue;
        }
#endif
        linear_span(out, base, parents, np, p->weight, div, lambda, i0, i1);
    }
    (void)avx2;
}

/* Two parents a (t = 0) and b (t = 1), each tensor one vector (mergekit's slerp). */
static void merge_slerp(float *out, const float *a, const float *b, int64_t n, double t) {
    double na = sqrt(eco_merge__sum_sq(a, n)), nb = sqrt(eco_merge__sum_sq(b, n));
    double ab = eco_merge__dot(a, b, n);
    /* normalised copies; a norm ≤ 1e-8 is left as it is (mergekit) */
    double dot = ab / ((na > 1e-8 ? na : 1.0) * (nb > 1e-8 ? nb : 1.0));
    double c0, c1;
    if (fabs(dot) > 0.9995) { /* near-parallel: lerp */
        c0 = 1 - t;
        c1 = t;
    } else {
        double th = acos(dot), s = sin(th);
        c0 = sin((1 - t) * th) / s;
        c1 = sin(t * th) / s;
    }
#pragma omp parallel for schedule(static) if (n >= ECO_MERGE_PAR_MIN)
    for (int64_t i = 0; i < n; i++) out[i] = (float)(c0 * a[i] + c1 * b[i]);
}

/* The weighted sum of the (sparsified) deltas with or without TIES consensus, normalised,
 * times λ, over θ₀: out[n] (eco_merge__combine_span, in blocks). Parent m's δ(i) is
 * src[m][i] − base[i] when minus_base[m], else src[m][i] (a sparsified delta: the same f32
 * difference the delta holds). One function for whole tensors and chunks of rows, so both
 * give the same bytes. */
#define COMBINE_BLOCK 4096 /* elements per task of the OpenMP loop */

static void combine(float *out, const float *base, const float *const *src, const bool *minus_base,
                    int64_t n, const eco_merge_params *p) {
    int64_t nb = (n + COMBINE_BLOCK - 1) / COMBINE_BLOCK;
#pragma omp parallel for schedule(static) if (n >= ECO_MERGE_PAR_MIN)
    for (int64_t k = 0; k < nb; k++) {
        int64_t i0 = k * COMBINE_BLOCK, i1 = i0 + COMBINE_BLOCK < n ? i0 + COMBINE_BLOCK : n;
        eco_merge__combine_span(out, base, src, minus_base, p, i0, i1);
    }
}

static eco_status merge_task_vectors(float *out, const float *base, const float *const *parents,
                                     int64_t rows, int64_t cols, const eco_merge_params *p,
                                     uint64_t stream, const uint8_t *const *masks,
                                     eco_merge_stats *stats) {
    int np = p->n_parents;
    int64_t n = rows * cols;
    float *d[ECO_MERGE_MAX_PARENTS] = {0};
    eco_status st = ECO_STATUS_OK;
    for (int m = 0; m < np; m++) {
        if (!has_sparsifier(p->method) || !(p->density[m] < 1)) continue;
        d[m] = malloc((size_t)n * sizeof(float));
        if (!d[m]) {
            st = eco_error(ECO_STATUS_ENOMEM, "merge: no memory for a delta of %lld elements",
                           (long long)n);
            goto done;
        }
        const float *pm = parents[m];
        float *dm = d[m];
#pragma omp parallel for schedule(static) if (n >= ECO_MERGE_PAR_MIN)
        for (int64_t i = 0; i < n; i++) dm[i] = base ? pm[i] - base[i] : pm[i];
        int64_t kept = eco_merge__sparsify(dm, rows, cols, p, m, stream, masks ? masks[m] : NULL);
        if (kept < 0) {
            st = eco_error(ECO_STATUS_ENOMEM, "merge: no memory to sparsify a %lld x %lld tensor",
                           (long long)rows, (long long)cols);
            goto done;
        }
        if (stats) {
            stats->kept[m] = kept;
            if (kept == 0) stats->empty = true;
        }
    }
    /* δ_m(i): the sparsified delta when there is one, else θ_m − θ₀ computed in combine */
    const float *src[ECO_MERGE_MAX_PARENTS] = {0};
    bool minus_base[ECO_MERGE_MAX_PARENTS] = {0};
    for (int m = 0; m < np; m++) {
        src[m] = d[m] ? d[m] : parents[m];
        minus_base[m] = !d[m] && base;
    }
    combine(out, base, src, minus_base, n, p);
done:
    for (int m = 0; m < np; m++) free(d[m]);
    return st;
}

eco_status eco_merge_tensor(float *out, const float *base, const float *const *parents,
                            int64_t rows, int64_t cols, const eco_merge_params *p, double t,
                            uint64_t stream, const uint8_t *const *masks, eco_merge_stats *stats) {
    if (!p) return eco_error(ECO_STATUS_EINVAL, "merge: no parameters");
    eco_status st = eco_merge_params_check(p);
    if (st) return st;
    if (!out || !parents) return eco_error(ECO_STATUS_EINVAL, "merge: no output or no parents");
    if (rows < 0 || cols < 0)
        return eco_error(ECO_STATUS_EINVAL, "merge: tensor shape %lld x %lld is negative",
                         (long long)rows, (long long)cols);
    if (cols > 0 && rows > INT64_MAX / cols)
        return eco_error(ECO_STATUS_EOVERFLOW, "merge: tensor shape %lld x %lld overflows",
                         (long long)rows, (long long)cols);
    int64_t n = rows * cols;
    if ((uint64_t)n > SIZE_MAX / sizeof(float))
        return eco_error(ECO_STATUS_EOVERFLOW, "merge: tensor of %lld elements overflows",
                         (long long)n);
    if (p->method == ECO_MERGE_METHOD_DELLA && cols > (int64_t)UINT32_MAX)
        return eco_error(ECO_STATUS_EINVAL, "merge: della: rows of %lld elements (at most 2^32)",
                         (long long)cols);
    for (int m = 0; m < p->n_parents; m++)
        if (!parents[m]) return eco_error(ECO_STATUS_EINVAL, "merge: parent %d has no data", m);
    if (p->method == ECO_MERGE_METHOD_SLERP && !(t >= 0 && t <= 1))
        return eco_error(ECO_STATUS_EINVAL, "merge: t: %g outside [0, 1]", t);
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->n = n;
        for (int m = 0; m < p->n_parents; m++) stats->kept[m] = n;
    }
    if (n == 0) return ECO_STATUS_OK;
    switch (p->method) {
        case ECO_MERGE_METHOD_LINEAR:
            merge_linear(out, base, parents, n, p);
            return ECO_STATUS_OK;
        case ECO_MERGE_METHOD_SLERP:
            merge_slerp(out, parents[0], parents[1], n, t);
            return ECO_STATUS_OK;
        default:
            return merge_task_vectors(out, base, parents, rows, cols, p, stream, masks, stats);
    }
}

/* ---- chunks of rows --------------------------------------------------------------------- */

void eco_merge__select_k(const eco_merge_params *p, int m, int64_t n, int64_t k[2]) {
    double density = p->density[m];
    k[0] = density > 0 ? (int64_t)(density * (double)n) : 0; /* eco_sparsify_magnitude */
    k[1] = 0;
    if (p->method == ECO_MERGE_METHOD_BREADCRUMBS) { /* eco_sparsify_breadcrumbs */
        int64_t n_top = p->gamma > 0 ? (int64_t)(p->gamma * (double)n) : 0;
        k[1] = n_top > k[0] ? k[0] : n_top;
    }
}

bool eco_merge__rows_ok(const eco_merge_params *p) {
    return p->method == ECO_MERGE_METHOD_TIES || p->method == ECO_MERGE_METHOD_BREADCRUMBS ||
           p->method == ECO_MERGE_METHOD_DELLA || p->method == ECO_MERGE_METHOD_DARE_LINEAR ||
           p->method == ECO_MERGE_METHOD_DARE_TIES;
}

static bool is_random(eco_merge_method m) {
    return m == ECO_MERGE_METHOD_DARE_LINEAR || m == ECO_MERGE_METHOD_DARE_TIES ||
           m == ECO_MERGE_METHOD_DELLA;
}

bool eco_merge__l1(const eco_merge_params *p, int m) {
    return is_random(p->method) && p->rescale == ECO_MERGE_RESCALE_L1 && p->density[m] < 1 &&
           p->density[m] > 0;
}

/* Rows [row0, row0 + nrows) of parent m's delta a − b (b NULL: a; [nrows · cols] each)
 * sparsified into d (which may be a) by dare or della (draws at the tensor's indices), kept
 * entries unscaled when l1, divided by their probability when inverse; the kept count, −1
 * when out of memory. */
static int64_t sparsify_rows(float *d, const float *a, const float *b, int64_t row0, int64_t nrows,
                             int64_t cols, const eco_merge_params *p, int m, uint64_t stream) {
    int64_t n = nrows * cols, off = row0 * cols;
    double density = p->density[m];
    bool inverse = p->rescale != ECO_MERGE_RESCALE_L1;
    uint64_t key = eco_merge__key(p->seed, eco_merge_substream(stream, (uint64_t)m));
    if (!(density > 0)) {
        memset(d, 0, (size_t)n * sizeof *d);
        return 0;
    }
    if (p->method == ECO_MERGE_METHOD_DELLA) {
        if (b || d != a) {
#pragma omp parallel for schedule(static) if (n >= ECO_MERGE_PAR_MIN)
            for (int64_t i = 0; i < n; i++) d[i] = b ? a[i] - b[i] : a[i];
        }
        return eco_merge__della_rows(d, row0, nrows, cols, density, p->epsilon, inverse, key, NULL);
    }
    int64_t kept = 0, nb = (n + COMBINE_BLOCK - 1) / COMBINE_BLOCK; /* eco_sparsify_random */
#pragma omp parallel for schedule(static) reduction(+ : kept) if (n >= ECO_MERGE_PAR_MIN)
    for (int64_t k = 0; k < nb; k++) {
        int64_t i0 = k * COMBINE_BLOCK, len = n - i0 < COMBINE_BLOCK ? n - i0 : COMBINE_BLOCK;
        kept += eco_merge__dare_span(d + i0, a + i0, b ? b + i0 : NULL, len, key, off + i0, density,
                                     inverse);
    }
    return kept;
}

/* Adds |x[0..n)| to a running fixed-chunk sum: *part holds the open chunk (which began at a
 * multiple of ECO_MERGE_CHUNK), *total the closed ones; at is x's index in the tensor. */
static void l1_add(const float *x, int64_t n, int64_t at, double *part, double *total) {
    for (int64_t i = 0; i < n; i++) {
        *part += fabs((double)x[i]);
        if ((at + i + 1) % ECO_MERGE_CHUNK == 0) {
            *total += *part;
            *part = 0;
        }
    }
}

int eco_merge__l1_scale(eco_merge_blocks_fn fn, void *ctx, int64_t rows, int64_t cols,
                        int64_t block_rows, const eco_merge_params *p, int m, uint64_t stream,
                        float *scratch, double *scale) {
    *scale = 1;
    if (block_rows < 1) block_rows = 1;
    double part[2] = {0, 0}, total[2] = {0, 0}; /* the delta, the kept */
    for (int64_t r0 = 0; r0 < rows; r0 += block_rows) {
        int64_t nr = rows - r0 < block_rows ? rows - r0 : block_rows, n = nr * cols;
        const float *a, *b;
        if (!fn(ctx, r0 * cols, n, &a, &b)) return -2;
        for (int64_t i = 0; i < n; i++) scratch[i] = b ? a[i] - b[i] : a[i];
        l1_add(scratch, n, r0 * cols, &part[0], &total[0]);
        if (sparsify_rows(scratch, scratch, NULL, r0, nr, cols, p, m, stream) < 0) return -1;
        l1_add(scratch, n, r0 * cols, &part[1], &total[1]);
    }
    double before = total[0] + part[0], after = total[1] + part[1]; /* the open chunk last */
    if (before > 0 && after > 0) *scale = before / after;
    return 0;
}

eco_status eco_merge__tensor_rows(float *out, const float *base, const float *const *parents,
                                  int64_t cols, int64_t row0, int64_t nrows,
                                  const eco_merge_params *p, uint64_t stream,
                                  const eco_merge_select *sel, float *scratch, int64_t *kept) {
    if (!eco_merge__rows_ok(p))
        return eco_error(ECO_STATUS_EINVAL, "merge: %s: not mergeable by rows",
                         eco_merge_method_name(p->method));
    if (p->method == ECO_MERGE_METHOD_DELLA && cols > (int64_t)UINT32_MAX)
        return eco_error(ECO_STATUS_EINVAL, "merge: della: rows of %lld elements (at most 2^32)",
                         (long long)cols);
    int np = p->n_parents;
    int64_t n = nrows * cols, off = row0 * cols;
    const float *src[ECO_MERGE_MAX_PARENTS] = {0};
    bool minus_base[ECO_MERGE_MAX_PARENTS] = {0};
    for (int m = 0; m < np; m++) {
        kept[m] = n;
        src[m] = parents[m];
        minus_base[m] = base != NULL;
        double density = p->density[m];
        if (!(density < 1) || n == 0) continue;
        const float *pm = parents[m];
        float *dm = scratch + (size_t)m * (size_t)n;
        src[m] = dm;
        minus_base[m] = false;
        if (is_random(p->method)) { /* draws per entry, della's ranks within each row */
            kept[m] = sparsify_rows(dm, pm, base, row0, nrows, cols, p, m, stream);
            if (kept[m] < 0)
                return eco_error(ECO_STATUS_ENOMEM, "merge: no memory to sort rows of %lld",
                                 (long long)cols);
            if (eco_merge__l1(p, m)) { /* l1_rescale's multiply, with the whole tensor's scale */
                double scale = sel[m].scale;
#pragma omp parallel for schedule(static) if (n >= ECO_MERGE_PAR_MIN)
                for (int64_t i = 0; i < n; i++) dm[i] = (float)((double)dm[i] * scale);
            }
            continue;
        }
        /* magnitude: the whole tensor's selection */
        kept[m] = eco_merge__cut_span(dm, pm, base, n, &sel[m].big, &sel[m].top, off);
    }
    combine(out, base, src, minus_base, n, p);
    return ECO_STATUS_OK;
}
