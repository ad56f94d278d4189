/* ecology tasks list [--json]
 * ecology tasks generate --capability C --split train|eval --n N [--seed S]
 *     JSONL on stdout, one {"prompt":...,"completion":...} per line (what the trainer reads).
 * ecology tasks eval --model DIR [--adapter DIR] --capability C [--n N] [--seed S]
 *                   [--failures K] [--threads T] [--json]
 *     exact match on the held-out split (eco_tasks_eval) and the first K failures; --n is
 *     capped at the split's size (said on stderr; "n_requested" in JSON).
 * ecology tasks table ...: the base families side by side (cmd_tasks_table.c). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/engine.h"
#include "ecology/tasks.h"

/* Split sizes as text: "-" for capabilities generated from unbounded spaces. */
static int sizes(const eco_capability *cap, size_t *train, size_t *eval, bool *known) {
    *known = false;
    eco_status st = eco_tasks_split_size(cap, ECO_TASK_SPLIT_TRAIN, train);
    if (st == ECO_STATUS_EUNSUPPORTED) return CLI_OK;
    if (st == ECO_STATUS_OK) st = eco_tasks_split_size(cap, ECO_TASK_SPLIT_EVAL, eval);
    if (st != ECO_STATUS_OK) return cli_fail(st, "tasks list");
    *known = true;
    return CLI_OK;
}

static int tasks_list(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("json", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    bool json = cli_get(o, n, "json") != NULL;
    json_t *arr = json ? json_array() : NULL;
    if (json && !arr) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "tasks list");
    if (!json) printf("%-18s %7s %6s  %s\n", "CAPABILITY", "TRAIN", "EVAL", "DESCRIPTION");
    for (size_t i = 0; i < eco_tasks_count(); i++) {
        const eco_capability *cap = eco_tasks_get(i);
        size_t train = 0, eval = 0;
        bool known;
        if (sizes(cap, &train, &eval, &known) != CLI_OK) {
            json_decref(arr);
            return CLI_FAIL;
        }
        if (json) {
            json_t *v = json_pack(
                "{s:s, s:s, s:s, s:b, s:I}", "name", cap->name, "description", cap->description,
                "check", cap->check == ECO_TASK_CHECK_JSON ? "json" : "exact", "fixed",
                (int)cap->fixed, "max_completion_bytes", (json_int_t)cap->max_completion_bytes);
            if (v && known) {
                json_object_set_new(v, "train", json_integer((json_int_t)train));
                json_object_set_new(v, "eval", json_integer((json_int_t)eval));
            }
            if (v && cap->json_schema) {
                json_error_t err;
                json_t *schema = json_loads(cap->json_schema, 0, &err);
                if (schema) json_object_set_new(v, "json_schema", schema);
            }
            if (!v || json_array_append_new(arr, v) != 0) {
                json_decref(arr);
                return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "tasks list");
            }
        } else if (known) {
            printf("%-18s %7zu %6zu  %s\n", cap->name, train, eval, cap->description);
        } else {
            printf("%-18s %7s %6s  %s\n", cap->name, "-", "-", cap->description);
        }
    }
    if (json) {
        char *s = json_dumps(arr, JSON_COMPACT);
        json_decref(arr);
        if (!s) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "tasks list");
        puts(s);
        free(s);
    }
    return CLI_OK;
}

static int tasks_generate(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("capability", true), CLI_OPT("split", true), CLI_OPT("n", true),
                   CLI_OPT("seed", true)};
    const int n_opts = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n_opts, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *name = cli_get(o, n_opts, "capability"), *split_s = cli_get(o, n_opts, "split");
    const char *n_s = cli_get(o, n_opts, "n"), *seed_s = cli_get(o, n_opts, "seed");
    if (!name)
        return cli_usage_error(
            "tasks generate: --capability C is required (see 'ecology tasks list')");
    if (!split_s) return cli_usage_error("tasks generate: --split train|eval is required");
    if (!n_s) return cli_usage_error("tasks generate: --n N is required");
    const eco_capability *cap;
    if (eco_tasks_find(name, &cap) != ECO_STATUS_OK)
        return cli_usage_error("option '--capability': %s", eco_last_error());
    eco_task_split split;
    if (eco_task_split_parse(split_s, &split) != ECO_STATUS_OK)
        return cli_usage_error("option '--split': %s", eco_last_error());
    int64_t n;
    if (cli_parse_int("n", n_s, 1, (int64_t)ECO_TASKS_MAX_N, &n) != CLI_OK) return CLI_USAGE;
    uint64_t seed = 0;
    if (seed_s && cli_parse_u64("seed", seed_s, &seed) != CLI_OK) return CLI_USAGE;

    size_t unique;
    if (eco_tasks_split_size(cap, split, &unique) == ECO_STATUS_OK && (size_t)n > unique)
        fprintf(stderr,
                "ecology: tasks generate: %s has %zu unique %s items; --n %lld repeats them%s\n",
                cap->name, unique, split_s, (long long)n,
                cap->fixed ? " (reshuffled on each pass)" : "");
    eco_task_item *items;
    eco_status st = eco_tasks_generate(cap, split, (size_t)n, seed, &items);
    if (st != ECO_STATUS_OK) return cli_fail(st, "tasks generate");
    int rc = CLI_OK;
    for (size_t i = 0; i < (size_t)n && rc == CLI_OK; i++) {
        json_t *v =
            json_pack("{s:s, s:s}", "prompt", items[i].prompt, "completion", items[i].completion);
        char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
        if (!s || fputs(s, stdout) == EOF || fputc('\n', stdout) == EOF)
            rc = cli_fail(eco_error(ECO_STATUS_EIO, "item %zu: cannot write JSON to stdout", i),
                          "tasks generate");
        free(s);
        json_decref(v);
    }
    eco_task_items_free(items, (size_t)n);
    if (rc == CLI_OK && fflush(stdout) != 0)
        rc = cli_fail(eco_error(ECO_STATUS_EIO, "cannot write to stdout"), "tasks generate");
    return rc;
}

/* s[len] in double quotes, with newlines, tabs, quotes, backslashes and other control or
 * DEL bytes escaped (UTF-8 passes through), so a failure stays on one line. */
static void print_quoted(const char *s, size_t len) {
    putchar('"');
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n')
            fputs("\\n", stdout);
        else if (ch == '\t')
            fputs("\\t", stdout);
        else if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            printf("\\x%02x", ch); /* UTF-8 passes through */
        else
            putchar(ch);
    }
    putchar('"');
}

static void eval_progress(void *ctx, size_t done, size_t total) {
    ((eco_progress *)ctx)->total = (double)total; /* --n may have been capped at the split */
    eco_progress_update(ctx, (double)done);
}

static int tasks_eval(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("model", true),   CLI_OPT("adapter", true), CLI_OPT("capability", true),
                   CLI_OPT("n", true),       CLI_OPT("seed", true),    CLI_OPT("failures", true),
                   CLI_OPT("threads", true), CLI_OPT("json", false),   CLI_OPT("data-dir", true)};
    const int n_opts = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n_opts, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *model = cli_get(o, n_opts, "model"), *adapter = cli_get(o, n_opts, "adapter");
    const char *name = cli_get(o, n_opts, "capability"), *s;
    if (!model) return cli_usage_error("tasks eval: --model DIR is required");
    if (!name)
        return cli_usage_error("tasks eval: --capability C is required (see 'ecology tasks list')");
    const eco_capability *cap;
    if (eco_tasks_find(name, &cap) != ECO_STATUS_OK)
        return cli_usage_error("option '--capability': %s", eco_last_error());
    eco_tasks_eval_options opt;
    eco_tasks_eval_options_init(&opt);
    int64_t v;
    if ((s = cli_get(o, n_opts, "n"))) {
        if (cli_parse_int("n", s, 1, (int64_t)ECO_TASKS_MAX_N, &v) != CLI_OK) return CLI_USAGE;
        opt.n = (size_t)v;
    }
    if ((s = cli_get(o, n_opts, "seed")) && cli_parse_u64("seed", s, &opt.seed) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n_opts, "failures"))) {
        if (cli_parse_int("failures", s, 0, 1 << 20, &v) != CLI_OK) return CLI_USAGE;
        opt.max_failures = (size_t)v;
    }
    if ((s = cli_get(o, n_opts, "threads"))) {
        if (cli_parse_int("threads", s, 1, ECO_MAX_THREADS, &v) != CLI_OK) return CLI_USAGE;
        eco_set_threads((int)v);
    }
    bool json = cli_get(o, n_opts, "json") != NULL;

    if (cli_model_ref(o, n_opts, "model", &model) || cli_model_ref(o, n_opts, "adapter", &adapter))
        return CLI_FAIL;
    eco_engine *eng;
    eco_status st = eco_llama_engine_open_adapter(model, adapter, NULL, &eng);
    if (st != ECO_STATUS_OK) return cli_fail(st, "tasks eval");
    eco_progress prog;
    eco_progress_begin(&prog, cap->name, (double)opt.n, "items");
    opt.progress = eval_progress;
    opt.progress_ctx = &prog;
    eco_tasks_eval_report r;
    st = eco_tasks_eval(eng, cap, &opt, &r);
    eco_progress_end(&prog);
    if (st != ECO_STATUS_OK) {
        eco_engine_destroy(eng);
        return cli_fail(st, "tasks eval");
    }
    int rc = CLI_OK;
    const char *id = eng->genome(eng)->id;
    if (r.n < r.n_requested)
        fprintf(stderr, "ecology: tasks eval: %s has %zu held-out items; --n %zu capped at %zu\n",
                r.capability, r.n, r.n_requested, r.n);
    if (json) {
        /* The id comes from the folder's name: bytes that are not UTF-8 become U+FFFD. */
        json_t *root = json_pack("{s:o, s:s, s:I, s:I, s:I, s:f}", "model",
                                 cli_json_text(id, strlen(id)), "capability", r.capability, "n",
                                 (json_int_t)r.n, "n_requested", (json_int_t)r.n_requested,
                                 "correct", (json_int_t)r.correct, "accuracy", r.accuracy);
        json_t *fails = json_array();
        for (size_t i = 0; root && fails && i < r.n_failures; i++) {
            const eco_tasks_eval_failure *f = &r.failures[i];
            json_t *fo = json_pack("{s:I, s:o, s:o, s:o}", "index", (json_int_t)f->index, "prompt",
                                   cli_json_text(f->prompt, strlen(f->prompt)), "expected",
                                   cli_json_text(f->expected, strlen(f->expected)), "got",
                                   cli_json_text(f->got, f->got_len));
            if (fo) json_array_append_new(fails, fo);
        }
        char *out = NULL;
        if (root && fails && json_object_set_new(root, "failures", fails) == 0) {
            fails = NULL;
            out = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
        }
        json_decref(fails);
        json_decref(root);
        if (out)
            puts(out);
        else
            rc = cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "tasks eval");
        free(out);
    } else {
        printf("%s on %s: %zu/%zu exact match (%.1f%%)\n", id, r.capability, r.correct, r.n,
               100.0 * r.accuracy);
        if (r.n_failures)
            printf("first %zu failure%s:\n", r.n_failures, r.n_failures == 1 ? "" : "s");
        for (size_t i = 0; i < r.n_failures; i++) {
            const eco_tasks_eval_failure *f = &r.failures[i];
            printf("  #%zu prompt:   ", f->index);
            print_quoted(f->prompt, strlen(f->prompt));
            printf("\n     expected: ");
            print_quoted(f->expected, strlen(f->expected));
            printf("\n     got:      ");
            print_quoted(f->got, f->got_len);
            putchar('\n');
        }
    }
    eco_tasks_eval_report_free(&r);
    eco_engine_destroy(eng);
    return rc;
}

int cmd_tasks(int argc, char **argv) {
    if (argc < 3)
        return cli_usage_error("tasks: expected a subcommand (list, generate, eval, table)");
    if (strcmp(argv[2], "list") == 0) return tasks_list(argc, argv);
    if (strcmp(argv[2], "generate") == 0) return tasks_generate(argc, argv);
    if (strcmp(argv[2], "eval") == 0) return tasks_eval(argc, argv);
    if (strcmp(argv[2], "table") == 0) return cli_tasks_table(argc, argv);
    return cli_usage_error("tasks: unknown subcommand '%s' (expected list, generate, eval, table)",
                           argv[2]);
}
