/*
 * bench_json_schema: the cost of the verifier's format check on model-sized answers.
 *
 * 2000 answers of the capability suite's json.record@1 (the schema it declares: types,
 * patterns, an enum, bounds, additionalProperties, min/maxProperties) are checked three
 * ways in the same run, interleaved, after one warm-up pass, median of 21 passes:
 *   parse     jansson's json_loadb alone (the baseline: what any check must do anyway)
 *   validate  eco_json_schema_validate_text (parse + validate)
 *   compile   eco_json_schema_compile of the schema (once per corpus case in an evaluator)
 * Prints microseconds per answer and validate / parse. Never fails.
 */
#include <jansson.h>

#include "bench_common.h"
#include "ecology/json_schema.h"
#include "ecology/tasks.h"

enum { N = 2000, REPS = 21 };

int main(void) {
    const eco_capability *cap = NULL;
    eco_task_item *items = NULL;
    if (eco_tasks_find("json.record@1", &cap) || eco_tasks_generate(cap, 1, N, 1, &items)) {
        fprintf(stderr, "bench_json_schema: %s\n", eco_last_error());
        return 1;
    }
    eco_json_schema *js = NULL;
    if (eco_json_schema_compile(cap->json_schema, strlen(cap->json_schema), cap->name, &js)) {
        fprintf(stderr, "bench_json_schema: %s\n", eco_last_error());
        return 1;
    }
    double t_parse[REPS], t_val[REPS], t_comp[REPS];
    size_t n_valid = 0;
    for (int r = -1; r < REPS; r++) { /* r == -1: warm-up, not counted */
        double t0 = omp_get_wtime();
        for (size_t i = 0; i < N; i++) {
            const char *a = items[i].completion;
            json_t *v = json_loadb(a, strlen(a), JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
            json_decref(v);
        }
        double t1 = omp_get_wtime();
        n_valid = 0;
        for (size_t i = 0; i < N; i++) {
            const char *a = items[i].completion;
            bool valid = false;
            eco_json_schema_validate_text(js, a, strlen(a), &valid, NULL);
            n_valid += valid;
        }
        double t2 = omp_get_wtime();
        for (int k = 0; k < 100; k++) {
            eco_json_schema *c = NULL;
            eco_json_schema_compile(cap->json_schema, strlen(cap->json_schema), "x", &c);
            eco_json_schema_free(c);
        }
        double t3 = omp_get_wtime();
        if (r < 0) continue;
        t_parse[r] = (t1 - t0) / N * 1e6;
        t_val[r] = (t2 - t1) / N * 1e6;
        t_comp[r] = (t3 - t2) / 100 * 1e6;
    }
    double p = bench_median(t_parse, REPS), v = bench_median(t_val, REPS);
    double c = bench_median(t_comp, REPS);
    printf("bench_json_schema: %d json.record@1 answers (%zu valid), median of %d passes, "
           "load %.2f\n",
           N, n_valid, REPS, bench_loadavg());
    printf("  parse (jansson, baseline)   %8.2f us/answer\n", p);
    printf("  parse + validate            %8.2f us/answer  (%.2fx the parse)\n", v, v / p);
    printf("  compile the schema          %8.2f us\n", c);
    eco_json_schema_free(js);
    eco_task_items_free(items, N);
    return 0;
}
