/*
 * Breeding over the registry (src/breeder/breed*.c, src/registry/lineage_record.c) on the
 * shipped eco-tiny model and its adapters, in a temporary data folder:
 *   - the operator table: lookup by name, unknown names listed, supports() counting parents
 *     and kinds, the compatibility refusal naming the first field that differs;
 *   - eco_breed: a signed child registered with its lineage (operation, params, parents),
 *     verified; a working folder left behind by nobody; every operator family through
 *     its folder function (merges of full models and adapters, mutate, crossover, prune,
 *     quantize, finetune), the ones that draw re-run to the same bytes;
 *   - eco_breed_chain: steps into one child (a recipe), its lineage, its re-run, a refused
 *     step named;
 *   - incompatible parents (a model created with the tiny preset) refused, refused flag set,
 *     reason naming base_family and suggesting distill;
 *   - eco_breed_rerun: the same bytes; a child not bred refused;
 *   - lineage.json's general form accepted (kind, parents found by digest, result kept in
 *     params, corpora), and a table of malformed records each refused with EFORMAT naming
 *     the field.
 */
#include "test_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ecology/breeder.h"
#include "ecology/model.h"
#include "ecology/registry.h"
#include "ecology/signing.h"

#define CREATED "2026-11-28T00:00:00Z"

typedef struct fixture {
    char *tmp, *data, *key, *base_dir, *arith_dir, *sort_dir;
    char base_sha[ECO_SHA256_HEX_LEN + 1]; /* eco-tiny's model.safetensors */
    eco_registry *r;
} fixture;

static void copy_file(const char *from, const char *to) {
    char *text = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_read_file(from, 64u << 20, &text, &len));
    eco_test_write_file(to, text, len);
    free(text);
}

static void add_dir(fixture *f, const char *dir, const char *id) {
    eco_add_options o = {.id = id, .sign_key = f->key, .created_at = CREATED};
    ECO_ASSERT_OK(eco_registry_add_dir(f->r, dir, &o, NULL));
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->tmp = eco_test_tmpdir();
    f->data = eco_path_join(f->tmp, "data");
    f->base_dir = eco_test_source_path("data/models/eco-tiny");
    f->arith_dir = eco_test_source_path("data/adapters/arith.add@1");
    f->sort_dir = eco_test_source_path("data/adapters/text.sort@1");
    f->key = eco_test_registry_with_key(f->data, &f->r);
    add_dir(f, f->base_dir, "eco-tiny");
    add_dir(f, f->arith_dir, "arith");
    add_dir(f, f->sort_dir, "sort");
    char *w = eco_path_join(f->base_dir, "model.safetensors");
    ECO_ASSERT_OK(eco_sha256_file_hex(w, f->base_sha));
    free(w);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    eco_registry_close(f->r);
    eco_test_rmtree(f->tmp);
    free(f->tmp);
    free(f->data);
    free(f->key);
    free(f->base_dir);
    free(f->arith_dir);
    free(f->sort_dir);
    free(f);
    return 0;
}

/* Whether <data>/work holds anything (a run must remove its working folder). */
static bool work_left(const fixture *f) {
    char *work = eco_path_join(f->data, "work");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "test -n \"$(ls -A '%s' 2>/dev/null)\"", work);
    free(work);
    return system(cmd) == 0;
}

static void test_op_table(void **state) {
    (void)state;
    assert_true(eco_breeder_op_count() >= 16);
    static const char *const names[] = {"linear",    "task_arithmetic", "ties",    "dare_linear",
                                        "dare_ties", "breadcrumbs",     "della",   "slerp",
                                        "mutate",    "crossover",       "prune",   "extract",
                                        "quantize",  "finetune",        "distill", "fold"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const eco_breeder_op *op = NULL;
        ECO_ASSERT_OK(eco_breeder_op_find(names[i], &op));
        assert_string_equal(op->name, names[i]);
        assert_non_null(op->supports);
        assert_non_null(op->breed);
        assert_int_equal(eco_breeder_op_is_parametric(op), strcmp(names[i], "distill") != 0);
    }
    const eco_breeder_op *op = NULL;
    ECO_ASSERT_STATUS(eco_breeder_op_find("blend", &op), ECO_STATUS_EINVAL);
    assert_null(op);
    assert_non_null(strstr(eco_last_error(), "'blend'"));
    assert_non_null(strstr(eco_last_error(), "dare_ties"));
    /* records map back to their operators */
    json_t *p = json_pack("{s:s}", "method", "ties");
    ECO_ASSERT_OK(eco_breeder_op_for_record("merge", p, &op));
    assert_string_equal(op->name, "ties");
    json_decref(p);
    p = json_pack("{s:{}}", "lora");
    ECO_ASSERT_OK(eco_breeder_op_for_record("merge", p, &op));
    assert_string_equal(op->name, "fold");
    ECO_ASSERT_OK(eco_breeder_op_for_record("mutate", p, &op));
    assert_string_equal(op->name, "mutate");
    ECO_ASSERT_STATUS(eco_breeder_op_for_record("train", p, &op), ECO_STATUS_EINVAL);
    json_decref(p);
}

/* genomes differing in one compatibility field each: the refusal names that field. */
static void test_compat_reason(void **state) {
    (void)state;
    eco_genome a = {0}, b = {0};
    a.id = "a";
    b.id = "b";
    memset(&a.compatibility, 'a', sizeof a.compatibility);
    a.compatibility.base_family[ECO_SHA256_HEX_LEN] = a.compatibility.architecture_hash[64] = 0;
    a.compatibility.tokenizer_hash[64] = a.compatibility.tensor_schema_hash[64] = 0;
    static const char *const fields[] = {"base_family", "architecture_hash", "tokenizer_hash",
                                         "tensor_schema_hash"};
    const eco_breeder_op *lin = NULL;
    ECO_ASSERT_OK(eco_breeder_op_find("linear", &lin));
    for (int k = 0; k < 4; k++) {
        b.compatibility = a.compatibility;
        char *fld[] = {b.compatibility.base_family, b.compatibility.architecture_hash,
                       b.compatibility.tokenizer_hash, b.compatibility.tensor_schema_hash};
        fld[k][7] = 'b';
        /* later fields differing too: the first one is named */
        for (int j = k + 1; j < 4; j++) fld[j][3] = 'c';
        const eco_genome *gs[] = {&a, &b};
        char reason[512];
        assert_false(eco_breed_compatible(gs, 2, reason, sizeof reason));
        char want[64];
        snprintf(want, sizeof want, "differ in %s:", fields[k]);
        assert_non_null(strstr(reason, want));
        assert_non_null(strstr(reason, "distill"));
        /* ... and the later fields that differ as well, in order */
        if (k < 3) {
            char tail[160] = "they also differ in ";
            for (int j = k + 1; j < 4; j++)
                snprintf(tail + strlen(tail), sizeof tail - strlen(tail), "%s%s", fields[j],
                         j < 3 ? ", " : ";");
            assert_non_null(strstr(reason, tail));
        } else {
            assert_null(strstr(reason, "also differ"));
        }
        assert_false(lin->supports(lin, gs, 2, false, reason, sizeof reason));
        assert_non_null(strstr(reason, want));
    }
    b.compatibility = a.compatibility;
    const eco_genome *gs[] = {&a, &b};
    char reason[512];
    assert_true(eco_breed_compatible(gs, 2, reason, sizeof reason));
    assert_true(lin->supports(lin, gs, 2, false, reason, sizeof reason));
    /* counts: slerp exactly two; fold a model then an adapter; no base for mutate */
    const eco_breeder_op *op = NULL;
    ECO_ASSERT_OK(eco_breeder_op_find("slerp", &op));
    assert_false(op->supports(op, gs, 1, false, reason, sizeof reason));
    assert_non_null(strstr(reason, "exactly 2"));
    ECO_ASSERT_OK(eco_breeder_op_find("mutate", &op));
    assert_false(op->supports(op, gs, 2, true, reason, sizeof reason));
    assert_non_null(strstr(reason, "no base"));
    ECO_ASSERT_OK(eco_breeder_op_find("fold", &op));
    b.kind = ECO_GENOME_KIND_ADAPTER;
    assert_true(op->supports(op, gs, 2, false, reason, sizeof reason));
    const eco_genome *rev[] = {&b, &a};
    assert_false(op->supports(op, rev, 2, false, reason, sizeof reason));
    assert_non_null(strstr(reason, "does not fit"));
    /* all adapters or all models for a merge */
    assert_false(lin->supports(lin, gs, 2, false, reason, sizeof reason));
    assert_non_null(strstr(reason, "all full models or all adapters"));
}

static void test_breed_fold_registers_signed_child(void **state) {
    fixture *f = *state;
    const char *parents[] = {"eco-tiny", "arith"};
    eco_breed_options o = {.op = "fold",
                           .parents = parents,
                           .n_parents = 2,
                           .id = "child",
                           .sign_key = f->key,
                           .created_at = CREATED};
    eco_breed_result res;
    ECO_ASSERT_OK(eco_breed(f->r, &o, &res));
    assert_false(res.refused);
    assert_string_equal(res.id, "child");
    assert_int_equal(res.genome.kind, ECO_GENOME_KIND_MERGED);
    assert_string_equal(res.genome.op_name, "merge");
    assert_non_null(json_object_get(res.genome.op_params, "lora"));
    assert_int_equal(res.genome.n_parents, 2);
    assert_string_equal(res.genome.parents[0], "eco-tiny");
    assert_string_equal(res.genome.parents[1], "arith");
    assert_string_equal(res.genome.base, "eco-tiny");
    assert_non_null(eco_manifest_find(&res.genome.files, ECO_LINEAGE_FILE));
    eco_breed_result_free(&res);
    char keyid[ECO_KEYID_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_registry_verify(f->r, "child", keyid));
    eco_genome g = {0};
    ECO_ASSERT_OK(eco_registry_get(f->r, "child", &g, NULL));
    assert_int_equal(g.kind, ECO_GENOME_KIND_MERGED);
    eco_genome_free(&g);
    assert_false(work_left(f));

    /* the recorded operation re-runs to the same bytes */
    eco_breed_rerun_report rep;
    ECO_ASSERT_OK(eco_breed_rerun(f->r, "child", NULL, 0, NULL, false, &rep));
    assert_true(rep.same);
    assert_int_equal(rep.n_files, 4);
    assert_false(work_left(f));
    /* a model no operator made has nothing to re-run */
    ECO_ASSERT_STATUS(eco_breed_rerun(f->r, "eco-tiny", NULL, 0, NULL, false, &rep),
                      ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "not made by a breeding operator"));

    /* the default id: the operator and the child's root digest; breeding again is a no-op */
    o.id = NULL;
    ECO_ASSERT_OK(eco_breed(f->r, &o, &res));
    assert_memory_equal(res.id, "fold-", 5);
    assert_int_equal(strlen(res.id), 5 + 12);
    eco_breed_result_free(&res);

    /* a parent named twice, unknown parents, wrong kinds */
    const char *twice[] = {"eco-tiny", "eco-tiny"};
    o.parents = twice;
    ECO_ASSERT_STATUS(eco_breed(f->r, &o, &res), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "twice"));
    const char *unknown[] = {"eco-tiny", "nobody"};
    o.parents = unknown;
    ECO_ASSERT_STATUS(eco_breed(f->r, &o, &res), ECO_STATUS_ENOTFOUND);
    assert_non_null(strstr(eco_last_error(), "nobody"));
    const char *swapped[] = {"arith", "eco-tiny"};
    o.parents = swapped;
    ECO_ASSERT_STATUS(eco_breed(f->r, &o, &res), ECO_STATUS_EINVAL);
    assert_true(res.refused);
    eco_breed_result_free(&res);
    assert_false(work_left(f));
}

static void test_breed_incompatible_refused(void **state) {
    fixture *f = *state;
    char *other = eco_path_join(f->tmp, "other");
    ECO_ASSERT_OK(eco_model_create_preset("tiny", 7, ECO_DTYPE_F32, other));
    add_dir(f, other, "other");
    const char *parents[] = {"eco-tiny", "other"};
    eco_breed_options o = {.op = "linear", .parents = parents, .n_parents = 2};
    eco_breed_result res;
    ECO_ASSERT_STATUS(eco_breed(f->r, &o, &res), ECO_STATUS_EINVAL);
    assert_true(res.refused);
    assert_non_null(strstr(res.reason, "differ in base_family:"));
    assert_non_null(strstr(res.reason, "distill"));
    assert_non_null(strstr(eco_last_error(), "refused"));
    eco_breed_result_free(&res);
    assert_false(eco_registry_exists(f->r, "linear"));
    assert_false(work_left(f));
    free(other);
}

/* A folder holding eco-tiny's files and the lineage.json text given. */
static char *record_dir(fixture *f, const char *name, const char *lineage) {
    char *dir = eco_path_join(f->tmp, name);
    ECO_ASSERT_OK(eco_mkdir_p(dir));
    static const char *const files[] = {"config.json", "model.safetensors", "tokenizer.json"};
    for (size_t i = 0; i < 3; i++) {
        char *from = eco_path_join(f->base_dir, files[i]), *to = eco_path_join(dir, files[i]);
        struct stat sb;
        if (stat(to, &sb) != 0) copy_file(from, to);
        free(from);
        free(to);
    }
    char *lp = eco_path_join(dir, ECO_LINEAGE_FILE);
    eco_test_write_file(lp, lineage, strlen(lineage));
    free(lp);
    return dir;
}

static void test_general_record_accepted(void **state) {
    fixture *f = *state;
    char rec[2048];
    const char *corpus = "0000000000000000000000000000000000000000000000000000000000000001";
    snprintf(rec, sizeof rec,
             "{\"tool\":\"ecology\",\"version\":\"0\",\"operation\":{\"name\":\"quantize\","
             "\"params\":{\"type\":\"q8_0\"},\"seed\":3,\"result\":{\"max_error\":0.5}},"
             "\"parents\":[{\"role\":\"parent\",\"file\":\"model.safetensors\",\"sha256\":\"%s\"}],"
             "\"corpora\":[\"%s\"]}",
             f->base_sha, corpus);
    char *dir = record_dir(f, "q", rec);
    eco_add_options o = {.id = "q", .created_at = CREATED};
    eco_genome g = {0};
    ECO_ASSERT_OK(eco_registry_add_dir(f->r, dir, &o, &g));
    assert_int_equal(g.kind, ECO_GENOME_KIND_QUANTIZED);
    assert_string_equal(g.op_name, "quantize");
    assert_int_equal(g.op_seed, 3);
    assert_int_equal(g.n_parents, 1);
    assert_string_equal(g.parents[0], "eco-tiny");
    assert_string_equal(g.base, "eco-tiny");
    assert_string_equal(json_string_value(json_object_get(g.op_params, "type")), "q8_0");
    assert_true(json_real_value(
                    json_object_get(json_object_get(g.op_params, "result"), "max_error")) == 0.5);
    assert_int_equal(g.n_corpora, 1);
    assert_string_equal(g.corpora[0], corpus);
    /* base_family inherited: it stays compatible with its parent */
    eco_genome pg = {0};
    ECO_ASSERT_OK(eco_registry_get(f->r, "eco-tiny", &pg, NULL));
    assert_true(eco_compat_equal(&g.compatibility, &pg.compatibility));
    eco_genome_free(&pg);
    eco_genome_free(&g);
    eco_test_rmtree(dir);
    free(dir);

    /* a merge record with a base and two parents (the adapters' files), kind merged */
    char *asha_path = eco_path_join(f->arith_dir, "adapter_model.safetensors");
    char *ssha_path = eco_path_join(f->sort_dir, "adapter_model.safetensors");
    char asha[ECO_SHA256_HEX_LEN + 1], ssha[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_sha256_file_hex(asha_path, asha));
    ECO_ASSERT_OK(eco_sha256_file_hex(ssha_path, ssha));
    snprintf(rec, sizeof rec,
             "{\"operation\":{\"name\":\"merge\",\"params\":{\"method\":\"ties\"},\"seed\":0},"
             "\"parents\":[{\"role\":\"base\",\"file\":\"model.safetensors\",\"sha256\":\"%s\"},"
             "{\"role\":\"parent\",\"file\":\"adapter_model.safetensors\",\"sha256\":\"%s\"},"
             "{\"role\":\"parent\",\"file\":\"adapter_model.safetensors\",\"sha256\":\"%s\"}]}",
             f->base_sha, asha, ssha);
    dir = record_dir(f, "m3", rec);
    o.id = "m3";
    ECO_ASSERT_OK(eco_registry_add_dir(f->r, dir, &o, &g));
    assert_int_equal(g.kind, ECO_GENOME_KIND_MERGED);
    assert_int_equal(g.n_parents, 3);
    assert_string_equal(g.parents[0], "eco-tiny");
    assert_string_equal(g.parents[1], "arith");
    assert_string_equal(g.parents[2], "sort");
    assert_string_equal(g.base, "eco-tiny");
    eco_genome_free(&g);
    eco_test_rmtree(dir);
    free(dir);
    free(asha_path);
    free(ssha_path);
}

static void test_malformed_records(void **state) {
    fixture *f = *state;
    const char *h = f->base_sha;
    char zero[65];
    memset(zero, '0', 64);
    zero[64] = 0;
    struct {
        const char *field; /* named in the message */
        char text[1024];
        eco_status want;
    } rows[32];
    size_t n = 0;
#define ROW(fld, st, ...)                                                                          \
    do {                                                                                           \
        rows[n].field = fld;                                                                       \
        rows[n].want = st;                                                                         \
        snprintf(rows[n].text, sizeof rows[n].text, __VA_ARGS__);                                  \
        n++;                                                                                       \
    } while (0)
#define PARENT_OK "{\"role\":\"parent\",\"file\":\"model.safetensors\",\"sha256\":\"%s\"}"
    ROW("line 1", ECO_STATUS_EFORMAT, "{\"operation\":");
    ROW("not a JSON object", ECO_STATUS_EFORMAT, "[1,2]");
    ROW("operation", ECO_STATUS_EFORMAT, "{\"parents\":[]}");
    ROW("operation", ECO_STATUS_EFORMAT, "{\"operation\":3,\"parents\":[]}");
    ROW("operation.name", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"blend\",\"params\":{},\"seed\":0},\"parents\":[" PARENT_OK "]}",
        h);
    ROW("operation.name", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":7,\"params\":{},\"seed\":0},\"parents\":[]}");
    ROW("operation.params", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":[],\"seed\":0},\"parents\":[" PARENT_OK
        "]}",
        h);
    ROW("operation.seed", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":-1},\"parents\":[" PARENT_OK
        "]}",
        h);
    ROW("operation.seed", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":1.5},\"parents\":[" PARENT_OK
        "]}",
        h);
    ROW("operation.result", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":0,\"result\":3},\"parents\":"
        "[" PARENT_OK "]}",
        h);
    ROW("unknown field 'extra'", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":0,\"extra\":1},\"parents\":"
        "[" PARENT_OK "]}",
        h);
    ROW("unknown field 'paths'", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":0},\"parents\":[" PARENT_OK
        "],\"paths\":[]}",
        h);
    ROW("parents", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":0},\"parents\":{}}");
    ROW("parents", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":0},\"parents\":[]}");
    ROW("parents", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":0},\"parents\":[7]}");
    ROW("parents[0].role", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":0},\"parents\":[{\"role\":"
        "\"mother\",\"file\":\"model.safetensors\",\"sha256\":\"%s\"}]}",
        h);
    ROW("parents[0].sha256", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":0},\"parents\":[{\"role\":"
        "\"parent\",\"file\":\"model.safetensors\",\"sha256\":\"ABC\"}]}");
    ROW("parents[0].file", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":0},\"parents\":[{\"role\":"
        "\"parent\",\"file\":\"../x\",\"sha256\":\"%s\"}]}",
        h);
    ROW("parents[0].file", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":0},\"parents\":[{\"role\":"
        "\"parent\",\"sha256\":\"%s\"}]}",
        h);
    ROW("parents[0]: unknown field 'path'", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":0},\"parents\":[{\"role\":"
        "\"parent\",\"path\":\"/x\",\"file\":\"model.safetensors\",\"sha256\":\"%s\"}]}",
        h);
    ROW("parents[1].role", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"linear\",\"params\":{},\"seed\":0},\"parents\":[" PARENT_OK
        ",{\"role\":\"base\",\"file\":\"config.json\",\"sha256\":\"%s\"}]}",
        h, zero);
    ROW("parents[1]", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"linear\",\"params\":{},\"seed\":0},\"parents\":[" PARENT_OK
        "," PARENT_OK "]}",
        h, h);
    ROW("parents", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"create\",\"params\":{},\"seed\":0},\"parents\":[" PARENT_OK
        "]}",
        h);
    ROW("parents[0].role", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":0},\"parents\":[{\"role\":"
        "\"adapter\",\"file\":\"model.safetensors\",\"sha256\":\"%s\"}]}",
        h);
    ROW("corpora[0]", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":0},\"parents\":[" PARENT_OK
        "],\"corpora\":[\"xyz\"]}",
        h);
    ROW("corpora", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":0},\"parents\":[" PARENT_OK
        "],\"corpora\":\"%s\"}",
        h, zero);
    ROW("no registered model holds", ECO_STATUS_ENOTFOUND,
        "{\"operation\":{\"name\":\"mutate\",\"params\":{},\"seed\":0},\"parents\":[" PARENT_OK
        "]}",
        zero);
    ROW("line 1", ECO_STATUS_EFORMAT,
        "{\"operation\":{\"name\":\"mu\\u0000tate\",\"params\":{},\"seed\":0},\"parents\":"
        "[" PARENT_OK "]}",
        h);
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "bad%zu", i);
        char *dir = record_dir(f, "bad", rows[i].text);
        eco_add_options o = {.id = id, .created_at = CREATED};
        eco_status st = eco_registry_add_dir(f->r, dir, &o, NULL);
        if (st != rows[i].want || !strstr(eco_last_error(), rows[i].field)) {
            print_error("row %zu (%s): got %s: %s\n", i, rows[i].text, eco_status_str(st),
                        eco_last_error());
            fail();
        }
        assert_false(eco_registry_exists(f->r, id));
        free(dir);
    }
    char *dir = eco_path_join(f->tmp, "bad");
    eco_test_rmtree(dir);
    free(dir);
}

/* A chain: arith folded into eco-tiny, then sort folded into that; one registered child
 * with both steps in its lineage, re-run to the same bytes; a refused step named. */
static void test_chain(void **state) {
    fixture *f = *state;
    const char *parents[] = {"eco-tiny", "arith", "sort"};
    eco_breed_chain_step steps[2] = {
        {.op = "fold", .n_inputs = 2, .inputs = {{false, 0}, {false, 1}}},
        {.op = "fold", .n_inputs = 2, .inputs = {{true, 0}, {false, 2}}},
    };
    eco_breed_chain_options o = {.name = "two-folds",
                                 .parents = parents,
                                 .n_parents = 3,
                                 .steps = steps,
                                 .n_steps = 2,
                                 .id = "chained",
                                 .sign_key = f->key,
                                 .created_at = CREATED};
    eco_breed_result res;
    ECO_ASSERT_OK(eco_breed_chain(f->r, &o, &res));
    assert_string_equal(res.id, "chained");
    assert_int_equal(res.genome.kind, ECO_GENOME_KIND_MERGED);
    assert_string_equal(res.genome.op_name, "recipe");
    assert_int_equal(res.genome.n_parents, 3);
    assert_string_equal(res.genome.parents[2], "sort");
    json_t *st = json_object_get(res.genome.op_params, "steps");
    assert_int_equal(json_array_size(st), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(st, 1), "op")), "fold");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(json_array_get(st, 1), "inputs"), 0)),
        "steps[0]");
    assert_string_equal(json_string_value(json_object_get(res.genome.op_params, "name")),
                        "two-folds");
    eco_breed_result_free(&res);
    char keyid[ECO_KEYID_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_registry_verify(f->r, "chained", keyid));
    assert_false(work_left(f));
    eco_breed_rerun_report rep;
    ECO_ASSERT_OK(eco_breed_rerun(f->r, "chained", NULL, 0, NULL, false, &rep));
    assert_true(rep.same);
    assert_false(work_left(f));

    /* the chain differs from one fold: the second step changed the weights */
    const char *two[] = {"eco-tiny", "arith"};
    eco_breed_options bo = {.op = "fold", .parents = two, .n_parents = 2, .id = "one"};
    ECO_ASSERT_OK(eco_breed(f->r, &bo, &res));
    eco_genome a = {0}, b = {0};
    ECO_ASSERT_OK(eco_registry_get(f->r, "one", &a, NULL));
    ECO_ASSERT_OK(eco_registry_get(f->r, "chained", &b, NULL));
    assert_string_not_equal(eco_manifest_find(&a.files, "model.safetensors")->sha256,
                            eco_manifest_find(&b.files, "model.safetensors")->sha256);
    eco_genome_free(&a);
    eco_genome_free(&b);
    eco_breed_result_free(&res);

    /* a refused step: named, nothing registered, nothing left */
    steps[1].inputs[0] = (eco_breed_chain_ref){false, 2};
    steps[1].inputs[1] = (eco_breed_chain_ref){true, 0};
    o.id = "refused";
    ECO_ASSERT_STATUS(eco_breed_chain(f->r, &o, &res), ECO_STATUS_EINVAL);
    assert_true(res.refused);
    assert_non_null(strstr(res.reason, "steps[1] (fold)"));
    eco_breed_result_free(&res);
    assert_false(eco_registry_exists(f->r, "refused"));
    assert_false(work_left(f));
    /* a reference to a later step */
    steps[0].inputs[1] = (eco_breed_chain_ref){true, 1};
    ECO_ASSERT_STATUS(eco_breed_chain(f->r, &o, &res), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "steps[1] is not an earlier step"));
    eco_breed_result_free(&res);
}

/* Two merged full models of eco-tiny (arith and sort folded in) as "fa" and "fs". */
static void fold_two(fixture *f) {
    eco_breed_result res;
    const char *a[] = {"eco-tiny", "arith"}, *b[] = {"eco-tiny", "sort"};
    eco_breed_options o = {
        .op = "fold", .parents = a, .n_parents = 2, .id = "fa", .created_at = CREATED};
    ECO_ASSERT_OK(eco_breed(f->r, &o, &res));
    eco_breed_result_free(&res);
    o.parents = b;
    o.id = "fs";
    ECO_ASSERT_OK(eco_breed(f->r, &o, &res));
    eco_breed_result_free(&res);
}

/* json params from text */
static json_t *P(const char *text) {
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    assert_non_null(j);
    return j;
}

/* Breeds op over parents (and base) with params text, expects success; with rerun, checks
 * that the recorded operation re-runs to the same bytes (the operators that draw). */
static void breed_and_rerun(fixture *f, const char *op, const char *base,
                            const char *const *parents, size_t n, const char *params,
                            const char *id, bool rerun, eco_breed_result *res) {
    json_t *p = P(params);
    eco_breed_options o = {.op = op,
                           .parents = parents,
                           .n_parents = n,
                           .base = base,
                           .params = p,
                           .id = id,
                           .sign_key = f->key,
                           .created_at = CREATED};
    ECO_ASSERT_OK(eco_breed(f->r, &o, res));
    json_decref(p);
    if (!rerun) return;
    eco_breed_rerun_report rep;
    ECO_ASSERT_OK(eco_breed_rerun(f->r, id, NULL, 0, NULL, false, &rep));
    if (!rep.same) print_error("%s: rerun differs: %s\n", id, rep.first_diff);
    assert_true(rep.same);
    assert_false(work_left(f));
}

static void test_merge_operators(void **state) {
    fixture *f = *state;
    fold_two(f);
    eco_breed_result res;
    const char *two[] = {"fa", "fs"};
    /* linear of two full models: weights recorded, parents in order, kind merged */
    breed_and_rerun(f, "linear", NULL, two, 2, "{\"weights\": [0.3, 0.7]}", "lin", false, &res);
    assert_int_equal(res.genome.kind, ECO_GENOME_KIND_MERGED);
    assert_string_equal(res.genome.op_name, "merge");
    assert_string_equal(json_string_value(json_object_get(res.genome.op_params, "method")),
                        "linear");
    json_t *w = json_object_get(res.genome.op_params, "weights");
    assert_int_equal(json_array_size(w), 2);
    assert_true(json_number_value(json_array_get(w, 0)) == 0.3);
    assert_string_equal(res.genome.parents[0], "fa");
    assert_string_equal(res.genome.parents[1], "fs");
    eco_breed_result_free(&res);
    /* ties over eco-tiny as θ₀: the base is the first parent and the genome's base */
    breed_and_rerun(f, "ties", "eco-tiny", two, 2, "{\"weights\": [1, 1], \"density\": 0.5}",
                    "ties", false, &res);
    assert_int_equal(res.genome.n_parents, 3);
    assert_string_equal(res.genome.parents[0], "eco-tiny");
    assert_string_equal(res.genome.base, "eco-tiny");
    eco_breed_result_free(&res);
    /* dare_ties draws: the seed recorded and re-run */
    breed_and_rerun(f, "dare_ties", "eco-tiny", two, 2,
                    "{\"weights\": [1, 1], \"density\": 0.5, \"seed\": 7}", "dare", true, &res);
    assert_int_equal(res.genome.op_seed, 7);
    eco_breed_result_free(&res);
    /* adapters merged as deltas: an adapter child on the parents' base */
    const char *ads[] = {"arith", "sort"};
    breed_and_rerun(f, "linear", NULL, ads, 2, "{\"weights\": [0.5, 0.5]}", "ad", true, &res);
    assert_int_equal(res.genome.kind, ECO_GENOME_KIND_ADAPTER);
    assert_string_equal(res.genome.base, "eco-tiny");
    eco_breed_result_free(&res);
    /* a bad parameter is named */
    json_t *p = P("{\"weights\": [1, 1], \"density\": 2}");
    eco_breed_options o = {
        .op = "ties", .parents = two, .n_parents = 2, .base = "eco-tiny", .params = p};
    assert_int_not_equal(eco_breed(f->r, &o, &res), ECO_STATUS_OK);
    assert_non_null(strstr(eco_last_error(), "density"));
    eco_breed_result_free(&res);
    json_decref(p);
    assert_false(work_left(f));
}

static void test_model_operators(void **state) {
    fixture *f = *state;
    fold_two(f);
    eco_breed_result res;
    const char *one[] = {"fa"}, *two[] = {"fa", "fs"};
    breed_and_rerun(f, "mutate", NULL, one, 1, "{\"sigma\": 0.01, \"seed\": 5}", "mut", true, &res);
    assert_string_equal(res.genome.op_name, "mutate");
    assert_int_equal(res.genome.op_seed, 5);
    eco_breed_result_free(&res);
    breed_and_rerun(f, "crossover", NULL, two, 2, "{\"granularity\": \"layer\", \"seed\": 2}",
                    "cross", true, &res);
    assert_string_equal(res.genome.op_name, "crossover");
    eco_breed_result_free(&res);
    breed_and_rerun(f, "prune", "eco-tiny", one, 1, "{\"density\": 0.5}", "pruned", false, &res);
    assert_string_equal(res.genome.op_name, "prune");
    assert_non_null(json_object_get(res.genome.op_params, "result"));
    eco_breed_result_free(&res);
}

/* finetune: an adapter continued on its implied base model (LoRA), the corpus hash
 * recorded; the re-run needs the corpus. A recipe: linear, mutate, finetune. */
static void test_train_and_recipe(void **state) {
    fixture *f = *state;
    fold_two(f);
    char *corpus = eco_path_join(f->tmp, "c.jsonl");
    FILE *fp = fopen(corpus, "w");
    assert_non_null(fp);
    for (int i = 0; i < 16; i++)
        fprintf(fp, "{\"prompt\": \"%d+%d=\", \"completion\": \"%d\"}\n", i, 2 * i, 3 * i);
    fclose(fp);
    char hex[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_breed_corpus_hash(corpus, hex));
    const char *one[] = {"arith"};
    const char *corpora[] = {corpus};
    json_t *p = P("{\"steps\": 1, \"lr\": 0.001, \"batch\": 2, \"seq\": 32, \"seed\": 3}");
    eco_breed_options o = {.op = "finetune",
                           .parents = one,
                           .n_parents = 1,
                           .params = p,
                           .corpora = corpora,
                           .n_corpora = 1,
                           .id = "ft",
                           .created_at = CREATED};
    eco_breed_result res;
    ECO_ASSERT_OK(eco_breed(f->r, &o, &res));
    assert_int_equal(res.genome.kind, ECO_GENOME_KIND_ADAPTER);
    assert_string_equal(res.genome.base, "eco-tiny");
    assert_int_equal(res.genome.n_parents, 2); /* the base model, then the adapter */
    assert_string_equal(res.genome.parents[1], "arith");
    assert_int_equal(res.genome.n_corpora, 1);
    assert_string_equal(res.genome.corpora[0], hex);
    assert_int_equal(res.genome.op_seed, 3);
    eco_breed_result_free(&res);
    json_decref(p);
    eco_breed_rerun_report rep;
    ECO_ASSERT_STATUS(eco_breed_rerun(f->r, "ft", NULL, 0, NULL, false, &rep), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "corpora"));
    /* (the re-run with the corpus: the recipe's below, whose last step is a finetune) */

    /* the recipe: linear → mutate → finetune, one child, every step recorded */
    json_t *p0 = P("{\"weights\": [0.5, 0.5]}"), *p1 = P("{\"sigma\": 0.01}"),
           *p2 = P("{\"steps\": 1, \"lr\": 0.001, \"batch\": 2, \"seq\": 32}");
    const char *parents[] = {"fa", "fs"};
    eco_breed_chain_step steps[3] = {
        {.op = "linear", .params = p0, .n_inputs = 2, .inputs = {{false, 0}, {false, 1}}},
        {.op = "mutate", .params = p1, .seed = 7, .n_inputs = 1, .inputs = {{true, 0}}},
        {.op = "finetune", .params = p2, .seed = 8, .n_inputs = 1, .inputs = {{true, 1}}},
    };
    eco_breed_chain_options co = {.name = "blend",
                                  .parents = parents,
                                  .n_parents = 2,
                                  .steps = steps,
                                  .n_steps = 3,
                                  .corpora = corpora,
                                  .n_corpora = 1,
                                  .id = "blend",
                                  .sign_key = f->key,
                                  .created_at = CREATED};
    ECO_ASSERT_OK(eco_breed_chain(f->r, &co, &res));
    assert_int_equal(res.genome.kind, ECO_GENOME_KIND_MERGED);
    assert_string_equal(res.genome.op_name, "recipe");
    json_t *st = json_object_get(res.genome.op_params, "steps");
    assert_int_equal(json_array_size(st), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(st, 1), "op")), "mutate");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(st, 1), "seed")), 7);
    assert_non_null(json_object_get(json_array_get(st, 2), "result"));
    assert_int_equal(res.genome.n_corpora, 1);
    eco_breed_result_free(&res);
    ECO_ASSERT_OK(eco_breed_rerun(f->r, "blend", corpora, 1, NULL, false, &rep));
    assert_true(rep.same);
    assert_false(work_left(f));
    json_decref(p0);
    json_decref(p1);
    json_decref(p2);
    free(corpus);
}

static void test_quantize_operator(void **state) {
    fixture *f = *state;
    eco_breed_result res;
    const char *one[] = {"eco-tiny"};
    breed_and_rerun(f, "quantize", NULL, one, 1, "{}", "q8", false, &res);
    assert_int_equal(res.genome.kind, ECO_GENOME_KIND_QUANTIZED);
    assert_string_equal(res.genome.op_name, "quantize");
    assert_non_null(json_object_get(res.genome.op_params, "result"));
    eco_breed_result_free(&res);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_op_table),
        cmocka_unit_test(test_compat_reason),
        cmocka_unit_test_setup_teardown(test_breed_fold_registers_signed_child, setup, teardown),
        cmocka_unit_test_setup_teardown(test_breed_incompatible_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_general_record_accepted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_operators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_operators, setup, teardown),
        cmocka_unit_test_setup_teardown(test_train_and_recipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quantize_operator, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
