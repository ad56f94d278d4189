/*
 * bench_remote: what the http engine (remote.h) adds per request on loopback, against the
 * llama engine answering the same request in-process, measured in the same run: this
 * project's server (eco_server_start, in-process, on 127.0.0.1) serves the shipped base
 * (data/models/eco-tiny) with its reverse adapter, and each round times one greedy request
 * through the http engine and the same request on a local engine over the same folders,
 * interleaved. Two request sizes: a single generated token (the round trip and the server's
 * own work around a generation dominate) and 16 tokens. The overhead is the difference of the
 * medians, also as a ratio to the local median. Then time to first token (the call to
 * on_token for the first token, from the infer call) of a 64-token request: the local
 * engine, the http engine streaming (a request with on_token), and the whole plain answer
 * through the http engine (what the first token waited for before the engine streamed),
 * each as a ratio to the local engine's.
 *
 *   bench_remote [--rounds N] [--threads N]   (default 31 rounds, 1 thread)
 *
 * Prints figures and the machine's load average; never fails a build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "ecology/engine.h"
#include "ecology/registry.h"
#include "ecology/remote.h"
#include "ecology/server.h"

#define PROMPT "Reverse: kosjeco\nReversed:"

static int fail(const char *what) {
    fprintf(stderr, "bench_remote: %s: %s\n", what, eco_last_error());
    return 1;
}

static double time_one(eco_engine *e, int max_tokens, size_t *n_tokens) {
    eco_infer_request q;
    eco_infer_request_init(&q);
    q.prompt = PROMPT;
    q.max_tokens = max_tokens;
    eco_infer_response r;
    double t0 = eco_now();
    eco_status st = e->infer(e, &q, &r);
    double ms = (eco_now() - t0) * 1000;
    if (st) {
        fail("infer");
        return -1;
    }
    *n_tokens = r.n_tokens;
    eco_infer_response_free(&r);
    return ms;
}

static bool first_token(void *ctx, const eco_infer_step *step) {
    double *t = ctx;
    if (step->index == 0) *t = eco_now();
    return true;
}

/* Milliseconds from the infer call to the first token (streamed: on_token's first call;
 * else the whole answer). */
static double time_first(eco_engine *e, int max_tokens, bool streamed, size_t *n_tokens) {
    eco_infer_request q;
    eco_infer_request_init(&q);
    q.prompt = PROMPT;
    q.max_tokens = max_tokens;
    double t_first = 0;
    if (streamed) {
        q.on_token = first_token;
        q.on_token_ctx = &t_first;
    }
    eco_infer_response r;
    double t0 = eco_now();
    eco_status st = e->infer(e, &q, &r);
    double t_end = eco_now();
    if (st) {
        fail("infer");
        return -1;
    }
    *n_tokens = r.n_tokens;
    eco_infer_response_free(&r);
    return ((streamed && t_first > 0 ? t_first : t_end) - t0) * 1000;
}

int main(int argc, char **argv) {
    int rounds = 31, threads = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
        if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    }
    if (rounds < 3 || rounds > 10000) rounds = 31;
    eco_set_threads(threads);
    char tmpl[] = "/tmp/bench_remote_XXXXXX";
    char *tmp = mkdtemp(tmpl);
    if (!tmp) return 1;
    char *data = eco_path_join(tmp, "data");
    char *base = bench_source_path("data/models/eco-tiny");
    char *rev = bench_source_path("data/adapters/text.reverse@1");
    eco_registry *r = NULL;
    eco_registry_options ro = {.data_dir = data};
    if (eco_registry_init(data) || eco_registry_open(&ro, &r)) return fail("registry");
    const char *caps[] = {"text.reverse@1"};
    eco_add_options ob = {.id = "eco-tiny"};
    eco_add_options oa = {
        .id = "reverse", .base = "eco-tiny", .capabilities = caps, .n_capabilities = 1};
    if (eco_registry_add_dir(r, base, &ob, NULL) || eco_registry_add_dir(r, rev, &oa, NULL))
        return fail("add");
    eco_registry_close(r);
    eco_server_options so;
    eco_server_options_init(&so);
    so.data_dir = data;
    so.threads = 2;
    const char *pre[] = {"reverse"};
    so.preload = pre;
    so.n_preload = 1;
    eco_server *srv = NULL;
    if (eco_server_start(&so, &srv)) return fail("server");
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/v1", (unsigned)eco_server_port(srv));
    eco_remote_options o = {.base_url = url, .model = "reverse"};
    eco_engine *far = NULL, *local = NULL;
    if (eco_remote_engine_open(&o, &far)) return fail("http engine");
    if (eco_llama_engine_open_adapter(base, rev, NULL, &local)) return fail("local engine");
    printf("bench_remote: %d rounds, %d thread(s), load average %.2f\n", rounds, threads,
           bench_loadavg());
    printf("%-8s %8s %12s %12s %12s %8s\n", "tokens", "n", "local ms", "http ms", "overhead ms",
           "ratio");
    double *tl = calloc((size_t)rounds, sizeof *tl), *th = calloc((size_t)rounds, sizeof *th);
    static const int sizes[] = {1, 16};
    for (size_t s = 0; s < 2; s++) {
        size_t nl = 0, nh = 0;
        time_one(local, sizes[s], &nl); /* warm both */
        time_one(far, sizes[s], &nh);
        for (int i = 0; i < rounds; i++) {
            tl[i] = time_one(local, sizes[s], &nl);
            th[i] = time_one(far, sizes[s], &nh);
            if (tl[i] < 0 || th[i] < 0) return 1;
        }
        double ml = bench_median(tl, rounds), mh = bench_median(th, rounds);
        printf("%-8d %8zu %12.3f %12.3f %12.3f %8.3f\n", sizes[s], nh, ml, mh, mh - ml, mh / ml);
        if (nl != nh) printf("  (the engines generated %zu and %zu tokens)\n", nl, nh);
    }
    double *tp = calloc((size_t)rounds, sizeof *tp);
    size_t n1 = 0, n2 = 0, n3 = 0;
    time_first(local, 64, true, &n1);
    time_first(far, 64, true, &n2);
    for (int i = 0; i < rounds; i++) {
        tl[i] = time_first(local, 64, true, &n1);
        th[i] = time_first(far, 64, true, &n2);
        tp[i] = time_first(far, 64, false, &n3);
        if (tl[i] < 0 || th[i] < 0 || tp[i] < 0) return 1;
    }
    double ml = bench_median(tl, rounds), mh = bench_median(th, rounds),
           mp = bench_median(tp, rounds);
    printf("time to first token, max_tokens 64 (the answers: %zu, %zu and %zu tokens)\n", n1, n2,
           n3);
    printf("%12s %12s %12s %12s %12s\n", "local ms", "http stream", "http plain", "stream/loc",
           "plain/loc");
    printf("%12.3f %12.3f %12.3f %12.3f %12.3f\n", ml, mh, mp, mh / ml, mp / ml);
    free(tp);
    printf("load average after: %.2f\n", bench_loadavg());
    free(tl);
    free(th);
    eco_engine_destroy(far);
    eco_engine_destroy(local);
    eco_server_stop(srv, 10);
    eco_remove_tree(tmp);
    free(data);
    free(base);
    free(rev);
    return 0;
}
