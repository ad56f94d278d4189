/* LoRA at inference: an adapter attached unmerged (eco_model_set_adapter) against the same
 * adapter merged into the weights (eco_model_merge_adapter) and against an independent
 * computation, the training forward of an eco_train LoRA model holding the same A and B
 * (itself checked against PyTorch autograd in test_train); the one-token decode path
 * against the batched one with an adapter; detaching; refusals; and eco_tasks_eval on a
 * tiny random model. Every comparison prints the largest difference it saw. */
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/engine.h"
#include "ecology/tasks.h"
#include "ecology/train.h"

#define T_LEN 12
static const int32_t TOKENS[T_LEN] = {1, 72, 101, 108, 108, 111, 44, 32, 119, 258, 0, 114};

static char *tmp;

static int setup(void **state) {
    (void)state;
    tmp = eco_test_tmpdir();
    return 0;
}

static int teardown(void **state) {
    (void)state;
    eco_test_rmtree(tmp);
    free(tmp);
    return 0;
}

static char *sub(const char *name) {
    char *p = eco_path_join(tmp, name);
    assert_non_null(p);
    return p;
}

/* The "tiny" preset with attention biases (q/k/v and o, Llama's attention_bias) or not,
 * n_layers layers and intermediate size ffn. */
static void make_model_ffn(const char *dir, eco_dtype dtype, uint64_t seed, bool bias,
                           int64_t n_layers, int64_t ffn) {
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    cfg.qkv_bias = cfg.o_bias = bias;
    cfg.n_layers = n_layers;
    if (ffn > 0) cfg.intermediate_size = ffn;
    ECO_ASSERT_OK(eco_model_create_random(&cfg, seed, dtype, dir));
}

static void make_model(const char *dir, eco_dtype dtype, uint64_t seed, bool bias,
                       int64_t n_layers) {
    make_model_ffn(dir, dtype, seed, bias, n_layers, 0);
}

/* Uniform in [-1, 1) from a 64-bit LCG. */
static float urand(uint64_t *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static float round_bf16(float x) { return eco_bf16_to_f32(eco_f32_to_bf16(x)); }

/* A LoRA training model over model_dir with `lora`, B set to non-zero values (A keeps its
 * Kaiming init), saved to adapter_dir: as f32 through eco_train_save_lora, or with
 * bf16_adapter as BF16 tensors (the training parameters rounded to bf16 first, so that both
 * hold the same values). The caller frees the returned model. */
static eco_train_model *make_adapter(const char *model_dir, const char *adapter_dir,
                                     const eco_peft_config *lora, bool bf16_adapter) {
    eco_train_options o;
    memset(&o, 0, sizeof o);
    o.mode = ECO_TRAIN_MODE_LORA;
    o.lora = *lora;
    o.seed = 5;
    o.max_batch = 1;
    o.max_seq = T_LEN;
    eco_train_model *tm;
    ECO_ASSERT_OK(eco_train_model_create(model_dir, &o, &tm));
    float *P = eco_train_params(tm);
    uint64_t s = 99;
    for (size_t i = 0; i < eco_train_num_params(tm); i++) {
        const eco_train_param *p = eco_train_param_at(tm, i);
        if (strstr(p->name, "lora_B"))
            for (size_t j = 0; j < p->numel; j++) P[p->offset + j] = 0.1f * urand(&s);
        if (bf16_adapter)
            for (size_t j = 0; j < p->numel; j++) P[p->offset + j] = round_bf16(P[p->offset + j]);
    }
    if (!bf16_adapter) {
        ECO_ASSERT_OK(eco_train_save_lora(tm, adapter_dir));
        return tm;
    }
    const eco_model_config *c = eco_train_model_config(tm);
    const size_t n_mod = (size_t)c->n_layers * ECO_LORA__COUNT;
    eco_lora_module *mods = calloc(n_mod, sizeof *mods);
    eco_tensor *ts = calloc(2 * n_mod, sizeof *ts);
    uint16_t **bufs = calloc(2 * n_mod, sizeof *bufs);
    assert_true(mods && ts && bufs);
    for (size_t m = 0; m < n_mod; m++) {
        char name[200];
        snprintf(name, sizeof name, "base_model.model.model.layers.%lld.%s.lora_A.weight",
                 (long long)(m / ECO_LORA__COUNT),
                 eco_lora_target_path((eco_lora_target)(m % ECO_LORA__COUNT)));
        const eco_train_param *pa = eco_train_find_param(tm, name);
        if (!pa) continue;
        const eco_train_param *pb = pa + 1; /* B follows A in the table */
        assert_non_null(strstr(pb->name, "lora_B"));
        const eco_train_param *ps[2] = {pa, pb};
        for (int h = 0; h < 2; h++) {
            eco_tensor *t = &ts[2 * m + (size_t)h];
            bufs[2 * m + (size_t)h] = malloc(ps[h]->numel * 2);
            assert_non_null(bufs[2 * m + (size_t)h]);
            eco_from_f32(bufs[2 * m + (size_t)h], ECO_DTYPE_BF16, P + ps[h]->offset, ps[h]->numel);
            t->dtype = ECO_DTYPE_BF16;
            t->ndim = 2;
            t->shape[0] = ps[h]->shape[0];
            t->shape[1] = ps[h]->shape[1];
            t->data = bufs[2 * m + (size_t)h];
            t->nbytes = ps[h]->numel * 2;
        }
        mods[m].A = &ts[2 * m];
        mods[m].B = &ts[2 * m + 1];
        mods[m].r = pa->shape[0];
    }
    ECO_ASSERT_OK(eco_lora_adapter_save(adapter_dir, lora, mods, c->n_layers));
    for (size_t i = 0; i < 2 * n_mod; i++) free(bufs[i]);
    free(bufs);
    free(ts);
    free(mods);
    return tm;
}

/* logits [T, V] of TOKENS through the training forward (eval mode: no dropout). */
static float *train_logits(eco_train_model *tm) {
    const int64_t V = eco_train_model_config(tm)->vocab_size;
    ECO_ASSERT_OK(eco_train_forward(tm, TOKENS, NULL, 1, T_LEN, false, NULL));
    float *out = malloc((size_t)(T_LEN * V) * sizeof(float));
    assert_non_null(out);
    memcpy(out, eco_train_logits(tm), (size_t)(T_LEN * V) * sizeof(float));
    return out;
}

/* logits [T, V] of TOKENS: one batched pass (one_token false) or T one-token steps. */
static float *model_logits(eco_model *m, bool one_token) {
    const int64_t V = eco_model_get_config(m)->vocab_size;
    float *out = malloc((size_t)(T_LEN * V) * sizeof(float));
    assert_non_null(out);
    eco_kv_cache *kv;
    ECO_ASSERT_OK(eco_kv_cache_create_typed(m, T_LEN, ECO_DTYPE_F32, &kv)); /* exact: f32 K, V */
    if (one_token)
        for (int64_t i = 0; i < T_LEN; i++)
            ECO_ASSERT_OK(eco_model_forward(m, kv, &TOKENS[i], 1, out + i * V, false));
    else
        ECO_ASSERT_OK(eco_model_forward(m, kv, TOKENS, T_LEN, out, true));
    eco_kv_cache_free(kv);
    return out;
}

static float *dir_logits(const char *dir, const char *adapter_dir, bool one_token) {
    eco_model *m;
    ECO_ASSERT_OK(eco_model_load(dir, &m));
    if (adapter_dir) {
        eco_lora_adapter *a;
        ECO_ASSERT_OK(eco_lora_adapter_load(adapter_dir, eco_model_get_config(m), &a));
        ECO_ASSERT_OK(eco_model_set_adapter(m, a));
        eco_lora_adapter_free(a); /* the model keeps its own copies */
        assert_true(eco_model_has_adapter(m));
    }
    float *l = model_logits(m, one_token);
    eco_model_free(m);
    return l;
}

static double check_close(const char *what, const float *a, const float *b, size_t n, double tol) {
    double d = eco_test_max_abs_diff(a, b, n);
    printf("  %-46s max |diff| %.3g (tolerance %.0e)\n", what, d, tol);
    if (!(d <= tol)) fail_msg("%s: max |diff| %g > %g", what, d, tol);
    return d;
}

static void peft_all(eco_peft_config *p, int64_t r, double alpha) {
    eco_peft_config_init(p);
    p->r = r;
    p->lora_alpha = alpha;
    for (int t = 0; t < ECO_LORA__COUNT; t++) p->targets[t] = true;
}

/* f32 base, all seven targets, a rank_pattern and an alpha_pattern (modules of different r). */
static void test_f32_unmerged_merged_train(void **state) {
    (void)state;
    char *base = sub("f32"), *ad = sub("f32-adapter"), *merged = sub("f32-merged");
    make_model(base, ECO_DTYPE_F32, 21, false, 2);
    eco_peft_config p;
    peft_all(&p, 4, 8.0);
    p.n_rank_pattern = 1;
    snprintf(p.rank_pattern_key[0], sizeof p.rank_pattern_key[0], "q_proj");
    p.rank_pattern_val[0] = 2;
    p.n_alpha_pattern = 1;
    snprintf(p.alpha_pattern_key[0], sizeof p.alpha_pattern_key[0], "down_proj");
    p.alpha_pattern_val[0] = 3.0;
    eco_train_model *tm = make_adapter(base, ad, &p, false);
    const int64_t V = eco_train_model_config(tm)->vocab_size;
    const size_t n = (size_t)(T_LEN * V);

    float *ref = train_logits(tm);
    float *base_l = dir_logits(base, NULL, false);
    float *un = dir_logits(base, ad, false);
    float *un1 = dir_logits(base, ad, true);
    ECO_ASSERT_OK(eco_model_merge_adapter(base, ad, merged));
    float *me = dir_logits(merged, NULL, false);
    float *me1 = dir_logits(merged, NULL, true);

    printf("f32 base, 7 targets, r 4 (q: 2), alpha 8 (down: 3):\n");
    double effect = eco_test_max_abs_diff(base_l, un, n);
    printf("  %-46s max |diff| %.3g (must be large)\n", "base vs adapter", effect);
    assert_true(effect > 1e-2);
    check_close("unmerged (batched) vs training forward", un, ref, n, 1e-4);
    check_close("unmerged one-token decode vs batched", un1, un, n, 1e-4);
    check_close("merged vs unmerged (batched)", me, un, n, 1e-4);
    check_close("merged vs training forward", me, ref, n, 1e-4);
    check_close("merged one-token decode vs unmerged decode", me1, un1, n, 1e-4);

    /* Three threads split the rows unevenly: the one-token path must not care. */
    eco_set_threads(3);
    float *un3 = dir_logits(base, ad, true);
    eco_set_threads(2);
    check_close("unmerged decode, 3 threads vs batched", un3, un, n, 1e-4);

    /* The merged folder is a complete model: tokenizer and config copied byte for byte. */
    const char *files[2] = {"config.json", "tokenizer.json"};
    for (int i = 0; i < 2; i++) {
        char *pa = eco_path_join(base, files[i]), *pb = eco_path_join(merged, files[i]);
        char *da, *db;
        size_t la, lb;
        ECO_ASSERT_OK(eco_read_file(pa, 1 << 24, &da, &la));
        ECO_ASSERT_OK(eco_read_file(pb, 1 << 24, &db, &lb));
        assert_int_equal(la, lb);
        assert_memory_equal(da, db, la);
        free(da);
        free(db);
        free(pa);
        free(pb);
    }
    /* Merging into the base's own folder is refused. */
    ECO_ASSERT_STATUS(eco_model_merge_adapter(base, ad, base), ECO_STATUS_EINVAL);

    free(ref);
    free(base_l);
    free(un);
    free(un1);
    free(un3);
    free(me);
    free(me1);
    eco_train_model_free(tm);
    free(base);
    free(ad);
    free(merged);
}

/* bf16 base with attention biases, a bf16 adapter with rsLoRA on q, v, o and down. */
static void test_bf16_base(void **state) {
    (void)state;
    char *base = sub("bf16"), *ad = sub("bf16-adapter"), *merged = sub("bf16-merged");
    make_model(base, ECO_DTYPE_BF16, 22, true, 2);
    eco_peft_config p;
    eco_peft_config_init(&p);
    p.r = 8;
    p.lora_alpha = 16;
    p.use_rslora = true;
    p.targets[ECO_LORA_Q] = p.targets[ECO_LORA_V] = p.targets[ECO_LORA_O] =
        p.targets[ECO_LORA_DOWN] = true;
    eco_train_model *tm = make_adapter(base, ad, &p, true);
    const int64_t V = eco_train_model_config(tm)->vocab_size;
    const size_t n = (size_t)(T_LEN * V);

    eco_lora_adapter *a;
    ECO_ASSERT_OK(eco_lora_adapter_load(ad, eco_train_model_config(tm), &a));
    assert_int_equal(eco_lora_adapter_module(a, 0, ECO_LORA_Q)->A->dtype, ECO_DTYPE_BF16);

    float *ref = train_logits(tm);
    float *base_l = dir_logits(base, NULL, false);
    float *un = dir_logits(base, ad, false);
    float *un1 = dir_logits(base, ad, true);
    ECO_ASSERT_OK(eco_model_merge_adapter(base, ad, merged));
    float *me = dir_logits(merged, NULL, false);

    printf("bf16 base with q/k/v/o biases, bf16 adapter, rsLoRA r 8 on q, v, o, down:\n");
    double effect = eco_test_max_abs_diff(base_l, un, n);
    printf("  %-46s max |diff| %.3g (must be large)\n", "base vs adapter", effect);
    assert_true(effect > 1e-2);
    check_close("unmerged (batched) vs training forward", un, ref, n, 1e-4);
    check_close("unmerged one-token decode vs batched", un1, un, n, 1e-4);
    /* Merged weights are rounded to bf16 once: the logits move by that rounding. */
    check_close("merged (bf16 weights) vs unmerged", me, un, n, 2e-2);

    /* Each merged weight is W + s·B·A rounded once to bf16 (within one bf16 step of the
     * double-precision value rounded), and unadapted tensors are copied bit for bit. */
    eco_weights *wb, *wm;
    ECO_ASSERT_OK(eco_weights_open(base, &wb));
    ECO_ASSERT_OK(eco_weights_open(merged, &wm));
    assert_int_equal(eco_weights_count(wb), eco_weights_count(wm));
    for (size_t i = 0; i < eco_weights_count(wb); i++) {
        const eco_tensor *tb = eco_weights_get(wb, i), *tmg = eco_weights_find(wm, tb->name);
        assert_non_null(tmg);
        assert_int_equal(tb->dtype, tmg->dtype);
        assert_int_equal(tb->nbytes, tmg->nbytes);
        bool adapted = strstr(tb->name, "q_proj.weight") || strstr(tb->name, "v_proj.weight") ||
                       strstr(tb->name, "o_proj.weight") || strstr(tb->name, "down_proj.weight");
        if (!adapted) {
            assert_memory_equal(tb->data, tmg->data, tb->nbytes);
            continue;
        }
        long long layer = -1;
        assert_int_equal(sscanf(tb->name, "model.layers.%lld.", &layer), 1);
        eco_lora_target t = strstr(tb->name, "q_proj")   ? ECO_LORA_Q
                            : strstr(tb->name, "v_proj") ? ECO_LORA_V
                            : strstr(tb->name, "o_proj") ? ECO_LORA_O
                                                         : ECO_LORA_DOWN;
        const eco_lora_module *mod = eco_lora_adapter_module(a, layer, t);
        const int64_t out = tb->shape[0], in = tb->shape[1], r = mod->r;
        const uint16_t *A = mod->A->data, *B = mod->B->data, *W = tb->data, *M = tmg->data;
        int changed = 0;
        for (int64_t o = 0; o < out; o++)
            for (int64_t j = 0; j < in; j++) {
                double e = eco_bf16_to_f32(W[o * in + j]);
                double ba = 0;
                for (int64_t k = 0; k < r; k++)
                    ba += (double)eco_bf16_to_f32(B[o * r + k]) *
                          (double)eco_bf16_to_f32(A[k * in + j]);
                e += (double)mod->scale * ba;
                int want = (int)eco_f32_to_bf16((float)e), got = (int)M[o * in + j];
                if (abs(want - got) > 1)
                    fail_msg("%s[%lld, %lld]: merged bf16 0x%04x, expected 0x%04x", tb->name,
                             (long long)o, (long long)j, got, want);
                changed += got != (int)W[o * in + j];
            }
        assert_true(changed > 0);
    }
    printf("  merged bf16 weights: each W + s·B·A rounded once (within 1 bf16 step); others "
           "bit-identical\n");
    eco_weights_close(wb);
    eco_weights_close(wm);

    eco_lora_adapter_free(a);
    free(ref);
    free(base_l);
    free(un);
    free(un1);
    free(me);
    eco_train_model_free(tm);
    free(base);
    free(ad);
    free(merged);
}

/* Detaching restores the base's logits bit for bit; an adapter built for another config is
 * refused and leaves the model as it was. */
static void test_detach_and_refuse(void **state) {
    (void)state;
    char *base = sub("d-base"), *ad = sub("d-adapter"), *other = sub("d-other"),
         *other_ad = sub("d-other-ad");
    char *wide = sub("d-wide"), *wide_ad = sub("d-wide-ad");
    make_model(base, ECO_DTYPE_F32, 31, false, 2);
    make_model(other, ECO_DTYPE_F32, 32, false, 3);
    make_model_ffn(wide, ECO_DTYPE_F32, 33, false, 2, 128);
    eco_peft_config p;
    peft_all(&p, 4, 8.0);
    eco_train_model *t1 = make_adapter(base, ad, &p, false);
    eco_train_model *t2 = make_adapter(other, other_ad, &p, false);
    eco_train_model *t3 = make_adapter(wide, wide_ad, &p, false);
    eco_train_model_free(t1);
    eco_train_model_free(t2);
    eco_train_model_free(t3);

    eco_model *m;
    ECO_ASSERT_OK(eco_model_load(base, &m));
    const size_t n = (size_t)(T_LEN * eco_model_get_config(m)->vocab_size);
    float *b0 = model_logits(m, false), *b0one = model_logits(m, true);
    eco_lora_adapter *a, *oa;
    ECO_ASSERT_OK(eco_lora_adapter_load(ad, eco_model_get_config(m), &a));
    /* a 3-layer adapter does not even load against a 2-layer config */
    ECO_ASSERT_STATUS(eco_lora_adapter_load(other_ad, eco_model_get_config(m), &oa),
                      ECO_STATUS_EFORMAT);
    eco_model *om;
    ECO_ASSERT_OK(eco_model_load(other, &om));
    ECO_ASSERT_OK(eco_lora_adapter_load(other_ad, eco_model_get_config(om), &oa));

    eco_model *wm;
    eco_lora_adapter *wa;
    ECO_ASSERT_OK(eco_model_load(wide, &wm));
    ECO_ASSERT_OK(eco_lora_adapter_load(wide_ad, eco_model_get_config(wm), &wa));

    /* another config's adapter: refused, model untouched */
    ECO_ASSERT_STATUS(eco_model_set_adapter(m, oa), ECO_STATUS_EINVAL);
    printf("  refused: %s\n", eco_last_error());
    ECO_ASSERT_STATUS(eco_model_set_adapter(m, wa), ECO_STATUS_EINVAL);
    printf("  refused: %s\n", eco_last_error());
    assert_false(eco_model_has_adapter(m));
    float *b1 = model_logits(m, false);
    assert_memory_equal(b0, b1, n * sizeof(float));

    ECO_ASSERT_OK(eco_model_set_adapter(m, a));
    eco_lora_adapter_free(a); /* the model does not borrow it */
    float *w1 = model_logits(m, false);
    assert_true(eco_test_max_abs_diff(w1, b0, n) > 1e-2);
    /* a refused switch keeps the attached adapter */
    ECO_ASSERT_STATUS(eco_model_set_adapter(m, oa), ECO_STATUS_EINVAL);
    assert_true(eco_model_has_adapter(m));
    float *w2 = model_logits(m, false);
    assert_memory_equal(w1, w2, n * sizeof(float));

    ECO_ASSERT_OK(eco_model_set_adapter(m, NULL));
    assert_false(eco_model_has_adapter(m));
    float *b2 = model_logits(m, false), *b2one = model_logits(m, true);
    assert_memory_equal(b0, b2, n * sizeof(float));
    assert_memory_equal(b0one, b2one, n * sizeof(float));
    printf("  detached: base logits restored bit for bit (batched and one-token)\n");

    ECO_ASSERT_STATUS(eco_model_set_adapter(NULL, oa), ECO_STATUS_EINVAL);
    /* the engine with an adapter: id names both; a missing adapter folder is ENOTFOUND */
    eco_engine *e;
    ECO_ASSERT_OK(eco_llama_engine_open_adapter(base, ad, NULL, &e));
    assert_string_equal(e->genome(e)->id, "d-base+d-adapter");
    assert_true(eco_model_has_adapter(eco_llama_engine_model(e)));
    eco_engine_destroy(e);
    char *missing = sub("no-such-adapter");
    ECO_ASSERT_STATUS(eco_llama_engine_open_adapter(base, missing, NULL, &e), ECO_STATUS_ENOTFOUND);
    assert_null(e);
    ECO_ASSERT_STATUS(eco_llama_engine_open_adapter(base, other_ad, NULL, &e), ECO_STATUS_EFORMAT);

    free(missing);
    eco_lora_adapter_free(wa);
    eco_model_free(wm);
    free(wide);
    free(wide_ad);
    eco_lora_adapter_free(oa);
    eco_model_free(om);
    eco_model_free(m);
    free(b0);
    free(b0one);
    free(b1);
    free(b2);
    free(b2one);
    free(w1);
    free(w2);
    free(base);
    free(ad);
    free(other);
    free(other_ad);
}

/* eco_tasks_eval on a tiny random model, with and without an adapter: a sane report. */
static void test_tasks_eval(void **state) {
    (void)state;
    char *base = sub("e-base"), *ad = sub("e-adapter");
    make_model(base, ECO_DTYPE_F32, 41, false, 2);
    eco_peft_config p;
    peft_all(&p, 4, 8.0);
    eco_train_model_free(make_adapter(base, ad, &p, false));
    const eco_capability *cap;
    ECO_ASSERT_OK(eco_tasks_find("arith.add@1", &cap));
    eco_tasks_eval_options opt;
    eco_tasks_eval_options_init(&opt);
    opt.n = 6;
    opt.seed = 3;
    opt.max_failures = 4;
    eco_task_item *items;
    ECO_ASSERT_OK(eco_tasks_generate(cap, ECO_TASK_SPLIT_EVAL, opt.n, opt.seed, &items));
    for (int with = 0; with < 2; with++) {
        eco_engine *e;
        ECO_ASSERT_OK(eco_llama_engine_open_adapter(base, with ? ad : NULL, NULL, &e));
        eco_tasks_eval_report r;
        ECO_ASSERT_OK(eco_tasks_eval(e, cap, &opt, &r));
        printf("  %s: %zu/%zu correct, %zu failures kept\n", e->genome(e)->id, r.correct, r.n,
               r.n_failures);
        assert_string_equal(r.capability, "arith.add@1");
        assert_int_equal(r.n, opt.n);
        assert_true(r.correct <= r.n);
        assert_true(r.accuracy >= 0 && r.accuracy <= 1);
        assert_true(fabs(r.accuracy - (double)r.correct / (double)r.n) < 1e-12);
        size_t wrong = r.n - r.correct;
        assert_int_equal(r.n_failures, wrong < opt.max_failures ? wrong : opt.max_failures);
        for (size_t i = 0; i < r.n_failures; i++) {
            const eco_tasks_eval_failure *f = &r.failures[i];
            assert_true(f->index < opt.n);
            if (i) assert_true(f->index > r.failures[i - 1].index);
            assert_string_equal(f->prompt, items[f->index].prompt);
            assert_string_equal(f->expected, items[f->index].completion);
            assert_non_null(f->got);
            assert_int_equal(strlen(f->got) <= f->got_len, 1);
            assert_false(eco_tasks_check(cap, &items[f->index], f->got, f->got_len));
            /* greedy with stop "\n": the text holds no newline and at most the budget */
            assert_null(memchr(f->got, '\n', f->got_len));
        }
        eco_tasks_eval_report_free(&r);
        /* errors */
        eco_tasks_eval_options bad = opt;
        bad.n = 0;
        ECO_ASSERT_STATUS(eco_tasks_eval(e, cap, &bad, &r), ECO_STATUS_EINVAL);
        bad.n = ECO_TASKS_MAX_N + 1;
        ECO_ASSERT_STATUS(eco_tasks_eval(e, cap, &bad, &r), ECO_STATUS_ERANGE);
        bad = opt;
        bad.extra_tokens = -1;
        ECO_ASSERT_STATUS(eco_tasks_eval(e, cap, &bad, &r), ECO_STATUS_EINVAL);
        ECO_ASSERT_STATUS(eco_tasks_eval(NULL, cap, &opt, &r), ECO_STATUS_EINVAL);
        eco_engine_destroy(e);
    }
    eco_task_items_free(items, opt.n);
    free(base);
    free(ad);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f32_unmerged_merged_train),
        cmocka_unit_test(test_bf16_base),
        cmocka_unit_test(test_detach_and_refuse),
        cmocka_unit_test(test_tasks_eval),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
