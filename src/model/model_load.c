/*
 * eco_model_load: config.json + weights → an eco_model whose matrices point into the
 * memory-mapped safetensors files.
 *
 * Every tensor the config implies is looked up by its Hugging Face name and checked for
 * presence, shape and a float dtype (F32, BF16, F16; matrices and the embedding may also be
 * Q8_0, from a q8_0 folder: safetensors.h) before anything is built; tensors the
 * forward does not use (e.g. old checkpoints' rotary_emb.inv_freq, or lm_head.weight in a
 * tied model) are ignored. Norm weights and biases are widened to f32 into one block.
 */
#include "ecology/gguf.h"
#include "model/model_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Checks what the forward relies on, whatever the config parser already checked. */
static eco_status check_config(const eco_model_config *c, const char *dir) {
    const char *bad = NULL;
    if (c->vocab_size <= 0 || c->vocab_size > INT32_MAX)
        bad = "vocab_size";
    else if (c->hidden_size <= 0)
        bad = "hidden_size";
    else if (c->intermediate_size <= 0)
        bad = "intermediate_size";
    else if (c->n_layers <= 0)
        bad = "num_hidden_layers";
    else if (c->n_heads <= 0)
        bad = "num_attention_heads";
    else if (c->n_kv_heads <= 0 || c->n_heads % c->n_kv_heads != 0)
        bad = "num_key_value_heads";
    else if (c->head_dim <= 0 || c->head_dim % 2 != 0)
        bad = "head_dim";
    else if (!(c->rms_norm_eps >= 0) || !isfinite(c->rms_norm_eps))
        bad = "rms_norm_eps";
    else if (!(c->rope_theta > 0) || !isfinite(c->rope_theta))
        bad = "rope_theta";
    else if (c->rope_llama3 && (!(c->rope_factor > 0) || c->rope_original_max_pos <= 0 ||
                                !(c->rope_low_freq_factor > 0) ||
                                c->rope_high_freq_factor == c->rope_low_freq_factor))
        bad = "rope_scaling";
    if (bad) return eco_error(ECO_STATUS_EFORMAT, "%s: config.json: invalid %s", dir, bad);
    /* Every product the forward forms from these sizes must fit comfortably. */
    size_t t;
    if (!eco_mul_ok((size_t)c->n_heads, (size_t)c->head_dim, &t) ||
        !eco_mul_ok(t, (size_t)c->hidden_size, &t) ||
        !eco_mul_ok((size_t)c->vocab_size, (size_t)c->hidden_size, &t) ||
        !eco_mul_ok((size_t)c->intermediate_size, (size_t)c->hidden_size, &t) ||
        t > (SIZE_MAX >> 4))
        return eco_error(ECO_STATUS_EOVERFLOW, "%s: config.json: sizes overflow", dir);
    return ECO_STATUS_OK;
}

/* Finds `name` and checks it is a float tensor of shape [d0] (d1 < 0) or [d0, d1]; a
 * matrix (d1 >= 0) may also be Q8_0 (a q8_0 file's U8 blocks, eco_weights). */
static eco_status find_tensor(const eco_weights *w, const char *dir, const char *name, int64_t d0,
                              int64_t d1, const eco_tensor **out) {
    const eco_tensor *t = eco_weights_find(w, name);
    if (!t) return eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s' is missing", dir, name);
    if (t->dtype == ECO_DTYPE_Q8_0 && d1 < 0)
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: tensor '%s': dtype Q8_0, but a vector must be F32, BF16 or F16", dir,
                         name);
    if (t->dtype != ECO_DTYPE_F32 && t->dtype != ECO_DTYPE_BF16 && t->dtype != ECO_DTYPE_F16 &&
        t->dtype != ECO_DTYPE_Q8_0)
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: tensor '%s': dtype %s, expected F32, BF16, F16 or (matrices) Q8_0",
                         dir, name, eco_dtype_name(t->dtype));
    int want_ndim = d1 < 0 ? 1 : 2;
    if (t->ndim != want_ndim || t->shape[0] != d0 || (want_ndim == 2 && t->shape[1] != d1)) {
        char got[96] = "[";
        size_t off = 1;
        for (int i = 0; i < t->ndim && off < sizeof got - 24; i++)
            off += (size_t)snprintf(got + off, sizeof got - off, "%s%lld", i ? ", " : "",
                                    (long long)t->shape[i]);
        snprintf(got + off, sizeof got - off, "]");
        if (want_ndim == 1)
            return eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s': shape %s, expected [%lld]", dir,
                             name, got, (long long)d0);
        return eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s': shape %s, expected [%lld, %lld]",
                         dir, name, got, (long long)d0, (long long)d1);
    }
    /* The kernels read elements through typed pointers (q8_0 blocks: unaligned loads). */
    if (t->dtype != ECO_DTYPE_Q8_0 && (uintptr_t)t->data % eco_dtype_size(t->dtype) != 0)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s: tensor '%s': data not aligned to its %zu-byte elements", dir, name,
                         eco_dtype_size(t->dtype));
    *out = t;
    return ECO_STATUS_OK;
}

/* Finds a vector tensor of length n and widens it into *cursor (advanced by n). */
static eco_status load_vec(const eco_weights *w, const char *dir, const char *name, int64_t n,
                           float **cursor, const float **out) {
    const eco_tensor *t;
    eco_status st = find_tensor(w, dir, name, n, -1, &t);
    if (st) return st;
    eco_to_f32(*cursor, t->data, t->dtype, (size_t)n);
    *out = *cursor;
    *cursor += n;
    return ECO_STATUS_OK;
}

/* Decoding streams every matrix once per token, and the prompt path reads them all too.
 * Read where the file is mapped they come in 4 KiB pages: a TLB miss every 4 KiB and the
 * hardware prefetchers stopped at each page boundary. So the model copies every matrix it
 * streams into one block of its own, 2 MiB-aligned and marked for transparent huge pages
 * (eco_zalloc_large), in the order a decode step reads them (per layer q, k, v, o, gate,
 * up, down; then the head), each starting on a 64-byte line, and drops the file's pages
 * under them (eco_weights_release), so the copy costs no memory beyond the block itself
 * and decoding is markedly faster (README, performance). A matrix whose rows are whole
 * cache lines then has every row on a line (a row off a line makes each 64-byte load touch
 * two, as Hugging Face's files, whose data starts 8 bytes off a line, were read before).
 * When q, k
 * and v share a dtype and their rows are whole lines, they lie back to back (qkv_fused):
 * the q/k/v phase is then one stream that the kernels prefetch ahead across. The untied
 * embedding stays in the file: decoding reads one row of it a token. */
#define ROW_ALIGN 64

static eco_status load_matrix(eco_model *m, const char *dir, const char *name, int64_t rows,
                              int64_t cols, size_t *decode_bytes, const eco_tensor **out) {
    eco_status st = find_tensor(m->weights, dir, name, rows, cols, out);
    if (st) return st;
    *decode_bytes += (*out)->nbytes;
    return ECO_STATUS_OK;
}

static size_t round_line(size_t n) { return (n + ROW_ALIGN - 1) & ~(size_t)(ROW_ALIGN - 1); }

/* Copies src's data to *at (then moved past it, to the next line), releases the file's
 * pages under src, and returns dst, a view of the copy (the layer's own q/k/v views, or
 * the next of m->placed). */
static const eco_tensor *place(eco_model *m, char **at, const eco_tensor *src, eco_tensor *dst) {
    *dst = *src;
    dst->data = *at;
    if (src->nbytes) memcpy(*at, src->data, src->nbytes);
    eco_weights_release(m->weights, src);
    *at += round_line(src->nbytes);
    return dst;
}

static eco_status place_matrices(eco_model *m, const char *dir) {
    const int64_t L = m->cfg.n_layers;
    const bool tied = m->lm_head == m->embed;
    size_t total = round_line(m->lm_head->nbytes);
    for (int64_t i = 0; i < L; i++) {
        const eco_layer *ly = &m->layers[i];
        const eco_tensor *mats[7] = {ly->wq, ly->wk, ly->wv, ly->wo, ly->wg, ly->wu, ly->wd};
        for (int k = 0; k < 7; k++)
            if (!eco_add_ok(total, round_line(mats[k]->nbytes), &total))
                return eco_error(ECO_STATUS_EOVERFLOW, "%s: matrix sizes overflow", dir);
    }
    if (!eco_add_ok(total, ROW_ALIGN, &m->matrix_bytes))
        return eco_error(ECO_STATUS_EOVERFLOW, "%s: matrix sizes overflow", dir);
    m->matrix_block = eco_zalloc_large(m->matrix_bytes); /* 2 MiB-aligned when that large */
    if (!m->matrix_block)
        return eco_error(ECO_STATUS_ENOMEM,
                         "%s: out of memory for the %zu bytes of the model's matrices", dir,
                         m->matrix_bytes);
    char *at = (char *)(((uintptr_t)m->matrix_block + ROW_ALIGN - 1) & ~(uintptr_t)(ROW_ALIGN - 1));
    for (int64_t i = 0; i < L; i++) {
        eco_layer *ly = &m->layers[i];
        const size_t row = eco_dtype_row_bytes(ly->wq->dtype, ly->wq->shape[1]);
        ly->qkv_fused = ly->wk->dtype == ly->wq->dtype && ly->wv->dtype == ly->wq->dtype &&
                        row % ROW_ALIGN == 0;
        ly->wq = place(m, &at, ly->wq, &ly->qkv[0]);
        ly->wk = place(m, &at, ly->wk, &ly->qkv[1]);
        ly->wv = place(m, &at, ly->wv, &ly->qkv[2]);
        ly->wo = place(m, &at, ly->wo, &m->placed[m->n_placed++]);
        ly->wg = place(m, &at, ly->wg, &m->placed[m->n_placed++]);
        ly->wu = place(m, &at, ly->wu, &m->placed[m->n_placed++]);
        ly->wd = place(m, &at, ly->wd, &m->placed[m->n_placed++]);
    }
    m->lm_head = place(m, &at, m->lm_head, &m->placed[m->n_placed++]);
    if (tied) m->embed = m->lm_head;
    return ECO_STATUS_OK;
}

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

eco_status eco_model_load(const char *dir, eco_model **out) {
    if (!dir || !out) return eco_error(ECO_STATUS_EINVAL, "eco_model_load: NULL argument");
    *out = NULL;
    /* a model folder, or a llama-family .gguf (gguf.h) */
    eco_status dst = eco_gguf_is_model_path(dir)
                         ? ECO_STATUS_OK
                         : eco_path_require_dir(dir, ECO_MODEL_DIR_EXPECTED);
    if (dst != ECO_STATUS_OK) return dst;
    eco_model *m = calloc(1, sizeof *m);
    if (!m) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);

    eco_status st = eco_config_load(dir, &m->cfg);
    if (st) goto fail;
    const eco_model_config *c = &m->cfg;
    if ((st = check_config(c, dir))) goto fail;
    if ((st = eco_weights_open(dir, &m->weights))) goto fail;
    if ((st = eco_weights_check_layers(m->weights, dir, c->n_layers))) goto fail;

    const int64_t d = c->hidden_size, f = c->intermediate_size, V = c->vocab_size;
    const int64_t qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    const int64_t L = c->n_layers;

    /* One block for every widened vector: per layer the norms and biases (layer.h); the
     * final norm. */
    eco_layer_tensor lts[ECO_LAYER_TENSOR__COUNT];
    const size_t n_lts = eco_layer_tensors(c, lts);
    size_t per_layer = 0;
    for (size_t k = 0; k < n_lts; k++)
        if (lts[k].cols < 0) per_layer += (size_t)lts[k].rows;
    size_t n_vec;
    if (!eco_mul_ok(per_layer, (size_t)L, &n_vec) || !eco_add_ok(n_vec, (size_t)d, &n_vec)) {
        st = eco_error(ECO_STATUS_EOVERFLOW, "%s: config sizes overflow", dir);
        goto fail;
    }
    m->vec_block = eco_malloc_array(n_vec, sizeof(float));
    m->layers = eco_calloc_array((size_t)L, sizeof(eco_layer));
    m->inv_freq = eco_malloc_array((size_t)(c->head_dim / 2), sizeof(double));
    /* views of the placed matrices (place_matrices): o, gate, up, down per layer, the head */
    m->placed = eco_calloc_array((size_t)L * 4 + 1, sizeof(eco_tensor));
    if (!m->vec_block || !m->layers || !m->inv_freq || !m->placed) {
        st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
        goto fail;
    }
    float *cursor = m->vec_block;
    size_t bytes = 0;
    const eco_weights *w = m->weights;

    if ((st = find_tensor(w, dir, "model.embed_tokens.weight", V, d, &m->embed))) goto fail;
    char name[160];
    for (int64_t i = 0; i < L; i++) {
        eco_layer *ly = &m->layers[i];
        for (size_t k = 0; k < n_lts; k++) {
            const eco_layer_tensor *t = &lts[k];
            const float **vec = NULL;
            const eco_tensor **mat = NULL;
            switch (t->role) {
                case ECO_LAYER_ATTN_NORM:
                    vec = &ly->attn_norm;
                    break;
                case ECO_LAYER_WQ:
                    mat = &ly->wq;
                    break;
                case ECO_LAYER_WK:
                    mat = &ly->wk;
                    break;
                case ECO_LAYER_WV:
                    mat = &ly->wv;
                    break;
                case ECO_LAYER_BQ:
                    vec = &ly->bq;
                    break;
                case ECO_LAYER_BK:
                    vec = &ly->bk;
                    break;
                case ECO_LAYER_BV:
                    vec = &ly->bv;
                    break;
                case ECO_LAYER_WO:
                    mat = &ly->wo;
                    break;
                case ECO_LAYER_BO:
                    vec = &ly->bo;
                    break;
                case ECO_LAYER_FFN_NORM:
                    vec = &ly->ffn_norm;
                    break;
                case ECO_LAYER_WG:
                    mat = &ly->wg;
                    break;
                case ECO_LAYER_WU:
                    mat = &ly->wu;
                    break;
                case ECO_LAYER_WD:
                    mat = &ly->wd;
                    break;
                case ECO_LAYER_TENSOR__COUNT:
                    break;
            }
            snprintf(name, sizeof name, "model.layers.%lld.%s", (long long)i, t->suffix);
            if (vec)
                st = load_vec(w, dir, name, t->rows, &cursor, vec);
            else
                st = load_matrix(m, dir, name, t->rows, t->cols, &bytes, mat);
            if (st) goto fail;
        }
    }
    if ((st = load_vec(w, dir, "model.norm.weight", d, &cursor, &m->final_norm))) goto fail;
    if (eco_layer_head_tied(c)) {
        m->lm_head = m->embed;
        bytes += m->embed->nbytes;
    } else if ((st = load_matrix(m, dir, "lm_head.weight", V, d, &bytes, &m->lm_head))) {
        goto fail;
    }
    m->decode_bytes = bytes + n_vec * sizeof(float);
    if ((st = place_matrices(m, dir))) goto fail;

    eco_rope_inv_freq(c, m->inv_freq);

    /* eco_linear's widening scratch, once for the largest matrix. */
    size_t sf = eco_linear_scratch_floats(d, V);
    sf = max_size(sf, eco_linear_scratch_floats(d, qd));
    sf = max_size(sf, eco_linear_scratch_floats(d, kvd));
    sf = max_size(sf, eco_linear_scratch_floats(qd, d));
    sf = max_size(sf, eco_linear_scratch_floats(d, f));
    sf = max_size(sf, eco_linear_scratch_floats(f, d));
    m->buf.scratch_floats = sf;
    m->buf.scratch = eco_malloc_array(sf ? sf : 1, sizeof(float));
    if (!m->buf.scratch) {
        st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory for %zu scratch floats", dir, sf);
        goto fail;
    }
    *out = m;
    return ECO_STATUS_OK;

fail:
    eco_model_free(m);
    return st;
}

void eco_model_free(eco_model *m) {
    if (!m) return;
    eco_model_buffers_free(&m->buf);
    eco_model_lora_free(m);
    free(m->buf.scratch);
    free(m->layers);
    free(m->placed);
    eco_free_large(m->matrix_block, m->matrix_bytes);
    free(m->vec_block);
    free(m->inv_freq);
    if (m->weights) eco_weights_close(m->weights);
    free(m);
}

const eco_model_config *eco_model_get_config(const eco_model *m) { return &m->cfg; }

const eco_weights *eco_model_get_weights(const eco_model *m) { return m->weights; }

size_t eco_model_decode_bytes(const eco_model *m) {
    return m->decode_bytes + eco_model_adapter_bytes(m->attached);
}
