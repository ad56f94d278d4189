/*
 * config: Hugging Face `config.json` for the llama family (LlamaForCausalLM,
 * Qwen2ForCausalLM, MistralForCausalLM). Everything the forward pass depends on is read
 * and checked; a value this engine does not implement (another architecture, a rope
 * scaling other than "llama3", an activation other than silu, sliding-window attention
 * in use, mlp bias) is refused with a message naming the field.
 */
#ifndef ECOLOGY_CONFIG_H
#define ECOLOGY_CONFIG_H

#include "ecology/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum eco_arch {
    ECO_ARCH_LLAMA = 0,   /* "LlamaForCausalLM" */
    ECO_ARCH_QWEN2 = 1,   /* "Qwen2ForCausalLM": q/k/v bias always on */
    ECO_ARCH_MISTRAL = 2, /* "MistralForCausalLM" */
} eco_arch;

const char *eco_arch_name(eco_arch a); /* the HF architecture string */

#define ECO_MAX_EOS 8

typedef struct eco_model_config {
    eco_arch arch;
    char model_type[32]; /* "llama", "qwen2", "mistral" */
    int64_t vocab_size;
    int64_t hidden_size;       /* d */
    int64_t intermediate_size; /* f (SwiGLU width) */
    int64_t n_layers;          /* num_hidden_layers */
    int64_t n_heads;           /* num_attention_heads */
    int64_t n_kv_heads;        /* num_key_value_heads (defaults to n_heads) */
    int64_t head_dim;          /* head_dim (defaults to d / n_heads) */
    int64_t max_position_embeddings;
    double rms_norm_eps;
    double rope_theta;
    /* rope_scaling {"rope_type"|"type": "llama3", factor, low_freq_factor,
     * high_freq_factor, original_max_position_embeddings} */
    bool rope_llama3;
    double rope_factor;
    double rope_low_freq_factor;
    double rope_high_freq_factor;
    int64_t rope_original_max_pos;
    bool tie_word_embeddings;
    bool qkv_bias;                      /* Qwen2 always; Llama/Mistral when attention_bias */
    bool o_bias;                        /* Llama/Mistral when attention_bias */
    int64_t bos_token_id;               /* -1 when absent */
    int64_t eos_token_ids[ECO_MAX_EOS]; /* eos_token_id may be an int or a list */
    int n_eos;
    eco_dtype torch_dtype; /* F32 when absent */
} eco_model_config;

/* Parses config.json text; `label` names the source in messages. */
eco_status eco_config_parse(const char *json, size_t len, const char *label, eco_model_config *out);
/* Reads `path` (a config.json file or a folder containing one), or the keys of a .gguf
 * (eco_gguf_model_config, gguf.h). */
eco_status eco_config_load(const char *path, eco_model_config *out);
/* Writes a config.json that Hugging Face transformers loads, atomically. */
eco_status eco_config_write(const char *path, const eco_model_config *cfg);

/* Checks a filled struct (what eco_config_parse guarantees and eco_config_write needs):
 * sizes in 1..2^31-1, heads a multiple of kv heads, head_dim even, model_type matching
 * arch, Qwen2 bias flags (q/k/v on, o off), Llama/Mistral q/k/v bias == o bias, dtype
 * F32/BF16/F16, and no overflow in the parameter count as f32 bytes. `label` (may be
 * NULL) prefixes messages. EINVAL, ERANGE or EOVERFLOW on failure. */
eco_status eco_config_validate(const eco_model_config *cfg, const char *label);
/* The config.json text eco_config_write writes (2-space indent, sorted keys, trailing
 * newline): *out malloc'd, caller frees; *out_len may be NULL. */
eco_status eco_config_to_json(const eco_model_config *cfg, char **out, size_t *out_len);

/* Number of parameters the config implies (embeddings, layers, norms, head if untied);
 * -1 when a size is not positive or the count overflows int64. */
int64_t eco_config_param_count(const eco_model_config *cfg);

/* The one context rule, for every caller that runs the model over a sequence (generation,
 * logits, training rows): n_positions tokens must fit max_position_embeddings. ERANGE
 * otherwise, the message "<what>: N positions exceed the model's context of M
 * (max_position_embeddings in config.json)", `what` formatted printf-style. */
eco_status eco_config_check_context(const eco_model_config *cfg, int64_t n_positions,
                                    const char *what_fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
