/*
 * artifacts: the content-addressed, immutable file store and file manifests.
 *
 * Everything a run produces lives under one data folder: `--data-dir`, else $ECOLOGY_DATA,
 * else ./ecology-data. Its layout:
 *
 *   <data>/objects/sha256/<2 hex>/<62 hex>   one file per distinct content, mode 0444
 *   <data>/tmp/                              staging for objects being written
 *   <data>/verified                          the trust cache: "<hex> <size> <mtime_ns>" lines
 *   <data>/registry.db                       the registry (see registry.h)
 *   <data>/keys/                             signing keys; keys/trusted/ public keys trusted
 *
 * An object is written once: copied into tmp/ while hashing, fsync'd, renamed to its
 * digest's name, the folder fsync'd, made read-only. Identical content is stored once (a
 * second put of the same bytes writes nothing). A crash at any point leaves either no
 * object or a complete one; leftovers in tmp/ are ignored, and removed by a later open once
 * the process that wrote them is gone (temp names carry the writer's pid: "put.<pid>.XXXXXX").
 *
 * A manifest lists a model's files: (name, size, SHA-256) sorted by name, names relative
 * to the model folder with '/' separators, no "..", no absolute paths. Its root digest is
 * SHA-256 over the concatenated 32-byte digests of the files in name order (the subject
 * digest of the model's signed statement, see signing.h).
 */
#ifndef ECOLOGY_ARTIFACTS_H
#define ECOLOGY_ARTIFACTS_H

#include "ecology/contracts.h"
#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECO_DATA_DIR_DEFAULT "./ecology-data"
#define ECO_DATA_DIR_ENV     "ECOLOGY_DATA"

/* The data folder to use: explicit (may be NULL) > $ECOLOGY_DATA > ./ecology-data; an empty
 * string counts as not given. Returns a malloc'd string (caller frees), NULL only when out
 * of memory. */
char *eco_data_dir_resolve(const char *explicit_dir);

/* ---- manifest ----------------------------------------------------------------------- */

/* eco_file_entry and eco_manifest (a model's files) are defined in contracts.h, beside the
 * genome that holds them. */

/* Hashes every regular file under dir (recursively; symlinks and special files are
 * refused naming them) except names listed in skip (NULL-terminated, may be NULL: e.g.
 * "genome.json", "signature.json"), into a sorted manifest. skip entries match whole
 * relative names ("genome.json" skips only the top-level one); a skipped folder is skipped
 * with everything in it. ENOTFOUND when dir is absent, EINVAL when it is not a folder,
 * EUNSUPPORTED for a symlink or special file. Caller frees with eco_manifest_free. */
eco_status eco_manifest_from_dir(const char *dir, const char *const *skip, eco_manifest *out);
/* The same, advancing progress (may be NULL) by the megabytes hashed as it goes (the caller
 * begins and ends it: `add` of a large model shows one line for hashing and storing). */
eco_status eco_manifest_from_dir_progress(const char *dir, const char *const *skip,
                                          eco_progress *progress, eco_manifest *out);
void eco_manifest_free(eco_manifest *m);
/* Deep copy. */
eco_status eco_manifest_copy(eco_manifest *dst, const eco_manifest *src);
/* Finds an entry by name; NULL if absent. */
const eco_file_entry *eco_manifest_find(const eco_manifest *m, const char *name);
/* The root digest (see the header comment) as lower-case hex. */
eco_status eco_manifest_root(const eco_manifest *m, char out[ECO_SHA256_HEX_LEN + 1]);
/* JSON: [{"name": "...", "sha256": "...", "size": N}, ...] in name order. The returned
 * json_t is a new reference (caller json_decref's). Refuses (EINVAL) a manifest that
 * eco_manifest_from_json would refuse (unsafe, unsorted or duplicate names, bad hex),
 * EUNSUPPORTED a name that is not UTF-8, EOVERFLOW a size over INT64_MAX. */
eco_status eco_manifest_to_json(const eco_manifest *m, struct json_t **out);
/* Parses that JSON (hostile input): every entry an object with exactly those three keys,
 * name a safe relative path (non-empty, no leading '/', no "." or ".." component, no
 * empty component, no NUL, at most 4096 bytes), sha256 64 lower-case hex, size a
 * non-negative integer; names sorted and unique. EFORMAT otherwise, with out left empty.
 * Messages are label (NULL: "manifest") then the field: with label "genome.json: files",
 * "genome.json: files[3].sha256: not 64 lower-case hex digits". */
eco_status eco_manifest_from_json(const struct json_t *j, const char *label, eco_manifest *out);
/* Whether name is a safe relative path as above. */
bool eco_manifest_name_ok(const char *name);

/* ---- store -------------------------------------------------------------------------- */

typedef struct eco_store eco_store;

/* Opens (creating the folders if needed) the store under data_dir; removes stale files in
 * tmp/. Caller closes with eco_store_close. */
eco_status eco_store_open(const char *data_dir, eco_store **out);
/* Opens the store of an existing data folder for reading only: creates and removes nothing,
 * appends nothing to the trust cache, and every put fails (EIO "opened read-only"). For a
 * data folder that may be read-only (a mounted snapshot, another user's registry). */
eco_status eco_store_open_readonly(const char *data_dir, eco_store **out);
void eco_store_close(eco_store *s);
/* The data folder the store was opened on. */
const char *eco_store_data_dir(const eco_store *s);

/* Stores the content of the file at path; *hex receives its SHA-256, *size its bytes (either
 * may be NULL). When an object with that digest exists it is re-hashed: intact, nothing is
 * written; damaged (another size, or other bytes), it is replaced atomically and its digest
 * queued for eco_store_pop_repaired. ENOTFOUND when path is absent, EINVAL when it is not a
 * regular file. */
eco_status eco_store_put_file(eco_store *s, const char *path, char hex[ECO_SHA256_HEX_LEN + 1],
                              uint64_t *size);
/* The same, advancing progress (may be NULL) by the megabytes copied. */
eco_status eco_store_put_file_progress(eco_store *s, const char *path,
                                       char hex[ECO_SHA256_HEX_LEN + 1], uint64_t *size,
                                       eco_progress *progress);
/* The same for bytes in memory. */
eco_status eco_store_put_bytes(eco_store *s, const void *data, size_t len,
                               char hex[ECO_SHA256_HEX_LEN + 1]);
/* Takes the digest of the oldest damaged object a put of this handle replaced (true), or
 * says there is none (false). At most 64 are queued per handle; more are only logged. */
bool eco_store_pop_repaired(eco_store *s, char hex[ECO_SHA256_HEX_LEN + 1]);
/* Path of the object with that digest (malloc'd, caller frees; the file may not exist).
 * NULL when hex is not 64 lower-case hex digits (so it never names a path outside the
 * store) or out of memory. */
char *eco_store_object_path(const eco_store *s, const char *hex);
/* Whether an object with that digest is stored. */
bool eco_store_has(const eco_store *s, const char *hex);
/* Checks a stored object: exists (ENOTFOUND), has `size` bytes and hashes to hex
 * (EINTEGRITY, naming the object). With trust_cache, an object whose size and mtime
 * match a line of <data>/verified is accepted without re-hashing; every full check that
 * passes appends such a line (unless it is there). So with trust_cache, a change that keeps
 * size and mtime goes unnoticed: pass false where tampering must be caught. EINVAL when hex
 * is not 64 lower-case hex digits. */
eco_status eco_store_verify_object(eco_store *s, const char *hex, uint64_t size, bool trust_cache);
/* Copies object hex to dst_path (atomically), e.g. to export or materialise a model. The
 * copy is hashed as it is made: a damaged object gives EINTEGRITY and leaves dst_path as it
 * was. ENOTFOUND when the object is absent. */
eco_status eco_store_copy_out(const eco_store *s, const char *hex, const char *dst_path);

#ifdef __cplusplus
}
#endif
#endif
