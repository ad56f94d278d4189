/*
 * The KV cache of one sequence: K and V for every layer and position, after RoPE, in f32
 * or f16 (see eco_kv_cache_create). Allocated zeroed with eco_zalloc_large, so a large
 * max_seq costs address space until it is used.
 */
#include "model/model_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static size_t cache_bytes(const eco_kv_cache *kv) {
    return (size_t)kv->n_layers * (size_t)kv->max_seq * (size_t)kv->kv_dim *
           eco_dtype_size(kv->dtype);
}

eco_status eco_kv_cache_create_typed(const eco_model *m, int64_t max_seq, eco_dtype dtype,
                                     eco_kv_cache **out) {
    if (!m || !out) return eco_error(ECO_STATUS_EINVAL, "kv cache: NULL argument");
    *out = NULL;
    if (dtype != ECO_DTYPE_F32 && dtype != ECO_DTYPE_F16)
        return eco_error(ECO_STATUS_EINVAL, "kv cache: dtype %s (f32 or f16 only)",
                         eco_dtype_name(dtype));
    /* Attention hands key counts to BLAS as int. */
    if (max_seq <= 0 || max_seq > INT_MAX)
        return eco_error(ECO_STATUS_EINVAL, "kv cache: max_seq %lld outside [1, %d]",
                         (long long)max_seq, INT_MAX);
    const eco_model_config *c = &m->cfg;
    const int64_t kv_dim = c->n_kv_heads * c->head_dim;
    size_t count, bytes;
    if (!eco_mul_ok((size_t)c->n_layers, (size_t)max_seq, &count) ||
        !eco_mul_ok(count, (size_t)kv_dim, &count) ||
        !eco_mul_ok(count, eco_dtype_size(dtype), &bytes))
        return eco_error(ECO_STATUS_EOVERFLOW,
                         "kv cache: %lld layers × %lld positions × %lld overflow",
                         (long long)c->n_layers, (long long)max_seq, (long long)kv_dim);
    eco_kv_cache *kv = calloc(1, sizeof *kv);
    if (!kv) return eco_error(ECO_STATUS_ENOMEM, "kv cache: out of memory");
    kv->max_seq = max_seq;
    kv->len = 0;
    kv->n_layers = c->n_layers;
    kv->kv_dim = kv_dim;
    kv->dtype = dtype;
    kv->k = eco_zalloc_large(bytes);
    kv->v = eco_zalloc_large(bytes);
    if (!kv->k || !kv->v) {
        eco_kv_cache_free(kv);
        return eco_error(ECO_STATUS_ENOMEM, "kv cache: out of memory for 2 × %zu bytes", bytes);
    }
    *out = kv;
    return ECO_STATUS_OK;
}

eco_status eco_kv_cache_create(const eco_model *m, int64_t max_seq, eco_kv_cache **out) {
    if (!m) return eco_error(ECO_STATUS_EINVAL, "kv cache: NULL argument");
    const eco_dtype wt = m->layers[0].wk->dtype;
    return eco_kv_cache_create_typed(m, max_seq,
                                     wt == ECO_DTYPE_F32 ? ECO_DTYPE_F32 : ECO_DTYPE_F16, out);
}

void eco_kv_cache_free(eco_kv_cache *kv) {
    if (!kv) return;
    const size_t bytes = cache_bytes(kv);
    eco_free_large(kv->k, bytes);
    eco_free_large(kv->v, bytes);
    free(kv);
}

void eco_kv_store(void *dst, eco_dtype t, const float *src, int64_t n) {
    if (t == ECO_DTYPE_F32) {
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    }
    uint16_t *h = dst;
    for (int64_t i = 0; i < n; i++) {
        const float v = src[i] > 65504.0f ? 65504.0f : src[i] < -65504.0f ? -65504.0f : src[i];
        h[i] = eco_f32_to_f16(v);
    }
}

void eco_kv_cache_reset(eco_kv_cache *kv) {
    if (kv) kv->len = 0;
}

void eco_kv_cache_truncate(eco_kv_cache *kv, int64_t n) {
    if (!kv) return;
    if (n < 0) n = 0;
    if (n < kv->len) kv->len = n;
}

eco_status eco_kv_cache_copy(const eco_model *m, eco_kv_cache *dst, const eco_kv_cache *src) {
    if (!m || !dst || !src) return eco_error(ECO_STATUS_EINVAL, "kv cache copy: NULL argument");
    const eco_model_config *c = &m->cfg;
    if (dst == src || dst->n_layers != src->n_layers || dst->kv_dim != src->kv_dim ||
        dst->dtype != src->dtype || src->n_layers != c->n_layers ||
        src->kv_dim != c->n_kv_heads * c->head_dim)
        return eco_error(ECO_STATUS_EINVAL,
                         "kv cache copy: caches of other shapes (or one cache twice)");
    if (src->len > dst->max_seq)
        return eco_error(ECO_STATUS_ERANGE, "kv cache copy: %lld positions into a cache of %lld",
                         (long long)src->len, (long long)dst->max_seq);
    /* [n_layers, n_kv_heads, max_seq, head_dim]: the first len rows of every (layer, head) */
    const size_t es = eco_dtype_size(src->dtype), hd = (size_t)c->head_dim;
    const size_t rows = (size_t)src->len * hd * es;
    for (int64_t b = 0; b < c->n_layers * c->n_kv_heads; b++) {
        const size_t so = (size_t)b * (size_t)src->max_seq * hd * es,
                     d_o = (size_t)b * (size_t)dst->max_seq * hd * es;
        memcpy((char *)dst->k + d_o, (const char *)src->k + so, rows);
        memcpy((char *)dst->v + d_o, (const char *)src->v + so, rows);
    }
    dst->len = src->len;
    return ECO_STATUS_OK;
}
