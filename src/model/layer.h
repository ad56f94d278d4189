/*
 * The llama block, written once: what the architecture decides about one layer, shared by
 * the three forwards that run it — the batched inference forward (model_forward.c), the
 * one-token decode step (model_decode.c) and the training forward and backward
 * (train_forward.c, train_model.c).
 *
 * Each path keeps its own loop structure (sgemm over [n, ·] rows; per-thread units between
 * barriers; activations saved for the backward), and calls these pieces for everything
 * the architecture decides:
 *   - which tensors a layer holds, their names and shapes, and which linears carry a bias
 *     (eco_layer_tensors; the head is tied or not: eco_layer_head_tied);
 *   - the norm (eco_layer_norm: RMSNorm with the config's eps);
 *   - RoPE: the frequencies with rope scaling (eco_rope_inv_freq), the cos/sin tables of
 *     positions (eco_layer_rope_tables), the rotation (eco_layer_rope; eco_layer_rope_dir
 *     with its inverse for the training passes);
 *   - attention: the score scale (eco_layer_attn_scale) and which keys a query may see
 *     (eco_layer_first_key: every path attends to keys [first, i] for the query at i);
 *   - the MLP activation, SwiGLU, and its derivative (eco_layer_mlp_act,
 *     eco_layer_mlp_act_grad).
 * A new feature (sliding-window attention: a later first key; a new RoPE scaling: another
 * branch of eco_rope_inv_freq; a bias: a row of eco_layer_tensors) is written here once and
 * reaches all three paths.
 *
 * The helpers are static inline around the tensor kernels, so the hot loops compile as
 * they did when the calls were written out in each path (same kernels, same loop order,
 * same arithmetic: the results are bit-identical). Only public headers are included:
 * train includes this header, never model_internal.h.
 */
#ifndef ECO_MODEL_LAYER_H
#define ECO_MODEL_LAYER_H

#include "ecology/config.h"
#include "ecology/peft.h"
#include "ecology/tensor.h"

#include <math.h>

/* ---- tensors ----------------------------------------------------------------------- */

/* The tensors of one layer, in the order the training parameter table lists them (that
 * order is part of checkpoints: do not reorder, append). */
typedef enum eco_layer_tensor_role {
    ECO_LAYER_ATTN_NORM = 0, /* [d]       input_layernorm.weight */
    ECO_LAYER_WQ,            /* [qd, d]   self_attn.q_proj.weight */
    ECO_LAYER_WK,            /* [kvd, d]  self_attn.k_proj.weight */
    ECO_LAYER_WV,            /* [kvd, d]  self_attn.v_proj.weight */
    ECO_LAYER_BQ,            /* [qd]      self_attn.q_proj.bias    (qkv_bias) */
    ECO_LAYER_BK,            /* [kvd]     self_attn.k_proj.bias    (qkv_bias) */
    ECO_LAYER_BV,            /* [kvd]     self_attn.v_proj.bias    (qkv_bias) */
    ECO_LAYER_WO,            /* [d, qd]   self_attn.o_proj.weight */
    ECO_LAYER_BO,            /* [d]       self_attn.o_proj.bias    (o_bias) */
    ECO_LAYER_FFN_NORM,      /* [d]       post_attention_layernorm.weight */
    ECO_LAYER_WG,            /* [f, d]    mlp.gate_proj.weight */
    ECO_LAYER_WU,            /* [f, d]    mlp.up_proj.weight */
    ECO_LAYER_WD,            /* [d, f]    mlp.down_proj.weight */
    ECO_LAYER_TENSOR__COUNT
} eco_layer_tensor_role;

/* One tensor a layer of a config holds. */
typedef struct eco_layer_tensor {
    eco_layer_tensor_role role;
    const char *suffix; /* the name after "model.layers.<i>." (static storage) */
    int64_t rows;       /* shape[0] */
    int64_t cols;       /* shape[1], or -1 for a vector */
    bool decay;         /* weight decay applies (matrices; not norms or biases) */
} eco_layer_tensor;

/* The tensors every layer of cfg holds, in eco_layer_tensor_role order, into
 * out[ECO_LAYER_TENSOR__COUNT]; returns how many (the biases only where cfg has them). */
size_t eco_layer_tensors(const eco_model_config *cfg, eco_layer_tensor *out);

/* The [out, in] shape of the linear a LoRA target adapts: eco_lora_module_dims (peft.h). */

/* The head shares the embedding's matrix (tie_word_embeddings): no lm_head.weight. */
static inline bool eco_layer_head_tied(const eco_model_config *cfg) {
    return cfg->tie_word_embeddings;
}

/* ---- norm ---------------------------------------------------------------------------- */

static inline float eco_layer_norm_eps(const eco_model_config *cfg) {
    return (float)cfg->rms_norm_eps;
}

/* out[d] = RMSNorm(x[d]) · w (the input and post-attention norms and the final norm). The
 * training backward's derivative (rmsnorm_backward) assumes this form. */
static inline void eco_layer_norm(float *out, const float *x, const float *w, int64_t d,
                                  float eps) {
    eco_rmsnorm(out, x, w, d, eps);
}

/* ---- RoPE ---------------------------------------------------------------------------- */

/* eco_rope_inv_freq (declared in ecology/model.h, defined in layer.c): every rope scaling
 * lives there. */

/* cos_tab, sin_tab [n, half] for positions p0..p0+n−1: the angle pos·inv_freq[j] in
 * double, its cos and sin rounded once to f32. */
void eco_layer_rope_tables(float *cos_tab, float *sin_tab, const double *inv_freq, int64_t p0,
                           int64_t n, int64_t half);

/* In place on x[nh, hd] at one position (c, s: that position's rows of the tables). */
static inline void eco_layer_rope(float *x, const float *c, const float *s, int64_t nh,
                                  int64_t hd) {
    eco_rope(x, c, s, nh, hd);
}

/* The same rotation (bit for bit: test_kernels holds them together), or with `inverse` the
 * rotation back (by −angle, the transpose), which is its backward: the training passes'
 * form, inline, where the direction is a run-time flag. */
static inline void eco_layer_rope_dir(float *x, const float *c, const float *s, int64_t nh,
                                      int64_t hd, bool inverse) {
    const int64_t half = hd / 2;
    for (int64_t h = 0; h < nh; h++) {
        float *v = x + h * hd;
        for (int64_t j = 0; j < half; j++) {
            const float a = v[j], b = v[j + half];
            const float sj = inverse ? -s[j] : s[j];
            v[j] = a * c[j] - b * sj;
            v[j + half] = b * c[j] + a * sj;
        }
    }
}

/* ---- attention ------------------------------------------------------------------------ */

/* Scores are q·k · eco_layer_attn_scale(hd) (1/√hd) before the softmax. */
static inline float eco_layer_attn_scale(int64_t hd) { return (float)(1.0 / sqrt((double)hd)); }

/* The masking rule, for every path: the query at sequence index i (a row of a training
 * batch, or a position of the KV cache), at position `pos` within its document, sees the
 * keys at indices first..i, first = eco_layer_first_key(i, pos): causal, and only its own
 * document (a packed training row restarts positions at 0 where a document starts; the KV
 * cache holds one document, pos == i, so first is 0, which the compiler folds). A sliding
 * window would be max(i − pos, i − window + 1) here, the window a further argument. (No
 * config argument until then: a pointer used inside an OpenMP region is one more field of
 * the region's shared block, and the hot loops are kept compiling as before.) */
static inline int64_t eco_layer_first_key(int64_t i, int64_t pos) { return i - pos; }

/* ---- MLP ------------------------------------------------------------------------------- */

/* hid[n] = act(gate[n], up[n]): SwiGLU, silu(gate) ⊙ up. */
static inline void eco_layer_mlp_act(float *hid, const float *gate, const float *up, int64_t n) {
    eco_swiglu(hid, gate, up, n);
}

/* Element i of the backward of eco_layer_mlp_act: dgate[i], dup[i] from dhid[i]. */
static inline void eco_layer_mlp_act_grad(float *dgate, float *dup, const float *dhid,
                                          const float *gate, const float *up, int64_t i) {
    const float g = gate[i];
    const float sig = 1.0f / (1.0f + expf(-g));
    const float silu = g * sig;
    dgate[i] = dhid[i] * up[i] * sig * (1.0f + g * (1.0f - sig));
    dup[i] = dhid[i] * silu;
}

#endif
