/*
 * ecology canary status [--capability C] [--json] [--data-dir D]
 *     where each capability's canary stands: its champion and canary aliases and its last
 *     "canary" event (decision, step, weight, requests, reasons).
 * ecology canary run --capability C [--champion ID] --challenger ID --traffic FILE
 *                    [--settings FILE|JSON] [--hard-examples OUT] [--deny FILE] [--run NAME]
 *                    [--threads N] [--json] [--data-dir D]
 *     one canary by hand (daemon.h's eco_canary_run): exit 0 promoted, 3 aborted.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/daemon.h"
#include "ecology/promotion.h"
#include "ecology/registry.h"
#include "ecology/verifier.h"

/* Flagger's example steps over a small stream: 10% -> 50%, 200 requests a step, 2 failures. */
#define DEFAULT_SETTINGS                                                                           \
    "{\"stepWeight\": 10, \"maxWeight\": 50, \"interval\": 200, \"threshold\": 2}"

static const char *str(const json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static void print_arm(const char *name, const json_t *a) {
    char p50[32] = "-", p95[32] = "-";
    const json_t *v;
    if (json_is_number(v = json_object_get(a, "p50_ms")))
        snprintf(p50, sizeof p50, "%.1f", json_number_value(v));
    if (json_is_number(v = json_object_get(a, "p95_ms")))
        snprintf(p95, sizeof p95, "%.1f", json_number_value(v));
    printf("  %-9s %-28s %8lld %7lld %9lld/%-9lld %7lld %8s %8s\n", name, str(a, "model"),
           (long long)json_integer_value(json_object_get(a, "n")),
           (long long)json_integer_value(json_object_get(a, "errors")),
           (long long)json_integer_value(json_object_get(a, "correct")),
           (long long)json_integer_value(json_object_get(a, "labelled")),
           (long long)json_integer_value(json_object_get(a, "safety_alerts")), p50, p95);
}

/* One capability's status (an element of eco_canary_status_json's array), as lines. */
static void print_status(const json_t *e) {
    const json_t *last = json_object_get(e, "last"), *d = json_object_get(last, "detail");
    printf("%s\n  champion  %s\n  canary    %s\n", str(e, "capability"),
           json_is_string(json_object_get(e, "champion")) ? str(e, "champion") : "(none)",
           json_is_string(json_object_get(e, "canary")) ? str(e, "canary") : "(none)");
    if (!json_is_object(d)) {
        printf("  last      (no canary yet)\n");
        return;
    }
    printf("  last      event %lld at %s: %s %s against %s, step %lld at %lld%%, %lld requests\n",
           (long long)json_integer_value(json_object_get(last, "seq")), str(last, "at"),
           str(d, "decision"), str(d, "challenger"), str(d, "champion"),
           (long long)json_integer_value(json_object_get(d, "step")),
           (long long)json_integer_value(json_object_get(d, "weight")),
           (long long)json_integer_value(json_object_get(d, "requests")));
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(d, "reasons"), i, r)
        printf("  reason    %s\n", json_string_value(r));
    const json_t *t = json_object_get(d, "timing");
    printf("  timing    promote in >= %lld requests (%.1f s), roll back in %lld (%.1f s); a safety "
           "alert: at once\n",
           (long long)json_integer_value(json_object_get(t, "min_promote_requests")),
           json_number_value(json_object_get(t, "min_promote_seconds")),
           (long long)json_integer_value(json_object_get(t, "rollback_requests")),
           json_number_value(json_object_get(t, "rollback_seconds")));
    printf("  %-9s %-28s %8s %7s %19s %7s %8s %8s\n", "arm", "model", "requests", "errors",
           "correct/labelled", "safety", "p50 ms", "p95 ms");
    print_arm("canary", json_object_get(json_object_get(d, "arms"), "canary"));
    print_arm("champion", json_object_get(json_object_get(d, "arms"), "champion"));
}

/* Prints the status array text (JSON or lines); CLI_FAIL when it does not parse. */
static int print_status_text(const char *text, bool json, bool last_only) {
    json_error_t jerr;
    json_t *a = json_loads(text, 0, &jerr);
    if (!json_is_array(a)) {
        json_decref(a);
        return cli_fail(eco_error(ECO_STATUS_EINTERNAL, "status: not a JSON array"), "canary");
    }
    size_t i;
    json_t *e;
    if (json && last_only) { /* run --json: the event just written */
        char *out = NULL;
        if (eco_json_canonical(json_object_get(json_array_get(a, 0), "last"), &out, NULL) ==
            ECO_STATUS_OK)
            printf("%s\n", out);
        free(out);
    } else if (json) {
        printf("%s\n", text);
    } else {
        if (json_array_size(a) == 0) printf("no canary has run\n");
        json_array_foreach(a, i, e) print_status(e);
    }
    json_decref(a);
    return CLI_OK;
}

static int canary_status(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("capability", true), CLI_OPT("json", false), CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    int npos;
    if (cli_parse(argc, argv, 3, o, n, NULL, 0, &npos) != CLI_OK) return CLI_USAGE;
    eco_registry *r = NULL;
    if (cli_registry_open_ro(cli_get(o, n, "data-dir"), false, &r) != CLI_OK) return CLI_FAIL;
    char *text = NULL;
    eco_status st = eco_canary_status_json(r, cli_get(o, n, "capability"), &text);
    eco_registry_close(r);
    int rc = st == ECO_STATUS_OK ? print_status_text(text, cli_get(o, n, "json") != NULL, false)
                                 : cli_fail(st, "canary status");
    free(text);
    return rc;
}

/* --settings: JSON text when it starts with '{', else a file holding it. */
static int read_settings(const char *arg, eco_canary_settings *s) {
    const char *v = arg ? arg : DEFAULT_SETTINGS;
    char *data = NULL;
    size_t len = 0;
    eco_status st = ECO_STATUS_OK;
    if (v[strspn(v, " \t\r\n")] != '{') {
        if ((st = eco_read_file(v, (size_t)1 << 16, &data, &len)) != ECO_STATUS_OK)
            return cli_fail(st, "canary run: --settings");
    }
    st = data ? eco_canary_settings_parse(data, len, v, s)
              : eco_canary_settings_parse(v, strlen(v), "--settings", s);
    free(data);
    return st == ECO_STATUS_OK ? CLI_OK : cli_usage_error("canary run: %s", eco_last_error());
}

typedef struct run_progress {
    eco_progress bar;
} run_progress;

static void on_progress(void *ctx, size_t requests, int weight, size_t steps) {
    (void)weight;
    (void)steps;
    eco_progress_update(&((run_progress *)ctx)->bar, (double)requests);
}

static int canary_run(int argc, char **argv) {
    cli_opt o[] = {
        CLI_OPT("capability", true), CLI_OPT("champion", true), CLI_OPT("challenger", true),
        CLI_OPT("traffic", true),    CLI_OPT("settings", true), CLI_OPT("hard-examples", true),
        CLI_OPT("deny", true),       CLI_OPT("run", true),      CLI_OPT("threads", true),
        CLI_OPT("json", false),      CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    int npos;
    if (cli_parse(argc, argv, 3, o, n, NULL, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *cap = cli_get(o, n, "capability"), *s;
    if (!cap) return cli_usage_error("canary run: --capability C is required");
    if (!cli_get(o, n, "challenger"))
        return cli_usage_error("canary run: --challenger ID is required");
    if (!cli_get(o, n, "traffic")) return cli_usage_error("canary run: --traffic FILE is required");
    eco_canary_settings settings;
    int rc = read_settings(cli_get(o, n, "settings"), &settings);
    if (rc != CLI_OK) return rc;
    int64_t threads = 0;
    if ((s = cli_get(o, n, "threads")) &&
        cli_parse_int("threads", s, 1, ECO_MAX_THREADS, &threads) != CLI_OK)
        return CLI_USAGE;
    const bool json = cli_get(o, n, "json") != NULL;
    char champ_alias[ECO_PROMOTION_ALIAS_MAX];
    eco_status st = eco_promotion_alias(cap, "champion", champ_alias);
    if (st != ECO_STATUS_OK)
        return cli_usage_error("canary run: --capability: %s", eco_last_error());
    char *deny_data = NULL;
    const char **deny = NULL;
    size_t n_deny = 0;
    if ((s = cli_get(o, n, "deny")) && (st = eco_deny_file_read(s, &deny_data, &deny, &n_deny))) {
        free(deny_data);
        free(deny);
        return cli_fail(st, "canary run: --deny");
    }
    eco_registry *r = NULL;
    if (cli_registry_open_opts(cli_get(o, n, "data-dir"), true, &r) != CLI_OK) {
        free(deny_data);
        free(deny);
        return CLI_FAIL;
    }
    eco_canary_run_options ro = {
        .run = (s = cli_get(o, n, "run")) ? s : "manual",
        .capability = cap,
        .champion = (s = cli_get(o, n, "champion")) ? s : champ_alias,
        .challenger = cli_get(o, n, "challenger"),
        .settings = &settings,
        .traffic_path = cli_get(o, n, "traffic"),
        .hard_examples_path = cli_get(o, n, "hard-examples"),
        .threads = (int)threads,
        .deny = deny,
        .n_deny = n_deny,
    };
    eco_canary_timing t;
    eco_buf desc = {0};
    if (!json && eco_canary_settings_describe(&settings, &desc) == ECO_STATUS_OK)
        printf("canary %s: %s against %s\n%s", cap, ro.challenger, ro.champion, desc.data);
    eco_buf_free(&desc);
    run_progress p;
    if (eco_canary_settings_timing(&settings, &t) == ECO_STATUS_OK) {
        eco_progress_begin(&p.bar, "canary", (double)(t.promote_requests + t.rollback_requests),
                           "requests");
        p.bar.quiet = json;
        ro.progress = on_progress;
        ro.progress_ctx = &p;
    }
    eco_canary_run_result res;
    st = eco_canary_run(r, &ro, &res);
    if (ro.progress) eco_progress_end(&p.bar);
    if (st != ECO_STATUS_OK) {
        rc = cli_fail(st, "canary run");
    } else {
        char *text = NULL;
        if (!json) printf("decision  %s\n", res.promoted ? "promoted" : "aborted");
        if ((st = eco_canary_status_json(r, cap, &text)) == ECO_STATUS_OK)
            rc = print_status_text(text, json, json);
        else
            rc = cli_fail(st, "canary run");
        if (!json && ro.hard_examples_path)
            printf("hard examples: %zu written to %s\n", res.hard_examples, ro.hard_examples_path);
        free(text);
        if (rc == CLI_OK && !res.promoted) rc = CLI_REJECTED;
    }
    eco_registry_close(r);
    free(deny_data);
    free(deny);
    return rc;
}

int cmd_canary(int argc, char **argv) {
    if (argc < 3) return cli_usage_error("canary: expected a subcommand (status, run)");
    if (strcmp(argv[2], "status") == 0) return canary_status(argc, argv);
    if (strcmp(argv[2], "run") == 0) return canary_run(argc, argv);
    return cli_usage_error("canary: unknown subcommand '%s' (status, run)", argv[2]);
}
