/*
 * The evaluator's run on the shipped default model (data/models/eco-tiny) and its
 * text.reverse@1 adapter (data/adapters/): on a corpus of held-out reverse items written
 * here, the adapter passes most and the bare base few (numbers printed); the llama scorer
 * agrees with the engine's own per-token log-probabilities on the text it generated (so a
 * choice case is scored as generation would score it); a choice case picks the option the
 * model generates; and two runs give identical results apart from timings.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "test_util.h"

#include "ecology/engine.h"
#include "ecology/evaluator.h"
#include "ecology/tasks.h"

#define N_CASES 24

/* A corpus of N_CASES held-out text.reverse@1 items as exact cases. */
static eco_eval_corpus *reverse_corpus(void) {
    const eco_capability *cap = NULL;
    ECO_ASSERT_OK(eco_tasks_find("text.reverse@1", &cap));
    eco_task_item *items = NULL;
    const size_t n_items = 4 * N_CASES; /* the split repeats items: keep distinct prompts */
    ECO_ASSERT_OK(eco_tasks_generate(cap, ECO_TASK_SPLIT_EVAL, n_items, 19, &items));
    eco_buf b = {0};
    size_t kept = 0;
    for (size_t i = 0; i < n_items && kept < N_CASES; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(items[j].prompt, items[i].prompt) == 0;
        if (seen) continue;
        kept++;
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:[s]}", "capability", "text.reverse@1",
                              "prompt", items[i].prompt, "check", "exact", "expected",
                              items[i].completion, "tags", "in-distribution");
        char *s = json_dumps(o, JSON_COMPACT);
        assert_true(eco_buf_puts(&b, s) && eco_buf_push(&b, '\n'));
        free(s);
        json_decref(o);
    }
    assert_int_equal(kept, N_CASES);
    eco_task_items_free(items, n_items);
    eco_eval_corpus *c = NULL;
    ECO_ASSERT_OK(eco_eval_corpus_parse(b.data, b.len, "reverse.jsonl", &c));
    eco_buf_free(&b);
    return c;
}

static eco_eval_report evaluate(eco_engine *e, const eco_eval_corpus *c, bool robustness) {
    eco_eval_caps caps;
    eco_eval_caps_init(&caps);
    caps.robustness = robustness;
    caps.max_tokens = 24;
    caps.threads = 1; /* a model this small only loses from more (and the machine is shared) */
    eco_eval_llama_scorer(e, &caps.scorer);
    eco_eval_report r;
    ECO_ASSERT_OK(eco_evaluate(e, c, &caps, "eco-tiny", NULL, NULL, NULL, &r));
    return r;
}

static void test_adapter_beats_base(void **state) {
    (void)state;
    char *model = eco_test_source_path("data/models/eco-tiny");
    char *adapter = eco_test_source_path("data/adapters/text.reverse@1");
    eco_eval_corpus *c = reverse_corpus();
    eco_engine *base = NULL, *tuned = NULL;
    ECO_ASSERT_OK(eco_llama_engine_open(model, NULL, &base));
    ECO_ASSERT_OK(eco_llama_engine_open_adapter(model, adapter, NULL, &tuned));
    double t0 = eco_now();
    eco_eval_report rb = evaluate(base, c, false);
    eco_eval_report ra = evaluate(tuned, c, true);
    double secs = eco_now() - t0;
    const eco_eval_cap_figures *fb = &rb.caps_fig[rb.n_caps - 1], *fa = &ra.caps_fig[ra.n_caps - 1];
    printf("text.reverse@1, %d held-out cases (%.1f s):\n", N_CASES, secs);
    printf("  base     %llu/%llu = %.3f [%.3f, %.3f]  ECE %.3f  p50 %.2f ms\n",
           (unsigned long long)fb->quality.k, (unsigned long long)fb->quality.n, fb->quality.rate,
           fb->quality.lo, fb->quality.hi, fb->calibration.ece_em, rb.latency_ms.p50);
    printf("  adapter  %llu/%llu = %.3f [%.3f, %.3f]  ECE %.3f  p50 %.2f ms  robustness "
           "mean %.3f worst %.3f (%s)\n",
           (unsigned long long)fa->quality.k, (unsigned long long)fa->quality.n, fa->quality.rate,
           fa->quality.lo, fa->quality.hi, fa->calibration.ece_em, ra.latency_ms.p50,
           fa->robustness.mean, fa->robustness.worst,
           eco_perturb_kind_name((eco_perturb_kind)fa->robustness.worst_kind));
    for (int k = 0; k < ECO_PERTURB__COUNT; k++)
        printf("    %-6s %.3f\n", eco_perturb_kind_name((eco_perturb_kind)k), fa->robust_pass[k]);
    printf("  decode %.0f tok/s, prompt %.0f tok/s, peak RSS %.1f MiB, %lld params\n",
           ra.decode_tok_s, ra.prompt_tok_s, (double)ra.peak_rss_bytes / (1 << 20),
           (long long)ra.n_params);
    assert_true(fa->quality.rate >= 0.75);
    assert_true(fb->quality.rate <= 0.25);
    assert_true(fa->quality_by_tag[0].n == N_CASES);
    assert_true(ra.n_params > 0 && ra.bytes_on_disk > 0);
    for (size_t i = 0; i < ra.n_results; i++) {
        assert_true(ra.results[i].confidence >= 0.0 && ra.results[i].confidence <= 1.0);
        assert_true(ra.results[i].gen_tokens > 0);
    }

    /* determinism on the real engine: a second run of the base gives the same results */
    eco_eval_report rb2 = evaluate(base, c, false);
    for (size_t i = 0; i < rb.n_results; i++) {
        assert_int_equal(rb.results[i].passed, rb2.results[i].passed);
        assert_int_equal(rb.results[i].output_len, rb2.results[i].output_len);
        assert_memory_equal(rb.results[i].output, rb2.results[i].output, rb.results[i].output_len);
        assert_true(rb.results[i].confidence == rb2.results[i].confidence);
    }
    eco_eval_report_free(&rb2);
    eco_eval_report_free(&rb);
    eco_eval_report_free(&ra);
    eco_engine_destroy(base);
    eco_engine_destroy(tuned);
    eco_eval_corpus_free(c);
    free(model);
    free(adapter);
}

/* The scorer's sum over a continuation equals the engine's logprobs of the same tokens:
 * generate greedily, score the text generated. Tolerance 1e-4 (float logits, a double sum
 * over a few tokens; the engine's log-probabilities are floats). Then a choice case between
 * that text and a wrong one picks the generated one. */
static void test_scorer_matches_engine(void **state) {
    (void)state;
    char *model = eco_test_source_path("data/models/eco-tiny");
    char *adapter = eco_test_source_path("data/adapters/text.reverse@1");
    eco_engine *e = NULL;
    ECO_ASSERT_OK(eco_llama_engine_open_adapter(model, adapter, NULL, &e));
    const char *prompt = "Reverse: kosjeco\nReversed:";
    eco_infer_request req;
    eco_infer_request_init(&req);
    req.prompt = prompt;
    req.max_tokens = 6;
    eco_infer_response resp;
    ECO_ASSERT_OK(e->infer(e, &req, &resp));
    double want = 0.0;
    for (size_t i = 0; i < resp.n_tokens; i++) want += resp.logprobs[i];
    eco_eval_scorer sc;
    eco_eval_llama_scorer(e, &sc);
    const char *opts[2] = {resp.text, " zzzz"};
    eco_eval_option_score os[2];
    ECO_ASSERT_OK(sc.score(sc.ctx, prompt, opts, 2, os));
    double got = os[0].logprob;
    size_t n = os[0].n_tokens;
    assert_int_equal(os[0].context, 0);
    eco_eval_scorer sr; /* the reference: prompt and text in one forward */
    eco_eval_llama_scorer_ref(e, &sr);
    eco_eval_option_score rs[2];
    ECO_ASSERT_OK(sr.score(sr.ctx, prompt, opts, 2, rs));
    printf("\"%s\" after the prompt: scorer %.6f, engine %.6f (|diff| %.2e; the reference "
           "scorer's %.2e), %zu tokens\n",
           resp.text, got, want, fabs(got - want), fabs(rs[0].logprob - want), n);
    assert_int_equal(n, resp.n_tokens);
    assert_true(fabs(got - want) < 1e-4);

    /* a choice case: the generated text against its reverse */
    char wrong[64];
    size_t len = resp.text_len;
    assert_true(len > 1 && len < sizeof wrong);
    for (size_t i = 0; i < len; i++) wrong[i] = resp.text[len - 1 - i];
    wrong[len] = '\0';
    if (strcmp(wrong, resp.text) == 0) strcpy(wrong, " zzzz");
    json_t *o = json_pack("{s:s, s:s, s:s, s:[s,s], s:i}", "capability", "pick@1", "prompt", prompt,
                          "check", "choice", "options", wrong, resp.text, "answer", 1);
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    eco_eval_corpus *c = NULL;
    ECO_ASSERT_OK(eco_eval_corpus_parse(line, strlen(line), "choice.jsonl", &c));
    eco_eval_report r = evaluate(e, c, true);
    printf("choice: picked %d with confidence %.4f\n", r.results[0].chosen,
           r.results[0].confidence);
    assert_int_equal(r.results[0].chosen, 1);
    assert_true(r.results[0].passed);
    assert_true(r.results[0].confidence > 0.5 && r.results[0].confidence <= 1.0);
    eco_eval_report_free(&r);
    eco_eval_corpus_free(c);
    free(line);
    eco_infer_response_free(&resp);
    eco_engine_destroy(e);
    free(model);
    free(adapter);
}

/* The scorer that runs the prompt the options share once, then each option from that KV
 * state, against its reference twin (eco_eval_llama_scorer_ref: one forward over prompt +
 * option per option, the scorer as it was before): the same tokens counted and the same
 * log-probabilities, on the shipped sentiment adapter over held-out sentiment prompts (long
 * shared prompts, the options " positive" / " negative") and on reverse prompts with options
 * of several tokens and a BPE-free split (one option a prefix of another). Prints the
 * largest difference. An option past the context (512) is marked by both, not scored. */
static void test_shared_prompt_matches_ref(void **state) {
    (void)state;
    char *model = eco_test_source_path("data/models/eco-tiny");
    char *adapter = eco_test_source_path("data/adapters/sentiment.imdb@1");
    eco_engine *e = NULL;
    ECO_ASSERT_OK(eco_llama_engine_open_adapter(model, adapter, NULL, &e));
    eco_eval_scorer fast, ref;
    eco_eval_llama_scorer(e, &fast);
    eco_eval_llama_scorer_ref(e, &ref);
    const eco_capability *cap = NULL;
    ECO_ASSERT_OK(eco_tasks_find("sentiment.imdb@1", &cap));
    eco_task_item *items = NULL;
    const size_t n_items = 12;
    ECO_ASSERT_OK(eco_tasks_generate(cap, ECO_TASK_SPLIT_EVAL, n_items, 3, &items));
    static const char *const sent[] = {" positive", " negative"};
    static const char *const rev[] = {" abc", " ab", " cba xyz", "c", " a longer option here"};
    double max_diff = 0.0;
    size_t compared = 0;
    for (size_t k = 0; k < n_items + 2; k++) {
        const char *prompt = k < n_items    ? items[k].prompt
                             : k == n_items ? "Reverse: cba\nReversed:"
                                            : "Sort: zyx\nSorted:";
        const char *const *opts = k < n_items ? sent : rev;
        const size_t n = k < n_items ? 2 : 5;
        eco_eval_option_score a[5], b[5];
        ECO_ASSERT_OK(fast.score(fast.ctx, prompt, opts, n, a));
        ECO_ASSERT_OK(ref.score(ref.ctx, prompt, opts, n, b));
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(a[i].n_tokens, b[i].n_tokens);
            assert_int_equal(a[i].n_positions, b[i].n_positions);
            assert_int_equal(a[i].context, 0);
            assert_true(a[i].n_tokens > 0 && a[i].logprob < 0);
            double d = fabs(a[i].logprob - b[i].logprob);
            if (d > max_diff) max_diff = d;
            compared++;
        }
    }
    printf("%zu options scored from the shared prompt's KV state vs one forward each: largest "
           "|Δ log-prob| %.3g\n",
           compared, max_diff);
    assert_true(max_diff < 1e-4);
    /* past the context: a prompt of 600 bytes (the byte tokenizer: 601 tokens with BOS) */
    char longp[601];
    memset(longp, 'a', 600);
    longp[600] = '\0';
    eco_eval_option_score a[2], b[2];
    ECO_ASSERT_OK(fast.score(fast.ctx, longp, sent, 2, a));
    ECO_ASSERT_OK(ref.score(ref.ctx, longp, sent, 2, b));
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(a[i].context, 512);
        assert_int_equal(b[i].context, 512);
        assert_true(a[i].n_positions > 512 && a[i].n_positions == b[i].n_positions);
        assert_true(a[i].logprob == 0 && a[i].n_tokens == 0);
    }
    eco_task_items_free(items, n_items);
    eco_engine_destroy(e);
    free(model);
    free(adapter);
}

/* A choice case whose prompt does not fit the context fails with its reason and the run goes
 * on to the next case (issue 19), on the real engine and scorer; likewise a generated case
 * whose prompt + max_tokens does not fit. */
static void test_over_context_real(void **state) {
    (void)state;
    char *model = eco_test_source_path("data/models/eco-tiny");
    eco_engine *e = NULL;
    ECO_ASSERT_OK(eco_llama_engine_open(model, NULL, &e));
    eco_buf b = {0};
    char longp[601];
    memset(longp, 'a', 600);
    longp[600] = '\0';
    const char *const checks[2] = {"choice", "exact"};
    for (int k = 0; k < 2; k++) {
        json_t *o = k == 0
                        ? json_pack("{s:s, s:s, s:s, s:[s,s], s:i}", "capability", "c@1", "prompt",
                                    longp, "check", "choice", "options", " a", " b", "answer", 0)
                        : json_pack("{s:s, s:s, s:s, s:s}", "capability", "x@1", "prompt", longp,
                                    "check", checks[k], "expected", "a");
        char *line = json_dumps(o, JSON_COMPACT);
        assert_true(eco_buf_puts(&b, line) && eco_buf_push(&b, '\n'));
        free(line);
        json_decref(o);
    }
    assert_true(eco_buf_puts(&b, "{\"capability\":\"x@1\",\"prompt\":\"Reverse: ab\\nReversed:\","
                                 "\"check\":\"regex\",\"pattern\":\".*\"}\n"));
    eco_eval_corpus *c = NULL;
    ECO_ASSERT_OK(eco_eval_corpus_parse(b.data, b.len, "long.jsonl", &c));
    eco_buf_free(&b);
    eco_eval_report r = evaluate(e, c, true);
    assert_int_equal(r.n_results, 3);
    printf("choice: %s\nexact: %s\n", r.results[0].reason, r.results[1].reason);
    assert_true(r.results[0].over_context && !r.results[0].passed);
    assert_string_equal(r.results[0].reason, "options[0]: prompt and option of 603 tokens exceed "
                                             "the model's context of 512");
    assert_true(r.results[1].over_context && !r.results[1].passed);
    assert_non_null(strstr(r.results[1].reason, "prompt of 601 tokens + 24 to generate: 625 "
                                                "positions exceed the model's context of 512"));
    assert_false(r.results[2].over_context);
    assert_true(r.results[2].passed); /* regex ".*": any output */
    assert_int_equal(r.caps_fig[r.n_caps - 1].quality.n, 3);
    assert_int_equal(r.caps_fig[r.n_caps - 1].quality.k, 1);
    eco_eval_report_free(&r);
    eco_eval_corpus_free(c);
    eco_engine_destroy(e);
    free(model);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adapter_beats_base),
        cmocka_unit_test(test_scorer_matches_engine),
        cmocka_unit_test(test_shared_prompt_matches_ref),
        cmocka_unit_test(test_over_context_real),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
