/*
 * The content-addressed store: objects/sha256/<2 hex>/<62 hex> under the data folder.
 *
 * A put copies into tmp/put.<pid>.XXXXXX while hashing, makes the copy read-only, fsyncs
 * it, and renames it to its digest's name (creating and fsyncing the fan-out folder first,
 * fsyncing it after). When the object is already there and re-hashes to its name, the copy
 * is removed and nothing under objects/ changes; a damaged object there (a flipped byte, a
 * cut file) is replaced by the same atomic rename, and the repair is reported
 * (eco_store_pop_repaired) so the registry can log it. Two processes putting the same content at once may both rename:
 * the second replaces an identical file, which readers cannot tell apart, so both succeed.
 *
 * The pid in a temp name is what makes clean-up safe while other writers run: open removes
 * only the temp files of processes that no longer exist (kill(pid, 0) fails with ESRCH).
 * That check is per machine, so a data folder shared between machines (NFS) keeps the temp
 * files of the other machines' dead writers; they are harmless, only space.
 *
 * The trust cache <data>/verified holds "<hex> <size> <mtime_ns>\n" lines, appended with
 * O_APPEND (one write() per line) after each full check that passes. It is a cache: a
 * malformed, partial or unreadable line or file only means a re-hash.
 */
#include "ecology/artifacts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define COPY_CHUNK ((size_t)1 << 20)
#define TMP_PREFIX "put."

#define MAX_REPAIRED 64

struct eco_store {
    char *data_dir; /* as given */
    char *objects;  /* <data>/objects/sha256 */
    char *tmp;      /* <data>/tmp */
    char *verified; /* <data>/verified */
    bool read_only; /* eco_store_open_readonly: no folder made, no temp cleaned, no cache line */
    /* Damaged objects that puts replaced, not yet taken by eco_store_pop_repaired (the
     * oldest MAX_REPAIRED kept; more in one session are only logged). */
    char repaired[MAX_REPAIRED][ECO_SHA256_HEX_LEN + 1];
    size_t n_repaired;
};

/* ---- small helpers --------------------------------------------------------------------- */

/* Whether hex is exactly 64 lower-case hex digits (so it cannot name anything outside the
 * store). */
static bool hex_ok(const char *hex) {
    return hex && eco_hex_is_lower(hex, strnlen(hex, ECO_SHA256_HEX_LEN + 1), ECO_SHA256_HEX_LEN);
}

static eco_status fsync_folder(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        eco_status st = eco_error(ECO_STATUS_EIO, "fsync of folder %s: %s", dir, strerror(errno));
        if (fd >= 0) close(fd);
        return st;
    }
    close(fd);
    return ECO_STATUS_OK;
}

static eco_status write_all(int fd, const void *data, size_t len, const char *path) {
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            return eco_error(ECO_STATUS_EIO, "%s: write failed: %s", path,
                             w < 0 ? strerror(errno) : "no progress");
        p += w;
        len -= (size_t)w;
    }
    return ECO_STATUS_OK;
}

/* mtime in nanoseconds; false when it does not fit an int64 (then it is not cached). */
static bool mtime_ns(const struct stat *sb, int64_t *out) {
    int64_t ns;
    if (__builtin_mul_overflow((int64_t)sb->st_mtim.tv_sec, (int64_t)1000000000, &ns)) return false;
    if (__builtin_add_overflow(ns, (int64_t)sb->st_mtim.tv_nsec, &ns)) return false;
    *out = ns;
    return true;
}

/* "<objects>/<2 hex>" (malloc'd). */
static char *fanout_path(const eco_store *s, const char *hex) {
    char two[3] = {hex[0], hex[1], '\0'};
    return eco_path_join(s->objects, two);
}

char *eco_store_object_path(const eco_store *s, const char *hex) {
    if (!hex_ok(hex)) return NULL;
    size_t n = strlen(s->objects) + ECO_SHA256_HEX_LEN + 3;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%.2s/%s", s->objects, hex, hex + 2);
    return p;
}

/* ---- open / close ---------------------------------------------------------------------- */

/* The pid in a temp name "put.<pid>.<suffix>", or 0 when name is not such a name. */
static pid_t tmp_name_pid(const char *name) {
    size_t plen = strlen(TMP_PREFIX);
    if (strncmp(name, TMP_PREFIX, plen) != 0) return 0;
    const char *p = name + plen;
    int64_t pid = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (++digits > 10) return 0;
        pid = pid * 10 + (*p - '0');
    }
    if (digits == 0 || *p != '.' || p[1] == '\0' || pid <= 0 || pid > INT32_MAX) return 0;
    return (pid_t)pid;
}

/* Removes temp files whose writer is gone. Failures are not errors: a leftover costs only
 * space, and another opener may be removing the same file right now. */
static void clean_tmp(const eco_store *s) {
    DIR *d = opendir(s->tmp);
    if (!d) return;
    int dfd = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        pid_t pid = tmp_name_pid(de->d_name);
        if (pid == 0 || pid == getpid()) continue;
        if (kill(pid, 0) == -1 && errno == ESRCH) {
            if (unlinkat(dfd, de->d_name, 0) == 0)
                ECO_DEBUG("store: removed %s/%s left by process %ld", s->tmp, de->d_name,
                          (long)pid);
        }
    }
    closedir(d);
}

void eco_store_close(eco_store *s) {
    if (!s) return;
    free(s->data_dir);
    free(s->objects);
    free(s->tmp);
    free(s->verified);
    free(s);
}

static eco_status store_open(const char *data_dir, bool read_only, eco_store **out) {
    *out = NULL;
    if (!data_dir || !*data_dir) return eco_error(ECO_STATUS_EINVAL, "store: no data folder given");
    eco_store *s = calloc(1, sizeof *s);
    if (!s) return eco_error(ECO_STATUS_ENOMEM, "store: out of memory");
    s->data_dir = eco_strdup(data_dir);
    char *objects_parent = eco_path_join(data_dir, "objects");
    s->objects = objects_parent ? eco_path_join(objects_parent, "sha256") : NULL;
    free(objects_parent);
    s->tmp = eco_path_join(data_dir, "tmp");
    s->verified = eco_path_join(data_dir, "verified");
    if (!s->data_dir || !s->objects || !s->tmp || !s->verified) {
        eco_store_close(s);
        return eco_error(ECO_STATUS_ENOMEM, "store: out of memory");
    }
    s->read_only = read_only;
    if (read_only) {
        /* Nothing is created or cleaned: the folder may be read-only. */
        if (!eco_path_is_dir(data_dir)) {
            eco_store_close(s);
            return eco_error(ECO_STATUS_ENOTFOUND, "store %s: no such folder", data_dir);
        }
        *out = s;
        return ECO_STATUS_OK;
    }
    eco_status st = eco_mkdir_p(s->objects);
    if (st == ECO_STATUS_OK) st = eco_mkdir_p(s->tmp);
    if (st != ECO_STATUS_OK) {
        eco_store_close(s);
        return eco_error_wrap(st, "store %s", data_dir);
    }
    clean_tmp(s);
    *out = s;
    return ECO_STATUS_OK;
}

eco_status eco_store_open(const char *data_dir, eco_store **out) {
    return store_open(data_dir, false, out);
}

eco_status eco_store_open_readonly(const char *data_dir, eco_store **out) {
    return store_open(data_dir, true, out);
}

bool eco_store_pop_repaired(eco_store *s, char hex[ECO_SHA256_HEX_LEN + 1]) {
    if (!s || s->n_repaired == 0) return false;
    memcpy(hex, s->repaired[0], ECO_SHA256_HEX_LEN + 1);
    memmove(s->repaired[0], s->repaired[1], (s->n_repaired - 1) * sizeof s->repaired[0]);
    s->n_repaired--;
    return true;
}

/* Whether the regular file at path hashes to hex (false when it cannot be read: a file that
 * cannot be read back is as good as damaged, and replacing it is the repair). */
static bool object_intact(const char *path, const char *hex) {
    uint8_t d[ECO_SHA256_LEN];
    if (eco_sha256_file(path, d) != ECO_STATUS_OK) {
        eco_clear_error();
        return false;
    }
    char got[ECO_SHA256_HEX_LEN + 1];
    eco_hex(got, d, sizeof d);
    return strcmp(got, hex) == 0;
}

/* What is at obj for content hex of size bytes: 1 an intact object (nothing to write), 0
 * nothing, -1 a damaged object (another size, or the same size and other bytes), which a
 * put replaces. The content is re-hashed: a same-size object is not trusted on its size. */
static int existing_object(const char *obj, const char *hex, uint64_t size) {
    struct stat sb;
    if (lstat(obj, &sb) != 0) return 0;
    if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == size && object_intact(obj, hex)) return 1;
    return -1;
}

static void note_repaired(eco_store *s, const char *hex) {
    ECO_WARN("store: object %s was damaged; replaced by the content just added", hex);
    if (s->n_repaired < MAX_REPAIRED)
        memcpy(s->repaired[s->n_repaired++], hex, ECO_SHA256_HEX_LEN + 1);
}

const char *eco_store_data_dir(const eco_store *s) { return s->data_dir; }

bool eco_store_has(const eco_store *s, const char *hex) {
    char *path = eco_store_object_path(s, hex);
    if (!path) return false;
    struct stat sb;
    bool ok = lstat(path, &sb) == 0 && S_ISREG(sb.st_mode);
    free(path);
    return ok;
}

/* ---- put ------------------------------------------------------------------------------- */

/* A put in progress: the temp file and the running hash of what was written to it. */
typedef struct put_tmp {
    int fd;
    char *path;
    eco_sha256_ctx *sha;
    uint64_t size;
} put_tmp;

static void put_abort(put_tmp *t) {
    if (t->fd >= 0) close(t->fd);
    if (t->path) unlink(t->path);
    free(t->path);
    eco_sha256_abort(t->sha);
    t->fd = -1;
    t->path = NULL;
    t->sha = NULL;
}

static eco_status put_begin(const eco_store *s, put_tmp *t) {
    t->fd = -1;
    t->sha = NULL;
    t->size = 0;
    t->path = NULL;
    if (s->read_only)
        return eco_error(ECO_STATUS_EIO,
                         "store %s: opened read-only (the data folder is not writable)",
                         s->data_dir);
    size_t n = strlen(s->tmp) + 48;
    t->path = malloc(n);
    if (!t->path) return eco_error(ECO_STATUS_ENOMEM, "store: out of memory");
    snprintf(t->path, n, "%s/" TMP_PREFIX "%ld.XXXXXX", s->tmp, (long)getpid());
    t->fd = mkstemp(t->path);
    if (t->fd < 0) {
        eco_status st =
            eco_error(ECO_STATUS_EIO, "%s: cannot create temp file: %s", t->path, strerror(errno));
        free(t->path);
        t->path = NULL;
        return st;
    }
    eco_status st = eco_sha256_begin(&t->sha);
    if (st != ECO_STATUS_OK) put_abort(t);
    return st;
}

static eco_status put_write(put_tmp *t, const void *data, size_t len) {
    eco_status st = eco_sha256_update(t->sha, data, len);
    if (st == ECO_STATUS_OK) st = write_all(t->fd, data, len, t->path);
    if (st == ECO_STATUS_OK) t->size += len;
    return st;
}

/* Finishes the put: names the object, and moves the temp file there unless an intact object
 * is there already (re-hashed to know). A damaged object there (another size, or other bytes
 * of the same size) is replaced atomically by the rename and noted for
 * eco_store_pop_repaired. Always releases t. */
static eco_status put_commit(eco_store *s, put_tmp *t, char hex[ECO_SHA256_HEX_LEN + 1]) {
    uint8_t d[ECO_SHA256_LEN];
    eco_status st = eco_sha256_end(t->sha, d);
    t->sha = NULL;
    if (st != ECO_STATUS_OK) {
        put_abort(t);
        return st;
    }
    eco_hex(hex, d, sizeof d);
    char *obj = eco_store_object_path(s, hex);
    char *fan = fanout_path(s, hex);
    if (!obj || !fan) {
        st = eco_error(ECO_STATUS_ENOMEM, "store: out of memory");
        goto done;
    }
    /* Already stored and intact: nothing to write. */
    const int have = existing_object(obj, hex, t->size);
    if (have > 0) goto done;

    /* Read-only before it gets its name, so the object is never writable. */
    if (fchmod(t->fd, 0444) != 0 || fsync(t->fd) != 0) {
        st = eco_error(ECO_STATUS_EIO, "%s: fchmod/fsync: %s", t->path, strerror(errno));
        goto done;
    }
    if (close(t->fd) != 0) {
        t->fd = -1;
        st = eco_error(ECO_STATUS_EIO, "%s: close: %s", t->path, strerror(errno));
        goto done;
    }
    t->fd = -1;
    if (mkdir(fan, 0777) == 0) {
        if ((st = fsync_folder(s->objects)) != ECO_STATUS_OK) goto done;
    } else if (errno != EEXIST) {
        st = eco_error(ECO_STATUS_EIO, "mkdir %s: %s", fan, strerror(errno));
        goto done;
    }
    if (rename(t->path, obj) != 0) {
        st = eco_error(ECO_STATUS_EIO, "rename %s -> %s: %s", t->path, obj, strerror(errno));
        goto done;
    }
    free(t->path); /* renamed: nothing left to remove */
    t->path = NULL;
    st = fsync_folder(fan);
    if (have < 0) note_repaired(s, hex);
done:
    put_abort(t);
    free(obj);
    free(fan);
    return st;
}

eco_status eco_store_put_file(eco_store *s, const char *path, char hex[ECO_SHA256_HEX_LEN + 1],
                              uint64_t *size) {
    return eco_store_put_file_progress(s, path, hex, size, NULL);
}

eco_status eco_store_put_file_progress(eco_store *s, const char *path,
                                       char hex[ECO_SHA256_HEX_LEN + 1], uint64_t *size,
                                       eco_progress *progress) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return eco_error(errno == ENOENT ? ECO_STATUS_ENOTFOUND : ECO_STATUS_EIO,
                         "store put %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return eco_error(ECO_STATUS_EINVAL, "store put %s: not a regular file", path);
    }
    unsigned char *buf = malloc(COPY_CHUNK);
    if (!buf) {
        close(fd);
        return eco_error(ECO_STATUS_ENOMEM, "store put %s: out of memory", path);
    }
    put_tmp t;
    eco_status st = put_begin(s, &t);
    while (st == ECO_STATUS_OK) {
        ssize_t r = read(fd, buf, COPY_CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            st = eco_error(ECO_STATUS_EIO, "read failed: %s", strerror(errno));
            put_abort(&t);
            break;
        }
        if (r == 0) break;
        if ((st = put_write(&t, buf, (size_t)r)) != ECO_STATUS_OK) put_abort(&t);
        if (progress) eco_progress_update(progress, progress->done + (double)r / 1e6);
    }
    free(buf);
    close(fd);
    char got[ECO_SHA256_HEX_LEN + 1];
    uint64_t n = t.size;
    if (st == ECO_STATUS_OK) st = put_commit(s, &t, got);
    if (st != ECO_STATUS_OK) return eco_error_wrap(st, "store put %s", path);
    if (hex) memcpy(hex, got, sizeof got);
    if (size) *size = n;
    return ECO_STATUS_OK;
}

eco_status eco_store_put_bytes(eco_store *s, const void *data, size_t len,
                               char hex[ECO_SHA256_HEX_LEN + 1]) {
    /* Hashing memory is cheap: when the object exists, not even a temp file is written. */
    char got[ECO_SHA256_HEX_LEN + 1];
    eco_status st = eco_sha256_hex(data, len, got);
    if (st != ECO_STATUS_OK) return st;
    char *obj = eco_store_object_path(s, got);
    if (!obj) return eco_error(ECO_STATUS_ENOMEM, "store put: out of memory");
    bool have = existing_object(obj, got, len) > 0;
    free(obj);
    if (!have) {
        put_tmp t;
        if ((st = put_begin(s, &t)) != ECO_STATUS_OK) return st;
        if ((st = put_write(&t, data, len)) != ECO_STATUS_OK) {
            put_abort(&t);
            return st;
        }
        if ((st = put_commit(s, &t, got)) != ECO_STATUS_OK) return st;
    }
    if (hex) memcpy(hex, got, sizeof got);
    return ECO_STATUS_OK;
}

/* ---- trust cache ----------------------------------------------------------------------- */

/* Parses one line "<64 hex> <size> <mtime_ns>\n" (the newline included: a line cut short by
 * a crash or a concurrent append is not trusted). */
static bool parse_trust_line(const char *line, char hex[ECO_SHA256_HEX_LEN + 1], uint64_t *size,
                             int64_t *mtime) {
    if (strnlen(line, ECO_SHA256_HEX_LEN) != ECO_SHA256_HEX_LEN) return false;
    memcpy(hex, line, ECO_SHA256_HEX_LEN);
    hex[ECO_SHA256_HEX_LEN] = '\0';
    if (!hex_ok(hex)) return false;
    const char *p = line + ECO_SHA256_HEX_LEN;
    if (*p++ != ' ') return false;
    uint64_t sz = 0;
    const char *start = p;
    for (; *p >= '0' && *p <= '9'; p++)
        if (__builtin_mul_overflow(sz, 10, &sz) ||
            __builtin_add_overflow(sz, (uint64_t)(*p - '0'), &sz))
            return false;
    if (p == start || *p++ != ' ') return false;
    bool neg = *p == '-';
    if (neg) p++;
    int64_t mt = 0;
    start = p;
    for (; *p >= '0' && *p <= '9'; p++)
        if (__builtin_mul_overflow(mt, 10, &mt) ||
            __builtin_add_overflow(mt, (int64_t)(*p - '0'), &mt))
            return false;
    if (p == start || p[0] != '\n' || p[1] != '\0') return false;
    *size = sz;
    *mtime = neg ? -mt : mt;
    return true;
}

/* Whether <data>/verified has the line for (hex, size, mtime). */
static bool trust_lookup(const eco_store *s, const char *hex, uint64_t size, int64_t mtime) {
    FILE *f = fopen(s->verified, "re");
    if (!f) return false;
    char line[128]; /* a valid line is at most 64+1+20+1+20+1 bytes */
    bool found = false, partial = false;
    while (!found && fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        bool whole = n > 0 && line[n - 1] == '\n';
        /* The tail of an over-long line is skipped with it (a NUL in a line may cost the line
         * after it too: only a re-hash). */
        if (!partial && whole) {
            char h[ECO_SHA256_HEX_LEN + 1];
            uint64_t sz;
            int64_t mt;
            found = parse_trust_line(line, h, &sz, &mt) && sz == size && mt == mtime &&
                    strcmp(h, hex) == 0;
        }
        partial = !whole;
    }
    fclose(f);
    return found;
}

/* Appends the line for (hex, size, mtime); a failure only costs a re-hash next time. A
 * read-only store appends nothing. */
static void trust_append(const eco_store *s, const char *hex, uint64_t size, int64_t mtime) {
    if (s->read_only) return;
    char line[128];
    int n = snprintf(line, sizeof line, "\n%s %llu %lld\n", hex, (unsigned long long)size,
                     (long long)mtime);
    int fd =
        open(s->verified, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644); /* read: its last byte */
    if (fd < 0) {
        ECO_WARN("store: cannot open the trust cache %s: %s", s->verified, strerror(errno));
        return;
    }
    /* A line cut short (a crash mid-append) would swallow this one: end it first. */
    struct stat sb;
    char last = '\n';
    const char *out = line + 1;
    if (fstat(fd, &sb) == 0 && sb.st_size > 0 && pread(fd, &last, 1, sb.st_size - 1) == 1 &&
        last != '\n')
        out = line;
    else
        n--;
    if (write(fd, out, (size_t)n) != n)
        ECO_WARN("store: cannot append to the trust cache %s: %s", s->verified, strerror(errno));
    close(fd);
}

/* ---- verify / copy out ----------------------------------------------------------------- */

eco_status eco_store_verify_object(eco_store *s, const char *hex, uint64_t size, bool trust_cache) {
    if (!hex_ok(hex))
        return eco_error(ECO_STATUS_EINVAL, "verify: '%.80s' is not 64 lower-case hex digits",
                         hex ? hex : "(null)");
    char *path = eco_store_object_path(s, hex);
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "verify: out of memory");
    eco_status st = ECO_STATUS_OK;
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        st = eco_error(errno == ENOENT ? ECO_STATUS_ENOTFOUND : ECO_STATUS_EIO, "object %s: %s",
                       hex, errno == ENOENT ? "not in the store" : strerror(errno));
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = eco_error(ECO_STATUS_EINTEGRITY, "object %s: not a regular file (%s)", hex, path);
        goto done;
    }
    if ((uint64_t)sb.st_size != size) {
        st = eco_error(ECO_STATUS_EINTEGRITY,
                       "object %s: size mismatch: %llu bytes stored, %llu expected", hex,
                       (unsigned long long)sb.st_size, (unsigned long long)size);
        goto done;
    }
    int64_t mt = 0;
    bool cacheable = mtime_ns(&sb, &mt);
    bool cached = cacheable && trust_lookup(s, hex, size, mt);
    if (trust_cache && cached) goto done;
    uint8_t d[ECO_SHA256_LEN];
    if ((st = eco_sha256_file(path, d)) != ECO_STATUS_OK) {
        eco_error_wrap(st, "object %s", hex);
        goto done;
    }
    char got[ECO_SHA256_HEX_LEN + 1];
    eco_hex(got, d, sizeof d);
    if (strcmp(got, hex) != 0) {
        st = eco_error(ECO_STATUS_EINTEGRITY, "object %s: hash mismatch: its %llu bytes hash to %s",
                       hex, (unsigned long long)size, got);
        goto done;
    }
    if (cacheable && !cached) trust_append(s, hex, size, mt);
done:
    free(path);
    return st;
}

eco_status eco_store_copy_out(const eco_store *s, const char *hex, const char *dst_path) {
    if (!hex_ok(hex))
        return eco_error(ECO_STATUS_EINVAL, "copy out: '%.80s' is not 64 lower-case hex digits",
                         hex ? hex : "(null)");
    char *path = eco_store_object_path(s, hex);
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "copy out: out of memory");
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return eco_error(errno == ENOENT ? ECO_STATUS_ENOTFOUND : ECO_STATUS_EIO,
                         "copy out: object %s: %s", hex,
                         errno == ENOENT ? "not in the store" : strerror(errno));
    unsigned char *buf = malloc(COPY_CHUNK);
    eco_sha256_ctx *sha = NULL;
    eco_status st =
        buf ? eco_sha256_begin(&sha) : eco_error(ECO_STATUS_ENOMEM, "copy out: out of memory");
    eco_atomic_file af = {0};
    bool af_open = false;
    if (st == ECO_STATUS_OK) af_open = (st = eco_atomic_file_open(&af, dst_path)) == ECO_STATUS_OK;
    while (st == ECO_STATUS_OK) {
        ssize_t r = read(fd, buf, COPY_CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            st = eco_error(ECO_STATUS_EIO, "copy out: object %s: read failed: %s", hex,
                           strerror(errno));
            break;
        }
        if (r == 0) break;
        if ((st = eco_sha256_update(sha, buf, (size_t)r)) == ECO_STATUS_OK)
            st = eco_atomic_file_write(&af, buf, (size_t)r);
    }
    free(buf);
    close(fd);
    if (st == ECO_STATUS_OK) {
        /* Checked while copying: a damaged object never reaches dst_path. */
        uint8_t d[ECO_SHA256_LEN];
        char got[ECO_SHA256_HEX_LEN + 1];
        st = eco_sha256_end(sha, d);
        sha = NULL;
        if (st == ECO_STATUS_OK) {
            eco_hex(got, d, sizeof d);
            if (strcmp(got, hex) != 0)
                st =
                    eco_error(ECO_STATUS_EINTEGRITY,
                              "copy out: object %s: hash mismatch: content hashes to %s", hex, got);
        }
    }
    eco_sha256_abort(sha);
    if (st != ECO_STATUS_OK) {
        if (af_open) eco_atomic_file_abort(&af);
        return st;
    }
    return eco_atomic_file_commit(&af);
}
