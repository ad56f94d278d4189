/*
 * The pool's administration (runtime.h): load and unload a model by name, and the list of
 * resident models with their users and queues, for the server's admin API and /metrics.
 * Each holds the pool's mutex for its whole body, as pool.c's functions do.
 */
#include "runtime/pool_internal.h"

#include <stdlib.h>
#include <string.h>

eco_status eco_pool_load(eco_pool *p, const char *ref, char **id) {
    if (id) *id = NULL;
    eco_engine *e = NULL;
    eco_status st = eco_pool_acquire(p, ref, &e);
    if (st) return st;
    const eco_genome *g = e->genome(e);
    if (id && !(*id = eco_strdup(g->id))) st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
    eco_pool_release(p, e);
    return st;
}

eco_status eco_pool_unload(eco_pool *p, const char *ref, size_t *evicted) {
    if (evicted) *evicted = 0;
    if (!p || !ref) return eco_error(ECO_STATUS_EINVAL, "pool unload: NULL argument");
    pthread_mutex_lock(&p->mu);
    char *id = NULL;
    eco_status st = eco_registry_resolve(p->reg, ref, &id);
    pool_model *m = st == ECO_STATUS_OK ? pool_find(p, id) : NULL;
    if (st == ECO_STATUS_OK && !m)
        st = eco_error(ECO_STATUS_ENOTFOUND, "model '%s' is not resident", id);
    if (st == ECO_STATUS_OK && m->users > 0)
        st = eco_error(ECO_STATUS_ECONFLICT, "model '%s' is in use (%zu engines held over it)", id,
                       m->users);
    if (st == ECO_STATUS_OK) {
        uint64_t before = p->stats.evictions;
        pool_evict(p, m);
        if (evicted) *evicted = (size_t)(p->stats.evictions - before);
    }
    pthread_mutex_unlock(&p->mu);
    if (st) st = eco_error_wrap(st, "pool unload '%s'", ref);
    free(id);
    return st;
}

void eco_pool_residents_free(eco_pool_resident *r, size_t n) {
    for (size_t i = 0; r && i < n; i++) {
        free(r[i].id);
        free(r[i].base);
    }
    free(r);
}

static int by_group_then_id(const void *a, const void *b) {
    const eco_pool_resident *x = a, *y = b;
    if ((x->base != NULL) != (y->base != NULL)) return x->base ? 1 : -1;
    return strcmp(x->id, y->id);
}

eco_status eco_pool_residents(eco_pool *p, eco_pool_resident **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!p) return eco_error(ECO_STATUS_EINVAL, "pool residents: NULL argument");
    pthread_mutex_lock(&p->mu);
    size_t k = p->n_models;
    eco_pool_resident *r = k ? calloc(k, sizeof *r) : NULL;
    eco_status st = k && !r ? eco_error(ECO_STATUS_ENOMEM, "out of memory") : ECO_STATUS_OK;
    for (size_t i = 0; st == ECO_STATUS_OK && i < k; i++) {
        const pool_model *m = p->models[i];
        r[i].id = eco_strdup(m->id);
        r[i].base = m->base ? eco_strdup(m->base->id) : NULL;
        r[i].kind = m->genome.kind;
        r[i].bytes = m->bytes;
        r[i].users = m->users;
        r[i].adapters = m->base ? 0 : m->n_adapters;
        r[i].waiting = m->base      ? 0
                       : m->batcher ? pool_batcher_queued(m->batcher)
                                    : atomic_load(&((pool_model *)m)->waiting);
        if (!r[i].id || (m->base && !r[i].base)) st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
    }
    pthread_mutex_unlock(&p->mu);
    if (st) {
        eco_pool_residents_free(r, k);
        return st;
    }
    if (k) qsort(r, k, sizeof *r, by_group_then_id);
    *out = r;
    *n = k;
    return ECO_STATUS_OK;
}
