/*
 * A llama-family GGUF as a model: the config its keys describe and its tensors under
 * their Hugging Face names (gguf.h has the mapping). The q/k rows llama.cpp keeps
 * interleaved for arch "llama" are put back in HF's order in copies; every other tensor is
 * a view into the mapping (Q8_0 ones as the engine's q8_0 dtype, tensor.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/gguf_internal.h"

const gguf_name_pair gguf_layer_names[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.q_proj.bias", "attn_q.bias"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.k_proj.bias", "attn_k.bias"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.v_proj.bias", "attn_v.bias"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.o_proj.bias", "attn_output.bias"},
    {"post_attention_layernorm.weight", "ffn_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
};
const size_t gguf_n_layer_names = sizeof gguf_layer_names / sizeof *gguf_layer_names;

static const gguf_name_pair global_names[] = {
    {"model.embed_tokens.weight", "token_embd.weight"},
    {"model.norm.weight", "output_norm.weight"},
    {"lm_head.weight", "output.weight"},
};

bool gguf_map_name(const char *name, bool to_hf, char *out, size_t cap) {
    for (size_t i = 0; i < sizeof global_names / sizeof *global_names; i++) {
        const char *from = to_hf ? global_names[i].gguf : global_names[i].hf;
        const char *to = to_hf ? global_names[i].hf : global_names[i].gguf;
        if (strcmp(name, from) == 0) return (size_t)snprintf(out, cap, "%s", to) < cap;
    }
    const char *prefix = to_hf ? "blk." : "model.layers.";
    size_t pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0) return false;
    const char *p = name + pl;
    long long layer = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 9; p++, digits++) layer = layer * 10 + (*p - '0');
    if (digits == 0 || *p != '.' || (digits > 1 && name[pl] == '0')) return false;
    p++;
    for (size_t i = 0; i < gguf_n_layer_names; i++) {
        const char *from = to_hf ? gguf_layer_names[i].gguf : gguf_layer_names[i].hf;
        const char *to = to_hf ? gguf_layer_names[i].hf : gguf_layer_names[i].gguf;
        if (strcmp(p, from) == 0)
            return (size_t)snprintf(out, cap, "%s%lld.%s", to_hf ? "model.layers." : "blk.", layer,
                                    to) < cap;
    }
    return false;
}

void gguf_permute_rows(void *dst, const void *src, int64_t n_head, int64_t hd, size_t row_bytes,
                       bool to_gguf) {
    const int64_t half = hd / 2;
    for (int64_t h = 0; h < n_head; h++)
        for (int64_t i = 0; i < half; i++)
            for (int64_t j = 0; j < 2; j++) {
                int64_t g = h * hd + 2 * i + j, f = h * hd + j * half + i;
                int64_t d = to_gguf ? g : f, s = to_gguf ? f : g;
                memcpy((char *)dst + (size_t)d * row_bytes,
                       (const char *)src + (size_t)s * row_bytes, row_bytes);
            }
}

/* ---- llama3 rope scaling --------------------------------------------------------------- */

/* The base inverse frequency i, rounded to f32 as HF and llama.cpp hold it. */
static double base_inv_freq(const eco_model_config *c, int64_t i) {
    return (double)(float)(1.0 / pow(c->rope_theta, (double)(2 * i) / (double)c->head_dim));
}

void gguf_llama3_rope_factors(const eco_model_config *c, float *out) {
    const double lf = c->rope_low_freq_factor, hf = c->rope_high_freq_factor;
    const double old = (double)c->rope_original_max_pos;
    for (int64_t i = 0; i < c->head_dim / 2; i++) {
        double wavelen = 2.0 * M_PI / base_inv_freq(c, i);
        double f;
        if (wavelen < old / hf) {
            f = 1.0;
        } else if (wavelen > old / lf) {
            f = c->rope_factor;
        } else {
            double smooth = (old / wavelen - lf) / (hf - lf);
            f = 1.0 / ((1.0 - smooth) / c->rope_factor + smooth);
        }
        out[i] = (float)f;
    }
}

/* A value to 6 significant digits (what a config.json holds: 8.0, 4.0, 0.5). */
static double snap6(double x) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.6g", x);
    return strtod(buf, NULL);
}

/* Recovers llama3 rope parameters from rope_freqs.weight: factor = the largest factor; the
 * blend region gives smooth = A/wavelen + B, fitted by least squares; with low_freq_factor 1
 * (the parameters are only determined up to a common scale of the original context and both
 * factors, which leaves every frequency the same) original = −A/B, high = 1 − 1/B. The
 * recovered parameters must reproduce every stored factor to 1e-5, else EUNSUPPORTED. */
static eco_status recover_llama3(const eco_gguf *g, const eco_gguf_tensor *t, eco_model_config *c) {
    const char *label = eco_gguf_label(g);
    const int64_t half = c->head_dim / 2;
    if (t->type != ECO_GGML_F32 || t->n_dims != 1 || t->ne[0] != half)
        return eco_error(ECO_STATUS_EFORMAT, "%s: tensor 'rope_freqs.weight': expected F32 [%lld]",
                         label, (long long)half);
    const float *f = t->data;
    double factor = 1;
    for (int64_t i = 0; i < half; i++) {
        if (!(f[i] >= 1.0f) || !isfinite(f[i]))
            return eco_error(ECO_STATUS_EUNSUPPORTED,
                             "%s: rope_freqs.weight[%lld] = %g is not a llama3 rope factor", label,
                             (long long)i, (double)f[i]);
        factor = fmax(factor, f[i]);
    }
    if (factor == 1) return ECO_STATUS_OK; /* no scaling at all */
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int n = 0;
    for (int64_t i = 0; i < half; i++) {
        if (f[i] == 1.0f || fabs(f[i] - factor) <= 1e-6 * factor) continue;
        double x = base_inv_freq(c, i) / (2.0 * M_PI); /* 1 / wavelength */
        double y = (1.0 / f[i] - 1.0 / factor) / (1.0 - 1.0 / factor);
        sx += x, sy += y, sxx += x * x, sxy += x * y, n++;
    }
    double det = n * sxx - sx * sx;
    if (n < 2 || det == 0)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s: rope_freqs.weight: too few blended frequencies to recover the llama3 "
                         "rope parameters",
                         label);
    double A = (n * sxy - sx * sy) / det, B = (sy - A * sx) / n;
    c->rope_llama3 = true;
    c->rope_factor = snap6(factor);
    c->rope_low_freq_factor = 1.0;
    c->rope_high_freq_factor = B < 0 ? snap6(1.0 - 1.0 / B) : 0;
    double orig = B < 0 ? -A / B : 0;
    c->rope_original_max_pos = orig >= 1 && orig < 1e12 ? (int64_t)llround(orig) : 0;
    float *back = eco_malloc_array((size_t)half, sizeof *back);
    if (!back) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
    bool ok = c->rope_original_max_pos > 0 && c->rope_high_freq_factor > 1;
    if (ok) gguf_llama3_rope_factors(c, back);
    for (int64_t i = 0; ok && i < half; i++) ok = fabs(back[i] - f[i]) <= 1e-5 * f[i];
    free(back);
    if (!ok)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s: rope_freqs.weight: not llama3 rope scaling (no parameters reproduce "
                         "its factors)",
                         label);
    return ECO_STATUS_OK;
}

/* ---- config ------------------------------------------------------------------------- */

/* An integer key that must be present (required) and in 1..2^31-1 (or 0.. when zero_ok). */
static eco_status get_size(const eco_gguf *g, const char *arch, const char *suffix, bool required,
                           int64_t *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int64_t v;
    eco_status st = eco_gguf_get_int(g, key, &v);
    if (st == ECO_STATUS_ENOTFOUND) {
        if (!required) return ECO_STATUS_ENOTFOUND;
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: missing", eco_gguf_label(g), key);
    }
    if (st) return st;
    if (v <= 0 || v > INT32_MAX)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: %lld is out of range", eco_gguf_label(g), key,
                         (long long)v);
    *out = v;
    return ECO_STATUS_OK;
}

static eco_dtype dtype_of(uint32_t type) {
    switch (type) {
        case ECO_GGML_F16:
            return ECO_DTYPE_F16;
        case ECO_GGML_BF16:
            return ECO_DTYPE_BF16;
        case ECO_GGML_Q8_0:
            return ECO_DTYPE_Q8_0;
        default:
            return ECO_DTYPE_F32;
    }
}

eco_status eco_gguf_model_config(const eco_gguf *g, eco_model_config *out) {
    const char *label = eco_gguf_label(g);
    memset(out, 0, sizeof *out);
    eco_gguf_str a;
    eco_status st = eco_gguf_get_str(g, "general.architecture", &a);
    if (st == ECO_STATUS_ENOTFOUND)
        return eco_error(ECO_STATUS_EFORMAT, "%s: general.architecture: missing", label);
    if (st) return st;
    const char *arch = a.s;
    if (strcmp(arch, "llama") == 0) {
        out->arch = ECO_ARCH_LLAMA;
    } else if (strcmp(arch, "qwen2") == 0) {
        out->arch = ECO_ARCH_QWEN2;
    } else {
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s: general.architecture: '%s' is not supported (llama, qwen2)", label,
                         arch);
    }
    snprintf(out->model_type, sizeof out->model_type, "%s", arch);
    if ((st = get_size(g, arch, "embedding_length", true, &out->hidden_size)) ||
        (st = get_size(g, arch, "feed_forward_length", true, &out->intermediate_size)) ||
        (st = get_size(g, arch, "block_count", true, &out->n_layers)) ||
        (st = get_size(g, arch, "attention.head_count", true, &out->n_heads)) ||
        (st = get_size(g, arch, "context_length", true, &out->max_position_embeddings)))
        return st;
    out->n_kv_heads = out->n_heads;
    if ((st = get_size(g, arch, "attention.head_count_kv", false, &out->n_kv_heads)) &&
        st != ECO_STATUS_ENOTFOUND)
        return st;
    out->head_dim = out->hidden_size / out->n_heads;
    if ((st = get_size(g, arch, "attention.key_length", false, &out->head_dim)) &&
        st != ECO_STATUS_ENOTFOUND)
        return st;
    int64_t v;
    st = get_size(g, arch, "attention.value_length", false, &v);
    if (st == ECO_STATUS_OK && v != out->head_dim)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s: %s.attention.value_length: %lld differs from the key length %lld",
                         label, arch, (long long)v, (long long)out->head_dim);
    if (st && st != ECO_STATUS_ENOTFOUND) return st;
    st = get_size(g, arch, "rope.dimension_count", false, &v);
    if (st == ECO_STATUS_OK && v != out->head_dim)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s: %s.rope.dimension_count: %lld (partial rotary) is not supported",
                         label, arch, (long long)v);
    if (st && st != ECO_STATUS_ENOTFOUND) return st;

    char key[128];
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", arch);
    st = eco_gguf_get_float(g, key, &out->rms_norm_eps);
    if (st == ECO_STATUS_ENOTFOUND)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: missing", label, key);
    if (st) return st;
    out->rope_theta = 10000.0;
    snprintf(key, sizeof key, "%s.rope.freq_base", arch);
    if ((st = eco_gguf_get_float(g, key, &out->rope_theta)) && st != ECO_STATUS_ENOTFOUND)
        return st;
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    eco_gguf_str rs;
    st = eco_gguf_get_str(g, key, &rs);
    if (st == ECO_STATUS_OK && strcmp(rs.s, "none") != 0)
        return eco_error(ECO_STATUS_EUNSUPPORTED, "%s: %s: '%s' is not supported", label, key,
                         rs.s);
    if (st && st != ECO_STATUS_ENOTFOUND) return st;
    const eco_gguf_tensor *rf = eco_gguf_find_tensor(g, "rope_freqs.weight");
    if (rf && (st = recover_llama3(g, rf, out))) return st;

    const eco_gguf_tensor *emb = eco_gguf_find_tensor(g, "token_embd.weight");
    if (!emb)
        return eco_error(ECO_STATUS_EFORMAT, "%s: tensor 'token_embd.weight' is missing", label);
    out->vocab_size = emb->ne[1];
    snprintf(key, sizeof key, "%s.vocab_size", arch);
    st = eco_gguf_get_int(g, key, &v);
    if (st == ECO_STATUS_OK && v != out->vocab_size)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: %lld, but token_embd.weight has %lld rows",
                         label, key, (long long)v, (long long)out->vocab_size);
    if (st && st != ECO_STATUS_ENOTFOUND) return st;
    out->torch_dtype = emb->type == ECO_GGML_Q8_0 ? ECO_DTYPE_F32 : dtype_of(emb->type);
    out->tie_word_embeddings = eco_gguf_find_tensor(g, "output.weight") == NULL;
    if (out->arch == ECO_ARCH_QWEN2) {
        out->qkv_bias = true;
    } else {
        out->qkv_bias = eco_gguf_find_tensor(g, "blk.0.attn_q.bias") != NULL;
        out->o_bias = eco_gguf_find_tensor(g, "blk.0.attn_output.bias") != NULL;
    }
    out->bos_token_id = -1;
    if ((st = eco_gguf_get_int(g, "tokenizer.ggml.bos_token_id", &out->bos_token_id)) &&
        st != ECO_STATUS_ENOTFOUND)
        return st;
    int64_t eos;
    st = eco_gguf_get_int(g, "tokenizer.ggml.eos_token_id", &eos);
    if (st == ECO_STATUS_OK) {
        out->eos_token_ids[0] = eos;
        out->n_eos = 1;
    } else if (st != ECO_STATUS_ENOTFOUND) {
        return st;
    }
    st = eco_config_validate(out, label);
    return st == ECO_STATUS_EINVAL ? ECO_STATUS_EFORMAT : st;
}

/* ---- tensors under HF names ---------------------------------------------------------- */

struct eco_gguf_hf {
    eco_tensor *t;
    char **names;
    void **owned; /* [n] copies, NULL for views */
    size_t n;
};

void eco_gguf_hf_free(eco_gguf_hf *h) {
    if (!h) return;
    for (size_t i = 0; i < h->n; i++) {
        free(h->names[i]);
        free(h->owned[i]);
    }
    free(h->t);
    free(h->names);
    free(h->owned);
    free(h);
}

size_t eco_gguf_hf_count(const eco_gguf_hf *h) { return h ? h->n : 0; }
const eco_tensor *eco_gguf_hf_get(const eco_gguf_hf *h, size_t i) {
    return h && i < h->n ? &h->t[i] : NULL;
}

/* Builds h->t[i] from the GGUF tensor gt (HF name hf). */
static eco_status import_tensor(eco_gguf_hf *h, size_t i, const eco_gguf_tensor *gt, const char *hf,
                                const eco_model_config *cfg, const char *label) {
    eco_tensor *t = &h->t[i];
    if (!(h->names[i] = strdup(hf)))
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
    t->name = h->names[i];
    t->ndim = gt->n_dims;
    for (int d = 0; d < gt->n_dims; d++) t->shape[d] = gt->ne[gt->n_dims - 1 - d];
    bool q = strstr(hf, "q_proj") != NULL, k = strstr(hf, "k_proj") != NULL;
    bool permute = cfg->arch == ECO_ARCH_LLAMA && (q || k);
    int64_t heads = q ? cfg->n_heads : cfg->n_kv_heads;
    if (permute && (t->shape[0] != heads * cfg->head_dim))
        return eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s': %lld rows, expected %lld", label,
                         gt->name, (long long)t->shape[0], (long long)(heads * cfg->head_dim));
    /* a view of the file's bytes: F32, F16, BF16, or Q8_0 blocks (the engine's q8_0 dtype;
     * a row is whole blocks, so q/k rows are permuted as they are) */
    t->dtype = dtype_of(gt->type);
    t->data = (void *)gt->data;
    t->nbytes = gt->nbytes;
    if (permute) {
        void *dst = malloc(t->nbytes ? t->nbytes : 1);
        if (!dst)
            return eco_error(ECO_STATUS_ENOMEM, "%s: tensor '%s': out of memory", label, gt->name);
        size_t row_bytes = t->nbytes / (size_t)t->shape[0];
        gguf_permute_rows(dst, t->data, heads, cfg->head_dim, row_bytes, false);
        free(h->owned[i]);
        h->owned[i] = dst;
        t->data = dst;
    }
    return ECO_STATUS_OK;
}

eco_status eco_gguf_hf_open(const eco_gguf *g, eco_gguf_hf **out) {
    *out = NULL;
    const char *label = eco_gguf_label(g);
    eco_model_config cfg;
    eco_status st = eco_gguf_model_config(g, &cfg);
    if (st) return st;
    eco_gguf_hf *h = calloc(1, sizeof *h);
    size_t n = eco_gguf_tensor_count(g);
    if (h && n) {
        h->t = eco_calloc_array(n, sizeof *h->t);
        h->names = eco_calloc_array(n, sizeof *h->names);
        h->owned = eco_calloc_array(n, sizeof *h->owned);
    }
    if (!h || (n && (!h->t || !h->names || !h->owned))) {
        eco_gguf_hf_free(h);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
    }
    for (size_t i = 0; i < n; i++) {
        const eco_gguf_tensor *gt = eco_gguf_tensor_at(g, i);
        char hf[160];
        if (strcmp(gt->name, "rope_freqs.weight") == 0) continue; /* in the config (llama3) */
        if (!gguf_map_name(gt->name, true, hf, sizeof hf)) {
            eco_gguf_hf_free(h);
            return eco_error(ECO_STATUS_EUNSUPPORTED,
                             "%s: tensor '%s' is not part of a llama/qwen2 model this engine runs",
                             label, gt->name);
        }
        size_t k = h->n++; /* slot k is freed with h from here on */
        if ((st = import_tensor(h, k, gt, hf, &cfg, label))) {
            eco_gguf_hf_free(h);
            return st;
        }
    }
    *out = h;
    return ECO_STATUS_OK;
}
