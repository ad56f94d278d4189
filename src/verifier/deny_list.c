/* The deny list of ecology/verifier.h: normalised terms searched in a normalised text, each
 * word-character end of a term on a word boundary. */
#define _GNU_SOURCE /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/verifier.h"
#include "verifier/verifier_internal.h"

struct eco_deny_list {
    size_t n;
    char **terms; /* normalised, trimmed of spaces */
    size_t *lens;
};

void eco_deny_list_free(eco_deny_list *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) free(d->terms[i]);
    free(d->terms);
    free(d->lens);
    free(d);
}

eco_status eco_deny_list_new(const char *const *terms, size_t n, eco_deny_list **out) {
    if (!out || (!terms && n)) return eco_error(ECO_STATUS_EINVAL, "deny_list: bad arguments");
    *out = NULL;
    eco_deny_list *d = calloc(1, sizeof *d);
    if (!d || !(d->terms = calloc(n ? n : 1, sizeof *d->terms)) ||
        !(d->lens = calloc(n ? n : 1, sizeof *d->lens))) {
        eco_deny_list_free(d);
        return eco_error(ECO_STATUS_ENOMEM, "deny_list: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (!terms[i]) {
            eco_deny_list_free(d);
            return eco_error(ECO_STATUS_EINVAL, "deny list: term %zu: NULL", i);
        }
        char *t;
        size_t tl;
        eco_status st = eco_verifier_normalize(terms[i], strlen(terms[i]), &t, &tl);
        if (st != ECO_STATUS_OK) {
            eco_deny_list_free(d);
            return st;
        }
        d->terms[i] = t;
        d->n = i + 1;
        size_t a = 0;
        while (a < tl && t[a] == ' ') a++;
        while (tl > a && t[tl - 1] == ' ') tl--;
        if (tl == a) {
            eco_deny_list_free(d);
            return eco_error(ECO_STATUS_EINVAL,
                             "deny list: term %zu: empty after normalisation (only white space "
                             "or ignorable characters)",
                             i);
        }
        memmove(t, t + a, tl - a);
        t[tl - a] = 0;
        d->lens[i] = tl - a;
    }
    *out = d;
    return ECO_STATUS_OK;
}

eco_status eco_deny_term_check(const char *term) {
    if (!term) return eco_error(ECO_STATUS_EINVAL, "deny term: NULL");
    eco_deny_list *d = NULL;
    eco_status st = eco_deny_list_new(&term, 1, &d);
    eco_deny_list_free(d);
    if (st == ECO_STATUS_EINVAL) /* the one message for a term of one line */
        return eco_error(st, "deny term: empty after normalisation (only white space or "
                             "ignorable characters)");
    return st;
}

/* The first place at or after `from` where term t (tl bytes) occurs in s on its boundaries,
 * or SIZE_MAX. */
static size_t find_term(const char *s, size_t n, const char *t, size_t tl, size_t from) {
    bool word_start = vf_is_word(vf_cp_at(t, tl, 0));
    bool word_end = vf_is_word(vf_cp_before(t, tl, tl));
    while (from + tl <= n) {
        const char *p = memmem(s + from, n - from, t, tl);
        if (!p) return SIZE_MAX;
        size_t at = (size_t)(p - s);
        if ((!word_start || !vf_is_word(vf_cp_before(s, n, at))) &&
            (!word_end || !vf_is_word(vf_cp_at(s, n, at + tl))))
            return at;
        from = at + 1;
    }
    return SIZE_MAX;
}

eco_status eco_deny_list_find(const eco_deny_list *d, const char *text, size_t len, long *hit) {
    if (!d || !hit || (!text && len))
        return eco_error(ECO_STATUS_EINVAL, "deny_list: bad arguments");
    *hit = -1;
    if (d->n == 0) return ECO_STATUS_OK;
    char *s;
    size_t n;
    eco_status st = eco_verifier_normalize(text, len, &s, &n);
    if (st != ECO_STATUS_OK) return st;
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < d->n; i++) {
        size_t at = find_term(s, n, d->terms[i], d->lens[i], 0);
        if (at < best) {
            best = at;
            *hit = (long)i;
        }
    }
    free(s);
    return ECO_STATUS_OK;
}
