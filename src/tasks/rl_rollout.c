/*
 * The rl loop's data: the prompt stream, rollouts as training rows with their rewards, and
 * the held-out evaluation through the policy (rl_internal.h).
 */
#include "tasks/rl_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- the prompt stream ------------------------------------------------------------------ */

eco_status rl_stream_init(rl_stream *s, const eco_capability *const *caps, size_t n_caps,
                          uint64_t seed) {
    memset(s, 0, sizeof *s);
    s->caps = caps;
    s->n_caps = n_caps;
    s->seed = seed;
    s->items = eco_calloc_array(n_caps, sizeof *s->items);
    s->n_items = eco_calloc_array(n_caps, sizeof *s->n_items);
    if (!s->items || !s->n_items) {
        rl_stream_free(s);
        return eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
    }
    return ECO_STATUS_OK;
}

void rl_stream_free(rl_stream *s) {
    if (s->items)
        for (size_t c = 0; c < s->n_caps; c++) eco_task_items_free(s->items[c], s->n_items[c]);
    free(s->items);
    free(s->n_items);
    memset(s, 0, sizeof *s);
}

eco_status rl_stream_get(rl_stream *s, int64_t i, const eco_capability **cap,
                         const eco_task_item **item) {
    if (i < 0) return eco_error(ECO_STATUS_ERANGE, "rl: prompt stream position %lld", (long long)i);
    size_t c = (size_t)i % s->n_caps, k = (size_t)i / s->n_caps;
    if (k >= s->n_items[c]) { /* the first k items of a capability do not depend on n */
        size_t n = s->n_items[c] ? 2 * s->n_items[c] : 64;
        if (n <= k) n = k + 1;
        if (n > ECO_TASKS_MAX_N)
            return eco_error(ECO_STATUS_ERANGE, "rl: %s: more than %zu prompts", s->caps[c]->name,
                             (size_t)ECO_TASKS_MAX_N);
        eco_task_item *items;
        eco_status st = eco_tasks_generate(s->caps[c], ECO_TASK_SPLIT_TRAIN, n, s->seed, &items);
        if (st) return eco_error_wrap(st, "rl: %s prompts", s->caps[c]->name);
        eco_task_items_free(s->items[c], s->n_items[c]);
        s->items[c] = items;
        s->n_items[c] = n;
    }
    *cap = s->caps[c];
    *item = &s->items[c][k];
    return ECO_STATUS_OK;
}

eco_status rl_stream_hash(rl_stream *s, int64_t n, char hex[ECO_SHA256_HEX_LEN + 1]) {
    eco_sha256_ctx *ctx;
    eco_status st = eco_sha256_begin(&ctx);
    if (st) return st;
    for (int64_t i = 0; i < n && !st; i++) {
        const eco_capability *cap = NULL;
        const eco_task_item *item = NULL;
        if (!(st = rl_stream_get(s, i, &cap, &item)))
            st = eco_sha256_update(ctx, item->prompt, strlen(item->prompt) + 1);
    }
    if (st) {
        eco_sha256_abort(ctx);
        return st;
    }
    uint8_t d[ECO_SHA256_LEN];
    if ((st = eco_sha256_end(ctx, d))) return st;
    eco_hex(hex, d, ECO_SHA256_LEN);
    return ECO_STATUS_OK;
}

eco_status rl_prompt_fits(eco_engine *e, const char *prompt, int max_tokens, int64_t max_seq,
                          bool *fits) {
    int32_t *ids;
    size_t n;
    eco_status st =
        eco_tokenizer_encode(eco_llama_engine_tokenizer(e), prompt, strlen(prompt), true, &ids, &n);
    if (st) return st;
    free(ids);
    const eco_model_config *cfg = eco_model_get_config(eco_llama_engine_model(e));
    const int64_t need = (int64_t)n + max_tokens;
    *fits = need <= cfg->max_position_embeddings && (max_seq <= 0 || need - 1 <= max_seq);
    return ECO_STATUS_OK;
}

/* ---- rollouts --------------------------------------------------------------------------- */

void rl_sample_free(rl_sample *x) {
    free(x->row);
    memset(x, 0, sizeof *x);
}

/* Whether the stop sequence ended the response: its tokens decode to a text holding it (the
 * response's text is cut before it; an EOS ending leaves none). */
static eco_status ended_by_stop(const eco_tokenizer *tok, const eco_infer_response *r,
                                bool *stopped) {
    char *text;
    size_t len;
    eco_status st = eco_tokenizer_decode(tok, r->tokens, r->n_tokens, false, &text, &len);
    if (st) return st;
    *stopped = memchr(text, ECO_TASKS_STOP[0], len) != NULL;
    free(text);
    return ECO_STATUS_OK;
}

/* The training row of a response: the prompt's ids, the completion's, and the EOS that ended
 * it when one did. */
static eco_status make_row(const eco_tokenizer *tok, int32_t eos, const char *prompt,
                           const eco_infer_response *r, bool eos_ended, rl_sample *x) {
    int32_t *ids;
    size_t n_ids;
    eco_status st = eco_tokenizer_encode(tok, prompt, strlen(prompt), true, &ids, &n_ids);
    if (st) return st;
    size_t n = n_ids + r->n_tokens + (eos_ended ? 1 : 0);
    x->row = eco_malloc_array(n, sizeof(int32_t));
    if (!x->row) {
        free(ids);
        return eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
    }
    memcpy(x->row, ids, n_ids * sizeof(int32_t));
    memcpy(x->row + n_ids, r->tokens, r->n_tokens * sizeof(int32_t));
    if (eos_ended) x->row[n - 1] = eos;
    x->n_prompt = (int64_t)n_ids;
    x->n_row = (int64_t)n;
    free(ids);
    return ECO_STATUS_OK;
}

eco_status rl_rollout(eco_engine *e, const eco_model_adapter *ad, rl_stream *s, const int64_t *pos,
                      size_t n_pos, const eco_rl_options *o, int max_tokens, rl_sample *out) {
    const size_t G = (size_t)o->group, n = n_pos * G;
    const eco_tokenizer *tok = eco_llama_engine_tokenizer(e);
    const eco_model_config *cfg = eco_model_get_config(eco_llama_engine_model(e));
    const int32_t eos = cfg->n_eos > 0 ? (int32_t)cfg->eos_token_ids[0] : -1;
    eco_infer_request *reqs = eco_calloc_array(n, sizeof *reqs);
    eco_infer_response *resps = eco_calloc_array(n, sizeof *resps);
    const eco_task_item **items = eco_calloc_array(n, sizeof *items);
    const eco_capability **caps = eco_calloc_array(n, sizeof *caps);
    static const char *const stop[1] = {ECO_TASKS_STOP};
    for (size_t i = 0; i < n; i++) rl_sample_free(&out[i]); /* a previous step's rows */
    eco_status st = ECO_STATUS_OK;
    if (!reqs || !resps || !items || !caps) {
        st = eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
        goto done;
    }
    /* generate every prompt first: growing the stream moves the items */
    for (size_t g = 0; g < n_pos && !st; g++) {
        const eco_capability *cap = NULL;
        const eco_task_item *item = NULL;
        st = rl_stream_get(s, pos[g], &cap, &item);
    }
    for (size_t g = 0; g < n_pos && !st; g++) {
        const eco_capability *cap = NULL;
        const eco_task_item *item = NULL;
        if ((st = rl_stream_get(s, pos[g], &cap, &item))) break;
        for (size_t j = 0; j < G; j++) {
            eco_infer_request *q = &reqs[g * G + j];
            eco_infer_request_init(q);
            q->capability = cap->name;
            q->prompt = item->prompt;
            q->max_tokens = max_tokens;
            q->temperature = (float)o->temperature;
            q->top_p = (float)o->top_p;
            q->seed = eco_rl_sample_seed(o->seed, pos[g], (int64_t)j);
            q->stop = stop;
            q->n_stop = 1;
            items[g * G + j] = item;
            caps[g * G + j] = cap;
            out[g * G + j].pos = pos[g];
            out[g * G + j].cap = cap;
        }
    }
    if (st || (st = eco_llama_generate_batch(e, ad, reqs, n, resps))) goto done;
    for (size_t i = 0; i < n && !st; i++) {
        const eco_infer_response *r = &resps[i];
        bool by_stop = false;
        if ((st = ended_by_stop(tok, r, &by_stop))) break;
        bool eos_ended = !by_stop && strcmp(r->finish_reason, "stop") == 0 && eos >= 0;
        if ((st = make_row(tok, eos, items[i]->prompt, r, eos_ended, &out[i]))) break;
        out[i].n_tokens = r->n_tokens;
        out[i].reward = eco_rl_reward(caps[i], items[i], r->text, r->text_len, by_stop, r->n_tokens,
                                      (size_t)max_tokens, &o->reward);
    }
done:
    if (resps)
        for (size_t i = 0; i < n; i++) eco_infer_response_free(&resps[i]);
    if (st)
        for (size_t i = 0; i < n; i++) rl_sample_free(&out[i]);
    free(reqs);
    free(resps);
    free(items);
    free(caps);
    return st;
}

/* ---- held-out evaluation ---------------------------------------------------------------- */

void rl_heldout_free(rl_heldout *h) {
    if (h->items)
        for (size_t c = 0; c < h->n_caps; c++) eco_task_items_free(h->items[c], h->n[c]);
    free(h->items);
    free(h->n);
    memset(h, 0, sizeof *h);
}

eco_status rl_heldout_init(rl_heldout *h, const eco_capability *const *caps, size_t n_caps,
                           size_t n, uint64_t seed) {
    memset(h, 0, sizeof *h);
    h->caps = caps;
    h->n_caps = n_caps;
    h->items = eco_calloc_array(n_caps, sizeof *h->items);
    h->n = eco_calloc_array(n_caps, sizeof *h->n);
    if (!h->items || !h->n) {
        rl_heldout_free(h);
        return eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
    }
    for (size_t c = 0; c < n_caps; c++) {
        size_t k = n, split; /* as eco_tasks_eval: a fixed set is not cycled */
        if (eco_tasks_split_size(caps[c], ECO_TASK_SPLIT_EVAL, &split) == ECO_STATUS_OK &&
            split < k)
            k = split;
        eco_clear_error();
        eco_status st = eco_tasks_generate(caps[c], ECO_TASK_SPLIT_EVAL, k, seed, &h->items[c]);
        if (st) {
            rl_heldout_free(h);
            return eco_error_wrap(st, "rl: %s held-out items", caps[c]->name);
        }
        h->n[c] = k;
    }
    return ECO_STATUS_OK;
}

eco_status rl_heldout_eval(rl_heldout *h, eco_engine *e, const eco_model_adapter *ad, double *acc) {
    size_t total = 0;
    for (size_t c = 0; c < h->n_caps; c++) total += h->n[c];
    const size_t cap = total ? total : 1;
    eco_infer_request *reqs = eco_calloc_array(cap, sizeof *reqs);
    eco_infer_response *resps = eco_calloc_array(cap, sizeof *resps);
    size_t *cap_of = eco_calloc_array(cap, sizeof *cap_of),
           *item_of = eco_calloc_array(cap, sizeof *item_of),
           *correct = eco_calloc_array(h->n_caps ? h->n_caps : 1, sizeof *correct);
    static const char *const stop[1] = {ECO_TASKS_STOP};
    eco_tasks_eval_options eo;
    eco_tasks_eval_options_init(&eo);
    eco_status st = ECO_STATUS_OK;
    size_t k = 0; /* requests: the items whose prompt fits the context */
    if (!reqs || !resps || !cap_of || !item_of || !correct) {
        st = eco_error(ECO_STATUS_ENOMEM, "rl: out of memory");
        goto done;
    }
    for (size_t c = 0; c < h->n_caps && !st; c++)
        for (size_t i = 0; i < h->n[c]; i++) {
            const int mt = (int)h->caps[c]->max_completion_bytes + eo.extra_tokens;
            bool fits;
            if ((st = rl_prompt_fits(e, h->items[c][i].prompt, mt, 0, &fits))) break;
            if (!fits) continue; /* counted wrong, as eco_tasks_eval counts a context miss */
            cap_of[k] = c;
            item_of[k] = i;
            eco_infer_request *q = &reqs[k++];
            eco_infer_request_init(q); /* greedy, BOS, EOS honoured: as eco_tasks_eval */
            q->capability = h->caps[c]->name;
            q->prompt = h->items[c][i].prompt;
            q->max_tokens = mt;
            q->temperature = 0.0f;
            q->stop = stop;
            q->n_stop = 1;
        }
    if (st || (st = eco_llama_generate_batch(e, ad, reqs, k, resps))) goto done;
    for (size_t r = 0; r < k; r++)
        correct[cap_of[r]] += eco_tasks_check(h->caps[cap_of[r]], &h->items[cap_of[r]][item_of[r]],
                                              resps[r].text, resps[r].text_len);
    for (size_t c = 0; c < h->n_caps; c++)
        acc[c] = h->n[c] ? (double)correct[c] / (double)h->n[c] : 0.0;
done:
    if (resps)
        for (size_t i = 0; i < k; i++) eco_infer_response_free(&resps[i]);
    free(reqs);
    free(resps);
    free(cap_of);
    free(item_of);
    free(correct);
    return st;
}
