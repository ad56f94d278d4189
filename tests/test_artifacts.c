/* artifacts: data folder resolution, the content-addressed store (put, dedup, read-only
 * objects, verify, trust cache, copy out, temp clean-up, concurrent puts) and manifests
 * (folder walk, root digest, JSON codec with a malformed-input table). */
#include "test_util.h"

#include "ecology/artifacts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define HEX_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* ---- helpers --------------------------------------------------------------------------- */

static char *join(const char *a, const char *b) {
    char *p = eco_path_join(a, b);
    assert_non_null(p);
    return p;
}

static void sha_hex(const void *data, size_t len, char hex[ECO_SHA256_HEX_LEN + 1]) {
    uint8_t d[ECO_SHA256_LEN];
    ECO_ASSERT_OK(eco_sha256(data, len, d));
    eco_hex(hex, d, sizeof d);
}

/* Regular files under dir, recursively. */
static int count_files(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *p = join(dir, de->d_name);
        struct stat sb;
        assert_int_equal(lstat(p, &sb), 0);
        if (S_ISDIR(sb.st_mode))
            n += count_files(p);
        else
            n++;
        free(p);
    }
    closedir(d);
    return n;
}

static int count_in(const char *data, const char *sub) {
    char *p = join(data, sub);
    int n = count_files(p);
    free(p);
    return n;
}

static void mkdir_ok(const char *base, const char *rel) {
    char *p = join(base, rel);
    ECO_ASSERT_OK(eco_mkdir_p(p));
    free(p);
}

static void write_rel(const char *base, const char *rel, const char *text) {
    char *p = join(base, rel);
    eco_test_write_file(p, text, strlen(text));
    free(p);
}

static void assert_error_contains(const char *want) {
    if (!strstr(eco_last_error(), want)) {
        print_error("error message '%s' does not contain '%s'\n", eco_last_error(), want);
        fail();
    }
}

/* Flips the byte at off of a (read-only) object, keeping its size, and restores its mtime
 * and atime so that only the content differs. */
static void tamper(const char *path, off_t off) {
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(chmod(path, 0644), 0);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x01;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    assert_int_equal(close(fd), 0);
    struct timespec ts[2] = {sb.st_atim, sb.st_mtim};
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    assert_int_equal(chmod(path, 0444), 0);
    struct stat after;
    assert_int_equal(stat(path, &after), 0);
    assert_true(after.st_mtim.tv_sec == sb.st_mtim.tv_sec &&
                after.st_mtim.tv_nsec == sb.st_mtim.tv_nsec);
    assert_int_equal(after.st_size, sb.st_size);
}

/* ---- data folder ----------------------------------------------------------------------- */

static void test_data_dir_resolve(void **state) {
    (void)state;
    char *old = getenv(ECO_DATA_DIR_ENV) ? eco_strdup(getenv(ECO_DATA_DIR_ENV)) : NULL;
    unsetenv(ECO_DATA_DIR_ENV);
    char *d = eco_data_dir_resolve(NULL);
    assert_string_equal(d, ECO_DATA_DIR_DEFAULT);
    free(d);
    assert_int_equal(setenv(ECO_DATA_DIR_ENV, "/srv/eco-env", 1), 0);
    d = eco_data_dir_resolve(NULL);
    assert_string_equal(d, "/srv/eco-env");
    free(d);
    d = eco_data_dir_resolve("/explicit/dir"); /* explicit beats the environment */
    assert_string_equal(d, "/explicit/dir");
    free(d);
    d = eco_data_dir_resolve(""); /* empty counts as not given */
    assert_string_equal(d, "/srv/eco-env");
    free(d);
    assert_int_equal(setenv(ECO_DATA_DIR_ENV, "", 1), 0);
    d = eco_data_dir_resolve(NULL);
    assert_string_equal(d, ECO_DATA_DIR_DEFAULT);
    free(d);
    if (old)
        setenv(ECO_DATA_DIR_ENV, old, 1);
    else
        unsetenv(ECO_DATA_DIR_ENV);
    free(old);
}

/* ---- store ----------------------------------------------------------------------------- */

static void test_store_put(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    char *data = join(dir, "data"); /* created by open */
    eco_store *s;
    ECO_ASSERT_OK(eco_store_open(data, &s));
    assert_string_equal(eco_store_data_dir(s), data);
    assert_true(eco_path_is_dir(data));

    const char text[] = "hello, store\n";
    char *src = join(dir, "src.txt");
    eco_test_write_file(src, text, strlen(text));
    char want[ECO_SHA256_HEX_LEN + 1], hex[ECO_SHA256_HEX_LEN + 1];
    sha_hex(text, strlen(text), want);
    uint64_t size = 0;
    assert_false(eco_store_has(s, want));
    ECO_ASSERT_OK(eco_store_put_file(s, src, hex, &size));
    assert_string_equal(hex, want);
    assert_int_equal(size, strlen(text));
    assert_true(eco_store_has(s, want));

    /* objects/sha256/<2>/<62>, read-only, same bytes */
    char *obj = eco_store_object_path(s, want);
    char expect_path[4096];
    snprintf(expect_path, sizeof expect_path, "%s/objects/sha256/%.2s/%s", data, want, want + 2);
    assert_string_equal(obj, expect_path);
    struct stat sb;
    assert_int_equal(stat(obj, &sb), 0);
    assert_int_equal(sb.st_mode & 07777, 0444);
    char *back;
    size_t len;
    ECO_ASSERT_OK(eco_read_file(obj, 1 << 20, &back, &len));
    assert_int_equal(len, strlen(text));
    assert_memory_equal(back, text, len);
    free(back);

    /* bytes: same content, same digest; the empty object too */
    ECO_ASSERT_OK(eco_store_put_bytes(s, text, strlen(text), hex));
    assert_string_equal(hex, want);
    ECO_ASSERT_OK(eco_store_put_bytes(s, "", 0, hex));
    assert_string_equal(hex, HEX_EMPTY);
    ECO_ASSERT_OK(eco_store_verify_object(s, HEX_EMPTY, 0, false));
    ECO_ASSERT_OK(eco_store_put_file(s, src, NULL, NULL)); /* outputs may be NULL */
    assert_int_equal(count_in(data, "objects"), 2);
    assert_int_equal(count_in(data, "tmp"), 0);

    /* errors */
    char *missing = join(dir, "missing");
    ECO_ASSERT_STATUS(eco_store_put_file(s, missing, hex, NULL), ECO_STATUS_ENOTFOUND);
    ECO_ASSERT_STATUS(eco_store_put_file(s, dir, hex, NULL), ECO_STATUS_EINVAL); /* a folder */
    assert_null(eco_store_object_path(s, "../../etc/passwd"));
    assert_null(eco_store_object_path(
        s, "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
    assert_false(eco_store_has(s, "xyz"));
    assert_int_equal(count_in(data, "tmp"), 0);

    free(missing);
    free(obj);
    free(src);
    eco_store_close(s);
    eco_store_close(NULL);
    eco_test_rmtree(dir);
    free(data);
    free(dir);
}

static void test_store_dedup(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    eco_store *s;
    ECO_ASSERT_OK(eco_store_open(dir, &s));
    char *src = join(dir, "w.bin");
    size_t n = 3 * 1024 * 1024 + 17; /* several copy chunks */
    unsigned char *buf = malloc(n);
    assert_non_null(buf);
    for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)(i * 131 + (i >> 11));
    eco_test_write_file(src, buf, n);
    char h1[ECO_SHA256_HEX_LEN + 1], h2[ECO_SHA256_HEX_LEN + 1], want[ECO_SHA256_HEX_LEN + 1];
    sha_hex(buf, n, want);
    ECO_ASSERT_OK(eco_store_put_file(s, src, h1, NULL));
    assert_string_equal(h1, want);
    char *obj = eco_store_object_path(s, h1);
    struct stat a, b;
    assert_int_equal(stat(obj, &a), 0);
    usleep(20000); /* a rewrite would show a later mtime */

    /* second put of the same bytes writes nothing: same inode, same mtime, one object */
    ECO_ASSERT_OK(eco_store_put_file(s, src, h2, NULL));
    assert_string_equal(h1, h2);
    ECO_ASSERT_OK(eco_store_put_bytes(s, buf, n, h2));
    assert_string_equal(h1, h2);
    assert_int_equal(stat(obj, &b), 0);
    assert_true(a.st_ino == b.st_ino);
    assert_true(a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec);
    assert_int_equal(count_in(dir, "objects"), 1);
    assert_int_equal(count_in(dir, "tmp"), 0);

    /* a damaged object of the wrong size is replaced by the next put */
    assert_int_equal(chmod(obj, 0644), 0);
    assert_int_equal(truncate(obj, 10), 0);
    ECO_ASSERT_STATUS(eco_store_verify_object(s, h1, n, false), ECO_STATUS_EINTEGRITY);
    ECO_ASSERT_OK(eco_store_put_file(s, src, h2, NULL));
    ECO_ASSERT_OK(eco_store_verify_object(s, h1, n, false));
    assert_int_equal(count_in(dir, "objects"), 1);

    free(obj);
    free(buf);
    free(src);
    eco_store_close(s);
    eco_test_rmtree(dir);
    free(dir);
}

/* Issue 17 bug 3: a same-size object with a flipped byte (mtime kept) is re-hashed by the
 * next put of its content and replaced, not reused; the repair is reported once. */
static void test_store_repairs_same_size(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    eco_store *s;
    ECO_ASSERT_OK(eco_store_open(dir, &s));
    const char text[] = "content that will be damaged in the store";
    char *src = join(dir, "c.txt");
    eco_test_write_file(src, text, strlen(text));
    char hex[ECO_SHA256_HEX_LEN + 1], got[ECO_SHA256_HEX_LEN + 1], popped[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_store_put_file(s, src, hex, NULL));
    assert_false(eco_store_pop_repaired(s, popped)); /* a first put repairs nothing */
    char *obj = eco_store_object_path(s, hex);

    /* put_file over the damaged object */
    tamper(obj, 3);
    ECO_ASSERT_STATUS(eco_store_verify_object(s, hex, strlen(text), false), ECO_STATUS_EINTEGRITY);
    ECO_ASSERT_OK(eco_store_put_file(s, src, got, NULL));
    assert_string_equal(got, hex);
    ECO_ASSERT_OK(eco_store_verify_object(s, hex, strlen(text), false));
    assert_true(eco_store_pop_repaired(s, popped));
    assert_string_equal(popped, hex);
    assert_false(eco_store_pop_repaired(s, popped));
    struct stat sb;
    assert_int_equal(stat(obj, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0444); /* replaced read-only, as every object */
    assert_int_equal(count_in(dir, "tmp"), 0);

    /* put_bytes likewise */
    tamper(obj, 5);
    ECO_ASSERT_OK(eco_store_put_bytes(s, text, strlen(text), got));
    ECO_ASSERT_OK(eco_store_verify_object(s, hex, strlen(text), false));
    assert_true(eco_store_pop_repaired(s, popped));
    assert_string_equal(popped, hex);

    /* an intact object is neither rewritten nor reported */
    ECO_ASSERT_OK(eco_store_put_file(s, src, got, NULL));
    assert_false(eco_store_pop_repaired(s, popped));
    assert_int_equal(count_in(dir, "objects"), 1);

    free(obj);
    free(src);
    eco_store_close(s);
    eco_test_rmtree(dir);
    free(dir);
}

/* Issue 17 bug 4: a read-only store creates nothing, appends no trust-cache line and refuses
 * puts, saying why. */
static void test_store_read_only(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    eco_store *s;
    const char text[] = "read me";
    char hex[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_store_open(dir, &s));
    ECO_ASSERT_OK(eco_store_put_bytes(s, text, strlen(text), hex));
    eco_store_close(s);
    char *verified = join(dir, "verified"), *tmpd = join(dir, "tmp");
    assert_int_equal(rmdir(tmpd), 0);

    ECO_ASSERT_OK(eco_store_open_readonly(dir, &s));
    ECO_ASSERT_OK(eco_store_verify_object(s, hex, strlen(text), false));
    struct stat sb;
    assert_int_equal(stat(verified, &sb), -1); /* no cache line written */
    assert_int_equal(stat(tmpd, &sb), -1);     /* no folder made */
    char got[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_STATUS(eco_store_put_bytes(s, "new", 3, got), ECO_STATUS_EIO);
    assert_error_contains("read-only");
    eco_store_close(s);
    char *missing = join(dir, "nope");
    ECO_ASSERT_STATUS(eco_store_open_readonly(missing, &s), ECO_STATUS_ENOTFOUND);

    free(missing);
    free(verified);
    free(tmpd);
    eco_test_rmtree(dir);
    free(dir);
}

static void test_store_verify(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    eco_store *s;
    ECO_ASSERT_OK(eco_store_open(dir, &s));
    const char text[] = "the quick brown fox jumps over the lazy dog";
    char hex[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_store_put_bytes(s, text, strlen(text), hex));
    ECO_ASSERT_OK(eco_store_verify_object(s, hex, strlen(text), false));
    ECO_ASSERT_OK(eco_store_verify_object(s, hex, strlen(text), true));

    /* absent, bad names */
    char other[ECO_SHA256_HEX_LEN + 1];
    sha_hex("absent", 6, other);
    ECO_ASSERT_STATUS(eco_store_verify_object(s, other, 6, false), ECO_STATUS_ENOTFOUND);
    assert_error_contains(other);
    ECO_ASSERT_STATUS(eco_store_verify_object(s, "../verified", 0, false), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_store_verify_object(s, NULL, 0, false), ECO_STATUS_EINVAL);

    /* size mismatch (said as such, naming the object) */
    ECO_ASSERT_STATUS(eco_store_verify_object(s, hex, strlen(text) + 1, true),
                      ECO_STATUS_EINTEGRITY);
    assert_error_contains(hex);
    assert_error_contains("size mismatch");

    /* a flipped byte, same size and mtime, without the trust cache */
    char *obj = eco_store_object_path(s, hex);
    tamper(obj, 7);
    ECO_ASSERT_STATUS(eco_store_verify_object(s, hex, strlen(text), false), ECO_STATUS_EINTEGRITY);
    assert_error_contains(hex);
    assert_error_contains("hash mismatch");

    free(obj);
    eco_store_close(s);
    eco_test_rmtree(dir);
    free(dir);
}

static int count_lines_with(const char *path, const char *needle) {
    char *text;
    size_t len;
    if (eco_read_file(path, 1 << 20, &text, &len) != ECO_STATUS_OK) return 0;
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++) n++;
    free(text);
    return n;
}

static void test_store_trust_cache(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    eco_store *s;
    ECO_ASSERT_OK(eco_store_open(dir, &s));
    char *verified = join(dir, "verified");
    const char text[] = "weights weights weights";
    size_t n = strlen(text);
    char hex[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_store_put_bytes(s, text, n, hex));
    char *obj = eco_store_object_path(s, hex);
    struct stat sb;
    assert_int_equal(stat(obj, &sb), 0);
    char line[256];
    snprintf(line, sizeof line, "%s %zu %lld\n", hex, n,
             (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec);

    /* Garbage in the cache is ignored, and so is a matching line cut short (no newline):
     * the tampered object is still caught with trust_cache on. */
    FILE *f = fopen(verified, "w");
    assert_non_null(f);
    fprintf(f, "garbage\n\n%s\n%.64s 12x 5\n%.64s -1 5\n%.64s %zu\n%.63s %zu 0\n", hex, hex, hex,
            hex, n, hex, n);
    fprintf(f, "%.64s 99999999999999999999999 1\n", hex);
    for (int i = 0; i < 300; i++) fputc('z', f); /* an over-long line */
    fputc('\n', f);
    fwrite(line, 1, strlen(line) - 1, f); /* the right line without its newline */
    fclose(f);
    tamper(obj, 0);
    ECO_ASSERT_STATUS(eco_store_verify_object(s, hex, n, true), ECO_STATUS_EINTEGRITY);
    tamper(obj, 0); /* back to the original bytes, mtime as before */

    /* A full check that passes appends the line on a line of its own (ending the cut one
     * first, which then reads as a second copy of the line), and only once: later checks
     * find it. */
    ECO_ASSERT_OK(eco_store_verify_object(s, hex, n, false));
    assert_int_equal(count_lines_with(verified, line), 2);
    ECO_ASSERT_OK(eco_store_verify_object(s, hex, n, false));
    ECO_ASSERT_OK(eco_store_verify_object(s, hex, n, true));
    assert_int_equal(count_lines_with(verified, line), 2);

    /* The fast path, documented: a change that keeps size and mtime is accepted with the
     * trust cache, and caught without it. */
    tamper(obj, 3);
    ECO_ASSERT_OK(eco_store_verify_object(s, hex, n, true));
    ECO_ASSERT_STATUS(eco_store_verify_object(s, hex, n, false), ECO_STATUS_EINTEGRITY);
    assert_error_contains(hex);

    /* Any other mtime misses the cache. */
    struct timespec ts[2] = {{0, UTIME_OMIT}, {sb.st_mtim.tv_sec + 1, sb.st_mtim.tv_nsec}};
    assert_int_equal(utimensat(AT_FDCWD, obj, ts, 0), 0);
    ECO_ASSERT_STATUS(eco_store_verify_object(s, hex, n, true), ECO_STATUS_EINTEGRITY);

    free(obj);
    free(verified);
    eco_store_close(s);
    eco_test_rmtree(dir);
    free(dir);
}

static void test_store_copy_out(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    eco_store *s;
    ECO_ASSERT_OK(eco_store_open(dir, &s));
    const char text[] = "{\"model\": \"tiny\"}\n";
    char hex[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_store_put_bytes(s, text, strlen(text), hex));
    char *dst = join(dir, "out.json");
    ECO_ASSERT_OK(eco_store_copy_out(s, hex, dst));
    char *back;
    size_t len;
    ECO_ASSERT_OK(eco_read_file(dst, 1 << 20, &back, &len));
    assert_int_equal(len, strlen(text));
    assert_memory_equal(back, text, len);
    free(back);
    struct stat sb;
    assert_int_equal(stat(dst, &sb), 0);
    assert_true(sb.st_mode & S_IWUSR); /* the copy is the caller's, writable */

    char absent[ECO_SHA256_HEX_LEN + 1];
    sha_hex("nope", 4, absent);
    char *dst2 = join(dir, "out2");
    ECO_ASSERT_STATUS(eco_store_copy_out(s, absent, dst2), ECO_STATUS_ENOTFOUND);
    ECO_ASSERT_STATUS(eco_store_copy_out(s, "../../x", dst2), ECO_STATUS_EINVAL);
    /* a damaged object never reaches the destination */
    char *obj = eco_store_object_path(s, hex);
    tamper(obj, 2);
    ECO_ASSERT_STATUS(eco_store_copy_out(s, hex, dst2), ECO_STATUS_EINTEGRITY);
    assert_error_contains(hex);
    assert_int_equal(access(dst2, F_OK), -1);
    assert_int_equal(count_files(dir) - count_in(dir, "objects"), 1); /* out.json; no temp left */

    free(obj);
    free(dst2);
    free(dst);
    eco_store_close(s);
    eco_test_rmtree(dir);
    free(dir);
}

/* A pid that certainly belonged to a process that is gone. */
static pid_t dead_pid(void) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(0);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    return pid;
}

static void test_store_stale_tmp(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    mkdir_ok(dir, "tmp");
    pid_t dead = dead_pid();
    char name[128];
    snprintf(name, sizeof name, "tmp/put.%ld.Ab12Cd", (long)dead);
    write_rel(dir, name, "half an object");
    snprintf(name, sizeof name, "tmp/put.%ld.XyZ789", (long)getpid());
    write_rel(dir, name, "a live writer's object"); /* this process is alive */
    snprintf(name, sizeof name, "tmp/put.%ld", (long)dead);
    write_rel(dir, name, "not a temp name"); /* no suffix: not ours */
    write_rel(dir, "tmp/notes.txt", "someone else's");
    write_rel(dir, "tmp/put.x12.abc", "not a pid");

    eco_store *s;
    ECO_ASSERT_OK(eco_store_open(dir, &s));
    snprintf(name, sizeof name, "%s/tmp/put.%ld.Ab12Cd", dir, (long)dead);
    assert_int_equal(access(name, F_OK), -1);
    snprintf(name, sizeof name, "%s/tmp/put.%ld.XyZ789", dir, (long)getpid());
    assert_int_equal(access(name, F_OK), 0);
    assert_int_equal(count_in(dir, "tmp"), 4);
    eco_store_close(s);
    eco_test_rmtree(dir);
    free(dir);
}

/* Two processes put the same 24 MiB at once (released together through a pipe), three
 * times over: both succeed every time and exactly one object results. */
static void test_store_concurrent_put(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    size_t n = 24u << 20;
    unsigned char *buf = malloc(n);
    assert_non_null(buf);
    for (int round = 0; round < 3; round++) {
        eco_rng r;
        eco_rng_seed(&r, (uint64_t)round + 1);
        for (size_t i = 0; i < n; i += 8) {
            uint64_t v = eco_rng_next(&r);
            memcpy(buf + i, &v, 8);
        }
        char name[32];
        snprintf(name, sizeof name, "src%d.bin", round);
        char *src = join(dir, name);
        eco_test_write_file(src, buf, n);
        char want[ECO_SHA256_HEX_LEN + 1];
        sha_hex(buf, n, want);
        int go[2];
        assert_int_equal(pipe(go), 0);
        pid_t kids[2];
        for (int k = 0; k < 2; k++) {
            kids[k] = fork();
            assert_true(kids[k] >= 0);
            if (kids[k] == 0) {
                /* child: no cmocka asserts here, only an exit code */
                close(go[1]);
                char c;
                while (read(go[0], &c, 1) < 0 && errno == EINTR) {
                }
                eco_store *cs;
                char hex[ECO_SHA256_HEX_LEN + 1];
                uint64_t size = 0;
                if (eco_store_open(dir, &cs) != ECO_STATUS_OK) _exit(2);
                eco_status st = eco_store_put_file(cs, src, hex, &size);
                if (st != ECO_STATUS_OK) {
                    fprintf(stderr, "child %d: %s: %s\n", k, eco_status_str(st), eco_last_error());
                    _exit(3);
                }
                if (strcmp(hex, want) != 0 || size != n) _exit(4);
                eco_store_close(cs);
                _exit(0);
            }
        }
        close(go[0]);
        close(go[1]); /* EOF releases both children */
        for (int k = 0; k < 2; k++) {
            int status;
            assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
            assert_true(WIFEXITED(status));
            assert_int_equal(WEXITSTATUS(status), 0);
        }
        assert_int_equal(count_in(dir, "objects"), round + 1);
        assert_int_equal(count_in(dir, "tmp"), 0);
        eco_store *s;
        ECO_ASSERT_OK(eco_store_open(dir, &s));
        ECO_ASSERT_OK(eco_store_verify_object(s, want, n, false));
        eco_store_close(s);
        free(src);
    }
    free(buf);
    eco_test_rmtree(dir);
    free(dir);
}

/* ---- manifest -------------------------------------------------------------------------- */

static void test_manifest_name_ok(void **state) {
    (void)state;
    const char *good[] = {"a",   "model.safetensors", "a/b/c.bin", "a.b/..c",
                          "...", ".hidden",           "dé/ü.json", "a/.b"};
    const char *bad[] = {"",  "/abs", "../x",  "a/../b", "a/..", "..",
                         ".", "./a",  "a/./b", "a//b",   "a/",   "/"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        if (!eco_manifest_name_ok(good[i])) print_error("'%s' refused\n", good[i]);
        assert_true(eco_manifest_name_ok(good[i]));
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (eco_manifest_name_ok(bad[i])) print_error("'%s' accepted\n", bad[i]);
        assert_false(eco_manifest_name_ok(bad[i]));
    }
    assert_false(eco_manifest_name_ok(NULL));
    char longname[4098];
    memset(longname, 'a', sizeof longname);
    longname[4096] = '\0';
    assert_true(eco_manifest_name_ok(longname)); /* 4096 bytes: the limit */
    longname[4096] = 'a';
    longname[4097] = '\0';
    assert_false(eco_manifest_name_ok(longname));
}

static void test_manifest_from_dir(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    mkdir_ok(dir, "a/sub");
    mkdir_ok(dir, "empty");
    mkdir_ok(dir, "skipdir");
    /* content per name, in the strcmp order the manifest must have ('.' < '/') */
    const char *names[] = {"a.txt", "a/sub/y", "a/x.bin", "b.txt", "config.json"};
    const char *texts[] = {"A", "deep file\n", "", "bee\n", "{\"n\": 1}\n"};
    size_t nf = sizeof names / sizeof *names;
    for (size_t i = 0; i < nf; i++) write_rel(dir, names[i], texts[i]);
    write_rel(dir, "genome.json", "{}");
    write_rel(dir, "signature.json", "{}");
    write_rel(dir, "skipdir/inner", "x");
    write_rel(dir, "a/genome.json", "not skipped: the skip list matches whole relative names");
    const char *skip[] = {"genome.json", "signature.json", "skipdir", NULL};

    eco_manifest m;
    ECO_ASSERT_OK(eco_manifest_from_dir(dir, skip, &m));
    assert_int_equal(m.n, nf + 1);
    /* a/genome.json sorts between a.txt and a/sub/y */
    const char *order[] = {"a.txt", "a/genome.json", "a/sub/y", "a/x.bin", "b.txt", "config.json"};
    for (size_t i = 0; i < m.n; i++) assert_string_equal(m.files[i].name, order[i]);
    uint8_t cat[6 * ECO_SHA256_LEN];
    for (size_t i = 0; i < m.n; i++) {
        char *p = join(dir, m.files[i].name);
        char *text;
        size_t len;
        ECO_ASSERT_OK(eco_read_file(p, 1 << 20, &text, &len));
        char hex[ECO_SHA256_HEX_LEN + 1];
        sha_hex(text, len, hex);
        assert_string_equal(m.files[i].sha256, hex);
        assert_int_equal(m.files[i].size, len);
        ECO_ASSERT_OK(eco_sha256(text, len, cat + i * ECO_SHA256_LEN));
        free(text);
        free(p);
    }
    /* root: SHA-256 over the concatenated raw digests in name order */
    uint8_t rd[ECO_SHA256_LEN];
    char want_root[ECO_SHA256_HEX_LEN + 1], root[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_sha256(cat, sizeof cat, rd));
    eco_hex(want_root, rd, sizeof rd);
    ECO_ASSERT_OK(eco_manifest_root(&m, root));
    assert_string_equal(root, want_root);

    /* find, copy */
    const eco_file_entry *e = eco_manifest_find(&m, "a/sub/y");
    assert_non_null(e);
    assert_int_equal(e->size, strlen("deep file\n"));
    assert_null(eco_manifest_find(&m, "genome.json"));
    assert_null(eco_manifest_find(&m, "a/sub"));
    eco_manifest c;
    ECO_ASSERT_OK(eco_manifest_copy(&c, &m));
    assert_int_equal(c.n, m.n);
    for (size_t i = 0; i < m.n; i++) {
        assert_ptr_not_equal(c.files[i].name, m.files[i].name);
        assert_string_equal(c.files[i].name, m.files[i].name);
        assert_string_equal(c.files[i].sha256, m.files[i].sha256);
        assert_int_equal(c.files[i].size, m.files[i].size);
    }
    eco_manifest_free(&c);
    assert_int_equal(c.n, 0);
    assert_null(c.files);

    /* JSON round trip, canonical text */
    json_t *j;
    ECO_ASSERT_OK(eco_manifest_to_json(&m, &j));
    char *text;
    size_t len;
    ECO_ASSERT_OK(eco_json_canonical(j, &text, &len));
    char expect_first[256];
    snprintf(expect_first, sizeof expect_first,
             "[{\"name\":\"a.txt\",\"sha256\":\"%s\",\"size\":1},", m.files[0].sha256);
    assert_true(strncmp(text, expect_first, strlen(expect_first)) == 0);
    free(text);
    eco_manifest back;
    ECO_ASSERT_OK(eco_manifest_from_json(j, "rt", &back));
    json_decref(j);
    assert_int_equal(back.n, m.n);
    for (size_t i = 0; i < m.n; i++) {
        assert_string_equal(back.files[i].name, m.files[i].name);
        assert_string_equal(back.files[i].sha256, m.files[i].sha256);
        assert_int_equal(back.files[i].size, m.files[i].size);
    }
    eco_manifest_free(&back);
    eco_manifest_free(&m);
    eco_manifest_free(&m); /* twice is fine */

    /* no skip list: everything */
    ECO_ASSERT_OK(eco_manifest_from_dir(dir, NULL, &m));
    assert_int_equal(m.n, nf + 4);
    eco_manifest_free(&m);

    /* the empty manifest: root is SHA-256 of nothing */
    char *emptydir = join(dir, "empty");
    ECO_ASSERT_OK(eco_manifest_from_dir(emptydir, NULL, &m));
    assert_int_equal(m.n, 0);
    ECO_ASSERT_OK(eco_manifest_root(&m, root));
    assert_string_equal(root, HEX_EMPTY);
    ECO_ASSERT_OK(eco_manifest_to_json(&m, &j));
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);
    eco_manifest_free(&m);

    /* errors */
    char *missing = join(dir, "missing");
    ECO_ASSERT_STATUS(eco_manifest_from_dir(missing, NULL, &m), ECO_STATUS_ENOTFOUND);
    char *afile = join(dir, "b.txt");
    ECO_ASSERT_STATUS(eco_manifest_from_dir(afile, NULL, &m), ECO_STATUS_EINVAL);
    free(afile);
    free(missing);
    free(emptydir);
    eco_test_rmtree(dir);
    free(dir);
}

static void test_manifest_refuses_links(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    mkdir_ok(dir, "m/sub");
    write_rel(dir, "m/real.bin", "data");
    char *link = join(dir, "m/sub/link.bin");
    assert_int_equal(symlink("../real.bin", link), 0);
    char *mdir = join(dir, "m");
    eco_manifest m;
    ECO_ASSERT_STATUS(eco_manifest_from_dir(mdir, NULL, &m), ECO_STATUS_EUNSUPPORTED);
    assert_error_contains("sub/link.bin");
    assert_error_contains("symbolic link");
    assert_int_equal(m.n, 0);
    /* skipped by name: fine */
    const char *skip[] = {"sub/link.bin", NULL};
    ECO_ASSERT_OK(eco_manifest_from_dir(mdir, skip, &m));
    assert_int_equal(m.n, 1);
    eco_manifest_free(&m);
    /* a link to a folder */
    assert_int_equal(unlink(link), 0);
    assert_int_equal(symlink("..", link), 0);
    ECO_ASSERT_STATUS(eco_manifest_from_dir(mdir, NULL, &m), ECO_STATUS_EUNSUPPORTED);
    assert_error_contains("sub/link.bin");
    assert_int_equal(unlink(link), 0);
    /* a FIFO */
    char *fifo = join(dir, "m/sub/pipe");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    ECO_ASSERT_STATUS(eco_manifest_from_dir(mdir, NULL, &m), ECO_STATUS_EUNSUPPORTED);
    assert_error_contains("sub/pipe");
    assert_error_contains("special file");
    free(fifo);
    free(mdir);
    free(link);
    eco_test_rmtree(dir);
    free(dir);
}

#define H64                    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ENTRY(name, hex, size) "{\"name\":" name ",\"sha256\":" hex ",\"size\":" size "}"
#define OK_ENTRY(name)         ENTRY("\"" name "\"", "\"" H64 "\"", "1")

typedef struct json_case {
    const char *json;
    const char *want; /* substring of the error; NULL: accepted */
} json_case;

static void test_manifest_json_table(void **state) {
    (void)state;
    static const json_case cases[] = {
        /* accepted */
        {"[]", NULL},
        {"[" OK_ENTRY("a") "," OK_ENTRY("a.txt") "," OK_ENTRY("a/b") "]", NULL},
        {"[" ENTRY("\"w\"", "\"" H64 "\"", "0") "]", NULL},
        {"[" ENTRY("\"w\"", "\"" H64 "\"", "9007199254740993") "]", NULL},
        {"[" ENTRY("\"d\\u00e9/\\u00fc\"", "\"" H64 "\"", "5") "]", NULL},
        {"[{\"size\":1,\"sha256\":\"" H64 "\",\"name\":\"k\"}]", NULL}, /* key order is free */
        /* the document */
        {"{}", "genome.json: files: expected an array"},
        {"null", "genome.json: files: expected an array"},
        {"\"files\"", "genome.json: files: expected an array"},
        /* entries */
        {"[1]", "genome.json: files[0]: expected an object"},
        {"[" OK_ENTRY("a") ",[]]", "genome.json: files[1]: expected an object"},
        {"[{\"name\":\"a\",\"sha256\":\"" H64 "\"}]", "files[0].size: missing"},
        {"[{\"sha256\":\"" H64 "\",\"size\":1}]", "files[0].name: missing"},
        {"[{\"name\":\"a\",\"size\":1}]", "files[0].sha256: missing"},
        {"[{\"name\":\"a\",\"sha256\":\"" H64 "\",\"size\":1,\"mode\":420}]",
         "files[0]: unknown field 'mode'"},
        {"[{\"name\":\"a\",\"sha256\":\"" H64 "\",\"size\":1,\"m\\u001b[2J\":1}]",
         "files[0]: unknown field 'm\\x1b[2J'"}, /* a hostile key is shown escaped, not printed raw */
        {"[{}]", "files[0].name: missing"},
        /* name */
        {"[" ENTRY("1", "\"" H64 "\"", "1") "]", "files[0].name: expected a string"},
        {"[" ENTRY("null", "\"" H64 "\"", "1") "]", "files[0].name: expected a string"},
        {"[" OK_ENTRY("") "]", "files[0].name"},
        {"[" OK_ENTRY("../x") "]", "files[0].name"},
        {"[" OK_ENTRY("/abs") "]", "files[0].name"},
        {"[" OK_ENTRY("a//b") "]", "files[0].name"},
        {"[" OK_ENTRY("./a") "]", "files[0].name"},
        {"[" OK_ENTRY("a/") "]", "files[0].name"},
        {"[" OK_ENTRY("a/../b") "]", "files[0].name"},
        {"[" OK_ENTRY("a/.") "]", "files[0].name"},
        {"[" OK_ENTRY("a\\u0000b") "]", "files[0].name: holds a NUL byte"},
        /* sha256 */
        {"[" ENTRY("\"a\"", "5", "1") "]", "files[0].sha256: not 64 lower-case hex digits"},
        {"[" ENTRY("\"a\"", "\"" HEX_EMPTY "0\"", "1") "]", "files[0].sha256"},
        {"[" ENTRY("\"a\"", "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85\"",
                   "1") "]",
         "files[0].sha256"},
        {"[" ENTRY("\"a\"", "\"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\"",
                   "1") "]",
         "files[0].sha256"},
        {"[" ENTRY("\"a\"", "\"g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"",
                   "1") "]",
         "files[0].sha256"},
        {"[" ENTRY("\"a\"",
                   "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85\\u0000\"",
                   "1") "]",
         "files[0].sha256"},
        {"[" OK_ENTRY("a") "," OK_ENTRY("b") "," ENTRY("\"c\"", "null", "1") "]",
         "files[2].sha256"},
        /* size */
        {"[" ENTRY("\"a\"", "\"" H64 "\"", "-1") "]", "files[0].size: -1 is negative"},
        {"[" ENTRY("\"a\"", "\"" H64 "\"", "\"1\"") "]", "files[0].size: expected an integer"},
        {"[" ENTRY("\"a\"", "\"" H64 "\"", "1.0") "]", "files[0].size: expected an integer"},
        {"[" ENTRY("\"a\"", "\"" H64 "\"", "true") "]", "files[0].size: expected an integer"},
        {"[" ENTRY("\"a\"", "\"" H64 "\"", "null") "]", "files[0].size: expected an integer"},
        /* order */
        {"[" OK_ENTRY("b") "," OK_ENTRY("a") "]", "files[1].name: 'a' is not after 'b'"},
        {"[" OK_ENTRY("a/b") "," OK_ENTRY("a.txt") "]", "files[1].name"}, /* strcmp: '.' < '/' */
        {"[" OK_ENTRY("a") "," OK_ENTRY("a") "]", "files[1].name: duplicate 'a'"},
    };
    size_t ncases = sizeof cases / sizeof *cases;
    int rejects = 0;
    for (size_t i = 0; i < ncases; i++) {
        json_error_t jerr;
        json_t *j = json_loads(cases[i].json, JSON_ALLOW_NUL | JSON_DECODE_ANY, &jerr);
        if (!j) {
            print_error("case %zu: test JSON does not parse: %s\n", i, jerr.text);
            fail();
        }
        eco_manifest m = {(eco_file_entry *)&m, 99}; /* garbage in: out is always set */
        eco_status st = eco_manifest_from_json(j, "genome.json: files", &m);
        if (cases[i].want == NULL) {
            if (st != ECO_STATUS_OK)
                print_error("case %zu (%s): refused: %s\n", i, cases[i].json, eco_last_error());
            assert_int_equal(st, ECO_STATUS_OK);
            assert_int_equal(m.n, json_array_size(j));
            /* accepted input writes back to the same JSON */
            json_t *out;
            ECO_ASSERT_OK(eco_manifest_to_json(&m, &out));
            assert_true(json_equal(j, out));
            json_decref(out);
        } else {
            rejects++;
            if (st != ECO_STATUS_EFORMAT || !strstr(eco_last_error(), cases[i].want))
                print_error("case %zu (%s): got %s '%s', want EFORMAT containing '%s'\n", i,
                            cases[i].json, eco_status_str(st), eco_last_error(), cases[i].want);
            assert_int_equal(st, ECO_STATUS_EFORMAT);
            assert_non_null(strstr(eco_last_error(), cases[i].want));
            assert_int_equal(m.n, 0);
            assert_null(m.files);
        }
        eco_manifest_free(&m);
        json_decref(j);
    }
    assert_true(rejects >= 15);

    /* a name over 4096 bytes; a NULL label */
    char *big = malloc(4200);
    assert_non_null(big);
    memset(big, 'n', 4097);
    big[4097] = '\0';
    json_t *j = json_pack("[{s:s, s:s, s:i}]", "name", big, "sha256", H64, "size", 1);
    assert_non_null(j);
    eco_manifest m;
    ECO_ASSERT_STATUS(eco_manifest_from_json(j, "big", &m), ECO_STATUS_EFORMAT);
    assert_error_contains("big[0].name: 4097 bytes");
    json_decref(j);
    free(big);
    /* Keys with a NUL byte (jansson's parser refuses them, but they can be built): "name\0x"
     * reads as "name" through a C string and must not pass for it. */
    for (int twice = 0; twice < 2; twice++) {
        json_t *o = json_object();
        assert_non_null(o);
        if (twice) assert_int_equal(json_object_set_new(o, "name", json_string("a")), 0);
        assert_int_equal(json_object_setn_new_nocheck(o, "name\0x", 6, json_string("a")), 0);
        assert_int_equal(json_object_set_new(o, "sha256", json_string(H64)), 0);
        assert_int_equal(json_object_set_new(o, "size", json_integer(1)), 0);
        j = json_array();
        assert_int_equal(json_array_append_new(j, o), 0);
        ECO_ASSERT_STATUS(eco_manifest_from_json(j, "nul", &m), ECO_STATUS_EFORMAT);
        assert_error_contains(twice ? "nul[0]: 4 keys" : "nul[0].name: missing");
        json_decref(j);
    }
    j = json_object();
    ECO_ASSERT_STATUS(eco_manifest_from_json(j, NULL, &m), ECO_STATUS_EFORMAT);
    assert_error_contains("manifest: expected an array");
    json_decref(j);
}

static void test_manifest_to_json_refuses(void **state) {
    (void)state;
    eco_file_entry e[2] = {{.name = "b", .size = 1}, {.name = "a", .size = 1}};
    memcpy(e[0].sha256, H64, sizeof e[0].sha256);
    memcpy(e[1].sha256, H64, sizeof e[1].sha256);
    eco_manifest m = {e, 2};
    json_t *j = (json_t *)&m;
    ECO_ASSERT_STATUS(eco_manifest_to_json(&m, &j), ECO_STATUS_EINVAL); /* unsorted */
    assert_null(j);
    e[1].name = "c/../d";
    ECO_ASSERT_STATUS(eco_manifest_to_json(&m, &j), ECO_STATUS_EINVAL);
    e[1].name = "c";
    e[1].sha256[0] = 'X';
    ECO_ASSERT_STATUS(eco_manifest_to_json(&m, &j), ECO_STATUS_EINVAL);
    char root[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_STATUS(eco_manifest_root(&m, root), ECO_STATUS_EINVAL);
    e[1].sha256[0] = '0';
    e[1].size = UINT64_MAX;
    ECO_ASSERT_STATUS(eco_manifest_to_json(&m, &j), ECO_STATUS_EOVERFLOW);
    e[1].size = 2;
    e[1].name = "c\xff"; /* not UTF-8 */
    ECO_ASSERT_STATUS(eco_manifest_to_json(&m, &j), ECO_STATUS_EUNSUPPORTED);
    e[1].name = "c";
    ECO_ASSERT_OK(eco_manifest_to_json(&m, &j));
    assert_int_equal(json_array_size(j), 2);
    json_decref(j);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_dir_resolve),
        cmocka_unit_test(test_store_put),
        cmocka_unit_test(test_store_dedup),
        cmocka_unit_test(test_store_verify),
        cmocka_unit_test(test_store_repairs_same_size),
        cmocka_unit_test(test_store_read_only),
        cmocka_unit_test(test_store_trust_cache),
        cmocka_unit_test(test_store_copy_out),
        cmocka_unit_test(test_store_stale_tmp),
        cmocka_unit_test(test_store_concurrent_put),
        cmocka_unit_test(test_manifest_name_ok),
        cmocka_unit_test(test_manifest_from_dir),
        cmocka_unit_test(test_manifest_refuses_links),
        cmocka_unit_test(test_manifest_json_table),
        cmocka_unit_test(test_manifest_to_json_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
