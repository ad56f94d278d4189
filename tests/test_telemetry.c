/*
 * Telemetry (include/ecology/telemetry.h): the latency buckets; the histogram quantile on
 * hand-worked cases (Prometheus's bucketQuantile rule, worked in the comments) and its error
 * bound against exact quantiles of 20,000 log-uniform latencies; counters, tokens/s and bad
 * events; the reservoir; the hard-example set (thresholds, eviction of the highest
 * confidences, dedup by prompt, byte bound, JSONL export); four threads recording at once
 * with exact totals afterwards; the Prometheus exposition against a golden text
 * (tests/fixtures/telemetry/golden.prom), its escaping, and a line-by-line check of every
 * line against the 0.0.4 grammar and the histogram rules; the JSON snapshot.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "test_util.h"

#include "ecology/telemetry.h"

static eco_telemetry_event ev_make(const char *engine, const char *cap, double latency) {
    eco_telemetry_event ev;
    memset(&ev, 0, sizeof ev);
    ev.engine = engine;
    ev.capability = cap;
    ev.latency_s = latency;
    ev.confidence = NAN;
    return ev;
}

static eco_telemetry *make_store(size_t reservoir, size_t hard_count, size_t hard_bytes) {
    eco_telemetry_config cfg;
    eco_telemetry_config_default(&cfg);
    cfg.reservoir_size = reservoir;
    cfg.hard_max_count = hard_count;
    cfg.hard_max_bytes = hard_bytes;
    cfg.seed = 7;
    eco_telemetry *t = NULL;
    ECO_ASSERT_OK(eco_telemetry_create(&cfg, &t));
    return t;
}

/* One event of a table: recorded by record_row. */
typedef struct row {
    const char *engine, *cap;
    double latency, gen, conf;
    uint64_t tokens;
    bool failed;
    const char *prompt;
    size_t prompt_len;
} row;

static eco_status record_row(eco_telemetry *t, const row *r) {
    eco_telemetry_event ev = ev_make(r->engine, r->cap, r->latency);
    ev.gen_seconds = r->gen;
    ev.confidence = r->conf;
    ev.tokens = r->tokens;
    ev.failed = r->failed;
    ev.prompt = r->prompt;
    ev.prompt_len = r->prompt_len;
    return eco_telemetry_record(t, &ev);
}

/* ---- buckets and quantiles ------------------------------------------------------------ */

static void test_bounds(void **state) {
    (void)state;
    const double *b = eco_telemetry_latency_bounds();
    assert_true(b[0] == 0.0001 && b[ECO_TELEMETRY_N_BOUNDS - 1] == 100);
    double worst = 0;
    for (size_t i = 1; i < ECO_TELEMETRY_N_BOUNDS; i++) {
        double r = b[i] / b[i - 1];
        assert_true(r >= 1.25 - 1e-12 && r <= 1.28 + 1e-12);
        if (r > worst) worst = r;
        /* a decade later, ten times the bound */
        if (i >= 10) assert_true(fabs(b[i] / b[i - 10] - 10) < 1e-9);
    }
    print_message("largest ratio between consecutive bounds: %.4f\n", worst);
    assert_int_equal(eco_telemetry_bucket_index(0), 0);
    assert_int_equal(eco_telemetry_bucket_index(0.0001), 0); /* le: bound included */
    assert_int_equal(eco_telemetry_bucket_index(0.00010001), 1);
    assert_int_equal(eco_telemetry_bucket_index(0.5), 37);
    assert_int_equal(eco_telemetry_bucket_index(100), ECO_TELEMETRY_N_BOUNDS - 1);
    assert_int_equal(eco_telemetry_bucket_index(100.001), ECO_TELEMETRY_N_BOUNDS);
}

static void test_quantile_hand(void **state) {
    (void)state;
    /* upper {1, 2, 4, +Inf}, cumulative {10, 20, 30, 40}: 10 observations per bucket. */
    const double up[4] = {1, 2, 4, INFINITY};
    const uint64_t cum[4] = {10, 20, 30, 40};
    double v;
    /* q 0.25: rank 10, b = 0: 0 + 1·10/10 = 1. */
    ECO_ASSERT_OK(eco_telemetry_bucket_quantile(0.25, up, cum, 4, &v));
    assert_true(v == 1);
    /* q 0.5: rank 20, b = 1 (20 >= 20): 1 + 1·(20−10)/10 = 2. */
    ECO_ASSERT_OK(eco_telemetry_bucket_quantile(0.5, up, cum, 4, &v));
    assert_true(v == 2);
    /* q 0.6: rank 24, b = 2: 2 + 2·(24−20)/10 = 2.8. */
    ECO_ASSERT_OK(eco_telemetry_bucket_quantile(0.6, up, cum, 4, &v));
    assert_true(fabs(v - 2.8) < 1e-15);
    /* q 0.05: rank 2, b = 0: 0 + 1·2/10 = 0.2. */
    ECO_ASSERT_OK(eco_telemetry_bucket_quantile(0.05, up, cum, 4, &v));
    assert_true(fabs(v - 0.2) < 1e-15);
    /* q 0.9 and 1: rank 36 and 40 lie in the +Inf bucket: the highest finite bound, 4. */
    ECO_ASSERT_OK(eco_telemetry_bucket_quantile(0.9, up, cum, 4, &v));
    assert_true(v == 4);
    ECO_ASSERT_OK(eco_telemetry_bucket_quantile(1, up, cum, 4, &v));
    assert_true(v == 4);
    /* Empty buckets are skipped: {0, 0, 5, 5}, q 0.5: rank 2.5, b = 2: 2 + 2·2.5/5 = 3. */
    const uint64_t gap[4] = {0, 0, 5, 5};
    ECO_ASSERT_OK(eco_telemetry_bucket_quantile(0.5, up, gap, 4, &v));
    assert_true(v == 3);
    /* No observations: NaN. */
    const uint64_t none[4] = {0, 0, 0, 0};
    ECO_ASSERT_OK(eco_telemetry_bucket_quantile(0.5, up, none, 4, &v));
    assert_true(isnan(v));
    /* A first bound <= 0 is returned as it is. */
    const double neg[3] = {-1, 1, INFINITY};
    const uint64_t nc[3] = {5, 10, 10};
    ECO_ASSERT_OK(eco_telemetry_bucket_quantile(0.2, neg, nc, 3, &v));
    assert_true(v == -1);
    /* Refused: q outside (0, 1], too few buckets, no +Inf, bounds out of order, counts
     * decreasing. */
    ECO_ASSERT_STATUS(eco_telemetry_bucket_quantile(0, up, cum, 4, &v), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_telemetry_bucket_quantile(1.5, up, cum, 4, &v), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_telemetry_bucket_quantile(NAN, up, cum, 4, &v), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_telemetry_bucket_quantile(0.5, up + 3, cum + 3, 1, &v),
                      ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_telemetry_bucket_quantile(0.5, up, cum, 3, &v), ECO_STATUS_EINVAL);
    const double unsorted[4] = {2, 1, 4, INFINITY};
    ECO_ASSERT_STATUS(eco_telemetry_bucket_quantile(0.5, unsorted, cum, 4, &v), ECO_STATUS_EINVAL);
    const uint64_t down[4] = {10, 5, 30, 40};
    ECO_ASSERT_STATUS(eco_telemetry_bucket_quantile(0.5, up, down, 4, &v), ECO_STATUS_EINVAL);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The documented bound: 20,000 latencies log-uniform over [50 µs, 150 s] (so the first and
 * the +Inf bucket are used too); for many q, the bucket estimate against the true
 * nearest-rank quantile: within a factor 1.28 in a finite bucket past the first, within
 * 100 µs in the first, 100 s (below the truth) in the +Inf one. The reservoir holds all of
 * them, so its quantiles must equal the true ones exactly. */
static void test_quantile_error_bound(void **state) {
    (void)state;
    enum { N = 20000 };
    eco_telemetry *t = make_store(N, 0, 0);
    double *lat = malloc(N * sizeof *lat); /* [N] seconds */
    assert_non_null(lat);
    eco_rng rng;
    eco_rng_seed(&rng, 20261207);
    for (size_t i = 0; i < N; i++) {
        lat[i] = 5e-5 * pow(3e6, eco_rng_uniform(&rng));
        eco_telemetry_event ev = ev_make("e", "c", lat[i]);
        ECO_ASSERT_OK(eco_telemetry_record(t, &ev));
    }
    qsort(lat, N, sizeof *lat, cmp_double);
    eco_telemetry_stats st;
    ECO_ASSERT_OK(eco_telemetry_get(t, "e", "c", &st));
    assert_true(st.exact);
    assert_true(st.exact_p50 == lat[N / 2 - 1] && st.exact_p95 == lat[N * 95 / 100 - 1] &&
                st.exact_p99 == lat[N * 99 / 100 - 1]);
    double upper[ECO_TELEMETRY_N_BUCKETS];
    memcpy(upper, eco_telemetry_latency_bounds(), sizeof(double) * ECO_TELEMETRY_N_BOUNDS);
    upper[ECO_TELEMETRY_N_BOUNDS] = INFINITY;
    double worst_ratio = 1;
    int checked = 0;
    for (int k = 1; k <= 1000; k++) {
        double q = k / 1000.0, est;
        ECO_ASSERT_OK(
            eco_telemetry_bucket_quantile(q, upper, st.buckets, ECO_TELEMETRY_N_BUCKETS, &est));
        size_t r = (size_t)ceil(q * N - 1e-9); /* nearest rank, 1-based */
        double truth = lat[r - 1];
        if (truth > 100) {
            assert_true(est == 100);
        } else if (truth <= 0.0001) {
            assert_true(fabs(est - truth) <= 0.0001);
        } else {
            double ratio = est > truth ? est / truth : truth / est;
            if (ratio > worst_ratio) worst_ratio = ratio;
            if (ratio > 1.28 + 1e-12) {
                print_error("q %g: estimate %.9g, true %.9g (ratio %.4f > 1.28)\n", q, est, truth,
                            ratio);
                fail();
            }
        }
        checked++;
    }
    double p50;
    ECO_ASSERT_OK(
        eco_telemetry_bucket_quantile(0.5, upper, st.buckets, ECO_TELEMETRY_N_BUCKETS, &p50));
    assert_true(st.p50 == p50);
    print_message("%d quantiles: largest estimate/true ratio %.4f (bound 1.28)\n", checked,
                  worst_ratio);
    free(lat);
    eco_telemetry_free(t);
}

/* ---- counters and bad events ---------------------------------------------------------- */

static void test_counters(void **state) {
    (void)state;
    eco_telemetry *t = make_store(16, 10, 1000);
    eco_telemetry_event ev = ev_make("tiny@1", "reverse", 0.010);
    ev.tokens = 20;
    ev.gen_seconds = 0.5;
    ev.confidence = 0.9;
    ECO_ASSERT_OK(eco_telemetry_record(t, &ev));
    ev.failed = true;
    ev.latency_s = 0.030;
    ev.confidence = 0.2; /* low */
    ev.tokens = 12;
    ev.gen_seconds = 0.25;
    ECO_ASSERT_OK(eco_telemetry_record(t, &ev));
    ev.failed = false;
    ev.confidence = NAN; /* unknown: not low */
    ev.latency_s = 0.020;
    ev.tokens = 0;
    ev.gen_seconds = 0;
    ECO_ASSERT_OK(eco_telemetry_record(t, &ev));
    eco_telemetry_stats st;
    ECO_ASSERT_OK(eco_telemetry_get(t, "tiny@1", "reverse", &st));
    assert_true(st.requests == 3 && st.failures == 1 && st.low_confidence == 1);
    assert_true(st.tokens == 32 && st.gen_seconds == 0.75);
    assert_true(fabs(st.tokens_per_s - 32 / 0.75) < 1e-12);
    assert_true(fabs(st.latency_sum - 0.06) < 1e-15);
    assert_true(st.exact && st.exact_p50 == 0.020 && st.exact_p99 == 0.030);
    assert_true(st.buckets[ECO_TELEMETRY_N_BUCKETS - 1] == 3);
    ECO_ASSERT_STATUS(eco_telemetry_get(t, "tiny@1", "sort", &st), ECO_STATUS_ENOTFOUND);

    /* Bad events: refused with EINVAL, nothing recorded. */
    const char bad_utf8[] = {'e', (char)0xff, 0};
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    const row bad[] = {
        {NULL, "c", 0.1, 0, NAN, 0, false, NULL, 0},
        {"", "c", 0.1, 0, NAN, 0, false, NULL, 0},
        {"e", "", 0.1, 0, NAN, 0, false, NULL, 0},
        {bad_utf8, "c", 0.1, 0, NAN, 0, false, NULL, 0},
        {longname, "c", 0.1, 0, NAN, 0, false, NULL, 0},
        {"e", "c", -0.1, 0, NAN, 0, false, NULL, 0},
        {"e", "c", NAN, 0, NAN, 0, false, NULL, 0},
        {"e", "c", INFINITY, 0, NAN, 0, false, NULL, 0},
        {"e", "c", 0.1, -1, NAN, 0, false, NULL, 0},
        {"e", "c", 0.1, 0, 1.5, 0, false, NULL, 0},
        {"e", "c", 0.1, 0, -0.1, 0, false, NULL, 0},
        {"e", "c", 0.1, 0, NAN, 0, false, NULL, 3},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ECO_ASSERT_STATUS(record_row(t, &bad[i]), ECO_STATUS_EINVAL);
        print_message("bad event %zu: %s\n", i, eco_last_error());
    }
    eco_telemetry_totals tot;
    eco_telemetry_get_totals(t, &tot);
    assert_true(tot.series == 1 && tot.dropped == 0);
    ECO_ASSERT_STATUS(eco_telemetry_record(NULL, &ev), ECO_STATUS_EINVAL);

    /* Bad configurations. */
    eco_telemetry_config cfg;
    eco_telemetry *u = NULL;
    eco_telemetry_config_default(&cfg);
    cfg.low_confidence = 1.5;
    ECO_ASSERT_STATUS(eco_telemetry_create(&cfg, &u), ECO_STATUS_EINVAL);
    eco_telemetry_config_default(&cfg);
    cfg.max_series = 0;
    ECO_ASSERT_STATUS(eco_telemetry_create(&cfg, &u), ECO_STATUS_EINVAL);
    eco_telemetry_config_default(&cfg);
    cfg.reservoir_size = ((size_t)1 << 20) + 1;
    ECO_ASSERT_STATUS(eco_telemetry_create(&cfg, &u), ECO_STATUS_EINVAL);
    assert_null(u);
    eco_telemetry_free(t);

    /* The series bound: the third pair is dropped and counted. */
    eco_telemetry_config_default(&cfg);
    cfg.max_series = 2;
    ECO_ASSERT_OK(eco_telemetry_create(&cfg, &t));
    const char *caps[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        eco_telemetry_event e = ev_make("e", caps[i], 0.01);
        ECO_ASSERT_STATUS(eco_telemetry_record(t, &e), i < 2 ? ECO_STATUS_OK : ECO_STATUS_ERANGE);
    }
    eco_telemetry_event again = ev_make("e", "a", 0.01);
    ECO_ASSERT_OK(eco_telemetry_record(t, &again)); /* a known pair still records */
    eco_telemetry_get_totals(t, &tot);
    assert_true(tot.series == 2 && tot.dropped == 1);
    eco_telemetry_free(t);
}

/* The reservoir past its size: a uniform sample, so its quantiles are estimates. */
static void test_reservoir(void **state) {
    (void)state;
    eco_telemetry *t = make_store(200, 0, 0);
    for (int i = 1; i <= 5000; i++) {
        eco_telemetry_event ev = ev_make("e", "c", i * 0.001); /* 1 ms .. 5 s, uniform */
        ECO_ASSERT_OK(eco_telemetry_record(t, &ev));
    }
    eco_telemetry_stats st;
    ECO_ASSERT_OK(eco_telemetry_get(t, "e", "c", &st));
    assert_false(st.exact);
    print_message("reservoir 200 of 5000: p50 %.3f s (true 2.500), p95 %.3f (4.750), p99 %.3f "
                  "(4.950)\n",
                  st.exact_p50, st.exact_p95, st.exact_p99);
    /* A 200-sample median of U(0, 5) has a standard deviation of about 0.18 s. */
    assert_true(fabs(st.exact_p50 - 2.5) < 0.75);
    assert_true(st.exact_p95 > 4.0 && st.exact_p99 <= 5.0);
    eco_telemetry_free(t);
    /* Reservoir disabled: exact figures NaN. */
    t = make_store(0, 0, 0);
    eco_telemetry_event ev = ev_make("e", "c", 0.5);
    ECO_ASSERT_OK(eco_telemetry_record(t, &ev));
    ECO_ASSERT_OK(eco_telemetry_get(t, "e", "c", &st));
    assert_true(!st.exact && isnan(st.exact_p50) && st.p50 > 0.4 && st.p50 <= 0.5);
    eco_telemetry_free(t);
}

/* ---- hard examples -------------------------------------------------------------------- */

static void offer(eco_telemetry *t, const char *prompt, const char *answer, double conf,
                  bool failed) {
    eco_telemetry_event ev = ev_make("e1", "reverse", 0.01);
    ev.prompt = prompt;
    ev.prompt_len = strlen(prompt);
    ev.answer = answer;
    ev.answer_len = answer ? strlen(answer) : 0;
    ev.confidence = conf;
    ev.failed = failed;
    ECO_ASSERT_OK(eco_telemetry_record(t, &ev));
}

static char *export_text(eco_telemetry *t, const char *dir, size_t *n) {
    char *path = eco_path_join(dir, "hard.jsonl");
    ECO_ASSERT_OK(eco_telemetry_export_hard_examples(t, path, n));
    char *text = NULL;
    size_t len;
    ECO_ASSERT_OK(eco_read_file(path, 1 << 20, &text, &len));
    free(path);
    return text;
}

static void test_hard_examples(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    eco_telemetry *t = make_store(0, 3, 1000);
    offer(t, "p1", "a1", 0.4, false);
    offer(t, "p2", "a2", 0.3, false);
    offer(t, "p3", "a3", 0.2, false);
    offer(t, "p4", "a4", 0.9, false);  /* not low, not failed: no candidate */
    offer(t, "p5", "a5", 0.45, false); /* full, and above all held: rejected */
    offer(t, "p6", "a6", 0.1, false);  /* evicts p1 (0.4) */
    offer(t, "p2", "b2", 0.05, false); /* held prompt, lower: answer replaced */
    offer(t, "p3", "b3", 0.35, false); /* held prompt, higher: kept as it was */
    offer(t, "p7", NULL, NAN, true);   /* failed, no answer, unknown: ranks 0, evicts p3 */
    eco_telemetry_totals tot;
    eco_telemetry_get_totals(t, &tot);
    assert_true(tot.hard_count == 3 && tot.hard_offered == 8 && tot.hard_deduped == 2 &&
                tot.hard_evicted == 2 && tot.hard_rejected == 1);
    assert_true(tot.hard_bytes == 4 + 4 + 2); /* p2 b2, p6 a6, p7 and no answer */
    size_t n;
    char *text = export_text(t, dir, &n);
    const char *want =
        "{\"answer\":\"\",\"capability\":\"reverse\",\"confidence\":null,\"engine\":\"e1\","
        "\"prompt\":\"p7\"}\n"
        "{\"answer\":\"b2\",\"capability\":\"reverse\",\"confidence\":0.050000000000000003,"
        "\"engine\":\"e1\",\"prompt\":\"p2\"}\n"
        "{\"answer\":\"a6\",\"capability\":\"reverse\",\"confidence\":0.10000000000000001,"
        "\"engine\":\"e1\",\"prompt\":\"p6\"}\n";
    if (strcmp(text, want) != 0) {
        print_error("export:\n%s\nwant:\n%s\n", text, want);
        fail();
    }
    assert_int_equal(n, 3);
    free(text);
    eco_telemetry_free(t);

    /* The byte bound: 10 bytes. "aaaa"+"bb" (6) and "cc"+"d" (3) fit; "ee"+"ffff" (6, conf
     * 0.1) evicts the 0.3 one (the highest) and no more; a 12-byte one is larger than the
     * bound alone. Then 5 bytes at 0.01 (invalid UTF-8 and a NUL, stored as U+FFFD and
     * \u0000) evict both others: 3 + 6 + 5 > 10, 6 + 5 > 10. */
    t = make_store(0, 100, 10);
    offer(t, "aaaa", "bb", 0.3, false);
    offer(t, "cc", "d", 0.2, false);
    offer(t, "ee", "ffff", 0.1, false);
    offer(t, "gggggg", "hhhhhh", 0.0, false);
    eco_telemetry_get_totals(t, &tot);
    assert_true(tot.hard_count == 2 && tot.hard_bytes == 9 && tot.hard_evicted == 1 &&
                tot.hard_rejected == 1);
    eco_telemetry_event ev = ev_make("e1", "reverse", 0.01);
    const char odd[3] = {'\xff', '\0', 'z'};
    ev.prompt = odd;
    ev.prompt_len = 3;
    ev.confidence = 0.01;
    ECO_ASSERT_OK(eco_telemetry_record(t, &ev)); /* 3 bytes -> U+FFFD (3) + NUL + z: 5 */
    eco_telemetry_get_totals(t, &tot);
    assert_true(tot.hard_count == 1 && tot.hard_bytes == 5 && tot.hard_evicted == 3);
    text = export_text(t, dir, &n);
    const char *want2 =
        "{\"answer\":\"\",\"capability\":\"reverse\",\"confidence\":0.01,\"engine\":\"e1\","
        "\"prompt\":\"\xef\xbf\xbd\\u0000z\"}\n";
    if (strcmp(text, want2) != 0) {
        print_error("export:\n%s\nwant:\n%s\n", text, want2);
        fail();
    }
    free(text);
    eco_telemetry_free(t);

    /* An empty set exports an empty file. */
    t = make_store(0, 0, 0);
    offer(t, "p", "a", 0.1, true);
    text = export_text(t, dir, &n);
    assert_true(n == 0 && text[0] == 0);
    free(text);
    eco_telemetry_free(t);
    eco_test_rmtree(dir);
    free(dir);
}

/* ---- threads -------------------------------------------------------------------------- */

enum { N_THREADS = 4, PER_THREAD = 20000 };

typedef struct worker {
    eco_telemetry *t;
    int id;
} worker;

/* Latencies that are exact binary fractions, so sums do not depend on the order. */
static const double LAT[4] = {0.0009765625, 0.015625, 0.25, 2.0};

static void *work(void *arg) {
    worker *w = arg;
    const char *caps[2] = {"reverse", "sort"};
    char prompt[64];
    for (int i = 0; i < PER_THREAD; i++) {
        eco_telemetry_event ev = ev_make(w->id % 2 ? "odd" : "even", caps[i % 2], LAT[i % 4]);
        ev.tokens = 3;
        ev.gen_seconds = 0.125;
        ev.failed = i % 5 == 0;
        /* Every 100th is a hard example with its own prompt and confidence. */
        if (i % 100 == 0) {
            snprintf(prompt, sizeof prompt, "thread %d item %d", w->id, i);
            ev.prompt = prompt;
            ev.prompt_len = strlen(prompt);
            ev.answer = "x";
            ev.answer_len = 1;
            ev.confidence = (double)(w->id * PER_THREAD + i) / (N_THREADS * PER_THREAD);
        } else {
            ev.confidence = 0.75;
        }
        if (eco_telemetry_record(w->t, &ev) != ECO_STATUS_OK) return (void *)1;
    }
    return NULL;
}

static void test_threads(void **state) {
    (void)state;
    eco_telemetry *t = make_store(64, 50, 1 << 20);
    pthread_t th[N_THREADS];
    worker w[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (worker){t, i};
        assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        void *ret;
        assert_int_equal(pthread_join(th[i], &ret), 0);
        assert_null(ret);
    }
    /* Each of the 4 series ({even, odd} × {reverse, sort}) got 2 threads × 10,000. */
    const char *engines[2] = {"even", "odd"}, *caps[2] = {"reverse", "sort"};
    for (int e = 0; e < 2; e++)
        for (int c = 0; c < 2; c++) {
            eco_telemetry_stats st;
            ECO_ASSERT_OK(eco_telemetry_get(t, engines[e], caps[c], &st));
            uint64_t n = 2 * PER_THREAD / 2;
            assert_true(st.requests == n);
            assert_true(st.failures == 2 * (PER_THREAD / 10)); /* i % 5 == 0 */
            assert_true(st.tokens == 3 * n && st.gen_seconds == 0.125 * (double)n);
            /* reverse gets i % 4 in {0, 2}, sort {1, 3}: 5,000 each per thread. */
            double want_sum = 2 * 5000 * (LAT[c] + LAT[c + 2]);
            assert_true(st.latency_sum == want_sum);
            assert_true(st.buckets[eco_telemetry_bucket_index(LAT[c])] == 10000);
            assert_true(st.buckets[ECO_TELEMETRY_N_BUCKETS - 1] == n);
        }
    /* Hard examples: 4 × 200 offered (the low-confidence ones are those under 0.5, the
     * failed ones all of them: every i % 100 == 0 is failed), 50 kept: the lowest 50
     * confidences, thread 0's items 0, 100, ..., 4900. */
    eco_telemetry_totals tot;
    eco_telemetry_get_totals(t, &tot);
    assert_true(tot.hard_offered == N_THREADS * (PER_THREAD / 100) && tot.hard_count == 50);
    char *dir = eco_test_tmpdir();
    size_t n;
    char *text = export_text(t, dir, &n);
    assert_int_equal(n, 50);
    char want[64];
    snprintf(want, sizeof want, "\"prompt\":\"thread 0 item %d\"", 4900);
    assert_non_null(strstr(text, want));
    assert_null(strstr(text, "thread 0 item 5000\""));
    assert_null(strstr(text, "thread 1"));
    free(text);
    eco_test_rmtree(dir);
    free(dir);
    print_message("%d threads × %d records: totals exact\n", N_THREADS, PER_THREAD);
    eco_telemetry_free(t);
}

/* ---- Prometheus exposition ------------------------------------------------------------ */

/* The fixed recordings of the golden text: two series, one with a name to escape. */
static eco_telemetry *golden_store(void) {
    eco_telemetry *t = make_store(16, 10, 1000);
    const row rec[] = {
        {"tiny@1", "reverse", 0.0123, 0.01, 0.9, 8, false, NULL, 0},
        {"tiny@1", "reverse", 0.05, 0.04, 0.3, 16, false, NULL, 0},
        {"tiny@1", "reverse", 1.5, 1.25, NAN, 0, true, NULL, 0},
        {"bpe \"x\"\\y\nz", "sort", 0.00005, 0.00004, 0.99, 2, false, NULL, 0},
    };
    for (size_t i = 0; i < sizeof rec / sizeof rec[0]; i++) ECO_ASSERT_OK(record_row(t, &rec[i]));
    return t;
}

static void test_prometheus_golden(void **state) {
    (void)state;
    eco_telemetry *t = golden_store();
    eco_buf got = {0};
    ECO_ASSERT_OK(eco_telemetry_prometheus(t, &got));
    char *path = eco_test_source_path("tests/fixtures/telemetry/golden.prom");
    char *want = NULL;
    size_t len;
    ECO_ASSERT_OK(eco_read_file(path, 1 << 20, &want, &len));
    if (strcmp(got.data, want) != 0) {
        size_t i = 0, line = 1;
        for (; got.data[i] && got.data[i] == want[i]; i++) line += got.data[i] == '\n';
        char *dir = eco_test_tmpdir();
        char *out = eco_path_join(dir, "got.prom");
        eco_test_write_file(out, got.data, got.len);
        print_error("exposition differs from %s at line %zu; written to %s\n", path, line, out);
        free(out);
        free(dir);
        fail();
    }
    free(want);
    free(path);
    eco_buf_free(&got);
    /* The quantiles of tiny@1 as Prometheus computes them from these buckets (promtool 2.42
     * `test rules` on golden.prom, scripts/check_telemetry_promtool.py): 0.045,
     * 1.5474999999999999, 1.5895000000000001, to the last bit. By hand: p50 rank 1.5 in
     * (0.04, 0.05], 0.04 + 0.01·0.5; p95 rank 2.85 in (1.25, 1.6], 1.25 + 0.35·0.85. */
    eco_telemetry_stats st;
    ECO_ASSERT_OK(eco_telemetry_get(t, "tiny@1", "reverse", &st));
    if (!(st.p50 == 0.045 && st.p95 == 1.5474999999999999 && st.p99 == 1.5895000000000001)) {
        print_error("p50 %.17g p95 %.17g p99 %.17g, Prometheus 0.045 1.5474999999999999 "
                    "1.5895000000000001\n",
                    st.p50, st.p95, st.p99);
        fail();
    }
    /* An empty store: only the dropped counter. */
    eco_telemetry_free(t);
    t = make_store(0, 0, 0);
    ECO_ASSERT_OK(eco_telemetry_prometheus(t, &got));
    assert_string_equal(got.data, "# HELP ecology_telemetry_dropped_events_total Events not "
                                  "recorded because the series bound was reached.\n"
                                  "# TYPE ecology_telemetry_dropped_events_total counter\n"
                                  "ecology_telemetry_dropped_events_total 0\n");
    eco_buf_free(&got);
    eco_telemetry_free(t);
}

static void test_escape(void **state) {
    (void)state;
    eco_buf b = {0};
    const char in[] = "a\\b\"c\nd\te";
    assert_true(eco_telemetry_escape_label(&b, in, strlen(in)));
    assert_string_equal(b.data, "a\\\\b\\\"c\\nd\te"); /* a\\b\"c\nd<TAB>e */
    eco_buf_reset(&b);
    assert_true(eco_telemetry_escape_label(&b, "", 0));
    assert_true(b.len == 0);
    assert_true(eco_telemetry_escape_label(&b, "\\\\\n", 3));
    assert_string_equal(b.data, "\\\\\\\\\\n");
    eco_buf_free(&b);
}

/* ---- a checker of the 0.0.4 text format ----------------------------------------------- */

typedef struct family {
    char name[128], type[16];
    bool help, typed, sampled, done;
} family;

typedef struct checker {
    family fam[32];
    int n_fam;
    int cur; /* the family whose samples are being read, -1 before any */
    /* the histogram series being read: its labels without le, last cumulative count */
    char hist_labels[1024];
    double last_bucket;
    bool inf_seen;
    double inf_count;
    int lines;
    const char *label_seen[8]; /* label values that must appear, unescaped */
    bool label_found[8];
    int n_labels;
    char why[256]; /* why the last refused line was refused */
} checker;

static bool name_start(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
static bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

/* metric_name: [a-zA-Z_:][a-zA-Z0-9_:]*; label names the same without ':'. */
static size_t scan_name(const char *s, bool label) {
    size_t i = 0;
    if (!name_start(s[0]) || (label && s[0] == ':')) return 0;
    while (name_char(s[i]) && !(label && s[i] == ':')) i++;
    return i;
}

/* A Go float as the format takes it: [+-]Inf, NaN, or what strtod reads wholly. */
static bool scan_value(const char *s, double *v) {
    if (!strcmp(s, "+Inf") || !strcmp(s, "-Inf") || !strcmp(s, "NaN")) {
        *v = s[0] == '-' ? -INFINITY : s[0] == '+' ? INFINITY : NAN;
        return true;
    }
    char *end;
    if (!*s || !strchr("+-0123456789.", s[0])) return false;
    *v = strtod(s, &end);
    return *end == 0;
}

static family *family_of(checker *c, const char *name) {
    for (int i = 0; i < c->n_fam; i++)
        if (!strcmp(c->fam[i].name, name)) return &c->fam[i];
    assert_true(c->n_fam < 32);
    family *f = &c->fam[c->n_fam++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    return f;
}

/* Says why a line is refused (into c->why) and refuses it. */
#define BAD(...)                                                                                   \
    do {                                                                                           \
        snprintf(c->why, sizeof c->why, __VA_ARGS__);                                              \
        return false;                                                                              \
    } while (0)

/* One line (without its '\n'): true when it matches the grammar and the rules. */
static bool check_line(checker *c, const char *line) {
    c->lines++;
    if (line[0] == '#') {
        bool help = !strncmp(line, "# HELP ", 7), type = !strncmp(line, "# TYPE ", 7);
        if (!help && !type) return true; /* a comment */
        const char *p = line + 7;
        size_t n = scan_name(p, false);
        if (!n || p[n] != ' ') BAD("bad metric name after HELP/TYPE");
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        family *f = family_of(c, name);
        if (f->sampled) BAD("HELP/TYPE after the family's samples");
        p += n + 1;
        if (help) {
            if (f->help) BAD("second HELP for %s", name);
            f->help = true;
            for (; *p; p++) /* docstring: only \\ and \n escapes */
                if (*p == '\\' && !(p[1] == '\\' || p[1] == 'n'))
                    BAD("bad escape in HELP");
                else if (*p == '\\')
                    p++;
        } else {
            if (f->typed) BAD("second TYPE for %s", name);
            if (strcmp(p, "counter") && strcmp(p, "gauge") && strcmp(p, "histogram") &&
                strcmp(p, "summary") && strcmp(p, "untyped"))
                BAD("unknown type '%s'", p);
            f->typed = true;
            snprintf(f->type, sizeof f->type, "%s", p);
        }
        return true;
    }
    /* A sample: name [ "{" label="value" ("," label="value")* [","] "}" ] " " value. */
    size_t n = scan_name(line, false);
    if (!n) BAD("bad metric name");
    char name[128], labels[1024] = "", le[64] = "";
    snprintf(name, sizeof name, "%.*s", (int)n, line);
    const char *p = line + n;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            size_t ln = scan_name(p, true);
            if (!ln || p[ln] != '=' || p[ln + 1] != '"') BAD("bad label");
            char lname[64];
            snprintf(lname, sizeof lname, "%.*s", (int)ln, p);
            p += ln + 2;
            char val[512];
            size_t vn = 0;
            for (; *p != '"'; p++) {
                if (!*p) BAD("unterminated label value");
                char ch = *p;
                if (ch == '\\') {
                    p++;
                    ch = *p == 'n' ? '\n' : *p == '\\' ? '\\' : *p == '"' ? '"' : 0;
                    if (!ch) BAD("bad escape in label value");
                }
                if (vn + 1 < sizeof val) val[vn++] = ch;
            }
            val[vn] = 0;
            p++;
            if (!strcmp(lname, "le"))
                snprintf(le, sizeof le, "%.63s", val);
            else
                snprintf(labels + strlen(labels), sizeof labels - strlen(labels), "%s=%s;", lname,
                         val);
            for (int i = 0; i < c->n_labels; i++)
                if (!strcmp(val, c->label_seen[i])) c->label_found[i] = true;
            if (*p == ',')
                p++;
            else if (*p != '}')
                BAD("expected , or }");
        }
        p++;
    }
    if (*p != ' ') BAD("no space before the value");
    while (*p == ' ') p++;
    double v;
    if (!scan_value(p, &v)) BAD("bad value '%s'", p);
    /* The family: the name itself, or a histogram's name without _bucket/_sum/_count. */
    family *f = NULL;
    for (int i = 0; i < c->n_fam && !f; i++) {
        family *g = &c->fam[i];
        size_t gl = strlen(g->name);
        if (!strcmp(g->name, name))
            f = g;
        else if (!strcmp(g->type, "histogram") && !strncmp(name, g->name, gl) &&
                 (!strcmp(name + gl, "_bucket") || !strcmp(name + gl, "_sum") ||
                  !strcmp(name + gl, "_count")))
            f = g;
    }
    if (!f || !f->typed || !f->help) BAD("sample of an undeclared family");
    int idx = (int)(f - c->fam);
    if (idx != c->cur) {
        if (f->done || f->sampled) BAD("family %s's samples are not together", f->name);
        if (c->cur >= 0) c->fam[c->cur].done = true;
        c->cur = idx;
    }
    f->sampled = true;
    if (!strcmp(f->type, "counter") && !(v >= 0)) BAD("negative counter");
    if (!strcmp(f->type, "histogram")) {
        const char *suffix = name + strlen(f->name);
        if (!strcmp(suffix, "_bucket")) {
            if (!le[0]) BAD("bucket without le");
            if (strcmp(labels, c->hist_labels)) { /* a new series */
                snprintf(c->hist_labels, sizeof c->hist_labels, "%s", labels);
                c->last_bucket = 0;
                c->inf_seen = false;
            }
            if (c->inf_seen) BAD("bucket after +Inf");
            if (v < c->last_bucket) BAD("cumulative bucket count decreases");
            c->last_bucket = v;
            if (!strcmp(le, "+Inf")) {
                c->inf_seen = true;
                c->inf_count = v;
            }
        } else {
            if (strcmp(labels, c->hist_labels) || !c->inf_seen)
                BAD("_sum/_count without a +Inf bucket before");
            if (!strcmp(suffix, "_count") && v != c->inf_count)
                BAD("_count %g != +Inf bucket %g", v, c->inf_count);
        }
    }
    return true;
}

static void check_exposition(checker *c, const char *text) {
    size_t len = strlen(text);
    assert_true(len > 0 && text[len - 1] == '\n'); /* the last line ends with a line feed */
    eco_lines it;
    eco_lines_init(&it, text, len, false);
    const char *s;
    size_t n;
    while (eco_lines_next(&it, &s, &n)) {
        char *line = eco_bytes_dup(s, n);
        assert_non_null(line);
        if (!check_line(c, line)) {
            print_error("line %d: %s\n  %s\n", c->lines, c->why, line);
            fail();
        }
        free(line);
    }
}

static void test_prometheus_grammar(void **state) {
    (void)state;
    eco_telemetry *t = golden_store();
    /* More series, names with the three escaped characters and UTF-8. */
    const char *names[] = {"a\\b", "q\"q", "line\nfeed", "caf\xc3\xa9"};
    for (size_t i = 0; i < 4; i++)
        for (int k = 0; k < 5; k++) {
            eco_telemetry_event ev = ev_make(names[i], names[3 - i], 0.001 * (k + 1) * (i + 1));
            ev.tokens = k;
            ev.gen_seconds = 0.1 * k;
            ECO_ASSERT_OK(eco_telemetry_record(t, &ev));
        }
    eco_buf b = {0};
    ECO_ASSERT_OK(eco_telemetry_prometheus(t, &b));
    checker c;
    memset(&c, 0, sizeof c);
    c.cur = -1;
    for (int i = 0; i < 4; i++) c.label_seen[c.n_labels++] = names[i];
    c.label_seen[c.n_labels++] = "bpe \"x\"\\y\nz";
    check_exposition(&c, b.data);
    for (int i = 0; i < c.n_labels; i++)
        if (!c.label_found[i]) {
            print_error("label value %d not read back from the exposition\n", i);
            fail();
        }
    assert_int_equal(c.n_fam, 7);
    print_message("%d lines, %d families: each matches the 0.0.4 grammar\n", c.lines, c.n_fam);
    /* The checker itself refuses what it should. */
    const char *bad[] = {
        "9metric 1", "m{l=\"x} 1", "m{l=\"\\t\"} 1", "m{1l=\"x\"} 1", "m 1x", "m{l=\"x\"}1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        checker d;
        memset(&d, 0, sizeof d);
        d.cur = -1;
        assert_true(check_line(&d, "# HELP m h") && check_line(&d, "# TYPE m untyped"));
        assert_true(check_line(&d, "m{l=\"x\"} 1"));
        assert_false(check_line(&d, bad[i]));
    }
    eco_buf_free(&b);
    eco_telemetry_free(t);
}

/* ---- snapshot -------------------------------------------------------------------------- */

static void test_snapshot(void **state) {
    (void)state;
    eco_telemetry *t = golden_store();
    char *text;
    size_t len;
    ECO_ASSERT_OK(eco_telemetry_snapshot_json(t, &text, &len));
    json_error_t err;
    json_t *root = json_loadb(text, len, 0, &err);
    assert_non_null(root);
    assert_int_equal(json_array_size(json_object_get(root, "bounds")), ECO_TELEMETRY_N_BOUNDS);
    json_t *series = json_object_get(root, "series");
    assert_int_equal(json_array_size(series), 2);
    /* Ordered bytewise: "bpe ..." before "tiny@1". */
    json_t *s = json_array_get(series, 1);
    assert_string_equal(json_string_value(json_object_get(s, "engine")), "tiny@1");
    assert_int_equal(json_integer_value(json_object_get(s, "requests")), 3);
    assert_int_equal(json_integer_value(json_object_get(s, "failures")), 1);
    assert_int_equal(json_integer_value(json_object_get(s, "low_confidence")), 1);
    assert_int_equal(json_integer_value(json_object_get(s, "tokens")), 24);
    assert_true(fabs(json_real_value(json_object_get(s, "tokens_per_s")) - 24 / 1.3) < 1e-9);
    assert_true(json_real_value(json_object_get(s, "exact_p50")) == 0.05);
    assert_true(json_is_true(json_object_get(s, "exact")));
    json_t *buckets = json_object_get(s, "buckets");
    assert_int_equal(json_array_size(buckets), ECO_TELEMETRY_N_BUCKETS);
    assert_int_equal(json_integer_value(json_array_get(buckets, ECO_TELEMETRY_N_BOUNDS)), 3);
    json_t *hard = json_object_get(root, "hard_examples");
    assert_int_equal(json_integer_value(json_object_get(hard, "count")), 0); /* no prompts */
    json_decref(root);
    free(text);
    eco_telemetry_free(t);
    /* Reservoir off: the exact figures are null; written to a file. */
    t = make_store(0, 0, 0);
    eco_telemetry_event ev = ev_make("e", "c", 0.2);
    ECO_ASSERT_OK(eco_telemetry_record(t, &ev));
    char *dir = eco_test_tmpdir();
    char *path = eco_path_join(dir, "telemetry.json");
    ECO_ASSERT_OK(eco_telemetry_write_snapshot(t, path));
    root = json_load_file(path, 0, &err);
    assert_non_null(root);
    s = json_array_get(json_object_get(root, "series"), 0);
    assert_true(json_is_null(json_object_get(s, "exact_p50")));
    assert_true(json_is_real(json_object_get(s, "p50")));
    json_decref(root);
    free(path);
    eco_test_rmtree(dir);
    free(dir);
    eco_telemetry_free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_quantile_hand),
        cmocka_unit_test(test_quantile_error_bound),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_reservoir),
        cmocka_unit_test(test_hard_examples),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_prometheus_golden),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_prometheus_grammar),
        cmocka_unit_test(test_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
