/*
 * libFuzzer target: eco_gates_parse over arbitrary bytes. A refused input leaves *out NULL
 * with a message that names the label; an accepted file must carry the SHA-256 of the
 * bytes, parse again to the same verdicts, and judge a fixed hand-built report (with a
 * good and a failed signature) consistently: accepted exactly when no gate failed, a
 * fitness only then and every term finite, every failure and not-measured gate named, a
 * failure's value finite unless it is a set gate not measured (NaN). The
 * verdict then goes through eco_eval_report_json, whose bytes must parse back as JSON.
 */
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ecology/evaluator.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static eco_rate rate(uint64_t k, uint64_t n) {
    eco_rate r;
    if (eco_rate_wilson(k, n, &r) != ECO_STATUS_OK) __builtin_trap();
    return r;
}

/* Two capabilities and "overall", mixed figures: some gates pass, some fail, some have
 * nothing measured. */
static void report_init(eco_eval_report *r, eco_eval_cap_figures f[3], eco_eval_result res[2]) {
    memset(r, 0, sizeof *r);
    for (int i = 0; i < 2; i++)
        res[i] = (eco_eval_result){.index = (size_t)i,
                                   .passed = i == 0,
                                   .deny_hit = i - 1,
                                   .confidence = 0.5,
                                   .chosen = -1,
                                   .output = (char *)"x",
                                   .output_len = 1};
    memset(f, 0, 3 * sizeof *f);
    static const char *const names[3] = {"a@1", "b@1", "overall"};
    for (int i = 0; i < 3; i++) {
        f[i].capability = (char *)names[i];
        f[i].quality = f[i].quality_by_tag[0] = rate(3 + (uint64_t)i, 6);
        f[i].quality_by_tag[1] = rate((uint64_t)i, 2 * (uint64_t)i);
        f[i].format = rate(1, 2);
        f[i].refusal = rate(4, 4);
        f[i].compliance = rate(3, 4);
        f[i].calibration.n = 12;
        f[i].calibration.ece_em = 0.1;
        f[i].robustness.mean = 0.5;
    }
    r->model = (char *)"fuzz";
    r->caps.n_deny = 2;
    r->n_caps = 3;
    r->caps_fig = f;
    r->n_results = 2;
    r->results = res;
    r->deny_hits = 1;
    r->latency_ms.n = 12;
    r->latency_ms.p95 = 250;
    r->peak_rss_bytes = (uint64_t)3 << 29;
}

static void check_verdict(const eco_verdict *v) {
    if (v->accepted != (v->n_failures == 0) || v->has_fitness != v->accepted) __builtin_trap();
    for (size_t i = 0; i < v->n_failures; i++)
        if (!v->failures[i].gate || !v->failures[i].gate[0] ||
            (v->failures[i].not_measured ? !isnan(v->failures[i].value)
                                         : !isfinite(v->failures[i].value)) ||
            !isfinite(v->failures[i].limit))
            __builtin_trap();
    for (size_t i = 0; i < v->n_not_measured; i++)
        if (!v->not_measured[i] || !v->not_measured[i][0]) __builtin_trap();
    if (v->has_fitness) {
        const eco_fitness *f = &v->fitness;
        double sum =
            f->quality + f->calibration + f->robustness + f->coverage + f->latency + f->memory;
        if (!isfinite(f->total) || f->total != sum || f->latency > 0 || f->memory > 0)
            __builtin_trap();
    }
}

static bool same(const eco_verdict *a, const eco_verdict *b) {
    if (a->accepted != b->accepted || a->n_failures != b->n_failures ||
        a->n_not_measured != b->n_not_measured || a->fitness.total != b->fitness.total)
        return false;
    for (size_t i = 0; i < a->n_failures; i++)
        if (strcmp(a->failures[i].gate, b->failures[i].gate) != 0) return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eco_gates *g = NULL;
    if (eco_gates_parse((const char *)data, size, "fuzz.json", &g) != ECO_STATUS_OK) {
        if (g || strncmp(eco_last_error(), "fuzz.json: ", 11) != 0) __builtin_trap();
        return 0;
    }
    char hex[ECO_SHA256_HEX_LEN + 1];
    if (eco_sha256_hex(data, size, hex) != ECO_STATUS_OK || strcmp(hex, eco_gates_sha256(g)) != 0)
        __builtin_trap();
    eco_gates *again = NULL;
    if (eco_gates_parse((const char *)data, size, "fuzz.json", &again) != ECO_STATUS_OK)
        __builtin_trap();
    eco_eval_report r;
    eco_eval_cap_figures f[3];
    eco_eval_result res[2];
    report_init(&r, f, res);
    for (int sig = 0; sig < 2; sig++) {
        eco_verdict v, w;
        if (eco_gates_judge(g, &r, sig, 0.5, &v) != ECO_STATUS_OK) __builtin_trap();
        if (eco_gates_judge(again, &r, sig, 0.5, &w) != ECO_STATUS_OK) __builtin_trap();
        check_verdict(&v);
        if (!same(&v, &w)) __builtin_trap();
        char *json = NULL;
        if (eco_eval_report_json(&r, &v, sig, &json) != ECO_STATUS_OK) __builtin_trap();
        json_t *doc = json_loads(json, 0, NULL);
        if (!doc) __builtin_trap();
        json_decref(doc);
        free(json);
        eco_verdict_free(&v);
        eco_verdict_free(&w);
    }
    eco_gates_free(again);
    eco_gates_free(g);
    return 0;
}
