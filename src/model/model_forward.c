/*
 * eco_model_forward: the llama-family forward over n new tokens against the KV cache.
 *
 * The prompt (n > 1): every projection is an eco_linear over [n, ·] activations (sgemm; for
 * q8_0 weights and n >= 4 the int8 product, the activations quantized once for q/k/v and
 * once for gate/up through eco_linear_multi), each step its own OpenMP region. K and V are projected straight into the cache rows of
 * the new positions. Attention runs OpenMP tasks over (head, block of up to
 * ECO_ATTN_QBLOCK queries); each task forms its scores against the keys it can see with
 * sgemm, masks and softmaxes each row, and multiplies by V.
 *
 * Decoding (n == 1) computes the same thing in eco_model_forward_one (model_decode.c).
 * Activation buffers live in the model and grow to the largest batch seen, so decoding
 * allocates nothing.
 *
 * An attached LoRA adapter (lora_infer.c) adds y += s·(x·Aᵀ)·Bᵀ after each adapted linear,
 * bias included, before anything reads y: t = x·Aᵀ [n, r] then y += s·t·Bᵀ, both sgemm
 * (the training forward's order).
 */
#include "model/model_internal.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* 0 sends one token down the batched path too (for measuring what the one-token path saves). */
#ifndef ECO_FORWARD_ONE_REGION
#define ECO_FORWARD_ONE_REGION 1
#endif

/* Frees the attention scratch sized by (keys, rows, threads) and sets its pointers NULL. */
static void free_attention_scratch(eco_model_buffers *b) {
    free(b->scores);
    free(b->xt);
    free(b->att_t);
    free(b->xp);
    free(b->part_o);
    free(b->part_ml);
    free(b->meta);
    free(b->claims);
    free(b->kv_f32);
    b->scores = b->xt = b->att_t = b->xp = b->part_o = b->part_ml = b->kv_f32 = NULL;
    b->meta = NULL;
    b->claims = b->arrived = NULL;
}

/* The per-row buffers, sized by cap_n (ensure_buffers), freed and set to NULL. */
static void free_row_buffers(eco_model_buffers *b) {
    free(b->x);
    free(b->xn);
    free(b->q);
    free(b->att);
    free(b->knew);
    free(b->vnew);
    free(b->gate);
    free(b->up);
    free(b->hid);
    free(b->cos_tab);
    free(b->sin_tab);
    b->x = b->xn = b->q = b->att = b->knew = b->vnew = b->gate = b->up = b->hid = NULL;
    b->cos_tab = b->sin_tab = NULL;
}

void eco_model_buffers_free(eco_model_buffers *b) {
    free_row_buffers(b);
    free_attention_scratch(b);
    free(b->lt);
    b->lt = NULL;
    b->cap_lt = 0;
    b->cap_n = 0;
    b->cap_kblocks = 0;
    b->cap_keys = 0;
    b->cap_rows = 0;
    b->cap_threads = 0;
    b->cap_b = 0;
    b->cap_widen = false;
}

static float *alloc_rows(int64_t n, int64_t width) {
    size_t count;
    if (!eco_mul_ok((size_t)n, (size_t)width, &count)) return NULL;
    return eco_malloc_array(count, sizeof(float));
}

/* Makes room for n tokens (or a decode step of n rows) and attention over `keys` keys (with
 * widening scratch when the cache is 16-bit, `widen`), the decode scratch for `batch` rows
 * and LoRA's t for adapters of rank up to rmax; buffers only ever grow. Keys grow
 * geometrically (capped at max_seq) so a decode loop reallocates O(log) times. */
static eco_status ensure_buffers(eco_model *m, int64_t n, int64_t keys, int64_t max_seq, bool widen,
                                 int64_t batch, int64_t rmax) {
    eco_model_buffers *b = &m->buf;
    const eco_model_config *c = &m->cfg;
    if (n > b->cap_n) {
        const int64_t d = c->hidden_size, f = c->intermediate_size;
        const int64_t qd = c->n_heads * c->head_dim, half = c->head_dim / 2;
        const int64_t kvd = c->n_kv_heads * c->head_dim;
        free_row_buffers(b);
        b->x = alloc_rows(n, d);
        b->xn = alloc_rows(n, d);
        b->q = alloc_rows(n, qd);
        b->att = alloc_rows(n, qd);
        b->knew = alloc_rows(n, kvd);
        b->vnew = alloc_rows(n, kvd);
        b->gate = alloc_rows(n, f);
        b->up = alloc_rows(n, f);
        b->hid = alloc_rows(n, f);
        b->cos_tab = alloc_rows(n, half);
        b->sin_tab = alloc_rows(n, half);
        b->cap_n = n;
        if (!b->x || !b->xn || !b->q || !b->att || !b->knew || !b->vnew || !b->gate || !b->up ||
            !b->hid || !b->cos_tab || !b->sin_tab)
            goto nomem;
    }
    int64_t rows = n < ECO_ATTN_QBLOCK ? n : ECO_ATTN_QBLOCK;
    int threads = omp_get_max_threads();
    if (keys > b->cap_keys || rows > b->cap_rows || threads > b->cap_threads || batch > b->cap_b ||
        (widen && !b->kv_f32)) {
        int64_t cap_keys = b->cap_keys;
        if (keys > cap_keys) {
            cap_keys = cap_keys * 2 > keys ? cap_keys * 2 : keys;
            if (cap_keys < 256) cap_keys = 256;
            if (cap_keys > max_seq) cap_keys = max_seq;
        }
        int64_t cap_rows = rows > b->cap_rows ? rows : b->cap_rows;
        if (cap_rows < 4)
            cap_rows = 4; /* one-token steps: eco_attend_part_group's 4 heads × keys */
        int cap_threads = threads > b->cap_threads ? threads : b->cap_threads;
        const int64_t cap_b = batch > b->cap_b ? batch : b->cap_b;
        const int64_t qd = c->n_heads * c->head_dim;
        const int64_t cap_kblocks = (cap_keys + ECO_ATTN_KBLOCK - 1) / ECO_ATTN_KBLOCK;
        free_attention_scratch(b);
        size_t count;
        if (eco_mul_ok((size_t)cap_keys, (size_t)cap_rows, &count) &&
            eco_mul_ok(count, (size_t)cap_threads, &count))
            b->scores = eco_malloc_array(count, sizeof(float));
        b->xt = alloc_rows(cap_threads * cap_b, c->hidden_size);
        b->att_t = alloc_rows(cap_threads * cap_b, qd);
        b->xp = alloc_rows(cap_threads * cap_b, ECO_MATVEC_XP_MAX);
        b->part_o = alloc_rows(cap_b * cap_kblocks, qd);
        b->part_ml = alloc_rows(cap_b * cap_kblocks, 2 * c->n_heads);
        b->meta = eco_malloc_array((size_t)cap_b, sizeof *b->meta);
        if (widen || b->cap_widen) { /* [2, KV, cap_keys, hd] */
            b->kv_f32 = alloc_rows(2 * c->n_kv_heads * cap_keys, c->head_dim);
            b->cap_widen = true;
        }
        const size_t n_claims = (size_t)3 * (size_t)cap_threads * ECO_CLAIM_STRIDE;
        const size_t n_counters = n_claims + (size_t)cap_threads * ECO_BARRIER_STRIDE;
        b->claims = aligned_alloc(64, n_counters * sizeof(atomic_long));
        b->arrived = b->claims ? b->claims + n_claims : NULL;
        if (b->claims)
            for (size_t i = 0; i < n_counters; i++) atomic_init(&b->claims[i], 0);
        b->cap_keys = cap_keys;
        b->cap_rows = cap_rows;
        b->cap_threads = cap_threads;
        b->cap_kblocks = cap_kblocks;
        b->cap_b = cap_b;
        if (!b->scores || !b->xt || !b->att_t || !b->xp || !b->part_o || !b->part_ml || !b->meta ||
            !b->claims || (b->cap_widen && !b->kv_f32))
            goto nomem;
    }
    if (rmax > 0) { /* t = x·Aᵀ: [n, r] batched, [threads, batch, COUNT, r] decoding */
        size_t need, dec;
        if (!eco_mul_ok((size_t)n, (size_t)rmax, &need) ||
            !eco_mul_ok((size_t)b->cap_threads * (size_t)b->cap_b, (size_t)rmax, &dec) ||
            !eco_mul_ok(dec, ECO_LORA__COUNT, &dec))
            goto nomem;
        if (dec > need) need = dec;
        if (need > b->cap_lt) {
            free(b->lt);
            b->lt = eco_malloc_array(need, sizeof(float));
            b->cap_lt = need;
            if (!b->lt) goto nomem;
        }
    }
    return ECO_STATUS_OK;
nomem:
    eco_model_buffers_free(b);
    return eco_error(ECO_STATUS_ENOMEM, "model forward: out of memory for %lld tokens, %lld keys",
                     (long long)n, (long long)keys);
}

/* out[n, d] = RMSNorm(x[n, d]) · weight */
static void rmsnorm_rows(float *out, const float *x, const float *weight, int64_t n, int64_t d,
                         float eps) {
#pragma omp parallel for if (n >= 16) schedule(static)
    for (int64_t i = 0; i < n; i++) eco_layer_norm(out + i * d, x + i * d, weight, d, eps);
}

/* Causal GQA attention for the n new queries at positions p0..p0+n−1.
 *   att  [n, H·hd]        output, heads concatenated
 *   q    [n, H·hd]        queries after RoPE
 *   kc   [KV, max_seq, hd] this layer's cached keys (after RoPE) of kvt (an
 *        eco_kv_cache's layer, max_seq of its), rows 0..p0+n−1 valid
 *   vc   [KV, max_seq, hd] this layer's cached values
 *   scores                per-thread [cap_rows, cap_keys] scratch
 *   kv_f32                [2, KV, cap_keys, hd] scratch: a 16-bit cache's rows 0..p0+n−1
 *                         widened once per layer for sgemm (K then V); unused for f32
 * Head h reads kv head h / (H / KV); scores are q·kᵀ · eco_layer_attn_scale, softmax in f32
 * over the keys the query at cache position p sees: eco_layer_first_key(p, p)..p. */
static void attention(float *att, const float *q, const void *kc, const void *vc, eco_dtype kvt,
                      int64_t max_seq, float *scores, size_t scores_stride, float *kv_f32,
                      int64_t cap_keys, int64_t n, int64_t p0, int64_t n_heads, int64_t n_kv_heads,
                      int64_t hd) {
    const int64_t qd = n_heads * hd;
    const int64_t group = n_heads / n_kv_heads;
    const float scale = eco_layer_attn_scale(hd);
    const int64_t n_blocks = (n + ECO_ATTN_QBLOCK - 1) / ECO_ATTN_QBLOCK;
    const int64_t n_tasks = n_heads * n_blocks;
    const size_t head_bytes =
        (size_t)max_seq * (size_t)hd * eco_dtype_size(kvt); /* one kv head's rows */
    const size_t f32_head = (size_t)cap_keys * (size_t)hd;  /* floats of one head in kv_f32 */
    if (kvt != ECO_DTYPE_F32) /* widen every kv head's rows once, not once per task */
#pragma omp parallel for schedule(static)
        for (int64_t u = 0; u < 2 * n_kv_heads; u++) {
            const void *src =
                (const char *)(u < n_kv_heads ? kc : vc) + (size_t)(u % n_kv_heads) * head_bytes;
            eco_to_f32(kv_f32 + (size_t)u * f32_head, src, kvt, (size_t)((p0 + n) * hd));
        }

#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t task = 0; task < n_tasks; task++) {
        const int64_t h = task % n_heads, blk = task / n_heads;
        const int64_t kvh = h / group;
        const int64_t i0 = blk * ECO_ATTN_QBLOCK;
        const int64_t i1 = i0 + ECO_ATTN_QBLOCK < n ? i0 + ECO_ATTN_QBLOCK : n;
        const int64_t rows = i1 - i0;
        const int64_t keys = p0 + i1; /* the last query of the block sees this many */
        float *S = scores + (size_t)omp_get_thread_num() * scores_stride; /* [rows, keys] */
        const float *Q = q + i0 * qd + h * hd;
        const float *K, *Vh; /* [keys, hd] */
        if (kvt == ECO_DTYPE_F32) {
            K = (const float *)((const char *)kc + (size_t)kvh * head_bytes);
            Vh = (const float *)((const char *)vc + (size_t)kvh * head_bytes);
        } else {
            K = kv_f32 + (size_t)kvh * f32_head;
            Vh = kv_f32 + (size_t)(n_kv_heads + kvh) * f32_head;
        }
        float *O = att + i0 * qd + h * hd;
        if (rows == 1) {
            /* S[seen] = K[k0:keys, hd] · q[hd] · scale;  O[hd] = V[k0:keys, hd]ᵀ · S */
            const int64_t k0 = eco_layer_first_key(p0 + i0, p0 + i0), seen = keys - k0;
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)seen, (int)hd, scale, K + k0 * hd,
                        (int)hd, Q, 1, 0.0f, S, 1);
            eco_softmax(S, seen);
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)seen, (int)hd, 1.0f, Vh + k0 * hd, (int)hd,
                        S, 1, 0.0f, O, 1);
            continue;
        }
        /* S[rows, keys] = Q[rows, hd] · K[keys, hd]ᵀ · scale */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)keys, (int)hd, scale,
                    Q, (int)qd, K, (int)hd, 0.0f, S, (int)keys);
        for (int64_t r = 0; r < rows; r++) { /* keys k0..p of the query at p */
            float *row = S + r * keys;
            const int64_t p = p0 + i0 + r, k0 = eco_layer_first_key(p, p), visible = p + 1;
            memset(row, 0, (size_t)k0 * sizeof(float));
            eco_softmax(row + k0, visible - k0);
            memset(row + visible, 0, (size_t)(keys - visible) * sizeof(float));
        }
        /* O[rows, hd] = S[rows, keys] · V[keys, hd] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)hd, (int)keys, 1.0f,
                    S, (int)keys, Vh, (int)hd, 0.0f, O, (int)qd);
    }
}

/* y[n, out] += s·(x[n, in]·Aᵀ)·Bᵀ for one module's adapter (nothing when lw is NULL or
 * the module has none); rows of x are ldx apart, of y ldy apart; t [n, r] scratch. */
static void lora_add(float *y, int64_t ldy, const float *x, int64_t ldx, const eco_lora_w *lw,
                     int64_t n, int64_t in, int64_t out, float *t) {
    if (!lw || !lw->A) return;
    const int r = (int)lw->r;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, r, (int)in, 1.0f, x, (int)ldx,
                lw->A, (int)in, 0.0f, t, r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)out, r, lw->scale, t, r,
                lw->B, r, 1.0f, y, (int)ldy);
}

/* The residual rows x[rows, d] (positions p0..) that the final norm turns into logits: a
 * row whose f32 sum of squares overflows while every element is finite (an adapter scaled by
 * lora_alpha 1e30, weights far out of range) would be normed to 0, every logit equal, and
 * decode as token 0 with finite log-probabilities. ERANGE naming the position instead.
 * (Non-finite elements make the logits non-finite, which the engine's sampler check names.) */
eco_status eco_model_check_final_rows(const float *x, int64_t rows, int64_t d, int64_t p0) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * d;
        float ss = 0.f;
        for (int64_t i = 0; i < d; i++) ss += xr[i] * xr[i];
        if (!isinf(ss)) continue;
        float big = 0.f;
        for (int64_t i = 0; i < d; i++) {
            if (!isfinite(xr[i])) return ECO_STATUS_OK;
            big = fabsf(xr[i]) > big ? fabsf(xr[i]) : big;
        }
        return eco_error(ECO_STATUS_ERANGE,
                         "model forward: position %lld: the hidden state overflows f32 before the "
                         "final norm (largest element %g, its sum of squares is infinite): the "
                         "weights or an adapter's scale (lora_alpha / r) are out of range",
                         (long long)(p0 + r), (double)big);
    }
    return ECO_STATUS_OK;
}

eco_status eco_model_decode_buffers(eco_model *m, int64_t B, int64_t keys, int64_t max_seq,
                                    bool widen, int64_t rmax) {
    return ensure_buffers(m, B, keys, max_seq, widen, B, rmax);
}

/* eco_model_forward with the adapter modules lora (NULL: none) of largest rank rmax. */
static eco_status forward_with(eco_model *m, const eco_lora_w *lora, int64_t rmax, eco_kv_cache *kv,
                               const int32_t *tokens, int64_t n, float *logits, bool all_logits) {
    if (!m || !kv || !tokens || !logits)
        return eco_error(ECO_STATUS_EINVAL, "model forward: NULL argument");
    if (n <= 0) return eco_error(ECO_STATUS_EINVAL, "model forward: %lld tokens", (long long)n);
    const eco_model_config *c = &m->cfg;
    const int64_t d = c->hidden_size, f = c->intermediate_size, V = c->vocab_size;
    const int64_t H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim, half = hd / 2;
    const int64_t qd = H * hd, kvd = KV * hd;
    const float eps = eco_layer_norm_eps(c);
    if (kv->n_layers != c->n_layers || kv->kv_dim != kvd ||
        (kv->dtype != ECO_DTYPE_F32 && kv->dtype != ECO_DTYPE_F16))
        return eco_error(ECO_STATUS_EINVAL,
                         "model forward: KV cache of %lld layers × %lld %s, model has %lld × %lld",
                         (long long)kv->n_layers, (long long)kv->kv_dim, eco_dtype_name(kv->dtype),
                         (long long)c->n_layers, (long long)kvd);
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return eco_error(ECO_STATUS_ERANGE,
                             "model forward: token %d at index %lld outside [0, %lld)",
                             (int)tokens[i], (long long)i, (long long)V);
    if (kv->len < 0 || kv->len > kv->max_seq || n > kv->max_seq - kv->len)
        return eco_error(ECO_STATUS_ERANGE,
                         "model forward: %lld cached + %lld new tokens exceed the cache's %lld",
                         (long long)kv->len, (long long)n, (long long)kv->max_seq);
    const int64_t p0 = kv->len;
    eco_status st =
        ensure_buffers(m, n, p0 + n, kv->max_seq, kv->dtype != ECO_DTYPE_F32, 1, lora ? rmax : 0);
    if (st) return st;

    eco_model_buffers *b = &m->buf;
    float *x = b->x, *xn = b->xn, *q = b->q, *att = b->att;
    float *scratch = b->scratch;

    /* RoPE tables for positions p0..p0+n−1 */
    eco_layer_rope_tables(b->cos_tab, b->sin_tab, m->inv_freq, p0, n, half);

    /* x[n, d] = embed[tokens], one row widened at a time */
    const size_t erow = eco_dtype_row_bytes(m->embed->dtype, d); /* q8_0: d/32 blocks */
    for (int64_t i = 0; i < n; i++)
        eco_to_f32(x + i * d, (const char *)m->embed->data + (size_t)tokens[i] * erow,
                   m->embed->dtype, (size_t)d);

    if (n == 1 && ECO_FORWARD_ONE_REGION) {
        const eco_decode_slot slot = {kv, lora, lora ? rmax : 0, logits};
        eco_model_decode_rows(m, &slot, 1);
        kv->len = p0 + 1;
        return eco_model_check_final_rows(x, 1, d, p0);
    }

    for (int64_t l = 0; l < c->n_layers; l++) {
        const eco_layer *ly = &m->layers[l];
        const eco_lora_w *lw = lora ? &lora[l * ECO_LORA__COUNT] : NULL; /* [COUNT] or NULL */
        float *lt = b->lt;                                               /* [n, r] */
        char *kc = eco_kv_layer(kv, kv->k, l); /* [KV, max_seq, hd] of kv->dtype */
        char *vc = eco_kv_layer(kv, kv->v, l);
        float *knew = b->knew, *vnew = b->vnew; /* [n, kvd] the new tokens' rows, f32 */

        /* attention block */
        rmsnorm_rows(xn, x, ly->attn_norm, n, d, eps);
        { /* q [n, qd], knew and vnew [n, kvd]: for one token, one parallel region */
            float *const ys[3] = {q, knew, vnew};
            const eco_tensor *const ws[3] = {ly->wq, ly->wk, ly->wv};
            const float *const bs[3] = {ly->bq, ly->bk, ly->bv};
            eco_linear_multi(ys, xn, ws, bs, n, 3, scratch);
            if (lw) {
                lora_add(q, qd, xn, d, &lw[ECO_LORA_Q], n, d, qd, lt);
                lora_add(knew, kvd, xn, d, &lw[ECO_LORA_K], n, d, kvd, lt);
                lora_add(vnew, kvd, xn, d, &lw[ECO_LORA_V], n, d, kvd, lt);
            }
        }
#pragma omp parallel for if (n >= 16) schedule(static)
        for (int64_t i = 0; i < n; i++) {
            eco_layer_rope(q + i * qd, b->cos_tab + i * half, b->sin_tab + i * half, H, hd);
            eco_layer_rope(knew + i * kvd, b->cos_tab + i * half, b->sin_tab + i * half, KV, hd);
        }
        for (int64_t i = 0; i < n; i++) /* into the cache: row p0 + i of every kv head */
            for (int64_t h = 0; h < KV; h++) {
                eco_kv_store(kc + eco_kv_at(kv, h, p0 + i, hd, 0), kv->dtype,
                             knew + i * kvd + h * hd, hd);
                eco_kv_store(vc + eco_kv_at(kv, h, p0 + i, hd, 0), kv->dtype,
                             vnew + i * kvd + h * hd, hd);
            }
        attention(att, q, kc, vc, kv->dtype, kv->max_seq, b->scores,
                  (size_t)b->cap_rows * (size_t)b->cap_keys, b->kv_f32, b->cap_keys, n, p0, H, KV,
                  hd);
        eco_linear(xn, att, ly->wo, ly->bo, n, scratch); /* [n, d] */
        if (lw) lora_add(xn, d, att, qd, &lw[ECO_LORA_O], n, qd, d, lt);
        eco_add_inplace(x, xn, n * d);

        /* MLP block */
        rmsnorm_rows(xn, x, ly->ffn_norm, n, d, eps);
        { /* gate, up [n, f] */
            float *const ys[2] = {b->gate, b->up};
            const eco_tensor *const ws[2] = {ly->wg, ly->wu};
            eco_linear_multi(ys, xn, ws, NULL, n, 2, scratch);
            if (lw) {
                lora_add(b->gate, f, xn, d, &lw[ECO_LORA_GATE], n, d, f, lt);
                lora_add(b->up, f, xn, d, &lw[ECO_LORA_UP], n, d, f, lt);
            }
        }
        eco_layer_mlp_act(b->hid, b->gate, b->up, n * f);
        eco_linear(xn, b->hid, ly->wd, NULL, n, scratch); /* [n, d] */
        if (lw) lora_add(xn, d, b->hid, f, &lw[ECO_LORA_DOWN], n, f, d, lt);
        eco_add_inplace(x, xn, n * d);
    }

    /* logits: every position, or only the last one */
    if (all_logits) {
        rmsnorm_rows(xn, x, m->final_norm, n, d, eps);
        eco_linear(logits, xn, m->lm_head, NULL, n, scratch); /* [n, V] */
    } else {
        eco_layer_norm(xn, x + (n - 1) * d, m->final_norm, d, eps);
        eco_linear(logits, xn, m->lm_head, NULL, 1, scratch); /* [V] */
    }
    kv->len = p0 + n;
    return all_logits ? eco_model_check_final_rows(x, n, d, p0)
                      : eco_model_check_final_rows(x + (n - 1) * d, 1, d, p0 + n - 1);
}

eco_status eco_model_forward(eco_model *m, eco_kv_cache *kv, const int32_t *tokens, int64_t n,
                             float *logits, bool all_logits) {
    if (!m) return eco_error(ECO_STATUS_EINVAL, "model forward: NULL argument");
    return forward_with(m, m->lora, m->attached ? m->attached->rmax : 0, kv, tokens, n, logits,
                        all_logits);
}

eco_status eco_model_forward_adapter(eco_model *m, const eco_model_adapter *ad, eco_kv_cache *kv,
                                     const int32_t *tokens, int64_t n, float *logits,
                                     bool all_logits) {
    if (!m) return eco_error(ECO_STATUS_EINVAL, "model forward: NULL argument");
    if (ad && !eco_model_adapter_fits(m, ad))
        return eco_error(ECO_STATUS_EINVAL,
                         "model forward: the adapter was made for a model of other shapes");
    return forward_with(m, ad ? ad->lw : NULL, ad ? ad->rmax : 0, kv, tokens, n, logits,
                        all_logits);
}
