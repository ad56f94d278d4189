/*
 * The engines eco_pool_acquire hands out: a small handle over a resident model. infer
 * takes the base's mutex, attaches the handle's adapter to the shared model unmerged
 * (eco_model_set_adapter widens it into the model's f32 copy) when another adapter, or
 * none, is attached now, detaches for a base's own handle, and runs the base's llama
 * engine (src/model/engine.c), so the tokens and log-probabilities are exactly those of
 * eco_llama_engine_open_adapter over the same folders. An infer on the adapter attached
 * last attaches nothing.
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
    pool_model *run = h->run;
    /* The handle pins its model (and so its base and the adapter's mapping): nothing it
     * reads here can be evicted or freed while it is held. */
    const pool_model *a = h->model->base ? h->model : NULL;
    const uint64_t want = a ? a->serial : 0;
    eco_status st = ECO_STATUS_OK;
    atomic_fetch_add(&run->waiting, 1);
    pthread_mutex_lock(&run->mu);
    atomic_fetch_sub(&run->waiting, 1);
    if (run->attached != want) {
        st = eco_model_set_adapter(eco_llama_engine_model(run->engine), a ? a->lora : NULL);
        if (st == ECO_STATUS_OK) run->attached = want;
    }
    if (st == ECO_STATUS_OK)
        st = run->engine->infer(run->engine, req, resp);
    else
        memset(resp, 0, sizeof *resp);
    pthread_mutex_unlock(&run->mu);
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
