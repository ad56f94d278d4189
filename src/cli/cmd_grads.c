/* ecology grads --model DIR [--adapter DIR] --data FILE.jsonl --out FILE.safetensors
 *     [--batch B] [--seq T] [--doc-mask] [--threads N] [--json]
 * The loss and the gradient of every trainable tensor on the first batch (file order, no
 * dropout), for checking against other implementations: eco_trainer_grads. --doc-mask: each
 * example packed into a row attends only to itself, and position_ids are written too. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/trainer.h"

int cmd_grads(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("model", true),   CLI_OPT("adapter", true), CLI_OPT("data", true),
                   CLI_OPT("out", true),     CLI_OPT("batch", true),   CLI_OPT("seq", true),
                   CLI_OPT("threads", true), CLI_OPT("json", false),   CLI_OPT("doc-mask", false),
                   CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *model = cli_get(o, n, "model"), *adapter = cli_get(o, n, "adapter"),
               *data = cli_get(o, n, "data");
    const char *out = cli_get(o, n, "out"), *s;
    if (!model) return cli_usage_error("grads: --model DIR is required");
    if (!data) return cli_usage_error("grads: --data FILE.jsonl is required");
    if (!out) return cli_usage_error("grads: --out FILE.safetensors is required");
    int64_t batch = 1, seq = 64, threads;
    if ((s = cli_get(o, n, "batch")) && cli_parse_int("batch", s, 1, 65536, &batch) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n, "seq")) && cli_parse_int("seq", s, 1, 1 << 20, &seq) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n, "threads"))) {
        if (cli_parse_int("threads", s, 1, ECO_MAX_THREADS, &threads) != CLI_OK) return CLI_USAGE;
        eco_set_threads((int)threads);
    }
    const bool doc_mask = cli_get(o, n, "doc-mask") != NULL;
    if (cli_model_ref(o, n, "model", &model) || cli_model_ref(o, n, "adapter", &adapter))
        return CLI_FAIL;
    double loss;
    eco_status st = eco_trainer_grads(model, adapter, data, batch, seq, doc_mask, out, &loss);
    if (st != ECO_STATUS_OK) return cli_fail(st, "grads");
    if (cli_get(o, n, "json")) {
        /* The path escaped as JSON (quotes, bytes that are not UTF-8). */
        json_t *j = json_pack("{s:I, s:b, s:f, s:o, s:I}", "batch", (json_int_t)batch, "doc_mask",
                              (int)doc_mask, "loss", loss, "out", cli_json_text(out, strlen(out)),
                              "seq", (json_int_t)seq);
        char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(j);
        if (!text)
            return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory writing JSON"), "grads");
        puts(text);
        free(text);
    } else
        printf("%s: loss %.6f on the first batch [%lld, %lld]%s, gradients of every trainable "
               "tensor\n",
               out, loss, (long long)batch, (long long)seq, doc_mask ? " (documents masked)" : "");
    return CLI_OK;
}
