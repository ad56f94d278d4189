/*
 * quantize: a model folder → a q8_0 model folder (breeder module, src/breeder/quantize.c).
 *
 * Every 2-D float tensor (F32, BF16, F16) whose last dimension is a multiple of 32 becomes
 * q8_0: GGUF's Q8_0 blocks, byte for byte ggml's quantize_row_q8_0_ref (tensor.h), stored
 * as U8 [rows, cols/32·34] in safetensors files whose __metadata__ holds
 * "quantization": "q8_0" (the layout eco_weights reads back as Q8_0 tensors of the
 * logical shape; safetensors.h). That covers the projections, lm_head and the token
 * embedding (as llama.cpp's Q8_0 files do: a tied head is the embedding). Vectors (norms,
 * biases) and any matrix whose columns are not whole blocks stay as they are; tensors
 * already Q8_0 are copied as they are. The weights are streamed tensor by tensor, a row at
 * a time (eco_safetensors_writer: model.safetensors, or 5 GB shards and their index past
 * that), so memory does not grow with the model.
 *
 * The folder (written beside `out` and renamed into place: eco_output_*) holds the
 * weights, the input's config.json and tokenizer files, and lineage.json (merge_dir.h's
 * format) with operation {"name": "quantize", "params": {"type": "q8_0"}, "seed": 0,
 * "result": {...the report's counts and errors...}} and one parent {"role": "parent",
 * "file": its weights file, "sha256": ...}.
 */
#ifndef ECOLOGY_QUANTIZE_H
#define ECOLOGY_QUANTIZE_H

#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eco_quantize_options {
    const char *model; /* the input model folder */
    const char *type;  /* "q8_0" (the only type) */
    const char *out;   /* the new folder */
    bool force;        /* replace a non-empty out (never an input) */
    bool progress;     /* a progress line on stderr */
} eco_quantize_options;

typedef struct eco_quantize_report {
    int64_t n_tensors;    /* tensors written */
    int64_t n_quantized;  /* of which made q8_0 here */
    uint64_t params_q8_0; /* weights made q8_0 here */
    uint64_t bytes_in;    /* input tensor bytes */
    uint64_t bytes_out;   /* output tensor bytes */
    double rel_rms_error; /* sqrt(Σ(w − ŵ)² / Σw²) over the weights made q8_0 */
    double max_abs_error; /* largest |w − ŵ| */
    double seconds;
} eco_quantize_report;

/* Quantizes o->model into o->out as above. EINVAL for an unknown type ("q8_0" only) and
 * the errors of eco_output_begin (out an input, out not empty without force), of reading
 * the model (no config.json, malformed weights) and of writing. rep may be NULL. */
eco_status eco_quantize_dir(const eco_quantize_options *o, eco_quantize_report *rep);

#ifdef __cplusplus
}
#endif
#endif
