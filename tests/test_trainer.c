/*
 * Trainer tests: a run interrupted and resumed ends byte-identical to an uninterrupted one
 * (full, LoRA with dropout, token-level distillation); training.json records the base and corpus hashes and the
 * hyper-parameters; the loss falls on a small overfitting task; a saved adapter loads back
 * into a training model; gradients on one batch are written; recipes: the corpus they
 * build, and a table of malformed recipes, each refused naming its field.
 */
#include "test_util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/data.h"
#include "ecology/model.h"
#include "ecology/safetensors.h"
#include "ecology/tasks.h"
#include "ecology/recipe.h"
#include "ecology/engine.h"
#include "ecology/tokenizer_train.h"
#include "ecology/trainer.h"

typedef struct fixture {
    char *dir;   /* temp folder */
    char *model; /* tiny preset model */
    char *data;  /* arith.add@1 JSONL */
} fixture;

static char *join(const char *a, const char *b) {
    char *p = eco_path_join(a, b);
    assert_non_null(p);
    return p;
}

/* n items of arith.add@1 (seed 1) as JSONL at path. */
static void write_arith(const char *path, size_t n) {
    const eco_capability *cap;
    ECO_ASSERT_OK(eco_tasks_find("arith.add@1", &cap));
    eco_task_item *items;
    ECO_ASSERT_OK(eco_tasks_generate(cap, ECO_TASK_SPLIT_TRAIN, n, 1, &items));
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        json_t *v =
            json_pack("{s:s, s:s}", "prompt", items[i].prompt, "completion", items[i].completion);
        char *s = json_dumps(v, JSON_COMPACT);
        fprintf(f, "%s\n", s);
        free(s);
        json_decref(v);
    }
    fclose(f);
    eco_task_items_free(items, n);
}

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    fx->dir = eco_test_tmpdir();
    fx->model = join(fx->dir, "tiny");
    fx->data = join(fx->dir, "add.jsonl");
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 7, ECO_DTYPE_F32, fx->model));
    write_arith(fx->data, 16);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    eco_test_rmtree(fx->dir);
    free(fx->dir);
    free(fx->model);
    free(fx->data);
    free(fx);
    return 0;
}

static eco_trainer_options base_options(const fixture *fx, const char *out) {
    eco_trainer_options o;
    eco_trainer_options_init(&o);
    o.model_dir = fx->model;
    o.data_path = fx->data;
    o.out_dir = out;
    o.steps = 6;
    o.batch = 2;
    o.seq = 32;
    o.accum = 2;
    o.lr = 3e-3;
    o.warmup = 2;
    o.seed = 11;
    o.threads = 2;
    return o;
}

static bool files_equal(const char *a, const char *b) {
    char *da, *db;
    size_t la, lb;
    ECO_ASSERT_OK(eco_read_file(a, (size_t)1 << 30, &da, &la));
    ECO_ASSERT_OK(eco_read_file(b, (size_t)1 << 30, &db, &lb));
    bool eq = la == lb && memcmp(da, db, la) == 0;
    if (!eq) {
        size_t i = 0;
        while (i < la && i < lb && da[i] == db[i]) i++;
        print_error("%s and %s differ: sizes %zu / %zu, first difference at byte %zu\n", a, b, la,
                    lb, i);
    }
    free(da);
    free(db);
    return eq;
}

static void resume_case(fixture *fx, eco_train_mode mode, const char *tag) {
    char n1[64], n2[64];
    snprintf(n1, sizeof n1, "%s-straight", tag);
    snprintf(n2, sizeof n2, "%s-resumed", tag);
    char *o1 = join(fx->dir, n1), *o2 = join(fx->dir, n2);
    eco_trainer_options o = base_options(fx, o1);
    o.mode = mode;
    if (mode == ECO_TRAIN_MODE_LORA) {
        o.lora.r = 4;
        o.lora.lora_alpha = 8;
        o.lora.lora_dropout = 0.1;
        o.lora.targets[ECO_LORA_K] = o.lora.targets[ECO_LORA_O] = true;
        o.lr = 1e-2;
        o.doc_mask = true; /* resumes exactly with documents masked too */
        o.seq = 64;        /* two ~25-token items a row, so the mask matters */
    }
    eco_trainer_result r1, r2a, r2b;
    ECO_ASSERT_OK(eco_trainer_run(&o, &r1));
    assert_true(r1.finished);
    assert_int_equal(r1.steps_done, 6);

    o.out_dir = o2;
    o.stop_after = 3;
    ECO_ASSERT_OK(eco_trainer_run(&o, &r2a));
    assert_false(r2a.finished);
    assert_int_equal(r2a.steps_done, 3);
    o.stop_after = 0;
    o.resume = true;
    ECO_ASSERT_OK(eco_trainer_run(&o, &r2b));
    assert_true(r2b.finished);
    assert_true(r2b.resumed);
    assert_int_equal(r2b.start_step, 3);
    assert_true(r2b.final_loss == r1.final_loss);

    const char *weights =
        mode == ECO_TRAIN_MODE_FULL ? "model.safetensors" : "adapter_model.safetensors";
    char *w1 = join(o1, weights), *w2 = join(o2, weights);
    char *t1 = join(o1, "training.json"), *t2 = join(o2, "training.json");
    /* working files stay in .work, out of the result */
    char *c1 = join(o1, ".work/checkpoint.safetensors"),
         *c2 = join(o2, ".work/checkpoint.safetensors");
    char *c0 = join(o1, "checkpoint.safetensors");
    assert_true(files_equal(w1, w2));
    assert_true(files_equal(t1, t2));
    assert_true(files_equal(c1, c2));
    FILE *f0 = fopen(c0, "rb");
    assert_null(f0);
    free(c0);

    /* a finished output is not replaced without force, and never by the base itself */
    o.out_dir = o1;
    o.resume = false;
    ECO_ASSERT_STATUS(eco_trainer_run(&o, NULL), ECO_STATUS_EEXIST);
    assert_non_null(strstr(eco_last_error(), "--force"));
    assert_true(files_equal(w1, w2));
    o.out_dir = fx->model;
    o.force = true;
    ECO_ASSERT_STATUS(eco_trainer_run(&o, NULL), ECO_STATUS_EINVAL);
    o.force = false;
    o.out_dir = o2;
    o.resume = true;

    /* a resume with another hyper-parameter is refused, naming it */
    o.lr *= 2;
    ECO_ASSERT_STATUS(eco_trainer_run(&o, NULL), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "hyper.lr"));
    o.lr /= 2;
    o.doc_mask = !o.doc_mask;
    ECO_ASSERT_STATUS(eco_trainer_run(&o, NULL), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "doc_mask"));
    free(w1), free(w2), free(t1), free(t2), free(c1), free(c2), free(o1), free(o2);
}

/* Token-level distillation runs through the trainer's loop, so it resumes exactly too (here
 * with documents masked: the teachers see each packed example alone), and a resume with
 * another distillation setting is refused naming it. */
static void test_resume_distill(void **state) {
    fixture *fx = *state;
    char *teacher = join(fx->dir, "teacher"), *o1 = join(fx->dir, "d-straight"),
         *o2 = join(fx->dir, "d-resumed");
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 8, ECO_DTYPE_F32, teacher));
    const char *teachers[] = {teacher};
    eco_distill_run_options d;
    eco_distill_run_options_init(&d);
    d.train = base_options(fx, o1);
    d.teachers = teachers;
    d.n_teachers = 1;
    d.weight = 0.7;
    d.train.doc_mask = true;
    d.train.seq = 64; /* two ~25-token items a row, so the mask matters */
    bool token = false;
    eco_trainer_result r1, r2a, r2b;
    ECO_ASSERT_OK(eco_distill_run(&d, &token, &r1));
    assert_true(token);
    assert_true(r1.finished);
    d.train.out_dir = o2;
    d.train.stop_after = 3;
    ECO_ASSERT_OK(eco_distill_run(&d, NULL, &r2a));
    assert_false(r2a.finished);
    d.train.stop_after = 0;
    d.train.resume = true;
    ECO_ASSERT_OK(eco_distill_run(&d, NULL, &r2b));
    assert_true(r2b.resumed && r2b.finished);
    assert_int_equal(r2b.start_step, 3);
    char *w1 = join(o1, "model.safetensors"), *w2 = join(o2, "model.safetensors");
    char *t1 = join(o1, "training.json"), *t2 = join(o2, "training.json");
    assert_true(files_equal(w1, w2));
    assert_true(files_equal(t1, t2));
    char *text;
    size_t len;
    ECO_ASSERT_OK(eco_read_file(t1, 1 << 20, &text, &len));
    assert_non_null(strstr(text, "\"distill\":{\"level\":\"token\""));
    assert_non_null(strstr(text, "\"doc_mask\":true"));
    free(text);
    d.weight = 0.3;
    ECO_ASSERT_STATUS(eco_distill_run(&d, NULL, NULL), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "distill.weight"));
    /* the positions reach the distillation forward: without doc_mask the student differs */
    char *o3 = join(fx->dir, "d-unmasked"), *w3 = join(o3, "model.safetensors");
    d.weight = 0.7;
    d.train.resume = false;
    d.train.doc_mask = false;
    d.train.out_dir = o3;
    ECO_ASSERT_OK(eco_distill_run(&d, NULL, NULL));
    assert_false(files_equal(w1, w3));
    /* self-distillation with the mask: teacher and student see the same documents, so the
     * first step's KL (weight 1: the whole loss) is zero up to rounding; a teacher that saw
     * the whole row would differ on every document after the first */
    const char *self[] = {fx->model};
    d.teachers = self;
    d.weight = 1.0;
    d.train.doc_mask = true;
    d.train.steps = 1;
    d.train.warmup = 0;
    char *o4 = join(fx->dir, "d-self");
    d.train.out_dir = o4;
    eco_trainer_result rs;
    ECO_ASSERT_OK(eco_distill_run(&d, NULL, &rs));
    printf("self-distillation with doc_mask: first loss %.3g\n", rs.first_loss);
    assert_true(rs.first_loss < 1e-6);
    free(w1), free(w2), free(w3), free(t1), free(t2), free(o1), free(o2), free(o3), free(o4),
        free(teacher);
}

static void test_resume_full(void **state) { resume_case(*state, ECO_TRAIN_MODE_FULL, "full"); }
static void test_resume_lora(void **state) { resume_case(*state, ECO_TRAIN_MODE_LORA, "lora"); }

static void test_training_json(void **state) {
    fixture *fx = *state;
    char *out = join(fx->dir, "tj");
    eco_trainer_options o = base_options(fx, out);
    o.steps = 2;
    eco_trainer_result r;
    ECO_ASSERT_OK(eco_trainer_run(&o, &r));
    char *path = join(out, "training.json");
    char *text;
    size_t len;
    ECO_ASSERT_OK(eco_read_file(path, 1 << 20, &text, &len));
    /* canonical: re-serialising gives the same bytes (plus the trailing newline) */
    char *canon;
    size_t clen;
    ECO_ASSERT_OK(eco_json_canonicalize(text, len, "training.json", &canon, &clen));
    assert_int_equal(clen + 1, len);
    assert_memory_equal(canon, text, clen);
    free(canon);

    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    assert_non_null(j);
    eco_data_corpus *c;
    ECO_ASSERT_OK(eco_data_corpus_load(fx->data, &c));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(j, "run"), "data"), "sha256")),
                        c->sha256_hex);
    assert_string_equal(r.corpus_sha256, c->sha256_hex);
    eco_data_corpus_free(c);
    uint8_t d[ECO_SHA256_LEN];
    char hex[ECO_SHA256_HEX_LEN + 1];
    char *wf = join(fx->model, "model.safetensors");
    ECO_ASSERT_OK(eco_sha256_file(wf, d));
    eco_hex(hex, d, ECO_SHA256_LEN);
    json_t *run = json_object_get(j, "run");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(run, "base"), "model_sha256")), hex);
    assert_string_equal(json_string_value(json_object_get(json_object_get(run, "base"), "path")),
                        fx->model);
    json_t *hyper = json_object_get(run, "hyper");
    assert_int_equal(json_integer_value(json_object_get(hyper, "steps")), 2);
    assert_int_equal(json_integer_value(json_object_get(hyper, "seed")), 11);
    assert_int_equal(json_integer_value(json_object_get(hyper, "accum")), 2);
    assert_true(json_real_value(json_object_get(hyper, "lr")) == 3e-3);
    assert_int_equal(json_integer_value(json_object_get(j, "threads")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "steps_done")), 2);
    assert_true(json_real_value(json_object_get(j, "final_loss")) == r.final_loss);
    assert_string_equal(json_string_value(json_object_get(j, "tool")), "ecology");
    json_decref(j);
    /* full mode wrote a loadable model folder with the base's tokenizer */
    char *tok = join(out, "tokenizer.json"), *btok = join(fx->model, "tokenizer.json");
    assert_true(files_equal(tok, btok));
    eco_model *m;
    ECO_ASSERT_OK(eco_model_load(out, &m));
    eco_model_free(m);
    free(tok), free(btok), free(wf), free(text), free(path), free(out);
}

typedef struct losses {
    double v[64];
    int n;
} losses;

static void record(void *ctx, const eco_trainer_step_info *s) {
    losses *l = ctx;
    if (l->n < 64) l->v[l->n++] = s->loss;
}

static void test_loss_decreases(void **state) {
    fixture *fx = *state;
    char *out = join(fx->dir, "overfit");
    eco_trainer_options o = base_options(fx, out);
    o.steps = 50;
    o.accum = 1;
    o.batch = 4;
    o.seq = 24;
    o.lr = 1e-2;
    o.warmup = 5;
    o.weight_decay = 0;
    losses l = {0};
    o.on_step = record;
    o.on_step_ctx = &l;
    eco_trainer_result r;
    ECO_ASSERT_OK(eco_trainer_run(&o, &r));
    assert_int_equal(l.n, 50);
    double first = 0, last = 0;
    for (int i = 0; i < 5; i++) first += l.v[i] / 5, last += l.v[45 + i] / 5;
    if (!(last < 0.5 * first)) {
        print_error("loss did not fall enough: first five steps %.4f, last five %.4f\n", first,
                    last);
        fail();
    }
    free(out);
}

static void test_lora_load_and_grads(void **state) {
    fixture *fx = *state;
    char *out = join(fx->dir, "ad");
    eco_trainer_options o = base_options(fx, out);
    o.mode = ECO_TRAIN_MODE_LORA;
    o.steps = 2;
    o.lora.r = 2;
    o.lora.targets[ECO_LORA_UP] = true;
    ECO_ASSERT_OK(eco_trainer_run(&o, NULL));
    eco_peft_config pc;
    ECO_ASSERT_OK(eco_peft_config_load(out, &pc));
    eco_train_options to = {
        .mode = ECO_TRAIN_MODE_LORA, .lora = pc, .seed = 99, .max_batch = 1, .max_seq = 8};
    eco_train_model *m;
    ECO_ASSERT_OK(eco_train_model_create(fx->model, &to, &m));
    ECO_ASSERT_OK(eco_train_load_lora(m, out));
    char *st_path = join(out, "adapter_model.safetensors");
    eco_safetensors *f;
    ECO_ASSERT_OK(eco_safetensors_open(st_path, &f));
    for (size_t i = 0; i < eco_train_num_params(m); i++) {
        const eco_train_param *p = eco_train_param_at(m, i);
        const eco_tensor *t = eco_safetensors_find(f, p->name);
        assert_non_null(t);
        assert_memory_equal(t->data, eco_train_params(m) + p->offset, p->numel * sizeof(float));
    }
    eco_safetensors_close(f);
    eco_train_model_free(m);
    /* full-mode model cannot take an adapter */
    eco_train_options fo = {.mode = ECO_TRAIN_MODE_FULL, .max_batch = 1, .max_seq = 8};
    ECO_ASSERT_OK(eco_train_model_create(fx->model, &fo, &m));
    ECO_ASSERT_STATUS(eco_train_load_lora(m, out), ECO_STATUS_EINVAL);
    eco_train_model_free(m);

    char *g = join(fx->dir, "grads.safetensors");
    double loss;
    ECO_ASSERT_OK(eco_trainer_grads(fx->model, out, fx->data, 2, 32, false, g,
                                    &loss)); /* 32: past the 18-token prompt */
    ECO_ASSERT_OK(eco_safetensors_open(g, &f));
    assert_true(loss > 0 && isfinite(loss));
    const char *ls = eco_safetensors_metadata(f, "loss");
    assert_non_null(ls);
    assert_true(fabs(strtod(ls, NULL) - loss) < 1e-6);
    assert_non_null(eco_safetensors_find(f, "input_ids"));
    assert_non_null(
        eco_safetensors_find(f, "base_model.model.model.layers.0.mlp.up_proj.lora_B.weight"));
    eco_safetensors_close(f);
    ECO_ASSERT_OK(eco_trainer_grads(fx->model, NULL, fx->data, 1, 24, false, g, NULL));
    ECO_ASSERT_OK(eco_safetensors_open(g, &f));
    assert_non_null(eco_safetensors_find(f, "model.embed_tokens.weight"));
    eco_safetensors_close(f);
    free(g), free(st_path), free(out);
}

/* Lines [first, first + n) of src written to dst. */
static void copy_lines(const char *src, const char *dst, int first, int n) {
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char line[1024];
    for (int i = 0; i < first + n && fgets(line, sizeof line, in); i++)
        if (i >= first) fputs(line, out);
    fclose(in);
    fclose(out);
}

/* What eco_trainer_grads wrote: the loss, the number of targets, the gradients (copied). */
typedef struct {
    double loss;
    int64_t n_targets;
    float *grads; /* every F32 tensor, in file order */
    size_t n_grads;
    int32_t positions[64];
    bool has_positions;
} grads_file;

static void grads_of(const fixture *fx, const char *data, bool doc_mask, grads_file *r) {
    char *g = join(fx->dir, "g.safetensors");
    memset(r, 0, sizeof *r);
    ECO_ASSERT_OK(eco_trainer_grads(fx->model, NULL, data, 1, 64, doc_mask, g, &r->loss));
    eco_safetensors *f;
    ECO_ASSERT_OK(eco_safetensors_open(g, &f));
    const eco_tensor *labels = eco_safetensors_find(f, "labels"),
                     *pos = eco_safetensors_find(f, "position_ids");
    assert_non_null(labels);
    for (int i = 0; i < 64; i++) r->n_targets += ((const int32_t *)labels->data)[i] != -100;
    r->has_positions = pos != NULL;
    if (pos) memcpy(r->positions, pos->data, sizeof r->positions);
    const char *dm = eco_safetensors_metadata(f, "doc_mask");
    assert_true(doc_mask ? dm && strcmp(dm, "true") == 0 : dm == NULL);
    for (size_t i = 0; i < eco_safetensors_count(f); i++) {
        const eco_tensor *t = eco_safetensors_get(f, i);
        if (t->dtype != ECO_DTYPE_F32) continue;
        r->grads = realloc(r->grads, (r->n_grads + t->nbytes / 4) * sizeof(float));
        memcpy(r->grads + r->n_grads, t->data, t->nbytes);
        r->n_grads += t->nbytes / 4;
    }
    eco_safetensors_close(f);
    free(g);
}

/* grads --doc-mask on a row [A | B] gives what A and B give alone, weighted by their
 * targets (the loss is a mean over targets): loss and every gradient. */
static void test_grads_doc_mask(void **state) {
    fixture *fx = *state;
    char *a = join(fx->dir, "a.jsonl"), *b = join(fx->dir, "b.jsonl"),
         *ab = join(fx->dir, "ab.jsonl");
    copy_lines(fx->data, a, 0, 1);
    copy_lines(fx->data, b, 1, 1);
    copy_lines(fx->data, ab, 0, 2); /* two arith items of ~25 tokens: one row of 64 */
    grads_file ga, gb, gab, gx;
    grads_of(fx, a, true, &ga);
    grads_of(fx, b, true, &gb);
    grads_of(fx, ab, true, &gab);
    grads_of(fx, ab, false, &gx);
    assert_true(gab.has_positions && !gx.has_positions);
    assert_int_equal(gab.n_targets, ga.n_targets + gb.n_targets);
    /* positions: 0.. for A, then 0 again where B starts (A's length: where A's own row
     * restarts at its padding) */
    int len_a = 1;
    while (len_a < 64 && ga.positions[len_a] != 0) len_a++;
    assert_true(len_a > 1 && len_a < 64);
    for (int i = 0; i < len_a; i++) assert_int_equal(gab.positions[i], i);
    assert_int_equal(gab.positions[len_a], 0);
    assert_int_equal(gab.positions[len_a + 1], 1);
    const double na = (double)ga.n_targets, nb = (double)gb.n_targets, nab = na + nb;
    const double want = (ga.loss * na + gb.loss * nb) / nab;
    assert_int_equal(gab.n_grads, ga.n_grads);
    double gmax = 1e-6, dg = 0;
    for (size_t i = 0; i < gab.n_grads; i++) {
        const double w = (ga.grads[i] * na + gb.grads[i] * nb) / nab;
        gmax = fmax(gmax, fabs(w));
        dg = fmax(dg, fabs(gab.grads[i] - w));
    }
    printf("grads --doc-mask [A|B]: loss %.6f, from A and B alone %.6f (without doc_mask %.6f); "
           "gradients within %.1e relative\n",
           gab.loss, want, gx.loss, dg / gmax);
    assert_true(fabs(gab.loss - want) <= 1e-5 * fmax(1.0, want));
    assert_true(dg <= 1e-4 * gmax);
    assert_true(fabs(gx.loss - want) > 1e-4); /* the test can fail: without it B sees A */
    free(ga.grads), free(gb.grads), free(gab.grads), free(gx.grads);
    free(a), free(b), free(ab);
}

/* ---- recipes ------------------------------------------------------------------------- */

#define GOOD_BASE  "\"base\": {\"preset\": \"tiny\"}, \"tokenizer\": \"bytes\""
#define GOOD_DATA  "\"data\": [{\"capability\": \"arith.add@1\", \"n\": 4}]"
#define GOOD_HYPER "\"steps\": 2, \"batch\": 1, \"seq\": 16, \"lr\": 0.001, \"seed\": 1"

#define LORA_HEAD "\"name\": \"a\", \"kind\": \"lora\", \"base\": {\"model\": \"../models/m\"}"
#define GOOD_LORA "\"lora\": {\"r\": 4, \"alpha\": 8, \"targets\": [\"q\", \"v\"]}"

typedef struct recipe_case {
    const char *json;
    eco_status want;
    const char *field; /* substring the message must hold */
} recipe_case;

/* clang-format 14 does not settle on one layout for these concatenations: */
/* clang-format off */
static const recipe_case RECIPES[] = {
    {"{\"name\": \"ok\", " GOOD_BASE ", " GOOD_DATA ", " GOOD_HYPER "}", ECO_STATUS_OK, NULL},
    {"{\"name\": \"ok\", " GOOD_BASE ", " GOOD_DATA ", " GOOD_HYPER
     ", \"accum\": 2, \"warmup\": 1, \"clip\": 0, "
     "\"weight_decay\": 0, \"min_lr_ratio\": 1, \"out\": \"x\"}",
     ECO_STATUS_OK, NULL},
    {"{\"name\": \"ok\", \"base\": {\"preset\": \"tiny\", \"hidden_size\": 96, "
     "\"num_attention_heads\": 6, "
     "\"num_key_value_heads\": 2, \"intermediate_size\": 200, \"num_hidden_layers\": 3, "
     "\"rope_theta\": 500.0, "
     "\"rms_norm_eps\": 1e-6, \"tie_word_embeddings\": false, \"max_position_embeddings\": 64}, "
     "\"tokenizer\": "
     "\"bytes\", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_OK, NULL},
    {"{\"name\": \"ok\", \"base\": {\"preset\": \"tiny\", \"init_std\": 0.06}, \"tokenizer\": "
     "\"bytes\", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_OK, NULL},
    {"{\"name\": \"x\", \"base\": {\"preset\": \"tiny\", \"init_std\": 0}, \"tokenizer\": "
     "\"bytes\", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "base.init_std"},
    {"{\"name\": \"x\", \"base\": {\"preset\": \"tiny\", \"init_std\": 2}, \"tokenizer\": "
     "\"bytes\", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "base.init_std"},
    {"{\"name\": \"x\", \"base\": {\"preset\": \"tiny\", \"init_std\": \"big\"}, \"tokenizer\": "
     "\"bytes\", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "base.init_std"},
    {"", ECO_STATUS_EFORMAT, "line"},
    {"[]", ECO_STATUS_EFORMAT, "(root)"},
    {"{\"name\": \"x\", \"name\": \"y\"}", ECO_STATUS_EFORMAT, "name"},
    {"{\"name\": \"x\", \"bogus\": 1, " GOOD_BASE ", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "bogus"},
    {"{" GOOD_BASE ", " GOOD_DATA ", " GOOD_HYPER "}", ECO_STATUS_EFORMAT, "name: missing"},
    {"{\"name\": 3, " GOOD_BASE ", " GOOD_DATA ", " GOOD_HYPER "}", ECO_STATUS_EFORMAT,
     "name: expected a string"},
    {"{\"name\": \"x\", \"tokenizer\": \"bytes\", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "base: missing"},
    {"{\"name\": \"x\", \"base\": [], \"tokenizer\": \"bytes\", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "base"},
    {"{\"name\": \"x\", \"base\": {}, \"tokenizer\": \"bytes\", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "base.preset"},
    {"{\"name\": \"x\", \"base\": {\"preset\": \"huge\"}, \"tokenizer\": \"bytes\", " GOOD_DATA
     ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "base.preset"},
    {"{\"name\": \"x\", \"base\": {\"preset\": \"tiny\", \"layers\": 2}, \"tokenizer\": "
     "\"bytes\", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "base: unknown field 'layers'"},
    {"{\"name\": \"x\", \"base\": {\"preset\": \"tiny\", \"hidden_size\": \"64\"}, \"tokenizer\": "
     "\"bytes\", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "base.hidden_size"},
    {"{\"name\": \"x\", \"base\": {\"preset\": \"tiny\", \"hidden_size\": 0}, \"tokenizer\": "
     "\"bytes\", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "base.hidden_size"},
    {"{\"name\": \"x\", \"base\": {\"preset\": \"tiny\", \"num_attention_heads\": 4, "
     "\"num_key_value_heads\": 3}, "
     "\"tokenizer\": \"bytes\", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "num_key_value_heads"},
    {"{\"name\": \"x\", \"base\": {\"preset\": \"tiny\", \"head_dim\": 7}, \"tokenizer\": "
     "\"bytes\", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "base.head_dim"},
    {"{\"name\": \"x\", \"base\": {\"preset\": \"tiny\", \"tie_word_embeddings\": 1}, "
     "\"tokenizer\": \"bytes\", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "tie_word_embeddings"},
    {"{\"name\": \"x\", \"base\": {\"preset\": \"tiny\"}, \"tokenizer\": \"bpe\", " GOOD_DATA
     ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "tokenizer"},
    {"{\"name\": \"x\", " GOOD_BASE ", " GOOD_HYPER "}", ECO_STATUS_EFORMAT, "data: missing"},
    {"{\"name\": \"x\", " GOOD_BASE ", \"data\": [], " GOOD_HYPER "}", ECO_STATUS_EFORMAT, "data"},
    {"{\"name\": \"x\", " GOOD_BASE ", \"data\": {}, " GOOD_HYPER "}", ECO_STATUS_EFORMAT, "data"},
    {"{\"name\": \"x\", " GOOD_BASE ", \"data\": [3], " GOOD_HYPER "}", ECO_STATUS_EFORMAT,
     "data[0]"},
    {"{\"name\": \"x\", " GOOD_BASE ", \"data\": [{}], " GOOD_HYPER "}", ECO_STATUS_EFORMAT,
     "data[0]"},
    {"{\"name\": \"x\", " GOOD_BASE
     ", \"data\": [{\"path\": \"a\", \"capability\": \"arith.add@1\"}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0]"},
    {"{\"name\": \"x\", " GOOD_BASE ", \"data\": [{\"path\": \"a\", \"n\": 3}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0]: unknown field 'n'"},
    {"{\"name\": \"x\", " GOOD_BASE ", \"data\": [{\"path\": \"a\", \"weight\": 0}], " GOOD_HYPER
     "}",
     ECO_STATUS_EFORMAT, "data[0].weight"},
    {"{\"name\": \"x\", " GOOD_BASE ", \"data\": [{\"path\": \"a\", \"weight\": 101}], " GOOD_HYPER
     "}",
     ECO_STATUS_EFORMAT, "data[0].weight"},
    {"{\"name\": \"x\", " GOOD_BASE ", \"data\": [{\"path\": \"\"}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0].path"},
    {"{\"name\": \"x\", " GOOD_BASE
     ", \"data\": [{\"path\": \"a\", \"chunk_bytes\": 2}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0].chunk_bytes"},
    {"{\"name\": \"x\", " GOOD_BASE ", \"data\": ["
     "{\"capability\": \"arith.add@1\", \"n\": 1}, "
     "{\"capability\": \"arith.mul@1\", \"n\": 1}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[1].capability"},
    {"{\"name\": \"x\", " GOOD_BASE ", \"data\": [{\"capability\": \"arith.add@1\"}], " GOOD_HYPER
     "}",
     ECO_STATUS_EFORMAT, "data[0].n: missing"},
    {"{\"name\": \"x\", " GOOD_BASE
     ", \"data\": [{\"capability\": \"arith.add@1\", \"n\": 0}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0].n"},
    {"{\"name\": \"x\", " GOOD_BASE
     ", \"data\": [{\"capability\": \"arith.add@1\", \"n\": 1, \"seed\": -1}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0].seed"},
    {"{\"name\": \"x\", " GOOD_BASE
     ", \"data\": [{\"capability\": \"arith.add@1\", \"n\": 1, \"split\": \"eval\"}], " GOOD_HYPER
     "}",
     ECO_STATUS_EFORMAT, "data[0]: unknown field 'split'"},
    {"{\"name\": \"x\", " GOOD_BASE ", " GOOD_DATA
     ", \"batch\": 1, \"seq\": 16, \"lr\": 0.001, \"seed\": 1}",
     ECO_STATUS_EFORMAT, "steps: missing"},
    {"{\"name\": \"x\", " GOOD_BASE ", " GOOD_DATA
     ", \"steps\": 1.5, \"batch\": 1, \"seq\": 16, \"lr\": 0.001, \"seed\": 1}",
     ECO_STATUS_EFORMAT, "steps: expected an integer"},
    {"{\"name\": \"x\", " GOOD_BASE ", " GOOD_DATA
     ", \"steps\": 0, \"batch\": 1, \"seq\": 16, \"lr\": 0.001, \"seed\": 1}",
     ECO_STATUS_EFORMAT, "steps"},
    {"{\"name\": \"x\", " GOOD_BASE ", " GOOD_DATA
     ", \"steps\": 2, \"batch\": 1, \"seq\": 5000, \"lr\": 0.001, \"seed\": 1}",
     ECO_STATUS_EFORMAT, "seq"},
    {"{\"name\": \"x\", " GOOD_BASE ", " GOOD_DATA
     ", \"steps\": 2, \"batch\": 1, \"seq\": 16, \"lr\": 0, \"seed\": 1}",
     ECO_STATUS_EFORMAT, "lr"},
    {"{\"name\": \"x\", " GOOD_BASE ", " GOOD_DATA
     ", \"steps\": 2, \"batch\": 1, \"seq\": 16, \"lr\": \"0.1\", \"seed\": 1}",
     ECO_STATUS_EFORMAT, "lr: expected a number"},
    {"{\"name\": \"x\", " GOOD_BASE ", " GOOD_DATA ", " GOOD_HYPER ", \"warmup\": 3}",
     ECO_STATUS_EFORMAT, "warmup"},
    {"{\"name\": \"x\", " GOOD_BASE ", " GOOD_DATA ", " GOOD_HYPER ", \"min_lr_ratio\": 2}",
     ECO_STATUS_EFORMAT, "min_lr_ratio"},
    {"{\"name\": \"x\", " GOOD_BASE ", " GOOD_DATA ", " GOOD_HYPER ", \"out\": 5}",
     ECO_STATUS_EFORMAT, "out"},
    {"{\"name\": \"x\", " GOOD_BASE ", " GOOD_DATA ", " GOOD_HYPER ", \"out\": \"a\\u0000b\"}",
     ECO_STATUS_EFORMAT, "out"},
    /* kind */
    {"{\"name\": \"x\", \"kind\": \"pretrain\", " GOOD_BASE ", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_OK, NULL},
    {"{\"name\": \"x\", \"kind\": \"full\", " GOOD_BASE ", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "kind"},
    {"{\"name\": \"x\", \"kind\": 1, " GOOD_BASE ", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "kind"},
    {"{\"name\": \"x\", " GOOD_BASE ", " GOOD_LORA ", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "unknown field 'lora'"},
    /* lora recipes */
    {"{" LORA_HEAD ", " GOOD_LORA ", " GOOD_DATA ", " GOOD_HYPER "}", ECO_STATUS_OK, NULL},
    {"{" LORA_HEAD ", \"lora\": {\"r\": 16, \"alpha\": 32, \"targets\": [\"q\", \"k\", \"v\", "
     "\"o\", \"gate\", \"up\", "
     "\"down_proj\"], \"dropout\": 0.05, \"rslora\": true}, " GOOD_DATA ", " GOOD_HYPER
     ", \"seq\": 4096}",
     ECO_STATUS_EFORMAT, "seq"},
    {"{" LORA_HEAD ", \"lora\": {\"r\": 16, \"alpha\": 32, \"targets\": [\"q\", \"k\", \"v\", "
     "\"o\", \"gate\", \"up\", "
     "\"down_proj\"], \"dropout\": 0.05, \"rslora\": true}, " GOOD_DATA
     ", \"steps\": 2, \"batch\": 1, \"seq\": 4096, "
     "\"lr\": 0.001, \"seed\": 1}",
     ECO_STATUS_OK, NULL},
    {"{" LORA_HEAD ", " GOOD_LORA ", \"tokenizer\": \"bytes\", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "unknown field 'tokenizer'"},
    {"{\"name\": \"a\", \"kind\": \"lora\", " GOOD_LORA ", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "base: missing"},
    {"{\"name\": \"a\", \"kind\": \"lora\", \"base\": {}, " GOOD_LORA ", " GOOD_DATA ", " GOOD_HYPER
     "}",
     ECO_STATUS_EFORMAT, "base.model: missing"},
    {"{\"name\": \"a\", \"kind\": \"lora\", \"base\": {\"model\": 3}, " GOOD_LORA ", " GOOD_DATA
     ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "base.model: expected a string"},
    {"{\"name\": \"a\", \"kind\": \"lora\", \"base\": {\"model\": \"m\", \"preset\": "
     "\"tiny\"}, " GOOD_LORA ", " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "base: unknown field 'preset'"},
    {"{" LORA_HEAD ", " GOOD_DATA ", " GOOD_HYPER "}", ECO_STATUS_EFORMAT, "lora: missing"},
    {"{" LORA_HEAD ", \"lora\": [], " GOOD_DATA ", " GOOD_HYPER "}", ECO_STATUS_EFORMAT,
     "lora: expected an object"},
    {"{" LORA_HEAD ", \"lora\": {\"r\": 4}, " GOOD_DATA ", " GOOD_HYPER "}", ECO_STATUS_EFORMAT,
     "lora.targets: missing"},
    {"{" LORA_HEAD ", \"lora\": {\"targets\": []}, " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "lora.targets"},
    {"{" LORA_HEAD ", \"lora\": {\"targets\": \"q\"}, " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "lora.targets"},
    {"{" LORA_HEAD ", \"lora\": {\"targets\": [\"q\", 1]}, " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "lora.targets[1]"},
    {"{" LORA_HEAD ", \"lora\": {\"targets\": [\"q\", \"lm_head\"]}, " GOOD_DATA ", " GOOD_HYPER
     "}",
     ECO_STATUS_EFORMAT, "lora.targets[1]"},
    {"{" LORA_HEAD ", \"lora\": {\"targets\": [\"q\", \"q_proj\"]}, " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "lora.targets[1]"},
    {"{" LORA_HEAD ", \"lora\": {\"r\": 0, \"targets\": [\"q\"]}, " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "lora.r"},
    {"{" LORA_HEAD ", \"lora\": {\"r\": 2.5, \"targets\": [\"q\"]}, " GOOD_DATA ", " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "lora.r"},
    {"{" LORA_HEAD ", \"lora\": {\"alpha\": 0, \"targets\": [\"q\"]}, " GOOD_DATA ", " GOOD_HYPER
     "}",
     ECO_STATUS_EFORMAT, "lora.alpha"},
    {"{" LORA_HEAD ", \"lora\": {\"dropout\": 1, \"targets\": [\"q\"]}, " GOOD_DATA ", " GOOD_HYPER
     "}",
     ECO_STATUS_EFORMAT, "lora.dropout"},
    {"{" LORA_HEAD ", \"lora\": {\"rslora\": 1, \"targets\": [\"q\"]}, " GOOD_DATA ", " GOOD_HYPER
     "}",
     ECO_STATUS_EFORMAT, "lora.rslora"},
    {"{" LORA_HEAD ", \"lora\": {\"rank\": 4, \"targets\": [\"q\"]}, " GOOD_DATA ", " GOOD_HYPER
     "}",
     ECO_STATUS_EFORMAT, "lora: unknown field 'rank'"},
    {"{" LORA_HEAD ", " GOOD_LORA ", \"data\": [{\"path\": \"t.txt\"}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0].path"},
    {"{" LORA_HEAD ", " GOOD_LORA
     ", \"data\": [{\"capability\": \"nope@1\", \"n\": 1}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0].capability"},
    {"{" LORA_HEAD ", " GOOD_LORA ", \"data\": [{\"drill\": \"drill.copy\", \"n\": 1}], " GOOD_HYPER
     "}",
     ECO_STATUS_EFORMAT, "data[0].drill: a lora recipe takes capabilities only"},
    /* doc_mask */
    {"{" LORA_HEAD ", " GOOD_LORA ", " GOOD_DATA ", " GOOD_HYPER ", \"doc_mask\": true}",
     ECO_STATUS_OK, NULL},
    {"{" LORA_HEAD ", " GOOD_LORA ", " GOOD_DATA ", " GOOD_HYPER ", \"doc_mask\": 1}",
     ECO_STATUS_EFORMAT, "doc_mask: expected true or false"},
    {"{\"name\": \"x\", " GOOD_BASE ", " GOOD_DATA ", " GOOD_HYPER ", \"doc_mask\": \"yes\"}",
     ECO_STATUS_EFORMAT, "doc_mask"},
    /* augmentation (the sentiment capabilities only) */
    {"{" LORA_HEAD ", " GOOD_LORA ", \"data\": [{\"capability\": \"sentiment.imdb@1\", \"n\": 4, "
     "\"augment\": {\"word_dropout\": 0.15, \"join\": 0.3}}], " GOOD_HYPER "}",
     ECO_STATUS_OK, NULL},
    {"{" LORA_HEAD ", " GOOD_LORA
     ", \"data\": [{\"capability\": \"sentiment.imdb@1\", \"n\": 4, \"augment\": 1}], " GOOD_HYPER
     "}",
     ECO_STATUS_EFORMAT, "data[0].augment: expected an object"},
    {"{" LORA_HEAD ", " GOOD_LORA ", \"data\": [{\"capability\": \"sentiment.imdb@1\", \"n\": 4, "
     "\"augment\": {\"dropout\": 0.1}}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0].augment: unknown field 'dropout'"},
    {"{" LORA_HEAD ", " GOOD_LORA ", \"data\": [{\"capability\": \"sentiment.imdb@1\", \"n\": 4, "
     "\"augment\": {\"word_dropout\": 0.95}}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0].augment.word_dropout"},
    {"{" LORA_HEAD ", " GOOD_LORA ", \"data\": [{\"capability\": \"sentiment.imdb@1\", \"n\": 4, "
     "\"augment\": {\"join\": \"half\"}}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0].augment.join"},
    {"{" LORA_HEAD ", " GOOD_LORA ", \"data\": [{\"capability\": \"arith.add@1\", \"n\": 4, "
     "\"augment\": {\"join\": 0.5}}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0].augment: arith.add@1 is not built on free text"},
    /* drills (pretraining only) */
    {"{\"name\": \"x\", " GOOD_BASE
     ", \"data\": [{\"drill\": \"drill.recall\", \"n\": 5, \"seed\": 2}], " GOOD_HYPER "}",
     ECO_STATUS_OK, NULL},
    {"{\"name\": \"x\", " GOOD_BASE
     ", \"data\": [{\"drill\": \"drill.nope\", \"n\": 5}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0].drill: unknown drill 'drill.nope'"},
    {"{\"name\": \"x\", " GOOD_BASE ", \"data\": [{\"drill\": \"drill.copy\"}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0].n"},
    {"{\"name\": \"x\", " GOOD_BASE
     ", \"data\": [{\"drill\": \"drill.copy\", \"n\": 5, \"weight\": 2}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0]: unknown field 'weight'"},
    {"{\"name\": \"x\", " GOOD_BASE ", \"data\": [{\"drill\": 7, \"n\": 5}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0].drill"},
    {"{\"name\": \"x\", " GOOD_BASE ", \"data\": [{\"drill\": \"drill.copy\", \"capability\": "
     "\"arith.add@1\", \"n\": 5}], " GOOD_HYPER "}",
     ECO_STATUS_EFORMAT, "data[0]: expected exactly one of"},
};
/* clang-format on */

static void test_recipe_table(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof RECIPES / sizeof *RECIPES; i++) {
        const recipe_case *c = &RECIPES[i];
        eco_recipe *r = NULL;
        eco_status st = eco_recipe_parse(c->json, strlen(c->json), "r.json", "/base", &r);
        if (st != c->want || (c->field && !strstr(eco_last_error(), c->field))) {
            print_error("case %zu: %s\n  got %s (%s), want %s naming '%s'\n", i, c->json,
                        eco_status_str(st), eco_last_error(), eco_status_str(c->want),
                        c->field ? c->field : "");
            fail();
        }
        if (st == ECO_STATUS_OK)
            assert_non_null(r);
        else
            assert_null(r);
        eco_recipe_free(r);
    }
    /* overrides land in the config; relative paths resolve against base_dir */
    const char *j = "{\"name\": \"ok\", \"base\": {\"preset\": \"tiny\", \"hidden_size\": 96, "
                    "\"num_attention_heads\": 6,"
                    " \"num_key_value_heads\": 2}, \"tokenizer\": \"bytes\", \"data\": [{\"path\": "
                    "\"t.txt\"}], " GOOD_HYPER ", \"out\": \"o\"}";
    eco_recipe *r;
    ECO_ASSERT_OK(eco_recipe_parse(j, strlen(j), "r.json", "/base", &r));
    assert_int_equal(r->config.hidden_size, 96);
    assert_int_equal(r->config.head_dim, 16);
    assert_int_equal(r->config.n_kv_heads, 2);
    assert_int_equal(r->config.vocab_size, 259);
    assert_string_equal(r->sources[0].path, "/base/t.txt");
    assert_true(r->sources[0].weight == 1.0);
    assert_int_equal(r->sources[0].chunk_bytes, 1024);
    assert_string_equal(r->out, "/base/o");
    assert_int_equal(r->accum, 1);
    assert_int_equal(r->kind, ECO_RECIPE_PRETRAIN);
    eco_recipe_free(r);
    /* a lora recipe: defaults, targets, the base resolved, its name for the adapter */
    const char *jl = "{" LORA_HEAD ", \"lora\": {\"targets\": [\"gate\", \"q_proj\"]}, " GOOD_DATA
                     ", " GOOD_HYPER ", \"out\": \"../adapters/a\"}";
    ECO_ASSERT_OK(eco_recipe_parse(jl, strlen(jl), "r.json", "/base", &r));
    assert_int_equal(r->kind, ECO_RECIPE_LORA);
    assert_string_equal(r->base_model, "/base/../models/m");
    assert_string_equal(r->lora.base_model_name_or_path, "m");
    assert_int_equal(r->lora.r, 8);
    assert_true(r->lora.lora_alpha == 16.0);
    assert_true(r->lora.lora_dropout == 0.0);
    assert_false(r->lora.use_rslora);
    for (int t = 0; t < ECO_LORA__COUNT; t++)
        assert_int_equal(r->lora.targets[t], t == ECO_LORA_Q || t == ECO_LORA_GATE);
    assert_string_equal(r->out, "/base/../adapters/a");
    assert_false(r->doc_mask);
    eco_recipe_free(r);
}

static void test_recipe_corpus(void **state) {
    fixture *fx = *state;
    char *txt = join(fx->dir, "t.txt");
    const char *text =
        "First paragraph\r\nline two.\r\n\r\nSecond one.\n\n\n"
        "A long paragraph that has to be cut because it is longer than the chunk size allows.\n";
    eco_test_write_file(txt, text, strlen(text));
    char json[1024];
    snprintf(json, sizeof json,
             "{\"name\": \"c\", " GOOD_BASE
             ", \"data\": [{\"path\": \"t.txt\", \"weight\": 1.5, \"chunk_bytes\": 40}, "
             "{\"capability\": \"arith.add@1\", \"n\": 3, \"seed\": 2}], " GOOD_HYPER "}");
    eco_recipe *r;
    ECO_ASSERT_OK(eco_recipe_parse(json, strlen(json), "c.json", fx->dir, &r));
    char *out = join(fx->dir, "c.jsonl"), *out2 = join(fx->dir, "c2.jsonl");
    size_t n;
    ECO_ASSERT_OK(eco_recipe_build_corpus(r, out, &n));
    ECO_ASSERT_OK(eco_recipe_build_corpus(r, out2, NULL));
    assert_true(files_equal(out, out2));
    eco_data_corpus *c;
    ECO_ASSERT_OK(eco_data_corpus_load(out, &c));
    assert_int_equal(c->kind, ECO_DATA_KIND_TEXT);
    assert_int_equal(c->n_records, n);
    /* chunks: "First paragraph\nline two.\n\nSecond one." (38 bytes), then the long paragraph in
     * pieces of at most 40 bytes cut at spaces */
    assert_int_equal(c->records[0].text_len, 38);
    assert_memory_equal(c->records[0].text, "First paragraph\nline two.\n\nSecond one.", 38);
    size_t chunks = 0;
    while (chunks < n && (chunks == 0 || memcmp(c->records[chunks].text, "First", 5) != 0)) {
        assert_true(c->records[chunks].text_len <= 40);
        chunks++;
    }
    assert_true(chunks >= 3);
    /* weight 1.5: all chunks, then the first half again, then 3 arithmetic items */
    assert_int_equal(n, chunks + (size_t)llround(0.5 * (double)chunks) + 3);
    assert_non_null(strstr(c->records[n - 1].text, "Add:"));
    eco_data_corpus_free(c);
    eco_recipe_free(r);

    /* a lora recipe's corpus: {"prompt", "completion"} records of the TRAIN split */
    const char *jl = "{" LORA_HEAD ", " GOOD_LORA
                     ", \"data\": [{\"capability\": \"arith.add@1\", \"n\": 5, \"seed\": 2}, "
                     "{\"capability\": \"text.sort@1\", \"n\": 2}], " GOOD_HYPER "}";
    ECO_ASSERT_OK(eco_recipe_parse(jl, strlen(jl), "c.json", fx->dir, &r));
    ECO_ASSERT_OK(eco_recipe_build_corpus(r, out, &n));
    assert_int_equal(n, 7);
    ECO_ASSERT_OK(eco_data_corpus_load(out, &c));
    assert_int_equal(c->kind, ECO_DATA_KIND_PROMPT_COMPLETION);
    assert_int_equal(c->n_records, 7);
    const eco_capability *cap;
    ECO_ASSERT_OK(eco_tasks_find("arith.add@1", &cap));
    eco_task_item *items;
    ECO_ASSERT_OK(eco_tasks_generate(cap, ECO_TASK_SPLIT_TRAIN, 5, 2, &items));
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(c->records[i].prompt_len, strlen(items[i].prompt));
        assert_memory_equal(c->records[i].prompt, items[i].prompt, strlen(items[i].prompt));
        assert_int_equal(c->records[i].text_len, strlen(items[i].completion));
        assert_memory_equal(c->records[i].text, items[i].completion, strlen(items[i].completion));
    }
    eco_task_items_free(items, 5);
    assert_non_null(strstr(c->records[6].prompt, "Sort:"));
    eco_data_corpus_free(c);
    eco_recipe_free(r);

    /* drills: one text record each, as eco_drills_generate makes them */
    const char *jd =
        "{\"name\": \"c\", " GOOD_BASE
        ", \"data\": [{\"drill\": \"drill.digits\", \"n\": 4, \"seed\": 3}], " GOOD_HYPER "}";
    ECO_ASSERT_OK(eco_recipe_parse(jd, strlen(jd), "c.json", fx->dir, &r));
    ECO_ASSERT_OK(eco_recipe_build_corpus(r, out, &n));
    assert_int_equal(n, 4);
    ECO_ASSERT_OK(eco_data_corpus_load(out, &c));
    assert_int_equal(c->kind, ECO_DATA_KIND_TEXT);
    char **drill;
    ECO_ASSERT_OK(eco_drills_generate("drill.digits", 4, 3, &drill));
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(c->records[i].text_len, strlen(drill[i]));
        assert_memory_equal(c->records[i].text, drill[i], strlen(drill[i]));
    }
    eco_drill_texts_free(drill, 4);
    eco_data_corpus_free(c);
    eco_recipe_free(r);

    /* a missing text file fails at build time, naming it */
    const char *jm =
        "{\"name\": \"c\", " GOOD_BASE ", \"data\": [{\"path\": \"missing.txt\"}], " GOOD_HYPER "}";
    ECO_ASSERT_OK(eco_recipe_parse(jm, strlen(jm), "c.json", fx->dir, &r));
    ECO_ASSERT_STATUS(eco_recipe_build_corpus(r, out, NULL), ECO_STATUS_ENOTFOUND);
    assert_non_null(strstr(eco_last_error(), "missing.txt"));
    eco_recipe_free(r);
    free(out), free(out2), free(txt);
}

/* A lora recipe runs on a saved base into its "out" (or the folder given), and the same
 * recipe run twice with one thread writes the same adapter bytes. */
static void test_recipe_lora_run(void **state) {
    fixture *fx = *state;
    char *path = join(fx->dir, "adapter.json");
    const char *j =
        "{\"name\": \"a\", \"kind\": \"lora\", \"base\": {\"model\": \"tiny\"}, " GOOD_LORA ", "
        "\"data\": [{\"capability\": \"arith.add@1\", \"n\": 16, \"seed\": 1}], \"steps\": 3, "
        "\"batch\": 2, "
        "\"seq\": 32, \"lr\": 0.01, \"seed\": 3, \"out\": \"ad\"}";
    eco_test_write_file(path, j, strlen(j));
    eco_recipe *r;
    ECO_ASSERT_OK(eco_recipe_load(path, &r));
    eco_trainer_result res;
    eco_recipe_run_options ro = {.threads = 1};
    ECO_ASSERT_OK(eco_recipe_run(r, &ro, &res));
    assert_true(res.finished);
    assert_int_equal(res.steps_done, 3);
    char *ad2 = join(fx->dir, "ad2");
    ro.out_dir = ad2;
    ECO_ASSERT_OK(eco_recipe_run(r, &ro, NULL));
    char *a = join(fx->dir, "ad/adapter_model.safetensors"),
         *b = join(ad2, "adapter_model.safetensors");
    char *ca = join(fx->dir, "ad/adapter_config.json"), *cb = join(ad2, "adapter_config.json");
    assert_true(files_equal(a, b));
    assert_true(files_equal(ca, cb));
    eco_peft_config cfg;
    ECO_ASSERT_OK(eco_peft_config_load(ca, &cfg));
    assert_string_equal(cfg.base_model_name_or_path, "tiny");
    assert_int_equal(cfg.r, 4);
    assert_true(cfg.targets[ECO_LORA_Q] && cfg.targets[ECO_LORA_V] && !cfg.targets[ECO_LORA_K]);
    char *tj = join(fx->dir, "ad/training.json");
    char *text;
    size_t len;
    ECO_ASSERT_OK(eco_read_file(tj, 1 << 20, &text, &len));
    assert_non_null(strstr(text, "\"mode\":\"lora\""));
    assert_non_null(strstr(text, "adapter.json")); /* the recipe, with its SHA-256 */
    free(text);
    eco_recipe_free(r);
    free(path), free(ad2), free(a), free(b), free(ca), free(cb), free(tj);
}

/* A tokenizer.json trained here, for the BPE recipe tests: fx->dir/tok/tokenizer.json, its
 * SHA-256 in hex. */
static char *write_bpe_tokenizer(const fixture *fx, char hex[ECO_SHA256_HEX_LEN + 1]) {
    static const char *const specials[] = {"<|bos|>", "<|eos|>", "<|pad|>"};
    eco_bpe_train_options o = {
        .vocab_size = 300, .specials = specials, .n_specials = 3, .bos = "<|bos|>", .threads = 1};
    char *corpus = join(fx->dir, "tok-corpus.txt"), *dir = join(fx->dir, "tok");
    char *path = join(dir, "tokenizer.json");
    const char *text = "Add: 12+34\nSum: 46\nCall me Ishmael. Some years ago, never mind how "
                       "long precisely, having little or no money in my purse.\n";
    eco_test_write_file(corpus, text, strlen(text));
    ECO_ASSERT_OK(eco_mkdir_p(dir));
    const char *files[1] = {corpus};
    ECO_ASSERT_OK(eco_bpe_train_files(&o, files, 1, path, NULL));
    ECO_ASSERT_OK(eco_sha256_file_hex(path, hex));
    free(corpus), free(dir);
    return path;
}

/* "tokenizer": {"path", "sha256", "bos", "eos"}: the vocabulary and BOS/EOS come from the
 * file; a wrong digest, a missing file or a BOS that is not special is refused naming the
 * field. */
static void test_recipe_tokenizer_file(void **state) {
    fixture *fx = *state;
    char hex[ECO_SHA256_HEX_LEN + 1];
    char *tok = write_bpe_tokenizer(fx, hex);
    char j[2048];
    eco_recipe *r = NULL;
#define TOK_RECIPE(tokjson)                                                                        \
    snprintf(j, sizeof j,                                                                          \
             "{\"name\": \"b\", \"base\": {\"preset\": \"tiny\"}, \"tokenizer\": %s, " GOOD_DATA   \
             ", " GOOD_HYPER "}",                                                                  \
             tokjson)
    char t[512];
    snprintf(t, sizeof t, "{\"path\": \"tok/tokenizer.json\", \"sha256\": \"%s\"}", hex);
    TOK_RECIPE(t);
    ECO_ASSERT_OK(eco_recipe_parse(j, strlen(j), "r.json", fx->dir, &r));
    assert_int_equal(r->config.vocab_size, 300);
    assert_int_equal(r->config.bos_token_id, 0);
    assert_int_equal(r->config.eos_token_ids[0], 1);
    assert_string_equal(r->tokenizer_path, tok);
    assert_string_equal(r->tokenizer_sha256, hex);
    eco_recipe_free(r);
    snprintf(t, sizeof t,
             "{\"path\": \"tok/tokenizer.json\", \"sha256\": \"%s\", \"bos\": \"<|pad|>\", "
             "\"eos\": \"<|bos|>\"}",
             hex);
    TOK_RECIPE(t);
    ECO_ASSERT_OK(eco_recipe_parse(j, strlen(j), "r.json", fx->dir, &r));
    assert_int_equal(r->config.bos_token_id, 2);
    assert_int_equal(r->config.eos_token_ids[0], 0);
    eco_recipe_free(r);
    char wrong[ECO_SHA256_HEX_LEN + 1];
    memcpy(wrong, hex, sizeof wrong);
    wrong[0] = wrong[0] == '0' ? '1' : '0';
    const struct {
        const char *fmt;
        const char *hex;
        const char *want;
    } bad[] = {
        {"{\"path\": \"tok/tokenizer.json\", \"sha256\": \"%s\"}", wrong, "tokenizer.sha256"},
        {"{\"path\": \"tok/tokenizer.json\", \"sha256\": \"%s\"}", "abc", "tokenizer.sha256"},
        {"{\"path\": \"tok/none.json\", \"sha256\": \"%s\"}", hex, "tokenizer.path"},
        {"{\"path\": \"tok/tokenizer.json\", \"sha256\": \"%s\", \"bos\": \"Add\"}", hex,
         "tokenizer.bos"},
        {"{\"path\": \"tok/tokenizer.json\", \"sha256\": \"%s\", \"eos\": \"<|x|>\"}", hex,
         "tokenizer.eos"},
        {"{\"path\": \"tok/tokenizer.json\", \"sha256\": \"%s\", \"vocab\": 3}", hex,
         "unknown field 'vocab'"},
        {"{\"sha256\": \"%s\"}", hex, "tokenizer.path"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(t, sizeof t, bad[i].fmt, bad[i].hex);
        TOK_RECIPE(t);
        eco_status st = eco_recipe_parse(j, strlen(j), "r.json", fx->dir, &r);
        if (st == ECO_STATUS_OK || !strstr(eco_last_error(), bad[i].want))
            fail_msg("case %zu: status %d, message '%s', expected '%s'", i, (int)st,
                     eco_last_error(), bad[i].want);
    }
#undef TOK_RECIPE
    free(tok);
}

/* A pretraining recipe with a BPE tokenizer: the model folder ships the tokenizer and the
 * config names its BOS/EOS; one thread twice gives the same bytes; eco_model_text_nll on
 * the result equals the log-softmax of eco_model_forward's logits, window by window. */
static void test_recipe_bpe_run(void **state) {
    fixture *fx = *state;
    char hex[ECO_SHA256_HEX_LEN + 1];
    char *tok = write_bpe_tokenizer(fx, hex);
    char *path = join(fx->dir, "bpe.json"), *corpus = join(fx->dir, "tok-corpus.txt");
    char j[2048];
    snprintf(j, sizeof j,
             "{\"name\": \"b\", \"base\": {\"preset\": \"tiny\", \"num_hidden_layers\": 1, "
             "\"max_position_embeddings\": 64}, \"tokenizer\": {\"path\": \"tok/tokenizer.json\", "
             "\"sha256\": \"%s\"}, \"data\": [{\"path\": \"tok-corpus.txt\"}, {\"capability\": "
             "\"arith.add@1\", \"n\": 16, \"seed\": 1}], \"steps\": 3, \"batch\": 2, \"seq\": 32, "
             "\"lr\": 0.01, \"seed\": 3, \"out\": \"m1\"}",
             hex);
    eco_test_write_file(path, j, strlen(j));
    eco_recipe *r;
    ECO_ASSERT_OK(eco_recipe_load(path, &r));
    eco_recipe_run_options ro = {.threads = 1};
    ECO_ASSERT_OK(eco_recipe_run(r, &ro, NULL));
    char *m2 = join(fx->dir, "m2");
    ro.out_dir = m2;
    ECO_ASSERT_OK(eco_recipe_run(r, &ro, NULL));
    eco_recipe_free(r);
    char *m1 = join(fx->dir, "m1");
    const char *files[] = {"model.safetensors", "config.json", "tokenizer.json"};
    for (size_t i = 0; i < 3; i++) {
        char *a = join(m1, files[i]), *b = join(m2, files[i]);
        assert_true(files_equal(a, b));
        free(a), free(b);
    }
    char *shipped = join(m1, "tokenizer.json");
    assert_true(files_equal(shipped, tok));
    eco_model *m;
    ECO_ASSERT_OK(eco_model_load(m1, &m));
    const eco_model_config *cfg = eco_model_get_config(m);
    assert_int_equal(cfg->vocab_size, 300);
    assert_int_equal(cfg->bos_token_id, 0);
    assert_int_equal(cfg->eos_token_ids[0], 1);
    eco_tokenizer *tk;
    ECO_ASSERT_OK(eco_tokenizer_load(shipped, &tk));
    char *text;
    size_t len;
    ECO_ASSERT_OK(eco_read_file(corpus, 1 << 20, &text, &len));
    int32_t *ids;
    size_t n;
    ECO_ASSERT_OK(eco_tokenizer_encode(tk, text, len, false, &ids, &n));
    assert_true(n > 20 && n < len); /* merges happened */
    const int64_t ctx = 8, V = cfg->vocab_size;
    eco_text_nll got;
    ECO_ASSERT_OK(eco_model_text_nll(m, tk, text, len, ctx, &got));
    assert_int_equal(got.tokens, (int64_t)n);
    assert_int_equal(got.bytes, (int64_t)len);
    assert_int_equal(got.windows, ((int64_t)n + ctx - 2) / (ctx - 1));
    /* the reference: each window [BOS, ids...] through eco_model_forward, log-softmax here */
    float *logits = malloc((size_t)ctx * (size_t)V * sizeof(float)); /* [ctx, V] */
    eco_kv_cache *kv;
    ECO_ASSERT_OK(eco_kv_cache_create(m, ctx, &kv));
    double want = 0;
    for (size_t at = 0; at < n; at += (size_t)ctx - 1) {
        int32_t w[8] = {0};
        size_t take = n - at < (size_t)ctx - 1 ? n - at : (size_t)ctx - 1;
        memcpy(w + 1, ids + at, take * sizeof *w);
        eco_kv_cache_reset(kv);
        ECO_ASSERT_OK(eco_model_forward(m, kv, w, (int64_t)take + 1, logits, true));
        for (size_t i = 0; i < take; i++) {
            const float *row = logits + i * (size_t)V;
            double z = 0;
            for (int64_t v = 0; v < V; v++) z += exp((double)row[v]);
            want += log(z) - row[w[i + 1]];
        }
    }
    assert_true(fabs(got.nll_nats - want) < 1e-6 * want);
    assert_true(fabs(got.bits_per_byte - want / log(2.0) / (double)len) < 1e-9);
    /* refusals */
    ECO_ASSERT_STATUS(eco_model_text_nll(m, tk, text, len, 1, &got), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_model_text_nll(m, tk, text, len, 65, &got), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_model_text_nll(m, tk, text, 0, ctx, &got), ECO_STATUS_EINVAL);
    eco_kv_cache_free(kv);
    free(logits), free(ids), free(text);
    eco_tokenizer_free(tk);
    eco_model_free(m);
    free(tok), free(path), free(corpus), free(m1), free(m2), free(shipped);
}

static void test_options_refused(void **state) {
    fixture *fx = *state;
    char *out = join(fx->dir, "bad");
    eco_trainer_options o = base_options(fx, out);
    o.steps = 0;
    ECO_ASSERT_STATUS(eco_trainer_run(&o, NULL), ECO_STATUS_EINVAL);
    o = base_options(fx, out);
    o.lr = -1;
    ECO_ASSERT_STATUS(eco_trainer_run(&o, NULL), ECO_STATUS_EINVAL);
    o = base_options(fx, out);
    o.data_path = "/nonexistent/data.jsonl";
    ECO_ASSERT_STATUS(eco_trainer_run(&o, NULL), ECO_STATUS_ENOTFOUND);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resume_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_lora, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_distill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_training_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loss_decreases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lora_load_and_grads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grads_doc_mask, setup, teardown),
        cmocka_unit_test(test_recipe_table),
        cmocka_unit_test_setup_teardown(test_recipe_corpus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recipe_lora_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recipe_tokenizer_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recipe_bpe_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
