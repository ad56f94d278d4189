/*
 * contamination: the no-train rule for hidden corpora (eval_contamination.h). For each
 * training corpus of the lineage: its identity against the hidden corpus's, then its file
 * from the artifact store read into the SHA-256s of its prompts (and texts) and the n-gram
 * set of all its strings, then every hidden case's prompt hash looked up and the n-gram
 * containment rule of eval_corpus.h applied.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/eval_contamination.h"

/* Largest training file read (data.h's ECO_DATA_MAX_FILE; the evaluator does not depend on
 * the trainer). */
#define TRAIN_MAX_FILE ((size_t)2 << 30)

typedef struct prompt_hash {
    uint8_t sha[ECO_SHA256_LEN];
    int64_t line;
} prompt_hash;

typedef struct train_index {
    prompt_hash *h; /* sorted by sha */
    size_t n, cap;
    eco_ngram_set *ngrams;
    eco_ngram_set *by_words[ECO_NGRAM_N]; /* [w]: w-grams, for the hidden prompts of w words */
    int64_t bad_line;                     /* the first line that is not a record (0: none) */
} train_index;

static int cmp_hash(const void *a, const void *b) {
    return memcmp(((const prompt_hash *)a)->sha, ((const prompt_hash *)b)->sha, ECO_SHA256_LEN);
}

static eco_status add_hash(train_index *t, const char *s, size_t len, int64_t line) {
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 256;
        prompt_hash *nh = realloc(t->h, ncap * sizeof *nh);
        if (!nh) return eco_error(ECO_STATUS_ENOMEM, "contamination: out of memory");
        t->h = nh;
        t->cap = ncap;
    }
    eco_sha256(s, len, t->h[t->n].sha);
    t->h[t->n++].line = line;
    return ECO_STATUS_OK;
}

/* One record's strings: prompt and text hashed, every string's n-grams added. A line that
 * is not a record (not JSON, not an object, or with neither a string "prompt" nor a string
 * "text") is noted in t->bad_line: its content cannot be checked. */
static eco_status index_line(train_index *t, const char *line, size_t len, int64_t lineno,
                             const char *label) {
    json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
    eco_status st = ECO_STATUS_OK;
    if (!json_is_object(j) || (!json_is_string(json_object_get(j, "prompt")) &&
                               !json_is_string(json_object_get(j, "text")))) {
        if (!t->bad_line) t->bad_line = lineno;
    } else {
        static const char *const keys[] = {"prompt", "completion", "text"};
        for (size_t k = 0; k < 3 && !st; k++) {
            const json_t *v = json_object_get(j, keys[k]);
            if (!json_is_string(v)) continue;
            const char *s = json_string_value(v);
            size_t n = json_string_length(v);
            if (k != 1) st = add_hash(t, s, n, lineno);
            if (!st) st = eco_ngram_set_add(t->ngrams, s, n);
            for (size_t w = 1; w < ECO_NGRAM_N && !st; w++)
                if (t->by_words[w]) st = eco_ngram_set_add(t->by_words[w], s, n);
            if (st) st = eco_error_wrap(st, "%s:%lld: %s", label, (long long)lineno, keys[k]);
        }
    }
    json_decref(j);
    return st;
}

/* Indexes the training file at path; the w-gram sets are made for each w (1..n-1) that some
 * prompt of `hidden` has. */
static eco_status index_file(const char *path, const char *label, const eco_eval_corpus *hidden,
                             train_index *t) {
    char *data = NULL;
    size_t len = 0;
    eco_status st = eco_read_file(path, TRAIN_MAX_FILE, &data, &len);
    if (st) return st;
    if ((st = eco_ngram_set_new(ECO_NGRAM_N, &t->ngrams))) goto out;
    for (size_t i = 0; i < hidden->n_cases && !st; i++) {
        size_t w = eco_ngram_word_count(hidden->cases[i].prompt, hidden->cases[i].prompt_len);
        if (w && w < ECO_NGRAM_N && !t->by_words[w])
            st = eco_ngram_set_new((unsigned)w, &t->by_words[w]);
    }
    if (st) goto out;
    eco_lines it;
    eco_lines_init(&it, data, len, true); /* a BOM skipped, as data.h's reader does */
    const char *s;
    size_t n;
    while (!st && eco_lines_next(&it, &s, &n)) {
        size_t b = 0;
        while (b < n && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r')) b++;
        if (b < n) st = index_line(t, s + b, n - b, it.line, label);
    }
    if (!st && t->n) qsort(t->h, t->n, sizeof *t->h, cmp_hash);
out:
    free(data);
    return st;
}

static void case_label(const eco_eval_case *c, char *buf, size_t size) {
    if (c->id)
        snprintf(buf, size, "line %lld (id %s)", (long long)c->line, c->id);
    else
        snprintf(buf, size, "line %lld", (long long)c->line);
}

eco_status eco_eval_corpus_is_hidden(eco_registry *r, const char *sha256, bool *hidden) {
    *hidden = false;
    eco_corpus_info info = {0};
    eco_status st = eco_registry_corpus_get(r, sha256, &info);
    if (st == ECO_STATUS_ENOTFOUND) return ECO_STATUS_OK;
    if (st) return st;
    *hidden = info.kind == ECO_CORPUS_EVAL && info.hidden;
    eco_corpus_info_free(&info);
    return ECO_STATUS_OK;
}

void eco_eval_corpora_free(eco_eval_corpus **v, size_t n) {
    for (size_t i = 0; v && i < n; i++) eco_eval_corpus_free(v[i]);
    free(v);
}

/* Whether c and h share a case hash. */
static bool shares_case(const eco_eval_corpus *c, const eco_eval_corpus *h) {
    for (size_t i = 0; i < c->n_cases; i++)
        if (eco_eval_corpus_find_hash(h, c->cases[i].hash)) return true;
    return false;
}

eco_status eco_eval_hidden_corpora(eco_registry *r, const eco_eval_corpus *c,
                                   eco_eval_corpus ***out, size_t *n) {
    if (!r || !c || !out || !n)
        return eco_error(ECO_STATUS_EINVAL, "hidden corpora: NULL argument");
    *out = NULL;
    *n = 0;
    eco_corpus_info *list = NULL;
    size_t nl = 0;
    eco_status st = eco_registry_corpus_list(r, &list, &nl);
    eco_eval_corpus **v = NULL;
    size_t nv = 0;
    for (size_t i = 0; i < nl && !st; i++) {
        if (list[i].kind != ECO_CORPUS_EVAL || !list[i].hidden) continue;
        char *path = NULL;
        bool present = false;
        eco_eval_corpus *h = NULL;
        st = eco_registry_corpus_path(r, &list[i], &path, &present);
        if (!st && !present)
            st = eco_error(ECO_STATUS_EIO,
                           "hidden corpus %s: its file is not in the store (ecology registry "
                           "check): cannot tell whether the evaluated corpus shares its cases",
                           list[i].sha256);
        if (!st) st = eco_eval_corpus_load(path, &h);
        free(path);
        if (!st && (strcmp(list[i].sha256, c->sha256_hex) == 0 || shares_case(c, h))) {
            eco_eval_corpus **nvv = realloc(v, (nv + 1) * sizeof *v);
            if (!nvv)
                st = eco_error(ECO_STATUS_ENOMEM, "hidden corpora: out of memory");
            else {
                v = nvv;
                v[nv++] = h;
                h = NULL;
            }
        }
        eco_eval_corpus_free(h);
    }
    eco_corpus_infos_free(list, nl);
    if (st) {
        eco_eval_corpora_free(v, nv);
        return st;
    }
    *out = v;
    *n = nv;
    return ECO_STATUS_OK;
}

/* One training corpus against the hidden corpus. hname: how failures name the hidden
 * corpus. */
static eco_status check_one(eco_registry *r, const eco_lineage_corpus *lc,
                            const eco_eval_corpus *hidden, const char *hname,
                            eco_artifact_failures *out) {
    if (strcmp(lc->sha256, hidden->sha256_hex) == 0)
        return eco_artifact_failures_add(out, "no-train.hidden",
                                         "training corpus %s (lineage of '%s') is the hidden "
                                         "corpus %s",
                                         lc->sha256, lc->model_id, hname);
    eco_corpus_info info = {0};
    eco_status st = eco_registry_corpus_get(r, lc->sha256, &info);
    if (st == ECO_STATUS_ENOTFOUND)
        return eco_artifact_failures_add(out, "no-train.unknown",
                                         "training corpus %s (lineage of '%s') is not recorded "
                                         "(ecology corpus add): it cannot be shown clean of the "
                                         "hidden corpus %s",
                                         lc->sha256, lc->model_id, hname);
    if (st) return st;
    if (strcmp(info.object, hidden->sha256_hex) == 0) {
        eco_corpus_info_free(&info);
        return eco_artifact_failures_add(out, "no-train.hidden",
                                         "training corpus %s (lineage of '%s') has the bytes of "
                                         "the hidden corpus %s",
                                         lc->sha256, lc->model_id, hname);
    }
    char *path = NULL;
    bool present = false;
    if ((st = eco_registry_corpus_path(r, &info, &path, &present))) goto out;
    if (!present) {
        st = eco_artifact_failures_add(out, "no-train.unknown",
                                       "training corpus %s (lineage of '%s'): its file %s is not "
                                       "in the store: it cannot be shown clean of the hidden "
                                       "corpus %s",
                                       lc->sha256, lc->model_id, info.object, hname);
        goto out;
    }
    train_index t = {0};
    char label[128];
    snprintf(label, sizeof label, "training corpus %.16s", lc->sha256);
    st = index_file(path, label, hidden, &t);
    if (!st && t.bad_line)
        st = eco_artifact_failures_add(out, "no-train.unknown",
                                       "training corpus %s (lineage of '%s') line %lld is not a "
                                       "{\"prompt\",\"completion\"} or {\"text\"} record: it "
                                       "cannot be shown clean of the hidden corpus %s",
                                       lc->sha256, lc->model_id, (long long)t.bad_line, hname);
    bool exact = false;
    for (size_t i = 0; !st && i < hidden->n_cases && !exact; i++) {
        prompt_hash key;
        memcpy(key.sha, hidden->cases[i].prompt_sha256, ECO_SHA256_LEN);
        const prompt_hash *hit = t.n ? bsearch(&key, t.h, t.n, sizeof *t.h, cmp_hash) : NULL;
        if (!hit) continue;
        exact = true;
        char cl[200];
        case_label(&hidden->cases[i], cl, sizeof cl);
        st = eco_artifact_failures_add(out, "no-train.prompt",
                                       "hidden corpus %s: case %s has the prompt of training "
                                       "corpus %s line %lld (lineage of '%s')",
                                       hname, cl, lc->sha256, (long long)hit->line, lc->model_id);
    }
    if (!st && !exact) {
        bool found = false;
        size_t idx = 0;
        double score = 0;
        st = eco_eval_corpus_overlap(hidden, t.ngrams, ECO_NGRAM_THRESHOLD, &found, &idx, &score);
        if (!st && found) {
            char cl[200];
            case_label(&hidden->cases[idx], cl, sizeof cl);
            st = eco_artifact_failures_add(out, "no-train.ngram",
                                           "hidden corpus %s: case %s overlaps training corpus "
                                           "%s (lineage of '%s'): %d-gram containment %.3f >= %.2f",
                                           hname, cl, lc->sha256, lc->model_id, ECO_NGRAM_N, score,
                                           ECO_NGRAM_THRESHOLD);
        }
        if (!st && !found) { /* prompts shorter than ECO_NGRAM_N words */
            st = eco_eval_corpus_overlap_short(hidden, t.by_words, &found, &idx);
            if (!st && found) {
                char cl[200];
                case_label(&hidden->cases[idx], cl, sizeof cl);
                st = eco_artifact_failures_add(
                    out, "no-train.ngram",
                    "hidden corpus %s: case %s: its prompt's %zu words occur in a record of "
                    "training corpus %s (lineage of '%s')",
                    hname, cl,
                    eco_ngram_word_count(hidden->cases[idx].prompt, hidden->cases[idx].prompt_len),
                    lc->sha256, lc->model_id);
            }
        }
    }
    free(t.h);
    eco_ngram_set_free(t.ngrams);
    for (size_t w = 0; w < ECO_NGRAM_N; w++) eco_ngram_set_free(t.by_words[w]);
out:
    free(path);
    eco_corpus_info_free(&info);
    return st;
}

eco_status eco_eval_contamination(eco_registry *r, const char *const *ids, size_t n,
                                  const eco_eval_corpus *hidden, eco_artifact_failures *out) {
    if (!r || (!ids && n) || !hidden || !out)
        return eco_error(ECO_STATUS_EINVAL, "contamination: NULL argument");
    char hname[200];
    eco_corpus_info hi = {0};
    if (eco_registry_corpus_get(r, hidden->sha256_hex, &hi) == ECO_STATUS_OK && hi.name)
        snprintf(hname, sizeof hname, "%s (%s)", hidden->sha256_hex, hi.name);
    else
        snprintf(hname, sizeof hname, "%s", hidden->sha256_hex);
    eco_corpus_info_free(&hi);
    eco_lineage_corpus *c = NULL;
    size_t nc = 0;
    eco_status st = eco_lineage_corpora(r, ids, n, &c, &nc);
    for (size_t i = 0; i < nc && !st; i++) st = check_one(r, &c[i], hidden, hname, out);
    eco_lineage_corpora_free(c, nc);
    return st;
}
