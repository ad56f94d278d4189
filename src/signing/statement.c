/* in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md)
 * for one model: its id and manifest root digest as the subject, the genome as predicate.
 * Parsing is strict: only the four Statement fields, exactly one subject of exactly a name
 * and a sha256 digest, the fixed _type and predicateType, an object predicate. */
#include "core/json_read.h"
#include "ecology/signing.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static bool is_lower_hex64(const char *s, size_t len) {
    return eco_hex_is_lower(s, len, ECO_SHA256_HEX_LEN);
}

eco_status eco_statement_build(const char *subject_name, const char *root_hex,
                               const json_t *predicate, char **out, size_t *out_len) {
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!subject_name || !subject_name[0])
        return eco_error(ECO_STATUS_EINVAL, "statement: empty subject name");
    if (!root_hex || !is_lower_hex64(root_hex, strlen(root_hex)))
        return eco_error(ECO_STATUS_EINVAL,
                         "statement: root digest is not %d lower-case hex digits",
                         ECO_SHA256_HEX_LEN);
    if (!json_is_object(predicate))
        return eco_error(ECO_STATUS_EINVAL, "statement: predicate is not a JSON object");
    /* A copy, so the borrowed predicate's reference count is never touched. */
    json_t *pred = json_deep_copy(predicate);
    if (!pred)
        return eco_error(ECO_STATUS_ENOMEM, "statement: out of memory copying the predicate");
    json_t *st_json = json_pack(
        "{s:s, s:[{s:s, s:{s:s}}], s:s, s:o}", "_type", ECO_INTOTO_STATEMENT_TYPE, "subject",
        "name", subject_name, "digest", "sha256", root_hex, "predicateType",
        ECO_GENOME_PREDICATE_TYPE, "predicate", pred); /* "o" steals pred, even on failure */
    if (!st_json)
        return eco_error(ECO_STATUS_EINVAL,
                         "statement: subject name '%.64s' is not valid UTF-8 (or out of memory)",
                         subject_name);
    eco_status st = eco_json_canonical(st_json, out, out_len);
    json_decref(st_json);
    return st;
}

/* r[field] must be exactly the string `want` (a fixed type name). */
static eco_status need_value(const eco_jr *r, const char *field, const char *want) {
    const char *s;
    size_t len;
    eco_status st = eco_jr_str(r, field, true, true, &s, &len);
    if (st) return st;
    if (strcmp(s, want) != 0 || strlen(s) != len) {
        char buf[ECO_JSON_SHOWN_SIZE];
        return eco_jr_fail(r, field, ECO_STATUS_EFORMAT, "'%s', expected '%s'",
                           eco_json_shown(s, len, buf), want);
    }
    return ECO_STATUS_OK;
}

eco_status eco_statement_parse(const char *text, size_t len, const char *label, json_t **root_json,
                               const char **subject_name, const char **root_hex,
                               json_t **predicate) {
    *root_json = NULL;
    *subject_name = NULL;
    *root_hex = NULL;
    *predicate = NULL;
    if (!label) label = "statement";
    if (!text && len) return eco_error(ECO_STATUS_EINVAL, "%s: no text", label);
    json_t *root;
    eco_status pst = eco_json_parse(text, len, 0, label, &root);
    if (pst) return pst;
    static const char *const top[] = {"_type", "subject", "predicateType", "predicate", NULL};
    static const char *const subj_fields[] = {"name", "digest", NULL};
    static const char *const digest_fields[] = {"sha256", NULL};
    eco_status st = ECO_STATUS_OK;
    const char *name, *hex;
    size_t name_len, hex_len;
    const json_t *subj, *digest, *pred;
    eco_jr r = eco_jr_root(label, root);
    if ((st = eco_jr_only(&r, top))) goto fail;
    if ((st = need_value(&r, "_type", ECO_INTOTO_STATEMENT_TYPE))) goto fail;
    if ((st = need_value(&r, "predicateType", ECO_GENOME_PREDICATE_TYPE))) goto fail;
    if ((st = eco_jr_array(&r, "subject", true, &subj))) goto fail;
    if (json_array_size(subj) != 1) {
        st = eco_jr_fail(&r, "subject", ECO_STATUS_EFORMAT,
                         "expected an array of exactly one entry");
        goto fail;
    }
    eco_jr s0 = eco_jr_item(&r, "subject", 0, json_array_get(subj, 0));
    if ((st = eco_jr_only(&s0, subj_fields))) goto fail;
    if ((st = eco_jr_str(&s0, "name", true, true, &name, &name_len))) goto fail;
    if (name_len == 0) {
        st = eco_jr_fail(&s0, "name", ECO_STATUS_EFORMAT, "empty");
        goto fail;
    }
    if ((st = eco_jr_object(&s0, "digest", true, &digest))) goto fail;
    eco_jr d = eco_jr_child(&s0, "digest", digest);
    if ((st = eco_jr_only(&d, digest_fields))) goto fail;
    if ((st = eco_jr_str(&d, "sha256", true, true, &hex, &hex_len))) goto fail;
    if (!is_lower_hex64(hex, hex_len)) {
        st = eco_jr_fail(&d, "sha256", ECO_STATUS_EFORMAT, "expected %d lower-case hex digits",
                         ECO_SHA256_HEX_LEN);
        goto fail;
    }
    if ((st = eco_jr_object(&r, "predicate", true, &pred))) goto fail;
    *root_json = root;
    *subject_name = name;
    *root_hex = hex;
    *predicate = (json_t *)pred;
    return ECO_STATUS_OK;
fail:
    json_decref(root);
    return st;
}
