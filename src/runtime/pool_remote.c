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

eco_status pool_open_remote(pool_model *m) {
    const char *endpoint = NULL, *model = NULL, *key_env = NULL;
    eco_status st = eco_genome_remote_target(&m->genome, &endpoint, &model, &key_env);
    if (st) return st;
    const char *key = NULL;
    if (key_env && !(key = getenv(key_env)))
        return eco_error(ECO_STATUS_EINVAL,
                         "remote model '%s': the environment variable %s (its API key) is not set",
                         m->id, key_env);
    eco_remote_options o = {.id = m->id, .base_url = endpoint, .model = model, .api_key = key};
    if ((st = eco_remote_engine_open(&o, &m->engine)))
        return eco_error_wrap(st, "remote model '%s'", m->id);
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        eco_engine_destroy(m->engine);
        m->engine = NULL;
        return eco_error(ECO_STATUS_ENOMEM, "mutex: out of resources");
    }
    m->bytes = 0;
    return ECO_STATUS_OK;
}
