/* The http engine's reading of a server's answers (remote.h): a completions object and an
 * error object, both hostile input, read with core's field reader. Fields the engine does not
 * read are ignored (every server adds its own: system_fingerprint, timings, ...), but those
 * it reads are type- and range-checked, and the log-probability arrays must agree in length. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "ecology/remote.h"
#include "remote/remote_internal.h"

#define MAX_TOKENS_READ ((size_t)1 << 20) /* log-probability entries at most */

void eco_remote_completion_free(eco_remote_completion *c) {
    if (!c) return;
    free(c->text);
    free(c->logprobs);
    for (size_t i = 0; c->token_texts && i < c->n_tokens; i++) free(c->token_texts[i]);
    free(c->token_texts);
    free(c->token_lens);
    memset(c, 0, sizeof *c);
}

static char *dup_bytes(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* choices[0].logprobs: {"tokens": [str...], "token_logprobs": [num|null...]} */
static eco_status read_logprobs(const eco_jr *r, eco_remote_completion *out) {
    const json_t *toks = NULL, *lps = NULL;
    eco_status st = eco_jr_array(r, "tokens", true, &toks);
    if (st == ECO_STATUS_OK) st = eco_jr_array(r, "token_logprobs", true, &lps);
    if (st) return st;
    size_t n = json_array_size(toks);
    if (json_array_size(lps) != n)
        return eco_jr_fail(r, "token_logprobs", ECO_STATUS_EFORMAT, "%zu entries, tokens has %zu",
                           json_array_size(lps), n);
    if (n > MAX_TOKENS_READ)
        return eco_jr_fail(r, "tokens", ECO_STATUS_EFORMAT, "%zu entries, more than %zu", n,
                           MAX_TOKENS_READ);
    if (n == 0) return ECO_STATUS_OK;
    out->logprobs = eco_malloc_array(n, sizeof *out->logprobs);
    out->token_texts = calloc(n, sizeof *out->token_texts);
    out->token_lens = eco_malloc_array(n, sizeof *out->token_lens);
    if (!out->logprobs || !out->token_texts || !out->token_lens)
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", r->file);
    eco_jr tr = eco_jr_child(r, "tokens", toks), lr = eco_jr_child(r, "token_logprobs", lps);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "[%zu]", i);
        const char *t = NULL;
        size_t tl = 0;
        if ((st = eco_jr_str_value(&tr, name, json_array_get(toks, i), true, &t, &tl))) return st;
        if (!(out->token_texts[i] = dup_bytes(t, tl)))
            return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", r->file);
        out->token_lens[i] = tl;
        out->n_tokens = i + 1;
        const json_t *v = json_array_get(lps, i);
        double lp = -INFINITY; /* null: a token the server gave no figure for */
        if (!json_is_null(v) && (st = eco_jr_num_value(&lr, name, v, -1e30, 0.0, &lp))) return st;
        out->logprobs[i] = (float)lp;
    }
    return ECO_STATUS_OK;
}

static eco_status read_choice(const eco_jr *c, eco_remote_completion *out) {
    const char *text = NULL, *finish = NULL;
    size_t len = 0;
    eco_status st = eco_jr_str(c, "text", true, true, &text, &len);
    if (st == ECO_STATUS_OK) st = eco_jr_str(c, "finish_reason", false, false, &finish, NULL);
    if (st) return st;
    if (!(out->text = dup_bytes(text, len)))
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", c->file);
    out->text_len = len;
    out->finish_reason = !finish                     ? NULL
                         : !strcmp(finish, "stop")   ? "stop"
                         : !strcmp(finish, "length") ? "length"
                                                     : NULL;
    const json_t *lp = NULL;
    if ((st = eco_jr_object(c, "logprobs", false, &lp)) || !lp) return st;
    eco_jr lr = eco_jr_child(c, "logprobs", lp);
    return read_logprobs(&lr, out);
}

eco_status eco_remote_parse_completion(const char *body, size_t len, const char *label,
                                       eco_remote_completion *out) {
    return remote_parse_answer(body, len, label, false, out);
}

eco_status remote_parse_answer(const char *body, size_t len, const char *label, bool chunk,
                               eco_remote_completion *out) {
    memset(out, 0, sizeof *out);
    out->prompt_tokens = out->completion_tokens = -1;
    out->prompt_ms = out->predicted_ms = -1;
    if (!label) label = "answer";
    json_t *root = NULL;
    eco_status st = eco_json_parse(body, len, 0, label, &root);
    if (st) return st;
    eco_jr r = eco_jr_root(label, root);
    const json_t *choices = NULL, *obj = NULL;
    if (!json_is_object(root))
        st = eco_error(ECO_STATUS_EFORMAT, "%s: expected a JSON object", label);
    if (st == ECO_STATUS_OK && chunk && json_object_get(root, "error")) {
        char msg[512];
        eco_remote_error_message(body, len, msg, sizeof msg, NULL, 0);
        st = eco_error(ECO_STATUS_EIO, "%s: the server reported an error: %s", label, msg);
    }
    if (st == ECO_STATUS_OK) st = eco_jr_array(&r, "choices", true, &choices);
    if (st == ECO_STATUS_OK && !chunk && json_array_size(choices) == 0)
        st = eco_jr_fail(&r, "choices", ECO_STATUS_EFORMAT, "is empty");
    if (st == ECO_STATUS_OK && json_array_size(choices) > 0) {
        const json_t *c0 = json_array_get(choices, 0);
        eco_jr cr = eco_jr_item(&r, "choices", 0, c0);
        if (!json_is_object(c0))
            st = eco_jr_fail(&cr, NULL, ECO_STATUS_EFORMAT, "expected an object");
        else
            st = read_choice(&cr, out);
    }
    if (st == ECO_STATUS_OK) st = eco_jr_object(&r, "usage", false, &obj);
    if (st == ECO_STATUS_OK && obj) {
        eco_jr ur = eco_jr_child(&r, "usage", obj);
        st = eco_jr_int(&ur, "prompt_tokens", false, 0, INT64_MAX / 2, &out->prompt_tokens);
        if (st == ECO_STATUS_OK)
            st = eco_jr_int(&ur, "completion_tokens", false, 0, INT64_MAX / 2,
                            &out->completion_tokens);
    }
    obj = NULL;
    if (st == ECO_STATUS_OK) st = eco_jr_object(&r, "timings", false, &obj);
    if (st == ECO_STATUS_OK && obj) {
        eco_jr tr = eco_jr_child(&r, "timings", obj);
        st = eco_jr_num(&tr, "prompt_ms", false, 0, 1e12, &out->prompt_ms);
        if (st == ECO_STATUS_OK)
            st = eco_jr_num(&tr, "predicted_ms", false, 0, 1e12, &out->predicted_ms);
    }
    json_decref(root);
    if (st) eco_remote_completion_free(out);
    if (st) {
        out->prompt_tokens = out->completion_tokens = -1;
        out->prompt_ms = out->predicted_ms = -1;
    }
    return st;
}

void eco_remote_error_message(const char *body, size_t len, char *out, size_t size, char *code,
                              size_t code_size) {
    if (code && code_size) code[0] = '\0';
    if (!size) return;
    out[0] = '\0';
    json_t *root = NULL;
    const char *msg = NULL;
    size_t mlen = 0;
    if (body && len && eco_json_parse(body, len, 0, "error", &root) == ECO_STATUS_OK &&
        json_is_object(root)) {
        const json_t *e = json_object_get(root, "error");
        const json_t *m = json_is_object(e)   ? json_object_get(e, "message")
                          : json_is_string(e) ? e
                                              : json_object_get(root, "message");
        const json_t *c = json_is_object(e) ? json_object_get(e, "code") : NULL;
        if (code && code_size && json_is_string(c))
            snprintf(code, code_size, "%s", json_string_value(c));
        if (json_is_string(m)) {
            msg = json_string_value(m);
            mlen = json_string_length(m);
        }
    }
    if (!msg) {
        msg = body ? body : "";
        mlen = body ? len : 0;
    }
    char shown[ECO_JSON_SHOWN_SIZE];
    eco_json_shown(msg, mlen, shown);
    snprintf(out, size, "%s", mlen ? shown : "(no message)");
    json_decref(root);
}
