/* SHA-256 through OpenSSL's EVP interface. */
#include "ecology/core.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct eco_sha256_ctx {
    EVP_MD_CTX *md;
};

eco_status eco_sha256_begin(eco_sha256_ctx **out) {
    eco_sha256_ctx *c = malloc(sizeof *c);
    if (!c) return eco_error(ECO_STATUS_ENOMEM, "sha256: out of memory");
    c->md = EVP_MD_CTX_new();
    if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c->md);
        free(c);
        return eco_error(ECO_STATUS_EINTERNAL, "sha256: EVP init failed");
    }
    *out = c;
    return ECO_STATUS_OK;
}

eco_status eco_sha256_update(eco_sha256_ctx *c, const void *data, size_t len) {
    if (len && EVP_DigestUpdate(c->md, data, len) != 1)
        return eco_error(ECO_STATUS_EINTERNAL, "sha256: EVP update failed");
    return ECO_STATUS_OK;
}

eco_status eco_sha256_end(eco_sha256_ctx *c, uint8_t out[ECO_SHA256_LEN]) {
    unsigned int n = 0;
    int ok = EVP_DigestFinal_ex(c->md, out, &n);
    eco_sha256_abort(c);
    if (ok != 1 || n != ECO_SHA256_LEN)
        return eco_error(ECO_STATUS_EINTERNAL, "sha256: EVP final failed");
    return ECO_STATUS_OK;
}

void eco_sha256_abort(eco_sha256_ctx *c) {
    if (!c) return;
    EVP_MD_CTX_free(c->md);
    free(c);
}

eco_status eco_sha256(const void *data, size_t len, uint8_t out[ECO_SHA256_LEN]) {
    eco_sha256_ctx *c;
    eco_status st = eco_sha256_begin(&c);
    if (st != ECO_STATUS_OK) return st;
    if ((st = eco_sha256_update(c, data, len)) != ECO_STATUS_OK) {
        eco_sha256_abort(c);
        return st;
    }
    return eco_sha256_end(c, out);
}

eco_status eco_sha256_file(const char *path, uint8_t out[ECO_SHA256_LEN]) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return eco_error(errno == ENOENT ? ECO_STATUS_ENOTFOUND : ECO_STATUS_EIO, "%s: %s", path,
                         strerror(errno));
    eco_sha256_ctx *c;
    eco_status st = eco_sha256_begin(&c);
    if (st != ECO_STATUS_OK) {
        close(fd);
        return st;
    }
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = malloc(CHUNK);
    if (!buf) {
        eco_sha256_abort(c);
        close(fd);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    }
    for (;;) {
        ssize_t r = read(fd, buf, CHUNK);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            st = eco_error(ECO_STATUS_EIO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
        if (r == 0) break;
        if ((st = eco_sha256_update(c, buf, (size_t)r)) != ECO_STATUS_OK) break;
    }
    free(buf);
    close(fd);
    if (st != ECO_STATUS_OK) {
        eco_sha256_abort(c);
        return st;
    }
    return eco_sha256_end(c, out);
}

void eco_hex(char *out, const uint8_t *bytes, size_t n) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

eco_status eco_sha256_hex(const void *data, size_t len, char out[ECO_SHA256_HEX_LEN + 1]) {
    uint8_t d[ECO_SHA256_LEN];
    eco_status rc = eco_sha256(data, len, d);
    if (rc) return rc;
    eco_hex(out, d, sizeof d);
    return ECO_STATUS_OK;
}

eco_status eco_sha256_file_hex(const char *path, char out[ECO_SHA256_HEX_LEN + 1]) {
    uint8_t d[ECO_SHA256_LEN];
    eco_status rc = eco_sha256_file(path, d);
    if (rc) return rc;
    eco_hex(out, d, sizeof d);
    return ECO_STATUS_OK;
}

bool eco_hex_is_lower(const char *s, size_t len, size_t want) {
    if (len != want) return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}
