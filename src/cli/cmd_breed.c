/* ecology breed --op NAME --parents ID,ID[,...] [--base ID] [--param K=V]... [--corpus FILE]...
 *     [--id NEW] [--sign-key KEY] [--json] [--data-dir D]
 * ecology breed --rerun ID [--corpus FILE]... [--out DIR] [--force] [--data-dir D]
 * An operator over registered parents (eco_breed): the child registered, signed, with its
 * lineage; parents a parameter operator refuses (compatibility) exit 3 with the reason.
 * --rerun breeds a registered child again from its recorded lineage and compares the bytes
 * (eco_breed_rerun): exit 0 the same, 1 different. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/breeder.h"
#include "ecology/registry.h"

#define MAX_PARAMS  64
#define MAX_CORPORA 64

/* One scalar of a --param value: true/false, an integer, a finite number, else a string. */
static json_t *param_scalar(const char *s, size_t len) {
    char buf[256];
    if (len < sizeof buf) {
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (strcmp(buf, "true") == 0) return json_true();
        if (strcmp(buf, "false") == 0) return json_false();
        char *end = NULL;
        errno = 0;
        long long iv = strtoll(buf, &end, 10);
        if (len > 0 && *end == '\0' && errno == 0) return json_integer((json_int_t)iv);
        errno = 0;
        double dv = strtod(buf, &end);
        if (len > 0 && *end == '\0' && errno == 0 && dv == dv && dv - dv == 0) return json_real(dv);
    }
    return json_stringn(s, len);
}

/* A --param value: JSON when it starts with [ { or "; a list when it holds a comma ("0.3,0.7";
 * "1," is a list of one); else one scalar. NULL (usage error printed) when it is neither. */
static json_t *param_value(const char *key, const char *v) {
    if (v[0] == '[' || v[0] == '{' || v[0] == '"') {
        json_error_t err;
        json_t *j = json_loads(v, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
        if (!j) cli_usage_error("option '--param': %s: not JSON: %s", key, err.text);
        return j;
    }
    if (!strchr(v, ',')) return param_scalar(v, strlen(v));
    json_t *a = json_array();
    for (const char *p = v; a && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 0) {
            json_decref(a);
            cli_usage_error("option '--param': %s: empty entry in '%s'", key, v);
            return NULL;
        }
        if (json_array_append_new(a, param_scalar(p, len))) {
            json_decref(a);
            return NULL;
        }
        p += len + (e ? 1 : 0);
    }
    return a;
}

/* Every --param K=V into one object (duplicates refused). NULL: usage error printed. */
static json_t *params_json(const char *const *vals, int n) {
    json_t *obj = json_object();
    for (int i = 0; obj && i < n; i++) {
        const char *eq = strchr(vals[i], '=');
        if (!eq || eq == vals[i]) {
            json_decref(obj);
            cli_usage_error("option '--param': '%s' is not K=V", vals[i]);
            return NULL;
        }
        char key[128];
        size_t kl = (size_t)(eq - vals[i]);
        if (kl >= sizeof key) {
            json_decref(obj);
            cli_usage_error("option '--param': key too long in '%s'", vals[i]);
            return NULL;
        }
        memcpy(key, vals[i], kl);
        key[kl] = '\0';
        if (json_object_get(obj, key)) {
            json_decref(obj);
            cli_usage_error("option '--param': '%s' given twice", key);
            return NULL;
        }
        json_t *v = param_value(key, eq + 1);
        if (!v || json_object_set_new(obj, key, v)) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

/* "A,B,C" split in place into at most max names (empty entries refused). */
static int split_ids(char *list, const char **ids, size_t max, size_t *n) {
    *n = 0;
    for (char *p = list, *e;; p = e + 1) {
        e = strchr(p, ',');
        if (e) *e = '\0';
        if (!*p) return cli_usage_error("option '--parents': empty id");
        if (*n == max) return cli_usage_error("option '--parents': more than %zu parents", max);
        ids[(*n)++] = p;
        if (!e) return CLI_OK;
    }
}

static int rerun(const cli_opt *o, int n, const char *const *corpora, size_t n_corpora) {
    if (cli_get(o, n, "op") || cli_get(o, n, "parents") || cli_get(o, n, "base") ||
        cli_get(o, n, "param") || cli_get(o, n, "id") || cli_get(o, n, "sign-key") ||
        cli_get(o, n, "json"))
        return cli_usage_error(
            "breed --rerun: takes only --corpus, --out, --force and --data-dir (the rest is "
            "recorded)");
    eco_registry *r = NULL;
    if (cli_registry_open(cli_get(o, n, "data-dir"), &r) != CLI_OK) return CLI_FAIL;
    eco_breed_rerun_report rep;
    const char *ref = cli_get(o, n, "rerun");
    eco_status st = eco_breed_rerun(r, ref, corpora, n_corpora, cli_get(o, n, "out"),
                                    cli_get(o, n, "force") != NULL, &rep);
    eco_registry_close(r);
    if (st) return cli_fail(st, "rerun");
    if (rep.same) {
        printf("rerun %s: the same bytes (%zu files)\n", ref, rep.n_files);
        return CLI_OK;
    }
    printf("rerun %s: differs: %s\n", ref, rep.first_diff);
    return CLI_FAIL;
}

int cli_breed_finish(eco_status st, const eco_breed_result *res, bool json,
                     const char *refused_what, const char *fail_what) {
    if (st == ECO_STATUS_OK && json) {
        char *text = NULL;
        size_t len = 0;
        if ((st = eco_genome_to_canonical(&res->genome, &text, &len)) == ECO_STATUS_OK)
            printf("%s\n", text);
        free(text);
    }
    if (st == ECO_STATUS_OK) return CLI_OK;
    if (res->refused) {
        fprintf(stderr, "ecology: %s: refused: %s\n", refused_what, res->reason);
        return CLI_REJECTED;
    }
    const int rc = cli_fail(st, fail_what);
    return st == ECO_STATUS_EINCOMPAT ? CLI_REJECTED : rc; /* a folder function's refusal */
}

int cmd_breed(int argc, char **argv) {
    const char *param_vals[MAX_PARAMS], *corpus_vals[MAX_CORPORA];
    cli_opt o[] = {CLI_OPT("op", true),       CLI_OPT("parents", true), CLI_OPT("base", true),
                   CLI_OPT("param", true),    CLI_OPT("corpus", true),  CLI_OPT("id", true),
                   CLI_OPT("sign-key", true), CLI_OPT("json", false),   CLI_OPT("data-dir", true),
                   CLI_OPT("rerun", true),    CLI_OPT("out", true),     CLI_OPT("force", false)};
    const int n = (int)(sizeof o / sizeof *o);
    o[3].repeated_ok = true;
    o[3].values = param_vals;
    o[3].max_values = MAX_PARAMS;
    o[4].repeated_ok = true;
    o[4].values = corpus_vals;
    o[4].max_values = MAX_CORPORA;
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const size_t n_corpora = (size_t)o[4].n_values;
    if (cli_get(o, n, "rerun")) return rerun(o, n, corpus_vals, n_corpora);
    if (cli_get(o, n, "out") || cli_get(o, n, "force"))
        return cli_usage_error("breed: --out and --force go with --rerun (a child is registered)");
    const char *op = cli_get(o, n, "op"), *plist = cli_get(o, n, "parents");
    if (!op) return cli_usage_error("breed: --op NAME is required (or --rerun ID)");
    if (!plist) return cli_usage_error("breed: --parents ID,ID[,...] is required");
    const eco_breeder_op *bop = NULL;
    if (eco_breeder_op_find(op, &bop) != ECO_STATUS_OK)
        return cli_usage_error("option '--op': %s", eco_last_error());
    char *list = strdup(plist);
    if (!list) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "breed");
    const char *ids[ECO_BREEDER_MAX_INPUTS];
    size_t nids = 0;
    json_t *params = NULL;
    int rc = split_ids(list, ids, ECO_BREEDER_MAX_INPUTS - 1, &nids);
    if (rc == CLI_OK && !(params = params_json(param_vals, o[3].n_values))) rc = CLI_USAGE;
    if (rc != CLI_OK) {
        free(list);
        return CLI_USAGE;
    }
    eco_registry *r = NULL;
    if (cli_registry_open(cli_get(o, n, "data-dir"), &r) != CLI_OK) {
        free(list);
        json_decref(params);
        return CLI_FAIL;
    }
    eco_breed_options bo = {.op = op,
                            .parents = ids,
                            .n_parents = nids,
                            .base = cli_get(o, n, "base"),
                            .params = params,
                            .corpora = corpus_vals,
                            .n_corpora = n_corpora,
                            .id = cli_get(o, n, "id"),
                            .sign_key = cli_get(o, n, "sign-key"),
                            .progress = true};
    eco_breed_result res;
    eco_status st = eco_breed(r, &bo, &res);
    for (size_t i = 0; st == ECO_STATUS_OK && i < n_corpora; i++) /* issue 19: for the */
        cli_record_training_file(r, corpus_vals[i], &res.genome); /* contamination rule */
    const bool json = cli_get(o, n, "json") != NULL;
    if (st == ECO_STATUS_OK && !json) {
        printf("breed %s: registered %s (%s, %s", op, res.id, eco_genome_kind_str(res.genome.kind),
               bo.sign_key ? "signed" : "unsigned");
        printf("; parents");
        for (size_t i = 0; i < res.genome.n_parents; i++)
            printf("%s%s", i ? ", " : " ", res.genome.parents[i]);
        printf(")\n");
    }
    char what[160];
    snprintf(what, sizeof what, "breed %s", op);
    rc = cli_breed_finish(st, &res, json, what, "breed");
    eco_breed_result_free(&res);
    eco_registry_close(r);
    json_decref(params);
    free(list);
    return rc;
}
