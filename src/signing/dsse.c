/* DSSE envelopes (https://github.com/secure-systems-lab/dsse, protocol v1): signing over the
 * pre-authentication encoding, and verification of an envelope read from anywhere (hostile
 * input: every field checked, every malformation EFORMAT naming the field). */
#include "signing/signing_internal.h"
#include "core/json_read.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* More signatures than this is not an envelope we wrote or would want to spend time on. */
#define DSSE_MAX_SIGNATURES 32

eco_status eco_dsse_pae(const char *type, const void *body, size_t body_len, uint8_t **out,
                        size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    size_t tlen = strlen(type);
    char head[64];
    int hn = snprintf(head, sizeof head, "DSSEv1 %zu ", tlen);
    char mid[32];
    int mn = snprintf(mid, sizeof mid, " %zu ", body_len);
    if (hn < 0 || mn < 0) return eco_error(ECO_STATUS_EINTERNAL, "PAE: snprintf failed");
    size_t n = (size_t)hn;
    if (!eco_add_ok(n, tlen, &n) || !eco_add_ok(n, (size_t)mn, &n) || !eco_add_ok(n, body_len, &n))
        return eco_error(ECO_STATUS_EOVERFLOW, "PAE: %zu-byte body is too large", body_len);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) return eco_error(ECO_STATUS_ENOMEM, "PAE: cannot allocate %zu bytes", n);
    uint8_t *p = buf;
    memcpy(p, head, (size_t)hn), p += hn;
    memcpy(p, type, tlen), p += tlen;
    memcpy(p, mid, (size_t)mn), p += mn;
    if (body_len) memcpy(p, body, body_len);
    *out = buf;
    *out_len = n;
    return ECO_STATUS_OK;
}

eco_status eco_dsse_sign(const eco_signing_key *k, const char *payload_type, const void *payload,
                         size_t payload_len, char **envelope, size_t *envelope_len) {
    *envelope = NULL;
    if (envelope_len) *envelope_len = 0;
    if (!k || !payload_type || (!payload && payload_len))
        return eco_error(ECO_STATUS_EINVAL, "DSSE sign: missing key, payload type or payload");
    uint8_t *pae = NULL, *sig = NULL;
    size_t pae_len = 0, sig_len = 0;
    char *b64_payload = NULL, *b64_sig = NULL;
    json_t *env = NULL;
    eco_status st = eco_dsse_pae(payload_type, payload, payload_len, &pae, &pae_len);
    if (st != ECO_STATUS_OK) goto done;
    if ((st = eco_signing_key_sign(k, pae, pae_len, &sig, &sig_len)) != ECO_STATUS_OK) goto done;
    b64_payload = eco_base64_encode(payload, payload_len);
    b64_sig = eco_base64_encode(sig, sig_len);
    if (!b64_payload || !b64_sig) {
        st = eco_error(ECO_STATUS_ENOMEM, "DSSE sign: out of memory encoding a %zu-byte payload",
                       payload_len);
        goto done;
    }
    env = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "payload", b64_payload, "payloadType",
                    payload_type, "signatures", "keyid", eco_signing_key_id(k), "sig", b64_sig);
    if (!env) {
        st = eco_error(ECO_STATUS_EINVAL,
                       "DSSE sign: payload type '%.64s' is not valid UTF-8 (or out of memory)",
                       payload_type);
        goto done;
    }
    st = eco_json_canonical(env, envelope, envelope_len);
done:
    json_decref(env);
    free(pae);
    free(sig);
    free(b64_payload);
    free(b64_sig);
    return st;
}

typedef struct parsed_sig {
    const char *keyid; /* borrowed from the JSON; 64 lower-case hex */
    uint8_t *sig;      /* decoded; malloc'd */
    size_t sig_len;
} parsed_sig;

eco_status eco_dsse_verify(const eco_keyring *trusted, const char *envelope, size_t envelope_len,
                           const char *label, const char *expected_type, char **payload,
                           size_t *payload_len, char keyid[ECO_KEYID_HEX_LEN + 1]) {
    *payload = NULL;
    if (payload_len) *payload_len = 0;
    if (!label) label = "envelope";
    if (!trusted || !expected_type || (!envelope && envelope_len))
        return eco_error(ECO_STATUS_EINVAL,
                         "%s: verify: missing keyring, expected type or envelope", label);
    json_t *root;
    eco_status pst = eco_json_parse(envelope, envelope_len, 0, label, &root);
    if (pst) return pst;
    parsed_sig sigs[DSSE_MAX_SIGNATURES];
    size_t n_sigs = 0;
    uint8_t *body = NULL, *pae = NULL;
    size_t body_len = 0, pae_len = 0;
    eco_status st = ECO_STATUS_OK;

    static const char *const top_fields[] = {"payload", "payloadType", "signatures", NULL};
    static const char *const sig_fields[] = {"keyid", "sig", NULL};
    eco_jr r = eco_jr_root(label, root);
    if ((st = eco_jr_only(&r, top_fields)) != ECO_STATUS_OK) goto done;
    const char *b64, *type;
    size_t b64_len, type_len;
    const json_t *arr;
    if ((st = eco_jr_str(&r, "payload", true, true, &b64, &b64_len)) != ECO_STATUS_OK ||
        (st = eco_jr_str(&r, "payloadType", true, true, &type, &type_len)) != ECO_STATUS_OK ||
        (st = eco_jr_array(&r, "signatures", true, &arr)) != ECO_STATUS_OK)
        goto done;
    size_t n_arr = json_array_size(arr);
    if (n_arr == 0) {
        st = eco_jr_fail(&r, "signatures", ECO_STATUS_EFORMAT, "empty");
        goto done;
    }
    if (n_arr > DSSE_MAX_SIGNATURES) {
        st = eco_jr_fail(&r, "signatures", ECO_STATUS_EFORMAT,
                         "%zu entries, more than the limit of %d", n_arr, DSSE_MAX_SIGNATURES);
        goto done;
    }
    if ((st = eco_base64_decode(b64, b64_len, &body, &body_len)) != ECO_STATUS_OK) {
        eco_error_wrap(st, "%s: payload", label);
        goto done;
    }
    for (size_t i = 0; i < n_arr; i++) {
        eco_jr e = eco_jr_item(&r, "signatures", i, json_array_get(arr, i));
        if ((st = eco_jr_only(&e, sig_fields)) != ECO_STATUS_OK) goto done;
        const char *kid, *sig;
        size_t kid_len, sig_len;
        if ((st = eco_jr_str(&e, "keyid", true, true, &kid, &kid_len)) != ECO_STATUS_OK) goto done;
        if (!eco_hex_is_lower(kid, kid_len, ECO_KEYID_HEX_LEN)) {
            st = eco_jr_fail(&e, "keyid", ECO_STATUS_EFORMAT, "expected %d lower-case hex digits",
                             ECO_KEYID_HEX_LEN);
            goto done;
        }
        if ((st = eco_jr_str(&e, "sig", true, true, &sig, &sig_len)) != ECO_STATUS_OK) goto done;
        if (sig_len == 0) {
            st = eco_jr_fail(&e, "sig", ECO_STATUS_EFORMAT, "empty");
            goto done;
        }
        parsed_sig *ps = &sigs[n_sigs];
        if ((st = eco_base64_decode(sig, sig_len, &ps->sig, &ps->sig_len)) != ECO_STATUS_OK) {
            eco_error_wrap(st, "%s: %s.sig", label, e.at);
            goto done;
        }
        ps->keyid = kid;
        n_sigs++;
    }
    /* The type is checked after the shape (so a malformed envelope is reported as such) and
     * before any signature: an envelope of another type is not what the caller asked for,
     * however well signed. */
    if (strcmp(type, expected_type) != 0 || strlen(type) != type_len) {
        char buf[ECO_JSON_SHOWN_SIZE];
        st = eco_error(ECO_STATUS_EFORMAT, "%s: payloadType: '%s', expected '%s'", label,
                       eco_json_shown(type, type_len, buf), expected_type);
        goto done;
    }
    if ((st = eco_dsse_pae(type, body, body_len, &pae, &pae_len)) != ECO_STATUS_OK) goto done;
    const char *first_unknown = NULL, *first_invalid = NULL;
    const char *good = NULL;
    for (size_t i = 0; i < n_sigs && !good; i++) {
        switch (eco_keyring_verify(trusted, sigs[i].keyid, pae, pae_len, sigs[i].sig,
                                   sigs[i].sig_len)) {
            case ECO_KEYRING_VERDICT_VALID:
                good = sigs[i].keyid;
                break;
            case ECO_KEYRING_VERDICT_INVALID:
                if (!first_invalid) first_invalid = sigs[i].keyid;
                break;
            case ECO_KEYRING_VERDICT_UNKNOWN:
                if (!first_unknown) first_unknown = sigs[i].keyid;
                break;
        }
    }
    if (!good) {
        if (first_invalid && first_unknown)
            st = eco_error(ECO_STATUS_ESIGNATURE,
                           "%s: signature by key %s does not verify; no trusted key with id %s",
                           label, first_invalid, first_unknown);
        else if (first_invalid)
            st = eco_error(ECO_STATUS_ESIGNATURE, "%s: signature by key %s does not verify", label,
                           first_invalid);
        else
            st = eco_error(ECO_STATUS_ESIGNATURE, "%s: no trusted key with id %s%s", label,
                           first_unknown,
                           eco_keyring_count(trusted) == 0 ? " (no keys are trusted)" : "");
        goto done;
    }
    if (keyid) memcpy(keyid, good, ECO_KEYID_HEX_LEN + 1);
    *payload = (char *)body; /* eco_base64_decode NUL-terminates */
    if (payload_len) *payload_len = body_len;
    body = NULL;
done:
    for (size_t i = 0; i < n_sigs; i++) free(sigs[i].sig);
    free(body);
    free(pae);
    json_decref(root);
    return st;
}
