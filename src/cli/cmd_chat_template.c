/* ecology chat-template (--model DIR|FILE.gguf | --config FILE) --messages FILE [--no-generation-prompt]
 *                       [--json]
 * The prompt a model's chat template makes of a conversation (include/ecology/chat_template.h):
 * written as is (no newline added, so it can be piped to `generate --prompt -`), or with --json
 * an object with the prompt, the template's kind and its stop sequence. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/chat_template.h"

#define MAX_FILE ((size_t)64 << 20)

int cmd_chat_template(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("model", true), CLI_OPT("config", true), CLI_OPT("messages", true),
                   CLI_OPT("no-generation-prompt", false), CLI_OPT("json", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *model = cli_get(o, n, "model"), *config = cli_get(o, n, "config"),
               *file = cli_get(o, n, "messages");
    if (!model == !config)
        return cli_usage_error("chat-template: give exactly one of --model and --config");
    if (!file) return cli_usage_error("chat-template: --messages FILE is required");
    bool agp = !cli_get(o, n, "no-generation-prompt"), json = cli_get(o, n, "json");

    eco_chat_template t = {0};
    eco_status st;
    if (model) {
        st = eco_chat_template_load_dir(model, &t);
    } else {
        char *text = NULL;
        size_t len = 0;
        st = eco_read_file(config, MAX_FILE, &text, &len);
        if (st == ECO_STATUS_OK) st = eco_chat_template_detect(text, len, config, &t);
        free(text);
    }
    if (st != ECO_STATUS_OK) return cli_fail(st, "chat-template");
    char *text = NULL, *prompt = NULL;
    size_t len = 0, plen = 0, nm = 0;
    eco_chat_message *msgs = NULL;
    st = eco_read_file(file, MAX_FILE, &text, &len);
    if (st == ECO_STATUS_OK) st = eco_chat_messages_parse(text, len, file, &msgs, &nm);
    if (st == ECO_STATUS_OK) st = eco_chat_template_render(&t, msgs, nm, agp, &prompt, &plen);
    int rc = CLI_OK;
    if (st != ECO_STATUS_OK) {
        rc = cli_fail(st, "chat-template");
    } else if (json) {
        json_t *v = json_object();
        json_object_set_new(v, "kind", json_string(eco_chat_template_kind_name(t.kind)));
        json_object_set_new(v, "prompt", json_stringn(prompt, plen));
        json_object_set_new(v, "stop", json_string(t.stop));
        json_object_set_new(v, "bos_token", json_string(t.bos));
        json_object_set_new(v, "eos_token", json_string(t.eos));
        json_object_set_new(v, "messages", json_integer((json_int_t)nm));
        char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        if (s)
            puts(s);
        else
            rc = cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "chat-template");
        free(s);
        json_decref(v);
    } else {
        fwrite(prompt, 1, plen, stdout);
    }
    free(prompt);
    free(msgs);
    free(text);
    eco_chat_template_free(&t);
    return rc;
}
