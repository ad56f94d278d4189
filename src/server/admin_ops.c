/* The admin API's operations beyond the aliases (admin scope; issue 22):
 *
 *   GET  /admin/models           the pool's resident models: id, kind, base, bytes, engines
 *                                held, resident adapters and queued infers of each base
 *   POST /admin/models/load      {"model": id or alias}: loaded into the pool now (answers when
 *                                loaded; the budgets may evict it again at once)
 *   POST /admin/models/unload    {"model": id or alias}: evicted (a base with its adapters);
 *                                404 when not resident, 409 while engines are held over it
 *   GET  /admin/canary[?capability=C]  where the canaries stand (daemon.h's
 *                                eco_canary_status_json: champion, canary, the last decision)
 *   GET  /admin/loop             {"paused": bool, "pause": the pause file's content | null}
 *   POST /admin/loop/pause       creates the loop's pause file (daemon.h); the loop starts no
 *   POST /admin/loop/resume      new generation until resume removes it. Both record a
 *                                "loop-pause" / "loop-resume" event naming the key's holder.
 *
 * The load and unload bodies are read by eco_server_model_body_parse (fuzzed). */
#include <jansson.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "ecology/daemon.h"
#include "server/server_internal.h"

#define LABEL "request"

eco_status eco_server_model_body_parse(const char *body, size_t len, char **model) {
    *model = NULL;
    json_t *root = NULL;
    eco_status st = eco_json_parse(body, len, 0, LABEL, &root);
    if (st) return st;
    eco_jr r = eco_jr_root(LABEL, root);
    static const char *const keys[] = {"model", NULL};
    const char *m = NULL;
    if (!json_is_object(root)) st = eco_error(ECO_STATUS_EFORMAT, LABEL ": expected a JSON object");
    if (st == ECO_STATUS_OK) st = eco_jr_only(&r, keys);
    if (st == ECO_STATUS_OK) st = eco_jr_str(&r, "model", true, false, &m, NULL);
    if (st == ECO_STATUS_OK && !eco_model_id_ok(m))
        st = eco_jr_fail(&r, "model", ECO_STATUS_EFORMAT, "not a model id or alias");
    if (st == ECO_STATUS_OK && !(*model = eco_strdup(m)))
        st = eco_error(ECO_STATUS_ENOMEM, LABEL ": out of memory");
    json_decref(root);
    return st;
}

static unsigned http_status(eco_status st) {
    return st == ECO_STATUS_ECONFLICT ? 409 : srv_status_http(st);
}

static void residents(eco_server *s, answer *a) {
    eco_pool_resident *r = NULL;
    size_t n = 0;
    if (eco_pool_residents(s->pool, &r, &n))
        return srv_answer_error(a, 500, NULL, NULL, "%s", eco_last_error());
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *e = json_pack("{s:s,s:s,s:o,s:I,s:I}", "id", r[i].id, "kind",
                              eco_genome_kind_str(r[i].kind), "base",
                              r[i].base ? json_string(r[i].base) : json_null(), "bytes",
                              (json_int_t)r[i].bytes, "engines_held", (json_int_t)r[i].users);
        if (e && !r[i].base) {
            json_object_set_new(e, "adapters_resident", json_integer((json_int_t)r[i].adapters));
            json_object_set_new(e, "queued", json_integer((json_int_t)r[i].waiting));
        }
        if (e) json_array_append_new(arr, e);
    }
    eco_pool_residents_free(r, n);
    eco_pool_stats ps;
    eco_pool_get_stats(s->pool, &ps);
    srv_answer_json(a, 200,
                    json_pack("{s:o,s:{s:I,s:I,s:I,s:I,s:I}}", "models", arr ? arr : json_array(),
                              "stats", "hits", (json_int_t)ps.hits, "loads", (json_int_t)ps.loads,
                              "evictions", (json_int_t)ps.evictions, "base_bytes",
                              (json_int_t)ps.base_bytes, "adapter_bytes",
                              (json_int_t)ps.adapter_bytes));
}

static void load_unload(eco_server *s, bool load, const char *body, size_t len, answer *a) {
    char *model = NULL;
    eco_status st = eco_server_model_body_parse(body, len, &model);
    if (st) return srv_answer_error(a, 400, NULL, NULL, "%s", eco_last_error());
    char *id = NULL;
    size_t evicted = 0;
    st = load ? eco_pool_load(s->pool, model, &id) : eco_pool_unload(s->pool, model, &evicted);
    if (st)
        srv_answer_error(a, http_status(st), st == ECO_STATUS_ENOTFOUND ? "model_not_found" : NULL,
                         "model", "%s", eco_last_error());
    else if (load)
        srv_answer_json(a, 200, json_pack("{s:s,s:s}", "model", id, "state", "resident"));
    else
        srv_answer_json(a, 200,
                        json_pack("{s:s,s:s,s:I}", "model", model, "state", "unloaded", "evicted",
                                  (json_int_t)evicted));
    free(id);
    free(model);
}

static void canary(eco_server *s, struct MHD_Connection *c, answer *a) {
    const char *cap = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "capability");
    char *text = NULL;
    pthread_mutex_lock(&s->reg_mu);
    eco_status st = eco_canary_status_json(s->reg, cap && cap[0] ? cap : NULL, &text);
    pthread_mutex_unlock(&s->reg_mu);
    json_t *v = NULL;
    if (st == ECO_STATUS_OK) st = eco_json_parse(text, strlen(text), 0, "canary status", &v);
    free(text);
    if (st) return srv_answer_error(a, http_status(st), NULL, "capability", "%s", eco_last_error());
    srv_answer_json(a, 200, json_pack("{s:o}", "canaries", v));
}

static void loop_state(eco_server *s, answer *a) {
    bool paused = false;
    char *detail = NULL;
    eco_status st = eco_loop_pause_get(eco_registry_data_dir(s->reg), &paused, &detail);
    if (st) return srv_answer_error(a, 500, NULL, NULL, "%s", eco_last_error());
    json_t *d = NULL;
    if (detail) (void)eco_json_parse(detail, strlen(detail), 0, "pause", &d);
    free(detail);
    srv_answer_json(a, 200, json_pack("{s:b,s:o}", "paused", paused, "pause", d ? d : json_null()));
}

static void loop_pause(eco_server *s, bool pause, const char *by, answer *a) {
    char at[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *dir = eco_registry_data_dir(s->reg);
    eco_status st = eco_loop_pause_set(dir, pause, by, at);
    if (st == ECO_STATUS_OK) {
        json_t *d = json_pack("{s:s}", "by", by);
        char *text = d ? json_dumps(d, JSON_COMPACT) : NULL;
        json_decref(d);
        pthread_mutex_lock(&s->reg_mu);
        st = eco_registry_event_append(s->reg, pause ? "loop-pause" : "loop-resume", NULL, text,
                                       NULL);
        pthread_mutex_unlock(&s->reg_mu);
        free(text);
    }
    if (st) return srv_answer_error(a, 500, NULL, NULL, "%s", eco_last_error());
    loop_state(s, a);
}

bool srv_handle_admin_ops(eco_server *s, struct MHD_Connection *c, const char *url,
                          const char *method, const char *by, const char *body, size_t len,
                          answer *a) {
    bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    static const struct {
        const char *url;
        bool post;
    } routes[] = {{"/admin/models", false},       {"/admin/models/load", true},
                  {"/admin/models/unload", true}, {"/admin/canary", false},
                  {"/admin/loop", false},         {"/admin/loop/pause", true},
                  {"/admin/loop/resume", true}};
    size_t i = 0, n = sizeof routes / sizeof *routes;
    while (i < n && strcmp(url, routes[i].url) != 0) i++;
    if (i == n) return false;
    if (routes[i].post ? !post : !get) {
        srv_answer_error(a, 405, NULL, NULL, "%s takes %s", url, routes[i].post ? "POST" : "GET");
        return true;
    }
    if (!by) by = "admin";
    switch (i) {
        case 0:
            residents(s, a);
            break;
        case 1:
            load_unload(s, true, body, len, a);
            break;
        case 2:
            load_unload(s, false, body, len, a);
            break;
        case 3:
            canary(s, c, a);
            break;
        case 4:
            loop_state(s, a);
            break;
        default:
            loop_pause(s, i == 5, by, a);
            break;
    }
    return true;
}
