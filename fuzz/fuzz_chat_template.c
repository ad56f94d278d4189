/*
 * libFuzzer target: chat-template recognition and rendering (include/ecology/chat_template.h).
 * An input starting with '[' is a conversation (eco_chat_messages_parse), rendered by every
 * family; one starting with '{' is a tokenizer_config.json (eco_chat_template_detect), or
 * failing that a conversation object; any other is a template's Jinja source after one byte
 * (eco_chat_template_recognise, bos "<s>", eos "</s>"). A recognised template renders fixed conversations and one whose messages are
 * slices of the input, with and without the generation prompt: each rendering either
 * succeeds, NUL-terminated, valid UTF-8 and the same when repeated, or is refused with a
 * message; a failed detection leaves a zeroed template.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/chat_template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void render(const eco_chat_template *t, const eco_chat_message *m, size_t n) {
    for (int agp = 0; agp < 2; agp++) {
        char *a = NULL, *b = NULL;
        size_t al = 0, bl = 0;
        eco_status st = eco_chat_template_render(t, m, n, agp, &a, &al);
        if (st != ECO_STATUS_OK) {
            if (a || !*eco_last_error()) __builtin_trap();
            continue;
        }
        if (a[al] != '\0' || eco_utf8_valid_prefix(a, al) != al) __builtin_trap();
        if (eco_chat_template_render(t, m, n, agp, &b, &bl) != ECO_STATUS_OK || bl != al ||
            memcmp(a, b, al) != 0)
            __builtin_trap();
        free(a);
        free(b);
    }
}

/* One template of each family, from the Jinja sources the fixtures hold. */
static const char *const family_sources[] = {
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] "
    "+ '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\\n' }}{% endif %}",
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 "
    "% 2 "
    "== 0) %}{{ raise_exception('x') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + "
    "message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ "
    "message['content'] "
    "+ eos_token}}{% endif %}{% endfor %}",
    "{% for message in messages %}{% set content = '<|start_header_id|>' + message['role'] + "
    "'<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 "
    "%}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}",
};

static void conversation(const uint8_t *data, size_t size) {
    eco_chat_message *m = NULL;
    size_t n = 0;
    if (eco_chat_messages_parse((const char *)data, size, "fuzz", &m, &n) != ECO_STATUS_OK) {
        if (m || n) __builtin_trap();
        return;
    }
    if (n == 0) __builtin_trap();
    eco_chat_template t;
    for (size_t k = 0; k < sizeof family_sources / sizeof family_sources[0]; k++) {
        if (eco_chat_template_recognise(family_sources[k], strlen(family_sources[k]), "<s>", "</s>",
                                        "fuzz", &t) != ECO_STATUS_OK)
            __builtin_trap();
        render(&t, m, n);
        eco_chat_template_free(&t);
    }
    if (eco_chat_template_ecology(&t) != ECO_STATUS_OK) __builtin_trap();
    render(&t, m, n);
    eco_chat_template_free(&t);
    free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 0 && data[0] == '[') {
        conversation(data, size);
        return 0;
    }
    eco_chat_template t;
    memset(&t, 0x5A, sizeof t);
    eco_status st;
    if (size > 0 && data[0] == '{')
        st = eco_chat_template_detect((const char *)data, size, "fuzz", &t);
    else
        st = eco_chat_template_recognise(size ? (const char *)data + 1 : NULL, size ? size - 1 : 0,
                                         "<s>", "</s>", "fuzz", &t);
    if (st != ECO_STATUS_OK) {
        if (t.bos || t.eos || t.stop || t.default_system) __builtin_trap();
        if (size > 0 && data[0] == '{') conversation(data, size);
        return 0;
    }
    if (!t.bos || !t.eos || !t.stop) __builtin_trap();
    static const eco_chat_message fixed[] = {
        {ECO_CHAT_ROLE_SYSTEM, "Be brief.", 9},
        {ECO_CHAT_ROLE_USER, " Hi \xe3\x80\x80", 7},
        {ECO_CHAT_ROLE_ASSISTANT, "<think>r</think>\nA", 18},
        {ECO_CHAT_ROLE_USER, "", 0},
    };
    for (size_t from = 0; from < 2; from++)
        for (size_t n = 1; from + n <= 4; n++) render(&t, fixed + from, n);
    /* the input cut in four, roles in turn */
    eco_chat_message m[4];
    size_t q = size / 4;
    for (size_t i = 0; i < 4; i++) {
        m[i].role = (eco_chat_role)(i % 3);
        m[i].content = (const char *)data + i * q;
        m[i].len = i == 3 ? size - 3 * q : q;
    }
    render(&t, m, 4);
    m[0].role = ECO_CHAT_ROLE_USER;
    m[1].role = ECO_CHAT_ROLE_ASSISTANT;
    m[2].role = ECO_CHAT_ROLE_USER;
    render(&t, m, 3);
    eco_chat_template_free(&t);
    return 0;
}
