/*
 * breeder: breeding operators over registered models (contracts.h's eco_breeder_op) and the
 * registry-level run that turns registered parents into a registered, signed child.
 *
 * eco_breed: parents named by id or alias are resolved and checked out (verified), the
 * operator's supports() decides whether it can breed them (parameter operators only for
 * parents whose compatibility identity is identical, eco_compat_equal: the refusal names
 * the first field that differs and suggests distill), the operator writes the child into a
 * working folder under the data folder (<data>/work/breed.<pid>.<n>/), add
 * (eco_registry_add_dir) registers it with its lineage (operation, every parameter, seed,
 * result, parents by file digest, corpus hashes: data.h's canonical SHA-256 of each corpus,
 * as training records them) and the working folder is removed.
 *
 * The operators are thin adapters over folder-level functions (merge_dir.h for the merge
 * methods, mutate, crossover and prune; quantize; extract; finetune; distill): an operator
 * whose folder function this build lacks answers EUNSUPPORTED saying so.
 *
 * Re-running a recorded operation (eco_breed_rerun) breeds again from the registered
 * parents with the recorded parameters and seed and compares the bytes with the registered
 * child's files.
 */
#ifndef ECOLOGY_BREEDER_H
#define ECOLOGY_BREEDER_H

#include "ecology/contracts.h"
#include "ecology/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the operator table -------------------------------------------------------------- */

/* Parents of one run, the base included (a merge's 32 and its base). */
#define ECO_BREEDER_MAX_INPUTS 33

size_t eco_breeder_op_count(void);
/* The i-th operator (i < eco_breeder_op_count()), static. */
const eco_breeder_op *eco_breeder_op_get(size_t i);
/* The operator named name; EINVAL naming it and listing the operators otherwise. */
eco_status eco_breeder_op_find(const char *name, const eco_breeder_op **out);
/* Whether op is a parameter operator (only for parents of identical compatibility). */
bool eco_breeder_op_is_parametric(const eco_breeder_op *op);
/* Whether op trains on corpora (finetune, distill); the others refuse any. */
bool eco_breeder_op_takes_corpora(const eco_breeder_op *op);

/* The compatibility check every parameter operator's supports() makes: true when all n
 * genomes' identities are equal; else false with "parents 'A' and 'B' differ in FIELD:
 * parameter operators need identical compatibility (...); they also differ in FIELD2, ...;
 * use distill" in reason (FIELD the first that differs, eco_compat_diff_all's order). */
bool eco_breed_compatible(const eco_genome *const *genomes, size_t n, char *reason,
                          size_t reason_len);

/* The recorded operation → the operator that re-runs it: "merge" with params.method M →
 * M; "merge" with params.lora → "fold"; any other name → itself. EINVAL when none. */
eco_status eco_breeder_op_for_record(const char *op_name, const struct json_t *op_params,
                                     const eco_breeder_op **out);

/* ---- breeding over the registry ------------------------------------------------------ */

typedef struct eco_breed_options {
    const char *op;             /* operator name (eco_breeder_op_find) */
    const char *const *parents; /* [n_parents] ids or aliases, in order */
    size_t n_parents;
    const char *base;            /* θ₀ (id or alias) for the methods that use one, or NULL */
    const struct json_t *params; /* the operator's parameters (object; NULL: {}) */
    const char *const *corpora;  /* [n_corpora] JSONL files (finetune, distill), in order */
    size_t n_corpora;
    const char *id;         /* the child's id; NULL: "<op>-<12 hex of its manifest root>" */
    const char *sign_key;   /* private key, or NULL (unsigned) */
    const char *created_at; /* NULL: now (tests pass a fixed time) */
    bool progress;          /* progress lines on stderr */
} eco_breed_options;

typedef struct eco_breed_result {
    char *id;          /* the child's id (malloc'd) */
    eco_genome genome; /* the child's genome (eco_breed_result_free) */
    bool refused;      /* supports() refused the parents (the status is EINVAL) */
    char reason[512];  /* why, when refused */
} eco_breed_result;

void eco_breed_result_free(eco_breed_result *res);

/* Breeds o->op over the registered parents and registers the child (see the top of this
 * file). res (may be NULL) receives the child's id and genome, or refused + reason. On any
 * failure the working folder is removed and nothing is registered. */
eco_status eco_breed(eco_registry *r, const eco_breed_options *o, eco_breed_result *res);

/* Breeds into a working folder and returns it instead of registering: *dir (malloc'd) is
 * the child's folder under <data>/work/; the caller removes *work (malloc'd, the folder
 * holding it) with eco_remove_tree. Used by eco_breed, the re-run and recipes. */
eco_status eco_breed_to_dir(eco_registry *r, const eco_breed_options *o, eco_breed_result *res,
                            char **work, char **dir);

/* The hash a corpus is recorded by: data.h's canonical SHA-256 of the JSONL file (as
 * training.json records it), hex. EFORMAT/ENOTFOUND from the corpus loader. */
eco_status eco_breed_corpus_hash(const char *path, char hex[ECO_SHA256_HEX_LEN + 1]);

typedef struct eco_breed_rerun_report {
    bool same;            /* every file of the registered child has the same bytes */
    char first_diff[256]; /* the first file that differs or is missing/extra, when !same */
    size_t n_files;       /* files compared */
} eco_breed_rerun_report;

/* Re-runs the operation recorded in the lineage of the registered model ref (its operator,
 * parameters, seed and parents; corpora[n_corpora], needed when the child was bred on
 * corpora, must each hash to a recorded one, given in the original order) and compares the
 * child's files with the registered ones. out (may be NULL) keeps
 * the re-bred folder there (eco_output_*: refused when it exists, unless force); else it
 * goes to a working folder that is removed. OK with rep->same telling; EINVAL when the model
 * was not made by a breeding operator. */
eco_status eco_breed_rerun(eco_registry *r, const char *ref, const char *const *corpora,
                           size_t n_corpora, const char *out, bool force,
                           eco_breed_rerun_report *rep);

/* ---- chains of operators (recipes) -------------------------------------------------- */

/* Where a step's input comes from: parents[index] (a registered model) or the output of
 * steps[index] (an earlier step). */
typedef struct eco_breed_chain_ref {
    bool step;
    size_t index;
} eco_breed_chain_ref;

typedef struct eco_breed_chain_step {
    const char *op;              /* operator name */
    const struct json_t *params; /* its parameters (object, borrowed; NULL: {}) */
    uint64_t seed;               /* passed to the operator as params["seed"] */
    size_t n_inputs;             /* >= 1 */
    eco_breed_chain_ref inputs[ECO_BREEDER_MAX_INPUTS];
    bool has_base; /* θ₀ */
    eco_breed_chain_ref base;
} eco_breed_chain_step;

typedef struct eco_breed_chain_options {
    const char *name;           /* recorded (may be NULL) */
    const char *const *parents; /* [n_parents] registered ids or aliases */
    size_t n_parents;
    const eco_breed_chain_step *steps; /* [n_steps] run in order */
    size_t n_steps;
    const char *const *corpora; /* [n_corpora] given to every step that trains */
    size_t n_corpora;
    const char *id;         /* the child's id; NULL: "recipe-<12 hex of its root digest>" */
    const char *sign_key;   /* NULL: unsigned */
    const char *created_at; /* NULL: now */
    bool progress;
} eco_breed_chain_options;

/* Runs the steps in order, each operator's output a folder under <data>/work/ (an input of
 * a later step), and registers the last step's output as one child whose lineage.json is
 * {"operation": {"name": "recipe", "params": {"name": N, "steps": [{"op", "params", "seed",
 * "result", "inputs": ["parents[j]" | "steps[k]", ...], "base": ...}, ...]}, "seed": 0},
 * "parents": the registered parents by file digest}: every step's operation as its
 * operator recorded it. Each step's supports() sees its inputs' genomes (an earlier step's
 * output carries its first input's compatibility); a refusal is EINVAL with res->refused
 * and the step named in res->reason. The working folders are removed. */
eco_status eco_breed_chain(eco_registry *r, const eco_breed_chain_options *o,
                           eco_breed_result *res);
/* The same, stopping before registration: *dir (under *work, which the caller removes)
 * holds the child with its recipe lineage.json. */
eco_status eco_breed_chain_to_dir(eco_registry *r, const eco_breed_chain_options *o,
                                  eco_breed_result *res, char **work, char **dir);

/* ---- breeding recipes ----------------------------------------------------------------- */

struct eco_breed_recipe; /* breed_recipe.h */

typedef struct eco_breed_recipe_run_options {
    const char *id;         /* the child's id; NULL: the recipe's, else "recipe-<12 hex>" */
    const char *sign_key;   /* NULL: the recipe's (NULL there too: unsigned) */
    const char *created_at; /* NULL: now */
    bool progress;
} eco_breed_recipe_run_options;

/* Runs a parsed recipe (eco_breed_recipe_load) as a chain (eco_breed_chain): its parents,
 * its steps (inputs and bases by reference; a base named by a registry id outside the
 * parents is one more registered input), its corpora for the steps that train. o may be
 * NULL. res as eco_breed_chain's. */
eco_status eco_breed_recipe_run(eco_registry *r, const struct eco_breed_recipe *recipe,
                                const eco_breed_recipe_run_options *o, eco_breed_result *res);

#ifdef __cplusplus
}
#endif
#endif
