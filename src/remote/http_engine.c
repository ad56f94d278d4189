/* The http engine (remote.h): an infer is one POST of a completions request over libcurl (an
 * easy handle per engine, so its connection is kept alive between calls). Without on_token
 * the answer is read whole by eco_remote_parse_completion; with it the request asks for a
 * stream, libcurl's write callback feeds the bytes to an eco_remote_stream as they arrive,
 * and each token it reads goes to on_token at once (returning false ends the transfer). A
 * server that answers a stream request with a plain answer gets on_token replayed over it. */
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ecology/remote.h"

typedef struct http_engine {
    eco_engine base; /* first member */
    eco_genome genome;
    char *url; /* <base>/v1/completions */
    char *model;
    char *auth; /* "Authorization: Bearer KEY", or NULL */
    double timeout_s, connect_timeout_s;
    CURL *curl;
} http_engine;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

char *eco_remote_completions_url(const char *base_url) {
    if (!base_url ||
        (strncmp(base_url, "http://", 7) != 0 && strncmp(base_url, "https://", 8) != 0)) {
        eco_error(ECO_STATUS_EINVAL, "http engine: base URL '%s' is not http:// or https://",
                  base_url ? base_url : "(none)");
        return NULL;
    }
    size_t n = strlen(base_url);
    while (n > 0 && base_url[n - 1] == '/') n--;
    bool v1 = n >= 3 && !strncmp(base_url + n - 3, "/v1", 3);
    eco_buf b = {0};
    if (!eco_buf_append(&b, base_url, n) ||
        !eco_buf_puts(&b, v1 ? "/completions" : "/v1/completions")) {
        eco_buf_free(&b);
        eco_error(ECO_STATUS_ENOMEM, "http engine: out of memory");
        return NULL;
    }
    return b.data;
}

static const eco_genome *engine_genome(const eco_engine *self) {
    return &((const http_engine *)self)->genome;
}

static void engine_destroy(eco_engine *self) {
    http_engine *e = (http_engine *)self;
    if (!e) return;
    if (e->curl) curl_easy_cleanup(e->curl);
    free(e->genome.id);
    free(e->genome.interface_version);
    free(e->url);
    free(e->model);
    if (e->auth) {
        memset(e->auth, 0, strlen(e->auth));
        free(e->auth);
    }
    free(e);
}

/* The answer's body, refused past the cap; for a stream request, an event stream goes to
 * the stream reader instead (decided at the first bytes, by the status and Content-Type). */
typedef struct sink {
    eco_buf b;
    bool too_large;
    CURL *curl;
    eco_remote_stream *stream; /* a stream request's reader, or NULL */
    int mode;                  /* 0: undecided, 1: events to stream, 2: the body to b */
    eco_status failed;         /* the stream reader's error */
} sink;

static size_t on_data(char *data, size_t size, size_t nmemb, void *ctx) {
    sink *s = ctx;
    size_t n = size * nmemb;
    if (s->stream && s->mode == 0) {
        long http = 0;
        const char *type = NULL;
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &http);
        curl_easy_getinfo(s->curl, CURLINFO_CONTENT_TYPE, &type);
        s->mode = http == 200 && type && !strncasecmp(type, "text/event-stream", 17) ? 1 : 2;
    }
    if (s->mode == 1) {
        if ((s->failed = eco_remote_stream_feed(s->stream, data, n))) return 0;
        return eco_remote_stream_cancelled(s->stream) ? 0 : n;
    }
    if (s->b.len + n > ECO_REMOTE_MAX_ANSWER_BYTES) {
        s->too_large = true;
        return 0;
    }
    return eco_buf_append(&s->b, data, n) ? n : 0;
}

/* The request's JSON body (malloc'd) or NULL on ENOMEM / a field it cannot carry. */
static eco_status request_body(const http_engine *e, const eco_infer_request *req, char **out) {
    *out = NULL;
    if (req->top_k > 0)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "http engine %s: top_k is not part of the completions API", e->url);
    if (!req->add_special || !req->stop_at_eos)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "http engine %s: the server applies its own special tokens and EOS "
                         "(add_special and stop_at_eos cannot be turned off)",
                         e->url);
    if (req->constraint) /* a token mask over this machine's vocabulary, not the server's */
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "http engine %s: a decoding constraint (structured output) cannot be "
                         "sent to a remote server; ask it for response_format directly",
                         e->url);
    if (!req->prompt || req->max_tokens <= 0)
        return eco_error(ECO_STATUS_EINVAL, "http engine %s: no prompt or max_tokens <= 0", e->url);
    json_t *stop = json_array();
    for (size_t i = 0; stop && i < req->n_stop; i++)
        if (json_array_append_new(stop, json_string(req->stop[i]))) {
            json_decref(stop);
            stop = NULL;
        }
    json_t *b = stop ? json_pack("{s:s,s:s,s:i,s:f,s:f,s:I,s:i}", "model", e->model, "prompt",
                                 req->prompt, "max_tokens", req->max_tokens, "temperature",
                                 (double)req->temperature, "top_p", (double)req->top_p, "seed",
                                 (json_int_t)(int64_t)req->seed, "logprobs", 0)
                     : NULL;
    if (b && req->n_stop) json_object_set(b, "stop", stop);
    if (b && req->on_token &&
        (json_object_set_new(b, "stream", json_true()) ||
         json_object_set_new(b, "stream_options", json_pack("{s:b}", "include_usage", 1)))) {
        json_decref(b);
        b = NULL;
    }
    json_decref(stop);
    char *text = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    if (!text)
        return eco_error(ECO_STATUS_EINVAL,
                         "http engine %s: the request cannot be written as JSON (a prompt or stop "
                         "sequence that is not UTF-8, or out of memory)",
                         e->url);
    *out = text;
    return ECO_STATUS_OK;
}

/* One POST; *http the status, the body in s. Errors name the URL. */
static eco_status post(http_engine *e, const char *body, sink *s, long *http) {
    *http = 0;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    struct curl_slist *h2 = h ? curl_slist_append(h, "Expect:") : NULL;
    if (h2) h = h2;
    if (h2 && e->auth && (h2 = curl_slist_append(h, e->auth))) h = h2;
    if (!h2) {
        curl_slist_free_all(h);
        return eco_error(ECO_STATUS_ENOMEM, "http engine %s: out of memory", e->url);
    }
    CURL *c = e->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, e->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(e->timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(e->connect_timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "tiny-ecology http engine");
    s->curl = c;
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(h);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http);
    if (s->failed) return s->failed; /* the stream reader's error, its message kept */
    if (rc == CURLE_OK || (s->stream && eco_remote_stream_cancelled(s->stream)))
        return ECO_STATUS_OK;
    const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (s->too_large)
        return eco_error(ECO_STATUS_EFORMAT, "http engine: POST %s: the answer is over %zu bytes",
                         e->url, ECO_REMOTE_MAX_ANSWER_BYTES);
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return eco_error(ECO_STATUS_ERANGE, "http engine: POST %s: timed out after %g s (%s)",
                         e->url, e->timeout_s, why);
    if (rc == CURLE_COULDNT_CONNECT)
        return eco_error(ECO_STATUS_EIO, "http engine: POST %s: cannot connect (%s)", e->url, why);
    return eco_error(ECO_STATUS_EIO, "http engine: POST %s: %s", e->url, why);
}

/* The status an HTTP error answer becomes, with the server's message. */
static eco_status http_error(const http_engine *e, long http, const sink *s,
                             eco_infer_response *resp) {
    char msg[512], code[64];
    eco_remote_error_message(s->b.data, s->b.len, msg, sizeof msg, code, sizeof code);
    if (http == 400 && !strcmp(code, "context_length_exceeded")) {
        resp->finish_reason = "context";
        return eco_error(ECO_STATUS_ERANGE, "http engine: POST %s: HTTP 400: %s", e->url, msg);
    }
    eco_status st = http == 404                  ? ECO_STATUS_ENOTFOUND
                    : http == 401 || http == 403 ? ECO_STATUS_EINVAL
                    : http == 400 || http == 413 ? ECO_STATUS_EINVAL
                                                 : ECO_STATUS_EIO;
    return eco_error(st, "http engine: POST %s: HTTP %ld%s: %s", e->url, http,
                     http == 401   ? " (the API key is missing or wrong)"
                     : http == 403 ? " (the API key lacks the scope)"
                                   : "",
                     msg);
}

/* Where text[0..len) is cut: before the earliest of the request's stop sequences, or len. */
static size_t stop_cut(const eco_infer_request *req, const char *text, size_t len, bool *found) {
    size_t cut = len;
    *found = false;
    for (size_t k = 0; k < req->n_stop; k++) {
        size_t m = strlen(req->stop[k]);
        for (size_t i = 0; m && i + m <= cut; i++)
            if (!memcmp(text + i, req->stop[k], m)) {
                cut = i;
                *found = true;
                break;
            }
    }
    return cut;
}

/* The parsed answer into resp (the buffers moved); timings: the server's when given, else
 * the whole request as decoding. */
static eco_status fill(const eco_infer_request *req, eco_remote_completion *c, double wall_ms,
                       eco_infer_response *resp) {
    size_t n = c->n_tokens;
    bool per_token = n > 0;
    if (!per_token && c->completion_tokens > 0) n = (size_t)c->completion_tokens;
    if (n > (size_t)1 << 24) n = (size_t)1 << 24;
    resp->tokens = n ? eco_malloc_array(n, sizeof *resp->tokens) : NULL;
    resp->logprobs = n ? eco_malloc_array(n, sizeof *resp->logprobs) : NULL;
    if (n && (!resp->tokens || !resp->logprobs)) {
        eco_infer_response_free(resp);
        return eco_error(ECO_STATUS_ENOMEM, "http engine: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        resp->tokens[i] = -1;
        resp->logprobs[i] = per_token ? c->logprobs[i] : NAN;
    }
    resp->n_tokens = n;
    resp->text = c->text;
    resp->text_len = c->text_len;
    c->text = NULL;
    resp->n_prompt_tokens = c->prompt_tokens > 0 ? (size_t)c->prompt_tokens : 0;
    resp->finish_reason = c->finish_reason               ? c->finish_reason
                          : n >= (size_t)req->max_tokens ? "length"
                                                         : "stop";
    if (c->prompt_ms >= 0 && c->predicted_ms >= 0) {
        resp->prompt_ms = c->prompt_ms;
        resp->decode_ms = c->predicted_ms;
    } else {
        resp->prompt_ms = 0;
        resp->decode_ms = wall_ms;
    }
    return ECO_STATUS_OK;
}

/* on_token replayed over a plain answer's tokens (a server that did not stream). */
static void replay(const eco_infer_request *req, const eco_remote_completion *c,
                   eco_infer_response *resp) {
    size_t n = resp->n_tokens;
    bool per_token = c->n_tokens > 0;
    /* The steps: token i's text ends at the sum of the token texts so far (within the
     * answer's text, which the server cut before a stop sequence). */
    size_t end = 0;
    size_t steps = per_token ? n : (n ? 1 : 0);
    for (size_t i = 0; i < steps; i++) {
        end = per_token ? end + c->token_lens[i] : resp->text_len;
        if (end > resp->text_len) end = resp->text_len;
        eco_infer_step step = {.index = per_token ? i : n - 1,
                               .n_prompt_tokens = resp->n_prompt_tokens,
                               .token = -1,
                               .logprob = per_token ? c->logprobs[i] : NAN,
                               .text = resp->text,
                               .text_len = end,
                               .stopped = i + 1 == steps && !strcmp(resp->finish_reason, "stop")};
        if (!req->on_token(req->on_token_ctx, &step)) {
            resp->n_tokens = per_token ? i + 1 : n;
            resp->text_len = end;
            resp->text[end] = '\0';
            resp->finish_reason = "cancelled";
            break;
        }
    }
}

/* A streamed request's tokens on their way to on_token. */
typedef struct relay {
    const eco_infer_request *req;
    double t_first; /* eco_now() at the first token, 0 before */
    size_t n;       /* tokens handed to on_token */
    bool stopped;   /* a stop sequence was found: no more steps */
    eco_buf last;   /* the last step's text, kept when on_token returned false */
} relay;

static bool relay_token(void *ctx, const eco_remote_token *t) {
    relay *r = ctx;
    if (r->n == 0) r->t_first = eco_now();
    if (r->stopped) return true; /* the server ends there too; the rest is read, not passed */
    bool found = false;
    size_t end = stop_cut(r->req, t->text, t->text_len, &found);
    r->stopped = found;
    eco_infer_step step = {.index = t->index,
                           .token = -1,
                           .logprob = t->logprob,
                           .text = t->text,
                           .text_len = end,
                           .stopped = found};
    r->n++;
    if (r->req->on_token(r->req->on_token_ctx, &step)) return true;
    eco_buf_reset(&r->last);
    if (!eco_buf_append(&r->last, t->text, end) || !eco_buf_reserve(&r->last, 0)) r->n = 0;
    return false;
}

/* A cancelled stream's answer: the tokens on_token saw and the last step's text. */
static eco_status fill_cancelled(const eco_remote_completion *c, relay *r,
                                 eco_infer_response *resp) {
    size_t n = r->n < c->n_tokens ? r->n : c->n_tokens;
    resp->tokens = n ? eco_malloc_array(n, sizeof *resp->tokens) : NULL;
    resp->logprobs = n ? eco_malloc_array(n, sizeof *resp->logprobs) : NULL;
    resp->text = malloc(r->last.len + 1);
    if ((n && (!resp->tokens || !resp->logprobs)) || !resp->text) {
        eco_infer_response_free(resp);
        return eco_error(ECO_STATUS_ENOMEM, "http engine: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        resp->tokens[i] = -1;
        resp->logprobs[i] = c->logprobs[i];
    }
    resp->n_tokens = n;
    if (r->last.len) memcpy(resp->text, r->last.data, r->last.len);
    resp->text[r->last.len] = '\0';
    resp->text_len = r->last.len;
    resp->n_prompt_tokens = c->prompt_tokens > 0 ? (size_t)c->prompt_tokens : 0;
    resp->finish_reason = "cancelled";
    return ECO_STATUS_OK;
}

static eco_status engine_infer(eco_engine *self, const eco_infer_request *req,
                               eco_infer_response *resp) {
    http_engine *e = (http_engine *)self;
    memset(resp, 0, sizeof *resp);
    if (!req) return eco_error(ECO_STATUS_EINVAL, "http engine: NULL request");
    char *body = NULL;
    eco_status st = request_body(e, req, &body);
    if (st) return st;
    char label[300];
    sink s = {0};
    relay r = {.req = req};
    if (req->on_token) {
        snprintf(label, sizeof label, "http engine: stream of %s", e->url);
        st = eco_remote_stream_open(label, relay_token, &r, &s.stream);
    }
    long http = 0;
    double t0 = eco_now();
    if (st == ECO_STATUS_OK) st = post(e, body, &s, &http);
    double t_end = eco_now(), wall_ms = (t_end - t0) * 1000;
    free(body);
    if (st == ECO_STATUS_OK && http >= 400) st = http_error(e, http, &s, resp);
    if (st == ECO_STATUS_OK && http != 200)
        st =
            eco_error(ECO_STATUS_EIO, "http engine: POST %s: HTTP %ld, expected 200", e->url, http);
    eco_remote_completion c;
    memset(&c, 0, sizeof c);
    bool streamed = s.mode == 1;
    if (st == ECO_STATUS_OK && streamed) {
        st = eco_remote_stream_result(s.stream, &c);
    } else if (st == ECO_STATUS_OK) {
        snprintf(label, sizeof label, "http engine: answer of %s", e->url);
        st = eco_remote_parse_completion(s.b.data, s.b.len, label, &c);
    }
    eco_buf_free(&s.b);
    if (st == ECO_STATUS_OK && streamed && eco_remote_stream_cancelled(s.stream)) {
        st = fill_cancelled(&c, &r, resp);
    } else if (st == ECO_STATUS_OK) {
        st = fill(req, &c, wall_ms, resp);
        if (st == ECO_STATUS_OK && req->on_token && !streamed) replay(req, &c, resp);
    }
    if (st == ECO_STATUS_OK && streamed) { /* the client's view: time to the first token */
        double first = r.t_first > 0 ? r.t_first : t_end;
        resp->prompt_ms = (first - t0) * 1000;
        resp->decode_ms = (t_end - first) * 1000;
    }
    eco_remote_completion_free(&c);
    eco_remote_stream_free(s.stream);
    eco_buf_free(&r.last);
    if (st && st != ECO_STATUS_ERANGE) resp->finish_reason = NULL;
    return st;
}

eco_status eco_remote_engine_open(const eco_remote_options *o, eco_engine **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "http engine: NULL argument");
    *out = NULL;
    if (!o || !o->model || !o->model[0])
        return eco_error(ECO_STATUS_EINVAL, "http engine: no model name");
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return eco_error(ECO_STATUS_EIO, "http engine: libcurl: %s",
                         curl_easy_strerror(curl_init_rc));
    http_engine *e = calloc(1, sizeof *e);
    if (!e) return eco_error(ECO_STATUS_ENOMEM, "http engine: out of memory");
    e->base.genome = engine_genome;
    e->base.infer = engine_infer;
    e->base.destroy = engine_destroy;
    e->timeout_s = o->timeout_s > 0 ? o->timeout_s : 300;
    e->connect_timeout_s = o->connect_timeout_s > 0 ? o->connect_timeout_s : 10;
    eco_status st = ECO_STATUS_OK;
    if (!(e->url = eco_remote_completions_url(o->base_url))) st = ECO_STATUS_EINVAL;
    if (st == ECO_STATUS_OK && o->api_key) {
        eco_buf b = {0};
        for (const char *k = o->api_key; *k; k++)
            if ((unsigned char)*k < ' ' || *k == 0x7f)
                st = eco_error(ECO_STATUS_EINVAL,
                               "http engine %s: the API key holds a control "
                               "character",
                               e->url);
        if (st == ECO_STATUS_OK && eco_buf_printf(&b, "Authorization: Bearer %s", o->api_key))
            e->auth = b.data;
        else
            eco_buf_free(&b);
    }
    e->model = eco_strdup(o->model);
    e->genome.id = eco_strdup(o->id ? o->id : o->model);
    e->genome.interface_version = eco_strdup(ECO_REMOTE_INTERFACE);
    e->genome.kind = ECO_GENOME_KIND_REMOTE;
    e->curl = curl_easy_init();
    if (st == ECO_STATUS_OK && (!e->model || !e->genome.id || !e->genome.interface_version ||
                                !e->curl || (o->api_key && !e->auth)))
        st = eco_error(ECO_STATUS_ENOMEM, "http engine: out of memory");
    if (st) {
        engine_destroy(&e->base);
        return st;
    }
    *out = &e->base;
    return ECO_STATUS_OK;
}
