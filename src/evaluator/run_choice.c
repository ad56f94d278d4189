/*
 * run_choice: choice cases. Each option is scored by a scorer (evaluator.h: summed
 * log-probability of its tokens after the prompt, not length-normalised — the "acc" of
 * lm-evaluation-harness and HELM for multiple choice); the highest wins, the first on a
 * tie; the confidence is the winner's softmax probability over the options. Also the
 * scorer over a llama engine.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/engine.h"
#include "ecology/sampler.h"
#include "ecology/tensor.h"
#include "evaluator/run_internal.h"

eco_status run_choice(const eco_eval_corpus *corpus, const eco_eval_case *c,
                      const eco_eval_scorer *sc, int *chosen, double *confidence) {
    const char *label = corpus->label ? corpus->label : "corpus";
    if (!sc || !sc->score)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s:%lld: a choice case needs a scorer (caps.scorer) and this engine "
                         "has none",
                         label, (long long)c->line);
    double lp[ECO_EVAL_MAX_OPTIONS];
    int best = 0;
    for (size_t i = 0; i < c->n_options; i++) {
        size_t nt = 0;
        eco_status st = sc->score(sc->ctx, c->prompt, c->options[i], &lp[i], &nt);
        if (st != ECO_STATUS_OK)
            return eco_error_wrap(st, "%s:%lld: options[%zu]", label, (long long)c->line, i);
        if (isnan(lp[i]) || lp[i] > 1e-3) /* a sum of log-probabilities is <= 0, rounding aside */
            return eco_error(ECO_STATUS_EINVAL,
                             "%s:%lld: options[%zu]: the scorer gave log-probability %g", label,
                             (long long)c->line, i, lp[i]);
        if (lp[i] > lp[best]) best = (int)i;
    }
    /* softmax over the options, shifted by the maximum: p(best) = 1 / Σ exp(lp_i − lp_best) */
    double z = 0.0;
    for (size_t i = 0; i < c->n_options; i++)
        z += isinf(lp[i]) && isinf(lp[best]) ? 1.0 : exp(lp[i] - lp[best]);
    *chosen = best;
    *confidence = 1.0 / z;
    return ECO_STATUS_OK;
}

/* ---- the llama engine's scorer ---------------------------------------------------------- */

static eco_status llama_score(void *ctx, const char *prompt, const char *cont, double *logprob,
                              size_t *n_tokens) {
    eco_engine *e = ctx;
    eco_model *m = eco_llama_engine_model(e);
    const eco_tokenizer *tok = eco_llama_engine_tokenizer(e);
    const eco_model_config *cfg = eco_model_get_config(m);
    const int64_t vocab = cfg->vocab_size, tok_vocab = eco_tokenizer_vocab_size(tok);
    *logprob = 0.0;
    *n_tokens = 0;
    int32_t *ctx_ids = NULL, *all = NULL;
    size_t n_ctx = 0, n_all = 0;
    float *logits = NULL;
    eco_kv_cache *kv = NULL;
    char *text = NULL;
    size_t pl = strlen(prompt), cl = strlen(cont);
    eco_status st = eco_tokenizer_encode(tok, prompt, pl, true, &ctx_ids, &n_ctx);
    if (st != ECO_STATUS_OK) goto done;
    if (!(text = malloc(pl + cl + 1))) {
        st = eco_error(ECO_STATUS_ENOMEM, "score: out of memory");
        goto done;
    }
    memcpy(text, prompt, pl);
    memcpy(text + pl, cont, cl + 1);
    if ((st = eco_tokenizer_encode(tok, text, pl + cl, true, &all, &n_all)) != ECO_STATUS_OK)
        goto done;
    size_t p = 0; /* the longest common prefix of the two encodings */
    while (p < n_ctx && p < n_all && ctx_ids[p] == all[p]) p++;
    if (p == 0) {
        st = eco_error(ECO_STATUS_EINVAL, "score: the prompt encodes to no leading token");
        goto done;
    }
    if (p == n_all) goto done; /* nothing to score */
    if ((st = eco_config_check_context(cfg, (int64_t)n_all,
                                       "score: prompt and option of %zu tokens", n_all)) !=
        ECO_STATUS_OK)
        goto done;
    /* Positions 0..n_all−2 are run; the logits of position t−1 score token t. */
    const int64_t n_run = (int64_t)n_all - 1;
    if (!(logits = eco_malloc_array((size_t)n_run, (size_t)vocab * sizeof(float)))) {
        st = eco_error(ECO_STATUS_ENOMEM, "score: out of memory");
        goto done;
    }
    if ((st = eco_kv_cache_create(m, n_run, &kv)) != ECO_STATUS_OK) goto done;
    if ((st = eco_model_forward(m, kv, all, n_run, logits, true)) != ECO_STATUS_OK) goto done;
    double sum = 0.0;
    for (size_t t = p; t < n_all; t++) {
        const float *row = logits + (t - 1) * (size_t)vocab;
        if ((st = eco_sampler_check_logits(row, tok_vocab, (int64_t)t - 1)) != ECO_STATUS_OK)
            goto done;
        if (all[t] < 0 || all[t] >= tok_vocab) {
            st = eco_error(ECO_STATUS_ERANGE, "score: token %d outside the vocabulary", all[t]);
            goto done;
        }
        sum += (double)row[all[t]] - eco_logsumexp(row, tok_vocab);
    }
    *logprob = sum;
    *n_tokens = n_all - p;
done:
    free(ctx_ids);
    free(all);
    free(text);
    free(logits);
    eco_kv_cache_free(kv);
    return st;
}

void eco_eval_llama_scorer(eco_engine *llama_engine, eco_eval_scorer *out) {
    out->score = llama_score;
    out->ctx = llama_engine;
}
