/*
 * trainer: the training loop on top of train.h and data.h, and distillation runs.
 *
 * eco_trainer_run takes a base model folder and a JSONL corpus and runs `steps` optimiser
 * steps, each over `accum` micro-batches of [batch, seq] tokens from an eco_data_loader
 * (shuffled by seed; packing AUTO unless set): forward, backward with grad_scale 1/accum,
 * then eco_train_step (global-norm clipping, warm-up + cosine, AdamW). The loss of a step
 * is the mean of its micro-batch losses.
 *
 * The output folder is the adapter folder in LoRA mode (adapter_out, else out_dir) and
 * out_dir in full mode. It may not be the base model's folder nor hold it, and one that
 * holds anything but its working folder .work is refused (EEXIST) unless force, or resume
 * with a checkpoint to resume from (eco_trainer_output_check, checked before any work).
 * Working files, in work_dir (default <output folder>/.work, created):
 *   checkpoint.safetensors  eco_train_checkpoint_save: params, AdamW moments, eco_train_state
 *                           (data_position = loader epoch << 32 | row), written atomically
 *                           every checkpoint_every steps and at the end of every call.
 *   checkpoint.json         canonical JSON: the run's identity ("run": base, data, every
 *                           hyper-parameter) and the step and loss of the last checkpoint.
 *                           A resume whose run differs is refused naming the first field
 *                           that differs.
 * The result, when the run finishes, written into a temporary sibling of the output folder
 * and renamed into place (eco_output_commit; .work moves along), so the output folder never
 * holds half a result:
 *   config.json, model.safetensors, tokenizer.json   full mode (eco_train_save_model;
 *                           tokenizer.json copied from the base).
 *   adapter_config.json, adapter_model.safetensors   LoRA mode (PEFT layout,
 *                           eco_train_save_lora).
 *   training.json           canonical JSON {"tool", "version", "run"
 *                           (as in checkpoint.json), "threads", "steps_done", "final_loss",
 *                           "trainable_floats"}; "run" holds base.path, base.model_sha256
 *                           (eco_weights_digest: model.safetensors' SHA-256, or one
 *                           over a sharded base's index and shards), data.path,
 *                           data.sha256 (the corpus's canonical hash, data.h), the record
 *                           and token counts, and all hyper-parameters. No timings, so the
 *                           same inputs, seed and thread count give the same bytes.
 *
 * Resume: with opt->resume and a checkpoint in place, the weights, AdamW state, step,
 * dropout counter and data position are restored and the run continues; it ends
 * bit-identical to an uninterrupted run with the same options and thread count. Without a
 * checkpoint a resume starts from step 0. stop_after > 0 stops once that many steps are
 * done (checkpoint written, no result): a planned interruption, used by the tests.
 *
 * Recipes (a JSON file naming a model or adapter, its data and hyper-parameters, run
 * through eco_trainer_run) are the tasks module's: include/ecology/recipe.h.
 */
#ifndef ECOLOGY_TRAINER_H
#define ECOLOGY_TRAINER_H

#include "ecology/config.h"
#include "ecology/core.h"
#include "ecology/data.h"
#include "ecology/peft.h"
#include "ecology/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the loop reports after every optimiser step (for progress lines and tests). */
typedef struct eco_trainer_step_info {
    int64_t step; /* steps done, 1-based */
    int64_t total_steps;
    double loss;      /* mean over the step's micro-batches */
    double grad_norm; /* before clipping */
    double lr;
    int64_t tokens; /* input tokens of the step (accum · batch · seq) */
} eco_trainer_step_info;

typedef struct eco_trainer_options {
    const char *model_dir;   /* base model folder (config.json, weights, tokenizer.json) */
    const char *data_path;   /* JSONL corpus (data.h) */
    const char *out_dir;     /* the output folder: the model and training.json (full mode;
                                 * LoRA mode when adapter_out is NULL) */
    const char *adapter_out; /* LoRA mode: the adapter folder (adapter and training.json);
                                 * NULL → out_dir */
    const char *work_dir;    /* checkpoints; NULL → <output folder>/.work (ECO_WORK_DIR) */
    bool force;              /* replace an output folder that holds more than .work */
    eco_train_mode mode;
    eco_peft_config lora; /* LoRA mode; base_model_name_or_path defaults to model_dir */
    int64_t steps;        /* optimiser steps, >= 1 */
    int64_t batch, seq;   /* rows per micro-batch, tokens per row */
    int64_t accum;        /* micro-batches per step, >= 1 */
    double lr, min_lr_ratio, weight_decay, grad_clip, beta1, beta2, eps;
    int64_t warmup;
    uint64_t seed; /* shuffling, LoRA initialisation and dropout */
    eco_data_pack pack;
    bool doc_mask;            /* each packed example attends only to itself, positions from 0
                                 * (eco_data_loader_next_pos, eco_train_forward_pos; `forward`
                                 * below gets the positions) */
    int threads;              /* <= 0 keeps the current count */
    int64_t checkpoint_every; /* 0: only at the end of the call */
    bool resume;
    int64_t stop_after;      /* 0: none */
    bool progress;           /* progress line on stderr (eco_progress) */
    const char *recipe_path; /* recorded in training.json with its SHA-256 when set */
    void (*on_step)(void *ctx, const eco_trainer_step_info *info);
    void *on_step_ctx;
    /* Another loss (distillation): when set, each micro-batch's forward pass with its loss
     * is forward(ctx, ...) instead of eco_train_forward's cross-entropy; the backward pass,
     * optimiser, checkpoints and resume are the trainer's. inputs/targets/positions [batch,
     * seq], targets -1 where masked, positions NULL without doc_mask; *loss the micro-batch's
     * mean loss. */
    eco_status (*forward)(void *ctx, eco_train_model *m, const int32_t *inputs,
                          const int32_t *targets, const int32_t *positions, int64_t batch,
                          int64_t seq, float *loss);
    void *forward_ctx;
    /* Keys added to the run's identity in training.json and checkpoint.json (may be NULL;
     * e.g. {"distill": {...}}), so that a resume with other settings is refused. */
    const struct json_t *run_extra;
    /* LoRA mode: start from this saved adapter's A and B (eco_train_load_lora) instead of
     * the seeded initialisation, e.g. to continue training a bred child; lora must be the
     * adapter's configuration (eco_peft_config_load). NULL: a fresh adapter. The run's
     * identity records "init": {"adapter_sha256"} of its adapter_model.safetensors, and the
     * output folder may not be this folder. */
    const char *init_adapter;
} eco_trainer_options;

/* Defaults: full mode, steps 100, batch 4, seq 128, accum 1, lr 1e-3, min_lr_ratio 0.1,
 * weight_decay 0.01, clip 1.0, betas 0.9/0.999, eps 1e-8, warmup 0, seed 0, pack AUTO, LoRA
 * r 8 alpha 16 on q and v. Paths NULL. */
void eco_trainer_options_init(eco_trainer_options *opt);

typedef struct eco_trainer_result {
    bool finished;      /* steps reached and the result written */
    bool resumed;       /* started from a checkpoint */
    int64_t start_step; /* steps done when this call began */
    int64_t steps_done; /* steps done when it ended */
    double first_loss;  /* loss of the first step run in this call (NaN: none) */
    double final_loss;  /* loss of the last step (NaN when unknown) */
    int64_t tokens;     /* input tokens processed in this call */
    double seconds;     /* wall time of the loop */
    size_t trainable_floats;
    char base_sha256[ECO_SHA256_HEX_LEN + 1];
    char corpus_sha256[ECO_SHA256_HEX_LEN + 1];
} eco_trainer_result;

/* The output folder's rules above, checked before any work: EINVAL when the output folder
 * is opt's model_dir or one of inputs (n_inputs, e.g. teachers; NULL entries skipped) or
 * holds one, or when work_dir lies inside it other than as its .work; EEXIST when it holds
 * more than .work and neither force nor resume with a checkpoint in the working folder
 * allows replacing it. eco_trainer_run, eco_distill_run and eco_recipe_run call it. */
eco_status eco_trainer_output_check(const eco_trainer_options *opt, const char *const *inputs,
                                    size_t n_inputs);

/* Runs training as described above. EINVAL naming the option for bad options (and for a
 * resume whose checkpoint belongs to another run), errors of the model, corpus, tokenizer
 * and file writes otherwise. *res (may be NULL) is filled on success. */
eco_status eco_trainer_run(const eco_trainer_options *opt, eco_trainer_result *res);

/* The pieces of a run that trains, shared by eco_trainer_run and the rl loop (rl.h):
 *
 * eco_trainer_checkpoint_write: work_dir/checkpoint.safetensors (eco_train_checkpoint_save)
 *   and work_dir/checkpoint.json, canonical {"run": run, "step": the model's step, "loss":
 *   last_loss or null}, each written atomically (the folder must exist).
 * eco_trainer_checkpoint_restore: when work_dir holds a checkpoint, checks that its
 *   checkpoint.json's "run" equals run (EINVAL "belongs to another run ('FIELD' differs)"
 *   naming the first field that differs) and loads it into m; *resumed says whether it did
 *   (false, OK, with no checkpoint: the run starts from step 0), *last_loss the loss
 *   recorded with it (NaN when unknown).
 * eco_trainer_commit: out_dir written whole (a temporary sibling renamed into place; its
 *   .work moves along; replacing it must have been allowed by eco_trainer_output_check): the
 *   adapter (LoRA mode) or the model and model_dir's tokenizer.json (full mode), and record
 *   as training.json (canonical JSON). */
eco_status eco_trainer_checkpoint_write(eco_train_model *m, const char *work_dir,
                                        const struct json_t *run, double last_loss);
eco_status eco_trainer_checkpoint_restore(eco_train_model *m, const char *work_dir,
                                          const struct json_t *run, bool *resumed,
                                          double *last_loss);
eco_status eco_trainer_commit(eco_train_model *m, const char *out_dir, const char *model_dir,
                              const struct json_t *record);

/* Loads a saved adapter (PEFT folder) into a LoRA-mode training model built with the same
 * adapter configuration: every trainable A and B is replaced by the file's (converted to
 * f32). EINVAL in full mode; EFORMAT naming the tensor when shapes or ranks differ. */
eco_status eco_train_load_lora(eco_train_model *m, const char *dir);

/* The loss and the gradient of every trainable tensor on the first batch of data_path
 * (file order, no shuffling, no dropout), written to out_path as safetensors: one f32 tensor
 * per trainable parameter, named as the parameter table names it, plus "input_ids" and
 * "labels" (I32 [batch, seq]; labels −100 where masked); metadata "loss" (%.9g), "batch",
 * "seq", "mode". With adapter_dir the model is a LoRA model initialised from that adapter
 * (its own configuration), so the gradients are those of its A and B. With doc_mask each
 * example packed into a row attends only to itself (as the trainer's doc_mask) and the file
 * also holds "position_ids" (I32 [batch, seq]: each token's position in its example, the
 * padding after the last one counting as one more) and metadata "doc_mask" "true". A
 * Hugging Face model keeps packed examples apart by position_ids only with flash
 * attention 2 (DataCollatorWithFlattening); with sdpa or eager attention, compare against
 * a block-diagonal causal mask built from them.
 * *loss may be NULL. */
eco_status eco_trainer_grads(const char *model_dir, const char *adapter_dir, const char *data_path,
                             int64_t batch, int64_t seq, bool doc_mask, const char *out_path,
                             double *loss);

/* ---- distillation runs (distill_run.c) -------------------------------------------------
 *
 * eco_distill_run trains the student (train.model_dir, full mode) from one or more teacher
 * folders on train.data_path, writing config.json, model.safetensors, tokenizer.json and
 * training.json to train.out_dir like eco_trainer_run's full mode.
 *   Same tokenizer (eco_distill_same_tokenizer with every teacher): token level,
 *   eco_trainer_run with a forward hook: each micro-batch goes through the teachers
 *   (eco_distill_teacher_logits_model) and the student trains on eco_train_forward_distill's
 *   mix with weight and temperature; with train.doc_mask teachers and student see each
 *   packed example alone (the teachers run each one from position 0, the student through
 *   eco_train_forward_distill_pos). training.json's "run" records "distill": {"level":
 *   "token", teachers, weight, temperature}. Checkpoints, resume and stop_after as in
 *   eco_trainer_run (a resume with other teachers or settings is refused).
 *   Different tokenizers: sequence level, eco_distill_generate_jsonl from the teachers
 *   (max_tokens) into the working folder's distill.jsonl (train.work_dir, default
 *   out_dir/.work), then eco_trainer_run in full mode on it; training.json's "run" records
 *   "distill": {"level": "sequence", teachers, max_tokens}.
 * The output folder is checked first (eco_trainer_output_check: neither the student nor a
 * teacher; not replaced without force or a checkpoint to resume). EINVAL for no teachers, weight outside [0, 1], temperature not > 0, LoRA mode. */
typedef struct eco_distill_run_options {
    eco_trainer_options train;   /* student, data, out, hyper-parameters */
    const char *const *teachers; /* teacher folders */
    size_t n_teachers;
    double weight;      /* default 0.5 */
    double temperature; /* default 2.0 */
    int max_tokens;     /* sequence level: new tokens per completion, default 64 */
} eco_distill_run_options;

void eco_distill_run_options_init(eco_distill_run_options *o);
/* *token_level (may be NULL) says which level ran; *res (may be NULL) as eco_trainer_run. */
eco_status eco_distill_run(const eco_distill_run_options *o, bool *token_level,
                           eco_trainer_result *res);

#ifdef __cplusplus
}
#endif
#endif
