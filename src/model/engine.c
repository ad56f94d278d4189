/* The llama CPU engine: eco_engine over a model folder. */
#include "ecology/engine.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/sampler.h"

typedef struct llama_engine {
    eco_engine base; /* first member: eco_engine* casts to llama_engine* */
    eco_genome genome;
    eco_model *model;
    eco_tokenizer *tok;
    int32_t eos[ECO_MAX_EOS + 3];
    int n_eos;
    eco_token_vocab *vocab; /* the tokens' bytes, built at the first constrained request */
    bool kv_typed;          /* kv_dtype chosen by eco_llama_engine_set_kv_dtype */
    eco_dtype kv_dtype;
} llama_engine;

static const eco_genome *engine_genome(const eco_engine *self) {
    return &((const llama_engine *)self)->genome;
}

static bool is_eos(const llama_engine *e, int32_t t) {
    for (int i = 0; i < e->n_eos; i++)
        if (e->eos[i] == t) return true;
    return false;
}

/* Earliest occurrence of any stop sequence in text[0..len), or -1. */
static long find_stop(const char *text, size_t len, const eco_infer_request *req) {
    long best = -1;
    for (size_t i = 0; i < req->n_stop; i++) {
        const char *s = req->stop[i];
        size_t sl = strlen(s);
        if (sl == 0 || sl > len) continue;
        for (size_t at = 0; at + sl <= len; at++) {
            if (memcmp(text + at, s, sl) == 0) {
                if (best < 0 || (long)at < best) best = (long)at;
                break;
            }
        }
    }
    return best;
}

/* Decodes the tokens generated so far into resp->text/text_len (replacing what was there)
 * and cuts it before the earliest stop sequence; *stopped says whether one was found. */
static eco_status decode_generated(const llama_engine *e, const eco_infer_request *req,
                                   eco_infer_response *resp, bool *stopped) {
    free(resp->text);
    resp->text = NULL;
    resp->text_len = 0;
    eco_status st = eco_tokenizer_decode(e->tok, resp->tokens, resp->n_tokens, true, &resp->text,
                                         &resp->text_len);
    if (st != ECO_STATUS_OK) return st;
    long at = find_stop(resp->text, resp->text_len, req);
    *stopped = at >= 0;
    if (*stopped) {
        resp->text[at] = '\0';
        resp->text_len = (size_t)at;
    }
    return ECO_STATUS_OK;
}

/* A decoding constraint's mask over logits (see eco_infer_request.constraint): *end when
 * the output is complete and no token may follow. */
static eco_status constrain(llama_engine *e, const eco_infer_request *req, float *logits,
                            bool *end) {
    *end = false;
    eco_status st = ECO_STATUS_OK;
    /* Rows of a batch step on several threads at once over one engine: the vocabulary is
     * built once, under a lock, and only read afterwards. */
    static pthread_mutex_t vocab_mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&vocab_mu);
    if (!e->vocab) st = eco_tokenizer_token_vocab(e->tok, e->eos, (size_t)e->n_eos, &e->vocab);
    pthread_mutex_unlock(&vocab_mu);
    if (st) return eco_error_wrap(st, "infer: constraint");
    size_t n_allowed = 0;
    bool complete = false;
    st = req->constraint->mask(req->constraint, e->vocab, logits, &n_allowed, &complete);
    if (st) return eco_error_wrap(st, "infer: constraint");
    if (n_allowed == 0 && !complete)
        return eco_error(ECO_STATUS_EINVAL,
                         "infer: constraint: no token of the vocabulary may come next");
    *end = n_allowed == 0;
    return ECO_STATUS_OK;
}

/* One request's generation (engine.h): the infer loop's state between tokens. */
struct eco_llama_gen {
    llama_engine *e;
    const eco_model_adapter *ad;
    const eco_infer_request *req; /* borrowed */
    eco_infer_response *resp;     /* borrowed: filled as tokens come */
    eco_sampler sampler;
    int64_t tok_vocab; /* ids the tokenizer can decode: the sampler's candidates */
    eco_kv_cache *kv;
    float *logits; /* [vocab] of the last position run */
    double t1;     /* when decoding began (after the prompt) */
};

/* Ends g: on success the response's final text and decode time; on error the response
 * freed (finish_reason "context" kept for a context miss). Frees g. */
static eco_status gen_finish(eco_llama_gen *g, eco_status st, bool context_miss, size_t n_prompt) {
    eco_infer_response *resp = g->resp;
    if (st == ECO_STATUS_OK) {
        resp->decode_ms = 1e3 * (eco_now() - g->t1);
        bool stopped;
        st = decode_generated(g->e, g->req, resp, &stopped);
    }
    free(g->logits);
    eco_kv_cache_free(g->kv);
    eco_sampler_free(&g->sampler);
    free(g);
    if (st != ECO_STATUS_OK) eco_infer_response_free(resp);
    if (context_miss) {
        resp->finish_reason = "context";
        resp->n_prompt_tokens = n_prompt;
    }
    return st;
}

/* Whether same ran the prompt req asks for, with ad, and has not sampled yet: its cache and
 * logits are then exactly what running the prompt would give. */
static bool can_share(const eco_llama_gen *same, const eco_model_adapter *ad,
                      const eco_infer_request *req) {
    return same && same->ad == ad && same->resp->n_tokens == 0 &&
           same->req->add_special == req->add_special && same->req->prompt && req->prompt &&
           strcmp(same->req->prompt, req->prompt) == 0;
}

eco_status eco_llama_gen_begin(eco_engine *self, const eco_model_adapter *ad,
                               const eco_infer_request *req, eco_infer_response *resp,
                               eco_llama_gen **out) {
    return eco_llama_gen_begin_shared(self, ad, req, resp, NULL, out);
}

eco_status eco_llama_gen_begin_shared(eco_engine *self, const eco_model_adapter *ad,
                                      const eco_infer_request *req, eco_infer_response *resp,
                                      const eco_llama_gen *same, eco_llama_gen **out) {
    llama_engine *e = (llama_engine *)self;
    *out = NULL;
    memset(resp, 0, sizeof *resp);
    if (!req->prompt) return eco_error(ECO_STATUS_EINVAL, "infer: prompt is NULL");
    if (req->max_tokens <= 0)
        return eco_error(ECO_STATUS_EINVAL, "infer: max_tokens %d must be > 0", req->max_tokens);
    const eco_model_config *cfg = eco_model_get_config(e->model);
    const int64_t vocab = cfg->vocab_size;
    eco_llama_gen *g = calloc(1, sizeof *g);
    if (!g) return eco_error(ECO_STATUS_ENOMEM, "infer: out of memory");
    g->e = e;
    g->ad = ad;
    g->req = req;
    g->resp = resp;
    /* Embedding tables are often padded past the tokenizer's vocabulary (Qwen2: 151,936 rows
     * for 151,665 tokens; our random presets: real sizes over the byte tokenizer). Only ids
     * the tokenizer can decode are candidates: the sampler sees the first tok_vocab logits. */
    g->tok_vocab = eco_tokenizer_vocab_size(e->tok);

    eco_sampler_params sp = {req->temperature, req->top_k, req->top_p, req->seed};
    eco_status st = eco_sampler_init(&g->sampler, &sp, g->tok_vocab);
    if (st != ECO_STATUS_OK) {
        free(g);
        return st;
    }

    int32_t *prompt = NULL;
    size_t n_prompt = 0;
    bool context_miss = false;
    resp->tokens = eco_malloc_array((size_t)req->max_tokens, sizeof(int32_t));
    resp->logprobs = eco_malloc_array((size_t)req->max_tokens, sizeof(float));
    g->logits = eco_malloc_array((size_t)vocab, sizeof(float));
    if (!resp->tokens || !resp->logprobs || !g->logits) {
        st = eco_error(ECO_STATUS_ENOMEM, "infer: out of memory");
        goto fail;
    }
    st = eco_tokenizer_encode(e->tok, req->prompt, strlen(req->prompt), req->add_special, &prompt,
                              &n_prompt);
    if (st != ECO_STATUS_OK) goto fail;
    if (n_prompt == 0) {
        st = eco_error(ECO_STATUS_EINVAL, "infer: the prompt encodes to no tokens");
        goto fail;
    }
    /* The prompt and every token generated, the last included, must fit the context
     * (eco_config_check_context, the rule logits and training follow too). The last
     * token is never run: the cache holds one position less. */
    const int64_t max_seq = (int64_t)n_prompt + req->max_tokens;
    st = eco_config_check_context(cfg, max_seq, "infer: prompt of %zu tokens + %d to generate",
                                  n_prompt, req->max_tokens);
    if (st != ECO_STATUS_OK) {
        context_miss = true; /* contracts.h: ERANGE marked "context" */
        goto fail;
    }
    st = e->kv_typed ? eco_kv_cache_create_typed(e->model, max_seq - 1, e->kv_dtype, &g->kv)
                     : eco_kv_cache_create(e->model, max_seq - 1, &g->kv);
    if (st != ECO_STATUS_OK) goto fail;
    resp->n_prompt_tokens = n_prompt;

    double t0 = eco_now();
    if (can_share(same, ad, req) && same->kv->len == (int64_t)n_prompt) {
        st = eco_kv_cache_copy(e->model, g->kv, same->kv);
        if (st == ECO_STATUS_OK) memcpy(g->logits, same->logits, (size_t)vocab * sizeof(float));
    } else {
        st = eco_model_forward_adapter(e->model, ad, g->kv, prompt, (int64_t)n_prompt, g->logits,
                                       false);
    }
    if (st != ECO_STATUS_OK) goto fail;
    g->t1 = eco_now();
    resp->prompt_ms = 1e3 * (g->t1 - t0);
    resp->finish_reason = "length";
    free(prompt);
    *out = g;
    return ECO_STATUS_OK;
fail:
    free(prompt);
    return gen_finish(g, st, context_miss, n_prompt);
}

eco_status eco_llama_gen_step(eco_llama_gen *g, int32_t *next, bool *more) {
    const llama_engine *e = g->e;
    const eco_infer_request *req = g->req;
    eco_infer_response *resp = g->resp;
    *more = false;
    /* Non-finite logits (NaN weights, an overflowing adapter) would pick token 0 with
     * a NaN log-probability: an error naming where, not text. */
    eco_status st = eco_sampler_check_logits(g->logits, g->tok_vocab, g->kv->len - 1);
    if (st != ECO_STATUS_OK) return eco_error_wrap(st, "infer");
    bool end = false; /* structured output: mask before sampling, tell the token after */
    if (req->constraint && (st = constrain(g->e, req, g->logits, &end)) != ECO_STATUS_OK) return st;
    if (end) {
        resp->finish_reason = "stop";
        return ECO_STATUS_OK;
    }
    float lp;
    int32_t tok = eco_sampler_sample(&g->sampler, g->logits, &lp);
    if ((req->stop_at_eos || req->constraint) && is_eos(e, tok)) {
        resp->finish_reason = "stop";
        return ECO_STATUS_OK;
    }
    if (req->constraint && (st = req->constraint->accept(req->constraint, e->vocab, tok)))
        return st;
    resp->tokens[resp->n_tokens] = tok;
    resp->logprobs[resp->n_tokens] = lp;
    resp->n_tokens++;
    /* Stop sequences may span tokens: check the decoded text (which on_token gets too). */
    bool stopped = false;
    if (req->n_stop > 0 || req->on_token)
        if ((st = decode_generated(e, req, resp, &stopped)) != ECO_STATUS_OK) return st;
    if (req->on_token) {
        eco_infer_step step = {.index = resp->n_tokens - 1,
                               .n_prompt_tokens = resp->n_prompt_tokens,
                               .token = tok,
                               .logprob = lp,
                               .logits = g->logits,
                               .n_logits = g->tok_vocab,
                               .text = resp->text,
                               .text_len = resp->text_len,
                               .stopped = stopped,
                               .tokenizer = e->tok};
        if (!req->on_token(req->on_token_ctx, &step)) {
            resp->finish_reason = "cancelled";
            return ECO_STATUS_OK;
        }
    }
    if (stopped) {
        resp->finish_reason = "stop";
        return ECO_STATUS_OK;
    }
    if (resp->n_tokens == (size_t)req->max_tokens) return ECO_STATUS_OK;
    *next = tok;
    *more = true;
    return ECO_STATUS_OK;
}

eco_kv_cache *eco_llama_gen_cache(eco_llama_gen *g) { return g->kv; }
float *eco_llama_gen_logits(eco_llama_gen *g) { return g->logits; }

eco_status eco_llama_gen_end(eco_llama_gen *g, eco_status st) {
    return gen_finish(g, st, false, 0);
}

static eco_status engine_infer(eco_engine *self, const eco_infer_request *req,
                               eco_infer_response *resp) {
    llama_engine *e = (llama_engine *)self;
    const eco_model_adapter *ad = eco_model_attached_adapter(e->model);
    eco_llama_gen *g = NULL;
    eco_status st = eco_llama_gen_begin(self, ad, req, resp, &g);
    if (st != ECO_STATUS_OK) return st;
    for (;;) {
        int32_t tok = 0;
        bool more = false;
        if ((st = eco_llama_gen_step(g, &tok, &more)) != ECO_STATUS_OK || !more) break;
        st = eco_model_forward_adapter(e->model, ad, g->kv, &tok, 1, g->logits, false);
        if (st != ECO_STATUS_OK) break;
    }
    return eco_llama_gen_end(g, st);
}

static void engine_destroy(eco_engine *self) {
    llama_engine *e = (llama_engine *)self;
    if (!e) return;
    eco_model_free(e->model);
    eco_tokenizer_free(e->tok);
    eco_token_vocab_free(e->vocab);
    free(e->genome.id); /* the engine's genome holds only these two strings */
    free(e->genome.interface_version);
    free(e);
}

/* The last path component of dir (trailing slashes ignored): start and length. */
static void base_name(const char *dir, const char **start, int *len) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    const char *s = dir + n;
    while (s > dir && s[-1] != '/') s--;
    *start = s;
    *len = (int)(dir + n - s);
}

eco_status eco_llama_engine_open(const char *dir, const char *id, eco_engine **out) {
    return eco_llama_engine_open_adapter(dir, NULL, id, out);
}

eco_status eco_llama_engine_open_adapter(const char *dir, const char *adapter_dir, const char *id,
                                         eco_engine **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "engine open: NULL argument");
    *out = NULL;
    if (!dir) return eco_error(ECO_STATUS_EINVAL, "engine open: NULL model folder");
    llama_engine *e = calloc(1, sizeof *e);
    if (!e) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
    e->base.genome = engine_genome;
    e->base.infer = engine_infer;
    e->base.destroy = engine_destroy;
    eco_status st = eco_model_load(dir, &e->model);
    if (st == ECO_STATUS_OK) st = eco_tokenizer_load(dir, &e->tok);
    if (st != ECO_STATUS_OK) {
        engine_destroy(&e->base);
        return st;
    }
    const eco_model_config *cfg = eco_model_get_config(e->model);
    if (eco_tokenizer_vocab_size(e->tok) > cfg->vocab_size) {
        engine_destroy(&e->base);
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: tokenizer has %lld tokens but the model only %lld embeddings", dir,
                         (long long)eco_tokenizer_vocab_size(e->tok), (long long)cfg->vocab_size);
    }
    if (adapter_dir) {
        /* The model keeps f32 copies of A and B, so the loaded file can go at once. */
        eco_lora_adapter *a = NULL;
        eco_status ast = eco_lora_adapter_load(adapter_dir, cfg, &a);
        if (ast == ECO_STATUS_OK) ast = eco_model_set_adapter(e->model, a);
        eco_lora_adapter_free(a);
        if (ast != ECO_STATUS_OK) {
            engine_destroy(&e->base);
            return ast;
        }
    }
    for (int i = 0; i < cfg->n_eos; i++) e->eos[e->n_eos++] = (int32_t)cfg->eos_token_ids[i];
    if (e->n_eos == 0) { /* no eos in config.json: fall back to the tokenizer's usual names */
        static const char *const names[] = {"<|eos|>", "</s>", "<|endoftext|>"};
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
            int32_t t = eco_tokenizer_token_id(e->tok, names[i]);
            if (t >= 0) e->eos[e->n_eos++] = t;
        }
    }
    const char *ms = id ? id : "", *as = "";
    int ml = id ? (int)strlen(id) : 0, al = 0;
    if (!id) base_name(dir, &ms, &ml);
    if (!id && adapter_dir) base_name(adapter_dir, &as, &al);
    size_t id_len = (size_t)ml + (size_t)al + 2;
    e->genome.id = malloc(id_len);
    e->genome.interface_version = eco_strdup("text-generation@1");
    if (!e->genome.id || !e->genome.interface_version) {
        engine_destroy(&e->base);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
    }
    if (!id && adapter_dir)
        snprintf(e->genome.id, id_len, "%.*s+%.*s", ml, ms, al, as);
    else
        snprintf(e->genome.id, id_len, "%.*s", ml, ms);
    e->genome.n_params = eco_config_param_count(cfg);
    e->genome.bytes = eco_weights_nbytes(eco_model_get_weights(e->model));
    *out = &e->base;
    return ECO_STATUS_OK;
}

eco_status eco_llama_engine_set_kv_dtype(eco_engine *e, eco_dtype dtype) {
    if (!e) return eco_error(ECO_STATUS_EINVAL, "engine: NULL argument");
    if (dtype != ECO_DTYPE_F32 && dtype != ECO_DTYPE_F16)
        return eco_error(ECO_STATUS_EINVAL, "engine: KV cache dtype %s (f32 or f16 only)",
                         eco_dtype_name(dtype));
    llama_engine *le = (llama_engine *)e;
    le->kv_typed = true;
    le->kv_dtype = dtype;
    return ECO_STATUS_OK;
}

eco_model *eco_llama_engine_model(eco_engine *e) { return ((llama_engine *)e)->model; }
const eco_tokenizer *eco_llama_engine_tokenizer(const eco_engine *e) {
    return ((const llama_engine *)e)->tok;
}
