/*
 * libFuzzer target: the http engine's reader of a streamed answer (remote.h,
 * eco_remote_stream) over arbitrary bytes. The first byte picks how the rest is split into
 * reads (its low nibble + 1 bytes at a time; 0: at once) and after how many tokens the
 * callback cancels (its high nibble; 0: never). Every token must come with the next index,
 * a NUL-terminated text that extends the previous one, and a log-probability that is NaN or
 * at most 0; a refused stream leaves a message beginning with its label, and the answer
 * read holds what the reader promises (a NUL-terminated text, matching arrays).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/remote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct seen {
    size_t n, cancel_at, len;
} seen;

static bool on_token(void *ctx, const eco_remote_token *t) {
    seen *k = ctx;
    if (t->index != k->n || !t->text || t->text[t->text_len] != '\0' || t->text_len < k->len)
        abort();
    if (!(isnan(t->logprob) || t->logprob <= 0)) abort();
    k->n++;
    k->len = t->text_len;
    return !(k->cancel_at && k->n >= k->cancel_at);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    size_t step = data[0] & 15 ? (size_t)(data[0] & 15) + 1 : size;
    seen k = {.cancel_at = data[0] >> 4};
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    eco_remote_stream *s = NULL;
    if (eco_remote_stream_open("stream", on_token, &k, &s) != ECO_STATUS_OK) return 0;
    eco_status st = ECO_STATUS_OK;
    for (size_t i = 0; i < len && st == ECO_STATUS_OK; i += step)
        st = eco_remote_stream_feed(s, body + i, len - i < step ? len - i : step);
    if (st != ECO_STATUS_OK && strncmp(eco_last_error(), "stream", 6) != 0) abort();
    if (k.cancel_at && st == ECO_STATUS_OK && k.n >= k.cancel_at && !eco_remote_stream_cancelled(s))
        abort();
    eco_remote_completion c;
    st = eco_remote_stream_result(s, &c);
    if (st != ECO_STATUS_OK) {
        if (strncmp(eco_last_error(), "stream", 6) != 0) abort();
    } else {
        if (!c.text || c.text[c.text_len] != '\0' || c.n_tokens != k.n) abort();
        if (c.n_tokens && (!c.logprobs || !c.token_texts || !c.token_lens)) abort();
        for (size_t i = 0; i < c.n_tokens; i++)
            if (c.token_texts[i][c.token_lens[i]] != '\0') abort();
        if (c.finish_reason && strcmp(c.finish_reason, "stop") && strcmp(c.finish_reason, "length"))
            abort();
        eco_remote_completion_free(&c);
    }
    eco_remote_stream_free(s);
    return 0;
}
