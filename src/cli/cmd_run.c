/* ecology run --config FILE [--generations N] [--minutes M] [--data-dir D]
 * ecology demo [--config FILE] [--quick] [--minutes M] [--data-dir D]
 *     the ecology loop (daemon.h: eco_loop_config_load, eco_loop_run) on the registry of the
 *     data folder (created when absent). One line per generation on stdout (a redrawn
 *     status line as well on a terminal). demo runs the shipped config data/loop/demo.json
 *     (--quick: data/loop/quick.json, a couple of generations at small n), found in the
 *     working folder's data/loop/ or beside the executable's ../data/loop/, writes the report
 *     page (report.h) to <data>/report/ and prints where its results are. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ecology/daemon.h"
#include "ecology/registry.h"
#include "ecology/report.h"

/* Runs the loop of config on the data folder; *dir_out (may be NULL) the data folder used.
 * report: then the report page (report.h) into <data>/report/. */
static int run_loop(const char *config, const char *data_dir, int64_t generations, double minutes,
                    const char *what, bool report, char **dir_out) {
    eco_loop_config c;
    eco_status st = eco_loop_config_load(config, &c);
    if (st) return cli_fail(st, what);
    char *dir = eco_data_dir_resolve(data_dir);
    if (!dir) {
        eco_loop_config_free(&c);
        return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), what);
    }
    eco_registry *r = NULL;
    int rc = CLI_OK;
    if ((st = eco_registry_init(dir))) rc = cli_fail(st, what);
    if (rc == CLI_OK) rc = cli_registry_open_opts(dir, true, &r);
    if (rc == CLI_OK) {
        eco_loop_options o = {.generations = generations,
                              .minutes = minutes,
                              .out = stdout,
                              .live = isatty(STDOUT_FILENO) == 1};
        eco_loop_result res;
        printf("loop %s (config %.12s) in %s\n", c.name, c.sha256, dir);
        fflush(stdout);
        st = eco_loop_run(r, &c, &o, &res);
        if (st) {
            rc = cli_fail(st, what);
        } else if (res.last_generation < res.first_generation) {
            printf("run %s: no generation ran (the budget: generation %lld finished, %s), "
                   "%.0f s\n",
                   c.name, (long long)res.last_generation,
                   res.seeded ? "the seeding took the time" : "the last one or the time reached",
                   res.seconds);
        } else {
            printf("run %s: generations %lld..%lld, bred %zu, rejected %zu, breeding failed %zu, "
                   "promoted %zu, %.0f s\n",
                   c.name, (long long)res.first_generation, (long long)res.last_generation,
                   res.bred, res.rejected, res.failed, res.promoted, res.seconds);
        }
    }
    if (rc == CLI_OK && report) {
        char *out = eco_path_join(dir, "report");
        eco_report_options ro = {.title = "tiny-ecology demo"};
        st = out ? eco_report_write(r, out, &ro) : eco_error(ECO_STATUS_ENOMEM, "out of memory");
        if (st)
            rc = cli_fail(st, "demo: report");
        else
            printf("report: %s/%s\n", out, ECO_REPORT_INDEX_FILE);
        free(out);
    }
    eco_registry_close(r);
    eco_loop_config_free(&c);
    if (dir_out && rc == CLI_OK)
        *dir_out = dir;
    else
        free(dir);
    return rc;
}

int cmd_run(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("config", true), CLI_OPT("generations", true), CLI_OPT("minutes", true),
                   CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *config = cli_get(o, n, "config"), *s;
    if (!config) return cli_usage_error("run: --config FILE is required");
    int64_t gens = 0;
    double minutes = 0;
    if ((s = cli_get(o, n, "generations")) &&
        cli_parse_int("generations", s, 1, 1000000, &gens) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n, "minutes")) && cli_parse_float("minutes", s, 1e-3, 1e7, &minutes))
        return CLI_USAGE;
    return run_loop(config, cli_get(o, n, "data-dir"), gens, minutes, "run", false, NULL);
}

/* The shipped config `name`: data/loop/<name> in the working folder, else beside the
 * executable (<exe folder>/../data/loop/<name>); NULL when neither exists. */
static char *shipped_config(const char *name) {
    char rel[PATH_MAX], exe[PATH_MAX];
    snprintf(rel, sizeof rel, "data/loop/%s", name);
    if (access(rel, R_OK) == 0) return eco_strdup(rel);
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return NULL;
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = '\0';
    if ((size_t)snprintf(rel, sizeof rel, "%s/../data/loop/%s", exe, name) >= sizeof rel)
        return NULL;
    return access(rel, R_OK) == 0 ? eco_strdup(rel) : NULL;
}

int cmd_demo(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("config", true), CLI_OPT("quick", false), CLI_OPT("minutes", true),
                   CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *s, *name = cli_get(o, n, "quick") ? "quick.json" : "demo.json";
    double minutes = 0;
    if ((s = cli_get(o, n, "minutes")) && cli_parse_float("minutes", s, 1e-3, 10, &minutes))
        return CLI_USAGE;
    char *config =
        cli_get(o, n, "config") ? eco_strdup(cli_get(o, n, "config")) : shipped_config(name);
    if (!config) {
        fprintf(stderr,
                "ecology: demo: data/loop/%s not found in the working folder nor beside the "
                "executable (run it from the source folder, or give --config FILE)\n",
                name);
        return CLI_FAIL;
    }
    char *dir = NULL;
    int rc = run_loop(config, cli_get(o, n, "data-dir"), 0, minutes, "demo", true, &dir);
    if (rc == CLI_OK) {
        printf("results in %s: the registry (ecology list, ecology events, ecology lineage ID "
               "--data-dir %s),\n"
               "  the archive (ecology archive show --data-dir %s), the loop's corpora and hard "
               "examples in %s/loop/;\n"
               "  running `ecology demo` again continues the same population\n",
               dir, dir, dir, dir);
    }
    free(dir);
    free(config);
    return rc;
}
