/*
 * PEFT adapters: adapter_config.json exactly as PEFT 0.13 and 0.15 write it parses and is
 * written back byte for byte; rank_pattern / alpha_pattern follow PEFT's get_pattern_key
 * (first key in file order, "(.*\.)?(key)$" anchored at the start); save → load round
 * trips tensors, names and config; and two tables — malformed configs and bad adapter
 * folders — each case refused with the expected status and a message naming the problem.
 */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ecology/peft.h"

/* A tiny llama: d 8, f 12, 2 layers, 2 heads of 4, 1 kv head.
 * q [8, 8], k/v [4, 8], o [8, 8], gate/up [12, 8], down [8, 12]. */
static const char *base_json =
    "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"vocab_size\": 32,"
    " \"hidden_size\": 8, \"intermediate_size\": 12, \"num_hidden_layers\": 2,"
    " \"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"max_position_embeddings\": 64,"
    " \"rms_norm_eps\": 1e-05}";

static eco_model_config base_config(void) {
    eco_model_config c;
    ECO_ASSERT_OK(eco_config_parse(base_json, strlen(base_json), "config.json", &c));
    return c;
}

static eco_peft_config parse_ok(const char *json) {
    eco_peft_config c;
    ECO_ASSERT_OK(eco_peft_config_parse(json, strlen(json), "adapter_config.json", &c));
    return c;
}

/* adapter_config.json as PEFT 0.13.2 save_pretrained writes it (json.dumps(indent=2,
 * sort_keys=True), no trailing newline), target_modules already in sorted order. */
static const char *peft013 = "{\n"
                             "  \"alpha_pattern\": {},\n"
                             "  \"auto_mapping\": null,\n"
                             "  \"base_model_name_or_path\": \"HuggingFaceTB/SmolLM2-135M\",\n"
                             "  \"bias\": \"none\",\n"
                             "  \"fan_in_fan_out\": false,\n"
                             "  \"inference_mode\": true,\n"
                             "  \"init_lora_weights\": true,\n"
                             "  \"layer_replication\": null,\n"
                             "  \"layers_pattern\": null,\n"
                             "  \"layers_to_transform\": null,\n"
                             "  \"loftq_config\": {},\n"
                             "  \"lora_alpha\": 16,\n"
                             "  \"lora_dropout\": 0.05,\n"
                             "  \"megatron_config\": null,\n"
                             "  \"megatron_core\": \"megatron.core\",\n"
                             "  \"modules_to_save\": null,\n"
                             "  \"peft_type\": \"LORA\",\n"
                             "  \"r\": 8,\n"
                             "  \"rank_pattern\": {},\n"
                             "  \"revision\": null,\n"
                             "  \"target_modules\": [\n"
                             "    \"q_proj\",\n"
                             "    \"v_proj\"\n"
                             "  ],\n"
                             "  \"task_type\": \"CAUSAL_LM\",\n"
                             "  \"use_dora\": false,\n"
                             "  \"use_rslora\": false\n"
                             "}";

/* A later PEFT (0.15) adds keys; unordered target_modules (from a set), rsLoRA, patterns. */
static const char *peft015 = "{\n"
                             "  \"alpha_pattern\": {\"model.layers.1.mlp.down_proj\": 4.5},\n"
                             "  \"auto_mapping\": null,\n"
                             "  \"base_model_name_or_path\": null,\n"
                             "  \"bias\": \"none\",\n"
                             "  \"corda_config\": null,\n"
                             "  \"eva_config\": null,\n"
                             "  \"exclude_modules\": null,\n"
                             "  \"fan_in_fan_out\": false,\n"
                             "  \"inference_mode\": true,\n"
                             "  \"init_lora_weights\": \"gaussian\",\n"
                             "  \"layer_replication\": null,\n"
                             "  \"layers_pattern\": null,\n"
                             "  \"layers_to_transform\": null,\n"
                             "  \"loftq_config\": {},\n"
                             "  \"lora_alpha\": 32,\n"
                             "  \"lora_bias\": false,\n"
                             "  \"lora_dropout\": 0.0,\n"
                             "  \"megatron_config\": null,\n"
                             "  \"megatron_core\": \"megatron.core\",\n"
                             "  \"modules_to_save\": null,\n"
                             "  \"peft_type\": \"LORA\",\n"
                             "  \"r\": 16,\n"
                             "  \"rank_pattern\": {\"down_proj\": 4},\n"
                             "  \"revision\": null,\n"
                             "  \"target_modules\": [\"up_proj\", \"down_proj\", \"o_proj\", "
                             "\"k_proj\", \"gate_proj\", \"q_proj\", \"v_proj\"],\n"
                             "  \"task_type\": \"CAUSAL_LM\",\n"
                             "  \"trainable_token_indices\": null,\n"
                             "  \"use_dora\": false,\n"
                             "  \"use_rslora\": true\n"
                             "}";

static void test_real_configs(void **state) {
    (void)state;
    eco_peft_config c = parse_ok(peft013);
    assert_int_equal(c.r, 8);
    assert_true(c.lora_alpha == 16);
    assert_true(c.lora_dropout == 0.05);
    assert_false(c.use_rslora);
    assert_string_equal(c.base_model_name_or_path, "HuggingFaceTB/SmolLM2-135M");
    for (int t = 0; t < ECO_LORA__COUNT; t++)
        assert_int_equal(c.targets[t], t == ECO_LORA_Q || t == ECO_LORA_V);
    assert_int_equal(c.n_rank_pattern, 0);
    assert_int_equal(c.n_alpha_pattern, 0);
    /* Written back byte for byte as PEFT writes it. */
    char *text = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_peft_config_to_json(&c, &text, &len));
    if (strcmp(text, peft013) != 0) {
        print_error("written:\n%s\nexpected:\n%s\n", text, peft013);
        fail();
    }
    assert_int_equal(len, strlen(peft013));
    free(text);

    c = parse_ok(peft015);
    assert_int_equal(c.r, 16);
    assert_true(c.use_rslora);
    assert_string_equal(c.base_model_name_or_path, "");
    for (int t = 0; t < ECO_LORA__COUNT; t++) assert_true(c.targets[t]);
    assert_int_equal(c.n_rank_pattern, 1);
    assert_string_equal(c.rank_pattern_key[0], "down_proj");
    assert_int_equal(c.rank_pattern_val[0], 4);
    assert_int_equal(c.n_alpha_pattern, 1);
    assert_true(c.alpha_pattern_val[0] == 4.5);
    int64_t r;
    double alpha;
    eco_peft_module_rank_alpha(&c, 1, ECO_LORA_DOWN, &r, &alpha);
    assert_int_equal(r, 4);
    assert_true(alpha == 4.5);
    assert_true(fabs(eco_peft_scale(&c, r, alpha) - 4.5 / 2.0) <
                1e-12); /* rsLoRA: alpha / sqrt(r) */
    eco_peft_module_rank_alpha(&c, 0, ECO_LORA_DOWN, &r, &alpha);
    assert_int_equal(r, 4);
    assert_true(alpha == 32);
    eco_peft_module_rank_alpha(&c, 0, ECO_LORA_UP, &r, &alpha);
    assert_int_equal(r, 16);
    assert_true(alpha == 32);

    /* Write → parse keeps every field. */
    ECO_ASSERT_OK(eco_peft_config_to_json(&c, &text, &len));
    eco_peft_config d = parse_ok(text);
    free(text);
    assert_memory_equal(&c, &d, sizeof c);
}

/* Configs that must be accepted, with what they mean. */
static void test_accepted_variants(void **state) {
    (void)state;
    eco_peft_config c = parse_ok("{\"peft_type\": \"LORA\"}");
    assert_int_equal(c.r, 8); /* PEFT defaults */
    assert_true(c.lora_alpha == 8);
    assert_true(c.targets[ECO_LORA_Q] && c.targets[ECO_LORA_V] && !c.targets[ECO_LORA_K]);
    c = parse_ok(
        "{\"peft_type\": \"LORA\", \"task_type\": null, \"target_modules\": \"all-linear\"}");
    for (int t = 0; t < ECO_LORA__COUNT; t++) assert_true(c.targets[t]);
    c = parse_ok(
        "{\"peft_type\": \"LORA\", \"target_modules\": [\"self_attn.q_proj\", \"mlp.down_proj\"],"
        " \"modules_to_save\": [], \"init_lora_weights\": false, \"some_future_key\": {\"x\": [1]},"
        " \"lora_alpha\": 12.5, \"use_rslora\": null}");
    assert_true(c.targets[ECO_LORA_Q] && c.targets[ECO_LORA_DOWN] && !c.targets[ECO_LORA_V]);
    assert_true(c.lora_alpha == 12.5);
    const char *inits[] = {"\"gaussian\"", "\"eva\"", "\"orthogonal\"", "true", "false"};
    for (size_t i = 0; i < sizeof inits / sizeof inits[0]; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, "{\"peft_type\": \"LORA\", \"init_lora_weights\": %s}", inits[i]);
        parse_ok(buf);
    }
    /* A non-integral alpha is written as a real and read back exactly. */
    char *text = NULL;
    ECO_ASSERT_OK(eco_peft_config_to_json(&c, &text, NULL));
    assert_non_null(strstr(text, "\"lora_alpha\": 12.5,"));
    eco_peft_config d = parse_ok(text);
    free(text);
    assert_memory_equal(&c, &d, sizeof c);
}

static void test_patterns(void **state) {
    (void)state;
    int64_t r;
    double alpha;
    /* First key in file order wins. */
    eco_peft_config c =
        parse_ok("{\"peft_type\": \"LORA\", \"r\": 8, \"lora_alpha\": 16,"
                 " \"rank_pattern\": {\"q_proj\": 4, \"model.layers.1.self_attn.q_proj\": 6}}");
    eco_peft_module_rank_alpha(&c, 1, ECO_LORA_Q, &r, &alpha);
    assert_int_equal(r, 4);
    assert_true(alpha == 16);
    /* Written sorted as PEFT does, this order (q_proj first) would change which key wins: refused. */
    char *text = NULL;
    eco_clear_error();
    ECO_ASSERT_STATUS(eco_peft_config_to_json(&c, &text, NULL), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "rank_pattern keys must be unique and sorted"));
    assert_null(text);
    c = parse_ok("{\"peft_type\": \"LORA\", \"r\": 8,"
                 " \"rank_pattern\": {\"model.layers.1.self_attn.q_proj\": 6, \"q_proj\": 4}}");
    eco_peft_module_rank_alpha(&c, 1, ECO_LORA_Q, &r, &alpha);
    assert_int_equal(r, 6);
    eco_peft_module_rank_alpha(&c, 0, ECO_LORA_Q, &r, &alpha);
    assert_int_equal(r, 4);
    eco_peft_module_rank_alpha(&c, 0, ECO_LORA_V, &r, &alpha);
    assert_int_equal(r, 8);
    ECO_ASSERT_OK(eco_peft_config_to_json(&c, &text, NULL)); /* already sorted */
    free(text);

    /* Table: (key, layer, target, matches?) under (.*\.)?(key)$ anchored at the start. */
    static const struct {
        const char *key;
        int64_t layer;
        eco_lora_target t;
        bool match;
    } cases[] = {
        {"q_proj", 3, ECO_LORA_Q, true},
        {"proj", 3, ECO_LORA_Q, false}, /* needs a "." before the key */
        {"_proj", 3, ECO_LORA_Q, false},
        {"self_attn.q_proj", 0, ECO_LORA_Q, true},
        {"mlp.q_proj", 0, ECO_LORA_Q, false},
        {"q_proj|v_proj", 2, ECO_LORA_V, true}, /* the group keeps the alternation inside */
        {"q_proj|v_proj", 2, ECO_LORA_K, false},
        {"layers\\.1\\..*", 1, ECO_LORA_UP, true},
        {"layers\\.1\\..*", 10, ECO_LORA_UP, false},
        {"layers.1.self_attn.q_proj", 11, ECO_LORA_Q, false},
        {"layers.1.self_attn.q_proj", 1, ECO_LORA_Q, true},
        {"model.layers.0.mlp.down_proj", 0, ECO_LORA_DOWN, true}, /* the whole name */
        {".*_proj", 5, ECO_LORA_GATE, true},
        {"[kv]_proj", 0, ECO_LORA_K, true},
        {"[kv]_proj", 0, ECO_LORA_O, false},
        {"Q_PROJ", 0, ECO_LORA_Q, false}, /* case-sensitive, like Python's re */
        {"(a+)+b", 0, ECO_LORA_Q, false}, /* backtracking-prone key: bounded, no match */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char json[256];
        snprintf(json, sizeof json,
                 "{\"peft_type\": \"LORA\", \"r\": 8, \"alpha_pattern\": {\"%s\": 3}, "
                 "\"rank_pattern\": {\"%s\": 2}}",
                 cases[i].key, cases[i].key);
        /* JSON needs the backslashes doubled. */
        char esc[512];
        size_t k = 0;
        for (const char *p = json; *p && k + 2 < sizeof esc; p++) {
            if (*p == '\\') esc[k++] = '\\';
            esc[k++] = *p;
        }
        esc[k] = 0;
        c = parse_ok(esc);
        eco_peft_module_rank_alpha(&c, cases[i].layer, cases[i].t, &r, &alpha);
        if ((r == 2) != cases[i].match || (alpha == 3) != cases[i].match) {
            print_error("key '%s' layer %lld %s: got r %lld alpha %g, want match=%d\n",
                        cases[i].key, (long long)cases[i].layer, eco_lora_target_path(cases[i].t),
                        (long long)r, alpha, cases[i].match);
            fail();
        }
    }
}

typedef struct {
    const char *json;
    eco_status want;
    const char *needle;
} bad_case;

static void test_bad_configs(void **state) {
    (void)state;
    char many[4096];
    size_t k = (size_t)snprintf(many, sizeof many, "{\"peft_type\": \"LORA\", \"rank_pattern\": {");
    for (int i = 0; i < ECO_PEFT_MAX_PATTERNS + 1; i++)
        k += (size_t)snprintf(many + k, sizeof many - k, "%s\"layers.%d.q_proj\": 2", i ? ", " : "",
                              i);
    snprintf(many + k, sizeof many - k, "}}");
    char longkey[400];
    k = (size_t)snprintf(longkey, sizeof longkey,
                         "{\"peft_type\": \"LORA\", \"rank_pattern\": {\"");
    for (int i = 0; i < 130; i++) longkey[k++] = 'a';
    snprintf(longkey + k, sizeof longkey - k, "\": 2}}");
#define L "{\"peft_type\": \"LORA\", "
    const bad_case cases[] = {
        {"not json", ECO_STATUS_EFORMAT, "invalid JSON"},
        {"[]", ECO_STATUS_EFORMAT, "expected a JSON object"},
        {"{}", ECO_STATUS_EFORMAT, "peft_type: missing"},
        {"{\"peft_type\": 3}", ECO_STATUS_EFORMAT, "peft_type: expected a string"},
        {"{\"peft_type\": \"PREFIX_TUNING\"}", ECO_STATUS_EUNSUPPORTED,
         "peft_type: 'PREFIX_TUNING'"},
        {"{\"peft_type\": \"LORA\", \"peft_type\": \"LORA\"}", ECO_STATUS_EFORMAT, "duplicate"},
        {L "\"task_type\": \"SEQ_CLS\"}", ECO_STATUS_EUNSUPPORTED, "task_type: 'SEQ_CLS'"},
        {L "\"task_type\": 1}", ECO_STATUS_EFORMAT, "task_type"},
        {L "\"r\": 0}", ECO_STATUS_EFORMAT, "r: 0 outside [1, 2147483647]"},
        {L "\"r\": -4}", ECO_STATUS_EFORMAT, "r: -4 outside [1, 2147483647]"},
        {L "\"r\": 2.5}", ECO_STATUS_EFORMAT, "r: expected an integer"},
        {L "\"r\": \"8\"}", ECO_STATUS_EFORMAT, "r: expected an integer"},
        {L "\"r\": 1099511627776}", ECO_STATUS_EFORMAT, "r: 1099511627776 outside [1, 2147483647]"},
        {L "\"lora_alpha\": \"16\"}", ECO_STATUS_EFORMAT, "lora_alpha: expected a number"},
        /* A negative alpha flips the adapter's sign: accepted silently before. */
        {L "\"lora_alpha\": -16}", ECO_STATUS_EFORMAT,
         "adapter_config.json: lora_alpha: -16 outside [0, inf]"},
        {L "\"alpha_pattern\": {\"q_proj\": -1}}", ECO_STATUS_EFORMAT,
         "alpha_pattern['q_proj']: -1 outside"},
        {L "\"lora_dropout\": 1.0}", ECO_STATUS_EFORMAT, "lora_dropout"},
        {L "\"lora_dropout\": -0.1}", ECO_STATUS_EFORMAT, "lora_dropout"},
        {L "\"lora_dropout\": true}", ECO_STATUS_EFORMAT, "lora_dropout"},
        {L "\"target_modules\": \".*\\\\.(q|v)_proj\"}", ECO_STATUS_EUNSUPPORTED,
         "target_modules: the regular expression"},
        {L "\"target_modules\": [\"lm_head\"]}", ECO_STATUS_EUNSUPPORTED,
         "target_modules: 'lm_head'"},
        {L "\"target_modules\": [\"model.layers.0.self_attn.q_proj\"]}", ECO_STATUS_EUNSUPPORTED,
         "target_modules: 'model.layers.0.self_attn.q_proj'"},
        {L "\"target_modules\": []}", ECO_STATUS_EFORMAT, "target_modules: empty list"},
        {L "\"target_modules\": [\"q_proj\", \"self_attn.q_proj\"]}", ECO_STATUS_EFORMAT,
         "'q_proj' named twice"},
        {L "\"target_modules\": [\"q_proj\", 1]}", ECO_STATUS_EFORMAT,
         "target_modules[1]: expected a string"},
        {L "\"target_modules\": {\"q_proj\": 1}}", ECO_STATUS_EFORMAT,
         "target_modules: expected a list"},
        {L "\"bias\": \"all\"}", ECO_STATUS_EUNSUPPORTED, "bias: 'all' is not supported"},
        {L "\"bias\": \"lora_only\"}", ECO_STATUS_EUNSUPPORTED, "bias: 'lora_only'"},
        {L "\"bias\": false}", ECO_STATUS_EFORMAT, "bias: expected a string"},
        {L "\"use_dora\": true}", ECO_STATUS_EUNSUPPORTED,
         "adapter_config.json: use_dora: DoRA is not supported"},
        {L "\"use_dora\": \"yes\"}", ECO_STATUS_EFORMAT, "use_dora: expected true or false"},
        {L "\"use_rslora\": 1}", ECO_STATUS_EFORMAT, "use_rslora: expected true or false"},
        {L "\"fan_in_fan_out\": true}", ECO_STATUS_EUNSUPPORTED, "fan_in_fan_out"},
        {L "\"lora_bias\": true}", ECO_STATUS_EUNSUPPORTED, "lora_bias"},
        {L "\"modules_to_save\": [\"lm_head\"]}", ECO_STATUS_EUNSUPPORTED, "modules_to_save"},
        {L "\"modules_to_save\": \"lm_head\"}", ECO_STATUS_EUNSUPPORTED, "modules_to_save"},
        {L "\"exclude_modules\": [\"q_proj\"]}", ECO_STATUS_EUNSUPPORTED, "exclude_modules"},
        {L "\"trainable_token_indices\": [1, 2]}", ECO_STATUS_EUNSUPPORTED,
         "trainable_token_indices"},
        {L "\"layer_replication\": [[0, 1]]}", ECO_STATUS_EUNSUPPORTED, "layer_replication"},
        {L "\"layers_to_transform\": [0]}", ECO_STATUS_EUNSUPPORTED, "layers_to_transform"},
        {L "\"layers_to_transform\": 0}", ECO_STATUS_EUNSUPPORTED, "layers_to_transform"},
        {L "\"layers_pattern\": \"layers\"}", ECO_STATUS_EUNSUPPORTED, "layers_pattern"},
        {L "\"init_lora_weights\": \"pissa\"}", ECO_STATUS_EUNSUPPORTED,
         "init_lora_weights: 'pissa'"},
        {L "\"init_lora_weights\": \"pissa_niter_4\"}", ECO_STATUS_EUNSUPPORTED,
         "rewrites the base"},
        {L "\"init_lora_weights\": \"olora\"}", ECO_STATUS_EUNSUPPORTED,
         "init_lora_weights: 'olora'"},
        {L "\"init_lora_weights\": \"loftq\"}", ECO_STATUS_EUNSUPPORTED,
         "init_lora_weights: 'loftq'"},
        {L "\"init_lora_weights\": \"corda\"}", ECO_STATUS_EUNSUPPORTED,
         "init_lora_weights: 'corda'"},
        {L "\"init_lora_weights\": \"bogus\"}", ECO_STATUS_EUNSUPPORTED,
         "init_lora_weights: 'bogus'"},
        {L "\"init_lora_weights\": 3}", ECO_STATUS_EFORMAT, "init_lora_weights: expected"},
        {L "\"rank_pattern\": []}", ECO_STATUS_EFORMAT, "rank_pattern: expected an object"},
        {L "\"rank_pattern\": {\"q_proj\": 0}}", ECO_STATUS_EFORMAT,
         "rank_pattern['q_proj']: 0 outside [1, 2147483647]"},
        {L "\"rank_pattern\": {\"q_proj\": \"4\"}}", ECO_STATUS_EFORMAT, "rank_pattern['q_proj']"},
        {L "\"rank_pattern\": {\"q_proj\": 4.0}}", ECO_STATUS_EFORMAT, "rank_pattern['q_proj']"},
        {L "\"rank_pattern\": {\"(\": 4}}", ECO_STATUS_EFORMAT,
         "rank_pattern: key '(' is not a valid regular"},
        {L "\"rank_pattern\": {\"\": 4}}", ECO_STATUS_EFORMAT, "rank_pattern: key '' must be"},
        {L "\"alpha_pattern\": {\"q_proj\": \"x\"}}", ECO_STATUS_EFORMAT,
         "alpha_pattern['q_proj']: expected"},
        {L "\"alpha_pattern\": {\"[\": 4}}", ECO_STATUS_EFORMAT, "alpha_pattern: key '['"},
        {L "\"alpha_pattern\": 4}", ECO_STATUS_EFORMAT, "alpha_pattern: expected an object"},
        {many, ECO_STATUS_ERANGE, "rank_pattern: 65 keys"},
        {longkey, ECO_STATUS_EFORMAT, "must be 1 to 127 bytes"},
        {L "\"base_model_name_or_path\": 5}", ECO_STATUS_EFORMAT, "base_model_name_or_path"},
        {L "\"base_model_name_or_path\": \"a\\u0000b\"}", ECO_STATUS_EFORMAT, "invalid JSON"},
    };
#undef L
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        eco_peft_config c;
        memset(&c, 0x5A, sizeof c);
        eco_peft_config before = c;
        eco_clear_error();
        eco_status got =
            eco_peft_config_parse(cases[i].json, strlen(cases[i].json), "adapter_config.json", &c);
        const char *msg = eco_last_error();
        if (got != cases[i].want || !strstr(msg, cases[i].needle) ||
            !strstr(msg, "adapter_config.json") || memcmp(&c, &before, sizeof c) != 0) {
            print_error("case %zu (%.80s): got %s \"%s\", want %s containing \"%s\"\n", i,
                        cases[i].json, eco_status_str(got), msg, eco_status_str(cases[i].want),
                        cases[i].needle);
            fail();
        }
    }
}

/* ---- adapters ---------------------------------------------------------------------- */

/* Out/in features of each target in the tiny base. */
static const int64_t dims[ECO_LORA__COUNT][2] = {{8, 8},  {4, 8},  {4, 8}, {8, 8},
                                                 {12, 8}, {12, 8}, {8, 12}};

typedef struct {
    char name[128];
    eco_dtype dtype;
    int ndim;
    int64_t shape[2];
} spec;

/* The tensors of a good adapter for `cfg` on the tiny base (2 layers). */
static size_t good_specs(const eco_peft_config *cfg, spec *out) {
    size_t n = 0;
    for (int64_t l = 0; l < 2; l++)
        for (int t = 0; t < ECO_LORA__COUNT; t++) {
            if (!cfg->targets[t]) continue;
            int64_t r;
            double a;
            eco_peft_module_rank_alpha(cfg, l, (eco_lora_target)t, &r, &a);
            for (int h = 0; h < 2; h++) {
                spec *s = &out[n++];
                snprintf(s->name, sizeof s->name,
                         "base_model.model.model.layers.%lld.%s.lora_%c.weight", (long long)l,
                         eco_lora_target_path((eco_lora_target)t), h ? 'B' : 'A');
                s->dtype = ECO_DTYPE_F32;
                s->ndim = 2;
                s->shape[0] = h ? dims[t][0] : r;
                s->shape[1] = h ? r : dims[t][1];
            }
        }
    return n;
}

/* A safetensors image of zero-filled tensors. */
static uint8_t *image_of(const spec *s, size_t n, size_t *len) {
    eco_tensor ts[64];
    void *bufs[64];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) {
        memset(&ts[i], 0, sizeof ts[i]);
        ts[i].name = s[i].name;
        ts[i].dtype = s[i].dtype;
        ts[i].ndim = s[i].ndim;
        for (int d = 0; d < s[i].ndim; d++) ts[i].shape[d] = s[i].shape[d];
        ts[i].nbytes = eco_tensor_numel(&ts[i]) * eco_dtype_size(s[i].dtype);
        bufs[i] = calloc(1, ts[i].nbytes + 1);
        ts[i].data = bufs[i];
    }
    uint8_t *img = NULL;
    ECO_ASSERT_OK(eco_safetensors_write_memory(ts, n, NULL, 0, &img, len));
    for (size_t i = 0; i < n; i++) free(bufs[i]);
    return img;
}

static const char *adapter_cfg =
    "{\"peft_type\": \"LORA\", \"r\": 4, \"lora_alpha\": 8, \"target_modules\": [\"q_proj\", "
    "\"v_proj\", "
    "\"down_proj\"], \"rank_pattern\": {\"layers.1.mlp.down_proj\": 2}}";

static void expect_load(const char *what, const spec *s, size_t n, eco_status want,
                        const char *needle) {
    eco_model_config base = base_config();
    size_t len = 0;
    uint8_t *img = image_of(s, n, &len);
    eco_lora_adapter *a = (eco_lora_adapter *)0x1;
    eco_clear_error();
    eco_status got =
        eco_lora_adapter_load_memory(adapter_cfg, strlen(adapter_cfg), img, len, &base, &a);
    const char *msg = eco_last_error();
    if (got != want || (want != ECO_STATUS_OK && (!strstr(msg, needle) || a != NULL))) {
        print_error("case '%s': got %s \"%s\", want %s containing \"%s\"\n", what,
                    eco_status_str(got), msg, eco_status_str(want), needle);
        if (got == ECO_STATUS_OK) eco_lora_adapter_free(a);
        free(img);
        fail();
    }
    if (got == ECO_STATUS_OK) eco_lora_adapter_free(a);
    free(img);
}

static void test_bad_adapters(void **state) {
    (void)state;
    eco_peft_config cfg = parse_ok(adapter_cfg);
    spec good[64], s[64];
    size_t n = good_specs(&cfg, good);
    assert_int_equal(n, 12);
    expect_load("good", good, n, ECO_STATUS_OK, "");

    /* ".default" before ".weight" (an unstripped state dict) loads too. */
    memcpy(s, good, sizeof good);
    for (size_t i = 0; i < n; i++) {
        char *w = strstr(s[i].name, ".weight");
        memcpy(w, ".default.weight", sizeof ".default.weight");
    }
    expect_load("default adapter name", s, n, ECO_STATUS_OK, "");

    /* Missing half: drop layer 1 v_proj lora_B. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(good[i].name,
                   "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight") != 0)
            s[k++] = good[i];
    assert_int_equal(k, n - 1);
    expect_load("missing half", s, k, ECO_STATUS_EFORMAT,
                "missing tensor 'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight'");

    static const struct {
        const char *what;
        int edit;         /* index of the tensor to change, -1 to add `name` */
        const char *name; /* new name (NULL keeps) */
        eco_dtype dtype;
        int ndim;
        int64_t s0, s1;
        eco_status want;
        const char *needle;
    } cases[] = {
        {"A wrong rank", 0, NULL, ECO_DTYPE_F32, 2, 5, 8, ECO_STATUS_EFORMAT,
         "shape [5, 8], expected [4, 8] (r, in)"},
        {"A wrong in", 0, NULL, ECO_DTYPE_F32, 2, 4, 9, ECO_STATUS_EFORMAT, "shape [4, 9]"},
        {"B wrong out", 1, NULL, ECO_DTYPE_F32, 2, 9, 4, ECO_STATUS_EFORMAT,
         "shape [9, 4], expected [8, 4] (out, r)"},
        {"B 1-D", 1, NULL, ECO_DTYPE_F32, 1, 32, 0, ECO_STATUS_EFORMAT, "shape [32]"},
        {"down rank ignores rank_pattern", 10, NULL, ECO_DTYPE_F32, 2, 4, 12, ECO_STATUS_EFORMAT,
         "layers.1.mlp.down_proj.lora_A.weight': shape [4, 12], expected [2, 12]"},
        {"bad dtype", 0, NULL, ECO_DTYPE_F64, 2, 4, 8, ECO_STATUS_EUNSUPPORTED,
         "dtype F64 is not supported"},
        {"int dtype", 1, NULL, ECO_DTYPE_I32, 2, 8, 4, ECO_STATUS_EUNSUPPORTED, "dtype I32"},
        {"extra lm_head", -1, "base_model.model.lm_head.weight", ECO_DTYPE_F32, 2, 32, 8,
         ECO_STATUS_EFORMAT, "tensor 'base_model.model.lm_head.weight' is not a LoRA weight"},
        {"extra embedding", -1, "base_model.model.model.embed_tokens.weight", ECO_DTYPE_F32, 2, 32,
         8, ECO_STATUS_EFORMAT, "embed_tokens"},
        {"extra bias", -1, "base_model.model.model.layers.0.self_attn.q_proj.lora_B.bias",
         ECO_DTYPE_F32, 1, 8, 0, ECO_STATUS_EFORMAT, "q_proj.lora_B.bias' is not a LoRA weight"},
        {"extra base weight", -1,
         "base_model.model.model.layers.0.self_attn.q_proj.base_layer.weight", ECO_DTYPE_F32, 2, 8,
         8, ECO_STATUS_EFORMAT, "is not a LoRA weight"},
        {"module not targeted", -1,
         "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight", ECO_DTYPE_F32, 2, 4, 8,
         ECO_STATUS_EFORMAT, "k_proj is not in target_modules"},
        {"layer out of range", -1, "base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight",
         ECO_DTYPE_F32, 2, 4, 8, ECO_STATUS_EFORMAT, "layer 2 out of range (the base has 2)"},
        {"huge layer", -1,
         "base_model.model.model.layers.99999999999.self_attn.q_proj.lora_A.weight", ECO_DTYPE_F32,
         2, 4, 8, ECO_STATUS_EFORMAT, "is not a LoRA weight"},
        {"leading zero", -1, "base_model.model.model.layers.01.self_attn.q_proj.lora_A.weight",
         ECO_DTYPE_F32, 2, 4, 8, ECO_STATUS_EFORMAT, "is not a LoRA weight"},
        {"negative layer", -1, "base_model.model.model.layers.-1.self_attn.q_proj.lora_A.weight",
         ECO_DTYPE_F32, 2, 4, 8, ECO_STATUS_EFORMAT, "is not a LoRA weight"},
        {"wrong block", -1, "base_model.model.model.layers.0.mlp.q_proj.lora_A.weight",
         ECO_DTYPE_F32, 2, 4, 8, ECO_STATUS_EFORMAT, "is not a LoRA weight"},
        {"other adapter name", -1,
         "base_model.model.model.layers.0.self_attn.q_proj.lora_A.other.weight", ECO_DTYPE_F32, 2,
         4, 8, ECO_STATUS_EFORMAT, "is not a LoRA weight"},
        {"both spellings", -1,
         "base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight", ECO_DTYPE_F32, 2,
         4, 8, ECO_STATUS_EFORMAT, "lora_A of this module given twice"},
        {"no prefix", -1, "model.layers.0.self_attn.q_proj.lora_A.weight", ECO_DTYPE_F32, 2, 4, 8,
         ECO_STATUS_EFORMAT, "is not a LoRA weight"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memcpy(s, good, sizeof good);
        size_t m = n;
        int idx = cases[c].edit;
        if (idx < 0) idx = (int)m++;
        if (cases[c].name) snprintf(s[idx].name, sizeof s[idx].name, "%s", cases[c].name);
        s[idx].dtype = cases[c].dtype;
        s[idx].ndim = cases[c].ndim;
        s[idx].shape[0] = cases[c].s0;
        s[idx].shape[1] = cases[c].s1;
        expect_load(cases[c].what, s, m, cases[c].want, cases[c].needle);
    }
    /* Config problems surface through the loader too. */
    eco_model_config base = base_config();
    size_t len;
    uint8_t *img = image_of(good, n, &len);
    eco_lora_adapter *a = NULL;
    const char *dora = "{\"peft_type\": \"LORA\", \"use_dora\": true}";
    ECO_ASSERT_STATUS(eco_lora_adapter_load_memory(dora, strlen(dora), img, len, &base, &a),
                      ECO_STATUS_EUNSUPPORTED);
    assert_null(a);
    /* A corrupt safetensors image. */
    img[0] ^= 0x40;
    ECO_ASSERT_STATUS(
        eco_lora_adapter_load_memory(adapter_cfg, strlen(adapter_cfg), img, len, &base, &a),
        ECO_STATUS_EFORMAT);
    free(img);
}

/* ---- save → load ----------------------------------------------------------------- */

static void test_roundtrip(void **state) {
    (void)state;
    eco_model_config base = base_config();
    eco_peft_config cfg;
    eco_peft_config_init(&cfg);
    cfg.r = 4;
    cfg.lora_alpha = 8;
    cfg.lora_dropout = 0.1;
    cfg.use_rslora = true;
    cfg.targets[ECO_LORA_Q] = cfg.targets[ECO_LORA_V] = cfg.targets[ECO_LORA_DOWN] = true;
    snprintf(cfg.base_model_name_or_path, sizeof cfg.base_model_name_or_path, "eco-tiny");
    cfg.n_rank_pattern = 1;
    snprintf(cfg.rank_pattern_key[0], sizeof cfg.rank_pattern_key[0], "down_proj");
    cfg.rank_pattern_val[0] = 2;
    cfg.n_alpha_pattern = 1;
    snprintf(cfg.alpha_pattern_key[0], sizeof cfg.alpha_pattern_key[0],
             "layers.1.self_attn.q_proj");
    cfg.alpha_pattern_val[0] = 2.5;

    eco_lora_module mods[2 * ECO_LORA__COUNT];
    eco_tensor ts[2 * ECO_LORA__COUNT][2];
    float *bufs[2 * ECO_LORA__COUNT][2];
    memset(mods, 0, sizeof mods);
    memset(bufs, 0, sizeof bufs);
    for (int64_t l = 0; l < 2; l++)
        for (int t = 0; t < ECO_LORA__COUNT; t++) {
            if (!cfg.targets[t]) continue;
            size_t i = (size_t)(l * ECO_LORA__COUNT + t);
            int64_t r;
            double alpha;
            eco_peft_module_rank_alpha(&cfg, l, (eco_lora_target)t, &r, &alpha);
            for (int h = 0; h < 2; h++) {
                int64_t s0 = h ? dims[t][0] : r, s1 = h ? r : dims[t][1];
                size_t numel = (size_t)(s0 * s1);
                bufs[i][h] = malloc(numel * sizeof(float));
                for (size_t j = 0; j < numel; j++)
                    bufs[i][h][j] = (float)(i * 100 + h * 50 + j) * 0.01f;
                ts[i][h] = (eco_tensor){.name = NULL,
                                        .dtype = ECO_DTYPE_F32,
                                        .ndim = 2,
                                        .shape = {s0, s1},
                                        .data = bufs[i][h],
                                        .nbytes = numel * sizeof(float)};
            }
            mods[i].A = &ts[i][0];
            mods[i].B = &ts[i][1];
            mods[i].r = r;
        }
    char *tmp = eco_test_tmpdir();
    char *dir = eco_path_join(tmp, "a/b/adapter");
    ECO_ASSERT_OK(eco_lora_adapter_save(dir, &cfg, mods, 2));

    eco_lora_adapter *a = NULL;
    ECO_ASSERT_OK(eco_lora_adapter_load(dir, &base, &a));
    assert_int_equal(a->n_layers, 2);
    assert_memory_equal(&a->config, &cfg, sizeof cfg);
    for (int64_t l = 0; l < 2; l++)
        for (int t = 0; t < ECO_LORA__COUNT; t++) {
            const eco_lora_module *m = eco_lora_adapter_module(a, l, (eco_lora_target)t);
            size_t i = (size_t)(l * ECO_LORA__COUNT + t);
            if (!cfg.targets[t]) {
                assert_null(m->A);
                assert_null(m->B);
                continue;
            }
            assert_non_null(m->A);
            assert_non_null(m->B);
            assert_int_equal(m->r, mods[i].r);
            double alpha = (l == 1 && t == ECO_LORA_Q) ? 2.5 : 8;
            assert_true(fabsf(m->scale - (float)(alpha / sqrt((double)m->r))) < 1e-6f);
            for (int h = 0; h < 2; h++) {
                const eco_tensor *got = h ? m->B : m->A;
                assert_int_equal(got->dtype, ECO_DTYPE_F32);
                assert_int_equal(got->shape[0], ts[i][h].shape[0]);
                assert_int_equal(got->shape[1], ts[i][h].shape[1]);
                assert_memory_equal(got->data, ts[i][h].data, ts[i][h].nbytes);
                char want[128];
                snprintf(want, sizeof want, "base_model.model.model.layers.%lld.%s.lora_%c.weight",
                         (long long)l, eco_lora_target_path((eco_lora_target)t), h ? 'B' : 'A');
                assert_string_equal(got->name, want);
            }
        }
    assert_string_equal(eco_safetensors_metadata(a->file, "format"), "pt");
    eco_lora_adapter_free(a);

    /* The config on disk is PEFT's layout. */
    char *cfg_path = eco_path_join(dir, "adapter_config.json");
    char *text = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_read_file(cfg_path, 1 << 20, &text, &len));
    assert_non_null(strstr(
        text, "\"target_modules\": [\n    \"down_proj\",\n    \"q_proj\",\n    \"v_proj\"\n  ]"));
    assert_non_null(strstr(text, "\"rank_pattern\": {\n    \"down_proj\": 2\n  }"));
    assert_non_null(strstr(text, "\"lora_dropout\": 0.1,"));
    assert_non_null(strstr(text, "\"use_rslora\": true"));
    free(text);

    /* Folder-level failures. */
    eco_lora_adapter *b = NULL;
    char *missing = eco_path_join(tmp, "nope");
    ECO_ASSERT_STATUS(eco_lora_adapter_load(missing, &base, &b), ECO_STATUS_ENOTFOUND);
    char *st_path = eco_path_join(dir, "adapter_model.safetensors");
    char *bin_path = eco_path_join(dir, "adapter_model.bin");
    assert_int_equal(rename(st_path, bin_path), 0);
    eco_clear_error();
    ECO_ASSERT_STATUS(eco_lora_adapter_load(dir, &base, &b), ECO_STATUS_EUNSUPPORTED);
    assert_non_null(strstr(eco_last_error(), "only adapter_model.safetensors is supported"));
    assert_int_equal(remove(bin_path), 0);
    ECO_ASSERT_STATUS(eco_lora_adapter_load(dir, &base, &b), ECO_STATUS_ENOTFOUND);
    assert_int_equal(remove(cfg_path), 0);
    ECO_ASSERT_STATUS(eco_lora_adapter_load(dir, &base, &b), ECO_STATUS_ENOTFOUND);
    assert_null(b);

    /* Save refuses inconsistent input. */
    eco_peft_config bad = cfg;
    bad.targets[ECO_LORA_K] = true; /* no k tensors given */
    ECO_ASSERT_STATUS(eco_lora_adapter_save(dir, &bad, mods, 2), ECO_STATUS_EINVAL);
    bad = cfg;
    bad.rank_pattern_val[0] = 3; /* down tensors have r = 2 */
    ECO_ASSERT_STATUS(eco_lora_adapter_save(dir, &bad, mods, 2), ECO_STATUS_EINVAL);
    bad = cfg;
    bad.targets[ECO_LORA_V] = false; /* v tensors given */
    ECO_ASSERT_STATUS(eco_lora_adapter_save(dir, &bad, mods, 2), ECO_STATUS_EINVAL);

    for (size_t i = 0; i < 2 * ECO_LORA__COUNT; i++) free(bufs[i][0]), free(bufs[i][1]);
    free(missing), free(st_path), free(bin_path), free(cfg_path), free(dir);
    eco_test_rmtree(tmp);
    free(tmp);
}

/* BF16 and F16 halves load as views of their dtype. */
static void test_half_dtypes(void **state) {
    (void)state;
    eco_peft_config cfg = parse_ok(adapter_cfg);
    spec s[64];
    size_t n = good_specs(&cfg, s);
    for (size_t i = 0; i < n; i++) s[i].dtype = (i % 2) ? ECO_DTYPE_BF16 : ECO_DTYPE_F16;
    eco_model_config base = base_config();
    size_t len;
    uint8_t *img = image_of(s, n, &len);
    eco_lora_adapter *a = NULL;
    ECO_ASSERT_OK(
        eco_lora_adapter_load_memory(adapter_cfg, strlen(adapter_cfg), img, len, &base, &a));
    const eco_lora_module *m = eco_lora_adapter_module(a, 1, ECO_LORA_DOWN);
    assert_int_equal(m->r, 2);
    assert_int_equal(m->A->dtype, ECO_DTYPE_F16);
    assert_int_equal(m->B->dtype, ECO_DTYPE_BF16);
    assert_true(m->scale == 4.0f); /* alpha 8 / r 2 */
    assert_true(eco_lora_adapter_module(a, 0, ECO_LORA_Q)->scale == 2.0f);
    eco_lora_adapter_free(a);
    free(img);
}

/* eco_lora_module_name: prefix, layer digits and target path read; the rest returned;
 * anything else refused with the outputs untouched. */
static void test_module_name(void **state) {
    (void)state;
    int64_t layer = -1;
    eco_lora_target t = ECO_LORA__COUNT;
    const char *rest =
        eco_lora_module_name("model.layers.12.mlp.down_proj.weight", "model.layers.", &layer, &t);
    assert_non_null(rest);
    assert_string_equal(rest, ".weight");
    assert_int_equal(layer, 12);
    assert_int_equal(t, ECO_LORA_DOWN);
    rest = eco_lora_module_name("base_model.model.model.layers.007.self_attn.v_proj.lora_A.weight",
                                "base_model.model.model.layers.", &layer, &t);
    assert_non_null(rest);
    assert_string_equal(rest, ".lora_A.weight");
    assert_int_equal(layer, 7);
    assert_int_equal(t, ECO_LORA_V);
    static const char *const bad[] = {
        "model.layers..mlp.up_proj.weight",           /* no digits */
        "model.layers.1234567890.mlp.up_proj.weight", /* 10 digits */
        "model.layers.3mlp.up_proj.weight",           /* no dot */
        "model.layers.3.mlp.fc1.weight",              /* not a target */
        "model.embed_tokens.weight",                  /* other prefix */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        layer = -1;
        t = ECO_LORA__COUNT;
        assert_null(eco_lora_module_name(bad[i], "model.layers.", &layer, &t));
        assert_int_equal(layer, -1);
        assert_int_equal(t, ECO_LORA__COUNT);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_configs), cmocka_unit_test(test_accepted_variants),
        cmocka_unit_test(test_patterns),     cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_bad_adapters), cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_half_dtypes),  cmocka_unit_test(test_module_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
