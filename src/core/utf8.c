/* The one UTF-8 decoder and encoder (ecology/core.h): RFC 3629, so overlong forms,
 * surrogates and code points past U+10FFFF are invalid. */
#include "ecology/core.h"

#include <stdlib.h>
#include <string.h>

size_t eco_utf8_decode(const void *p, size_t n, uint32_t *cp) {
    const unsigned char *s = p;
    if (n == 0) return 0;
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c < 0xC2) return 0; /* continuation byte or overlong 2-byte lead */
    if (c < 0xE0) {
        if (n < 2 || (s[1] & 0xC0) != 0x80) return 0;
        *cp = ((c & 0x1Fu) << 6) | (s[1] & 0x3Fu);
        return 2;
    }
    if (c < 0xF0) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
        uint32_t v = ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
        if (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF)) return 0;
        *cp = v;
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        uint32_t v =
            ((c & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
        if (v < 0x10000 || v > 0x10FFFF) return 0;
        *cp = v;
        return 4;
    }
    return 0;
}

size_t eco_utf8_encode(uint32_t cp, char out[4]) {
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t eco_utf8_valid_prefix(const void *p, size_t n) {
    const unsigned char *s = p;
    uint32_t cp;
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) { /* ASCII runs without a call */
            i++;
            continue;
        }
        size_t l = eco_utf8_decode(s + i, n - i, &cp);
        if (!l) return i;
        i += l;
    }
    return n;
}

char *eco_utf8_lossy(const void *p, size_t n, size_t *out_len) {
    const unsigned char *s = p;
    size_t cap;
    if (!eco_mul_ok(n, 3, &cap) || !eco_add_ok(cap, 1, &cap))
        return NULL; /* a bad byte becomes 3 */
    char *o = malloc(cap);
    if (!o) return NULL;
    size_t w = 0;
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        size_t l = eco_utf8_decode(s + i, n - i, &cp);
        if (l == 0) {
            memcpy(o + w, "\xEF\xBF\xBD", 3);
            w += 3;
            i++;
        } else {
            memcpy(o + w, s + i, l);
            w += l;
            i += l;
        }
    }
    o[w] = '\0';
    *out_len = w;
    return o;
}
