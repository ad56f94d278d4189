/*
 * server: the population over HTTP, as the OpenAI API (libmicrohttpd), the server module of
 * issue 22.
 *
 *   client ──HTTP──► http.c (MHD thread pool, epoll; body limit; graceful stop)
 *                      │ auth.c: Bearer key → scope (inference | admin), compared in
 *                      │         constant time; /health, /ready public
 *                      ├─ GET  /v1/models          models.c (bases, adapters + parent, aliases)
 *                      ├─ POST /v1/completions     request.c (the hostile-input body parser)
 *                      ├─ POST /v1/chat/completions   └► chat.c (messages → prompt by the
 *                      │                              model's chat template, chat_template.h)
 *                      │                           select.c: model, lora, merged_adapters
 *                      │                           (the breeder's merge, cached by content
 *                      │                           under <data>/cache/merged/), routing (a
 *                      │                           router over pool engines)
 *                      │                           complete*.c: runtime pool engine, infer with
 *                      │                           on_token (SSE streaming, deadline, logprobs)
 *                      ├─ GET  /metrics            metrics.c (telemetry's Prometheus text plus
 *                      │                           the server's own per-model counters)
 *                      ├─ GET, POST /admin/aliases admin scope (admin.c: the champion alias
 *                      │                           moved by the promotion module's gated
 *                      │                           eco_promote)
 *                      ├─ /admin/models[/load|/unload], /admin/canary, /admin/loop[/pause|
 *                      │  /resume]                 admin scope (admin_ops.c: the pool's
 *                      │                           residents, load, unload; canary status;
 *                      │                           the loop's pause file)
 *                      └─ GET  /                   report_live.c: the loop's report page from
 *                                                  the registry (cached briefly); a key of
 *                                                  either scope unless report_public
 *
 * `model` in a request is a registry id or an alias (eco_registry_resolve at each request,
 * so an alias moved by promotion is served from the next request on), as vLLM and LoRAX take
 * an adapter name. Errors are OpenAI's object {"error": {"message", "type", "param",
 * "code"}} with the HTTP status: 400 invalid request, 401 no or wrong key, 403 a key without
 * the scope, 404 unknown model or path, 405, 413 body too large, 429 too many requests in
 * flight, 500, 503 loading or stopping, 504 the per-request timeout.
 *
 * Threads: MHD's pool (epoll) reads requests and writes answers; each generation runs on a
 * thread of its own while MHD keeps its connection suspended (MHD_suspend_connection), so a
 * worker never waits on a model and /health answers during any load; a generating request
 * holds a pool engine for its duration (the pool batches concurrent infers on one base). The registry handle the pool uses is
 * the pool's; the server reads the registry (model lists, aliases) through a second handle
 * under its own mutex.
 */
#ifndef ECOLOGY_SERVER_H
#define ECOLOGY_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ecology/core.h"
#include "ecology/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- options --------------------------------------------------------------------------- */

typedef struct eco_server_limits {
    size_t max_body_bytes;    /* request body; larger → 413. Default 1 MiB */
    size_t max_prompt_bytes;  /* prompt (chat: rendered) bytes; larger → 400. Default 256 KiB */
    size_t max_prompt_tokens; /* prompt tokens; more → 400 (checked when the engine has
                                * encoded it, before the first token is kept). Default 4096 */
    int max_tokens;           /* max_tokens above it → 400. Default 1024 */
    int default_max_tokens;   /* when a request names none. Default 16 (OpenAI's for
                                * completions) */
    int max_n;                /* choices per request at most. Default 8 */
    size_t max_stop;          /* stop sequences at most (OpenAI: 4). Default 4 */
    size_t max_messages;      /* chat messages at most. Default 256 */
    unsigned max_concurrent;  /* generating requests at once; more → 429. Default 8 */
    double request_timeout_s; /* a generation running longer ends with 504 (streaming: an
                                * error event). Default 120 */
} eco_server_limits;

/* The defaults above. */
void eco_server_limits_default(eco_server_limits *l);

typedef struct eco_server_options {
    const char *host;     /* address to listen on; NULL: "127.0.0.1" */
    uint16_t port;        /* 0: a free port, chosen by the system (eco_server_port) */
    const char *data_dir; /* the registry's folder; NULL: eco_data_dir_resolve(NULL) */
    const char *api_keys; /* the key file (eco_server_keys_load); NULL: no auth at all */
    unsigned threads;     /* HTTP worker threads; 0: max_concurrent + 2 */
    eco_server_limits limits;
    eco_pool_options pool;      /* residency limits of the engine pool */
    const char *const *preload; /* [n_preload] models (ids or aliases) loaded before the server
                                 * says it is ready (/health 200) */
    size_t n_preload;
    bool report_public; /* GET / (the report page) without a key even when keys are set */
} eco_server_options;

/* Zeroes o and sets the limits' defaults. */
void eco_server_options_init(eco_server_options *o);

/* The server's config file (`ecology serve --config FILE`), a JSON object, every field
 * optional: {"host": "...", "port": N, "data_dir": "...", "api_keys": "...", "threads": N,
 * "preload": ["id", ...], "report_public": bool, "limits": {"max_body_bytes", "max_prompt_bytes",
 * "max_prompt_tokens", "max_tokens", "default_max_tokens", "max_n", "max_stop",
 * "max_messages", "max_concurrent", "request_timeout_s"}, "pool": {"adapter_budget_bytes",
 * "max_bases"}}. Fills the fields it names into *o (others left as they are); strings point
 * into *holder (a parsed document the caller frees with eco_server_config_free after the
 * server has stopped). EFORMAT naming label and field. */
typedef struct eco_server_config eco_server_config;
eco_status eco_server_config_parse(const char *text, size_t len, const char *label,
                                   eco_server_options *o, eco_server_config **holder);
void eco_server_config_free(eco_server_config *c);

/* ---- API keys ------------------------------------------------------------------------- */

typedef enum eco_server_scope {
    ECO_SERVER_SCOPE_NONE = 0,      /* no key or an unknown one */
    ECO_SERVER_SCOPE_INFERENCE = 1, /* /v1/... */
    ECO_SERVER_SCOPE_ADMIN = 2,     /* /admin/... and everything inference may do */
} eco_server_scope;

/* The key file: {"keys": [{"key": "<8..256 printable ASCII bytes>", "scope": "inference" |
 * "admin", "name": "<who holds it, for logs; optional>"}, ...]}, at least one key, no
 * duplicates. */
typedef struct eco_server_keys eco_server_keys;
/* Parses the key file's text (label names it in messages). EFORMAT naming the field. */
eco_status eco_server_keys_parse(const char *text, size_t len, const char *label,
                                 eco_server_keys **out);
eco_status eco_server_keys_load(const char *path, eco_server_keys **out);
void eco_server_keys_free(eco_server_keys *k);
/* The scope of key (len bytes; NULL: none). Every stored key is compared, each in constant
 * time (CRYPTO_memcmp over a fixed width), so timing shows neither which key matched nor
 * how much of one did. *name (may be NULL) the matching key's name (borrowed) or NULL. */
eco_server_scope eco_server_keys_check(const eco_server_keys *k, const char *key, size_t len,
                                       const char **name);

/* ---- requests ------------------------------------------------------------------------- */

typedef enum eco_server_endpoint {
    ECO_SERVER_ENDPOINT_COMPLETIONS = 0, /* POST /v1/completions */
    ECO_SERVER_ENDPOINT_CHAT = 1,        /* POST /v1/chat/completions */
} eco_server_endpoint;

/* response_format.type */
typedef enum eco_server_format {
    ECO_SERVER_FORMAT_TEXT = 0,
    ECO_SERVER_FORMAT_JSON_OBJECT = 1,
    ECO_SERVER_FORMAT_JSON_SCHEMA = 2,
} eco_server_format;

typedef struct eco_server_message {
    char *role;    /* "system", "user", "assistant" (owned) */
    char *content; /* text, content parts of type "text" joined (owned) */
} eco_server_message;

/* llama-server's per-request adapter: {"id": "<registered adapter id or alias>", "scale": s}
 * (scale finite, default 1). */
typedef struct eco_server_lora {
    char *id; /* owned */
    double scale;
} eco_server_lora;

/* LoRAX's merged_adapters: {"ids": [...], "weights": [...] (default 1 each; as many as ids),
 * "merge_strategy": "linear" | "ties" | "dare_linear" | "dare_ties" (default linear),
 * "density": (0, 1] (default 1), "majority_sign_method": "total" | "frequency" (default
 * total), "seed": N (this server's: the dare draws; default 0)}. ids: 1 to
 * ECO_SERVER_MAX_ADAPTERS non-empty strings. */
typedef struct eco_server_merged {
    char **ids;      /* [n] owned */
    double *weights; /* [n] */
    size_t n;
    int strategy;       /* eco_merge_method: linear, ties, dare_linear, dare_ties */
    double density;     /* (0, 1] */
    bool sign_by_count; /* majority_sign_method "frequency" (else "total") */
    uint64_t seed;      /* [0, 2^63) */
} eco_server_merged;

#define ECO_SERVER_MAX_ADAPTERS 32

/* A request body as the parser accepted it (every string owned, valid UTF-8, no NUL).
 * At most one of lora, merged_adapters and routing is given (400 naming the second);
 * routing with stream or logprobs is refused (a routed answer comes whole, from whichever
 * engine the policy took). */
typedef struct eco_server_request {
    eco_server_endpoint endpoint;
    char *model;                  /* registry id or alias */
    char *prompt;                 /* completions: the prompt; chat: NULL (chat_prompt renders) */
    eco_server_message *messages; /* chat: [n_messages], at least one */
    size_t n_messages;
    int max_tokens;     /* 0: the server's default */
    double temperature; /* [0, 2]; default 1 as OpenAI's */
    double top_p;       /* (0, 1]; default 1 */
    uint64_t seed;      /* default 0 */
    char **stop;        /* [n_stop] non-empty */
    size_t n_stop;
    int n; /* choices, >= 1 */
    bool stream;
    bool include_usage; /* stream_options.include_usage: a last chunk with usage */
    bool logprobs;      /* completions: "logprobs" given (an integer); chat: true */
    int top_logprobs;   /* alternatives per token: completions logprobs N (0..5), chat
                         * top_logprobs (0..20) */

    /* lora [n_lora]: `model` names the base, these adapters applied with their scales
     * (Σ s_i·ΔW_i). */
    eco_server_lora *lora;
    size_t n_lora;
    /* merged_adapters, or NULL: `model` names the base. */
    eco_server_merged *merged;
    /* The routing extension {"policy": ...}: a router policy (router.h's node) as canonical
     * JSON, or NULL. The answer and each choice carry "x_ecology_routed_to": the target
     * that answered. */
    char *routing;

    /* response_format (structured output): "text" (the default) constrains nothing;
     * "json_object" makes the output one JSON object; "json_schema" an instance of
     * json_schema.schema (absent: any JSON value), compiled here and checked to be one the
     * decoder can enforce (eco_json_constraint_create: a keyword it cannot enforce is a 400
     * naming it in param "response_format.json_schema.schema.properties.zip.pattern").
     * The output always parses and validates unless max_tokens ends it first:
     * finish_reason is then "length", as OpenAI's; stop sequences still apply. */
    eco_server_format format;
    struct eco_json_schema *schema; /* json_schema: compiled (owned); NULL otherwise */
} eco_server_request;

/* Parses a body for endpoint, under limits (NULL: the defaults). On EFORMAT / ERANGE /
 * EUNSUPPORTED the message says what is wrong and param[param_size] (may be NULL) the field
 * ("messages[2].content"; "" for the body as a whole); *out then holds nothing to free.
 * Refuses: invalid or truncated JSON, a body that is not an object, nesting deeper than
 * the request's shape, unknown fields, wrong types, values out of range, n over max_n,
 * max_tokens over max_tokens, more than max_stop stops or max_messages messages, NUL bytes
 * in strings. Caller frees with eco_server_request_free. */
eco_status eco_server_request_parse(const char *body, size_t len, eco_server_endpoint endpoint,
                                    const eco_server_limits *limits, eco_server_request *out,
                                    char *param, size_t param_size);
void eco_server_request_free(eco_server_request *r);

/* The body of POST /admin/models/load and /unload: {"model": "<id or alias>"}, nothing
 * else. *model malloc'd (caller frees). EFORMAT naming the field ("request: model: ..."). */
eco_status eco_server_model_body_parse(const char *body, size_t len, char **model);

/* The body of POST /admin/aliases: {"capability", "model" (id or alias), "expect" (the
 * champion's id the caller saw, or "-" for none; optional), "require_report" (default
 * true)}; strings owned, non-empty. EFORMAT naming the field; free with
 * eco_server_promote_free. */
typedef struct eco_server_promote {
    char *capability;
    char *model;
    char *expect; /* NULL: whatever the champion is now */
    bool require_report;
} eco_server_promote;
eco_status eco_server_promote_parse(const char *body, size_t len, eco_server_promote *out);
void eco_server_promote_free(eco_server_promote *p);

/* ---- the server ----------------------------------------------------------------------- */

typedef struct eco_server eco_server;

/* Listens on host:port at once (/health says 503 while it loads), then opens the registry,
 * creates the pool, loads the preload models and reads the key file, and says ready.
 * Returns when it is ready (or failed: EIO naming the address when it cannot listen, the
 * registry's and the pool's errors). Caller stops it with eco_server_stop. */
eco_status eco_server_start(const eco_server_options *o, eco_server **out);
/* The port it listens on (the chosen one when options.port was 0). */
uint16_t eco_server_port(const eco_server *s);
/* Graceful stop: new requests get 503 at once; requests in flight finish (streams too),
 * waiting at most grace_s seconds (then their generations are cancelled); then the listener
 * closes and everything is freed. NULL is fine. */
void eco_server_stop(eco_server *s, double grace_s);
/* Requests in flight now. */
unsigned eco_server_in_flight(eco_server *s);

#ifdef __cplusplus
}
#endif
#endif
