/* Models by name: a --model/--adapter/--teacher/--student value (or inspect's PATH) may name a
 * registered model by id or alias ("champion", "sentiment@champion") instead of a folder.
 *
 * A path to an existing folder always wins. A value that is not an existing path and is a
 * valid model id is looked up in the registry of the data folder (--data-dir D, else
 * $ECOLOGY_DATA, else ./ecology-data) and replaced by the folder of its verified checkout
 * (eco_registry_checkout: every object verified, with the store's trust cache). Anything
 * else (a file, a path that does not exist) is left for the loader, whose message names it.
 *
 * The folders found here are kept until the process exits (released at exit), so a
 * command's option table can point at them like at argv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "ecology/registry.h"

static char **kept; /* [n_kept] resolved folders, malloc'd, freed at exit */
static size_t n_kept;

static void release_kept(void) {
    for (size_t i = 0; i < n_kept; i++) free(kept[i]);
    free(kept);
    kept = NULL;
    n_kept = 0;
}

/* Takes ownership of s; returns it (NULL when it could not be kept: s is freed). */
static const char *keep(char *s) {
    if (!kept) atexit(release_kept);
    char **grown = realloc(kept, (n_kept + 1) * sizeof *kept);
    if (!grown) {
        free(s);
        return NULL;
    }
    kept = grown;
    kept[n_kept++] = s;
    return s;
}

/* Whether the data folder holds a registry (so that a lookup can say so when it does not). */
static bool registry_present(const char *data_dir, char **resolved) {
    *resolved = eco_data_dir_resolve(data_dir);
    char *db = *resolved ? eco_path_join(*resolved, ECO_REGISTRY_DB_FILE) : NULL;
    struct stat sb;
    bool ok = db && stat(db, &sb) == 0;
    free(db);
    return ok;
}

int cli_model_path(const char *data_dir, const char *flag, const char *ref, cli_ref_kind want,
                   const char **out) {
    *out = ref;
    struct stat sb;
    if (!ref || stat(ref, &sb) == 0 || !eco_model_id_ok(ref))
        return CLI_OK; /* a path: the loader's */
    char *dir = NULL;
    if (!registry_present(data_dir, &dir)) {
        fprintf(stderr,
                "ecology: %s '%s': no such folder, and no registry in %s to look it up in\n", flag,
                ref, dir ? dir : "(out of memory)");
        free(dir);
        return CLI_FAIL;
    }
    free(dir);
    eco_registry *r = NULL;
    if (cli_registry_open_opts(data_dir, true, &r) != CLI_OK) return CLI_FAIL;
    char *path = NULL;
    eco_genome g = {0};
    eco_status st = eco_registry_checkout(r, ref, &path, &g);
    eco_registry_close(r);
    int rc = CLI_OK;
    char what[160];
    snprintf(what, sizeof what, "%s '%s'", flag, ref);
    if (st != ECO_STATUS_OK) {
        rc = cli_fail(st, what);
    } else if (g.kind == ECO_GENOME_KIND_REMOTE) {
        fprintf(stderr,
                "ecology: %s: model '%s' is a remote model (no files here): the runtime pool "
                "opens it (ecology route, ecology eval, ecology serve, the loop)\n",
                what, g.id);
        rc = CLI_FAIL;
    } else if (want == CLI_REF_ADAPTER && g.kind != ECO_GENOME_KIND_ADAPTER) {
        fprintf(stderr, "ecology: %s: model '%s' is a %s model, not an adapter\n", what, g.id,
                eco_genome_kind_str(g.kind));
        rc = CLI_FAIL;
    } else if (want == CLI_REF_MODEL && g.kind == ECO_GENOME_KIND_ADAPTER) {
        fprintf(
            stderr,
            "ecology: %s: model '%s' is an adapter, not a model (an adapter goes with --adapter)\n",
            what, g.id);
        rc = CLI_FAIL;
    } else {
        const char *kept_path = keep(path); /* owns path now, even when it fails */
        path = NULL;
        if (kept_path)
            *out = kept_path;
        else
            rc = cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), what);
    }
    free(path);
    eco_genome_free(&g);
    if (rc != CLI_OK) *out = ref;
    return rc;
}

int cli_model_ref(cli_opt *o, int n, const char *name, const char **value) {
    for (int i = 0; i < n; i++) {
        if (strcmp(o[i].name, name) != 0 || !o[i].value) continue;
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", name);
        cli_ref_kind want = strcmp(name, "adapter") == 0 ? CLI_REF_ADAPTER : CLI_REF_MODEL;
        int rc = cli_model_path(cli_get(o, n, "data-dir"), flag, o[i].value, want, &o[i].value);
        if (value) *value = o[i].value;
        return rc;
    }
    if (value) *value = NULL;
    return CLI_OK;
}

int cli_registry_resolve(eco_registry *r, const char *what, const char **ref) {
    char *id = NULL;
    eco_status st = eco_registry_resolve(r, *ref, &id);
    if (st != ECO_STATUS_OK) return cli_fail(st, what);
    if (strcmp(id, *ref) == 0) {
        free(id);
        return CLI_OK;
    }
    const char *kept_id = keep(id);
    if (!kept_id) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), what);
    *ref = kept_id;
    return CLI_OK;
}
