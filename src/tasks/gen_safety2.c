/* safety.refuse@2: safety.refuse@1's task over a broader space of actions and frames.
 *
 * @1 learns its own 42 actions and separates them (98.4% held-out) but not look-alikes
 * outside its tables (the paired safety suite, corpus_safety.c: 69% refused, 61% answered on
 * new actions). @2 draws from every action of both: @1's tables (gen_safety.c) and the
 * suite's pair templates (safety_pairs.c), in three classes:
 *   harmful     every harmful action in @1's request frames          -> ECO_TASKS_REFUSAL
 *   look-alike  every harmless action in @1's request frames         -> ECO_TASKS_COMPLY
 *   definition  every harmful action in a definition frame ("what does it mean to %s",
 *               "is it a crime to %s", ...): asked about, not asked for -> ECO_TASKS_COMPLY
 * An action string listed twice (a template reuses @1's actions) counts once. Generation
 * draws harmful with probability 1/2, look-alike 1/4, definition 1/4, then a uniform item of
 * the class (an action's variants times its frames), so every class is common whatever its
 * size. Like every capability, training reads only the TRAIN split of eco_tasks_split_of and
 * evaluation the EVAL split; the suite keeps only EVAL-split requests, so no request of the
 * suite is a training item of @2 (tests/test_corpus_build.c checks it), while its actions
 * and frames are @2's own: the suite measures @2 in distribution, as its held-out split does.
 * Two expansions of different actions may read the same (both with one answer: a test
 * checks); the enumeration keeps both, so a split's size counts such a request twice.
 *
 * Items are numbered harmful first, then look-alike, then definition; within a class, by
 * action, then variant, then frame (frame fastest), as @1's. */
#include <string.h>

#include "tasks/tasks_internal.h"

typedef enum { C_HARMFUL, C_LOOKALIKE, C_DEFINITION, C__COUNT } cls;

/* Action k of the raw list of one side (@1's actions, then the templates'; NULL past the
 * end); a template's NULL harmless side (a definition) is skipped by the caller. */
static const char *raw_action(bool harmful, size_t k) {
    size_t n1 = safety_action_count(harmful);
    if (k < n1) return safety_action(harmful, k);
    k -= n1;
    if (k >= SAFETY_PAIR_COUNT) return NULL;
    return harmful ? eco_safety_pairs[k].harmful : eco_safety_pairs[k].harmless;
}

/* Whether raw action k is present and listed for the first time. */
static bool distinct_action(bool harmful, size_t k) {
    const char *a = raw_action(harmful, k);
    if (!a) return false;
    for (size_t j = 0; j < k; j++) {
        const char *b = raw_action(harmful, j);
        if (b && strcmp(a, b) == 0) return false;
    }
    return true;
}

static size_t n_raw(bool harmful) { return safety_action_count(harmful) + SAFETY_PAIR_COUNT; }

static size_t frame_count(cls c) {
    return c == C_DEFINITION ? eco_safety_definition_frames_count : safety_frame_count();
}

static const char *frame_at(cls c, size_t f) {
    return c == C_DEFINITION ? eco_safety_definition_frames[f] : safety_frame(f);
}

static size_t class_count(cls c) {
    bool harmful = c != C_LOOKALIKE;
    size_t total = 0;
    for (size_t k = 0; k < n_raw(harmful); k++)
        if (distinct_action(harmful, k)) total += safety_variants(raw_action(harmful, k));
    return total * frame_count(c);
}

static eco_status class_row(cls c, size_t i, eco_buf *p, eco_buf *out) {
    bool harmful = c != C_LOOKALIKE;
    size_t nf = frame_count(c), frame = i % nf, rest = i / nf;
    for (size_t k = 0; k < n_raw(harmful); k++) {
        if (!distinct_action(harmful, k)) continue;
        const char *a = raw_action(harmful, k);
        size_t nv = safety_variants(a);
        if (rest >= nv) {
            rest -= nv;
            continue;
        }
        bool ok =
            safety_request(p, frame_at(c, frame), a, rest) &&
            eco_buf_printf(out, " %s\n", c == C_HARMFUL ? ECO_TASKS_REFUSAL : ECO_TASKS_COMPLY);
        return ok ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "safety.refuse@2: out of memory");
    }
    return eco_error(ECO_STATUS_EINTERNAL, "safety.refuse@2: item %zu out of range", i);
}

static size_t safety2_count(void) {
    size_t total = 0;
    for (int c = 0; c < C__COUNT; c++) total += class_count((cls)c);
    return total;
}

static eco_status safety2_row(size_t i, eco_buf *p, eco_buf *c) {
    for (int k = 0; k < C__COUNT; k++) {
        size_t n = class_count((cls)k);
        if (i < n) return class_row((cls)k, i, p, c);
        i -= n;
    }
    return eco_error(ECO_STATUS_EINTERNAL, "safety.refuse@2: item out of range");
}

static eco_status safety2_draw(eco_rng *rng, eco_buf *p, eco_buf *c) {
    uint64_t r = rng_below(rng, 4); /* harmful 2/4, look-alike 1/4, definition 1/4 */
    cls k = r < 2 ? C_HARMFUL : r == 2 ? C_LOOKALIKE : C_DEFINITION;
    return class_row(k, (size_t)rng_below(rng, class_count(k)), p, c);
}

const task_ops eco_task_ops_safety_refuse2 = {
    .draw = safety2_draw, .count = safety2_count, .row = safety2_row};
