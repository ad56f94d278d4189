/* core: status strings, error context, arena, checked sizes, atomic files, SHA-256,
 * canonical JSON, RNG. */
#include "test_util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <math.h>
#include <omp.h>

#include "core/team_barrier.h"

static void test_status_strings(void **state) {
    (void)state;
    assert_string_equal(eco_status_str(ECO_STATUS_OK), "OK");
    assert_string_equal(eco_status_str(ECO_STATUS_EFORMAT), "EFORMAT");
    assert_string_equal(eco_status_str(ECO_STATUS_EINTERNAL), "EINTERNAL");
    assert_string_equal(eco_status_str((eco_status)999), "EUNKNOWN");
    /* numbers are part of the ABI */
    assert_int_equal(ECO_STATUS_EFORMAT, 4);
    assert_int_equal(ECO_STATUS_ESIGNATURE, 12);
    for (int i = 0; i < ECO_STATUS__COUNT; i++)
        assert_string_not_equal(eco_status_str((eco_status)i), "EUNKNOWN");
}

static void test_error_context(void **state) {
    (void)state;
    eco_status st = eco_error(ECO_STATUS_EFORMAT, "tensor '%s': bad shape", "w");
    assert_int_equal(st, ECO_STATUS_EFORMAT);
    assert_string_equal(eco_last_error(), "tensor 'w': bad shape");
    eco_error_wrap(st, "%s", "model.safetensors");
    assert_string_equal(eco_last_error(), "model.safetensors: tensor 'w': bad shape");
    /* a very long prefix truncates but stays NUL-terminated */
    char big[4000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    eco_error_wrap(st, "%s", big);
    assert_true(strlen(eco_last_error()) < 2048);
    eco_clear_error();
    assert_string_equal(eco_last_error(), "");
}

static void test_checked_sizes(void **state) {
    (void)state;
    size_t out = 7;
    assert_true(eco_mul_ok(3, 4, &out));
    assert_int_equal(out, 12);
    assert_false(eco_mul_ok(SIZE_MAX / 2, 3, &out));
    assert_false(eco_add_ok(SIZE_MAX, 1, &out));
    int64_t ok_shape[] = {2, 3, 4};
    assert_true(eco_shape_numel(ok_shape, 3, &out));
    assert_int_equal(out, 24);
    int64_t neg[] = {2, -1};
    assert_false(eco_shape_numel(neg, 2, &out));
    int64_t huge[] = {1LL << 40, 1LL << 40};
    assert_false(eco_shape_numel(huge, 2, &out));
    assert_true(eco_shape_numel(NULL, 0, &out));
    assert_int_equal(out, 1);
    assert_null(eco_malloc_array(SIZE_MAX / 4, 8));
    assert_null(eco_calloc_array(SIZE_MAX / 4, 8));
}

static void test_arena(void **state) {
    (void)state;
    eco_arena a;
    eco_arena_init(&a, 256);
    for (int i = 0; i < 1000; i++) {
        size_t align = (size_t)1 << (i % 8);
        unsigned char *p = eco_arena_alloc(&a, (size_t)(i % 300) + 1, align);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % align, 0);
        for (int j = 0; j < (i % 300) + 1; j++) assert_int_equal(p[j], 0);
        memset(p, 0xab, (size_t)(i % 300) + 1);
    }
    char *s = eco_arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    assert_null(eco_arena_alloc(&a, 8, 3));             /* not a power of two */
    assert_null(eco_arena_alloc(&a, SIZE_MAX - 8, 64)); /* overflow */
    void *big = eco_arena_alloc(&a, 1 << 20, 4096);
    assert_non_null(big);
    assert_int_equal((uintptr_t)big % 4096, 0);
    eco_arena_free(&a);
    assert_null(a.head);
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void test_atomic_write(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    char *path = eco_path_join(dir, "f.txt");
    ECO_ASSERT_OK(eco_write_file_atomic(path, "first", 5));
    char *data;
    size_t len;
    ECO_ASSERT_OK(eco_read_file(path, 100, &data, &len));
    assert_int_equal(len, 5);
    assert_string_equal(data, "first");
    free(data);

    /* an aborted write leaves the old content and no temp file behind */
    eco_atomic_file af;
    ECO_ASSERT_OK(eco_atomic_file_open(&af, path));
    ECO_ASSERT_OK(eco_atomic_file_write(&af, "second!", 7));
    assert_int_equal(count_entries(dir), 2); /* f.txt + temp */
    ECO_ASSERT_OK(eco_read_file(path, 100, &data, &len));
    assert_string_equal(data, "first"); /* not visible before commit */
    free(data);
    eco_atomic_file_abort(&af);
    eco_atomic_file_abort(&af); /* twice is fine */
    assert_int_equal(count_entries(dir), 1);

    ECO_ASSERT_OK(eco_atomic_file_open(&af, path));
    ECO_ASSERT_OK(eco_atomic_file_write(&af, "second!", 7));
    ECO_ASSERT_OK(eco_atomic_file_commit(&af));
    ECO_ASSERT_OK(eco_read_file(path, 100, &data, &len));
    assert_string_equal(data, "second!");
    free(data);
    assert_int_equal(count_entries(dir), 1);

    /* size limit and missing files */
    ECO_ASSERT_STATUS(eco_read_file(path, 3, &data, &len), ECO_STATUS_ERANGE);
    assert_non_null(strstr(eco_last_error(), "f.txt"));
    char *missing = eco_path_join(dir, "nope");
    ECO_ASSERT_STATUS(eco_read_file(missing, 100, &data, &len), ECO_STATUS_ENOTFOUND);
    /* writing into a folder that does not exist fails cleanly */
    char *bad = eco_path_join(missing, "x");
    ECO_ASSERT_STATUS(eco_write_file_atomic(bad, "x", 1), ECO_STATUS_EIO);
    char *deep = eco_path_join(dir, "a/b/c");
    ECO_ASSERT_OK(eco_mkdir_p(deep));
    ECO_ASSERT_OK(eco_mkdir_p(deep));
    assert_true(eco_path_is_dir(deep));
    ECO_ASSERT_STATUS(eco_mkdir_p(path), ECO_STATUS_EIO); /* a file is in the way */
    /* the wrong kind of path is named with what was expected */
    ECO_ASSERT_STATUS(eco_read_file(deep, 100, &data, &len), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "is a folder, expected a file"));
    ECO_ASSERT_OK(eco_path_require_dir(deep, "a thing"));
    ECO_ASSERT_STATUS(eco_path_require_dir(path, "a model folder"), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "f.txt: is a file, expected a model folder"));
    ECO_ASSERT_STATUS(eco_path_require_dir(missing, "a model folder"), ECO_STATUS_ENOTFOUND);
    assert_non_null(strstr(eco_last_error(), "nope: no such folder; expected a model folder"));
    assert_true(eco_path_has_file(dir, "f.txt"));
    assert_false(eco_path_has_file(dir, "a"));    /* a folder */
    assert_false(eco_path_has_file(dir, "nope")); /* missing */
    free(deep);
    free(bad);
    free(missing);
    free(path);
    eco_test_rmtree(dir);
    free(dir);
}

static void test_sha256(void **state) {
    (void)state;
    uint8_t d[ECO_SHA256_LEN];
    char hex[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_sha256("abc", 3, d));
    eco_hex(hex, d, sizeof d);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ECO_ASSERT_OK(eco_sha256("", 0, d));
    eco_hex(hex, d, sizeof d);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* streaming over a file of 1,000,000 'a' (the FIPS 180-2 long vector) */
    char *dir = eco_test_tmpdir();
    char *path = eco_path_join(dir, "a.bin");
    char *buf = malloc(1000000);
    memset(buf, 'a', 1000000);
    eco_test_write_file(path, buf, 1000000);
    ECO_ASSERT_OK(eco_sha256_file(path, d));
    eco_hex(hex, d, sizeof d);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    eco_sha256_ctx *c;
    ECO_ASSERT_OK(eco_sha256_begin(&c));
    for (int i = 0; i < 1000; i++) ECO_ASSERT_OK(eco_sha256_update(c, buf + i * 1000, 1000));
    uint8_t d2[ECO_SHA256_LEN];
    ECO_ASSERT_OK(eco_sha256_end(c, d2));
    assert_memory_equal(d, d2, sizeof d);
    free(buf);
    char *missing = eco_path_join(dir, "none");
    ECO_ASSERT_STATUS(eco_sha256_file(missing, d), ECO_STATUS_ENOTFOUND);
    free(missing);
    free(path);
    eco_test_rmtree(dir);
    free(dir);
}

static void test_canonical_json(void **state) {
    (void)state;
    const char *in =
        "{ \"b\": [1, 2, {\"z\": true, \"a\": null}], \"a\": \"h\\u00e9\" , \"c\": 1.5 }";
    char *out;
    size_t len;
    ECO_ASSERT_OK(eco_json_canonicalize(in, strlen(in), "in.json", &out, &len));
    assert_string_equal(out, "{\"a\":\"h\xc3\xa9\",\"b\":[1,2,{\"a\":null,\"z\":true}],\"c\":1.5}");
    assert_int_equal(len, strlen(out));
    /* the same value in another order gives the same bytes */
    const char *in2 = "{\"c\":1.5,\"a\":\"h\xc3\xa9\",\"b\":[1,2,{\"a\":null,\"z\":true}]}";
    char *out2;
    ECO_ASSERT_OK(eco_json_canonicalize(in2, strlen(in2), "in2.json", &out2, NULL));
    assert_string_equal(out, out2);
    free(out);
    free(out2);
    const char *dup = "{\"a\":1,\"a\":2}";
    ECO_ASSERT_STATUS(eco_json_canonicalize(dup, strlen(dup), "dup.json", &out, &len),
                      ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "dup.json"));
    const char *bad = "{\"a\":";
    ECO_ASSERT_STATUS(eco_json_canonicalize(bad, strlen(bad), "bad.json", &out, &len),
                      ECO_STATUS_EFORMAT);
}

static void test_rng(void **state) {
    (void)state;
    eco_rng r;
    eco_rng_seed(&r, 42);
    /* values from an independent Python transcription of splitmix64 + xoshiro256** */
    assert_true(eco_rng_next(&r) == 0x15780b2e0c2ec716ULL);
    assert_true(eco_rng_next(&r) == 0x6104d9866d113a7eULL);
    assert_true(eco_rng_next(&r) == 0xae17533239e499a1ULL);
    eco_rng a, b;
    eco_rng_seed(&a, 7);
    eco_rng_seed(&b, 7);
    double sum = 0, sq = 0;
    for (int i = 0; i < 100000; i++) {
        double u = eco_rng_uniform(&a);
        assert_true(u >= 0 && u < 1);
        assert_true(u == eco_rng_uniform(&b));
        double z = eco_rng_normal(&a);
        eco_rng_normal(&b);
        sum += z;
        sq += z * z;
    }
    assert_true(fabs(sum / 100000) < 0.02);
    assert_true(fabs(sq / 100000 - 1.0) < 0.02);
}

static void test_log_level(void **state) {
    (void)state;
    eco_log_level lv;
    ECO_ASSERT_OK(eco_log_level_parse("warn", &lv));
    assert_int_equal(lv, ECO_LOG_WARN);
    ECO_ASSERT_STATUS(eco_log_level_parse("loud", &lv), ECO_STATUS_EINVAL);
    eco_log_set_level(ECO_LOG_ERROR);
    assert_int_equal(eco_log_get_level(), ECO_LOG_ERROR);
    eco_log(ECO_LOG_INFO, "not shown %d", 1);
    /* ECOLOGY_LOG: a known level is set, an unknown one is an error naming the variable */
    setenv("ECOLOGY_LOG", "warn", 1);
    ECO_ASSERT_OK(eco_log_init_from_env());
    assert_int_equal(eco_log_get_level(), ECO_LOG_WARN);
    setenv("ECOLOGY_LOG", "loud", 1);
    ECO_ASSERT_STATUS(eco_log_init_from_env(), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "ECOLOGY_LOG: 'loud'"));
    assert_int_equal(eco_log_get_level(), ECO_LOG_INFO);
    unsetenv("ECOLOGY_LOG");
    ECO_ASSERT_OK(eco_log_init_from_env());
    eco_log_set_level(ECO_LOG_ERROR);
}

/* eco_zalloc_large: zeroed and writable to its last byte, 2 MiB-aligned from 2 MiB up;
 * sizes that are not a multiple of the huge page, small ones (calloc), and 0. */
static void test_zalloc_large(void **state) {
    (void)state;
    const size_t sizes[] = {0, 1, 4096, (size_t)2 << 20, ((size_t)5 << 20) + 3};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const size_t n = sizes[i];
        unsigned char *p = eco_zalloc_large(n);
        assert_non_null(p);
        if (n >= ((size_t)2 << 20)) assert_int_equal((uintptr_t)p % ((uintptr_t)2 << 20), 0);
        for (size_t j = 0; j < n; j += 4093) assert_int_equal(p[j], 0);
        if (n) {
            assert_int_equal(p[n - 1], 0);
            p[n - 1] = 2;
            p[0] = 1;
            assert_int_equal(p[0] + p[n - 1], n > 1 ? 3 : 2);
        }
        eco_free_large(p, n);
    }
    assert_null(eco_zalloc_large(SIZE_MAX - 100)); /* overflows the rounding */
    eco_free_large(NULL, 10);
}

/* eco_team_barrier_wait: in each round every thread writes its slot, crosses the barrier,
 * checks every other thread's slot for this round, and crosses again before the next
 * round's writes. A barrier that lets a thread through early (or without acquire/release)
 * shows up as a stale or early value. Run with 3 threads (more than this 2-CPU machine's
 * CPUs, so the yielding path runs too) and with busy-waiting. */
static void test_team_barrier(void **state) {
    (void)state;
    enum { T = 3, ROUNDS = 2000 };
    _Alignas(64) atomic_long arrived[T * ECO_BARRIER_STRIDE];
    long slots[T * 16];
    for (const long *spins = (const long[]){0, ECO_BARRIER_SPINS}, *end = spins + 2; spins < end;
         spins++) {
        for (int i = 0; i < T * ECO_BARRIER_STRIDE; i++) atomic_init(&arrived[i], 0);
        int bad = 0;
#pragma omp parallel num_threads(T) reduction(+ : bad)
        {
            const int id = omp_get_thread_num(), n = omp_get_num_threads();
            long crossed = 0;
            for (long r = 1; r <= ROUNDS; r++) {
                slots[id * 16] = r * 10 + id;
                eco_team_barrier_wait(arrived, id, n, &crossed, *spins);
                for (int t = 0; t < n; t++) bad += slots[t * 16] != r * 10 + t;
                eco_team_barrier_wait(arrived, id, n, &crossed, *spins);
            }
            bad += crossed != 2 * ROUNDS;
        }
        assert_int_equal(bad, 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zalloc_large),   cmocka_unit_test(test_team_barrier),
        cmocka_unit_test(test_status_strings), cmocka_unit_test(test_error_context),
        cmocka_unit_test(test_checked_sizes),  cmocka_unit_test(test_arena),
        cmocka_unit_test(test_atomic_write),   cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_canonical_json), cmocka_unit_test(test_rng),
        cmocka_unit_test(test_log_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
