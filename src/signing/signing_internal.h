/*
 * signing_internal: what dsse.c needs from keys.c, and DSSE's pre-authentication encoding
 * for the tests. Internal to the library; not under include/.
 *
 * keys.c keeps the OpenSSL key objects to itself: dsse.c signs and verifies through the
 * two calls below, which pick the digest (SHA-256 for ECDSA P-256, none for Ed25519).
 */
#ifndef ECO_SIGNING_SIGNING_INTERNAL_H
#define ECO_SIGNING_SIGNING_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ecology/signing.h"

/* PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN in ASCII
 * decimal. *out is malloc'd (not NUL-terminated; caller frees). */
eco_status eco_dsse_pae(const char *type, const void *body, size_t body_len, uint8_t **out,
                        size_t *out_len);

/* Signs msg with k (ECDSA: DER signature over SHA-256; Ed25519: pure). *sig is malloc'd;
 * caller frees. */
eco_status eco_signing_key_sign(const eco_signing_key *k, const void *msg, size_t len,
                                uint8_t **sig, size_t *sig_len);

typedef enum eco_keyring_verdict {
    ECO_KEYRING_VERDICT_VALID = 0,   /* a key with that id holds and the signature verifies */
    ECO_KEYRING_VERDICT_INVALID = 1, /* a key with that id holds, the signature does not verify */
    ECO_KEYRING_VERDICT_UNKNOWN = 2, /* no key with that id */
} eco_keyring_verdict;

/* Checks sig over msg under the key of kr whose id is keyid. Never fails otherwise: an
 * OpenSSL error (a signature that is not DER, say) counts as INVALID. */
eco_keyring_verdict eco_keyring_verify(const eco_keyring *kr, const char *keyid, const void *msg,
                                       size_t len, const uint8_t *sig, size_t sig_len);

#endif
