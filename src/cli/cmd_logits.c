/* ecology logits --model DIR [--adapter DIR] [--kv-cache f32|f16] --tokens 1,2,3 --out FILE.safetensors
 * Writes one f32 tensor `logits` [T, vocab]: every position's logits from one batched pass
 * (with the LoRA adapter applied unmerged when --adapter is given). The KV cache is f32
 * unless asked otherwise: this command is for checking against other implementations,
 * where generation keeps a 16-bit model's keys and values in f16 (eco_kv_cache_create).
 * More tokens than max_position_embeddings are refused (eco_config_check_context). */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "ecology/model.h"

int cmd_logits(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("model", true),   CLI_OPT("tokens", true),  CLI_OPT("out", true),
                   CLI_OPT("threads", true), CLI_OPT("adapter", true), CLI_OPT("kv-cache", true),
                   CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *model = cli_get(o, n, "model"), *tokens_s = cli_get(o, n, "tokens"),
               *out = cli_get(o, n, "out");
    if (!model) return cli_usage_error("logits: --model DIR is required");
    if (!tokens_s) return cli_usage_error("logits: --tokens 1,2,3 is required");
    if (!out) return cli_usage_error("logits: --out FILE.safetensors is required");
    const char *th = cli_get(o, n, "threads");
    int64_t threads;
    if (th) {
        if (cli_parse_int("threads", th, 1, ECO_MAX_THREADS, &threads) != CLI_OK) return CLI_USAGE;
        eco_set_threads((int)threads);
    }
    const char *kv_s = cli_get(o, n, "kv-cache");
    eco_dtype kvt = ECO_DTYPE_F32;
    if (kv_s && cli_parse_kv_dtype("kv-cache", kv_s, &kvt) != CLI_OK) return CLI_USAGE;
    int32_t *ids;
    size_t n_ids;
    if (cli_parse_ids("tokens", tokens_s, &ids, &n_ids) != CLI_OK) return CLI_USAGE;
    if (cli_model_ref(o, n, "model", &model) || cli_model_ref(o, n, "adapter", NULL)) {
        free(ids);
        return CLI_FAIL;
    }

    eco_model *m = NULL;
    eco_kv_cache *kv = NULL;
    float *logits = NULL;
    int rc = CLI_OK;
    eco_status st = eco_model_load(model, &m);
    if (st != ECO_STATUS_OK) {
        rc = cli_fail(st, "logits");
        goto done;
    }
    const eco_model_config *cfg = eco_model_get_config(m);
    st = eco_config_check_context(cfg, (int64_t)n_ids, "--tokens");
    if (st != ECO_STATUS_OK) {
        rc = cli_fail(st, "logits");
        goto done;
    }
    const char *adapter_dir = cli_get(o, n, "adapter");
    if (adapter_dir) { /* the model keeps f32 copies: the adapter is freed at once */
        eco_lora_adapter *a = NULL;
        st = eco_lora_adapter_load(adapter_dir, cfg, &a);
        if (st == ECO_STATUS_OK) st = eco_model_set_adapter(m, a);
        eco_lora_adapter_free(a);
        if (st != ECO_STATUS_OK) {
            rc = cli_fail(st, "logits");
            goto done;
        }
    }
    logits = eco_malloc_array(n_ids, (size_t)cfg->vocab_size * sizeof(float));
    if (!logits) {
        rc = cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory for %zu x %lld logits", n_ids,
                                (long long)cfg->vocab_size),
                      "logits");
        goto done;
    }
    st = eco_kv_cache_create_typed(m, (int64_t)n_ids, kvt, &kv);
    if (st == ECO_STATUS_OK) st = eco_model_forward(m, kv, ids, (int64_t)n_ids, logits, true);
    if (st != ECO_STATUS_OK) {
        rc = cli_fail(st, "logits");
        goto done;
    }
    /* logits: [T, vocab] f32 */
    eco_tensor t = {.name = "logits",
                    .dtype = ECO_DTYPE_F32,
                    .ndim = 2,
                    .shape = {(int64_t)n_ids, cfg->vocab_size},
                    .data = logits,
                    .nbytes = n_ids * (size_t)cfg->vocab_size * sizeof(float)};
    st = eco_safetensors_write(out, &t, 1, NULL, 0);
    if (st != ECO_STATUS_OK) {
        rc = cli_fail(st, "logits");
        goto done;
    }
    printf("%s: logits [%zu, %lld]\n", out, n_ids, (long long)cfg->vocab_size);
done:
    free(ids);
    free(logits);
    eco_kv_cache_free(kv);
    eco_model_free(m);
    return rc;
}
