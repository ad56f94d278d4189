/*
 * bench_q8_0: q8_0 against f32 on the same SmolLM2-135M-shaped weights (random f32, and
 * that model quantized by eco_quantize_dir), with the machine's read bandwidth measured in
 * the same run, interleaved with the figures it is compared with (the machine may be
 * shared).
 *
 *   decode:  DECODE single-token steps after a PROMPT-token prompt, median of RUNS; bytes
 *            per token from eco_model_decode_bytes (q8_0: 34/32 bytes a weight, about 0.27
 *            of f32); GB/s and the ratio to the bandwidth measured right after (target
 *            >= 0.80 for q8_0).
 *   prompt:  PROMPT tokens in one eco_model_forward (q8_0: the int8 product on activations
 *            quantized per block, src/tensor/q8_0_gemm.c), tok/s and the ratio to f32.
 *   Rates are given by the wall clock and by process CPU time (cpu_now: on a machine shared
 *   with other work, run with 1 thread and compare the CPU-time figures).
 *   kernels: one eco_matvec pass over every matrix of each model (what decode streams)
 *            with the dispatcher held to AVX-512 and to AVX2 where the CPU has them: GB/s
 *            against the bandwidth.
 *   quantize: eco_quantize_dir's time for the model (f32 bytes read per second).
 *
 * Usage: bench_q8_0 [threads (default 2)] [preset (default smollm2-135m)]
 * ECO_BENCH_KEEP=1 keeps the two model folders, for a comparison with llama.cpp on the same
 * weights once the q8_0 folder is exported to GGUF (`ecology model export --format gguf
 * --type q8_0`, then llama-bench -m FILE -p PROMPT -n DECODE -t THREADS).
 * A benchmark, not a test: prints figures, never fails.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_common.h"
#include "ecology/model.h"
#include "ecology/quantize.h"
#include "model/model_internal.h"
#include "tensor/simd.h"

#define PROMPT 128
#define DECODE 32
#define RUNS   5

typedef struct run_figs {
    double prompt_s, decode_s, bw;   /* wall clock */
    double prompt_c, decode_c, bw_c; /* process CPU time (see cpu_now) */
} run_figs;

/* Process CPU seconds. On a shared machine (more runnable threads than cores) wall-clock
 * rates measure the share of the CPU this process got as much as the code; CPU-time rates
 * (time stalled on memory included, time descheduled not) do not, and with 1 thread, where
 * no thread waits at a barrier for a descheduled one, they are the figures to compare. */
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Read bandwidth by CPU time: the best of plain and prefetched streaming sums, median of
 * reps each. */
static double bw_cpu(bench_bw *b, int reps) {
    double best = 0, t[16];
    volatile uint64_t sink = 0;
    for (int mode = 0; mode < 2; mode++) {
        for (int r = 0; r < reps; r++) {
            uint64_t total = 0;
            const uint64_t *buf = b->buf;
            const size_t n = b->n;
            double t0 = cpu_now();
#pragma omp parallel reduction(+ : total)
            {
                int nt = omp_get_num_threads(), id = omp_get_thread_num();
                size_t per = (n / (size_t)nt) & ~(size_t)15;
                size_t lo = per * (size_t)id, hi = (id == nt - 1) ? n : lo + per;
                total += bench_sum(buf + lo, hi - lo, mode);
            }
            t[r] = cpu_now() - t0;
            sink += total;
        }
        double bw = (double)b->n * sizeof(uint64_t) / bench_median(t, reps);
        if (bw > best) best = bw;
    }
    (void)sink;
    return best;
}

/* One run: prompt, then DECODE greedy steps; then the bandwidth. */
static int run_once(eco_model *m, eco_kv_cache *kv, const int32_t *tokens, float *logits,
                    bench_bw *bwb, run_figs *f) {
    const int64_t V = eco_model_get_config(m)->vocab_size;
    eco_kv_cache_reset(kv);
    double c0 = cpu_now(), t0 = eco_now();
    if (eco_model_forward(m, kv, tokens, PROMPT, logits, false)) return -1;
    double t1 = eco_now(), c1 = cpu_now();
    int32_t tok = tokens[PROMPT - 1];
    for (int i = 0; i < DECODE; i++) {
        if (eco_model_forward(m, kv, &tok, 1, logits, false)) return -1;
        int64_t best = 0;
        for (int64_t v = 1; v < V; v++)
            if (logits[v] > logits[best]) best = v;
        tok = (int32_t)best;
    }
    double t2 = eco_now(), c2 = cpu_now();
    f->prompt_s = t1 - t0;
    f->decode_s = t2 - t1;
    f->prompt_c = c1 - c0;
    f->decode_c = c2 - c1;
    f->bw = bench_bw_measure(bwb, 3, NULL, NULL);
    f->bw_c = bw_cpu(bwb, 3);
    return 0;
}

/* Seconds of one eco_matvec pass over every streamed matrix of m (median of reps). */
static double matvec_pass(const eco_model *m, int reps) {
    float *x = calloc(8192, sizeof(float)), *y = malloc((size_t)m->lm_head->shape[0] * 4);
    for (int i = 0; i < 8192; i++) x[i] = 0.01f * (float)(i % 17);
    double t[16];
    for (int r = 0; r < reps + 1; r++) {
        double t0 = eco_now();
        for (int64_t l = 0; l < m->cfg.n_layers; l++) {
            const eco_layer *ly = &m->layers[l];
            const eco_tensor *mats[7] = {ly->wq, ly->wk, ly->wv, ly->wo, ly->wg, ly->wu, ly->wd};
            for (int i = 0; i < 7; i++)
                eco_matvec(y, mats[i]->data, mats[i]->dtype, x, mats[i]->shape[0],
                           mats[i]->shape[1]);
        }
        eco_matvec(y, m->lm_head->data, m->lm_head->dtype, x, m->lm_head->shape[0],
                   m->lm_head->shape[1]);
        if (r > 0) t[r - 1] = eco_now() - t0;
    }
    free(x);
    free(y);
    return bench_median(t, reps);
}

static size_t matrix_bytes(const eco_model *m) {
    size_t b = m->lm_head->nbytes;
    for (int64_t l = 0; l < m->cfg.n_layers; l++) {
        const eco_layer *ly = &m->layers[l];
        b += ly->wq->nbytes + ly->wk->nbytes + ly->wv->nbytes + ly->wo->nbytes + ly->wg->nbytes +
             ly->wu->nbytes + ly->wd->nbytes;
    }
    return b;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    const char *preset = argc > 2 ? argv[2] : "smollm2-135m";
    eco_set_threads(threads);
    printf("bench_q8_0: preset %s, %d threads; load average %.2f at start\n", preset, threads,
           bench_loadavg());
    eco_model_config cfg;
    if (eco_model_preset_config(preset, &cfg) != ECO_STATUS_OK) {
        printf("unknown preset %s\n", preset);
        return 0;
    }
    bench_bw bwb;
    if (bench_bw_open(&bwb, (size_t)512 << 20) != 0) {
        printf("cannot allocate the bandwidth buffer\n");
        return 0;
    }
    char tmpl[] = "/tmp/eco-bench-q8-XXXXXX";
    char *root = mkdtemp(tmpl);
    if (!root) return 0;
    char *dir[2] = {eco_path_join(root, "F32"), eco_path_join(root, "Q8_0")};
    eco_model *m[2] = {NULL, NULL};
    eco_kv_cache *kv[2] = {NULL, NULL};
    if (eco_model_create_random(&cfg, 1234, ECO_DTYPE_F32, dir[0]) != ECO_STATUS_OK) {
        printf("create_random: %s\n", eco_last_error());
        goto out;
    }
    eco_quantize_options qo = {.model = dir[0], .type = "q8_0", .out = dir[1]};
    eco_quantize_report qr;
    if (eco_quantize_dir(&qo, &qr) != ECO_STATUS_OK) {
        printf("quantize: %s\n", eco_last_error());
        goto out;
    }
    printf("quantize: %lld of %lld tensors, %.1f MB -> %.1f MB in %.2f s (%.2f GB/s of f32 read; "
           "one thread), relative RMS error %.3g\n",
           (long long)qr.n_quantized, (long long)qr.n_tensors, (double)qr.bytes_in / 1e6,
           (double)qr.bytes_out / 1e6, qr.seconds, (double)qr.bytes_in / qr.seconds / 1e9,
           qr.rel_rms_error);
    for (int k = 0; k < 2; k++)
        if (eco_model_load(dir[k], &m[k]) != ECO_STATUS_OK ||
            eco_kv_cache_create(m[k], PROMPT + DECODE + 8, &kv[k]) != ECO_STATUS_OK) {
            printf("load %s: %s\n", dir[k], eco_last_error());
            goto out;
        }
    float *logits = malloc((size_t)cfg.vocab_size * sizeof(float));
    int32_t tokens[PROMPT];
    eco_rng rng;
    eco_rng_seed(&rng, 7);
    for (int i = 0; i < PROMPT; i++)
        tokens[i] = (int32_t)(eco_rng_next(&rng) % (uint64_t)cfg.vocab_size);

    run_figs f[2][RUNS];
    for (int r = 0; r < RUNS + 1; r++)
        for (int k = 0; k < 2; k++) { /* alternate f32 and q8_0; run 0 warms up */
            run_figs x;
            if (run_once(m[k], kv[k], tokens, logits, &bwb, &x)) {
                printf("forward failed: %s\n", eco_last_error());
                free(logits);
                goto out;
            }
            if (r > 0) f[k][r - 1] = x;
        }
    free(logits);
    static const char *const name[2] = {"f32 ", "q8_0"};
    double de_med[2], pr_med[2];
    printf("\n%d runs, alternating; each: %d-token prompt, %d decode steps, then the read "
           "bandwidth (512 MiB streaming sum); medians\n",
           RUNS, PROMPT, DECODE);
    for (int clock = 0; clock < 2; clock++) {
        printf(" %s\n", clock ? "by process CPU time (cpu_now)" : "by the wall clock");
        for (int k = 0; k < 2; k++) {
            double de[RUNS], pr[RUNS], ratio[RUNS], bw[RUNS];
            const double bytes = (double)eco_model_decode_bytes(m[k]);
            for (int r = 0; r < RUNS; r++) {
                de[r] = DECODE / (clock ? f[k][r].decode_c : f[k][r].decode_s);
                pr[r] = PROMPT / (clock ? f[k][r].prompt_c : f[k][r].prompt_s);
                bw[r] = clock ? f[k][r].bw_c : f[k][r].bw;
                ratio[r] = bytes * de[r] / bw[r];
            }
            de_med[k] = bench_median(de, RUNS);
            pr_med[k] = bench_median(pr, RUNS);
            printf("  %s decode %7.2f tok/s (best %.2f), %.1f MB/token, %.2f GB/s; bandwidth "
                   "%.2f GB/s; ratio %.2f (median of runs; best run %.2f)\n",
                   name[k], de_med[k], bench_max(de, RUNS), bytes / 1e6, bytes * de_med[k] / 1e9,
                   bench_median(bw, RUNS) / 1e9, bench_median(ratio, RUNS), bench_max(ratio, RUNS));
            printf("  %s prompt %7.1f tok/s (best %.1f)\n", name[k], pr_med[k],
                   bench_max(pr, RUNS));
        }
        printf("  q8_0 / f32: decode %.2fx, prompt %.2fx\n", de_med[1] / de_med[0],
               pr_med[1] / pr_med[0]);
    }

    printf("\nmatvec kernels alone, one pass over every streamed matrix (median of 5), GB/s of "
           "weights; bandwidth measured right after\n");
    for (int level = 2; level >= 1; level--) {
        eco_matvec_set_simd_cap(level);
        if (eco_simd_level() != level) continue;
        for (int k = 0; k < 2; k++) {
            const double t = matvec_pass(m[k], 5), bw = bench_bw_measure(&bwb, 3, NULL, NULL);
            const double gb = (double)matrix_bytes(m[k]) / t / 1e9;
            printf("  %-7s %s %.2f ms/pass, %.2f GB/s; bandwidth %.2f GB/s; ratio %.2f\n",
                   level == 2 ? "AVX-512" : "AVX2", name[k], t * 1e3, gb, bw / 1e9, gb * 1e9 / bw);
        }
    }
    eco_matvec_set_simd_cap(2);
out:
    for (int k = 0; k < 2; k++) {
        eco_kv_cache_free(kv[k]);
        eco_model_free(m[k]);
        free(dir[k]);
    }
    if (getenv("ECO_BENCH_KEEP") && *getenv("ECO_BENCH_KEEP") == '1')
        printf("\nmodel folders kept under %s (ECO_BENCH_KEEP): F32 and Q8_0\n", root);
    else
        nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    bench_bw_close(&bwb);
    printf("load average %.2f at end\n", bench_loadavg());
    return 0;
}
