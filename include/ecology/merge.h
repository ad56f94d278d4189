/*
 * merge: the arithmetic of parameter-level breeding, one tensor at a time
 * (../shared/design/MERGING.md has the exact semantics; src/breeder/merge_*.c).
 *
 * Every function here works on plain f32 arrays that the caller owns, so the folder-level
 * drivers (merge_dir.h: full models streamed tensor by tensor, LoRA adapters merged on
 * their full deltas ΔW = s·B·A) and the tests share one implementation:
 *
 *   δ_m = θ_m − θ₀                       (θ₀ = NULL: the parents are already deltas)
 *   δ_m = sparsify(δ_m, density_m)       magnitude | random (DARE) | breadcrumbs | della
 *   u_m = w_m · δ_m
 *   consensus (ties, dare_ties, della):  e = sign(Σ u_m) (election=sum; count: Σ sign(u_m)),
 *                                       a tie elects +1; M_m = sign(u_m) == e
 *                                       mix = Σ u_m·M_m ; div = Σ w_m·M_m (0 → 1)
 *   else:                                mix = Σ u_m ; div = Σ w_m (|div| < 1e-8 → 1)
 *   normalize: mix /= div;  out = θ₀ + λ·mix
 *
 * linear is the model soup Σ w_m θ_m / Σ w_m (no base needed: with a base and λ = 1 it is
 * the same number); slerp interpolates two parents. The deltas are f32 (θ_m − θ₀ in f32, as
 * stored); each output element is then computed in f64 (its sums over parents in parent
 * order) and cast to f32 once; whole-tensor reductions (L1 norms, slerp's norms and dot)
 * are f64 over fixed chunks. Big tensors are split over the OpenMP team element-wise (della:
 * row-wise), so every result is bit-identical whatever eco_set_threads says.
 *
 * Random draws are counter-based: the i-th uniform of a tensor depends only on (seed,
 * stream, i), where stream = eco_merge_stream(tensor name) (and the parent index), so a
 * merge gives the same bytes whatever the thread count and the order tensors are visited.
 * Functions that draw also take an explicit mask (tests fix it; NULL draws it).
 */
#ifndef ECOLOGY_MERGE_H
#define ECOLOGY_MERGE_H

#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum eco_merge_method {
    ECO_MERGE_METHOD_LINEAR = 0,
    ECO_MERGE_METHOD_TASK_ARITHMETIC = 1,
    ECO_MERGE_METHOD_TIES = 2,
    ECO_MERGE_METHOD_DARE_LINEAR = 3,
    ECO_MERGE_METHOD_DARE_TIES = 4,
    ECO_MERGE_METHOD_BREADCRUMBS = 5,
    ECO_MERGE_METHOD_DELLA = 6,
    ECO_MERGE_METHOD_SLERP = 7,
    ECO_MERGE_METHOD__COUNT
} eco_merge_method;

/* TIES sign election: on the weighted deltas (mergekit, the default) or by counting signs. */
typedef enum eco_merge_election {
    ECO_MERGE_ELECTION_SUM = 0,
    ECO_MERGE_ELECTION_COUNT = 1,
} eco_merge_election;

/* Rescaling of randomly kept entries: divide by the keep probability (DARE paper, PEFT; the
 * default) or scale so the L1 norm is unchanged (mergekit). */
typedef enum eco_merge_rescale {
    ECO_MERGE_RESCALE_INVERSE = 0,
    ECO_MERGE_RESCALE_L1 = 1,
} eco_merge_rescale;

#define ECO_MERGE_MAX_PARENTS 32
#define ECO_MERGE_MAX_T       64

/* Every parameter of a merge; all of them are recorded in the child's lineage. */
typedef struct eco_merge_params {
    eco_merge_method method;
    int n_parents;                         /* merged parents, the base not counted */
    double weight[ECO_MERGE_MAX_PARENTS];  /* w_m (required except for slerp) */
    double density[ECO_MERGE_MAX_PARENTS]; /* kept fraction per parent; 1 = unchanged */
    double lambda;                         /* λ, default 1 */
    double gamma;                          /* breadcrumbs: share of the largest dropped, 0.01 */
    double epsilon;                        /* della: keep-probability spread, 0.15 */
    eco_merge_election election;           /* default sum */
    eco_merge_rescale rescale;             /* default inverse */
    int normalize;                         /* -1: the method's default, 0 no, 1 yes */
    int n_t;                               /* slerp: t values (1: one t; more: over layers) */
    double t[ECO_MERGE_MAX_T];
    uint64_t seed; /* random sparsifiers (dare_*, della) */
} eco_merge_params;

/* "linear", "task_arithmetic", "ties", "dare_linear", "dare_ties", "breadcrumbs", "della",
 * "slerp"; NULL outside the enum. */
const char *eco_merge_method_name(eco_merge_method m);
/* EINVAL naming the value and listing the methods when name is not one of them. */
eco_status eco_merge_method_parse(const char *name, eco_merge_method *out);
/* Defaults (MERGING.md's table): n_parents 0, weights 0, density 1, λ 1, gamma 0.01,
 * epsilon 0.15, election sum, rescale inverse, normalize -1, n_t 0, seed 0. */
void eco_merge_params_init(eco_merge_params *p, eco_merge_method m);
/* Whether the method needs θ₀ for full models (every task-vector method; not linear, slerp). */
bool eco_merge_method_needs_base(eco_merge_method m);
/* The normalize in effect (p->normalize, or the method's default when -1). */
bool eco_merge_params_normalize(const eco_merge_params *p);
/* EINVAL naming the field ("weights", "density", "t", ...) and the problem: parent count
 * outside [1, ECO_MERGE_MAX_PARENTS] (slerp: exactly 2), non-finite values, density outside
 * [0, 1] (della, unless density is 1: density ± epsilon outside (0, 1)), gamma or epsilon
 * outside [0, 1), t outside [0, 1] (slerp: at least one t), seed above 2^63 − 1 (so that it
 * is a JSON integer); options the method does not use given a non-default value are
 * allowed (recorded). */
eco_status eco_merge_params_check(const eco_merge_params *p);
/* The canonical JSON object of p (every field, by name: "method", "weights", "density",
 * "lambda", "gamma", "epsilon", "election", "rescale", "normalize" (resolved bool), "t",
 * "seed"), new reference (caller decrefs). */
eco_status eco_merge_params_to_json(const eco_merge_params *p, struct json_t **out);
/* The inverse (a recorded lineage, a recipe step): EFORMAT "<label>: <field>: <problem>",
 * unknown fields refused; then eco_merge_params_check. */
eco_status eco_merge_params_from_json(const struct json_t *j, const char *label,
                                      eco_merge_params *out);
/* slerp's t for a tensor of layer `layer` of a model of n_layers layers: one value, or the
 * list interpolated linearly over the layers (mergekit's gradient: the tensor's position
 * x = layer / (n_layers − 1) (1 when n_layers = 1) is scaled to x·(n_t − 1) and t is read
 * between the two nearest entries). Tensors outside the layers take mergekit's positions:
 * layer < 0 (before them: the embeddings) x = 0, the first value; layer >= n_layers (after
 * them: the final norm, lm_head) x = 1, the last value. n_t = 0 gives 0. */
double eco_merge_slerp_t(const eco_merge_params *p, int64_t layer, int64_t n_layers);

/* ---- seeded draws ------------------------------------------------------------------- */

/* The stream of a tensor: a 64-bit hash of its name (FNV-1a then splitmix64). */
uint64_t eco_merge_stream(const char *tensor_name);
/* The stream of draw k below stream (parent m of a tensor draws its mask from
 * eco_merge_substream(stream, m)): splitmix64 of stream ^ splitmix64(k ^ const). */
uint64_t eco_merge_substream(uint64_t stream, uint64_t k);
/* The i-th uniform in [0, 1) of (seed, stream): counter-based, no state. It is splitmix64's
 * output i from the state splitmix64(splitmix64(seed) ^ stream), 53 bits. */
double eco_merge_uniform(uint64_t seed, uint64_t stream, uint64_t i);
/* The i-th standard normal of (seed, stream) (Box-Muller on uniforms 2i, 2i+1). */
double eco_merge_normal(uint64_t seed, uint64_t stream, uint64_t i);

/* ---- one tensor ----------------------------------------------------------------------- */

/* What a tensor's merge did (for the log and the lineage's result). */
typedef struct eco_merge_stats {
    int64_t n;                           /* elements */
    int64_t kept[ECO_MERGE_MAX_PARENTS]; /* entries each parent's sparsifier kept */
    bool empty;                          /* a sparsifier kept nothing (k = 0): zeros, logged */
} eco_merge_stats;

/* out[n] (n = rows·cols) = the merge of parents[m][n] (m < p->n_parents, f32) over base[n]
 * (θ₀; NULL means zero, i.e. the parents are deltas). rows × cols is the tensor's 2-D view
 * (della ranks per row; 1 × n for vectors). t is slerp's value for this tensor
 * (eco_merge_slerp_t). stream = eco_merge_stream(name). masks: NULL to draw, else
 * masks[m][n] (1 keep, 0 drop) replaces parent m's random draw (magnitude sparsifiers
 * ignore it); parent m draws from (p->seed, eco_merge_substream(stream, m)). Sparsifiers:
 * ties magnitude, dare_* random, breadcrumbs, della (below); linear and task_arithmetic use
 * no density. slerp: parents[0] at t = 0, parents[1] at t = 1; base and λ unused; t must
 * be in [0, 1]. stats may be NULL. out may alias base. Allocates one delta per sparsified
 * parent (density < 1) (ENOMEM). EINVAL for bad params (eco_merge_params_check), NULL
 * parents or a negative shape; EOVERFLOW for a shape whose size overflows. */
eco_status eco_merge_tensor(float *out, const float *base, const float *const *parents,
                            int64_t rows, int64_t cols, const eco_merge_params *p, double t,
                            uint64_t stream, const uint8_t *const *masks, eco_merge_stats *stats);

/* ---- the sparsifiers (in place on a delta d[n]; return the kept count) ------------- */

/* Every sparsifier: density >= 1 leaves d unchanged (returns n); n <= 0 returns 0. */

/* Keeps the k = (int64)(density·n) largest |d| (ties: lower index first), zeroes the rest;
 * k = 0 keeps nothing. */
int64_t eco_sparsify_magnitude(float *d, int64_t n, double density);
/* Keeps entry i when uniform(seed, stream, i) < density (or mask[i] != 0 when mask is
 * given), rescaled by `rescale`: inverse divides the kept by density, l1 scales them by
 * ‖d‖₁/‖kept‖₁ (nothing when either is 0). density <= 0 zeroes d (mask or not). */
int64_t eco_sparsify_random(float *d, int64_t n, double density, eco_merge_rescale rescale,
                            uint64_t seed, uint64_t stream, const uint8_t *mask);
/* Drops the smallest and the gamma share of the largest |d|, keeping ⌊density·n⌋ minus the
 * gamma share (mergekit's breadcrumbs without its n_top = 0 bug): with the entries ordered by
 * |d| descending (ties: lower index first), keeps ranks [⌊gamma·n⌋, ⌊density·n⌋) (none when
 * the gamma share is the larger). */
int64_t eco_sparsify_breadcrumbs(float *d, int64_t n, double density, double gamma);
/* DELLA: per row, ranks by |d| ascending (rank 1 the smallest; ties: lower index first) and
 * keeps entry i when uniform(seed, stream, i) < p (or mask[i] != 0), p = density − ε +
 * 2ε·(rank−1)/(cols−1) (cols = 1: p = density; p clamped to [0, 1], p = 0 never kept); the
 * kept are divided by their p (rescale inverse) or L1-rescaled over the whole tensor.
 * density <= 0 zeroes d. −1 when out of memory (a row's sort buffer) or cols >= 2^32. */
int64_t eco_sparsify_della(float *d, int64_t rows, int64_t cols, double density, double epsilon,
                           eco_merge_rescale rescale, uint64_t seed, uint64_t stream,
                           const uint8_t *mask);

/* ---- the other tensor operators --------------------------------------------------- */

/* w[n] += N(0, (sigma_rel·RMS(w))²) drawn from (seed, stream); RMS over w before noise.
 * Entry i's noise is eco_merge_normal(seed, stream, i); sigma_rel 0 (or RMS 0) changes
 * nothing. */
void eco_mutate_tensor(float *w, int64_t n, double sigma_rel, uint64_t seed, uint64_t stream);
/* Magnitude pruning: zeroes all but the (int64)(density·n) largest |w − base| (base NULL:
 * |w|; ties: lower index first), setting pruned entries to base (or 0). Returns the count set
 * (the achieved sparsity is that / n); density >= 1 sets none, density <= 0 all. */
int64_t eco_prune_magnitude(float *w, const float *base, int64_t n, double density);
/* Crossover's coin for a tensor (or a layer: pass its stream): which of n_parents,
 * ⌊uniform(seed, stream, 0)·n_parents⌋ (0 when n_parents <= 1). */
int eco_crossover_pick(uint64_t seed, uint64_t stream, int n_parents);

#ifdef __cplusplus
}
#endif
#endif
