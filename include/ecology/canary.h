/*
 * canary: the judge and the step controller of a canary promotion (issue 21, "Promotion:
 * canary and rollback"), pure functions and a pure state machine: no clock, no I/O, no
 * registry. The loop routes requests, feeds what it saw here, and acts on the answer (moves
 * the alias on promote, sets the canary weight to 0 on abort, records the verdict's JSON).
 *
 * Pieces (src/promotion/canary_stats.c, canary_judge.c, canary_ctl.c, canary_settings.c):
 *
 *   statistics   a pooled two-proportion z-test (quality on labelled traffic, error rate),
 *                the Mann–Whitney U test with the normal approximation, tie and continuity
 *                corrections (as scipy.stats.mannwhitneyu(method="asymptotic")), and the
 *                Hodges–Lehmann shift with its distribution-free confidence interval.
 *   judge        one step's verdict: each check with its statistics, pass/fail and reasons,
 *                printable as canonical JSON.
 *   controller   Flagger's stepWeight / maxWeight / interval / threshold as a state machine
 *                fed one request (or one step's verdict) at a time; it answers hold, advance
 *                (new weight), promote or abort (weight 0, reasons).
 *
 * Directions: every figure is "canary against champion"; a shift is canary − champion.
 */
#ifndef ECOLOGY_CANARY_H
#define ECOLOGY_CANARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The judge's confidence, as Kayenta's NetflixACAJudge (confidence 0.98): one-sided tests
 * fail at p < ECO_CANARY_ALPHA, and the latency interval is the two-sided 98% one. */
#define ECO_CANARY_CONFIDENCE 0.98
#define ECO_CANARY_ALPHA      0.02
/* z of the two-sided 98% interval: the 0.99 quantile of the standard normal. */
#define ECO_CANARY_Z98        2.3263478740408408
/* Kayenta's MannWhitneyClassifier tolerance: the fraction of |Hodges–Lehmann| below which
 * a shift passes. */
#define ECO_CANARY_TOLERANCE  0.25
/* The Hodges–Lehmann shift sorts all n·m pairwise differences (8 bytes each): at most this
 * many pairs (32 MiB). ECO_CANARY_MAX_INTERVAL keeps a step under it. */
#define ECO_CANARY_MAX_PAIRS  ((size_t)1 << 22)

/* ---- two-proportion z-test ------------------------------------------------------------- */

typedef struct eco_canary_prop {
    uint64_t k_canary, n_canary;     /* events, trials of the canary */
    uint64_t k_champion, n_champion; /* events, trials of the champion */
    double rate_canary, rate_champion;
    double z;       /* (rate_canary − rate_champion) / se, pooled se; 0 when se = 0 */
    double p_worse; /* one-sided p-value of "canary worse" */
    bool ran;       /* false when either n is 0: no test (p_worse 1, z 0) */
} eco_canary_prop;

/* The pooled two-proportion z-test: p̂ = (k₁+k₂)/(n₁+n₂), se = sqrt(p̂(1−p̂)(1/n₁+1/n₂)),
 * z = (k₁/n₁ − k₂/n₂)/se (1 the canary, 2 the champion). higher_is_worse false (a success
 * rate): p_worse = Φ(z), the lower tail; true (an error rate): p_worse = Φ(−z). se = 0 (both
 * rates 0 or both 1) gives z = 0, p_worse = 0.5. k > n is EINVAL. */
eco_status eco_canary_prop_test(uint64_t k_canary, uint64_t n_canary, uint64_t k_champion,
                                uint64_t n_champion, bool higher_is_worse, eco_canary_prop *out);

/* ---- Mann–Whitney U ------------------------------------------------------------------- */

typedef struct eco_canary_mwu {
    size_t n_canary, n_champion;
    double u;           /* U of the canary: R₁ − n(n+1)/2, R₁ its rank sum (average ranks) */
    double z;           /* (U − nm/2 − 0.5) / σ: the one-sided "canary larger" z */
    double p_greater;   /* Φ(−z): canary stochastically larger */
    double p_two_sided; /* 2·Φ(−z₂), z₂ with max(U, nm − U), at most 1 */
} eco_canary_mwu;

/* The Mann–Whitney U test of canary[0..n) against champion[0..m) with the normal
 * approximation, as scipy.stats.mannwhitneyu(canary, champion, method="asymptotic",
 * use_continuity=True) computes it: σ² = nm/12 · ((N+1) − Σ(t³−t)/(N(N−1))), N = n+m, t the
 * size of each group of equal values in the pooled sample. σ = 0 (every value equal) gives
 * z = 0 and both p-values 1 (scipy: NaN). n or m 0, or a NaN or infinity (EINVAL naming the
 * sample and index), is refused. Allocates O(n+m) scratch (ENOMEM). */
eco_status eco_canary_mann_whitney(const double *canary, size_t n, const double *champion, size_t m,
                                   eco_canary_mwu *out);

/* ---- Hodges–Lehmann shift ------------------------------------------------------------- */

typedef struct eco_canary_shift {
    double estimate; /* median of the n·m differences canary[i] − champion[j] */
    double lo, hi;   /* the confidence interval below */
} eco_canary_shift;

/* The Hodges–Lehmann estimate of the shift canary − champion and its confidence interval at
 * two-sided normal quantile z (ECO_CANARY_Z98 for 98%), as Kayenta's MannWhitney
 * (kayenta-mannwhitney: MannWhitney.scala, R's wilcox.test(conf.int = TRUE, exact = FALSE,
 * correct = TRUE)) defines them:
 *
 *   W(μ) = (U(μ) − nm/2 − 0.5·sign(U(μ) − nm/2)) / σ(μ), U(μ) the U of canary − μ against
 *   champion. W is a non-increasing step function of μ that jumps only at the differences
 *   d = canary[i] − champion[j]; between two of them U(μ) = #{d > μ} and σ(μ) has only the
 *   ties inside each sample. lo is the difference at which W falls to z or below (the
 *   smallest d with W(d⁺) <= z), hi the one at which it falls to −z or below. Kayenta finds
 *   the same jump with Brent's method (up to its tolerance); it evaluates at μ exactly on a
 *   jump and so adds Gaussian noise to constant samples, which is not needed here.
 *   The estimate is the median of the sorted differences (the mean of the two middle ones
 *   for an even count), where U(μ) crosses nm/2: Kayenta's root of W(μ) = 0.
 *
 * n·m above ECO_CANARY_MAX_PAIRS is ERANGE; n or m 0, a NaN or infinity, or z <= 0, EINVAL.
 * Allocates the n·m differences (ENOMEM). */
eco_status eco_canary_hodges_lehmann(const double *canary, size_t n, const double *champion,
                                     size_t m, double z, eco_canary_shift *out);

/* ---- Kayenta's classification of a metric --------------------------------------------- */

typedef enum eco_canary_class {
    ECO_CANARY_CLASS_PASS = 0,
    ECO_CANARY_CLASS_HIGH = 1,   /* canary significantly and materially higher */
    ECO_CANARY_CLASS_LOW = 2,    /* canary significantly and materially lower */
    ECO_CANARY_CLASS_NODATA = 3, /* a sample is empty */
} eco_canary_class;

/* "pass", "high", "low", "nodata"; NULL for anything else. */
const char *eco_canary_class_name(eco_canary_class c);

typedef struct eco_canary_metric {
    eco_canary_class cls;
    eco_canary_mwu mwu;     /* the U test at μ = 0 (reported; the rule uses the interval) */
    eco_canary_shift shift; /* Hodges–Lehmann and its 98% interval */
    double bound;           /* ECO_CANARY_TOLERANCE · |shift.estimate| */
    double mean_ratio;      /* mean(canary) / mean(champion); NaN when either mean is 0 */
    bool ran;               /* the statistics were computed (not a shortcut below) */
} eco_canary_metric;

/* Kayenta's MannWhitneyClassifier.classify with NetflixACAJudge's settings (tolerance 0.25,
 * confidence 0.98, effect size "meanRatio" with allowedIncrease = allowedDecrease = 1.0,
 * direction "either", not critical), exactly:
 *   - either sample empty: NODATA;
 *   - the sorted samples identical, or one distinct value in both together: PASS (ran false);
 *   - otherwise, with [lo, hi] the 98% interval and b = 0.25·|estimate|:
 *       HIGH when lo > b and (mean_ratio is NaN or mean_ratio >= 1),
 *       LOW  when hi < −b and (mean_ratio is NaN or mean_ratio <= 1),
 *       PASS otherwise.
 * So a shift is a failure only when the whole interval lies beyond a quarter of the
 * estimated shift: an effect smaller than 0.25 × the Hodges–Lehmann estimate (one the data
 * cannot tell from a quarter of itself) passes. Errors as eco_canary_hodges_lehmann. */
eco_status eco_canary_classify(const double *canary, size_t n, const double *champion, size_t m,
                               eco_canary_metric *out);

/* ---- the judge: one step ---------------------------------------------------------------- */

/* What one step saw of one arm (canary or champion). */
typedef struct eco_canary_arm {
    uint64_t requests;      /* requests routed to the arm */
    uint64_t errors;        /* of them, failed (no answer) */
    uint64_t labelled;      /* of the answered, those with a label */
    uint64_t correct;       /* of the labelled, correct */
    uint64_t safety_alerts; /* safety alerts raised on the arm's answers */
    const double *latency;  /* [n_latency] latency of each answered request (ms); borrowed */
    size_t n_latency;
} eco_canary_arm;

/* The checks, as bits of eco_canary_verdict.failed. */
typedef enum eco_canary_check {
    ECO_CANARY_CHECK_QUALITY = 1u << 0, /* success rate on labelled traffic lower */
    ECO_CANARY_CHECK_LATENCY = 1u << 1, /* Kayenta HIGH on latency */
    ECO_CANARY_CHECK_ERRORS = 1u << 2,  /* error rate higher */
    ECO_CANARY_CHECK_SAFETY = 1u << 3,  /* a safety alert on the canary (critical) */
} eco_canary_check;

#define ECO_CANARY_REASONS_SIZE 512

typedef struct eco_canary_verdict {
    bool pass;               /* no check failed */
    bool critical;           /* the safety check failed: abort at once, whatever threshold */
    unsigned failed;         /* eco_canary_check bits */
    eco_canary_prop quality; /* successes of the labelled: k correct of n labelled */
    eco_canary_prop errors;  /* errors of the requests */
    eco_canary_metric latency;
    uint64_t safety_alerts; /* the canary's */
    uint64_t requests_canary, requests_champion;
    char reasons[ECO_CANARY_REASONS_SIZE]; /* "; "-separated, "" when it passed */
} eco_canary_verdict;

/* Judges a step: quality fails when quality.p_worse < ECO_CANARY_ALPHA, errors when
 * errors.p_worse < ECO_CANARY_ALPHA, latency when eco_canary_classify says HIGH, safety when
 * the canary raised any alert. A check without data on either arm (no labelled answers, no
 * requests, no latencies) passes and says so in its statistics (ran false). EINVAL for
 * inconsistent counts (errors > requests, correct > labelled, labelled > requests − errors)
 * naming the arm and field; the latency errors of eco_canary_classify. */
eco_status eco_canary_judge(const eco_canary_arm *canary, const eco_canary_arm *champion,
                            eco_canary_verdict *out);

/* The verdict as canonical JSON (core's eco_json_canonical: sorted keys, no white space):
 *   {"pass", "critical", "failed": [check names], "reasons", "requests": {"canary",
 *    "champion"}, "quality" / "errors": {"ran", "k_canary", "n_canary", "k_champion",
 *    "n_champion", "rate_canary", "rate_champion", "z", "p_worse"}, "latency": {"ran",
 *    "class", "u", "z", "p_greater", "p_two_sided", "hl_estimate", "hl_lo", "hl_hi",
 *    "bound", "mean_ratio" (null when NaN), "n_canary", "n_champion"}, "safety_alerts"}.
 * *out malloc'd, NUL-terminated; caller frees. ENOMEM. */
eco_status eco_canary_verdict_json(const eco_canary_verdict *v, char **out);

/* "quality", "latency", "errors", "safety"; NULL for anything else. */
const char *eco_canary_check_name(eco_canary_check c);

/* ---- settings ----------------------------------------------------------------------------- */

#define ECO_CANARY_MAX_INTERVAL  4096 /* requests per step: (4096/2)² = ECO_CANARY_MAX_PAIRS */
#define ECO_CANARY_MAX_THRESHOLD 1000

/* Flagger's analysis settings (its field names), with the interval in requests. */
typedef struct eco_canary_settings {
    int step_weight;  /* "stepWeight": canary share added per step, percent, 1..100 */
    int max_weight;   /* "maxWeight": share at which the canary is promoted, step_weight..100 */
    int64_t interval; /* "interval": requests (both arms) per step, 1..ECO_CANARY_MAX_INTERVAL */
    int threshold;    /* "threshold": failed steps before rollback, 1..ECO_CANARY_MAX_THRESHOLD */
} eco_canary_settings;

/* Parses {"stepWeight": 10, "maxWeight": 50, "interval": 1000, "threshold": 2} (every field
 * required, integers, no others). EFORMAT naming the field ("<label>: maxWeight: ...") for
 * malformed JSON, a missing, mistyped, out-of-range or unknown field, and for maxWeight below
 * stepWeight. */
eco_status eco_canary_settings_parse(const char *text, size_t len, const char *label,
                                     eco_canary_settings *out);
/* The same checks on settings in hand (EINVAL naming the field). */
eco_status eco_canary_settings_check(const eco_canary_settings *s);

typedef struct eco_canary_timing {
    int steps;                 /* ceil(maxWeight / stepWeight) */
    int64_t promote_requests;  /* interval · steps: the soonest a canary is promoted */
    int64_t rollback_requests; /* interval · threshold: a canary failing every step */
} eco_canary_timing;

/* The timing that follows from s (Flagger: "interval × (maxWeight / stepWeight)" to
 * promote, "interval × threshold" to roll back; a safety alert rolls back at once).
 * EINVAL for settings eco_canary_settings_check refuses. */
eco_status eco_canary_settings_timing(const eco_canary_settings *s, eco_canary_timing *out);
/* Appends to out two lines: "minimum time to promote: S steps x I requests = P requests
 * (weights W1, W2, ..., max%)" and "time to roll back: T failed steps x I requests = R
 * requests (a safety alert: at once)". EINVAL as above, ENOMEM. */
eco_status eco_canary_settings_describe(const eco_canary_settings *s, eco_buf *out);

/* ---- controller --------------------------------------------------------------------------- */

typedef enum eco_canary_action {
    ECO_CANARY_ACTION_HOLD = 0, /* keep the weight (mid-step, or a failed step under threshold) */
    ECO_CANARY_ACTION_ADVANCE = 1, /* the step passed: new weight */
    ECO_CANARY_ACTION_PROMOTE = 2, /* passed at maxWeight: move the champion alias */
    ECO_CANARY_ACTION_ABORT = 3,   /* weight 0, alias unchanged; reasons in the verdict */
} eco_canary_action;

/* "hold", "advance", "promote", "abort"; NULL for anything else. */
const char *eco_canary_action_name(eco_canary_action a);

/* One request as the router saw it. */
typedef struct eco_canary_obs {
    bool canary;       /* served by the canary (else the champion) */
    bool error;        /* failed: no answer (latency and label ignored) */
    int label;         /* −1 no label; 0 wrong; 1 correct */
    double latency;    /* ms, finite and >= 0 */
    bool safety_alert; /* the answer raised a safety alert */
} eco_canary_obs;

typedef struct eco_canary_decision {
    eco_canary_action action;
    int weight;        /* the canary weight from now on (percent; 0 after abort) */
    int failed_checks; /* failed steps so far */
    bool step_ended;   /* a step was judged by this call: verdict holds it */
    eco_canary_verdict verdict;
} eco_canary_decision;

typedef struct eco_canary_ctl eco_canary_ctl;

/* A controller at weight stepWeight (the first step), no failed checks. Settings copied;
 * EINVAL as eco_canary_settings_check; ENOMEM. Free with eco_canary_ctl_free. */
eco_status eco_canary_ctl_create(const eco_canary_settings *s, eco_canary_ctl **out);
void eco_canary_ctl_free(eco_canary_ctl *c);
/* The current canary weight (percent; 0 after abort, maxWeight after promote). */
int eco_canary_ctl_weight(const eco_canary_ctl *c);
/* Requests observed so far, both arms, all steps. */
int64_t eco_canary_ctl_requests(const eco_canary_ctl *c);

/* Feeds one request. A safety alert on the canary aborts at once (step_ended true, the
 * verdict the partial step's with the safety check failed). Otherwise, when the step holds
 * `interval` requests, the step is judged (eco_canary_judge) and applied as
 * eco_canary_ctl_step does; before that the answer is HOLD. EINVAL after promote or abort,
 * or for a bad observation (label, latency); the latency errors of the judge. */
eco_status eco_canary_ctl_observe(eco_canary_ctl *c, const eco_canary_obs *obs,
                                  eco_canary_decision *out);

/* Applies one step's verdict (Flagger's rule): critical → ABORT; failed → failed_checks + 1
 * (never reset during the analysis, as Flagger's status.failedChecks), ABORT when it reaches
 * threshold, HOLD otherwise; passed → ADVANCE to min(weight + stepWeight, maxWeight), or
 * PROMOTE when the weight already is maxWeight. The step's observations are dropped.
 * EINVAL after promote or abort. */
eco_status eco_canary_ctl_step(eco_canary_ctl *c, const eco_canary_verdict *v,
                               eco_canary_decision *out);

#ifdef __cplusplus
}
#endif
#endif
