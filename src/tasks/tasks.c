/* The capability table, splits, generation loop and answer checker. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/tasks_internal.h"

uint64_t rng_below(eco_rng *r, uint64_t n) {
    /* Reject the top partial block so every residue is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    for (;;) {
        uint64_t x = eco_rng_next(r);
        if (x < limit) return x % n;
    }
}

void task_draw_word(eco_rng *rng, char out[TASK_WORD_MAX + 1]) {
    static const char onset[] = "bcdfghjklmnprstvwz", vowel[] = "aeiou", coda[] = "lnrst";
    unsigned syllables = 1 + (unsigned)rng_below(rng, 4);
    size_t n = 0;
    for (unsigned i = 0; i < syllables; i++) {
        out[n++] = onset[rng_below(rng, sizeof onset - 1)];
        out[n++] = vowel[rng_below(rng, sizeof vowel - 1)];
        if (rng_below(rng, 4) == 0) out[n++] = coda[rng_below(rng, sizeof coda - 1)];
    }
    out[n] = '\0';
}

/* ---- the table --------------------------------------------------------------------- */

static const eco_capability capabilities[] = {
    {.name = "arith.add@1",
     .description = "sum of two numbers of one to three digits, zero-padded (Add: 012+345 -> 0357)",
     .check = ECO_TASK_CHECK_EXACT,
     .max_completion_bytes = 6,
     .ops = &eco_task_ops_arith_add},
    {.name = "text.reverse@1",
     .description = "reverse a lowercase pseudo-word (Reverse: kolami -> imalok)",
     .check = ECO_TASK_CHECK_EXACT,
     .max_completion_bytes = 14,
     .ops = &eco_task_ops_text_reverse},
    {.name = "text.sort@1",
     .description = "sort the letters of a lowercase pseudo-word (Sort: kolami -> aiklmo)",
     .check = ECO_TASK_CHECK_EXACT,
     .max_completion_bytes = 14,
     .ops = &eco_task_ops_text_sort},
    {.name = "json.record@1",
     .description = "key=value pairs to a canonical JSON object "
                    "(Record: name=ada age=36 -> {\"age\":36,\"name\":\"ada\"})",
     .check = ECO_TASK_CHECK_JSON,
     .max_completion_bytes = 80,
     .json_schema = eco_json_record_schema,
     .ops = &eco_task_ops_json_record},
    {.name = "safety.refuse@1",
     .description = "refuse harmful requests, answer harmless look-alikes "
                    "(Request: ... -> " ECO_TASKS_REFUSAL " | " ECO_TASKS_COMPLY ")",
     .check = ECO_TASK_CHECK_EXACT,
     .max_completion_bytes = 25,
     .ops = &eco_task_ops_safety_refuse},
    {.name = "safety.refuse@2",
     .description = "safety.refuse@1 over a broader space: the paired suite's actions, its "
                    "look-alike kinds and definition frames (Request: ... -> " ECO_TASKS_REFUSAL
                    " | " ECO_TASKS_COMPLY ")",
     .check = ECO_TASK_CHECK_EXACT,
     .max_completion_bytes = 25,
     .ops = &eco_task_ops_safety_refuse2},
    {.name = "sentiment.imdb@1",
     .description = "IMDB review sentences, Kotzias et al. 2015, CC BY 4.0 (Review: ... -> "
                    "positive | negative)",
     .check = ECO_TASK_CHECK_EXACT,
     .max_completion_bytes = 10,
     .fixed = true,
     .text_prefix = SENTIMENT_PREFIX,
     .text_suffix = SENTIMENT_SUFFIX,
     .ops = &eco_task_ops_sentiment_imdb},
    {.name = "sentiment.yelp@1",
     .description = "Yelp review sentences, Kotzias et al. 2015, CC BY 4.0 (Review: ... -> "
                    "positive | negative)",
     .check = ECO_TASK_CHECK_EXACT,
     .max_completion_bytes = 10,
     .fixed = true,
     .text_prefix = SENTIMENT_PREFIX,
     .text_suffix = SENTIMENT_SUFFIX,
     .ops = &eco_task_ops_sentiment_yelp},
};
enum { N_CAPABILITIES = sizeof capabilities / sizeof capabilities[0] };

size_t eco_tasks_count(void) { return N_CAPABILITIES; }

const eco_capability *eco_tasks_get(size_t i) {
    return i < N_CAPABILITIES ? &capabilities[i] : NULL;
}

eco_status eco_tasks_find(const char *name, const eco_capability **out) {
    if (out) *out = NULL;
    if (!name || !out) return eco_error(ECO_STATUS_EINVAL, "tasks: capability name is NULL");
    for (size_t i = 0; i < N_CAPABILITIES; i++) {
        if (strcmp(capabilities[i].name, name) == 0) {
            *out = &capabilities[i];
            return ECO_STATUS_OK;
        }
    }
    char known[512];
    size_t off = 0;
    for (size_t i = 0; i < N_CAPABILITIES && off < sizeof known; i++) {
        int w =
            snprintf(known + off, sizeof known - off, "%s%s", i ? ", " : "", capabilities[i].name);
        if (w < 0) break;
        off += (size_t)w;
    }
    return eco_error(ECO_STATUS_ENOTFOUND, "unknown capability '%s' (known: %s)", name, known);
}

const char *eco_task_split_name(eco_task_split split) {
    switch (split) {
        case ECO_TASK_SPLIT_TRAIN:
            return "train";
        case ECO_TASK_SPLIT_EVAL:
            return "eval";
    }
    return "?";
}

eco_status eco_task_split_parse(const char *s, eco_task_split *out) {
    if (s && strcmp(s, "train") == 0) {
        *out = ECO_TASK_SPLIT_TRAIN;
        return ECO_STATUS_OK;
    }
    if (s && strcmp(s, "eval") == 0) {
        *out = ECO_TASK_SPLIT_EVAL;
        return ECO_STATUS_OK;
    }
    return eco_error(ECO_STATUS_EINVAL, "split '%s' is not one of train, eval", s ? s : "(null)");
}

/* ---- splits ------------------------------------------------------------------------ */

/* 26/256 of the hash space, about 10%. */
enum { EVAL_FIRST_BYTE_BELOW = 26 };

eco_task_split eco_tasks_split_of(const char *prompt, size_t len) {
    uint8_t h[ECO_SHA256_LEN];
    /* eco_sha256 fails only when OpenSSL cannot allocate a context; treating that prompt
     * as eval keeps it out of training data, the failure that matters. */
    if (eco_sha256(prompt, len, h) != ECO_STATUS_OK) return ECO_TASK_SPLIT_EVAL;
    return h[0] < EVAL_FIRST_BYTE_BELOW ? ECO_TASK_SPLIT_EVAL : ECO_TASK_SPLIT_TRAIN;
}

static bool valid_split(eco_task_split s) {
    return s == ECO_TASK_SPLIT_TRAIN || s == ECO_TASK_SPLIT_EVAL;
}

/* Indices of the rows of a fixed set that fall in split (malloc'd, caller frees). */
static eco_status split_rows(const eco_capability *cap, eco_task_split split, size_t **rows,
                             size_t *n_rows) {
    *rows = NULL;
    *n_rows = 0;
    size_t total = cap->ops->count();
    size_t *r = eco_malloc_array(total ? total : 1, sizeof *r);
    if (!r) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", cap->name);
    eco_buf p = {0}, c = {0};
    size_t n = 0;
    for (size_t i = 0; i < total; i++) {
        eco_buf_reset(&p);
        eco_buf_reset(&c);
        eco_status st = cap->ops->row(i, &p, &c);
        if (st != ECO_STATUS_OK) {
            eco_buf_free(&p);
            eco_buf_free(&c);
            free(r);
            return st;
        }
        if (eco_tasks_split_of(p.data, p.len) == split) r[n++] = i;
    }
    eco_buf_free(&p);
    eco_buf_free(&c);
    *rows = r;
    *n_rows = n;
    return ECO_STATUS_OK;
}

eco_status eco_tasks_split_size(const eco_capability *cap, eco_task_split split, size_t *n) {
    if (!cap || !n || !valid_split(split))
        return eco_error(ECO_STATUS_EINVAL, "tasks split size: bad argument");
    *n = 0;
    if (!cap->ops->count)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s: generated from an unbounded space, its splits have no size",
                         cap->name);
    size_t *rows;
    eco_status st = split_rows(cap, split, &rows, n);
    free(rows);
    return st;
}

/* ---- generation -------------------------------------------------------------------- */

/* FNV-1a of the name, so that one seed gives unrelated streams for different capabilities. */
static uint64_t name_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

void eco_task_items_free(eco_task_item *items, size_t n) {
    if (!items) return;
    for (size_t i = 0; i < n; i++) {
        free(items[i].prompt);
        free(items[i].completion);
    }
    free(items);
}

static eco_status take(eco_task_item *it, eco_buf *p, eco_buf *c) {
    it->prompt = p->data;
    it->completion = c->data;
    *p = (eco_buf){0};
    *c = (eco_buf){0};
    return ECO_STATUS_OK;
}

static eco_status generate_drawn(const eco_capability *cap, eco_task_split split, size_t n,
                                 eco_rng *rng, eco_task_item *items) {
    eco_buf p = {0}, c = {0};
    /* About one candidate in ten is eval; a stream that finds nothing in 64 draws per item
     * (plus slack) means a generator that cannot produce the split: a bug, not bad luck. */
    size_t budget = n * 64 + 100000, found = 0;
    eco_status st = ECO_STATUS_OK;
    while (found < n) {
        if (budget-- == 0) {
            st = eco_error(ECO_STATUS_EINTERNAL,
                           "%s: %zu of %zu %s items found before the draw budget ran out",
                           cap->name, found, n, eco_task_split_name(split));
            break;
        }
        eco_buf_reset(&p);
        eco_buf_reset(&c);
        st = cap->ops->draw(rng, &p, &c);
        if (st != ECO_STATUS_OK) break;
        if (!p.data || !c.data) {
            st = eco_error(ECO_STATUS_EINTERNAL, "%s: generator produced no text", cap->name);
            break;
        }
        if (eco_tasks_split_of(p.data, p.len) != split) continue;
        take(&items[found++], &p, &c);
    }
    eco_buf_free(&p);
    eco_buf_free(&c);
    return st;
}

static eco_status generate_fixed(const eco_capability *cap, eco_task_split split, size_t n,
                                 eco_rng *rng, eco_task_item *items) {
    size_t *rows, m;
    eco_status st = split_rows(cap, split, &rows, &m);
    if (st != ECO_STATUS_OK) return st;
    if (m == 0) {
        free(rows);
        return eco_error(ECO_STATUS_EINTERNAL, "%s: the %s split is empty", cap->name,
                         eco_task_split_name(split));
    }
    eco_buf p = {0}, c = {0};
    for (size_t k = 0; k < n && st == ECO_STATUS_OK; k++) {
        size_t j = k % m;
        if (j == 0) {
            /* A new pass: Fisher-Yates over the whole split, the same whatever n is. */
            for (size_t i = m - 1; i > 0; i--) {
                size_t r = (size_t)rng_below(rng, (uint64_t)i + 1);
                size_t t = rows[i];
                rows[i] = rows[r];
                rows[r] = t;
            }
        }
        eco_buf_reset(&p);
        eco_buf_reset(&c);
        st = cap->ops->row(rows[j], &p, &c);
        if (st == ECO_STATUS_OK) take(&items[k], &p, &c);
    }
    eco_buf_free(&p);
    eco_buf_free(&c);
    free(rows);
    return st;
}

eco_status eco_tasks_generate(const eco_capability *cap, eco_task_split split, size_t n,
                              uint64_t seed, eco_task_item **items) {
    if (items) *items = NULL;
    if (!cap || !items)
        return eco_error(ECO_STATUS_EINVAL, "tasks generate: capability or output is NULL");
    if (!valid_split(split))
        return eco_error(ECO_STATUS_EINVAL, "%s: bad split %d", cap->name, (int)split);
    if (n == 0) return eco_error(ECO_STATUS_EINVAL, "%s: n must be at least 1", cap->name);
    if (n > ECO_TASKS_MAX_N)
        return eco_error(ECO_STATUS_ERANGE, "%s: n = %zu is above the limit of %zu items",
                         cap->name, n, ECO_TASKS_MAX_N);
    eco_task_item *out = eco_calloc_array(n, sizeof *out);
    if (!out) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory for %zu items", cap->name, n);
    eco_rng rng;
    eco_rng_seed(&rng, seed ^ name_hash(cap->name));
    eco_status st = cap->ops->draw ? generate_drawn(cap, split, n, &rng, out)
                                   : generate_fixed(cap, split, n, &rng, out);
    if (st != ECO_STATUS_OK) {
        eco_task_items_free(out, n); /* calloc'd: unfilled items are NULL */
        return st;
    }
    *items = out;
    return ECO_STATUS_OK;
}

/* ---- checking ---------------------------------------------------------------------- */

static bool blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

void eco_tasks_answer_span(const char *s, size_t len, size_t *start, size_t *alen) {
    size_t end = 0;
    while (end < len && s[end] != '\n') end++;
    size_t b = 0;
    while (b < end && blank(s[b])) b++;
    while (end > b && blank(s[end - 1])) end--;
    *start = b;
    *alen = end - b;
}

static json_t *parse_json(const char *s, size_t len) {
    json_error_t err;
    return json_loadb(s, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
}

bool eco_tasks_check(const eco_capability *cap, const eco_task_item *item, const char *output,
                     size_t len) {
    if (!cap || !item || !item->completion || (!output && len)) return false;
    size_t es, el, os, ol;
    eco_tasks_answer_span(item->completion, strlen(item->completion), &es, &el);
    eco_tasks_answer_span(output ? output : "", len, &os, &ol);
    const char *want = item->completion + es, *got = (output ? output : "") + os;
    switch (cap->check) {
        case ECO_TASK_CHECK_EXACT:
            return el == ol && memcmp(want, got, el) == 0;
        case ECO_TASK_CHECK_JSON: {
            if (ol == 0 || memchr(got, '\0', ol)) return false;
            json_t *a = parse_json(want, el), *b = parse_json(got, ol);
            bool eq = a && b && json_equal(a, b);
            json_decref(a);
            json_decref(b);
            return eq;
        }
    }
    return false;
}
