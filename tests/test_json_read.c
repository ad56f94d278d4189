/* json_read: the one JSON field reader (src/core/json_read.h). A table of documents, each
 * read by the same small schema, says accept or reject and the exact message; then the
 * escaping of hostile keys, paths of nested readers, and the hex and SHA-256 helpers. */
#include "test_util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"

/* The schema every row is read with:
 *   {"n": integer in [1, 100] (required), "x": number in [0, 1] (optional, default 0.5),
 *    "on": boolean (optional), "name": string without NUL (required),
 *    "sub": {"k": integer in [0, 9] (required)} (optional), "list": array (optional)} */
static eco_status read_doc(const char *text) {
    json_error_t err;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (!root) return eco_error(ECO_STATUS_EFORMAT, "doc.json: not valid JSON: %s", err.text);
    static const char *const keys[] = {"n", "x", "on", "name", "sub", "list", NULL};
    static const char *const sub_keys[] = {"k", NULL};
    eco_jr r = eco_jr_root("doc.json", root);
    int64_t n = 0, k = 0;
    double x = 0.5;
    bool on = false;
    const char *name;
    const json_t *sub = NULL, *list = NULL;
    eco_status st;
    if ((st = eco_jr_only(&r, keys)) || (st = eco_jr_int(&r, "n", true, 1, 100, &n)) ||
        (st = eco_jr_num(&r, "x", false, 0, 1, &x)) || (st = eco_jr_bool(&r, "on", false, &on)) ||
        (st = eco_jr_str(&r, "name", true, false, &name, NULL)) ||
        (st = eco_jr_object(&r, "sub", false, &sub)) ||
        (st = eco_jr_array(&r, "list", false, &list)))
        goto done;
    if (sub) {
        eco_jr rs = eco_jr_child(&r, "sub", sub);
        if ((st = eco_jr_exact(&rs, sub_keys)) || (st = eco_jr_int(&rs, "k", true, 0, 9, &k)))
            goto done;
    }
    for (size_t i = 0; list && i < json_array_size(list); i++) {
        eco_jr ri = eco_jr_item(&r, "list", i, json_array_get(list, i));
        if ((st = eco_jr_exact(&ri, sub_keys)) || (st = eco_jr_int(&ri, "k", true, 0, 9, &k)))
            goto done;
    }
done:
    json_decref(root);
    return st;
}

typedef struct jr_case {
    const char *text;
    eco_status want;
    const char *msg; /* the whole message, for a rejection */
} jr_case;

static const jr_case CASES[] = {
    {"{\"n\": 3, \"name\": \"a\"}", ECO_STATUS_OK, NULL},
    {"{\"n\": 3, \"name\": \"a\", \"x\": null, \"on\": null, \"sub\": null}", ECO_STATUS_OK,
     NULL}, /* null: absent */
    {"{\"n\": 100, \"name\": \"a\", \"x\": 1, \"on\": true, \"sub\": {\"k\": 9}, \"list\": "
     "[{\"k\": 0}]}",
     ECO_STATUS_OK, NULL},
    {"[]", ECO_STATUS_EFORMAT, "doc.json: expected an object"},
    {"{\"name\": \"a\"}", ECO_STATUS_EFORMAT, "doc.json: n: missing"},
    {"{\"n\": null, \"name\": \"a\"}", ECO_STATUS_EFORMAT, "doc.json: n: expected an integer"},
    {"{\"n\": \"3\", \"name\": \"a\"}", ECO_STATUS_EFORMAT, "doc.json: n: expected an integer"},
    {"{\"n\": 3.0, \"name\": \"a\"}", ECO_STATUS_EFORMAT, "doc.json: n: expected an integer"},
    {"{\"n\": 0, \"name\": \"a\"}", ECO_STATUS_EFORMAT, "doc.json: n: 0 outside [1, 100]"},
    {"{\"n\": 101, \"name\": \"a\"}", ECO_STATUS_EFORMAT, "doc.json: n: 101 outside [1, 100]"},
    {"{\"n\": -9223372036854775808, \"name\": \"a\"}", ECO_STATUS_EFORMAT,
     "doc.json: n: -9223372036854775808 outside [1, 100]"},
    {"{\"n\": 3, \"name\": \"a\", \"x\": \"0.5\"}", ECO_STATUS_EFORMAT,
     "doc.json: x: expected a number"},
    {"{\"n\": 3, \"name\": \"a\", \"x\": 1.5}", ECO_STATUS_EFORMAT,
     "doc.json: x: 1.5 outside [0, 1]"},
    {"{\"n\": 3, \"name\": \"a\", \"x\": -0.25}", ECO_STATUS_EFORMAT,
     "doc.json: x: -0.25 outside [0, 1]"},
    {"{\"n\": 3, \"name\": \"a\", \"on\": 1}", ECO_STATUS_EFORMAT,
     "doc.json: on: expected true or false"},
    {"{\"n\": 3, \"name\": \"a\", \"on\": \"true\"}", ECO_STATUS_EFORMAT,
     "doc.json: on: expected true or false"},
    {"{\"n\": 3}", ECO_STATUS_EFORMAT, "doc.json: name: missing"},
    {"{\"n\": 3, \"name\": 7}", ECO_STATUS_EFORMAT, "doc.json: name: expected a string"},
    {"{\"n\": 3, \"name\": \"a\\u0000b\"}", ECO_STATUS_EFORMAT, "doc.json: name: holds a NUL byte"},
    {"{\"n\": 3, \"name\": \"a\", \"extra\": 1}", ECO_STATUS_EFORMAT,
     "doc.json: unknown field 'extra'"},
    {"{\"n\": 3, \"name\": \"a\", \"N\": 1}", ECO_STATUS_EFORMAT, "doc.json: unknown field 'N'"},
    /* hostile keys are shown escaped: a newline, an escape sequence, UTF-8, a quote */
    {"{\"n\": 3, \"name\": \"a\", \"x\\n\\u001b[2J\": 1}", ECO_STATUS_EFORMAT,
     "doc.json: unknown field 'x\\x0a\\x1b[2J'"},
    {"{\"n\": 3, \"name\": \"a\", \"\\u00e9\": 1}", ECO_STATUS_EFORMAT,
     "doc.json: unknown field '\\xc3\\xa9'"},
    {"{\"n\": 3, \"name\": \"a\", \"\\\\\": 1}", ECO_STATUS_EFORMAT,
     "doc.json: unknown field '\\x5c'"},
    {"{\"n\": 3, \"name\": \"a\", \"n\": 4}", ECO_STATUS_EFORMAT, NULL}, /* jansson: duplicate */
    /* nested objects and array entries name their path */
    {"{\"n\": 3, \"name\": \"a\", \"sub\": 1}", ECO_STATUS_EFORMAT,
     "doc.json: sub: expected an object"},
    {"{\"n\": 3, \"name\": \"a\", \"sub\": {}}", ECO_STATUS_EFORMAT, "doc.json: sub.k: missing"},
    {"{\"n\": 3, \"name\": \"a\", \"sub\": {\"k\": 1, \"j\": 2}}", ECO_STATUS_EFORMAT,
     "doc.json: sub: unknown field 'j'"},
    {"{\"n\": 3, \"name\": \"a\", \"sub\": {\"k\": 10}}", ECO_STATUS_EFORMAT,
     "doc.json: sub.k: 10 outside [0, 9]"},
    {"{\"n\": 3, \"name\": \"a\", \"list\": {}}", ECO_STATUS_EFORMAT,
     "doc.json: list: expected an array"},
    {"{\"n\": 3, \"name\": \"a\", \"list\": [{\"k\": 1}, 5]}", ECO_STATUS_EFORMAT,
     "doc.json: list[1]: expected an object"},
    {"{\"n\": 3, \"name\": \"a\", \"list\": [{\"k\": 1}, {\"k\": -1}]}", ECO_STATUS_EFORMAT,
     "doc.json: list[1].k: -1 outside [0, 9]"},
    {"{\"n\": 3, \"name\": \"a\", \"list\": [{\"k\": 1}, {\"q\": 1}]}", ECO_STATUS_EFORMAT,
     "doc.json: list[1]: unknown field 'q'"},
};

static void test_table(void **state) {
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const jr_case *c = &CASES[i];
        eco_clear_error();
        eco_status st = read_doc(c->text);
        bool ok = st == c->want && (!c->msg || strcmp(eco_last_error(), c->msg) == 0);
        if (!ok) {
            print_error("case %zu %s\n  got %s \"%s\"\n  want %s \"%s\"\n", i, c->text,
                        eco_status_str(st), eco_last_error(), eco_status_str(c->want),
                        c->msg ? c->msg : "");
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* eco_json_shown keeps printable ASCII, escapes the rest, and cuts a long key with "...". */
static void test_shown(void **state) {
    (void)state;
    char buf[ECO_JSON_SHOWN_SIZE];
    assert_string_equal(eco_json_shown("plain key", 9, buf), "plain key");
    assert_string_equal(eco_json_shown("a\0b\x7f", 4, buf), "a\\x00b\\x7f");
    char longkey[1000];
    memset(longkey, 'k', sizeof longkey);
    eco_json_shown(longkey, sizeof longkey, buf);
    assert_true(strlen(buf) < ECO_JSON_SHOWN_SIZE);
    assert_string_equal(buf + strlen(buf) - 3, "...");
    char ctl[300];
    memset(ctl, 1, sizeof ctl);
    eco_json_shown(ctl, sizeof ctl, buf); /* every byte 4 wide: still fits */
    assert_true(strlen(buf) < ECO_JSON_SHOWN_SIZE);
    assert_string_equal(buf + strlen(buf) - 3, "...");
    /* a path past ECO_JR_PATH_MAX is cut and says so */
    json_t *o = json_object();
    eco_jr r = eco_jr_root("f", o);
    for (int i = 0; i < 20; i++) r = eco_jr_child(&r, "a_rather_long_field_name", o);
    assert_true(strlen(r.at) < ECO_JR_PATH_MAX);
    assert_string_equal(r.at + strlen(r.at) - 3, "...");
    json_decref(o);
}

/* A key holding a NUL (possible in a json_t a caller built; the parser refuses it) is never
 * one of the known keys, though it compares equal to one as C text. */
static void test_nul_key(void **state) {
    (void)state;
    static const char *const keys[] = {"n", NULL};
    json_t *o = json_object();
    json_object_setn_new(o, "n\0x", 3, json_integer(1));
    eco_jr r = eco_jr_root("built", o);
    ECO_ASSERT_STATUS(eco_jr_only(&r, keys), ECO_STATUS_EFORMAT);
    assert_string_equal(eco_last_error(), "built: unknown field 'n\\x00x'");
    ECO_ASSERT_STATUS(eco_jr_exact(&r, keys), ECO_STATUS_EFORMAT);
    json_object_set_new(o, "n", json_integer(1));
    json_object_deln(o, "n\0x", 3);
    ECO_ASSERT_OK(eco_jr_exact(&r, keys));
    json_decref(o);
}

static void test_hex(void **state) {
    (void)state;
    char hex[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_sha256_hex("abc", 3, hex));
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_true(eco_hex_is_lower(hex, strlen(hex), ECO_SHA256_HEX_LEN));
    assert_false(eco_hex_is_lower(hex, strlen(hex), 63));
    hex[5] = 'A';
    assert_false(eco_hex_is_lower(hex, strlen(hex), ECO_SHA256_HEX_LEN));
    hex[5] = 'g';
    assert_false(eco_hex_is_lower(hex, strlen(hex), ECO_SHA256_HEX_LEN));
    char *tmp = eco_test_tmpdir();
    char *f = eco_path_join(tmp, "abc");
    ECO_ASSERT_OK(eco_write_file_atomic(f, "abc", 3));
    ECO_ASSERT_OK(eco_sha256_file_hex(f, hex));
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    eco_test_rmtree(tmp);
    free(f);
    free(tmp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_shown),
        cmocka_unit_test(test_nul_key),
        cmocka_unit_test(test_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
