/* GET /v1/models (OpenAI's list: every registered model, adapters with their base as
 * "parent" as vLLM lists LoRA modules, and every alias with the model it names now) and GET
 * /admin/aliases. The registry is read through the server's own handle under reg_mu. Alias
 * names come from the registry's "alias" events (the registry has no alias listing), each
 * then resolved to its current target. */
#define _XOPEN_SOURCE 700 /* strptime */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/server_internal.h"

static json_int_t epoch_of(const char *rfc3339) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!rfc3339 || !strptime(rfc3339, "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
    return (json_int_t)timegm(&tm);
}

/* The model entry for id (an alias entry when alias is non-NULL: then id is its target). */
static json_t *model_entry(eco_registry *r, const char *id, const char *alias) {
    eco_genome g;
    memset(&g, 0, sizeof g);
    if (eco_registry_get(r, id, &g, NULL) != ECO_STATUS_OK) return NULL;
    json_t *caps = json_array();
    for (size_t i = 0; i < g.n_capabilities; i++)
        json_array_append_new(caps, json_string(g.capabilities[i]));
    json_t *e = json_pack("{s:s,s:s,s:I,s:s,s:s,s:o,s:o}", "id", alias ? alias : id, "object",
                          "model", "created", epoch_of(g.created_at), "owned_by", "ecology", "kind",
                          alias ? "alias" : eco_genome_kind_str(g.kind), "parent",
                          g.base ? json_string(g.base) : json_null(), "capabilities", caps);
    if (e && alias) {
        json_object_set_new(e, "alias_of", json_string(id));
        json_object_set_new(e, "target_kind", json_string(eco_genome_kind_str(g.kind)));
    }
    eco_genome_free(&g);
    return e;
}

/* {alias name: current target} over every alias ever set (JSON object), or NULL. */
static json_t *aliases(eco_registry *r) {
    eco_registry_event *ev = NULL;
    size_t n = 0;
    if (eco_registry_events(r, 0, &ev, &n) != ECO_STATUS_OK) return NULL;
    json_t *out = json_object();
    for (size_t i = 0; out && i < n; i++) {
        if (strcmp(ev[i].type, "alias") != 0 || !ev[i].detail) continue;
        json_t *d = json_loads(ev[i].detail, 0, NULL);
        const char *name = json_string_value(json_object_get(d, "name"));
        char *target = NULL;
        if (name && !json_object_get(out, name) &&
            eco_registry_alias_get(r, name, &target) == ECO_STATUS_OK)
            json_object_set_new(out, name, json_string(target));
        free(target);
        json_decref(d);
    }
    eco_registry_events_free(ev, n);
    return out;
}

void srv_handle_models(eco_server *s, answer *a) {
    pthread_mutex_lock(&s->reg_mu);
    char **ids = NULL;
    size_t n = 0;
    eco_status st = eco_registry_list(s->reg, NULL, &ids, &n);
    json_t *data = json_array();
    for (size_t i = 0; st == ECO_STATUS_OK && i < n; i++) {
        json_t *e = model_entry(s->reg, ids[i], NULL);
        if (e) json_array_append_new(data, e);
    }
    json_t *al = st == ECO_STATUS_OK ? aliases(s->reg) : NULL;
    const char *name;
    json_t *target;
    json_object_foreach(al, name, target) {
        json_t *e = model_entry(s->reg, json_string_value(target), name);
        if (e) json_array_append_new(data, e);
    }
    pthread_mutex_unlock(&s->reg_mu);
    eco_registry_ids_free(ids, n);
    json_decref(al);
    if (st != ECO_STATUS_OK) {
        json_decref(data);
        return srv_answer_error(a, 500, NULL, NULL, "%s", eco_last_error());
    }
    srv_answer_json(a, 200, json_pack("{s:s,s:o}", "object", "list", "data", data));
}

void srv_handle_admin_aliases(eco_server *s, answer *a) {
    pthread_mutex_lock(&s->reg_mu);
    json_t *al = aliases(s->reg);
    pthread_mutex_unlock(&s->reg_mu);
    if (!al) return srv_answer_error(a, 500, NULL, NULL, "%s", eco_last_error());
    srv_answer_json(a, 200, json_pack("{s:o}", "aliases", al));
}
