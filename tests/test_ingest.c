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
    ECO_ASSERT_OK(eco_registry_init(f->data));
    char *keys = eco_path_join(f->data, "keys"), *trusted = eco_path_join(keys, "trusted");
    ECO_ASSERT_OK(eco_keys_generate(keys, "lab", ECO_KEY_TYPE_ECDSA_P256, NULL));
    ECO_ASSERT_OK(eco_mkdir_p(trusted));
    char *pub = eco_path_join(keys, "lab.pub"), *tpub = eco_path_join(trusted, "lab.pub");
    char *text = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_read_file(pub, 1 << 20, &text, &len));
    eco_test_write_file(tpub, text, len);
    f->key = eco_path_join(keys, "lab.key");
    eco_registry_options o = {.data_dir = f->data};
    ECO_ASSERT_OK(eco_registry_open(&o, &f->r));
    free(text);
    free(pub);
    free(tpub);
    free(trusted);
    free(keys);
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
    eco_add_options o = {.id = "eco-tiny-arith", .capabilities = caps, .n_capabilities = 1, .sign_key = f->key,
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_base_genome, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adapter_genome, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_statement, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adapter_misfit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
