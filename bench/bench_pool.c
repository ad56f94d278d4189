/*
 * bench_pool: the engine pool's memory with 1, 10 and 100 resident adapters on one base,
 * against opening each adapter as an engine of its own (eco_llama_engine_open_adapter: a
 * model per adapter), measured in the same run; and the per-infer cost of switching
 * adapters on the shared base against infers on one fixed adapter.
 *
 * The models: a random base with data/models/eco-tiny's shapes (config.json read from the
 * source tree; f32) and 100 random f32 adapters of rank 8, 16, 24, 32 in turn on all seven
 * targets, registered in a temporary data folder. Each measurement runs in a forked child
 * (so one cannot inherit another's freed heap) and reports the growth of its resident set
 * (/proc/self/statm) from before the first load to after one greedy infer on every engine
 * (so every adapter's pages have been read), next to the pool's own byte counts.
 *
 *   bench_pool [--threads N] [--max N] [--baseline-max N]
 *     --threads       kernel threads (default 1: fork-safe, and the machine is shared)
 *     --max           largest adapter count (default 100)
 *     --baseline-max  largest count opened as separate engines (default 100)
 *
 * Prints figures; never fails a build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"
#include "ecology/engine.h"
#include "ecology/model.h"
#include "ecology/registry.h"
#include "ecology/runtime.h"

#define N_MAX         100
#define PROMPT        "the quick brown fox jumps over"
#define SWITCH_ROUNDS 31
#define SWITCH_TOKENS 8

static char *adapter_dirs[N_MAX]; /* checkout folders of the adapters */
static char *base_dir;            /* checkout folder of the base */
static char adapter_ids[N_MAX][16];

/* A random rank-r adapter on all seven targets of cfg, saved to dir. 0 on success. */
static int make_adapter(const char *dir, const eco_model_config *cfg, int64_t r, uint64_t seed) {
    eco_peft_config pc;
    eco_peft_config_init(&pc);
    pc.r = r;
    pc.lora_alpha = (double)(2 * r);
    snprintf(pc.base_model_name_or_path, sizeof pc.base_model_name_or_path, "base");
    for (int t = 0; t < ECO_LORA__COUNT; t++) pc.targets[t] = true;
    return eco_lora_adapter_create_random(dir, cfg, &pc, seed, 0.02f) == ECO_STATUS_OK ? 0 : -1;
}

static int fail(const char *what) {
    fprintf(stderr, "bench_pool: %s: %s\n", what, eco_last_error());
    return 1;
}

/* The base and n adapters registered in <tmp>/data; fills base_dir and adapter_dirs with
 * their checkouts. 0 on success. */
static int build_registry(const char *tmp, int n) {
    char *cfg_path = bench_source_path("data/models/eco-tiny/config.json");
    eco_model_config cfg;
    if (eco_config_load(cfg_path, &cfg) != ECO_STATUS_OK) return fail(cfg_path);
    free(cfg_path);
    char *data = eco_path_join(tmp, "data"), *src = eco_path_join(tmp, "src");
    char *bdir = eco_path_join(src, "base");
    if (eco_registry_init(data) != ECO_STATUS_OK) return fail("registry init");
    if (eco_model_create_random(&cfg, 7, ECO_DTYPE_F32, bdir) != ECO_STATUS_OK)
        return fail("random base");
    eco_registry *r = NULL;
    eco_registry_options o = {.data_dir = data};
    if (eco_registry_open(&o, &r) != ECO_STATUS_OK) return fail("registry open");
    eco_add_options ao = {.id = "base", .created_at = "2026-12-07T00:00:00Z"};
    if (eco_registry_add_dir(r, bdir, &ao, NULL) != ECO_STATUS_OK) return fail("add base");
    for (int i = 0; i < n; i++) {
        snprintf(adapter_ids[i], sizeof adapter_ids[i], "a%03d", i);
        char *adir = eco_path_join(src, adapter_ids[i]);
        if (make_adapter(adir, &cfg, 8 * (1 + i % 4), 1000 + (uint64_t)i) != 0)
            return fail("random adapter");
        eco_add_options a = {.id = adapter_ids[i], .base = "base", .created_at = ao.created_at};
        if (eco_registry_add_dir(r, adir, &a, NULL) != ECO_STATUS_OK) return fail("add adapter");
        if (eco_registry_checkout(r, adapter_ids[i], &adapter_dirs[i], NULL) != ECO_STATUS_OK)
            return fail("checkout");
        free(adir);
    }
    if (eco_registry_checkout(r, "base", &base_dir, NULL) != ECO_STATUS_OK) return fail("checkout");
    eco_registry_close(r);
    free(bdir);
    free(src);
    free(data);
    return 0;
}

static uint64_t rss_bytes(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static eco_infer_request request(int max_tokens) {
    eco_infer_request q;
    eco_infer_request_init(&q);
    q.prompt = PROMPT;
    q.max_tokens = max_tokens;
    q.stop_at_eos = false;
    return q;
}

static int infer_once(eco_engine *e, int max_tokens) {
    eco_infer_request q = request(max_tokens);
    eco_infer_response resp;
    if (e->infer(e, &q, &resp) != ECO_STATUS_OK) return -1;
    eco_infer_response_free(&resp);
    return 0;
}

/* What a child reports through its pipe. */
typedef struct result {
    int ok;
    double rss_growth, seconds;
    eco_pool_stats stats;
    double switch_ms, fixed_ms, own_ms;    /* per infer, medians */
    double switch_min, fixed_min, own_min; /* per infer, fastest */
    double overhead_ms, attach_ms;         /* median switch - fixed; one attach alone */
} result;

/* n adapters resident in a pool (one infer each); growth of RSS. */
static void measure_pool(const char *data, int n, result *out) {
    eco_registry *r = NULL;
    eco_registry_options o = {.data_dir = data};
    if (eco_registry_open(&o, &r) != ECO_STATUS_OK) return;
    const uint64_t rss0 = rss_bytes();
    const double t0 = eco_now();
    eco_pool *p = NULL;
    if (eco_pool_create(r, NULL, &p) != ECO_STATUS_OK) return;
    for (int i = 0; i < n; i++) {
        eco_engine *e = NULL;
        if (eco_pool_acquire(p, adapter_ids[i], &e) != ECO_STATUS_OK || infer_once(e, 4) != 0) {
            fail(adapter_ids[i]);
            return;
        }
        eco_pool_release(p, e);
    }
    out->seconds = eco_now() - t0;
    out->rss_growth = (double)(rss_bytes() - rss0);
    eco_pool_get_stats(p, &out->stats);
    out->ok = 1;
    eco_pool_destroy(p);
    eco_registry_close(r);
}

/* n adapters, each an engine of its own over the same checkouts (one infer each). */
static void measure_own_engines(int n, result *out) {
    eco_engine **es = calloc((size_t)n, sizeof *es);
    if (!es) return;
    const uint64_t rss0 = rss_bytes();
    const double t0 = eco_now();
    for (int i = 0; i < n; i++)
        if (eco_llama_engine_open_adapter(base_dir, adapter_dirs[i], adapter_ids[i], &es[i]) !=
                ECO_STATUS_OK ||
            infer_once(es[i], 4) != 0) {
            fail(adapter_ids[i]);
            return;
        }
    out->seconds = eco_now() - t0;
    out->rss_growth = (double)(rss_bytes() - rss0);
    out->ok = 1;
    for (int i = 0; i < n; i++) eco_engine_destroy(es[i]);
    free(es);
}

/* Milliseconds one greedy infer of `tokens` tokens takes on e (-1 on failure). */
static double timed_infer(eco_engine *e, int tokens) {
    const double t0 = eco_now();
    return infer_once(e, tokens) == 0 ? 1e3 * (eco_now() - t0) : -1.0;
}

/* Infer cost on 10 adapters: on the pool's shared base one fixed adapter (attached
 * already) and a switch to another (an attach first), and 10 engines of their own in turn
 * (no attach, ten models). Measured in rounds of the three, so that a change of load hits
 * them alike (the fixed and the switching infer in turns first); the overhead is the
 * median of the rounds' differences switch − fixed. Then one eco_model_set_adapter alone. */
static void measure_switch(const char *data, int n, result *out) {
    enum { ROUNDS = SWITCH_ROUNDS, TOKENS = SWITCH_TOKENS };
    eco_registry *r = NULL;
    eco_registry_options o = {.data_dir = data};
    eco_pool *p = NULL;
    if (eco_registry_open(&o, &r) != ECO_STATUS_OK || eco_pool_create(r, NULL, &p) != ECO_STATUS_OK)
        return;
    eco_engine *pe[10], *own[10];
    for (int i = 0; i < n; i++)
        if (eco_pool_acquire(p, adapter_ids[i], &pe[i]) != ECO_STATUS_OK ||
            eco_llama_engine_open_adapter(base_dir, adapter_dirs[i], NULL, &own[i]) !=
                ECO_STATUS_OK ||
            infer_once(pe[i], TOKENS) != 0 || infer_once(own[i], TOKENS) != 0) {
            fail(adapter_ids[i]);
            return;
        }
    double fx[ROUNDS], sw[ROUNDS], ow[ROUNDS], d[ROUNDS];
    for (int k = 0; k < ROUNDS; k++) {
        /* even rounds time the fixed infer first, odd ones the switch: neither always
         * comes first after the untimed infer */
        eco_engine *other = pe[1 + k % (n - 1)];
        if (infer_once(pe[0], TOKENS) != 0) return; /* attaches adapter 0 */
        if (k % 2 == 0) {
            fx[k] = timed_infer(pe[0], TOKENS); /* adapter 0 again: no attach */
            sw[k] = timed_infer(other, TOKENS); /* attach */
        } else {
            sw[k] = timed_infer(other, TOKENS); /* attach */
            fx[k] = timed_infer(other, TOKENS); /* the same again: no attach */
        }
        ow[k] = timed_infer(own[k % n], TOKENS);
        if (fx[k] < 0 || sw[k] < 0 || ow[k] < 0) return;
        d[k] = sw[k] - fx[k];
    }
    out->switch_min = sw[0];
    out->fixed_min = fx[0];
    out->own_min = ow[0];
    for (int k = 1; k < ROUNDS; k++) {
        if (sw[k] < out->switch_min) out->switch_min = sw[k];
        if (fx[k] < out->fixed_min) out->fixed_min = fx[k];
        if (ow[k] < out->own_min) out->own_min = ow[k];
    }
    out->switch_ms = bench_median(sw, ROUNDS);
    out->fixed_ms = bench_median(fx, ROUNDS);
    out->own_ms = bench_median(ow, ROUNDS);
    out->overhead_ms = bench_median(d, ROUNDS);
    /* one attach alone: eco_model_set_adapter from the mapped adapter into the model */
    eco_model *m = eco_llama_engine_model(own[0]);
    eco_lora_adapter *a = NULL;
    if (eco_lora_adapter_load(adapter_dirs[1], eco_model_get_config(m), &a) == ECO_STATUS_OK) {
        double at[ROUNDS];
        for (int k = 0; k < ROUNDS; k++) {
            const double t0 = eco_now();
            eco_model_set_adapter(m, a);
            at[k] = 1e3 * (eco_now() - t0);
        }
        out->attach_ms = bench_median(at, ROUNDS);
        eco_lora_adapter_free(a);
    }
    out->ok = 1;
    for (int i = 0; i < n; i++) {
        eco_pool_release(p, pe[i]);
        eco_engine_destroy(own[i]);
    }
    eco_pool_destroy(p);
    eco_registry_close(r);
}

typedef enum { RUN_POOL, RUN_OWN, RUN_SWITCH } run_kind;

/* Runs one measurement in a forked child; *out receives its result (ok 0 on failure). */
static void run_child(run_kind kind, const char *data, int n, result *out) {
    memset(out, 0, sizeof *out);
    int fd[2];
    if (pipe(fd) != 0) return;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        result res;
        memset(&res, 0, sizeof res);
        if (kind == RUN_POOL) measure_pool(data, n, &res);
        if (kind == RUN_OWN) measure_own_engines(n, &res);
        if (kind == RUN_SWITCH) measure_switch(data, n, &res);
        ssize_t w = write(fd[1], &res, sizeof res);
        _exit(w == (ssize_t)sizeof res ? 0 : 1);
    }
    close(fd[1]);
    if (pid > 0) {
        if (read(fd[0], out, sizeof *out) != (ssize_t)sizeof *out) out->ok = 0;
        waitpid(pid, NULL, 0);
    }
    close(fd[0]);
}

int main(int argc, char **argv) {
    int threads = 1, max_n = N_MAX, baseline_max = N_MAX;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc)
            max_n = atoi(argv[++i]);
        else if (strcmp(argv[i], "--baseline-max") == 0 && i + 1 < argc)
            baseline_max = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_pool [--threads N] [--max N] [--baseline-max N]\n");
            return 2;
        }
    }
    if (max_n < 10 || max_n > N_MAX) max_n = max_n < 10 ? 10 : N_MAX;
    eco_set_threads(threads);
    char tmpl[] = "/tmp/bench_pool.XXXXXX";
    char *tmp = mkdtemp(tmpl);
    if (!tmp) return fail("mkdtemp");
    printf("bench_pool: load average %.2f, %d kernel thread(s), base with eco-tiny's shapes "
           "(f32), adapters f32 rank 8/16/24/32 on all seven targets\n",
           bench_loadavg(), eco_get_threads());
    const double t_setup = eco_now();
    if (build_registry(tmp, max_n) != 0) return 1;
    printf("setup: %d adapters registered in %.1f s\n\n", max_n, eco_now() - t_setup);
    char *data = eco_path_join(tmp, "data");

    printf("%9s | %27s | %25s | %8s\n", "adapters", "pool (one shared base)",
           "one engine per adapter", "RSS");
    printf("%9s | %12s %14s | %12s %12s | %8s\n", "", "RSS +MiB", "counts MiB", "RSS +MiB",
           "load s", "own/pool");
    const int counts[] = {1, 10, 100};
    double pool_rss[3] = {0};
    for (int c = 0; c < 3; c++) {
        const int n = counts[c];
        if (n > max_n) break;
        result pr, orr;
        run_child(RUN_POOL, data, n, &pr);
        if (!pr.ok) return fail("pool measurement");
        pool_rss[c] = pr.rss_growth;
        char own[64] = "(skipped)", ratio[16] = "";
        if (n <= baseline_max) {
            run_child(RUN_OWN, data, n, &orr);
            if (!orr.ok) return fail("baseline measurement");
            snprintf(own, sizeof own, "%12.1f %12.2f", orr.rss_growth / 1048576.0, orr.seconds);
            snprintf(ratio, sizeof ratio, "%8.1f", orr.rss_growth / pr.rss_growth);
        }
        printf("%9d | %12.1f %8.1f+%5.1f | %25s | %8s   (pool load %.2f s; %llu loads)\n", n,
               pr.rss_growth / 1048576.0, (double)pr.stats.base_bytes / 1048576.0,
               (double)pr.stats.adapter_bytes / 1048576.0, own, ratio, pr.seconds,
               (unsigned long long)pr.stats.loads);
    }
    if (max_n >= 100)
        printf("pool: each adapter past the first adds %.2f MiB of RSS (1 -> 100)\n",
               (pool_rss[2] - pool_rss[0]) / 99.0 / 1048576.0);

    result sw;
    run_child(RUN_SWITCH, data, 10, &sw);
    if (!sw.ok) return fail("switch measurement");
    printf("\nper infer (prompt %zu bytes + %d greedy tokens; %d rounds, median / fastest):\n",
           strlen(PROMPT), SWITCH_TOKENS, SWITCH_ROUNDS);
    printf("  pool, one fixed adapter (attached already)  %8.3f / %8.3f ms\n", sw.fixed_ms,
           sw.fixed_min);
    printf("  pool, switch to another adapter (attach)    %8.3f / %8.3f ms\n", sw.switch_ms,
           sw.switch_min);
    printf("  10 own engines in turn (baseline, no attach) %7.3f / %8.3f ms\n", sw.own_ms,
           sw.own_min);
    printf("  switching overhead: %+.3f ms per infer (median of the rounds' differences, "
           "%+.1f%% of a fixed infer); one eco_model_set_adapter alone %.3f ms\n",
           sw.overhead_ms, 100.0 * sw.overhead_ms / sw.fixed_ms, sw.attach_ms);
    printf("load average %.2f at the end\n", bench_loadavg());
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "bench_pool: could not remove %s\n", tmp);
    free(data);
    return 0;
}
