/* ecology corpus build [--capability C[,C...]] --n N --seed S [--shift] [--safety]
 *                      --out FILE [--force]
 *     an evaluation corpus (JSONL, include/ecology/eval_corpus.h's format) from the
 *     capability suite (eco_tasks_corpus_build), written atomically; an existing FILE is
 *     replaced only with --force. A part shorter than asked (its space has fewer distinct
 *     held-out prompts) is said on stderr.
 * ecology corpus add FILE [--hidden] [--name NAME] [--kind eval|train] [--data-dir D]
 *     stores FILE in the artifact store and records it in the registry (eco_registry_corpus_add):
 *     an evaluation corpus (eval_corpus.h; identity the SHA-256 of its bytes; may be hidden)
 *     or a training corpus (data.h; identity its canonical-content SHA-256, the hash genomes
 *     name). Without --kind the file is read as an evaluation corpus, then as a training
 *     corpus. The same corpus again: a no-op that says so.
 * ecology corpus list [--json] [--data-dir D]     every recorded corpus
 * ecology corpus deny SHA256 [--reason TEXT] [--data-dir D]
 *     puts a corpus hash on the deny list: no model whose lineage names it passes the artifact
 *     checks (verifier.h).
 * The `corpus` group dispatches on its subcommand through one table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli.h"
#include "ecology/data.h"
#include "ecology/eval_corpus.h"
#include "ecology/registry.h"
#include "ecology/tasks.h"

enum { MAX_CAPS = 64 };

static int corpus_build(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("capability", true), CLI_OPT("n", true),       CLI_OPT("seed", true),
                   CLI_OPT("shift", false),     CLI_OPT("safety", false), CLI_OPT("out", true),
                   CLI_OPT("force", false)};
    const int n_opts = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n_opts, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *list = cli_get(o, n_opts, "capability"), *n_s = cli_get(o, n_opts, "n");
    const char *seed_s = cli_get(o, n_opts, "seed"), *out = cli_get(o, n_opts, "out");
    eco_tasks_corpus_options opt = {.shift = cli_get(o, n_opts, "shift") != NULL,
                                    .safety = cli_get(o, n_opts, "safety") != NULL};
    if (!list && !opt.safety)
        return cli_usage_error("corpus build: --capability C[,C...] or --safety is required");
    if (!n_s) return cli_usage_error("corpus build: --n N is required");
    if (!seed_s) return cli_usage_error("corpus build: --seed S is required");
    if (!out) return cli_usage_error("corpus build: --out FILE is required");
    const eco_capability *caps[MAX_CAPS];
    if (list && cli_parse_capabilities("capability", list, caps, MAX_CAPS, &opt.n_caps) != CLI_OK)
        return CLI_USAGE;
    opt.caps = caps;
    int64_t n;
    if (cli_parse_int("n", n_s, 1, ECO_TASKS_CORPUS_MAX_N, &n) != CLI_OK) return CLI_USAGE;
    opt.n = (size_t)n;
    if (cli_parse_u64("seed", seed_s, &opt.seed) != CLI_OK) return CLI_USAGE;

    if (eco_path_is_dir(out)) {
        fprintf(stderr, "ecology: corpus build: %s: is a folder; --out names the .jsonl file\n",
                out);
        return CLI_FAIL;
    }
    struct stat so;
    if (stat(out, &so) == 0 && !cli_get(o, n_opts, "force")) {
        fprintf(stderr, "ecology: corpus build: %s exists (use --force to replace it)\n", out);
        return CLI_FAIL;
    }
    eco_tasks_corpus c;
    eco_status st = eco_tasks_corpus_build(&opt, &c);
    if (st != ECO_STATUS_OK) return cli_fail(st, "corpus build");
    eco_buf text = {0};
    st = eco_tasks_corpus_write(&c, &text);
    char hex[ECO_SHA256_HEX_LEN + 1] = "";
    if (st == ECO_STATUS_OK) st = eco_sha256_hex(text.data ? text.data : "", text.len, hex);
    if (st == ECO_STATUS_OK) st = eco_write_file_atomic(out, text.data ? text.data : "", text.len);
    eco_buf_free(&text);
    if (st != ECO_STATUS_OK) {
        eco_tasks_corpus_free(&c);
        return cli_fail(st, "corpus build");
    }
    for (size_t i = 0; i < c.n_parts; i++) {
        const eco_tasks_corpus_part *p = &c.parts[i];
        const char *unit = strcmp(p->kind, "safety-pair") == 0 ? "pairs" : "cases";
        if (p->n < p->n_requested)
            fprintf(stderr,
                    "ecology: corpus build: %s (%s): %zu distinct held-out %s, fewer than --n "
                    "%zu\n",
                    p->name, p->kind, p->n, unit, p->n_requested);
        printf("%-18s %-16s %6zu %s\n", p->name, p->kind, p->n, unit);
    }
    printf("%s: %zu cases, sha256 %s\n", out, c.n_cases, hex);
    eco_tasks_corpus_free(&c);
    return CLI_OK;
}

/* FILE read as kind (or, with no kind, as an evaluation corpus, then a training one): the
 * identity and count into info. Both readers' messages when neither accepts it. */
static eco_status corpus_identify(const char *path, const char *kind_s, eco_corpus_info *info) {
    eco_corpus_kind kind = ECO_CORPUS_EVAL;
    if (kind_s && eco_corpus_kind_parse(kind_s, &kind) != ECO_STATUS_OK) return ECO_STATUS_EINVAL;
    char eval_msg[240] = "";
    eco_status st = ECO_STATUS_OK;
    if (!kind_s || kind == ECO_CORPUS_EVAL) {
        eco_eval_corpus *c = NULL;
        if ((st = eco_eval_corpus_load(path, &c)) == ECO_STATUS_OK) {
            info->kind = ECO_CORPUS_EVAL;
            memcpy(info->sha256, c->sha256_hex, sizeof info->sha256);
            info->count = (int64_t)c->n_cases;
            eco_eval_corpus_free(c);
            return ECO_STATUS_OK;
        }
        if (kind_s || st == ECO_STATUS_ENOTFOUND || st == ECO_STATUS_EIO) return st;
        snprintf(eval_msg, sizeof eval_msg, "%s", eco_last_error());
    }
    eco_data_corpus *d = NULL;
    eco_status dst = eco_data_corpus_load(path, &d);
    if (dst == ECO_STATUS_OK) {
        info->kind = ECO_CORPUS_TRAIN;
        memcpy(info->sha256, d->sha256_hex, sizeof info->sha256);
        info->count = (int64_t)d->n_records;
        eco_data_corpus_free(d);
        return ECO_STATUS_OK;
    }
    if (kind_s) return dst;
    char train_msg[240];
    snprintf(train_msg, sizeof train_msg, "%s", eco_last_error());
    return eco_error(st ? st : dst,
                     "%s: neither an evaluation corpus (%s) nor a training corpus (%s)", path,
                     eval_msg, train_msg);
}

static int corpus_add(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("hidden", false), CLI_OPT("name", true), CLI_OPT("kind", true),
                   CLI_OPT("data-dir", true)};
    const int n_opts = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n_opts, pos, 1, &npos) != CLI_OK) return CLI_USAGE;
    if (npos != 1) return cli_usage_error("corpus add: give one corpus FILE");
    const char *kind_s = cli_get(o, n_opts, "kind"), *name = cli_get(o, n_opts, "name");
    eco_corpus_kind kind;
    if (kind_s && eco_corpus_kind_parse(kind_s, &kind) != ECO_STATUS_OK)
        return cli_usage_error("corpus add: --kind '%s': expected eval or train", kind_s);
    bool hidden = cli_get(o, n_opts, "hidden") != NULL;
    if (hidden && kind_s && kind == ECO_CORPUS_TRAIN)
        return cli_usage_error("corpus add: --hidden is for evaluation corpora, not --kind train");
    if (name && (!*name || strlen(name) > 128))
        return cli_usage_error("corpus add: --name: 1..128 bytes");
    eco_corpus_info in = {.hidden = hidden, .name = (char *)name}, rec = {0};
    eco_status st = corpus_identify(pos[0], kind_s, &in);
    if (st != ECO_STATUS_OK) return cli_fail(st, "corpus add");
    if (hidden && in.kind == ECO_CORPUS_TRAIN)
        return cli_fail(eco_error(ECO_STATUS_EINVAL,
                                  "%s: a training corpus cannot be hidden (hidden corpora are "
                                  "evaluation corpora)",
                                  pos[0]),
                        "corpus add");
    eco_registry *r = NULL;
    if (cli_registry_open(cli_get(o, n_opts, "data-dir"), &r) != CLI_OK) return CLI_FAIL;
    bool created = false;
    st = eco_registry_corpus_add(r, pos[0], &in, &created, &rec);
    eco_registry_close(r);
    if (st != ECO_STATUS_OK) return cli_fail(st, "corpus add");
    const char *unit = rec.kind == ECO_CORPUS_EVAL ? "cases" : "records";
    if (created)
        printf("added %s corpus %s (%lld %s%s)%s%s\n", eco_corpus_kind_str(rec.kind), rec.sha256,
               (long long)rec.count, unit, rec.hidden ? ", hidden" : "", rec.name ? ": " : "",
               rec.name ? rec.name : "");
    else
        printf("%s corpus %s is already recorded (%lld %s%s, added %s): nothing to do\n",
               eco_corpus_kind_str(rec.kind), rec.sha256, (long long)rec.count, unit,
               rec.hidden ? ", hidden" : "", rec.added_at ? rec.added_at : "?");
    eco_corpus_info_free(&rec);
    return CLI_OK;
}

static int corpus_list(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("json", false), CLI_OPT("data-dir", true)};
    const int n_opts = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n_opts, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    eco_registry *r = NULL;
    if (cli_registry_open_ro(cli_get(o, n_opts, "data-dir"), false, &r) != CLI_OK) return CLI_FAIL;
    eco_corpus_info *c = NULL;
    size_t n = 0;
    eco_status st = eco_registry_corpus_list(r, &c, &n);
    eco_registry_close(r);
    if (st != ECO_STATUS_OK) return cli_fail(st, "corpus list");
    int rc = CLI_OK;
    if (cli_get(o, n_opts, "json")) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++) {
            json_t *e = json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:s?,s:s}", "sha256", c[i].sha256,
                                  "object", c[i].object, "kind", eco_corpus_kind_str(c[i].kind),
                                  "hidden", c[i].hidden, "count", (json_int_t)c[i].count, "size",
                                  (json_int_t)c[i].size, "name", c[i].name, "added_at",
                                  c[i].added_at ? c[i].added_at : "");
            if (!e || json_array_append_new(arr, e) != 0) {
                json_decref(arr);
                arr = NULL;
            }
        }
        char *text = NULL;
        if (arr && eco_json_canonical(arr, &text, NULL) == ECO_STATUS_OK)
            printf("%s\n", text);
        else
            rc = cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "corpus list");
        free(text);
        json_decref(arr);
    } else {
        printf("%-64s %-5s %-6s %8s %-20s %s\n", "SHA256", "KIND", "HIDDEN", "COUNT", "ADDED",
               "NAME");
        for (size_t i = 0; i < n; i++)
            printf("%-64s %-5s %-6s %8lld %-20s %s\n", c[i].sha256, eco_corpus_kind_str(c[i].kind),
                   c[i].hidden ? "yes" : "no", (long long)c[i].count,
                   c[i].added_at ? c[i].added_at : "", c[i].name ? c[i].name : "-");
    }
    eco_corpus_infos_free(c, n);
    return rc;
}

static int corpus_deny(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("reason", true), CLI_OPT("data-dir", true)};
    const int n_opts = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n_opts, pos, 1, &npos) != CLI_OK) return CLI_USAGE;
    if (npos != 1) return cli_usage_error("corpus deny: give one corpus SHA-256");
    const char *h = pos[0];
    if (!eco_hex_is_lower(h, strlen(h), ECO_SHA256_HEX_LEN))
        return cli_usage_error("corpus deny: '%s' is not a SHA-256 (64 lower-case hex)", h);
    const char *reason = cli_get(o, n_opts, "reason");
    if (reason && (!*reason || strlen(reason) > 1024))
        return cli_usage_error("corpus deny: --reason: 1..1024 bytes");
    eco_registry *r = NULL;
    if (cli_registry_open(cli_get(o, n_opts, "data-dir"), &r) != CLI_OK) return CLI_FAIL;
    bool created = false;
    eco_status st = eco_registry_corpus_deny(r, h, reason, &created);
    eco_registry_close(r);
    if (st != ECO_STATUS_OK) return cli_fail(st, "corpus deny");
    printf(created ? "corpus %s is on the deny list\n"
                   : "corpus %s is already on the deny list: nothing to do\n",
           h);
    return CLI_OK;
}

void cli_record_training_file(eco_registry *r, const char *path, const eco_genome *g) {
    struct stat sb;
    eco_data_corpus *d = NULL;
    if (!path || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) ||
        eco_data_corpus_load(path, &d) != ECO_STATUS_OK)
        return;
    bool named = false;
    for (size_t i = 0; i < g->n_corpora; i++) named |= strcmp(g->corpora[i], d->sha256_hex) == 0;
    eco_corpus_info in = {.kind = ECO_CORPUS_TRAIN, .count = (int64_t)d->n_records};
    memcpy(in.sha256, d->sha256_hex, sizeof in.sha256);
    if (named && eco_registry_corpus_add(r, path, &in, NULL, NULL) != ECO_STATUS_OK)
        fprintf(stderr, "ecology: warning: training corpus %s not recorded: %s\n", path,
                eco_last_error());
    eco_data_corpus_free(d);
}

void cli_record_training_corpus(eco_registry *r, const char *dir, const eco_genome *g) {
    char *tj = eco_path_join(dir, "training.json");
    json_t *root = tj ? json_load_file(tj, 0, NULL) : NULL;
    free(tj);
    cli_record_training_file(r,
                             json_string_value(json_object_get(
                                 json_object_get(json_object_get(root, "run"), "data"), "path")),
                             g);
    json_decref(root);
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} subcommands[] = {
    {"build", corpus_build},
    {"add", corpus_add},
    {"list", corpus_list},
    {"deny", corpus_deny},
};

int cmd_corpus(int argc, char **argv) {
    const size_t n = sizeof subcommands / sizeof *subcommands;
    char names[128] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
                 subcommands[i].name);
    if (argc < 3) return cli_usage_error("corpus: expected a subcommand (%s)", names);
    for (size_t i = 0; i < n; i++)
        if (strcmp(argv[2], subcommands[i].name) == 0) return subcommands[i].run(argc, argv);
    return cli_usage_error("corpus: unknown subcommand '%s' (expected %s)", argv[2], names);
}
