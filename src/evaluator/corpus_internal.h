/*
 * corpus_internal: what the corpus reader's files share (private to src/evaluator/).
 */
#ifndef ECO_EVALUATOR_CORPUS_INTERNAL_H
#define ECO_EVALUATOR_CORPUS_INTERNAL_H

#include <jansson.h>

#include "ecology/eval_corpus.h"
#include "core/json_read.h"

/* The storage behind eco_eval_corpus.mem. */
typedef struct corpus_mem {
    eco_arena arena; /* every string and array of the cases */
    size_t *by_hash; /* case indices sorted by case hash */
} corpus_mem;

/* Reads the case object o (its reader r names "<file>:<line>") into *c, strings copied into
 * arena, the case hash and prompt hash computed. EFORMAT/ERANGE with the message naming the
 * field; ENOMEM. */
eco_status corpus_case_read(const eco_jr *r, eco_arena *arena, eco_eval_case *c);

#endif
