/*
 * bench_train: training throughput (tokens/s) of eco_train_* beside PyTorch doing the same
 * step in the same run (bench/bench_train_torch.py, run through popen by /usr/bin/python3).
 *
 * One step = eco_train_zero_grad + eco_train_forward (training, with targets) +
 * eco_train_backward + eco_train_step (AdamW defaults), on random tokens; torch does
 * zero_grad + forward + cross-entropy + backward + AdamW.step on a plain-torch llama of the
 * same shape. Median of STEPS steps after warm-up steps, tokens/s = B·T / median.
 *
 *   (a) eco-tiny shape (preset "tiny" with d 256, f 688, 4 layers, 4 heads, 4 kv heads,
 *       max_position 512), full fine-tuning, batch 4 × 128.
 *   (b) SmolLM2-135M preset, random f32 weights in a temporary folder, LoRA r = 8 on q and
 *       v, batch 4 × 128.
 *
 * Peak memory: C is getrusage(RUSAGE_SELF).ru_maxrss taken right after each case, before
 * torch runs (so the process's peak so far: case (b)'s includes case (a)'s); torch is the
 * script's own ru_maxrss. Target ratio C / torch >= 1.5.
 *
 * Usage: bench_train [threads (default 2)]. The script is found next to this source file
 * (or in $ECO_SOURCE_DIR/bench). A benchmark, not a test: prints figures, returns 0.
 */
#define _XOPEN_SOURCE 700 /* nftw, popen */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_common.h"
#include "ecology/model.h"
#include "ecology/train.h"

#define BATCH 4
#define SEQ   128
#define STEPS 5

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void rm_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static long maxrss_kb(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return ru.ru_maxrss;
}

/* Median seconds per training step of the model in dir; 0 on failure (after saying why). */
static double c_train(const char *dir, const char *label, const eco_train_options *opt, int warmup,
                      float *last_loss, size_t *n_trainable) {
    eco_train_model *m = NULL;
    eco_status st = eco_train_model_create(dir, opt, &m);
    if (st != ECO_STATUS_OK) {
        printf("%s: eco_train_model_create failed: %s: %s\n", label, eco_status_str(st),
               eco_last_error());
        return 0.0;
    }
    const eco_model_config *cfg = eco_train_model_config(m);
    *n_trainable = eco_train_num_floats(m);
    int32_t *tokens = malloc(sizeof(int32_t) * BATCH * (SEQ + 1));
    int32_t *x = malloc(sizeof(int32_t) * BATCH * SEQ);
    int32_t *y = malloc(sizeof(int32_t) * BATCH * SEQ);
    if (!tokens || !x || !y) {
        printf("%s: out of memory\n", label);
        free(tokens);
        free(x);
        free(y);
        eco_train_model_free(m);
        return 0.0;
    }
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < BATCH * (SEQ + 1); i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        tokens[i] = (int32_t)((s >> 33) % (uint64_t)cfg->vocab_size);
    }
    for (int b = 0; b < BATCH; b++)
        for (int t = 0; t < SEQ; t++) {
            x[b * SEQ + t] = tokens[b * (SEQ + 1) + t];
            y[b * SEQ + t] = tokens[b * (SEQ + 1) + t + 1];
        }
    eco_adamw_config ac = eco_adamw_config_default();
    double times[STEPS];
    double med = 0.0;
    for (int i = 0; i < warmup + STEPS; i++) {
        double t0 = eco_now();
        eco_train_zero_grad(m);
        st = eco_train_forward(m, x, y, BATCH, SEQ, true, last_loss);
        if (st == ECO_STATUS_OK) st = eco_train_backward(m, 1.0f);
        if (st == ECO_STATUS_OK) st = eco_train_step(m, &ac, NULL, NULL);
        double dt = eco_now() - t0;
        if (st != ECO_STATUS_OK) {
            printf("%s: training step failed: %s: %s\n", label, eco_status_str(st),
                   eco_last_error());
            goto done;
        }
        if (i >= warmup) times[i - warmup] = dt;
    }
    med = bench_median(times, STEPS);
done:
    free(tokens);
    free(x);
    free(y);
    eco_train_model_free(m);
    return med;
}

/* Runs the torch script; returns its tokens/s (0 on failure) and its ru_maxrss in *rss. */
static double torch_train(const char *script, const eco_model_config *cfg, const char *mode,
                          int threads, int warmup, long *rss) {
    char cmd[2048];
    snprintf(
        cmd, sizeof cmd,
        "OMP_NUM_THREADS=%d /usr/bin/python3 '%s' --mode %s --vocab %lld --hidden %lld --inter "
        "%lld "
        "--layers %lld --heads %lld --kv %lld --head-dim %lld --tie %d --eps %g --rope-theta %g "
        "--r 8 --alpha 8 --batch %d --seq %d --threads %d --warmup %d --steps %d 2>&1",
        threads, script, mode, (long long)cfg->vocab_size, (long long)cfg->hidden_size,
        (long long)cfg->intermediate_size, (long long)cfg->n_layers, (long long)cfg->n_heads,
        (long long)cfg->n_kv_heads, (long long)cfg->head_dim, cfg->tie_word_embeddings ? 1 : 0,
        cfg->rms_norm_eps, cfg->rope_theta, BATCH, SEQ, threads, warmup, STEPS);
    FILE *p = popen(cmd, "r");
    *rss = -1;
    if (!p) {
        printf("  torch: cannot run %s\n", script);
        return 0.0;
    }
    char line[1024];
    double tps = 0.0;
    while (fgets(line, sizeof line, p)) {
        const char *t = strstr(line, "TORCH ");
        if (t) {
            double step_s = 0.0;
            if (sscanf(t, "TORCH tokens_per_s=%lf step_s=%lf maxrss_kb=%ld", &tps, &step_s, rss) <
                3)
                tps = 0.0;
            printf("  torch: %s", t);
        } else {
            printf("  torch says: %s", line);
        }
    }
    int rc = pclose(p);
    if (rc != 0) printf("  torch: script exited with status %d\n", rc);
    return tps;
}

static void run_case(const char *label, const char *dir, const char *script,
                     const eco_train_options *opt, const char *mode, int threads, int warmup) {
    eco_model_config cfg;
    if (eco_config_load(dir, &cfg) != ECO_STATUS_OK) {
        printf("%s: cannot read config: %s\n", label, eco_last_error());
        return;
    }
    printf("\n== %s: %s, batch %d x %d, %d threads, median of %d steps after %d warm-up ==\n",
           label, mode, BATCH, SEQ, threads, STEPS, warmup);
    float loss = 0.0f;
    size_t ntr = 0;
    double sec = c_train(dir, label, opt, warmup, &loss, &ntr);
    long c_rss = maxrss_kb();
    double c_tps = sec > 0.0 ? BATCH * SEQ / sec : 0.0;
    if (sec > 0.0)
        printf("  C:     tokens_per_s=%.1f step_s=%.4f maxrss_kb=%ld trainable=%zu loss=%.4f\n",
               c_tps, sec, c_rss, ntr, (double)loss);
    long t_rss = -1;
    double t_tps = torch_train(script, &cfg, mode, threads, warmup, &t_rss);
    printf("  %s: C %.1f tok/s, torch %.1f tok/s, ratio C/torch %.2fx (target >= 1.5x); peak RSS C "
           "%.1f MiB, "
           "torch %.1f MiB\n",
           label, c_tps, t_tps, t_tps > 0.0 ? c_tps / t_tps : 0.0, c_rss / 1024.0, t_rss / 1024.0);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* lines appear in order when piped to a file */
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    if (threads < 1) threads = 2;
    eco_set_threads(threads);

    char script[4096];
    const char *src = getenv("ECO_SOURCE_DIR");
    if (src && *src) {
        snprintf(script, sizeof script, "%s/bench/bench_train_torch.py", src);
    } else {
        snprintf(script, sizeof script, "%s", __FILE__);
        char *slash = strrchr(script, '/');
        if (slash)
            strcpy(slash + 1, "bench_train_torch.py");
        else
            snprintf(script, sizeof script, "bench/bench_train_torch.py");
    }
    printf("bench_train: %d threads (OpenMP max %d), torch script %s, load average %.2f\n", threads,
           omp_get_max_threads(), script, bench_loadavg());

    char tmpl[] = "/tmp/eco-bench-train-XXXXXX";
    char *root = mkdtemp(tmpl);
    if (!root) {
        printf("cannot create a temporary folder\n");
        return 0;
    }

    /* (a) eco-tiny shape, full fine-tuning */
    eco_model_config cfg;
    if (eco_model_preset_config("tiny", &cfg) == ECO_STATUS_OK) {
        cfg.hidden_size = 256;
        cfg.intermediate_size = 688;
        cfg.n_layers = 4;
        cfg.n_heads = 4;
        cfg.n_kv_heads = 4;
        cfg.head_dim = 64;
        cfg.max_position_embeddings = 512;
        cfg.torch_dtype = ECO_DTYPE_F32;
        char *dir = eco_path_join(root, "tiny");
        eco_status st = eco_model_create_random(&cfg, 1234, ECO_DTYPE_F32, dir);
        if (st != ECO_STATUS_OK) {
            printf("tiny: create_random failed: %s: %s\n", eco_status_str(st), eco_last_error());
        } else {
            eco_train_options opt;
            memset(&opt, 0, sizeof opt);
            opt.mode = ECO_TRAIN_MODE_FULL;
            eco_peft_config_init(&opt.lora);
            opt.seed = 1;
            opt.max_batch = BATCH;
            opt.max_seq = SEQ;
            run_case("(a) eco-tiny full", dir, script, &opt, "full", threads, 2);
        }
        free(dir);
    } else {
        printf("no preset tiny: %s\n", eco_last_error());
    }

    /* (b) SmolLM2-135M, LoRA r=8 on q and v */
    if (eco_model_preset_config("smollm2-135m", &cfg) == ECO_STATUS_OK) {
        cfg.torch_dtype = ECO_DTYPE_F32;
        char *dir = eco_path_join(root, "smollm2");
        eco_status st = eco_model_create_random(&cfg, 1234, ECO_DTYPE_F32, dir);
        if (st != ECO_STATUS_OK) {
            printf("smollm2-135m: create_random failed: %s: %s\n", eco_status_str(st),
                   eco_last_error());
        } else {
            eco_train_options opt;
            memset(&opt, 0, sizeof opt);
            opt.mode = ECO_TRAIN_MODE_LORA;
            eco_peft_config_init(&opt.lora);
            opt.lora.r = 8;
            opt.lora.lora_alpha = 8.0;
            opt.lora.targets[ECO_LORA_Q] = true;
            opt.lora.targets[ECO_LORA_V] = true;
            opt.seed = 1;
            opt.max_batch = BATCH;
            opt.max_seq = SEQ;
            run_case("(b) smollm2-135m LoRA q,v r=8", dir, script, &opt, "lora", threads, 1);
        }
        free(dir);
    } else {
        printf("no preset smollm2-135m: %s\n", eco_last_error());
    }

    rm_tree(root);
    return 0;
}
