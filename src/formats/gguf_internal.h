/* The GGUF model mapping's pieces shared by export and import (formats module only). */
#ifndef ECOLOGY_FORMATS_GGUF_INTERNAL_H
#define ECOLOGY_FORMATS_GGUF_INTERNAL_H

#include "ecology/gguf.h"

/* Per-layer tensor names: HF suffix after "model.layers.N." ↔ GGUF suffix after "blk.N.". */
typedef struct gguf_name_pair {
    const char *hf;
    const char *gguf;
} gguf_name_pair;
extern const gguf_name_pair gguf_layer_names[];
extern const size_t gguf_n_layer_names;

/* The GGUF name of an HF tensor name (or the reverse when to_hf), into out[cap]; false
 * when the name is not one the mapping knows. */
bool gguf_map_name(const char *name, bool to_hf, char *out, size_t cap);

/* Reorders the rows of a q or k projection (or bias) of n_head heads of hd rows each:
 * to_gguf: HF's rotate_half order → llama.cpp's interleaved pairs
 *   (dst row h·hd + 2i + j = src row h·hd + j·hd/2 + i); else the inverse. */
void gguf_permute_rows(void *dst, const void *src, int64_t n_head, int64_t hd, size_t row_bytes,
                       bool to_gguf);

/* llama3 rope scaling as llama.cpp stores it: out[head_dim/2] = the factor each frequency
 * is divided by (convert_hf_to_gguf.py's rope_freqs: 1 above the high-frequency
 * wavelength, `factor` below the low one, the smooth blend between). */
void gguf_llama3_rope_factors(const eco_model_config *cfg, float *out);

/* Adds the tokenizer.ggml.* keys for a byte-level BPE tokenizer.json text. */
eco_status gguf_put_tokenizer(eco_gguf_writer *w, const char *json, size_t len, const char *label,
                              const eco_model_config *cfg);

#endif
