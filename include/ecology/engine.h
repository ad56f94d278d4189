/*
 * engine: the llama CPU engine, an eco_engine over a model folder (config.json,
 * weights, tokenizer.json). infer() encodes the prompt, runs it in one batched pass,
 * then samples and decodes one token at a time until max_tokens, an EOS token or a stop
 * sequence, recording each token's log-probability and the prompt and decode times.
 */
#ifndef ECOLOGY_ENGINE_H
#define ECOLOGY_ENGINE_H

#include "ecology/contracts.h"
#include "ecology/model.h"
#include "ecology/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opens the model folder; the engine's genome id is `id` (NULL: the folder's name).
 * Caller destroys with eco_engine_destroy. */
eco_status eco_llama_engine_open(const char *dir, const char *id, eco_engine **out);
/* The same with a LoRA adapter (a PEFT folder) attached unmerged; adapter_dir NULL is
 * eco_llama_engine_open. The adapter is loaded against the model's config and attached with
 * eco_model_set_adapter; the engine owns what it keeps of it (the model's f32 copies) and
 * frees it with the engine. The default id (id NULL) is "<model folder>+<adapter folder>".
 * Errors: those of eco_llama_engine_open, eco_lora_adapter_load (ENOTFOUND, EFORMAT,
 * EUNSUPPORTED) and eco_model_set_adapter. */
eco_status eco_llama_engine_open_adapter(const char *dir, const char *adapter_dir, const char *id,
                                         eco_engine **out);

/* The element type of the KV caches the engine's infer builds: ECO_DTYPE_F32 or
 * ECO_DTYPE_F16; anything else (ECO_DTYPE_F32 for an f32 model, ECO_DTYPE_F16 for a
 * 16-bit one) is what eco_kv_cache_create chooses, the default. EINVAL for other types. */
eco_status eco_llama_engine_set_kv_dtype(eco_engine *e, eco_dtype dtype);

/* One request's generation on a llama engine, step by step: the infer loop (sampling,
 * EOS, stop sequences, on_token, finish reasons) with the forward of each new token left
 * to the caller, so that several requests can decode together (eco_model_decode_batch).
 * infer is exactly begin, then step and a one-token forward in turn, then end.
 *
 *   begin   checks req, encodes the prompt, makes the KV cache and runs the prompt with
 *           adapter `ad` (NULL: the bare base; infer passes the attached one); on error
 *           *out is NULL and *resp is as infer leaves it on that error
 *   step    takes the logits of the last position run (eco_llama_gen_logits): samples,
 *           records, checks stops and calls on_token; *more true with *next the token to
 *           run at eco_llama_gen_cache's next position (its logits into
 *           eco_llama_gen_logits), false when generation is over
 *   end     finishes the response (st OK) or frees it (an error from step or the
 *           caller's forward, returned as it is) and frees the state
 * req and resp are borrowed until end. begin runs the model (not concurrently with other
 * forwards on it); step does not touch the model. */
typedef struct eco_llama_gen eco_llama_gen;
eco_status eco_llama_gen_begin(eco_engine *e, const eco_model_adapter *ad,
                               const eco_infer_request *req, eco_infer_response *resp,
                               eco_llama_gen **out);
/* eco_llama_gen_begin taking the prompt's pass from `same` (may be NULL), a generation begun
 * on this engine with the same prompt text, add_special and adapter that has not stepped
 * yet: its cache and logits are copied instead of running the prompt again (the same
 * numbers: the pass is deterministic), so G samples of one prompt cost one prompt pass.
 * When same does not match, the prompt is run. */
eco_status eco_llama_gen_begin_shared(eco_engine *e, const eco_model_adapter *ad,
                                      const eco_infer_request *req, eco_infer_response *resp,
                                      const eco_llama_gen *same, eco_llama_gen **out);
eco_status eco_llama_gen_step(eco_llama_gen *g, int32_t *next, bool *more);
eco_kv_cache *eco_llama_gen_cache(eco_llama_gen *g);
float *eco_llama_gen_logits(eco_llama_gen *g);
eco_status eco_llama_gen_end(eco_llama_gen *g, eco_status st);

/* Runs reqs[n] on a llama engine (engine.h) with adapter ad (NULL: the bare base) as one
 * batch: each distinct prompt is run alone, once (eco_llama_gen_begin_shared: a request
 * repeating an earlier one's prompt copies its pass), then every unfinished sequence
 * decodes its next token in one eco_model_decode_batch step, until all are done. resps[n]
 * are as n separate infers with ad attached would fill them (bit-identical: the batched
 * step is the one-token forward's many-row case). On error every response is freed and
 * zeroed, and the message names the request. */
eco_status eco_llama_generate_batch(eco_engine *e, const eco_model_adapter *ad,
                                    const eco_infer_request *reqs, size_t n,
                                    eco_infer_response *resps);

/* How well a model predicts a text (eco_model_text_nll). */
typedef struct eco_text_nll {
    double nll_nats;      /* summed −ln p(token | the tokens before it in its window) */
    int64_t tokens;       /* tokens of the text (no BOS), each predicted once */
    int64_t bytes;        /* the text's bytes */
    int64_t windows;      /* forward passes */
    double bits_per_byte; /* nll_nats / ln 2 / bytes */
} eco_text_nll;

/* Scores text[len] (UTF-8) under m with tok: the text is encoded whole without specials,
 * then cut into windows of at most ctx positions, each BOS (the config's bos_token_id)
 * followed by the next ctx − 1 tokens, and every token's negative log-likelihood given the
 * tokens before it in its window is summed (log-softmax in double over f32 logits). Bits
 * per byte divide by the bytes, not the tokens, so models with different tokenizers
 * compare. EINVAL: NULL arguments, an empty text, ctx outside [2,
 * max_position_embeddings], no usable BOS, a tokenizer larger than the model's vocabulary;
 * errors of eco_tokenizer_encode and eco_model_forward. Nothing is kept. */
eco_status eco_model_text_nll(eco_model *m, const eco_tokenizer *tok, const char *text, size_t len,
                              int64_t ctx, eco_text_nll *out);

/* Borrowed views of an open llama engine's parts (for the CLI and tests). */
eco_model *eco_llama_engine_model(eco_engine *e);
const eco_tokenizer *eco_llama_engine_tokenizer(const eco_engine *e);

#ifdef __cplusplus
}
#endif
#endif
