/*
 * The int8 q8_0 product (q8_0_gemm.h): activations quantized per 32-block, then exact
 * int32 block dots scaled by dw·dx and summed in f32.
 *
 * Layout. Activations (eco_q8_act) are stored 8 tokens at a time, block by block. Each
 * thread repacks 16 weight rows at a time (wtile) from ggml's 34-byte blocks: per block,
 * eight 64-byte vectors, vector j holding bytes 4j .. 4j+3 of the block of each of the 16
 * rows (row r in lane r) as unsigned w + 128, then the 16 rows' f32 scales. Every token
 * tile then runs against the repacked rows (from L1).
 *
 * AVX-512 VNNI: vpdpbusd (unsigned × signed bytes, four products summed into each int32
 * lane) of vector j by the broadcast 4 bytes 4j .. 4j+3 of a token's block adds those
 * bytes' products to lane r for row r; eight of them make the block's dot for 16 rows in
 * one vector, no horizontal sums. (w + 128)·x sums to w·x + 128·Σx, so each token's int32
 * lanes start at −128·Σx (computed when x is quantized) and end exact. Then one convert,
 * one multiply of the 16 rows' dw by the token's dx, one fma into the token's f32
 * accumulator: per block, 16 rows × 8 tokens cost 64 vpdpbusd and 24 other operations.
 * AVX2 (maddubs + madd; llama.cpp's sign trick, |w| · x·sign(w), pair sums within int16)
 * and portable C read the same repacked rows (undoing the + 128).
 */
#include "tensor/q8_0_gemm.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/tensor.h"
#include "tensor/simd.h"

#if ECO_HAVE_X86_SIMD
#include <immintrin.h>
#endif

#define QB    ECO_Q8_0_BLOCK       /* 32 */
#define QBB   ECO_Q8_0_BLOCK_BYTES /* 34 */
#define ROWS  ECO_Q8G_ROWS         /* 16 */
#define TOKS  ECO_Q8G_TOKS         /* 8 */
#define MAXNB (ECO_Q8G_MAX_K / QB)

static int64_t pad_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

size_t eco_q8_act_bytes(int64_t M, int64_t K) {
    const int64_t Mp = pad_up(M, TOKS), nb = K / QB;
    return (size_t)Mp * (size_t)K + 2 * (size_t)Mp * (size_t)nb * 4 + 192;
}

void eco_q8_act_init(eco_q8_act *a, void *buf, int64_t M, int64_t K) {
    a->M = M;
    a->Mp = pad_up(M, TOKS);
    a->K = K;
    const size_t n = (size_t)a->Mp * (size_t)(K / QB);
    uintptr_t p = ((uintptr_t)buf + 63) & ~(uintptr_t)63;
    a->d = (float *)p;
    p = (p + n * 4 + 63) & ~(uintptr_t)63;
    a->c = (int32_t *)p;
    p = (p + n * 4 + 63) & ~(uintptr_t)63;
    a->q = (int8_t *)p;
}

/* ---- activation quantization ---------------------------------------------------------- */

/* Block b of a row goes to q + b·qs, d[b·ds], c[b·ds]: contiguous with qs = 32, ds = 1; a
 * row of a token tile with qs = 32·TOKS, ds = TOKS. */
static void quantize_row_c(int8_t *q, float *d, int32_t *c, const float *x, int64_t K, int64_t qs,
                           int64_t ds) {
    for (int64_t b = 0; b < K / QB; b++) {
        const float *xb = x + b * QB;
        int8_t *qb = q + b * qs;
        float amax = 0.0f;
        bool finite = true;
        for (int j = 0; j < QB; j++) {
            finite = finite && isfinite(xb[j]);
            const float v = fabsf(xb[j]);
            amax = amax > v ? amax : v;
        }
        if (!finite) {
            d[b * ds] = NAN;
            c[b * ds] = 0;
            memset(qb, 0, QB);
            continue;
        }
        const float db = amax / 127.0f;
        const float id = db != 0.0f ? 1.0f / db : 0.0f;
        int32_t sum = 0;
        for (int j = 0; j < QB; j++) {
            qb[j] = (int8_t)roundf(xb[j] * id);
            sum += qb[j];
        }
        d[b * ds] = db;
        c[b * ds] = -128 * sum;
    }
}

void eco_q8_act_quantize_row_ref(int8_t *q, float *d, int32_t *c, const float *x, int64_t K) {
    quantize_row_c(q, d, c, x, K, QB, 1);
}

#if ECO_HAVE_X86_SIMD
ECO_TARGET_AVX2 static float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* roundf (half away from zero) of each lane, exactly: trunc, then one more unit of the
 * lane's sign when the dropped fraction is at least 1/2 (exact for |v| < 2^23). */
ECO_TARGET_AVX2 static __m256i round_away_epi32(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 f = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
    const __m256 up = _mm256_cmp_ps(f, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 one = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
    return _mm256_cvttps_epi32(_mm256_add_ps(t, _mm256_and_ps(up, one)));
}

ECO_TARGET_AVX2 static void quantize_row_avx2(int8_t *q, float *d, int32_t *c, const float *x,
                                              int64_t K, int64_t qs, int64_t ds) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t b = 0; b < K / QB; b++) {
        const float *xb = x + b * QB;
        __m256 v[4];
        __m256 m = _mm256_setzero_ps();
        int bad = 0;
        for (int i = 0; i < 4; i++) {
            v[i] = _mm256_loadu_ps(xb + 8 * i);
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[i]));
            /* v − v is NaN exactly for NaN and ±inf */
            bad |= _mm256_movemask_ps(
                _mm256_cmp_ps(_mm256_sub_ps(v[i], v[i]), _mm256_setzero_ps(), _CMP_NEQ_UQ));
        }
        if (bad) {
            d[b * ds] = NAN;
            c[b * ds] = 0;
            memset(q + b * qs, 0, QB);
            continue;
        }
        const float db = hmax8(m) / 127.0f;
        const float id = db != 0.0f ? 1.0f / db : 0.0f;
        const __m256 vid = _mm256_set1_ps(id);
        const __m256i i0 = round_away_epi32(_mm256_mul_ps(v[0], vid));
        const __m256i i1 = round_away_epi32(_mm256_mul_ps(v[1], vid));
        const __m256i i2 = round_away_epi32(_mm256_mul_ps(v[2], vid));
        const __m256i i3 = round_away_epi32(_mm256_mul_ps(v[3], vid));
        __m256i s = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
        /* |values| <= 127: the saturating packs are exact; the permute undoes their lane
         * interleaving */
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        p = _mm256_permutevar8x32_epi32(p, perm);
        _mm256_storeu_si256((__m256i *)(void *)(q + b * qs), p);
        d[b * ds] = db;
        c[b * ds] = -128 * _mm_cvtsi128_si32(s4);
    }
}
#endif

void eco_q8_act_quantize(eco_q8_act *a, const float *x) {
    const int64_t nb = a->K / QB, qs = QB * TOKS, ds = TOKS;
    const bool avx2 = eco_simd_avx2_ok();
    (void)avx2;
#pragma omp parallel for schedule(static) if (a->M * a->K >= ((int64_t)1 << 16))
    for (int64_t m = 0; m < a->M; m++) {
        const int64_t o = eco_q8_act_at(m, 0, nb);
#if ECO_HAVE_X86_SIMD
        if (avx2) {
            quantize_row_avx2(a->q + o * QB, a->d + o, a->c + o, x + (size_t)m * (size_t)a->K, a->K,
                              qs, ds);
            continue;
        }
#endif
        quantize_row_c(a->q + o * QB, a->d + o, a->c + o, x + (size_t)m * (size_t)a->K, a->K, qs,
                       ds);
    }
    for (int64_t m = a->M; m < a->Mp; m++) /* padding rows: zero blocks of scale 0 */
        for (int64_t b = 0; b < nb; b++) {
            const int64_t o = eco_q8_act_at(m, b, nb);
            memset(a->q + o * QB, 0, QB);
            a->d[o] = 0.0f;
            a->c[o] = 0;
        }
}

/* ---- weights: ROWS rows repacked ------------------------------------------------------- */

/* Per block b, WBLK bytes at buf + b·WBLK: eight 64-byte vectors (vector j, lane r: bytes
 * 4j .. 4j+3 of row r's block, each + 128), then the ROWS rows' f32 scales. */
#define WBLK (8 * 64 + ROWS * 4)
typedef struct wtile {
    _Alignas(64) uint8_t buf[MAXNB * WBLK];
} wtile;

/* Rows [n0, n0 + nr) of W (nr <= ROWS; the rest zero) into w. */
static void repack_rows(wtile *w, const uint8_t *W, int64_t n0, int64_t nr, int64_t K) {
    const int64_t nb = K / QB;
    const size_t row = (size_t)nb * QBB;
    for (int64_t r = 0; r < ROWS; r++) {
        const uint8_t *src = r < nr ? W + (size_t)(n0 + r) * row : NULL;
        for (int64_t b = 0; b < nb; b++) {
            uint8_t *o = w->buf + b * WBLK;
            float *d = (float *)(void *)(o + 8 * 64);
            if (!src) {
                for (int j = 0; j < 8; j++) memset(o + j * 64 + r * 4, 0x80, 4);
                d[r] = 0.0f;
                continue;
            }
            const uint8_t *blk = src + b * QBB;
            uint16_t h;
            memcpy(&h, blk, 2);
            d[r] = eco_f16_to_f32(h);
            for (int j = 0; j < 8; j++) {
                uint32_t v;
                memcpy(&v, blk + 2 + 4 * j, 4);
                v ^= 0x80808080u;
                memcpy(o + j * 64 + r * 4, &v, 4);
            }
        }
    }
}

#if ECO_HAVE_X86_SIMD
/* All-zero q8_0 blocks standing in for rows past N: weights 0 (+ 128 once repacked), scale 0. */
static const uint8_t zero_row[MAXNB * QBB];

/* repack_rows by transposition: per block, each row's 32 weight bytes are one 256-bit load
 * (rows r and r + 8 side by side in one vector, r < 8), and an 8 × 8 transpose of 4-byte
 * groups within each 256-bit half (unpacks of 32 and 64 bits, then one two-source permute
 * of 64-bit pairs) gives the eight vectors; the sixteen f16 scales are gathered by scalar
 * loads and widened at once. Rows past nr read zero_row. The same bytes as repack_rows
 * (no gathers: on Zen 4 a 16-lane gather costs more than these 16 loads and 24 shuffles). */
ECO_TARGET_AVX512VNNI static void repack_rows_avx512(wtile *w, const uint8_t *W, int64_t n0,
                                                     int64_t nr, int64_t K) {
    const int64_t nb = K / QB;
    const size_t row = (size_t)nb * QBB;
    const uint8_t *src[ROWS];
    for (int r = 0; r < ROWS; r++) src[r] = r < nr ? W + (size_t)(n0 + r) * row : zero_row;
    const __m512i k80 = _mm512_set1_epi8((char)0x80);
    /* qwords: 128-bit lanes 0 and 2 of a, then of b, interleaved as [a0 b0 a2 b2] (rows
     * 0-3, 4-7, 8-11, 12-15 of 4-byte group j); lo takes lanes 0/2, hi lanes 1/3 (j + 4) */
    const __m512i lo = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13);
    const __m512i hi = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *o = w->buf + b * WBLK;
        const size_t off = (size_t)b * QBB;
        __m512i z[8], t[8], u[8];
        for (int r = 0; r < 8; r++) /* dwords 0-7: row r's groups 0-7; 8-15: row r + 8's */
            z[r] = _mm512_inserti64x4(
                _mm512_castsi256_si512(
                    _mm256_loadu_si256((const __m256i *)(const void *)(src[r] + off + 2))),
                _mm256_loadu_si256((const __m256i *)(const void *)(src[r + 8] + off + 2)), 1);
        for (int r = 0; r < 8; r += 2) {
            t[r] = _mm512_unpacklo_epi32(z[r], z[r + 1]);
            t[r + 1] = _mm512_unpackhi_epi32(z[r], z[r + 1]);
        }
        for (int q = 0; q < 8; q += 4) {                          /* rows q .. q+3 (and + 8) */
            u[q] = _mm512_unpacklo_epi64(t[q], t[q + 2]);         /* groups 0, 4 */
            u[q + 1] = _mm512_unpackhi_epi64(t[q], t[q + 2]);     /* groups 1, 5 */
            u[q + 2] = _mm512_unpacklo_epi64(t[q + 1], t[q + 3]); /* groups 2, 6 */
            u[q + 3] = _mm512_unpackhi_epi64(t[q + 1], t[q + 3]); /* groups 3, 7 */
        }
        for (int j = 0; j < 4; j++) {
            _mm512_store_si512(
                (void *)(o + j * 64),
                _mm512_xor_si512(_mm512_permutex2var_epi64(u[j], lo, u[j + 4]), k80));
            _mm512_store_si512(
                (void *)(o + (j + 4) * 64),
                _mm512_xor_si512(_mm512_permutex2var_epi64(u[j], hi, u[j + 4]), k80));
        }
        uint16_t h[ROWS];
        for (int r = 0; r < ROWS; r++) memcpy(&h[r], src[r] + off, 2);
        _mm512_store_ps((void *)(o + 8 * 64),
                        _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)h)));
    }
}
#endif

/* Brings bytes [p, p + n) towards L2 (a hint: nothing is read). */
static void prefetch_span(const uint8_t *p, size_t n) {
    for (size_t o = 0; o < n; o += 64) __builtin_prefetch(p + o, 0, 2);
}

/* y rows m0 .. m0+nt−1, columns n0 .. n0+nr−1 from out[t][r] (+ bias). */
static void store_tile(float *y, int64_t ldy, float out[TOKS][ROWS], const float *bias, int64_t m0,
                       int64_t n0, int64_t nt, int64_t nr) {
    for (int64_t t = 0; t < nt; t++)
        for (int64_t r = 0; r < nr; r++)
            y[(m0 + t) * ldy + n0 + r] = out[t][r] + (bias ? bias[n0 + r] : 0.0f);
}

/* Portable tile: ROWS × TOKS, block by block in order (each block's 16 rows unpacked to
 * signed row-major first, so that the dot loops are plain and vectorisable). */
static void tile_c(float out[TOKS][ROWS], const wtile *w, const eco_q8_act *a, int64_t m0) {
    const int64_t nb = a->K / QB;
    const int8_t *xt = a->q + m0 * a->K;
    const float *dt = a->d + m0 * nb;
    for (int t = 0; t < TOKS; t++)
        for (int r = 0; r < ROWS; r++) out[t][r] = 0.0f;
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *o = w->buf + b * WBLK;
        const float *dw = (const float *)(const void *)(o + 8 * 64);
        int8_t wr[ROWS][QB];
        for (int r = 0; r < ROWS; r++)
            for (int k = 0; k < QB; k++)
                wr[r][k] = (int8_t)(o[(k / 4) * 64 + r * 4 + k % 4] ^ 0x80);
        for (int t = 0; t < TOKS; t++) {
            const int8_t *x = xt + (b * TOKS + t) * QB;
            for (int r = 0; r < ROWS; r++) {
                int32_t dot = 0;
                for (int k = 0; k < QB; k++) dot += (int32_t)wr[r][k] * x[k];
                out[t][r] += dw[r] * dt[b * TOKS + t] * (float)dot;
            }
        }
    }
}

#if ECO_HAVE_X86_SIMD
/* 8 rows (half h of the tile) × 4 tokens (t0 .. t0+3) at a time. */
ECO_TARGET_AVX2 static void tile_avx2(float out[TOKS][ROWS], const wtile *w, const eco_q8_act *a,
                                      int64_t m0) {
    const int64_t nb = a->K / QB;
    const int8_t *xt = a->q + m0 * a->K;
    const float *dt = a->d + m0 * nb;
    const __m256i k80 = _mm256_set1_epi8((char)0x80);
    const __m256i ones = _mm256_set1_epi16(1);
    for (int h = 0; h < 2; h++)
        for (int t0 = 0; t0 < TOKS; t0 += 4) {
            __m256 acc[4];
            for (int t = 0; t < 4; t++) acc[t] = _mm256_setzero_ps();
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *o = w->buf + b * WBLK;
                const int8_t *x = xt + (b * TOKS + t0) * QB;
                __m256i ai[4];
                for (int t = 0; t < 4; t++) ai[t] = _mm256_setzero_si256();
                for (int j = 0; j < 8; j++) {
                    const __m256i wj = _mm256_xor_si256(
                        _mm256_load_si256((const __m256i *)(const void *)(o + j * 64 + h * 32)),
                        k80);
                    const __m256i aw = _mm256_abs_epi8(wj);
                    for (int t = 0; t < 4; t++) {
                        int32_t xv;
                        memcpy(&xv, x + t * QB + 4 * j, 4);
                        const __m256i sx = _mm256_sign_epi8(_mm256_set1_epi32(xv), wj);
                        ai[t] = _mm256_add_epi32(
                            ai[t], _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sx), ones));
                    }
                }
                const __m256 dw =
                    _mm256_load_ps((const float *)(const void *)(o + 8 * 64 + h * 32));
                for (int t = 0; t < 4; t++)
                    acc[t] = _mm256_fmadd_ps(
                        _mm256_cvtepi32_ps(ai[t]),
                        _mm256_mul_ps(dw, _mm256_set1_ps(dt[b * TOKS + t0 + t])), acc[t]);
            }
            for (int t = 0; t < 4; t++) _mm256_storeu_ps(out[t0 + t] + h * 8, acc[t]);
        }
}

ECO_TARGET_AVX512VNNI static void tile_vnni(float out[TOKS][ROWS], const wtile *w,
                                            const eco_q8_act *a, int64_t m0) {
    const int64_t nb = a->K / QB;
    const int8_t *x = a->q + m0 * a->K;
    const float *dx = a->d + m0 * nb;
    const int32_t *cx = a->c + m0 * nb;
    __m512 acc[TOKS];
    for (int t = 0; t < TOKS; t++) acc[t] = _mm512_setzero_ps();
    const uint8_t *o = w->buf;
    for (int64_t b = 0; b < nb; b++, o += WBLK, x += TOKS * QB, dx += TOKS, cx += TOKS) {
        __m512i wv[8];
        for (int j = 0; j < 8; j++) wv[j] = _mm512_load_si512((const void *)(o + j * 64));
        __m512i ai[TOKS];
        for (int t = 0; t < TOKS; t++) ai[t] = _mm512_set1_epi32(cx[t]);
        for (int j = 0; j < 8; j++)
            for (int t = 0; t < TOKS; t++) {
                int32_t xv;
                memcpy(&xv, x + t * QB + 4 * j, 4);
                ai[t] = _mm512_dpbusd_epi32(ai[t], wv[j], _mm512_set1_epi32(xv));
            }
        const __m512 dw = _mm512_load_ps((const float *)(const void *)(o + 8 * 64));
        for (int t = 0; t < TOKS; t++)
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ai[t]),
                                     _mm512_mul_ps(dw, _mm512_set1_ps(dx[t])), acc[t]);
    }
    for (int t = 0; t < TOKS; t++) _mm512_storeu_ps(out[t], acc[t]);
}
#endif

void eco_q8_0_gemm(float *y, int64_t ldy, const eco_q8_act *a, const void *W, const float *bias,
                   int64_t N) {
    if (a->M <= 0 || N <= 0) return;
    ECO_ASSERT(a->K <= ECO_Q8G_MAX_K && a->K % QB == 0);
    const int level = eco_simd_level();
    const int kind = level >= 2 && eco_cpu_has_avx512_vnni() ? 2 : level >= 1 ? 1 : 0;
    const int64_t ntiles = (N + ROWS - 1) / ROWS;
    const int64_t work = a->M * N * a->K;
    const size_t row = (size_t)(a->K / QB) * QBB;
    const int64_t n_mtiles = (a->M + TOKS - 1) / TOKS;
#pragma omp parallel if (work >= ((int64_t)1 << 18))
    {
        wtile w;
        _Alignas(64) float out[TOKS][ROWS];
        /* A thread's row tiles are consecutive (static schedule) and so are their rows in
         * W: while tile it runs, tile it + 1's rows (one contiguous span) are prefetched
         * into L2 a share per token tile, so that the repack reads them from cache rather
         * than waiting on 16 strided streams from memory. The thread's first tile is
         * prefetched at once. */
        bool first = true;
#pragma omp for schedule(static)
        for (int64_t it = 0; it < ntiles; it++) {
            const int64_t n0 = it * ROWS, nr = N - n0 < ROWS ? N - n0 : ROWS;
            if (first) {
                first = false;
                prefetch_span((const uint8_t *)W + (size_t)n0 * row, (size_t)nr * row);
            }
            const int64_t nn = n0 + ROWS, nnr = N - nn < ROWS ? N - nn : ROWS;
            const uint8_t *next = nnr > 0 ? (const uint8_t *)W + (size_t)nn * row : NULL;
            const size_t next_bytes = nnr > 0 ? (size_t)nnr * row : 0;
            const size_t per_mtile = (next_bytes / 64 / (size_t)n_mtiles + 1) * 64;
#if ECO_HAVE_X86_SIMD
            if (kind == 2)
                repack_rows_avx512(&w, (const uint8_t *)W, n0, nr, a->K);
            else
#endif
                repack_rows(&w, (const uint8_t *)W, n0, nr, a->K);
            for (int64_t m0 = 0, mt = 0; m0 < a->M; m0 += TOKS, mt++) {
                const int64_t nt = a->M - m0 < TOKS ? a->M - m0 : TOKS;
                const size_t p0 = (size_t)mt * per_mtile;
                if (p0 < next_bytes)
                    prefetch_span(next + p0,
                                  next_bytes - p0 < per_mtile ? next_bytes - p0 : per_mtile);
#if ECO_HAVE_X86_SIMD
                if (kind == 2)
                    tile_vnni(out, &w, a, m0);
                else if (kind == 1)
                    tile_avx2(out, &w, a, m0);
                else
#endif
                    tile_c(out, &w, a, m0);
                store_tile(y, ldy, out, bias, m0, n0, nt, nr);
            }
        }
    }
    (void)kind;
}

void eco_q8_0_gemm_ref(float *y, const float *x, const void *W, const float *bias, int64_t M,
                       int64_t N, int64_t K) {
    const int64_t nb = K / QB;
    int8_t *q = eco_malloc_array((size_t)K + 1, 1);
    float *d = eco_malloc_array((size_t)nb + 1, sizeof(float));
    int32_t *c = eco_malloc_array((size_t)nb + 1, sizeof(int32_t));
    ECO_ASSERT(q && d && c);
    const size_t row = (size_t)nb * QBB;
    for (int64_t m = 0; m < M; m++) {
        eco_q8_act_quantize_row_ref(q, d, c, x + m * K, K);
        for (int64_t n = 0; n < N; n++) {
            const uint8_t *wr = (const uint8_t *)W + (size_t)n * row;
            double s = bias ? (double)bias[n] : 0.0;
            for (int64_t b = 0; b < nb; b++) {
                uint16_t h;
                memcpy(&h, wr + b * QBB, 2);
                int32_t dot = 0;
                for (int j = 0; j < QB; j++)
                    dot += (int32_t)q[b * QB + j] * (int32_t)(int8_t)wr[b * QBB + 2 + j];
                s += (double)eco_f16_to_f32(h) * (double)d[b] * (double)dot;
            }
            y[m * N + n] = (float)s;
        }
    }
    free(q);
    free(d);
    free(c);
}
