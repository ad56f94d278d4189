/*
 * eco_llama_generate_batch: several requests on one llama engine decoded together, one
 * eco_model_decode_batch step per token for every sequence still running (engine.h).
 */
#include "ecology/engine.h"

#include <stdlib.h>
#include <string.h>

eco_status eco_llama_generate_batch(eco_engine *e, const eco_model_adapter *ad,
                                    const eco_infer_request *reqs, size_t n,
                                    eco_infer_response *resps) {
    if (!e || (n > 0 && (!reqs || !resps)))
        return eco_error(ECO_STATUS_EINVAL, "generate batch: NULL argument");
    if (n == 0) return ECO_STATUS_OK;
    memset(resps, 0, n * sizeof *resps);
    eco_model *m = eco_llama_engine_model(e);
    eco_llama_gen **gens = eco_calloc_array(n, sizeof *gens);
    eco_decode_row *rows = eco_calloc_array(n, sizeof *rows);
    size_t *who = eco_calloc_array(n, sizeof *who); /* rows[k] is request who[k] */
    eco_status st = ECO_STATUS_OK;
    size_t bad = 0; /* the request an error belongs to */
    if (!gens || !rows || !who) {
        st = eco_error(ECO_STATUS_ENOMEM, "generate batch: out of memory for %zu requests", n);
        goto out;
    }
    for (size_t i = 0; i < n && !st; i++) {
        const eco_llama_gen *same = NULL; /* an earlier request of the same prompt */
        for (size_t j = i; j-- > 0 && !same;)
            if (reqs[j].prompt && reqs[i].prompt && reqs[j].add_special == reqs[i].add_special &&
                strcmp(reqs[j].prompt, reqs[i].prompt) == 0)
                same = gens[j];
        if ((st = eco_llama_gen_begin_shared(e, ad, &reqs[i], &resps[i], same, &gens[i]))) bad = i;
    }
    while (!st) {
        size_t k = 0;
        for (size_t i = 0; i < n && !st; i++) {
            if (!gens[i]) continue;
            int32_t tok = 0;
            bool more = false;
            if ((st = eco_llama_gen_step(gens[i], &tok, &more))) {
                bad = i;
                break;
            }
            if (!more) { /* done: finish its response now */
                st = eco_llama_gen_end(gens[i], ECO_STATUS_OK);
                gens[i] = NULL;
                if (st) bad = i;
                continue;
            }
            rows[k] = (eco_decode_row){.kv = eco_llama_gen_cache(gens[i]),
                                       .adapter = ad,
                                       .token = tok,
                                       .logits = eco_llama_gen_logits(gens[i])};
            who[k++] = i;
        }
        if (st || k == 0) break;
        if ((st = eco_model_decode_batch(m, rows, (int64_t)k))) break;
        for (size_t r = 0; r < k; r++)
            if (rows[r].status) {
                st = rows[r].status;
                bad = who[r];
                break;
            }
    }
out:
    if (gens)
        for (size_t i = 0; i < n; i++)
            if (gens[i]) eco_llama_gen_end(gens[i], st ? st : ECO_STATUS_EINVAL);
    if (st) {
        eco_status keep = eco_error_wrap(st, "generate batch: request %zu of %zu", bad, n);
        for (size_t i = 0; i < n; i++) eco_infer_response_free(&resps[i]);
        st = keep;
    }
    free(gens);
    free(rows);
    free(who);
    return st;
}
