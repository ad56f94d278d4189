/*
 * bench_merge_lora: ten rank-16 LoRA adapters (all seven modules, random f32) on the
 * SmolLM2-135M preset's shapes (30 layers, 210 modules) merged back to rank 16 by
 * eco_merge_adapters_dir, time per merge (median of REPS), beside baselines measured in the
 * same run:
 *
 *   - the SVDs alone: the thin SVD (LAPACKE sgesdd, modules in parallel, one per thread,
 *     as the merge runs them) of 210 dense matrices of the modules' shapes: what any merge
 *     that forms ΔW and truncates it must at least spend;
 *   - hashing the ten parents' adapter_model.safetensors (the lineage's digests), which each
 *     merge also does;
 *   - sgemm's rate (GFLOP/s, 1024³, OpenBLAS) for scale.
 *
 * Two merges: task_arithmetic (weights 0.1: the factored route, QR of B_cat and A_cat then
 * the SVD of the 160 × 160 core) and ties (density 0.5: the dense route, ΔW_i formed,
 * eco_merge_tensor, a full thin SVD per module).
 *
 * Usage: bench_merge_lora [threads (default: OMP_NUM_THREADS or the cores)]. Writes about
 * 190 MB of adapters under $TMPDIR (removed at the end). A benchmark: prints, returns 0.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <cblas.h>
#include <ftw.h>
#include <jansson.h>
#include <lapacke.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_common.h"
#include "ecology/merge_dir.h"
#include "ecology/model.h"
#include "ecology/peft.h"

#define N_ADAPTERS 10
#define RANK       16
#define REPS       3

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static float urand(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* A random rank-16 adapter on every module of cfg, saved to dir. 0 on success. */
static int make_adapter(const char *dir, const eco_model_config *cfg, uint64_t seed) {
    eco_peft_config pc;
    eco_peft_config_init(&pc);
    pc.r = RANK;
    pc.lora_alpha = 2 * RANK;
    snprintf(pc.base_model_name_or_path, sizeof pc.base_model_name_or_path, "SmolLM2-135M");
    for (int t = 0; t < ECO_LORA__COUNT; t++) pc.targets[t] = true;
    const size_t n_mod = (size_t)cfg->n_layers * ECO_LORA__COUNT;
    eco_lora_module *mods = calloc(n_mod, sizeof *mods);
    eco_tensor *ts = calloc(2 * n_mod, sizeof *ts);
    float **bufs = calloc(2 * n_mod, sizeof *bufs);
    if (!mods || !ts || !bufs) return -1;
    uint64_t s = seed;
    for (size_t m = 0; m < n_mod; m++) {
        int64_t out, in;
        eco_lora_module_dims(cfg, (eco_lora_target)(m % ECO_LORA__COUNT), &out, &in);
        const int64_t shp[2][2] = {{RANK, in}, {out, RANK}};
        for (int h = 0; h < 2; h++) {
            const size_t n = (size_t)(shp[h][0] * shp[h][1]);
            float *b = bufs[2 * m + (size_t)h] = malloc(n * sizeof *b);
            if (!b) return -1;
            for (size_t i = 0; i < n; i++) b[i] = 0.02f * urand(&s);
            ts[2 * m + (size_t)h] = (eco_tensor){.dtype = ECO_DTYPE_F32,
                                                 .ndim = 2,
                                                 .shape = {shp[h][0], shp[h][1]},
                                                 .data = b,
                                                 .nbytes = n * sizeof *b};
        }
        mods[m].A = &ts[2 * m];
        mods[m].B = &ts[2 * m + 1];
    }
    eco_status st = eco_lora_adapter_save(dir, &pc, mods, cfg->n_layers);
    for (size_t i = 0; i < 2 * n_mod; i++) free(bufs[i]);
    free(bufs);
    free(ts);
    free(mods);
    return st == ECO_STATUS_OK ? 0 : -1;
}

/* Seconds for the thin SVDs of the 210 modules' shapes (random dense), modules in parallel,
 * each sgesdd single-threaded inside the region (as merge_lora.c runs them). */
static double svds_alone(const eco_model_config *cfg) {
    const int n_jobs = (int)cfg->n_layers * ECO_LORA__COUNT;
    const size_t big = (size_t)cfg->intermediate_size * (size_t)cfg->hidden_size;
    const double t0 = eco_now();
    int bad = 0;
#pragma omp parallel reduction(| : bad)
    {
        float *D = malloc(big * sizeof *D), *U = malloc(big * sizeof *U);
        float *Vt = malloc(big * sizeof *Vt), *S = malloc(2048 * sizeof *S);
        uint64_t s = 7 + (uint64_t)omp_get_thread_num();
#pragma omp for schedule(dynamic, 1)
        for (int j = 0; j < n_jobs; j++) {
            int64_t out, in;
            eco_lora_module_dims(cfg, (eco_lora_target)(j % ECO_LORA__COUNT), &out, &in);
            for (int64_t i = 0; i < out * in; i++) D[i] = urand(&s);
            const int64_t k0 = out < in ? out : in;
            bad |= LAPACKE_sgesdd(LAPACK_COL_MAJOR, 'S', (lapack_int)in, (lapack_int)out, D,
                                  (lapack_int)in, S, Vt, (lapack_int)in, U, (lapack_int)k0) != 0;
        }
        free(D);
        free(U);
        free(Vt);
        free(S);
    }
    if (bad) fprintf(stderr, "bench_merge_lora: sgesdd failed\n");
    return eco_now() - t0;
}

static double sgemm_gflops(void) {
    const int n = 1024;
    float *a = malloc((size_t)n * n * sizeof *a), *b = malloc((size_t)n * n * sizeof *b);
    float *c = malloc((size_t)n * n * sizeof *c);
    uint64_t s = 3;
    for (size_t i = 0; i < (size_t)n * n; i++) a[i] = urand(&s), b[i] = urand(&s);
    double t[5];
    for (int r = 0; r < 5; r++) {
        const double t0 = eco_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                    n);
        t[r] = eco_now() - t0;
    }
    free(a);
    free(b);
    free(c);
    return 2.0 * n * n * n / bench_median(t, 5) / 1e9;
}

int main(int argc, char **argv) {
    if (argc > 1) eco_set_threads(atoi(argv[1]));
    eco_model_config cfg;
    if (eco_model_preset_config("smollm2-135m", &cfg) != ECO_STATUS_OK) return 1;
    const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char root[512];
    snprintf(root, sizeof root, "%s/bench_merge_lora.XXXXXX", tmpdir);
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    char dirs[N_ADAPTERS][600], out[600];
    const char *parents[N_ADAPTERS];
    for (int i = 0; i < N_ADAPTERS; i++) {
        snprintf(dirs[i], sizeof dirs[i], "%s/a%d", root, i);
        parents[i] = dirs[i];
        if (make_adapter(dirs[i], &cfg, 100 + (uint64_t)i) != 0) {
            fprintf(stderr, "bench_merge_lora: making adapter %d: %s\n", i, eco_last_error());
            return 1;
        }
    }
    snprintf(out, sizeof out, "%s/merged", root);
    printf("bench_merge_lora: %d rank-%d adapters on smollm2-135m shapes (%lld modules each), "
           "merged to rank %d; %d threads, load average %.2f\n",
           N_ADAPTERS, RANK, (long long)cfg.n_layers * ECO_LORA__COUNT, RANK, eco_get_threads(),
           bench_loadavg());

    const eco_merge_method methods[2] = {ECO_MERGE_METHOD_TASK_ARITHMETIC, ECO_MERGE_METHOD_TIES};
    for (int mi = 0; mi < 2; mi++) {
        double t[REPS], svd[REPS], hash[REPS], err = 0;
        for (int r = 0; r < REPS; r++) {
            eco_merge_dir_options o;
            memset(&o, 0, sizeof o);
            o.parents = parents;
            o.n_parents = N_ADAPTERS;
            eco_merge_params_init(&o.params, methods[mi]);
            o.params.n_parents = N_ADAPTERS;
            for (int i = 0; i < N_ADAPTERS; i++) {
                o.params.weight[i] = 0.1;
                o.params.density[i] = mi ? 0.5 : 1.0;
            }
            o.rank = RANK;
            o.out = out;
            o.force = true;
            eco_merge_dir_report rep;
            double t0 = eco_now();
            if (eco_merge_adapters_dir(&o, &rep) != ECO_STATUS_OK) {
                fprintf(stderr, "bench_merge_lora: merge: %s\n", eco_last_error());
                return 1;
            }
            t[r] = eco_now() - t0;
            err = rep.rel_error;
            json_decref(rep.result);
            svd[r] = svds_alone(&cfg);
            t0 = eco_now();
            for (int i = 0; i < N_ADAPTERS; i++) {
                char *p = eco_path_join(dirs[i], "adapter_model.safetensors");
                char hex[ECO_SHA256_HEX_LEN + 1];
                if (!p || eco_sha256_file_hex(p, hex) != ECO_STATUS_OK) return 1;
                free(p);
            }
            hash[r] = eco_now() - t0;
        }
        const double tm = bench_median(t, REPS), ts = bench_median(svd, REPS);
        const double th = bench_median(hash, REPS);
        printf("  %-16s %7.3f s per merge (median of %d; relative truncation error %.3f) | the "
               "210 dense SVDs alone %7.3f s (merge/SVDs %.2f) | hashing the parents %.3f s\n",
               eco_merge_method_name(methods[mi]), tm, REPS, err, ts, tm / ts, th);
    }
    printf("  sgemm 1024^3: %.1f GFLOP/s\n", sgemm_gflops());
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
