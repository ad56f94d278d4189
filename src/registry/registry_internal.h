/*
 * registry-internal: what the registry's files share. The check, for registration
 * (registry.c) and verification (verify.c), that a DSSE envelope signs exactly this genome;
 * and the two small steps every writer of a genome or a row needs: a content hash as hex
 * and the current time as the text genomes and rows record.
 */
#ifndef ECOLOGY_REGISTRY_INTERNAL_H
#define ECOLOGY_REGISTRY_INTERNAL_H

#include "ecology/registry.h"
#include "ecology/signing.h"

/* The envelope's in-toto statement names g->id as its subject, the root digest of g's
 * manifest as the subject digest, and g itself (canonical JSON, byte for byte) as its
 * predicate. With trusted non-NULL the envelope must also verify under one of its keys
 * (keyid receives it); with NULL the signature is not checked (a registry that does not
 * require signatures still refuses an envelope about another model). A statement that is
 * about something else is `mismatch` (ESIGNATURE when registering, EINTEGRITY when
 * verifying: the content no longer matches what was signed); messages start with label. */
eco_status eco_registry_check_envelope(const eco_keyring *trusted, const eco_genome *g,
                                       const char *envelope, size_t envelope_len, const char *label,
                                       eco_status mismatch, char keyid[ECO_KEYID_HEX_LEN + 1]);

/* ingest.c: the genome's capabilities from opt (each name@version; sorted, unique), and the
 * genome's round trip through its canonical JSON (what is registered parses back). Also used
 * by remote_model.c. */
eco_status eco_ingest_set_capabilities(eco_genome *g, const eco_add_options *opt);
eco_status eco_ingest_check_genome(const eco_genome *g);

/* The wall-clock time as RFC 3339 UTC ("2026-11-28T01:02:03Z"), the form genomes and
 * registry rows record; the epoch if the clock cannot be read (registry.c). */
void eco_registry_now_rfc3339(char out[32]);

/* Appends an event of this type for model_id (may be NULL) in its own transaction; detail
 * is a JSON object (the reference is consumed; NULL is out of memory) (registry.c). */
eco_status eco_registry_log_event(eco_registry *r, const char *type, const char *model_id,
                                  struct json_t *detail);

/* The stored genome of id re-hashed against the genome_sha256 recorded with it: EINTEGRITY
 * naming the model when they differ (the genome was edited in the database). */
eco_status eco_registry_check_genome_hash(eco_registry *r, const char *id);

/* The store lock, <data>/store.lock (flock): adds hold it shared from storing their files to
 * registering them, `registry gc` and the clean-up of a refused add exclusive, so an object
 * about to be referenced is never removed. *fd receives the lock (release with
 * eco_registry_store_unlock, which takes -1 too). */
eco_status eco_registry_store_lock(eco_registry *r, bool exclusive, int *fd);
void eco_registry_store_unlock(int fd);

/* Under the exclusive store lock, removes each of the n objects that no registered model
 * references (absent ones are skipped). *removed and *bytes (may be NULL) receive how many
 * went and their size. */
eco_status eco_registry_remove_unreferenced(eco_registry *r, const char *const *hexes, size_t n,
                                            size_t *removed, uint64_t *bytes);
/* What add learns from a folder's lineage record (lineage_record.c). */
typedef struct eco_lineage_record_info {
    bool present;         /* a record was read and applied */
    eco_genome_kind kind; /* the kind its operation makes (a full model's: base for create,
                            * quantized, distilled, else merged) */
    bool has_base_role;   /* parents[0] is the record's base (θ₀) */
    char *family;         /* malloc'd: the parent the child's base_family (and a full model's
                            * genome base) comes from, parents[0]; NULL without parents */
} eco_lineage_record_info;

/* lineage.json in dir (ECO_LINEAGE_FILE; lineage_record.c), when present: sets g's
 * operation (name, params with the record's result as params["result"], seed), adds its
 * corpora, and replaces g's parents by the record's, each found by its file's digest among
 * the registered models (base_override, add's --base, names the base). trained: the folder
 * has training.json; its operation then stands unless a breeding operator wrote the record.
 * *info (caller frees info->family) tells what was read. EFORMAT naming the field for a
 * malformed record, ENOTFOUND for a parent not registered. */
eco_status eco_ingest_lineage_record(eco_registry *r, const char *dir, const char *base_override,
                                     bool trained, eco_genome *g, eco_lineage_record_info *info);

/* The handle's backend (corpora.c reaches the database through it), and EIO naming the
 * folder when the registry was opened read-only (registry.c). */
struct eco_registry_backend *eco_registry_backend_of(eco_registry *r);
eco_status eco_registry_require_writable(const eco_registry *r, const char *what);

/* The indexed members of a report's canonical JSON text into idx (corpus, gates,
 * evaluator_version malloc'd or NULL; accepted -1/0/1; fitness NaN when absent); members of
 * another type read as absent (corpora.c). eco_registry_reports_free_fields frees them. */
void eco_registry_report_index(const char *report_json, eco_registry_report *idx);
void eco_registry_reports_free_fields(eco_registry_report *idx);

#endif
