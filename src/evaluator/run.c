/*
 * run: eco_evaluate, the evaluator's loop over a corpus (evaluator.h has the rules: greedy
 * generation with stop "\n", each check judged, choice by log-probability, the deny list,
 * the timeout after the fact, the perturbed runs), then the cost figures; the figures per
 * capability are run_summary.c's.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "ecology/verifier.h"
#include "evaluator/run_internal.h"

void eco_eval_caps_init(eco_eval_caps *caps) {
    memset(caps, 0, sizeof *caps);
    caps->threads = 0;
    caps->max_tokens = 64;
    caps->case_timeout_ms = 30000.0;
    caps->robustness = true;
    caps->seed = 0;
}

void eco_eval_report_free(eco_eval_report *r) {
    if (!r) return;
    free(r->model);
    free(r->adapter);
    for (size_t i = 0; i < r->n_caps; i++) free(r->caps_fig[i].capability);
    free(r->caps_fig);
    for (size_t i = 0; i < r->n_results; i++) {
        free(r->results[i].id);
        free(r->results[i].output);
        free(r->results[i].reason);
    }
    free(r->results);
    memset(r, 0, sizeof *r);
}

/* Sums over every infer call of the run (tokens/s). */
typedef struct run_totals {
    double prompt_ms, decode_ms;
    uint64_t prompt_tokens, gen_tokens;
} run_totals;

typedef struct run_ctx {
    eco_engine *engine;
    const eco_eval_corpus *corpus;
    const eco_eval_caps *caps;
    const char *label;
    run_totals totals;
} run_ctx;

static const char *const STOP[1] = {"\n"}; /* tasks.h's ECO_TASKS_STOP */

/* One greedy generation of prompt for case c: *resp filled (caller frees), *wall_ms the
 * call's wall time. A request the model's context cannot hold (infer's ERANGE marked
 * "context", contracts.h) is not an error: *over_context is then the engine's message
 * (malloc'd; NULL otherwise) and *resp holds nothing but n_prompt_tokens. */
static eco_status generate(run_ctx *x, const eco_eval_case *c, size_t index, const char *prompt,
                           eco_infer_response *resp, double *wall_ms, char **over_context) {
    *over_context = NULL;
    eco_infer_request req;
    eco_infer_request_init(&req);
    req.capability = c->capability;
    req.prompt = prompt;
    req.max_tokens = c->max_tokens > 0 ? (int)c->max_tokens : x->caps->max_tokens;
    req.temperature = 0.0f;
    req.top_k = 0;
    req.top_p = 1.0f;
    req.seed = 0;
    req.stop = STOP;
    req.n_stop = 1;
    req.add_special = true;
    req.stop_at_eos = true;
    double t0 = eco_now();
    eco_status st = x->engine->infer(x->engine, &req, resp);
    *wall_ms = 1e3 * (eco_now() - t0);
    if (st == ECO_STATUS_ERANGE && resp->finish_reason &&
        strcmp(resp->finish_reason, "context") == 0) {
        const size_t n_prompt = resp->n_prompt_tokens;
        eco_infer_response_free(resp);
        resp->n_prompt_tokens = n_prompt;
        if (!(*over_context = eco_strdup(eco_last_error())))
            return eco_error(ECO_STATUS_ENOMEM, "out of memory");
        return ECO_STATUS_OK;
    }
    if (st != ECO_STATUS_OK)
        return eco_error_wrap(st, "%s:%lld: case %zu", x->label, (long long)c->line, index);
    x->totals.prompt_ms += resp->prompt_ms;
    x->totals.decode_ms += resp->decode_ms;
    x->totals.prompt_tokens += resp->n_prompt_tokens;
    x->totals.gen_tokens += resp->n_tokens;
    return ECO_STATUS_OK;
}

static bool truncated(const eco_infer_response *resp) {
    return resp->finish_reason && strcmp(resp->finish_reason, "length") == 0;
}

static bool past_timeout(const eco_eval_caps *caps, double wall_ms) {
    return caps->case_timeout_ms > 0 && wall_ms > caps->case_timeout_ms;
}

/* exp(Σ logprobs) clamped to [0, 1] (float rounding can put a sum a hair above 0). */
static double confidence_of(const eco_infer_response *resp) {
    double s = 0.0;
    for (size_t i = 0; i < resp->n_tokens; i++) s += (double)resp->logprobs[i];
    double c = exp(s);
    if (!(c >= 0.0)) return 0.0; /* NaN */
    return c > 1.0 ? 1.0 : c;
}

/* The perturbed runs of a generated case: bit k of *bits for each kind k that passed. */
static eco_status perturbed_runs(run_ctx *x, const eco_eval_case *c, size_t index,
                                 const run_check *rc, uint8_t *bits) {
    eco_perturb_opts po = {0};
    run_perturb_span(c, &po);
    eco_buf b = {0};
    eco_status st = ECO_STATUS_OK;
    *bits = 0;
    for (int k = 0; k < ECO_PERTURB__COUNT && st == ECO_STATUS_OK; k++) {
        eco_buf_reset(&b);
        st = eco_perturb((eco_perturb_kind)k, x->caps->seed, (uint64_t)index, c->prompt,
                         c->prompt_len, &po, &b);
        if (st != ECO_STATUS_OK) {
            st = eco_error_wrap(st, "%s:%lld: perturbing the prompt", x->label, (long long)c->line);
            break;
        }
        if (!eco_buf_push(&b, '\0')) {
            st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
            break;
        }
        eco_infer_response resp;
        double wall = 0;
        char *over = NULL;
        if ((st = generate(x, c, index, b.data, &resp, &wall, &over)) != ECO_STATUS_OK) break;
        if (over) { /* the perturbed prompt no longer fits: this kind failed */
            free(over);
            continue;
        }
        run_verdict v;
        st = run_check_judge(c, rc, resp.text, resp.text_len, truncated(&resp), &v);
        if (st == ECO_STATUS_OK && v.passed && !past_timeout(x->caps, wall))
            *bits |= (uint8_t)(1u << k);
        free(v.reason);
        eco_infer_response_free(&resp);
    }
    eco_buf_free(&b);
    return st;
}

/* A case past caps.case_timeout_ms: failed whatever its output said. */
static eco_status mark_timeout(eco_eval_result *r) {
    r->timed_out = true;
    r->passed = false;
    r->format_valid = false;
    free(r->reason);
    if (!(r->reason = eco_strdup("timeout"))) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    return ECO_STATUS_OK;
}

/* A case whose request does not fit the model's context: failed, reason taken (owned). */
static void mark_over_context(eco_eval_result *r, char *reason) {
    r->over_context = true;
    r->passed = false;
    r->format_valid = false;
    r->confidence = 0.0;
    free(r->reason);
    r->reason = reason;
}

/* Runs case index into *r (zeroed by the caller). */
static eco_status run_case(run_ctx *x, size_t index, const eco_deny_list *deny,
                           eco_eval_result *r) {
    const eco_eval_case *c = &x->corpus->cases[index];
    r->index = index;
    r->deny_hit = -1;
    r->chosen = -1;
    if (c->id && !(r->id = eco_strdup(c->id))) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    eco_status st;
    if (c->check == ECO_CHECK_CHOICE) {
        double t0 = eco_now();
        char *over = NULL;
        st = run_choice(x->corpus, c, &x->caps->scorer, &r->chosen, &r->confidence, &over);
        double wall = 1e3 * (eco_now() - t0);
        if (st != ECO_STATUS_OK) return st;
        if (over) {
            if (!(r->output = eco_strdup(""))) {
                free(over);
                return eco_error(ECO_STATUS_ENOMEM, "out of memory");
            }
            mark_over_context(r, over);
            return ECO_STATUS_OK;
        }
        r->latency_ms = r->prompt_ms = wall;
        r->passed = r->chosen == (int)c->answer;
        if (!(r->output = eco_strdup(c->options[r->chosen])))
            return eco_error(ECO_STATUS_ENOMEM, "out of memory");
        r->output_len = strlen(r->output);
        if (!r->passed) {
            char buf[96];
            snprintf(buf, sizeof buf, "chose option %d, the answer is option %lld", r->chosen,
                     (long long)c->answer);
            if (!(r->reason = eco_strdup(buf)))
                return eco_error(ECO_STATUS_ENOMEM, "out of memory");
        }
        return past_timeout(x->caps, wall) ? mark_timeout(r) : ECO_STATUS_OK;
    }

    run_check rc;
    if ((st = run_check_compile(x->corpus, c, &rc)) != ECO_STATUS_OK) return st;
    eco_infer_response resp;
    double wall = 0;
    char *over = NULL;
    if ((st = generate(x, c, index, c->prompt, &resp, &wall, &over)) != ECO_STATUS_OK) {
        run_check_free(&rc);
        return st;
    }
    if (over) { /* nothing ran: no output, no perturbed runs */
        run_check_free(&rc);
        r->prompt_tokens = resp.n_prompt_tokens;
        if (!(r->output = eco_strdup(""))) {
            free(over);
            return eco_error(ECO_STATUS_ENOMEM, "out of memory");
        }
        mark_over_context(r, over);
        return ECO_STATUS_OK;
    }
    r->truncated = truncated(&resp);
    r->confidence = confidence_of(&resp);
    r->prompt_tokens = resp.n_prompt_tokens;
    r->gen_tokens = resp.n_tokens;
    r->prompt_ms = resp.prompt_ms;
    r->decode_ms = resp.decode_ms;
    r->latency_ms = resp.prompt_ms + resp.decode_ms;
    r->output_len = resp.text ? resp.text_len : 0;
    r->output = eco_bytes_dup(resp.text ? resp.text : "", r->output_len);
    run_verdict v = {0};
    if (!r->output)
        st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
    else
        st = run_check_judge(c, &rc, r->output, r->output_len, r->truncated, &v);
    if (st == ECO_STATUS_OK && deny)
        st = eco_deny_list_find(deny, r->output, r->output_len, &r->deny_hit);
    eco_infer_response_free(&resp);
    r->passed = v.passed;
    r->format_valid = v.format_valid;
    r->refused = v.refused;
    r->reason = v.reason;
    if (st == ECO_STATUS_OK && x->caps->robustness)
        st = perturbed_runs(x, c, index, &rc, &r->perturbed_pass);
    run_check_free(&rc);
    if (st != ECO_STATUS_OK) return st;
    return past_timeout(x->caps, wall) ? mark_timeout(r) : ECO_STATUS_OK;
}

static eco_status check_args(eco_engine *engine, const eco_eval_corpus *corpus,
                             const eco_eval_caps *caps, const char *model_label) {
    if (!engine || !corpus || !caps || !model_label)
        return eco_error(ECO_STATUS_EINVAL, "evaluate: NULL argument");
    if (caps->max_tokens < 1 || caps->max_tokens > ECO_EVAL_MAX_TOKENS)
        return eco_error(ECO_STATUS_EINVAL, "evaluate: max_tokens %d outside 1..%d",
                         caps->max_tokens, ECO_EVAL_MAX_TOKENS);
    if (caps->threads < 0 || caps->threads > ECO_MAX_THREADS)
        return eco_error(ECO_STATUS_EINVAL, "evaluate: threads %d outside 0..%d", caps->threads,
                         ECO_MAX_THREADS);
    if (!(caps->case_timeout_ms >= 0) || isinf(caps->case_timeout_ms))
        return eco_error(ECO_STATUS_EINVAL,
                         "evaluate: case_timeout_ms %g is not a finite number "
                         ">= 0",
                         caps->case_timeout_ms);
    if (caps->n_deny && !caps->deny)
        return eco_error(ECO_STATUS_EINVAL, "evaluate: %zu deny terms but no array", caps->n_deny);
    if (corpus->n_cases == 0) return eco_error(ECO_STATUS_EINVAL, "evaluate: the corpus is empty");
    /* Every check compiles, and choice cases have a scorer: refused before anything runs. */
    for (size_t i = 0; i < corpus->n_cases; i++) {
        const eco_eval_case *c = &corpus->cases[i];
        if (c->check != ECO_CHECK_REGEX && c->check != ECO_CHECK_JSON_SCHEMA) continue;
        run_check rc;
        eco_status st = run_check_compile(corpus, c, &rc);
        run_check_free(&rc);
        if (st != ECO_STATUS_OK) return st;
    }
    if (!caps->scorer.score)
        for (size_t i = 0; i < corpus->n_cases; i++)
            if (corpus->cases[i].check == ECO_CHECK_CHOICE)
                return run_choice(corpus, &corpus->cases[i], NULL, NULL, NULL, NULL);
    return ECO_STATUS_OK;
}

eco_status eco_evaluate(eco_engine *engine, const eco_eval_corpus *corpus,
                        const eco_eval_caps *caps, const char *model_label,
                        const char *adapter_label,
                        void (*progress)(void *ctx, size_t done, size_t total), void *ctx,
                        eco_eval_report *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!out) return eco_error(ECO_STATUS_EINVAL, "evaluate: NULL argument");
    eco_status st = check_args(engine, corpus, caps, model_label);
    if (st != ECO_STATUS_OK) return st;
    const double t0 = eco_now();
    if (caps->threads > 0) eco_set_threads(caps->threads);

    eco_eval_report *r = out;
    r->model = eco_strdup(model_label);
    r->adapter = adapter_label ? eco_strdup(adapter_label) : NULL;
    r->results = eco_calloc_array(corpus->n_cases, sizeof *r->results);
    if (!r->model || (adapter_label && !r->adapter) || !r->results) {
        eco_eval_report_free(r);
        return eco_error(ECO_STATUS_ENOMEM, "evaluate: out of memory");
    }
    memcpy(r->corpus_sha256, corpus->sha256_hex, sizeof r->corpus_sha256);
    r->gates_sha256[0] = '\0';
    r->caps = *caps;
    r->caps.deny = NULL;
    memset(&r->caps.scorer, 0, sizeof r->caps.scorer);

    eco_deny_list *deny = NULL;
    if (caps->n_deny &&
        (st = eco_deny_list_new(caps->deny, caps->n_deny, &deny)) != ECO_STATUS_OK) {
        eco_eval_report_free(r);
        return eco_error_wrap(st, "evaluate: deny list");
    }
    run_ctx x = {.engine = engine, .corpus = corpus, .caps = caps};
    x.label = corpus->label ? corpus->label : "corpus";
    for (size_t i = 0; i < corpus->n_cases && st == ECO_STATUS_OK; i++) {
        r->n_results = i + 1; /* counted first so that free releases a partial result */
        st = run_case(&x, i, deny, &r->results[i]);
        if (st == ECO_STATUS_OK && r->results[i].deny_hit >= 0) r->deny_hits++;
        if (st == ECO_STATUS_OK && progress) progress(ctx, i + 1, corpus->n_cases);
    }
    eco_deny_list_free(deny);
    if (st == ECO_STATUS_OK) st = run_summarise(corpus, caps->robustness, r);

    /* cost, measured */
    double *lat = st == ECO_STATUS_OK ? eco_malloc_array(r->n_results, sizeof *lat) : NULL;
    if (st == ECO_STATUS_OK && !lat) st = eco_error(ECO_STATUS_ENOMEM, "evaluate: out of memory");
    if (st == ECO_STATUS_OK) {
        size_t n_lat = 0; /* cases over the context ran nothing: left out */
        for (size_t i = 0; i < r->n_results; i++)
            if (!r->results[i].over_context) lat[n_lat++] = r->results[i].latency_ms;
        st = eco_latency_compute(lat, n_lat, &r->latency_ms);
    }
    free(lat);
    if (st != ECO_STATUS_OK) {
        eco_eval_report_free(r);
        return st;
    }
    r->prompt_tok_s =
        x.totals.prompt_ms > 0 ? (double)x.totals.prompt_tokens / (x.totals.prompt_ms / 1e3) : 0.0;
    r->decode_tok_s =
        x.totals.decode_ms > 0 ? (double)x.totals.gen_tokens / (x.totals.decode_ms / 1e3) : 0.0;
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) r->peak_rss_bytes = (uint64_t)ru.ru_maxrss * 1024u;
    const eco_genome *g = engine->genome ? engine->genome(engine) : NULL;
    if (g) {
        r->n_params = g->n_params;
        r->bytes_on_disk = g->bytes;
    }
    r->wall_s = eco_now() - t0;
    return ECO_STATUS_OK;
}
