/*
 * merge_dir: parameter-level breeding of model and adapter folders (the arithmetic is
 * merge.h's; src/breeder/merge_model.c for full models, merge_lora.c for LoRA adapters).
 *
 * Full models are merged tensor by tensor with the parents memory-mapped: a merge holds at
 * most the parents' f32 copies of one tensor and its output, and drops each parent's pages
 * once read, so peak memory does not grow with the model. LoRA adapters are merged on each
 * module's full delta ΔW = s·B·A and factored back to the target rank by truncated SVD (or
 * concatenated where that is exact).
 *
 * Every folder written here holds lineage.json (ECO_LINEAGE_FILE) so that `add` registers
 * it with its lineage:
 *   {"tool": "ecology", "version": V,
 *    "operation": {"name": "merge" | "mutate" | "crossover" | "prune" | "extract" | ...,
 *                  "params": {...every input parameter, the merge's as
 *                             eco_merge_params_to_json writes them...},
 *                  "seed": S,
 *                  "result": {...what was measured: truncation errors, sparsity...}},
 *    "parents": [{"role": "base", "file": F, "sha256": H},      (θ₀, when one is used)
 *                {"role": "parent", "file": F, "sha256": H}, ...]}   (in order)
 * F is the parent's weights file name (model.safetensors, model.safetensors.index.json or
 * adapter_model.safetensors), H its SHA-256: no paths, so the bytes of the child do not
 * depend on where its parents lay.
 */
#ifndef ECOLOGY_MERGE_DIR_H
#define ECOLOGY_MERGE_DIR_H

#include "ecology/merge.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eco_merge_dir_options {
    const char *base;           /* θ₀: a model folder, or NULL */
    const char *const *parents; /* [n_parents] folders: all models or all adapters */
    size_t n_parents;
    eco_merge_params params; /* params.n_parents == n_parents */
    int64_t rank;            /* adapters: target rank (0: the largest parent rank) */
    const char *out;         /* the child's folder (eco_output_*: atomic) */
    bool force;              /* replace a non-empty out */
    bool progress;           /* a progress line on stderr */
} eco_merge_dir_options;

typedef struct eco_merge_dir_report {
    bool adapters;          /* the parents were adapters */
    int64_t n_tensors;      /* tensors (or adapter modules) written */
    uint64_t bytes_read;    /* parent (and base) tensor bytes read */
    uint64_t bytes_written; /* output tensor bytes */
    double seconds;
    bool concatenated;     /* adapters: exact concatenation, no SVD */
    int64_t rank;          /* adapters: rank written */
    double rel_error;      /* adapters: overall relative Frobenius error of the truncation */
    struct json_t *result; /* lineage's operation.result (owned; eco_merge_dir_report_free) */
} eco_merge_dir_report;

void eco_merge_dir_report_free(eco_merge_dir_report *rep);

/* Merges o->parents into o->out: adapters when the first parent holds adapter_config.json,
 * else full models. rep may be NULL. */
eco_status eco_merge_dir(const eco_merge_dir_options *o, eco_merge_dir_report *rep);
/* The full-model merge (merge_model.c). */
eco_status eco_merge_models_dir(const eco_merge_dir_options *o, eco_merge_dir_report *rep);
/* The LoRA merge (merge_lora.c): a PEFT adapter folder any PEFT loader reads. */
eco_status eco_merge_adapters_dir(const eco_merge_dir_options *o, eco_merge_dir_report *rep);

#ifdef __cplusplus
}
#endif
#endif
