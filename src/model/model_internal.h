/*
 * The model module's private layout, shared by model_load.c (builds it), model_forward.c
 * (the batched pass; owns the activation buffers), model_decode.c (the one-token step),
 * kv_cache.c, lora_infer.c / lora_merge.c (adapters) and presets.c. Private to src/model/
 * (scripts/check_layering.py refuses it elsewhere): what train needs is in model.h.
 *
 * Matrices are views into the memory-mapped weights (f32, bf16 or f16 as stored); the
 * small vectors (norm weights, biases) are widened to f32 at load into one allocation,
 * `vec_block`. Activation buffers grow on demand to the largest batch seen, so decoding
 * allocates nothing per token.
 *
 * What the architecture decides per layer (tensor list, norm, RoPE and its scaling, the
 * masking rule, SwiGLU, tied head) is not here but in model/layer.h, which the training
 * forward shares.
 */
#ifndef ECO_MODEL_INTERNAL_H
#define ECO_MODEL_INTERNAL_H

#include "ecology/model.h"
#include "ecology/peft.h"

#include <stdatomic.h>

#include "core/team_barrier.h"
#include "model/layer.h"
#include "tensor/matvec_internal.h"

typedef struct eco_layer {
    const eco_tensor *wq;   /* [H·hd, d] */
    const eco_tensor *wk;   /* [KV·hd, d] */
    const eco_tensor *wv;   /* [KV·hd, d] */
    const eco_tensor *wo;   /* [d, H·hd] */
    const eco_tensor *wg;   /* [f, d] */
    const eco_tensor *wu;   /* [f, d] */
    const eco_tensor *wd;   /* [d, f] */
    const float *attn_norm; /* [d] input_layernorm */
    const float *ffn_norm;  /* [d] post_attention_layernorm */
    const float *bq;        /* [H·hd] or NULL */
    const float *bk;        /* [KV·hd] or NULL */
    const float *bv;        /* [KV·hd] or NULL */
    const float *bo;        /* [d] or NULL */
    /* wq/wk/wv point at these views of the model's matrix block (model_load.c); fused:
     * q's, k's and v's rows back to back, every row on a 64-byte line */
    bool qkv_fused;
    eco_tensor qkv[3];
} eco_layer;

/* One module's LoRA adapter, widened to f32 (eco_model_adapter_create):
 * y += scale · B · (A · x). A is NULL where the module has no adapter. */
typedef struct eco_lora_w {
    const float *A; /* [r, in]  into eco_model_adapter.block */
    const float *B; /* [out, r] into eco_model_adapter.block */
    int64_t r;
    float scale;
} eco_lora_w;

/* An adapter ready for the forward (model.h): f32 copies of every A and B. `dims` are the
 * config's shape fields it was checked against, so a forward on another model can refuse
 * it. */
struct eco_model_adapter {
    eco_lora_w *lw;  /* [n_layers * ECO_LORA__COUNT], index layer*COUNT+target */
    float *block;    /* owns every A and B of lw */
    int64_t rmax;    /* largest r among its modules */
    size_t bytes;    /* bytes of block, read once per decode step */
    int64_t dims[6]; /* n_layers, hidden, intermediate, heads, kv heads, head_dim */
};

/* Whether ad was made for a model of m's shapes. */
bool eco_model_adapter_fits(const eco_model *m, const eco_model_adapter *ad);

/* Per-row facts of a decode batch (model_decode.c), kept in the buffers: the row's
 * position, the keys it sees in blocks, and where its attention units start. */
typedef struct eco_decode_meta {
    int64_t p0, kfirst, kblock, nkb, unit0;
} eco_decode_meta;

/* One row of a decode step as eco_model_decode_rows takes it. */
typedef struct eco_decode_slot {
    eco_kv_cache *kv;
    const eco_lora_w *lw; /* [n_layers * ECO_LORA__COUNT] or NULL: the bare base */
    int64_t rmax;         /* largest r of lw's modules (0 when lw is NULL) */
    float *logits;        /* [vocab] */
} eco_decode_slot;

/* Activation buffers, sized for `cap_n` tokens and attention of up to `cap_rows` queries
 * over `cap_keys` keys in each of `cap_threads` OpenMP threads. One forward at a time per
 * model. `scratch` is sized at load and is not part of the growing set. */
typedef struct eco_model_buffers {
    int64_t cap_n;
    int64_t cap_keys;
    int64_t cap_rows;
    int cap_threads;
    bool cap_widen;      /* kv_f32 is allocated (a 16-bit cache has been used) */
    int64_t cap_kblocks; /* key blocks of ECO_ATTN_KBLOCK for cap_keys keys */
    float *x;            /* [n, d]     residual stream */
    float *xn;           /* [n, d]     normed input of a block; then the block's output */
    float *q;            /* [n, H·hd]  queries (after RoPE) */
    float *att;          /* [n, H·hd]  attention output, heads concatenated */
    float *knew;    /* [n, KV·hd] the new tokens' keys (after RoPE), before the cache's dtype */
    float *vnew;    /* [n, KV·hd] their values */
    float *gate;    /* [n, f] */
    float *up;      /* [n, f] */
    float *hid;     /* [n, f]     silu(gate) ⊙ up */
    float *cos_tab; /* [n, hd/2] */
    float *sin_tab; /* [n, hd/2] */
    float
        *scores; /* [cap_threads, cap_rows, cap_keys] attention scores per thread (cap_rows >= 4) */
    float *kv_f32;  /* [2, KV, cap_keys, hd] a layer's K and V widened from an f16 cache for
                     * sgemm (batched path); NULL until a 16-bit cache needs it */
    int64_t cap_b;  /* rows of a decode step the per-row decode scratch below holds */
    float *xt;      /* [cap_threads, cap_b, d] each thread's normed copy of x (decode) */
    float *att_t;   /* [cap_threads, cap_b, H·hd] each thread's merged attention output */
    float *xp;      /* [cap_threads, cap_b, ECO_MATVEC_XP_MAX] each thread's prepared inputs */
    float *part_o;  /* [cap_b, cap_kblocks, H, hd] a row's attention partials per key block */
    float *part_ml; /* [cap_b, cap_kblocks, H, 2] their running max m and sum l */
    eco_decode_meta *meta; /* [cap_b] */
    atomic_long *claims;   /* [3, cap_threads] one-token work counters, ECO_CLAIM_STRIDE apart */
    atomic_long *arrived;  /* [cap_threads] one-token barrier counts, ECO_BARRIER_STRIDE apart
                           * (in the same allocation as claims, after it) */
    float *lt; /* [cap_lt] LoRA's t = x·Aᵀ: [n, r] (batched) or [threads, cap_b, COUNT, r]
                * (decode) */
    size_t cap_lt;
    float *scratch; /* eco_linear's widening scratch, scratch_floats */
    size_t scratch_floats;
} eco_model_buffers;

struct eco_model {
    eco_model_config cfg;
    eco_weights *weights;
    const eco_tensor *embed;   /* [V, d] */
    const eco_tensor *lm_head; /* [V, d]; == embed when tied */
    const float *final_norm;   /* [d] */
    eco_layer *layers;         /* [n_layers] */
    void *matrix_block; /* [matrix_bytes] every streamed matrix, in decode order (model_load.c) */
    size_t matrix_bytes;
    eco_tensor *placed; /* [n_placed] views into matrix_block: o, gate, up, down, head */
    size_t n_placed;
    float *vec_block; /* owns every widened norm weight and bias */
    double *inv_freq; /* [hd/2] RoPE frequencies (llama3-scaled when asked) */
    size_t decode_bytes;
    /* The attached adapter (eco_model_set_adapter), NULL when none: f32 copies, so the
     * model keeps no pointer into the caller's eco_lora_adapter. */
    eco_model_adapter *attached;
    const eco_lora_w *lora; /* attached->lw, or NULL */
    eco_model_buffers buf;
};

/* Rows of queries one attention task handles on the batched path. */
#define ECO_ATTN_QBLOCK      64
/* Keys per block of the one-token attention (eco_attend_part): a block of one kv head is
 * one unit of work, so a single head's keys spread over all threads. */
#define ECO_ATTN_KBLOCK      32
/* Key blocks per kv head at most: past ECO_ATTN_KBLOCK × ECO_ATTN_MAX_KBLOCKS keys the
 * blocks grow (whole multiples of ECO_ATTN_KBLOCK), so that merging the partials, which
 * every thread does for every head, stays small against reading the keys. */
#define ECO_ATTN_MAX_KBLOCKS 16

/* Keys per attention block of a one-token step over `keys` keys (a function of keys only,
 * so results do not depend on the thread count). */
static inline int64_t eco_attn_kblock(int64_t keys) {
    const int64_t span = (int64_t)ECO_ATTN_KBLOCK * ECO_ATTN_MAX_KBLOCKS;
    return ECO_ATTN_KBLOCK * (keys > span ? (keys + span - 1) / span : 1);
}
/* atomic_longs from one work counter to the next: one 64-byte line each, so that threads
 * taking units from their own counters do not contend for a line. */
#define ECO_CLAIM_STRIDE 8

void eco_model_buffers_free(eco_model_buffers *b);

/* Layer l's K (or V) rows of the cache: [n_kv_heads, max_seq, head_dim] from base +
 * l·max_seq·kv_dim elements. */
static inline char *eco_kv_layer(const eco_kv_cache *kv, void *base, int64_t l) {
    return (char *)base +
           (size_t)l * (size_t)kv->max_seq * (size_t)kv->kv_dim * eco_dtype_size(kv->dtype);
}

/* Bytes from a layer's rows (eco_kv_layer) to element c of position `pos` of kv head h
 * (head_dim hd). */
static inline size_t eco_kv_at(const eco_kv_cache *kv, int64_t h, int64_t pos, int64_t hd,
                               int64_t c) {
    return (((size_t)h * (size_t)kv->max_seq + (size_t)pos) * (size_t)hd + (size_t)c) *
           eco_dtype_size(kv->dtype);
}

/* dst[n] (the cache's dtype t) = src[n]; to f16 with values beyond ±65504 saturated
 * rather than turned into infinities (NaN stays NaN). */
void eco_kv_store(void *dst, eco_dtype t, const float *src, int64_t n);

/* The one-token forward of B rows (model_decode.c), called by eco_model_forward with
 * n == 1 (one row) and by eco_model_decode_batch once the buffers are sized
 * (eco_model_decode_buffers), b->x holds row i's embedded token at [i, d] and
 * b->cos_tab/sin_tab the RoPE tables of its position kv->len at [i, hd/2]; writes each
 * row's logits and its cache rows at kv->len (the caller advances kv->len). Rows sharing
 * an adapter should be adjacent (their B rows are then read once per unit). */
void eco_model_decode_rows(eco_model *m, const eco_decode_slot *rows, int64_t B);

/* Sizes the buffers for a decode step of B rows whose longest sees `keys` keys (caches of
 * up to max_seq, 16-bit when widen) and whose adapters' largest rank is rmax
 * (model_forward.c). ENOMEM (buffers freed). */
eco_status eco_model_decode_buffers(eco_model *m, int64_t B, int64_t keys, int64_t max_seq,
                                    bool widen, int64_t rmax);
/* The residual row check of eco_model_forward before the final norm (model_forward.c). */
eco_status eco_model_check_final_rows(const float *x, int64_t rows, int64_t d, int64_t p0);

/* Frees the attached adapter's f32 copies (eco_model_set_adapter(m, NULL)). */
void eco_model_lora_free(eco_model *m);

#endif
