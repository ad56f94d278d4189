/*
 * corpus_parse: an evaluation corpus file, line by line (eval_corpus.h has the format).
 * Hostile-input code: the file and every line are size-checked before parsing, each line
 * is parsed by jansson with duplicate keys refused, and every bad line is checked (the
 * first ECO_EVAL_MAX_REPORTED named in the message) so one run shows what is wrong.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaluator/corpus_internal.h"

/* ---- collecting bad lines ------------------------------------------------------------ */

typedef struct bad_lines {
    size_t count;
    eco_status first_status;
    eco_buf msg;
    bool oom;
} bad_lines;

/* Records a bad line; the message already names the file and the line. */
static void bad_line(bad_lines *b, eco_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void bad_line(bad_lines *b, eco_status st, const char *fmt, ...) {
    if (b->count++ == 0) b->first_status = st;
    if (b->count > ECO_EVAL_MAX_REPORTED) return;
    char what[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (!eco_buf_printf(&b->msg, "%s%s", b->msg.len ? "; " : "", what)) b->oom = true;
}

/* ---- the corpus ------------------------------------------------------------------------ */

void eco_eval_corpus_free(eco_eval_corpus *c) {
    if (!c) return;
    corpus_mem *m = c->mem;
    if (m) {
        eco_arena_free(&m->arena);
        free(m->by_hash);
        free(m);
    }
    free(c->cases);
    free(c->label);
    free(c);
}

/* Sort keys: a case hash or an id with the case's line and index (no global state). */
typedef struct hkey {
    const uint8_t *hash;
    int64_t line;
    size_t index;
} hkey;
typedef struct ikey {
    const char *id;
    int64_t line;
} ikey;

static int cmp_hkey(const void *a, const void *b) {
    const hkey *x = a, *y = b;
    int d = memcmp(x->hash, y->hash, ECO_SHA256_LEN);
    if (d) return d;
    return x->line < y->line ? -1 : x->line > y->line ? 1 : 0;
}

static int cmp_ikey(const void *a, const void *b) {
    const ikey *x = a, *y = b;
    int d = strcmp(x->id, y->id);
    if (d) return d;
    return x->line < y->line ? -1 : x->line > y->line ? 1 : 0;
}

/* Indexes the cases by hash (into m->by_hash) and refuses repeated case hashes and ids. */
static eco_status index_cases(eco_eval_corpus *c, corpus_mem *m, bad_lines *bad) {
    size_t n = c->n_cases, n_ids = 0;
    m->by_hash = eco_malloc_array(n ? n : 1, sizeof *m->by_hash);
    hkey *h = eco_malloc_array(n ? n : 1, sizeof *h);
    ikey *ids = eco_malloc_array(n ? n : 1, sizeof *ids);
    if (!m->by_hash || !h || !ids) {
        free(h);
        free(ids);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", c->label);
    }
    for (size_t i = 0; i < n; i++) {
        const eco_eval_case *k = &c->cases[i];
        h[i] = (hkey){k->hash, k->line, i};
        if (k->id) ids[n_ids++] = (ikey){k->id, k->line};
    }
    qsort(h, n, sizeof *h, cmp_hkey);
    qsort(ids, n_ids, sizeof *ids, cmp_ikey);
    for (size_t i = 0; i < n; i++) {
        m->by_hash[i] = h[i].index;
        if (i > 0 && memcmp(h[i - 1].hash, h[i].hash, ECO_SHA256_LEN) == 0)
            bad_line(bad, ECO_STATUS_EFORMAT,
                     "%.200s:%lld: the same case as line %lld (case hash %.16s...)", c->label,
                     (long long)h[i].line, (long long)h[i - 1].line, c->cases[h[i].index].hash_hex);
    }
    for (size_t i = 1; i < n_ids; i++)
        if (strcmp(ids[i - 1].id, ids[i].id) == 0)
            bad_line(bad, ECO_STATUS_EFORMAT,
                     "%.200s:%lld: id: '%s' is already the id of line %lld", c->label,
                     (long long)ids[i].line, ids[i].id, (long long)ids[i - 1].line);
    free(h);
    free(ids);
    return ECO_STATUS_OK;
}

eco_status eco_eval_corpus_parse(const char *text, size_t len, const char *label,
                                 eco_eval_corpus **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "eco_eval_corpus_parse: NULL argument");
    *out = NULL;
    if (!text && len) return eco_error(ECO_STATUS_EINVAL, "eco_eval_corpus_parse: NULL text");
    if (!label) label = "corpus";
    if (len > ECO_EVAL_MAX_FILE)
        return eco_error(ECO_STATUS_ERANGE, "%s: %zu bytes is too large (at most %zu)", label, len,
                         ECO_EVAL_MAX_FILE);
    eco_eval_corpus *c = calloc(1, sizeof *c);
    corpus_mem *m = calloc(1, sizeof *m);
    if (c) c->mem = m;
    if (!c || !m || !(c->label = eco_strdup(label))) {
        if (!c) free(m);
        eco_eval_corpus_free(c);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
    }
    eco_arena_init(&m->arena, 0);
    eco_status rc = eco_sha256(text ? text : "", len, c->sha256);
    if (rc) goto fail;
    eco_hex(c->sha256_hex, c->sha256, ECO_SHA256_LEN);

    bad_lines bad = {0};
    size_t cap = 0;
    eco_lines it;
    eco_lines_init(&it, text, len, true);
    const char *s;
    size_t n;
    while (eco_lines_next(&it, &s, &n)) {
        int64_t line = it.line;
        if (n > ECO_EVAL_MAX_LINE) {
            bad_line(&bad, ECO_STATUS_ERANGE,
                     "%.200s:%lld: line of %zu bytes is too long (at most %zu)", label,
                     (long long)line, n, ECO_EVAL_MAX_LINE);
            continue;
        }
        if (eco_text_is_blank(s, n)) continue;
        json_error_t err;
        json_t *o = json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
        if (!o) {
            bad_line(&bad, ECO_STATUS_EFORMAT, "%.200s:%lld: invalid JSON at column %d: %.100s",
                     label, (long long)line, err.column, err.text);
            continue;
        }
        if (c->n_cases == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            if (ncap > ECO_EVAL_MAX_CASES) ncap = ECO_EVAL_MAX_CASES;
            if (c->n_cases == ECO_EVAL_MAX_CASES) {
                json_decref(o);
                rc = eco_error(ECO_STATUS_ERANGE, "%s:%lld: more than %d cases", label,
                               (long long)line, ECO_EVAL_MAX_CASES);
                goto fail_bad;
            }
            eco_eval_case *nc = eco_malloc_array(ncap, sizeof *nc);
            if (!nc) {
                json_decref(o);
                rc = eco_error(ECO_STATUS_ENOMEM, "%s:%lld: out of memory", label, (long long)line);
                goto fail_bad;
            }
            if (c->n_cases) memcpy(nc, c->cases, c->n_cases * sizeof *nc);
            free(c->cases);
            c->cases = nc;
            cap = ncap;
        }
        char where[300];
        snprintf(where, sizeof where, "%.200s:%lld", label, (long long)line);
        eco_jr r = eco_jr_root(where, o);
        eco_eval_case *k = &c->cases[c->n_cases];
        memset(k, 0, sizeof *k);
        k->line = line;
        eco_status st = corpus_case_read(&r, &m->arena, k);
        json_decref(o);
        if (st == ECO_STATUS_ENOMEM) {
            rc = st;
            goto fail_bad;
        }
        if (st) {
            bad_line(&bad, st, "%s", eco_last_error());
            continue;
        }
        c->n_cases++;
    }
    if (bad.count == 0 && c->n_cases == 0) {
        rc = eco_error(ECO_STATUS_EFORMAT, "%s: no cases (the file is empty or blank)", label);
        goto fail_bad;
    }
    if ((rc = index_cases(c, m, &bad))) goto fail_bad;
    if (bad.count > 0 || bad.oom) {
        rc = bad.oom ? ECO_STATUS_ENOMEM : bad.first_status;
        if (bad.count > ECO_EVAL_MAX_REPORTED)
            eco_error(rc, "%s: %zu bad lines: %s; and %zu more", label, bad.count,
                      bad.msg.data ? bad.msg.data : "", bad.count - ECO_EVAL_MAX_REPORTED);
        else
            eco_error(rc, "%s", bad.msg.data ? bad.msg.data : "out of memory");
        goto fail_bad;
    }
    eco_buf_free(&bad.msg);
    *out = c;
    return ECO_STATUS_OK;
fail_bad:
    eco_buf_free(&bad.msg);
fail:
    eco_eval_corpus_free(c);
    return rc;
}

eco_status eco_eval_corpus_load(const char *path, eco_eval_corpus **out) {
    if (!path || !out) return eco_error(ECO_STATUS_EINVAL, "eco_eval_corpus_load: NULL argument");
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    eco_status rc = eco_read_file(path, ECO_EVAL_MAX_FILE, &text, &len);
    if (rc == ECO_STATUS_OK) rc = eco_eval_corpus_parse(text, len, path, out);
    free(text);
    return rc;
}

const eco_eval_case *eco_eval_corpus_find_hash(const eco_eval_corpus *c,
                                               const uint8_t hash[ECO_SHA256_LEN]) {
    if (!c || !hash || !c->mem) return NULL;
    const size_t *idx = ((const corpus_mem *)c->mem)->by_hash;
    size_t lo = 0, hi = c->n_cases;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = memcmp(c->cases[idx[mid]].hash, hash, ECO_SHA256_LEN);
        if (d == 0) return &c->cases[idx[mid]];
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
