/*
 * The int8 q8_0 product (q8_0_gemm.h): activations quantized per 32-block, then exact
 * int32 block dots scaled by dw·dx and summed in f32.
 *
 * Layout. Activations (eco_q8_act) hold q + 128 as unsigned bytes, rows padded to Kp (a
 * multiple of 64) and to Mp (a multiple of ECO_Q8G_TOKS) with zero blocks of scale 0. Each
 * thread repacks ECO_Q8G_ROWS weight rows at a time from ggml's 34-byte blocks into int8
 * rows of Kp and f32 scales (wrows), then runs every token tile against them, so a weight
 * row is read from memory once per call and from L1 by every token tile.
 *
 * AVX-512 VNNI: one zmm holds two blocks (64 bytes). vpdpbusd multiplies unsigned × signed
 * bytes: with x + 128 unsigned and w signed, Σ(x+128)·w = Σx·w + 128·Σw, so each lane's
 * int32 sum starts at −128·Σw (one vpdpbusd of 0x80 bytes by w, once per weight chunk and
 * reused by every token), and comes out as the exact Σx·w of its 4 bytes. Lanes 0-7 belong
 * to the first block and 8-15 to the second: converted to f32 and multiplied by
 * (dw·dx of its block) into a float accumulator per (row, token). A tile is 4 rows × 4
 * tokens: 16 accumulators, reduced 4 at a time at the end.
 * AVX2: one ymm per block, llama.cpp's sign trick (maddubs(|w|, x·sign(w)), then madd by
 * ones; |pair sums| <= 2·128·127 < 2^15, no saturation), 2 rows × 4 tokens at a time.
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
#define ROWS  ECO_Q8G_ROWS
#define TOKS  ECO_Q8G_TOKS
#define MAXKP ECO_Q8G_MAX_K

static int64_t pad_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

size_t eco_q8_act_bytes(int64_t M, int64_t K) {
    const int64_t Mp = pad_up(M, TOKS), Kp = pad_up(K, 64);
    return (size_t)Mp * (size_t)Kp + (size_t)Mp * (size_t)(Kp / QB) * sizeof(float) + 128;
}

void eco_q8_act_init(eco_q8_act *a, void *buf, int64_t M, int64_t K) {
    a->M = M;
    a->Mp = pad_up(M, TOKS);
    a->K = K;
    a->Kp = pad_up(K, 64);
    /* the f32 scales first, 64-byte aligned by rounding the buffer's start up */
    uintptr_t p = ((uintptr_t)buf + 63) & ~(uintptr_t)63;
    a->d = (float *)p;
    p += (size_t)a->Mp * (size_t)(a->Kp / QB) * sizeof(float);
    a->q = (uint8_t *)((p + 63) & ~(uintptr_t)63);
}

/* ---- activation quantization ---------------------------------------------------------- */

/* Block b of a row goes to q + (b/2)·qs + (b%2)·32 and d + (b/2)·ds + (b%2): contiguous
 * with qs = 64, ds = 2; a row of a token tile with qs = 64·TOKS, ds = 2·TOKS. */
#define QAT(q, b, qs) ((q) + ((b) >> 1) * (qs) + ((b)&1) * QB)
#define DAT(d, b, ds) ((d) + ((b) >> 1) * (ds) + ((b)&1))

static void quantize_row_c(uint8_t *q, float *d, const float *x, int64_t K, int64_t qs,
                           int64_t ds) {
    const int64_t nb = K / QB, nbp = pad_up(K, 64) / QB;
    for (int64_t b = 0; b < nb; b++) {
        const float *xb = x + b * QB;
        uint8_t *qb = QAT(q, b, qs);
        float amax = 0.0f;
        bool finite = true;
        for (int j = 0; j < QB; j++) {
            finite = finite && isfinite(xb[j]);
            const float v = fabsf(xb[j]);
            amax = amax > v ? amax : v;
        }
        if (!finite) {
            *DAT(d, b, ds) = NAN;
            memset(qb, 128, QB);
            continue;
        }
        const float db = amax / 127.0f;
        const float id = db != 0.0f ? 1.0f / db : 0.0f;
        *DAT(d, b, ds) = db;
        for (int j = 0; j < QB; j++) qb[j] = (uint8_t)((int)roundf(xb[j] * id) + 128);
    }
    for (int64_t b = nb; b < nbp; b++) {
        *DAT(d, b, ds) = 0.0f;
        memset(QAT(q, b, qs), 128, QB);
    }
}

void eco_q8_act_quantize_row_ref(uint8_t *q, float *d, const float *x, int64_t K) {
    quantize_row_c(q, d, x, K, 64, 2);
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

ECO_TARGET_AVX2 static void quantize_row_avx2(uint8_t *q, float *d, const float *x, int64_t K,
                                              int64_t qs, int64_t ds) {
    const int64_t nb = K / QB, nbp = pad_up(K, 64) / QB;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256i k80 = _mm256_set1_epi8((char)0x80);
    for (int64_t b = 0; b < nb; b++) {
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
            *DAT(d, b, ds) = NAN;
            memset(QAT(q, b, qs), 128, QB);
            continue;
        }
        const float db = hmax8(m) / 127.0f;
        const float id = db != 0.0f ? 1.0f / db : 0.0f;
        *DAT(d, b, ds) = db;
        const __m256 vid = _mm256_set1_ps(id);
        __m256i i0 = round_away_epi32(_mm256_mul_ps(v[0], vid));
        __m256i i1 = round_away_epi32(_mm256_mul_ps(v[1], vid));
        __m256i i2 = round_away_epi32(_mm256_mul_ps(v[2], vid));
        __m256i i3 = round_away_epi32(_mm256_mul_ps(v[3], vid));
        /* |values| <= 127: the saturating packs are exact; the permute undoes their lane
         * interleaving */
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        p = _mm256_permutevar8x32_epi32(p, perm);
        _mm256_storeu_si256((__m256i *)(void *)QAT(q, b, qs), _mm256_xor_si256(p, k80));
    }
    for (int64_t b = nb; b < nbp; b++) {
        *DAT(d, b, ds) = 0.0f;
        memset(QAT(q, b, qs), 128, QB);
    }
}
#endif

void eco_q8_act_quantize(eco_q8_act *a, const float *x) {
    const int64_t qs = 64 * TOKS, ds = 2 * TOKS;
    const bool avx2 = eco_simd_avx2_ok();
    (void)avx2;
#pragma omp parallel for schedule(static) if (a->M * a->K >= ((int64_t)1 << 16))
    for (int64_t m = 0; m < a->M; m++) {
        uint8_t *q = a->q + eco_q8_act_qoff(a, m, 0);
        float *d = a->d + eco_q8_act_doff(a, m, 0);
#if ECO_HAVE_X86_SIMD
        if (avx2) {
            quantize_row_avx2(q, d, x + (size_t)m * (size_t)a->K, a->K, qs, ds);
            continue;
        }
#endif
        quantize_row_c(q, d, x + (size_t)m * (size_t)a->K, a->K, qs, ds);
    }
    for (int64_t m = a->M; m < a->Mp; m++) /* padding rows: zero blocks of scale 0 */
        for (int64_t b = 0; b < a->Kp / QB; b++) {
            memset(a->q + eco_q8_act_qoff(a, m, b), 128, QB);
            a->d[eco_q8_act_doff(a, m, b)] = 0.0f;
        }
}

/* ---- weights: ROWS rows repacked ------------------------------------------------------- */

/* Per 64-column chunk c, WCHUNK bytes at buf + c·WCHUNK: the ROWS rows' 64 int8 weights,
 * then per row 16 int32 −128·(sum of the 4 weights of each lane) (vpdpbusd's start), then
 * per row 16 f32 scales (8 of the chunk's first block, 8 of its second). */
#define WCHUNK (ROWS * 64 * 3)
#define W_NC   (ROWS * 64)
#define W_D    (ROWS * 128)
typedef struct wrows {
    _Alignas(64) uint8_t buf[(MAXKP / 64) * WCHUNK];
} wrows;

/* Rows [n0, n0 + nr) of W (nr <= ROWS; the rest zero) into w. */
static void repack_rows(wrows *w, const uint8_t *W, int64_t n0, int64_t nr, int64_t K, int64_t Kp) {
    const int64_t nb = K / QB, nbp = Kp / QB;
    const size_t row = (size_t)nb * QBB;
    for (int64_t r = 0; r < ROWS; r++) {
        const uint8_t *src = r < nr ? W + (size_t)(n0 + r) * row : NULL;
        for (int64_t b = 0; b < nbp; b++) {
            uint8_t *c = w->buf + (b >> 1) * WCHUNK;
            int8_t *q = (int8_t *)(c + r * 64 + (b & 1) * QB);
            int32_t *nc = (int32_t *)(void *)(c + W_NC + r * 64) + (b & 1) * 8;
            float *d = (float *)(void *)(c + W_D + r * 64) + (b & 1) * 8;
            float db = 0.0f;
            if (src && b < nb) {
                uint16_t h;
                memcpy(&h, src + b * QBB, 2);
                db = eco_f16_to_f32(h);
                memcpy(q, src + b * QBB + 2, QB);
            } else {
                memset(q, 0, QB);
            }
            for (int l = 0; l < 8; l++) {
                nc[l] = -128 * ((int32_t)q[4 * l] + q[4 * l + 1] + q[4 * l + 2] + q[4 * l + 3]);
                d[l] = db;
            }
        }
    }
}

/* Writes out[t][r] (the tile's sums) to y rows m0 + t, columns n0 + r, plus bias. */
static void store_tile(float *y, int64_t ldy, float out[TOKS][ROWS], const float *bias, int64_t m0,
                       int64_t n0, int64_t nt, int64_t nr) {
    for (int64_t t = 0; t < nt; t++)
        for (int64_t r = 0; r < nr; r++)
            y[(m0 + t) * ldy + n0 + r] = out[t][r] + (bias ? bias[n0 + r] : 0.0f);
}

/* Portable tile: ROWS × TOKS, block by block in order. */
static void tile_c(float out[TOKS][ROWS], const wrows *w, const eco_q8_act *a, int64_t m0) {
    const int64_t nbp = a->Kp / QB;
    const uint8_t *xt = a->q + m0 * a->Kp;
    const float *dt = a->d + m0 * nbp;
    for (int t = 0; t < TOKS; t++)
        for (int r = 0; r < ROWS; r++) {
            float s = 0.0f;
            for (int64_t b = 0; b < nbp; b++) {
                const uint8_t *c = w->buf + (b >> 1) * WCHUNK;
                const int8_t *wq = (const int8_t *)(c + r * 64 + (b & 1) * QB);
                const float dw = ((const float *)(const void *)(c + W_D + r * 64))[(b & 1) * 8];
                const uint8_t *xq = xt + (b >> 1) * 64 * TOKS + t * 64 + (b & 1) * QB;
                const float dx = dt[(b >> 1) * 2 * TOKS + t * 2 + (b & 1)];
                int32_t dot = 0;
                for (int j = 0; j < QB; j++) dot += ((int32_t)xq[j] - 128) * (int32_t)wq[j];
                s += dw * dx * (float)dot;
            }
            out[t][r] = s;
        }
}

#if ECO_HAVE_X86_SIMD
ECO_TARGET_AVX2 static float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

ECO_TARGET_AVX2 static void tile_avx2(float out[TOKS][ROWS], const wrows *w, const eco_q8_act *a,
                                      int64_t m0) {
    const int64_t nbp = a->Kp / QB;
    const uint8_t *xt = a->q + m0 * a->Kp;
    const float *dt = a->d + m0 * nbp;
    const __m256i k80 = _mm256_set1_epi8((char)0x80);
    const __m256i ones = _mm256_set1_epi16(1);
    for (int h = 0; h < ROWS; h += 2) {
        __m256 acc[2][TOKS];
        for (int r = 0; r < 2; r++)
            for (int t = 0; t < TOKS; t++) acc[r][t] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nbp; b++) {
            const uint8_t *c = w->buf + (b >> 1) * WCHUNK;
            const int64_t half = (b & 1) * QB;
            const __m256i w0 =
                _mm256_loadu_si256((const __m256i *)(const void *)(c + h * 64 + half));
            const __m256i w1 =
                _mm256_loadu_si256((const __m256i *)(const void *)(c + (h + 1) * 64 + half));
            const float dw0 = ((const float *)(const void *)(c + W_D + h * 64))[(b & 1) * 8];
            const float dw1 = ((const float *)(const void *)(c + W_D + (h + 1) * 64))[(b & 1) * 8];
            const __m256i a0 = _mm256_abs_epi8(w0), a1 = _mm256_abs_epi8(w1);
            for (int t = 0; t < TOKS; t++) {
                const uint8_t *xq = xt + (b >> 1) * 64 * TOKS + t * 64 + half;
                const float dx = dt[(b >> 1) * 2 * TOKS + t * 2 + (b & 1)];
                const __m256i x =
                    _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(const void *)xq), k80);
                const __m256i p0 =
                    _mm256_madd_epi16(_mm256_maddubs_epi16(a0, _mm256_sign_epi8(x, w0)), ones);
                const __m256i p1 =
                    _mm256_madd_epi16(_mm256_maddubs_epi16(a1, _mm256_sign_epi8(x, w1)), ones);
                acc[0][t] =
                    _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(dw0 * dx), acc[0][t]);
                acc[1][t] =
                    _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(dw1 * dx), acc[1][t]);
            }
        }
        for (int t = 0; t < TOKS; t++) {
            out[t][h] = hsum8(acc[0][t]);
            out[t][h + 1] = hsum8(acc[1][t]);
        }
    }
}

/* [Σa, Σb, Σc, Σd] of four zmm accumulators. */
ECO_TARGET_AVX512VNNI static __m128 reduce4(__m512 a, __m512 b, __m512 c, __m512 d) {
    const __m256 a8 =
        _mm256_add_ps(_mm512_castps512_ps256(a),
                      _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    const __m256 b8 =
        _mm256_add_ps(_mm512_castps512_ps256(b),
                      _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(b), 1)));
    const __m256 c8 =
        _mm256_add_ps(_mm512_castps512_ps256(c),
                      _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(c), 1)));
    const __m256 d8 =
        _mm256_add_ps(_mm512_castps512_ps256(d),
                      _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(d), 1)));
    const __m256 s = _mm256_hadd_ps(_mm256_hadd_ps(a8, b8), _mm256_hadd_ps(c8, d8));
    return _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
}

/* Scales [s0 × 8, s1 × 8] of the two blocks at p. */
ECO_TARGET_AVX512VNNI static inline __m512 scales2(const float *p, __m512i idx) {
    return _mm512_permutexvar_ps(idx, _mm512_castps128_ps512(_mm_castsi128_ps(
                                          _mm_loadl_epi64((const __m128i *)(const void *)p))));
}

ECO_TARGET_AVX512VNNI static void tile_vnni(float out[TOKS][ROWS], const wrows *w,
                                            const eco_q8_act *a, int64_t m0) {
    const int64_t nbp = a->Kp / QB, nc64 = a->Kp / 64;
    const __m512i idx = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    __m512 acc[ROWS][TOKS];
    for (int r = 0; r < ROWS; r++)
        for (int t = 0; t < TOKS; t++) acc[r][t] = _mm512_setzero_ps();
    const uint8_t *xc = a->q + m0 * a->Kp;
    const float *dc = a->d + m0 * nbp;
    const uint8_t *wc = w->buf;
    for (int64_t c = 0; c < nc64; c++, xc += 64 * TOKS, dc += 2 * TOKS, wc += WCHUNK) {
        /* the rows' weights, starts and scales stay in registers for the TOKS tokens (one
         * 512-bit load a cycle would be the limit otherwise) */
        __m512i wv[ROWS], nc[ROWS];
        __m512 dw[ROWS];
        for (int r = 0; r < ROWS; r++) {
            wv[r] = _mm512_load_si512((const void *)(wc + r * 64));
            nc[r] = _mm512_load_si512((const void *)(wc + W_NC + r * 64));
            dw[r] = _mm512_load_ps((const float *)(const void *)(wc + W_D + r * 64));
        }
        for (int t = 0; t < TOKS; t++) {
            const __m512i x = _mm512_load_si512((const void *)(xc + t * 64));
            const __m512 dx = scales2(dc + 2 * t, idx);
            for (int r = 0; r < ROWS; r++) {
                const __m512i i = _mm512_dpbusd_epi32(nc[r], x, wv[r]);
                acc[r][t] =
                    _mm512_fmadd_ps(_mm512_cvtepi32_ps(i), _mm512_mul_ps(dx, dw[r]), acc[r][t]);
            }
        }
    }
    for (int t = 0; t < TOKS; t++)
        _mm_storeu_ps(out[t], reduce4(acc[0][t], acc[1][t], acc[2][t], acc[3][t]));
}
#endif

void eco_q8_0_gemm(float *y, int64_t ldy, const eco_q8_act *a, const void *W, const float *bias,
                   int64_t N) {
    if (a->M <= 0 || N <= 0) return;
    ECO_ASSERT(a->Kp <= MAXKP);
    const int level = eco_simd_level();
    const int kind = level >= 2 && eco_cpu_has_avx512_vnni() ? 2 : level >= 1 ? 1 : 0;
    const int64_t ntiles = (N + ROWS - 1) / ROWS;
    const int64_t work = a->M * N * a->K;
#pragma omp parallel if (work >= ((int64_t)1 << 18))
    {
        wrows w;
        float out[TOKS][ROWS];
#pragma omp for schedule(static)
        for (int64_t it = 0; it < ntiles; it++) {
            const int64_t n0 = it * ROWS, nr = N - n0 < ROWS ? N - n0 : ROWS;
            repack_rows(&w, (const uint8_t *)W, n0, nr, a->K, a->Kp);
            for (int64_t m0 = 0; m0 < a->M; m0 += TOKS) {
                const int64_t nt = a->M - m0 < TOKS ? a->M - m0 : TOKS;
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
    const int64_t Kp = pad_up(K, 64), nb = K / QB;
    uint8_t *q = eco_malloc_array((size_t)Kp, 1);
    float *d = eco_malloc_array((size_t)(Kp / QB), sizeof(float));
    ECO_ASSERT(q && d);
    const size_t row = (size_t)nb * QBB;
    for (int64_t m = 0; m < M; m++) {
        eco_q8_act_quantize_row_ref(q, d, x + m * K, K);
        for (int64_t n = 0; n < N; n++) {
            const uint8_t *wr = (const uint8_t *)W + (size_t)n * row;
            double s = bias ? (double)bias[n] : 0.0;
            for (int64_t b = 0; b < nb; b++) {
                uint16_t h;
                memcpy(&h, wr + b * QBB, 2);
                int32_t dot = 0;
                for (int j = 0; j < QB; j++)
                    dot += ((int32_t)q[b * QB + j] - 128) * (int32_t)(int8_t)wr[b * QBB + 2 + j];
                s += (double)eco_f16_to_f32(h) * (double)d[b] * (double)dot;
            }
            y[m * N + n] = (float)s;
        }
    }
    free(q);
    free(d);
}
