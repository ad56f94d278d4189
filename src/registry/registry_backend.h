/*
 * registry storage backend (internal).
 *
 * registry.c holds the backend-independent logic (validation, signature policy, event
 * details, the order of checks inside a transaction); a backend only stores and queries
 * rows. All SQL lives in the backend's file (registry_sqlite.c for the embedded SQLite
 * database), so a PostgreSQL backend is one more file implementing this vtable.
 *
 * Contract for every function pointer: returns ECO_STATUS_OK or a status with the error
 * message set (naming the database and the operation). Strings handed in are borrowed for
 * the call; strings and arrays handed out are malloc'd and owned by the caller. Writes
 * (insert_model, alias_cas, event_append, report_insert) are only called between begin
 * and commit/rollback; reads may be called inside or outside a transaction (outside, each
 * read is one statement and so sees one consistent snapshot).
 *
 * A backend handle is used by one thread at a time (one eco_registry per thread or
 * process; the database itself serialises writers across processes).
 */
#ifndef ECOLOGY_REGISTRY_BACKEND_H
#define ECOLOGY_REGISTRY_BACKEND_H

#include "ecology/registry.h"

/* A model row as registry.c hands it to insert_model (all borrowed). */
typedef struct eco_backend_model {
    const eco_genome *g;       /* columns (kind, base, compatibility, files, capabilities,
                                  * parents) are read from here */
    const char *genome_json;   /* canonical JSON of g */
    const char *genome_sha256; /* hex SHA-256 of genome_json */
    const char *envelope;      /* DSSE envelope text or NULL */
    const char *registered_at; /* RFC 3339 UTC */
} eco_backend_model;

struct eco_registry_backend {
    const char *name; /* "sqlite" */

    /* A write transaction that holds the write lock from its start (SQLite: BEGIN
     * IMMEDIATE, retried while busy). EIO "database busy" after the timeout. */
    eco_status (*begin)(eco_registry_backend *b);
    eco_status (*commit)(eco_registry_backend *b);
    /* Never fails from the caller's view (errors are logged); safe without a transaction. */
    void (*rollback)(eco_registry_backend *b);

    /* *found and, when found, the stored genome's hex SHA-256 (sha256 may be NULL). */
    eco_status (*model_lookup)(eco_registry_backend *b, const char *id, bool *found,
                               char sha256[ECO_SHA256_HEX_LEN + 1]);
    /* The model row plus its files, capabilities and lineage edges. */
    eco_status (*insert_model)(eco_registry_backend *b, const eco_backend_model *m);
    /* Stored canonical genome and envelope (NULL when unsigned); ENOTFOUND when absent.
     * envelope may be NULL when not wanted. */
    eco_status (*get_model)(eco_registry_backend *b, const char *id, char **genome_json,
                            char **envelope);
    /* Ids matching f (NULL: all), in registration order. */
    eco_status (*list)(eco_registry_backend *b, const eco_registry_filter *f, char ***ids,
                       size_t *n);
    /* Transitive parents (lineage edges and the base column) / children, each id once,
     * nearest first (smallest depth, then registration order). id itself is not listed. */
    eco_status (*ancestors)(eco_registry_backend *b, const char *id, char ***ids, size_t *n);
    eco_status (*descendants)(eco_registry_backend *b, const char *id, char ***ids, size_t *n);

    /* Current target of an alias (malloc'd) or ENOTFOUND (message set). */
    eco_status (*alias_get)(eco_registry_backend *b, const char *name, char **id);
    /* Inside a transaction: moves name from `from` (NULL: the alias does not exist yet) to
     * `to` and appends an alias_history row; *seq receives the history row's seq. The
     * caller has checked that the alias currently points at `from`. */
    eco_status (*alias_move)(eco_registry_backend *b, const char *name, const char *from,
                             const char *to, const char *at, int64_t *seq);
    /* Every move of name, oldest first. */
    eco_status (*alias_history)(eco_registry_backend *b, const char *name, eco_alias_change **out,
                                size_t *n);

    /* Appends an event; *seq (may be NULL) receives its number. */
    eco_status (*event_append)(eco_registry_backend *b, const char *at, const char *type,
                               const char *model_id, const char *detail, int64_t *seq);
    /* Events with seq > since, in order. */
    eco_status (*events)(eco_registry_backend *b, int64_t since, eco_registry_event **out,
                         size_t *n);

    /* Appends a report row (report: canonical JSON object text; the indexed members in
     * idx: model_id and at ignored there, NULL / -1 / NaN for what the report lacks). */
    eco_status (*report_insert)(eco_registry_backend *b, const char *model_id, const char *report,
                                const char *at, const eco_registry_report *idx);
    /* Reports of id (NULL: all), on corpus (NULL: any), in seq order. */
    eco_status (*reports)(eco_registry_backend *b, const char *id, const char *corpus,
                          eco_registry_report **out, size_t *n);

    /* Corpora (schema version 2): a row (all of c, added_at included); the row whose sha256
     * or object is sha256 (*found; out filled when found); every row in seq order. */
    eco_status (*corpus_insert)(eco_registry_backend *b, const eco_corpus_info *c);
    eco_status (*corpus_get)(eco_registry_backend *b, const char *sha256, bool *found,
                             eco_corpus_info *out);
    eco_status (*corpus_list)(eco_registry_backend *b, eco_corpus_info **out, size_t *n);
    /* The corpus deny list: a row; *found and its reason (malloc'd or NULL; may be NULL). */
    eco_status (*deny_insert)(eco_registry_backend *b, const char *sha256, const char *reason,
                              const char *at);
    eco_status (*deny_get)(eco_registry_backend *b, const char *sha256, bool *found, char **reason);

    /* *referenced: whether any registered model has a file with this digest, or a recorded
     * corpus is this object. */
    eco_status (*object_referenced)(eco_registry_backend *b, const char *sha256, bool *referenced);

    /* The database's own consistency (SQLite: PRAGMA integrity_check and foreign_key_check):
     * OK, or EINTEGRITY with the first problem named. */
    eco_status (*integrity)(eco_registry_backend *b);
    /* Closes the connection and frees b. */
    void (*close)(eco_registry_backend *b);
};

/* Opens (create: creating file and schema if needed, idempotent) the SQLite database at
 * db_path. Without create, a missing file or a database without the schema is ENOTFOUND;
 * a schema newer than this build is EUNSUPPORTED; an older one is migrated in one write
 * transaction (version 1 to 2: the corpora and corpus_deny tables, the reports' indexed
 * columns filled from the stored reports), except read-only, where a version-1 database is
 * read as it is (no corpora; report columns read from the report text). With read_only (not with create) the
 * connection never writes: no journal-mode change, and a folder where SQLite cannot even
 * create its shared-memory file is read as an immutable snapshot; begin() then fails with
 * EIO saying the database is read-only. */
eco_status eco_registry_sqlite_open(const char *db_path, bool create, bool read_only,
                                    eco_registry_backend **out);

#endif
