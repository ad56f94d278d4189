/*
 * Loading one registered model into the pool: a verified checkout (eco_registry_checkout:
 * every object re-hashed or vouched for by the trust cache before anything reads it), then
 * a llama engine over it for a base, or, for an adapter, its base (resident or loaded) and
 * the adapter's PEFT file checked against the base's config.
 */
#include "runtime/pool_internal.h"

#include <stdlib.h>
#include <string.h>

pool_model *pool_find(eco_pool *p, const char *id) {
    for (size_t i = 0; i < p->n_models; i++)
        if (strcmp(p->models[i]->id, id) == 0) return p->models[i];
    return NULL;
}

void pool_model_free(pool_model *m) {
    if (!m) return;
    pool_batcher_free(m->batcher);
    if (m->genome.kind == ECO_GENOME_KIND_REMOTE && m->engine) pthread_mutex_destroy(&m->mu);
    eco_engine_destroy(m->engine);
    eco_model_adapter_free(m->ad);
    eco_lora_adapter_free(m->lora);
    eco_genome_free(&m->genome);
    free(m->id);
    free(m);
}

/* A llama engine over the base's checkout dir; its genome id is the registry id. */
static eco_status load_base(eco_pool *p, pool_model *m, const char *dir) {
    eco_status st = eco_llama_engine_open(dir, m->id, &m->engine);
    if (st != ECO_STATUS_OK) return st;
    if (!(m->batcher = pool_batcher_new(m->engine, p->opt.max_batch))) {
        eco_engine_destroy(m->engine);
        m->engine = NULL;
        return eco_error(ECO_STATUS_ENOMEM, "batcher: out of resources");
    }
    m->bytes = m->engine->genome(m->engine)->bytes;
    return ECO_STATUS_OK;
}

/* The adapter in its checkout dir, checked against its base's config (loaded first). */
eco_status pool_load_adapter(eco_pool *p, pool_model *m, const char *dir) {
    if (!m->genome.base)
        return eco_error(ECO_STATUS_EFORMAT, "adapter '%s': its genome names no base", m->id);
    pool_model *base = pool_find(p, m->genome.base);
    if (base && base->base)
        return eco_error(ECO_STATUS_EUNSUPPORTED, "adapter '%s': its base '%s' is an adapter",
                         m->id, base->id);
    if (!base) {
        eco_status st = pool_load(p, m->genome.base, true, &base);
        if (st != ECO_STATUS_OK)
            return eco_error_wrap(st, "adapter '%s': base '%s'", m->id, m->genome.base);
    }
    if (base->genome.kind == ECO_GENOME_KIND_REMOTE)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "adapter '%s': its base '%s' is a remote model (served elsewhere)", m->id,
                         base->id);
    const eco_model *bm = eco_llama_engine_model(base->engine);
    const eco_model_config *cfg = eco_model_get_config(bm);
    eco_status st = eco_lora_adapter_load(dir, cfg, &m->lora);
    if (st == ECO_STATUS_OK) st = eco_model_adapter_create(bm, m->lora, &m->ad);
    if (st != ECO_STATUS_OK)
        return eco_error_wrap(st, "adapter '%s' on base '%s'", m->id, base->id);
    const void *data = NULL;
    size_t len = 0;
    eco_safetensors_buffer(m->lora->file, &data, &len);
    m->bytes = len;
    m->base = base;
    m->serial = ++p->next_serial;
    return ECO_STATUS_OK;
}

eco_status pool_load(eco_pool *p, const char *id, bool want_base, pool_model **out) {
    *out = NULL;
    pool_model *m = calloc(1, sizeof *m);
    if (!m || !(m->id = eco_strdup(id))) {
        free(m);
        return eco_error(ECO_STATUS_ENOMEM, "model '%s': out of memory", id);
    }
    char *dir = NULL;
    eco_status st = eco_registry_checkout(p->reg, id, &dir, &m->genome);
    if (st == ECO_STATUS_OK && m->genome.kind == ECO_GENOME_KIND_ADAPTER && want_base)
        st = eco_error(ECO_STATUS_EUNSUPPORTED, "model '%s' is an adapter, not a base", id);
    if (st == ECO_STATUS_OK && m->genome.kind == ECO_GENOME_KIND_REMOTE) {
        st = pool_open_remote(m);
    } else if (st == ECO_STATUS_OK && m->genome.kind != ECO_GENOME_KIND_ADAPTER) {
        pool_make_room_for_base(p);
        st = load_base(p, m, dir);
        if (st != ECO_STATUS_OK) st = eco_error_wrap(st, "model '%s'", id);
    } else if (st == ECO_STATUS_OK) {
        st = pool_load_adapter(p, m, dir);
    }
    free(dir);
    if (st == ECO_STATUS_OK) st = pool_insert(p, m);
    if (st != ECO_STATUS_OK) {
        pool_model_free(m);
        return st;
    }
    p->stats.loads++;
    *out = m;
    return ECO_STATUS_OK;
}
