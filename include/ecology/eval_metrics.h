/*
 * eval_metrics: the evaluator's figures, as pure functions of arrays the caller owns
 * (src/evaluator/metrics_*.c). Every definition below is exact: a reimplementation that
 * follows the words gives the same numbers (the tests check them against hand-computed
 * values and against numpy, scripts/make_eval_metrics_fixture.py).
 *
 * Inputs come from runs, not from users, but they are still checked: a NaN or an
 * out-of-range confidence is refused with EINVAL naming the index, never silently binned.
 *
 *   pass rate         k of n, with its 95% Wilson score interval
 *   calibration       ECE over 10 equal-mass bins (HELM's ece_10_bin), ECE over 10
 *                     equal-width bins, the Brier score, accuracy on the 10% most confident
 *                     answers, and a flag when n < 300 (where ECE is unreliable)
 *   latency           nearest-rank percentiles p50 / p95 / p99
 *   robustness        seeded prompt perturbations (typos, random case, white space, a
 *                     distracting prefix), and the mean and worst pass rate over the kinds
 */
#ifndef ECOLOGY_EVAL_METRICS_H
#define ECOLOGY_EVAL_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- pass rate with a Wilson score interval ------------------------------------------ */

/* z for a two-sided 95% interval: the 0.975 quantile of the standard normal. */
#define ECO_WILSON_Z95 1.959963984540054

typedef struct eco_rate {
    uint64_t k, n; /* passed, counted */
    double rate;   /* k / n; 0 when n = 0 */
    double lo, hi; /* 95% Wilson score interval; [0, 1] when n = 0 */
} eco_rate;

/* The pass rate k/n and its Wilson score interval (Wilson 1927), z = ECO_WILSON_Z95:
 *
 *   p = k/n,  d = 1 + z²/n,  centre = (p + z²/(2n)) / d,
 *   half = (z/d) · sqrt(p(1−p)/n + z²/(4n²)),   [lo, hi] = [centre − half, centre + half]
 *
 * clamped to [0, 1] (k = 0 gives lo = 0 and k = n gives hi = 1 exactly). n = 0 (nothing
 * counted) is defined as rate 0 with the uninformative interval [0, 1]. k > n is EINVAL. */
eco_status eco_rate_wilson(uint64_t k, uint64_t n, eco_rate *out);

/* ---- calibration --------------------------------------------------------------------- */

#define ECO_CALIBRATION_BINS  10  /* both ECEs use 10 bins */
#define ECO_CALIBRATION_MIN_N 300 /* below this many answers ECE is flagged unreliable */

typedef struct eco_calibration {
    size_t n;         /* answers */
    double accuracy;  /* mean of correct */
    double mean_conf; /* mean confidence */
    double ece_em;    /* 10 equal-mass bins: HELM's ece_10_bin */
    double ece_ew;    /* 10 equal-width bins */
    double brier;     /* mean (conf − correct)² */
    double acc_top10; /* accuracy on the n_top10 most confident answers */
    size_t n_top10;   /* ceil(n/10) */
    bool small_n;     /* n < ECO_CALIBRATION_MIN_N: "ECE unreliable" */
} eco_calibration;

/* Calibration of n answers: conf[i] in [0, 1] is the confidence of answer i (the product of
 * its tokens' probabilities, or for a choice the softmax over the options), correct[i] 0 or
 * 1 whether it passed. Every ECE is Σ_b (|b|/n) · |mean conf in b − mean correct in b| over
 * the non-empty bins b (the plug-in L1 estimate, no debiasing).
 *
 * ece_em — equal mass, exactly as HELM's ece_10_bin computes it: HELM
 *   (stanford-crfm/helm: src/helm/benchmark/metrics/basic_metrics.py,
 *   compute_calibration_metrics) calls cal.get_ece_em(max_probs, correct, num_bins=10) of
 *   the `calibration` package (p-lambda/verified_calibration: calibration/utils.py,
 *   get_equal_bins, fast_bin, plugin_ce). With 1-D confidences that is:
 *     m = min(10, n); sort the confidences ascending and cut them into m consecutive
 *     parts as np.array_split does (the first n mod m parts hold ⌊n/m⌋+1, the rest ⌊n/m⌋);
 *     boundary j (j = 0..m−2) = (last value of part j + first value of part j+1) / 2, then
 *     1.0 is appended; duplicate boundaries are dropped (set) and the rest sorted;
 *     a confidence c goes to the first bin whose boundary is >= c (np.searchsorted, side
 *     left): bin j holds boundary[j−1] < c <= boundary[j], so a confidence equal to a
 *     boundary falls in the lower bin, and equal confidences always share a bin.
 *   So all-equal confidences make one bin (ECE = |c − accuracy|), and fewer than 10
 *   distinct values make fewer bins.
 * ece_ew — equal width, as the same package's get_ece(num_bins=10) bins: boundaries
 *   j/10 (j = 1..10, computed as (double)j / 10), bin j holds (j/10 − 0.1, j/10], except
 *   that 0 falls in the first bin: the bin of c is the first j with c <= j/10.
 * brier — (1/n) Σ (conf[i] − correct[i])²: the binary Brier score of the answer's
 *   confidence (0 best, 1 worst).
 * acc_top10 — sort the answers by confidence, highest first, equal confidences in index
 *   order (a stable rule: the earlier case first); n_top10 = ceil(n/10) = (n + 9) / 10; the
 *   accuracy of the first n_top10. (HELM's selective_acc@10 takes the first ⌊0.1·n⌋ + 1
 *   after an unstable argsort: the same count unless 10 divides n, where HELM takes one
 *   answer more, e.g. 2 of 10.)
 * small_n — n < 300: HELM's note that ece_10_bin needs about 300 examples; callers print
 *   a warning beside the figures.
 *
 * n = 0 is defined: every figure 0, n_top10 0, small_n true. A conf that is NaN or outside
 * [0, 1], or a correct other than 0 or 1, is EINVAL naming its index; *out is then as for
 * n = 0.
 * Allocates O(n) scratch (ENOMEM). */
eco_status eco_calibration_compute(const double *conf, const uint8_t *correct, size_t n,
                                   eco_calibration *out);

/* The equal-mass bin boundaries of conf[0..n) as above (the sorted, de-duplicated
 * boundaries, the last one 1.0) into bounds (room for ECO_CALIBRATION_BINS); *n_bounds
 * their count (0 when n = 0). For tests and reports. Same input checks. */
eco_status eco_calibration_em_bounds(const double *conf, size_t n, double *bounds,
                                     size_t *n_bounds);

/* ---- nearest-rank percentiles -------------------------------------------------------- */

typedef struct eco_latency {
    size_t n;
    double p50, p95, p99; /* nearest rank; 0 when n = 0 */
    double min, max, mean;
} eco_latency;

/* Percentiles are core's eco_percentile_nearest_rank (core.h). */

/* p50/p95/p99 (as above), min, max and mean of values[0..n) (any order; not modified).
 * n = 0: every figure 0. A NaN or an infinity is EINVAL naming its index. O(n) scratch. */
eco_status eco_latency_compute(const double *values, size_t n, eco_latency *out);

/* ---- robustness: seeded prompt perturbations ---------------------------------------- */

typedef enum eco_perturb_kind {
    ECO_PERTURB_TYPO = 0,   /* character typos on letters */
    ECO_PERTURB_CASE = 1,   /* random case of every letter */
    ECO_PERTURB_SPACE = 2,  /* extra or missing spaces */
    ECO_PERTURB_PREFIX = 3, /* a distracting sentence before the prompt */
    ECO_PERTURB__COUNT
} eco_perturb_kind;

#define ECO_PERTURB_TYPO_RATE  0.05 /* default share of letters given a typo */
#define ECO_PERTURB_SPACE_RATE 0.2  /* default share of spaces dropped or doubled */
#define ECO_PERTURB_N_PREFIXES 8

/* "typo", "case", "space", "prefix"; NULL past the end. */
const char *eco_perturb_kind_name(eco_perturb_kind kind);
/* The kind named name into *out; EINVAL listing the names otherwise. */
eco_status eco_perturb_kind_parse(const char *name, eco_perturb_kind *out);
/* Distracting prefix i (0..ECO_PERTURB_N_PREFIXES−1) of the fixed list; NULL past the end.
 * Each ends in a space and is followed directly by the prompt. */
const char *eco_perturb_prefix(size_t i);

typedef struct eco_perturb_opts {
    double typo_rate;  /* in (0, 1]; 0 picks ECO_PERTURB_TYPO_RATE */
    double space_rate; /* in (0, 1]; 0 picks ECO_PERTURB_SPACE_RATE */
    /* Only prompt[begin, end) is perturbed (end 0: to the end of the prompt); the rest is
     * copied as it is, so the data a task's answer depends on can be left alone. Both on
     * code point boundaries. The prefix kind ignores them (it always goes first). */
    size_t begin, end;
} eco_perturb_opts;

/* Appends to out the prompt (len bytes, valid UTF-8) perturbed by kind. The result is a
 * function of (seed, case_index, kind, prompt, opts) alone — every draw comes from an
 * eco_rng seeded with mix(seed, case_index, kind) (splitmix64's finaliser chained over the
 * three), so cases can be perturbed in any order, in parallel, and again later with the
 * same bytes. Letters are ASCII A–Z and a–z; white space is U+0020 only; every other code
 * point (non-ASCII letters included) is copied unchanged, so no code point is ever split.
 *
 *  typo   the letters of the span are visited in order; each, with probability typo_rate,
 *         gets one edit drawn uniformly from: swap with the next code point when that is a
 *         letter too (otherwise duplicate), drop, duplicate. A swapped pair is not edited
 *         again. When no letter was drawn and the span has letters, one letter chosen
 *         uniformly gets one edit as above: a prompt with a letter always changes (unless
 *         a swap meets its twin, "ee").
 *  case   every letter of the span becomes upper or lower case with probability 1/2 each.
 *  space  every space of the span, with probability space_rate, is dropped or doubled (a
 *         fair coin); when none was drawn and the span has spaces, one chosen uniformly
 *         is; a span without spaces gets one space inserted at a code point boundary
 *         inside it chosen uniformly (after its last code point when it has one or none).
 *  prefix one of the ECO_PERTURB_N_PREFIXES sentences chosen uniformly, then the prompt.
 *
 * EINVAL for an unknown kind, a rate outside [0, 1], a span outside the prompt or not on
 * code point boundaries, invalid UTF-8 (naming the byte offset); ENOMEM. On error out
 * keeps what it had. */
eco_status eco_perturb(eco_perturb_kind kind, uint64_t seed, uint64_t case_index,
                       const char *prompt, size_t len, const eco_perturb_opts *opts, eco_buf *out);

typedef struct eco_robustness {
    double mean;    /* mean of the per-kind pass rates */
    double worst;   /* the smallest of them */
    int worst_kind; /* its index (the first on a tie); −1 when n = 0 */
} eco_robustness;

/* The mean and the worst of pass_rate[0..n) (n kinds, normally ECO_PERTURB__COUNT, in kind
 * order). n = 0: mean 0, worst 0, worst_kind −1. A rate that is NaN or outside [0, 1] is
 * EINVAL. */
eco_status eco_robustness_summary(const double *pass_rate, size_t n, eco_robustness *out);

#ifdef __cplusplus
}
#endif
#endif
