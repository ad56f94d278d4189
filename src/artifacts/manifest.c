/*
 * Manifests: (name, size, SHA-256) of every regular file under a model folder, sorted by
 * name; the root digest over them; and the JSON codec ("files" of genome.json).
 *
 * The folder walk opens every component relative to its parent with O_NOFOLLOW, so a
 * symbolic link swapped in while the walk runs is refused rather than followed. The JSON
 * reader is hostile-input code: every field is checked and named in the error.
 */
#include "core/json_read.h"
#include "ecology/artifacts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(sizeof(json_int_t) >= sizeof(int64_t), "jansson must have 64-bit integers");

#define NAME_MAX_BYTES 4096 /* longest manifest name, as the header promises */
#define WALK_MAX_DEPTH 64   /* folders nested deeper are refused (one fd open per level) */
#define HASH_CHUNK     ((size_t)1 << 20)

/* ---- names and digests ----------------------------------------------------------------- */

bool eco_manifest_name_ok(const char *name) {
    if (!name) return false;
    size_t len = strnlen(name, NAME_MAX_BYTES + 1);
    if (len == 0 || len > NAME_MAX_BYTES) return false;
    /* Every '/'-separated component is non-empty and not "." or "..". A leading '/' makes
     * an empty first component, a trailing one an empty last component. */
    const char *p = name;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0) return false;
        if (n == 1 && p[0] == '.') return false;
        if (n == 2 && p[0] == '.' && p[1] == '.') return false;
        if (!slash) return true;
        p = slash + 1;
    }
}

/* Whether s (len bytes) is exactly 64 lower-case hex digits. */
static bool hex64_ok(const char *s, size_t len) {
    return eco_hex_is_lower(s, len, ECO_SHA256_HEX_LEN);
}

static int hex_val(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

/* Decodes 64 lower-case hex digits into 32 bytes; false when hex is not such a string. */
static bool hex64_decode(const char *hex, uint8_t out[ECO_SHA256_LEN]) {
    if (!hex64_ok(hex, strnlen(hex, ECO_SHA256_HEX_LEN + 1))) return false;
    for (size_t i = 0; i < ECO_SHA256_LEN; i++)
        out[i] = (uint8_t)(hex_val(hex[2 * i]) << 4 | hex_val(hex[2 * i + 1]));
    return true;
}

static int entry_cmp(const void *a, const void *b) {
    return strcmp(((const eco_file_entry *)a)->name, ((const eco_file_entry *)b)->name);
}

/* ---- life cycle ------------------------------------------------------------------------ */

void eco_manifest_free(eco_manifest *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n; i++) free(m->files[i].name);
    free(m->files);
    m->files = NULL;
    m->n = 0;
}

eco_status eco_manifest_copy(eco_manifest *dst, const eco_manifest *src) {
    dst->files = NULL;
    dst->n = 0;
    if (src->n == 0) return ECO_STATUS_OK;
    eco_file_entry *f = eco_calloc_array(src->n, sizeof *f);
    if (!f) return eco_error(ECO_STATUS_ENOMEM, "manifest copy: out of memory (%zu files)", src->n);
    for (size_t i = 0; i < src->n; i++) {
        f[i] = src->files[i];
        f[i].name = eco_strdup(src->files[i].name);
        if (!f[i].name) {
            eco_manifest tmp = {f, i};
            eco_manifest_free(&tmp);
            return eco_error(ECO_STATUS_ENOMEM, "manifest copy: out of memory");
        }
    }
    dst->files = f;
    dst->n = src->n;
    return ECO_STATUS_OK;
}

const eco_file_entry *eco_manifest_find(const eco_manifest *m, const char *name) {
    /* Manifests are small (a model's files); a scan stays right even for a hand-built,
     * unsorted one. */
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->files[i].name, name) == 0) return &m->files[i];
    return NULL;
}

eco_status eco_manifest_root(const eco_manifest *m, char out[ECO_SHA256_HEX_LEN + 1]) {
    eco_sha256_ctx *c;
    eco_status st = eco_sha256_begin(&c);
    if (st != ECO_STATUS_OK) return st;
    for (size_t i = 0; i < m->n; i++) {
        uint8_t d[ECO_SHA256_LEN];
        if (!hex64_decode(m->files[i].sha256, d)) {
            eco_sha256_abort(c);
            return eco_error(
                ECO_STATUS_EINVAL,
                "manifest root: files[%zu] ('%s'): sha256 is not 64 lower-case hex digits", i,
                m->files[i].name);
        }
        if ((st = eco_sha256_update(c, d, sizeof d)) != ECO_STATUS_OK) {
            eco_sha256_abort(c);
            return st;
        }
    }
    uint8_t root[ECO_SHA256_LEN];
    if ((st = eco_sha256_end(c, root)) != ECO_STATUS_OK) return st;
    eco_hex(out, root, sizeof root);
    return ECO_STATUS_OK;
}

/* ---- folder walk ----------------------------------------------------------------------- */

typedef struct walk_ctx {
    const char *root;        /* the folder given, for messages */
    const char *const *skip; /* NULL-terminated, may be NULL */
    eco_file_entry *files;   /* [n] collected, unsorted; names owned */
    size_t n, cap;
    unsigned char *buf;     /* [HASH_CHUNK] read buffer */
    eco_progress *progress; /* may be NULL: advanced by the megabytes hashed */
} walk_ctx;

static bool skipped(const walk_ctx *w, const char *rel) {
    if (!w->skip) return false;
    for (const char *const *s = w->skip; *s; s++)
        if (strcmp(*s, rel) == 0) return true;
    return false;
}

/* Hashes the open regular file fd to its end: *size gets the bytes read (not the size
 * fstat saw before, so a file that changes while it is read is described consistently). */
static eco_status hash_fd(walk_ctx *w, int fd, const char *rel, char hex[ECO_SHA256_HEX_LEN + 1],
                          uint64_t *size) {
    eco_sha256_ctx *c;
    eco_status st = eco_sha256_begin(&c);
    if (st != ECO_STATUS_OK) return st;
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(fd, w->buf, HASH_CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            st = eco_error(ECO_STATUS_EIO, "%s/%s: read failed: %s", w->root, rel, strerror(errno));
            break;
        }
        if (r == 0) break;
        total += (uint64_t)r;
        if ((st = eco_sha256_update(c, w->buf, (size_t)r)) != ECO_STATUS_OK) break;
        if (w->progress) eco_progress_update(w->progress, w->progress->done + (double)r / 1e6);
    }
    if (st != ECO_STATUS_OK) {
        eco_sha256_abort(c);
        return st;
    }
    uint8_t d[ECO_SHA256_LEN];
    if ((st = eco_sha256_end(c, d)) != ECO_STATUS_OK) return st;
    eco_hex(hex, d, sizeof d);
    *size = total;
    return ECO_STATUS_OK;
}

/* Hashes the regular file `name` in dirfd and appends it as rel (whose ownership passes to
 * the walk on success). */
static eco_status add_file(walk_ctx *w, int dirfd, const char *name, char *rel) {
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ELOOP)
            return eco_error(ECO_STATUS_EUNSUPPORTED,
                             "%s/%s: is a symbolic link (a manifest holds regular files only)",
                             w->root, rel);
        return eco_error(ECO_STATUS_EIO, "%s/%s: %s", w->root, rel, strerror(errno));
    }
    /* Checked again on the open file: the entry may have been replaced since fstatat. */
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s/%s: not a regular file (a manifest holds regular files only)", w->root,
                         rel);
    }
    eco_file_entry e = {.name = rel};
    eco_status st = hash_fd(w, fd, rel, e.sha256, &e.size);
    close(fd);
    if (st != ECO_STATUS_OK) return st;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        eco_file_entry *nf = cap > w->cap ? eco_malloc_array(cap, sizeof *nf) : NULL;
        if (!nf) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", w->root);
        if (w->n) memcpy(nf, w->files, w->n * sizeof *nf);
        free(w->files);
        w->files = nf;
        w->cap = cap;
    }
    w->files[w->n++] = e;
    return ECO_STATUS_OK;
}

/* Walks the folder open as dirfd (owned: closed here), whose entries are named prefix +
 * entry ("" at the top, else "a/b/"). */
static eco_status walk(walk_ctx *w, int dirfd, const char *prefix, int depth) {
    if (depth > WALK_MAX_DEPTH) {
        close(dirfd);
        return eco_error(ECO_STATUS_EUNSUPPORTED, "%s/%s: folders nested more than %d deep",
                         w->root, prefix, WALK_MAX_DEPTH);
    }
    int dfd = dup(dirfd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        eco_status st = eco_error(ECO_STATUS_EIO, "%s/%s: cannot read folder: %s", w->root, prefix,
                                  strerror(errno));
        if (dfd >= 0) close(dfd);
        close(dirfd);
        return st;
    }
    eco_status st = ECO_STATUS_OK;
    size_t plen = strlen(prefix);
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno != 0)
                st = eco_error(ECO_STATUS_EIO, "%s/%s: readdir: %s", w->root, prefix,
                               strerror(errno));
            break;
        }
        const char *name = de->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
        size_t nlen = strlen(name);
        char *rel = malloc(plen + nlen + 2);
        if (!rel) {
            st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", w->root);
            break;
        }
        memcpy(rel, prefix, plen);
        memcpy(rel + plen, name, nlen + 1);
        if (skipped(w, rel)) {
            free(rel);
            continue;
        }
        if (!eco_manifest_name_ok(rel)) {
            st = eco_error(ECO_STATUS_EUNSUPPORTED, "%s/%.200s...: name longer than %d bytes",
                           w->root, rel, NAME_MAX_BYTES);
            free(rel);
            break;
        }
        struct stat sb;
        if (fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            st = eco_error(ECO_STATUS_EIO, "%s/%s: %s", w->root, rel, strerror(errno));
            free(rel);
            break;
        }
        if (S_ISREG(sb.st_mode)) {
            st = add_file(w, dirfd, name, rel);
            if (st != ECO_STATUS_OK) {
                free(rel);
                break;
            }
        } else if (S_ISDIR(sb.st_mode)) {
            int sub = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                st = eco_error(ECO_STATUS_EIO, "%s/%s: %s", w->root, rel, strerror(errno));
                free(rel);
                break;
            }
            rel[plen + nlen] = '/';
            rel[plen + nlen + 1] = '\0';
            st = walk(w, sub, rel, depth + 1);
            free(rel);
            if (st != ECO_STATUS_OK) break;
        } else {
            st = eco_error(ECO_STATUS_EUNSUPPORTED,
                           "%s/%s: %s (a manifest holds regular files only)", w->root, rel,
                           S_ISLNK(sb.st_mode) ? "is a symbolic link" : "is a special file");
            free(rel);
            break;
        }
    }
    closedir(d);
    close(dirfd);
    return st;
}

eco_status eco_manifest_from_dir(const char *dir, const char *const *skip, eco_manifest *out) {
    return eco_manifest_from_dir_progress(dir, skip, NULL, out);
}

eco_status eco_manifest_from_dir_progress(const char *dir, const char *const *skip,
                                          eco_progress *progress, eco_manifest *out) {
    out->files = NULL;
    out->n = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        eco_status st = errno == ENOENT    ? ECO_STATUS_ENOTFOUND
                        : errno == ENOTDIR ? ECO_STATUS_EINVAL
                                           : ECO_STATUS_EIO;
        return eco_error(st, "%s: %s", dir, strerror(errno));
    }
    walk_ctx w = {.root = dir, .skip = skip, .progress = progress};
    w.buf = malloc(HASH_CHUNK);
    if (!w.buf) {
        close(fd);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
    }
    eco_status st = walk(&w, fd, "", 0);
    free(w.buf);
    eco_manifest m = {w.files, w.n};
    if (st != ECO_STATUS_OK) {
        eco_manifest_free(&m);
        return st;
    }
    /* One sort of the full names: sorting each folder's entries would put "a/b" before
     * "a.txt", but strcmp puts '.' (0x2e) before '/' (0x2f). */
    if (m.n > 1) qsort(m.files, m.n, sizeof *m.files, entry_cmp);
    *out = m;
    return ECO_STATUS_OK;
}

/* ---- JSON ------------------------------------------------------------------------------ */

eco_status eco_manifest_to_json(const eco_manifest *m, struct json_t **out) {
    *out = NULL;
    json_t *arr = json_array();
    if (!arr) return eco_error(ECO_STATUS_ENOMEM, "manifest to JSON: out of memory");
    for (size_t i = 0; i < m->n; i++) {
        const eco_file_entry *e = &m->files[i];
        /* Refuse what eco_manifest_from_json would refuse, so what is written reads back. */
        eco_status st = ECO_STATUS_OK;
        if (!eco_manifest_name_ok(e->name))
            st =
                eco_error(ECO_STATUS_EINVAL,
                          "manifest to JSON: files[%zu].name: '%.200s' is not a safe relative path",
                          i, e->name ? e->name : "(null)");
        else if (i > 0 && strcmp(m->files[i - 1].name, e->name) >= 0)
            st = eco_error(
                ECO_STATUS_EINVAL,
                "manifest to JSON: files[%zu].name: '%.200s' is not after '%.200s' (names must be "
                "sorted and unique)",
                i, e->name, m->files[i - 1].name);
        else if (!hex64_ok(e->sha256, strnlen(e->sha256, sizeof e->sha256)))
            st = eco_error(ECO_STATUS_EINVAL,
                           "manifest to JSON: files[%zu].sha256: not 64 lower-case hex digits", i);
        else if (e->size > (uint64_t)INT64_MAX)
            st = eco_error(ECO_STATUS_EOVERFLOW,
                           "manifest to JSON: files[%zu].size: %llu does not fit a JSON integer", i,
                           (unsigned long long)e->size);
        if (st != ECO_STATUS_OK) {
            json_decref(arr);
            return st;
        }
        json_t *name = json_string(e->name); /* NULL also when the name is not UTF-8 */
        if (!name) {
            json_decref(arr);
            return eco_error(ECO_STATUS_EUNSUPPORTED,
                             "manifest to JSON: files[%zu].name: '%.200s' is not valid UTF-8", i,
                             e->name);
        }
        json_t *o = json_object();
        if (!o) {
            json_decref(name);
            json_decref(arr);
            return eco_error(ECO_STATUS_ENOMEM, "manifest to JSON: out of memory");
        }
        /* The *_new setters take their value's reference even when they fail (and fail on a
         * NULL value), so only o needs releasing until it is appended. */
        if (json_object_set_new(o, "name", name) != 0 ||
            json_object_set_new(o, "sha256", json_string(e->sha256)) != 0 ||
            json_object_set_new(o, "size", json_integer((json_int_t)e->size)) != 0) {
            json_decref(o);
            json_decref(arr);
            return eco_error(ECO_STATUS_ENOMEM, "manifest to JSON: out of memory");
        }
        if (json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return eco_error(ECO_STATUS_ENOMEM, "manifest to JSON: out of memory");
        }
    }
    *out = arr;
    return ECO_STATUS_OK;
}

/* Parses files[i] (v) into *e; label and i name it in errors. */
static eco_status parse_entry(const char *label, size_t i, const json_t *v, eco_file_entry *e) {
    if (!json_is_object(v))
        return eco_error(ECO_STATUS_EFORMAT, "%s[%zu]: expected an object", label, i);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val) {
        char shown[ECO_JSON_SHOWN_SIZE]; /* a hostile key, escaped */
        if (strcmp(key, "name") != 0 && strcmp(key, "sha256") != 0 && strcmp(key, "size") != 0)
            return eco_error(ECO_STATUS_EFORMAT,
                             "%s[%zu]: unknown field '%s' (expected name, sha256, size)", label, i,
                             eco_json_shown(key, strlen(key), shown));
    }
    const json_t *jname = json_object_get(v, "name");
    const json_t *jhex = json_object_get(v, "sha256");
    const json_t *jsize = json_object_get(v, "size");
    if (!jname) return eco_error(ECO_STATUS_EFORMAT, "%s[%zu].name: missing", label, i);
    if (!jhex) return eco_error(ECO_STATUS_EFORMAT, "%s[%zu].sha256: missing", label, i);
    if (!jsize) return eco_error(ECO_STATUS_EFORMAT, "%s[%zu].size: missing", label, i);
    /* A key with a NUL byte in it ("name\u0000x") reads as "name" through the C-string
     * loop above; the count catches it. */
    if (json_object_size(v) != 3)
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s[%zu]: %zu keys (expected exactly name, sha256, size)", label, i,
                         json_object_size(v));

    if (!json_is_string(jname))
        return eco_error(ECO_STATUS_EFORMAT, "%s[%zu].name: expected a string", label, i);
    const char *name = json_string_value(jname);
    size_t len = json_string_length(jname);
    if (memchr(name, '\0', len))
        return eco_error(ECO_STATUS_EFORMAT, "%s[%zu].name: holds a NUL byte", label, i);
    if (len > NAME_MAX_BYTES)
        return eco_error(ECO_STATUS_EFORMAT, "%s[%zu].name: %zu bytes (at most %d)", label, i, len,
                         NAME_MAX_BYTES);
    if (!eco_manifest_name_ok(name))
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s[%zu].name: '%.200s' is not a safe relative path (empty, absolute, or "
                         "with an empty, '.' "
                         "or '..' component)",
                         label, i, name);

    if (!json_is_string(jhex) || !hex64_ok(json_string_value(jhex), json_string_length(jhex)))
        return eco_error(ECO_STATUS_EFORMAT, "%s[%zu].sha256: not 64 lower-case hex digits", label,
                         i);

    if (!json_is_integer(jsize))
        return eco_error(ECO_STATUS_EFORMAT, "%s[%zu].size: expected an integer", label, i);
    json_int_t size = json_integer_value(jsize);
    if (size < 0)
        return eco_error(ECO_STATUS_EFORMAT, "%s[%zu].size: %lld is negative", label, i,
                         (long long)size);

    e->name = malloc(len + 1);
    if (!e->name) return eco_error(ECO_STATUS_ENOMEM, "%s[%zu]: out of memory", label, i);
    memcpy(e->name, name, len + 1);
    memcpy(e->sha256, json_string_value(jhex), ECO_SHA256_HEX_LEN + 1);
    e->size = (uint64_t)size;
    return ECO_STATUS_OK;
}

eco_status eco_manifest_from_json(const struct json_t *j, const char *label, eco_manifest *out) {
    out->files = NULL;
    out->n = 0;
    if (!label) label = "manifest";
    if (!json_is_array(j)) return eco_error(ECO_STATUS_EFORMAT, "%s: expected an array", label);
    size_t n = json_array_size(j);
    if (n == 0) return ECO_STATUS_OK;
    eco_file_entry *files = eco_calloc_array(n, sizeof *files);
    if (!files) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory (%zu files)", label, n);
    eco_manifest m = {files, 0};
    for (size_t i = 0; i < n; i++) {
        eco_status st = parse_entry(label, i, json_array_get(j, i), &files[i]);
        if (st == ECO_STATUS_OK) m.n = i + 1; /* owns files[i].name from here */
        if (st == ECO_STATUS_OK && i > 0) {
            int c = strcmp(files[i - 1].name, files[i].name);
            if (c == 0)
                st = eco_error(ECO_STATUS_EFORMAT, "%s[%zu].name: duplicate '%.200s'", label, i,
                               files[i].name);
            else if (c > 0)
                st =
                    eco_error(ECO_STATUS_EFORMAT,
                              "%s[%zu].name: '%.200s' is not after '%.200s' (names must be sorted)",
                              label, i, files[i].name, files[i - 1].name);
        }
        if (st != ECO_STATUS_OK) {
            eco_manifest_free(&m);
            return st;
        }
    }
    *out = m;
    return ECO_STATUS_OK;
}
