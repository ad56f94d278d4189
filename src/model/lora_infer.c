/*
 * eco_model_adapter_create: a LoRA adapter checked against a model and widened to f32 for
 * the inference forward, unmerged; eco_model_set_adapter attaches one the model owns.
 *
 * The adapter's A [r, in] and B [out, r] (F32, BF16 or F16 views into its mapped
 * safetensors file) are checked against the model's shapes and widened once into one f32
 * block owned by the model; model_forward.c then adds s·(x·Aᵀ)·Bᵀ after each adapted
 * linear. Copying costs Σ r·(in + out) floats (for SmolLM2-135M, r 8 on all seven
 * targets: 4.7 M floats, 19 MB), and in return the caller's adapter can be freed at once
 * and the forward reads f32 rows with no per-token widening.
 */
#include "model/model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void eco_model_adapter_free(eco_model_adapter *ad) {
    if (!ad) return;
    free(ad->lw);
    free(ad->block);
    free(ad);
}

size_t eco_model_adapter_bytes(const eco_model_adapter *ad) { return ad ? ad->bytes : 0; }

static void config_dims(const eco_model_config *c, int64_t dims[6]) {
    dims[0] = c->n_layers;
    dims[1] = c->hidden_size;
    dims[2] = c->intermediate_size;
    dims[3] = c->n_heads;
    dims[4] = c->n_kv_heads;
    dims[5] = c->head_dim;
}

bool eco_model_adapter_fits(const eco_model *m, const eco_model_adapter *ad) {
    int64_t dims[6];
    config_dims(&m->cfg, dims);
    return memcmp(dims, ad->dims, sizeof dims) == 0;
}

void eco_model_lora_free(eco_model *m) {
    eco_model_adapter_free(m->attached);
    m->attached = NULL;
    m->lora = NULL;
}

const eco_model_adapter *eco_model_attached_adapter(const eco_model *m) {
    return m ? m->attached : NULL;
}

bool eco_model_has_adapter(const eco_model *m) { return m && m->lora != NULL; }

static bool float_dtype(eco_dtype t) {
    return t == ECO_DTYPE_F32 || t == ECO_DTYPE_BF16 || t == ECO_DTYPE_F16;
}

/* dst[n] = src[n] widened to f32. src is a view into a mapped file and need not be aligned
 * to its element size, so elements are read with memcpy. */
static void widen(float *dst, const void *src, eco_dtype t, size_t n) {
    const unsigned char *p = src;
    if (t == ECO_DTYPE_F32) {
        memcpy(dst, src, n * sizeof(float));
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        dst[i] = t == ECO_DTYPE_BF16 ? eco_bf16_to_f32(h) : eco_f16_to_f32(h);
    }
}

/* Checks one module of `a` against the model's [out, in]; adds its floats to *total. */
static eco_status check_module(const eco_model_config *c, const eco_lora_module *mod, int64_t l,
                               eco_lora_target t, size_t *total, int64_t *rmax) {
    const char *name = eco_lora_target_path(t);
    if (!mod->A && !mod->B) return ECO_STATUS_OK;
    if (!mod->A || !mod->B)
        return eco_error(ECO_STATUS_EINVAL, "set adapter: layer %lld %s: lora_%s is missing",
                         (long long)l, name, mod->A ? "B" : "A");
    int64_t out, in;
    eco_lora_module_dims(c, t, &out, &in);
    const eco_tensor *A = mod->A, *B = mod->B;
    const int64_t r = mod->r;
    if (r <= 0 || A->ndim != 2 || B->ndim != 2 || A->shape[0] != r || A->shape[1] != in ||
        B->shape[0] != out || B->shape[1] != r)
        return eco_error(ECO_STATUS_EINVAL,
                         "set adapter: layer %lld %s: lora_A [%lld, %lld] and lora_B [%lld, %lld] "
                         "(r %lld) do not "
                         "fit this model, which expects [r, %lld] and [%lld, r]",
                         (long long)l, name, (long long)A->shape[0],
                         (long long)(A->ndim > 1 ? A->shape[1] : 0), (long long)B->shape[0],
                         (long long)(B->ndim > 1 ? B->shape[1] : 0), (long long)r, (long long)in,
                         (long long)out);
    if (!float_dtype(A->dtype) || !float_dtype(B->dtype))
        return eco_error(ECO_STATUS_EINVAL,
                         "set adapter: layer %lld %s: dtypes %s/%s, expected F32, BF16 or F16",
                         (long long)l, name, eco_dtype_name(A->dtype), eco_dtype_name(B->dtype));
    if (!isfinite(mod->scale))
        return eco_error(ECO_STATUS_EINVAL, "set adapter: layer %lld %s: scale is not finite",
                         (long long)l, name);
    size_t n;
    if (!eco_add_ok((size_t)in, (size_t)out, &n) || !eco_mul_ok(n, (size_t)r, &n) ||
        !eco_add_ok(*total, n, total))
        return eco_error(ECO_STATUS_EOVERFLOW, "set adapter: adapter sizes overflow");
    if (r > *rmax) *rmax = r;
    return ECO_STATUS_OK;
}

eco_status eco_model_adapter_create(const eco_model *m, const eco_lora_adapter *a,
                                    eco_model_adapter **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "set adapter: NULL argument");
    *out = NULL;
    if (!m || !a) return eco_error(ECO_STATUS_EINVAL, "set adapter: NULL argument");
    const eco_model_config *c = &m->cfg;
    if (!a->modules || a->n_layers != c->n_layers)
        return eco_error(ECO_STATUS_EINVAL,
                         "set adapter: the adapter has %lld layers, the model %lld",
                         (long long)a->n_layers, (long long)c->n_layers);
    /* Check everything before allocating. */
    size_t total = 0;
    int64_t rmax = 0;
    for (int64_t l = 0; l < c->n_layers; l++)
        for (int t = 0; t < ECO_LORA__COUNT; t++) {
            eco_status st = check_module(c, eco_lora_adapter_module(a, l, (eco_lora_target)t), l,
                                         (eco_lora_target)t, &total, &rmax);
            if (st) return st;
        }
    const size_t n_mod = (size_t)c->n_layers * ECO_LORA__COUNT;
    eco_model_adapter *ad = calloc(1, sizeof *ad);
    eco_lora_w *lw = eco_calloc_array(n_mod, sizeof *lw);
    float *block = eco_malloc_array(total ? total : 1, sizeof(float));
    if (!ad || !lw || !block) {
        free(ad);
        free(lw);
        free(block);
        return eco_error(ECO_STATUS_ENOMEM, "set adapter: out of memory for %zu floats", total);
    }
    float *cur = block;
    for (int64_t l = 0; l < c->n_layers; l++)
        for (int t = 0; t < ECO_LORA__COUNT; t++) {
            const eco_lora_module *mod = eco_lora_adapter_module(a, l, (eco_lora_target)t);
            if (!mod->A) continue;
            int64_t out_dim, in;
            eco_lora_module_dims(c, (eco_lora_target)t, &out_dim, &in);
            eco_lora_w *w = &lw[(size_t)l * ECO_LORA__COUNT + (size_t)t];
            widen(cur, mod->A->data, mod->A->dtype, (size_t)(mod->r * in));
            w->A = cur;
            cur += mod->r * in;
            widen(cur, mod->B->data, mod->B->dtype, (size_t)(out_dim * mod->r));
            w->B = cur;
            cur += out_dim * mod->r;
            w->r = mod->r;
            w->scale = mod->scale;
        }
    ad->lw = lw;
    ad->block = block;
    ad->rmax = rmax;
    ad->bytes = total * sizeof(float);
    config_dims(c, ad->dims);
    *out = ad;
    return ECO_STATUS_OK;
}

/* The attached adapter is an eco_model_adapter the model owns. */
eco_status eco_model_set_adapter(eco_model *m, const eco_lora_adapter *a) {
    if (!m) return eco_error(ECO_STATUS_EINVAL, "set adapter: NULL model");
    if (!a) {
        eco_model_lora_free(m);
        return ECO_STATUS_OK;
    }
    eco_model_adapter *ad = NULL;
    eco_status st = eco_model_adapter_create(m, a, &ad);
    if (st) return st;
    eco_model_lora_free(m);
    m->attached = ad;
    m->lora = ad->lw;
    return ECO_STATUS_OK;
}
