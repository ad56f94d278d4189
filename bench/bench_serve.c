/*
 * bench_serve: serving throughput with mixed-adapter batching (the engine pool's per-base
 * batcher, src/runtime/batch.h), each figure printed with its baseline from the same run:
 *
 *   1. aggregate decode tokens/s with 1, 8 and 32 concurrent clients on the bare base,
 *      against 1 client;
 *   2. aggregate tokens/s of 32 clients in mixed traffic over 1, 10 and 100 distinct
 *      rank-8 adapters of the base, against the same traffic on the base with one adapter
 *      merged into its weights (eco_model_merge_adapter, registered as a model of its own);
 *   3. LoRA overhead per decode token: one sequence's one-token forward with a rank-8
 *      adapter against the bare base (median step time, interleaved);
 *   4. time to first token (acquire + prompt + first token) for an adapter that is not
 *      resident (checkout, verification, load, f32 copy) against one that is.
 *
 * Clients are threads calling the pool's engines (eco_pool_acquire, infer, release), as
 * the server's request threads do; greedy, no EOS stop, a short prompt per client. Tokens/s
 * counts generated tokens over the wall time of the whole round (prompts included).
 * The models: the SmolLM2-135M preset with random weights (bf16) and random rank-8
 * adapters on all seven targets (f32 files), registered in a temporary data folder.
 *
 *   bench_serve [--threads N] [--tokens N] [--adapters N] [--reps N]
 *     --threads   kernel threads (default: OpenMP's)
 *     --tokens    tokens each request generates (default 32)
 *     --adapters  distinct adapters at most (default 100)
 *     --reps      rounds per figure, median taken (default 3)
 *
 * Prints figures; never fails a build.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "ecology/engine.h"
#include "ecology/model.h"
#include "ecology/registry.h"
#include "ecology/runtime.h"

#define MAX_CLIENTS 32
#define MAX_ADS     100
#define CREATED     "2026-12-07T00:00:00Z"

static int n_tokens = 32, n_ads_max = MAX_ADS, reps = 3;
static char ad_ids[MAX_ADS][16];

static int fail(const char *what) {
    fprintf(stderr, "bench_serve: %s: %s\n", what, eco_last_error());
    return 1;
}

/* ---- clients -------------------------------------------------------------------------- */

typedef struct client {
    eco_pool *pool;
    const char *ref;
    int index;
    size_t tokens;
    eco_status st;
} client;

static void *client_run(void *arg) {
    client *c = arg;
    static const char *const prompts[] = {"The population must be reachable",
                                          "requests for different adapters",
                                          "batched together on one base", "time to first token"};
    eco_engine *e = NULL;
    c->st = eco_pool_acquire(c->pool, c->ref, &e);
    if (c->st != ECO_STATUS_OK) return NULL;
    eco_infer_request q;
    eco_infer_request_init(&q);
    q.prompt = prompts[c->index % 4];
    q.max_tokens = n_tokens;
    q.stop_at_eos = false;
    eco_infer_response r;
    c->st = e->infer(e, &q, &r);
    if (c->st == ECO_STATUS_OK) c->tokens = r.n_tokens;
    eco_infer_response_free(&r);
    eco_pool_release(c->pool, e);
    return NULL;
}

/* n clients at once, client i on refs[i % n_refs]; aggregate generated tokens/s, or -1. */
static double round_tps(eco_pool *p, int n, const char *const *refs, int n_refs, int offset) {
    client c[MAX_CLIENTS];
    pthread_t t[MAX_CLIENTS];
    const double t0 = eco_now();
    for (int i = 0; i < n; i++) {
        c[i] = (client){.pool = p, .ref = refs[(i + offset) % n_refs], .index = i};
        if (pthread_create(&t[i], NULL, client_run, &c[i]) != 0) return -1;
    }
    size_t total = 0;
    int bad = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        if (c[i].st != ECO_STATUS_OK) bad = 1;
        total += c[i].tokens;
    }
    const double dt = eco_now() - t0;
    if (bad) {
        fail("infer");
        return -1;
    }
    return (double)total / dt;
}

/* Median over reps rounds; the rounds rotate which client gets which ref, so over rounds
 * of mixed traffic every adapter is used. */
static double median_tps(eco_pool *p, int n, const char *const *refs, int n_refs) {
    double v[16];
    const int k = reps < 16 ? reps : 16;
    for (int r = 0; r < k; r++)
        if ((v[r] = round_tps(p, n, refs, n_refs, r * n)) < 0) return -1;
    return bench_median(v, k);
}

/* ---- the models ----------------------------------------------------------------------- */

static int make_adapter(const char *dir, const eco_model_config *cfg, uint64_t seed) {
    eco_peft_config pc;
    eco_peft_config_init(&pc);
    pc.r = 8;
    pc.lora_alpha = 16;
    snprintf(pc.base_model_name_or_path, sizeof pc.base_model_name_or_path, "base");
    for (int t = 0; t < ECO_LORA__COUNT; t++) pc.targets[t] = true;
    return eco_lora_adapter_create_random(dir, cfg, &pc, seed, 0.02f) == ECO_STATUS_OK ? 0 : -1;
}

static int add(eco_registry *r, const char *dir, const char *id, const char *base) {
    eco_add_options o = {.id = id, .base = base, .created_at = CREATED};
    return eco_registry_add_dir(r, dir, &o, NULL) == ECO_STATUS_OK ? 0 : fail(id);
}

/* ---- LoRA overhead per token ------------------------------------------------------------ */

/* Median one-token step time (seconds) of the base and with adapter ad, interleaved. */
static int lora_overhead(const char *base_dir, const char *ad_dir, double *base_s, double *lora_s) {
    eco_model *m = NULL;
    if (eco_model_load(base_dir, &m) != ECO_STATUS_OK) return fail("load base");
    eco_lora_adapter *a = NULL;
    eco_model_adapter *ad = NULL;
    if (eco_lora_adapter_load(ad_dir, eco_model_get_config(m), &a) != ECO_STATUS_OK ||
        eco_model_adapter_create(m, a, &ad) != ECO_STATUS_OK)
        return fail("adapter");
    eco_lora_adapter_free(a);
    const int64_t V = eco_model_get_config(m)->vocab_size;
    float *logits = malloc((size_t)V * sizeof(float));
    eco_kv_cache *kv = NULL;
    if (!logits || eco_kv_cache_create(m, 512, &kv) != ECO_STATUS_OK) return fail("cache");
    enum { STEPS = 64 };
    static double tb[STEPS], tl[STEPS];
    const int32_t prompt[8] = {1, 504, 2087, 30, 9401, 17, 611, 42};
    int nb = 0, nl = 0;
    for (int pass = 0; pass < 4; pass++) /* base, adapter, base, adapter */
        for (int which = 0; which < 2; which++) {
            const eco_model_adapter *use = which ? ad : NULL;
            eco_kv_cache_reset(kv);
            if (eco_model_forward_adapter(m, use, kv, prompt, 8, logits, false)) return fail("fwd");
            int32_t tok = 42;
            for (int s = 0; s < STEPS / 2; s++) {
                const double t0 = eco_now();
                if (eco_model_forward_adapter(m, use, kv, &tok, 1, logits, false))
                    return fail("step");
                const double dt = eco_now() - t0;
                if (which)
                    tl[nl++ % STEPS] = dt;
                else
                    tb[nb++ % STEPS] = dt;
                tok = (int32_t)((tok * 7 + 13) % 4000);
            }
        }
    *base_s = bench_median(tb, STEPS);
    *lora_s = bench_median(tl, STEPS);
    eco_kv_cache_free(kv);
    free(logits);
    eco_model_adapter_free(ad);
    eco_model_free(m);
    return 0;
}

/* ---- time to first token ---------------------------------------------------------------- */

static double ttft(eco_pool *p, const char *ref) {
    const double t0 = eco_now();
    eco_engine *e = NULL;
    if (eco_pool_acquire(p, ref, &e) != ECO_STATUS_OK) return -1;
    eco_infer_request q;
    eco_infer_request_init(&q);
    q.prompt = "time to first token";
    q.max_tokens = 1;
    eco_infer_response r;
    const eco_status st = e->infer(e, &q, &r);
    eco_infer_response_free(&r);
    eco_pool_release(p, e);
    return st == ECO_STATUS_OK ? eco_now() - t0 : -1;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* figures as they come, into a file too */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            eco_set_threads(atoi(argv[++i]));
        else if (strcmp(argv[i], "--tokens") == 0 && i + 1 < argc)
            n_tokens = atoi(argv[++i]);
        else if (strcmp(argv[i], "--adapters") == 0 && i + 1 < argc)
            n_ads_max = atoi(argv[++i]);
        else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else {
            fprintf(stderr,
                    "usage: bench_serve [--threads N] [--tokens N] [--adapters N] [--reps N]\n");
            return 2;
        }
    }
    if (n_tokens < 1 || reps < 1 || n_ads_max < 1 || n_ads_max > MAX_ADS) {
        fprintf(stderr, "bench_serve: --tokens, --reps >= 1; --adapters in [1, %d]\n", MAX_ADS);
        return 2;
    }
    char tmpl[] = "/tmp/bench_serve.XXXXXX";
    char *tmp = mkdtemp(tmpl);
    if (!tmp) return fail("mkdtemp");
    printf("bench_serve: load average %.2f, %d kernel thread(s), SmolLM2-135M preset (random "
           "bf16), %d random rank-8 adapters on all seven targets, %d tokens a request, median "
           "of %d rounds\n",
           bench_loadavg(), eco_get_threads(), n_ads_max, n_tokens, reps);
    const double t_setup = eco_now();
    char *src = eco_path_join(tmp, "src"), *data = eco_path_join(tmp, "data");
    char *bdir = eco_path_join(src, "base"), *mdir = eco_path_join(src, "merged");
    char *adirs[MAX_ADS];
    eco_model_config cfg;
    if (eco_model_preset_config("smollm2-135m", &cfg) != ECO_STATUS_OK) return fail("preset");
    if (eco_model_create_preset("smollm2-135m", 7, ECO_DTYPE_BF16, bdir) != ECO_STATUS_OK)
        return fail("random base");
    if (eco_registry_init(data) != ECO_STATUS_OK) return fail("registry init");
    eco_registry *r = NULL;
    eco_registry_options ro = {.data_dir = data};
    if (eco_registry_open(&ro, &r) != ECO_STATUS_OK) return fail("registry open");
    if (add(r, bdir, "base", NULL)) return 1;
    for (int i = 0; i < n_ads_max; i++) {
        snprintf(ad_ids[i], sizeof ad_ids[i], "a%03d", i);
        adirs[i] = eco_path_join(src, ad_ids[i]);
        if (make_adapter(adirs[i], &cfg, 1000 + (uint64_t)i) != 0) return fail("adapter");
        if (add(r, adirs[i], ad_ids[i], "base")) return 1;
    }
    if (eco_model_merge_adapter(bdir, adirs[0], mdir) != ECO_STATUS_OK) return fail("merge");
    if (add(r, mdir, "merged", NULL)) return 1;
    printf("setup: base, %d adapters and the merged model registered in %.1f s\n\n", n_ads_max,
           eco_now() - t_setup);

    eco_pool *p = NULL;
    if (eco_pool_create(r, NULL, &p) != ECO_STATUS_OK) return fail("pool");
    const char *base_ref[1] = {"base"}, *merged_ref[1] = {"merged"};
    const char *ad_refs[MAX_ADS];
    for (int i = 0; i < n_ads_max; i++) ad_refs[i] = ad_ids[i];
    /* resident before timing (the loads are figure 4's) */
    if (round_tps(p, 1, base_ref, 1, 0) < 0 || round_tps(p, 1, merged_ref, 1, 0) < 0) return 1;

    printf("1. concurrent clients on the bare base (aggregate generated tokens/s):\n");
    const int clients[3] = {1, 8, 32};
    double tps1 = 0;
    for (int c = 0; c < 3; c++) {
        eco_pool_stats s0, s1;
        eco_pool_get_stats(p, &s0);
        const double tps = median_tps(p, clients[c], base_ref, 1);
        eco_pool_get_stats(p, &s1);
        if (tps < 0) return 1;
        if (c == 0) tps1 = tps;
        const double steps = (double)(s1.decode_steps - s0.decode_steps);
        printf("   %2d clients: %8.1f tok/s   x%.2f of 1 client   (mean batch %.1f rows)\n",
               clients[c], tps, tps / tps1,
               steps > 0 ? (double)(s1.decode_rows - s0.decode_rows) / steps : 0.0);
    }

    printf("\n2. mixed traffic, 32 clients, rank-8 adapters vs one merged adapter:\n");
    const double merged = median_tps(p, 32, merged_ref, 1);
    if (merged < 0) return 1;
    printf("   merged model (baseline): %8.1f tok/s\n", merged);
    const int n_ads[3] = {1, 10, 100};
    for (int c = 0; c < 3; c++) {
        if (n_ads[c] > n_ads_max) break;
        for (int i = 0; i < n_ads[c]; i++) { /* resident first: loads are figure 4's */
            eco_engine *e = NULL;
            if (eco_pool_acquire(p, ad_refs[i], &e) != ECO_STATUS_OK) return fail("acquire");
            eco_pool_release(p, e);
        }
        const double tps = median_tps(p, 32, ad_refs, n_ads[c]);
        if (tps < 0) return 1;
        printf("   %3d adapters: %8.1f tok/s   %.1f%% of merged (target >= 80%% at 100)\n",
               n_ads[c], tps, 100.0 * tps / merged);
    }

    printf("\n3. LoRA overhead per decode token, one sequence, rank 8 on all seven targets:\n");
    char *ck = NULL;
    if (eco_registry_checkout(r, "base", &ck, NULL) != ECO_STATUS_OK) return fail("checkout");
    double base_s = 0, lora_s = 0;
    if (lora_overhead(ck, adirs[0], &base_s, &lora_s)) return 1;
    free(ck);
    printf("   bare base %.2f ms/token, with adapter %.2f ms/token: overhead %+.1f%% (target <= "
           "15%%)\n",
           1e3 * base_s, 1e3 * lora_s, 100.0 * (lora_s / base_s - 1.0));

    printf("\n4. time to first token (acquire + prompt + first token), one client:\n");
    {
        eco_pool *q = NULL; /* a fresh pool: the base resident, no adapter */
        if (eco_pool_create(r, NULL, &q) != ECO_STATUS_OK) return fail("pool");
        if (ttft(q, "base") < 0) return fail("ttft");
        enum { N_T = 5 };
        double cold[N_T], warm[N_T];
        int n = n_ads_max < N_T ? n_ads_max : N_T;
        for (int i = 0; i < n; i++) {
            cold[i] = ttft(q, ad_refs[i]);
            warm[i] = ttft(q, ad_refs[i]);
            if (cold[i] < 0 || warm[i] < 0) return fail("ttft");
        }
        const double c_ms = 1e3 * bench_median(cold, n), w_ms = 1e3 * bench_median(warm, n);
        printf("   not resident %.1f ms, resident (baseline) %.1f ms: x%.2f (+%.1f ms to load)\n",
               c_ms, w_ms, c_ms / w_ms, c_ms - w_ms);
        eco_pool_destroy(q);
    }
    printf("\nload average at the end %.2f\n", bench_loadavg());

    eco_pool_destroy(p);
    eco_registry_close(r);
    eco_remove_tree(tmp);
    for (int i = 0; i < n_ads_max; i++) free(adirs[i]);
    free(src);
    free(data);
    free(bdir);
    free(mdir);
    return 0;
}
