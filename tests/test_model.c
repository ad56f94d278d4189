/*
 * Model tests: the forward against PyTorch, the decode path against the batched one, the
 * KV cache's bounds, the loader's refusals, presets and random models.
 *
 * Fixtures (tests/fixtures/model/<case>/, written by scripts/make_fixtures.py with an
 * independent plain-torch llama forward): config.json, model.safetensors and
 * expected.safetensors holding "tokens" I32 [T] and "logits" F32 [T, vocab].
 * Tolerances: 1e-4 absolute against torch for every fixture (the bf16/f16 ones were
 * computed by torch from the same rounded weights in f32 math), 1e-2 between the bf16
 * model and the f32 model it was rounded from.
 */
#include "test_util.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/model.h"
#include "ecology/safetensors.h"
#include "ecology/tokenizer.h"
#include "model/model_internal.h"

#define TOL        1e-4
/* logits with an f16 KV cache against torch with f32 keys and values (see run_fixture) */
#define TOL_KV_F16 2e-2

typedef struct fixture {
    char *dir;
    eco_safetensors *expected;
    const int32_t *tokens; /* [T] */
    const float *logits;   /* [T, V] */
    int64_t T;
    eco_model *model;
    int64_t V;
} fixture;

static void fixture_open(fixture *fx, const char *name) {
    memset(fx, 0, sizeof *fx);
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/model/%s", name);
    fx->dir = eco_test_source_path(rel);
    char *exp = eco_path_join(fx->dir, "expected.safetensors");
    assert_non_null(exp);
    ECO_ASSERT_OK(eco_safetensors_open(exp, &fx->expected));
    free(exp);
    const eco_tensor *tok = eco_safetensors_find(fx->expected, "tokens");
    const eco_tensor *lg = eco_safetensors_find(fx->expected, "logits");
    assert_non_null(tok);
    assert_non_null(lg);
    assert_int_equal(tok->dtype, ECO_DTYPE_I32);
    assert_int_equal(lg->dtype, ECO_DTYPE_F32);
    assert_int_equal(lg->ndim, 2);
    fx->T = tok->shape[0];
    assert_int_equal(lg->shape[0], fx->T);
    fx->tokens = tok->data;
    fx->logits = lg->data;
    ECO_ASSERT_OK(eco_model_load(fx->dir, &fx->model));
    fx->V = eco_model_get_config(fx->model)->vocab_size;
    assert_int_equal(lg->shape[1], fx->V);
}

static void fixture_close(fixture *fx) {
    eco_model_free(fx->model);
    eco_safetensors_close(fx->expected);
    free(fx->dir);
}

/* Largest difference over rows [r0, r1) of a and b ([*, V]). */
static double rows_diff(const float *a, const float *b, int64_t r0, int64_t r1, int64_t V) {
    return eco_test_max_abs_diff(a + r0 * V, b + r0 * V, (size_t)((r1 - r0) * V));
}

static void check(const char *fixture_name, const char *what, double diff, double tol) {
    printf("  %-20s %-34s max |diff| %.3g (tol %.0e)\n", fixture_name, what, diff, tol);
    if (!(diff <= tol)) {
        print_error("%s: %s: max abs diff %g > %g\n", fixture_name, what, diff, tol);
        fail();
    }
}

/* Every way of feeding the fixture's sequence must give torch's logits, within `tol` of
 * torch's (f32 keys and values) and of each other, with a KV cache of `kvt`. (With f16,
 * an f32 rounding difference between the paths can flip an element's last f16 bit.) */
static void run_fixture_kv(const char *name, eco_dtype kvt, double tol) {
    fixture fx;
    fixture_open(&fx, name);
    const int64_t T = fx.T, V = fx.V;
    float *all = eco_malloc_array((size_t)(T * V), sizeof(float));
    float *step = eco_malloc_array((size_t)(T * V), sizeof(float));
    assert_non_null(all);
    assert_non_null(step);
    eco_kv_cache *kv;
    ECO_ASSERT_OK(eco_kv_cache_create_typed(fx.model, T + 3, kvt, &kv));
    char label[64];
    snprintf(label, sizeof label, "%s/kv %s", name, eco_dtype_name(kvt));
    name = label;

    /* 1. the whole sequence in one batched pass */
    ECO_ASSERT_OK(eco_model_forward(fx.model, kv, fx.tokens, T, all, true));
    assert_int_equal(kv->len, T);
    check(name, "batched, all logits vs torch", rows_diff(all, fx.logits, 0, T, V), tol);

    /* 2. batched, last position only */
    eco_kv_cache_reset(kv);
    ECO_ASSERT_OK(eco_model_forward(fx.model, kv, fx.tokens, T, step, false));
    check(name, "batched, last logits vs torch", rows_diff(step, fx.logits + (T - 1) * V, 0, 1, V),
          tol);

    /* 3. one token at a time (the matrix-vector path) */
    eco_kv_cache_reset(kv);
    for (int64_t i = 0; i < T; i++) {
        ECO_ASSERT_OK(eco_model_forward(fx.model, kv, fx.tokens + i, 1, step + i * V, false));
        assert_int_equal(kv->len, i + 1);
    }
    check(name, "decode 1 by 1 vs torch", rows_diff(step, fx.logits, 0, T, V), tol);
    check(name, "decode 1 by 1 vs batched", rows_diff(step, all, 0, T, V), tol);

    /* 4. a prompt of k tokens, then single tokens */
    const int64_t ks[] = {2, 5, T - 1};
    for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++) {
        int64_t k = ks[j];
        eco_kv_cache_reset(kv);
        ECO_ASSERT_OK(eco_model_forward(fx.model, kv, fx.tokens, k, step, true));
        for (int64_t i = k; i < T; i++)
            ECO_ASSERT_OK(eco_model_forward(fx.model, kv, fx.tokens + i, 1, step + i * V, false));
        char what[64];
        snprintf(what, sizeof what, "prompt %lld, then decode vs torch", (long long)k);
        check(name, what, rows_diff(step, fx.logits, 0, T, V), tol);
    }

    /* 5. batched chunks of 3 (batched attention against an already filled cache) */
    eco_kv_cache_reset(kv);
    for (int64_t i = 0; i < T; i += 3) {
        int64_t n = T - i < 3 ? T - i : 3;
        ECO_ASSERT_OK(eco_model_forward(fx.model, kv, fx.tokens + i, n, step + i * V, true));
    }
    check(name, "chunks of 3 vs torch", rows_diff(step, fx.logits, 0, T, V), tol);

    /* 6. prefix reuse: truncate the full cache to 6 tokens and run the rest */
    eco_kv_cache_truncate(kv, 6);
    assert_int_equal(kv->len, 6);
    ECO_ASSERT_OK(eco_model_forward(fx.model, kv, fx.tokens + 6, T - 6, step + 6 * V, true));
    check(name, "truncate to 6, rest batched vs torch", rows_diff(step, fx.logits, 6, T, V), tol);

    eco_kv_cache_free(kv);
    free(all);
    free(step);
    fixture_close(&fx);
}

/* f32 keys and values reproduce torch to TOL; f16 ones (the default for 16-bit weights,
 * as llama.cpp keeps them) round each cached element to 11 significant bits, which moves
 * the logits by up to TOL_KV_F16. */
static void run_fixture(const char *name) {
    run_fixture_kv(name, ECO_DTYPE_F32, TOL);
    run_fixture_kv(name, ECO_DTYPE_F16, TOL_KV_F16);
}

static void test_llama_gqa(void **state) {
    (void)state;
    run_fixture("llama_gqa");
}
static void test_qwen2_tied_bias(void **state) {
    (void)state;
    run_fixture("qwen2_tied_bias");
}
static void test_llama3_rope(void **state) {
    (void)state;
    run_fixture("llama3_rope");
}
static void test_llama_head_dim(void **state) {
    (void)state;
    run_fixture("llama_head_dim");
}
static void test_qwen2_f16(void **state) {
    (void)state;
    run_fixture("qwen2_tied_bias_f16");
}

static void test_llama_bf16(void **state) {
    (void)state;
    run_fixture("llama_gqa_bf16");
    /* and against the f32 model it was rounded from */
    fixture fx;
    fixture_open(&fx, "llama_gqa_bf16");
    const eco_tensor *ref = eco_safetensors_find(fx.expected, "logits_f32");
    assert_non_null(ref);
    float *all = eco_malloc_array((size_t)(fx.T * fx.V), sizeof(float));
    assert_non_null(all);
    eco_kv_cache *kv;
    ECO_ASSERT_OK(eco_kv_cache_create(fx.model, fx.T, &kv)); /* f16, the default */
    ECO_ASSERT_OK(eco_model_forward(fx.model, kv, fx.tokens, fx.T, all, true));
    check("llama_gqa_bf16", "batched vs the f32 model's torch",
          rows_diff(all, ref->data, 0, fx.T, fx.V), 1e-2);
    eco_kv_cache_free(kv);
    free(all);
    fixture_close(&fx);
}

/* The f16 cache's store: round to nearest, saturate instead of overflowing, keep NaN;
 * the f32 store copies. */
static void test_kv_store(void **state) {
    (void)state;
    const float src[6] = {1.0f, -0.333333f, 70000.0f, -1e30f, NAN, 65504.0f};
    uint16_t h[6];
    eco_kv_store(h, ECO_DTYPE_F16, src, 6);
    assert_true(eco_f16_to_f32(h[0]) == 1.0f);
    assert_true(fabsf(eco_f16_to_f32(h[1]) + 0.333333f) < 2e-4f);
    assert_true(eco_f16_to_f32(h[2]) == 65504.0f);
    assert_true(eco_f16_to_f32(h[3]) == -65504.0f);
    assert_true(isnan(eco_f16_to_f32(h[4])));
    assert_true(eco_f16_to_f32(h[5]) == 65504.0f);
    float f[6];
    eco_kv_store(f, ECO_DTYPE_F32, src, 6);
    assert_memory_equal(f, src, sizeof f);
}

/* ---- errors ------------------------------------------------------------------------- */

static void test_token_range(void **state) {
    (void)state;
    fixture fx;
    fixture_open(&fx, "llama_gqa");
    eco_kv_cache *kv;
    ECO_ASSERT_OK(eco_kv_cache_create(fx.model, 8, &kv));
    float *logits = eco_malloc_array((size_t)(8 * fx.V), sizeof(float));
    assert_non_null(logits);
    int32_t bad_hi[] = {5, (int32_t)fx.V};
    int32_t bad_lo[] = {-1};
    int32_t good[] = {0, 1, (int32_t)fx.V - 1};
    ECO_ASSERT_STATUS(eco_model_forward(fx.model, kv, bad_hi, 2, logits, true), ECO_STATUS_ERANGE);
    assert_non_null(strstr(eco_last_error(), "token"));
    ECO_ASSERT_STATUS(eco_model_forward(fx.model, kv, bad_lo, 1, logits, false), ECO_STATUS_ERANGE);
    assert_int_equal(kv->len, 0);
    ECO_ASSERT_OK(eco_model_forward(fx.model, kv, good, 3, logits, false));
    ECO_ASSERT_STATUS(eco_model_forward(fx.model, kv, bad_hi + 1, 1, logits, false),
                      ECO_STATUS_ERANGE);
    assert_int_equal(kv->len, 3);
    ECO_ASSERT_STATUS(eco_model_forward(fx.model, kv, good, 0, logits, false), ECO_STATUS_EINVAL);
    assert_int_equal(kv->len, 3);
    eco_kv_cache_free(kv);
    free(logits);
    fixture_close(&fx);
}

static void test_cache_overflow(void **state) {
    (void)state;
    fixture fx;
    fixture_open(&fx, "llama_gqa");
    eco_kv_cache *kv;
    ECO_ASSERT_OK(eco_kv_cache_create(fx.model, 4, &kv));
    float *logits = eco_malloc_array((size_t)(8 * fx.V), sizeof(float));
    assert_non_null(logits);
    ECO_ASSERT_STATUS(eco_model_forward(fx.model, kv, fx.tokens, 5, logits, true),
                      ECO_STATUS_ERANGE);
    assert_int_equal(kv->len, 0);
    ECO_ASSERT_OK(eco_model_forward(fx.model, kv, fx.tokens, 3, logits, true));
    ECO_ASSERT_STATUS(eco_model_forward(fx.model, kv, fx.tokens + 3, 2, logits, true),
                      ECO_STATUS_ERANGE);
    assert_int_equal(kv->len, 3);
    ECO_ASSERT_OK(eco_model_forward(fx.model, kv, fx.tokens + 3, 1, logits, false));
    assert_int_equal(kv->len, 4);
    /* the last step still matches torch */
    check("llama_gqa", "4th token in a full cache vs torch",
          rows_diff(logits, fx.logits + 3 * fx.V, 0, 1, fx.V), TOL);
    ECO_ASSERT_STATUS(eco_model_forward(fx.model, kv, fx.tokens + 4, 1, logits, false),
                      ECO_STATUS_ERANGE);
    assert_int_equal(kv->len, 4);
    eco_kv_cache_free(kv);
    ECO_ASSERT_STATUS(eco_kv_cache_create(fx.model, 0, &kv), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_kv_cache_create_typed(fx.model, 8, ECO_DTYPE_BF16, &kv),
                      ECO_STATUS_EINVAL);
    free(logits);
    fixture_close(&fx);
}

/* A model folder with one tensor dropped, reshaped or retyped must be refused with
 * EFORMAT naming that tensor. */
typedef enum mutation { DROP, RESHAPE, RETYPE } mutation;

static const struct {
    const char *fixture;
    const char *tensor;
    mutation how;
} bad_tensor_cases[] = {
    {"llama_gqa", "model.layers.1.mlp.up_proj.weight", DROP},
    {"llama_gqa", "lm_head.weight", DROP},
    {"llama_gqa", "model.embed_tokens.weight", DROP},
    {"llama_gqa", "model.norm.weight", DROP},
    {"llama_gqa", "model.layers.0.self_attn.k_proj.weight", RESHAPE},
    {"llama_gqa", "model.layers.1.mlp.up_proj.weight", RESHAPE},
    {"llama_gqa", "model.layers.1.post_attention_layernorm.weight", RESHAPE},
    {"llama_gqa", "model.norm.weight", RETYPE},
    {"llama_gqa", "model.layers.0.self_attn.o_proj.weight", RETYPE},
    {"qwen2_tied_bias", "model.layers.1.self_attn.v_proj.bias", DROP},
    {"qwen2_tied_bias", "model.layers.0.self_attn.q_proj.bias", RESHAPE},
    {"llama_head_dim", "model.layers.0.self_attn.q_proj.weight", RESHAPE},
};

static void copy_file(const char *from_dir, const char *to_dir, const char *name) {
    char *src = eco_path_join(from_dir, name), *dst = eco_path_join(to_dir, name);
    char *data;
    size_t len;
    ECO_ASSERT_OK(eco_read_file(src, 1u << 20, &data, &len));
    eco_test_write_file(dst, data, len);
    free(data);
    free(src);
    free(dst);
}

static void test_bad_tensors(void **state) {
    (void)state;
    for (size_t c = 0; c < sizeof bad_tensor_cases / sizeof bad_tensor_cases[0]; c++) {
        char rel[256];
        snprintf(rel, sizeof rel, "tests/fixtures/model/%s", bad_tensor_cases[c].fixture);
        char *src_dir = eco_test_source_path(rel);
        char *tmp = eco_test_tmpdir();
        copy_file(src_dir, tmp, "config.json");
        eco_weights *w;
        ECO_ASSERT_OK(eco_weights_open(src_dir, &w));
        size_t n = eco_weights_count(w), m = 0;
        eco_tensor *ts = eco_calloc_array(n, sizeof(eco_tensor));
        assert_non_null(ts);
        bool found = false;
        for (size_t i = 0; i < n; i++) {
            eco_tensor t = *eco_weights_get(w, i);
            if (strcmp(t.name, bad_tensor_cases[c].tensor) == 0) {
                found = true;
                if (bad_tensor_cases[c].how == DROP) continue;
                if (bad_tensor_cases[c].how == RETYPE) {
                    assert_int_equal(t.dtype, ECO_DTYPE_F32);
                    t.dtype = ECO_DTYPE_I32; /* same bytes, not a float */
                } else if (t.ndim == 2) {
                    int64_t r = t.shape[0];
                    t.shape[0] = t.shape[1];
                    t.shape[1] = r;
                    if (t.shape[0] == t.shape[1]) { /* square: make it 3-d instead */
                        t.ndim = 3;
                        t.shape[2] = 1;
                    }
                } else {
                    t.ndim = 2; /* [n] → [n/2, 2] */
                    t.shape[1] = 2;
                    t.shape[0] /= 2;
                }
            }
            ts[m++] = t;
        }
        assert_true(found);
        char *path = eco_path_join(tmp, "model.safetensors");
        ECO_ASSERT_OK(eco_safetensors_write(path, ts, m, NULL, 0));
        eco_model *model = NULL;
        eco_status st = eco_model_load(tmp, &model);
        printf("  %-16s %-48s %-8s -> %s: %s\n", bad_tensor_cases[c].fixture,
               bad_tensor_cases[c].tensor,
               bad_tensor_cases[c].how == DROP      ? "drop"
               : bad_tensor_cases[c].how == RESHAPE ? "reshape"
                                                    : "retype",
               eco_status_str(st), eco_last_error());
        assert_int_equal(st, ECO_STATUS_EFORMAT);
        assert_null(model);
        assert_non_null(strstr(eco_last_error(), bad_tensor_cases[c].tensor));
        free(path);
        free(ts);
        eco_weights_close(w);
        eco_test_rmtree(tmp);
        free(tmp);
        free(src_dir);
    }
}

/* ---- presets and random models -------------------------------------------------------- */

static void test_presets(void **state) {
    (void)state;
    static const struct {
        const char *name;
        int64_t V, d, f, L, H, KV, hd;
        bool tied, bias;
    } want[] = {
        {"tiny", 259, 64, 172, 2, 4, 2, 16, true, false},
        {"smollm2-135m", 49152, 576, 1536, 30, 9, 3, 64, true, false},
        {"tinyllama-1.1b", 32000, 2048, 5632, 22, 32, 4, 64, false, false},
        {"qwen2.5-0.5b", 151936, 896, 4864, 24, 14, 2, 64, true, true},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        eco_model_config c;
        ECO_ASSERT_OK(eco_model_preset_config(want[i].name, &c));
        assert_int_equal(c.vocab_size, want[i].V);
        assert_int_equal(c.hidden_size, want[i].d);
        assert_int_equal(c.intermediate_size, want[i].f);
        assert_int_equal(c.n_layers, want[i].L);
        assert_int_equal(c.n_heads, want[i].H);
        assert_int_equal(c.n_kv_heads, want[i].KV);
        assert_int_equal(c.head_dim, want[i].hd);
        assert_int_equal(c.tie_word_embeddings, want[i].tied);
        assert_int_equal(c.qkv_bias, want[i].bias);
        printf("  preset %-16s %lld parameters\n", want[i].name,
               (long long)eco_config_param_count(&c));
    }
    eco_model_config c;
    ECO_ASSERT_OK(eco_model_preset_config("smollm2-135m", &c));
    assert_int_equal(eco_config_param_count(&c), 134515008); /* SmolLM2-135M's published count */
    ECO_ASSERT_OK(eco_model_preset_config("qwen2.5-0.5b", &c));
    assert_int_equal(eco_config_param_count(&c), 494032768); /* Qwen2.5-0.5B */
    ECO_ASSERT_OK(eco_model_preset_config("tinyllama-1.1b", &c));
    assert_int_equal(eco_config_param_count(&c), 1100048384); /* TinyLlama-1.1B */
    ECO_ASSERT_STATUS(eco_model_preset_config("gpt-5", &c), ECO_STATUS_ENOTFOUND);
}

static void file_sha(const char *dir, const char *name, uint8_t out[ECO_SHA256_LEN]) {
    char *p = eco_path_join(dir, name);
    ECO_ASSERT_OK(eco_sha256_file(p, out));
    free(p);
}

static void run_random(const char *dir, const int32_t *tokens, int64_t n, float *logits) {
    eco_model *m;
    ECO_ASSERT_OK(eco_model_load(dir, &m));
    eco_kv_cache *kv;
    ECO_ASSERT_OK(eco_kv_cache_create(m, 32, &kv));
    ECO_ASSERT_OK(eco_model_forward(m, kv, tokens, n, logits, true));
    eco_kv_cache_free(kv);
    eco_model_free(m);
}

/* The logits [n, V] of model folders a and b on the same tokens (*la, *lb malloc'd). */
static void run_random_pair(const char *a, const char *b, const int32_t *tokens, int64_t n,
                            int64_t V, float **la, float **lb) {
    *la = eco_malloc_array((size_t)(n * V), sizeof(float));
    *lb = eco_malloc_array((size_t)(n * V), sizeof(float));
    assert_non_null(*la);
    assert_non_null(*lb);
    run_random(a, tokens, n, *la);
    run_random(b, tokens, n, *lb);
}

/* config.json's num_hidden_layers must match the layers in the weights, both ways, at model
 * load and at training load: fewer used to load and silently ignore the rest. */
static void test_layer_count_mismatch(void **state) {
    (void)state;
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    char *tmp = eco_test_tmpdir();
    char *dir = eco_path_join(tmp, "m");
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 7, ECO_DTYPE_F32, dir));
    eco_model *m = NULL;
    ECO_ASSERT_OK(eco_model_load(dir, &m));
    eco_model_free(m);
    const int64_t L = cfg.n_layers;
    for (int delta = -1; delta <= 1; delta += 2) {
        eco_model_config bad = cfg;
        bad.n_layers = L + delta;
        ECO_ASSERT_OK(eco_config_write(dir, &bad));
        m = NULL;
        ECO_ASSERT_STATUS(eco_model_load(dir, &m), ECO_STATUS_EFORMAT);
        assert_null(m);
        char want[160];
        snprintf(want, sizeof want,
                 "config.json: num_hidden_layers: %lld, but the weights hold %lld layers",
                 (long long)(L + delta), (long long)L);
        if (!strstr(eco_last_error(), want))
            print_error("got '%s', want '%s'\n", eco_last_error(), want);
        assert_non_null(strstr(eco_last_error(), want));
    }
    eco_test_rmtree(tmp);
    free(dir);
    free(tmp);
}

static void test_random_tiny(void **state) {
    (void)state;
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    char *tmp = eco_test_tmpdir();
    char *a = eco_path_join(tmp, "a"), *b = eco_path_join(tmp, "b"), *c = eco_path_join(tmp, "c"),
         *h = eco_path_join(tmp, "h");
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 42, ECO_DTYPE_F32, a));
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 42, ECO_DTYPE_F32, b));
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 43, ECO_DTYPE_F32, c));
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 42, ECO_DTYPE_BF16, h));
    const char *files[] = {"model.safetensors", "config.json", "tokenizer.json"};
    for (size_t i = 0; i < 3; i++) {
        uint8_t ha[ECO_SHA256_LEN], hb[ECO_SHA256_LEN], hc[ECO_SHA256_LEN];
        file_sha(a, files[i], ha);
        file_sha(b, files[i], hb);
        file_sha(c, files[i], hc);
        char hex[ECO_SHA256_HEX_LEN + 1];
        eco_hex(hex, ha, ECO_SHA256_LEN);
        printf("  tiny seed 42 %-18s sha256 %s\n", files[i], hex);
        assert_memory_equal(ha, hb, ECO_SHA256_LEN);
        if (i == 0) assert_memory_not_equal(ha, hc, ECO_SHA256_LEN);
    }

    /* It loads, has the preset's shapes, and runs; the bf16 copy is the f32 one rounded. */
    eco_model *m;
    ECO_ASSERT_OK(eco_model_load(a, &m));
    const eco_model_config *lc = eco_model_get_config(m);
    assert_int_equal(lc->vocab_size, 259);
    assert_int_equal(lc->n_layers, 2);
    assert_true(lc->tie_word_embeddings);
    /* tied, no biases, f32: one decode step reads every parameter once */
    assert_int_equal(eco_model_decode_bytes(m), (size_t)eco_config_param_count(lc) * 4);
    const eco_tensor *q =
        eco_weights_find(eco_model_get_weights(m), "model.layers.0.self_attn.q_proj.weight");
    assert_non_null(q);
    double sum = 0, sum2 = 0;
    size_t nq = eco_tensor_numel(q);
    for (size_t i = 0; i < nq; i++) {
        double v = ((const float *)q->data)[i];
        sum += v;
        sum2 += v * v;
    }
    double std = sqrt(sum2 / (double)nq - (sum / (double)nq) * (sum / (double)nq));
    printf("  tiny q_proj: mean %.5f std %.5f (want 0, 0.02)\n", sum / (double)nq, std);
    assert_true(fabs(std - 0.02) < 0.002);
    assert_true(fabs(sum / (double)nq) < 0.002);
    eco_model_free(m);

    /* another init std scales the matrices (same draws), leaves the norms at 1 */
    char *w = eco_path_join(tmp, "w");
    ECO_ASSERT_OK(eco_model_create_random_std(&cfg, 42, ECO_DTYPE_F32, 0.06, w));
    ECO_ASSERT_STATUS(eco_model_create_random_std(&cfg, 42, ECO_DTYPE_F32, 0, w),
                      ECO_STATUS_EINVAL);
    eco_model *mw, *ma;
    ECO_ASSERT_OK(eco_model_load(w, &mw));
    ECO_ASSERT_OK(eco_model_load(a, &ma));
    const eco_tensor *qw =
        eco_weights_find(eco_model_get_weights(mw), "model.layers.0.self_attn.q_proj.weight");
    const eco_tensor *qa =
        eco_weights_find(eco_model_get_weights(ma), "model.layers.0.self_attn.q_proj.weight");
    for (size_t i = 0; i < 16; i++)
        assert_float_equal(((const float *)qw->data)[i], 3.0f * ((const float *)qa->data)[i], 1e-6);
    const eco_tensor *nw = eco_weights_find(eco_model_get_weights(mw), "model.norm.weight");
    assert_float_equal(((const float *)nw->data)[0], 1.0f, 0);
    eco_model_free(mw);
    eco_model_free(ma);
    free(w);

    /* the folder's tokenizer covers exactly the model's vocabulary */
    eco_tokenizer *tok;
    ECO_ASSERT_OK(eco_tokenizer_load(a, &tok));
    assert_int_equal(eco_tokenizer_vocab_size(tok), 259);
    eco_tokenizer_free(tok);

    int32_t tokens[] = {256, 'H', 'e', 'l', 'l', 'o', 258, 0};
    const int64_t n = 8, V = 259;
    float *la, *lh;
    run_random_pair(a, h, tokens, n, V, &la, &lh);
    for (int64_t i = 0; i < n * V; i++) assert_true(isfinite(la[i]));
    check("tiny random", "bf16 vs f32 logits", eco_test_max_abs_diff(la, lh, (size_t)(n * V)),
          1e-2);

    eco_test_rmtree(tmp);
    free(la);
    free(lh);
    free(a);
    free(b);
    free(c);
    free(h);
    free(tmp);
}

/* 600 tokens, many blocks of keys (ECO_ATTN_KBLOCK up to 512 keys, then longer blocks,
 * eco_attn_kblock): decoding one token at a time (the blocked attention merged across
 * blocks) equals one batched pass within 1e-4, and gives the same bits with 1 thread as
 * with 2 (the blocks do not depend on the thread count). Head sizes 16 (the preset) and
 * 64 (the kernels' 64-column path); and bf16 weights, whose f16 cache takes the grouped
 * kernel (eco_attend_part_group, 2 query heads a kv head), within 2e-2. */
static void test_long_decode(void **state) {
    (void)state;
    char *tmp = eco_test_tmpdir();
    static const char *const names[3] = {"head_dim 16", "head_dim 64", "bf16 head_dim 64"};
    for (int variant = 0; variant < 3; variant++) {
        eco_model_config cfg;
        ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
        if (variant >= 1) cfg.head_dim = 64;
        char *dir = eco_path_join(tmp, variant == 0 ? "hd16" : variant == 1 ? "hd64" : "bf16");
        ECO_ASSERT_OK(eco_model_create_random_std(
            &cfg, 5, variant == 2 ? ECO_DTYPE_BF16 : ECO_DTYPE_F32, 0.08, dir));
        eco_model *m;
        ECO_ASSERT_OK(eco_model_load(dir, &m));
        enum { T = 600 };
        assert_int_equal(eco_attn_kblock(T),
                         2 * ECO_ATTN_KBLOCK); /* the longer blocks are tested */
        assert_int_equal(eco_attn_kblock(150), ECO_ATTN_KBLOCK);
        const int64_t V = cfg.vocab_size;
        int32_t tokens[T];
        for (int i = 0; i < T; i++) tokens[i] = (int32_t)((i * 37 + 11) % 256);
        float *all = eco_malloc_array((size_t)T * (size_t)V, sizeof(float));
        float *one[2] = {eco_malloc_array((size_t)T * (size_t)V, sizeof(float)),
                         eco_malloc_array((size_t)T * (size_t)V, sizeof(float))};
        assert_non_null(all);
        assert_non_null(one[0]);
        assert_non_null(one[1]);
        eco_kv_cache *kv;
        ECO_ASSERT_OK(eco_kv_cache_create(m, T, &kv));
        ECO_ASSERT_OK(eco_model_forward(m, kv, tokens, T, all, true));
        const int saved = omp_get_max_threads();
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(t + 1);
            eco_kv_cache_reset(kv);
            for (int64_t i = 0; i < T; i++)
                ECO_ASSERT_OK(eco_model_forward(m, kv, tokens + i, 1, one[t] + i * V, false));
        }
        omp_set_num_threads(saved);
        /* bf16: the cache keeps f16 keys and values, the batched pass attends in f32 */
        check(names[variant], "600 decode steps vs batched",
              eco_test_max_abs_diff(one[0], all, (size_t)(T * V)), variant == 2 ? 2e-2 : 1e-4);
        assert_memory_equal(one[0], one[1], (size_t)(T * V) * sizeof(float));
        eco_kv_cache_free(kv);
        eco_model_free(m);
        free(all);
        free(one[0]);
        free(one[1]);
        free(dir);
    }
    eco_test_rmtree(tmp);
    free(tmp);
}

/* A one-token step's grouped attention (4 query heads a kv head, f16 cache) needs 4 × keys
 * floats of scratch per thread: a cache of 16 positions decoded from the start (no prompt
 * pass to size the scratch first), on one thread, so that any overrun leaves the block
 * (under ASan, an error); and the steps equal one batched pass within 2e-2. */
static void test_small_cache_grouped(void **state) {
    (void)state;
    char *tmp = eco_test_tmpdir();
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    cfg.head_dim = 64;
    cfg.n_kv_heads = 1;
    char *dir = eco_path_join(tmp, "g4");
    ECO_ASSERT_OK(eco_model_create_random_std(&cfg, 9, ECO_DTYPE_BF16, 0.08, dir));
    eco_model *m;
    ECO_ASSERT_OK(eco_model_load(dir, &m));
    enum { T = 16 };
    const int64_t V = cfg.vocab_size;
    int32_t tokens[T];
    for (int i = 0; i < T; i++) tokens[i] = (int32_t)((i * 53 + 7) % 256);
    float *one = eco_malloc_array((size_t)T * (size_t)V, sizeof(float));
    float *all = eco_malloc_array((size_t)T * (size_t)V, sizeof(float));
    assert_non_null(one);
    assert_non_null(all);
    eco_kv_cache *kv;
    ECO_ASSERT_OK(eco_kv_cache_create(m, T, &kv));
    const int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    for (int64_t i = 0; i < T; i++)
        ECO_ASSERT_OK(eco_model_forward(m, kv, tokens + i, 1, one + i * V, false));
    omp_set_num_threads(saved);
    eco_kv_cache_reset(kv);
    ECO_ASSERT_OK(eco_model_forward(m, kv, tokens, T, all, true));
    check("4 heads a kv head", "16 decode steps vs batched",
          eco_test_max_abs_diff(one, all, (size_t)(T * V)), 2e-2);
    eco_kv_cache_free(kv);
    eco_model_free(m);
    free(one);
    free(all);
    free(dir);
    eco_test_rmtree(tmp);
    free(tmp);
}

/* A file laid out as Hugging Face writes it (header padded to 8 only, so every tensor 8
 * bytes off a cache line) loads with its matrices copied to 64-aligned memory (the model's
 * matrix block, model_load.c), and gives the same logits, bit for bit, prompt and decode,
 * as the same weights aligned in the file. */
static void test_realign_hf_layout(void **state) {
    (void)state;
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    char *tmp = eco_test_tmpdir();
    char *a = eco_path_join(tmp, "a"), *h = eco_path_join(tmp, "h");
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 7, ECO_DTYPE_BF16, a));
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 7, ECO_DTYPE_BF16, h));
    /* h's model.safetensors re-padded: header text kept, spaces to the next multiple of 8 */
    char *path = eco_path_join(h, "model.safetensors");
    char *file;
    size_t flen;
    ECO_ASSERT_OK(eco_read_file(path, (size_t)64 << 20, &file, &flen));
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | (uint8_t)file[i];
    size_t tlen = (size_t)hlen;
    while (tlen > 0 && file[8 + tlen - 1] == ' ') tlen--;
    size_t plen = (tlen + 7) & ~(size_t)7;
    assert_true((8 + plen) % 64 != 0); /* else the test would prove nothing */
    size_t dlen = flen - 8 - (size_t)hlen, nlen = 8 + plen + dlen;
    char *img = malloc(nlen);
    assert_non_null(img);
    for (int i = 0; i < 8; i++) img[i] = (char)((uint64_t)plen >> (8 * i));
    memcpy(img + 8, file + 8, tlen);
    memset(img + 8 + tlen, ' ', plen - tlen);
    memcpy(img + 8 + plen, file + 8 + hlen, dlen);
    ECO_ASSERT_OK(eco_write_file_atomic(path, img, nlen));

    eco_model *mh;
    ECO_ASSERT_OK(eco_model_load(h, &mh));
    const eco_tensor *fq =
        eco_weights_find(eco_model_get_weights(mh), "model.layers.0.self_attn.q_proj.weight");
    assert_non_null(fq);
    assert_true((uintptr_t)fq->data % 64 != 0); /* the file's view: off a line */
    /* what decode reads: every streamed matrix a copy in the model's block, in the order a
     * decode step reads them, each on a 64-byte line; q, k and v back to back */
    const char *lo = mh->matrix_block, *hi = lo + mh->matrix_bytes, *prev = NULL;
    for (int64_t l = 0; l < cfg.n_layers; l++) {
        const eco_layer *ly = &mh->layers[l];
        const eco_tensor *mats[] = {ly->wq, ly->wk, ly->wv, ly->wo, ly->wg, ly->wu, ly->wd};
        for (int i = 0; i < 7; i++) {
            const char *p = mats[i]->data;
            assert_true(p >= lo && p + mats[i]->nbytes <= hi);
            assert_int_equal((uintptr_t)p % 64, 0);
            assert_true(!prev || p > prev);
            prev = p;
        }
        assert_true(ly->qkv_fused);
        assert_ptr_equal(ly->wk->data, (const char *)ly->wq->data + ly->wq->nbytes);
        assert_ptr_equal(ly->wv->data, (const char *)ly->wk->data + ly->wk->nbytes);
    }
    assert_true((const char *)mh->lm_head->data > prev);
    assert_int_equal((uintptr_t)mh->lm_head->data % 64, 0);
    assert_ptr_equal(mh->embed, mh->lm_head); /* tied: the one copy serves both */
    eco_model_free(mh);

    int32_t tokens[] = {256, 'a', 'l', 'i', 'g', 'n', 'e', 'd'};
    const int64_t n = 8, V = 259;
    float *la, *lh;
    run_random_pair(a, h, tokens, n, V, &la, &lh);
    assert_memory_equal(la, lh, (size_t)(n * V) * sizeof(float));
    /* one-token decode steps read the copies through the matvec kernels */
    eco_model *ma;
    ECO_ASSERT_OK(eco_model_load(a, &ma));
    ECO_ASSERT_OK(eco_model_load(h, &mh));
    eco_kv_cache *ka, *kh;
    ECO_ASSERT_OK(eco_kv_cache_create(ma, 16, &ka));
    ECO_ASSERT_OK(eco_kv_cache_create(mh, 16, &kh));
    for (int64_t i = 0; i < n; i++) {
        ECO_ASSERT_OK(eco_model_forward(ma, ka, &tokens[i], 1, la, false));
        ECO_ASSERT_OK(eco_model_forward(mh, kh, &tokens[i], 1, lh, false));
        assert_memory_equal(la, lh, (size_t)V * sizeof(float));
    }
    eco_kv_cache_free(ka);
    eco_kv_cache_free(kh);
    eco_model_free(ma);
    eco_model_free(mh);

    eco_test_rmtree(tmp);
    free(img);
    free(file);
    free(path);
    free(la);
    free(lh);
    free(a);
    free(h);
    free(tmp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llama_gqa),
        cmocka_unit_test(test_qwen2_tied_bias),
        cmocka_unit_test(test_llama3_rope),
        cmocka_unit_test(test_llama_bf16),
        cmocka_unit_test(test_llama_head_dim),
        cmocka_unit_test(test_qwen2_f16),
        cmocka_unit_test(test_kv_store),
        cmocka_unit_test(test_token_range),
        cmocka_unit_test(test_cache_overflow),
        cmocka_unit_test(test_bad_tensors),
        cmocka_unit_test(test_presets),
        cmocka_unit_test(test_small_cache_grouped),
        cmocka_unit_test(test_long_decode),
        cmocka_unit_test(test_random_tiny),
        cmocka_unit_test(test_layer_count_mismatch),
        cmocka_unit_test(test_realign_hf_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
