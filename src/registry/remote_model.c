/* Remote models (registry.h): a genome for a model another server holds, with its endpoint,
 * model name and the name of the environment variable holding its key in the lineage
 * operation "remote", and the identity that is compatible with nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ecology/registry.h"
#include "registry/registry_internal.h"

#define REMOTE_IDENTITY_TEXT "tiny-ecology remote model"
#define ENDPOINT_MAX         2048
#define MODEL_NAME_MAX       256
#define KEY_ENV_MAX          128

void eco_compat_remote(eco_compat_identity *out) {
    char hex[ECO_SHA256_HEX_LEN + 1];
    (void)eco_sha256_hex(REMOTE_IDENTITY_TEXT, strlen(REMOTE_IDENTITY_TEXT), hex);
    memcpy(out->base_family, hex, sizeof hex);
    memcpy(out->architecture_hash, hex, sizeof hex);
    memcpy(out->tokenizer_hash, hex, sizeof hex);
    memcpy(out->tensor_schema_hash, hex, sizeof hex);
}

bool eco_compat_is_remote(const eco_compat_identity *c) {
    if (!c) return false;
    eco_compat_identity r;
    eco_compat_remote(&r);
    return !strcmp(c->base_family, r.base_family) &&
           !strcmp(c->architecture_hash, r.architecture_hash) &&
           !strcmp(c->tokenizer_hash, r.tokenizer_hash) &&
           !strcmp(c->tensor_schema_hash, r.tensor_schema_hash);
}

/* 1..max bytes of printable ASCII without spaces. */
static bool printable(const char *s, size_t max) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~') return false;
    return true;
}

static bool env_name_ok(const char *s) {
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > KEY_ENV_MAX || (s[0] >= '0' && s[0] <= '9')) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

static eco_status check_options(const eco_remote_add_options *o) {
    if (!o->id || !eco_model_id_ok(o->id))
        return eco_error(ECO_STATUS_EINVAL, "add remote: '%s' is not a valid model id",
                         o->id ? o->id : "(none)");
    if (!printable(o->endpoint, ENDPOINT_MAX) ||
        (strncmp(o->endpoint, "http://", 7) != 0 && strncmp(o->endpoint, "https://", 8) != 0))
        return eco_error(ECO_STATUS_EINVAL,
                         "add remote '%s': endpoint '%.200s' is not an http:// or https:// URL "
                         "(printable, no spaces, at most %d bytes)",
                         o->id, o->endpoint ? o->endpoint : "(none)", ENDPOINT_MAX);
    if (!printable(o->model, MODEL_NAME_MAX))
        return eco_error(ECO_STATUS_EINVAL,
                         "add remote '%s': the model name must be 1 to %d printable bytes "
                         "without spaces",
                         o->id, MODEL_NAME_MAX);
    if (o->api_key_env && !env_name_ok(o->api_key_env))
        return eco_error(ECO_STATUS_EINVAL,
                         "add remote '%s': the key variable must be the NAME of an environment "
                         "variable ([A-Za-z_][A-Za-z0-9_]*, at most %d bytes), not a key",
                         o->id, KEY_ENV_MAX);
    return ECO_STATUS_OK;
}

eco_status eco_registry_add_remote(eco_registry *r, const eco_remote_add_options *o,
                                   eco_genome *genome_out) {
    if (!r || !o) return eco_error(ECO_STATUS_EINVAL, "add remote: NULL argument");
    eco_status st = check_options(o);
    if (st) return st;
    char created[32];
    if (o->created_at)
        snprintf(created, sizeof created, "%s", o->created_at);
    else
        eco_registry_now_rfc3339(created);
    eco_genome g = {0};
    g.kind = ECO_GENOME_KIND_REMOTE;
    eco_compat_remote(&g.compatibility);
    g.id = eco_strdup(o->id);
    g.interface_version = eco_strdup("text-generation@1");
    g.op_name = eco_strdup("remote");
    g.op_params = json_pack("{s:s,s:s}", "endpoint", o->endpoint, "model", o->model);
    if (g.op_params && o->api_key_env)
        json_object_set_new(g.op_params, "api_key_env", json_string(o->api_key_env));
    g.created_at = eco_strdup(created);
    g.tool_version = eco_strdup("tiny-ecology " ECO_VERSION);
    if (!g.id || !g.interface_version || !g.op_name || !g.op_params || !g.created_at ||
        !g.tool_version)
        st = eco_error(ECO_STATUS_ENOMEM, "add remote: out of memory");
    eco_add_options caps = {
        .id = o->id, .capabilities = o->capabilities, .n_capabilities = o->n_capabilities};
    if (st == ECO_STATUS_OK) st = eco_ingest_set_capabilities(&g, &caps);
    /* registered again without a time asked for: the first registration's time stands */
    eco_genome old = {0};
    if (st == ECO_STATUS_OK && !o->created_at &&
        eco_registry_get(r, o->id, &old, NULL) == ECO_STATUS_OK && old.created_at) {
        free(g.created_at);
        g.created_at = old.created_at;
        old.created_at = NULL;
    }
    eco_genome_free(&old);
    if (st == ECO_STATUS_OK) st = eco_ingest_check_genome(&g);
    char *envelope = NULL;
    bool created_new = false;
    if (st == ECO_STATUS_OK && o->sign_key) st = eco_sign_genome(&g, o->sign_key, &envelope);
    if (st == ECO_STATUS_OK) st = eco_registry_register(r, &g, envelope, &created_new);
    free(envelope);
    if (st == ECO_STATUS_OK && genome_out) {
        *genome_out = g;
        memset(&g, 0, sizeof g);
    }
    eco_genome_free(&g);
    if (st) return eco_error_wrap(st, "add remote '%s'", o->id);
    return ECO_STATUS_OK;
}

eco_status eco_genome_remote_target(const eco_genome *g, const char **endpoint, const char **model,
                                    const char **api_key_env) {
    *endpoint = *model = NULL;
    if (api_key_env) *api_key_env = NULL;
    const char *id = g && g->id ? g->id : "(none)";
    if (!g || g->kind != ECO_GENOME_KIND_REMOTE)
        return eco_error(ECO_STATUS_EFORMAT, "model '%s' is not a remote model", id);
    const json_t *p = g->op_params;
    const char *e = json_string_value(json_object_get(p, "endpoint"));
    const char *m = json_string_value(json_object_get(p, "model"));
    const json_t *k = json_object_get(p, "api_key_env");
    if (!g->op_name || strcmp(g->op_name, "remote") != 0 || !e || !m || (k && !json_is_string(k)))
        return eco_error(ECO_STATUS_EFORMAT,
                         "remote model '%s': its lineage operation is not \"remote\" with string "
                         "endpoint and model",
                         id);
    *endpoint = e;
    *model = m;
    if (api_key_env) *api_key_env = k ? json_string_value(k) : NULL;
    return ECO_STATUS_OK;
}
