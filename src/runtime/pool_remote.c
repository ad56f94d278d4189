/*
 * Remote models in the pool: a registered model of kind "remote" (registry.h) becomes an
 * http engine (remote.h) over the endpoint and model name its genome records, its key read
 * from the environment variable the genome names (the registry never holds the key). It sits
 * in the table as a base with no weights: an infer on it takes the entry's mutex like any
 * base (one request at a time per engine, contracts.h), no adapter can be put on it.
 */
#include "runtime/pool_internal.h"

#include <stdlib.h>

#include "ecology/remote.h"

eco_status eco_runtime_open_remote(const eco_genome *g, eco_engine **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "open remote: NULL argument");
    *out = NULL;
    const char *endpoint = NULL, *model = NULL, *key_env = NULL;
    eco_status st = eco_genome_remote_target(g, &endpoint, &model, &key_env);
    if (st) return st;
    const char *key = NULL;
    if (key_env && !(key = getenv(key_env)))
        return eco_error(ECO_STATUS_EINVAL,
                         "remote model '%s': the environment variable %s (its API key) is not set",
                         g->id, key_env);
    eco_remote_options o = {.id = g->id, .base_url = endpoint, .model = model, .api_key = key};
    if ((st = eco_remote_engine_open(&o, out)))
        return eco_error_wrap(st, "remote model '%s'", g->id);
    return ECO_STATUS_OK;
}

eco_status pool_open_remote(pool_model *m) {
    eco_status st = eco_runtime_open_remote(&m->genome, &m->engine);
    if (st) return st;
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        eco_engine_destroy(m->engine);
        m->engine = NULL;
        return eco_error(ECO_STATUS_ENOMEM, "mutex: out of resources");
    }
    m->bytes = 0;
    return ECO_STATUS_OK;
}
