/* ecology archive show [--profile BOUNDS] [--json] [--data-dir D]
 *     the loop's Pareto archive as the registry's last "archive" event holds it
 *     (promotion.h: eco_archive_load): one row per member with its objectives, and with
 *     --profile the best member for it (pareto.h: eco_pareto_best, the highest quality
 *     within the bounds). BOUNDS: comma-separated max_<objective>=X or min_<objective>=X
 *     (max_p95_ms=50,max_bytes=1e8; max_bytes names memory_bytes).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/pareto.h"
#include "ecology/promotion.h"
#include "ecology/registry.h"

#define MAX_BOUNDS ECO_PARETO_MAX_OBJECTIVES

/* "max_p95_ms=50,max_bytes=1e8" into bounds over a's objectives; usage error otherwise. */
static int parse_profile(const eco_pareto *a, const char *spec, eco_pareto_bound *b, size_t *n) {
    *n = 0;
    char buf[512];
    if (strlen(spec) >= sizeof buf) return cli_usage_error("archive show: --profile: too long");
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *item = strtok_r(buf, ",", &save); item;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        bool max = strncmp(item, "max_", 4) == 0, min = strncmp(item, "min_", 4) == 0;
        if (!eq || (!max && !min))
            return cli_usage_error("archive show: --profile: '%s' is not max_OBJECTIVE=X or "
                                   "min_OBJECTIVE=X",
                                   item);
        *eq = '\0';
        const char *name = strcmp(item + 4, "bytes") == 0 ? "memory_bytes" : item + 4;
        size_t idx;
        double v;
        if (eco_pareto_objective_index(a, name, &idx) != ECO_STATUS_OK) {
            fprintf(stderr, "ecology: archive show: --profile: the archive has no objective '%s' (",
                    name);
            for (size_t i = 0; i < eco_pareto_n_objectives(a); i++)
                fprintf(stderr, "%s%s", i ? ", " : "", eco_pareto_objective_at(a, i).name);
            fprintf(stderr, ")\n");
            return CLI_USAGE;
        }
        eco_pareto_dir dir = eco_pareto_objective_at(a, idx).dir;
        if ((max && dir != ECO_PARETO_DIR_MIN) || (min && dir != ECO_PARETO_DIR_MAX))
            return cli_usage_error("archive show: --profile: %s is %s: give %s_%s", name,
                                   dir == ECO_PARETO_DIR_MIN ? "minimised" : "maximised",
                                   dir == ECO_PARETO_DIR_MIN ? "max" : "min", name);
        if (cli_parse_float(item, eq + 1, -1e300, 1e300, &v) != CLI_OK) return CLI_USAGE;
        if (*n == MAX_BOUNDS) return cli_usage_error("archive show: --profile: too many bounds");
        b[(*n)++] = (eco_pareto_bound){.objective = idx, .limit = v};
    }
    if (*n == 0) return cli_usage_error("archive show: --profile: no bound");
    return CLI_OK;
}

static void print_table(const eco_pareto *a, int64_t generation, const char *best) {
    printf("archive after generation %lld: %zu of %zu members\n", (long long)generation,
           eco_pareto_count(a), eco_pareto_capacity(a));
    printf("%-32s", "ID");
    for (size_t j = 0; j < eco_pareto_n_objectives(a); j++)
        printf(" %18s", eco_pareto_objective_at(a, j).name);
    printf("\n");
    for (size_t i = 0; i < eco_pareto_count(a); i++) {
        printf("%-32s", eco_pareto_id(a, i));
        for (size_t j = 0; j < eco_pareto_n_objectives(a); j++)
            printf(" %18.6g", eco_pareto_values(a, i)[j]);
        printf("%s\n", best && strcmp(best, eco_pareto_id(a, i)) == 0 ? "  <- best" : "");
    }
}

static int archive_show(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("profile", true), CLI_OPT("json", false), CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *profile = cli_get(o, n, "profile");
    bool json = cli_get(o, n, "json") != NULL;
    eco_registry *r = NULL;
    if (cli_registry_open_ro(cli_get(o, n, "data-dir"), false, &r) != CLI_OK) return CLI_FAIL;
    eco_pareto *a = NULL;
    int64_t generation = -1;
    int rc = CLI_OK;
    eco_status st = eco_archive_load(r, &a, &generation);
    eco_registry_close(r);
    if (st) return cli_fail(st, "archive show");
    if (!a) {
        fprintf(stderr, "ecology: archive show: no archive yet (ecology run --config FILE makes "
                        "one)\n");
        return CLI_FAIL;
    }
    const char *best = NULL;
    eco_pareto_bound bounds[MAX_BOUNDS];
    size_t nb = 0, q, idx;
    if (profile && (rc = parse_profile(a, profile, bounds, &nb)) == CLI_OK) {
        if (eco_pareto_objective_index(a, "quality", &q) != ECO_STATUS_OK) q = 0;
        if ((st = eco_pareto_best(a, q, bounds, nb, &idx)) == ECO_STATUS_OK)
            best = eco_pareto_id(a, idx);
        else if (st != ECO_STATUS_ENOTFOUND)
            rc = cli_fail(st, "archive show");
        else if (!json)
            fprintf(stderr, "ecology: archive show: %s\n", eco_last_error());
    }
    char *text = NULL;
    if (rc == CLI_OK && json) {
        if ((st = eco_pareto_to_json(a, &text, NULL)) == ECO_STATUS_OK) {
            json_t *j = json_pack("{s:I,s:o,s:o}", "generation", (json_int_t)generation, "archive",
                                  json_loads(text, 0, NULL), "best",
                                  best ? json_string(best) : json_null());
            char *out = NULL;
            if (j && eco_json_canonical(j, &out, NULL) == ECO_STATUS_OK)
                printf("%s\n", out);
            else
                rc = cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "archive show");
            free(out);
            json_decref(j);
        } else {
            rc = cli_fail(st, "archive show");
        }
    } else if (rc == CLI_OK) {
        print_table(a, generation, best);
        if (profile && best) printf("best for %s: %s\n", profile, best);
    }
    free(text);
    eco_pareto_free(a);
    return rc;
}

int cmd_archive(int argc, char **argv) {
    if (argc < 3 || strcmp(argv[2], "show") != 0)
        return cli_usage_error("archive: expected the subcommand show");
    return archive_show(argc, argv);
}
