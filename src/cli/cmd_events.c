/* ecology events [--since N] [--json] [--data-dir D]: the registry's append-only event log. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/registry.h"

int cmd_events(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("data-dir", true), CLI_OPT("since", true), CLI_OPT("json", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    int64_t since = 0;
    if (cli_get(o, n, "since") &&
        cli_parse_int("since", cli_get(o, n, "since"), 0, INT64_MAX, &since) != CLI_OK)
        return CLI_USAGE;
    eco_registry *r = NULL;
    if (cli_registry_open_ro(cli_get(o, n, "data-dir"), false, &r) != CLI_OK) return CLI_FAIL;
    eco_registry_event *e = NULL;
    size_t ne = 0;
    eco_status st = eco_registry_events(r, since, &e, &ne);
    eco_registry_close(r);
    if (st != ECO_STATUS_OK) return cli_fail(st, "events");
    const bool json = cli_get(o, n, "json") != NULL;
    for (size_t i = 0; i < ne; i++) {
        if (json) {
            json_error_t err;
            json_t *detail = json_loads(e[i].detail ? e[i].detail : "{}", 0, &err);
            json_t *line = json_pack("{s:I, s:s, s:s, s:s?, s:o}", "seq", (json_int_t)e[i].seq,
                                     "at", e[i].at, "type", e[i].type, "model", e[i].model_id,
                                     "detail", detail ? detail : json_object());
            char *text = NULL;
            size_t len = 0;
            if (line && eco_json_canonical(line, &text, &len) == ECO_STATUS_OK)
                printf("%s\n", text);
            free(text);
            json_decref(line);
        } else
            printf("%-6lld %-20s %-10s %-32s %s\n", (long long)e[i].seq, e[i].at, e[i].type,
                   e[i].model_id ? e[i].model_id : "-", e[i].detail ? e[i].detail : "");
    }
    eco_registry_events_free(e, ne);
    return CLI_OK;
}
