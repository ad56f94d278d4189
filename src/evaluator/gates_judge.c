/*
 * Gates: the verdict over a report (every hard gate checked, every failure listed with its
 * value and limit, gates without a measured figure listed apart) and the fitness of the
 * survivors, every term kept (the rules are in include/ecology/evaluator.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gates_internal.h"

static eco_status oom(void) { return eco_error(ECO_STATUS_ENOMEM, "gates: out of memory"); }

void eco_verdict_free(eco_verdict *v) {
    if (!v) return;
    for (size_t i = 0; v->failures && i < v->n_failures; i++) free(v->failures[i].gate);
    for (size_t i = 0; v->not_measured && i < v->n_not_measured; i++) free(v->not_measured[i]);
    free(v->failures);
    free(v->not_measured);
    memset(v, 0, sizeof *v);
}

/* The verdict being built; lists grow by doubling. */
typedef struct judge {
    eco_verdict *v;
    size_t cap_fail, cap_nm;
} judge;

static char *gate_name(const char *gate, const char *cap) {
    if (!cap) return eco_strdup(gate);
    size_t n = strlen(gate) + strlen(cap) + 3;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s[%s]", gate, cap);
    return s;
}

static eco_status add_failure(judge *j, const char *gate, const char *cap, double value,
                              double limit, bool not_measured) {
    eco_verdict *v = j->v;
    if (v->n_failures == j->cap_fail) {
        size_t c = j->cap_fail ? 2 * j->cap_fail : 8;
        eco_gate_failure *f = realloc(v->failures, c * sizeof *f);
        if (!f) return oom();
        v->failures = f;
        j->cap_fail = c;
    }
    char *name = gate_name(gate, cap);
    if (!name) return oom();
    v->failures[v->n_failures++] =
        (eco_gate_failure){name, not_measured ? NAN : value, limit, not_measured};
    return ECO_STATUS_OK;
}

static eco_status add_not_measured(judge *j, const char *gate, const char *cap) {
    eco_verdict *v = j->v;
    if (v->n_not_measured == j->cap_nm) {
        size_t c = j->cap_nm ? 2 * j->cap_nm : 8;
        char **p = realloc(v->not_measured, c * sizeof *p);
        if (!p) return oom();
        v->not_measured = p;
        j->cap_nm = c;
    }
    char *name = gate_name(gate, cap);
    if (!name) return oom();
    v->not_measured[v->n_not_measured++] = name;
    return ECO_STATUS_OK;
}

/* One gate: when n == 0 (its figure counts nothing) a gate the file set (set) fails as not
 * measured, a default one passes listed as not measured; else it fails when value < limit
 * (min) or > limit. */
static eco_status check(judge *j, const char *gate, const char *cap, bool set, uint64_t n,
                        double value, double limit, bool is_min) {
    if (n == 0)
        return set ? add_failure(j, gate, cap, NAN, limit, true) : add_not_measured(j, gate, cap);
    bool fail = is_min ? value < limit : value > limit;
    return fail ? add_failure(j, gate, cap, value, limit, false) : ECO_STATUS_OK;
}

static eco_status finite_ok(const char *what, double x) {
    return isfinite(x)
               ? ECO_STATUS_OK
               : eco_error(ECO_STATUS_EINVAL, "gates: report figure %s is not finite", what);
}

/* A rate of the report: checked finite and inside [0, 1]. */
static eco_status rate_ok(const char *what, const char *cap, const eco_rate *r) {
    if (!isfinite(r->rate) || r->rate < 0 || r->rate > 1 || r->k > r->n)
        return eco_error(ECO_STATUS_EINVAL, "gates: report figure %s of '%s' is not a rate", what,
                         cap);
    return ECO_STATUS_OK;
}

/* quality.<which>[cap] for every capability of the report (not "overall", unless the file
 * names it), then for the names of the file the report lacks (failed as not measured: every
 * limit here comes from the file). tag: the quality_by_tag index. */
static eco_status quality_gates(judge *j, const char *gate, const eco_gates_min *m, size_t n,
                                const eco_eval_report *r, int tag) {
    eco_status st;
    for (size_t i = 0; i < r->n_caps; i++) {
        const eco_eval_cap_figures *f = &r->caps_fig[i];
        double limit;
        if (i + 1 == r->n_caps) { /* "overall": only when the file names it */
            const eco_gates_min *e = eco_gates_min_find(m, n, f->capability);
            if (!e || !e->set) continue;
            limit = e->min;
        } else if (!eco_gates_min_for(m, n, f->capability, &limit)) {
            continue;
        }
        const eco_rate *q = &f->quality_by_tag[tag];
        if ((st = rate_ok(gate, f->capability, q))) return st;
        if ((st = check(j, gate, f->capability, true, q->n, q->rate, limit, true))) return st;
    }
    for (size_t k = 0; k < n; k++) {
        if (!m[k].set || strcmp(m[k].capability, "*") == 0) continue;
        bool found = false;
        for (size_t i = 0; i < r->n_caps && !found; i++)
            found = strcmp(r->caps_fig[i].capability, m[k].capability) == 0;
        if (!found && (st = add_failure(j, gate, m[k].capability, NAN, m[k].min, true))) return st;
    }
    return ECO_STATUS_OK;
}

static eco_status judge_all(judge *j, const eco_gates *g, const eco_eval_report *r,
                            const eco_eval_cap_figures *all, bool signature_ok) {
    eco_status st;
    if (g->signature_required && !signature_ok &&
        (st = add_failure(j, "signature.required", NULL, 0, 1, false)))
        return st;
    if ((st = rate_ok("refusal", all->capability, &all->refusal)) ||
        (st = check(j, "safety.min_refusal_rate", NULL, g->set_min_refusal, all->refusal.n,
                    all->refusal.rate, g->min_refusal_rate, true)))
        return st;
    if ((st = rate_ok("compliance", all->capability, &all->compliance)) ||
        (st = check(j, "safety.min_compliance_rate", NULL, g->set_min_compliance, all->compliance.n,
                    all->compliance.rate, g->min_compliance_rate, true)))
        return st;
    /* Deny hits are measured over every output, when there was a deny list to search. */
    if ((st = check(j, "safety.max_deny_hits", NULL, g->set_max_deny_hits,
                    r->caps.n_deny ? r->n_results : 0, (double)r->deny_hits,
                    (double)g->max_deny_hits, false)))
        return st;
    if (g->has_min_validity && ((st = rate_ok("format", all->capability, &all->format)) ||
                                (st = check(j, "format.min_validity", NULL, true, all->format.n,
                                            all->format.rate, g->min_validity, true))))
        return st;
    if ((st = quality_gates(j, "quality.min", g->min, g->n_min, r, 0)) ||
        (st = quality_gates(j, "quality.min_shift", g->min_shift, g->n_min_shift, r, 1)))
        return st;
    if (g->has_max_p95_ms && ((st = finite_ok("latency_ms.p95", r->latency_ms.p95)) ||
                              (st = check(j, "latency.max_p95_ms", NULL, true, r->latency_ms.n,
                                          r->latency_ms.p95, g->max_p95_ms, false))))
        return st;
    if (g->has_max_resident &&
        (st = check(j, "memory.max_resident_bytes", NULL, true, r->peak_rss_bytes != 0,
                    (double)r->peak_rss_bytes, (double)g->max_resident_bytes, false)))
        return st;
    return ECO_STATUS_OK;
}

static eco_status fitness(const eco_gates *g, const eco_eval_report *r,
                          const eco_eval_cap_figures *all, double coverage, eco_fitness *f) {
    eco_status st;
    double *o = f->objectives;
    o[0] = all->quality.rate;
    o[1] = all->calibration.n ? 1.0 - all->calibration.ece_em : 0.0;
    o[2] = all->robustness.mean;
    o[3] = coverage;
    o[4] = -(r->latency_ms.p95 / 1000.0);
    o[5] = -((double)r->peak_rss_bytes / (double)(UINT64_C(1) << 30));
    static const char *const names[6] = {"quality",  "calibration.ece_em", "robustness.mean",
                                         "coverage", "latency_ms.p95",     "peak_rss_bytes"};
    for (int i = 0; i < 6; i++)
        if ((st = finite_ok(names[i], o[i]))) return st;
    f->quality = g->w[ECO_W_QUALITY] * o[0];
    f->calibration = g->w[ECO_W_CALIBRATION] * o[1];
    f->robustness = g->w[ECO_W_ROBUSTNESS] * o[2];
    f->coverage = g->w[ECO_W_COVERAGE] * o[3];
    f->latency = g->w[ECO_W_LATENCY] * o[4];
    f->memory = g->w[ECO_W_MEMORY] * o[5];
    f->total = f->quality + f->calibration + f->robustness + f->coverage + f->latency + f->memory;
    return ECO_STATUS_OK;
}

eco_status eco_gates_judge(const eco_gates *g, const eco_eval_report *report, bool signature_ok,
                           double coverage, eco_verdict *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!g || !report || !out) return eco_error(ECO_STATUS_EINVAL, "gates: NULL argument");
    if (!(coverage >= 0 && coverage <= 1))
        return eco_error(ECO_STATUS_EINVAL, "gates: coverage %g outside [0, 1]", coverage);
    if (report->n_caps == 0 || !report->caps_fig ||
        !report->caps_fig[report->n_caps - 1].capability ||
        strcmp(report->caps_fig[report->n_caps - 1].capability, "overall") != 0)
        return eco_error(ECO_STATUS_EINVAL, "gates: report has no \"overall\" figures last");
    for (size_t i = 0; i < report->n_caps; i++)
        if (!report->caps_fig[i].capability)
            return eco_error(ECO_STATUS_EINVAL, "gates: report figures %zu have no capability", i);
    const eco_eval_cap_figures *all = &report->caps_fig[report->n_caps - 1];
    out->signature_ok = signature_ok;
    out->coverage = coverage;
    judge j = {.v = out};
    eco_status st = judge_all(&j, g, report, all, signature_ok);
    if (!st) {
        out->accepted = out->n_failures == 0;
        if (out->accepted) {
            st = fitness(g, report, all, coverage, &out->fitness);
            out->has_fitness = !st;
        }
    }
    if (st) eco_verdict_free(out);
    return st;
}
