/* Chat messages as a prompt for this project's models (eco_server_chat_prompt). The
 * project's models were trained on "<instruction line(s)>\n<Label>:" prompts answered by
 * " <answer>\n" (tasks.h), so a conversation is its messages' text in order: a system or
 * user message followed by a newline unless it is the last one or an assistant message
 * answers it, an assistant message as the answer it would have produced (" <content>\n"). The one place a chat becomes a prompt: the
 * chat-template module (issue 22, another branch) takes over for models that carry a
 * template. */
#include <stdlib.h>
#include <string.h>

#include "ecology/server.h"

eco_status eco_server_chat_prompt(const eco_server_message *m, size_t n, size_t max_bytes,
                                  char **out, size_t *len) {
    *out = NULL;
    if (len) *len = 0;
    eco_buf b = {0};
    bool ok = eco_buf_reserve(&b, 0);
    for (size_t i = 0; ok && i < n; i++) {
        if (strcmp(m[i].role, "assistant") == 0) {
            ok = eco_buf_push(&b, ' ') && eco_buf_puts(&b, m[i].content) && eco_buf_push(&b, '\n');
        } else {
            /* the newline ends the line, except before the answer to it (" <answer>\n") */
            bool answered = i + 1 < n && strcmp(m[i + 1].role, "assistant") == 0;
            ok = eco_buf_puts(&b, m[i].content) &&
                 (i + 1 == n || answered || eco_buf_push(&b, '\n'));
        }
        if (ok && b.len > max_bytes) {
            eco_buf_free(&b);
            return eco_error(ECO_STATUS_ERANGE, "messages: the prompt is more than %zu bytes",
                             max_bytes);
        }
    }
    if (!ok) {
        eco_buf_free(&b);
        return eco_error(ECO_STATUS_ENOMEM, "messages: out of memory");
    }
    *out = b.data;
    if (len) *len = b.len;
    return ECO_STATUS_OK;
}
