/*
 * bench_eval: the evaluator's throughput on the default model (data/models/eco-tiny with
 * its text.reverse@1 adapter) over N held-out reverse cases (exact checks), and its
 * overhead over raw engine generation of the same requests measured in the same run
 * (issue 19: target under 5%).
 *
 *   raw:       engine->infer over the N prompts (greedy, stop "\n", max_tokens 64: what
 *              eco_evaluate asks), nothing else
 *   evaluate:  eco_evaluate on the same corpus, robustness off (checks, refusal detection,
 *              figures, calibration, latency percentiles included)
 *   robust:    eco_evaluate with robustness on (each case 1 + 4 perturbed runs), once
 *
 * raw and evaluate alternate RUNS times; medians. Prints cases/s, generated tokens/s and
 * the overhead (evaluate / raw − 1), with the 1-minute load average.
 *
 * Usage: bench_eval [n cases (default 500)] [threads (default 1)]
 * A benchmark, not a test: prints figures, never fails (returns 0 after saying why).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench_common.h"
#include "ecology/engine.h"
#include "ecology/evaluator.h"
#include "ecology/tasks.h"

#define RUNS 5

/* n distinct held-out reverse items as an exact corpus. */
static eco_status make_corpus(size_t n, eco_eval_corpus **out) {
    const eco_capability *cap = NULL;
    eco_status st = eco_tasks_find("text.reverse@1", &cap);
    if (st) return st;
    const size_t pool = 4 * n;
    eco_task_item *items = NULL;
    if ((st = eco_tasks_generate(cap, ECO_TASK_SPLIT_EVAL, pool, 1, &items))) return st;
    json_t *seen = json_object();
    eco_buf b = {0};
    size_t kept = 0;
    for (size_t i = 0; i < pool && kept < n; i++) {
        if (json_object_get(seen, items[i].prompt)) continue;
        json_object_set_new(seen, items[i].prompt, json_true());
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "capability", "text.reverse@1", "prompt",
                              items[i].prompt, "check", "exact", "expected", items[i].completion);
        char *s = json_dumps(o, JSON_COMPACT);
        eco_buf_puts(&b, s);
        eco_buf_push(&b, '\n');
        free(s);
        json_decref(o);
        kept++;
    }
    json_decref(seen);
    eco_task_items_free(items, pool);
    if (kept < n) fprintf(stderr, "bench_eval: only %zu distinct items\n", kept);
    st = eco_eval_corpus_parse(b.data, b.len, "bench.jsonl", out);
    eco_buf_free(&b);
    return st;
}

/* The raw loop: seconds, generated tokens into *tokens. */
static double raw_run(eco_engine *e, const eco_eval_corpus *c, size_t *tokens) {
    static const char *const stop[1] = {"\n"};
    double t0 = eco_now();
    *tokens = 0;
    for (size_t i = 0; i < c->n_cases; i++) {
        eco_infer_request req;
        eco_infer_request_init(&req);
        req.prompt = c->cases[i].prompt;
        req.max_tokens = 64;
        req.temperature = 0.0f;
        req.stop = stop;
        req.n_stop = 1;
        eco_infer_response resp;
        if (e->infer(e, &req, &resp) != ECO_STATUS_OK) {
            fprintf(stderr, "bench_eval: infer: %s\n", eco_last_error());
            return -1;
        }
        *tokens += resp.n_tokens;
        eco_infer_response_free(&resp);
    }
    return eco_now() - t0;
}

static double eval_run(eco_engine *e, const eco_eval_corpus *c, bool robust, double *pass,
                       size_t *tokens) {
    eco_eval_caps caps;
    eco_eval_caps_init(&caps);
    caps.robustness = robust;
    eco_eval_llama_scorer(e, &caps.scorer);
    eco_eval_report r;
    double t0 = eco_now();
    if (eco_evaluate(e, c, &caps, "eco-tiny", "text.reverse@1", NULL, NULL, &r) != ECO_STATUS_OK) {
        fprintf(stderr, "bench_eval: evaluate: %s\n", eco_last_error());
        return -1;
    }
    double s = eco_now() - t0;
    *pass = r.caps_fig[r.n_caps - 1].quality.rate;
    *tokens = 0;
    for (size_t i = 0; i < r.n_results; i++) *tokens += r.results[i].gen_tokens;
    eco_eval_report_free(&r);
    return s;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 500;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    if (n == 0) n = 500;
    eco_set_threads(threads);
    char *model = bench_source_path("data/models/eco-tiny");
    char *adapter = bench_source_path("data/adapters/text.reverse@1");
    eco_engine *e = NULL;
    eco_eval_corpus *c = NULL;
    if (!model || !adapter || eco_llama_engine_open_adapter(model, adapter, NULL, &e) ||
        make_corpus(n, &c)) {
        printf("bench_eval: cannot set up (%s); run from the source folder or set "
               "ECO_SOURCE_DIR\n",
               eco_last_error());
        return 0;
    }
    printf("bench_eval: eco-tiny + text.reverse@1, %zu cases, %d thread(s), load %.2f\n",
           c->n_cases, eco_get_threads(), bench_loadavg());
    double raw[RUNS], ev[RUNS], pass = 0;
    size_t raw_tok = 0, ev_tok = 0;
    for (int r = 0; r < RUNS; r++) {
        raw[r] = raw_run(e, c, &raw_tok);
        ev[r] = eval_run(e, c, false, &pass, &ev_tok);
        if (raw[r] < 0 || ev[r] < 0) return 0;
    }
    double ratio[RUNS];
    for (int r = 0; r < RUNS; r++) ratio[r] = ev[r] / raw[r];
    double mr = bench_median(raw, RUNS), me = bench_median(ev, RUNS);
    double mratio = bench_median(ratio, RUNS);
    printf("  raw generation   %7.3f s  %7.1f cases/s  %8.0f tok/s  (%zu tokens)\n", mr,
           (double)c->n_cases / mr, (double)raw_tok / mr, raw_tok);
    printf("  eco_evaluate     %7.3f s  %7.1f cases/s  %8.0f tok/s  (%zu tokens; pass %.3f)\n", me,
           (double)c->n_cases / me, (double)ev_tok / me, ev_tok, pass);
    printf("  overhead         %+6.2f%% (median of %d paired ratios; target < 5%%)\n",
           100.0 * (mratio - 1.0), RUNS);
    double rb = eval_run(e, c, true, &pass, &ev_tok);
    if (rb > 0)
        printf("  with robustness  %7.3f s  %7.1f cases/s  (%.2fx the plain evaluation)\n", rb,
               (double)c->n_cases / rb, rb / me);
    printf("  load after: %.2f\n", bench_loadavg());
    eco_eval_corpus_free(c);
    eco_engine_destroy(e);
    free(model);
    free(adapter);
    return 0;
}
