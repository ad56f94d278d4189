/*
 * The per-base batcher of the engine pool (include/ecology/runtime.h): continuous batching
 * of the infers on the engines of one base (any mix of its adapters and the base itself).
 *
 * Every infer runs in its caller's thread: it waits until the model is free (no prompt
 * and no step running), runs its own prompt with its own adapter (eco_llama_gen_begin),
 * and joins the batch at that step boundary. Then, in turn, it samples its next token in
 * its own thread (eco_llama_gen_step: sampling, stops, on_token, all outside the lock) and
 * marks it pending; when every row of the batch is pending (or max_batch rows are), one of
 * the waiting threads runs a decode step for up to max_batch pending rows, those pending
 * longest first (eco_model_decode_batch: one pass over the base's weights, rows grouped
 * by adapter) and wakes them. A row that finishes (EOS, stop, max_tokens, cancelled, an
 * error) leaves at once; the others go on. A prompt waits for the step running and delays
 * the next one by its own length, so new requests join between two steps.
 *
 * Each row's tokens are those of eco_llama_gen run alone (the decode step's rows are
 * bit-identical to one-token forwards), so an infer's response does not depend on what
 * else is batched with it.
 */
#ifndef ECO_RUNTIME_BATCH_H
#define ECO_RUNTIME_BATCH_H

#include "ecology/engine.h"

typedef struct pool_batcher pool_batcher;

/* A batcher for the model of the llama engine `engine` (borrowed), running at most
 * max_batch rows a step (0: ECO_POOL_DEFAULT_MAX_BATCH). NULL on ENOMEM. */
pool_batcher *pool_batcher_new(eco_engine *engine, size_t max_batch);
/* No infer may be running. NULL is fine. */
void pool_batcher_free(pool_batcher *bt);

/* The infer of `engine` (the batcher's) with adapter ad (NULL: the bare base), batched with
 * the concurrent infers of this batcher; the contract of eco_engine.infer. */
eco_status pool_batcher_infer(pool_batcher *bt, const eco_model_adapter *ad,
                              const eco_infer_request *req, eco_infer_response *resp);

/* Infers waiting for their prompt's turn on the model (the base's queue: not yet in the
 * batch). */
size_t pool_batcher_queued(pool_batcher *bt);

/* Decode steps run and rows they ran, since the batcher was made. */
void pool_batcher_counts(pool_batcher *bt, uint64_t *steps, uint64_t *rows);

#endif
