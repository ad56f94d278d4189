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

typedef enum { F_BOOL, F_INT, F_WORD, F_COLOR } field_kind;
static const struct {
    const char *key;
    field_kind kind;
    unsigned max; /* F_INT */
} fields[] = {
    {"active", F_BOOL, 0}, {"age", F_INT, 120}, {"city", F_WORD, 0},   {"color", F_COLOR, 0},
    {"id", F_INT, 9999},   {"name", F_WORD, 0}, {"score", F_INT, 999},
};
enum { N_FIELDS = sizeof fields / sizeof fields[0] };
static const char *const colors[] = {"black",  "blue", "green", "orange",
                                     "purple", "red",  "white", "yellow"};

/* "Record: name=ada age=36\nJSON:" -> " {\"age\":36,\"name\":\"ada\"}\n" */
static eco_status json_record_draw(eco_rng *rng, eco_buf *p, eco_buf *c) {
    /* choose k distinct fields in a random order: a partial Fisher-Yates */
    unsigned order[N_FIELDS];
    for (unsigned i = 0; i < N_FIELDS; i++) order[i] = i;
    unsigned k = 2 + (unsigned)rng_below(rng, 3);
    for (unsigned i = 0; i < k; i++) {
        unsigned j = i + (unsigned)rng_below(rng, N_FIELDS - i);
        unsigned t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    json_t *obj = json_object();
    if (!obj || !eco_buf_puts(p, "Record:")) {
        json_decref(obj);
        return OOM("json.record@1");
    }
    bool ok = true;
    for (unsigned i = 0; i < k && ok; i++) {
        unsigned f = order[i];
        json_t *v = NULL;
        char text[TASK_WORD_MAX + 1];
        switch (fields[f].kind) {
            case F_BOOL: {
                bool b = rng_below(rng, 2) != 0;
                snprintf(text, sizeof text, "%s", b ? "true" : "false");
                v = json_boolean(b);
                break;
            }
            case F_INT: {
                unsigned x = (unsigned)rng_below(rng, (uint64_t)fields[f].max + 1);
                snprintf(text, sizeof text, "%u", x);
                v = json_integer((json_int_t)x);
                break;
            }
            case F_WORD:
                task_draw_word(rng, text);
                v = json_string(text);
                break;
            case F_COLOR:
                snprintf(text, sizeof text, "%s",
                         colors[rng_below(rng, sizeof colors / sizeof colors[0])]);
                v = json_string(text);
                break;
        }
        ok = v && json_object_set_new(obj, fields[f].key, v) == 0 &&
             eco_buf_printf(p, " %s=%s", fields[f].key, text);
    }
    char *canon = NULL;
    ok = ok && eco_buf_puts(p, "\nJSON:") &&
         eco_json_canonical(obj, &canon, NULL) == ECO_STATUS_OK &&
         eco_buf_printf(c, " %s\n", canon);
    free(canon);
    json_decref(obj);
    return ok ? ECO_STATUS_OK : OOM("json.record@1");
}

const task_ops eco_task_ops_arith_add = {.draw = arith_add_draw};
const task_ops eco_task_ops_text_reverse = {.draw = text_reverse_draw};
const task_ops eco_task_ops_text_sort = {.draw = text_sort_draw};
const task_ops eco_task_ops_json_record = {.draw = json_record_draw};
