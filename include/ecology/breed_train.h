/*
 * breed_train: the breeding operators that train, on folders, through the existing trainer
 * (trainer.h): `finetune` continues training a bred child on its parents' data, `distill`
 * trains a student of any supported architecture from teachers whose compatibility
 * identity differs, `rl` continues an adapter with GRPO rewarded by the capabilities'
 * checkers (rl.h; no corpus) (src/breeder/finetune.c, distill_op.c, rl_op.c).
 *
 * Both write their output folder as a whole (eco_output_*: a temporary sibling renamed into
 * place; a non-empty out is refused without force; out may be no input nor hold one). The
 * folder holds the trained weights and lineage.json in merge_dir.h's format; the trainer's
 * training.json and checkpoints are not kept (they name working paths):
 *   finetune, LoRA (child is an adapter folder): adapter_config.json (the child's, so the
 *       same rank, targets and scaling) and adapter_model.safetensors, training continued
 *       from the child's A and B (eco_trainer_options.init_adapter) on base_model;
 *   finetune, full (child is a model folder): config.json, model.safetensors,
 *       tokenizer.json;
 *   distill: the student's config.json, model.safetensors, tokenizer.json;
 *   rl: adapter_config.json (the child's) and adapter_model.safetensors, eco_rl_run
 *       continuing the child (eco_rl_options.init_adapter) on base_model.
 *
 * The training data is one corpus mixed from the given JSONL files (the parents' training
 * corpora, then the hard examples): every record of every file, in file order, written
 * canonically into the working folder; the trainer shuffles it by the seed. All files must
 * be of one kind (data.h: {"prompt", "completion"} or {"text"}); EINVAL naming the first that
 * differs.
 *
 * lineage.json:
 *   {"tool": "ecology", "version": V,
 *    "operation": {"name": "finetune" | "distill",
 *                  "params": {"mode": "lora" | "full",                    (finetune)
 *                             "steps", "batch", "seq", "accum", "lr", "warmup",
 *                             "weight_decay", "clip",
 *                             "weight", "temperature", "max_tokens",     (distill)
 *                             "level": "token" | "sequence",             (distill)
 *                             "corpus": [{"sha256": H, "records": N}, ...],   (data.h's
 *                                      canonical hash of each file, in order)
 *                             "hard_examples": [{"sha256", "records"}, ...],  (finetune)
 *                             "mix_sha256": H},                          (the mixed corpus)
 *                  "seed": S,
 *                  "result": {"steps_done", "first_loss", "final_loss", "tokens",
 *                             "trainable_floats"}},
 *    "parents": [{"role": "base", "file": F, "sha256": H},
 *                {"role": "parent", "file": F, "sha256": H}, ...]}
 *   finetune LoRA: base = the base model, parent = the child adapter (adapter_model.safetensors);
 *   finetune full: parent = the child model; distill: base = the student's starting weights,
 *   parents = the teachers in order. F is the weights file name (model.safetensors, or
 *   model.safetensors.index.json when sharded), H its SHA-256: no paths.
 *
 * rl's lineage.json has the same form (parents: base = the base model, parent = the child
 * adapter) with
 *   "operation": {"name": "rl",
 *                 "params": {"capabilities": [name, ...], "steps", "batch", "group",
 *                            "micro_batch", "iterations", "lr", "warmup", "clip",
 *                            "weight_decay", "beta", "reference": "start" | "base",
 *                            "epsilon", "epsilon_high", "loss_type", "scale_rewards",
 *                            "resample", "reward_correct", "reward_format",
 *                            "length_penalty", "temperature", "top_p", "max_tokens",
 *                            "max_seq", "eval_every", "eval_n", "eval_seed"},
 *                 "seed": S,
 *                 "result": {"steps_done", "first_reward", "final_reward", "heldout_start",
 *                            "heldout_end", "zero_signal_groups", "groups", "tokens",
 *                            "prompts_used", "prompts_sha256"}}
 * every setting as the run used it (micro_batch, max_tokens and max_seq resolved from their
 * defaults), so a re-run passes them all; heldout_* are null without evaluation (eval_n 0);
 * prompts_sha256 is the rl record's (rl.h: the prompts trained on, in stream order).
 * The same inputs, options and thread count give the same bytes.
 */
#ifndef ECOLOGY_BREED_TRAIN_H
#define ECOLOGY_BREED_TRAIN_H

#include "ecology/core.h"
#include "ecology/rl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Hyper-parameters shared by finetune and distill (defaults by eco_breed_train_init). */
typedef struct eco_breed_train_params {
    int64_t steps;             /* optimiser steps, >= 1 (default 50) */
    int64_t batch;             /* default 8 */
    int64_t seq;               /* default 128 */
    int64_t accum;             /* default 1 */
    int64_t warmup;            /* default 0 */
    double lr;                 /* default 1e-3 */
    double weight_decay, clip; /* defaults 0 and 1 */
    uint64_t seed;
} eco_breed_train_params;

/* What a run did (also lineage.json's operation.result). */
typedef struct eco_breed_train_report {
    int64_t steps_done;
    double first_loss, final_loss;
    int64_t tokens;
    size_t trainable_floats;
    double seconds;
    bool lora;        /* finetune: LoRA mode */
    bool token_level; /* distill: token level (else sequence level) */
    size_t n_records; /* records of the mixed corpus */
    char mix_sha256[ECO_SHA256_HEX_LEN + 1];
} eco_breed_train_report;

typedef struct eco_breed_finetune_options {
    const char *child;          /* the child: an adapter folder (LoRA) or a model folder (full) */
    const char *base_model;     /* LoRA: the model the adapter applies to (required); full: NULL */
    const char *const *corpora; /* [n_corpora] the parents' training corpora (JSONL) */
    size_t n_corpora;
    const char *const *hard; /* [n_hard] hard examples (JSONL), may be none */
    size_t n_hard;
    eco_breed_train_params train;
    const char *out;      /* the output folder */
    const char *work_dir; /* mixed corpus and checkpoints; NULL: inside the temporary output */
    bool force;           /* replace a non-empty out */
    bool progress;
    int threads; /* <= 0 keeps the current count */
} eco_breed_finetune_options;

typedef struct eco_breed_distill_options {
    const char *const *teachers; /* [n_teachers] model folders */
    size_t n_teachers;
    const char *student; /* the student's starting model folder (any supported architecture) */
    const char *const *corpora; /* [n_corpora] JSONL files (prompts for sequence level) */
    size_t n_corpora;
    eco_breed_train_params train;
    double weight;      /* token level: the KL share (default 0.5) */
    double temperature; /* default 2 */
    int max_tokens;     /* sequence level: tokens per completion (default 64) */
    const char *out;
    const char *work_dir;
    bool force, progress;
    int threads;
} eco_breed_distill_options;

/* Held-out items per capability the rl operator evaluates by default (small: breeding is
 * quick; the registered child is evaluated by the evaluator anyway). */
#define ECO_BREED_RL_EVAL_N 50

typedef struct eco_breed_rl_options {
    const char *child;               /* the adapter folder to continue (required) */
    const char *base_model;          /* the model it applies to (required) */
    const char *const *capabilities; /* [n_capabilities] distinct capability names (tasks.h) */
    size_t n_capabilities;
    /* The loop's settings (eco_breed_rl_init: eco_rl_options_init's, eval_n
     * ECO_BREED_RL_EVAL_N): steps, batch, group, micro_batch, iterations, lr, warmup, clip,
     * weight_decay, grpo, reference, scale_rewards, resample, reward, temperature, top_p,
     * max_tokens, max_seq, seed, eval_every, eval_n, eval_seed. Its model_dir, init_adapter,
     * lora, caps, adapter_out, work_dir, force, resume, stop_after, checkpoint_every,
     * threads, progress and on_step are set from the fields of this struct. */
    eco_rl_options rl;
    const char *out;      /* the output folder */
    const char *work_dir; /* checkpoints; NULL: inside the temporary output */
    bool force;           /* replace a non-empty out */
    bool progress;
    int threads; /* <= 0 keeps the current count */
} eco_breed_rl_options;

/* What an rl run did (also lineage.json's operation.result). */
typedef struct eco_breed_rl_report {
    eco_rl_result rl;
    int64_t prompts_used;
    char prompts_sha256[ECO_SHA256_HEX_LEN + 1];
} eco_breed_rl_report;

void eco_breed_train_init(eco_breed_train_params *p);
void eco_breed_finetune_init(eco_breed_finetune_options *o);
void eco_breed_distill_init(eco_breed_distill_options *o);
void eco_breed_rl_init(eco_breed_rl_options *o);

/* Continues training o->child on the mixed corpus (see above) into o->out. EINVAL for bad
 * options (naming the option: no corpus, an adapter without base_model, out an input, ...),
 * the trainer's errors otherwise. rep may be NULL. */
eco_status eco_breed_finetune(const eco_breed_finetune_options *o, eco_breed_train_report *rep);

/* Trains o->student from the teachers (eco_distill_run: token level when the tokenizers
 * match, sequence level otherwise) on the mixed corpus into o->out. rep may be NULL. */
eco_status eco_breed_distill(const eco_breed_distill_options *o, eco_breed_train_report *rep);

/* Continues o->child with GRPO (eco_rl_run) on o->base_model, rewarded by the capabilities'
 * checkers, into o->out with lineage.json (see above). EINVAL naming the option for bad
 * options (no capability, an unknown one, a child that is not an adapter, out an input, the
 * loop's own checks), ENOTFOUND for an unknown capability name, eco_rl_run's errors
 * otherwise. rep may be NULL. */
eco_status eco_breed_rl(const eco_breed_rl_options *o, eco_breed_rl_report *rep);

/* Writes the mixed corpus of files[n] (in order) to out_path (canonical JSONL) and, per
 * file, its canonical SHA-256 and record count into entries (a JSON array of {"sha256",
 * "records"}, new reference; may be NULL). EINVAL when the files are of different kinds. */
eco_status eco_breed_mix_corpus(const char *const *files, size_t n, const char *out_path,
                                size_t *n_records, char mix_sha256[ECO_SHA256_HEX_LEN + 1],
                                struct json_t **entries);

#ifdef __cplusplus
}
#endif
#endif
