/*
 * libFuzzer target: eco_pareto_from_json over arbitrary bytes. A refused input leaves *out
 * NULL with a message that names the label. An accepted archive must hold at most its
 * capacity, no member dominating another, ids in strictly increasing byte order; its
 * canonical JSON must parse back to the same bytes; and the queries must hold their
 * contracts on it: every member rank 0, crowding distances >= 0 (boundaries infinite),
 * a tournament winner and a best member in range, a scalar fitness finite and within
 * [0, sum of weights], and an insert of a new candidate (its id refused only when taken)
 * must keep the invariants.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/pareto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_invariants(const eco_pareto *a) {
    size_t n = eco_pareto_count(a), m = eco_pareto_n_objectives(a);
    if (n > eco_pareto_capacity(a) || m < 1 || m > ECO_PARETO_MAX_OBJECTIVES) __builtin_trap();
    eco_pareto_objective obj[ECO_PARETO_MAX_OBJECTIVES];
    for (size_t j = 0; j < m; j++) obj[j] = eco_pareto_objective_at(a, j);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(eco_pareto_id(a, i - 1), eco_pareto_id(a, i)) >= 0) __builtin_trap();
        for (size_t k = 0; k < n; k++)
            if (eco_pareto_dominates(obj, m, eco_pareto_values(a, i), eco_pareto_values(a, k)))
                __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eco_pareto *a = NULL;
    if (eco_pareto_from_json((const char *)data, size, "fuzz.json", &a) != ECO_STATUS_OK) {
        if (a || strncmp(eco_last_error(), "fuzz.json: ", 11) != 0) __builtin_trap();
        return 0;
    }
    check_invariants(a);
    char *text = NULL, *again = NULL;
    size_t len = 0;
    eco_pareto *b = NULL;
    if (eco_pareto_to_json(a, &text, &len) != ECO_STATUS_OK) __builtin_trap();
    if (eco_pareto_from_json(text, len, "again", &b) != ECO_STATUS_OK) __builtin_trap();
    if (eco_pareto_to_json(b, &again, NULL) != ECO_STATUS_OK || strcmp(text, again) != 0)
        __builtin_trap();

    size_t n = eco_pareto_count(a), m = eco_pareto_n_objectives(a);
    if (n > 0) {
        /* values: [n, m] copied out of the archive; rank, dist: [n]. */
        double *values = malloc(n * m * sizeof *values), *dist = malloc(n * sizeof *dist);
        size_t *rank = malloc(n * sizeof *rank);
        if (!values || !dist || !rank) __builtin_trap();
        eco_pareto_objective obj[ECO_PARETO_MAX_OBJECTIVES];
        for (size_t j = 0; j < m; j++) obj[j] = eco_pareto_objective_at(a, j);
        for (size_t i = 0; i < n; i++)
            memcpy(values + i * m, eco_pareto_values(a, i), m * sizeof *values);
        if (eco_pareto_rank(obj, m, values, n, rank) != ECO_STATUS_OK) __builtin_trap();
        if (eco_pareto_crowding(m, values, n, rank, dist) != ECO_STATUS_OK) __builtin_trap();
        for (size_t i = 0; i < n; i++)
            if (rank[i] != 0 || !(dist[i] >= 0)) __builtin_trap();
        eco_rng rng;
        eco_rng_seed(&rng, size);
        size_t w;
        if (eco_pareto_select(a, &rng, 2, &w) != ECO_STATUS_OK || w >= n) __builtin_trap();
        if (eco_pareto_best(a, 0, NULL, 0, &w) != ECO_STATUS_OK || w >= n) __builtin_trap();
        double weights[ECO_PARETO_MAX_OBJECTIVES], s;
        for (size_t j = 0; j < m; j++) weights[j] = 1;
        if (eco_pareto_scalar(a, weights, n - 1, &s) != ECO_STATUS_OK || !isfinite(s) || s < 0 ||
            s > (double)m + 1e-9)
            __builtin_trap();
        /* A candidate at the middle of every objective's range. */
        for (size_t j = 0; j < m; j++) values[j] = values[j] / 2 + values[(n - 1) * m + j] / 2;
        eco_pareto_insert_info info;
        eco_status st = eco_pareto_insert(a, "~ fuzz candidate", values, &info);
        if (st != ECO_STATUS_OK && st != ECO_STATUS_EEXIST) __builtin_trap();
        check_invariants(a);
        free(values), free(dist), free(rank);
    }
    free(text);
    free(again);
    eco_pareto_free(a);
    eco_pareto_free(b);
    return 0;
}
