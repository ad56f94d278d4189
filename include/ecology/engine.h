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

/* Borrowed views of an open llama engine's parts (for the CLI and tests). */
eco_model *eco_llama_engine_model(eco_engine *e);
const eco_tokenizer *eco_llama_engine_tokenizer(const eco_engine *e);

#ifdef __cplusplus
}
#endif
#endif
