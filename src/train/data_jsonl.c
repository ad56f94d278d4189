/*
 * data_jsonl: JSONL corpora ({"prompt","completion"} or {"text"} per line), their
 * canonical SHA-256, and their tokenisation with a loss mask. See include/ecology/data.h.
 *
 * The reader is hostile-input code: the file size and every line length are checked
 * before parsing, each line is parsed by jansson with duplicate keys refused, every bad
 * line is collected (not just the first) so one run shows all that is wrong with a file.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ecology/data.h"

/* ---- collecting bad lines ----------------------------------------------------------- */

typedef struct bad_lines {
    const char *label;
    size_t count;
    eco_status first_status;
    char msg[1800];
    size_t msg_len;
} bad_lines;

static void bad_line(bad_lines *b, eco_status st, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void bad_line(bad_lines *b, eco_status st, int64_t line, const char *fmt, ...) {
    if (b->count++ == 0) b->first_status = st;
    if (b->count > ECO_DATA_MAX_REPORTED || b->msg_len + 8 >= sizeof b->msg) return;
    char reason[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    int n = snprintf(b->msg + b->msg_len, sizeof b->msg - b->msg_len, "%s%.120s:%lld: %s",
                     b->msg_len ? "; " : "", b->label, (long long)line, reason);
    if (n > 0)
        b->msg_len +=
            (size_t)n < sizeof b->msg - b->msg_len ? (size_t)n : sizeof b->msg - b->msg_len - 1;
}

/* ---- one record ------------------------------------------------------------------- */

static const char *kind_name(eco_data_kind k) {
    return k == ECO_DATA_KIND_TEXT ? "{\"text\"}" : "{\"prompt\", \"completion\"}";
}

/* Classifies a parsed line. Returns the kind, or -1 after recording why the line is bad. */
static int classify(bad_lines *b, int64_t line, const json_t *o) {
    if (!json_is_object(o)) {
        bad_line(b, ECO_STATUS_EFORMAT, line, "expected a JSON object");
        return -1;
    }
    const json_t *p = json_object_get(o, "prompt"), *c = json_object_get(o, "completion"),
                 *t = json_object_get(o, "text");
    if (t && (p || c)) {
        bad_line(b, ECO_STATUS_EFORMAT, line,
                 "a record holds both \"text\" and \"prompt\"/\"completion\"");
        return -1;
    }
    if (t) {
        if (!json_is_string(t)) {
            bad_line(b, ECO_STATUS_EFORMAT, line, "\"text\": expected a string");
            return -1;
        }
        return ECO_DATA_KIND_TEXT;
    }
    if (!p && !c) {
        bad_line(b, ECO_STATUS_EFORMAT, line,
                 "expected {\"prompt\": ..., \"completion\": ...} or {\"text\": ...}");
        return -1;
    }
    if (!p || !c) {
        bad_line(b, ECO_STATUS_EFORMAT, line, "missing \"%s\"", p ? "completion" : "prompt");
        return -1;
    }
    if (!json_is_string(p) || !json_is_string(c)) {
        bad_line(b, ECO_STATUS_EFORMAT, line, "\"%s\": expected a string",
                 json_is_string(p) ? "completion" : "prompt");
        return -1;
    }
    return ECO_DATA_KIND_PROMPT_COMPLETION;
}

static const char *arena_copy(eco_arena *a, const json_t *s, size_t *len) {
    *len = json_string_length(s);
    return eco_arena_strndup(a, json_string_value(s), *len);
}

void eco_data_corpus_free(eco_data_corpus *c) {
    if (!c) return;
    free(c->records);
    eco_arena_free(&c->arena);
    free(c);
}

eco_status eco_data_corpus_parse(const char *text, size_t len, const char *label,
                                 eco_data_corpus **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "eco_data_corpus_parse: NULL argument");
    *out = NULL;
    if (!text && len) return eco_error(ECO_STATUS_EINVAL, "eco_data_corpus_parse: NULL text");
    if (!label) label = "corpus";
    if (len > ECO_DATA_MAX_FILE)
        return eco_error(ECO_STATUS_ERANGE, "%s: %zu bytes is too large (at most %zu)", label, len,
                         (size_t)ECO_DATA_MAX_FILE);

    eco_data_corpus *c = calloc(1, sizeof *c);
    if (!c) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
    eco_arena_init(&c->arena, 0);
    eco_sha256_ctx *sha = NULL;
    eco_status rc = eco_sha256_begin(&sha);
    if (rc != ECO_STATUS_OK) {
        eco_data_corpus_free(c);
        return rc;
    }
    bad_lines bad = {.label = label};
    size_t cap = 0;
    int kind = -1;
    int64_t kind_line = 0;

    eco_lines it;
    eco_lines_init(&it, text, len, true);
    const char *s;
    size_t n;
    while (eco_lines_next(&it, &s, &n)) {
        int64_t line = it.line;
        if (n > ECO_DATA_MAX_LINE) {
            bad_line(&bad, ECO_STATUS_ERANGE, line, "line of %zu bytes is too long (at most %u)", n,
                     ECO_DATA_MAX_LINE);
            continue;
        }
        if (eco_text_is_blank(s, n)) continue;
        json_error_t err;
        json_t *o = json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
        if (!o) {
            bad_line(&bad, ECO_STATUS_EFORMAT, line, "invalid JSON at column %d: %.100s",
                     err.column, err.text);
            continue;
        }
        int k = classify(&bad, line, o);
        if (k >= 0 && kind >= 0 && k != kind) {
            bad_line(&bad, ECO_STATUS_EFORMAT, line,
                     "a %s record in a %s file (the kind set by line %lld)",
                     kind_name((eco_data_kind)k), kind_name((eco_data_kind)kind),
                     (long long)kind_line);
            k = -1;
        }
        if (k >= 0 && kind < 0) kind = k, kind_line = line;
        if (k < 0 || bad.count > 0) {
            /* Once a line is bad the corpus is refused: keep checking, stop building. */
            json_decref(o);
            continue;
        }
        if (c->n_records == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            eco_data_record *r =
                ncap <= ECO_DATA_MAX_RECORDS ? eco_malloc_array(ncap, sizeof *r) : NULL;
            if (!r) {
                json_decref(o);
                rc = eco_error(ECO_STATUS_ENOMEM,
                               "%s:%lld: out of memory (or more than %zu records)", label,
                               (long long)line, (size_t)ECO_DATA_MAX_RECORDS);
                goto fail;
            }
            if (c->n_records) memcpy(r, c->records, c->n_records * sizeof *r);
            free(c->records);
            c->records = r;
            cap = ncap;
        }
        eco_data_record *r = &c->records[c->n_records];
        memset(r, 0, sizeof *r);
        r->line = line;
        if (k == ECO_DATA_KIND_TEXT) {
            r->text = arena_copy(&c->arena, json_object_get(o, "text"), &r->text_len);
        } else {
            r->prompt = arena_copy(&c->arena, json_object_get(o, "prompt"), &r->prompt_len);
            r->text = arena_copy(&c->arena, json_object_get(o, "completion"), &r->text_len);
        }
        char *canon = NULL;
        size_t canon_len = 0;
        rc = (!r->text || (k != ECO_DATA_KIND_TEXT && !r->prompt))
                 ? eco_error(ECO_STATUS_ENOMEM, "%s:%lld: out of memory", label, (long long)line)
                 : eco_json_canonical(o, &canon, &canon_len);
        json_decref(o);
        if (rc == ECO_STATUS_OK) rc = eco_sha256_update(sha, canon, canon_len);
        if (rc == ECO_STATUS_OK) rc = eco_sha256_update(sha, "\n", 1);
        free(canon);
        if (rc != ECO_STATUS_OK) goto fail;
        c->n_records++;
    }
    if (bad.count > 0) {
        rc = bad.first_status;
        if (bad.count > ECO_DATA_MAX_REPORTED)
            eco_error(rc, "%s: %zu bad lines: %s; and %zu more", label, bad.count, bad.msg,
                      bad.count - ECO_DATA_MAX_REPORTED);
        else
            eco_error(rc, "%s: %zu bad line%s: %s", label, bad.count, bad.count == 1 ? "" : "s",
                      bad.msg);
        goto fail;
    }
    if (c->n_records == 0) {
        rc = eco_error(ECO_STATUS_EFORMAT, "%s: no records (the file is empty or blank)", label);
        goto fail;
    }
    c->kind = (eco_data_kind)kind;
    rc = eco_sha256_end(sha, c->sha256);
    sha = NULL;
    if (rc != ECO_STATUS_OK) goto fail;
    eco_hex(c->sha256_hex, c->sha256, ECO_SHA256_LEN);
    *out = c;
    return ECO_STATUS_OK;
fail:
    if (sha) eco_sha256_abort(sha);
    eco_data_corpus_free(c);
    return rc;
}

eco_status eco_data_corpus_load(const char *path, eco_data_corpus **out) {
    if (!path || !out) return eco_error(ECO_STATUS_EINVAL, "eco_data_corpus_load: NULL argument");
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    eco_status rc = eco_read_file(path, ECO_DATA_MAX_FILE, &text, &len);
    if (rc == ECO_STATUS_OK) rc = eco_data_corpus_parse(text, len, path, out);
    free(text);
    return rc;
}

/* ---- tokenisation ---------------------------------------------------------------- */

void eco_data_tokens_free(eco_data_tokens *t) {
    if (!t) return;
    free(t->offsets);
    free(t->ids);
    free(t->loss);
    free(t);
}

/* Makes room for `more` tokens. */
static bool reserve(eco_data_tokens *t, size_t *cap, size_t more) {
    size_t need;
    if (!eco_add_ok(t->n_tokens, more, &need)) return false;
    if (need <= *cap) return true;
    size_t ncap = *cap ? *cap : 4096;
    while (ncap < need)
        if (!eco_mul_ok(ncap, 2, &ncap)) return false;
    int32_t *ids = eco_malloc_array(ncap, sizeof *ids);
    uint8_t *loss = malloc(ncap);
    if (!ids || !loss) {
        free(ids);
        free(loss);
        return false;
    }
    if (t->n_tokens) {
        memcpy(ids, t->ids, t->n_tokens * sizeof *ids);
        memcpy(loss, t->loss, t->n_tokens);
    }
    free(t->ids);
    free(t->loss);
    t->ids = ids;
    t->loss = loss;
    *cap = ncap;
    return true;
}

static void append(eco_data_tokens *t, const int32_t *ids, size_t n, uint8_t loss) {
    if (n == 0) return; /* ids may be NULL */
    memcpy(t->ids + t->n_tokens, ids, n * sizeof *ids);
    memset(t->loss + t->n_tokens, loss, n);
    t->n_tokens += n;
}

eco_status eco_data_tokenize(const eco_data_corpus *corpus, const eco_tokenizer *tok,
                             int32_t eos_id, eco_data_tokens **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "eco_data_tokenize: NULL argument");
    *out = NULL;
    if (!corpus || !tok) return eco_error(ECO_STATUS_EINVAL, "eco_data_tokenize: NULL argument");
    if (eos_id < 0 || eos_id >= eco_tokenizer_vocab_size(tok))
        return eco_error(ECO_STATUS_EINVAL,
                         "eco_data_tokenize: eos id %d is outside the vocabulary (%lld)",
                         (int)eos_id, (long long)eco_tokenizer_vocab_size(tok));
    eco_data_tokens *t = calloc(1, sizeof *t);
    if (!t) return eco_error(ECO_STATUS_ENOMEM, "eco_data_tokenize: out of memory");
    t->kind = corpus->kind;
    t->n_examples = corpus->n_records;
    t->offsets = eco_malloc_array(corpus->n_records + 1, sizeof *t->offsets);
    size_t cap = 0;
    eco_status rc = ECO_STATUS_OK;
    if (!t->offsets) {
        rc = eco_error(ECO_STATUS_ENOMEM, "eco_data_tokenize: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < corpus->n_records; i++) {
        const eco_data_record *r = &corpus->records[i];
        int32_t *p_ids = NULL, *c_ids = NULL;
        size_t np = 0, nc = 0;
        bool pc = r->prompt != NULL;
        rc = pc ? eco_tokenizer_encode(tok, r->prompt, r->prompt_len, true, &p_ids, &np)
                : ECO_STATUS_OK;
        if (rc == ECO_STATUS_OK)
            rc = eco_tokenizer_encode(tok, r->text, r->text_len, !pc, &c_ids, &nc);
        if (rc != ECO_STATUS_OK) {
            free(p_ids);
            free(c_ids);
            rc = eco_error_wrap(rc, "record at line %lld", (long long)r->line);
            goto fail;
        }
        size_t more = np + nc + 1;
        if (!reserve(t, &cap, more)) {
            free(p_ids);
            free(c_ids);
            rc = eco_error(ECO_STATUS_ENOMEM, "eco_data_tokenize: out of memory at line %lld",
                           (long long)r->line);
            goto fail;
        }
        size_t start = t->n_tokens;
        t->offsets[i] = start;
        append(t, p_ids, np, 0);
        append(t, c_ids, nc, 1);
        append(t, &eos_id, 1, 1);
        /* The first token of an example has nothing of its own document before it. */
        t->loss[start] = 0;
        free(p_ids);
        free(c_ids);
    }
    t->offsets[corpus->n_records] = t->n_tokens;
    for (size_t j = 0; j < t->n_tokens; j++) t->n_targets += t->loss[j];
    *out = t;
    return ECO_STATUS_OK;
fail:
    eco_data_tokens_free(t);
    return rc;
}
