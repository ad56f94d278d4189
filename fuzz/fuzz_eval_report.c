/*
 * libFuzzer target: eco_eval_report_parse over arbitrary bytes (a stored report judged again,
 * `ecology eval --report`). A refused input leaves the report zeroed with a message naming
 * the label; an accepted one must write back (eco_eval_report_json, with timing) to bytes
 * that parse again to the same bytes, and judge under the default gates with a verdict that
 * is accepted exactly when nothing failed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/evaluator.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eco_eval_report r;
    bool sig = false;
    double cov = 0;
    if (eco_eval_report_parse((const char *)data, size, "fuzz.json", &r, &sig, &cov) !=
        ECO_STATUS_OK) {
        if (r.n_caps || r.caps_fig || r.results || r.model ||
            strncmp(eco_last_error(), "fuzz.json", 9) != 0)
            __builtin_trap();
        return 0;
    }
    if (!(cov >= 0 && cov <= 1)) __builtin_trap();
    char *a = NULL, *b = NULL;
    if (eco_eval_report_json(&r, NULL, true, &a) != ECO_STATUS_OK) __builtin_trap();
    eco_eval_report r2;
    if (eco_eval_report_parse(a, strlen(a), "again.json", &r2, &sig, &cov) != ECO_STATUS_OK)
        __builtin_trap();
    if (eco_eval_report_json(&r2, NULL, true, &b) != ECO_STATUS_OK || strcmp(a, b) != 0)
        __builtin_trap();
    eco_gates *g = NULL;
    eco_verdict v;
    if (eco_gates_default(&g) != ECO_STATUS_OK) __builtin_trap();
    if (eco_gates_judge(g, &r, sig, cov, &v) == ECO_STATUS_OK) {
        if (v.accepted != (v.n_failures == 0)) __builtin_trap();
        eco_verdict_free(&v);
    }
    eco_gates_free(g);
    free(a);
    free(b);
    eco_eval_report_free(&r);
    eco_eval_report_free(&r2);
    return 0;
}
