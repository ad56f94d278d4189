/*
 * run_summary: the figures of a run per capability (sorted by strcmp) and "overall"
 * (evaluator.h, "Figures"), from the per-case results.
 */
#include <stdlib.h>
#include <string.h>

#include "evaluator/run_internal.h"

/* quality_by_tag: [0] in-distribution (tagged so, or untagged), [1] shift */
static const char *const TAGS[2] = {"in-distribution", "shift"};

static bool has_tag(const eco_eval_case *c, const char *tag) {
    for (size_t i = 0; i < c->n_tags; i++)
        if (strcmp(c->tags[i], tag) == 0) return true;
    return false;
}

typedef struct counts {
    uint64_t k, n;
} counts;

/* The figures of the cases whose capability is cap (NULL: every case) into *f (capability
 * set by the caller). conf/correct: scratch of n_results entries. */
static eco_status figures(const eco_eval_corpus *corpus, const eco_eval_report *r, const char *cap,
                          bool robustness, double *conf, uint8_t *correct,
                          eco_eval_cap_figures *f) {
    counts q = {0}, fmt = {0}, ref = {0}, comp = {0}, tag[2] = {{0}}, gen = {0};
    uint64_t robust[ECO_PERTURB__COUNT] = {0};
    size_t m = 0;
    for (size_t i = 0; i < r->n_results; i++) {
        const eco_eval_result *res = &r->results[i];
        const eco_eval_case *c = &corpus->cases[res->index];
        if (cap && strcmp(c->capability, cap) != 0) continue;
        q.n++;
        q.k += res->passed;
        conf[m] = res->confidence;
        correct[m] = res->passed ? 1 : 0;
        m++;
        if (c->check == ECO_CHECK_JSON_SCHEMA) {
            fmt.n++;
            fmt.k += res->format_valid;
        } else if (c->check == ECO_CHECK_REFUSAL) {
            ref.n++;
            ref.k += res->passed;
        } else if (c->check == ECO_CHECK_COMPLY) {
            comp.n++;
            comp.k += res->passed;
        }
        for (int t = 0; t < 2; t++)
            if (has_tag(c, TAGS[t]) || (t == 0 && c->n_tags == 0)) {
                tag[t].n++;
                tag[t].k += res->passed;
            }
        if (c->check != ECO_CHECK_CHOICE) {
            gen.n++;
            for (int k = 0; k < ECO_PERTURB__COUNT; k++)
                robust[k] += (res->perturbed_pass >> k) & 1u;
        }
    }
    eco_status st = eco_rate_wilson(q.k, q.n, &f->quality);
    if (!st) st = eco_rate_wilson(fmt.k, fmt.n, &f->format);
    if (!st) st = eco_rate_wilson(ref.k, ref.n, &f->refusal);
    if (!st) st = eco_rate_wilson(comp.k, comp.n, &f->compliance);
    for (int t = 0; t < 2 && !st; t++)
        st = eco_rate_wilson(tag[t].k, tag[t].n, &f->quality_by_tag[t]);
    if (!st) st = eco_calibration_compute(conf, correct, m, &f->calibration);
    if (st) return st;
    size_t n_kinds = 0;
    if (robustness && gen.n > 0) {
        for (int k = 0; k < ECO_PERTURB__COUNT; k++)
            f->robust_pass[k] = (double)robust[k] / (double)gen.n;
        n_kinds = ECO_PERTURB__COUNT;
    }
    return eco_robustness_summary(f->robust_pass, n_kinds, &f->robustness);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

eco_status run_summarise(const eco_eval_corpus *corpus, bool robustness, eco_eval_report *r) {
    const size_t n = r->n_results;
    const char **names = eco_malloc_array(n ? n : 1, sizeof *names);
    double *conf = eco_malloc_array(n ? n : 1, sizeof *conf);
    uint8_t *correct = malloc(n ? n : 1);
    eco_status st = ECO_STATUS_OK;
    if (!names || !conf || !correct) {
        st = eco_error(ECO_STATUS_ENOMEM, "evaluate: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) names[i] = corpus->cases[r->results[i].index].capability;
    qsort(names, n, sizeof *names, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || strcmp(names[u - 1], names[i]) != 0) names[u++] = names[i];
    if (!(r->caps_fig = eco_calloc_array(u + 1, sizeof *r->caps_fig))) {
        st = eco_error(ECO_STATUS_ENOMEM, "evaluate: out of memory");
        goto done;
    }
    for (size_t j = 0; j <= u && st == ECO_STATUS_OK; j++) {
        eco_eval_cap_figures *f = &r->caps_fig[j];
        r->n_caps = j + 1; /* counted first so that free releases the name */
        if (!(f->capability = eco_strdup(j < u ? names[j] : "overall"))) {
            st = eco_error(ECO_STATUS_ENOMEM, "evaluate: out of memory");
            break;
        }
        st = figures(corpus, r, j < u ? names[j] : NULL, robustness, conf, correct, f);
        if (st != ECO_STATUS_OK) st = eco_error_wrap(st, "evaluate: figures of %s", f->capability);
    }
done:
    free(names);
    free(conf);
    free(correct);
    return st;
}
