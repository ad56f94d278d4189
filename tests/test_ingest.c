/*
 * Ingest, verify and export (src/registry/ingest.c, verify.c) on the shipped default model
 * and one of its adapters: the genome eco_registry_add_dir derives (kind, base, lineage
 * from training.json, compatibility inherited by the adapter, resource profile, manifest
 * equal to the folder's), a fixed created_at giving the same genome hash twice, the
 * signature checked end to end, tampering named (a store object, a forged statement), an
 * adapter refused by a base it does not fit, an export that verifies as a folder, and the
 * whole-registry check (database integrity, lineage, files; re-hashed on request).
 */
#include "test_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ecology/model.h"
#include "ecology/registry.h"
#include "ecology/signing.h"

#define CREATED "2026-11-28T00:00:00Z"

typedef struct fixture {
    char *tmp, *data, *key, *base_dir, *adapter_dir;
    eco_registry *r;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->tmp = eco_test_tmpdir();
    f->data = eco_path_join(f->tmp, "data");
    f->base_dir = eco_test_source_path("data/models/eco-tiny");
    f->adapter_dir = eco_test_source_path("data/adapters/arith.add@1");
    f->key = eco_test_registry_with_key(f->data, &f->r);
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
    free(f->adapter_dir);
    free(f);
    return 0;
}

static void add_base(fixture *f, eco_genome *g) {
    eco_add_options o = {.id = "eco-tiny", .sign_key = f->key, .created_at = CREATED};
    ECO_ASSERT_OK(eco_registry_add_dir(f->r, f->base_dir, &o, g));
}

static void test_base_genome(void **state) {
    fixture *f = *state;
    eco_genome g = {0};
    add_base(f, &g);
    assert_int_equal(g.kind, ECO_GENOME_KIND_BASE);
    assert_null(g.base);
    assert_int_equal(g.n_parents, 0);
    assert_string_equal(g.op_name, "train"); /* the shipped model has a training.json */
    assert_int_equal(g.n_corpora, 1);
    /* the manifest is the folder's */
    eco_manifest m = {0};
    static const char *const skip[] = {ECO_GENOME_FILE, ECO_SIGNATURE_FILE, NULL};
    ECO_ASSERT_OK(eco_manifest_from_dir(f->base_dir, skip, &m));
    assert_int_equal(m.n, g.files.n);
    for (size_t i = 0; i < m.n; i++) {
        assert_string_equal(m.files[i].name, g.files.files[i].name);
        assert_string_equal(m.files[i].sha256, g.files.files[i].sha256);
    }
    eco_manifest_free(&m);
    /* the compatibility identity is the folder's own */
    eco_compat_identity c;
    ECO_ASSERT_OK(eco_compat_compute_base(f->base_dir, &c));
    assert_true(eco_compat_equal(&c, &g.compatibility));
    /* parameters from the weights, resident memory above the weight bytes */
    eco_weights *w = NULL;
    char *st = eco_path_join(f->base_dir, "model.safetensors");
    ECO_ASSERT_OK(eco_weights_open(st, &w));
    assert_int_equal(g.bytes, eco_weights_nbytes(w));
    eco_weights_close(w);
    free(st);
    assert_true(g.n_params > 1000000);
    assert_true(g.resident_bytes > g.bytes);
    /* same folder, same created_at: the same genome; registering again is a no-op */
    eco_genome g2 = {0};
    add_base(f, &g2);
    char h1[ECO_SHA256_HEX_LEN + 1], h2[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_genome_hash(&g, h1));
    ECO_ASSERT_OK(eco_genome_hash(&g2, h2));
    assert_string_equal(h1, h2);
    char keyid[ECO_KEYID_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_registry_verify(f->r, "eco-tiny", keyid));
    assert_int_equal(strlen(keyid), ECO_KEYID_HEX_LEN);
    eco_genome_free(&g);
    eco_genome_free(&g2);
}

static void test_adapter_genome(void **state) {
    fixture *f = *state;
    eco_genome b = {0}, a = {0};
    add_base(f, &b);
    const char *caps[] = {"arith.add@1"};
    eco_add_options o = {.id = "eco-tiny-arith",
                         .capabilities = caps,
                         .n_capabilities = 1,
                         .sign_key = f->key,
                         .created_at = CREATED}; /* base from base_model_name_or_path */
    ECO_ASSERT_OK(eco_registry_add_dir(f->r, f->adapter_dir, &o, &a));
    assert_int_equal(a.kind, ECO_GENOME_KIND_ADAPTER);
    assert_string_equal(a.base, "eco-tiny");
    assert_int_equal(a.n_parents, 1);
    assert_string_equal(a.parents[0], "eco-tiny");
    assert_string_equal(a.op_name, "train-lora");
    assert_true(eco_compat_equal(&a.compatibility, &b.compatibility));
    assert_int_equal(a.n_capabilities, 1);
    assert_true(a.n_params > 0 && a.n_params < b.n_params);
    char **ids = NULL;
    size_t n = 0;
    ECO_ASSERT_OK(eco_registry_ancestors(f->r, "eco-tiny-arith", &ids, &n));
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "eco-tiny");
    eco_registry_ids_free(ids, n);
    ECO_ASSERT_OK(eco_registry_verify(f->r, "eco-tiny-arith", NULL));

    /* export verifies as a folder; a flipped byte in the store is named */
    char *out = eco_path_join(f->tmp, "export");
    ECO_ASSERT_OK(eco_registry_export(f->r, "eco-tiny-arith", out));
    eco_keyring *kr = NULL;
    char *trusted = eco_path_join(f->data, "keys/trusted");
    ECO_ASSERT_OK(eco_keyring_load_dir(trusted, &kr));
    ECO_ASSERT_OK(eco_verify_dir(out, kr, NULL));
    const eco_file_entry *e = eco_manifest_find(&a.files, "adapter_model.safetensors");
    assert_non_null(e);
    char *obj = eco_store_object_path(eco_registry_store(f->r), e->sha256);
    chmod(obj, 0644);
    FILE *fp = fopen(obj, "r+b");
    assert_non_null(fp);
    fseek(fp, 200, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, 200, SEEK_SET);
    fputc(c ^ 1, fp);
    fclose(fp);
    ECO_ASSERT_STATUS(eco_registry_verify(f->r, "eco-tiny-arith", NULL), ECO_STATUS_EINTEGRITY);
    assert_non_null(strstr(eco_last_error(), "adapter_model.safetensors"));
    /* the whole-registry check: sizes still match, a re-hash names the object */
    size_t models = 0, files = 0;
    ECO_ASSERT_OK(eco_registry_check(f->r, false, &models, &files));
    assert_int_equal(models, 2);
    assert_int_equal(files, b.files.n + a.files.n);
    ECO_ASSERT_STATUS(eco_registry_check(f->r, true, NULL, NULL), ECO_STATUS_EINTEGRITY);
    assert_non_null(strstr(eco_last_error(), "adapter_model.safetensors"));
    /* the exported copy is unaffected */
    ECO_ASSERT_OK(eco_verify_dir(out, kr, NULL));
    eco_keyring_free(kr);
    free(trusted);
    free(obj);
    free(out);
    eco_genome_free(&a);
    eco_genome_free(&b);
}

/* A signature over a different genome (same id and files, another capability) does not
 * vouch for this one. */
static void test_forged_statement(void **state) {
    fixture *f = *state;
    eco_genome b = {0};
    add_base(f, &b);
    char *env = NULL;
    free(b.tool_version);
    b.tool_version = eco_strdup("someone else");
    ECO_ASSERT_OK(eco_sign_genome(&b, f->key, &env));
    eco_genome_free(&b);
    char *out = eco_path_join(f->tmp, "export");
    ECO_ASSERT_OK(eco_registry_export(f->r, "eco-tiny", out));
    char *sig = eco_path_join(out, ECO_SIGNATURE_FILE);
    ECO_ASSERT_OK(eco_write_file_atomic(sig, env, strlen(env)));
    eco_keyring *kr = NULL;
    char *trusted = eco_path_join(f->data, "keys/trusted");
    ECO_ASSERT_OK(eco_keyring_load_dir(trusted, &kr));
    ECO_ASSERT_STATUS(eco_verify_dir(out, kr, NULL), ECO_STATUS_EINTEGRITY);
    assert_non_null(strstr(eco_last_error(), "genome"));
    eco_keyring_free(kr);
    free(trusted);
    free(sig);
    free(out);
    free(env);
}

static void test_adapter_misfit(void **state) {
    fixture *f = *state;
    char *other = eco_path_join(f->tmp, "other");
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 7, ECO_DTYPE_F32, other));
    eco_add_options ob = {.id = "tiny-7", .created_at = CREATED};
    ECO_ASSERT_OK(eco_registry_add_dir(f->r, other, &ob, NULL));
    eco_add_options oa = {.id = "misfit", .base = "tiny-7", .created_at = CREATED};
    eco_status st = eco_registry_add_dir(f->r, f->adapter_dir, &oa, NULL);
    assert_int_not_equal(st, ECO_STATUS_OK);
    assert_non_null(strstr(eco_last_error(), "does not fit"));
    assert_false(eco_registry_exists(f->r, "misfit"));
    eco_add_options on = {.id = "orphan", .base = "nope", .created_at = CREATED};
    ECO_ASSERT_STATUS(eco_registry_add_dir(f->r, f->adapter_dir, &on, NULL), ECO_STATUS_ENOTFOUND);
    eco_add_options bad = {.id = "../x", .created_at = CREATED};
    ECO_ASSERT_STATUS(eco_registry_add_dir(f->r, other, &bad, NULL), ECO_STATUS_EINVAL);
    free(other);
}

/* Copies file name from src to dst (both folders). */
static void copy_into(const char *src, const char *dst, const char *name) {
    char *a = eco_path_join(src, name), *b = eco_path_join(dst, name), *text = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_read_file(a, 1 << 26, &text, &len));
    eco_test_write_file(b, text, len);
    free(text);
    free(a);
    free(b);
}

/* Regular files under dir, recursively. */
static int count_files(const char *dir) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "find '%s' -type f | wc -l", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int n = -1;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

static bool has_event(eco_registry *r, const char *type) {
    eco_registry_event *ev = NULL;
    size_t n = 0;
    ECO_ASSERT_OK(eco_registry_events(r, 0, &ev, &n));
    bool found = false;
    for (size_t i = 0; i < n; i++) found |= strcmp(ev[i].type, type) == 0;
    eco_registry_events_free(ev, n);
    return found;
}

/* Issue 17 bug 5: an add refused (unsigned under the policy; a bad key) takes back the
 * objects it stored; objects another model references stay. */
static void test_refused_add_leaves_nothing(void **state) {
    fixture *f = *state;
    char *objects = eco_path_join(f->data, "objects");
    ECO_ASSERT_OK(eco_registry_policy_set(f->data, true));
    eco_registry_close(f->r);
    eco_registry_options o = {.data_dir = f->data};
    ECO_ASSERT_OK(eco_registry_open(&o, &f->r));
    assert_int_equal(count_files(objects), 0);
    eco_add_options unsigned_base = {.id = "eco-tiny", .created_at = CREATED};
    ECO_ASSERT_STATUS(eco_registry_add_dir(f->r, f->base_dir, &unsigned_base, NULL),
                      ECO_STATUS_ESIGNATURE);
    assert_int_equal(count_files(objects), 0);
    eco_add_options bad_key = {.id = "eco-tiny", .sign_key = f->base_dir, .created_at = CREATED};
    assert_int_not_equal(eco_registry_add_dir(f->r, f->base_dir, &bad_key, NULL), ECO_STATUS_OK);
    assert_int_equal(count_files(objects), 0);

    eco_genome b = {0};
    add_base(f, &b); /* signed by the trusted key */
    const int base_objects = count_files(objects);
    assert_int_equal(base_objects, (int)b.files.n);
    eco_add_options unsigned_adapter = {.id = "arith", .created_at = CREATED};
    ECO_ASSERT_STATUS(eco_registry_add_dir(f->r, f->adapter_dir, &unsigned_adapter, NULL),
                      ECO_STATUS_ESIGNATURE);
    assert_int_equal(count_files(objects), base_objects);
    /* the same files again under another refused id: the base's objects stay */
    eco_add_options unsigned_copy = {.id = "eco-tiny-copy", .created_at = CREATED};
    ECO_ASSERT_STATUS(eco_registry_add_dir(f->r, f->base_dir, &unsigned_copy, NULL),
                      ECO_STATUS_ESIGNATURE);
    assert_int_equal(count_files(objects), base_objects);
    ECO_ASSERT_OK(eco_registry_verify(f->r, "eco-tiny", NULL));
    eco_genome_free(&b);
    free(objects);
}

/* Issue 17 bug 12: training's working files (checkpoint.*, work/, .work/) in a folder are
 * skipped by add, not registered. */
static void test_working_files_skipped(void **state) {
    fixture *f = *state;
    eco_genome b = {0};
    add_base(f, &b);
    eco_genome_free(&b);
    char *dir = eco_path_join(f->tmp, "trained"), *work = eco_path_join(dir, "work"),
         *hidden = eco_path_join(dir, ".work");
    ECO_ASSERT_OK(eco_mkdir_p(work));
    ECO_ASSERT_OK(eco_mkdir_p(hidden));
    copy_into(f->adapter_dir, dir, "adapter_config.json");
    copy_into(f->adapter_dir, dir, "adapter_model.safetensors");
    copy_into(f->adapter_dir, dir, "training.json");
    const char *extra[] = {"checkpoint.json", "checkpoint.safetensors", "work/step.bin",
                           ".work/step.bin"};
    for (size_t i = 0; i < 4; i++) {
        char *p = eco_path_join(dir, extra[i]);
        eco_test_write_file(p, "x", 1);
        free(p);
    }
    eco_genome a = {0};
    eco_add_options oa = {.id = "trained", .created_at = CREATED};
    ECO_ASSERT_OK(eco_registry_add_dir(f->r, dir, &oa, &a));
    assert_int_equal(a.files.n, 3);
    for (size_t i = 0; i < 4; i++) assert_null(eco_manifest_find(&a.files, extra[i]));
    assert_non_null(eco_manifest_find(&a.files, "adapter_model.safetensors"));
    eco_genome_free(&a);
    free(work);
    free(hidden);
    free(dir);
}

/* Issue 17 bug 3: adding content whose object in the store was damaged (a flipped byte,
 * same size) repairs the object and logs a "repair" event; both models then verify. */
static void test_add_repairs_object(void **state) {
    fixture *f = *state;
    eco_genome b = {0};
    add_base(f, &b);
    const eco_file_entry *w = eco_manifest_find(&b.files, "model.safetensors");
    assert_non_null(w);
    char *obj = eco_store_object_path(eco_registry_store(f->r), w->sha256);
    assert_int_equal(chmod(obj, 0644), 0);
    FILE *fp = fopen(obj, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 100, SEEK_SET), 0);
    int c = fgetc(fp);
    assert_int_equal(fseek(fp, 100, SEEK_SET), 0);
    fputc(c ^ 1, fp);
    fclose(fp);
    ECO_ASSERT_STATUS(eco_registry_verify(f->r, "eco-tiny", NULL), ECO_STATUS_EINTEGRITY);
    assert_false(has_event(f->r, "repair"));
    eco_add_options o = {.id = "eco-tiny-again", .sign_key = f->key, .created_at = CREATED};
    ECO_ASSERT_OK(eco_registry_add_dir(f->r, f->base_dir, &o, NULL));
    ECO_ASSERT_OK(eco_registry_verify(f->r, "eco-tiny-again", NULL));
    ECO_ASSERT_OK(eco_registry_verify(f->r, "eco-tiny", NULL));
    assert_true(has_event(f->r, "repair"));
    free(obj);
    eco_genome_free(&b);
}

/* Issue 17 signing: an intact model that is unsigned, or signed by a key not trusted, is
 * ESIGNATURE (verify's exit 4); a signature by a trusted key over other bytes is EINTEGRITY. */
static void test_verify_untrusted_vs_mismatch(void **state) {
    fixture *f = *state;
    char *keys = eco_path_join(f->tmp, "keys");
    ECO_ASSERT_OK(eco_keys_generate(keys, "stranger", ECO_KEY_TYPE_ED25519, NULL));
    char *stranger = eco_path_join(keys, "stranger.key");
    eco_genome b = {0};
    eco_add_options o = {.id = "by-stranger", .sign_key = stranger, .created_at = CREATED};
    ECO_ASSERT_OK(eco_registry_add_dir(f->r, f->base_dir, &o, &b));
    ECO_ASSERT_STATUS(eco_registry_verify(f->r, "by-stranger", NULL), ECO_STATUS_ESIGNATURE);
    assert_non_null(strstr(eco_last_error(), "not trusted"));
    eco_add_options u = {.id = "unsigned", .created_at = CREATED};
    ECO_ASSERT_OK(eco_registry_add_dir(f->r, f->base_dir, &u, NULL));
    ECO_ASSERT_STATUS(eco_registry_verify(f->r, "unsigned", NULL), ECO_STATUS_ESIGNATURE);
    assert_non_null(strstr(eco_last_error(), "not signed"));

    /* an exported folder whose signature, by the trusted key, has a flipped byte */
    eco_genome t = {0};
    add_base(f, &t);
    char *out = eco_path_join(f->tmp, "exp"), *sig = eco_path_join(out, ECO_SIGNATURE_FILE);
    ECO_ASSERT_OK(eco_registry_export(f->r, "eco-tiny", out));
    char *text = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_read_file(sig, 1 << 20, &text, &len));
    char *s = strstr(text, "\"sig\":\"");
    assert_non_null(s);
    s[8] = s[8] == 'A' ? 'B' : 'A';
    ECO_ASSERT_OK(eco_write_file_atomic(sig, text, len));
    eco_keyring *kr = NULL;
    char *trusted = eco_path_join(f->data, "keys/trusted");
    ECO_ASSERT_OK(eco_keyring_load_dir(trusted, &kr));
    ECO_ASSERT_STATUS(eco_verify_dir(out, kr, NULL), ECO_STATUS_EINTEGRITY);
    eco_keyring_free(kr);
    free(trusted);
    free(text);
    free(sig);
    free(out);
    eco_genome_free(&t);
    eco_genome_free(&b);
    free(stranger);
    free(keys);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_base_genome, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adapter_genome, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_statement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adapter_misfit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_add_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_working_files_skipped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_repairs_object, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_untrusted_vs_mismatch, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
