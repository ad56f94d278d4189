/* `ecology eval` and the registry (issue 19): cmd_eval.c calls these three in one block each.
 *
 * begin   --corpus may name a recorded evaluation corpus by its SHA-256 (its file is read
 *         from the store). When --model or --adapter names a registered model (an id or
 *         alias that is not a path), the registry is opened and the artifact checks run
 *         before anything is loaded (verifier.h: files re-hashed, signature, the adapter's
 *         base against the model, deny list, hidden corpora in the lineage). The corpus is
 *         hidden when it shares a case (a case hash) with a corpus recorded by `corpus add
 *         --hidden` (its own bytes, or the hidden corpus edited: a blank line added, cases
 *         reordered or added; eco_eval_hidden_corpora scans the recorded hidden corpora at
 *         each run). On a hidden corpus the lineage must be clean of every hidden corpus it
 *         shares cases with (eval_contamination.h); a model or adapter given as a folder has
 *         no recorded lineage: only folders, the run is refused; a folder beside a registered
 *         artifact, no-train.unknown. A failure of any check but the signature refuses the
 *         run (exit 3, every failure named); a signature failure alone is printed and fed to
 *         the gates (signature.required), as is a model or adapter given as a folder (never
 *         counted as signed).
 * store   the report (canonical JSON with the verdict, timings included, plus a member
 *         "artifact_checks": [{"check", "detail"}] listing what the checks found, [] when
 *         nothing) is stored in the registry only when every loaded artifact is registered
 *         (the model, and the adapter when there is one), against the adapter when there is
 *         one, else the model (eco_registry_add_report: corpus, gates and evaluator version
 *         queryable, listed by `ecology show`); with a folder among them, a note says it is
 *         not stored. A report that cannot be stored is a failure (CLI_FAIL, the message).
 * end     releases what begin kept. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli.h"
#include "ecology/eval_contamination.h"
#include "ecology/evaluator.h"
#include "ecology/registry.h"
#include "ecology/verifier.h"

/* Whether ref is a registry name rather than a path (model_ref.c's rule). */
static bool is_registry_ref(const char *ref) {
    struct stat sb;
    return ref && stat(ref, &sb) != 0 && eco_model_id_ok(ref);
}

/* Opens the registry once (writable when possible: the report is stored at the end). */
static int open_reg(cli_eval_reg *reg, const char *data_dir) {
    if (reg->r) return CLI_OK;
    return cli_registry_open(data_dir, &reg->r);
}

static void print_failures(const eco_artifact_failures *f, const char *head) {
    fprintf(stderr, "ecology: eval: %s (%zu):\n", head, f->n);
    for (size_t i = 0; i < f->n; i++) fprintf(stderr, "  %s: %s\n", f->v[i].check, f->v[i].detail);
}

/* A model given as a folder has no recorded lineage: refused (CLI_REJECTED) on a hidden
 * corpus, the corpus of SHA-256 hex. */
static int folder_verdict(bool hidden, const char *hex) {
    if (!hidden) return CLI_OK;
    fprintf(stderr,
            "ecology: eval: refused: corpus %s is hidden, and a model given as a folder has no "
            "recorded lineage to show it was not trained on it (register the model and name it "
            "by id)\n",
            hex);
    return CLI_REJECTED;
}

int cli_eval_registry_begin(cli_opt *o, int n, const char **corpus_path, eco_eval_corpus **corpus,
                            cli_eval_reg *reg) {
    memset(reg, 0, sizeof reg[0]);
    *corpus = NULL;
    const char *data_dir = cli_get(o, n, "data-dir");
    const char *model = cli_get(o, n, "model"), *adapter = cli_get(o, n, "adapter");
    bool model_reg = is_registry_ref(model), adapter_reg = is_registry_ref(adapter);
    struct stat sb;
    char *dd = eco_data_dir_resolve(data_dir);
    char *db = dd ? eco_path_join(dd, ECO_REGISTRY_DB_FILE) : NULL;
    bool have_registry = db && stat(db, &sb) == 0;
    free(db);
    free(dd);
    /* no registry: a registry name is model_ref.c's to refuse, with its message */
    if (!have_registry) model_reg = adapter_reg = false;
    /* a folder has no signature to check: only registered models count as signed */
    reg->signature_ok = model_reg && (!adapter || adapter_reg);
    int rc = CLI_OK;
    eco_status st;
    /* --corpus SHA256: a recorded evaluation corpus */
    if (stat(*corpus_path, &sb) != 0 &&
        eco_hex_is_lower(*corpus_path, strlen(*corpus_path), ECO_SHA256_HEX_LEN)) {
        if ((rc = open_reg(reg, data_dir)) != CLI_OK) return rc;
        eco_corpus_info info = {0};
        bool present = false;
        if ((st = eco_registry_corpus_get(reg->r, *corpus_path, &info)) == ECO_STATUS_OK &&
            info.kind != ECO_CORPUS_EVAL)
            st = eco_error(ECO_STATUS_EINVAL, "corpus %s is a training corpus", info.sha256);
        if (st == ECO_STATUS_OK)
            st = eco_registry_corpus_path(reg->r, &info, &reg->corpus_file, &present);
        if (st == ECO_STATUS_OK && !present)
            st = eco_error(ECO_STATUS_ENOTFOUND, "corpus %s: its file is not in the store",
                           info.sha256);
        eco_corpus_info_free(&info);
        if (st != ECO_STATUS_OK) return cli_fail(st, "eval --corpus");
        *corpus_path = reg->corpus_file;
    }
    /* read once: its SHA-256 (the corpus's id) is of the bytes parsed, and the hidden-corpus
     * checks below and the run see the same cases */
    if ((st = eco_eval_corpus_load(*corpus_path, corpus)) != ECO_STATUS_OK)
        return cli_fail(st, "eval");
    if (!have_registry) return CLI_OK; /* no registry: nothing is hidden, nothing is stored */
    /* hidden: the corpus shares a case with a recorded hidden corpus (its own bytes recorded
     * as hidden, or any case hash of a hidden corpus: eco_eval_hidden_corpora) */
    eco_registry *r = NULL, *ro = NULL;
    if (reg->r || model_reg || adapter_reg) {
        if ((rc = open_reg(reg, data_dir)) != CLI_OK) return rc;
        r = reg->r;
    } else { /* folders only: nothing will be stored, read-only suffices */
        if (cli_registry_open_ro(data_dir, false, &ro) != CLI_OK) return CLI_FAIL;
        r = ro;
    }
    eco_eval_corpus **hid = NULL;
    size_t nh = 0;
    st = eco_eval_hidden_corpora(r, *corpus, &hid, &nh);
    eco_registry_close(ro);
    if (st != ECO_STATUS_OK) return cli_fail(st, "eval");
    /* the report is stored only when every loaded artifact is registered */
    reg->store = model_reg && (!adapter || adapter_reg);
    if (!model_reg && !adapter_reg) {
        if (nh) rc = folder_verdict(true, hid[0]->sha256_hex);
        eco_eval_corpora_free(hid, nh);
        return rc;
    }
    /* the artifact checks */
    const char *m = model, *a = adapter;
    if ((model_reg && cli_registry_resolve(reg->r, "eval --model", &m) != CLI_OK) ||
        (adapter_reg && cli_registry_resolve(reg->r, "eval --adapter", &a) != CLI_OK)) {
        eco_eval_corpora_free(hid, nh);
        return CLI_FAIL;
    }
    reg->model_id = model_reg ? eco_strdup(m) : NULL;
    reg->adapter_id = adapter_reg ? eco_strdup(a) : NULL;
    if ((model_reg && !reg->model_id) || (adapter_reg && !reg->adapter_id)) {
        eco_eval_corpora_free(hid, nh);
        return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "eval");
    }
    eco_artifact_check_options ao = {.model_id = reg->model_id,
                                     .model_dir = model_reg ? NULL : model,
                                     .adapter_id = reg->adapter_id};
    eco_artifact_failures f = {0};
    st = eco_artifact_check(reg->r, &ao, &f);
    const char *ids[2];
    size_t nid = 0;
    if (reg->model_id) ids[nid++] = reg->model_id;
    if (reg->adapter_id) ids[nid++] = reg->adapter_id;
    /* a folder among the artifacts: its lineage is not recorded */
    if (st == ECO_STATUS_OK && nh && !reg->store)
        st = eco_artifact_failures_add(&f, "no-train.unknown",
                                       "the %s is a folder: its lineage is not recorded, so it "
                                       "cannot be shown clean of the hidden corpus %s",
                                       model_reg ? "adapter" : "model", hid[0]->sha256_hex);
    for (size_t i = 0; st == ECO_STATUS_OK && i < nh; i++)
        st = eco_eval_contamination(reg->r, ids, nid, hid[i], &f);
    eco_eval_corpora_free(hid, nh);
    if (st != ECO_STATUS_OK) {
        eco_artifact_failures_free(&f);
        return cli_fail(st, "eval: artifact checks");
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < f.n; i++)
        if (json_array_append_new(
                arr, json_pack("{s:s,s:s}", "check", f.v[i].check, "detail", f.v[i].detail)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    if (!arr || eco_json_canonical(arr, &reg->checks_json, NULL) != ECO_STATUS_OK) {
        json_decref(arr);
        eco_artifact_failures_free(&f);
        return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "eval");
    }
    json_decref(arr);
    size_t hard = 0;
    for (size_t i = 0; i < f.n; i++)
        if (strcmp(f.v[i].check, "signature") == 0)
            reg->signature_ok = false;
        else
            hard++;
    if (hard) {
        print_failures(&f, "refused by the artifact checks");
        rc = CLI_REJECTED;
    } else if (f.n) {
        print_failures(&f, "signature check failed (the gates' signature.required decides)");
    }
    eco_artifact_failures_free(&f);
    return rc;
}

int cli_eval_registry_store(cli_eval_reg *reg, const eco_eval_report *rep, const eco_gates *g) {
    const char *id = reg->adapter_id ? reg->adapter_id : reg->model_id;
    if (!reg->r || !id) return CLI_OK;
    if (!reg->store) {
        fprintf(stderr,
                "ecology: eval: the report is not stored: the %s is a folder (a report is "
                "stored only when the model and the adapter are registered)\n",
                reg->model_id ? "adapter" : "model");
        return CLI_OK;
    }
    eco_verdict v;
    memset(&v, 0, sizeof v);
    eco_status st = ECO_STATUS_OK;
    if (g) st = eco_gates_judge(g, rep, reg->signature_ok, reg->coverage, &v);
    char *text = NULL, *stored = NULL;
    if (st == ECO_STATUS_OK) st = eco_eval_report_json(rep, g ? &v : NULL, true, &text);
    if (st == ECO_STATUS_OK) { /* the report with the artifact checks' failures beside it */
        json_t *j = json_loads(text, 0, NULL),
               *c = reg->checks_json ? json_loads(reg->checks_json, 0, NULL) : json_array();
        if (!j || !c || json_object_set_new(j, "artifact_checks", c) != 0 ||
            eco_json_canonical(j, &stored, NULL) != ECO_STATUS_OK)
            st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
        else
            c = NULL;
        json_decref(c);
        json_decref(j);
    }
    if (st == ECO_STATUS_OK) st = eco_registry_add_report(reg->r, id, stored);
    int rc = CLI_OK;
    if (st == ECO_STATUS_OK)
        fprintf(stderr, "ecology: eval: report stored in the registry for '%s'\n", id);
    else
        rc = cli_fail(st, "eval: the report could not be stored");
    free(text);
    free(stored);
    if (g) eco_verdict_free(&v);
    return rc;
}

void cli_eval_registry_end(cli_eval_reg *reg) {
    eco_registry_close(reg->r);
    free(reg->model_id);
    free(reg->adapter_id);
    free(reg->corpus_file);
    free(reg->checks_json);
    memset(reg, 0, sizeof reg[0]);
}
