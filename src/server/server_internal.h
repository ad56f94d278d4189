/* The server's pieces (include/ecology/server.h draws how they fit). Functions shared between
 * its files carry the prefix srv_ (the library is one static archive). */
#ifndef ECO_SERVER_INTERNAL_H
#define ECO_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "ecology/registry.h"
#include "ecology/server.h"
#include "ecology/telemetry.h"

struct MHD_Connection;

enum { SERVER_LOADING = 0, SERVER_READY = 1, SERVER_STOPPING = 2 };

/* Per-model counters the telemetry store does not keep (metrics.c). */
/* A latency histogram on telemetry's bounds (eco_telemetry_latency_bounds): counts per
 * bucket (not cumulative; the last the +Inf one), their sum in seconds. */
typedef struct latency_hist {
    uint64_t counts[ECO_TELEMETRY_N_BUCKETS];
    uint64_t n;
    double sum;
} latency_hist;

void srv_latency_add(latency_hist *h, double seconds);

typedef struct model_counts {
    char *model;
    uint64_t prompt_tokens, completion_tokens, requests, errors;
    latency_hist ttft; /* request start to its first token */
    latency_hist itl;  /* between consecutive tokens */
} model_counts;

/* HTTP answers by path class and status (metrics.c). */
enum {
    PATH_MODELS,
    PATH_COMPLETIONS,
    PATH_CHAT,
    PATH_HEALTH,
    PATH_METRICS,
    PATH_ADMIN,
    PATH_REPORT, /* GET / */
    PATH_OTHER,
    PATH__COUNT
};

typedef struct server_metrics {
    pthread_mutex_t mu;
    model_counts *models; /* [n] */
    size_t n;
    uint64_t dropped;              /* records refused for the model bound */
    uint64_t http[PATH__COUNT][6]; /* by status class: [0] 2xx, [1] 400, [2] 401/403, [3] 404,
                                    * [4] other 4xx, [5] 5xx */
} server_metrics;

struct eco_server {
    struct MHD_Daemon *mhd;
    eco_server_options opt; /* strings borrowed from the caller */
    uint16_t port;
    eco_registry *reg_pool; /* the pool's handle */
    eco_registry *reg;      /* the server's own reads, under reg_mu */
    pthread_mutex_t reg_mu;
    eco_pool *pool;
    eco_server_keys *keys;
    eco_telemetry *tel;
    server_metrics metrics;
    int compute_threads; /* eco_get_threads() of the thread that started the server: every
                          * generation thread sets it for itself (OpenMP's count is per thread) */
    atomic_int state;
    atomic_bool cancel_all; /* stop's grace ran out: generations end now */
    atomic_uint generating; /* requests generating (the max_concurrent bound) */
    atomic_uint_fast64_t next_id;
    pthread_mutex_t mu; /* in_flight and its condition */
    pthread_cond_t cv;
    unsigned in_flight;              /* requests between their first byte and their completion */
    struct srv_report_cache *report; /* GET /'s rendered page (report_live.c) */
};

/* One HTTP answer: status, content type and body (owned), or a stream (complete.c). */
typedef struct answer {
    unsigned status;
    const char *content_type;
    char *body;
    size_t len;
    struct MHD_Response *response; /* a ready response instead of body (streams) */
} answer;

/* errors.c: the OpenAI error object for status with message (printf) into a. type and code
 * follow from status unless given (NULL). */
void srv_answer_error(answer *a, unsigned status, const char *code, const char *param,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* The status an eco_status from the library maps to (EINVAL/EFORMAT/ERANGE/EUNSUPPORTED 400,
 * ENOTFOUND 404, else 500). */
unsigned srv_status_http(eco_status st);
/* A JSON value into a's body (takes the reference); 500 when it cannot be written. */
void srv_answer_json(answer *a, unsigned status, json_t *v);

/* complete.c: POST /v1/completions and /v1/chat/completions. Answers in a at once (errors,
 * streams: NULL returned), or starts the generation on its own thread with c suspended and
 * returns it: MHD calls the handler again when it is done, which then takes the answer with
 * srv_pending_take (false: not ready yet, c suspended again). srv_pending_free when the request
 * completes (joins the thread). */
typedef struct pending pending;
pending *srv_handle_completion(eco_server *s, struct MHD_Connection *c, eco_server_endpoint ep,
                               const char *body, size_t len, answer *a);
bool srv_pending_take(pending *p, answer *a);
void srv_pending_free(pending *p);
/* models.c: GET /v1/models; GET /admin/aliases. */
void srv_handle_models(eco_server *s, answer *a);
void srv_handle_admin_aliases(eco_server *s, answer *a);
/* admin.c: POST /admin/aliases. */
void srv_handle_admin_promote(eco_server *s, const char *body, size_t len, answer *a);
/* admin_ops.c: the admin operations on the pool, the canaries and the loop (GET/POST
 * /admin/models[/load|/unload], /admin/canary, /admin/loop[/pause|/resume]); by names the
 * key's holder for the events. false when url is none of them (a not answered). */
bool srv_handle_admin_ops(eco_server *s, struct MHD_Connection *c, const char *url,
                          const char *method, const char *by, const char *body, size_t len,
                          answer *a);
/* report_live.c: GET / (the loop's report page, rendered at most every SERVER_REPORT_TTL_S
 * seconds). */
#define SERVER_REPORT_TTL_S 2.0
typedef struct srv_report_cache srv_report_cache;
eco_status srv_report_init(eco_server *s);
void srv_report_free(eco_server *s);
void srv_handle_report(eco_server *s, answer *a);
/* metrics.c */
void srv_metrics_init(server_metrics *m);
void srv_metrics_free(server_metrics *m);
void srv_metrics_http(server_metrics *m, int path, unsigned status);
void srv_metrics_model(server_metrics *m, const char *model, uint64_t prompt_tokens,
                       uint64_t completion_tokens, bool error, const latency_hist *ttft,
                       const latency_hist *itl);
void srv_handle_metrics(eco_server *s, answer *a);

#endif
