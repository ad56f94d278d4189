/*
 * bench_inference: SmolLM2-135M-shaped models (random weights, f32 and bf16) through
 * eco_model_forward, against the machine's limits measured in the same run.
 *
 *   baselines: memory read bandwidth (streaming sum over 1 GiB, median of 7) and OpenBLAS
 *              sgemm GFLOP/s at M = 128 on every weight-matrix shape of the model
 *              (aggregate: one layer's products, total flops / total time).
 *   prompt:    128 tokens in one eco_model_forward (all_logits false), median of runs;
 *              GFLOP/s counted as 2·(layer matrix params)·128 + the last row's lm_head
 *              + causal attention (QKᵀ and AV); ratio to the sgemm aggregate (target 0.60).
 *   decode:    64 single-token steps after the prompt, median of runs; weight bytes per
 *              token from eco_model_decode_bytes; GB/s and ratio to bandwidth (target 0.80).
 *   kernels alone: the same products run directly through eco_linear / eco_matvec on the
 *              model's own weights, so that the share of time spent outside the matrix
 *              kernels (attention, norms, RoPE, glue) shows up as the difference.
 *
 * Usage: bench_inference [threads (default 2)] [preset (default smollm2-135m)]
 * A benchmark, not a test: prints figures, never fails (returns 0 even when a model
 * cannot be built, after saying why).
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_common.h"
#include "ecology/model.h"

#define PROMPT 128
#define DECODE 64
#define RUNS 5

typedef struct mat_list {
    const eco_tensor *t[4096];
    int n;
    const eco_tensor *lm_head;
} mat_list;

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The layer matrices (2-D "*_proj.weight") and the output head of a loaded model. */
static void collect_matrices(const eco_model *m, mat_list *L) {
    const eco_weights *w = eco_model_get_weights(m);
    L->n = 0;
    L->lm_head = eco_weights_find(w, "lm_head.weight");
    if (!L->lm_head) L->lm_head = eco_weights_find(w, "model.embed_tokens.weight");
    for (size_t i = 0; i < eco_weights_count(w) && L->n < 4096; i++) {
        const eco_tensor *t = eco_weights_get(w, i);
        if (t->ndim == 2 && t->name && ends_with(t->name, "_proj.weight")) L->t[L->n++] = t;
    }
}

/* Median seconds of one pass of eco_matvec over every matrix (+ lm_head). */
static double kernels_decode_time(const mat_list *L, int reps) {
    float *x = calloc(16384, sizeof(float)), *y = malloc((size_t)L->lm_head->shape[0] * sizeof(float));
    for (int i = 0; i < 16384; i++) x[i] = 0.01f * (float)(i % 17);
    double *t = malloc((size_t)reps * sizeof(double));
    for (int r = 0; r < reps + 1; r++) {
        double t0 = eco_now();
        for (int i = 0; i < L->n; i++)
            eco_matvec(y, L->t[i]->data, L->t[i]->dtype, x, L->t[i]->shape[0], L->t[i]->shape[1]);
        eco_matvec(y, L->lm_head->data, L->lm_head->dtype, x, L->lm_head->shape[0],
                   L->lm_head->shape[1]);
        if (r > 0) t[r - 1] = eco_now() - t0;
    }
    double med = bench_median(t, reps);
    free(t);
    free(x);
    free(y);
    return med;
}

/* Median seconds of eco_linear at M = PROMPT over every layer matrix (the prompt's
 * products; the lm_head's single row is left out, it is a matvec). */
static double kernels_prompt_time(const mat_list *L, int reps) {
    size_t maxk = 0, maxn = 0, scr = 0;
    for (int i = 0; i < L->n; i++) {
        size_t n = (size_t)L->t[i]->shape[0], k = (size_t)L->t[i]->shape[1];
        if (n > maxn) maxn = n;
        if (k > maxk) maxk = k;
        size_t s = eco_linear_scratch_floats((int64_t)k, (int64_t)n);
        if (s > scr) scr = s;
    }
    float *x = malloc(PROMPT * maxk * sizeof(float)), *y = malloc(PROMPT * maxn * sizeof(float));
    float *scratch = malloc((scr ? scr : 1) * sizeof(float));
    for (size_t i = 0; i < PROMPT * maxk; i++) x[i] = 0.01f * (float)(i % 17);
    double *t = malloc((size_t)reps * sizeof(double));
    for (int r = 0; r < reps + 1; r++) {
        double t0 = eco_now();
        for (int i = 0; i < L->n; i++) eco_linear(y, x, L->t[i], NULL, PROMPT, scratch);
        if (r > 0) t[r - 1] = eco_now() - t0;
    }
    double med = bench_median(t, reps);
    free(t);
    free(x);
    free(y);
    free(scratch);
    return med;
}

/* sgemm GFLOP/s at M = PROMPT, f32 weights of shape [N, K]; *secs gets the median time. */
static double sgemm_gflops(int64_t N, int64_t K, int reps, double *secs) {
    float *W = malloc((size_t)(N * K) * sizeof(float));
    float *x = malloc((size_t)(PROMPT * K) * sizeof(float));
    float *y = malloc((size_t)(PROMPT * N) * sizeof(float));
    for (int64_t i = 0; i < N * K; i++) W[i] = 0.001f * (float)(i % 101 - 50);
    for (int64_t i = 0; i < PROMPT * K; i++) x[i] = 0.01f * (float)(i % 17);
    double *t = malloc((size_t)reps * sizeof(double));
    for (int r = 0; r < reps + 2; r++) {
        double t0 = eco_now();
        eco_matmul_f32(y, x, W, NULL, PROMPT, K, N);
        if (r > 1) t[r - 2] = eco_now() - t0;
    }
    double med = bench_median(t, reps);
    *secs = med;
    free(t);
    free(W);
    free(x);
    free(y);
    return 2.0 * PROMPT * (double)N * (double)K / med / 1e9;
}

static void bench_model(const char *dir, const char *label, double bw, double sgemm_agg) {
    eco_model *m = NULL;
    eco_status st = eco_model_load(dir, &m);
    if (st != ECO_STATUS_OK) {
        printf("%s: load failed: %s: %s\n", label, eco_status_str(st), eco_last_error());
        return;
    }
    const eco_model_config *c = eco_model_get_config(m);
    eco_kv_cache *kv = NULL;
    st = eco_kv_cache_create(m, PROMPT + DECODE + 8, &kv);
    if (st != ECO_STATUS_OK) {
        printf("%s: kv cache: %s\n", label, eco_last_error());
        eco_model_free(m);
        return;
    }
    float *logits = malloc((size_t)c->vocab_size * sizeof(float));
    int32_t tokens[PROMPT];
    eco_rng rng;
    eco_rng_seed(&rng, 7);
    for (int i = 0; i < PROMPT; i++) tokens[i] = (int32_t)(eco_rng_next(&rng) % (uint64_t)c->vocab_size);

    double tp[RUNS], td[RUNS];
    for (int r = 0; r < RUNS + 1; r++) {
        eco_kv_cache_reset(kv);
        double t0 = eco_now();
        st = eco_model_forward(m, kv, tokens, PROMPT, logits, false);
        double t1 = eco_now();
        if (st != ECO_STATUS_OK) break;
        int32_t tok = tokens[PROMPT - 1];
        for (int i = 0; i < DECODE && st == ECO_STATUS_OK; i++) {
            st = eco_model_forward(m, kv, &tok, 1, logits, false);
            /* greedy next token: keeps the decode data-dependent like real generation */
            int64_t best = 0;
            for (int64_t v = 1; v < c->vocab_size; v++)
                if (logits[v] > logits[best]) best = v;
            tok = (int32_t)best;
        }
        double t2 = eco_now();
        if (r > 0) { /* run 0 warms caches, page tables and buffers */
            tp[r - 1] = t1 - t0;
            td[r - 1] = t2 - t1;
        }
    }
    if (st != ECO_STATUS_OK) {
        printf("%s: forward failed: %s: %s\n", label, eco_status_str(st), eco_last_error());
    } else {
        mat_list *L = malloc(sizeof *L);
        collect_matrices(m, L);
        double mat_params = 0;
        for (int i = 0; i < L->n; i++) mat_params += (double)L->t[i]->shape[0] * (double)L->t[i]->shape[1];
        double H = (double)c->n_heads, hd = (double)c->head_dim, T = PROMPT;
        double attn_flops = (double)c->n_layers * H * hd * 2.0 * 2.0 * T * (T + 1) / 2.0;
        double head_flops = 2.0 * (double)c->vocab_size * (double)c->hidden_size;
        double prompt_flops = 2.0 * mat_params * T + attn_flops + head_flops;

        double p_med = bench_median(tp, RUNS), d_med = bench_median(td, RUNS);
        double prompt_tps = T / p_med, decode_tps = DECODE / d_med;
        double gflops = prompt_flops / p_med / 1e9;
        size_t dbytes = eco_model_decode_bytes(m);
        double gbs = (double)dbytes * decode_tps / 1e9;
        double k_dec = kernels_decode_time(L, 5);
        double k_pr = kernels_prompt_time(L, 5);

        printf("\n== %s: %lld layers, d %lld, f %lld, heads %lld/%lld, vocab %lld, %d layer matrices\n",
               label, (long long)c->n_layers, (long long)c->hidden_size,
               (long long)c->intermediate_size, (long long)c->n_heads, (long long)c->n_kv_heads,
               (long long)c->vocab_size, L->n);
        printf("  decode  %8.2f tok/s  (%.2f ms/token, median of %d runs of %d tokens)\n",
               decode_tps, 1e3 / decode_tps, RUNS, DECODE);
        printf("          weight bytes/token %.1f MB, achieved %.2f GB/s, vs bandwidth %.2f GB/s: "
               "ratio %.2f (target >= 0.80)\n",
               (double)dbytes / 1e6, gbs, bw / 1e9, gbs * 1e9 / bw);
        printf("          matvec kernels alone on these weights: %.2f ms/token (%.2f GB/s); "
               "rest of the step %.2f ms (%.0f%%)\n",
               k_dec * 1e3, (double)dbytes / k_dec / 1e9, (1.0 / decode_tps - k_dec) * 1e3,
               100.0 * (1.0 - k_dec * decode_tps));
        printf("  prompt  %8.1f tok/s  (%.1f ms for %d tokens, median of %d)\n", prompt_tps,
               p_med * 1e3, PROMPT, RUNS);
        printf("          %.2f GFLOP/prompt (matrices %.2f + attention %.3f + head row %.3f), "
               "achieved %.1f GFLOP/s, vs sgemm %.1f GFLOP/s: ratio %.2f (target >= 0.60)\n",
               prompt_flops / 1e9, 2.0 * mat_params * T / 1e9, attn_flops / 1e9,
               head_flops / 1e9, gflops, sgemm_agg, gflops / sgemm_agg);
        printf("          eco_linear kernels alone at M=%d: %.1f ms (%.1f GFLOP/s); "
               "rest of the pass %.1f ms (%.0f%%)\n",
               PROMPT, k_pr * 1e3, 2.0 * mat_params * T / k_pr / 1e9, (p_med - k_pr) * 1e3,
               100.0 * (1.0 - k_pr / p_med));
        free(L);
    }
    free(logits);
    eco_kv_cache_free(kv);
    eco_model_free(m);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* rm -r of the temporary folder this benchmark made. */
static void rm_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    const char *preset = argc > 2 ? argv[2] : "smollm2-135m";
    eco_set_threads(threads);
    printf("bench_inference: preset %s, %d threads (OpenMP max %d)\n", preset, threads,
           omp_get_max_threads());

    eco_model_config cfg;
    if (eco_model_preset_config(preset, &cfg) != ECO_STATUS_OK) {
        printf("unknown preset %s: %s\n", preset, eco_last_error());
        return 0;
    }

    double bw = bench_read_bandwidth((size_t)1 << 30, 7);
    printf("memory read bandwidth (streaming sum, 1 GiB, median of 7): %.2f GB/s\n", bw / 1e9);

    /* sgemm on the prompt's shapes: one layer's products */
    int64_t d = cfg.hidden_size, f = cfg.intermediate_size;
    int64_t qd = cfg.n_heads * cfg.head_dim, kvd = cfg.n_kv_heads * cfg.head_dim;
    const struct { const char *name; int64_t N, K; } shp[] = {
        {"q_proj", qd, d}, {"k_proj", kvd, d}, {"v_proj", kvd, d}, {"o_proj", d, qd},
        {"gate_proj", f, d}, {"up_proj", f, d}, {"down_proj", d, f}};
    double tot_flops = 0, tot_secs = 0;
    printf("OpenBLAS sgemm at M=%d (f32):", PROMPT);
    for (size_t i = 0; i < sizeof shp / sizeof shp[0]; i++) {
        double s;
        double g = sgemm_gflops(shp[i].N, shp[i].K, 15, &s);
        printf(" %s %lldx%lld %.1f;", shp[i].name, (long long)shp[i].N, (long long)shp[i].K, g);
        tot_flops += 2.0 * PROMPT * (double)shp[i].N * (double)shp[i].K;
        tot_secs += s;
    }
    double sgemm_agg = tot_flops / tot_secs / 1e9;
    printf("\n  aggregate over one layer's products: %.1f GFLOP/s\n", sgemm_agg);

    char tmpl[] = "/tmp/eco-bench-XXXXXX";
    char *root = mkdtemp(tmpl);
    if (!root) {
        printf("cannot create a temporary folder\n");
        return 0;
    }
    const eco_dtype types[] = {ECO_DTYPE_F32, ECO_DTYPE_BF16};
    for (int i = 0; i < 2; i++) {
        char *dir = eco_path_join(root, eco_dtype_name(types[i]));
        eco_status st = eco_model_create_random(&cfg, 1234, types[i], dir);
        if (st != ECO_STATUS_OK) {
            printf("%s: create_random failed: %s: %s\n", eco_dtype_name(types[i]),
                   eco_status_str(st), eco_last_error());
        } else {
            char label[64];
            snprintf(label, sizeof label, "%s %s", preset, eco_dtype_name(types[i]));
            bench_model(dir, label, bw, sgemm_agg);
        }
        free(dir);
    }
    rm_tree(root);
    return 0;
}
