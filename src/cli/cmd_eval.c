/* ecology eval --model MODEL [--adapter ADAPTER] --corpus FILE [--gates FILE] [--json]
 *               [--out FILE] [--threads N] [--max-tokens N] [--no-robustness] [--seed S]
 *               [--deny FILE] [--case-timeout-ms MS] [--data-dir D]
 *     runs the corpus on the model (eco_evaluate, evaluator.h) and prints a table per
 *     capability, the verdict (every failing gate) and the fitness: against --gates FILE, else
 *     the default gates (eco_gates_default: what an empty file {} sets — safety refusal and
 *     compliance rates 1.0, no deny-list hit, signature required); --json / --out the
 *     report's canonical JSON. Progress on stderr. Exit 0 accepted, 3 rejected by a gate,
 *     1 failure, 2 usage. A registered remote model (ecology add-remote) is evaluated
 *     through an http engine (its choice cases need the weights: such a corpus is refused). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "ecology/engine.h"
#include "ecology/evaluator.h"
#include "ecology/registry.h"
#include "ecology/runtime.h"
#include "ecology/verifier.h"

static void eval_progress(void *ctx, size_t done, size_t total) {
    ((eco_progress *)ctx)->total = (double)total;
    eco_progress_update(ctx, (double)done);
}

/* "k/n" as a rate, or "-" when nothing was counted. */
static void rate_cell(char *buf, size_t size, const eco_rate *r) {
    if (r->n == 0)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.3f", r->rate);
}

/* Latency of the cases of capability cap (NULL: all) as p50/p95; cases over the model's
 * context ran nothing and are left out, as in the report's figures. */
static eco_status cap_latency(const eco_eval_corpus *c, const eco_eval_report *r, const char *cap,
                              eco_latency *out) {
    double *v = eco_malloc_array(r->n_results ? r->n_results : 1, sizeof *v);
    if (!v) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < r->n_results; i++)
        if (!r->results[i].over_context &&
            (!cap || strcmp(c->cases[r->results[i].index].capability, cap) == 0))
            v[n++] = r->results[i].latency_ms;
    eco_status st = eco_latency_compute(v, n, out);
    free(v);
    return st;
}

static int print_table(const eco_eval_corpus *c, const eco_eval_report *r) {
    printf("%-20s %6s %6s %-15s %6s %6s %6s %7s %17s %8s %8s\n", "CAPABILITY", "N", "PASS",
           "95% CI", "FORMAT", "REFUSE", "COMPLY", "ECE", "ROBUST MEAN/WORST", "P50 MS", "P95 MS");
    bool small = false;
    for (size_t i = 0; i < r->n_caps; i++) {
        const eco_eval_cap_figures *f = &r->caps_fig[i];
        bool overall = i + 1 == r->n_caps;
        eco_latency lat;
        eco_status st = cap_latency(c, r, overall ? NULL : f->capability, &lat);
        if (st != ECO_STATUS_OK) return cli_fail(st, "eval");
        char ci[32], fmt[16], ref[16], comp[16], rob[32];
        snprintf(ci, sizeof ci, "[%.3f, %.3f]", f->quality.lo, f->quality.hi);
        rate_cell(fmt, sizeof fmt, &f->format);
        rate_cell(ref, sizeof ref, &f->refusal);
        rate_cell(comp, sizeof comp, &f->compliance);
        if (f->robustness.worst_kind < 0)
            snprintf(rob, sizeof rob, "-");
        else
            snprintf(rob, sizeof rob, "%.3f/%.3f", f->robustness.mean, f->robustness.worst);
        small = small || f->calibration.small_n;
        printf("%-20s %6llu %6.3f %-15s %6s %6s %6s %6.3f%s %17s %8.2f %8.2f\n", f->capability,
               (unsigned long long)f->quality.n, f->quality.rate, ci, fmt, ref, comp,
               f->calibration.ece_em, f->calibration.small_n ? "*" : " ", rob, lat.p50, lat.p95);
    }
    if (small)
        printf("* ECE over fewer than %d answers is unreliable (10 equal-mass bins)\n",
               ECO_CALIBRATION_MIN_N);
    const eco_eval_cap_figures *o = &r->caps_fig[r->n_caps - 1];
    if (o->robustness.worst_kind >= 0) {
        printf("robustness by perturbation:");
        for (int k = 0; k < ECO_PERTURB__COUNT; k++)
            printf(" %s %.3f", eco_perturb_kind_name((eco_perturb_kind)k), o->robust_pass[k]);
        printf(" (worst: %s)\n", eco_perturb_kind_name((eco_perturb_kind)o->robustness.worst_kind));
    }
    if (o->quality_by_tag[1].n > 0)
        printf("in-distribution %.3f (n %llu), shift %.3f (n %llu)\n", o->quality_by_tag[0].rate,
               (unsigned long long)o->quality_by_tag[0].n, o->quality_by_tag[1].rate,
               (unsigned long long)o->quality_by_tag[1].n);
    size_t truncated = 0, timed_out = 0, over = 0, first_over = 0;
    for (size_t i = 0; i < r->n_results; i++) {
        truncated += r->results[i].truncated;
        timed_out += r->results[i].timed_out;
        if (r->results[i].over_context && over++ == 0) first_over = i;
    }
    if (truncated || timed_out)
        printf("%zu case%s cut at max_tokens, %zu past the time limit\n", truncated,
               truncated == 1 ? "" : "s", timed_out);
    if (over) /* failed, counted in N and PASS; the first one's reason as an example */
        printf("%zu case%s failed: longer than the model's context (case %zu, line %lld: %s)\n",
               over, over == 1 ? "" : "s", r->results[first_over].index,
               (long long)c->cases[r->results[first_over].index].line,
               r->results[first_over].reason ? r->results[first_over].reason : "");
    if (r->caps.n_deny) printf("deny-list hits: %zu\n", r->deny_hits);
    printf("latency p50 %.2f ms, p95 %.2f ms, p99 %.2f ms; prompt %.0f tok/s, decode %.0f tok/s\n",
           r->latency_ms.p50, r->latency_ms.p95, r->latency_ms.p99, r->prompt_tok_s,
           r->decode_tok_s);
    printf("peak RSS %.1f MiB, %lld parameters, %.1f MiB on disk, %.1f s\n",
           (double)r->peak_rss_bytes / (1 << 20), (long long)r->n_params,
           (double)r->bytes_on_disk / (1 << 20), r->wall_s);
    return CLI_OK;
}

/* The adapter's weight files' bytes (adapter_model.safetensors; 0 when absent). */
static uint64_t adapter_bytes(const char *dir) {
    char path[4096];
    struct stat sb;
    snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
    return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* The verdict (table mode: every failure, a gate the file set but the corpus did not measure
 * as "n/a (not measured)", the default gates not measured, the fitness; a rejection is also
 * named on stderr). Returns CLI_OK when accepted, else CLI_REJECTED. */
static int print_verdict(const eco_verdict *v, bool json, bool defaults) {
    if (!json) {
        printf("verdict: %s%s\n", v->accepted ? "accepted" : "REJECTED",
               defaults ? " (the default gates: no --gates file)" : "");
        for (size_t i = 0; i < v->n_failures; i++) {
            const eco_gate_failure *f = &v->failures[i];
            if (f->not_measured)
                printf("  failed %s: n/a, not measured (limit %g)\n", f->gate, f->limit);
            else
                printf("  failed %s: %g (limit %g)\n", f->gate, f->value, f->limit);
        }
        for (size_t i = 0; i < v->n_not_measured; i++)
            printf("  not measured: %s\n", v->not_measured[i]);
        if (v->has_fitness)
            printf("fitness %.4f = quality %.4f + calibration %.4f + robustness %.4f + "
                   "coverage %.4f + latency %.4f + memory %.4f\n",
                   v->fitness.total, v->fitness.quality, v->fitness.calibration,
                   v->fitness.robustness, v->fitness.coverage, v->fitness.latency,
                   v->fitness.memory);
    }
    if (!v->accepted) {
        fprintf(stderr, "ecology: eval: rejected by %zu gate%s:", v->n_failures,
                v->n_failures == 1 ? "" : "s");
        for (size_t i = 0; i < v->n_failures; i++)
            fprintf(stderr, "%s %s", i ? "," : "", v->failures[i].gate);
        fputc('\n', stderr);
    }
    return v->accepted ? CLI_OK : CLI_REJECTED;
}

/* ecology eval --report FILE --gates FILE [--json]: a stored report (eco_eval_report_json's
 * JSON, as --out writes it) judged again (eco_eval_report_parse, then eco_gates_judge with
 * the artifact-check result and coverage its stored verdict recorded); the verdict printed,
 * with --json as canonical JSON (the bytes of the report's "verdict" member, timings kept). */
static int rejudge(const char *path, const char *gates, bool json) {
    if (!gates) return cli_usage_error("eval: --report FILE needs --gates FILE");
    char *text = NULL, *vj = NULL;
    size_t len = 0;
    eco_gates *g = NULL;
    eco_eval_report rep;
    eco_verdict v;
    memset(&rep, 0, sizeof rep);
    memset(&v, 0, sizeof v);
    int rc = CLI_FAIL;
    eco_status st = eco_gates_load(gates, &g);
    if (!st) st = eco_read_file(path, (size_t)1 << 30, &text, &len);
    if (!st) st = eco_eval_report_rejudge(g, text, len, path, &rep, &v);
    if (!st && json) st = eco_verdict_json(&v, true, &vj);
    if (st) {
        rc = cli_fail(st, "eval");
    } else {
        if (!json)
            printf("%s%s%s on corpus %.16s, re-judged from %s\n", rep.model,
                   rep.adapter ? " + " : "", rep.adapter ? rep.adapter : "", rep.corpus_sha256,
                   path);
        rc = print_verdict(&v, json, false);
        if (json && (fputs(vj, stdout) == EOF || fputc('\n', stdout) == EOF))
            rc = cli_fail(eco_error(ECO_STATUS_EIO, "cannot write to stdout"), "eval");
        if (rc != CLI_FAIL && fflush(stdout) != 0)
            rc = cli_fail(eco_error(ECO_STATUS_EIO, "cannot write to stdout"), "eval");
    }
    free(vj);
    eco_verdict_free(&v);
    eco_eval_report_free(&rep);
    eco_gates_free(g);
    free(text);
    return rc;
}

/* The end of a run: judges rep against gates g (the file's, or the defaults: `defaults`) and
 * prints the verdict (table mode; a rejection is also named on stderr); --json prints and
 * --out writes the report's canonical JSON (eco_eval_report_json, timings included, with the
 * verdict; "gates" null for the defaults). The exit status: CLI_OK (accepted),
 * CLI_REJECTED, CLI_FAIL. */
static int finish_report(eco_eval_report *rep, const eco_gates *g, bool defaults, bool signature_ok,
                         double coverage, bool json, const char *out) {
    eco_verdict v;
    memset(&v, 0, sizeof v);
    int rc = CLI_OK;
    eco_status st;
    snprintf(rep->gates_sha256, sizeof rep->gates_sha256, "%s", eco_gates_sha256(g));
    if ((st = eco_gates_judge(g, rep, signature_ok, coverage, &v)) != ECO_STATUS_OK)
        return cli_fail(st, "eval");
    rc = print_verdict(&v, json, defaults);
    if (json || out) {
        char *text = NULL;
        st = eco_eval_report_json(rep, &v, true, &text);
        if (st == ECO_STATUS_OK && out) st = eco_write_file_atomic(out, text, strlen(text));
        if (st == ECO_STATUS_OK && json &&
            (fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF))
            st = eco_error(ECO_STATUS_EIO, "cannot write to stdout");
        free(text);
        if (st != ECO_STATUS_OK) rc = cli_fail(st, "eval");
    }
    eco_verdict_free(&v);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    cli_opt o[] = {
        CLI_OPT("model", true),    CLI_OPT("adapter", true),    CLI_OPT("corpus", true),
        CLI_OPT("gates", true),    CLI_OPT("json", false),      CLI_OPT("out", true),
        CLI_OPT("threads", true),  CLI_OPT("max-tokens", true), CLI_OPT("no-robustness", false),
        CLI_OPT("seed", true),     CLI_OPT("deny", true),       CLI_OPT("case-timeout-ms", true),
        CLI_OPT("data-dir", true), CLI_OPT("report", true)};
    const int n_opts = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n_opts, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *model = cli_get(o, n_opts, "model"), *adapter = cli_get(o, n_opts, "adapter");
    const char *corpus_path = cli_get(o, n_opts, "corpus"), *s;
    const char *gates = cli_get(o, n_opts, "gates"), *out = cli_get(o, n_opts, "out");
    bool json = cli_get(o, n_opts, "json") != NULL;
    if ((s = cli_get(o, n_opts, "report"))) { /* a stored report judged again */
        if (model || corpus_path || out)
            return cli_usage_error("eval: --report FILE judges a stored report: no --model, "
                                   "--corpus or --out");
        return rejudge(s, gates, json);
    }
    if (!model) return cli_usage_error("eval: --model MODEL is required");
    if (!corpus_path) return cli_usage_error("eval: --corpus FILE is required");
    eco_eval_caps caps;
    eco_eval_caps_init(&caps);
    int64_t v;
    if ((s = cli_get(o, n_opts, "threads"))) {
        if (cli_parse_int("threads", s, 1, ECO_MAX_THREADS, &v) != CLI_OK) return CLI_USAGE;
        caps.threads = (int)v;
    }
    if ((s = cli_get(o, n_opts, "max-tokens"))) {
        if (cli_parse_int("max-tokens", s, 1, ECO_EVAL_MAX_TOKENS, &v) != CLI_OK) return CLI_USAGE;
        caps.max_tokens = (int)v;
    }
    if ((s = cli_get(o, n_opts, "seed")) && cli_parse_u64("seed", s, &caps.seed) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n_opts, "case-timeout-ms"))) {
        double ms;
        if (cli_parse_float("case-timeout-ms", s, 0.0, 1e9, &ms) != CLI_OK) return CLI_USAGE;
        caps.case_timeout_ms = ms;
    }
    caps.robustness = cli_get(o, n_opts, "no-robustness") == NULL;
    char *deny_data = NULL;
    const char **deny = NULL;
    if ((s = cli_get(o, n_opts, "deny"))) {
        eco_status dst = eco_deny_file_read(s, &deny_data, &deny, &caps.n_deny);
        if (dst != ECO_STATUS_OK) {
            free(deny);
            free(deny_data);
            return cli_fail(dst, "eval");
        }
        caps.deny = deny;
    }
    eco_gates *g = NULL; /* loaded first: a bad gates file fails before the run */
    {                    /* without --gates, the documented defaults (evaluator.h) */
        eco_status gst = gates ? eco_gates_load(gates, &g) : eco_gates_default(&g);
        if (gst != ECO_STATUS_OK) {
            free(deny);
            free(deny_data);
            return cli_fail(gst, "eval");
        }
    }
    eco_eval_corpus *corpus = NULL;
    eco_engine *eng = NULL;
    eco_eval_report rep;
    memset(&rep, 0, sizeof rep);
    int rc = CLI_OK;
    const char *model_label = model, *adapter_label = adapter;
    /* issue 19 (w-evreg, eval_registry.c): --corpus by recorded id; artifact checks and the
     * hidden-corpus rule for registered models (exit 3 when they refuse); the report stored
     * in the registry after the run. */
    cli_eval_reg reg;
    if ((rc = cli_eval_registry_begin(o, n_opts, &corpus_path, &corpus, &reg)) != CLI_OK)
        goto done; /* the corpus read once there (w-eval B3) */
    eco_status st;
    /* a registered remote model (no --adapter): an http engine, as the loop's evaluation
     * opens it (its choice cases unscored: the scorer needs the weights) */
    eco_genome rg = {0};
    if (reg.r && reg.model_id && !adapter &&
        eco_registry_get(reg.r, reg.model_id, &rg, NULL) == ECO_STATUS_OK &&
        rg.kind == ECO_GENOME_KIND_REMOTE) {
        st = eco_runtime_open_remote(&rg, &eng);
        eco_genome_free(&rg);
        if (st != ECO_STATUS_OK) {
            rc = cli_fail(st, "eval");
            goto done;
        }
    } else {
        eco_genome_free(&rg);
        if (cli_model_ref(o, n_opts, "model", &model) ||
            cli_model_ref(o, n_opts, "adapter", &adapter)) {
            rc = CLI_FAIL;
            goto done;
        }
        if ((st = eco_llama_engine_open_adapter(model, adapter, NULL, &eng)) != ECO_STATUS_OK) {
            rc = cli_fail(st, "eval");
            goto done;
        }
    }
    eco_eval_llama_scorer(eng, &caps.scorer);
    eco_progress prog;
    eco_progress_begin(&prog, "eval", (double)corpus->n_cases, "cases");
    st = eco_evaluate(eng, corpus, &caps, model_label, adapter_label, eval_progress, &prog, &rep);
    eco_progress_end(&prog);
    if (st != ECO_STATUS_OK) {
        rc = cli_fail(st, "eval");
        goto done;
    }
    if (adapter) rep.bytes_on_disk += adapter_bytes(adapter);
    if (!json) {
        printf("%s%s%s on %s (%zu cases, corpus %.16s)\n", model_label, adapter_label ? " + " : "",
               adapter_label ? adapter_label : "", corpus->label, corpus->n_cases,
               corpus->sha256_hex);
        rc = print_table(corpus, &rep);
    }
    /* The artifact checks: a model (and adapter) named by registry id or alias is a
     * verified checkout (cli_model_ref replaced the name by its folder); a folder given as
     * such has none. */
    bool signature_ok = model != model_label && (!adapter || adapter != adapter_label);
    if (reg.r) signature_ok = reg.signature_ok; /* w-evreg: the artifact checks decide */
    /* the fitness's coverage: against the lineage parents' reports (eval_coverage.c) */
    if (rc == CLI_OK && reg.r) reg.coverage = cli_eval_coverage(&reg, g, &rep);
    if (rc == CLI_OK) rc = finish_report(&rep, g, !gates, signature_ok, reg.coverage, json, out);
    if ((rc == CLI_OK || rc == CLI_REJECTED) && cli_eval_registry_store(&reg, &rep, g) != CLI_OK)
        rc = CLI_FAIL; /* w-evreg; w-fixreg: a report not stored is a failure */
    if (rc == CLI_OK && fflush(stdout) != 0)
        rc = cli_fail(eco_error(ECO_STATUS_EIO, "cannot write to stdout"), "eval");
done:
    cli_eval_registry_end(&reg); /* w-evreg */
    eco_engine_destroy(eng);
    eco_eval_report_free(&rep);
    eco_eval_corpus_free(corpus);
    eco_gates_free(g);
    free(deny);
    free(deny_data);
    return rc;
}
