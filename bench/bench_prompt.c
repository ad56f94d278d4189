/*
 * bench_prompt: warm, in-process prompt and decode timings of one model, the ecology side of
 * bench/bench_llamacpp.mjs (which times llama.cpp the same way: model loaded once, context
 * reused, an untimed warm-up run first).
 *
 * The model (a folder or a .gguf) is loaded once, with one KV cache sized for the longest
 * prompt plus the decode; every timed pass starts from eco_kv_cache_reset (no allocation, no
 * thread start: the OpenMP team and the activation buffers already exist from the warm-up).
 * Each run, in this order:
 *   prompt i (for each --ids file):  the file's tokens in one eco_model_forward on an empty
 *       cache, logits for the last position only (llama.cpp's evaluateWithoutGeneratingNew-
 *       Tokens asks for none: the one-row LM head is ~0.2% of a 127-token pass);
 *   decode (right after the first prompt, its cache kept): --decode greedy single-token
 *       steps, each eco_model_forward of one token then an argmax over the vocabulary.
 * Run 0 is the warm-up and is not reported; then --runs timed runs.
 *
 * Usage: bench_prompt --model PATH --ids FILE [--ids FILE ...] [--decode N (default 64)]
 *                     [--runs R (default 3)] [--threads T (default 2)]
 * An ids file holds token ids separated by whitespace, commas or brackets (the JSON array
 * `ecology tokenize --json` prints). Prints one JSON object on stdout:
 *   {"model", "threads", "runs", "load_avg_start", "load_avg_end",
 *    "prompts": [{"tokens", "ms": [per run], "median_ms", "median_tok_per_s",
 *                 "median_cpu_ms"}, ...],
 *    "decode": {"after_tokens", "tokens", "ms": [...], "median_ms", "median_tok_per_s",
 *               "median_cpu_ms"}}
 * (median_cpu_ms: process CPU time, every thread's; with --threads 1 on a shared machine the
 * figure to compare builds by.)
 * A benchmark: exits 0 with figures, 1 when it cannot run (bad arguments, unreadable model).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_common.h"
#include "ecology/model.h"

#define MAX_PROMPTS 8
#define MAX_RUNS    64

typedef struct prompt {
    const char *path;
    int32_t *ids; /* [n] */
    int64_t n;
    double ms[MAX_RUNS], cpu_ms[MAX_RUNS];
} prompt;

/* Process CPU milliseconds (all threads): on a machine shared with other work, the figure
 * to compare between builds with --threads 1 (time descheduled not counted). */
static double cpu_ms_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

/* Reads token ids from path into p->ids (caller frees); ids separated by anything that is
 * not a digit or a minus sign. Returns 0, or -1 with a message on stderr. */
static int read_ids(prompt *p, int64_t vocab) {
    char *text = NULL;
    size_t len = 0;
    if (eco_read_file(p->path, (size_t)64 << 20, &text, &len) != ECO_STATUS_OK) {
        fprintf(stderr, "bench_prompt: %s\n", eco_last_error());
        return -1;
    }
    size_t cap = len / 2 + 1; /* each id takes at least one digit and one separator */
    p->ids = malloc(cap * sizeof(int32_t));
    p->n = 0;
    if (!p->ids) {
        free(text);
        fprintf(stderr, "bench_prompt: %s: out of memory\n", p->path);
        return -1;
    }
    const char *s = text, *end = text + len;
    while (s < end) {
        if ((*s < '0' || *s > '9') && *s != '-') {
            s++;
            continue;
        }
        char *after;
        errno = 0;
        long v = strtol(s, &after, 10);
        if (after == s || errno || v < 0 || v >= vocab || (size_t)p->n >= cap) {
            fprintf(stderr, "bench_prompt: %s: id %lld: '%.12s' is not a token id in [0, %lld)\n",
                    p->path, (long long)p->n, s, (long long)vocab);
            free(text);
            return -1;
        }
        p->ids[p->n++] = (int32_t)v;
        s = after;
    }
    free(text);
    if (p->n == 0) {
        fprintf(stderr, "bench_prompt: %s: no token ids\n", p->path);
        return -1;
    }
    return 0;
}

static int64_t argmax(const float *x, int64_t n) {
    int64_t best = 0;
    for (int64_t v = 1; v < n; v++)
        if (x[v] > x[best]) best = v;
    return best;
}

static void put_ms(const double *ms, int runs) {
    printf("[");
    for (int r = 0; r < runs; r++) printf("%s%.3f", r ? ", " : "", ms[r]);
    printf("]");
}

int main(int argc, char **argv) {
    const char *model_path = NULL;
    prompt pr[MAX_PROMPTS];
    int n_pr = 0, runs = 3, threads = 2;
    long decode = 64;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            fprintf(stderr, "bench_prompt: %s needs a value\n", a);
            return 1;
        }
        i++;
        if (!strcmp(a, "--model"))
            model_path = v;
        else if (!strcmp(a, "--ids")) {
            if (n_pr == MAX_PROMPTS) {
                fprintf(stderr, "bench_prompt: at most %d --ids\n", MAX_PROMPTS);
                return 1;
            }
            memset(&pr[n_pr], 0, sizeof pr[n_pr]);
            pr[n_pr++].path = v;
        } else if (!strcmp(a, "--runs"))
            runs = atoi(v);
        else if (!strcmp(a, "--threads"))
            threads = atoi(v);
        else if (!strcmp(a, "--decode"))
            decode = atol(v);
        else {
            fprintf(stderr, "bench_prompt: unknown argument %s\n", a);
            return 1;
        }
    }
    if (!model_path || n_pr == 0 || runs < 1 || runs > MAX_RUNS || threads < 1 || decode < 0 ||
        decode > 100000) {
        fprintf(stderr,
                "usage: bench_prompt --model PATH --ids FILE [--ids FILE ...] "
                "[--decode N] [--runs 1..%d] [--threads T]\n",
                MAX_RUNS);
        return 1;
    }
    const double load_start = bench_loadavg();
    eco_set_threads(threads);
    eco_model *m = NULL;
    eco_kv_cache *kv = NULL;
    float *logits = NULL;
    double dec_ms[MAX_RUNS], dec_cpu[MAX_RUNS];
    int rc = 1;
    if (eco_model_load(model_path, &m) != ECO_STATUS_OK) {
        fprintf(stderr, "bench_prompt: %s\n", eco_last_error());
        goto out;
    }
    const int64_t vocab = eco_model_get_config(m)->vocab_size;
    int64_t max_seq = 0;
    for (int k = 0; k < n_pr; k++) {
        if (read_ids(&pr[k], vocab)) goto out;
        int64_t need = pr[k].n + (k == 0 ? decode : 0);
        if (need > max_seq) max_seq = need;
    }
    logits = malloc((size_t)vocab * sizeof(float)); /* [vocab] */
    if (!logits || eco_kv_cache_create(m, max_seq, &kv) != ECO_STATUS_OK) {
        fprintf(stderr, "bench_prompt: %s: KV cache of %lld positions: %s\n", model_path,
                (long long)max_seq, eco_last_error());
        goto out;
    }
    for (int r = -1; r < runs; r++) { /* run -1: warm-up, not reported */
        for (int k = 0; k < n_pr; k++) {
            eco_kv_cache_reset(kv);
            const double c0 = cpu_ms_now();
            double t0 = eco_now();
            if (eco_model_forward(m, kv, pr[k].ids, pr[k].n, logits, false) != ECO_STATUS_OK)
                goto fail;
            double t1 = eco_now();
            if (r >= 0) {
                pr[k].ms[r] = 1e3 * (t1 - t0);
                pr[k].cpu_ms[r] = cpu_ms_now() - c0;
            }
            if (k == 0) { /* decode after the first prompt, its cache kept */
                const double c1 = cpu_ms_now();
                int32_t tok = (int32_t)argmax(logits, vocab);
                for (long i = 0; i < decode; i++) {
                    if (eco_model_forward(m, kv, &tok, 1, logits, false) != ECO_STATUS_OK)
                        goto fail;
                    tok = (int32_t)argmax(logits, vocab);
                }
                if (r >= 0) {
                    dec_ms[r] = 1e3 * (eco_now() - t1);
                    dec_cpu[r] = cpu_ms_now() - c1;
                }
            }
        }
    }
    printf("{\"model\": \"%s\", \"threads\": %d, \"runs\": %d, \"load_avg_start\": %.2f, "
           "\"load_avg_end\": %.2f,\n \"prompts\": [",
           model_path, threads, runs, load_start, bench_loadavg());
    for (int k = 0; k < n_pr; k++) {
        double tmp[MAX_RUNS];
        memcpy(tmp, pr[k].ms, sizeof(double) * (size_t)runs);
        const double med = bench_median(tmp, runs);
        memcpy(tmp, pr[k].cpu_ms, sizeof(double) * (size_t)runs);
        const double cmed = bench_median(tmp, runs);
        printf("%s\n  {\"tokens\": %lld, \"ms\": ", k ? "," : "", (long long)pr[k].n);
        put_ms(pr[k].ms, runs);
        printf(", \"median_ms\": %.3f, \"median_tok_per_s\": %.2f, \"median_cpu_ms\": %.3f}", med,
               (double)pr[k].n * 1e3 / med, cmed);
    }
    double tmp[MAX_RUNS];
    memcpy(tmp, dec_ms, sizeof(double) * (size_t)runs);
    const double dmed = bench_median(tmp, runs);
    memcpy(tmp, dec_cpu, sizeof(double) * (size_t)runs);
    const double dcmed = bench_median(tmp, runs);
    printf("],\n \"decode\": {\"after_tokens\": %lld, \"tokens\": %ld, \"ms\": ",
           (long long)pr[0].n, decode);
    put_ms(dec_ms, runs);
    printf(", \"median_ms\": %.3f, \"median_tok_per_s\": %.2f, \"median_cpu_ms\": %.3f}}\n", dmed,
           dmed > 0 ? (double)decode * 1e3 / dmed : 0.0, dcmed);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "bench_prompt: forward: %s\n", eco_last_error());
out:
    for (int k = 0; k < n_pr; k++) free(pr[k].ids);
    free(logits);
    eco_kv_cache_free(kv);
    eco_model_free(m);
    return rc;
}
