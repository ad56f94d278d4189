/*
 * The rl breeding operator (breed_train.h's eco_breed_rl, breeder.h's table) on the shipped
 * eco-tiny model and its arith.add@1 adapter in a temporary registry, a few GRPO steps of
 * small groups each:
 *   - eco_breed: the child registered as an adapter of eco-tiny with the parents base and
 *     adapter, lineage operation "rl" with every setting (defaults resolved: micro_batch,
 *     max_tokens, max_seq), the seed and the result (steps, rewards, held-out figures,
 *     groups, tokens, the prompt set's hash, which equals one computed
 *     here from the task generator); the capabilities default to the ones the adapter
 *     claims; its weights are not the parent's;
 *   - eco_breed_rerun of that child: the same bytes; no working folder left;
 *   - the folder function twice into two folders: the same bytes, three files, no paths in
 *     lineage.json, the settings as given (iterations 2, beta, no reward scaling), held-out
 *     figures null without evaluation; a full model as the child, or no capability, refused;
 *   - bad parameters refused with EINVAL naming the parameter, a corpus refused, a full model
 *     refused by supports(); nothing registered;
 *   - a breeding recipe with an rl step parses (its seed required, its params checked).
 */
#include "test_util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/breed_recipe.h"
#include "ecology/breed_train.h"
#include "ecology/breeder.h"
#include "ecology/registry.h"
#include "ecology/tasks.h"

#define CREATED "2026-11-28T00:00:00Z"
#define CAP     "arith.add@1"

typedef struct fixture {
    char *tmp, *data, *key, *base_dir, *arith_dir;
    eco_registry *r;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->tmp = eco_test_tmpdir();
    f->data = eco_path_join(f->tmp, "data");
    f->base_dir = eco_test_source_path("data/models/eco-tiny");
    f->arith_dir = eco_test_source_path("data/adapters/arith.add@1");
    f->key = eco_test_registry_with_key(f->data, &f->r);
    eco_add_options o = {.id = "eco-tiny", .sign_key = f->key, .created_at = CREATED};
    ECO_ASSERT_OK(eco_registry_add_dir(f->r, f->base_dir, &o, NULL));
    const char *caps[] = {CAP};
    o.id = "arith";
    o.capabilities = caps;
    o.n_capabilities = 1;
    ECO_ASSERT_OK(eco_registry_add_dir(f->r, f->arith_dir, &o, NULL));
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    eco_registry_close(f->r);
    eco_test_rmtree(f->tmp);
    free(f->tmp);
    free(f->data);
    free(f->key);
    free(f->base_dir);
    free(f->arith_dir);
    free(f);
    return 0;
}

static json_t *P(const char *text) {
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j) print_error("%s: %s\n", text, err.text);
    assert_non_null(j);
    return j;
}

static bool work_left(const fixture *f) {
    char *work = eco_path_join(f->data, "work");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "test -n \"$(ls -A '%s' 2>/dev/null)\"", work);
    free(work);
    return system(cmd) == 0;
}

static void file_hex(const char *dir, const char *name, char hex[ECO_SHA256_HEX_LEN + 1]) {
    char *p = eco_path_join(dir, name);
    ECO_ASSERT_OK(eco_sha256_file_hex(p, hex));
    free(p);
}

static int64_t jint(const json_t *o, const char *k) {
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v)) print_error("%s: not an integer\n", k);
    assert_true(json_is_integer(v));
    return (int64_t)json_integer_value(v);
}

/* SHA-256 over the first n TRAIN prompts of cap from seed, each followed by a NUL (rl.h's
 * prompts_sha256 for one capability). */
static void prompts_hash(const char *cap_name, uint64_t seed, size_t n,
                         char hex[ECO_SHA256_HEX_LEN + 1]) {
    const eco_capability *cap;
    ECO_ASSERT_OK(eco_tasks_find(cap_name, &cap));
    eco_task_item *items;
    ECO_ASSERT_OK(eco_tasks_generate(cap, ECO_TASK_SPLIT_TRAIN, n, seed, &items));
    eco_buf b = {0};
    for (size_t i = 0; i < n; i++)
        assert_true(eco_buf_append(&b, items[i].prompt, strlen(items[i].prompt) + 1));
    ECO_ASSERT_OK(eco_sha256_hex(b.data, b.len, hex));
    eco_buf_free(&b);
    eco_task_items_free(items, n);
}

/* eco_breed: an adapter child with its lineage; the re-run gives the same bytes. */
static void test_breed_and_rerun(void **state) {
    fixture *f = *state;
    const char *one[] = {"arith"};
    json_t *p = P("{\"steps\": 2, \"batch\": 2, \"group\": 4, \"lr\": 0.001, \"seed\": 5, "
                  "\"eval_n\": 8}");
    eco_breed_options o = {.op = "rl",
                           .parents = one,
                           .n_parents = 1,
                           .params = p,
                           .id = "rl1",
                           .sign_key = f->key,
                           .created_at = CREATED};
    eco_breed_result res;
    ECO_ASSERT_OK(eco_breed(f->r, &o, &res));
    json_decref(p);
    assert_string_equal(res.id, "rl1");
    assert_int_equal(res.genome.kind, ECO_GENOME_KIND_ADAPTER);
    assert_string_equal(res.genome.base, "eco-tiny");
    assert_int_equal(res.genome.n_parents, 2); /* the base model, then the adapter */
    assert_string_equal(res.genome.parents[0], "eco-tiny");
    assert_string_equal(res.genome.parents[1], "arith");
    assert_string_equal(res.genome.op_name, "rl");
    assert_int_equal(res.genome.op_seed, 5);
    assert_int_equal(res.genome.n_corpora, 0);
    /* the child claims its parent's capability */
    assert_int_equal(res.genome.n_capabilities, 1);
    assert_string_equal(res.genome.capabilities[0], CAP);
    const json_t *op = res.genome.op_params;
    const json_t *caps = json_object_get(op, "capabilities");
    assert_int_equal(json_array_size(caps), 1); /* the default: what the adapter claims */
    assert_string_equal(json_string_value(json_array_get(caps, 0)), CAP);
    assert_int_equal(jint(op, "steps"), 2);
    assert_int_equal(jint(op, "batch"), 2);
    assert_int_equal(jint(op, "group"), 4);
    assert_int_equal(jint(op, "micro_batch"), 4); /* resolved: the group */
    assert_int_equal(jint(op, "iterations"), 1);
    assert_int_equal(jint(op, "eval_n"), 8);
    assert_int_equal(jint(op, "eval_every"), 0);
    assert_int_equal(jint(op, "max_seq"), 256);
    const eco_capability *cap;
    ECO_ASSERT_OK(eco_tasks_find(CAP, &cap));
    assert_int_equal(jint(op, "max_tokens"), (int64_t)cap->max_completion_bytes + 8);
    assert_true(json_number_value(json_object_get(op, "lr")) == 0.001);
    assert_true(json_number_value(json_object_get(op, "epsilon")) == 0.2);
    assert_true(json_number_value(json_object_get(op, "epsilon_high")) == 0.2);
    assert_string_equal(json_string_value(json_object_get(op, "reference")), "start");
    assert_string_equal(json_string_value(json_object_get(op, "loss_type")), "grpo");
    assert_true(json_is_true(json_object_get(op, "scale_rewards")));
    const json_t *result = json_object_get(op, "result");
    assert_int_equal(jint(result, "steps_done"), 2);
    assert_int_equal(jint(result, "groups"), 4);
    assert_int_equal(jint(result, "prompts_used"), 4);
    assert_true(jint(result, "tokens") >= 2 * 2 * 4); /* every completion has a token */
    assert_true(jint(result, "zero_signal_groups") >= 0 && jint(result, "zero_signal_groups") <= 4);
    const double r0 = json_number_value(json_object_get(result, "first_reward"));
    assert_true(r0 >= 0 && r0 <= 1);
    const double h0 = json_number_value(json_object_get(result, "heldout_start"));
    const double h1 = json_number_value(json_object_get(result, "heldout_end"));
    assert_true(json_is_real(json_object_get(result, "heldout_start")) && h0 >= 0 && h0 <= 1);
    assert_true(json_is_real(json_object_get(result, "heldout_end")) && h1 >= 0 && h1 <= 1);
    char want[ECO_SHA256_HEX_LEN + 1];
    prompts_hash(CAP, 5, 4, want);
    assert_string_equal(json_string_value(json_object_get(result, "prompts_sha256")), want);
    /* the child's weights moved from the parent's */
    char *dir = NULL;
    eco_genome g = {0};
    ECO_ASSERT_OK(eco_registry_checkout(f->r, "rl1", &dir, &g));
    char h_child[ECO_SHA256_HEX_LEN + 1], h_parent[ECO_SHA256_HEX_LEN + 1];
    file_hex(dir, "adapter_model.safetensors", h_child);
    file_hex(f->arith_dir, "adapter_model.safetensors", h_parent);
    assert_string_not_equal(h_child, h_parent);
    assert_false(eco_path_has_file(dir, "training.json"));
    eco_genome_free(&g);
    free(dir);
    eco_breed_result_free(&res);
    assert_false(work_left(f));

    eco_breed_rerun_report rep;
    ECO_ASSERT_OK(eco_breed_rerun(f->r, "rl1", NULL, 0, NULL, false, &rep));
    if (!rep.same) print_error("rerun differs: %s\n", rep.first_diff);
    assert_true(rep.same);
    assert_true(rep.n_files >= 3);
    assert_false(work_left(f));
}

/* The folder function: the same bytes twice, only the adapter and its lineage, no paths;
 * held-out figures with eval_n; settings recorded as given. */
static void test_folder_function(void **state) {
    fixture *f = *state;
    char *out[2] = {eco_path_join(f->tmp, "o1"), eco_path_join(f->tmp, "o2")};
    const char *caps[] = {CAP};
    eco_breed_rl_report rep[2];
    for (int k = 0; k < 2; k++) {
        eco_breed_rl_options o;
        eco_breed_rl_init(&o);
        assert_int_equal(o.rl.eval_n, ECO_BREED_RL_EVAL_N);
        o.child = f->arith_dir;
        o.base_model = f->base_dir;
        o.capabilities = caps;
        o.n_capabilities = 1;
        o.rl.steps = 1;
        o.rl.batch = 2;
        o.rl.group = 2;
        o.rl.iterations = 2;
        o.rl.grpo.beta = 0.04;
        o.rl.scale_rewards = false;
        o.rl.temperature = 0.9;
        o.rl.max_tokens = 12;
        o.rl.eval_n = 0;
        o.rl.seed = 11;
        o.out = out[k];
        o.threads = 2;
        ECO_ASSERT_OK(eco_breed_rl(&o, &rep[k]));
    }
    assert_int_equal(rep[0].rl.steps_done, 1);
    assert_true(isnan(rep[0].rl.heldout_start) && isnan(rep[0].rl.heldout_end)); /* eval_n 0 */
    assert_int_equal(rep[0].prompts_used, 2);
    assert_string_equal(rep[0].prompts_sha256, rep[1].prompts_sha256);
    static const char *const files[] = {"adapter_config.json", "adapter_model.safetensors",
                                        ECO_LINEAGE_FILE};
    for (size_t i = 0; i < 3; i++) {
        char h0[ECO_SHA256_HEX_LEN + 1], h1[ECO_SHA256_HEX_LEN + 1];
        file_hex(out[0], files[i], h0);
        file_hex(out[1], files[i], h1);
        if (strcmp(h0, h1) != 0) print_error("%s differs between two runs\n", files[i]);
        assert_string_equal(h0, h1);
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "test \"$(ls -A '%s' | wc -l)\" -eq 3", out[0]);
    assert_int_equal(system(cmd), 0);
    char *lp = eco_path_join(out[0], ECO_LINEAGE_FILE);
    char *text = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_read_file(lp, 1 << 20, &text, &len));
    assert_null(strstr(text, f->tmp)); /* no paths */
    assert_null(strstr(text, "eco-tiny/"));
    json_t *j = P(text);
    const json_t *op = json_object_get(j, "operation");
    assert_string_equal(json_string_value(json_object_get(op, "name")), "rl");
    assert_int_equal(jint(op, "seed"), 11);
    const json_t *p = json_object_get(op, "params");
    assert_int_equal(jint(p, "iterations"), 2);
    assert_int_equal(jint(p, "max_tokens"), 12);
    assert_int_equal(jint(p, "eval_n"), 0);
    assert_true(json_number_value(json_object_get(p, "beta")) == 0.04);
    assert_true(json_is_false(json_object_get(p, "scale_rewards")));
    const json_t *res = json_object_get(op, "result");
    assert_true(json_is_null(json_object_get(res, "heldout_start")));
    assert_true(json_is_null(json_object_get(res, "heldout_end")));
    const json_t *parents = json_object_get(j, "parents");
    assert_int_equal(json_array_size(parents), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(parents, 0), "role")),
                        "base");
    assert_string_equal(json_string_value(json_object_get(json_array_get(parents, 1), "file")),
                        "adapter_model.safetensors");
    json_decref(j);
    free(text);
    free(lp);
    /* a full model as the child is refused, naming it */
    eco_breed_rl_options o;
    eco_breed_rl_init(&o);
    o.child = f->base_dir;
    o.base_model = f->base_dir;
    o.capabilities = caps;
    o.n_capabilities = 1;
    o.out = out[0];
    o.force = true;
    ECO_ASSERT_STATUS(eco_breed_rl(&o, NULL), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "not an adapter"));
    o.child = f->arith_dir;
    o.n_capabilities = 0;
    ECO_ASSERT_STATUS(eco_breed_rl(&o, NULL), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "capabilit"));
    for (int k = 0; k < 2; k++) free(out[k]);
}

/* Bad parameters: EINVAL naming the parameter, nothing registered, nothing left. */
static void test_bad_params(void **state) {
    fixture *f = *state;
    static const struct {
        const char *params, *named;
    } cases[] = {
        {"{}", "steps: missing"},
        {"{\"steps\": 0}", "steps"},
        {"{\"steps\": 1, \"group\": 1}", "group"},
        {"{\"steps\": 1, \"batch\": 0}", "batch"},
        {"{\"steps\": 2, \"warmup\": 3}", "warmup"},
        {"{\"steps\": 1, \"lr\": -1}", "lr"},
        {"{\"steps\": 1, \"iterations\": 65}", "iterations"},
        {"{\"steps\": 1, \"reference\": \"teacher\"}", "reference"},
        {"{\"steps\": 1, \"loss_type\": \"ppo\"}", "loss_type"},
        {"{\"steps\": 1, \"scale_rewards\": \"yes\"}", "scale_rewards"},
        {"{\"steps\": 1, \"temperature\": 0}", "temperature"},
        {"{\"steps\": 1, \"top_p\": 2}", "top_p"},
        {"{\"steps\": 1, \"epsilon\": 1.5}", "epsilon"},
        {"{\"steps\": 1, \"max_tokens\": 0}", "max_tokens"},
        {"{\"steps\": 1, \"eval_n\": -1}", "eval_n"},
        {"{\"steps\": 1, \"seed\": -1}", "seed"},
        {"{\"steps\": 1, \"capabilities\": [\"nope@1\"]}", "capabilities"},
        {"{\"steps\": 1, \"capabilities\": \"arith.add@1,arith.add@1\"}", "twice"},
        {"{\"steps\": 1, \"capabilities\": []}", "capabilities"},
        {"{\"steps\": 1, \"capabilities\": 3}", "capabilities"},
        {"{\"steps\": 1, \"lora\": {\"r\": 4}}", "'lora'"},
    };
    const char *one[] = {"arith"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *p = P(cases[i].params);
        eco_breed_options o = {.op = "rl",
                               .parents = one,
                               .n_parents = 1,
                               .params = p,
                               .id = "bad",
                               .created_at = CREATED};
        eco_breed_result res;
        eco_status st = eco_breed(f->r, &o, &res);
        if (st != ECO_STATUS_EINVAL || !strstr(eco_last_error(), cases[i].named))
            print_error("%s: status %d, '%s' (wanted '%s')\n", cases[i].params, (int)st,
                        eco_last_error(), cases[i].named);
        assert_int_equal(st, ECO_STATUS_EINVAL);
        assert_non_null(strstr(eco_last_error(), cases[i].named));
        assert_non_null(strstr(eco_last_error(), "rl"));
        json_decref(p);
        assert_false(eco_registry_exists(f->r, "bad"));
    }
    assert_false(work_left(f));

    /* a corpus is refused */
    char *corpus = eco_path_join(f->tmp, "c.jsonl");
    static const char line[] = "{\"prompt\": \"1+2=\", \"completion\": \"3\"}\n";
    eco_test_write_file(corpus, line, strlen(line));
    const char *corpora[] = {corpus};
    json_t *p = P("{\"steps\": 1}");
    eco_breed_options o = {.op = "rl",
                           .parents = one,
                           .n_parents = 1,
                           .params = p,
                           .corpora = corpora,
                           .n_corpora = 1,
                           .id = "bad",
                           .created_at = CREATED};
    eco_breed_result res;
    ECO_ASSERT_STATUS(eco_breed(f->r, &o, &res), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "takes no corpus"));
    /* a full model is refused by supports(): rl trains an adapter */
    const char *model[] = {"eco-tiny"};
    o.parents = model;
    o.corpora = NULL;
    o.n_corpora = 0;
    ECO_ASSERT_STATUS(eco_breed(f->r, &o, &res), ECO_STATUS_EINVAL);
    assert_true(res.refused);
    assert_non_null(strstr(res.reason, "'eco-tiny' is not an adapter"));
    eco_breed_result_free(&res);
    assert_false(eco_registry_exists(f->r, "bad"));
    assert_false(work_left(f));
    json_decref(p);
    free(corpus);

    /* the operator is in the table, parametric, takes no corpora */
    const eco_breeder_op *op = NULL;
    ECO_ASSERT_OK(eco_breeder_op_find("rl", &op));
    assert_true(eco_breeder_op_is_parametric(op));
    assert_false(eco_breeder_op_takes_corpora(op));
}

/* A recipe step rl: parsed with its seed; its params checked by the recipe's table. */
static void test_recipe(void **state) {
    (void)state;
    static const char ok[] =
        "{\"name\": \"r\", \"parents\": [\"arith\"], \"steps\": [{\"op\": \"rl\", \"seed\": 3, "
        "\"params\": {\"steps\": 2, \"group\": 4, \"capabilities\": [\"arith.add@1\"], "
        "\"reference\": \"base\", \"beta\": 0.1, \"scale_rewards\": false}}]}";
    eco_breed_recipe *r = NULL;
    ECO_ASSERT_OK(eco_breed_recipe_parse(ok, strlen(ok), "r.json", &r));
    assert_int_equal(r->steps[0].op, ECO_BREED_OP_RL);
    assert_string_equal(eco_breed_op_name(ECO_BREED_OP_RL), "rl");
    assert_true(eco_breed_op_draws(ECO_BREED_OP_RL));
    assert_int_equal(r->steps[0].seed, 3);
    eco_breed_recipe_free(r);
    static const struct {
        const char *text, *named;
    } bad[] = {
        {"{\"name\": \"r\", \"parents\": [\"arith\"], \"steps\": [{\"op\": \"rl\", "
         "\"params\": {\"steps\": 2}}]}",
         "steps[0].seed"},
        {"{\"name\": \"r\", \"parents\": [\"arith\"], \"steps\": [{\"op\": \"rl\", \"seed\": 1, "
         "\"params\": {\"steps\": 2, \"group\": 1}}]}",
         "steps[0].params.group"},
        {"{\"name\": \"r\", \"parents\": [\"arith\"], \"steps\": [{\"op\": \"rl\", \"seed\": 1, "
         "\"params\": {\"steps\": 2, \"warmup\": 5}}]}",
         "steps[0].params.warmup"},
        {"{\"name\": \"r\", \"parents\": [\"arith\"], \"steps\": [{\"op\": \"rl\", \"seed\": 1, "
         "\"params\": {\"group\": 4}}]}",
         "steps[0].params.steps"},
        {"{\"name\": \"r\", \"parents\": [\"arith\"], \"steps\": [{\"op\": \"rl\", \"seed\": 1, "
         "\"params\": {\"steps\": 2, \"loss_type\": \"ppo\"}}]}",
         "steps[0].params.loss_type"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        eco_status st = eco_breed_recipe_parse(bad[i].text, strlen(bad[i].text), "r.json", &r);
        if (st != ECO_STATUS_EFORMAT || !strstr(eco_last_error(), bad[i].named))
            print_error("case %zu: status %d, '%s' (wanted '%s')\n", i, (int)st, eco_last_error(),
                        bad[i].named);
        assert_int_equal(st, ECO_STATUS_EFORMAT);
        assert_non_null(strstr(eco_last_error(), bad[i].named));
        assert_null(r);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_breed_and_rerun, setup, teardown),
        cmocka_unit_test_setup_teardown(test_folder_function, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_params, setup, teardown),
        cmocka_unit_test(test_recipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
