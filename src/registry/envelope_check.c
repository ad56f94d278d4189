/* The statement check shared by registration and verification (registry_internal.h). */
#include "registry/registry_internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The payload of an envelope without checking its signature (for registries that do not
 * require one but still refuse an envelope about another model). */
static eco_status envelope_payload_unverified(const char *envelope, size_t envelope_len,
                                              const char *label, char **payload,
                                              size_t *payload_len) {
    *payload = NULL;
    json_error_t err;
    json_t *j = json_loadb(envelope, envelope_len, JSON_REJECT_DUPLICATES, &err);
    if (!j) return eco_error(ECO_STATUS_EFORMAT, "%s: invalid JSON: %s", label, err.text);
    eco_status st = ECO_STATUS_OK;
    json_t *type = json_object_get(j, "payloadType"), *body = json_object_get(j, "payload");
    if (!json_is_object(j) || !json_is_string(type) || !json_is_string(body)) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: not a DSSE envelope (payload, payloadType)", label);
    } else if (strcmp(json_string_value(type), ECO_DSSE_PAYLOAD_TYPE) != 0) {
        st = eco_error(ECO_STATUS_ESIGNATURE, "%s: payloadType '%s', want '%s'", label,
                       json_string_value(type), ECO_DSSE_PAYLOAD_TYPE);
    } else {
        uint8_t *bytes = NULL;
        size_t n = 0;
        st = eco_base64_decode(json_string_value(body), json_string_length(body), &bytes, &n);
        if (st) {
            eco_error_wrap(st, "%s: payload", label);
        } else {
            char *text = eco_bytes_dup(bytes, n);
            if (!text) {
                st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
            } else {
                *payload = text;
                *payload_len = n;
            }
            free(bytes);
        }
    }
    json_decref(j);
    return st;
}

/* Checks that a DSSE envelope is about genome g: payload type ECO_DSSE_PAYLOAD_TYPE, the
 * statement's subject name g->id, its digest the manifest root of g->files, its predicate
 * (canonically) g's canonical JSON. With trusted non-NULL the signature must also verify
 * under one of its keys (keyid receives the key's id); with trusted NULL it is not checked.
 * ESIGNATURE for a bad signature or a statement about something else, EFORMAT for a
 * malformed envelope or statement. */
eco_status eco_registry_check_envelope(const eco_keyring *trusted, const eco_genome *g,
                                       const char *envelope, size_t envelope_len, const char *label,
                                       eco_status mismatch, char keyid[ECO_KEYID_HEX_LEN + 1]) {
    char *payload = NULL, *genome_text = NULL, *pred_text = NULL;
    size_t payload_len = 0;
    json_t *root = NULL, *pred = NULL;
    const char *subject = NULL, *digest = NULL;
    char manifest_root[ECO_SHA256_HEX_LEN + 1];
    eco_status st;
    if (trusted)
        st = eco_dsse_verify(trusted, envelope, envelope_len, label, ECO_DSSE_PAYLOAD_TYPE,
                             &payload, &payload_len, keyid);
    else
        st = envelope_payload_unverified(envelope, envelope_len, label, &payload, &payload_len);
    if (st) goto done;
    if ((st = eco_statement_parse(payload, payload_len, label, &root, &subject, &digest, &pred)))
        goto done;
    if (strcmp(subject, g->id) != 0) {
        st = eco_error(mismatch, "%s: statement subject '%s' is not model '%s'", label, subject,
                       g->id);
        goto done;
    }
    if ((st = eco_manifest_root(&g->files, manifest_root))) goto done;
    if (strcmp(digest, manifest_root) != 0) {
        st =
            eco_error(mismatch, "%s: statement digest %s is not the manifest root %s of model '%s'",
                      label, digest, manifest_root, g->id);
        goto done;
    }
    if ((st = eco_genome_to_canonical(g, &genome_text, NULL))) goto done;
    if ((st = eco_json_canonical(pred, &pred_text, NULL))) goto done;
    if (strcmp(pred_text, genome_text) != 0)
        st = eco_error(mismatch, "%s: statement predicate is not the genome of model '%s'", label,
                       g->id);
done:
    free(pred_text);
    free(genome_text);
    json_decref(root);
    free(payload);
    return st;
}
