/*
 * run_choice: choice cases. Every option is scored by one call of a scorer (evaluator.h:
 * summed log-probability of its tokens after the prompt, not length-normalised — the "acc"
 * of lm-evaluation-harness and HELM for multiple choice); the highest wins, the first on a
 * tie; the confidence is the winner's softmax probability over the options. Also the scorer
 * over a llama engine, which runs the prompt the options share once and scores each option
 * from that KV state.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/engine.h"
#include "ecology/sampler.h"
#include "ecology/tensor.h"
#include "evaluator/run_internal.h"

eco_status run_choice(const eco_eval_corpus *corpus, const eco_eval_case *c,
                      const eco_eval_scorer *sc, int *chosen, double *confidence,
                      char **over_context) {
    const char *label = corpus->label ? corpus->label : "corpus";
    if (!sc || !sc->score)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s:%lld: a choice case needs a scorer (caps.scorer) and this engine "
                         "has none",
                         label, (long long)c->line);
    *over_context = NULL;
    eco_eval_option_score s[ECO_EVAL_MAX_OPTIONS];
    memset(s, 0, sizeof s);
    eco_status st = sc->score(sc->ctx, c->prompt, (const char *const *)c->options, c->n_options, s);
    if (st != ECO_STATUS_OK) return eco_error_wrap(st, "%s:%lld", label, (long long)c->line);
    for (size_t i = 0; i < c->n_options; i++) {
        if (s[i].context <= 0) continue;
        /* one option the model cannot read: the options cannot be compared, the case fails */
        char buf[200];
        snprintf(buf, sizeof buf,
                 "options[%zu]: prompt and option of %zu tokens exceed the model's context of "
                 "%lld",
                 i, s[i].n_positions, (long long)s[i].context);
        if (!(*over_context = eco_strdup(buf)))
            return eco_error(ECO_STATUS_ENOMEM, "out of memory");
        *chosen = -1;
        *confidence = 0.0;
        return ECO_STATUS_OK;
    }
    double lp[ECO_EVAL_MAX_OPTIONS];
    int best = 0;
    for (size_t i = 0; i < c->n_options; i++) {
        lp[i] = s[i].logprob;
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

/* Σ over tokens t in [from, n) of log p(ids[t] | ids[<t]): the logits that score token t are
 * row(t − 1). */
typedef struct rows {
    const float *last; /* [vocab] logits of position shared − 1 (the shared run's last) */
    const float *rest; /* [n − 1 − shared, vocab] logits of positions shared .. n − 2 */
    int64_t shared, vocab, tok_vocab;
} rows;

static const float *row_of(const rows *r, int64_t pos) {
    return pos == r->shared - 1 ? r->last : r->rest + (size_t)(pos - r->shared) * (size_t)r->vocab;
}

static eco_status sum_logprobs(const rows *r, const int32_t *ids, size_t from, size_t n,
                               double *out) {
    double sum = 0.0;
    for (size_t t = from; t < n; t++) {
        const float *row = row_of(r, (int64_t)t - 1);
        eco_status st = eco_sampler_check_logits(row, r->tok_vocab, (int64_t)t - 1);
        if (st != ECO_STATUS_OK) return st;
        if (ids[t] < 0 || ids[t] >= r->tok_vocab)
            return eco_error(ECO_STATUS_ERANGE, "score: token %d outside the vocabulary", ids[t]);
        sum += (double)row[ids[t]] - eco_logsumexp(row, r->tok_vocab);
    }
    *out = sum;
    return ECO_STATUS_OK;
}

/* The options' encodings: for option i, ids[i][0..n[i]) = encode(prompt + option) and p[i]
 * its longest common prefix with encode(prompt). */
typedef struct encoded {
    int32_t *ids[ECO_EVAL_MAX_OPTIONS];
    size_t n[ECO_EVAL_MAX_OPTIONS], p[ECO_EVAL_MAX_OPTIONS];
} encoded;

static eco_status encode_options(const eco_tokenizer *tok, const char *prompt,
                                 const char *const *options, size_t n_options, encoded *en) {
    int32_t *ctx_ids = NULL;
    size_t n_ctx = 0, pl = strlen(prompt);
    char *text = NULL;
    eco_status st = eco_tokenizer_encode(tok, prompt, pl, true, &ctx_ids, &n_ctx);
    for (size_t i = 0; st == ECO_STATUS_OK && i < n_options; i++) {
        size_t cl = strlen(options[i]);
        char *t = realloc(text, pl + cl + 1);
        if (!t) {
            st = eco_error(ECO_STATUS_ENOMEM, "score: out of memory");
            break;
        }
        text = t;
        memcpy(text, prompt, pl);
        memcpy(text + pl, options[i], cl + 1);
        if ((st = eco_tokenizer_encode(tok, text, pl + cl, true, &en->ids[i], &en->n[i])) !=
            ECO_STATUS_OK) {
            st = eco_error_wrap(st, "options[%zu]", i);
            break;
        }
        size_t p = 0; /* the longest common prefix of the two encodings */
        while (p < n_ctx && p < en->n[i] && ctx_ids[p] == en->ids[i][p]) p++;
        if (p == 0)
            st = eco_error(ECO_STATUS_EINVAL, "score: the prompt encodes to no leading token");
        en->p[i] = p;
    }
    free(ctx_ids);
    free(text);
    return st;
}

/* Begins both scorers: refuses an option count outside 1..ECO_EVAL_MAX_OPTIONS (touching
 * nothing), else zeroes out[] and en and encodes the options into en (freed by the caller). */
static eco_status score_begin(const eco_tokenizer *tok, const char *prompt,
                              const char *const *options, size_t n_options,
                              eco_eval_option_score *out, encoded *en) {
    if (n_options == 0 || n_options > ECO_EVAL_MAX_OPTIONS)
        return eco_error(ECO_STATUS_EINVAL, "score: %zu options (1..%d)", n_options,
                         ECO_EVAL_MAX_OPTIONS);
    memset(out, 0, n_options * sizeof *out);
    memset(en, 0, sizeof *en);
    return encode_options(tok, prompt, options, n_options, en);
}

/* Whether option i runs: it fits the model's context (else out->context says which) and has
 * tokens past the prompt (else it scores 0 over 0 tokens). Sets out->n_positions. */
static bool option_runs(const eco_model_config *cfg, const encoded *en, size_t i,
                        eco_eval_option_score *out) {
    out->n_positions = en->n[i];
    if ((int64_t)en->n[i] > cfg->max_position_embeddings) {
        out->context = cfg->max_position_embeddings;
        return false;
    }
    return en->p[i] != en->n[i];
}

/* The options share the tokens ids[i][0..shared) (every p[i] >= shared): those run once, with
 * the cache kept (eco_model_forward appends at kv->len); then, for each option, the cache is
 * cut back to `shared` (eco_kv_cache_truncate) and only its own tokens run. */
static eco_status llama_score(void *ctx, const char *prompt, const char *const *options,
                              size_t n_options, eco_eval_option_score *out) {
    eco_engine *e = ctx;
    eco_model *m = eco_llama_engine_model(e);
    const eco_tokenizer *tok = eco_llama_engine_tokenizer(e);
    const eco_model_config *cfg = eco_model_get_config(m);
    float *last = NULL, *rest = NULL;
    eco_kv_cache *kv = NULL;
    encoded en;
    eco_status st = score_begin(tok, prompt, options, n_options, out, &en);
    if (n_options == 0 || n_options > ECO_EVAL_MAX_OPTIONS) return st;
    /* which options run: those that fit the context and have tokens past the prompt */
    size_t shared = SIZE_MAX, max_run = 0, max_rest = 0;
    bool run[ECO_EVAL_MAX_OPTIONS] = {false};
    for (size_t i = 0; st == ECO_STATUS_OK && i < n_options; i++) {
        if (!(run[i] = option_runs(cfg, &en, i, &out[i]))) continue;
        if (en.p[i] < shared) shared = en.p[i];
        if (en.n[i] - 1 > max_run) max_run = en.n[i] - 1;
    }
    if (st != ECO_STATUS_OK || shared == SIZE_MAX) goto done; /* an error, or nothing to run */
    for (size_t i = 0; i < n_options; i++)
        if (run[i] && en.n[i] - 1 - shared > max_rest) max_rest = en.n[i] - 1 - shared;
    const int64_t vocab = cfg->vocab_size;
    last = eco_malloc_array((size_t)vocab, sizeof *last); /* [vocab] */
    rest = eco_malloc_array(max_rest ? max_rest : 1,
                            (size_t)vocab * sizeof *rest); /* [max_rest, vocab] */
    if (!last || !rest) {
        st = eco_error(ECO_STATUS_ENOMEM, "score: out of memory");
        goto done;
    }
    if ((st = eco_kv_cache_create(m, (int64_t)max_run, &kv)) != ECO_STATUS_OK) goto done;
    size_t first = 0; /* an option that runs: its first `shared` tokens are every option's */
    while (!run[first]) first++;
    if ((st = eco_model_forward(m, kv, en.ids[first], (int64_t)shared, last, false)) !=
        ECO_STATUS_OK)
        goto done;
    rows r = {last, rest, (int64_t)shared, vocab, eco_tokenizer_vocab_size(tok)};
    for (size_t i = 0; i < n_options && st == ECO_STATUS_OK; i++) {
        if (!run[i]) continue;
        eco_kv_cache_truncate(kv, (int64_t)shared);
        const size_t n_rest = en.n[i] - 1 - shared; /* positions shared .. n − 2 */
        if (n_rest > 0)
            st = eco_model_forward(m, kv, en.ids[i] + shared, (int64_t)n_rest, rest, true);
        if (st == ECO_STATUS_OK)
            st = sum_logprobs(&r, en.ids[i], en.p[i], en.n[i], &out[i].logprob);
        if (st != ECO_STATUS_OK) {
            st = eco_error_wrap(st, "options[%zu]", i);
            break;
        }
        out[i].n_tokens = en.n[i] - en.p[i];
    }
done:
    for (size_t i = 0; i < n_options; i++) free(en.ids[i]);
    free(last);
    free(rest);
    eco_kv_cache_free(kv);
    if (st != ECO_STATUS_OK) memset(out, 0, n_options * sizeof *out);
    return st;
}

/* The reference (eco_eval_llama_scorer_ref): each option on its own, one batched forward
 * over all of encode(prompt + option) in a fresh cache — the prompt runs once per option. */
static eco_status llama_score_ref(void *ctx, const char *prompt, const char *const *options,
                                  size_t n_options, eco_eval_option_score *out) {
    eco_engine *e = ctx;
    eco_model *m = eco_llama_engine_model(e);
    const eco_tokenizer *tok = eco_llama_engine_tokenizer(e);
    const eco_model_config *cfg = eco_model_get_config(m);
    encoded en;
    eco_status st = score_begin(tok, prompt, options, n_options, out, &en);
    if (n_options == 0 || n_options > ECO_EVAL_MAX_OPTIONS) return st;
    const int64_t vocab = cfg->vocab_size;
    for (size_t i = 0; st == ECO_STATUS_OK && i < n_options; i++) {
        if (!option_runs(cfg, &en, i, &out[i])) continue;
        /* positions 0..n−2 run; the logits of position t−1 score token t */
        const int64_t n_run = (int64_t)en.n[i] - 1;
        float *logits = eco_malloc_array((size_t)n_run, (size_t)vocab * sizeof(float));
        eco_kv_cache *kv = NULL;
        if (!logits) st = eco_error(ECO_STATUS_ENOMEM, "score: out of memory");
        if (st == ECO_STATUS_OK) st = eco_kv_cache_create(m, n_run, &kv);
        if (st == ECO_STATUS_OK) st = eco_model_forward(m, kv, en.ids[i], n_run, logits, true);
        if (st == ECO_STATUS_OK) {
            /* every row from the one batch: "last" is row 0 of shared = 1 */
            rows r = {logits, logits + (size_t)vocab, 1, vocab, eco_tokenizer_vocab_size(tok)};
            st = sum_logprobs(&r, en.ids[i], en.p[i], en.n[i], &out[i].logprob);
        }
        if (st == ECO_STATUS_OK)
            out[i].n_tokens = en.n[i] - en.p[i];
        else
            st = eco_error_wrap(st, "options[%zu]", i);
        free(logits);
        eco_kv_cache_free(kv);
    }
    for (size_t i = 0; i < n_options; i++) free(en.ids[i]);
    if (st != ECO_STATUS_OK) memset(out, 0, n_options * sizeof *out);
    return st;
}

void eco_eval_llama_scorer_ref(eco_engine *llama_engine, eco_eval_scorer *out) {
    out->score = llama_score_ref;
    out->ctx = llama_engine;
}

void eco_eval_llama_scorer(eco_engine *llama_engine, eco_eval_scorer *out) {
    /* a remote engine has no weights here to score with: no scorer */
    const eco_genome *g = llama_engine ? llama_engine->genome(llama_engine) : NULL;
    bool remote = g && g->kind == ECO_GENOME_KIND_REMOTE;
    out->score = remote ? NULL : llama_score;
    out->ctx = remote ? NULL : llama_engine;
}
