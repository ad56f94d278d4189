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

/* Below U+0300 (lead bytes < 0xCC, and ASCII) every code point is NFC_Quick_Check=Yes with
 * combining class 0: nothing there decomposes, reorders or composes with what precedes it.
 * Anything else takes the full normalization; the answer is only ever a safe "yes". */
bool tok_nfc_quick(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++)
        if (u[i] >= 0xCC) return false;
    return true;
}

/* NFC of one valid UTF-8 run s[0..n), appended to out. */
static eco_status nfc_run(const unsigned char *s, size_t n, tok_buf *out) {
    if (tok_nfc_quick((const char *)s, n))
        return tok_buf_append(out, s, n) ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "tokenizer: NFC: out of memory");
    utf8proc_uint8_t *dst = NULL;
    utf8proc_ssize_t r = utf8proc_map(s, (utf8proc_ssize_t)n, &dst, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (r < 0) {
        free(dst);
        if (r == UTF8PROC_ERROR_NOMEM) return eco_error(ECO_STATUS_ENOMEM, "tokenizer: NFC: out of memory");
        return eco_error(ECO_STATUS_EINVAL, "tokenizer: NFC of %zu bytes: %s", n, utf8proc_errmsg(r));
    }
    bool ok = tok_buf_append(out, dst, (size_t)r);
    free(dst); /* utf8proc_map's result is malloc'd */
    return ok ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "tokenizer: NFC: out of memory");
}

eco_status tok_nfc(const char *s, size_t n, tok_buf *out) {
    const unsigned char *u = (const unsigned char *)s;
    if (!tok_buf_reserve(out, n)) return eco_error(ECO_STATUS_ENOMEM, "tokenizer: NFC: out of memory");
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
        if (!tok_buf_push(out, s[i])) return eco_error(ECO_STATUS_ENOMEM, "tokenizer: NFC: out of memory");
        run = ++i;
    }
    return nfc_run(u + run, n - run, out);
}
