/*
 * The engine pool's private pieces (include/ecology/runtime.h), shared by pool.c (acquire,
 * release, stats), pool_load.c (checkout and load of one model), pool_evict.c (residency:
 * LRU under the budgets) and pool_engine.c (the engines handed out). Private to
 * src/runtime/.
 */
#ifndef ECO_RUNTIME_POOL_INTERNAL_H
#define ECO_RUNTIME_POOL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "ecology/engine.h"
#include "ecology/runtime.h"
#include "runtime/batch.h"

/* One resident model: a base (any non-adapter model: engine set, lora NULL) or an adapter
 * (lora set, base its base's entry, engine NULL). Owned by the pool's table. */
typedef struct pool_model {
    char *id;                /* registry id (owned) */
    eco_genome genome;       /* the registered genome (owned) */
    struct pool_model *base; /* adapters: their base; bases: NULL */
    /* bases */
    eco_engine *engine;    /* the llama engine over the base's checkout (owns model, tokenizer) */
    pool_batcher *batcher; /* local bases: runs every infer on engine's model (runtime/batch.h);
                            * remote models: NULL */
    pthread_mutex_t mu;    /* remote models: one infer at a time on the http engine */
    atomic_size_t waiting; /* remote models: infers waiting for mu (read without the pool's
                            * mutex by eco_pool_residents) */
    size_t n_adapters;     /* resident adapters of this base */
    /* adapters */
    eco_lora_adapter *lora; /* the mapped adapter, checked against the base's config */
    eco_model_adapter *ad;  /* its f32 copy for the base's model */
    uint64_t serial;        /* unique per load (never 0), so a reloaded adapter is attached anew */
    /* both */
    uint64_t bytes;     /* bases: weight bytes; adapters: mapped tensor bytes */
    uint64_t last_used; /* pool tick of the last acquire or release */
    size_t users;       /* engines held over it (a base: also those over its adapters) */
} pool_model;

struct eco_pool {
    eco_registry *reg; /* borrowed */
    eco_pool_options opt;
    pthread_mutex_t mu;  /* everything below, and every use of reg */
    pool_model **models; /* [n_models] resident models, bases and adapters */
    size_t n_models, cap_models;
    uint64_t tick;        /* LRU clock */
    uint64_t next_serial; /* last adapter serial given */
    eco_pool_stats stats; /* bases, adapters_resident, bytes and counters, kept current */
};

/* An engine handed out by eco_pool_acquire: the model it was acquired on (pinned: users
 * counted) and the base whose engine runs it. */
typedef struct pool_engine {
    eco_engine base; /* first member: eco_engine* casts to pool_engine* */
    eco_pool *pool;
    pool_model *model; /* the model acquired (a base, or an adapter) */
    pool_model *run;   /* the base entry whose engine runs infer (model itself for a base) */
} pool_engine;

/* pool_load.c: the resident model with this id, or NULL. */
pool_model *pool_find(eco_pool *p, const char *id);
/* pool_load.c: checks out (verified) and loads model `id`, and its base first when it is an
 * adapter (found resident or loaded), making room under max_bases for a new base; adds
 * them to the table (unpinned). want_base refuses an adapter (EUNSUPPORTED): the base an
 * adapter names. Errors name the id. */
eco_status pool_load(eco_pool *p, const char *id, bool want_base, pool_model **out);
/* pool_load.c: the adapter in dir (m->id and m->genome set, m->genome.base its base's
 * registry id) loaded over its base (resident, or loaded as a base) and checked against
 * the base's config: m->lora, bytes, base and serial set. Not inserted. */
eco_status pool_load_adapter(eco_pool *p, pool_model *m, const char *dir);
/* pool.c: one more (held) or one less engine over m and its base (both most recent). */
void pool_pin(eco_pool *p, pool_model *m, bool held);
/* pool_remote.c: an http engine (remote.h) for a remote model m (its genome read), as m's
 * engine, with the key read from the environment variable the genome names. Errors name
 * the model. */
eco_status pool_open_remote(pool_model *m);
/* pool_load.c: frees one entry (not in the table any more). */
void pool_model_free(pool_model *m);

/* pool_evict.c: evicts unpinned least recently used adapters while the resident adapters'
 * bytes exceed the budget, and unpinned bases while there are more than max_bases. */
void pool_enforce(eco_pool *p);
/* pool_evict.c: evicts unpinned least recently used bases until a new base fits under
 * max_bases (or none can go). */
void pool_make_room_for_base(eco_pool *p);
/* pool_evict.c: removes m (unpinned) from the table, with its adapters when it is a base,
 * counting each eviction. */
void pool_evict(eco_pool *p, pool_model *m);
/* pool_evict.c: adds m to the table and the counters; ENOMEM (m untouched) when the table
 * cannot grow. */
eco_status pool_insert(eco_pool *p, pool_model *m);

/* pool_engine.c: a new engine over model m (pinned by the caller). NULL on ENOMEM. */
eco_engine *pool_engine_new(eco_pool *p, pool_model *m);

#endif
