/* ecology alias set NAME ID [--expect OLD|none] | alias get NAME | alias history NAME [--json]
 * (each takes --data-dir D): the registry's named pointers, moved by compare-and-swap. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/registry.h"

static int alias_history(eco_registry *r, const char *name, bool json) {
    eco_alias_change *c = NULL;
    size_t nc = 0;
    eco_status st = eco_registry_alias_history(r, name, &c, &nc);
    if (st != ECO_STATUS_OK) return cli_fail(st, "alias history");
    json_t *arr = json ? json_array() : NULL;
    if (!json) printf("%-6s %-20s %-32s %s\n", "SEQ", "AT", "FROM", "TO");
    for (size_t i = 0; i < nc; i++) {
        if (json)
            json_array_append_new(
                arr, json_pack("{s:I, s:s, s:s?, s:s, s:s}", "seq", (json_int_t)c[i].seq, "at",
                               c[i].at, "from", c[i].from_id, "to", c[i].to_id, "name", c[i].name));
        else
            printf("%-6lld %-20s %-32s %s\n", (long long)c[i].seq, c[i].at,
                   c[i].from_id ? c[i].from_id : "-", c[i].to_id);
    }
    if (json) {
        char *text = NULL;
        size_t len = 0;
        if (eco_json_canonical(arr, &text, &len) == ECO_STATUS_OK) printf("%s\n", text);
        free(text);
        json_decref(arr);
    }
    eco_alias_changes_free(c, nc);
    return CLI_OK;
}

int cmd_alias(int argc, char **argv) {
    if (argc < 3) return cli_usage_error("alias: expected a subcommand (set, get, history)");
    const char *sub = argv[2];
    const bool set = strcmp(sub, "set") == 0;
    if (!set && strcmp(sub, "get") != 0 && strcmp(sub, "history") != 0)
        return cli_usage_error("alias: unknown subcommand '%s' (set, get, history)", sub);
    /* set: --expect; history: --json; get: neither */
    cli_opt o[] = {CLI_OPT("data-dir", true), CLI_OPT(set ? "expect" : "json", set)};
    const int n = strcmp(sub, "get") == 0 ? 1 : 2;
    const char *pos[2];
    int npos;
    if (cli_parse(argc, argv, 3, o, n, pos, 2, &npos) != CLI_OK) return CLI_USAGE;
    if (npos != (set ? 2 : 1))
        return cli_usage_error("alias %s: expected %s", sub, set ? "NAME ID" : "NAME");
    eco_registry *r = NULL;
    if (cli_registry_open(cli_get(o, n, "data-dir"), &r) != CLI_OK) return CLI_FAIL;
    int rc = CLI_OK;
    if (set) {
        /* Without --expect the move is unconditional ("*"); --expect none means "must not exist". */
        const char *expect = cli_get(o, n, "expect");
        if (!expect)
            expect = "*";
        else if (strcmp(expect, "none") == 0)
            expect = NULL;
        eco_status st = ECO_STATUS_OK;
        if (cli_registry_resolve(r, "alias set", &pos[1]) != CLI_OK)
            rc = CLI_FAIL; /* ID may be an alias */
        else if ((st = eco_registry_alias_set(r, pos[0], pos[1], expect)) != ECO_STATUS_OK)
            rc = cli_fail(st, "alias set");
        else
            printf("%s -> %s\n", pos[0], pos[1]);
    } else if (strcmp(sub, "get") == 0) {
        char *id = NULL;
        eco_status st = eco_registry_alias_get(r, pos[0], &id);
        if (st != ECO_STATUS_OK)
            rc = cli_fail(st, "alias get");
        else
            printf("%s\n", id);
        free(id);
    } else
        rc = alias_history(r, pos[0], cli_get(o, n, "json") != NULL);
    eco_registry_close(r);
    return rc;
}
