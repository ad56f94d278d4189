/*
 * The router's overhead per request (router.h: eco_router_answer) beside direct engine calls
 * on the same requests in the same run: data/models/eco-tiny with the shipped arith.add@1
 * and text.sort@1 adapters, short arithmetic prompts, greedy, at most 6 tokens, one thread.
 *
 * Two policies:
 *   capability+canary  {"policy":"capability","members":["sort",{"policy":"canary",
 *                      "share":0.25,"champion":"arith","canary":"arith2"}]} for arith.add@1
 *   cascade            {"policy":"cascade","threshold":0.9,"stages":["base","arith"]}
 * The baseline for a request is the engine calls the router made for it (read from a
 * warm-up run's trace, fixed since decoding is greedy), made directly with engine->infer;
 * the router's and the direct run alternate request by request, repeated. Printed: the
 * median of each, the median of the paired differences as a share of the direct median,
 * and the router's own cost measured on an engine that answers at once (a scripted one:
 * the same policy, tree walk, trace and confidence, no model), as a share of the direct
 * median. Target: under 2%. The load average is printed with the figures.
 *
 * Usage: ECO_SOURCE_DIR=. build-bench/bench_router [REPEATS]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "ecology/engine.h"
#include "ecology/router.h"

#define N_REQ 12
#define N_ENG 4

/* ---- an engine that answers at once (the router's own cost) -------------------------------- */

typedef struct quick {
    eco_engine base;
    eco_genome g;
} quick;

static const eco_genome *quick_genome(const eco_engine *e) { return &((const quick *)e)->g; }
static eco_status quick_infer(eco_engine *e, const eco_infer_request *q, eco_infer_response *r) {
    (void)e;
    (void)q;
    memset(r, 0, sizeof *r);
    r->text = eco_strdup(" 0724");
    r->text_len = 5;
    r->n_tokens = 6;
    r->tokens = calloc(6, sizeof *r->tokens);
    r->logprobs = calloc(6, sizeof *r->logprobs);
    for (int i = 0; r->logprobs && i < 6; i++) r->logprobs[i] = -0.05f;
    r->finish_reason = "stop";
    return r->text && r->tokens && r->logprobs ? ECO_STATUS_OK : ECO_STATUS_ENOMEM;
}
static void quick_destroy(eco_engine *e) { (void)e; }

static int die(const char *what) {
    printf("%s: %s: %s\n", what, eco_status_str(ECO_STATUS_EINTERNAL), eco_last_error());
    return 1;
}

typedef struct figures {
    double router_ms, direct_ms, diff_ms, own_us;
    double calls_per_req;
} figures;

/* Runs policy over eng (targets named ids) for the N_REQ prompts, repeats times. */
static int measure(const char *policy_json, eco_engine **eng, const char *const *ids,
                   const char *const *caps, const eco_infer_request *base_req,
                   const char prompts[N_REQ][32], int repeats, figures *f) {
    eco_route_node *policy;
    if (eco_route_policy_parse(policy_json, strlen(policy_json), "bench", &policy))
        return die("policy");
    eco_route_target t[N_ENG];
    for (int i = 0; i < N_ENG; i++)
        t[i] = (eco_route_target){.id = ids[i],
                                  .engine = eng[i],
                                  .capabilities = &caps[i],
                                  .n_capabilities = caps[i] ? 1 : 0,
                                  .cost = (double)i};
    eco_policy_router *r;
    if (eco_router_create(t, N_ENG, policy, &r)) return die("router");
    /* the engine calls each request needs, from a warm-up run's trace */
    size_t plan[N_REQ][4], n_plan[N_REQ];
    eco_route_trace tr = {0};
    char rid[N_REQ][16];
    size_t total_calls = 0;
    for (int k = 0; k < N_REQ; k++) {
        eco_infer_request q = *base_req;
        q.prompt = prompts[k];
        snprintf(rid[k], sizeof rid[k], "req-%d", k);
        eco_infer_response resp;
        if (eco_router_answer(r, rid[k], &q, &resp, &tr)) return die("answer");
        eco_infer_response_free(&resp);
        n_plan[k] = tr.n_calls < 4 ? tr.n_calls : 4;
        for (size_t c = 0; c < n_plan[k]; c++) plan[k][c] = tr.calls[c].target;
        total_calls += n_plan[k];
    }
    const int n = N_REQ * repeats;
    double *ra = calloc((size_t)n, sizeof *ra), *da = calloc((size_t)n, sizeof *da);
    double *df = calloc((size_t)n, sizeof *df);
    if (!ra || !da || !df) return die("alloc");
    for (int rep = 0; rep < repeats; rep++)
        for (int k = 0; k < N_REQ; k++) {
            eco_infer_request q = *base_req;
            q.prompt = prompts[k];
            const int i = rep * N_REQ + k;
            for (int pass = 0; pass < 2; pass++) {
                /* alternate which goes first, so that neither always finds warm caches */
                const bool routed = (pass == 0) == ((i & 1) == 0);
                eco_infer_response resp;
                double t0 = eco_now();
                if (routed) {
                    if (eco_router_answer(r, rid[k], &q, &resp, &tr)) return die("answer");
                    ra[i] = 1e3 * (eco_now() - t0);
                    eco_infer_response_free(&resp);
                } else {
                    for (size_t c = 0; c < n_plan[k]; c++) {
                        eco_engine *e = eng[plan[k][c]];
                        if (e->infer(e, &q, &resp)) return die("infer");
                        eco_infer_response_free(&resp);
                    }
                    da[i] = 1e3 * (eco_now() - t0);
                }
            }
            df[i] = ra[i] - da[i];
        }
    f->router_ms = bench_median(ra, n);
    f->direct_ms = bench_median(da, n);
    f->diff_ms = bench_median(df, n);
    f->calls_per_req = (double)total_calls / N_REQ;
    eco_router_free(r);

    /* the router's own cost: the same policy over engines that answer at once */
    quick qe[N_ENG];
    eco_engine *qp[N_ENG];
    for (int i = 0; i < N_ENG; i++) {
        qe[i] = (quick){
            .base = {.genome = quick_genome, .infer = quick_infer, .destroy = quick_destroy}};
        qp[i] = &qe[i].base;
        t[i].engine = qp[i];
    }
    if (eco_router_create(t, N_ENG, policy, &r)) return die("router");
    const int m = 20000;
    double *own = calloc(7, sizeof *own);
    for (int pass = 0; pass < 7; pass++) {
        double direct = 0, routed = 0;
        for (int j = 0; j < m; j++) {
            const int k = j % N_REQ;
            eco_infer_request q = *base_req;
            q.prompt = prompts[k];
            eco_infer_response resp;
            double t0 = eco_now();
            for (size_t c = 0; c < n_plan[k]; c++) {
                if (qp[plan[k][c]]->infer(qp[plan[k][c]], &q, &resp)) return die("infer");
                eco_infer_response_free(&resp);
            }
            double t1 = eco_now();
            if (eco_router_answer(r, rid[k], &q, &resp, &tr)) return die("answer");
            eco_infer_response_free(&resp);
            double t2 = eco_now();
            direct += t1 - t0;
            routed += t2 - t1;
        }
        own[pass] = 1e6 * (routed - direct) / m;
    }
    f->own_us = bench_median(own, 7);
    free(own);
    eco_router_free(r);
    eco_route_trace_free(&tr);
    eco_route_policy_free(policy);
    free(ra);
    free(da);
    free(df);
    return 0;
}

static void report(const char *name, const figures *f) {
    printf("%-20s %5.2f calls/req  direct %8.3f ms  routed %8.3f ms  paired diff %+7.3f ms "
           "(%+6.2f%%)  router's own %6.2f us (%5.3f%% of direct)  load %.2f\n",
           name, f->calls_per_req, f->direct_ms, f->router_ms, f->diff_ms,
           100 * f->diff_ms / f->direct_ms, f->own_us, 100 * 1e-3 * f->own_us / f->direct_ms,
           bench_loadavg());
}

int main(int argc, char **argv) {
    const int repeats = argc > 1 ? atoi(argv[1]) : 5;
    if (repeats < 1) return 2;
    eco_set_threads(1);
    printf("load average %.2f at start; %d requests x %d repeats, 1 thread\n", bench_loadavg(),
           N_REQ, repeats);
    char *model = bench_source_path("data/models/eco-tiny");
    char *arith = bench_source_path("data/adapters/arith.add@1");
    char *sort = bench_source_path("data/adapters/text.sort@1");
    eco_engine *eng[N_ENG];
    if (!model || !arith || !sort || eco_llama_engine_open(model, "base", &eng[0]) ||
        eco_llama_engine_open_adapter(model, arith, "arith", &eng[1]) ||
        eco_llama_engine_open_adapter(model, arith, "arith2", &eng[2]) ||
        eco_llama_engine_open_adapter(model, sort, "sort", &eng[3]))
        return die("open (set ECO_SOURCE_DIR to the source tree)");
    const char *ids[N_ENG] = {"base", "arith", "arith2", "sort"};
    const char *caps[N_ENG] = {NULL, "arith.add@1", "arith.add@1", "text.sort@1"};
    char prompts[N_REQ][32];
    eco_rng g;
    eco_rng_seed(&g, 7);
    for (int k = 0; k < N_REQ; k++)
        snprintf(prompts[k], sizeof prompts[k],
                 "Add: %03u+%03u\nSum:", (unsigned)(eco_rng_next(&g) % 1000),
                 (unsigned)(eco_rng_next(&g) % 1000));
    static const char *const stop[] = {"\n"};
    eco_infer_request req;
    eco_infer_request_init(&req);
    req.max_tokens = 6;
    req.stop = stop;
    req.n_stop = 1;
    req.capability = "arith.add@1";
    figures f;
    if (measure("{\"policy\":\"capability\",\"members\":[\"sort\",{\"policy\":\"canary\","
                "\"share\":0.25,\"champion\":\"arith\",\"canary\":\"arith2\"}]}",
                eng, ids, caps, &req, prompts, repeats, &f))
        return 1;
    report("capability+canary", &f);
    if (measure("{\"policy\":\"cascade\",\"threshold\":0.9,\"stages\":[\"base\",\"arith\"]}", eng,
                ids, caps, &req, prompts, repeats, &f))
        return 1;
    report("cascade", &f);
    printf("load average %.2f at end\n", bench_loadavg());
    for (int i = 0; i < N_ENG; i++) eco_engine_destroy(eng[i]);
    free(model);
    free(arith);
    free(sort);
    return 0;
}
