/* Out-of-distribution parts of the evaluation corpora: items in a synthetic capability's
 * own prompt format with content its generator never writes (tasks.h, "evaluation
 * corpora"). Every answer is computed here from the content, as the capability defines it;
 * only prompts of the EVAL split are kept, so no training set holds them. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/corpus_internal.h"

#define OOM(name) eco_error(ECO_STATUS_ENOMEM, "corpus build: %s: out of memory", name)

bool tasks_corpus_has_shift(const eco_capability *cap) {
    return cap->ops == &eco_task_ops_text_reverse || cap->ops == &eco_task_ops_text_sort ||
           cap->ops == &eco_task_ops_arith_add || cap->ops == &eco_task_ops_json_record;
}

/* max_tokens of a shifted case: room for the answer even where it is longer than any the
 * generator writes, plus tasks_eval's 8. */
static size_t shift_max_tokens(const eco_capability *cap, size_t completion_len) {
    return (completion_len > cap->max_completion_bytes ? completion_len
                                                       : cap->max_completion_bytes) +
           8;
}

/* Keeps a candidate when its prompt is in the EVAL split and new to the part. */
static bool wanted(const corpus_prompt_set *seen, const eco_buf *p) {
    return eco_tasks_split_of(p->data, p->len) == ECO_TASK_SPLIT_EVAL &&
           !tasks_corpus_set_has(seen, p->data);
}

static eco_status push_shift(corpus_builder *b, const eco_capability *cap, corpus_prompt_set *seen,
                             eco_buf *p, eco_buf *c, const char *kind, size_t i) {
    const char *tags[] = {"shift", kind, NULL};
    eco_status st =
        tasks_corpus_push(b, cap, p, c, ECO_TASKS_CORPUS_EXACT, shift_max_tokens(cap, c->len), tags,
                          "%s/shift/%zu", cap->name, i);
    if (st == ECO_STATUS_OK &&
        !tasks_corpus_set_add(seen, b->out->cases[b->out->n_cases - 1].item.prompt))
        st = OOM(cap->name);
    return st;
}

/* ---- text.reverse@1, text.sort@1: English words ------------------------------------ */

static int cmp_char(const void *a, const void *b) {
    return (int)*(const unsigned char *)a - (int)*(const unsigned char *)b;
}

/* "Reverse: whale\nReversed:" -> " elahw\n"; "Sort: whale\nSorted:" -> " aehlw\n" (letters
 * in byte order, repeats kept). */
static bool word_item(const eco_capability *cap, const char *w, eco_buf *p, eco_buf *c) {
    char out[16];
    size_t n = strlen(w);
    if (n >= sizeof out) return false;
    bool rev = cap->ops == &eco_task_ops_text_reverse;
    for (size_t i = 0; i < n; i++) out[i] = rev ? w[n - 1 - i] : w[i];
    out[n] = '\0';
    if (!rev) qsort(out, n, 1, cmp_char);
    bool ok = rev ? eco_buf_printf(p, "Reverse: %s\nReversed:", w)
                  : eco_buf_printf(p, "Sort: %s\nSorted:", w);
    return ok && eco_buf_printf(c, " %s\n", out);
}

static eco_status shift_words(corpus_builder *b, const eco_capability *cap, size_t n, eco_rng *rng,
                              size_t *written) {
    /* Every word whose prompt is EVAL, in an order shuffled by the seed; the first n. */
    size_t *idx = eco_malloc_array(eco_corpus_words_count, sizeof *idx), m = 0;
    if (!idx) return OOM(cap->name);
    eco_buf p = {0}, c = {0};
    eco_status st = ECO_STATUS_OK;
    for (size_t i = 0; i < eco_corpus_words_count && st == ECO_STATUS_OK; i++) {
        eco_buf_reset(&p);
        eco_buf_reset(&c);
        if (!word_item(cap, eco_corpus_words[i], &p, &c))
            st = OOM(cap->name);
        else if (eco_tasks_split_of(p.data, p.len) == ECO_TASK_SPLIT_EVAL)
            idx[m++] = i;
    }
    tasks_corpus_shuffle(idx, m, rng);
    corpus_prompt_set seen = {0};
    size_t found = 0;
    for (size_t k = 0; k < m && found < n && st == ECO_STATUS_OK; k++) {
        eco_buf_reset(&p);
        eco_buf_reset(&c);
        if (!word_item(cap, eco_corpus_words[idx[k]], &p, &c))
            st = OOM(cap->name);
        else if ((st = push_shift(b, cap, &seen, &p, &c, "english-words", found)) == ECO_STATUS_OK)
            found++;
    }
    tasks_corpus_set_free(&seen);
    eco_buf_free(&p);
    eco_buf_free(&c);
    free(idx);
    *written = found;
    return st;
}

/* ---- arith.add@1: uniform three-digit operands ------------------------------------- */

/* "Add: 123+456\nSum:" -> " 0579\n", both operands uniform in 100..999 (the generator draws
 * one-, two- and three-digit operands equally often: only 1 in 9 of its items has two
 * three-digit operands). */
static eco_status shift_arith(corpus_builder *b, const eco_capability *cap, size_t n, eco_rng *rng,
                              size_t *written) {
    eco_buf p = {0}, c = {0};
    corpus_prompt_set seen = {0};
    eco_status st = ECO_STATUS_OK;
    size_t found = 0, budget = n * 64 + 100000; /* the space has about 83,000 EVAL prompts */
    while (found < n && budget-- > 0 && st == ECO_STATUS_OK) {
        unsigned x = 100 + (unsigned)rng_below(rng, 900), y = 100 + (unsigned)rng_below(rng, 900);
        eco_buf_reset(&p);
        eco_buf_reset(&c);
        if (!eco_buf_printf(&p, "Add: %03u+%03u\nSum:", x, y) ||
            !eco_buf_printf(&c, " %04u\n", x + y))
            st = OOM(cap->name);
        else if (wanted(&seen, &p) && (st = push_shift(b, cap, &seen, &p, &c, "uniform-3-digit",
                                                       found)) == ECO_STATUS_OK)
            found++;
    }
    tasks_corpus_set_free(&seen);
    eco_buf_free(&p);
    eco_buf_free(&c);
    *written = found;
    return st;
}

/* ---- json.record@1: other fields, longer values, other key counts ------------------ */

/* The fields whose values can be longer (words, integers). */
static const task_field long_fields[] = {
    {"age", TASK_F_INT, 0},   {"city", TASK_F_WORD, 0}, {"id", TASK_F_INT, 0},
    {"name", TASK_F_WORD, 0}, {"score", TASK_F_INT, 0},
};
/* Field names json.record@1 never uses, with values of its kinds and sizes. */
static const task_field other_fields[] = {
    {"admin", TASK_F_BOOL, 0},  {"count", TASK_F_INT, 999}, {"height", TASK_F_INT, 250},
    {"level", TASK_F_INT, 99},  {"owner", TASK_F_WORD, 0},  {"pet", TASK_F_WORD, 0},
    {"shade", TASK_F_COLOR, 0}, {"title", TASK_F_WORD, 0},  {"visible", TASK_F_BOOL, 0},
    {"year", TASK_F_INT, 2100},
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef enum { JS_OTHER_FIELDS, JS_LONGER_VALUES, JS_OTHER_COUNTS, JS__KINDS } json_shift;
static const char *const json_shift_tag[JS__KINDS] = {"other-fields", "longer-values",
                                                      "other-key-counts"};

/* One candidate record of kind `kind` (other-key-counts: json.record@1's own fields), in
 * json.record@1's format, by tasks_internal.h's task_json_record_write. */
static eco_status json_candidate(eco_rng *rng, json_shift kind, eco_buf *p, eco_buf *c) {
    const task_field *tab = kind == JS_OTHER_FIELDS    ? other_fields
                            : kind == JS_LONGER_VALUES ? long_fields
                                                       : task_json_record_fields;
    unsigned nf = kind == JS_OTHER_FIELDS    ? (unsigned)COUNT(other_fields)
                  : kind == JS_LONGER_VALUES ? (unsigned)COUNT(long_fields)
                                             : (unsigned)TASK_JSON_RECORD_N_FIELDS;
    static const unsigned other_counts[] = {1, 5, 6, 7};
    unsigned k = kind == JS_OTHER_COUNTS ? other_counts[rng_below(rng, COUNT(other_counts))]
                                         : 2 + (unsigned)rng_below(rng, 3);
    return task_json_record_write(rng, tab, nf, k, kind == JS_LONGER_VALUES, true, p, c)
               ? ECO_STATUS_OK
               : OOM("json.record@1");
}

/* Case i is of kind i mod 3, so the three kinds are equally common. */
static eco_status shift_json(corpus_builder *b, const eco_capability *cap, size_t n, eco_rng *rng,
                             size_t *written) {
    eco_buf p = {0}, c = {0};
    corpus_prompt_set seen = {0};
    eco_status st = ECO_STATUS_OK;
    size_t found = 0, budget = n * 64 + 100000;
    while (found < n && budget-- > 0 && st == ECO_STATUS_OK) {
        json_shift kind = (json_shift)(found % JS__KINDS);
        eco_buf_reset(&p);
        eco_buf_reset(&c);
        st = json_candidate(rng, kind, &p, &c);
        if (st == ECO_STATUS_OK && wanted(&seen, &p) &&
            (st = push_shift(b, cap, &seen, &p, &c, json_shift_tag[kind], found)) == ECO_STATUS_OK)
            found++;
    }
    tasks_corpus_set_free(&seen);
    eco_buf_free(&p);
    eco_buf_free(&c);
    *written = found;
    return st;
}

eco_status tasks_corpus_part_shift(corpus_builder *b, const eco_capability *cap, size_t n,
                                   uint64_t seed, size_t *written) {
    *written = 0;
    char what[160];
    snprintf(what, sizeof what, "shift:%s", cap->name);
    eco_rng rng;
    tasks_corpus_rng_seed(&rng, seed, what);
    if (cap->ops == &eco_task_ops_text_reverse || cap->ops == &eco_task_ops_text_sort)
        return shift_words(b, cap, n, &rng, written);
    if (cap->ops == &eco_task_ops_arith_add) return shift_arith(b, cap, n, &rng, written);
    if (cap->ops == &eco_task_ops_json_record) return shift_json(b, cap, n, &rng, written);
    return eco_error(ECO_STATUS_EUNSUPPORTED, "corpus build: %s has no out-of-distribution kind",
                     cap->name);
}
