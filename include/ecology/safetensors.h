/*
 * safetensors: the Hugging Face weight format, read by memory map with zero copy.
 *
 * Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON
 *   {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *    "__metadata__": {"key": "value"}}
 * then the data buffer; offsets are relative to the start of the buffer.
 * Every rule is checked on open: header length at most ECO_SAFETENSORS_MAX_HEADER, valid
 * UTF-8 JSON, no duplicate names, known dtype, end − begin == numel × dtype size (with
 * overflow checks), ranges contiguous and non-overlapping, the last end equal to the
 * buffer size, `__metadata__` a map of strings.
 *
 * eco_weights groups one model's tensors: a single model.safetensors, or a sharded
 * checkpoint described by model.safetensors.index.json ({"weight_map": {name: file}}).
 */
#ifndef ECOLOGY_SAFETENSORS_H
#define ECOLOGY_SAFETENSORS_H

#include "ecology/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECO_SAFETENSORS_MAX_HEADER (100u * 1000u * 1000u)

typedef struct eco_safetensors eco_safetensors;

/* Maps `path` read-only and validates it. On success *out owns the mapping; tensor data
 * pointers point into it and stay valid until eco_safetensors_close. */
eco_status eco_safetensors_open(const char *path, eco_safetensors **out);
/* Validates an in-memory file image (not copied: `data` must outlive *out). `label`
 * names the source in error messages. Used by tests and the fuzz target. */
eco_status eco_safetensors_open_memory(const void *data, size_t len, const char *label,
                                       eco_safetensors **out);
void eco_safetensors_close(eco_safetensors *st);

/* Tensors in file order (ascending data offset). */
size_t eco_safetensors_count(const eco_safetensors *st);
const eco_tensor *eco_safetensors_get(const eco_safetensors *st, size_t i);
/* NULL when absent. */
const eco_tensor *eco_safetensors_find(const eco_safetensors *st, const char *name);
/* The __metadata__ value for key, or NULL. */
const char *eco_safetensors_metadata(const eco_safetensors *st, const char *key);
size_t eco_safetensors_metadata_count(const eco_safetensors *st);
/* i-th metadata pair (sorted by key). */
void eco_safetensors_metadata_at(const eco_safetensors *st, size_t i, const char **key,
                                 const char **value);
const char *eco_safetensors_path(const eco_safetensors *st);
/* The data buffer (everything after the header) and its length; owned by st. Tensor data
 * pointers lie inside [*data, *data + *len]. */
void eco_safetensors_buffer(const eco_safetensors *st, const void **data, size_t *len);
/* Says that the caller will not read the `nbytes` bytes at `data` again (a tensor it has
 * copied): when st maps a file, the whole pages inside that range and inside the mapping
 * are dropped from this process (madvise MADV_DONTNEED on a private read-only mapping:
 * they would be read back from the file if touched). A range outside st's file mapping,
 * or st opened from memory, is left alone. */
void eco_safetensors_release(const eco_safetensors *st, const void *data, size_t nbytes);

/* Writes tensors (names unique, data of each exactly nbytes) atomically to `path`, names
 * sorted, header padded with spaces (a multiple of 8 bytes) so that the data starts on a
 * 64-byte boundary of the file. `meta` holds n_meta
 * key/value string pairs (meta[2i] key, meta[2i+1] value), may be NULL. */
eco_status eco_safetensors_write(const char *path, const eco_tensor *tensors, size_t n,
                                 const char *const *meta, size_t n_meta);
/* The same file image in memory: *out is malloc'd (caller frees), *out_len its size.
 * Used by tests, fuzz seeds and anything that hashes a file before writing it. */
eco_status eco_safetensors_write_memory(const eco_tensor *tensors, size_t n,
                                        const char *const *meta, size_t n_meta, uint8_t **out,
                                        size_t *out_len);

/* ---- streaming writer: a model's tensors one at a time (safetensors_stream.c) ------- */

/* Hugging Face's default max_shard_size ("5GB", 5·10⁹ bytes of tensor data per shard). */
#define ECO_SAFETENSORS_SHARD_BYTES_DEFAULT 5000000000ull
#define ECO_SAFETENSORS_INDEX_FILE          "model.safetensors.index.json"

typedef struct eco_safetensors_writer eco_safetensors_writer;

/* Declares the tensors decl[n] (name, dtype, ndim, shape, nbytes; data is not read) of a
 * model to be written into the folder dir (which must exist), then takes their bytes one
 * tensor after another, so that no more than one tensor need be in memory. When their data
 * totals at most shard_bytes (0: ECO_SAFETENSORS_SHARD_BYTES_DEFAULT) they go to
 * dir/model.safetensors, byte for byte what eco_safetensors_write writes for the same
 * tensors and meta; otherwise to shards dir/model-0000i-of-0000n.safetensors (each one a
 * file eco_safetensors_write would write for its tensors; a new shard starts when the next
 * tensor would take the current one over shard_bytes, so a tensor larger than shard_bytes
 * has a shard of its own) plus dir/model.safetensors.index.json in Hugging Face's form
 * ({"metadata": {"total_size": N}, "weight_map": {tensor: shard}}, indent 2, sorted keys).
 * meta (n_meta key/value pairs, may be NULL) goes into every file's __metadata__. Names are
 * copied. Nothing appears under its final name before eco_safetensors_writer_commit.
 * Errors as eco_safetensors_write's, naming the file. */
eco_status eco_safetensors_writer_open(const char *dir, const eco_tensor *decl, size_t n,
                                       const char *const *meta, size_t n_meta, uint64_t shard_bytes,
                                       eco_safetensors_writer **out);
/* The declaration of the tensor whose bytes are taken next (data NULL; borrowed, valid until
 * commit or abort): the files' data order, element size descending then name, shard after
 * shard. NULL once every tensor is complete. */
const eco_tensor *eco_safetensors_writer_next(const eco_safetensors_writer *w);
/* Appends len bytes to the next tensor; a tensor may come in several pieces. EINVAL when
 * len is more than that tensor still lacks (or nothing is left to write), EIO on a failed
 * write (w is then unusable: abort it). */
eco_status eco_safetensors_writer_write(eco_safetensors_writer *w, const void *data, size_t len);
/* Once every tensor is complete (EINVAL naming the next one otherwise): flushes, fsyncs and
 * renames each file into place, the index last. Always frees w (abort on failure). */
eco_status eco_safetensors_writer_commit(eco_safetensors_writer *w);
/* Removes the temporary files and frees w; NULL is fine. */
void eco_safetensors_writer_abort(eco_safetensors_writer *w);
/* The number of files the tensors go to (1: model.safetensors, no index). */
size_t eco_safetensors_writer_shard_count(const eco_safetensors_writer *w);
/* Bytes of the files (headers and data, the index not counted), fixed at open. */
uint64_t eco_safetensors_writer_file_bytes(const eco_safetensors_writer *w);
/* The i-th tensor of the data order (the order eco_safetensors_writer_next walks), NULL past
 * the last: a caller that produces tensors ahead of the writes (another thread writing)
 * knows which comes next. Fixed from open to commit. */
const eco_tensor *eco_safetensors_writer_tensor(const eco_safetensors_writer *w, size_t i);

/* ---- a model's weights, single file or sharded ------------------------------------ */

typedef struct eco_weights eco_weights;

/* Opens `dir`/model.safetensors.index.json when present (every shard it names must be a
 * plain file name inside dir, every tensor listed must be in its shard, no tensor in two
 * shards), else `dir`/model.safetensors. `path` may also name a .safetensors file,
 * or a llama-family .gguf (its tensors under their HF names: eco_gguf_hf_open, gguf.h).
 *
 * q8_0 weights (tensor.h): safetensors has no such dtype, so a file (or shard) whose
 * `__metadata__` says "quantization": "q8_0" stores each q8_0 matrix as dtype U8 of shape
 * [d0, ..., (dn/32)·34] (its rows' 34-byte GGUF Q8_0 blocks, row after row), and every
 * U8 tensor of such a file is one: eco_weights hands it out as a Q8_0 tensor of the
 * logical shape [d0, ..., dn] (same bytes, no copy). Refused (EFORMAT, naming the file and
 * tensor): another "quantization" value; a U8 tensor of no dimensions or whose last
 * dimension is not a whole number (> 0) of 34-byte blocks. Other dtypes in such a file
 * (f32 norms, a matrix left unquantized) are as usual. eco_quantize_dir (quantize.h)
 * writes such folders. */
#define ECO_Q8_0_META_KEY "quantization"
/* The storage view of a Q8_0 tensor t (its blocks as U8 [d0, ..., dn/32·34], for writing
 * with the metadata ECO_Q8_0_META_KEY = "q8_0"); any other tensor unchanged. */
eco_tensor eco_q8_0_storage_view(const eco_tensor *t);
eco_status eco_weights_open(const char *path, eco_weights **out);
void eco_weights_close(eco_weights *w);
size_t eco_weights_count(const eco_weights *w);
/* EFORMAT "<dir>/config.json: num_hidden_layers: L, but the weights hold N layers" unless
 * the "model.layers.<i>." tensors number exactly n_layers layers (1 + the largest i). */
eco_status eco_weights_check_layers(const eco_weights *w, const char *dir, int64_t n_layers);
/* Sorted by name. */
const eco_tensor *eco_weights_get(const eco_weights *w, size_t i);
const eco_tensor *eco_weights_find(const eco_weights *w, const char *name);
/* Total bytes of tensor data. */
size_t eco_weights_nbytes(const eco_weights *w);
/* Number of safetensors files opened (1 for a single file). */
size_t eco_weights_shard_count(const eco_weights *w);
/* eco_safetensors_release for a tensor of w (in whichever shard holds it). */
void eco_weights_release(const eco_weights *w, const eco_tensor *t);

/* ---- the digests that identify a folder's weights (weights_digest.c) ---------------- */

/* The files that identify folder dir's weights: {ECO_SAFETENSORS_INDEX_FILE, then every
 * shard its weight_map names, sorted, distinct} when dir holds the index, else
 * {"model.safetensors"}; ENOTFOUND when neither is there, EFORMAT for an index that is not
 * JSON, has no weight_map object, or names a shard that is not a plain file name. *names
 * (n strings) malloc'd: eco_weights_files_free. */
eco_status eco_weights_files(const char *dir, char ***names, size_t *n);
void eco_weights_files_free(char **names, size_t n);
/* A new lineage parent entry (merge_dir.h) for folder dir's weights:
 *   {"role": role, "file": F, "sha256": H}                        a single file, or
 *   {"role": role, "file": ECO_SAFETENSORS_INDEX_FILE, "sha256": H,
 *    "shards": [{"file": S, "sha256": H}, ...]}                   a sharded folder
 * (the files of eco_weights_files, in its order). names, hex: those files (n) and their
 * digests, already computed (the caller hashed them in parallel; borrowed), or both NULL to
 * list and hash them here. *out owned by the caller. */
eco_status eco_weights_lineage_entry(const char *dir, const char *role, const char *const *names,
                                     const char *const *hex, size_t n, struct json_t **out);
/* One SHA-256 naming folder dir's weights: model.safetensors' digest, or for a sharded
 * folder the digest of the sha256sum-style lines "H  F\n" of the index then each shard
 * (eco_weights_files' order). */
eco_status eco_weights_digest(const char *dir, char out[ECO_SHA256_HEX_LEN + 1]);

#ifdef __cplusplus
}
#endif
#endif
