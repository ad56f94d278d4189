/* The loop's record (loop_internal.h): events appended with the run's name, and found again
 * on resume. The event log is read whole (eco_registry_events since 0): a run's log holds a
 * few events per candidate. */
#include <stdlib.h>
#include <string.h>

#include "daemon/loop_internal.h"

eco_status loop_event(loop_ctx *x, const char *type, const char *model_id, json_t *d, bool run,
                      int64_t *seq) {
    if (!d) return eco_error(ECO_STATUS_ENOMEM, "loop: out of memory");
    if (run && json_object_set_new(d, "run", json_string(x->c->name)) != 0) {
        json_decref(d);
        return eco_error(ECO_STATUS_ENOMEM, "loop: out of memory");
    }
    char *text = NULL;
    eco_status st = eco_json_canonical(d, &text, NULL);
    json_decref(d);
    if (!st) st = eco_registry_event_append(x->r, type, model_id, text, seq);
    free(text);
    return st ? eco_error_wrap(st, "loop: event '%s'", type) : ECO_STATUS_OK;
}

eco_status loop_events_each(loop_ctx *x, const char *type, bool any_run, loop_event_fn fn,
                            void *ctx) {
    eco_registry_event *ev = NULL;
    size_t n = 0;
    eco_status st = eco_registry_events(x->r, 0, &ev, &n);
    if (st) return st;
    bool go = true;
    for (size_t i = 0; go && i < n; i++) {
        if (type && strcmp(ev[i].type, type) != 0) continue;
        json_t *d = json_loads(ev[i].detail ? ev[i].detail : "{}", 0, NULL);
        if (!d) continue;
        const char *run = json_string_value(json_object_get(d, "run"));
        if (any_run || (run && strcmp(run, x->c->name) == 0)) go = fn(ctx, &ev[i], d);
        json_decref(d);
    }
    eco_registry_events_free(ev, n);
    return ECO_STATUS_OK;
}

typedef struct find_ctx {
    const char *model_id, *capability;
    int64_t g;
    bool found;
    json_t *detail;
} find_ctx;

static bool find_fn(void *p, const eco_registry_event *e, const json_t *d) {
    find_ctx *f = p;
    if (f->model_id && (!e->model_id || strcmp(e->model_id, f->model_id) != 0)) return true;
    if (f->g >= 0 && json_integer_value(json_object_get(d, "generation")) != f->g) return true;
    const char *cap = json_string_value(json_object_get(d, "capability"));
    if (f->capability && (!cap || strcmp(cap, f->capability) != 0)) return true;
    f->found = true;
    json_decref(f->detail);
    f->detail = json_deep_copy(d);
    return true;
}

eco_status loop_event_find(loop_ctx *x, const char *type, const char *model_id, int64_t g,
                           const char *capability, bool *found, json_t **detail) {
    find_ctx f = {.model_id = model_id, .capability = capability, .g = g};
    eco_status st = loop_events_each(x, type, false, find_fn, &f);
    *found = !st && f.found;
    if (detail && *found)
        *detail = f.detail;
    else
        json_decref(f.detail);
    if (detail && !*found) *detail = NULL;
    return st;
}
