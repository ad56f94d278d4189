/*
 * gguf: ggml's GGUF v3 container (llama.cpp's model files), read by memory map and
 * written atomically, and the mapping between a llama-family Hugging Face model folder and
 * the GGUF file llama.cpp runs.
 *
 * Layout (all little-endian):
 *   "GGUF", u32 version (3), u64 n_tensors, u64 n_kv,
 *   n_kv × (string key, u32 value type, value),
 *   n_tensors × (string name, u32 n_dims (1..4), u64 ne[n_dims] (ne[0] innermost),
 *                u32 ggml type, u64 offset relative to the data section),
 *   zero padding to the alignment, then the data section.
 * A string is a u64 length and that many bytes (no NUL); an array a u32 element type, a
 * u64 count and the elements (arrays of arrays are refused). general.alignment (u32, a
 * power of two, default 32) aligns the data section and every tensor offset.
 *
 * The reader treats the file as hostile: every count and length is checked against the
 * bytes left before anything is allocated for it, every size product for overflow; keys
 * and tensor names must be unique and non-empty (names at most 63 bytes, as ggml's); a
 * tensor's offset must be aligned and its bytes lie inside the data section without
 * overlapping another's. Tensor types F32, F16, BF16 and Q8_0 are read (Q8_0 rows whole
 * 32-element blocks); any other ggml type is EUNSUPPORTED naming the tensor and the type.
 *
 * ---- the model mapping (eco_gguf_export; loading a .gguf wherever a model is) --------
 * Keys written, as llama.cpp's convert_hf_to_gguf.py writes them for LlamaForCausalLM
 * (and MistralForCausalLM) as arch "llama" and Qwen2ForCausalLM as arch "qwen2":
 *   general.architecture (str), general.type = "model", general.file_type (u32: 0 f32,
 *   1 f16, 7 q8_0, 32 bf16), general.quantization_version (u32 2),
 *   ARCH.block_count, ARCH.context_length, ARCH.embedding_length,
 *   ARCH.feed_forward_length, ARCH.attention.head_count, ARCH.attention.head_count_kv,
 *   ARCH.attention.key_length, ARCH.attention.value_length, ARCH.rope.dimension_count,
 *   ARCH.vocab_size (u32), ARCH.rope.freq_base, ARCH.attention.layer_norm_rms_epsilon (f32),
 *   tokenizer.ggml.model = "gpt2" (byte-level BPE), tokenizer.ggml.pre (the pre-tokenizer
 *   llama.cpp re-implements: "qwen2", "llama-bpe", "smollm", "gpt-2", or "default" for a
 *   tokenizer without merges, where the split cannot change the tokens),
 *   tokenizer.ggml.tokens (str[vocab_size]; ids the tokenizer lacks are "[PAD<id>]"),
 *   tokenizer.ggml.token_type (i32[vocab_size]: 1 normal, 3 control = a special added
 *   token, 4 user-defined = another added token, 5 unused = a padding id),
 *   tokenizer.ggml.merges (str["a b"]), tokenizer.ggml.bos_token_id /
 *   eos_token_id (u32, from config.json), tokenizer.ggml.add_bos_token /
 *   add_eos_token (bool, from the post-processor's template).
 * Tensors: token_embd, output_norm, output (untied only), and per layer N
 *   blk.N.attn_norm, attn_q, attn_k, attn_v (+ .bias), attn_output, ffn_norm, ffn_gate,
 *   ffn_up, ffn_down (.weight), ne the HF shape reversed. For arch "llama" the rows of
 *   attn_q (and its bias) are permuted per head as convert_hf_to_gguf.py does (HF's
 *   rotate_half halves → llama.cpp's interleaved pairs: row h·hd + 2i + j takes HF row
 *   h·hd + j·hd/2 + i), attn_k likewise over the kv heads; qwen2 keeps HF's order (NEOX).
 *   Vectors (norms, biases) stay F32 whatever the type; matrices are the chosen type
 *   (q8_0 falls back to f16 for a matrix whose rows are not whole 32-blocks).
 * llama3 rope scaling is the tensor rope_freqs.weight (F32 [head_dim/2], the factor each
 * frequency is divided by, as convert_hf_to_gguf.py computes it); on load its parameters
 * are recovered from the factors (low_freq_factor 1; the others up to that common scale,
 * which leaves every frequency the same), and a rope_freqs they do not reproduce is
 * EUNSUPPORTED.
 * SentencePiece-style tokenizers (byte_fallback, the Prepend "▁" + Replace normalizer:
 * Llama 2, Mistral, TinyLlama) are written as tokenizer.ggml.model = "llama" with
 * tokenizer.ggml.scores (f32[vocab_size]: a token some merge makes scores −(its place when
 * those are ordered by their first merge's rank), any other normal token −1e9, others 0;
 * llama.cpp merges the best-scoring pair), token_type 6 for <0xNN> bytes and 2 for the
 * unk token, tokenizer.ggml.unknown_token_id and add_space_prefix = true, no merges; on load
 * the merges are rebuilt from the scores as Hugging Face's SentencePieceExtractor does.
 * Loading reverses all of it: config from the keys, tokenizer.json rebuilt from
 * tokenizer.ggml.*, HF tensor names, q/k rows un-permuted (copied), every other tensor
 * mapped without a copy (Q8_0 as the engine's q8_0 dtype, tensor.h).
 */
#ifndef ECOLOGY_GGUF_H
#define ECOLOGY_GGUF_H

#include "ecology/config.h"
#include "ecology/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECO_GGUF_VERSION           3
#define ECO_GGUF_DEFAULT_ALIGNMENT 32
#define ECO_GGUF_MAX_NAME          63 /* ggml's GGML_MAX_NAME − 1 */
#define ECO_GGUF_MAX_DIMS          4

/* Metadata value types. */
typedef enum eco_gguf_type {
    ECO_GGUF_UINT8 = 0,
    ECO_GGUF_INT8 = 1,
    ECO_GGUF_UINT16 = 2,
    ECO_GGUF_INT16 = 3,
    ECO_GGUF_UINT32 = 4,
    ECO_GGUF_INT32 = 5,
    ECO_GGUF_FLOAT32 = 6,
    ECO_GGUF_BOOL = 7,
    ECO_GGUF_STRING = 8,
    ECO_GGUF_ARRAY = 9,
    ECO_GGUF_UINT64 = 10,
    ECO_GGUF_INT64 = 11,
    ECO_GGUF_FLOAT64 = 12,
} eco_gguf_type;

/* The ggml tensor types this project reads and writes. */
typedef enum eco_ggml_type {
    ECO_GGML_F32 = 0,
    ECO_GGML_F16 = 1,
    ECO_GGML_Q8_0 = 8,
    ECO_GGML_BF16 = 30,
} eco_ggml_type;

/* "F32", "F16", "Q8_0", "BF16", or "type N". Thread-unsafe for unknown N. */
const char *eco_ggml_type_name(uint32_t type);
/* Bytes of a row of n elements of `type` (Q8_0: n a multiple of 32), 0 when unknown or
 * not whole blocks. */
size_t eco_ggml_row_bytes(uint32_t type, int64_t n);

/* A string inside the file: `len` bytes at s, NUL-terminated copy (may hold NUL bytes). */
typedef struct eco_gguf_str {
    const char *s;
    size_t len;
} eco_gguf_str;

/* A tensor: HF-order shape is ne reversed. data points into the mapping. */
typedef struct eco_gguf_tensor {
    const char *name; /* NUL-terminated, owned by the eco_gguf */
    uint32_t type;    /* eco_ggml_type */
    int n_dims;
    int64_t ne[ECO_GGUF_MAX_DIMS]; /* ne[0] innermost; unused dims 1 */
    uint64_t offset;               /* in the data section */
    const void *data;
    size_t nbytes;
} eco_gguf_tensor;

typedef struct eco_gguf eco_gguf;

/* Maps `path` read-only and validates it (rules above). *out owns the mapping. */
eco_status eco_gguf_open(const char *path, eco_gguf **out);
/* Validates an in-memory image (not copied: data must outlive *out); `label` names it. */
eco_status eco_gguf_open_memory(const void *data, size_t len, const char *label, eco_gguf **out);
void eco_gguf_close(eco_gguf *g);
const char *eco_gguf_label(const eco_gguf *g);
size_t eco_gguf_alignment(const eco_gguf *g);

/* Metadata, in file order. */
size_t eco_gguf_kv_count(const eco_gguf *g);
const char *eco_gguf_kv_key(const eco_gguf *g, size_t i);
/* Index of key, or -1. */
int64_t eco_gguf_find_key(const eco_gguf *g, const char *key);
/* The value's type; for an ARRAY, *elem_type and *n (may be NULL) its element type and
 * count (for a scalar *n = 1). */
eco_gguf_type eco_gguf_kv_type(const eco_gguf *g, size_t i, eco_gguf_type *elem_type, uint64_t *n);
/* Typed getters: ENOTFOUND when the key is absent (quietly: no error message set), EFORMAT
 * "<label>: <key>: expected ..." when of another type or out of range. get_int accepts
 * any integer type (not bool) in int64 range; get_float F32 or F64. */
eco_status eco_gguf_get_int(const eco_gguf *g, const char *key, int64_t *out);
eco_status eco_gguf_get_float(const eco_gguf *g, const char *key, double *out);
eco_status eco_gguf_get_bool(const eco_gguf *g, const char *key, bool *out);
eco_status eco_gguf_get_str(const eco_gguf *g, const char *key, eco_gguf_str *out);
/* An array of strings: *items [n] owned by g. */
eco_status eco_gguf_get_str_array(const eco_gguf *g, const char *key, const eco_gguf_str **items,
                                  uint64_t *n);
/* An array of F32 or F64 widened to double: *out malloc'd [n] (caller frees). */
eco_status eco_gguf_get_float_array(const eco_gguf *g, const char *key, double **out, uint64_t *n);
/* An array of integers widened to int64: *out malloc'd [n] (caller frees). */
eco_status eco_gguf_get_int_array(const eco_gguf *g, const char *key, int64_t **out, uint64_t *n);

/* Tensors in file order. */
size_t eco_gguf_tensor_count(const eco_gguf *g);
const eco_gguf_tensor *eco_gguf_tensor_at(const eco_gguf *g, size_t i);
/* NULL when absent. */
const eco_gguf_tensor *eco_gguf_find_tensor(const eco_gguf *g, const char *name);
/* Says that the caller will not read the nbytes at data again (a tensor it has copied):
 * whole pages of g's file mapping inside that range are dropped from this process
 * (madvise MADV_DONTNEED on the private read-only mapping: read back from the file if
 * touched). A range outside the mapping, or g opened from memory, is left alone. */
void eco_gguf_release(const eco_gguf *g, const void *data, size_t nbytes);

/* ---- writer ------------------------------------------------------------------------ */

typedef struct eco_gguf_writer eco_gguf_writer;

/* Fills dst[nbytes] with a tensor's data when the file is written (ctx as given). */
typedef eco_status (*eco_gguf_fill_fn)(void *ctx, void *dst, size_t nbytes);

/* A writer laying out the data section at `alignment` (a power of two ≥ 8; 0 means 32;
 * another value is also written as general.alignment). NULL when out of memory. */
eco_gguf_writer *eco_gguf_writer_new(size_t alignment);
void eco_gguf_writer_free(eco_gguf_writer *w);
/* Metadata, written in the order added; a key added twice is EINVAL. */
eco_status eco_gguf_add_str(eco_gguf_writer *w, const char *key, const char *value);
eco_status eco_gguf_add_u32(eco_gguf_writer *w, const char *key, uint32_t value);
eco_status eco_gguf_add_i32(eco_gguf_writer *w, const char *key, int32_t value);
eco_status eco_gguf_add_f32(eco_gguf_writer *w, const char *key, float value);
eco_status eco_gguf_add_bool(eco_gguf_writer *w, const char *key, bool value);
/* Arrays: strings are copied; n may be 0. */
eco_status eco_gguf_add_str_array(eco_gguf_writer *w, const char *key, const char *const *items,
                                  size_t n);
eco_status eco_gguf_add_i32_array(eco_gguf_writer *w, const char *key, const int32_t *items,
                                  size_t n);
eco_status eco_gguf_add_f32_array(eco_gguf_writer *w, const char *key, const float *items,
                                  size_t n);
/* A tensor of `type` and HF-order shape[ndim] (written as ne reversed). Its bytes come
 * from `data` (not copied: it must stay valid until the write) or, when data is NULL, from
 * fill(ctx, ...) into a buffer of the tensor's size at write time (one tensor at a time).
 * Names unique, 1..63 bytes; EINVAL otherwise. */
eco_status eco_gguf_add_tensor(eco_gguf_writer *w, const char *name, uint32_t type, int ndim,
                               const int64_t *shape, const void *data, eco_gguf_fill_fn fill,
                               void *ctx);
/* Writes the file atomically (temp file, fsync, rename). */
eco_status eco_gguf_write_file(eco_gguf_writer *w, const char *path);
/* The same image in memory: *out malloc'd (caller frees). */
eco_status eco_gguf_write_memory(eco_gguf_writer *w, uint8_t **out, size_t *out_len);

/* ---- llama-family models ------------------------------------------------------------ */

/* Whether `path` names a GGUF model: ends in ".gguf" (any case) and is not a folder. */
bool eco_gguf_is_model_path(const char *path);

/* The export's tensor type. */
typedef enum eco_gguf_ftype {
    ECO_GGUF_FTYPE_F32 = 0,
    ECO_GGUF_FTYPE_F16 = 1,
    ECO_GGUF_FTYPE_Q8_0 = 7,
    ECO_GGUF_FTYPE_BF16 = 32,
} eco_gguf_ftype;

/* Writes the model at `model` (a model folder, or a .gguf) as a GGUF file at out_path,
 * atomically, with the keys and tensors above. Peak memory: one tensor's conversion.
 * EUNSUPPORTED for what llama.cpp's mapping cannot hold (named); the errors of the
 * loaders; EIO. */
eco_status eco_gguf_export(const char *model, eco_gguf_ftype type, const char *out_path);

/* Writes the model in the .gguf at `gguf` as a Hugging Face model folder in out_dir (which
 * must exist): model.safetensors (the HF-named tensors in their own dtype, q/k
 * un-permuted; Q8_0 ones as a q8_0 file stores them, safetensors.h), then tokenizer.json
 * (rebuilt) and config.json, each atomically. For the commands that need a folder's files (training, `add`). */
eco_status eco_gguf_import(const char *gguf, const char *out_dir);

/* The model config a GGUF's keys describe (checked with eco_config_validate). */
eco_status eco_gguf_model_config(const eco_gguf *g, eco_model_config *out);
/* A Hugging Face tokenizer.json text rebuilt from tokenizer.ggml.* ("gpt2": byte-level BPE;
 * "llama": SentencePiece-style): *out malloc'd (caller frees), *out_len its length. */
eco_status eco_gguf_tokenizer_json(const eco_gguf *g, char **out, size_t *out_len);

/* The HF-named tensors of a llama-family GGUF: "model.embed_tokens.weight" ...
 * eco_tensor views (F32/F16/BF16/Q8_0); q/k rows un-permuted for "llama" into copies
 * owned by the set, everything else pointing into g's mapping. g must outlive the
 * set. */
typedef struct eco_gguf_hf eco_gguf_hf;
eco_status eco_gguf_hf_open(const eco_gguf *g, eco_gguf_hf **out);
void eco_gguf_hf_free(eco_gguf_hf *h);
size_t eco_gguf_hf_count(const eco_gguf_hf *h);
/* In no particular order. */
const eco_tensor *eco_gguf_hf_get(const eco_gguf_hf *h, size_t i);

#ifdef __cplusplus
}
#endif
#endif
