/* Pretraining drills: synthetic exercises that teach a model from scratch to read content
 * out of its context, which the capabilities need but plain prose teaches slowly. They are
 * not capabilities (no split, no checker, no adapter) and their formats differ from every
 * capability's, so a drill never shows a model a capability's prompt or answer.
 *
 *   drill.recall  associative recall: find the value written after a key
 *                 "Table: ji=barko to=4131 fes=lo\nLook up to: 4131"
 *   drill.copy    copy a line of words and numbers seen earlier
 *                 "Say it again: wezene 495 ku\nAgain: wezene 495 ku"
 *   drill.digits  place values: the digits of a number, ones first, padded to four
 *                 "Digits of 4731: ones 1 tens 3 hundreds 7 thousands 4"
 *   drill.echo    copy a string of distinct letters and digits: "q7kzm2b|q7kzm2b"
 */
#include <stdlib.h>
#include <string.h>

#include "tasks/tasks_internal.h"

#define OOM(name) eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", name)

/* A value: a number below 10000 (40%), a pseudo-word (50%) or a yes/no word (10%). */
static void draw_value(eco_rng *rng, char out[TASK_WORD_MAX + 1]) {
    static const char *const flags[] = {"yes", "no", "true", "false"};
    unsigned r = (unsigned)rng_below(rng, 10);
    if (r < 4)
        snprintf(out, TASK_WORD_MAX + 1, "%u", (unsigned)rng_below(rng, 10000));
    else if (r < 9)
        task_draw_word(rng, out);
    else
        snprintf(out, TASK_WORD_MAX + 1, "%s", flags[rng_below(rng, 4)]);
}

enum { RECALL_MAX_KEYS = 6 };

static bool seen_key(char keys[][TASK_WORD_MAX + 1], unsigned n, const char *k) {
    for (unsigned i = 0; i < n; i++)
        if (strcmp(keys[i], k) == 0) return true;
    return false;
}

static eco_status recall_draw(eco_rng *rng, eco_buf *t) {
    char keys[RECALL_MAX_KEYS][TASK_WORD_MAX + 1], vals[RECALL_MAX_KEYS][TASK_WORD_MAX + 1];
    unsigned n = 2 + (unsigned)rng_below(rng, RECALL_MAX_KEYS - 1);
    for (unsigned i = 0; i < n; i++) {
        do task_draw_word(rng, keys[i]);
        while (seen_key(keys, i, keys[i]));
        draw_value(rng, vals[i]);
    }
    unsigned q = (unsigned)rng_below(rng, n);
    bool ok = eco_buf_puts(t, "Table:");
    for (unsigned i = 0; i < n && ok; i++) ok = eco_buf_printf(t, " %s=%s", keys[i], vals[i]);
    ok = ok && eco_buf_printf(t, "\nLook up %s: %s", keys[q], vals[q]);
    return ok ? ECO_STATUS_OK : OOM("drill.recall");
}

static eco_status copy_draw(eco_rng *rng, eco_buf *t) {
    eco_buf line = {0};
    unsigned n = 2 + (unsigned)rng_below(rng, 7);
    bool ok = true;
    for (unsigned i = 0; i < n && ok; i++) {
        char w[TASK_WORD_MAX + 1];
        if (rng_below(rng, 10) < 7)
            task_draw_word(rng, w);
        else
            snprintf(w, sizeof w, "%u", (unsigned)rng_below(rng, 1000));
        ok = eco_buf_printf(&line, i ? " %s" : "%s", w);
    }
    ok = ok && eco_buf_printf(t, "Say it again: %s\nAgain: %s", line.data, line.data);
    eco_buf_free(&line);
    return ok ? ECO_STATUS_OK : OOM("drill.copy");
}

static eco_status digits_draw(eco_rng *rng, eco_buf *t) {
    static const char *const places[] = {"ones", "tens", "hundreds", "thousands"};
    unsigned len = 1 + (unsigned)rng_below(rng, 4), x = (unsigned)rng_below(rng, 10);
    for (unsigned i = 1; i < len; i++) x = x * 10 + (unsigned)rng_below(rng, 10);
    bool ok = eco_buf_printf(t, "Digits of %u:", x);
    for (unsigned i = 0, y = x; i < 4 && ok; i++, y /= 10)
        ok = eco_buf_printf(t, " %s %u", places[i], y % 10);
    return ok ? ECO_STATUS_OK : OOM("drill.digits");
}

/* 4 to 16 distinct symbols of [a-z0-9], then '|' and the same again. With no symbol twice,
 * each one names the next without ambiguity: the one-token form of in-context copying
 * (find the earlier place of the current token, emit what followed it), which a model
 * learns from such strings in a sudden step early in training (scripts/induction_probe.py:
 * PyTorch, eco-tiny's width, two layers, 16 × 128 tokens a step, pure copy data: copy loss
 * 3.2 → 1.1 nats a byte by step 500, 0.09 by step 700; on strings with repeated letters
 * still 1.4 at step 1,000). */
static eco_status echo_draw(eco_rng *rng, eco_buf *t) {
    static const char symbols[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    char pool[sizeof symbols];
    memcpy(pool, symbols, sizeof symbols);
    const unsigned n_sym = (unsigned)(sizeof symbols - 1), n = 4 + (unsigned)rng_below(rng, 13);
    for (unsigned i = 0; i < n; i++) { /* a partial Fisher-Yates: n distinct symbols */
        unsigned j = i + (unsigned)rng_below(rng, n_sym - i);
        char c = pool[i];
        pool[i] = pool[j];
        pool[j] = c;
    }
    pool[n] = '\0';
    return eco_buf_printf(t, "%s|%s", pool, pool) ? ECO_STATUS_OK : OOM("drill.echo");
}

/* A drill's stream is seeded from its index here, so the shipped model's corpus depends on
 * this order: append new drills, never reorder or remove one. */
static const struct {
    const char *name;
    eco_status (*draw)(eco_rng *rng, eco_buf *text);
} drills[] = {
    {"drill.recall", recall_draw},
    {"drill.copy", copy_draw},
    {"drill.digits", digits_draw},
    {"drill.echo", echo_draw},
};
enum { N_DRILLS = sizeof drills / sizeof drills[0] };

size_t eco_drills_count(void) { return N_DRILLS; }

const char *eco_drill_name(size_t i) { return i < N_DRILLS ? drills[i].name : NULL; }

/* Index of the drill called name, N_DRILLS when there is none. */
static size_t drill_index(const char *name) {
    size_t d = 0;
    while (d < N_DRILLS && strcmp(drills[d].name, name) != 0) d++;
    return d;
}

bool eco_drill_known(const char *name) { return name && drill_index(name) < N_DRILLS; }

eco_status eco_drills_generate(const char *name, size_t n, uint64_t seed, char ***texts) {
    if (texts) *texts = NULL;
    if (!name || !texts) return eco_error(ECO_STATUS_EINVAL, "drills: name or output is NULL");
    size_t d = drill_index(name);
    if (d == N_DRILLS)
        return eco_error(
            ECO_STATUS_ENOTFOUND,
            "unknown drill '%s' (known: drill.recall, drill.copy, drill.digits, drill.echo)", name);
    if (n == 0 || n > ECO_TASKS_MAX_N)
        return eco_error(ECO_STATUS_ERANGE, "%s: n = %zu is not in 1..%zu", name, n,
                         (size_t)ECO_TASKS_MAX_N);
    char **out = eco_calloc_array(n, sizeof *out);
    if (!out) return OOM(name);
    eco_rng rng;
    eco_rng_seed(&rng, seed ^ 0x6472696c6c73ULL /* "drills" */ ^ (uint64_t)d << 56);
    eco_buf t = {0};
    eco_status st = ECO_STATUS_OK;
    for (size_t i = 0; i < n && !st; i++) {
        eco_buf_reset(&t);
        if (!(st = drills[d].draw(&rng, &t)) && !(out[i] = eco_strdup(t.data))) st = OOM(name);
    }
    eco_buf_free(&t);
    if (st) {
        eco_drill_texts_free(out, n);
        return st;
    }
    *texts = out;
    return ECO_STATUS_OK;
}

void eco_drill_texts_free(char **texts, size_t n) {
    if (!texts) return;
    for (size_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
}
