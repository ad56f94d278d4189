/*
 * GRPO (see the GRPO section of include/ecology/train.h for the formulas and TRL's names).
 *
 * Two layers: eco_grpo_advantages and eco_grpo_objective are pure functions on small arrays
 * (rewards; per-token log-probabilities), so they are tested on fixed tensors; then
 * eco_train_forward_grpo runs the ordinary training forward, takes the policy's per-token
 * log-probabilities from its logits, evaluates the objective and keeps ∂loss/∂lp in the
 * model; the backward's loss stage (train_forward.c) turns that into the logits' gradient
 * through eco_train_grpo_dlogits while grpo_on is set (every eco_train_forward clears it).
 */
#include "train/train_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* TRL adds this to the group's standard deviation before dividing. */
#define GRPO_STD_EPS 1e-4

static const char *const LOSS_NAMES[] = {"grpo", "bnpo", "dr_grpo"};
#define N_LOSS_TYPES (sizeof LOSS_NAMES / sizeof LOSS_NAMES[0])

const char *eco_grpo_loss_type_name(eco_grpo_loss_type t) {
    return (unsigned)t < N_LOSS_TYPES ? LOSS_NAMES[t] : NULL;
}

eco_status eco_grpo_loss_type_parse(const char *name, eco_grpo_loss_type *out) {
    if (!name || !out) return eco_error(ECO_STATUS_EINVAL, "grpo loss type: NULL argument");
    for (size_t i = 0; i < N_LOSS_TYPES; i++)
        if (strcmp(name, LOSS_NAMES[i]) == 0) {
            *out = (eco_grpo_loss_type)i;
            return ECO_STATUS_OK;
        }
    return eco_error(ECO_STATUS_EINVAL,
                     "grpo loss type \"%s\": expected \"grpo\", \"bnpo\" or \"dr_grpo\"", name);
}

eco_grpo_config eco_grpo_config_default(void) {
    eco_grpo_config c;
    memset(&c, 0, sizeof c);
    c.epsilon_low = 0.2;
    c.epsilon_high = 0.2;
    c.beta = 0.0;
    c.temperature = 1.0;
    c.loss_type = ECO_GRPO_LOSS_GRPO;
    c.max_completion_length = 0;
    return c;
}

eco_status eco_grpo_config_check(const eco_grpo_config *cfg) {
    if (!cfg) return eco_error(ECO_STATUS_EINVAL, "grpo config: NULL");
    if (!isfinite(cfg->epsilon_low) || cfg->epsilon_low < 0.0 || cfg->epsilon_low >= 1.0)
        return eco_error(ECO_STATUS_EINVAL, "grpo config: epsilon_low %g outside [0, 1)",
                         cfg->epsilon_low);
    if (!isfinite(cfg->epsilon_high) || cfg->epsilon_high < 0.0)
        return eco_error(ECO_STATUS_EINVAL, "grpo config: epsilon_high %g must be finite and >= 0",
                         cfg->epsilon_high);
    if (!isfinite(cfg->beta) || cfg->beta < 0.0)
        return eco_error(ECO_STATUS_EINVAL, "grpo config: beta %g must be finite and >= 0",
                         cfg->beta);
    if (!isfinite(cfg->temperature) || !(cfg->temperature > 0.0))
        return eco_error(ECO_STATUS_EINVAL, "grpo config: temperature %g must be finite and > 0",
                         cfg->temperature);
    if (!eco_grpo_loss_type_name(cfg->loss_type))
        return eco_error(ECO_STATUS_EINVAL, "grpo config: loss type %d unknown",
                         (int)cfg->loss_type);
    if (cfg->loss_type == ECO_GRPO_LOSS_DR_GRPO && cfg->max_completion_length <= 0)
        return eco_error(ECO_STATUS_EINVAL,
                         "grpo config: loss type \"dr_grpo\" needs max_completion_length > 0 "
                         "(got %lld)",
                         (long long)cfg->max_completion_length);
    return ECO_STATUS_OK;
}

/* ---- advantages ------------------------------------------------------------------------- */

eco_status eco_grpo_advantages(const float *rewards, int64_t n_groups, int64_t G,
                               bool scale_rewards, float *advantages, int64_t *n_zero_signal) {
    if (n_zero_signal) *n_zero_signal = 0;
    if (!rewards || !advantages)
        return eco_error(ECO_STATUS_EINVAL, "grpo advantages: NULL argument");
    if (n_groups < 1 || G < 2)
        return eco_error(ECO_STATUS_EINVAL,
                         "grpo advantages: %lld groups of %lld (at least one group of two "
                         "completions is needed)",
                         (long long)n_groups, (long long)G);
    for (int64_t i = 0; i < n_groups * G; i++)
        if (!isfinite(rewards[i]))
            return eco_error(ECO_STATUS_ERANGE,
                             "grpo advantages: reward of group %lld, completion %lld is not "
                             "finite (%g)",
                             (long long)(i / G), (long long)(i % G), (double)rewards[i]);
    int64_t zero = 0;
    for (int64_t g = 0; g < n_groups; g++) {
        const float *r = rewards + g * G;
        float *a = advantages + g * G;
        bool equal = true;
        for (int64_t i = 1; i < G; i++) equal = equal && r[i] == r[0];
        if (equal) { /* no signal: exactly zero, whatever rounding the mean would leave */
            for (int64_t i = 0; i < G; i++) a[i] = 0.0f;
            zero++;
            continue;
        }
        double mean = 0.0;
        for (int64_t i = 0; i < G; i++) mean += (double)r[i];
        mean /= (double)G;
        double ss = 0.0;
        for (int64_t i = 0; i < G; i++) ss += ((double)r[i] - mean) * ((double)r[i] - mean);
        const double div = scale_rewards ? sqrt(ss / (double)(G - 1)) + GRPO_STD_EPS : 1.0;
        for (int64_t i = 0; i < G; i++) a[i] = (float)(((double)r[i] - mean) / div);
    }
    if (n_zero_signal) *n_zero_signal = zero;
    return ECO_STATUS_OK;
}

/* ---- the objective ---------------------------------------------------------------------- */

eco_status eco_grpo_objective(const eco_grpo_config *cfg, const float *lp, const float *old,
                              const float *ref, const uint8_t *mask, const float *advantages,
                              int64_t B, int64_t T, eco_grpo_stats *stats, float *dlp) {
    if (stats) memset(stats, 0, sizeof *stats);
    eco_status st = eco_grpo_config_check(cfg);
    if (st != ECO_STATUS_OK) return st;
    const bool kl_on = cfg->beta > 0.0;
    if (!lp || !mask || !advantages || (kl_on && !ref))
        return eco_error(ECO_STATUS_EINVAL,
                         "grpo objective: NULL argument (log-probabilities, mask, advantages%s "
                         "are required)",
                         kl_on ? " and, with beta > 0, the reference's" : "");
    if (B <= 0 || T <= 0)
        return eco_error(ECO_STATUS_EINVAL, "grpo objective: batch %lld × %lld", (long long)B,
                         (long long)T);
    /* checks first, so an error leaves dlp untouched */
    int64_t n_tok = 0, n_seq = 0;
    for (int64_t b = 0; b < B; b++) {
        int64_t n_b = 0;
        for (int64_t t = 0; t < T; t++) {
            const int64_t i = b * T + t;
            if (!mask[i]) continue;
            n_b++;
            const float v[3] = {lp[i], old ? old[i] : 0.0f, kl_on ? ref[i] : 0.0f};
            static const char *const what[3] = {"log-probability", "old log-probability",
                                                "reference log-probability"};
            for (int k = 0; k < 3; k++)
                if (!isfinite(v[k]))
                    return eco_error(ECO_STATUS_ERANGE, "grpo objective: %s at [%lld, %lld] is %g",
                                     what[k], (long long)b, (long long)t, (double)v[k]);
            if (!isfinite(advantages[b]))
                return eco_error(ECO_STATUS_ERANGE, "grpo objective: advantage of row %lld is %g",
                                 (long long)b, (double)advantages[b]);
        }
        n_tok += n_b;
        n_seq += n_b > 0;
    }
    const double lo = 1.0 - cfg->epsilon_low, hi = 1.0 + cfg->epsilon_high, beta = cfg->beta;
    double loss = 0.0, kl_sum = 0.0;
    int64_t n_low = 0, n_high = 0;
    for (int64_t b = 0; b < B; b++) {
        int64_t n_b = 0;
        for (int64_t t = 0; t < T; t++) n_b += mask[b * T + t] != 0;
        double w; /* the loss type's weight of each of this row's tokens */
        switch (cfg->loss_type) {
            case ECO_GRPO_LOSS_BNPO:
                w = 1.0 / (double)(n_tok > 1 ? n_tok : 1);
                break;
            case ECO_GRPO_LOSS_DR_GRPO:
                w = 1.0 / ((double)B * (double)cfg->max_completion_length);
                break;
            case ECO_GRPO_LOSS_GRPO:
            default:
                w = 1.0 / ((double)B * (double)(n_b > 1 ? n_b : 1));
                break;
        }
        const double A = (double)advantages[b];
        double row = 0.0;
        for (int64_t t = 0; t < T; t++) {
            const int64_t i = b * T + t;
            if (!mask[i]) {
                if (dlp) dlp[i] = 0.0f;
                continue;
            }
            const double x = (double)lp[i];
            const double rho = old ? exp(x - (double)old[i]) : 1.0;
            const double rc = rho < lo ? lo : rho > hi ? hi : rho;
            const bool clip_high = A > 0.0 && rho > hi, clip_low = A < 0.0 && rho < lo;
            n_high += clip_high;
            n_low += clip_low;
            const double u = rho * A, v = rc * A;
            double l = -(u < v ? u : v);
            double g = clip_high || clip_low ? 0.0 : -A * rho;
            if (kl_on) {
                const double dr = (double)ref[i] - x, e = exp(dr);
                const double kl = e - dr - 1.0;
                kl_sum += kl;
                l += beta * kl;
                g += beta * (1.0 - e);
            }
            row += l;
            if (dlp) dlp[i] = (float)(w * g);
        }
        loss += w * row;
    }
    if (stats) {
        const double nt = (double)(n_tok > 0 ? n_tok : 1);
        stats->loss = loss;
        stats->kl = kl_on ? kl_sum / nt : 0.0;
        stats->clip_low = (double)n_low / nt;
        stats->clip_high = (double)n_high / nt;
        stats->clip_ratio = (double)(n_low + n_high) / nt;
        stats->n_tokens = n_tok;
        stats->n_sequences = n_seq;
    }
    return ECO_STATUS_OK;
}

/* ---- on the training model -------------------------------------------------------------- */

static eco_status ensure_buffers(eco_train_model *m) {
    if (m->grpo_lp) return ECO_STATUS_OK;
    const size_t n = (size_t)m->opt.max_batch * (size_t)m->opt.max_seq;
    float *lp = eco_malloc_array(n, sizeof(float));
    float *dlp = eco_malloc_array(n, sizeof(float));
    uint8_t *mask = eco_malloc_array(n, sizeof(uint8_t));
    if (!lp || !dlp || !mask) {
        free(lp);
        free(dlp);
        free(mask);
        return eco_error(ECO_STATUS_ENOMEM, "grpo: out of memory for %zu log-probabilities", n);
    }
    m->grpo_lp = lp;
    m->grpo_dlp = dlp;
    m->grpo_mask = mask;
    return ECO_STATUS_OK;
}

/* out[N]: log softmax(logits_i / temperature)[targets_i] in double, 0 where targets_i < 0. */
static void token_logps(float *out, const float *logits, const int32_t *targets, int64_t N,
                        int64_t V, double temperature) {
    const double inv_t = 1.0 / temperature;
#pragma omp parallel for schedule(static) if (N * V >= (1 << 15))
    for (int64_t i = 0; i < N; i++) {
        if (targets[i] < 0) {
            out[i] = 0.0f;
            continue;
        }
        const float *z = logits + i * V;
        float mx = z[0];
        for (int64_t j = 1; j < V; j++) mx = z[j] > mx ? z[j] : mx;
        const double mxd = (double)mx * inv_t;
        double s = 0.0;
        for (int64_t j = 0; j < V; j++) s += exp((double)z[j] * inv_t - mxd);
        out[i] = (float)((double)z[targets[i]] * inv_t - mxd - log(s));
    }
}

eco_status eco_train_token_logps(eco_train_model *m, const int32_t *tokens, const int32_t *targets,
                                 int64_t B, int64_t T, double temperature, float *out) {
    if (!m || !tokens || !targets || !out)
        return eco_error(ECO_STATUS_EINVAL, "token log-probabilities: NULL argument");
    if (!isfinite(temperature) || !(temperature > 0.0))
        return eco_error(ECO_STATUS_EINVAL,
                         "token log-probabilities: temperature %g must be finite and > 0",
                         temperature);
    eco_status st = eco_train_forward(m, tokens, targets, B, T, false, NULL);
    if (st != ECO_STATUS_OK) return eco_error_wrap(st, "token log-probabilities");
    token_logps(out, m->a.logits, m->targets, B * T, m->cfg.vocab_size, temperature);
    return ECO_STATUS_OK;
}

eco_status eco_train_forward_grpo(eco_train_model *m, const int32_t *tokens, const int32_t *targets,
                                  const float *old_logps, const float *ref_logps,
                                  const float *advantages, int64_t B, int64_t T,
                                  const eco_grpo_config *cfg, bool training, eco_grpo_stats *stats,
                                  float *logps) {
    if (stats) memset(stats, 0, sizeof *stats);
    if (!m || !tokens || !targets || !advantages || !cfg)
        return eco_error(ECO_STATUS_EINVAL,
                         "grpo forward: NULL argument (model, tokens, targets, advantages and "
                         "config are required)");
    m->have_fwd = false; /* whatever happens below, no backward through an earlier forward */
    m->grpo_on = false;
    eco_status st = eco_grpo_config_check(cfg);
    if (st != ECO_STATUS_OK) return st;
    if (cfg->beta > 0.0 && !ref_logps)
        return eco_error(ECO_STATUS_EINVAL,
                         "grpo forward: beta %g > 0 needs the reference log-probabilities",
                         cfg->beta);
    if ((st = ensure_buffers(m)) != ECO_STATUS_OK) return st;
    st = eco_train_forward(m, tokens, targets, B, T, training, NULL); /* clears grpo_on */
    if (st != ECO_STATUS_OK) return st;
    const int64_t N = B * T;
    token_logps(m->grpo_lp, m->a.logits, m->targets, N, m->cfg.vocab_size, cfg->temperature);
    for (int64_t i = 0; i < N; i++) m->grpo_mask[i] = m->targets[i] >= 0;
    st = eco_grpo_objective(cfg, m->grpo_lp, old_logps, ref_logps, m->grpo_mask, advantages, B, T,
                            stats, m->grpo_dlp);
    if (st != ECO_STATUS_OK) {
        m->have_fwd = false;
        return eco_error_wrap(st, "grpo forward");
    }
    if (logps) memcpy(logps, m->grpo_lp, (size_t)N * sizeof(float));
    m->grpo_temp = (float)cfg->temperature;
    m->grpo_on = true;
    return ECO_STATUS_OK;
}

void eco_train_grpo_dlogits(eco_train_model *m, float *logits, float scale) {
    const int64_t N = m->B * m->T, V = m->cfg.vocab_size;
    const double inv_t = 1.0 / (double)m->grpo_temp;
    const float *dlp = m->grpo_dlp;
    const int32_t *tg = m->targets;
#pragma omp parallel for schedule(static) if (N * V >= (1 << 15))
    for (int64_t i = 0; i < N; i++) {
        float *z = logits + i * V;
        if (tg[i] < 0 || dlp[i] == 0.0f) {
            memset(z, 0, (size_t)V * sizeof(float));
            continue;
        }
        /* ∂lp/∂z_j = (onehot_j − softmax(z/τ)_j)/τ, times scale·∂loss/∂lp */
        float mx = z[0];
        for (int64_t j = 1; j < V; j++) mx = z[j] > mx ? z[j] : mx;
        const double mxd = (double)mx * inv_t;
        double s = 0.0;
        for (int64_t j = 0; j < V; j++) s += exp((double)z[j] * inv_t - mxd);
        const double c = (double)scale * (double)dlp[i] * inv_t, inv_s = 1.0 / s;
        for (int64_t j = 0; j < V; j++)
            z[j] = (float)(-c * exp((double)z[j] * inv_t - mxd) * inv_s);
        z[tg[i]] += (float)c;
    }
}
