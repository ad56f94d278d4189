/* ecology generate --model DIR [--adapter DIR] --prompt TEXT [-n N] [--temperature T] [--top-k K]
 *                  [--top-p P] [--seed S] [--stop STR] [--threads N] [--json] */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/engine.h"

int cmd_generate(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("model", true), CLI_OPT("prompt", true), CLI_OPT("n", true),       CLI_OPT("temperature", true),
                   CLI_OPT("top-k", true), CLI_OPT("top-p", true),  CLI_OPT("seed", true),    CLI_OPT("stop", true),
                   CLI_OPT("threads", true), CLI_OPT("json", false), CLI_OPT("no-special", false),
                   CLI_OPT("adapter", true), CLI_OPT("kv-cache", true), CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *model = cli_get(o, n, "model"), *prompt = cli_get(o, n, "prompt");
    if (!model) return cli_usage_error("generate: --model DIR is required");
    if (!prompt) return cli_usage_error("generate: --prompt TEXT is required");
    eco_infer_request req;
    eco_infer_request_init(&req);
    req.prompt = prompt;
    int64_t v;
    double d;
    const char *s;
    if ((s = cli_get(o, n, "n"))) {
        if (cli_parse_int("n", s, 1, 1 << 20, &v) != CLI_OK) return CLI_USAGE;
        req.max_tokens = (int)v;
    }
    if ((s = cli_get(o, n, "temperature"))) {
        if (cli_parse_float("temperature", s, 0, 100, &d) != CLI_OK) return CLI_USAGE;
        req.temperature = (float)d;
    }
    if ((s = cli_get(o, n, "top-k"))) {
        if (cli_parse_int("top-k", s, 0, 1 << 30, &v) != CLI_OK) return CLI_USAGE;
        req.top_k = (int)v;
    }
    if ((s = cli_get(o, n, "top-p"))) {
        if (cli_parse_float("top-p", s, 1e-6, 1, &d) != CLI_OK) return CLI_USAGE;
        req.top_p = (float)d;
    }
    if ((s = cli_get(o, n, "seed")) && cli_parse_u64("seed", s, &req.seed) != CLI_OK) return CLI_USAGE;
    if ((s = cli_get(o, n, "threads"))) {
        if (cli_parse_int("threads", s, 1, 1024, &v) != CLI_OK) return CLI_USAGE;
        eco_set_threads((int)v);
    }
    const char *stop = cli_get(o, n, "stop");
    if (stop) {
        req.stop = &stop;
        req.n_stop = 1;
    }
    if (cli_get(o, n, "no-special")) req.add_special = false;
    bool json = cli_get(o, n, "json") != NULL;
    const char *kv_s = cli_get(o, n, "kv-cache");
    eco_dtype kvt = ECO_DTYPE_F32;
    if (kv_s && cli_parse_kv_dtype("kv-cache", kv_s, &kvt) != CLI_OK) return CLI_USAGE;

    if (cli_model_ref(o, n, "model", &model) || cli_model_ref(o, n, "adapter", NULL)) return CLI_FAIL;
    eco_engine *eng;
    eco_status st = eco_llama_engine_open_adapter(model, cli_get(o, n, "adapter"), NULL, &eng);
    if (st != ECO_STATUS_OK) return cli_fail(st, "generate");
    if (kv_s) (void)eco_llama_engine_set_kv_dtype(eng, kvt); /* f32 or f16: cannot fail */
    eco_infer_response resp;
    st = eng->infer(eng, &req, &resp);
    if (st != ECO_STATUS_OK) {
        eco_engine_destroy(eng);
        return cli_fail(st, "generate");
    }
    double prompt_tps = resp.prompt_ms > 0 ? 1e3 * (double)resp.n_prompt_tokens / resp.prompt_ms : 0;
    double decode_tps = resp.decode_ms > 0 ? 1e3 * (double)resp.n_tokens / resp.decode_ms : 0;
    if (json) {
        json_t *root = json_object(), *toks = json_array(), *lps = json_array();
        for (size_t i = 0; i < resp.n_tokens; i++) {
            json_array_append_new(toks, json_integer(resp.tokens[i]));
            json_array_append_new(lps, json_real(resp.logprobs[i]));
        }
        json_object_set_new(root, "model", json_string(eng->genome(eng)->id));
        json_object_set_new(root, "text", cli_json_text(resp.text, resp.text_len));
        json_object_set_new(root, "tokens", toks);
        json_object_set_new(root, "logprobs", lps);
        json_object_set_new(root, "finish_reason", json_string(resp.finish_reason));
        json_object_set_new(root, "prompt_tokens", json_integer((json_int_t)resp.n_prompt_tokens));
        json_object_set_new(root, "completion_tokens", json_integer((json_int_t)resp.n_tokens));
        json_object_set_new(root, "prompt_ms", json_real(resp.prompt_ms));
        json_object_set_new(root, "decode_ms", json_real(resp.decode_ms));
        json_object_set_new(root, "prompt_tokens_per_s", json_real(prompt_tps));
        json_object_set_new(root, "decode_tokens_per_s", json_real(decode_tps));
        char *out = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (out) puts(out);
        free(out);
        json_decref(root);
    } else {
        fputs(prompt, stdout);
        fwrite(resp.text, 1, resp.text_len, stdout);
        putchar('\n');
        fprintf(stderr, "prompt: %zu tokens in %.1f ms (%.1f tok/s); decode: %zu tokens in %.1f ms (%.1f tok/s); finish: %s\n",
                resp.n_prompt_tokens, resp.prompt_ms, prompt_tps, resp.n_tokens, resp.decode_ms, decode_tps,
                resp.finish_reason);
    }
    eco_infer_response_free(&resp);
    eco_engine_destroy(eng);
    return CLI_OK;
}
