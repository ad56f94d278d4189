/*
 * The engines eco_pool_acquire hands out: a small handle over a resident model. infer
 * runs on the base's batcher (runtime/batch.h) with the handle's adapter (its f32 copy,
 * NULL for a base's own handle), batched with the other infers on that base, so the tokens
 * and log-probabilities are exactly those of eco_llama_engine_open_adapter over the same
 * folders.
 */
#include "runtime/pool_internal.h"

#include <stdlib.h>
#include <string.h>

static const eco_genome *handle_genome(const eco_engine *self) {
    return &((const pool_engine *)self)->model->genome;
}

static eco_status handle_infer(eco_engine *self, const eco_infer_request *req,
                               eco_infer_response *resp) {
    pool_engine *h = (pool_engine *)self;
    /* The handle pins its model (and so its base and the adapter's copy): nothing it
     * reads here can be evicted or freed while it is held. */
    pool_model *run = h->run;
    if (!run->batcher) { /* a remote model: its http engine, one infer at a time */
        atomic_fetch_add(&run->waiting, 1);
        pthread_mutex_lock(&run->mu);
        atomic_fetch_sub(&run->waiting, 1);
        eco_status st = run->engine->infer(run->engine, req, resp);
        pthread_mutex_unlock(&run->mu);
        if (st != ECO_STATUS_OK) return eco_error_wrap(st, "%s", h->model->id);
        return ECO_STATUS_OK;
    }
    const eco_model_adapter *ad = h->model->base ? h->model->ad : NULL;
    if (h->model->base && !ad) { /* an adapter entry made without its copy: never the base */
        memset(resp, 0, sizeof *resp);
        return eco_error(ECO_STATUS_EINTERNAL, "%s: the adapter has no copy for its base",
                         h->model->id);
    }
    eco_status st = pool_batcher_infer(h->run->batcher, ad, req, resp);
    if (st != ECO_STATUS_OK) return eco_error_wrap(st, "%s", h->model->id);
    return ECO_STATUS_OK;
}

/* eco_engine_destroy on a pool engine gives it back to its pool. */
static void handle_destroy(eco_engine *self) {
    if (self) eco_pool_release(((pool_engine *)self)->pool, self);
}

eco_engine *pool_engine_new(eco_pool *p, pool_model *m) {
    pool_engine *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->base.genome = handle_genome;
    h->base.infer = handle_infer;
    h->base.destroy = handle_destroy;
    h->pool = p;
    h->model = m;
    h->run = m->base ? m->base : m;
    return &h->base;
}
