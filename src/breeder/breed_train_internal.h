/*
 * breed_train_internal: the pieces finetune.c, distill_op.c and rl_op.c share (breed_train.c).
 */
#ifndef ECO_BREEDER_BREED_TRAIN_INTERNAL_H
#define ECO_BREEDER_BREED_TRAIN_INTERNAL_H

#include <jansson.h>

#include "ecology/breed_train.h"

/* Appends {"role", "file", "sha256"} for dir's weights file (adapter_model.safetensors,
 * model.safetensors or model.safetensors.index.json, the first present) to parents. */
eco_status breed_weights_entry(const char *dir, const char *role, json_t *parents);
/* v as a JSON real, or null when not finite (new reference). */
json_t *breed_real(double v);
/* The hyper-parameters as lineage params (new reference; NULL when out of memory). */
json_t *breed_train_params_json(const eco_breed_train_params *p);
/* Writes dir/lineage.json (breed_train.h's format) with rep's result; params and parents
 * are borrowed. */
eco_status breed_write_lineage(const char *dir, const char *op, json_t *params, uint64_t seed,
                               const eco_breed_train_report *rep, json_t *parents);
/* The same with result as the operation's result (stolen, also on failure; NULL: ENOMEM). */
eco_status breed_write_lineage_result(const char *dir, const char *op, json_t *params,
                                      uint64_t seed, json_t *result, json_t *parents);
/* Removes dir/training.json and dir/.work (the trainer's record and checkpoints, which name
 * working paths). */
eco_status breed_drop_training_files(const char *dir);
/* EINVAL "<what>: ..." for hyper-parameters outside their ranges. */
eco_status breed_check_train(const char *what, const eco_breed_train_params *p);

/* ---- breed_train_setup.c ---- */
struct eco_trainer_options;
struct eco_trainer_result;
/* The working folder of a training operator: work_dir when given, else <tmp>/.work
 * (ECO_WORK_DIR), created; *mix is <work>/breed-mix.jsonl, where the mixed corpus goes.
 * Both malloc'd; the caller frees them, on failure too. ENOMEM "<what>: out of memory". */
eco_status breed_work_and_mix(const char *what, const char *tmp, const char *work_dir, char **work,
                              char **mix);
/* p's hyper-parameters (steps, batch, seq, accum, warmup, lr, weight_decay, clip, seed),
 * threads and progress into t; the rest of t is the caller's. */
void breed_trainer_set(struct eco_trainer_options *t, const eco_breed_train_params *p, int threads,
                       bool progress);
/* The trainer's figures (steps, losses, tokens, trainable floats, seconds) into r. */
void breed_report_trained(eco_breed_train_report *r, const struct eco_trainer_result *tr);

#endif
