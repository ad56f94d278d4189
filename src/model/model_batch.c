/*
 * eco_model_decode_batch: one new token of each of several sequences in one pass over the
 * base's weights (model.h). Checks each row on its own (a bad row gets its own status and
 * is left out), orders the rows by adapter so that the rows of one adapter sit next to
 * each other (the CPU form of a segmented LoRA product: each unit of work reads an
 * adapter's B rows once for all its rows), embeds each token and its RoPE tables as the
 * one-token forward does, and runs eco_model_decode_rows (model_decode.c), the step the
 * one-token forward runs with one row: so each row's results are those of that row alone.
 */
#include "model/model_internal.h"

#include <stdlib.h>
#include <string.h>

/* Row i's own problems (its status), or OK. */
static eco_status check_row(const eco_model *m, const eco_decode_row *r, int64_t i) {
    const eco_model_config *c = &m->cfg;
    const eco_kv_cache *kv = r->kv;
    if (!kv || !r->logits)
        return eco_error(ECO_STATUS_EINVAL, "decode batch: row %lld: NULL cache or logits",
                         (long long)i);
    if (kv->n_layers != c->n_layers || kv->kv_dim != c->n_kv_heads * c->head_dim ||
        (kv->dtype != ECO_DTYPE_F32 && kv->dtype != ECO_DTYPE_F16))
        return eco_error(ECO_STATUS_EINVAL,
                         "decode batch: row %lld: KV cache of %lld layers × %lld %s, model has "
                         "%lld × %lld",
                         (long long)i, (long long)kv->n_layers, (long long)kv->kv_dim,
                         eco_dtype_name(kv->dtype), (long long)c->n_layers,
                         (long long)(c->n_kv_heads * c->head_dim));
    if (r->adapter && !eco_model_adapter_fits(m, r->adapter))
        return eco_error(ECO_STATUS_EINVAL,
                         "decode batch: row %lld: the adapter was made for a model of other "
                         "shapes",
                         (long long)i);
    if (r->token < 0 || r->token >= c->vocab_size)
        return eco_error(ECO_STATUS_ERANGE, "decode batch: row %lld: token %d outside [0, %lld)",
                         (long long)i, (int)r->token, (long long)c->vocab_size);
    if (kv->len < 0 || kv->len >= kv->max_seq)
        return eco_error(ECO_STATUS_ERANGE,
                         "decode batch: row %lld: %lld cached + 1 new token exceed the cache's "
                         "%lld",
                         (long long)i, (long long)kv->len, (long long)kv->max_seq);
    return ECO_STATUS_OK;
}

eco_status eco_model_decode_batch(eco_model *m, eco_decode_row *rows, int64_t n) {
    if (!m || !rows || n <= 0)
        return eco_error(ECO_STATUS_EINVAL, "decode batch: NULL argument or %lld rows",
                         (long long)n);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++)
            if (rows[i].kv && rows[i].kv == rows[j].kv)
                return eco_error(ECO_STATUS_EINVAL,
                                 "decode batch: rows %lld and %lld share one KV cache",
                                 (long long)i, (long long)j);
    int64_t *order = eco_malloc_array((size_t)n, sizeof *order);
    eco_decode_slot *slots = eco_malloc_array((size_t)n, sizeof *slots);
    if (!order || !slots) {
        free(order);
        free(slots);
        return eco_error(ECO_STATUS_ENOMEM, "decode batch: out of memory for %lld rows",
                         (long long)n);
    }
    /* the rows that can run, grouped by adapter (insertion: stable, n is small) */
    int64_t nv = 0, keys = 0, max_seq = 0, rmax = 0;
    bool widen = false;
    for (int64_t i = 0; i < n; i++) {
        rows[i].status = check_row(m, &rows[i], i);
        if (rows[i].status) continue;
        int64_t at = nv++;
        while (at > 0 && (uintptr_t)rows[order[at - 1]].adapter > (uintptr_t)rows[i].adapter) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = i;
        const eco_kv_cache *kv = rows[i].kv;
        if (kv->len + 1 > keys) keys = kv->len + 1;
        if (kv->max_seq > max_seq) max_seq = kv->max_seq;
        if (kv->dtype != ECO_DTYPE_F32) widen = true;
        if (rows[i].adapter && rows[i].adapter->rmax > rmax) rmax = rows[i].adapter->rmax;
    }
    eco_status st = ECO_STATUS_OK;
    if (nv == 0) goto done;
    if ((st = eco_model_decode_buffers(m, nv, keys, max_seq, widen, rmax)) != ECO_STATUS_OK)
        goto done;
    {
        const eco_model_config *c = &m->cfg;
        const int64_t d = c->hidden_size, half = c->head_dim / 2;
        eco_model_buffers *b = &m->buf;
        const size_t erow = eco_dtype_row_bytes(m->embed->dtype, d);
        for (int64_t k = 0; k < nv; k++) {
            eco_decode_row *r = &rows[order[k]];
            eco_to_f32(b->x + k * d, (const char *)m->embed->data + (size_t)r->token * erow,
                       m->embed->dtype, (size_t)d);
            eco_layer_rope_tables(b->cos_tab + k * half, b->sin_tab + k * half, m->inv_freq,
                                  r->kv->len, 1, half);
            slots[k] = (eco_decode_slot){r->kv, r->adapter ? r->adapter->lw : NULL,
                                         r->adapter ? r->adapter->rmax : 0, r->logits};
        }
        eco_model_decode_rows(m, slots, nv);
        for (int64_t k = 0; k < nv; k++) {
            eco_decode_row *r = &rows[order[k]];
            r->status = eco_model_check_final_rows(b->x + k * d, 1, d, r->kv->len);
            r->kv->len++;
        }
    }
done:
    free(order);
    free(slots);
    return st;
}
