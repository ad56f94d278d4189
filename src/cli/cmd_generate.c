/* ecology generate --model DIR [--adapter DIR] (--prompt TEXT | --prompt - | --prompt-file F)
 *                  [-n N] [--temperature T] [--top-k K] [--top-p P] [--seed S] [--stop STR]...
 *                  [--threads N] [--json] [--kv-cache f32|f16]
 * Plain mode prints the prompt, then the generated text (both as bytes), then a newline;
 * --json's "text" holds the generated text only, cut before a stop sequence. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/engine.h"

#define MAX_STOPS        16
#define MAX_PROMPT_BYTES ((size_t)64 << 20)

/* All of stdin into a malloc'd NUL-terminated buffer (caller frees); ERANGE past max. */
static eco_status read_stdin(size_t max, char **out, size_t *len) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) return eco_error(ECO_STATUS_ENOMEM, "stdin: out of memory");
    for (;;) {
        if (n + 1 >= cap) {
            char *grown = cap <= max ? realloc(buf, cap * 2) : NULL;
            if (!grown) {
                free(buf);
                return cap > max ? eco_error(ECO_STATUS_ERANGE, "stdin: more than %zu bytes", max)
                                 : eco_error(ECO_STATUS_ENOMEM, "stdin: out of memory");
            }
            buf = grown;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, stdin);
        n += got;
        if (got == 0) break;
    }
    if (ferror(stdin)) {
        free(buf);
        return eco_error(ECO_STATUS_EIO, "stdin: read error");
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return ECO_STATUS_OK;
}

/* The prompt from --prompt TEXT, --prompt - (stdin) or --prompt-file F (exactly one of
 * prompt and file non-NULL), taken as bytes, a final newline included. *owned is what to
 * free. CLI_OK, or the exit status. */
static int load_prompt(const char *prompt, const char *file, const char **out, char **owned) {
    *owned = NULL;
    if (prompt && strcmp(prompt, "-") != 0) {
        *out = prompt;
        return CLI_OK;
    }
    const char *label = file ? file : "stdin";
    size_t len;
    eco_status st = file ? eco_read_file(file, MAX_PROMPT_BYTES, owned, &len)
                         : read_stdin(MAX_PROMPT_BYTES, owned, &len);
    if (st != ECO_STATUS_OK) return cli_fail(st, "generate");
    const char *nul = memchr(*owned, '\0', len);
    if (nul) {
        int rc =
            cli_fail(eco_error(ECO_STATUS_EFORMAT, "%s: the prompt holds a NUL byte at offset %zu",
                               label, (size_t)(nul - *owned)),
                     "generate");
        free(*owned);
        *owned = NULL;
        return rc;
    }
    *out = *owned;
    return CLI_OK;
}

static int print_json(eco_engine *eng, const eco_infer_response *resp, double prompt_tps,
                      double decode_tps) {
    json_t *root = json_object(), *toks = json_array(), *lps = json_array();
    bool bad = !root || !toks || !lps;
    for (size_t i = 0; !bad && i < resp->n_tokens; i++) {
        /* One entry per token: null stands for a log-probability JSON cannot hold (-inf). */
        double lp = resp->logprobs[i];
        bad |= json_array_append_new(toks, json_integer(resp->tokens[i])) != 0;
        bad |= json_array_append_new(lps, isfinite(lp) ? json_real(lp) : json_null()) != 0;
    }
    const char *id = eng->genome(eng)->id;
    if (!bad) {
        /* The id comes from the folder's name: bytes that are not UTF-8 become U+FFFD. */
        bad |= json_object_set_new(root, "model", cli_json_text(id, strlen(id))) != 0;
        bad |= json_object_set_new(root, "text", cli_json_text(resp->text, resp->text_len)) != 0;
        bad |= json_object_set_new(root, "tokens", toks) != 0;
        bad |= json_object_set_new(root, "logprobs", lps) != 0;
        toks = lps = NULL;
        bad |= json_object_set_new(root, "finish_reason", json_string(resp->finish_reason)) != 0;
        bad |= json_object_set_new(root, "prompt_tokens",
                                   json_integer((json_int_t)resp->n_prompt_tokens)) != 0;
        bad |= json_object_set_new(root, "completion_tokens",
                                   json_integer((json_int_t)resp->n_tokens)) != 0;
        bad |= json_object_set_new(root, "prompt_ms", json_real(resp->prompt_ms)) != 0;
        bad |= json_object_set_new(root, "decode_ms", json_real(resp->decode_ms)) != 0;
        bad |= json_object_set_new(root, "prompt_tokens_per_s", json_real(prompt_tps)) != 0;
        bad |= json_object_set_new(root, "decode_tokens_per_s", json_real(decode_tps)) != 0;
    }
    char *out = bad ? NULL : json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(toks);
    json_decref(lps);
    json_decref(root);
    if (!out)
        return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory writing JSON"), "generate");
    puts(out);
    free(out);
    return CLI_OK;
}

int cmd_generate(int argc, char **argv) {
    const char *stops[MAX_STOPS];
    cli_opt o[] = {
        CLI_OPT("model", true),       CLI_OPT("prompt", true),      CLI_OPT("n", true),
        CLI_OPT("temperature", true), CLI_OPT("top-k", true),       CLI_OPT("top-p", true),
        CLI_OPT("seed", true),        CLI_OPT("stop", true),        CLI_OPT("threads", true),
        CLI_OPT("json", false),       CLI_OPT("no-special", false), CLI_OPT("adapter", true),
        CLI_OPT("kv-cache", true),    CLI_OPT("prompt-file", true), CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    o[7].repeated_ok = true; /* --stop, several */
    o[7].values = stops;
    o[7].max_values = MAX_STOPS;
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *model = cli_get(o, n, "model");
    if (!model) return cli_usage_error("generate: --model DIR is required");
    const char *prompt_arg = cli_get(o, n, "prompt"), *prompt_file = cli_get(o, n, "prompt-file");
    if (!prompt_arg && !prompt_file)
        return cli_usage_error(
            "generate: --prompt TEXT, --prompt - (stdin) or --prompt-file F is required");
    if (prompt_arg && prompt_file)
        return cli_usage_error("generate: give --prompt or --prompt-file, not both");
    eco_infer_request req;
    eco_infer_request_init(&req);
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
    if ((s = cli_get(o, n, "seed")) && cli_parse_u64("seed", s, &req.seed) != CLI_OK)
        return CLI_USAGE;
    if (cli_threads_and_stops(o, n, &o[7], &req) != CLI_OK) return CLI_USAGE;
    if (cli_get(o, n, "no-special")) req.add_special = false;
    bool json = cli_get(o, n, "json") != NULL;
    const char *kv_s = cli_get(o, n, "kv-cache");
    eco_dtype kvt = ECO_DTYPE_F32;
    if (kv_s && cli_parse_kv_dtype("kv-cache", kv_s, &kvt) != CLI_OK) return CLI_USAGE;

    if (cli_model_ref(o, n, "model", &model) || cli_model_ref(o, n, "adapter", NULL))
        return CLI_FAIL;
    char *owned;
    int rc = load_prompt(prompt_arg, prompt_file, &req.prompt, &owned);
    if (rc != CLI_OK) return rc;
    eco_engine *eng;
    eco_status st = eco_llama_engine_open_adapter(model, cli_get(o, n, "adapter"), NULL, &eng);
    if (st != ECO_STATUS_OK) {
        free(owned);
        return cli_fail(st, "generate");
    }
    if (kv_s) (void)eco_llama_engine_set_kv_dtype(eng, kvt); /* f32 or f16: cannot fail */
    eco_infer_response resp;
    st = eng->infer(eng, &req, &resp);
    if (st != ECO_STATUS_OK) {
        eco_engine_destroy(eng);
        free(owned);
        return cli_fail(st, "generate");
    }
    double prompt_tps =
        resp.prompt_ms > 0 ? 1e3 * (double)resp.n_prompt_tokens / resp.prompt_ms : 0;
    double decode_tps = resp.decode_ms > 0 ? 1e3 * (double)resp.n_tokens / resp.decode_ms : 0;
    if (json) {
        rc = print_json(eng, &resp, prompt_tps, decode_tps);
    } else {
        fputs(req.prompt, stdout);
        fwrite(resp.text, 1, resp.text_len, stdout);
        putchar('\n');
        fprintf(stderr,
                "prompt: %zu tokens in %.1f ms (%.1f tok/s); decode: %zu tokens in %.1f ms (%.1f "
                "tok/s); finish: %s\n",
                resp.n_prompt_tokens, resp.prompt_ms, prompt_tps, resp.n_tokens, resp.decode_ms,
                decode_tps, resp.finish_reason);
    }
    eco_infer_response_free(&resp);
    eco_engine_destroy(eng);
    free(owned);
    return rc;
}
