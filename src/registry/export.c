/*
 * export: a registered model written out as a folder (its files, genome.json and
 * signature.json) that eco_verify_dir / `ecology verify DIR` checks anywhere.
 *
 * Nothing half-written is ever visible under the destination name: everything goes into a
 * sibling staging folder "<out>.partial-<pid>", each object re-hashed on the way out
 * (unless the registry was opened with trust_cache), and the staging folder is renamed to
 * <out> at the end; on failure it is removed.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include "ecology/registry.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
    (void)sb;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

/* Removes a staging folder and everything in it (best effort: it is ours and incomplete). */
static void remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* out_dir must be absent or an empty folder. *was_empty tells which. */
static eco_status check_out_dir(const char *out_dir, bool *was_empty) {
    struct stat sb;
    *was_empty = false;
    if (stat(out_dir, &sb) != 0) return ECO_STATUS_OK;
    if (!S_ISDIR(sb.st_mode))
        return eco_error(ECO_STATUS_EEXIST, "export: %s exists and is not a folder", out_dir);
    eco_manifest m = {0};
    eco_status st = eco_manifest_from_dir(out_dir, NULL, &m);
    size_t n = m.n;
    eco_manifest_free(&m);
    if (st != ECO_STATUS_OK) return st;
    if (n > 0) return eco_error(ECO_STATUS_EEXIST, "export: %s is not empty", out_dir);
    *was_empty = true;
    return ECO_STATUS_OK;
}

/* Writes text to dir/name atomically. */
static eco_status write_text(const char *dir, const char *name, const char *text, size_t len) {
    char *path = eco_path_join(dir, name);
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "export: out of memory");
    eco_status st = eco_write_file_atomic(path, text, len);
    free(path);
    return st;
}

/* Every file of g, copied out of the store into dir (nested names get their folders). */
static eco_status copy_files(eco_registry *r, const eco_genome *g, const char *dir) {
    for (size_t i = 0; i < g->files.n; i++) {
        const eco_file_entry *e = &g->files.files[i];
        char *path = eco_path_join(dir, e->name);
        if (!path) return eco_error(ECO_STATUS_ENOMEM, "export: out of memory");
        eco_status st = ECO_STATUS_OK;
        char *slash = strrchr(path, '/');
        if (slash && slash > path + strlen(dir)) { /* a nested name: make its folder */
            *slash = '\0';
            st = eco_mkdir_p(path);
            *slash = '/';
        }
        if (st == ECO_STATUS_OK)
            st = eco_store_verify_object(eco_registry_store(r), e->sha256, e->size,
                                         eco_registry_trust_cache(r));
        if (st == ECO_STATUS_OK) st = eco_store_copy_out(eco_registry_store(r), e->sha256, path);
        free(path);
        if (st != ECO_STATUS_OK) return eco_error_wrap(st, "export '%s': file %s", g->id, e->name);
    }
    return ECO_STATUS_OK;
}

eco_status eco_registry_export(eco_registry *r, const char *id, const char *out_dir) {
    if (!r || !id || !out_dir || !out_dir[0])
        return eco_error(ECO_STATUS_EINVAL, "export: NULL argument");
    eco_genome g = {0};
    char *envelope = NULL, *canon = NULL, *staging = NULL;
    size_t clen = 0;
    bool was_empty = false, staged = false;
    eco_status st = eco_registry_get(r, id, &g, &envelope);
    if (st != ECO_STATUS_OK) return st;
    if ((st = check_out_dir(out_dir, &was_empty)) != ECO_STATUS_OK) goto out;
    size_t n = strlen(out_dir) + 48;
    if (!(staging = malloc(n))) {
        st = eco_error(ECO_STATUS_ENOMEM, "export: out of memory");
        goto out;
    }
    snprintf(staging, n, "%s.partial-%ld", out_dir, (long)getpid());
    remove_tree(staging); /* a leftover of a killed export by a process with our pid */
    if ((st = eco_mkdir_p(staging)) != ECO_STATUS_OK) goto out;
    staged = true;
    if ((st = copy_files(r, &g, staging)) != ECO_STATUS_OK) goto out;
    if ((st = eco_genome_to_canonical(&g, &canon, &clen)) != ECO_STATUS_OK) goto out;
    if ((st = write_text(staging, ECO_GENOME_FILE, canon, clen)) != ECO_STATUS_OK) goto out;
    if (envelope &&
        (st = write_text(staging, ECO_SIGNATURE_FILE, envelope, strlen(envelope))) != ECO_STATUS_OK)
        goto out;
    if (was_empty && rmdir(out_dir) != 0) {
        st = eco_error(ECO_STATUS_EIO, "export: remove empty %s: %s", out_dir, strerror(errno));
        goto out;
    }
    if (rename(staging, out_dir) != 0) {
        st = eco_error(ECO_STATUS_EIO, "export: rename %s to %s: %s", staging, out_dir,
                       strerror(errno));
        goto out;
    }
    staged = false;
out:
    if (staged) remove_tree(staging);
    free(staging);
    free(canon);
    free(envelope);
    eco_genome_free(&g);
    return st;
}
