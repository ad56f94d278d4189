/*
 * model: the llama-family transformer with Hugging Face semantics (LlamaForCausalLM,
 * Qwen2ForCausalLM, MistralForCausalLM).
 *
 *   h = embed[tokens]                                   [T, d]
 *   per layer:  a = RMSNorm(h)·(input_layernorm)
 *               q = a·Wqᵀ(+bq) [T, H·hd], k,v = a·Wk,vᵀ(+b) [T, KV·hd]
 *               RoPE (rotate_half) on q, k; causal GQA attention (head h reads kv head
 *               h / (H/KV)), scale 1/√hd;  h += attn·Woᵀ(+bo)
 *               m = RMSNorm(h)·(post_attention_layernorm);  h += (silu(m·Wgᵀ)⊙(m·Wuᵀ))·Wdᵀ
 *   logits = RMSNorm(h)·(norm) · lm_headᵀ  (lm_head = embed when tied)   [T, vocab]
 *
 * Weights are memory-mapped and pointed into (f32, bf16 or f16 as stored); norm weights
 * and biases are widened to f32 at load. A prompt goes through in one batched pass
 * (sgemm); decoding then runs one token at a time against the KV cache.
 *
 * RoPE: inv_freq as HF computes it (with the "llama3" rescaling when configured), each
 * rounded to f32 as HF stores it; the angle position·inv_freq and its cos/sin are taken
 * in double and cast, so positions are exact however long the context.
 *
 * LoRA: an adapter can be attached unmerged (eco_model_set_adapter: every adapted linear
 * adds s·(x·Aᵀ)·Bᵀ on the fly, so one mapped base serves any number of adapters in turn) or
 * merged into a new model folder (eco_model_merge_adapter: W' = W + s·B·A). Both give the
 * same logits within float rounding (and the base dtype's rounding when merged into
 * bf16/f16).
 *
 * Threads: the kernels use OpenMP inside one call. An eco_model keeps its activation
 * buffers (grown to the largest batch seen, so decoding allocates nothing), so calls on
 * one model must not overlap; separate models and caches are independent.
 */
#ifndef ECOLOGY_MODEL_H
#define ECOLOGY_MODEL_H

#include "ecology/config.h"
#include "ecology/peft.h"
#include "ecology/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eco_model eco_model;

/* Loads config.json and the weights (model.safetensors or a sharded index) from `dir`, or a
 * llama-family GGUF when `dir` names a .gguf file (config, tensors: gguf.h).
 * Every expected tensor must be present with the shape the config implies; a missing,
 * misshapen or non-float tensor is ECO_STATUS_EFORMAT naming it. Tensors the forward does
 * not use are ignored (lm_head.weight in a tied model, rotary_emb.inv_freq). The model
 * owns the mapping; free it with eco_model_free (NULL is fine). */
eco_status eco_model_load(const char *dir, eco_model **out);
void eco_model_free(eco_model *m);
const eco_model_config *eco_model_get_config(const eco_model *m);
const eco_weights *eco_model_get_weights(const eco_model *m);
/* Bytes of weights one decode step reads (every matrix once, the embedding row aside; the
 * attached adapter's f32 A and B included). */
size_t eco_model_decode_bytes(const eco_model *m);

/* Attaches a LoRA adapter to the forward, replacing any attached one; a NULL adapter
 * detaches (the forward is then exactly the base's again). The adapter must fit this
 * model: a->n_layers equal to the config's, each module's A [r, in] and B [out, r] of the
 * shapes its base matrix [out, in] implies, F32/BF16/F16, a finite scale — what
 * eco_lora_adapter_load(dir, eco_model_get_config(m), ...) guarantees; anything else is
 * ECO_STATUS_EINVAL naming the module, with the model left as it was.
 * Ownership: A and B are widened once into f32 copies owned by the model (adapters are
 * small), so the model keeps no pointer into `a`: the caller still owns `a` and may free
 * it right after this call. ENOMEM (model unchanged) when the copies cannot be allocated.
 * Must not overlap a forward on the same model. KV caches filled before the switch hold
 * the old adapter's keys and values: reset them. */
eco_status eco_model_set_adapter(eco_model *m, const eco_lora_adapter *a);
/* Whether an adapter is attached. */
bool eco_model_has_adapter(const eco_model *m);

/* Merges the adapter in adapter_dir into the model in base_dir and writes a new model
 * folder out_dir (created if needed): model.safetensors holds every tensor of the base,
 * with W' = W + s·B·A for each adapted matrix (computed in f32 and rounded once to the
 * base tensor's dtype; other tensors copied bit for bit, one file even when the base is
 * sharded); config.json and tokenizer.json (and generation_config.json,
 * tokenizer_config.json, special_tokens_map.json when present) are copied byte for byte;
 * lineage.json records the merge (ECO_LINEAGE_FILE, core.h: the adapter's configuration,
 * the base's and the adapter's weights digests) so that `add` registers the folder as
 * merged from them. Each file appears atomically, the weights first and config.json last. Errors: those of
 * eco_model_load and eco_lora_adapter_load; EINVAL when out_dir is base_dir or holds a
 * model.safetensors.index.json (it would shadow the merged file); EIO; ENOMEM. */
eco_status eco_model_merge_adapter(const char *base_dir, const char *adapter_dir,
                                   const char *out_dir);

/* KV cache for one sequence: for each layer and kv head, K and V of [max_seq, head_dim]
 * (a head's rows contiguous, so attention over a block of keys reads one run of memory),
 * elements of `dtype`. `len` tokens are cached. */
typedef struct eco_kv_cache {
    int64_t max_seq;
    int64_t len;
    int64_t n_layers;
    int64_t kv_dim;
    eco_dtype dtype; /* ECO_DTYPE_F32 or ECO_DTYPE_F16 */
    void *k;         /* [n_layers, n_kv_heads, max_seq, head_dim] of dtype */
    void *v;         /* [n_layers, n_kv_heads, max_seq, head_dim] of dtype */
} eco_kv_cache;

/* max_seq in [1, INT_MAX] (EINVAL otherwise); positions past the config's
 * max_position_embeddings are computed as HF would, not refused. Zeroed memory from
 * eco_zalloc_large (huge pages where allowed), so untouched positions cost no memory.
 * Caller frees with eco_kv_cache_free.
 * The elements are the model's own precision, as llama.cpp and Hugging Face keep them:
 * f32 for f32 weights; f16 for bf16 or f16 weights (half the bytes that decoding reads
 * per cached token; f16 rather than bf16 for its 3 more bits of mantissa, values beyond
 * ±65504 saturate). eco_kv_cache_create_typed chooses: ECO_DTYPE_F32 or ECO_DTYPE_F16. */
eco_status eco_kv_cache_create(const eco_model *m, int64_t max_seq, eco_kv_cache **out);
eco_status eco_kv_cache_create_typed(const eco_model *m, int64_t max_seq, eco_dtype dtype,
                                     eco_kv_cache **out);
void eco_kv_cache_free(eco_kv_cache *kv);
/* Copies src's positions [0, src->len) into dst and sets dst->len to src->len: caches of one
 * model m (the same layers, heads and element type; max_seq may differ, dst's >= src->len).
 * EINVAL for other shapes or dst == src, ERANGE when dst is too short. */
eco_status eco_kv_cache_copy(const eco_model *m, eco_kv_cache *dst, const eco_kv_cache *src);
void eco_kv_cache_reset(eco_kv_cache *kv);
/* Keeps the first n tokens (n <= len), e.g. to reuse a shared prompt prefix. */
void eco_kv_cache_truncate(eco_kv_cache *kv, int64_t n);

/* Runs tokens[n] at positions kv->len .. kv->len+n−1, appends their K/V to the cache and
 * writes logits: [n, vocab] when all_logits, else the last position's [vocab] (the LM
 * head then runs for that position only). Tokens outside [0, vocab) or a cache overflow
 * give ECO_STATUS_ERANGE with nothing appended; n <= 0, NULL pointers or a cache built
 * for another shape give EINVAL; ENOMEM when the activation buffers cannot grow.
 * n > 1 takes the batched (sgemm) path; n == 1 the matrix-vector path. */
eco_status eco_model_forward(eco_model *m, eco_kv_cache *kv, const int32_t *tokens, int64_t n,
                             float *logits, bool all_logits);

/* ---- adapters as objects, and decoding several sequences at once --------------------
 *
 * An eco_model_adapter is a LoRA adapter checked against a model and widened to f32, as
 * eco_model_set_adapter keeps its attached one, but owned by the caller, so that any
 * number of sequences (each with its own KV cache) can use different adapters on one
 * model without attaching anything: eco_model_forward_adapter runs one sequence's tokens
 * with an adapter, eco_model_decode_batch one new token of each of several sequences. */
typedef struct eco_model_adapter eco_model_adapter;

/* Checks a against m (as eco_model_set_adapter: EINVAL naming the module) and widens it
 * into f32 copies; the caller may free `a` right after. Free with eco_model_adapter_free
 * (NULL is fine). Valid for m and any model of the same shapes. ENOMEM. */
eco_status eco_model_adapter_create(const eco_model *m, const eco_lora_adapter *a,
                                    eco_model_adapter **out);
void eco_model_adapter_free(eco_model_adapter *ad);
/* The adapter attached to m (eco_model_set_adapter; owned by m), or NULL. */
const eco_model_adapter *eco_model_attached_adapter(const eco_model *m);
/* Bytes of its f32 copies (what one decode step using it reads besides the base). */
size_t eco_model_adapter_bytes(const eco_model_adapter *ad);

/* eco_model_forward with adapter `ad` (NULL: the bare base) in place of the attached one,
 * which is neither used nor changed. EINVAL when ad was made for a model of other shapes;
 * otherwise the errors of eco_model_forward. */
eco_status eco_model_forward_adapter(eco_model *m, const eco_model_adapter *ad, eco_kv_cache *kv,
                                     const int32_t *tokens, int64_t n, float *logits,
                                     bool all_logits);

/* One row of a decode step: a sequence's cache, the token to run at position kv->len, its
 * adapter (NULL: the bare base; not the attached one) and where its logits [vocab] go. */
typedef struct eco_decode_row {
    eco_kv_cache *kv;
    const eco_model_adapter *adapter;
    int32_t token;
    float *logits;
    eco_status status; /* out: this row's result */
} eco_decode_row;

/* Runs one new token of each of n rows (distinct caches) in one pass over the base's
 * weights: every weight matrix is read once per step for all rows (the rows' products of
 * each block of weight rows taken while the block is in cache), each row's attention
 * against its own cache, and each row's LoRA delta with the rows of one adapter taken
 * together (rows are reordered by adapter internally; the caller's order is kept in
 * `rows`). Every row's logits and cache rows are bit-identical to eco_model_forward_adapter
 * of that row's token alone (the one-token forward is this step with one row). A row whose
 * token is outside [0, vocab), whose cache is full or of another shape, or whose adapter
 * does not fit gets its own error in rows[i].status (ERANGE, EINVAL) and is skipped, its
 * cache untouched; the other rows run. A row whose hidden state overflows (see
 * eco_model_forward) gets ERANGE with its cache advanced. Returns OK when the step ran
 * (look at each row's status), EINVAL for NULL arguments, n <= 0 or two rows sharing a
 * cache, ENOMEM when the buffers cannot grow (no row run). Rows are not limited in number;
 * scratch grows with the largest batch seen. */
eco_status eco_model_decode_batch(eco_model *m, eco_decode_row *rows, int64_t n);

/* RoPE inverse frequencies for cfg, as Hugging Face computes them (default, or llama3
 * when cfg->rope_llama3), each rounded to f32 as HF stores them. out has head_dim/2
 * entries. The model's forward and the training forward (train.h) both take their angles
 * from it. */
void eco_rope_inv_freq(const eco_model_config *cfg, double *out);

/* ---- random-initialised models with real shapes ------------------------------------ */

/* Preset names: "tiny" (a few hundred K parameters, for tests and the demo),
 * "smollm2-135m", "tinyllama-1.1b", "qwen2.5-0.5b". */
eco_status eco_model_preset_config(const char *preset, eco_model_config *out);
/* Writes config.json, model.safetensors (HF tensor names, `dtype` F32/BF16/F16; normal
 * init std 0.02, norms 1, biases small) and the byte tokenizer's tokenizer.json to
 * out_dir, creating it. Same preset, seed and dtype → identical bytes, whatever the
 * thread count (each chunk of each tensor draws from its own stream seeded by seed, name
 * and chunk). Values are drawn in f32 and stored straight in `dtype`: memory is one copy
 * of the weights at that dtype. config.json records cfg as given, torch_dtype = dtype. */
eco_status eco_model_create_random(const eco_model_config *cfg, uint64_t seed, eco_dtype dtype,
                                   const char *out_dir);
/* eco_model_create_random of a preset (eco_model_preset_config; ENOTFOUND for an unknown
 * name), plus lineage.json (ECO_LINEAGE_FILE, core.h) recording operation "create" with the
 * preset, dtype and init std as params and the seed (below 2^63 to be recorded as it is),
 * so that `add` records them. */
eco_status eco_model_create_preset(const char *preset, uint64_t seed, eco_dtype dtype,
                                   const char *out_dir);
/* The same with another standard deviation for the matrices (embeddings and projections;
 * norms stay 1, biases 0.02): 0.02 is HF's initializer_range for large models, while a
 * model a few hundred wide trains out of the attention plateau much sooner from a larger
 * one (about 1/sqrt(hidden)). EINVAL outside (0, 1]. */
eco_status eco_model_create_random_std(const eco_model_config *cfg, uint64_t seed, eco_dtype dtype,
                                       double init_std, const char *out_dir);
/* A random LoRA adapter for cfg written to dir (eco_lora_adapter_save; created if needed)
 * with pc's configuration: every module pc targets gets A [r, in] and B [out, r] (r from
 * pc's rank pattern) in f32, uniform in [-amp, amp) from one stream seeded by seed: same
 * arguments, same bytes. B is not zero, so unlike a fresh adapter it changes the model
 * (tests, benchmarks). Errors: EINVAL (NULL arguments, a config eco_lora_adapter_save
 * refuses), ENOMEM, those of eco_lora_adapter_save. src/model/lora_random.c. */
eco_status eco_lora_adapter_create_random(const char *dir, const eco_model_config *cfg,
                                          const eco_peft_config *pc, uint64_t seed, float amp);

#ifdef __cplusplus
}
#endif
#endif
