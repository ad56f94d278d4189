/*
 * checkout: a registered model, named by its id or an alias, as a folder on disk that the
 * loaders read (eco_registry_checkout), made of the store's verified objects.
 *
 *   <data>/checkouts/<id>/<file>   hard links to the store's objects (mode 0444), or copies
 *                                  (made read-only) where the file system refuses links
 *
 * The folders stay writable, so that removing the data folder needs no chmod; a file added
 * to a checkout only makes the next call rebuild it.
 *
 * Every call first verifies each of the model's objects (eco_store_verify_object, with the
 * handle's trust cache), so a damaged object fails the load with a message naming the file.
 * An existing checkout is reused when it holds exactly the model's files, each the store's
 * object itself (same inode) or, for a copy, bytes that hash to the recorded digest.
 * Otherwise it is built in a staging sibling ".<id>.partial-<pid>" and renamed into place
 * (an invalid one is first renamed aside to ".<id>.old-<pid>" and removed), so no reader
 * ever sees half a checkout. Builders of one id take turns (flock on ".<id>.lock"): two
 * processes checking out the same model at once build it once and both use it.
 */
#include "registry/registry_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECKOUT_DIR       "checkouts"
#define CHECKOUT_MAX_DEPTH 32

eco_status eco_registry_resolve(eco_registry *r, const char *ref, char **id) {
    *id = NULL;
    if (!r || !ref || !eco_model_id_ok(ref))
        return eco_error(ECO_STATUS_EINVAL, "'%s' is not a model id or alias name",
                         ref ? ref : "(null)");
    if (eco_registry_exists(r, ref)) {
        *id = eco_strdup(ref);
        return *id ? ECO_STATUS_OK
                   : eco_error(ECO_STATUS_ENOMEM, "resolve '%s': out of memory", ref);
    }
    eco_status st = eco_registry_alias_get(r, ref, id);
    if (st == ECO_STATUS_ENOTFOUND)
        return eco_error(ECO_STATUS_ENOTFOUND, "no model or alias '%s' in the registry %s", ref,
                         eco_registry_data_dir(r));
    return st;
}

/* Removes a folder we own and everything in it, read-only folders included (best effort). */
static void remove_tree(const char *path, int depth) {
    struct stat sb;
    if (lstat(path, &sb) != 0) return;
    if (!S_ISDIR(sb.st_mode) || depth > CHECKOUT_MAX_DEPTH) {
        unlink(path);
        return;
    }
    chmod(path, 0700);
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
            char *child = eco_path_join(path, de->d_name);
            if (child) remove_tree(child, depth + 1);
            free(child);
        }
        closedir(d);
    }
    rmdir(path);
}

/* How many entries that are not folders lie under path; *odd is set by anything that is
 * neither a regular file nor a folder. */
static size_t count_files(const char *path, bool *odd, int depth) {
    size_t n = 0;
    DIR *d = depth <= CHECKOUT_MAX_DEPTH ? opendir(path) : NULL;
    if (!d) {
        *odd = true;
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *child = eco_path_join(path, de->d_name);
        struct stat sb;
        if (!child || lstat(child, &sb) != 0)
            *odd = true;
        else if (S_ISDIR(sb.st_mode))
            n += count_files(child, odd, depth + 1);
        else {
            if (!S_ISREG(sb.st_mode)) *odd = true;
            n++;
        }
        free(child);
    }
    closedir(d);
    return n;
}

/* Whether dir holds exactly g's files, each the store's object (same inode) or a regular
 * file of its size whose bytes hash to its digest. */
static bool checkout_valid(eco_registry *r, const eco_genome *g, const char *dir) {
    struct stat sb;
    if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) return false;
    bool odd = false;
    if (count_files(dir, &odd, 0) != g->files.n || odd) return false;
    for (size_t i = 0; i < g->files.n; i++) {
        const eco_file_entry *e = &g->files.files[i];
        char *path = eco_path_join(dir, e->name);
        char *obj = eco_store_object_path(eco_registry_store(r), e->sha256);
        struct stat fs, os;
        bool ok = path && obj && lstat(path, &fs) == 0 && S_ISREG(fs.st_mode) &&
                  (uint64_t)fs.st_size == e->size;
        if (ok && !(stat(obj, &os) == 0 && os.st_dev == fs.st_dev && os.st_ino == fs.st_ino)) {
            uint8_t d[ECO_SHA256_LEN];
            char hex[ECO_SHA256_HEX_LEN + 1];
            ok = eco_sha256_file(path, d) == ECO_STATUS_OK;
            if (ok) {
                eco_hex(hex, d, sizeof d);
                ok = strcmp(hex, e->sha256) == 0;
            } else {
                eco_clear_error();
            }
        }
        free(path);
        free(obj);
        if (!ok) return false;
    }
    return true;
}

/* Every file of g into the (new, empty) folder dir: a hard link to its object, or a
 * read-only copy where linking fails. */
static eco_status fill(eco_registry *r, const eco_genome *g, const char *dir) {
    for (size_t i = 0; i < g->files.n; i++) {
        const eco_file_entry *e = &g->files.files[i];
        char *path = eco_path_join(dir, e->name);
        char *obj = eco_store_object_path(eco_registry_store(r), e->sha256);
        eco_status st = path && obj ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "out of memory");
        char *slash = path ? strrchr(path, '/') : NULL;
        if (st == ECO_STATUS_OK && slash && slash > path + strlen(dir)) { /* a nested name */
            *slash = '\0';
            st = eco_mkdir_p(path);
            *slash = '/';
        }
        if (st == ECO_STATUS_OK && link(obj, path) != 0) {
            st = eco_store_copy_out(eco_registry_store(r), e->sha256, path);
            if (st == ECO_STATUS_OK) chmod(path, 0444);
        }
        free(path);
        free(obj);
        if (st != ECO_STATUS_OK) return eco_error_wrap(st, "file %s", e->name);
    }
    return ECO_STATUS_OK;
}

/* Under the id's lock no other builder has a staging folder: every ".<id>.partial-<pid>"
 * and ".<id>.old-<pid>" in parent is a leftover of a process killed while building;
 * removed. */
static void remove_leftovers(const char *parent, const char *id) {
    DIR *d = opendir(parent);
    if (!d) return;
    size_t n = strlen(id);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *s = de->d_name;
        if (s[0] != '.' || strncmp(s + 1, id, n) != 0 || s[1 + n] != '.') continue;
        const char *pid = strncmp(s + 2 + n, "partial-", 8) == 0 ? s + 10 + n
                          : strncmp(s + 2 + n, "old-", 4) == 0   ? s + 6 + n
                                                                 : NULL;
        if (!pid || !*pid || strspn(pid, "0123456789") != strlen(pid)) continue; /* another id's */
        char *path = eco_path_join(parent, s);
        if (path) remove_tree(path, 0);
        free(path);
    }
    closedir(d);
}

/* A staging name beside final: "<parent>/.<id>.<what>-<pid>" (malloc'd). */
static char *sibling(const char *parent, const char *id, const char *what) {
    size_t n = strlen(parent) + strlen(id) + strlen(what) + 32;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s/.%s.%s-%ld", parent, id, what, (long)getpid());
    return s;
}

/* Builds the checkout of g at final (under parent) unless a valid one is there. Builders
 * of one id take turns (an flock on "<parent>/.<id>.lock"), so a checkout is only ever
 * replaced when it is invalid, never one that another builder has just made. */
static eco_status materialise(eco_registry *r, const eco_genome *g, const char *parent,
                              const char *final) {
    if (checkout_valid(r, g, final)) return ECO_STATUS_OK;
    char *lock_path = sibling(parent, g->id, "lock");
    char *staging = sibling(parent, g->id, "partial");
    char *old = sibling(parent, g->id, "old");
    eco_status st =
        staging && old && lock_path ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "out of memory");
    int lock_fd = -1;
    if (st == ECO_STATUS_OK) {
        *strrchr(lock_path, '-') = '\0'; /* one lock per id, whatever the pid */
        lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lock_fd < 0) st = eco_error(ECO_STATUS_EIO, "%s: %s", lock_path, strerror(errno));
    }
    while (st == ECO_STATUS_OK && flock(lock_fd, LOCK_EX) != 0)
        if (errno != EINTR)
            st = eco_error(ECO_STATUS_EIO, "lock %s: %s", lock_path, strerror(errno));
    bool done = st == ECO_STATUS_OK && checkout_valid(r, g, final); /* built while we waited */
    if (st == ECO_STATUS_OK && !done) {
        remove_leftovers(parent, g->id);
        st = eco_mkdir_p(staging);
    }
    if (st == ECO_STATUS_OK && !done) st = fill(r, g, staging);
    if (st == ECO_STATUS_OK && !done) {
        struct stat sb;
        if (lstat(final, &sb) == 0 && rename(final, old) != 0 && errno != ENOENT)
            st = eco_error(ECO_STATUS_EIO, "rename %s to %s: %s", final, old, strerror(errno));
    }
    if (st == ECO_STATUS_OK && !done && rename(staging, final) != 0)
        st = eco_error(ECO_STATUS_EIO, "rename %s to %s: %s", staging, final, strerror(errno));
    if (staging && !done) remove_tree(staging, 0);
    if (old && !done) remove_tree(old, 0);
    if (lock_fd >= 0) close(lock_fd); /* releases the lock */
    free(lock_path);
    free(staging);
    free(old);
    return st;
}

eco_status eco_registry_checkout(eco_registry *r, const char *ref, char **dir,
                                 eco_genome *genome_out) {
    *dir = NULL;
    if (!r || !ref) return eco_error(ECO_STATUS_EINVAL, "checkout: NULL argument");
    char *id = NULL, *parent = NULL, *final = NULL;
    eco_genome g = {0};
    eco_status st = eco_registry_resolve(r, ref, &id);
    if (st != ECO_STATUS_OK) return st;
    if ((st = eco_registry_get(r, id, &g, NULL)) != ECO_STATUS_OK) goto out;
    for (size_t i = 0; i < g.files.n; i++) {
        const eco_file_entry *e = &g.files.files[i];
        st = eco_store_verify_object(eco_registry_store(r), e->sha256, e->size,
                                     eco_registry_trust_cache(r));
        if (st != ECO_STATUS_OK) {
            eco_error_wrap(st, "model '%s': file %s", id, e->name);
            goto out;
        }
    }
    parent = eco_path_join(eco_registry_data_dir(r), CHECKOUT_DIR);
    final = parent ? eco_path_join(parent, id) : NULL;
    if (!final) {
        st = eco_error(ECO_STATUS_ENOMEM, "checkout '%s': out of memory", id);
        goto out;
    }
    if ((st = eco_mkdir_p(parent)) != ECO_STATUS_OK ||
        (st = materialise(r, &g, parent, final)) != ECO_STATUS_OK) {
        eco_error_wrap(st, "model '%s': checkout in %s", id, parent);
        goto out;
    }
    *dir = final;
    final = NULL;
    if (genome_out) {
        *genome_out = g;
        memset(&g, 0, sizeof g);
    }
out:
    eco_genome_free(&g);
    free(final);
    free(parent);
    free(id);
    return st;
}
