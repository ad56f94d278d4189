/*
 * promotion.h: the champion alias of a capability ("C.champion"), promotion by
 * compare-and-swap behind an accepted report (refused with EGATE otherwise, ECONFLICT when
 * the champion moved meanwhile), rollback one step back through the alias history, the
 * "promote" / "rollback" events with their members, and the Pareto archive kept as
 * "archive" events (the last one read back equal, a damaged one refused naming it).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "test_util.h"

#include "ecology/promotion.h"

static const char *const CAPS[] = {"text.sort@1", NULL};

/* A registry with base "b" and adapters "a1", "a2" (text.sort@1); a1 and a2 hold a stored
 * report: a1's accepted, a2's rejected. */
static char *setup(eco_registry **r) {
    char *dir = eco_test_tmpdir();
    ECO_ASSERT_OK(eco_registry_init(dir));
    eco_registry_options opt = {.data_dir = dir};
    ECO_ASSERT_OK(eco_registry_open(&opt, r));
    const char *ids[] = {"b", "a1", "a2", "a3"};
    for (int i = 0; i < 4; i++) {
        eco_genome g;
        ECO_ASSERT_OK(eco_test_build_genome(eco_registry_store(*r), &g, ids[i],
                                            i ? ECO_GENOME_KIND_ADAPTER : ECO_GENOME_KIND_BASE,
                                            i ? "b" : NULL, NULL, i ? CAPS : NULL, 'a', NULL));
        bool created = false;
        ECO_ASSERT_OK(eco_registry_register(*r, &g, NULL, &created));
        eco_genome_free(&g);
    }
    const char *rep = "{\"capabilities\":{\"text.sort@1\":{}},\"verdict\":{\"accepted\":%s}}";
    char buf[128];
    snprintf(buf, sizeof buf, rep, "true");
    ECO_ASSERT_OK(eco_registry_add_report(*r, "a1", buf));
    ECO_ASSERT_OK(eco_registry_add_report(*r, "a3", buf));
    snprintf(buf, sizeof buf, rep, "false");
    ECO_ASSERT_OK(eco_registry_add_report(*r, "a2", buf));
    return dir;
}

static void teardown(eco_registry *r, char *dir) {
    eco_registry_close(r);
    eco_test_rmtree(dir);
    free(dir);
}

static char *champion(eco_registry *r) {
    char *id = NULL;
    ECO_ASSERT_OK(eco_registry_alias_get(r, "text.sort@1.champion", &id));
    return id;
}

/* The detail of the last event of type, parsed. */
static json_t *last_detail(eco_registry *r, const char *type, char **model_id) {
    bool found = false;
    eco_registry_event ev;
    ECO_ASSERT_OK(eco_registry_event_last(r, type, &found, &ev));
    assert_true(found);
    json_t *d = json_loads(ev.detail, 0, NULL);
    assert_non_null(d);
    if (model_id) *model_id = strdup(ev.model_id);
    eco_registry_event_clear(&ev);
    return d;
}

static void test_alias_name(void **state) {
    (void)state;
    char a[ECO_PROMOTION_ALIAS_MAX];
    ECO_ASSERT_OK(eco_promotion_alias("text.sort@1", "champion", a));
    assert_string_equal(a, "text.sort@1.champion");
    ECO_ASSERT_STATUS(eco_promotion_alias("bad cap", "champion", a), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_promotion_alias("", "champion", a), ECO_STATUS_EINVAL);
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ECO_ASSERT_STATUS(eco_promotion_alias(big, "champion", a), ECO_STATUS_EINVAL);
}

static void test_promote_gated_and_cas(void **state) {
    (void)state;
    eco_registry *r = NULL;
    char *dir = setup(&r);
    eco_promote_options o = {.capability = "text.sort@1", .by = "manual", .require_report = true};
    /* a2's only report was rejected, b has none: refused, the alias untouched */
    ECO_ASSERT_STATUS(eco_promote(r, "a2", &o), ECO_STATUS_EGATE);
    assert_non_null(strstr(eco_last_error(), "no accepted evaluation report"));
    ECO_ASSERT_STATUS(eco_promote(r, "b", &o), ECO_STATUS_EGATE);
    char *id = NULL;
    ECO_ASSERT_STATUS(eco_registry_alias_get(r, "text.sort@1.champion", &id), ECO_STATUS_ENOTFOUND);
    /* a1 is promoted; the event names the report it rests on */
    ECO_ASSERT_OK(eco_promote(r, "a1", &o));
    id = champion(r);
    assert_string_equal(id, "a1");
    free(id);
    char *mid = NULL;
    json_t *d = last_detail(r, "promote", &mid);
    assert_string_equal(mid, "a1");
    free(mid);
    assert_true(json_is_null(json_object_get(d, "from")));
    assert_string_equal(json_string_value(json_object_get(d, "by")), "manual");
    assert_true(json_integer_value(json_object_get(d, "report_seq")) > 0);
    json_decref(d);
    /* a stale expectation loses the compare-and-swap */
    eco_promote_options stale = o;
    stale.expect = "-";
    ECO_ASSERT_STATUS(eco_promote(r, "a3", &stale), ECO_STATUS_ECONFLICT);
    stale.expect = "a2";
    ECO_ASSERT_STATUS(eco_promote(r, "a3", &stale), ECO_STATUS_ECONFLICT);
    /* promoting the champion again records nothing */
    eco_registry_event *ev = NULL;
    size_t n0 = 0, n1 = 0;
    ECO_ASSERT_OK(eco_registry_events(r, 0, &ev, &n0));
    eco_registry_events_free(ev, n0);
    ECO_ASSERT_OK(eco_promote(r, "a1", &o));
    ECO_ASSERT_OK(eco_registry_events(r, 0, &ev, &n1));
    eco_registry_events_free(ev, n1);
    assert_int_equal(n0, n1);
    /* without the report requirement (the loop's seeding), and through an expectation */
    eco_promote_options seed = {.capability = "text.sort@1", .expect = "a1", .by = "seed"};
    ECO_ASSERT_OK(eco_promote(r, "a2", &seed));
    id = champion(r);
    assert_string_equal(id, "a2");
    free(id);
    teardown(r, dir);
}

static void test_rollback(void **state) {
    (void)state;
    eco_registry *r = NULL;
    char *dir = setup(&r);
    char *to = NULL;
    ECO_ASSERT_STATUS(eco_rollback(r, "text.sort@1", "x", &to), ECO_STATUS_ENOTFOUND);
    eco_promote_options o = {.capability = "text.sort@1", .by = "canary", .require_report = true};
    ECO_ASSERT_OK(eco_promote(r, "a1", &o));
    ECO_ASSERT_STATUS(eco_rollback(r, "text.sort@1", "x", &to), ECO_STATUS_ENOTFOUND);
    assert_non_null(strstr(eco_last_error(), "first champion"));
    ECO_ASSERT_OK(eco_promote(r, "a3", &o));
    ECO_ASSERT_OK(eco_rollback(r, "text.sort@1", "canary regressed", &to));
    assert_string_equal(to, "a1");
    free(to);
    char *id = champion(r);
    assert_string_equal(id, "a1");
    free(id);
    char *mid = NULL;
    json_t *d = last_detail(r, "rollback", &mid);
    assert_string_equal(mid, "a1");
    assert_string_equal(json_string_value(json_object_get(d, "from")), "a3");
    assert_string_equal(json_string_value(json_object_get(d, "reason")), "canary regressed");
    free(mid);
    json_decref(d);
    /* a second rollback undoes the rollback (the history's last move): back to a3 */
    ECO_ASSERT_OK(eco_rollback(r, "text.sort@1", NULL, &to));
    assert_string_equal(to, "a3");
    free(to);
    teardown(r, dir);
}

static void test_archive_record(void **state) {
    (void)state;
    eco_registry *r = NULL;
    char *dir = setup(&r);
    eco_pareto *got = NULL;
    int64_t gen = 0;
    ECO_ASSERT_OK(eco_archive_load(r, &got, &gen));
    assert_null(got);
    assert_int_equal(gen, -1);
    const eco_pareto_objective obj[2] = {{"quality", ECO_PARETO_DIR_MAX},
                                         {"p95_ms", ECO_PARETO_DIR_MIN}};
    eco_pareto *a = NULL;
    ECO_ASSERT_OK(eco_pareto_create(obj, 2, 8, &a));
    const double v1[2] = {0.9, 100}, v2[2] = {0.5, 20};
    ECO_ASSERT_OK(eco_pareto_insert(a, "a1", v1, NULL));
    ECO_ASSERT_OK(eco_archive_save(r, a, 0));
    ECO_ASSERT_OK(eco_pareto_insert(a, "a3", v2, NULL));
    ECO_ASSERT_OK(eco_archive_save(r, a, 3));
    ECO_ASSERT_OK(eco_archive_load(r, &got, &gen));
    assert_int_equal(gen, 3);
    char *want = NULL, *have = NULL;
    ECO_ASSERT_OK(eco_pareto_to_json(a, &want, NULL));
    ECO_ASSERT_OK(eco_pareto_to_json(got, &have, NULL));
    assert_string_equal(have, want);
    assert_int_equal(eco_pareto_count(got), 2);
    free(want);
    free(have);
    eco_pareto_free(got);
    eco_pareto_free(a);
    /* a later archive event that is not an archive is refused, naming the event */
    ECO_ASSERT_OK(eco_registry_event_append(r, "archive", NULL, "{\"generation\":4}", NULL));
    ECO_ASSERT_STATUS(eco_archive_load(r, &got, &gen), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "archive event"));
    assert_null(got);
    teardown(r, dir);
}

static void test_event_append_checks(void **state) {
    (void)state;
    eco_registry *r = NULL;
    char *dir = setup(&r);
    int64_t seq = 0;
    ECO_ASSERT_OK(
        eco_registry_event_append(r, "gate", "not-registered", "{\"b\":1,\"a\":2}", &seq));
    assert_true(seq > 0);
    bool found = false;
    eco_registry_event ev;
    ECO_ASSERT_OK(eco_registry_event_last(r, "gate", &found, &ev));
    assert_true(found);
    assert_int_equal(ev.seq, seq);
    assert_string_equal(ev.detail, "{\"a\":2,\"b\":1}"); /* stored canonically */
    eco_registry_event_clear(&ev);
    ECO_ASSERT_OK(eco_registry_event_last(r, "never", &found, &ev));
    assert_false(found);
    ECO_ASSERT_STATUS(eco_registry_event_append(r, "Bad Type", NULL, NULL, NULL),
                      ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_registry_event_append(r, "", NULL, NULL, NULL), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_registry_event_append(r, "x", "bad id", NULL, NULL), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_registry_event_append(r, "x", NULL, "[1]", NULL), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_registry_event_append(r, "x", NULL, "{\"a\":1,\"a\":2}", NULL),
                      ECO_STATUS_EFORMAT);
    ECO_ASSERT_STATUS(eco_registry_event_append(r, "x", NULL, "{", NULL), ECO_STATUS_EFORMAT);
    teardown(r, dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alias_name),
        cmocka_unit_test(test_promote_gated_and_cas),
        cmocka_unit_test(test_rollback),
        cmocka_unit_test(test_archive_record),
        cmocka_unit_test(test_event_append_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
