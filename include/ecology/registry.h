/*
 * registry: genomes, compatibility identity, lineage, aliases and the audit log.
 *
 * Every model (base, adapter, merged child, distilled student, quantized copy) is an
 * immutable, content-addressed artifact described by a genome (canonical JSON, hashed and
 * signed). The registry stores genomes, their files (by digest, in the artifact store),
 * lineage edges, evaluation reports, aliases (champion, canary, any name, moved only by
 * compare-and-swap, every move kept in the alias history) and an append-only event log.
 *
 * Genome (canonical JSON; every key present, lists sorted where order carries no meaning):
 *   {"id": "...", "kind": "base"|"adapter"|"merged"|"distilled"|"quantized"|"remote",
 *    "compatibility": {"base_family": hex, "architecture_hash": hex,
 *                      "tokenizer_hash": hex, "tensor_schema_hash": hex},
 *    "interface_version": "text-generation@1",
 *    "capabilities": ["arith.add@1", ...],                      sorted, unique
 *    "lineage": {"parents": [ids], "operation": {"name": "...", "params": {...}, "seed": N}},
 *    "files": [{"name","sha256","size"}, ...],                  the manifest (artifacts.h)
 *    "base": id or null,                                        what an adapter needs
 *    "resource_profile": {"parameters": N, "bytes": N, "resident_bytes": N},
 *    "corpora": [hex, ...],                                     sorted, unique
 *    "created_at": "2026-11-28T01:02:03Z", "tool_version": "tiny-ecology 0.1.0"}
 *
 * Compatibility identity, computed from the files, never typed in:
 *   architecture_hash   SHA-256 of the canonical JSON of config.json's architecture fields
 *                       (model_type, hidden_size, intermediate_size, num_hidden_layers,
 *                       num_attention_heads, num_key_value_heads, head_dim, vocab_size,
 *                       rms_norm_eps, rope_theta, rope_scaling, tie_word_embeddings,
 *                       attention_bias, hidden_act, max_position_embeddings) as parsed
 *   tokenizer_hash      SHA-256 of the canonical JSON of tokenizer.json's model (type,
 *                       vocab, merges, byte_fallback, ...), added_tokens, normalizer,
 *                       pre_tokenizer, post_processor and decoder
 *   tensor_schema_hash  SHA-256 of the canonical JSON of the sorted [[name, [shape...]], ...]
 *                       of the base tensors (an adapter inherits its base's)
 *   base_family         a base's own manifest root over its weight files (*.safetensors
 *                       and model.safetensors.index.json); everything else inherits it
 *                       from its base / parents
 * Two models' parameters can be mixed iff all four are equal (eco_compat_equal, the
 * seed's parameter_merge_compatible).
 */
#ifndef ECOLOGY_REGISTRY_H
#define ECOLOGY_REGISTRY_H

#include "ecology/artifacts.h"
#include "ecology/contracts.h"
#include "ecology/core.h"
#include "ecology/signing.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECO_GENOME_FILE      "genome.json"
#define ECO_SIGNATURE_FILE   "signature.json"
#define ECO_REGISTRY_DB_FILE "registry.db"

/* ---- compatibility identity --------------------------------------------------------- */

/* The identity of a base model folder (config.json, tokenizer.json, *.safetensors);
 * base_family included. Errors name the file and field. */
eco_status eco_compat_compute_base(const char *model_dir, eco_compat_identity *out);
/* The same when the folder's manifest (eco_manifest_from_dir) is at hand: base_family is
 * taken from its top-level weight entries instead of hashing the weights again. */
eco_status eco_compat_compute_base_manifest(const char *model_dir, const eco_manifest *files,
                                            eco_compat_identity *out);
/* The three hashes on their own (each from one file; hex out). config_path and
 * tokenizer_path may also name the model folder. The tensor schema leaves dtype out on
 * purpose: a bf16 copy of an f32 model has the same schema (its parameters mix with the
 * original's) and is told apart by base_family. src/registry/compat.c lists the exact
 * documents hashed. */
eco_status eco_compat_architecture_hash(const char *config_path, char out[ECO_SHA256_HEX_LEN + 1]);
eco_status eco_compat_tokenizer_hash(const char *tokenizer_path, char out[ECO_SHA256_HEX_LEN + 1]);
eco_status eco_compat_tensor_schema_hash(const char *model_dir, char out[ECO_SHA256_HEX_LEN + 1]);
/* Whether every field is equal (parameter_merge_compatible). */
bool eco_compat_equal(const eco_compat_identity *a, const eco_compat_identity *b);
/* The name of the first field that differs ("base_family", "architecture_hash",
 * "tokenizer_hash", "tensor_schema_hash"), or NULL when equal. */
const char *eco_compat_diff(const eco_compat_identity *a, const eco_compat_identity *b);
/* Every field that differs, in that order, into fields[0..n); returns n (0 when equal;
 * every field when a or b is NULL: nothing is known to be equal), so that a refusal names
 * the tokenizer and architecture of another base family, not only its base_family. */
#define ECO_COMPAT_FIELDS 4
size_t eco_compat_diff_all(const eco_compat_identity *a, const eco_compat_identity *b,
                           const char *fields[ECO_COMPAT_FIELDS]);
/* The identity every remote model (kind "remote") carries: each field the SHA-256 of the
 * text "tiny-ecology remote model". It marks a model that is parameter-compatible with
 * nothing, itself and other remote models included: eco_compat_diff_all names every field
 * when either side carries it. */
void eco_compat_remote(eco_compat_identity *out);
bool eco_compat_is_remote(const eco_compat_identity *c);

/* ---- genome ------------------------------------------------------------------------- */

const char *eco_genome_kind_str(eco_genome_kind k);
eco_status eco_genome_kind_parse(const char *s, eco_genome_kind *out);

/* Releases what a genome (contracts.h) owns and zeroes it; safe on a zeroed genome. */
void eco_genome_free(eco_genome *g);
/* Genome as JSON (a new reference) / canonical text (malloc'd) / SHA-256 of that text.
 * A record that would not parse back is refused: EINVAL naming the field ("genome:
 * capabilities[1]: not in sorted order"), ERANGE for a seed or size above 2^63-1. NULL
 * op_params is written as {}. */
eco_status eco_genome_to_json(const eco_genome *g, struct json_t **out);
eco_status eco_genome_to_canonical(const eco_genome *g, char **out, size_t *len);
eco_status eco_genome_hash(const eco_genome *g, char out[ECO_SHA256_HEX_LEN + 1]);
/* Parses a genome (hostile input): every key above present with its type, no unknown
 * keys, hex fields 64 lower-case hex, id a valid model id, lists sorted and unique where
 * required. label names the source ("genome.json: lineage.parents[0]: ..."). Also:
 * capabilities and interface_version "name@version" (name [a-z0-9_.-]+, version digits
 * without a leading zero), parents unique, operation name [a-z0-9_.-]{1,64}, seed and
 * resource_profile integers >= 0, created_at exactly "YYYY-MM-DDTHH:MM:SSZ", tool_version
 * 1..256 bytes without control characters (the full list: src/registry/genome.c).
 * EFORMAT on any failure, *out untouched; the caller frees *out with
 * eco_genome_free. */
eco_status eco_genome_from_json(const struct json_t *j, const char *label, eco_genome *out);
eco_status eco_genome_parse(const char *text, size_t len, const char *label, eco_genome *out);
/* A valid model id: 1..127 bytes of [A-Za-z0-9._@+-], not starting with '.' or '-'. */
bool eco_model_id_ok(const char *id);

/* ---- registry ----------------------------------------------------------------------- */

/* A handle is used by one thread at a time (open one per thread or process); the database
 * serialises writers across processes. */
typedef struct eco_registry eco_registry;

/* Storage backend: the registry's SQL lives behind this vtable so that a PostgreSQL
 * backend can follow without touching callers. SQLite (WAL mode, registry.db in the data
 * folder) is the embedded default. */
typedef struct eco_registry_backend eco_registry_backend;

typedef struct eco_registry_options {
    const char *data_dir;    /* NULL: eco_data_dir_resolve(NULL) */
    bool require_signature;  /* refuse unsigned or untrusted models at registration */
    const char *trusted_dir; /* NULL: <data>/keys/trusted */
    bool trust_cache;        /* reading a model's files (export, loading) may skip re-hashing an
                                 * object whose size and mtime were verified before (the
                                 * store's trust cache); eco_registry_verify always re-hashes */
    bool read_only;          /* never write to the data folder (the database is opened
                                 * read-only, nothing is created, no cache line appended);
                                 * every write then fails with EIO saying so. A folder that is
                                 * not writable is opened this way whatever this says. */
} eco_registry_options;

/* Creates the data folder, store, database and keys/trusted/ (the folder of trusted public
 * keys) if needed (idempotent). */
eco_status eco_registry_init(const char *data_dir);
/* The registry's policy, kept in <data>/policy.json ({"require_signature": bool}) so that
 * every process opening the data folder applies it: with require_signature, registration
 * refuses unsigned or untrusted models whatever the opener's options say. A missing file
 * means no requirement. */
eco_status eco_registry_policy_set(const char *data_dir, bool require_signature);
eco_status eco_registry_policy_get(const char *data_dir, bool *require_signature);
/* Opens an initialised registry (ENOTFOUND naming the folder if not initialised). */
eco_status eco_registry_open(const eco_registry_options *opt, eco_registry **out);
void eco_registry_close(eco_registry *r);
eco_store *eco_registry_store(eco_registry *r);
const char *eco_registry_data_dir(const eco_registry *r);
/* The folder of trusted public keys this registry checks signatures against. */
const char *eco_registry_trusted_dir(const eco_registry *r);
/* Whether this handle was opened with trust_cache. */
bool eco_registry_trust_cache(const eco_registry *r);

/* Registers a genome whose files are already in the store (each verified present with its
 * size). envelope: the DSSE signature (may be NULL: unsigned, refused under
 * require_signature). An id that is an alias's name: EEXIST. Same id with identical genome:
 * a no-op (*created false). Same id, different content: EEXIST. Parents and base must be
 * registered (ENOTFOUND naming them). Atomic: one transaction writes the model, its files,
 * lineage edges and an event.
 * An envelope, when given, must be a statement about this genome (subject id, manifest root,
 * predicate) even when signatures are not required (ESIGNATURE otherwise); a no-op
 * re-registration keeps the envelope stored first. */
eco_status eco_registry_register(eco_registry *r, const eco_genome *g, const char *envelope,
                                 bool *created);
/* Loads a genome (ENOTFOUND if absent); envelope (may be NULL) receives the stored
 * signature or NULL (malloc'd). */
eco_status eco_registry_get(eco_registry *r, const char *id, eco_genome *out, char **envelope);
bool eco_registry_exists(eco_registry *r, const char *id);

typedef struct eco_registry_filter {
    const char *kind;                  /* NULL: any */
    const char *capability;            /* NULL: any */
    const char *base;                  /* NULL: any */
    const eco_compat_identity *compat; /* NULL: any */
} eco_registry_filter;

/* Ids matching the filter, in registration order (malloc'd array of malloc'd strings;
 * free with eco_registry_ids_free). */
eco_status eco_registry_list(eco_registry *r, const eco_registry_filter *f, char ***ids, size_t *n);
void eco_registry_ids_free(char **ids, size_t n);
/* Every ancestor (parents, their parents, ...; base included) / descendant, each once,
 * nearest first (recursive queries). */
eco_status eco_registry_ancestors(eco_registry *r, const char *id, char ***ids, size_t *n);
eco_status eco_registry_descendants(eco_registry *r, const char *id, char ***ids, size_t *n);

/* Moves alias name to id if it currently points at expect (NULL: the alias must not exist
 * yet; "*": any current value, or unset). ECONFLICT (naming the current target) when it
 * does not; ENOTFOUND when id is not registered; EEXIST when a model has the id name (an
 * alias never shadows a model id). Each move appends an alias history row and an "alias"
 * event; moving to the current target records nothing. */
eco_status eco_registry_alias_set(eco_registry *r, const char *name, const char *id,
                                  const char *expect);
/* Current target (malloc'd) or ENOTFOUND. */
eco_status eco_registry_alias_get(eco_registry *r, const char *name, char **id);

typedef struct eco_alias_change {
    int64_t seq;
    char *name, *from_id, *to_id; /* from_id NULL for the first setting */
    char *at;                     /* RFC 3339 UTC */
} eco_alias_change;
eco_status eco_registry_alias_history(eco_registry *r, const char *name, eco_alias_change **out,
                                      size_t *n);
void eco_alias_changes_free(eco_alias_change *c, size_t n);

typedef struct eco_registry_event {
    int64_t seq;    /* increasing */
    char *at;       /* RFC 3339 UTC */
    char *type;     /* "register", "alias", "report", ... */
    char *model_id; /* may be NULL */
    char *detail;   /* canonical JSON object text */
} eco_registry_event;
/* Events with seq > since, in order. */
eco_status eco_registry_events(eco_registry *r, int64_t since, eco_registry_event **out, size_t *n);
void eco_registry_events_free(eco_registry_event *e, size_t n);
/* Appends an event in its own transaction (the modules above the registry record what they
 * decide: the loop's generations, gate verdicts, canary decisions, the archive). type:
 * 1..64 bytes of [a-z0-9_.-]; model_id NULL or a valid model id (it need not be registered:
 * a refused candidate is named too); detail_json: a JSON object (NULL: {}), stored
 * canonically. EINVAL naming what is wrong; *seq (may be NULL) receives the event's number. */
eco_status eco_registry_event_append(eco_registry *r, const char *type, const char *model_id,
                                     const char *detail_json, int64_t *seq);
/* The last event of type (*found false when none); out is filled when found (caller frees
 * its members with eco_registry_event_clear). */
eco_status eco_registry_event_last(eco_registry *r, const char *type, bool *found,
                                   eco_registry_event *out);
/* Frees one event's members and zeroes it (safe on a zeroed event). */
void eco_registry_event_clear(eco_registry_event *e);

/* Stores an evaluation report (a JSON object, stored canonically; EFORMAT otherwise) for a
 * registered model (ENOTFOUND otherwise); appends a "report" event. */
eco_status eco_registry_add_report(eco_registry *r, const char *id, const char *report_json);

/* The whole registry's consistency: the database's own check, then every model's genome
 * hashes to the genome_sha256 recorded with it and parses, its parents and base are
 * registered, every file is in the store with its size, every recorded corpus's file is in
 * the store, and with rehash every file's and corpus's object is re-hashed too. OK, or the first problem
 * (EINTEGRITY / ENOTFOUND) named. n_models and n_objects (may be NULL) receive how many
 * models and files were checked. */
eco_status eco_registry_check(eco_registry *r, bool rehash, size_t *n_models, size_t *n_objects);

/* An object of the store that no registered model references. */
typedef struct eco_gc_object {
    char sha256[ECO_SHA256_HEX_LEN + 1];
    uint64_t size;
} eco_gc_object;

/* Finds the store's objects that no registered model references and, unless dry_run,
 * removes them (holding the store lock exclusively, so no add in progress loses an object
 * it is about to register) and logs a "gc" event. *objects (malloc'd, caller frees; may be
 * NULL when *n is 0), *n and *bytes receive what was (or, with dry_run, would be) removed. */
eco_status eco_registry_gc(eco_registry *r, bool dry_run, eco_gc_object **objects, size_t *n,
                           uint64_t *bytes);

/* ---- corpora, the corpus deny list, reports (schema version 2) ---------------------- */

/* A corpus file kept in the artifact store (immutable) and recorded in the registry.
 *   eval   an evaluation corpus (eval_corpus.h); its identity is the SHA-256 of its file
 *          bytes, which is also its store object. May be hidden: evaluation only, and
 *          no model whose lineage trained on it (or on an overlapping corpus) may be
 *          evaluated on it (the contamination rule, eval_contamination.h).
 *   train  a training corpus (data.h, JSONL {"prompt","completion"} or {"text"}); its
 *          identity is data.h's canonical-content SHA-256, the hash genomes name in
 *          "corpora"; the store object is the file bytes' SHA-256. Never hidden.
 * The registry does not parse corpora (it does not depend on the modules that do): the
 * caller validates the file and fills sha256 (the identity) and count. */
typedef enum eco_corpus_kind { ECO_CORPUS_EVAL = 0, ECO_CORPUS_TRAIN = 1 } eco_corpus_kind;

typedef struct eco_corpus_info {
    char sha256[ECO_SHA256_HEX_LEN + 1]; /* identity (above) */
    char object[ECO_SHA256_HEX_LEN + 1]; /* store object: SHA-256 of the file bytes */
    eco_corpus_kind kind;
    bool hidden;
    int64_t count;  /* cases (eval) or records (train) */
    uint64_t size;  /* file bytes */
    char *name;     /* NULL when none (1..128 bytes without control characters) */
    char *added_at; /* RFC 3339 UTC (filled by the registry) */
} eco_corpus_info;

/* "eval" / "train"; parse: EINVAL naming both otherwise. */
const char *eco_corpus_kind_str(eco_corpus_kind k);
eco_status eco_corpus_kind_parse(const char *s, eco_corpus_kind *out);

/* Stores the file at path in the artifact store and records it with in's sha256, kind,
 * hidden, count and name (object and size are computed here; for an eval corpus sha256
 * must equal the file bytes' SHA-256, EINTEGRITY otherwise; a hidden train corpus is
 * EINVAL). The identity already recorded with the same kind, hidden flag and object: a
 * no-op (*created false; the first record stands, name included). Recorded with another
 * kind, hidden flag or object: EEXIST naming what differs (corpora are immutable). One
 * transaction writes the row and a "corpus" event. *out (may be NULL) receives the
 * recorded row (caller frees with eco_corpus_info_free). */
eco_status eco_registry_corpus_add(eco_registry *r, const char *path, const eco_corpus_info *in,
                                   bool *created, eco_corpus_info *out);
/* The corpus whose identity or store object is sha256 (ENOTFOUND naming it). */
eco_status eco_registry_corpus_get(eco_registry *r, const char *sha256, eco_corpus_info *out);
/* Every corpus in the order added. */
eco_status eco_registry_corpus_list(eco_registry *r, eco_corpus_info **out, size_t *n);
void eco_corpus_info_free(eco_corpus_info *c);
void eco_corpus_infos_free(eco_corpus_info *c, size_t n);
/* Path of the corpus's file in the store (malloc'd); *present says whether the store
 * holds it. */
eco_status eco_registry_corpus_path(eco_registry *r, const eco_corpus_info *c, char **path,
                                    bool *present);

/* The deny list of corpus hashes: no model whose lineage names one may be evaluated
 * (verifier.h's artifact checks). Adding a listed hash again is a no-op (*created false).
 * reason may be NULL. An append-only table and a "corpus-deny" event. */
eco_status eco_registry_corpus_deny(eco_registry *r, const char *sha256, const char *reason,
                                    bool *created);
/* *denied, and the reason (malloc'd, may be NULL; reason may be NULL when not wanted). */
eco_status eco_registry_corpus_denied(eco_registry *r, const char *sha256, bool *denied,
                                      char **reason);

/* A stored report with the members the registry indexes (read from the report at
 * eco_registry_add_report: "corpus", "gates", "evaluator_version", "verdict"."accepted"
 * and "verdict"."fitness"."timing"."total" of eval_report JSON; NULL / -1 / NaN when the
 * report lacks them). */
typedef struct eco_registry_report {
    int64_t seq;
    char *model_id, *at;
    char *corpus;            /* corpus SHA-256 or NULL */
    char *gates;             /* gates-file SHA-256 or NULL (not judged, or default gates) */
    char *evaluator_version; /* or NULL */
    int accepted;            /* 1 accepted, 0 rejected, -1 not judged */
    double fitness;          /* NaN when none */
    char *report;            /* the canonical JSON */
} eco_registry_report;

/* The reports of model id (NULL: every model), oldest first; corpus (may be NULL) keeps
 * only those on that corpus. */
eco_status eco_registry_reports(eco_registry *r, const char *id, const char *corpus,
                                eco_registry_report **out, size_t *n);
void eco_registry_reports_free(eco_registry_report *rep, size_t n);

/* ---- remote models (served by another server: remote.h's http engine) ----------------- */

/* A model the registry records but this machine does not hold: an OpenAI-compatible
 * endpoint and the model name it serves. Its genome: kind "remote", no files, n_params and
 * bytes 0, compatibility eco_compat_remote (compatible with nothing), interface_version
 * "text-generation@1", lineage {"parents": [], "operation": {"name": "remote", "params":
 * {"endpoint": URL, "model": NAME, "api_key_env": VAR (absent when no key)}, "seed": 0}}.
 * The key itself is never recorded: api_key_env names the environment variable the key is
 * read from when an engine is opened (the runtime pool). */
typedef struct eco_remote_add_options {
    const char *id;                  /* required */
    const char *endpoint;            /* base URL: http:// or https://, 1..2048 printable bytes */
    const char *model;               /* the server's model name: 1..256 printable bytes */
    const char *api_key_env;         /* NULL, or [A-Za-z_][A-Za-z0-9_]{0,127} */
    const char *const *capabilities; /* n_capabilities, each name@version */
    size_t n_capabilities;
    const char *sign_key;   /* private key path, or NULL (unsigned) */
    const char *created_at; /* NULL: now */
} eco_remote_add_options;

/* Builds, signs (with sign_key) and registers a remote model's genome as above (an
 * identical one already registered: a no-op). EINVAL naming the bad option (an endpoint
 * that is not http(s), a key variable name that is not one: a key given in its place is
 * refused, not stored), the registry's errors (EEXIST, ESIGNATURE under require_signature).
 * *genome_out (may be NULL) receives the genome (caller frees). */
eco_status eco_registry_add_remote(eco_registry *r, const eco_remote_add_options *o,
                                   eco_genome *genome_out);

/* The endpoint, model name and key variable (NULL when none) a remote genome records
 * (borrowed from g). EFORMAT naming the genome when g is not kind remote or its operation
 * lacks them. */
eco_status eco_genome_remote_target(const eco_genome *g, const char **endpoint, const char **model,
                                    const char **api_key_env);

/* ---- ingest, verify, export --------------------------------------------------------- */

typedef struct eco_add_options {
    const char *id;                  /* required */
    const char *base;                /* registered base id for an adapter (NULL: resolve
                                     * base_model_name_or_path as a registered id) */
    const char *const *capabilities; /* n_capabilities */
    size_t n_capabilities;
    const char *sign_key;        /* private key path, or NULL (unsigned) */
    const char *created_at;      /* NULL: now (tests pass a fixed time) */
    bool progress;               /* a progress line on stderr (eco_progress: redrawn on a
                                     * terminal, one summary line otherwise) while hashing and
                                     * storing a folder of progress_min_bytes or more */
    uint64_t progress_min_bytes; /* 0: ECO_ADD_PROGRESS_MIN_BYTES */
} eco_add_options;

#define ECO_ADD_PROGRESS_MIN_BYTES (64ull << 20)

/* Computes the genome of a model folder (a base: config.json + tokenizer.json + weights;
 * an adapter: adapter_config.json + adapter_model.safetensors, whose shapes must fit the
 * base), stores its files, signs it (when a key is given) and registers it. Prints
 * nothing but the progress line opt->progress asks for. *genome_out
 * (may be NULL) receives the genome. Also reads lineage and corpora from a training.json in
 * the folder when present. Training's working files at the top of the folder (checkpoint.*,
 * work/, .work/) are not part of the model: they are skipped and named in a warning. A
 * stored object with a digest of the folder is re-hashed before it is reused; a damaged one
 * is replaced and a "repair" event logged. An add that fails removes the objects it stored
 * that no registered model references. A signing key that keys/trusted/ does not hold is
 * warned about (the model is registered, and `verify` will call it untrusted). */
eco_status eco_registry_add_dir(eco_registry *r, const char *dir, const eco_add_options *opt,
                                eco_genome *genome_out);

/* A DSSE envelope (malloc'd, caller frees) signing the in-toto statement of g (subject: its
 * id and manifest root; predicate: the genome) with the private key at key_path. */
eco_status eco_sign_genome(const eco_genome *g, const char *key_path, char **envelope);

/* Re-hashes every file of a registered model in the store, checks the genome's hash, the
 * manifest root and the signature against the trusted keys. OK, or the status of the first
 * failure with a message naming the file or field: EINTEGRITY for anything that does not
 * match (a file, the genome, a statement about other content, a signature by a trusted key
 * that does not verify: tampered bytes), ESIGNATURE only when everything matches but the
 * model is unsigned or signed by keys none of which is trusted. keyid (may be NULL)
 * receives the id of the key that verified. */
eco_status eco_registry_verify(eco_registry *r, const char *id, char keyid[ECO_KEYID_HEX_LEN + 1]);
/* The same for a folder written by eco_registry_export (its files, genome.json and
 * signature.json), against the public keys in trusted. */
eco_status eco_verify_dir(const char *dir, const eco_keyring *trusted,
                          char keyid[ECO_KEYID_HEX_LEN + 1]);
/* Writes a model's files, genome.json and signature.json (when signed) to out_dir (created;
 * must be empty or absent), each atomically. */
eco_status eco_registry_export(eco_registry *r, const char *id, const char *out_dir);

/* ---- models by name ----------------------------------------------------------------- */

/* The model id that ref names: ref itself when a model has that id, else the target of the
 * alias named ref ("champion", "sentiment@champion": an alias name is any valid model id,
 * and no alias may have a model's id, so the two never compete). *id is malloc'd (caller
 * frees). EINVAL when ref is not a valid id, ENOTFOUND naming ref and the data folder when
 * neither a model nor an alias has that name. */
eco_status eco_registry_resolve(eco_registry *r, const char *ref, char **id);
/* A folder holding the files of the model ref names (eco_registry_resolve), ready for the
 * loaders: <data>/checkouts/<id>/, its files read-only hard links to (or copies of) the
 * store's objects. Every object is verified first (re-hashed, unless the handle was opened
 * with trust_cache and the trust cache vouches for it): EINTEGRITY naming the model and the
 * file when one is damaged. A valid existing checkout is reused; an invalid one is rebuilt
 * atomically (src/registry/checkout.c). *dir is malloc'd (caller frees); genome_out (may be
 * NULL) receives the model's genome (caller frees with eco_genome_free). */
eco_status eco_registry_checkout(eco_registry *r, const char *ref, char **dir,
                                 eco_genome *genome_out);

#ifdef __cplusplus
}
#endif
#endif
