/*
 * breed_internal: what the breeder's run (breed.c), its re-run (breed_rerun.c) and chains
 * of operators (breed_chain.c) share.
 */
#ifndef ECOLOGY_BREED_INTERNAL_H
#define ECOLOGY_BREED_INTERNAL_H

#include "ecology/breeder.h"

/* A fresh working folder <data>/work/<label>.<pid>.<n>/ (*out malloc'd; the caller removes
 * it with eco_remove_tree). */
eco_status eco_breed_make_work_dir(eco_registry *r, const char *label, char **out);
/* Removes the working folder *work (when not NULL) and frees *work and *dir (the child
 * folder inside it), leaving both NULL: the end of every run, built or failed. breed.c. */
void eco_breed_work_drop(char **work, char **dir);

/* Adds the corpora's hashes (eco_breed_corpus_hash) to child/lineage.json's "corpora"
 * (sorted, unique). */
eco_status eco_breed_record_corpora(const char *child, const char *const *corpora, size_t n);

/* Registers the bred folder dir (eco_registry_add_dir): id, or "<label>-<12 hex of its
 * files' root digest>" when NULL; an adapter child takes the base model of the first
 * adapter among parents (ids or aliases). res->id and res->genome receive the child's. */
eco_status eco_breed_register(eco_registry *r, const char *dir, const char *label,
                              const char *const *parents, size_t n_parents, const char *id,
                              const char *sign_key, const char *created_at, bool progress,
                              eco_breed_result *res);

/* The base an operator implies when none is given: finetune and rl of an adapter train it
 * on its base model (the adapter's genome base); distill's student is params.student.
 * *base (malloc'd) or NULL. */
eco_status eco_breed_implied_base(eco_registry *r, const eco_breeder_op *op,
                                  const char *const *parents, size_t n_parents,
                                  const struct json_t *params, char **base);

/* ---- operator parameters (breed_params.c) ------------------------------------------
 * Every operator reads its params object with these: messages "<op>: params: <key>:
 * <problem>" (EINVAL), unknown keys refused. */

/* EINVAL naming the first key of params not in allowed (NULL-terminated). */
eco_status eco_breed_params_only(const char *op, const struct json_t *params,
                                 const char *const *allowed);
/* A number in [lo, hi] (an integer is a number); absent: *out unchanged, or "missing" when
 * required. */
eco_status eco_breed_param_num(const char *op, const struct json_t *params, const char *key,
                               bool required, double lo, double hi, double *out);
eco_status eco_breed_param_int(const char *op, const struct json_t *params, const char *key,
                               bool required, int64_t lo, int64_t hi, int64_t *out);
eco_status eco_breed_param_bool(const char *op, const struct json_t *params, const char *key,
                                bool *out);
/* A string (borrowed) or one of choices (NULL-terminated; NULL: any). */
eco_status eco_breed_param_str(const char *op, const struct json_t *params, const char *key,
                               const char *const *choices, const char **out);
/* params.seed: an integer >= 0 (absent: 0). */
eco_status eco_breed_param_seed(const char *op, const struct json_t *params, uint64_t *out);
/* A module list: null, "q_proj,v_proj" or ["q_proj", "v_proj"] into buf ("" for all). */
eco_status eco_breed_param_modules(const char *op, const struct json_t *params, char *buf,
                                   size_t len);

/* The operators' breed functions (eco_breeder_op.breed), beside their folder functions:
 * breed_op_merge.c (merge methods, mutate, crossover, prune, extract), breed_op_quantize.c,
 * breed_op_train.c (finetune, distill, rl). Each has the signature of eco_breeder_op.breed
 * (contracts.h), which ECO_BREED_OP_FN spells once. */
#define ECO_BREED_OP_FN(fn)                                                                        \
    eco_status fn(const eco_breeder_op *op, const eco_breed_parent *parents, size_t n,             \
                  const char *const *corpora, size_t n_corpora, const struct json_t *params,       \
                  const char *out)
ECO_BREED_OP_FN(eco_breed_op_merge);
ECO_BREED_OP_FN(eco_breed_op_mutate);
ECO_BREED_OP_FN(eco_breed_op_crossover);
ECO_BREED_OP_FN(eco_breed_op_prune);
ECO_BREED_OP_FN(eco_breed_op_finetune);
ECO_BREED_OP_FN(eco_breed_op_distill);
ECO_BREED_OP_FN(eco_breed_op_rl);
ECO_BREED_OP_FN(eco_breed_op_extract);
ECO_BREED_OP_FN(eco_breed_op_quantize);

#endif
