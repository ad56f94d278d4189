/*
 * model_stream: what every full-model breeding operator shares (merge_model.c,
 * ops_model.c): the input folders opened by memory map and checked for compatibility, the
 * output tensors streamed one at a time (eco_safetensors_writer) in the files' data order,
 * f32 views of the inputs' tensors (zero copy for aligned f32, else widened into a buffer),
 * the inputs' pages dropped once a tensor is written, the side files, lineage.json and the
 * atomic output folder.
 *
 * Memory: the buffers hold one tensor (or one chunk of rows when the operator is
 * elementwise) per input plus its output; the mapped pages of a tensor are released after
 * it is written, so peak memory does not grow with the number of tensors. Chunked streams
 * add three 2 MB output buffers for their writer thread (the caller's thread merges the
 * next chunks while one is written).
 */
#ifndef ECO_BREEDER_MODEL_STREAM_H
#define ECO_BREEDER_MODEL_STREAM_H

#include <jansson.h>

#include "ecology/merge_dir.h"
#include "ecology/safetensors.h"

#define BREED_MAX_INPUTS (ECO_MERGE_MAX_PARENTS + 1)

/* The input folders of one operation: an optional base first, then the parents. */
typedef struct breed_inputs {
    const char *op; /* "merge", "mutate", ... (errors and the progress line) */
    size_t n;
    const char *dir[BREED_MAX_INPUTS];
    const char *role[BREED_MAX_INPUTS]; /* "base" | "parent" */
    eco_weights *w[BREED_MAX_INPUTS];
    /* the known digests of each folder's files (a verified registry checkout's manifest),
     * or NULL: its weights files are hashed for the lineage while the tensors stream */
    const eco_manifest *known[BREED_MAX_INPUTS];
    int64_t n_layers; /* the first parent's config.json */
} breed_inputs;

/* Adds a folder (borrowed). EINVAL past BREED_MAX_INPUTS. */
eco_status breed_inputs_add(breed_inputs *in, const char *dir, const char *role);
/* Adds a folder whose files' digests are known (files: borrowed, may be NULL; a weights
 * file it lacks, or lists with another size than the file's, is hashed). */
eco_status breed_inputs_add_known(breed_inputs *in, const char *dir, const char *role,
                                  const eco_manifest *files);
/* Opens every folder's weights, reads the config of the first, and refuses (EINCOMPAT) a
 * folder whose architecture, tokenizer or tensor-schema hash differs from the first one's,
 * naming the field and suggesting distill. Also EUNSUPPORTED for a tensor whose dtype is
 * not F32, BF16 or F16. */
eco_status breed_inputs_open(breed_inputs *in);
void breed_inputs_close(breed_inputs *in);

/* A tensor being produced (or one chunk of its rows). */
typedef struct breed_tensor {
    const eco_tensor *decl; /* the output's declaration (name, dtype, shape) */
    int64_t layer;          /* N of "model.layers.N.", else −1 */
    int64_t rows, cols;     /* the tensor's 2-D view (1 × n for vectors) */
    int64_t n;              /* rows · cols */
    int64_t row0, nrows;    /* this chunk: rows [row0, row0 + nrows) */
    int64_t off, len;       /* the same in elements */
} breed_tensor;

typedef struct breed_stream breed_stream;

/* Opens the output (eco_output_begin on out with the inputs' folders as inputs, force),
 * declares the first parent's tensors (in->w[first_parent]; their dtype is the output's)
 * and starts the writer. chunk_elems > 0: tensors come in chunks of whole rows of about
 * that many elements (elementwise operators), 0: whole. shard_bytes as the writer's. */
eco_status breed_stream_begin(breed_stream **out, breed_inputs *in, size_t first_parent,
                              const char *out_dir, bool force, bool progress, size_t chunk_elems,
                              uint64_t shard_bytes);
/* The next tensor or chunk (*t filled), false when all are written (or on an error, which
 * breed_stream_status returns). */
bool breed_stream_next(breed_stream *s, breed_tensor *t);
/* Input i's f32 values of the current chunk ([t.len]); NULL on error (ENOMEM, kept in s).
 * Valid until breed_stream_put. */
const float *breed_stream_input(breed_stream *s, size_t i);
/* Input i's f32 values of elements [off, off + len) of the current tensor, whichever chunk
 * is current (a pass over the whole tensor before its chunks: a magnitude selection): the
 * mapped file when it is aligned f32, else widened into dst[len]; NULL on a bad range. */
const float *breed_stream_tensor_block(breed_stream *s, size_t i, int64_t off, int64_t len,
                                       float *dst);
/* Drops the mapped pages of elements [off, off + len) of input i's current tensor, gathered
 * into runs of at least 1 MB (a block given by breed_stream_tensor_block and no longer read:
 * a pass over the whole tensor then holds a few MB of it, not the tensor). A page shared
 * with the next block stays until the run after it goes. */
void breed_stream_release_block(breed_stream *s, size_t i, int64_t off, int64_t len);
/* Drops the mapped pages of input i's whole current tensor (read again later: page faults,
 * never a wrong value). */
void breed_stream_release_tensor(breed_stream *s, size_t i);
/* Input i's f32 values of the current chunk copied into dst[t.len] (which may be the
 * output buffer), its mapped pages dropped at once. */
eco_status breed_stream_input_into(breed_stream *s, size_t i, float *dst);
/* The output buffer of the current chunk ([t.len] f32, to be filled). */
float *breed_stream_out(breed_stream *s);
/* Converts the output buffer to the output dtype, writes it and drops the pages of the
 * inputs read. */
eco_status breed_stream_put(breed_stream *s);
/* Writes input i's bytes of the current chunk unchanged (converted when its dtype is not
 * the output's) instead of the output buffer. */
eco_status breed_stream_copy(breed_stream *s, size_t i);
eco_status breed_stream_status(const breed_stream *s);
/* Copies the side files of the first parent (config.json, tokenizer files,
 * generation_config.json), writes lineage.json ({"tool", "version", "operation": {"name":
 * op_name, "params": params, "seed": seed, "result": result}, "parents": [...]}; params and
 * result borrowed) and commits the output folder; fills rep's counts. Frees s always. */
eco_status breed_stream_finish(breed_stream *s, const char *op_name, const json_t *params,
                               uint64_t seed, const json_t *result, eco_merge_dir_report *rep);
/* Removes the temporary output and frees s; NULL is fine. */
void breed_stream_abort(breed_stream *s);

/* eco_merge_models_dir with elementwise methods merged in chunks of about chunk_elems
 * elements (0: whole tensors); the same bytes whatever the chunk (tests). */
eco_status breed_merge_models_chunked(const eco_merge_dir_options *o, eco_merge_dir_report *rep,
                                      size_t chunk_elems);

/* The layer N of a name "model.layers.N....", else −1. */
int64_t breed_layer_of(const char *name);

#endif
