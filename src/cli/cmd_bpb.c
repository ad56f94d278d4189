/* ecology bpb --model MODEL --file TEXT [--ctx N] [--threads N] [--json] [--data-dir D]
 * Bits per byte of a UTF-8 text under a model (eco_model_text_nll): the text encoded whole
 * with the model's tokenizer, scored in windows of --ctx positions (default 128), each
 * starting with BOS. Comparable across tokenizers: it divides by bytes, not tokens. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/engine.h"

#define BPB_MAX_TEXT ((size_t)64 << 20)

int cmd_bpb(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("model", true),   CLI_OPT("file", true),  CLI_OPT("ctx", true),
                   CLI_OPT("threads", true), CLI_OPT("json", false), CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *model = cli_get(o, n, "model"), *file = cli_get(o, n, "file");
    if (!model) return cli_usage_error("bpb: --model MODEL is required");
    if (!file) return cli_usage_error("bpb: --file TEXT is required");
    int64_t ctx = 128, threads;
    const char *ctx_s = cli_get(o, n, "ctx"), *th = cli_get(o, n, "threads");
    if (ctx_s && cli_parse_int("ctx", ctx_s, 2, 1 << 20, &ctx) != CLI_OK) return CLI_USAGE;
    if (th) {
        if (cli_parse_int("threads", th, 1, ECO_MAX_THREADS, &threads) != CLI_OK) return CLI_USAGE;
        eco_set_threads((int)threads);
    }
    if (cli_model_ref(o, n, "model", &model)) return CLI_FAIL;
    char *text = NULL;
    size_t len = 0;
    eco_engine *eng = NULL;
    eco_status st = eco_read_file(file, BPB_MAX_TEXT, &text, &len);
    if (st) return cli_fail(st, "bpb");
    if ((st = eco_llama_engine_open(model, NULL, &eng))) {
        free(text);
        return cli_fail(st, "bpb");
    }
    eco_text_nll r;
    st = eco_model_text_nll(eco_llama_engine_model(eng), eco_llama_engine_tokenizer(eng), text, len,
                            ctx, &r);
    eco_engine_destroy(eng);
    free(text);
    if (st) return cli_fail(st, "bpb");
    double bits_per_token = r.nll_nats / log(2.0) / (double)r.tokens;
    if (cli_get(o, n, "json")) {
        json_t *j = json_pack("{s:o, s:I, s:I, s:I, s:I, s:f, s:f, s:f}", "file",
                              cli_json_text(file, strlen(file)), "bytes", (json_int_t)r.bytes,
                              "tokens", (json_int_t)r.tokens, "ctx", (json_int_t)ctx, "windows",
                              (json_int_t)r.windows, "nll_nats", r.nll_nats, "bits_per_token",
                              bits_per_token, "bits_per_byte", r.bits_per_byte);
        char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (!s) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "bpb");
        printf("%s\n", s);
        free(s);
    } else {
        printf("%s: %lld bytes, %lld tokens (%.3f bytes/token), windows of %lld: %.4f bits/token, "
               "%.4f bits/byte\n",
               file, (long long)r.bytes, (long long)r.tokens, (double)r.bytes / (double)r.tokens,
               (long long)ctx, bits_per_token, r.bits_per_byte);
    }
    return CLI_OK;
}
