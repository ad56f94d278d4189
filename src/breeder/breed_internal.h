/*
 * breed_internal: what the breeder's run (breed.c), its re-run (breed_rerun.c) and chains
 * of operators (breed_chain.c) share.
 */
#ifndef ECOLOGY_BREED_INTERNAL_H
#define ECOLOGY_BREED_INTERNAL_H

#include "ecology/breeder.h"

/* A fresh working folder <data>/work/<label>.<pid>.<n>/ (*out malloc'd; the caller removes
 * it with eco_remove_tree). */
eco_status eco_breed_make_work_dir(eco_registry *r, const char *label, char **out);

/* Adds the corpora's hashes (eco_breed_corpus_hash) to child/lineage.json's "corpora"
 * (sorted, unique). */
eco_status eco_breed_record_corpora(const char *child, const char *const *corpora, size_t n);

/* Registers the bred folder dir (eco_registry_add_dir): id, or "<label>-<12 hex of its
 * files' root digest>" when NULL; an adapter child takes the base model of the first
 * adapter among parents (ids or aliases). res->id and res->genome receive the child's. */
eco_status eco_breed_register(eco_registry *r, const char *dir, const char *label,
                              const char *const *parents, size_t n_parents, const char *id,
                              const char *sign_key, const char *created_at, bool progress,
                              eco_breed_result *res);

#endif
