/* ecology report --out DIR [--x-objective NAME] [--y-objective NAME] [--max-lineage N]
 * [--data-dir D]: the loop's report page (report.h) from the registry alone. */
#include <stdio.h>

#include "cli.h"
#include "ecology/registry.h"
#include "ecology/report.h"

int cmd_report(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("out", true), CLI_OPT("data-dir", true), CLI_OPT("x-objective", true),
                   CLI_OPT("y-objective", true), CLI_OPT("max-lineage", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *out = cli_get(o, n, "out");
    if (!out) return cli_usage_error("report: --out DIR is required");
    eco_report_options ro = {.x_objective = cli_get(o, n, "x-objective"),
                             .y_objective = cli_get(o, n, "y-objective")};
    int64_t max = 0;
    if (cli_get(o, n, "max-lineage") &&
        cli_parse_int("max-lineage", cli_get(o, n, "max-lineage"), 1, 100000, &max) != CLI_OK)
        return CLI_USAGE;
    ro.max_lineage = (size_t)max;
    eco_registry *r = NULL;
    if (cli_registry_open_ro(cli_get(o, n, "data-dir"), false, &r) != CLI_OK) return CLI_FAIL;
    eco_status st = eco_report_write(r, out, &ro);
    eco_registry_close(r);
    if (st != ECO_STATUS_OK) return cli_fail(st, "report");
    printf("report: %s/" ECO_REPORT_INDEX_FILE " (also " ECO_REPORT_SVG_FILE
           ", " ECO_REPORT_DOT_FILE ", " ECO_REPORT_PARETO_FILE ")\n",
           out);
    return CLI_OK;
}
