/*
 * Output folders (eco_output_*, core.h): what may be written where (inputs compared by
 * inode and real path, non-empty folders refused without FORCE, the working folder
 * ignored), and the temporary sibling put in place at commit with the working folder
 * carried over, nothing left beside it, and the old folder untouched until then.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

#include "ecology/core.h"

static char *J(const char *a, const char *b) {
    char *p = eco_path_join(a, b);
    assert_non_null(p);
    return p;
}

static void put(const char *dir, const char *name, const char *text) {
    char *p = J(dir, name);
    eco_test_write_file(p, text, strlen(text));
    free(p);
}

static bool has(const char *dir, const char *name) {
    char *p = J(dir, name);
    struct stat sb;
    bool ok = stat(p, &sb) == 0;
    free(p);
    return ok;
}

static size_t entries(const char *dir) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_check(void **state) {
    (void)state;
    char *root = eco_test_tmpdir();
    char *out = J(root, "out"), *model = J(root, "model"), *sub = J(out, "sub"),
         *work = J(out, ECO_WORK_DIR);
    char *init = J(work, "init");
    const char *none[1] = {NULL};
    ECO_ASSERT_OK(eco_output_check(out, none, 0, ECO_WORK_DIR, 0)); /* missing: fine */
    ECO_ASSERT_OK(eco_mkdir_p(out));
    ECO_ASSERT_OK(eco_output_check(out, none, 0, ECO_WORK_DIR, 0)); /* empty: fine */
    ECO_ASSERT_OK(eco_mkdir_p(init));
    ECO_ASSERT_OK(eco_output_check(out, none, 0, ECO_WORK_DIR, 0)); /* only the working folder */
    ECO_ASSERT_STATUS(eco_output_check(out, none, 0, NULL, 0), ECO_STATUS_EEXIST);
    put(out, "config.json", "{}");
    ECO_ASSERT_STATUS(eco_output_check(out, none, 0, ECO_WORK_DIR, 0), ECO_STATUS_EEXIST);
    assert_non_null(strstr(eco_last_error(), "config.json"));
    assert_non_null(strstr(eco_last_error(), "--force"));
    ECO_ASSERT_OK(eco_output_check(out, none, 0, ECO_WORK_DIR, ECO_OUTPUT_FORCE));
    /* the output is an input: refused even with FORCE, whatever the spelling */
    ECO_ASSERT_OK(eco_mkdir_p(model));
    char *odd = malloc(strlen(root) + 32), *link = J(root, "link");
    sprintf(odd, "%s/./model/", root);
    assert_int_equal(symlink(model, link), 0);
    const char *in1[] = {odd};
    ECO_ASSERT_STATUS(eco_output_check(model, in1, 1, ECO_WORK_DIR, ECO_OUTPUT_FORCE),
                      ECO_STATUS_EINVAL);
    const char *in2[] = {model};
    ECO_ASSERT_STATUS(eco_output_check(link, in2, 1, ECO_WORK_DIR, ECO_OUTPUT_FORCE),
                      ECO_STATUS_EINVAL);
    /* ... or a folder holding one, except under the working folder */
    ECO_ASSERT_OK(eco_mkdir_p(sub));
    const char *in3[] = {NULL, sub};
    ECO_ASSERT_STATUS(eco_output_check(out, in3, 2, ECO_WORK_DIR, ECO_OUTPUT_FORCE),
                      ECO_STATUS_EINVAL);
    const char *in4[] = {init, model};
    ECO_ASSERT_OK(eco_output_check(out, in4, 2, ECO_WORK_DIR, ECO_OUTPUT_FORCE));
    /* a file where a folder is wanted */
    char *file = J(root, "file");
    eco_test_write_file(file, "x", 1);
    ECO_ASSERT_STATUS(eco_output_check(file, none, 0, NULL, ECO_OUTPUT_FORCE), ECO_STATUS_EEXIST);
    eco_test_rmtree(root);
    free(root), free(out), free(model), free(sub), free(work), free(init), free(odd), free(link),
        free(file);
}

static void test_commit(void **state) {
    (void)state;
    char *root = eco_test_tmpdir();
    char *out = J(root, "deep/out"), *work = J(out, ECO_WORK_DIR);
    const char *none[1] = {NULL};
    /* a new folder: nothing under the final name until the commit, nothing beside it after */
    eco_output_dir o;
    ECO_ASSERT_OK(eco_output_begin(&o, out, none, 0, ECO_WORK_DIR, 0));
    put(o.tmp, "model.safetensors", "new");
    assert_false(eco_path_is_dir(out));
    ECO_ASSERT_OK(eco_output_commit(&o));
    assert_true(has(out, "model.safetensors"));
    char *deep = J(root, "deep");
    assert_int_equal(entries(deep), 1);
    /* replacing it: refused without FORCE, the working folder carried over with it */
    ECO_ASSERT_OK(eco_mkdir_p(work));
    put(work, "checkpoint.json", "{}");
    ECO_ASSERT_STATUS(eco_output_begin(&o, out, none, 0, ECO_WORK_DIR, 0), ECO_STATUS_EEXIST);
    assert_int_equal(entries(deep), 1);
    ECO_ASSERT_OK(eco_output_begin(&o, out, none, 0, ECO_WORK_DIR, ECO_OUTPUT_FORCE));
    put(o.tmp, "adapter_model.safetensors", "newer");
    assert_true(has(out, "model.safetensors")); /* the old folder stays whole until the commit */
    ECO_ASSERT_OK(eco_output_commit(&o));
    assert_false(has(out, "model.safetensors"));
    assert_true(has(out, "adapter_model.safetensors"));
    assert_true(has(work, "checkpoint.json"));
    assert_int_equal(entries(out), 2);
    assert_int_equal(entries(deep), 1);
    /* abort: the temporary folder goes, the output stays */
    ECO_ASSERT_OK(eco_output_begin(&o, out, none, 0, ECO_WORK_DIR, ECO_OUTPUT_FORCE));
    put(o.tmp, "config.json", "{}");
    eco_output_abort(&o);
    eco_output_abort(&o);
    assert_int_equal(entries(deep), 1);
    assert_true(has(out, "adapter_model.safetensors"));
    /* an empty folder given by the user is filled in place */
    char *empty = J(root, "empty");
    ECO_ASSERT_OK(eco_mkdir_p(empty));
    ECO_ASSERT_OK(eco_output_begin(&o, empty, none, 0, NULL, 0));
    put(o.tmp, "config.json", "{}");
    ECO_ASSERT_OK(eco_output_commit(&o));
    assert_true(has(empty, "config.json"));
    assert_int_equal(entries(root), 2);
    eco_test_rmtree(root);
    free(root), free(out), free(work), free(deep), free(empty);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_check), cmocka_unit_test(test_commit)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
