/*
 * The evaluation report (and its verdict) as canonical JSON (core's eco_json_canonical:
 * sorted keys, no white space, reals with 17 significant digits so they read back
 * exactly). Every figure that depends on timing sits in a "timing" object, which
 * with_timing = false leaves out; what remains is a function of the model, the corpus, the
 * caps and the gates alone. The layout is in include/ecology/evaluator.h.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/evaluator.h"

/* The builder: the first error sticks; every helper is a no-op returning NULL after it. */
typedef struct jb {
    eco_status st;
    bool timing; /* with_timing */
} jb;

static json_t *fail_oom(jb *b) {
    if (!b->st) b->st = eco_error(ECO_STATUS_ENOMEM, "report JSON: out of memory");
    return NULL;
}

/* Takes v (NULL: an error already recorded, or out of memory) into o[key]. */
static void put(jb *b, json_t *o, const char *key, json_t *v) {
    if (!v) {
        fail_oom(b);
        return;
    }
    if (json_object_set_new(o, key, v)) fail_oom(b); /* v is freed on failure too */
}

static void push(jb *b, json_t *a, json_t *v) {
    if (!v) {
        fail_oom(b);
        return;
    }
    if (json_array_append_new(a, v)) fail_oom(b);
}

/* A real: finite (else EINVAL naming what), −0 written as 0. */
static json_t *num(jb *b, const char *what, double x) {
    if (b->st) return NULL;
    if (!isfinite(x)) {
        b->st = eco_error(ECO_STATUS_EINVAL, "report JSON: %s is not finite", what);
        return NULL;
    }
    return json_real(x == 0 ? 0.0 : x);
}

/* An unsigned count: an integer, or its decimal string past INT64_MAX (JSON readers keep
 * neither exactly, and a string at least does not change sign). */
static json_t *u64(jb *b, uint64_t x) {
    if (b->st) return NULL;
    if (x <= (uint64_t)INT64_MAX) return json_integer((json_int_t)x);
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)x);
    return json_string(s);
}

/* A string of any bytes: kept when valid UTF-8, else each byte that does not start a valid
 * sequence becomes U+FFFD (*lossy, may be NULL, says so). NULL s gives JSON null. */
static json_t *str(jb *b, const char *s, size_t len, bool *lossy) {
    if (lossy) *lossy = false;
    if (b->st) return NULL;
    if (!s) return json_null();
    if (eco_utf8_valid_prefix(s, len) == len) return json_stringn(s, len);
    size_t n = 0;
    char *t = eco_utf8_lossy(s, len, &n);
    if (!t) return NULL;
    json_t *v = json_stringn(t, n);
    free(t);
    if (lossy) *lossy = true;
    return v;
}

static json_t *cstr(jb *b, const char *s) { return str(b, s, s ? strlen(s) : 0, NULL); }

static json_t *obj(jb *b) { return b->st ? NULL : json_object(); }

/* ---- figures -------------------------------------------------------------------------- */

static json_t *rate(jb *b, const char *what, const eco_rate *r) {
    json_t *o = obj(b);
    put(b, o, "k", u64(b, r->k));
    put(b, o, "n", u64(b, r->n));
    put(b, o, "rate", num(b, what, r->rate));
    put(b, o, "lo", num(b, what, r->lo));
    put(b, o, "hi", num(b, what, r->hi));
    return o;
}

static json_t *calibration(jb *b, const eco_calibration *c) {
    json_t *o = obj(b);
    put(b, o, "n", u64(b, c->n));
    put(b, o, "accuracy", num(b, "calibration.accuracy", c->accuracy));
    put(b, o, "mean_conf", num(b, "calibration.mean_conf", c->mean_conf));
    put(b, o, "ece_em", num(b, "calibration.ece_em", c->ece_em));
    put(b, o, "ece_ew", num(b, "calibration.ece_ew", c->ece_ew));
    put(b, o, "brier", num(b, "calibration.brier", c->brier));
    put(b, o, "acc_top10", num(b, "calibration.acc_top10", c->acc_top10));
    put(b, o, "n_top10", u64(b, c->n_top10));
    put(b, o, "small_n", json_boolean(c->small_n));
    return o;
}

static json_t *robustness(jb *b, const eco_eval_report *r, const eco_eval_cap_figures *f) {
    if (b->st) return NULL;
    if (!r->caps.robustness) return json_null();
    json_t *o = obj(b), *kinds = obj(b);
    for (int k = 0; k < ECO_PERTURB__COUNT; k++)
        put(b, kinds, eco_perturb_kind_name((eco_perturb_kind)k),
            num(b, "robustness pass rate", f->robust_pass[k]));
    put(b, o, "kinds", kinds);
    put(b, o, "mean", num(b, "robustness.mean", f->robustness.mean));
    put(b, o, "worst", num(b, "robustness.worst", f->robustness.worst));
    const char *worst = f->robustness.worst_kind >= 0
                            ? eco_perturb_kind_name((eco_perturb_kind)f->robustness.worst_kind)
                            : NULL;
    put(b, o, "worst_kind", cstr(b, worst));
    return o;
}

static json_t *figures(jb *b, const eco_eval_report *r, const eco_eval_cap_figures *f) {
    json_t *o = obj(b);
    put(b, o, "quality", rate(b, "quality", &f->quality));
    put(b, o, "in_distribution", rate(b, "quality in-distribution", &f->quality_by_tag[0]));
    put(b, o, "shift", rate(b, "quality shift", &f->quality_by_tag[1]));
    put(b, o, "format", rate(b, "format", &f->format));
    put(b, o, "refusal", rate(b, "refusal", &f->refusal));
    put(b, o, "compliance", rate(b, "compliance", &f->compliance));
    put(b, o, "calibration", calibration(b, &f->calibration));
    put(b, o, "robustness", robustness(b, r, f));
    return o;
}

/* ---- cases ---------------------------------------------------------------------------- */

static json_t *one_case(jb *b, const eco_eval_report *r, const eco_eval_result *c) {
    json_t *o = obj(b);
    put(b, o, "index", u64(b, c->index));
    put(b, o, "id", cstr(b, c->id));
    put(b, o, "passed", json_boolean(c->passed));
    put(b, o, "reason", cstr(b, c->reason));
    bool lossy = false;
    put(b, o, "output", str(b, c->output ? c->output : "", c->output ? c->output_len : 0, &lossy));
    if (lossy) put(b, o, "output_invalid_utf8", json_true());
    put(b, o, "confidence", num(b, "a case's confidence", c->confidence));
    put(b, o, "truncated", json_boolean(c->truncated));
    put(b, o, "timed_out", json_boolean(c->timed_out));
    put(b, o, "refused", json_boolean(c->refused));
    put(b, o, "format_valid", json_boolean(c->format_valid));
    put(b, o, "deny_hit", c->deny_hit >= 0 ? json_integer(c->deny_hit) : json_null());
    put(b, o, "chosen", c->chosen >= 0 ? json_integer(c->chosen) : json_null());
    json_t *tok = obj(b);
    put(b, tok, "prompt", u64(b, c->prompt_tokens));
    put(b, tok, "generated", u64(b, c->gen_tokens));
    put(b, o, "tokens", tok);
    if (c->over_context) put(b, o, "over_context", json_true());
    if (r->caps.robustness && c->chosen < 0 && !c->over_context) {
        json_t *p = obj(b);
        for (int k = 0; k < ECO_PERTURB__COUNT; k++)
            put(b, p, eco_perturb_kind_name((eco_perturb_kind)k),
                json_boolean(c->perturbed_pass >> k & 1));
        put(b, o, "perturbed", p);
    } else {
        put(b, o, "perturbed", json_null());
    }
    if (b->timing) {
        json_t *t = obj(b);
        put(b, t, "latency_ms", num(b, "a case's latency_ms", c->latency_ms));
        put(b, t, "prompt_ms", num(b, "a case's prompt_ms", c->prompt_ms));
        put(b, t, "decode_ms", num(b, "a case's decode_ms", c->decode_ms));
        put(b, o, "timing", t);
    }
    return o;
}

/* ---- verdict -------------------------------------------------------------------------- */

/* Gates whose figure is a timing (their value goes under "timing"). */
static bool timing_gate(const char *gate) {
    return strncmp(gate, "latency.", 8) == 0 || strncmp(gate, "memory.", 7) == 0;
}

static json_t *verdict(jb *b, const eco_verdict *v) {
    json_t *o = obj(b), *fails = b->st ? NULL : json_array(), *nm = b->st ? NULL : json_array();
    put(b, o, "accepted", json_boolean(v->accepted));
    put(b, o, "signature_ok", json_boolean(v->signature_ok));
    put(b, o, "coverage", num(b, "verdict.coverage", v->coverage));
    for (size_t i = 0; i < v->n_failures; i++) {
        const eco_gate_failure *f = &v->failures[i];
        json_t *e = obj(b);
        put(b, e, "gate", cstr(b, f->gate ? f->gate : ""));
        put(b, e, "limit", num(b, "a gate's limit", f->limit));
        if (f->not_measured) { /* the file set it, the corpus or run measured nothing */
            put(b, e, "value", json_null());
            put(b, e, "not_measured", json_true());
        } else if (!f->gate || !timing_gate(f->gate)) {
            put(b, e, "value", num(b, "a gate's value", f->value));
        } else if (b->timing) {
            json_t *t = obj(b);
            put(b, t, "value", num(b, "a gate's value", f->value));
            put(b, e, "timing", t);
        }
        push(b, fails, e);
    }
    put(b, o, "failures", fails);
    for (size_t i = 0; i < v->n_not_measured; i++)
        push(b, nm, cstr(b, v->not_measured[i] ? v->not_measured[i] : ""));
    put(b, o, "not_measured", nm);
    if (!v->has_fitness) {
        put(b, o, "fitness", b->st ? NULL : json_null());
        return o;
    }
    const eco_fitness *f = &v->fitness;
    json_t *fo = obj(b);
    put(b, fo, "quality", num(b, "fitness.quality", f->quality));
    put(b, fo, "calibration", num(b, "fitness.calibration", f->calibration));
    put(b, fo, "robustness", num(b, "fitness.robustness", f->robustness));
    put(b, fo, "coverage", num(b, "fitness.coverage", f->coverage));
    if (b->timing) {
        json_t *t = obj(b), *vec = b->st ? NULL : json_array();
        put(b, t, "latency", num(b, "fitness.latency", f->latency));
        put(b, t, "memory", num(b, "fitness.memory", f->memory));
        put(b, t, "total", num(b, "fitness.total", f->total));
        for (int i = 0; i < 6; i++) push(b, vec, num(b, "fitness.objectives", f->objectives[i]));
        put(b, t, "objectives", vec);
        put(b, fo, "timing", t);
    }
    put(b, o, "fitness", fo);
    return o;
}

/* ---- the report ----------------------------------------------------------------------- */

static json_t *latency(jb *b, const eco_latency *l) {
    json_t *o = obj(b);
    put(b, o, "n", u64(b, l->n));
    put(b, o, "p50", num(b, "latency_ms.p50", l->p50));
    put(b, o, "p95", num(b, "latency_ms.p95", l->p95));
    put(b, o, "p99", num(b, "latency_ms.p99", l->p99));
    put(b, o, "min", num(b, "latency_ms.min", l->min));
    put(b, o, "max", num(b, "latency_ms.max", l->max));
    put(b, o, "mean", num(b, "latency_ms.mean", l->mean));
    return o;
}

static json_t *report(jb *b, const eco_eval_report *r, const eco_verdict *v) {
    json_t *o = obj(b);
    put(b, o, "evaluator_version", cstr(b, ECO_EVALUATOR_VERSION));
    put(b, o, "model", cstr(b, r->model ? r->model : ""));
    put(b, o, "adapter", cstr(b, r->adapter));
    put(b, o, "corpus", cstr(b, r->corpus_sha256));
    put(b, o, "gates", cstr(b, r->gates_sha256[0] ? r->gates_sha256 : NULL));

    json_t *caps = obj(b);
    put(b, caps, "threads", json_integer(r->caps.threads));
    put(b, caps, "max_tokens", json_integer(r->caps.max_tokens));
    put(b, caps, "case_timeout_ms", num(b, "caps.case_timeout_ms", r->caps.case_timeout_ms));
    put(b, caps, "robustness", json_boolean(r->caps.robustness));
    put(b, caps, "seed", u64(b, r->caps.seed));
    put(b, caps, "n_deny", u64(b, r->caps.n_deny));
    put(b, o, "caps", caps);

    json_t *capabilities = obj(b);
    const eco_eval_cap_figures *overall = NULL;
    for (size_t i = 0; i < r->n_caps && !b->st; i++) {
        const eco_eval_cap_figures *f = &r->caps_fig[i];
        const char *name = f->capability ? f->capability : "";
        if (i + 1 == r->n_caps && strcmp(name, "overall") == 0) {
            overall = f;
            break;
        }
        if (json_object_get(capabilities, name)) {
            b->st = eco_error(ECO_STATUS_EINVAL, "report JSON: capability '%s' twice", name);
            break;
        }
        put(b, capabilities, name, figures(b, r, f));
    }
    put(b, o, "capabilities", capabilities);
    put(b, o, "overall", overall ? figures(b, r, overall) : b->st ? NULL : json_null());

    json_t *safety = obj(b);
    put(b, safety, "deny_hits", u64(b, r->deny_hits));
    if (overall) {
        put(b, safety, "refusal", rate(b, "refusal", &overall->refusal));
        put(b, safety, "compliance", rate(b, "compliance", &overall->compliance));
    }
    put(b, o, "safety", safety);

    json_t *size = obj(b);
    put(b, size, "n_params", json_integer(r->n_params));
    put(b, size, "bytes_on_disk", u64(b, r->bytes_on_disk));
    put(b, o, "size", size);

    json_t *cases = b->st ? NULL : json_array();
    for (size_t i = 0; i < r->n_results && !b->st; i++)
        push(b, cases, one_case(b, r, &r->results[i]));
    put(b, o, "cases", cases);

    if (v) put(b, o, "verdict", verdict(b, v));

    if (b->timing) {
        json_t *t = obj(b);
        put(b, t, "latency_ms", latency(b, &r->latency_ms));
        put(b, t, "prompt_tok_s", num(b, "prompt_tok_s", r->prompt_tok_s));
        put(b, t, "decode_tok_s", num(b, "decode_tok_s", r->decode_tok_s));
        put(b, t, "peak_rss_bytes", u64(b, r->peak_rss_bytes));
        put(b, t, "wall_s", num(b, "wall_s", r->wall_s));
        put(b, o, "timing", t);
    }
    return o;
}

eco_status eco_eval_report_json(const eco_eval_report *r, const eco_verdict *v, bool with_timing,
                                char **out) {
    if (out) *out = NULL;
    if (!r || !out) return eco_error(ECO_STATUS_EINVAL, "report JSON: NULL argument");
    if (r->n_caps && !r->caps_fig)
        return eco_error(ECO_STATUS_EINVAL, "report JSON: %zu capabilities without figures",
                         r->n_caps);
    if (r->n_results && !r->results)
        return eco_error(ECO_STATUS_EINVAL, "report JSON: %zu results missing", r->n_results);
    if (v && ((v->n_failures && !v->failures) || (v->n_not_measured && !v->not_measured)))
        return eco_error(ECO_STATUS_EINVAL, "report JSON: verdict lists missing");
    jb b = {ECO_STATUS_OK, with_timing};
    json_t *doc = report(&b, r, v);
    eco_status st = b.st;
    if (!st && !doc) {
        fail_oom(&b);
        st = b.st;
    }
    if (!st) st = eco_json_canonical(doc, out, NULL);
    json_decref(doc);
    return st;
}

eco_status eco_verdict_json(const eco_verdict *v, bool with_timing, char **out) {
    if (out) *out = NULL;
    if (!v || !out) return eco_error(ECO_STATUS_EINVAL, "verdict JSON: NULL argument");
    if ((v->n_failures && !v->failures) || (v->n_not_measured && !v->not_measured))
        return eco_error(ECO_STATUS_EINVAL, "verdict JSON: verdict lists missing");
    jb b = {ECO_STATUS_OK, with_timing};
    json_t *doc = verdict(&b, v);
    eco_status st = b.st;
    if (!st && !doc) {
        fail_oom(&b);
        st = b.st;
    }
    if (!st) st = eco_json_canonical(doc, out, NULL);
    json_decref(doc);
    return st;
}
