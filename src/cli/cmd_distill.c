/* ecology distill --teacher DIR[,DIR...] --student DIR --data FILE.jsonl --out DIR
 *     --steps N --batch B --seq T --lr LR --seed S [--weight W] [--temperature T]
 *     [--max-tokens N] [--warmup N] [--accum N] [--weight-decay W] [--clip C] [--checkpoint-every N]
 *     [--doc-mask] [--resume] [--work-dir DIR] [--force] [--stop-after N] [--threads N] [--json]
 * Token-level KL+CE when the tokenizers match, sequence-level otherwise (eco_distill_run);
 * both checkpoint (DIR/.work/ or --work-dir; sequence level also keeps the teachers'
 * completions there) and resume. A non-empty --out is refused unless --force, or --resume
 * with a checkpoint to continue; the student is written beside it and renamed into place. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/trainer.h"

int cmd_distill(int argc, char **argv) {
    cli_opt o[] = {
        CLI_OPT("teacher", true),      CLI_OPT("student", true), CLI_OPT("data", true),
        CLI_OPT("out", true),          CLI_OPT("steps", true),   CLI_OPT("batch", true),
        CLI_OPT("seq", true),          CLI_OPT("lr", true),      CLI_OPT("seed", true),
        CLI_OPT("warmup", true),       CLI_OPT("accum", true),   CLI_OPT("weight-decay", true),
        CLI_OPT("clip", true),         CLI_OPT("threads", true), CLI_OPT("json", false),
        CLI_OPT("min-lr-ratio", true), CLI_OPT("weight", true),  CLI_OPT("temperature", true),
        CLI_OPT("max-tokens", true),   CLI_OPT("resume", false), CLI_OPT("checkpoint-every", true),
        CLI_OPT("doc-mask", false),    CLI_OPT("force", false),  CLI_OPT("work-dir", true),
        CLI_OPT("stop-after", true),   CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    eco_distill_run_options d;
    eco_distill_run_options_init(&d);
    eco_trainer_options *t = &d.train;
    const char *teachers = cli_get(o, n, "teacher");
    t->model_dir = cli_get(o, n, "student");
    t->data_path = cli_get(o, n, "data");
    t->out_dir = cli_get(o, n, "out");
    if (!teachers) return cli_usage_error("distill: --teacher DIR[,DIR...] is required");
    if (!t->model_dir) return cli_usage_error("distill: --student DIR is required");
    if (!t->data_path) return cli_usage_error("distill: --data FILE.jsonl is required");
    if (!t->out_dir) return cli_usage_error("distill: --out DIR is required");
    if (cli_parse_hyper("distill", o, n, t) != CLI_OK) return CLI_USAGE;
    const char *s;
    int64_t iv;
    if ((s = cli_get(o, n, "weight")) && cli_parse_float("weight", s, 0, 1, &d.weight) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n, "temperature")) &&
        cli_parse_float("temperature", s, 1e-6, 1e6, &d.temperature) != CLI_OK)
        return CLI_USAGE;
    t->resume = cli_get(o, n, "resume") != NULL;
    t->force = cli_get(o, n, "force") != NULL;
    t->work_dir = cli_get(o, n, "work-dir");
    if ((s = cli_get(o, n, "max-tokens"))) {
        if (cli_parse_int("max-tokens", s, 1, 1 << 20, &iv) != CLI_OK) return CLI_USAGE;
        d.max_tokens = (int)iv;
    }
    if (cli_model_ref(o, n, "student", &t->model_dir)) return CLI_FAIL;
    /* split the comma list into folder names (or registry names) */
    char *list = strdup(teachers);
    size_t cap = 1;
    for (const char *p = teachers; *p; p++) cap += *p == ',';
    const char **dirs = calloc(cap, sizeof *dirs);
    if (!list || !dirs) {
        free(list);
        free(dirs);
        return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "distill");
    }
    size_t nt = 0;
    for (char *p = list, *e;; p = e + 1) {
        e = strchr(p, ',');
        if (e) *e = 0;
        if (!*p) {
            free(list);
            free(dirs);
            return cli_usage_error("option '--teacher': empty folder name in '%s'", teachers);
        }
        if (cli_model_path(cli_get(o, n, "data-dir"), "--teacher", p, CLI_REF_MODEL, &dirs[nt++]) !=
            CLI_OK) {
            free(list);
            free(dirs);
            return CLI_FAIL;
        }
        if (!e) break;
    }
    d.teachers = dirs;
    d.n_teachers = nt;
    bool json = cli_get(o, n, "json") != NULL;
    t->progress = true;
    bool token_level = false;
    eco_trainer_result r;
    eco_status st = eco_distill_run(&d, &token_level, &r);
    free(dirs);
    free(list);
    if (st != ECO_STATUS_OK) return cli_fail(st, "distill");
    if (!json)
        printf("distill: %s level, %zu teacher%s\n", token_level ? "token" : "sequence", nt,
               nt == 1 ? "" : "s");
    cli_print_train_result(&r, t, json);
    return CLI_OK;
}
