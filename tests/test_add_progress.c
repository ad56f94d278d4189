/* The progress line of `add`: hashing a folder (eco_manifest_from_dir_progress) and copying
 * a file into the store (eco_store_put_file_progress) advance a progress line by exactly the
 * megabytes they read, and eco_registry_add_dir with progress asked for prints that line
 * (one summary line when stderr is not a terminal) for a folder at or above the threshold,
 * and nothing below it. */
#include "test_util.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ecology/artifacts.h"
#include "ecology/registry.h"

/* A folder with a 3 MB file and a nested 1.5 MB one; *bytes receives their total. */
static char *make_folder(uint64_t *bytes) {
    char *dir = eco_test_tmpdir();
    size_t big = 3u << 20, small = 3u << 19;
    unsigned char *buf = malloc(big);
    assert_non_null(buf);
    for (size_t i = 0; i < big; i++) buf[i] = (unsigned char)(i * 31u);
    char *a = eco_path_join(dir, "a.bin");
    char *sub = eco_path_join(dir, "sub");
    ECO_ASSERT_OK(eco_mkdir_p(sub));
    char *b = eco_path_join(sub, "b.bin");
    eco_test_write_file(a, buf, big);
    eco_test_write_file(b, buf, small);
    *bytes = big + small;
    free(a);
    free(b);
    free(sub);
    free(buf);
    return dir;
}

static void test_manifest_and_put_progress(void **state) {
    (void)state;
    uint64_t bytes = 0;
    char *dir = make_folder(&bytes);
    eco_progress p;
    eco_progress_begin(&p, "test", 2.0 * (double)bytes / 1e6, "MB");
    p.quiet = true; /* no line in the test's output */
    eco_manifest m = {0};
    ECO_ASSERT_OK(eco_manifest_from_dir_progress(dir, NULL, &p, &m));
    assert_int_equal(m.n, 2);
    assert_true(fabs(p.done - (double)bytes / 1e6) < 1e-9);
    char *data = eco_test_tmpdir();
    eco_store *s = NULL;
    ECO_ASSERT_OK(eco_store_open(data, &s));
    char *a = eco_path_join(dir, "a.bin");
    char hex[ECO_SHA256_HEX_LEN + 1];
    uint64_t size = 0;
    double before = p.done;
    ECO_ASSERT_OK(eco_store_put_file_progress(s, a, hex, &size, &p));
    assert_true(fabs(p.done - before - (double)size / 1e6) < 1e-9);
    assert_string_equal(hex, eco_manifest_find(&m, "a.bin")->sha256);
    /* NULL progress: the plain calls */
    eco_manifest m2 = {0};
    ECO_ASSERT_OK(eco_manifest_from_dir_progress(dir, NULL, NULL, &m2));
    assert_int_equal(m2.n, 2);
    eco_manifest_free(&m2);
    eco_manifest_free(&m);
    eco_store_close(s);
    free(a);
    eco_test_rmtree(data);
    eco_test_rmtree(dir);
    free(data);
    free(dir);
}

/* Runs add_dir of the shipped model with stderr sent to a file; returns what it printed
 * there (malloc'd). */
static char *add_capturing_stderr(const char *data, const char *id, uint64_t min_bytes) {
    eco_registry_options ro = {.data_dir = data};
    eco_registry *r = NULL;
    ECO_ASSERT_OK(eco_registry_open(&ro, &r));
    char *model = eco_test_source_path("data/models/eco-tiny");
    char *log = eco_path_join(data, "stderr.txt");
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
    eco_add_options o = {.id = id, .progress = true, .progress_min_bytes = min_bytes};
    eco_status st = eco_registry_add_dir(r, model, &o, NULL);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    ECO_ASSERT_OK(st);
    char *text = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_read_file(log, 1 << 20, &text, &len));
    char *out = calloc(1, len + 1);
    assert_non_null(out);
    memcpy(out, text, len);
    free(text);
    unlink(log);
    free(log);
    free(model);
    eco_registry_close(r);
    return out;
}

static void test_add_progress_line(void **state) {
    (void)state;
    char *data = eco_test_tmpdir();
    ECO_ASSERT_OK(eco_registry_init(data));
    /* eco-tiny is about 11 MB: under the default threshold, no line */
    char *quiet = add_capturing_stderr(data, "small", 0);
    assert_null(strstr(quiet, "add: "));
    free(quiet);
    /* with a 1 MB threshold: the summary line (stderr is a file, not a terminal); the
     * objects are stored already, so only the hashing counts */
    char *line = add_capturing_stderr(data, "again", 1u << 20);
    assert_non_null(strstr(line, "add: "));
    assert_non_null(strstr(line, " MB in "));
    free(line);
    eco_test_rmtree(data);
    free(data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_and_put_progress),
        cmocka_unit_test(test_add_progress_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
