/*
 * contracts: the interfaces between modules (the seed's Rust traits, as C vtables).
 *
 * An implementation embeds the interface struct as its first member and casts back:
 *
 *     typedef struct { eco_engine base; eco_model *model; ... } llama_engine;
 *
 * Domain types live here too. contracts.h is core's: the types' plain helpers
 * (eco_infer_request_init, eco_infer_response_free) are in src/core/contracts.c, so any
 * module may use them without depending on an implementation. eco_genome is the summary an
 * engine reports about itself (id, interface, size; the llama engine leaves the
 * compatibility hashes empty); the whole genome, as the registry stores and signs it, is
 * registry.h's eco_genome_record.
 */
#ifndef ECOLOGY_CONTRACTS_H
#define ECOLOGY_CONTRACTS_H

#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eco_model_id {
    char str[128];
} eco_model_id;

/* Whether two models' parameters can be mixed (see ARCHITECTURE.md); hex SHA-256s. */
typedef struct eco_compat_identity {
    char base_family[ECO_SHA256_HEX_LEN + 1];
    char architecture_hash[ECO_SHA256_HEX_LEN + 1];
    char tokenizer_hash[ECO_SHA256_HEX_LEN + 1];
    char tensor_schema_hash[ECO_SHA256_HEX_LEN + 1];
} eco_compat_identity;

typedef struct eco_genome {
    eco_model_id id;
    eco_compat_identity compatibility;
    char interface_version[32];
    int64_t n_params;
    size_t weight_bytes;
} eco_genome;

/* One inference call. Strings are borrowed for the duration of the call. */
typedef struct eco_infer_request {
    const char *capability;      /* may be NULL */
    const char *prompt;          /* UTF-8 text */
    int max_tokens;              /* new tokens at most (> 0) */
    float temperature;           /* 0 = greedy */
    int top_k;                   /* 0 = off */
    float top_p;                 /* 1 = off */
    uint64_t seed;
    const char *const *stop;     /* n_stop stop sequences; generation ends before them */
    size_t n_stop;
    bool add_special;            /* apply the tokenizer's post-processor (BOS) */
    bool stop_at_eos;            /* end at the model's EOS token(s) (default true) */
} eco_infer_request;

/* Fills the defaults: max_tokens 64, temperature 0, top_k 0, top_p 1, add_special and
 * stop_at_eos true. */
void eco_infer_request_init(eco_infer_request *req);

typedef struct eco_infer_response {
    char *text;              /* generated text (stop sequence excluded), NUL-terminated */
    size_t text_len;         /* bytes in text (model output may contain NUL bytes) */
    int32_t *tokens;         /* [n_tokens] generated ids */
    float *logprobs;         /* [n_tokens] log-probability of each under the model, over the
                              * ids the tokenizer knows (padding rows of the embedding excluded) */
    size_t n_tokens;
    size_t n_prompt_tokens;
    double prompt_ms;        /* batched prompt pass */
    double decode_ms;        /* all decode steps */
    const char *finish_reason; /* "stop" (EOS or stop sequence) or "length"; static */
} eco_infer_response;

/* Frees what a response owns and zeroes it; safe on a zeroed response. */
void eco_infer_response_free(eco_infer_response *resp);

/* ModelEngine. */
typedef struct eco_engine eco_engine;
struct eco_engine {
    const eco_genome *(*genome)(const eco_engine *self);
    /* Fills *resp (caller frees with eco_infer_response_free). Not thread-safe per engine:
     * callers serialise calls on one engine. */
    eco_status (*infer)(eco_engine *self, const eco_infer_request *req, eco_infer_response *resp);
    void (*destroy)(eco_engine *self);
};

static inline void eco_engine_destroy(eco_engine *e) {
    if (e) e->destroy(e);
}

#ifdef __cplusplus
}
#endif
#endif
