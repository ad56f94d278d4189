/*
 * pareto: the Pareto archive of the ecology loop (issue 21), in the promotion module.
 *
 * A candidate is an id (a model or adapter name) and a vector of objective values, one per
 * objective of a small descriptor array (name and direction). The default set maps the
 * evaluator's fitness vector (evaluator.h, eco_fitness.objectives) onto five objectives:
 * quality and robustness maximised, calibration error, p95 latency (ms) and resident memory
 * (bytes) minimised; eco_pareto_values_from_fitness does the conversion.
 *
 * The pieces:
 *
 *   eco_pareto_dominates   a is no worse than b in every objective and better in one
 *   eco_pareto_rank        fast non-dominated sorting (NSGA-II, Deb et al. 2002): rank 0 is
 *                          the non-dominated front, rank 1 the front once rank 0 is removed...
 *   eco_pareto_crowding    NSGA-II's crowding distance, per front
 *   eco_pareto_tournament  a k-way tournament on (rank, crowding) with the caller's RNG
 *
 *   eco_pareto             the archive: bounded, only non-dominated members, kept in id order;
 *                          insert refuses a dominated candidate (and says by whom), removes
 *                          the members the candidate dominates, and over capacity drops the
 *                          most crowded member; queries (best for a profile, parent
 *                          selection, a scalar fitness) and canonical JSON both ways.
 *
 * Every objective value is finite: NaN and infinities are refused (EINVAL naming the member
 * and objective) wherever values enter. Nothing here calls exit or abort.
 */
#ifndef ECOLOGY_PARETO_H
#define ECOLOGY_PARETO_H

#include <stdbool.h>
#include <stddef.h>

#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECO_PARETO_MAX_OBJECTIVES 8     /* objectives per archive */
#define ECO_PARETO_NAME_MAX       32    /* bytes of an objective name: [a-z0-9_]{1,32} */
#define ECO_PARETO_ID_MAX         128   /* bytes of a member id (UTF-8, no control byte) */
#define ECO_PARETO_MAX_CAPACITY   65536 /* members an archive may hold */
#define ECO_PARETO_JSON_VERSION   1

typedef enum eco_pareto_dir {
    ECO_PARETO_DIR_MAX = 0, /* higher is better */
    ECO_PARETO_DIR_MIN = 1  /* lower is better */
} eco_pareto_dir;

/* One objective: its name (as the JSON names it) and direction. */
typedef struct eco_pareto_objective {
    const char *name;
    eco_pareto_dir dir;
} eco_pareto_objective;

/* The default objective set, in this order (indices of eco_pareto_default_objectives). */
enum {
    ECO_PARETO_OBJ_QUALITY = 0,           /* max: pass rate in [0, 1] */
    ECO_PARETO_OBJ_ROBUSTNESS = 1,        /* max: robustness mean in [0, 1] */
    ECO_PARETO_OBJ_CALIBRATION_ERROR = 2, /* min: ECE (equal mass) in [0, 1] */
    ECO_PARETO_OBJ_P95_MS = 3,            /* min: p95 latency, milliseconds */
    ECO_PARETO_OBJ_MEMORY_BYTES = 4,      /* min: peak resident memory, bytes */
    ECO_PARETO_OBJ__COUNT = 5
};
extern const eco_pareto_objective eco_pareto_default_objectives[ECO_PARETO_OBJ__COUNT];

/* The default objective vector of an evaluator fitness: out[QUALITY] = objectives[0],
 * out[ROBUSTNESS] = objectives[2], out[CALIBRATION_ERROR] = 1 − objectives[1],
 * out[P95_MS] = −1000·objectives[4], out[MEMORY_BYTES] = −2^30·objectives[5] (coverage,
 * objectives[3], is not an objective of the default set). EINVAL when a value is not finite. */
struct eco_fitness;
eco_status eco_pareto_values_from_fitness(const struct eco_fitness *f,
                                          double out[ECO_PARETO_OBJ__COUNT]);

/* ---- sorting on plain arrays --------------------------------------------------------- */

/* Whether a dominates b: no worse in each of the m objectives (obj[i].dir), strictly better
 * in at least one. a, b: [m]. Equal vectors do not dominate each other. */
bool eco_pareto_dominates(const eco_pareto_objective *obj, size_t m, const double *a,
                          const double *b);

/* Fast non-dominated sorting: rank[i] = the front of point i (0 = non-dominated).
 * values: [n, m] row-major, point i's objectives at values[i*m .. i*m+m). rank: [n], the
 * caller's. O(m·n²) time, O(n²) memory at worst (the sets each point dominates).
 * EINVAL for a non-finite value (naming point and objective) or m outside
 * [1, ECO_PARETO_MAX_OBJECTIVES]; ENOMEM / EOVERFLOW. n = 0 is fine. */
eco_status eco_pareto_rank(const eco_pareto_objective *obj, size_t m, const double *values,
                           size_t n, size_t *rank);

/* NSGA-II crowding distance within each front (points of equal rank): per objective the
 * front is sorted by value (ties by point index), its two boundary points get +infinity and
 * each interior point adds (next − previous) / (max − min of the front); an objective whose
 * range over the front is zero adds nothing. A front of one or two points is all infinite.
 * values: [n, m] as above; rank: [n] (from eco_pareto_rank); dist: [n], the caller's.
 * EINVAL / ENOMEM as eco_pareto_rank. */
eco_status eco_pareto_crowding(size_t m, const double *values, size_t n, const size_t *rank,
                               double *dist);

/* NSGA-II's crowded-comparison tournament: k draws (with replacement, uniform, from rng) of
 * points 0..n-1; the winner has the lowest rank, then the largest crowding distance, then
 * the smallest index. rank, dist: [n]. Deterministic for a seed. EINVAL when n or k is 0 or
 * an argument is NULL. */
eco_status eco_pareto_tournament(const size_t *rank, const double *dist, size_t n, size_t k,
                                 eco_rng *rng, size_t *winner);

/* ---- the archive ----------------------------------------------------------------------- */

typedef struct eco_pareto eco_pareto;

/* A new empty archive over the n_obj objectives obj (copied: names [a-z0-9_]{1,32}, unique;
 * 1 <= n_obj <= ECO_PARETO_MAX_OBJECTIVES) holding at most capacity members
 * (1..ECO_PARETO_MAX_CAPACITY). *out is the caller's: eco_pareto_free. EINVAL naming the
 * bad argument; ENOMEM. */
eco_status eco_pareto_create(const eco_pareto_objective *obj, size_t n_obj, size_t capacity,
                             eco_pareto **out);
void eco_pareto_free(eco_pareto *a);

typedef enum eco_pareto_outcome {
    ECO_PARETO_OUTCOME_ADDED = 0,     /* the candidate is now a member */
    ECO_PARETO_OUTCOME_DOMINATED = 1, /* refused: info.by dominates it; nothing changed */
    ECO_PARETO_OUTCOME_CROWDED = 2    /* accepted as non-dominated, then dropped at once as
                                         the most crowded member over capacity */
} eco_pareto_outcome;

/* What an insert did. */
typedef struct eco_pareto_insert_info {
    eco_pareto_outcome outcome;
    size_t n_removed;                    /* members removed because the candidate dominates them */
    char by[ECO_PARETO_ID_MAX + 1];      /* DOMINATED: the first member (id order) dominating it */
    char dropped[ECO_PARETO_ID_MAX + 1]; /* the member dropped as most crowded ("" when none;
                                             the candidate's own id for CROWDED) */
} eco_pareto_insert_info;

/* "added", "dominated", "crowded". */
const char *eco_pareto_outcome_str(eco_pareto_outcome o);

/* Offers the candidate id (1..ECO_PARETO_ID_MAX bytes of UTF-8, no control byte; copied) with values
 * [n_obj] (copied). A candidate dominated by a member is refused (OK, outcome DOMINATED,
 * info->by); otherwise every member it dominates is removed and it is added; then, when the
 * archive holds more than its capacity, the member with the smallest crowding distance
 * goes (ties: the one whose id sorts last, byte order), which may be the candidate itself
 * (outcome CROWDED). Equal vectors under different ids are both kept.
 * Duplicates are refused, not replaced: EEXIST when a member already has this id (remove
 * it first to replace it). EINVAL for a bad id or a non-finite value (nothing changed).
 * info may be NULL. */
eco_status eco_pareto_insert(eco_pareto *a, const char *id, const double *values,
                             eco_pareto_insert_info *info);
/* Removes the member id; ENOTFOUND when there is none. */
eco_status eco_pareto_remove(eco_pareto *a, const char *id);

size_t eco_pareto_count(const eco_pareto *a);
size_t eco_pareto_capacity(const eco_pareto *a);
size_t eco_pareto_n_objectives(const eco_pareto *a);
/* The archive's objective i (its name borrowed from the archive), i < n_objectives. */
eco_pareto_objective eco_pareto_objective_at(const eco_pareto *a, size_t i);
/* Objective index by name; ENOTFOUND when none has it. */
eco_status eco_pareto_objective_index(const eco_pareto *a, const char *name, size_t *index);
/* Member i in id order (byte order), i < count: its id and values [n_objectives], both
 * borrowed until the archive next changes. */
const char *eco_pareto_id(const eco_pareto *a, size_t i);
const double *eco_pareto_values(const eco_pareto *a, size_t i);
/* The index of member id; ENOTFOUND when none. */
eco_status eco_pareto_find(const eco_pareto *a, const char *id, size_t *index);
/* The crowding distance of every member (one front: the members are non-dominated).
 * dist: [count], the caller's. */
eco_status eco_pareto_member_crowding(const eco_pareto *a, double *dist);

/* ---- queries ----------------------------------------------------------------------------- */

/* A bound of a profile: objective no worse than limit (value <= limit for a minimised
 * objective, >= for a maximised one). */
typedef struct eco_pareto_bound {
    size_t objective;
    double limit;
} eco_pareto_bound;

/* The member best in `objective` (its direction) among those within every bound: "the
 * highest quality with p95_ms <= 50 and memory_bytes <= 1e8". Ties: the smaller id.
 * *index set on OK. ENOTFOUND with a message naming the bounds when no member fits (an
 * empty archive included); EINVAL for an objective index out of range or a non-finite
 * limit. bounds: [n_bounds] (may be NULL when n_bounds is 0). */
eco_status eco_pareto_best(const eco_pareto *a, size_t objective, const eco_pareto_bound *bounds,
                           size_t n_bounds, size_t *index);

/* A parent for the breeder: eco_pareto_tournament over the members (all rank 0, so on
 * crowding distance, then id order) with k draws from rng. EINVAL on an empty archive or
 * k = 0. */
eco_status eco_pareto_select(const eco_pareto *a, eco_rng *rng, size_t k, size_t *index);

/* A scalar fitness for callers who want one: sum over objectives of weights[j] · the value
 * normalised over the archive's range to [0, 1] with 1 the best (an objective whose range
 * is zero contributes 0). weights: [n_objectives], finite and >= 0. EINVAL otherwise or for
 * an index out of range. */
eco_status eco_pareto_scalar(const eco_pareto *a, const double *weights, size_t index, double *out);

/* ---- JSON ------------------------------------------------------------------------------- */

/* Canonical JSON (core: sorted keys, no white space) of the archive:
 *   {"capacity": N,
 *    "members": [{"id": "...", "values": {"<objective>": number, ...}}, ...]   (id order),
 *    "objectives": [{"direction": "max" | "min", "name": "..."}, ...],
 *    "version": 1}
 * *out malloc'd, NUL-terminated (the caller frees); *len (may be NULL) its bytes. */
eco_status eco_pareto_to_json(const eco_pareto *a, char **out, size_t *len);

/* Parses what eco_pareto_to_json writes (any member order and white space). Rejects, with
 * EFORMAT naming the field ("<label>: members[2].values.quality: ..."): invalid JSON,
 * duplicate keys, unknown or missing fields, a version other than 1, a bad capacity, bad or
 * duplicate objective names, a direction other than "max"/"min", more members than the
 * capacity, a bad or duplicate id, values that are not exactly the objectives or are not
 * finite numbers, and a member dominated by another. *out (NULL on failure) is the
 * caller's: eco_pareto_free. */
eco_status eco_pareto_from_json(const char *text, size_t len, const char *label, eco_pareto **out);

#ifdef __cplusplus
}
#endif
#endif
