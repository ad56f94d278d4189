/* The registry commands (every one takes --data-dir D; else $ECOLOGY_DATA, else ./ecology-data):
 *   ecology registry init [--require-signature]
 *   ecology registry check [--rehash]
 *   ecology registry gc [--dry-run]
 *   ecology add DIR --id NAME [--base ID] [--capability C]... [--sign-key KEY]
 *   ecology show ID [--json]
 *   ecology list [--capability C] [--kind K] [--base ID] [--compatible-with ID] [--json]
 *   ecology verify ID|DIR [--trusted DIR]     exit 0 intact and signed by a trusted key, 1 any
 *                                             mismatch, 4 intact but unsigned or untrusted
 *   ecology export ID --out DIR [--trust-cache]
 * (lineage, alias and events are in cmd_lineage.c.) */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "ecology/registry.h"
#include "ecology/signing.h"

int cli_registry_open(const char *data_dir, eco_registry **r) {
    return cli_registry_open_opts(data_dir, false, r);
}

int cli_registry_open_opts(const char *data_dir, bool trust_cache, eco_registry **r) {
    eco_registry_options o = {.data_dir = data_dir, .trust_cache = trust_cache};
    eco_status st = eco_registry_open(&o, r);
    return st == ECO_STATUS_OK ? CLI_OK : cli_fail(st, "registry");
}

int cli_registry_open_ro(const char *data_dir, bool trust_cache, eco_registry **r) {
    eco_registry_options o = {.data_dir = data_dir, .trust_cache = trust_cache, .read_only = true};
    eco_status st = eco_registry_open(&o, r);
    return st == ECO_STATUS_OK ? CLI_OK : cli_fail(st, "registry");
}

/* Every value of --name in argv (as --name V or --name=V; commas split values too):
 * returns a malloc'd array of pointers into argv or into *store (caller frees both). */
static const char **collect_all(int argc, char **argv, const char *name, size_t *n, char **store) {
    size_t cap = 0, len = strlen(name);
    *n = 0;
    *store = NULL;
    size_t total = 0;
    for (int i = 2; i < argc; i++) total += strlen(argv[i]) + 1;
    char *buf = malloc(total + 1);
    const char **out = malloc(sizeof(char *) * (size_t)(argc + 1) * 4);
    if (!buf || !out) {
        free(buf);
        free(out);
        return NULL;
    }
    cap = (size_t)(argc + 1) * 4;
    char *w = buf;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        if (strncmp(a, "--", 2) == 0 && strncmp(a + 2, name, len) == 0) {
            if (a[2 + len] == '=')
                v = a + 3 + len;
            else if (a[2 + len] == '\0' && i + 1 < argc)
                v = argv[++i];
        }
        if (!v) continue;
        strcpy(w, v);
        for (char *tok = strtok(w, ","); tok && *n < cap; tok = strtok(NULL, ","))
            out[(*n)++] = tok;
        w += strlen(v) + 1;
    }
    *store = buf;
    return out;
}

static int registry_init(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("data-dir", true), CLI_OPT("require-signature", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    char *dir = eco_data_dir_resolve(cli_get(o, n, "data-dir"));
    if (!dir) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "registry init");
    char *db = eco_path_join(dir, ECO_REGISTRY_DB_FILE);
    struct stat sb;
    const bool existed = db && stat(db, &sb) == 0;
    free(db);
    bool required_before = false;
    eco_status st = existed ? eco_registry_policy_get(dir, &required_before) : ECO_STATUS_OK;
    const bool require = cli_get(o, n, "require-signature") != NULL;
    if (st == ECO_STATUS_OK) st = eco_registry_init(dir);
    if (st == ECO_STATUS_OK && require) st = eco_registry_policy_set(dir, true);
    if (st != ECO_STATUS_OK) {
        free(dir);
        return cli_fail(st, "registry init");
    }
    printf("registry ready in %s (trusted keys: %s/keys/trusted)\n", dir, dir);
    if (existed && require && !required_before)
        printf("policy changed: this existing registry now requires signatures from a trusted key "
               "for every add "
               "(models registered before stay as they are; `ecology verify` tells which are "
               "unsigned)\n");
    else if (existed && require)
        printf("policy unchanged: signatures were already required\n");
    free(dir);
    return CLI_OK;
}

static int registry_check(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("data-dir", true), CLI_OPT("rehash", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    eco_registry *r = NULL;
    if (cli_registry_open_ro(cli_get(o, n, "data-dir"), false, &r) != CLI_OK) return CLI_FAIL;
    size_t models = 0, files = 0;
    const bool rehash = cli_get(o, n, "rehash") != NULL;
    eco_status st = eco_registry_check(r, rehash, &models, &files);
    eco_registry_close(r);
    if (st != ECO_STATUS_OK) {
        printf("FAILED\n");
        return cli_fail(st, "registry check");
    }
    printf("OK: database consistent, %zu models, %zu files present%s\n", models, files,
           rehash ? " and re-hashed" : " with their sizes");
    return CLI_OK;
}

static int registry_gc(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("data-dir", true), CLI_OPT("dry-run", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const bool dry = cli_get(o, n, "dry-run") != NULL;
    eco_registry *r = NULL;
    int rc = dry ? cli_registry_open_ro(cli_get(o, n, "data-dir"), false, &r)
                 : cli_registry_open(cli_get(o, n, "data-dir"), &r);
    if (rc != CLI_OK) return CLI_FAIL;
    eco_gc_object *objs = NULL;
    size_t nobj = 0;
    uint64_t bytes = 0;
    eco_status st = eco_registry_gc(r, dry, &objs, &nobj, &bytes);
    eco_registry_close(r);
    if (st != ECO_STATUS_OK) {
        free(objs);
        return cli_fail(st, "registry gc");
    }
    for (size_t i = 0; i < nobj; i++)
        printf("%s %s %llu bytes\n", dry ? "unreferenced" : "removed", objs[i].sha256,
               (unsigned long long)objs[i].size);
    printf("%s%zu unreferenced objects, %llu bytes\n", dry ? "would remove " : "removed ", nobj,
           (unsigned long long)bytes);
    free(objs);
    return CLI_OK;
}

int cmd_registry(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[2], "init") == 0) return registry_init(argc, argv);
    if (argc >= 3 && strcmp(argv[2], "check") == 0) return registry_check(argc, argv);
    if (argc >= 3 && strcmp(argv[2], "gc") == 0) return registry_gc(argc, argv);
    if (argc < 3) return cli_usage_error("registry: expected a subcommand (init, check, gc)");
    return cli_usage_error("registry: unknown subcommand '%s' (expected init, check, gc)", argv[2]);
}

/* What add and add-remote print for the genome they added: its canonical JSON, or its id. */
static void print_added(const eco_genome *g, bool json) {
    if (json) {
        char *text = NULL;
        size_t len = 0;
        if (eco_genome_to_canonical(g, &text, &len) == ECO_STATUS_OK) printf("%s\n", text);
        free(text);
    } else
        printf("%s\n", g->id);
}

int cmd_add(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("data-dir", true),   CLI_OPT("id", true),       CLI_OPT("base", true),
                   CLI_OPT("capability", true), CLI_OPT("sign-key", true), CLI_OPT("json", false)};
    const int n = (int)(sizeof o / sizeof *o);
    o[3].repeated_ok = true;
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 1, &npos) != CLI_OK) return CLI_USAGE;
    if (npos != 1) return cli_usage_error("add: give the model or adapter folder");
    if (!cli_get(o, n, "id")) return cli_usage_error("add: --id NAME is required");
    size_t ncap = 0;
    char *store = NULL;
    const char **caps = collect_all(argc, argv, "capability", &ncap, &store);
    if (!caps) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "add");
    for (size_t i = 0; i < ncap; i++)
        if (cli_check_capability("capability", caps[i]) != CLI_OK) {
            free(caps);
            free(store);
            return CLI_USAGE;
        }
    eco_registry *r = NULL;
    if (cli_registry_open(cli_get(o, n, "data-dir"), &r) != CLI_OK) {
        free(caps);
        free(store);
        return CLI_FAIL;
    }
    eco_add_options ao = {.id = cli_get(o, n, "id"),
                          .base = cli_get(o, n, "base"),
                          .capabilities = caps,
                          .n_capabilities = ncap,
                          .sign_key = cli_get(o, n, "sign-key"),
                          .progress = true};
    if (ao.base && cli_registry_resolve(r, "add --base", &ao.base) != CLI_OK) {
        eco_registry_close(r);
        free(caps);
        free(store);
        return CLI_FAIL;
    }
    eco_genome g = {0};
    eco_status st = eco_registry_add_dir(r, pos[0], &ao, &g);
    int rc = CLI_OK;
    if (st == ECO_STATUS_OK) cli_record_training_corpus(r, pos[0], &g); /* issue 19 */
    if (st != ECO_STATUS_OK)
        rc = cli_fail(st, "add");
    else
        print_added(&g, cli_get(o, n, "json") != NULL);
    eco_genome_free(&g);
    eco_registry_close(r);
    free(caps);
    free(store);
    return rc;
}

/* add-remote: a model another server holds (registry.h's remote models; issue 22). */
int cmd_add_remote(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("data-dir", true), CLI_OPT("id", true),      CLI_OPT("endpoint", true),
                   CLI_OPT("model", true),    CLI_OPT("key-env", true), CLI_OPT("capability", true),
                   CLI_OPT("sign-key", true), CLI_OPT("json", false)};
    const int n = (int)(sizeof o / sizeof *o);
    o[5].repeated_ok = true;
    const char *pos[1];
    int npos = 0;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    if (!cli_get(o, n, "id") || !cli_get(o, n, "endpoint") || !cli_get(o, n, "model"))
        return cli_usage_error("add-remote: --id, --endpoint and --model are required");
    size_t ncap = 0;
    char *store = NULL;
    const char **caps = collect_all(argc, argv, "capability", &ncap, &store);
    if (!caps) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "add-remote");
    int rc = CLI_OK;
    for (size_t i = 0; rc == CLI_OK && i < ncap; i++)
        if (cli_check_capability("capability", caps[i]) != CLI_OK) rc = CLI_USAGE;
    eco_registry *r = NULL;
    if (rc == CLI_OK && cli_registry_open(cli_get(o, n, "data-dir"), &r) != CLI_OK) rc = CLI_FAIL;
    eco_genome g = {0};
    if (rc == CLI_OK) {
        eco_remote_add_options ro = {.id = cli_get(o, n, "id"),
                                     .endpoint = cli_get(o, n, "endpoint"),
                                     .model = cli_get(o, n, "model"),
                                     .api_key_env = cli_get(o, n, "key-env"),
                                     .capabilities = caps,
                                     .n_capabilities = ncap,
                                     .sign_key = cli_get(o, n, "sign-key")};
        eco_status st = eco_registry_add_remote(r, &ro, &g);
        if (st == ECO_STATUS_EINVAL)
            rc = cli_usage_error("%s", eco_last_error());
        else if (st != ECO_STATUS_OK)
            rc = cli_fail(st, "add-remote");
    }
    if (rc == CLI_OK) print_added(&g, cli_get(o, n, "json") != NULL);
    eco_genome_free(&g);
    eco_registry_close(r);
    free(caps);
    free(store);
    return rc;
}

static void print_list(const char *label, char **items, size_t n) {
    printf("%-18s", label);
    if (n == 0) printf("-");
    for (size_t i = 0; i < n; i++) printf("%s%s", i ? ", " : "", items[i]);
    printf("\n");
}

static void print_genome(const eco_genome *g, bool signed_) {
    printf("%-18s%s\n", "id", g->id);
    printf("%-18s%s\n", "kind", eco_genome_kind_str(g->kind));
    printf("%-18s%s\n", "base", g->base ? g->base : "-");
    print_list("capabilities", g->capabilities, g->n_capabilities);
    printf("%-18s%s\n", "interface", g->interface_version);
    printf("compatibility\n");
    printf("  %-16s%s\n", "base_family", g->compatibility.base_family);
    printf("  %-16s%s\n", "architecture", g->compatibility.architecture_hash);
    printf("  %-16s%s\n", "tokenizer", g->compatibility.tokenizer_hash);
    printf("  %-16s%s\n", "tensor_schema", g->compatibility.tensor_schema_hash);
    char *params = g->op_params ? json_dumps(g->op_params, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    printf("lineage\n  %-16s%s\n  %-16s%s (seed %llu)\n", "operation", g->op_name, "params",
           params ? params : "{}", (unsigned long long)g->op_seed);
    free(params);
    printf("  ");
    print_list("parents", g->parents, g->n_parents);
    printf("resources\n  %-16s%lld\n  %-16s%llu\n  %-16s%llu\n", "parameters",
           (long long)g->n_params, "bytes", (unsigned long long)g->bytes, "resident bytes",
           (unsigned long long)g->resident_bytes);
    print_list("corpora", g->corpora, g->n_corpora);
    printf("%-18s%s\n%-18s%s\n%-18s%s\n", "created_at", g->created_at, "tool", g->tool_version,
           "signed", signed_ ? "yes" : "no");
    printf("files (%zu)\n", g->files.n);
    for (size_t i = 0; i < g->files.n; i++)
        printf("  %-40s %12llu  %s\n", g->files.files[i].name,
               (unsigned long long)g->files.files[i].size, g->files.files[i].sha256);
}

/* The model's stored evaluation reports (issue 19): a table, or a JSON array (a new
 * reference; NULL when out of memory) of their indexed members. */
static void print_reports(const eco_registry_report *rep, size_t n) {
    printf("reports (%zu)\n", n);
    if (n)
        printf("  %-4s %-20s %-16s %-16s %-7s %-8s %s\n", "SEQ", "AT", "CORPUS", "GATES", "VERSION",
               "VERDICT", "FITNESS");
    for (size_t i = 0; i < n; i++) {
        char fit[32] = "-";
        if (rep[i].fitness == rep[i].fitness) snprintf(fit, sizeof fit, "%.4f", rep[i].fitness);
        printf("  %-4lld %-20s %-16.16s %-16.16s %-7s %-8s %s\n", (long long)rep[i].seq, rep[i].at,
               rep[i].corpus ? rep[i].corpus : "-",
               rep[i].gates && *rep[i].gates ? rep[i].gates : "-",
               rep[i].evaluator_version ? rep[i].evaluator_version : "-",
               rep[i].accepted < 0 ? "-"
               : rep[i].accepted   ? "accepted"
                                   : "rejected",
               fit);
    }
}

static json_t *reports_json(const eco_registry_report *rep, size_t n) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        json_t *e =
            json_pack("{s:I,s:s,s:s?,s:s?,s:s?,s:o,s:o}", "seq", (json_int_t)rep[i].seq, "at",
                      rep[i].at, "corpus", rep[i].corpus, "gates", rep[i].gates,
                      "evaluator_version", rep[i].evaluator_version, "accepted",
                      rep[i].accepted < 0 ? json_null() : json_boolean(rep[i].accepted), "fitness",
                      rep[i].fitness == rep[i].fitness ? json_real(rep[i].fitness) : json_null());
        if (!e || json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

int cmd_show(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("data-dir", true), CLI_OPT("json", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 1, &npos) != CLI_OK) return CLI_USAGE;
    if (npos != 1) return cli_usage_error("show: give a model id");
    eco_registry *r = NULL;
    if (cli_registry_open_ro(cli_get(o, n, "data-dir"), false, &r) != CLI_OK) return CLI_FAIL;
    if (cli_registry_resolve(r, "show", &pos[0]) != CLI_OK) {
        eco_registry_close(r);
        return CLI_FAIL;
    }
    eco_genome g = {0};
    char *envelope = NULL;
    eco_registry_report *rep = NULL;
    size_t nrep = 0;
    eco_status st = eco_registry_get(r, pos[0], &g, &envelope);
    if (st == ECO_STATUS_OK) st = eco_registry_reports(r, pos[0], NULL, &rep, &nrep);
    int rc = CLI_OK;
    if (st != ECO_STATUS_OK)
        rc = cli_fail(st, "show");
    else if (cli_get(o, n, "json")) {
        json_t *gj = NULL;
        char *text = NULL;
        size_t len = 0;
        json_t *out = NULL;
        if (eco_genome_to_json(&g, &gj) == ECO_STATUS_OK &&
            (out = json_pack("{s:o, s:b, s:o}", "genome", gj, "signed", envelope != NULL, "reports",
                             reports_json(rep, nrep))) &&
            eco_json_canonical(out, &text, &len) == ECO_STATUS_OK)
            printf("%s\n", text);
        else
            rc = cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "show");
        json_decref(out);
        free(text);
    } else {
        print_genome(&g, envelope != NULL);
        print_reports(rep, nrep);
    }
    eco_registry_reports_free(rep, nrep);
    free(envelope);
    eco_genome_free(&g);
    eco_registry_close(r);
    return rc;
}

int cmd_list(int argc, char **argv) {
    cli_opt o[] = {
        CLI_OPT("data-dir", true), CLI_OPT("capability", true),      CLI_OPT("kind", true),
        CLI_OPT("base", true),     CLI_OPT("compatible-with", true), CLI_OPT("json", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    eco_genome_kind kind;
    const char *ks = cli_get(o, n, "kind");
    if (ks && eco_genome_kind_parse(ks, &kind) != ECO_STATUS_OK)
        return cli_usage_error(
            "list: --kind '%s' is not base, adapter, merged, distilled, quantized or remote", ks);
    if (cli_get(o, n, "capability") &&
        cli_check_capability("capability", cli_get(o, n, "capability")) != CLI_OK)
        return CLI_USAGE;
    eco_registry *r = NULL;
    if (cli_registry_open_ro(cli_get(o, n, "data-dir"), false, &r) != CLI_OK) return CLI_FAIL;
    eco_registry_filter f = {
        .kind = ks, .capability = cli_get(o, n, "capability"), .base = cli_get(o, n, "base")};
    char **ids = NULL;
    size_t nid = 0;
    eco_status st = ECO_STATUS_OK;
    eco_genome like = {0}; /* --compatible-with: models whose parameters mix with it */
    const char *like_ref = cli_get(o, n, "compatible-with");
    if (like_ref && cli_registry_resolve(r, "list --compatible-with", &like_ref) != CLI_OK) {
        eco_registry_close(r);
        return CLI_FAIL;
    }
    if (like_ref) {
        st = eco_registry_get(r, like_ref, &like, NULL);
        f.compat = &like.compatibility;
    }
    if (st == ECO_STATUS_OK) st = eco_registry_list(r, &f, &ids, &nid);
    const bool json = cli_get(o, n, "json") != NULL;
    json_t *arr = json ? json_array() : NULL;
    if (st == ECO_STATUS_OK && !json)
        printf("%-32s %-10s %-24s %s\n", "ID", "KIND", "BASE", "CAPABILITIES");
    for (size_t i = 0; st == ECO_STATUS_OK && i < nid; i++) {
        eco_genome g = {0};
        if ((st = eco_registry_get(r, ids[i], &g, NULL)) != ECO_STATUS_OK) break;
        if (json) {
            json_t *gj = NULL;
            if ((st = eco_genome_to_json(&g, &gj)) == ECO_STATUS_OK) json_array_append_new(arr, gj);
        } else {
            printf("%-32s %-10s %-24s ", g.id, eco_genome_kind_str(g.kind), g.base ? g.base : "-");
            for (size_t c = 0; c < g.n_capabilities; c++)
                printf("%s%s", c ? "," : "", g.capabilities[c]);
            printf("%s\n", g.n_capabilities ? "" : "-");
        }
        eco_genome_free(&g);
    }
    int rc = CLI_OK;
    if (st != ECO_STATUS_OK)
        rc = cli_fail(st, "list");
    else if (json) {
        char *text = NULL;
        size_t len = 0;
        if (eco_json_canonical(arr, &text, &len) == ECO_STATUS_OK) printf("%s\n", text);
        free(text);
    }
    json_decref(arr);
    eco_genome_free(&like);
    eco_registry_ids_free(ids, nid);
    eco_registry_close(r);
    return rc;
}

/* A folder with a genome.json is an exported model; anything else names a registered id
 * (a folder of the same name as an id in the working directory does not shadow it). */
static bool is_exported_dir(const char *arg) {
    if (!eco_path_is_dir(arg)) return false;
    char *g = eco_path_join(arg, ECO_GENOME_FILE);
    struct stat sb;
    bool ok = g && stat(g, &sb) == 0;
    free(g);
    return ok;
}

int cmd_verify(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("data-dir", true), CLI_OPT("trusted", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 1, &npos) != CLI_OK) return CLI_USAGE;
    if (npos != 1) return cli_usage_error("verify: give a model id or an exported folder");
    char keyid[ECO_KEYID_HEX_LEN + 1] = "";
    eco_status st;
    if (is_exported_dir(pos[0])) {
        const char *trusted = cli_get(o, n, "trusted");
        if (trusted && (st = eco_path_require_dir(
                            trusted, "a folder of trusted public keys (*.pub)")) != ECO_STATUS_OK)
            return cli_fail(st, "verify");
        char *data = NULL, *keys = NULL, *dflt = NULL;
        if (!trusted) {
            data = eco_data_dir_resolve(cli_get(o, n, "data-dir"));
            keys = data ? eco_path_join(data, "keys") : NULL;
            dflt = keys ? eco_path_join(keys, "trusted") : NULL;
            trusted = dflt;
        }
        eco_keyring *kr = NULL;
        st = trusted ? eco_keyring_load_dir(trusted, &kr)
                     : eco_error(ECO_STATUS_ENOMEM, "out of memory");
        if (st == ECO_STATUS_OK) st = eco_verify_dir(pos[0], kr, keyid);
        eco_keyring_free(kr);
        free(data);
        free(keys);
        free(dflt);
    } else {
        if (cli_get(o, n, "trusted"))
            return cli_usage_error("verify: --trusted applies to a folder; a registered model "
                                   "is checked against the registry's keys/trusted");
        eco_registry *r = NULL;
        if (cli_registry_open_ro(cli_get(o, n, "data-dir"), false, &r) != CLI_OK) return CLI_FAIL;
        /* an id or alias first: a folder of the same name does not shadow it */
        char *id = NULL;
        if ((st = eco_registry_resolve(r, pos[0], &id)) != ECO_STATUS_OK) {
            eco_registry_close(r);
            if (eco_path_is_dir(pos[0]))
                st = eco_error(ECO_STATUS_ENOTFOUND,
                               "%s: a folder without genome.json (not an exported model) and not "
                               "a registered id",
                               pos[0]);
            return cli_fail(st, "verify");
        }
        free(id);
        if (cli_registry_resolve(r, "verify", &pos[0]) != CLI_OK) {
            eco_registry_close(r);
            return CLI_FAIL;
        }
        st = eco_registry_verify(r, pos[0], keyid);
        eco_registry_close(r);
    }
    if (st == ECO_STATUS_ESIGNATURE) {
        /* every file matches, but no trusted key vouches for them */
        printf("UNTRUSTED %s: every file matches, but it is unsigned or signed by a key that is "
               "not trusted\n",
               pos[0]);
        cli_fail(st, "verify");
        return CLI_UNTRUSTED;
    }
    if (st != ECO_STATUS_OK) {
        printf("FAILED %s\n", pos[0]);
        return cli_fail(st, "verify");
    }
    printf("OK %s: every file matches, signed by key %s\n", pos[0], keyid);
    return CLI_OK;
}

int cmd_export(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("data-dir", true), CLI_OPT("out", true), CLI_OPT("trust-cache", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 1, &npos) != CLI_OK) return CLI_USAGE;
    if (npos != 1) return cli_usage_error("export: give a model id");
    if (!cli_get(o, n, "out")) return cli_usage_error("export: --out DIR is required");
    eco_registry *r = NULL;
    if (cli_registry_open_ro(cli_get(o, n, "data-dir"), cli_get(o, n, "trust-cache") != NULL, &r) !=
        CLI_OK)
        return CLI_FAIL;
    if (cli_registry_resolve(r, "export", &pos[0]) != CLI_OK) {
        eco_registry_close(r);
        return CLI_FAIL;
    }
    eco_status st = eco_registry_export(r, pos[0], cli_get(o, n, "out"));
    eco_registry_close(r);
    if (st != ECO_STATUS_OK) return cli_fail(st, "export");
    printf("%s\n", cli_get(o, n, "out"));
    return CLI_OK;
}
