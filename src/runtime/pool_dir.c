/*
 * Adapters outside the registry (eco_pool_acquire_adapter_dir): an adapter folder the
 * caller wrote (the server's merged adapters under <data>/cache/merged/) served over a
 * registered base like any registered adapter: one table entry named by the folder's path
 * (a path holds '/', which no registry id does, so the two never meet), loaded once,
 * evicted under the same adapter budget, attached unmerged at each infer.
 */
#include "runtime/pool_internal.h"

#include <stdlib.h>
#include <string.h>

/* A new entry for dir over base (its genome an adapter's, named by dir). */
static eco_status load_dir(eco_pool *p, const char *base_id, const char *dir, pool_model **out) {
    *out = NULL;
    pool_model *m = calloc(1, sizeof *m);
    if (!m || !(m->id = eco_strdup(dir)) || !(m->genome.id = eco_strdup(dir)) ||
        !(m->genome.base = eco_strdup(base_id))) {
        pool_model_free(m);
        return eco_error(ECO_STATUS_ENOMEM, "adapter '%s': out of memory", dir);
    }
    m->genome.kind = ECO_GENOME_KIND_ADAPTER;
    eco_status st = pool_load_adapter(p, m, dir);
    if (st == ECO_STATUS_OK) st = pool_insert(p, m);
    if (st != ECO_STATUS_OK) {
        pool_model_free(m);
        return st;
    }
    m->genome.bytes = m->bytes;
    p->stats.loads++;
    *out = m;
    return ECO_STATUS_OK;
}

eco_status eco_pool_acquire_adapter_dir(eco_pool *p, const char *base_ref, const char *dir,
                                        eco_engine **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "pool acquire: NULL argument");
    *out = NULL;
    if (!p || !base_ref || !dir || !strchr(dir, '/'))
        return eco_error(ECO_STATUS_EINVAL, "pool acquire: NULL argument or a folder without '/'");
    pthread_mutex_lock(&p->mu);
    char *id = NULL;
    eco_status st = eco_registry_resolve(p->reg, base_ref, &id);
    pool_model *m = NULL;
    if (st == ECO_STATUS_OK) {
        m = pool_find(p, dir);
        if (m && strcmp(m->base->id, id) != 0)
            st = eco_error(ECO_STATUS_EINVAL, "adapter '%s' is resident over base '%s', not '%s'",
                           dir, m->base->id, id);
        else if (m)
            p->stats.hits++;
        else
            st = load_dir(p, id, dir, &m);
    }
    if (st == ECO_STATUS_OK) {
        pool_pin(p, m, true);
        *out = pool_engine_new(p, m);
        if (!*out) {
            pool_pin(p, m, false);
            st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
        }
        pool_enforce(p);
    }
    pthread_mutex_unlock(&p->mu);
    free(id);
    if (st != ECO_STATUS_OK) st = eco_error_wrap(st, "pool acquire '%s' over '%s'", dir, base_ref);
    return st;
}
