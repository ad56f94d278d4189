/*
 * Chat requests through the chat-template module (chat_template.h), the one place a
 * conversation becomes a prompt: the template of the model folder that runs the request (an
 * adapter's: its base's) is its tokenizer_config.json chat_template when it has one and the
 * module recognises it (ChatML/Qwen, Llama 2, Llama 3, Mistral, Zephyr), the project's own
 * for the project's models (eco_chat_template_load_dir); anything else is a 400 naming the
 * model. The prompt ends with the template's generation prompt, and the template's stop (its
 * end-of-turn token or text) ends the answer. A routed chat renders by every target's
 * template and needs them all to give the same prompt (the router hands one prompt to
 * whichever target it calls).
 */
#include <stdlib.h>
#include <string.h>

#include "ecology/chat_template.h"
#include "server/complete_internal.h"

/* The template of registry model id (its checkout's), under the registry lock. */
static eco_status load_template(eco_server *s, const char *id, eco_chat_template *t) {
    char *dir = NULL;
    pthread_mutex_lock(&s->reg_mu);
    eco_status st = eco_registry_checkout(s->reg, id, &dir, NULL);
    pthread_mutex_unlock(&s->reg_mu);
    if (st == ECO_STATUS_OK) st = eco_chat_template_load_dir(dir, t);
    free(dir);
    return st;
}

bool srv_chat_render(job *j, answer *a) {
    eco_server *s = j->s;
    const size_t n = j->q.n_messages;
    eco_chat_message *msgs = calloc(n ? n : 1, sizeof *msgs);
    if (!msgs) {
        srv_answer_error(a, 500, NULL, NULL, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const char *role = j->q.messages[i].role;
        msgs[i].role = !strcmp(role, "assistant") ? ECO_CHAT_ROLE_ASSISTANT
                       : !strcmp(role, "user")    ? ECO_CHAT_ROLE_USER
                                                  : ECO_CHAT_ROLE_SYSTEM; /* system, developer */
        msgs[i].content = j->q.messages[i].content;
        msgs[i].len = strlen(msgs[i].content);
    }
    bool ok = true;
    for (size_t k = 0; ok && k < j->n_template_ids; k++) {
        const char *id = j->template_ids[k];
        eco_chat_template t = {0};
        eco_status st = load_template(s, id, &t);
        if (st == ECO_STATUS_EUNSUPPORTED || st == ECO_STATUS_EFORMAT) {
            srv_answer_error(a, 400, "unsupported_chat_template", "model",
                             "model %s has an unrecognised chat template (%s)", id,
                             eco_last_error());
            ok = false;
        } else if (st != ECO_STATUS_OK) {
            srv_answer_error(a, 500, NULL, "model", "model %s: %s", id, eco_last_error());
            ok = false;
        }
        char *prompt = NULL;
        size_t len = 0;
        if (ok && (st = eco_chat_template_render(&t, msgs, n, true, &prompt, &len))) {
            srv_answer_error(a, srv_status_http(st) == 500 ? 500 : 400, NULL, "messages",
                             "%s (model %s)", eco_last_error(), id);
            ok = false;
        }
        if (ok && len > s->opt.limits.max_prompt_bytes) {
            srv_answer_error(a, 400, "context_length_exceeded", "messages",
                             "the prompt is %zu bytes, more than %zu", len,
                             s->opt.limits.max_prompt_bytes);
            ok = false;
        }
        if (ok && j->prompt && strcmp(j->prompt, prompt) != 0) {
            srv_answer_error(a, 400, NULL, "routing",
                             "the routed models' chat templates differ (model %s renders the "
                             "conversation otherwise than %s)",
                             id, j->template_ids[0]);
            ok = false;
        }
        if (ok && !j->prompt) {
            j->prompt = prompt;
            prompt = NULL;
            j->chat_space = t.kind == ECO_CHAT_TEMPLATE_ECOLOGY;
            /* the template's stop, kept for the job's life (template_stop) */
            bool have = false;
            for (size_t i = 0; i < j->n_stops; i++) have |= !strcmp(j->stops[i], t.stop);
            if (!have && t.stop[0]) {
                j->template_stop = t.stop;
                t.stop = NULL;
                if (j->n_stops < sizeof j->stops / sizeof *j->stops - 1)
                    j->stops[j->n_stops++] = j->template_stop;
            }
        }
        free(prompt);
        eco_chat_template_free(&t);
    }
    free(msgs);
    return ok;
}
