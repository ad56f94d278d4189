/*
 * tensor: dense row-major tensors and the kernels of the transformer.
 *
 * A tensor here is a view: dtype, shape and a pointer to bytes that someone else owns
 * (a memory-mapped safetensors file, an arena, a malloc'd buffer). Activations are always
 * f32; weights may be f32, bf16, f16 or q8_0 (GGUF's blocks). Large products go to OpenBLAS (cblas_sgemm); the
 * decode path multiplies a vector by bf16/f16/q8_0 weights converting one row at a time, never
 * widening the whole matrix. Every optimised kernel has a scalar `_ref` twin beside it and
 * a test holding the two together. Kernels take outputs first, const inputs next, sizes last.
 */
#ifndef ECOLOGY_TENSOR_H
#define ECOLOGY_TENSOR_H

#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Every dtype safetensors can name; compute kernels take F32, F16 and BF16 weights. */
typedef enum eco_dtype {
    ECO_DTYPE_F32 = 0,
    ECO_DTYPE_F16 = 1,
    ECO_DTYPE_BF16 = 2,
    ECO_DTYPE_F64 = 3,
    ECO_DTYPE_I8 = 4,
    ECO_DTYPE_U8 = 5,
    ECO_DTYPE_I16 = 6,
    ECO_DTYPE_U16 = 7,
    ECO_DTYPE_I32 = 8,
    ECO_DTYPE_U32 = 9,
    ECO_DTYPE_I64 = 10,
    ECO_DTYPE_U64 = 11,
    ECO_DTYPE_BOOL = 12,
    ECO_DTYPE_F8_E4M3 = 13,
    ECO_DTYPE_F8_E5M2 = 14,
    ECO_DTYPE__COUNT, /* the safetensors dtypes are exactly those below this */
    /* Not a safetensors dtype: GGUF's Q8_0 blocks (below), a weight dtype of the kernels.
     * A model folder stores such a matrix as U8 bytes and says so in its metadata
     * (eco_weights, safetensors.h); eco_dtype_parse never returns it. */
    ECO_DTYPE_Q8_0 = 32,
} eco_dtype;

/* Bytes per element (1 for BOOL and F8); 0 for Q8_0, whose elements are not whole bytes
 * (use eco_dtype_row_bytes). */
size_t eco_dtype_size(eco_dtype t);
/* Bytes of n consecutive elements of a row: n·size, or (n/32)·34 for Q8_0 (n a multiple of
 * 32). 0 for a value outside the enum. */
size_t eco_dtype_row_bytes(eco_dtype t, int64_t n);
/* The safetensors spelling: "F32", "BF16", ...; "Q8_0" for Q8_0. */
const char *eco_dtype_name(eco_dtype t);
/* Parses a safetensors dtype name (not "Q8_0"); ECO_STATUS_ENOTFOUND for an unknown name. */
eco_status eco_dtype_parse(const char *name, eco_dtype *out);

#define ECO_MAX_DIMS 8

typedef struct eco_tensor {
    const char *name; /* owned by whoever built the view; may be NULL */
    eco_dtype dtype;
    int ndim;
    int64_t shape[ECO_MAX_DIMS];
    void *data;    /* not owned */
    size_t nbytes; /* numel * dtype size (Q8_0: rows · eco_dtype_row_bytes of a row) */
} eco_tensor;

size_t eco_tensor_numel(const eco_tensor *t);

/* ---- conversions ----------------------------------------------------------------- */

static inline float eco_bf16_to_f32(uint16_t h) {
    union {
        uint32_t u;
        float f;
    } v;
    v.u = (uint32_t)h << 16;
    return v.f;
}
/* Round to nearest even; NaN stays NaN (quiet). */
uint16_t eco_f32_to_bf16(float f);
float eco_f16_to_f32(uint16_t h);
/* Round to nearest even, overflow to inf, subnormals kept. */
uint16_t eco_f32_to_f16(float f);

/* ---- q8_0: GGUF's Q8_0 blocks ------------------------------------------------------- */

/* 32 weights per block: an f16 scale d = amax/127 then 32 int8 q (x ≈ d·q), 34 bytes, the
 * exact bytes of ggml's block_q8_0 (quantize_row_q8_0_ref: id = d ? 1/d : 0, q =
 * roundf(x·id), d stored rounded to f16). Rows of a q8_0 matrix are whole blocks. */
#define ECO_Q8_0_BLOCK       32
#define ECO_Q8_0_BLOCK_BYTES 34
/* dst[(n/32)·34] = the blocks of src[n]; n a multiple of 32. */
void eco_q8_0_quantize_row(uint8_t *dst, const float *src, int64_t n);
/* dst[n] = d·q for each block of src; n a multiple of 32. AVX2 when the CPU has it; the
 * _ref twin is the scalar loop (the same products, so the same bits). */
void eco_q8_0_dequantize_row(float *dst, const uint8_t *src, int64_t n);
void eco_q8_0_dequantize_row_ref(float *dst, const uint8_t *src, int64_t n);

/* dst[n] (f32) = src[n] converted from `src_dtype` (F32, F16, BF16, or Q8_0 with n a
 * multiple of 32 and src whole blocks). */
void eco_to_f32(float *dst, const void *src, eco_dtype src_dtype, size_t n);
/* dst[n] (dst_dtype: F32, F16, BF16, or Q8_0 with n a multiple of 32) = src[n]. */
void eco_from_f32(void *dst, eco_dtype dst_dtype, const float *src, size_t n);

/* ---- matrix products --------------------------------------------------------------- */

/* y[M,N] = x[M,K] · W[N,K]ᵀ (+ bias[N]) for f32 W, through cblas_sgemm. */
void eco_matmul_f32(float *y, const float *x, const float *W, const float *bias, int64_t M,
                    int64_t K, int64_t N);

/* y[N] = W[N,K] · x[K] with W in `wtype` (F32, F16, BF16, or Q8_0 with K a multiple of
 * 32: each row is K/32 blocks), converting row by row; OpenMP over rows. The _ref twin is
 * the plain scalar loop over the widened weights (Q8_0: d·q), in double. */
void eco_matvec(float *y, const void *W, eco_dtype wtype, const float *x, int64_t N, int64_t K);
void eco_matvec_ref(float *y, const void *W, eco_dtype wtype, const float *x, int64_t N, int64_t K);

/* Several products sharing one input, in one parallel region (the decode path's q/k/v and
 * gate/up): ys[i][Ns[i]] = Ws[i][Ns[i], K] · x[K] with Ws[i] in wtypes[i], for i < n. The
 * rows of every matrix are split evenly across the threads (so that matrices of equal N
 * give each thread the same row range of each). The _ref twin is eco_matvec_ref per matrix. */
void eco_matvec_multi(float *const *ys, const void *const *Ws, const eco_dtype *wtypes,
                      const float *x, const int64_t *Ns, int64_t K, int n);
void eco_matvec_multi_ref(float *const *ys, const void *const *Ws, const eco_dtype *wtypes,
                          const float *x, const int64_t *Ns, int64_t K, int n);
/* The serial piece of eco_matvec_multi that part `part` of `nparts` (0 <= part < nparts)
 * computes: for each matrix, the rows eco_matvec_part_rows gives. For callers that run
 * their own parallel region (one part per thread) and need no fork/join per product. */
void eco_matvec_multi_part(float *const *ys, const void *const *Ws, const eco_dtype *wtypes,
                           const float *x, const int64_t *Ns, int64_t K, int n, int part,
                           int nparts);
/* Rows [*r0, *r1) of an N-row product that part `part` of `nparts` computes (whole 4-row
 * blocks; an empty range when there are more parts than blocks). */
void eco_matvec_part_rows(int64_t N, int part, int nparts, int64_t *r0, int64_t *r1);

/* y[M,N] = x[M,K] · W[N,K]ᵀ (+ bias[N]) for W of any weight dtype. M == 1 takes the
 * matvec path; otherwise f32 weights go to sgemm, and bf16/f16 weights are widened block by
 * block into `scratch` (at least eco_linear_scratch_floats(K, N) floats; may be NULL for
 * f32 W) and multiplied with sgemm. q8_0 weights (K <= 4096) with M >= 4 take an int8
 * product instead, as llama.cpp does: each row of x quantized per 32-block into scratch
 * (ggml's q8_0 rule, f32 scales), exact int32 block dots times the two scales, so the
 * result carries the activations' quantization error too (about that of the weights');
 * M = 2, 3: the matvec path per row. */
void eco_linear(float *y, const float *x, const eco_tensor *W, const float *bias, int64_t M,
                float *scratch);
size_t eco_linear_scratch_floats(int64_t K, int64_t N);

/* n products sharing the input x[M,K]: ys[i][M, Ws[i]->shape[0]] = x · Ws[i]ᵀ (+ biases[i],
 * which may be NULL, or biases itself NULL for none). Every Ws[i] has K = Ws[0]->shape[1].
 * M == 1 runs them together through eco_matvec_multi (one parallel region); otherwise each
 * is an eco_linear (scratch as there, large enough for every matrix), as are all of them
 * when n > 8, except that the q8_0 ones on the int8 path share one quantization of x
 * (the same bits as single calls). */
void eco_linear_multi(float *const *ys, const float *x, const eco_tensor *const *Ws,
                      const float *const *biases, int64_t M, int n, float *scratch);

/* ---- elementwise and row kernels ---------------------------------------------------- */

/* out[n] = x[n] / sqrt(mean(x²) + eps) * weight[n]   (HF LlamaRMSNorm, computed in f32) */
void eco_rmsnorm(float *out, const float *x, const float *weight, int64_t n, float eps);
void eco_rmsnorm_ref(float *out, const float *x, const float *weight, int64_t n, float eps);

/* In-place rotary embedding, HF `rotate_half` layout, on x[n_heads, head_dim] at one
 * position: for i < head_dim/2, with c = cos[i], s = sin[i] (tables of head_dim/2 for
 * this position):  x[i]' = x[i]·c − x[i+d/2]·s ;  x[i+d/2]' = x[i+d/2]·c + x[i]·s. */
void eco_rope(float *x, const float *cos_tab, const float *sin_tab, int64_t n_heads,
              int64_t head_dim);
void eco_rope_ref(float *x, const float *cos_tab, const float *sin_tab, int64_t n_heads,
                  int64_t head_dim);

/* In-place softmax over x[n] (max-subtracted). */
void eco_softmax(float *x, int64_t n);
void eco_softmax_ref(float *x, int64_t n);

/* log Σ_i exp(x[i]) over x[n] (n <= 0: −inf), shifted by the maximum; the max itself when
 * it is not finite. The AVX2 path sums exp in float lanes per block of 512 and the blocks
 * in double: within 1e-6 of the double reference, and an order of magnitude faster than a
 * libm exp per entry (it runs over the vocabulary for every sampled token's
 * log-probability; README, performance). */
double eco_logsumexp(const float *x, int64_t n);
double eco_logsumexp_ref(const float *x, int64_t n);

/* SwiGLU: out[n] = silu(gate[n]) * up[n], silu(g) = g / (1 + exp(−g)). */
void eco_swiglu(float *out, const float *gate, const float *up, int64_t n);
void eco_swiglu_ref(float *out, const float *gate, const float *up, int64_t n);

/* y[n] += x[n] */
void eco_add_inplace(float *y, const float *x, int64_t n);

/* ---- attention of one query (decoding) ---------------------------------------------- */

/* One query head against a block of n >= 1 keys, as a partial softmax:
 *   q [hd]; K, V [n, hd] of kvt (F32 or F16) with rows ld elements apart (head_dim in
 *   an eco_kv_cache, whose kv heads keep their rows contiguous); S [n] scratch
 *   s_j = (q · K_j) · scale;  m = max_j s_j;  l = Σ_j exp(s_j − m);  o[hd] = Σ_j exp(s_j − m) · V_j
 * Softmax attention over the block is o / l. */
void eco_attend_part(float *o, float *m, float *l, const float *q, const void *K, const void *V,
                     eco_dtype kvt, int64_t ld, int64_t n, int64_t hd, float scale, float *S);
void eco_attend_part_ref(float *o, float *m, float *l, const float *q, const void *K, const void *V,
                         eco_dtype kvt, int64_t ld, int64_t n, int64_t hd, float scale, float *S);

/* eco_attend_part for G query heads that share K and V (one kv group of grouped-query
 * attention): q [G, hd], o [G, hd], ml [G, 2] (m then l of each head); S: scratch of
 * min(G, 4)·n floats. Each K and V row is read once for up to four heads. Equal to G
 * calls of eco_attend_part within rounding (eco_attend_part_group_ref is those calls of
 * the scalar kernel). */
void eco_attend_part_group(float *o, float *ml, const float *q, const void *K, const void *V,
                           eco_dtype kvt, int64_t ld, int64_t n, int64_t hd, int64_t G, float scale,
                           float *S);
void eco_attend_part_group_ref(float *o, float *ml, const float *q, const void *K, const void *V,
                               eco_dtype kvt, int64_t ld, int64_t n, int64_t hd, int64_t G,
                               float scale, float *S);

/* Prefetches the n rows of K and V that an eco_attend_part call will read (to issue for
 * the next block while this one is computed). */
void eco_attend_prefetch(const void *K, const void *V, eco_dtype kvt, int64_t ld, int64_t n,
                         int64_t hd);

/* out[hd] = softmax attention over the union of nb >= 1 blocks from their partials, merged
 * in block order: M = max_b m_b;  out = Σ_b exp(m_b − M)·o_b / Σ_b exp(m_b − M)·l_b.
 * Block b's o starts at o + b·o_stride, its m and l at m + b·ml_stride, l + b·ml_stride. */
void eco_attend_merge(float *out, const float *o, const float *m, const float *l, int64_t nb,
                      int64_t o_stride, int64_t ml_stride, int64_t hd);

#ifdef __cplusplus
}
#endif
#endif
