/*
 * libFuzzer target: the server's request-body parser (eco_server_request_parse) over
 * arbitrary bytes, for both endpoints, the first byte choosing the endpoint. A refused body
 * leaves a message beginning with "request" and a param that is a C string; an accepted one
 * holds what the parser promises (a model, a prompt or messages, n in range, stops
 * non-empty), and a chat's messages render to a prompt. A first byte of 2 (mod 4) sends the
 * rest to the admin's promotion body parser instead.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    if (data[0] % 4 == 2) {
        eco_server_promote p;
        if (eco_server_promote_parse((const char *)data + 1, size - 1, &p) == ECO_STATUS_OK) {
            if (!p.capability || !p.capability[0] || !p.model || !p.model[0]) abort();
            eco_server_promote_free(&p);
        } else if (strncmp(eco_last_error(), "request", 7) != 0) {
            abort();
        }
        return 0;
    }
    eco_server_endpoint ep =
        data[0] & 1 ? ECO_SERVER_ENDPOINT_CHAT : ECO_SERVER_ENDPOINT_COMPLETIONS;
    eco_server_limits l;
    eco_server_limits_default(&l);
    eco_server_request q;
    char param[256];
    eco_status st =
        eco_server_request_parse((const char *)data + 1, size - 1, ep, &l, &q, param, sizeof param);
    if (st != ECO_STATUS_OK) {
        if (strncmp(eco_last_error(), "request", 7) != 0) abort();
        if (strnlen(param, sizeof param) == sizeof param) abort();
        return 0;
    }
    if (!q.model || !q.model[0] || q.n < 1 || q.n > l.max_n || q.n_stop > l.max_stop) abort();
    for (size_t i = 0; i < q.n_stop; i++)
        if (!q.stop[i][0]) abort();
    if (ep == ECO_SERVER_ENDPOINT_CHAT) {
        if (q.n_messages == 0 || q.prompt) abort();
        char *p = NULL;
        size_t n = 0;
        if (eco_server_chat_prompt(q.messages, q.n_messages, l.max_prompt_bytes, &p, &n) ==
                ECO_STATUS_OK &&
            strlen(p) != n)
            abort();
        free(p);
    } else if (!q.prompt) {
        abort();
    }
    eco_server_request_free(&q);
    return 0;
}
