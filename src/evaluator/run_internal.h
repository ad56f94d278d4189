/*
 * run_internal: what the evaluator run's files share (private to src/evaluator/). The rules
 * they implement are written out above eco_evaluate in evaluator.h.
 */
#ifndef ECO_EVALUATOR_RUN_INTERNAL_H
#define ECO_EVALUATOR_RUN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "ecology/evaluator.h"

/* A case's check, compiled once for the case's runs (unperturbed and perturbed). */
typedef struct run_check {
    void *re;                   /* pcre2_code * (regex) */
    void *md;                   /* pcre2_match_data * (regex) */
    struct eco_json_schema *js; /* json_schema */
} run_check;

/* Compiles c's check (regex: PCRE2_UTF | PCRE2_MATCH_INVALID_UTF; json_schema:
 * eco_json_schema_compile). EFORMAT naming the corpus label and the case's line, ENOMEM. */
eco_status run_check_compile(const eco_eval_corpus *corpus, const eco_eval_case *c, run_check *out);
void run_check_free(run_check *rc);

/* One judged output. reason is malloc'd (NULL when passed). */
typedef struct run_verdict {
    bool passed, format_valid, refused;
    char *reason;
} run_verdict;

/* Judges text[0..len) (any bytes) for case c (not choice) as evaluator.h says; truncated:
 * finish_reason was "length". ENOMEM and the verifier's errors; a failed check is a
 * verdict, not an error. */
eco_status run_check_judge(const eco_eval_case *c, const run_check *rc, const char *text,
                           size_t len, bool truncated, run_verdict *out);

/* The part of c's prompt perturbed for robustness (evaluator.h: the label rule) into
 * opts->begin/end (end 0: to the end). */
void run_perturb_span(const eco_eval_case *c, eco_perturb_opts *opts);

/* Scores every option of choice case c with one call of sc: *chosen the highest summed
 * log-probability (the first on a tie), *confidence its softmax probability over the
 * options. When an option does not fit the model's context (the scorer's context > 0), the
 * case cannot be judged: *over_context is the reason (malloc'd; "options[1]: prompt and
 * option of 612 tokens exceed the model's context of 512"), *chosen −1, and the case fails;
 * else *over_context is NULL. Errors are the scorer's, wrapped naming the case's line. */
eco_status run_choice(const eco_eval_corpus *corpus, const eco_eval_case *c,
                      const eco_eval_scorer *sc, int *chosen, double *confidence,
                      char **over_context);

/* Fills r->caps_fig / n_caps from r->results and the corpus (figures per capability, then
 * "overall"). robustness: whether perturbed runs were made. ENOMEM, EINVAL from the
 * metrics. */
eco_status run_summarise(const eco_eval_corpus *corpus, bool robustness, eco_eval_report *r);

#endif
