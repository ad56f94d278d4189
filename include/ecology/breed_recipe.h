/*
 * breed_recipe: breeding recipes, a chain of breeding operators that makes one child from
 * registered parents (`ecology recipe run FILE.json`). src/breeder/breed_recipe.c.
 *
 * Not the training recipes of recipe.h (pretraining a model or training an adapter from
 * data): a breeding recipe starts from models or adapters already in the registry.
 *
 *   {"name": "reverse-sort-blend",
 *    "parents": ["text.reverse@1", "text.sort@1"],
 *    "steps": [{"op": "linear", "params": {"weights": [0.5, 0.5], "rank": 16}},
 *              {"op": "mutate", "params": {"sigma": 0.01}, "seed": 7},
 *              {"op": "finetune", "params": {"steps": 60, "lr": 0.002,
 *                                            "hard_examples": ["hard.jsonl"]}, "seed": 8},
 *              {"op": "quantize", "params": {"type": "q8_0"}}],
 *    "corpus": ["reverse-train.jsonl", "sort-train.jsonl"],
 *    "id": "reverse-sort-1",
 *    "sign_key": "keys/lead.key"}
 *
 *   name      required: 1..63 bytes, a valid model id's characters (eco_model_id_ok).
 *   parents   required: 1..ECO_BREED_MAX_PARENTS distinct registry ids or aliases
 *             (eco_model_id_ok each); the runner resolves them (eco_registry_resolve).
 *   steps     required: 1..ECO_BREED_MAX_STEPS operator applications, run in order. Each:
 *     op      required: one of the operators below.
 *     params  the operator's parameters (an object; absent means {}); every key is
 *             checked against the operator's table below: an unknown key, a wrong type
 *             or a value out of range is EFORMAT naming "steps[i].params.<key>".
 *     seed    an integer in [0, ECO_BREED_SEED_MAX] (2^53 − 1, so that every JSON reader
 *             reads it back exactly): required for the operators that draw at random
 *             (dare_linear, dare_ties, della, mutate, crossover, finetune, distill, rl),
 *             optional (default 0, recorded) for the others.
 *     inputs  which artifacts feed the step, in order: each entry "parents[j]", "steps[k]"
 *             (the output of an EARLIER step, k < i) or a name listed in "parents". Absent:
 *             the first step takes all the parents in order, a later step the previous
 *             step's output. The count must fit the operator (below); an entry named twice
 *             is refused.
 *   corpus    training data of the parents, JSONL files (data.h: {"text"} or {"prompt",
 *             "completion"} records), mixed by finetune and used by distill: 1..
 *             ECO_BREED_MAX_FILES paths. Required when a step is distill, or a finetune
 *             without hard_examples.
 *   id        the child's registry id (eco_model_id_ok); absent: the runner picks one.
 *   sign_key  a private key file the runner signs the child's genome with.
 * Relative paths (corpus, hard_examples, sign_key) resolve against the recipe file's
 * folder (eco_breed_recipe_load; eco_breed_recipe_parse keeps them as written).
 *
 * Operators, their input counts and params ([] an array, | a choice; * required):
 *   linear, task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs, della   1..32 inputs
 *   slerp                                                                           2 inputs
 *       The parameter-level merges (merge.h; MERGING.md). Keys are eco_merge_params_to_json's:
 *       weights [number] (one per input; * except slerp), density (number in [0, 1] or one
 *       per input), lambda, gamma [0, 1), epsilon [0, 1), election sum|count,
 *       rescale inverse|l1, normalize (bool), t (number in [0, 1] or 1..64 of them; * for
 *       slerp); plus rank (adapters: target rank, 1..65536) and base (θ₀: a reference as
 *       in inputs, or any registry id or alias). The step's seed is the merge's seed.
 *   mutate      1 input   sigma* (0, 100] relative to each tensor's RMS; modules [string]
 *                         (only tensors whose name holds one of these).
 *   crossover   2..32     granularity tensor|layer (default tensor).
 *   prune       1 input   density* [0, 1] (kept share); of weights|delta (default weights);
 *                         base (required for of=delta).
 *   extract     1 input   base*; rank 1..65536 and/or sv_epsilon [0, 1) (at least one).
 *   quantize    1 input   type q8_0 (the default and only type).
 *   finetune    1 input   steps* 1..1000000, lr* (0, 1], batch 1..4096 (8), seq 1..65536
 *                         (128), accum 1..1024 (1), warmup 0..steps (0), weight_decay
 *                         [0, 1] (0), clip [0, 1e6] (1), hard_examples [path] (JSONL files
 *                         added to the corpus mix). LoRA when the input is an adapter
 *                         (continues from its weights), full otherwise (breed_train.h).
 *   distill     1..32     (the teachers) student* (a registry id or alias, or a model
 *                         folder: the student to train, any supported architecture),
 *                         steps*, lr*, batch, seq, accum, warmup, weight_decay, clip as
 *                         finetune's; weight [0, 1] (0.5), temperature (0, 100] (2),
 *                         max_tokens 1..4096 (64).
 *   rl          1 input   (an adapter; its base model implied) steps* 1..1000000,
 *                         capabilities [string] (default: those the input adapter claims),
 *                         batch 1..4096 (8), group 2..1024 (8), micro_batch 1..65536,
 *                         iterations 1..64 (1), lr [1e-12, 10] (1e-4), warmup 0..steps,
 *                         clip [0, 1e6] (1), weight_decay [0, 1] (0), beta [0, 1e6] (0),
 *                         reference start|base, epsilon [0, 0.999] (0.2), epsilon_high
 *                         [0, 1e6] (epsilon), loss_type grpo|bnpo|dr_grpo, scale_rewards
 *                         (bool, true), resample 0..64 (0), reward_correct, reward_format,
 *                         length_penalty [-1e6, 1e6] (1, 0, 0), temperature [1e-6, 100] (1),
 *                         top_p [1e-6, 1] (1), max_tokens 1..4096, max_seq 2..2^20,
 *                         eval_every, eval_n 0..100000 (50), eval_seed: GRPO (rl.h) rewarded by
 *                         the capabilities' checkers; no corpus (breed_train.h).
 *
 * Every problem is EFORMAT with "<label>: <field>: <problem>", e.g.
 *   "r.json: steps[2].op: unknown operator 'foo'"
 *   "r.json: steps[1].inputs[0]: 'steps[3]' is not an earlier step (steps[0] to steps[0])"
 * except a document over ECO_BREED_RECIPE_MAX_BYTES (ERANGE) and NULL arguments (EINVAL).
 */
#ifndef ECOLOGY_BREED_RECIPE_H
#define ECOLOGY_BREED_RECIPE_H

#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECO_BREED_MAX_PARENTS      32
#define ECO_BREED_MAX_STEPS        64
#define ECO_BREED_MAX_INPUTS       32
#define ECO_BREED_MAX_FILES        64
#define ECO_BREED_SEED_MAX         9007199254740991LL /* 2^53 − 1 */
#define ECO_BREED_RECIPE_MAX_BYTES ((size_t)1 << 20)

/* The operators. The merge operators come first, in eco_merge_method's order, so that
 * (eco_merge_method)op is the method for every op with eco_breed_op_is_merge(op). */
typedef enum eco_breed_op {
    ECO_BREED_OP_LINEAR = 0,
    ECO_BREED_OP_TASK_ARITHMETIC = 1,
    ECO_BREED_OP_TIES = 2,
    ECO_BREED_OP_DARE_LINEAR = 3,
    ECO_BREED_OP_DARE_TIES = 4,
    ECO_BREED_OP_BREADCRUMBS = 5,
    ECO_BREED_OP_DELLA = 6,
    ECO_BREED_OP_SLERP = 7,
    ECO_BREED_OP_MUTATE = 8,
    ECO_BREED_OP_CROSSOVER = 9,
    ECO_BREED_OP_PRUNE = 10,
    ECO_BREED_OP_EXTRACT = 11,
    ECO_BREED_OP_QUANTIZE = 12,
    ECO_BREED_OP_FINETUNE = 13,
    ECO_BREED_OP_DISTILL = 14,
    ECO_BREED_OP_RL = 15,
    ECO_BREED_OP__COUNT
} eco_breed_op;

/* "linear", ..., "distill", "rl"; NULL outside the enum. */
const char *eco_breed_op_name(eco_breed_op op);
/* EINVAL "unknown operator '<name>'" (listing them) when name is none of them. */
eco_status eco_breed_op_parse(const char *name, eco_breed_op *out);
/* A parameter-level merge (linear .. slerp). */
bool eco_breed_op_is_merge(eco_breed_op op);
/* Draws at random, so a recipe must give the step a seed. */
bool eco_breed_op_draws(eco_breed_op op);

/* Where a step's input (or base) comes from. */
typedef enum eco_breed_ref_kind {
    ECO_BREED_REF_PARENT = 0, /* parents[index] */
    ECO_BREED_REF_STEP = 1,   /* the output of steps[index] (an earlier step) */
    ECO_BREED_REF_ID = 2      /* base only: a registry id or alias outside the recipe (id) */
} eco_breed_ref_kind;

typedef struct eco_breed_ref {
    eco_breed_ref_kind kind;
    int index; /* PARENT, STEP */
    char *id;  /* ID: owned */
} eco_breed_ref;

typedef struct eco_breed_step {
    eco_breed_op op;
    struct json_t *params; /* the params object as written, {} when absent (owned reference);
                            * every key already checked against the operator's table */
    uint64_t seed;         /* 0 when absent (only for operators that do not draw) */
    bool seed_given;
    size_t n_inputs; /* >= 1, resolved (defaults applied) */
    eco_breed_ref inputs[ECO_BREED_MAX_INPUTS];
    bool inputs_given; /* "inputs" was written */
    bool has_base;     /* params.base, resolved */
    eco_breed_ref base;
    size_t n_files; /* finetune: params.hard_examples (resolved by eco_breed_recipe_load) */
    char **files;
} eco_breed_step;

typedef struct eco_breed_recipe {
    char name[64];
    size_t n_parents;
    char *parents[ECO_BREED_MAX_PARENTS]; /* ids or aliases as written (owned) */
    size_t n_steps;
    eco_breed_step *steps; /* [n_steps] */
    size_t n_corpus;
    char **corpus;      /* [n_corpus] paths (owned; resolved by eco_breed_recipe_load) */
    char *id;           /* NULL when absent */
    char *sign_key;     /* NULL when absent (resolved by eco_breed_recipe_load) */
    char *path;         /* the recipe file (eco_breed_recipe_load), else NULL */
    struct json_t *doc; /* the whole document (owned), e.g. to record in the lineage */
} eco_breed_recipe;

/* Parses the recipe text (len bytes; label names it in messages, NULL: "recipe"). On
 * success *out is the caller's (eco_breed_recipe_free); on error *out is NULL and the
 * message names the field. Nothing is read or written besides text. */
eco_status eco_breed_recipe_parse(const char *text, size_t len, const char *label,
                                  eco_breed_recipe **out);
/* Reads and parses the file at path (ENOTFOUND/EIO when unreadable), then resolves the
 * relative paths of corpus, hard_examples and sign_key against its folder. */
eco_status eco_breed_recipe_load(const char *path, eco_breed_recipe **out);
void eco_breed_recipe_free(eco_breed_recipe *r);

/* "parents[j]" or "steps[k]" (or the id) of a ref into buf; returns buf. */
const char *eco_breed_ref_name(const eco_breed_ref *ref, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
