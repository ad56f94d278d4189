/* engine: the llama CPU engine end to end on a random "tiny" model — determinism, stop
 * conditions, log-probabilities, and agreement with a full recomputation. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/engine.h"
#include "ecology/sampler.h"
#include "ecology/tokenizer_train.h"

static char *tmp;
static char *model_dir;

static int setup(void **state) {
    (void)state;
    tmp = eco_test_tmpdir();
    model_dir = eco_path_join(tmp, "tiny");
    eco_model_config cfg;
    if (eco_model_preset_config("tiny", &cfg) != ECO_STATUS_OK) return -1;
    if (eco_model_create_random(&cfg, 11, ECO_DTYPE_F32, model_dir) != ECO_STATUS_OK) {
        print_error("create: %s\n", eco_last_error());
        return -1;
    }
    return 0;
}

static int teardown(void **state) {
    (void)state;
    eco_test_rmtree(tmp);
    free(model_dir);
    free(tmp);
    return 0;
}

/* First occurrence of needle[nl] in hay[hl], or NULL. */
static const char *find_bytes(const char *hay, size_t hl, const char *needle, size_t nl) {
    for (size_t i = 0; i + nl <= hl; i++)
        if (memcmp(hay + i, needle, nl) == 0) return hay + i;
    return NULL;
}

static void infer(eco_engine *e, const eco_infer_request *req, eco_infer_response *resp) {
    ECO_ASSERT_OK(e->infer(e, req, resp));
}

/* Opens the engine over dir and gives a default request for `prompt`. */
static eco_engine *open_engine(const char *dir, const char *id, eco_infer_request *req,
                               const char *prompt, int max_tokens) {
    eco_engine *e;
    ECO_ASSERT_OK(eco_llama_engine_open(dir, id, &e));
    eco_infer_request_init(req);
    req->prompt = prompt;
    req->max_tokens = max_tokens;
    req->stop_at_eos = false;
    return e;
}

/* The response's text is exactly the decoding of its tokens. */
static void check_text_is_decoding(const eco_engine *e, const eco_infer_response *r) {
    char *text;
    size_t tl;
    ECO_ASSERT_OK(eco_tokenizer_decode(eco_llama_engine_tokenizer(e), r->tokens, r->n_tokens, true,
                                       &text, &tl));
    assert_int_equal(tl, r->text_len);
    assert_memory_equal(text, r->text, tl);
    free(text);
}

/* Every greedy token of r is the argmax of a fresh batched pass (KV cache of kvt) over
 * everything before it, and its log-probability is the log-softmax there. */
static void check_greedy(eco_engine *e, const eco_infer_request *req, const eco_infer_response *r,
                         eco_dtype kvt) {
    eco_model *m = eco_llama_engine_model(e);
    const eco_tokenizer *tok = eco_llama_engine_tokenizer(e);
    int32_t *ids;
    size_t n;
    ECO_ASSERT_OK(eco_tokenizer_encode(tok, req->prompt, strlen(req->prompt), true, &ids, &n));
    int64_t vocab = eco_model_get_config(m)->vocab_size;
    int32_t *seq = malloc((n + r->n_tokens) * sizeof *seq);
    memcpy(seq, ids, n * sizeof *seq);
    memcpy(seq + n, r->tokens, r->n_tokens * sizeof *seq);
    float *logits = malloc((n + r->n_tokens) * (size_t)vocab * sizeof(float));
    eco_kv_cache *kv;
    ECO_ASSERT_OK(eco_kv_cache_create_typed(m, (int64_t)(n + r->n_tokens), kvt, &kv));
    ECO_ASSERT_OK(eco_model_forward(m, kv, seq, (int64_t)(n + r->n_tokens), logits, true));
    for (size_t i = 0; i < r->n_tokens; i++) {
        const float *row = logits + (n - 1 + i) * (size_t)vocab;
        int64_t best = 0;
        for (int64_t j = 1; j < vocab; j++)
            if (row[j] > row[best]) best = j;
        assert_int_equal(r->tokens[i], best);
        double mx = row[best], z = 0;
        for (int64_t j = 0; j < vocab; j++) z += exp((double)row[j] - mx);
        double want = (double)row[best] - mx - log(z);
        if (fabs(want - r->logprobs[i]) > 1e-3) {
            print_error("token %zu: logprob %f, want %f\n", i, r->logprobs[i], want);
            fail();
        }
        assert_true(r->logprobs[i] <= 0);
    }
    check_text_is_decoding(e, r);
    eco_kv_cache_free(kv);
    free(logits);
    free(seq);
    free(ids);
}

static void test_greedy_matches_full_recompute(void **state) {
    (void)state;
    eco_infer_request req;
    eco_engine *e = open_engine(model_dir, "tiny-11", &req, "The cat sat", 12);
    assert_string_equal(e->genome(e)->id, "tiny-11");
    assert_true(e->genome(e)->n_params > 0);
    /* the one genome type: what the engine knows, the rest zero */
    assert_string_equal(e->genome(e)->interface_version, "text-generation@1");
    assert_true(e->genome(e)->bytes >= (uint64_t)e->genome(e)->n_params);
    assert_int_equal(e->genome(e)->files.n, 0);
    assert_null(e->genome(e)->base);
    eco_infer_response r;
    infer(e, &req, &r);
    assert_int_equal(r.n_tokens, 12);
    assert_string_equal(r.finish_reason, "length");
    assert_true(r.n_prompt_tokens == strlen("The cat sat") + 1); /* byte tokens + BOS */
    assert_true(r.prompt_ms >= 0 && r.decode_ms >= 0);

    check_greedy(e, &req, &r, ECO_DTYPE_F32); /* the default for this f32 model */
    eco_infer_response_free(&r);
    eco_engine_destroy(e);
}

/* With the engine's caches in f16 (eco_llama_engine_set_kv_dtype), the greedy tokens are
 * those of a batched pass over an f16 cache; other dtypes are refused. */
static void test_kv_dtype(void **state) {
    (void)state;
    eco_infer_request req;
    eco_engine *e = open_engine(model_dir, NULL, &req, "The cat sat", 12);
    ECO_ASSERT_STATUS(eco_llama_engine_set_kv_dtype(e, ECO_DTYPE_BF16), ECO_STATUS_EINVAL);
    ECO_ASSERT_OK(eco_llama_engine_set_kv_dtype(e, ECO_DTYPE_F16));
    eco_infer_response r;
    infer(e, &req, &r);
    assert_int_equal(r.n_tokens, 12);
    check_greedy(e, &req, &r, ECO_DTYPE_F16);
    eco_infer_response_free(&r);
    eco_engine_destroy(e);
}

static void test_seeded_sampling_reproducible(void **state) {
    (void)state;
    eco_infer_request req;
    eco_engine *e = open_engine(model_dir, NULL, &req, "Once upon a time", 24);
    assert_string_equal(e->genome(e)->id, "tiny");
    req.temperature = 1.0f;
    req.top_k = 40;
    req.top_p = 0.95f;
    req.seed = 1234;
    eco_infer_response a, b, c;
    infer(e, &req, &a);
    infer(e, &req, &b);
    req.seed = 1235;
    infer(e, &req, &c);
    assert_int_equal(a.n_tokens, b.n_tokens);
    assert_memory_equal(a.tokens, b.tokens, a.n_tokens * sizeof *a.tokens);
    assert_memory_equal(a.logprobs, b.logprobs, a.n_tokens * sizeof *a.logprobs);
    assert_true(a.n_tokens != c.n_tokens ||
                memcmp(a.tokens, c.tokens, a.n_tokens * sizeof *a.tokens) != 0);
    eco_infer_response_free(&a);
    eco_infer_response_free(&b);
    eco_infer_response_free(&c);
    eco_engine_destroy(e);
}

/* A stop sequence that ends inside a merged BPE token (a "\n" merged with other bytes is the
 * case that matters for tasks eval): generation stops at that token and the text is cut
 * before the stop, mid-token. A random model over a byte-level BPE tokenizer trained here. */
static void test_stop_inside_merged_token(void **state) {
    (void)state;
    char *dir = eco_path_join(tmp, "bpe"), *corpus = eco_path_join(tmp, "bpe-corpus.txt");
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    eco_test_bpe_model(dir, corpus, &cfg, 300,
                       "the cat sat \nthe hat sat on the mat \nthat cat \nsat sat \n");
    eco_infer_request req;
    eco_engine *e = open_engine(dir, NULL, &req, "the cat", 40);
    const eco_tokenizer *tok = eco_llama_engine_tokenizer(e);
    eco_infer_response full;
    infer(e, &req, &full);
    /* the first generated token of 2+ bytes whose second byte is not in the text before it */
    size_t at = 0, k = 0;
    char stop[2] = {0, 0};
    for (size_t i = 0; i < full.n_tokens && !stop[0]; i++) {
        char *piece;
        size_t pl;
        ECO_ASSERT_OK(eco_tokenizer_decode(tok, &full.tokens[i], 1, true, &piece, &pl));
        if (pl >= 2 && piece[1] && !memchr(full.text, piece[1], at + 1)) {
            stop[0] = piece[1];
            k = i;
        } else {
            at += pl;
        }
        free(piece);
    }
    if (!stop[0]) fail_msg("no merged token in %zu generated tokens", full.n_tokens);
    const char *stops[] = {stop};
    req.stop = stops;
    req.n_stop = 1;
    eco_infer_response r;
    infer(e, &req, &r);
    assert_string_equal(r.finish_reason, "stop");
    assert_int_equal(r.n_tokens, k + 1);  /* stopped at the merged token */
    assert_int_equal(r.text_len, at + 1); /* cut after its first byte, before the stop */
    assert_memory_equal(r.text, full.text, r.text_len);
    eco_infer_response_free(&full);
    eco_infer_response_free(&r);
    eco_engine_destroy(e);
    free(dir), free(corpus);
}

static void test_stop_sequence(void **state) {
    (void)state;
    eco_infer_request req;
    eco_engine *e = open_engine(model_dir, NULL, &req, "abc", 16);
    eco_infer_response full;
    infer(e, &req, &full);
    assert_true(full.text_len >= 8);
    /* stop at the two bytes found at offset 5 of the unconstrained output */
    char stop[3] = {full.text[5], full.text[6], 0};
    if (stop[0] == 0 || stop[1] == 0) skip(); /* a NUL byte cannot be a C-string stop */
    const char *stops[] = {stop};
    req.stop = stops;
    req.n_stop = 1;
    eco_infer_response r;
    infer(e, &req, &r);
    const char *first = find_bytes(full.text, full.text_len, stop, 2);
    assert_non_null(first);
    size_t want = (size_t)(first - full.text);
    assert_int_equal(r.text_len, want);
    assert_memory_equal(r.text, full.text, want);
    assert_string_equal(r.finish_reason, "stop");
    assert_true(r.n_tokens < full.n_tokens);
    eco_infer_response_free(&full);
    eco_infer_response_free(&r);
    eco_engine_destroy(e);
}

static void test_errors(void **state) {
    (void)state;
    eco_engine *e;
    ECO_ASSERT_OK(eco_llama_engine_open(model_dir, NULL, &e));
    eco_infer_request req;
    eco_infer_request_init(&req);
    eco_infer_response r;
    req.prompt = "x";
    req.max_tokens = 0;
    ECO_ASSERT_STATUS(e->infer(e, &req, &r), ECO_STATUS_EINVAL);
    req.max_tokens = 4;
    req.top_p = 0;
    ECO_ASSERT_STATUS(e->infer(e, &req, &r), ECO_STATUS_EINVAL);
    req.top_p = 1;
    req.prompt = "";
    req.add_special = false;
    ECO_ASSERT_STATUS(e->infer(e, &req, &r), ECO_STATUS_EINVAL);
    eco_engine_destroy(e);
    char *missing = eco_path_join(tmp, "missing");
    assert_int_not_equal(eco_llama_engine_open(missing, NULL, &e), ECO_STATUS_OK);
    assert_null(e);
    assert_non_null(strstr(eco_last_error(), "missing"));
    free(missing);
}

/* A random model over a real third-party vocabulary (fetched by scripts/fetch-test-material.sh):
 * the engine encodes with the model's tokenizer.json, adds its BOS the way the
 * post-processor says, and decodes what it generates. */
static void check_real_vocabulary(const char *rel_tokenizer, int64_t vocab, int64_t bos,
                                  int64_t eos, const int32_t *want_prompt, size_t n_want) {
    char *src = eco_test_source_path(rel_tokenizer);
    char *data;
    size_t len;
    ECO_ASSERT_OK(eco_read_file(src, (size_t)64 << 20, &data, &len));
    char *dir = eco_path_join(tmp, "real-vocab");
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    cfg.vocab_size = vocab;
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 5, ECO_DTYPE_BF16, dir));
    cfg.bos_token_id = bos;
    cfg.eos_token_ids[0] = eos;
    cfg.n_eos = 1;
    char *cfg_path = eco_path_join(dir, "config.json"),
         *tok_path = eco_path_join(dir, "tokenizer.json");
    ECO_ASSERT_OK(eco_config_write(cfg_path, &cfg));
    ECO_ASSERT_OK(eco_write_file_atomic(tok_path, data, len));

    eco_infer_request req;
    eco_engine *e = open_engine(dir, NULL, &req, "Hello world!", 10);
    req.temperature = 0.7f;
    req.seed = 3;
    eco_infer_response r;
    infer(e, &req, &r);
    assert_int_equal(r.n_prompt_tokens, n_want);
    int32_t *ids;
    size_t n;
    const eco_tokenizer *tok = eco_llama_engine_tokenizer(e);
    ECO_ASSERT_OK(eco_tokenizer_encode(tok, req.prompt, strlen(req.prompt), true, &ids, &n));
    assert_int_equal(n, n_want);
    assert_memory_equal(ids, want_prompt, n * sizeof *ids);
    free(ids);
    assert_int_equal(r.n_tokens, 10);
    for (size_t i = 0; i < r.n_tokens; i++) assert_true(r.tokens[i] >= 0 && r.tokens[i] < vocab);
    check_text_is_decoding(e, &r);
    eco_infer_response_free(&r);
    eco_engine_destroy(e);
    eco_test_rmtree(dir);
    free(cfg_path);
    free(tok_path);
    free(dir);
    free(data);
    free(src);
}

static void test_sentencepiece_vocabulary(void **state) {
    (void)state;
    const int32_t want[] = {1, 22557, 1526, 28808}; /* Mistral, with BOS */
    check_real_vocabulary(".cache/test-material/llama2/package/models/tokenizer.json", 32000, 1, 2,
                          want, 4);
}

static void test_byte_level_vocabulary(void **state) {
    (void)state;
    const int32_t want[] = {9707, 1879, 0}; /* Qwen3: no BOS in its post-processor */
    check_real_vocabulary(".cache/test-material/qwen3/package/models/tokenizer.json", 151936,
                          151643, 151645, want, 3);
}

/* Generation follows the one context rule (eco_config_check_context): the prompt and every
 * generated token must fit max_position_embeddings; one token more is refused before
 * anything runs, with the message logits and training give too. */
static void test_context_limit(void **state) {
    (void)state;
    char *dir = eco_path_join(tmp, "ctx16");
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    cfg.max_position_embeddings = 16;
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 11, ECO_DTYPE_F32, dir));
    eco_infer_request req;
    eco_engine *e = open_engine(dir, NULL, &req, "0123456789", 5); /* BOS + 10 bytes = 11 */
    eco_infer_response r;
    infer(e, &req, &r);
    assert_int_equal(r.n_prompt_tokens + r.n_tokens, 16);
    eco_infer_response_free(&r);
    req.max_tokens = 6;
    ECO_ASSERT_STATUS(e->infer(e, &req, &r), ECO_STATUS_ERANGE);
    assert_non_null(strstr(eco_last_error(),
                           "prompt of 11 tokens + 6 to generate: 17 positions exceed the "
                           "model's context of 16 (max_position_embeddings in config.json)"));
    assert_null(r.tokens);
    /* marked as a request too long for this model (contracts.h), not a failure of it */
    assert_string_equal(r.finish_reason, "context");
    assert_int_equal(r.n_prompt_tokens, 11);
    eco_infer_response_free(&r);
    req.prompt = "0123456789abcdef"; /* 17 tokens: the prompt alone does not fit */
    req.max_tokens = 1;
    ECO_ASSERT_STATUS(e->infer(e, &req, &r), ECO_STATUS_ERANGE);
    assert_string_equal(r.finish_reason, "context");
    assert_int_equal(r.n_prompt_tokens, 17);
    eco_engine_destroy(e);
    eco_test_rmtree(dir);
    free(dir);
}

/* Writes v over every element of the f32 tensor `name` in dir/model.safetensors. */
static void fill_tensor(const char *dir, const char *name, float v) {
    char *path = eco_path_join(dir, "model.safetensors");
    char *data;
    size_t len;
    ECO_ASSERT_OK(eco_read_file(path, (size_t)1 << 30, &data, &len));
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | (uint8_t)data[i];
    char key[128];
    snprintf(key, sizeof key, "\"%s\"", name);
    char *hdr = strndup(data + 8, (size_t)hlen);
    const char *at = strstr(hdr, key);
    assert_non_null(at);
    at = strstr(at, "\"data_offsets\"");
    assert_non_null(at);
    unsigned long long b = 0, end = 0;
    assert_int_equal(sscanf(at, "\"data_offsets\":[%llu,%llu]", &b, &end), 2);
    for (size_t o = 8 + (size_t)hlen + (size_t)b; o + 4 <= 8 + (size_t)hlen + (size_t)end; o += 4) {
        memcpy(data + o, &v, 4);
    }
    ECO_ASSERT_OK(eco_write_file_atomic(path, data, len));
    free(hdr);
    free(data);
    free(path);
}

/* A model whose weights hold NaN gives an error naming the position of the first
 * non-finite logits, not text made of token 0 with NaN log-probabilities. */
static void test_nonfinite_logits(void **state) {
    (void)state;
    char *dir = eco_path_join(tmp, "nan");
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 11, ECO_DTYPE_F32, dir));
    fill_tensor(dir, "model.norm.weight", NAN);
    eco_infer_request req;
    eco_engine *e = open_engine(dir, NULL, &req, "abc", 4); /* BOS + 3 bytes */
    eco_infer_response r;
    ECO_ASSERT_STATUS(e->infer(e, &req, &r), ECO_STATUS_ERANGE);
    assert_non_null(strstr(eco_last_error(), "logits at position 3 are not finite"));
    assert_null(r.tokens);
    assert_null(r.finish_reason); /* a failure of the model, not a request too long */
    eco_engine_destroy(e);
    eco_test_rmtree(dir);
    free(dir);

    /* Finite activations whose sum of squares overflows f32 (every embedding element 1e20:
     * each norm's output would be 0, every logit equal, the text token 0 with finite
     * log-probabilities): an error naming the position, in the prompt pass and in decode. */
    dir = eco_path_join(tmp, "overflow");
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 11, ECO_DTYPE_F32, dir));
    fill_tensor(dir, "model.embed_tokens.weight", 1e20f);
    e = open_engine(dir, NULL, &req, "abc", 4);
    ECO_ASSERT_STATUS(e->infer(e, &req, &r), ECO_STATUS_ERANGE);
    assert_non_null(strstr(eco_last_error(), "position 3: the hidden state overflows f32"));
    assert_null(r.tokens);
    eco_model *m = NULL;
    ECO_ASSERT_OK(eco_model_load(dir, &m));
    eco_kv_cache *kv = NULL;
    ECO_ASSERT_OK(eco_kv_cache_create(m, 4, &kv));
    float *lg = malloc((size_t)cfg.vocab_size * sizeof(float));
    int32_t tok = 65;
    ECO_ASSERT_STATUS(eco_model_forward(m, kv, &tok, 1, lg, false), ECO_STATUS_ERANGE);
    assert_non_null(strstr(eco_last_error(), "position 0: the hidden state overflows f32"));
    free(lg);
    eco_kv_cache_free(kv);
    eco_model_free(m);
    eco_engine_destroy(e);
    eco_test_rmtree(dir);
    free(dir);

    float ok[3] = {0, -1e30f, 5}, bad[3] = {0, INFINITY, NAN};
    ECO_ASSERT_OK(eco_sampler_check_logits(ok, 3, 0));
    ECO_ASSERT_STATUS(eco_sampler_check_logits(bad, 3, 7), ECO_STATUS_ERANGE);
    assert_non_null(strstr(eco_last_error(), "position 7"));
    assert_non_null(strstr(eco_last_error(), "token 1: inf"));
}

/* on_token (contracts.h): one step per generated token in order, with the token and
 * log-probability the response keeps, the prompt's length, the raw logits (the chosen token
 * their argmax when greedy) and the text so far, a prefix of the final text; returning false
 * ends generation there with finish_reason "cancelled". */
typedef struct steps {
    size_t n, cancel_at, n_prompt;
    int32_t tokens[64];
    float logprobs[64];
    bool argmax_ok, prefix_ok;
    char text[4096];
    size_t text_len;
} steps;

static bool record_step(void *ctx, const eco_infer_step *st) {
    steps *s = ctx;
    assert_int_equal(st->index, s->n);
    s->tokens[s->n] = st->token;
    s->logprobs[s->n] = st->logprob;
    s->n_prompt = st->n_prompt_tokens;
    int64_t best = 0;
    for (int64_t i = 1; i < st->n_logits; i++)
        if (st->logits[i] > st->logits[best]) best = i;
    s->argmax_ok &= best == st->token && st->tokenizer != NULL;
    /* the previous step's text is a prefix of this one's (byte tokenizer: whole bytes) */
    s->prefix_ok &= st->text_len >= s->text_len && memcmp(st->text, s->text, s->text_len) == 0;
    assert_true(st->text_len < sizeof s->text);
    memcpy(s->text, st->text, st->text_len);
    s->text_len = st->text_len;
    s->n++;
    return s->n != s->cancel_at;
}

static void test_on_token(void **state) {
    (void)state;
    eco_infer_request req;
    eco_engine *e = open_engine(model_dir, NULL, &req, "The cat sat", 12);
    eco_infer_response plain, r;
    ECO_ASSERT_OK(e->infer(e, &req, &plain));
    steps s = {.argmax_ok = true, .prefix_ok = true};
    req.on_token = record_step;
    req.on_token_ctx = &s;
    ECO_ASSERT_OK(e->infer(e, &req, &r));
    assert_int_equal(s.n, plain.n_tokens);
    assert_int_equal(r.n_tokens, plain.n_tokens);
    assert_int_equal(s.n_prompt, plain.n_prompt_tokens);
    assert_memory_equal(s.tokens, plain.tokens, plain.n_tokens * sizeof(int32_t));
    assert_memory_equal(s.logprobs, plain.logprobs, plain.n_tokens * sizeof(float));
    assert_true(s.argmax_ok && s.prefix_ok);
    assert_int_equal(s.text_len, plain.text_len);
    assert_memory_equal(s.text, plain.text, plain.text_len);
    assert_string_equal(r.finish_reason, "length");
    eco_infer_response_free(&r);

    steps c = {.cancel_at = 5, .argmax_ok = true, .prefix_ok = true};
    req.on_token_ctx = &c;
    ECO_ASSERT_OK(e->infer(e, &req, &r));
    assert_int_equal(c.n, 5);
    assert_int_equal(r.n_tokens, 5);
    assert_string_equal(r.finish_reason, "cancelled");
    assert_memory_equal(r.tokens, plain.tokens, 5 * sizeof(int32_t));
    eco_infer_response_free(&r);
    eco_infer_response_free(&plain);
    eco_engine_destroy(e);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_greedy_matches_full_recompute),
        cmocka_unit_test(test_kv_dtype),
        cmocka_unit_test(test_seeded_sampling_reproducible),
        cmocka_unit_test(test_stop_sequence),
        cmocka_unit_test(test_on_token),
        cmocka_unit_test(test_stop_inside_merged_token),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_context_limit),
        cmocka_unit_test(test_nonfinite_logits),
        cmocka_unit_test(test_sentencepiece_vocabulary),
        cmocka_unit_test(test_byte_level_vocabulary),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
