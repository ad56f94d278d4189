/* Option parsing and error printing shared by the subcommands. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/contracts.h"
#include "ecology/tasks.h"

int cli_usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("ecology: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_USAGE;
}

/* true when msg starts with the n bytes of word followed by ':' or (colon_only false) ' '. */
static bool starts_with_word(const char *msg, const char *word, size_t n, bool colon_only) {
    return n > 0 && strncmp(msg, word, n) == 0 && (msg[n] == ':' || (!colon_only && msg[n] == ' '));
}

int cli_fail(eco_status st, const char *what) {
    const char *msg = eco_last_error();
    /* No doubled prefix: a library message that already starts with the command ("add: ...",
     * "registry open: ...") is printed as it is; one that starts with the command's last
     * word ("merge: ..." for "model merge") loses that word. */
    const char *last = strrchr(what, ' ');
    last = last ? last + 1 : what;
    if (starts_with_word(msg, what, strlen(what), false)) {
        fprintf(stderr, "ecology: %s (%s)\n", msg, eco_status_str(st));
        return CLI_FAIL;
    }
    if (last != what && starts_with_word(msg, last, strlen(last), true)) {
        msg += strlen(last) + 1;
        while (*msg == ' ') msg++;
    }
    fprintf(stderr, "ecology: %s: %s (%s)\n", what, msg, eco_status_str(st));
    return CLI_FAIL;
}

int cli_check_capability(const char *flag, const char *name) {
    const eco_capability *cap;
    if (eco_tasks_find(name, &cap) != ECO_STATUS_OK)
        return cli_usage_error("option '--%s': %s", flag, eco_last_error());
    return CLI_OK;
}

int cli_parse_capabilities(const char *flag, const char *list, const eco_capability **caps,
                           size_t max, size_t *n) {
    *n = 0;
    const char *s = list;
    for (;;) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        char name[160];
        if (len == 0 || len >= sizeof name)
            return cli_usage_error("option '--%s': '%s' is not a list of capability names", flag,
                                   list);
        memcpy(name, s, len);
        name[len] = '\0';
        const eco_capability *cap;
        if (eco_tasks_find(name, &cap) != ECO_STATUS_OK)
            return cli_usage_error("option '--%s': %s", flag, eco_last_error());
        for (size_t i = 0; i < *n; i++)
            if (caps[i] == cap)
                return cli_usage_error("option '--%s': %s is named twice", flag, name);
        if (*n == max) return cli_usage_error("option '--%s': too many names", flag);
        caps[(*n)++] = cap;
        if (!end) return CLI_OK;
        s = end + 1;
    }
}

static cli_opt *find_opt(cli_opt *opts, int n, const char *name, size_t len) {
    for (int i = 0; i < n; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0) return &opts[i];
    return NULL;
}

/* Options whose value names a file or folder: an empty value is refused (an empty
 * --data-dir would otherwise mean the default data folder, silently). */
static bool is_path_option(const char *name) {
    static const char *const paths[] = {"data-dir",    "model",    "adapter",    "out",
                                        "adapter-out", "data",     "tokenizer",  "file",
                                        "recipe",      "trusted",  "sign-key",   "teacher",
                                        "student",     "work-dir", "prompt-file"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        if (strcmp(name, paths[i]) == 0) return true;
    return false;
}

/* A programmer's error, said loudly on every run (and failed by tests/cli/test_help.sh):
 * an option that the command's usage text in usage.c does not mention. */
static void check_documented(int argc, char **argv, int start, const cli_opt *opts, int n_opts) {
    if (argc < 2 || start < 2 || start > 3 || (start == 3 && argc < 3)) return;
    const cli_usage *u = cli_usage_find(argv[1], start == 3 ? argv[2] : NULL);
    const char *missing = u ? cli_usage_missing_option(u, opts, n_opts) : NULL;
    if (missing)
        fprintf(stderr,
                "ecology: internal error: option '--%s' of '%s' is missing from its usage "
                "(src/cli/usage.c)\n",
                missing, u->cmd);
    /* main.c reads the synopsis to tell "--text -h" (a value) from "--json -h" (help) */
    for (int i = 0; u && !missing && i < n_opts; i++) {
        char flag[80];
        snprintf(flag, sizeof flag, "--%s", opts[i].name);
        if (cli_usage_takes_value(u, flag) != opts[i].takes_value)
            fprintf(stderr,
                    "ecology: internal error: the usage of '%s' shows option '%s' %s a value "
                    "(src/cli/usage.c)\n",
                    u->cmd, flag, opts[i].takes_value ? "without" : "with");
    }
}

int cli_parse(int argc, char **argv, int start, cli_opt *opts, int n_opts, const char **pos,
              int max_pos, int *n_pos) {
    *n_pos = 0;
    check_documented(argc, argv, start, opts, n_opts);
    for (int i = start; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] != '\0') {
            const char *name = a + (a[1] == '-' ? 2 : 1);
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            cli_opt *o = find_opt(opts, n_opts, name, len);
            if (!o)
                return cli_usage_error("unknown option '%.*s'", (int)(len + (size_t)(name - a)), a);
            if (o->value && !o->repeated_ok)
                return cli_usage_error("option '--%s' given twice", o->name);
            if (o->takes_value) {
                if (eq) {
                    o->value = eq + 1;
                } else {
                    if (i + 1 >= argc)
                        return cli_usage_error("option '--%s' needs a value", o->name);
                    o->value = argv[++i];
                }
                if (!o->value[0] && is_path_option(o->name))
                    return cli_usage_error("option '--%s': empty value (a path is needed)",
                                           o->name);
                if (o->values) {
                    if (o->n_values >= o->max_values)
                        return cli_usage_error("option '--%s' given more than %d times", o->name,
                                               o->max_values);
                    o->values[o->n_values++] = o->value;
                }
            } else {
                if (eq) return cli_usage_error("option '--%s' takes no value", o->name);
                o->value = "1";
            }
        } else {
            if (*n_pos >= max_pos) return cli_usage_error("unexpected argument '%s'", a);
            pos[(*n_pos)++] = a;
        }
    }
    return CLI_OK;
}

const char *cli_get(const cli_opt *opts, int n_opts, const char *name) {
    for (int i = 0; i < n_opts; i++)
        if (strcmp(opts[i].name, name) == 0) return opts[i].value;
    return NULL;
}

int cli_parse_int(const char *flag, const char *s, int64_t lo, int64_t hi, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi)
        return cli_usage_error("option '--%s': '%s' is not an integer in [%lld, %lld]", flag, s,
                               (long long)lo, (long long)hi);
    *out = v;
    return CLI_OK;
}

int cli_parse_u64(const char *flag, const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    if (s[0] == '-')
        return cli_usage_error("option '--%s': '%s' is not a non-negative integer", flag, s);
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end != '\0')
        return cli_usage_error("option '--%s': '%s' is not a non-negative integer", flag, s);
    *out = v;
    return CLI_OK;
}

int cli_parse_kv_dtype(const char *flag, const char *s, eco_dtype *out) {
    if (strcmp(s, "f32") == 0)
        *out = ECO_DTYPE_F32;
    else if (strcmp(s, "f16") == 0)
        *out = ECO_DTYPE_F16;
    else
        return cli_usage_error("option '--%s': '%s' is not f32 or f16", flag, s);
    return CLI_OK;
}

int cli_parse_float(const char *flag, const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v) || v < lo || v > hi)
        return cli_usage_error("option '--%s': '%s' is not a number in [%g, %g]", flag, s, lo, hi);
    *out = v;
    return CLI_OK;
}

int cli_parse_ids(const char *flag, const char *s, int32_t **ids, size_t *n) {
    *ids = NULL;
    *n = 0;
    size_t cap = 0;
    const char *p = s;
    for (;;) {
        while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
        if (*p == '\0') break;
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX || (*end && !strchr(", \t\r\n", *end))) {
            free(*ids);
            *ids = NULL;
            return cli_usage_error("option '--%s': '%.20s' is not a token id", flag, p);
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            int32_t *grown = realloc(*ids, cap * sizeof **ids);
            if (!grown) {
                free(*ids);
                *ids = NULL;
                return cli_usage_error("option '--%s': out of memory", flag);
            }
            *ids = grown;
        }
        (*ids)[(*n)++] = (int32_t)v;
        p = end;
    }
    if (*n == 0) return cli_usage_error("option '--%s': no token ids given", flag);
    return CLI_OK;
}

int cli_threads_and_stops(const cli_opt *opts, int n_opts, const cli_opt *stop,
                          eco_infer_request *req) {
    const char *s = cli_get(opts, n_opts, "threads");
    int64_t v = 0;
    if (s) {
        if (cli_parse_int("threads", s, 1, ECO_MAX_THREADS, &v) != CLI_OK) return CLI_USAGE;
        eco_set_threads((int)v);
    }
    for (int i = 0; i < stop->n_values; i++)
        if (!stop->values[i][0]) return cli_usage_error("option '--stop': an empty stop sequence");
    req->stop = stop->values;
    req->n_stop = (size_t)stop->n_values;
    return CLI_OK;
}
