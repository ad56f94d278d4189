/*
 * The hard-example set: failed and low-confidence answers, bounded in count and bytes,
 * deduplicated by the prompt's SHA-256, keeping the lowest confidences; and its export as
 * JSONL (ecology/telemetry.h states the rules).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "telemetry/telemetry_internal.h"

void tm_hard_clear(tm_hard *h) {
    free(h->prompt);
    free(h->answer);
    free(h->engine);
    free(h->capability);
    memset(h, 0, sizeof *h);
}

void tm_hard_set_free(tm_hard_set *s) {
    for (size_t i = 0; i < s->count; i++) tm_hard_clear(&s->items[i]);
    free(s->items);
    memset(s, 0, sizeof *s);
}

static size_t entry_bytes(const tm_hard *h) { return h->prompt_len + h->answer_len; }

/* Whether a is evicted before b: the higher rank first, then the later-seen. */
static bool evicts_before(const tm_hard *a, const tm_hard *b) {
    double ra = tm_rank(a->confidence), rb = tm_rank(b->confidence);
    return ra != rb ? ra > rb : a->seq > b->seq;
}

static void remove_at(tm_hard_set *s, size_t i) {
    s->bytes -= entry_bytes(&s->items[i]);
    tm_hard_clear(&s->items[i]);
    s->items[i] = s->items[s->count - 1];
    s->count--;
}

/* Makes room for `count` more entries and `bytes` more bytes by evicting entries ranked
 * strictly above `rank` (never the entry of sequence number skip_seq), the most evictable
 * first. Evicts nothing and returns false when even all of them would not make room. */
static bool make_room(tm_hard_set *s, const eco_telemetry_config *cfg, size_t count, size_t bytes,
                      double rank, uint64_t skip_seq) {
    if (count > cfg->hard_max_count || bytes > cfg->hard_max_bytes) return false;
    size_t max_count = cfg->hard_max_count - count, max_bytes = cfg->hard_max_bytes - bytes;
    size_t n_left = s->count, b_left = s->bytes; /* what stays if every evictable one goes */
    for (size_t i = 0; i < s->count; i++)
        if (s->items[i].seq != skip_seq && tm_rank(s->items[i].confidence) > rank) {
            n_left--;
            b_left -= entry_bytes(&s->items[i]);
        }
    if (n_left > max_count || b_left > max_bytes) return false;
    while (s->count > max_count || s->bytes > max_bytes) {
        size_t worst = s->count;
        for (size_t i = 0; i < s->count; i++) {
            const tm_hard *h = &s->items[i];
            if (h->seq == skip_seq || !(tm_rank(h->confidence) > rank)) continue;
            if (worst == s->count || evicts_before(h, &s->items[worst])) worst = i;
        }
        ECO_ASSERT(worst < s->count); /* the check above found enough evictable entries */
        remove_at(s, worst);
        s->evicted++;
    }
    return true;
}

/* A held prompt seen again: the lower confidence keeps its answer. */
static void offer_seen(eco_telemetry *t, size_t i, tm_hard *c) {
    tm_hard_set *s = &t->hard;
    s->deduped++;
    tm_hard *h = &s->items[i];
    h->seen++;
    double rc = tm_rank(c->confidence);
    if (!(rc < tm_rank(h->confidence))) {
        tm_hard_clear(c);
        return;
    }
    uint64_t seq = h->seq;
    size_t old = h->answer_len;
    /* Room for the answer's growth, the entry itself kept. */
    size_t grow = c->answer_len > old ? c->answer_len - old : 0;
    if (!make_room(s, &t->cfg, 0, grow, rc, seq)) {
        tm_hard_clear(c);
        return;
    }
    for (i = 0; s->items[i].seq != seq; i++) /* found again: evictions move entries */
        ;
    h = &s->items[i];
    s->bytes = s->bytes - old + c->answer_len;
    free(h->answer);
    free(h->engine);
    free(h->capability);
    h->answer = c->answer;
    h->answer_len = c->answer_len;
    h->engine = c->engine;
    h->capability = c->capability;
    h->confidence = c->confidence;
    c->answer = c->engine = c->capability = NULL;
    tm_hard_clear(c);
}

eco_status tm_hard_offer(eco_telemetry *t, tm_hard *c) {
    tm_hard_set *s = &t->hard;
    s->offered++;
    for (size_t i = 0; i < s->count; i++)
        if (memcmp(s->items[i].hash, c->hash, ECO_SHA256_LEN) == 0) {
            offer_seen(t, i, c);
            return ECO_STATUS_OK;
        }
    if (!make_room(s, &t->cfg, 1, entry_bytes(c), tm_rank(c->confidence), UINT64_MAX)) {
        s->rejected++;
        tm_hard_clear(c);
        return ECO_STATUS_OK;
    }
    void *grown = s->items;
    if (!tm_grow(&grown, &s->cap, s->count, sizeof *s->items)) {
        tm_hard_clear(c);
        return eco_error(ECO_STATUS_ENOMEM, "telemetry: out of memory for a hard example");
    }
    s->items = grown;
    c->seq = s->next_seq++;
    s->items[s->count++] = *c;
    s->bytes += entry_bytes(c);
    memset(c, 0, sizeof *c);
    return ECO_STATUS_OK;
}

/* ---- export ---------------------------------------------------------------------------- */

/* Export order: lowest rank first, ties by first sighting. */
static int cmp_export(const void *a, const void *b) {
    const tm_hard *x = *(const tm_hard *const *)a, *y = *(const tm_hard *const *)b;
    double rx = tm_rank(x->confidence), ry = tm_rank(y->confidence);
    if (rx != ry) return rx < ry ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* One JSONL line for h, appended to out (its newline included). */
static eco_status append_line(eco_buf *out, const tm_hard *h) {
    json_t *o = json_object();
    bool ok =
        o && json_object_set_new(o, "prompt", json_stringn(h->prompt, h->prompt_len)) == 0 &&
        json_object_set_new(o, "answer", json_stringn(h->answer, h->answer_len)) == 0 &&
        json_object_set_new(o, "confidence",
                            isnan(h->confidence) ? json_null() : json_real(h->confidence)) == 0 &&
        json_object_set_new(o, "engine", json_string(h->engine)) == 0 &&
        json_object_set_new(o, "capability", json_string(h->capability)) == 0;
    if (!ok) {
        json_decref(o);
        return eco_error(ECO_STATUS_ENOMEM, "telemetry: hard example: cannot build its JSON");
    }
    char *text = NULL;
    size_t len = 0;
    eco_status st = eco_json_canonical(o, &text, &len);
    json_decref(o);
    if (st != ECO_STATUS_OK) return st;
    ok = eco_buf_append(out, text, len) && eco_buf_push(out, '\n');
    free(text);
    return ok ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "telemetry: out of memory");
}

eco_status eco_telemetry_export_hard_examples(eco_telemetry *t, const char *path,
                                              size_t *n_written) {
    if (n_written) *n_written = 0;
    if (!t || !path) return eco_error(ECO_STATUS_EINVAL, "telemetry export: NULL argument");
    eco_buf text = {0};
    eco_status st = ECO_STATUS_OK;
    size_t n = 0;
    /* The lines are made under the lock, the file written after it. */
    pthread_mutex_lock(&t->mu);
    const tm_hard **order = NULL; /* [count] the entries in export order */
    if (t->hard.count) {
        order = eco_malloc_array(t->hard.count, sizeof *order);
        if (!order) st = eco_error(ECO_STATUS_ENOMEM, "telemetry: out of memory");
    }
    if (order) {
        for (size_t i = 0; i < t->hard.count; i++) order[i] = &t->hard.items[i];
        qsort(order, t->hard.count, sizeof *order, cmp_export);
        for (n = 0; n < t->hard.count && st == ECO_STATUS_OK; n++)
            st = append_line(&text, order[n]);
    }
    pthread_mutex_unlock(&t->mu);
    free(order);
    if (st == ECO_STATUS_OK) st = eco_write_file_atomic(path, text.data ? text.data : "", text.len);
    eco_buf_free(&text);
    if (st != ECO_STATUS_OK) return eco_error_wrap(st, "telemetry: hard examples to %s", path);
    if (n_written) *n_written = n;
    return ECO_STATUS_OK;
}
