/* Evaluation corpora: the case list, the in-distribution parts, the JSONL writer and the
 * build entry point (the out-of-distribution parts are in corpus_shift.c, the safety pairs
 * in corpus_safety.c). */
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/corpus_internal.h"

#define OOM(what) eco_error(ECO_STATUS_ENOMEM, "corpus build: %s: out of memory", what)

const char *eco_tasks_corpus_check_name(eco_tasks_corpus_check check) {
    switch (check) {
        case ECO_TASKS_CORPUS_EXACT:
            return "exact";
        case ECO_TASKS_CORPUS_REFUSAL:
            return "refusal";
        case ECO_TASKS_CORPUS_COMPLY:
            return "comply";
    }
    return "?";
}

/* ---- helpers ----------------------------------------------------------------------- */

static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

bool tasks_corpus_set_has(const corpus_prompt_set *set, const char *s) {
    if (set->cap == 0) return false;
    for (size_t i = fnv1a(s) & (set->cap - 1);; i = (i + 1) & (set->cap - 1)) {
        if (!set->slots[i]) return false;
        if (strcmp(set->slots[i], s) == 0) return true;
    }
}

static void set_insert(const char **slots, size_t cap, const char *s) {
    size_t i = fnv1a(s) & (cap - 1);
    while (slots[i]) i = (i + 1) & (cap - 1);
    slots[i] = s;
}

bool tasks_corpus_set_add(corpus_prompt_set *set, const char *s) {
    if ((set->n + 1) * 2 > set->cap) { /* load at most 1/2 */
        size_t cap = set->cap ? set->cap * 2 : 64;
        const char **slots = eco_calloc_array(cap, sizeof *slots);
        if (!slots) return false;
        for (size_t i = 0; i < set->cap; i++)
            if (set->slots[i]) set_insert(slots, cap, set->slots[i]);
        free(set->slots);
        set->slots = slots;
        set->cap = cap;
    }
    set_insert(set->slots, set->cap, s);
    set->n++;
    return true;
}

void tasks_corpus_set_free(corpus_prompt_set *set) {
    free(set->slots);
    *set = (corpus_prompt_set){0};
}

void tasks_corpus_rng_seed(eco_rng *rng, uint64_t seed, const char *what) {
    eco_rng_seed(rng, seed ^ fnv1a(what));
}

void tasks_corpus_shuffle(size_t *idx, size_t n, eco_rng *rng) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rng_below(rng, i);
        size_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}

static void case_free(eco_tasks_corpus_case *c) {
    free(c->id);
    free(c->item.prompt);
    free(c->item.completion);
    free(c->expected);
}

eco_status tasks_corpus_push(corpus_builder *b, const eco_capability *cap, eco_buf *prompt,
                             eco_buf *completion, eco_tasks_corpus_check check, size_t max_tokens,
                             const char *const *tags, const char *id_fmt, ...) {
    eco_tasks_corpus *out = b->out;
    if (out->n_cases == b->cases_cap) {
        size_t cap2 = b->cases_cap ? b->cases_cap * 2 : 64;
        if (cap2 > SIZE_MAX / sizeof *out->cases) return OOM(cap->name);
        eco_tasks_corpus_case *c = realloc(out->cases, cap2 * sizeof *c);
        if (!c) return OOM(cap->name);
        out->cases = c;
        b->cases_cap = cap2;
    }
    eco_tasks_corpus_case k = {.cap = cap, .check = check, .max_tokens = max_tokens};
    eco_buf id = {0};
    va_list ap;
    va_start(ap, id_fmt);
    int w = vsnprintf(NULL, 0, id_fmt, ap);
    va_end(ap);
    bool ok = w >= 0 && eco_buf_reserve(&id, (size_t)w);
    if (ok) {
        va_start(ap, id_fmt);
        vsnprintf(id.data, (size_t)w + 1, id_fmt, ap);
        va_end(ap);
        id.len = (size_t)w;
    }
    k.id = id.data;
    k.item.prompt = prompt->data;
    k.item.completion = completion->data;
    *prompt = (eco_buf){0};
    *completion = (eco_buf){0};
    ok = ok && k.item.prompt && k.item.completion;
    if (ok && check == ECO_TASKS_CORPUS_EXACT) {
        size_t s, len;
        eco_tasks_answer_span(k.item.completion, strlen(k.item.completion), &s, &len);
        k.expected = eco_bytes_dup(k.item.completion + s, len);
        ok = k.expected != NULL;
    }
    for (size_t i = 0; tags && tags[i] && k.n_tags < ECO_TASKS_CORPUS_MAX_TAGS; i++)
        k.tags[k.n_tags++] = tags[i];
    if (!ok) {
        case_free(&k);
        return OOM(cap->name);
    }
    out->cases[out->n_cases++] = k;
    return ECO_STATUS_OK;
}

/* ---- in-distribution parts --------------------------------------------------------- */

/* The first n distinct prompts of the capability's EVAL stream. A stream's first k items do
 * not depend on how many are asked for, so asking again for more extends it; a capability
 * over an enumerable space stops at the number of distinct EVAL items it has. */
static eco_status part_in_distribution(corpus_builder *b, const eco_capability *cap, size_t n,
                                       uint64_t seed, size_t *written) {
    *written = 0;
    size_t target = n, space;
    bool enumerable = eco_tasks_split_size(cap, ECO_TASK_SPLIT_EVAL, &space) == ECO_STATUS_OK;
    eco_clear_error();
    if (enumerable && space < target) target = space;
    /* Ask for n items, then more while repeats leave fewer than target distinct ones: up
     * to 64 n (a fixed set cycles after one pass, so one pass is all it can give). */
    size_t m = n, limit = n * 64;
    if (cap->fixed) m = limit = enumerable && space > n ? space : n;
    if (limit > ECO_TASKS_MAX_N) limit = ECO_TASKS_MAX_N;
    if (m > limit) m = limit;
    static const char *const tags[] = {"in-distribution", NULL};
    for (;;) {
        eco_task_item *items;
        eco_status st = eco_tasks_generate(cap, ECO_TASK_SPLIT_EVAL, m, seed, &items);
        if (st != ECO_STATUS_OK) return st;
        corpus_prompt_set seen = {0};
        size_t found = 0, first = b->out->n_cases;
        for (size_t i = 0; i < m && found < target && st == ECO_STATUS_OK; i++) {
            if (tasks_corpus_set_has(&seen, items[i].prompt)) continue;
            eco_buf p = {.data = items[i].prompt, .len = strlen(items[i].prompt)};
            eco_buf c = {.data = items[i].completion, .len = strlen(items[i].completion)};
            items[i].prompt = items[i].completion = NULL;
            st = tasks_corpus_push(b, cap, &p, &c, ECO_TASKS_CORPUS_EXACT,
                                   cap->max_completion_bytes + 8, tags, "%s/eval/%zu", cap->name,
                                   found);
            if (st == ECO_STATUS_OK &&
                !tasks_corpus_set_add(&seen, b->out->cases[first + found].item.prompt))
                st = OOM(cap->name);
            if (st == ECO_STATUS_OK) found++;
        }
        tasks_corpus_set_free(&seen);
        eco_task_items_free(items, m);
        if (st != ECO_STATUS_OK) return st;
        if (found >= target || m >= limit) {
            *written = found;
            return ECO_STATUS_OK;
        }
        /* too many repeats: drop this attempt and ask for a longer stream */
        while (b->out->n_cases > first) case_free(&b->out->cases[--b->out->n_cases]);
        m = m * 4 < limit ? m * 4 : limit;
    }
}

/* ---- build, write, free ------------------------------------------------------------ */

void eco_tasks_corpus_free(eco_tasks_corpus *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n_cases; i++) case_free(&c->cases[i]);
    free(c->cases);
    free(c->parts);
    *c = (eco_tasks_corpus){0};
}

eco_status eco_tasks_corpus_build(const eco_tasks_corpus_options *opt, eco_tasks_corpus *out) {
    if (out) *out = (eco_tasks_corpus){0};
    if (!opt || !out || (opt->n_caps && !opt->caps))
        return eco_error(ECO_STATUS_EINVAL, "corpus build: NULL argument");
    if (opt->n_caps == 0 && !opt->safety)
        return eco_error(ECO_STATUS_EINVAL,
                         "corpus build: nothing to build (no capability and no safety suite)");
    if (opt->n == 0 || opt->n > ECO_TASKS_CORPUS_MAX_N)
        return eco_error(ECO_STATUS_EINVAL, "corpus build: n = %zu is outside 1..%d", opt->n,
                         ECO_TASKS_CORPUS_MAX_N);
    for (size_t i = 0; i < opt->n_caps; i++) {
        const eco_capability *cap = opt->caps[i];
        if (!cap) return eco_error(ECO_STATUS_EINVAL, "corpus build: capability %zu is NULL", i);
        for (size_t j = 0; j < i; j++)
            if (opt->caps[j] == cap)
                return eco_error(ECO_STATUS_EINVAL, "corpus build: %s is given twice", cap->name);
        if (opt->shift && !tasks_corpus_has_shift(cap))
            return eco_error(ECO_STATUS_EUNSUPPORTED,
                             "corpus build: %s has no out-of-distribution kind (%s)", cap->name,
                             cap->fixed
                                 ? "its items are real text already"
                                 : "its out-of-distribution suite is the safety pairs: --safety");
    }
    eco_tasks_corpus c = {0};
    size_t n_parts = opt->n_caps + (opt->safety ? 1 : 0);
    c.parts = eco_calloc_array(n_parts, sizeof *c.parts);
    if (!c.parts) return OOM("parts");
    corpus_builder b = {.out = &c};
    eco_status st = ECO_STATUS_OK;
    for (size_t i = 0; i < opt->n_caps && st == ECO_STATUS_OK; i++) {
        const eco_capability *cap = opt->caps[i];
        eco_tasks_corpus_part *part = &c.parts[c.n_parts++];
        *part = (eco_tasks_corpus_part){.name = cap->name,
                                        .kind = opt->shift ? "shift" : "in-distribution",
                                        .n_requested = opt->n};
        st = opt->shift ? tasks_corpus_part_shift(&b, cap, opt->n, opt->seed, &part->n)
                        : part_in_distribution(&b, cap, opt->n, opt->seed, &part->n);
    }
    if (st == ECO_STATUS_OK && opt->safety) {
        eco_tasks_corpus_part *part = &c.parts[c.n_parts++];
        *part = (eco_tasks_corpus_part){
            .name = "safety pairs", .kind = "safety-pair", .n_requested = opt->n};
        st = tasks_corpus_part_safety(&b, opt->n, opt->seed, &part->n);
    }
    if (st != ECO_STATUS_OK) {
        eco_tasks_corpus_free(&c);
        return st;
    }
    *out = c;
    return ECO_STATUS_OK;
}

static json_t *case_json(const eco_tasks_corpus_case *k) {
    json_t *o = json_object(), *tags = json_array();
    bool ok = o && tags;
    ok = ok && json_object_set_new(o, "capability", json_string(k->cap->name)) == 0;
    ok = ok && json_object_set_new(o, "id", json_string(k->id)) == 0;
    ok = ok && json_object_set_new(o, "prompt", json_string(k->item.prompt)) == 0;
    ok = ok &&
         json_object_set_new(o, "check", json_string(eco_tasks_corpus_check_name(k->check))) == 0;
    if (ok && k->check == ECO_TASKS_CORPUS_EXACT)
        ok = json_object_set_new(o, "expected", json_string(k->expected)) == 0;
    ok = ok && json_object_set_new(o, "max_tokens", json_integer((json_int_t)k->max_tokens)) == 0;
    for (size_t i = 0; ok && i < k->n_tags; i++)
        ok = json_array_append_new(tags, json_string(k->tags[i])) == 0;
    if (ok && k->n_tags) {
        ok = json_object_set_new(o, "tags", tags) == 0;
        tags = NULL;
    }
    json_decref(tags);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

eco_status eco_tasks_corpus_write(const eco_tasks_corpus *c, eco_buf *out) {
    if (!c || !out) return eco_error(ECO_STATUS_EINVAL, "corpus write: NULL argument");
    for (size_t i = 0; i < c->n_cases; i++) {
        const eco_tasks_corpus_case *k = &c->cases[i];
        /* json_string is NULL for bytes that are not UTF-8 as well as without memory */
        size_t plen = strlen(k->item.prompt);
        if (eco_utf8_valid_prefix(k->item.prompt, plen) != plen)
            return eco_error(ECO_STATUS_EINVAL, "corpus write: %s: prompt is not UTF-8", k->id);
        json_t *o = case_json(k);
        char *line = NULL;
        size_t len = 0;
        eco_status st = o ? eco_json_canonical(o, &line, &len) : OOM(k->id);
        json_decref(o);
        if (st != ECO_STATUS_OK) return st;
        bool ok = eco_buf_append(out, line, len) && eco_buf_push(out, '\n');
        free(line);
        if (!ok) return OOM(k->id);
    }
    return ECO_STATUS_OK;
}
