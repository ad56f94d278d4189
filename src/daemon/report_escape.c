/* report: escaping text for HTML/SVG and for DOT quoted strings (report.h). Both walk the
 * text as UTF-8 (core's decoder), so an invalid byte becomes U+FFFD instead of breaking the
 * page's encoding, and drop control bytes (XML 1.0 has no place for them). */
#include <string.h>

#include "ecology/report.h"

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

/* Appends s, each code point passed to map: it returns the replacement text (NULL: the
 * code point as it is, "" to drop it). */
static bool escape_with(eco_buf *b, const char *s, const char *(*map)(uint32_t cp)) {
    if (!s) return true;
    size_t n = strlen(s), i = 0;
    while (i < n) {
        uint32_t cp = 0;
        size_t l = eco_utf8_decode(s + i, n - i, &cp);
        if (l == 0) {
            if (!eco_buf_puts(b, REPLACEMENT)) return false;
            i++;
            continue;
        }
        const char *rep = map(cp);
        if (!(rep ? eco_buf_puts(b, rep) : eco_buf_append(b, s + i, l))) return false;
        i += l;
    }
    return true;
}

static const char *html_map(uint32_t cp) {
    switch (cp) {
        case '&':
            return "&amp;";
        case '<':
            return "&lt;";
        case '>':
            return "&gt;";
        case '"':
            return "&quot;";
        case '\'':
            return "&#39;";
        case '\t':
        case '\n':
            return NULL;
        default:
            return (cp < 0x20 || cp == 0x7f || cp == 0xfffe || cp == 0xffff) ? "" : NULL;
    }
}

static const char *dot_map(uint32_t cp) {
    switch (cp) {
        case '"':
            return "\\\"";
        case '\\':
            return "\\\\";
        case '\n':
            return "\\n";
        default:
            return (cp < 0x20 || cp == 0x7f) ? "" : NULL;
    }
}

bool eco_report_html_escape(eco_buf *b, const char *s) { return escape_with(b, s, html_map); }

bool eco_report_dot_escape(eco_buf *b, const char *s) { return escape_with(b, s, dot_map); }
