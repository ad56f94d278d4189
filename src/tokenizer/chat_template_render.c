/*
 * chat_template_render.c: writing a conversation the way each recognised template does
 * (include/ecology/chat_template.h), byte for byte as Jinja2 renders the real template under
 * transformers' settings. Each family's function below follows its template's statements in
 * order; the comment above it quotes what it reproduces.
 */
#define _GNU_SOURCE /* memmem */
#include <stdlib.h>
#include <string.h>

#include "ecology/chat_template.h"
#include "tokenizer/chat_template_internal.h"

static bool py_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

void eco_chat_py_strip(const char *s, size_t n, size_t *start, size_t *len) {
    size_t a = 0, z = n;
    while (a < z) {
        uint32_t cp = 0;
        size_t k = eco_utf8_decode(s + a, z - a, &cp);
        if (k == 0 || !py_space(cp)) break;
        a += k;
    }
    while (z > a) {
        size_t b = z - 1;
        while (b > a && ((unsigned char)s[b] & 0xC0) == 0x80) b--;
        uint32_t cp = 0;
        size_t k = eco_utf8_decode(s + b, z - b, &cp);
        if (k != z - b || !py_space(cp)) break;
        z = b;
    }
    *start = a;
    *len = z - a;
}

typedef struct out {
    eco_buf b;
    bool oom;
} out;

static void put(out *o, const char *s, size_t n) {
    if (!o->oom && !eco_buf_append(&o->b, s, n)) o->oom = true;
}
static void puts_(out *o, const char *s) { put(o, s, strlen(s)); }
static void put_stripped(out *o, const char *s, size_t n) {
    size_t a = 0, l = 0;
    eco_chat_py_strip(s, n, &a, &l);
    put(o, s + a, l);
}

static eco_status refuse(const eco_chat_template *t, size_t i, const eco_chat_message *m,
                         const char *why) {
    return eco_error(ECO_STATUS_EINVAL, "message %zu (%s): %s (%s chat template)", i,
                     eco_chat_role_name(m->role), why, eco_chat_template_kind_name(t->kind));
}

/* Turns alternating user/assistant from a user turn, msgs[from..n) (Llama 2 after its
 * optional system message, Mistral, tiny-ecology). */
static eco_status alternate(const eco_chat_template *t, const eco_chat_message *msgs, size_t from,
                            size_t n, const char *system_why) {
    for (size_t i = from; i < n; i++) {
        if (msgs[i].role == ECO_CHAT_ROLE_SYSTEM) return refuse(t, i, &msgs[i], system_why);
        bool user_turn = (i - from) % 2 == 0;
        if ((msgs[i].role == ECO_CHAT_ROLE_USER) != user_turn)
            return refuse(t, i, &msgs[i],
                          "turns must alternate user/assistant/user/..., from a user turn");
    }
    return ECO_STATUS_OK;
}

static bool starts(const char *s, size_t n, const char *p) {
    size_t k = strlen(p);
    return n >= k && memcmp(s, p, k) == 0;
}
static bool ends(const char *s, size_t n, const char *p) {
    size_t k = strlen(p);
    return n >= k && memcmp(s + n - k, p, k) == 0;
}
/* The last occurrence of p in s[0..n), or NULL. */
static const char *last_of(const char *s, size_t n, const char *p) {
    const char *hit = NULL, *q = s;
    size_t k = strlen(p);
    while ((q = memmem(q, (size_t)(s + n - q), p, k)) != NULL) hit = q++;
    return hit;
}

/* ChatML: '<|im_start|>' + role + '\n' + content + '<|im_end|>\n' per message, a default
 * system message first when the template has one and the conversation starts otherwise, and
 * '<|im_start|>assistant\n' with add_generation_prompt. With Qwen3's rules (t->think), the
 * assistant messages follow its template:
 *   content = message.content; reasoning = ''
 *   if '</think>' in content:
 *       content = content.split('</think>')[-1].lstrip('\n')
 *       reasoning = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n')
 *   if index > last_query_index and (last or reasoning):
 *       '<|im_start|>assistant\n<think>\n' + reasoning.strip('\n') + '\n</think>\n\n'
 *           + content.lstrip('\n')
 *   else '<|im_start|>assistant\n' + content
 *   '<|im_end|>\n'
 * where last_query_index is the last user message that is not a whole
 * '<tool_response>...</tool_response>' (the last message when there is none). */
static void render_chatml(const eco_chat_template *t, const eco_chat_message *msgs, size_t n,
                          bool agp, out *o) {
    if (t->default_system && msgs[0].role != ECO_CHAT_ROLE_SYSTEM) {
        puts_(o, "<|im_start|>system\n");
        puts_(o, t->default_system);
        puts_(o, "<|im_end|>\n");
    }
    size_t lqi = n - 1;
    for (size_t k = n; k-- > 0;) {
        const eco_chat_message *m = &msgs[k];
        if (m->role == ECO_CHAT_ROLE_USER && !(starts(m->content, m->len, "<tool_response>") &&
                                               ends(m->content, m->len, "</tool_response>"))) {
            lqi = k;
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const eco_chat_message *m = &msgs[i];
        puts_(o, "<|im_start|>");
        puts_(o, eco_chat_role_name(m->role));
        puts_(o, "\n");
        if (!t->think || m->role != ECO_CHAT_ROLE_ASSISTANT) {
            put(o, m->content, m->len);
            puts_(o, "<|im_end|>\n");
            continue;
        }
        const char *c = m->content, *r = "";
        size_t cl = m->len, rl = 0;
        const char *close = memmem(m->content, m->len, "</think>", 8);
        if (close) {
            const char *tail = last_of(m->content, m->len, "</think>") + 8;
            c = tail;
            cl = (size_t)(m->content + m->len - tail);
            while (cl && *c == '\n') c++, cl--;
            r = m->content;
            rl = (size_t)(close - m->content);
            while (rl && r[rl - 1] == '\n') rl--;
            const char *open = last_of(r, rl, "<think>");
            if (open) {
                rl -= (size_t)(open + 7 - r);
                r = open + 7;
            }
            while (rl && *r == '\n') r++, rl--;
        }
        if (i > lqi && (i == n - 1 || rl > 0)) {
            while (rl && *r == '\n') r++, rl--;
            while (rl && r[rl - 1] == '\n') rl--;
            while (cl && *c == '\n') c++, cl--;
            puts_(o, "<think>\n");
            put(o, r, rl);
            puts_(o, "\n</think>\n\n");
        }
        put(o, c, cl);
        puts_(o, "<|im_end|>\n");
    }
    if (agp) puts_(o, "<|im_start|>assistant\n");
}

/* Llama 2 chat: a first system message S goes into the first turn,
 *   content = '<<SYS>>\n' + S + '\n<</SYS>>\n\n' + content,
 * then bos + '[INST] ' + content.strip() + ' [/INST]' for a user turn and
 * ' ' + content.strip() + ' ' + eos for an answer; add_generation_prompt changes nothing. */
static eco_status render_llama2(const eco_chat_template *t, const eco_chat_message *msgs, size_t n,
                                out *o) {
    size_t from = msgs[0].role == ECO_CHAT_ROLE_SYSTEM ? 1 : 0;
    if (from == n)
        return refuse(t, 0, &msgs[0], "a system message alone renders nothing; no user message");
    eco_status st = alternate(t, msgs, from, n,
                              "the template keeps a system message only as the first message");
    if (st) return st;
    for (size_t i = from; i < n; i++) {
        const eco_chat_message *m = &msgs[i];
        if (m->role == ECO_CHAT_ROLE_USER) {
            puts_(o, t->bos);
            puts_(o, "[INST] ");
            if (i == from && from == 1) {
                /* strip() applies to the system block and the content together */
                out c = {{0}, false};
                puts_(&c, "<<SYS>>\n");
                put(&c, msgs[0].content, msgs[0].len);
                puts_(&c, "\n<</SYS>>\n\n");
                put(&c, m->content, m->len);
                if (c.oom)
                    o->oom = true;
                else
                    put_stripped(o, c.b.data, c.b.len);
                eco_buf_free(&c.b);
            } else {
                put_stripped(o, m->content, m->len);
            }
            puts_(o, " [/INST]");
        } else {
            puts_(o, " ");
            put_stripped(o, m->content, m->len);
            puts_(o, " ");
            puts_(o, t->eos);
        }
    }
    return ECO_STATUS_OK;
}

/* Llama 3: for each message (bos first when the template names it)
 *   '<|start_header_id|>' + role + '<|end_header_id|>\n\n' + content|trim + '<|eot_id|>',
 * then '<|start_header_id|>assistant<|end_header_id|>\n\n' with add_generation_prompt, or
 * always for the first Llama 3 template. */
static void render_llama3(const eco_chat_template *t, const eco_chat_message *msgs, size_t n,
                          bool agp, out *o) {
    for (size_t i = 0; i < n; i++) {
        if (i == 0 && t->bos_first) puts_(o, t->bos);
        puts_(o, "<|start_header_id|>");
        puts_(o, eco_chat_role_name(msgs[i].role));
        puts_(o, "<|end_header_id|>\n\n");
        put_stripped(o, msgs[i].content, msgs[i].len);
        puts_(o, "<|eot_id|>");
    }
    if (agp || t->gen_always) puts_(o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

/* Mistral: bos, then '[INST] ' + content + ' [/INST]' (' [INST] ' in the variant that has
 * it) for a user turn, content + eos for an answer (with the variant's space before it or
 * after eos); only user and assistant, alternating. */
static eco_status render_mistral(const eco_chat_template *t, const eco_chat_message *msgs, size_t n,
                                 out *o) {
    eco_status st = alternate(t, msgs, 0, n, "the template takes user and assistant messages only");
    if (st) return st;
    if (t->bos_first) puts_(o, t->bos);
    for (size_t i = 0; i < n; i++) {
        const eco_chat_message *m = &msgs[i];
        if (m->role == ECO_CHAT_ROLE_USER) {
            puts_(o, t->space_inst ? " [INST] " : "[INST] ");
            put(o, m->content, m->len);
            puts_(o, " [/INST]");
        } else {
            if (t->space_answer) puts_(o, " ");
            put(o, m->content, m->len);
            puts_(o, t->eos);
            if (t->space_after_eos) puts_(o, " ");
        }
    }
    return ECO_STATUS_OK;
}

/* Zephyr: '<|role|>\n' + content + eos per message, '<|assistant|>' after the last with
 * add_generation_prompt; a newline after each when the template's text has them. */
static void render_zephyr(const eco_chat_template *t, const eco_chat_message *msgs, size_t n,
                          bool agp, out *o) {
    for (size_t i = 0; i < n; i++) {
        puts_(o, "<|");
        puts_(o, eco_chat_role_name(msgs[i].role));
        puts_(o, "|>\n");
        put(o, msgs[i].content, msgs[i].len);
        puts_(o, t->eos);
        if (t->newline_after) puts_(o, "\n");
    }
    if (agp) puts_(o, t->newline_after ? "<|assistant|>\n" : "<|assistant|>");
}

/* tiny-ecology: system messages before the first user turn as instruction lines (content +
 * '\n'), then the prompt as written for a user turn and ' ' + answer + '\n' for an answer,
 * user/assistant alternating from a user turn; nothing for the generation prompt. */
static eco_status render_ecology(const eco_chat_template *t, const eco_chat_message *msgs, size_t n,
                                 out *o) {
    size_t first = 0;
    while (first < n && msgs[first].role == ECO_CHAT_ROLE_SYSTEM) first++;
    if (first == n)
        return refuse(t, n - 1, &msgs[n - 1], "tiny-ecology models need a user message");
    eco_status st = alternate(t, msgs, first, n,
                              "tiny-ecology models take system messages before the first user "
                              "turn only");
    if (st) return st;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].role == ECO_CHAT_ROLE_ASSISTANT) puts_(o, " ");
        put(o, msgs[i].content, msgs[i].len);
        if (msgs[i].role != ECO_CHAT_ROLE_USER) puts_(o, "\n");
    }
    return ECO_STATUS_OK;
}

eco_status eco_chat_template_render(const eco_chat_template *t, const eco_chat_message *msgs,
                                    size_t n, bool add_generation_prompt, char **out_text,
                                    size_t *out_len) {
    if (out_text) *out_text = NULL;
    if (out_len) *out_len = 0;
    if (!t || !out_text || (!msgs && n) || !t->bos || !t->eos)
        return eco_error(ECO_STATUS_EINVAL, "chat template: NULL argument");
    if (n == 0) return eco_error(ECO_STATUS_EINVAL, "chat template: no messages");
    for (size_t i = 0; i < n; i++) {
        const eco_chat_message *m = &msgs[i];
        if (m->role != ECO_CHAT_ROLE_SYSTEM && m->role != ECO_CHAT_ROLE_USER &&
            m->role != ECO_CHAT_ROLE_ASSISTANT)
            return eco_error(ECO_STATUS_EINVAL,
                             "message %zu: role %d is not system, user or assistant", i,
                             (int)m->role);
        if (!m->content && m->len)
            return eco_error(ECO_STATUS_EINVAL, "message %zu (%s): NULL content", i,
                             eco_chat_role_name(m->role));
        if (m->len && memchr(m->content, '\0', m->len))
            return eco_error(ECO_STATUS_EINVAL, "message %zu (%s): content holds a NUL byte", i,
                             eco_chat_role_name(m->role));
        size_t ok = m->len ? eco_utf8_valid_prefix(m->content, m->len) : 0;
        if (ok != m->len)
            return eco_error(ECO_STATUS_EINVAL,
                             "message %zu (%s): content is not valid UTF-8 (byte %zu)", i,
                             eco_chat_role_name(m->role), ok);
    }
    out o = {{0}, false};
    eco_status st = ECO_STATUS_OK;
    switch (t->kind) {
        case ECO_CHAT_TEMPLATE_CHATML:
            render_chatml(t, msgs, n, add_generation_prompt, &o);
            break;
        case ECO_CHAT_TEMPLATE_LLAMA2:
            st = render_llama2(t, msgs, n, &o);
            break;
        case ECO_CHAT_TEMPLATE_LLAMA3:
            render_llama3(t, msgs, n, add_generation_prompt, &o);
            break;
        case ECO_CHAT_TEMPLATE_MISTRAL:
            st = render_mistral(t, msgs, n, &o);
            break;
        case ECO_CHAT_TEMPLATE_ZEPHYR:
            render_zephyr(t, msgs, n, add_generation_prompt, &o);
            break;
        case ECO_CHAT_TEMPLATE_ECOLOGY:
            st = render_ecology(t, msgs, n, &o);
            break;
        default:
            st = eco_error(ECO_STATUS_EINVAL, "chat template: kind %d unknown", (int)t->kind);
    }
    if (st == ECO_STATUS_OK && (o.oom || (!o.b.data && !eco_buf_reserve(&o.b, 1))))
        st = eco_error(ECO_STATUS_ENOMEM, "chat template: out of memory rendering %zu messages", n);
    if (st != ECO_STATUS_OK) {
        eco_buf_free(&o.b);
        return st;
    }
    *out_text = o.b.data;
    if (out_len) *out_len = o.b.len;
    return ECO_STATUS_OK;
}
