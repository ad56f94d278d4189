/* ecology corpus build [--capability C[,C...]] --n N --seed S [--shift] [--safety]
 *                      --out FILE [--force]
 *     an evaluation corpus (JSONL, include/ecology/eval_corpus.h's format) from the
 *     capability suite (eco_tasks_corpus_build), written atomically; an existing FILE is
 *     replaced only with --force. A part shorter than asked (its space has fewer distinct
 *     held-out prompts) is said on stderr.
 * The `corpus` group dispatches on its subcommand through one table, so that `add` and
 * `list` join it as rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "ecology/tasks.h"

enum { MAX_CAPS = 64 };

/* "a,b,c" into distinct capabilities; usage error naming --capability otherwise. */
static int parse_caps(const char *list, const eco_capability **caps, size_t *n) {
    *n = 0;
    const char *s = list;
    for (;;) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        char name[160];
        if (len == 0 || len >= sizeof name)
            return cli_usage_error("option '--capability': '%s' is not a list of capability names",
                                   list);
        memcpy(name, s, len);
        name[len] = '\0';
        const eco_capability *cap;
        if (eco_tasks_find(name, &cap) != ECO_STATUS_OK)
            return cli_usage_error("option '--capability': %s", eco_last_error());
        for (size_t i = 0; i < *n; i++)
            if (caps[i] == cap)
                return cli_usage_error("option '--capability': %s is named twice", name);
        if (*n == MAX_CAPS) return cli_usage_error("option '--capability': too many names");
        caps[(*n)++] = cap;
        if (!end) return CLI_OK;
        s = end + 1;
    }
}

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
    if (list && parse_caps(list, caps, &opt.n_caps) != CLI_OK) return CLI_USAGE;
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

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} subcommands[] = {
    {"build", corpus_build},
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
