/* ecology tokenizer train --corpus FILE[,FILE...] --vocab N [--min-frequency F]
 *                        [--special TOKEN]... [--bos TOKEN] --out FILE [--force]
 *                        [--threads N] [--json]
 *     a byte-level BPE tokenizer trained on the corpus files (eco_bpe_train_files), written
 *     atomically as a tokenizer.json; an existing FILE is replaced only with --force; the
 *     folder of FILE is made when missing. Progress on stderr; a summary line (or --json)
 *     on stdout.
 * The `tokenizer` group dispatches on its subcommand through one table. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "ecology/tokenizer_train.h"

enum { MAX_SPECIALS = 256, MAX_FILES = 1024 };

/* "a,b,c" into files (pointers into a copy the caller frees); usage error on an empty name. */
static int split_files(const char *list, char **copy, const char **files, size_t *n) {
    *n = 0;
    *copy = eco_strdup(list);
    if (!*copy) return cli_usage_error("option '--corpus': out of memory");
    char *s = *copy;
    for (;;) {
        char *end = strchr(s, ',');
        if (end) *end = '\0';
        if (!*s) return cli_usage_error("option '--corpus': '%s' has an empty file name", list);
        if (*n == MAX_FILES)
            return cli_usage_error("option '--corpus': more than %d files", MAX_FILES);
        files[(*n)++] = s;
        if (!end) return CLI_OK;
        s = end + 1;
    }
}

static int tokenizer_train(int argc, char **argv) {
    const char *specials[MAX_SPECIALS];
    cli_opt o[] = {
        CLI_OPT("corpus", true),  CLI_OPT("vocab", true),   CLI_OPT("min-frequency", true),
        CLI_OPT("special", true), CLI_OPT("bos", true),     CLI_OPT("out", true),
        CLI_OPT("force", false),  CLI_OPT("threads", true), CLI_OPT("json", false)};
    const int n_opts = (int)(sizeof o / sizeof *o);
    o[3].repeated_ok = true;
    o[3].values = specials;
    o[3].max_values = MAX_SPECIALS;
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n_opts, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *corpus = cli_get(o, n_opts, "corpus"), *vocab_s = cli_get(o, n_opts, "vocab");
    const char *out = cli_get(o, n_opts, "out"), *s;
    if (!corpus) return cli_usage_error("tokenizer train: --corpus FILE[,FILE...] is required");
    if (!vocab_s) return cli_usage_error("tokenizer train: --vocab N is required");
    if (!out) return cli_usage_error("tokenizer train: --out FILE is required");
    int64_t v;
    eco_bpe_train_options opt = {.specials = specials,
                                 .n_specials = (size_t)o[3].n_values,
                                 .bos = cli_get(o, n_opts, "bos"),
                                 .progress = true};
    if (cli_parse_int("vocab", vocab_s, 1, ECO_BPE_TRAIN_MAX_VOCAB, &v) != CLI_OK) return CLI_USAGE;
    opt.vocab_size = v;
    if ((s = cli_get(o, n_opts, "min-frequency")) &&
        cli_parse_u64("min-frequency", s, &opt.min_frequency) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n_opts, "threads"))) {
        if (cli_parse_int("threads", s, 1, ECO_MAX_THREADS, &v) != CLI_OK) return CLI_USAGE;
        opt.threads = (int)v;
    }
    for (size_t i = 0; i < opt.n_specials; i++)
        if (!specials[i][0]) return cli_usage_error("option '--special': an empty token");
    if (opt.bos && !opt.bos[0]) return cli_usage_error("option '--bos': an empty token");
    size_t n_sp = opt.n_specials + 1;
    for (size_t i = 0; opt.bos && i < opt.n_specials; i++)
        if (strcmp(specials[i], opt.bos) == 0) n_sp = opt.n_specials;
    if (!opt.bos) n_sp = opt.n_specials;
    if (opt.vocab_size < (int64_t)n_sp + 256)
        return cli_usage_error("option '--vocab': %lld is below %zu (%zu special token(s) and the "
                               "256 byte tokens)",
                               (long long)opt.vocab_size, n_sp + 256, n_sp);
    const char *files[MAX_FILES];
    size_t n_files;
    char *copy = NULL;
    if (split_files(corpus, &copy, files, &n_files) != CLI_OK) {
        free(copy);
        return CLI_USAGE;
    }
    int rc = CLI_OK;
    struct stat so;
    if (eco_path_is_dir(out)) {
        fprintf(stderr, "ecology: tokenizer train: %s: is a folder; --out names the .json file\n",
                out);
        rc = CLI_FAIL;
    } else if (stat(out, &so) == 0 && !cli_get(o, n_opts, "force")) {
        fprintf(stderr, "ecology: tokenizer train: %s exists (use --force to replace it)\n", out);
        rc = CLI_FAIL;
    }
    if (rc == CLI_OK) {
        const char *slash = strrchr(out, '/');
        if (slash && slash != out) {
            char *dir = eco_bytes_dup(out, (size_t)(slash - out));
            eco_status st = dir ? eco_mkdir_p(dir) : ECO_STATUS_ENOMEM;
            free(dir);
            if (st != ECO_STATUS_OK) rc = cli_fail(st, "tokenizer train");
        }
    }
    eco_bpe_train_stats stats;
    if (rc == CLI_OK) {
        eco_status st = eco_bpe_train_files(&opt, files, n_files, out, &stats);
        if (st != ECO_STATUS_OK) rc = cli_fail(st, "tokenizer train");
    }
    free(copy);
    if (rc != CLI_OK) return rc;
    if (cli_get(o, n_opts, "json")) {
        json_t *j =
            json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f}", "out", out, "bytes",
                      (json_int_t)stats.bytes, "lines", (json_int_t)stats.lines, "words",
                      (json_int_t)stats.words, "word_total", (json_int_t)stats.word_total, "merges",
                      (json_int_t)stats.merges, "vocab_size", (json_int_t)stats.vocab_size,
                      "count_seconds", stats.count_seconds, "merge_seconds", stats.merge_seconds);
        char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (txt) puts(txt);
        free(txt);
        json_decref(j);
    } else {
        printf("%s: %lld tokens (%lld merges) from %lld bytes, %lld lines, %lld distinct words; "
               "counting %.2f s, merging %.2f s\n",
               out, (long long)stats.vocab_size, (long long)stats.merges, (long long)stats.bytes,
               (long long)stats.lines, (long long)stats.words, stats.count_seconds,
               stats.merge_seconds);
    }
    return CLI_OK;
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} subcommands[] = {
    {"train", tokenizer_train},
};

int cmd_tokenizer(int argc, char **argv) {
    const size_t n = sizeof subcommands / sizeof *subcommands;
    if (argc < 3) return cli_usage_error("tokenizer: expected a subcommand (train)");
    for (size_t i = 0; i < n; i++)
        if (strcmp(argv[2], subcommands[i].name) == 0) return subcommands[i].run(argc, argv);
    return cli_usage_error("tokenizer: unknown subcommand '%s' (expected train)", argv[2]);
}
