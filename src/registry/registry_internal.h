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
eco_status eco_registry_check_envelope(const eco_keyring *trusted, const eco_genome *g, const char *envelope,
                                      size_t envelope_len, const char *label, eco_status mismatch,
                                      char keyid[ECO_KEYID_HEX_LEN + 1]);

/* SHA-256 of len bytes at data, as 64 lower-case hex digits into out (genome.c). */
eco_status eco_registry_sha256_hex(const void *data, size_t len, char out[ECO_SHA256_HEX_LEN + 1]);

/* The wall-clock time as RFC 3339 UTC ("2026-11-28T01:02:03Z"), the form genomes and
 * registry rows record; the epoch if the clock cannot be read (registry.c). */
void eco_registry_now_rfc3339(char out[32]);

#endif
