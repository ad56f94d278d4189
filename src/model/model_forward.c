/*
 * eco_model_forward: the llama-family forward over n new tokens against the KV cache.
 *
 * The prompt (n > 1): every projection is an eco_linear over [n, ·] activations (sgemm),
 * each step its own OpenMP region. K and V are projected straight into the cache rows of
 * the new positions. Attention runs OpenMP tasks over (head, block of up to
 * ECO_ATTN_QBLOCK queries); each task forms its scores against the keys it can see with
 * sgemm, masks and softmaxes each row, and multiplies by V.
 *
 * Decoding (n == 1) computes the same thing in forward_one: matrix-vector products over
 * the stored (bf16/f16/f32) rows, bound by memory bandwidth, with all layers and the head
 * inside one parallel region. Each thread owns the same rows of every product
 * (eco_matvec_part_rows; q and k by whole heads), so the residual adds, SwiGLU and RoPE
 * need no barrier; five barriers per layer replace the fork/join of eight regions (at 2
 * threads and 0.2-2 MB matrices the fork/join and the cold start of each region were a
 * fifth of the step).
 * Activation buffers live in the model and grow to the largest batch seen, so decoding
 * allocates nothing.
 *
 * An attached LoRA adapter (lora_infer.c) adds y += s·(x·Aᵀ)·Bᵀ after each adapted linear,
 * bias included, before anything reads y. Batched: t = x·Aᵀ [n, r] then y += s·t·Bᵀ, both
 * sgemm (the training forward's order). One token: every thread computes the whole
 * t = A·x (r dot products of length `in`, a few thousand MACs, into its own slice of
 * b->lt) and then its own rows of y += s·B·t, so each thread still owns the same rows of y
 * and no barrier is added; the input x is complete wherever that runs (the thread's own
 * normed copy for q/k/v/gate/up, att and hid after the barriers that already precede o
 * and down).
 */
#include "model/model_internal.h"
#include "tensor/matvec_internal.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* 0 sends one token down the batched path too (for measuring what forward_one saves). */
#ifndef ECO_FORWARD_ONE_REGION
#define ECO_FORWARD_ONE_REGION 1
#endif

void eco_model_buffers_free(eco_model_buffers *b) {
    free(b->x);
    free(b->xn);
    free(b->q);
    free(b->att);
    free(b->gate);
    free(b->up);
    free(b->hid);
    free(b->cos_tab);
    free(b->sin_tab);
    free(b->scores);
    free(b->xt);
    free(b->att_t);
    free(b->part_o);
    free(b->part_ml);
    free(b->claims);
    b->claims = NULL;
    free(b->lt);
    b->lt = NULL;
    b->cap_lt = 0;
    b->x = b->xn = b->q = b->att = b->gate = b->up = b->hid = NULL;
    b->cos_tab = b->sin_tab = b->scores = b->xt = b->att_t = b->part_o = b->part_ml = NULL;
    b->cap_n = 0;
    b->cap_kblocks = 0;
    b->cap_keys = 0;
    b->cap_rows = 0;
    b->cap_threads = 0;
}

static float *alloc_rows(int64_t n, int64_t width) {
    size_t count;
    if (!eco_mul_ok((size_t)n, (size_t)width, &count)) return NULL;
    return eco_malloc_array(count, sizeof(float));
}

/* Makes room for n tokens and attention over `keys` keys; buffers only ever grow.
 * Keys grow geometrically (capped at max_seq) so a decode loop reallocates O(log) times. */
static eco_status ensure_buffers(eco_model *m, int64_t n, int64_t keys, int64_t max_seq) {
    eco_model_buffers *b = &m->buf;
    const eco_model_config *c = &m->cfg;
    if (n > b->cap_n) {
        const int64_t d = c->hidden_size, f = c->intermediate_size;
        const int64_t qd = c->n_heads * c->head_dim, half = c->head_dim / 2;
        free(b->x); free(b->xn); free(b->q); free(b->att);
        free(b->gate); free(b->up); free(b->hid); free(b->cos_tab); free(b->sin_tab);
        b->x = alloc_rows(n, d);
        b->xn = alloc_rows(n, d);
        b->q = alloc_rows(n, qd);
        b->att = alloc_rows(n, qd);
        b->gate = alloc_rows(n, f);
        b->up = alloc_rows(n, f);
        b->hid = alloc_rows(n, f);
        b->cos_tab = alloc_rows(n, half);
        b->sin_tab = alloc_rows(n, half);
        b->cap_n = n;
        if (!b->x || !b->xn || !b->q || !b->att || !b->gate || !b->up || !b->hid ||
            !b->cos_tab || !b->sin_tab)
            goto nomem;
    }
    int64_t rows = n < ECO_ATTN_QBLOCK ? n : ECO_ATTN_QBLOCK;
    int threads = omp_get_max_threads();
    if (keys > b->cap_keys || rows > b->cap_rows || threads > b->cap_threads) {
        int64_t cap_keys = b->cap_keys;
        if (keys > cap_keys) {
            cap_keys = cap_keys * 2 > keys ? cap_keys * 2 : keys;
            if (cap_keys < 256) cap_keys = 256;
            if (cap_keys > max_seq) cap_keys = max_seq;
        }
        int64_t cap_rows = rows > b->cap_rows ? rows : b->cap_rows;
        int cap_threads = threads > b->cap_threads ? threads : b->cap_threads;
        const int64_t qd = c->n_heads * c->head_dim;
        const int64_t cap_kblocks = (cap_keys + ECO_ATTN_KBLOCK - 1) / ECO_ATTN_KBLOCK;
        free(b->scores);
        free(b->xt);
        free(b->att_t);
        free(b->part_o);
        free(b->part_ml);
        free(b->claims);
        size_t count;
        b->scores = NULL;
        if (eco_mul_ok((size_t)cap_keys, (size_t)cap_rows, &count) &&
            eco_mul_ok(count, (size_t)cap_threads, &count))
            b->scores = eco_malloc_array(count, sizeof(float));
        b->xt = alloc_rows(cap_threads, c->hidden_size);
        b->att_t = alloc_rows(cap_threads, qd);
        b->part_o = alloc_rows(cap_kblocks, qd);
        b->part_ml = alloc_rows(cap_kblocks, 2 * c->n_heads);
        b->claims = aligned_alloc(64, (size_t)3 * (size_t)cap_threads * ECO_CLAIM_STRIDE * sizeof(atomic_long));
        if (b->claims)
            for (size_t i = 0; i < (size_t)3 * (size_t)cap_threads * ECO_CLAIM_STRIDE; i++)
                atomic_init(&b->claims[i], 0);
        b->cap_keys = cap_keys;
        b->cap_rows = cap_rows;
        b->cap_threads = cap_threads;
        b->cap_kblocks = cap_kblocks;
        if (!b->scores || !b->xt || !b->att_t || !b->part_o || !b->part_ml || !b->claims) goto nomem;
    }
    if (m->lora) { /* t = x·Aᵀ: [n, r] batched, [threads, r] one token */
        size_t need;
        if (!eco_mul_ok((size_t)(n > threads ? n : threads), (size_t)m->lora_rmax, &need)) goto nomem;
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
    for (int64_t i = 0; i < n; i++) eco_rmsnorm(out + i * d, x + i * d, weight, d, eps);
}

/* Causal GQA attention for the n new queries at positions p0..p0+n−1.
 *   att  [n, H·hd]        output, heads concatenated
 *   q    [n, H·hd]        queries after RoPE
 *   kc   [max_seq, KV·hd] this layer's cached keys (after RoPE), rows 0..p0+n−1 valid
 *   vc   [max_seq, KV·hd] this layer's cached values
 *   scores                per-thread [cap_rows, cap_keys] scratch
 * Head h reads kv head h / (H / KV); scores are q·kᵀ / √hd, softmax in f32 over the keys
 * at positions <= the query's. */
static void attention(float *att, const float *q, const float *kc, const float *vc,
                      float *scores, size_t scores_stride, int64_t n, int64_t p0,
                      int64_t n_heads, int64_t n_kv_heads, int64_t hd) {
    const int64_t qd = n_heads * hd, kvd = n_kv_heads * hd;
    const int64_t group = n_heads / n_kv_heads;
    const float scale = (float)(1.0 / sqrt((double)hd));
    const int64_t n_blocks = (n + ECO_ATTN_QBLOCK - 1) / ECO_ATTN_QBLOCK;
    const int64_t n_tasks = n_heads * n_blocks;

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
        const float *K = kc + kvh * hd;
        const float *Vh = vc + kvh * hd;
        float *O = att + i0 * qd + h * hd;
        if (rows == 1) {
            /* S[keys] = K[keys, hd] · q[hd] · scale;  O[hd] = V[keys, hd]ᵀ · S */
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)keys, (int)hd, scale, K, (int)kvd, Q, 1,
                        0.0f, S, 1);
            eco_softmax(S, keys);
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)keys, (int)hd, 1.0f, Vh, (int)kvd, S, 1,
                        0.0f, O, 1);
            continue;
        }
        /* S[rows, keys] = Q[rows, hd] · K[keys, hd]ᵀ · scale */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)keys, (int)hd, scale,
                    Q, (int)qd, K, (int)kvd, 0.0f, S, (int)keys);
        for (int64_t r = 0; r < rows; r++) {
            float *row = S + r * keys;
            int64_t visible = p0 + i0 + r + 1;
            eco_softmax(row, visible);
            memset(row + visible, 0, (size_t)(keys - visible) * sizeof(float));
        }
        /* O[rows, hd] = S[rows, keys] · V[keys, hd] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)hd, (int)keys, 1.0f,
                    S, (int)keys, Vh, (int)kvd, 0.0f, O, (int)qd);
    }
}

/* y[n, out] += s·(x[n, in]·Aᵀ)·Bᵀ for one module's adapter (nothing when lw is NULL or
 * the module has none); rows of x are ldx apart, of y ldy apart; t [n, r] scratch. */
static void lora_add(float *y, int64_t ldy, const float *x, int64_t ldx, const eco_lora_w *lw, int64_t n,
                     int64_t in, int64_t out, float *t) {
    if (!lw || !lw->A) return;
    const int r = (int)lw->r;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, r, (int)in, 1.0f, x, (int)ldx, lw->A, (int)in,
                0.0f, t, r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)out, r, lw->scale, t, r, lw->B, r, 1.0f, y,
                (int)ldy);
}

/* One token, one thread's share: rows [r0, r1) of y[out] += s·B[r0:r1, r]·(A[r, in]·x[in]).
 * t [r] is the thread's own scratch; every thread computes the whole t (tiny) so that no
 * barrier is needed between t and the update. sgemv runs single-threaded in the region. */
static void lora_add_one(float *y, const float *x, const eco_lora_w *lw, int64_t in, int64_t r0, int64_t r1,
                         float *t) {
    if (!lw || !lw->A || r1 <= r0) return;
    const int r = (int)lw->r;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, r, (int)in, 1.0f, lw->A, (int)in, x, 1, 0.0f, t, 1);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)(r1 - r0), r, lw->scale, lw->B + r0 * r, r, t, 1, 1.0f, y + r0,
                1);
}

/* Rows [r0, r1) of y[N] += bias[N] (bias may be NULL). */
static void add_bias_rows(float *y, const float *bias, int64_t r0, int64_t r1) {
    if (bias)
        for (int64_t r = r0; r < r1; r++) y[r] += bias[r];
}

/* Work units of one decode phase (row chunks of about ECO_DECODE_CHUNK_BYTES of weights,
 * or heads) split by ownership: of T threads, thread t owns units [n·t/T, n·(t+1)/T) and
 * takes them in order from its own counter, finishing each (bias, adapter, RoPE, residual
 * add, SwiGLU: everything that only reads the unit's own rows) before the next. Its rows
 * are then one contiguous stream, which the matvec kernels prefetch ahead across units.
 * A thread whose units are gone takes the others' in turn from their counters, so a thread
 * that is held up (on a shared VM a descheduled vCPU, an interrupt) costs the others at
 * most one unit of waiting at the next barrier, not its whole lag. Every row is summed by
 * the same kernel whatever the split, so the results do not depend on who took what.
 *
 * Counters: phase s (separated from the next by a barrier) uses row s % 3 of
 * b->claims [3, cap_threads] (one 64-byte line each); during phase s thread 0 zeroes row
 * (s + 2) % 3, last used in phase s − 1 (which the barrier before phase s ended) and next
 * used in phase s + 2 (after the barrier that ends phase s + 1). */
#ifndef ECO_DECODE_CHUNK_BYTES
#define ECO_DECODE_CHUNK_BYTES ((size_t)64 << 10)
#endif

/* Rows per chunk for weights of `row_bytes` bytes a row: whole 4-row blocks, at least one. */
static int64_t chunk_rows(size_t row_bytes) {
    size_t rows = row_bytes ? ECO_DECODE_CHUNK_BYTES / row_bytes : 4;
    rows &= ~(size_t)3;
    return rows < 4 ? 4 : (int64_t)rows;
}

typedef struct phase_split {
    atomic_long *ctr; /* this phase's counters, ECO_CLAIM_STRIDE apart */
    int64_t n;        /* units */
    int T, id, tried; /* threads, this thread, owners whose units are gone */
    int64_t own_end;  /* end of the range of the owner of the last unit returned */
} phase_split;

static phase_split phase_begin(atomic_long *claims, int64_t s, int T, int id, int64_t n) {
    if (id == 0)
        for (int t = 0; t < T; t++)
            atomic_store_explicit(&claims[((s + 2) % 3 * T + t) * ECO_CLAIM_STRIDE], 0,
                                  memory_order_relaxed);
    return (phase_split){claims + (s % 3) * T * ECO_CLAIM_STRIDE, n, T, id, 0, 0};
}

/* Rows of one matrix that units [first, own_end) cover, for a matrix of `rows` rows cut
 * into units of `per` rows starting at unit `first`: how far the kernel may prefetch. */
static inline int64_t units_rows_end(int64_t own_end, int64_t first, int64_t rows, int64_t per) {
    const int64_t r = (own_end - first) * per;
    return r < 0 ? 0 : r > rows ? rows : r;
}

/* The next unit for this thread, or −1 when there is none left. */
static inline int64_t next_unit(phase_split *p) {
    for (; p->tried < p->T; p->tried++) {
        const int owner = (p->id + p->tried) % p->T;
        const int64_t lo = p->n * owner / p->T, hi = p->n * (owner + 1) / p->T;
        const int64_t j = lo + atomic_fetch_add_explicit(&p->ctr[owner * ECO_CLAIM_STRIDE], 1,
                                                         memory_order_relaxed);
        if (j < hi) {
            p->own_end = hi;
            return j;
        }
    }
    return -1;
}

/* Before a barrier: prefetch the start of the rows this thread will own in the next
 * phase, n units of `per` rows of W [rows, ·] (see phase_split), so that they are on their
 * way while it waits. */
static void prefetch_from(const eco_tensor *W, int64_t rows, int64_t r0) {
    eco_matvec_prefetch_rows(W->data, W->dtype, r0 < rows ? r0 : rows, rows, W->shape[1]);
}

static void prefetch_own(const eco_tensor *W, int64_t rows, int64_t n, int64_t per, int T, int id) {
    prefetch_from(W, rows, n * id / T * per);
}

/* The same for the q/k/v phase of layer ly: units are the H query heads, then the KV key
 * heads, then the KV value heads, hd rows each. */
static void prefetch_own_qkv(const eco_layer *ly, int64_t H, int64_t KV, int64_t hd, int T, int id) {
    const int64_t u = (H + 2 * KV) * id / T;
    if (u < H) prefetch_from(ly->wq, H * hd, u * hd);
    else if (u < H + KV) prefetch_from(ly->wk, KV * hd, (u - H) * hd);
    else prefetch_from(ly->wv, KV * hd, (u - H - KV) * hd);
}

/* The one-token forward (n == 1) at position p0 = kv->len: b->x holds the embedded token,
 * b->cos_tab/sin_tab the RoPE tables of p0; writes logits[V] and the cache rows at p0.
 * One parallel region for all layers and the head; per layer, each thread norms x into
 * its own copy (no barrier), then claims heads of q, k and v (matvec, bias, adapter, RoPE
 * per head), (barrier) attention partials by (kv head, block of ECO_ATTN_KBLOCK keys),
 * (barrier) its own merge of the partials into att, chunks of o with their residual add,
 * (barrier) its norm copy, chunks of gate/up with their SwiGLU, (barrier) chunks of down
 * with their residual add, (barrier). Same arithmetic, operation by operation, as the
 * batched path at n == 1, except the softmax of attention, which is taken per block of
 * keys and merged (equal within rounding; the blocks do not depend on the thread count). */
static void forward_one(eco_model *m, eco_kv_cache *kv, float *logits) {
    const eco_model_config *c = &m->cfg;
    eco_model_buffers *b = &m->buf;
    const int64_t d = c->hidden_size, f = c->intermediate_size, V = c->vocab_size;
    const int64_t H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim;
    const int64_t kvd = KV * hd, group = H / KV, p0 = kv->len, keys = p0 + 1;
    const int64_t nkb = (keys + ECO_ATTN_KBLOCK - 1) / ECO_ATTN_KBLOCK; /* key blocks */
    const float eps = (float)c->rms_norm_eps;
    const float scale = (float)(1.0 / sqrt((double)hd));
    const size_t scores_stride = (size_t)b->cap_rows * (size_t)b->cap_keys;
    const int64_t ch_head = chunk_rows((size_t)d * eco_dtype_size(m->lm_head->dtype));
    float *x = b->x, *y = b->xn, *q = b->q;
    for (size_t i = 0; i < (size_t)3 * (size_t)b->cap_threads * ECO_CLAIM_STRIDE; i++)
        atomic_store_explicit(&b->claims[i], 0, memory_order_relaxed);

#pragma omp parallel
    {
        const int id = omp_get_thread_num(), T = omp_get_num_threads();
        float *xt = b->xt + (size_t)id * (size_t)d;   /* [d] this thread's normed x */
        float *S = b->scores + (size_t)id * scores_stride; /* [ECO_ATTN_KBLOCK] */
        float *att = b->att_t + (size_t)id * (size_t)(H * hd); /* [H·hd] this thread's copy */
        float *lt = m->lora ? b->lt + (size_t)id * (size_t)m->lora_rmax : NULL; /* [r] LoRA t */
        float xp_buf[ECO_MATVEC_XP_MAX]; /* x prepared for bf16 weights */
        int64_t s = 0; /* phase number, for the work counters */

        for (int64_t l = 0; l < c->n_layers; l++) {
            const eco_layer *ly = &m->layers[l];
            const eco_lora_w *lw = m->lora ? &m->lora[l * ECO_LORA__COUNT] : NULL; /* [COUNT] or NULL */
            float *kc = kv->k + (size_t)l * (size_t)kv->max_seq * (size_t)kvd; /* [max_seq, kvd] */
            float *vc = kv->v + (size_t)l * (size_t)kv->max_seq * (size_t)kvd;
            float *knew = kc + (size_t)p0 * (size_t)kvd, *vnew = vc + (size_t)p0 * (size_t)kvd;
            /* rows per unit of o, gate/up (both read per unit), down */
            const int64_t ch_o = chunk_rows((size_t)(H * hd) * eco_dtype_size(ly->wo->dtype));
            const int64_t ch_gu = chunk_rows((size_t)d * (eco_dtype_size(ly->wg->dtype) +
                                                          eco_dtype_size(ly->wu->dtype)));
            const int64_t ch_d = chunk_rows((size_t)f * eco_dtype_size(ly->wd->dtype));

            /* attention block: q [H·hd], knew and vnew [kvd], one head a unit; with q, k
             * and v fused, q's and k's prefetch runs on into the rows that follow them */
            const int64_t q_pf_rows = ly->qkv_block ? H * hd + 2 * kvd : H * hd;
            const int64_t k_pf_rows = ly->qkv_block ? 2 * kvd : kvd;
            eco_rmsnorm(xt, x, ly->attn_norm, d, eps);
            {
                const float *xp = eco_matvec_prep_bf16(xp_buf, xt, d);
                phase_split ps = phase_begin(b->claims, s++, T, id, H + 2 * KV);
                for (int64_t j; (j = next_unit(&ps)) >= 0;) {
                    if (j < H) {
                        const int64_t r0 = j * hd, r1 = r0 + hd;
                        eco_matvec_rows(q, ly->wq->data, ly->wq->dtype, xt, xp, r0, r1,
                                        units_rows_end(ps.own_end, 0, q_pf_rows, hd), d);
                        add_bias_rows(q, ly->bq, r0, r1);
                        if (lw) lora_add_one(q, xt, &lw[ECO_LORA_Q], d, r0, r1, lt);
                        eco_rope(q + r0, b->cos_tab, b->sin_tab, 1, hd);
                    } else if (j < H + KV) {
                        const int64_t r0 = (j - H) * hd, r1 = r0 + hd;
                        eco_matvec_rows(knew, ly->wk->data, ly->wk->dtype, xt, xp, r0, r1,
                                        units_rows_end(ps.own_end, H, k_pf_rows, hd), d);
                        add_bias_rows(knew, ly->bk, r0, r1);
                        if (lw) lora_add_one(knew, xt, &lw[ECO_LORA_K], d, r0, r1, lt);
                        eco_rope(knew + r0, b->cos_tab, b->sin_tab, 1, hd);
                    } else {
                        const int64_t r0 = (j - H - KV) * hd, r1 = r0 + hd;
                        eco_matvec_rows(vnew, ly->wv->data, ly->wv->dtype, xt, xp, r0, r1,
                                        units_rows_end(ps.own_end, H + KV, kvd, hd), d);
                        add_bias_rows(vnew, ly->bv, r0, r1);
                        if (lw) lora_add_one(vnew, xt, &lw[ECO_LORA_V], d, r0, r1, lt);
                    }
                }
            }
#pragma omp barrier
            {   /* partials of (kv head, block of keys), the group's query heads each */
                phase_split ps = phase_begin(b->claims, s++, T, id, KV * nkb);
                for (int64_t j; (j = next_unit(&ps)) >= 0;) {
                    const int64_t kvh = j % KV, blk = j / KV, k0 = blk * ECO_ATTN_KBLOCK;
                    const int64_t nk = keys - k0 < ECO_ATTN_KBLOCK ? keys - k0 : ECO_ATTN_KBLOCK;
                    const float *K = kc + (size_t)k0 * (size_t)kvd + kvh * hd;
                    const float *Vv = vc + (size_t)k0 * (size_t)kvd + kvh * hd;
                    if (j + 1 < ps.own_end) { /* this thread's next unit, most likely */
                        const int64_t kvh1 = (j + 1) % KV, k1 = (j + 1) / KV * ECO_ATTN_KBLOCK;
                        eco_attend_prefetch(kc + (size_t)k1 * (size_t)kvd + kvh1 * hd,
                                            vc + (size_t)k1 * (size_t)kvd + kvh1 * hd, kvd,
                                            keys - k1 < ECO_ATTN_KBLOCK ? keys - k1 : ECO_ATTN_KBLOCK, hd);
                    }
                    for (int64_t h = kvh * group; h < (kvh + 1) * group; h++) {
                        float *ml = b->part_ml + (blk * H + h) * 2;
                        eco_attend_part(b->part_o + (blk * H + h) * hd, ml, ml + 1, q + h * hd, K,
                                        Vv, kvd, nk, hd, scale, S);
                    }
                }
            }
            prefetch_own(ly->wo, d, (d + ch_o - 1) / ch_o, ch_o, T, id);
#pragma omp barrier
            for (int64_t h = 0; h < H; h++) /* every thread merges its own copy of att */
                eco_attend_merge(att + h * hd, b->part_o + h * hd, b->part_ml + 2 * h,
                                 b->part_ml + 2 * h + 1, nkb, H * hd, 2 * H, hd);
            {   /* y = Wo · att (+ bo); x += y, chunk by chunk */
                const float *xp = eco_matvec_prep_bf16(xp_buf, att, H * hd);
                const int64_t ch = ch_o;
                phase_split ps = phase_begin(b->claims, s++, T, id, (d + ch - 1) / ch);
                for (int64_t j; (j = next_unit(&ps)) >= 0;) {
                    const int64_t r0 = j * ch, r1 = r0 + ch < d ? r0 + ch : d;
                    eco_matvec_rows(y, ly->wo->data, ly->wo->dtype, att, xp, r0, r1,
                                    units_rows_end(ps.own_end, 0, d, ch), H * hd);
                    add_bias_rows(y, ly->bo, r0, r1);
                    if (lw) lora_add_one(y, att, &lw[ECO_LORA_O], H * hd, r0, r1, lt);
                    eco_add_inplace(x + r0, y + r0, r1 - r0);
                }
            }
            prefetch_own(ly->wg, f, (f + ch_gu - 1) / ch_gu, ch_gu, T, id);
            prefetch_own(ly->wu, f, (f + ch_gu - 1) / ch_gu, ch_gu, T, id);
#pragma omp barrier

            /* MLP block: gate, up, hid [f] */
            eco_rmsnorm(xt, x, ly->ffn_norm, d, eps);
            {
                const float *xp = eco_matvec_prep_bf16(xp_buf, xt, d);
                const int64_t ch = ch_gu;
                phase_split ps = phase_begin(b->claims, s++, T, id, (f + ch - 1) / ch);
                for (int64_t j; (j = next_unit(&ps)) >= 0;) {
                    const int64_t r0 = j * ch, r1 = r0 + ch < f ? r0 + ch : f;
                    const int64_t pf = units_rows_end(ps.own_end, 0, f, ch);
                    eco_matvec_rows(b->gate, ly->wg->data, ly->wg->dtype, xt, xp, r0, r1, pf, d);
                    eco_matvec_rows(b->up, ly->wu->data, ly->wu->dtype, xt, xp, r0, r1, pf, d);
                    if (lw) {
                        lora_add_one(b->gate, xt, &lw[ECO_LORA_GATE], d, r0, r1, lt);
                        lora_add_one(b->up, xt, &lw[ECO_LORA_UP], d, r0, r1, lt);
                    }
                    eco_swiglu(b->hid + r0, b->gate + r0, b->up + r0, r1 - r0);
                }
            }
            prefetch_own(ly->wd, d, (d + ch_d - 1) / ch_d, ch_d, T, id);
#pragma omp barrier
            {
                const float *xp = eco_matvec_prep_bf16(xp_buf, b->hid, f);
                const int64_t ch = ch_d;
                phase_split ps = phase_begin(b->claims, s++, T, id, (d + ch - 1) / ch);
                for (int64_t j; (j = next_unit(&ps)) >= 0;) {
                    const int64_t r0 = j * ch, r1 = r0 + ch < d ? r0 + ch : d;
                    eco_matvec_rows(y, ly->wd->data, ly->wd->dtype, b->hid, xp, r0, r1,
                                    units_rows_end(ps.own_end, 0, d, ch), f);
                    if (lw) lora_add_one(y, b->hid, &lw[ECO_LORA_DOWN], f, r0, r1, lt);
                    eco_add_inplace(x + r0, y + r0, r1 - r0);
                }
            }
            if (l + 1 < c->n_layers) prefetch_own_qkv(&m->layers[l + 1], H, KV, hd, T, id);
            else prefetch_own(m->lm_head, V, (V + ch_head - 1) / ch_head, ch_head, T, id);
#pragma omp barrier
        }

        /* logits [V] = lm_head · RMSNorm(x) */
        eco_rmsnorm(xt, x, m->final_norm, d, eps);
        {
            const float *xp = eco_matvec_prep_bf16(xp_buf, xt, d);
            const int64_t ch = ch_head;
            phase_split ps = phase_begin(b->claims, s++, T, id, (V + ch - 1) / ch);
            for (int64_t j; (j = next_unit(&ps)) >= 0;) {
                const int64_t r0 = j * ch, r1 = r0 + ch < V ? r0 + ch : V;
                eco_matvec_rows(logits, m->lm_head->data, m->lm_head->dtype, xt, xp, r0, r1,
                                units_rows_end(ps.own_end, 0, V, ch), d);
            }
        }
    }
}

eco_status eco_model_forward(eco_model *m, eco_kv_cache *kv, const int32_t *tokens, int64_t n,
                             float *logits, bool all_logits) {
    if (!m || !kv || !tokens || !logits)
        return eco_error(ECO_STATUS_EINVAL, "model forward: NULL argument");
    if (n <= 0) return eco_error(ECO_STATUS_EINVAL, "model forward: %lld tokens", (long long)n);
    const eco_model_config *c = &m->cfg;
    const int64_t d = c->hidden_size, f = c->intermediate_size, V = c->vocab_size;
    const int64_t H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim, half = hd / 2;
    const int64_t qd = H * hd, kvd = KV * hd;
    const float eps = (float)c->rms_norm_eps;
    if (kv->n_layers != c->n_layers || kv->kv_dim != kvd)
        return eco_error(ECO_STATUS_EINVAL,
                         "model forward: KV cache of %lld layers × %lld, model has %lld × %lld",
                         (long long)kv->n_layers, (long long)kv->kv_dim, (long long)c->n_layers,
                         (long long)kvd);
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return eco_error(ECO_STATUS_ERANGE, "model forward: token %d at index %lld outside [0, %lld)",
                             (int)tokens[i], (long long)i, (long long)V);
    if (kv->len < 0 || kv->len > kv->max_seq || n > kv->max_seq - kv->len)
        return eco_error(ECO_STATUS_ERANGE,
                         "model forward: %lld cached + %lld new tokens exceed the cache's %lld",
                         (long long)kv->len, (long long)n, (long long)kv->max_seq);
    const int64_t p0 = kv->len;
    eco_status st = ensure_buffers(m, n, p0 + n, kv->max_seq);
    if (st) return st;

    eco_model_buffers *b = &m->buf;
    float *x = b->x, *xn = b->xn, *q = b->q, *att = b->att;
    float *scratch = b->scratch;

    /* RoPE tables for positions p0..p0+n−1: angle in double, cast once. */
    for (int64_t i = 0; i < n; i++) {
        double pos = (double)(p0 + i);
        for (int64_t j = 0; j < half; j++) {
            double a = pos * m->inv_freq[j];
            b->cos_tab[i * half + j] = (float)cos(a);
            b->sin_tab[i * half + j] = (float)sin(a);
        }
    }

    /* x[n, d] = embed[tokens], one row widened at a time */
    const size_t esz = eco_dtype_size(m->embed->dtype);
    for (int64_t i = 0; i < n; i++)
        eco_to_f32(x + i * d, (const char *)m->embed->data + (size_t)tokens[i] * (size_t)d * esz,
                   m->embed->dtype, (size_t)d);

    if (n == 1 && ECO_FORWARD_ONE_REGION) {
        forward_one(m, kv, logits);
        kv->len = p0 + 1;
        return ECO_STATUS_OK;
    }

    for (int64_t l = 0; l < c->n_layers; l++) {
        const eco_layer *ly = &m->layers[l];
        const eco_lora_w *lw = m->lora ? &m->lora[l * ECO_LORA__COUNT] : NULL; /* [COUNT] or NULL */
        float *lt = b->lt; /* [n, r] */
        float *kc = kv->k + (size_t)l * (size_t)kv->max_seq * (size_t)kvd; /* [max_seq, kvd] */
        float *vc = kv->v + (size_t)l * (size_t)kv->max_seq * (size_t)kvd;
        float *knew = kc + (size_t)p0 * (size_t)kvd; /* [n, kvd] rows of the new tokens */
        float *vnew = vc + (size_t)p0 * (size_t)kvd;

        /* attention block */
        rmsnorm_rows(xn, x, ly->attn_norm, n, d, eps);
        {   /* q [n, qd], knew and vnew [n, kvd]: for one token, one parallel region */
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
            eco_rope(q + i * qd, b->cos_tab + i * half, b->sin_tab + i * half, H, hd);
            eco_rope(knew + i * kvd, b->cos_tab + i * half, b->sin_tab + i * half, KV, hd);
        }
        attention(att, q, kc, vc, b->scores, (size_t)b->cap_rows * (size_t)b->cap_keys, n, p0, H,
                  KV, hd);
        eco_linear(xn, att, ly->wo, ly->bo, n, scratch); /* [n, d] */
        if (lw) lora_add(xn, d, att, qd, &lw[ECO_LORA_O], n, qd, d, lt);
        eco_add_inplace(x, xn, n * d);

        /* MLP block */
        rmsnorm_rows(xn, x, ly->ffn_norm, n, d, eps);
        {   /* gate, up [n, f] */
            float *const ys[2] = {b->gate, b->up};
            const eco_tensor *const ws[2] = {ly->wg, ly->wu};
            eco_linear_multi(ys, xn, ws, NULL, n, 2, scratch);
            if (lw) {
                lora_add(b->gate, f, xn, d, &lw[ECO_LORA_GATE], n, d, f, lt);
                lora_add(b->up, f, xn, d, &lw[ECO_LORA_UP], n, d, f, lt);
            }
        }
        eco_swiglu(b->hid, b->gate, b->up, n * f);
        eco_linear(xn, b->hid, ly->wd, NULL, n, scratch);  /* [n, d] */
        if (lw) lora_add(xn, d, b->hid, f, &lw[ECO_LORA_DOWN], n, f, d, lt);
        eco_add_inplace(x, xn, n * d);
    }

    /* logits: every position, or only the last one */
    if (all_logits) {
        rmsnorm_rows(xn, x, m->final_norm, n, d, eps);
        eco_linear(logits, xn, m->lm_head, NULL, n, scratch); /* [n, V] */
    } else {
        eco_rmsnorm(xn, x + (n - 1) * d, m->final_norm, d, eps);
        eco_linear(logits, xn, m->lm_head, NULL, 1, scratch); /* [V] */
    }
    kv->len = p0 + n;
    return ECO_STATUS_OK;
}
