/*
 * The Pareto archive (include/ecology/pareto.h): non-dominated ranks and crowding
 * distances on hand-made fronts (each number worked in the comments), a randomised check of
 * the ranks against a brute-force peeling of the dominance relation, the archive's insert
 * (dominated refused with who dominates, dominated members removed, the most crowded
 * dropped over capacity, ties by id, duplicates refused, NaN/inf refused), its queries
 * (best for a profile, none, tournament determinism, scalar fitness), and JSON both ways
 * with a table of malformed inputs, each naming its field. Ranks and crowding are also
 * compared with an independent numpy reference (tests/fixtures/pareto/reference.json,
 * scripts/make_pareto_fixture.py: a dominance matrix peeled front by front; ranks exact,
 * crowding within 1e-12, the largest difference printed).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "test_util.h"

#include "ecology/evaluator.h"
#include "ecology/pareto.h"

#define TOL 1e-12

static void near(double got, double want, const char *what) {
    if (!(fabs(got - want) <= TOL)) {
        print_error("%s: got %.17g, want %.17g (tolerance %g)\n", what, got, want, TOL);
        fail();
    }
}

/* quality (max), p95 ms (min): the two-objective set of most tests. */
static const eco_pareto_objective QL[2] = {{"quality", ECO_PARETO_DIR_MAX},
                                           {"p95_ms", ECO_PARETO_DIR_MIN}};

/* The front used throughout, [5, 2] (quality, p95 ms): quality falls as latency falls, so
 * no point dominates another.
 *   A (0.9, 100)  B (0.8, 60)  C (0.7, 50)  D (0.5, 20)  E (0.4, 10) */
static const double FRONT[5][2] = {{0.9, 100}, {0.8, 60}, {0.7, 50}, {0.5, 20}, {0.4, 10}};
static const char *const FRONT_IDS[5] = {"a", "b", "c", "d", "e"};

/* ---- dominance, ranks, crowding ----------------------------------------------------- */

static void test_dominates(void **state) {
    (void)state;
    double a[2] = {0.8, 60}, b[2] = {0.6, 70}, c[2] = {0.8, 60}, d[2] = {0.8, 50};
    assert_true(eco_pareto_dominates(QL, 2, a, b)); /* better in both */
    assert_false(eco_pareto_dominates(QL, 2, b, a));
    assert_false(eco_pareto_dominates(QL, 2, a, c)); /* equal vectors: neither */
    assert_true(eco_pareto_dominates(QL, 2, d, a));  /* equal quality, lower latency */
    assert_false(eco_pareto_dominates(QL, 2, FRONT[0], FRONT[1])); /* a trade-off */
    assert_false(eco_pareto_dominates(QL, 2, FRONT[1], FRONT[0]));
}

/* Minimise both: P0 (1,5) P1 (2,3) P2 (4,1) P3 (3,4) P4 (5,5) P5 (2,6).
 * Dominated by: P0, P1, P2 none → rank 0; P3 by P1 (2<=3, 3<=4) → rank 1; P5 by P0
 * (1<=2, 5<=6) and P1 (2<=2, 3<6) → rank 1; P4 by P1, P2, P3 → rank 2 (P3 is rank 1).
 * Crowding, front 0 {P0, P1, P2}: x sorted 1,2,4 (range 3) gives P1 (4-1)/3 = 1; y sorted
 * 1,3,5 (range 4) gives P1 (5-1)/4 = 1: P1 = 2, P0 and P2 infinite (boundaries). Front 1
 * {P3, P5} and front 2 {P4}: all infinite (one or two points). */
static void test_rank_crowding_small(void **state) {
    (void)state;
    static const eco_pareto_objective MM[2] = {{"x", ECO_PARETO_DIR_MIN},
                                               {"y", ECO_PARETO_DIR_MIN}};
    double v[6][2] = {{1, 5}, {2, 3}, {4, 1}, {3, 4}, {5, 5}, {2, 6}};
    size_t rank[6];
    double dist[6];
    ECO_ASSERT_OK(eco_pareto_rank(MM, 2, &v[0][0], 6, rank));
    size_t want[6] = {0, 0, 0, 1, 2, 1};
    for (int i = 0; i < 6; i++) assert_int_equal(rank[i], want[i]);
    ECO_ASSERT_OK(eco_pareto_crowding(2, &v[0][0], 6, rank, dist));
    near(dist[1], 2.0, "P1 crowding");
    for (int i = 0; i < 6; i++)
        if (i != 1) assert_true(isinf(dist[i]) && dist[i] > 0);
}

/* FRONT with two dominated points added: F (0.6, 70) dominated by B (0.8 >= 0.6, 60 <= 70)
 * and C → rank 1; G (0.3, 80) dominated by F → rank 2.
 * Crowding of front 0: quality sorted E .4, D .5, C .7, B .8, A .9 (range 0.5):
 *   D (0.7-0.4)/0.5 = 0.6, C (0.8-0.5)/0.5 = 0.6, B (0.9-0.7)/0.5 = 0.4;
 * p95 sorted E 10, D 20, C 50, B 60, A 100 (range 90):
 *   D (50-10)/90 = 4/9, C (60-20)/90 = 4/9, B (100-50)/90 = 5/9;
 * so D = C = 0.6 + 4/9 = 1.0444..., B = 0.4 + 5/9 = 0.9555..., A and E infinite.
 * A third objective equal for every point (memory 100) has range 0 and adds nothing. */
static void test_rank_crowding_front(void **state) {
    (void)state;
    static const eco_pareto_objective QLM[3] = {{"quality", ECO_PARETO_DIR_MAX},
                                                {"p95_ms", ECO_PARETO_DIR_MIN},
                                                {"memory_bytes", ECO_PARETO_DIR_MIN}};
    double v[7][3];
    for (int i = 0; i < 5; i++) v[i][0] = FRONT[i][0], v[i][1] = FRONT[i][1], v[i][2] = 100;
    v[5][0] = 0.6, v[5][1] = 70, v[5][2] = 100; /* F */
    v[6][0] = 0.3, v[6][1] = 80, v[6][2] = 100; /* G */
    size_t rank[7];
    double dist[7];
    ECO_ASSERT_OK(eco_pareto_rank(QLM, 3, &v[0][0], 7, rank));
    size_t want[7] = {0, 0, 0, 0, 0, 1, 2};
    for (int i = 0; i < 7; i++) assert_int_equal(rank[i], want[i]);
    ECO_ASSERT_OK(eco_pareto_crowding(3, &v[0][0], 7, rank, dist));
    assert_true(isinf(dist[0]) && isinf(dist[4]) && isinf(dist[5]) && isinf(dist[6]));
    near(dist[1], 0.4 + 5.0 / 9, "B crowding");
    near(dist[2], 0.6 + 4.0 / 9, "C crowding");
    near(dist[3], 0.6 + 4.0 / 9, "D crowding");
    /* A whole front with one value (all equal): boundaries infinite, interior 0. */
    double flat[3][2] = {{1, 1}, {1, 1}, {1, 1}};
    size_t r3[3];
    double d3[3];
    ECO_ASSERT_OK(eco_pareto_rank(QL, 2, &flat[0][0], 3, r3));
    assert_true(r3[0] == 0 && r3[1] == 0 && r3[2] == 0);
    ECO_ASSERT_OK(eco_pareto_crowding(2, &flat[0][0], 3, r3, d3));
    assert_true(isinf(d3[0]) && d3[1] == 0 && isinf(d3[2]));
}

/* Finite values whose range overflows a double: (−1e308, −1e308), (0, 0), (1e308, 1e308)
 * with quality max and p95 min are a front of three; the middle point's crowding is
 * (1e308 − (−1e308)) / 2e308 = 1 per objective, 2 in all, computed on halves (no inf, no
 * NaN); its scalar fitness with weights (1, 1) is 0.5 + 0.5 = 1. */
static void test_huge_ranges(void **state) {
    (void)state;
    double v[3][2] = {{-1e308, -1e308}, {0, 0}, {1e308, 1e308}};
    size_t rank[3];
    double dist[3];
    ECO_ASSERT_OK(eco_pareto_rank(QL, 2, &v[0][0], 3, rank));
    assert_true(rank[0] == 0 && rank[1] == 0 && rank[2] == 0);
    ECO_ASSERT_OK(eco_pareto_crowding(2, &v[0][0], 3, rank, dist));
    near(dist[1], 2.0, "middle crowding");
    eco_pareto *a = NULL;
    ECO_ASSERT_OK(eco_pareto_create(QL, 2, 3, &a));
    ECO_ASSERT_OK(eco_pareto_insert(a, "a", v[0], NULL));
    ECO_ASSERT_OK(eco_pareto_insert(a, "b", v[1], NULL));
    ECO_ASSERT_OK(eco_pareto_insert(a, "c", v[2], NULL));
    double w[2] = {1, 1}, s;
    ECO_ASSERT_OK(eco_pareto_scalar(a, w, 1, &s));
    near(s, 1.0, "middle scalar");
    eco_pareto_free(a);
}

static void test_rank_refuses_nonfinite(void **state) {
    (void)state;
    double v[2][2] = {{0.5, 10}, {NAN, 20}};
    size_t rank[2];
    double dist[2] = {0, 0};
    ECO_ASSERT_STATUS(eco_pareto_rank(QL, 2, &v[0][0], 2, rank), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "point 1 objective 0"));
    v[1][0] = INFINITY;
    ECO_ASSERT_STATUS(eco_pareto_crowding(2, &v[0][0], 2, rank, dist), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_pareto_rank(QL, 0, &v[0][0], 2, rank), ECO_STATUS_EINVAL);
    ECO_ASSERT_OK(eco_pareto_rank(QL, 2, NULL, 0, NULL)); /* nothing to sort */
}

/* Brute force: peel off the points no remaining point dominates (an O(n²) dominance count
 * per front). */
static void brute_ranks(const eco_pareto_objective *obj, size_t m, const double *v, size_t n,
                        size_t *rank) {
    bool *left = calloc(n, sizeof *left), *now = calloc(n, sizeof *now);
    assert_non_null(left);
    assert_non_null(now);
    for (size_t i = 0; i < n; i++) left[i] = true;
    size_t remaining = n;
    for (size_t r = 0; remaining > 0; r++) {
        for (size_t p = 0; p < n; p++) {
            now[p] = false;
            if (!left[p]) continue;
            size_t dominated_by = 0;
            for (size_t q = 0; q < n; q++)
                if (left[q] && eco_pareto_dominates(obj, m, v + q * m, v + p * m)) dominated_by++;
            now[p] = dominated_by == 0;
        }
        for (size_t p = 0; p < n; p++)
            if (now[p]) left[p] = false, rank[p] = r, remaining--;
    }
    free(left);
    free(now);
}

/* 200 random sets (n up to 80, m 1..5, values in 0..5 so ties are common, random
 * directions): the fast sort's ranks equal the brute force's; every front's boundaries
 * are infinite; and an archive of ample capacity fed the same points holds exactly the
 * rank-0 points, none dominating another. */
static void test_random_vs_brute_force(void **state) {
    (void)state;
    eco_rng rng;
    eco_rng_seed(&rng, 20261207);
    enum { NMAX = 80 };
    double *v = malloc(NMAX * 5 * sizeof *v); /* [n, m] */
    size_t rank[NMAX], want[NMAX];
    double dist[NMAX];
    size_t checked = 0;
    for (int trial = 0; trial < 200; trial++) {
        size_t n = 1 + eco_rng_next(&rng) % NMAX, m = 1 + eco_rng_next(&rng) % 5;
        eco_pareto_objective obj[5];
        static const char *const names[5] = {"o0", "o1", "o2", "o3", "o4"};
        for (size_t j = 0; j < m; j++)
            obj[j] = (eco_pareto_objective){names[j], (eco_pareto_dir)(eco_rng_next(&rng) % 2)};
        for (size_t i = 0; i < n * m; i++) v[i] = (double)(eco_rng_next(&rng) % 6);
        ECO_ASSERT_OK(eco_pareto_rank(obj, m, v, n, rank));
        brute_ranks(obj, m, v, n, want);
        for (size_t i = 0; i < n; i++) {
            if (rank[i] != want[i]) {
                print_error("trial %d point %zu: rank %zu, brute force %zu\n", trial, i, rank[i],
                            want[i]);
                fail();
            }
            checked++;
        }
        ECO_ASSERT_OK(eco_pareto_crowding(m, v, n, rank, dist));
        for (size_t i = 0; i < n; i++) assert_true(dist[i] >= 0);
        eco_pareto *a = NULL;
        ECO_ASSERT_OK(eco_pareto_create(obj, m, NMAX, &a));
        for (size_t i = 0; i < n; i++) {
            char id[32];
            snprintf(id, sizeof id, "p%03zu", i);
            eco_pareto_insert_info info;
            ECO_ASSERT_OK(eco_pareto_insert(a, id, v + i * m, &info));
            assert_int_not_equal(info.outcome, ECO_PARETO_OUTCOME_CROWDED);
        }
        size_t n0 = 0;
        for (size_t i = 0; i < n; i++) {
            char id[32];
            size_t at;
            snprintf(id, sizeof id, "p%03zu", i);
            bool in = eco_pareto_find(a, id, &at) == ECO_STATUS_OK;
            assert_true(in == (want[i] == 0));
            n0 += want[i] == 0;
        }
        assert_int_equal(eco_pareto_count(a), n0);
        for (size_t i = 0; i < n0; i++)
            for (size_t k = 0; k < n0; k++)
                assert_false(
                    eco_pareto_dominates(obj, m, eco_pareto_values(a, i), eco_pareto_values(a, k)));
        eco_pareto_free(a);
    }
    print_message("ranks of %zu points equal the brute force's\n", checked);
    free(v);
}

/* Against numpy (scripts/make_pareto_fixture.py): ranks exactly, crowding within TOL. */
static void test_numpy_reference(void **state) {
    (void)state;
    char *path = eco_test_source_path("tests/fixtures/pareto/reference.json");
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j) print_error("%s: %s\n", path, err.text);
    assert_non_null(j);
    free(path);
    const json_t *sets = json_object_get(j, "sets");
    assert_true(json_array_size(sets) >= 8);
    double worst = 0;
    size_t points = 0;
    for (size_t s = 0; s < json_array_size(sets); s++) {
        const json_t *set = json_array_get(sets, s);
        const json_t *dirs = json_object_get(set, "dirs"), *vals = json_object_get(set, "values");
        size_t m = json_array_size(dirs), n = json_array_size(vals);
        assert_true(m >= 1 && m <= ECO_PARETO_MAX_OBJECTIVES && n >= 1);
        eco_pareto_objective obj[ECO_PARETO_MAX_OBJECTIVES];
        for (size_t k = 0; k < m; k++)
            obj[k] = (eco_pareto_objective){
                "o", strcmp(json_string_value(json_array_get(dirs, k)), "max") == 0
                         ? ECO_PARETO_DIR_MAX
                         : ECO_PARETO_DIR_MIN};
        double *v = malloc(n * m * sizeof *v), *dist = malloc(n * sizeof *dist); /* [n, m], [n] */
        size_t *rank = malloc(n * sizeof *rank);                                 /* [n] */
        assert_true(v && dist && rank);
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < m; k++)
                v[i * m + k] = json_number_value(json_array_get(json_array_get(vals, i), k));
        ECO_ASSERT_OK(eco_pareto_rank(obj, m, v, n, rank));
        ECO_ASSERT_OK(eco_pareto_crowding(m, v, n, rank, dist));
        for (size_t i = 0; i < n; i++) {
            json_int_t want_rank =
                json_integer_value(json_array_get(json_object_get(set, "rank"), i));
            const json_t *wd = json_array_get(json_object_get(set, "crowding"), i);
            if ((json_int_t)rank[i] != want_rank) {
                print_error("set %zu point %zu: rank %zu, numpy %lld\n", s, i, rank[i],
                            (long long)want_rank);
                fail();
            }
            if (json_is_null(wd)) {
                if (!isinf(dist[i])) {
                    print_error("set %zu point %zu: crowding %.17g, numpy inf\n", s, i, dist[i]);
                    fail();
                }
            } else {
                double d = fabs(dist[i] - json_number_value(wd));
                if (!(d <= TOL)) {
                    print_error("set %zu point %zu: crowding %.17g, numpy %.17g\n", s, i, dist[i],
                                json_number_value(wd));
                    fail();
                }
                if (d > worst) worst = d;
            }
            points++;
        }
        free(v), free(dist), free(rank);
    }
    print_message("numpy reference: %zu points, largest crowding difference %.3g\n", points, worst);
    json_decref(j);
}

/* ---- the archive ---------------------------------------------------------------------- */

/* Inserts id with values v and checks the outcome and the id it names (info.by for
 * DOMINATED, info.dropped otherwise; "" when none). */
static void expect_insert(eco_pareto *a, const char *id, const double *v, eco_pareto_outcome want,
                          const char *named) {
    eco_pareto_insert_info info;
    ECO_ASSERT_OK(eco_pareto_insert(a, id, v, &info));
    assert_int_equal(info.outcome, want);
    assert_string_equal(want == ECO_PARETO_OUTCOME_DOMINATED ? info.by : info.dropped, named);
}

static eco_pareto *front_archive(size_t capacity, const char *which) {
    eco_pareto *a = NULL;
    ECO_ASSERT_OK(eco_pareto_create(QL, 2, capacity, &a));
    for (const char *c = which; *c; c++) {
        int i = *c - 'a';
        eco_pareto_insert_info info;
        ECO_ASSERT_OK(eco_pareto_insert(a, FRONT_IDS[i], FRONT[i], &info));
    }
    return a;
}

static void test_insert(void **state) {
    (void)state;
    eco_pareto *a = front_archive(3, "abc");
    assert_int_equal(eco_pareto_count(a), 3);
    eco_pareto_insert_info info;
    /* F (0.6, 70): B is the first member in id order that dominates it (A's 100 ms does not). */
    double f[2] = {0.6, 70};
    expect_insert(a, "f", f, ECO_PARETO_OUTCOME_DOMINATED, "b");
    assert_int_equal(eco_pareto_count(a), 3);
    /* D over capacity 3: crowding of {A, B, C, D}: quality D .5, C .7, B .8, A .9 (range
     * 0.4): C (0.8-0.5)/0.4 = 0.75, B (0.9-0.7)/0.4 = 0.5; p95 D 20, C 50, B 60, A 100
     * (range 80): C (60-20)/80 = 0.5, B (100-50)/80 = 0.625; C = 1.25, B = 1.125: B goes. */
    expect_insert(a, "d", FRONT[3], ECO_PARETO_OUTCOME_ADDED, "b");
    assert_int_equal(eco_pareto_count(a), 3);
    assert_string_equal(eco_pareto_id(a, 0), "a");
    assert_string_equal(eco_pareto_id(a, 1), "c");
    assert_string_equal(eco_pareto_id(a, 2), "d");
    /* Duplicates are refused, not replaced; NaN and inf refused; nothing changes. */
    ECO_ASSERT_STATUS(eco_pareto_insert(a, "c", FRONT[0], &info), ECO_STATUS_EEXIST);
    assert_non_null(strstr(eco_last_error(), "'c' is already in the archive"));
    double bad[2] = {NAN, 1};
    ECO_ASSERT_STATUS(eco_pareto_insert(a, "n", bad, &info), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "quality is nan"));
    bad[0] = 0.5, bad[1] = -INFINITY;
    ECO_ASSERT_STATUS(eco_pareto_insert(a, "n", bad, &info), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "p95_ms is -inf"));
    ECO_ASSERT_STATUS(eco_pareto_insert(a, "", FRONT[0], &info), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_pareto_insert(a, "x\ny", FRONT[0], &info), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_pareto_insert(a, "x\xff", FRONT[0], &info), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "not valid UTF-8"));
    assert_int_equal(eco_pareto_count(a), 3);
    /* X (0.95, 15) dominates all three: they go, X stays alone. */
    double x[2] = {0.95, 15};
    ECO_ASSERT_OK(eco_pareto_insert(a, "x", x, &info));
    assert_int_equal(info.outcome, ECO_PARETO_OUTCOME_ADDED);
    assert_int_equal(info.n_removed, 3);
    assert_int_equal(eco_pareto_count(a), 1);
    ECO_ASSERT_OK(eco_pareto_remove(a, "x"));
    ECO_ASSERT_STATUS(eco_pareto_remove(a, "x"), ECO_STATUS_ENOTFOUND);
    assert_int_equal(eco_pareto_count(a), 0);
    eco_pareto_free(a);
}

static void test_insert_crowded_and_ties(void **state) {
    (void)state;
    /* {A, C, E} then Y (0.6, 40), non-dominated. Crowding of {E, Y, C, A}: quality E .4,
     * Y .6, C .7, A .9 (range 0.5): Y (0.7-0.4)/0.5 = 0.6, C (0.9-0.6)/0.5 = 0.6; p95 E 10,
     * Y 40, C 50, A 100 (range 90): Y (50-10)/90 = 4/9, C (100-40)/90 = 2/3; Y = 1.044 <
     * C = 1.267: the candidate itself goes (CROWDED). */
    eco_pareto *a = front_archive(3, "ace");
    double y[2] = {0.6, 40};
    expect_insert(a, "y", y, ECO_PARETO_OUTCOME_CROWDED, "y");
    assert_int_equal(eco_pareto_count(a), 3);
    size_t at;
    ECO_ASSERT_STATUS(eco_pareto_find(a, "y", &at), ECO_STATUS_ENOTFOUND);
    eco_pareto_free(a);
    /* Capacity 1: two members are both boundaries (infinite): the id that sorts last goes. */
    a = front_archive(1, "a");
    expect_insert(a, "e", FRONT[4], ECO_PARETO_OUTCOME_CROWDED, "e");
    expect_insert(a, "0", FRONT[4], ECO_PARETO_OUTCOME_ADDED, "a"); /* "0" < "a" */
    assert_string_equal(eco_pareto_id(a, 0), "0");
    eco_pareto_free(a);
    /* Equal vectors under different ids are both kept. */
    a = front_archive(4, "b");
    expect_insert(a, "b2", FRONT[1], ECO_PARETO_OUTCOME_ADDED, "");
    assert_int_equal(eco_pareto_count(a), 2);
    eco_pareto_free(a);
}

static void test_create_refusals(void **state) {
    (void)state;
    eco_pareto *a = NULL;
    ECO_ASSERT_STATUS(eco_pareto_create(QL, 2, 0, &a), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_pareto_create(QL, 0, 4, &a), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_pareto_create(QL, 9, 4, &a), ECO_STATUS_EINVAL);
    eco_pareto_objective dup[2] = {{"q", ECO_PARETO_DIR_MAX}, {"q", ECO_PARETO_DIR_MIN}};
    ECO_ASSERT_STATUS(eco_pareto_create(dup, 2, 4, &a), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "'q' twice"));
    eco_pareto_objective upper[1] = {{"Quality", ECO_PARETO_DIR_MAX}};
    ECO_ASSERT_STATUS(eco_pareto_create(upper, 1, 4, &a), ECO_STATUS_EINVAL);
    assert_null(a);
    ECO_ASSERT_OK(eco_pareto_create(eco_pareto_default_objectives, ECO_PARETO_OBJ__COUNT, 4, &a));
    size_t j;
    ECO_ASSERT_OK(eco_pareto_objective_index(a, "p95_ms", &j));
    assert_int_equal(j, ECO_PARETO_OBJ_P95_MS);
    assert_int_equal(eco_pareto_objective_at(a, j).dir, ECO_PARETO_DIR_MIN);
    eco_pareto_free(a);
}

/* The evaluator's objective vector (all "higher is better") onto the default set. */
static void test_from_fitness(void **state) {
    (void)state;
    eco_fitness f = {0};
    f.objectives[0] = 0.8;   /* quality */
    f.objectives[1] = 0.875; /* 1 − ECE */
    f.objectives[2] = 0.5;   /* robustness */
    f.objectives[3] = 0.1;   /* coverage: not in the default set */
    f.objectives[4] = -0.25; /* −p95 s */
    f.objectives[5] = -1.5;  /* −GiB */
    double v[ECO_PARETO_OBJ__COUNT];
    ECO_ASSERT_OK(eco_pareto_values_from_fitness(&f, v));
    near(v[ECO_PARETO_OBJ_QUALITY], 0.8, "quality");
    near(v[ECO_PARETO_OBJ_ROBUSTNESS], 0.5, "robustness");
    near(v[ECO_PARETO_OBJ_CALIBRATION_ERROR], 0.125, "calibration error");
    near(v[ECO_PARETO_OBJ_P95_MS], 250, "p95 ms");
    near(v[ECO_PARETO_OBJ_MEMORY_BYTES], 1610612736.0, "memory bytes (1.5 GiB)");
    f.objectives[4] = NAN;
    ECO_ASSERT_STATUS(eco_pareto_values_from_fitness(&f, v), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "p95_ms"));
}

/* ---- queries -------------------------------------------------------------------------- */

static void test_best(void **state) {
    (void)state;
    eco_pareto *a = front_archive(10, "abcde");
    size_t i;
    /* Highest quality with p95 <= 55 ms: A (100) and B (60) are out, C (0.7) is best. */
    eco_pareto_bound b1[1] = {{1, 55}};
    ECO_ASSERT_OK(eco_pareto_best(a, 0, b1, 1, &i));
    assert_string_equal(eco_pareto_id(a, i), "c");
    /* No bound: A. Lowest latency with quality >= 0.75: B (60 ms). */
    ECO_ASSERT_OK(eco_pareto_best(a, 0, NULL, 0, &i));
    assert_string_equal(eco_pareto_id(a, i), "a");
    eco_pareto_bound b2[1] = {{0, 0.75}};
    ECO_ASSERT_OK(eco_pareto_best(a, 1, b2, 1, &i));
    assert_string_equal(eco_pareto_id(a, i), "b");
    /* Nothing under 5 ms: none, saying so. */
    eco_pareto_bound b3[2] = {{1, 5}, {0, 0.1}};
    ECO_ASSERT_STATUS(eco_pareto_best(a, 0, b3, 2, &i), ECO_STATUS_ENOTFOUND);
    assert_non_null(
        strstr(eco_last_error(), "none of the 5 members has p95_ms <= 5, quality >= 0.1"));
    /* A tie in the objective: the smaller id. */
    eco_pareto_insert_info info;
    ECO_ASSERT_OK(eco_pareto_insert(a, "0c", FRONT[2], &info));
    ECO_ASSERT_OK(eco_pareto_best(a, 0, b1, 1, &i));
    assert_string_equal(eco_pareto_id(a, i), "0c");
    eco_pareto_bound bad[1] = {{2, 1}};
    ECO_ASSERT_STATUS(eco_pareto_best(a, 0, bad, 1, &i), ECO_STATUS_EINVAL);
    bad[0] = (eco_pareto_bound){0, NAN};
    ECO_ASSERT_STATUS(eco_pareto_best(a, 0, bad, 1, &i), ECO_STATUS_EINVAL);
    eco_pareto_free(a);
    /* An empty archive has no best. */
    ECO_ASSERT_OK(eco_pareto_create(QL, 2, 4, &a));
    ECO_ASSERT_STATUS(eco_pareto_best(a, 0, NULL, 0, &i), ECO_STATUS_ENOTFOUND);
    assert_non_null(strstr(eco_last_error(), "none (the archive is empty)"));
    eco_pareto_free(a);
}

static void test_tournament(void **state) {
    (void)state;
    /* Rank first, then crowding: point 2 (rank 0, crowding 2) beats point 1 (rank 0,
     * crowding 1) and point 0 (rank 1, infinite); with 200 draws from 3 points every point
     * is drawn, so the winner is 2. With k = 1 the winner is the draw itself. */
    size_t rank[3] = {1, 0, 0};
    double dist[3] = {INFINITY, 1, 2};
    eco_rng r;
    eco_rng_seed(&r, 7);
    size_t w;
    ECO_ASSERT_OK(eco_pareto_tournament(rank, dist, 3, 200, &r, &w));
    assert_int_equal(w, 2);
    ECO_ASSERT_STATUS(eco_pareto_tournament(rank, dist, 0, 2, &r, &w), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_pareto_tournament(rank, dist, 3, 0, &r, &w), ECO_STATUS_EINVAL);
    /* The archive: same seed, same parents; winners of large tournaments are boundaries. */
    eco_pareto *a = front_archive(10, "abcde");
    size_t s1[32], s2[32];
    eco_rng r1, r2;
    eco_rng_seed(&r1, 42);
    eco_rng_seed(&r2, 42);
    for (int t = 0; t < 32; t++) {
        ECO_ASSERT_OK(eco_pareto_select(a, &r1, 2, &s1[t]));
        ECO_ASSERT_OK(eco_pareto_select(a, &r2, 2, &s2[t]));
        assert_int_equal(s1[t], s2[t]);
        assert_true(s1[t] < 5);
    }
    double d[5];
    ECO_ASSERT_OK(eco_pareto_member_crowding(a, d));
    ECO_ASSERT_OK(eco_pareto_select(a, &r1, 64, &w));
    assert_true(isinf(d[w]));
    eco_pareto_free(a);
}

/* Weights quality 1, p95 1 over FRONT: quality range [0.4, 0.9], p95 range [10, 100].
 * C: (0.7-0.4)/0.5 = 0.6 plus (100-50)/90 = 5/9, so 0.6 + 5/9. A: 1 + 0 = 1. */
static void test_scalar(void **state) {
    (void)state;
    eco_pareto *a = front_archive(10, "abcde");
    double w[2] = {1, 1}, s;
    ECO_ASSERT_OK(eco_pareto_scalar(a, w, 2, &s));
    near(s, 0.6 + 5.0 / 9, "C scalar");
    ECO_ASSERT_OK(eco_pareto_scalar(a, w, 0, &s));
    near(s, 1.0, "A scalar");
    w[1] = -1;
    ECO_ASSERT_STATUS(eco_pareto_scalar(a, w, 0, &s), ECO_STATUS_EINVAL);
    eco_pareto_free(a);
}

/* ---- JSON ------------------------------------------------------------------------------- */

static void test_json_round_trip(void **state) {
    (void)state;
    eco_pareto *a = front_archive(3, "bd");
    char *text = NULL;
    size_t len;
    ECO_ASSERT_OK(eco_pareto_to_json(a, &text, &len));
    const char *want =
        "{\"capacity\":3,\"members\":[{\"id\":\"b\",\"values\":{\"p95_ms\":60.0,\"quality\":0."
        "80000000000000004}},"
        "{\"id\":\"d\",\"values\":{\"p95_ms\":20.0,\"quality\":0.5}}],\"objectives\":[{"
        "\"direction\":"
        "\"max\",\"name\":\"quality\"},{\"direction\":\"min\",\"name\":\"p95_ms\"}],\"version\":1}";
    assert_string_equal(text, want);
    assert_int_equal(len, strlen(want));
    eco_pareto *b = NULL;
    ECO_ASSERT_OK(eco_pareto_from_json(text, len, "archive.json", &b));
    char *again = NULL;
    ECO_ASSERT_OK(eco_pareto_to_json(b, &again, NULL));
    assert_string_equal(text, again);
    assert_int_equal(eco_pareto_count(b), 2);
    assert_true(eco_pareto_values(b, 0)[0] == 0.8);
    free(text);
    free(again);
    eco_pareto_free(a);
    eco_pareto_free(b);
}

/* Malformed archives: each refused, the message naming the field. */
static void test_json_malformed(void **state) {
    (void)state;
#define OBJ                                                                                        \
    "\"objectives\":[{\"direction\":\"max\",\"name\":\"q\"},{\"direction\":\"min\",\"name\":"      \
    "\"l\"}]"
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"", "invalid JSON"},
        {"[]", "expected an object"},
        {"{\"capacity\":2,\"members\":[]," OBJ ",\"version\":1,\"version\":1}", "duplicate"},
        {"{\"capacity\":2,\"members\":[]," OBJ "}", "version: missing"},
        {"{\"capacity\":2,\"members\":[]," OBJ ",\"version\":2}", "version: 2 outside [1, 1]"},
        {"{\"capacity\":2,\"members\":[]," OBJ ",\"version\":1,\"x\":0}", "unknown field 'x'"},
        {"{\"capacity\":0,\"members\":[]," OBJ ",\"version\":1}", "capacity: 0 outside"},
        {"{\"capacity\":2.5,\"members\":[]," OBJ ",\"version\":1}",
         "capacity: expected an integer"},
        {"{\"capacity\":2,\"members\":[],\"objectives\":[],\"version\":1}",
         "objectives: 0 entries"},
        {"{\"capacity\":2,\"members\":[],\"objectives\":[{\"direction\":\"up\",\"name\":\"q\"}],"
         "\"version\":1}",
         "objectives[0].direction: expected \"max\" or \"min\""},
        {"{\"capacity\":2,\"members\":[],\"objectives\":[{\"direction\":\"max\",\"name\":\"Q\"}],"
         "\"version\":1}",
         "objectives[0].name: expected [a-z0-9_]"},
        {"{\"capacity\":2,\"members\":[],\"objectives\":[{\"direction\":\"max\",\"name\":\"q\"},"
         "{\"direction\":\"min\",\"name\":\"q\"}],\"version\":1}",
         "objectives[1].name: 'q' named twice"},
        {"{\"capacity\":2,\"members\":[],\"objectives\":[{\"name\":\"q\"}],\"version\":1}",
         "objectives[0].direction: missing"},
        {"{\"capacity\":1,\"members\":[{\"id\":\"a\",\"values\":{\"q\":1,\"l\":1}},{\"id\":\"b\","
         "\"values\":{\"q\":2,\"l\":0}}]," OBJ ",\"version\":1}",
         "members: 2 members, more than capacity 1"},
        {"{\"capacity\":2,\"members\":[{\"id\":\"\",\"values\":{\"q\":1,\"l\":1}}]," OBJ
         ",\"version\":1}",
         "members[0].id: expected 1..128 bytes"},
        {"{\"capacity\":2,\"members\":[{\"id\":7,\"values\":{\"q\":1,\"l\":1}}]," OBJ
         ",\"version\":1}",
         "members[0].id: expected a string"},
        {"{\"capacity\":2,\"members\":[{\"id\":\"a\\u0000b\",\"values\":{\"q\":1,\"l\":1}}]," OBJ
         ",\"version\":1}",
         "invalid JSON at line 1 column 41"}, /* jansson refuses a NUL without JSON_ALLOW_NUL */
        {"{\"capacity\":3,\"members\":[{\"id\":\"a\",\"values\":{\"q\":1,\"l\":2}},{\"id\":\"a\","
         "\"values\":{\"q\":2,\"l\":3}}]," OBJ ",\"version\":1}",
         "members[1].id: a second member with this id"},
        {"{\"capacity\":2,\"members\":[{\"id\":\"a\",\"values\":{\"q\":1}}]," OBJ ",\"version\":1}",
         "members[0].values.l: missing"},
        {"{\"capacity\":2,\"members\":[{\"id\":\"a\",\"values\":{\"q\":1,\"l\":1,\"m\":1}}]," OBJ
         ",\"version\":1}",
         "members[0].values: unknown field 'm'"},
        {"{\"capacity\":2,\"members\":[{\"id\":\"a\",\"values\":{\"q\":\"1\",\"l\":1}}]," OBJ
         ",\"version\":1}",
         "members[0].values.q: expected a number"},
        {"{\"capacity\":2,\"members\":[{\"id\":\"a\",\"values\":{\"q\":1e999,\"l\":1}}]," OBJ
         ",\"version\":1}",
         "invalid JSON"},
        {"{\"capacity\":2,\"members\":[{\"id\":\"a\",\"values\":[1,1]}]," OBJ ",\"version\":1}",
         "members[0].values: expected an object"},
        {"{\"capacity\":2,\"members\":[{\"id\":\"a\"}]," OBJ ",\"version\":1}",
         "members[0].values: missing"},
        {"{\"capacity\":3,\"members\":[{\"id\":\"a\",\"values\":{\"q\":1,\"l\":2}},{\"id\":\"b\","
         "\"values\":{\"q\":0.5,\"l\":3}}]," OBJ ",\"version\":1}",
         "members[1]: dominated by member 'a'"},
        {"{\"capacity\":3,\"members\":[{\"id\":\"b\",\"values\":{\"q\":0.5,\"l\":3}},{\"id\":\"a\","
         "\"values\":{\"q\":1,\"l\":2}}]," OBJ ",\"version\":1}",
         "members[1]: dominates 1 earlier member"},
        {"{\"capacity\":2,\"members\":{}," OBJ ",\"version\":1}", "members: expected an array"},
    };
#undef OBJ
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        eco_pareto *a = (eco_pareto *)1;
        eco_status st = eco_pareto_from_json(cases[c].text, strlen(cases[c].text), "t.json", &a);
        if (st != ECO_STATUS_EFORMAT || a != NULL || !strstr(eco_last_error(), cases[c].want) ||
            strncmp(eco_last_error(), "t.json: ", 8) != 0) {
            print_error("case %zu: status %s, message '%s', want EFORMAT and '%s'\n", c,
                        eco_status_str(st), eco_last_error(), cases[c].want);
            fail();
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dominates),
        cmocka_unit_test(test_rank_crowding_small),
        cmocka_unit_test(test_rank_crowding_front),
        cmocka_unit_test(test_huge_ranges),
        cmocka_unit_test(test_rank_refuses_nonfinite),
        cmocka_unit_test(test_random_vs_brute_force),
        cmocka_unit_test(test_numpy_reference),
        cmocka_unit_test(test_insert),
        cmocka_unit_test(test_insert_crowded_and_ties),
        cmocka_unit_test(test_create_refusals),
        cmocka_unit_test(test_from_fitness),
        cmocka_unit_test(test_best),
        cmocka_unit_test(test_tournament),
        cmocka_unit_test(test_scalar),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_json_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
