/*
 * The training breeding operators (breed_train.h) on the tiny preset, a few steps each:
 * finetune continues a LoRA child from its own weights (at lr ~0 the output equals the
 * child: max |Δ| printed, tolerance 1e-6; a fresh initialisation would differ by the child's
 * whole B) and writes lineage.json with the base, the child and every corpus hash; the same
 * options give the same bytes; full finetune and distill leave only weights and lineage;
 * bad inputs are refused naming the problem.
 */
#include "test_util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/breed_train.h"
#include "ecology/data.h"
#include "ecology/model.h"
#include "ecology/safetensors.h"
#include "ecology/trainer.h"

typedef struct fixture {
    char *dir;
    char *model;   /* tiny preset, seed 7 */
    char *teacher; /* tiny preset, seed 8 */
    char *child;   /* a LoRA adapter trained a few steps on model */
    char *a, *b;   /* two prompt/completion corpora */
    char *text;    /* a text corpus */
} fixture;

static char *join(const char *a, const char *b) {
    char *p = eco_path_join(a, b);
    assert_non_null(p);
    return p;
}

static void write_lines(const char *path, const char *const *lines, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) fprintf(f, "%s\n", lines[i]);
    fclose(f);
}

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    fx->dir = eco_test_tmpdir();
    fx->model = join(fx->dir, "tiny");
    fx->teacher = join(fx->dir, "teacher");
    fx->child = join(fx->dir, "child");
    fx->a = join(fx->dir, "a.jsonl");
    fx->b = join(fx->dir, "b.jsonl");
    fx->text = join(fx->dir, "t.jsonl");
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 7, ECO_DTYPE_F32, fx->model));
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 8, ECO_DTYPE_F32, fx->teacher));
    static const char *const a[] = {
        "{\"prompt\": \"reverse: abc\\n\", \"completion\": \"cba\"}",
        "{\"prompt\": \"reverse: hello\\n\", \"completion\": \"olleh\"}",
        "{\"prompt\": \"reverse: stone\\n\", \"completion\": \"enots\"}",
        "{\"prompt\": \"reverse: river\\n\", \"completion\": \"revir\"}"};
    static const char *const b[] = {
        "{\"prompt\": \"sort: c a b\\n\", \"completion\": \"a b c\"}",
        "{\"prompt\": \"sort: z y\\n\", \"completion\": \"y z\"}",
        "{\"completion\": \"m n o\", \"prompt\": \"sort: o n m\\n\", \"note\": 1}"};
    static const char *const t[] = {"{\"text\": \"a plain line of text\"}"};
    write_lines(fx->a, a, 4);
    write_lines(fx->b, b, 3);
    write_lines(fx->text, t, 1);
    /* the child: an adapter with a trained (non-zero) B */
    eco_trainer_options o;
    eco_trainer_options_init(&o);
    o.model_dir = fx->model;
    o.data_path = fx->a;
    o.adapter_out = fx->child;
    o.mode = ECO_TRAIN_MODE_LORA;
    o.lora.r = 4;
    o.lora.lora_alpha = 8;
    o.lora.targets[ECO_LORA_O] = true;
    o.steps = 3;
    o.batch = 2;
    o.seq = 32;
    o.lr = 1e-2;
    o.seed = 3;
    o.threads = 2;
    ECO_ASSERT_OK(eco_trainer_run(&o, NULL));
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    eco_test_rmtree(fx->dir);
    free(fx->dir);
    free(fx->model);
    free(fx->teacher);
    free(fx->child);
    free(fx->a);
    free(fx->b);
    free(fx->text);
    free(fx);
    return 0;
}

static eco_breed_finetune_options ft_options(const fixture *fx, const char *out,
                                             const char *const *corpora) {
    eco_breed_finetune_options o;
    eco_breed_finetune_init(&o);
    o.child = fx->child;
    o.base_model = fx->model;
    o.corpora = corpora;
    o.n_corpora = 2;
    o.out = out;
    o.train.steps = 2;
    o.train.batch = 2;
    o.train.seq = 32;
    o.train.lr = 5e-3;
    o.train.seed = 5;
    o.threads = 2;
    return o;
}

static json_t *load_json(const char *dir, const char *name) {
    char *p = join(dir, name);
    json_error_t err;
    json_t *j = json_load_file(p, 0, &err);
    if (!j) print_error("%s: %s\n", p, err.text);
    assert_non_null(j);
    free(p);
    return j;
}

static const char *jstr(const json_t *j, const char *path) {
    /* "a.b.c" of objects */
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *v = j;
    for (char *k = strtok(buf, "."); k && v; k = strtok(NULL, ".")) v = json_object_get(v, k);
    return json_string_value(v);
}

static void file_hex(const char *dir, const char *name, char hex[ECO_SHA256_HEX_LEN + 1]) {
    char *p = join(dir, name);
    ECO_ASSERT_OK(eco_sha256_file_hex(p, hex));
    free(p);
}

static bool files_equal(const char *dir1, const char *dir2, const char *name) {
    char h1[ECO_SHA256_HEX_LEN + 1], h2[ECO_SHA256_HEX_LEN + 1];
    file_hex(dir1, name, h1);
    file_hex(dir2, name, h2);
    return strcmp(h1, h2) == 0;
}

/* The largest |x − y| over the tensors of two adapters (same names and shapes). */
static double adapter_max_diff(const char *d1, const char *d2) {
    char *p1 = join(d1, "adapter_model.safetensors"), *p2 = join(d2, "adapter_model.safetensors");
    eco_safetensors *s1, *s2;
    ECO_ASSERT_OK(eco_safetensors_open(p1, &s1));
    ECO_ASSERT_OK(eco_safetensors_open(p2, &s2));
    assert_int_equal(eco_safetensors_count(s1), eco_safetensors_count(s2));
    double m = 0;
    for (size_t i = 0; i < eco_safetensors_count(s1); i++) {
        const eco_tensor *t1 = eco_safetensors_get(s1, i);
        const eco_tensor *t2 = eco_test_must_find(s2, t1->name);
        assert_int_equal(t1->dtype, ECO_DTYPE_F32);
        assert_int_equal(t1->nbytes, t2->nbytes);
        double d = eco_test_max_abs_diff(t1->data, t2->data, eco_tensor_numel(t1));
        if (d > m) m = d;
    }
    eco_safetensors_close(s1);
    eco_safetensors_close(s2);
    free(p1);
    free(p2);
    return m;
}

/* The largest |B| of an adapter (0 for a fresh PEFT initialisation). */
static double adapter_max_b(const char *dir) {
    char *p = join(dir, "adapter_model.safetensors");
    eco_safetensors *s;
    ECO_ASSERT_OK(eco_safetensors_open(p, &s));
    double m = 0;
    for (size_t i = 0; i < eco_safetensors_count(s); i++) {
        const eco_tensor *t = eco_safetensors_get(s, i);
        if (!strstr(t->name, "lora_B")) continue;
        const float *x = t->data;
        for (size_t k = 0; k < eco_tensor_numel(t); k++)
            if (fabs(x[k]) > m) m = fabs(x[k]);
    }
    eco_safetensors_close(s);
    free(p);
    return m;
}

/* LoRA finetune continues from the child's weights; lineage names base, child and data. */
static void test_finetune_lora(void **state) {
    fixture *fx = *state;
    const char *corpora[2] = {fx->a, fx->b};
    char *out = join(fx->dir, "ft-zero"), *out1 = join(fx->dir, "ft1"),
         *out2 = join(fx->dir, "ft2");

    /* lr ~0: the result is the child itself (a fresh adapter would have B = 0) */
    eco_breed_finetune_options o = ft_options(fx, out, corpora);
    o.train.lr = 1e-30;
    eco_breed_train_report rep;
    ECO_ASSERT_OK(eco_breed_finetune(&o, &rep));
    assert_true(rep.lora);
    double bmax = adapter_max_b(fx->child), d = adapter_max_diff(fx->child, out);
    print_message("finetune at lr 1e-30: max |child - out| = %.3g (child's max |B| = %.3g)\n", d,
                  bmax);
    assert_true(bmax > 1e-4);
    assert_true(d <= 1e-6);
    assert_true(files_equal(fx->child, out, "adapter_config.json"));

    /* a real step moves it; twice the same options give the same bytes */
    o = ft_options(fx, out1, corpora);
    ECO_ASSERT_OK(eco_breed_finetune(&o, &rep));
    assert_int_equal(rep.steps_done, 2);
    assert_int_equal(rep.n_records, 7);
    assert_true(isfinite(rep.final_loss));
    assert_true(adapter_max_diff(fx->child, out1) > 1e-6);
    o.out = out2;
    ECO_ASSERT_OK(eco_breed_finetune(&o, NULL));
    assert_true(files_equal(out1, out2, "adapter_model.safetensors"));
    assert_true(files_equal(out1, out2, ECO_LINEAGE_FILE));

    /* only the adapter and lineage.json */
    char *p = join(out1, "training.json");
    assert_false(eco_path_has_file(out1, "training.json"));
    free(p);
    p = join(out1, ECO_WORK_DIR);
    assert_false(eco_path_is_dir(p));
    free(p);

    json_t *l = load_json(out1, ECO_LINEAGE_FILE);
    assert_string_equal(jstr(l, "operation.name"), "finetune");
    assert_string_equal(jstr(l, "operation.params.mode"), "lora");
    json_t *params = json_object_get(json_object_get(l, "operation"), "params");
    assert_int_equal(json_integer_value(json_object_get(params, "steps")), 2);
    assert_true(json_real_value(json_object_get(params, "lr")) == 5e-3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(l, "operation"), "seed")),
                     5);
    json_t *corpus = json_object_get(params, "corpus");
    assert_int_equal(json_array_size(corpus), 2);
    eco_data_corpus *c;
    ECO_ASSERT_OK(eco_data_corpus_load(fx->b, &c));
    assert_string_equal(json_string_value(json_object_get(json_array_get(corpus, 1), "sha256")),
                        c->sha256_hex);
    eco_data_corpus_free(c);
    assert_string_equal(jstr(l, "operation.params.mix_sha256"), rep.mix_sha256);
    json_t *parents = json_object_get(l, "parents");
    assert_int_equal(json_array_size(parents), 2);
    char hex[ECO_SHA256_HEX_LEN + 1];
    file_hex(fx->model, "model.safetensors", hex);
    json_t *p0 = json_array_get(parents, 0), *p1 = json_array_get(parents, 1);
    assert_string_equal(json_string_value(json_object_get(p0, "role")), "base");
    assert_string_equal(json_string_value(json_object_get(p0, "file")), "model.safetensors");
    assert_string_equal(json_string_value(json_object_get(p0, "sha256")), hex);
    file_hex(fx->child, "adapter_model.safetensors", hex);
    assert_string_equal(json_string_value(json_object_get(p1, "role")), "parent");
    assert_string_equal(json_string_value(json_object_get(p1, "sha256")), hex);
    /* no paths anywhere in the record */
    char *s = json_dumps(l, 0);
    assert_null(strstr(s, fx->dir));
    free(s);
    json_decref(l);
    free(out);
    free(out1);
    free(out2);
}

/* Full finetune of a model folder; hard examples alone are enough data. */
static void test_finetune_full(void **state) {
    fixture *fx = *state;
    const char *hard[1] = {fx->b};
    char *out = join(fx->dir, "ft-full");
    eco_breed_finetune_options o = ft_options(fx, out, NULL);
    o.child = fx->model;
    o.base_model = NULL;
    o.n_corpora = 0;
    o.hard = hard;
    o.n_hard = 1;
    eco_breed_train_report rep;
    ECO_ASSERT_OK(eco_breed_finetune(&o, &rep));
    assert_false(rep.lora);
    assert_true(eco_path_has_file(out, "model.safetensors"));
    assert_true(eco_path_has_file(out, "config.json"));
    assert_true(eco_path_has_file(out, "tokenizer.json"));
    assert_false(eco_path_has_file(out, "training.json"));
    json_t *l = load_json(out, ECO_LINEAGE_FILE);
    assert_string_equal(jstr(l, "operation.params.mode"), "full");
    json_t *params = json_object_get(json_object_get(l, "operation"), "params");
    assert_int_equal(json_array_size(json_object_get(params, "corpus")), 0);
    assert_int_equal(json_array_size(json_object_get(params, "hard_examples")), 1);
    assert_int_equal(json_array_size(json_object_get(l, "parents")), 1);
    json_decref(l);
    free(out);
}

/* Bad inputs, each refused before anything is written. */
static void test_finetune_refusals(void **state) {
    fixture *fx = *state;
    const char *corpora[2] = {fx->a, fx->b};
    const char *mixed[2] = {fx->a, fx->text};
    char *out = join(fx->dir, "ft-bad");
    eco_breed_finetune_options o = ft_options(fx, out, corpora);
    o.base_model = NULL;
    ECO_ASSERT_STATUS(eco_breed_finetune(&o, NULL), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "its base model is required"));
    o = ft_options(fx, out, corpora);
    o.n_corpora = 0;
    ECO_ASSERT_STATUS(eco_breed_finetune(&o, NULL), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "no training data"));
    o = ft_options(fx, out, mixed);
    ECO_ASSERT_STATUS(eco_breed_finetune(&o, NULL), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "t.jsonl holds {\"text\"} records"));
    assert_false(eco_path_is_dir(out));
    o = ft_options(fx, fx->child, corpora); /* out is the child */
    ECO_ASSERT_STATUS(eco_breed_finetune(&o, NULL), ECO_STATUS_EINVAL);
    o = ft_options(fx, fx->teacher, corpora); /* a non-empty folder without force */
    ECO_ASSERT_STATUS(eco_breed_finetune(&o, NULL), ECO_STATUS_EEXIST);
    o = ft_options(fx, out, corpora);
    o.train.warmup = 5;
    ECO_ASSERT_STATUS(eco_breed_finetune(&o, NULL), ECO_STATUS_EINVAL);
    free(out);
}

/* distill: a student from a teacher of other weights; lineage base = student. */
static void test_distill(void **state) {
    fixture *fx = *state;
    const char *corpora[2] = {fx->a, fx->b};
    const char *teachers[1] = {fx->teacher};
    char *out = join(fx->dir, "distilled");
    eco_breed_distill_options o;
    eco_breed_distill_init(&o);
    o.teachers = teachers;
    o.n_teachers = 1;
    o.student = fx->model;
    o.corpora = corpora;
    o.n_corpora = 2;
    o.out = out;
    o.train.steps = 2;
    o.train.batch = 2;
    o.train.seq = 32;
    o.train.seed = 9;
    o.threads = 2;
    eco_breed_train_report rep;
    ECO_ASSERT_OK(eco_breed_distill(&o, &rep));
    assert_true(rep.token_level);
    assert_int_equal(rep.steps_done, 2);
    assert_true(eco_path_has_file(out, "model.safetensors"));
    assert_false(eco_path_has_file(out, "training.json"));
    json_t *l = load_json(out, ECO_LINEAGE_FILE);
    assert_string_equal(jstr(l, "operation.name"), "distill");
    assert_string_equal(jstr(l, "operation.params.level"), "token");
    json_t *parents = json_object_get(l, "parents");
    assert_int_equal(json_array_size(parents), 2);
    char hex[ECO_SHA256_HEX_LEN + 1];
    file_hex(fx->teacher, "model.safetensors", hex);
    assert_string_equal(json_string_value(json_object_get(json_array_get(parents, 1), "sha256")),
                        hex);
    assert_string_equal(json_string_value(json_object_get(json_array_get(parents, 0), "role")),
                        "base");
    json_decref(l);
    /* an adapter teacher is refused with what to do */
    const char *bad[1] = {fx->child};
    o.teachers = bad;
    o.force = true;
    ECO_ASSERT_STATUS(eco_breed_distill(&o, NULL), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "merge it into its base first"));
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finetune_lora),
        cmocka_unit_test(test_finetune_full),
        cmocka_unit_test(test_finetune_refusals),
        cmocka_unit_test(test_distill),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
