/* ecology promote ID --capability C [--data-dir D]
 *     moves C's champion alias to ID (promotion.h: eco_promote by "manual", still gated: ID
 *     needs an accepted report scoring C; exit 3 otherwise).
 * ecology rollback C [--reason TEXT] [--data-dir D]
 *     moves C's champion alias back one step (eco_rollback). */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "ecology/promotion.h"
#include "ecology/registry.h"

int cmd_promote(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("capability", true), CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 1, &npos) != CLI_OK) return CLI_USAGE;
    const char *cap = cli_get(o, n, "capability");
    if (npos != 1) return cli_usage_error("promote: expected ID");
    if (!cap) return cli_usage_error("promote: --capability C is required");
    eco_registry *r = NULL;
    if (cli_registry_open(cli_get(o, n, "data-dir"), &r) != CLI_OK) return CLI_FAIL;
    eco_promote_options po = {.capability = cap, .by = "manual", .require_report = true};
    eco_status st = eco_promote(r, pos[0], &po);
    char alias[ECO_PROMOTION_ALIAS_MAX], *to = NULL;
    int rc = CLI_OK;
    if (st == ECO_STATUS_EGATE) {
        fprintf(stderr, "ecology: promote: refused: %s\n", eco_last_error());
        rc = CLI_REJECTED;
    } else if (st) {
        rc = cli_fail(st, "promote");
    } else if ((st = eco_promotion_alias(cap, "champion", alias)) ||
               (st = eco_registry_alias_get(r, alias, &to))) {
        rc = cli_fail(st, "promote");
    } else {
        printf("%s -> %s\n", alias, to);
    }
    free(to);
    eco_registry_close(r);
    return rc;
}

int cmd_rollback(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("reason", true), CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 1, &npos) != CLI_OK) return CLI_USAGE;
    if (npos != 1) return cli_usage_error("rollback: expected CAPABILITY");
    const char *reason = cli_get(o, n, "reason");
    eco_registry *r = NULL;
    if (cli_registry_open(cli_get(o, n, "data-dir"), &r) != CLI_OK) return CLI_FAIL;
    char *to = NULL, alias[ECO_PROMOTION_ALIAS_MAX];
    eco_status st = eco_rollback(r, pos[0], reason ? reason : "manual rollback", &to);
    int rc = CLI_OK;
    if (!st) st = eco_promotion_alias(pos[0], "champion", alias);
    if (st)
        rc = cli_fail(st, "rollback");
    else
        printf("%s -> %s\n", alias, to);
    free(to);
    eco_registry_close(r);
    return rc;
}
