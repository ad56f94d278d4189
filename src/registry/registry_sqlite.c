/*
 * The registry's SQLite backend: <data>/registry.db in WAL mode. The only file that holds
 * SQL, so a PostgreSQL backend can implement the same vtable (registry_backend.h).
 *
 * Schema version 2 (PRAGMA user_version). Version 1 had no corpora; opening a version-1
 * database for writing migrates it (MIGRATE_V2, one write transaction). Every table but
 * `aliases` is append-only, and
 * the database says so itself: BEFORE UPDATE / BEFORE DELETE triggers raise "<table> is
 * append-only", so even a hand-written statement cannot rewrite history. `aliases` holds
 * the current target of each name (the one row that moves); every move is a row of
 * `alias_history`.
 *
 * Concurrency: writers take the write lock at the start of their transaction (BEGIN
 * IMMEDIATE) so the check-then-insert of a registration cannot interleave with another
 * process's; readers see committed snapshots (WAL) and never block writers. A busy
 * database is waited for (busy_timeout 10 s, BEGIN IMMEDIATE retried until then) and then
 * reported as EIO "database busy".
 */
#include "registry/registry_backend.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SCHEMA_VERSION  2
#define BUSY_TIMEOUT_MS 10000
#define BUSY_RETRY_S    10.0

typedef struct sqlite_backend {
    eco_registry_backend base; /* first member: the vtable */
    sqlite3 *db;
    char *path;
    bool read_only; /* opened read-only: begin() refuses */
    int version;    /* the schema version read (1 only for a read-only version-1 file) */
} sqlite_backend;

static sqlite_backend *be_of(eco_registry_backend *b) { return (sqlite_backend *)b; }

/* ---- errors ---------------------------------------------------------------------------- */

/* Maps an SQLite result to a status, with a message naming the database and operation. */
static eco_status sql_error(sqlite_backend *be, int rc, const char *op) {
    const char *msg = be->db ? sqlite3_errmsg(be->db) : sqlite3_errstr(rc);
    switch (rc & 0xff) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return eco_error(ECO_STATUS_EIO, "%s: %s: database busy (%s)", be->path, op, msg);
        case SQLITE_NOMEM:
            return eco_error(ECO_STATUS_ENOMEM, "%s: %s: out of memory", be->path, op);
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            return eco_error(ECO_STATUS_EFORMAT, "%s: %s: not a registry database or damaged (%s)",
                             be->path, op, msg);
        case SQLITE_READONLY:
            return eco_error(ECO_STATUS_EIO,
                             "%s: %s: the database is read-only (is the data folder writable?): %s",
                             be->path, op, msg);
        case SQLITE_CONSTRAINT:
            /* registry.c checks every constraint first, so this is a bug (or a hand edit) */
            return eco_error(ECO_STATUS_EINTERNAL, "%s: %s: constraint failed (%s)", be->path, op,
                             msg);
        default:
            return eco_error(ECO_STATUS_EIO, "%s: %s: %s", be->path, op, msg);
    }
}

static eco_status oom(sqlite_backend *be, const char *op) {
    return eco_error(ECO_STATUS_ENOMEM, "%s: %s: out of memory", be->path, op);
}

static eco_status exec_sql(sqlite_backend *be, const char *sql, const char *op) {
    int rc = sqlite3_exec(be->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? ECO_STATUS_OK : sql_error(be, rc, op);
}

static eco_status prepare(sqlite_backend *be, const char *sql, sqlite3_stmt **stmt,
                          const char *op) {
    int rc = sqlite3_prepare_v2(be->db, sql, -1, stmt, NULL);
    if (rc != SQLITE_OK) {
        *stmt = NULL;
        return sql_error(be, rc, op);
    }
    return ECO_STATUS_OK;
}

/* Steps a statement that returns no rows to completion and finalizes it. */
static eco_status run_done(sqlite_backend *be, sqlite3_stmt *stmt, const char *op) {
    int rc = sqlite3_step(stmt);
    eco_status st = rc == SQLITE_DONE ? ECO_STATUS_OK : sql_error(be, rc, op);
    sqlite3_finalize(stmt);
    return st;
}

/* Binds text (NULL binds SQL NULL); the string must outlive the statement's step. */
static int bind_text(sqlite3_stmt *stmt, int i, const char *s) {
    return s ? sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(stmt, i);
}

/* Runs an INSERT whose parameters ?1..?n are the n texts of v (NULL binds SQL NULL); *rowid
 * (when not NULL) receives the new row's id: the seq of the append-only tables. */
static eco_status insert_texts(sqlite_backend *be, const char *sql, const char *op,
                               const char *const *v, size_t n, int64_t *rowid) {
    sqlite3_stmt *stmt;
    eco_status st = prepare(be, sql, &stmt, op);
    if (st) return st;
    for (size_t i = 0; i < n; i++) bind_text(stmt, (int)i + 1, v[i]);
    if ((st = run_done(be, stmt, op))) return st;
    if (rowid) *rowid = sqlite3_last_insert_rowid(be->db);
    return ECO_STATUS_OK;
}

/* Column text as a malloc'd string (*out NULL for SQL NULL); false when out of memory. */
static bool col_dup(sqlite3_stmt *stmt, int i, char **out) {
    *out = NULL;
    const unsigned char *t = sqlite3_column_text(stmt, i);
    if (!t) return sqlite3_column_type(stmt, i) == SQLITE_NULL;
    *out = eco_strdup((const char *)t);
    return *out != NULL;
}

/* Fills one zeroed array element from the current row; false when out of memory (what it
 * already copied stays in the element, for the free below). */
typedef bool (*row_reader)(sqlite3_stmt *stmt, void *elem);
/* Frees n elements and the array (the element type's own free function). */
typedef void (*rows_free)(void *rows, size_t n);

/* Steps stmt to the end, one elem_size element per row read by `read`, into a malloc'd
 * array that doubles as it fills; finalizes stmt. On success *rows (NULL when there are no
 * rows) and *n are the caller's; on error the rows read so far are freed with free_rows and
 * *rows is NULL, *n 0. */
static eco_status collect_rows(sqlite_backend *be, sqlite3_stmt *stmt, const char *op,
                               size_t elem_size, row_reader read, rows_free free_rows, void **rows,
                               size_t *n) {
    unsigned char *arr = NULL;
    size_t len = 0, cap = 0;
    eco_status st = ECO_STATUS_OK;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            unsigned char *na = eco_malloc_array(ncap, elem_size);
            if (!na) {
                st = oom(be, op);
                break;
            }
            if (len) memcpy(na, arr, len * elem_size);
            free(arr);
            arr = na;
            cap = ncap;
        }
        void *elem = arr + len++ * elem_size;
        memset(elem, 0, elem_size);
        if (!read(stmt, elem)) {
            st = oom(be, op);
            break;
        }
    }
    if (!st && rc != SQLITE_DONE) st = sql_error(be, rc, op);
    sqlite3_finalize(stmt);
    if (st) {
        free_rows(arr, len);
        arr = NULL;
        len = 0;
    }
    *rows = arr;
    *n = len;
    return st;
}

/* An id (column 0) into a char * element. The id columns read are NOT NULL (models.id, or
 * joined to it), so every row gives a string. */
static bool read_id(sqlite3_stmt *stmt, void *elem) { return col_dup(stmt, 0, elem); }
static void free_ids(void *rows, size_t n) { eco_registry_ids_free(rows, n); }

/* Collects column 0 of every row as an id list; finalizes stmt. */
static eco_status collect_ids(sqlite_backend *be, sqlite3_stmt *stmt, const char *op, char ***ids,
                              size_t *n) {
    void *rows;
    eco_status st = collect_rows(be, stmt, op, sizeof **ids, read_id, free_ids, &rows, n);
    *ids = rows;
    return st;
}

/* ---- schema ---------------------------------------------------------------------------- */

#define APPEND_ONLY(t)                                                                             \
    "CREATE TRIGGER IF NOT EXISTS " t "_no_update BEFORE UPDATE ON " t                             \
    " BEGIN SELECT RAISE(ABORT, '" t " is append-only'); END;"                                     \
    "CREATE TRIGGER IF NOT EXISTS " t "_no_delete BEFORE DELETE ON " t                             \
    " BEGIN SELECT RAISE(ABORT, '" t " is append-only'); END;"

static const char SCHEMA_V1[] =
    /* One row per registered model. genome is the canonical JSON (the signed bytes' predicate);
     * the compatibility columns copy genome.compatibility for filtering. */
    "CREATE TABLE IF NOT EXISTS models("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT UNIQUE NOT NULL,"
    " kind TEXT NOT NULL,"
    " base TEXT REFERENCES models(id),"
    " base_family TEXT NOT NULL,"
    " architecture_hash TEXT NOT NULL,"
    " tokenizer_hash TEXT NOT NULL,"
    " tensor_schema_hash TEXT NOT NULL,"
    " genome TEXT NOT NULL,"
    " genome_sha256 TEXT NOT NULL,"
    " envelope TEXT,"
    " created_at TEXT NOT NULL,"     /* the genome's created_at */
    " registered_at TEXT NOT NULL);" /* when this registry recorded it */
    "CREATE INDEX IF NOT EXISTS models_base ON models(base);"
    "CREATE INDEX IF NOT EXISTS models_kind ON models(kind);"
    "CREATE INDEX IF NOT EXISTS models_compat ON models(base_family, architecture_hash,"
    " tokenizer_hash, tensor_schema_hash);"
    "CREATE TABLE IF NOT EXISTS model_files("
    " model_id TEXT NOT NULL REFERENCES models(id),"
    " name TEXT NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " size INTEGER NOT NULL CHECK (size >= 0),"
    " PRIMARY KEY (model_id, name)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS model_files_sha256 ON model_files(sha256);"
    "CREATE TABLE IF NOT EXISTS model_capabilities("
    " model_id TEXT NOT NULL REFERENCES models(id),"
    " capability TEXT NOT NULL,"
    " PRIMARY KEY (model_id, capability)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS model_capabilities_capability ON model_capabilities(capability);"
    /* position keeps the parents' order (it can matter: merge weights follow it). The
     * primary-key columns come first: SQLite 3.40's integrity_check wrongly reports "NULL
     * value" for a WITHOUT ROWID table whose key columns are not the leading ones. */
    "CREATE TABLE IF NOT EXISTS lineage("
    " child TEXT NOT NULL REFERENCES models(id),"
    " position INTEGER NOT NULL,"
    " parent TEXT NOT NULL REFERENCES models(id),"
    " PRIMARY KEY (child, position)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS lineage_parent ON lineage(parent);"
    "CREATE TABLE IF NOT EXISTS reports("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " model_id TEXT NOT NULL REFERENCES models(id),"
    " report TEXT NOT NULL,"
    " at TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS reports_model ON reports(model_id);"
    /* seq: the alias_history row of the latest move */
    "CREATE TABLE IF NOT EXISTS aliases("
    " name TEXT PRIMARY KEY,"
    " model_id TEXT NOT NULL REFERENCES models(id),"
    " seq INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS alias_history("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL,"
    " from_id TEXT REFERENCES models(id),"
    " to_id TEXT NOT NULL REFERENCES models(id),"
    " at TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS alias_history_name ON alias_history(name);"
    /* model_id is not a foreign key: an event may name a model that was refused */
    "CREATE TABLE IF NOT EXISTS events("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " at TEXT NOT NULL,"
    " type TEXT NOT NULL,"
    " model_id TEXT,"
    " detail TEXT NOT NULL);" APPEND_ONLY("models") APPEND_ONLY("model_files")
        APPEND_ONLY("model_capabilities") APPEND_ONLY("lineage") APPEND_ONLY("reports")
            APPEND_ONLY("alias_history") APPEND_ONLY("events");

/* Version 1 to 2: corpora (one row per corpus file kept in the store; sha256 its identity,
 * object its store digest), the corpus deny list, and the members of a report that are
 * queried (corpus, gates, evaluator_version, accepted, fitness) as columns of reports,
 * filled for the rows already there (the append-only trigger is lifted for that one
 * UPDATE, inside the migration's transaction). */
#define JSON_TEXT_AT(path)                                                                         \
    "CASE WHEN json_valid(report) AND json_type(report, '" path "') = 'text' "                     \
    "THEN json_extract(report, '" path "') END"
#define REPORT_ACCEPTED_EXPR                                                                       \
    "CASE WHEN json_valid(report) AND json_type(report, '$.verdict.accepted') IN ('true', "        \
    "'false') THEN json_extract(report, '$.verdict.accepted') END"
#define REPORT_FITNESS_EXPR                                                                        \
    "CASE WHEN json_valid(report) AND json_type(report, '$.verdict.fitness.timing.total') IN "     \
    "('real', 'integer') THEN json_extract(report, '$.verdict.fitness.timing.total') END"

static const char MIGRATE_V2[] =
    "CREATE TABLE IF NOT EXISTS corpora("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " sha256 TEXT UNIQUE NOT NULL,"
    " object TEXT NOT NULL,"
    " kind TEXT NOT NULL CHECK (kind IN ('eval', 'train')),"
    " hidden INTEGER NOT NULL CHECK (hidden IN (0, 1)),"
    " count INTEGER NOT NULL CHECK (count >= 0),"
    " size INTEGER NOT NULL CHECK (size >= 0),"
    " name TEXT,"
    " added_at TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS corpora_object ON corpora(object);"
    "CREATE TABLE IF NOT EXISTS corpus_deny("
    " sha256 TEXT PRIMARY KEY,"
    " reason TEXT,"
    " at TEXT NOT NULL);"
    "ALTER TABLE reports ADD COLUMN corpus TEXT;"
    "ALTER TABLE reports ADD COLUMN gates TEXT;"
    "ALTER TABLE reports ADD COLUMN evaluator_version TEXT;"
    "ALTER TABLE reports ADD COLUMN accepted INTEGER;"
    "ALTER TABLE reports ADD COLUMN fitness REAL;"
    "DROP TRIGGER IF EXISTS reports_no_update;"
    "UPDATE reports SET corpus = " JSON_TEXT_AT("$.corpus") ", gates = " JSON_TEXT_AT(
        "$.gates") ", evaluator_version = " JSON_TEXT_AT("$.evaluator_version") ", accepted "
                                                                                "="
                                                                                " " REPORT_ACCEPTED_EXPR
                                                                                ", fitness "
                                                                                "="
                                                                                " " REPORT_FITNESS_EXPR
                                                                                ";"
                                                                                "CREATE INDEX IF "
                                                                                "NOT EXISTS "
                                                                                "reports_corpus ON "
                                                                                "reports(corpus)"
                                                                                ";" APPEND_ONLY(
                                                                                    "reports")
                                                                                    APPEND_ONLY(
                                                                                        "corpora")
                                                                                        APPEND_ONLY(
                                                                                            "corpus"
                                                                                            "_den"
                                                                                            "y");

static eco_status read_user_version(sqlite_backend *be, int *version) {
    sqlite3_stmt *stmt;
    eco_status st = prepare(be, "PRAGMA user_version", &stmt, "read schema version");
    if (st) return st;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *version = sqlite3_column_int(stmt, 0);
        st = ECO_STATUS_OK;
    } else {
        st = sql_error(be, rc, "read schema version");
    }
    sqlite3_finalize(stmt);
    return st;
}

/* ---- transactions ---------------------------------------------------------------------- */

static eco_status sq_begin(eco_registry_backend *b) {
    sqlite_backend *be = be_of(b);
    if (be->read_only)
        return eco_error(
            ECO_STATUS_EIO,
            "%s: the registry is open read-only (its folder is not writable): cannot write",
            be->path);
    double t0 = eco_now();
    unsigned spin = 0;
    for (;;) {
        /* the busy handler already waits inside this call; some BUSY results (WAL
         * recovery, a checkpoint in progress) come back at once, hence the loop */
        int rc = sqlite3_exec(be->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK) return ECO_STATUS_OK;
        if ((rc & 0xff) != SQLITE_BUSY || eco_now() - t0 > BUSY_RETRY_S)
            return sql_error(be, rc, "begin transaction");
        struct timespec ts = {0, (long)(1000000 + (spin++ % 8) * 500000)}; /* 1..4.5 ms */
        nanosleep(&ts, NULL);
    }
}

static eco_status sq_commit(eco_registry_backend *b) {
    sqlite_backend *be = be_of(b);
    int rc = sqlite3_exec(be->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK) return ECO_STATUS_OK;
    eco_status st = sql_error(be, rc, "commit");
    if (!sqlite3_get_autocommit(be->db)) sqlite3_exec(be->db, "ROLLBACK", NULL, NULL, NULL);
    return st;
}

static void sq_rollback(eco_registry_backend *b) {
    sqlite_backend *be = be_of(b);
    if (sqlite3_get_autocommit(be->db)) return; /* no transaction open */
    int rc = sqlite3_exec(be->db, "ROLLBACK", NULL, NULL, NULL);
    if (rc != SQLITE_OK) ECO_WARN("%s: rollback: %s", be->path, sqlite3_errmsg(be->db));
}

/* ---- models ---------------------------------------------------------------------------- */

static eco_status sq_model_lookup(eco_registry_backend *b, const char *id, bool *found,
                                  char sha256[ECO_SHA256_HEX_LEN + 1]) {
    sqlite_backend *be = be_of(b);
    const char *op = "look up model";
    *found = false;
    sqlite3_stmt *stmt;
    eco_status st = prepare(be, "SELECT genome_sha256 FROM models WHERE id = ?1", &stmt, op);
    if (st) return st;
    bind_text(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *found = true;
        if (sha256) {
            const char *h = (const char *)sqlite3_column_text(stmt, 0);
            snprintf(sha256, ECO_SHA256_HEX_LEN + 1, "%s", h ? h : "");
        }
    } else if (rc != SQLITE_DONE) {
        st = sql_error(be, rc, op);
    }
    sqlite3_finalize(stmt);
    return st;
}

/* Runs sql once per item, binding (id, items[i]) and, with position, i as ?3: the rows of a
 * model's list tables. */
static eco_status insert_each(sqlite_backend *be, const char *sql, const char *op, const char *id,
                              char *const *items, size_t n, bool position) {
    sqlite3_stmt *stmt;
    eco_status st = prepare(be, sql, &stmt, op);
    if (st) return st;
    for (size_t i = 0; i < n && !st; i++) {
        sqlite3_reset(stmt);
        bind_text(stmt, 1, id);
        bind_text(stmt, 2, items[i]);
        if (position) sqlite3_bind_int64(stmt, 3, (sqlite3_int64)i);
        int rc = sqlite3_step(stmt);
        if (rc != SQLITE_DONE) st = sql_error(be, rc, op);
    }
    sqlite3_finalize(stmt);
    return st;
}

static eco_status sq_insert_model(eco_registry_backend *b, const eco_backend_model *m) {
    sqlite_backend *be = be_of(b);
    const eco_genome *g = m->g;
    sqlite3_stmt *stmt;
    const char *op = "insert model";
    eco_status st =
        prepare(be,
                "INSERT INTO models(id, kind, base, base_family, architecture_hash, tokenizer_hash,"
                " tensor_schema_hash, genome, genome_sha256, envelope, created_at, registered_at)"
                " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                &stmt, op);
    if (st) return st;
    bind_text(stmt, 1, g->id);
    bind_text(stmt, 2, eco_genome_kind_str(g->kind));
    bind_text(stmt, 3, g->base);
    bind_text(stmt, 4, g->compatibility.base_family);
    bind_text(stmt, 5, g->compatibility.architecture_hash);
    bind_text(stmt, 6, g->compatibility.tokenizer_hash);
    bind_text(stmt, 7, g->compatibility.tensor_schema_hash);
    bind_text(stmt, 8, m->genome_json);
    bind_text(stmt, 9, m->genome_sha256);
    bind_text(stmt, 10, m->envelope);
    bind_text(stmt, 11, g->created_at ? g->created_at : m->registered_at);
    bind_text(stmt, 12, m->registered_at);
    if ((st = run_done(be, stmt, op))) return st;

    op = "insert model files";
    if ((st = prepare(
             be, "INSERT INTO model_files(model_id, name, sha256, size) VALUES(?1, ?2, ?3, ?4)",
             &stmt, op)))
        return st;
    for (size_t i = 0; i < g->files.n && !st; i++) {
        const eco_file_entry *f = &g->files.files[i];
        if (f->size > (uint64_t)INT64_MAX) {
            st = eco_error(ECO_STATUS_ERANGE, "%s: %s: file '%s': size %llu too large", be->path,
                           op, f->name, (unsigned long long)f->size);
            break;
        }
        sqlite3_reset(stmt);
        bind_text(stmt, 1, g->id);
        bind_text(stmt, 2, f->name);
        bind_text(stmt, 3, f->sha256);
        sqlite3_bind_int64(stmt, 4, (sqlite3_int64)f->size);
        int rc = sqlite3_step(stmt);
        if (rc != SQLITE_DONE) st = sql_error(be, rc, op);
    }
    sqlite3_finalize(stmt);
    if (st) return st;

    if ((st = insert_each(be, "INSERT INTO model_capabilities(model_id, capability) VALUES(?1, ?2)",
                          "insert model capabilities", g->id, g->capabilities, g->n_capabilities,
                          false)))
        return st;
    return insert_each(be, "INSERT INTO lineage(child, parent, position) VALUES(?1, ?2, ?3)",
                       "insert lineage", g->id, g->parents, g->n_parents, true);
}

static eco_status sq_get_model(eco_registry_backend *b, const char *id, char **genome_json,
                               char **envelope) {
    sqlite_backend *be = be_of(b);
    const char *op = "read model";
    *genome_json = NULL;
    if (envelope) *envelope = NULL;
    sqlite3_stmt *stmt;
    eco_status st = prepare(be, "SELECT genome, envelope FROM models WHERE id = ?1", &stmt, op);
    if (st) return st;
    bind_text(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        char *g = NULL, *e = NULL;
        if (!col_dup(stmt, 0, &g) || !g || (envelope && !col_dup(stmt, 1, &e))) {
            st =
                g || sqlite3_column_type(stmt, 0) != SQLITE_NULL
                    ? oom(be, op)
                    : eco_error(ECO_STATUS_EINTERNAL, "%s: model '%s' has no genome", be->path, id);
            free(g);
            free(e);
        } else {
            *genome_json = g;
            if (envelope) *envelope = e;
        }
    } else if (rc == SQLITE_DONE) {
        st = eco_error(ECO_STATUS_ENOTFOUND, "model '%s' is not registered", id);
    } else {
        st = sql_error(be, rc, op);
    }
    sqlite3_finalize(stmt);
    return st;
}

static eco_status sq_list(eco_registry_backend *b, const eco_registry_filter *f, char ***ids,
                          size_t *n) {
    sqlite_backend *be = be_of(b);
    const char *op = "list models";
    /* Each present filter adds one clause and its parameters, bound in the same order. */
    char sql[1024] = "SELECT m.id FROM models m WHERE 1";
    const char *params[8];
    int np = 0;
    if (f && f->kind) {
        strcat(sql, " AND m.kind = ?");
        params[np++] = f->kind;
    }
    if (f && f->base) {
        strcat(sql, " AND m.base = ?");
        params[np++] = f->base;
    }
    if (f && f->capability) {
        strcat(sql, " AND EXISTS (SELECT 1 FROM model_capabilities c WHERE c.model_id = m.id AND "
                    "c.capability = ?)");
        params[np++] = f->capability;
    }
    if (f && f->compat) {
        strcat(sql, " AND m.base_family = ? AND m.architecture_hash = ? AND m.tokenizer_hash = ?"
                    " AND m.tensor_schema_hash = ?");
        params[np++] = f->compat->base_family;
        params[np++] = f->compat->architecture_hash;
        params[np++] = f->compat->tokenizer_hash;
        params[np++] = f->compat->tensor_schema_hash;
    }
    strcat(sql, " ORDER BY m.seq");
    sqlite3_stmt *stmt;
    eco_status st = prepare(be, sql, &stmt, op);
    if (st) return st;
    for (int i = 0; i < np; i++) bind_text(stmt, i + 1, params[i]);
    return collect_ids(be, stmt, op, ids, n);
}

/* Lineage walks. Edges are the lineage rows plus the base column; UNION keeps each
 * (id, depth) pair once, which bounds the walk on a DAG with shared ancestors (diamonds);
 * the outer query keeps each id once at its smallest depth. */
static const char ANCESTORS_SQL[] =
    "WITH RECURSIVE up(id, depth) AS ("
    " SELECT parent, 1 FROM lineage WHERE child = ?1"
    " UNION SELECT base, 1 FROM models WHERE id = ?1 AND base IS NOT NULL"
    " UNION SELECT l.parent, up.depth + 1 FROM up JOIN lineage l ON l.child = up.id"
    " UNION SELECT m.base, up.depth + 1 FROM up JOIN models m ON m.id = up.id WHERE m.base IS NOT "
    "NULL)"
    " SELECT up.id FROM up JOIN models m ON m.id = up.id WHERE up.id <> ?1"
    " GROUP BY up.id ORDER BY MIN(up.depth), MIN(m.seq)";

static const char DESCENDANTS_SQL[] =
    "WITH RECURSIVE down(id, depth) AS ("
    " SELECT child, 1 FROM lineage WHERE parent = ?1"
    " UNION SELECT id, 1 FROM models WHERE base = ?1"
    " UNION SELECT l.child, down.depth + 1 FROM down JOIN lineage l ON l.parent = down.id"
    " UNION SELECT m.id, down.depth + 1 FROM down JOIN models m ON m.base = down.id)"
    " SELECT down.id FROM down JOIN models m ON m.id = down.id WHERE down.id <> ?1"
    " GROUP BY down.id ORDER BY MIN(down.depth), MIN(m.seq)";

static eco_status walk(eco_registry_backend *b, const char *sql, const char *op, const char *id,
                       char ***ids, size_t *n) {
    sqlite_backend *be = be_of(b);
    sqlite3_stmt *stmt;
    eco_status st = prepare(be, sql, &stmt, op);
    if (st) return st;
    bind_text(stmt, 1, id);
    return collect_ids(be, stmt, op, ids, n);
}

static eco_status sq_ancestors(eco_registry_backend *b, const char *id, char ***ids, size_t *n) {
    return walk(b, ANCESTORS_SQL, "list ancestors", id, ids, n);
}

static eco_status sq_descendants(eco_registry_backend *b, const char *id, char ***ids, size_t *n) {
    return walk(b, DESCENDANTS_SQL, "list descendants", id, ids, n);
}

/* ---- aliases --------------------------------------------------------------------------- */

static eco_status sq_alias_get(eco_registry_backend *b, const char *name, char **id) {
    sqlite_backend *be = be_of(b);
    const char *op = "read alias";
    *id = NULL;
    sqlite3_stmt *stmt;
    eco_status st = prepare(be, "SELECT model_id FROM aliases WHERE name = ?1", &stmt, op);
    if (st) return st;
    bind_text(stmt, 1, name);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        if (!col_dup(stmt, 0, id) || !*id) st = oom(be, op);
    } else if (rc == SQLITE_DONE) {
        st = eco_error(ECO_STATUS_ENOTFOUND, "alias '%s' is not set", name);
    } else {
        st = sql_error(be, rc, op);
    }
    sqlite3_finalize(stmt);
    return st;
}

static eco_status sq_alias_move(eco_registry_backend *b, const char *name, const char *from,
                                const char *to, const char *at, int64_t *seq) {
    sqlite_backend *be = be_of(b);
    const char *const row[] = {name, from, to, at};
    int64_t hseq = 0;
    eco_status st = insert_texts(
        be, "INSERT INTO alias_history(name, from_id, to_id, at) VALUES(?1, ?2, ?3, ?4)",
        "record alias move", row, 4, &hseq);
    if (st) return st;

    const char *op = "move alias";
    sqlite3_stmt *stmt;
    if (from)
        st = prepare(be,
                     "UPDATE aliases SET model_id = ?3, seq = ?4 WHERE name = ?1 AND model_id = ?2",
                     &stmt, op);
    else
        st = prepare(be, "INSERT INTO aliases(name, model_id, seq) VALUES(?1, ?3, ?4)", &stmt, op);
    if (st) return st;
    bind_text(stmt, 1, name);
    if (from) bind_text(stmt, 2, from);
    bind_text(stmt, 3, to);
    sqlite3_bind_int64(stmt, 4, hseq);
    if ((st = run_done(be, stmt, op))) return st;
    if (sqlite3_changes(be->db) != 1) /* the caller checked inside this transaction */
        return eco_error(ECO_STATUS_EINTERNAL, "%s: %s: alias '%s' no longer points at '%s'",
                         be->path, op, name, from ? from : "(unset)");
    if (seq) *seq = hseq;
    return ECO_STATUS_OK;
}

/* One alias_history row (seq, name, from_id, to_id, at) into an eco_alias_change. */
static bool read_alias_change(sqlite3_stmt *stmt, void *elem) {
    eco_alias_change *c = elem;
    c->seq = sqlite3_column_int64(stmt, 0);
    return col_dup(stmt, 1, &c->name) && col_dup(stmt, 2, &c->from_id) &&
           col_dup(stmt, 3, &c->to_id) && col_dup(stmt, 4, &c->at);
}
static void free_alias_changes(void *rows, size_t n) { eco_alias_changes_free(rows, n); }

static eco_status sq_alias_history(eco_registry_backend *b, const char *name,
                                   eco_alias_change **out, size_t *n) {
    sqlite_backend *be = be_of(b);
    const char *op = "read alias history";
    *out = NULL;
    *n = 0;
    sqlite3_stmt *stmt;
    eco_status st = prepare(
        be, "SELECT seq, name, from_id, to_id, at FROM alias_history WHERE name = ?1 ORDER BY seq",
        &stmt, op);
    if (st) return st;
    bind_text(stmt, 1, name);
    void *rows;
    st = collect_rows(be, stmt, op, sizeof **out, read_alias_change, free_alias_changes, &rows, n);
    *out = rows;
    return st;
}

/* ---- events and reports ---------------------------------------------------------------- */

static eco_status sq_event_append(eco_registry_backend *b, const char *at, const char *type,
                                  const char *model_id, const char *detail, int64_t *seq) {
    const char *const row[] = {at, type, model_id, detail};
    return insert_texts(be_of(b),
                        "INSERT INTO events(at, type, model_id, detail) VALUES(?1, ?2, ?3, ?4)",
                        "append event", row, 4, seq);
}

/* One events row (seq, at, type, model_id, detail) into an eco_registry_event. */
static bool read_event(sqlite3_stmt *stmt, void *elem) {
    eco_registry_event *e = elem;
    e->seq = sqlite3_column_int64(stmt, 0);
    return col_dup(stmt, 1, &e->at) && col_dup(stmt, 2, &e->type) &&
           col_dup(stmt, 3, &e->model_id) && col_dup(stmt, 4, &e->detail);
}
static void free_events(void *rows, size_t n) { eco_registry_events_free(rows, n); }

static eco_status sq_events(eco_registry_backend *b, int64_t since, eco_registry_event **out,
                            size_t *n) {
    sqlite_backend *be = be_of(b);
    const char *op = "read events";
    *out = NULL;
    *n = 0;
    sqlite3_stmt *stmt;
    eco_status st = prepare(
        be, "SELECT seq, at, type, model_id, detail FROM events WHERE seq > ?1 ORDER BY seq", &stmt,
        op);
    if (st) return st;
    sqlite3_bind_int64(stmt, 1, since);
    void *rows;
    st = collect_rows(be, stmt, op, sizeof **out, read_event, free_events, &rows, n);
    *out = rows;
    return st;
}

static eco_status sq_report_insert(eco_registry_backend *b, const char *model_id,
                                   const char *report, const char *at,
                                   const eco_registry_report *idx) {
    sqlite_backend *be = be_of(b);
    const char *op = "insert report";
    sqlite3_stmt *stmt;
    eco_status st = prepare(be,
                            "INSERT INTO reports(model_id, report, at, corpus, gates, "
                            "evaluator_version, accepted, fitness) VALUES(?1, ?2, ?3, ?4, ?5, "
                            "?6, ?7, ?8)",
                            &stmt, op);
    if (st) return st;
    bind_text(stmt, 1, model_id);
    bind_text(stmt, 2, report);
    bind_text(stmt, 3, at);
    bind_text(stmt, 4, idx->corpus);
    bind_text(stmt, 5, idx->gates);
    bind_text(stmt, 6, idx->evaluator_version);
    if (idx->accepted >= 0)
        sqlite3_bind_int(stmt, 7, idx->accepted);
    else
        sqlite3_bind_null(stmt, 7);
    if (isfinite(idx->fitness))
        sqlite3_bind_double(stmt, 8, idx->fitness);
    else
        sqlite3_bind_null(stmt, 8);
    return run_done(be, stmt, op);
}

/* One reports row (seq, model_id, at, corpus, gates, evaluator_version, accepted, fitness,
 * report). */
static bool read_report(sqlite3_stmt *stmt, void *elem) {
    eco_registry_report *r = elem;
    r->seq = sqlite3_column_int64(stmt, 0);
    r->accepted =
        sqlite3_column_type(stmt, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(stmt, 6) != 0;
    r->fitness = sqlite3_column_type(stmt, 7) == SQLITE_NULL ? NAN : sqlite3_column_double(stmt, 7);
    return col_dup(stmt, 1, &r->model_id) && col_dup(stmt, 2, &r->at) &&
           col_dup(stmt, 3, &r->corpus) && col_dup(stmt, 4, &r->gates) &&
           col_dup(stmt, 5, &r->evaluator_version) && col_dup(stmt, 8, &r->report);
}
static void free_reports(void *rows, size_t n) { eco_registry_reports_free(rows, n); }

static eco_status sq_reports(eco_registry_backend *b, const char *id, const char *corpus,
                             eco_registry_report **out, size_t *n) {
    sqlite_backend *be = be_of(b);
    const char *op = "read reports";
    *out = NULL;
    *n = 0;
    /* a read-only version-1 file has no columns: the same figures from the report text */
    static const char v2[] = "SELECT seq, model_id, at, corpus, gates, evaluator_version, "
                             "accepted, fitness, report FROM reports WHERE (?1 IS NULL OR "
                             "model_id = ?1) AND (?2 IS NULL OR corpus = ?2) ORDER BY seq";
    static const char v1[] =
        "SELECT seq, model_id, at, " JSON_TEXT_AT("$.corpus") ", " JSON_TEXT_AT(
            "$.gates") ", " JSON_TEXT_AT("$.evaluator_version") ", " REPORT_ACCEPTED_EXPR
                                                                ", " REPORT_FITNESS_EXPR
                                                                ", report FROM reports WHERE (?1 "
                                                                "IS NULL OR "
                                                                "model_id = ?1) AND (?2 IS NULL "
                                                                "OR " JSON_TEXT_AT(
                                                                    "$.corpus") " = ?2) ORDER BY "
                                                                                "seq";
    sqlite3_stmt *stmt;
    eco_status st = prepare(be, be->version >= 2 ? v2 : v1, &stmt, op);
    if (st) return st;
    bind_text(stmt, 1, id);
    bind_text(stmt, 2, corpus);
    void *rows;
    st = collect_rows(be, stmt, op, sizeof **out, read_report, free_reports, &rows, n);
    *out = rows;
    return st;
}

/* ---- corpora and the corpus deny list --------------------------------------------------- */

static eco_status sq_corpus_insert(eco_registry_backend *b, const eco_corpus_info *c) {
    sqlite_backend *be = be_of(b);
    const char *op = "insert corpus";
    sqlite3_stmt *stmt;
    eco_status st = prepare(be,
                            "INSERT INTO corpora(sha256, object, kind, hidden, count, size, name, "
                            "added_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                            &stmt, op);
    if (st) return st;
    bind_text(stmt, 1, c->sha256);
    bind_text(stmt, 2, c->object);
    bind_text(stmt, 3, eco_corpus_kind_str(c->kind));
    sqlite3_bind_int(stmt, 4, c->hidden ? 1 : 0);
    sqlite3_bind_int64(stmt, 5, c->count);
    sqlite3_bind_int64(stmt, 6, (sqlite3_int64)c->size);
    bind_text(stmt, 7, c->name);
    bind_text(stmt, 8, c->added_at);
    return run_done(be, stmt, op);
}

#define CORPUS_COLS "sha256, object, kind, hidden, count, size, name, added_at"

/* One corpora row (CORPUS_COLS) into an eco_corpus_info. */
static bool read_corpus(sqlite3_stmt *stmt, void *elem) {
    eco_corpus_info *c = elem;
    const char *sha = (const char *)sqlite3_column_text(stmt, 0);
    const char *obj = (const char *)sqlite3_column_text(stmt, 1);
    const char *kind = (const char *)sqlite3_column_text(stmt, 2);
    snprintf(c->sha256, sizeof c->sha256, "%s", sha ? sha : "");
    snprintf(c->object, sizeof c->object, "%s", obj ? obj : "");
    c->kind = kind && strcmp(kind, "train") == 0 ? ECO_CORPUS_TRAIN : ECO_CORPUS_EVAL;
    c->hidden = sqlite3_column_int(stmt, 3) != 0;
    c->count = sqlite3_column_int64(stmt, 4);
    c->size = (uint64_t)sqlite3_column_int64(stmt, 5);
    return col_dup(stmt, 6, &c->name) && col_dup(stmt, 7, &c->added_at);
}
static void free_corpora(void *rows, size_t n) { eco_corpus_infos_free(rows, n); }

static eco_status sq_corpus_get(eco_registry_backend *b, const char *sha256, bool *found,
                                eco_corpus_info *out) {
    sqlite_backend *be = be_of(b);
    const char *op = "look up corpus";
    *found = false;
    if (be->version < 2) return ECO_STATUS_OK;
    sqlite3_stmt *stmt;
    eco_status st = prepare(be,
                            "SELECT " CORPUS_COLS " FROM corpora WHERE sha256 = ?1 OR object = ?1 "
                            "ORDER BY sha256 = ?1 DESC, seq LIMIT 1",
                            &stmt, op);
    if (st) return st;
    bind_text(stmt, 1, sha256);
    void *rows;
    size_t n = 0;
    st = collect_rows(be, stmt, op, sizeof *out, read_corpus, free_corpora, &rows, &n);
    if (st) return st;
    if (n) {
        *out = *(eco_corpus_info *)rows;
        *found = true;
    }
    free(rows);
    return ECO_STATUS_OK;
}

static eco_status sq_corpus_list(eco_registry_backend *b, eco_corpus_info **out, size_t *n) {
    sqlite_backend *be = be_of(b);
    const char *op = "list corpora";
    *out = NULL;
    *n = 0;
    if (be->version < 2) return ECO_STATUS_OK;
    sqlite3_stmt *stmt;
    eco_status st = prepare(be, "SELECT " CORPUS_COLS " FROM corpora ORDER BY seq", &stmt, op);
    if (st) return st;
    void *rows;
    st = collect_rows(be, stmt, op, sizeof **out, read_corpus, free_corpora, &rows, n);
    *out = rows;
    return st;
}

static eco_status sq_deny_insert(eco_registry_backend *b, const char *sha256, const char *reason,
                                 const char *at) {
    const char *const row[] = {sha256, reason, at};
    return insert_texts(be_of(b), "INSERT INTO corpus_deny(sha256, reason, at) VALUES(?1, ?2, ?3)",
                        "insert corpus deny", row, 3, NULL);
}

static eco_status sq_deny_get(eco_registry_backend *b, const char *sha256, bool *found,
                              char **reason) {
    sqlite_backend *be = be_of(b);
    const char *op = "look up corpus deny list";
    *found = false;
    if (reason) *reason = NULL;
    if (be->version < 2) return ECO_STATUS_OK;
    sqlite3_stmt *stmt;
    eco_status st = prepare(be, "SELECT reason FROM corpus_deny WHERE sha256 = ?1", &stmt, op);
    if (st) return st;
    bind_text(stmt, 1, sha256);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *found = true;
        if (reason && !col_dup(stmt, 0, reason)) st = oom(be, op);
    } else if (rc != SQLITE_DONE) {
        st = sql_error(be, rc, op);
    }
    sqlite3_finalize(stmt);
    return st;
}

/* ---- store objects --------------------------------------------------------------------- */

static eco_status sq_object_referenced(eco_registry_backend *b, const char *sha256,
                                       bool *referenced) {
    sqlite_backend *be = be_of(b);
    const char *op = "look up object";
    *referenced = false;
    sqlite3_stmt *stmt;
    eco_status st =
        prepare(be,
                be->version >= 2 ? "SELECT 1 FROM model_files WHERE sha256 = ?1 UNION ALL "
                                   "SELECT 1 FROM corpora WHERE object = ?1 LIMIT 1"
                                 : "SELECT 1 FROM model_files WHERE sha256 = ?1 LIMIT 1",
                &stmt, op);
    if (st) return st;
    bind_text(stmt, 1, sha256);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *referenced = true;
    else if (rc != SQLITE_DONE)
        st = sql_error(be, rc, op);
    sqlite3_finalize(stmt);
    return st;
}

/* ---- consistency ----------------------------------------------------------------------- */

/* Runs a PRAGMA whose rows list problems; integrity_check answers one row "ok" when there
 * are none, foreign_key_check no rows. */
static eco_status pragma_problems(sqlite_backend *be, const char *sql, const char *op) {
    sqlite3_stmt *stmt;
    eco_status st = prepare(be, sql, &stmt, op);
    if (st) return st;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        const char *first = (const char *)sqlite3_column_text(stmt, 0);
        if (!first || strcmp(first, "ok") != 0)
            st = eco_error(ECO_STATUS_EINTEGRITY, "%s: %s: %s", be->path, op,
                           first ? first : "(foreign key)");
    } else if (rc != SQLITE_DONE) {
        st = sql_error(be, rc, op);
    }
    sqlite3_finalize(stmt);
    return st;
}

static eco_status sq_integrity(eco_registry_backend *b) {
    sqlite_backend *be = be_of(b);
    eco_status st = pragma_problems(be, "PRAGMA integrity_check", "integrity_check");
    if (!st) st = pragma_problems(be, "PRAGMA foreign_key_check", "foreign_key_check");
    return st;
}

/* ---- open / close ---------------------------------------------------------------------- */

static void sq_close(eco_registry_backend *b) {
    if (!b) return;
    sqlite_backend *be = be_of(b);
    if (be->db) {
        sq_rollback(b);
        int rc = sqlite3_close(be->db);
        if (rc != SQLITE_OK) ECO_WARN("%s: close: %s", be->path, sqlite3_errstr(rc));
    }
    free(be->path);
    free(be);
}

static const eco_registry_backend SQLITE_VTABLE = {
    .name = "sqlite",
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .model_lookup = sq_model_lookup,
    .insert_model = sq_insert_model,
    .get_model = sq_get_model,
    .list = sq_list,
    .ancestors = sq_ancestors,
    .descendants = sq_descendants,
    .alias_get = sq_alias_get,
    .alias_move = sq_alias_move,
    .alias_history = sq_alias_history,
    .event_append = sq_event_append,
    .events = sq_events,
    .report_insert = sq_report_insert,
    .reports = sq_reports,
    .corpus_insert = sq_corpus_insert,
    .corpus_get = sq_corpus_get,
    .corpus_list = sq_corpus_list,
    .deny_insert = sq_deny_insert,
    .deny_get = sq_deny_get,
    .object_referenced = sq_object_referenced,
    .integrity = sq_integrity,
    .close = sq_close,
};

/* Connection settings every handle needs (journal mode is stored in the file, the rest
 * per connection). A read-only connection changes nothing stored: WAL was set when the
 * database was created. */
static eco_status configure(sqlite_backend *be) {
    sqlite3_extended_result_codes(be->db, 1);
    int rc = sqlite3_busy_timeout(be->db, BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK) return sql_error(be, rc, "set busy timeout");
    if (be->read_only) return exec_sql(be, "PRAGMA foreign_keys=ON", "enable foreign keys");
    sqlite3_stmt *stmt;
    eco_status st = prepare(be, "PRAGMA journal_mode=WAL", &stmt, "set WAL mode");
    if (st) return st;
    rc = sqlite3_step(stmt);
    if (rc != SQLITE_ROW) {
        st = sql_error(be, rc, "set WAL mode");
    } else {
        const char *mode = (const char *)sqlite3_column_text(stmt, 0);
        if (!mode || strcmp(mode, "wal") != 0)
            st = eco_error(ECO_STATUS_EIO, "%s: set WAL mode: journal mode is '%s'", be->path,
                           mode ? mode : "?");
    }
    sqlite3_finalize(stmt);
    if (st) return st;
    if ((st = exec_sql(be, "PRAGMA synchronous=FULL", "set synchronous=FULL"))) return st;
    if ((st = exec_sql(be, "PRAGMA foreign_keys=ON", "enable foreign keys"))) return st;
    return ECO_STATUS_OK;
}

/* Creates the schema when the database has none, or migrates an older one (inside one
 * write transaction, so two processes opening at once do it once). */
static eco_status create_schema(sqlite_backend *be) {
    eco_status st = sq_begin(&be->base);
    if (st) return st;
    int version = 0;
    if ((st = read_user_version(be, &version))) goto fail;
    if (version < SCHEMA_VERSION) {
        if (version == 0 && (st = exec_sql(be, SCHEMA_V1, "create schema"))) goto fail;
        if (version <= 1 && (st = exec_sql(be, MIGRATE_V2, "migrate schema to version 2")))
            goto fail;
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", SCHEMA_VERSION);
        if ((st = exec_sql(be, pragma, "set schema version"))) goto fail;
    } else if (version > SCHEMA_VERSION) {
        st = eco_error(ECO_STATUS_EUNSUPPORTED,
                       "%s: schema version %d is newer than this build's %d", be->path, version,
                       SCHEMA_VERSION);
        goto fail;
    }
    return sq_commit(&be->base);
fail:
    sq_rollback(&be->base);
    return st;
}

/* "file:" URI of path with every byte outside [A-Za-z0-9/._~-] percent-encoded, then
 * query (malloc'd). */
static char *file_uri(const char *path, const char *query) {
    size_t n = strlen(path), q = strlen(query);
    char *u = malloc(5 + 3 * n + q + 1), *w = u;
    if (!u) return NULL;
    memcpy(w, "file:", 5);
    w += 5;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            strchr("/._~-", *p))
            *w++ = (char)*p;
        else
            w += sprintf(w, "%%%02X", *p);
    }
    memcpy(w, query, q + 1);
    return u;
}

/* Opens the connection read-only. A WAL database needs its -shm file, which SQLite cannot
 * create in a read-only folder (nor a -wal file): the first read then fails with
 * SQLITE_CANTOPEN or a SQLITE_READONLY_* code, and the file is opened again as an immutable
 * snapshot (nobody can write to that folder, so nothing can change under the reader). */
static eco_status open_read_only(sqlite_backend *be, const char *db_path) {
    int rc = sqlite3_open_v2(db_path, &be->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(be->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    if (rc == SQLITE_OK) return ECO_STATUS_OK;
    int prim = rc & 0xff;
    if (prim != SQLITE_CANTOPEN && prim != SQLITE_READONLY) return sql_error(be, rc, "open");
    sqlite3_close(be->db);
    be->db = NULL;
    char *uri = file_uri(db_path, "?immutable=1");
    if (!uri) return oom(be, "open");
    rc = sqlite3_open_v2(uri, &be->db,
                         SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_URI, NULL);
    free(uri);
    return rc == SQLITE_OK ? ECO_STATUS_OK : sql_error(be, rc, "open read-only");
}

eco_status eco_registry_sqlite_open(const char *db_path, bool create, bool read_only,
                                    eco_registry_backend **out) {
    *out = NULL;
    if (create) read_only = false;
    if (!create) {
        struct stat sb;
        if (stat(db_path, &sb) != 0)
            return errno == ENOENT
                       ? eco_error(ECO_STATUS_ENOTFOUND, "%s: no registry database", db_path)
                       : eco_error(ECO_STATUS_EIO, "%s: %s", db_path, strerror(errno));
    }
    sqlite_backend *be = calloc(1, sizeof *be);
    if (!be) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", db_path);
    be->base = SQLITE_VTABLE;
    be->path = eco_strdup(db_path);
    if (!be->path) {
        free(be);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", db_path);
    }
    be->read_only = read_only;
    eco_status st;
    if (read_only) {
        if ((st = open_read_only(be, db_path))) {
            sq_close(&be->base);
            return st;
        }
    } else {
        int flags =
            SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
        int rc = sqlite3_open_v2(db_path, &be->db, flags, NULL);
        if (rc != SQLITE_OK) {
            st = sql_error(be, rc, "open");
            sq_close(&be->base);
            return st;
        }
    }
    if ((st = configure(be))) goto fail;
    if (create && (st = create_schema(be))) goto fail;
    int version = 0;
    if ((st = read_user_version(be, &version))) goto fail;
    if (version == 0) {
        st =
            eco_error(ECO_STATUS_ENOTFOUND, "%s: not an initialised registry (no schema)", db_path);
        goto fail;
    }
    if (version > 0 && version < SCHEMA_VERSION && !read_only) {
        if ((st = create_schema(be))) goto fail;
        if ((st = read_user_version(be, &version))) goto fail;
    }
    if (version != SCHEMA_VERSION && !(read_only && version == 1)) {
        st = eco_error(ECO_STATUS_EUNSUPPORTED, "%s: schema version %d, this build reads %d",
                       db_path, version, SCHEMA_VERSION);
        goto fail;
    }
    be->version = version;
    *out = &be->base;
    return ECO_STATUS_OK;
fail:
    sq_close(&be->base);
    return st;
}
