/*
 * bench_telemetry: what recording a request costs the serving path, beside the floor of any
 * locked update measured in the same run.
 *
 * Median of 11 passes of 200,000 events each (one warm-up pass first), interleaved:
 *   floor      pthread mutex lock, three counter increments, unlock (the baseline: what a
 *              thread-safe record cannot go below with one mutex)
 *   record     eco_telemetry_record of a request without a prompt (20 series)
 *   candidate  the same with a 200-byte prompt under the low-confidence threshold (its
 *              SHA-256 and UTF-8 copies, dedup against the held set; 1,000 distinct prompts)
 *   2 threads  record from 2 threads at once (wall time per event, both threads' events)
 * and the exposition of 20 series. Prints nanoseconds per event and the ratio to the floor.
 * Never fails.
 */
#include <pthread.h>

#include "bench_common.h"
#include "ecology/telemetry.h"

enum { N = 200000, REPS = 11, SERIES = 20, PROMPTS = 1000 };

static const char *ENGINES[4] = {"tiny@1", "tiny@2", "bpe@1", "bpe@2"};
static const char *CAPS[5] = {"reverse", "sort", "json", "sentiment", "copy"};
static char prompts[PROMPTS][201];

static void record_n(eco_telemetry *t, size_t n, bool candidate, unsigned salt) {
    for (size_t i = 0; i < n; i++) {
        eco_telemetry_event ev = {0};
        size_t s = (i + salt) % SERIES;
        ev.engine = ENGINES[s % 4];
        ev.capability = CAPS[s / 4];
        ev.latency_s = 0.001 * (double)(1 + (i * 7919) % 5000);
        ev.tokens = 16;
        ev.gen_seconds = 0.01;
        ev.confidence = candidate ? 0.1 + 0.3 * (double)(i % 97) / 97 : 0.9;
        if (candidate) {
            ev.prompt = prompts[i % PROMPTS];
            ev.prompt_len = 200;
            ev.answer = "an answer";
            ev.answer_len = 9;
        }
        eco_telemetry_record(t, &ev);
    }
}

typedef struct job {
    eco_telemetry *t;
    unsigned salt;
} job;

static void *thread_main(void *arg) {
    job *j = arg;
    record_n(j->t, N / 2, false, j->salt);
    return NULL;
}

int main(void) {
    for (int p = 0; p < PROMPTS; p++)
        for (int k = 0; k < 200; k++) prompts[p][k] = (char)('a' + (p * 31 + k * 7) % 26);
    eco_telemetry *t = NULL;
    if (eco_telemetry_create(NULL, &t)) {
        fprintf(stderr, "bench_telemetry: %s\n", eco_last_error());
        return 1;
    }
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    volatile uint64_t a = 0, b = 0, c = 0;
    double t_floor[REPS], t_rec[REPS], t_cand[REPS], t_two[REPS], t_expo[REPS];
    size_t expo_bytes = 0;
    for (int r = -1; r < REPS; r++) { /* r == -1: warm-up, not counted */
        double t0 = omp_get_wtime();
        for (size_t i = 0; i < N; i++) {
            pthread_mutex_lock(&mu);
            a += 1;
            b += i;
            c += 16;
            pthread_mutex_unlock(&mu);
        }
        double t1 = omp_get_wtime();
        record_n(t, N, false, 0);
        double t2 = omp_get_wtime();
        record_n(t, N, true, 0);
        double t3 = omp_get_wtime();
        pthread_t th[2];
        job jobs[2] = {{t, 1}, {t, 2}};
        for (int k = 0; k < 2; k++) pthread_create(&th[k], NULL, thread_main, &jobs[k]);
        for (int k = 0; k < 2; k++) pthread_join(th[k], NULL);
        double t4 = omp_get_wtime();
        eco_buf out = {0};
        eco_telemetry_prometheus(t, &out);
        double t5 = omp_get_wtime();
        expo_bytes = out.len;
        eco_buf_free(&out);
        if (r < 0) continue;
        t_floor[r] = (t1 - t0) / N * 1e9;
        t_rec[r] = (t2 - t1) / N * 1e9;
        t_cand[r] = (t3 - t2) / N * 1e9;
        t_two[r] = (t4 - t3) / N * 1e9;
        t_expo[r] = (t5 - t4) * 1e6;
    }
    double f = bench_median(t_floor, REPS), rec = bench_median(t_rec, REPS);
    double cand = bench_median(t_cand, REPS), two = bench_median(t_two, REPS);
    printf("bench_telemetry: %d events per pass, %d series, median of %d passes, load %.2f\n", N,
           SERIES, REPS, bench_loadavg());
    printf("  floor (mutex + 3 increments)   %8.1f ns/event\n", f);
    printf("  record, no prompt              %8.1f ns/event  (%.1fx the floor)\n", rec, rec / f);
    printf("  record, hard-example candidate %8.1f ns/event  (%.1fx the floor)\n", cand, cand / f);
    printf("  record, 2 threads at once      %8.1f ns/event wall  (%.1fx the floor)\n", two,
           two / f);
    printf("  exposition of %d series        %8.1f us  (%zu bytes)\n", SERIES,
           bench_median(t_expo, REPS), expo_bytes);
    (void)a;
    (void)b;
    (void)c;
    eco_telemetry_free(t);
    return 0;
}
