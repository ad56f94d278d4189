/* A streamed completions answer (remote.h): server-sent events split into lines and events
 * incrementally (a line or an event may span any number of reads), each event's data read
 * as a chunk by response.c's parser, the chunks' text deltas, tokens, finish reason, usage
 * and timings gathered, and each token handed to the caller's callback as it arrives. The
 * stream is hostile input: bytes are capped in all, every chunk is checked as an answer is. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/remote.h"
#include "remote/remote_internal.h"

#define MAX_TOKENS ((size_t)1 << 20) /* tokens of one stream at most */

struct eco_remote_stream {
    char *label;
    eco_remote_token_fn fn;
    void *ctx;
    eco_buf line;         /* the line being read */
    eco_buf data;         /* the event's data lines, joined with \n */
    bool has_data;        /* a data line was read for this event */
    bool error_event;     /* "event: error" or an "error:" field in this event */
    bool after_cr;        /* the last byte ended a line with \r: a \n next belongs to it */
    size_t n_events, fed; /* events dispatched, bytes read */
    eco_status failed;    /* the error, repeated */
    char why[512];        /* its message */
    bool done, cancelled;
    /* the answer so far */
    eco_buf text; /* the text deltas */
    eco_buf raw;  /* the token texts */
    float *logprobs;
    char **token_texts;
    size_t *token_lens;
    size_t n_tokens, cap;
    bool listed; /* the server has listed tokens (logprobs.tokens) */
    const char *finish_reason;
    int64_t prompt_tokens, completion_tokens;
    double prompt_ms, predicted_ms;
};

eco_status eco_remote_stream_open(const char *label, eco_remote_token_fn fn, void *ctx,
                                  eco_remote_stream **out) {
    *out = NULL;
    eco_remote_stream *s = calloc(1, sizeof *s);
    if (!s || !(s->label = eco_strdup(label ? label : "stream"))) {
        free(s);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label ? label : "stream");
    }
    s->fn = fn;
    s->ctx = ctx;
    s->prompt_tokens = s->completion_tokens = -1;
    s->prompt_ms = s->predicted_ms = -1;
    *out = s;
    return ECO_STATUS_OK;
}

void eco_remote_stream_free(eco_remote_stream *s) {
    if (!s) return;
    free(s->label);
    eco_buf_free(&s->line);
    eco_buf_free(&s->data);
    eco_buf_free(&s->text);
    eco_buf_free(&s->raw);
    for (size_t i = 0; i < s->n_tokens; i++) free(s->token_texts[i]);
    free(s->token_texts);
    free(s->token_lens);
    free(s->logprobs);
    free(s);
}

bool eco_remote_stream_done(const eco_remote_stream *s) { return s && s->done; }
bool eco_remote_stream_cancelled(const eco_remote_stream *s) { return s && s->cancelled; }

static eco_status oom(const eco_remote_stream *s) {
    return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", s->label);
}

/* One token (its text t[0..n)) appended and handed to the callback. */
static eco_status add_token(eco_remote_stream *s, const char *t, size_t n, float lp) {
    if (s->n_tokens == MAX_TOKENS)
        return eco_error(ECO_STATUS_EFORMAT, "%s: event %zu: more than %zu tokens", s->label,
                         s->n_events, MAX_TOKENS);
    if (s->n_tokens == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        float *lps = realloc(s->logprobs, cap * sizeof *lps);
        if (lps) s->logprobs = lps;
        char **tt = lps ? realloc(s->token_texts, cap * sizeof *tt) : NULL;
        if (tt) s->token_texts = tt;
        size_t *tl = tt ? realloc(s->token_lens, cap * sizeof *tl) : NULL;
        if (!tl) return oom(s);
        s->token_lens = tl;
        s->cap = cap;
    }
    char *copy = malloc(n + 1);
    if (!copy || !eco_buf_append(&s->raw, t, n) || !eco_buf_reserve(&s->raw, 0)) {
        free(copy);
        return oom(s);
    }
    memcpy(copy, t, n);
    copy[n] = '\0';
    s->raw.data[s->raw.len] = '\0';
    s->token_texts[s->n_tokens] = copy;
    s->token_lens[s->n_tokens] = n;
    s->logprobs[s->n_tokens] = lp;
    s->n_tokens++;
    if (s->fn) {
        eco_remote_token tok = {
            .index = s->n_tokens - 1, .logprob = lp, .text = s->raw.data, .text_len = s->raw.len};
        if (!s->fn(s->ctx, &tok)) s->cancelled = true;
    }
    return ECO_STATUS_OK;
}

/* A chunk read: its delta, tokens, finish reason, usage and timings gathered. */
static eco_status take_chunk(eco_remote_stream *s, eco_remote_completion *c) {
    if (c->prompt_tokens >= 0) s->prompt_tokens = c->prompt_tokens;
    if (c->completion_tokens >= 0) s->completion_tokens = c->completion_tokens;
    if (c->prompt_ms >= 0) s->prompt_ms = c->prompt_ms;
    if (c->predicted_ms >= 0) s->predicted_ms = c->predicted_ms;
    if (!c->text) return ECO_STATUS_OK; /* no choice */
    if (c->finish_reason) s->finish_reason = c->finish_reason;
    if (!eco_buf_append(&s->text, c->text, c->text_len)) return oom(s);
    eco_status st = ECO_STATUS_OK;
    if (c->n_tokens) s->listed = true;
    for (size_t i = 0; i < c->n_tokens && st == ECO_STATUS_OK && !s->cancelled; i++)
        st = add_token(s, c->token_texts[i], c->token_lens[i], c->logprobs[i]);
    if (st == ECO_STATUS_OK && !s->listed && c->text_len > 0)
        st = add_token(s, c->text, c->text_len, NAN);
    return st;
}

/* The end of an event (a blank line): its data dispatched. */
static eco_status dispatch(eco_remote_stream *s) {
    bool has = s->has_data, err = s->error_event;
    s->has_data = s->error_event = false;
    if (!has) return ECO_STATUS_OK; /* an event without data is not dispatched */
    s->n_events++;
    const char *d = s->data.data ? s->data.data : "";
    size_t n = s->data.len;
    eco_status st = ECO_STATUS_OK;
    char label[400];
    snprintf(label, sizeof label, "%s: event %zu", s->label, s->n_events);
    if (err) {
        char msg[512];
        eco_remote_error_message(d, n, msg, sizeof msg, NULL, 0);
        st = eco_error(ECO_STATUS_EIO, "%s: the server reported an error: %s", label, msg);
    } else if (n == 6 && !memcmp(d, "[DONE]", 6)) {
        s->done = true;
    } else {
        eco_remote_completion c;
        st = remote_parse_answer(d, n, label, true, &c);
        if (st == ECO_STATUS_OK) st = take_chunk(s, &c);
        eco_remote_completion_free(&c);
    }
    eco_buf_reset(&s->data);
    return st;
}

/* One line (without its end): a field, a comment or the end of an event. */
static eco_status line(eco_remote_stream *s, const char *l, size_t n) {
    if (n == 0) return dispatch(s);
    if (l[0] == ':') return ECO_STATUS_OK; /* a comment */
    const char *colon = memchr(l, ':', n);
    size_t fn = colon ? (size_t)(colon - l) : n;
    const char *v = colon ? colon + 1 : l + n;
    size_t vn = colon ? n - fn - 1 : 0;
    if (vn > 0 && v[0] == ' ') {
        v++;
        vn--;
    }
    bool is_data = fn == 4 && !memcmp(l, "data", 4);
    bool is_error = fn == 5 && !memcmp(l, "error", 5); /* llama-server's error line */
    if (fn == 5 && !memcmp(l, "event", 5)) {
        if (vn == 5 && !memcmp(v, "error", 5)) s->error_event = true;
        return ECO_STATUS_OK;
    }
    if (!is_data && !is_error) return ECO_STATUS_OK; /* id, retry, unknown fields */
    if (is_error) s->error_event = true;
    if (s->has_data && !eco_buf_push(&s->data, '\n')) return oom(s);
    if (!eco_buf_append(&s->data, v, vn)) return oom(s);
    s->has_data = true;
    return ECO_STATUS_OK;
}

eco_status eco_remote_stream_feed(eco_remote_stream *s, const char *data, size_t len) {
    if (s->failed) return eco_error(s->failed, "%s", s->why);
    if (s->done || s->cancelled) return ECO_STATUS_OK;
    eco_status st = ECO_STATUS_OK;
    if (len > ECO_REMOTE_MAX_ANSWER_BYTES - s->fed)
        st = eco_error(ECO_STATUS_EFORMAT, "%s: the answer is over %zu bytes", s->label,
                       ECO_REMOTE_MAX_ANSWER_BYTES);
    else
        s->fed += len;
    size_t i = 0;
    while (st == ECO_STATUS_OK && i < len && !s->done && !s->cancelled) {
        if (s->after_cr && data[i] == '\n') { /* the \n of a \r\n */
            s->after_cr = false;
            i++;
            continue;
        }
        s->after_cr = false;
        size_t j = i;
        while (j < len && data[j] != '\n' && data[j] != '\r') j++;
        if (!eco_buf_append(&s->line, data + i, j - i)) {
            st = oom(s);
            break;
        }
        if (j == len) break; /* the line goes on in the next read */
        s->after_cr = data[j] == '\r';
        st = line(s, s->line.data ? s->line.data : "", s->line.len);
        eco_buf_reset(&s->line);
        i = j + 1;
    }
    if (st) {
        s->failed = st;
        snprintf(s->why, sizeof s->why, "%s", eco_last_error());
    }
    return st;
}

eco_status eco_remote_stream_result(const eco_remote_stream *s, eco_remote_completion *out) {
    memset(out, 0, sizeof *out);
    out->prompt_tokens = out->completion_tokens = -1;
    out->prompt_ms = out->predicted_ms = -1;
    if (s->failed) return eco_error(s->failed, "%s", s->why);
    if (!s->done && !s->cancelled)
        return eco_error(ECO_STATUS_EIO, "%s: the stream ended before data: [DONE]", s->label);
    size_t n = s->n_tokens;
    out->text = malloc(s->text.len + 1);
    out->logprobs = n ? malloc(n * sizeof *out->logprobs) : NULL;
    out->token_texts = n ? calloc(n, sizeof *out->token_texts) : NULL;
    out->token_lens = n ? malloc(n * sizeof *out->token_lens) : NULL;
    bool ok = out->text && (!n || (out->logprobs && out->token_texts && out->token_lens));
    for (size_t i = 0; ok && i < n; i++) {
        if (!(out->token_texts[i] = malloc(s->token_lens[i] + 1))) {
            ok = false;
            break;
        }
        memcpy(out->token_texts[i], s->token_texts[i], s->token_lens[i] + 1);
        out->token_lens[i] = s->token_lens[i];
        out->logprobs[i] = s->logprobs[i];
    }
    out->n_tokens = n;
    if (!ok) {
        eco_remote_completion_free(out);
        out->prompt_tokens = out->completion_tokens = -1;
        out->prompt_ms = out->predicted_ms = -1;
        return oom(s);
    }
    if (s->text.len) memcpy(out->text, s->text.data, s->text.len);
    out->text[s->text.len] = '\0';
    out->text_len = s->text.len;
    out->finish_reason = s->finish_reason;
    out->prompt_tokens = s->prompt_tokens;
    out->completion_tokens = s->completion_tokens;
    out->prompt_ms = s->prompt_ms;
    out->predicted_ms = s->predicted_ms;
    return ECO_STATUS_OK;
}
