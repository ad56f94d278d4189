/* The event log's public append and its last-of-type lookup (registry.h). The registry's
 * own events (register, alias, report, corpus, gc, repair) are written inside the
 * transactions that make them (registry.c); these are the events of the modules above it. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ecology/registry.h"
#include "registry_backend.h"
#include "registry_internal.h"

static bool type_ok(const char *t) {
    size_t n = t ? strlen(t) : 0;
    if (n == 0 || n > 64) return false;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

eco_status eco_registry_event_append(eco_registry *r, const char *type, const char *model_id,
                                     const char *detail_json, int64_t *seq) {
    if (seq) *seq = 0;
    if (!r) return eco_error(ECO_STATUS_EINVAL, "event: no registry");
    if (!type_ok(type))
        return eco_error(ECO_STATUS_EINVAL, "event type '%s': expected 1..64 of [a-z0-9_.-]",
                         type ? type : "(null)");
    if (model_id && !eco_model_id_ok(model_id))
        return eco_error(ECO_STATUS_EINVAL, "event '%s': model id '%s' is not a valid id", type,
                         model_id);
    eco_status st = eco_registry_require_writable(r, "append an event");
    if (st) return st;
    json_t *d = NULL;
    if (detail_json) {
        if ((st = eco_json_parse(detail_json, strlen(detail_json), 0, "event detail", &d)))
            return st;
        if (!json_is_object(d)) {
            json_decref(d);
            return eco_error(ECO_STATUS_EINVAL, "event '%s': detail is not a JSON object", type);
        }
    } else if (!(d = json_object())) {
        return eco_error(ECO_STATUS_ENOMEM, "event: out of memory");
    }
    char *text = NULL;
    st = eco_json_canonical(d, &text, NULL);
    json_decref(d);
    if (st) return st;
    char at[32];
    eco_registry_now_rfc3339(at);
    eco_registry_backend *be = eco_registry_backend_of(r);
    if ((st = be->begin(be)) == ECO_STATUS_OK) {
        if ((st = be->event_append(be, at, type, model_id, text, seq)) == ECO_STATUS_OK)
            st = be->commit(be);
        else
            be->rollback(be);
    }
    free(text);
    return st;
}

eco_status eco_registry_event_last(eco_registry *r, const char *type, bool *found,
                                   eco_registry_event *out) {
    *found = false;
    memset(out, 0, sizeof *out);
    eco_registry_event *ev = NULL;
    size_t n = 0;
    eco_status st = eco_registry_events(r, 0, &ev, &n);
    if (st) return st;
    for (size_t i = n; i-- > 0;) {
        if (strcmp(ev[i].type, type) != 0) continue;
        *out = ev[i];
        memset(&ev[i], 0, sizeof ev[i]);
        *found = true;
        break;
    }
    eco_registry_events_free(ev, n);
    return ECO_STATUS_OK;
}

void eco_registry_event_clear(eco_registry_event *e) {
    if (!e) return;
    free(e->at);
    free(e->type);
    free(e->model_id);
    free(e->detail);
    memset(e, 0, sizeof *e);
}
