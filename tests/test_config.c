/*
 * config.json: real configs of each architecture (Llama 3.2 1B with llama3 rope scaling,
 * Qwen2.5 0.5B, Mistral 7B v0.1), the Hugging Face defaults of a minimal config, write →
 * load round trips, parameter counts checked against the published figures, and a table
 * of bad configs each refused with the expected status and a message naming the field.
 */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/config.h"

static eco_model_config parse_ok(const char *json) {
    eco_model_config c;
    memset(&c, 0xAB, sizeof c);
    ECO_ASSERT_OK(eco_config_parse(json, strlen(json), "config.json", &c));
    return c;
}

/* meta-llama/Llama-3.2-1B config.json */
static const char *llama32 =
    "{\"architectures\": [\"LlamaForCausalLM\"], \"attention_bias\": false, \"attention_dropout\": "
    "0.0,"
    " \"bos_token_id\": 128000, \"eos_token_id\": [128001, 128008, 128009], \"head_dim\": 64,"
    " \"hidden_act\": \"silu\", \"hidden_size\": 2048, \"initializer_range\": 0.02,"
    " \"intermediate_size\": 8192, \"max_position_embeddings\": 131072, \"mlp_bias\": false,"
    " \"model_type\": \"llama\", \"num_attention_heads\": 32, \"num_hidden_layers\": 16,"
    " \"num_key_value_heads\": 8, \"pretraining_tp\": 1, \"rms_norm_eps\": 1e-05,"
    " \"rope_scaling\": {\"factor\": 32.0, \"high_freq_factor\": 4.0, \"low_freq_factor\": 1.0,"
    " \"original_max_position_embeddings\": 8192, \"rope_type\": \"llama3\"},"
    " \"rope_theta\": 500000.0, \"tie_word_embeddings\": true, \"torch_dtype\": \"bfloat16\","
    " \"transformers_version\": \"4.45.0.dev0\", \"use_cache\": true, \"vocab_size\": 128256}";

/* Qwen/Qwen2.5-0.5B config.json */
static const char *qwen25 =
    "{\"architectures\": [\"Qwen2ForCausalLM\"], \"attention_dropout\": 0.0, \"bos_token_id\": "
    "151643,"
    " \"eos_token_id\": 151643, \"hidden_act\": \"silu\", \"hidden_size\": 896,"
    " \"initializer_range\": 0.02, \"intermediate_size\": 4864, \"max_position_embeddings\": 32768,"
    " \"max_window_layers\": 24, \"model_type\": \"qwen2\", \"num_attention_heads\": 14,"
    " \"num_hidden_layers\": 24, \"num_key_value_heads\": 2, \"rms_norm_eps\": 1e-06,"
    " \"rope_theta\": 1000000.0, \"sliding_window\": 32768, \"tie_word_embeddings\": true,"
    " \"torch_dtype\": \"bfloat16\", \"transformers_version\": \"4.40.1\", \"use_cache\": true,"
    " \"use_sliding_window\": false, \"vocab_size\": 151936}";

/* mistralai/Mistral-7B-v0.1 config.json */
static const char *mistral7b =
    "{\"architectures\": [\"MistralForCausalLM\"], \"bos_token_id\": 1, \"eos_token_id\": 2,"
    " \"hidden_act\": \"silu\", \"hidden_size\": 4096, \"initializer_range\": 0.02,"
    " \"intermediate_size\": 14336, \"max_position_embeddings\": 32768, \"model_type\": "
    "\"mistral\","
    " \"num_attention_heads\": 32, \"num_hidden_layers\": 32, \"num_key_value_heads\": 8,"
    " \"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, \"sliding_window\": 4096,"
    " \"tie_word_embeddings\": false, \"torch_dtype\": \"bfloat16\", \"transformers_version\": "
    "\"4.34.0.dev0\","
    " \"use_cache\": true, \"vocab_size\": 32000}";

static void test_real_configs(void **state) {
    (void)state;
    eco_model_config c = parse_ok(llama32);
    assert_int_equal(c.arch, ECO_ARCH_LLAMA);
    assert_string_equal(c.model_type, "llama");
    assert_string_equal(eco_arch_name(c.arch), "LlamaForCausalLM");
    assert_int_equal(c.vocab_size, 128256);
    assert_int_equal(c.hidden_size, 2048);
    assert_int_equal(c.intermediate_size, 8192);
    assert_int_equal(c.n_layers, 16);
    assert_int_equal(c.n_heads, 32);
    assert_int_equal(c.n_kv_heads, 8);
    assert_int_equal(c.head_dim, 64);
    assert_int_equal(c.max_position_embeddings, 131072);
    assert_true(c.rms_norm_eps == 1e-5);
    assert_true(c.rope_theta == 500000.0);
    assert_true(c.rope_llama3);
    assert_true(c.rope_factor == 32.0);
    assert_true(c.rope_low_freq_factor == 1.0);
    assert_true(c.rope_high_freq_factor == 4.0);
    assert_int_equal(c.rope_original_max_pos, 8192);
    assert_true(c.tie_word_embeddings);
    assert_false(c.qkv_bias);
    assert_false(c.o_bias);
    assert_int_equal(c.bos_token_id, 128000);
    assert_int_equal(c.n_eos, 3);
    assert_int_equal(c.eos_token_ids[2], 128009);
    assert_int_equal(c.torch_dtype, ECO_DTYPE_BF16);
    /* Published: 1,235,814,400 parameters. */
    assert_int_equal(eco_config_param_count(&c), 1235814400LL);

    c = parse_ok(qwen25);
    assert_int_equal(c.arch, ECO_ARCH_QWEN2);
    assert_string_equal(c.model_type, "qwen2");
    assert_int_equal(c.head_dim, 64);
    assert_true(c.qkv_bias);
    assert_false(c.o_bias);
    assert_false(c.rope_llama3);
    assert_int_equal(c.n_eos, 1);
    assert_int_equal(c.eos_token_ids[0], 151643);
    /* Published: 494,032,768 parameters (0.49B). */
    assert_int_equal(eco_config_param_count(&c), 494032768LL);

    c = parse_ok(mistral7b);
    assert_int_equal(c.arch, ECO_ARCH_MISTRAL);
    assert_int_equal(c.head_dim, 128);
    assert_false(c.tie_word_embeddings);
    /* Published: 7,241,732,096 parameters. */
    assert_int_equal(eco_config_param_count(&c), 7241732096LL);
}

static void test_defaults(void **state) {
    (void)state;
    eco_model_config c = parse_ok("{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 32,"
                                  " \"hidden_size\": 16, \"intermediate_size\": 48,"
                                  " \"num_hidden_layers\": 2, \"num_attention_heads\": 4}");
    assert_string_equal(c.model_type, "llama");
    assert_int_equal(c.n_kv_heads, 4);
    assert_int_equal(c.head_dim, 4);
    assert_true(c.rms_norm_eps == 1e-6);
    assert_true(c.rope_theta == 10000.0);
    assert_int_equal(c.max_position_embeddings, 2048);
    assert_false(c.tie_word_embeddings);
    assert_false(c.qkv_bias);
    assert_false(c.o_bias);
    assert_false(c.rope_llama3);
    assert_int_equal(c.bos_token_id, -1);
    assert_int_equal(c.n_eos, 0);
    assert_int_equal(c.torch_dtype, ECO_DTYPE_F32);
    /* embed 32*16 + 2 layers * (256 q + 2*256/2 kv... ) computed by hand:
     * q 16*4*4=256, k+v 2*16*4*4=512, o 256, mlp 3*16*48=2304, norms 32 → 3360 per layer. */
    assert_int_equal(eco_config_param_count(&c), 512 + 2 * 3360 + 16 + 512);

    /* nulls mean "default"; model_type alone picks the architecture; GQA; Qwen2 biases. */
    c = parse_ok("{\"model_type\": \"qwen2\", \"vocab_size\": 32, \"hidden_size\": 16,"
                 " \"intermediate_size\": 48, \"num_hidden_layers\": 2, \"num_attention_heads\": 4,"
                 " \"num_key_value_heads\": 2, \"head_dim\": null, \"rope_scaling\": null,"
                 " \"bos_token_id\": null, \"eos_token_id\": null, \"tie_word_embeddings\": true,"
                 " \"attention_bias\": false, \"dtype\": \"float16\"}");
    assert_int_equal(c.arch, ECO_ARCH_QWEN2);
    assert_int_equal(c.n_kv_heads, 2);
    assert_int_equal(c.max_position_embeddings, 32768);
    assert_true(c.qkv_bias);
    assert_false(c.o_bias);
    assert_int_equal(c.torch_dtype, ECO_DTYPE_F16);
    /* q 256, k+v 2*16*2*4=256, o 256, mlp 2304, norms 32, bias 16+16 → 3136 per layer. */
    assert_int_equal(eco_config_param_count(&c), 512 + 2 * 3136 + 16);

    /* Llama attention_bias puts bias on q, k, v and o; an explicit head_dim. */
    c = parse_ok(
        "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 32, \"hidden_size\": 16,"
        " \"intermediate_size\": 48, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
        " \"head_dim\": 6, \"attention_bias\": true, \"eos_token_id\": 5,"
        " \"rope_scaling\": {\"type\": \"default\"}}");
    assert_true(c.qkv_bias);
    assert_true(c.o_bias);
    assert_int_equal(c.head_dim, 6);
    assert_false(c.rope_llama3);
    /* q 16*2*6=192, k+v 384, o 192, mlp 2304, norms 32, bias 12+24+16 → 3156. */
    assert_int_equal(eco_config_param_count(&c), 512 + 3156 + 16 + 512);

    eco_model_config bad = c;
    bad.vocab_size = 0;
    assert_int_equal(eco_config_param_count(&bad), -1);
}

static void check_same(const eco_model_config *a, const eco_model_config *b) {
    assert_int_equal(a->arch, b->arch);
    assert_string_equal(a->model_type, b->model_type);
    assert_int_equal(a->vocab_size, b->vocab_size);
    assert_int_equal(a->hidden_size, b->hidden_size);
    assert_int_equal(a->intermediate_size, b->intermediate_size);
    assert_int_equal(a->n_layers, b->n_layers);
    assert_int_equal(a->n_heads, b->n_heads);
    assert_int_equal(a->n_kv_heads, b->n_kv_heads);
    assert_int_equal(a->head_dim, b->head_dim);
    assert_int_equal(a->max_position_embeddings, b->max_position_embeddings);
    assert_true(a->rms_norm_eps == b->rms_norm_eps);
    assert_true(a->rope_theta == b->rope_theta);
    assert_int_equal(a->rope_llama3, b->rope_llama3);
    if (a->rope_llama3) {
        assert_true(a->rope_factor == b->rope_factor);
        assert_true(a->rope_low_freq_factor == b->rope_low_freq_factor);
        assert_true(a->rope_high_freq_factor == b->rope_high_freq_factor);
        assert_int_equal(a->rope_original_max_pos, b->rope_original_max_pos);
    }
    assert_int_equal(a->tie_word_embeddings, b->tie_word_embeddings);
    assert_int_equal(a->qkv_bias, b->qkv_bias);
    assert_int_equal(a->o_bias, b->o_bias);
    assert_int_equal(a->bos_token_id, b->bos_token_id);
    assert_int_equal(a->n_eos, b->n_eos);
    for (int i = 0; i < a->n_eos; i++) assert_int_equal(a->eos_token_ids[i], b->eos_token_ids[i]);
    assert_int_equal(a->torch_dtype, b->torch_dtype);
}

static void test_write_roundtrip(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    const char *sources[] = {llama32, qwen25, mistral7b};
    for (size_t i = 0; i < 3; i++) {
        eco_model_config a = parse_ok(sources[i]), b;
        /* Into the folder (config.json) and back. */
        ECO_ASSERT_OK(eco_config_write(dir, &a));
        ECO_ASSERT_OK(eco_config_load(dir, &b));
        check_same(&a, &b);
    }
    /* A bare struct with odd reals round-trips exactly. */
    eco_model_config a = parse_ok(llama32), b;
    a.rms_norm_eps = 1.0 / 3.0;
    a.rope_theta = 12345.678;
    a.n_eos = 0;
    a.bos_token_id = -1;
    char *path = eco_path_join(dir, "other.json");
    ECO_ASSERT_OK(eco_config_write(path, &a));
    ECO_ASSERT_OK(eco_config_load(path, &b));
    check_same(&a, &b);

    /* The text: 2-space indent, sorted keys, readable reals, what transformers needs. */
    char *text;
    size_t len;
    a = parse_ok(llama32);
    ECO_ASSERT_OK(eco_config_to_json(&a, &text, &len));
    assert_int_equal(strlen(text), len);
    assert_int_equal(text[len - 1], '\n');
    assert_non_null(strstr(text, "\n  \"architectures\": [\n    \"LlamaForCausalLM\"\n  ]"));
    assert_non_null(strstr(text, "\"rms_norm_eps\": 1e-5,"));
    assert_non_null(strstr(text, "\"rope_theta\": 500000.0"));
    assert_non_null(strstr(text, "\"rope_type\": \"llama3\""));
    assert_non_null(strstr(text, "\"torch_dtype\": \"bfloat16\""));
    assert_non_null(strstr(text, "\"model_type\": \"llama\""));
    assert_true(strstr(text, "\"architectures\"") < strstr(text, "\"vocab_size\""));
    free(text);
    a = parse_ok(mistral7b);
    ECO_ASSERT_OK(eco_config_to_json(&a, &text, &len));
    assert_non_null(strstr(text, "\"rope_scaling\": null"));
    assert_non_null(strstr(text, "\"sliding_window\": null"));
    free(text);

    /* The writer refuses a struct it could not express. */
    a = parse_ok(qwen25);
    a.o_bias = true;
    ECO_ASSERT_STATUS(eco_config_write(path, &a), ECO_STATUS_EINVAL);
    a = parse_ok(llama32);
    a.n_kv_heads = 5;
    ECO_ASSERT_STATUS(eco_config_write(path, &a), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "num_key_value_heads"));

    /* Missing file. */
    char *missing = eco_path_join(dir, "nope");
    ECO_ASSERT_STATUS(eco_config_load(missing, &b), ECO_STATUS_ENOTFOUND);
    free(missing);
    free(path);
    eco_test_rmtree(dir);
    free(dir);
}

/* ---- bad configs ------------------------------------------------------------------- */

#define ARCH "\"architectures\": [\"LlamaForCausalLM\"], "
#define SIZES                                                                                      \
    "\"vocab_size\": 32, \"hidden_size\": 16, \"intermediate_size\": 48, \"num_hidden_layers\": "  \
    "2, "
#define HEADS  "\"num_attention_heads\": 4"
#define BASE   ARCH SIZES HEADS
#define LLAMA3 "\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, "

typedef struct {
    const char *json;
    eco_status want;
    const char *needle;
} bad_config;

static const bad_config bad_configs[] = {
    {"{", ECO_STATUS_EFORMAT, "config.json: not valid JSON"},
    {"", ECO_STATUS_EFORMAT, "not valid JSON"},
    {"[1]", ECO_STATUS_EFORMAT, "not a JSON object"},
    {"{" BASE ", \"vocab_size\": 64}", ECO_STATUS_EFORMAT, "duplicate"},
    {"{" SIZES HEADS "}", ECO_STATUS_EFORMAT, "architectures: missing"},
    {"{\"architectures\": [\"GPT2LMHeadModel\"], " SIZES HEADS "}", ECO_STATUS_EUNSUPPORTED,
     "architectures: 'GPT2LMHeadModel' is not supported"},
    {"{\"architectures\": [\"LlamaForCausalLM\", \"MistralForCausalLM\"], " SIZES HEADS "}",
     ECO_STATUS_EFORMAT, "architectures: expected a list of exactly one string"},
    {"{\"architectures\": \"LlamaForCausalLM\", " SIZES HEADS "}", ECO_STATUS_EFORMAT,
     "architectures"},
    {"{\"architectures\": [], " SIZES HEADS "}", ECO_STATUS_EFORMAT, "architectures"},
    {"{" BASE ", \"model_type\": \"qwen2\"}", ECO_STATUS_EFORMAT,
     "model_type 'qwen2' does not match architectures 'LlamaForCausalLM'"},
    {"{" BASE ", \"model_type\": \"gemma\"}", ECO_STATUS_EUNSUPPORTED, "model_type: 'gemma'"},
    {"{" BASE ", \"model_type\": 3}", ECO_STATUS_EFORMAT, "model_type: expected a string"},
    {"{" ARCH "\"vocab_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 2, " HEADS "}",
     ECO_STATUS_EFORMAT, "config.json: hidden_size: missing"},
    {"{" ARCH "\"vocab_size\": 32, \"hidden_size\": 16, \"intermediate_size\": 48, " HEADS "}",
     ECO_STATUS_EFORMAT, "num_hidden_layers: missing"},
    {"{" ARCH SIZES "\"max_position_embeddings\": 64}", ECO_STATUS_EFORMAT,
     "num_attention_heads: missing"},
    {"{" ARCH "\"vocab_size\": 32, \"hidden_size\": \"16\", \"intermediate_size\": 48, "
     "\"num_hidden_layers\": 2, " HEADS "}",
     ECO_STATUS_EFORMAT, "config.json: hidden_size: expected an integer"},
    {"{" ARCH "\"vocab_size\": 32, \"hidden_size\": 0, \"intermediate_size\": 48, "
     "\"num_hidden_layers\": 2, " HEADS "}",
     ECO_STATUS_EFORMAT, "hidden_size: 0 outside [1, 2147483647]"},
    {"{" ARCH "\"vocab_size\": -32, \"hidden_size\": 16, \"intermediate_size\": 48, "
     "\"num_hidden_layers\": 2, " HEADS "}",
     ECO_STATUS_EFORMAT, "vocab_size: -32 outside [1, 2147483647]"},
    {"{" ARCH "\"vocab_size\": 32, \"hidden_size\": 16.0, \"intermediate_size\": 48, "
     "\"num_hidden_layers\": 2, " HEADS "}",
     ECO_STATUS_EFORMAT, "hidden_size"},
    {"{" ARCH "\"vocab_size\": 2147483648, \"hidden_size\": 16, \"intermediate_size\": 48, "
     "\"num_hidden_layers\": 2, " HEADS "}",
     ECO_STATUS_EFORMAT, "vocab_size: 2147483648 outside [1, 2147483647]"},
    {"{" ARCH "\"vocab_size\": 32, \"hidden_size\": 16, \"intermediate_size\": 48, "
     "\"num_hidden_layers\": true, " HEADS "}",
     ECO_STATUS_EFORMAT, "num_hidden_layers"},
    {"{" BASE ", \"num_key_value_heads\": 3}", ECO_STATUS_EFORMAT,
     "num_attention_heads 4 is not a multiple of num_key_value_heads 3"},
    {"{" BASE ", \"num_key_value_heads\": 8}", ECO_STATUS_EFORMAT, "not a multiple"},
    {"{" BASE ", \"num_key_value_heads\": 0}", ECO_STATUS_EFORMAT, "num_key_value_heads"},
    {"{" ARCH "\"vocab_size\": 32, \"hidden_size\": 10, \"intermediate_size\": 48, "
     "\"num_hidden_layers\": 2, " HEADS "}",
     ECO_STATUS_EFORMAT,
     "head_dim: absent and hidden_size 10 is not a multiple of num_attention_heads 4"},
    {"{" ARCH "\"vocab_size\": 32, \"hidden_size\": 12, \"intermediate_size\": 48, "
     "\"num_hidden_layers\": 2, " HEADS "}",
     ECO_STATUS_EFORMAT, "head_dim: 3 is odd"},
    {"{" BASE ", \"head_dim\": 5}", ECO_STATUS_EFORMAT, "head_dim: 5 is odd"},
    {"{" BASE ", \"head_dim\": \"4\"}", ECO_STATUS_EFORMAT, "head_dim: expected an integer"},
    {"{" BASE ", \"max_position_embeddings\": 0}", ECO_STATUS_EFORMAT, "max_position_embeddings"},
    {"{" BASE ", \"rms_norm_eps\": \"1e-5\"}", ECO_STATUS_EFORMAT,
     "rms_norm_eps: expected a number"},
    {"{" BASE ", \"rms_norm_eps\": -1e-5}", ECO_STATUS_EFORMAT, "rms_norm_eps"},
    {"{" BASE ", \"rope_theta\": 0}", ECO_STATUS_EFORMAT, "rope_theta"},
    {"{" BASE ", \"rope_theta\": 1e400}", ECO_STATUS_EFORMAT, "not valid JSON"},
    {"{" BASE ", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}}",
     ECO_STATUS_EUNSUPPORTED, "config.json: rope_scaling.rope_type: 'yarn' is not supported"},
    {"{" BASE ", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 4.0}}",
     ECO_STATUS_EUNSUPPORTED, "rope_scaling.type: 'linear' is not supported"},
    {"{" BASE ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"type\": \"dynamic\"}}",
     ECO_STATUS_EFORMAT, "disagree"},
    {"{" BASE ", \"rope_scaling\": {\"factor\": 4.0}}", ECO_STATUS_EFORMAT,
     "rope_scaling.rope_type: missing"},
    {"{" BASE ", \"rope_scaling\": {\"rope_type\": 3}}", ECO_STATUS_EFORMAT,
     "rope_scaling.rope_type: expected a string"},
    {"{" BASE ", \"rope_scaling\": \"llama3\"}", ECO_STATUS_EFORMAT,
     "rope_scaling: expected an object"},
    {"{" BASE ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"low_freq_factor\": 1.0, "
     "\"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}}",
     ECO_STATUS_EFORMAT, "rope_scaling.factor: missing"},
    {"{" BASE ", \"rope_scaling\": {" LLAMA3 "\"high_freq_factor\": 4.0}}", ECO_STATUS_EFORMAT,
     "rope_scaling.original_max_position_embeddings"},
    {"{" BASE ", \"rope_scaling\": {" LLAMA3 "\"high_freq_factor\": \"4\", "
     "\"original_max_position_embeddings\": 8192}}",
     ECO_STATUS_EFORMAT, "rope_scaling.high_freq_factor: expected a number"},
    {"{" BASE ", \"rope_scaling\": {" LLAMA3 "\"high_freq_factor\": 1.0, "
     "\"original_max_position_embeddings\": 8192}}",
     ECO_STATUS_EFORMAT, "high_freq_factor 1 must exceed low_freq_factor 1"},
    {"{" BASE ", \"rope_scaling\": {" LLAMA3 "\"high_freq_factor\": 4.0, "
     "\"original_max_position_embeddings\": -1}}",
     ECO_STATUS_EFORMAT,
     "rope_scaling.original_max_position_embeddings: -1 outside [1, 2147483647]"},
    {"{" BASE ", \"hidden_act\": \"gelu\"}", ECO_STATUS_EUNSUPPORTED,
     "hidden_act: 'gelu' is not supported"},
    {"{" BASE ", \"hidden_act\": 1}", ECO_STATUS_EFORMAT, "hidden_act: expected a string"},
    {"{" BASE ", \"mlp_bias\": true}", ECO_STATUS_EUNSUPPORTED, "mlp_bias"},
    {"{" BASE ", \"mlp_bias\": 0}", ECO_STATUS_EFORMAT, "mlp_bias: expected true or false"},
    {"{" BASE ", \"attention_bias\": \"no\"}", ECO_STATUS_EFORMAT, "attention_bias"},
    {"{" BASE ", \"tie_word_embeddings\": 1}", ECO_STATUS_EFORMAT, "tie_word_embeddings"},
    {"{\"architectures\": [\"Qwen2ForCausalLM\"], " SIZES HEADS ", \"use_sliding_window\": true}",
     ECO_STATUS_EUNSUPPORTED, "use_sliding_window"},
    {"{" BASE ", \"torch_dtype\": \"float64\"}", ECO_STATUS_EUNSUPPORTED,
     "torch_dtype: 'float64' is not supported"},
    {"{" BASE ", \"torch_dtype\": 16}", ECO_STATUS_EFORMAT, "torch_dtype: expected a string"},
    {"{" BASE ", \"eos_token_id\": [1,2,3,4,5,6,7,8,9]}", ECO_STATUS_EUNSUPPORTED,
     "eos_token_id: 9 ids, at most 8"},
    {"{" BASE ", \"eos_token_id\": \"</s>\"}", ECO_STATUS_EFORMAT, "eos_token_id"},
    {"{" BASE ", \"eos_token_id\": [1, -2]}", ECO_STATUS_EFORMAT, "eos_token_id"},
    {"{" BASE ", \"bos_token_id\": 1.0}", ECO_STATUS_EFORMAT, "bos_token_id"},
    {"{" BASE ", \"bos_token_id\": 4294967296}", ECO_STATUS_EFORMAT, "bos_token_id"},
    /* Token ids outside the vocabulary (vocab_size 32): accepted silently before. */
    {"{" BASE ", \"eos_token_id\": 32}", ECO_STATUS_EFORMAT,
     "config.json: eos_token_id: 32 is outside the vocabulary (vocab_size 32)"},
    {"{" BASE ", \"eos_token_id\": [2, 40]}", ECO_STATUS_EFORMAT,
     "eos_token_id: 40 is outside the vocabulary"},
    {"{" BASE ", \"bos_token_id\": 32}", ECO_STATUS_EFORMAT,
     "bos_token_id: 32 is outside the vocabulary"},
    /* Sizes each below 2^31 whose products overflow the f32 byte count. */
    {"{" ARCH "\"vocab_size\": 2147483647, \"hidden_size\": 2147483646, "
     "\"intermediate_size\": 2147483647, \"num_hidden_layers\": 2147483647, "
     "\"num_attention_heads\": 1}",
     ECO_STATUS_EOVERFLOW, "overflows"},
    {"{" ARCH "\"vocab_size\": 1000000, \"hidden_size\": 1000000, "
     "\"intermediate_size\": 1000000, \"num_hidden_layers\": 1000000, "
     "\"num_attention_heads\": 1000}",
     ECO_STATUS_EOVERFLOW, "overflows"},
};

static void test_bad_configs(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof bad_configs / sizeof bad_configs[0]; i++) {
        const bad_config *b = &bad_configs[i];
        eco_model_config c;
        memset(&c, 0x5A, sizeof c);
        eco_model_config before = c;
        eco_clear_error();
        eco_status got = eco_config_parse(b->json, strlen(b->json), "config.json", &c);
        const char *msg = eco_last_error();
        if (got != b->want || !strstr(msg, b->needle)) {
            print_error("case %zu %s: got %s \"%s\", want %s containing \"%s\"\n", i, b->json,
                        eco_status_str(got), msg, eco_status_str(b->want), b->needle);
            fail();
        }
        /* A failed parse leaves the output untouched. */
        assert_memory_equal(&c, &before, sizeof c);
    }
    /* Mistral's sliding_window is accepted (full attention below the window). */
    eco_model_config c = parse_ok("{\"architectures\": [\"MistralForCausalLM\"], " SIZES HEADS
                                  ", \"sliding_window\": 16, \"max_position_embeddings\": 4096}");
    assert_int_equal(c.max_position_embeddings, 4096);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_configs),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_write_roundtrip),
        cmocka_unit_test(test_bad_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
