/*
 * corpora: corpus files kept in the artifact store and recorded in the registry (schema
 * version 2), the corpus deny list, and the reports' indexed members (registry.h).
 *
 * The registry does not parse corpora: the caller (the CLI, which may use the trainer's and
 * the evaluator's readers) validates the file and names its identity and count. Here the
 * file is stored (its bytes hashed as they are copied), an eval corpus's identity is checked
 * against those bytes, and the row and a "corpus" event are written in one transaction,
 * holding the store lock shared from storing to recording (as an add does) so that `registry
 * gc` never removes the object in between.
 */
#include "registry/registry_backend.h"
#include "registry/registry_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *eco_corpus_kind_str(eco_corpus_kind k) {
    return k == ECO_CORPUS_TRAIN ? "train" : "eval";
}

eco_status eco_corpus_kind_parse(const char *s, eco_corpus_kind *out) {
    if (s && strcmp(s, "eval") == 0) {
        *out = ECO_CORPUS_EVAL;
        return ECO_STATUS_OK;
    }
    if (s && strcmp(s, "train") == 0) {
        *out = ECO_CORPUS_TRAIN;
        return ECO_STATUS_OK;
    }
    return eco_error(ECO_STATUS_EINVAL, "corpus kind '%s': expected eval or train", s ? s : "");
}

void eco_corpus_info_free(eco_corpus_info *c) {
    if (!c) return;
    free(c->name);
    free(c->added_at);
    memset(c, 0, sizeof *c);
}

void eco_corpus_infos_free(eco_corpus_info *c, size_t n) {
    if (!c) return;
    for (size_t i = 0; i < n; i++) eco_corpus_info_free(&c[i]);
    free(c);
}

static bool hex64(const char *s) { return s && eco_hex_is_lower(s, strlen(s), ECO_SHA256_HEX_LEN); }

/* Appends an event of type with detail d (canonical JSON; d is taken, NULL when packing it
 * ran out of memory: "<what>: out of memory") inside the caller's transaction. */
static eco_status log_event(eco_registry_backend *be, const char *at, const char *type, json_t *d,
                            const char *what) {
    if (!d) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", what);
    char *detail = NULL;
    eco_status st = eco_json_canonical(d, &detail, NULL);
    json_decref(d);
    if (st == ECO_STATUS_OK) st = be->event_append(be, at, type, NULL, detail, NULL);
    free(detail);
    return st;
}

static bool name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 128) return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return false;
    return true;
}

/* What differs between a recorded corpus and one being added with the same identity, or
 * NULL. */
static const char *corpus_diff(const eco_corpus_info *have, const eco_corpus_info *want) {
    if (have->kind != want->kind) return "kind";
    if (have->hidden != want->hidden) return "hidden flag";
    if (strcmp(have->object, want->object) != 0) return "file bytes";
    return NULL;
}

eco_status eco_registry_corpus_add(eco_registry *r, const char *path, const eco_corpus_info *in,
                                   bool *created, eco_corpus_info *out) {
    if (created) *created = false;
    if (out) memset(out, 0, sizeof *out);
    if (!r || !path || !in) return eco_error(ECO_STATUS_EINVAL, "corpus add: NULL argument");
    if (!hex64(in->sha256))
        return eco_error(ECO_STATUS_EINVAL, "corpus add %s: sha256 '%s' is not 64 lower-case hex",
                         path, in->sha256);
    if (in->kind == ECO_CORPUS_TRAIN && in->hidden)
        return eco_error(ECO_STATUS_EINVAL,
                         "corpus add %s: a training corpus cannot be hidden (hidden corpora are "
                         "evaluation corpora)",
                         path);
    if (in->count < 0) return eco_error(ECO_STATUS_EINVAL, "corpus add %s: negative count", path);
    if (in->name && !name_ok(in->name))
        return eco_error(ECO_STATUS_EINVAL,
                         "corpus add %s: name: 1..128 bytes without control characters", path);
    eco_status st = eco_registry_require_writable(r, "add a corpus");
    if (st) return st;
    eco_registry_backend *be = eco_registry_backend_of(r);
    int lock = -1;
    if ((st = eco_registry_store_lock(r, false, &lock))) return st;
    eco_corpus_info row = *in;
    row.name = in->name;
    char at[32];
    eco_registry_now_rfc3339(at);
    row.added_at = at;
    st = eco_store_put_file(eco_registry_store(r), path, row.object, &row.size);
    if (st) goto unlock;
    if (in->kind == ECO_CORPUS_EVAL && strcmp(row.object, in->sha256) != 0) {
        st = eco_error(ECO_STATUS_EINTEGRITY,
                       "corpus add %s: the file's SHA-256 is %s, not the identity %s given (an "
                       "evaluation corpus is named by its bytes)",
                       path, row.object, in->sha256);
        goto unlock;
    }
    if ((st = be->begin(be))) goto unlock;
    bool found = false;
    eco_corpus_info have = {0};
    if ((st = be->corpus_get(be, in->sha256, &found, &have))) goto rollback;
    if (found && strcmp(have.sha256, in->sha256) == 0) {
        const char *diff = corpus_diff(&have, &row);
        if (diff) {
            st =
                eco_error(ECO_STATUS_EEXIST,
                          "corpus %s is already recorded (%s%s, added %s) with another %s: "
                          "corpora are immutable",
                          in->sha256, eco_corpus_kind_str(have.kind), have.hidden ? ", hidden" : "",
                          have.added_at ? have.added_at : "?", diff);
            eco_corpus_info_free(&have);
            goto rollback;
        }
        be->rollback(be);
        if (out)
            *out = have;
        else
            eco_corpus_info_free(&have);
        goto unlock;
    }
    eco_corpus_info_free(&have);
    if ((st = be->corpus_insert(be, &row))) goto rollback;
    json_t *d = json_pack("{s:s,s:s,s:s,s:b,s:I,s:s?}", "sha256", row.sha256, "object", row.object,
                          "kind", eco_corpus_kind_str(row.kind), "hidden", row.hidden, "count",
                          (json_int_t)row.count, "name", row.name);
    if ((st = log_event(be, at, "corpus", d, "corpus add"))) goto rollback;
    if ((st = be->commit(be))) goto unlock;
    if (created) *created = true;
    if (out) {
        st = be->corpus_get(be, in->sha256, &found, out);
        if (!st && !found)
            st = eco_error(ECO_STATUS_EINTERNAL, "corpus %s: not found after adding", in->sha256);
    }
    goto unlock;
rollback:
    be->rollback(be);
unlock:
    eco_registry_store_unlock(lock);
    return st;
}

eco_status eco_registry_corpus_get(eco_registry *r, const char *sha256, eco_corpus_info *out) {
    memset(out, 0, sizeof *out);
    if (!r || !sha256) return eco_error(ECO_STATUS_EINVAL, "corpus get: NULL argument");
    eco_registry_backend *be = eco_registry_backend_of(r);
    bool found = false;
    eco_status st = be->corpus_get(be, sha256, &found, out);
    if (st) return st;
    if (!found)
        return eco_error(ECO_STATUS_ENOTFOUND,
                         "corpus %s is not recorded in %s (ecology corpus add)", sha256,
                         eco_registry_data_dir(r));
    return ECO_STATUS_OK;
}

eco_status eco_registry_corpus_list(eco_registry *r, eco_corpus_info **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!r) return eco_error(ECO_STATUS_EINVAL, "corpus list: NULL argument");
    eco_registry_backend *be = eco_registry_backend_of(r);
    return be->corpus_list(be, out, n);
}

eco_status eco_registry_corpus_path(eco_registry *r, const eco_corpus_info *c, char **path,
                                    bool *present) {
    *path = eco_store_object_path(eco_registry_store(r), c->object);
    if (!*path) return eco_error(ECO_STATUS_ENOMEM, "corpus %s: out of memory", c->sha256);
    *present = eco_store_has(eco_registry_store(r), c->object);
    return ECO_STATUS_OK;
}

eco_status eco_registry_corpus_deny(eco_registry *r, const char *sha256, const char *reason,
                                    bool *created) {
    if (created) *created = false;
    if (!r || !hex64(sha256))
        return eco_error(ECO_STATUS_EINVAL, "corpus deny: '%s' is not 64 lower-case hex",
                         sha256 ? sha256 : "");
    if (reason && (strlen(reason) > 1024 || !*reason))
        return eco_error(ECO_STATUS_EINVAL, "corpus deny: reason: 1..1024 bytes");
    eco_status st = eco_registry_require_writable(r, "deny a corpus");
    if (st) return st;
    eco_registry_backend *be = eco_registry_backend_of(r);
    char at[32];
    eco_registry_now_rfc3339(at);
    if ((st = be->begin(be))) return st;
    bool found = false;
    if ((st = be->deny_get(be, sha256, &found, NULL))) goto rollback;
    if (found) {
        be->rollback(be);
        return ECO_STATUS_OK;
    }
    if ((st = be->deny_insert(be, sha256, reason, at))) goto rollback;
    json_t *d = json_pack("{s:s,s:s?}", "sha256", sha256, "reason", reason);
    if ((st = log_event(be, at, "corpus-deny", d, "corpus deny"))) goto rollback;
    if ((st = be->commit(be))) return st;
    if (created) *created = true;
    return ECO_STATUS_OK;
rollback:
    be->rollback(be);
    return st;
}

eco_status eco_registry_corpus_denied(eco_registry *r, const char *sha256, bool *denied,
                                      char **reason) {
    *denied = false;
    if (reason) *reason = NULL;
    if (!r || !sha256) return eco_error(ECO_STATUS_EINVAL, "corpus denied: NULL argument");
    eco_registry_backend *be = eco_registry_backend_of(r);
    return be->deny_get(be, sha256, denied, reason);
}

/* ---- reports ---------------------------------------------------------------------------- */

static char *dup_text(const json_t *v) {
    const char *s = json_string_value(v);
    return s ? eco_strdup(s) : NULL;
}

void eco_registry_report_index(const char *report_json, eco_registry_report *idx) {
    idx->accepted = -1;
    idx->fitness = NAN;
    json_t *j = json_loads(report_json, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return;
    }
    idx->corpus = dup_text(json_object_get(j, "corpus"));
    idx->gates = dup_text(json_object_get(j, "gates"));
    idx->evaluator_version = dup_text(json_object_get(j, "evaluator_version"));
    json_t *v = json_object_get(j, "verdict");
    json_t *acc = json_object_get(v, "accepted");
    if (json_is_boolean(acc)) idx->accepted = json_is_true(acc) ? 1 : 0;
    json_t *tot =
        json_object_get(json_object_get(json_object_get(v, "fitness"), "timing"), "total");
    if (json_is_number(tot)) idx->fitness = json_number_value(tot);
    json_decref(j);
}

void eco_registry_reports_free_fields(eco_registry_report *idx) {
    free(idx->model_id);
    free(idx->at);
    free(idx->corpus);
    free(idx->gates);
    free(idx->evaluator_version);
    free(idx->report);
    idx->model_id = idx->at = idx->corpus = idx->gates = idx->evaluator_version = idx->report =
        NULL;
}

void eco_registry_reports_free(eco_registry_report *rep, size_t n) {
    if (!rep) return;
    for (size_t i = 0; i < n; i++) eco_registry_reports_free_fields(&rep[i]);
    free(rep);
}

eco_status eco_registry_reports(eco_registry *r, const char *id, const char *corpus,
                                eco_registry_report **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!r) return eco_error(ECO_STATUS_EINVAL, "reports: NULL argument");
    eco_registry_backend *be = eco_registry_backend_of(r);
    return be->reports(be, id, corpus, out, n);
}
