/*
 * peft: LoRA adapters in the layout Hugging Face PEFT saves.
 *
 *   adapter_config.json        {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 8,
 *                               "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"],
 *                               "lora_dropout": 0.05, "bias": "none", "use_rslora": false,
 *                               "base_model_name_or_path": "...", "rank_pattern": {},
 *                               "alpha_pattern": {}, ...}
 *   adapter_model.safetensors  base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight [r, in]
 *                              base_model.model.model.layers.{i}.self_attn.q_proj.lora_B.weight [out, r]
 *
 * A LoRA on linear W [out, in] adds  y += s · (x · Aᵀ) · Bᵀ  with s = alpha / r, or
 * alpha / √r with rsLoRA. rank_pattern / alpha_pattern override r / alpha for modules whose
 * name matches a key (PEFT matches the key as a regex against the end of the module name,
 * e.g. "layers.0.self_attn.q_proj" or "q_proj"). Unknown keys are ignored; features this
 * engine does not implement (DoRA, modules_to_save, bias other than "none", target_modules
 * outside q/k/v/o/gate/up/down, layers_to_transform, init options that change the forward)
 * are refused with a message naming the key.
 *
 * Details (src/formats/peft_config.c, peft_adapter.c):
 *  - target_modules: a list of "q_proj" ... "down_proj" or their in-layer paths
 *    ("self_attn.q_proj"), or "all-linear" (all seven); absent/null means PEFT's llama
 *    default (q_proj, v_proj). A regex string, a name outside the seven or a per-layer
 *    path is EUNSUPPORTED naming target_modules.
 *  - rank_pattern / alpha_pattern follow PEFT's get_pattern_key: keys in file order, the
 *    first key with re.match(rf"(.*\.)?({key})$", name) wins, where name is the base
 *    model's module name "model.layers.{i}.self_attn.q_proj". Keys are PCRE2 regexes
 *    checked when parsed (an invalid one is EFORMAT naming rank_pattern/alpha_pattern).
 *  - init_lora_weights true/false/"gaussian"/"eva"/"orthogonal" are accepted (they only
 *    choose the starting A and B); "pissa*", "olora", "corda", "loftq" rewrite the base
 *    weights, so their adapters only fit that rewritten base: EUNSUPPORTED.
 *  - Also refused: use_dora true, fan_in_fan_out true, lora_bias true, bias other than
 *    "none", non-empty modules_to_save / exclude_modules / trainable_token_indices /
 *    target_parameters / layer_replication / alora_invocation_tokens, non-null
 *    layers_to_transform / layers_pattern, peft_type other than LORA, task_type other than
 *    CAUSAL_LM (null or absent is fine).
 *  - Loading: every targeted module of every layer must have both halves; tensor names
 *    may carry PEFT's ".default" adapter name before ".weight"; adapter_model.bin alone
 *    is EUNSUPPORTED (pickle); a missing file is ENOTFOUND. Bad dtypes are EUNSUPPORTED.
 */
#ifndef ECOLOGY_PEFT_H
#define ECOLOGY_PEFT_H

#include "ecology/config.h"
#include "ecology/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The seven linear layers of a llama block, in this fixed order. */
typedef enum eco_lora_target {
    ECO_LORA_Q = 0,    /* self_attn.q_proj */
    ECO_LORA_K = 1,    /* self_attn.k_proj */
    ECO_LORA_V = 2,    /* self_attn.v_proj */
    ECO_LORA_O = 3,    /* self_attn.o_proj */
    ECO_LORA_GATE = 4, /* mlp.gate_proj */
    ECO_LORA_UP = 5,   /* mlp.up_proj */
    ECO_LORA_DOWN = 6, /* mlp.down_proj */
    ECO_LORA__COUNT
} eco_lora_target;

/* "q_proj", "k_proj", ... */
const char *eco_lora_target_name(eco_lora_target t);

/* The [out, in] shape of the weight W [out, in] that LoRA target t adapts in a layer of
 * cfg (q: [heads·head_dim, hidden], k and v: [kv_heads·head_dim, hidden], o: [hidden,
 * heads·head_dim], gate and up: [intermediate, hidden], down: [hidden, intermediate]);
 * 0 × 0 for a value outside the enum. peft_adapter.c. */
void eco_lora_module_dims(const eco_model_config *cfg, eco_lora_target t, int64_t *out,
                          int64_t *in);
/* "self_attn.q_proj", "mlp.gate_proj", ... (the module path inside a layer) */
const char *eco_lora_target_path(eco_lora_target t);
/* Reads a tensor name "<prefix><L>.<target path><rest>" (e.g. prefix "model.layers.",
 * "model.layers.3.self_attn.q_proj.weight"): on a match sets *layer (decimal, 1 to 9
 * digits, leading zeros allowed) and *target, and returns the rest after the target path
 * (".weight" above; a pointer into name, not a copy). NULL, outputs untouched, for any
 * other name. Lenient: the caller checks the rest. peft_config.c. */
const char *eco_lora_module_name(const char *name, const char *prefix, int64_t *layer,
                                 eco_lora_target *target);

#define ECO_PEFT_MAX_PATTERNS 64

typedef struct eco_peft_config {
    int64_t r;           /* default rank (> 0) */
    double lora_alpha;   /* default alpha */
    double lora_dropout; /* training only; [0, 1) */
    bool use_rslora;
    bool targets[ECO_LORA__COUNT];
    char base_model_name_or_path[512];
    /* rank_pattern / alpha_pattern: key → value, in file order */
    int n_rank_pattern;
    char rank_pattern_key[ECO_PEFT_MAX_PATTERNS][128];
    int64_t rank_pattern_val[ECO_PEFT_MAX_PATTERNS];
    int n_alpha_pattern;
    char alpha_pattern_key[ECO_PEFT_MAX_PATTERNS][128];
    double alpha_pattern_val[ECO_PEFT_MAX_PATTERNS];
} eco_peft_config;

/* PEFT's defaults: r 8, lora_alpha 8, no dropout, no target, no patterns. */
void eco_peft_config_init(eco_peft_config *cfg);
/* Parses adapter_config.json text (label names the source in messages; NULL means
 * "adapter_config.json"). *out is written only on success. EFORMAT for bad JSON or wrong
 * types, EUNSUPPORTED for features refused (see above), ERANGE for out-of-range sizes. */
eco_status eco_peft_config_parse(const char *json, size_t len, const char *label,
                                 eco_peft_config *out);
/* Reads `path` (an adapter_config.json file or a folder holding one). ENOTFOUND when absent. */
eco_status eco_peft_config_load(const char *path, eco_peft_config *out);
/* The text eco_peft_config_write writes: every key PEFT 0.x writes for a LoRA config, 2-space
 * indent, sorted keys, target_modules sorted, no trailing newline (PEFT's json.dumps(indent=2,
 * sort_keys=True)). *out malloc'd, caller frees; out_len may be NULL. EINVAL when cfg is not
 * writable: r <= 0, no target, non-finite alpha, dropout outside [0, 1), or rank_pattern /
 * alpha_pattern keys not in strictly sorted order (the file holds them sorted, as PEFT
 * writes them, and the first matching key wins: any other order would change the meaning). */
eco_status eco_peft_config_to_json(const eco_peft_config *cfg, char **out, size_t *out_len);
/* Writes adapter_config.json (path: the file, or a folder to write it into), atomically. */
eco_status eco_peft_config_write(const char *path, const eco_peft_config *cfg);
/* Rank and alpha for one module after rank_pattern / alpha_pattern, e.g. layer 3, q. */
void eco_peft_module_rank_alpha(const eco_peft_config *cfg, int64_t layer, eco_lora_target t,
                                int64_t *r, double *alpha);
/* The scale s for a module: alpha / r, or alpha / √r with rsLoRA. */
double eco_peft_scale(const eco_peft_config *cfg, int64_t r, double alpha);
/* The name an adapter_config.json's base_model_name_or_path gives the base `given`: when
 * `given` is a folder, its registry id when it says one (a genome.json with a string "id"
 * without '/', as `ecology export` writes), else the folder's last path component
 * ("data/models/eco-tiny/", "." and ".." name a folder too); when it is not a folder,
 * `given` itself (an id or a hub name). Written into out (out_size bytes, NUL-terminated);
 * out is left as it is when the name does not fit. out may be `given`. The trainer, extract
 * and the adapter merge all name bases with it, so their adapters agree on a base. */
void eco_peft_base_name(const char *given, char *out, size_t out_size);

/* One module's adapter: A [r, in], B [out, r] as stored (f32, bf16 or f16 views into the
 * mapped adapter_model.safetensors), and its scale. A and B are NULL where the module has
 * no adapter. */
typedef struct eco_lora_module {
    const eco_tensor *A;
    const eco_tensor *B;
    int64_t r;
    float scale;
} eco_lora_module;

/* An adapter loaded from a folder and checked against a base model's config: every tensor
 * in the file maps to (layer, target) with the shapes the base implies ([r, in] and
 * [out, r]); missing halves, extra tensors, wrong shapes, layers out of range are
 * ECO_STATUS_EFORMAT naming the tensor. */
typedef struct eco_lora_adapter {
    eco_peft_config config;
    eco_safetensors *file; /* owns the mapping */
    int64_t n_layers;
    eco_lora_module *modules; /* [n_layers * ECO_LORA__COUNT], index layer*COUNT+target */
} eco_lora_adapter;

eco_status eco_lora_adapter_load(const char *dir, const eco_model_config *base,
                                 eco_lora_adapter **out);
/* The same from memory (tests, fuzzing): st_data must outlive *out (not copied). */
eco_status eco_lora_adapter_load_memory(const char *config_json, size_t config_len,
                                        const void *st_data, size_t st_len,
                                        const eco_model_config *base, eco_lora_adapter **out);
void eco_lora_adapter_free(eco_lora_adapter *a);
static inline const eco_lora_module *eco_lora_adapter_module(const eco_lora_adapter *a,
                                                             int64_t layer, eco_lora_target t) {
    return &a->modules[layer * ECO_LORA__COUNT + t];
}

/* Writes an adapter folder (adapter_config.json + adapter_model.safetensors with PEFT's
 * tensor names, metadata {"format": "pt"}) from per-module A/B tensors given in the same
 * [n_layers * COUNT] layout (entries with A == NULL are skipped; scale is not read). The
 * folder is created if needed (mkdir -p). Checked first (EINVAL): a module has tensors iff
 * its target is in cfg->targets, A is [r, *] and B [*, r] with r from rank_pattern / r,
 * dtypes F32/F16/BF16. Each file appears atomically, weights before config. The caller keeps
 * ownership of the tensors. */
eco_status eco_lora_adapter_save(const char *dir, const eco_peft_config *cfg,
                                 const eco_lora_module *modules, int64_t n_layers);

#ifdef __cplusplus
}
#endif
#endif
