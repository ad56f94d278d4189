/*
 * The llama block's shared pieces that are not inline (layer.h): a layer's tensor list,
 * the RoPE frequencies with their scalings, and the cos/sin tables.
 */
#include "model/layer.h"

#include <math.h>

size_t eco_layer_tensors(const eco_model_config *cfg, eco_layer_tensor *out) {
    const int64_t d = cfg->hidden_size, f = cfg->intermediate_size;
    const int64_t qd = cfg->n_heads * cfg->head_dim, kvd = cfg->n_kv_heads * cfg->head_dim;
    const eco_layer_tensor all[ECO_LAYER_TENSOR__COUNT] = {
        {ECO_LAYER_ATTN_NORM, "input_layernorm.weight", d, -1, false},
        {ECO_LAYER_WQ, "self_attn.q_proj.weight", qd, d, true},
        {ECO_LAYER_WK, "self_attn.k_proj.weight", kvd, d, true},
        {ECO_LAYER_WV, "self_attn.v_proj.weight", kvd, d, true},
        {ECO_LAYER_BQ, "self_attn.q_proj.bias", qd, -1, false},
        {ECO_LAYER_BK, "self_attn.k_proj.bias", kvd, -1, false},
        {ECO_LAYER_BV, "self_attn.v_proj.bias", kvd, -1, false},
        {ECO_LAYER_WO, "self_attn.o_proj.weight", d, qd, true},
        {ECO_LAYER_BO, "self_attn.o_proj.bias", d, -1, false},
        {ECO_LAYER_FFN_NORM, "post_attention_layernorm.weight", d, -1, false},
        {ECO_LAYER_WG, "mlp.gate_proj.weight", f, d, true},
        {ECO_LAYER_WU, "mlp.up_proj.weight", f, d, true},
        {ECO_LAYER_WD, "mlp.down_proj.weight", d, f, true},
    };
    size_t n = 0;
    for (int i = 0; i < ECO_LAYER_TENSOR__COUNT; i++) {
        const eco_layer_tensor_role r = all[i].role;
        if ((r == ECO_LAYER_BQ || r == ECO_LAYER_BK || r == ECO_LAYER_BV) && !cfg->qkv_bias)
            continue;
        if (r == ECO_LAYER_BO && !cfg->o_bias) continue;
        out[n++] = all[i];
    }
    return n;
}

/* RoPE frequencies. HF (_compute_default_rope_parameters) computes
 *   inv_freq[i] = 1 / theta^(2i / hd)
 * in f32 and, for rope_type "llama3" (_compute_llama3_parameters), rescales by wavelength
 *   wavelen = 2π / inv_freq
 *   wavelen < orig/high_ff            → kept
 *   wavelen > orig/low_ff             → inv_freq / factor
 *   otherwise, s = (orig/wavelen − low_ff) / (high_ff − low_ff):
 *                                       (1 − s)·inv_freq/factor + s·inv_freq
 * We compute in double and round each frequency to f32, as HF stores them, so that the
 * angle pos·inv_freq (taken in double by eco_layer_rope_tables) differs from HF's only by
 * HF's own f32 rounding of the product. */
void eco_rope_inv_freq(const eco_model_config *cfg, double *out) {
    int64_t hd = cfg->head_dim;
    int64_t half = hd / 2;
    for (int64_t i = 0; i < half; i++) {
        double inv = (double)(float)(1.0 / pow(cfg->rope_theta, (double)(2 * i) / (double)hd));
        if (cfg->rope_llama3) {
            double factor = cfg->rope_factor;
            double low_ff = cfg->rope_low_freq_factor;
            double high_ff = cfg->rope_high_freq_factor;
            double old_ctx = (double)cfg->rope_original_max_pos;
            double low_freq_wavelen = old_ctx / low_ff;
            double high_freq_wavelen = old_ctx / high_ff;
            double wavelen = 2.0 * M_PI / inv;
            if (wavelen > low_freq_wavelen) {
                inv = inv / factor;
            } else if (!(wavelen < high_freq_wavelen)) {
                double s = (old_ctx / wavelen - low_ff) / (high_ff - low_ff);
                inv = (1.0 - s) * inv / factor + s * inv;
            }
            inv = (double)(float)inv;
        }
        out[i] = inv;
    }
}

void eco_layer_rope_tables(float *cos_tab, float *sin_tab, const double *inv_freq, int64_t p0,
                           int64_t n, int64_t half) {
    for (int64_t i = 0; i < n; i++) {
        const double pos = (double)(p0 + i);
        for (int64_t j = 0; j < half; j++) {
            const double a = pos * inv_freq[j];
            cos_tab[i * half + j] = (float)cos(a);
            sin_tab[i * half + j] = (float)sin(a);
        }
    }
}
