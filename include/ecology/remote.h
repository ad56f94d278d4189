/*
 * remote: any OpenAI-compatible server as a ModelEngine (contracts.h), the http engine of
 * issue 22. It lets the population hold models this machine cannot run (the expensive tier
 * of a cascade, a teacher for sequence-level distillation) behind the same contract as the
 * llama engine:
 *
 *   eco_infer_request ──► POST <base>/v1/completions (libcurl; Bearer key when given)
 *                           {"model", "prompt", "max_tokens", "temperature", "top_p", "seed",
 *                            "stop", "logprobs": 0}, with on_token also "stream": true and
 *                           "stream_options": {"include_usage": true}
 *   eco_infer_response ◄── eco_remote_parse_completion: choices[0].text, .finish_reason,
 *                           .logprobs.token_logprobs (and .tokens, the token texts),
 *                           usage.prompt_tokens, llama-server's timings when present;
 *                           streamed: eco_remote_stream over the server-sent events
 *
 * The base URL is the server's as OpenAI clients take it: "http://host:8080/v1" (requests go
 * to <base>/completions) or "http://host:8080" (to <base>/v1/completions). A request with
 * on_token is streamed: libcurl's write callback feeds the events to an eco_remote_stream
 * as they arrive and on_token is called as each token's event is read (its log-probability;
 * the token texts so far, cut before the earliest stop sequence, stopped when one was
 * found; n_prompt_tokens 0, not known before the end). on_token returning false ends the
 * transfer there: the answer holds the tokens on_token saw and the last step's text,
 * finish_reason "cancelled". A server that answers with a plain answer instead gets
 * on_token replayed over its tokens once it has arrived.
 *
 * What the server cannot be asked through the completions API is refused (EUNSUPPORTED):
 * top_k, add_special false, stop_at_eos false. Token ids are not part of the API: every
 * entry of resp->tokens is -1. When the server gives no log-probabilities, n_tokens is its
 * usage.completion_tokens and each log-probability is NaN. Timings: streamed, prompt_ms is
 * the time to the first token as this client saw it and decode_ms the rest; else
 * llama-server's "timings" (prompt_ms, predicted_ms) when the answer has them, else
 * prompt_ms 0 and decode_ms the whole request's wall time.
 *
 * Errors name the URL: a refused connection or an unknown host (EIO), the timeout (ERANGE),
 * an HTTP error status with the server's own message from OpenAI's error object (EIO; 400
 * as EINVAL, 401/403 as EINVAL naming the key, 404 as ENOTFOUND), a malformed answer
 * (EFORMAT naming the field; streamed, the event), an error event mid-stream (EIO with the
 * server's message). The server's answer is hostile input: every field read is
 * type-checked, fields not read are ignored (servers add their own), the body is capped.
 */
#ifndef ECOLOGY_REMOTE_H
#define ECOLOGY_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ecology/contracts.h"
#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECO_REMOTE_MAX_ANSWER_BYTES ((size_t)16 << 20) /* an answer's body at most */
#define ECO_REMOTE_INTERFACE        "text-generation@1"

typedef struct eco_remote_options {
    const char *id;           /* the engine's genome id (a registry id); NULL: model */
    const char *base_url;     /* http:// or https://, above */
    const char *model;        /* the server's model name (its "model" field) */
    const char *api_key;      /* Bearer key, or NULL: no Authorization header */
    double timeout_s;         /* the whole request at most; 0: 300 */
    double connect_timeout_s; /* 0: 10 */
} eco_remote_options;

/* An http engine (contracts.h) over o (strings copied). Nothing is sent before the first
 * infer. Caller destroys it with eco_engine_destroy. EINVAL: a NULL argument, no model, a
 * base URL that is not http:// or https:// (named); ENOMEM. Its genome() has id,
 * interface_version and zero sizes (the registry holds the rest). */
eco_status eco_remote_engine_open(const eco_remote_options *o, eco_engine **out);

/* The URL an engine over base_url posts completions to (malloc'd, caller frees), or NULL on
 * ENOMEM / a base URL that is not http(s) (with eco_error set). */
char *eco_remote_completions_url(const char *base_url);

/* ---- the answer's parser (fuzzed: fuzz/fuzz_remote_response.c) ------------------------- */

typedef struct eco_remote_completion {
    char *text; /* choices[0].text (owned, NUL-terminated; text_len bytes, may hold NUL) */
    size_t text_len;
    const char *finish_reason; /* "stop", "length" or NULL (none given, or another), static */
    size_t n_tokens;           /* entries of logprobs and token_texts; 0 when none given */
    float *logprobs;           /* [n_tokens] (owned) */
    char **token_texts;        /* [n_tokens] (owned, NUL-terminated) */
    size_t *token_lens;        /* [n_tokens] bytes of each */
    int64_t prompt_tokens;     /* usage.prompt_tokens, -1 when absent */
    int64_t completion_tokens; /* usage.completion_tokens, -1 when absent */
    double prompt_ms;          /* timings.prompt_ms, -1 when absent */
    double predicted_ms;       /* timings.predicted_ms, -1 when absent */
} eco_remote_completion;

/* Parses a completions answer (body[0..len), label names it in messages:
 * "<label>: choices[0].logprobs.token_logprobs[3]: expected a number"). The answer must be an
 * object with a non-empty array "choices" whose first entry is an object with a string
 * "text"; "logprobs" (null or an object with arrays "tokens" and "token_logprobs" of the same
 * length, numbers or null: -inf), "finish_reason", "usage" and "timings" are read when
 * present and checked. EFORMAT naming the field; ENOMEM. *out is the caller's
 * (eco_remote_completion_free) on success, zeroed on error. */
eco_status eco_remote_parse_completion(const char *body, size_t len, const char *label,
                                       eco_remote_completion *out);
void eco_remote_completion_free(eco_remote_completion *c);

/* ---- a streamed answer's reader (fuzzed: fuzz/fuzz_remote_stream.c) -------------------- */

/* One token of a streamed answer, as its event is read. */
typedef struct eco_remote_token {
    size_t index;     /* 0-based */
    float logprob;    /* its log-probability, NaN when the server gives none */
    const char *text; /* the token texts so far, concatenated (logprobs.tokens; a chunk's text
                       * when the server lists no tokens): text_len bytes, NUL-terminated */
    size_t text_len;
} eco_remote_token;

/* Called for each token; returning false cancels the stream (nothing more is read). */
typedef bool (*eco_remote_token_fn)(void *ctx, const eco_remote_token *t);

typedef struct eco_remote_stream eco_remote_stream;

/* A reader of a completions answer streamed as server-sent events (the body of a
 * "stream": true request), fed the bytes as they come in pieces of any size: lines end in
 * \n, \r\n or \r; a blank line ends an event; "data:" lines are joined with \n; ":"
 * comments, "id:", "retry:" and unknown fields are ignored. Each event's data is a chunk
 * read as eco_remote_parse_completion reads an answer (choices[0] with its text delta,
 * logprobs and finish_reason; choices may be empty, as in the usage chunk; usage and
 * timings), or "[DONE]", the end (bytes after it are ignored). A token is each entry of a
 * chunk's logprobs.tokens, or, while the server has listed none, each chunk with non-empty
 * text. label names the stream in messages. fn may be NULL. ENOMEM. */
eco_status eco_remote_stream_open(const char *label, eco_remote_token_fn fn, void *ctx,
                                  eco_remote_stream **out);
/* Reads data[0..len). EFORMAT "<label>: event N: <field>: <problem>" for a malformed event
 * (N counts events from 1) or more than ECO_REMOTE_MAX_ANSWER_BYTES in all; EIO "<label>:
 * event N: the server reported an error: <message>" for an error event (a chunk that is an
 * object with "error", an "event: error" event, or llama-server's "error:" field). After an
 * error every call returns it again; after the end or a cancel, data is ignored. */
eco_status eco_remote_stream_feed(eco_remote_stream *s, const char *data, size_t len);
bool eco_remote_stream_done(const eco_remote_stream *s);      /* data: [DONE] was read */
bool eco_remote_stream_cancelled(const eco_remote_stream *s); /* fn returned false */
/* The answer read so far into *out (the caller's, eco_remote_completion_free): text the
 * chunks' text deltas joined, the tokens' log-probabilities and texts, the last
 * finish_reason, usage and timings given. EIO when neither done nor cancelled (the stream
 * ended before data: [DONE]); ENOMEM. Zeroed on error. */
eco_status eco_remote_stream_result(const eco_remote_stream *s, eco_remote_completion *out);
void eco_remote_stream_free(eco_remote_stream *s);

/* The message of an error answer: OpenAI's {"error": {"message": "...", "code": "..."}},
 * {"error": "..."} (some servers), {"message": "..."}, or else the body's first bytes shown
 * safely (printable ASCII, the rest \xNN). Writes at most size bytes, NUL-terminated; code
 * (code_size bytes, may be NULL) receives error.code when it is a string, else "". */
void eco_remote_error_message(const char *body, size_t len, char *out, size_t size, char *code,
                              size_t code_size);

#ifdef __cplusplus
}
#endif
#endif
