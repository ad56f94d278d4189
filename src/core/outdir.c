/*
 * Output folders written as a whole (eco_output_*, core.h): a model, an adapter, a trained
 * or distilled student. The commands that make one (train, distill, pretrain, model create,
 * model merge) share these rules:
 *
 *   - the output may not be one of the inputs, nor a folder holding one (compared by device
 *     and inode, and by real path for "holds"), even with --force;
 *   - a folder holding anything but the run's working folder (keep, ".work") is refused
 *     unless ECO_OUTPUT_FORCE;
 *   - the result is written into a temporary sibling "<parent>/.<name>.tmp.<pid>.<n>" and
 *     put in place at the end by one rename (an exchange with the old folder when there is
 *     one, whose keep entry moves into the new folder first), with the files and both
 *     folders fsynced, so a crash leaves either the old folder or the new one under the
 *     final name, never half a model.
 */
#define _GNU_SOURCE /* renameat2 (RENAME_EXCHANGE), nftw */
#include "ecology/core.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_uint tmp_counter;

/* ---- removing a tree ------------------------------------------------------------------ */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

eco_status eco_remove_tree(const char *path) {
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT ? ECO_STATUS_OK
                               : eco_error(ECO_STATUS_EIO, "%s: %s", path, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) {
        if (unlink(path) != 0)
            return eco_error(ECO_STATUS_EIO, "remove %s: %s", path, strerror(errno));
        return ECO_STATUS_OK;
    }
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return eco_error(ECO_STATUS_EIO, "remove %s: %s", path, strerror(errno));
    return ECO_STATUS_OK;
}

/* ---- checks --------------------------------------------------------------------------- */

/* path without trailing slashes (but "/" stays); malloc'd. */
static char *strip_slashes(const char *path) {
    char *p = eco_strdup(path);
    if (!p) return NULL;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
    return p;
}

/* Whether input is out itself (same device and inode) or lies inside out other than under
 * out/keep (real paths). */
static bool clashes(const struct stat *osb, const char *out_real, const char *input,
                    const char *keep) {
    struct stat isb;
    if (stat(input, &isb) != 0) return false; /* a missing input is its reader's error */
    if (isb.st_dev == osb->st_dev && isb.st_ino == osb->st_ino) return true;
    char in_real[PATH_MAX];
    if (!realpath(input, in_real)) return false;
    size_t n = strlen(out_real);
    if (strncmp(in_real, out_real, n) != 0 || (in_real[n] != '/' && strcmp(out_real, "/") != 0))
        return false;
    const char *rest = in_real + n + (in_real[n] == '/');
    if (keep) {
        size_t k = strlen(keep);
        if (strncmp(rest, keep, k) == 0 && (rest[k] == '/' || rest[k] == '\0')) return false;
    }
    return true;
}

eco_status eco_output_check(const char *out, const char *const *inputs, size_t n_inputs,
                            const char *keep, unsigned flags) {
    if (!out || !*out) return eco_error(ECO_STATUS_EINVAL, "output folder: empty name");
    /* "." and ".." name no folder that can be replaced as a whole (the swap would take the
     * current folder or its parent with everything in it), whatever the flags. */
    size_t ol = strlen(out);
    while (ol > 1 && out[ol - 1] == '/') ol--;
    size_t bl = 0;
    while (bl < ol && out[ol - 1 - bl] != '/') bl++;
    const char *ob = out + ol - bl;
    if ((bl == 1 && ob[0] == '.') || (bl == 2 && ob[0] == '.' && ob[1] == '.') ||
        (ol == 1 && out[0] == '/'))
        return eco_error(ECO_STATUS_EINVAL,
                         "output folder %s: cannot be written as a whole (name a folder)", out);
    struct stat osb;
    if (stat(out, &osb) != 0) {
        if (errno == ENOENT) return ECO_STATUS_OK;
        return eco_error(ECO_STATUS_EIO, "output folder %s: %s", out, strerror(errno));
    }
    if (!S_ISDIR(osb.st_mode))
        return eco_error(ECO_STATUS_EEXIST, "output folder %s: exists and is not a folder", out);
    char out_real[PATH_MAX];
    if (!realpath(out, out_real))
        return eco_error(ECO_STATUS_EIO, "output folder %s: %s", out, strerror(errno));
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd)) { /* the current folder, or one that holds it: never replaced */
        size_t rl = strlen(out_real);
        if (strncmp(cwd, out_real, rl) == 0 && (cwd[rl] == '\0' || cwd[rl] == '/' || rl == 1))
            return eco_error(ECO_STATUS_EINVAL,
                             "output folder %s is the current folder or holds it: choose another "
                             "output",
                             out);
    }
    for (size_t i = 0; i < n_inputs; i++) {
        if (!inputs[i]) continue;
        if (clashes(&osb, out_real, inputs[i], keep))
            return eco_error(ECO_STATUS_EINVAL,
                             "output folder %s is the input %s or holds it: choose another output",
                             out, inputs[i]);
    }
    if (flags & ECO_OUTPUT_FORCE) return ECO_STATUS_OK;
    DIR *d = opendir(out);
    if (!d) return eco_error(ECO_STATUS_EIO, "output folder %s: %s", out, strerror(errno));
    char names[160] = "";
    size_t shown = 0, count = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (keep && strcmp(e->d_name, keep) == 0) continue;
        if (count++ < 3) {
            size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, "%s%.40s", shown++ ? ", " : "", e->d_name);
        }
    }
    closedir(d);
    if (count == 0) return ECO_STATUS_OK;
    return eco_error(
        ECO_STATUS_EEXIST,
        "output folder %s is not empty (holds %s%s): give --force to replace it, or another folder",
        out, names, count > 3 ? ", ..." : "");
}

/* ---- begin, commit, abort --------------------------------------------------------------- */

void eco_output_abort(eco_output_dir *o) {
    if (!o) return;
    if (o->tmp) (void)eco_remove_tree(o->tmp);
    free(o->tmp);
    free(o->path);
    free(o->keep);
    memset(o, 0, sizeof *o);
}

eco_status eco_output_begin(eco_output_dir *o, const char *out, const char *const *inputs,
                            size_t n_inputs, const char *keep, unsigned flags) {
    memset(o, 0, sizeof *o);
    eco_status st = eco_output_check(out, inputs, n_inputs, keep, flags);
    if (st) return st;
    char real[PATH_MAX];
    /* An existing folder (or a link to one) is replaced where it really is. */
    o->path = eco_path_is_dir(out) && realpath(out, real) ? eco_strdup(real) : strip_slashes(out);
    o->keep = keep ? eco_strdup(keep) : NULL;
    if (!o->path || (keep && !o->keep)) {
        eco_output_abort(o);
        return eco_error(ECO_STATUS_ENOMEM, "output folder %s: out of memory", out);
    }
    const char *slash = strrchr(o->path, '/');
    const char *base = slash ? slash + 1 : o->path;
    size_t plen = slash ? (size_t)(slash - o->path) : 0;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        eco_output_abort(o);
        return eco_error(ECO_STATUS_EINVAL,
                         "output folder %s: cannot be written as a whole (name it)", out);
    }
    if (slash && plen > 0) {
        char *parent = strndup(o->path, plen);
        st = parent ? eco_mkdir_p(parent) : eco_error(ECO_STATUS_ENOMEM, "out of memory");
        free(parent);
        if (st) {
            eco_output_abort(o);
            return st;
        }
    }
    size_t n = strlen(o->path) + 64;
    if (!(o->tmp = malloc(n))) {
        eco_output_abort(o);
        return eco_error(ECO_STATUS_ENOMEM, "output folder %s: out of memory", out);
    }
    snprintf(o->tmp, n, "%.*s%s.%s.tmp.%ld.%u", (int)plen, o->path, slash ? "/" : "", base,
             (long)getpid(), atomic_fetch_add(&tmp_counter, 1));
    if (mkdir(o->tmp, 0777) != 0) {
        st = eco_error(ECO_STATUS_EIO, "output folder %s: cannot create %s: %s", out, o->tmp,
                       strerror(errno));
        free(o->tmp);
        o->tmp = NULL; /* not ours: do not remove */
        eco_output_abort(o);
        return st;
    }
    return ECO_STATUS_OK;
}

static int fsync_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)ftw;
    if (flag != FTW_F && flag != FTW_D && flag != FTW_DP) return 0;
    int fd = open(path, (S_ISDIR(sb->st_mode) ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static eco_status fsync_path(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    eco_status st = ECO_STATUS_OK;
    if (fd < 0 || fsync(fd) != 0)
        st = eco_error(ECO_STATUS_EIO, "fsync of folder %s: %s", path, strerror(errno));
    if (fd >= 0) close(fd);
    return st;
}

/* Puts tmp where path is, the old folder (if any) ending at tmp's name: an atomic exchange
 * where the file system has one, else two renames. *had_old says whether there was one. */
static eco_status swap_in(const char *tmp, const char *path, bool *had_old) {
    *had_old = false;
    if (rename(tmp, path) == 0) return ECO_STATUS_OK; /* no folder (or an empty one) there */
    if (errno != EEXIST && errno != ENOTEMPTY)
        return eco_error(ECO_STATUS_EIO, "rename %s -> %s: %s", tmp, path, strerror(errno));
    *had_old = true;
#ifdef RENAME_EXCHANGE
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) return ECO_STATUS_OK;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return eco_error(ECO_STATUS_EIO, "exchange %s <-> %s: %s", tmp, path, strerror(errno));
#endif
    /* No exchange on this file system: old out of the way, new in, old to tmp's name. */
    size_t n = strlen(tmp) + 8;
    char *old = malloc(n);
    if (!old) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    snprintf(old, n, "%s.old", tmp);
    eco_status st = ECO_STATUS_OK;
    if (rename(path, old) != 0) {
        st = eco_error(ECO_STATUS_EIO, "rename %s -> %s: %s", path, old, strerror(errno));
    } else if (rename(tmp, path) != 0) {
        st = eco_error(ECO_STATUS_EIO, "rename %s -> %s: %s", tmp, path, strerror(errno));
        (void)rename(old, path);
    } else if (rename(old, tmp) != 0) {
        st = eco_error(ECO_STATUS_EIO, "rename %s -> %s: %s", old, tmp, strerror(errno));
    }
    free(old);
    return st;
}

eco_status eco_output_commit(eco_output_dir *o) {
    if (!o || !o->tmp || !o->path) {
        eco_output_abort(o);
        return eco_error(ECO_STATUS_EINVAL, "output folder: commit without begin");
    }
    eco_status st = ECO_STATUS_OK;
    if (nftw(o->tmp, fsync_entry, 16, FTW_PHYS) != 0)
        st = eco_error(ECO_STATUS_EIO, "fsync of %s: %s", o->tmp, strerror(errno));
    char *kept_from = NULL, *kept_to = NULL;
    bool moved = false;
    if (!st && o->keep) {
        kept_from = eco_path_join(o->path, o->keep);
        kept_to = eco_path_join(o->tmp, o->keep);
        if (!kept_from || !kept_to) st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
        struct stat sb;
        if (!st && lstat(kept_from, &sb) == 0) {
            if (rename(kept_from, kept_to) != 0)
                st = eco_error(ECO_STATUS_EIO, "rename %s -> %s: %s", kept_from, kept_to,
                               strerror(errno));
            else
                moved = true;
        }
    }
    bool had_old = false;
    if (!st) st = swap_in(o->tmp, o->path, &had_old);
    if (st && moved) (void)rename(kept_to, kept_from); /* the working folder goes back */
    free(kept_from);
    free(kept_to);
    if (!st) {
        /* the parent folder's entries (and the new folder's) reach the disk */
        char *slash = strrchr(o->path, '/');
        char *parent = slash ? (slash == o->path ? eco_strdup("/")
                                                 : strndup(o->path, (size_t)(slash - o->path)))
                             : eco_strdup(".");
        st = parent ? fsync_path(parent) : eco_error(ECO_STATUS_ENOMEM, "out of memory");
        free(parent);
        if (!had_old) {
            free(o->tmp); /* renamed into place: nothing left to remove */
            o->tmp = NULL;
        }
    }
    eco_output_abort(o); /* removes the old folder (now at tmp's name), or the failed tmp */
    return st;
}
