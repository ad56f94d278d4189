/*
 * eco_train_model_create: config + weights → the parameter table, the four arenas
 * (params, grads, AdamW m, v), the frozen base (LoRA mode), the views and the activations.
 *
 * The table is built from a list of base tensors in a fixed order (embedding; per layer:
 * input_layernorm, q, k, v, q/k/v biases, o, o bias, post_attention_layernorm, gate, up,
 * down; final norm; lm_head when untied) and, in LoRA mode, from the LoRA modules (per
 * layer, per target in eco_lora_target order: A then B). Offsets are rounded up to 16
 * floats; the padding stays zero in every arena, so flat loops may run over it.
 */
#include "train/train_internal.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The big training blocks (parameters, gradients, AdamW moments, the widened frozen base,
 * activations): zeroed, in transparent huge pages where the kernel grants them
 * (eco_zalloc_large), as the inference model's matrices (model_load.c): fewer TLB misses
 * on every pass over them, for the same losses (bench_train; figures in the README). */
static float *big_floats(size_t n) {
    size_t bytes;
    if (!eco_mul_ok(n ? n : 1, sizeof(float), &bytes)) return NULL;
    return eco_zalloc_large(bytes);
}

static void free_floats(float *p, size_t n) { eco_free_large(p, (n ? n : 1) * sizeof(float)); }

#define ALIGN_FLOATS 16

/* A base tensor to place: where its weight and gradient pointers go. */
typedef struct spec {
    char name[160];
    int ndim;
    int64_t shape[2];
    float **w;
    float **g;
    bool decay;
} spec;

typedef struct spec_list {
    spec *v;
    size_t n, cap;
} spec_list;

static bool spec_add(spec_list *l, const char *name, int64_t d0, int64_t d1, float **w, float **g,
                     bool decay) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        spec *v = realloc(l->v, cap * sizeof *v);
        if (!v) return false;
        l->v = v;
        l->cap = cap;
    }
    spec *s = &l->v[l->n++];
    snprintf(s->name, sizeof s->name, "%s", name);
    s->ndim = d1 < 0 ? 1 : 2;
    s->shape[0] = d0;
    s->shape[1] = d1 < 0 ? 0 : d1;
    s->w = w;
    s->g = g;
    s->decay = decay;
    return true;
}

static size_t spec_numel(const spec *s) {
    return (size_t)s->shape[0] * (size_t)(s->ndim == 2 ? s->shape[1] : 1);
}

static size_t round_up(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

/* Finds `name` and checks it is a float tensor with the spec's shape; a matrix may also be
 * Q8_0 (a q8_0 folder: every base tensor is widened to f32 here, so a q8_0 base trains as
 * the f32 model of its dequantized weights). */
static eco_status find_tensor(const eco_weights *w, const char *dir, const spec *s,
                              const eco_tensor **out) {
    const eco_tensor *t = eco_weights_find(w, s->name);
    if (!t) return eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s' is missing", dir, s->name);
    if (t->dtype != ECO_DTYPE_F32 && t->dtype != ECO_DTYPE_BF16 && t->dtype != ECO_DTYPE_F16 &&
        !(t->dtype == ECO_DTYPE_Q8_0 && s->ndim == 2))
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: tensor '%s': dtype %s, expected F32, BF16, F16 or (matrices) Q8_0",
                         dir, s->name, eco_dtype_name(t->dtype));
    if (t->ndim != s->ndim || t->shape[0] != s->shape[0] ||
        (s->ndim == 2 && t->shape[1] != s->shape[1]))
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: tensor '%s': shape does not match the config (expected [%lld%s%lld])",
                         dir, s->name, (long long)s->shape[0], s->ndim == 2 ? ", " : "",
                         s->ndim == 2 ? (long long)s->shape[1] : 0LL);
    if (t->dtype != ECO_DTYPE_Q8_0 && (uintptr_t)t->data % eco_dtype_size(t->dtype) != 0)
        return eco_error(ECO_STATUS_EUNSUPPORTED, "%s: tensor '%s': data not aligned", dir,
                         s->name);
    *out = t;
    return ECO_STATUS_OK;
}

/* The pointer of tlayer t that holds the tensor of role r. */
static float **tlayer_field(tlayer *t, eco_layer_tensor_role r) {
    switch (r) {
        case ECO_LAYER_ATTN_NORM:
            return &t->attn_norm;
        case ECO_LAYER_WQ:
            return &t->wq;
        case ECO_LAYER_WK:
            return &t->wk;
        case ECO_LAYER_WV:
            return &t->wv;
        case ECO_LAYER_BQ:
            return &t->bq;
        case ECO_LAYER_BK:
            return &t->bk;
        case ECO_LAYER_BV:
            return &t->bv;
        case ECO_LAYER_WO:
            return &t->wo;
        case ECO_LAYER_BO:
            return &t->bo;
        case ECO_LAYER_FFN_NORM:
            return &t->ffn_norm;
        case ECO_LAYER_WG:
            return &t->wg;
        case ECO_LAYER_WU:
            return &t->wu;
        case ECO_LAYER_WD:
            return &t->wd;
        case ECO_LAYER_TENSOR__COUNT:
            break;
    }
    return NULL;
}

/* Base tensors in table order (a layer's in eco_layer_tensors order), with the addresses of
 * the view pointers they fill. */
static bool build_specs(eco_train_model *m, spec_list *l) {
    const eco_model_config *c = &m->cfg;
    const int64_t d = c->hidden_size, V = c->vocab_size;
    eco_layer_tensor lts[ECO_LAYER_TENSOR__COUNT]; /* a layer's tensors (layer.h) */
    const size_t n_lts = eco_layer_tensors(c, lts);
    char name[160];
    bool ok = spec_add(l, "model.embed_tokens.weight", V, d, &m->embed, &m->d_embed, true);
    for (int64_t i = 0; i < c->n_layers && ok; i++) {
        tlayer *w = &m->w[i], *g = &m->dw[i];
        for (size_t k = 0; k < n_lts && ok; k++) {
            float **wf = tlayer_field(w, lts[k].role), **gf = tlayer_field(g, lts[k].role);
            snprintf(name, sizeof name, "model.layers.%lld.%s", (long long)i, lts[k].suffix);
            ok = wf && spec_add(l, name, lts[k].rows, lts[k].cols, wf, gf, lts[k].decay);
        }
    }
    ok = ok && spec_add(l, "model.norm.weight", d, -1, &m->final_norm, &m->d_final_norm, false);
    if (!eco_layer_head_tied(c))
        ok = ok && spec_add(l, "lm_head.weight", V, d, &m->lm_head, &m->d_lm_head, true);
    return ok;
}

static void table_entry(eco_train_param *p, const char *name, int ndim, int64_t d0, int64_t d1,
                        size_t offset, bool decay) {
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    p->shape[0] = d0;
    p->shape[1] = ndim == 2 ? d1 : 0;
    p->offset = offset;
    p->numel = (size_t)d0 * (size_t)(ndim == 2 ? d1 : 1);
    p->decay = decay;
}

/* Bump allocation over one block: a dry run (base NULL) only counts. */
typedef struct carver {
    float *base;
    size_t used;
    bool overflow;
} carver;

static float *carve(carver *cv, size_t a, size_t b) {
    size_t n;
    if (!eco_mul_ok(a, b, &n) || n > SIZE_MAX / 8 ||
        !eco_add_ok(cv->used, round_up(n), &cv->used)) {
        cv->overflow = true;
        return NULL;
    }
    return cv->base ? cv->base + (cv->used - round_up(n)) : NULL;
}

static void carve_acts(eco_train_model *m, carver *cv) {
    const eco_model_config *c = &m->cfg;
    const size_t L = (size_t)c->n_layers, d = (size_t)c->hidden_size,
                 f = (size_t)c->intermediate_size;
    const size_t V = (size_t)c->vocab_size, H = (size_t)c->n_heads;
    const size_t qd = (size_t)(c->n_heads * c->head_dim),
                 kvd = (size_t)(c->n_kv_heads * c->head_dim);
    const size_t B = (size_t)m->opt.max_batch, T = (size_t)m->opt.max_seq, N = B * T;
    tacts *a = &m->a;
    a->res = carve(cv, (L + 1) * N, d);
    a->res_mid = carve(cv, L * N, d);
    a->rstd1 = carve(cv, L, N);
    a->xn1 = carve(cv, L * N, d);
    a->q = carve(cv, L * N, qd);
    a->k = carve(cv, L * N, kvd);
    a->v = carve(cv, L * N, kvd);
    a->probs = carve(cv, L * B * H, T * T);
    a->atty = carve(cv, L * N, qd);
    a->rstd2 = carve(cv, L, N);
    a->xn2 = carve(cv, L * N, d);
    a->gate = carve(cv, L * N, f);
    a->up = carve(cv, L * N, f);
    a->hid = carve(cv, L * N, f);
    a->rstdf = carve(cv, 1, N);
    a->xnf = carve(cv, N, d);
    a->logits = carve(cv, N, V);
    a->losses = carve(cv, 1, N);
    size_t max_in = d > f ? d : f, max_r = 1;
    if (qd > max_in) max_in = qd;
    const bool dropout = m->opt.mode == ECO_TRAIN_MODE_LORA && m->opt.lora.lora_dropout > 0;
    for (size_t i = 0; m->lora && i < L * ECO_LORA__COUNT; i++) {
        tlora *lo = &m->lora[i];
        if (!lo->on) continue;
        lo->xd = dropout ? carve(cv, N, (size_t)lo->in) : NULL;
        lo->t = carve(cv, N, (size_t)lo->r);
        if ((size_t)lo->r > max_r) max_r = (size_t)lo->r;
    }
    a->dres = carve(cv, N, d);
    a->dxn = carve(cv, N, d);
    a->dbig = carve(cv, N, qd > f ? qd : f);
    a->dgate = carve(cv, N, f);
    a->dup = carve(cv, N, f);
    a->dk = carve(cv, N, kvd);
    a->dv = carve(cv, N, kvd);
    a->datty = carve(cv, N, qd);
    a->dlora = carve(cv, N, max_in);
    a->dlora_t = carve(cv, N, max_r);
    a->dscores = carve(cv, (size_t)m->scratch_threads, T * T);
}

eco_status eco_train_model_create(const char *dir, const eco_train_options *opt,
                                  eco_train_model **out) {
    if (!dir || !opt || !out) return eco_error(ECO_STATUS_EINVAL, "train: NULL argument");
    *out = NULL;
    eco_status dst = eco_path_require_dir(dir, ECO_MODEL_DIR_EXPECTED);
    if (dst != ECO_STATUS_OK) return dst;
    if (opt->max_batch <= 0 || opt->max_seq <= 0 || opt->max_batch > INT32_MAX ||
        opt->max_seq > INT32_MAX)
        return eco_error(ECO_STATUS_EINVAL,
                         "train: batch %lld × sequence %lld: both must be positive",
                         (long long)opt->max_batch, (long long)opt->max_seq);
    if (opt->mode != ECO_TRAIN_MODE_FULL && opt->mode != ECO_TRAIN_MODE_LORA)
        return eco_error(ECO_STATUS_EINVAL, "train: unknown mode %d", (int)opt->mode);
    if (opt->mode == ECO_TRAIN_MODE_LORA) {
        const eco_peft_config *pc = &opt->lora;
        bool any = false;
        for (int t = 0; t < ECO_LORA__COUNT; t++) any = any || pc->targets[t];
        if (!any) return eco_error(ECO_STATUS_EINVAL, "train: LoRA with no target modules");
        if (pc->r <= 0)
            return eco_error(ECO_STATUS_EINVAL, "train: LoRA rank %lld", (long long)pc->r);
        if (!(pc->lora_dropout >= 0 && pc->lora_dropout < 1))
            return eco_error(ECO_STATUS_EINVAL, "train: lora_dropout %g outside [0, 1)",
                             pc->lora_dropout);
    }
    eco_train_model *m = calloc(1, sizeof *m);
    if (!m) return eco_error(ECO_STATUS_ENOMEM, "train: out of memory");
    m->opt = *opt;
    spec_list specs = {0};
    eco_status st = eco_config_load(dir, &m->cfg);
    if (st) goto fail;
    const eco_model_config *c = &m->cfg;
    if ((st = eco_config_validate(c, dir))) goto fail;
    if ((st = eco_weights_open(dir, &m->weights))) goto fail;
    if ((st = eco_weights_check_layers(m->weights, dir, c->n_layers))) goto fail;
    const int64_t L = c->n_layers;
    const bool lora = opt->mode == ECO_TRAIN_MODE_LORA;

    m->w = eco_calloc_array((size_t)L, sizeof(tlayer));
    m->dw = eco_calloc_array((size_t)L, sizeof(tlayer));
    if (lora) m->lora = eco_calloc_array((size_t)L * ECO_LORA__COUNT, sizeof(tlora));
    if (!m->w || !m->dw || (lora && !m->lora) || !build_specs(m, &specs)) goto nomem;

    /* LoRA modules: ranks, scales, sizes. */
    size_t n_lora = 0;
    if (lora) {
        for (int64_t l = 0; l < L; l++)
            for (int t = 0; t < ECO_LORA__COUNT; t++) {
                if (!opt->lora.targets[t]) continue;
                tlora *lo = &m->lora[l * ECO_LORA__COUNT + t];
                double alpha;
                eco_peft_module_rank_alpha(&opt->lora, l, (eco_lora_target)t, &lo->r, &alpha);
                if (lo->r <= 0 || lo->r > INT32_MAX) {
                    st = eco_error(ECO_STATUS_EINVAL, "train: LoRA rank %lld for layer %lld %s",
                                   (long long)lo->r, (long long)l,
                                   eco_lora_target_name((eco_lora_target)t));
                    goto fail;
                }
                lo->on = true;
                lo->scale = (float)eco_peft_scale(&opt->lora, lo->r, alpha);
                eco_lora_module_dims(c, (eco_lora_target)t, &lo->out, &lo->in);
                n_lora++;
            }
    }

    /* The table. */
    m->n_params = lora ? 2 * n_lora : specs.n;
    m->table = eco_calloc_array(m->n_params, sizeof(eco_train_param));
    if (!m->table) goto nomem;
    size_t off = 0, frozen_floats = 0;
    if (!lora) {
        for (size_t i = 0; i < specs.n; i++) {
            const spec *s = &specs.v[i];
            table_entry(&m->table[i], s->name, s->ndim, s->shape[0], s->shape[1], off, s->decay);
            off += round_up(spec_numel(s));
        }
    } else {
        size_t k = 0;
        for (int64_t l = 0; l < L; l++)
            for (int t = 0; t < ECO_LORA__COUNT; t++) {
                tlora *lo = &m->lora[l * ECO_LORA__COUNT + t];
                if (!lo->on) continue;
                char name[160];
                snprintf(name, sizeof name, "base_model.model.model.layers.%lld.%s.lora_A.weight",
                         (long long)l, eco_lora_target_path((eco_lora_target)t));
                table_entry(&m->table[k++], name, 2, lo->r, lo->in, off, true);
                off += round_up((size_t)lo->r * (size_t)lo->in);
                snprintf(name, sizeof name, "base_model.model.model.layers.%lld.%s.lora_B.weight",
                         (long long)l, eco_lora_target_path((eco_lora_target)t));
                table_entry(&m->table[k++], name, 2, lo->out, lo->r, off, true);
                off += round_up((size_t)lo->out * (size_t)lo->r);
            }
    }
    m->n_floats = off;

    /* Check every base tensor before allocating the big blocks. */
    for (size_t i = 0; i < specs.n; i++) {
        const eco_tensor *t;
        if ((st = find_tensor(m->weights, dir, &specs.v[i], &t))) goto fail;
        if (lora && t->dtype != ECO_DTYPE_F32) frozen_floats += round_up(spec_numel(&specs.v[i]));
    }

    m->params = big_floats(m->n_floats);
    m->grads = big_floats(m->n_floats);
    m->adam_m = big_floats(m->n_floats);
    m->adam_v = big_floats(m->n_floats);
    if (!m->params || !m->grads || !m->adam_m || !m->adam_v) goto nomem;
    m->n_frozen = frozen_floats;
    if (frozen_floats && !(m->frozen = big_floats(frozen_floats))) goto nomem;

    /* Fill the base views. */
    size_t fcur = 0;
    for (size_t i = 0; i < specs.n; i++) {
        const spec *s = &specs.v[i];
        const eco_tensor *t;
        find_tensor(m->weights, dir, s, &t);
        const size_t n = spec_numel(s);
        if (!lora) {
            const eco_train_param *p = &m->table[i];
            eco_to_f32(m->params + p->offset, t->data, t->dtype, n);
            *s->w = m->params + p->offset;
            *s->g = m->grads + p->offset;
        } else if (t->dtype == ECO_DTYPE_F32) {
            *s->w = (float *)t->data; /* read only: the frozen base is never written */
        } else {
            eco_to_f32(m->frozen + fcur, t->data, t->dtype, n);
            *s->w = m->frozen + fcur;
            fcur += round_up(n);
        }
    }
    if (eco_layer_head_tied(c)) {
        m->lm_head = m->embed;
        m->d_lm_head = m->d_embed;
    }

    /* LoRA views and initialisation: A ~ U(−1/√in, 1/√in) (PEFT's kaiming_uniform_(a=√5)),
     * B = 0, drawn in table order from one stream. */
    if (lora) {
        eco_rng rng;
        eco_rng_seed(&rng, opt->seed);
        size_t k = 0;
        for (size_t i = 0; i < (size_t)L * ECO_LORA__COUNT; i++) {
            tlora *lo = &m->lora[i];
            if (!lo->on) continue;
            const eco_train_param *pa = &m->table[k++], *pb = &m->table[k++];
            lo->A = m->params + pa->offset;
            lo->dA = m->grads + pa->offset;
            lo->B = m->params + pb->offset;
            lo->dB = m->grads + pb->offset;
            const double bound = 1.0 / sqrt((double)lo->in);
            for (size_t j = 0; j < pa->numel; j++)
                lo->A[j] = (float)((2.0 * eco_rng_uniform(&rng) - 1.0) * bound);
        }
    }

    /* RoPE tables for positions 0..max_seq−1 (layer.h, as the inference forward). */
    const int64_t half = c->head_dim / 2, T = opt->max_seq;
    double *inv = eco_malloc_array((size_t)half, sizeof(double));
    m->cos_tab = eco_malloc_array((size_t)T * (size_t)half, sizeof(float));
    m->sin_tab = eco_malloc_array((size_t)T * (size_t)half, sizeof(float));
    if (!inv || !m->cos_tab || !m->sin_tab) {
        free(inv);
        goto nomem;
    }
    eco_rope_inv_freq(c, inv);
    eco_layer_rope_tables(m->cos_tab, m->sin_tab, inv, 0, T, half);
    free(inv);

    /* Activations: one block. */
    m->scratch_threads = omp_get_max_threads();
    if (m->scratch_threads < 1) m->scratch_threads = 1;
    carver cv = {0};
    carve_acts(m, &cv);
    if (cv.overflow) {
        st = eco_error(ECO_STATUS_EOVERFLOW, "train: activations for %lld × %lld overflow",
                       (long long)opt->max_batch, (long long)opt->max_seq);
        goto fail;
    }
    m->n_act = cv.used;
    m->act_block = big_floats(cv.used);
    const size_t N = (size_t)opt->max_batch * (size_t)opt->max_seq;
    m->tokens = eco_malloc_array(N, sizeof(int32_t));
    m->targets = eco_malloc_array(N, sizeof(int32_t));
    m->pos = eco_malloc_array(N, sizeof(int32_t));
    if (!m->act_block || !m->tokens || !m->targets || !m->pos) goto nomem;
    cv = (carver){.base = m->act_block};
    carve_acts(m, &cv);

    free(specs.v);
    *out = m;
    return ECO_STATUS_OK;
nomem:
    st = eco_error(ECO_STATUS_ENOMEM, "train: %s: out of memory", dir);
fail:
    free(specs.v);
    eco_train_model_free(m);
    return st;
}

void eco_train_model_free(eco_train_model *m) {
    if (!m) return;
    eco_weights_close(m->weights);
    free(m->table);
    free_floats(m->params, m->n_floats);
    free_floats(m->grads, m->n_floats);
    free_floats(m->adam_m, m->n_floats);
    free_floats(m->adam_v, m->n_floats);
    free_floats(m->frozen, m->n_frozen);
    free(m->w);
    free(m->dw);
    free(m->lora);
    free(m->cos_tab);
    free(m->sin_tab);
    free_floats(m->act_block, m->n_act);
    free(m->tokens);
    free(m->targets);
    free(m->pos);
    free(m->distill_soft);
    free(m->distill_kl);
    free(m->grpo_lp);
    free(m->grpo_dlp);
    free(m->grpo_mask);
    free(m);
}

const eco_model_config *eco_train_model_config(const eco_train_model *m) { return &m->cfg; }
eco_train_mode eco_train_model_mode(const eco_train_model *m) { return m->opt.mode; }
size_t eco_train_num_params(const eco_train_model *m) { return m->n_params; }
const eco_train_param *eco_train_param_at(const eco_train_model *m, size_t i) {
    return i < m->n_params ? &m->table[i] : NULL;
}
const eco_train_param *eco_train_find_param(const eco_train_model *m, const char *name) {
    for (size_t i = 0; i < m->n_params; i++)
        if (strcmp(m->table[i].name, name) == 0) return &m->table[i];
    return NULL;
}
size_t eco_train_num_floats(const eco_train_model *m) { return m->n_floats; }
float *eco_train_params(eco_train_model *m) { return m->params; }
float *eco_train_grads(eco_train_model *m) { return m->grads; }
float *eco_train_adam_m(eco_train_model *m) { return m->adam_m; }
float *eco_train_adam_v(eco_train_model *m) { return m->adam_v; }
eco_train_state *eco_train_model_state(eco_train_model *m) { return &m->state; }
const float *eco_train_logits(const eco_train_model *m) { return m->a.logits; }
