/*
 * bench_loop: generations per hour of the ecology loop (daemon.h) on the default model.
 *
 *   bench_loop [CONFIG [GENERATIONS]]     (default data/loop/demo.json, 2 generations)
 *
 * Runs the config's loop in a fresh data folder (under $TMPDIR, removed at the end): the
 * seeding (generation 0: the population imported, evaluated and gated, champions set, their
 * failures on the traffic mined) and GENERATIONS generations, each line as the loop prints
 * it. Then, from the run's events: the wall time of each generation, where it went (breeding
 * = the "candidate" events' seconds, the canaries' seconds, the rest: evaluation, gating,
 * archive), and generations per hour = 3600 / the mean generation time. The baseline, in the
 * same run: the seeding's time per model evaluated (one evaluation on its capabilities'
 * corpus), so a generation's cost reads as so many evaluations. The load average is printed
 * beside the figures: the machine may be shared.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "ecology/daemon.h"
#include "ecology/registry.h"

static double num(const json_t *d, const char *k) {
    return json_number_value(json_object_get(d, k));
}

int main(int argc, char **argv) {
    char *config = argc > 1 ? strdup(argv[1]) : bench_source_path("data/loop/demo.json");
    int64_t gens = argc > 2 ? atoll(argv[2]) : 2;
    char dir[] = "/tmp/bench_loop.XXXXXX";
    if (!config || gens < 1 || !mkdtemp(dir)) {
        fprintf(stderr, "usage: bench_loop [CONFIG [GENERATIONS >= 1]]\n");
        return 2;
    }
    double load0 = bench_loadavg();
    eco_loop_config c;
    eco_registry *r = NULL;
    eco_registry_options ro = {.data_dir = dir, .trust_cache = true};
    eco_loop_result res;
    eco_status st = eco_loop_config_load(config, &c);
    if (!st) st = eco_registry_init(dir);
    if (!st) st = eco_registry_open(&ro, &r);
    if (!st) {
        printf("bench_loop: %s, %lld generations of %lld children, threads %d, load %.2f\n", config,
               (long long)gens, (long long)c.children, c.evaluation.threads, load0);
        eco_loop_options o = {.generations = gens, .minutes = 1e6, .out = stdout};
        st = eco_loop_run(r, &c, &o, &res);
    }
    eco_registry_event *ev = NULL;
    size_t n = 0;
    if (!st) st = eco_registry_events(r, 0, &ev, &n);
    if (st) {
        fprintf(stderr, "bench_loop: %s\n", eco_last_error());
        eco_registry_close(r);
        return 1;
    }
    double seed_s = 0, gen_s = 0, breed_s = 0, canary_s = 0;
    size_t seed_evals = 0, n_gen = 0, n_cand = 0, n_canary = 0, n_rejected = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *d = json_loads(ev[i].detail, 0, NULL);
        if (!d) continue;
        int64_t g = (int64_t)num(d, "generation");
        const char *phase = json_string_value(json_object_get(d, "phase"));
        if (strcmp(ev[i].type, "generation") == 0 && phase && strcmp(phase, "end") == 0) {
            if (g == 0) {
                seed_s = num(d, "seconds");
            } else {
                gen_s += num(d, "seconds");
                n_gen++;
                n_rejected += (size_t)num(d, "rejected");
            }
        } else if (strcmp(ev[i].type, "gate") == 0 && g == 0) {
            seed_evals++;
        } else if (strcmp(ev[i].type, "candidate") == 0) {
            breed_s += num(d, "seconds");
            n_cand++;
        } else if (strcmp(ev[i].type, "canary") == 0) {
            canary_s += num(d, "seconds");
            n_canary++;
        }
        json_decref(d);
    }
    double per_gen = n_gen ? gen_s / (double)n_gen : 0,
           per_eval = seed_evals ? seed_s / (double)seed_evals : 0;
    printf("seeding: %.1f s for %zu models evaluated (baseline: %.1f s per evaluation, mining "
           "included)\n",
           seed_s, seed_evals, per_eval);
    printf("generations: %zu, %.1f s each (%.0f generations/hour); per generation %.1f children "
           "bred (%zu rejected in all), %.1f canaries\n",
           n_gen, per_gen, per_gen > 0 ? 3600.0 / per_gen : 0.0,
           n_gen ? (double)n_cand / (double)n_gen : 0.0, n_rejected,
           n_gen ? (double)n_canary / (double)n_gen : 0.0);
    printf("time of the generations: breeding %.0f%%, canaries %.0f%%, evaluation and the rest "
           "%.0f%%; a generation = %.1f baseline evaluations\n",
           gen_s > 0 ? 100 * breed_s / gen_s : 0.0, gen_s > 0 ? 100 * canary_s / gen_s : 0.0,
           gen_s > 0 ? 100 * (gen_s - breed_s - canary_s) / gen_s : 0.0,
           per_eval > 0 ? per_gen / per_eval : 0.0);
    printf("load average: %.2f at the start, %.2f at the end\n", load0, bench_loadavg());
    eco_registry_events_free(ev, n);
    eco_registry_close(r);
    eco_loop_config_free(&c);
    eco_remove_tree(dir);
    free(config);
    return 0;
}
