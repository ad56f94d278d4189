/*
 * The server's admin operations, live report page and pool metrics (include/ecology/server.h)
 * in-process on loopback over a registry holding the shipped base and its reverse adapter:
 * load / list / unload through the pool (404 not resident, 409 while an engine is held),
 * canary status from the registry, the loop's pause file and its events, the scopes (401
 * without a key, 403 with an inference key) on every admin path, GET / (the report page
 * showing the champion, cached briefly, the key rule and report_public), /metrics with the
 * resident adapters per base and the queue depth; the loop's pause wait; the model body's
 * malformed-input table.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server_fixture.h"
#include "test_util.h"

#include "ecology/daemon.h"
#include "ecology/registry.h"
#include "ecology/runtime.h"
#include "ecology/server.h"

typedef eco_test_server fixture;

/* GET/POST with the admin key, status checked, the JSON body returned. */
static json_t *admin(const fixture *f, const char *method, const char *path, const char *body,
                     int want) {
    char *b = NULL;
    int st = eco_test_http(f->port, method, path, KEY_ADMIN, body, &b);
    if (st != want) print_error("%s %s: %d (want %d): %s\n", method, path, st, want, b);
    assert_int_equal(st, want);
    json_t *j = eco_test_parse(b);
    free(b);
    return j;
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    eco_test_server_prepare(f, "text.reverse@1.champion", "ops");
    eco_test_server_start(f, false);
    *state = f;
    return 0;
}

static void test_scopes(void **state) {
    fixture *f = *state;
    static const char *const paths[][2] = {
        {"GET", "/admin/models"},         {"POST", "/admin/models/load"},
        {"POST", "/admin/models/unload"}, {"GET", "/admin/canary"},
        {"GET", "/admin/loop"},           {"POST", "/admin/loop/pause"},
        {"POST", "/admin/loop/resume"},
    };
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        const char *body = !strcmp(paths[i][0], "POST") ? "{\"model\":\"reverse\"}" : NULL;
        assert_int_equal(eco_test_http(f->port, paths[i][0], paths[i][1], NULL, body, NULL), 401);
        assert_int_equal(
            eco_test_http(f->port, paths[i][0], paths[i][1], "sk-wrong-key-1", body, NULL), 401);
        assert_int_equal(eco_test_http(f->port, paths[i][0], paths[i][1], KEY_INF, body, NULL),
                         403);
        /* the wrong method */
        const char *other = !strcmp(paths[i][0], "POST") ? "GET" : "POST";
        assert_int_equal(eco_test_http(f->port, other, paths[i][1], KEY_ADMIN, NULL, NULL), 405);
    }
    /* nothing was paused by the refused calls */
    bool paused = true;
    ECO_ASSERT_OK(eco_loop_pause_get(f->data, &paused, NULL));
    assert_false(paused);
}

static json_t *find_model(json_t *list, const char *id) {
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(list, "models"), i, e) {
        if (!strcmp(json_string_value(json_object_get(e, "id")), id)) return e;
    }
    return NULL;
}

static void test_load_unload(void **state) {
    fixture *f = *state;
    json_t *j = admin(f, "GET", "/admin/models", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "models")), 0);
    json_decref(j);
    j = admin(f, "POST", "/admin/models/load", "{\"model\":\"text.reverse@1.champion\"}", 200);
    assert_string_equal(json_string_value(json_object_get(j, "model")), "reverse");
    json_decref(j);
    j = admin(f, "GET", "/admin/models", NULL, 200);
    json_t *b = find_model(j, "eco-tiny"), *ad = find_model(j, "reverse");
    assert_non_null(b);
    assert_non_null(ad);
    assert_int_equal(json_integer_value(json_object_get(b, "adapters_resident")), 1);
    assert_int_equal(json_integer_value(json_object_get(b, "queued")), 0);
    assert_string_equal(json_string_value(json_object_get(ad, "base")), "eco-tiny");
    assert_string_equal(json_string_value(json_object_get(ad, "kind")), "adapter");
    assert_true(json_integer_value(json_object_get(b, "bytes")) > 0);
    json_decref(j);

    /* metrics: the adapters per base and the queue */
    char *m = NULL;
    assert_int_equal(eco_test_http(f->port, "GET", "/metrics", KEY_INF, NULL, &m), 200);
    assert_non_null(strstr(m, "ecology_pool_base_resident_adapters{base=\"eco-tiny\"} 1\n"));
    assert_non_null(strstr(m, "ecology_pool_base_queue_depth{base=\"eco-tiny\"} 0\n"));
    assert_non_null(strstr(m, "# TYPE ecology_server_queue_depth gauge\n"));
    free(m);

    j = admin(f, "POST", "/admin/models/unload", "{\"model\":\"reverse\"}", 200);
    assert_int_equal(json_integer_value(json_object_get(j, "evicted")), 1);
    json_decref(j);
    j = admin(f, "POST", "/admin/models/unload", "{\"model\":\"reverse\"}", 404);
    assert_non_null(
        strstr(json_string_value(json_object_get(json_object_get(j, "error"), "message")),
               "not resident"));
    json_decref(j);
    j = admin(f, "POST", "/admin/models/unload", "{\"model\":\"eco-tiny\"}", 200);
    json_decref(j);
    j = admin(f, "GET", "/admin/models", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(j, "models")), 0);
    json_decref(j);
    j = admin(f, "POST", "/admin/models/load", "{\"model\":\"nope\"}", 404);
    json_decref(j);
    j = admin(f, "POST", "/admin/models/load", "{\"model\":1}", 400);
    json_decref(j);
    j = admin(f, "POST", "/admin/models/load", "{\"model\":\"a\",\"x\":1}", 400);
    json_decref(j);
}

/* ECONFLICT while held: through the pool functions directly (a request's engine is held only
 * while it generates). */
static void test_unload_in_use(void **state) {
    fixture *f = *state;
    eco_registry_options ro = {.data_dir = f->data};
    eco_registry *r = NULL;
    ECO_ASSERT_OK(eco_registry_open(&ro, &r));
    eco_pool *p = NULL;
    ECO_ASSERT_OK(eco_pool_create(r, NULL, &p));
    eco_engine *e = NULL;
    ECO_ASSERT_OK(eco_pool_acquire(p, "reverse", &e));
    size_t n = 9;
    assert_int_equal(eco_pool_unload(p, "eco-tiny", &n), ECO_STATUS_ECONFLICT);
    assert_non_null(strstr(eco_last_error(), "in use (1 engines held"));
    assert_int_equal(n, 0);
    eco_pool_release(p, e);
    ECO_ASSERT_OK(eco_pool_unload(p, "eco-tiny", &n));
    assert_int_equal(n, 2); /* the base and its adapter */
    eco_pool_stats ps;
    eco_pool_get_stats(p, &ps);
    assert_int_equal(ps.bases + ps.adapters_resident, 0);
    char *id = NULL;
    ECO_ASSERT_OK(eco_pool_load(p, "text.reverse@1.champion", &id));
    assert_string_equal(id, "reverse");
    free(id);
    eco_pool_destroy(p);
    eco_registry_close(r);
}

static void test_canary_and_loop(void **state) {
    fixture *f = *state;
    json_t *j = admin(f, "GET", "/admin/canary", NULL, 200);
    assert_true(json_is_array(json_object_get(j, "canaries")));
    json_decref(j);
    j = admin(f, "GET", "/admin/canary?capability=text.reverse@1", NULL, 200);
    json_t *c = json_array_get(json_object_get(j, "canaries"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "champion")), "reverse");
    assert_true(json_is_null(json_object_get(c, "last")));
    json_decref(j);

    j = admin(f, "GET", "/admin/loop", NULL, 200);
    assert_false(json_boolean_value(json_object_get(j, "paused")));
    json_decref(j);
    j = admin(f, "POST", "/admin/loop/pause", NULL, 200);
    assert_true(json_boolean_value(json_object_get(j, "paused")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "pause"), "by")),
                        "ops");
    json_decref(j);
    char *pf = eco_path_join(f->data, ECO_LOOP_PAUSE_FILE);
    struct stat sb;
    assert_int_equal(stat(pf, &sb), 0);
    j = admin(f, "POST", "/admin/loop/resume", NULL, 200);
    assert_false(json_boolean_value(json_object_get(j, "paused")));
    json_decref(j);
    assert_int_not_equal(stat(pf, &sb), 0);
    free(pf);
    /* both recorded */
    eco_registry_options ro = {.data_dir = f->data};
    eco_registry *r = NULL;
    ECO_ASSERT_OK(eco_registry_open(&ro, &r));
    bool found = false;
    eco_registry_event e = {0};
    ECO_ASSERT_OK(eco_registry_event_last(r, "loop-pause", &found, &e));
    assert_true(found);
    assert_non_null(strstr(e.detail, "\"ops\""));
    eco_registry_event_clear(&e);
    ECO_ASSERT_OK(eco_registry_event_last(r, "loop-resume", &found, &e));
    assert_true(found);
    eco_registry_event_clear(&e);
    eco_registry_close(r);
}

static void test_report_page(void **state) {
    fixture *f = *state;
    char *b = NULL;
    assert_int_equal(eco_test_http(f->port, "GET", "/", NULL, NULL, &b), 401);
    free(b);
    assert_int_equal(eco_test_http(f->port, "POST", "/", KEY_INF, "{}", &b), 405);
    free(b);
    assert_int_equal(eco_test_http(f->port, "GET", "/", KEY_INF, NULL, &b), 200);
    assert_non_null(strstr(b, "<table id=\"champions\""));
    assert_non_null(strstr(b, "data-capability=\"text.reverse@1\" data-id=\"reverse\""));
    free(b);
    /* public when asked */
    eco_server_stop(f->srv, 30);
    eco_test_server_start(f, true);
    assert_int_equal(eco_test_http(f->port, "GET", "/", NULL, NULL, &b), 200);
    assert_non_null(strstr(b, "data-id=\"reverse\""));
    free(b);
    assert_int_equal(eco_test_http(f->port, "GET", "/admin/models", NULL, NULL, &b), 401);
    free(b);
}

typedef struct waiter {
    const char *dir;
    volatile bool started;
    volatile bool done;
    double waited;
} waiter;

static void *wait_pause(void *arg) {
    waiter *w = arg;
    w->started = true;
    ECO_ASSERT_OK(eco_loop_pause_wait(w->dir, 0.02, NULL, &w->waited));
    w->done = true;
    return NULL;
}

static void test_pause_wait(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    ECO_ASSERT_OK(eco_loop_pause_set(dir, true, "test", "2026-12-07T00:00:00Z"));
    bool paused = false;
    char *detail = NULL;
    ECO_ASSERT_OK(eco_loop_pause_get(dir, &paused, &detail));
    assert_true(paused);
    assert_string_equal(detail, "{\"by\":\"test\",\"paused_at\":\"2026-12-07T00:00:00Z\"}");
    free(detail);
    waiter w = {.dir = dir};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, wait_pause, &w), 0);
    struct timespec ms = {0, 200000000}, tick = {0, 1000000};
    while (!w.started) nanosleep(&tick, NULL); /* a loaded machine may start it late */
    nanosleep(&ms, NULL);
    assert_false(w.done);
    ECO_ASSERT_OK(eco_loop_pause_set(dir, false, NULL, NULL));
    pthread_join(th, NULL);
    assert_true(w.done);
    /* it waited about as long as the file stood after it began (a little less when the
     * thread was descheduled between saying so and starting to wait) */
    assert_true(w.waited >= 0.15);
    ECO_ASSERT_OK(eco_loop_pause_set(dir, false, NULL, NULL)); /* not paused: fine */
    /* a foreign file still pauses */
    char *pf = eco_path_join(dir, ECO_LOOP_PAUSE_FILE);
    eco_test_write_file(pf, "x", 1);
    ECO_ASSERT_OK(eco_loop_pause_get(dir, &paused, &detail));
    assert_true(paused);
    assert_null(detail);
    free(pf);
    eco_test_rmtree(dir);
    free(dir);
}

static void test_model_body_table(void **state) {
    (void)state;
    static const struct {
        const char *body, *err;
    } cases[] = {
        {"{\"model\":\"reverse\"}", NULL},
        {"{\"model\":\"text.reverse@1.champion\"}", NULL},
        {"", "invalid JSON"},
        {"[]", "expected a JSON object"},
        {"{}", "model: missing"},
        {"{\"model\":null}", "model: expected a string"},
        {"{\"model\":\"a b\"}", "model: not a model id or alias"},
        {"{\"model\":\"\"}", "model: not a model id or alias"},
        {"{\"model\":\"a\",\"model\":\"b\"}", "invalid JSON"},
        {"{\"model\":\"a\",\"extra\":1}", "unknown field 'extra'"},
        {"{\"model\":\"a\\u0000\"}", "NUL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *m = NULL;
        eco_status st = eco_server_model_body_parse(cases[i].body, strlen(cases[i].body), &m);
        bool ok = cases[i].err ? st == ECO_STATUS_EFORMAT && strstr(eco_last_error(), cases[i].err)
                               : st == ECO_STATUS_OK && m;
        if (!ok) print_error("case %zu (%s): %d %s\n", i, cases[i].body, (int)st, eco_last_error());
        assert_true(ok);
        free(m);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_body_table),
        cmocka_unit_test(test_pause_wait),
        cmocka_unit_test_setup_teardown(test_scopes, setup, eco_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_load_unload, setup, eco_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_unload_in_use, setup, eco_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_canary_and_loop, setup, eco_test_server_teardown),
        cmocka_unit_test_setup_teardown(test_report_page, setup, eco_test_server_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
