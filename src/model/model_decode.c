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
 * Several sequences (rows) decode together in one pass (eco_model_decode_batch): every
 * phase's units are the same, and each unit runs its weight rows for every row of the
 * batch, so the weights are read from memory once per step.
 *
 * A row's LoRA adapter adds y += s·B·(A·x) per unit: every thread computes the whole
 * t = A·x once per phase for each row (r dot products of length `in`, a few thousand MACs,
 * into its own slice of b->lt) and then each unit's rows of y += s·B·t, so no barrier is
 * added; the input x is complete wherever that runs (the thread's own normed copy for
 * q/k/v/gate/up, att and hid after the barriers that already precede o and down).
 */
#include "model/model_internal.h"
#include "tensor/matvec_internal.h"

#include <math.h>
#include <omp.h>
#include <stdatomic.h>

/* A dot product of n floats summed in a fixed order (eight running sums, lane k taking
 * elements k, k+8, ..., added pairwise at the end, then the tail): the same bits wherever
 * and for whichever rows it is called, which a BLAS sgemv does not promise across splits. */
static inline float dot_fixed(const float *a, const float *v, int64_t n) {
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) acc[k] += a[i + k] * v[i + k];
    float tail = 0.0f;
    for (; i < n; i++) tail += a[i] * v[i];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

/* LoRA of one module for one token: t[r] = A[r, in]·x[in], computed whole by every thread
 * that needs it (tiny) so that no barrier is added. */
static void lora_t(float *t, const eco_lora_w *lw, const float *x, int64_t in) {
    for (int64_t j = 0; j < lw->r; j++) t[j] = dot_fixed(lw->A + j * in, x, in);
}

/* ... and rows [r0, r1) of y += s·B[·, r]·t, the unit's share. */
static void lora_rows(float *y, const eco_lora_w *lw, const float *t, int64_t r0, int64_t r1) {
    const int64_t r = lw->r;
    for (int64_t i = r0; i < r1; i++) y[i] += lw->scale * dot_fixed(lw->B + i * r, t, r);
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

/* The row of a decode batch that attention unit j belongs to (units of row i start at
 * meta[i].unit0, in row order). */
static int64_t unit_row(const eco_decode_meta *meta, int64_t B, int64_t j) {
    int64_t lo = 0, hi = B - 1;
    while (lo < hi) {
        const int64_t mid = (lo + hi + 1) / 2;
        if (meta[mid].unit0 <= j)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Rows [r0, r1) of each row's product, one block of weight rows (ECO_DECODE_BATCH_UNITS
 * units) at a time for all rows, so a block is read from memory once and from cache for
 * the other rows (one row: the whole run in one call, the kernel streaming it). Blocks much
 * smaller than that cost more in calls than they save. */
#ifndef ECO_DECODE_BATCH_UNITS
#define ECO_DECODE_BATCH_UNITS 8 /* units a block: a few hundred KiB, well inside L2 */
#endif
static inline int64_t block_end(int64_t s0, int64_t r1, int64_t per, int64_t B) {
    const int64_t rows = per * ECO_DECODE_BATCH_UNITS;
    return B == 1 || s0 + rows > r1 ? r1 : s0 + rows;
}
#define FOR_BLOCKS(r0, r1, per, B, s0, s1, warm)                                                   \
    for (int64_t s0 = (r0), s1 = block_end(s0, (r1), (per), (B)); s0 < (r1) && ((warm), true);     \
         s0 = s1, s1 = block_end(s0, (r1), (per), (B)))

/* With several rows, rows [r0, r1) of W are brought into every cache level before the
 * first row's product (the kernels' own prefetches are non-temporal, right for one pass
 * and wrong for several: the other rows would read the block from memory again), and the
 * kernels prefetch nothing past the block. One row: nothing. */
static void warm_rows(const eco_tensor *W, int64_t r0, int64_t r1, int64_t B) {
    if (B == 1) return;
    const size_t row = eco_dtype_row_bytes(W->dtype, W->shape[1]);
    const char *p = (const char *)W->data + (size_t)r0 * row;
    const size_t bytes = (size_t)(r1 - r0) * row;
    for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o, 0, 3);
}

/* The one-token forward of B rows, row i at position p0_i = rows[i].kv->len: b->x row i
 * holds its embedded token, b->cos_tab/sin_tab row i the RoPE tables of p0_i; writes each
 * row's logits and its cache rows at p0_i. One parallel region for all layers and the head;
 * per layer, each thread norms every row's x into its own copies (no barrier) and computes
 * each row's LoRA t = A·x for q, k and v, then claims heads of q, k and v (for every row:
 * matvec, bias, adapter, RoPE per head), (barrier) attention partials by (row, kv head,
 * block of keys: eco_attn_kblock), (barrier) its own merge of every row's partials into
 * its att copies, chunks of o with their residual add, (barrier) its norm copies, chunks
 * of gate/up with their SwiGLU, (barrier) chunks of down with their residual add,
 * (barrier). Within a unit the rows take each block of weight rows in turn (FOR_BLOCKS),
 * rows of one adapter next to each other, so that its B rows are read once per unit. Every
 * row's arithmetic is the same, operation by operation, whatever the other rows and
 * whatever the split of units (the kernels sum each output row alone), so a row's results
 * are those of a step of that row alone. Same arithmetic as the batched path at n == 1,
 * except the softmax of attention, which is taken per block of keys and merged (equal
 * within rounding; the blocks do not depend on the thread count), and the adapter's
 * products (lora_t, lora_rows: fixed-order sums; the batched path uses sgemm). */
void eco_model_decode_rows(eco_model *m, const eco_decode_slot *rows, int64_t B) {
    const eco_model_config *c = &m->cfg;
    eco_model_buffers *b = &m->buf;
    const int64_t d = c->hidden_size, f = c->intermediate_size, V = c->vocab_size;
    const int64_t H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim, half = hd / 2;
    const int64_t qd = H * hd, kvd = KV * hd, group = H / KV;
    const float eps = eco_layer_norm_eps(c);
    const float scale = eco_layer_attn_scale(hd);
    const size_t scores_stride = (size_t)b->cap_rows * (size_t)b->cap_keys;
    const int64_t ch_head = chunk_rows(eco_dtype_row_bytes(m->lm_head->dtype, d));
    const int64_t cap_b = b->cap_b, ckb = b->cap_kblocks;
    float *x = b->x, *y = b->xn, *q = b->q;
    float *knew = b->knew, *vnew = b->vnew; /* [B, kvd] each row's key (after RoPE), value */
    eco_decode_meta *meta = b->meta;
    int64_t n_att = 0, rmax = 0; /* attention units of all rows; LoRA t stride */
    bool any_lora = false;
    for (int64_t i = 0; i < B; i++) {
        const int64_t p0 = rows[i].kv->len;
        /* the token sees the cached keys eco_layer_first_key(p0, p0)..p0, in blocks */
        const int64_t kfirst = eco_layer_first_key(p0, p0), seen = p0 + 1 - kfirst;
        const int64_t kblock = eco_attn_kblock(seen);
        meta[i] = (eco_decode_meta){p0, kfirst, kblock, (seen + kblock - 1) / kblock, n_att};
        n_att += KV * meta[i].nkb;
        if (rows[i].lw) any_lora = true;
        if (rows[i].rmax > rmax) rmax = rows[i].rmax;
    }
    const size_t lt_row = (size_t)ECO_LORA__COUNT * (size_t)rmax; /* floats of a row's t */
    for (size_t i = 0; i < (size_t)3 * (size_t)b->cap_threads * ECO_CLAIM_STRIDE; i++)
        atomic_store_explicit(&b->claims[i], 0, memory_order_relaxed);
    const int procs = usable_cpus();
    for (int t = 0; t < b->cap_threads; t++)
        atomic_store_explicit(&b->arrived[t * ECO_BARRIER_STRIDE], 0, memory_order_relaxed);

#pragma omp parallel
    {
        const int id = omp_get_thread_num(), T = omp_get_num_threads();
        /* row i's [d] normed x, [qd] merged attention, prepared input, LoRA t's */
        float *xt0 = b->xt + (size_t)id * (size_t)cap_b * (size_t)d;
        float *att0 = b->att_t + (size_t)id * (size_t)cap_b * (size_t)qd;
        float *xp0 = b->xp + (size_t)id * (size_t)cap_b * ECO_MATVEC_XP_MAX;
        float *lt0 = any_lora ? b->lt + (size_t)id * (size_t)cap_b * lt_row : NULL;
#define XT(i)    (xt0 + (size_t)(i) * (size_t)d)
#define ATT(i)   (att0 + (size_t)(i) * (size_t)qd)
#define XPB(i)   (xp0 + (size_t)(i)*ECO_MATVEC_XP_MAX)
#define LT(i, t) (lt0 + (size_t)(i)*lt_row + (size_t)(t) * (size_t)rmax)
#define LW(i, l) (rows[i].lw ? &rows[i].lw[(l)*ECO_LORA__COUNT] : NULL)
        /* [min(group, 4)·kblock] of [cap_rows >= 4, cap_keys >= keys] (model_forward.c) */
        float *S = b->scores + (size_t)id * scores_stride;
        bool prep = false; /* the kernels take prepared inputs (XPB) for bf16 weights */
        int64_t s = 0;     /* phase number, for the work counters */
        long crossed = 0;  /* barriers this thread has reached (eco_team_barrier_wait) */
        const long spins = eco_team_barrier_spins(T, procs);
        /* every row's input v(i) [K] prepared for the kernels */
#define PREP_ALL(v, K)                                                                             \
    for (int64_t i_ = 0; i_ < B; i_++) prep = eco_matvec_prep_bf16(XPB(i_), (v), (K)) != NULL
#define XP(i) (prep ? XPB(i) : NULL)
        /* rows [s0, s1) of W·in(i) into out(i) for every row i of the batch, four rows of the
         * batch per pass over the weights (eco_matvec_rows4); one row: eco_matvec_rows,
         * streaming and prefetching up to pf */
#define MATVEC_ALL(W, OUT, IN, s0, s1, pf, K)                                                      \
    do {                                                                                           \
        if (B == 1) {                                                                              \
            const int64_t i = 0;                                                                   \
            eco_matvec_rows((OUT), (W)->data, (W)->dtype, (IN), XP(i), (s0), (s1), (pf), (K));     \
            break;                                                                                 \
        }                                                                                          \
        for (int64_t i0_ = 0; i0_ < B; i0_ += 4) {                                                 \
            float *ys_[4];                                                                         \
            const float *xs_[4], *xps_[4];                                                         \
            const int nv_ = B - i0_ < 4 ? (int)(B - i0_) : 4;                                      \
            for (int v_ = 0; v_ < nv_; v_++) {                                                     \
                const int64_t i = i0_ + v_;                                                        \
                ys_[v_] = (OUT);                                                                   \
                xs_[v_] = (IN);                                                                    \
                xps_[v_] = XP(i);                                                                  \
            }                                                                                      \
            eco_matvec_rows4(ys_, (W)->data, (W)->dtype, xs_, xps_, nv_, (s0), (s1), (K));         \
        }                                                                                          \
    } while (0)

        for (int64_t l = 0; l < c->n_layers; l++) {
            const eco_layer *ly = &m->layers[l];
            /* rows per unit of o, gate/up (both read per unit), down */
            const int64_t ch_o = chunk_rows(eco_dtype_row_bytes(ly->wo->dtype, qd));
            const int64_t ch_gu = chunk_rows(eco_dtype_row_bytes(ly->wg->dtype, d) +
                                             eco_dtype_row_bytes(ly->wu->dtype, d));
            const int64_t ch_d = chunk_rows(eco_dtype_row_bytes(ly->wd->dtype, f));

            /* attention block: q [H·hd], knew and vnew [kvd] of each row, one head a unit;
             * with q, k and v fused, q's and k's prefetch runs on into the rows that follow */
            const int64_t q_pf_rows = ly->qkv_fused ? qd + 2 * kvd : qd;
            const int64_t k_pf_rows = ly->qkv_fused ? 2 * kvd : kvd;
            for (int64_t i = 0; i < B; i++) {
                eco_layer_norm(XT(i), x + i * d, ly->attn_norm, d, eps);
                const eco_lora_w *lw = LW(i, l);
                if (lw)
                    for (int t = ECO_LORA_Q; t <= ECO_LORA_V; t++)
                        if (lw[t].A) lora_t(LT(i, t), &lw[t], XT(i), d);
            }
            PREP_ALL(XT(i_), d);
            {
                phase_split ps = phase_begin(b->claims, s++, T, id, H + 2 * KV);
                for (int64_t j; (j = next_unit(&ps)) >= 0;) {
                    const eco_tensor *wj = j < H ? ly->wq : j < H + KV ? ly->wk : ly->wv;
                    const int64_t j0 = j < H ? j : j < H + KV ? j - H : j - H - KV;
                    warm_rows(wj, j0 * hd, (j0 + 1) * hd, B);
                    if (j < H)
                        MATVEC_ALL(ly->wq, q + i * qd, XT(i), j0 * hd, (j0 + 1) * hd,
                                   units_rows_end(ps.own_end, 0, q_pf_rows, hd), d);
                    else if (j < H + KV)
                        MATVEC_ALL(ly->wk, knew + i * kvd, XT(i), j0 * hd, (j0 + 1) * hd,
                                   units_rows_end(ps.own_end, H, k_pf_rows, hd), d);
                    else
                        MATVEC_ALL(ly->wv, vnew + i * kvd, XT(i), j0 * hd, (j0 + 1) * hd,
                                   units_rows_end(ps.own_end, H + KV, kvd, hd), d);
                    for (int64_t i = 0; i < B; i++) {
                        const eco_lora_w *lw = LW(i, l);
                        const eco_kv_cache *kv = rows[i].kv;
                        const float *ct = b->cos_tab + i * half, *st = b->sin_tab + i * half;
                        float *qi = q + i * qd, *ki = knew + i * kvd, *vi = vnew + i * kvd;
                        const int64_t p0 = meta[i].p0;
                        if (j < H) {
                            const int64_t r0 = j * hd, r1 = r0 + hd;
                            add_bias_rows(qi, ly->bq, r0, r1);
                            if (lw && lw[ECO_LORA_Q].A)
                                lora_rows(qi, &lw[ECO_LORA_Q], LT(i, ECO_LORA_Q), r0, r1);
                            eco_layer_rope(qi + r0, ct, st, 1, hd);
                        } else if (j < H + KV) {
                            const int64_t r0 = (j - H) * hd, r1 = r0 + hd;
                            add_bias_rows(ki, ly->bk, r0, r1);
                            if (lw && lw[ECO_LORA_K].A)
                                lora_rows(ki, &lw[ECO_LORA_K], LT(i, ECO_LORA_K), r0, r1);
                            eco_layer_rope(ki + r0, ct, st, 1, hd);
                            eco_kv_store(eco_kv_layer(kv, kv->k, l) +
                                             eco_kv_at(kv, j - H, p0, hd, 0),
                                         kv->dtype, ki + r0, hd);
                        } else {
                            const int64_t r0 = (j - H - KV) * hd, r1 = r0 + hd;
                            add_bias_rows(vi, ly->bv, r0, r1);
                            if (lw && lw[ECO_LORA_V].A)
                                lora_rows(vi, &lw[ECO_LORA_V], LT(i, ECO_LORA_V), r0, r1);
                            eco_kv_store(eco_kv_layer(kv, kv->v, l) +
                                             eco_kv_at(kv, j - H - KV, p0, hd, 0),
                                         kv->dtype, vi + r0, hd);
                        }
                    }
                }
            }
            { /* the keys and values of this thread's first attention unit (see phase_split):
               * the cache rows come from memory, a measurable share of the attention phase */
                const int64_t j = n_att * id / T;
                if (j < n_att) {
                    const int64_t i = unit_row(meta, B, j), u = j - meta[i].unit0;
                    const eco_kv_cache *kv = rows[i].kv;
                    const int64_t kvh = u / meta[i].nkb,
                                  k0 = meta[i].kfirst + u % meta[i].nkb * meta[i].kblock;
                    const size_t at = eco_kv_at(kv, kvh, k0, hd, 0);
                    const int64_t keys = meta[i].p0 + 1;
                    eco_attend_prefetch(
                        eco_kv_layer(kv, kv->k, l) + at, eco_kv_layer(kv, kv->v, l) + at, kv->dtype,
                        hd, keys - k0 < meta[i].kblock ? keys - k0 : meta[i].kblock, hd);
                }
            }
            eco_team_barrier_wait(b->arrived, id, T, &crossed, spins);
            { /* partials of (row, kv head, block of keys), the group's query heads each;
                 * units in kv-head order within a row, so a thread reads each head's K and V
                 * rows as one stream (faster than block order: README, Performance) */
                phase_split ps = phase_begin(b->claims, s++, T, id, n_att);
                for (int64_t j; (j = next_unit(&ps)) >= 0;) {
                    const int64_t i = unit_row(meta, B, j), u = j - meta[i].unit0;
                    const eco_decode_meta *mi = &meta[i];
                    const eco_kv_cache *kv = rows[i].kv;
                    const char *kc = eco_kv_layer(kv, kv->k, l), *vc = eco_kv_layer(kv, kv->v, l);
                    const int64_t keys = mi->p0 + 1;
                    const int64_t kvh = u / mi->nkb, blk = u % mi->nkb,
                                  k0 = mi->kfirst + blk * mi->kblock;
                    const int64_t nk = keys - k0 < mi->kblock ? keys - k0 : mi->kblock;
                    if (j + 1 < ps.own_end && u + 1 < KV * mi->nkb) { /* most likely next */
                        const int64_t kvh1 = (u + 1) / mi->nkb,
                                      k1 = mi->kfirst + (u + 1) % mi->nkb * mi->kblock;
                        const size_t at1 = eco_kv_at(kv, kvh1, k1, hd, 0);
                        eco_attend_prefetch(kc + at1, vc + at1, kv->dtype, hd,
                                            keys - k1 < mi->kblock ? keys - k1 : mi->kblock, hd);
                    }
                    const size_t at = eco_kv_at(kv, kvh, k0, hd, 0);
                    const int64_t h0 = kvh * group; /* the group's query heads, together */
                    eco_attend_part_group(
                        b->part_o + ((size_t)i * (size_t)ckb + (size_t)blk) * (size_t)qd +
                            (size_t)(h0 * hd),
                        b->part_ml + ((size_t)i * (size_t)ckb + (size_t)blk) * (size_t)(2 * H) +
                            (size_t)(h0 * 2),
                        q + i * qd + h0 * hd, kc + at, vc + at, kv->dtype, hd, nk, hd, group, scale,
                        S);
                }
            }
            prefetch_own(ly->wo, d, ch_o, T, id);
            eco_team_barrier_wait(b->arrived, id, T, &crossed, spins);
            for (int64_t i = 0; i < B; i++) { /* every thread merges its own copies of att */
                const float *po = b->part_o + (size_t)i * (size_t)ckb * (size_t)qd;
                const float *pml = b->part_ml + (size_t)i * (size_t)ckb * (size_t)(2 * H);
                for (int64_t h = 0; h < H; h++)
                    eco_attend_merge(ATT(i) + h * hd, po + h * hd, pml + 2 * h, pml + 2 * h + 1,
                                     meta[i].nkb, qd, 2 * H, hd);
                const eco_lora_w *lw = LW(i, l);
                if (lw && lw[ECO_LORA_O].A) lora_t(LT(i, ECO_LORA_O), &lw[ECO_LORA_O], ATT(i), qd);
            }
            PREP_ALL(ATT(i_), qd);
            { /* y = Wo · att (+ bo); x += y, chunk by chunk */
                const int64_t ch = ch_o;
                phase_split ps = phase_begin(b->claims, s++, T, id, n_units(d, ch));
                for (int64_t r0, r1, pf; next_rows(&ps, ch, d, &r0, &r1, &pf);)
                    FOR_BLOCKS(r0, r1, ch, B, s0, s1, warm_rows(ly->wo, s0, s1, B)) {
                        MATVEC_ALL(ly->wo, y + i * d, ATT(i), s0, s1, pf, qd);
                        for (int64_t i = 0; i < B; i++) {
                            float *yi = y + i * d;
                            const eco_lora_w *lw = LW(i, l);
                            add_bias_rows(yi, ly->bo, s0, s1);
                            if (lw && lw[ECO_LORA_O].A)
                                lora_rows(yi, &lw[ECO_LORA_O], LT(i, ECO_LORA_O), s0, s1);
                            eco_add_inplace(x + i * d + s0, yi + s0, s1 - s0);
                        }
                    }
            }
            prefetch_own(ly->wg, f, ch_gu, T, id);
            prefetch_own(ly->wu, f, ch_gu, T, id);
            eco_team_barrier_wait(b->arrived, id, T, &crossed, spins);

            /* MLP block: gate, up, hid [f] of each row */
            for (int64_t i = 0; i < B; i++) {
                eco_layer_norm(XT(i), x + i * d, ly->ffn_norm, d, eps);
                const eco_lora_w *lw = LW(i, l);
                if (lw)
                    for (int t = ECO_LORA_GATE; t <= ECO_LORA_UP; t++)
                        if (lw[t].A) lora_t(LT(i, t), &lw[t], XT(i), d);
            }
            PREP_ALL(XT(i_), d);
            {
                const int64_t ch = ch_gu;
                phase_split ps = phase_begin(b->claims, s++, T, id, n_units(f, ch));
                for (int64_t r0, r1, pf; next_rows(&ps, ch, f, &r0, &r1, &pf);)
                    FOR_BLOCKS(r0, r1, ch, B, s0, s1,
                               (warm_rows(ly->wg, s0, s1, B), warm_rows(ly->wu, s0, s1, B))) {
                        MATVEC_ALL(ly->wg, b->gate + i * f, XT(i), s0, s1, pf, d);
                        MATVEC_ALL(ly->wu, b->up + i * f, XT(i), s0, s1, pf, d);
                        for (int64_t i = 0; i < B; i++) {
                            float *gi = b->gate + i * f, *ui = b->up + i * f;
                            const eco_lora_w *lw = LW(i, l);
                            if (lw && lw[ECO_LORA_GATE].A)
                                lora_rows(gi, &lw[ECO_LORA_GATE], LT(i, ECO_LORA_GATE), s0, s1);
                            if (lw && lw[ECO_LORA_UP].A)
                                lora_rows(ui, &lw[ECO_LORA_UP], LT(i, ECO_LORA_UP), s0, s1);
                            eco_layer_mlp_act(b->hid + i * f + s0, gi + s0, ui + s0, s1 - s0);
                        }
                    }
            }
            prefetch_own(ly->wd, d, ch_d, T, id);
            eco_team_barrier_wait(b->arrived, id, T, &crossed, spins);
            for (int64_t i = 0; i < B; i++) {
                const eco_lora_w *lw = LW(i, l);
                if (lw && lw[ECO_LORA_DOWN].A)
                    lora_t(LT(i, ECO_LORA_DOWN), &lw[ECO_LORA_DOWN], b->hid + i * f, f);
            }
            PREP_ALL(b->hid + i_ * f, f);
            {
                const int64_t ch = ch_d;
                phase_split ps = phase_begin(b->claims, s++, T, id, n_units(d, ch));
                for (int64_t r0, r1, pf; next_rows(&ps, ch, d, &r0, &r1, &pf);)
                    FOR_BLOCKS(r0, r1, ch, B, s0, s1, warm_rows(ly->wd, s0, s1, B)) {
                        MATVEC_ALL(ly->wd, y + i * d, b->hid + i * f, s0, s1, pf, f);
                        for (int64_t i = 0; i < B; i++) {
                            float *yi = y + i * d;
                            const eco_lora_w *lw = LW(i, l);
                            if (lw && lw[ECO_LORA_DOWN].A)
                                lora_rows(yi, &lw[ECO_LORA_DOWN], LT(i, ECO_LORA_DOWN), s0, s1);
                            eco_add_inplace(x + i * d + s0, yi + s0, s1 - s0);
                        }
                    }
            }
            if (l + 1 < c->n_layers)
                prefetch_own_qkv(&m->layers[l + 1], H, KV, hd, T, id);
            else
                prefetch_own(m->lm_head, V, ch_head, T, id);
            eco_team_barrier_wait(b->arrived, id, T, &crossed, spins);
        }

        /* logits [V] of each row = lm_head · RMSNorm(x) */
        for (int64_t i = 0; i < B; i++) eco_layer_norm(XT(i), x + i * d, m->final_norm, d, eps);
        PREP_ALL(XT(i_), d);
        {
            const int64_t ch = ch_head;
            phase_split ps = phase_begin(b->claims, s++, T, id, n_units(V, ch));
            for (int64_t r0, r1, pf; next_rows(&ps, ch, V, &r0, &r1, &pf);)
                FOR_BLOCKS(r0, r1, ch, B, s0, s1, warm_rows(m->lm_head, s0, s1, B))
            MATVEC_ALL(m->lm_head, rows[i].logits, XT(i), s0, s1, pf, d);
        }
#undef XT
#undef ATT
#undef XPB
#undef LT
#undef LW
#undef PREP_ALL
#undef XP
#undef MATVEC_ALL
    }
}
