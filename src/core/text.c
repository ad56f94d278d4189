/* Lines of text and the blank and answer-span rules (ecology/core.h): the one line splitter
 * of the JSONL readers, so every reader numbers lines and skips blank ones alike. */
#include "ecology/core.h"

#include <string.h>

static bool blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

void eco_lines_init(eco_lines *it, const char *text, size_t len, bool skip_bom) {
    it->text = text;
    it->len = text ? len : 0;
    it->pos = 0;
    it->line = 0;
    if (skip_bom && it->len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) it->pos = 3;
}

bool eco_lines_next(eco_lines *it, const char **s, size_t *n) {
    if (it->pos >= it->len) return false;
    const char *p = it->text + it->pos;
    const char *nl = memchr(p, '\n', it->len - it->pos);
    size_t k = nl ? (size_t)(nl - p) : it->len - it->pos;
    it->pos += k + (nl ? 1 : 0);
    it->line++;
    *s = p;
    *n = k;
    return true;
}

bool eco_text_is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!blank(s[i])) return false;
    return true;
}

void eco_text_answer_span(const char *s, size_t len, size_t *start, size_t *alen) {
    size_t end = 0;
    while (end < len && s[end] != '\n') end++;
    size_t b = 0;
    while (b < end && blank(s[b])) b++;
    while (end > b && blank(s[end - 1])) end--;
    *start = b;
    *alen = end - b;
}
