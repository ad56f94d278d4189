/* eco_verifier_normalize (ecology/verifier.h): the one normalisation of refusal detection
 * and the deny list, and the word-character test both use (verifier_internal.h). */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "ecology/verifier.h"
#include "verifier/verifier_internal.h"

static bool is_space(uint32_t cp) {
    if (cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0x85) return true;
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP;
}

bool vf_is_word(uint32_t cp) {
    if (cp == '_') return true;
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
        case UTF8PROC_CATEGORY_LU:
        case UTF8PROC_CATEGORY_LL:
        case UTF8PROC_CATEGORY_LT:
        case UTF8PROC_CATEGORY_LM:
        case UTF8PROC_CATEGORY_LO:
        case UTF8PROC_CATEGORY_MN:
        case UTF8PROC_CATEGORY_MC:
        case UTF8PROC_CATEGORY_ME:
        case UTF8PROC_CATEGORY_ND:
        case UTF8PROC_CATEGORY_NL:
        case UTF8PROC_CATEGORY_NO:
            return true;
        default:
            return false;
    }
}

eco_status eco_verifier_normalize(const char *text, size_t len, char **out, size_t *out_len) {
    if (!out || !out_len || (!text && len))
        return eco_error(ECO_STATUS_EINVAL, "verifier_normalize: bad arguments");
    *out = NULL;
    *out_len = 0;
    size_t vlen;
    char *valid = eco_utf8_lossy(text ? text : "", len, &vlen);
    if (!valid) return eco_error(ECO_STATUS_ENOMEM, "verifier_normalize: out of memory");
    utf8proc_uint8_t *mapped = NULL;
    utf8proc_ssize_t mlen = 0;
    if (vlen > 0) {
        if (vlen > (size_t)(SIZE_MAX / 8 / 4)) { /* utf8proc's buffers grow with the text */
            free(valid);
            return eco_error(ECO_STATUS_EOVERFLOW, "verifier_normalize: text too long");
        }
        mlen = utf8proc_map((const utf8proc_uint8_t *)valid, (utf8proc_ssize_t)vlen, &mapped,
                            UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                UTF8PROC_CASEFOLD | UTF8PROC_IGNORE | UTF8PROC_STRIPMARK);
    }
    free(valid);
    if (mlen < 0) {
        free(mapped);
        return eco_error(mlen == UTF8PROC_ERROR_NOMEM ? ECO_STATUS_ENOMEM : ECO_STATUS_EINTERNAL,
                         "verifier_normalize: %s", utf8proc_errmsg(mlen));
    }
    /* Apostrophes and white space, in place (the result is never longer). */
    char *s = (char *)mapped;
    size_t w = 0, r = 0, n = (size_t)mlen;
    bool in_space = false;
    while (r < n) {
        uint32_t cp = (unsigned char)s[r];
        size_t l = cp < 0x80 ? 1 : eco_utf8_decode(s + r, n - r, &cp);
        if (!l) l = 1; /* not reached: utf8proc writes valid UTF-8 */
        if (is_space(cp)) {
            if (!in_space) s[w++] = ' ';
            in_space = true;
        } else if (cp == 0x2018 || cp == 0x2019 || cp == 0x02BC) {
            s[w++] = '\'';
            in_space = false;
        } else {
            memmove(s + w, s + r, l);
            w += l;
            in_space = false;
        }
        r += l;
    }
    if (!s) {
        s = malloc(1);
        if (!s) return eco_error(ECO_STATUS_ENOMEM, "verifier_normalize: out of memory");
    }
    s[w] = 0;
    *out = s;
    *out_len = w;
    return ECO_STATUS_OK;
}

uint32_t vf_cp_at(const char *s, size_t n, size_t p) {
    uint32_t cp = 0;
    if (p >= n) return 0;
    if ((unsigned char)s[p] < 0x80) return (unsigned char)s[p];
    return eco_utf8_decode(s + p, n - p, &cp) ? cp : 0xFFFD;
}

uint32_t vf_cp_before(const char *s, size_t n, size_t p) {
    if (p == 0 || p > n) return 0;
    size_t q = p - 1;
    while (q > 0 && p - q < 4 && ((unsigned char)s[q] & 0xC0) == 0x80) q--;
    return vf_cp_at(s, p, q);
}
