/* The growable buffer (ecology/core.h). */
#include "ecology/core.h"

#include <stdlib.h>
#include <string.h>

bool eco_buf_reserve(eco_buf *b, size_t extra) {
    size_t need;
    if (!eco_add_ok(b->len, extra, &need) || !eco_add_ok(need, 1, &need)) return false;
    if (need <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        if (!eco_mul_ok(cap, 2, &cap)) return false;
    char *p = realloc(b->data, cap);
    if (!p) return false;
    b->data = p;
    b->cap = cap;
    return true;
}

bool eco_buf_append(eco_buf *b, const void *data, size_t n) {
    if (!eco_buf_reserve(b, n)) return false;
    if (n) memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

bool eco_buf_push(eco_buf *b, char c) { return eco_buf_append(b, &c, 1); }

bool eco_buf_puts(eco_buf *b, const char *s) { return eco_buf_append(b, s, strlen(s)); }

bool eco_buf_printf(eco_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !eco_buf_reserve(b, (size_t)n)) return false;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

void eco_buf_reset(eco_buf *b) {
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void eco_buf_free(eco_buf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
