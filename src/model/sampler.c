/* Token sampling: greedy, or temperature → top-k → top-p → a draw from the project RNG. */
#include "ecology/sampler.h"
#include "ecology/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

eco_status eco_sampler_init(eco_sampler *s, const eco_sampler_params *p, int64_t vocab) {
    memset(s, 0, sizeof *s);
    if (vocab <= 0 || vocab > INT32_MAX)
        return eco_error(ECO_STATUS_EINVAL, "sampler: vocabulary size %lld", (long long)vocab);
    if (!(p->temperature >= 0) || !isfinite(p->temperature))
        return eco_error(ECO_STATUS_EINVAL, "sampler: temperature %g must be >= 0",
                         (double)p->temperature);
    if (p->top_k < 0)
        return eco_error(ECO_STATUS_EINVAL, "sampler: top_k %d must be >= 0", p->top_k);
    if (!(p->top_p > 0 && p->top_p <= 1))
        return eco_error(ECO_STATUS_EINVAL, "sampler: top_p %g must be in (0, 1]",
                         (double)p->top_p);
    s->params = *p;
    s->vocab = vocab;
    eco_rng_seed(&s->rng, p->seed);
    s->probs = eco_malloc_array((size_t)vocab, sizeof *s->probs);
    s->cand = eco_malloc_array((size_t)vocab, sizeof *s->cand);
    if (!s->probs || !s->cand) {
        eco_sampler_free(s);
        return eco_error(ECO_STATUS_ENOMEM, "sampler: out of memory for %lld entries",
                         (long long)vocab);
    }
    return ECO_STATUS_OK;
}

void eco_sampler_free(eco_sampler *s) {
    free(s->probs);
    free(s->cand);
    s->probs = NULL;
    s->cand = NULL;
}

/* log-softmax of logits[n] at index i (eco_logsumexp: vectorised, where a libm exp per
 * vocabulary entry cost a noticeable share of a decode step; README, performance). */
static float log_prob_of(const float *logits, int64_t n, int64_t i) {
    return (float)((double)logits[i] - eco_logsumexp(logits, n));
}

static int64_t argmax(const float *x, int64_t n) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* "a ranks before b": higher probability first, lower id on ties, so results never depend
 * on a sort's stability. */
static bool ranks_before(const eco_sampler_cand *a, const eco_sampler_cand *b) {
    return a->p > b->p || (a->p == b->p && a->id < b->id);
}
static int cmp_cand(const void *a, const void *b) {
    if (ranks_before(a, b)) return -1;
    if (ranks_before(b, a)) return 1;
    return 0;
}

/* Min-heap on rank: the worst-ranked candidate on top. */
static void sift_down(eco_sampler_cand *h, int64_t n, int64_t i) {
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && ranks_before(&h[m], &h[l])) m = l;
        if (r < n && ranks_before(&h[m], &h[r])) m = r;
        if (m == i) return;
        eco_sampler_cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* The k best of p[n] into c[0..k), unordered. */
static int64_t select_top_k(eco_sampler_cand *c, const float *p, int64_t n, int64_t k) {
    for (int64_t i = 0; i < k; i++) c[i] = (eco_sampler_cand){p[i], (int32_t)i};
    for (int64_t j = k / 2; j >= 0; j--) sift_down(c, k, j);
    for (int64_t i = k; i < n; i++) {
        eco_sampler_cand x = {p[i], (int32_t)i};
        if (ranks_before(&x, &c[0])) {
            c[0] = x;
            sift_down(c, k, 0);
        }
    }
    return k;
}

/* Draws from c[0..m) in order, weights p, total mass `mass`. */
static int32_t draw(eco_rng *rng, const eco_sampler_cand *c, int64_t m, double mass) {
    double r = eco_rng_uniform(rng) * mass, acc = 0;
    for (int64_t i = 0; i < m; i++) {
        acc += c[i].p;
        if (r < acc) return c[i].id;
    }
    return c[m - 1].id; /* rounding: r landed on the total */
}

int32_t eco_sampler_sample(eco_sampler *s, const float *logits, float *logprob) {
    const int64_t n = s->vocab;
    int64_t chosen;
    if (s->params.temperature == 0) {
        chosen = argmax(logits, n);
    } else {
        float *p = s->probs; /* softmax(logits / T), vectorised (eco_softmax) */
        const float inv_t = 1.0f / s->params.temperature;
        for (int64_t i = 0; i < n; i++) p[i] = logits[i] * inv_t;
        eco_softmax(p, n);

        eco_sampler_cand *c = s->cand;
        const int64_t k = s->params.top_k;
        const float top_p = s->params.top_p;
        int64_t m = 0;
        if (k > 0 && k < n) {
            m = select_top_k(c, p, n, k);
        } else if (top_p < 1.0f) {
            /* A token below (1 − p)/(n − 1) can never be inside the nucleus. */
            const float cutoff = n > 1 ? (1.0f - top_p) / (float)(n - 1) : 0.0f;
            for (int64_t i = 0; i < n; i++)
                if (p[i] >= cutoff) c[m++] = (eco_sampler_cand){p[i], (int32_t)i};
            if (m == 0)
                for (int64_t i = 0; i < n; i++) c[m++] = (eco_sampler_cand){p[i], (int32_t)i};
        } else {
            for (int64_t i = 0; i < n; i++) c[i] = (eco_sampler_cand){p[i], (int32_t)i};
            m = n; /* no filtering: draw in id order, no sort needed */
        }
        double mass = 0;
        if (m < n || top_p < 1.0f) {
            qsort(c, (size_t)m, sizeof *c, cmp_cand);
            for (int64_t i = 0; i < m; i++) mass += c[i].p;
            if (top_p < 1.0f) { /* smallest prefix whose (renormalised) mass reaches top_p */
                double acc = 0;
                for (int64_t i = 0; i < m; i++) {
                    acc += c[i].p;
                    if (acc >= (double)top_p * mass) {
                        m = i + 1;
                        break;
                    }
                }
                mass = acc;
            }
        } else {
            mass = 1.0;
        }
        chosen = draw(&s->rng, c, m, mass);
    }
    if (logprob) *logprob = log_prob_of(logits, n, chosen);
    return (int32_t)chosen;
}

eco_status eco_sampler_check_logits(const float *logits, int64_t n, int64_t position) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(logits[i]))
            return eco_error(
                ECO_STATUS_ERANGE,
                "logits at position %lld are not finite (token %lld: %g): the model's weights or "
                "adapter hold NaN or infinite values, or overflow",
                (long long)position, (long long)i, (double)logits[i]);
    return ECO_STATUS_OK;
}
