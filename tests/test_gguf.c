/*
 * GGUF: the writer → reader round trip (every value type, tensors from data and from a fill
 * callback, a custom alignment, file and memory images identical), the writer's refusals, a
 * table of malformed images each refused with the expected status and a message naming the
 * problem, the q/k row permutation against its formula, and whole models: f32 export of a
 * qwen2 (GQA, biases, untied) and a llama (attention bias, untied) gives logits bit-identical
 * to the folder's, tensors other than q/k are views into the mapping, q8_0 tensors load as
 * their dequantised values, and export → load → export repeats the bytes.
 */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/gguf.h"
#include "ecology/model.h"
#include "formats/gguf_internal.h"

/* ---- a byte builder for hand-made images ------------------------------------------------ */

static void b_u32(eco_buf *b, uint32_t v) { assert_true(eco_buf_append(b, &v, 4)); }
static void b_u64(eco_buf *b, uint64_t v) { assert_true(eco_buf_append(b, &v, 8)); }
static void b_str(eco_buf *b, const char *s) {
    b_u64(b, strlen(s));
    assert_true(eco_buf_append(b, s, strlen(s)));
}

/* What a malformed case changes in the otherwise valid image built by build(). */
typedef struct mal {
    const char *what;
    int kv;     /* 0 valid; see build() */
    int tensor; /* 0 valid; see build() */
    int tail;   /* 0 valid; 1 data cut short; 2 non-zero padding; 3 header cut */
    uint32_t version;
    bool bad_magic;
    uint64_t n_kv_claim, n_t_claim; /* 0: the real counts */
    eco_status want;
    const char *needle;
} mal;

/* A valid image: 3 keys, tensors "a" F32 [4] at 0 and "b" F16 ne [2, 2] at 32, alignment 32;
 * m (may be NULL) breaks one thing: kv 1 a duplicate key, 2 an unknown value type, 3 an array
 * of arrays, 4 a bool of 2, 5 a string past the end, 6 general.alignment 24, 7 alignment as
 * u64, 8 an empty key, 9 an array longer than the file; tensor 1 a duplicate name, 2 type
 * Q4_0, 3 a Q8_0 row of 33, 4 a misaligned offset, 5 an offset past the data, 6 overlapping
 * tensors, 7 zero dims, 8 five dims, 9 a 64-byte name, 10 an empty name, 11 dims overflowing. */
static void build(const mal *m, eco_buf *b) {
    const mal none = {0};
    if (!m) m = &none;
    assert_true(eco_buf_append(b, m->bad_magic ? "GGUG" : "GGUF", 4));
    b_u32(b, m->version ? m->version : 3);
    b_u64(b, m->n_t_claim ? m->n_t_claim : (m->tensor == 1 ? 3 : 2));
    int n_kv = 3 + (m->kv == 1 || m->kv == 6 || m->kv == 7 ? 1 : 0);
    b_u64(b, m->n_kv_claim ? m->n_kv_claim : (uint64_t)n_kv);
    b_str(b, m->kv == 8 ? "" : "general.architecture");
    b_u32(b, ECO_GGUF_STRING);
    if (m->kv == 5) {
        b_u64(b, 1u << 30); /* a string longer than the file */
        return;
    }
    b_str(b, "llama");
    b_str(b, "x.u32");
    b_u32(b, m->kv == 2 ? 13 : m->kv == 4 ? ECO_GGUF_BOOL : ECO_GGUF_UINT32);
    if (m->tail == 3) return; /* the value missing */
    if (m->kv == 4) {
        uint8_t two = 2;
        assert_true(eco_buf_append(b, &two, 1));
    } else {
        b_u32(b, 7);
    }
    b_str(b, "x.arr");
    b_u32(b, ECO_GGUF_ARRAY);
    b_u32(b, m->kv == 3 ? ECO_GGUF_ARRAY : ECO_GGUF_INT32);
    b_u64(b, m->kv == 9 ? (1ull << 40) : 3);
    for (int i = 0; i < 3; i++) b_u32(b, (uint32_t)i);
    if (m->kv == 1) { /* x.u32 again */
        b_str(b, "x.u32");
        b_u32(b, ECO_GGUF_UINT32);
        b_u32(b, 8);
    } else if (m->kv == 6 || m->kv == 7) {
        b_str(b, "general.alignment");
        b_u32(b, m->kv == 6 ? ECO_GGUF_UINT32 : ECO_GGUF_UINT64);
        if (m->kv == 6)
            b_u32(b, 24);
        else
            b_u64(b, 32);
    }
    /* tensor a */
    char longname[80];
    memset(longname, 'n', 64);
    longname[64] = '\0';
    b_str(b, m->tensor == 9 ? longname : m->tensor == 10 ? "" : "a");
    b_u32(b, m->tensor == 7 ? 0 : m->tensor == 8 ? 5 : 1);
    if (m->tensor == 8)
        for (int d = 0; d < 4; d++) b_u64(b, 1);
    if (m->tensor != 7) b_u64(b, m->tensor == 11 ? (1ull << 62) : 4);
    b_u32(b, m->tensor == 2 ? 2 /* Q4_0 */ : ECO_GGML_F32);
    b_u64(b, m->tensor == 4 ? 8 : m->tensor == 5 ? 4096 : 0);
    /* tensor b */
    b_str(b, "b");
    b_u32(b, 2);
    b_u64(b, m->tensor == 3 ? 33 : 2);
    b_u64(b, 2);
    b_u32(b, m->tensor == 3 ? ECO_GGML_Q8_0 : ECO_GGML_F16);
    b_u64(b, m->tensor == 6 ? 0 : 32);
    if (m->tensor == 1) { /* "a" again */
        b_str(b, "a");
        b_u32(b, 1);
        b_u64(b, 4);
        b_u32(b, ECO_GGML_F32);
        b_u64(b, 64);
    }
    while (b->len % 32) {
        uint8_t z = m->tail == 2 ? 1 : 0;
        assert_true(eco_buf_append(b, &z, 1));
    }
    size_t data = m->tensor == 1 ? 96 : 64;
    if (m->tail == 1) data = 36;
    for (size_t i = 0; i < data; i++) {
        uint8_t v = (uint8_t)i;
        assert_true(eco_buf_append(b, &v, 1));
    }
}

static void test_valid_image(void **state) {
    (void)state;
    eco_buf b = {0};
    build(NULL, &b);
    eco_gguf *g = NULL;
    ECO_ASSERT_OK(eco_gguf_open_memory(b.data, b.len, "ok.gguf", &g));
    assert_int_equal(eco_gguf_kv_count(g), 3);
    assert_int_equal(eco_gguf_tensor_count(g), 2);
    eco_gguf_str s;
    ECO_ASSERT_OK(eco_gguf_get_str(g, "general.architecture", &s));
    assert_string_equal(s.s, "llama");
    int64_t v;
    ECO_ASSERT_OK(eco_gguf_get_int(g, "x.u32", &v));
    assert_int_equal(v, 7);
    assert_int_equal(eco_gguf_get_int(g, "nope", &v), ECO_STATUS_ENOTFOUND);
    assert_int_equal(eco_gguf_get_float(g, "x.u32", &(double){0}), ECO_STATUS_EFORMAT);
    int64_t *arr;
    uint64_t n;
    ECO_ASSERT_OK(eco_gguf_get_int_array(g, "x.arr", &arr, &n));
    assert_int_equal(n, 3);
    assert_int_equal(arr[2], 2);
    free(arr);
    const eco_gguf_tensor *t = eco_gguf_find_tensor(g, "b");
    assert_non_null(t);
    assert_int_equal(t->type, ECO_GGML_F16);
    assert_int_equal(t->nbytes, 8);
    assert_ptr_equal(t->data, (const uint8_t *)b.data + b.len - 64 + 32);
    eco_gguf_close(g);
    eco_buf_free(&b);
}

static const mal cases[] = {
    {"bad magic", .bad_magic = true, .want = ECO_STATUS_EFORMAT, .needle = "magic"},
    {"version 1", .version = 1, .want = ECO_STATUS_EUNSUPPORTED, .needle = "version 1"},
    {"version 4", .version = 4, .want = ECO_STATUS_EUNSUPPORTED, .needle = "version 4"},
    {"huge key count", .n_kv_claim = 1ull << 60, .want = ECO_STATUS_EFORMAT,
     .needle = "keys cannot fit"},
    {"huge tensor count", .n_t_claim = 1ull << 60, .want = ECO_STATUS_EFORMAT,
     .needle = "tensors cannot fit"},
    {"key count past the keys", .n_kv_claim = 5, .want = ECO_STATUS_EFORMAT, .needle = "a"},
    {"duplicate key", .kv = 1, .want = ECO_STATUS_EFORMAT, .needle = "duplicate key 'x.u32'"},
    {"unknown value type", .kv = 2, .want = ECO_STATUS_EFORMAT, .needle = "unknown value type 13"},
    {"array of arrays", .kv = 3, .want = ECO_STATUS_EFORMAT, .needle = "arrays of arrays"},
    {"bool of 2", .kv = 4, .want = ECO_STATUS_EFORMAT, .needle = "bool value 2"},
    {"string past the end", .kv = 5, .want = ECO_STATUS_EFORMAT, .needle = "exceeds the"},
    {"alignment 24", .kv = 6, .want = ECO_STATUS_EFORMAT, .needle = "general.alignment"},
    {"alignment as u64", .kv = 7, .want = ECO_STATUS_EFORMAT, .needle = "general.alignment"},
    {"empty key", .kv = 8, .want = ECO_STATUS_EFORMAT, .needle = "empty"},
    {"array longer than the file", .kv = 9, .want = ECO_STATUS_EFORMAT, .needle = "exceeds the"},
    {"duplicate tensor", .tensor = 1, .want = ECO_STATUS_EFORMAT, .needle = "duplicate tensor 'a'"},
    {"unsupported type", .tensor = 2, .want = ECO_STATUS_EUNSUPPORTED,
     .needle = "tensor 'a': ggml type 2"},
    {"q8_0 partial block", .tensor = 3, .want = ECO_STATUS_EFORMAT, .needle = "not whole blocks"},
    {"misaligned offset", .tensor = 4, .want = ECO_STATUS_EFORMAT,
     .needle = "multiple of the alignment"},
    {"offset past the data", .tensor = 5, .want = ECO_STATUS_EFORMAT, .needle = "outside the"},
    {"overlapping tensors", .tensor = 6, .want = ECO_STATUS_EFORMAT, .needle = "overlaps"},
    {"zero dimensions", .tensor = 7, .want = ECO_STATUS_EFORMAT, .needle = "0 dimensions"},
    {"five dimensions", .tensor = 8, .want = ECO_STATUS_EFORMAT, .needle = "5 dimensions"},
    {"dimensions overflowing", .tensor = 11, .want = ECO_STATUS_EOVERFLOW, .needle = "overflow"},
    {"name of 64 bytes", .tensor = 9, .want = ECO_STATUS_EFORMAT, .needle = "name of 64 bytes"},
    {"empty name", .tensor = 10, .want = ECO_STATUS_EFORMAT, .needle = "name of 0 bytes"},
    {"data cut short", .tail = 1, .want = ECO_STATUS_EFORMAT, .needle = "outside the"},
    {"non-zero padding", .tail = 2, .want = ECO_STATUS_EFORMAT, .needle = "padding"},
    {"header cut", .tail = 3, .want = ECO_STATUS_EFORMAT, .needle = "truncated"},
};

static void test_malformed_table(void **state) {
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const mal *m = &cases[k];
        eco_buf b = {0};
        build(m, &b);
        eco_gguf *g = (eco_gguf *)0x1;
        eco_clear_error();
        eco_status got = eco_gguf_open_memory(b.data, b.len, "bad.gguf", &g);
        const char *msg = eco_last_error();
        if (got != m->want || !strstr(msg, m->needle) || !strstr(msg, "bad.gguf") || g != NULL) {
            print_error("case '%s': got %s \"%s\", want %s containing \"%s\"\n", m->what,
                        eco_status_str(got), msg, eco_status_str(m->want), m->needle);
            if (got == ECO_STATUS_OK) eco_gguf_close(g);
            fail();
        }
        /* every prefix of a malformed or valid image is refused, never read past */
        for (size_t cut = 0; cut + 1 < b.len && k < 3; cut += 7) {
            eco_gguf *h = NULL;
            assert_int_not_equal(eco_gguf_open_memory(b.data, cut, "cut.gguf", &h), ECO_STATUS_OK);
        }
        eco_buf_free(&b);
    }
    /* every prefix of the valid image that cuts into a tensor ("b" ends 24 bytes before the
     * end: the padding after the last tensor is not needed) */
    eco_buf b = {0};
    build(NULL, &b);
    for (size_t cut = 0; cut < b.len - 24; cut++) {
        eco_gguf *h = NULL;
        eco_status st = eco_gguf_open_memory(b.data, cut, "cut.gguf", &h);
        if (st == ECO_STATUS_OK) {
            print_error("prefix of %zu bytes accepted\n", cut);
            eco_gguf_close(h);
            fail();
        }
    }
    eco_buf_free(&b);
}

/* ---- writer ----------------------------------------------------------------------------- */

static eco_status fill_ramp(void *ctx, void *dst, size_t nbytes) {
    float *f = dst;
    for (size_t i = 0; i < nbytes / 4; i++) f[i] = (float)i * *(const float *)ctx;
    return ECO_STATUS_OK;
}

static void test_writer_roundtrip(void **state) {
    (void)state;
    eco_gguf_writer *w = eco_gguf_writer_new(64);
    assert_non_null(w);
    const char *strs[] = {"a", "", "é z"};
    const int32_t ints[] = {-1, 0, 7};
    const float fl[] = {0.5f, -2.0f};
    ECO_ASSERT_OK(eco_gguf_add_str(w, "k.str", "hello"));
    ECO_ASSERT_OK(eco_gguf_add_u32(w, "k.u32", 4000000000u));
    ECO_ASSERT_OK(eco_gguf_add_i32(w, "k.i32", -5));
    ECO_ASSERT_OK(eco_gguf_add_f32(w, "k.f32", 1e-5f));
    ECO_ASSERT_OK(eco_gguf_add_bool(w, "k.bool", true));
    ECO_ASSERT_OK(eco_gguf_add_str_array(w, "k.strs", strs, 3));
    ECO_ASSERT_OK(eco_gguf_add_str_array(w, "k.none", NULL, 0));
    ECO_ASSERT_OK(eco_gguf_add_i32_array(w, "k.ints", ints, 3));
    ECO_ASSERT_OK(eco_gguf_add_f32_array(w, "k.fl", fl, 2));
    assert_int_equal(eco_gguf_add_u32(w, "k.u32", 1), ECO_STATUS_EINVAL);
    float data[6] = {1, 2, 3, 4, 5, 6}, scale = 0.25f;
    uint8_t q[2 * ECO_Q8_0_BLOCK_BYTES];
    float qsrc[64];
    for (int i = 0; i < 64; i++) qsrc[i] = (float)(i - 32) / 8.0f;
    eco_q8_0_quantize_row(q, qsrc, 64);
    ECO_ASSERT_OK(
        eco_gguf_add_tensor(w, "t.data", ECO_GGML_F32, 2, (int64_t[]){2, 3}, data, NULL, NULL));
    ECO_ASSERT_OK(
        eco_gguf_add_tensor(w, "t.fill", ECO_GGML_F32, 1, (int64_t[]){5}, NULL, fill_ramp, &scale));
    ECO_ASSERT_OK(
        eco_gguf_add_tensor(w, "t.q8", ECO_GGML_Q8_0, 2, (int64_t[]){1, 64}, q, NULL, NULL));
    assert_int_equal(
        eco_gguf_add_tensor(w, "t.data", ECO_GGML_F32, 1, (int64_t[]){1}, data, NULL, NULL),
        ECO_STATUS_EINVAL);
    assert_int_equal(
        eco_gguf_add_tensor(w, "t.q8bad", ECO_GGML_Q8_0, 1, (int64_t[]){33}, q, NULL, NULL),
        ECO_STATUS_EINVAL);
    char longname[80];
    memset(longname, 'x', 64);
    longname[64] = '\0';
    assert_int_equal(
        eco_gguf_add_tensor(w, longname, ECO_GGML_F32, 1, (int64_t[]){1}, data, NULL, NULL),
        ECO_STATUS_EINVAL);

    uint8_t *img;
    size_t len;
    ECO_ASSERT_OK(eco_gguf_write_memory(w, &img, &len));
    char *dir = eco_test_tmpdir();
    char *path = eco_path_join(dir, "w.gguf");
    ECO_ASSERT_OK(eco_gguf_write_file(w, path));
    char *file;
    size_t flen;
    ECO_ASSERT_OK(eco_read_file(path, 1 << 20, &file, &flen));
    assert_int_equal(flen, len);
    assert_memory_equal(file, img, len);
    free(file);

    eco_gguf *g;
    ECO_ASSERT_OK(eco_gguf_open(path, &g));
    assert_int_equal(eco_gguf_alignment(g), 64);
    eco_gguf_str s;
    ECO_ASSERT_OK(eco_gguf_get_str(g, "k.str", &s));
    assert_string_equal(s.s, "hello");
    int64_t v;
    ECO_ASSERT_OK(eco_gguf_get_int(g, "k.u32", &v));
    assert_int_equal(v, 4000000000ll);
    ECO_ASSERT_OK(eco_gguf_get_int(g, "k.i32", &v));
    assert_int_equal(v, -5);
    double d;
    ECO_ASSERT_OK(eco_gguf_get_float(g, "k.f32", &d));
    assert_true(d == (double)1e-5f);
    bool bo;
    ECO_ASSERT_OK(eco_gguf_get_bool(g, "k.bool", &bo));
    assert_true(bo);
    const eco_gguf_str *items;
    uint64_t n;
    ECO_ASSERT_OK(eco_gguf_get_str_array(g, "k.strs", &items, &n));
    assert_int_equal(n, 3);
    assert_string_equal(items[2].s, "é z");
    assert_int_equal(items[1].len, 0);
    ECO_ASSERT_OK(eco_gguf_get_str_array(g, "k.none", &items, &n));
    assert_int_equal(n, 0);
    int64_t *iv;
    ECO_ASSERT_OK(eco_gguf_get_int_array(g, "k.ints", &iv, &n));
    assert_int_equal(iv[0], -1);
    free(iv);
    const eco_gguf_tensor *t = eco_gguf_find_tensor(g, "t.data");
    assert_int_equal(t->n_dims, 2);
    assert_int_equal(t->ne[0], 3); /* HF shape [2, 3] reversed */
    assert_int_equal(t->ne[1], 2);
    assert_memory_equal(t->data, data, sizeof data);
    t = eco_gguf_find_tensor(g, "t.fill");
    assert_int_equal(t->offset % 64, 0);
    assert_true(((const float *)t->data)[4] == 1.0f);
    t = eco_gguf_find_tensor(g, "t.q8");
    assert_int_equal(t->nbytes, sizeof q);
    assert_memory_equal(t->data, q, sizeof q);
    eco_gguf_close(g);
    free(img);
    free(path);
    eco_test_rmtree(dir);
    free(dir);
    eco_gguf_writer_free(w);
}

/* ---- the q/k permutation ------------------------------------------------------------------ */

static void test_permutation(void **state) {
    (void)state;
    /* 2 heads of hd 6 rows (one float per row): llama.cpp's row h·6 + 2i + j is HF's
     * row h·6 + j·3 + i, as convert_hf_to_gguf.py's permute() reshapes them */
    float hf[12], gg[12], back[12];
    for (int r = 0; r < 12; r++) hf[r] = (float)r;
    gguf_permute_rows(gg, hf, 2, 6, sizeof(float), true);
    const float want[12] = {0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11};
    assert_memory_equal(gg, want, sizeof want);
    gguf_permute_rows(back, gg, 2, 6, sizeof(float), false);
    assert_memory_equal(back, hf, sizeof hf);
}

/* ---- whole models ------------------------------------------------------------------------ */

static float *logits_of(const char *path, const int32_t *toks, int64_t n, int64_t *vocab) {
    eco_model *m = NULL;
    ECO_ASSERT_OK(eco_model_load(path, &m));
    eco_kv_cache *kv = NULL;
    ECO_ASSERT_OK(eco_kv_cache_create(m, n, &kv));
    *vocab = eco_model_get_config(m)->vocab_size;
    float *out = malloc((size_t)(n * *vocab) * sizeof *out);
    assert_non_null(out);
    ECO_ASSERT_OK(eco_model_forward(m, kv, toks, n, out, true));
    eco_kv_cache_free(kv);
    eco_model_free(m);
    return out;
}

static void check_model(const eco_model_config *cfg, const char *name) {
    char *dir = eco_test_tmpdir();
    char *mdir = eco_path_join(dir, "m"), *g32 = eco_path_join(dir, "m.gguf"),
         *g32b = eco_path_join(dir, "again.gguf"), *gq = eco_path_join(dir, "q.gguf");
    ECO_ASSERT_OK(eco_model_create_random(cfg, 42, ECO_DTYPE_F32, mdir));
    ECO_ASSERT_OK(eco_gguf_export(mdir, ECO_GGUF_FTYPE_F32, g32));
    const int32_t toks[] = {256, 10, 200, 33, 7, 99, 120, 3};
    int64_t V, V2;
    float *a = logits_of(mdir, toks, 8, &V), *b = logits_of(g32, toks, 8, &V2);
    assert_int_equal(V, V2);
    double diff = eco_test_max_abs_diff(a, b, (size_t)(8 * V));
    if (diff != 0) {
        print_error("%s: logits from the .gguf differ from the folder's by %g\n", name, diff);
        fail();
    }
    free(a);
    free(b);
    /* the config read back */
    eco_model_config back;
    ECO_ASSERT_OK(eco_config_load(g32, &back));
    assert_int_equal(back.arch, cfg->arch);
    assert_int_equal(back.n_kv_heads, cfg->n_kv_heads);
    assert_int_equal(back.tie_word_embeddings, cfg->tie_word_embeddings);
    assert_int_equal(back.qkv_bias, cfg->qkv_bias);
    assert_int_equal(back.o_bias, cfg->o_bias);
    assert_int_equal(back.rope_llama3, cfg->rope_llama3);
    if (cfg->rope_llama3) {
        assert_true(back.rope_factor == cfg->rope_factor);
        assert_true(back.rope_high_freq_factor == cfg->rope_high_freq_factor);
        assert_int_equal(back.rope_original_max_pos, cfg->rope_original_max_pos);
    }
    /* export → load → export: the same bytes */
    ECO_ASSERT_OK(eco_gguf_export(g32, ECO_GGUF_FTYPE_F32, g32b));
    char *x, *y;
    size_t xl, yl;
    ECO_ASSERT_OK(eco_read_file(g32, 1 << 26, &x, &xl));
    ECO_ASSERT_OK(eco_read_file(g32b, 1 << 26, &y, &yl));
    assert_int_equal(xl, yl);
    assert_memory_equal(x, y, xl);
    free(x);
    free(y);

    /* views and copies */
    eco_gguf *g;
    eco_gguf_hf *hf;
    ECO_ASSERT_OK(eco_gguf_open(g32, &g));
    ECO_ASSERT_OK(eco_gguf_hf_open(g, &hf));
    eco_weights *w;
    ECO_ASSERT_OK(eco_weights_open(mdir, &w));
    for (size_t i = 0; i < eco_gguf_hf_count(hf); i++) {
        const eco_tensor *t = eco_gguf_hf_get(hf, i);
        char gname[160];
        assert_true(gguf_map_name(t->name, false, gname, sizeof gname));
        const eco_gguf_tensor *gt = eco_gguf_find_tensor(g, gname);
        bool qk = strstr(t->name, "q_proj") || strstr(t->name, "k_proj");
        bool permuted = qk && cfg->arch == ECO_ARCH_LLAMA;
        if (permuted != (t->data != gt->data)) {
            print_error("%s: %s is %s\n", name, t->name, permuted ? "not copied" : "copied");
            fail();
        }
        const eco_tensor *src = eco_weights_find(w, t->name);
        assert_non_null(src);
        assert_int_equal(src->nbytes, t->nbytes);
        assert_memory_equal(src->data, t->data, t->nbytes);
        if (permuted && t->ndim == 2) { /* the file's row 1 is HF's row hd/2 */
            size_t row = (size_t)t->shape[1] * sizeof(float);
            assert_memory_equal((const char *)gt->data + row,
                                (const char *)src->data + row * (size_t)(cfg->head_dim / 2), row);
        }
    }
    eco_gguf_hf_free(hf);
    eco_gguf_close(g);

    /* q8_0: matrices load as the engine's q8_0 dtype, views of the file's blocks */
    ECO_ASSERT_OK(eco_gguf_export(mdir, ECO_GGUF_FTYPE_Q8_0, gq));
    ECO_ASSERT_OK(eco_gguf_open(gq, &g));
    ECO_ASSERT_OK(eco_gguf_hf_open(g, &hf));
    const eco_gguf_tensor *gt = eco_gguf_find_tensor(g, "blk.0.ffn_up.weight");
    assert_int_equal(gt->type, ECO_GGML_Q8_0);
    const eco_tensor *up = NULL;
    for (size_t i = 0; i < eco_gguf_hf_count(hf); i++)
        if (strcmp(eco_gguf_hf_get(hf, i)->name, "model.layers.0.mlp.up_proj.weight") == 0)
            up = eco_gguf_hf_get(hf, i);
    assert_non_null(up);
    assert_int_equal(up->dtype, ECO_DTYPE_Q8_0);
    assert_ptr_equal(up->data, gt->data);
    assert_int_equal(up->nbytes, gt->nbytes);
    float uf[512];
    assert_true(up->shape[1] <= 512);
    eco_q8_0_dequantize_row(uf, up->data, up->shape[1]);
    /* each weight within half a quantisation step of its block (amax/127, f16-rounded) */
    const eco_tensor *src = eco_weights_find(w, up->name);
    const float *sf = src->data;
    double worst = 0;
    for (int64_t blk = 0; blk < up->shape[1] / ECO_Q8_0_BLOCK; blk++) {
        double amax = 0, err = 0;
        for (int k = 0; k < ECO_Q8_0_BLOCK; k++) {
            size_t at = (size_t)(blk * ECO_Q8_0_BLOCK + k);
            amax = fmax(amax, fabs(sf[at]));
            err = fmax(err, fabs(sf[at] - uf[at]));
        }
        double bound = amax / 127.0 * (0.5 + 127.0 / 2048.0) + 1e-9;
        worst = fmax(worst, err / bound);
    }
    if (worst > 1.0) {
        print_error("%s: q8_0 error %.3f of the bound\n", name, worst);
        fail();
    }
    eco_gguf_hf_free(hf);
    eco_gguf_close(g);
    eco_weights_close(w);
    free(mdir);
    free(g32);
    free(g32b);
    free(gq);
    eco_test_rmtree(dir);
    free(dir);
}

static eco_model_config small_cfg(eco_arch arch) {
    eco_model_config c;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &c)); /* llama, 64 wide, GQA 4/2, hd 16 */
    c.arch = arch;
    snprintf(c.model_type, sizeof c.model_type, "%s", arch == ECO_ARCH_QWEN2 ? "qwen2" : "llama");
    c.tie_word_embeddings = false;
    c.intermediate_size = 96;
    return c;
}

static void test_qwen2_model(void **state) {
    (void)state;
    eco_model_config c = small_cfg(ECO_ARCH_QWEN2);
    c.qkv_bias = true;
    c.rms_norm_eps = 1e-6;
    c.rope_theta = 1000000.0;
    check_model(&c, "qwen2");
}

static void test_llama_model(void **state) {
    (void)state;
    eco_model_config c = small_cfg(ECO_ARCH_LLAMA);
    c.qkv_bias = true; /* attention_bias: q/k/v and o */
    c.o_bias = true;
    check_model(&c, "llama");
}

/* llama3 rope scaling: rope_freqs.weight as convert_hf_to_gguf.py computes it (HF's llama3
 * formula, each factor in f32), the parameters recovered from it on load */
static eco_model_config llama3_cfg(void) {
    eco_model_config c = small_cfg(ECO_ARCH_LLAMA);
    c.rope_llama3 = true;
    c.rope_factor = 8;
    c.rope_low_freq_factor = 1;
    c.rope_high_freq_factor = 4;
    c.rope_original_max_pos = 64; /* hd 16, theta 1e4: 2 of the 8 frequencies blended */
    return c;
}

static void test_llama3_rope(void **state) {
    (void)state;
    eco_model_config c = llama3_cfg();
    check_model(&c, "llama3 rope");
    float f[8];
    gguf_llama3_rope_factors(&c, f);
    /* wavelengths 2π·10000^(i/8): i = 0 below 16 (factor 1), i ≥ 3 above 64 (factor 8) */
    assert_true(f[0] == 1.0f && f[3] == 8.0f && f[7] == 8.0f);
    for (int i = 1; i < 3; i++) {
        double wl = 2 * M_PI * pow(10000.0, i / 8.0), s = (64 / wl - 1) / 3;
        assert_true(fabs(f[i] - 1 / ((1 - s) / 8 + s)) < 1e-5 * f[i]);
    }
    /* a rope_freqs no llama3 parameters reproduce is refused */
    char *dir = eco_test_tmpdir();
    char *mdir = eco_path_join(dir, "m"), *out = eco_path_join(dir, "m.gguf");
    ECO_ASSERT_OK(eco_model_create_random(&c, 1, ECO_DTYPE_F32, mdir));
    ECO_ASSERT_OK(eco_gguf_export(mdir, ECO_GGUF_FTYPE_F32, out));
    char *img;
    size_t len;
    ECO_ASSERT_OK(eco_read_file(out, 1 << 26, &img, &len));
    eco_gguf *g;
    ECO_ASSERT_OK(eco_gguf_open_memory(img, len, "rope.gguf", &g));
    const eco_gguf_tensor *rf = eco_gguf_find_tensor(g, "rope_freqs.weight");
    assert_non_null(rf);
    ((float *)(uintptr_t)rf->data)[5] = 3.0f; /* our own copy of the file */
    eco_model_config back;
    ECO_ASSERT_STATUS(eco_gguf_model_config(g, &back), ECO_STATUS_EUNSUPPORTED);
    assert_non_null(strstr(eco_last_error(), "rope_freqs.weight"));
    eco_gguf_close(g);
    free(img);
    free(mdir);
    free(out);
    eco_test_rmtree(dir);
    free(dir);
}

static void test_model_refusals(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    char *mdir = eco_path_join(dir, "m"), *out = eco_path_join(dir, "m.gguf");
    eco_model_config c = small_cfg(ECO_ARCH_LLAMA);
    /* weights that do not match config.json */
    ECO_ASSERT_OK(eco_model_create_random(&c, 1, ECO_DTYPE_F32, mdir));
    eco_model_config wrong = c;
    wrong.intermediate_size = 64;
    char *cfg_path = eco_path_join(mdir, "config.json");
    ECO_ASSERT_OK(eco_config_write(cfg_path, &wrong));
    free(cfg_path);
    ECO_ASSERT_STATUS(eco_gguf_export(mdir, ECO_GGUF_FTYPE_F32, out), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "gate_proj.weight': shape does not match"));
    /* a byte-level pre-tokenizer llama.cpp does not re-implement (Qwen's regex, altered) */
    eco_test_rmtree(mdir);
    ECO_ASSERT_OK(eco_model_create_random(&c, 1, ECO_DTYPE_F32, mdir));
    char *tok = eco_test_source_path(".cache/test-material/qwen3/package/models/tokenizer.json");
    char *text;
    size_t len;
    if (eco_read_file(tok, 1 << 26, &text, &len) == ECO_STATUS_OK) {
        char *at = strstr(text, "(?i:'s|'t|");
        assert_non_null(at);
        at[8] = 'x'; /* 't → 'x */
        char *dst = eco_path_join(mdir, "tokenizer.json");
        eco_test_write_file(dst, text, len);
        free(dst);
        free(text);
        ECO_ASSERT_STATUS(eco_gguf_export(mdir, ECO_GGUF_FTYPE_F32, out), ECO_STATUS_EUNSUPPORTED);
        assert_non_null(strstr(eco_last_error(), "pre_tokenizer"));
    }
    free(tok);
    free(mdir);
    free(out);
    eco_test_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_image),      cmocka_unit_test(test_malformed_table),
        cmocka_unit_test(test_writer_roundtrip), cmocka_unit_test(test_permutation),
        cmocka_unit_test(test_qwen2_model),      cmocka_unit_test(test_llama_model),
        cmocka_unit_test(test_llama3_rope),      cmocka_unit_test(test_model_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
