/*
 * Residency: the pool's table of resident models and its two budgets. Resident adapters
 * are kept under adapter_budget_bytes and bases under max_bases, the least recently used
 * (acquired or released) going first; a model with engines held over it (users > 0) never
 * goes, so a budget may be exceeded while they are held, and is restored as they are
 * released (pool.c calls pool_enforce after each acquire and release). A table of a few
 * hundred entries is scanned linearly: an eviction is rare next to a load.
 */
#include "runtime/pool_internal.h"

#include <stdlib.h>

eco_status pool_insert(eco_pool *p, pool_model *m) {
    if (p->n_models == p->cap_models) {
        size_t cap = p->cap_models ? 2 * p->cap_models : 16;
        pool_model **t = eco_malloc_array(cap, sizeof *t);
        if (!t) return eco_error(ECO_STATUS_ENOMEM, "model '%s': out of memory", m->id);
        for (size_t i = 0; i < p->n_models; i++) t[i] = p->models[i];
        free(p->models);
        p->models = t;
        p->cap_models = cap;
    }
    p->models[p->n_models++] = m;
    if (m->base) {
        m->base->n_adapters++;
        p->stats.adapters_resident++;
        p->stats.adapter_bytes += m->bytes;
    } else {
        p->stats.bases++;
        p->stats.base_bytes += m->bytes;
    }
    return ECO_STATUS_OK;
}

/* Takes m out of the table and the counters, and frees it. */
static void drop(eco_pool *p, pool_model *m) {
    for (size_t i = 0; i < p->n_models; i++)
        if (p->models[i] == m) {
            p->models[i] = p->models[--p->n_models];
            break;
        }
    if (m->base) {
        m->base->n_adapters--;
        p->stats.adapters_resident--;
        p->stats.adapter_bytes -= m->bytes;
    } else {
        p->stats.bases--;
        p->stats.base_bytes -= m->bytes;
    }
    p->stats.evictions++;
    pool_model_free(m);
}

void pool_evict(eco_pool *p, pool_model *m) {
    ECO_ASSERT(m->users == 0);
    if (!m->base) /* a base with no users has no adapter in use: they go with it */
        for (size_t i = p->n_models; i-- > 0;)
            if (i < p->n_models && p->models[i]->base == m) drop(p, p->models[i]);
    drop(p, m);
}

/* The unpinned resident model of the kind asked (adapters or bases) used least recently,
 * or NULL. */
static pool_model *lru(const eco_pool *p, bool adapters) {
    pool_model *best = NULL;
    for (size_t i = 0; i < p->n_models; i++) {
        pool_model *m = p->models[i];
        if (m->users > 0 || (m->base != NULL) != adapters) continue;
        if (!best || m->last_used < best->last_used) best = m;
    }
    return best;
}

void pool_enforce(eco_pool *p) {
    const uint64_t budget = p->opt.adapter_budget_bytes;
    pool_model *m;
    while (budget > 0 && p->stats.adapter_bytes > budget && (m = lru(p, true))) pool_evict(p, m);
    const size_t max = p->opt.max_bases;
    while (max > 0 && p->stats.bases > max && (m = lru(p, false))) pool_evict(p, m);
}

void pool_make_room_for_base(eco_pool *p) {
    const size_t max = p->opt.max_bases;
    pool_model *m;
    while (max > 0 && p->stats.bases >= max && (m = lru(p, false))) pool_evict(p, m);
}
