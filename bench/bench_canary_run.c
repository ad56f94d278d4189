/*
 * bench_canary_run: canary decision time (issue 21, Performance), beside what the canary
 * spends serving, measured in the same run.
 *
 *  1. judge: eco_canary_judge on one step of n requests (both arms together), the canary
 *     share 20% and 50% (10% for 5000: n·m must stay under ECO_CANARY_MAX_PAIRS), lognormal
 *     latencies; median of several calls. The ratio printed is the decision against the
 *     serving time of the step it judges (n × the mean request time measured in 2).
 *  2. runner: eco_canary_run on the shipped eco-tiny with two of its adapters (champion the
 *     sort adapter, canary the reverse adapter: both applied unmerged, so both arms cost the
 *     same; registered, opened by eco_canary_open_registry), 300 reverse requests (20% → 40% → 60%, 100 a step). Each engine is wrapped in a
 *     proxy that times infer, so the runner's own time per request (routing, the judge and
 *     controller, eco_evaluate's check, telemetry, the record) is wall − Σ infer. The
 *     baseline: eco_evaluate over the same 300 cases on the canary engine (the evaluator's
 *     own per-case overhead, wall − Σ infer), interleaved with the runner; medians of 3.
 *     Wall and process CPU time both (one thread: CPU time is what a busy neighbour on a
 *     shared machine does not inflate).
 *  3. the runner on a zero-cost fake engine: requests per second without any model.
 *
 * Usage: bench_canary_run (run from the source tree or with ECO_SOURCE_DIR set; one thread).
 * Prints figures with the load average before and after. Never fails a build: exits 1 only
 * when it cannot run.
 */
#include <math.h>
#include <time.h>

#include "bench_common.h"
#include "ecology/canary.h"
#include "ecology/daemon.h"
#include "ecology/engine.h"
#include "ecology/eval_corpus.h"
#include "ecology/evaluator.h"
#include "ecology/promotion.h"
#include "ecology/registry.h"
#include "ecology/telemetry.h"

#define N_TRAFFIC 300

/* ---- 1. the judge -------------------------------------------------------------------------- */

static double judge_ms(size_t n, double share, eco_rng *rng, bool *ok) {
    size_t nc = (size_t)llround((double)n * share), nh = n - nc;
    double *lc = malloc(nc * sizeof *lc), *lh = malloc(nh * sizeof *lh);
    if (!lc || !lh) exit(1);
    for (size_t i = 0; i < nc; i++) lc[i] = 20.0 * exp(0.3 * eco_rng_normal(rng));
    for (size_t i = 0; i < nh; i++) lh[i] = 20.0 * exp(0.3 * eco_rng_normal(rng));
    eco_canary_arm c = {
        .requests = nc, .labelled = nc, .correct = nc * 8 / 10, .latency = lc, .n_latency = nc};
    eco_canary_arm h = {
        .requests = nh, .labelled = nh, .correct = nh * 8 / 10, .latency = lh, .n_latency = nh};
    double t[9];
    int reps = n >= 2000 ? 5 : 9;
    eco_canary_verdict v;
    *ok = true;
    for (int k = 0; k < reps; k++) {
        double t0 = eco_now();
        if (eco_canary_judge(&c, &h, &v) != ECO_STATUS_OK) *ok = false;
        t[k] = 1e3 * (eco_now() - t0);
    }
    free(lc);
    free(lh);
    return bench_median(t, reps);
}

/* ---- engines: a timing proxy, and a zero-cost fake ------------------------------------------ */

/* Process CPU seconds (every thread's; one thread here): the figure a busy neighbour on a
 * shared machine does not inflate, where it does inflate wall time. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct proxy {
    eco_engine base; /* first */
    eco_engine *inner;
    double infer_s;     /* Σ wall time inside inner->infer */
    double infer_cpu_s; /* Σ process CPU time inside it */
    size_t calls;
} proxy;

static const eco_genome *proxy_genome(const eco_engine *e) {
    const proxy *p = (const proxy *)e;
    return p->inner ? p->inner->genome(p->inner) : NULL;
}

static eco_status proxy_infer(eco_engine *e, const eco_infer_request *req,
                              eco_infer_response *resp) {
    proxy *p = (proxy *)e;
    double t0 = eco_now(), c0 = cpu_now();
    eco_status st;
    if (p->inner) {
        st = p->inner->infer(p->inner, req, resp);
    } else { /* the fake: answers "x" at once */
        memset(resp, 0, sizeof *resp);
        resp->text = strdup("x");
        resp->text_len = 1;
        resp->finish_reason = "stop";
        st = resp->text ? ECO_STATUS_OK : ECO_STATUS_ENOMEM;
    }
    p->infer_s += eco_now() - t0;
    p->infer_cpu_s += cpu_now() - c0;
    p->calls++;
    return st;
}

static void proxy_destroy(eco_engine *e) { (void)e; /* owned by the bench */ }

typedef struct arms {
    proxy champ, canary;
} arms;

static eco_status open_proxy(void *ctx, const char *id, eco_engine **out) {
    arms *a = ctx;
    *out = strcmp(id, "rev") == 0 ? &a->canary.base : &a->champ.base;
    return ECO_STATUS_OK;
}

static void proxy_init(proxy *p, eco_engine *inner) {
    memset(p, 0, sizeof *p);
    p->base.genome = proxy_genome;
    p->base.infer = proxy_infer;
    p->base.destroy = proxy_destroy;
    p->inner = inner;
}

/* ---- the registry and the traffic ----------------------------------------------------------- */

/* Registers the shipped folder rel as id (an adapter on "eco-tiny" when base is set). */
static int add(eco_registry *r, const char *rel, const char *id, const char *base) {
    char *dir = bench_source_path(rel);
    eco_add_options ao = {.id = id, .base = base};
    int bad = !dir || eco_registry_add_dir(r, dir, &ao, NULL) != ECO_STATUS_OK;
    free(dir);
    return bad;
}

/* N_TRAFFIC reverse requests as `ecology corpus build` writes them (3..9 random letters). */
static int write_traffic(const char *path) {
    eco_rng rng;
    eco_rng_seed(&rng, 7);
    eco_buf b = {0};
    for (int i = 0; i < N_TRAFFIC; i++) {
        char w[16], rv[16];
        int len = 3 + (int)(eco_rng_uniform(&rng) * 7);
        for (int k = 0; k < len; k++) w[k] = (char)('a' + (int)(eco_rng_uniform(&rng) * 26));
        for (int k = 0; k < len; k++) rv[k] = w[len - 1 - k];
        w[len] = rv[len] = '\0';
        eco_buf_printf(&b,
                       "{\"capability\":\"text.reverse@1\",\"check\":\"exact\",\"expected\":\"%s\","
                       "\"id\":\"r%d\",\"max_tokens\":22,\"prompt\":\"Reverse: %s\\nReversed:\"}\n",
                       rv, i, w);
    }
    int bad = eco_write_file_atomic(path, b.data, b.len) != ECO_STATUS_OK;
    eco_buf_free(&b);
    return bad;
}

/* What one measured call took: wall and process CPU seconds, overall and inside infer. */
typedef struct took {
    double wall, cpu, infer_wall, infer_cpu;
} took;

static void took_begin(took *t, arms *a) {
    a->champ.infer_s = a->canary.infer_s = a->champ.infer_cpu_s = a->canary.infer_cpu_s = 0;
    t->wall = eco_now();
    t->cpu = cpu_now();
}

static void took_end(took *t, const arms *a) {
    t->wall = eco_now() - t->wall;
    t->cpu = cpu_now() - t->cpu;
    t->infer_wall = a->champ.infer_s + a->canary.infer_s;
    t->infer_cpu = a->champ.infer_cpu_s + a->canary.infer_cpu_s;
}

/* One canary run (sort champion, rev challenger); *requests it served. */
static took run_once(eco_registry *r, arms *a, const char *traffic, const char *run,
                     size_t *requests) {
    const eco_canary_settings s = {
        .step_weight = 20, .max_weight = 60, .interval = 100, .threshold = 3};
    eco_telemetry *t = NULL;
    eco_telemetry_create(NULL, &t);
    eco_canary_run_options o = {.run = run,
                                .capability = "text.reverse@1",
                                .champion = "sort",
                                .challenger = "rev",
                                .settings = &s,
                                .traffic_path = traffic,
                                .telemetry = t,
                                .open = open_proxy,
                                .open_ctx = a};
    eco_canary_run_result res;
    took tk;
    took_begin(&tk, a);
    if (eco_canary_run(r, &o, &res) != ECO_STATUS_OK) {
        fprintf(stderr, "bench_canary_run: %s\n", eco_last_error());
        exit(1);
    }
    took_end(&tk, a);
    eco_telemetry_free(t);
    *requests = res.requests;
    return tk;
}

int main(void) {
    eco_set_threads(1);
    const double load0 = bench_loadavg();
    printf("bench_canary_run (one thread), load average %.2f\n", load0);

    /* 2 first: its mean request time is the judge's yardstick */
    char tmpl[] = "/tmp/bench-canary-XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir) return 1;
    char *data = eco_path_join(dir, "data"), *traffic = eco_path_join(dir, "traffic.jsonl");
    eco_registry *r = NULL;
    eco_registry_options ro = {.data_dir = data, .trust_cache = true};
    eco_engine *e_rev = NULL, *e_sort = NULL;
    /* the engines as the runner's default opener makes them, opened once (loading is not
     * per-request work) and handed to it through the timing proxies */
    if (eco_registry_init(data) || eco_registry_open(&ro, &r) ||
        add(r, "data/models/eco-tiny", "eco-tiny", NULL) ||
        add(r, "data/adapters/text.reverse@1", "rev", "eco-tiny") ||
        add(r, "data/adapters/text.sort@1", "sort", "eco-tiny") || write_traffic(traffic) ||
        eco_canary_open_registry(r, "rev", &e_rev) ||
        eco_canary_open_registry(r, "sort", &e_sort)) {
        fprintf(stderr, "bench_canary_run: setup: %s\n", eco_last_error());
        return 1;
    }
    eco_registry_alias_set(r, "text.reverse@1.champion", "sort", "*");
    arms a;
    proxy_init(&a.champ, e_sort);
    proxy_init(&a.canary, e_rev);
    eco_eval_corpus *corpus = NULL;
    if (eco_eval_corpus_load(traffic, &corpus)) return 1;
    eco_eval_caps caps;
    eco_eval_caps_init(&caps);
    caps.robustness = false;

    enum { REPS = 3 };
    /* per request (case): [0] runner wall overhead us, [1] its CPU, [2] evaluator wall
     * overhead, [3] its CPU, [4] request wall ms, [5] infer wall ms, [6] infer CPU ms */
    double f[7][REPS];
    size_t requests = 0;
    for (int k = 0; k < REPS; k++) {
        /* baseline: the evaluator over the same cases */
        eco_eval_report rep;
        took e;
        took_begin(&e, &a);
        if (eco_evaluate(&a.canary.base, corpus, &caps, "rev", NULL, NULL, NULL, &rep)) return 1;
        took_end(&e, &a);
        eco_eval_report_free(&rep);
        const double nc = (double)corpus->n_cases;
        f[2][k] = 1e6 * (e.wall - e.infer_wall) / nc;
        f[3][k] = 1e6 * (e.cpu - e.infer_cpu) / nc;
        /* the runner */
        char run[32];
        snprintf(run, sizeof run, "bench%d", k);
        took t = run_once(r, &a, traffic, run, &requests);
        const double n = (double)requests;
        f[0][k] = 1e6 * (t.wall - t.infer_wall) / n;
        f[1][k] = 1e6 * (t.cpu - t.infer_cpu) / n;
        f[4][k] = 1e3 * t.wall / n;
        f[5][k] = 1e3 * t.infer_wall / n;
        f[6][k] = 1e3 * t.infer_cpu / n;
    }
    double m[7];
    for (int i = 0; i < 7; i++) m[i] = bench_median(f[i], REPS);
    printf("\nrunner on eco-tiny (sort adapter vs reverse adapter), %zu requests a run, median "
           "of %d\n(overhead = time outside the engine's infer, per request):\n",
           requests, REPS);
    printf("  request            %8.3f ms wall (engine infer %.3f ms wall, %.3f ms CPU)\n", m[4],
           m[5], m[6]);
    printf("  runner overhead    %8.1f us wall = %.2f%% of infer; %.1f us CPU = %.2f%% of infer\n",
           m[0], 100.0 * m[0] / (1e3 * m[5]), m[1], 100.0 * m[1] / (1e3 * m[6]));
    printf("  baseline           %8.1f us wall, %.1f us CPU per case: eco_evaluate over the same\n"
           "                     cases (the runner serves each request through it)\n",
           m[2], m[3]);
    const double per_req = m[4];

    /* 3. a zero-cost engine */
    arms fk;
    proxy_init(&fk.champ, NULL);
    proxy_init(&fk.canary, NULL);
    size_t n_fake;
    took z = run_once(r, &fk, traffic, "fake", &n_fake);
    printf("  zero-cost engine   %8.1f us wall, %.1f us CPU per request (%.0f requests/s, %zu "
           "requests)\n",
           1e6 * z.wall / (double)n_fake, 1e6 * z.cpu / (double)n_fake, (double)n_fake / z.wall,
           n_fake);

    /* 1. the judge */
    printf("\njudge (eco_canary_judge, one step), against the step's serving time at %.3f "
           "ms/request:\n",
           per_req);
    printf("  %6s %6s %7s %7s %12s %14s\n", "n", "share", "canary", "champ", "decision ms",
           "of the step");
    eco_rng rng;
    eco_rng_seed(&rng, 1);
    const size_t sizes[] = {50, 500, 1000, 2000, 4096, 5000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        const double shares[2] = {sizes[i] == 5000 ? 0.1 : 0.2, 0.5};
        for (int s = 0; s < (sizes[i] == 5000 ? 1 : 2); s++) {
            size_t nc = (size_t)llround((double)sizes[i] * shares[s]);
            bool ok;
            double ms = judge_ms(sizes[i], shares[s], &rng, &ok);
            if (!ok) {
                printf("  %6zu %5.0f%% %7zu %7zu %12s (%s)\n", sizes[i], 100 * shares[s], nc,
                       sizes[i] - nc, "refused", eco_last_error());
                continue;
            }
            printf("  %6zu %5.0f%% %7zu %7zu %12.3f %13.4f%%\n", sizes[i], 100 * shares[s], nc,
                   sizes[i] - nc, ms, 100.0 * ms / (per_req * (double)sizes[i]));
        }
    }
    printf("\nload average %.2f -> %.2f\n", load0, bench_loadavg());
    eco_eval_corpus_free(corpus);
    eco_engine_destroy(e_rev);
    eco_engine_destroy(e_sort);
    eco_registry_close(r);
    eco_remove_tree(dir);
    free(data);
    free(traffic);
    return 0;
}
