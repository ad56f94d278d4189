/*
 * safetensors: write → read round trips (several dtypes, zero-size and scalar tensors,
 * metadata), the file layout (header padded to 8, data 8-aligned, names sorted), the
 * mmap'd reader (data pointers inside the mapping, values read back), and a table of
 * malformed images each of which must be refused with the expected status and message.
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ecology/safetensors.h"

/* ---- helpers ---------------------------------------------------------------------- */

/* An image: 8-byte LE length of `hdr`, hdr, then data_len bytes (0..255 pattern). */
static uint8_t *make_image(const char *hdr, size_t hdr_len, size_t data_len, size_t *len) {
    *len = 8 + hdr_len + data_len;
    uint8_t *b = malloc(*len ? *len : 1);
    assert_non_null(b);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)((uint64_t)hdr_len >> (8 * i));
    memcpy(b + 8, hdr, hdr_len);
    for (size_t i = 0; i < data_len; i++) b[8 + hdr_len + i] = (uint8_t)i;
    return b;
}

static void expect_error(const char *what, const void *img, size_t len, eco_status want,
                         const char *needle) {
    eco_safetensors *st = (eco_safetensors *)0x1;
    eco_clear_error();
    eco_status got = eco_safetensors_open_memory(img, len, "bad.safetensors", &st);
    const char *msg = eco_last_error();
    if (got != want || !strstr(msg, needle) || !strstr(msg, "bad.safetensors") || st != NULL) {
        print_error("case '%s': got %s \"%s\", want %s containing \"%s\"\n", what,
                    eco_status_str(got), msg, eco_status_str(want), needle);
        if (got == ECO_STATUS_OK) eco_safetensors_close(st);
        fail();
    }
}

/* ---- round trip -------------------------------------------------------------------- */

typedef struct {
    float f32[6];     /* [2, 3] */
    uint16_t bf16[4]; /* [4] */
    int64_t i64[4];   /* [2, 2] */
    uint8_t u8[3];    /* [3] odd size: the next tensor starts unaligned */
    uint8_t flag;     /* BOOL scalar, shape [] */
    double f64[1];    /* [1, 1, 1] */
    uint16_t f16[1];  /* zero-size [0, 5] (data unused) */
} rt_data;

static size_t fill_tensors(eco_tensor *t, rt_data *d) {
    for (int i = 0; i < 6; i++) d->f32[i] = (float)i * 0.5f - 1.0f;
    for (int i = 0; i < 4; i++) d->bf16[i] = eco_f32_to_bf16((float)(i + 1));
    for (int i = 0; i < 4; i++) d->i64[i] = (int64_t)1 << (40 + i);
    d->u8[0] = 7, d->u8[1] = 8, d->u8[2] = 9;
    d->flag = 1;
    d->f64[0] = 3.25;
    memset(t, 0, 7 * sizeof *t);
    /* Given out of name order on purpose: the writer sorts. */
    t[0] = (eco_tensor){.name = "model.layers.0.w",
                        .dtype = ECO_DTYPE_F32,
                        .ndim = 2,
                        .shape = {2, 3},
                        .data = d->f32,
                        .nbytes = sizeof d->f32};
    t[1] = (eco_tensor){.name = "b.bf16",
                        .dtype = ECO_DTYPE_BF16,
                        .ndim = 1,
                        .shape = {4},
                        .data = d->bf16,
                        .nbytes = sizeof d->bf16};
    t[2] = (eco_tensor){.name = "ids",
                        .dtype = ECO_DTYPE_I64,
                        .ndim = 2,
                        .shape = {2, 2},
                        .data = d->i64,
                        .nbytes = sizeof d->i64};
    t[3] = (eco_tensor){.name = "a.bytes",
                        .dtype = ECO_DTYPE_U8,
                        .ndim = 1,
                        .shape = {3},
                        .data = d->u8,
                        .nbytes = 3};
    t[4] = (eco_tensor){
        .name = "flag", .dtype = ECO_DTYPE_BOOL, .ndim = 0, .data = &d->flag, .nbytes = 1};
    t[5] = (eco_tensor){.name = "z.f64",
                        .dtype = ECO_DTYPE_F64,
                        .ndim = 3,
                        .shape = {1, 1, 1},
                        .data = d->f64,
                        .nbytes = 8};
    t[6] = (eco_tensor){.name = "empty",
                        .dtype = ECO_DTYPE_F16,
                        .ndim = 2,
                        .shape = {0, 5},
                        .data = NULL,
                        .nbytes = 0};
    return 7;
}

static void check_against(const eco_safetensors *st, const eco_tensor *want, size_t n) {
    assert_int_equal(eco_safetensors_count(st), n);
    const void *buf;
    size_t buf_len;
    eco_safetensors_buffer(st, &buf, &buf_len);
    const uint8_t *lo = buf, *hi = lo + buf_len;
    /* File order: ascending offsets, which for our writer is element size descending, then
     * name (Hugging Face's layout), so every tensor is aligned to its element size. */
    for (size_t i = 1; i < n; i++) {
        const eco_tensor *a = eco_safetensors_get(st, i - 1), *b = eco_safetensors_get(st, i);
        assert_true((const uint8_t *)a->data <= (const uint8_t *)b->data);
        size_t sa = eco_dtype_size(a->dtype), sb = eco_dtype_size(b->dtype);
        assert_true(sa > sb || (sa == sb && strcmp(a->name, b->name) < 0));
    }
    for (size_t i = 0; i < n; i++) {
        const eco_tensor *t = eco_safetensors_get(st, i);
        assert_int_equal((uintptr_t)t->data % eco_dtype_size(t->dtype), 0);
    }
    assert_null(eco_safetensors_get(st, n));
    for (size_t i = 0; i < n; i++) {
        const eco_tensor *g = eco_safetensors_find(st, want[i].name);
        assert_non_null(g);
        assert_string_equal(g->name, want[i].name);
        assert_int_equal(g->dtype, want[i].dtype);
        assert_int_equal(g->ndim, want[i].ndim);
        for (int d = 0; d < g->ndim; d++) assert_int_equal(g->shape[d], want[i].shape[d]);
        assert_int_equal(g->nbytes, want[i].nbytes);
        assert_int_equal(eco_tensor_numel(g) * eco_dtype_size(g->dtype), g->nbytes);
        assert_true((const uint8_t *)g->data >= lo);
        assert_true((const uint8_t *)g->data + g->nbytes <= hi);
        if (g->nbytes) assert_memory_equal(g->data, want[i].data, g->nbytes);
    }
    assert_null(eco_safetensors_find(st, "missing"));
    assert_null(eco_safetensors_find(st, ""));
}

static void test_roundtrip_file(void **state) {
    (void)state;
    rt_data d;
    eco_tensor t[7];
    size_t n = fill_tensors(t, &d);
    const char *meta[] = {"format", "pt", "author", "tiny-ecology", "ünïcode", "välue"};
    char *dir = eco_test_tmpdir();
    char *path = eco_path_join(dir, "model.safetensors");
    ECO_ASSERT_OK(eco_safetensors_write(path, t, n, meta, 3));

    /* Layout: header padded with spaces so that the data starts on a 64-byte boundary
     * (8 + hlen a multiple of 64, hlen itself a multiple of 8 as the format asks), same
     * bytes as write_memory. */
    char *file;
    size_t flen;
    ECO_ASSERT_OK(eco_read_file(path, 1 << 20, &file, &flen));
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | (uint8_t)file[i];
    assert_int_equal(hlen % 8, 0);
    assert_int_equal((hlen + 8) % 64, 0);
    assert_true(hlen + 8 <= flen);
    assert_int_equal(file[8], '{');
    size_t last = 8 + hlen - 1;
    while (file[last] == ' ') last--;
    assert_int_equal(file[last], '}');
    uint8_t *mem;
    size_t mlen;
    ECO_ASSERT_OK(eco_safetensors_write_memory(t, n, meta, 3, &mem, &mlen));
    assert_int_equal(mlen, flen);
    assert_memory_equal(mem, file, flen);

    eco_safetensors *st;
    ECO_ASSERT_OK(eco_safetensors_open(path, &st));
    assert_string_equal(eco_safetensors_path(st), path);
    check_against(st, t, n);
    /* The mapping is the file: the data buffer starts 8 + hlen bytes in, 64-aligned. */
    const void *buf;
    size_t blen;
    eco_safetensors_buffer(st, &buf, &blen);
    assert_int_equal(blen, flen - 8 - hlen);
    assert_int_equal((uintptr_t)buf % 64, 0);
    assert_memory_equal(buf, file + 8 + hlen, blen);
    /* Values read back through typed pointers. */
    const eco_tensor *w = eco_safetensors_find(st, "model.layers.0.w");
    assert_true(((const float *)w->data)[5] == 1.5f);
    const eco_tensor *bf = eco_safetensors_find(st, "b.bf16");
    /* b.bf16 follows the 3-byte a.bytes, so it is not 2-aligned: read through memcpy. */
    uint16_t h3;
    memcpy(&h3, (const uint8_t *)bf->data + 6, 2);
    assert_true(eco_bf16_to_f32(h3) == 4.0f);
    const eco_tensor *ids = eco_safetensors_find(st, "ids");
    int64_t id3;
    memcpy(&id3, (const uint8_t *)ids->data + 24, 8);
    assert_true(id3 == (int64_t)1 << 43);

    /* Metadata: lookups and sorted iteration. */
    assert_int_equal(eco_safetensors_metadata_count(st), 3);
    assert_string_equal(eco_safetensors_metadata(st, "format"), "pt");
    assert_string_equal(eco_safetensors_metadata(st, "ünïcode"), "välue");
    assert_null(eco_safetensors_metadata(st, "nope"));
    const char *k, *v;
    eco_safetensors_metadata_at(st, 0, &k, &v);
    assert_string_equal(k, "author");
    assert_string_equal(v, "tiny-ecology");
    eco_safetensors_metadata_at(st, 1, &k, &v);
    assert_string_equal(k, "format");
    eco_safetensors_metadata_at(st, 3, &k, &v);
    assert_null(k);
    assert_null(v);
    eco_safetensors_close(st);

    /* The in-memory image reads back the same. */
    ECO_ASSERT_OK(eco_safetensors_open_memory(mem, mlen, "mem", &st));
    check_against(st, t, n);
    eco_safetensors_close(st);

    free(mem);
    free(file);
    free(path);
    eco_test_rmtree(dir);
    free(dir);
}

static void test_empty_and_zero_size(void **state) {
    (void)state;
    size_t len;
    /* "{}" with no data: legal, no tensors, no metadata. */
    uint8_t *img = make_image("{}", 2, 0, &len);
    eco_safetensors *st;
    ECO_ASSERT_OK(eco_safetensors_open_memory(img, len, "empty", &st));
    assert_int_equal(eco_safetensors_count(st), 0);
    assert_int_equal(eco_safetensors_metadata_count(st), 0);
    assert_null(eco_safetensors_find(st, "x"));
    eco_safetensors_close(st);
    free(img);

    /* Writing nothing gives "{}" padded with spaces to 56 bytes (the 64-byte boundary). */
    uint8_t *mem;
    ECO_ASSERT_OK(eco_safetensors_write_memory(NULL, 0, NULL, 0, &mem, &len));
    assert_int_equal(len, 64);
    assert_memory_equal(mem + 8, "{}", 2);
    for (size_t i = 10; i < 64; i++) assert_int_equal(mem[i], ' ');
    ECO_ASSERT_OK(eco_safetensors_open_memory(mem, len, "empty", &st));
    assert_int_equal(eco_safetensors_count(st), 0);
    eco_safetensors_close(st);
    free(mem);

    /* Zero-size tensors sit between others at begin == end, and around metadata. */
    const char *hdr =
        "{\"__metadata__\":{},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        "\"z0\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
        "\"z1\":{\"dtype\":\"BF16\",\"shape\":[3,0,2],\"data_offsets\":[4,4]},"
        "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]},"
        "\"z2\":{\"dtype\":\"I8\",\"shape\":[0],\"data_offsets\":[6,6]}}";
    img = make_image(hdr, strlen(hdr), 6, &len);
    ECO_ASSERT_OK(eco_safetensors_open_memory(img, len, "zero", &st));
    assert_int_equal(eco_safetensors_count(st), 5);
    assert_string_equal(eco_safetensors_get(st, 0)->name, "a");
    assert_string_equal(eco_safetensors_get(st, 4)->name, "z2");
    const eco_tensor *z1 = eco_safetensors_find(st, "z1");
    assert_non_null(z1);
    assert_int_equal(z1->nbytes, 0);
    assert_int_equal(z1->ndim, 3);
    assert_int_equal(eco_tensor_numel(z1), 0);
    const eco_tensor *b = eco_safetensors_find(st, "b");
    assert_int_equal(((const uint8_t *)b->data)[1], 5);
    eco_safetensors_close(st);
    free(img);
}

static void test_open_errors(void **state) {
    (void)state;
    eco_safetensors *st;
    char *dir = eco_test_tmpdir();
    char *path = eco_path_join(dir, "nope.safetensors");
    ECO_ASSERT_STATUS(eco_safetensors_open(path, &st), ECO_STATUS_ENOTFOUND);
    assert_non_null(strstr(eco_last_error(), "nope.safetensors"));
    ECO_ASSERT_STATUS(eco_safetensors_open(dir, &st), ECO_STATUS_EIO);
    eco_test_write_file(path, "", 0);
    ECO_ASSERT_STATUS(eco_safetensors_open(path, &st), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "too short"));
    /* A malformed file on disk names the file. */
    size_t len;
    const char *hdr = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[10,4]}}";
    uint8_t *img = make_image(hdr, strlen(hdr), 0, &len);
    eco_test_write_file(path, img, len);
    ECO_ASSERT_STATUS(eco_safetensors_open(path, &st), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(),
                           "nope.safetensors: tensor 'w': data_offsets [10, 4]: end before start"));
    free(img);
    free(path);
    eco_test_rmtree(dir);
    free(dir);
}

static void test_writer_rejects(void **state) {
    (void)state;
    float x[2] = {1, 2};
    uint8_t *mem;
    size_t len;
    eco_tensor t[2] = {
        {.name = "a", .dtype = ECO_DTYPE_F32, .ndim = 1, .shape = {2}, .data = x, .nbytes = 8},
        {.name = "a", .dtype = ECO_DTYPE_F32, .ndim = 1, .shape = {2}, .data = x, .nbytes = 8},
    };
    ECO_ASSERT_STATUS(eco_safetensors_write_memory(t, 2, NULL, 0, &mem, &len), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "given twice"));
    t[1].name = "b";
    t[1].nbytes = 4;
    ECO_ASSERT_STATUS(eco_safetensors_write_memory(t, 2, NULL, 0, &mem, &len), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "nbytes"));
    t[1].nbytes = 8;
    t[1].name = "__metadata__";
    ECO_ASSERT_STATUS(eco_safetensors_write_memory(t, 2, NULL, 0, &mem, &len), ECO_STATUS_EINVAL);
    t[1].name = "bad\xff";
    ECO_ASSERT_STATUS(eco_safetensors_write_memory(t, 2, NULL, 0, &mem, &len), ECO_STATUS_EINVAL);
    t[1].name = "b";
    t[1].ndim = ECO_MAX_DIMS + 1;
    ECO_ASSERT_STATUS(eco_safetensors_write_memory(t, 2, NULL, 0, &mem, &len), ECO_STATUS_EINVAL);
    t[1].ndim = 1;
    const char *meta[] = {"k", "v", "k", "w"};
    ECO_ASSERT_STATUS(eco_safetensors_write_memory(t, 2, meta, 2, &mem, &len), ECO_STATUS_EINVAL);
    ECO_ASSERT_OK(eco_safetensors_write_memory(t, 2, meta, 1, &mem, &len));
    free(mem);
}

/* ---- malformed images -------------------------------------------------------------- */

#define E1(dt, shape, offs)                                                                        \
    "{\"t\":{\"dtype\":\"" dt "\",\"shape\":" shape ",\"data_offsets\":" offs "}}"

typedef struct {
    const char *what;
    const char *hdr; /* header JSON */
    size_t data_len; /* bytes after the header */
    eco_status want;
    const char *needle;
} bad_case;

static const bad_case bad_cases[] = {
    {"bad JSON", "{\"t\":", 0, ECO_STATUS_EFORMAT, "not valid JSON"},
    {"trailing garbage", "{} x", 0, ECO_STATUS_EFORMAT, "not valid JSON"},
    {"not an object", "[1, 2]", 0, ECO_STATUS_EFORMAT, "does not start with '{'"},
    {"leading space", " {}", 0, ECO_STATUS_EFORMAT, "does not start with '{'"},
    {"empty header", "", 0, ECO_STATUS_EFORMAT, "does not start with '{'"},
    {"duplicate names",
     "{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
     "\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
     2, ECO_STATUS_EFORMAT, "duplicate"},
    {"duplicate metadata", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, ECO_STATUS_EFORMAT,
     "duplicate"},
    {"entry not an object", "{\"t\":[]}", 0, ECO_STATUS_EFORMAT, "tensor 't': expected an object"},
    {"unknown dtype", E1("F7", "[1]", "[0,1]"), 1, ECO_STATUS_EFORMAT,
     "tensor 't': unknown dtype 'F7'"},
    {"lower-case dtype", E1("f32", "[1]", "[0,4]"), 4, ECO_STATUS_EFORMAT, "unknown dtype 'f32'"},
    {"dtype not a string", "{\"t\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
     ECO_STATUS_EFORMAT, "dtype is not a string"},
    {"negative shape", E1("F32", "[-1]", "[0,0]"), 0, ECO_STATUS_EFORMAT,
     "tensor 't': shape[0] is not a non-negative integer"},
    {"float shape", E1("F32", "[2, 1.5]", "[0,12]"), 12, ECO_STATUS_EFORMAT,
     "shape[1] is not a non-negative integer"},
    {"shape not an array", E1("F32", "3", "[0,12]"), 12, ECO_STATUS_EFORMAT,
     "shape is not an array"},
    {"shape overflow", E1("F32", "[1099511627776, 1099511627776]", "[0,0]"), 0,
     ECO_STATUS_EOVERFLOW, "tensor 't': shape element count overflows"},
    {"byte size overflow", E1("F64", "[4611686018427387904]", "[0,0]"), 0, ECO_STATUS_EOVERFLOW,
     "byte size overflows"},
    {"too many dims", E1("U8", "[1,1,1,1,1,1,1,1,1]", "[0,1]"), 1, ECO_STATUS_EFORMAT,
     "9 dimensions"},
    {"wrong byte count", E1("F32", "[2]", "[0,4]"), 4, ECO_STATUS_EFORMAT,
     "data_offsets [0, 4] hold 4 bytes but F32 shape needs 8"},
    {"end before start", E1("F32", "[1]", "[10,4]"), 12, ECO_STATUS_EFORMAT,
     "tensor 't': data_offsets [10, 4]: end before start"},
    {"offsets arity", E1("F32", "[1]", "[0]"), 4, ECO_STATUS_EFORMAT,
     "data_offsets is not [begin, end]"},
    {"negative offset", E1("F32", "[1]", "[-4,0]"), 4, ECO_STATUS_EFORMAT, "data_offsets is not"},
    {"float offset", E1("F32", "[1]", "[0,4.0]"), 4, ECO_STATUS_EFORMAT, "data_offsets is not"},
    {"huge offsets", E1("F32", "[0]", "[9223372036854775807,9223372036854775807]"), 0,
     ECO_STATUS_EFORMAT, "beyond the data buffer"},
    {"integer too big for JSON", E1("F32", "[0]", "[0,99999999999999999999]"), 0,
     ECO_STATUS_EFORMAT, "not valid JSON"},
    {"out-of-file range", E1("F32", "[4]", "[0,16]"), 8, ECO_STATUS_EFORMAT,
     "data_offsets [0, 16]: beyond the data buffer of 8 bytes"},
    {"last end != buffer size", E1("F32", "[1]", "[0,4]"), 8, ECO_STATUS_EFORMAT,
     "tensors cover 4 bytes but the data buffer holds 8"},
    {"no tensors but data", "{}", 3, ECO_STATUS_EFORMAT,
     "cover 0 bytes but the data buffer holds 3"},
    {"overlapping ranges",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
     12, ECO_STATUS_EFORMAT, "tensor 'b': data_offsets [4, 12] overlap the tensor 'a'"},
    {"same range twice",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
     "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
     4, ECO_STATUS_EFORMAT, "overlap"},
    {"zero-size inside a range",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}",
     8, ECO_STATUS_EFORMAT, "overlap"},
    {"gap between ranges",
     "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
     12, ECO_STATUS_EFORMAT, "tensor 'b': data_offsets [8, 12] leave a gap after byte 4"},
    {"gap at start", E1("U8", "[2]", "[2,4]"), 4, ECO_STATUS_EFORMAT, "gap after byte 0"},
    {"metadata value not a string", "{\"__metadata__\":{\"k\":1}}", 0, ECO_STATUS_EFORMAT,
     "__metadata__ value of 'k' is not a string"},
    {"metadata nested object", "{\"__metadata__\":{\"k\":{}}}", 0, ECO_STATUS_EFORMAT,
     "is not a string"},
    {"metadata not an object", "{\"__metadata__\":[\"a\"]}", 0, ECO_STATUS_EFORMAT,
     "__metadata__ is not an object"},
    {"invalid UTF-8 in name", "{\"t\xff\":{}}", 0, ECO_STATUS_EFORMAT, "not valid UTF-8 (byte 3)"},
    {"overlong UTF-8", "{\"\xc0\xaf\":{}}", 0, ECO_STATUS_EFORMAT, "not valid UTF-8"},
    {"UTF-8 surrogate", "{\"\xed\xa0\x80\":{}}", 0, ECO_STATUS_EFORMAT, "not valid UTF-8"},
    {"truncated UTF-8", "{\"\xe2\x82", 0, ECO_STATUS_EFORMAT, "not valid UTF-8"},
    {"escaped NUL in name", "{\"a\\u0000b\":{}}", 0, ECO_STATUS_EFORMAT, "not valid JSON"},
    {"extra field in entry",
     "{\"t\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"foo\":1}}", 1,
     ECO_STATUS_EFORMAT, "tensor 't': unknown field 'foo'"},
    {"missing dtype", "{\"t\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1, ECO_STATUS_EFORMAT,
     "missing field 'dtype'"},
    {"missing shape", "{\"t\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1, ECO_STATUS_EFORMAT,
     "missing field 'shape'"},
    {"missing offsets", "{\"t\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1, ECO_STATUS_EFORMAT,
     "missing field 'data_offsets'"},
};

static void test_malformed_table(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        size_t len;
        uint8_t *img = make_image(c->hdr, strlen(c->hdr), c->data_len, &len);
        expect_error(c->what, img, len, c->want, c->needle);
        free(img);
    }
}

/* Cases that need hand-made length fields or big headers. */
static void test_malformed_framing(void **state) {
    (void)state;
    uint8_t small[5] = {2, 0, 0, 0, 0};
    expect_error("shorter than 8 bytes", small, sizeof small, ECO_STATUS_EFORMAT,
                 "too short (5 bytes)");
    expect_error("no bytes at all", small, 0, ECO_STATUS_EFORMAT, "too short (0 bytes)");

    size_t len;
    uint8_t *img = make_image("{}", 2, 0, &len);
    img[0] = 100; /* claims 100 header bytes, has 2 */
    expect_error("header length beyond file", img, len, ECO_STATUS_EFORMAT,
                 "header length 100 goes beyond the end of the file (10 bytes)");
    /* 200 MB declared: refused before anything looks past the length. */
    uint64_t big = 200000000;
    for (int i = 0; i < 8; i++) img[i] = (uint8_t)(big >> (8 * i));
    expect_error("header too large", img, len, ECO_STATUS_EFORMAT, "exceeds the limit");
    for (int i = 0; i < 8; i++) img[i] = 0xff;
    expect_error("header length 2^64-1", img, len, ECO_STATUS_EFORMAT, "exceeds the limit");
    free(img);

    /* Nesting bomb: jansson's depth limit turns it into a JSON error. */
    size_t depth = 5000;
    char *hdr = malloc(2 * depth + 16);
    assert_non_null(hdr);
    size_t p = 0;
    p += (size_t)sprintf(hdr, "{\"t\":");
    for (size_t i = 0; i < depth; i++) hdr[p++] = '[';
    for (size_t i = 0; i < depth; i++) hdr[p++] = ']';
    hdr[p++] = '}';
    img = make_image(hdr, p, 0, &len);
    expect_error("nesting bomb", img, len, ECO_STATUS_EFORMAT, "not valid JSON");
    free(img);
    free(hdr);

    /* NUL bytes as header padding are not JSON white space. */
    img = make_image("{}\0\0\0\0\0\0", 8, 0, &len);
    expect_error("NUL padding", img, len, ECO_STATUS_EFORMAT, "not valid JSON");
    free(img);
    /* Space padding is fine. */
    img = make_image("{}      ", 8, 0, &len);
    eco_safetensors *st;
    ECO_ASSERT_OK(eco_safetensors_open_memory(img, len, "pad", &st));
    eco_safetensors_close(st);
    free(img);
}

/* Many tensors: the by-name index and offset order agree for every one. */
static void test_many_tensors(void **state) {
    (void)state;
    enum { N = 300 };
    eco_tensor t[N];
    char names[N][16];
    uint32_t vals[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "t%03d", (i * 7) % N);
        vals[i] = (uint32_t)((i * 7) % N);
        t[i] = (eco_tensor){.name = names[i],
                            .dtype = ECO_DTYPE_U32,
                            .ndim = 1,
                            .shape = {1},
                            .data = &vals[i],
                            .nbytes = 4};
    }
    uint8_t *mem;
    size_t len;
    ECO_ASSERT_OK(eco_safetensors_write_memory(t, N, NULL, 0, &mem, &len));
    eco_safetensors *st;
    ECO_ASSERT_OK(eco_safetensors_open_memory(mem, len, "many", &st));
    assert_int_equal(eco_safetensors_count(st), N);
    for (int i = 0; i < N; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "t%03d", i);
        const eco_tensor *g = eco_safetensors_find(st, nm);
        assert_non_null(g);
        uint32_t v;
        memcpy(&v, g->data, 4);
        assert_int_equal(v, (uint32_t)i);
        assert_ptr_equal(eco_safetensors_get(st, (size_t)i), g);
    }
    eco_safetensors_close(st);
    free(mem);
}

static void test_dtype_table(void **state) {
    (void)state;
    static const char *names[] = {"BOOL", "U8",  "I8",  "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
                                  "BF16", "I32", "U32", "F32",     "F64",     "I64", "U64"};
    static const size_t sizes[] = {1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8};
    assert_int_equal(sizeof names / sizeof names[0], ECO_DTYPE__COUNT);
    for (size_t i = 0; i < ECO_DTYPE__COUNT; i++) {
        eco_dtype t;
        ECO_ASSERT_OK(eco_dtype_parse(names[i], &t));
        assert_string_equal(eco_dtype_name(t), names[i]);
        assert_int_equal(eco_dtype_size(t), sizes[i]);
    }
    eco_dtype t;
    ECO_ASSERT_STATUS(eco_dtype_parse("F128", &t), ECO_STATUS_ENOTFOUND);
    ECO_ASSERT_STATUS(eco_dtype_parse("", &t), ECO_STATUS_ENOTFOUND);
    assert_int_equal(eco_dtype_size(ECO_DTYPE__COUNT), 0);
    eco_tensor x = {.ndim = 3, .shape = {2, 3, 4}};
    assert_int_equal(eco_tensor_numel(&x), 24);
    x.ndim = 0;
    assert_int_equal(eco_tensor_numel(&x), 1);
}

/* Pages of [p, p + n) mapped in this process (/proc/self/pagemap's present bit); −1 when
 * pagemap cannot be read. */
static long pages_present(const void *p, size_t n) {
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)p / page, hi = ((uintptr_t)p + n + page - 1) / page;
    FILE *f = fopen("/proc/self/pagemap", "rb");
    if (!f) return -1;
    long present = 0;
    if (fseek(f, (long)(lo * 8), SEEK_SET) != 0) present = -1;
    for (uintptr_t k = lo; present >= 0 && k < hi; k++) {
        uint64_t e;
        if (fread(&e, sizeof e, 1, f) != 1)
            present = -1;
        else
            present += (long)(e >> 63);
    }
    fclose(f);
    return present;
}

/* eco_safetensors_release drops the mapped pages of a tensor that were read, and of the part
 * inside the mapping of a range that starts before it (a run of pages rounded down to a
 * 64 KB window, model_stream.c); a range wholly outside is left alone. */
static void test_release_pages(void **state) {
    (void)state;
    enum { N = 1 << 16 }; /* 256 KB of f32 */
    float *v = malloc(N * sizeof *v);
    assert_non_null(v);
    for (int i = 0; i < N; i++) v[i] = (float)i;
    eco_tensor t = {.name = "w",
                    .dtype = ECO_DTYPE_F32,
                    .ndim = 1,
                    .shape = {N},
                    .data = v,
                    .nbytes = N * sizeof *v};
    char *dir = eco_test_tmpdir(), *path = eco_path_join(dir, "model.safetensors");
    ECO_ASSERT_OK(eco_safetensors_write(path, &t, 1, NULL, 0));
    eco_safetensors *st;
    ECO_ASSERT_OK(eco_safetensors_open(path, &st));
    const eco_tensor *g = eco_safetensors_find(st, "w");
    assert_non_null(g);
    const float *x = g->data;
    const long page = sysconf(_SC_PAGESIZE), whole = (long)(N * sizeof *v) / page - 1;
    volatile float sum = 0;
    for (int i = 0; i < N; i++) sum += x[i]; /* every page read */
    long before = pages_present(x, g->nbytes);
    if (before < 0) {
        print_message("pagemap unreadable: skipped\n");
    } else {
        assert_true(before >= whole);
        /* wholly outside (below the mapping): nothing dropped */
        eco_safetensors_release(st, (const char *)x - (1 << 30), 4096);
        assert_int_equal(pages_present(x, g->nbytes), before);
        /* from 1 MB before the mapping to the tensor's end: its whole pages dropped */
        eco_safetensors_release(st, (const char *)x - (1 << 20), (1 << 20) + g->nbytes);
        long after = pages_present(x, g->nbytes);
        if (after > 2) {
            print_error("%ld of %ld pages still mapped after the release\n", after, before);
            fail();
        }
        for (int i = 0; i < N; i += 1000) assert_true(x[i] == (float)i); /* read back */
    }
    eco_safetensors_close(st);
    (void)sum;
    free(v);
    free(path);
    eco_test_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dtype_table),     cmocka_unit_test(test_release_pages),
        cmocka_unit_test(test_roundtrip_file),  cmocka_unit_test(test_empty_and_zero_size),
        cmocka_unit_test(test_open_errors),     cmocka_unit_test(test_writer_rejects),
        cmocka_unit_test(test_malformed_table), cmocka_unit_test(test_malformed_framing),
        cmocka_unit_test(test_many_tensors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
