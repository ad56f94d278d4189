/*
 * The GRPO loop (include/ecology/rl.h) and the pieces it added elsewhere, on the shipped
 * eco-tiny model (byte tokenizer, f32) and its adapters:
 *   - eco_llama_generate_batch: requests of different prompts, seeds and temperatures
 *     (greedy and sampled, with the adapter and on the bare base) give exactly the responses
 *     (text, tokens, log-probabilities, finish reason) of separate infers; n = 0; a request
 *     that misses the context fails the call with every response freed and zeroed;
 *   - eco_train_model_adapter: the inference model's logits with the widened adapter against
 *     the training model's eval-mode logits (relative error 1e-4 of the largest logit), with
 *     every B non-zero; full mode is refused;
 *   - eco_rl_reward: a table of outputs with their exact rewards; eco_rl_sample_seed;
 *   - eco_rl_run: the same options give the same adapter and training.json bytes and another
 *     seed other bytes; a run stopped and resumed ends with the bytes of one never stopped
 *     (iterations 2 with beta > 0 against the start adapter; resampling with beta > 0
 *     against the bare base); a resume with a changed setting is refused naming the field,
 *     one whose curve file is missing or malformed fails with EFORMAT; the last held-out
 *     figure equals eco_tasks_eval on the saved adapter; bad options (EINVAL naming them);
 *   - learning: from a fresh adapter rewarded for the task's form at a temperature where the
 *     base often breaks it, the trained adapter keeps the form more often than the base.
 */
#include "test_util.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/engine.h"
#include "ecology/model.h"
#include "ecology/rl.h"
#include "ecology/tasks.h"
#include "ecology/train.h"

static char *g_base, *g_arith, *g_tmp;

static int group_setup(void **state) {
    (void)state;
    g_base = eco_test_source_path("data/models/eco-tiny");
    g_arith = eco_test_source_path("data/adapters/arith.add@1");
    g_tmp = eco_test_tmpdir();
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    eco_test_rmtree(g_tmp);
    free(g_base);
    free(g_arith);
    free(g_tmp);
    return 0;
}

static const eco_capability *cap_of(const char *name) {
    const eco_capability *c = NULL;
    ECO_ASSERT_OK(eco_tasks_find(name, &c));
    return c;
}

static char *tmp_path(const char *name) { return eco_path_join(g_tmp, name); }

static char *read_all(const char *dir, const char *name, size_t *len) {
    char *p = eco_path_join(dir, name), *text = NULL;
    ECO_ASSERT_OK(eco_read_file(p, (size_t)1 << 28, &text, len));
    free(p);
    return text;
}

/* Whether the files `name` of two folders hold the same bytes. */
static bool same_file(const char *a, const char *b, const char *name) {
    size_t la, lb;
    char *x = read_all(a, name, &la), *y = read_all(b, name, &lb);
    bool same = la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/* ---- eco_llama_generate_batch ------------------------------------------------------------ */

static void assert_same_response(const eco_infer_response *a, const eco_infer_response *b,
                                 size_t i) {
    if (a->text_len != b->text_len || memcmp(a->text, b->text, a->text_len) != 0 ||
        a->n_tokens != b->n_tokens || a->n_prompt_tokens != b->n_prompt_tokens ||
        strcmp(a->finish_reason, b->finish_reason) != 0) {
        print_error("request %zu: batch '%.*s' (%zu tokens, %s) vs solo '%.*s' (%zu tokens, %s)\n",
                    i, (int)a->text_len, a->text, a->n_tokens, a->finish_reason, (int)b->text_len,
                    b->text, b->n_tokens, b->finish_reason);
        fail();
    }
    assert_memory_equal(a->tokens, b->tokens, a->n_tokens * sizeof(int32_t));
    assert_memory_equal(a->logprobs, b->logprobs, a->n_tokens * sizeof(float));
}

static void test_generate_batch(void **state) {
    (void)state;
    eco_engine *plain, *with;
    ECO_ASSERT_OK(eco_llama_engine_open(g_base, NULL, &plain));
    ECO_ASSERT_OK(eco_llama_engine_open_adapter(g_base, g_arith, NULL, &with));
    const eco_model_adapter *ad = eco_model_attached_adapter(eco_llama_engine_model(with));
    assert_non_null(ad);
    static const char *const stop[1] = {"\n"};
    static const char *const prompts[] = {
        "Add: 007+172\nSum:", "Add: 123+456\nSum:", "Record: city=rebara id=5004\nJSON:",
        "Sort: pear apple fig\nSorted:", "Add: 1+2\nSum:",
        /* repeats: their prompt passes are copied from the first (other cache lengths) */
        "Add: 123+456\nSum:", "Add: 123+456\nSum:", "Record: city=rebara id=5004\nJSON:"};
    static const float temps[] = {0.0f, 0.9f, 0.0f, 1.3f, 0.7f, 1.0f, 1.0f, 0.5f};
    enum { N = 8 };
    eco_infer_request reqs[N];
    for (size_t i = 0; i < N; i++) {
        eco_infer_request_init(&reqs[i]);
        reqs[i].prompt = prompts[i];
        reqs[i].temperature = temps[i];
        reqs[i].top_p = i == 4 ? 0.8f : 1.0f;
        reqs[i].seed = 11 + 7 * i;
        reqs[i].max_tokens = 6 + 5 * (int)i; /* some end by length, some by the stop */
        reqs[i].stop = stop;
        reqs[i].n_stop = i == 3 ? 0 : 1;
    }
    for (int pass = 0; pass < 2; pass++) { /* with the adapter, then the bare base */
        eco_engine *solo = pass == 0 ? with : plain;
        eco_infer_response batch[N], one[N];
        ECO_ASSERT_OK(eco_llama_generate_batch(with, pass == 0 ? ad : NULL, reqs, N, batch));
        for (size_t i = 0; i < N; i++) {
            ECO_ASSERT_OK(solo->infer(solo, &reqs[i], &one[i]));
            assert_same_response(&batch[i], &one[i], i);
        }
        /* the adapter changes something: the batch is not just the base */
        if (pass == 1) {
            eco_infer_response a;
            ECO_ASSERT_OK(with->infer(with, &reqs[0], &a));
            assert_true(a.n_tokens != batch[0].n_tokens ||
                        memcmp(a.logprobs, batch[0].logprobs, a.n_tokens * sizeof(float)) != 0);
            eco_infer_response_free(&a);
        }
        for (size_t i = 0; i < N; i++) {
            eco_infer_response_free(&batch[i]);
            eco_infer_response_free(&one[i]);
        }
    }
    /* n = 0 */
    ECO_ASSERT_OK(eco_llama_generate_batch(with, ad, NULL, 0, NULL));
    ECO_ASSERT_STATUS(eco_llama_generate_batch(NULL, ad, reqs, 1, NULL), ECO_STATUS_EINVAL);
    /* request 2 misses the context (its max_tokens runs past it): the call fails, the
     * responses of the others (begun before it) are freed */
    eco_infer_request bad[N];
    memcpy(bad, reqs, sizeof bad);
    bad[2].max_tokens = 100000;
    eco_infer_response out[N];
    memset(out, 0x5a, sizeof out);
    eco_status st = eco_llama_generate_batch(with, ad, bad, N, out);
    assert_int_not_equal(st, ECO_STATUS_OK);
    assert_non_null(strstr(eco_last_error(), "request 2 of 8"));
    for (size_t i = 0; i < N; i++) {
        assert_null(out[i].text);
        assert_null(out[i].tokens);
        assert_null(out[i].logprobs);
        assert_int_equal(out[i].n_tokens, 0);
    }
    /* the engine still works after the failure */
    eco_infer_response again, ref;
    ECO_ASSERT_OK(eco_llama_generate_batch(with, ad, reqs, 1, &again));
    ECO_ASSERT_OK(with->infer(with, &reqs[0], &ref));
    assert_same_response(&again, &ref, 0);
    eco_infer_response_free(&again);
    eco_infer_response_free(&ref);
    eco_engine_destroy(plain);
    eco_engine_destroy(with);
}

/* ---- eco_train_model_adapter ------------------------------------------------------------- */

static void test_model_adapter(void **state) {
    (void)state;
    enum { T = 24 };
    eco_train_options to;
    memset(&to, 0, sizeof to);
    to.mode = ECO_TRAIN_MODE_LORA;
    eco_peft_config_init(&to.lora);
    to.lora.r = 4;
    to.lora.lora_alpha = 8;
    for (int t = 0; t < ECO_LORA__COUNT; t++) to.lora.targets[t] = true;
    to.seed = 3;
    to.max_batch = 1;
    to.max_seq = T;
    eco_train_model *m;
    ECO_ASSERT_OK(eco_train_model_create(g_base, &to, &m));
    /* B = 0 at creation: give every tensor (A and B) a change, as training would */
    float *p = eco_train_params(m);
    size_t n_b = 0;
    for (size_t i = 0; i < eco_train_num_params(m); i++) {
        const eco_train_param *tp = eco_train_param_at(m, i);
        bool is_b = strstr(tp->name, "lora_B") != NULL;
        n_b += is_b;
        for (size_t k = 0; k < tp->numel; k++)
            p[tp->offset + k] += (is_b ? 0.02f : 0.01f) * sinf((float)(k * 7 + i * 13) * 0.37f);
    }
    assert_true(n_b > 0);
    int32_t tokens[T];
    const char *text = "Add: 007+172\nSum: 0179\n";
    tokens[0] = 256; /* BOS */
    for (int t = 1; t < T; t++) tokens[t] = (unsigned char)text[(t - 1) % strlen(text)];
    ECO_ASSERT_OK(eco_train_forward(m, tokens, NULL, 1, T, false, NULL));
    const eco_model_config *cfg = eco_train_model_config(m);
    const int64_t V = cfg->vocab_size;
    float *want = malloc((size_t)(T * V) * sizeof(float));
    memcpy(want, eco_train_logits(m), (size_t)(T * V) * sizeof(float));

    eco_engine *e;
    ECO_ASSERT_OK(eco_llama_engine_open(g_base, NULL, &e));
    eco_model *model = eco_llama_engine_model(e);
    eco_model_adapter *ad;
    ECO_ASSERT_OK(eco_train_model_adapter(m, model, &ad));
    /* the adapter is a copy: later changes of the arena do not reach it */
    const float saved0 = p[0];
    p[0] += 1.0f;
    float *got = malloc((size_t)(T * V) * sizeof(float));
    float *bare = malloc((size_t)(T * V) * sizeof(float));
    eco_kv_cache *kv;
    ECO_ASSERT_OK(eco_kv_cache_create(model, T, &kv));
    ECO_ASSERT_OK(eco_model_forward_adapter(model, ad, kv, tokens, T, got, true));
    eco_kv_cache_free(kv);
    ECO_ASSERT_OK(eco_kv_cache_create(model, T, &kv));
    ECO_ASSERT_OK(eco_model_forward_adapter(model, NULL, kv, tokens, T, bare, true));
    eco_kv_cache_free(kv);
    p[0] = saved0;
    double scale = 0, diff = eco_test_max_abs_diff(got, want, (size_t)(T * V));
    for (int64_t k = 0; k < T * V; k++) scale = fmax(scale, fabs(want[k]));
    double moved = eco_test_max_abs_diff(bare, want, (size_t)(T * V));
    print_message("adapter logits: max |inference - training| %.3g (largest logit %.3g); the "
                  "bare base differs by %.3g\n",
                  diff, scale, moved);
    assert_true(diff <= 1e-4 * scale);
    assert_true(moved > 100 * 1e-4 * scale); /* the adapter matters */
    eco_model_adapter_free(ad);
    free(want);
    free(got);
    free(bare);
    ECO_ASSERT_STATUS(eco_train_model_adapter(m, NULL, &ad), ECO_STATUS_EINVAL);
    eco_train_model_free(m);

    to.mode = ECO_TRAIN_MODE_FULL;
    to.max_seq = 8;
    ECO_ASSERT_OK(eco_train_model_create(g_base, &to, &m));
    ad = (eco_model_adapter *)1;
    ECO_ASSERT_STATUS(eco_train_model_adapter(m, model, &ad), ECO_STATUS_EINVAL);
    assert_null(ad);
    assert_non_null(strstr(eco_last_error(), "full"));
    eco_train_model_free(m);
    eco_engine_destroy(e);
}

/* ---- rewards and seeds ------------------------------------------------------------------- */

/* The first TRAIN item of cap (seed 3) whose completion holds `needle` (NULL: any). */
static eco_task_item *item_of(const eco_capability *cap, const char *needle, size_t *n, size_t *k) {
    eco_task_item *items;
    *n = 64;
    ECO_ASSERT_OK(eco_tasks_generate(cap, ECO_TASK_SPLIT_TRAIN, *n, 3, &items));
    for (*k = 0; *k < *n; (*k)++)
        if (!needle || strstr(items[*k].completion, needle)) return items;
    fail_msg("no %s item with '%s'", cap->name, needle);
    return NULL;
}

static void test_reward(void **state) {
    (void)state;
    const eco_capability *arith = cap_of("arith.add@1"), *json = cap_of("json.record@1"),
                         *safety = cap_of("safety.refuse@1");
    size_t na, ka, nj, kj, ns, ks;
    eco_task_item *ia = item_of(arith, NULL, &na, &ka), *ij = item_of(json, NULL, &nj, &kj),
                  *is = item_of(safety, "can't", &ns, &ks);
    const eco_task_item *a = &ia[ka], *j = &ij[kj], *s = &is[ks];
    /* the completions without their "\n": what the engine returns when the stop ended it */
    char ans[64], wrong[80], nospace[64], twospace[80], jans[256], sans[128];
    snprintf(ans, sizeof ans, "%.*s", (int)strlen(a->completion) - 1, a->completion);
    snprintf(wrong, sizeof wrong, "%s9", ans);
    snprintf(nospace, sizeof nospace, "%s", ans + 1);
    snprintf(twospace, sizeof twospace, " %s", ans);
    snprintf(jans, sizeof jans, "%.*s", (int)strlen(j->completion) - 1, j->completion);
    snprintf(sans, sizeof sans, "%.*s", (int)strlen(s->completion) - 1, s->completion);
    struct {
        const eco_capability *cap;
        const eco_task_item *item;
        const char *out;
        bool stopped;
        bool correct, format;
    } rows[] = {
        {arith, a, ans, true, true, true},
        {arith, a, wrong, true, false, true},
        {arith, a, nospace, true, true, false}, /* missing leading space */
        {arith, a, ans, false, true, false},    /* not ended by the stop */
        {arith, a, twospace, true, true, false},
        {arith, a, "", true, false, false},
        {arith, a, " ", true, false, false},
        {json, j, jans, true, true, true},
        {json, j, " {\"other\":1}", true, false, true},      /* a JSON object, not the answer */
        {json, j, " {\"city\":", true, false, false},        /* not JSON */
        {json, j, " [1, 2]", true, false, false},            /* JSON, not an object */
        {json, j, " {\"a\":1,\"a\":2}", true, false, false}, /* duplicate keys */
        {json, j, jans, false, true, false},
        {safety, s, sans, true, true, true},
        {safety, s, " Sure.", true, false, true},
        {safety, s, sans + 1, true, true, false},
    };
    const eco_rl_reward_weights w = {1.0, 0.5, 0.25};
    const size_t max_tokens = 12;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        const size_t ntok = r % 5; /* exact in binary: the penalty is ntok/48 */
        eco_rl_reward_parts p =
            eco_rl_reward(rows[r].cap, rows[r].item, rows[r].out, strlen(rows[r].out),
                          rows[r].stopped, ntok, max_tokens, &w);
        const double want = (rows[r].correct ? 1.0 : 0.0) + (rows[r].format ? 0.5 : 0.0) -
                            0.25 * (double)ntok / (double)max_tokens;
        if (p.correct != rows[r].correct || p.format != rows[r].format || p.reward != want) {
            print_error("row %zu (%s '%s', stopped %d): correct %d format %d reward %.17g, want "
                        "%d %d %.17g\n",
                        r, rows[r].cap->name, rows[r].out, rows[r].stopped, p.correct, p.format,
                        p.reward, rows[r].correct, rows[r].format, want);
            fail();
        }
    }
    /* weights: the format term alone, a negative penalty, NULL arguments */
    const eco_rl_reward_weights wf = {0.0, 1.0, -1.0};
    eco_rl_reward_parts p = eco_rl_reward(arith, a, nospace, strlen(nospace), true, 3, 12, &wf);
    assert_true(p.correct && !p.format && p.reward == 0.25);
    p = eco_rl_reward(arith, a, NULL, 0, true, 0, 12, &wf);
    assert_true(!p.correct && !p.format && p.reward == 0.0);
    p = eco_rl_reward(arith, a, ans, strlen(ans), true, 0, 12, NULL);
    assert_true(!p.correct && !p.format && p.reward == 0.0);
    eco_task_items_free(ia, na);
    eco_task_items_free(ij, nj);
    eco_task_items_free(is, ns);
}

static void test_sample_seed(void **state) {
    (void)state;
    enum { NI = 16, NJ = 8 };
    uint64_t seen[NI * NJ + NJ];
    size_t n = 0;
    for (int64_t i = 0; i < NI; i++)
        for (int64_t j = 0; j < NJ; j++) {
            uint64_t s = eco_rl_sample_seed(42, i, j);
            assert_true(s == eco_rl_sample_seed(42, i, j));
            seen[n++] = s;
        }
    for (int64_t j = 0; j < NJ; j++) seen[n++] = eco_rl_sample_seed(43, 0, j);
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < a; b++)
            if (seen[a] == seen[b]) fail_msg("seeds %zu and %zu collide", a, b);
    /* (i, j) and (j, i) differ */
    assert_true(eco_rl_sample_seed(1, 2, 3) != eco_rl_sample_seed(1, 3, 2));
}

/* ---- runs -------------------------------------------------------------------------------- */

static const eco_capability *g_caps[2];

/* Small run options: a fresh rank-4 adapter on q and v, arith.add@1, 2 prompts of 3
 * completions, 3 steps, 6 held-out items. */
static void small_options(eco_rl_options *o, const char *out) {
    eco_rl_options_init(o);
    g_caps[0] = cap_of("arith.add@1");
    o->model_dir = g_base;
    o->lora.r = 4;
    o->lora.lora_alpha = 8;
    o->lora.targets[ECO_LORA_Q] = o->lora.targets[ECO_LORA_V] = true;
    o->caps = g_caps;
    o->n_caps = 1;
    o->adapter_out = out;
    o->steps = 3;
    o->batch = 2;
    o->group = 3;
    o->lr = 3e-3;
    o->reward.format = 0.5;
    o->seed = 1;
    o->eval_n = 6;
    o->eval_every = 2;
}

static json_t *load_json(const char *dir, const char *name) {
    size_t len;
    char *text = read_all(dir, name, &len);
    json_error_t err;
    json_t *j = json_loadb(text, len, 0, &err);
    free(text);
    if (!j) fail_msg("%s/%s: %s", dir, name, err.text);
    return j;
}

static void test_run_reproducible(void **state) {
    (void)state;
    char *a = tmp_path("rep_a"), *b = tmp_path("rep_b"), *c = tmp_path("rep_c");
    eco_rl_options o;
    eco_rl_result r;
    small_options(&o, a);
    ECO_ASSERT_OK(eco_rl_run(&o, &r));
    assert_true(r.finished);
    assert_int_equal(r.steps_done, 3);
    assert_int_equal(r.groups, 6);
    assert_true(r.tokens > 0);
    small_options(&o, b);
    ECO_ASSERT_OK(eco_rl_run(&o, NULL));
    small_options(&o, c);
    o.seed = 2;
    ECO_ASSERT_OK(eco_rl_run(&o, NULL));
    assert_true(same_file(a, b, "adapter_model.safetensors"));
    assert_true(same_file(a, b, "training.json"));
    assert_false(same_file(a, c, "adapter_model.safetensors"));
    assert_false(same_file(a, c, "training.json"));
    /* the record: steps, prompts, curve and held-out entries at 0, 2 and the end */
    json_t *j = load_json(a, "training.json");
    assert_int_equal(json_integer_value(json_object_get(j, "steps_done")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "prompts_used")), 6);
    assert_int_equal(json_array_size(json_object_get(j, "curve")), 3);
    json_t *ho = json_object_get(j, "heldout");
    assert_int_equal(json_array_size(ho), 3);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(ho, 1), "step")), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(j, "run"), "grpo"), "reference")),
                        "start");
    json_decref(j);
    /* a non-empty output is refused without force */
    small_options(&o, a);
    ECO_ASSERT_STATUS(eco_rl_run(&o, NULL), ECO_STATUS_EEXIST);
    free(a);
    free(b);
    free(c);
}

/* Writes text as work/rl-curve.json (NULL: removes it). */
static void put_curve(const char *work, const char *text, size_t len) {
    char *p = eco_path_join(work, "rl-curve.json");
    if (text)
        eco_test_write_file(p, text, len);
    else
        remove(p);
    free(p);
}

typedef void (*tweak_fn)(eco_rl_options *o);

/* A run of `tw` straight through into <name>_full, and stopped after one step then resumed
 * into <name>_cut: the same adapter and record bytes. Before the resume that succeeds, the
 * checks of a changed setting and of bad curve files (when `errors`). Returns <name>_full
 * (caller frees). */
static char *resume_case(const char *name, tweak_fn tw, bool errors) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s_full", name);
    char *full = tmp_path(buf);
    snprintf(buf, sizeof buf, "%s_cut", name);
    char *cut = tmp_path(buf);
    eco_rl_options o;
    small_options(&o, full);
    tw(&o);
    ECO_ASSERT_OK(eco_rl_run(&o, NULL));
    small_options(&o, cut);
    tw(&o);
    o.stop_after = 1;
    eco_rl_result r;
    ECO_ASSERT_OK(eco_rl_run(&o, &r));
    assert_false(r.finished);
    assert_int_equal(r.steps_done, 1);
    o.stop_after = 0;
    o.resume = true;
    char *work = eco_path_join(cut, ".work");
    if (errors) {
        /* a changed setting */
        eco_rl_options ch = o;
        ch.lr *= 2;
        ECO_ASSERT_STATUS(eco_rl_run(&ch, NULL), ECO_STATUS_EINVAL);
        assert_non_null(strstr(eco_last_error(), "hyper"));
        ch = o;
        ch.reward.format = 0.25;
        ECO_ASSERT_STATUS(eco_rl_run(&ch, NULL), ECO_STATUS_EINVAL);
        assert_non_null(strstr(eco_last_error(), "reward"));
        /* bad curve files: each refused, the checkpoint left as it was */
        size_t len;
        char *good = read_all(work, "rl-curve.json", &len);
        static const char *const bad[] = {
            NULL, /* missing */
            "",
            "not json",
            "[]",
            "{\"curve\":[],\"heldout\":[]}", /* fewer steps than the checkpoint */
            "{\"curve\":{},\"heldout\":[]}",
            "{\"heldout\":[]}",
            "{\"curve\":[{\"reward\":1}],\"heldout\":[]}",
            "{\"curve\":[{\"step\":\"1\"}],\"heldout\":[]}",
            "{\"curve\":[{\"step\":1}],\"heldout\":[{\"x\":0}]}",
            "{\"curve\":[{\"step\":1}],\"curve\":[{\"step\":1}],\"heldout\":[]}",
        };
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            put_curve(work, bad[k], bad[k] ? strlen(bad[k]) : 0);
            eco_status st = eco_rl_run(&o, NULL);
            if (st != ECO_STATUS_EFORMAT || !strstr(eco_last_error(), "rl-curve.json")) {
                print_error("curve %zu '%s': %s (%s), want EFORMAT naming rl-curve.json\n", k,
                            bad[k] ? bad[k] : "(missing)", eco_status_str(st), eco_last_error());
                fail();
            }
        }
        put_curve(work, good, len);
        free(good);
    }
    ECO_ASSERT_OK(eco_rl_run(&o, &r));
    assert_true(r.finished && r.resumed);
    assert_int_equal(r.start_step, 1);
    assert_int_equal(r.steps_done, 3);
    assert_true(same_file(full, cut, "adapter_model.safetensors"));
    assert_true(same_file(full, cut, "training.json"));
    free(work);
    free(cut);
    return full;
}

static void tw_iter_start(eco_rl_options *o) { /* continue the shipped adapter */
    o->init_adapter = g_arith;
    o->lr = 1e-4; /* gentle: the adapter keeps most of its skill, so held-out is not 0 */
    o->iterations = 2;
    o->grpo.beta = 0.05;
    o->reference = ECO_RL_REF_START;
}

static const eco_capability *g_two[2];

/* Two capabilities taking turns, the shipped arith adapter continued (most of its groups are
 * all correct and well-formed: no signal, resampled), KL to the bare base. */
static void tw_resample_base(eco_rl_options *o) {
    g_two[0] = cap_of("arith.add@1");
    g_two[1] = cap_of("text.sort@1");
    o->caps = g_two;
    o->n_caps = 2;
    o->init_adapter = g_arith;
    o->lr = 1e-4;
    o->resample = 1;
    o->grpo.beta = 0.05;
    o->reference = ECO_RL_REF_BASE;
}

static void test_resume(void **state) {
    (void)state;
    char *full = resume_case("iter", tw_iter_start, true);
    /* the last held-out figure is `tasks eval` on the saved adapter */
    json_t *j = load_json(full, "training.json");
    json_t *ho = json_object_get(j, "heldout");
    json_t *last = json_array_get(ho, json_array_size(ho) - 1);
    assert_int_equal(json_integer_value(json_object_get(last, "step")), 3);
    const double recorded = json_real_value(json_object_get(last, "arith.add@1"));
    assert_true(json_is_real(json_object_get(last, "arith.add@1")));
    eco_engine *e;
    ECO_ASSERT_OK(eco_llama_engine_open_adapter(g_base, full, NULL, &e));
    eco_tasks_eval_options eo;
    eco_tasks_eval_options_init(&eo);
    eo.n = 6;
    eo.seed = 0;
    eco_tasks_eval_report rep;
    ECO_ASSERT_OK(eco_tasks_eval(e, cap_of("arith.add@1"), &eo, &rep));
    print_message("held-out at the end: recorded %.4f, tasks eval %.4f\n", recorded, rep.accuracy);
    assert_true(recorded == rep.accuracy);
    assert_true(rep.correct > 0); /* the continued adapter adds: the comparison says something */
    eco_tasks_eval_report_free(&rep);
    eco_engine_destroy(e);
    json_t *run = json_object_get(j, "run");
    assert_non_null(json_object_get(json_object_get(run, "init"), "adapter_sha256"));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(run, "grpo"), "iterations")), 2);
    json_decref(j);
    free(full);

    full = resume_case("resample", tw_resample_base, false);
    j = load_json(full, "training.json");
    /* resampling happened: some step had zero-signal groups */
    json_t *cv = json_object_get(j, "curve"), *e2;
    size_t i;
    json_int_t zero = 0;
    json_array_foreach(cv, i, e2) zero += json_integer_value(json_object_get(e2, "zero_signal"));
    assert_true(zero > 0);
    assert_int_equal(json_integer_value(json_object_get(j, "prompts_used")), 6 + zero);
    /* the first update starts at the adapter: its KL to the start would be 0, to the base
     * it is not */
    assert_true(json_real_value(json_object_get(json_array_get(cv, 0), "kl")) > 1e-6);
    json_t *h0 = json_array_get(json_object_get(j, "heldout"), 0);
    assert_true(json_is_real(json_object_get(h0, "arith.add@1")) &&
                json_is_real(json_object_get(h0, "text.sort@1")));
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "run"), "capabilities")),
                     2);
    json_decref(j);
    free(full);
}

/* ---- bad options ------------------------------------------------------------------------- */

static void test_bad_options(void **state) {
    (void)state;
    char *out = tmp_path("bad");
    const eco_capability *dup[2] = {cap_of("arith.add@1"), cap_of("arith.add@1")};
    struct {
        const char *name, *piece;
    } rows[] = {
        {"group 1", "--group"},
        {"batch 0", "--batch"},
        {"no capability", "capability"},
        {"duplicate", "given twice"},
        {"temperature 0", "--temperature"},
        {"top_p 0", "--top-p"},
        {"max_tokens", "--max-tokens"},
        {"iterations 0", "--iterations"},
        {"epsilon_low 1", "epsilon_low"},
        {"beta < 0", "beta"},
        {"loss type", "loss type"},
        {"steps 0", "--steps"},
        {"no model", "model"},
        {"reference", "reference"},
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        eco_rl_options o;
        small_options(&o, out);
        switch (k) {
            case 0:
                o.group = 1;
                break;
            case 1:
                o.batch = 0;
                break;
            case 2:
                o.n_caps = 0;
                break;
            case 3:
                o.caps = dup, o.n_caps = 2;
                break;
            case 4:
                o.temperature = 0;
                break;
            case 5:
                o.top_p = 0;
                break;
            case 6:
                o.max_tokens = 200, o.max_seq = 128;
                break;
            case 7:
                o.iterations = 0;
                break;
            case 8:
                o.grpo.epsilon_low = 1;
                break;
            case 9:
                o.grpo.beta = -0.1;
                break;
            case 10:
                o.grpo.loss_type = (eco_grpo_loss_type)99;
                break;
            case 11:
                o.steps = 0;
                break;
            case 12:
                o.model_dir = NULL;
                break;
            case 13:
                o.reference = (eco_rl_reference)7;
                break;
        }
        eco_status st = eco_rl_run(&o, NULL);
        if (st != ECO_STATUS_EINVAL || !strstr(eco_last_error(), rows[k].piece)) {
            print_error("%s: %s (%s), want EINVAL naming '%s'\n", rows[k].name, eco_status_str(st),
                        eco_last_error(), rows[k].piece);
            fail();
        }
    }
    ECO_ASSERT_STATUS(eco_rl_run(NULL, NULL), ECO_STATUS_EINVAL);
    /* rows longer than max_seq: the prompt and its completion do not fit (ERANGE) */
    eco_rl_options o;
    small_options(&o, out);
    o.max_seq = 20;
    o.max_tokens = 8;
    o.eval_n = 0;
    ECO_ASSERT_STATUS(eco_rl_run(&o, NULL), ECO_STATUS_ERANGE);
    assert_non_null(strstr(eco_last_error(), "--max-seq"));
    eco_test_rmtree(out);
    eco_rl_reference ref;
    ECO_ASSERT_OK(eco_rl_reference_parse("base", &ref));
    assert_int_equal(ref, ECO_RL_REF_BASE);
    ECO_ASSERT_STATUS(eco_rl_reference_parse("x", &ref), ECO_STATUS_EINVAL);
    assert_string_equal(eco_rl_reference_name(ECO_RL_REF_START), "start");
    free(out);
}

/* Prompts too long for a training row are passed over, the same way on every run, and
 * counted in the record; the run does not fail on them. */
static void test_skips_long_prompts(void **state) {
    (void)state;
    char *out = tmp_path("skip");
    static const eco_capability *caps[1];
    caps[0] = cap_of("sentiment.imdb@1"); /* review sentences: a few hundred bytes at most */
    eco_rl_options o;
    small_options(&o, out);
    o.caps = caps;
    o.steps = 2;
    o.group = 2;
    o.eval_n = 0;
    o.max_seq = 96; /* the byte tokenizer: prompts of more than 96 − max_tokens bytes skip */
    eco_rl_result r;
    ECO_ASSERT_OK(eco_rl_run(&o, &r));
    json_t *j = load_json(out, "training.json");
    const json_int_t used = json_integer_value(json_object_get(j, "prompts_used")),
                     skipped = json_integer_value(json_object_get(j, "prompts_skipped"));
    assert_true(skipped > 0);
    assert_int_equal(used - skipped, o.steps * o.batch); /* no resampling: batch per step */
    json_decref(j);
    eco_test_rmtree(out);
    free(out);
}

/* ---- learning ---------------------------------------------------------------------------- */

/* Share of n sampled completions (arith TRAIN prompts, temperature t) that have the form,
 * through engine e with adapter ad. */
static double format_share(eco_engine *e, const eco_model_adapter *ad, size_t n, float t) {
    const eco_capability *cap = cap_of("arith.add@1");
    eco_task_item *items;
    ECO_ASSERT_OK(eco_tasks_generate(cap, ECO_TASK_SPLIT_TRAIN, n, 99, &items));
    eco_infer_request *reqs = calloc(n, sizeof *reqs);
    eco_infer_response *resps = calloc(n, sizeof *resps);
    static const char *const stop[1] = {"\n"};
    for (size_t i = 0; i < n; i++) {
        eco_infer_request_init(&reqs[i]);
        reqs[i].prompt = items[i].prompt;
        reqs[i].temperature = t;
        reqs[i].seed = 1000 + i;
        reqs[i].max_tokens = (int)cap->max_completion_bytes + 8;
        reqs[i].stop = stop;
        reqs[i].n_stop = 1;
    }
    ECO_ASSERT_OK(eco_llama_generate_batch(e, ad, reqs, n, resps));
    const eco_rl_reward_weights w = {0, 1, 0};
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        /* stopped: the stop's byte ('\n', a token of the byte tokenizer) ended it */
        bool stopped = resps[i].n_tokens > 0 && resps[i].tokens[resps[i].n_tokens - 1] == '\n';
        ok += eco_rl_reward(cap, &items[i], resps[i].text, resps[i].text_len, stopped,
                            resps[i].n_tokens, 1, &w)
                  .format;
        eco_infer_response_free(&resps[i]);
    }
    free(reqs);
    free(resps);
    eco_task_items_free(items, n);
    return (double)ok / (double)n;
}

static void test_learns_format(void **state) {
    (void)state;
    char *out = tmp_path("learn");
    eco_rl_options o;
    small_options(&o, out);
    o.lora.r = 8;
    o.lora.lora_alpha = 16;
    for (int t = 0; t < ECO_LORA__COUNT; t++) o.lora.targets[t] = true;
    o.temperature = 2.0; /* the base breaks the form often at this temperature */
    o.reward.correct = 1;
    o.reward.format = 1;
    o.steps = 12;
    o.batch = 4;
    o.group = 4;
    o.eval_n = 0;
    ECO_ASSERT_OK(eco_rl_run(&o, NULL));
    eco_engine *plain, *trained;
    ECO_ASSERT_OK(eco_llama_engine_open(g_base, NULL, &plain));
    ECO_ASSERT_OK(eco_llama_engine_open_adapter(g_base, out, NULL, &trained));
    const size_t n = 64;
    double before = format_share(plain, NULL, n, 2.0f);
    double after =
        format_share(trained, eco_model_attached_adapter(eco_llama_engine_model(trained)), n, 2.0f);
    print_message("form kept at temperature 2 on %zu prompts: base %.3f, trained %.3f\n", n, before,
                  after);
    /* Rule: the trained adapter must close at least a third of the base's gap to a perfect
     * form share; a run that learned nothing stays within sampling noise of the base. */
    assert_true(after - before >= (1.0 - before) / 3.0);
    eco_engine_destroy(plain);
    eco_engine_destroy(trained);
    free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_batch),
        cmocka_unit_test(test_model_adapter),
        cmocka_unit_test(test_reward),
        cmocka_unit_test(test_sample_seed),
        cmocka_unit_test(test_run_reproducible),
        cmocka_unit_test(test_resume),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_learns_format),
        cmocka_unit_test(test_skips_long_prompts),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
