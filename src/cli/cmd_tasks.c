/* ecology tasks list [--json]
 * ecology tasks generate --capability C --split train|eval --n N [--seed S]
 *     JSONL on stdout, one {"prompt":...,"completion":...} per line (what the trainer reads). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/tasks.h"

/* Split sizes as text: "-" for capabilities generated from unbounded spaces. */
static int sizes(const eco_capability *cap, size_t *train, size_t *eval, bool *known) {
    *known = false;
    eco_status st = eco_tasks_split_size(cap, ECO_TASK_SPLIT_TRAIN, train);
    if (st == ECO_STATUS_EUNSUPPORTED) return CLI_OK;
    if (st == ECO_STATUS_OK) st = eco_tasks_split_size(cap, ECO_TASK_SPLIT_EVAL, eval);
    if (st != ECO_STATUS_OK) return cli_fail(st, "tasks list");
    *known = true;
    return CLI_OK;
}

static int tasks_list(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("json", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    bool json = cli_get(o, n, "json") != NULL;
    json_t *arr = json ? json_array() : NULL;
    if (json && !arr) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "tasks list");
    if (!json) printf("%-18s %7s %6s  %s\n", "CAPABILITY", "TRAIN", "EVAL", "DESCRIPTION");
    for (size_t i = 0; i < eco_tasks_count(); i++) {
        const eco_capability *cap = eco_tasks_get(i);
        size_t train = 0, eval = 0;
        bool known;
        if (sizes(cap, &train, &eval, &known) != CLI_OK) {
            json_decref(arr);
            return CLI_FAIL;
        }
        if (json) {
            json_t *v = json_pack("{s:s, s:s, s:s, s:b, s:I}", "name", cap->name, "description", cap->description,
                                  "check", cap->check == ECO_TASK_CHECK_JSON ? "json" : "exact", "fixed",
                                  (int)cap->fixed, "max_completion_bytes", (json_int_t)cap->max_completion_bytes);
            if (v && known) {
                json_object_set_new(v, "train", json_integer((json_int_t)train));
                json_object_set_new(v, "eval", json_integer((json_int_t)eval));
            }
            if (v && cap->json_schema) {
                json_error_t err;
                json_t *schema = json_loads(cap->json_schema, 0, &err);
                if (schema) json_object_set_new(v, "json_schema", schema);
            }
            if (!v || json_array_append_new(arr, v) != 0) {
                json_decref(arr);
                return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "tasks list");
            }
        } else if (known) {
            printf("%-18s %7zu %6zu  %s\n", cap->name, train, eval, cap->description);
        } else {
            printf("%-18s %7s %6s  %s\n", cap->name, "-", "-", cap->description);
        }
    }
    if (json) {
        char *s = json_dumps(arr, JSON_COMPACT);
        json_decref(arr);
        if (!s) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "tasks list");
        puts(s);
        free(s);
    }
    return CLI_OK;
}

static int tasks_generate(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("capability", true), CLI_OPT("split", true), CLI_OPT("n", true), CLI_OPT("seed", true)};
    const int n_opts = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n_opts, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *name = cli_get(o, n_opts, "capability"), *split_s = cli_get(o, n_opts, "split");
    const char *n_s = cli_get(o, n_opts, "n"), *seed_s = cli_get(o, n_opts, "seed");
    if (!name) return cli_usage_error("tasks generate: --capability C is required (see 'ecology tasks list')");
    if (!split_s) return cli_usage_error("tasks generate: --split train|eval is required");
    if (!n_s) return cli_usage_error("tasks generate: --n N is required");
    const eco_capability *cap;
    if (eco_tasks_find(name, &cap) != ECO_STATUS_OK)
        return cli_usage_error("option '--capability': %s", eco_last_error());
    eco_task_split split;
    if (eco_task_split_parse(split_s, &split) != ECO_STATUS_OK)
        return cli_usage_error("option '--split': %s", eco_last_error());
    int64_t n;
    if (cli_parse_int("n", n_s, 1, (int64_t)ECO_TASKS_MAX_N, &n) != CLI_OK) return CLI_USAGE;
    uint64_t seed = 0;
    if (seed_s && cli_parse_u64("seed", seed_s, &seed) != CLI_OK) return CLI_USAGE;

    eco_task_item *items;
    eco_status st = eco_tasks_generate(cap, split, (size_t)n, seed, &items);
    if (st != ECO_STATUS_OK) return cli_fail(st, "tasks generate");
    int rc = CLI_OK;
    for (size_t i = 0; i < (size_t)n && rc == CLI_OK; i++) {
        json_t *v = json_pack("{s:s, s:s}", "prompt", items[i].prompt, "completion", items[i].completion);
        char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
        if (!s || fputs(s, stdout) == EOF || fputc('\n', stdout) == EOF)
            rc = cli_fail(eco_error(ECO_STATUS_EIO, "item %zu: cannot write JSON to stdout", i), "tasks generate");
        free(s);
        json_decref(v);
    }
    eco_task_items_free(items, (size_t)n);
    if (rc == CLI_OK && fflush(stdout) != 0)
        rc = cli_fail(eco_error(ECO_STATUS_EIO, "cannot write to stdout"), "tasks generate");
    return rc;
}

int cmd_tasks(int argc, char **argv) {
    if (argc < 3) return cli_usage_error("tasks: expected a subcommand (list, generate)");
    if (strcmp(argv[2], "list") == 0) return tasks_list(argc, argv);
    if (strcmp(argv[2], "generate") == 0) return tasks_generate(argc, argv);
    return cli_usage_error("tasks: unknown subcommand '%s' (expected list, generate)", argv[2]);
}
