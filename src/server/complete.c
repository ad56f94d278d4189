/* POST /v1/completions and /v1/chat/completions: the parsed request becomes an infer on a
 * pool engine, once per choice (choice i with seed + i), with an on_token callback that
 * keeps the per-token log-probabilities, enforces the deadline and the prompt-token cap,
 * and, for a stream, hands text deltas to MHD as server-sent events from a generation
 * thread. */
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/json_read.h"
#include "ecology/json_schema.h"
#include "server/complete_internal.h"

/* A plain answer generated on its own thread while MHD keeps the connection suspended, so
 * no MHD worker waits on a generation. */
struct pending {
    pthread_mutex_t mu;
    pthread_t th;
    struct MHD_Connection *c;
    job *j;
    answer a;
    bool ready;
    bool suspended; /* c is suspended (under mu): whoever clears it resumes c */
};

/* ---- one choice ---------------------------------------------------------------------- */

static bool on_token(void *ctx, const eco_infer_step *step) {
    job *j = ctx;
    if (step->n_prompt_tokens > j->s->opt.limits.max_prompt_tokens) {
        j->prompt_too_long = true;
        return false;
    }
    double now = eco_now();
    if (j->last_token > 0)
        srv_latency_add(&j->itl, now - j->last_token);
    else if (j->index == 0) /* once per request: later choices' first tokens are neither */
        srv_latency_add(&j->ttft, now - j->t0);
    j->last_token = now;
    if (now > j->deadline) {
        j->timed_out = true;
        return false;
    }
    if (atomic_load(&j->s->cancel_all) || (j->st && atomic_load(&j->st->gone))) return false;
    if (j->st) {
        srv_stream_step(j, step);
    } else if (j->q.logprobs) {
        srv_lp_record(j, step);
    }
    return true;
}

/* Runs choice j->index into resp. ECO_STATUS_OK, or the status with *status and message
 * set for the error answer. */
eco_status srv_job_run_choice(job *j, eco_infer_response *resp, unsigned *status,
                              const char **code) {
    eco_infer_request req;
    eco_infer_request_init(&req);
    req.prompt = j->prompt;
    req.max_tokens = j->q.max_tokens ? j->q.max_tokens : j->s->opt.limits.default_max_tokens;
    req.temperature = (float)j->q.temperature;
    req.top_p = (float)j->q.top_p;
    req.seed = j->q.seed + (uint64_t)j->index;
    req.stop = j->stops;
    req.n_stop = j->n_stops;
    req.on_token = on_token;
    req.on_token_ctx = j;
    j->timed_out = j->prompt_too_long = false;
    j->emitted = j->skip = 0;
    j->last_token = 0;
    j->text_offset = 0;
    *code = NULL;
    /* structured output: one constraint per choice (the parser checked the schema) */
    eco_json_constraint *jc = NULL;
    eco_status st = ECO_STATUS_OK;
    if (j->q.format != ECO_SERVER_FORMAT_TEXT) {
        st = eco_json_constraint_create(j->q.format == ECO_SERVER_FORMAT_JSON_SCHEMA ? j->q.schema
                                                                                     : NULL,
                                        "response_format", &jc, NULL, 0);
        if (st != ECO_STATUS_OK) {
            *status = srv_status_http(st) == 400 ? 400 : 500;
            return st;
        }
        req.constraint = eco_json_constraint_decoder(jc);
    }
    st = srv_select_infer(j, &req, resp);
    eco_json_constraint_free(jc);
    if (st == ECO_STATUS_ERANGE && resp->finish_reason && !strcmp(resp->finish_reason, "context")) {
        *status = 400;
        *code = "context_length_exceeded";
        return st;
    }
    if (st != ECO_STATUS_OK) {
        *status = srv_status_http(st) == 400 ? 400 : 500;
        return st;
    }
    j->prompt_tokens += resp->n_prompt_tokens;
    j->completion_tokens += resp->n_tokens;
    j->prompt_ms += resp->prompt_ms;
    j->decode_ms += resp->decode_ms;
    if (j->prompt_too_long) {
        *status = 400;
        *code = "context_length_exceeded";
        eco_infer_response_free(resp);
        return eco_error(ECO_STATUS_ERANGE, "the prompt has %zu tokens, more than %zu",
                         (size_t)j->prompt_tokens, j->s->opt.limits.max_prompt_tokens);
    }
    if (j->timed_out) {
        *status = 504;
        eco_infer_response_free(resp);
        return eco_error(ECO_STATUS_ERANGE, "the request ran past its timeout of %.0f s",
                         j->s->opt.limits.request_timeout_s);
    }
    if (!strcmp(resp->finish_reason, "cancelled")) {
        *status = 503;
        eco_infer_response_free(resp);
        return eco_error(ECO_STATUS_EIO, "the server is stopping");
    }
    return ECO_STATUS_OK;
}

json_t *srv_job_usage_json(const job *j) {
    return json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)j->prompt_tokens,
                     "completion_tokens", (json_int_t)j->completion_tokens, "total_tokens",
                     (json_int_t)(j->prompt_tokens + j->completion_tokens));
}

/* n per ms as a rate per second and its inverse, 0 when either is 0. */
static double per_second(uint64_t n, double ms) { return n && ms > 0 ? 1e3 * (double)n / ms : 0; }
static double per_token(uint64_t n, double ms) { return n ? ms / (double)n : 0; }

json_t *srv_job_timings_json(const job *j) {
    return json_pack("{s:I,s:f,s:f,s:f,s:I,s:f,s:f,s:f}", "prompt_n", (json_int_t)j->prompt_tokens,
                     "prompt_ms", j->prompt_ms, "prompt_per_token_ms",
                     per_token(j->prompt_tokens, j->prompt_ms), "prompt_per_second",
                     per_second(j->prompt_tokens, j->prompt_ms), "predicted_n",
                     (json_int_t)j->completion_tokens, "predicted_ms", j->decode_ms,
                     "predicted_per_token_ms", per_token(j->completion_tokens, j->decode_ms),
                     "predicted_per_second", per_second(j->completion_tokens, j->decode_ms));
}

void srv_job_record(job *j, bool failed, double gen_s) {
    const eco_genome *g = j->eng ? j->eng->genome(j->eng) : NULL;
    const char *cap = g && g->n_capabilities ? g->capabilities[0] : "any";
    /* a routed request counts for the target that answered (its `model` is only echoed) */
    const char *model = j->router ? (j->routed_to ? j->routed_to : "routed") : j->model;
    if (model) {
        eco_telemetry_event ev = {.engine = model,
                                  .capability = cap,
                                  .failed = failed,
                                  .latency_s = eco_now() - j->t0,
                                  .tokens = j->completion_tokens,
                                  .gen_seconds = gen_s,
                                  .confidence = NAN};
        (void)eco_telemetry_record(j->s->tel, &ev);
    }
    srv_metrics_model(&j->s->metrics, model ? model : "unknown", j->prompt_tokens,
                      j->completion_tokens, failed, &j->ttft, &j->itl);
}

void srv_job_free(job *j) {
    if (!j) return;
    if (j->eng) eco_pool_release(j->s->pool, j->eng);
    srv_select_free(j);
    if (j->slot) atomic_fetch_sub(&j->s->generating, 1);
    free(j->template_stop);
    eco_server_request_free(&j->q);
    free(j->prompt);
    json_decref(j->lp);
    free(j);
}

/* ---- the plain answer ---------------------------------------------------------------- */

static void answer_plain(job *j, answer *a) {
    json_t *choices = json_array();
    double gen_s = 0;
    for (j->index = 0; j->index < j->q.n; j->index++) {
        eco_infer_response resp;
        unsigned status = 500;
        const char *code = NULL;
        json_decref(j->lp);
        j->lp = srv_lp_new(j);
        eco_status st = srv_job_run_choice(j, &resp, &status, &code);
        if (st != ECO_STATUS_OK) {
            json_decref(choices);
            srv_job_record(j, true, gen_s);
            srv_answer_error(a, status, code, NULL, "%s", eco_last_error());
            return;
        }
        gen_s += resp.decode_ms / 1e3;
        json_t *lp = srv_lp_wrap(j, j->lp);
        j->lp = NULL;
        json_t *c;
        if (j->q.endpoint == ECO_SERVER_ENDPOINT_CHAT) {
            size_t skip = j->chat_space && resp.text_len > 0 && resp.text[0] == ' ' ? 1 : 0;
            c = json_pack("{s:i,s:{s:s,s:o},s:o,s:s}", "index", j->index, "message", "role",
                          "assistant", "content",
                          srv_lp_text_json(resp.text + skip, resp.text_len - skip), "logprobs", lp,
                          "finish_reason", resp.finish_reason);
        } else {
            c = json_pack("{s:i,s:o,s:o,s:s}", "index", j->index, "text",
                          srv_lp_text_json(resp.text, resp.text_len), "logprobs", lp,
                          "finish_reason", resp.finish_reason);
        }
        if (j->routed_to) json_object_set_new(c, "x_ecology_routed_to", json_string(j->routed_to));
        json_array_append_new(choices, c);
        eco_infer_response_free(&resp);
    }
    srv_job_record(j, false, gen_s);
    json_t *body = json_pack("{s:s,s:s,s:I,s:s,s:o,s:o}", "id", j->id, "object", j->object,
                             "created", j->created, "model", j->model, "choices", choices, "usage",
                             srv_job_usage_json(j));
    if (body) json_object_set_new(body, "timings", srv_job_timings_json(j));
    if (body && j->routed_to)
        json_object_set_new(body, "x_ecology_routed_to", json_string(j->routed_to));
    srv_answer_json(a, 200, body);
}

static void *plain_main(void *arg) {
    pending *p = arg;
    eco_set_threads(p->j->s->compute_threads);
    answer a = {0};
    answer_plain(p->j, &a);
    srv_job_free(p->j); /* the engine back, and a generation slot free, before the answer goes */
    p->j = NULL;
    pthread_mutex_lock(&p->mu);
    p->a = a;
    p->ready = true;
    if (p->suspended) {
        p->suspended = false;
        MHD_resume_connection(p->c);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

bool srv_pending_take(pending *p, answer *a) {
    pthread_mutex_lock(&p->mu);
    bool ready = p->ready;
    if (ready) {
        *a = p->a;
        memset(&p->a, 0, sizeof p->a);
    } else if (!p->suspended) { /* woken early: wait on */
        p->suspended = true;
        MHD_suspend_connection(p->c);
    }
    pthread_mutex_unlock(&p->mu);
    return ready;
}

void srv_pending_free(pending *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu); /* the connection is going: nobody resumes it any more */
    p->suspended = false;
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
    free(p->a.body);
    if (p->a.response) MHD_destroy_response(p->a.response);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* Starts j's plain answer on its own thread with c suspended; NULL (and the error in a)
 * when the thread cannot start. */
static pending *answer_later(job *j, struct MHD_Connection *c, answer *a) {
    pending *p = calloc(1, sizeof *p);
    if (!p) {
        srv_job_free(j);
        srv_answer_error(a, 500, NULL, NULL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    p->c = c;
    p->j = j;
    /* Suspended under the lock, so the thread's resume always comes after it. */
    pthread_mutex_lock(&p->mu);
    if (pthread_create(&p->th, NULL, plain_main, p) != 0) {
        pthread_mutex_unlock(&p->mu);
        pthread_mutex_destroy(&p->mu);
        free(p);
        srv_job_free(j);
        srv_answer_error(a, 500, NULL, NULL, "cannot start a generation thread");
        return NULL;
    }
    MHD_suspend_connection(c);
    p->suspended = true;
    pthread_mutex_unlock(&p->mu);
    return p;
}

/* ---- the handler --------------------------------------------------------------------- */

pending *srv_handle_completion(eco_server *s, struct MHD_Connection *c, eco_server_endpoint ep,
                               const char *body, size_t len, answer *a) {
    const eco_server_limits *L = &s->opt.limits;
    job *j = calloc(1, sizeof *j);
    if (!j) {
        srv_answer_error(a, 500, NULL, NULL, "out of memory");
        return NULL;
    }
    j->s = s;
    j->t0 = eco_now();
    j->deadline = j->t0 + L->request_timeout_s;
    j->created = (json_int_t)time(NULL);
    const bool chat = ep == ECO_SERVER_ENDPOINT_CHAT;
    j->object = chat ? "chat.completion" : "text_completion";
    snprintf(j->id, sizeof j->id, "%s-%016llx", chat ? "chatcmpl" : "cmpl",
             (unsigned long long)atomic_fetch_add(&s->next_id, 1));
    char param[ECO_JR_PATH_MAX];
    eco_status st = eco_server_request_parse(body, len, ep, L, &j->q, param, sizeof param);
    if (st != ECO_STATUS_OK) {
        srv_answer_error(a, 400, st == ECO_STATUS_EUNSUPPORTED ? "unsupported_parameter" : NULL,
                         param, "%s", eco_last_error());
        srv_metrics_model(&s->metrics, "unknown", 0, 0, true, NULL, NULL);
        srv_job_free(j);
        return NULL;
    }
    if (!chat) {
        j->prompt = j->q.prompt;
        j->q.prompt = NULL;
        if (strlen(j->prompt) > L->max_prompt_bytes) {
            srv_answer_error(a, 400, "context_length_exceeded", "prompt",
                             "the prompt is %zu bytes, more than %zu", strlen(j->prompt),
                             L->max_prompt_bytes);
            srv_job_free(j);
            return NULL;
        }
    }
    for (size_t i = 0; i < j->q.n_stop && j->n_stops < 16; i++)
        j->stops[j->n_stops++] = j->q.stop[i];
    if (j->q.stream) j->object = chat ? "chat.completion.chunk" : "text_completion";

    if (atomic_fetch_add(&s->generating, 1) >= L->max_concurrent) {
        atomic_fetch_sub(&s->generating, 1);
        srv_answer_error(a, 429, NULL, NULL, "more than %u requests generating; try again later",
                         L->max_concurrent);
        srv_job_free(j);
        return NULL;
    }
    j->slot = true;
    if (!srv_select(j, a)) {
        srv_metrics_model(&s->metrics, "unknown", 0, 0, true, NULL, NULL);
        srv_job_free(j);
        return NULL;
    }
    if (!j->model) j->model = j->q.model;
    if (chat && !srv_chat_render(j, a)) {
        srv_job_free(j);
        return NULL;
    }
    if (j->q.stream) {
        srv_answer_stream(j, c, a);
        return NULL;
    }
    return answer_later(j, c, a);
}
