/*
 * AdamW, global-norm clipping and the learning-rate schedule: flat loops over the arenas.
 *
 * The arithmetic follows torch.optim.AdamW (single-tensor path) in f32:
 *   p ← p·(1 − lr·wd)                       (decoupled decay, only where decay)
 *   m ← β1·m + (1−β1)·g ;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + eps)
 * The gradient norm is a sum of squares in double over fixed chunks, summed in chunk order,
 * so it does not depend on the thread count.
 */
#include "train/train_internal.h"

#include <math.h>
#include <string.h>

#define NORM_CHUNK 4096

eco_adamw_config eco_adamw_config_default(void) {
    eco_adamw_config c;
    memset(&c, 0, sizeof c);
    c.lr = 1e-3;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    c.weight_decay = 0.01;
    c.grad_clip = 0.0;
    c.warmup_steps = 0;
    c.total_steps = 0;
    c.min_lr_ratio = 0.0;
    return c;
}

double eco_train_lr_at(const eco_adamw_config *cfg, int64_t step) {
    if (step < cfg->warmup_steps) return cfg->lr * (double)(step + 1) / (double)cfg->warmup_steps;
    if (cfg->total_steps <= cfg->warmup_steps) return cfg->lr;
    double progress =
        (double)(step - cfg->warmup_steps) / (double)(cfg->total_steps - cfg->warmup_steps);
    if (progress > 1.0) progress = 1.0;
    const double coeff = 0.5 * (1.0 + cos(M_PI * progress));
    return cfg->lr * (cfg->min_lr_ratio + (1.0 - cfg->min_lr_ratio) * coeff);
}

double eco_train_grad_norm(eco_train_model *m) {
    const size_t n = m->n_floats;
    const int64_t nchunks = (int64_t)((n + NORM_CHUNK - 1) / NORM_CHUNK);
    double total = 0.0;
    /* partial sums per chunk, then summed in chunk order */
    double partial[64];
    for (int64_t c0 = 0; c0 < nchunks; c0 += 64) {
        const int64_t cn = nchunks - c0 < 64 ? nchunks - c0 : 64;
#pragma omp parallel for schedule(static) if (n >= (1 << 16))
        for (int64_t c = 0; c < cn; c++) {
            const size_t i0 = (size_t)(c0 + c) * NORM_CHUNK;
            const size_t i1 = i0 + NORM_CHUNK < n ? i0 + NORM_CHUNK : n;
            double s = 0.0;
            for (size_t i = i0; i < i1; i++) s += (double)m->grads[i] * (double)m->grads[i];
            partial[c] = s;
        }
        for (int64_t c = 0; c < cn; c++) total += partial[c];
    }
    return sqrt(total);
}

eco_status eco_train_step(eco_train_model *m, const eco_adamw_config *cfg, double *grad_norm,
                          double *lr_out) {
    if (!m || !cfg) return eco_error(ECO_STATUS_EINVAL, "train step: NULL argument");
    if (!(cfg->lr >= 0) || !(cfg->beta1 >= 0 && cfg->beta1 < 1) ||
        !(cfg->beta2 >= 0 && cfg->beta2 < 1) || !(cfg->eps > 0) || !(cfg->weight_decay >= 0) ||
        cfg->warmup_steps < 0)
        return eco_error(ECO_STATUS_EINVAL,
                         "train step: invalid AdamW settings (lr %g, betas %g/%g, eps %g, wd %g)",
                         cfg->lr, cfg->beta1, cfg->beta2, cfg->eps, cfg->weight_decay);
    const double norm = eco_train_grad_norm(m);
    if (grad_norm) *grad_norm = norm;
    if (!isfinite(norm))
        return eco_error(ECO_STATUS_ERANGE, "train step %lld: gradient norm is not finite",
                         (long long)m->state.step);
    if (cfg->grad_clip > 0) {
        const double coef = cfg->grad_clip / (norm + 1e-6);
        if (coef < 1.0) {
            const float cf = (float)coef;
            const size_t n = m->n_floats;
#pragma omp parallel for schedule(static) if (n >= (1 << 16))
            for (size_t i = 0; i < n; i++) m->grads[i] *= cf;
        }
    }
    const int64_t t = m->state.step + 1;
    const double lr = eco_train_lr_at(cfg, m->state.step);
    if (lr_out) *lr_out = lr;
    const double bc1 = 1.0 - pow(cfg->beta1, (double)t);
    const double bc2 = 1.0 - pow(cfg->beta2, (double)t);
    const float step_size = (float)(lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float b1 = (float)cfg->beta1, b2 = (float)cfg->beta2, eps = (float)cfg->eps;
    const float decay = (float)(1.0 - lr * cfg->weight_decay);
    for (size_t pi = 0; pi < m->n_params; pi++) {
        const eco_train_param *p = &m->table[pi];
        float *w = m->params + p->offset, *g = m->grads + p->offset;
        float *mm = m->adam_m + p->offset, *vv = m->adam_v + p->offset;
        const float dec = p->decay ? decay : 1.0f;
        const size_t n = p->numel;
#pragma omp parallel for schedule(static) if (n >= (1 << 16))
        for (size_t i = 0; i < n; i++) {
            const float gi = g[i];
            w[i] *= dec;
            mm[i] = b1 * mm[i] + (1.0f - b1) * gi;
            vv[i] = b2 * vv[i] + (1.0f - b2) * gi * gi;
            const float denom = sqrtf(vv[i]) / bc2_sqrt + eps;
            w[i] -= step_size * mm[i] / denom;
        }
    }
    m->state.step = t;
    return ECO_STATUS_OK;
}
