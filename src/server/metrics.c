/* GET /metrics: the telemetry store's Prometheus exposition (requests, failures, generated
 * tokens, latency histograms per engine and capability) followed by the server's own
 * families: prompt and completion tokens, requests and errors per model, HTTP answers per
 * path and status class, requests in flight, and the pool's residency. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "server/server_internal.h"

#define MODELS_MAX 4096

void srv_metrics_init(server_metrics *m) {
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void srv_metrics_free(server_metrics *m) {
    for (size_t i = 0; i < m->n; i++) free(m->models[i].model);
    free(m->models);
    pthread_mutex_destroy(&m->mu);
}

void srv_metrics_http(server_metrics *m, int path, unsigned status) {
    int c = status < 400                     ? 0
            : status == 400                  ? 1
            : status == 401 || status == 403 ? 2
            : status == 404                  ? 3
            : status < 500                   ? 4
                                             : 5;
    pthread_mutex_lock(&m->mu);
    m->http[path][c]++;
    pthread_mutex_unlock(&m->mu);
}

void srv_latency_add(latency_hist *h, double seconds) {
    if (!(seconds >= 0)) seconds = 0;
    h->counts[eco_telemetry_bucket_index(seconds)]++;
    h->n++;
    h->sum += seconds;
}

static void hist_merge(latency_hist *into, const latency_hist *h) {
    if (!h) return;
    for (size_t i = 0; i < ECO_TELEMETRY_N_BUCKETS; i++) into->counts[i] += h->counts[i];
    into->n += h->n;
    into->sum += h->sum;
}

void srv_metrics_model(server_metrics *m, const char *model, uint64_t prompt_tokens,
                       uint64_t completion_tokens, bool error, const latency_hist *ttft,
                       const latency_hist *itl) {
    pthread_mutex_lock(&m->mu);
    model_counts *c = NULL;
    for (size_t i = 0; i < m->n && !c; i++)
        if (!strcmp(m->models[i].model, model)) c = &m->models[i];
    if (!c && m->n < MODELS_MAX) {
        model_counts *grown = realloc(m->models, (m->n + 1) * sizeof *grown);
        char *name = eco_strdup(model);
        if (grown) m->models = grown;
        if (grown && name) {
            c = &m->models[m->n++];
            memset(c, 0, sizeof *c);
            c->model = name;
        } else {
            free(name);
        }
    }
    if (c) {
        c->requests++;
        c->errors += error;
        c->prompt_tokens += prompt_tokens;
        c->completion_tokens += completion_tokens;
        hist_merge(&c->ttft, ttft);
        hist_merge(&c->itl, itl);
    } else {
        m->dropped++;
    }
    pthread_mutex_unlock(&m->mu);
}

static int by_model(const void *a, const void *b) {
    return strcmp(((const model_counts *)a)->model, ((const model_counts *)b)->model);
}

static bool family(eco_buf *b, const char *name, const char *type, const char *help) {
    return eco_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Per resident base: its resident adapters and the infers queued for its model (waiting for
 * their prompt's turn before they join the base's batch; a remote model: for its engine),
 * and the queue's total. */
static bool pool_families(eco_server *s, eco_buf *b) {
    eco_pool_resident *r = NULL;
    size_t n = 0;
    if (eco_pool_residents(s->pool, &r, &n) != ECO_STATUS_OK) return false;
    static const struct {
        const char *name, *help;
        bool queue;
    } fams[] = {
        {"ecology_pool_base_resident_adapters", "Resident adapters per resident base.", false},
        {"ecology_pool_base_queue_depth",
         "Infers waiting for their prompt's turn on a base's model (then they join its batch).",
         true},
    };
    bool ok = true;
    size_t total = 0;
    for (size_t f = 0; ok && f < sizeof fams / sizeof *fams; f++) {
        ok = family(b, fams[f].name, "gauge", fams[f].help);
        for (size_t i = 0; ok && i < n && !r[i].base; i++) {
            size_t v = fams[f].queue ? r[i].waiting : r[i].adapters;
            if (fams[f].queue) total += v;
            ok = eco_buf_printf(b, "%s{base=\"", fams[f].name) &&
                 eco_telemetry_escape_label(b, r[i].id, strlen(r[i].id)) &&
                 eco_buf_printf(b, "\"} %zu\n", v);
        }
    }
    ok = ok &&
         family(b, "ecology_server_queue_depth", "gauge",
                "Generating requests waiting for their model (every base's queue).") &&
         eco_buf_printf(b, "ecology_server_queue_depth %zu\n", total);
    eco_pool_residents_free(r, n);
    return ok;
}

void srv_handle_metrics(eco_server *s, answer *a) {
    eco_buf b = {0};
    if (eco_telemetry_prometheus(s->tel, &b) != ECO_STATUS_OK) {
        eco_buf_free(&b);
        return srv_answer_error(a, 500, NULL, NULL, "%s", eco_last_error());
    }
    static const struct {
        const char *name, *help;
        size_t off;
    } per_model[] = {
        {"ecology_server_requests_total", "Generation requests per model.",
         offsetof(model_counts, requests)},
        {"ecology_server_errors_total", "Generation requests per model that failed.",
         offsetof(model_counts, errors)},
        {"ecology_server_prompt_tokens_total", "Prompt tokens per model.",
         offsetof(model_counts, prompt_tokens)},
        {"ecology_server_completion_tokens_total", "Generated tokens per model.",
         offsetof(model_counts, completion_tokens)},
    };
    static const char *const paths[PATH__COUNT] = {"/v1/models",
                                                   "/v1/completions",
                                                   "/v1/chat/completions",
                                                   "/health",
                                                   "/metrics",
                                                   "/admin",
                                                   "/",
                                                   "other"};
    static const char *const classes[6] = {"2xx", "400", "401_403", "404", "4xx", "5xx"};
    bool ok = true;
    pthread_mutex_lock(&s->metrics.mu);
    server_metrics *m = &s->metrics;
    if (m->n) qsort(m->models, m->n, sizeof *m->models, by_model); /* NULL before any */
    for (size_t f = 0; ok && f < sizeof per_model / sizeof *per_model; f++) {
        if (m->n == 0) break;
        ok = family(&b, per_model[f].name, "counter", per_model[f].help);
        for (size_t i = 0; ok && i < m->n; i++) {
            uint64_t v = *(const uint64_t *)((const char *)&m->models[i] + per_model[f].off);
            ok = eco_buf_printf(&b, "%s{model=\"", per_model[f].name) &&
                 eco_telemetry_escape_label(&b, m->models[i].model, strlen(m->models[i].model)) &&
                 eco_buf_printf(&b, "\"} %llu\n", (unsigned long long)v);
        }
    }
    static const struct {
        const char *name, *help;
        size_t off;
    } hists[] = {
        {"ecology_server_time_to_first_token_seconds",
         "Seconds from a request's arrival to its first generated token, per model.",
         offsetof(model_counts, ttft)},
        {"ecology_server_inter_token_latency_seconds",
         "Seconds between consecutive generated tokens, per model.", offsetof(model_counts, itl)},
    };
    const double *bounds = eco_telemetry_latency_bounds();
    for (size_t f = 0; ok && m->n > 0 && f < sizeof hists / sizeof *hists; f++) {
        ok = family(&b, hists[f].name, "histogram", hists[f].help);
        for (size_t i = 0; ok && i < m->n; i++) {
            const latency_hist *h =
                (const latency_hist *)((const char *)&m->models[i] + hists[f].off);
            const char *model = m->models[i].model;
            uint64_t cum = 0;
            for (size_t k = 0; ok && k < ECO_TELEMETRY_N_BUCKETS; k++) {
                cum += h->counts[k];
                ok = eco_buf_printf(&b, "%s_bucket{model=\"", hists[f].name) &&
                     eco_telemetry_escape_label(&b, model, strlen(model)) &&
                     (k < ECO_TELEMETRY_N_BOUNDS
                          ? eco_buf_printf(&b, "\",le=\"%.*g\"} ", eco_json_real_digits(bounds[k]),
                                           bounds[k])
                          : eco_buf_puts(&b, "\",le=\"+Inf\"} ")) &&
                     eco_buf_printf(&b, "%llu\n", (unsigned long long)cum);
            }
            ok = ok && eco_buf_printf(&b, "%s_sum{model=\"", hists[f].name) &&
                 eco_telemetry_escape_label(&b, model, strlen(model)) &&
                 eco_buf_printf(&b, "\"} %.*g\n%s_count{model=\"", eco_json_real_digits(h->sum),
                                h->sum, hists[f].name) &&
                 eco_telemetry_escape_label(&b, model, strlen(model)) &&
                 eco_buf_printf(&b, "\"} %llu\n", (unsigned long long)h->n);
        }
    }
    ok = ok && family(&b, "ecology_server_http_responses_total", "counter",
                      "HTTP responses by path and status class.");
    for (int p = 0; ok && p < PATH__COUNT; p++)
        for (int c = 0; ok && c < 6; c++)
            if (m->http[p][c])
                ok =
                    eco_buf_printf(&b,
                                   "ecology_server_http_responses_total{path=\"%s\",status=\"%s\"} "
                                   "%llu\n",
                                   paths[p], classes[c], (unsigned long long)m->http[p][c]);
    pthread_mutex_unlock(&s->metrics.mu);
    eco_pool_stats ps;
    eco_pool_get_stats(s->pool, &ps);
    ok = ok &&
         family(&b, "ecology_server_requests_in_flight", "gauge", "Requests being answered.") &&
         eco_buf_printf(&b, "ecology_server_requests_in_flight %u\n", eco_server_in_flight(s)) &&
         family(&b, "ecology_server_generating", "gauge", "Requests generating now.") &&
         eco_buf_printf(&b, "ecology_server_generating %u\n", atomic_load(&s->generating)) &&
         family(&b, "ecology_pool_resident_bases", "gauge", "Base models resident.") &&
         eco_buf_printf(&b, "ecology_pool_resident_bases %zu\n", ps.bases) &&
         family(&b, "ecology_pool_resident_adapters", "gauge", "Adapters resident.") &&
         eco_buf_printf(&b, "ecology_pool_resident_adapters %zu\n", ps.adapters_resident);
    ok = ok && pool_families(s, &b);
    if (!ok) {
        eco_buf_free(&b);
        return srv_answer_error(a, 500, NULL, NULL, "out of memory");
    }
    a->status = 200;
    a->content_type = "text/plain; version=0.0.4";
    a->body = b.data;
    a->len = b.len;
}
