/* Models by name: eco_registry_resolve (an id, an alias, neither), the rule that an alias
 * never shadows a model id (both ways), and eco_registry_checkout: a folder of the store's
 * verified objects (hard links), reused while valid, rebuilt when a file is missing, extra
 * or replaced, and refused with the file named when an object is damaged. */
#include "test_util.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ecology/registry.h"

#define TIME0 "2026-11-28T01:02:03Z"

static const char *const NAMES[2] = {"config.json", "sub/model.safetensors"};

/* The content of file i of model id. */
static int content(char *buf, size_t n, const char *id, int i) {
    return snprintf(buf, n, "%s of %s", NAMES[i], id);
}

/* Registers a base model id whose two files (one nested) are put into the store. */
static void reg(eco_registry *r, const char *id) {
    eco_genome g = {0};
    g.kind = ECO_GENOME_KIND_BASE;
    memset(g.compatibility.base_family, 'a', ECO_SHA256_HEX_LEN);
    memset(g.compatibility.architecture_hash, 'b', ECO_SHA256_HEX_LEN);
    memset(g.compatibility.tokenizer_hash, 'c', ECO_SHA256_HEX_LEN);
    memset(g.compatibility.tensor_schema_hash, 'd', ECO_SHA256_HEX_LEN);
    g.id = strdup(id);
    g.interface_version = strdup("text-generation@1");
    g.op_name = strdup("import");
    g.op_params = json_object();
    g.created_at = strdup(TIME0);
    g.tool_version = strdup("tiny-ecology 0.1.0");
    g.files.files = calloc(2, sizeof *g.files.files);
    assert_non_null(g.files.files);
    for (int i = 0; i < 2; i++) {
        char buf[128];
        int len = content(buf, sizeof buf, id, i);
        g.files.files[i].name = strdup(NAMES[i]);
        g.files.files[i].size = (uint64_t)len;
        g.files.n = (size_t)i + 1;
        ECO_ASSERT_OK(
            eco_store_put_bytes(eco_registry_store(r), buf, (size_t)len, g.files.files[i].sha256));
    }
    bool created = false;
    ECO_ASSERT_OK(eco_registry_register(r, &g, NULL, &created));
    assert_true(created);
    eco_genome_free(&g);
}

static eco_registry *open_reg(const char *dir, bool trust_cache) {
    eco_registry_options opt = {.data_dir = dir, .trust_cache = trust_cache};
    eco_registry *r = NULL;
    ECO_ASSERT_OK(eco_registry_open(&opt, &r));
    return r;
}

/* The text of dir/name (malloc'd), NULL when unreadable. */
static char *slurp(const char *dir, const char *name) {
    char *p = eco_path_join(dir, name);
    FILE *f = p ? fopen(p, "rb") : NULL;
    free(p);
    if (!f) return NULL;
    char *buf = calloc(1, 4096);
    if (buf && fread(buf, 1, 4095, f) == 0) buf[0] = 0;
    fclose(f);
    return buf;
}

static ino_t inode(const char *dir, const char *name) {
    char *p = eco_path_join(dir, name);
    struct stat sb;
    ino_t ino = p && stat(p, &sb) == 0 ? sb.st_ino : 0;
    free(p);
    return ino;
}

static void assert_checkout_of(const char *dir, const char *id) {
    for (int i = 0; i < 2; i++) {
        char want[128];
        content(want, sizeof want, id, i);
        char *got = slurp(dir, NAMES[i]);
        assert_non_null(got);
        assert_string_equal(got, want);
        free(got);
    }
}

static void test_resolve_and_shadowing(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    ECO_ASSERT_OK(eco_registry_init(dir));
    eco_registry *r = open_reg(dir, false);
    reg(r, "A");
    reg(r, "B");
    ECO_ASSERT_OK(eco_registry_alias_set(r, "champion", "A", NULL));
    ECO_ASSERT_OK(eco_registry_alias_set(r, "sentiment@champion", "B", NULL));
    char *id = NULL;
    ECO_ASSERT_OK(eco_registry_resolve(r, "A", &id));
    assert_string_equal(id, "A");
    free(id);
    ECO_ASSERT_OK(eco_registry_resolve(r, "champion", &id));
    assert_string_equal(id, "A");
    free(id);
    ECO_ASSERT_OK(eco_registry_resolve(r, "sentiment@champion", &id));
    assert_string_equal(id, "B");
    free(id);
    ECO_ASSERT_STATUS(eco_registry_resolve(r, "nobody", &id), ECO_STATUS_ENOTFOUND);
    assert_null(id);
    assert_non_null(strstr(eco_last_error(), "'nobody'"));
    ECO_ASSERT_STATUS(eco_registry_resolve(r, "../A", &id), ECO_STATUS_EINVAL);
    /* an alias may not take a model's id, and a model may not take an alias's name */
    ECO_ASSERT_STATUS(eco_registry_alias_set(r, "B", "A", "*"), ECO_STATUS_EEXIST);
    assert_non_null(strstr(eco_last_error(), "shadow"));
    char *cur = NULL;
    ECO_ASSERT_STATUS(eco_registry_alias_get(r, "B", &cur), ECO_STATUS_ENOTFOUND);
    eco_genome g = {0};
    ECO_ASSERT_OK(eco_registry_get(r, "A", &g, NULL));
    free(g.id);
    g.id = strdup("champion");
    bool created = true;
    ECO_ASSERT_STATUS(eco_registry_register(r, &g, NULL, &created), ECO_STATUS_EEXIST);
    assert_false(created);
    assert_non_null(strstr(eco_last_error(), "alias"));
    assert_false(eco_registry_exists(r, "champion"));
    eco_genome_free(&g);
    eco_registry_close(r);
    eco_test_rmtree(dir);
    free(dir);
}

static void test_checkout(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    ECO_ASSERT_OK(eco_registry_init(dir));
    eco_registry *r = open_reg(dir, true);
    reg(r, "A");
    reg(r, "B");
    ECO_ASSERT_OK(eco_registry_alias_set(r, "champion", "B", NULL));

    char *co = NULL;
    eco_genome g = {0};
    ECO_ASSERT_OK(eco_registry_checkout(r, "champion", &co, &g));
    assert_string_equal(g.id, "B");
    assert_non_null(strstr(co, "checkouts/B"));
    assert_checkout_of(co, "B");
    /* each file is the store's object itself, read-only */
    for (size_t i = 0; i < g.files.n; i++) {
        char *obj = eco_store_object_path(eco_registry_store(r), g.files.files[i].sha256);
        struct stat os, fs;
        char *p = eco_path_join(co, g.files.files[i].name);
        assert_int_equal(stat(obj, &os), 0);
        assert_int_equal(stat(p, &fs), 0);
        assert_true(os.st_ino == fs.st_ino);
        assert_int_equal(fs.st_mode & 0222, 0);
        free(obj);
        free(p);
    }
    eco_genome_free(&g);

    /* a second call reuses it (same folder, same files) */
    ino_t dir_ino = inode(co, ".");
    char *co2 = NULL;
    ECO_ASSERT_OK(eco_registry_checkout(r, "B", &co2, NULL));
    assert_string_equal(co, co2);
    assert_true(inode(co, ".") == dir_ino);
    free(co2);

    /* an extra file or a missing file: rebuilt */
    char *extra = eco_path_join(co, "stray.txt");
    eco_test_write_file(extra, "x", 1);
    ECO_ASSERT_OK(eco_registry_checkout(r, "B", &co2, NULL));
    assert_int_equal(access(extra, F_OK), -1);
    assert_checkout_of(co2, "B");
    free(co2);
    char *cfg = eco_path_join(co, NAMES[0]);
    assert_int_equal(unlink(cfg), 0);
    ECO_ASSERT_OK(eco_registry_checkout(r, "B", &co2, NULL));
    assert_checkout_of(co2, "B");
    free(co2);
    /* a file replaced by other bytes of the same size (a copy, not the object): rebuilt */
    assert_int_equal(unlink(cfg), 0);
    char other[128];
    int len = content(other, sizeof other, "B", 0);
    memset(other, 'z', (size_t)len);
    eco_test_write_file(cfg, other, (size_t)len);
    ECO_ASSERT_OK(eco_registry_checkout(r, "B", &co2, NULL));
    assert_checkout_of(co2, "B");
    free(co2);

    /* a damaged object: refused, naming the model and the file */
    eco_genome ga = {0};
    ECO_ASSERT_OK(eco_registry_get(r, "A", &ga, NULL));
    char *obj = eco_store_object_path(eco_registry_store(r), ga.files.files[1].sha256);
    assert_int_equal(chmod(obj, 0644), 0);
    char bad[128];
    len = content(bad, sizeof bad, "A", 1);
    bad[0] ^= 1;
    sleep(1); /* a new mtime: the trust cache must not vouch for it (1 s: coarse clocks) */
    eco_test_write_file(obj, bad, (size_t)len);
    co2 = NULL;
    ECO_ASSERT_STATUS(eco_registry_checkout(r, "A", &co2, NULL), ECO_STATUS_EINTEGRITY);
    assert_null(co2);
    assert_non_null(strstr(eco_last_error(), "model 'A'"));
    assert_non_null(strstr(eco_last_error(), "sub/model.safetensors"));
    ECO_ASSERT_STATUS(eco_registry_checkout(r, "ghost", &co2, NULL), ECO_STATUS_ENOTFOUND);
    free(obj);
    free(extra);
    free(cfg);
    eco_genome_free(&ga);
    free(co);
    eco_registry_close(r);
    eco_test_rmtree(dir);
    free(dir);
}

/* Several processes checking out the same model at once (from none, then from an invalid
 * checkout with leftovers of a killed builder): every call succeeds with the model's files,
 * and no staging folder of this id is left.
 * No cmocka calls in the children: their exit status says what failed. */
static int checkout_child(const char *dir) {
    eco_registry_options opt = {.data_dir = dir, .trust_cache = true};
    eco_registry *r = NULL;
    if (eco_registry_open(&opt, &r)) return 10;
    int rc = 0;
    for (int i = 0; i < 5 && !rc; i++) {
        char *co = NULL;
        if (eco_registry_checkout(r, "champion", &co, NULL)) {
            fprintf(stderr, "child: %s\n", eco_last_error());
            rc = 11;
            break;
        }
        for (int f = 0; f < 2 && !rc; f++) {
            char want[128];
            content(want, sizeof want, "A", f);
            char *got = slurp(co, NAMES[f]);
            if (!got || strcmp(got, want) != 0) rc = 12;
            free(got);
        }
        free(co);
    }
    eco_registry_close(r);
    return rc;
}

static void test_checkout_concurrent(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    ECO_ASSERT_OK(eco_registry_init(dir));
    eco_registry *r = open_reg(dir, false);
    reg(r, "A");
    ECO_ASSERT_OK(eco_registry_alias_set(r, "champion", "A", NULL));
    eco_registry_close(r);
    for (int round = 0; round < 2; round++) {
        if (round == 1) { /* a stray file: the checkout is invalid, rebuilt once */
            char *extra = eco_path_join(dir, "checkouts/A/stray.txt");
            eco_test_write_file(extra, "x", 1);
            free(extra);
            /* and the leftovers of a builder killed midway (removed by the rebuild), beside
             * another id's staging folder whose name starts like them (kept) */
            static const char *const left[] = {"checkouts/.A.partial-999999",
                                               "checkouts/.A.old-999998",
                                               "checkouts/.A.partial-9.partial-1"};
            for (size_t i = 0; i < 3; i++) {
                char *p = eco_path_join(dir, left[i]);
                ECO_ASSERT_OK(eco_mkdir_p(p));
                free(p);
            }
        }
        enum { N = 4 };
        pid_t pids[N];
        for (int k = 0; k < N; k++) {
            pids[k] = fork();
            assert_true(pids[k] >= 0);
            if (pids[k] == 0) _exit(checkout_child(dir));
        }
        for (int k = 0; k < N; k++) {
            int status = 0;
            assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
            assert_true(WIFEXITED(status));
            assert_int_equal(WEXITSTATUS(status), 0);
        }
    }
    /* nothing left behind but the checkout itself */
    char *parent = eco_path_join(dir, "checkouts");
    DIR *d = opendir(parent);
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, ".A.lock")) {
            if (strcmp(de->d_name, "A") != 0)
                assert_string_equal(de->d_name, ".A.partial-9.partial-1");
            n++;
        }
    closedir(d);
    assert_int_equal(n, 2);
    free(parent);
    eco_test_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_and_shadowing),
        cmocka_unit_test(test_checkout),
        cmocka_unit_test(test_checkout_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
