/*
 * libFuzzer target: eco_merge_params_from_json over arbitrary JSON (a lineage's or a
 * recipe's merge step). An accepted object must pass eco_merge_params_check, write back
 * with eco_merge_params_to_json and read back to the same parameters (normalize resolved),
 * and merge a small tensor without a failure other than none at all.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "ecology/merge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const eco_merge_params *a, const eco_merge_params *b) {
    if (a->method != b->method || a->n_parents != b->n_parents || a->lambda != b->lambda ||
        a->gamma != b->gamma || a->epsilon != b->epsilon || a->election != b->election ||
        a->rescale != b->rescale ||
        eco_merge_params_normalize(a) != eco_merge_params_normalize(b) || a->n_t != b->n_t ||
        a->seed != b->seed)
        return false;
    for (int m = 0; m < a->n_parents; m++)
        if (a->weight[m] != b->weight[m] || a->density[m] != b->density[m]) return false;
    for (int i = 0; i < a->n_t; i++)
        if (a->t[i] != b->t[i]) return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *j =
        json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    if (!j) return 0;
    eco_merge_params p, q;
    if (eco_merge_params_from_json(j, "fuzz", &p) != ECO_STATUS_OK) {
        json_decref(j);
        return 0;
    }
    json_decref(j);
    if (eco_merge_params_check(&p) != ECO_STATUS_OK) __builtin_trap();
    json_t *w = NULL;
    if (eco_merge_params_to_json(&p, &w) != ECO_STATUS_OK) __builtin_trap();
    if (eco_merge_params_from_json(w, "fuzz", &q) != ECO_STATUS_OK || !same(&p, &q))
        __builtin_trap();
    json_decref(w);
    /* a 3 x 4 tensor: every parent the same data, over a base */
    float base[12], x[12], out[12];
    for (int i = 0; i < 12; i++) {
        base[i] = (float)(i % 5) - 2.0f;
        x[i] = base[i] + 0.25f * (float)((i * 7) % 11 - 5);
    }
    const float *par[ECO_MERGE_MAX_PARENTS];
    for (int m = 0; m < ECO_MERGE_MAX_PARENTS; m++) par[m] = x;
    eco_merge_stats stats;
    double t = eco_merge_slerp_t(&p, 1, 4);
    if (eco_merge_tensor(out, base, par, 3, 4, &p, t, 1, NULL, &stats) != ECO_STATUS_OK)
        __builtin_trap();
    for (int m = 0; m < p.n_parents; m++)
        if (stats.kept[m] < 0 || stats.kept[m] > 12) __builtin_trap();
    return 0;
}
