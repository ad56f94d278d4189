/*
 * The training forward and backward: llm.c-style <layer>_forward / <layer>_backward pairs
 * over N = B·T rows, every product through cblas_sgemm.
 *
 * Kernels take outputs first, inputs next, sizes last. Backward kernels ADD into their
 * input gradients (dx, dW, db), so contributions from several consumers (q, k, v all read
 * the normed input) accumulate without extra buffers; the caller zeroes what must start at
 * zero. Reductions over rows (norm-weight and bias gradients, embedding gradients, the loss)
 * run in a fixed order that does not depend on the thread count: parallel over columns,
 * sequential over rows.
 */
#include "train/train_internal.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#define COLBLOCK 64

/* ---- dropout ------------------------------------------------------------------------ */

static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Counter-based: element i of module `mod` in forward `counter` keeps with probability 1−p. */
bool eco_train_dropout_keep(uint64_t seed, uint64_t counter, uint64_t mod, uint64_t i, double p) {
    uint64_t key = mix64(seed ^ 0x9e3779b97f4a7c15ULL);
    key = mix64(key ^ (counter * 0xd1b54a32d192ed03ULL));
    key = mix64(key ^ (mod * 0x8cb92ba72f3d8dd7ULL));
    uint64_t z = mix64(key + (i + 1) * 0x9e3779b97f4a7c15ULL);
    double u = (double)(z >> 11) * 0x1.0p-53;
    return u >= p;
}

/* ---- small kernels ------------------------------------------------------------------- */

/* db[OC] += Σ_rows dy[N, OC] (column blocks in parallel, rows in order). */
static void colsum_add(float *db, const float *dy, int64_t N, int64_t OC) {
    const int64_t nb = (OC + COLBLOCK - 1) / COLBLOCK;
#pragma omp parallel for schedule(static) if (N * OC >= (1 << 15))
    for (int64_t blk = 0; blk < nb; blk++) {
        const int64_t j0 = blk * COLBLOCK, j1 = j0 + COLBLOCK < OC ? j0 + COLBLOCK : OC;
        for (int64_t i = 0; i < N; i++) {
            const float *row = dy + i * OC;
            for (int64_t j = j0; j < j1; j++) db[j] += row[j];
        }
    }
}

/* out[N, d] = x·rstd·w, rstd[N] = 1/√(mean(x²)+eps) */
static void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, int64_t N,
                            int64_t d, float eps) {
#pragma omp parallel for schedule(static) if (N * d >= (1 << 14))
    for (int64_t i = 0; i < N; i++) {
        const float *xi = x + i * d;
        eco_layer_norm(out + i * d, xi, w, d, eps);
        float ss = 0.f;
        for (int64_t j = 0; j < d; j++) ss += xi[j] * xi[j];
        rstd[i] = 1.0f / sqrtf(ss / (float)d + eps);
    }
}

/* dx[N, d] += ∂/∂x, dw[d] += ∂/∂w (dw may be NULL) of out = x·rstd·w, given dout[N, d]. */
static void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x,
                             const float *rstd, const float *w, int64_t N, int64_t d) {
#pragma omp parallel for schedule(static) if (N * d >= (1 << 14))
    for (int64_t i = 0; i < N; i++) {
        const float *dy = dout + i * d, *xi = x + i * d;
        float *dxi = dx + i * d;
        const float r = rstd[i];
        float dot = 0.f;
        for (int64_t j = 0; j < d; j++) dot += dy[j] * w[j] * xi[j];
        const float c = r * r * r * dot / (float)d;
        for (int64_t j = 0; j < d; j++) dxi[j] += r * dy[j] * w[j] - xi[j] * c;
    }
    if (!dw) return;
    const int64_t nb = (d + COLBLOCK - 1) / COLBLOCK;
#pragma omp parallel for schedule(static) if (N * d >= (1 << 15))
    for (int64_t blk = 0; blk < nb; blk++) {
        const int64_t j0 = blk * COLBLOCK, j1 = j0 + COLBLOCK < d ? j0 + COLBLOCK : d;
        for (int64_t i = 0; i < N; i++) {
            const float *dy = dout + i * d, *xi = x + i * d;
            const float r = rstd[i];
            for (int64_t j = j0; j < j1; j++) dw[j] += dy[j] * xi[j] * r;
        }
    }
}

/* Position of row i of a [B, T] batch: pos[i] when given, else i % T. */
static inline int64_t position_of(const int32_t *pos, int64_t i, int64_t T) {
    return pos ? pos[i] : i % T;
}

/* RoPE (eco_layer_rope_dir) on x[N, nh·hd] in place; row i is at position_of(pos, i, T).
 * inverse: rotate back (the transpose of the rotation), which is the backward. */
static void rope_apply(float *x, const float *cos_tab, const float *sin_tab, const int32_t *pos,
                       int64_t N, int64_t T, int64_t nh, int64_t hd, bool inverse) {
    const int64_t half = hd / 2;
#pragma omp parallel for schedule(static) if (N * nh * hd >= (1 << 14))
    for (int64_t i = 0; i < N; i++) {
        const int64_t p = position_of(pos, i, T);
        const float *c = cos_tab + p * half, *s = sin_tab + p * half;
        eco_layer_rope_dir(x + i * nh * hd, c, s, nh, hd, inverse);
    }
}

/* ---- linear layers with optional LoRA ------------------------------------------------ */

/* y[N, out] = x[N, in]·Wᵀ (+ b) (+ s·(drop(x)·Aᵀ)·Bᵀ) */
static void linear_forward(float *y, tlora *lo, const float *x, const float *W, const float *b,
                           int64_t N, int64_t in, int64_t out, uint64_t seed, uint64_t counter,
                           uint64_t mod, double p_drop) {
    if (b)
        for (int64_t i = 0; i < N; i++) memcpy(y + i * out, b, (size_t)out * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)out, (int)in, 1.0f, x,
                (int)in, W, (int)in, b ? 1.0f : 0.0f, y, (int)out);
    if (!lo || !lo->on) return;
    const float *xd = x;
    if (lo->xd) {
        float *d = lo->xd;
        const float keep_scale = p_drop > 0 ? (float)(1.0 / (1.0 - p_drop)) : 1.0f;
#pragma omp parallel for schedule(static) if (N * in >= (1 << 14))
        for (int64_t i = 0; i < N; i++)
            for (int64_t j = 0; j < in; j++) {
                const uint64_t idx = (uint64_t)(i * in + j);
                d[i * in + j] =
                    (p_drop <= 0 || eco_train_dropout_keep(seed, counter, mod, idx, p_drop))
                        ? x[i * in + j] * keep_scale
                        : 0.0f;
            }
        xd = d;
    }
    /* t[N, r] = xd·Aᵀ;  y += s·t·Bᵀ */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)lo->r, (int)in, 1.0f, xd,
                (int)in, lo->A, (int)in, 0.0f, lo->t, (int)lo->r);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)out, (int)lo->r, lo->scale,
                lo->t, (int)lo->r, lo->B, (int)lo->r, 1.0f, y, (int)out);
}

/* dx[N, in] += dy·W (+ LoRA path); dW[out, in] += dyᵀ·x; db[out] += Σ dy. dW, db may be NULL.
 * dt [N, r] and dxd [N, in] are scratch. */
static void linear_backward(float *dx, float *dW, float *db, float *dt, float *dxd, const float *dy,
                            const float *x, const float *W, const tlora *lo, int64_t N, int64_t in,
                            int64_t out, double p_drop, bool dropped, uint64_t seed,
                            uint64_t counter, uint64_t mod) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)in, (int)out, 1.0f, dy,
                (int)out, W, (int)in, 1.0f, dx, (int)in);
    if (dW)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, (int)in, (int)N, 1.0f, dy,
                    (int)out, x, (int)in, 1.0f, dW, (int)in);
    if (db) colsum_add(db, dy, N, out);
    if (!lo || !lo->on) return;
    const int r = (int)lo->r;
    const float *xd = lo->xd ? lo->xd : x;
    /* dt = s·dy·B;  dB += s·dyᵀ·t;  dA += dtᵀ·xd;  dxd = dt·A */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, r, (int)out, lo->scale, dy,
                (int)out, lo->B, r, 0.0f, dt, r);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)out, r, (int)N, lo->scale, dy,
                (int)out, lo->t, r, 1.0f, lo->dB, r);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, (int)in, (int)N, 1.0f, dt, r, xd,
                (int)in, 1.0f, lo->dA, (int)in);
    if (!dropped) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)in, r, 1.0f, dt, r,
                    lo->A, (int)in, 1.0f, dx, (int)in);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)in, r, 1.0f, dt, r, lo->A,
                (int)in, 0.0f, dxd, (int)in);
    const float keep_scale = (float)(1.0 / (1.0 - p_drop));
#pragma omp parallel for schedule(static) if (N * in >= (1 << 14))
    for (int64_t i = 0; i < N; i++)
        for (int64_t j = 0; j < in; j++) {
            const uint64_t idx = (uint64_t)(i * in + j);
            if (eco_train_dropout_keep(seed, counter, mod, idx, p_drop))
                dx[i * in + j] += dxd[i * in + j] * keep_scale;
        }
}

/* ---- attention ----------------------------------------------------------------------- */

/* Causal GQA attention over B rows of T. Query i of a row sees keys first_key(pos, i)..i
 * (eco_layer_first_key): the whole row before it, or with positions only its own document
 * (pos restarts at 0 where a packed document starts).
 *   atty  [N, H·hd]        output            probs [B, H, T, T] saved probabilities
 *   q     [N, H·hd]  k, v [N, KV·hd]  (after RoPE)   pos [N] or NULL */
static inline int64_t first_key(const int32_t *pos_row, int64_t i) {
    return pos_row ? eco_layer_first_key(i, pos_row[i]) : eco_layer_first_key(i, i);
}

static void attention_forward(float *atty, float *probs, const float *q, const float *k,
                              const float *v, const int32_t *pos, int64_t B, int64_t T, int64_t H,
                              int64_t KV, int64_t hd) {
    const int64_t qd = H * hd, kvd = KV * hd, group = H / KV;
    const float scale = eco_layer_attn_scale(hd);
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t task = 0; task < B * H; task++) {
        const int64_t b = task / H, h = task % H, kvh = h / group;
        float *P = probs + task * T * T;
        const float *Q = q + b * T * qd + h * hd;
        const float *K = k + b * T * kvd + kvh * hd;
        const float *Vh = v + b * T * kvd + kvh * hd;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)hd, scale, Q,
                    (int)qd, K, (int)kvd, 0.0f, P, (int)T);
        const int32_t *pos_row = pos ? pos + b * T : NULL;
        for (int64_t i = 0; i < T; i++) {
            float *row = P + i * T;
            const int64_t j0 = first_key(pos_row, i);
            memset(row, 0, (size_t)j0 * sizeof(float));
            eco_softmax(row + j0, i + 1 - j0);
            memset(row + i + 1, 0, (size_t)(T - i - 1) * sizeof(float));
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)hd, (int)T, 1.0f, P,
                    (int)T, Vh, (int)kvd, 0.0f, atty + b * T * qd + h * hd, (int)qd);
    }
}

/* dq [N, qd] = ∂/∂q (written), dk, dv [N, kvd] (written) from datty [N, qd]. One task per
 * (sequence, kv head) loops over the query heads of its group, so dk/dv see no race. */
static void attention_backward(float *dq, float *dk, float *dv, float *dscores, const float *datty,
                               const float *probs, const float *q, const float *k, const float *v,
                               const int32_t *pos, int64_t B, int64_t T, int64_t H, int64_t KV,
                               int64_t hd, int threads) {
    const int64_t qd = H * hd, kvd = KV * hd, group = H / KV;
    const float scale = eco_layer_attn_scale(hd);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int64_t task = 0; task < B * KV; task++) {
        const int64_t b = task / KV, kvh = task % KV;
        float *dP = dscores + (size_t)omp_get_thread_num() * (size_t)(T * T);
        const float *K = k + b * T * kvd + kvh * hd;
        const float *Vh = v + b * T * kvd + kvh * hd;
        float *dK = dk + b * T * kvd + kvh * hd;
        float *dV = dv + b * T * kvd + kvh * hd;
        for (int64_t i = 0; i < T; i++) {
            memset(dK + i * kvd, 0, (size_t)hd * sizeof(float));
            memset(dV + i * kvd, 0, (size_t)hd * sizeof(float));
        }
        for (int64_t h = kvh * group; h < (kvh + 1) * group; h++) {
            const float *P = probs + (b * H + h) * T * T;
            const float *dO = datty + b * T * qd + h * hd;
            const float *Q = q + b * T * qd + h * hd;
            /* dP = dO·Vᵀ;  dV += Pᵀ·dO */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)T, (int)T, (int)hd, 1.0f, dO,
                        (int)qd, Vh, (int)kvd, 0.0f, dP, (int)T);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, (int)hd, (int)T, 1.0f, P,
                        (int)T, dO, (int)qd, 1.0f, dV, (int)kvd);
            /* dS = P ⊙ (dP − Σ_j P·dP), in place over dP (zero where the query sees no key) */
            const int32_t *pos_row = pos ? pos + b * T : NULL;
            for (int64_t i = 0; i < T; i++) {
                const float *pr = P + i * T;
                float *dr = dP + i * T;
                const int64_t j0 = first_key(pos_row, i);
                float dot = 0.f;
                for (int64_t j = j0; j <= i; j++) dot += pr[j] * dr[j];
                for (int64_t j = 0; j < j0; j++) dr[j] = 0.0f;
                for (int64_t j = j0; j <= i; j++) dr[j] = pr[j] * (dr[j] - dot);
                for (int64_t j = i + 1; j < T; j++) dr[j] = 0.0f;
            }
            /* dQ = scale·dS·K;  dK += scale·dSᵀ·Q */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)T, (int)hd, (int)T, scale,
                        dP, (int)T, K, (int)kvd, 0.0f, dq + b * T * qd + h * hd, (int)qd);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)T, (int)hd, (int)T, scale, dP,
                        (int)T, Q, (int)qd, 1.0f, dK, (int)kvd);
        }
    }
}

/* ---- MLP activation ---------------------------------------------------------------------- */

/* The backward of eco_layer_mlp_act over n elements (eco_layer_mlp_act_grad each). */
static void swiglu_backward(float *dgate, float *dup, const float *dhid, const float *gate,
                            const float *up, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= (1 << 15))
    for (int64_t i = 0; i < n; i++) eco_layer_mlp_act_grad(dgate, dup, dhid, gate, up, i);
}

/* ---- cross-entropy ---------------------------------------------------------------------- */

/* losses[N]: −log softmax(logits)[target] (0 where target < 0), in double per row. */
static void crossentropy_forward(float *losses, const float *logits, const int32_t *targets,
                                 int64_t N, int64_t V) {
#pragma omp parallel for schedule(static) if (N * V >= (1 << 15))
    for (int64_t i = 0; i < N; i++) {
        if (targets[i] < 0) {
            losses[i] = 0.0f;
            continue;
        }
        const float *row = logits + i * V;
        losses[i] = (float)(eco_logsumexp(row, V) - (double)row[targets[i]]);
    }
}

/* In place: logits[N, V] → scale·(softmax − onehot(target)); 0 rows where masked. */
static void crossentropy_backward(float *logits, const int32_t *targets, float scale, int64_t N,
                                  int64_t V) {
#pragma omp parallel for schedule(static) if (N * V >= (1 << 15))
    for (int64_t i = 0; i < N; i++) {
        float *row = logits + i * V;
        if (targets[i] < 0) {
            memset(row, 0, (size_t)V * sizeof(float));
            continue;
        }
        float mx = row[0];
        for (int64_t j = 1; j < V; j++) mx = row[j] > mx ? row[j] : mx;
        double s = 0.0;
        for (int64_t j = 0; j < V; j++) s += exp((double)(row[j] - mx));
        const double inv = 1.0 / s;
        for (int64_t j = 0; j < V; j++) row[j] = (float)(exp((double)(row[j] - mx)) * inv) * scale;
        row[targets[i]] -= scale;
    }
}

/* ---- the passes -------------------------------------------------------------------------- */

#define LAYER_ROWS(ptr, l, width) ((ptr) + (size_t)(l)*Nmax * (size_t)(width))

/* EINVAL unless every row of pos[B, T] starts at 0 and each position is 0 or one past the
 * one before it. */
eco_status eco_train_check_positions(const char *what, const int32_t *pos, int64_t B, int64_t T) {
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < T; i++) {
            const int32_t p = pos[b * T + i];
            if (p != 0 && (i == 0 || p != pos[b * T + i - 1] + 1))
                return eco_error(
                    ECO_STATUS_EINVAL,
                    "%s: position %d at row %lld, column %lld neither starts a document (0) "
                    "nor follows the one before it",
                    what, (int)p, (long long)b, (long long)i);
        }
    return ECO_STATUS_OK;
}

eco_status eco_train_forward(eco_train_model *m, const int32_t *tokens, const int32_t *targets,
                             int64_t B, int64_t T, bool training, float *loss) {
    return eco_train_forward_pos(m, tokens, targets, NULL, B, T, training, loss);
}

eco_status eco_train_forward_pos(eco_train_model *m, const int32_t *tokens, const int32_t *targets,
                                 const int32_t *positions, int64_t B, int64_t T, bool training,
                                 float *loss) {
    if (!m || !tokens) return eco_error(ECO_STATUS_EINVAL, "train forward: NULL argument");
    if (B <= 0 || T <= 0 || B > m->opt.max_batch || T > m->opt.max_seq)
        return eco_error(
            ECO_STATUS_EINVAL, "train forward: batch %lld × %lld outside the model's %lld × %lld",
            (long long)B, (long long)T, (long long)m->opt.max_batch, (long long)m->opt.max_seq);
    const eco_model_config *c = &m->cfg;
    const int64_t d = c->hidden_size, f = c->intermediate_size, V = c->vocab_size;
    const int64_t H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim;
    const int64_t qd = H * hd, kvd = KV * hd, N = B * T;
    const size_t Nmax = (size_t)m->opt.max_batch * (size_t)m->opt.max_seq;
    const size_t probs_layer =
        (size_t)m->opt.max_batch * (size_t)H * (size_t)m->opt.max_seq * (size_t)m->opt.max_seq;
    const float eps = eco_layer_norm_eps(c);
    for (int64_t i = 0; i < N; i++) {
        if (tokens[i] < 0 || tokens[i] >= V)
            return eco_error(ECO_STATUS_ERANGE, "train forward: token %d at %lld outside [0, %lld)",
                             (int)tokens[i], (long long)i, (long long)V);
        if (targets && targets[i] >= V)
            return eco_error(ECO_STATUS_ERANGE,
                             "train forward: target %d at %lld outside [0, %lld)", (int)targets[i],
                             (long long)i, (long long)V);
    }
    if (positions) {
        eco_status st = eco_train_check_positions("train forward", positions, B, T);
        if (st) return st;
    }
    m->have_fwd = false;
    m->distill_on = false; /* eco_train_forward_distill sets it after this forward */
    m->grpo_on = false;    /* eco_train_forward_grpo likewise */
    memcpy(m->tokens, tokens, (size_t)N * sizeof(int32_t));
    m->have_pos = positions != NULL;
    if (positions) memcpy(m->pos, positions, (size_t)N * sizeof(int32_t));
    const int32_t *pos = m->have_pos ? m->pos : NULL;
    if (targets) memcpy(m->targets, targets, (size_t)N * sizeof(int32_t));
    m->B = B;
    m->T = T;
    const bool lora = m->opt.mode == ECO_TRAIN_MODE_LORA;
    const double p_drop = lora && training ? m->opt.lora.lora_dropout : 0.0;
    const uint64_t counter = m->state.forward_counter;
    const uint64_t seed = m->opt.seed;
    tacts *a = &m->a;

    /* res[0] = embed[tokens] */
    for (int64_t i = 0; i < N; i++)
        memcpy(a->res + i * d, m->embed + (size_t)tokens[i] * (size_t)d, (size_t)d * sizeof(float));

    for (int64_t l = 0; l < c->n_layers; l++) {
        const tlayer *w = &m->w[l];
        tlora *lo = lora ? &m->lora[l * ECO_LORA__COUNT] : NULL;
        const float *res = LAYER_ROWS(a->res, l, d);
        float *res_mid = LAYER_ROWS(a->res_mid, l, d);
        float *res_out = LAYER_ROWS(a->res, l + 1, d);
        float *xn1 = LAYER_ROWS(a->xn1, l, d), *xn2 = LAYER_ROWS(a->xn2, l, d);
        float *rstd1 = a->rstd1 + (size_t)l * Nmax, *rstd2 = a->rstd2 + (size_t)l * Nmax;
        float *q = LAYER_ROWS(a->q, l, qd), *k = LAYER_ROWS(a->k, l, kvd),
              *v = LAYER_ROWS(a->v, l, kvd);
        float *atty = LAYER_ROWS(a->atty, l, qd);
        float *probs = a->probs + (size_t)l * probs_layer;
        float *gate = LAYER_ROWS(a->gate, l, f), *up = LAYER_ROWS(a->up, l, f),
              *hid = LAYER_ROWS(a->hid, l, f);
        const uint64_t mod0 = (uint64_t)l * ECO_LORA__COUNT;
#define LO(t) (lo ? &lo[t] : NULL)
        rmsnorm_forward(xn1, rstd1, res, w->attn_norm, N, d, eps);
        linear_forward(q, LO(ECO_LORA_Q), xn1, w->wq, w->bq, N, d, qd, seed, counter,
                       mod0 + ECO_LORA_Q, p_drop);
        linear_forward(k, LO(ECO_LORA_K), xn1, w->wk, w->bk, N, d, kvd, seed, counter,
                       mod0 + ECO_LORA_K, p_drop);
        linear_forward(v, LO(ECO_LORA_V), xn1, w->wv, w->bv, N, d, kvd, seed, counter,
                       mod0 + ECO_LORA_V, p_drop);
        rope_apply(q, m->cos_tab, m->sin_tab, pos, N, T, H, hd, false);
        rope_apply(k, m->cos_tab, m->sin_tab, pos, N, T, KV, hd, false);
        attention_forward(atty, probs, q, k, v, pos, B, T, H, KV, hd);
        linear_forward(res_mid, LO(ECO_LORA_O), atty, w->wo, w->bo, N, qd, d, seed, counter,
                       mod0 + ECO_LORA_O, p_drop);
        eco_add_inplace(res_mid, res, N * d);
        rmsnorm_forward(xn2, rstd2, res_mid, w->ffn_norm, N, d, eps);
        linear_forward(gate, LO(ECO_LORA_GATE), xn2, w->wg, NULL, N, d, f, seed, counter,
                       mod0 + ECO_LORA_GATE, p_drop);
        linear_forward(up, LO(ECO_LORA_UP), xn2, w->wu, NULL, N, d, f, seed, counter,
                       mod0 + ECO_LORA_UP, p_drop);
        eco_layer_mlp_act(hid, gate, up, N * f);
        linear_forward(res_out, LO(ECO_LORA_DOWN), hid, w->wd, NULL, N, f, d, seed, counter,
                       mod0 + ECO_LORA_DOWN, p_drop);
        eco_add_inplace(res_out, res_mid, N * d);
#undef LO
    }
    rmsnorm_forward(a->xnf, a->rstdf, LAYER_ROWS(a->res, c->n_layers, d), m->final_norm, N, d, eps);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, (int)V, (int)d, 1.0f, a->xnf,
                (int)d, m->lm_head, (int)d, 0.0f, a->logits, (int)V);

    m->fwd_training = p_drop > 0;
    m->fwd_counter = counter;
    if (training) m->state.forward_counter++;
    m->have_targets = targets != NULL;
    m->have_fwd = true;
    m->n_valid = 0;
    if (targets) {
        crossentropy_forward(a->losses, a->logits, m->targets, N, V);
        double sum = 0.0;
        for (int64_t i = 0; i < N; i++)
            if (m->targets[i] >= 0) {
                sum += (double)a->losses[i];
                m->n_valid++;
            }
        if (loss) *loss = m->n_valid ? (float)(sum / (double)m->n_valid) : 0.0f;
    } else if (loss) {
        *loss = 0.0f;
    }
    return ECO_STATUS_OK;
}

eco_status eco_train_backward(eco_train_model *m, float grad_scale) {
    if (!m) return eco_error(ECO_STATUS_EINVAL, "train backward: NULL model");
    if (!m->have_fwd || !m->have_targets)
        return eco_error(ECO_STATUS_EINVAL,
                         "train backward: no forward with targets to go back through");
    m->have_fwd = false; /* the logits become their gradient */
    const eco_model_config *c = &m->cfg;
    const int64_t d = c->hidden_size, f = c->intermediate_size, V = c->vocab_size;
    const int64_t H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim;
    const int64_t qd = H * hd, kvd = KV * hd, B = m->B, T = m->T, N = B * T;
    const size_t Nmax = (size_t)m->opt.max_batch * (size_t)m->opt.max_seq;
    const size_t probs_layer =
        (size_t)m->opt.max_batch * (size_t)H * (size_t)m->opt.max_seq * (size_t)m->opt.max_seq;
    const bool lora = m->opt.mode == ECO_TRAIN_MODE_LORA;
    const double p_drop = m->fwd_training ? m->opt.lora.lora_dropout : 0.0;
    const bool dropped = p_drop > 0;
    const uint64_t seed = m->opt.seed, counter = m->fwd_counter;
    const int32_t *pos = m->have_pos ? m->pos : NULL;
    tacts *a = &m->a;
    if (m->n_valid == 0) return ECO_STATUS_OK;
    /* attention scratch exists for the threads counted at create; never more */
    int threads = omp_get_max_threads();
    if (threads > m->scratch_threads) threads = m->scratch_threads;

    /* dlogits, then the head and the final norm */
    float *dlogits = a->logits;
    if (m->grpo_on) /* GRPO objective of eco_train_forward_grpo: its own normalisation */
        eco_train_grpo_dlogits(m, dlogits, grad_scale);
    else if (m->distill_on) /* mixed CE + KL loss of eco_train_forward_distill */
        eco_train_distill_dlogits(m, dlogits, grad_scale / (float)m->n_valid);
    else
        crossentropy_backward(dlogits, m->targets, grad_scale / (float)m->n_valid, N, V);
    memset(a->dxn, 0, (size_t)N * (size_t)d * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, (int)d, (int)V, 1.0f, dlogits,
                (int)V, m->lm_head, (int)d, 0.0f, a->dxn, (int)d);
    if (m->d_lm_head)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)V, (int)d, (int)N, 1.0f, dlogits,
                    (int)V, a->xnf, (int)d, 1.0f, m->d_lm_head, (int)d);
    memset(a->dres, 0, (size_t)N * (size_t)d * sizeof(float));
    rmsnorm_backward(a->dres, m->d_final_norm, a->dxn, LAYER_ROWS(a->res, c->n_layers, d), a->rstdf,
                     m->final_norm, N, d);

    for (int64_t l = c->n_layers - 1; l >= 0; l--) {
        const tlayer *w = &m->w[l];
        const tlayer *g = lora ? NULL : &m->dw[l];
        const tlora *lo = lora ? &m->lora[l * ECO_LORA__COUNT] : NULL;
        const float *res = LAYER_ROWS(a->res, l, d);
        const float *res_mid = LAYER_ROWS(a->res_mid, l, d);
        const float *xn1 = LAYER_ROWS(a->xn1, l, d), *xn2 = LAYER_ROWS(a->xn2, l, d);
        const float *rstd1 = a->rstd1 + (size_t)l * Nmax, *rstd2 = a->rstd2 + (size_t)l * Nmax;
        const float *q = LAYER_ROWS(a->q, l, qd), *k = LAYER_ROWS(a->k, l, kvd),
                    *v = LAYER_ROWS(a->v, l, kvd);
        const float *atty = LAYER_ROWS(a->atty, l, qd);
        const float *probs = a->probs + (size_t)l * probs_layer;
        const float *gate = LAYER_ROWS(a->gate, l, f), *up = LAYER_ROWS(a->up, l, f),
                    *hid = LAYER_ROWS(a->hid, l, f);
        const uint64_t mod0 = (uint64_t)l * ECO_LORA__COUNT;
        float *dhid = a->dbig; /* [N, f] */
#define LO(t)    (lo ? &lo[t] : NULL)
#define G(field) (g ? g->field : NULL)

        /* MLP: res_out = res_mid + down(silu(gate)⊙up) */
        memset(dhid, 0, (size_t)N * (size_t)f * sizeof(float));
        linear_backward(dhid, G(wd), NULL, a->dlora_t, a->dlora, a->dres, hid, w->wd,
                        LO(ECO_LORA_DOWN), N, f, d, p_drop, dropped, seed, counter,
                        mod0 + ECO_LORA_DOWN);
        swiglu_backward(a->dgate, a->dup, dhid, gate, up, N * f);
        memset(a->dxn, 0, (size_t)N * (size_t)d * sizeof(float));
        linear_backward(a->dxn, G(wg), NULL, a->dlora_t, a->dlora, a->dgate, xn2, w->wg,
                        LO(ECO_LORA_GATE), N, d, f, p_drop, dropped, seed, counter,
                        mod0 + ECO_LORA_GATE);
        linear_backward(a->dxn, G(wu), NULL, a->dlora_t, a->dlora, a->dup, xn2, w->wu,
                        LO(ECO_LORA_UP), N, d, f, p_drop, dropped, seed, counter,
                        mod0 + ECO_LORA_UP);
        rmsnorm_backward(a->dres, G(ffn_norm), a->dxn, res_mid, rstd2, w->ffn_norm, N, d);

        /* attention: res_mid = res + o(attn(rope(q), rope(k), v)) */
        memset(a->datty, 0, (size_t)N * (size_t)qd * sizeof(float));
        linear_backward(a->datty, G(wo), G(bo), a->dlora_t, a->dlora, a->dres, atty, w->wo,
                        LO(ECO_LORA_O), N, qd, d, p_drop, dropped, seed, counter,
                        mod0 + ECO_LORA_O);
        float *dq = a->dbig; /* [N, qd] */
        attention_backward(dq, a->dk, a->dv, a->dscores, a->datty, probs, q, k, v, pos, B, T, H, KV,
                           hd, threads);
        rope_apply(dq, m->cos_tab, m->sin_tab, pos, N, T, H, hd, true);
        rope_apply(a->dk, m->cos_tab, m->sin_tab, pos, N, T, KV, hd, true);
        memset(a->dxn, 0, (size_t)N * (size_t)d * sizeof(float));
        linear_backward(a->dxn, G(wq), G(bq), a->dlora_t, a->dlora, dq, xn1, w->wq, LO(ECO_LORA_Q),
                        N, d, qd, p_drop, dropped, seed, counter, mod0 + ECO_LORA_Q);
        linear_backward(a->dxn, G(wk), G(bk), a->dlora_t, a->dlora, a->dk, xn1, w->wk,
                        LO(ECO_LORA_K), N, d, kvd, p_drop, dropped, seed, counter,
                        mod0 + ECO_LORA_K);
        linear_backward(a->dxn, G(wv), G(bv), a->dlora_t, a->dlora, a->dv, xn1, w->wv,
                        LO(ECO_LORA_V), N, d, kvd, p_drop, dropped, seed, counter,
                        mod0 + ECO_LORA_V);
        rmsnorm_backward(a->dres, G(attn_norm), a->dxn, res, rstd1, w->attn_norm, N, d);
#undef LO
#undef G
    }
    /* embedding: rows in order (a token may repeat) */
    if (m->d_embed)
        for (int64_t i = 0; i < N; i++) {
            float *row = m->d_embed + (size_t)m->tokens[i] * (size_t)d;
            const float *src = a->dres + i * d;
            for (int64_t j = 0; j < d; j++) row[j] += src[j];
        }
    return ECO_STATUS_OK;
}

void eco_train_zero_grad(eco_train_model *m) { memset(m->grads, 0, m->n_floats * sizeof(float)); }
