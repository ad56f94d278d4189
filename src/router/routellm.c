/* RouteLLM's router metrics (router.h: eco_routellm_eval).
 *
 * Followed: RouteLLM (Ong et al., "RouteLLM: Learning to Route LLMs with Preference Data",
 * arXiv:2406.18665, §5.1) and its evaluation code, lm-sys/RouteLLM routellm/evals/
 * evaluate.py and benchmarks.py:
 *  - a request goes to the strong model when the router's score ("strong win rate") is at
 *    or above the threshold; the quality at a threshold is the mean over requests of the
 *    routed model's quality; the call share is the share sent to the strong model;
 *  - PGR(x) = (q(x) - q_weak) / (q_strong - q_weak);
 *  - APGR: evaluate.py integrates the quality over the call share with np.trapz and
 *    normalises by the same integral of the weak and strong lines, which over x in [0, 1]
 *    is the trapezoid area under PGR(x);
 *  - CPT(p): evaluate.py's np.interp of p·(q_strong - q_weak) + q_weak over the curve, the
 *    call share at which the quality reaches that level.
 * Where this differs, and why: RouteLLM sweeps the thresholds at 10 quantile bins of the
 * scores (pd.qcut); here every distinct score is a threshold (the full curve, so CPT does
 * not depend on a bin count), and the curve starts at call share 0 (no strong call) and
 * ends at 1. np.interp assumes a quality rising with the call share; here CPT(p) is the
 * first crossing of PGR = p, interpolated linearly inside its segment, which is np.interp's
 * value wherever the curve rises. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/router.h"

void eco_routellm_free(eco_routellm_result *res) {
    if (!res) return;
    free(res->curve);
    memset(res, 0, sizeof *res);
}

double eco_routellm_cpt(const eco_routellm_result *res, double p) {
    if (!res || !res->curve || res->n_points == 0 || !(p > 0 && p <= 1)) return NAN;
    const eco_routellm_point *c = res->curve;
    if (c[0].pgr >= p) return c[0].call_share;
    for (size_t i = 1; i < res->n_points; i++) {
        if (c[i].pgr < p) continue;
        /* c[i - 1].pgr < p <= c[i].pgr */
        const double f = (p - c[i - 1].pgr) / (c[i].pgr - c[i - 1].pgr);
        return c[i - 1].call_share + f * (c[i].call_share - c[i - 1].call_share);
    }
    return NAN; /* not reached: the last point has PGR 1 */
}

eco_status eco_routellm_eval(const double *strong, const double *weak, const double *score,
                             size_t n, eco_routellm_result *out) {
    if (!strong || !weak || !score || !out || n == 0)
        return eco_error(ECO_STATUS_EINVAL, "routellm: NULL argument or no requests");
    memset(out, 0, sizeof *out);
    double sum_w = 0, sum_s = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(strong[i]) || !isfinite(weak[i]) || !isfinite(score[i]))
            return eco_error(ECO_STATUS_EINVAL,
                             "routellm: request %zu: strong %g, weak %g, score %g: not finite", i,
                             strong[i], weak[i], score[i]);
        sum_w += weak[i];
        sum_s += strong[i];
    }
    const double q_weak = sum_w / (double)n, q_strong = sum_s / (double)n;
    const double gap = q_strong - q_weak;
    if (gap == 0)
        return eco_error(ECO_STATUS_ERANGE,
                         "routellm: the strong and the weak model have the same quality (%g): no "
                         "gap to recover",
                         q_weak);
    eco_keyed *order = eco_malloc_array(n, sizeof *order);
    eco_routellm_point *curve = eco_malloc_array(n + 1, sizeof *curve);
    if (!order || !curve) {
        free(order);
        free(curve);
        return eco_error(ECO_STATUS_ENOMEM, "routellm: out of memory");
    }
    /* by score descending: the first k requests go to the strong model */
    for (size_t i = 0; i < n; i++) order[i] = (eco_keyed){.v = -score[i], .i = i};
    qsort(order, n, sizeof *order, eco_cmp_keyed);
    size_t m = 0;
    curve[m++] =
        (eco_routellm_point){.threshold = INFINITY, .call_share = 0, .quality = q_weak, .pgr = 0};
    double gained = 0; /* sum of strong - weak over the requests sent to the strong model */
    for (size_t j = 0; j < n; j++) {
        const size_t i = order[j].i;
        gained += strong[i] - weak[i];
        if (j + 1 < n && order[j + 1].v == order[j].v) continue; /* a threshold takes ties whole */
        const double q = (sum_w + gained) / (double)n;
        curve[m++] = (eco_routellm_point){.threshold = score[i],
                                          .call_share = (double)(j + 1) / (double)n,
                                          .quality = q,
                                          .pgr = (q - q_weak) / gap};
    }
    /* the last point sends every request to the strong model: q_strong exactly (the sum
     * above may differ from it in the last bit) */
    curve[m - 1].quality = q_strong;
    curve[m - 1].pgr = 1;
    double area = 0;
    for (size_t k = 1; k < m; k++)
        area +=
            (curve[k].call_share - curve[k - 1].call_share) * (curve[k].pgr + curve[k - 1].pgr) / 2;
    free(order);
    out->curve = curve;
    out->n_points = m;
    out->q_weak = q_weak;
    out->q_strong = q_strong;
    out->apgr = area;
    out->cpt50 = eco_routellm_cpt(out, 0.5);
    out->cpt80 = eco_routellm_cpt(out, 0.8);
    return ECO_STATUS_OK;
}
