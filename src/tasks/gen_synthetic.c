/* Generated capabilities over unbounded spaces: arith.add@1, text.reverse@1, text.sort@1,
 * json.record@1. Each draw consumes a fixed-by-construction sequence of RNG outputs, so a
 * (seed, capability) pair names one stream of candidates on every platform. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/tasks_internal.h"

#define OOM(name) eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", name)

/* ---- arith.add@1 ------------------------------------------------------------------- */

/* A number of one, two or three digits (each length equally likely, then uniform within
 * it), so short operands are as common as long ones. */
static unsigned draw_number(eco_rng *rng) {
    static const unsigned lo[3] = {0, 10, 100}, hi[3] = {9, 99, 999};
    unsigned d = (unsigned)rng_below(rng, 3);
    return lo[d] + (unsigned)rng_below(rng, hi[d] - lo[d] + 1);
}

/* "Add: 012+345\nSum:" -> " 0357\n": operands written with three digits and the sum with
 * four, so each digit sits at the same place in every item (a small model learns carrying
 * addition in that layout; with unpadded numbers the eco-tiny adapter reached 1.5%). */
static eco_status arith_add_draw(eco_rng *rng, eco_buf *p, eco_buf *c) {
    unsigned a = draw_number(rng), b = draw_number(rng);
    if (!eco_buf_printf(p, "Add: %03u+%03u\nSum:", a, b) || !eco_buf_printf(c, " %04u\n", a + b))
        return OOM("arith.add@1");
    return ECO_STATUS_OK;
}

/* "Reverse: kolami\nReversed:" -> " imalok\n" */
static eco_status text_reverse_draw(eco_rng *rng, eco_buf *p, eco_buf *c) {
    char w[TASK_WORD_MAX + 1], r[TASK_WORD_MAX + 1];
    task_draw_word(rng, w);
    size_t n = strlen(w);
    for (size_t i = 0; i < n; i++) r[i] = w[n - 1 - i];
    r[n] = '\0';
    if (!eco_buf_printf(p, "Reverse: %s\nReversed:", w) || !eco_buf_printf(c, " %s\n", r))
        return OOM("text.reverse@1");
    return ECO_STATUS_OK;
}

/* "Sort: kolami\nSorted:" -> " aiklmo\n" (letters in byte order, repeats kept) */
static eco_status text_sort_draw(eco_rng *rng, eco_buf *p, eco_buf *c) {
    char w[TASK_WORD_MAX + 1], s[TASK_WORD_MAX + 1];
    task_draw_word(rng, w);
    size_t counts[26] = {0}, n = 0;
    for (const char *q = w; *q; q++) counts[*q - 'a']++;
    for (int l = 0; l < 26; l++)
        for (size_t k = 0; k < counts[l]; k++) s[n++] = (char)('a' + l);
    s[n] = '\0';
    if (!eco_buf_printf(p, "Sort: %s\nSorted:", w) || !eco_buf_printf(c, " %s\n", s))
        return OOM("text.sort@1");
    return ECO_STATUS_OK;
}

/* ---- json.record@1 ----------------------------------------------------------------- */

/* The record kind: seven fields of three types. A record has 2 to 4 distinct fields in a
 * random order; the answer is the canonical JSON object (sorted keys, no white space), with
 * integers as JSON numbers and true/false as JSON booleans. */
const char eco_json_record_schema[] =
    "{\"$schema\":\"http://json-schema.org/draft-07/schema#\","
    "\"$id\":\"urn:tiny-ecology:tasks:json.record@1\","
    "\"title\":\"json.record@1 record\","
    "\"type\":\"object\","
    "\"properties\":{"
    "\"active\":{\"type\":\"boolean\"},"
    "\"age\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":120},"
    "\"city\":{\"type\":\"string\",\"pattern\":\"^[a-z]{1,12}$\"},"
    "\"color\":{\"type\":\"string\",\"enum\":[\"black\",\"blue\",\"green\",\"orange\",\"purple\","
    "\"red\","
    "\"white\",\"yellow\"]},"
    "\"id\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":9999},"
    "\"name\":{\"type\":\"string\",\"pattern\":\"^[a-z]{1,12}$\"},"
    "\"score\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":999}"
    "},"
    "\"additionalProperties\":false,"
    "\"minProperties\":2,"
    "\"maxProperties\":4}";

const task_field task_json_record_fields[TASK_JSON_RECORD_N_FIELDS] = {
    {"active", TASK_F_BOOL, 0}, {"age", TASK_F_INT, 120}, {"city", TASK_F_WORD, 0},
    {"color", TASK_F_COLOR, 0}, {"id", TASK_F_INT, 9999}, {"name", TASK_F_WORD, 0},
    {"score", TASK_F_INT, 999},
};
static const char *const colors[] = {"black",  "blue", "green", "orange",
                                     "purple", "red",  "white", "yellow"};

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

bool task_json_record_write(eco_rng *rng, const task_field *tab, unsigned nf, unsigned k,
                            bool long_values, bool plain_words, eco_buf *p, eco_buf *c) {
    unsigned order[16];
    if (nf > 16 || k > nf) return false;
    for (unsigned i = 0; i < nf; i++) order[i] = i;
    for (unsigned i = 0; i < k; i++) {
        unsigned j = i + (unsigned)rng_below(rng, nf - i), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    json_t *obj = json_object();
    bool ok = obj && eco_buf_puts(p, "Record:");
    for (unsigned i = 0; i < k && ok; i++) {
        const task_field *f = &tab[order[i]];
        json_t *v = NULL;
        char text[32];
        switch (f->kind) {
            case TASK_F_BOOL: {
                bool x = rng_below(rng, 2) != 0;
                snprintf(text, sizeof text, "%s", x ? "true" : "false");
                v = json_boolean(x);
                break;
            }
            case TASK_F_INT: {
                unsigned x = long_values ? 10000 + (unsigned)rng_below(rng, 10000000 - 10000)
                                         : (unsigned)rng_below(rng, (uint64_t)f->max + 1);
                snprintf(text, sizeof text, "%u", x);
                v = json_integer((json_int_t)x);
                break;
            }
            case TASK_F_WORD:
                do {
                    if (long_values)
                        long_word(rng, text);
                    else
                        task_draw_word(rng, text);
                } while (plain_words && !plain_word(text));
                v = json_string(text);
                break;
            case TASK_F_COLOR:
                snprintf(text, sizeof text, "%s",
                         colors[rng_below(rng, sizeof colors / sizeof colors[0])]);
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
    return ok;
}

/* "Record: name=ada age=36\nJSON:" -> " {\"age\":36,\"name\":\"ada\"}\n" */
static eco_status json_record_draw(eco_rng *rng, eco_buf *p, eco_buf *c) {
    unsigned k = 2 + (unsigned)rng_below(rng, 3);
    return task_json_record_write(rng, task_json_record_fields, TASK_JSON_RECORD_N_FIELDS, k, false,
                                  false, p, c)
               ? ECO_STATUS_OK
               : OOM("json.record@1");
}

const task_ops eco_task_ops_arith_add = {.draw = arith_add_draw};
const task_ops eco_task_ops_text_reverse = {.draw = text_reverse_draw};
const task_ops eco_task_ops_text_sort = {.draw = text_sort_draw};
const task_ops eco_task_ops_json_record = {.draw = json_record_draw};
