/*
 * libFuzzer target: the http engine's reading of a server's answers (remote.h) over arbitrary
 * bytes. An even first byte sends the rest to eco_remote_parse_completion: a refused answer
 * leaves a message beginning with its label, an accepted one holds what the parser promises
 * (a NUL-terminated text of text_len bytes, matching log-probability and token arrays, each
 * log-probability at most 0). An odd one sends it to eco_remote_error_message, whose message
 * must be a NUL-terminated string within its buffer.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/remote.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    if (data[0] & 1) {
        char msg[96], code[16];
        memset(msg, 'x', sizeof msg);
        eco_remote_error_message(body, len, msg, sizeof msg, code, sizeof code);
        if (!memchr(msg, '\0', sizeof msg) || !memchr(code, '\0', sizeof code)) abort();
        return 0;
    }
    eco_remote_completion c;
    if (eco_remote_parse_completion(body, len, "answer", &c) != ECO_STATUS_OK) {
        if (strncmp(eco_last_error(), "answer", 6) != 0) abort();
        return 0;
    }
    if (!c.text || c.text[c.text_len] != '\0') abort();
    if (c.n_tokens && (!c.logprobs || !c.token_texts || !c.token_lens)) abort();
    for (size_t i = 0; i < c.n_tokens; i++) {
        if (!(c.logprobs[i] <= 0) || c.token_texts[i][c.token_lens[i]] != '\0') abort();
    }
    if (c.finish_reason && strcmp(c.finish_reason, "stop") && strcmp(c.finish_reason, "length"))
        abort();
    eco_remote_completion_free(&c);
    return 0;
}
