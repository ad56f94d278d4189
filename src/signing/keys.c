/* Signing keys through OpenSSL 3's EVP interface: generation (ECDSA P-256 or Ed25519),
 * PEM files (PKCS#8 private key, mode 0600; SPKI public key), key ids (hex SHA-256 of the
 * DER SPKI) and the keyring of trusted public keys that DSSE verification consults. */
#include "signing/signing_internal.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Key files are small; anything larger is not a key. */
#define KEY_FILE_MAX_BYTES ((size_t)64 * 1024)
#define KEY_NAME_MAX       128

struct eco_signing_key {
    EVP_PKEY *pkey;
    eco_key_type type;
    char keyid[ECO_KEYID_HEX_LEN + 1];
};

typedef struct keyring_entry {
    EVP_PKEY *pkey; /* public key */
    eco_key_type type;
    char keyid[ECO_KEYID_HEX_LEN + 1];
} keyring_entry;

struct eco_keyring {
    keyring_entry *keys; /* [n], in the order added */
    size_t n, cap;
};

const char *eco_key_type_str(eco_key_type t) {
    switch (t) {
        case ECO_KEY_TYPE_ECDSA_P256:
            return "ecdsa-p256";
        case ECO_KEY_TYPE_ED25519:
            return "ed25519";
    }
    return "unknown";
}

eco_status eco_key_type_parse(const char *s, eco_key_type *out) {
    if (s && strcmp(s, "ecdsa-p256") == 0)
        *out = ECO_KEY_TYPE_ECDSA_P256;
    else if (s && strcmp(s, "ed25519") == 0)
        *out = ECO_KEY_TYPE_ED25519;
    else
        return eco_error(ECO_STATUS_EINVAL, "key type '%s' is not one of ecdsa-p256, ed25519",
                         s ? s : "(null)");
    return ECO_STATUS_OK;
}

/* The first OpenSSL error as text (or "unknown error"), and the queue cleared, so that a
 * failure here does not surface in an unrelated later call. */
static const char *ossl_reason(char *buf, size_t n) {
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, n);
    else
        snprintf(buf, n, "unknown error");
    ERR_clear_error();
    return buf;
}

/* Which of our two key types pkey is; EUNSUPPORTED naming what it is otherwise. */
static eco_status classify(EVP_PKEY *pkey, const char *label, eco_key_type *out) {
    if (EVP_PKEY_is_a(pkey, "ED25519")) {
        *out = ECO_KEY_TYPE_ED25519;
        return ECO_STATUS_OK;
    }
    if (EVP_PKEY_is_a(pkey, "EC")) {
        char group[64] = "";
        size_t glen = 0;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           &glen) == 1 &&
            (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)) {
            *out = ECO_KEY_TYPE_ECDSA_P256;
            return ECO_STATUS_OK;
        }
        ERR_clear_error();
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s: EC key on curve '%s'; only P-256 is supported", label,
                         group[0] ? group : "?");
    }
    const char *name = EVP_PKEY_get0_type_name(pkey);
    return eco_error(ECO_STATUS_EUNSUPPORTED,
                     "%s: %s key; only ecdsa-p256 and ed25519 are supported", label,
                     name ? name : "unknown");
}

/* Lower-case hex SHA-256 of the DER SubjectPublicKeyInfo of pkey (its public half). */
static eco_status compute_keyid(EVP_PKEY *pkey, const char *label,
                                char keyid[ECO_KEYID_HEX_LEN + 1]) {
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pkey, &der);
    if (n <= 0) {
        char why[256];
        return eco_error(ECO_STATUS_EINTERNAL, "%s: cannot encode the public key: %s", label,
                         ossl_reason(why, sizeof why));
    }
    uint8_t digest[ECO_SHA256_LEN];
    eco_status st = eco_sha256(der, (size_t)n, digest);
    OPENSSL_free(der);
    if (st != ECO_STATUS_OK) return st;
    eco_hex(keyid, digest, ECO_SHA256_LEN);
    return ECO_STATUS_OK;
}

/* A name is one plain path component: [A-Za-z0-9._-], not starting with '.'. */
static eco_status check_name(const char *name) {
    size_t n = name ? strlen(name) : 0;
    if (n == 0) return eco_error(ECO_STATUS_EINVAL, "key name is empty");
    if (n > KEY_NAME_MAX)
        return eco_error(ECO_STATUS_EINVAL, "key name is longer than %d bytes", KEY_NAME_MAX);
    if (name[0] == '.') return eco_error(ECO_STATUS_EINVAL, "key name '%s' starts with '.'", name);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return eco_error(ECO_STATUS_EINVAL,
                             "key name '%s': only letters, digits, '.', '_' and '-' are allowed",
                             name);
    }
    return ECO_STATUS_OK;
}

/* "<dir>/<name><ext>", malloc'd. */
static char *key_path(const char *dir, const char *name, const char *ext) {
    size_t n = strlen(name) + strlen(ext) + 1;
    char *file = malloc(n);
    if (!file) return NULL;
    snprintf(file, n, "%s%s", name, ext);
    char *p = eco_path_join(dir, file);
    free(file);
    return p;
}

/* Writes pkey to path atomically as PEM: the PKCS#8 private key when `secret` (the file is
 * made mode 0600 before a byte is written, and the text lives in memory that is cleansed
 * when freed), else the SPKI public key (mode as the umask gives it). */
static eco_status write_pem(const char *path, EVP_PKEY *pkey, bool secret) {
    char why[256];
    BIO *bio = BIO_new(secret ? BIO_s_secmem() : BIO_s_mem());
    if (!bio) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    int ok = secret ? PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)
                    : PEM_write_bio_PUBKEY(bio, pkey);
    if (ok != 1) {
        BIO_free(bio);
        return eco_error(ECO_STATUS_EINTERNAL, "%s: cannot encode the key as PEM: %s", path,
                         ossl_reason(why, sizeof why));
    }
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    if (len <= 0 || !data) {
        BIO_free(bio);
        return eco_error(ECO_STATUS_EINTERNAL, "%s: empty PEM", path);
    }
    eco_atomic_file af;
    eco_status st = eco_atomic_file_open(&af, path);
    if (st != ECO_STATUS_OK) {
        BIO_free(bio);
        return st;
    }
    if (secret && fchmod(fileno(af.fp), 0600) != 0) {
        st = eco_error(ECO_STATUS_EIO, "%s: chmod: %s", af.tmp_path, strerror(errno));
        eco_atomic_file_abort(&af);
        BIO_free(bio);
        return st;
    }
    st = eco_atomic_file_write(&af, data, (size_t)len);
    BIO_free(bio); /* secmem BIOs cleanse on free */
    if (st != ECO_STATUS_OK) {
        eco_atomic_file_abort(&af);
        return st;
    }
    return eco_atomic_file_commit(&af);
}

static bool path_exists(const char *path) {
    struct stat sb;
    return lstat(path, &sb) == 0;
}

eco_status eco_keys_generate(const char *dir, const char *name, eco_key_type type,
                             char keyid[ECO_KEYID_HEX_LEN + 1]) {
    if (!dir || !dir[0]) return eco_error(ECO_STATUS_EINVAL, "keys generate: no folder given");
    eco_status st = check_name(name);
    if (st != ECO_STATUS_OK) return st;
    if (type != ECO_KEY_TYPE_ECDSA_P256 && type != ECO_KEY_TYPE_ED25519)
        return eco_error(ECO_STATUS_EINVAL, "keys generate: unknown key type %d", (int)type);
    char *key_file = key_path(dir, name, ".key"), *pub_file = key_path(dir, name, ".pub");
    EVP_PKEY *pkey = NULL;
    char id[ECO_KEYID_HEX_LEN + 1];
    if (!key_file || !pub_file) {
        st = eco_error(ECO_STATUS_ENOMEM, "keys generate: out of memory");
        goto done;
    }
    if ((st = eco_mkdir_p(dir)) != ECO_STATUS_OK) goto done;
    /* Checked before writing; the atomic rename would replace a file created between the
     * check and the rename, which only a concurrent generate under the same name can do. */
    if (path_exists(key_file) || path_exists(pub_file)) {
        st = eco_error(ECO_STATUS_EEXIST, "%s: a key named '%s' already exists; not overwriting it",
                       path_exists(key_file) ? key_file : pub_file, name);
        goto done;
    }
    pkey = type == ECO_KEY_TYPE_ED25519 ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")
                                        : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!pkey) {
        char why[256];
        st = eco_error(ECO_STATUS_EINTERNAL, "keys generate: %s key generation failed: %s",
                       eco_key_type_str(type), ossl_reason(why, sizeof why));
        goto done;
    }
    if ((st = compute_keyid(pkey, key_file, id)) != ECO_STATUS_OK) goto done;
    if ((st = write_pem(key_file, pkey, true)) != ECO_STATUS_OK) goto done;
    if ((st = write_pem(pub_file, pkey, false)) != ECO_STATUS_OK) {
        unlink(key_file); /* no private key without its public half */
        goto done;
    }
    if (keyid) memcpy(keyid, id, sizeof id);
done:
    EVP_PKEY_free(pkey);
    free(key_file);
    free(pub_file);
    return st;
}

/* Refuses encrypted PEM instead of prompting on the terminal (library code never reads a
 * terminal). */
static int no_passphrase(char *buf, int size, int rwflag, void *u) {
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* Reads a PEM file as a private key (`secret`) or an SPKI public key; the file text is
 * cleansed before it is freed. */
static eco_status read_pem(const char *path, bool secret, EVP_PKEY **out) {
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    eco_status st = eco_read_file(path, KEY_FILE_MAX_BYTES, &text, &len);
    if (st != ECO_STATUS_OK) return st;
    if (len > (size_t)INT32_MAX) len = INT32_MAX; /* cannot happen under the size limit */
    BIO *bio = BIO_new_mem_buf(text, (int)len);
    if (!bio) {
        OPENSSL_cleanse(text, len);
        free(text);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    }
    EVP_PKEY *pkey = secret ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
                            : PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    OPENSSL_cleanse(text, len);
    free(text);
    if (!pkey) {
        char why[256];
        return eco_error(ECO_STATUS_EFORMAT, "%s: not a %s PEM key (%s)", path,
                         secret ? "PKCS#8 private (unencrypted)" : "SPKI public",
                         ossl_reason(why, sizeof why));
    }
    *out = pkey;
    return ECO_STATUS_OK;
}

eco_status eco_signing_key_load(const char *path, eco_signing_key **out) {
    *out = NULL;
    EVP_PKEY *pkey;
    eco_status st = read_pem(path, true, &pkey);
    if (st != ECO_STATUS_OK) return st;
    eco_signing_key *k = calloc(1, sizeof *k);
    if (!k) {
        EVP_PKEY_free(pkey);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    }
    k->pkey = pkey;
    if ((st = classify(pkey, path, &k->type)) != ECO_STATUS_OK ||
        (st = compute_keyid(pkey, path, k->keyid)) != ECO_STATUS_OK) {
        eco_signing_key_free(k);
        return st;
    }
    *out = k;
    return ECO_STATUS_OK;
}

void eco_signing_key_free(eco_signing_key *k) {
    if (!k) return;
    EVP_PKEY_free(k->pkey);
    free(k);
}

const char *eco_signing_key_id(const eco_signing_key *k) { return k->keyid; }
eco_key_type eco_signing_key_type(const eco_signing_key *k) { return k->type; }

/* SHA-256 for ECDSA; Ed25519 signs the message itself (no digest). */
static const EVP_MD *digest_for(eco_key_type t) {
    return t == ECO_KEY_TYPE_ECDSA_P256 ? EVP_sha256() : NULL;
}

eco_status eco_signing_key_sign(const eco_signing_key *k, const void *msg, size_t len,
                                uint8_t **sig, size_t *sig_len) {
    *sig = NULL;
    *sig_len = 0;
    char why[256];
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return eco_error(ECO_STATUS_ENOMEM, "sign: out of memory");
    size_t n = 0;
    uint8_t *buf = NULL;
    eco_status st = ECO_STATUS_OK;
    if (EVP_DigestSignInit(ctx, NULL, digest_for(k->type), NULL, k->pkey) != 1 ||
        EVP_DigestSign(ctx, NULL, &n, msg, len) != 1) {
        st = eco_error(ECO_STATUS_EINTERNAL, "sign with key %s: %s", k->keyid,
                       ossl_reason(why, sizeof why));
        goto done;
    }
    buf = malloc(n ? n : 1);
    if (!buf) {
        st = eco_error(ECO_STATUS_ENOMEM, "sign: out of memory");
        goto done;
    }
    if (EVP_DigestSign(ctx, buf, &n, msg, len) != 1) {
        st = eco_error(ECO_STATUS_EINTERNAL, "sign with key %s: %s", k->keyid,
                       ossl_reason(why, sizeof why));
        free(buf);
        goto done;
    }
    *sig = buf;
    *sig_len = n;
done:
    EVP_MD_CTX_free(ctx);
    return st;
}

eco_status eco_keyring_create(eco_keyring **out) {
    *out = calloc(1, sizeof **out);
    if (!*out) return eco_error(ECO_STATUS_ENOMEM, "keyring: out of memory");
    return ECO_STATUS_OK;
}

eco_status eco_keyring_add_file(eco_keyring *kr, const char *pub_path) {
    EVP_PKEY *pkey;
    eco_status st = read_pem(pub_path, false, &pkey);
    if (st != ECO_STATUS_OK) return st;
    keyring_entry e = {.pkey = pkey};
    if ((st = classify(pkey, pub_path, &e.type)) != ECO_STATUS_OK ||
        (st = compute_keyid(pkey, pub_path, e.keyid)) != ECO_STATUS_OK) {
        EVP_PKEY_free(pkey);
        return st;
    }
    for (size_t i = 0; i < kr->n; i++) {
        if (strcmp(kr->keys[i].keyid, e.keyid) == 0) { /* the same key twice: once is enough */
            EVP_PKEY_free(pkey);
            return ECO_STATUS_OK;
        }
    }
    if (kr->n == kr->cap) {
        size_t cap = kr->cap ? 2 * kr->cap : 4;
        keyring_entry *grown = eco_malloc_array(cap, sizeof *grown);
        if (!grown) {
            EVP_PKEY_free(pkey);
            return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", pub_path);
        }
        if (kr->n) memcpy(grown, kr->keys, kr->n * sizeof *grown);
        free(kr->keys);
        kr->keys = grown;
        kr->cap = cap;
    }
    kr->keys[kr->n++] = e;
    return ECO_STATUS_OK;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_pub_name(const char *name) {
    size_t n = strlen(name);
    return n > 4 && name[0] != '.' && strcmp(name + n - 4, ".pub") == 0;
}

eco_status eco_keyring_load_dir(const char *dir, eco_keyring **out) {
    *out = NULL;
    eco_keyring *kr;
    eco_status st = eco_keyring_create(&kr);
    if (st != ECO_STATUS_OK) return st;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) {
            *out = kr;
            return ECO_STATUS_OK;
        }
        st = eco_error(ECO_STATUS_EIO, "%s: %s", dir, strerror(errno));
        eco_keyring_free(kr);
        return st;
    }
    /* Names sorted, so the keyring's order does not depend on the file system. */
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (!is_pub_name(ent->d_name)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown) {
                st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
                break;
            }
            names = grown;
        }
        if (!(names[n] = eco_strdup(ent->d_name))) {
            st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (st == ECO_STATUS_OK && n) qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n && st == ECO_STATUS_OK; i++) {
        char *p = eco_path_join(dir, names[i]);
        if (!p)
            st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
        else
            st = eco_keyring_add_file(kr, p);
        free(p);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    if (st != ECO_STATUS_OK) {
        eco_keyring_free(kr);
        return st;
    }
    *out = kr;
    return ECO_STATUS_OK;
}

void eco_keyring_free(eco_keyring *kr) {
    if (!kr) return;
    for (size_t i = 0; i < kr->n; i++) EVP_PKEY_free(kr->keys[i].pkey);
    free(kr->keys);
    free(kr);
}

size_t eco_keyring_count(const eco_keyring *kr) { return kr ? kr->n : 0; }

bool eco_keyring_has(const eco_keyring *kr, const char *keyid) {
    for (size_t i = 0; kr && keyid && i < kr->n; i++)
        if (strcmp(kr->keys[i].keyid, keyid) == 0) return true;
    return false;
}

eco_keyring_verdict eco_keyring_verify(const eco_keyring *kr, const char *keyid, const void *msg,
                                       size_t len, const uint8_t *sig, size_t sig_len) {
    const keyring_entry *e = NULL;
    for (size_t i = 0; kr && i < kr->n && !e; i++)
        if (strcmp(kr->keys[i].keyid, keyid) == 0) e = &kr->keys[i];
    if (!e) return ECO_KEYRING_VERDICT_UNKNOWN;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, digest_for(e->type), NULL, e->pkey) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error(); /* a malformed signature leaves decoder errors behind */
    return ok ? ECO_KEYRING_VERDICT_VALID : ECO_KEYRING_VERDICT_INVALID;
}
