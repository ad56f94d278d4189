/*
 * eco_model_forward_one: the forward of one new token (decoding) against the KV cache:
 * matrix-vector products over the stored (bf16/f16/f32) rows, bound by memory bandwidth,
 * with all layers and the head inside one parallel region (at 2 threads and 0.2-2 MB
 * matrices the fork/join and cold start of a region per product were a fifth of the step).
 * Five barriers per layer separate the phases (eco_team_barrier_wait: 150 a token for
 * SmolLM2-135M, each a fifth of the cost of `#pragma omp barrier` on the benchmark VM);
 * within a phase each thread works through units it owns (see phase_split), finishing
 * everything that reads only a unit's rows (bias, adapter, RoPE, residual add, SwiGLU)
 * without a barrier.
 *
 * An attached LoRA adapter adds y += s·B·(A·x) per unit: every thread computes the whole
 * t = A·x (r dot products of length `in`, a few thousand MACs, into its own slice of
 * b->lt) and then the unit's rows of y += s·B·t, so no barrier is added; the input x is
 * complete wherever that runs (the thread's own normed copy for q/k/v/gate/up, att and hid
 * after the barriers that already precede o and down).
 */
#include "model/model_internal.h"
#include "tensor/matvec_internal.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdatomic.h>

/* One token, one thread's share: rows [r0, r1) of y[out] += s·B[r0:r1, r]·(A[r, in]·x[in]).
 * t [r] is the thread's own scratch; every thread computes the whole t (tiny) so that no
 * barrier is needed between t and the update. sgemv runs single-threaded in the region. */
static void lora_add_one(float *y, const float *x, const eco_lora_w *lw, int64_t in, int64_t r0,
                         int64_t r1, float *t) {
    if (!lw || !lw->A || r1 <= r0) return;
    const int r = (int)lw->r;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, r, (int)in, 1.0f, lw->A, (int)in, x, 1, 0.0f, t, 1);
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)(r1 - r0), r, lw->scale, lw->B + r0 * r, r, t, 1,
                1.0f, y + r0, 1);
}

/* Rows [r0, r1) of y[N] += bias[N] (bias may be NULL). */
static void add_bias_rows(float *y, const float *bias, int64_t r0, int64_t r1) {
    if (bias)
        for (int64_t r = r0; r < r1; r++) y[r] += bias[r];
}

/* Work units of one decode phase (row chunks of about ECO_DECODE_CHUNK_BYTES of weights,
 * or heads) split by ownership: of T threads, thread t owns units [n·t/T, n·(t+1)/T) and
 * takes them in order from its own counter, finishing each run it takes (bias, adapter,
 * RoPE, residual add, SwiGLU: everything that only reads the run's own rows) before the
 * next. Its rows are then one contiguous stream, which the matvec kernels prefetch ahead
 * across runs. A thread whose units are gone takes the others' in turn from their
 * counters, so a thread that is held up (on a shared VM a descheduled vCPU, an interrupt)
 * costs the others little waiting at the next barrier, not its whole lag. Row chunks are
 * taken in guided runs (next_units: a quarter of what is left, 16 KiB near the end), so
 * the threads finish within a small chunk of each other at few claims (faster than 64 KiB
 * chunks taken one at a time: README, Performance). Every row is summed by the same kernel
 * whatever the split, so the results do not depend on who took what.
 *
 * Counters: phase s (separated from the next by a barrier) uses row s % 3 of
 * b->claims [3, cap_threads] (one 64-byte line each); during phase s thread 0 zeroes row
 * (s + 2) % 3, last used in phase s − 1 (which the barrier before phase s ended) and next
 * used in phase s + 2 (after the barrier that ends phase s + 1). */
#ifndef ECO_DECODE_CHUNK_BYTES
#define ECO_DECODE_CHUNK_BYTES ((size_t)16 << 10)
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

/* Units of `per` rows in a product of `rows` rows (the last may be short). */
static inline int64_t n_units(int64_t rows, int64_t per) { return (rows + per - 1) / per; }

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

/* The next run of units for this thread, guided: a claim takes a quarter of what is left
 * of the owner's range (at least one unit), so the claims are few while much is left and
 * one unit each near the end, where the threads' finishing times are decided. Claims
 * taken with fetch_add never overlap, whatever size each thread asks for. Returns the
 * first unit and its count through *k, or −1 when none is left. */
static inline int64_t next_units(phase_split *p, int64_t *k) {
    for (; p->tried < p->T; p->tried++) {
        const int owner = (p->id + p->tried) % p->T;
        const int64_t lo = p->n * owner / p->T, hi = p->n * (owner + 1) / p->T;
        atomic_long *ctr = &p->ctr[owner * ECO_CLAIM_STRIDE];
        const int64_t left = hi - lo - atomic_load_explicit(ctr, memory_order_relaxed);
        const int64_t want = left / 4 > 1 ? left / 4 : 1;
        const int64_t j = lo + atomic_fetch_add_explicit(ctr, want, memory_order_relaxed);
        if (j < hi) {
            p->own_end = hi;
            *k = j + want < hi ? want : hi - j;
            return j;
        }
    }
    return -1;
}

/* The rows [*r0, *r1) of this thread's next run of units of `per` rows of an N-row
 * product, and *pf, how far it may prefetch (the end of the owner's range); false when
 * none is left. */
static inline bool next_rows(phase_split *ps, int64_t per, int64_t N, int64_t *r0, int64_t *r1,
                             int64_t *pf) {
    int64_t k = 0;
    const int64_t j = next_units(ps, &k);
    if (j < 0) return false;
    *r0 = j * per;
    *r1 = *r0 + k * per < N ? *r0 + k * per : N;
    *pf = units_rows_end(ps->own_end, 0, N, per);
    return true;
}

/* Before a barrier: prefetch the start of the rows this thread will own in the next
 * phase, units of `per` rows of W [rows, ·] (see phase_split), so that they are on their
 * way while it waits. */
static void prefetch_from(const eco_tensor *W, int64_t rows, int64_t r0) {
    eco_matvec_prefetch_rows(W->data, W->dtype, r0 < rows ? r0 : rows, rows, W->shape[1]);
}

static void prefetch_own(const eco_tensor *W, int64_t rows, int64_t per, int T, int id) {
    prefetch_from(W, rows, n_units(rows, per) * id / T * per);
}

/* The same for the q/k/v phase of layer ly: units are the H query heads, then the KV key
 * heads, then the KV value heads, hd rows each. */
static void prefetch_own_qkv(const eco_layer *ly, int64_t H, int64_t KV, int64_t hd, int T,
                             int id) {
    const int64_t u = (H + 2 * KV) * id / T;
    if (u < H)
        prefetch_from(ly->wq, H * hd, u * hd);
    else if (u < H + KV)
        prefetch_from(ly->wk, KV * hd, (u - H) * hd);
    else
        prefetch_from(ly->wv, KV * hd, (u - H - KV) * hd);
}

/* CPUs this process may run on, asked once (omp_get_num_procs reads the affinity mask, a
 * system call: too slow for every token). */
static int usable_cpus(void) {
    static atomic_int cached = 0;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v == 0) {
        v = omp_get_num_procs();
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v;
}

/* The one-token forward (n == 1) at position p0 = kv->len: b->x holds the embedded token,
 * b->cos_tab/sin_tab the RoPE tables of p0; writes logits[V] and the cache rows at p0.
 * One parallel region for all layers and the head; per layer, each thread norms x into
 * its own copy (no barrier), then claims heads of q, k and v (matvec, bias, adapter, RoPE
 * per head), (barrier) attention partials by (kv head, block of keys: eco_attn_kblock),
 * (barrier) its own merge of the partials into att, chunks of o with their residual add,
 * (barrier) its norm copy, chunks of gate/up with their SwiGLU, (barrier) chunks of down
 * with their residual add, (barrier). Same arithmetic, operation by operation, as the
 * batched path at n == 1, except the softmax of attention, which is taken per block of
 * keys and merged (equal within rounding; the blocks do not depend on the thread count). */
void eco_model_forward_one(eco_model *m, eco_kv_cache *kv, float *logits) {
    const eco_model_config *c = &m->cfg;
    eco_model_buffers *b = &m->buf;
    const int64_t d = c->hidden_size, f = c->intermediate_size, V = c->vocab_size;
    const int64_t H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim;
    const int64_t kvd = KV * hd, group = H / KV, p0 = kv->len, keys = p0 + 1;
    /* the token sees the cached keys eco_layer_first_key(p0, p0)..p0, in blocks of kblock
     * (kfirst, computed in the region, where it folds) */
    const int64_t seen = keys - eco_layer_first_key(p0, p0);
    const int64_t kblock = eco_attn_kblock(seen),
                  nkb = (seen + kblock - 1) / kblock; /* key blocks */
    const float eps = eco_layer_norm_eps(c);
    const float scale = eco_layer_attn_scale(hd);
    const size_t scores_stride = (size_t)b->cap_rows * (size_t)b->cap_keys;
    const int64_t ch_head = chunk_rows(eco_dtype_row_bytes(m->lm_head->dtype, d));
    float *x = b->x, *y = b->xn, *q = b->q;
    float *knew = b->knew, *vnew = b->vnew; /* [kvd] the token's key (after RoPE) and value */
    const eco_dtype kvt = kv->dtype;
    /* byte offset of position `pos` of kv head h in a layer's K or V */
#define kv_at(h, pos) eco_kv_at(kv, (h), (pos), hd, 0)
    for (size_t i = 0; i < (size_t)3 * (size_t)b->cap_threads * ECO_CLAIM_STRIDE; i++)
        atomic_store_explicit(&b->claims[i], 0, memory_order_relaxed);
    const int procs = usable_cpus();
    for (int t = 0; t < b->cap_threads; t++)
        atomic_store_explicit(&b->arrived[t * ECO_BARRIER_STRIDE], 0, memory_order_relaxed);

#pragma omp parallel
    {
        const int id = omp_get_thread_num(), T = omp_get_num_threads();
        float *xt = b->xt + (size_t)id * (size_t)d; /* [d] this thread's normed x */
        /* [min(group, 4)·kblock] of [cap_rows >= 4, cap_keys >= keys] (model_forward.c) */
        float *S = b->scores + (size_t)id * scores_stride;
        float *att = b->att_t + (size_t)id * (size_t)(H * hd); /* [H·hd] this thread's copy */
        float *lt = m->lora ? b->lt + (size_t)id * (size_t)m->lora_rmax : NULL; /* [r] LoRA t */
        float xp_buf[ECO_MATVEC_XP_MAX]; /* x prepared for bf16 weights */
        int64_t s = 0;                   /* phase number, for the work counters */
        long crossed = 0; /* barriers this thread has reached (eco_team_barrier_wait) */
        const long spins = eco_team_barrier_spins(T, procs);
        const int64_t kfirst = eco_layer_first_key(p0, p0); /* the first key the token sees */

        for (int64_t l = 0; l < c->n_layers; l++) {
            const eco_layer *ly = &m->layers[l];
            const eco_lora_w *lw =
                m->lora ? &m->lora[l * ECO_LORA__COUNT] : NULL; /* [COUNT] or NULL */
            char *kc = eco_kv_layer(kv, kv->k, l);              /* [KV, max_seq, hd] of kvt */
            char *vc = eco_kv_layer(kv, kv->v, l);
            /* rows per unit of o, gate/up (both read per unit), down */
            const int64_t ch_o = chunk_rows(eco_dtype_row_bytes(ly->wo->dtype, H * hd));
            const int64_t ch_gu = chunk_rows(eco_dtype_row_bytes(ly->wg->dtype, d) +
                                             eco_dtype_row_bytes(ly->wu->dtype, d));
            const int64_t ch_d = chunk_rows(eco_dtype_row_bytes(ly->wd->dtype, f));

            /* attention block: q [H·hd], knew and vnew [kvd], one head a unit; with q, k
             * and v fused, q's and k's prefetch runs on into the rows that follow them */
            const int64_t q_pf_rows = ly->qkv_fused ? H * hd + 2 * kvd : H * hd;
            const int64_t k_pf_rows = ly->qkv_fused ? 2 * kvd : kvd;
            eco_layer_norm(xt, x, ly->attn_norm, d, eps);
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
                        eco_layer_rope(q + r0, b->cos_tab, b->sin_tab, 1, hd);
                    } else if (j < H + KV) {
                        const int64_t r0 = (j - H) * hd, r1 = r0 + hd;
                        eco_matvec_rows(knew, ly->wk->data, ly->wk->dtype, xt, xp, r0, r1,
                                        units_rows_end(ps.own_end, H, k_pf_rows, hd), d);
                        add_bias_rows(knew, ly->bk, r0, r1);
                        if (lw) lora_add_one(knew, xt, &lw[ECO_LORA_K], d, r0, r1, lt);
                        eco_layer_rope(knew + r0, b->cos_tab, b->sin_tab, 1, hd);
                        eco_kv_store(kc + kv_at(j - H, p0), kvt, knew + r0, hd);
                    } else {
                        const int64_t r0 = (j - H - KV) * hd, r1 = r0 + hd;
                        eco_matvec_rows(vnew, ly->wv->data, ly->wv->dtype, xt, xp, r0, r1,
                                        units_rows_end(ps.own_end, H + KV, kvd, hd), d);
                        add_bias_rows(vnew, ly->bv, r0, r1);
                        if (lw) lora_add_one(vnew, xt, &lw[ECO_LORA_V], d, r0, r1, lt);
                        eco_kv_store(vc + kv_at(j - H - KV, p0), kvt, vnew + r0, hd);
                    }
                }
            }
            { /* the keys and values of this thread's first attention unit (see phase_split):
               * the cache rows come from memory, a measurable share of the attention phase */
                const int64_t j = KV * nkb * id / T, kvh = j / nkb, k0 = kfirst + j % nkb * kblock;
                const size_t at = kv_at(kvh, k0);
                if (j < KV * nkb)
                    eco_attend_prefetch(kc + at, vc + at, kvt, hd,
                                        keys - k0 < kblock ? keys - k0 : kblock, hd);
            }
            eco_team_barrier_wait(b->arrived, id, T, &crossed, spins);
            { /* partials of (kv head, block of keys), the group's query heads each; units in
                 * kv-head order, so a thread reads each head's K and V rows as one stream
                 * (faster than block order: README, Performance) */
                phase_split ps = phase_begin(b->claims, s++, T, id, KV * nkb);
                for (int64_t j; (j = next_unit(&ps)) >= 0;) {
                    const int64_t kvh = j / nkb, blk = j % nkb, k0 = kfirst + blk * kblock;
                    const int64_t nk = keys - k0 < kblock ? keys - k0 : kblock;
                    const char *K = kc + kv_at(kvh, k0), *Vv = vc + kv_at(kvh, k0);
                    if (j + 1 < ps.own_end) { /* this thread's next unit, most likely */
                        const int64_t kvh1 = (j + 1) / nkb, k1 = kfirst + (j + 1) % nkb * kblock;
                        eco_attend_prefetch(kc + kv_at(kvh1, k1), vc + kv_at(kvh1, k1), kvt, hd,
                                            keys - k1 < kblock ? keys - k1 : kblock, hd);
                    }
                    const int64_t h0 = kvh * group; /* the group's query heads, together */
                    eco_attend_part_group(b->part_o + (blk * H + h0) * hd,
                                          b->part_ml + (blk * H + h0) * 2, q + h0 * hd, K, Vv, kvt,
                                          hd, nk, hd, group, scale, S);
                }
            }
            prefetch_own(ly->wo, d, ch_o, T, id);
            eco_team_barrier_wait(b->arrived, id, T, &crossed, spins);
            for (int64_t h = 0; h < H; h++) /* every thread merges its own copy of att */
                eco_attend_merge(att + h * hd, b->part_o + h * hd, b->part_ml + 2 * h,
                                 b->part_ml + 2 * h + 1, nkb, H * hd, 2 * H, hd);
            { /* y = Wo · att (+ bo); x += y, chunk by chunk */
                const float *xp = eco_matvec_prep_bf16(xp_buf, att, H * hd);
                const int64_t ch = ch_o;
                phase_split ps = phase_begin(b->claims, s++, T, id, n_units(d, ch));
                for (int64_t r0, r1, pf; next_rows(&ps, ch, d, &r0, &r1, &pf);) {
                    eco_matvec_rows(y, ly->wo->data, ly->wo->dtype, att, xp, r0, r1, pf, H * hd);
                    add_bias_rows(y, ly->bo, r0, r1);
                    if (lw) lora_add_one(y, att, &lw[ECO_LORA_O], H * hd, r0, r1, lt);
                    eco_add_inplace(x + r0, y + r0, r1 - r0);
                }
            }
            prefetch_own(ly->wg, f, ch_gu, T, id);
            prefetch_own(ly->wu, f, ch_gu, T, id);
            eco_team_barrier_wait(b->arrived, id, T, &crossed, spins);

            /* MLP block: gate, up, hid [f] */
            eco_layer_norm(xt, x, ly->ffn_norm, d, eps);
            {
                const float *xp = eco_matvec_prep_bf16(xp_buf, xt, d);
                const int64_t ch = ch_gu;
                phase_split ps = phase_begin(b->claims, s++, T, id, n_units(f, ch));
                for (int64_t r0, r1, pf; next_rows(&ps, ch, f, &r0, &r1, &pf);) {
                    eco_matvec_rows(b->gate, ly->wg->data, ly->wg->dtype, xt, xp, r0, r1, pf, d);
                    eco_matvec_rows(b->up, ly->wu->data, ly->wu->dtype, xt, xp, r0, r1, pf, d);
                    if (lw) {
                        lora_add_one(b->gate, xt, &lw[ECO_LORA_GATE], d, r0, r1, lt);
                        lora_add_one(b->up, xt, &lw[ECO_LORA_UP], d, r0, r1, lt);
                    }
                    eco_layer_mlp_act(b->hid + r0, b->gate + r0, b->up + r0, r1 - r0);
                }
            }
            prefetch_own(ly->wd, d, ch_d, T, id);
            eco_team_barrier_wait(b->arrived, id, T, &crossed, spins);
            {
                const float *xp = eco_matvec_prep_bf16(xp_buf, b->hid, f);
                const int64_t ch = ch_d;
                phase_split ps = phase_begin(b->claims, s++, T, id, n_units(d, ch));
                for (int64_t r0, r1, pf; next_rows(&ps, ch, d, &r0, &r1, &pf);) {
                    eco_matvec_rows(y, ly->wd->data, ly->wd->dtype, b->hid, xp, r0, r1, pf, f);
                    if (lw) lora_add_one(y, b->hid, &lw[ECO_LORA_DOWN], f, r0, r1, lt);
                    eco_add_inplace(x + r0, y + r0, r1 - r0);
                }
            }
            if (l + 1 < c->n_layers)
                prefetch_own_qkv(&m->layers[l + 1], H, KV, hd, T, id);
            else
                prefetch_own(m->lm_head, V, ch_head, T, id);
            eco_team_barrier_wait(b->arrived, id, T, &crossed, spins);
        }

        /* logits [V] = lm_head · RMSNorm(x) */
        eco_layer_norm(xt, x, m->final_norm, d, eps);
        {
            const float *xp = eco_matvec_prep_bf16(xp_buf, xt, d);
            const int64_t ch = ch_head;
            phase_split ps = phase_begin(b->claims, s++, T, id, n_units(V, ch));
            for (int64_t r0, r1, pf; next_rows(&ps, ch, V, &r0, &r1, &pf);)
                eco_matvec_rows(logits, m->lm_head->data, m->lm_head->dtype, xt, xp, r0, r1, pf, d);
        }
    }
#undef kv_at
}
