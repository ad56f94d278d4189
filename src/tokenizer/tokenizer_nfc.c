/*
 * Unicode NFC (UAX #15) through utf8proc (utf8proc_map with UTF8PROC_STABLE |
 * UTF8PROC_COMPOSE; Debian 12's libutf8proc 2.8.0 implements Unicode 15.0). utf8proc refuses
 * invalid UTF-8, while the tokenizer accepts any bytes: invalid bytes are copied through
 * and block composition across them (each valid run between them is normalized on its own).
 */
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "tokenizer/tokenizer_internal.h"

/* Whether cp is NFC whatever surrounds it: a starter (combining class 0) with no canonical
 * decomposition that takes part in no composition (utf8proc 2.8's comb_index is UINT16_MAX
 * for those; later versions changed the field, and there only the rule below U+0300
 * holds). Conjoining jamo compose arithmetically, outside utf8proc's table: V and T jamo
 * are never stable. CJK ideographs, most scripts without combining marks: stable. */
static bool cp_stable(utf8proc_int32_t cp) {
#if UTF8PROC_VERSION_MAJOR == 2 && UTF8PROC_VERSION_MINOR < 9
    if (cp >= 0x1160 && cp <= 0x11FF) return false;
    const utf8proc_property_t *p = utf8proc_get_property(cp);
    return p->combining_class == 0 && p->comb_index == UINT16_MAX &&
           (p->decomp_seqindex == UINT16_MAX || p->decomp_type != 0);
#else
    return cp < 0x300;
#endif
}

/* Below U+0300 (lead bytes < 0xCC, and ASCII) every code point is NFC_Quick_Check=Yes with
 * combining class 0: nothing there decomposes, reorders or composes with what precedes it.
 * Above, cp_stable decides; anything else takes the full normalization, so the answer is
 * only ever a safe "yes". Invalid bytes are copied through by tok_nfc: stable too. */
bool tok_nfc_quick(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (u[i] < 0xCC) {
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t l = utf8proc_iterate(u + i, (utf8proc_ssize_t)(n - i), &cp);
        if (l <= 0) {
            i++;
            continue;
        }
        if (!cp_stable(cp)) return false;
        i += (size_t)l;
    }
    return true;
}

/* NFC of one valid UTF-8 run s[0..n), appended to out. */
static eco_status nfc_run(const unsigned char *s, size_t n, eco_buf *out) {
    if (tok_nfc_quick((const char *)s, n))
        return eco_buf_append(out, s, n)
                   ? ECO_STATUS_OK
                   : eco_error(ECO_STATUS_ENOMEM, "tokenizer: NFC: out of memory");
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t r =
        utf8proc_map(s, (utf8proc_ssize_t)n, &dst, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (r < 0) {
        free(dst);
        if (r == UTF8PROC_ERROR_NOMEM)
            return eco_error(ECO_STATUS_ENOMEM, "tokenizer: NFC: out of memory");
        return eco_error(ECO_STATUS_EINVAL, "tokenizer: NFC of %zu bytes: %s", n,
                         utf8proc_errmsg(r));
    }
    bool ok = eco_buf_append(out, dst, (size_t)r);
    free(dst); /* utf8proc_map's result is malloc'd */
    return ok ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "tokenizer: NFC: out of memory");
}

eco_status tok_nfc(const char *s, size_t n, eco_buf *out) {
    const unsigned char *u = (const unsigned char *)s;
    if (!eco_buf_reserve(out, n))
        return eco_error(ECO_STATUS_ENOMEM, "tokenizer: NFC: out of memory");
    size_t run = 0, i = 0;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t l = utf8proc_iterate(u + i, (utf8proc_ssize_t)(n - i), &cp);
        if (l > 0) {
            i += (size_t)l;
            continue;
        }
        /* an invalid byte: normalize the run before it, copy it, start a new run after it */
        eco_status st = nfc_run(u + run, i - run, out);
        if (st != ECO_STATUS_OK) return st;
        if (!eco_buf_push(out, s[i]))
            return eco_error(ECO_STATUS_ENOMEM, "tokenizer: NFC: out of memory");
        run = ++i;
    }
    return nfc_run(u + run, n - run, out);
}
