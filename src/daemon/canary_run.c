/*
 * canary_run: one canary of a challenger against a capability's champion on labelled
 * traffic, decided by the controller of canary.h and recorded in the registry (the rules:
 * daemon.h, "canary runner").
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/promotion.h"
#include "ecology/router.h"
#include "daemon/canary_internal.h"

#define MAX_REASONS 8

typedef struct run_state {
    const eco_canary_run_options *o;
    eco_eval_corpus *traffic;
    canary_arm can, champ;
    canary_hard *hard;
    eco_canary_ctl *ctl;
    eco_eval_caps caps;
    eco_canary_verdict verdict; /* of the last step judged */
    eco_canary_action last;
    int weight; /* the canary's weight in the last step judged */
    char reason_buf[MAX_REASONS][ECO_CANARY_REASONS_SIZE];
    const char *reasons[MAX_REASONS];
    size_t n_reasons;
} run_state;

static void add_reason(run_state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_reason(run_state *s, const char *fmt, ...) {
    if (s->n_reasons == MAX_REASONS) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->reason_buf[s->n_reasons], sizeof s->reason_buf[0], fmt, ap);
    va_end(ap);
    s->reasons[s->n_reasons] = s->reason_buf[s->n_reasons];
    s->n_reasons++;
}

static eco_status check_options(const eco_registry *r, const eco_canary_run_options *o,
                                const eco_canary_run_result *res) {
    if (!r || !o || !res) return eco_error(ECO_STATUS_EINVAL, "canary: NULL argument");
    const struct {
        const char *name, *value;
    } req[] = {{"run", o->run},
               {"capability", o->capability},
               {"champion", o->champion},
               {"challenger", o->challenger},
               {"traffic_path", o->traffic_path}};
    for (size_t i = 0; i < sizeof req / sizeof *req; i++)
        if (!req[i].value || !*req[i].value)
            return eco_error(ECO_STATUS_EINVAL, "canary: %s: required", req[i].name);
    if (!o->settings) return eco_error(ECO_STATUS_EINVAL, "canary: settings: required");
    if (o->threads < 0 || o->threads > ECO_MAX_THREADS)
        return eco_error(ECO_STATUS_EINVAL, "canary: threads: %d outside 0..%d", o->threads,
                         ECO_MAX_THREADS);
    if (!(o->case_timeout_ms >= 0) || isinf(o->case_timeout_ms))
        return eco_error(ECO_STATUS_EINVAL,
                         "canary: case_timeout_ms: %g is not a finite number >= 0",
                         o->case_timeout_ms);
    if (o->n_deny && !o->deny)
        return eco_error(ECO_STATUS_EINVAL, "canary: deny: %zu terms but no array", o->n_deny);
    return eco_canary_settings_check(o->settings);
}

/* Loads the traffic: a corpus with no choice case (those are scored, not served). */
static eco_status load_traffic(const char *path, eco_eval_corpus **out) {
    eco_status st = eco_eval_corpus_load(path, out);
    if (st != ECO_STATUS_OK) return eco_error_wrap(st, "canary: traffic");
    if ((*out)->n_cases == 0) { /* the parser refuses an empty corpus; the cycle needs one */
        eco_eval_corpus_free(*out);
        *out = NULL;
        return eco_error(ECO_STATUS_EFORMAT, "canary: traffic: %s: no cases", path);
    }
    for (size_t i = 0; i < (*out)->n_cases; i++)
        if ((*out)->cases[i].check == ECO_CHECK_CHOICE) {
            st = eco_error(ECO_STATUS_EFORMAT,
                           "canary: traffic: %s:%lld: a choice case is scored, not served: "
                           "traffic holds requests to answer",
                           path, (long long)(*out)->cases[i].line);
            eco_eval_corpus_free(*out);
            *out = NULL;
            return st;
        }
    return ECO_STATUS_OK;
}

/* An arm's engine: o->open, else the registry's checkout. */
static eco_status open_arm(eco_registry *r, const eco_canary_run_options *o, canary_arm *a,
                           const char *name, const char *ref) {
    a->name = name;
    eco_status st = eco_registry_resolve(r, ref, &a->id);
    if (st != ECO_STATUS_OK) return eco_error_wrap(st, "canary: %s", name);
    st = o->open ? o->open(o->open_ctx, a->id, &a->engine)
                 : eco_canary_open_registry(r, a->id, &a->engine);
    if (st == ECO_STATUS_OK && !a->engine)
        st = eco_error(ECO_STATUS_EINTERNAL, "canary: %s '%s': the opener gave no engine", name,
                       a->id);
    return st == ECO_STATUS_OK ? st : eco_error_wrap(st, "canary: %s", name);
}

/* Telemetry of one served request. */
static eco_status record_telemetry(eco_telemetry *t, const canary_arm *a, const eco_eval_case *c,
                                   const canary_served *sv) {
    eco_telemetry_event ev = {
        .engine = a->id,
        .capability = c->capability,
        .failed = sv->error || !sv->passed,
        .latency_s = sv->latency_ms / 1e3,
        .tokens = sv->gen_tokens,
        .gen_seconds = sv->decode_ms / 1e3,
        .confidence = sv->confidence,
        .prompt = c->prompt,
        .prompt_len = c->prompt_len,
        .answer = sv->output,
        .answer_len = sv->output ? sv->output_len : 0,
    };
    eco_status st = eco_telemetry_record(t, &ev);
    return st == ECO_STATUS_OK || st == ECO_STATUS_ERANGE ? ECO_STATUS_OK
                                                          : st; /* ERANGE: counted */
}

/* Serves requests until the controller promotes or aborts. */
static eco_status serve_until_decided(run_state *s, eco_canary_run_result *res) {
    const eco_canary_run_options *o = s->o;
    char id[256];
    for (;;) {
        const size_t idx = res->requests % s->traffic->n_cases;
        const eco_eval_case *c = &s->traffic->cases[idx];
        snprintf(id, sizeof id, "%s/g%lld/%zu", o->run, (long long)o->generation, res->requests);
        const int weight = eco_canary_ctl_weight(s->ctl);
        const bool to_canary = eco_route_canary_pick(id, weight / 100.0);
        canary_arm *a = to_canary ? &s->can : &s->champ;
        canary_served sv;
        eco_status st = canary_serve(a, s->traffic, idx, &s->caps, &sv);
        if (st == ECO_STATUS_OK && o->telemetry) st = record_telemetry(o->telemetry, a, c, &sv);
        if (st == ECO_STATUS_OK && s->hard && !to_canary && !sv.error && !sv.passed)
            st = canary_hard_offer(s->hard, c);
        eco_canary_obs obs = {.canary = to_canary,
                              .error = sv.error,
                              .label = sv.error ? -1 : sv.passed,
                              .latency = sv.latency_ms,
                              .safety_alert = sv.safety_alert};
        canary_served_free(&sv);
        eco_canary_decision d;
        if (st == ECO_STATUS_OK) st = eco_canary_ctl_observe(s->ctl, &obs, &d);
        if (st != ECO_STATUS_OK) return st;
        res->requests++;
        if (d.step_ended) {
            res->steps++;
            s->verdict = d.verdict;
            s->weight = weight;
        }
        if (o->progress) o->progress(o->progress_ctx, res->requests, d.weight, res->steps);
        if (d.action == ECO_CANARY_ACTION_PROMOTE || d.action == ECO_CANARY_ACTION_ABORT) {
            s->last = d.action;
            return ECO_STATUS_OK;
        }
    }
}

/* The controller's promote, taken when the canary is better: promotes or gives the reason. */
static eco_status decide_promote(eco_registry *r, run_state *s, const eco_canary_prop *imp,
                                 bool better, bool *promoted) {
    const eco_canary_run_options *o = s->o;
    *promoted = false;
    if (!better) {
        add_reason(s,
                   "not better than the champion: quality %.4g (%llu/%llu) against %.4g "
                   "(%llu/%llu), p = %.3g (promotion needs p < %g)",
                   imp->rate_canary, (unsigned long long)imp->k_canary,
                   (unsigned long long)imp->n_canary, imp->rate_champion,
                   (unsigned long long)imp->k_champion, (unsigned long long)imp->n_champion,
                   imp->p_worse, ECO_CANARY_ALPHA);
        return ECO_STATUS_OK;
    }
    eco_promote_options po = {
        .capability = o->capability, .expect = s->champ.id, .by = "canary", .require_report = true};
    eco_status st = eco_promote(r, s->can.id, &po);
    if (st == ECO_STATUS_EGATE || st == ECO_STATUS_ECONFLICT) {
        add_reason(s, "promotion refused: %s", eco_last_error());
        return ECO_STATUS_OK;
    }
    if (st != ECO_STATUS_OK) return st;
    *promoted = true;
    add_reason(s,
               "passed every step up to %d%% and better than the champion: quality %.4g "
               "(%llu/%llu) against %.4g (%llu/%llu), p = %.3g",
               o->settings->max_weight, imp->rate_canary, (unsigned long long)imp->k_canary,
               (unsigned long long)imp->n_canary, imp->rate_champion,
               (unsigned long long)imp->k_champion, (unsigned long long)imp->n_champion,
               imp->p_worse);
    return ECO_STATUS_OK;
}

/* The controller's abort: why, then the deciding step's reasons. */
static void abort_reasons(run_state *s) {
    const eco_canary_verdict *v = &s->verdict;
    if (v->critical)
        add_reason(s, "safety alert on the canary: aborted at once (step %d%%)", s->weight);
    else
        add_reason(s, "failed %d step(s): the threshold is %d", s->o->settings->threshold,
                   s->o->settings->threshold);
    if (v->reasons[0]) add_reason(s, "%s", v->reasons); /* the judge's, "; "-separated */
}

static void join_reasons(const run_state *s, eco_canary_run_result *res) {
    size_t at = 0;
    res->reasons[0] = '\0';
    for (size_t i = 0; i < s->n_reasons && at < sizeof res->reasons; i++) {
        int w = snprintf(res->reasons + at, sizeof res->reasons - at, "%s%s", i ? "; " : "",
                         s->reasons[i]);
        if (w < 0) break;
        at += (size_t)w;
    }
}

static eco_status run(eco_registry *r, run_state *s, eco_canary_run_result *res, double t0) {
    const eco_canary_run_options *o = s->o;
    eco_status st = load_traffic(o->traffic_path, &s->traffic);
    if (st == ECO_STATUS_OK && o->hard_examples_path)
        st = canary_hard_create(ECO_CANARY_HARD_MAX, &s->hard);
    if (st == ECO_STATUS_OK) st = open_arm(r, o, &s->champ, "champion", o->champion);
    if (st == ECO_STATUS_OK) st = open_arm(r, o, &s->can, "canary", o->challenger);
    if (st == ECO_STATUS_OK && strcmp(s->champ.id, s->can.id) == 0)
        st = eco_error(ECO_STATUS_EINVAL, "canary: the challenger '%s' is the champion", s->can.id);
    char alias[ECO_PROMOTION_ALIAS_MAX];
    if (st == ECO_STATUS_OK) st = eco_promotion_alias(o->capability, "canary", alias);
    if (st == ECO_STATUS_OK) st = eco_registry_alias_set(r, alias, s->can.id, "*");
    if (st == ECO_STATUS_OK) st = eco_canary_ctl_create(o->settings, &s->ctl);
    if (st != ECO_STATUS_OK) return st;

    eco_eval_caps_init(&s->caps);
    s->caps.robustness = false;
    s->caps.deny = o->deny;
    s->caps.n_deny = o->n_deny;
    if (o->case_timeout_ms > 0) s->caps.case_timeout_ms = o->case_timeout_ms;
    if (o->threads > 0) eco_set_threads(o->threads); /* once, not per request */
    s->weight = eco_canary_ctl_weight(s->ctl);
    if ((st = serve_until_decided(s, res)) != ECO_STATUS_OK) return st;
    /* written before the decision: a failure here must not follow a moved alias */
    res->hard_examples = canary_hard_count(s->hard);
    if (s->hard && (st = canary_hard_write(s->hard, o->hard_examples_path)) != ECO_STATUS_OK)
        return st;

    /* Better, over every request of the run: "canary worse" with the direction turned. */
    eco_canary_prop imp;
    if ((st = eco_canary_prop_test(s->can.correct, s->can.labelled, s->champ.correct,
                                   s->champ.labelled, true, &imp)) != ECO_STATUS_OK)
        return st;
    const bool better =
        imp.ran && imp.rate_canary > imp.rate_champion && imp.p_worse < ECO_CANARY_ALPHA;
    if (s->last == ECO_CANARY_ACTION_PROMOTE)
        st = decide_promote(r, s, &imp, better, &res->promoted);
    else
        abort_reasons(s);
    if (st != ECO_STATUS_OK) return st;

    eco_canary_timing timing;
    if ((st = eco_canary_settings_timing(o->settings, &timing)) != ECO_STATUS_OK) return st;
    res->seconds = eco_now() - t0;
    join_reasons(s, res);
    canary_record rec = {.o = o,
                         .champion = s->champ.id,
                         .challenger = s->can.id,
                         .promoted = res->promoted,
                         .weight = s->weight,
                         .steps = res->steps,
                         .requests = res->requests,
                         .hard_examples = res->hard_examples,
                         .seconds = res->seconds,
                         .reasons = s->reasons,
                         .n_reasons = s->n_reasons,
                         .verdict = &s->verdict,
                         .improvement = &imp,
                         .better = better,
                         .timing = &timing,
                         .canary = &s->can,
                         .champ = &s->champ,
                         .traffic_sha256 = s->traffic->sha256_hex};
    return canary_record_append(r, &rec, &res->event_seq);
}

eco_status eco_canary_run(eco_registry *r, const eco_canary_run_options *o,
                          eco_canary_run_result *res) {
    if (res) memset(res, 0, sizeof *res);
    eco_status st = check_options(r, o, res);
    if (st != ECO_STATUS_OK) return st;
    res->event_seq = -1;
    const double t0 = eco_now();
    run_state s = {.o = o};
    st = run(r, &s, res, t0);
    eco_canary_ctl_free(s.ctl);
    canary_arm_free(&s.can);
    canary_arm_free(&s.champ);
    canary_hard_free(s.hard);
    eco_eval_corpus_free(s.traffic);
    if (st != ECO_STATUS_OK) res->event_seq = -1; /* promoted stays: the alias did move */
    return st;
}
