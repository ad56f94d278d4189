/*
 * signing: keys, in-toto statements and DSSE envelopes (src/signing/; uses only core).
 *
 * A model is signed the way OpenSSF model-transparency signs one: a DSSE envelope
 * (payloadType "application/vnd.in-toto+json") over an in-toto Statement v1
 *
 *   {"_type": "https://in-toto.io/Statement/v1",
 *    "subject": [{"name": "<model id>", "digest": {"sha256": "<manifest root digest>"}}],
 *    "predicateType": "https://tiny-ecology.dev/genome/v1",
 *    "predicate": <the genome>}
 *
 * serialised as canonical JSON. The signature is over DSSE's pre-authentication encoding
 *   PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
 * (LEN in ASCII decimal), and the envelope is
 *   {"payload": "<base64 body>", "payloadType": "...",
 *    "signatures": [{"keyid": "<hex SHA-256 of the public key's DER SPKI>", "sig": "<base64>"}]}
 *
 * Keys: ECDSA P-256 (signature DER, SHA-256 digest) or Ed25519, through OpenSSL 3.
 * `eco_keys_generate` writes <name>.key (PKCS#8 PEM, mode 0600) and <name>.pub (SPKI PEM).
 * Trusted keys are the *.pub files of a folder (<data>/keys/trusted/ by default).
 */
#ifndef ECOLOGY_SIGNING_H
#define ECOLOGY_SIGNING_H

#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECO_INTOTO_STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define ECO_DSSE_PAYLOAD_TYPE     "application/vnd.in-toto+json"
#define ECO_GENOME_PREDICATE_TYPE "https://tiny-ecology.dev/genome/v1"
#define ECO_KEYID_HEX_LEN         ECO_SHA256_HEX_LEN

typedef enum eco_key_type {
    ECO_KEY_TYPE_ECDSA_P256 = 0,
    ECO_KEY_TYPE_ED25519 = 1,
} eco_key_type;

/* "ecdsa-p256" / "ed25519" <-> enum; parse returns EINVAL naming the value. */
const char *eco_key_type_str(eco_key_type t);
eco_status eco_key_type_parse(const char *s, eco_key_type *out);

typedef struct eco_signing_key eco_signing_key; /* a private key */
typedef struct eco_keyring eco_keyring;         /* trusted public keys */

/* Generates a key pair in dir (created if needed): <name>.key and <name>.pub, written
 * atomically; refuses (EEXIST) to overwrite an existing key (either file present). name is
 * one path component of [A-Za-z0-9._-] not starting with '.' (EINVAL otherwise). keyid (may
 * be NULL) receives the key id. */
eco_status eco_keys_generate(const char *dir, const char *name, eco_key_type type,
                             char keyid[ECO_KEYID_HEX_LEN + 1]);
/* Loads a private key file (unencrypted PKCS#8 PEM; EFORMAT otherwise, never a passphrase
 * prompt; EUNSUPPORTED for a key other than P-256 or Ed25519). Caller frees with
 * eco_signing_key_free. */
eco_status eco_signing_key_load(const char *path, eco_signing_key **out);
void eco_signing_key_free(eco_signing_key *k);
const char *eco_signing_key_id(const eco_signing_key *k);
eco_key_type eco_signing_key_type(const eco_signing_key *k);

/* An empty keyring; add public keys (PEM SPKI files) to it (the same key twice is kept once;
 * errors as for eco_signing_key_load). */
eco_status eco_keyring_create(eco_keyring **out);
eco_status eco_keyring_add_file(eco_keyring *kr, const char *pub_path);
/* Every *.pub file of dir (hidden files skipped), in name order; a missing dir gives an
 * empty keyring (not an error); a file that is not a usable public key fails the load. */
eco_status eco_keyring_load_dir(const char *dir, eco_keyring **out);
void eco_keyring_free(eco_keyring *kr);
size_t eco_keyring_count(const eco_keyring *kr);
/* Whether the keyring holds a key with this id. */
bool eco_keyring_has(const eco_keyring *kr, const char *keyid);

/* The statement above as canonical JSON (malloc'd, caller frees). predicate is borrowed. */
eco_status eco_statement_build(const char *subject_name, const char *root_hex,
                               const struct json_t *predicate, char **out, size_t *out_len);
/* Parses a statement (hostile input): the fixed _type and predicateType, exactly one
 * subject with a name and a 64-hex sha256 digest, an object predicate. Returns borrowed
 * views into a new reference *root_json (caller json_decref's it). */
eco_status eco_statement_parse(const char *text, size_t len, const char *label,
                               struct json_t **root_json, const char **subject_name,
                               const char **root_hex, struct json_t **predicate);

/* Signs payload into a DSSE envelope (canonical JSON, malloc'd, caller frees). */
eco_status eco_dsse_sign(const eco_signing_key *k, const char *payload_type, const void *payload,
                         size_t payload_len, char **envelope, size_t *envelope_len);
/* Verifies an envelope (hostile input; label names it in errors, NULL: "envelope").
 * EFORMAT when malformed: not exactly the three fields, strict base64, 1 to 32 signatures
 * each of exactly a keyid (64 lower-case hex) and a non-empty sig; the message names the
 * field ("signatures[0].sig"). A payloadType other than expected_type (required) is also
 * EFORMAT, checked before any signature. ESIGNATURE when no signature verifies under the
 * key of `trusted` with its keyid (the message says "no trusted key with id ..." or
 * "signature by key ... does not verify"). On success returns the decoded payload
 * (malloc'd, NUL-terminated, caller frees); payload_len and keyid may be NULL; keyid
 * receives the id of the key that verified. On failure *payload is NULL. */
eco_status eco_dsse_verify(const eco_keyring *trusted, const char *envelope, size_t envelope_len,
                           const char *label, const char *expected_type, char **payload,
                           size_t *payload_len, char keyid[ECO_KEYID_HEX_LEN + 1]);

/* Base64 (RFC 4648, standard alphabet, with padding). encode: malloc'd NUL-terminated
 * (NULL when out of memory). decode: strict (no white space, correct padding, zero spare
 * bits), EFORMAT otherwise; *out malloc'd with a NUL after the *out_len bytes. */
char *eco_base64_encode(const void *data, size_t len);
eco_status eco_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
