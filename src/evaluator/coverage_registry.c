/* The fitness's new-capability coverage of a registered model (eval_contamination.h:
 * eco_eval_coverage_registry): the model's lineage parents are named by its genome; each
 * parent's newest stored report on the same corpus (eco_registry_reports, read back with
 * eco_eval_report_parse) says what it passes, and a parent without one counts as passing the
 * capabilities its genome lists (eco_eval_coverage). Used by `ecology eval` and the loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/eval_contamination.h"
#include "ecology/evaluator.h"

/* The parents of one candidate, loaded. */
typedef struct parents {
    size_t n;
    eco_genome *genomes;        /* [n] */
    eco_eval_report *reports;   /* [n]; n_caps 0 when none on the corpus */
    eco_coverage_parent *cover; /* [n] */
} parents;

static void parents_free(parents *p) {
    for (size_t i = 0; i < p->n; i++) {
        eco_genome_free(&p->genomes[i]);
        eco_eval_report_free(&p->reports[i]);
    }
    free(p->genomes);
    free(p->reports);
    free(p->cover);
}

/* Parent `id`'s newest report on corpus (n_caps 0 when none) and its genome. */
static eco_status load_parent(eco_registry *r, const char *id, const char *corpus, eco_genome *g,
                              eco_eval_report *rep, eco_coverage_parent *c) {
    eco_status st = eco_registry_get(r, id, g, NULL);
    if (st) return eco_error_wrap(st, "parent '%s'", id);
    eco_registry_report *reps = NULL;
    size_t n = 0;
    if ((st = eco_registry_reports(r, id, corpus, &reps, &n))) return st;
    if (n && reps[n - 1].report) { /* oldest first: the newest is the last */
        bool sig;
        double cov;
        const char *text = reps[n - 1].report;
        char label[160];
        snprintf(label, sizeof label, "report %lld of '%s'", (long long)reps[n - 1].seq, id);
        st = eco_eval_report_parse(text, strlen(text), label, rep, &sig, &cov);
    }
    eco_registry_reports_free(reps, n);
    if (st) return st;
    c->report = rep->n_caps ? rep : NULL;
    c->capabilities = (const char *const *)g->capabilities;
    c->n_capabilities = g->n_capabilities;
    return ECO_STATUS_OK;
}

eco_status eco_eval_coverage_registry(eco_registry *r, const char *id, const eco_gates *g,
                                      const eco_eval_report *rep, size_t *n_parents,
                                      double *coverage) {
    if (!r || !id || !rep || !coverage)
        return eco_error(ECO_STATUS_EINVAL, "coverage: NULL argument");
    *coverage = 0;
    if (n_parents) *n_parents = 0;
    eco_genome self = {0};
    parents p = {0};
    eco_status st = eco_registry_get(r, id, &self, NULL);
    if (!st && self.n_parents) {
        p.genomes = eco_calloc_array(self.n_parents, sizeof *p.genomes);
        p.reports = eco_calloc_array(self.n_parents, sizeof *p.reports);
        p.cover = eco_calloc_array(self.n_parents, sizeof *p.cover);
        if (!p.genomes || !p.reports || !p.cover)
            st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
        for (size_t i = 0; !st && i < self.n_parents; i++) {
            p.n = i + 1;
            st = load_parent(r, self.parents[i], rep->corpus_sha256, &p.genomes[i], &p.reports[i],
                             &p.cover[i]);
        }
    }
    if (!st) st = eco_eval_coverage(g, rep, p.cover, p.n, coverage);
    if (!st && n_parents) *n_parents = self.n_parents;
    if (st) *coverage = 0;
    parents_free(&p);
    eco_genome_free(&self);
    return st;
}
