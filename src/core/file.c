/* Whole-file reads, atomic writes (temp, fsync, rename, fsync of the folder), paths. */
#include "core/file_map.h"
#include "ecology/core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

eco_status eco_read_file(const char *path, size_t max_bytes, char **data, size_t *len) {
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return eco_error(errno == ENOENT ? ECO_STATUS_ENOTFOUND : ECO_STATUS_EIO, "%s: %s", path,
                         strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        if (S_ISDIR(sb.st_mode))
            return eco_error(ECO_STATUS_EINVAL, "%s: is a folder, expected a file", path);
        return eco_error(ECO_STATUS_EIO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > max_bytes) {
        close(fd);
        return eco_error(ECO_STATUS_ERANGE, "%s: %lld bytes is more than the limit of %zu", path,
                         (long long)sb.st_size, max_bytes);
    }
    size_t n = (size_t)sb.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        return eco_error(ECO_STATUS_ENOMEM, "%s: cannot allocate %zu bytes", path, n + 1);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            free(buf);
            close(fd);
            return eco_error(ECO_STATUS_EIO, "%s: read failed: %s", path,
                             r < 0 ? strerror(errno) : "file shrank");
        }
        got += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return ECO_STATUS_OK;
}

char *eco_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    bool slash = a > 0 && dir[a - 1] != '/';
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    if (slash) p[a++] = '/';
    memcpy(p + a, name, b + 1);
    return p;
}

bool eco_path_is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

bool eco_path_has_file(const char *dir, const char *name) {
    char *p = eco_path_join(dir, name);
    struct stat sb;
    bool ok = p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
    free(p);
    return ok;
}

eco_status eco_path_require_dir(const char *path, const char *expected) {
    struct stat sb;
    if (stat(path, &sb) != 0)
        return eco_error(errno == ENOENT ? ECO_STATUS_ENOTFOUND : ECO_STATUS_EIO,
                         "%s: %s; expected %s", path,
                         errno == ENOENT ? "no such folder" : strerror(errno), expected);
    if (!S_ISDIR(sb.st_mode))
        return eco_error(ECO_STATUS_EINVAL,
                         "%s: is a file, expected %s; give the folder, not a file in it", path,
                         expected);
    return ECO_STATUS_OK;
}

eco_status eco_mkdir_p(const char *path) {
    char *p = eco_strdup(path);
    if (!p) return eco_error(ECO_STATUS_ENOMEM, "mkdir %s: out of memory", path);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0777) != 0 && errno != EEXIST) {
                eco_status st = eco_error(ECO_STATUS_EIO, "mkdir %s: %s", p, strerror(errno));
                free(p);
                return st;
            }
            *s = c;
            if (c == '\0') break;
        }
    }
    free(p);
    if (!eco_path_is_dir(path))
        return eco_error(ECO_STATUS_EIO, "%s: is a file, expected a folder", path);
    return ECO_STATUS_OK;
}

/* The folder part of path ("." when it has none); malloc'd. */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return eco_strdup(".");
    if (slash == path) return eco_strdup("/");
    return eco_bytes_dup(path, (size_t)(slash - path));
}

static eco_status fsync_dir(const char *path) {
    char *dir = dir_of(path);
    if (!dir) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    eco_status st = ECO_STATUS_OK;
    if (fd < 0 || fsync(fd) != 0)
        st = eco_error(ECO_STATUS_EIO, "fsync of folder %s: %s", dir, strerror(errno));
    if (fd >= 0) close(fd);
    free(dir);
    return st;
}

static atomic_uint tmp_counter;

eco_status eco_atomic_file_open(eco_atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    af->path = eco_strdup(path);
    size_t n = strlen(path) + 64;
    af->tmp_path = malloc(n);
    if (!af->path || !af->tmp_path) {
        eco_atomic_file_abort(af);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    }
    snprintf(af->tmp_path, n, "%s.tmp.%ld.%u", path, (long)getpid(),
             atomic_fetch_add(&tmp_counter, 1));
    int fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        eco_status st = eco_error(ECO_STATUS_EIO, "%s: cannot create temp file: %s", af->tmp_path,
                                  strerror(errno));
        free(af->tmp_path);
        af->tmp_path = NULL;
        eco_atomic_file_abort(af);
        return st;
    }
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        close(fd);
        eco_atomic_file_abort(af);
        return eco_error(ECO_STATUS_EIO, "%s: fdopen failed", path);
    }
    return ECO_STATUS_OK;
}

eco_status eco_atomic_file_write(eco_atomic_file *af, const void *data, size_t len) {
    if (!af->fp) return eco_error(ECO_STATUS_EINVAL, "atomic write: file not open");
    if (len && fwrite(data, 1, len, af->fp) != len)
        return eco_error(ECO_STATUS_EIO, "%s: write failed: %s", af->tmp_path, strerror(errno));
    return ECO_STATUS_OK;
}

eco_status eco_atomic_file_commit(eco_atomic_file *af) {
    eco_status st = ECO_STATUS_OK;
    if (!af->fp) {
        eco_atomic_file_abort(af);
        return eco_error(ECO_STATUS_EINVAL, "atomic write: file not open");
    }
    if (fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0) {
        st = eco_error(ECO_STATUS_EIO, "%s: flush failed: %s", af->tmp_path, strerror(errno));
    }
    if (fclose(af->fp) != 0 && st == ECO_STATUS_OK)
        st = eco_error(ECO_STATUS_EIO, "%s: close failed: %s", af->tmp_path, strerror(errno));
    af->fp = NULL;
    if (st == ECO_STATUS_OK && rename(af->tmp_path, af->path) != 0)
        st = eco_error(ECO_STATUS_EIO, "rename %s -> %s: %s", af->tmp_path, af->path,
                       strerror(errno));
    if (st == ECO_STATUS_OK) {
        free(af->tmp_path);
        af->tmp_path = NULL; /* renamed: nothing to remove */
        st = fsync_dir(af->path);
    }
    eco_atomic_file_abort(af);
    return st;
}

void eco_atomic_file_abort(eco_atomic_file *af) {
    if (af->fp) fclose(af->fp);
    af->fp = NULL;
    if (af->tmp_path) unlink(af->tmp_path);
    free(af->tmp_path);
    free(af->path);
    af->tmp_path = NULL;
    af->path = NULL;
}

eco_status eco_write_file_atomic(const char *path, const void *data, size_t len) {
    eco_atomic_file af;
    eco_status st = eco_atomic_file_open(&af, path);
    if (st != ECO_STATUS_OK) return st;
    st = eco_atomic_file_write(&af, data, len);
    if (st != ECO_STATUS_OK) {
        eco_atomic_file_abort(&af);
        return st;
    }
    return eco_atomic_file_commit(&af);
}

eco_status eco_map_file(const char *path, void **map, size_t *len) {
    *map = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        return eco_error(err == ENOENT ? ECO_STATUS_ENOTFOUND : ECO_STATUS_EIO, "%s: open: %s",
                         path, strerror(err));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int err = errno;
        close(fd);
        return eco_error(ECO_STATUS_EIO, "%s: stat: %s", path, strerror(err));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return eco_error(ECO_STATUS_EIO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return eco_error(ECO_STATUS_EOVERFLOW, "%s: file too large to map", path);
    }
    const size_t n = (size_t)sb.st_size;
    if (n == 0) {
        close(fd);
        return ECO_STATUS_OK;
    }
    void *m = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (m == MAP_FAILED)
        return eco_error(ECO_STATUS_EIO, "%s: mmap of %zu bytes: %s", path, n, strerror(err));
    *map = m;
    *len = n;
    return ECO_STATUS_OK;
}
