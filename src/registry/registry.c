/*
 * The registry: backend-independent logic over a storage backend (registry_backend.h).
 *
 * This file decides what may be recorded (ids valid, genomes well-formed, files present in
 * the store with their sizes, parents and base registered, the signature policy, alias
 * compare-and-swap) and what each audit event says; the backend only stores rows. Every
 * write runs inside one backend transaction that takes the write lock at its start, so a
 * check and the insert that depends on it cannot interleave with another writer.
 *
 * Work that does not depend on the database (serialising the genome, statting store
 * objects, verifying the signature) happens before the transaction, to keep the write lock
 * short.
 */
#include "registry/registry_backend.h"
#include "registry/registry_internal.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct eco_registry {
    char *data_dir;    /* resolved data folder */
    char *trusted_dir; /* folder of trusted *.pub keys */
    bool require_signature;
    bool trust_cache; /* reads may skip re-hashing objects verified before */
    bool read_only;   /* opened read-only: nothing under data_dir is written */
    eco_store *store; /* the artifact store under data_dir */
    eco_registry_backend *be;
};

void eco_registry_now_rfc3339(char out[32]) {
    time_t t = time(NULL);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* Canonical JSON text of an object built by the caller; consumes the reference. */
static eco_status detail_text(json_t *obj, char **out) {
    *out = NULL;
    if (!obj) return eco_error(ECO_STATUS_ENOMEM, "event detail: out of memory");
    eco_status st = eco_json_canonical(obj, out, NULL);
    json_decref(obj);
    return st;
}

/* ---- init / open / close --------------------------------------------------------------- */

eco_status eco_registry_init(const char *data_dir) {
    char *dir = eco_data_dir_resolve(data_dir);
    if (!dir) return eco_error(ECO_STATUS_ENOMEM, "registry init: out of memory");
    eco_status st = eco_mkdir_p(dir);
    eco_store *store = NULL;
    char *db_path = NULL;
    eco_registry_backend *be = NULL;
    if (st) goto done;
    if ((st = eco_store_open(dir, &store))) goto done;
    eco_store_close(store);
    db_path = eco_path_join(dir, ECO_REGISTRY_DB_FILE);
    if (!db_path) {
        st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
        goto done;
    }
    if ((st = eco_registry_sqlite_open(db_path, true, false, &be))) goto done;
    be->close(be);
    char *keys = eco_path_join(dir, "keys"),
         *trusted = keys ? eco_path_join(keys, "trusted") : NULL;
    st = trusted ? eco_mkdir_p(trusted) : eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
    free(trusted);
    free(keys);
done:
    if (st) eco_error_wrap(st, "registry init %s", dir);
    free(db_path);
    free(dir);
    return st;
}

eco_status eco_registry_open(const eco_registry_options *opt, eco_registry **out) {
    *out = NULL;
    eco_registry_options defaults = {0};
    if (!opt) opt = &defaults;
    eco_registry *r = calloc(1, sizeof *r);
    if (!r) return eco_error(ECO_STATUS_ENOMEM, "registry open: out of memory");
    eco_status st = ECO_STATUS_OK;
    char *db_path = NULL;
    r->data_dir = eco_data_dir_resolve(opt->data_dir);
    if (!r->data_dir || !(db_path = eco_path_join(r->data_dir, ECO_REGISTRY_DB_FILE))) {
        st = eco_error(ECO_STATUS_ENOMEM, "registry open: out of memory");
        goto fail;
    }
    struct stat sb;
    if (stat(db_path, &sb) != 0) {
        st = errno == ENOENT
                 ? eco_error(ECO_STATUS_ENOTFOUND, "%s: not an initialised registry (no %s)",
                             r->data_dir, ECO_REGISTRY_DB_FILE)
                 : eco_error(ECO_STATUS_EIO, "%s: %s", db_path, strerror(errno));
        goto fail;
    }
    /* the folder's policy binds every opener; the options can only add to it */
    bool policy_requires = false;
    if ((st = eco_registry_policy_get(r->data_dir, &policy_requires))) goto fail;
    r->require_signature = opt->require_signature || policy_requires;
    r->trust_cache = opt->trust_cache;
    r->trusted_dir = opt->trusted_dir ? eco_strdup(opt->trusted_dir)
                                      : eco_path_join(r->data_dir, "keys/trusted");
    if (!r->trusted_dir) {
        st = eco_error(ECO_STATUS_ENOMEM, "registry open: out of memory");
        goto fail;
    }
    /* A folder this process cannot write to is opened read-only whatever was asked: reading
     * works, and a write says why it cannot. */
    r->read_only = opt->read_only || faccessat(AT_FDCWD, r->data_dir, W_OK, AT_EACCESS) != 0;
    if (r->read_only && !opt->read_only)
        ECO_DEBUG("registry %s: not writable (%s): opened read-only", r->data_dir, strerror(errno));
    if ((st = r->read_only ? eco_store_open_readonly(r->data_dir, &r->store)
                           : eco_store_open(r->data_dir, &r->store)))
        goto fail;
    if ((st = eco_registry_sqlite_open(db_path, false, r->read_only, &r->be))) goto fail;
    free(db_path);
    *out = r;
    return ECO_STATUS_OK;
fail:
    free(db_path);
    eco_registry_close(r);
    return st;
}

void eco_registry_close(eco_registry *r) {
    if (!r) return;
    if (r->be) r->be->close(r->be);
    if (r->store) eco_store_close(r->store);
    free(r->trusted_dir);
    free(r->data_dir);
    free(r);
}

eco_store *eco_registry_store(eco_registry *r) { return r->store; }
const char *eco_registry_data_dir(const eco_registry *r) { return r->data_dir; }
const char *eco_registry_trusted_dir(const eco_registry *r) { return r->trusted_dir; }

bool eco_registry_trust_cache(const eco_registry *r) { return r->trust_cache; }

/* EIO naming the folder when the registry was opened read-only. */
static eco_status require_writable(const eco_registry *r, const char *what) {
    if (!r->read_only) return ECO_STATUS_OK;
    return eco_error(ECO_STATUS_EIO,
                     "%s: the data folder is read-only (or was opened read-only): cannot %s",
                     r->data_dir, what);
}

eco_status eco_registry_require_writable(const eco_registry *r, const char *what) {
    return require_writable(r, what);
}

eco_registry_backend *eco_registry_backend_of(eco_registry *r) { return r->be; }

eco_status eco_registry_log_event(eco_registry *r, const char *type, const char *model_id,
                                  json_t *detail) {
    char *text = NULL;
    eco_status st = detail_text(detail, &text);
    if (st) return st;
    char at[32];
    eco_registry_now_rfc3339(at);
    if ((st = r->be->begin(r->be)) == ECO_STATUS_OK) {
        if ((st = r->be->event_append(r->be, at, type, model_id, text, NULL)) == ECO_STATUS_OK)
            st = r->be->commit(r->be);
        else
            r->be->rollback(r->be);
    }
    free(text);
    return st;
}

/* ---- the store lock and garbage collection --------------------------------------------- */

eco_status eco_registry_store_lock(eco_registry *r, bool exclusive, int *fd) {
    *fd = -1;
    eco_status st = require_writable(r, "store objects");
    if (st) return st;
    char *path = eco_path_join(r->data_dir, "store.lock");
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "store lock: out of memory");
    int f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0) {
        st = eco_error(ECO_STATUS_EIO, "%s: cannot open the store lock: %s", path, strerror(errno));
        free(path);
        return st;
    }
    int rc;
    while ((rc = flock(f, exclusive ? LOCK_EX : LOCK_SH)) != 0 && errno == EINTR) {
    }
    if (rc != 0) {
        st = eco_error(ECO_STATUS_EIO, "%s: cannot lock: %s", path, strerror(errno));
        close(f);
        free(path);
        return st;
    }
    free(path);
    *fd = f;
    return ECO_STATUS_OK;
}

void eco_registry_store_unlock(int fd) {
    if (fd >= 0) close(fd); /* closing releases the flock */
}

/* Removes object hex unless a registered model references it (the caller holds the
 * exclusive store lock); *gone tells whether it went, *size its bytes. */
static eco_status remove_if_unreferenced(eco_registry *r, const char *hex, bool dry_run, bool *gone,
                                         uint64_t *size) {
    *gone = false;
    *size = 0;
    bool referenced = false;
    eco_status st = r->be->object_referenced(r->be, hex, &referenced);
    if (st || referenced) return st;
    char *path = eco_store_object_path(r->store, hex);
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "gc: out of memory");
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        free(path);
        return ECO_STATUS_OK; /* not there (any more) */
    }
    if (!dry_run && unlink(path) != 0) {
        st = eco_error(ECO_STATUS_EIO, "gc: remove %s: %s", path, strerror(errno));
        free(path);
        return st;
    }
    free(path);
    *gone = true;
    *size = (uint64_t)sb.st_size;
    return ECO_STATUS_OK;
}

eco_status eco_registry_remove_unreferenced(eco_registry *r, const char *const *hexes, size_t n,
                                            size_t *removed, uint64_t *bytes) {
    if (removed) *removed = 0;
    if (bytes) *bytes = 0;
    int lock = -1;
    eco_status st = eco_registry_store_lock(r, true, &lock);
    for (size_t i = 0; i < n && !st; i++) {
        bool gone = false;
        uint64_t size = 0;
        if ((st = remove_if_unreferenced(r, hexes[i], false, &gone, &size)) || !gone) continue;
        if (removed) (*removed)++;
        if (bytes) *bytes += size;
    }
    eco_registry_store_unlock(lock);
    return st;
}

/* Whether name is 62 lower-case hex digits (an object's name inside its fan-out folder). */
static bool object_name_ok(const char *name) {
    return eco_hex_is_lower(name, strlen(name), ECO_SHA256_HEX_LEN - 2);
}

eco_status eco_registry_gc(eco_registry *r, bool dry_run, eco_gc_object **objects, size_t *n,
                           uint64_t *bytes) {
    *objects = NULL;
    *n = 0;
    *bytes = 0;
    if (!r) return eco_error(ECO_STATUS_EINVAL, "gc: no registry");
    int lock = -1;
    eco_status st = ECO_STATUS_OK;
    if (!dry_run && (st = eco_registry_store_lock(r, true, &lock))) return st;
    char *root = eco_path_join(r->data_dir, "objects/sha256");
    DIR *top = root ? opendir(root) : NULL;
    if (!root)
        st = eco_error(ECO_STATUS_ENOMEM, "gc: out of memory");
    else if (!top && errno != ENOENT)
        st = eco_error(ECO_STATUS_EIO, "gc: %s: %s", root, strerror(errno));
    size_t cap = 0;
    struct dirent *fe;
    while (!st && top && (fe = readdir(top)) != NULL) {
        const char *fan = fe->d_name;
        if (strlen(fan) != 2 || !strchr("0123456789abcdef", fan[0]) ||
            !strchr("0123456789abcdef", fan[1]))
            continue; /* ".", "..", anything that is not a fan-out folder */
        char *fdir = eco_path_join(root, fan);
        DIR *d = fdir ? opendir(fdir) : NULL;
        free(fdir);
        if (!d) continue;
        struct dirent *de;
        while (!st && (de = readdir(d)) != NULL) {
            if (!object_name_ok(de->d_name)) continue;
            char hex[ECO_SHA256_HEX_LEN + 1];
            memcpy(hex, fan, 2);
            memcpy(hex + 2, de->d_name, ECO_SHA256_HEX_LEN - 2); /* object_name_ok: exactly 62 */
            hex[ECO_SHA256_HEX_LEN] = '\0';
            bool gone = false;
            uint64_t size = 0;
            if ((st = remove_if_unreferenced(r, hex, dry_run, &gone, &size)) || !gone) continue;
            if (*n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                eco_gc_object *no = eco_malloc_array(ncap, sizeof *no);
                if (!no) {
                    st = eco_error(ECO_STATUS_ENOMEM, "gc: out of memory");
                    break;
                }
                if (*n) memcpy(no, *objects, *n * sizeof *no);
                free(*objects);
                *objects = no;
                cap = ncap;
            }
            memcpy((*objects)[*n].sha256, hex, sizeof hex);
            (*objects)[*n].size = size;
            (*n)++;
            *bytes += size;
        }
        closedir(d);
    }
    if (top) closedir(top);
    free(root);
    eco_registry_store_unlock(lock);
    if (!st && !dry_run && *n > 0)
        st = eco_registry_log_event(
            r, "gc", NULL,
            json_pack("{s:I, s:I}", "removed", (json_int_t)*n, "bytes", (json_int_t)*bytes));
    return st;
}

/* ---- signatures ------------------------------------------------------------------------ */

/* The signature policy: an envelope must be about g; under require_signature it must exist
 * and verify against the trusted keys. keyid receives the verifying key ("" otherwise). */
static eco_status check_signature(eco_registry *r, const eco_genome *g, const char *envelope,
                                  char keyid[ECO_KEYID_HEX_LEN + 1]) {
    keyid[0] = '\0';
    if (!envelope) {
        if (r->require_signature)
            return eco_error(ECO_STATUS_ESIGNATURE,
                             "model '%s': unsigned, and this registry requires signatures", g->id);
        return ECO_STATUS_OK;
    }
    eco_keyring *kr = NULL;
    eco_status st;
    if (r->require_signature) {
        if ((st = eco_keyring_load_dir(r->trusted_dir, &kr)))
            return eco_error_wrap(st, "model '%s'", g->id);
        if (eco_keyring_count(kr) == 0) {
            eco_keyring_free(kr);
            return eco_error(ECO_STATUS_ESIGNATURE, "model '%s': no trusted keys in %s", g->id,
                             r->trusted_dir);
        }
    }
    char label[192];
    snprintf(label, sizeof label, "model '%s': signature", g->id);
    st = eco_registry_check_envelope(kr, g, envelope, strlen(envelope), label,
                                     ECO_STATUS_ESIGNATURE, keyid);
    if (st == ECO_STATUS_OK && !kr) {
        /* Not required, and about this genome: record the signer when a trusted key
         * verifies it (the event says who signed), accept it either way. */
        char *payload = NULL;
        if (eco_keyring_load_dir(r->trusted_dir, &kr) != ECO_STATUS_OK ||
            eco_keyring_count(kr) == 0 ||
            eco_dsse_verify(kr, envelope, strlen(envelope), label, ECO_DSSE_PAYLOAD_TYPE, &payload,
                            NULL, keyid) != ECO_STATUS_OK) {
            keyid[0] = '\0';
            eco_clear_error();
        }
        free(payload);
    }
    eco_keyring_free(kr);
    return st;
}

/* ---- models ---------------------------------------------------------------------------- */

/* Every file of g must be in the store with its recorded size (content is re-hashed by
 * eco_registry_verify, not here). */
static eco_status check_files(eco_registry *r, const eco_genome *g) {
    for (size_t i = 0; i < g->files.n; i++) {
        const eco_file_entry *f = &g->files.files[i];
        char *path = eco_store_object_path(r->store, f->sha256);
        if (!path) return eco_error(ECO_STATUS_ENOMEM, "model '%s': out of memory", g->id);
        struct stat sb;
        int rc = stat(path, &sb);
        int err = errno;
        free(path);
        if (rc != 0) {
            if (err == ENOENT || err == ENOTDIR)
                return eco_error(ECO_STATUS_ENOTFOUND,
                                 "model '%s': file '%s' (sha256 %s) is not in the store", g->id,
                                 f->name, f->sha256);
            return eco_error(ECO_STATUS_EIO, "model '%s': file '%s': stat object %s: %s", g->id,
                             f->name, f->sha256, strerror(err));
        }
        if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != f->size)
            return eco_error(
                ECO_STATUS_EINTEGRITY,
                "model '%s': file '%s': stored object %s has %lld bytes, the genome says %llu",
                g->id, f->name, f->sha256, (long long)sb.st_size, (unsigned long long)f->size);
    }
    return ECO_STATUS_OK;
}

/* What eco_genome_to_canonical does not check (it already checks everything a reader of
 * the genome would, so what is stored can always be read back): a model is neither its own
 * parent nor its own base. */
static eco_status validate_lineage(const eco_genome *g) {
    if (g->base && strcmp(g->base, g->id) == 0)
        return eco_error(ECO_STATUS_EINVAL, "model '%s': its own base", g->id);
    for (size_t i = 0; i < g->n_parents; i++)
        if (strcmp(g->parents[i], g->id) == 0)
            return eco_error(ECO_STATUS_EINVAL, "model '%s': its own parent", g->id);
    return ECO_STATUS_OK;
}

/* Inside the transaction: ENOTFOUND naming every parent and the base not registered. */
static eco_status check_lineage(eco_registry *r, const eco_genome *g) {
    char missing[1024] = "";
    size_t n_missing = 0;
    for (size_t i = 0; i <= g->n_parents; i++) {
        const char *id = i < g->n_parents ? g->parents[i] : g->base;
        const char *role = i < g->n_parents ? "parent" : "base";
        if (!id) continue;
        bool found = false;
        eco_status st = r->be->model_lookup(r->be, id, &found, NULL);
        if (st) return st;
        if (found) continue;
        size_t used = strlen(missing);
        if (used < sizeof missing - 1)
            snprintf(missing + used, sizeof missing - used, "%s%s '%s'", n_missing ? ", " : "",
                     role, id);
        n_missing++;
    }
    if (n_missing)
        return eco_error(ECO_STATUS_ENOTFOUND, "model '%s': %s not registered", g->id, missing);
    return ECO_STATUS_OK;
}

/* Inside the transaction: a model id must not be an alias's name (a name given to a command
 * then means one thing: the model). EEXIST naming the alias. */
static eco_status check_not_alias(eco_registry *r, const char *id) {
    char *target = NULL;
    eco_status st = r->be->alias_get(r->be, id, &target);
    if (st == ECO_STATUS_ENOTFOUND) {
        eco_clear_error();
        return ECO_STATUS_OK;
    }
    if (st) return st;
    st = eco_error(ECO_STATUS_EEXIST,
                   "model id '%s' is the name of an alias (pointing at '%s'); choose another id",
                   id, target);
    free(target);
    return st;
}

eco_status eco_registry_register(eco_registry *r, const eco_genome *g, const char *envelope,
                                 bool *created) {
    if (created) *created = false;
    if (!r || !g) return eco_error(ECO_STATUS_EINVAL, "register: no registry or genome");
    if (!g->id || !eco_model_id_ok(g->id))
        return eco_error(ECO_STATUS_EINVAL, "register: invalid model id '%s'",
                         g->id ? g->id : "(null)");

    char *text = NULL, *detail = NULL;
    size_t len = 0;
    char hash[ECO_SHA256_HEX_LEN + 1], keyid[ECO_KEYID_HEX_LEN + 1] = "";
    eco_status st = eco_genome_to_canonical(g, &text, &len);
    if (st) return eco_error_wrap(st, "register model '%s'", g->id);
    if ((st = validate_lineage(g))) goto done;
    if ((st = eco_sha256_hex(text, len, hash))) goto done;
    /* Registered already? Rows never change, so this read needs no lock; it settles the
     * common re-registration before the file and signature checks (and is repeated under
     * the lock below for a model that appears meanwhile). */
    bool found = false;
    char stored[ECO_SHA256_HEX_LEN + 1] = "";
    if ((st = r->be->model_lookup(r->be, g->id, &found, stored))) goto done;
    if (found) goto existing;
    if ((st = require_writable(r, "register a model"))) goto done;
    if ((st = check_files(r, g))) goto done;
    if ((st = check_signature(r, g, envelope, keyid))) goto done;

    json_t *d = json_pack("{s:s, s:s, s:s?, s:o}", "genome_sha256", hash, "kind",
                          eco_genome_kind_str(g->kind), "base", g->base, "keyid",
                          keyid[0] ? json_string(keyid) : json_null());
    if ((st = detail_text(d, &detail))) goto done;

    char at[32];
    eco_registry_now_rfc3339(at);
    if ((st = r->be->begin(r->be))) goto done;
    if ((st = r->be->model_lookup(r->be, g->id, &found, stored))) goto rollback;
    if (found) {
        r->be->rollback(r->be);
        goto existing;
    }
    if ((st = check_lineage(r, g))) goto rollback;
    if ((st = check_not_alias(r, g->id))) goto rollback;
    eco_backend_model row = {.g = g,
                             .genome_json = text,
                             .genome_sha256 = hash,
                             .envelope = envelope,
                             .registered_at = at};
    if ((st = r->be->insert_model(r->be, &row))) goto rollback;
    if ((st = r->be->event_append(r->be, at, "register", g->id, detail, NULL))) goto rollback;
    if ((st = r->be->commit(r->be))) goto done;
    if (created) *created = true;
    goto done;
existing: /* identical genome: a no-op, *created stays false */
    if (strcmp(stored, hash) != 0)
        st = eco_error(
            ECO_STATUS_EEXIST,
            "model '%s' is already registered with a different genome (sha256 %s, this one %s)",
            g->id, stored, hash);
    goto done;
rollback:
    r->be->rollback(r->be);
done:
    free(detail);
    free(text);
    return st;
}

eco_status eco_registry_check(eco_registry *r, bool rehash, size_t *n_models, size_t *n_objects) {
    if (n_models) *n_models = 0;
    if (n_objects) *n_objects = 0;
    if (!r) return eco_error(ECO_STATUS_EINVAL, "check: no registry");
    eco_status st = r->be->integrity(r->be);
    if (st) return st;
    char **ids = NULL;
    size_t n = 0, objects = 0;
    if ((st = r->be->list(r->be, NULL, &ids, &n))) return st;
    for (size_t i = 0; i < n && !st; i++) {
        eco_genome g = {0};
        if ((st = eco_registry_check_genome_hash(r, ids[i]))) break;
        if ((st = eco_registry_get(r, ids[i], &g, NULL))) break;
        if (!(st = check_files(r, &g))) st = check_lineage(r, &g);
        for (size_t k = 0; k < g.files.n && !st; k++) {
            objects++;
            if (rehash)
                st = eco_store_verify_object(r->store, g.files.files[k].sha256,
                                             g.files.files[k].size, false);
            if (st) st = eco_error_wrap(st, "model '%s': file %s", g.id, g.files.files[k].name);
        }
        eco_genome_free(&g);
    }
    eco_registry_ids_free(ids, n);
    /* every recorded corpus's file (schema version 2) */
    eco_corpus_info *c = NULL;
    size_t nc = 0;
    if (!st && !(st = eco_registry_corpus_list(r, &c, &nc)))
        for (size_t i = 0; i < nc && !st; i++) {
            objects++;
            if (rehash)
                st = eco_store_verify_object(r->store, c[i].object, c[i].size, false);
            else if (!eco_store_has(r->store, c[i].object))
                st = eco_error(ECO_STATUS_ENOTFOUND, "object %s: not in the store", c[i].object);
            if (st) st = eco_error_wrap(st, "corpus %s", c[i].sha256);
        }
    eco_corpus_infos_free(c, nc);
    if (n_models) *n_models = n;
    if (n_objects) *n_objects = objects;
    return st;
}

eco_status eco_registry_check_genome_hash(eco_registry *r, const char *id) {
    bool found = false;
    char recorded[ECO_SHA256_HEX_LEN + 1] = "", got[ECO_SHA256_HEX_LEN + 1];
    char *text = NULL;
    eco_status st = r->be->model_lookup(r->be, id, &found, recorded);
    if (st) return st;
    if (!found) return eco_error(ECO_STATUS_ENOTFOUND, "model '%s' is not registered", id);
    if ((st = r->be->get_model(r->be, id, &text, NULL))) return st;
    if (!(st = eco_sha256_hex(text, strlen(text), got)) && strcmp(got, recorded) != 0)
        st = eco_error(ECO_STATUS_EINTEGRITY,
                       "%s: model '%s': genome: its stored text hashes to %s, but genome_sha256 %s "
                       "was recorded at "
                       "registration (the genome was changed in the database)",
                       r->data_dir, id, got, recorded);
    free(text);
    return st;
}

eco_status eco_registry_get(eco_registry *r, const char *id, eco_genome *out, char **envelope) {
    memset(out, 0, sizeof *out);
    if (envelope) *envelope = NULL;
    if (!id) return eco_error(ECO_STATUS_EINVAL, "get: no model id");
    char *text = NULL, *env = NULL;
    eco_status st = r->be->get_model(r->be, id, &text, envelope ? &env : NULL);
    if (st) return st;
    char label[192];
    snprintf(label, sizeof label, "%s: model '%s': genome", r->data_dir, id);
    st = eco_genome_parse(text, strlen(text), label, out);
    free(text);
    if (st) {
        eco_genome_free(out);
        memset(out, 0, sizeof *out);
        free(env);
        return st;
    }
    if (envelope) *envelope = env;
    return ECO_STATUS_OK;
}

bool eco_registry_exists(eco_registry *r, const char *id) {
    if (!r || !id) return false;
    bool found = false;
    if (r->be->model_lookup(r->be, id, &found, NULL)) return false;
    return found;
}

eco_status eco_registry_list(eco_registry *r, const eco_registry_filter *f, char ***ids,
                             size_t *n) {
    *ids = NULL;
    *n = 0;
    if (f && f->kind) {
        eco_genome_kind k;
        if (eco_genome_kind_parse(f->kind, &k))
            return eco_error(ECO_STATUS_EINVAL, "list: unknown kind '%s'", f->kind);
    }
    /* the remote identity is compatible with nothing, not even with itself */
    if (f && f->compat && eco_compat_is_remote(f->compat)) return ECO_STATUS_OK;
    return r->be->list(r->be, f, ids, n);
}

void eco_registry_ids_free(char **ids, size_t n) {
    if (!ids) return;
    for (size_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
}

/* ENOTFOUND unless id is registered. */
static eco_status require_model(eco_registry *r, const char *id) {
    if (!id) return eco_error(ECO_STATUS_EINVAL, "no model id");
    bool found = false;
    eco_status st = r->be->model_lookup(r->be, id, &found, NULL);
    if (st) return st;
    return found ? ECO_STATUS_OK
                 : eco_error(ECO_STATUS_ENOTFOUND, "model '%s' is not registered", id);
}

/* A lineage walk (the backend's ancestors or descendants) from a registered model. */
static eco_status walk(eco_registry *r, const char *id, char ***ids, size_t *n,
                       eco_status (*step)(eco_registry_backend *, const char *, char ***,
                                          size_t *)) {
    *ids = NULL;
    *n = 0;
    eco_status st = require_model(r, id);
    return st ? st : step(r->be, id, ids, n);
}

eco_status eco_registry_ancestors(eco_registry *r, const char *id, char ***ids, size_t *n) {
    return walk(r, id, ids, n, r->be->ancestors);
}

eco_status eco_registry_descendants(eco_registry *r, const char *id, char ***ids, size_t *n) {
    return walk(r, id, ids, n, r->be->descendants);
}

/* ---- aliases --------------------------------------------------------------------------- */

eco_status eco_registry_alias_set(eco_registry *r, const char *name, const char *id,
                                  const char *expect) {
    if (!name || !eco_model_id_ok(name))
        return eco_error(ECO_STATUS_EINVAL, "alias: invalid name '%s'", name ? name : "(null)");
    if (!id) return eco_error(ECO_STATUS_EINVAL, "alias '%s': no target id", name);
    bool any = expect && strcmp(expect, "*") == 0;
    char at[32];
    eco_registry_now_rfc3339(at);
    char *current = NULL, *detail = NULL;
    eco_status st = r->be->begin(r->be);
    if (st) return st;
    if ((st = require_model(r, id))) {
        eco_error_wrap(st, "alias '%s'", name);
        goto rollback;
    }
    bool is_model = false;
    if ((st = r->be->model_lookup(r->be, name, &is_model, NULL))) goto rollback;
    if (is_model) {
        st =
            eco_error(ECO_STATUS_EEXIST,
                      "alias '%s': a model has that id (an alias may not shadow a model id)", name);
        goto rollback;
    }
    st = r->be->alias_get(r->be, name, &current);
    if (st == ECO_STATUS_ENOTFOUND) {
        eco_clear_error();
        st = ECO_STATUS_OK;
    } else if (st) {
        goto rollback;
    }
    if (!any) {
        if (!expect && current) {
            st = eco_error(ECO_STATUS_ECONFLICT,
                           "alias '%s' already points at '%s' (expected it unset)", name, current);
            goto rollback;
        }
        if (expect && !current) {
            st = eco_error(ECO_STATUS_ECONFLICT, "alias '%s' is not set (expected it at '%s')",
                           name, expect);
            goto rollback;
        }
        if (expect && strcmp(current, expect) != 0) {
            st = eco_error(ECO_STATUS_ECONFLICT, "alias '%s' points at '%s', not '%s'", name,
                           current, expect);
            goto rollback;
        }
    }
    if (current && strcmp(current, id) == 0) goto rollback; /* already there: nothing to record */
    int64_t hseq = 0;
    if ((st = r->be->alias_move(r->be, name, current, id, at, &hseq))) goto rollback;
    json_t *d = json_pack("{s:s, s:o, s:s, s:I}", "name", name, "from",
                          current ? json_string(current) : json_null(), "to", id, "history_seq",
                          (json_int_t)hseq);
    if ((st = detail_text(d, &detail))) goto rollback;
    if ((st = r->be->event_append(r->be, at, "alias", id, detail, NULL))) goto rollback;
    st = r->be->commit(r->be);
    goto done;
rollback:
    r->be->rollback(r->be);
done:
    free(detail);
    free(current);
    return st;
}

eco_status eco_registry_alias_get(eco_registry *r, const char *name, char **id) {
    *id = NULL;
    if (!name) return eco_error(ECO_STATUS_EINVAL, "alias: no name");
    return r->be->alias_get(r->be, name, id);
}

eco_status eco_registry_alias_history(eco_registry *r, const char *name, eco_alias_change **out,
                                      size_t *n) {
    *out = NULL;
    *n = 0;
    if (!name) return eco_error(ECO_STATUS_EINVAL, "alias history: no name");
    return r->be->alias_history(r->be, name, out, n);
}

void eco_alias_changes_free(eco_alias_change *c, size_t n) {
    if (!c) return;
    for (size_t i = 0; i < n; i++) {
        free(c[i].name);
        free(c[i].from_id);
        free(c[i].to_id);
        free(c[i].at);
    }
    free(c);
}

/* ---- events and reports ---------------------------------------------------------------- */

eco_status eco_registry_events(eco_registry *r, int64_t since, eco_registry_event **out,
                               size_t *n) {
    *out = NULL;
    *n = 0;
    return r->be->events(r->be, since, out, n);
}

void eco_registry_events_free(eco_registry_event *e, size_t n) {
    if (!e) return;
    for (size_t i = 0; i < n; i++) {
        free(e[i].at);
        free(e[i].type);
        free(e[i].model_id);
        free(e[i].detail);
    }
    free(e);
}

eco_status eco_registry_add_report(eco_registry *r, const char *id, const char *report_json) {
    if (!id || !report_json)
        return eco_error(ECO_STATUS_EINVAL, "add report: no model id or report");
    char label[192];
    snprintf(label, sizeof label, "report for model '%s'", id);
    json_t *j;
    eco_status pst = eco_json_parse(report_json, strlen(report_json), 0, label, &j);
    if (pst) return pst;
    if (!json_is_object(j)) {
        json_decref(j);
        return eco_error(ECO_STATUS_EFORMAT, "%s: not a JSON object", label);
    }
    char *text = NULL, *detail = NULL;
    eco_registry_report idx = {.accepted = -1, .fitness = NAN};
    size_t len = 0;
    eco_status st = eco_json_canonical(j, &text, &len);
    json_decref(j);
    if (st) return eco_error_wrap(st, "%s", label);
    char hash[ECO_SHA256_HEX_LEN + 1];
    if ((st = eco_sha256_hex(text, len, hash))) goto done;
    eco_registry_report_index(text, &idx);
    if ((st = detail_text(json_pack("{s:s,s:s?,s:s?}", "report_sha256", hash, "corpus", idx.corpus,
                                    "gates", idx.gates),
                          &detail)))
        goto done;
    char at[32];
    eco_registry_now_rfc3339(at);
    if ((st = r->be->begin(r->be))) goto done;
    if ((st = require_model(r, id))) goto rollback;
    if ((st = r->be->report_insert(r->be, id, text, at, &idx))) goto rollback;
    if ((st = r->be->event_append(r->be, at, "report", id, detail, NULL))) goto rollback;
    st = r->be->commit(r->be);
    goto done;
rollback:
    r->be->rollback(r->be);
done:
    eco_registry_reports_free_fields(&idx);
    free(detail);
    free(text);
    return st;
}
