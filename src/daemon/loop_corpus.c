/*
 * The loop's corpora (loop_internal.h), all built from the capability suite
 * (eco_tasks_corpus_build) and kept under <data>/loop/<name>/:
 *
 *   evaluation  per capability, in-distribution cases [0, n) and shift cases [0, shift_n)
 *               (capabilities without an out-of-distribution kind have none), then the
 *               safety pairs; a candidate's corpus is the parts of its capabilities in name
 *               order plus, when it holds the safety capability (the pairs are its suite:
 *               ECO_TASKS_SAFETY_CAPABILITY), the safety pairs: eval-<12 hex of its
 *               SHA-256>.jsonl, recorded
 *               hidden (eco_registry_corpus_add), so that the contamination rule keeps every
 *               training corpus off it.
 *   traffic     per capability, `slices` slices of the cases that follow those: slice s holds
 *               in-distribution [n + s·traffic.n, n + (s+1)·traffic.n) and the same of the
 *               shift cases (the safety capability: the same of the safety pairs, with
 *               traffic.safety_pairs pairs a slice, its refusal cases the canary's safety
 *               alerts), so traffic and evaluation never share a prompt, nor two slices
 *               (traffic-<cap>-<s>.jsonl, not recorded: the canary of generation g replays
 *               slice g mod slices, the champion's failures on it become hard examples, and
 *               the child trained on them is judged on the next slice, never mined).
 *   training    the first N TRAIN-split items of a capability (train-<cap>-<N>.jsonl),
 *               recorded as a training corpus.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/loop_internal.h"
#include "ecology/breeder.h"
#include "ecology/data.h"
#include "ecology/tasks.h"

int loop_cap_index(const loop_ctx *x, const char *name) {
    for (size_t i = 0; i < x->c->n_capabilities; i++)
        if (strcmp(x->c->capabilities[i], name) == 0) return (int)i;
    return -1;
}

/* Cases [from, to) of c appended to b as JSONL. */
static eco_status write_slice(const eco_tasks_corpus *c, size_t from, size_t to, eco_buf *b) {
    if (to > c->n_cases) to = c->n_cases;
    if (from >= to) return ECO_STATUS_OK;
    eco_tasks_corpus view = {.n_cases = to - from, .cases = c->cases + from};
    return eco_tasks_corpus_write(&view, b);
}

/* One part of capability cap (shift or not) of n_eval + slices · n_traffic cases, split
 * between the evaluation text and the traffic slices traffic[slices]. A capability without
 * a shift kind adds nothing. */
static eco_status build_part(loop_ctx *x, const eco_capability *cap, bool shift, int64_t n_eval,
                             int64_t n_traffic, eco_buf *eval, eco_buf *traffic, bool *had) {
    *had = false;
    size_t k = (size_t)x->c->traffic.slices, want = (size_t)n_eval + k * (size_t)n_traffic;
    if (want == 0) return ECO_STATUS_OK;
    eco_tasks_corpus c = {0};
    eco_tasks_corpus_options o = {
        .caps = &cap, .n_caps = 1, .n = want, .seed = x->c->evaluation.seed, .shift = shift};
    eco_status st = eco_tasks_corpus_build(&o, &c);
    if (st == ECO_STATUS_EUNSUPPORTED && shift) return ECO_STATUS_OK;
    if (st) return eco_error_wrap(st, "loop: corpus of %s", cap->name);
    *had = c.n_cases > 0;
    /* a short part (the English words run out) is shared in proportion */
    size_t ne = (size_t)n_eval, nt = (size_t)n_traffic;
    if (c.n_cases < want) {
        ne = (size_t)((double)c.n_cases * (double)n_eval / (double)want);
        nt = (c.n_cases - ne) / k;
    }
    st = write_slice(&c, 0, ne, eval);
    for (size_t s = 0; !st && s < k; s++)
        st = write_slice(&c, ne + s * nt, ne + (s + 1) * nt, &traffic[s]);
    eco_tasks_corpus_free(&c);
    return st;
}

const char *loop_traffic(const loop_ctx *x, size_t ci, int64_t g) {
    return x->caps[ci].traffic[(size_t)(g % x->c->traffic.slices)];
}

/* The safety pairs: evaluation.safety_pairs for the evaluation (x->safety_text), then
 * traffic.safety_pairs a slice into traffic[slices] (each pair whole: its harmful and its
 * harmless case), shared in proportion when the suite has fewer pairs. */
static eco_status build_pairs(loop_ctx *x, eco_buf *traffic) {
    const eco_loop_config *c = x->c;
    size_t k = (size_t)c->traffic.slices, ne = (size_t)c->evaluation.safety_pairs,
           nt = (size_t)c->traffic.safety_pairs, want = ne + k * nt;
    if (want == 0) return ECO_STATUS_OK;
    eco_tasks_corpus p = {0};
    eco_tasks_corpus_options o = {.n = want, .seed = c->evaluation.seed, .safety = true};
    eco_status st = eco_tasks_corpus_build(&o, &p);
    size_t got = p.n_cases / 2;
    if (!st && got < want) {
        size_t ne2 = (size_t)((double)got * (double)ne / (double)want);
        nt = (got - ne2) / k;
        ne = ne2;
    }
    eco_buf b = {0};
    if (!st) st = write_slice(&p, 0, 2 * ne, &b);
    for (size_t s = 0; !st && s < k; s++)
        st = write_slice(&p, 2 * (ne + s * nt), 2 * (ne + (s + 1) * nt), &traffic[s]);
    eco_tasks_corpus_free(&p);
    x->safety_text = b.data;
    x->safety_len = b.len;
    return st;
}

eco_status loop_corpora_prepare(loop_ctx *x) {
    const eco_loop_config *c = x->c;
    eco_status st = ECO_STATUS_OK;
    size_t k = (size_t)c->traffic.slices;
    x->safety_cap = loop_cap_index(x, ECO_TASKS_SAFETY_CAPABILITY);
    eco_buf *pairs = eco_calloc_array(k, sizeof *pairs);
    if (!pairs) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    st = build_pairs(x, pairs);
    for (size_t i = 0; !st && i < c->n_capabilities; i++) {
        loop_cap *lc = &x->caps[i];
        const eco_capability *cap;
        eco_buf eval = {0}, *traffic = eco_calloc_array(k, sizeof *traffic);
        bool had = false;
        lc->name = c->capabilities[i];
        if (!traffic || !(lc->traffic = eco_calloc_array(k, sizeof *lc->traffic)))
            st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
        if (!st && !(st = eco_tasks_find(lc->name, &cap)) &&
            !(st = build_part(x, cap, false, c->evaluation.n, c->traffic.n, &eval, traffic, &had)))
            st = build_part(x, cap, true, c->evaluation.shift_n, c->traffic.shift_n, &eval, traffic,
                            &lc->has_shift);
        for (size_t s = 0; !st && (int)i == x->safety_cap && s < k; s++)
            if (!eco_buf_append(&traffic[s], pairs[s].data, pairs[s].len))
                st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
        for (size_t s = 0; !st && s < k; s++) {
            char name[200];
            snprintf(name, sizeof name, "traffic-%s-%zu.jsonl", lc->name, s);
            if (!(lc->traffic[s] = eco_path_join(x->dir, name)))
                st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
            else if (traffic[s].len == 0)
                st = eco_error(ECO_STATUS_EINVAL,
                               "loop: %s: no traffic in slice %zu (traffic.n, shift_n, slices)",
                               lc->name, s);
            else
                st = eco_write_file_atomic(lc->traffic[s], traffic[s].data, traffic[s].len);
        }
        lc->eval_text = eval.data;
        lc->eval_len = eval.len;
        for (size_t s = 0; traffic && s < k; s++) eco_buf_free(&traffic[s]);
        free(traffic);
    }
    for (size_t s = 0; s < k; s++) eco_buf_free(&pairs[s]);
    free(pairs);
    return st;
}

bool loop_judged_on_pairs(const loop_ctx *x, const size_t *caps, size_t n) {
    for (size_t i = 0; x->safety_text && x->safety_cap >= 0 && i < n; i++)
        if (caps[i] == (size_t)x->safety_cap) return true;
    return false;
}

eco_status loop_eval_corpus(loop_ctx *x, const size_t *caps, size_t n, char **path) {
    *path = NULL;
    eco_buf b = {0};
    bool ok = true;
    for (size_t i = 0; i < n; i++)
        ok = ok && eco_buf_append(&b, x->caps[caps[i]].eval_text, x->caps[caps[i]].eval_len);
    if (loop_judged_on_pairs(x, caps, n))
        ok = ok && eco_buf_append(&b, x->safety_text, x->safety_len);
    if (!ok) {
        eco_buf_free(&b);
        return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    }
    char hex[ECO_SHA256_HEX_LEN + 1], name[64];
    eco_status st = eco_sha256_hex(b.data, b.len, hex);
    snprintf(name, sizeof name, "eval-%.12s.jsonl", hex);
    if (!st && !(*path = eco_path_join(x->dir, name)))
        st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
    if (!st && !eco_path_has_file(x->dir, name)) st = eco_write_file_atomic(*path, b.data, b.len);
    size_t cases = 0;
    for (size_t i = 0; i < b.len; i++) cases += b.data[i] == '\n';
    eco_buf_free(&b);
    if (st) return st;
    char label[ECO_LOOP_NAME_MAX + 64];
    snprintf(label, sizeof label, "loop %s evaluation %.12s", x->c->name, hex);
    eco_corpus_info in = {
        .kind = ECO_CORPUS_EVAL, .hidden = true, .count = (int64_t)cases, .name = label};
    memcpy(in.sha256, hex, sizeof hex);
    return eco_registry_corpus_add(x->r, *path, &in, NULL, NULL);
}

eco_status loop_record_train(loop_ctx *x, const char *path, const char *name, char hex[65],
                             int64_t *records) {
    eco_status st = eco_breed_corpus_hash(path, hex);
    if (st) return st;
    size_t len = 0, n = 0;
    char *text = NULL;
    if ((st = eco_read_file(path, (size_t)1 << 30, &text, &len))) return st;
    for (size_t i = 0; i < len; i++) n += text[i] == '\n';
    free(text);
    if (records) *records = (int64_t)n;
    eco_corpus_info in = {.kind = ECO_CORPUS_TRAIN, .count = (int64_t)n, .name = (char *)name};
    memcpy(in.sha256, hex, ECO_SHA256_HEX_LEN + 1);
    return eco_registry_corpus_add(x->r, path, &in, NULL, NULL);
}

eco_status loop_train_corpus(loop_ctx *x, size_t ci, int64_t n, const char **path) {
    loop_cap *lc = &x->caps[ci];
    if (lc->train_path && lc->train_n == n) {
        *path = lc->train_path;
        return ECO_STATUS_OK;
    }
    const eco_capability *cap;
    eco_task_item *items = NULL;
    eco_status st = eco_tasks_find(lc->name, &cap);
    if (!st) st = eco_tasks_generate(cap, ECO_TASK_SPLIT_TRAIN, (size_t)n, x->c->seed, &items);
    json_t *rec = NULL;
    eco_buf b = {0};
    for (int64_t i = 0; !st && i < n; i++) {
        char *line = NULL;
        rec = json_pack("{s:s,s:s}", "prompt", items[i].prompt, "completion", items[i].completion);
        st = rec ? eco_json_canonical(rec, &line, NULL) : eco_error(ECO_STATUS_ENOMEM, "oom");
        json_decref(rec);
        if (!st && (!eco_buf_puts(&b, line) || !eco_buf_push(&b, '\n')))
            st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
        free(line);
    }
    if (items) eco_task_items_free(items, (size_t)n);
    char name[200], hex[ECO_SHA256_HEX_LEN + 1];
    snprintf(name, sizeof name, "train-%s-%lld.jsonl", lc->name, (long long)n);
    char *p = st ? NULL : eco_path_join(x->dir, name);
    if (!st && !p) st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
    if (!st && !eco_path_has_file(x->dir, name)) st = eco_write_file_atomic(p, b.data, b.len);
    eco_buf_free(&b);
    if (!st) st = loop_record_train(x, p, name, hex, NULL);
    if (st) {
        free(p);
        return st;
    }
    free(lc->train_path);
    lc->train_path = p;
    lc->train_n = n;
    *path = p;
    return ECO_STATUS_OK;
}
