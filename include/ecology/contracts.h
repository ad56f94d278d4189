/*
 * contracts: the interfaces between modules (the seed's Rust traits, as C vtables).
 *
 * An implementation embeds the interface struct as its first member and casts back:
 *
 *     typedef struct { eco_engine base; eco_model *model; ... } llama_engine;
 *
 * Domain types live here too: the genome (one type for every module: the registry reads,
 * writes and signs it, an engine reports the part it knows about itself) and the manifest
 * of a model's files it holds (artifacts.h has the manifest's functions, registry.h the
 * genome's: JSON, hashing, eco_genome_free).
 */
#ifndef ECOLOGY_CONTRACTS_H
#define ECOLOGY_CONTRACTS_H

#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Whether two models' parameters can be mixed (see ARCHITECTURE.md); hex SHA-256s. */
typedef struct eco_compat_identity {
    char base_family[ECO_SHA256_HEX_LEN + 1];
    char architecture_hash[ECO_SHA256_HEX_LEN + 1];
    char tokenizer_hash[ECO_SHA256_HEX_LEN + 1];
    char tensor_schema_hash[ECO_SHA256_HEX_LEN + 1];
} eco_compat_identity;

/* One file of a model: (name, size, SHA-256). */
typedef struct eco_file_entry {
    char *name;                          /* relative path, '/'-separated (owned) */
    uint64_t size;                       /* bytes */
    char sha256[ECO_SHA256_HEX_LEN + 1]; /* lower-case hex */
} eco_file_entry;

/* A model's files (artifacts.h: built from a folder, its root digest, its JSON). */
typedef struct eco_manifest {
    eco_file_entry *files; /* [n] sorted by name (strcmp), names unique */
    size_t n;
} eco_manifest;

typedef enum eco_genome_kind {
    ECO_GENOME_KIND_BASE = 0,
    ECO_GENOME_KIND_ADAPTER = 1,
    ECO_GENOME_KIND_MERGED = 2,
    ECO_GENOME_KIND_DISTILLED = 3,
    ECO_GENOME_KIND_QUANTIZED = 4,
    ECO_GENOME_KIND_REMOTE = 5, /* served by another server (remote.h): no files here; the
                                 * lineage operation "remote" records the endpoint */
} eco_genome_kind;

struct json_t;

/* The genome of a model (registry.h describes its canonical JSON). Strings and arrays are
 * owned; eco_genome_free (registry.h) releases them. An engine's genome() fills id,
 * interface_version, n_params and bytes (its weights) and leaves the rest zero: what the
 * registry knows about the model (lineage, files, signature) is read from the registry. */
typedef struct eco_genome {
    char *id;
    eco_genome_kind kind;
    eco_compat_identity compatibility;
    char *interface_version;
    char **capabilities; /* [n_capabilities] sorted, unique */
    size_t n_capabilities;
    char **parents; /* [n_parents] lineage parents (order kept: it can matter) */
    size_t n_parents;
    char *op_name;            /* lineage operation: "import", "train", "merge", ... */
    struct json_t *op_params; /* object (owned reference) */
    uint64_t op_seed;
    eco_manifest files;
    char *base; /* NULL when none */
    int64_t n_params;
    uint64_t bytes; /* weight bytes */
    uint64_t resident_bytes;
    char **corpora; /* [n_corpora] hex SHA-256s, sorted, unique */
    size_t n_corpora;
    char *created_at; /* RFC 3339 UTC */
    char *tool_version;
} eco_genome;

struct eco_tokenizer;

/* What an engine reports after each token it generates, to eco_infer_request.on_token
 * (a server streams from it, enforces a deadline and reads log-probabilities). Everything
 * is borrowed for the duration of the callback. */
typedef struct eco_infer_step {
    size_t index;           /* 0-based: the index-th generated token */
    size_t n_prompt_tokens; /* the prompt's tokens (as eco_infer_response.n_prompt_tokens) */
    int32_t token;          /* its id */
    float logprob;          /* its log-probability (as eco_infer_response.logprobs) */
    const float *logits;    /* [n_logits] the raw logits it was sampled from (over the ids the
                          * tokenizer knows), or NULL when the engine has none */
    int64_t n_logits;
    const char *text; /* the generated text so far, tokens [0..index] decoded, cut before the
                       * earliest stop sequence (text_len bytes; a trailing incomplete UTF-8
                       * sequence may decode differently once the next token comes) */
    size_t text_len;
    bool stopped;                          /* a stop sequence was found: this is the last step */
    const struct eco_tokenizer *tokenizer; /* decodes single ids (top alternatives), or NULL */
} eco_infer_step;

/* Called after each generated token; returning false ends generation at once (the
 * response then holds what was generated so far, finish_reason "cancelled"). */
typedef bool (*eco_infer_step_fn)(void *ctx, const eco_infer_step *step);

/* The vocabulary as byte strings, for a decoding constraint: what each id appends to the
 * output text. An engine builds it once from its tokenizer (eco_tokenizer_token_vocab) and
 * keeps it; eco_token_vocab_create computes the sorted order and the common prefixes that let
 * a constraint walk every token as one trie, sharing the work of common prefixes. */
typedef struct eco_token_vocab {
    int64_t n;                   /* ids [0, n) */
    const uint8_t *const *bytes; /* [n] bytes[id][0..len[id]) */
    const uint32_t *len;         /* [n] 0: never allowed (special tokens, unknown ids) */
    const int32_t *sorted;       /* [n_sorted] the ids with len > 0, by bytes (memcmp order,
                                   * a prefix before its extensions) */
    const uint32_t *lcp;         /* [n_sorted] bytes sorted[k] shares with sorted[k-1]; lcp[0] 0 */
    int64_t n_sorted;
    uint32_t max_len;   /* the longest token's bytes */
    const int32_t *eos; /* [n_eos] the ids that end the output */
    size_t n_eos;
} eco_token_vocab;

/* Builds a vocabulary from bytes[id][0..lens[id]) for id in [0, n) (copied; lens[id] 0 for
 * ids that may never be chosen) and the EOS ids eos[n_eos] (ids outside [0, n) are dropped).
 * Caller frees *out with eco_token_vocab_free. EINVAL, ENOMEM. */
eco_status eco_token_vocab_create(const uint8_t *const *bytes, const size_t *lens, int64_t n,
                                  const int32_t *eos, size_t n_eos, eco_token_vocab **out);
void eco_token_vocab_free(eco_token_vocab *v);

/* A decoding constraint (structured output): which tokens may come next. The engine calls
 * mask before each sampling and accept with the token it chose (never with an EOS id: an EOS
 * ends the output). The constraint keeps the state of one output; its creator frees it. */
typedef struct eco_decode_constraint eco_decode_constraint;
struct eco_decode_constraint {
    /* Sets logits[id] to -INFINITY for every id of vocab (logits[vocab->n]) that may not come
     * next: a token whose bytes cannot continue the output, an EOS id unless the output so
     * far is complete. *n_allowed gets how many ids are left (EOS ids included), *complete
     * whether the output so far is whole (EOS may come). */
    eco_status (*mask)(eco_decode_constraint *self, const eco_token_vocab *vocab, float *logits,
                       size_t *n_allowed, bool *complete);
    /* The chosen token's bytes advance the state; EINVAL when they may not come next. */
    eco_status (*accept)(eco_decode_constraint *self, const eco_token_vocab *vocab, int32_t id);
};

/* One inference call. Strings are borrowed for the duration of the call. */
typedef struct eco_infer_request {
    const char *capability; /* may be NULL */
    const char *prompt;     /* UTF-8 text */
    int max_tokens;         /* new tokens at most (> 0) */
    float temperature;      /* 0 = greedy */
    int top_k;              /* 0 = off */
    float top_p;            /* 1 = off */
    uint64_t seed;
    const char *const *stop; /* n_stop stop sequences; generation ends before them */
    size_t n_stop;
    bool add_special;           /* apply the tokenizer's post-processor (BOS) */
    bool stop_at_eos;           /* end at the model's EOS token(s) (default true) */
    eco_infer_step_fn on_token; /* NULL: none (the default) */
    void *on_token_ctx;         /* passed to on_token */
    /* NULL: none (the default). Otherwise only tokens it allows are sampled; an EOS id ends
     * the output even when stop_at_eos is false; when it allows no token at all the output
     * ends with finish_reason "stop" if it is complete, else the infer fails (EINVAL). The
     * log-probabilities (and on_token's logits) are then those of the masked distribution,
     * the one each token was drawn from. */
    eco_decode_constraint *constraint;
} eco_infer_request;

/* Fills the defaults: max_tokens 64, temperature 0, top_k 0, top_p 1, add_special and
 * stop_at_eos true. */
void eco_infer_request_init(eco_infer_request *req);

typedef struct eco_infer_response {
    char *text;      /* generated text (stop sequence excluded), NUL-terminated */
    size_t text_len; /* bytes in text (model output may contain NUL bytes) */
    int32_t *tokens; /* [n_tokens] generated ids */
    float *logprobs; /* [n_tokens] log-probability of each under the model, over the
                              * ids the tokenizer knows (padding rows of the embedding excluded) */
    size_t n_tokens;
    size_t n_prompt_tokens;
    double prompt_ms;          /* batched prompt pass */
    double decode_ms;          /* all decode steps */
    const char *finish_reason; /* "stop" (EOS or stop sequence), "length", or "cancelled"
                                * (on_token returned false); static. On
                                * ERANGE "context" (see infer below), else NULL on error */
} eco_infer_response;

/* Frees what a response owns and zeroes it; safe on a zeroed response. */
void eco_infer_response_free(eco_infer_response *resp);

/* ModelEngine. */
typedef struct eco_engine eco_engine;
struct eco_engine {
    const eco_genome *(*genome)(const eco_engine *self);
    /* Fills *resp (caller frees with eco_infer_response_free). Not thread-safe per engine:
     * callers serialise calls on one engine. On error *resp holds nothing to free; when the
     * request does not fit the model's context (the prompt's tokens + max_tokens past it),
     * the error is ERANGE with resp->finish_reason "context" and resp->n_prompt_tokens the
     * prompt's token count, the message naming both and the context (so a caller can tell
     * a request too long for this model from a failure of the model: the evaluator fails
     * that one case and goes on). */
    eco_status (*infer)(eco_engine *self, const eco_infer_request *req, eco_infer_response *resp);
    void (*destroy)(eco_engine *self);
};

static inline void eco_engine_destroy(eco_engine *e) {
    if (e) e->destroy(e);
}

/* ModelRouter (router.h has the policy router). route: the engines that may answer req
 * (request_id names it, for deterministic splits; NULL is ""), in the order the router
 * would try them, each once, into order[0..min(*n, max)) (borrowed); *n the full count.
 * Errors as the router's answer has them (no engine is called). */
typedef struct eco_router eco_router;
struct eco_router {
    eco_status (*route)(eco_router *self, const char *request_id, const eco_infer_request *req,
                        eco_engine **order, size_t max, size_t *n);
    void (*destroy)(eco_router *self);
};

static inline void eco_router_destroy(eco_router *r) {
    if (r) r->destroy(r);
}

/* BreedingOperator (breeder.h has the table of operators and eco_breed, which runs one over
 * registered parents and registers the child). */

/* One parent of a breeding run: its registry id, the folder of its verified checkout and
 * its genome (all borrowed for the duration of the call). role is "base" for θ₀ (a
 * task-vector method's base, an extraction's base; at most one, first) or "parent". */
typedef struct eco_breed_parent {
    const char *id;
    const char *dir;
    const eco_genome *genome;
    const char *role;
} eco_breed_parent;

typedef struct eco_breeder_op eco_breeder_op;
struct eco_breeder_op {
    const char *name; /* "linear", "mutate", "quantize", ... (static) */
    /* Whether op can breed these n parents (genomes[0] the base when has_base); false with
     * a one-line reason in reason[reason_len] (always NUL-terminated) when it refuses:
     * parameter operators name the first compatibility field that differs and suggest
     * distill. Pure: reads nothing but the genomes. */
    bool (*supports)(const eco_breeder_op *op, const eco_genome *const *genomes, size_t n,
                     bool has_base, char *reason, size_t reason_len);
    /* Breeds the child into out (a folder that does not exist yet; written as a whole) from
     * parents[n] (the base first when there is one), corpora[n_corpora] (JSONL files the
     * training operators read, in order; none for the others) and params (a JSON object,
     * the operator's parameters; borrowed). The child folder holds lineage.json
     * (merge_dir.h: operation name, every parameter, seed, result; parents by file digest)
     * so that the registry's add records how it was made. */
    eco_status (*breed)(const eco_breeder_op *op, const eco_breed_parent *parents, size_t n,
                        const char *const *corpora, size_t n_corpora, const struct json_t *params,
                        const char *out);
};

#ifdef __cplusplus
}
#endif
#endif
