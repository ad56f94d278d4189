/* History commands (each takes --data-dir D):
 *   ecology lineage ID [--dot]          ancestry and descendants as a tree, or Graphviz DOT
 *   ecology alias set NAME ID [--expect OLD] | alias get NAME | alias history NAME [--json]
 *   ecology events [--since N] [--json] */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/registry.h"



/* Ancestry tree: the model, then its parents indented below it, recursively. depth bounds
 * the walk (lineage is acyclic by construction, the bound is for a damaged database). */
static eco_status print_ancestry(eco_registry *r, const char *id, const char *prefix, bool last, int depth) {
    eco_genome_record g = {0};
    eco_status st = eco_registry_get(r, id, &g, NULL);
    if (st != ECO_STATUS_OK) return st;
    printf("%s%s%s  (%s; %s)\n", prefix, depth == 0 ? "" : last ? "└── " : "├── ", g.id,
           eco_genome_kind_str(g.kind), g.op_name);
    char sub[1024];
    /* a prefix that no longer fits ends the walk (64 levels fit easily) */
    const bool fits = snprintf(sub, sizeof sub, "%s%s", prefix, depth == 0 ? "" : last ? "    " : "│   ") <
                      (int)sizeof sub;
    for (size_t i = 0; i < g.n_parents && st == ECO_STATUS_OK && depth < 64 && fits; i++)
        st = print_ancestry(r, g.parents[i], sub, i + 1 == g.n_parents, depth + 1);
    eco_genome_record_free(&g);
    return st;
}

static int cmd_lineage_dot(eco_registry *r, const char *id) {
    char **anc = NULL, **desc = NULL;
    size_t na = 0, nd = 0;
    eco_status st = eco_registry_ancestors(r, id, &anc, &na);
    if (st == ECO_STATUS_OK) st = eco_registry_descendants(r, id, &desc, &nd);
    if (st != ECO_STATUS_OK) {
        eco_registry_ids_free(anc, na);
        return cli_fail(st, "lineage");
    }
    printf("digraph lineage {\n  rankdir=BT;\n  node [shape=box, fontname=\"monospace\"];\n");
    for (size_t k = 0; k < 1 + na + nd && st == ECO_STATUS_OK; k++) {
        const char *m = k == 0 ? id : k <= na ? anc[k - 1] : desc[k - 1 - na];
        eco_genome_record g = {0};
        if ((st = eco_registry_get(r, m, &g, NULL)) != ECO_STATUS_OK) break;
        printf("  \"%s\" [label=\"%s\\n%s\"%s];\n", g.id, g.id, eco_genome_kind_str(g.kind),
               k == 0 ? ", style=bold" : "");
        for (size_t i = 0; i < g.n_parents; i++)
            printf("  \"%s\" -> \"%s\" [label=\"%s\"];\n", g.id, g.parents[i], g.op_name);
        eco_genome_record_free(&g);
    }
    printf("}\n");
    eco_registry_ids_free(anc, na);
    eco_registry_ids_free(desc, nd);
    return st == ECO_STATUS_OK ? CLI_OK : cli_fail(st, "lineage");
}

int cmd_lineage(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("data-dir", true), CLI_OPT("dot", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 1, &npos) != CLI_OK) return CLI_USAGE;
    if (npos != 1) return cli_usage_error("lineage: give a model id");
    eco_registry *r = NULL;
    if (cli_registry_open(cli_get(o, n, "data-dir"), &r) != CLI_OK) return CLI_FAIL;
    int rc;
    if (cli_get(o, n, "dot")) rc = cmd_lineage_dot(r, pos[0]);
    else {
        eco_status st = print_ancestry(r, pos[0], "", true, 0);
        char **desc = NULL;
        size_t nd = 0;
        if (st == ECO_STATUS_OK) st = eco_registry_descendants(r, pos[0], &desc, &nd);
        if (st == ECO_STATUS_OK) {
            printf("descendants (%zu)%s\n", nd, nd ? ":" : "");
            for (size_t i = 0; i < nd; i++) printf("  %s\n", desc[i]);
        }
        eco_registry_ids_free(desc, nd);
        rc = st == ECO_STATUS_OK ? CLI_OK : cli_fail(st, "lineage");
    }
    eco_registry_close(r);
    return rc;
}

static int alias_history(eco_registry *r, const char *name, bool json) {
    eco_alias_change *c = NULL;
    size_t nc = 0;
    eco_status st = eco_registry_alias_history(r, name, &c, &nc);
    if (st != ECO_STATUS_OK) return cli_fail(st, "alias history");
    json_t *arr = json ? json_array() : NULL;
    if (!json) printf("%-6s %-20s %-32s %s\n", "SEQ", "AT", "FROM", "TO");
    for (size_t i = 0; i < nc; i++) {
        if (json)
            json_array_append_new(arr, json_pack("{s:I, s:s, s:s?, s:s, s:s}", "seq", (json_int_t)c[i].seq, "at",
                                                 c[i].at, "from", c[i].from_id, "to", c[i].to_id, "name", c[i].name));
        else
            printf("%-6lld %-20s %-32s %s\n", (long long)c[i].seq, c[i].at, c[i].from_id ? c[i].from_id : "-",
                   c[i].to_id);
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
    if (argc < 3) return cli_usage_error("usage: ecology alias set NAME ID [--expect OLD] | get NAME | history NAME");
    const char *sub = argv[2];
    cli_opt o[] = {CLI_OPT("data-dir", true), CLI_OPT("expect", true), CLI_OPT("json", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[2];
    int npos;
    if (cli_parse(argc, argv, 3, o, n, pos, 2, &npos) != CLI_OK) return CLI_USAGE;
    const bool set = strcmp(sub, "set") == 0;
    if (!set && strcmp(sub, "get") != 0 && strcmp(sub, "history") != 0)
        return cli_usage_error("alias: unknown subcommand '%s' (set, get, history)", sub);
    if (npos != (set ? 2 : 1)) return cli_usage_error("usage: ecology alias set NAME ID [--expect OLD] | get NAME | history NAME");
    eco_registry *r = NULL;
    if (cli_registry_open(cli_get(o, n, "data-dir"), &r) != CLI_OK) return CLI_FAIL;
    int rc = CLI_OK;
    if (set) {
        /* Without --expect the move is unconditional ("*"); --expect none means "must not exist". */
        const char *expect = cli_get(o, n, "expect");
        if (!expect) expect = "*";
        else if (strcmp(expect, "none") == 0) expect = NULL;
        eco_status st = eco_registry_alias_set(r, pos[0], pos[1], expect);
        if (st != ECO_STATUS_OK) rc = cli_fail(st, "alias set");
        else printf("%s -> %s\n", pos[0], pos[1]);
    } else if (strcmp(sub, "get") == 0) {
        char *id = NULL;
        eco_status st = eco_registry_alias_get(r, pos[0], &id);
        if (st != ECO_STATUS_OK) rc = cli_fail(st, "alias get");
        else printf("%s\n", id);
        free(id);
    } else
        rc = alias_history(r, pos[0], cli_get(o, n, "json") != NULL);
    eco_registry_close(r);
    return rc;
}

int cmd_events(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("data-dir", true), CLI_OPT("since", true), CLI_OPT("json", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    int64_t since = 0;
    if (cli_get(o, n, "since") && cli_parse_int("since", cli_get(o, n, "since"), 0, INT64_MAX, &since) != CLI_OK)
        return CLI_USAGE;
    eco_registry *r = NULL;
    if (cli_registry_open(cli_get(o, n, "data-dir"), &r) != CLI_OK) return CLI_FAIL;
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
            json_t *line = json_pack("{s:I, s:s, s:s, s:s?, s:o}", "seq", (json_int_t)e[i].seq, "at", e[i].at, "type",
                                     e[i].type, "model", e[i].model_id, "detail", detail ? detail : json_object());
            char *text = NULL;
            size_t len = 0;
            if (line && eco_json_canonical(line, &text, &len) == ECO_STATUS_OK) printf("%s\n", text);
            free(text);
            json_decref(line);
        } else
            printf("%-6lld %-20s %-10s %-32s %s\n", (long long)e[i].seq, e[i].at, e[i].type,
                   e[i].model_id ? e[i].model_id : "-", e[i].detail ? e[i].detail : "");
    }
    eco_registry_events_free(e, ne);
    return CLI_OK;
}
