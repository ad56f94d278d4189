/*
 * The KV cache of one sequence: K and V for every layer and position, f32, after RoPE.
 * Allocated zeroed with calloc, so a large max_seq costs address space until it is used.
 */
#include "model/model_internal.h"

#include <limits.h>
#include <stdlib.h>

eco_status eco_kv_cache_create(const eco_model *m, int64_t max_seq, eco_kv_cache **out) {
    if (!m || !out) return eco_error(ECO_STATUS_EINVAL, "kv cache: NULL argument");
    *out = NULL;
    /* Attention hands key counts to BLAS as int. */
    if (max_seq <= 0 || max_seq > INT_MAX)
        return eco_error(ECO_STATUS_EINVAL, "kv cache: max_seq %lld outside [1, %d]",
                         (long long)max_seq, INT_MAX);
    const eco_model_config *c = &m->cfg;
    const int64_t kv_dim = c->n_kv_heads * c->head_dim;
    size_t count, bytes;
    if (!eco_mul_ok((size_t)c->n_layers, (size_t)max_seq, &count) ||
        !eco_mul_ok(count, (size_t)kv_dim, &count) || !eco_mul_ok(count, sizeof(float), &bytes))
        return eco_error(ECO_STATUS_EOVERFLOW, "kv cache: %lld layers × %lld positions × %lld overflow",
                         (long long)c->n_layers, (long long)max_seq, (long long)kv_dim);
    eco_kv_cache *kv = calloc(1, sizeof *kv);
    if (!kv) return eco_error(ECO_STATUS_ENOMEM, "kv cache: out of memory");
    kv->max_seq = max_seq;
    kv->len = 0;
    kv->n_layers = c->n_layers;
    kv->kv_dim = kv_dim;
    kv->k = eco_zalloc_large(bytes);
    kv->v = eco_zalloc_large(bytes);
    if (!kv->k || !kv->v) {
        eco_kv_cache_free(kv);
        return eco_error(ECO_STATUS_ENOMEM, "kv cache: out of memory for 2 × %zu floats", count);
    }
    *out = kv;
    return ECO_STATUS_OK;
}

void eco_kv_cache_free(eco_kv_cache *kv) {
    if (!kv) return;
    const size_t bytes = (size_t)kv->n_layers * (size_t)kv->max_seq * (size_t)kv->kv_dim * sizeof(float);
    eco_free_large(kv->k, bytes);
    eco_free_large(kv->v, bytes);
    free(kv);
}

void eco_kv_cache_reset(eco_kv_cache *kv) {
    if (kv) kv->len = 0;
}

void eco_kv_cache_truncate(eco_kv_cache *kv, int64_t n) {
    if (!kv) return;
    if (n < 0) n = 0;
    if (n < kv->len) kv->len = n;
}
