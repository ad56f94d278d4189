/*
 * recipe: training recipes, the part of the tasks module that orchestrates data (text
 * files, the capability suite of tasks.h, drills) and the trainer (trainer.h) into one run.
 * src/tasks/recipe.c.
 *
 * A recipe describes pretraining from scratch in one JSON file:
 *
 *   {"name": "eco-tiny",
 *    "base": {"preset": "tiny", "hidden_size": 256, "num_hidden_layers": 4, ...},
 *    "tokenizer": "bytes",
 *    "data": [{"path": "../corpus/moby-dick.txt", "weight": 1, "chunk_bytes": 1024},
 *             {"capability": "arith.add@1", "n": 2000, "seed": 1}],
 *    "steps": 1000, "batch": 8, "seq": 256, "accum": 1, "lr": 0.003, "warmup": 50,
 *    "weight_decay": 0.1, "clip": 1.0, "min_lr_ratio": 0.1, "seed": 1,
 *    "out": "../models/eco-tiny"}
 *
 *   base       "preset" (required) names a starting configuration; these keys override
 *              it: hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
 *              num_key_value_heads, head_dim (default hidden/heads), max_position_embeddings,
 *              rope_theta, rms_norm_eps, tie_word_embeddings; "init_std" (default 0.02)
 *              is the standard deviation of the random matrices (eco_model_create_random_std).
 *   tokenizer  "bytes": the project's byte tokenizer, vocab 259, BOS 256, EOS 257; or a
 *              tokenizer.json file: {"path": "../tokenizers/x/tokenizer.json", "sha256":
 *              "<64 hex digits of the file>", "bos": "<|bos|>", "eos": "<|eos|>"} (bos and
 *              eos default to those names; both must be special tokens of the file). The
 *              file must have that SHA-256 (EFORMAT naming both digests otherwise); the
 *              vocabulary size is the tokenizer's, and the model folder ships a copy.
 *   data       sources, all turned into {"text"} records of one corpus, in source order:
 *              a text file ("path", UTF-8; "\r\n" → "\n") cut at blank lines into chunks of
 *              at most chunk_bytes (default 1024; a longer paragraph is cut at a line or
 *              space), taken `weight` times (0 < weight <= 100; a fraction takes that share
 *              of the chunks, from the start); or a capability ("capability", "n" items of
 *              the TRAIN split with "seed", default 0; optional "augment": {"word_dropout": 0..0.9,
 *              "join": 0..1} for the capabilities built on free text, see
 *              eco_tasks_augment) as prompt + completion text; or a
 *              drill ("drill": "drill.recall" | "drill.copy" | "drill.digits", "n", "seed":
 *              eco_drills_generate's texts, one record each).
 *   steps, batch, seq, lr, seed are required; accum (1), warmup (0), weight_decay (0.1),
 *   clip (1.0), min_lr_ratio (0.1), doc_mask (false: examples packed into one row see each
 *   other; true: each sees only itself, from position 0) are optional. out is optional
 *   (the CLI may give it).
 * Relative paths resolve against the recipe file's folder. Unknown keys, wrong types and
 * values out of range are EFORMAT naming the field ("recipe.json: data[1].n: ...").
 * eco_recipe_run writes out/.work/{init/, corpus.jsonl, checkpoint.*} and runs the trainer
 * in full mode with out as out_dir.
 *
 * "kind" is "pretrain" (the default, above) or "lora": a LoRA adapter trained on a saved
 * model, with the same parser and the same hyper-parameter keys:
 *
 *   {"name": "adapter-arith.add@1", "kind": "lora",
 *    "base": {"model": "../models/eco-tiny"},
 *    "lora": {"r": 8, "alpha": 16, "targets": ["q", "k", "v", "o", "gate", "up", "down"],
 *             "dropout": 0.0, "rslora": false},
 *    "data": [{"capability": "arith.add@1", "n": 4000, "seed": 1}],
 *    "steps": 300, "batch": 8, "seq": 128, "lr": 0.003, "seed": 1,
 *    "out": "../adapters/arith.add@1"}
 *
 *   base       {"model": folder} only (config, weights and tokenizer come from it; no
 *              "tokenizer" key).
 *   lora       r (1..65536, default 8), alpha (> 0, default 16), targets (required: a
 *              non-empty array of distinct names among q, k, v, o, gate, up, down or their
 *              q_proj ... down_proj forms), dropout ([0, 1), default 0), rslora (false).
 *              The adapter's base_model_name_or_path is the last component of base.model,
 *              so the adapter's bytes do not depend on where the recipe is run from.
 *   data       capabilities only; their TRAIN items become {"prompt", "completion"}
 *              records (loss on the completion only).
 * eco_recipe_run writes out/.work/{corpus.jsonl, checkpoint.*} and runs the trainer in LoRA
 * mode: adapter_config.json, adapter_model.safetensors and training.json land in out.
 */
#ifndef ECOLOGY_RECIPE_H
#define ECOLOGY_RECIPE_H

#include "ecology/config.h"
#include "ecology/core.h"
#include "ecology/peft.h"
#include "ecology/tasks.h"
#include "ecology/trainer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECO_RECIPE_MAX_SOURCES 64

typedef struct eco_recipe_source {
    char *path; /* text file, resolved; NULL for a capability or a drill */
    double weight;
    int64_t chunk_bytes;
    char capability[64]; /* "" for a text file or a drill */
    char drill[32];      /* "drill.recall" etc. (pretrain only); "" otherwise */
    int64_t n;
    uint64_t seed;
    bool augmented;           /* a capability's "augment" object was given */
    eco_task_augment augment; /* its word_dropout and join (eco_tasks_augment) */
} eco_recipe_source;

typedef enum eco_recipe_kind {
    ECO_RECIPE_PRETRAIN = 0, /* a model from scratch */
    ECO_RECIPE_LORA = 1      /* an adapter on base_model */
} eco_recipe_kind;

typedef struct eco_recipe {
    char name[64];
    eco_recipe_kind kind;
    char preset[32];
    eco_model_config config; /* pretrain: preset + overrides + the tokenizer's vocab, BOS, EOS */
    double init_std;         /* pretrain: "base": {"init_std"} (default 0.02), see
                               * eco_model_create_random_std */
    char *base_model;        /* lora: the base model folder, resolved */
    eco_peft_config lora;    /* lora: the adapter configuration */
    size_t n_sources;
    eco_recipe_source sources[ECO_RECIPE_MAX_SOURCES];
    int64_t steps, batch, seq, accum, warmup;
    double lr, weight_decay, clip, min_lr_ratio;
    uint64_t seed;
    bool doc_mask;        /* "doc_mask" (default false): see eco_trainer_options */
    char *out;            /* resolved; NULL when the recipe has none */
    char *path;           /* the recipe file; NULL when parsed from memory */
    char *tokenizer_path; /* pretrain with a tokenizer.json (resolved); NULL: "bytes" */
    char tokenizer_sha256[ECO_SHA256_HEX_LEN + 1]; /* its SHA-256 as checked; "" for bytes */
} eco_recipe;

/* Parses recipe JSON (label names it in messages; base_dir resolves relative paths, NULL:
 * the current folder). EFORMAT naming the field for anything malformed. Caller frees *out
 * with eco_recipe_free. */
eco_status eco_recipe_parse(const char *json, size_t len, const char *label, const char *base_dir,
                            eco_recipe **out);
eco_status eco_recipe_load(const char *path, eco_recipe **out);
void eco_recipe_free(eco_recipe *r);
/* Writes the recipe's corpus (JSONL, canonical, one record a line: {"text"} for pretraining,
 * {"prompt", "completion"} for lora) atomically to jsonl_path. *n_records may be NULL. */
eco_status eco_recipe_build_corpus(const eco_recipe *r, const char *jsonl_path, size_t *n_records);
/* Where and how eco_recipe_run runs: out_dir NULL → the recipe's "out"; work_dir NULL →
 * out/.work; threads <= 0 keeps the current count; resume, force and progress as in
 * eco_trainer_options. */
typedef struct eco_recipe_run_options {
    const char *out_dir;
    const char *work_dir;
    int threads;
    bool resume, force, progress;
} eco_recipe_run_options;

/* Pretrains: random init (seed) into WORK/init, corpus into WORK/corpus.jsonl (WORK the
 * working folder, default out/.work), then eco_trainer_run in full mode into out (EINVAL
 * when neither opt->out_dir nor the recipe names it). A lora recipe: corpus into
 * WORK/corpus.jsonl, then eco_trainer_run in LoRA mode from base_model with the adapter
 * and training.json in out. The output folder is checked (eco_trainer_output_check)
 * before anything is written. opt may be NULL (all defaults). */
eco_status eco_recipe_run(const eco_recipe *r, const eco_recipe_run_options *opt,
                          eco_trainer_result *res);

#ifdef __cplusplus
}
#endif
#endif
