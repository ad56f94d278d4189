/*
 * Full-model merges and the streaming safetensors writer (merge_model.c, ops_model.c,
 * safetensors_stream.c).
 *
 * Models are the "tiny" preset made here with eco_model_create_preset (a few hundred K
 * parameters). Tolerances: linear merges are compared with the merge computed here in
 * double from the parents' stored values, allowing 2 ulp of f32 at the magnitude of the
 * largest term; the largest difference is printed. Everything else is exact (bytes).
 */
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/artifacts.h"
#include "ecology/merge_dir.h"
#include "ecology/model.h"
#include "ecology/safetensors.h"
#include "breeder/model_stream.h"
#include "test_util.h"

/* ---- helpers ------------------------------------------------------------------------- */

static char *join(const char *dir, const char *name) {
    char *p = eco_path_join(dir, name);
    assert_non_null(p);
    return p;
}

static char *make_model(const char *root, const char *name, uint64_t seed, eco_dtype dt) {
    char *dir = join(root, name);
    ECO_ASSERT_OK(eco_model_create_preset("tiny", seed, dt, dir));
    return dir;
}

static void read_all(const char *path, uint8_t **data, size_t *len) {
    char *d = NULL;
    ECO_ASSERT_OK(eco_read_file(path, (size_t)1 << 30, &d, len));
    *data = (uint8_t *)d;
}

static bool files_equal(const char *a, const char *b) {
    uint8_t *x, *y;
    size_t nx, ny;
    read_all(a, &x, &nx);
    read_all(b, &y, &ny);
    bool eq = nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return eq;
}

/* f32 copy of a tensor (any float dtype); caller frees. */
static float *widen(const eco_tensor *t) {
    size_t n = eco_tensor_numel(t);
    float *x = malloc((n ? n : 1) * sizeof *x);
    assert_non_null(x);
    eco_to_f32(x, t->data, t->dtype, n);
    return x;
}

static eco_merge_dir_options merge_opts(eco_merge_method m, const char *base,
                                        const char *const *parents, size_t n, const double *w,
                                        const char *out) {
    eco_merge_dir_options o = {0};
    eco_merge_params_init(&o.params, m);
    o.base = base;
    o.parents = parents;
    o.n_parents = n;
    o.params.n_parents = (int)n;
    for (size_t i = 0; i < n; i++) o.params.weight[i] = w ? w[i] : 1.0;
    o.out = out;
    return o;
}

/* Whether every tensor of folders a and b has the same bytes (and the same names). */
static void assert_same_tensors(const char *a, const char *b) {
    eco_weights *wa, *wb;
    ECO_ASSERT_OK(eco_weights_open(a, &wa));
    ECO_ASSERT_OK(eco_weights_open(b, &wb));
    assert_int_equal(eco_weights_count(wa), eco_weights_count(wb));
    for (size_t i = 0; i < eco_weights_count(wa); i++) {
        const eco_tensor *x = eco_weights_get(wa, i), *y = eco_weights_find(wb, x->name);
        assert_non_null(y);
        assert_int_equal(x->dtype, y->dtype);
        assert_int_equal(x->nbytes, y->nbytes);
        if (memcmp(x->data, y->data, x->nbytes) != 0) fail_msg("tensor %s differs", x->name);
    }
    eco_weights_close(wa);
    eco_weights_close(wb);
}

/* ---- the streaming writer -------------------------------------------------------------- */

/* A mix of dtypes and shapes, data filled with a pattern. */
typedef struct tset {
    eco_tensor t[6];
    uint8_t *data[6];
    size_t n;
} tset;

static void tset_make(tset *s) {
    static const char *const names[] = {"z.bias", "a.weight", "m.half",
                                        "b.bf",   "c.scalar", "e.empty"};
    static const eco_dtype dts[] = {ECO_DTYPE_F32,  ECO_DTYPE_F32, ECO_DTYPE_F16,
                                    ECO_DTYPE_BF16, ECO_DTYPE_F32, ECO_DTYPE_F32};
    static const int64_t shapes[][2] = {{7, 0}, {5, 33}, {3, 9}, {64, 2}, {0, 0}, {0, 4}};
    static const int ndims[] = {1, 2, 2, 2, 0, 2};
    s->n = 6;
    for (size_t i = 0; i < s->n; i++) {
        eco_tensor *t = &s->t[i];
        memset(t, 0, sizeof *t);
        t->name = names[i];
        t->dtype = dts[i];
        t->ndim = ndims[i];
        for (int d = 0; d < t->ndim; d++) t->shape[d] = shapes[i][d];
        t->nbytes = eco_tensor_numel(t) * eco_dtype_size(t->dtype);
        s->data[i] = malloc(t->nbytes + 1);
        for (size_t k = 0; k < t->nbytes; k++) s->data[i][k] = (uint8_t)(k * 31 + i * 7 + 1);
        t->data = s->data[i];
    }
}

static void tset_free(tset *s) {
    for (size_t i = 0; i < s->n; i++) free(s->data[i]);
}

/* Writes s through the streaming writer, each tensor in pieces of `piece` bytes. */
static eco_status stream_write(const tset *s, const char *dir, uint64_t shard_bytes, size_t piece,
                               size_t *n_shards) {
    static const char *const meta[2] = {"format", "pt"};
    eco_safetensors_writer *w;
    eco_status st = eco_safetensors_writer_open(dir, s->t, s->n, meta, 1, shard_bytes, &w);
    if (st) return st;
    *n_shards = eco_safetensors_writer_shard_count(w);
    const eco_tensor *d;
    while ((d = eco_safetensors_writer_next(w))) {
        const eco_tensor *src = NULL;
        for (size_t i = 0; i < s->n; i++)
            if (strcmp(s->t[i].name, d->name) == 0) src = &s->t[i];
        assert_non_null(src);
        for (size_t k = 0; k < src->nbytes; k += piece) {
            size_t m = src->nbytes - k < piece ? src->nbytes - k : piece;
            if ((st = eco_safetensors_writer_write(w, (const uint8_t *)src->data + k, m))) {
                eco_safetensors_writer_abort(w);
                return st;
            }
        }
    }
    return eco_safetensors_writer_commit(w);
}

static void test_writer_bytes_equal(void **state) {
    (void)state;
    tset s;
    tset_make(&s);
    char *dir = eco_test_tmpdir();
    static const char *const meta[2] = {"format", "pt"};
    uint8_t *want, *got;
    size_t nwant, ngot, n_shards;
    ECO_ASSERT_OK(eco_safetensors_write_memory(s.t, s.n, meta, 1, &want, &nwant));
    ECO_ASSERT_OK(stream_write(&s, dir, 0, 13, &n_shards));
    assert_int_equal(n_shards, 1);
    char *p = join(dir, "model.safetensors");
    read_all(p, &got, &ngot);
    assert_int_equal(ngot, nwant);
    assert_memory_equal(got, want, nwant);
    char *idx = join(dir, ECO_SAFETENSORS_INDEX_FILE);
    assert_false(eco_path_has_file(dir, ECO_SAFETENSORS_INDEX_FILE));
    free(idx);
    free(got);
    free(want);
    free(p);
    eco_test_rmtree(dir);
    free(dir);
    tset_free(&s);
}

static void test_writer_sharded(void **state) {
    (void)state;
    tset s;
    tset_make(&s);
    char *dir = eco_test_tmpdir();
    size_t n_shards;
    /* 700 bytes a shard: a.weight (660 bytes) alone, the rest after it */
    ECO_ASSERT_OK(stream_write(&s, dir, 700, 1000, &n_shards));
    assert_true(n_shards >= 2);
    eco_weights *w;
    ECO_ASSERT_OK(eco_weights_open(dir, &w));
    assert_int_equal(eco_weights_shard_count(w), n_shards);
    assert_int_equal(eco_weights_count(w), s.n);
    size_t total = 0;
    for (size_t i = 0; i < s.n; i++) {
        const eco_tensor *t = eco_weights_find(w, s.t[i].name);
        assert_non_null(t);
        assert_int_equal(t->nbytes, s.t[i].nbytes);
        if (t->nbytes) assert_memory_equal(t->data, s.t[i].data, t->nbytes);
        total += t->nbytes;
    }
    eco_weights_close(w);
    /* each shard is what eco_safetensors_write writes for its tensors; the index HF's */
    char *ip = join(dir, ECO_SAFETENSORS_INDEX_FILE);
    json_error_t jerr;
    json_t *idx = json_load_file(ip, 0, &jerr);
    assert_non_null(idx);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(idx, "metadata"), "total_size")), total);
    const char *first =
        json_string_value(json_object_get(json_object_get(idx, "weight_map"), "a.weight"));
    assert_non_null(first);
    char want_name[64];
    snprintf(want_name, sizeof want_name, "model-00001-of-%05zu.safetensors", n_shards);
    assert_string_equal(first, want_name);
    json_decref(idx);
    free(ip);
    eco_test_rmtree(dir);
    free(dir);
    tset_free(&s);
}

static void test_writer_misuse(void **state) {
    (void)state;
    tset s;
    tset_make(&s);
    char *dir = eco_test_tmpdir();
    eco_safetensors_writer *w;
    ECO_ASSERT_OK(eco_safetensors_writer_open(dir, s.t, s.n, NULL, 0, 0, &w));
    const eco_tensor *d = eco_safetensors_writer_next(w);
    assert_non_null(d);
    uint8_t big[4096] = {0};
    ECO_ASSERT_STATUS(eco_safetensors_writer_write(w, big, d->nbytes + 1), ECO_STATUS_EINVAL);
    ECO_ASSERT_OK(eco_safetensors_writer_write(w, big, 4));
    ECO_ASSERT_STATUS(eco_safetensors_writer_commit(w), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "lacks"));
    assert_false(eco_path_has_file(dir, "model.safetensors"));
    /* a name twice */
    eco_tensor two[2] = {s.t[0], s.t[0]};
    ECO_ASSERT_STATUS(eco_safetensors_writer_open(dir, two, 2, NULL, 0, 0, &w), ECO_STATUS_EINVAL);
    eco_test_rmtree(dir);
    free(dir);
    tset_free(&s);
}

/* ---- merges ---------------------------------------------------------------------------- */

typedef struct fixture {
    char *root;
    char *a, *b, *base, *half; /* f32 seeds 1, 2, 3; bf16 seed 2 */
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->root = eco_test_tmpdir();
    f->a = make_model(f->root, "a", 1, ECO_DTYPE_F32);
    f->b = make_model(f->root, "b", 2, ECO_DTYPE_F32);
    f->base = make_model(f->root, "base", 3, ECO_DTYPE_F32);
    f->half = make_model(f->root, "half", 2, ECO_DTYPE_BF16);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    eco_test_rmtree(f->root);
    free(f->root);
    free(f->a);
    free(f->b);
    free(f->base);
    free(f->half);
    free(f);
    return 0;
}

/* out = (wa·a + wb·b)/(wa + wb) per element, against the stored parents. */
static void check_linear(const char *out, const char *pa, const char *pb, double wa, double wb,
                         eco_dtype want_dtype) {
    eco_weights *wo, *w1, *w2;
    ECO_ASSERT_OK(eco_weights_open(out, &wo));
    ECO_ASSERT_OK(eco_weights_open(pa, &w1));
    ECO_ASSERT_OK(eco_weights_open(pb, &w2));
    double worst = 0, worst_ulps = 0;
    for (size_t i = 0; i < eco_weights_count(wo); i++) {
        const eco_tensor *to = eco_weights_get(wo, i);
        assert_int_equal(to->dtype, want_dtype);
        float *o = widen(to), *x = widen(eco_weights_find(w1, to->name)),
              *y = widen(eco_weights_find(w2, to->name));
        size_t n = eco_tensor_numel(to);
        for (size_t k = 0; k < n; k++) {
            double ref = (wa * x[k] + wb * y[k]) / (wa + wb);
            double mag = (fabs(wa * x[k]) + fabs(wb * y[k])) / fabs(wa + wb);
            double ulp = want_dtype == ECO_DTYPE_F32 ? ldexp(mag, -23) : ldexp(mag, -8);
            double d = fabs(o[k] - ref);
            if (d > worst) worst = d;
            if (ulp > 0 && d / ulp > worst_ulps) worst_ulps = d / ulp;
            if (d > 2 * ulp + 1e-30)
                fail_msg("%s[%zu]: %.9g, want %.9g (diff %.3g > 2 ulp %.3g)", to->name, k, o[k],
                         ref, d, 2 * ulp);
        }
        free(o);
        free(x);
        free(y);
    }
    printf("linear: largest |difference| %.3g (%.2f ulp of the largest term)\n", worst, worst_ulps);
    eco_weights_close(wo);
    eco_weights_close(w1);
    eco_weights_close(w2);
}

static void test_linear_reference(void **state) {
    fixture *f = *state;
    char *out = join(f->root, "lin");
    const char *par[2] = {f->a, f->b};
    double w[2] = {0.3, 0.7};
    eco_merge_dir_options o = merge_opts(ECO_MERGE_METHOD_LINEAR, NULL, par, 2, w, out);
    eco_merge_dir_report rep;
    ECO_ASSERT_OK(eco_merge_dir(&o, &rep));
    assert_false(rep.adapters);
    assert_true(rep.n_tensors > 0);
    eco_weights *wa;
    ECO_ASSERT_OK(eco_weights_open(f->a, &wa));
    assert_int_equal(rep.bytes_read, 2 * eco_weights_nbytes(wa));
    assert_int_equal(rep.bytes_written, eco_weights_nbytes(wa));
    eco_weights_close(wa);
    eco_merge_dir_report_free(&rep);
    check_linear(out, f->a, f->b, 0.3, 0.7, ECO_DTYPE_F32);

    /* lineage.json: the operation, every parameter, the parents by their files' digests */
    char *lp = join(out, ECO_LINEAGE_FILE);
    json_error_t jerr;
    json_t *rec = json_load_file(lp, 0, &jerr);
    assert_non_null(rec);
    json_t *op = json_object_get(rec, "operation");
    assert_string_equal(json_string_value(json_object_get(op, "name")), "merge");
    assert_string_equal(json_string_value(json_object_get(json_object_get(op, "params"), "method")),
                        "linear");
    json_t *ps = json_object_get(rec, "parents");
    assert_int_equal(json_array_size(ps), 2);
    char hex[ECO_SHA256_HEX_LEN + 1];
    char *mp = join(f->b, "model.safetensors");
    ECO_ASSERT_OK(eco_sha256_file_hex(mp, hex));
    assert_string_equal(json_string_value(json_object_get(json_array_get(ps, 1), "sha256")), hex);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ps, 1), "role")),
                        "parent");
    char *text = NULL;
    size_t tl;
    ECO_ASSERT_OK(eco_read_file(lp, 1 << 20, &text, &tl));
    assert_null(strstr(text, f->root));
    free(text);
    json_decref(rec);
    free(lp);
    free(mp);
    /* the side files of the first parent */
    assert_true(eco_path_has_file(out, "config.json"));
    assert_true(eco_path_has_file(out, "tokenizer.json"));
    /* an output that exists is refused without force, replaced with it */
    ECO_ASSERT_STATUS(eco_merge_dir(&o, NULL), ECO_STATUS_EEXIST);
    o.force = true;
    ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
    free(out);
}

/* The parents' entries of out's lineage.json (a new reference). */
static json_t *lineage_parents(const char *out) {
    char *lp = join(out, ECO_LINEAGE_FILE);
    json_error_t jerr;
    json_t *rec = json_load_file(lp, 0, &jerr);
    assert_non_null(rec);
    json_t *ps = json_incref(json_object_get(rec, "parents"));
    assert_non_null(ps);
    json_decref(rec);
    free(lp);
    return ps;
}

/* Known digests (a registry checkout's manifests) are recorded as given, not re-hashed; a
 * weights file whose size differs from the manifest's, or that it lacks, is hashed. */
static void test_known_digests(void **state) {
    fixture *f = *state;
    char *hashed = join(f->root, "kd_hashed"), *known = join(f->root, "kd_known"),
         *many = join(f->root, "kd_sharded");
    const char *par[2] = {f->a, f->b};
    eco_merge_dir_options o =
        merge_opts(ECO_MERGE_METHOD_TASK_ARITHMETIC, f->base, par, 2, NULL, hashed);
    ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
    eco_manifest ma, mb, mbase;
    ECO_ASSERT_OK(eco_manifest_from_dir(f->a, NULL, &ma));
    ECO_ASSERT_OK(eco_manifest_from_dir(f->b, NULL, &mb));
    ECO_ASSERT_OK(eco_manifest_from_dir(f->base, NULL, &mbase));
    const eco_manifest *files[2] = {&ma, &mb};
    o.out = known;
    o.base_files = &mbase;
    o.parent_files = files;
    ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
    assert_same_tensors(hashed, known);
    char *l1 = join(hashed, ECO_LINEAGE_FILE), *l2 = join(known, ECO_LINEAGE_FILE);
    assert_true(files_equal(l1, l2)); /* the same record */
    /* a digest taken as given: b's entry says so; a's size is wrong: a is hashed */
    eco_file_entry *eb = (eco_file_entry *)eco_manifest_find(&mb, "model.safetensors");
    eco_file_entry *ea = (eco_file_entry *)eco_manifest_find(&ma, "model.safetensors");
    assert_non_null(eb);
    assert_non_null(ea);
    char real_a[ECO_SHA256_HEX_LEN + 1];
    memcpy(real_a, ea->sha256, sizeof real_a);
    memset(eb->sha256, 'b', ECO_SHA256_HEX_LEN);
    memset(ea->sha256, 'a', ECO_SHA256_HEX_LEN);
    ea->size++;
    o.force = true;
    ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
    json_t *ps = lineage_parents(known);
    assert_int_equal(json_array_size(ps), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ps, 1), "sha256")),
                        real_a);
    const char *hb = json_string_value(json_object_get(json_array_get(ps, 2), "sha256"));
    assert_non_null(hb);
    assert_int_equal(strspn(hb, "b"), ECO_SHA256_HEX_LEN);
    json_decref(ps);
    /* a sharded parent: the index and each shard from its manifest */
    o = merge_opts(ECO_MERGE_METHOD_LINEAR, NULL, par, 2, NULL, many);
    o.shard_bytes = 50000;
    ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
    eco_manifest ms;
    ECO_ASSERT_OK(eco_manifest_from_dir(many, NULL, &ms));
    for (size_t k = 0; k < ms.n; k++) memset(ms.files[k].sha256, 'c', ECO_SHA256_HEX_LEN);
    const char *par2[2] = {many, f->a};
    const eco_manifest *files2[2] = {&ms, NULL};
    o = merge_opts(ECO_MERGE_METHOD_LINEAR, NULL, par2, 2, NULL, known);
    o.force = true;
    o.parent_files = files2;
    ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
    ps = lineage_parents(known);
    json_t *e0 = json_array_get(ps, 0), *shards = json_object_get(e0, "shards");
    assert_true(json_array_size(shards) > 2);
    assert_int_equal(strspn(json_string_value(json_object_get(e0, "sha256")), "c"),
                     ECO_SHA256_HEX_LEN);
    for (size_t k = 0; k < json_array_size(shards); k++)
        assert_int_equal(
            strspn(json_string_value(json_object_get(json_array_get(shards, k), "sha256")), "c"),
            ECO_SHA256_HEX_LEN);
    json_decref(ps);
    /* mutate, prune and crossover take them too */
    memset(ea->sha256, 'a', ECO_SHA256_HEX_LEN);
    ea->size--;
    eco_mutate_dir_options mo = {
        .parent = f->a, .sigma = 0.1, .out = known, .force = true, .parent_files = &ma};
    ECO_ASSERT_OK(eco_mutate_model_dir(&mo, NULL));
    eco_prune_dir_options po = {.parent = f->a,
                                .base = f->base,
                                .density = 0.5,
                                .out = many,
                                .force = true,
                                .parent_files = &ma,
                                .base_files = &mbase};
    ECO_ASSERT_OK(eco_prune_model_dir(&po, NULL));
    const eco_manifest *files3[2] = {&ma, &mb};
    eco_crossover_dir_options co = {
        .parents = par, .n_parents = 2, .out = hashed, .force = true, .parent_files = files3};
    ECO_ASSERT_OK(eco_crossover_models_dir(&co, NULL));
    const char *const outs[3] = {known, many, hashed};
    const char *const want[3][2] = {{"a", NULL}, {NULL, "a"}, {"a", "b"}}; /* by parent */
    for (int k = 0; k < 3; k++) {
        ps = lineage_parents(outs[k]);
        for (size_t e = 0; e < json_array_size(ps); e++) {
            const char *h = json_string_value(json_object_get(json_array_get(ps, e), "sha256"));
            const char *role = json_string_value(json_object_get(json_array_get(ps, e), "role"));
            const char *w = k == 1 ? (strcmp(role, "base") == 0 ? NULL : "a") : want[k][e];
            if (w) assert_int_equal(strspn(h, w), ECO_SHA256_HEX_LEN);
        }
        json_decref(ps);
    }
    eco_manifest_free(&ms);
    eco_manifest_free(&ma);
    eco_manifest_free(&mb);
    eco_manifest_free(&mbase);
    free(l1);
    free(l2);
    free(hashed);
    free(known);
    free(many);
}

static void test_mixed_dtypes(void **state) {
    fixture *f = *state;
    char *out = join(f->root, "mixed"), *out2 = join(f->root, "mixed2");
    const char *par[2] = {f->a, f->half};
    eco_merge_dir_options o = merge_opts(ECO_MERGE_METHOD_LINEAR, NULL, par, 2, NULL, out);
    ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
    check_linear(out, f->a, f->half, 1, 1, ECO_DTYPE_F32); /* the first parent's dtype */
    const char *par2[2] = {f->half, f->a};
    o = merge_opts(ECO_MERGE_METHOD_LINEAR, NULL, par2, 2, NULL, out2);
    ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
    check_linear(out2, f->half, f->a, 1, 1, ECO_DTYPE_BF16);
    free(out);
    free(out2);
}

static void test_identities(void **state) {
    fixture *f = *state;
    /* λ = 0: the base's bytes */
    char *out = join(f->root, "lambda0");
    const char *par[2] = {f->a, f->b};
    eco_merge_dir_options o =
        merge_opts(ECO_MERGE_METHOD_TASK_ARITHMETIC, f->base, par, 2, NULL, out);
    o.params.lambda = 0;
    ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
    assert_same_tensors(out, f->base);
    /* one parent at weight 1: its bytes */
    char *out1 = join(f->root, "one");
    o = merge_opts(ECO_MERGE_METHOD_LINEAR, NULL, par, 1, NULL, out1);
    ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
    assert_same_tensors(out1, f->a);
    char *p1 = join(out1, "model.safetensors"), *pa = join(f->a, "model.safetensors");
    assert_true(files_equal(p1, pa)); /* same writer, same tensors: the same file */
    free(p1);
    free(pa);
    free(out);
    free(out1);
}

static void forward_logits(const char *dir, float *logits) {
    eco_model *m;
    ECO_ASSERT_OK(eco_model_load(dir, &m));
    eco_kv_cache *kv;
    ECO_ASSERT_OK(eco_kv_cache_create(m, 8, &kv));
    const int32_t tokens[4] = {72, 101, 108, 111};
    ECO_ASSERT_OK(eco_model_forward(m, kv, tokens, 4, logits, true));
    eco_kv_cache_free(kv);
    eco_model_free(m);
}

static void test_sharded_output(void **state) {
    fixture *f = *state;
    char *one = join(f->root, "sh1"), *many = join(f->root, "shN");
    const char *par[2] = {f->a, f->b};
    eco_merge_dir_options o = merge_opts(ECO_MERGE_METHOD_LINEAR, NULL, par, 2, NULL, one);
    ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
    o.out = many;
    o.shard_bytes = 50000;
    ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
    assert_true(eco_path_has_file(many, ECO_SAFETENSORS_INDEX_FILE));
    assert_false(eco_path_has_file(many, "model.safetensors"));
    eco_weights *w;
    ECO_ASSERT_OK(eco_weights_open(many, &w));
    assert_true(eco_weights_shard_count(w) > 2);
    eco_weights_close(w);
    assert_same_tensors(one, many);
    eco_model *m;
    ECO_ASSERT_OK(eco_model_load(one, &m));
    size_t vocab = (size_t)eco_model_get_config(m)->vocab_size;
    eco_model_free(m);
    float *la = calloc(4 * vocab, sizeof *la), *lb = calloc(4 * vocab, sizeof *lb);
    forward_logits(one, la);
    forward_logits(many, lb);
    assert_memory_equal(la, lb, 4 * vocab * sizeof *la);
    /* the lineage names the shard index of a sharded parent */
    char *out3 = join(f->root, "from_sharded");
    const char *par3[2] = {many, f->a};
    o = merge_opts(ECO_MERGE_METHOD_LINEAR, NULL, par3, 2, NULL, out3);
    ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
    char *lp = join(out3, ECO_LINEAGE_FILE);
    json_error_t jerr;
    json_t *rec = json_load_file(lp, 0, &jerr);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(rec, "parents"), 0), "file")),
                        ECO_SAFETENSORS_INDEX_FILE);
    json_decref(rec);
    free(lp);
    free(out3);
    free(la);
    free(lb);
    free(one);
    free(many);
}

static void test_incompatible(void **state) {
    fixture *f = *state;
    char *other = eco_test_source_path("data/models/eco-tiny");
    char *out = join(f->root, "never");
    const char *par[2] = {f->a, other};
    eco_merge_dir_options o = merge_opts(ECO_MERGE_METHOD_LINEAR, NULL, par, 2, NULL, out);
    ECO_ASSERT_STATUS(eco_merge_dir(&o, NULL), ECO_STATUS_EINCOMPAT);
    printf("refusal: %s\n", eco_last_error());
    assert_non_null(strstr(eco_last_error(), "_hash differs"));
    assert_non_null(strstr(eco_last_error(), "distill"));
    assert_false(eco_path_is_dir(out));
    /* a base of another architecture too */
    const char *par2[2] = {f->a, f->b};
    o = merge_opts(ECO_MERGE_METHOD_TASK_ARITHMETIC, other, par2, 2, NULL, out);
    ECO_ASSERT_STATUS(eco_merge_dir(&o, NULL), ECO_STATUS_EINCOMPAT);
    /* task vectors need the base */
    o = merge_opts(ECO_MERGE_METHOD_TIES, NULL, par2, 2, NULL, out);
    ECO_ASSERT_STATUS(eco_merge_dir(&o, NULL), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "base"));
    /* weights for another number of parents */
    o = merge_opts(ECO_MERGE_METHOD_LINEAR, NULL, par2, 2, NULL, out);
    o.params.n_parents = 3;
    ECO_ASSERT_STATUS(eco_merge_dir(&o, NULL), ECO_STATUS_EINVAL);
    /* the output may not be a parent */
    o = merge_opts(ECO_MERGE_METHOD_LINEAR, NULL, par2, 2, NULL, f->b);
    o.force = true;
    ECO_ASSERT_STATUS(eco_merge_dir(&o, NULL), ECO_STATUS_EINVAL);
    free(other);
    free(out);
}

/* A stream that fails while its lineage hashes are still being computed (four inputs of
 * eco-tiny's 10.8 MB, hashed from the start of the stream) keeps its own message: the
 * cancelled hashing threads report nothing (they used to replace it with "hashing
 * cancelled"), through breed_stream_finish after a failed put and through
 * breed_stream_abort after the caller's own error. Nothing is left at the output. */
static void test_stream_failure_keeps_message(void **state) {
    fixture *f = *state;
    char *tiny = eco_test_source_path("data/models/eco-tiny");
    char *out = join(f->root, "failed");
    json_t *params = json_object();
    for (int round = 0; round < 2; round++) {
        breed_inputs in = {.op = "merge"};
        for (int i = 0; i < 4; i++) ECO_ASSERT_OK(breed_inputs_add(&in, tiny, "parent"));
        ECO_ASSERT_OK(breed_inputs_open(&in));
        breed_stream *s = NULL;
        ECO_ASSERT_OK(breed_stream_begin(&s, &in, 0, out, true, false, 0, 0));
        if (round == 0) {
            ECO_ASSERT_STATUS(breed_stream_put(s), ECO_STATUS_EINTERNAL); /* no chunk */
            ECO_ASSERT_STATUS(breed_stream_finish(s, "linear", params, 0, NULL, NULL),
                              ECO_STATUS_EINTERNAL);
            printf("finish: %s\n", eco_last_error());
            assert_non_null(strstr(eco_last_error(), "no chunk to write"));
        } else {
            (void)eco_error(ECO_STATUS_EIO, "the caller's own failure");
            breed_stream_abort(s);
            printf("abort: %s\n", eco_last_error());
            assert_non_null(strstr(eco_last_error(), "the caller's own failure"));
        }
        breed_inputs_close(&in);
        assert_false(eco_path_is_dir(out));
    }
    json_decref(params);
    free(out);
    free(tiny);
}

/* A tiny-preset model whose MLP weights hold 1024 × 64 = 65,536 elements, twice
 * ECO_MERGE_PAR_MIN, so that a whole-tensor merge of them runs on the OpenMP team. */
static char *make_wide_model(const char *root, const char *name, uint64_t seed) {
    eco_model_config c;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &c));
    c.intermediate_size = 1024;
    char *dir = join(root, name);
    ECO_ASSERT_OK(eco_model_create_random(&c, seed, ECO_DTYPE_F32, dir));
    return dir;
}

/* dare_ties on 1 and 2 threads writes the same bytes, with both rescales: inverse (the
 * folder merge goes in chunks of rows, masks drawn per element index) and L1 (whole
 * tensors: the draws and the merge of the 65,536-element MLP weights run on two threads);
 * another seed, other bytes. */
/* A write that fails (the file size limit, EFBIG) on the writer thread of a chunked merge
 * or on the caller's thread of a whole-tensor one: EIO naming the file, no output. */
static void test_write_failure(void **state) {
    fixture *f = *state;
    char *out = join(f->root, "too_big");
    const char *par[2] = {f->a, f->b};
    eco_merge_dir_options o = merge_opts(ECO_MERGE_METHOD_LINEAR, NULL, par, 2, NULL, out);
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    for (size_t chunk = 0; chunk <= 4096; chunk += 4096) {
        struct rlimit lim = old;
        lim.rlim_cur = 200000; /* the tiny model's file is larger */
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
        eco_status st = breed_merge_models_chunked(&o, NULL, chunk);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        printf("chunk %zu: %s\n", chunk, eco_last_error());
        assert_int_equal(st, ECO_STATUS_EIO);
        assert_non_null(strstr(eco_last_error(), "model.safetensors"));
        assert_false(eco_path_is_dir(out));
    }
    signal(SIGXFSZ, old_handler);
    free(out);
}

static void test_dare_threads(void **state) {
    fixture *f = *state;
    char *a = make_wide_model(f->root, "wide_a", 1), *b = make_wide_model(f->root, "wide_b", 2),
         *base = make_wide_model(f->root, "wide_base", 3);
    char *o1 = join(f->root, "dare1"), *o2 = join(f->root, "dare2"), *o3 = join(f->root, "dare3");
    const char *par[2] = {a, b};
    double w[2] = {0.5, 0.5};
    static const eco_merge_rescale rescales[2] = {ECO_MERGE_RESCALE_INVERSE, ECO_MERGE_RESCALE_L1};
    for (int r = 0; r < 2; r++) {
        eco_merge_dir_options o = merge_opts(ECO_MERGE_METHOD_DARE_TIES, base, par, 2, w, o1);
        o.params.density[0] = o.params.density[1] = 0.4;
        o.params.rescale = rescales[r];
        o.params.seed = 1234;
        o.force = true;
        eco_set_threads(1);
        eco_merge_dir_report rep;
        ECO_ASSERT_OK(eco_merge_dir(&o, &rep));
        json_t *kept = json_object_get(rep.result, "kept_fraction");
        assert_int_equal(json_array_size(kept), 2);
        double k0 = json_real_value(json_array_get(kept, 0));
        printf("dare_ties density 0.4 (rescale %s): kept %.4f\n", r ? "l1" : "inverse", k0);
        assert_true(fabs(k0 - 0.4) < 0.02);
        eco_merge_dir_report_free(&rep);
        eco_set_threads(2);
        o.out = o2;
        ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
        o.params.seed = 1235;
        o.out = o3;
        ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
        eco_set_threads(0);
        char *f1 = join(o1, "model.safetensors"), *f2 = join(o2, "model.safetensors"),
             *f3 = join(o3, "model.safetensors");
        assert_true(files_equal(f1, f2));
        assert_false(files_equal(f1, f3));
        char *l1 = join(o1, ECO_LINEAGE_FILE), *l2 = join(o2, ECO_LINEAGE_FILE);
        assert_true(files_equal(l1, l2));
        free(l1);
        free(l2);
        free(f1);
        free(f2);
        free(f3);
    }
    free(o1);
    free(o2);
    free(o3);
    free(a);
    free(b);
    free(base);
}

/* Elementwise methods go in chunks of rows (dare: masks drawn at the tensor's indices):
 * the same bytes as whole tensors, and the embedding (320 × 64) spans several chunks. */
static void test_chunked_same_bytes(void **state) {
    fixture *f = *state;
    static const eco_merge_method methods[] = {
        ECO_MERGE_METHOD_LINEAR, ECO_MERGE_METHOD_TASK_ARITHMETIC, ECO_MERGE_METHOD_DARE_LINEAR,
        ECO_MERGE_METHOD_DARE_TIES};
    const char *par[2] = {f->a, f->b};
    double w[2] = {0.6, 0.9};
    for (size_t k = 0; k < sizeof methods / sizeof *methods; k++) {
        char *whole = join(f->root, "whole"), *parts = join(f->root, "parts");
        eco_merge_dir_options o = merge_opts(
            methods[k], methods[k] == ECO_MERGE_METHOD_LINEAR ? NULL : f->base, par, 2, w, whole);
        o.params.density[0] = 0.3;
        o.params.density[1] = 0.7;
        o.params.seed = 42;
        o.force = true;
        eco_merge_dir_report r1, r2;
        ECO_ASSERT_OK(breed_merge_models_chunked(&o, &r1, 0));
        o.out = parts;
        ECO_ASSERT_OK(breed_merge_models_chunked(&o, &r2, 1000));
        char *f1 = join(whole, "model.safetensors"), *f2 = join(parts, "model.safetensors");
        if (!files_equal(f1, f2))
            fail_msg("%s: chunked bytes differ", eco_merge_method_name(methods[k]));
        char *l1 = join(whole, ECO_LINEAGE_FILE), *l2 = join(parts, ECO_LINEAGE_FILE);
        assert_true(files_equal(l1, l2)); /* the same kept fractions too */
        eco_merge_dir_report_free(&r1);
        eco_merge_dir_report_free(&r2);
        free(l1);
        free(l2);
        free(f1);
        free(f2);
        free(whole);
        free(parts);
    }
}

/* Every method through the folder equals eco_merge_tensor on the whole tensors (the
 * reference here, with the same 2-D view, stream and slerp t): chunked methods, whole ones
 * whose output buffer holds θ₀ (aliased), l1 rescaling, della's rows. Exact bytes. */
static void test_methods_match_tensor(void **state) {
    fixture *f = *state;
    static const eco_merge_method methods[] = {ECO_MERGE_METHOD_TASK_ARITHMETIC,
                                               ECO_MERGE_METHOD_TIES,
                                               ECO_MERGE_METHOD_DARE_LINEAR,
                                               ECO_MERGE_METHOD_DARE_TIES,
                                               ECO_MERGE_METHOD_BREADCRUMBS,
                                               ECO_MERGE_METHOD_DELLA,
                                               ECO_MERGE_METHOD_SLERP};
    const char *par[2] = {f->a, f->b};
    double w[2] = {0.7, 0.4};
    eco_weights *wa, *wb, *w0;
    ECO_ASSERT_OK(eco_weights_open(f->a, &wa));
    ECO_ASSERT_OK(eco_weights_open(f->b, &wb));
    ECO_ASSERT_OK(eco_weights_open(f->base, &w0));
    for (size_t k = 0; k < sizeof methods / sizeof *methods; k++) {
        for (int l1 = 0; l1 < 2; l1++) {
            char *out = join(f->root, "meth");
            eco_merge_dir_options o = merge_opts(methods[k], f->base, par, 2, w, out);
            eco_merge_params *p = &o.params;
            bool slerp = methods[k] == ECO_MERGE_METHOD_SLERP;
            if (slerp) {
                p->n_t = 3;
                p->t[0] = 0.2;
                p->t[1] = 0.9;
                p->t[2] = 0.4;
            } else {
                p->density[0] = 0.5;
                p->density[1] = 0.6;
                p->epsilon = 0.1;
            }
            p->rescale = l1 ? ECO_MERGE_RESCALE_L1 : ECO_MERGE_RESCALE_INVERSE;
            p->seed = 3;
            o.force = true;
            ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
            eco_weights *wo;
            ECO_ASSERT_OK(eco_weights_open(out, &wo));
            for (size_t i = 0; i < eco_weights_count(wo); i++) {
                const eco_tensor *t = eco_weights_get(wo, i);
                size_t n = eco_tensor_numel(t);
                int64_t rows = t->ndim >= 2 ? t->shape[0] : 1, cols = (int64_t)n / rows;
                const float *pp[2] = {eco_weights_find(wa, t->name)->data,
                                      eco_weights_find(wb, t->name)->data};
                const float *base = slerp ? NULL : eco_weights_find(w0, t->name)->data;
                int layer = -1;
                if (sscanf(t->name, "model.layers.%d.", &layer) != 1) layer = -1;
                double tt = slerp ? eco_merge_slerp_t(p, layer, 2) : 0;
                float *ref = malloc(n * sizeof *ref);
                ECO_ASSERT_OK(eco_merge_tensor(ref, base, pp, rows, cols, p, tt,
                                               eco_merge_stream(t->name), NULL, NULL));
                if (memcmp(ref, t->data, n * sizeof *ref) != 0)
                    fail_msg("%s (rescale %s): tensor %s differs from eco_merge_tensor",
                             eco_merge_method_name(methods[k]), l1 ? "l1" : "inverse", t->name);
                free(ref);
            }
            eco_weights_close(wo);
            free(out);
        }
    }
    eco_weights_close(wa);
    eco_weights_close(wb);
    eco_weights_close(w0);
}

/* ties, breadcrumbs, della and dare_ties with l1 rescaling go by chunks of rows, after a
 * pass over each whole tensor for the magnitude selections and the l1 scales: the same bytes as eco_merge_tensor on the whole
 * (widened) tensors, for bf16 parents over a bf16 base (the inputs widened a block at a
 * time; bf16 deltas repeat, and the norms' deltas are all 0, so many entries equal each
 * threshold), three parents (one not sparsified), whole tensors, chunks of 1000 elements
 * and the default, 1 and 2 threads. */
static void test_rows_match_tensor(void **state) {
    fixture *f = *state;
    char *hc = make_model(f->root, "hc", 4, ECO_DTYPE_BF16),
         *h0 = make_model(f->root, "h0", 5, ECO_DTYPE_BF16);
    static const eco_merge_method methods[] = {ECO_MERGE_METHOD_TIES, ECO_MERGE_METHOD_BREADCRUMBS,
                                               ECO_MERGE_METHOD_DELLA, ECO_MERGE_METHOD_DELLA,
                                               ECO_MERGE_METHOD_DARE_TIES};
    static const int l1[] = {0, 0, 0, 1, 1};
    static const size_t chunks[] = {0, 1000, 1 << 14};
    const char *par[3] = {f->half, hc, f->b};
    double w[3] = {0.7, -0.4, 0.9};
    eco_weights *wp[3], *w0;
    for (int m = 0; m < 3; m++) ECO_ASSERT_OK(eco_weights_open(par[m], &wp[m]));
    ECO_ASSERT_OK(eco_weights_open(h0, &w0));
    int saved = eco_get_threads();
    for (size_t k = 0; k < sizeof methods / sizeof *methods; k++) {
        for (int th = 1; th <= 2; th++) {
            eco_set_threads(th);
            for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
                char *out = join(f->root, "rows");
                eco_merge_dir_options o = merge_opts(methods[k], h0, par, 3, w, out);
                eco_merge_params *p = &o.params;
                p->density[0] = 0.35;
                p->density[1] = 0.6;
                p->density[2] = methods[k] == ECO_MERGE_METHOD_DELLA ? 0.5 : 1.0;
                p->gamma = 0.1;
                p->epsilon = 0.1;
                p->seed = 9;
                p->rescale = l1[k] ? ECO_MERGE_RESCALE_L1 : ECO_MERGE_RESCALE_INVERSE;
                o.force = true;
                ECO_ASSERT_OK(breed_merge_models_chunked(&o, NULL, chunks[c]));
                eco_weights *wo;
                ECO_ASSERT_OK(eco_weights_open(out, &wo));
                for (size_t i = 0; i < eco_weights_count(wo); i++) {
                    const eco_tensor *t = eco_weights_get(wo, i);
                    assert_int_equal(t->dtype, ECO_DTYPE_BF16);
                    size_t n = eco_tensor_numel(t);
                    int64_t rows = t->ndim >= 2 ? t->shape[0] : 1, cols = (int64_t)n / rows;
                    float *pp[3], *base = widen(eco_weights_find(w0, t->name));
                    for (int m = 0; m < 3; m++) pp[m] = widen(eco_weights_find(wp[m], t->name));
                    float *ref = malloc(n * sizeof *ref);
                    uint16_t *ref16 = malloc(n * sizeof *ref16);
                    ECO_ASSERT_OK(eco_merge_tensor(ref, base, (const float *const *)pp, rows, cols,
                                                   p, 0, eco_merge_stream(t->name), NULL, NULL));
                    eco_from_f32(ref16, ECO_DTYPE_BF16, ref, n);
                    if (memcmp(ref16, t->data, n * sizeof *ref16) != 0)
                        fail_msg("%s (l1 %d), %d threads, chunks %zu: tensor %s differs from "
                                 "eco_merge_tensor",
                                 eco_merge_method_name(methods[k]), l1[k], th, chunks[c], t->name);
                    free(ref);
                    free(ref16);
                    free(base);
                    for (int m = 0; m < 3; m++) free(pp[m]);
                }
                eco_weights_close(wo);
                free(out);
            }
        }
    }
    eco_set_threads(saved);
    for (int m = 0; m < 3; m++) eco_weights_close(wp[m]);
    eco_weights_close(w0);
    free(hc);
    free(h0);
}

/* slerp with t = [0, 1] over the tiny preset's 2 layers: layer 0 is the first parent,
 * layer 1 the second (t from the layer in the tensor's name), outside the layers t = 0. */
static void test_slerp_layers(void **state) {
    fixture *f = *state;
    char *out = join(f->root, "slerp");
    const char *par[2] = {f->a, f->b};
    eco_merge_dir_options o = merge_opts(ECO_MERGE_METHOD_SLERP, NULL, par, 2, NULL, out);
    o.params.n_t = 2;
    o.params.t[0] = 0;
    o.params.t[1] = 1;
    ECO_ASSERT_OK(eco_merge_dir(&o, NULL));
    eco_weights *wo, *wa, *wb;
    ECO_ASSERT_OK(eco_weights_open(out, &wo));
    ECO_ASSERT_OK(eco_weights_open(f->a, &wa));
    ECO_ASSERT_OK(eco_weights_open(f->b, &wb));
    int from_b = 0;
    for (size_t i = 0; i < eco_weights_count(wo); i++) {
        const eco_tensor *t = eco_weights_get(wo, i);
        bool second = strncmp(t->name, "model.layers.1.", 15) == 0;
        const eco_tensor *want = eco_weights_find(second ? wb : wa, t->name);
        from_b += second;
        if (memcmp(t->data, want->data, t->nbytes) != 0)
            fail_msg("%s: not parent %s's bytes", t->name, second ? "b" : "a");
    }
    assert_true(from_b > 0);
    eco_weights_close(wo);
    eco_weights_close(wa);
    eco_weights_close(wb);
    free(out);
}

/* lineage.json's operation name and seed of a folder an operator wrote. */
static void assert_lineage_op(const char *dir, const char *name, int64_t seed) {
    char *lp = join(dir, ECO_LINEAGE_FILE);
    json_error_t jerr;
    json_t *rec = json_load_file(lp, 0, &jerr);
    assert_non_null(rec);
    json_t *op = json_object_get(rec, "operation");
    assert_string_equal(json_string_value(json_object_get(op, "name")), name);
    assert_int_equal(json_integer_value(json_object_get(op, "seed")), seed);
    assert_non_null(json_object_get(op, "params"));
    assert_non_null(json_object_get(op, "result"));
    json_decref(rec);
    free(lp);
}

/* ---- mutate, crossover, prune ------------------------------------------------------------ */

static void test_module_list(void **state) {
    (void)state;
    assert_true(eco_module_list_selects(NULL, "x.y"));
    assert_true(eco_module_list_selects("q_proj,v_proj", "model.layers.0.self_attn.q_proj.weight"));
    assert_true(eco_module_list_selects("q_proj, v_proj", "model.layers.1.self_attn.v_proj.bias"));
    assert_false(eco_module_list_selects("q_proj", "model.layers.0.self_attn.k_proj.weight"));
    assert_false(eco_module_list_selects("proj", "model.layers.0.self_attn.q_proj.weight"));
}

static void test_mutate(void **state) {
    fixture *f = *state;
    char *o1 = join(f->root, "mut1"), *o2 = join(f->root, "mut2");
    eco_mutate_dir_options m = {
        .parent = f->a, .sigma = 0.1, .modules = "q_proj,down_proj", .seed = 7, .out = o1};
    eco_merge_dir_report rep;
    ECO_ASSERT_OK(eco_mutate_model_dir(&m, &rep));
    int64_t mutated = json_integer_value(json_object_get(rep.result, "mutated"));
    eco_merge_dir_report_free(&rep);
    m.out = o2;
    ECO_ASSERT_OK(eco_mutate_model_dir(&m, NULL));
    char *f1 = join(o1, "model.safetensors"), *f2 = join(o2, "model.safetensors");
    assert_true(files_equal(f1, f2)); /* same seed, same bytes */
    eco_weights *wo, *wa;
    ECO_ASSERT_OK(eco_weights_open(o1, &wo));
    ECO_ASSERT_OK(eco_weights_open(f->a, &wa));
    int64_t changed = 0;
    for (size_t i = 0; i < eco_weights_count(wo); i++) {
        const eco_tensor *t = eco_weights_get(wo, i), *s = eco_weights_find(wa, t->name);
        bool sel = strstr(t->name, "q_proj") || strstr(t->name, "down_proj");
        if (!sel) {
            assert_memory_equal(t->data, s->data, t->nbytes);
            continue;
        }
        changed++;
        const float *x = s->data, *y = t->data;
        size_t n = eco_tensor_numel(t);
        double ss = 0, dd = 0;
        for (size_t k = 0; k < n; k++) {
            ss += (double)x[k] * x[k];
            dd += ((double)y[k] - x[k]) * ((double)y[k] - x[k]);
        }
        double ratio = sqrt(dd / n) / sqrt(ss / n);
        if (fabs(ratio - 0.1) > 0.02)
            fail_msg("%s: noise RMS / RMS %.4f, want 0.1", t->name, ratio);
    }
    assert_int_equal(changed, mutated);
    assert_lineage_op(o1, "mutate", 7);
    assert_true(changed > 0);
    eco_weights_close(wo);
    eco_weights_close(wa);
    free(f1);
    free(f2);
    free(o1);
    free(o2);
}

static void test_crossover(void **state) {
    fixture *f = *state;
    for (int per_layer = 0; per_layer < 2; per_layer++) {
        char *out = join(f->root, per_layer ? "xl" : "xt");
        const char *par[2] = {f->a, f->b};
        eco_crossover_dir_options c = {
            .parents = par, .n_parents = 2, .per_layer = per_layer, .seed = 99, .out = out};
        eco_merge_dir_report rep;
        ECO_ASSERT_OK(eco_crossover_models_dir(&c, &rep));
        json_t *picks = json_object_get(rep.result, "picks");
        eco_weights *wo, *w[2];
        ECO_ASSERT_OK(eco_weights_open(out, &wo));
        ECO_ASSERT_OK(eco_weights_open(f->a, &w[0]));
        ECO_ASSERT_OK(eco_weights_open(f->b, &w[1]));
        int from[2] = {0, 0};
        for (size_t i = 0; i < eco_weights_count(wo); i++) {
            const eco_tensor *t = eco_weights_get(wo, i);
            char key[64];
            const char *k = t->name;
            int layer = -1;
            if (per_layer && sscanf(t->name, "model.layers.%d.", &layer) == 1) {
                snprintf(key, sizeof key, "model.layers.%d", layer);
                k = key;
            }
            json_t *pj = json_object_get(picks, k);
            assert_non_null(pj);
            int p = (int)json_integer_value(pj);
            from[p]++;
            assert_memory_equal(t->data, eco_weights_find(w[p], t->name)->data, t->nbytes);
        }
        assert_true(from[0] > 0 && from[1] > 0);
        assert_lineage_op(out, "crossover", 99);
        eco_merge_dir_report_free(&rep);
        eco_weights_close(wo);
        eco_weights_close(w[0]);
        eco_weights_close(w[1]);
        free(out);
    }
}

static void test_prune(void **state) {
    fixture *f = *state;
    for (int deltas = 0; deltas < 2; deltas++) {
        char *out = join(f->root, deltas ? "prune_d" : "prune_w");
        eco_prune_dir_options p = {
            .parent = f->a, .base = deltas ? f->base : NULL, .density = 0.25, .out = out};
        eco_merge_dir_report rep;
        ECO_ASSERT_OK(eco_prune_model_dir(&p, &rep));
        double overall = json_real_value(json_object_get(rep.result, "overall"));
        printf("prune (%s): achieved sparsity %.4f\n", deltas ? "deltas" : "weights", overall);
        assert_true(fabs(overall - 0.75) < 0.01);
        json_t *sp = json_object_get(rep.result, "sparsity");
        eco_weights *wo, *wa, *wb;
        ECO_ASSERT_OK(eco_weights_open(out, &wo));
        ECO_ASSERT_OK(eco_weights_open(f->a, &wa));
        ECO_ASSERT_OK(eco_weights_open(f->base, &wb));
        for (size_t i = 0; i < eco_weights_count(wo); i++) {
            const eco_tensor *t = eco_weights_get(wo, i), *s = eco_weights_find(wa, t->name),
                             *b = eco_weights_find(wb, t->name);
            if (t->ndim != 2) {
                assert_memory_equal(t->data, s->data, t->nbytes);
                assert_null(json_object_get(sp, t->name));
                continue;
            }
            const float *y = t->data, *x = s->data, *z = b->data;
            size_t n = eco_tensor_numel(t), set = 0;
            for (size_t k = 0; k < n; k++) {
                float floor = deltas ? z[k] : 0.0f;
                if (y[k] == floor && x[k] != floor)
                    set++;
                else if (y[k] != x[k])
                    fail_msg("%s[%zu]: %g neither kept (%g) nor pruned", t->name, k, y[k], x[k]);
            }
            double want = json_real_value(json_object_get(sp, t->name));
            assert_true(fabs((double)set / n - want) < 1e-9);
        }
        eco_merge_dir_report_free(&rep);
        assert_lineage_op(out, "prune", 0);
        eco_weights_close(wo);
        eco_weights_close(wa);
        eco_weights_close(wb);
        free(out);
    }
}

int main(void) {
    const struct CMUnitTest writer[] = {
        cmocka_unit_test(test_writer_bytes_equal),
        cmocka_unit_test(test_writer_sharded),
        cmocka_unit_test(test_writer_misuse),
        cmocka_unit_test(test_module_list),
    };
    const struct CMUnitTest merges[] = {
        cmocka_unit_test(test_linear_reference),
        cmocka_unit_test(test_known_digests),
        cmocka_unit_test(test_mixed_dtypes),
        cmocka_unit_test(test_identities),
        cmocka_unit_test(test_sharded_output),
        cmocka_unit_test(test_incompatible),
        cmocka_unit_test(test_stream_failure_keeps_message),
        cmocka_unit_test(test_write_failure),
        cmocka_unit_test(test_dare_threads),
        cmocka_unit_test(test_chunked_same_bytes),
        cmocka_unit_test(test_slerp_layers),
        cmocka_unit_test(test_methods_match_tensor),
        cmocka_unit_test(test_rows_match_tensor),
        cmocka_unit_test(test_mutate),
        cmocka_unit_test(test_crossover),
        cmocka_unit_test(test_prune),
    };
    int rc = cmocka_run_group_tests(writer, NULL, NULL);
    return rc | cmocka_run_group_tests(merges, setup, teardown);
}
