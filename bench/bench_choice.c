/*
 * bench_choice: choice cases (scored by log-probability, no generation) on the default model
 * with an adapter: eco_evaluate with the llama scorer, which runs the prompt the options share
 * once and scores each option from its KV state, against the same evaluation with the
 * reference scorer (eco_eval_llama_scorer_ref: one forward over prompt + option per option,
 * the scorer as it was before), measured in the same run.
 *
 *   ref:     eco_evaluate, caps.scorer = eco_eval_llama_scorer_ref
 *   shared:  eco_evaluate, caps.scorer = eco_eval_llama_scorer
 *
 * Robustness off (choice cases have no perturbed runs anyway). ref and shared alternate RUNS
 * times; medians, and the median of the paired ratios ref / shared. Also checks that both
 * pick the same option in every case and prints the largest difference of the confidences.
 *
 * Usage: bench_choice [CORPUS.jsonl | -] [threads (default 1)] [adapter folder (default
 *        data/adapters/sentiment.imdb@1)]
 * Without a corpus (or "-"): every item of the sentiment.imdb@1 EVAL split (98) as a choice
 * case, options " positive" and " negative" (the completions it is trained on), answer the
 * item's label — the cases `ecology corpus build --capability sentiment.imdb@1` writes as
 * exact ones.
 * A benchmark, not a test: prints figures, never fails (returns 0 after saying why).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bench_common.h"
#include "ecology/engine.h"
#include "ecology/evaluator.h"
#include "ecology/tasks.h"

#define RUNS 5

/* The sentiment.imdb@1 EVAL split as choice cases. */
static eco_status make_corpus(eco_eval_corpus **out) {
    const eco_capability *cap = NULL;
    eco_status st = eco_tasks_find("sentiment.imdb@1", &cap);
    if (st) return st;
    const size_t n = 98;
    eco_task_item *items = NULL;
    if ((st = eco_tasks_generate(cap, ECO_TASK_SPLIT_EVAL, n, 0, &items))) return st;
    eco_buf b = {0};
    for (size_t i = 0; i < n; i++) {
        int answer = strstr(items[i].completion, "negative") ? 1 : 0;
        json_t *o = json_pack("{s:s, s:s, s:s, s:[s,s], s:i}", "capability", "sentiment.imdb@1",
                              "prompt", items[i].prompt, "check", "choice", "options", " positive",
                              " negative", "answer", answer);
        char *line = json_dumps(o, JSON_COMPACT);
        eco_buf_puts(&b, line);
        eco_buf_push(&b, '\n');
        free(line);
        json_decref(o);
    }
    eco_task_items_free(items, n);
    st = eco_eval_corpus_parse(b.data, b.len, "sentiment.imdb@1 EVAL (choice)", out);
    eco_buf_free(&b);
    return st;
}

/* One evaluation with scorer sc: seconds, or −1; *out filled (caller frees). */
static double run(eco_engine *e, const eco_eval_corpus *c, const eco_eval_scorer *sc,
                  eco_eval_report *out) {
    eco_eval_caps caps;
    eco_eval_caps_init(&caps);
    caps.robustness = false;
    caps.scorer = *sc;
    double t0 = eco_now();
    if (eco_evaluate(e, c, &caps, "eco-tiny", "adapter", NULL, NULL, out) != ECO_STATUS_OK) {
        fprintf(stderr, "bench_choice: evaluate: %s\n", eco_last_error());
        return -1;
    }
    return eco_now() - t0;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 && strcmp(argv[1], "-") != 0 ? argv[1] : NULL;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    eco_set_threads(threads > 0 ? threads : 1);
    char *model = bench_source_path("data/models/eco-tiny");
    char *adapter =
        argc > 3 ? strdup(argv[3]) : bench_source_path("data/adapters/sentiment.imdb@1");
    eco_engine *e = NULL;
    eco_eval_corpus *c = NULL;
    if (!model || !adapter || eco_llama_engine_open_adapter(model, adapter, NULL, &e) ||
        (path ? eco_eval_corpus_load(path, &c) : make_corpus(&c))) {
        printf("bench_choice: cannot set up (%s); run from the source folder or set "
               "ECO_SOURCE_DIR\n",
               eco_last_error());
        return 0;
    }
    size_t n_choice = 0, n_options = 0, prompt_bytes = 0;
    for (size_t i = 0; i < c->n_cases; i++)
        if (c->cases[i].check == ECO_CHECK_CHOICE) {
            n_choice++;
            n_options += c->cases[i].n_options;
            prompt_bytes += c->cases[i].prompt_len;
        }
    printf("bench_choice: eco-tiny + %s, %s: %zu cases (%zu choice, %.1f options and %.0f prompt "
           "bytes each), %d thread(s), load %.2f\n",
           adapter, c->label, c->n_cases, n_choice, n_choice ? (double)n_options / n_choice : 0.0,
           n_choice ? (double)prompt_bytes / n_choice : 0.0, eco_get_threads(), bench_loadavg());
    eco_eval_scorer ref, shared;
    eco_eval_llama_scorer_ref(e, &ref);
    eco_eval_llama_scorer(e, &shared);
    double tr[RUNS], ts[RUNS], ratio[RUNS];
    size_t differ = 0;
    double max_dconf = 0.0, pass_r = 0, pass_s = 0;
    for (int k = 0; k < RUNS; k++) {
        eco_eval_report a, b;
        tr[k] = run(e, c, &ref, &a);
        ts[k] = run(e, c, &shared, &b);
        if (tr[k] < 0 || ts[k] < 0) return 0;
        ratio[k] = tr[k] / ts[k];
        if (k == 0) {
            for (size_t i = 0; i < a.n_results; i++) {
                differ += a.results[i].chosen != b.results[i].chosen;
                double d = fabs(a.results[i].confidence - b.results[i].confidence);
                if (d > max_dconf) max_dconf = d;
            }
            pass_r = a.caps_fig[a.n_caps - 1].quality.rate;
            pass_s = b.caps_fig[b.n_caps - 1].quality.rate;
        }
        eco_eval_report_free(&a);
        eco_eval_report_free(&b);
    }
    double mr = bench_median(tr, RUNS), ms = bench_median(ts, RUNS);
    printf("  ref (a forward per option)    %7.3f s  %7.1f cases/s  (pass %.3f)\n", mr,
           (double)c->n_cases / mr, pass_r);
    printf("  shared prompt, KV state kept  %7.3f s  %7.1f cases/s  (pass %.3f)\n", ms,
           (double)c->n_cases / ms, pass_s);
    printf("  speed-up %.2fx (median of %d paired ratios ref / shared); options chosen "
           "differently: %zu; largest |Δ confidence| %.3g\n",
           bench_median(ratio, RUNS), RUNS, differ, max_dconf);
    printf("  load after: %.2f\n", bench_loadavg());
    eco_eval_corpus_free(c);
    eco_engine_destroy(e);
    free(model);
    free(adapter);
    return 0;
}
