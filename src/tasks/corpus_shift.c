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

typedef enum { F_BOOL, F_INT, F_WORD, F_COLOR } field_kind;
typedef struct field {
    const char *key;
    field_kind kind;
    unsigned max; /* F_INT */
} field;

/* json.record@1's own fields, as src/tasks/gen_synthetic.c draws them (a version never
 * changes meaning, so this copy cannot drift). */
static const field own_fields[] = {
    {"active", F_BOOL, 0}, {"age", F_INT, 120}, {"city", F_WORD, 0},   {"color", F_COLOR, 0},
    {"id", F_INT, 9999},   {"name", F_WORD, 0}, {"score", F_INT, 999},
};
/* The fields whose values can be longer (words, integers). */
static const field long_fields[] = {
    {"age", F_INT, 0},   {"city", F_WORD, 0}, {"id", F_INT, 0},
    {"name", F_WORD, 0}, {"score", F_INT, 0},
};
/* Field names json.record@1 never uses, with values of its kinds and sizes. */
static const field other_fields[] = {
    {"admin", F_BOOL, 0},   {"count", F_INT, 999}, {"height", F_INT, 250}, {"level", F_INT, 99},
    {"owner", F_WORD, 0},   {"pet", F_WORD, 0},    {"shade", F_COLOR, 0},  {"title", F_WORD, 0},
    {"visible", F_BOOL, 0}, {"year", F_INT, 2100},
};
static const char *const colors[] = {"black",  "blue", "green", "orange",
                                     "purple", "red",  "white", "yellow"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef enum { JS_OTHER_FIELDS, JS_LONGER_VALUES, JS_OTHER_COUNTS, JS__KINDS } json_shift;
static const char *const json_shift_tag[JS__KINDS] = {"other-fields", "longer-values",
                                                      "other-key-counts"};

/* A word as a JSON string value: never one JSON would read as another type. */
static bool plain_word(const char *w) {
    return strcmp(w, "true") != 0 && strcmp(w, "false") != 0 && strcmp(w, "null") != 0;
}

/* A pseudo-word of 13 to 20 letters: drawn words joined until long enough, cut at 20. */
static void long_word(eco_rng *rng, char out[21]) {
    size_t n = 0;
    out[0] = '\0';
    while (n < 13) {
        char w[TASK_WORD_MAX + 1];
        task_draw_word(rng, w);
        for (const char *q = w; *q && n < 20; q++) out[n++] = *q;
        out[n] = '\0';
    }
}

/* One candidate record of kind `kind`: prompt "Record: k=v ...\nJSON:", completion the
 * canonical JSON object (integers as numbers, true/false as booleans), as json.record@1. */
static eco_status json_candidate(eco_rng *rng, json_shift kind, eco_buf *p, eco_buf *c) {
    const field *tab = kind == JS_OTHER_FIELDS    ? other_fields
                       : kind == JS_LONGER_VALUES ? long_fields
                                                  : own_fields;
    unsigned nf = kind == JS_OTHER_FIELDS    ? (unsigned)COUNT(other_fields)
                  : kind == JS_LONGER_VALUES ? (unsigned)COUNT(long_fields)
                                             : (unsigned)COUNT(own_fields);
    static const unsigned other_counts[] = {1, 5, 6, 7};
    unsigned k = kind == JS_OTHER_COUNTS ? other_counts[rng_below(rng, COUNT(other_counts))]
                                         : 2 + (unsigned)rng_below(rng, 3);
    unsigned order[16];
    for (unsigned i = 0; i < nf; i++) order[i] = i;
    for (unsigned i = 0; i < k; i++) { /* k distinct fields in a random order */
        unsigned j = i + (unsigned)rng_below(rng, nf - i), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    json_t *obj = json_object();
    bool ok = obj && eco_buf_puts(p, "Record:");
    for (unsigned i = 0; i < k && ok; i++) {
        const field *f = &tab[order[i]];
        json_t *v = NULL;
        char text[32];
        switch (f->kind) {
            case F_BOOL: {
                bool x = rng_below(rng, 2) != 0;
                snprintf(text, sizeof text, "%s", x ? "true" : "false");
                v = json_boolean(x);
                break;
            }
            case F_INT: {
                unsigned x = kind == JS_LONGER_VALUES
                                 ? 10000 + (unsigned)rng_below(rng, 10000000 - 10000)
                                 : (unsigned)rng_below(rng, (uint64_t)f->max + 1);
                snprintf(text, sizeof text, "%u", x);
                v = json_integer((json_int_t)x);
                break;
            }
            case F_WORD:
                do {
                    if (kind == JS_LONGER_VALUES)
                        long_word(rng, text);
                    else
                        task_draw_word(rng, text);
                } while (!plain_word(text));
                v = json_string(text);
                break;
            case F_COLOR:
                snprintf(text, sizeof text, "%s", colors[rng_below(rng, COUNT(colors))]);
                v = json_string(text);
                break;
        }
        ok = v && json_object_set_new(obj, f->key, v) == 0 &&
             eco_buf_printf(p, " %s=%s", f->key, text);
    }
    char *canon = NULL;
    ok = ok && eco_buf_puts(p, "\nJSON:") &&
         eco_json_canonical(obj, &canon, NULL) == ECO_STATUS_OK &&
         eco_buf_printf(c, " %s\n", canon);
    free(canon);
    json_decref(obj);
    return ok ? ECO_STATUS_OK : OOM("json.record@1");
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
