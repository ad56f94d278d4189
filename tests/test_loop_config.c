/*
 * The loop's configuration (daemon.h: eco_loop_config_parse / _load): the shipped configs
 * parse with what they say, defaults apply, the config hash is of the canonical JSON (white
 * space and key order do not change it, a value does), and a table of malformed configs is
 * refused naming the field. Also eco_loop_last_generation on a registry without a run.
 * The loop's runs are tested through the command (tests/cli/test_loop_cli.sh,
 * test_loop_resume.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "ecology/daemon.h"

/* The shipped quick config's text (caller frees). */
static char *quick_text(size_t *len) {
    char *path = eco_test_source_path("data/loop/quick.json"), *text = NULL;
    ECO_ASSERT_OK(eco_read_file(path, 1 << 20, &text, len));
    free(path);
    return text;
}

/* text with the first `from` replaced by `to` (caller frees). */
static char *replaced(const char *text, const char *from, const char *to) {
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t a = (size_t)(at - text), nf = strlen(from), nt = strlen(to), n = strlen(text);
    char *out = malloc(n - nf + nt + 1);
    assert_non_null(out);
    memcpy(out, text, a);
    memcpy(out + a, to, nt);
    memcpy(out + a + nt, at + nf, n - a - nf + 1);
    return out;
}

static void test_demo_parses(void **state) {
    (void)state;
    char *path = eco_test_source_path("data/loop/demo.json");
    eco_loop_config c;
    ECO_ASSERT_OK(eco_loop_config_load(path, &c));
    assert_string_equal(c.name, "demo");
    assert_int_equal(c.n_members, 8);
    assert_string_equal(c.members[1].id, "text.reverse@1");
    assert_string_equal(c.members[1].base, "eco-tiny");
    assert_int_equal(c.members[1].n_capabilities, 1);
    assert_null(c.members[0].base);
    assert_int_equal(c.n_capabilities, 3);
    assert_string_equal(c.capabilities[0], "safety.refuse@1");
    assert_string_equal(c.capabilities[1], "text.reverse@1");
    assert_string_equal(c.capabilities[2], "text.sort@1");
    assert_int_equal(c.evaluation.safety_pairs, 50);
    assert_string_equal(c.evaluation.deny, "deny-en.txt");
    assert_int_equal(c.ops[0].n_capabilities, 1);
    assert_string_equal(c.ops[0].capabilities[0], "text.reverse@1");
    assert_int_equal(c.ops[1].n_capabilities, 2);
    assert_int_equal(c.n_ops, 2);
    assert_string_equal(c.ops[0].op, "finetune");
    assert_null(c.ops[0].then);
    assert_int_equal(c.ops[0].slot, 0);
    assert_int_equal(c.ops[0].train_items, 2000);
    assert_null(c.ops[0].train_mix);
    assert_string_equal(c.ops[1].op, "linear");
    assert_non_null(c.ops[1].then);
    assert_int_equal(c.ops[1].slot, 1);
    assert_int_equal(c.ops[1].train_items, 5333);
    assert_string_equal(c.ops[1].train_mix, "{\"text.sort@1\":2}");
    assert_int_equal(c.traffic.slices, 4);
    assert_int_equal(c.canary.step_weight, 25);
    assert_int_equal(c.canary.max_weight, 50);
    assert_int_equal(c.n_objectives, 3);
    assert_string_equal(c.objectives[0], "capabilities");
    assert_true(c.minutes > 0 && c.minutes <= 10); /* the demo's bound */
    assert_int_equal(strlen(c.sha256), ECO_SHA256_HEX_LEN);
    assert_non_null(strstr(c.base_dir, "data/loop"));
    eco_loop_config_free(&c);
    free(path);
}

static void test_defaults_and_hash(void **state) {
    (void)state;
    size_t len;
    char *text = quick_text(&len);
    eco_loop_config a, b, c;
    ECO_ASSERT_OK(eco_loop_config_parse(text, len, "quick.json", &a));
    assert_int_equal(a.n_objectives, 3); /* the default: capabilities, quality, calibration */
    assert_string_equal(a.objectives[2], "calibration_error");
    assert_null(a.base_dir); /* parsed from text: member paths as given */
    /* white space and key order do not change the hash */
    char *spaced = replaced(text, "\"name\": \"quick\",", "\"name\"  :  \"quick\" ,\n\n");
    char *moved = replaced(spaced, "\"seed\": 1,", "");
    char *moved2 = replaced(moved, "\"children\": 2,", "\"children\": 2, \"seed\": 1,");
    ECO_ASSERT_OK(eco_loop_config_parse(moved2, strlen(moved2), "moved", &b));
    assert_string_equal(a.sha256, b.sha256);
    /* a value does; and children, hard_examples and train_items have defaults */
    char *other = replaced(text, "\"children\": 2,", "");
    char *other2 = replaced(other, ",\n  \"hard_examples\": {\"max\": 50}", "");
    char *other3 = replaced(other2, ", \"train_items\": 40", "");
    ECO_ASSERT_OK(eco_loop_config_parse(other3, strlen(other3), "other", &c));
    assert_string_not_equal(a.sha256, c.sha256);
    assert_int_equal(c.children, 2);
    assert_int_equal(c.hard_examples.max, 1000);
    assert_int_equal(c.traffic.slices, 4); /* the default */
    assert_int_equal(c.ops[0].train_items, 400);
    eco_loop_config_free(&a);
    eco_loop_config_free(&b);
    eco_loop_config_free(&c);
    free(spaced);
    free(moved);
    free(moved2);
    free(other);
    free(other2);
    free(other3);
    free(text);
}

static void test_refusals(void **state) {
    (void)state;
    static const struct {
        const char *from, *to, *want;
    } rows[] = {
        {"\"name\": \"quick\"", "\"name\": \"Quick\"", "q.json: name: expected 1 to 64 bytes"},
        {"\"name\": \"quick\"", "\"nom\": \"quick\"", "q.json: unknown field 'nom'"},
        {"\"seed\": 1,", "\"seed\": -1,", "q.json: seed:"},
        {"\"budget\": {\"generations\": 2, \"minutes\": 1}", "\"budget\": {}",
         "q.json: budget: give generations, minutes or both"},
        {"\"generations\": 2", "\"generations\": 0", "q.json: budget.generations: 0 outside"},
        {"\"children\": 2", "\"children\": 65", "q.json: children: 65 outside"},
        {"\"id\": \"eco-tiny\"", "\"id\": \"eco tiny\"", "q.json: population[0].id: not a valid"},
        {"\"base\": \"eco-tiny\"", "\"base\": 3", "q.json: population[1].base: expected a string"},
        {"\"path\": \"../models/eco-tiny\"", "\"path\": \"\"", "q.json: population[0].path: empty"},
        {"\"id\": \"text.sort@1\"", "\"id\": \"text.reverse@1\"",
         "q.json: population[2].id: 'text.reverse@1' given twice"},
        {"\"capabilities\": [\"text.reverse@1\", \"text.sort@1\"]",
         "\"capabilities\": [\"text.sort@1\", \"text.sort@1\"]",
         "q.json: capabilities[1]: 'text.sort@1' given twice"},
        {"\"capabilities\": [\"text.reverse@1\", \"text.sort@1\"]", "\"capabilities\": []",
         "q.json: capabilities: expected 1 to 64 capabilities"},
        {"\"capabilities\": [\"text.sort@1\"]", "\"capabilities\": [\"text.nope@1\"]",
         "q.json: population[2].capabilities[0]: 'text.nope@1'"},
        {"\"n\": 8,", "\"n\": 0,", "q.json: evaluation.n: 0 outside [1, 100000]"},
        {"\"threads\": 1", "\"threads\": 0", "q.json: evaluation.threads: 0 outside"},
        {"\"safety_pairs\": 0,", "", "q.json: evaluation.safety_pairs: missing"},
        {"\"safety_pairs\": 0,", "\"safety_pairs\": 4,",
         "q.json: evaluation.safety_pairs: the pairs are safety.refuse@1's suite: add it to "
         "capabilities"},
        {"\"threads\": 1", "\"threads\": 1, \"deny\": \"\"", "q.json: evaluation.deny: empty"},
        {"\"threads\": 1", "\"threads\": 1, \"deny\": 7",
         "q.json: evaluation.deny: expected a string"},
        {"\"traffic\": {\"n\": 4, \"shift_n\": 12}",
         "\"traffic\": {\"n\": 4, \"shift_n\": 12, \"safety_pairs\": 2}",
         "q.json: traffic.safety_pairs: the pairs are safety.refuse@1's suite"},
        {"\"traffic\": {\"n\": 4, \"shift_n\": 12}", "\"traffic\": {\"n\": 0, \"shift_n\": 0}",
         "q.json: traffic: n and shift_n are both 0"},
        {"\"traffic\": {\"n\": 4, \"shift_n\": 12}",
         "\"traffic\": {\"n\": 4, \"shift_n\": 12, \"slices\": 0}",
         "q.json: traffic.slices: 0 outside"},
        {"\"quality\": {\"min\": {\"text.reverse@1\": 0.5",
         "\"quality\": {\"min\": {\"text.reverse@1\": 1.5", "q.json: gates: quality.min"},
        {"\"signature\": {\"required\": false}", "\"signature\": {\"required\": 1}",
         "q.json: gates: signature.required"},
        {"\"stepWeight\": 50", "\"stepWeight\": 60", "q.json: canary: maxWeight"},
        {"\"interval\": 8", "\"interval\": 0", "q.json: canary: interval"},
        {"\"archive\": {\"capacity\": 8}", "\"archive\": {\"capacity\": 0}",
         "q.json: archive.capacity: 0 outside"},
        {"\"archive\": {\"capacity\": 8}",
         "\"archive\": {\"capacity\": 8, \"objectives\": [\"quality\", \"quality\"]}",
         "q.json: archive.objectives[1]: 'quality' given twice"},
        {"\"archive\": {\"capacity\": 8}",
         "\"archive\": {\"capacity\": 8, \"objectives\": [\"capabilities\", \"quality\", "
         "\"robustness\", \"calibration_error\", \"p95_ms\", \"memory_bytes\"]}",
         "q.json: archive.objectives: expected 1 to 5 names"},
        {"\"op\": \"finetune\"", "\"op\": \"frob\"", "q.json: operators[1].op:"},
        {"\"weight\": 1, \"params\": {\"steps\"", "\"weight\": 0, \"params\": {\"steps\"",
         "q.json: operators[1].weight: 0 outside"},
        {"\"weight\": 1, \"params\": {\"steps\"",
         "\"weight\": 1, \"then\": {}, \"params\": {\"steps\"",
         "q.json: operators[1].then: a fine-tune after 'finetune'"},
        {"\"params\": {}", "\"params\": []", "q.json: operators[0].params: expected an object"},
        {"\"params\": {}", "\"params\": {}, \"train_mix\": [1]",
         "q.json: operators[0].train_mix: expected an object"},
        {"\"params\": {}", "\"params\": {}, \"train_mix\": {\"text.sort@1\": 0}",
         "q.json: operators[0].train_mix: 'text.sort@1': expected a number in (0, 1000]"},
        {"\"params\": {}", "\"params\": {}, \"child\": 64",
         "q.json: operators[0].child: 64 outside"},
        {"\"params\": {}", "\"params\": {}, \"capabilities\": [\"arith.add@1\"]",
         "q.json: operators[0].capabilities: 'arith.add@1' is not one of the loop's capabilities"},
        {"\"params\": {}", "\"params\": {}, \"capabilities\": []",
         "q.json: operators[0].capabilities: expected 1 to 64 capabilities"},
        {"\"params\": {}", "\"params\": {}, \"capabilities\": [\"text.nope@1\"]",
         "q.json: operators[0].capabilities[0]: 'text.nope@1'"},
        {"\"hard_examples\": {\"max\": 50}", "\"hard_examples\": {\"max\": 50, \"min\": 1}",
         "q.json: hard_examples: unknown field 'min'"},
    };
    size_t len;
    char *text = quick_text(&len);
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        char *bad = replaced(text, rows[i].from, rows[i].to);
        eco_loop_config c;
        eco_status st = eco_loop_config_parse(bad, strlen(bad), "q.json", &c);
        if (st == ECO_STATUS_OK || !strstr(eco_last_error(), rows[i].want)) {
            print_error("row %zu: status %d, message '%s', want '%s'\n", i, (int)st,
                        eco_last_error(), rows[i].want);
            fail();
        }
        free(bad);
    }
    /* not an object, duplicate keys, too large */
    eco_loop_config c;
    ECO_ASSERT_STATUS(eco_loop_config_parse("[]", 2, "q.json", &c), ECO_STATUS_EFORMAT);
    ECO_ASSERT_STATUS(eco_loop_config_parse("{\"name\":\"a\",\"name\":\"b\"}", 25, "q.json", &c),
                      ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "q.json"));
    ECO_ASSERT_STATUS(eco_loop_config_parse(text, ECO_LOOP_CONFIG_MAX_BYTES + 1, "q.json", &c),
                      ECO_STATUS_ERANGE);
    ECO_ASSERT_STATUS(eco_loop_config_load("/nonexistent/loop.json", &c), ECO_STATUS_ENOTFOUND);
    free(text);
}

static void test_last_generation_empty(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    ECO_ASSERT_OK(eco_registry_init(dir));
    eco_registry_options o = {.data_dir = dir};
    eco_registry *r = NULL;
    ECO_ASSERT_OK(eco_registry_open(&o, &r));
    int64_t g = 99;
    ECO_ASSERT_OK(eco_loop_last_generation(r, "demo", &g));
    assert_int_equal(g, -1);
    /* a finished generation of another run does not count */
    ECO_ASSERT_OK(eco_registry_event_append(
        r, "generation", NULL, "{\"run\":\"other\",\"generation\":3,\"phase\":\"end\"}", NULL));
    ECO_ASSERT_OK(eco_registry_event_append(
        r, "generation", NULL, "{\"run\":\"demo\",\"generation\":1,\"phase\":\"start\"}", NULL));
    ECO_ASSERT_OK(eco_loop_last_generation(r, "demo", &g));
    assert_int_equal(g, -1);
    ECO_ASSERT_OK(eco_registry_event_append(
        r, "generation", NULL, "{\"run\":\"demo\",\"generation\":1,\"phase\":\"end\"}", NULL));
    ECO_ASSERT_OK(eco_loop_last_generation(r, "demo", &g));
    assert_int_equal(g, 1);
    eco_registry_close(r);
    eco_test_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_parses),
        cmocka_unit_test(test_defaults_and_hash),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_last_generation_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
