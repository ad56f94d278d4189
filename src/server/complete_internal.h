/* The pieces of POST /v1/completions and /v1/chat/completions (complete.c: the handler,
 * a choice's infer and the plain answer; complete_stream.c: server-sent events;
 * complete_logprobs.c: log-probabilities and JSON text). */
#ifndef ECO_SERVER_COMPLETE_INTERNAL_H
#define ECO_SERVER_COMPLETE_INTERNAL_H

#include <jansson.h>

#include "server/server_internal.h"

struct MHD_Connection;

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
    double prompt_ms, decode_ms; /* the engine's, summed over the choices */
    double last_token;           /* eco_now() at the previous token (0: none yet in this choice) */
    latency_hist ttft, itl;
    /* model selection (select.c): routing's router over pool engines, or j->eng */
    struct eco_policy_router *router;
    eco_engine **route_engs; /* [n_route_engs] held pool engines the router calls */
    size_t n_route_engs;
    char **template_ids; /* [n_template_ids] registry ids whose chat template renders a chat */
    size_t n_template_ids;
    const char *routed_to; /* the target that answered the last choice (borrowed) */
    bool chat_space;       /* chat: the answer's leading space is the template's, not sent */
    char *template_stop;   /* chat: the template's stop (owned), one of stops */
    bool slot;             /* holds a generation slot (s->generating) */
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

/* complete.c */
/* Runs choice j->index into resp: OK, or the status with *status and *code (NULL: the
 * status's) set for the error answer, the message in eco_last_error. */
eco_status srv_job_run_choice(job *j, eco_infer_response *resp, unsigned *status,
                              const char **code);
json_t *srv_job_usage_json(const job *j);
/* llama-server's "timings" object over the choices so far (prompt_n, prompt_ms, ...). */
json_t *srv_job_timings_json(const job *j);
/* Telemetry and the per-model counters for the request. */
void srv_job_record(job *j, bool failed, double gen_s);
/* Releases the engine (and its generation slot) when held, and everything else. */
void srv_job_free(job *j);

/* select.c: the engine (j->eng) or the router (j->router) the request's model, lora,
 * merged_adapters or routing names, and the ids whose chat templates apply
 * (j->template_ids); false with the error answered in a (the generation slot is the
 * caller's). */
bool srv_select(job *j, answer *a);
/* select.c: one infer of the request: the engine's, or the router's answer (j->routed_to
 * then names the target that answered). */
eco_status srv_select_infer(job *j, const eco_infer_request *req, eco_infer_response *resp);
/* select.c: releases what srv_select acquired. */
void srv_select_free(job *j);

/* chat.c: renders j->q.messages by the chat template of every j->template_ids (their model
 * folders' tokenizer_config.json chat_template, or the project's own; every one must give
 * the same prompt) into j->prompt, adding the template's stop to j->stops; false with the
 * error answered in a (400 naming the model whose template is unrecognised). */
bool srv_chat_render(job *j, answer *a);

/* complete_stream.c */
void srv_stream_step(job *j, const eco_infer_step *step);
/* Starts j as a stream on a thread of its own; the response (or an error) in a. Owns j. */
void srv_answer_stream(job *j, struct MHD_Connection *c, answer *a);

/* complete_logprobs.c */
/* A JSON string of t[n] (invalid UTF-8 as U+FFFD). */
json_t *srv_lp_text_json(const char *t, size_t n);
/* A log-probability (-9999 for one JSON cannot hold). */
json_t *srv_lp_value_json(double lp);
/* Appends step's entry to j->lp (chat: a content entry; completions: the four arrays). */
void srv_lp_record(job *j, const eco_infer_step *step);
/* An empty j->lp for the endpoint, NULL when logprobs were not asked for. */
json_t *srv_lp_new(const job *j);
/* The choice's "logprobs" value from lp (taken). */
json_t *srv_lp_wrap(const job *j, json_t *lp);

#endif
