/*
 * bench_rl: GRPO rollouts (rl.h: eco_rl_run) beside plain batched generation of the same
 * requests, measured in the same run, and the time split of an rl step.
 *
 *   1. Sampling throughput, per configuration (eco-tiny with arith.add@1, and with
 *      json.record@1 whose completions are longer), `batch` prompts x `group` completions,
 *      the settings of `ecology rl`'s defaults (temperature 1, top_p 1, max_tokens = the
 *      capability's max_completion_bytes + 8, seed 0):
 *      (a) rollout tokens/s: the whole sampling phase of step 1 of eco_rl_run continuing
 *          the shipped adapter (policy widened from the training model, generation, rewards,
 *          training rows), read from the loop's own eco_rl_step_info (tokens /
 *          sample_seconds) through on_step;
 *      (b) plain: the same requests through eco_llama_generate_batch alone, on an engine
 *          opened once, with the shipped adapter loaded from its folder and widened once;
 *      (c) sequential: the same requests one by one through engine->infer, the adapter
 *          attached (eco_llama_engine_open_adapter).
 *      The same prompts: every repeat of (a) is a fresh run timed at its first step, whose
 *      prompts are stream positions 0..batch-1 (items 0..batch-1 of eco_tasks_generate(cap,
 *      TRAIN, ., seed)) and whose policy is the shipped adapter unchanged (no update has run
 *      yet), so (a), (b) and (c) sample the same tokens from the same seeds
 *      (eco_rl_sample_seed); the token counts are compared and printed. Reproducing step 1
 *      rather than timing later steps keeps the baseline's requests identical: a later
 *      step's prompts and policy differ from the first's. Each fresh run evaluates
 *      `eval_n` held-out items at step 0 before it samples (as `ecology rl` does), so its
 *      engine is warm, like (b)'s; that evaluation is outside sample_seconds. (a), (b) and
 *      (c) are interleaved within each repeat; medians are printed, and beside them the
 *      best repeat of (a) and (b) (on a shared machine, the least disturbed). A breakdown
 *      of the rollout follows: the policy's widening (eco_train_model_adapter on a training
 *      model holding the adapter), and the post-processing of the responses (decode to
 *      check the stop, re-encode the prompt, reward), reproduced with the public calls
 *      rl_rollout makes; and plain generation split into its prompt passes (run one
 *      request at a time, each response's prompt_ms) and the batched decode steps.
 *      Where the linker has --wrap (Linux; CMakeLists.txt), the loop's own call of
 *      eco_llama_generate_batch is timed too, so the sampling phase splits, within the same
 *      step, into generation and everything else (the overhead the ratio is about, free of
 *      the run-to-run noise of a shared machine).
 *   2. The time split of an rl step: sample_seconds and update_seconds from the loop over
 *      `steps` steps of one run (medians over the steps), for iterations 1 and 2 and beta 0
 *      and 0.04 (reference "start"), on arith.add@1; no evaluation.
 *
 *   bench_rl [--threads N] [--reps N] [--steps N] [--batch B] [--group G] [--eval-n N]
 *            [--only-first]
 *     --threads     kernel threads (default: OpenMP's; the figure printed is the count used)
 *     --reps        repeats of figure 1, medians taken (default 5)
 *     --steps       steps of each run of figure 2 (default 6)
 *     --batch, --group   prompts and completions per prompt (default 8 x 8)
 *     --eval-n      held-out items evaluated at step 0 of figure 1's runs (default 16)
 *     --only-first  figure 1 on arith.add@1 only
 *
 * Data from $ECO_SOURCE_DIR (or .): data/models/eco-tiny, data/adapters/<capability>.
 * Prints figures with the 1-minute load average; never fails a build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "ecology/engine.h"
#include "ecology/model.h"
#include "ecology/peft.h"
#include "ecology/rl.h"
#include "ecology/tasks.h"
#include "ecology/tokenizer.h"
#include "ecology/train.h"
#include "ecology/trainer.h"

#define MAX_REPS  32
#define MAX_STEPS 64

static int reps = 5, steps = 6, eval_n = 16;
static int64_t batch = 8, group = 8;
static const uint64_t seed = 0;
static char *tmp_dir, *model_dir;
static volatile double reward_sink;

static int fail(const char *what) {
    fprintf(stderr, "bench_rl: %s: %s\n", what, eco_last_error());
    return 1;
}

static double bench_min(const double *v, int n) {
    double m = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] < m) m = v[i];
    return m;
}

/* ---- the loop's own generation call, timed ------------------------------------------------ */

/* Seconds spent in eco_llama_generate_batch calls that sample (temperature > 0: rollouts,
 * not the greedy held-out evaluation) since the last reset; negative when not measured. */
static double gen_seconds = -1;

#ifdef ECO_BENCH_WRAP_GENERATE
/* Linked with -Wl,--wrap=eco_llama_generate_batch (CMakeLists.txt): every call of the
 * library's, rl_rollout's included, comes here first. */
eco_status __real_eco_llama_generate_batch(eco_engine *e, const eco_model_adapter *ad,
                                           const eco_infer_request *reqs, size_t n,
                                           eco_infer_response *resps);
eco_status __wrap_eco_llama_generate_batch(eco_engine *e, const eco_model_adapter *ad,
                                           const eco_infer_request *reqs, size_t n,
                                           eco_infer_response *resps);
eco_status __wrap_eco_llama_generate_batch(eco_engine *e, const eco_model_adapter *ad,
                                           const eco_infer_request *reqs, size_t n,
                                           eco_infer_response *resps) {
    const double t0 = eco_now();
    eco_status st = __real_eco_llama_generate_batch(e, ad, reqs, n, resps);
    if (n > 0 && reqs && reqs[0].temperature > 0) gen_seconds += eco_now() - t0;
    return st;
}
static void gen_reset(void) { gen_seconds = 0; }
#else
static void gen_reset(void) { gen_seconds = -1; }
#endif

/* ---- eco_rl_run with a step callback ------------------------------------------------------ */

typedef struct step_log {
    int n;
    double sample_s[MAX_STEPS], update_s[MAX_STEPS], gen_s[MAX_STEPS];
    int64_t tokens[MAX_STEPS];
} step_log;

static void on_step(void *ctx, const eco_rl_step_info *in) {
    step_log *l = ctx;
    if (l->n >= MAX_STEPS) return;
    l->sample_s[l->n] = in->sample_seconds;
    l->update_s[l->n] = in->update_seconds;
    l->gen_s[l->n] = gen_seconds; /* the step's sampling calls (the evaluation is greedy) */
    l->tokens[l->n] = in->tokens;
    l->n++;
    gen_reset();
}

/* One eco_rl_run continuing adapter_dir on cap; per-step figures into *l. */
static int rl_run(const eco_capability *cap, const char *adapter_dir, int64_t n_steps,
                  int64_t iterations, double beta, size_t n_eval, step_log *l) {
    static int run_no;
    char name[32];
    snprintf(name, sizeof name, "run%d", run_no++);
    char *out = eco_path_join(tmp_dir, name);
    if (!out) return fail("out of memory");
    const eco_capability *caps[1] = {cap};
    eco_rl_options o;
    eco_rl_options_init(&o);
    o.model_dir = model_dir;
    o.init_adapter = adapter_dir;
    o.caps = caps;
    o.n_caps = 1;
    o.adapter_out = out;
    o.force = true;
    o.steps = n_steps;
    o.batch = batch;
    o.group = group;
    o.iterations = iterations;
    o.grpo.beta = beta;
    o.seed = seed;
    o.eval_n = n_eval;
    o.on_step = on_step;
    o.on_step_ctx = l;
    memset(l, 0, sizeof *l);
    gen_reset();
    eco_rl_result res;
    eco_status st = eco_rl_run(&o, &res);
    eco_remove_tree(out);
    free(out);
    return st == ECO_STATUS_OK ? 0 : fail("eco_rl_run");
}

/* ---- the same requests outside the loop ----------------------------------------------------- */

typedef struct reqset {
    const eco_capability *cap;
    eco_task_item *items;    /* [batch] */
    eco_infer_request *reqs; /* [batch * group], group-major */
    eco_infer_response *resps;
    size_t n;
    int max_tokens;
} reqset;

static const char *const stop[1] = {ECO_TASKS_STOP};

/* The requests of step 1 exactly as rl_rollout builds them (rl.h, step 2). */
static int reqset_init(reqset *s, const eco_capability *cap) {
    memset(s, 0, sizeof *s);
    s->cap = cap;
    s->n = (size_t)(batch * group);
    s->max_tokens = (int)cap->max_completion_bytes + 8;
    if (eco_tasks_generate(cap, ECO_TASK_SPLIT_TRAIN, (size_t)batch, seed, &s->items))
        return fail("prompts");
    s->reqs = calloc(s->n, sizeof *s->reqs);
    s->resps = calloc(s->n, sizeof *s->resps);
    if (!s->reqs || !s->resps) return fail("out of memory");
    for (int64_t i = 0; i < batch; i++)
        for (int64_t j = 0; j < group; j++) {
            eco_infer_request *q = &s->reqs[i * group + j];
            eco_infer_request_init(q);
            q->capability = cap->name;
            q->prompt = s->items[i].prompt;
            q->max_tokens = s->max_tokens;
            q->temperature = 1.0f;
            q->top_p = 1.0f;
            q->seed = eco_rl_sample_seed(seed, i, j);
            q->stop = stop;
            q->n_stop = 1;
        }
    return 0;
}

static void reqset_clear(reqset *s) {
    for (size_t i = 0; i < s->n; i++) eco_infer_response_free(&s->resps[i]);
}

static void reqset_free(reqset *s) {
    if (s->resps) reqset_clear(s);
    eco_task_items_free(s->items, (size_t)batch);
    free(s->reqs);
    free(s->resps);
    memset(s, 0, sizeof *s);
}

static int64_t reqset_tokens(const reqset *s) {
    int64_t t = 0;
    for (size_t i = 0; i < s->n; i++) t += (int64_t)s->resps[i].n_tokens;
    return t;
}

/* Plain batched generation: seconds, tokens into *tokens (responses kept in s). */
static double plain_batch(eco_engine *e, const eco_model_adapter *ad, reqset *s, int64_t *tokens) {
    reqset_clear(s);
    const double t0 = eco_now();
    if (eco_llama_generate_batch(e, ad, s->reqs, s->n, s->resps)) {
        fail("eco_llama_generate_batch");
        return -1;
    }
    const double dt = eco_now() - t0;
    *tokens = reqset_tokens(s);
    return dt;
}

/* Seconds the responses in s spent in their prompt passes (run one request at a time, so
 * they add up) and prompt tokens. */
static double prompt_seconds(const reqset *s, int64_t *prompt_tokens) {
    double ms = 0;
    *prompt_tokens = 0;
    for (size_t i = 0; i < s->n; i++) {
        ms += s->resps[i].prompt_ms;
        *prompt_tokens += (int64_t)s->resps[i].n_prompt_tokens;
    }
    return 1e-3 * ms;
}

/* Sequential single infers on an engine with the adapter attached. */
static double sequential(eco_engine *e, reqset *s, int64_t *tokens) {
    reqset_clear(s);
    const double t0 = eco_now();
    for (size_t i = 0; i < s->n; i++)
        if (e->infer(e, &s->reqs[i], &s->resps[i])) {
            fail("infer");
            return -1;
        }
    const double dt = eco_now() - t0;
    *tokens = reqset_tokens(s);
    return dt;
}

/* What rl_rollout does with the responses after generation (decode the tokens to see
 * whether the stop ended them, re-encode the prompt for the training row, reward): seconds. */
static double post_process(const eco_tokenizer *tok, const reqset *s) {
    eco_rl_reward_weights w = {.correct = 1.0};
    double sink = 0;
    const double t0 = eco_now();
    for (size_t i = 0; i < s->n; i++) {
        const eco_infer_response *r = &s->resps[i];
        char *text;
        size_t len;
        if (eco_tokenizer_decode(tok, r->tokens, r->n_tokens, false, &text, &len)) return -1;
        bool by_stop = memchr(text, ECO_TASKS_STOP[0], len) != NULL;
        free(text);
        int32_t *ids;
        size_t n_ids;
        const char *p = s->reqs[i].prompt;
        if (eco_tokenizer_encode(tok, p, strlen(p), true, &ids, &n_ids)) return -1;
        int32_t *row = malloc((n_ids + r->n_tokens + 1) * sizeof *row);
        if (!row) return -1;
        memcpy(row, ids, n_ids * sizeof *row);
        memcpy(row + n_ids, r->tokens, r->n_tokens * sizeof *row);
        free(ids);
        free(row);
        sink += eco_rl_reward(s->cap, &s->items[i / (size_t)group], r->text, r->text_len, by_stop,
                              r->n_tokens, (size_t)s->max_tokens, &w)
                    .reward;
    }
    const double dt = eco_now() - t0;
    reward_sink += sink;
    return dt;
}

/* The policy's widening as sample_step does it: median seconds over reps. */
static double widening(const eco_model *target, const char *adapter_dir) {
    eco_peft_config pc;
    if (eco_peft_config_load(adapter_dir, &pc)) return -1;
    eco_train_options to;
    memset(&to, 0, sizeof to);
    to.mode = ECO_TRAIN_MODE_LORA;
    to.lora = pc;
    to.seed = seed;
    to.max_batch = group;
    to.max_seq = 256;
    eco_train_model *m = NULL;
    if (eco_train_model_create(model_dir, &to, &m) || eco_train_load_lora(m, adapter_dir)) {
        eco_train_model_free(m);
        return -1;
    }
    double t[MAX_REPS];
    for (int r = 0; r < reps; r++) {
        eco_model_adapter *ad = NULL;
        const double t0 = eco_now();
        eco_status st = eco_train_model_adapter(m, target, &ad);
        eco_model_adapter_free(ad);
        t[r] = eco_now() - t0;
        if (st) {
            eco_train_model_free(m);
            return -1;
        }
    }
    eco_train_model_free(m);
    return bench_median(t, reps);
}

/* ---- figure 1 --------------------------------------------------------------------------- */

static int figure1(const char *cap_name) {
    const eco_capability *cap;
    if (eco_tasks_find(cap_name, &cap)) return fail(cap_name);
    char rel[128];
    snprintf(rel, sizeof rel, "data/adapters/%s", cap_name);
    char *adapter_dir = bench_source_path(rel);
    reqset s;
    if (!adapter_dir || reqset_init(&s, cap)) return fail("setup");
    eco_engine *e = NULL, *es = NULL;
    eco_lora_adapter *la = NULL;
    eco_model_adapter *ad = NULL;
    if (eco_llama_engine_open(model_dir, NULL, &e) ||
        eco_lora_adapter_load(adapter_dir, eco_model_get_config(eco_llama_engine_model(e)), &la) ||
        eco_model_adapter_create(eco_llama_engine_model(e), la, &ad) ||
        eco_llama_engine_open_adapter(model_dir, adapter_dir, NULL, &es))
        return fail("engine");
    eco_lora_adapter_free(la);

    printf("\n1. %s: %lld prompts x %lld completions, max_tokens %d, temperature 1, top_p 1 "
           "(load %.2f, %d thread(s))\n",
           cap_name, (long long)batch, (long long)group, s.max_tokens, bench_loadavg(),
           eco_get_threads());
    int64_t tk;
    if (plain_batch(e, ad, &s, &tk) < 0) return 1; /* warm-up */
    double rl_tps[MAX_REPS], pl_tps[MAX_REPS], sq_tps[MAX_REPS], ratio[MAX_REPS], speedup[MAX_REPS],
        post[MAX_REPS], rl_s[MAX_REPS], pl_s[MAX_REPS], pl_prompt[MAX_REPS], rl_gen[MAX_REPS],
        rl_rest[MAX_REPS];
    int64_t n_prompt_tokens = 0;
    int64_t rl_tok = -1, pl_tok = -1, sq_tok = -1;
    bool same = true;
    const double load0 = bench_loadavg();
    for (int r = 0; r < reps; r++) {
        step_log l;
        if (rl_run(cap, adapter_dir, 1, 1, 0.0, (size_t)eval_n, &l) || l.n != 1) return 1;
        rl_s[r] = l.sample_s[0];
        rl_gen[r] = l.gen_s[0];
        rl_rest[r] = l.sample_s[0] - l.gen_s[0];
        rl_tps[r] = (double)l.tokens[0] / l.sample_s[0];
        int64_t pt, st_;
        const double dp = plain_batch(e, ad, &s, &pt);
        if (dp < 0) return 1;
        pl_s[r] = dp;
        pl_tps[r] = (double)pt / dp;
        pl_prompt[r] = prompt_seconds(&s, &n_prompt_tokens);
        if ((post[r] = post_process(eco_llama_engine_tokenizer(e), &s)) < 0) return fail("post");
        const double ds = sequential(es, &s, &st_);
        if (ds < 0) return 1;
        sq_tps[r] = (double)st_ / ds;
        ratio[r] = rl_tps[r] / pl_tps[r];
        speedup[r] = pl_tps[r] / sq_tps[r];
        if (r == 0) {
            rl_tok = l.tokens[0];
            pl_tok = pt;
            sq_tok = st_;
        }
        if (l.tokens[0] != rl_tok || pt != pl_tok || st_ != sq_tok || rl_tok != pl_tok ||
            pl_tok != sq_tok)
            same = false;
        printf("   repeat %d: rollout %7.0f tok/s (%.3f s), plain %7.0f tok/s (%.3f s), "
               "sequential %7.0f tok/s; load %.2f\n",
               r + 1, rl_tps[r], rl_s[r], pl_tps[r], pl_s[r], sq_tps[r], bench_loadavg());
    }
    const double wide = widening(eco_llama_engine_model(e), adapter_dir);
    const double m_rl_s = bench_median(rl_s, reps), m_pl_s = bench_median(pl_s, reps);
    printf("   tokens sampled: rollout %lld, plain %lld, sequential %lld (%s)\n", (long long)rl_tok,
           (long long)pl_tok, (long long)sq_tok, same ? "identical in every repeat" : "DIFFER");
    printf("   (a) rollout    %8.0f tok/s   median of %d\n", bench_median(rl_tps, reps), reps);
    printf("   (b) plain      %8.0f tok/s   (baseline, same run)\n", bench_median(pl_tps, reps));
    printf("   (c) sequential %8.0f tok/s\n", bench_median(sq_tps, reps));
    const double best_rl = (double)rl_tok / bench_min(rl_s, reps),
                 best_pl = (double)pl_tok / bench_min(pl_s, reps);
    printf("   rollout / plain: %.3f (median of paired ratios; target >= 0.90)\n",
           bench_median(ratio, reps));
    printf("   best of %d (least disturbed by the load): rollout %.0f tok/s, plain %.0f tok/s, "
           "ratio %.3f\n",
           reps, best_rl, best_pl, best_rl / best_pl);
    printf("   batched / sequential: x%.2f\n", bench_median(speedup, reps));
    printf("   rollout breakdown (medians): sampling phase %.1f ms = generation ~%.1f ms + "
           "widening %.2f ms + decode/encode/reward %.2f ms + the rest (and noise) %.2f ms\n",
           1e3 * m_rl_s, 1e3 * m_pl_s, 1e3 * wide, 1e3 * bench_median(post, reps),
           1e3 * (m_rl_s - m_pl_s - wide - bench_median(post, reps)));
    const double m_prompt = bench_median(pl_prompt, reps);
    if (gen_seconds >= 0) {
        const double g = bench_median(rl_gen, reps), rest = bench_median(rl_rest, reps);
        printf("   inside the loop's sampling phase (medians, the same steps): generation %.1f "
               "ms (%.0f tok/s), everything else %.2f ms = %.2f%% of the phase\n",
               1e3 * g, (double)rl_tok / g, 1e3 * rest, 100.0 * rest / (g + rest));
    }
    printf("   plain generation (medians): %.1f ms = prompt passes %.1f ms (%lld prompt tokens, "
           "one request at a time, %.0f%%) + batched decode steps %.1f ms (%.0f%%)\n",
           1e3 * m_pl_s, 1e3 * m_prompt, (long long)n_prompt_tokens, 100.0 * m_prompt / m_pl_s,
           1e3 * (m_pl_s - m_prompt), 100.0 * (1.0 - m_prompt / m_pl_s));
    printf("   load average %.2f at the start, %.2f at the end\n", load0, bench_loadavg());
    reqset_free(&s);
    eco_model_adapter_free(ad);
    eco_engine_destroy(e);
    eco_engine_destroy(es);
    free(adapter_dir);
    return 0;
}

/* ---- figure 2 --------------------------------------------------------------------------- */

static int figure2(void) {
    const char *cap_name = "arith.add@1";
    const eco_capability *cap;
    if (eco_tasks_find(cap_name, &cap)) return fail(cap_name);
    char *adapter_dir = bench_source_path("data/adapters/arith.add@1");
    if (!adapter_dir) return fail("out of memory");
    printf("\n2. time split of an rl step, %s, %lld x %lld, %d steps a run (medians over the "
           "steps):\n",
           cap_name, (long long)batch, (long long)group, steps);
    const int64_t iters[2] = {1, 2};
    const double betas[2] = {0.0, 0.04};
    for (int b = 0; b < 2; b++)
        for (int i = 0; i < 2; i++) {
            step_log l;
            const double load = bench_loadavg();
            if (rl_run(cap, adapter_dir, steps, iters[i], betas[b], 0, &l)) return 1;
            double ss[MAX_STEPS], us[MAX_STEPS], tt[MAX_STEPS], gs[MAX_STEPS], rs[MAX_STEPS];
            for (int k = 0; k < l.n; k++) {
                gs[k] = l.gen_s[k];
                rs[k] = l.sample_s[k] - l.gen_s[k];
                ss[k] = l.sample_s[k];
                us[k] = l.update_s[k];
                tt[k] = (double)l.tokens[k];
            }
            const double s = bench_median(ss, l.n), u = bench_median(us, l.n);
            printf("   iterations %lld, beta %.2f: sample %6.1f ms, update %6.1f ms "
                   "(update %4.1f%% of the step), %4.0f tokens a step; load %.2f\n",
                   (long long)iters[i], betas[b], 1e3 * s, 1e3 * u, 100.0 * u / (s + u),
                   bench_median(tt, l.n), load);
            if (gen_seconds >= 0)
                printf("      of the sampling: generation %.1f ms, the rest %.2f ms\n",
                       1e3 * bench_median(gs, l.n), 1e3 * bench_median(rs, l.n));
        }
    free(adapter_dir);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    bool only_first = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            eco_set_threads(atoi(argv[++i]));
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc)
            steps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = atoll(argv[++i]);
        else if (strcmp(argv[i], "--group") == 0 && i + 1 < argc)
            group = atoll(argv[++i]);
        else if (strcmp(argv[i], "--eval-n") == 0 && i + 1 < argc)
            eval_n = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only-first") == 0)
            only_first = true;
        else {
            fprintf(stderr, "usage: bench_rl [--threads N] [--reps N] [--steps N] [--batch B] "
                            "[--group G] [--eval-n N] [--only-first]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > MAX_REPS || steps < 1 || steps > MAX_STEPS || batch < 1 || group < 2 ||
        eval_n < 0) {
        fprintf(stderr,
                "bench_rl: --reps in [1, %d], --steps in [1, %d], --batch >= 1, "
                "--group >= 2, --eval-n >= 0\n",
                MAX_REPS, MAX_STEPS);
        return 2;
    }
    char tmpl[] = "/tmp/bench_rl.XXXXXX";
    if (!(tmp_dir = mkdtemp(tmpl))) return fail("mkdtemp");
    if (!(model_dir = bench_source_path("data/models/eco-tiny"))) return fail("out of memory");
    printf("bench_rl: load average %.2f, %d kernel thread(s), eco-tiny, GRPO rollouts vs plain "
           "batched generation, medians of %d repeats\n",
           bench_loadavg(), eco_get_threads(), reps);
    int rc = figure1("arith.add@1");
    if (!rc && !only_first) rc = figure1("json.record@1");
    if (!rc) rc = figure2();
    printf("\nload average at the end %.2f\n", bench_loadavg());
    eco_remove_tree(tmp_dir);
    free(model_dir);
    return 0;
}
