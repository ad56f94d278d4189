/* ecology recipe run FILE.json [--id NEW] [--sign-key KEY] [--json] [--data-dir D]
 * A breeding recipe (breed_recipe.h: a chain of operators over registered parents) run
 * into one registered child whose lineage holds every step (eco_breed_recipe_run); a
 * step's operator refusing its inputs exits 3 with the reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/breed_recipe.h"
#include "ecology/breeder.h"
#include "ecology/registry.h"

static int recipe_run(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("id", true), CLI_OPT("sign-key", true), CLI_OPT("json", false),
                   CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n, pos, 1, &npos) != CLI_OK) return CLI_USAGE;
    if (npos != 1) return cli_usage_error("recipe run: give the recipe file");
    const char *id = cli_get(o, n, "id");
    if (id && !eco_model_id_ok(id))
        return cli_usage_error("option '--id': '%s' is not a valid model id", id);
    eco_breed_recipe *recipe = NULL;
    eco_status st = eco_breed_recipe_load(pos[0], &recipe);
    if (st) return cli_fail(st, "recipe run");
    eco_registry *r = NULL;
    if (cli_registry_open(cli_get(o, n, "data-dir"), &r) != CLI_OK) {
        eco_breed_recipe_free(recipe);
        return CLI_FAIL;
    }
    eco_breed_recipe_run_options ro = {
        .id = id, .sign_key = cli_get(o, n, "sign-key"), .progress = true};
    eco_breed_result res;
    st = eco_breed_recipe_run(r, recipe, &ro, &res);
    const bool json = cli_get(o, n, "json") != NULL;
    if (st == ECO_STATUS_OK && !json)
        printf("recipe %s: registered %s (%s, %zu steps, %s)\n", recipe->name, res.id,
               eco_genome_kind_str(res.genome.kind), recipe->n_steps,
               ro.sign_key || recipe->sign_key ? "signed" : "unsigned");
    const int rc = cli_breed_finish(st, &res, json, "recipe run", "recipe run");
    eco_breed_result_free(&res);
    eco_registry_close(r);
    eco_breed_recipe_free(recipe);
    return rc;
}

int cmd_recipe(int argc, char **argv) {
    if (argc < 3) return cli_usage_error("recipe: give a subcommand (try 'ecology help recipe')");
    if (strcmp(argv[2], "run") == 0) return recipe_run(argc, argv);
    return cli_usage_error("recipe: unknown subcommand '%s' (try 'ecology help recipe')", argv[2]);
}
