/* in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md)
 * for one model: its id and manifest root digest as the subject, the genome as predicate.
 * Parsing is strict: only the four Statement fields, exactly one subject of exactly a name
 * and a sha256 digest, the fixed _type and predicateType, an object predicate. */
#include "core/strict.h"
#include "ecology/signing.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static bool is_lower_hex64(const char *s, size_t len) {
    return eco_strict_lower_hex(s, len, ECO_SHA256_HEX_LEN);
}

eco_status eco_statement_build(const char *subject_name, const char *root_hex, const json_t *predicate, char **out,
                               size_t *out_len) {
    *out = NULL;
    if (out_len) *out_len = 0;
    if (!subject_name || !subject_name[0]) return eco_error(ECO_STATUS_EINVAL, "statement: empty subject name");
    if (!root_hex || !is_lower_hex64(root_hex, strlen(root_hex)))
        return eco_error(ECO_STATUS_EINVAL, "statement: root digest is not %d lower-case hex digits", ECO_SHA256_HEX_LEN);
    if (!json_is_object(predicate)) return eco_error(ECO_STATUS_EINVAL, "statement: predicate is not a JSON object");
    /* A copy, so the borrowed predicate's reference count is never touched. */
    json_t *pred = json_deep_copy(predicate);
    if (!pred) return eco_error(ECO_STATUS_ENOMEM, "statement: out of memory copying the predicate");
    json_t *st_json = json_pack("{s:s, s:[{s:s, s:{s:s}}], s:s, s:o}", "_type", ECO_INTOTO_STATEMENT_TYPE, "subject",
                                "name", subject_name, "digest", "sha256", root_hex, "predicateType",
                                ECO_GENOME_PREDICATE_TYPE, "predicate", pred); /* "o" steals pred, even on failure */
    if (!st_json)
        return eco_error(ECO_STATUS_EINVAL, "statement: subject name '%.64s' is not valid UTF-8 (or out of memory)",
                         subject_name);
    eco_status st = eco_json_canonical(st_json, out, out_len);
    json_decref(st_json);
    return st;
}

/* obj[field] must be exactly the string `want` (a fixed type name). */
static eco_status need_value(const json_t *obj, const char *field, const char *want, const char *label) {
    const char *s;
    size_t len;
    eco_status st = eco_strict_string(obj, field, label, field, &s, &len);
    if (st) return st;
    if (strcmp(s, want) != 0) {
        char buf[ECO_STRICT_SHOWN_SIZE];
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: '%s', expected '%s'", label, field, eco_strict_shown(s, buf),
                         want);
    }
    return ECO_STATUS_OK;
}

/* obj[field] must be a JSON object (*out borrowed); `name` is the field as errors show it. */
static eco_status need_object(json_t *obj, const char *field, const char *label, const char *name, json_t **out) {
    json_t *v = json_object_get(obj, field);
    if (!v) return eco_error(ECO_STATUS_EFORMAT, "%s: %s: missing", label, name);
    if (!json_is_object(v)) return eco_error(ECO_STATUS_EFORMAT, "%s: %s: expected an object", label, name);
    *out = v;
    return ECO_STATUS_OK;
}

eco_status eco_statement_parse(const char *text, size_t len, const char *label, json_t **root_json,
                               const char **subject_name, const char **root_hex, json_t **predicate) {
    *root_json = NULL;
    *subject_name = NULL;
    *root_hex = NULL;
    *predicate = NULL;
    if (!label) label = "statement";
    if (!text && len) return eco_error(ECO_STATUS_EINVAL, "%s: no text", label);
    json_error_t jerr;
    json_t *root = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return eco_error(ECO_STATUS_EFORMAT, "%s: invalid JSON at line %d column %d: %s", label, jerr.line, jerr.column,
                         jerr.text);
    static const char *const top[] = {"_type", "subject", "predicateType", "predicate", NULL};
    static const char *const subj_fields[] = {"name", "digest", NULL};
    static const char *const digest_fields[] = {"sha256", NULL};
    eco_status st = ECO_STATUS_OK;
    const char *name, *hex, *bad;
    size_t name_len, hex_len;
    json_t *digest, *pred;
    if (!json_is_object(root)) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: expected a JSON object", label);
        goto fail;
    }
    if ((st = eco_strict_only_fields(root, top, label, ""))) goto fail;
    if ((st = need_value(root, "_type", ECO_INTOTO_STATEMENT_TYPE, label))) goto fail;
    if ((st = need_value(root, "predicateType", ECO_GENOME_PREDICATE_TYPE, label))) goto fail;
    const json_t *subj = json_object_get(root, "subject");
    if (!subj) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: subject: missing", label);
        goto fail;
    }
    if (!json_is_array(subj) || json_array_size(subj) != 1) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: subject: expected an array of exactly one entry", label);
        goto fail;
    }
    json_t *s0 = json_array_get(subj, 0);
    if (!json_is_object(s0)) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: subject[0]: expected an object", label);
        goto fail;
    }
    if ((st = eco_strict_only_fields(s0, subj_fields, label, "subject[0]: "))) goto fail;
    if ((st = eco_strict_string(s0, "name", label, "subject[0].name", &name, &name_len))) goto fail;
    if (name_len == 0) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: subject[0].name: empty", label);
        goto fail;
    }
    if ((st = need_object(s0, "digest", label, "subject[0].digest", &digest))) goto fail;
    if ((bad = eco_strict_unknown_field(digest, digest_fields))) {
        char buf[ECO_STRICT_SHOWN_SIZE];
        st = eco_error(ECO_STATUS_EFORMAT, "%s: subject[0].digest: unknown field '%s' (only sha256)", label,
                       eco_strict_shown(bad, buf));
        goto fail;
    }
    if ((st = eco_strict_string(digest, "sha256", label, "subject[0].digest.sha256", &hex, &hex_len))) goto fail;
    if (!is_lower_hex64(hex, hex_len)) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: subject[0].digest.sha256: expected %d lower-case hex digits", label,
                       ECO_SHA256_HEX_LEN);
        goto fail;
    }
    if ((st = need_object(root, "predicate", label, "predicate", &pred))) goto fail;
    *root_json = root;
    *subject_name = name;
    *root_hex = hex;
    *predicate = pred;
    return ECO_STATUS_OK;
fail:
    json_decref(root);
    return st;
}
