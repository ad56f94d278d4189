/* ecology pretrain --recipe FILE.json [--out DIR] [--work-dir DIR] [--threads N] [--resume]
 *     [--force] [--json]
 * Loads the recipe (eco_recipe_load) and runs it (eco_recipe_run) into the recipe's "out" or
 * --out: a pretraining recipe trains a model from scratch (random init, corpus, full
 * training); a "kind": "lora" recipe trains an adapter on its base model. Working files
 * (init, corpus, checkpoints) go to OUT/.work or --work-dir; a non-empty output folder is
 * replaced only with --force (or continued with --resume). */
#include <stdio.h>

#include "cli.h"
#include "ecology/recipe.h"
#include "ecology/trainer.h"

int cmd_pretrain(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("recipe", true),  CLI_OPT("out", true),   CLI_OPT("threads", true),
                   CLI_OPT("resume", false), CLI_OPT("json", false), CLI_OPT("force", false),
                   CLI_OPT("work-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *path = cli_get(o, n, "recipe"), *out = cli_get(o, n, "out"), *s;
    if (!path) return cli_usage_error("pretrain: --recipe FILE.json is required");
    int64_t threads = 0;
    if ((s = cli_get(o, n, "threads")) && cli_parse_int("threads", s, 1, 1024, &threads) != CLI_OK)
        return CLI_USAGE;
    eco_recipe *r;
    eco_status st = eco_recipe_load(path, &r);
    if (st != ECO_STATUS_OK) return cli_fail(st, "pretrain");
    if (!out && !r->out) {
        eco_recipe_free(r);
        return cli_usage_error("pretrain: the recipe names no \"out\" folder: give --out DIR");
    }
    eco_trainer_result res;
    eco_recipe_run_options ro = {.out_dir = out,
                                 .work_dir = cli_get(o, n, "work-dir"),
                                 .threads = (int)threads,
                                 .resume = cli_get(o, n, "resume") != NULL,
                                 .force = cli_get(o, n, "force") != NULL,
                                 .progress = true};
    st = eco_recipe_run(r, &ro, &res);
    if (st != ECO_STATUS_OK) {
        eco_recipe_free(r);
        return cli_fail(st, "pretrain");
    }
    eco_trainer_options t;
    eco_trainer_options_init(&t);
    t.out_dir = out ? out : r->out;
    t.steps = r->steps;
    if (r->kind == ECO_RECIPE_LORA) {
        t.mode = ECO_TRAIN_MODE_LORA;
        t.adapter_out = t.out_dir;
    }
    cli_print_train_result(&res, &t, cli_get(o, n, "json") != NULL);
    eco_recipe_free(r);
    return CLI_OK;
}
