/* registry corpora and reports (issue 19): a version-1 registry (the new tables and columns
 * taken away again with SQL, the report rows kept) read as it is read-only and upgraded by a
 * writable open, its reports' indexed columns filled from their text and the append-only
 * trigger back; corpus add idempotent and immutable (kind, hidden flag, identity checked
 * against the bytes), found by identity or by store object, kept by gc; the deny list; the
 * lineage's training corpora and the contamination rule on a lineage of genomes built here
 * (the hidden corpus itself, an exact prompt, an n-gram overlap, content the registry lacks,
 * a clean corpus). */
#include "test_util.h"

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ecology/eval_contamination.h"
#include "ecology/registry.h"
#include "ecology/verifier.h"

#define TIME0 "2026-11-28T01:02:03Z"

typedef struct fx {
    char *dir, *data;
    eco_registry *r;
} fx;

static void fx_open(fx *f) {
    f->dir = eco_test_tmpdir();
    f->data = eco_path_join(f->dir, "data");
    assert_non_null(f->data);
    ECO_ASSERT_OK(eco_registry_init(f->data));
    eco_registry_options o = {.data_dir = f->data};
    ECO_ASSERT_OK(eco_registry_open(&o, &f->r));
}

static void fx_close(fx *f) {
    eco_registry_close(f->r);
    eco_test_rmtree(f->dir);
    free(f->data);
    free(f->dir);
}

/* Writes text to dir/name; returns the path (malloc'd). */
static char *put(const char *dir, const char *name, const char *text) {
    char *p = eco_path_join(dir, name);
    assert_non_null(p);
    eco_test_write_file(p, text, strlen(text));
    return p;
}

/* Registers a base-kind genome named id with one stored file, naming corpus (may be NULL) as
 * its training corpus, with parent (may be NULL). */
static void reg_model(eco_registry *r, const char *id, const char *parent, const char *corpus) {
    eco_genome g;
    memset(&g, 0, sizeof g);
    g.kind = parent ? ECO_GENOME_KIND_MERGED : ECO_GENOME_KIND_BASE;
    memset(g.compatibility.base_family, 'a', ECO_SHA256_HEX_LEN);
    memset(g.compatibility.architecture_hash, 'b', ECO_SHA256_HEX_LEN);
    memset(g.compatibility.tokenizer_hash, 'c', ECO_SHA256_HEX_LEN);
    memset(g.compatibility.tensor_schema_hash, 'd', ECO_SHA256_HEX_LEN);
    g.id = strdup(id);
    g.interface_version = strdup("text-generation@1");
    g.op_name = strdup(parent ? "train" : "import");
    g.op_params = json_object();
    if (parent) {
        g.parents = calloc(1, sizeof(char *));
        g.parents[0] = strdup(parent);
        g.n_parents = 1;
    }
    if (corpus) {
        g.corpora = calloc(1, sizeof(char *));
        g.corpora[0] = strdup(corpus);
        g.n_corpora = 1;
    }
    g.files.files = calloc(1, sizeof *g.files.files);
    g.files.files[0].name = strdup("config.json");
    char content[128];
    int len = snprintf(content, sizeof content, "config of %s", id);
    g.files.files[0].size = (uint64_t)len;
    ECO_ASSERT_OK(
        eco_store_put_bytes(eco_registry_store(r), content, (size_t)len, g.files.files[0].sha256));
    g.files.n = 1;
    g.created_at = strdup(TIME0);
    g.tool_version = strdup("tiny-ecology 0.1.0");
    bool created = false;
    ECO_ASSERT_OK(eco_registry_register(r, &g, NULL, &created));
    assert_true(created);
    eco_genome_free(&g);
}

static void exec_sql(const char *db_path, const char *sql) {
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) fprintf(stderr, "sql: %s\n", err ? err : "?");
    sqlite3_free(err);
    assert_int_equal(rc, SQLITE_OK);
    sqlite3_close(db);
}

#define REPORT1                                                                                    \
    "{\"corpus\":\"1111111111111111111111111111111111111111111111111111111111111111\","            \
    "\"evaluator_version\":\"1\",\"gates\":null,\"verdict\":{\"accepted\":true,\"fitness\":"       \
    "{\"timing\":{\"total\":0.75}}}}"

static void test_migration_from_v1(void **state) {
    (void)state;
    fx f;
    fx_open(&f);
    reg_model(f.r, "m1", NULL, NULL);
    ECO_ASSERT_OK(eco_registry_add_report(f.r, "m1", REPORT1));
    ECO_ASSERT_OK(eco_registry_add_report(f.r, "m1", "{\"note\":\"not an eval report\"}"));
    eco_registry_close(f.r);
    f.r = NULL;
    /* back to version 1: what version 2 added, removed */
    char *db = eco_path_join(f.data, ECO_REGISTRY_DB_FILE);
    exec_sql(db, "DROP TABLE corpora; DROP TABLE corpus_deny; DROP INDEX reports_corpus;"
                 "DROP TRIGGER reports_no_update; DROP TRIGGER reports_no_delete;"
                 "ALTER TABLE reports DROP COLUMN corpus; ALTER TABLE reports DROP COLUMN gates;"
                 "ALTER TABLE reports DROP COLUMN evaluator_version;"
                 "ALTER TABLE reports DROP COLUMN accepted; ALTER TABLE reports DROP COLUMN "
                 "fitness;"
                 "CREATE TRIGGER reports_no_update BEFORE UPDATE ON reports BEGIN SELECT "
                 "RAISE(ABORT, 'reports is append-only'); END;"
                 "CREATE TRIGGER reports_no_delete BEFORE DELETE ON reports BEGIN SELECT "
                 "RAISE(ABORT, 'reports is append-only'); END;"
                 "PRAGMA user_version=1;");

    /* read-only: read as it is (no corpora; report figures from the text) */
    eco_registry_options ro = {.data_dir = f.data, .read_only = true};
    ECO_ASSERT_OK(eco_registry_open(&ro, &f.r));
    eco_registry_report *rep = NULL;
    size_t n = 0;
    ECO_ASSERT_OK(eco_registry_reports(f.r, "m1", NULL, &rep, &n));
    assert_int_equal(n, 2);
    assert_string_equal(rep[0].corpus,
                        "1111111111111111111111111111111111111111111111111111111111111111");
    assert_int_equal(rep[0].accepted, 1);
    assert_true(fabs(rep[0].fitness - 0.75) < 1e-12);
    assert_null(rep[1].corpus);
    assert_int_equal(rep[1].accepted, -1);
    assert_true(isnan(rep[1].fitness));
    eco_registry_reports_free(rep, n);
    eco_corpus_info *c = NULL;
    ECO_ASSERT_OK(eco_registry_corpus_list(f.r, &c, &n));
    assert_int_equal(n, 0);
    eco_registry_close(f.r);

    /* writable: upgraded, columns filled, queryable by corpus */
    eco_registry_options rw = {.data_dir = f.data};
    ECO_ASSERT_OK(eco_registry_open(&rw, &f.r));
    ECO_ASSERT_OK(eco_registry_reports(
        f.r, NULL, "1111111111111111111111111111111111111111111111111111111111111111", &rep, &n));
    assert_int_equal(n, 1);
    assert_string_equal(rep[0].evaluator_version, "1");
    assert_null(rep[0].gates);
    assert_int_equal(rep[0].accepted, 1);
    eco_registry_reports_free(rep, n);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2);
    sqlite3_finalize(st);
    /* the append-only trigger survived the backfill */
    assert_int_not_equal(sqlite3_exec(h, "UPDATE reports SET corpus = 'x'", NULL, NULL, NULL),
                         SQLITE_OK);
    sqlite3_close(h);
    /* a new report's columns; the check still passes */
    ECO_ASSERT_OK(eco_registry_add_report(f.r, "m1", REPORT1));
    ECO_ASSERT_OK(eco_registry_reports(f.r, "m1", NULL, &rep, &n));
    assert_int_equal(n, 3);
    assert_string_equal(rep[2].corpus, rep[0].corpus);
    eco_registry_reports_free(rep, n);
    ECO_ASSERT_OK(eco_registry_check(f.r, true, NULL, NULL));
    free(db);
    fx_close(&f);
}

static const char EVAL1[] =
    "{\"capability\":\"qa@1\",\"prompt\":\"Question: which whale did the captain of the Pequod "
    "hunt across the seas?\",\"check\":\"contains\",\"expected\":\"white\",\"id\":\"whale\"}\n"
    "{\"capability\":\"qa@1\",\"prompt\":\"Reverse: ship\",\"check\":\"exact\",\"expected\":"
    "\"pihs\"}\n";

/* Records the file path as a corpus of kind with identity sha (NULL: the file's SHA-256). */
static eco_status add(eco_registry *r, const char *path, eco_corpus_kind kind, bool hidden,
                      const char *sha, bool *created) {
    eco_corpus_info in = {.kind = kind, .hidden = hidden, .count = 2};
    if (sha) {
        snprintf(in.sha256, sizeof in.sha256, "%s", sha);
    } else {
        char *data = NULL;
        size_t len = 0;
        ECO_ASSERT_OK(eco_read_file(path, 1 << 20, &data, &len));
        ECO_ASSERT_OK(eco_sha256_hex(data, len, in.sha256));
        free(data);
    }
    return eco_registry_corpus_add(r, path, &in, created, NULL);
}

static void test_corpus_add(void **state) {
    (void)state;
    fx f;
    fx_open(&f);
    char *ev = put(f.dir, "eval.jsonl", EVAL1);
    char *tr = put(f.dir, "train.jsonl", "{\"prompt\":\"a\",\"completion\":\"b\"}\n");
    bool created = false;
    ECO_ASSERT_OK(add(f.r, ev, ECO_CORPUS_EVAL, true, NULL, &created));
    assert_true(created);
    ECO_ASSERT_OK(add(f.r, ev, ECO_CORPUS_EVAL, true, NULL, &created));
    assert_false(created);
    assert_int_equal(add(f.r, ev, ECO_CORPUS_EVAL, false, NULL, &created), ECO_STATUS_EEXIST);
    assert_non_null(strstr(eco_last_error(), "hidden flag"));
    /* an eval corpus is named by its bytes */
    assert_int_equal(add(f.r, tr, ECO_CORPUS_EVAL, false, NULL, &created), ECO_STATUS_OK);
    char other[ECO_SHA256_HEX_LEN + 1];
    memset(other, 'e', ECO_SHA256_HEX_LEN);
    other[ECO_SHA256_HEX_LEN] = '\0';
    assert_int_equal(add(f.r, ev, ECO_CORPUS_EVAL, false, other, &created), ECO_STATUS_EINTEGRITY);
    /* a training corpus: its identity is the caller's (the canonical hash); never hidden */
    assert_int_equal(add(f.r, tr, ECO_CORPUS_TRAIN, true, other, &created), ECO_STATUS_EINVAL);
    ECO_ASSERT_OK(add(f.r, tr, ECO_CORPUS_TRAIN, false, other, &created));
    assert_true(created);
    eco_corpus_info c;
    ECO_ASSERT_OK(eco_registry_corpus_get(f.r, other, &c));
    assert_int_equal(c.kind, ECO_CORPUS_TRAIN);
    char obj[ECO_SHA256_HEX_LEN + 1];
    memcpy(obj, c.object, sizeof obj);
    eco_corpus_info_free(&c);
    ECO_ASSERT_OK(eco_registry_corpus_get(f.r, obj, &c)); /* by store object */
    eco_corpus_info_free(&c);
    eco_corpus_info *all = NULL;
    size_t n = 0;
    ECO_ASSERT_OK(eco_registry_corpus_list(f.r, &all, &n));
    assert_int_equal(n, 3);
    assert_true(all[0].hidden);
    eco_corpus_infos_free(all, n);
    /* gc keeps corpus files */
    eco_gc_object *gone = NULL;
    uint64_t bytes = 0;
    ECO_ASSERT_OK(eco_registry_gc(f.r, false, &gone, &n, &bytes));
    assert_int_equal(n, 0);
    free(gone);
    ECO_ASSERT_OK(eco_registry_corpus_get(f.r, other, &c));
    char *path = NULL;
    bool present = false;
    ECO_ASSERT_OK(eco_registry_corpus_path(f.r, &c, &path, &present));
    assert_true(present);
    free(path);
    eco_corpus_info_free(&c);
    /* registry check covers corpus files: a removed one is named */
    size_t nm = 0, no = 0;
    ECO_ASSERT_OK(eco_registry_check(f.r, true, &nm, &no));
    assert_int_equal(no, 3);
    ECO_ASSERT_OK(eco_registry_corpus_get(f.r, other, &c));
    ECO_ASSERT_OK(eco_registry_corpus_path(f.r, &c, &path, &present));
    assert_int_equal(unlink(path), 0);
    free(path);
    assert_int_equal(eco_registry_check(f.r, false, NULL, NULL), ECO_STATUS_ENOTFOUND);
    assert_non_null(strstr(eco_last_error(), "not in the store"));
    eco_corpus_info_free(&c);
    /* the deny list */
    bool denied = true;
    ECO_ASSERT_OK(eco_registry_corpus_denied(f.r, other, &denied, NULL));
    assert_false(denied);
    ECO_ASSERT_OK(eco_registry_corpus_deny(f.r, other, "withdrawn", &created));
    assert_true(created);
    ECO_ASSERT_OK(eco_registry_corpus_deny(f.r, other, NULL, &created));
    assert_false(created);
    char *reason = NULL;
    ECO_ASSERT_OK(eco_registry_corpus_denied(f.r, other, &denied, &reason));
    assert_true(denied);
    assert_string_equal(reason, "withdrawn");
    free(reason);
    free(ev);
    free(tr);
    fx_close(&f);
}

/* Adds a training corpus file with text; its identity (a made-up canonical hash, as the
 * CLI would compute with data.h) is hex digit c repeated. */
static void add_train(fx *f, const char *name, const char *text, char c, char out[65]) {
    char *p = put(f->dir, name, text);
    memset(out, c, ECO_SHA256_HEX_LEN);
    out[ECO_SHA256_HEX_LEN] = '\0';
    bool created = false;
    ECO_ASSERT_OK(add(f->r, p, ECO_CORPUS_TRAIN, false, out, &created));
    assert_true(created);
    free(p);
}

/* The failures of the contamination rule for model id on the hidden corpus h. */
static void contamination(fx *f, const char *id, const eco_eval_corpus *h,
                          eco_artifact_failures *out) {
    memset(out, 0, sizeof *out);
    const char *ids[] = {id};
    ECO_ASSERT_OK(eco_eval_contamination(f->r, ids, 1, h, out));
    char *text = eco_artifact_failures_text(out);
    printf("  %s: %s\n", id, text && *text ? text : "clean");
    free(text);
}

static void test_contamination(void **state) {
    (void)state;
    fx f;
    fx_open(&f);
    char *hp = put(f.dir, "hidden.jsonl", EVAL1);
    bool created = false;
    ECO_ASSERT_OK(add(f.r, hp, ECO_CORPUS_EVAL, true, NULL, &created));
    eco_eval_corpus *h = NULL;
    ECO_ASSERT_OK(eco_eval_corpus_load(hp, &h));
    char clean[65], exact[65], ngram[65], missing[65];
    add_train(&f, "clean.jsonl", "{\"prompt\":\"Reverse: boat\",\"completion\":\"taob\"}\n", '1',
              clean);
    add_train(&f, "exact.jsonl",
              "{\"prompt\":\"Sort: b a\",\"completion\":\"a b\"}\n\n"
              "{\"prompt\":\"Reverse: ship\",\"completion\":\"pihs\"}\n",
              '2', exact);
    add_train(&f, "ngram.jsonl",
              "{\"text\":\"Ishmael asked which whale did the captain of the Pequod hunt across the "
              "seas, and why.\"}\n",
              '3', ngram);
    memset(missing, '4', ECO_SHA256_HEX_LEN);
    missing[ECO_SHA256_HEX_LEN] = '\0';
    reg_model(f.r, "root", NULL, NULL);
    reg_model(f.r, "clean", "root", clean);
    reg_model(f.r, "on-hidden", "root", h->sha256_hex);
    reg_model(f.r, "exact", "clean", exact); /* the leak is one generation down */
    reg_model(f.r, "ngram", "root", ngram);
    reg_model(f.r, "missing", "root", missing);

    eco_artifact_failures fl;
    contamination(&f, "clean", h, &fl);
    assert_int_equal(fl.n, 0);
    eco_artifact_failures_free(&fl);

    contamination(&f, "on-hidden", h, &fl);
    assert_int_equal(fl.n, 1);
    assert_string_equal(fl.v[0].check, "no-train.hidden");
    eco_artifact_failures_free(&fl);

    contamination(&f, "exact", h, &fl);
    assert_int_equal(fl.n, 1);
    assert_string_equal(fl.v[0].check, "no-train.prompt");
    assert_non_null(strstr(fl.v[0].detail, "case line 2 has the prompt of training corpus"));
    assert_non_null(strstr(fl.v[0].detail, "line 3 (lineage of 'exact')"));
    eco_artifact_failures_free(&fl);

    contamination(&f, "ngram", h, &fl);
    assert_int_equal(fl.n, 1);
    assert_string_equal(fl.v[0].check, "no-train.ngram");
    assert_non_null(strstr(fl.v[0].detail, "case line 1 (id whale)"));
    assert_non_null(strstr(fl.v[0].detail, "containment 0.833"));
    eco_artifact_failures_free(&fl);

    contamination(&f, "missing", h, &fl);
    assert_int_equal(fl.n, 1);
    assert_string_equal(fl.v[0].check, "no-train.unknown");
    eco_artifact_failures_free(&fl);

    /* w-fixreg: a training file starting with a UTF-8 BOM is read past it (as the trainer
     * does), so its first line is checked */
    char bom[65], badline[65], shortp[65];
    add_train(&f, "bom.jsonl",
              "\xEF\xBB\xBF{\"prompt\":\"Reverse: ship\",\"completion\":\"pihs\"}\n", '5', bom);
    reg_model(f.r, "bom", "root", bom);
    contamination(&f, "bom", h, &fl);
    assert_int_equal(fl.n, 1);
    assert_string_equal(fl.v[0].check, "no-train.prompt");
    assert_non_null(strstr(fl.v[0].detail, "line 1 (lineage of 'bom')"));
    eco_artifact_failures_free(&fl);
    /* a line that is not a record cannot be shown clean: no-train.unknown naming it */
    add_train(&f, "badline.jsonl",
              "{\"prompt\":\"Reverse: boat\",\"completion\":\"taob\"}\n{\"prompt\": \"Reverse: sh\n"
              "[\"Reverse: ship\"]\n",
              '6', badline);
    reg_model(f.r, "badline", "root", badline);
    contamination(&f, "badline", h, &fl);
    assert_int_equal(fl.n, 1);
    assert_string_equal(fl.v[0].check, "no-train.unknown");
    assert_non_null(strstr(fl.v[0].detail, "line 2 is not a"));
    eco_artifact_failures_free(&fl);
    /* a prompt shorter than 8 words ("Reverse: ship", 2) inside a longer training text */
    add_train(&f, "short.jsonl", "{\"text\":\"Reverse: ship\\npihs\"}\n", '7', shortp);
    reg_model(f.r, "short", "root", shortp);
    contamination(&f, "short", h, &fl);
    assert_int_equal(fl.n, 1);
    assert_string_equal(fl.v[0].check, "no-train.ngram");
    assert_non_null(strstr(fl.v[0].detail, "case line 2: its prompt's 2 words occur"));
    eco_artifact_failures_free(&fl);

    /* w-fixreg: a corpus sharing a case with the recorded hidden one is hidden (the hidden
     * corpus plus a blank line, or one case of it among others); an unrelated one is not */
    static const char OTHER[] = "{\"capability\":\"qa@1\",\"prompt\":\"Reverse: boat\","
                                "\"check\":\"exact\",\"expected\":\"taob\"}\n";
    char edited[sizeof EVAL1 + 1];
    snprintf(edited, sizeof edited, "%s\n", EVAL1);
    const char *texts[] = {edited, OTHER,
                           "{\"capability\":\"qa@1\",\"prompt\":\"Reverse: "
                           "ship\",\"check\":\"exact\",\"expected\":\"pihs\"}\n"};
    const size_t want[] = {1, 0, 1};
    for (size_t i = 0; i < 3; i++) {
        eco_eval_corpus *c = NULL, **hv = NULL;
        size_t nh = 9;
        ECO_ASSERT_OK(eco_eval_corpus_parse(texts[i], strlen(texts[i]), "edited.jsonl", &c));
        ECO_ASSERT_OK(eco_eval_hidden_corpora(f.r, c, &hv, &nh));
        printf("  corpus %zu: %zu hidden corpora share its cases\n", i, nh);
        assert_int_equal(nh, want[i]);
        if (nh) assert_string_equal(hv[0]->sha256_hex, h->sha256_hex);
        eco_eval_corpora_free(hv, nh);
        eco_eval_corpus_free(c);
    }

    /* the registry-only rules of the artifact checks: hidden corpus and deny list */
    eco_artifact_check_options ao = {.model_id = "on-hidden"};
    memset(&fl, 0, sizeof fl);
    ECO_ASSERT_OK(eco_artifact_check(f.r, &ao, &fl));
    assert_int_equal(fl.n, 2); /* unsigned, and trained on a hidden corpus */
    assert_string_equal(fl.v[0].check, "signature");
    assert_string_equal(fl.v[1].check, "no-train.hidden");
    eco_artifact_failures_free(&fl);
    ECO_ASSERT_OK(eco_registry_corpus_deny(f.r, clean, NULL, &created));
    ao.model_id = "exact";
    ECO_ASSERT_OK(eco_artifact_check(f.r, &ao, &fl));
    assert_int_equal(fl.n, 2);
    assert_string_equal(fl.v[1].check, "no-train.deny");
    assert_non_null(strstr(fl.v[1].detail, "(lineage of 'clean')"));
    eco_artifact_failures_free(&fl);

    eco_eval_corpus_free(h);
    free(hp);
    fx_close(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migration_from_v1),
        cmocka_unit_test(test_corpus_add),
        cmocka_unit_test(test_contamination),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
