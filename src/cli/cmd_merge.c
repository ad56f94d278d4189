/* ecology merge --method M [--base DIR] --parents DIR,DIR[,...] [--weights w,w,...]
 *     [--density d|d,d,...] [--lambda l] [--t t|t0,t1,...] [--gamma g] [--epsilon e]
 *     [--election sum|count] [--rescale inverse|l1] [--rank r] [--seed s]
 *     [--normalize true|false] [--shard-bytes N] --out DIR [--force]
 * Parameter merges of plain model or adapter folders (eco_merge_dir), no registry needed.
 * Parents whose compatibility identity differs are refused with exit status 3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "ecology/merge_dir.h"

/* "a,b,c" into at most max doubles in [lo, hi]; usage error naming the flag. */
static int parse_list(const char *flag, const char *s, double lo, double hi, double *out, int max,
                      int *n) {
    *n = 0;
    char *copy = strdup(s);
    if (!copy) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "merge");
    int rc = CLI_OK;
    for (char *p = copy, *e;; p = e + 1) {
        e = strchr(p, ',');
        if (e) *e = '\0';
        if (*n >= max) {
            rc = cli_usage_error("option '--%s': more than %d values", flag, max);
            break;
        }
        if ((rc = cli_parse_float(flag, p, lo, hi, &out[(*n)++])) != CLI_OK) break;
        if (!e) break;
    }
    free(copy);
    return rc;
}

int cmd_merge(int argc, char **argv) {
    cli_opt o[] = {
        CLI_OPT("method", true),   CLI_OPT("base", true),        CLI_OPT("parents", true),
        CLI_OPT("weights", true),  CLI_OPT("density", true),     CLI_OPT("lambda", true),
        CLI_OPT("t", true),        CLI_OPT("gamma", true),       CLI_OPT("epsilon", true),
        CLI_OPT("election", true), CLI_OPT("rescale", true),     CLI_OPT("rank", true),
        CLI_OPT("seed", true),     CLI_OPT("normalize", true),   CLI_OPT("out", true),
        CLI_OPT("force", false),   CLI_OPT("shard-bytes", true), CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *method = cli_get(o, n, "method"), *parents = cli_get(o, n, "parents"),
               *out = cli_get(o, n, "out"), *s;
    if (!method) return cli_usage_error("merge: --method M is required");
    if (!parents) return cli_usage_error("merge: --parents DIR,DIR[,...] is required");
    if (!out) return cli_usage_error("merge: --out DIR is required");
    eco_merge_method m;
    if (eco_merge_method_parse(method, &m) != ECO_STATUS_OK)
        return cli_usage_error("option '--method': %s", eco_last_error());

    eco_merge_dir_options d = {0};
    eco_merge_params *p = &d.params;
    eco_merge_params_init(p, m);
    /* the parents: a comma list of folders (or registered names) */
    char *list = strdup(parents);
    const char *dirs[ECO_MERGE_MAX_PARENTS];
    size_t np = 0;
    if (!list) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "merge");
    int rc = CLI_OK;
    for (char *q = list, *e;; q = e + 1) {
        e = strchr(q, ',');
        if (e) *e = '\0';
        if (!*q) {
            rc = cli_usage_error("option '--parents': empty folder name in '%s'", parents);
            break;
        }
        if (np >= ECO_MERGE_MAX_PARENTS) {
            rc = cli_usage_error("option '--parents': more than %d parents", ECO_MERGE_MAX_PARENTS);
            break;
        }
        dirs[np++] = q;
        if (!e) break;
    }
    if (rc != CLI_OK) goto done;
    if (m == ECO_MERGE_METHOD_SLERP && np != 2) {
        rc = cli_usage_error("merge: slerp merges exactly 2 parents, %zu given", np);
        goto done;
    }
    p->n_parents = (int)np;
    int nw = 0;
    if ((s = cli_get(o, n, "weights"))) {
        if ((rc = parse_list("weights", s, -1e6, 1e6, p->weight, ECO_MERGE_MAX_PARENTS, &nw)))
            goto done;
        if ((size_t)nw != np) {
            rc = cli_usage_error("option '--weights': %d weights for %zu parents", nw, np);
            goto done;
        }
    } else if (m != ECO_MERGE_METHOD_SLERP) {
        rc =
            cli_usage_error("merge: --weights w,w,... is required for %s (one per parent)", method);
        goto done;
    }
    if ((s = cli_get(o, n, "density"))) {
        int nd = 0;
        if ((rc = parse_list("density", s, 0, 1, p->density, ECO_MERGE_MAX_PARENTS, &nd)))
            goto done;
        if (nd == 1)
            for (size_t i = 1; i < np; i++) p->density[i] = p->density[0];
        else if ((size_t)nd != np) {
            rc = cli_usage_error("option '--density': %d values for %zu parents (give 1 or %zu)",
                                 nd, np, np);
            goto done;
        }
    }
    if ((s = cli_get(o, n, "t"))) {
        if ((rc = parse_list("t", s, 0, 1, p->t, ECO_MERGE_MAX_T, &p->n_t))) goto done;
    } else if (m == ECO_MERGE_METHOD_SLERP) {
        rc = cli_usage_error("merge: --t t|t0,t1,... is required for slerp");
        goto done;
    }
    if (((s = cli_get(o, n, "lambda")) &&
         (rc = cli_parse_float("lambda", s, -1e6, 1e6, &p->lambda))) ||
        ((s = cli_get(o, n, "gamma")) && (rc = cli_parse_float("gamma", s, 0, 1, &p->gamma))) ||
        ((s = cli_get(o, n, "epsilon")) &&
         (rc = cli_parse_float("epsilon", s, 0, 1, &p->epsilon))) ||
        ((s = cli_get(o, n, "seed")) && (rc = cli_parse_u64("seed", s, &p->seed))))
        goto done;
    if ((s = cli_get(o, n, "election"))) {
        if (strcmp(s, "sum") == 0)
            p->election = ECO_MERGE_ELECTION_SUM;
        else if (strcmp(s, "count") == 0)
            p->election = ECO_MERGE_ELECTION_COUNT;
        else {
            rc = cli_usage_error("option '--election': '%s' is not sum or count", s);
            goto done;
        }
    }
    if ((s = cli_get(o, n, "rescale"))) {
        if (strcmp(s, "inverse") == 0)
            p->rescale = ECO_MERGE_RESCALE_INVERSE;
        else if (strcmp(s, "l1") == 0)
            p->rescale = ECO_MERGE_RESCALE_L1;
        else {
            rc = cli_usage_error("option '--rescale': '%s' is not inverse or l1", s);
            goto done;
        }
    }
    if ((s = cli_get(o, n, "normalize"))) {
        if (strcmp(s, "true") == 0)
            p->normalize = 1;
        else if (strcmp(s, "false") == 0)
            p->normalize = 0;
        else {
            rc = cli_usage_error("option '--normalize': '%s' is not true or false", s);
            goto done;
        }
    }
    int64_t iv;
    if ((s = cli_get(o, n, "rank"))) {
        if ((rc = cli_parse_int("rank", s, 1, 1 << 20, &iv))) goto done;
        d.rank = iv;
    }
    if ((s = cli_get(o, n, "shard-bytes"))) {
        if ((rc = cli_parse_int("shard-bytes", s, 1, INT64_MAX, &iv))) goto done;
        d.shard_bytes = (uint64_t)iv;
    }
    const char *base = cli_get(o, n, "base");
    bool adapters = false;
    /* names resolved now that the usage is right */
    const char *data_dir = cli_get(o, n, "data-dir");
    for (size_t i = 0; i < np; i++)
        if ((rc = cli_model_path(data_dir, "--parents", dirs[i], CLI_REF_ANY, &dirs[i]))) goto done;
    if (base && (rc = cli_model_path(data_dir, "--base", base, CLI_REF_MODEL, &base))) goto done;
    adapters = eco_path_has_file(dirs[0], "adapter_config.json");
    if (!adapters && !base && eco_merge_method_needs_base(m)) {
        rc = cli_usage_error("merge: --base DIR is required for %s on full models (the model the "
                             "parents were fine-tuned from)",
                             method);
        goto done;
    }
    if (eco_merge_params_check(p) != ECO_STATUS_OK) {
        rc = cli_usage_error("merge: %s", eco_last_error());
        goto done;
    }
    d.base = base;
    d.parents = dirs;
    d.n_parents = np;
    d.out = out;
    d.force = cli_get(o, n, "force") != NULL;
    d.progress = true;
    eco_merge_dir_report rep;
    eco_status st = eco_merge_dir(&d, &rep);
    if (st == ECO_STATUS_EINCOMPAT) {
        fprintf(stderr, "ecology: %s\n", eco_last_error());
        rc = CLI_REJECTED;
        goto done;
    }
    if (st != ECO_STATUS_OK) {
        rc = cli_fail(st, "merge");
        goto done;
    }
    if (rep.adapters)
        printf("%s: %s merge of %zu adapters, %lld modules at rank %lld (%s), relative "
               "truncation error %.3g\n",
               out, method, np, (long long)rep.n_tensors, (long long)rep.rank,
               rep.concatenated ? "concatenated, exact" : "truncated SVD", rep.rel_error);
    else
        printf("%s: %s merge of %zu models%s, %lld tensors, %.1f MB read, %.1f MB written in "
               "%.2f s\n",
               out, method, np, base ? " over a base" : "", (long long)rep.n_tensors,
               (double)rep.bytes_read / 1e6, (double)rep.bytes_written / 1e6, rep.seconds);
    eco_merge_dir_report_free(&rep);
done:
    free(list);
    return rc;
}
