/* Base64 (RFC 4648 section 4, standard alphabet, with padding). Decoding is strict: the
 * length is a multiple of 4, only the alphabet appears, '=' only as one or two final
 * characters, and the bits the padding leaves over are zero, so every byte string has
 * exactly one accepted encoding (a signature cannot be re-encoded into a second form). */
#include "ecology/signing.h"

#include <stdlib.h>
#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *eco_base64_encode(const void *data, size_t len) {
    const uint8_t *in = data;
    size_t groups = len / 3 + (len % 3 != 0), n;
    if (!eco_mul_ok(groups, 4, &n) || !eco_add_ok(n, 1, &n)) return NULL;
    char *out = malloc(n);
    if (!out) return NULL;
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

/* The 6-bit value of c, or -1 when c is not in the alphabet. */
static int sextet(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* *out: malloc'd, *out_len bytes plus a NUL (so a decoded text payload is a C string). */
eco_status eco_base64_decode(const char *text, size_t len, uint8_t **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    if (len % 4 != 0)
        return eco_error(ECO_STATUS_EFORMAT, "base64: length %zu is not a multiple of 4", len);
    size_t pad = 0;
    if (len >= 4 && text[len - 1] == '=') pad = text[len - 2] == '=' ? 2 : 1;
    size_t n = len / 4 * 3 - pad; /* len <= SIZE_MAX, so len/4*3 cannot overflow */
    uint8_t *buf = malloc(n + 1);
    if (!buf) return eco_error(ECO_STATUS_ENOMEM, "base64: cannot allocate %zu bytes", n + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        int v[4];
        for (size_t j = 0; j < 4; j++) {
            unsigned char c = (unsigned char)text[i + j];
            if (c == '=' && last && j >= 4 - pad) {
                v[j] = 0;
                continue;
            }
            v[j] = sextet(c);
            if (v[j] < 0) {
                free(buf);
                if (c == '=')
                    return eco_error(ECO_STATUS_EFORMAT, "base64: '=' at offset %zu before the end",
                                     i + j);
                if (c >= 0x21 && c < 0x7f)
                    return eco_error(ECO_STATUS_EFORMAT,
                                     "base64: invalid character '%c' at offset %zu", c, i + j);
                return eco_error(ECO_STATUS_EFORMAT, "base64: invalid byte 0x%02x at offset %zu", c,
                                 i + j);
            }
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        if (last && pad > 0) {
            /* the bits below the last whole byte must be zero (RFC 4648 section 3.5) */
            uint32_t spare = pad == 2 ? (w & 0xffff) : (w & 0xff);
            if (spare != 0) {
                free(buf);
                return eco_error(ECO_STATUS_EFORMAT,
                                 "base64: non-zero padding bits in the last group");
            }
        }
        size_t take = last ? 3 - pad : 3;
        uint8_t b[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
        memcpy(buf + o, b, take);
        o += take;
    }
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return ECO_STATUS_OK;
}
