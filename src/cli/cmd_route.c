/* ecology route --policy FILE|JSON --model [NAME=]MODEL[+ADAPTER]... (--prompt TEXT |
 *               --prompt-file F) [--capability C] [--request-id ID] [-n N] [--stop STR]...
 *               [--threads N] [--json] [--data-dir D]
 * Opens one engine per --model (a folder, or a registry id or alias: a registered adapter
 * alone brings its base; a registered remote model opens as an http engine, its cost taken
 * as above every local target's), builds the route table (capabilities from the registry's genome,
 * quality per capability, p95 latency and resident bytes from the newest evaluation report
 * stored against it, cost the weight bytes, an adapter's added), parses the policy and answers the prompt
 * through the router (router.h), printing the answer and the trace: which engine answered,
 * each call's confidence, escalations, canary arms, the shadow's agreement score. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "ecology/engine.h"
#include "ecology/evaluator.h"
#include "ecology/registry.h"
#include "ecology/router.h"
#include "ecology/runtime.h"

#define MAX_MODELS 16
#define MAX_STOPS  16

typedef struct route_model {
    char *name;                    /* the target id */
    eco_engine *engine;            /* owned */
    eco_genome g;                  /* the registered genome carrying the capabilities (or zero) */
    char *model_dir, *adapter_dir; /* owned copies (checkouts or the folders given) */
    double *quality;               /* [g.n_capabilities] from the newest report (NaN: none) */
    double p95_ms;                 /* the newest report's p95 latency (0: none) */
    uint64_t resident;             /* its peak resident bytes (0: none) */
} route_model;

/* The evaluator's figures for a registered target (m->g.id): from the newest report stored
 * against it, the pass rate of each capability it advertises, the p95 latency per case and
 * the peak resident bytes. A target without a report (or a folder) keeps them unknown. */
static int report_figures(eco_registry *r, route_model *m) {
    m->quality = eco_malloc_array(m->g.n_capabilities + 1, sizeof *m->quality);
    if (!m->quality) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "route");
    for (size_t c = 0; c < m->g.n_capabilities; c++) m->quality[c] = NAN;
    if (!r || !m->g.id) return CLI_OK;
    eco_registry_report *rep = NULL;
    size_t n = 0;
    eco_status st = eco_registry_reports(r, m->g.id, NULL, &rep, &n);
    if (st) return cli_fail(st, "route: reports");
    eco_eval_report er = {0};
    bool sig;
    double cov;
    if (n > 0 && !(st = eco_eval_report_parse(rep[n - 1].report, strlen(rep[n - 1].report), m->g.id,
                                              &er, &sig, &cov))) {
        for (size_t c = 0; c < m->g.n_capabilities; c++)
            for (size_t f = 0; f < er.n_caps; f++)
                if (!strcmp(er.caps_fig[f].capability, m->g.capabilities[c]) &&
                    er.caps_fig[f].quality.n > 0)
                    m->quality[c] = er.caps_fig[f].quality.rate;
        if (er.latency_ms.n > 0) m->p95_ms = er.latency_ms.p95;
        m->resident = er.peak_rss_bytes;
        eco_eval_report_free(&er);
    }
    eco_registry_reports_free(rep, n);
    return st ? cli_fail(st, "route: report") : CLI_OK;
}

/* ref: a folder (kept as is) or a registry id or alias (checked out, its genome in *g).
 * *dir malloc'd. CLI_OK or CLI_FAIL (printed). */
static int resolve(eco_registry **r, const char *data_dir, const char *ref, char **dir,
                   eco_genome *g) {
    struct stat sb;
    if (stat(ref, &sb) == 0 || !eco_model_id_ok(ref)) {
        *dir = eco_strdup(ref);
        return *dir ? CLI_OK : cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "route");
    }
    if (!*r && cli_registry_open_ro(data_dir, true, r) != CLI_OK) return CLI_FAIL;
    eco_status st = eco_registry_checkout(*r, ref, dir, g);
    if (st) {
        char what[160];
        snprintf(what, sizeof what, "route: --model '%s'", ref);
        return cli_fail(st, what);
    }
    return CLI_OK;
}

/* One --model spec into m (engine opened). */
static int open_model(eco_registry **r, const char *data_dir, const char *spec, route_model *m) {
    const char *eq = strchr(spec, '='), *body = spec;
    char name[256] = "";
    if (eq && !memchr(spec, '/', (size_t)(eq - spec))) {
        snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
        body = eq + 1;
    }
    char *model_ref = eco_strdup(body);
    if (!model_ref) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "route");
    char *plus = strchr(model_ref, '+');
    const char *adapter_ref = NULL;
    if (plus) {
        *plus = '\0';
        adapter_ref = plus + 1;
    }
    if (!model_ref[0] || (adapter_ref && !adapter_ref[0])) {
        free(model_ref);
        return cli_usage_error("option '--model': '%s': expected [NAME=]MODEL[+ADAPTER]", spec);
    }
    m->name = eco_strdup(name[0] ? name : body);
    eco_genome mg = {0};
    int rc = resolve(r, data_dir, model_ref, &m->model_dir, &mg);
    if (rc == CLI_OK && adapter_ref && mg.kind == ECO_GENOME_KIND_REMOTE) /* served as it is */
        rc = cli_fail(eco_error(ECO_STATUS_EINVAL,
                                "--model '%s': '%s' is a remote model: it takes no adapter", spec,
                                mg.id),
                      "route");
    if (rc == CLI_OK && adapter_ref) rc = resolve(r, data_dir, adapter_ref, &m->adapter_dir, &m->g);
    if (rc == CLI_OK && !adapter_ref && mg.kind == ECO_GENOME_KIND_ADAPTER && mg.base) {
        /* a registered adapter alone: it runs on its base */
        m->adapter_dir = m->model_dir;
        m->model_dir = NULL;
        m->g = mg;
        memset(&mg, 0, sizeof mg);
        eco_genome bg = {0};
        rc = resolve(r, data_dir, m->g.base, &m->model_dir, &bg);
        eco_genome_free(&bg);
    } else if (rc == CLI_OK && !adapter_ref) {
        m->g = mg;
        memset(&mg, 0, sizeof mg);
    }
    eco_genome_free(&mg);
    free(model_ref);
    if (rc == CLI_OK) rc = report_figures(*r, m);
    if (rc != CLI_OK) return rc;
    if (!m->name) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "route");
    eco_status st;
    if (m->g.kind == ECO_GENOME_KIND_REMOTE)
        st = eco_runtime_open_remote(&m->g, &m->engine); /* an http engine, as the pool opens */
    else
        st = eco_llama_engine_open_adapter(m->model_dir, m->adapter_dir, m->name, &m->engine);
    return st ? cli_fail(st, "route") : CLI_OK;
}

/* A target's cost: the engine's weight bytes and its adapter's (the file's size). */
static double model_cost(const route_model *m) {
    const eco_genome *eg = m->engine->genome(m->engine);
    double bytes = (double)(eg ? eg->bytes : 0);
    char *f = m->adapter_dir ? eco_path_join(m->adapter_dir, "adapter_model.safetensors") : NULL;
    struct stat sb;
    if (f && stat(f, &sb) == 0) bytes += (double)sb.st_size;
    free(f);
    return bytes;
}

static void close_model(route_model *m) {
    eco_engine_destroy(m->engine);
    eco_genome_free(&m->g);
    free(m->name);
    free(m->model_dir);
    free(m->adapter_dir);
    free(m->quality);
}

/* The policy from --policy: JSON text when it starts with '{' or '"', else a file. */
static eco_status load_policy(const char *arg, eco_route_node **out) {
    while (*arg == ' ' || *arg == '\n' || *arg == '\t') arg++;
    if (arg[0] == '{' || arg[0] == '"')
        return eco_route_policy_parse(arg, strlen(arg), "--policy", out);
    char *text;
    size_t len;
    eco_status st = eco_read_file(arg, ECO_ROUTE_MAX_POLICY_BYTES, &text, &len);
    if (st) return st;
    st = eco_route_policy_parse(text, len, arg, out);
    free(text);
    return st;
}

static void print_plain(const eco_policy_router *r, const eco_route_trace *t,
                        const eco_infer_response *resp) {
    fwrite(resp->text, 1, resp->text_len, stdout);
    putchar('\n');
    printf("answered by %s, confidence %.4f; %zu call%s, %zu escalation%s, %zu failure%s\n",
           eco_router_target_id(r, t->answered), t->confidence, t->n_calls,
           t->n_calls == 1 ? "" : "s", t->n_escalations, t->n_escalations == 1 ? "" : "s",
           t->n_failures, t->n_failures == 1 ? "" : "s");
    for (size_t i = 0; i < t->n_arms; i++)
        printf("  canary split at %s: %s\n", t->arms[i].at[0] ? t->arms[i].at : "(root)",
               t->arms[i].canary ? "canary" : "champion");
    for (size_t i = 0; i < t->n_calls; i++) {
        const eco_route_call *c = &t->calls[i];
        printf("  call %zu: %-20s via %-10s %-8s confidence %.4f  %zu tokens  %.1f ms%s%s%s", i + 1,
               eco_router_target_id(r, c->target), eco_route_kind_str(c->via),
               eco_status_str(c->status), c->confidence, c->n_tokens, c->ms,
               c->escalated ? "  escalated" : "", c->chosen ? "  chosen" : "",
               c->shadow ? "  shadow" : "");
        if (c->shadow && c->status == ECO_STATUS_OK) printf("  score %.4f", c->score);
        putchar('\n');
    }
}

static int print_json(const eco_policy_router *r, const eco_route_trace *t,
                      const eco_infer_response *resp) {
    char *tj = NULL;
    eco_status st = eco_route_trace_json(r, t, &tj);
    if (st) return cli_fail(st, "route");
    json_t *trace = json_loads(tj, 0, NULL);
    free(tj);
    json_t *o = json_object();
    bool bad = !trace || !o;
    if (!bad) {
        bad |= json_object_set_new(o, "text", cli_json_text(resp->text, resp->text_len)) != 0;
        bad |= json_object_set_new(o, "finish_reason", json_string(resp->finish_reason)) != 0;
        bad |= json_object_set_new(o, "completion_tokens",
                                   json_integer((json_int_t)resp->n_tokens)) != 0;
        bad |= json_object_set_new(o, "trace", trace) != 0;
        trace = NULL;
    }
    char *out = bad ? NULL : json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(trace);
    json_decref(o);
    if (!out) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory writing JSON"), "route");
    puts(out);
    free(out);
    return CLI_OK;
}

int cmd_route(int argc, char **argv) {
    const char *models[MAX_MODELS], *stops[MAX_STOPS];
    cli_opt o[] = {
        CLI_OPT("policy", true),      CLI_OPT("model", true),      CLI_OPT("prompt", true),
        CLI_OPT("prompt-file", true), CLI_OPT("capability", true), CLI_OPT("request-id", true),
        CLI_OPT("n", true),           CLI_OPT("stop", true),       CLI_OPT("threads", true),
        CLI_OPT("json", false),       CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    o[1].repeated_ok = true;
    o[1].values = models;
    o[1].max_values = MAX_MODELS;
    o[7].repeated_ok = true;
    o[7].values = stops;
    o[7].max_values = MAX_STOPS;
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *policy_arg = cli_get(o, n, "policy");
    if (!policy_arg) return cli_usage_error("route: --policy FILE|JSON is required");
    if (o[1].n_values == 0) return cli_usage_error("route: --model is required (one or more)");
    const char *prompt = cli_get(o, n, "prompt"), *prompt_file = cli_get(o, n, "prompt-file");
    if (!prompt == !prompt_file)
        return cli_usage_error("route: give one of --prompt TEXT and --prompt-file F");
    eco_infer_request req;
    eco_infer_request_init(&req);
    req.max_tokens = 16;
    int64_t v;
    const char *s;
    if ((s = cli_get(o, n, "n"))) {
        if (cli_parse_int("n", s, 1, 1 << 20, &v) != CLI_OK) return CLI_USAGE;
        req.max_tokens = (int)v;
    }
    if (cli_threads_and_stops(o, n, &o[7], &req) != CLI_OK) return CLI_USAGE;
    if ((s = cli_get(o, n, "capability")) && cli_check_capability("capability", s) != CLI_OK)
        return CLI_USAGE;
    req.capability = s;
    const char *rid = cli_get(o, n, "request-id");
    const bool json = cli_get(o, n, "json") != NULL;

    eco_route_node *policy = NULL;
    eco_status st = load_policy(policy_arg, &policy);
    if (st) return cli_fail(st, "route");
    char *prompt_owned = NULL;
    if (prompt_file) {
        size_t len;
        st = eco_read_file(prompt_file, (size_t)64 << 20, &prompt_owned, &len);
        if (!st && memchr(prompt_owned, '\0', len))
            st = eco_error(ECO_STATUS_EFORMAT, "%s: the prompt holds a NUL byte", prompt_file);
        if (st) {
            free(prompt_owned);
            eco_route_policy_free(policy);
            return cli_fail(st, "route");
        }
        prompt = prompt_owned;
    }
    req.prompt = prompt;

    route_model m[MAX_MODELS];
    memset(m, 0, sizeof m);
    eco_route_target t[MAX_MODELS];
    eco_registry *reg = NULL;
    const int n_models = o[1].n_values;
    int rc = CLI_OK;
    for (int i = 0; rc == CLI_OK && i < n_models; i++) {
        rc = open_model(&reg, cli_get(o, n, "data-dir"), models[i], &m[i]);
        if (rc != CLI_OK) break;
        t[i] = (eco_route_target){.id = m[i].name,
                                  .engine = m[i].engine,
                                  .capabilities = (const char *const *)m[i].g.capabilities,
                                  .quality = m[i].quality,
                                  .n_capabilities = m[i].g.n_capabilities,
                                  .p95_ms = m[i].p95_ms,
                                  .resident_bytes = m[i].resident,
                                  .cost = model_cost(&m[i])};
    }
    eco_registry_close(reg);
    /* A remote model's cost is not known here (no weights on this machine): it is taken as
     * above every local target's, so a cascade tries it last, as the expensive tier. */
    bool remote[MAX_MODELS] = {false};
    for (int i = 0; rc == CLI_OK && i < n_models; i++)
        remote[i] = m[i].g.kind == ECO_GENOME_KIND_REMOTE;
    if (rc == CLI_OK) eco_route_cost_unknown_last(t, (size_t)n_models, remote);
    eco_policy_router *router = NULL;
    if (rc == CLI_OK && (st = eco_router_create(t, (size_t)n_models, policy, &router)))
        rc = cli_fail(st, "route");
    if (rc == CLI_OK) {
        eco_router_set_scorer(router, eco_route_score_agree, NULL);
        eco_route_trace trace = {0};
        eco_infer_response resp;
        st = eco_router_answer(router, rid ? rid : prompt, &req, &resp, &trace);
        if (st)
            rc = cli_fail(st, "route");
        else if (json)
            rc = print_json(router, &trace, &resp);
        else
            print_plain(router, &trace, &resp);
        eco_infer_response_free(&resp);
        eco_route_trace_free(&trace);
    }
    eco_router_free(router);
    for (int i = 0; i < n_models; i++) close_model(&m[i]);
    eco_route_policy_free(policy);
    free(prompt_owned);
    return rc;
}
