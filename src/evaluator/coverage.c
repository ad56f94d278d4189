/*
 * The fitness's new-capability coverage (evaluator.h: eco_eval_coverage): the share of the
 * corpus's capabilities the candidate passes and none of its lineage parents does.
 */
#include <string.h>

#include "gates_internal.h"

/* The figures of capability cap in r (not "overall"), or NULL. */
static const eco_eval_cap_figures *find_cap(const eco_eval_report *r, const char *cap) {
    for (size_t i = 0; i + 1 < r->n_caps; i++)
        if (strcmp(r->caps_fig[i].capability, cap) == 0) return &r->caps_fig[i];
    return NULL;
}

bool eco_eval_cap_passed(const eco_gates *g, const eco_eval_report *r, const char *cap) {
    const eco_eval_cap_figures *f = r && cap ? find_cap(r, cap) : NULL;
    if (!f || f->quality_by_tag[0].n == 0) return false;
    double min = ECO_COVERAGE_PASS_RATE;
    if (g) eco_gates_min_for(g->min, g->n_min, cap, &min);
    return f->quality_by_tag[0].rate >= min;
}

static bool listed(const eco_coverage_parent *p, const char *cap) {
    for (size_t i = 0; i < p->n_capabilities; i++)
        if (p->capabilities[i] && strcmp(p->capabilities[i], cap) == 0) return true;
    return false;
}

eco_status eco_eval_coverage(const eco_gates *g, const eco_eval_report *candidate,
                             const eco_coverage_parent *parents, size_t n_parents,
                             double *coverage) {
    if (coverage) *coverage = 0;
    if (!candidate || !coverage || (n_parents && !parents))
        return eco_error(ECO_STATUS_EINVAL, "coverage: NULL argument");
    if (candidate->n_caps == 0 || !candidate->caps_fig ||
        strcmp(candidate->caps_fig[candidate->n_caps - 1].capability, "overall") != 0)
        return eco_error(ECO_STATUS_EINVAL, "coverage: report has no \"overall\" figures last");
    for (size_t k = 0; k < n_parents; k++) {
        const eco_eval_report *pr = parents[k].report;
        if (pr && strcmp(pr->corpus_sha256, candidate->corpus_sha256) != 0)
            return eco_error(ECO_STATUS_EINVAL,
                             "coverage: parent %zu's report is on corpus %.16s, not %.16s", k,
                             pr->corpus_sha256, candidate->corpus_sha256);
        if (!pr && parents[k].n_capabilities && !parents[k].capabilities)
            return eco_error(ECO_STATUS_EINVAL, "coverage: parent %zu's capabilities missing", k);
    }
    size_t n_caps = candidate->n_caps - 1, fresh = 0;
    if (n_parents == 0 || n_caps == 0) return ECO_STATUS_OK;
    for (size_t i = 0; i < n_caps; i++) {
        const char *cap = candidate->caps_fig[i].capability;
        if (!eco_eval_cap_passed(g, candidate, cap)) continue;
        bool old = false;
        for (size_t k = 0; k < n_parents && !old; k++)
            old = parents[k].report ? eco_eval_cap_passed(g, parents[k].report, cap)
                                    : listed(&parents[k], cap);
        fresh += !old;
    }
    *coverage = (double)fresh / (double)n_caps;
    return ECO_STATUS_OK;
}
