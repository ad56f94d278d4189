/* breed_recipe: breeding recipe files (include/ecology/breed_recipe.h). A table of documents,
 * each accepted or refused with its exact message (the field named); then what an accepted
 * recipe holds (defaults of inputs, references, seeds), and path resolution on load.
 * Documents are written with ' for " (no row needs a real single quote). */
#include "test_util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/breed_recipe.h"

/* text with every ' turned into " (caller frees). */
static char *dq(const char *text) {
    char *s = strdup(text);
    assert_non_null(s);
    for (char *p = s; *p; p++)
        if (*p == '\'') *p = '"';
    return s;
}

static eco_status parse(const char *text, eco_breed_recipe **r) {
    char *s = dq(text);
    eco_status st = eco_breed_recipe_parse(s, strlen(s), "r.json", r);
    free(s);
    return st;
}

typedef struct br_case {
    const char *text;
    const char *msg; /* NULL: accepted; else the whole EFORMAT message */
} br_case;

#define HEAD   "{'name': 'child', 'parents': ['a@1', 'b@1'], "
#define CORPUS "'corpus': ['c.jsonl'], "

/* clang-format off */
static const br_case CASES[] = {
    /* accepted */
    {HEAD "'steps': [{'op': 'linear', 'params': {'weights': [0.5, 0.5]}}]}", NULL},
    {HEAD "'steps': [{'op': 'ties', 'params': {'weights': [1, 1], 'density': [0.5, 0.3], "
          "'rank': 8, 'election': 'count', 'lambda': 1.5}}, "
          "{'op': 'mutate', 'params': {'sigma': 0.01, 'modules': ['q_proj']}, 'seed': 3}, "
          "{'op': 'finetune', 'params': {'steps': 5, 'lr': 0.001, 'warmup': 2}, 'seed': 4}, "
          "{'op': 'quantize'}], " CORPUS "'id': 'kid-1', 'sign_key': 'k.key'}", NULL},
    {HEAD "'steps': [{'op': 'slerp', 'params': {'t': [0, 0.5, 1]}}]}", NULL},
    {HEAD "'steps': [{'op': 'dare_ties', 'params': {'weights': [1, 1], 'density': 0.5, "
          "'base': 'eco-tiny'}, 'seed': 9007199254740991}]}", NULL},
    {HEAD "'steps': [{'op': 'mutate', 'inputs': ['b@1'], 'seed': 0, 'params': {'sigma': 1}}, "
          "{'op': 'linear', 'inputs': ['steps[0]', 'parents[0]'], "
          "'params': {'weights': [1, 1]}}]}", NULL},
    {HEAD "'steps': [{'op': 'distill', 'params': {'student': 'eco-tiny', 'steps': 2, "
          "'lr': 0.01, 'temperature': 1}, 'seed': 1}], " CORPUS "'id': null}", NULL},
    {HEAD "'steps': [{'op': 'extract', 'inputs': ['a@1'], 'params': {'base': 'parents[1]', "
          "'sv_epsilon': 0.01}}]}", NULL},
    {HEAD "'steps': [{'op': 'finetune', 'inputs': ['a@1'], 'params': {'steps': 1, 'lr': 1, "
          "'hard_examples': ['h.jsonl']}, 'seed': 2}]}", NULL},
    /* the document */
    {"[1]", "r.json: expected an object"},
    {"{'name': 'x', 'parents': ['a'], 'steps': [], 'extra': 1}",
     "r.json: unknown field 'extra'"},
    {"{'parents': ['a'], 'steps': [{'op': 'quantize'}]}", "r.json: name: missing"},
    {"{'name': '-x', 'parents': ['a'], 'steps': [{'op': 'quantize'}]}",
     "r.json: name: expected 1 to 63 bytes of [A-Za-z0-9._@+-], not starting with '.' or '-'"},
    {"{'name': 'x', 'steps': [{'op': 'quantize'}]}", "r.json: parents: missing"},
    {"{'name': 'x', 'parents': [], 'steps': [{'op': 'quantize'}]}",
     "r.json: parents: 0 entries outside [1, 32]"},
    {"{'name': 'x', 'parents': 'a', 'steps': [{'op': 'quantize'}]}",
     "r.json: parents: expected an array"},
    {"{'name': 'x', 'parents': ['a', 7], 'steps': [{'op': 'quantize'}]}",
     "r.json: parents[1]: expected a string"},
    {"{'name': 'x', 'parents': ['a b'], 'steps': [{'op': 'quantize'}]}",
     "r.json: parents[0]: 'a b' is not a model id or alias (1 to 127 bytes of [A-Za-z0-9._@+-], "
     "not starting with '.' or '-')"},
    {"{'name': 'x', 'parents': ['a', 'a'], 'steps': [{'op': 'quantize'}]}",
     "r.json: parents[1]: 'a' is also parents[0]"},
    {HEAD "'steps': []}", "r.json: steps: empty (at least one step)"},
    {HEAD "'steps': {}}", "r.json: steps: expected an array"},
    {HEAD "'steps': [{'op': 'linear', 'params': {'weights': [1, 1]}}], 'corpus': []}",
     "r.json: corpus: 0 entries outside [1, 64]"},
    {HEAD "'steps': [{'op': 'linear', 'params': {'weights': [1, 1]}}], 'corpus': ['a', 'a']}",
     "r.json: corpus[1]: the same as corpus[0]"},
    {HEAD "'steps': [{'op': 'linear', 'params': {'weights': [1, 1]}}], 'id': 'a/b'}",
     "r.json: id: not a model id (1 to 127 bytes of [A-Za-z0-9._@+-], not starting with '.' "
     "or '-')"},
    {HEAD "'steps': [{'op': 'linear', 'params': {'weights': [1, 1]}}], 'sign_key': 3}",
     "r.json: sign_key: expected a string"},
    /* steps */
    {HEAD "'steps': [7]}", "r.json: steps[0]: expected an object"},
    {HEAD "'steps': [{'params': {}}]}", "r.json: steps[0].op: missing"},
    {HEAD "'steps': [{'op': 'linear', 'params': {'weights': [1, 1]}}, {'op': 'foo'}]}",
     "r.json: steps[1].op: unknown operator 'foo' (one of linear, task_arithmetic, ties, "
     "dare_linear, dare_ties, breadcrumbs, della, slerp, mutate, crossover, prune, extract, "
     "quantize, finetune, distill, rl)"},
    {HEAD "'steps': [{'op': 'quantize', 'flavour': 1}]}",
     "r.json: steps[0]: unknown field 'flavour'"},
    {HEAD "'steps': [{'op': 'mutate', 'inputs': ['a@1'], 'params': {'sigma': 0.1}}]}",
     "r.json: steps[0].seed: missing (mutate draws at random: every step that does names its "
     "seed)"},
    {HEAD "'steps': [{'op': 'quantize', 'inputs': ['a@1'], 'seed': -1}]}",
     "r.json: steps[0].seed: -1 outside [0, 9007199254740991]"},
    {HEAD "'steps': [{'op': 'quantize', 'inputs': ['a@1'], 'seed': 9007199254740992}]}",
     "r.json: steps[0].seed: 9007199254740992 outside [0, 9007199254740991]"},
    {HEAD "'steps': [{'op': 'quantize', 'inputs': ['a@1'], 'seed': 1.5}]}",
     "r.json: steps[0].seed: expected an integer"},
    /* inputs */
    {HEAD "'steps': [{'op': 'quantize'}]}",
     "r.json: steps[0].inputs: quantize takes exactly 1 input, the default gives 2 (the "
     "parents)"},
    {HEAD "'steps': [{'op': 'linear', 'params': {'weights': [1, 1]}}, "
          "{'op': 'crossover', 'seed': 1}]}",
     "r.json: steps[1].inputs: crossover takes 2 to 32 inputs, the default gives 1 (the "
     "previous step)"},
    {HEAD "'steps': [{'op': 'slerp', 'inputs': ['a@1'], 'params': {'t': 0.5}}]}",
     "r.json: steps[0].inputs: slerp takes exactly 2 inputs, got 1"},
    {HEAD "'steps': [{'op': 'quantize', 'inputs': []}]}",
     "r.json: steps[0].inputs: 0 entries outside [1, 32]"},
    {HEAD "'steps': [{'op': 'quantize', 'inputs': 'a@1'}]}",
     "r.json: steps[0].inputs: expected an array"},
    {HEAD "'steps': [{'op': 'quantize', 'inputs': ['steps[0]']}]}",
     "r.json: steps[0].inputs[0]: 'steps[0]' is not an earlier step (the first step has none)"},
    {HEAD "'steps': [{'op': 'quantize', 'inputs': ['a@1']}, {'op': 'quantize'}, "
          "{'op': 'quantize', 'inputs': ['steps[3]']}, {'op': 'quantize'}]}",
     "r.json: steps[2].inputs[0]: 'steps[3]' is not an earlier step (steps[0] to steps[1])"},
    {HEAD "'steps': [{'op': 'quantize', 'inputs': ['parents[2]']}]}",
     "r.json: steps[0].inputs[0]: 'parents[2]' names no parent (the recipe has 2)"},
    {HEAD "'steps': [{'op': 'quantize', 'inputs': ['parents[01]']}]}",
     "r.json: steps[0].inputs[0]: 'parents[01]' is not a reference (parents[N] with N a "
     "number)"},
    {HEAD "'steps': [{'op': 'quantize', 'inputs': ['c@1']}]}",
     "r.json: steps[0].inputs[0]: 'c@1' is neither a parent of the recipe nor a reference "
     "(parents[j], steps[k])"},
    {HEAD "'steps': [{'op': 'linear', 'inputs': ['a@1', 'parents[0]'], "
          "'params': {'weights': [1, 1]}}]}",
     "r.json: steps[0].inputs[1]: parents[0] named twice"},
    /* params */
    {HEAD "'steps': [{'op': 'linear', 'params': []}]}",
     "r.json: steps[0].params: expected an object"},
    {HEAD "'steps': [{'op': 'linear'}]}", "r.json: steps[0].params.weights: missing"},
    {HEAD "'steps': [{'op': 'linear', 'params': {'weights': [1, 1], 'sigma': 1}}]}",
     "r.json: steps[0].params: unknown field 'sigma'"},
    {HEAD "'steps': [{'op': 'linear', 'params': {'weights': [1, 1, 1]}}]}",
     "r.json: steps[0].params.weights: 3 values for 2 inputs"},
    {HEAD "'steps': [{'op': 'linear', 'params': {'weights': 1}}]}",
     "r.json: steps[0].params.weights: expected an array"},
    {HEAD "'steps': [{'op': 'linear', 'params': {'weights': [1, 'x']}}]}",
     "r.json: steps[0].params.weights[1]: expected a number"},
    {HEAD "'steps': [{'op': 'ties', 'params': {'weights': [1, 1], 'density': 1.5}}]}",
     "r.json: steps[0].params.density: 1.5 outside [0, 1]"},
    {HEAD "'steps': [{'op': 'ties', 'params': {'weights': [1, 1], 'density': [0.5]}}]}",
     "r.json: steps[0].params.density: 1 values for 2 inputs"},
    {HEAD "'steps': [{'op': 'ties', 'params': {'weights': [1, 1], 'density': 'x'}}]}",
     "r.json: steps[0].params.density: expected a number or an array of numbers"},
    {HEAD "'steps': [{'op': 'breadcrumbs', 'params': {'weights': [1, 1], 'gamma': 1}}]}",
     "r.json: steps[0].params.gamma: 1 outside [0, 1)"},
    {HEAD "'steps': [{'op': 'ties', 'params': {'weights': [1, 1], 'election': 'peft'}}]}",
     "r.json: steps[0].params.election: 'peft' is not one of sum|count"},
    {HEAD "'steps': [{'op': 'ties', 'params': {'weights': [1, 1], 'normalize': 1}}]}",
     "r.json: steps[0].params.normalize: expected true or false"},
    {HEAD "'steps': [{'op': 'ties', 'params': {'weights': [1, 1], 'rank': 0}}]}",
     "r.json: steps[0].params.rank: 0 outside [1, 65536]"},
    {HEAD "'steps': [{'op': 'ties', 'params': {'weights': [1, 1], 'base': 'steps[0]'}}]}",
     "r.json: steps[0].params.base: 'steps[0]' is not an earlier step (the first step has "
     "none)"},
    {HEAD "'steps': [{'op': 'ties', 'params': {'weights': [1, 1], 'base': 'x y'}}]}",
     "r.json: steps[0].params.base: 'x y' is neither a reference (parents[j], steps[k]) nor a "
     "model id"},
    {HEAD "'steps': [{'op': 'slerp'}]}", "r.json: steps[0].params.t: missing"},
    {HEAD "'steps': [{'op': 'slerp', 'params': {'t': [0.5, 2]}}]}",
     "r.json: steps[0].params.t[1]: 2 outside [0, 1]"},
    {HEAD "'steps': [{'op': 'mutate', 'inputs': ['a@1'], 'seed': 1, 'params': {'sigma': 0}}]}",
     "r.json: steps[0].params.sigma: 0 outside (0, 100]"},
    {HEAD "'steps': [{'op': 'mutate', 'inputs': ['a@1'], 'seed': 1, "
          "'params': {'sigma': 1, 'modules': ['q', '']}}]}",
     "r.json: steps[0].params.modules[1]: empty"},
    {HEAD "'steps': [{'op': 'crossover', 'seed': 1, 'params': {'granularity': 'row'}}]}",
     "r.json: steps[0].params.granularity: 'row' is not one of tensor|layer"},
    {HEAD "'steps': [{'op': 'prune', 'inputs': ['a@1'], 'params': {'density': 0.5, "
          "'of': 'delta'}}]}",
     "r.json: steps[0].params.base: missing (of=delta prunes deltas)"},
    {HEAD "'steps': [{'op': 'extract', 'inputs': ['a@1'], 'params': {'base': 'b@1'}}]}",
     "r.json: steps[0].params: extract needs rank or sv_epsilon"},
    {HEAD "'steps': [{'op': 'quantize', 'inputs': ['a@1'], 'params': {'type': 'q4_0'}}]}",
     "r.json: steps[0].params.type: 'q4_0' is not one of q8_0"},
    {HEAD "'steps': [{'op': 'finetune', 'inputs': ['a@1'], 'seed': 1, "
          "'params': {'steps': 5, 'lr': 0.1}}]}",
     "r.json: steps[0]: finetune needs training data: the recipe has no \"corpus\" and the "
     "step no hard_examples"},
    {HEAD "'steps': [{'op': 'finetune', 'inputs': ['a@1'], 'seed': 1, "
          "'params': {'steps': 5, 'lr': 0}}], " CORPUS "'id': 'k'}",
     "r.json: steps[0].params.lr: 0 outside (0, 1]"},
    {HEAD "'steps': [{'op': 'finetune', 'inputs': ['a@1'], 'seed': 1, "
          "'params': {'lr': 0.1}}], " CORPUS "'id': 'k'}",
     "r.json: steps[0].params.steps: missing"},
    {HEAD "'steps': [{'op': 'finetune', 'inputs': ['a@1'], 'seed': 1, "
          "'params': {'steps': 5, 'lr': 0.1, 'warmup': 6}}], " CORPUS "'id': 'k'}",
     "r.json: steps[0].params.warmup: 6 is more than steps 5"},
    {HEAD "'steps': [{'op': 'finetune', 'inputs': ['a@1'], 'seed': 1, "
          "'params': {'steps': 5, 'lr': 0.1, 'hard_examples': 'h'}}]}",
     "r.json: steps[0].params.hard_examples: expected an array"},
    {HEAD "'steps': [{'op': 'distill', 'seed': 1, 'params': {'steps': 5, 'lr': 0.1}}], "
          CORPUS "'id': 'k'}",
     "r.json: steps[0].params.student: missing"},
    {HEAD "'steps': [{'op': 'distill', 'seed': 1, 'params': {'steps': 5, 'lr': 0.1, "
          "'student': 's', 'temperature': 0}}], " CORPUS "'id': 'k'}",
     "r.json: steps[0].params.temperature: 0 outside (0, 100]"},
    {HEAD "'steps': [{'op': 'distill', 'seed': 1, 'params': {'steps': 5, 'lr': 0.1, "
          "'student': 's'}}]}",
     "r.json: steps[0]: distill needs training data: the recipe has no \"corpus\""},
};
/* clang-format on */

static void test_table(void **state) {
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        const br_case *c = &CASES[i];
        eco_breed_recipe *r = (eco_breed_recipe *)1;
        eco_clear_error();
        eco_status st = parse(c->text, &r);
        eco_status want = c->msg ? ECO_STATUS_EFORMAT : ECO_STATUS_OK;
        bool ok = st == want && (st ? r == NULL : r != NULL) &&
                  (!c->msg || strcmp(eco_last_error(), c->msg) == 0);
        if (!ok) {
            print_error("case %zu %s\n  got %s \"%s\"\n  want %s \"%s\"\n", i, c->text,
                        eco_status_str(st), eco_last_error(), eco_status_str(want),
                        c->msg ? c->msg : "");
            bad++;
        }
        if (!st) eco_breed_recipe_free(r);
    }
    assert_int_equal(bad, 0);
}

/* Not JSON, duplicate keys, too large, NULL arguments. */
static void test_document(void **state) {
    (void)state;
    eco_breed_recipe *r = NULL;
    ECO_ASSERT_STATUS(eco_breed_recipe_parse("{", 1, "r.json", &r), ECO_STATUS_EFORMAT);
    assert_null(r);
    assert_non_null(strstr(eco_last_error(), "r.json: line 1:"));
    ECO_ASSERT_STATUS(parse("{'name': 'a', 'name': 'b'}", &r), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "duplicate"));
    size_t big = ECO_BREED_RECIPE_MAX_BYTES + 1;
    char *s = malloc(big);
    assert_non_null(s);
    memset(s, ' ', big);
    ECO_ASSERT_STATUS(eco_breed_recipe_parse(s, big, "r.json", &r), ECO_STATUS_ERANGE);
    free(s);
    ECO_ASSERT_STATUS(eco_breed_recipe_parse(NULL, 0, "r.json", &r), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_breed_recipe_parse("{}", 2, "r.json", NULL), ECO_STATUS_EINVAL);
}

/* What an accepted recipe holds: default inputs, references, base, seeds, files. */
static void test_accepted(void **state) {
    (void)state;
    eco_breed_recipe *r = NULL;
    ECO_ASSERT_OK(parse(HEAD "'steps': [{'op': 'ties', 'params': {'weights': [1, 1], "
                             "'base': 'eco-tiny'}}, "
                             "{'op': 'mutate', 'params': {'sigma': 0.5}, 'seed': 12}, "
                             "{'op': 'linear', 'inputs': ['steps[1]', 'b@1', 'parents[0]'], "
                             "'params': {'weights': [1, 1, 1], 'base': 'steps[0]'}, 'seed': 5}, "
                             "{'op': 'finetune', 'params': {'steps': 3, 'lr': 0.01, "
                             "'hard_examples': ['h1.jsonl', '/abs/h2.jsonl']}, 'seed': 6}], "
                             "'corpus': ['c.jsonl'], 'id': 'kid', 'sign_key': 'k.key'}",
                        &r));
    assert_string_equal(r->name, "child");
    assert_int_equal(r->n_parents, 2);
    assert_string_equal(r->parents[1], "b@1");
    assert_int_equal(r->n_steps, 4);
    const eco_breed_step *s = r->steps;
    assert_int_equal(s[0].op, ECO_BREED_OP_TIES);
    assert_true(eco_breed_op_is_merge(s[0].op));
    assert_false(s[0].inputs_given);
    assert_int_equal(s[0].n_inputs, 2);
    assert_int_equal(s[0].inputs[1].kind, ECO_BREED_REF_PARENT);
    assert_int_equal(s[0].inputs[1].index, 1);
    assert_true(s[0].has_base);
    assert_int_equal(s[0].base.kind, ECO_BREED_REF_ID);
    assert_string_equal(s[0].base.id, "eco-tiny");
    assert_false(s[0].seed_given);
    assert_int_equal(s[0].seed, 0);
    assert_int_equal(s[1].op, ECO_BREED_OP_MUTATE);
    assert_int_equal(s[1].n_inputs, 1);
    assert_int_equal(s[1].inputs[0].kind, ECO_BREED_REF_STEP);
    assert_int_equal(s[1].inputs[0].index, 0);
    assert_int_equal(s[1].seed, 12);
    assert_true(json_real_value(json_object_get(s[1].params, "sigma")) == 0.5);
    char b[32];
    assert_int_equal(s[2].n_inputs, 3);
    assert_string_equal(eco_breed_ref_name(&s[2].inputs[0], b, sizeof b), "steps[1]");
    assert_string_equal(eco_breed_ref_name(&s[2].inputs[1], b, sizeof b), "parents[1]");
    assert_string_equal(eco_breed_ref_name(&s[2].inputs[2], b, sizeof b), "parents[0]");
    assert_string_equal(eco_breed_ref_name(&s[2].base, b, sizeof b), "steps[0]");
    assert_int_equal(s[3].n_files, 2);
    assert_string_equal(s[3].files[0], "h1.jsonl");
    assert_int_equal(r->n_corpus, 1);
    assert_string_equal(r->id, "kid");
    assert_string_equal(r->sign_key, "k.key");
    assert_null(r->path);
    assert_non_null(r->doc);
    eco_breed_recipe_free(r);

    /* the op names round-trip */
    for (int i = 0; i < ECO_BREED_OP__COUNT; i++) {
        eco_breed_op op;
        ECO_ASSERT_OK(eco_breed_op_parse(eco_breed_op_name((eco_breed_op)i), &op));
        assert_int_equal(op, i);
    }
    assert_null(eco_breed_op_name(ECO_BREED_OP__COUNT));
    ECO_ASSERT_STATUS(eco_breed_op_parse("soup", NULL), ECO_STATUS_EINVAL);
    assert_true(eco_breed_op_draws(ECO_BREED_OP_DARE_TIES));
    assert_false(eco_breed_op_draws(ECO_BREED_OP_QUANTIZE));
}

/* eco_breed_recipe_load resolves relative paths against the recipe's folder. */
static void test_load(void **state) {
    (void)state;
    char *tmp = eco_test_tmpdir();
    char *f = eco_path_join(tmp, "r.json");
    char *text = dq(HEAD "'steps': [{'op': 'finetune', 'inputs': ['a@1'], 'params': {'steps': 3, "
                         "'lr': 0.01, 'hard_examples': ['h.jsonl', '/abs/h2.jsonl']}, 'seed': 6}], "
                         "'corpus': ['d/c.jsonl'], 'sign_key': 'k.key'}");
    eco_test_write_file(f, text, strlen(text));
    eco_breed_recipe *r = NULL;
    ECO_ASSERT_OK(eco_breed_recipe_load(f, &r));
    char *want = eco_path_join(tmp, "d/c.jsonl");
    assert_string_equal(r->corpus[0], want);
    free(want);
    want = eco_path_join(tmp, "h.jsonl");
    assert_string_equal(r->steps[0].files[0], want);
    free(want);
    assert_string_equal(r->steps[0].files[1], "/abs/h2.jsonl");
    want = eco_path_join(tmp, "k.key");
    assert_string_equal(r->sign_key, want);
    free(want);
    assert_string_equal(r->path, f);
    eco_breed_recipe_free(r);
    /* a malformed file: the message names the file */
    eco_test_write_file(f, "{\"name\": 1}", 11);
    ECO_ASSERT_STATUS(eco_breed_recipe_load(f, &r), ECO_STATUS_EFORMAT);
    assert_null(r);
    assert_non_null(strstr(eco_last_error(), "r.json: name: expected a string"));
    char *missing = eco_path_join(tmp, "none.json");
    assert_int_not_equal(eco_breed_recipe_load(missing, &r), ECO_STATUS_OK);
    free(missing);
    free(text);
    free(f);
    eco_test_rmtree(tmp);
    free(tmp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_document),
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
