/*
 * libFuzzer target: the verifier's text checks (ecology/verifier.h) over arbitrary bytes.
 * The first line holds deny-list terms separated by '|', the rest is the text checked.
 * Normalising must succeed and be idempotent; refusal detection and the deny-list search
 * must succeed; a hit must name a term of the list.
 */
#include <stdlib.h>
#include <string.h>

#include "ecology/verifier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *in = (const char *)data;
    const char *nl = memchr(in, '\n', size);
    size_t terms_len = nl ? (size_t)(nl - in) : 0;
    const char *text = nl ? nl + 1 : in;
    size_t text_len = size - (size_t)(text - in);
    char *terms_buf = malloc(terms_len + 1);
    const char *terms[16];
    size_t n = 0;
    if (!terms_buf) return 0;
    memcpy(terms_buf, in, terms_len);
    terms_buf[terms_len] = 0;
    for (char *t = terms_buf, *end; n < 16 && terms_len > 0; t = end + 1) {
        end = strchr(t, '|');
        if (end) *end = 0;
        terms[n++] = t;
        if (!end) break;
    }
    char *a, *b;
    size_t al, bl;
    if (eco_verifier_normalize(text, text_len, &a, &al) != ECO_STATUS_OK) __builtin_trap();
    if (eco_verifier_normalize(a, al, &b, &bl) != ECO_STATUS_OK) __builtin_trap();
    if (al != bl || memcmp(a, b, al) != 0) __builtin_trap(); /* idempotent */
    free(a);
    free(b);
    bool refused;
    if (eco_refusal_detect(text, text_len, &refused) != ECO_STATUS_OK) __builtin_trap();
    eco_deny_list *d = NULL;
    if (eco_deny_list_new(terms, n, &d) == ECO_STATUS_OK) {
        long hit = -2;
        if (eco_deny_list_find(d, text, text_len, &hit) != ECO_STATUS_OK) __builtin_trap();
        if (hit < -1 || hit >= (long)n) __builtin_trap();
        eco_deny_list_free(d);
    } else if (d) {
        __builtin_trap();
    }
    free(terms_buf);
    return 0;
}
