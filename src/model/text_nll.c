/* Scoring text under a model: negative log-likelihood of every token of a text, in windows
 * of at most ctx positions that each start with BOS (engine.h, eco_model_text_nll). */
#include <math.h>
#include <stdlib.h>

#include "ecology/engine.h"

/* −log softmax(row)[target], in double (row: [vocab]). */
static double token_nll(const float *row, int64_t vocab, int32_t target) {
    double mx = row[0];
    for (int64_t v = 1; v < vocab; v++)
        if (row[v] > mx) mx = row[v];
    double sum = 0;
    for (int64_t v = 0; v < vocab; v++) sum += exp((double)row[v] - mx);
    return log(sum) + mx - (double)row[target];
}

eco_status eco_model_text_nll(eco_model *m, const eco_tokenizer *tok, const char *text, size_t len,
                              int64_t ctx, eco_text_nll *out) {
    if (!m || !tok || (!text && len) || !out)
        return eco_error(ECO_STATUS_EINVAL, "text nll: NULL argument");
    *out = (eco_text_nll){0};
    const eco_model_config *cfg = eco_model_get_config(m);
    const int64_t vocab = cfg->vocab_size;
    const int32_t bos = (int32_t)cfg->bos_token_id;
    if (bos < 0 || bos >= vocab)
        return eco_error(ECO_STATUS_EINVAL, "text nll: the model's config has no usable BOS (%d)",
                         (int)bos);
    if (eco_tokenizer_vocab_size(tok) > vocab)
        return eco_error(ECO_STATUS_EINVAL,
                         "text nll: the tokenizer's %lld tokens do not fit the model's vocab %lld",
                         (long long)eco_tokenizer_vocab_size(tok), (long long)vocab);
    if (ctx < 2 || ctx > cfg->max_position_embeddings)
        return eco_error(ECO_STATUS_EINVAL, "text nll: window %lld outside [2, %lld]",
                         (long long)ctx, (long long)cfg->max_position_embeddings);
    if (len == 0) return eco_error(ECO_STATUS_EINVAL, "text nll: empty text");
    int32_t *ids = NULL, *win = NULL;
    size_t n_ids = 0;
    float *logits = NULL; /* [ctx, vocab] */
    eco_kv_cache *kv = NULL;
    eco_status st = eco_tokenizer_encode(tok, text, len, false, &ids, &n_ids);
    if (st) return st;
    win = malloc((size_t)ctx * sizeof *win);
    logits = eco_malloc_array((size_t)ctx, (size_t)vocab * sizeof(float));
    if (!win || !logits) {
        st = eco_error(ECO_STATUS_ENOMEM, "text nll: out of memory for %lld x %lld logits",
                       (long long)ctx, (long long)vocab);
        goto done;
    }
    if ((st = eco_kv_cache_create_typed(m, ctx, ECO_DTYPE_F32, &kv))) goto done;
    double nll = 0;
    int64_t windows = 0;
    /* each window: BOS, then up to ctx − 1 tokens, every one of them predicted */
    for (size_t at = 0; at < n_ids;) {
        size_t take = n_ids - at < (size_t)(ctx - 1) ? n_ids - at : (size_t)(ctx - 1);
        win[0] = bos;
        for (size_t i = 0; i < take; i++) win[i + 1] = ids[at + i];
        eco_kv_cache_reset(kv);
        if ((st = eco_model_forward(m, kv, win, (int64_t)take + 1, logits, true))) goto done;
        for (size_t i = 0; i < take; i++)
            nll += token_nll(logits + i * (size_t)vocab, vocab, win[i + 1]);
        at += take;
        windows++;
    }
    out->nll_nats = nll;
    out->tokens = (int64_t)n_ids;
    out->bytes = (int64_t)len;
    out->windows = windows;
    out->bits_per_byte = nll / log(2.0) / (double)len;
done:
    eco_kv_cache_free(kv);
    free(logits);
    free(win);
    free(ids);
    return st;
}
