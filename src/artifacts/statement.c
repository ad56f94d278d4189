/* in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md)
 * for one model: its id and manifest root digest as the subject, the genome as predicate.
 * Parsing is strict: only the four Statement fields, exactly one subject of exactly a name
 * and a sha256 digest, the fixed _type and predicateType, an object predicate. */
#include "ecology/signing.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static bool is_lower_hex64(const char *s, size_t len) {
    if (len != ECO_SHA256_HEX_LEN) return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
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

/* The first member of obj not in allowed (NULL-terminated), or NULL. */
static const char *unknown_field(const json_t *obj, const char *const *allowed) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i] && !ok; i++) ok = strcmp(key, allowed[i]) == 0;
        if (!ok) return key;
    }
    return NULL;
}

/* A key from hostile input, fit to print: printable ASCII kept, the rest '?', at most 40. */
static const char *shown(const char *s, char buf[48]) {
    size_t i = 0;
    for (; s[i] && i < 40; i++) buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i]) memcpy(buf + i, "...", 4);
    else buf[i] = '\0';
    return buf;
}

/* obj[field] must be a string; `name` is the field as errors show it. */
static eco_status need_string(const json_t *obj, const char *field, const char *label, const char *name,
                              const json_t **out) {
    const json_t *v = json_object_get(obj, field);
    if (!v) return eco_error(ECO_STATUS_EFORMAT, "%s: %s: missing", label, name);
    if (!json_is_string(v)) return eco_error(ECO_STATUS_EFORMAT, "%s: %s: expected a string", label, name);
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
    const char *bad;
    char buf[48];
    const json_t *v, *name, *hex;
    if (!json_is_object(root)) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: expected a JSON object", label);
        goto fail;
    }
    if ((bad = unknown_field(root, top))) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: unknown field '%s'", label, shown(bad, buf));
        goto fail;
    }
    if ((st = need_string(root, "_type", label, "_type", &v)) != ECO_STATUS_OK) goto fail;
    if (strcmp(json_string_value(v), ECO_INTOTO_STATEMENT_TYPE) != 0) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: _type: '%s', expected '%s'", label, shown(json_string_value(v), buf),
                       ECO_INTOTO_STATEMENT_TYPE);
        goto fail;
    }
    if ((st = need_string(root, "predicateType", label, "predicateType", &v)) != ECO_STATUS_OK) goto fail;
    if (strcmp(json_string_value(v), ECO_GENOME_PREDICATE_TYPE) != 0) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: predicateType: '%s', expected '%s'", label,
                       shown(json_string_value(v), buf), ECO_GENOME_PREDICATE_TYPE);
        goto fail;
    }
    const json_t *subj = json_object_get(root, "subject");
    if (!subj) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: subject: missing", label);
        goto fail;
    }
    if (!json_is_array(subj) || json_array_size(subj) != 1) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: subject: expected an array of exactly one entry", label);
        goto fail;
    }
    const json_t *s0 = json_array_get(subj, 0);
    if (!json_is_object(s0)) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: subject[0]: expected an object", label);
        goto fail;
    }
    if ((bad = unknown_field(s0, subj_fields))) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: subject[0]: unknown field '%s'", label, shown(bad, buf));
        goto fail;
    }
    if ((st = need_string(s0, "name", label, "subject[0].name", &name)) != ECO_STATUS_OK) goto fail;
    if (json_string_length(name) == 0) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: subject[0].name: empty", label);
        goto fail;
    }
    const json_t *digest = json_object_get(s0, "digest");
    if (!digest) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: subject[0].digest: missing", label);
        goto fail;
    }
    if (!json_is_object(digest)) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: subject[0].digest: expected an object", label);
        goto fail;
    }
    if ((bad = unknown_field(digest, digest_fields))) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: subject[0].digest: unknown field '%s' (only sha256)", label,
                       shown(bad, buf));
        goto fail;
    }
    if ((st = need_string(digest, "sha256", label, "subject[0].digest.sha256", &hex)) != ECO_STATUS_OK) goto fail;
    if (!is_lower_hex64(json_string_value(hex), json_string_length(hex))) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: subject[0].digest.sha256: expected %d lower-case hex digits", label,
                       ECO_SHA256_HEX_LEN);
        goto fail;
    }
    json_t *pred = json_object_get(root, "predicate");
    if (!pred) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: predicate: missing", label);
        goto fail;
    }
    if (!json_is_object(pred)) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: predicate: expected an object", label);
        goto fail;
    }
    *root_json = root;
    *subject_name = json_string_value(name);
    *root_hex = json_string_value(hex);
    *predicate = pred;
    return ECO_STATUS_OK;
fail:
    json_decref(root);
    return st;
}
