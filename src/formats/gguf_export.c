/*
 * eco_gguf_export: a model (folder or .gguf) → the GGUF file llama.cpp runs (gguf.h lists
 * the keys and tensor names). Tensors are converted one at a time while the file is
 * written (eco_gguf_add_tensor's fill callback): widened to f32 (q8_0 into q8_0: the blocks
 * as they are), q/k rows permuted for
 * arch "llama", then stored as the chosen type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/safetensors.h"
#include "formats/gguf_internal.h"

#define TOKENIZER_MAX_BYTES (256u * 1024u * 1024u)

typedef struct fill_ctx {
    const eco_tensor *src;
    uint32_t type;
    bool permute;
    int64_t heads, head_dim;
} fill_ctx;

static eco_status fill_tensor(void *vctx, void *dst, size_t nbytes) {
    const fill_ctx *c = vctx;
    const eco_tensor *t = c->src;
    if (t->dtype == ECO_DTYPE_Q8_0 && c->type == ECO_GGML_Q8_0) { /* the blocks as they are */
        if (c->permute)
            gguf_permute_rows(dst, t->data, c->heads, c->head_dim, nbytes / (size_t)t->shape[0],
                              true);
        else
            memcpy(dst, t->data, nbytes);
        return ECO_STATUS_OK;
    }
    size_t numel = eco_tensor_numel(t);
    float *f = eco_malloc_array(numel ? numel : 1, sizeof *f);
    float *p = c->permute ? eco_malloc_array(numel ? numel : 1, sizeof *p) : NULL;
    if (!f || (c->permute && !p)) {
        free(f);
        free(p);
        return eco_error(ECO_STATUS_ENOMEM, "gguf export: tensor '%s': out of memory", t->name);
    }
    eco_to_f32(f, t->data, t->dtype, numel);
    if (c->permute) {
        size_t cols = numel / (size_t)t->shape[0];
        gguf_permute_rows(p, f, c->heads, c->head_dim, cols * sizeof(float), true);
        free(f);
        f = p;
    }
    int64_t cols = t->ndim == 1 ? t->shape[0] : t->shape[t->ndim - 1];
    if (c->type == ECO_GGML_Q8_0) {
        size_t rows = cols ? numel / (size_t)cols : 0, rb = eco_ggml_row_bytes(c->type, cols);
        for (size_t r = 0; r < rows; r++)
            eco_q8_0_quantize_row((uint8_t *)dst + r * rb, f + r * (size_t)cols, cols);
    } else {
        eco_dtype d = c->type == ECO_GGML_F16    ? ECO_DTYPE_F16
                      : c->type == ECO_GGML_BF16 ? ECO_DTYPE_BF16
                                                 : ECO_DTYPE_F32;
        eco_from_f32(dst, d, f, numel);
    }
    (void)nbytes;
    free(f);
    return ECO_STATUS_OK;
}

/* The tokenizer.json text of a model folder or .gguf. */
static eco_status tokenizer_text(const char *model, char **text, size_t *len) {
    if (eco_gguf_is_model_path(model)) {
        eco_gguf *g;
        eco_status st = eco_gguf_open(model, &g);
        if (st) return st;
        st = eco_gguf_tokenizer_json(g, text, len);
        eco_gguf_close(g);
        return st;
    }
    char *p = eco_path_join(model, "tokenizer.json");
    if (!p) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    eco_status st = eco_read_file(p, TOKENIZER_MAX_BYTES, text, len);
    free(p);
    return st;
}

static uint32_t matrix_type(eco_gguf_ftype ft, int64_t cols) {
    switch (ft) {
        case ECO_GGUF_FTYPE_F16:
            return ECO_GGML_F16;
        case ECO_GGUF_FTYPE_BF16:
            return ECO_GGML_BF16;
        case ECO_GGUF_FTYPE_Q8_0: /* convert_hf_to_gguf.py's fallback for partial blocks */
            return cols % ECO_Q8_0_BLOCK == 0 ? ECO_GGML_Q8_0 : ECO_GGML_F16;
        default:
            return ECO_GGML_F32;
    }
}

/* The HF shape the config implies for tensor `hf` ([d0] when *d1 < 0). */
static void expected_shape(const eco_model_config *c, const char *hf, int64_t *d0, int64_t *d1) {
    const int64_t d = c->hidden_size, q = c->n_heads * c->head_dim,
                  kv = c->n_kv_heads * c->head_dim;
    const bool bias = strstr(hf, ".bias") != NULL;
    *d1 = bias ? -1 : d;
    if (strstr(hf, "embed_tokens") || strstr(hf, "lm_head")) {
        *d0 = c->vocab_size;
    } else if (strstr(hf, "q_proj")) {
        *d0 = q;
    } else if (strstr(hf, "k_proj") || strstr(hf, "v_proj")) {
        *d0 = kv;
    } else if (strstr(hf, "o_proj")) {
        *d0 = d;
        *d1 = bias ? -1 : q;
    } else if (strstr(hf, "gate_proj") || strstr(hf, "up_proj")) {
        *d0 = c->intermediate_size;
    } else if (strstr(hf, "down_proj")) {
        *d0 = d;
        *d1 = c->intermediate_size;
    } else { /* norms */
        *d0 = d;
        *d1 = -1;
    }
}

static eco_status put_config(eco_gguf_writer *w, const eco_model_config *c, const char *arch,
                             eco_gguf_ftype ft) {
    char key[128];
#define K(suffix) (snprintf(key, sizeof key, "%s.%s", arch, suffix), key)
    eco_status st;
    if ((st = eco_gguf_add_str(w, "general.architecture", arch)) ||
        (st = eco_gguf_add_str(w, "general.type", "model")) ||
        (st = eco_gguf_add_u32(w, K("block_count"), (uint32_t)c->n_layers)) ||
        (st = eco_gguf_add_u32(w, K("context_length"), (uint32_t)c->max_position_embeddings)) ||
        (st = eco_gguf_add_u32(w, K("embedding_length"), (uint32_t)c->hidden_size)) ||
        (st = eco_gguf_add_u32(w, K("feed_forward_length"), (uint32_t)c->intermediate_size)) ||
        (st = eco_gguf_add_u32(w, K("attention.head_count"), (uint32_t)c->n_heads)) ||
        (st = eco_gguf_add_u32(w, K("attention.head_count_kv"), (uint32_t)c->n_kv_heads)) ||
        (st = eco_gguf_add_f32(w, K("rope.freq_base"), (float)c->rope_theta)) ||
        (st = eco_gguf_add_f32(w, K("attention.layer_norm_rms_epsilon"), (float)c->rms_norm_eps)) ||
        (st = eco_gguf_add_u32(w, K("attention.key_length"), (uint32_t)c->head_dim)) ||
        (st = eco_gguf_add_u32(w, K("attention.value_length"), (uint32_t)c->head_dim)) ||
        (st = eco_gguf_add_u32(w, "general.file_type", (uint32_t)ft)) ||
        (st = eco_gguf_add_u32(w, K("vocab_size"), (uint32_t)c->vocab_size)) ||
        (st = eco_gguf_add_u32(w, K("rope.dimension_count"), (uint32_t)c->head_dim)) ||
        (st = eco_gguf_add_u32(w, "general.quantization_version", 2)))
        return st;
#undef K
    return ECO_STATUS_OK;
}

eco_status eco_gguf_export(const char *model, eco_gguf_ftype ft, const char *out_path) {
    if (!model || !out_path) return eco_error(ECO_STATUS_EINVAL, "eco_gguf_export: NULL argument");
    if (ft != ECO_GGUF_FTYPE_F32 && ft != ECO_GGUF_FTYPE_F16 && ft != ECO_GGUF_FTYPE_BF16 &&
        ft != ECO_GGUF_FTYPE_Q8_0)
        return eco_error(ECO_STATUS_EINVAL, "eco_gguf_export: unknown type %d", (int)ft);
    eco_model_config cfg;
    eco_status st = eco_config_load(model, &cfg);
    if (st) return st;
    const char *arch = cfg.arch == ECO_ARCH_QWEN2 ? "qwen2" : "llama";
    eco_weights *wts = NULL;
    eco_gguf_writer *w = NULL;
    fill_ctx *ctx = NULL;
    float *rope = NULL;
    char *tok = NULL;
    size_t tok_len = 0;
    if ((st = eco_weights_open(model, &wts))) goto out;
    if ((st = eco_weights_check_layers(wts, model, cfg.n_layers))) goto out;
    if ((st = tokenizer_text(model, &tok, &tok_len))) goto out;
    w = eco_gguf_writer_new(0);
    /* at most: embedding, final norm, head, and every layer tensor */
    size_t max_t = 3 + (size_t)cfg.n_layers * gguf_n_layer_names;
    ctx = eco_calloc_array(max_t, sizeof *ctx);
    if (!w || !ctx) {
        st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", model);
        goto out;
    }
    if ((st = put_config(w, &cfg, arch, ft))) goto out;
    char tlabel[512];
    snprintf(tlabel, sizeof tlabel, "%s: tokenizer", model);
    if ((st = gguf_put_tokenizer(w, tok, tok_len, tlabel, &cfg))) goto out;

    /* HF names in the order the tensors are written */
    size_t n = 0;
    char hf[160], gg[160];
    for (int64_t step = -1; step <= cfg.n_layers; step++) {
        size_t n_names = step < 0 ? 1 : step == cfg.n_layers ? 2 : gguf_n_layer_names;
        for (size_t k = 0; k < n_names; k++) {
            if (step < 0)
                snprintf(hf, sizeof hf, "model.embed_tokens.weight");
            else if (step == cfg.n_layers)
                snprintf(hf, sizeof hf, "%s", k == 0 ? "model.norm.weight" : "lm_head.weight");
            else
                snprintf(hf, sizeof hf, "model.layers.%lld.%s", (long long)step,
                         gguf_layer_names[k].hf);
            const eco_tensor *t = eco_weights_find(wts, hf);
            bool is_bias = strstr(hf, ".bias") != NULL;
            bool want = !(step == cfg.n_layers && k == 1 && cfg.tie_word_embeddings);
            if (is_bias) want = strstr(hf, "o_proj") ? cfg.o_bias : cfg.qkv_bias;
            if (!want) continue;
            if (!t) {
                st = eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s' is missing", model, hf);
                goto out;
            }
            if (t->dtype != ECO_DTYPE_F32 && t->dtype != ECO_DTYPE_F16 &&
                t->dtype != ECO_DTYPE_BF16 && t->dtype != ECO_DTYPE_Q8_0) {
                st = eco_error(ECO_STATUS_EUNSUPPORTED, "%s: tensor '%s': dtype %s", model, hf,
                               eco_dtype_name(t->dtype));
                goto out;
            }
            int64_t d0, d1;
            expected_shape(&cfg, hf, &d0, &d1);
            if (t->ndim != (d1 < 0 ? 1 : 2) || t->shape[0] != d0 ||
                (d1 >= 0 && t->shape[1] != d1)) {
                char shape_s[64];
                if (d1 < 0)
                    snprintf(shape_s, sizeof shape_s, "[%lld]", (long long)d0);
                else
                    snprintf(shape_s, sizeof shape_s, "[%lld, %lld]", (long long)d0, (long long)d1);
                st = eco_error(ECO_STATUS_EFORMAT,
                               "%s: tensor '%s': shape does not match config.json (expected %s)",
                               model, hf, shape_s);
                goto out;
            }
            (void)gguf_map_name(hf, false, gg, sizeof gg);
            fill_ctx *c = &ctx[n++];
            c->src = t;
            c->type = t->ndim == 1 ? ECO_GGML_F32 : matrix_type(ft, t->shape[1]);
            bool q = strstr(hf, "q_proj") != NULL, kp = strstr(hf, "k_proj") != NULL;
            c->permute = cfg.arch != ECO_ARCH_QWEN2 && (q || kp);
            c->heads = q ? cfg.n_heads : cfg.n_kv_heads;
            c->head_dim = cfg.head_dim;
            if (c->permute && t->shape[0] != c->heads * c->head_dim) {
                st = eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s': %lld rows, expected %lld",
                               model, hf, (long long)t->shape[0],
                               (long long)(c->heads * c->head_dim));
                goto out;
            }
            if ((st = eco_gguf_add_tensor(w, gg, c->type, t->ndim, t->shape, NULL, fill_tensor, c)))
                goto out;
        }
    }
    if (cfg.rope_llama3) { /* llama.cpp divides each frequency by its factor */
        rope = eco_malloc_array((size_t)(cfg.head_dim / 2), sizeof *rope);
        if (!rope) {
            st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", model);
            goto out;
        }
        gguf_llama3_rope_factors(&cfg, rope);
        const int64_t shape[1] = {cfg.head_dim / 2};
        if ((st = eco_gguf_add_tensor(w, "rope_freqs.weight", ECO_GGML_F32, 1, shape, rope, NULL,
                                      NULL)))
            goto out;
    }
    st = eco_gguf_write_file(w, out_path);

out:
    free(rope);
    free(ctx);
    free(tok);
    eco_gguf_writer_free(w);
    eco_weights_close(wts);
    return st;
}

eco_status eco_gguf_import(const char *gguf, const char *out_dir) {
    if (!gguf || !out_dir) return eco_error(ECO_STATUS_EINVAL, "eco_gguf_import: NULL argument");
    eco_gguf *g = NULL;
    eco_gguf_hf *hf = NULL;
    eco_tensor *ts = NULL;
    char *tok = NULL, *p_w = NULL, *p_t = NULL, *p_c = NULL;
    size_t tok_len = 0;
    eco_model_config cfg;
    eco_status st = eco_gguf_open(gguf, &g);
    if (!st) st = eco_gguf_model_config(g, &cfg);
    if (!st) st = eco_gguf_tokenizer_json(g, &tok, &tok_len);
    if (!st) st = eco_gguf_hf_open(g, &hf);
    if (st) goto out;
    size_t n = eco_gguf_hf_count(hf);
    ts = eco_calloc_array(n ? n : 1, sizeof *ts);
    p_w = eco_path_join(out_dir, "model.safetensors");
    p_t = eco_path_join(out_dir, "tokenizer.json");
    p_c = eco_path_join(out_dir, "config.json");
    if (!ts || !p_w || !p_t || !p_c) {
        st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", gguf);
        goto out;
    }
    bool q8 = false; /* q8_0 matrices go out as U8 blocks, the file marked (safetensors.h) */
    for (size_t i = 0; i < n; i++) {
        ts[i] = eco_q8_0_storage_view(eco_gguf_hf_get(hf, i));
        q8 = q8 || eco_gguf_hf_get(hf, i)->dtype == ECO_DTYPE_Q8_0;
    }
    static const char *const meta[] = {"format", "pt", ECO_Q8_0_META_KEY, "q8_0"};
    if ((st = eco_safetensors_write(p_w, ts, n, meta, q8 ? 2 : 1))) goto out;
    if ((st = eco_write_file_atomic(p_t, tok, tok_len))) goto out;
    st = eco_config_write(p_c, &cfg);

out:
    free(p_w);
    free(p_t);
    free(p_c);
    free(ts);
    free(tok);
    eco_gguf_hf_free(hf);
    eco_gguf_close(g);
    return st;
}
