/*
 * The evaluation report read back from its canonical JSON (evaluator.h: eco_eval_report_parse),
 * so that a stored report can be judged again: strict (every object's keys checked, every
 * figure typed and ranged, each rate consistent with its k and n), errors naming the field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "ecology/evaluator.h"

static eco_status oom(const char *label) {
    return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
}

/* An object member as a child reader; required or (absent/null) *present false. */
static eco_status child(const eco_jr *r, const char *key, bool required, eco_jr *out,
                        bool *present) {
    const json_t *o = NULL;
    eco_status st = eco_jr_object(r, key, required, &o);
    if (present) *present = o != NULL;
    if (!st && o) *out = eco_jr_child(r, key, o);
    return st;
}

/* A count: an integer >= 0, or its decimal string past INT64_MAX (as report_json writes). */
static eco_status u64_field(const eco_jr *r, const char *key, uint64_t *out) {
    const json_t *v = NULL;
    eco_status st = eco_jr_need(r, key, &v);
    if (st) return st;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        unsigned long long x = strtoull(s, &end, 10);
        if (*s < '0' || *s > '9' || *end || x <= (unsigned long long)INT64_MAX)
            return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "expected a count");
        *out = (uint64_t)x;
        return ECO_STATUS_OK;
    }
    int64_t x;
    if ((st = eco_jr_int(r, key, true, 0, INT64_MAX, &x))) return st;
    *out = (uint64_t)x;
    return ECO_STATUS_OK;
}

static const char *const RATE_KEYS[] = {"k", "n", "rate", "lo", "hi", NULL};

/* A rate {k, n, rate, lo, hi}: k <= n, and the figures those of eco_rate_wilson(k, n). */
static eco_status rate_field(const eco_jr *p, const char *key, eco_rate *out) {
    eco_jr r;
    eco_status st = child(p, key, true, &r, NULL);
    if (st || (st = eco_jr_exact(&r, RATE_KEYS))) return st;
    uint64_t k, n;
    double rate, lo, hi;
    if ((st = u64_field(&r, "k", &k)) || (st = u64_field(&r, "n", &n)) ||
        (st = eco_jr_num(&r, "rate", true, 0, 1, &rate)) ||
        (st = eco_jr_num(&r, "lo", true, 0, 1, &lo)) ||
        (st = eco_jr_num(&r, "hi", true, 0, 1, &hi)))
        return st;
    if (k > n)
        return eco_jr_fail(&r, "k", ECO_STATUS_EFORMAT, "%llu > n %llu", (unsigned long long)k,
                           (unsigned long long)n);
    if ((st = eco_rate_wilson(k, n, out))) return st;
    if (out->rate != rate || out->lo != lo || out->hi != hi)
        return eco_jr_fail(&r, "rate", ECO_STATUS_EFORMAT,
                           "%.17g (interval [%.17g, %.17g]) is not that of k %llu, n %llu", rate,
                           lo, hi, (unsigned long long)k, (unsigned long long)n);
    return ECO_STATUS_OK;
}

static const char *const CAL_KEYS[] = {"n",     "accuracy",  "mean_conf", "ece_em",  "ece_ew",
                                       "brier", "acc_top10", "n_top10",   "small_n", NULL};

static eco_status calibration_field(const eco_jr *p, eco_calibration *c) {
    eco_jr r;
    eco_status st = child(p, "calibration", true, &r, NULL);
    if (st || (st = eco_jr_exact(&r, CAL_KEYS))) return st;
    uint64_t n, n10;
    if ((st = u64_field(&r, "n", &n)) || (st = u64_field(&r, "n_top10", &n10)) ||
        (st = eco_jr_num(&r, "accuracy", true, 0, 1, &c->accuracy)) ||
        (st = eco_jr_num(&r, "mean_conf", true, 0, 1, &c->mean_conf)) ||
        (st = eco_jr_num(&r, "ece_em", true, 0, 1, &c->ece_em)) ||
        (st = eco_jr_num(&r, "ece_ew", true, 0, 1, &c->ece_ew)) ||
        (st = eco_jr_num(&r, "brier", true, 0, 1, &c->brier)) ||
        (st = eco_jr_num(&r, "acc_top10", true, 0, 1, &c->acc_top10)) ||
        (st = eco_jr_bool(&r, "small_n", true, &c->small_n)))
        return st;
    c->n = (size_t)n;
    c->n_top10 = (size_t)n10;
    return ECO_STATUS_OK;
}

static const char *const ROB_KEYS[] = {"kinds", "mean", "worst", "worst_kind", NULL};

static eco_status robustness_field(const eco_jr *p, eco_eval_cap_figures *f) {
    eco_jr r, kinds;
    bool present;
    f->robustness.worst_kind = -1;
    eco_status st = child(p, "robustness", false, &r, &present);
    if (st || !present) return st;
    if ((st = eco_jr_exact(&r, ROB_KEYS)) || (st = child(&r, "kinds", true, &kinds, NULL)))
        return st;
    const char *names[ECO_PERTURB__COUNT + 1];
    for (int k = 0; k < ECO_PERTURB__COUNT; k++)
        names[k] = eco_perturb_kind_name((eco_perturb_kind)k);
    names[ECO_PERTURB__COUNT] = NULL;
    if ((st = eco_jr_exact(&kinds, names))) return st;
    for (int k = 0; k < ECO_PERTURB__COUNT; k++)
        if ((st = eco_jr_num(&kinds, names[k], true, 0, 1, &f->robust_pass[k]))) return st;
    if ((st = eco_robustness_summary(f->robust_pass, ECO_PERTURB__COUNT, &f->robustness)))
        return st;
    double mean, worst;
    const char *wk = NULL;
    if ((st = eco_jr_num(&r, "mean", true, 0, 1, &mean)) ||
        (st = eco_jr_num(&r, "worst", true, 0, 1, &worst)) ||
        (st = eco_jr_str(&r, "worst_kind", false, false, &wk, NULL)))
        return st;
    /* no non-choice case: every figure 0 and worst_kind null (evaluator.h, "Figures") */
    if (!wk && f->robustness.mean == 0 && f->robustness.worst == 0) f->robustness.worst_kind = -1;
    const char *want = f->robustness.worst_kind >= 0 ? names[f->robustness.worst_kind] : NULL;
    if (mean != f->robustness.mean || worst != f->robustness.worst ||
        (wk == NULL) != (want == NULL) || (wk && strcmp(wk, want) != 0))
        return eco_jr_fail(&r, NULL, ECO_STATUS_EFORMAT,
                           "mean, worst and worst_kind are not those of its kinds");
    return ECO_STATUS_OK;
}

static const char *const FIG_KEYS[] = {"quality",     "in_distribution", "shift",
                                       "format",      "refusal",         "compliance",
                                       "calibration", "robustness",      NULL};

static eco_status figures_value(const eco_jr *p, const char *key, const json_t *o,
                                eco_eval_cap_figures *f) {
    if (!json_is_object(o)) return eco_jr_fail(p, key, ECO_STATUS_EFORMAT, "expected an object");
    eco_jr r = eco_jr_child(p, key, o);
    eco_status st;
    if ((st = eco_jr_only(&r, FIG_KEYS)) || (st = rate_field(&r, "quality", &f->quality)) ||
        (st = rate_field(&r, "in_distribution", &f->quality_by_tag[0])) ||
        (st = rate_field(&r, "shift", &f->quality_by_tag[1])) ||
        (st = rate_field(&r, "format", &f->format)) ||
        (st = rate_field(&r, "refusal", &f->refusal)) ||
        (st = rate_field(&r, "compliance", &f->compliance)) ||
        (st = calibration_field(&r, &f->calibration)) || (st = robustness_field(&r, f)))
        return st;
    return ECO_STATUS_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "capabilities" (sorted by strcmp) then "overall" into r->caps_fig. */
static eco_status capabilities(const eco_jr *root, const char *label, eco_eval_report *r) {
    const json_t *caps = NULL, *overall = NULL;
    eco_status st = eco_jr_object(root, "capabilities", true, &caps);
    if (st || (st = eco_jr_need(root, "overall", &overall))) return st;
    if (json_is_null(overall))
        return eco_jr_fail(root, "overall", ECO_STATUS_EFORMAT, "null: the report has no case");
    size_t n = json_object_size(caps);
    const char **names = eco_calloc_array(n + 1, sizeof *names);
    r->caps_fig = eco_calloc_array(n + 1, sizeof *r->caps_fig);
    if (!names || !r->caps_fig) {
        free(names);
        return oom(label);
    }
    size_t i = 0;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)caps, key, v) names[i++] = key;
    qsort(names, n, sizeof *names, cmp_str);
    eco_jr cr = eco_jr_child(root, "capabilities", caps);
    for (i = 0; i < n && !st; i++) {
        size_t len = strlen(names[i]);
        if (len == 0 || len > 128 || strcmp(names[i], "overall") == 0)
            st = eco_jr_fail(&cr, names[i], ECO_STATUS_EFORMAT, "not a capability name");
        else if (!(r->caps_fig[i].capability = eco_strdup(names[i])))
            st = oom(label);
        else
            st = figures_value(&cr, names[i], json_object_get(caps, names[i]), &r->caps_fig[i]);
        r->n_caps = i + 1;
    }
    if (!st) {
        r->n_caps = n + 1;
        if (!(r->caps_fig[n].capability = eco_strdup("overall")))
            st = oom(label);
        else
            st = figures_value(root, "overall", overall, &r->caps_fig[n]);
    }
    free(names);
    return st;
}

static const char *const CASE_KEYS[] = {
    "index",      "id",           "passed",    "reason",    "output",       "output_invalid_utf8",
    "confidence", "truncated",    "timed_out", "refused",   "format_valid", "deny_hit",
    "chosen",     "over_context", "tokens",    "perturbed", "timing",       NULL};
static const char *const TOKEN_KEYS[] = {"prompt", "generated", NULL};
static const char *const CASE_TIMING_KEYS[] = {"latency_ms", "prompt_ms", "decode_ms", NULL};

static eco_status dup_str(const eco_jr *r, const char *key, const char *label, char **out,
                          size_t *len) {
    const char *s = NULL;
    size_t n = 0;
    eco_status st = eco_jr_str(r, key, false, key[0] == 'o', &s, &n);
    if (st || !s) return st;
    if (!(*out = malloc(n + 1))) return oom(label);
    memcpy(*out, s, n);
    (*out)[n] = 0;
    if (len) *len = n;
    return ECO_STATUS_OK;
}

static eco_status one_case(const eco_jr *r, const char *label, bool robustness,
                           eco_eval_result *c) {
    eco_status st = eco_jr_only(r, CASE_KEYS);
    int64_t x;
    uint64_t pt, gt;
    eco_jr t;
    bool present;
    c->deny_hit = -1;
    c->chosen = -1;
    if (st || (st = eco_jr_int(r, "index", true, 0, INT64_MAX, &x))) return st;
    c->index = (size_t)x;
    if ((st = dup_str(r, "id", label, &c->id, NULL)) ||
        (st = dup_str(r, "reason", label, &c->reason, NULL)) ||
        (st = dup_str(r, "output", label, &c->output, &c->output_len)) ||
        (st = eco_jr_bool(r, "passed", true, &c->passed)) ||
        (st = eco_jr_num(r, "confidence", true, 0, 1, &c->confidence)) ||
        (st = eco_jr_bool(r, "truncated", true, &c->truncated)) ||
        (st = eco_jr_bool(r, "timed_out", true, &c->timed_out)) ||
        (st = eco_jr_bool(r, "refused", true, &c->refused)) ||
        (st = eco_jr_bool(r, "format_valid", true, &c->format_valid)) ||
        (st = eco_jr_int(r, "deny_hit", false, 0, INT32_MAX, &x)))
        return st;
    if (eco_jr_opt(r, "deny_hit")) c->deny_hit = (long)x;
    if ((st = eco_jr_int(r, "chosen", false, 0, INT32_MAX, &x))) return st;
    if (eco_jr_opt(r, "chosen")) c->chosen = (int)x;
    if ((st = eco_jr_bool(r, "over_context", false, &c->over_context))) return st;
    if (eco_jr_opt(r, "over_context") && !c->over_context)
        return eco_jr_fail(r, "over_context", ECO_STATUS_EFORMAT, "written only when true");
    if (c->over_context && (c->passed || c->chosen >= 0))
        return eco_jr_fail(r, "over_context", ECO_STATUS_EFORMAT,
                           "a case over the context neither passed nor chose");
    if (!c->output) return eco_jr_fail(r, "output", ECO_STATUS_EFORMAT, "missing");
    if ((st = child(r, "tokens", true, &t, NULL)) || (st = eco_jr_exact(&t, TOKEN_KEYS)) ||
        (st = u64_field(&t, "prompt", &pt)) || (st = u64_field(&t, "generated", &gt)))
        return st;
    c->prompt_tokens = (size_t)pt;
    c->gen_tokens = (size_t)gt;
    if ((st = child(r, "perturbed", false, &t, &present))) return st;
    if (present != (robustness && c->chosen < 0 && !c->over_context))
        return eco_jr_fail(r, "perturbed", ECO_STATUS_EFORMAT,
                           present ? "set in a case without a robustness run" : "missing");
    if (present) {
        const char *names[ECO_PERTURB__COUNT + 1];
        for (int k = 0; k < ECO_PERTURB__COUNT; k++)
            names[k] = eco_perturb_kind_name((eco_perturb_kind)k);
        names[ECO_PERTURB__COUNT] = NULL;
        if ((st = eco_jr_exact(&t, names))) return st;
        for (int k = 0; k < ECO_PERTURB__COUNT; k++) {
            bool b;
            if ((st = eco_jr_bool(&t, names[k], true, &b))) return st;
            c->perturbed_pass |= (uint8_t)(b ? 1u << k : 0);
        }
    }
    if ((st = child(r, "timing", false, &t, &present))) return st;
    if (present && ((st = eco_jr_exact(&t, CASE_TIMING_KEYS)) ||
                    (st = eco_jr_num(&t, "latency_ms", true, 0, 1e12, &c->latency_ms)) ||
                    (st = eco_jr_num(&t, "prompt_ms", true, 0, 1e12, &c->prompt_ms)) ||
                    (st = eco_jr_num(&t, "decode_ms", true, 0, 1e12, &c->decode_ms))))
        return st;
    return ECO_STATUS_OK;
}

/* "artifact_checks": what the registry's stored copy adds (eval_registry.c); not read. */
static const char *const ROOT_KEYS[] = {"evaluator_version",
                                        "model",
                                        "adapter",
                                        "corpus",
                                        "gates",
                                        "caps",
                                        "capabilities",
                                        "overall",
                                        "safety",
                                        "size",
                                        "cases",
                                        "verdict",
                                        "timing",
                                        "artifact_checks",
                                        NULL};
static const char *const CAPS_KEYS[] = {
    "threads", "max_tokens", "case_timeout_ms", "robustness", "seed", "n_deny", NULL};
static const char *const SAFETY_KEYS[] = {"deny_hits", "refusal", "compliance", NULL};
static const char *const SIZE_KEYS[] = {"n_params", "bytes_on_disk", NULL};
static const char *const VERDICT_KEYS[] = {
    "accepted", "failures", "not_measured", "fitness", "signature_ok", "coverage", NULL};
static const char *const TIMING_KEYS[] = {"latency_ms",     "prompt_tok_s", "decode_tok_s",
                                          "peak_rss_bytes", "wall_s",       NULL};
static const char *const LAT_KEYS[] = {"n", "p50", "p95", "p99", "min", "max", "mean", NULL};

/* A SHA-256 in lowercase hex into out (ECO_SHA256_HEX_LEN + 1); null gives "" when
 * nullable. */
static eco_status sha_field(const eco_jr *r, const char *key, bool nullable, char *out) {
    const char *s = NULL;
    size_t n = 0;
    eco_status st = eco_jr_str(r, key, !nullable, false, &s, &n);
    if (st) return st;
    out[0] = 0;
    if (!s) return ECO_STATUS_OK;
    if (n != ECO_SHA256_HEX_LEN || strspn(s, "0123456789abcdef") != n)
        return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "not a SHA-256 in lowercase hex");
    memcpy(out, s, n + 1);
    return ECO_STATUS_OK;
}

static eco_status parse_root(const eco_jr *root, const char *label, eco_eval_report *r,
                             bool *signature_ok, double *coverage) {
    eco_status st = eco_jr_only(root, ROOT_KEYS);
    const char *ver = NULL;
    if (st || (st = eco_jr_str(root, "evaluator_version", true, false, &ver, NULL))) return st;
    if (strcmp(ver, ECO_EVALUATOR_VERSION) != 0)
        return eco_jr_fail(root, "evaluator_version", ECO_STATUS_EUNSUPPORTED,
                           "'%.16s' is not this evaluator's '%s'", ver, ECO_EVALUATOR_VERSION);
    if ((st = dup_str(root, "model", label, &r->model, NULL)) ||
        (st = dup_str(root, "adapter", label, &r->adapter, NULL)) ||
        (st = sha_field(root, "corpus", false, r->corpus_sha256)) ||
        (st = sha_field(root, "gates", true, r->gates_sha256)))
        return st;
    if (!r->model) return eco_jr_fail(root, "model", ECO_STATUS_EFORMAT, "missing");

    eco_jr c;
    int64_t x;
    uint64_t u;
    if ((st = child(root, "caps", true, &c, NULL)) || (st = eco_jr_exact(&c, CAPS_KEYS)) ||
        (st = eco_jr_int(&c, "threads", true, 0, INT32_MAX, &x)))
        return st;
    r->caps.threads = (int)x;
    if ((st = eco_jr_int(&c, "max_tokens", true, 1, INT32_MAX, &x))) return st;
    r->caps.max_tokens = (int)x;
    if ((st = eco_jr_num(&c, "case_timeout_ms", true, 0, 1e12, &r->caps.case_timeout_ms)) ||
        (st = eco_jr_bool(&c, "robustness", true, &r->caps.robustness)) ||
        (st = u64_field(&c, "seed", &r->caps.seed)) || (st = u64_field(&c, "n_deny", &u)))
        return st;
    r->caps.n_deny = (size_t)u;

    if ((st = capabilities(root, label, r))) return st;
    const eco_eval_cap_figures *all = &r->caps_fig[r->n_caps - 1];

    eco_rate ref, comp;
    if ((st = child(root, "safety", true, &c, NULL)) || (st = eco_jr_exact(&c, SAFETY_KEYS)) ||
        (st = u64_field(&c, "deny_hits", &u)) || (st = rate_field(&c, "refusal", &ref)) ||
        (st = rate_field(&c, "compliance", &comp)))
        return st;
    r->deny_hits = (size_t)u;
    if (ref.k != all->refusal.k || ref.n != all->refusal.n || comp.k != all->compliance.k ||
        comp.n != all->compliance.n)
        return eco_jr_fail(&c, NULL, ECO_STATUS_EFORMAT,
                           "refusal and compliance differ from those of \"overall\"");

    if ((st = child(root, "size", true, &c, NULL)) || (st = eco_jr_exact(&c, SIZE_KEYS)) ||
        (st = eco_jr_int(&c, "n_params", true, INT64_MIN, INT64_MAX, &r->n_params)) ||
        (st = u64_field(&c, "bytes_on_disk", &r->bytes_on_disk)))
        return st;

    const json_t *cases = NULL;
    if ((st = eco_jr_array(root, "cases", true, &cases))) return st;
    size_t n = json_array_size(cases);
    if (n != all->quality.n)
        return eco_jr_fail(root, "cases", ECO_STATUS_EFORMAT, "%zu cases, \"overall\" counts %llu",
                           n, (unsigned long long)all->quality.n);
    if (n && !(r->results = eco_calloc_array(n, sizeof *r->results))) return oom(label);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(cases, i);
        eco_jr er = eco_jr_item(root, "cases", i, e);
        if (!json_is_object(e))
            return eco_jr_fail(&er, NULL, ECO_STATUS_EFORMAT, "expected an object");
        r->n_results = i + 1;
        if ((st = one_case(&er, label, r->caps.robustness, &r->results[i]))) return st;
    }

    /* The verdict it was judged with (when it was): the artifact-check result and the
     * coverage, inputs a re-judging cannot recompute. */
    *signature_ok = false;
    *coverage = 0;
    bool present;
    if ((st = child(root, "verdict", false, &c, &present))) return st;
    if (present && ((st = eco_jr_only(&c, VERDICT_KEYS)) ||
                    (st = eco_jr_bool(&c, "signature_ok", false, signature_ok)) ||
                    (st = eco_jr_num(&c, "coverage", false, 0, 1, coverage))))
        return st;

    if ((st = child(root, "timing", false, &c, &present))) return st;
    if (present) {
        eco_jr l;
        eco_latency *lat = &r->latency_ms;
        if ((st = eco_jr_exact(&c, TIMING_KEYS)) ||
            (st = child(&c, "latency_ms", true, &l, NULL)) || (st = eco_jr_exact(&l, LAT_KEYS)) ||
            (st = u64_field(&l, "n", &u)) ||
            (st = eco_jr_num(&l, "p50", true, 0, 1e12, &lat->p50)) ||
            (st = eco_jr_num(&l, "p95", true, 0, 1e12, &lat->p95)) ||
            (st = eco_jr_num(&l, "p99", true, 0, 1e12, &lat->p99)) ||
            (st = eco_jr_num(&l, "min", true, 0, 1e12, &lat->min)) ||
            (st = eco_jr_num(&l, "max", true, 0, 1e12, &lat->max)) ||
            (st = eco_jr_num(&l, "mean", true, 0, 1e12, &lat->mean)) ||
            (st = eco_jr_num(&c, "prompt_tok_s", true, 0, 1e15, &r->prompt_tok_s)) ||
            (st = eco_jr_num(&c, "decode_tok_s", true, 0, 1e15, &r->decode_tok_s)) ||
            (st = u64_field(&c, "peak_rss_bytes", &r->peak_rss_bytes)) ||
            (st = eco_jr_num(&c, "wall_s", true, 0, 1e12, &r->wall_s)))
            return st;
        lat->n = (size_t)u;
    }
    return ECO_STATUS_OK;
}

eco_status eco_eval_report_parse(const char *text, size_t len, const char *label,
                                 eco_eval_report *out, bool *signature_ok, double *coverage) {
    if (out) memset(out, 0, sizeof *out);
    if (!text || !out || !signature_ok || !coverage)
        return eco_error(ECO_STATUS_EINVAL, "report: NULL argument");
    if (!label) label = "report";
    json_error_t err;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!doc) return eco_error(ECO_STATUS_EFORMAT, "%s: line %d: %s", label, err.line, err.text);
    eco_status st;
    if (!json_is_object(doc)) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: expected an object", label);
    } else {
        eco_jr root = eco_jr_root(label, doc);
        eco_eval_caps_init(&out->caps);
        st = parse_root(&root, label, out, signature_ok, coverage);
    }
    json_decref(doc);
    if (st) eco_eval_report_free(out);
    return st;
}

eco_status eco_eval_report_rejudge(const eco_gates *g, const char *text, size_t len,
                                   const char *label, eco_eval_report *rep, eco_verdict *v) {
    memset(rep, 0, sizeof *rep);
    memset(v, 0, sizeof *v);
    bool sig = false;
    double coverage = 0;
    eco_status st = eco_eval_report_parse(text, len, label, rep, &sig, &coverage);
    if (st) return st;
    snprintf(rep->gates_sha256, sizeof rep->gates_sha256, "%s", eco_gates_sha256(g));
    return eco_gates_judge(g, rep, sig, coverage, v);
}
