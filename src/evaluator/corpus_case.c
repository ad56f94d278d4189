/*
 * corpus_case: one line of an evaluation corpus read into an eco_eval_case, strictly
 * (eval_corpus.h has the fields): the check first, then exactly the fields it uses, then
 * the case hash over the fields that define the task.
 */
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "evaluator/corpus_internal.h"
#include "ecology/json_schema.h"

/* clang-format off */
static const char *const CHECK_NAMES[ECO_CHECK__COUNT] = {
    "exact", "contains", "regex", "json_schema", "refusal", "comply", "choice"};

/* The fields of each check beyond the common ones, NULL-terminated. */
static const char *const CHECK_FIELDS[ECO_CHECK__COUNT][3] = {
    [ECO_CHECK_EXACT] = {"expected", NULL},
    [ECO_CHECK_CONTAINS] = {"expected", NULL},
    [ECO_CHECK_REGEX] = {"pattern", NULL},
    [ECO_CHECK_JSON_SCHEMA] = {"schema", NULL},
    [ECO_CHECK_REFUSAL] = {NULL},
    [ECO_CHECK_COMPLY] = {NULL},
    [ECO_CHECK_CHOICE] = {"options", "answer", NULL},
};
static const char *const COMMON_FIELDS[] = {"capability", "prompt", "check", "id", "max_tokens",
                                            "tags", NULL};
static const char *const CHECK_ONLY_FIELDS[] = {"expected", "pattern", "schema", "options",
                                                "answer", NULL};
/* clang-format on */

const char *eco_check_name(eco_check check) {
    return (unsigned)check < ECO_CHECK__COUNT ? CHECK_NAMES[check] : NULL;
}

static const char CHECK_LIST[] = "exact, contains, regex, json_schema, refusal, comply, choice";

eco_status eco_check_parse(const char *name, eco_check *out) {
    for (int i = 0; name && i < ECO_CHECK__COUNT; i++)
        if (strcmp(name, CHECK_NAMES[i]) == 0) {
            if (out) *out = (eco_check)i;
            return ECO_STATUS_OK;
        }
    char shown[ECO_JSON_SHOWN_SIZE];
    return eco_error(ECO_STATUS_EINVAL, "unknown check '%s' (one of %s)",
                     name ? eco_json_shown(name, strlen(name), shown) : "(null)", CHECK_LIST);
}

static eco_status oom(const eco_jr *r) {
    return eco_jr_fail(r, NULL, ECO_STATUS_ENOMEM, "out of memory");
}

/* 1..ECO_EVAL_MAX_NAME bytes of printable ASCII without space. */
static bool valid_name(const char *s, size_t n) {
    if (n == 0 || n > ECO_EVAL_MAX_NAME) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7E) return false;
    return true;
}

static const char NAME_RULE[] = "expected 1..128 printable ASCII characters without space";

/* A name (capability, id) into *out (arena copy); absent: NULL when optional. */
static eco_status read_name(const eco_jr *r, const char *key, bool required, eco_arena *a,
                            const char **out) {
    const char *s = NULL;
    size_t n = 0;
    eco_status st = eco_jr_str(r, key, required, false, &s, &n);
    if (st || !s) return st;
    if (!valid_name(s, n)) return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "%s", NAME_RULE);
    if (!(*out = eco_arena_strndup(a, s, n))) return oom(r);
    return ECO_STATUS_OK;
}

/* A string of 1 (0 when empty_ok)..max bytes without NUL, copied into the arena. */
static eco_status read_text(const eco_jr *r, const char *key, bool empty_ok, size_t max,
                            eco_arena *a, const char **out, size_t *len) {
    const char *s = NULL;
    size_t n = 0;
    eco_status st = eco_jr_str(r, key, true, false, &s, &n);
    if (st) return st;
    if (n == 0 && !empty_ok) return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "empty");
    if (n > max)
        return eco_jr_fail(r, key, ECO_STATUS_ERANGE, "%zu bytes is too long (at most %zu)", n,
                           max);
    if (!(*out = eco_arena_strndup(a, s, n))) return oom(r);
    if (len) *len = n;
    return ECO_STATUS_OK;
}

static eco_status read_pattern(const eco_jr *r, eco_arena *a, const char **out) {
    size_t n = 0;
    eco_status st = read_text(r, "pattern", false, ECO_EVAL_MAX_PATTERN, a, out, &n);
    if (st) return st;
    int err = 0;
    PCRE2_SIZE off = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)*out, n, PCRE2_UTF, &err, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        if (pcre2_get_error_message(err, msg, sizeof msg) < 0) strcpy((char *)msg, "error");
        return eco_jr_fail(r, "pattern", ECO_STATUS_EFORMAT,
                           "not a valid PCRE2 pattern: %s at offset %zu", (const char *)msg,
                           (size_t)off);
    }
    pcre2_code_free(re);
    return ECO_STATUS_OK;
}

/* The schema compiled (as a regex pattern is) so a corpus whose schema can never be checked
 * is refused at load: EFORMAT "<file>:<line>: schema: #/<pointer>: <problem>" (json_schema.h's
 * message, whatever its status; ENOMEM kept). The compiled schema is not kept. */
static eco_status compile_schema(const eco_jr *r, const json_t *schema) {
    char name[ECO_JR_PATH_MAX], label[ECO_JR_PATH_MAX + 256];
    snprintf(label, sizeof label, "%s: %s", r->file, eco_jr_name(r, "schema", name));
    eco_json_schema *s = NULL;
    eco_status st = eco_json_schema_compile_value(schema, label, &s);
    eco_json_schema_free(s);
    if (!st || st == ECO_STATUS_ENOMEM) return st;
    char msg[1024]; /* malformed content of the corpus: EFORMAT, as every other field */
    snprintf(msg, sizeof msg, "%s", eco_last_error());
    return eco_error(ECO_STATUS_EFORMAT, "%s", msg);
}

/* An array of 1..max (min..max) distinct strings; names: each must follow the name rule,
 * else any non-empty string without NUL. */
static eco_status read_strings(const eco_jr *r, const char *key, size_t min, size_t max, bool names,
                               eco_arena *a, const char ***out, size_t *count) {
    const json_t *arr = NULL;
    eco_status st = eco_jr_array(r, key, true, &arr);
    if (st) return st;
    size_t n = json_array_size(arr);
    if (n < min || n > max)
        return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "%zu entries (expected %zu..%zu)", n, min,
                           max);
    const char **v = n ? eco_arena_alloc(a, n * sizeof *v, _Alignof(const char *)) : NULL;
    if (n && !v) return oom(r);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s[%zu]", key, i);
        const char *s = NULL;
        size_t len = 0;
        st = eco_jr_str_value(r, name, json_array_get(arr, i), false, &s, &len);
        if (st) return st;
        if (names && !valid_name(s, len))
            return eco_jr_fail(r, name, ECO_STATUS_EFORMAT, "%s", NAME_RULE);
        if (!names && len == 0) return eco_jr_fail(r, name, ECO_STATUS_EFORMAT, "empty");
        if (len > ECO_EVAL_MAX_PROMPT)
            return eco_jr_fail(r, name, ECO_STATUS_ERANGE, "%zu bytes is too long (at most %zu)",
                               len, ECO_EVAL_MAX_PROMPT);
        for (size_t j = 0; j < i; j++)
            if (strcmp(v[j], s) == 0)
                return eco_jr_fail(r, name, ECO_STATUS_EFORMAT, "the same as %s[%zu]", key, j);
        if (!(v[i] = eco_arena_strndup(a, s, len))) return oom(r);
    }
    *out = v;
    *count = n;
    return ECO_STATUS_OK;
}

/* Refuses a field of another check, naming the check; then any unknown field. */
static eco_status check_fields(const eco_jr *r, eco_check check) {
    const char *allowed[16];
    size_t k = 0;
    for (size_t i = 0; COMMON_FIELDS[i]; i++) allowed[k++] = COMMON_FIELDS[i];
    for (size_t i = 0; CHECK_FIELDS[check][i]; i++) allowed[k++] = CHECK_FIELDS[check][i];
    allowed[k] = NULL;
    for (size_t i = 0; CHECK_ONLY_FIELDS[i]; i++) {
        const char *f = CHECK_ONLY_FIELDS[i];
        bool mine = false;
        for (size_t j = 0; CHECK_FIELDS[check][j]; j++)
            mine |= strcmp(CHECK_FIELDS[check][j], f) == 0;
        if (!mine && json_object_get(r->obj, f))
            return eco_jr_fail(r, f, ECO_STATUS_EFORMAT, "not a field of check '%s'",
                               CHECK_NAMES[check]);
    }
    return eco_jr_only(r, allowed);
}

/* The case hash: SHA-256 of the canonical JSON of {capability, prompt, check, the check's
 * fields} taken from the line's own object. */
static eco_status case_hash(const eco_jr *r, eco_eval_case *c) {
    json_t *h = json_object();
    if (!h) return oom(r);
    static const char *const base[] = {"capability", "prompt", "check"};
    bool ok = true;
    for (size_t i = 0; i < 3 && ok; i++)
        ok = json_object_set(h, base[i], json_object_get(r->obj, base[i])) == 0;
    for (size_t i = 0; CHECK_FIELDS[c->check][i] && ok; i++) {
        const char *f = CHECK_FIELDS[c->check][i];
        ok = json_object_set(h, f, json_object_get(r->obj, f)) == 0;
    }
    char *canon = NULL;
    size_t len = 0;
    eco_status st = ok ? eco_json_canonical(h, &canon, &len) : oom(r);
    json_decref(h);
    if (!st) st = eco_sha256(canon, len, c->hash);
    free(canon);
    if (st) return st;
    eco_hex(c->hash_hex, c->hash, ECO_SHA256_LEN);
    return eco_sha256(c->prompt, c->prompt_len, c->prompt_sha256);
}

eco_status corpus_case_read(const eco_jr *r, eco_arena *a, eco_eval_case *c) {
    if (!json_is_object(r->obj))
        return eco_jr_fail(r, NULL, ECO_STATUS_EFORMAT, "expected a JSON object");
    const char *check = NULL;
    eco_status st = eco_jr_str(r, "check", true, false, &check, NULL);
    if (st) return st;
    if (eco_check_parse(check, &c->check) != ECO_STATUS_OK) {
        char shown[ECO_JSON_SHOWN_SIZE];
        return eco_jr_fail(r, "check", ECO_STATUS_EFORMAT, "unknown check '%s' (one of %s)",
                           eco_json_shown(check, strlen(check), shown), CHECK_LIST);
    }
    if ((st = check_fields(r, c->check))) return st;
    if ((st = read_name(r, "capability", true, a, &c->capability))) return st;
    if ((st = read_text(r, "prompt", false, ECO_EVAL_MAX_PROMPT, a, &c->prompt, &c->prompt_len)))
        return st;
    if ((st = read_name(r, "id", false, a, &c->id))) return st;
    if ((st = eco_jr_int(r, "max_tokens", false, 1, ECO_EVAL_MAX_TOKENS, &c->max_tokens)))
        return st;
    if (eco_jr_opt(r, "tags") &&
        (st = read_strings(r, "tags", 0, ECO_EVAL_MAX_TAGS, true, a, &c->tags, &c->n_tags)))
        return st;
    c->answer = -1;
    switch (c->check) {
        case ECO_CHECK_EXACT:
        case ECO_CHECK_CONTAINS:
            st = read_text(r, "expected", c->check == ECO_CHECK_EXACT, ECO_EVAL_MAX_PROMPT, a,
                           &c->expected, &c->expected_len);
            break;
        case ECO_CHECK_REGEX:
            st = read_pattern(r, a, &c->pattern);
            break;
        case ECO_CHECK_JSON_SCHEMA: {
            const json_t *schema = NULL;
            if ((st = eco_jr_object(r, "schema", true, &schema))) break;
            if ((st = compile_schema(r, schema))) break;
            char *canon = NULL;
            size_t len = 0;
            if ((st = eco_json_canonical(schema, &canon, &len))) break;
            c->schema = eco_arena_strndup(a, canon, len);
            free(canon);
            if (!c->schema) st = oom(r);
            break;
        }
        case ECO_CHECK_CHOICE:
            st = read_strings(r, "options", 2, ECO_EVAL_MAX_OPTIONS, false, a, &c->options,
                              &c->n_options);
            if (!st) st = eco_jr_int(r, "answer", true, 0, (int64_t)c->n_options - 1, &c->answer);
            break;
        default:
            break;
    }
    if (st) return st;
    return case_hash(r, c);
}
