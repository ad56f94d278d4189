/*
 * eco_weights: a single model.safetensors, a sharded checkpoint through
 * model.safetensors.index.json, and a table of bad indexes (bad JSON, shard names that
 * leave the folder, a missing shard, a tensor missing from its shard, a tensor in two
 * shards, a shard tensor the index does not list) each refused with status and message.
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ecology/safetensors.h"

static float vals[64];

/* Writes dir/file holding F32 tensors `names` (NULL-terminated), tensor k of shape [k+1]
 * filled from vals + k. */
static void write_shard(const char *dir, const char *file, const char *const *names) {
    eco_tensor t[16];
    size_t n = 0;
    for (; names[n]; n++) {
        int64_t k = (int64_t)(names[n][strlen(names[n]) - 1] - '0'); /* last char a digit */
        t[n] = (eco_tensor){.name = names[n],
                            .dtype = ECO_DTYPE_F32,
                            .ndim = 1,
                            .shape = {k + 1},
                            .data = vals + k,
                            .nbytes = (size_t)(k + 1) * 4};
    }
    char *p = eco_path_join(dir, file);
    ECO_ASSERT_OK(eco_safetensors_write(p, t, n, NULL, 0));
    free(p);
}

static void write_text(const char *dir, const char *file, const char *text) {
    char *p = eco_path_join(dir, file);
    eco_test_write_file(p, text, strlen(text));
    free(p);
}

static void test_single(void **state) {
    (void)state;
    for (int i = 0; i < 64; i++) vals[i] = (float)i;
    char *dir = eco_test_tmpdir();
    static const char *const names[] = {"w3", "a1", "m0", NULL};
    write_shard(dir, "model.safetensors", names);

    eco_weights *w;
    ECO_ASSERT_OK(eco_weights_open(dir, &w));
    assert_int_equal(eco_weights_count(w), 3);
    assert_int_equal(eco_weights_shard_count(w), 1);
    assert_string_equal(eco_weights_get(w, 0)->name, "a1");
    assert_string_equal(eco_weights_get(w, 1)->name, "m0");
    assert_string_equal(eco_weights_get(w, 2)->name, "w3");
    assert_null(eco_weights_get(w, 3));
    assert_int_equal(eco_weights_nbytes(w), (2 + 1 + 4) * 4);
    const eco_tensor *t = eco_weights_find(w, "w3");
    assert_non_null(t);
    assert_int_equal(t->shape[0], 4);
    assert_true(((const float *)t->data)[3] == 6.0f);
    assert_null(eco_weights_find(w, "zz"));
    eco_weights_close(w);

    /* The file itself. */
    char *file = eco_path_join(dir, "model.safetensors");
    ECO_ASSERT_OK(eco_weights_open(file, &w));
    assert_int_equal(eco_weights_count(w), 3);
    eco_weights_close(w);
    free(file);
    eco_test_rmtree(dir);
    free(dir);

    /* An empty folder. */
    dir = eco_test_tmpdir();
    ECO_ASSERT_STATUS(eco_weights_open(dir, &w), ECO_STATUS_ENOTFOUND);
    assert_non_null(strstr(eco_last_error(), "model.safetensors"));
    eco_test_rmtree(dir);
    free(dir);
}

static const char *const shard_a[] = {"layers.0.w1", "embed0", NULL};
static const char *const shard_b[] = {"layers.1.w2", "norm3", "head4", NULL};

static const char *good_index =
    "{\"metadata\": {\"total_size\": 64},\n"
    " \"weight_map\": {\"embed0\": \"model-00001-of-00002.safetensors\",\n"
    "  \"layers.0.w1\": \"model-00001-of-00002.safetensors\",\n"
    "  \"layers.1.w2\": \"model-00002-of-00002.safetensors\",\n"
    "  \"norm3\": \"model-00002-of-00002.safetensors\",\n"
    "  \"head4\": \"model-00002-of-00002.safetensors\"}}";

static void test_sharded(void **state) {
    (void)state;
    for (int i = 0; i < 64; i++) vals[i] = (float)i;
    char *dir = eco_test_tmpdir();
    write_shard(dir, "model-00001-of-00002.safetensors", shard_a);
    write_shard(dir, "model-00002-of-00002.safetensors", shard_b);
    write_text(dir, "model.safetensors.index.json", good_index);
    /* A stray single file is ignored when the index exists. */
    static const char *const stray[] = {"stray0", NULL};
    write_shard(dir, "model.safetensors", stray);

    eco_weights *w;
    ECO_ASSERT_OK(eco_weights_open(dir, &w));
    assert_int_equal(eco_weights_count(w), 5);
    assert_int_equal(eco_weights_shard_count(w), 2);
    static const char *sorted[] = {"embed0", "head4", "layers.0.w1", "layers.1.w2", "norm3"};
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(eco_weights_get(w, i)->name, sorted[i]);
        assert_ptr_equal(eco_weights_find(w, sorted[i]), eco_weights_get(w, i));
    }
    assert_null(eco_weights_find(w, "stray0"));
    assert_int_equal(eco_weights_nbytes(w), (1 + 2 + 3 + 4 + 5) * 4);
    const eco_tensor *h = eco_weights_find(w, "head4");
    assert_true(((const float *)h->data)[4] == 8.0f);
    eco_weights_close(w);

    /* The index file itself. */
    char *idx = eco_path_join(dir, "model.safetensors.index.json");
    ECO_ASSERT_OK(eco_weights_open(idx, &w));
    assert_int_equal(eco_weights_count(w), 5);
    eco_weights_close(w);
    free(idx);
    eco_test_rmtree(dir);
    free(dir);
}

typedef struct {
    const char *what;
    const char *index;
    const char *extra_file; /* a shard name written with extra_names, or NULL */
    const char *const *extra_names;
    eco_status want;
    const char *needle;
} bad_index;

static const char *const dup_names[] = {"embed0", "x1", NULL};

static const bad_index bad_indexes[] = {
    {"bad JSON", "{\"weight_map\": {", NULL, NULL, ECO_STATUS_EFORMAT, "not valid JSON"},
    {"not an object", "[]", NULL, NULL, ECO_STATUS_EFORMAT, "not a JSON object"},
    {"no weight_map", "{\"metadata\": {}}", NULL, NULL, ECO_STATUS_EFORMAT, "'weight_map'"},
    {"metadata not an object", "{\"metadata\": 3, \"weight_map\": {}}", NULL, NULL,
     ECO_STATUS_EFORMAT, "'metadata' is not an object"},
    {"shard not a string", "{\"weight_map\": {\"embed0\": 1}}", NULL, NULL, ECO_STATUS_EFORMAT,
     "weight_map['embed0'] is not a string"},
    {"duplicate key",
     "{\"weight_map\": {\"embed0\": \"model-00001-of-00002.safetensors\", \"embed0\": "
     "\"model-00001-of-00002.safetensors\"}}",
     NULL, NULL, ECO_STATUS_EFORMAT, "duplicate"},
    {"shard with '/'", "{\"weight_map\": {\"embed0\": \"sub/model.safetensors\"}}", NULL, NULL,
     ECO_STATUS_EFORMAT, "shard 'sub/model.safetensors' is not a plain file name"},
    {"absolute shard", "{\"weight_map\": {\"embed0\": \"/etc/passwd\"}}", NULL, NULL,
     ECO_STATUS_EFORMAT, "not a plain file name"},
    {"shard '..'", "{\"weight_map\": {\"embed0\": \"..\"}}", NULL, NULL, ECO_STATUS_EFORMAT,
     "not a plain file name"},
    {"empty shard name", "{\"weight_map\": {\"embed0\": \"\"}}", NULL, NULL, ECO_STATUS_EFORMAT,
     "not a plain file name"},
    {"missing shard", "{\"weight_map\": {\"embed0\": \"missing.safetensors\"}}", NULL, NULL,
     ECO_STATUS_ENOTFOUND, "shard 'missing.safetensors'"},
    {"tensor missing from shard",
     "{\"weight_map\": {\"embed0\": \"model-00001-of-00002.safetensors\", \"layers.0.w1\": "
     "\"model-00001-of-00002.safetensors\", \"ghost5\": \"model-00001-of-00002.safetensors\"}}",
     NULL, NULL, ECO_STATUS_EFORMAT,
     "tensor 'ghost5' is not in its shard 'model-00001-of-00002.safetensors'"},
    {"tensor in the wrong shard",
     "{\"weight_map\": {\"embed0\": \"model-00002-of-00002.safetensors\", \"layers.0.w1\": "
     "\"model-00001-of-00002.safetensors\"}}",
     NULL, NULL, ECO_STATUS_EFORMAT, "tensor 'embed0' is not in its shard"},
    {"shard tensor not listed",
     "{\"weight_map\": {\"embed0\": \"model-00001-of-00002.safetensors\"}}", NULL, NULL,
     ECO_STATUS_EFORMAT,
     "tensor 'layers.0.w1' in shard 'model-00001-of-00002.safetensors' is not in weight_map"},
    {"duplicate across shards",
     "{\"weight_map\": {\"embed0\": \"model-00001-of-00002.safetensors\", \"layers.0.w1\": "
     "\"model-00001-of-00002.safetensors\", \"x1\": \"extra.safetensors\"}}",
     "extra.safetensors", dup_names, ECO_STATUS_EFORMAT, "tensor 'embed0' is in two shards"},
    {"corrupt shard", "{\"weight_map\": {\"embed0\": \"corrupt.safetensors\"}}",
     "corrupt.safetensors", NULL, ECO_STATUS_EFORMAT, "corrupt.safetensors: file too short"},
};

static void test_bad_indexes(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_indexes / sizeof bad_indexes[0]; i++) {
        const bad_index *c = &bad_indexes[i];
        char *dir = eco_test_tmpdir();
        write_shard(dir, "model-00001-of-00002.safetensors", shard_a);
        write_shard(dir, "model-00002-of-00002.safetensors", shard_b);
        if (c->extra_file && c->extra_names)
            write_shard(dir, c->extra_file, c->extra_names);
        else if (c->extra_file)
            write_text(dir, c->extra_file, "abc");
        write_text(dir, "model.safetensors.index.json", c->index);
        eco_weights *w = (eco_weights *)0x1;
        eco_clear_error();
        eco_status got = eco_weights_open(dir, &w);
        const char *msg = eco_last_error();
        if (got != c->want || !strstr(msg, c->needle) || w != NULL) {
            print_error("case '%s': got %s \"%s\", want %s containing \"%s\"\n", c->what,
                        eco_status_str(got), msg, eco_status_str(c->want), c->needle);
            if (got == ECO_STATUS_OK) eco_weights_close(w);
            fail();
        }
        eco_test_rmtree(dir);
        free(dir);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single),
        cmocka_unit_test(test_sharded),
        cmocka_unit_test(test_bad_indexes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
