/*
 * libFuzzer target: eco_manifest_from_json over arbitrary bytes parsed as JSON (any value at
 * the top, NUL allowed in strings). An accepted manifest must hold only safe, sorted, unique
 * names and 64 lower-case hex digests; it must have a root digest, write back
 * (eco_manifest_to_json) and, through canonical text too, read back to the same entries.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/artifacts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same(const eco_manifest *a, const eco_manifest *b) {
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->files[i].name, b->files[i].name) != 0) return false;
        if (strcmp(a->files[i].sha256, b->files[i].sha256) != 0) return false;
        if (a->files[i].size != b->files[i].size) return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_error_t err;
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!j) return 0;
    eco_manifest m;
    eco_status st = eco_manifest_from_json(j, "fuzz", &m);
    json_decref(j);
    if (st != ECO_STATUS_OK) {
        if (m.n != 0 || m.files != NULL) __builtin_trap(); /* nothing handed out on failure */
        return 0;
    }
    for (size_t i = 0; i < m.n; i++) {
        const eco_file_entry *e = &m.files[i];
        if (!eco_manifest_name_ok(e->name)) __builtin_trap();
        if (i > 0 && strcmp(m.files[i - 1].name, e->name) >= 0) __builtin_trap();
        if (strlen(e->sha256) != ECO_SHA256_HEX_LEN ||
            strspn(e->sha256, "0123456789abcdef") != ECO_SHA256_HEX_LEN)
            __builtin_trap();
        if (e->size > (uint64_t)INT64_MAX) __builtin_trap();
        if (eco_manifest_find(&m, e->name) != e) __builtin_trap();
    }
    char root[ECO_SHA256_HEX_LEN + 1];
    if (eco_manifest_root(&m, root) != ECO_STATUS_OK) __builtin_trap();

    /* to_json -> from_json */
    json_t *out;
    if (eco_manifest_to_json(&m, &out) != ECO_STATUS_OK) __builtin_trap();
    eco_manifest back;
    if (eco_manifest_from_json(out, "fuzz-rt", &back) != ECO_STATUS_OK) __builtin_trap();
    if (!same(&m, &back)) __builtin_trap();
    eco_manifest_free(&back);

    /* through canonical text */
    char *text;
    size_t len;
    if (eco_json_canonical(out, &text, &len) != ECO_STATUS_OK) __builtin_trap();
    json_decref(out);
    json_t *again = json_loadb(text, len, JSON_ALLOW_NUL, &err);
    free(text);
    if (!again) __builtin_trap();
    if (eco_manifest_from_json(again, "fuzz-text", &back) != ECO_STATUS_OK) __builtin_trap();
    json_decref(again);
    if (!same(&m, &back)) __builtin_trap();
    eco_manifest_free(&back);

    /* deep copy */
    eco_manifest c;
    if (eco_manifest_copy(&c, &m) != ECO_STATUS_OK || !same(&m, &c)) __builtin_trap();
    eco_manifest_free(&c);
    eco_manifest_free(&m);
    return 0;
}
