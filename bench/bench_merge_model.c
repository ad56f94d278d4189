/*
 * bench_merge_model: full-model merges of three SmolLM2-135M-shaped f32 models (random weights,
 * eco_model_create_random; made once in a temporary folder, plus a base θ₀), with linear,
 * ties (density 0.5) and dare_ties (density 0.5), then the same with a model twice as deep.
 * Each merge twice: with the parents' digests known (what breed does after its verified
 * checkout: eco_merge_dir_options.parent_files/base_files, no hashing) and as plain folders
 * (`ecology merge`: the lineage's SHA-256 of every parent computed while the merge streams).
 *
 * Figures, each beside its baseline measured in the same run:
 *   - GB/s of parent (and base) tensor bytes read per second of the whole merge (open,
 *     compatibility check, streaming, lineage hashes, fsync of the output), beside the
 *     machine's copy bandwidth (memcpy of a 512 MiB buffer into another, counted as bytes
 *     copied per second; median of 5, measured again before each line). Target for linear:
 *     ≥ 50% of the copy bandwidth. The output's fsync (and rename) is shown apart, and the
 *     GB/s without it.
 *   - the disk's bound: the seconds to write one output's bytes (one parent's size) to a
 *     file beside the models as the merge writes it (2 MB writes from one buffer,
 *     write-back started every 32 MB, fsync, rename; median of 3, measured again before
 *     each line), and the read rate a merge would show if it took only that long.
 *   - peak resident memory of the merge (VmHWM of a child process that does nothing else,
 *     reset through /proc/self/clear_refs before the merge), beside one parent's size.
 *     Target: below it, and the same for the deeper model.
 * Median of 3 merges each (each in its own child process, the parents in the page cache; the
 * previous output removed before the clock starts).
 *
 * Usage: bench_merge_model [--quick] [--models DIR] [--method NAME] [--known] [--reps N]
 * (--quick: one merge each, the deeper model skipped; --models: the parents made in DIR once
 * and kept for later runs; --method: that method only (repeatable); --known: the digests
 * known only; --reps: merges per figure, median taken). TMPDIR chooses where the models go
 * otherwise (about 6.5 GB).
 */
#define _GNU_SOURCE /* sync_file_range */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_common.h"
#include "ecology/artifacts.h"
#include "ecology/merge_dir.h"
#include "ecology/model.h"

#define REPS     3
#define REPS_MAX 15

typedef struct result {
    double seconds;
    double sync; /* of seconds: the output's fsync and rename */
    double cpu;  /* user + system seconds of the child (both threads) */
    double bytes_read;
    double hwm_mb;
    int ok;
} result;

static double now_s(void) { return eco_now(); }

/* VmHWM of this process in MB (−1 when unreadable). */
static double vm_hwm_mb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    double kb = -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kb = atof(line + 6);
    fclose(f);
    return kb / 1024.0;
}

static void reset_hwm(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

/* The methods run (--method; none given: linear, ties, dare_ties) and whether the plain
 * folders are run too. */
static eco_merge_method g_methods[8];
static size_t g_n_methods;
static int g_known_only;

/* The parents' and the base's manifests, as a registry checkout has them. */
static eco_manifest g_files[4];
static int g_have_files;

/* One merge in a child process; the figures come back through a pipe. known: the parents'
 * digests given (what breed passes after its verified checkout), else hashed. */
static result run_child(eco_merge_method m, const char *root, const char *out, int known) {
    result r = {0};
    eco_remove_tree(out); /* the last child's files: not this merge's work */
    int fd[2];
    if (pipe(fd) != 0) return r;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        char *a = eco_path_join(root, "p1"), *b = eco_path_join(root, "p2"),
             *c = eco_path_join(root, "p3"), *base = eco_path_join(root, "base");
        const char *parents[3] = {a, b, c};
        eco_merge_dir_options o = {0};
        eco_merge_params_init(&o.params, m);
        o.params.n_parents = 3;
        for (int i = 0; i < 3; i++) {
            o.params.weight[i] = 1.0 / 3;
            if (m != ECO_MERGE_METHOD_LINEAR) o.params.density[i] = 0.5;
        }
        o.params.seed = 1;
        o.base = m == ECO_MERGE_METHOD_LINEAR ? NULL : base;
        o.parents = parents;
        o.n_parents = 3;
        o.out = out;
        o.force = true;
        const eco_manifest *files[3] = {&g_files[0], &g_files[1], &g_files[2]};
        if (known) {
            o.parent_files = files;
            o.base_files = &g_files[3];
        }
        reset_hwm();
        eco_merge_dir_report rep;
        double t0 = now_s();
        eco_status st = eco_merge_dir(&o, &rep);
        result cr = {.seconds = now_s() - t0,
                     .sync = st ? 0 : rep.sync_seconds,
                     .bytes_read = (double)rep.bytes_read,
                     .hwm_mb = vm_hwm_mb(),
                     .ok = st == ECO_STATUS_OK};
        if (st) fprintf(stderr, "bench_merge_model: %s\n", eco_last_error());
        if (!st) eco_merge_dir_report_free(&rep);
        ssize_t wr = write(fd[1], &cr, sizeof cr);
        (void)wr;
        _exit(0);
    }
    close(fd[1]);
    ssize_t got = pid > 0 ? read(fd[0], &r, sizeof r) : -1;
    close(fd[0]);
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    if (pid > 0) wait4(pid, NULL, 0, &ru);
    if (got != (ssize_t)sizeof r) r.ok = 0;
    r.cpu = (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
            (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
    return r;
}

/* The models of one size, each made in a child (creation holds a model's copy). */
static int make_models(const char *root, int depth_factor) {
    static const char *const names[] = {"p1", "p2", "p3", "base"};
    for (int i = 0; i < 4; i++) {
        char *dir = eco_path_join(root, names[i]);
        if (eco_path_has_file(dir, "lineage.json") || eco_path_has_file(dir, "config.json")) {
            free(dir); /* kept from an earlier run (--models) */
            continue;
        }
        pid_t pid = fork();
        if (pid == 0) {
            eco_model_config cfg;
            eco_status st = eco_model_preset_config("smollm2-135m", &cfg);
            cfg.n_layers *= depth_factor;
            if (!st) st = eco_model_create_random(&cfg, (uint64_t)(i + 1), ECO_DTYPE_F32, dir);
            if (st) fprintf(stderr, "bench_merge_model: %s\n", eco_last_error());
            _exit(st ? 1 : 0);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0)
            return -1;
    }
    return 0;
}

/* memcpy bandwidth: bytes copied per second, median of 5 (in a child: its 1 GiB of buffers
 * must not count in the merges' peaks). */
static double copy_bandwidth(void) {
    int fd[2];
    if (pipe(fd) != 0) return 0;
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        size_t n = (size_t)512 << 20;
        char *a = malloc(n), *b = malloc(n);
        double gbs = 0;
        if (a && b) {
            memset(a, 1, n);
            memset(b, 2, n);
            double v[5];
            for (int r = 0; r < 5; r++) {
                double t0 = now_s();
                memcpy(b, a, n);
                v[r] = (double)n / (now_s() - t0) / 1e9;
                a[r] = b[n - 1 - (size_t)r];
            }
            gbs = bench_median(v, 5);
        }
        ssize_t wr = write(fd[1], &gbs, sizeof gbs);
        (void)wr;
        _exit(0);
    }
    close(fd[1]);
    double gbs = 0;
    if (pid > 0 && read(fd[0], &gbs, sizeof gbs) != (ssize_t)sizeof gbs) gbs = 0;
    close(fd[0]);
    if (pid > 0) waitpid(pid, NULL, 0);
    return gbs;
}

/* The seconds to write bytes to a new file in dir and make them durable as the merge's
 * writer does (2 MB writes, sync_file_range every 32 MB, fsync, rename), median of 3; 0
 * when a write fails. Page cache and disk as the merge finds them: no output in it. */
static double write_seconds(const char *dir, size_t bytes) {
    char *tmp = eco_path_join(dir, "write_bound.tmp"), *dst = eco_path_join(dir, "write_bound");
    const size_t block = (size_t)2 << 20, behind = (size_t)32 << 20;
    char *buf = malloc(block);
    double v[3] = {0, 0, 0};
    int ok = tmp && dst && buf;
    if (buf) memset(buf, 0x5a, block);
    for (int r = 0; ok && r < 3; r++) {
        unlink(dst);
        double t0 = now_s();
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        size_t done = 0, queued = 0;
        ok = fd >= 0;
        while (ok && done < bytes) {
            size_t n = bytes - done < block ? bytes - done : block;
            ok = write(fd, buf, n) == (ssize_t)n;
            done += n;
            if (ok && done - queued >= behind) {
                (void)sync_file_range(fd, (off_t)queued, (off_t)(done - queued),
                                      SYNC_FILE_RANGE_WRITE);
                queued = done;
            }
        }
        ok = ok && fsync(fd) == 0;
        if (fd >= 0) close(fd);
        ok = ok && rename(tmp, dst) == 0;
        v[r] = now_s() - t0;
    }
    if (dst) unlink(dst);
    free(buf);
    free(tmp);
    free(dst);
    return ok ? bench_median(v, 3) : 0;
}

static int cmp_res(const void *x, const void *y) {
    double a = ((const result *)x)->seconds, b = ((const result *)y)->seconds;
    return (a > b) - (a < b);
}

static int bench_size(const char *tmp, int depth_factor, int reps, double copy_gbs, int keep) {
    char sub[16];
    snprintf(sub, sizeof sub, "d%d", depth_factor);
    char *root = eco_path_join(tmp, sub), *out = eco_path_join(root, "child"),
         *p1 = eco_path_join(root, "p1");
    double t0 = now_s();
    if (make_models(root, depth_factor) != 0) return -1;
    eco_weights *w;
    if (eco_weights_open(p1, &w)) return -1;
    double parent_mb = (double)eco_weights_nbytes(w) / 1e6;
    eco_weights_close(w);
    printf("\nSmolLM2-135M-shaped f32, %dx the layers: one parent %.0f MB (made in %.1f s)\n",
           depth_factor, parent_mb, now_s() - t0);
    static const char *const names[4] = {"p1", "p2", "p3", "base"};
    g_have_files = 1;
    t0 = now_s();
    for (int i = 0; i < 4; i++) {
        char *dir = eco_path_join(root, names[i]);
        if (!dir || eco_manifest_from_dir(dir, NULL, &g_files[i])) g_have_files = 0;
        free(dir);
    }
    if (!g_have_files) return -1;
    printf("  (the parents' manifests, as a registry checkout holds them: %.1f s)\n", now_s() - t0);
    const eco_merge_method *methods = g_methods;
    static const char *const how[2] = {"plain folders, hashed", "digests known (breed)"};
    for (size_t k = 0; k < g_n_methods; k++) {
        for (int known = 1; known >= g_known_only; known--) {
            double cgbs = copy_bandwidth(); /* the baselines beside each figure */
            double wsec = write_seconds(root, (size_t)(parent_mb * 1e6));
            result rs[REPS_MAX];
            int ok = 1;
            for (int r = 0; r < reps; r++) {
                rs[r] = run_child(methods[k], root, out, known);
                ok &= rs[r].ok;
            }
            if (!ok) {
                printf("  %-10s %s: failed\n", eco_merge_method_name(methods[k]), how[known]);
                continue;
            }
            qsort(rs, (size_t)reps, sizeof *rs, cmp_res);
            result med = rs[reps / 2];
            double hwm = 0;
            for (int r = 0; r < reps; r++)
                if (rs[r].hwm_mb > hwm) hwm = rs[r].hwm_mb;
            double gbs = med.bytes_read / med.seconds / 1e9;
            double gbs_nosync = med.bytes_read / (med.seconds - med.sync) / 1e9;
            printf("  %-10s %-21s %5.2f s (fsync %4.2f s; CPU %5.2f s)  %5.2f GB/s read = %3.0f%% "
                   "of copy %5.2f GB/s (without the fsync %5.2f GB/s = %3.0f%%)  peak RSS %4.0f "
                   "MB (%.2fx one parent)  load %.2f\n",
                   eco_merge_method_name(methods[k]), how[known], med.seconds, med.sync, med.cpu,
                   gbs, 100 * gbs / cgbs, cgbs, gbs_nosync, 100 * gbs_nosync / cgbs, hwm,
                   hwm / parent_mb, bench_loadavg());
            if (wsec > 0)
                printf("  %-10s %-21s the output's write alone %4.2f s: at most %5.2f GB/s read "
                       "= %3.0f%% of copy; the merge %3.0f%% of that\n",
                       "", "", wsec, med.bytes_read / wsec / 1e9,
                       100 * med.bytes_read / wsec / 1e9 / cgbs, 100 * wsec / med.seconds);
            fflush(stdout);
        }
    }
    for (int i = 0; i < 4; i++) eco_manifest_free(&g_files[i]);
    if (!keep) eco_remove_tree(root);
    free(root);
    free(out);
    free(p1);
    return 0;
}

int main(int argc, char **argv) {
    int quick = 0, reps = 0;
    const char *models = NULL;
    for (int a = 1; a < argc; a++) {
        eco_merge_method m;
        if (strcmp(argv[a], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[a], "--known") == 0)
            g_known_only = 1;
        else if (strcmp(argv[a], "--models") == 0 && a + 1 < argc)
            models = argv[++a];
        else if (strcmp(argv[a], "--reps") == 0 && a + 1 < argc && atoi(argv[a + 1]) >= 1 &&
                 atoi(argv[a + 1]) <= REPS_MAX)
            reps = atoi(argv[++a]);
        else if (strcmp(argv[a], "--method") == 0 && a + 1 < argc &&
                 g_n_methods < sizeof g_methods / sizeof *g_methods &&
                 eco_merge_method_parse(argv[a + 1], &m) == ECO_STATUS_OK) {
            g_methods[g_n_methods++] = m;
            a++;
        } else {
            fprintf(stderr,
                    "usage: bench_merge_model [--quick] [--models DIR] [--method NAME] "
                    "[--known] [--reps N (1 to %d)]\n",
                    REPS_MAX);
            return 2;
        }
    }
    if (g_n_methods == 0) {
        g_methods[g_n_methods++] = ECO_MERGE_METHOD_LINEAR;
        g_methods[g_n_methods++] = ECO_MERGE_METHOD_TIES;
        g_methods[g_n_methods++] = ECO_MERGE_METHOD_DARE_TIES;
    }
    if (!reps) reps = quick ? 1 : REPS;
    const char *tmpdir = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/bench_merge_model.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (models) {
        snprintf(tmp, sizeof tmp, "%s", models);
        if (eco_mkdir_p(tmp)) {
            fprintf(stderr, "bench_merge_model: %s\n", eco_last_error());
            return 1;
        }
    } else if (!mkdtemp(tmp)) {
        perror("bench_merge_model: mkdtemp");
        return 1;
    }
    double copy_gbs = copy_bandwidth();
    printf("bench_merge_model: memcpy bandwidth %.2f GB/s (512 MiB, median of 5); load %.2f; %d "
           "threads\n",
           copy_gbs, bench_loadavg(), omp_get_max_threads());
    int rc = bench_size(tmp, 1, reps, copy_gbs, models != NULL);
    if (!rc && !quick) rc = bench_size(tmp, 2, reps, copy_gbs, models != NULL);
    if (!models) eco_remove_tree(tmp);
    if (rc) fprintf(stderr, "bench_merge_model: %s\n", eco_last_error());
    return rc ? 1 : 0;
}
