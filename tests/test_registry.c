/* registry: init/open, register/get round trip, idempotent and conflicting registration,
 * missing parents/base/files, list filters, ancestors/descendants on a diamond, alias
 * compare-and-swap and history, events, reports, the append-only triggers in SQL, several
 * processes registering at once (and a reader that never sees half a model), a busy
 * database, and the signature policy (unsigned, signed, wrong key, statement about another
 * model). Genomes are built field by field here; their files are put into the store so
 * that they exist. */
#include "test_util.h"

#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ecology/registry.h"
#include "ecology/signing.h"

#define TIME0 "2026-11-28T01:02:03Z"

/* ---- helpers ---------------------------------------------------------------------------- */

static void make_genome(eco_store *s, eco_genome *g, const char *id, eco_genome_kind kind,
                        const char *base, const char *const *parents, const char *const *caps,
                        char compat_c, const char *salt) {
    ECO_ASSERT_OK(eco_test_build_genome(s, g, id, kind, base, parents, caps, compat_c, salt));
}

/* Registers a fresh genome; fails the test unless it is created. */
static void reg(eco_registry *r, const char *id, eco_genome_kind kind, const char *base,
                const char *const *parents, const char *const *caps, char compat_c) {
    eco_genome g;
    make_genome(eco_registry_store(r), &g, id, kind, base, parents, caps, compat_c, NULL);
    bool created = false;
    ECO_ASSERT_OK(eco_registry_register(r, &g, NULL, &created));
    assert_true(created);
    eco_genome_free(&g);
}

static eco_registry *open_reg(const char *dir) {
    eco_registry_options opt = {.data_dir = dir};
    eco_registry *r = NULL;
    ECO_ASSERT_OK(eco_registry_open(&opt, &r));
    return r;
}

static char *fresh_registry(eco_registry **r) {
    char *dir = eco_test_tmpdir();
    ECO_ASSERT_OK(eco_registry_init(dir));
    *r = open_reg(dir);
    return dir;
}

static void close_and_remove(eco_registry *r, char *dir) {
    eco_registry_close(r);
    eco_test_rmtree(dir);
    free(dir);
}

/* ids must be exactly want (NULL-terminated), in order. */
static void assert_ids(char **ids, size_t n, const char *const *want, const char *what) {
    size_t k = 0;
    while (want[k]) k++;
    bool ok = n == k;
    for (size_t i = 0; ok && i < n; i++) ok = strcmp(ids[i], want[i]) == 0;
    if (!ok) {
        print_error("%s: got [", what);
        for (size_t i = 0; i < n; i++) print_error("%s%s", i ? ", " : "", ids[i]);
        print_error("], want [");
        for (size_t i = 0; i < k; i++) print_error("%s%s", i ? ", " : "", want[i]);
        print_error("]\n");
        fail();
    }
}

static void assert_list(eco_registry *r, const eco_registry_filter *f, const char *const *want,
                        const char *what) {
    char **ids = NULL;
    size_t n = 0;
    ECO_ASSERT_OK(eco_registry_list(r, f, &ids, &n));
    assert_ids(ids, n, want, what);
    eco_registry_ids_free(ids, n);
}

static size_t count_events(eco_registry *r) {
    eco_registry_event *ev = NULL;
    size_t n = 0;
    ECO_ASSERT_OK(eco_registry_events(r, 0, &ev, &n));
    eco_registry_events_free(ev, n);
    return n;
}

static void assert_error_mentions(const char *needle) {
    if (!strstr(eco_last_error(), needle)) {
        print_error("error '%s' does not mention '%s'\n", eco_last_error(), needle);
        fail();
    }
}

static char *db_path_of(const char *dir) {
    char *p = eco_path_join(dir, ECO_REGISTRY_DB_FILE);
    assert_non_null(p);
    return p;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_init_idempotent(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    char *sub = eco_path_join(dir, "data");
    eco_registry_options opt = {.data_dir = sub};
    eco_registry *r = NULL;
    ECO_ASSERT_STATUS(eco_registry_open(&opt, &r), ECO_STATUS_ENOTFOUND);
    assert_null(r);
    assert_error_mentions(sub);
    ECO_ASSERT_OK(eco_registry_init(sub));
    ECO_ASSERT_OK(eco_registry_init(sub)); /* idempotent */
    r = open_reg(sub);
    assert_string_equal(eco_registry_data_dir(r), sub);
    assert_non_null(eco_registry_store(r));
    reg(r, "m1", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a');
    eco_registry_close(r);
    ECO_ASSERT_OK(eco_registry_init(sub)); /* again, with data: keeps it */
    r = open_reg(sub);
    assert_true(eco_registry_exists(r, "m1"));
    eco_registry_close(r);

    /* the database says WAL and schema version 2 (issue 19: corpora) */
    char *db = db_path_of(sub);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
    sqlite3_finalize(stmt);
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &stmt, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(stmt, 0), 2);
    sqlite3_finalize(stmt);
    sqlite3_close(h);

    /* a file that is not a database */
    char *other = eco_path_join(dir, "junk");
    ECO_ASSERT_OK(eco_mkdir_p(other));
    char *junk_db = db_path_of(other);
    eco_test_write_file(junk_db,
                        "not a database, just some bytes that are long enough to matter......", 68);
    eco_registry_options jopt = {.data_dir = other};
    eco_status st = eco_registry_open(&jopt, &r);
    assert_int_not_equal(st, ECO_STATUS_OK);
    assert_null(r);
    free(junk_db);
    free(other);
    free(db);
    free(sub);
    eco_test_rmtree(dir);
    free(dir);
}

static bool exists_path(const char *dir, const char *name) {
    char *p = eco_path_join(dir, name);
    struct stat sb;
    bool ok = p && stat(p, &sb) == 0;
    free(p);
    return ok;
}

/* Issue 17 bug 4: a registry opened read-only reads everything, changes nothing (the database
 * file keeps its bytes; no folder, no cache line; SQLite may leave its -wal and -shm files in
 * a writable folder) and refuses writes saying the folder is read-only. The read-only folder
 * itself is tested from the command line as another user (tests/cli/test_registry_cli.sh). */
static void test_read_only_open(void **state) {
    (void)state;
    eco_registry *r;
    char *dir = fresh_registry(&r);
    reg(r, "m1", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a');
    eco_registry_close(r);
    char *tmpd = eco_path_join(dir, "tmp");
    assert_int_equal(rmdir(tmpd), 0);
    char *db = db_path_of(dir), *db_before = NULL, *db_after = NULL;
    size_t len_before = 0, len_after = 0;
    ECO_ASSERT_OK(eco_read_file(db, 1 << 24, &db_before, &len_before));

    eco_registry_options opt = {.data_dir = dir, .read_only = true};
    ECO_ASSERT_OK(eco_registry_open(&opt, &r));
    assert_true(eco_registry_exists(r, "m1"));
    const char *const want[] = {"m1", NULL};
    assert_list(r, NULL, want, "read-only list");
    assert_int_equal(count_events(r), 1);
    size_t nm = 0, no = 0;
    ECO_ASSERT_OK(eco_registry_check(r, true, &nm, &no));
    assert_int_equal(nm, 1);
    eco_genome g;
    ECO_ASSERT_STATUS(eco_test_build_genome(eco_registry_store(r), &g, "m2", ECO_GENOME_KIND_BASE,
                                            NULL, NULL, NULL, 'b', "ro"),
                      ECO_STATUS_EIO);
    assert_error_mentions("read-only"); /* the store refuses puts */
    eco_genome_free(&g);
    ECO_ASSERT_OK(
        eco_registry_get(r, "m1", &g, NULL)); /* files in the store: only the write fails */
    free(g.id);
    g.id = strdup("m3");
    ECO_ASSERT_STATUS(eco_registry_register(r, &g, NULL, NULL), ECO_STATUS_EIO);
    assert_error_mentions("read-only");
    eco_genome_free(&g);
    ECO_ASSERT_STATUS(eco_registry_alias_set(r, "champion", "m1", NULL), ECO_STATUS_EIO);
    assert_error_mentions("read-only");
    ECO_ASSERT_STATUS(eco_registry_add_report(r, "m1", "{}"), ECO_STATUS_EIO);
    eco_registry_close(r);

    ECO_ASSERT_OK(eco_read_file(db, 1 << 24, &db_after, &len_after));
    assert_int_equal(len_after, len_before);
    assert_memory_equal(db_after, db_before, len_before);
    assert_false(exists_path(dir, "verified"));
    assert_false(exists_path(dir, "tmp"));
    free(db_before);
    free(db_after);
    free(db);
    free(tmpd);
    eco_test_rmtree(dir);
    free(dir);
}

/* Issue 17 bug 11: a genome edited in the database (the append-only trigger dropped by
 * hand) no longer hashes to its genome_sha256: check and verify say so. */
static void test_check_genome_hash(void **state) {
    (void)state;
    eco_registry *r;
    char *dir = fresh_registry(&r);
    reg(r, "m1", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a');
    ECO_ASSERT_OK(eco_registry_check(r, true, NULL, NULL));
    eco_registry_close(r);
    char *db = db_path_of(dir);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(h,
                     "DROP TRIGGER models_no_update; UPDATE models SET genome = replace(genome, "
                     "'tiny-ecology 0.1.0', 'tiny-ecology 9.9.9') WHERE id = 'm1';",
                     NULL, NULL, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_changes(h), 1);
    sqlite3_close(h);
    r = open_reg(dir);
    eco_genome g;
    ECO_ASSERT_OK(eco_registry_get(r, "m1", &g, NULL)); /* still a valid genome */
    assert_string_equal(g.tool_version, "tiny-ecology 9.9.9");
    eco_genome_free(&g);
    ECO_ASSERT_STATUS(eco_registry_check(r, false, NULL, NULL), ECO_STATUS_EINTEGRITY);
    assert_error_mentions("genome_sha256");
    assert_error_mentions("'m1'");
    ECO_ASSERT_STATUS(eco_registry_verify(r, "m1", NULL), ECO_STATUS_EINTEGRITY);
    assert_error_mentions("genome_sha256");
    free(db);
    close_and_remove(r, dir);
}

/* Issue 17 bug 5: gc lists (dry run) and removes the objects no model references, keeps
 * the referenced ones, and logs a "gc" event. */
static void test_gc(void **state) {
    (void)state;
    eco_registry *r;
    char *dir = fresh_registry(&r);
    reg(r, "m1", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a');
    char orphan[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_store_put_bytes(eco_registry_store(r), "orphan", 6, orphan));
    size_t events = count_events(r);
    eco_gc_object *objs = NULL;
    size_t n = 0;
    uint64_t bytes = 0;
    ECO_ASSERT_OK(eco_registry_gc(r, true, &objs, &n, &bytes));
    assert_int_equal(n, 1);
    assert_string_equal(objs[0].sha256, orphan);
    assert_int_equal(objs[0].size, 6);
    assert_int_equal(bytes, 6);
    free(objs);
    assert_true(eco_store_has(eco_registry_store(r), orphan)); /* a dry run removes nothing */
    assert_int_equal(count_events(r), events);

    ECO_ASSERT_OK(eco_registry_gc(r, false, &objs, &n, &bytes));
    assert_int_equal(n, 1);
    free(objs);
    assert_false(eco_store_has(eco_registry_store(r), orphan));
    ECO_ASSERT_OK(eco_registry_check(r, true, NULL, NULL)); /* m1's files all kept */
    assert_int_equal(count_events(r), events + 1);
    eco_registry_event *ev = NULL;
    size_t nev = 0;
    ECO_ASSERT_OK(eco_registry_events(r, 0, &ev, &nev));
    assert_string_equal(ev[nev - 1].type, "gc");
    eco_registry_events_free(ev, nev);

    ECO_ASSERT_OK(eco_registry_gc(r, false, &objs, &n, &bytes));
    assert_int_equal(n, 0);
    assert_int_equal(count_events(r), events + 1); /* nothing removed: nothing logged */
    free(objs);
    close_and_remove(r, dir);
}

static void test_register_get(void **state) {
    (void)state;
    eco_registry *r;
    char *dir = fresh_registry(&r);
    eco_genome g, got;
    const char *caps[] = {"arith.add@1", "text.reverse@1", NULL};
    make_genome(eco_registry_store(r), &g, "tiny-base", ECO_GENOME_KIND_BASE, NULL, NULL, caps, 'a',
                NULL);
    assert_false(eco_registry_exists(r, "tiny-base"));
    bool created = false;
    ECO_ASSERT_OK(eco_registry_register(r, &g, NULL, &created));
    assert_true(created);
    assert_true(eco_registry_exists(r, "tiny-base"));
    char *env = (char *)"sentinel";
    ECO_ASSERT_OK(eco_registry_get(r, "tiny-base", &got, &env));
    assert_null(env);
    char *a = NULL, *b = NULL;
    ECO_ASSERT_OK(eco_genome_to_canonical(&g, &a, NULL));
    ECO_ASSERT_OK(eco_genome_to_canonical(&got, &b, NULL));
    assert_string_equal(a, b);
    free(a);
    free(b);
    eco_genome_free(&got);
    ECO_ASSERT_OK(eco_registry_get(r, "tiny-base", &got, NULL)); /* envelope not wanted */
    eco_genome_free(&got);

    /* the register event */
    eco_registry_event *ev = NULL;
    size_t n = 0;
    ECO_ASSERT_OK(eco_registry_events(r, 0, &ev, &n));
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].type, "register");
    assert_string_equal(ev[0].model_id, "tiny-base");
    assert_int_equal(strlen(ev[0].at), 20);
    char hash[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_genome_hash(&g, hash));
    assert_non_null(strstr(ev[0].detail, hash));
    eco_registry_events_free(ev, n);

    ECO_ASSERT_STATUS(eco_registry_get(r, "nope", &got, NULL), ECO_STATUS_ENOTFOUND);
    assert_error_mentions("'nope'");
    assert_false(eco_registry_exists(r, "nope"));
    eco_genome_free(&g);

    /* invalid ids and records are refused before anything is written */
    make_genome(eco_registry_store(r), &g, "x", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a', NULL);
    free(g.id);
    g.id = strdup("-bad");
    ECO_ASSERT_STATUS(eco_registry_register(r, &g, NULL, &created), ECO_STATUS_EINVAL);
    free(g.id);
    g.id = strdup("ok-id");
    free(g.created_at);
    g.created_at = strdup("yesterday");
    assert_int_not_equal(eco_registry_register(r, &g, NULL, &created), ECO_STATUS_OK);
    assert_false(created);
    eco_genome_free(&g);
    assert_int_equal(count_events(r), 1);
    close_and_remove(r, dir);
}

static void test_register_twice(void **state) {
    (void)state;
    eco_registry *r;
    char *dir = fresh_registry(&r);
    eco_genome g, g2;
    make_genome(eco_registry_store(r), &g, "m", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a', NULL);
    bool created = false;
    ECO_ASSERT_OK(eco_registry_register(r, &g, NULL, &created));
    assert_true(created);
    assert_int_equal(count_events(r), 1);
    /* same content: a no-op, no event */
    created = true;
    ECO_ASSERT_OK(eco_registry_register(r, &g, NULL, &created));
    assert_false(created);
    assert_int_equal(count_events(r), 1);
    /* and from a second handle */
    eco_registry *r2 = open_reg(dir);
    ECO_ASSERT_OK(eco_registry_register(r2, &g, NULL, &created));
    assert_false(created);
    eco_registry_close(r2);
    /* same id, different content */
    make_genome(eco_registry_store(r), &g2, "m", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a',
                "other");
    ECO_ASSERT_STATUS(eco_registry_register(r, &g2, NULL, &created), ECO_STATUS_EEXIST);
    assert_false(created);
    assert_error_mentions("'m'");
    eco_genome_free(&g2);
    make_genome(eco_registry_store(r), &g2, "m", ECO_GENOME_KIND_MERGED, NULL, NULL, NULL, 'a',
                NULL);
    ECO_ASSERT_STATUS(eco_registry_register(r, &g2, NULL, &created), ECO_STATUS_EEXIST);
    eco_genome_free(&g2);
    assert_int_equal(count_events(r), 1);
    const char *all[] = {"m", NULL};
    assert_list(r, NULL, all, "list");
    eco_genome_free(&g);
    close_and_remove(r, dir);
}

static void test_register_missing(void **state) {
    (void)state;
    eco_registry *r;
    char *dir = fresh_registry(&r);
    reg(r, "base", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a');
    eco_genome g;
    bool created = false;

    const char *parents[] = {"base", "ghost", NULL};
    make_genome(eco_registry_store(r), &g, "child", ECO_GENOME_KIND_MERGED, NULL, parents, NULL,
                'a', NULL);
    ECO_ASSERT_STATUS(eco_registry_register(r, &g, NULL, &created), ECO_STATUS_ENOTFOUND);
    assert_error_mentions("'ghost'");
    eco_genome_free(&g);

    make_genome(eco_registry_store(r), &g, "adapter", ECO_GENOME_KIND_ADAPTER, "no-such-base", NULL,
                NULL, 'a', NULL);
    ECO_ASSERT_STATUS(eco_registry_register(r, &g, NULL, &created), ECO_STATUS_ENOTFOUND);
    assert_error_mentions("'no-such-base'");
    eco_genome_free(&g);

    /* a file not in the store */
    make_genome(eco_registry_store(r), &g, "nofile", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a',
                NULL);
    eco_test_hex_fill(g.files.files[1].sha256, '0');
    ECO_ASSERT_STATUS(eco_registry_register(r, &g, NULL, &created), ECO_STATUS_ENOTFOUND);
    assert_error_mentions("model.safetensors");
    eco_genome_free(&g);

    /* a file in the store with another size */
    make_genome(eco_registry_store(r), &g, "badsize", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a',
                NULL);
    g.files.files[0].size += 1;
    ECO_ASSERT_STATUS(eco_registry_register(r, &g, NULL, &created), ECO_STATUS_EINTEGRITY);
    assert_error_mentions("config.json");
    eco_genome_free(&g);

    /* its own parent / base */
    const char *self[] = {"selfish", NULL};
    make_genome(eco_registry_store(r), &g, "selfish", ECO_GENOME_KIND_MERGED, NULL, self, NULL, 'a',
                NULL);
    ECO_ASSERT_STATUS(eco_registry_register(r, &g, NULL, &created), ECO_STATUS_EINVAL);
    eco_genome_free(&g);
    make_genome(eco_registry_store(r), &g, "selfbase", ECO_GENOME_KIND_ADAPTER, "selfbase", NULL,
                NULL, 'a', NULL);
    ECO_ASSERT_STATUS(eco_registry_register(r, &g, NULL, &created), ECO_STATUS_EINVAL);
    eco_genome_free(&g);

    /* nothing of the refused models was recorded */
    const char *all[] = {"base", NULL};
    assert_list(r, NULL, all, "list after refusals");
    assert_int_equal(count_events(r), 1);
    close_and_remove(r, dir);
}

static void test_list_filters(void **state) {
    (void)state;
    eco_registry *r;
    char *dir = fresh_registry(&r);
    const char *c_add[] = {"arith.add@1", NULL};
    const char *c_both[] = {"arith.add@1", "text.sort@1", NULL};
    const char *c_sort[] = {"text.sort@1", NULL};
    reg(r, "b1", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a');
    reg(r, "b2", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'b');
    reg(r, "a1", ECO_GENOME_KIND_ADAPTER, "b1", NULL, c_add, 'a');
    reg(r, "a2", ECO_GENOME_KIND_ADAPTER, "b1", NULL, c_both, 'a');
    reg(r, "a3", ECO_GENOME_KIND_ADAPTER, "b2", NULL, c_sort, 'b');
    const char *par[] = {"a1", "a2", NULL};
    reg(r, "m1", ECO_GENOME_KIND_MERGED, "b1", par, c_both, 'a');

    const char *all[] = {"b1", "b2", "a1", "a2", "a3", "m1", NULL};
    assert_list(r, NULL, all, "no filter");
    eco_registry_filter f = {0};
    assert_list(r, &f, all, "empty filter");
    f.kind = "adapter";
    const char *adapters[] = {"a1", "a2", "a3", NULL};
    assert_list(r, &f, adapters, "kind adapter");
    f.kind = "quantized";
    const char *none[] = {NULL};
    assert_list(r, &f, none, "kind quantized");
    f.kind = "bogus";
    char **ids = NULL;
    size_t n = 0;
    ECO_ASSERT_STATUS(eco_registry_list(r, &f, &ids, &n), ECO_STATUS_EINVAL);
    f = (eco_registry_filter){.capability = "arith.add@1"};
    const char *adders[] = {"a1", "a2", "m1", NULL};
    assert_list(r, &f, adders, "capability arith.add@1");
    f = (eco_registry_filter){.base = "b1"};
    const char *on_b1[] = {"a1", "a2", "m1", NULL};
    assert_list(r, &f, on_b1, "base b1");
    eco_compat_identity cb;
    eco_test_hex_fill(cb.base_family, 'b');
    eco_test_hex_fill(cb.architecture_hash, 'b');
    eco_test_hex_fill(cb.tokenizer_hash, 'b');
    eco_test_hex_fill(cb.tensor_schema_hash, 'b');
    f = (eco_registry_filter){.compat = &cb};
    const char *fam_b[] = {"b2", "a3", NULL};
    assert_list(r, &f, fam_b, "compat b");
    eco_test_hex_fill(cb.tokenizer_hash, 'c'); /* one field differs: nothing matches */
    assert_list(r, &f, none, "compat b with another tokenizer");
    eco_compat_identity ca;
    eco_test_hex_fill(ca.base_family, 'a');
    eco_test_hex_fill(ca.architecture_hash, 'a');
    eco_test_hex_fill(ca.tokenizer_hash, 'a');
    eco_test_hex_fill(ca.tensor_schema_hash, 'a');
    f = (eco_registry_filter){
        .kind = "adapter", .capability = "text.sort@1", .base = "b1", .compat = &ca};
    const char *combo[] = {"a2", NULL};
    assert_list(r, &f, combo, "all four filters");
    close_and_remove(r, dir);
}

static void test_lineage_diamond(void **state) {
    (void)state;
    eco_registry *r;
    char *dir = fresh_registry(&r);
    /*        A
     *       / \       X: adapter with base A (the base column is an edge too)
     *      B   C
     *       \ /
     *        D
     *        |
     *        E     F: parents E and A (A is both a parent and a far ancestor) */
    const char *pA[] = {"A", NULL}, *pBC[] = {"B", "C", NULL}, *pD[] = {"D", NULL},
               *pEA[] = {"E", "A", NULL};
    reg(r, "A", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a');
    reg(r, "B", ECO_GENOME_KIND_MERGED, NULL, pA, NULL, 'a');
    reg(r, "C", ECO_GENOME_KIND_MERGED, NULL, pA, NULL, 'a');
    reg(r, "D", ECO_GENOME_KIND_MERGED, NULL, pBC, NULL, 'a');
    reg(r, "E", ECO_GENOME_KIND_MERGED, NULL, pD, NULL, 'a');
    reg(r, "X", ECO_GENOME_KIND_ADAPTER, "A", NULL, NULL, 'a');
    reg(r, "F", ECO_GENOME_KIND_MERGED, NULL, pEA, NULL, 'a');

    char **ids;
    size_t n;
    ECO_ASSERT_OK(eco_registry_ancestors(r, "E", &ids, &n));
    const char *anc_e[] = {"D", "B", "C", "A", NULL};
    assert_ids(ids, n, anc_e, "ancestors(E)");
    eco_registry_ids_free(ids, n);
    ECO_ASSERT_OK(eco_registry_ancestors(r, "F", &ids, &n));
    const char *anc_f[] = {"A", "E", "D", "B", "C", NULL}; /* A at depth 1, once */
    assert_ids(ids, n, anc_f, "ancestors(F)");
    eco_registry_ids_free(ids, n);
    ECO_ASSERT_OK(eco_registry_ancestors(r, "X", &ids, &n));
    const char *anc_x[] = {"A", NULL};
    assert_ids(ids, n, anc_x, "ancestors(X)");
    eco_registry_ids_free(ids, n);
    ECO_ASSERT_OK(eco_registry_ancestors(r, "A", &ids, &n));
    assert_int_equal(n, 0);
    eco_registry_ids_free(ids, n);

    ECO_ASSERT_OK(eco_registry_descendants(r, "A", &ids, &n));
    const char *desc_a[] = {"B", "C", "X", "F", "D", "E", NULL}; /* depth 1 by seq, then 2, 3 */
    assert_ids(ids, n, desc_a, "descendants(A)");
    eco_registry_ids_free(ids, n);
    ECO_ASSERT_OK(eco_registry_descendants(r, "B", &ids, &n));
    const char *desc_b[] = {"D", "E", "F", NULL};
    assert_ids(ids, n, desc_b, "descendants(B)");
    eco_registry_ids_free(ids, n);
    ECO_ASSERT_OK(eco_registry_descendants(r, "F", &ids, &n));
    assert_int_equal(n, 0);
    eco_registry_ids_free(ids, n);

    ECO_ASSERT_STATUS(eco_registry_ancestors(r, "nope", &ids, &n), ECO_STATUS_ENOTFOUND);
    ECO_ASSERT_STATUS(eco_registry_descendants(r, "nope", &ids, &n), ECO_STATUS_ENOTFOUND);
    assert_null(ids);

    /* the parents' order survives the round trip */
    eco_genome g;
    ECO_ASSERT_OK(eco_registry_get(r, "F", &g, NULL));
    assert_int_equal(g.n_parents, 2);
    assert_string_equal(g.parents[0], "E");
    assert_string_equal(g.parents[1], "A");
    eco_genome_free(&g);
    close_and_remove(r, dir);
}

static void test_alias_cas(void **state) {
    (void)state;
    eco_registry *r;
    char *dir = fresh_registry(&r);
    reg(r, "A", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a');
    reg(r, "B", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'b');
    reg(r, "C", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'c');
    size_t events0 = count_events(r);
    char *cur = NULL;
    ECO_ASSERT_STATUS(eco_registry_alias_get(r, "champion", &cur), ECO_STATUS_ENOTFOUND);
    assert_error_mentions("champion");

    ECO_ASSERT_OK(eco_registry_alias_set(r, "champion", "A", NULL)); /* new: expect unset */
    ECO_ASSERT_OK(eco_registry_alias_get(r, "champion", &cur));
    assert_string_equal(cur, "A");
    free(cur);
    ECO_ASSERT_STATUS(eco_registry_alias_set(r, "champion", "B", NULL), ECO_STATUS_ECONFLICT);
    assert_error_mentions("'A'");
    ECO_ASSERT_STATUS(eco_registry_alias_set(r, "champion", "B", "C"), ECO_STATUS_ECONFLICT);
    assert_error_mentions("'A'"); /* names the current target */
    ECO_ASSERT_STATUS(eco_registry_alias_set(r, "canary", "B", "A"),
                      ECO_STATUS_ECONFLICT); /* unset */
    ECO_ASSERT_STATUS(eco_registry_alias_set(r, "champion", "ghost", "A"), ECO_STATUS_ENOTFOUND);
    ECO_ASSERT_STATUS(eco_registry_alias_set(r, "bad name", "B", "A"), ECO_STATUS_EINVAL);
    ECO_ASSERT_OK(eco_registry_alias_set(r, "champion", "B", "A"));
    ECO_ASSERT_OK(eco_registry_alias_set(r, "champion", "C", "*"));
    ECO_ASSERT_OK(eco_registry_alias_set(r, "champion", "C", "C")); /* already there: no move */
    ECO_ASSERT_OK(eco_registry_alias_set(r, "canary", "A", "*"));   /* "*" also creates */
    ECO_ASSERT_OK(eco_registry_alias_get(r, "champion", &cur));
    assert_string_equal(cur, "C");
    free(cur);

    eco_alias_change *h = NULL;
    size_t n = 0;
    ECO_ASSERT_OK(eco_registry_alias_history(r, "champion", &h, &n));
    assert_int_equal(n, 3);
    assert_null(h[0].from_id);
    assert_string_equal(h[0].to_id, "A");
    assert_string_equal(h[1].from_id, "A");
    assert_string_equal(h[1].to_id, "B");
    assert_string_equal(h[2].from_id, "B");
    assert_string_equal(h[2].to_id, "C");
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(h[i].name, "champion");
        assert_int_equal(strlen(h[i].at), 20);
        if (i) assert_true(h[i].seq > h[i - 1].seq);
    }
    eco_alias_changes_free(h, n);
    ECO_ASSERT_OK(eco_registry_alias_history(r, "nobody", &h, &n));
    assert_int_equal(n, 0);
    eco_alias_changes_free(h, n);

    /* one event per move: 3 for champion, 1 for canary */
    eco_registry_event *ev = NULL;
    ECO_ASSERT_OK(eco_registry_events(r, 0, &ev, &n));
    assert_int_equal(n, events0 + 4);
    assert_string_equal(ev[events0].type, "alias");
    assert_string_equal(ev[events0].model_id, "A");
    assert_non_null(strstr(ev[events0].detail, "\"name\":\"champion\""));
    assert_non_null(strstr(ev[events0 + 1].detail, "\"from\":\"A\""));
    eco_registry_events_free(ev, n);
    close_and_remove(r, dir);
}

static void test_events_and_reports(void **state) {
    (void)state;
    eco_registry *r;
    char *dir = fresh_registry(&r);
    reg(r, "A", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a');
    eco_registry_event *ev = NULL;
    size_t n = 0;
    ECO_ASSERT_OK(eco_registry_events(r, 0, &ev, &n));
    assert_int_equal(n, 1);
    int64_t mark = ev[0].seq;
    eco_registry_events_free(ev, n);

    ECO_ASSERT_OK(eco_registry_add_report(r, "A", "{\"task_quality\": 0.5, \"a\": [1, 2]}"));
    ECO_ASSERT_STATUS(eco_registry_add_report(r, "ghost", "{}"), ECO_STATUS_ENOTFOUND);
    ECO_ASSERT_STATUS(eco_registry_add_report(r, "A", "{not json"), ECO_STATUS_EFORMAT);
    ECO_ASSERT_STATUS(eco_registry_add_report(r, "A", "[1]"), ECO_STATUS_EFORMAT);
    ECO_ASSERT_STATUS(eco_registry_add_report(r, "A", "{\"k\": 1, \"k\": 2}"), ECO_STATUS_EFORMAT);
    reg(r, "B", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'b');

    ECO_ASSERT_OK(eco_registry_events(r, mark, &ev, &n));
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].seq, mark + 1);
    assert_int_equal(ev[1].seq, mark + 2);
    assert_string_equal(ev[0].type, "report");
    assert_string_equal(ev[0].model_id, "A");
    assert_non_null(strstr(ev[0].detail, "report_sha256"));
    assert_string_equal(ev[1].type, "register");
    assert_string_equal(ev[1].model_id, "B");
    eco_registry_events_free(ev, n);
    ECO_ASSERT_OK(eco_registry_events(r, mark + 2, &ev, &n));
    assert_int_equal(n, 0);
    eco_registry_events_free(ev, n);

    /* the report is stored canonically */
    char *db = db_path_of(dir);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *stmt;
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT model_id, report FROM reports", -1, &stmt, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "A");
    assert_string_equal((const char *)sqlite3_column_text(stmt, 1),
                        "{\"a\":[1,2],\"task_quality\":0.5}");
    assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
    sqlite3_finalize(stmt);
    sqlite3_close(h);
    free(db);
    close_and_remove(r, dir);
}

/* Each statement must fail with an "append-only" message. */
static void test_sql_triggers(void **state) {
    (void)state;
    eco_registry *r;
    char *dir = fresh_registry(&r);
    const char *caps[] = {"arith.add@1", NULL};
    reg(r, "A", ECO_GENOME_KIND_BASE, NULL, NULL, caps, 'a');
    const char *pA[] = {"A", NULL};
    reg(r, "B", ECO_GENOME_KIND_MERGED, NULL, pA, NULL, 'a');
    ECO_ASSERT_OK(eco_registry_alias_set(r, "champion", "A", NULL));
    ECO_ASSERT_OK(eco_registry_add_report(r, "A", "{}"));
    eco_registry_close(r);

    static const char *const refused[] = {
        "UPDATE models SET kind = 'merged' WHERE id = 'A'",
        "UPDATE models SET genome = '{}'",
        "DELETE FROM models WHERE id = 'B'",
        "UPDATE events SET type = 'nothing'",
        "DELETE FROM events",
        "UPDATE model_files SET size = 1",
        "DELETE FROM model_files",
        "DELETE FROM model_capabilities",
        "UPDATE lineage SET parent = 'B'",
        "DELETE FROM lineage",
        "UPDATE alias_history SET to_id = 'B'",
        "DELETE FROM alias_history",
        "UPDATE reports SET report = '{\"x\":1}'",
        "DELETE FROM reports",
    };
    char *db = db_path_of(dir);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char *msg = NULL;
        int rc = sqlite3_exec(h, refused[i], NULL, NULL, &msg);
        if (rc == SQLITE_OK || !msg || !strstr(msg, "append-only")) {
            print_error("'%s': rc %d, message '%s' (want an append-only refusal)\n", refused[i], rc,
                        msg ? msg : "");
            fail();
        }
        sqlite3_free(msg);
    }
    /* the alias itself is what moves */
    assert_int_equal(sqlite3_exec(h, "UPDATE aliases SET model_id = 'B' WHERE name = 'champion'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    free(db);

    /* and everything is still there */
    r = open_reg(dir);
    const char *all[] = {"A", "B", NULL};
    assert_list(r, NULL, all, "after refused edits");
    assert_int_equal(count_events(r), 4);
    close_and_remove(r, dir);
}

/* A writer holds the lock past the busy timeout: EIO "database busy", no crash. */
static void test_busy(void **state) {
    (void)state;
    eco_registry *r;
    char *dir = fresh_registry(&r);
    char *db = db_path_of(dir);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    eco_genome g;
    make_genome(eco_registry_store(r), &g, "late", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a',
                NULL);
    bool created = true;
    double t0 = eco_now();
    ECO_ASSERT_STATUS(eco_registry_register(r, &g, NULL, &created), ECO_STATUS_EIO);
    double waited = eco_now() - t0;
    assert_false(created);
    assert_error_mentions("database busy");
    assert_error_mentions(db);
    assert_true(waited >= 9.0);
    /* reads go on while the lock is held (WAL) */
    assert_false(eco_registry_exists(r, "late"));
    assert_int_equal(sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    ECO_ASSERT_OK(eco_registry_register(r, &g, NULL, &created));
    assert_true(created);
    eco_genome_free(&g);
    sqlite3_close(h);
    free(db);
    close_and_remove(r, dir);
}

/* ---- several processes ------------------------------------------------------------------ */

#define N_WRITERS    4
#define N_PER_WRITER 20

/* Child: waits for the start signal, then registers N_PER_WRITER models. Exit code 0 on
 * success; no cmocka calls in a child. */
static int writer_main(const char *dir, int k, int start_fd) {
    char c;
    if (read(start_fd, &c, 1) < 0) return 10;
    eco_registry_options opt = {.data_dir = dir};
    eco_registry *r = NULL;
    if (eco_registry_open(&opt, &r)) {
        fprintf(stderr, "writer %d: open: %s\n", k, eco_last_error());
        return 11;
    }
    int rc = 0;
    for (int i = -1; i < N_PER_WRITER && !rc; i++) {
        char id[32];
        /* first "shared", the same genome from every writer: one creates it, the others
         * find it there (no EEXIST, no second event) */
        if (i < 0)
            snprintf(id, sizeof id, "shared");
        else
            snprintf(id, sizeof id, "w%d-%02d", k, i);
        eco_genome g;
        const char *parents[] = {"root", NULL};
        bool created = false;
        eco_status st = eco_test_build_genome(eco_registry_store(r), &g, id, ECO_GENOME_KIND_MERGED,
                                              NULL, parents, NULL, 'a', NULL);
        if (!st) st = eco_registry_register(r, &g, NULL, &created);
        if (st || (!created && i >= 0)) {
            fprintf(stderr, "writer %d: register %s: %s: %s\n", k, id, eco_status_str(st),
                    eco_last_error());
            rc = 12;
        }
        eco_genome_free(&g);
    }
    eco_registry_close(r);
    return rc;
}

/* Child: lists while the writers run; every listed model must read back whole (its genome
 * parses and its model_files rows are all there). */
static int reader_main(const char *dir, int start_fd) {
    char c;
    if (read(start_fd, &c, 1) < 0) return 20;
    eco_registry_options opt = {.data_dir = dir};
    eco_registry *r = NULL;
    if (eco_registry_open(&opt, &r)) return 21;
    char *db = eco_path_join(dir, ECO_REGISTRY_DB_FILE);
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) return 22;
    sqlite3_busy_timeout(h, 10000);
    sqlite3_stmt *count = NULL;
    if (sqlite3_prepare_v2(h, "SELECT COUNT(*) FROM model_files WHERE model_id = ?1", -1, &count,
                           NULL))
        return 23;
    int rc = 0;
    size_t want = 2 + N_WRITERS * N_PER_WRITER, rounds = 0;
    double t0 = eco_now();
    for (;;) {
        char **ids = NULL;
        size_t n = 0;
        if (eco_registry_list(r, NULL, &ids, &n)) {
            fprintf(stderr, "reader: list: %s\n", eco_last_error());
            rc = 24;
            break;
        }
        for (size_t i = 0; i < n && !rc; i++) {
            eco_genome g;
            if (eco_registry_get(r, ids[i], &g, NULL)) {
                fprintf(stderr, "reader: get %s: %s\n", ids[i], eco_last_error());
                rc = 25;
                break;
            }
            sqlite3_reset(count);
            sqlite3_bind_text(count, 1, ids[i], -1, SQLITE_STATIC);
            if (sqlite3_step(count) != SQLITE_ROW ||
                (size_t)sqlite3_column_int64(count, 0) != g.files.n) {
                fprintf(stderr, "reader: %s: model_files rows do not match its genome\n", ids[i]);
                rc = 26;
            }
            eco_genome_free(&g);
        }
        eco_registry_ids_free(ids, n);
        rounds++;
        if (rc || n >= want) break;
        if (eco_now() - t0 > 120) {
            rc = 27;
            break;
        }
    }
    sqlite3_finalize(count);
    sqlite3_close(h);
    free(db);
    eco_registry_close(r);
    if (!rc && rounds < 2)
        fprintf(stderr, "reader: only %zu rounds (the writers finished first)\n", rounds);
    return rc;
}

static void test_concurrent_processes(void **state) {
    (void)state;
    eco_registry *r;
    char *dir = fresh_registry(&r);
    reg(r, "root", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a');
    eco_registry_close(r);
    int start[2];
    assert_int_equal(pipe(start), 0);
    pid_t pids[N_WRITERS + 1];
    for (int k = 0; k <= N_WRITERS; k++) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(start[1]);
            int rc = k < N_WRITERS ? writer_main(dir, k, start[0]) : reader_main(dir, start[0]);
            _exit(rc);
        }
        pids[k] = pid;
    }
    close(start[0]);
    close(start[1]); /* every child's read returns now: they start together */
    bool ok = true;
    for (int k = 0; k <= N_WRITERS; k++) {
        int status = 0;
        assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            print_error("%s %d: %s %d\n", k < N_WRITERS ? "writer" : "reader", k,
                        WIFEXITED(status) ? "exit" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            ok = false;
        }
    }
    assert_true(ok);

    r = open_reg(dir);
    char **ids;
    size_t n;
    ECO_ASSERT_OK(eco_registry_list(r, NULL, &ids, &n));
    assert_int_equal(n, 2 + N_WRITERS * N_PER_WRITER);
    eco_registry_ids_free(ids, n);
    /* every writer's models, in each writer's order */
    for (int k = 0; k < N_WRITERS; k++) {
        char prefix[8];
        snprintf(prefix, sizeof prefix, "w%d-", k);
        ECO_ASSERT_OK(eco_registry_descendants(r, "root", &ids, &n));
        int seen = 0;
        for (size_t i = 0; i < n; i++)
            if (strncmp(ids[i], prefix, strlen(prefix)) == 0) {
                char want[32];
                snprintf(want, sizeof want, "w%d-%02d", k, seen++);
                assert_string_equal(ids[i], want);
            }
        assert_int_equal(seen, N_PER_WRITER);
        eco_registry_ids_free(ids, n);
    }
    /* the event log: one register event per model, numbered without gaps */
    eco_registry_event *ev;
    ECO_ASSERT_OK(eco_registry_events(r, 0, &ev, &n));
    assert_int_equal(n, 2 + N_WRITERS * N_PER_WRITER);
    int shared_events = 0;
    for (size_t i = 0; i < n; i++) {
        shared_events += strcmp(ev[i].model_id, "shared") == 0;
        assert_int_equal(ev[i].seq, ev[0].seq + (int64_t)i);
        assert_string_equal(ev[i].type, "register");
    }
    assert_int_equal(shared_events, 1);
    eco_registry_events_free(ev, n);
    close_and_remove(r, dir);
}

/* ---- signatures ------------------------------------------------------------------------- */

static void copy_file(const char *src, const char *dst) {
    char *data = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_read_file(src, 1 << 20, &data, &len));
    eco_test_write_file(dst, data, len);
    free(data);
}

/* A DSSE envelope over the statement for g (subject subject_id), signed with key_path. */
static char *sign_genome(const eco_genome *g, const char *subject_id, const char *key_path) {
    eco_signing_key *k = NULL;
    ECO_ASSERT_OK(eco_signing_key_load(key_path, &k));
    json_t *gj = NULL;
    ECO_ASSERT_OK(eco_genome_to_json(g, &gj));
    char root[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_manifest_root(&g->files, root));
    char *statement = NULL, *env = NULL;
    size_t slen = 0;
    ECO_ASSERT_OK(eco_statement_build(subject_id, root, gj, &statement, &slen));
    ECO_ASSERT_OK(eco_dsse_sign(k, ECO_DSSE_PAYLOAD_TYPE, statement, slen, &env, NULL));
    free(statement);
    json_decref(gj);
    eco_signing_key_free(k);
    return env;
}

static void test_signature_policy(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    ECO_ASSERT_OK(eco_registry_init(dir));
    char *keys = eco_path_join(dir, "keys");
    char *trusted = eco_path_join(dir, "keys/trusted");
    ECO_ASSERT_OK(eco_mkdir_p(trusted));
    char keyid[ECO_KEYID_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_keys_generate(keys, "good", ECO_KEY_TYPE_ED25519, keyid));
    ECO_ASSERT_OK(eco_keys_generate(keys, "rogue", ECO_KEY_TYPE_ECDSA_P256, NULL));
    char *good_pub = eco_path_join(keys, "good.pub"),
         *good_pub_t = eco_path_join(trusted, "good.pub");
    copy_file(good_pub, good_pub_t);
    char *good_key = eco_path_join(keys, "good.key"), *rogue_key = eco_path_join(keys, "rogue.key");

    eco_registry_options opt = {.data_dir = dir, .require_signature = true};
    eco_registry *r = NULL;
    ECO_ASSERT_OK(eco_registry_open(&opt, &r));
    eco_genome g, other;
    make_genome(eco_registry_store(r), &g, "signed", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a',
                NULL);
    make_genome(eco_registry_store(r), &other, "signed", ECO_GENOME_KIND_BASE, NULL, NULL, NULL,
                'a', "other");
    bool created = false;

    ECO_ASSERT_STATUS(eco_registry_register(r, &g, NULL, &created),
                      ECO_STATUS_ESIGNATURE); /* unsigned */
    assert_error_mentions("unsigned");
    char *env_rogue = sign_genome(&g, "signed", rogue_key);
    ECO_ASSERT_STATUS(eco_registry_register(r, &g, env_rogue, &created), ECO_STATUS_ESIGNATURE);
    char *env_subject = sign_genome(&g, "someone-else", good_key);
    ECO_ASSERT_STATUS(eco_registry_register(r, &g, env_subject, &created), ECO_STATUS_ESIGNATURE);
    assert_error_mentions("someone-else");
    char *env_other = sign_genome(&other, "signed", good_key); /* another genome, same id */
    ECO_ASSERT_STATUS(eco_registry_register(r, &g, env_other, &created), ECO_STATUS_ESIGNATURE);
    other.op_seed = g.op_seed + 1; /* same files, another genome: only the predicate differs */
    for (size_t i = 0; i < other.files.n; i++) {
        free(other.files.files[i].name);
        other.files.files[i] = g.files.files[i];
        assert_non_null(other.files.files[i].name = strdup(g.files.files[i].name));
    }
    char *env_pred = sign_genome(&other, "signed", good_key);
    ECO_ASSERT_STATUS(eco_registry_register(r, &g, env_pred, &created), ECO_STATUS_ESIGNATURE);
    assert_error_mentions("predicate");
    free(env_pred);
    ECO_ASSERT_STATUS(eco_registry_register(r, &g, "{\"payload\": 5}", &created),
                      ECO_STATUS_EFORMAT);
    assert_int_equal(count_events(r), 0);
    assert_false(created);

    char *env = sign_genome(&g, "signed", good_key);
    ECO_ASSERT_OK(eco_registry_register(r, &g, env, &created));
    assert_true(created);
    ECO_ASSERT_OK(eco_registry_register(r, &g, NULL, &created)); /* already there: a no-op */
    assert_false(created);
    eco_genome got;
    char *env_got = NULL;
    ECO_ASSERT_OK(eco_registry_get(r, "signed", &got, &env_got));
    assert_non_null(env_got);
    assert_string_equal(env_got, env);
    free(env_got);
    eco_genome_free(&got);
    eco_registry_event *ev;
    size_t n;
    ECO_ASSERT_OK(eco_registry_events(r, 0, &ev, &n));
    assert_int_equal(n, 1);
    assert_non_null(strstr(ev[0].detail, keyid)); /* which key signed it */
    eco_registry_events_free(ev, n);
    eco_registry_close(r);

    /* without require_signature: unsigned is fine, but an envelope about something else is not */
    eco_genome u;
    opt.require_signature = false;
    ECO_ASSERT_OK(eco_registry_open(&opt, &r));
    make_genome(eco_registry_store(r), &u, "unsigned", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a',
                NULL);
    ECO_ASSERT_STATUS(eco_registry_register(r, &u, env, &created), ECO_STATUS_ESIGNATURE);
    ECO_ASSERT_OK(eco_registry_register(r, &u, NULL, &created));
    assert_true(created);
    eco_genome_free(&u);
    /* an untrusted key is accepted when signatures are not required */
    make_genome(eco_registry_store(r), &u, "rogue-signed", ECO_GENOME_KIND_BASE, NULL, NULL, NULL,
                'a', NULL);
    char *env_u = sign_genome(&u, "rogue-signed", rogue_key);
    ECO_ASSERT_OK(eco_registry_register(r, &u, env_u, &created));
    free(env_u);
    eco_genome_free(&u);
    eco_registry_close(r);

    /* the folder's policy binds an opener that does not ask for signatures */
    ECO_ASSERT_OK(eco_registry_policy_set(dir, true));
    ECO_ASSERT_OK(eco_registry_open(&opt, &r));
    make_genome(eco_registry_store(r), &u, "unsigned2", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a',
                NULL);
    ECO_ASSERT_STATUS(eco_registry_register(r, &u, NULL, &created), ECO_STATUS_ESIGNATURE);
    eco_genome_free(&u);
    eco_registry_close(r);

    /* an explicit trusted_dir without the key */
    char *empty = eco_path_join(dir, "no-keys");
    ECO_ASSERT_OK(eco_mkdir_p(empty));
    eco_registry_options opt2 = {.data_dir = dir, .require_signature = true, .trusted_dir = empty};
    ECO_ASSERT_OK(eco_registry_open(&opt2, &r));
    make_genome(eco_registry_store(r), &u, "signed2", ECO_GENOME_KIND_BASE, NULL, NULL, NULL, 'a',
                NULL);
    char *env2 = sign_genome(&u, "signed2", good_key);
    ECO_ASSERT_STATUS(eco_registry_register(r, &u, env2, &created), ECO_STATUS_ESIGNATURE);
    free(env2);
    eco_genome_free(&u);
    eco_registry_close(r);

    free(empty);
    free(env);
    free(env_rogue);
    free(env_subject);
    free(env_other);
    eco_genome_free(&g);
    eco_genome_free(&other);
    free(good_pub);
    free(good_pub_t);
    free(good_key);
    free(rogue_key);
    free(keys);
    free(trusted);
    eco_test_rmtree(dir);
    free(dir);
}

/* policy.json is read with the core JSON reader: a hostile key is shown escaped, a wrong
 * type names the field. */
static void test_policy_file(void **state) {
    (void)state;
    char *tmp = eco_test_tmpdir();
    char *p = eco_path_join(tmp, "policy.json");
    bool req = true;
    ECO_ASSERT_OK(eco_registry_policy_get(tmp, &req)); /* no file: off */
    assert_false(req);
    static const struct {
        const char *text;
        eco_status want;
        const char *msg;
    } cases[] = {
        {"{\"require_signature\": true}", ECO_STATUS_OK, NULL},
        {"{\"require_signature\": 1}", ECO_STATUS_EFORMAT,
         "policy.json: require_signature: expected true or false"},
        {"{\"x\\u001b[2J\": true}", ECO_STATUS_EFORMAT, "policy.json: unknown field 'x\\x1b[2J'"},
        {"[]", ECO_STATUS_EFORMAT, "policy.json: expected an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ECO_ASSERT_OK(eco_write_file_atomic(p, cases[i].text, strlen(cases[i].text)));
        req = false;
        ECO_ASSERT_STATUS(eco_registry_policy_get(tmp, &req), cases[i].want);
        if (cases[i].msg)
            assert_non_null(strstr(eco_last_error(), cases[i].msg));
        else
            assert_true(req);
    }
    eco_test_rmtree(tmp);
    free(p);
    free(tmp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_idempotent),
        cmocka_unit_test(test_register_get),
        cmocka_unit_test(test_register_twice),
        cmocka_unit_test(test_register_missing),
        cmocka_unit_test(test_list_filters),
        cmocka_unit_test(test_lineage_diamond),
        cmocka_unit_test(test_alias_cas),
        cmocka_unit_test(test_events_and_reports),
        cmocka_unit_test(test_sql_triggers),
        cmocka_unit_test(test_concurrent_processes),
        cmocka_unit_test(test_signature_policy),
        cmocka_unit_test(test_busy),
        cmocka_unit_test(test_read_only_open),
        cmocka_unit_test(test_check_genome_hash),
        cmocka_unit_test(test_gc),
        cmocka_unit_test(test_policy_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
