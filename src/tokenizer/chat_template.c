/*
 * chat_template.c: recognising a tokenizer_config.json chat_template (the families and
 * variants include/ecology/chat_template.h lists) from a normalised form of its Jinja source.
 * Rendering is in chat_template_render.c.
 */
#define _GNU_SOURCE /* memmem */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "ecology/chat_template.h"
#include "ecology/gguf.h"
#include "ecology/tokenizer.h"
#include "tokenizer/chat_template_internal.h"

/* The largest template recognised, and the largest tokenizer_config.json read. */
#define TEMPLATE_MAX   (1u << 20)
#define CONFIG_MAX     (64u << 20)
/* The marker of the project's own template (its first line). */
#define ECOLOGY_MARKER "{#- tiny-ecology chat template 2 -#}"

const char *eco_chat_role_name(eco_chat_role role) {
    switch (role) {
        case ECO_CHAT_ROLE_SYSTEM:
            return "system";
        case ECO_CHAT_ROLE_USER:
            return "user";
        case ECO_CHAT_ROLE_ASSISTANT:
            return "assistant";
    }
    return "?";
}

eco_status eco_chat_role_parse(const char *s, size_t len, eco_chat_role *out) {
    static const eco_chat_role roles[] = {ECO_CHAT_ROLE_SYSTEM, ECO_CHAT_ROLE_USER,
                                          ECO_CHAT_ROLE_ASSISTANT};
    if (!s || !out) return eco_error(ECO_STATUS_EINVAL, "chat role: NULL argument");
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        const char *name = eco_chat_role_name(roles[i]);
        if (strlen(name) == len && memcmp(name, s, len) == 0) {
            *out = roles[i];
            return ECO_STATUS_OK;
        }
    }
    char shown[ECO_JSON_SHOWN_SIZE];
    return eco_error(ECO_STATUS_EINVAL,
                     "role '%s' is not one of system, user, assistant (tool messages and "
                     "other roles are not supported)",
                     eco_json_shown(s, len, shown));
}

const char *eco_chat_template_kind_name(eco_chat_template_kind kind) {
    switch (kind) {
        case ECO_CHAT_TEMPLATE_CHATML:
            return "chatml";
        case ECO_CHAT_TEMPLATE_LLAMA2:
            return "llama2";
        case ECO_CHAT_TEMPLATE_LLAMA3:
            return "llama3";
        case ECO_CHAT_TEMPLATE_MISTRAL:
            return "mistral";
        case ECO_CHAT_TEMPLATE_ZEPHYR:
            return "zephyr";
        case ECO_CHAT_TEMPLATE_ECOLOGY:
            return "ecology";
    }
    return "?";
}

void eco_chat_template_free(eco_chat_template *t) {
    if (!t) return;
    free(t->bos);
    free(t->eos);
    free(t->stop);
    free(t->default_system);
    memset(t, 0, sizeof *t);
}

/* ---- normalising the Jinja source -------------------------------------------------------- */

static bool is_word(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Drops trailing white space of the text since the last tag (a '-' control). */
static void trim_data_end(eco_buf *b, size_t data_start) {
    while (b->len > data_start && is_space(b->data[b->len - 1])) b->len--;
    if (b->data) b->data[b->len] = '\0';
}

/* lstrip_blocks: spaces and tabs between the start of a line and a block tag go. */
static void lstrip_data_end(eco_buf *b, size_t data_start) {
    size_t k = b->len;
    while (k > data_start && (b->data[k - 1] == ' ' || b->data[k - 1] == '\t')) k--;
    if (k == b->len) return;
    if ((k > data_start && b->data[k - 1] == '\n') || (k == data_start && data_start == 0)) {
        b->len = k;
        b->data[k] = '\0';
    }
}

/* Appends a Jinja string literal starting at s[*i] (a quote) decoded, re-quoted with '.
 * 0: done, *i past it; 1: not closed; 2: out of memory. */
static int put_string(const char *s, size_t n, size_t *i, eco_buf *b) {
    char q = s[*i];
    size_t k = *i + 1;
    if (!eco_buf_push(b, '\'')) return 2;
    for (; k < n && s[k] != q; k++) {
        char c = s[k];
        if (c == '\\' && k + 1 < n) {
            char e = s[++k];
            switch (e) {
                case 'n':
                    c = '\n';
                    break;
                case 't':
                    c = '\t';
                    break;
                case 'r':
                    c = '\r';
                    break;
                case '\\':
                    c = '\\';
                    break;
                case '\'':
                    c = '\'';
                    break;
                case '"':
                    c = '"';
                    break;
                default:
                    if (!eco_buf_push(b, '\\')) return 2;
                    c = e;
                    break;
            }
        }
        if ((c == '\\' || c == '\'') && !eco_buf_push(b, '\\')) return 2;
        if (!eco_buf_push(b, c)) return 2;
    }
    if (k >= n) return 1;
    *i = k + 1;
    return eco_buf_push(b, '\'') ? 0 : 2;
}

eco_status eco_chat_template_normalise(const char *s, size_t n, const char *label, eco_buf *b) {
    size_t i = 0, data_start = 0;
    bool skip_ws = false;
    while (i < n) {
        if (s[i] == '{' && i + 1 < n && (s[i + 1] == '{' || s[i + 1] == '%' || s[i + 1] == '#')) {
            char kind = s[i + 1];
            size_t open_at = i;
            i += 2;
            bool dash = i < n && s[i] == '-', plus = i < n && s[i] == '+';
            if (dash || plus) i++;
            if (dash)
                trim_data_end(b, data_start);
            else if (kind != '{' && !plus)
                lstrip_data_end(b, data_start);
            char close = kind == '{' ? '}' : kind;
            bool right_dash = false;
            if (kind == '#') {
                const char *e = NULL;
                for (size_t k = i; k + 1 < n; k++)
                    if (s[k] == '#' && s[k + 1] == '}') {
                        e = s + k;
                        break;
                    }
                if (!e)
                    return eco_error(ECO_STATUS_EFORMAT,
                                     "%s: chat_template: comment opened at byte %zu is not closed",
                                     label, open_at);
                right_dash = e > s + i && e[-1] == '-';
                i = (size_t)(e - s) + 2;
            } else {
                if (!eco_buf_push(b, '{') || !eco_buf_push(b, kind)) goto nomem;
                bool space = false, closed = false;
                while (i < n) {
                    char c = s[i];
                    if ((c == '-' && i + 2 < n && s[i + 1] == close && s[i + 2] == '}') ||
                        (c == close && i + 1 < n && s[i + 1] == '}')) {
                        right_dash = c == '-';
                        i += right_dash ? 3 : 2;
                        closed = true;
                        break;
                    }
                    if (is_space(c)) {
                        space = true;
                        i++;
                        continue;
                    }
                    char last = b->len ? b->data[b->len - 1] : '\0';
                    if (space && is_word(last) && is_word(c) && !eco_buf_push(b, ' ')) goto nomem;
                    space = false;
                    if (c == '\'' || c == '"') {
                        int r = put_string(s, n, &i, b);
                        if (r == 2) goto nomem;
                        if (r == 1)
                            return eco_error(ECO_STATUS_EFORMAT,
                                             "%s: chat_template: string opened at byte %zu is "
                                             "not closed",
                                             label, i);
                        continue;
                    }
                    /* x.name (not a method call) is written x['name'] */
                    if (c == '.' && (is_word(last) || last == ']' || last == ')') && i + 1 < n &&
                        ((s[i + 1] >= 'a' && s[i + 1] <= 'z') ||
                         (s[i + 1] >= 'A' && s[i + 1] <= 'Z') || s[i + 1] == '_')) {
                        size_t k = i + 1;
                        while (k < n && is_word(s[k])) k++;
                        size_t w = k;
                        while (w < n && is_space(s[w])) w++;
                        if (w >= n || s[w] != '(') {
                            if (!eco_buf_puts(b, "['") ||
                                !eco_buf_append(b, s + i + 1, k - i - 1) || !eco_buf_puts(b, "']"))
                                goto nomem;
                            i = k;
                            continue;
                        }
                    }
                    if (!eco_buf_push(b, c)) goto nomem;
                    i++;
                }
                if (!closed)
                    return eco_error(
                        ECO_STATUS_EFORMAT,
                        "%s: chat_template: tag '{%c' opened at byte %zu is not closed", label,
                        kind, open_at);
                if (!eco_buf_push(b, close) || !eco_buf_push(b, '}')) goto nomem;
            }
            skip_ws = right_dash;
            /* trim_blocks: the first newline after a block tag or a comment goes */
            if (!right_dash && kind != '{' && i < n && s[i] == '\n') i++;
            data_start = b->len;
            continue;
        }
        if (skip_ws && is_space(s[i])) {
            i++;
            continue;
        }
        skip_ws = false;
        if (!eco_buf_push(b, s[i])) goto nomem;
        i++;
    }
    if (!b->data && !eco_buf_reserve(b, 1)) goto nomem;
    return ECO_STATUS_OK;
nomem:
    return eco_error(ECO_STATUS_ENOMEM, "%s: chat_template: out of memory", label);
}

/* ---- recognising ------------------------------------------------------------------------- */

typedef struct norm {
    const char *s;
    size_t n;
} norm;

static bool has(const norm *t, const char *pat) {
    return memmem(t->s, t->n, pat, strlen(pat)) != NULL;
}

static eco_status differs(const char *label, const char *family, const char *what) {
    return eco_error(ECO_STATUS_EUNSUPPORTED,
                     "%s: chat_template looks like %s but %s; it is not one the project renders "
                     "(include/ecology/chat_template.h lists the accepted templates)",
                     label, family, what);
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

/* ChatML's default system message: the one literal '<|im_start|>system\n<TEXT><|im_end|>\n'
 * with a non-empty TEXT; *out NULL when there is none. */
static eco_status chatml_default_system(const norm *t, const char *label, char **out) {
    static const char head[] = "'<|im_start|>system\n", tail[] = "<|im_end|>\n'";
    *out = NULL;
    const char *p = t->s, *end = t->s + t->n;
    while ((p = memmem(p, (size_t)(end - p), head, sizeof head - 1)) != NULL) {
        const char *text = p + sizeof head - 1, *q = text;
        /* the literal's end: the first unescaped quote */
        while (q < end && *q != '\'') q += (*q == '\\' && q + 1 < end) ? 2 : 1;
        p = text;
        if (q >= end || (size_t)(q - text) < sizeof tail - 2) continue;
        if (memcmp(q - (sizeof tail - 2), tail, sizeof tail - 2) != 0) continue;
        size_t len = (size_t)(q - text) - (sizeof tail - 2);
        if (len == 0) continue;
        /* decode the \\ and \' escapes the normaliser wrote */
        char *d = malloc(len + 1);
        if (!d) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
        size_t m = 0;
        for (size_t k = 0; k < len; k++) {
            if (text[k] == '\\' && k + 1 < len) k++;
            d[m++] = text[k];
        }
        d[m] = '\0';
        if (*out && strcmp(*out, d) != 0) {
            free(d);
            free(*out);
            *out = NULL;
            return differs(label, "ChatML", "it has more than one default system message");
        }
        free(*out);
        *out = d;
    }
    return ECO_STATUS_OK;
}

static eco_status need_token(const char *label, const char *family, const char *name,
                             const char *value) {
    if (value && *value) return ECO_STATUS_OK;
    return eco_error(ECO_STATUS_EUNSUPPORTED,
                     "%s: %s: missing or empty, and the %s template needs it", label, name, family);
}

static eco_status recognise(const norm *t, const char *raw, size_t raw_len, const char *bos,
                            const char *eos, const char *label, eco_chat_template *o) {
    eco_status st = ECO_STATUS_OK;
    const char *stop = NULL;
    if (raw_len >= sizeof ECOLOGY_MARKER - 1 &&
        memcmp(raw, ECOLOGY_MARKER, sizeof ECOLOGY_MARKER - 1) == 0) {
        o->kind = ECO_CHAT_TEMPLATE_ECOLOGY;
        stop = "\n";
    } else if (has(t, "<|start_header_id|>") && has(t, "<|end_header_id|>") &&
               has(t, "<|eot_id|>")) {
        o->kind = ECO_CHAT_TEMPLATE_LLAMA3;
        if (has(t, "Cutting Knowledge Date") || has(t, "tools") || has(t, "ipython"))
            return differs(label, "Llama 3",
                           "it writes tool and date system blocks (the Llama 3.1+ template)");
        if (!has(t, "'<|start_header_id|>'+message['role']+'<|end_header_id|>\n\n'+message['"
                    "content']|trim+'<|eot_id|>'"))
            return differs(
                label, "Llama 3",
                "its turn is not '<|start_header_id|>' + role + '<|end_header_id|>\\n\\n' + "
                "content|trim + '<|eot_id|>'");
        if (!has(t, "'<|start_header_id|>assistant<|end_header_id|>\n\n'"))
            return differs(label, "Llama 3", "it has no assistant header to generate after");
        o->bos_first = has(t, "bos_token");
        o->gen_always = !has(t, "add_generation_prompt");
        if (o->bos_first && (st = need_token(label, "Llama 3", "bos_token", bos))) return st;
        stop = "<|eot_id|>";
    } else if (has(t, "<|im_start|>") && has(t, "<|im_end|>")) {
        o->kind = ECO_CHAT_TEMPLATE_CHATML;
        if (has(t, "bos_token"))
            return differs(label, "ChatML", "it writes bos_token (zephyr-gemma's layout)");
        if (has(t, "loop['last']and add_generation_prompt"))
            return differs(label, "ChatML",
                           "it leaves <|im_end|> off the last message (Qwen1.5's layout)");
        if (!has(t, "'<|im_start|>'+message['role']+'\n'+message['content']+'<|im_end|>'+'\n'") &&
            !has(t, "'<|im_start|>'+message['role']+'\n'+message['content']+'<|im_end|>\n'"))
            return differs(
                label, "ChatML",
                "its turn is not '<|im_start|>' + role + '\\n' + content + '<|im_end|>\\n'");
        if (!has(t, "'<|im_start|>assistant\n'"))
            return differs(label, "ChatML",
                           "it has no '<|im_start|>assistant\\n' generation prompt");
        if (has(t, "reasoning_content") || has(t, "</think>")) {
            if (!has(t, "'\n<think>\n'+reasoning_content.strip('\n')+'\n</"
                        "think>\n\n'+content.lstrip('\n')"))
                return differs(label, "ChatML", "its reasoning (<think>) rules are not Qwen3's");
            if (has(t, "enable_thinking") &&
                !has(t, "enable_thinking is defined and enable_thinking is false"))
                return differs(label, "ChatML", "its enable_thinking switch is not Qwen3's");
            o->think = true;
        }
        if ((st = chatml_default_system(t, label, &o->default_system))) return st;
        stop = "<|im_end|>";
    } else if (has(t, "[INST]") && has(t, "<<SYS>>")) {
        o->kind = ECO_CHAT_TEMPLATE_LLAMA2;
        if (!has(t, "'<<SYS>>\n'+system_message+'\n<</SYS>>\n\n'+message['content']"))
            return differs(label, "Llama 2",
                           "its system block is not '<<SYS>>\\n' + system + '\\n<</SYS>>\\n\\n'");
        if (!has(t, "bos_token+'[INST] '+content.strip()+' [/INST]'"))
            return differs(label, "Llama 2",
                           "its user turn is not bos + '[INST] ' + content.strip() + ' [/INST]'");
        if (!has(t, "' '+content.strip()+' '+eos_token"))
            return differs(label, "Llama 2", "its answer is not ' ' + content.strip() + ' ' + eos");
        if (has(t, "DEFAULT_SYSTEM_MESSAGE") && !has(t, "USE_DEFAULT_PROMPT==true"))
            return differs(label, "Llama 2", "it writes a default system message");
        if ((st = need_token(label, "Llama 2", "bos_token", bos)) ||
            (st = need_token(label, "Llama 2", "eos_token", eos)))
            return st;
        stop = eos;
    } else if (has(t, "[INST]")) {
        o->kind = ECO_CHAT_TEMPLATE_MISTRAL;
        if (has(t, "system_message") || has(t, "tools") || has(t, "[SYSTEM_PROMPT]") ||
            has(t, "[AVAILABLE_TOOLS]"))
            return differs(label, "Mistral",
                           "it handles a system message or tools (the later Mistral templates)");
        bool plain = has(t, "'[INST] '+message['content']+' [/INST]'");
        bool spaced = has(t, "' [INST] '+message['content']+' [/INST]'");
        if (plain == spaced)
            return differs(
                label, "Mistral",
                "its user turn is not '[INST] ' + content + ' [/INST]' (or ' [INST] ...')");
        o->space_inst = spaced;
        bool a = has(t, "{{message['content']+eos_token}}");
        bool b = has(t, "{{message['content']+eos_token+' '}}");
        bool c = has(t, "{{' '+message['content']+eos_token}}");
        if ((int)a + (int)b + (int)c != 1)
            return differs(label, "Mistral",
                           "its answer is not content + eos (or ' ' + content + eos, content + "
                           "eos + ' ')");
        o->space_answer = c;
        o->space_after_eos = b;
        if (!has(t, "(message['role']=='user')!=(loop['index0']%2==0)"))
            return differs(label, "Mistral", "it does not check that user and assistant alternate");
        o->bos_first = has(t, "bos_token");
        if (o->bos_first && (st = need_token(label, "Mistral", "bos_token", bos))) return st;
        if ((st = need_token(label, "Mistral", "eos_token", eos))) return st;
        stop = eos;
    } else if (has(t, "<|user|>") && has(t, "<|assistant|>")) {
        o->kind = ECO_CHAT_TEMPLATE_ZEPHYR;
        static const char *const turns[] = {"'<|user|>\n'+message['content']+eos_token",
                                            "'<|system|>\n'+message['content']+eos_token",
                                            "'<|assistant|>\n'+message['content']+eos_token"};
        for (size_t k = 0; k < 3; k++)
            if (!has(t, turns[k]))
                return differs(label, "Zephyr",
                               "its turns are not '<|role|>\\n' + content + eos for user, system "
                               "and assistant");
        bool nl = has(t, "+eos_token}}\n");
        if (nl != has(t, "{{'<|assistant|>'}}\n") || (!nl && !has(t, "{{'<|assistant|>'}}")))
            return differs(label, "Zephyr",
                           "its generation prompt is not '<|assistant|>' laid out as its turns");
        if (!has(t, "loop['last']and add_generation_prompt") &&
            !has(t, "{%if add_generation_prompt%}"))
            return differs(label, "Zephyr",
                           "its generation prompt does not follow add_generation_prompt");
        o->newline_after = nl;
        if ((st = need_token(label, "Zephyr", "eos_token", eos))) return st;
        stop = eos;
    } else {
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s: chat_template is not one the project renders: none of ChatML "
                         "(<|im_start|>), Llama 2 ([INST] with <<SYS>>), Llama 3 "
                         "(<|start_header_id|>), Mistral ([INST]), Zephyr (<|user|>) or the "
                         "tiny-ecology template; it is refused rather than guessed",
                         label);
    }
    o->bos = dup_or_empty(bos);
    o->eos = dup_or_empty(eos);
    o->stop = dup_or_empty(stop);
    if (!o->bos || !o->eos || !o->stop)
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
    return ECO_STATUS_OK;
}

eco_status eco_chat_template_recognise(const char *tmpl, size_t tmpl_len, const char *bos,
                                       const char *eos, const char *label, eco_chat_template *out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "chat template: NULL argument");
    memset(out, 0, sizeof *out);
    if (!label) label = "chat_template";
    if (!tmpl && tmpl_len) return eco_error(ECO_STATUS_EINVAL, "%s: NULL template", label);
    if (tmpl_len > TEMPLATE_MAX)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s: chat_template is %zu bytes, more than the %u recognised", label,
                         tmpl_len, TEMPLATE_MAX);
    if (memchr(tmpl ? tmpl : "", '\0', tmpl_len))
        return eco_error(ECO_STATUS_EFORMAT, "%s: chat_template: holds a NUL byte", label);
    const char *tokens[2] = {bos, eos};
    for (size_t k = 0; k < 2; k++)
        if (tokens[k] && eco_utf8_valid_prefix(tokens[k], strlen(tokens[k])) != strlen(tokens[k]))
            return eco_error(ECO_STATUS_EFORMAT, "%s: %s: not valid UTF-8", label,
                             k ? "eos_token" : "bos_token");
    size_t valid = tmpl_len ? eco_utf8_valid_prefix(tmpl, tmpl_len) : 0;
    if (valid != tmpl_len)
        return eco_error(ECO_STATUS_EFORMAT, "%s: chat_template: not valid UTF-8 (byte %zu)", label,
                         valid);
    eco_buf b = {0};
    eco_status st = eco_chat_template_normalise(tmpl, tmpl_len, label, &b);
    if (st == ECO_STATUS_OK) {
        norm t = {b.data, b.len};
        st = recognise(&t, tmpl ? tmpl : "", tmpl_len, bos, eos, label, out);
    }
    eco_buf_free(&b);
    if (st != ECO_STATUS_OK) eco_chat_template_free(out);
    return st;
}

/* bos_token / eos_token: a string, an AddedToken object {"content": ...}, null or absent. */
static eco_status read_token(const eco_jr *r, const char *key, const char **out) {
    *out = NULL;
    const json_t *v = eco_jr_opt(r, key);
    if (!v) return ECO_STATUS_OK;
    if (json_is_object(v)) {
        eco_jr c = eco_jr_child(r, key, v);
        return eco_jr_str(&c, "content", true, false, out, NULL);
    }
    return eco_jr_str(r, key, false, false, out, NULL);
}

eco_status eco_chat_template_detect(const char *json, size_t len, const char *label,
                                    eco_chat_template *out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "chat template: NULL argument");
    memset(out, 0, sizeof *out);
    if (!label) label = "tokenizer_config.json";
    json_t *root = NULL;
    /* Hugging Face writes model_max_length as 1000000000000000019884624838656 when a model
     * sets none, past any integer type: integers are read as reals (none is used here) */
    eco_status st = eco_json_parse(json, len, JSON_DECODE_INT_AS_REAL, label, &root);
    if (st) return st;
    if (!json_is_object(root)) {
        json_decref(root);
        return eco_error(ECO_STATUS_EFORMAT, "%s: expected a JSON object", label);
    }
    eco_jr r = eco_jr_root(label, root);
    const char *bos = NULL, *eos = NULL, *tmpl = NULL;
    size_t tmpl_len = 0;
    if ((st = read_token(&r, "bos_token", &bos)) || (st = read_token(&r, "eos_token", &eos)))
        goto done;
    const json_t *ct = eco_jr_opt(&r, "chat_template");
    if (!ct) {
        st = eco_error(ECO_STATUS_ENOTFOUND, "%s: no chat_template", label);
        goto done;
    }
    if (json_is_array(ct)) {
        /* [{"name": "default", "template": ...}, {"name": "tool_use", ...}] */
        size_t i;
        const json_t *e;
        json_array_foreach(ct, i, e) {
            eco_jr item = eco_jr_item(&r, "chat_template", i, e);
            const char *name = NULL;
            if (!json_is_object(e)) {
                st = eco_jr_fail(&item, NULL, ECO_STATUS_EFORMAT, "expected an object");
                goto done;
            }
            if ((st = eco_jr_str(&item, "name", true, false, &name, NULL))) goto done;
            if (strcmp(name, "default") == 0) {
                if ((st = eco_jr_str(&item, "template", true, false, &tmpl, &tmpl_len))) goto done;
                break;
            }
        }
        if (!tmpl) {
            st = eco_error(ECO_STATUS_ENOTFOUND,
                           "%s: chat_template: a list without a template named 'default'", label);
            goto done;
        }
    } else if ((st = eco_jr_str(&r, "chat_template", true, false, &tmpl, &tmpl_len))) {
        goto done;
    }
    st = eco_chat_template_recognise(tmpl, tmpl_len, bos, eos, label, out);
done:
    json_decref(root);
    return st;
}

eco_status eco_chat_template_ecology(eco_chat_template *out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "chat template: NULL argument");
    memset(out, 0, sizeof *out);
    out->kind = ECO_CHAT_TEMPLATE_ECOLOGY;
    out->bos = strdup("<|bos|>");
    out->eos = strdup("<|eos|>");
    out->stop = strdup("\n");
    if (!out->bos || !out->eos || !out->stop) {
        eco_chat_template_free(out);
        return eco_error(ECO_STATUS_ENOMEM, "chat template: out of memory");
    }
    return ECO_STATUS_OK;
}

/* A token's text by the id a GGUF key names (tokenizer.ggml.bos_token_id), malloc'd; NULL
 * with OK when the key is absent. */
static eco_status gguf_token(const eco_gguf *g, const char *key, const eco_gguf_str *tokens,
                             uint64_t n_tokens, char **out) {
    *out = NULL;
    int64_t id = -1;
    eco_status st = eco_gguf_get_int(g, key, &id);
    if (st == ECO_STATUS_ENOTFOUND) return ECO_STATUS_OK;
    if (st) return st;
    if (id < 0 || (uint64_t)id >= n_tokens)
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: %s: %lld outside the %llu tokens of "
                         "tokenizer.ggml.tokens",
                         eco_gguf_label(g), key, (long long)id, (unsigned long long)n_tokens);
    *out = strndup(tokens[id].s, tokens[id].len);
    return *out ? ECO_STATUS_OK
                : eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", eco_gguf_label(g));
}

/* A .gguf's tokenizer.chat_template, its bos and eos from tokenizer.ggml.*; ENOTFOUND
 * (quietly) when it has no template. */
static eco_status load_gguf(const char *path, eco_chat_template *out) {
    eco_gguf *g = NULL;
    eco_status st = eco_gguf_open(path, &g);
    if (st) return st;
    eco_gguf_str tmpl = {0};
    const eco_gguf_str *tokens = NULL;
    uint64_t n_tokens = 0;
    char *bos = NULL, *eos = NULL;
    st = eco_gguf_get_str(g, "tokenizer.chat_template", &tmpl);
    if (st) goto done;
    st = eco_gguf_get_str_array(g, "tokenizer.ggml.tokens", &tokens, &n_tokens);
    if (st == ECO_STATUS_ENOTFOUND) st = ECO_STATUS_OK; /* no tokens: no bos or eos */
    if (st || (st = gguf_token(g, "tokenizer.ggml.bos_token_id", tokens, n_tokens, &bos)) ||
        (st = gguf_token(g, "tokenizer.ggml.eos_token_id", tokens, n_tokens, &eos)))
        goto done;
    st = eco_chat_template_recognise(tmpl.s, tmpl.len, bos, eos, path, out);
done:
    free(bos);
    free(eos);
    eco_gguf_close(g);
    return st;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

eco_status eco_chat_template_load_dir(const char *dir, eco_chat_template *out) {
    if (!dir || !out) return eco_error(ECO_STATUS_EINVAL, "chat template: NULL argument");
    memset(out, 0, sizeof *out);
    eco_status st;
    if (!eco_path_is_dir(dir) && ends_with(dir, ".gguf")) {
        st = load_gguf(dir, out);
        if (st != ECO_STATUS_ENOTFOUND) return st;
        eco_clear_error();
    } else {
        if ((st = eco_path_require_dir(dir, ECO_MODEL_DIR_EXPECTED))) return st;
        if (eco_path_has_file(dir, "tokenizer_config.json")) {
            char *path = eco_path_join(dir, "tokenizer_config.json"), *text = NULL;
            size_t len = 0;
            if (!path) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
            st = eco_read_file(path, CONFIG_MAX, &text, &len);
            if (st == ECO_STATUS_OK) st = eco_chat_template_detect(text, len, path, out);
            free(text);
            free(path);
            if (st != ECO_STATUS_ENOTFOUND) return st;
            eco_clear_error();
        }
    }
    /* no chat_template: the project's own, for a tiny-ecology model only */
    eco_tokenizer *tok = NULL;
    if ((st = eco_tokenizer_load(dir, &tok))) return st;
    int32_t b = eco_tokenizer_token_id(tok, "<|bos|>"), e = eco_tokenizer_token_id(tok, "<|eos|>");
    bool ours =
        b >= 0 && e >= 0 && eco_tokenizer_is_special(tok, b) && eco_tokenizer_is_special(tok, e);
    eco_tokenizer_free(tok);
    if (!ours)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s: no chat_template (tokenizer_config.json, or tokenizer.chat_template "
                         "in a .gguf), and not a tiny-ecology model (its tokenizer has no special "
                         "tokens <|bos|> and <|eos|>): no chat template to render",
                         dir);
    return eco_chat_template_ecology(out);
}

/* ---- conversations as JSON ------------------------------------------------------------------ */

eco_status eco_chat_messages_parse(const char *json, size_t len, const char *label,
                                   eco_chat_message **msgs, size_t *n) {
    if (!msgs || !n) return eco_error(ECO_STATUS_EINVAL, "chat messages: NULL argument");
    *msgs = NULL;
    *n = 0;
    if (!label) label = "messages";
    json_t *root = NULL;
    eco_status st = eco_json_parse(json, len, JSON_DECODE_ANY, label, &root);
    if (st) return st;
    eco_jr r = eco_jr_root(label, root);
    const json_t *arr = root;
    const char *key = NULL;
    if (json_is_object(root)) {
        key = "messages";
        if ((st = eco_jr_array(&r, key, true, &arr))) goto done;
    } else if (!json_is_array(root)) {
        st = eco_error(ECO_STATUS_EFORMAT,
                       "%s: expected a JSON array of messages or an object with \"messages\"",
                       label);
        goto done;
    }
    size_t count = json_array_size(arr), bytes = 0;
    if (count == 0) {
        st = eco_jr_fail(&r, key, ECO_STATUS_EFORMAT, "no messages");
        goto done;
    }
    const json_t *e;
    size_t i;
    json_array_foreach(arr, i, e) {
        eco_jr m = eco_jr_item(&r, key, i, e);
        static const char *const fields[] = {"role", "content", NULL};
        const char *role = NULL, *content = NULL;
        size_t role_len = 0, clen = 0;
        eco_chat_role parsed = ECO_CHAT_ROLE_USER;
        if (!json_is_object(e)) {
            st = eco_jr_fail(&m, NULL, ECO_STATUS_EFORMAT, "expected an object");
            goto done;
        }
        if ((st = eco_jr_exact(&m, fields)) ||
            (st = eco_jr_str(&m, "role", true, false, &role, &role_len)) ||
            (st = eco_jr_str(&m, "content", true, false, &content, &clen)))
            goto done;
        if (eco_chat_role_parse(role, role_len, &parsed) != ECO_STATUS_OK) {
            char shown[ECO_JSON_SHOWN_SIZE];
            st = eco_jr_fail(&m, "role", ECO_STATUS_EFORMAT,
                             "'%s' is not one of system, user, assistant",
                             eco_json_shown(role, role_len, shown));
            goto done;
        }
        if (clen + 1 > SIZE_MAX - bytes) {
            st = eco_error(ECO_STATUS_EOVERFLOW, "%s: messages too large", label);
            goto done;
        }
        bytes += clen + 1;
    }
    /* one block: the messages, then their contents, each NUL-terminated */
    if (count > (SIZE_MAX - bytes) / sizeof(eco_chat_message)) {
        st = eco_error(ECO_STATUS_EOVERFLOW, "%s: messages too large", label);
        goto done;
    }
    eco_chat_message *out = malloc(count * sizeof *out + bytes);
    if (!out) {
        st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory for %zu messages", label, count);
        goto done;
    }
    char *text = (char *)(out + count);
    json_array_foreach(arr, i, e) {
        const json_t *c = json_object_get(e, "content");
        const char *role = json_string_value(json_object_get(e, "role"));
        size_t clen = json_string_length(c);
        eco_chat_role_parse(role, strlen(role), &out[i].role);
        memcpy(text, json_string_value(c), clen);
        text[clen] = '\0';
        out[i].content = text;
        out[i].len = clen;
        text += clen + 1;
    }
    *msgs = out;
    *n = count;
done:
    json_decref(root);
    return st;
}
