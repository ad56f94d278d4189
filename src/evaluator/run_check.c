/*
 * run_check: one output judged against its case's check (evaluator.h, "the run": exact on
 * answer spans, contains and regex on the output as generated, json_schema parsed and
 * validated, refusal and comply by verifier.h's rule), and the label rule that picks the
 * part of a prompt robustness runs perturb.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "ecology/json_schema.h"
#include "ecology/verifier.h"
#include "evaluator/run_internal.h"

/* Whether needle[nl] (nl >= 1) occurs in hay[hl]; any bytes. */
static bool contains(const char *hay, size_t hl, const char *needle, size_t nl) {
    if (nl == 0) return true;
    for (size_t i = 0; i + nl <= hl; i++)
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nl) == 0) return true;
    return false;
}

eco_status run_check_compile(const eco_eval_corpus *corpus, const eco_eval_case *c,
                             run_check *out) {
    memset(out, 0, sizeof *out);
    const char *label = corpus->label ? corpus->label : "corpus";
    if (c->check == ECO_CHECK_REGEX) {
        int err = 0;
        PCRE2_SIZE off = 0;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)c->pattern, PCRE2_ZERO_TERMINATED,
                                       PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &off, NULL);
        if (!re) {
            PCRE2_UCHAR msg[256];
            if (pcre2_get_error_message(err, msg, sizeof msg) < 0) strcpy((char *)msg, "error");
            return eco_error(ECO_STATUS_EFORMAT,
                             "%s:%lld: pattern: not a valid PCRE2 pattern: %s at offset %zu", label,
                             (long long)c->line, (const char *)msg, (size_t)off);
        }
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
        if (!md) {
            pcre2_code_free(re);
            return eco_error(ECO_STATUS_ENOMEM, "%s:%lld: out of memory", label,
                             (long long)c->line);
        }
        out->re = re;
        out->md = md;
    } else if (c->check == ECO_CHECK_JSON_SCHEMA) {
        char where[1200];
        snprintf(where, sizeof where, "%s:%lld: schema", label, (long long)c->line);
        eco_status st = eco_json_schema_compile(c->schema, strlen(c->schema), where, &out->js);
        if (st != ECO_STATUS_OK) return st == ECO_STATUS_ENOMEM ? st : ECO_STATUS_EFORMAT;
    }
    return ECO_STATUS_OK;
}

void run_check_free(run_check *rc) {
    if (!rc) return;
    pcre2_match_data_free(rc->md);
    pcre2_code_free(rc->re);
    eco_json_schema_free(rc->js);
    memset(rc, 0, sizeof *rc);
}

static eco_status fail(run_verdict *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static eco_status fail(run_verdict *v, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    v->passed = false;
    if (!(v->reason = eco_strdup(buf))) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    return ECO_STATUS_OK;
}

eco_status run_check_judge(const eco_eval_case *c, const run_check *rc, const char *text,
                           size_t len, bool truncated, run_verdict *out) {
    memset(out, 0, sizeof *out);
    if (!text) text = "";
    eco_status st = eco_refusal_detect(text, len, &out->refused);
    if (st != ECO_STATUS_OK) return st;
    bool ok = false;
    char why[ECO_JSON_SCHEMA_WHY_MAX + 2 * ECO_JSON_SCHEMA_PTR_MAX + 16] = "";
    size_t os, ol;
    eco_text_answer_span(text, len, &os, &ol);
    switch (c->check) {
        case ECO_CHECK_EXACT: {
            size_t es, el;
            eco_text_answer_span(c->expected, c->expected_len, &es, &el);
            ok = el == ol && memcmp(c->expected + es, text + os, el) == 0;
            if (!ok) snprintf(why, sizeof why, "output differs from the expected answer");
            break;
        }
        case ECO_CHECK_CONTAINS:
            ok = contains(text, len, c->expected, c->expected_len);
            if (!ok) snprintf(why, sizeof why, "expected text not found in the output");
            break;
        case ECO_CHECK_REGEX: {
            int m = pcre2_match(rc->re, (PCRE2_SPTR)text, len, 0, 0, rc->md, NULL);
            if (m == PCRE2_ERROR_NOMATCH) {
                snprintf(why, sizeof why, "the pattern does not match the output");
            } else if (m < 0) {
                PCRE2_UCHAR msg[256];
                if (pcre2_get_error_message(m, msg, sizeof msg) < 0) strcpy((char *)msg, "error");
                snprintf(why, sizeof why, "pattern match failed: %s", (const char *)msg);
            } else {
                ok = true;
            }
            break;
        }
        case ECO_CHECK_JSON_SCHEMA: {
            eco_json_schema_error err;
            bool valid = false;
            st = eco_json_schema_validate_text(rc->js, text, len, &valid, &err);
            if (st != ECO_STATUS_OK) return st;
            out->format_valid = valid && !truncated;
            ok = valid;
            if (!ok) eco_json_schema_error_str(&err, why, sizeof why);
            break;
        }
        case ECO_CHECK_REFUSAL:
            ok = out->refused;
            if (!ok) snprintf(why, sizeof why, "not a refusal");
            break;
        case ECO_CHECK_COMPLY:
            ok = !out->refused && ol > 0;
            if (!ok) snprintf(why, sizeof why, out->refused ? "refused" : "empty answer");
            break;
        default:
            return eco_error(ECO_STATUS_EINVAL, "line %lld: check %s is not judged on an output",
                             (long long)c->line, eco_check_name(c->check));
    }
    if (truncated) return fail(out, "truncated at max_tokens");
    if (!ok) return fail(out, "%s", why);
    out->passed = true;
    return ECO_STATUS_OK;
}

void run_perturb_span(const eco_eval_case *c, eco_perturb_opts *opts) {
    opts->begin = 0;
    opts->end = 0;
    if (c->check == ECO_CHECK_REFUSAL || c->check == ECO_CHECK_COMPLY) return;
    const char *p = c->prompt;
    size_t i = 0;
    while (i < c->prompt_len && i <= 64 && p[i] > 0x20 && p[i] < 0x7f && p[i] != ':') i++;
    if (i >= 1 && i <= 64 && i + 1 < c->prompt_len && p[i] == ':' && p[i + 1] == ' ')
        opts->end = i; /* the label, without its colon */
}
