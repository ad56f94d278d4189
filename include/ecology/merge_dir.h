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
 * depend on where its parents lay. A sharded parent's entry also lists every shard its
 * index names (the index alone holds only names and sizes, the same for two models of one
 * layout):
 *     {"role": R, "file": "model.safetensors.index.json", "sha256": H,
 *      "shards": [{"file": "model-00001-of-0000n.safetensors", "sha256": H1}, ...]}
 * (sorted by file; eco_weights_lineage_entry, safetensors.h, writes every entry of a model's
 * weights). `add` links a parent only to a registered model whose manifest holds the file
 * and every listed shard with these digests; records without "shards" match by the file.
 */
#ifndef ECOLOGY_MERGE_DIR_H
#define ECOLOGY_MERGE_DIR_H

#include "ecology/contracts.h"
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
    uint64_t shard_bytes;    /* full models: tensor bytes per shard (0: 5 GB, the default) */
    /* Full models: the known SHA-256s of the folders' files for lineage.json, e.g. the
     * manifests (contracts.h: names relative to the folder) of a registry checkout, which
     * verified them (eco_breed passes the genomes' files). NULL, or a weights file a
     * manifest lacks or lists with another size than the file's: that file is hashed while
     * the tensors stream (about as much CPU as the merge itself). Borrowed. */
    const eco_manifest *base_files;
    const eco_manifest *const *parent_files; /* [n_parents] (entries may be NULL) or NULL */
} eco_merge_dir_options;

typedef struct eco_merge_dir_report {
    bool adapters;          /* the parents were adapters */
    int64_t n_tensors;      /* tensors (or adapter modules) written */
    uint64_t bytes_read;    /* parent (and base) tensor bytes read */
    uint64_t bytes_written; /* output tensor bytes */
    double seconds;
    double sync_seconds;   /* full models: of seconds, the output files' fsync and rename */
    bool concatenated;     /* adapters: exact concatenation, no SVD */
    int64_t rank;          /* adapters: rank written */
    double rel_error;      /* adapters: overall relative Frobenius error of the truncation */
    struct json_t *result; /* lineage's operation.result (owned; eco_merge_dir_report_free) */
} eco_merge_dir_report;

void eco_merge_dir_report_free(eco_merge_dir_report *rep);

/* Merges o->parents into o->out: adapters when the first parent holds adapter_config.json,
 * else full models. rep may be NULL. */
eco_status eco_merge_dir(const eco_merge_dir_options *o, eco_merge_dir_report *rep);
/* The full-model merge (merge_model.c). Parents (and the base) must agree on the
 * architecture, tokenizer and tensor-schema hashes of their compatibility identity
 * (registry.h), else EINCOMPAT naming the first field that differs (and suggesting
 * distill). base_family is not compared here: a plain folder's own base_family is the hash
 * of its weights, so two fine-tunes of one base always differ in it; the registry's breed,
 * which knows the parents' inherited base_family, compares all four. Output dtype: the
 * first parent's, per tensor. rep->result: {"kept_fraction": [per parent], "empty_tensors":
 * N} for sparsifying methods, else {}. */
eco_status eco_merge_models_dir(const eco_merge_dir_options *o, eco_merge_dir_report *rep);
/* The LoRA merge (merge_lora.c): a PEFT adapter folder any PEFT loader reads.
 * For each (layer, module) of the union of the parents' target_modules it merges the full
 * deltas ΔW_i = s_i·B_i·A_i (s_i after rank_pattern / alpha_pattern and rsLoRA; a parent
 * without the module brings zeros; ranks may differ) with params and writes them back at
 * rank R = o->rank (0: the largest parent rank; at most the largest module's min(out, in)),
 * alpha R, no rsLoRA, F32 halves:
 *  - linear and task_arithmetic: concatenation where the module's Σ r_i ≤ R (exact, no SVD;
 *    when every module is, the adapter's rank is the largest Σ r_i, not R), else the SVD of
 *    B_cat·A_cat through a QR of each half (exact SVD of ΔW at O((out+in)·(Σr)²));
 *  - every other method: ΔW_i formed, eco_merge_tensor (base NULL), truncated thin SVD.
 * Truncations split √S to both halves. rep->rel_error and result {"factorization":
 * "concatenation" | "svd", "rank", "rel_error" (√Σerr²/√Σ‖ΔW‖²), "max_rel_error", "modules":
 * {"model.layers.L.self_attn.q_proj": ‖ΔW − BA‖_F/‖ΔW‖_F, ...}} go into lineage.json
 * (params: eco_merge_params_to_json's object plus "rank": o->rank; parents: o->base as
 * "base" when given, each parent's adapter_model.safetensors as "parent").
 * Shapes: o->base (a model folder) when given, each parent checked against its config;
 * otherwise read from the parents' tensors (any llama-shaped adapter works without a base).
 * EINCOMPAT refuses parents adapting different bases (layer count, module shapes, or the
 * last path component of base_model_name_or_path) naming both; the errors of
 * eco_lora_adapter_load, eco_merge_tensor and eco_output_begin (EEXIST: out not empty
 * without force). */
eco_status eco_merge_adapters_dir(const eco_merge_dir_options *o, eco_merge_dir_report *rep);

/* ---- full-model mutate, crossover, prune (ops_model.c) ---------------------------------
 * Streamed like the merges (one tensor in memory, inputs memory-mapped, pages dropped once
 * written; output dtype the first parent's; the same compatibility refusal, EINCOMPAT
 * naming the field), each writing lineage.json with operation "mutate" | "crossover" |
 * "prune", its params, seed and result. rep->result holds the result (owned). */

/* Tensors a module list selects: "q_proj,v_proj" selects every tensor one of whose
 * dot-separated name components is q_proj or v_proj (both ...q_proj.weight and
 * ...q_proj.bias); NULL or "" selects all. */
typedef struct eco_mutate_dir_options {
    const char *parent;  /* the model folder mutated */
    double sigma;        /* σ relative to each tensor's RMS (≥ 0, finite) */
    const char *modules; /* NULL: every tensor */
    uint64_t seed;       /* each tensor draws from (seed, eco_merge_stream(name)) */
    const char *out;
    bool force, progress;
    uint64_t shard_bytes;             /* 0: the default */
    const eco_manifest *parent_files; /* known digests, as eco_merge_dir_options' (or NULL) */
} eco_mutate_dir_options;

/* w += N(0, (σ·RMS(w))²) on the selected tensors (eco_mutate_tensor), the others copied
 * byte for byte. result {"tensors": N, "mutated": K}. */
eco_status eco_mutate_model_dir(const eco_mutate_dir_options *o, eco_merge_dir_report *rep);

typedef struct eco_crossover_dir_options {
    const char *const *parents; /* [n_parents] model folders, 2 to ECO_MERGE_MAX_PARENTS */
    size_t n_parents;
    bool per_layer; /* one coin per layer (tensors outside the layers: one each) */
    uint64_t seed;  /* coin of a tensor: eco_crossover_pick(seed, eco_merge_stream(name)),
                           * of layer N: eco_crossover_pick(seed, eco_merge_stream("model.layers.N")) */
    const char *out;
    bool force, progress;
    uint64_t shard_bytes;
    const eco_manifest *const *parent_files; /* [n_parents] known digests (as
                                              * eco_merge_dir_options'), or NULL */
} eco_crossover_dir_options;

/* Each tensor (or layer) taken whole from the parent its coin picks (its bytes, converted
 * when its dtype differs from the first parent's). result {"per_layer": bool, "picks":
 * {tensor name or "model.layers.N": parent index}, "share": [fraction of tensor bytes
 * from each parent]}. */
eco_status eco_crossover_models_dir(const eco_crossover_dir_options *o, eco_merge_dir_report *rep);

typedef struct eco_prune_dir_options {
    const char *parent; /* the model folder pruned */
    const char *base;   /* NULL: prune by |w|; else by |w − θ₀|, pruned entries set to θ₀ */
    double density;     /* kept fraction in [0, 1] */
    const char *modules; /* NULL: every matrix (2-D tensor); else the tensors selected */
    const char *out;
    bool force, progress;
    uint64_t shard_bytes;
    const eco_manifest *parent_files, *base_files; /* known digests (as
                                                    * eco_merge_dir_options'), or NULL */
} eco_prune_dir_options;

/* eco_prune_magnitude on each selected tensor (unstructured, per tensor), the others
 * copied. result {"sparsity": {tensor: achieved}, "overall": achieved over the pruned
 * tensors, "pruned_tensors": K}. */
eco_status eco_prune_model_dir(const eco_prune_dir_options *o, eco_merge_dir_report *rep);

/* Whether a tensor name is selected by a module list (as eco_mutate_dir_options says). */
bool eco_module_list_selects(const char *modules, const char *tensor_name);
/* ---- LoRA extraction (extract.c) --------------------------------------------------- */

typedef struct eco_extract_options {
    const char *model; /* the fine-tuned model folder */
    const char *base;  /* the model folder it was fine-tuned from */
    int64_t rank;      /* rank cap, > 0; 0: no cap (sv_epsilon must then be > 0) */
    double sv_epsilon; /* > 0: keep only singular values > sv_epsilon (mergekit's
                        * --sv-epsilon: an absolute threshold); 0: off */
    bool strict;       /* refuse when a tensor outside the seven linear modules differs */
    const char *out;   /* the adapter folder to write (eco_output_*: atomic) */
    bool force;        /* replace a non-empty out */
    bool progress;     /* a progress line on stderr */
} eco_extract_options;

/* A LoRA adapter from a full fine-tune (mergekit's extract-lora): for each layer's seven
 * linear weights, the thin SVD of δ = W_ft − W_base (f32) keeps k = min(rank, min(out,
 * in), #{S_j > sv_epsilon}) singular values, split as √S to both halves: B = U_k diag(√S_k),
 * A = diag(√S_k) V_kᵀ. The adapter has one rank R = the largest k (modules keeping fewer are
 * padded with zero directions: PEFT needs one r per module, or a rank_pattern key each),
 * alpha R (scale 1), F32, targets the modules with any kept direction; a target kept
 * nowhere is left out. Other tensors (embeddings, norms, the head) that differ cannot be
 * carried by a LoRA: they are listed in result "not_extracted" {name: ‖δ‖_F/‖W_base‖_F}
 * (and a warning logged), or refused with strict (EUNSUPPORTED naming the first).
 * rep: adapters, n_tensors (modules), bytes, rank R, rel_error = √(Σ dropped S²/Σ S²), and
 * result {"rank", "energy" (Σ kept S²/Σ S² overall), "rel_error", "modules": {name:
 * {"rank": k, "energy": e}}, "not_extracted"}, also written to lineage.json (operation
 * "extract", params {"rank", "sv_epsilon", "strict"}, parents the base as "base" and the
 * fine-tune as "parent"). Refused: models of different architectures or shapes (EINCOMPAT,
 * naming the field or tensor); no rank and no sv_epsilon, a fine-tune whose seven linear
 * modules equal the base's (EINVAL: nothing to extract). */
eco_status eco_extract_lora_dir(const eco_extract_options *o, eco_merge_dir_report *rep);

#ifdef __cplusplus
}
#endif
#endif
