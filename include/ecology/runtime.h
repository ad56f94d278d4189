/*
 * runtime: the engine pool, registered models as engines (the seed's model runtime).
 *
 * A pool loads the models a registry holds and hands out engines (contracts.h) over them:
 *
 *   ref ──resolve (every acquire)──► id ──resident?──► engine handle
 *                                       └─ no: checkout (verified) ─► load ─► resident
 *
 *   base / merged / distilled / quantized model   one llama engine over its checkout
 *                                                 (src/model/engine.c), loaded once
 *   remote model (kind "remote")                  an http engine (remote.h) over the endpoint
 *                                                 its genome records, the key read from the
 *                                                 environment variable it names
 *   adapter                                       its base's engine (loaded once, shared by
 *                                                 every adapter of that base) plus the
 *                                                 adapter's mapped PEFT file and its f32
 *                                                 copy (eco_model_adapter_create), applied
 *                                                 unmerged per request, so a hundred
 *                                                 adapters cost one base plus their own bytes
 *
 * Loading goes through eco_registry_checkout, so every object is verified (re-hashed, or
 * vouched for by the store's trust cache when the registry handle was opened with
 * trust_cache) before a loader reads a byte of it: a damaged object is EINTEGRITY, nothing
 * loaded.
 *
 * Residency: resident adapters are kept under adapter_budget_bytes (their tensor bytes,
 * adapter_model.safetensors after its header, mapped), least recently used out, loaded
 * again on first use; bases under max_bases the same way (a base goes out with its
 * resident adapters). An adapter or base in use (an engine acquired over it and not yet
 * released) is never evicted, so while engines are held the budget and max_bases may be
 * exceeded; the pool evicts down to them again as engines are released. Besides these
 * counts, each resident adapter holds an f32 copy of its A and B (eco_model_adapter: the
 * mapped file's tensor bytes again for an f32 adapter, twice them for a 16-bit one).
 *
 * Aliases: ref is resolved at every acquire (eco_registry_resolve reads the database), so
 * an alias moved by another process (promotion, rollback) is served from the next acquire
 * on, no restart; engines acquired before the move keep the model they were acquired on.
 *
 * Threads: every pool function may be called from several threads. The pool's own state
 * and its uses of the registry handle are under one pool mutex; a load holds it, so an
 * acquire that loads delays other acquires and releases for that long. A registry handle
 * is used by one thread at a time (registry.h): code that uses the pool's handle itself
 * must not do so while another thread may be in eco_pool_acquire (a thread that only
 * calls the pool and the registry in turn is fine; a server's other threads want a handle
 * of their own).
 * Infer calls on engines sharing one base are batched (src/runtime/batch.h): concurrent
 * infers on one base, any mix of its adapters and the base itself, each run their prompt
 * alone, then decode together, one token of each per step in one pass over the base's
 * weights (eco_model_decode_batch), joining and leaving at step boundaries; max_batch rows
 * a step at most. Each infer's tokens are exactly those it gets alone. Engines on
 * different bases run in parallel.
 */
#ifndef ECOLOGY_RUNTIME_H
#define ECOLOGY_RUNTIME_H

#include "ecology/contracts.h"
#include "ecology/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eco_pool eco_pool;

/* Rows one decode step of a base runs at most when max_batch is 0. */
#define ECO_POOL_DEFAULT_MAX_BATCH 32

typedef struct eco_pool_options {
    uint64_t adapter_budget_bytes; /* resident adapters' bytes at most; 0: unlimited */
    size_t max_bases;              /* resident bases at most; 0: unlimited */
    size_t max_batch; /* concurrent infers on one base decoded together at most (rows of one
                       * decode step); 0: ECO_POOL_DEFAULT_MAX_BATCH; 1: one at a time */
} eco_pool_options;

/* A pool over r (borrowed: it must outlive the pool; Threads above says how to share it).
 * o may be NULL (no limits). Caller frees with eco_pool_destroy. EINVAL on NULL r or out;
 * ENOMEM. */
eco_status eco_pool_create(eco_registry *r, const eco_pool_options *o, eco_pool **out);
/* Frees every resident model. Every engine acquired must have been released first (an
 * engine still held is invalid afterwards). NULL is fine. */
void eco_pool_destroy(eco_pool *p);

/* An engine for the model that ref (a model id or an alias) names now. A base (or a
 * merged, distilled or quantized model): an engine over it; an adapter: an engine over its
 * base (loaded once, shared by every adapter of that base) with the adapter applied
 * unmerged at each infer. The engine's genome() is the registered genome (id, kind,
 * capabilities, lineage, ...); its infer is eco_llama_engine_open_adapter's over the same
 * folders, token for token. Valid until eco_pool_release (eco_engine_destroy on it is the
 * same as eco_pool_release). Several engines may be acquired on one model; each is used by
 * one thread at a time (contracts.h), and the pool serialises infers on one base.
 * Errors (the message names ref): EINVAL (NULL argument, ref not a valid id), ENOTFOUND
 * (no model or alias named ref), EINTEGRITY (a damaged store object, named; nothing
 * loaded), EFORMAT (an adapter whose genome names no base, or whose files do not fit its
 * base), EUNSUPPORTED (an adapter whose base is an adapter), the loaders' errors
 * (eco_llama_engine_open, eco_lora_adapter_load), ENOMEM. On error *out is NULL and the
 * pool is as it was (models loaded on the way, such as the base of an adapter that failed,
 * may stay resident). */
eco_status eco_pool_acquire(eco_pool *p, const char *ref, eco_engine **out);
/* An engine for an adapter folder that is not registered (dir: a path holding '/', e.g. a
 * merged adapter the server cached) over the registered base that base_ref names (an id or
 * an alias of a base; an adapter there is EUNSUPPORTED). The folder is loaded once (checked
 * against the base's config, as a registered adapter is, not verified against a manifest:
 * the caller vouches for it), kept under the adapter budget like the registered ones, and
 * named by dir in the engine's genome (kind adapter, base the base's id). The same folder
 * over another base: EINVAL. Otherwise as eco_pool_acquire. */
eco_status eco_pool_acquire_adapter_dir(eco_pool *p, const char *base_ref, const char *dir,
                                        eco_engine **out);
/* Gives an engine back (NULL is fine); the model stays resident until evicted. */
void eco_pool_release(eco_pool *p, eco_engine *e);

typedef struct eco_pool_stats {
    size_t bases;             /* resident bases (every non-adapter model loaded) */
    size_t adapters_resident; /* resident adapters */
    uint64_t base_bytes;      /* weight bytes of the resident bases */
    uint64_t adapter_bytes;   /* resident adapters' tensor bytes (adapter_model.safetensors
                               * after its header, mapped) */
    uint64_t hits;            /* acquires that found their model resident */
    uint64_t loads;           /* models loaded (bases and adapters) */
    uint64_t evictions;       /* models evicted (bases and adapters) */
    uint64_t decode_steps;    /* batched decode steps run on the resident bases */
    uint64_t decode_rows;     /* rows those steps ran (decode_rows / decode_steps: the mean
                               * batch) */
} eco_pool_stats;

/* A snapshot of the pool's counters (consistent: taken under the pool's mutex). */
void eco_pool_get_stats(eco_pool *p, eco_pool_stats *out);

/* ---- remote models (src/runtime/pool_remote.c) ---------------------------------------- */

/* An http engine (remote.h) for a remote model's genome g (registry.h: kind "remote"): its
 * endpoint and model name, the key read now from the environment variable g names. The pool
 * opens remote models with it; so do the loop's evaluation and canaries. Caller destroys it
 * with eco_engine_destroy. EFORMAT when g is not a remote genome, EINVAL when the key's
 * variable is not set (named), eco_remote_engine_open's errors; messages name the model. */
eco_status eco_runtime_open_remote(const eco_genome *g, eco_engine **out);

/* ---- administration (src/runtime/pool_admin.c; the server's admin API) ----------------- */

/* Loads the model ref names now (as an acquire would, then released: it stays resident
 * until evicted by the budgets, which may be at once when it does not fit). *id (may be
 * NULL) the model's id, malloc'd. eco_pool_acquire's errors. */
eco_status eco_pool_load(eco_pool *p, const char *ref, char **id);
/* Evicts the model ref names (a base with its resident adapters). ENOTFOUND when it is not
 * resident (or not a model), ECONFLICT when engines are held over it (naming how many);
 * *evicted (may be NULL) the models evicted. */
eco_status eco_pool_unload(eco_pool *p, const char *ref, size_t *evicted);

/* One resident model. */
typedef struct eco_pool_resident {
    char *id;             /* owned */
    char *base;           /* an adapter's base id (owned), NULL for a base */
    eco_genome_kind kind; /* the registered genome's */
    uint64_t bytes;       /* as eco_pool_stats counts them (a remote model: 0) */
    size_t users;         /* engines held over it (a base: also over its adapters) */
    size_t adapters;      /* a base's resident adapters */
    size_t waiting;       /* a base: infers waiting for their prompt's turn on its model (the
                           * queue before the batch; a remote model: for its engine) */
} eco_pool_resident;

/* The resident models, bases first, each group sorted by id (a consistent snapshot). Caller
 * frees with eco_pool_residents_free. ENOMEM. */
eco_status eco_pool_residents(eco_pool *p, eco_pool_resident **out, size_t *n);
void eco_pool_residents_free(eco_pool_resident *r, size_t n);

#ifdef __cplusplus
}
#endif
#endif
