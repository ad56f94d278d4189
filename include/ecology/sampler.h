/*
 * sampler: picks the next token from logits. Greedy when temperature is 0; otherwise
 * temperature, then top-k, then top-p (nucleus) filtering, then a draw from the project
 * RNG, so the same seed gives the same tokens on every run and platform.
 * The log-probability returned is that of the chosen token under the model's own
 * distribution (log-softmax of the raw logits), which is what calibration needs.
 */
#ifndef ECOLOGY_SAMPLER_H
#define ECOLOGY_SAMPLER_H

#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eco_sampler_params {
    float temperature; /* 0 = greedy */
    int top_k;         /* 0 = off */
    float top_p;       /* 1 = off; in (0, 1] */
    uint64_t seed;
} eco_sampler_params;

/* A candidate token and its probability (after temperature). */
typedef struct eco_sampler_cand {
    float p;
    int32_t id;
} eco_sampler_cand;

typedef struct eco_sampler {
    eco_sampler_params params;
    eco_rng rng;
    int64_t vocab;
    float *probs;           /* [vocab] scratch */
    eco_sampler_cand *cand; /* [vocab] scratch */
} eco_sampler;

/* Checks params (temperature >= 0, top_k >= 0, 0 < top_p <= 1): ECO_STATUS_EINVAL. */
eco_status eco_sampler_init(eco_sampler *s, const eco_sampler_params *p, int64_t vocab);
void eco_sampler_free(eco_sampler *s);
/* Chooses a token from logits[vocab]; *logprob (may be NULL) gets its log-probability. */
int32_t eco_sampler_sample(eco_sampler *s, const float *logits, float *logprob);
/* ERANGE when logits[n] hold a NaN or an infinity (weights or an adapter that overflow),
 * naming `position` (the sequence position whose next-token logits these are) and the
 * first bad entry; call it before eco_sampler_sample, which assumes finite logits. */
eco_status eco_sampler_check_logits(const float *logits, int64_t n, int64_t position);

#ifdef __cplusplus
}
#endif
#endif
