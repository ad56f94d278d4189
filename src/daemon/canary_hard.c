/*
 * canary_hard: the champion's failures on canary traffic as training items (daemon.h):
 * each prompt once (SHA-256 of its bytes; the first seen stays), bounded, in the order
 * first seen, written as JSONL {"completion", "prompt"} for the next fine-tune.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/tasks.h"
#include "daemon/canary_internal.h"

typedef struct hard_item {
    uint8_t sha[ECO_SHA256_LEN]; /* of the prompt */
    char *prompt, *completion;
} hard_item;

/* items[0..n) in the order first seen; slots[cap_slots] an open-addressing index into them
 * (0 empty, else item index + 1), cap_slots a power of two at least twice max. */
struct canary_hard {
    hard_item *items;
    size_t n, max;
    uint32_t *slots;
    size_t cap_slots;
};

eco_status canary_hard_create(size_t max, canary_hard **out) {
    *out = NULL;
    if (max > ECO_CANARY_HARD_MAX)
        return eco_error(ECO_STATUS_EINVAL, "canary: hard examples: max %zu above %d", max,
                         ECO_CANARY_HARD_MAX);
    canary_hard *h = calloc(1, sizeof *h);
    size_t cap = 16;
    while (cap < 2 * max) cap *= 2;
    if (h) {
        h->max = max;
        h->cap_slots = cap;
        h->items = eco_calloc_array(max ? max : 1, sizeof *h->items);
        h->slots = eco_calloc_array(cap, sizeof *h->slots);
    }
    if (!h || !h->items || !h->slots) {
        canary_hard_free(h);
        return eco_error(ECO_STATUS_ENOMEM, "canary: hard examples: out of memory");
    }
    *out = h;
    return ECO_STATUS_OK;
}

void canary_hard_free(canary_hard *h) {
    if (!h) return;
    for (size_t i = 0; i < h->n; i++) {
        free(h->items[i].prompt);
        free(h->items[i].completion);
    }
    free(h->items);
    free(h->slots);
    free(h);
}

size_t canary_hard_count(const canary_hard *h) { return h ? h->n : 0; }

/* The slot of sha: the one holding it, or the empty one where it would go. */
static size_t find_slot(const canary_hard *h, const uint8_t sha[ECO_SHA256_LEN]) {
    uint64_t k = 0;
    memcpy(&k, sha, sizeof k);
    size_t i = (size_t)k & (h->cap_slots - 1);
    while (h->slots[i] && memcmp(h->items[h->slots[i] - 1].sha, sha, ECO_SHA256_LEN) != 0)
        i = (i + 1) & (h->cap_slots - 1);
    return i;
}

eco_status canary_hard_offer(canary_hard *h, const eco_eval_case *c) {
    const char *answer = NULL;
    size_t alen = 0;
    if (c->check == ECO_CHECK_EXACT) {
        size_t start;
        eco_text_answer_span(c->expected, c->expected_len, &start, &alen);
        answer = c->expected + start;
    } else if (c->check == ECO_CHECK_REFUSAL) {
        answer = ECO_TASKS_REFUSAL;
        alen = strlen(answer);
    } else {
        return ECO_STATUS_OK; /* nothing to train towards */
    }
    if (h->n == h->max) return ECO_STATUS_OK;
    uint8_t sha[ECO_SHA256_LEN];
    eco_status st = eco_sha256(c->prompt, c->prompt_len, sha);
    if (st != ECO_STATUS_OK) return st;
    size_t slot = find_slot(h, sha);
    if (h->slots[slot]) return ECO_STATUS_OK; /* held */
    hard_item *it = &h->items[h->n];
    it->prompt = eco_bytes_dup(c->prompt, c->prompt_len);
    it->completion = malloc(alen + 3);
    if (!it->prompt || !it->completion) {
        free(it->prompt);
        free(it->completion);
        memset(it, 0, sizeof *it);
        return eco_error(ECO_STATUS_ENOMEM, "canary: hard examples: out of memory");
    }
    it->completion[0] = ' '; /* tasks.h: " <answer>\n" */
    memcpy(it->completion + 1, answer, alen);
    memcpy(it->completion + 1 + alen, "\n", 2);
    memcpy(it->sha, sha, sizeof sha);
    h->slots[slot] = (uint32_t)++h->n;
    return ECO_STATUS_OK;
}

eco_status canary_hard_write(const canary_hard *h, const char *path) {
    eco_buf b = {0};
    eco_status st = ECO_STATUS_OK;
    for (size_t i = 0; i < h->n && st == ECO_STATUS_OK; i++) {
        json_t *o = json_pack("{s:s, s:s}", "prompt", h->items[i].prompt, "completion",
                              h->items[i].completion);
        char *text = NULL;
        size_t len = 0;
        if (!o)
            st = eco_error(ECO_STATUS_ENOMEM, "canary: hard examples: out of memory");
        else
            st = eco_json_canonical(o, &text, &len);
        if (st == ECO_STATUS_OK && !(eco_buf_append(&b, text, len) && eco_buf_push(&b, '\n')))
            st = eco_error(ECO_STATUS_ENOMEM, "canary: hard examples: out of memory");
        free(text);
        json_decref(o);
    }
    if (st == ECO_STATUS_OK) {
        st = eco_write_file_atomic(path, b.data ? b.data : "", b.len);
        if (st != ECO_STATUS_OK) st = eco_error_wrap(st, "canary: hard examples");
    }
    eco_buf_free(&b);
    return st;
}
