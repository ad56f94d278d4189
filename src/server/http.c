/* The HTTP side: libmicrohttpd's daemon (internal polling thread with epoll, a thread pool),
 * each request's body gathered under the size limit, auth, dispatch by path, and the
 * graceful stop (new requests 503, those in flight finish). */
#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ecology/artifacts.h"
#include "server/server_internal.h"

/* One request's state between MHD's calls. */
typedef struct conn {
    eco_buf body;
    bool too_large;
    bool counted;     /* in s->in_flight */
    pending *pending; /* a plain generation running (complete.c) */
} conn;

void eco_server_options_init(eco_server_options *o) {
    memset(o, 0, sizeof *o);
    eco_server_limits_default(&o->limits);
}

uint16_t eco_server_port(const eco_server *s) { return s ? s->port : 0; }

unsigned eco_server_in_flight(eco_server *s) {
    pthread_mutex_lock(&s->mu);
    unsigned n = s->in_flight;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static int path_class(const char *url) {
    if (!strcmp(url, "/v1/models")) return PATH_MODELS;
    if (!strcmp(url, "/v1/completions")) return PATH_COMPLETIONS;
    if (!strcmp(url, "/v1/chat/completions")) return PATH_CHAT;
    if (!strcmp(url, "/health") || !strcmp(url, "/ready")) return PATH_HEALTH;
    if (!strcmp(url, "/metrics")) return PATH_METRICS;
    if (!strncmp(url, "/admin/", 7)) return PATH_ADMIN;
    if (!strcmp(url, "/")) return PATH_REPORT;
    return PATH_OTHER;
}

static enum MHD_Result send_answer(eco_server *s, struct MHD_Connection *c, int path, answer *a) {
    struct MHD_Response *r = a->response;
    if (!r) {
        r = MHD_create_response_from_buffer(a->len, a->body ? a->body : (char *)"",
                                            a->body ? MHD_RESPMEM_MUST_FREE
                                                    : MHD_RESPMEM_PERSISTENT);
        if (!r) {
            free(a->body);
            return MHD_NO;
        }
        a->body = NULL;
        if (a->content_type) MHD_add_response_header(r, "Content-Type", a->content_type);
    }
    if (a->status == 401) MHD_add_response_header(r, "WWW-Authenticate", "Bearer");
    srv_metrics_http(&s->metrics, path, a->status);
    enum MHD_Result ret = MHD_queue_response(c, a->status, r);
    MHD_destroy_response(r);
    return ret;
}

/* The key of "Authorization: Bearer KEY" (borrowed from MHD), or NULL. */
static const char *bearer(struct MHD_Connection *c, size_t *len) {
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return NULL;
    h += 7;
    while (*h == ' ') h++;
    *len = strlen(h);
    while (*len > 0 && h[*len - 1] == ' ') (*len)--;
    return *len ? h : NULL;
}

static void health(eco_server *s, answer *a) {
    int st = atomic_load(&s->state);
    const char *what = st == SERVER_READY ? "ok" : st == SERVER_LOADING ? "loading" : "stopping";
    srv_answer_json(a, st == SERVER_READY ? 200 : 503, json_pack("{s:s}", "status", what));
}

static void dispatch(eco_server *s, struct MHD_Connection *c, const char *url, const char *method,
                     int path, conn *k, answer *a) {
    /* k->pending is set when a generation starts on its own thread (no answer in a yet) */
    bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
    if (path == PATH_HEALTH) { /* public, answered in every state */
        if (!get) return srv_answer_error(a, 405, NULL, NULL, "%s takes GET", url);
        return health(s, a);
    }
    int state = atomic_load(&s->state);
    if (state != SERVER_READY)
        return srv_answer_error(a, 503, NULL, NULL, "the server is %s",
                                state == SERVER_LOADING ? "loading" : "stopping");
    if (path == PATH_OTHER) return srv_answer_error(a, 404, NULL, NULL, "no such path: %s", url);
    const char *who = NULL; /* the key's holder, for the admin's events */
    if (s->keys && !(path == PATH_REPORT && s->opt.report_public)) {
        size_t n = 0;
        const char *key = bearer(c, &n);
        eco_server_scope scope = eco_server_keys_check(s->keys, key, n, &who);
        if (scope == ECO_SERVER_SCOPE_NONE)
            return srv_answer_error(a, 401, NULL, NULL,
                                    key ? "invalid API key"
                                        : "no API key (Authorization: Bearer KEY)");
        if (path == PATH_ADMIN && scope != ECO_SERVER_SCOPE_ADMIN)
            return srv_answer_error(a, 403, NULL, NULL, "this key has no admin scope");
    }
    if (k->too_large)
        return srv_answer_error(a, 413, NULL, NULL, "request body over %zu bytes",
                                s->opt.limits.max_body_bytes);
    switch (path) {
        case PATH_MODELS:
            if (!get) return srv_answer_error(a, 405, NULL, NULL, "%s takes GET", url);
            return srv_handle_models(s, a);
        case PATH_METRICS:
            if (!get) return srv_answer_error(a, 405, NULL, NULL, "%s takes GET", url);
            return srv_handle_metrics(s, a);
        case PATH_COMPLETIONS:
        case PATH_CHAT:
            if (!post) return srv_answer_error(a, 405, NULL, NULL, "%s takes POST", url);
            k->pending = srv_handle_completion(s, c,
                                               path == PATH_CHAT ? ECO_SERVER_ENDPOINT_CHAT
                                                                 : ECO_SERVER_ENDPOINT_COMPLETIONS,
                                               k->body.data, k->body.len, a);
            return;
        case PATH_REPORT:
            if (!get) return srv_answer_error(a, 405, NULL, NULL, "%s takes GET", url);
            return srv_handle_report(s, a);
        case PATH_ADMIN:
            if (srv_handle_admin_ops(s, c, url, method, who, k->body.data, k->body.len, a)) return;
            if (!strcmp(url, "/admin/aliases")) {
                if (post) return srv_handle_admin_promote(s, k->body.data, k->body.len, a);
                if (!get) return srv_answer_error(a, 405, NULL, NULL, "%s takes GET or POST", url);
                return srv_handle_admin_aliases(s, a);
            }
            return srv_answer_error(a, 404, NULL, NULL, "no such path: %s", url);
        default:
            return srv_answer_error(a, 404, NULL, NULL, "no such path: %s", url);
    }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
    eco_server *s = cls;
    conn *k = *con_cls;
    if (!k) { /* the first call: headers only */
        if (!(k = calloc(1, sizeof *k))) return MHD_NO;
        *con_cls = k;
        pthread_mutex_lock(&s->mu);
        s->in_flight++;
        k->counted = true;
        pthread_mutex_unlock(&s->mu);
        /* A declared length over the limit is refused before a byte of the body is read. */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->opt.limits.max_body_bytes) {
            answer a = {0};
            srv_answer_error(&a, 413, NULL, NULL, "request body of %s bytes, over %zu", cl,
                             s->opt.limits.max_body_bytes);
            return send_answer(s, c, path_class(url), &a);
        }
        return MHD_YES;
    }
    if (*upload_size) { /* a piece of the body: kept while under the limit, then dropped */
        if (!k->too_large && k->body.len + *upload_size <= s->opt.limits.max_body_bytes) {
            if (!eco_buf_append(&k->body, upload, *upload_size)) k->too_large = true;
        } else {
            k->too_large = true;
            eco_buf_free(&k->body);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    answer a = {0};
    int path = path_class(url);
    if (k->pending) /* called again after a resume: the generation's answer */
        return srv_pending_take(k->pending, &a) ? send_answer(s, c, path, &a) : MHD_YES;
    dispatch(s, c, url, method, path, k, &a);
    if (k->pending) return MHD_YES; /* suspended until the answer is ready */
    return send_answer(s, c, path, &a);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode why) {
    eco_server *s = cls;
    conn *k = *con_cls;
    if (!k) return;
    srv_pending_free(k->pending);
    eco_buf_free(&k->body);
    if (k->counted) {
        pthread_mutex_lock(&s->mu);
        s->in_flight--;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    free(k);
    *con_cls = NULL;
}

static void free_server(eco_server *s) {
    if (s->mhd) MHD_stop_daemon(s->mhd);
    eco_pool_destroy(s->pool);
    eco_registry_close(s->reg_pool);
    eco_registry_close(s->reg);
    eco_server_keys_free(s->keys);
    eco_telemetry_free(s->tel);
    srv_metrics_free(&s->metrics);
    srv_report_free(s);
    pthread_mutex_destroy(&s->reg_mu);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

/* libmicrohttpd's own messages (a client gone mid-stream, a bad request line) at debug level:
 * they are about one client, not the server. */
static void mhd_log(void *cls, const char *fmt, va_list ap) {
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n') msg[--n] = '\0';
    eco_log(ECO_LOG_DEBUG, "serve: libmicrohttpd: %s", msg);
}

/* Listening first (so /health answers 503 while loading), then everything else. */
static eco_status listen_on(eco_server *s) {
    const eco_server_options *o = &s->opt;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(o->port);
    const char *host = o->host ? o->host : "127.0.0.1";
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        return eco_error(ECO_STATUS_EINVAL, "host '%s' is not an IPv4 address", host);
    unsigned threads = o->threads ? o->threads : 4; /* generations run on threads of their own */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES) flags |= MHD_USE_EPOLL;
    /* One thread is MHD's internal polling thread alone (it refuses a pool of 0 or 1). */
    struct MHD_OptionItem pool[] = {
        {threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, threads, NULL},
        {MHD_OPTION_END, 0, NULL}};
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_ARRAY, pool, MHD_OPTION_END);
    if (!s->mhd)
        return eco_error(ECO_STATUS_EIO, "cannot listen on %s:%u (in use, or not allowed)", host,
                         (unsigned)o->port);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : o->port;
    return ECO_STATUS_OK;
}

eco_status eco_server_start(const eco_server_options *o, eco_server **out) {
    if (!o || !out) return eco_error(ECO_STATUS_EINVAL, "server start: NULL argument");
    *out = NULL;
    eco_server *s = calloc(1, sizeof *s);
    if (!s) return eco_error(ECO_STATUS_ENOMEM, "server start: out of memory");
    s->opt = *o;
    s->compute_threads = eco_get_threads();
    pthread_mutex_init(&s->reg_mu, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    srv_metrics_init(&s->metrics);
    atomic_init(&s->state, SERVER_LOADING);
    atomic_init(&s->cancel_all, false);
    atomic_init(&s->generating, 0);
    atomic_init(&s->next_id, ((uint64_t)time(NULL) << 20));

    eco_status st = srv_report_init(s);
    if (st == ECO_STATUS_OK) st = listen_on(s);
    if (st == ECO_STATUS_OK && o->api_keys) st = eco_server_keys_load(o->api_keys, &s->keys);
    eco_registry_options ro = {.data_dir = o->data_dir, .trust_cache = true};
    if (st == ECO_STATUS_OK) st = eco_registry_open(&ro, &s->reg_pool);
    /* the server's own handle: reads, and the admin's alias moves */
    if (st == ECO_STATUS_OK) st = eco_registry_open(&ro, &s->reg);
    if (st == ECO_STATUS_OK) st = eco_pool_create(s->reg_pool, &o->pool, &s->pool);
    if (st == ECO_STATUS_OK) st = eco_telemetry_create(NULL, &s->tel);
    for (size_t i = 0; st == ECO_STATUS_OK && i < o->n_preload; i++) {
        eco_engine *e = NULL;
        st = eco_pool_acquire(s->pool, o->preload[i], &e);
        if (st) st = eco_error_wrap(st, "preload '%s'", o->preload[i]);
        eco_pool_release(s->pool, e);
    }
    if (st != ECO_STATUS_OK) {
        free_server(s);
        return st;
    }
    atomic_store(&s->state, SERVER_READY);
    *out = s;
    return ECO_STATUS_OK;
}

void eco_server_stop(eco_server *s, double grace_s) {
    if (!s) return;
    atomic_store(&s->state, SERVER_STOPPING);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double end = (double)until.tv_sec + 1e-9 * (double)until.tv_nsec + (grace_s > 0 ? grace_s : 0);
    until.tv_sec = (time_t)end;
    until.tv_nsec = (long)((end - (double)until.tv_sec) * 1e9);
    pthread_mutex_lock(&s->mu);
    while (s->in_flight > 0)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &until) != 0) break;
    bool late = s->in_flight > 0;
    pthread_mutex_unlock(&s->mu);
    if (late) { /* the grace ran out: generations end at their next token */
        eco_log(ECO_LOG_WARN, "serve: %u requests still running after %.1f s; cancelling them",
                eco_server_in_flight(s), grace_s);
        atomic_store(&s->cancel_all, true);
    }
    /* Generation threads resume their connections when they end: wait for them (a cancelled
     * one ends at its next token), so MHD stops with none suspended. */
    for (int i = 0; i < 30000 && atomic_load(&s->generating) > 0; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    free_server(s); /* MHD_stop_daemon waits for its threads, so streams end first */
}
