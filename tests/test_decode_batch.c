/*
 * Mixed-adapter batching: eco_model_decode_batch (several sequences, each with its own KV
 * cache and its own LoRA adapter or none, one new token each per step) against the same
 * sequences run alone (eco_model_forward_adapter, one token at a time), and the pool's
 * batcher (concurrent infers on one base) against eco_llama_engine_open_adapter alone.
 * Over a random tiny model in bf16 with attention biases (bf16 weights take the prepared-x
 * kernels; the tiny preset's intermediate size is not a multiple of 8, so the LoRA sums'
 * tails run) and random rank-8 adapters on every target. Checked:
 *   - 1, 4 and 16 distinct adapters (and rows on the bare base) in one batch: every row's
 *     logits bit for bit, and so its greedy tokens, equal to its solo run at every step;
 *   - rows joining mid-batch (after their own prompt) and leaving (their last step), a
 *     16-bit cache beside f32 ones;
 *   - a row with a bad token, a full cache, or an adapter of another model gets its own
 *     error and is left out (its cache untouched); the other rows are unaffected;
 *   - argument errors;
 *   - through the pool: threads calling infer at once on engines of 1, 4 and 16 adapters
 *     and the base get exactly eco_llama_engine_open_adapter's responses, the steps were
 *     batched (pool stats), a request cancelled and requests of other lengths leave while
 *     the others go on, a request too long for the context fails alone; with max_batch
 *     below the number of clients, steps of max_batch rows and the same responses.
 */
#include "test_util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/engine.h"
#include "ecology/model.h"
#include "ecology/registry.h"
#include "ecology/runtime.h"

#define N_AD    16
#define CREATED "2026-11-28T00:00:00Z"

typedef struct fixture {
    char *tmp, *base_dir, *other_dir, *data, *key;
    char *ad_dir[N_AD];
    eco_registry *r;
} fixture;

static void make_adapter(const char *dir, const eco_model_config *cfg, uint64_t seed) {
    eco_peft_config pc;
    eco_peft_config_init(&pc);
    pc.r = 8;
    pc.lora_alpha = 16;
    snprintf(pc.base_model_name_or_path, sizeof pc.base_model_name_or_path, "base");
    for (int t = 0; t < ECO_LORA__COUNT; t++) pc.targets[t] = true;
    ECO_ASSERT_OK(eco_lora_adapter_create_random(dir, cfg, &pc, seed, 0.05f));
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->tmp = eco_test_tmpdir();
    f->base_dir = eco_path_join(f->tmp, "base");
    f->other_dir = eco_path_join(f->tmp, "other");
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    cfg.qkv_bias = cfg.o_bias = true;
    ECO_ASSERT_OK(eco_model_create_random(&cfg, 7, ECO_DTYPE_BF16, f->base_dir));
    eco_model_config other = cfg;
    other.n_layers = 1;
    ECO_ASSERT_OK(eco_model_create_random(&other, 8, ECO_DTYPE_BF16, f->other_dir));
    for (int i = 0; i < N_AD; i++) {
        char name[16];
        snprintf(name, sizeof name, "a%d", i);
        f->ad_dir[i] = eco_path_join(f->tmp, name);
        make_adapter(f->ad_dir[i], &cfg, 300 + (uint64_t)i);
    }
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    if (f->r) eco_registry_close(f->r);
    eco_test_rmtree(f->tmp);
    free(f->tmp);
    free(f->base_dir);
    free(f->other_dir);
    free(f->data);
    free(f->key);
    for (int i = 0; i < N_AD; i++) free(f->ad_dir[i]);
    free(f);
    return 0;
}

/* ---- the model's decode step ---------------------------------------------------------- */

#define MAX_STEPS 10
#define PROMPT    9

/* A sequence of the model test: its prompt, adapter, the step it joins at and how many
 * steps it runs. */
typedef struct seq {
    int32_t prompt[PROMPT];
    int n_prompt;
    const eco_model_adapter *ad;
    int join, steps;
    eco_dtype kvt;
    float *want; /* [steps + 1, V] solo logits after the prompt and after each step */
    float *got;  /* [V] */
    eco_kv_cache *kv;
    int32_t next;
} seq;

static int32_t argmax(const float *v, int64_t n) {
    int32_t best = 0;
    for (int64_t i = 1; i < n; i++)
        if (v[i] > v[best]) best = (int32_t)i;
    return best;
}

static void init_seq(seq *s, int i, const eco_model_adapter *ad) {
    memset(s, 0, sizeof *s);
    s->n_prompt = 3 + i % 7;
    for (int k = 0; k < s->n_prompt; k++) s->prompt[k] = (int32_t)(1 + (i * 37 + k * 11) % 250);
    s->ad = ad;
    s->join = i % 3;
    s->steps = MAX_STEPS - s->join - i % 4;
    s->kvt = i % 5 == 4 ? ECO_DTYPE_F16 : ECO_DTYPE_F32;
}

/* The sequence alone: prompt, then greedy one-token forwards; every logits row kept. */
static void solo(eco_model *m, seq *s, int64_t V) {
    eco_kv_cache *kv = NULL;
    ECO_ASSERT_OK(eco_kv_cache_create_typed(m, PROMPT + MAX_STEPS + 1, s->kvt, &kv));
    s->want = malloc((size_t)(s->steps + 1) * (size_t)V * sizeof(float));
    ECO_ASSERT_OK(eco_model_forward_adapter(m, s->ad, kv, s->prompt, s->n_prompt, s->want, false));
    for (int k = 0; k < s->steps; k++) {
        int32_t t = argmax(s->want + (size_t)k * (size_t)V, V);
        ECO_ASSERT_OK(
            eco_model_forward_adapter(m, s->ad, kv, &t, 1, s->want + (size_t)(k + 1) * V, false));
    }
    eco_kv_cache_free(kv);
}

/* n sequences with n_ad distinct adapters (row i: adapter i % n_ad, every fifth row the
 * bare base) decoded in batches; each row's logits compared with its solo run. */
static void run_mixed(eco_model *m, eco_model_adapter **ads, int n, int n_ad) {
    const int64_t V = eco_model_get_config(m)->vocab_size;
    seq *s = calloc((size_t)n, sizeof *s);
    for (int i = 0; i < n; i++) {
        init_seq(&s[i], i, i % 5 == 2 ? NULL : ads[i % n_ad]);
        solo(m, &s[i], V);
        s[i].got = malloc((size_t)V * sizeof(float));
    }
    eco_decode_row *rows = calloc((size_t)n, sizeof *rows);
    int *who = calloc((size_t)n, sizeof *who);
    size_t mismatches = 0;
    int max_rows = 0;
    for (int step = 0; step < MAX_STEPS; step++) {
        int k = 0;
        for (int i = 0; i < n; i++) {
            seq *q = &s[i];
            if (step == q->join) { /* joins: its own prompt, between two steps */
                ECO_ASSERT_OK(eco_kv_cache_create_typed(m, PROMPT + MAX_STEPS + 1, q->kvt, &q->kv));
                ECO_ASSERT_OK(eco_model_forward_adapter(m, q->ad, q->kv, q->prompt, q->n_prompt,
                                                        q->got, false));
                if (memcmp(q->got, q->want, (size_t)V * sizeof(float)) != 0) mismatches++;
            }
            const int done = step - q->join; /* steps this row has run */
            if (done < 0 || done >= q->steps) continue;
            q->next = argmax(q->got, V);
            rows[k] =
                (eco_decode_row){.kv = q->kv, .adapter = q->ad, .token = q->next, .logits = q->got};
            who[k++] = i;
        }
        if (k == 0) continue;
        if (k > max_rows) max_rows = k;
        ECO_ASSERT_OK(eco_model_decode_batch(m, rows, k));
        for (int j = 0; j < k; j++) {
            seq *q = &s[who[j]];
            ECO_ASSERT_OK(rows[j].status);
            const int done = step - q->join + 1;
            if (memcmp(q->got, q->want + (size_t)done * (size_t)V, (size_t)V * sizeof(float)) !=
                0) {
                double worst = 0;
                const float *w = q->want + (size_t)done * (size_t)V;
                for (int64_t v = 0; v < V; v++) {
                    double dv = (double)q->got[v] - (double)w[v];
                    if (dv < 0) dv = -dv;
                    if (dv > worst) worst = dv;
                }
                print_error("%d adapters: row %d step %d: logits differ from its solo run "
                            "(largest difference %g)\n",
                            n_ad, who[j], done, worst);
                mismatches++;
            }
        }
    }
    printf("%d distinct adapters, %d sequences, up to %d rows a step: %zu mismatches\n", n_ad, n,
           max_rows, mismatches);
    assert_int_equal(mismatches, 0);
    assert_true(max_rows >= n - 2);
    for (int i = 0; i < n; i++) {
        free(s[i].want);
        free(s[i].got);
        eco_kv_cache_free(s[i].kv);
    }
    free(s);
    free(rows);
    free(who);
}

static eco_model_adapter **load_adapters(fixture *f, eco_model *m) {
    eco_model_adapter **ads = calloc(N_AD, sizeof *ads);
    for (int i = 0; i < N_AD; i++) {
        eco_lora_adapter *a = NULL;
        ECO_ASSERT_OK(eco_lora_adapter_load(f->ad_dir[i], eco_model_get_config(m), &a));
        ECO_ASSERT_OK(eco_model_adapter_create(m, a, &ads[i]));
        eco_lora_adapter_free(a);
    }
    return ads;
}

static void test_mixed_batches(void **state) {
    fixture *f = *state;
    eco_model *m = NULL;
    ECO_ASSERT_OK(eco_model_load(f->base_dir, &m));
    eco_model_adapter **ads = load_adapters(f, m);
    /* adapters change the logits (else equal outputs would prove nothing) */
    {
        const int64_t V = eco_model_get_config(m)->vocab_size;
        float *a = malloc((size_t)V * sizeof(float)), *b = malloc((size_t)V * sizeof(float));
        const int32_t t[3] = {5, 77, 120};
        eco_kv_cache *kv = NULL;
        ECO_ASSERT_OK(eco_kv_cache_create(m, 8, &kv));
        ECO_ASSERT_OK(eco_model_forward_adapter(m, NULL, kv, t, 3, a, false));
        eco_kv_cache_reset(kv);
        ECO_ASSERT_OK(eco_model_forward_adapter(m, ads[0], kv, t, 3, b, false));
        assert_true(memcmp(a, b, (size_t)V * sizeof(float)) != 0);
        eco_kv_cache_free(kv);
        free(a);
        free(b);
    }
    run_mixed(m, ads, 6, 1);
    run_mixed(m, ads, 12, 4);
    run_mixed(m, ads, 20, 16);
    for (int i = 0; i < N_AD; i++) eco_model_adapter_free(ads[i]);
    free(ads);
    eco_model_free(m);
}

static void test_row_errors(void **state) {
    fixture *f = *state;
    eco_model *m = NULL, *other = NULL;
    ECO_ASSERT_OK(eco_model_load(f->base_dir, &m));
    ECO_ASSERT_OK(eco_model_load(f->other_dir, &other));
    eco_model_adapter **ads = load_adapters(f, m);
    eco_model_adapter *foreign = NULL;
    { /* an adapter of a model of other shapes: the one-layer model refuses this one */
        eco_lora_adapter *a = NULL;
        eco_model_config c1 = *eco_model_get_config(other);
        char *d = eco_path_join(f->tmp, "foreign");
        eco_peft_config pc;
        eco_peft_config_init(&pc);
        pc.targets[ECO_LORA_Q] = true;
        ECO_ASSERT_OK(eco_lora_adapter_create_random(d, &c1, &pc, 9, 0.05f));
        ECO_ASSERT_OK(eco_lora_adapter_load(d, &c1, &a));
        ECO_ASSERT_OK(eco_model_adapter_create(other, a, &foreign));
        eco_lora_adapter_free(a);
        free(d);
    }
    const int64_t V = eco_model_get_config(m)->vocab_size;
    enum { N = 5 };
    eco_kv_cache *kv[N];
    float *lg[N], *want[2];
    const int32_t prompt[4] = {3, 14, 15, 92};
    for (int i = 0; i < N; i++) {
        ECO_ASSERT_OK(eco_kv_cache_create(m, i == 2 ? 4 : 16, &kv[i]));
        lg[i] = malloc((size_t)V * sizeof(float));
        ECO_ASSERT_OK(eco_model_forward_adapter(m, ads[i], kv[i], prompt, 4, lg[i], false));
    }
    /* the good rows alone */
    for (int g = 0; g < 2; g++) {
        const int i = g == 0 ? 0 : 4;
        eco_kv_cache *k1 = NULL;
        ECO_ASSERT_OK(eco_kv_cache_create(m, 16, &k1));
        want[g] = malloc((size_t)V * sizeof(float));
        ECO_ASSERT_OK(eco_model_forward_adapter(m, ads[i], k1, prompt, 4, want[g], false));
        const int32_t t = 42;
        ECO_ASSERT_OK(eco_model_forward_adapter(m, ads[i], k1, &t, 1, want[g], false));
        eco_kv_cache_free(k1);
    }
    eco_decode_row rows[N] = {
        {.kv = kv[0], .adapter = ads[0], .token = 42, .logits = lg[0]},
        {.kv = kv[1], .adapter = ads[1], .token = (int32_t)V, .logits = lg[1]}, /* bad token */
        {.kv = kv[2], .adapter = ads[2], .token = 42, .logits = lg[2]},         /* cache full */
        {.kv = kv[3], .adapter = foreign, .token = 42, .logits = lg[3]},        /* wrong model */
        {.kv = kv[4], .adapter = ads[4], .token = 42, .logits = lg[4]},
    };
    ECO_ASSERT_OK(eco_model_decode_batch(m, rows, N));
    ECO_ASSERT_OK(rows[0].status);
    ECO_ASSERT_OK(rows[4].status);
    assert_int_equal(rows[1].status, ECO_STATUS_ERANGE);
    assert_int_equal(rows[2].status, ECO_STATUS_ERANGE);
    assert_int_equal(rows[3].status, ECO_STATUS_EINVAL);
    assert_int_equal(kv[1]->len, 4);
    assert_int_equal(kv[2]->len, 4);
    assert_int_equal(kv[3]->len, 4);
    assert_int_equal(kv[0]->len, 5);
    assert_memory_equal(lg[0], want[0], (size_t)V * sizeof(float));
    assert_memory_equal(lg[4], want[1], (size_t)V * sizeof(float));
    /* the batch's own errors */
    ECO_ASSERT_STATUS(eco_model_decode_batch(NULL, rows, 1), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_model_decode_batch(m, NULL, 1), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_model_decode_batch(m, rows, 0), ECO_STATUS_EINVAL);
    eco_decode_row twice[2] = {rows[0], rows[0]};
    ECO_ASSERT_STATUS(eco_model_decode_batch(m, twice, 2), ECO_STATUS_EINVAL);
    assert_int_equal(kv[0]->len, 5);
    ECO_ASSERT_STATUS(eco_model_forward_adapter(m, foreign, kv[0], prompt, 1, lg[0], false),
                      ECO_STATUS_EINVAL);
    for (int i = 0; i < N; i++) {
        eco_kv_cache_free(kv[i]);
        free(lg[i]);
    }
    free(want[0]);
    free(want[1]);
    eco_model_adapter_free(foreign);
    for (int i = 0; i < N_AD; i++) eco_model_adapter_free(ads[i]);
    free(ads);
    eco_model_free(other);
    eco_model_free(m);
}

/* ---- through the pool ----------------------------------------------------------------- */

#define N_THREADS 16

typedef struct client {
    eco_engine *e;
    const char *prompt;
    int max_tokens, cancel_at; /* cancel_at: on_token returns false at this index (-1: never) */
    pthread_barrier_t *gate;   /* every client waits here at its first token */
    eco_infer_response want, got;
    eco_status st;
} client;

static bool on_token(void *ctx, const eco_infer_step *step) {
    client *c = ctx;
    if (step->index == 0) pthread_barrier_wait(c->gate);
    return (int)step->index != c->cancel_at;
}

static eco_infer_request client_request(client *c) {
    eco_infer_request q;
    eco_infer_request_init(&q);
    q.prompt = c->prompt;
    q.max_tokens = c->max_tokens;
    q.stop_at_eos = false;
    q.on_token = on_token;
    q.on_token_ctx = c;
    return q;
}

static void *client_run(void *arg) {
    client *c = arg;
    eco_infer_request q = client_request(c);
    c->st = c->e->infer(c->e, &q, &c->got);
    return NULL;
}

static bool on_token_solo(void *ctx, const eco_infer_step *step) {
    const client *c = ctx;
    return (int)step->index != c->cancel_at;
}

static void add(fixture *f, const char *dir, const char *id, const char *base) {
    eco_add_options o = {.id = id, .base = base, .sign_key = f->key, .created_at = CREATED};
    ECO_ASSERT_OK(eco_registry_add_dir(f->r, dir, &o, NULL));
}

/* max_batch: the pool's (0: the default) */
static void pool_round(fixture *f, eco_pool *p, int n_ad, size_t max_batch) {
    static const char *const prompts[] = {"mixed",
                                          "adapters",
                                          "batched together, one pass",
                                          "x",
                                          "over the base's weights",
                                          "rows",
                                          "greedy",
                                          "bit for bit"};
    client c[N_THREADS];
    pthread_t t[N_THREADS];
    pthread_barrier_t gate;
    pthread_barrier_init(&gate, NULL, N_THREADS);
    for (int i = 0; i < N_THREADS; i++) {
        memset(&c[i], 0, sizeof c[i]);
        const bool bare = i % 7 == 6;
        char id[16];
        snprintf(id, sizeof id, "a%d", i % n_ad);
        ECO_ASSERT_OK(eco_pool_acquire(p, bare ? "base" : id, &c[i].e));
        c[i].prompt = prompts[i % 8];
        c[i].max_tokens = 6 + i % 5;
        c[i].cancel_at = i == 3 ? 2 : -1;
        c[i].gate = &gate;
        /* the reference: the same request on its own engine, alone */
        eco_engine *solo = NULL;
        ECO_ASSERT_OK(eco_llama_engine_open_adapter(f->base_dir, bare ? NULL : f->ad_dir[i % n_ad],
                                                    NULL, &solo));
        eco_infer_request q = client_request(&c[i]);
        q.on_token = on_token_solo;
        ECO_ASSERT_OK(solo->infer(solo, &q, &c[i].want));
        eco_engine_destroy(solo);
    }
    eco_pool_stats s0;
    eco_pool_get_stats(p, &s0);
    for (int i = 0; i < N_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, client_run, &c[i]), 0);
    /* a request too long for the context, meanwhile: fails alone */
    {
        eco_engine *e = NULL;
        ECO_ASSERT_OK(eco_pool_acquire(p, "a0", &e));
        eco_infer_request q;
        eco_infer_request_init(&q);
        q.prompt = "too long";
        q.max_tokens = 5000;
        eco_infer_response r;
        ECO_ASSERT_STATUS(e->infer(e, &q, &r), ECO_STATUS_ERANGE);
        assert_string_equal(r.finish_reason, "context");
        eco_pool_release(p, e);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(t[i], NULL);
        ECO_ASSERT_OK(c[i].st);
        const eco_infer_response *a = &c[i].got, *b = &c[i].want;
        if (a->n_tokens != b->n_tokens || strcmp(a->finish_reason, b->finish_reason) != 0 ||
            memcmp(a->tokens, b->tokens, a->n_tokens * sizeof *a->tokens) != 0 ||
            memcmp(a->logprobs, b->logprobs, a->n_tokens * sizeof *a->logprobs) != 0 ||
            a->text_len != b->text_len || memcmp(a->text, b->text, a->text_len) != 0) {
            print_error("%d adapters: client %d: batched response differs from its solo one "
                        "(%zu vs %zu tokens, %s vs %s)\n",
                        n_ad, i, a->n_tokens, b->n_tokens, a->finish_reason, b->finish_reason);
            fail();
        }
        if (i == 3) { /* cancelled at its third token, the others went on */
            assert_string_equal(a->finish_reason, "cancelled");
            assert_int_equal(a->n_tokens, 3);
        } else {
            assert_string_equal(a->finish_reason, "length");
            assert_int_equal(a->n_tokens, (size_t)c[i].max_tokens);
        }
        eco_infer_response_free(&c[i].got);
        eco_infer_response_free(&c[i].want);
        eco_pool_release(p, c[i].e);
    }
    eco_pool_stats s1;
    eco_pool_get_stats(p, &s1);
    const uint64_t steps = s1.decode_steps - s0.decode_steps,
                   rows = s1.decode_rows - s0.decode_rows;
    printf("pool, %d distinct adapters: %d clients, %llu rows in %llu steps\n", n_ad, N_THREADS,
           (unsigned long long)rows, (unsigned long long)steps);
    /* every client holds the first token until all have one: from then on they decode
     * together, so the steps are far fewer than the rows; never more than max_batch rows */
    assert_true(steps > 0);
    if (max_batch)
        assert_true(rows <= max_batch * steps && rows >= (max_batch - 1) * steps);
    else
        assert_true(rows >= 4 * steps);
    pthread_barrier_destroy(&gate);
}

static void test_pool_threads(void **state) {
    fixture *f = *state;
    f->data = eco_path_join(f->tmp, "data");
    f->key = eco_test_registry_with_key(f->data, &f->r);
    add(f, f->base_dir, "base", NULL);
    for (int i = 0; i < N_AD; i++) {
        char id[16];
        snprintf(id, sizeof id, "a%d", i);
        add(f, f->ad_dir[i], id, "base");
    }
    eco_pool *p = NULL;
    ECO_ASSERT_OK(eco_pool_create(f->r, NULL, &p));
    pool_round(f, p, 1, 0);
    pool_round(f, p, 4, 0);
    pool_round(f, p, 16, 0);
    eco_pool_stats s;
    eco_pool_get_stats(p, &s);
    assert_int_equal(s.bases, 1);
    eco_pool_destroy(p);
    /* more clients than a step takes: steps of max_batch rows, those waiting longest first */
    eco_pool_options o = {.max_batch = 3};
    ECO_ASSERT_OK(eco_pool_create(f->r, &o, &p));
    pool_round(f, p, 16, 3);
    eco_pool_destroy(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mixed_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_row_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
