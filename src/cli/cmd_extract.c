/*
 * ecology extract --model FT --base BASE (--rank R | --sv-epsilon E) --out DIR [--strict]
 *                 [--force] [--json] [--data-dir D]
 * A LoRA adapter from a full fine-tune (eco_extract_lora_dir, merge_dir.h).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "ecology/merge_dir.h"

int cmd_extract(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("model", true),      CLI_OPT("base", true),  CLI_OPT("rank", true),
                   CLI_OPT("sv-epsilon", true), CLI_OPT("out", true),   CLI_OPT("strict", false),
                   CLI_OPT("force", false),     CLI_OPT("json", false), CLI_OPT("threads", true),
                   CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    eco_extract_options eo = {.model = cli_get(o, n, "model"),
                              .base = cli_get(o, n, "base"),
                              .out = cli_get(o, n, "out"),
                              .strict = cli_get(o, n, "strict") != NULL,
                              .force = cli_get(o, n, "force") != NULL,
                              .progress = true};
    if (!eo.model) return cli_usage_error("extract: --model DIR (the fine-tune) is required");
    if (!eo.base) return cli_usage_error("extract: --base DIR (its base model) is required");
    if (!eo.out) return cli_usage_error("extract: --out DIR is required");
    const char *rank = cli_get(o, n, "rank"), *eps = cli_get(o, n, "sv-epsilon");
    if (!rank && !eps) return cli_usage_error("extract: give --rank R, --sv-epsilon E or both");
    if (rank && cli_parse_int("rank", rank, 1, INT32_MAX, &eo.rank) != CLI_OK) return CLI_USAGE;
    if (eps && cli_parse_float("sv-epsilon", eps, 0, 1e30, &eo.sv_epsilon) != CLI_OK)
        return CLI_USAGE;
    if (!rank && eo.sv_epsilon == 0)
        return cli_usage_error("extract: --sv-epsilon 0 keeps every direction: give --rank too");
    const char *threads = cli_get(o, n, "threads");
    if (threads) {
        int64_t t;
        if (cli_parse_int("threads", threads, 1, ECO_MAX_THREADS, &t) != CLI_OK) return CLI_USAGE;
        eco_set_threads((int)t);
    }
    if (cli_model_ref(o, n, "model", &eo.model) || cli_model_ref(o, n, "base", &eo.base))
        return CLI_FAIL;
    eco_merge_dir_report rep;
    eco_status st = eco_extract_lora_dir(&eo, &rep);
    if (st == ECO_STATUS_EINCOMPAT) { /* not a fine-tune of that base: a gate's refusal */
        fprintf(stderr, "ecology: %s\n", eco_last_error());
        return CLI_REJECTED;
    }
    if (st != ECO_STATUS_OK) return cli_fail(st, "extract");
    if (cli_get(o, n, "json")) {
        char *text = json_dumps(rep.result, JSON_SORT_KEYS | JSON_COMPACT);
        printf("%s\n", text ? text : "{}");
        free(text);
    } else {
        json_t *r = rep.result;
        printf("%s: LoRA of rank %lld over %lld modules from %s - %s, energy kept %.6f, relative "
               "error %.3g\n",
               eo.out, (long long)rep.rank, (long long)rep.n_tensors, eo.model, eo.base,
               json_real_value(json_object_get(r, "energy")), rep.rel_error);
        const char *name;
        json_t *v;
        json_object_foreach(json_object_get(r, "not_extracted"), name, v) printf(
            "  not carried by a LoRA: %s (relative change %.3g)\n", name, json_real_value(v));
    }
    json_decref(rep.result);
    return CLI_OK;
}
