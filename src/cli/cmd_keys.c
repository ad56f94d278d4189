/* ecology keys generate --out DIR [--name NAME] [--type ecdsa-p256|ed25519] [--json]
 *     a signing key pair: DIR/NAME.key (PKCS#8 PEM, mode 0600) and DIR/NAME.pub (SPKI PEM),
 *     never overwriting an existing key (eco_keys_generate); prints the key id and paths. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/signing.h"

static int keys_generate(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("out", true), CLI_OPT("name", true), CLI_OPT("type", true),
                   CLI_OPT("json", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *out = cli_get(o, n, "out"), *name = cli_get(o, n, "name"),
               *type_s = cli_get(o, n, "type");
    bool json = cli_get(o, n, "json") != NULL;
    if (!out || !out[0]) return cli_usage_error("keys generate: --out DIR is required");
    if (!name) name = "ecology";
    eco_key_type type = ECO_KEY_TYPE_ECDSA_P256;
    if (type_s && eco_key_type_parse(type_s, &type) != ECO_STATUS_OK)
        return cli_usage_error("option '--type': '%s' is not one of ecdsa-p256, ed25519", type_s);
    char keyid[ECO_KEYID_HEX_LEN + 1];
    eco_status st = eco_keys_generate(out, name, type, keyid);
    if (st == ECO_STATUS_EINVAL) return cli_usage_error("option '--name': %s", eco_last_error());
    if (st != ECO_STATUS_OK) return cli_fail(st, "keys generate");
    size_t fn = strlen(name) + 5;
    char *key_file = malloc(fn), *pub_file = malloc(fn);
    char *key_path = NULL, *pub_path = NULL;
    if (key_file && pub_file) {
        snprintf(key_file, fn, "%s.key", name);
        snprintf(pub_file, fn, "%s.pub", name);
        key_path = eco_path_join(out, key_file);
        pub_path = eco_path_join(out, pub_file);
    }
    int rc = CLI_OK;
    if (!key_path || !pub_path) {
        rc = cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "keys generate");
    } else if (json) {
        json_t *v =
            json_pack("{s:s, s:s, s:s, s:s}", "keyid", keyid, "type", eco_key_type_str(type),
                      "private_key", key_path, "public_key", pub_path);
        char *s = v ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (s)
            puts(s);
        else
            rc = cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "keys generate");
        free(s);
        json_decref(v);
    } else {
        printf("key id:      %s (%s)\n", keyid, eco_key_type_str(type));
        printf("private key: %s\n", key_path);
        printf("public key:  %s\n", pub_path);
    }
    free(key_file);
    free(pub_file);
    free(key_path);
    free(pub_path);
    return rc;
}

int cmd_keys(int argc, char **argv) {
    if (argc < 3) return cli_usage_error("keys: expected a subcommand (generate)");
    if (strcmp(argv[2], "generate") == 0) return keys_generate(argc, argv);
    return cli_usage_error("keys: unknown subcommand '%s' (expected generate)", argv[2]);
}
