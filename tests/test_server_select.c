/*
 * Model selection and chat templates in the server (select.c, chat.c), in-process over a
 * registry holding the shipped base (data/models/eco-tiny), its reverse and sort adapters, a
 * bpe base with its reverse adapter, the breeder's linear merge of reverse and sort at rank
 * 64 (eco_merge_adapters_dir, what `ecology merge` runs), and two copies of the base with a
 * tokenizer_config.json: one with a ChatML chat_template, one with a template no family has:
 *  - lora [{reverse, 1}] on the base answers what model "reverse" answers (greedy text);
 *  - lora [{reverse, 0.5}, {sort, 0.5}] answers what the registered merge answers, and its
 *    cached adapter holds the merge's tensor bytes, byte for byte;
 *  - merged_adapters (ties) is merged once: a second request and a restarted server reuse
 *    the cached folder (the folder count and the file's mtime do not change), same text;
 *  - routing: a capability route answers by the adapter advertising it, a cascade by its
 *    first stage at a threshold every answer meets and by its last at one none does;
 *  - chats: the project's template (a system line before the prompt) equals the completion
 *    of the prompt it renders, the ChatML copy equals the completion of the ChatML text with
 *    the template's stop, the copy with an unknown template is a 400 naming the model;
 *  - bad combinations are 400s naming the param (different bases, a non-adapter, a model
 *    that is an adapter).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server_fixture.h"
#include "test_util.h"

#include "ecology/chat_template.h"
#include "ecology/merge_dir.h"
#include "ecology/registry.h"
#include "ecology/server.h"

#define REV  "Reverse: kosjeco\\nReversed:"
#define SORT "Sort: dcba\\nSorted:"

typedef struct fixture {
    eco_test_server s; /* no key file: no auth */
    char *merged;
} fixture;

/* The answer to a 200 request (parsed). */
static json_t *ok(fixture *f, const char *path, const char *body) {
    char *b = NULL;
    int status = eco_test_http(f->s.port, "POST", path, NULL, body, &b);
    if (status != 200) print_error("%d for %s: %s\n", status, body, b);
    assert_int_equal(status, 200);
    json_t *j = json_loads(b, 0, NULL);
    assert_non_null(j);
    free(b);
    return j;
}

/* Choice 0's text (completions) or message content (chat), malloc'd. */
static char *text_of(const json_t *j) {
    const json_t *c = json_array_get(json_object_get(j, "choices"), 0);
    const json_t *t = json_object_get(c, "text");
    if (!t) t = json_object_get(json_object_get(c, "message"), "content");
    assert_true(json_is_string(t));
    return eco_strdup(json_string_value(t));
}

static char *complete(fixture *f, const char *body) {
    json_t *j = ok(f, "/v1/completions", body);
    char *t = text_of(j);
    json_decref(j);
    return t;
}

/* A 400 whose error names param and whose message holds words. */
static void refused(fixture *f, const char *path, const char *body, const char *param,
                    const char *words) {
    char *b = NULL;
    int status = eco_test_http(f->s.port, "POST", path, NULL, body, &b);
    if (status != 400 || !strstr(b, words)) print_error("%d for %s: %s\n", status, body, b);
    assert_int_equal(status, 400);
    json_t *j = json_loads(b, 0, NULL);
    json_t *e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "param")), param);
    assert_non_null(strstr(json_string_value(json_object_get(e, "message")), words));
    json_decref(j);
    free(b);
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name) {
    char *src = eco_path_join(from_dir, name), *dst = eco_path_join(to_dir, name);
    char *text = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_read_file(src, (size_t)1 << 30, &text, &len));
    eco_test_write_file(dst, text, len);
    free(text);
    free(src);
    free(dst);
}

/* A copy of eco-tiny with tokenizer_config.json holding chat_template tmpl. */
static char *base_copy(const char *tmp, const char *name, const char *tmpl) {
    char *src = eco_test_source_path("data/models/eco-tiny");
    char *dir = eco_path_join(tmp, name);
    ECO_ASSERT_OK(eco_mkdir_p(dir));
    copy_file(src, dir, "config.json");
    copy_file(src, dir, "model.safetensors");
    copy_file(src, dir, "tokenizer.json");
    json_t *cfg = json_pack("{s:s,s:s,s:s}", "chat_template", tmpl, "bos_token", "<s>", "eos_token",
                            "<|im_end|>");
    char *text = json_dumps(cfg, 0);
    char *p = eco_path_join(dir, "tokenizer_config.json");
    eco_test_write_file(p, text, strlen(text));
    free(p);
    free(text);
    json_decref(cfg);
    free(src);
    return dir;
}

#define CHATML                                                                                     \
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "                   \
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"        \
    "{{ '<|im_start|>assistant\\n' }}{% endif %}"

static void add(eco_registry *r, const char *key, const char *dir, const char *id, const char *base,
                const char *cap) {
    const char *caps[] = {cap};
    eco_add_options o = {.id = id,
                         .base = base,
                         .capabilities = cap ? caps : NULL,
                         .n_capabilities = cap ? 1 : 0,
                         .sign_key = key};
    ECO_ASSERT_OK(eco_registry_add_dir(r, dir, &o, NULL));
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->s.tmp = eco_test_tmpdir();
    f->s.data = eco_path_join(f->s.tmp, "data");
    eco_registry *r = NULL;
    char *key = eco_test_registry_with_key(f->s.data, &r);
    char *base = eco_test_source_path("data/models/eco-tiny");
    char *rev = eco_test_source_path("data/adapters/text.reverse@1");
    char *sort = eco_test_source_path("data/adapters/text.sort@1");
    char *bpe = eco_test_source_path("data/models/eco-tiny-bpe");
    char *bpe_rev = eco_test_source_path("data/adapters/bpe/text.reverse@1");
    add(r, key, base, "eco-tiny", NULL, NULL);
    add(r, key, rev, "reverse", "eco-tiny", "text.reverse@1");
    add(r, key, sort, "sort", "eco-tiny", "text.sort@1");
    add(r, key, bpe, "eco-tiny-bpe", NULL, NULL);
    add(r, key, bpe_rev, "reverse-bpe", "eco-tiny-bpe", "text.reverse@1");
    /* the breeder's linear merge (normalised weights 1, 1: 0.5 each) at rank 64: exact */
    f->merged = eco_path_join(f->s.tmp, "merged");
    const char *parents[] = {rev, sort};
    eco_merge_dir_options mo = {.parents = parents, .n_parents = 2, .rank = 64, .out = f->merged};
    eco_merge_params_init(&mo.params, ECO_MERGE_METHOD_LINEAR);
    mo.params.n_parents = 2;
    mo.params.weight[0] = mo.params.weight[1] = 1;
    ECO_ASSERT_OK(eco_merge_adapters_dir(&mo, NULL));
    add(r, key, f->merged, "merged", "eco-tiny", NULL);
    char *chatml = base_copy(f->s.tmp, "tiny-chatml", CHATML);
    char *weird = base_copy(f->s.tmp, "tiny-weird", "{{ messages | tojson }}");
    add(r, key, chatml, "tiny-chatml", NULL, NULL);
    add(r, key, weird, "tiny-weird", NULL, NULL);
    eco_registry_close(r);
    free(key);
    free(base);
    free(rev);
    free(sort);
    free(bpe);
    free(bpe_rev);
    free(chatml);
    free(weird);
    eco_test_server_start(&f->s, false);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    eco_test_server_close(&f->s);
    free(f->merged);
    free(f);
    return 0;
}

/* The cached merged adapters' folders now: their count, and the newest one (malloc'd, or
 * NULL) by its adapter file's mtime. */
static size_t cached(fixture *f, char **newest, struct timespec *mtime) {
    char *dir = eco_path_join(f->s.data, "cache/merged");
    size_t n = 0;
    if (newest) *newest = NULL;
    struct timespec best = {0, 0};
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        n++;
        char *sub = eco_path_join(dir, e->d_name);
        char *file = eco_path_join(sub, "adapter_model.safetensors");
        struct stat sb;
        assert_int_equal(stat(file, &sb), 0);
        if (newest && (sb.st_mtim.tv_sec > best.tv_sec ||
                       (sb.st_mtim.tv_sec == best.tv_sec && sb.st_mtim.tv_nsec > best.tv_nsec))) {
            best = sb.st_mtim;
            free(*newest);
            *newest = eco_strdup(file);
        }
        free(file);
        free(sub);
    }
    if (d) closedir(d);
    free(dir);
    if (mtime) *mtime = best;
    return n;
}

#define Q(model, prompt, extra)                                                                    \
    "{\"model\":\"" model "\",\"prompt\":\"" prompt "\",\"max_tokens\":16,\"temperature\":0,"      \
    "\"stop\":\"\\n\"" extra "}"

static void test_lora_one_equals_id(void **state) {
    fixture *f = *state;
    char *want = complete(f, Q("reverse", REV, ""));
    assert_true(strlen(want) > 1);
    json_t *j = ok(f, "/v1/completions", Q("eco-tiny", REV, ",\"lora\":[{\"id\":\"reverse\"}]"));
    char *got = text_of(j);
    assert_string_equal(got, want);
    assert_string_equal(json_string_value(json_object_get(j, "model")), "eco-tiny");
    json_decref(j);
    free(got);
    /* by an alias-free id with an explicit scale of 1: the same cached adapter */
    size_t n = cached(f, NULL, NULL);
    got = complete(f, Q("eco-tiny", REV, ",\"lora\":[{\"id\":\"reverse\",\"scale\":1}]"));
    assert_string_equal(got, want);
    assert_int_equal(cached(f, NULL, NULL), n);
    free(got);
    free(want);
}

static void test_lora_two_equals_merge(void **state) {
    fixture *f = *state;
    const char *lora =
        ",\"lora\":[{\"id\":\"reverse\",\"scale\":0.5},{\"id\":\"sort\",\"scale\":0.5}]";
    char *a = complete(f, Q("merged", REV, "")), *b = complete(f, Q("merged", SORT, ""));
    size_t before = cached(f, NULL, NULL);
    char *x = NULL, *y = NULL;
    {
        char body[512];
        snprintf(body, sizeof body, Q("eco-tiny", REV, "%s"), lora);
        x = complete(f, body);
        snprintf(body, sizeof body, Q("eco-tiny", SORT, "%s"), lora);
        y = complete(f, body);
    }
    assert_string_equal(x, a);
    assert_string_equal(y, b);
    char *file = NULL;
    assert_int_equal(cached(f, &file, NULL), before + 1);
    /* the cached adapter's tensors are the merge's, byte for byte */
    char *want_path = eco_path_join(f->merged, "adapter_model.safetensors");
    char *w = NULL, *g = NULL;
    size_t wn = 0, gn = 0;
    ECO_ASSERT_OK(eco_read_file(want_path, (size_t)1 << 30, &w, &wn));
    ECO_ASSERT_OK(eco_read_file(file, (size_t)1 << 30, &g, &gn));
    assert_int_equal(wn, gn);
    assert_memory_equal(w, g, wn);
    free(w);
    free(g);
    free(want_path);
    free(file);
    free(a);
    free(b);
    free(x);
    free(y);
}

static void test_merged_cached_and_restart(void **state) {
    fixture *f = *state;
    const char *body =
        Q("eco-tiny", SORT,
          ",\"merged_adapters\":{\"ids\":[\"reverse\",\"sort\"],\"weights\":[0.5,1],"
          "\"merge_strategy\":\"ties\",\"density\":0.5,\"majority_sign_method\":\"total\"}");
    size_t n0 = cached(f, NULL, NULL);
    char *first = complete(f, body);
    char *file = NULL;
    struct timespec t1, t2;
    assert_int_equal(cached(f, &file, &t1), n0 + 1);
    char *second = complete(f, body);
    assert_string_equal(second, first);
    char *file2 = NULL;
    assert_int_equal(cached(f, &file2, &t2), n0 + 1);
    assert_string_equal(file2, file);
    assert_true(t2.tv_sec == t1.tv_sec && t2.tv_nsec == t1.tv_nsec);
    free(file2);
    /* a restarted server finds it */
    eco_server_stop(f->s.srv, 30);
    f->s.srv = NULL;
    eco_test_server_start(&f->s, false);
    char *third = complete(f, body);
    assert_string_equal(third, first);
    assert_int_equal(cached(f, &file2, &t2), n0 + 1);
    assert_string_equal(file2, file);
    assert_true(t2.tv_sec == t1.tv_sec && t2.tv_nsec == t1.tv_nsec);
    /* another strategy is another adapter */
    free(complete(f, Q("eco-tiny", SORT,
                       ",\"merged_adapters\":{\"ids\":[\"reverse\",\"sort\"],\"merge_strategy\":"
                       "\"dare_linear\",\"density\":0.5,\"seed\":3}")));
    assert_int_equal(cached(f, NULL, NULL), n0 + 2);
    free(file);
    free(file2);
    free(first);
    free(second);
    free(third);
}

static const char *routed(const json_t *j) {
    return json_string_value(json_object_get(j, "x_ecology_routed_to"));
}

static void test_routing(void **state) {
    fixture *f = *state;
    char *rev = complete(f, Q("reverse", REV, ""));
    json_t *j = ok(f, "/v1/completions",
                   Q("router", REV,
                     ",\"routing\":{\"policy\":\"capability\",\"capability\":\"text.reverse@1\","
                     "\"members\":[\"sort\",\"reverse\"]}"));
    assert_string_equal(routed(j), "reverse");
    assert_string_equal(json_string_value(json_object_get(j, "model")), "router");
    char *t = text_of(j);
    assert_string_equal(t, rev);
    free(t);
    json_decref(j);
    /* a cascade: the first stage at a threshold any answer meets, the last at one none does */
    j = ok(f, "/v1/completions",
           Q("router", REV,
             ",\"routing\":{\"policy\":\"cascade\",\"threshold\":1e-9,\"stages\":[\"sort\","
             "\"reverse\"]}"));
    assert_string_equal(routed(j), "sort");
    json_decref(j);
    j = ok(f, "/v1/completions",
           Q("router", REV,
             ",\"routing\":{\"policy\":\"cascade\",\"threshold\":1,\"stages\":[\"sort\","
             "\"reverse\"]}"));
    assert_string_equal(routed(j), "reverse");
    t = text_of(j);
    assert_string_equal(t, rev);
    free(t);
    json_decref(j);
    refused(
        f, "/v1/completions",
        Q("router", REV,
          ",\"routing\":{\"policy\":\"cascade\",\"threshold\":1,\"stages\":[\"sort\",\"nope\"]}"),
        "routing", "nope");
    refused(f, "/v1/completions",
            Q("router", REV, ",\"routing\":{\"policy\":\"capability\",\"capability\":\"x.y@1\"}"),
            "routing", "advertises");
    free(rev);
}

static void test_chat_templates(void **state) {
    fixture *f = *state;
    /* the project's template: a system line, then the prompt */
    json_t *j = ok(f, "/v1/chat/completions",
                   "{\"model\":\"reverse\",\"max_tokens\":16,\"temperature\":0,\"messages\":["
                   "{\"role\":\"system\",\"content\":\"Answer briefly.\"},"
                   "{\"role\":\"user\",\"content\":\"" REV "\"}]}");
    char *chat = text_of(j);
    json_decref(j);
    char *want = complete(f, Q("reverse", "Answer briefly.\\n" REV, ""));
    assert_true(want[0] == ' ');
    assert_string_equal(chat, want + 1); /* the answer's leading space is the template's */
    free(chat);
    free(want);
    /* ChatML: the rendered text, the template's stop */
    j = ok(f, "/v1/chat/completions",
           "{\"model\":\"tiny-chatml\",\"max_tokens\":12,\"temperature\":0,\"messages\":["
           "{\"role\":\"user\",\"content\":\"Hi\"}]}");
    chat = text_of(j);
    json_int_t pt =
        json_integer_value(json_object_get(json_object_get(j, "usage"), "prompt_tokens"));
    json_decref(j);
    eco_chat_template t = {0};
    ECO_ASSERT_OK(
        eco_chat_template_recognise(CHATML, strlen(CHATML), "<s>", "<|im_end|>", "t", &t));
    eco_chat_message m = {ECO_CHAT_ROLE_USER, "Hi", 2};
    char *prompt = NULL;
    ECO_ASSERT_OK(eco_chat_template_render(&t, &m, 1, true, &prompt, NULL));
    assert_string_equal(prompt, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    json_t *req = json_pack("{s:s,s:s,s:i,s:i,s:s}", "model", "tiny-chatml", "prompt", prompt,
                            "max_tokens", 12, "temperature", 0, "stop", t.stop);
    char *body = json_dumps(req, 0);
    j = ok(f, "/v1/completions", body);
    want = text_of(j);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "usage"), "prompt_tokens")), pt);
    assert_string_equal(chat, want);
    json_decref(j);
    json_decref(req);
    free(body);
    free(prompt);
    free(chat);
    free(want);
    eco_chat_template_free(&t);
    /* an unknown template: a 400 naming the model */
    refused(f, "/v1/chat/completions",
            "{\"model\":\"tiny-weird\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}",
            "model", "model tiny-weird has an unrecognised chat template");
    /* a conversation the template refuses */
    refused(f, "/v1/chat/completions",
            "{\"model\":\"reverse\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
            "{\"role\":\"system\",\"content\":\"late\"}]}",
            "messages", "before the first user turn");
}

static void test_bad_combinations(void **state) {
    fixture *f = *state;
    refused(f, "/v1/completions",
            Q("eco-tiny", REV, ",\"lora\":[{\"id\":\"reverse\"},{\"id\":\"reverse-bpe\"}]"),
            "lora[1].id", "different bases");
    refused(f, "/v1/completions",
            Q("eco-tiny", REV, ",\"merged_adapters\":{\"ids\":[\"reverse\",\"eco-tiny-bpe\"]}"),
            "merged_adapters.ids[1]", "not an adapter");
    refused(f, "/v1/completions", Q("eco-tiny", REV, ",\"lora\":[{\"id\":\"nope\"}]"), "lora[0].id",
            "not a registered adapter");
    refused(f, "/v1/completions", Q("reverse", REV, ",\"lora\":[{\"id\":\"sort\"}]"), "model",
            "is an adapter");
    refused(f, "/v1/completions",
            Q("eco-tiny", REV, ",\"merged_adapters\":{\"ids\":[\"reverse\"],\"weights\":[1,2]}"),
            "merged_adapters.weights", "one weight per adapter");
}

int main(void) {
    eco_set_threads(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lora_one_equals_id),
        cmocka_unit_test(test_lora_two_equals_merge),
        cmocka_unit_test(test_merged_cached_and_restart),
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_chat_templates),
        cmocka_unit_test(test_bad_combinations),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
