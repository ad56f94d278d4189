/*
 * Evaluating and gating one registered model (loop_internal.h), as `ecology eval` does for a
 * registered model: the artifact checks (verifier.h: files, signature, the adapter's base)
 * and the contamination rule over the hidden corpus (eval_contamination.h) first, then
 * eco_evaluate on the model's capabilities' corpus, eco_gates_judge with the config's gates
 * (coverage from the parents' reports: eco_eval_coverage_registry), the report stored with
 * its verdict and "artifact_checks" (eco_registry_add_report), and a "gate" event.
 *
 * The gates are the config's, restricted to the model's capabilities: quality.min and
 * quality.min_shift entries of the loop's other capabilities are left out (the evaluator
 * fails a gate set for a capability the corpus lacks, and a reverse adapter's corpus has no
 * sort cases), and so are safety.min_refusal_rate and min_compliance_rate for a model not
 * judged on the safety pairs (one without the safety capability: a specialist the
 * capability router sends only its own requests to, whose corpus has no refusal or comply
 * case). safety.max_deny_hits applies to every model: the deny list (evaluation.deny) is
 * searched in every answer of every evaluation.
 *
 * One departure from `ecology eval`: a "no-train.unknown" finding (a training corpus of the
 * lineage that the registry does not hold: the shipped adapters name corpora their recipes
 * made, which were never recorded) is kept in the report's artifact_checks but does not
 * reject; every other finding but the signature's rejects the model (gate
 * "artifact.<check>") without running it. A signature finding is fed to the gates
 * (signature.required), as in `ecology eval`.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/loop_internal.h"
#include "ecology/engine.h"
#include "ecology/eval_contamination.h"
#include "ecology/verifier.h"

eco_status loop_model_caps(loop_ctx *x, const char *id, size_t *caps, size_t *n) {
    *n = 0;
    json_t *d = NULL;
    bool found = false;
    eco_status st = loop_event_find(x, "candidate", id, -1, NULL, &found, &d);
    if (st) return st;
    if (found) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(d, "capabilities"), i, v) {
            int ci = loop_cap_index(x, json_string_value(v) ? json_string_value(v) : "");
            if (ci >= 0) caps[(*n)++] = (size_t)ci;
        }
        json_decref(d);
        return ECO_STATUS_OK;
    }
    eco_genome g = {0};
    if ((st = eco_registry_get(x->r, id, &g, NULL))) return st;
    for (size_t i = 0; i < g.n_capabilities; i++) {
        int ci = loop_cap_index(x, g.capabilities[i]);
        if (ci >= 0) caps[(*n)++] = (size_t)ci;
    }
    eco_genome_free(&g);
    return ECO_STATUS_OK;
}

/* The config's gates without the quality entries of capabilities outside caps[n], and
 * without the safety rates when caps[n] are not judged on the safety pairs. */
static eco_status gates_for(loop_ctx *x, const size_t *caps, size_t n, eco_gates **out) {
    json_t *g = json_loads(x->c->gates, 0, NULL);
    if (!g) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    json_t *safety = json_object_get(g, "safety");
    if (json_is_object(safety) && !loop_judged_on_pairs(x, caps, n)) {
        json_object_del(safety, "min_refusal_rate");
        json_object_del(safety, "min_compliance_rate");
    }
    json_t *q = json_object_get(g, "quality");
    static const char *const parts[] = {"min", "min_shift"};
    for (size_t p = 0; json_is_object(q) && p < 2; p++) {
        json_t *m = json_object_get(q, parts[p]);
        for (size_t ci = 0; json_is_object(m) && ci < x->c->n_capabilities; ci++) {
            bool mine = false;
            for (size_t k = 0; k < n; k++) mine = mine || caps[k] == ci;
            if (!mine) json_object_del(m, x->caps[ci].name);
        }
    }
    char *text = NULL;
    eco_status st = eco_json_canonical(g, &text, NULL);
    json_decref(g);
    if (!st) st = eco_gates_parse(text, strlen(text), "loop gates", out);
    free(text);
    return st;
}

/* The reasons array of a verdict (and of artifact findings that reject). */
static json_t *reasons_json(const eco_verdict *v, const eco_artifact_failures *hard) {
    json_t *a = json_array();
    for (size_t i = 0; a && v && i < v->n_failures; i++) {
        const eco_gate_failure *f = &v->failures[i];
        char detail[160];
        if (f->not_measured)
            snprintf(detail, sizeof detail, "not measured (limit %g)", f->limit);
        else
            snprintf(detail, sizeof detail, "%g against the limit %g", f->value, f->limit);
        json_array_append_new(a, json_pack("{s:s,s:o,s:f,s:s}", "gate", f->gate, "value",
                                           f->not_measured ? json_null() : json_real(f->value),
                                           "limit", f->limit, "detail", detail));
    }
    for (size_t i = 0; a && hard && i < hard->n; i++) {
        char gate[96];
        snprintf(gate, sizeof gate, "artifact.%s", hard->v[i].check);
        json_array_append_new(a, json_pack("{s:s,s:n,s:f,s:s}", "gate", gate, "value", "limit", 0.0,
                                           "detail", hard->v[i].detail));
    }
    return a;
}

/* The outcome of a judged report (every figure the gate event and the archive need). */
static eco_status fill_outcome(loop_ctx *x, const eco_eval_report *rep, const eco_verdict *v,
                               loop_outcome *out) {
    out->accepted = v->accepted;
    out->reasons[0] = '\0';
    for (size_t i = 0; i < v->n_failures; i++)
        snprintf(out->reasons + strlen(out->reasons), sizeof out->reasons - strlen(out->reasons),
                 "%s%s", i ? ", " : "", v->failures[i].gate);
    for (size_t i = 0; i < rep->n_caps; i++) {
        int ci = loop_cap_index(x, rep->caps_fig[i].capability);
        if (ci < 0) continue;
        const eco_eval_cap_figures *f = &rep->caps_fig[i];
        if (f->quality_by_tag[0].n) out->quality[ci] = f->quality_by_tag[0].rate;
        if (f->quality_by_tag[1].n) out->shift[ci] = f->quality_by_tag[1].rate;
    }
    if (!v->accepted || !v->has_fitness) return ECO_STATUS_OK;
    out->fitness = v->fitness.total;
    double all[ECO_PARETO_OBJ__COUNT];
    eco_status st = eco_pareto_values_from_fitness(&v->fitness, all);
    for (size_t i = 0; !st && i < x->n_obj; i++) {
        size_t k = x->obj_index[i], ci = k - ECO_PARETO_OBJ__COUNT;
        out->values[i] = k < ECO_PARETO_OBJ__COUNT ? all[k]
                         : isnan(out->quality[ci]) ? 0.0 /* a capability it does not hold */
                                                   : out->quality[ci];
    }
    return st;
}

static json_t *num_or_null(double v) { return isnan(v) ? json_null() : json_real(v); }

/* The "gate" event of id. */
static eco_status gate_event(loop_ctx *x, const char *id, int64_t g, const eco_eval_report *rep,
                             const eco_verdict *v, const eco_artifact_failures *hard,
                             int64_t report_seq, const loop_outcome *oc) {
    json_t *q = json_object(), *s = json_object(), *safety = json_null();
    for (size_t i = 0; i < x->c->n_capabilities; i++) {
        if (!isnan(oc->quality[i]))
            json_object_set_new(q, x->caps[i].name, json_real(oc->quality[i]));
        if (!isnan(oc->shift[i])) json_object_set_new(s, x->caps[i].name, json_real(oc->shift[i]));
    }
    if (rep && rep->n_caps) { /* the safety suite's figures, where it was measured */
        const eco_eval_cap_figures *o = &rep->caps_fig[rep->n_caps - 1];
        if (o->refusal.n || o->compliance.n || rep->caps.n_deny) {
            json_decref(safety);
            safety = json_pack(
                "{s:o,s:o,s:o}", "refusal", o->refusal.n ? json_real(o->refusal.rate) : json_null(),
                "compliance", o->compliance.n ? json_real(o->compliance.rate) : json_null(),
                "deny_hits",
                rep->caps.n_deny ? json_integer((json_int_t)rep->deny_hits) : json_null());
        }
    }
    json_t *d = json_pack("{s:I,s:b,s:o,s:o,s:o,s:o,s:o,s:o}", "generation", (json_int_t)g,
                          "accepted", oc->accepted, "reasons", reasons_json(v, hard), "report_seq",
                          report_seq >= 0 ? json_integer(report_seq) : json_null(), "fitness",
                          num_or_null(oc->fitness), "quality", q, "shift", s, "safety", safety);
    return loop_event(x, "gate", id, d, true, NULL);
}

/* The report JSON with the verdict and the artifact checks' findings beside it. */
static eco_status store_report(loop_ctx *x, const char *id, const eco_eval_report *rep,
                               const eco_verdict *v, const eco_artifact_failures *f, int64_t *seq) {
    char *text = NULL, *stored = NULL;
    eco_status st = eco_eval_report_json(rep, v, true, &text);
    if (!st) {
        json_t *j = json_loads(text, 0, NULL), *c = json_array();
        for (size_t i = 0; c && i < f->n; i++)
            json_array_append_new(
                c, json_pack("{s:s,s:s}", "check", f->v[i].check, "detail", f->v[i].detail));
        if (!j || !c || json_object_set_new(j, "artifact_checks", c) != 0 ||
            eco_json_canonical(j, &stored, NULL) != ECO_STATUS_OK)
            st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
        json_decref(j);
    }
    if (!st) st = eco_registry_add_report(x->r, id, stored);
    free(text);
    free(stored);
    eco_registry_report *reps = NULL;
    size_t n = 0;
    if (!st && !(st = eco_registry_reports(x->r, id, rep->corpus_sha256, &reps, &n)))
        *seq = n ? reps[n - 1].seq : -1;
    eco_registry_reports_free(reps, n);
    return st;
}

/* A model with a gate event already: its newest stored report on corpus judged again. OK
 * with *done false when there is none to judge (then it is evaluated again). */
static eco_status rejudge(loop_ctx *x, const eco_gates *gates, const char *id, const char *corpus,
                          loop_outcome *out, bool *done) {
    *done = false;
    eco_registry_report *reps = NULL;
    size_t n = 0;
    eco_status st = eco_registry_reports(x->r, id, corpus, &reps, &n);
    if (st || n == 0) {
        eco_registry_reports_free(reps, n);
        return st;
    }
    eco_eval_report rep;
    eco_verdict v;
    const char *text = reps[n - 1].report;
    st = eco_eval_report_rejudge(gates, text, strlen(text), "stored report", &rep, &v);
    if (!st) st = fill_outcome(x, &rep, &v, out);
    *done = !st;
    eco_verdict_free(&v);
    eco_eval_report_free(&rep);
    eco_registry_reports_free(reps, n);
    return st;
}

/* The artifact checks and the contamination rule: the signature's findings clear
 * *signature_ok, "no-train.unknown" is noted only, every other finding goes to *hard. */
static eco_status artifact_checks(loop_ctx *x, const eco_genome *g, const eco_eval_corpus *corpus,
                                  eco_artifact_failures *all, eco_artifact_failures *hard,
                                  bool *signature_ok) {
    bool adapter = g->kind == ECO_GENOME_KIND_ADAPTER;
    eco_artifact_check_options ao = {.model_id = adapter ? g->base : g->id,
                                     .adapter_id = adapter ? g->id : NULL};
    const char *ids[2] = {ao.model_id, ao.adapter_id};
    eco_status st = eco_artifact_check(x->r, &ao, all);
    if (!st) st = eco_eval_contamination(x->r, ids, adapter ? 2 : 1, corpus, all);
    *signature_ok = true;
    for (size_t i = 0; !st && i < all->n; i++) {
        if (strcmp(all->v[i].check, "signature") == 0)
            *signature_ok = false;
        else if (strcmp(all->v[i].check, "no-train.unknown") != 0)
            st = eco_artifact_failures_add(hard, all->v[i].check, "%s", all->v[i].detail);
    }
    return st;
}

static void outcome_init(loop_outcome *out) {
    memset(out, 0, sizeof *out);
    out->fitness = NAN;
    for (size_t i = 0; i < ECO_LOOP_MAX_CAPS; i++) out->quality[i] = out->shift[i] = NAN;
}

eco_status loop_evaluate(loop_ctx *x, const char *id, const size_t *caps, size_t n, int64_t g,
                         loop_outcome *out) {
    outcome_init(out);
    char *path = NULL;
    eco_eval_corpus *corpus = NULL;
    eco_status st = loop_eval_corpus(x, caps, n, &path);
    if (!st) st = eco_eval_corpus_load(path, &corpus);
    free(path);
    bool found = false, done = false;
    eco_gates *gates = NULL;
    if (!st) st = gates_for(x, caps, n, &gates);
    if (!st) st = loop_event_find(x, "gate", id, -1, NULL, &found, NULL);
    if (!st && found) st = rejudge(x, gates, id, corpus->sha256_hex, out, &done);
    if (st || done) {
        eco_gates_free(gates);
        eco_eval_corpus_free(corpus);
        return st;
    }
    eco_genome gen = {0};
    eco_artifact_failures all = {0}, hard = {0};
    eco_engine *eng = NULL;
    eco_eval_report rep;
    eco_verdict v;
    memset(&rep, 0, sizeof rep);
    memset(&v, 0, sizeof v);
    bool sig = true;
    int64_t seq = -1;
    if (!(st = eco_registry_get(x->r, id, &gen, NULL)))
        st = artifact_checks(x, &gen, corpus, &all, &hard, &sig);
    if (!st && hard.n) { /* refused before any run */
        out->accepted = false;
        snprintf(out->reasons, sizeof out->reasons, "artifact.%s", hard.v[0].check);
        st = gate_event(x, id, g, NULL, NULL, &hard, -1, out);
        goto done;
    }
    eco_eval_caps caps_run;
    eco_eval_caps_init(&caps_run);
    caps_run.threads = x->c->evaluation.threads;
    caps_run.robustness = false;
    caps_run.seed = x->c->evaluation.seed;
    caps_run.deny = x->deny;
    caps_run.n_deny = x->n_deny;
    if (x->c->evaluation.max_tokens) caps_run.max_tokens = (int)x->c->evaluation.max_tokens;
    if (!st) st = eco_canary_open_registry(x->r, id, &eng);
    if (!st) {
        eco_eval_llama_scorer(eng, &caps_run.scorer);
        bool adapter = gen.kind == ECO_GENOME_KIND_ADAPTER;
        st = eco_evaluate(eng, corpus, &caps_run, adapter ? gen.base : id, adapter ? id : NULL,
                          NULL, NULL, &rep);
    }
    double cov = 0;
    if (!st && eco_eval_coverage_registry(x->r, id, gates, &rep, NULL, &cov) != ECO_STATUS_OK)
        cov = 0; /* a parent's report that does not parse: nothing counted as new */
    if (!st) {
        snprintf(rep.gates_sha256, sizeof rep.gates_sha256, "%s", eco_gates_sha256(gates));
        st = eco_gates_judge(gates, &rep, sig, cov, &v);
    }
    if (!st) st = fill_outcome(x, &rep, &v, out);
    if (!st) st = store_report(x, id, &rep, &v, &all, &seq);
    if (!st) st = gate_event(x, id, g, &rep, &v, NULL, seq, out);
done:
    eco_engine_destroy(eng);
    eco_eval_report_free(&rep);
    eco_verdict_free(&v);
    eco_artifact_failures_free(&all);
    eco_artifact_failures_free(&hard);
    eco_genome_free(&gen);
    eco_gates_free(gates);
    eco_eval_corpus_free(corpus);
    return st ? eco_error_wrap(st, "loop: evaluating '%s'", id) : ECO_STATUS_OK;
}
