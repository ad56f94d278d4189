/*
 * The engine pool (include/ecology/runtime.h): create, acquire, release, stats. Every
 * function here holds the pool's mutex for its whole body, loads included (pool_load.c),
 * so the table, the counters and the registry handle are only ever used by one thread.
 */
#include "runtime/pool_internal.h"

#include <stdlib.h>
#include <string.h>

eco_status eco_pool_create(eco_registry *r, const eco_pool_options *o, eco_pool **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "pool: NULL argument");
    *out = NULL;
    if (!r) return eco_error(ECO_STATUS_EINVAL, "pool: NULL registry");
    eco_pool *p = calloc(1, sizeof *p);
    if (!p) return eco_error(ECO_STATUS_ENOMEM, "pool: out of memory");
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return eco_error(ECO_STATUS_ENOMEM, "pool: mutex: out of resources");
    }
    p->reg = r;
    if (o) p->opt = *o;
    *out = p;
    return ECO_STATUS_OK;
}

void eco_pool_destroy(eco_pool *p) {
    if (!p) return;
    /* Adapters first: each holds a pointer to its base's entry. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < p->n_models; i++) {
            pool_model *m = p->models[i];
            if (m && (m->base != NULL) == (pass == 0)) {
                ECO_ASSERT(m->users == 0);
                pool_model_free(m);
                p->models[i] = NULL;
            }
        }
    free(p->models);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* Counts one more (held) or one less engine over m and its base; both become the most
 * recently used. */
static void pin(eco_pool *p, pool_model *m, bool held) {
    const uint64_t now = ++p->tick;
    for (pool_model *x = m; x; x = x->base) {
        ECO_ASSERT(held || x->users > 0);
        x->users = held ? x->users + 1 : x->users - 1;
        x->last_used = now;
    }
}

void pool_pin(eco_pool *p, pool_model *m, bool held) { pin(p, m, held); }

eco_status eco_pool_acquire(eco_pool *p, const char *ref, eco_engine **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "pool acquire: NULL argument");
    *out = NULL;
    if (!p || !ref) return eco_error(ECO_STATUS_EINVAL, "pool acquire: NULL argument");
    pthread_mutex_lock(&p->mu);
    char *id = NULL;
    eco_status st = eco_registry_resolve(p->reg, ref, &id);
    pool_model *m = NULL;
    if (st == ECO_STATUS_OK) {
        m = pool_find(p, id);
        if (m)
            p->stats.hits++;
        else
            st = pool_load(p, id, false, &m);
    }
    if (st == ECO_STATUS_OK) {
        pin(p, m, true);
        *out = pool_engine_new(p, m);
        if (!*out) {
            pin(p, m, false);
            st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
        }
        pool_enforce(p);
    }
    pthread_mutex_unlock(&p->mu);
    if (st != ECO_STATUS_OK) {
        if (id && strcmp(id, ref) != 0)
            st = eco_error_wrap(st, "pool acquire '%s' (model '%s')", ref, id);
        else
            st = eco_error_wrap(st, "pool acquire '%s'", ref);
    }
    free(id);
    return st;
}

void eco_pool_release(eco_pool *p, eco_engine *e) {
    if (!p || !e) return;
    pool_engine *h = (pool_engine *)e;
    ECO_ASSERT(h->pool == p);
    pthread_mutex_lock(&p->mu);
    pin(p, h->model, false);
    pool_enforce(p);
    pthread_mutex_unlock(&p->mu);
    free(h);
}

void eco_pool_get_stats(eco_pool *p, eco_pool_stats *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    *out = p->stats;
    for (size_t i = 0; i < p->n_models; i++)
        if (p->models[i]->batcher) {
            uint64_t steps = 0, rows = 0;
            pool_batcher_counts(p->models[i]->batcher, &steps, &rows);
            out->decode_steps += steps;
            out->decode_rows += rows;
        }
    pthread_mutex_unlock(&p->mu);
}
