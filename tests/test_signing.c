/* signing: base64 (RFC 4648 vectors, strict decoding), DSSE's PAE (the spec's vector), key
 * generation and loading, keyrings, DSSE sign/verify (and every way verification must
 * fail), a cross-check against the openssl command-line tool in both directions, a table of
 * malformed envelopes, and in-toto statements (round trip and a malformed table). */
#include "test_util.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signing/signing_internal.h"
#include "ecology/signing.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static char *join(const char *dir, const char *name) {
    char *p = eco_path_join(dir, name);
    assert_non_null(p);
    return p;
}

static bool file_exists(const char *path) { return access(path, F_OK) == 0; }

/* Reads a whole file into a malloc'd NUL-terminated buffer. */
static char *slurp(const char *path, size_t *len) {
    char *data = NULL;
    size_t n = 0;
    ECO_ASSERT_OK(eco_read_file(path, 1 << 20, &data, &n));
    if (len) *len = n;
    return data;
}

static bool have_openssl(void) { return system("openssl version >/dev/null 2>&1") == 0; }

/* A key pair "<name>" of `type` in dir, loaded: *k the private key, *kr a keyring of its
 * public key. */
static void make_key(const char *dir, const char *name, eco_key_type type, eco_signing_key **k,
                     eco_keyring **kr) {
    char id[ECO_KEYID_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_keys_generate(dir, name, type, id));
    char file[160];
    snprintf(file, sizeof file, "%s.key", name);
    char *kp = join(dir, file);
    ECO_ASSERT_OK(eco_signing_key_load(kp, k));
    free(kp);
    assert_string_equal(eco_signing_key_id(*k), id);
    if (kr) {
        snprintf(file, sizeof file, "%s.pub", name);
        char *pp = join(dir, file);
        ECO_ASSERT_OK(eco_keyring_create(kr));
        ECO_ASSERT_OK(eco_keyring_add_file(*kr, pp));
        free(pp);
    }
}

/* ---- base64 ------------------------------------------------------------------------- */

static void test_base64_vectors(void **state) {
    (void)state;
    static const struct {
        const char *plain, *b64;
    } v[] = {{"", ""},
             {"f", "Zg=="},
             {"fo", "Zm8="},
             {"foo", "Zm9v"},
             {"foob", "Zm9vYg=="},
             {"fooba", "Zm9vYmE="},
             {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < ARRAY_LEN(v); i++) {
        char *enc = eco_base64_encode(v[i].plain, strlen(v[i].plain));
        assert_non_null(enc);
        assert_string_equal(enc, v[i].b64);
        free(enc);
        uint8_t *dec = NULL;
        size_t n = 99;
        ECO_ASSERT_OK(eco_base64_decode(v[i].b64, strlen(v[i].b64), &dec, &n));
        assert_non_null(dec);
        assert_int_equal(n, strlen(v[i].plain));
        assert_memory_equal(dec, v[i].plain, n);
        assert_int_equal(dec[n], 0); /* NUL-terminated */
        free(dec);
    }
    /* every byte value, every length up to 300: encode then decode gives the bytes back */
    uint8_t buf[300];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 151 + 7);
    for (size_t len = 0; len <= sizeof buf; len++) {
        char *enc = eco_base64_encode(buf, len);
        assert_non_null(enc);
        assert_int_equal(strlen(enc), (len + 2) / 3 * 4);
        uint8_t *dec;
        size_t n;
        ECO_ASSERT_OK(eco_base64_decode(enc, strlen(enc), &dec, &n));
        assert_int_equal(n, len);
        if (len) assert_memory_equal(dec, buf, len);
        free(dec);
        free(enc);
    }
}

static void test_base64_reject(void **state) {
    (void)state;
    static const struct {
        const char *text;
        size_t len; /* 0: strlen */
        const char *why;
    } bad[] = {
        {"Zg", 0, "multiple of 4"},           /* unpadded */
        {"Zg=", 0, "multiple of 4"},          /* short padding */
        {"Zm9vY", 0, "multiple of 4"},        /* one stray character */
        {"Zm9v\n", 0, "multiple of 4"},       /* trailing newline */
        {"Zm9v\nZm9v", 0, "multiple of 4"},   /* line break */
        {" Zm9", 0, "byte 0x20 at offset 0"}, /* leading space */
        {"Zm 9", 0, "byte 0x20 at offset 2"}, /* inner space */
        {"Zm9v\r\n==", 0, "invalid"},         /* CR LF */
        {"Zg-_", 0, "invalid character '-'"}, /* URL-safe alphabet */
        {"Zh==", 0, "padding bits"},          /* "f" with non-zero spare bits */
        {"Zm9=", 0, "padding bits"},          /* "fo" with non-zero spare bits */
        {"Z===", 0, "'='"},                   /* three '=' */
        {"====", 0, "'='"},                   /* only padding */
        {"Zg==Zg==", 0, "'='"},               /* padding in the middle */
        {"Zg=a", 0, "'='"},                   /* '=' then data */
        {"Zm9v====", 0, "'='"},               /* a whole group of padding */
        {"Zm\0v", 4, "0x00"},                 /* NUL byte */
        {"Zm\xc3\xa9", 4, "0xc3"},            /* non-ASCII */
        {"Zm9v.A==", 0, "invalid character '.'"},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
        uint8_t *out = (uint8_t *)"x";
        size_t n = 7;
        eco_status st = eco_base64_decode(bad[i].text, len, &out, &n);
        if (st != ECO_STATUS_EFORMAT || !strstr(eco_last_error(), bad[i].why)) {
            print_error("case %zu: got %s '%s', want EFORMAT with '%s'\n", i, eco_status_str(st),
                        eco_last_error(), bad[i].why);
            fail();
        }
        assert_null(out);
        assert_int_equal(n, 0);
    }
}

/* ---- PAE ---------------------------------------------------------------------------- */

static void test_pae_vector(void **state) {
    (void)state;
    uint8_t *pae;
    size_t n;
    ECO_ASSERT_OK(eco_dsse_pae("http://example.com/HelloWorld", "hello world", 11, &pae, &n));
    const char *want = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
    assert_int_equal(n, strlen(want));
    assert_memory_equal(pae, want, n);
    free(pae);
    /* empty type and body; a body with NUL bytes is counted, not cut */
    ECO_ASSERT_OK(eco_dsse_pae("", "", 0, &pae, &n));
    assert_int_equal(n, strlen("DSSEv1 0  0 "));
    assert_memory_equal(pae, "DSSEv1 0  0 ", n);
    free(pae);
    ECO_ASSERT_OK(eco_dsse_pae("t", "a\0b", 3, &pae, &n));
    assert_int_equal(n, 16);
    assert_memory_equal(pae, "DSSEv1 1 t 3 a\0b", n);
    free(pae);
}

/* ---- keys --------------------------------------------------------------------------- */

static void test_key_type_names(void **state) {
    (void)state;
    eco_key_type t;
    ECO_ASSERT_OK(eco_key_type_parse("ecdsa-p256", &t));
    assert_int_equal(t, ECO_KEY_TYPE_ECDSA_P256);
    ECO_ASSERT_OK(eco_key_type_parse("ed25519", &t));
    assert_int_equal(t, ECO_KEY_TYPE_ED25519);
    assert_string_equal(eco_key_type_str(ECO_KEY_TYPE_ECDSA_P256), "ecdsa-p256");
    assert_string_equal(eco_key_type_str(ECO_KEY_TYPE_ED25519), "ed25519");
    assert_string_equal(eco_key_type_str((eco_key_type)9), "unknown");
    ECO_ASSERT_STATUS(eco_key_type_parse("rsa", &t), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "'rsa'"));
    ECO_ASSERT_STATUS(eco_key_type_parse("ED25519", &t), ECO_STATUS_EINVAL);
}

static void check_generate(eco_key_type type) {
    char *dir = eco_test_tmpdir();
    char *sub = join(dir, "keys/nested"); /* created by generate */
    char id[ECO_KEYID_HEX_LEN + 1] = "";
    ECO_ASSERT_OK(eco_keys_generate(sub, "k1", type, id));
    assert_int_equal(strlen(id), ECO_KEYID_HEX_LEN);
    for (size_t i = 0; i < ECO_KEYID_HEX_LEN; i++)
        assert_non_null(strchr("0123456789abcdef", id[i]));
    char *kp = join(sub, "k1.key"), *pp = join(sub, "k1.pub");
    struct stat sb;
    assert_int_equal(stat(kp, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(stat(pp, &sb), 0);
    char *text = slurp(kp, NULL);
    assert_non_null(strstr(text, "-----BEGIN PRIVATE KEY-----")); /* PKCS#8, unencrypted */
    free(text);
    text = slurp(pp, NULL);
    assert_non_null(strstr(text, "-----BEGIN PUBLIC KEY-----"));
    free(text);

    /* loading gives the same id and type; the keyring of the .pub file holds that id */
    eco_signing_key *k;
    ECO_ASSERT_OK(eco_signing_key_load(kp, &k));
    assert_string_equal(eco_signing_key_id(k), id);
    assert_int_equal(eco_signing_key_type(k), type);
    eco_keyring *kr;
    ECO_ASSERT_OK(eco_keyring_load_dir(sub, &kr));
    assert_int_equal(eco_keyring_count(kr), 1);

    /* refuses to overwrite: .key and .pub untouched */
    char *before = slurp(kp, NULL);
    ECO_ASSERT_STATUS(eco_keys_generate(sub, "k1", type, NULL), ECO_STATUS_EEXIST);
    assert_non_null(strstr(eco_last_error(), "k1"));
    char *after = slurp(kp, NULL);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* only the .pub there is enough to refuse */
    assert_int_equal(unlink(kp), 0);
    ECO_ASSERT_STATUS(eco_keys_generate(sub, "k1", type, NULL), ECO_STATUS_EEXIST);
    assert_false(file_exists(kp));
    /* a second key has another id; no temp files are left behind */
    char id2[ECO_KEYID_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_keys_generate(sub, "k2", type, id2));
    assert_string_not_equal(id, id2);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) = 3", sub);
    assert_int_equal(system(cmd), 0);

    eco_keyring_free(kr);
    eco_signing_key_free(k);
    free(kp);
    free(pp);
    free(sub);
    eco_test_rmtree(dir);
    free(dir);
}

static void test_generate_ecdsa(void **state) {
    (void)state;
    check_generate(ECO_KEY_TYPE_ECDSA_P256);
}

static void test_generate_ed25519(void **state) {
    (void)state;
    check_generate(ECO_KEY_TYPE_ED25519);
}

static void test_generate_bad_args(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    const char *names[] = {"", "../x", "a/b", ".hidden", "sp ace", "nl\n"};
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        ECO_ASSERT_STATUS(eco_keys_generate(dir, names[i], ECO_KEY_TYPE_ED25519, NULL),
                          ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_keys_generate(dir, "k", (eco_key_type)7, NULL), ECO_STATUS_EINVAL);
    /* nothing was written */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", dir);
    assert_int_equal(system(cmd), 0);
    eco_test_rmtree(dir);
    free(dir);
}

/* Writes pkey's private PEM (encrypted with "pw" when `encrypt`) and public PEM. */
static void write_foreign_key(EVP_PKEY *pkey, const char *key_path, const char *pub_path,
                              bool encrypt) {
    FILE *f = fopen(key_path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, pkey, encrypt ? EVP_aes_256_cbc() : NULL,
                                          encrypt ? (unsigned char *)"pw" : NULL, encrypt ? 2 : 0,
                                          NULL, NULL),
                     1);
    fclose(f);
    f = fopen(pub_path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PUBKEY(f, pkey), 1);
    fclose(f);
}

static void test_key_loading_errors(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    char *kp = join(dir, "x.key"), *pp = join(dir, "x.pub");
    eco_signing_key *k = (eco_signing_key *)1;
    eco_keyring *kr;
    ECO_ASSERT_OK(eco_keyring_create(&kr));

    /* missing files */
    ECO_ASSERT_STATUS(eco_signing_key_load(kp, &k), ECO_STATUS_ENOTFOUND);
    assert_null(k);
    ECO_ASSERT_STATUS(eco_keyring_add_file(kr, pp), ECO_STATUS_ENOTFOUND);
    /* not PEM */
    eco_test_write_file(kp, "hello", 5);
    ECO_ASSERT_STATUS(eco_signing_key_load(kp, &k), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "x.key"));
    eco_test_write_file(pp, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", 55);
    ECO_ASSERT_STATUS(eco_keyring_add_file(kr, pp), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "x.pub"));

    /* a P-384 key: well-formed, not supported */
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    assert_non_null(p384);
    write_foreign_key(p384, kp, pp, false);
    ECO_ASSERT_STATUS(eco_signing_key_load(kp, &k), ECO_STATUS_EUNSUPPORTED);
    assert_non_null(strstr(eco_last_error(), "P-256"));
    ECO_ASSERT_STATUS(eco_keyring_add_file(kr, pp), ECO_STATUS_EUNSUPPORTED);
    /* an encrypted private key is refused, not prompted for */
    write_foreign_key(p384, kp, pp, true);
    ECO_ASSERT_STATUS(eco_signing_key_load(kp, &k), ECO_STATUS_EFORMAT);
    EVP_PKEY_free(p384);
    /* a public key where a private one is expected, and the reverse */
    ECO_ASSERT_OK(eco_keys_generate(dir, "good", ECO_KEY_TYPE_ED25519, NULL));
    char *gk = join(dir, "good.key"), *gp = join(dir, "good.pub");
    ECO_ASSERT_STATUS(eco_signing_key_load(gp, &k), ECO_STATUS_EFORMAT);
    ECO_ASSERT_STATUS(eco_keyring_add_file(kr, gk), ECO_STATUS_EFORMAT);
    assert_int_equal(eco_keyring_count(kr), 0);
    /* the same public key twice counts once */
    ECO_ASSERT_OK(eco_keyring_add_file(kr, gp));
    ECO_ASSERT_OK(eco_keyring_add_file(kr, gp));
    assert_int_equal(eco_keyring_count(kr), 1);
    eco_keyring_free(kr);

    /* load_dir: a bad .pub file fails the load naming it; a missing folder is empty */
    eco_keyring *kd = (eco_keyring *)1;
    ECO_ASSERT_STATUS(eco_keyring_load_dir(dir, &kd), ECO_STATUS_EUNSUPPORTED); /* x.pub is P-384 */
    assert_null(kd);
    assert_non_null(strstr(eco_last_error(), "x.pub"));
    ECO_ASSERT_STATUS(eco_keyring_load_dir(pp, &kd), ECO_STATUS_EIO); /* a file, not a folder */
    assert_null(kd);
    char *missing = join(dir, "no/such/folder");
    ECO_ASSERT_OK(eco_keyring_load_dir(missing, &kd));
    assert_int_equal(eco_keyring_count(kd), 0);
    eco_keyring_free(kd);
    /* other files, hidden .pub files and sub-folders are not keys */
    unlink(pp);
    eco_test_write_file(kp, "junk", 4);
    char *notes = join(dir, "README"), *hidden = join(dir, ".x.pub"), *subdir = join(dir, "sub");
    eco_test_write_file(notes, "junk", 4);
    eco_test_write_file(hidden, "junk", 4);
    ECO_ASSERT_OK(eco_mkdir_p(subdir));
    ECO_ASSERT_OK(eco_keys_generate(dir, "other", ECO_KEY_TYPE_ECDSA_P256, NULL));
    ECO_ASSERT_OK(eco_keyring_load_dir(dir, &kd));
    assert_int_equal(eco_keyring_count(kd), 2);
    eco_keyring_free(kd);

    free(notes);
    free(hidden);
    free(subdir);
    free(missing);
    free(gk);
    free(gp);
    free(kp);
    free(pp);
    eco_test_rmtree(dir);
    free(dir);
}

/* ---- DSSE --------------------------------------------------------------------------- */

static const char payload_text[] = "{\"hello\":\"world\",\"n\":[1,2,3]}";

/* Loads env, lets `edit` change it, writes it back (compact, sorted). Caller frees. */
static char *edit_envelope(const char *env, void (*edit)(json_t *root, void *ctx), void *ctx) {
    json_error_t err;
    json_t *root = json_loads(env, 0, &err);
    assert_non_null(root);
    edit(root, ctx);
    char *out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(out);
    json_decref(root);
    return out;
}

/* The envelope's field as a string (borrowed from root). */
static const char *sig0(json_t *root, const char *field) {
    return json_string_value(
        json_object_get(json_array_get(json_object_get(root, "signatures"), 0), field));
}

static void flip_payload(json_t *root, void *ctx) {
    (void)ctx;
    uint8_t *body;
    size_t n;
    const char *b64 = json_string_value(json_object_get(root, "payload"));
    ECO_ASSERT_OK(eco_base64_decode(b64, strlen(b64), &body, &n));
    body[3] ^= 0x01;
    char *enc = eco_base64_encode(body, n);
    json_object_set_new(root, "payload", json_string(enc));
    free(enc);
    free(body);
}

static void flip_sig(json_t *root, void *ctx) {
    size_t at = *(size_t *)ctx;
    uint8_t *sig;
    size_t n;
    const char *b64 = sig0(root, "sig");
    ECO_ASSERT_OK(eco_base64_decode(b64, strlen(b64), &sig, &n));
    sig[at % n] ^= 0x80;
    char *enc = eco_base64_encode(sig, n);
    json_object_set_new(json_array_get(json_object_get(root, "signatures"), 0), "sig",
                        json_string(enc));
    free(enc);
    free(sig);
}

static void set_type(json_t *root, void *ctx) {
    json_object_set_new(root, "payloadType", json_string(ctx));
}

/* Puts a second signature entry (keyid ctx, the first entry's sig) in front of the first. */
static void prepend_sig(json_t *root, void *ctx) {
    json_t *arr = json_object_get(root, "signatures");
    json_t *e = json_pack("{s:s, s:s}", "keyid", (const char *)ctx, "sig", sig0(root, "sig"));
    assert_non_null(e);
    json_array_insert_new(arr, 0, e);
}

static void check_sign_verify(eco_key_type type) {
    char *dir = eco_test_tmpdir();
    eco_signing_key *k, *other;
    eco_keyring *kr, *other_kr, *empty;
    make_key(dir, "signer", type, &k, &kr);
    make_key(dir, "other", type, &other, &other_kr);
    ECO_ASSERT_OK(eco_keyring_create(&empty));

    char *env, *env0_dummy = (char *)"x";
    size_t env_len;
    ECO_ASSERT_OK(eco_dsse_sign(k, ECO_DSSE_PAYLOAD_TYPE, payload_text, strlen(payload_text), &env,
                                &env_len));
    assert_int_equal(strlen(env), env_len);
    /* canonical JSON: canonicalising changes nothing */
    char *canon;
    size_t canon_len;
    ECO_ASSERT_OK(eco_json_canonicalize(env, env_len, "env", &canon, &canon_len));
    assert_string_equal(canon, env);
    free(canon);
    assert_non_null(strstr(env, eco_signing_key_id(k)));
    assert_non_null(strstr(env, "\"payloadType\":\"application/vnd.in-toto+json\""));

    /* verifies; payload and key id come back */
    char *payload = NULL;
    size_t plen = 0;
    char id[ECO_KEYID_HEX_LEN + 1] = "";
    ECO_ASSERT_OK(
        eco_dsse_verify(kr, env, env_len, "sig.json", ECO_DSSE_PAYLOAD_TYPE, &payload, &plen, id));
    assert_int_equal(plen, strlen(payload_text));
    assert_string_equal(payload, payload_text);
    assert_string_equal(id, eco_signing_key_id(k));
    free(payload);
    /* a keyring holding both keys, keyid and payload_len may be NULL */
    char *pub_other = join(dir, "other.pub");
    ECO_ASSERT_OK(eco_keyring_add_file(kr, pub_other));
    ECO_ASSERT_OK(
        eco_dsse_verify(kr, env, env_len, "sig.json", ECO_DSSE_PAYLOAD_TYPE, &payload, NULL, NULL));
    free(payload);

    /* nobody trusted */
    payload = (char *)"x";
    ECO_ASSERT_STATUS(eco_dsse_verify(empty, env, env_len, "sig.json", ECO_DSSE_PAYLOAD_TYPE,
                                      &payload, &plen, id),
                      ECO_STATUS_ESIGNATURE);
    assert_null(payload);
    assert_non_null(strstr(eco_last_error(), "sig.json: no trusted key with id "));
    assert_non_null(strstr(eco_last_error(), eco_signing_key_id(k)));
    /* another key trusted */
    ECO_ASSERT_STATUS(eco_dsse_verify(other_kr, env, env_len, "sig.json", ECO_DSSE_PAYLOAD_TYPE,
                                      &payload, &plen, id),
                      ECO_STATUS_ESIGNATURE);
    assert_non_null(strstr(eco_last_error(), "no trusted key with id"));
    /* a signature by `other` relabelled with the signer's key id */
    char *env_other;
    ECO_ASSERT_OK(eco_dsse_sign(other, ECO_DSSE_PAYLOAD_TYPE, payload_text, strlen(payload_text),
                                &env_other, NULL));
    char *forged = malloc(strlen(env_other) + 1);
    strcpy(forged, env_other);
    char *at = strstr(forged, eco_signing_key_id(other));
    assert_non_null(at);
    memcpy(at, eco_signing_key_id(k), ECO_KEYID_HEX_LEN);
    eco_keyring *signer_only;
    char *pub_signer = join(dir, "signer.pub");
    ECO_ASSERT_OK(eco_keyring_create(&signer_only));
    ECO_ASSERT_OK(eco_keyring_add_file(signer_only, pub_signer));
    ECO_ASSERT_STATUS(eco_dsse_verify(signer_only, forged, strlen(forged), "f",
                                      ECO_DSSE_PAYLOAD_TYPE, &payload, NULL, NULL),
                      ECO_STATUS_ESIGNATURE);
    assert_non_null(strstr(eco_last_error(), "does not verify"));
    free(forged);
    free(env_other);

    /* a flipped payload byte */
    char *bad = edit_envelope(env, flip_payload, NULL);
    ECO_ASSERT_STATUS(eco_dsse_verify(kr, bad, strlen(bad), "sig.json", ECO_DSSE_PAYLOAD_TYPE,
                                      &payload, &plen, id),
                      ECO_STATUS_ESIGNATURE);
    char want[200];
    snprintf(want, sizeof want, "sig.json: signature by key %s does not verify",
             eco_signing_key_id(k));
    assert_string_equal(eco_last_error(), want);
    free(bad);
    /* a flipped signature byte, at several places (for ECDSA some break the DER instead) */
    for (size_t pos = 0; pos < 72; pos += 7) {
        bad = edit_envelope(env, flip_sig, &pos);
        ECO_ASSERT_STATUS(
            eco_dsse_verify(kr, bad, strlen(bad), "s", ECO_DSSE_PAYLOAD_TYPE, &payload, &plen, id),
            ECO_STATUS_ESIGNATURE);
        assert_non_null(strstr(eco_last_error(), "does not verify"));
        free(bad);
    }
    /* a changed payloadType: not the expected type (EFORMAT), or the expected type but not
     * the one signed (ESIGNATURE: the type is inside the PAE) */
    bad = edit_envelope(env, set_type, "application/json");
    ECO_ASSERT_STATUS(
        eco_dsse_verify(kr, bad, strlen(bad), "s", ECO_DSSE_PAYLOAD_TYPE, &payload, &plen, id),
        ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "payloadType: 'application/json'"));
    ECO_ASSERT_STATUS(
        eco_dsse_verify(kr, bad, strlen(bad), "s", "application/json", &payload, &plen, id),
        ECO_STATUS_ESIGNATURE);
    free(bad);
    /* a valid signature after an untrusted one still verifies; an unknown plus an invalid
     * one names both */
    char unknown_id[ECO_KEYID_HEX_LEN + 1];
    memset(unknown_id, 'a', ECO_KEYID_HEX_LEN);
    unknown_id[ECO_KEYID_HEX_LEN] = '\0';
    char *two = edit_envelope(env, prepend_sig, unknown_id);
    ECO_ASSERT_OK(
        eco_dsse_verify(kr, two, strlen(two), "s", ECO_DSSE_PAYLOAD_TYPE, &payload, &plen, id));
    assert_string_equal(id, eco_signing_key_id(k));
    free(payload);
    bad = edit_envelope(two, flip_payload, NULL);
    ECO_ASSERT_STATUS(
        eco_dsse_verify(kr, bad, strlen(bad), "s", ECO_DSSE_PAYLOAD_TYPE, &payload, &plen, id),
        ECO_STATUS_ESIGNATURE);
    assert_non_null(strstr(eco_last_error(), "does not verify; no trusted key with id aaaa"));
    free(bad);
    free(two);

    /* caller errors */
    ECO_ASSERT_STATUS(eco_dsse_sign(k, "bad\xff", "x", 1, &env0_dummy, NULL), ECO_STATUS_EINVAL);
    assert_null(env0_dummy);
    ECO_ASSERT_STATUS(
        eco_dsse_verify(NULL, env, env_len, "s", ECO_DSSE_PAYLOAD_TYPE, &payload, &plen, id),
        ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_dsse_verify(kr, env, env_len, "s", NULL, &payload, &plen, id),
                      ECO_STATUS_EINVAL);

    /* an empty payload signs and verifies */
    char *env0;
    ECO_ASSERT_OK(eco_dsse_sign(k, "text/plain", "", 0, &env0, NULL));
    ECO_ASSERT_OK(
        eco_dsse_verify(kr, env0, strlen(env0), "e", "text/plain", &payload, &plen, NULL));
    assert_int_equal(plen, 0);
    assert_string_equal(payload, "");
    free(payload);
    free(env0);

    /* Ed25519 is deterministic; ECDSA is not, but both of its signatures verify */
    char *env2;
    ECO_ASSERT_OK(
        eco_dsse_sign(k, ECO_DSSE_PAYLOAD_TYPE, payload_text, strlen(payload_text), &env2, NULL));
    if (type == ECO_KEY_TYPE_ED25519) assert_string_equal(env, env2);
    ECO_ASSERT_OK(eco_dsse_verify(kr, env2, strlen(env2), "e2", ECO_DSSE_PAYLOAD_TYPE, &payload,
                                  &plen, NULL));
    free(payload);
    free(env2);

    free(env);
    free(pub_other);
    free(pub_signer);
    eco_keyring_free(signer_only);
    eco_keyring_free(kr);
    eco_keyring_free(other_kr);
    eco_keyring_free(empty);
    eco_signing_key_free(k);
    eco_signing_key_free(other);
    eco_test_rmtree(dir);
    free(dir);
}

static void test_sign_verify_ecdsa(void **state) {
    (void)state;
    check_sign_verify(ECO_KEY_TYPE_ECDSA_P256);
}

static void test_sign_verify_ed25519(void **state) {
    (void)state;
    check_sign_verify(ECO_KEY_TYPE_ED25519);
}

/* ---- cross-check with the openssl command-line tool ---------------------------------- */

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...) {
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void check_openssl(eco_key_type type) {
    char *dir = eco_test_tmpdir();
    eco_signing_key *k;
    eco_keyring *kr;
    make_key(dir, "x", type, &k, &kr);
    bool ed = type == ECO_KEY_TYPE_ED25519;
    char *kp = join(dir, "x.key"), *pp = join(dir, "x.pub"), *pae_path = join(dir, "pae.bin");
    char *sig_path = join(dir, "sig.bin"), *sig2_path = join(dir, "sig2.bin"),
         *id_path = join(dir, "id.txt");

    /* the key id is the SHA-256 of the DER SPKI, as openssl writes it */
    assert_int_equal(run("openssl pkey -pubin -in '%s' -outform DER | openssl dgst -sha256 -r | "
                         "cut -c1-64 > '%s'",
                         pp, id_path),
                     0);
    char *id_text = slurp(id_path, NULL);
    assert_memory_equal(id_text, eco_signing_key_id(k), ECO_KEYID_HEX_LEN);
    free(id_text);

    /* our signature over the PAE verifies under openssl */
    char *env;
    ECO_ASSERT_OK(
        eco_dsse_sign(k, ECO_DSSE_PAYLOAD_TYPE, payload_text, strlen(payload_text), &env, NULL));
    json_error_t err;
    json_t *root = json_loads(env, 0, &err);
    assert_non_null(root);
    uint8_t *sig;
    size_t sig_len;
    const char *b64 = sig0(root, "sig");
    ECO_ASSERT_OK(eco_base64_decode(b64, strlen(b64), &sig, &sig_len));
    eco_test_write_file(sig_path, sig, sig_len);
    free(sig);
    json_decref(root);
    uint8_t *pae;
    size_t pae_len;
    ECO_ASSERT_OK(
        eco_dsse_pae(ECO_DSSE_PAYLOAD_TYPE, payload_text, strlen(payload_text), &pae, &pae_len));
    eco_test_write_file(pae_path, pae, pae_len);
    const char *verify_ed =
        "openssl pkeyutl -verify -pubin -inkey '%s' -rawin -in '%s' -sigfile '%s' >/dev/null 2>&1";
    const char *verify_ec =
        "openssl dgst -sha256 -verify '%s' -signature '%s' '%s' >/dev/null 2>&1";
    if (ed)
        assert_int_equal(run(verify_ed, pp, pae_path, sig_path), 0);
    else
        assert_int_equal(run(verify_ec, pp, sig_path, pae_path), 0);
    /* and openssl refuses it over other bytes (the check above is not vacuous) */
    pae[pae_len - 1] ^= 1;
    eco_test_write_file(pae_path, pae, pae_len);
    if (ed)
        assert_int_not_equal(run(verify_ed, pp, pae_path, sig_path), 0);
    else
        assert_int_not_equal(run(verify_ec, pp, sig_path, pae_path), 0);
    pae[pae_len - 1] ^= 1;
    eco_test_write_file(pae_path, pae, pae_len);

    /* a signature openssl makes with our key file verifies in our envelope */
    if (ed)
        assert_int_equal(run("openssl pkeyutl -sign -inkey '%s' -rawin -in '%s' -out '%s'", kp,
                             pae_path, sig2_path),
                         0);
    else
        assert_int_equal(
            run("openssl dgst -sha256 -sign '%s' -out '%s' '%s'", kp, sig2_path, pae_path), 0);
    size_t s2_len;
    char *s2 = slurp(sig2_path, &s2_len);
    char *s2_b64 = eco_base64_encode(s2, s2_len);
    char *p_b64 = eco_base64_encode(payload_text, strlen(payload_text));
    json_t *e = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "payload", p_b64, "payloadType",
                          ECO_DSSE_PAYLOAD_TYPE, "signatures", "keyid", eco_signing_key_id(k),
                          "sig", s2_b64);
    char *env2 = json_dumps(e, JSON_COMPACT);
    char *payload;
    size_t plen;
    ECO_ASSERT_OK(eco_dsse_verify(kr, env2, strlen(env2), "openssl", ECO_DSSE_PAYLOAD_TYPE,
                                  &payload, &plen, NULL));
    assert_string_equal(payload, payload_text);
    free(payload);

    free(env2);
    json_decref(e);
    free(p_b64);
    free(s2_b64);
    free(s2);
    free(pae);
    free(env);
    free(kp);
    free(pp);
    free(pae_path);
    free(sig_path);
    free(sig2_path);
    free(id_path);
    eco_keyring_free(kr);
    eco_signing_key_free(k);
    eco_test_rmtree(dir);
    free(dir);
}

static void test_openssl_cross_check(void **state) {
    (void)state;
    if (!have_openssl()) {
        print_message("openssl command not found: cross-check skipped\n");
        skip();
    }
    check_openssl(ECO_KEY_TYPE_ECDSA_P256);
    check_openssl(ECO_KEY_TYPE_ED25519);
}

/* ---- malformed envelopes ---------------------------------------------------------------- */

/* Copies tmpl into out, replacing "@X" by vals[i] where X is names[i]. */
static void fill(char *out, size_t cap, const char *tmpl, const char *names,
                 const char *const *vals) {
    size_t o = 0;
    for (const char *p = tmpl; *p; p++) {
        const char *v = NULL;
        char one[2] = {*p, 0};
        if (*p == '@' && p[1] && strchr(names, p[1]))
            v = vals[strchr(names, p[1]) - names], p++;
        else
            v = one;
        size_t n = strlen(v);
        assert_true(o + n < cap);
        memcpy(out + o, v, n);
        o += n;
    }
    out[o] = '\0';
}

static void test_envelope_malformed(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    eco_signing_key *k;
    eco_keyring *kr;
    make_key(dir, "k", ECO_KEY_TYPE_ED25519, &k, &kr);
    char *env;
    ECO_ASSERT_OK(
        eco_dsse_sign(k, ECO_DSSE_PAYLOAD_TYPE, payload_text, strlen(payload_text), &env, NULL));
    json_error_t jerr;
    json_t *root = json_loads(env, 0, &jerr);
    /* The valid parts, substituted into the cases: P payload, K keyid, S sig. */
    const char *P = json_string_value(json_object_get(root, "payload"));
    const char *K = sig0(root, "keyid");
    const char *S = sig0(root, "sig");
    char KU[ECO_KEYID_HEX_LEN + 1];
    for (size_t i = 0; i <= ECO_KEYID_HEX_LEN; i++)
        KU[i] = (char)(K[i] >= 'a' && K[i] <= 'f' ? K[i] - 32 : K[i]);
    const char *T = ECO_DSSE_PAYLOAD_TYPE;
    char many[8192];
    {
        size_t o = (size_t)snprintf(
            many, sizeof many, "{\"payload\":\"%s\",\"payloadType\":\"%s\",\"signatures\":[", P, T);
        for (int i = 0; i < 33; i++)
            o += (size_t)snprintf(many + o, sizeof many - o, "%s{\"keyid\":\"%s\",\"sig\":\"%s\"}",
                                  i ? "," : "", K, S);
        snprintf(many + o, sizeof many - o, "]}");
    }

    /* Each case: a template (@P, @T, @K, @S and @U stand for P, T, K, S and KU) and the text
     * the error must contain. */
    static const struct {
        const char *fmt, *want;
    } cases[] = {
        {"", "invalid JSON"},
        {"[]", "expected an object"},
        {"\"@P\"", "invalid JSON"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":\"@"
         "S\"}]} x",
         "invalid JSON"},
        {"{\"payload\":\"@P\",\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":"
         "\"@K\",\"sig\":\"@S\"}]}",
         "duplicate"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":\"@"
         "S\"}],\"extra\":1}",
         "unknown field 'extra'"},
        {"{\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":\"@S\"}]}",
         "payload: missing"},
        {"{\"payload\":7,\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":\"@S\"}]"
         "}",
         "payload: expected a string"},
        {"{\"payload\":\"@P!\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":\"@"
         "S\"}]}",
         "payload: base64"},
        {"{\"payload\":\"@P\\n\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":"
         "\"@S\"}]}",
         "payload: base64"},
        {"{\"payload\":\"@P\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":\"@S\"}]}",
         "payloadType: missing"},
        {"{\"payload\":\"@P\",\"payloadType\":null,\"signatures\":[{\"keyid\":\"@K\",\"sig\":\"@"
         "S\"}]}",
         "payloadType: expected a string"},
        {"{\"payload\":\"@P\",\"payloadType\":\"text/"
         "plain\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":\"@S\"}]}",
         "payloadType: 'text/plain', expected 'application/vnd.in-toto+json'"},
        {"{\"payload\":\"@P\",\"payloadType\":\"a\\u0000b\",\"signatures\":[{\"keyid\":\"@K\","
         "\"sig\":\"@S\"}]}",
         "invalid JSON"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\"}", "signatures: missing"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":{}}",
         "signatures: expected an array"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[]}", "signatures: empty"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[\"@S\"]}",
         "signatures[0]: expected an object"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K\"}]}",
         "signatures[0].sig: missing"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"sig\":\"@S\"}]}",
         "signatures[0].keyid: missing"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":1,\"sig\":\"@S\"}]"
         "}",
         "signatures[0].keyid: expected a string"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"\",\"sig\":\"@"
         "S\"}]}",
         "signatures[0].keyid: expected 64 lower-case hex digits"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@U\",\"sig\":\"@"
         "S\"}]}",
         "signatures[0].keyid: expected 64 lower-case hex digits"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K0\",\"sig\":\"@"
         "S\"}]}",
         "signatures[0].keyid: expected 64"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":[]}]"
         "}",
         "signatures[0].sig: expected a string"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":"
         "\"\"}]}",
         "signatures[0].sig: empty"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":\"@"
         "S=\"}]}",
         "signatures[0].sig: base64"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":\" "
         "@S\"}]}",
         "signatures[0].sig: base64"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":\"@"
         "S\",\"cert\":\"x\"}]}",
         "signatures[0]: unknown field 'cert'"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":\"@"
         "S\"},{\"keyid\":\"@K\",\"sig\":\"***\"}]}",
         "signatures[1].sig: base64"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":\"@"
         "S\"},null]}",
         "signatures[1]: expected an object"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":\"@"
         "S\",\"keyid\":\"@K\"}]}",
         "duplicate"},
        {"{\"payload\":\"@P\",\"payloadType\":\"@T\",\"signatures\":[{\"keyid\":\"@K\",\"sig\":\"@"
         "S\"}],\"\\u00e9\\n\":1}",
         "unknown field '\\xc3\\xa9\\x0a'"}, /* a non-ASCII, non-printable key is shown escaped */
    };
    char text[4096];
    for (size_t i = 0; i <= ARRAY_LEN(cases); i++) {
        const char *want, *doc = text;
        if (i < ARRAY_LEN(cases)) {
            const char *vals[] = {P, T, K, S, KU};
            fill(text, sizeof text, cases[i].fmt, "PTKSU", vals);
            want = cases[i].want;
        } else { /* one signature over the limit */
            doc = many;
            want = "signatures: 33 entries, more than the limit of 32";
        }
        char *payload = (char *)"x";
        size_t plen = 5;
        eco_status st = eco_dsse_verify(kr, doc, strlen(doc), "env.json", ECO_DSSE_PAYLOAD_TYPE,
                                        &payload, &plen, NULL);
        if (st != ECO_STATUS_EFORMAT || strncmp(eco_last_error(), "env.json: ", 10) != 0 ||
            !strstr(eco_last_error(), want)) {
            print_error("case %zu: %.300s\n  got %s '%s', want EFORMAT with '%s'\n", i, doc,
                        eco_status_str(st), eco_last_error(), want);
            fail();
        }
        assert_null(payload);
        assert_int_equal(plen, 0);
    }
    /* the same envelope, well-formed, verifies (the cases differ from it only where they say) */
    snprintf(text, sizeof text,
             "{\"payload\":\"%s\",\"payloadType\":\"%s\",\"signatures\":[{\"keyid\":\"%s\",\"sig\":"
             "\"%s\"}]}",
             P, T, K, S);
    char *payload;
    ECO_ASSERT_OK(eco_dsse_verify(kr, text, strlen(text), "env.json", ECO_DSSE_PAYLOAD_TYPE,
                                  &payload, NULL, NULL));
    free(payload);
    /* white space and key order do not matter to verification */
    snprintf(text, sizeof text,
             " {\n \"signatures\" : [ { \"sig\":\"%s\", \"keyid\":\"%s\" } ],\n "
             "\"payloadType\":\"%s\", \"payload\":\"%s\" }\n",
             S, K, T, P);
    ECO_ASSERT_OK(eco_dsse_verify(kr, text, strlen(text), "env.json", ECO_DSSE_PAYLOAD_TYPE,
                                  &payload, NULL, NULL));
    free(payload);
    /* a label of NULL still names something */
    ECO_ASSERT_STATUS(
        eco_dsse_verify(kr, "{}", 2, NULL, ECO_DSSE_PAYLOAD_TYPE, &payload, NULL, NULL),
        ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "envelope: "));

    json_decref(root);
    free(env);
    eco_keyring_free(kr);
    eco_signing_key_free(k);
    eco_test_rmtree(dir);
    free(dir);
}

/* ---- in-toto statements ------------------------------------------------------------------ */

static const char root_hex[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void test_statement_roundtrip(void **state) {
    (void)state;
    json_error_t jerr;
    json_t *genome = json_loads(
        "{\"name\":\"m\",\"parents\":[\"a\",\"b\"],\"x\":{\"z\":1,\"y\":2.5}}", 0, &jerr);
    assert_non_null(genome);
    char *text;
    size_t len;
    ECO_ASSERT_OK(eco_statement_build("tiny/model@1", root_hex, genome, &text, &len));
    assert_int_equal(strlen(text), len);
    char want[512];
    snprintf(want, sizeof want,
             "{\"_type\":\"https://in-toto.io/Statement/"
             "v1\",\"predicate\":{\"name\":\"m\",\"parents\":[\"a\",\"b\"],"
             "\"x\":{\"y\":2.5,\"z\":1}},\"predicateType\":\"https://tiny-ecology.dev/genome/"
             "v1\",\"subject\":[{\"digest\":"
             "{\"sha256\":\"%s\"},\"name\":\"tiny/model@1\"}]}",
             root_hex);
    assert_string_equal(text, want);
    assert_int_equal(genome->refcount, 1); /* the borrowed predicate is untouched */

    json_t *root, *pred;
    const char *name, *hex;
    ECO_ASSERT_OK(eco_statement_parse(text, len, "stmt", &root, &name, &hex, &pred));
    assert_string_equal(name, "tiny/model@1");
    assert_string_equal(hex, root_hex);
    assert_true(json_equal(pred, genome));
    json_decref(root);

    /* sign, verify, parse: the whole path */
    char *dir = eco_test_tmpdir();
    eco_signing_key *k;
    eco_keyring *kr;
    make_key(dir, "k", ECO_KEY_TYPE_ECDSA_P256, &k, &kr);
    char *env, *payload;
    size_t plen;
    ECO_ASSERT_OK(eco_dsse_sign(k, ECO_DSSE_PAYLOAD_TYPE, text, len, &env, NULL));
    ECO_ASSERT_OK(
        eco_dsse_verify(kr, env, strlen(env), "sig", ECO_DSSE_PAYLOAD_TYPE, &payload, &plen, NULL));
    ECO_ASSERT_OK(eco_statement_parse(payload, plen, "payload", &root, &name, &hex, &pred));
    assert_string_equal(name, "tiny/model@1");
    assert_true(json_equal(pred, genome));
    json_decref(root);
    free(payload);
    free(env);
    eco_keyring_free(kr);
    eco_signing_key_free(k);
    eco_test_rmtree(dir);
    free(dir);

    /* build refuses what parse would */
    char *out = (char *)"x";
    ECO_ASSERT_STATUS(eco_statement_build("", root_hex, genome, &out, &len), ECO_STATUS_EINVAL);
    assert_null(out);
    ECO_ASSERT_STATUS(eco_statement_build("m", "ABC", genome, &out, &len), ECO_STATUS_EINVAL);
    char upper[65];
    for (int i = 0; i < 65; i++)
        upper[i] = (char)(root_hex[i] >= 'a' ? root_hex[i] - 32 : root_hex[i]);
    ECO_ASSERT_STATUS(eco_statement_build("m", upper, genome, &out, &len), ECO_STATUS_EINVAL);
    json_t *arr = json_array();
    ECO_ASSERT_STATUS(eco_statement_build("m", root_hex, arr, &out, &len), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_statement_build("m", root_hex, NULL, &out, &len), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_statement_build("bad\xff", root_hex, genome, &out, &len),
                      ECO_STATUS_EINVAL);
    json_decref(arr);
    free(text);
    json_decref(genome);
}

static void test_statement_malformed(void **state) {
    (void)state;
    /* Templates: @D a valid digest, @T the statement type, @Q the predicate type. */
    static const struct {
        const char *fmt, *want;
    } cases[] = {
        {"", "invalid JSON"},
        {"[]", "expected an object"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":\"m\",\"digest\":{\"sha256\":\"@D\"}}],"
         "\"predicateType\":\"@Q\",\"predicate\":{}} {}",
         "invalid JSON"},
        {"{\"_type\":\"@T\",\"_type\":\"@T\",\"subject\":[{\"name\":\"m\",\"digest\":{\"sha256\":"
         "\"@D\"}}],\"predicateType\":\"@Q\",\"predicate\":{}}",
         "duplicate"},
        {"{\"subject\":[{\"name\":\"m\",\"digest\":{\"sha256\":\"@D\"}}],\"predicateType\":\"@Q\","
         "\"predicate\":{}}",
         "_type: missing"},
        {"{\"_type\":\"https://in-toto.io/Statement/"
         "v0.1\",\"subject\":[{\"name\":\"m\",\"digest\":{\"sha256\":\"@D\"}}],\"predicateType\":"
         "\"@Q\",\"predicate\":{}}",
         "_type: 'https://in-toto.io/Statement/v0.1'"},
        {"{\"_type\":1,\"subject\":[{\"name\":\"m\",\"digest\":{\"sha256\":\"@D\"}}],"
         "\"predicateType\":\"@Q\",\"predicate\":{}}",
         "_type: expected a string"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":\"m\",\"digest\":{\"sha256\":\"@D\"}}],"
         "\"predicate\":{}}",
         "predicateType: missing"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":\"m\",\"digest\":{\"sha256\":\"@D\"}}],"
         "\"predicateType\":\"https://slsa.dev/provenance/v1\",\"predicate\":{}}",
         "predicateType: 'https://slsa.dev/provenance/v1'"},
        {"{\"_type\":\"@T\",\"predicateType\":\"@Q\",\"predicate\":{}}", "subject: missing"},
        {"{\"_type\":\"@T\",\"subject\":[],\"predicateType\":\"@Q\",\"predicate\":{}}",
         "subject: expected an array of exactly one"},
        {"{\"_type\":\"@T\",\"subject\":{\"name\":\"m\"},\"predicateType\":\"@Q\",\"predicate\":{}"
         "}",
         "subject: expected an array"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":\"m\",\"digest\":{\"sha256\":\"@D\"}},{\"name\":"
         "\"n\",\"digest\":{\"sha256\":\"@D\"}}],\"predicateType\":\"@Q\",\"predicate\":{}}",
         "subject: expected an array of exactly one"},
        {"{\"_type\":\"@T\",\"subject\":[\"m\"],\"predicateType\":\"@Q\",\"predicate\":{}}",
         "subject[0]: expected an object"},
        {"{\"_type\":\"@T\",\"subject\":[{\"digest\":{\"sha256\":\"@D\"}}],\"predicateType\":\"@"
         "Q\",\"predicate\":{}}",
         "subject[0].name: missing"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":\"\",\"digest\":{\"sha256\":\"@D\"}}],"
         "\"predicateType\":\"@Q\",\"predicate\":{}}",
         "subject[0].name: empty"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":[],\"digest\":{\"sha256\":\"@D\"}}],"
         "\"predicateType\":\"@Q\",\"predicate\":{}}",
         "subject[0].name: expected a string"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":\"m\",\"uri\":\"x\",\"digest\":{\"sha256\":\"@"
         "D\"}}],\"predicateType\":\"@Q\",\"predicate\":{}}",
         "subject[0]: unknown field 'uri'"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":\"m\"}],\"predicateType\":\"@Q\",\"predicate\":{"
         "}}",
         "subject[0].digest: missing"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":\"m\",\"digest\":\"@D\"}],\"predicateType\":\"@"
         "Q\",\"predicate\":{}}",
         "subject[0].digest: expected an object"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":\"m\",\"digest\":{}}],\"predicateType\":\"@Q\","
         "\"predicate\":{}}",
         "subject[0].digest.sha256: missing"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":\"m\",\"digest\":{\"sha256\":\"@D\",\"sha512\":"
         "\"00\"}}],\"predicateType\":\"@Q\",\"predicate\":{}}",
         "subject[0].digest: unknown field 'sha512'"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":\"m\",\"digest\":{\"sha256\":\"@D0\"}}],"
         "\"predicateType\":\"@Q\",\"predicate\":{}}",
         "subject[0].digest.sha256: expected 64 lower-case hex"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":\"m\",\"digest\":{\"sha256\":"
         "\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\"}}],"
         "\"predicateType\":\"@Q\",\"predicate\":{}}",
         "subject[0].digest.sha256: expected 64 lower-case hex"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":\"m\",\"digest\":{\"sha256\":12}}],"
         "\"predicateType\":\"@Q\",\"predicate\":{}}",
         "subject[0].digest.sha256: expected a string"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":\"m\",\"digest\":{\"sha256\":\"@D\"}}],"
         "\"predicateType\":\"@Q\"}",
         "predicate: missing"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":\"m\",\"digest\":{\"sha256\":\"@D\"}}],"
         "\"predicateType\":\"@Q\",\"predicate\":[]}",
         "predicate: expected an object"},
        {"{\"_type\":\"@T\",\"subject\":[{\"name\":\"m\",\"digest\":{\"sha256\":\"@D\"}}],"
         "\"predicateType\":\"@Q\",\"predicate\":{},\"extra\":0}",
         "unknown field 'extra'"},
    };
    char text[2048];
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *vals[] = {root_hex, ECO_INTOTO_STATEMENT_TYPE, ECO_GENOME_PREDICATE_TYPE};
        fill(text, sizeof text, cases[i].fmt, "DTQ", vals);
        json_t *root = (json_t *)1, *pred = (json_t *)1;
        const char *name = "x", *hex = "x";
        eco_status st =
            eco_statement_parse(text, strlen(text), "stmt.json", &root, &name, &hex, &pred);
        if (st != ECO_STATUS_EFORMAT || strncmp(eco_last_error(), "stmt.json: ", 11) != 0 ||
            !strstr(eco_last_error(), cases[i].want)) {
            print_error("case %zu: %s\n  got %s '%s', want EFORMAT with '%s'\n", i, text,
                        eco_status_str(st), eco_last_error(), cases[i].want);
            fail();
        }
        assert_null(root);
        assert_null(pred);
        assert_null(name);
        assert_null(hex);
    }
    /* the well-formed base of the cases parses */
    snprintf(text, sizeof text,
             "{\"_type\":\"%s\",\"subject\":[{\"name\":\"m\",\"digest\":{\"sha256\":\"%s\"}}],"
             "\"predicateType\":\"%s\",\"predicate\":{}}",
             ECO_INTOTO_STATEMENT_TYPE, root_hex, ECO_GENOME_PREDICATE_TYPE);
    json_t *root, *pred;
    const char *name, *hex;
    ECO_ASSERT_OK(eco_statement_parse(text, strlen(text), "stmt.json", &root, &name, &hex, &pred));
    json_decref(root);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_vectors),      cmocka_unit_test(test_base64_reject),
        cmocka_unit_test(test_pae_vector),          cmocka_unit_test(test_key_type_names),
        cmocka_unit_test(test_generate_ecdsa),      cmocka_unit_test(test_generate_ed25519),
        cmocka_unit_test(test_generate_bad_args),   cmocka_unit_test(test_key_loading_errors),
        cmocka_unit_test(test_sign_verify_ecdsa),   cmocka_unit_test(test_sign_verify_ed25519),
        cmocka_unit_test(test_openssl_cross_check), cmocka_unit_test(test_envelope_malformed),
        cmocka_unit_test(test_statement_roundtrip), cmocka_unit_test(test_statement_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
