/* ecology lineage ID [--dot] [--data-dir D]: ancestry and descendants as a tree (each
 * model's step below it: operation, seed, parameters and result; a recipe's steps one by
 * one), or Graphviz DOT. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/registry.h"

/* Longest JSON shown for a step's parameters or result (then "..."). */
#define STEP_JSON_MAX 240

/* "<prefix><label> <canonical JSON of v, cut at STEP_JSON_MAX>" when v is not empty. */
static void print_json_line(const char *prefix, const char *label, const json_t *v) {
    if (!v || (json_is_object(v) && json_object_size(v) == 0)) return;
    char *text = NULL;
    size_t len = 0;
    if (eco_json_canonical(v, &text, &len) != ECO_STATUS_OK) {
        eco_clear_error();
        return;
    }
    printf("%s%s %.*s%s\n", prefix, label, (int)(len > STEP_JSON_MAX ? STEP_JSON_MAX : len), text,
           len > STEP_JSON_MAX ? "..." : "");
    free(text);
}

/* A model's step: its operation and seed, parameters and result (params["result"], as add
 * keeps a breeding record's); a recipe's steps each on their own lines. */
static void print_step(const char *prefix, const eco_genome *g) {
    json_t *params = json_deep_copy(g->op_params);
    json_t *result = json_incref(json_object_get(params, "result"));
    json_t *steps = json_incref(json_object_get(params, "steps"));
    if (params) json_object_del(params, "result");
    printf("%s  operation %s, seed %llu\n", prefix, g->op_name, (unsigned long long)g->op_seed);
    if (strcmp(g->op_name, "recipe") == 0 && json_is_array(steps)) {
        json_object_del(params, "steps");
        size_t i;
        json_t *st;
        json_array_foreach(steps, i, st) {
            const char *op = json_string_value(json_object_get(st, "op"));
            json_t *seed = json_object_get(st, "seed");
            printf("%s  step %zu: %s, seed %lld\n", prefix, i + 1, op ? op : "?",
                   json_is_integer(seed) ? (long long)json_integer_value(seed) : 0LL);
            char sub[1200];
            snprintf(sub, sizeof sub, "%.1100s    ", prefix);
            print_json_line(sub, "  params", json_object_get(st, "params"));
            print_json_line(sub, "  result", json_object_get(st, "result"));
        }
    }
    print_json_line(prefix, "  params", params);
    print_json_line(prefix, "  result", result);
    json_decref(steps);
    json_decref(result);
    json_decref(params);
}


/* Ancestry tree: the model, then its parents indented below it, recursively. depth bounds
 * the walk (lineage is acyclic by construction, the bound is for a damaged database). */
static eco_status print_ancestry(eco_registry *r, const char *id, const char *prefix, bool last,
                                 int depth) {
    eco_genome g = {0};
    eco_status st = eco_registry_get(r, id, &g, NULL);
    if (st != ECO_STATUS_OK) return st;
    printf("%s%s%s  (%s; %s)\n", prefix,
           depth == 0 ? ""
           : last     ? "└── "
                      : "├── ",
           g.id, eco_genome_kind_str(g.kind), g.op_name);
    char sub[1024];
    /* a prefix that no longer fits ends the walk (64 levels fit easily) */
    const bool fits = snprintf(sub, sizeof sub, "%s%s", prefix,
                               depth == 0 ? ""
                               : last     ? "    "
                                          : "│   ") < (int)sizeof sub;
    if (fits) {
        char detail[1200];
        snprintf(detail, sizeof detail, "%.1100s%s", sub, g.n_parents ? "│ " : "  ");
        print_step(detail, &g);
    }
    for (size_t i = 0; i < g.n_parents && st == ECO_STATUS_OK && depth < 64 && fits; i++)
        st = print_ancestry(r, g.parents[i], sub, i + 1 == g.n_parents, depth + 1);
    eco_genome_free(&g);
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
        eco_genome g = {0};
        if ((st = eco_registry_get(r, m, &g, NULL)) != ECO_STATUS_OK) break;
        printf("  \"%s\" [label=\"%s\\n%s\"%s];\n", g.id, g.id, eco_genome_kind_str(g.kind),
               k == 0 ? ", style=bold" : "");
        for (size_t i = 0; i < g.n_parents; i++)
            printf("  \"%s\" -> \"%s\" [label=\"%s\"];\n", g.id, g.parents[i], g.op_name);
        eco_genome_free(&g);
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
    if (cli_registry_open_ro(cli_get(o, n, "data-dir"), false, &r) != CLI_OK) return CLI_FAIL;
    int rc;
    if (cli_registry_resolve(r, "lineage", &pos[0]) != CLI_OK) {
        eco_registry_close(r);
        return CLI_FAIL;
    }
    if (cli_get(o, n, "dot"))
        rc = cmd_lineage_dot(r, pos[0]);
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
