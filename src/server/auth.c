/* API keys (eco_server_keys_*): the key file's parser and the constant-time check. A key is
 * stored zero-padded to KEY_MAX bytes and every stored key is compared over that whole width
 * with CRYPTO_memcmp, whatever the length presented, so the time taken depends on the number
 * of keys only. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "ecology/server.h"

#define KEY_MIN       8
#define KEY_MAX       256
#define KEYS_MAX      1024
#define KEY_FILE_SIZE ((size_t)1 << 20)

typedef struct key_entry {
    unsigned char key[KEY_MAX]; /* zero-padded */
    size_t len;
    eco_server_scope scope;
    char *name;
} key_entry;

struct eco_server_keys {
    key_entry *keys;
    size_t n;
};

void eco_server_keys_free(eco_server_keys *k) {
    if (!k) return;
    for (size_t i = 0; i < k->n; i++) {
        OPENSSL_cleanse(k->keys[i].key, sizeof k->keys[i].key);
        free(k->keys[i].name);
    }
    free(k->keys);
    free(k);
}

static eco_status read_key(const eco_jr *e, key_entry *out) {
    static const char *const allowed[] = {"key", "scope", "name", NULL};
    eco_status st = eco_jr_only(e, allowed);
    const char *key = NULL, *scope = NULL, *name = NULL;
    size_t len = 0;
    if (st == ECO_STATUS_OK) st = eco_jr_str(e, "key", true, false, &key, &len);
    if (st == ECO_STATUS_OK) st = eco_jr_str(e, "scope", true, false, &scope, NULL);
    if (st == ECO_STATUS_OK) st = eco_jr_str(e, "name", false, false, &name, NULL);
    if (st) return st;
    if (len < KEY_MIN || len > KEY_MAX)
        return eco_jr_fail(e, "key", ECO_STATUS_EFORMAT, "%zu bytes, expected %d to %d", len,
                           KEY_MIN, KEY_MAX);
    for (size_t i = 0; i < len; i++)
        if (key[i] <= ' ' || key[i] > '~')
            return eco_jr_fail(e, "key", ECO_STATUS_EFORMAT,
                               "byte %zu is not printable ASCII (space excluded)", i);
    if (strcmp(scope, "inference") == 0)
        out->scope = ECO_SERVER_SCOPE_INFERENCE;
    else if (strcmp(scope, "admin") == 0)
        out->scope = ECO_SERVER_SCOPE_ADMIN;
    else
        return eco_jr_fail(e, "scope", ECO_STATUS_EFORMAT, "expected \"inference\" or \"admin\"");
    memcpy(out->key, key, len);
    out->len = len;
    if (name && !(out->name = eco_strdup(name)))
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", e->file);
    return ECO_STATUS_OK;
}

eco_status eco_server_keys_parse(const char *text, size_t len, const char *label,
                                 eco_server_keys **out) {
    *out = NULL;
    json_t *root = NULL;
    eco_status st = eco_json_parse(text, len, 0, label, &root);
    if (st) return st;
    eco_jr r = eco_jr_root(label, root);
    static const char *const top[] = {"keys", NULL};
    const json_t *arr = NULL;
    if (!json_is_object(root)) st = eco_error(ECO_STATUS_EFORMAT, "%s: expected an object", label);
    if (st == ECO_STATUS_OK) st = eco_jr_exact(&r, top);
    if (st == ECO_STATUS_OK) st = eco_jr_array(&r, "keys", true, &arr);
    size_t n = arr ? json_array_size(arr) : 0;
    if (st == ECO_STATUS_OK && (n == 0 || n > KEYS_MAX))
        st = eco_jr_fail(&r, "keys", ECO_STATUS_EFORMAT, "%zu keys, expected 1 to %d", n, KEYS_MAX);
    eco_server_keys *k = NULL;
    if (st == ECO_STATUS_OK) {
        k = calloc(1, sizeof *k);
        if (k) k->keys = calloc(n, sizeof *k->keys);
        if (!k || !k->keys) st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
    }
    for (size_t i = 0; st == ECO_STATUS_OK && i < n; i++) {
        const json_t *ev = json_array_get(arr, i);
        eco_jr e = eco_jr_item(&r, "keys", i, ev);
        if (!json_is_object(ev)) {
            st = eco_jr_fail(&e, NULL, ECO_STATUS_EFORMAT, "expected an object");
            break;
        }
        k->n = i + 1;
        if ((st = read_key(&e, &k->keys[i]))) break;
        for (size_t j = 0; j < i; j++)
            if (k->keys[j].len == k->keys[i].len &&
                memcmp(k->keys[j].key, k->keys[i].key, k->keys[i].len) == 0) {
                st = eco_jr_fail(&e, "key", ECO_STATUS_EFORMAT, "the same key as keys[%zu]", j);
                break;
            }
    }
    json_decref(root);
    if (st) {
        eco_server_keys_free(k);
        return st;
    }
    *out = k;
    return ECO_STATUS_OK;
}

eco_status eco_server_keys_load(const char *path, eco_server_keys **out) {
    char *file = NULL, *text = NULL;
    size_t len = 0;
    *out = NULL;
    eco_status st = eco_json_read_doc(path, "api-keys.json", KEY_FILE_SIZE, &file, &text, &len);
    if (st == ECO_STATUS_OK) st = eco_server_keys_parse(text, len, file, out);
    if (text) OPENSSL_cleanse(text, len);
    free(text);
    free(file);
    return st;
}

eco_server_scope eco_server_keys_check(const eco_server_keys *k, const char *key, size_t len,
                                       const char **name) {
    if (name) *name = NULL;
    if (!k || !key || len == 0 || len > KEY_MAX) return ECO_SERVER_SCOPE_NONE;
    unsigned char given[KEY_MAX] = {0};
    memcpy(given, key, len);
    eco_server_scope found = ECO_SERVER_SCOPE_NONE;
    for (size_t i = 0; i < k->n; i++) {
        /* The whole width every time, and the length compared alongside, not before. */
        int diff = CRYPTO_memcmp(given, k->keys[i].key, KEY_MAX) | (int)(k->keys[i].len != len);
        if (diff == 0 && found == ECO_SERVER_SCOPE_NONE) {
            found = k->keys[i].scope;
            if (name) *name = k->keys[i].name;
        }
    }
    OPENSSL_cleanse(given, sizeof given);
    return found;
}
