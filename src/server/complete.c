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
#include "ecology/tokenizer.h"
#include "server/server_internal.h"

/* What the project's chat format adds (chat_prompt.c's contract): answers are one line. */
#define CHAT_STOP "\n"

/* A request being served: everything both the plain and the streaming paths share. */
typedef struct job {
    eco_server *s;
    eco_server_request q;
    char *prompt;
    const char *stops[16 + 1];
    size_t n_stops;
    eco_engine *eng;
    char id[40];
    const char *object;
    const char *model; /* the engine's genome id (borrowed from eng) */
    json_int_t created;
    double t0, deadline;
    /* per choice, reset by run_choice */
    bool timed_out, prompt_too_long;
    json_t *lp;         /* chat: logprobs.content entries; completions: the object */
    size_t text_offset; /* completions: bytes of the token strings so far */
    /* streaming */
    struct stream *st;
    int index;
    size_t emitted; /* bytes of the choice's text sent */
    size_t skip;    /* chat: the leading space of the answer, not sent */
    /* totals */
    uint64_t prompt_tokens, completion_tokens;
    double last_token; /* eco_now() at the previous token (0: none yet in this choice) */
    latency_hist ttft, itl;
} job;

typedef struct stream {
    pthread_mutex_t mu;
    eco_buf out;
    size_t out_pos;
    bool done;
    atomic_bool gone; /* MHD freed the response: the client is gone */
    pthread_t th;
    job *j;
    struct MHD_Connection *c;
    bool suspended; /* the reader found nothing to send and suspended c (under mu) */
} stream;

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

/* ---- small JSON helpers ----------------------------------------------------------------- */

static json_t *text_json(const char *t, size_t n) {
    size_t m = 0;
    char *safe = eco_utf8_lossy(t, n, &m);
    json_t *v = safe ? json_stringn(safe, m) : NULL;
    free(safe);
    return v ? v : json_string("");
}

static json_t *lp_json(double lp) { return json_real(isfinite(lp) ? lp : -9999.0); }

static json_t *bytes_json(const char *t, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) json_array_append_new(a, json_integer((unsigned char)t[i]));
    return a;
}

/* The text of one token id (decoded alone), malloc'd; "" when there is no tokenizer. */
static char *token_text(const eco_tokenizer *tok, int32_t id, size_t *len) {
    char *t = NULL;
    *len = 0;
    if (tok && eco_tokenizer_decode(tok, &id, 1, false, &t, len) == ECO_STATUS_OK) return t;
    return eco_strdup("");
}

/* The per-token log-probability entry of step (chat: a content entry; completions: appended
 * to the tokens/token_logprobs/top_logprobs/text_offset arrays of j->lp). */
static void record_logprob(job *j, const eco_infer_step *step) {
    size_t n = 0;
    char *t = token_text(step->tokenizer, step->token, &n);
    int k = j->q.top_logprobs;
    json_t *top =
        k > 0 ? (j->q.endpoint == ECO_SERVER_ENDPOINT_CHAT ? json_array() : json_object()) : NULL;
    if (k > 0 && step->logits && step->n_logits > 0) {
        const float *lg = step->logits;
        const int64_t V = step->n_logits;
        double mx = lg[0], sum = 0;
        for (int64_t i = 1; i < V; i++) mx = lg[i] > mx ? lg[i] : mx;
        for (int64_t i = 0; i < V; i++) sum += exp((double)lg[i] - mx);
        const double lse = mx + log(sum);
        int32_t chosen[20];
        int m = k < V ? k : (int)V;
        for (int r = 0; r < m; r++) { /* the r-th largest, ties to the lower id */
            int64_t best = -1;
            for (int64_t i = 0; i < V; i++) {
                bool taken = false;
                for (int q = 0; q < r; q++) taken |= chosen[q] == (int32_t)i;
                if (!taken && (best < 0 || lg[i] > lg[best])) best = i;
            }
            chosen[r] = (int32_t)best;
            size_t tn = 0;
            char *tt = token_text(step->tokenizer, (int32_t)best, &tn);
            /* the chosen token's own figure as the sampler computed it, so the two agree */
            double lp =
                (int32_t)best == step->token ? (double)step->logprob : (double)lg[best] - lse;
            if (json_is_array(top)) {
                json_array_append_new(top, json_pack("{s:o,s:o,s:o}", "token", text_json(tt, tn),
                                                     "logprob", lp_json(lp), "bytes",
                                                     bytes_json(tt, tn)));
            } else if (top) {
                size_t sn = 0;
                char *key = eco_utf8_lossy(tt, tn, &sn);
                if (key && !memchr(key, '\0', sn)) json_object_set_new(top, key, lp_json(lp));
                free(key);
            }
            free(tt);
        }
    }
    if (j->q.endpoint == ECO_SERVER_ENDPOINT_CHAT) {
        json_array_append_new(j->lp,
                              json_pack("{s:o,s:o,s:o,s:o}", "token", text_json(t, n), "logprob",
                                        lp_json(step->logprob), "bytes", bytes_json(t, n),
                                        "top_logprobs", top ? top : json_array()));
    } else {
        json_array_append_new(json_object_get(j->lp, "tokens"), text_json(t, n));
        json_array_append_new(json_object_get(j->lp, "token_logprobs"), lp_json(step->logprob));
        json_array_append_new(json_object_get(j->lp, "top_logprobs"), top ? top : json_null());
        json_array_append_new(json_object_get(j->lp, "text_offset"),
                              json_integer((json_int_t)j->text_offset));
        j->text_offset += n;
    }
    free(t);
}

static json_t *lp_new(const job *j) {
    if (!j->q.logprobs) return NULL;
    if (j->q.endpoint == ECO_SERVER_ENDPOINT_CHAT) return json_array();
    return json_pack("{s:[],s:[],s:[],s:[]}", "tokens", "token_logprobs", "top_logprobs",
                     "text_offset");
}

static json_t *lp_wrap(const job *j, json_t *lp) {
    if (!lp) return json_null();
    if (j->q.endpoint == ECO_SERVER_ENDPOINT_CHAT) return json_pack("{s:o}", "content", lp);
    return lp;
}

/* ---- streaming ----------------------------------------------------------------------- */

/* Under st->mu: a suspended reader is woken (MHD calls it again). */
static void wake(stream *st) {
    if (st->suspended) {
        st->suspended = false;
        MHD_resume_connection(st->c);
    }
}

static void push(stream *st, const char *data, size_t n) {
    pthread_mutex_lock(&st->mu);
    (void)eco_buf_append(&st->out, data, n);
    wake(st);
    pthread_mutex_unlock(&st->mu);
}

/* "data: <json>\n\n" (takes the reference). */
static void push_event(stream *st, json_t *v) {
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!text) return;
    eco_buf b = {0};
    if (eco_buf_puts(&b, "data: ") && eco_buf_puts(&b, text) && eco_buf_puts(&b, "\n\n"))
        push(st, b.data, b.len);
    eco_buf_free(&b);
    free(text);
}

/* A chunk for choice j->index: delta text (may be NULL), its logprobs, finish reason. */
static json_t *chunk(const job *j, json_t *delta_text, json_t *lp, const char *finish, bool first) {
    json_t *choice;
    if (j->q.endpoint == ECO_SERVER_ENDPOINT_CHAT) {
        json_t *delta = json_object();
        if (first) json_object_set_new(delta, "role", json_string("assistant"));
        if (delta_text) json_object_set_new(delta, "content", delta_text);
        choice = json_pack("{s:i,s:o,s:o,s:o}", "index", j->index, "delta", delta, "logprobs",
                           lp ? json_pack("{s:o}", "content", lp) : json_null(), "finish_reason",
                           finish ? json_string(finish) : json_null());
    } else {
        choice =
            json_pack("{s:i,s:o,s:o,s:o}", "index", j->index, "text",
                      delta_text ? delta_text : json_string(""), "logprobs", lp ? lp : json_null(),
                      "finish_reason", finish ? json_string(finish) : json_null());
    }
    return json_pack("{s:s,s:s,s:I,s:s,s:[o]}", "id", j->id, "object", j->object, "created",
                     j->created, "model", j->model, "choices", choice);
}

/* Where text[0..len) can be cut now: before a trailing incomplete UTF-8 sequence (the next
 * token may complete it) and before the last max_stop - 1 bytes (a stop sequence may be
 * starting there). */
static size_t stable_end(const char *text, size_t len, size_t hold) {
    size_t end = len > hold ? len - hold : 0;
    for (size_t back = 1; back <= 3 && back <= end; back++) {
        unsigned char b = (unsigned char)text[end - back];
        if ((b & 0xC0) == 0x80) continue; /* a continuation byte: look further back */
        size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
        if (back < need) end -= back;
        break;
    }
    return end;
}

static size_t max_stop_len(const job *j) {
    size_t m = 0;
    for (size_t i = 0; i < j->n_stops; i++) {
        size_t n = strlen(j->stops[i]);
        m = n > m ? n : m;
    }
    return m;
}

/* Sends text[j->emitted..end) (after the chat's leading space) as a delta. */
static void stream_text(job *j, const char *text, size_t end, json_t *lp) {
    if (j->emitted == 0 && j->q.endpoint == ECO_SERVER_ENDPOINT_CHAT && end > 0 && text[0] == ' ')
        j->emitted = j->skip = 1;
    json_t *delta = NULL;
    if (end > j->emitted) {
        delta = text_json(text + j->emitted, end - j->emitted);
        j->emitted = end;
    }
    if (delta || lp) push_event(j->st, chunk(j, delta, lp, NULL, false));
}

/* ---- one choice ---------------------------------------------------------------------- */

static bool on_token(void *ctx, const eco_infer_step *step) {
    job *j = ctx;
    if (step->n_prompt_tokens > j->s->opt.limits.max_prompt_tokens) {
        j->prompt_too_long = true;
        return false;
    }
    double now = eco_now();
    if (j->last_token > 0)
        latency_add(&j->itl, now - j->last_token);
    else if (j->index == 0) /* once per request: later choices' first tokens are neither */
        latency_add(&j->ttft, now - j->t0);
    j->last_token = now;
    if (now > j->deadline) {
        j->timed_out = true;
        return false;
    }
    if (atomic_load(&j->s->cancel_all) || (j->st && atomic_load(&j->st->gone))) return false;
    if (j->st) { /* this token's log-probabilities go out with its chunk */
        json_t *lp = NULL;
        if (j->q.logprobs) {
            json_t *saved = j->lp;
            j->lp = lp_new(j);
            record_logprob(j, step);
            lp = j->lp;
            j->lp = saved;
        }
        size_t hold = step->stopped ? 0 : max_stop_len(j);
        hold = hold > 0 ? hold - 1 : 0;
        stream_text(j, step->text, stable_end(step->text, step->text_len, hold), lp);
    } else if (j->q.logprobs) {
        record_logprob(j, step);
    }
    return true;
}

/* Runs choice j->index into resp. ECO_STATUS_OK, or the status with *status and message
 * set for the error answer. */
static eco_status run_choice(job *j, eco_infer_response *resp, unsigned *status,
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
    eco_status st = j->eng->infer(j->eng, &req, resp);
    *code = NULL;
    if (st == ECO_STATUS_ERANGE && resp->finish_reason && !strcmp(resp->finish_reason, "context")) {
        *status = 400;
        *code = "context_length_exceeded";
        return st;
    }
    if (st != ECO_STATUS_OK) {
        *status = status_http(st) == 400 ? 400 : 500;
        return st;
    }
    j->prompt_tokens += resp->n_prompt_tokens;
    j->completion_tokens += resp->n_tokens;
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

static json_t *usage_json(const job *j) {
    return json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)j->prompt_tokens,
                     "completion_tokens", (json_int_t)j->completion_tokens, "total_tokens",
                     (json_int_t)(j->prompt_tokens + j->completion_tokens));
}

static void record(job *j, bool failed, double gen_s) {
    const eco_genome *g = j->eng ? j->eng->genome(j->eng) : NULL;
    const char *cap = g && g->n_capabilities ? g->capabilities[0] : "any";
    if (j->model) {
        eco_telemetry_event ev = {.engine = j->model,
                                  .capability = cap,
                                  .failed = failed,
                                  .latency_s = eco_now() - j->t0,
                                  .tokens = j->completion_tokens,
                                  .gen_seconds = gen_s,
                                  .confidence = NAN};
        (void)eco_telemetry_record(j->s->tel, &ev);
    }
    metrics_model(&j->s->metrics, j->model ? j->model : "unknown", j->prompt_tokens,
                  j->completion_tokens, failed, &j->ttft, &j->itl);
}

static void job_free(job *j) {
    if (!j) return;
    if (j->eng) eco_pool_release(j->s->pool, j->eng);
    if (j->eng) atomic_fetch_sub(&j->s->generating, 1);
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
        j->lp = lp_new(j);
        eco_status st = run_choice(j, &resp, &status, &code);
        if (st != ECO_STATUS_OK) {
            json_decref(choices);
            record(j, true, gen_s);
            answer_error(a, status, code, NULL, "%s", eco_last_error());
            return;
        }
        gen_s += resp.decode_ms / 1e3;
        json_t *lp = lp_wrap(j, j->lp);
        j->lp = NULL;
        json_t *c;
        if (j->q.endpoint == ECO_SERVER_ENDPOINT_CHAT) {
            size_t skip = resp.text_len > 0 && resp.text[0] == ' ' ? 1 : 0;
            c = json_pack("{s:i,s:{s:s,s:o},s:o,s:s}", "index", j->index, "message", "role",
                          "assistant", "content", text_json(resp.text + skip, resp.text_len - skip),
                          "logprobs", lp, "finish_reason", resp.finish_reason);
        } else {
            c = json_pack("{s:i,s:o,s:o,s:s}", "index", j->index, "text",
                          text_json(resp.text, resp.text_len), "logprobs", lp, "finish_reason",
                          resp.finish_reason);
        }
        json_array_append_new(choices, c);
        eco_infer_response_free(&resp);
    }
    record(j, false, gen_s);
    answer_json(a, 200,
                json_pack("{s:s,s:s,s:I,s:s,s:o,s:o}", "id", j->id, "object", j->object, "created",
                          j->created, "model", j->model, "choices", choices, "usage",
                          usage_json(j)));
}

static void *plain_main(void *arg) {
    pending *p = arg;
    eco_set_threads(p->j->s->compute_threads);
    answer a = {0};
    answer_plain(p->j, &a);
    job_free(p->j); /* the engine back, and a generation slot free, before the answer goes */
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

bool pending_take(pending *p, answer *a) {
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

void pending_free(pending *p) {
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
        job_free(j);
        answer_error(a, 500, NULL, NULL, "out of memory");
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
        job_free(j);
        answer_error(a, 500, NULL, NULL, "cannot start a generation thread");
        return NULL;
    }
    MHD_suspend_connection(c);
    p->suspended = true;
    pthread_mutex_unlock(&p->mu);
    return p;
}

/* ---- the stream ---------------------------------------------------------------------- */

static void *stream_main(void *arg) {
    stream *st = arg;
    job *j = st->j;
    eco_set_threads(j->s->compute_threads);
    double gen_s = 0;
    bool failed = false;
    for (j->index = 0; j->index < j->q.n && !failed; j->index++) {
        if (j->q.endpoint == ECO_SERVER_ENDPOINT_CHAT)
            push_event(st, chunk(j, json_string(""), NULL, NULL, true));
        eco_infer_response resp;
        unsigned status = 500;
        const char *code = NULL;
        eco_status s = run_choice(j, &resp, &status, &code);
        if (s != ECO_STATUS_OK) {
            answer e = {0};
            answer_error(&e, status, code, NULL, "%s", eco_last_error());
            push(st, "data: ", 6);
            push(st, e.body, e.len);
            push(st, "\n\n", 2);
            free(e.body);
            failed = true;
            break;
        }
        gen_s += resp.decode_ms / 1e3;
        /* The rest of the final text (held back for stops and UTF-8), then the finish. */
        if (resp.text_len >= j->emitted) stream_text(j, resp.text, resp.text_len, NULL);
        push_event(st, chunk(j, NULL, NULL, resp.finish_reason, false));
        eco_infer_response_free(&resp);
    }
    if (!failed && j->q.include_usage)
        push_event(st, json_pack("{s:s,s:s,s:I,s:s,s:[],s:o}", "id", j->id, "object", j->object,
                                 "created", j->created, "model", j->model, "choices", "usage",
                                 usage_json(j)));
    push(st, "data: [DONE]\n\n", 14);
    record(j, failed, gen_s);
    /* The engine and the generation slot go back now, not when the client has read it all
     * (j->model, borrowed from the engine, is not used after this). */
    eco_pool_release(j->s->pool, j->eng);
    j->eng = NULL;
    j->model = NULL;
    atomic_fetch_sub(&j->s->generating, 1);
    pthread_mutex_lock(&st->mu);
    st->done = true;
    wake(st);
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    stream *st = cls;
    pthread_mutex_lock(&st->mu);
    if (st->out_pos == st->out.len && !st->done) {
        /* Nothing yet: the connection waits suspended (MHD's way to avoid busy polling)
         * until the generation thread pushes more and resumes it. */
        st->suspended = true;
        MHD_suspend_connection(st->c);
        pthread_mutex_unlock(&st->mu);
        return 0;
    }
    size_t n = st->out.len - st->out_pos;
    if (n > max) n = max;
    if (n) memcpy(buf, st->out.data + st->out_pos, n);
    st->out_pos += n;
    if (st->out_pos == st->out.len) { /* everything sent: the buffer starts again */
        st->out.len = st->out_pos = 0;
    }
    bool end = n == 0 && st->done;
    pthread_mutex_unlock(&st->mu);
    return end ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void stream_free(void *cls) {
    stream *st = cls;
    pthread_mutex_lock(&st->mu); /* the connection is going: nobody resumes it any more */
    st->suspended = false;
    pthread_mutex_unlock(&st->mu);
    atomic_store(&st->gone, true);
    pthread_join(st->th, NULL);
    job_free(st->j);
    eco_buf_free(&st->out);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

static void answer_stream(job *j, struct MHD_Connection *c, answer *a) {
    stream *st = calloc(1, sizeof *st);
    if (!st) {
        job_free(j);
        return answer_error(a, 500, NULL, NULL, "out of memory");
    }
    pthread_mutex_init(&st->mu, NULL);
    atomic_init(&st->gone, false);
    st->j = j;
    st->c = c;
    j->st = st;
    if (pthread_create(&st->th, NULL, stream_main, st) != 0) {
        pthread_mutex_destroy(&st->mu);
        free(st);
        job_free(j);
        return answer_error(a, 500, NULL, NULL, "cannot start a generation thread");
    }
    a->response =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st, stream_free);
    if (!a->response) {
        stream_free(st);
        return answer_error(a, 500, NULL, NULL, "out of memory");
    }
    MHD_add_response_header(a->response, "Content-Type", "text/event-stream");
    MHD_add_response_header(a->response, "Cache-Control", "no-cache");
    a->status = 200;
}

/* ---- the handler --------------------------------------------------------------------- */

pending *handle_completion(eco_server *s, struct MHD_Connection *c, eco_server_endpoint ep,
                           const char *body, size_t len, answer *a) {
    const eco_server_limits *L = &s->opt.limits;
    job *j = calloc(1, sizeof *j);
    if (!j) {
        answer_error(a, 500, NULL, NULL, "out of memory");
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
        answer_error(a, 400, st == ECO_STATUS_EUNSUPPORTED ? "unsupported_parameter" : NULL, param,
                     "%s", eco_last_error());
        metrics_model(&s->metrics, "unknown", 0, 0, true, NULL, NULL);
        job_free(j);
        return NULL;
    }
    if (chat) {
        st = eco_server_chat_prompt(j->q.messages, j->q.n_messages, L->max_prompt_bytes, &j->prompt,
                                    NULL);
        if (st != ECO_STATUS_OK) {
            answer_error(a, status_http(st), NULL, "messages", "%s", eco_last_error());
            job_free(j);
            return NULL;
        }
    } else {
        j->prompt = j->q.prompt;
        j->q.prompt = NULL;
        if (strlen(j->prompt) > L->max_prompt_bytes) {
            answer_error(a, 400, "context_length_exceeded", "prompt",
                         "the prompt is %zu bytes, more than %zu", strlen(j->prompt),
                         L->max_prompt_bytes);
            job_free(j);
            return NULL;
        }
    }
    for (size_t i = 0; i < j->q.n_stop && j->n_stops < 16; i++)
        j->stops[j->n_stops++] = j->q.stop[i];
    if (chat) j->stops[j->n_stops++] = CHAT_STOP;
    if (j->q.stream) j->object = chat ? "chat.completion.chunk" : "text_completion";

    if (atomic_fetch_add(&s->generating, 1) >= L->max_concurrent) {
        atomic_fetch_sub(&s->generating, 1);
        answer_error(a, 429, NULL, NULL, "more than %u requests generating; try again later",
                     L->max_concurrent);
        job_free(j);
        return NULL;
    }
    st = eco_pool_acquire(s->pool, j->q.model, &j->eng);
    if (st != ECO_STATUS_OK) {
        atomic_fetch_sub(&s->generating, 1);
        j->eng = NULL;
        if (st == ECO_STATUS_ENOTFOUND || st == ECO_STATUS_EINVAL)
            answer_error(a, 404, "model_not_found", "model",
                         "the model '%s' does not exist (not a registered id or alias)",
                         j->q.model);
        else
            answer_error(a, 500, NULL, "model", "%s", eco_last_error());
        metrics_model(&s->metrics, "unknown", 0, 0, true, NULL, NULL);
        job_free(j);
        return NULL;
    }
    j->model = j->eng->genome(j->eng)->id;
    if (j->q.stream) {
        answer_stream(j, c, a);
        return NULL;
    }
    return answer_later(j, c, a);
}
