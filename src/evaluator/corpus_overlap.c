/*
 * corpus_overlap: the hidden-corpus contamination rule over a whole corpus (eval_corpus.h):
 * each case's prompt n-grams against a training corpus's set, in file order.
 */
#include "ecology/eval_corpus.h"

eco_status eco_eval_corpus_overlap(const eco_eval_corpus *hidden, const eco_ngram_set *train,
                                   double threshold, bool *found, size_t *case_index,
                                   double *score) {
    if (!hidden || !train || !found || !case_index || !score)
        return eco_error(ECO_STATUS_EINVAL, "eco_eval_corpus_overlap: NULL argument");
    *found = false;
    *case_index = 0;
    *score = 0;
    if (!(threshold > 0 && threshold <= 1))
        return eco_error(ECO_STATUS_EINVAL, "overlap: threshold %g outside (0, 1]", threshold);
    for (size_t i = 0; i < hidden->n_cases; i++) {
        const eco_eval_case *k = &hidden->cases[i];
        eco_ngram_set *a = NULL;
        double v = 0;
        eco_status st = eco_ngram_set_new(eco_ngram_set_n(train), &a);
        if (!st) st = eco_ngram_set_add(a, k->prompt, k->prompt_len);
        if (!st) st = eco_ngram_containment(a, train, &v);
        eco_ngram_set_free(a);
        if (st) return eco_error_wrap(st, "%s:%lld", hidden->label, (long long)k->line);
        if (v > *score) *score = v, *case_index = i;
        if (v >= threshold) {
            *found = true;
            *score = v;
            *case_index = i;
            return ECO_STATUS_OK;
        }
    }
    return ECO_STATUS_OK;
}

eco_status eco_eval_corpus_overlap_short(const eco_eval_corpus *hidden,
                                         eco_ngram_set *const by_words[ECO_NGRAM_N], bool *found,
                                         size_t *case_index) {
    if (!hidden || !by_words || !found || !case_index)
        return eco_error(ECO_STATUS_EINVAL, "eco_eval_corpus_overlap_short: NULL argument");
    *found = false;
    *case_index = 0;
    for (size_t i = 0; i < hidden->n_cases; i++) {
        const eco_eval_case *k = &hidden->cases[i];
        size_t w = eco_ngram_word_count(k->prompt, k->prompt_len);
        if (w == 0 || w >= ECO_NGRAM_N || !by_words[w]) continue;
        eco_ngram_set *a = NULL;
        double v = 0;
        eco_status st = eco_ngram_set_new((unsigned)w, &a);
        if (!st) st = eco_ngram_set_add(a, k->prompt, k->prompt_len);
        if (!st) st = eco_ngram_containment(a, by_words[w], &v);
        eco_ngram_set_free(a);
        if (st) return eco_error_wrap(st, "%s:%lld", hidden->label, (long long)k->line);
        if (v > 0) { /* the prompt's one w-gram: its words, in order, inside a training string */
            *found = true;
            *case_index = i;
            return ECO_STATUS_OK;
        }
    }
    return ECO_STATUS_OK;
}
