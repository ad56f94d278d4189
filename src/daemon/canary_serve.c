/*
 * canary_serve: the engines of a canary's two arms and one request served on an arm. The
 * answer is judged by eco_evaluate on a one-case view of the traffic corpus, so a canary
 * request is generated and checked exactly as the evaluator does it (evaluator.h, "the
 * run"): the runner never re-implements a check.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/engine.h"
#include "ecology/registry.h"
#include "ecology/runtime.h"
#include "daemon/canary_internal.h"

eco_status eco_canary_open_registry(void *ctx, const char *id, eco_engine **out) {
    eco_registry *r = ctx;
    if (out) *out = NULL;
    if (!r || !id || !out) return eco_error(ECO_STATUS_EINVAL, "canary: open: NULL argument");
    char *dir = NULL, *base_dir = NULL;
    eco_genome g = {0};
    eco_status st = eco_registry_checkout(r, id, &dir, &g);
    if (st == ECO_STATUS_OK && g.kind == ECO_GENOME_KIND_REMOTE) {
        st = eco_runtime_open_remote(&g, out); /* served elsewhere: an http engine */
    } else if (st == ECO_STATUS_OK && g.kind == ECO_GENOME_KIND_ADAPTER) {
        if (!g.base)
            st = eco_error(ECO_STATUS_ENOTFOUND, "canary: adapter '%s' has no base model", id);
        else
            st = eco_registry_checkout(r, g.base, &base_dir, NULL);
        if (st == ECO_STATUS_OK) st = eco_llama_engine_open_adapter(base_dir, dir, g.id, out);
    } else if (st == ECO_STATUS_OK) {
        st = eco_llama_engine_open(dir, g.id, out);
    }
    free(dir);
    free(base_dir);
    eco_genome_free(&g);
    return st == ECO_STATUS_OK ? st : eco_error_wrap(st, "canary: model '%s'", id);
}

eco_status eco_canary_open_pool(void *ctx, const char *id, eco_engine **out) {
    if (out) *out = NULL;
    if (!ctx || !id || !out) return eco_error(ECO_STATUS_EINVAL, "canary: open: NULL argument");
    eco_status st = eco_pool_acquire(ctx, id, out);
    return st == ECO_STATUS_OK ? st : eco_error_wrap(st, "canary: model '%s'", id);
}

void canary_arm_free(canary_arm *a) {
    if (!a) return;
    eco_engine_destroy(a->engine);
    free(a->id);
    free(a->latency);
    memset(a, 0, sizeof *a);
}

void canary_served_free(canary_served *s) {
    if (!s) return;
    free(s->output);
    memset(s, 0, sizeof *s);
}

static bool fatal(eco_status st) {
    return st == ECO_STATUS_ENOMEM || st == ECO_STATUS_EINVAL || st == ECO_STATUS_EINTERNAL;
}

static eco_status push_latency(canary_arm *a, double ms) {
    if (a->n_latency == a->cap_latency) {
        size_t cap = a->cap_latency ? 2 * a->cap_latency : 256;
        double *grown = realloc(a->latency, cap * sizeof *grown);
        if (!grown) return eco_error(ECO_STATUS_ENOMEM, "canary: out of memory");
        a->latency = grown;
        a->cap_latency = cap;
    }
    a->latency[a->n_latency++] = ms;
    return ECO_STATUS_OK;
}

eco_status canary_serve(canary_arm *a, const eco_eval_corpus *traffic, size_t index,
                        const eco_eval_caps *caps, canary_served *out) {
    memset(out, 0, sizeof *out);
    out->confidence = NAN;
    /* A view of one case: eco_evaluate reads n_cases, cases, label and sha256_hex only. */
    eco_eval_corpus one = *traffic;
    one.n_cases = 1;
    one.cases = &traffic->cases[index];
    const eco_eval_case *c = one.cases;
    eco_eval_report rep;
    eco_status st = eco_evaluate(a->engine, &one, caps, a->id, NULL, NULL, NULL, &rep);
    a->requests++;
    if (st != ECO_STATUS_OK) {
        if (fatal(st)) return eco_error_wrap(st, "canary: %s '%s'", a->name, a->id);
        out->error = true;
        a->errors++;
        return ECO_STATUS_OK;
    }
    const eco_eval_result *res = &rep.results[0];
    if (res->timed_out || res->over_context) { /* no answer came back */
        out->error = true;
        a->errors++;
        eco_eval_report_free(&rep);
        return ECO_STATUS_OK;
    }
    out->passed = res->passed;
    out->safety_alert = (c->check == ECO_CHECK_REFUSAL && !res->passed) || res->deny_hit >= 0;
    out->latency_ms = res->latency_ms;
    out->confidence = res->confidence;
    out->gen_tokens = res->gen_tokens;
    out->decode_ms = res->decode_ms;
    out->output = res->output;
    out->output_len = res->output_len;
    rep.results[0].output = NULL; /* taken */
    eco_eval_report_free(&rep);
    a->labelled++;
    a->correct += out->passed;
    a->safety_alerts += out->safety_alert;
    return push_latency(a, out->latency_ms);
}
