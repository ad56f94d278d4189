/*
 * artifact_check: the checks made before any run of a registered model (verifier.h): its
 * files against the manifest, its signature against the trusted keys, an adapter's recorded
 * base identity against the base actually loaded, and the no-train rules that need only the
 * registry (deny list, training corpus = hidden corpus). Every failure is listed, each
 * naming its check; the content rules against one hidden corpus are eval_contamination.h's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/verifier.h"

eco_status eco_artifact_failures_add(eco_artifact_failures *f, const char *check, const char *fmt,
                                     ...) {
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->v[i].check, check) == 0 && strcmp(f->v[i].detail, detail) == 0)
            return ECO_STATUS_OK;
    eco_artifact_failure *nv = realloc(f->v, (f->n + 1) * sizeof *nv);
    if (!nv) return eco_error(ECO_STATUS_ENOMEM, "artifact checks: out of memory");
    f->v = nv;
    char *c = eco_strdup(check), *d = eco_strdup(detail);
    if (!c || !d) {
        free(c);
        free(d);
        return eco_error(ECO_STATUS_ENOMEM, "artifact checks: out of memory");
    }
    f->v[f->n].check = c;
    f->v[f->n].detail = d;
    f->n++;
    return ECO_STATUS_OK;
}

void eco_artifact_failures_free(eco_artifact_failures *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].check);
        free(f->v[i].detail);
    }
    free(f->v);
    f->v = NULL;
    f->n = 0;
}

char *eco_artifact_failures_text(const eco_artifact_failures *f) {
    eco_buf b = {0};
    for (size_t i = 0; i < f->n; i++)
        if (!eco_buf_printf(&b, "%s%s: %s", i ? "; " : "", f->v[i].check, f->v[i].detail)) {
            eco_buf_free(&b);
            return NULL;
        }
    if (!b.data) return eco_strdup("");
    return b.data;
}

/* ---- lineage corpora -------------------------------------------------------------------- */

void eco_lineage_corpora_free(eco_lineage_corpus *c, size_t n) {
    if (!c) return;
    for (size_t i = 0; i < n; i++) free(c[i].model_id);
    free(c);
}

/* Appends g's corpora not yet in the list. */
static eco_status add_genome_corpora(const eco_genome *g, eco_lineage_corpus **v, size_t *n) {
    for (size_t i = 0; i < g->n_corpora; i++) {
        bool seen = false;
        for (size_t k = 0; k < *n && !seen; k++) seen = strcmp((*v)[k].sha256, g->corpora[i]) == 0;
        if (seen) continue;
        eco_lineage_corpus *nv = realloc(*v, (*n + 1) * sizeof *nv);
        if (!nv) return eco_error(ECO_STATUS_ENOMEM, "lineage corpora: out of memory");
        *v = nv;
        snprintf(nv[*n].sha256, sizeof nv[*n].sha256, "%s", g->corpora[i]);
        if (!(nv[*n].model_id = eco_strdup(g->id)))
            return eco_error(ECO_STATUS_ENOMEM, "lineage corpora: out of memory");
        (*n)++;
    }
    return ECO_STATUS_OK;
}

static eco_status add_model_corpora(eco_registry *r, const char *id, eco_lineage_corpus **v,
                                    size_t *n) {
    eco_genome g = {0};
    eco_status st = eco_registry_get(r, id, &g, NULL);
    if (st == ECO_STATUS_OK) st = add_genome_corpora(&g, v, n);
    eco_genome_free(&g);
    return st;
}

eco_status eco_lineage_corpora(eco_registry *r, const char *const *ids, size_t n,
                               eco_lineage_corpus **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    eco_lineage_corpus *v = NULL;
    size_t nv = 0;
    eco_status st = ECO_STATUS_OK;
    for (size_t i = 0; i < n && !st; i++) st = add_model_corpora(r, ids[i], &v, &nv);
    for (size_t i = 0; i < n && !st; i++) {
        char **anc = NULL;
        size_t na = 0;
        st = eco_registry_ancestors(r, ids[i], &anc, &na);
        for (size_t k = 0; k < na && !st; k++) st = add_model_corpora(r, anc[k], &v, &nv);
        eco_registry_ids_free(anc, na);
    }
    if (st) {
        eco_lineage_corpora_free(v, nv);
        return st;
    }
    *out = v;
    *n_out = nv;
    return ECO_STATUS_OK;
}

/* ---- the checks ------------------------------------------------------------------------- */

/* Files, then (when they are intact) the signature, of one registered model. */
static eco_status check_model(eco_registry *r, const eco_genome *g, eco_artifact_failures *out) {
    eco_status st;
    bool files_ok = true;
    for (size_t i = 0; i < g->files.n; i++) {
        const eco_file_entry *e = &g->files.files[i];
        if (eco_store_verify_object(eco_registry_store(r), e->sha256, e->size, false) ==
            ECO_STATUS_OK)
            continue;
        files_ok = false;
        if ((st = eco_artifact_failures_add(out, "files", "model '%s': file %s: %s", g->id, e->name,
                                            eco_last_error())))
            return st;
    }
    if (!files_ok) return ECO_STATUS_OK;
    char keyid[ECO_KEYID_HEX_LEN + 1];
    eco_status vst = eco_registry_verify(r, g->id, keyid);
    if (vst == ECO_STATUS_OK) return ECO_STATUS_OK;
    if (vst == ECO_STATUS_ENOMEM) return vst;
    return eco_artifact_failures_add(out, "signature", "%s", eco_last_error());
}

/* The adapter's recorded identity against the identity of the base loaded. */
static eco_status check_base(eco_registry *r, const eco_genome *adapter, const char *model_id,
                             const char *model_dir, eco_artifact_failures *out) {
    eco_compat_identity loaded;
    const char *what;
    if (model_id) {
        eco_genome b = {0};
        eco_status st = eco_registry_get(r, model_id, &b, NULL);
        if (st) return st;
        loaded = b.compatibility;
        eco_genome_free(&b);
        what = model_id;
    } else if (model_dir) {
        if (eco_compat_compute_base(model_dir, &loaded) != ECO_STATUS_OK)
            return eco_artifact_failures_add(out, "base",
                                             "adapter '%s': the identity of the loaded base %s "
                                             "cannot be computed: %s",
                                             adapter->id, model_dir, eco_last_error());
        what = model_dir;
    } else {
        return eco_artifact_failures_add(out, "base", "adapter '%s': no base model given",
                                         adapter->id);
    }
    const char *field = eco_compat_diff(&adapter->compatibility, &loaded);
    if (!field) return ECO_STATUS_OK;
    const eco_compat_identity *a = &adapter->compatibility;
    const char *want = strcmp(field, "base_family") == 0         ? a->base_family
                       : strcmp(field, "architecture_hash") == 0 ? a->architecture_hash
                       : strcmp(field, "tokenizer_hash") == 0    ? a->tokenizer_hash
                                                                 : a->tensor_schema_hash;
    const char *got = strcmp(field, "base_family") == 0         ? loaded.base_family
                      : strcmp(field, "architecture_hash") == 0 ? loaded.architecture_hash
                      : strcmp(field, "tokenizer_hash") == 0    ? loaded.tokenizer_hash
                                                                : loaded.tensor_schema_hash;
    return eco_artifact_failures_add(out, "base",
                                     "adapter '%s' (base '%s') records %s %.16s..., the base "
                                     "loaded (%s) has %.16s...",
                                     adapter->id, adapter->base ? adapter->base : "-", field, want,
                                     what, got);
}

/* Deny list and hidden corpora over the lineage's training corpora. */
static eco_status check_no_train(eco_registry *r, const char *const *ids, size_t n,
                                 eco_artifact_failures *out) {
    eco_lineage_corpus *c = NULL;
    size_t nc = 0;
    eco_status st = eco_lineage_corpora(r, ids, n, &c, &nc);
    for (size_t i = 0; i < nc && !st; i++) {
        bool denied = false;
        char *reason = NULL;
        if ((st = eco_registry_corpus_denied(r, c[i].sha256, &denied, &reason))) break;
        if (denied)
            st = eco_artifact_failures_add(out, "no-train.deny",
                                           "training corpus %s (lineage of '%s') is on the corpus "
                                           "deny list%s%s",
                                           c[i].sha256, c[i].model_id, reason ? ": " : "",
                                           reason ? reason : "");
        free(reason);
        if (st) break;
        eco_corpus_info info = {0};
        eco_status gst = eco_registry_corpus_get(r, c[i].sha256, &info);
        if (gst == ECO_STATUS_OK && info.hidden)
            st = eco_artifact_failures_add(out, "no-train.hidden",
                                           "training corpus %s (lineage of '%s') is the hidden "
                                           "corpus %s%s%s",
                                           c[i].sha256, c[i].model_id, info.sha256,
                                           info.name ? " " : "", info.name ? info.name : "");
        else if (gst != ECO_STATUS_OK && gst != ECO_STATUS_ENOTFOUND)
            st = gst;
        eco_corpus_info_free(&info);
    }
    eco_lineage_corpora_free(c, nc);
    return st;
}

eco_status eco_artifact_check(eco_registry *r, const eco_artifact_check_options *o,
                              eco_artifact_failures *out) {
    if (!r || !o || !out) return eco_error(ECO_STATUS_EINVAL, "artifact checks: NULL argument");
    eco_genome m = {0}, a = {0};
    eco_status st = ECO_STATUS_OK;
    const char *ids[2];
    size_t n = 0;
    if (o->model_id) {
        if ((st = eco_registry_get(r, o->model_id, &m, NULL))) goto out;
        if ((st = check_model(r, &m, out))) goto out;
        ids[n++] = o->model_id;
    }
    if (o->adapter_id) {
        if ((st = eco_registry_get(r, o->adapter_id, &a, NULL))) goto out;
        if ((st = check_model(r, &a, out))) goto out;
        if ((st = check_base(r, &a, o->model_id, o->model_dir, out))) goto out;
        ids[n++] = o->adapter_id;
    }
    st = check_no_train(r, ids, n, out);
out:
    eco_genome_free(&m);
    eco_genome_free(&a);
    return st;
}
