/*
 * libFuzzer target: eco_dsse_verify over arbitrary bytes, against a keyring of two fixed
 * public keys (one Ed25519, one ECDSA P-256; their private halves signed the seeds in
 * fuzz/seeds/fuzz_dsse/ and were then thrown away). Must never crash; an accepted envelope
 * must give a non-NULL, NUL-terminated payload, the id of one of the two keys, and the same
 * answer when verified again. Accepted payloads and the raw bytes also go through
 * eco_statement_parse, whose answers must be consistent.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ecology/signing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char ed25519_pub[] = "-----BEGIN PUBLIC KEY-----\n"
                                  "MCowBQYDK2VwAyEArN2DSBEsU12jIA2an1yHMqUTntDadovknpZEbVhLr7Y=\n"
                                  "-----END PUBLIC KEY-----\n";
static const char ecdsa_pub[] = "-----BEGIN PUBLIC KEY-----\n"
                                "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYcdOnUOAK4uskmBV9CFRYRH0Tnxb\n"
                                "1o7lATOb3yGP4VuS0aaMBOLbLqn/RwMDRoWwIu4N5F51gGkHUxSIBeRFVg==\n"
                                "-----END PUBLIC KEY-----\n";
static const char *const key_ids[] = {
    "90af74970395f2d1f1b0f86022bc005e0dd4e21e4346c331795d58f0ccfe5cd0",
    "4654f22c31146f23a22c713a35d820916e37376e8377db37c6e4a4f90aa2f2d2"};

static eco_keyring *keyring;

/* The keyring reads keys from files: each PEM goes through a temp file, removed at once. */
static void add_key(const char *pem) {
    char path[] = "/tmp/fuzz_dsse_key_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) __builtin_trap();
    size_t n = strlen(pem);
    if (write(fd, pem, n) != (ssize_t)n) __builtin_trap();
    close(fd);
    eco_status st = eco_keyring_add_file(keyring, path);
    unlink(path);
    if (st != ECO_STATUS_OK) {
        fprintf(stderr, "fuzz_dsse: %s\n", eco_last_error());
        __builtin_trap();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    if (eco_keyring_create(&keyring) != ECO_STATUS_OK) __builtin_trap();
    add_key(ed25519_pub);
    add_key(ecdsa_pub);
    if (eco_keyring_count(keyring) != 2) __builtin_trap();
    return 0;
}

static void check_statement(const char *text, size_t len) {
    json_t *root = (json_t *)1, *pred = (json_t *)1;
    const char *name = "", *hex = "";
    eco_status st = eco_statement_parse(text, len, "fuzz", &root, &name, &hex, &pred);
    if (st != ECO_STATUS_OK) {
        if (st != ECO_STATUS_EFORMAT || root || pred || name || hex) __builtin_trap();
        return;
    }
    if (!root || !json_is_object(pred) || !name[0] || strlen(hex) != ECO_SHA256_HEX_LEN)
        __builtin_trap();
    /* what parses builds again, and the rebuilt text parses to the same values */
    char *again = NULL;
    size_t again_len = 0;
    if (eco_statement_build(name, hex, pred, &again, &again_len) != ECO_STATUS_OK) __builtin_trap();
    json_t *root2, *pred2;
    const char *name2, *hex2;
    if (eco_statement_parse(again, again_len, "fuzz-rt", &root2, &name2, &hex2, &pred2) !=
        ECO_STATUS_OK)
        __builtin_trap();
    if (strcmp(name, name2) != 0 || strcmp(hex, hex2) != 0 || !json_equal(pred, pred2))
        __builtin_trap();
    json_decref(root2);
    free(again);
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    char *payload = (char *)"x";
    size_t len = 12345;
    char keyid[ECO_KEYID_HEX_LEN + 1] = "";
    eco_status st =
        eco_dsse_verify(keyring, text, size, "fuzz", ECO_DSSE_PAYLOAD_TYPE, &payload, &len, keyid);
    if (st != ECO_STATUS_OK) {
        if (st != ECO_STATUS_EFORMAT && st != ECO_STATUS_ESIGNATURE) __builtin_trap();
        if (payload != NULL || len != 0) __builtin_trap();
    } else {
        if (!payload || payload[len] != '\0') __builtin_trap();
        if (strcmp(keyid, key_ids[0]) != 0 && strcmp(keyid, key_ids[1]) != 0) __builtin_trap();
        char *p2;
        size_t len2;
        if (eco_dsse_verify(keyring, text, size, "fuzz", ECO_DSSE_PAYLOAD_TYPE, &p2, &len2, NULL) !=
                ECO_STATUS_OK ||
            len2 != len || memcmp(p2, payload, len) != 0)
            __builtin_trap();
        free(p2);
        check_statement(payload, len);
        free(payload);
    }
    check_statement(text, size);
    return 0;
}
