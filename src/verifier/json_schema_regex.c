/* The regular expressions of the schema validator (json_schema_internal.h): ECMA-262
 * patterns compiled by PCRE2, after rewriting ECMA's long Unicode property names. */
#include <stdio.h>
#include <string.h>

#include "verifier/json_schema_internal.h"

/* ECMA-262's long General_Category names (\p{Letter}) that PCRE2 knows only by their
 * short names (\p{L}). */
/* clang-format off */
static const char *const GC_NAMES[][2] = {
    {"Letter", "L"}, {"Cased_Letter", "L&"}, {"Uppercase_Letter", "Lu"},
    {"Lowercase_Letter", "Ll"}, {"Titlecase_Letter", "Lt"}, {"Modifier_Letter", "Lm"},
    {"Other_Letter", "Lo"}, {"Mark", "M"}, {"Combining_Mark", "M"}, {"Nonspacing_Mark", "Mn"},
    {"Spacing_Mark", "Mc"}, {"Enclosing_Mark", "Me"}, {"Number", "N"}, {"Decimal_Number", "Nd"},
    {"digit", "Nd"}, {"Letter_Number", "Nl"}, {"Other_Number", "No"}, {"Punctuation", "P"},
    {"punct", "P"}, {"Connector_Punctuation", "Pc"}, {"Dash_Punctuation", "Pd"},
    {"Open_Punctuation", "Ps"}, {"Close_Punctuation", "Pe"}, {"Initial_Punctuation", "Pi"},
    {"Final_Punctuation", "Pf"}, {"Other_Punctuation", "Po"}, {"Symbol", "S"},
    {"Math_Symbol", "Sm"}, {"Currency_Symbol", "Sc"}, {"Modifier_Symbol", "Sk"},
    {"Other_Symbol", "So"}, {"Separator", "Z"}, {"Space_Separator", "Zs"},
    {"Line_Separator", "Zl"}, {"Paragraph_Separator", "Zp"}, {"Other", "C"}, {"Control", "Cc"},
    {"cntrl", "Cc"}, {"Format", "Cf"}, {"Surrogate", "Cs"}, {"Private_Use", "Co"},
    {"Unassigned", "Cn"},
};
/* clang-format on */

/* re with every \p{Long_Name} / \p{General_Category=...} / \p{gc=...} turned into PCRE2's
 * short form, and \p{Script=X} / \p{sc=X} into \p{sc:X} (scx likewise); the rest
 * unchanged. false when out of memory. */
static bool ecma_properties(const char *re, size_t len, eco_buf *b) {
    bool ok = eco_buf_reserve(b, len);
    for (size_t i = 0; ok && i < len; i++) {
        if (re[i] != '\\' || i + 1 >= len) {
            ok = eco_buf_push(b, re[i]);
            continue;
        }
        const char *close = NULL;
        if ((re[i + 1] == 'p' || re[i + 1] == 'P') && i + 2 < len && re[i + 2] == '{')
            close = memchr(re + i + 3, '}', len - i - 3);
        if (!close) { /* an escape pair, copied as it is */
            ok = eco_buf_push(b, re[i]) && eco_buf_push(b, re[i + 1]);
            i++;
            continue;
        }
        const char *name = re + i + 3;
        size_t nl = (size_t)(close - name);
        const char *eq = memchr(name, '=', nl);
        const char *prefix = "";
        if (eq) {
            size_t kl = (size_t)(eq - name);
            bool gc = (kl == 16 && memcmp(name, "General_Category", 16) == 0) ||
                      (kl == 2 && memcmp(name, "gc", 2) == 0);
            bool sc = (kl == 6 && memcmp(name, "Script", 6) == 0) ||
                      (kl == 2 && memcmp(name, "sc", 2) == 0);
            bool scx = (kl == 17 && memcmp(name, "Script_Extensions", 17) == 0) ||
                       (kl == 3 && memcmp(name, "scx", 3) == 0);
            if (gc || sc || scx) {
                prefix = sc ? "sc:" : scx ? "scx:" : "";
                nl -= kl + 1;
                name = eq + 1;
            }
        }
        const char *shortname = NULL;
        for (size_t g = 0; !*prefix && g < sizeof GC_NAMES / sizeof *GC_NAMES; g++)
            if (strlen(GC_NAMES[g][0]) == nl && memcmp(GC_NAMES[g][0], name, nl) == 0)
                shortname = GC_NAMES[g][1];
        ok = eco_buf_push(b, '\\') && eco_buf_push(b, re[i + 1]) && eco_buf_push(b, '{') &&
             eco_buf_puts(b, prefix) &&
             (shortname ? eco_buf_puts(b, shortname) : eco_buf_append(b, name, nl)) &&
             eco_buf_push(b, '}');
        i = (size_t)(close - re);
    }
    return ok;
}

int js_regex_compile(const char *re, size_t len, pcre2_code **out, char *why, size_t why_size,
                     size_t *offset) {
    int code;
    PCRE2_SIZE off;
    eco_buf b = {0};
    *out = NULL;
    if (!ecma_properties(re, len, &b)) {
        eco_buf_free(&b);
        return -1;
    }
    *out = pcre2_compile((PCRE2_SPTR)(b.data ? b.data : ""), b.len,
                         PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_DOLLAR_ENDONLY, &code, &off, NULL);
    eco_buf_free(&b);
    if (*out) return 0;
    if (code == PCRE2_ERROR_NOMEMORY) return -1;
    if (pcre2_get_error_message(code, (PCRE2_UCHAR *)why, why_size) < 0)
        snprintf(why, why_size, "error %d", code);
    *offset = (size_t)off;
    return 1;
}
