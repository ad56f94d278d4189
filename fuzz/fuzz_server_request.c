/*
 * libFuzzer target: the server's request-body parser (eco_server_request_parse) over
 * arbitrary bytes, for both endpoints, the first byte choosing the endpoint. A refused body
 * leaves a message beginning with "request" and a param that is a C string; an accepted one
 * holds what the parser promises (a model, a prompt or messages, n in range, stops
 * non-empty, one of lora, merged_adapters and routing at most, each in range), and a chat's
 * messages render to a prompt by the project's chat template. A first byte of 2 (mod 4) sends the
 * rest to the admin's promotion body parser instead.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/chat_template.h"
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
    /* model selection: one of lora, merged_adapters, routing at most, each as promised */
    if ((q.n_lora > 0) + (q.merged != NULL) + (q.routing != NULL) > 1) abort();
    if (q.n_lora > ECO_SERVER_MAX_ADAPTERS) abort();
    for (size_t i = 0; i < q.n_lora; i++)
        if (!q.lora[i].id[0]) abort();
    if (q.merged && (q.merged->n == 0 || q.merged->n > ECO_SERVER_MAX_ADAPTERS ||
                     !(q.merged->density > 0 && q.merged->density <= 1)))
        abort();
    if (q.routing && (q.stream || q.logprobs || q.routing[0] != '{')) abort();
    if (ep == ECO_SERVER_ENDPOINT_CHAT) {
        if (q.n_messages == 0 || q.prompt) abort();
        /* the server's rendering: the chat-template module (here the project's template) */
        eco_chat_template t = {0};
        eco_chat_message *m = calloc(q.n_messages, sizeof *m);
        if (!m || eco_chat_template_ecology(&t) != ECO_STATUS_OK) abort();
        for (size_t i = 0; i < q.n_messages; i++) {
            const char *r = q.messages[i].role;
            m[i].role = !strcmp(r, "assistant") ? ECO_CHAT_ROLE_ASSISTANT
                        : !strcmp(r, "user")    ? ECO_CHAT_ROLE_USER
                                                : ECO_CHAT_ROLE_SYSTEM;
            m[i].content = q.messages[i].content;
            m[i].len = strlen(m[i].content);
        }
        char *p = NULL;
        size_t n = 0;
        if (eco_chat_template_render(&t, m, q.n_messages, true, &p, &n) == ECO_STATUS_OK &&
            strlen(p) != n)
            abort();
        free(p);
        free(m);
        eco_chat_template_free(&t);
    } else if (!q.prompt) {
        abort();
    }
    eco_server_request_free(&q);
    return 0;
}
