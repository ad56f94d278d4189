/*
 * eco_merge_adapters_dir: LoRA adapters merged exactly in weight space (merge_dir.h,
 * MERGING.md point 1).
 *
 * For every (layer, target module) of the union of the parents' targets, parent i brings
 * its full delta ΔW_i = s_i·B_i·A_i (s_i = alpha/r or alpha/√r with rsLoRA, after
 * rank_pattern / alpha_pattern; a parent without the module brings a zero delta). The
 * deltas are combined by merge.h's method and the result is written back at one rank R
 * (alpha = R, scale 1, no rsLoRA) by one of three exact-or-optimal routes:
 *
 *   - concatenation (linear and task_arithmetic, when the module's Σ r_i ≤ R): with
 *     c_i = λ·w_i (/ Σ w when the method normalizes), B = [c_1 s_1 B_1 | ...] and
 *     A = [A_1; ...] give B·A = Σ c_i ΔW_i exactly, without any SVD;
 *   - the factored SVD (linear and task_arithmetic, Σ r_i > R): the same B_cat·A_cat is
 *     reduced by QR to its Σr × Σr core, whose SVD is ΔW's (lora_svd.c), truncated to R;
 *   - the dense route (every other method): ΔW_i formed [out, in], merged by
 *     eco_merge_tensor (base NULL: the parents are deltas), and truncated to R by a full
 *     thin SVD.
 * The truncated halves split the singular values as √S to both. The relative Frobenius
 * error ‖ΔW − B·A‖_F / ‖ΔW‖_F of each module (measured: the dense route subtracts B·A;
 * the factored route reads the dropped singular values of the exact core) and overall
 * (√Σ err² / √Σ ‖ΔW‖²) go into the report and lineage.json's operation.result.
 *
 * R: o->rank, or the largest parent rank when 0, at most the largest module's min(out, in)
 * (a higher rank would only add zero directions). When every module is concatenated the
 * adapter is written at the largest Σ r_i (≤ R: exact and no larger than needed); modules
 * of a smaller rank are padded with zero directions (PEFT has one r per module; zero
 * columns of B add nothing).
 *
 * Shapes: with o->base the base model's config.json gives every shape and each parent is
 * loaded against it (eco_lora_adapter_load checks every tensor). Without it the shapes are
 * read from the parents' tensors (A [r, in], B [out, r]) and a config with those sizes is
 * synthesised for the loader; so `merge` works on bare adapter folders, as mergekit does.
 * Parents adapting different bases are refused (EINCOMPAT, naming both): different layer
 * counts or module shapes, or base_model_name_or_path values whose last path component
 * differs (trainer, extract and merge name a base folder with eco_peft_base_name: its
 * registry id or folder name; hub ids keep theirs).
 *
 * The output folder holds adapter_config.json, adapter_model.safetensors (F32, PEFT's
 * names) and lineage.json, written into a temporary sibling and put in place at once
 * (eco_output_begin/commit). Memory: the parents' adapters are mapped; one module's deltas
 * ([n_parents + 3] × out × in floats on the dense route) and the output halves are held.
 */
#include "breeder/lora_lineage.h"
#include "breeder/lora_svd.h"
#include "ecology/merge_dir.h"
#include "ecology/model.h"
#include "ecology/peft.h"

#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADAPTER_EXPECTED "an adapter folder (adapter_config.json, adapter_model.safetensors)"

typedef struct parent {
    const char *dir;
    eco_peft_config pc;
    eco_lora_adapter *a;
} parent;

/* The shapes an adapter's tensors imply: per target [out, in] (0: no tensor says). */
typedef struct adapter_shape {
    int64_t n_layers;
    int64_t out[ECO_LORA__COUNT], in[ECO_LORA__COUNT];
} adapter_shape;

/* ---- shapes and compatibility --------------------------------------------------------- */

/* (layer, target, half) of a PEFT tensor name, leniently: names it cannot read are left to
 * eco_lora_adapter_load, which refuses them. */
static bool name_module(const char *name, int64_t *layer, int *target, int *half) {
    eco_lora_target t;
    const char *rest = eco_lora_module_name(name, "base_model.model.model.layers.", layer, &t);
    if (!rest || strncmp(rest, ".lora_", 6) != 0 || (rest[6] != 'A' && rest[6] != 'B'))
        return false;
    *target = (int)t;
    *half = rest[6] == 'B';
    return true;
}

static eco_status read_shape(const char *dir, const char *label, adapter_shape *sh) {
    memset(sh, 0, sizeof *sh);
    char *path = eco_path_join(dir, "adapter_model.safetensors");
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "merge: out of memory");
    eco_safetensors *st = NULL;
    eco_status rc = eco_safetensors_open(path, &st);
    for (size_t i = 0; rc == ECO_STATUS_OK && i < eco_safetensors_count(st); i++) {
        const eco_tensor *t = eco_safetensors_get(st, i);
        int64_t layer;
        int target, half;
        if (t->ndim != 2 || !name_module(t->name, &layer, &target, &half)) continue;
        if (layer + 1 > sh->n_layers) sh->n_layers = layer + 1;
        int64_t *slot = half ? &sh->out[target] : &sh->in[target];
        const int64_t v = half ? t->shape[0] : t->shape[1];
        if (*slot && *slot != v)
            rc = eco_error(ECO_STATUS_EFORMAT,
                           "%s: %s: tensor '%.200s': %s %lld, but another layer's has %lld", label,
                           path, t->name, half ? "out" : "in", (long long)v, (long long)*slot);
        *slot = v;
    }
    eco_safetensors_close(st);
    free(path);
    return rc;
}

/* Takes b's known sizes into a; EINVAL naming both parents when they disagree. */
static eco_status unite_shapes(adapter_shape *a, const adapter_shape *b, const char *la,
                               const char *lb) {
    if (a->n_layers != b->n_layers)
        return eco_error(ECO_STATUS_EINCOMPAT,
                         "merge: %s has %lld layers and %s %lld: they adapt different base "
                         "models (distill instead)",
                         la, (long long)a->n_layers, lb, (long long)b->n_layers);
    for (int t = 0; t < ECO_LORA__COUNT; t++) {
        const int64_t *dims[2][2] = {{&a->out[t], &a->in[t]}, {&b->out[t], &b->in[t]}};
        for (int d = 0; d < 2; d++)
            if (*dims[0][d] && *dims[1][d] && *dims[0][d] != *dims[1][d])
                return eco_error(ECO_STATUS_EINCOMPAT,
                                 "merge: %s: %s %s is %lld in %s and %lld in %s: they adapt "
                                 "different base models (distill instead)",
                                 lb, eco_lora_target_name((eco_lora_target)t), d ? "in" : "out",
                                 (long long)*dims[1][d], lb, (long long)*dims[0][d], la);
        if (!a->out[t]) a->out[t] = b->out[t];
        if (!a->in[t]) a->in[t] = b->in[t];
    }
    return ECO_STATUS_OK;
}

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/* A model config with the sizes sh implies (the rest from the "tiny" preset), for the
 * adapter loader's shape checks. Sizes no tensor fixes take a neighbour's. */
static eco_status config_from_shape(const adapter_shape *sh, eco_model_config *cfg) {
    /* each size and the (target, dim) pairs that state it: d hidden, q heads·hd, kv, f */
    static const int src[4][4][2] = {
        {{ECO_LORA_Q, 1}, {ECO_LORA_O, 0}, {ECO_LORA_GATE, 1}, {ECO_LORA_DOWN, 0}},
        {{ECO_LORA_Q, 0}, {ECO_LORA_O, 1}, {-1, 0}, {-1, 0}},
        {{ECO_LORA_K, 0}, {ECO_LORA_V, 0}, {-1, 0}, {-1, 0}},
        {{ECO_LORA_GATE, 0}, {ECO_LORA_UP, 0}, {ECO_LORA_DOWN, 1}, {-1, 0}},
    };
    static const char *const what[4] = {"hidden size", "attention width", "key/value width",
                                        "intermediate size"};
    int64_t v[4] = {0, 0, 0, 0};
    for (int s = 0; s < 4; s++)
        for (int j = 0; j < 4 && src[s][j][0] >= 0; j++) {
            const int t = src[s][j][0];
            const int64_t x = src[s][j][1] ? sh->in[t] : sh->out[t];
            if (x && v[s] && x != v[s])
                return eco_error(ECO_STATUS_EINVAL,
                                 "merge: the adapters' shapes disagree on the %s (%lld and "
                                 "%lld): give the base model (--base)",
                                 what[s], (long long)v[s], (long long)x);
            if (x) v[s] = x;
        }
    for (int t = ECO_LORA_K; !v[0] && t <= ECO_LORA_UP; t++) v[0] = sh->in[t];
    if (!v[0]) return eco_error(ECO_STATUS_EFORMAT, "merge: the adapters hold no LoRA tensor");
    if (!v[1]) v[1] = v[0];
    if (!v[2]) v[2] = v[1];
    if (!v[3]) v[3] = v[0];
    const int64_t hd = gcd64(v[1], v[2]);
    if (v[1] % v[2] != 0 || hd % 2 != 0)
        return eco_error(ECO_STATUS_EINVAL,
                         "merge: no llama head layout fits attention widths %lld and %lld: give "
                         "the base model (--base)",
                         (long long)v[1], (long long)v[2]);
    eco_status rc = eco_model_preset_config("tiny", cfg);
    if (rc) return rc;
    cfg->hidden_size = v[0];
    cfg->head_dim = hd;
    cfg->n_heads = v[1] / hd;
    cfg->n_kv_heads = v[2] / hd;
    cfg->intermediate_size = v[3];
    cfg->n_layers = sh->n_layers;
    return ECO_STATUS_OK;
}

/* ---- the merge of one module ---------------------------------------------------------- */

typedef struct work {
    const float *zero; /* [out·in] zeros (shared, read only) */
    float *M, *W;      /* [out·in] each: merged ΔW, its copy for the SVD */
    float *D;          /* [n_parents · out·in] the parents' deltas (dense route) */
    float *Bc, *Ac;    /* [out · Σr], [Σr · in] the factored route's halves */
    float *S;          /* [max(out, in)] */
    float *fa, *fb;    /* one parent's A and B widened */
} work;

typedef struct work_sizes {
    size_t numel, ab, cat, dim, n_parents;
    bool dense, factored; /* which routes may run: the buffers each needs */
} work_sizes;

static bool work_alloc(work *w, const work_sizes *z, const float *zero) {
    size_t dn = 0;
    w->zero = zero;
    w->M = eco_malloc_array(z->numel, sizeof(float));
    w->W = eco_malloc_array(z->numel, sizeof(float));
    w->fa = eco_malloc_array(z->ab, sizeof(float));
    w->fb = eco_malloc_array(z->ab, sizeof(float));
    w->S = eco_malloc_array(z->dim, sizeof(float));
    if (z->dense && eco_mul_ok(z->n_parents, z->numel, &dn))
        w->D = eco_malloc_array(dn, sizeof(float));
    if (z->factored) {
        w->Bc = eco_malloc_array(z->cat, sizeof(float));
        w->Ac = eco_malloc_array(z->cat, sizeof(float));
    }
    return w->M && w->W && w->fa && w->fb && w->S && (!z->dense || w->D) &&
           (!z->factored || (w->Bc && w->Ac));
}

static void work_free(work *w) {
    free(w->M);
    free(w->W);
    free(w->D);
    free(w->Bc);
    free(w->Ac);
    free(w->S);
    free(w->fa);
    free(w->fb);
}

/* The output halves of one module, [out, R] and [R, in], and what its merge measured. */
typedef struct module_out {
    float *B, *A;
    double norm2, err2;
    bool concat;
    eco_status st;
    char msg[512];
} module_out;

static void widen(float *dst, const eco_tensor *t) {
    eco_to_f32(dst, t->data, t->dtype, eco_tensor_numel(t));
}

static double coefficient(const eco_merge_params *p, int i) {
    double c = p->lambda * p->weight[i];
    if (eco_merge_params_normalize(p)) {
        double div = 0;
        for (int m = 0; m < p->n_parents; m++) div += p->weight[m];
        if (fabs(div) < 1e-8) div = 1;
        c /= div;
    }
    return c;
}

static bool factored_method(eco_merge_method m) {
    return m == ECO_MERGE_METHOD_LINEAR || m == ECO_MERGE_METHOD_TASK_ARITHMETIC;
}

static double sum_sq(const float *x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

/* Σ r_i of module (l, t) over the parents that adapt it. */
static int64_t module_rank_sum(const parent *ps, int n, int64_t l, int t) {
    int64_t c = 0;
    for (int i = 0; i < n; i++)
        if (ps[i].pc.targets[t]) c += eco_lora_adapter_module(ps[i].a, l, (eco_lora_target)t)->r;
    return c;
}

/* Parent i's scale for module (l, t), in double. */
static double module_scale(const parent *pa, int64_t l, int t) {
    int64_t r;
    double alpha;
    eco_peft_module_rank_alpha(&pa->pc, l, (eco_lora_target)t, &r, &alpha);
    return eco_peft_scale(&pa->pc, r, alpha);
}

static eco_status merge_module(const eco_merge_dir_options *o, const eco_model_config *cfg,
                               const parent *ps, int64_t l, int t, int64_t R, work *w,
                               module_out *mo) {
    const eco_merge_params *p = &o->params;
    const int n = (int)o->n_parents;
    int64_t out, in;
    eco_lora_module_dims(cfg, (eco_lora_target)t, &out, &in);
    const size_t numel = (size_t)out * (size_t)in;
    const int64_t k0 = out < in ? out : in, c = module_rank_sum(ps, n, l, t);
    char label[160];
    snprintf(label, sizeof label, "merge: model.layers.%lld.%s", (long long)l,
             eco_lora_target_path((eco_lora_target)t));
    mo->norm2 = mo->err2 = 0;
    mo->concat = false;

    if (factored_method(p->method) && c <= k0) {
        /* B_cat [out, c] = [c_i s_i B_i | ...], A_cat [c, in] = [A_i; ...] */
        const bool concat = c <= R;
        float *Bc = concat ? mo->B : w->Bc, *Ac = concat ? mo->A : w->Ac;
        const int64_t ldb = concat ? R : c;
        int64_t off = 0;
        for (int i = 0; i < n; i++) {
            if (!ps[i].pc.targets[t]) continue;
            const eco_lora_module *m = eco_lora_adapter_module(ps[i].a, l, (eco_lora_target)t);
            const float f = (float)(coefficient(p, i) * module_scale(&ps[i], l, t));
            widen(w->fb, m->B);
            for (int64_t r = 0; r < out; r++)
                for (int64_t j = 0; j < m->r; j++) Bc[r * ldb + off + j] = f * w->fb[r * m->r + j];
            widen(Ac + (size_t)off * (size_t)in, m->A);
            off += m->r;
        }
        mo->concat = concat;
        if (concat) {
            /* ‖ΔW‖² for the overall figure: ‖B_cat A_cat‖² from the product (exact route) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)out, (int)in, (int)c, 1.0f,
                        Bc, (int)ldb, Ac, (int)in, 0.0f, w->M, (int)in);
            mo->norm2 = sum_sq(w->M, numel);
            return ECO_STATUS_OK;
        }
        const int64_t k = R < c ? R : c;
        eco_status rc =
            eco_lora_svd_factored(w->Bc, w->Ac, out, in, c, k, w->S, mo->B, R, mo->A, label);
        if (rc) return rc;
        for (int64_t j = 0; j < c; j++) {
            const double s2 = (double)w->S[j] * w->S[j];
            mo->norm2 += s2;
            if (j >= k) mo->err2 += s2;
        }
        return ECO_STATUS_OK;
    }

    /* the dense route: ΔW_i [out, in] = s_i B_i A_i, merged, truncated */
    const float *deltas[ECO_MERGE_MAX_PARENTS];
    for (int i = 0; i < n; i++) {
        deltas[i] = w->zero;
        if (!ps[i].pc.targets[t]) continue;
        const eco_lora_module *m = eco_lora_adapter_module(ps[i].a, l, (eco_lora_target)t);
        float *D = w->D + (size_t)i * numel;
        widen(w->fa, m->A);
        widen(w->fb, m->B);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)out, (int)in, (int)m->r,
                    (float)module_scale(&ps[i], l, t), w->fb, (int)m->r, w->fa, (int)in, 0.0f, D,
                    (int)in);
        deltas[i] = D;
    }
    char tname[160];
    snprintf(tname, sizeof tname, "model.layers.%lld.%s.weight", (long long)l,
             eco_lora_target_path((eco_lora_target)t));
    eco_status rc =
        eco_merge_tensor(w->M, NULL, deltas, out, in, p, eco_merge_slerp_t(p, l, cfg->n_layers),
                         eco_merge_stream(tname), NULL, NULL);
    if (rc) return rc;
    mo->norm2 = sum_sq(w->M, numel);
    memcpy(w->W, w->M, numel * sizeof *w->W);
    const int64_t k = R < k0 ? R : k0;
    if ((rc = eco_lora_svd(w->W, out, in, k, w->S, mo->B, R, mo->A, label))) return rc;
    /* the error as it is: M − B·A */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)out, (int)in, (int)R, -1.0f, mo->B,
                (int)R, mo->A, (int)in, 1.0f, w->M, (int)in);
    mo->err2 = sum_sq(w->M, numel);
    return ECO_STATUS_OK;
}

/* ---- lineage ------------------------------------------------------------------------ */

static eco_status write_lineage(const char *dir, const eco_merge_dir_options *o,
                                const json_t *result) {
    json_t *params = NULL, *parents = json_array();
    eco_status rc = eco_merge_params_to_json(&o->params, &params);
    if (rc) goto done;
    if (!parents || json_object_set_new(params, "rank", json_integer(o->rank))) {
        rc = eco_error(ECO_STATUS_ENOMEM, "merge: out of memory");
        goto done;
    }
    if (o->base && (rc = eco_lora_lineage_parent(parents, "base", o->base, NULL))) goto done;
    for (size_t i = 0; i < o->n_parents; i++)
        if ((rc = eco_lora_lineage_parent(parents, "parent", o->parents[i],
                                          "adapter_model.safetensors")))
            goto done;
    rc = eco_lora_lineage_write(dir, "merge", params, o->params.seed, result, parents);
done:
    json_decref(params);
    json_decref(parents);
    return rc;
}

/* ---- the folder ----------------------------------------------------------------------- */

/* Loads every parent against a config (o->base's, or one from their shapes) and checks
 * that they adapt one base. */
static eco_status load_parents(const eco_merge_dir_options *o, parent *ps, eco_model_config *cfg) {
    const int n = (int)o->n_parents;
    char la[64], lb[64];
    eco_status rc;
    for (int i = 0; i < n; i++) {
        ps[i].dir = o->parents[i];
        if ((rc = eco_path_require_dir(ps[i].dir, ADAPTER_EXPECTED))) return rc;
        if (!eco_path_has_file(ps[i].dir, "adapter_config.json"))
            return eco_error(ECO_STATUS_EINVAL,
                             "merge: parents[%d] %s: no adapter_config.json (the first parent "
                             "is an adapter, so every parent must be one)",
                             i, ps[i].dir);
        if ((rc = eco_peft_config_load(ps[i].dir, &ps[i].pc))) return rc;
    }
    for (int i = 1; i < n; i++) {
        size_t l0, l1;
        const char *b0 = eco_lora_last_component(ps[0].pc.base_model_name_or_path, &l0);
        const char *b1 = eco_lora_last_component(ps[i].pc.base_model_name_or_path, &l1);
        if (l0 && l1 && (l0 != l1 || memcmp(b0, b1, l0) != 0))
            return eco_error(ECO_STATUS_EINCOMPAT,
                             "merge: parents[%d] %s adapts '%s' but parents[0] %s adapts '%s': "
                             "they adapt different base models (distill instead)",
                             i, ps[i].dir, ps[i].pc.base_model_name_or_path, ps[0].dir,
                             ps[0].pc.base_model_name_or_path);
    }
    if (o->base) {
        if ((rc = eco_config_load(o->base, cfg))) return rc;
    } else {
        adapter_shape all, sh;
        for (int i = 0; i < n; i++) {
            snprintf(lb, sizeof lb, "parents[%d]", i);
            if ((rc = read_shape(ps[i].dir, lb, i ? &sh : &all))) return rc;
            snprintf(la, sizeof la, "parents[0] %.40s", ps[0].dir);
            snprintf(lb, sizeof lb, "parents[%d] %.40s", i, ps[i].dir);
            if (i && (rc = unite_shapes(&all, &sh, la, lb))) return rc;
        }
        if ((rc = config_from_shape(&all, cfg))) return rc;
    }
    for (int i = 0; i < n; i++)
        if ((rc = eco_lora_adapter_load(ps[i].dir, cfg, &ps[i].a)))
            return eco_error_wrap(rc, "merge: parents[%d]", i);
    return ECO_STATUS_OK;
}

static eco_status check_options(const eco_merge_dir_options *o) {
    if (!o || !o->parents || !o->out) return eco_error(ECO_STATUS_EINVAL, "merge: NULL argument");
    if (o->n_parents < 1 || o->n_parents > ECO_MERGE_MAX_PARENTS)
        return eco_error(ECO_STATUS_EINVAL, "merge: parents: %zu given (1 to %d)", o->n_parents,
                         ECO_MERGE_MAX_PARENTS);
    if (o->params.n_parents != (int)o->n_parents)
        return eco_error(ECO_STATUS_EINVAL, "merge: weights: %d given for %zu parents",
                         o->params.n_parents, o->n_parents);
    if (o->rank < 0 || o->rank > INT32_MAX)
        return eco_error(ECO_STATUS_EINVAL,
                         "merge: rank: %lld (a positive rank, or 0 for the "
                         "largest parent rank)",
                         (long long)o->rank);
    for (size_t i = 0; i < o->n_parents; i++)
        if (!o->parents[i]) return eco_error(ECO_STATUS_EINVAL, "merge: parents[%zu] NULL", i);
    return eco_merge_params_check(&o->params);
}

eco_status eco_merge_adapters_dir(const eco_merge_dir_options *o, eco_merge_dir_report *rep) {
    if (rep) memset(rep, 0, sizeof *rep);
    eco_status rc = check_options(o);
    if (rc) return rc;
    const double t0 = eco_now();
    const int n = (int)o->n_parents;
    parent ps[ECO_MERGE_MAX_PARENTS];
    memset(ps, 0, sizeof ps);
    eco_model_config cfg;
    memset(&cfg, 0, sizeof cfg);
    work *ws = NULL;
    int ws_n = 0;
    float *zero = NULL;
    module_out *mos = NULL;
    eco_lora_module *mods = NULL;
    eco_tensor *ts = NULL;
    json_t *result = NULL, *per_module = NULL;
    eco_output_dir od;
    memset(&od, 0, sizeof od);
    bool begun = false;
    eco_progress pg;
    memset(&pg, 0, sizeof pg);

    if ((rc = load_parents(o, ps, &cfg))) goto done;

    /* targets, ranks, the largest module and the route */
    bool targets[ECO_LORA__COUNT] = {false};
    int64_t R = o->rank, max_parent_r = 0, max_sum = 0;
    size_t max_numel = 0, n_modules = 0;
    int64_t max_dim = 0;
    bool any_dense = !factored_method(o->params.method);
    int64_t max_k0 = 0; /* the largest module's min(out, in): no rank above it is useful */
    for (int t = 0; t < ECO_LORA__COUNT; t++) {
        for (int i = 0; i < n; i++) targets[t] |= ps[i].pc.targets[t];
        if (!targets[t]) continue;
        int64_t out, in;
        eco_lora_module_dims(&cfg, (eco_lora_target)t, &out, &in);
        if ((size_t)out * (size_t)in > max_numel) max_numel = (size_t)out * (size_t)in;
        if (out > max_dim) max_dim = out;
        if (in > max_dim) max_dim = in;
        for (int64_t l = 0; l < cfg.n_layers; l++) {
            const int64_t c = module_rank_sum(ps, n, l, t);
            if (c > max_sum) max_sum = c;
            if (c > (out < in ? out : in)) any_dense = true; /* Σr beyond the module's rank */
            if ((out < in ? out : in) > max_k0) max_k0 = out < in ? out : in;
            for (int i = 0; i < n; i++)
                if (ps[i].pc.targets[t]) {
                    const int64_t r = eco_lora_adapter_module(ps[i].a, l, (eco_lora_target)t)->r;
                    if (r > max_parent_r) max_parent_r = r;
                }
            n_modules++;
        }
    }
    if (R == 0) R = max_parent_r;
    /* every module concatenated: the adapter needs only the largest Σ r_i */
    bool all_concat = factored_method(o->params.method) && max_sum <= R;
    for (int t = 0; all_concat && t < ECO_LORA__COUNT; t++) {
        int64_t out, in;
        eco_lora_module_dims(&cfg, (eco_lora_target)t, &out, &in);
        if (targets[t] && max_sum > (out < in ? out : in)) all_concat = false;
    }
    if (all_concat) R = max_sum;
    if (R > max_k0) R = max_k0; /* more would only be zero directions */

    /* buffers: one work set per thread (modules run in parallel, one per thread, each with
     * single-threaded BLAS and LAPACK inside the region: the bytes do not depend on the
     * thread count) */
    const size_t n_slots = (size_t)cfg.n_layers * ECO_LORA__COUNT;
    const int n_threads = omp_get_max_threads() > 0 ? omp_get_max_threads() : 1;
    const work_sizes wz = {.numel = max_numel,
                           .ab = (size_t)max_parent_r * (size_t)max_dim,
                           .cat = (size_t)max_sum * (size_t)max_dim,
                           .dim = (size_t)max_dim,
                           .n_parents = (size_t)n,
                           .dense = any_dense,
                           .factored = factored_method(o->params.method)};
    mos = eco_calloc_array(n_slots, sizeof *mos);
    mods = eco_calloc_array(n_slots, sizeof *mods);
    ts = eco_calloc_array(2 * n_slots, sizeof *ts);
    ws = eco_calloc_array((size_t)n_threads, sizeof *ws);
    if (ws) ws_n = n_threads;
    zero = eco_calloc_array(max_numel, sizeof(float));
    result = json_object();
    per_module = json_object();
    bool ok = mos && mods && ts && ws && zero && result && per_module;
    for (int i = 0; ok && i < n_threads; i++) ok = work_alloc(&ws[i], &wz, zero);
    size_t *jobs = NULL, n_jobs = 0;
    if (ok && (jobs = eco_malloc_array(n_slots, sizeof *jobs)))
        for (size_t s = 0; s < n_slots; s++)
            if (targets[s % ECO_LORA__COUNT]) jobs[n_jobs++] = s;
    for (size_t j = 0; ok && jobs && j < n_jobs; j++) {
        int64_t out, in;
        eco_lora_module_dims(&cfg, (eco_lora_target)(jobs[j] % ECO_LORA__COUNT), &out, &in);
        mos[jobs[j]].B = eco_calloc_array((size_t)out * (size_t)R, sizeof(float));
        mos[jobs[j]].A = eco_calloc_array((size_t)R * (size_t)in, sizeof(float));
        ok = mos[jobs[j]].B && mos[jobs[j]].A;
    }
    if (!ok || !jobs) {
        free(jobs);
        rc = eco_error(ECO_STATUS_ENOMEM, "merge: out of memory for the merge's buffers");
        goto done;
    }

    const char *inputs[ECO_MERGE_MAX_PARENTS + 1];
    for (int i = 0; i < n; i++) inputs[i] = o->parents[i];
    inputs[n] = o->base;
    if ((rc = eco_output_begin(&od, o->out, inputs, (size_t)n + 1, NULL,
                               o->force ? ECO_OUTPUT_FORCE : 0))) {
        free(jobs);
        goto done;
    }
    begun = true;

    if (o->progress) eco_progress_begin(&pg, "merge adapters", (double)n_modules, "modules");
    int failed = 0;
    size_t done_modules = 0;
#pragma omp parallel num_threads(n_threads)
    {
        work *w = &ws[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 1)
        for (size_t j = 0; j < n_jobs; j++) {
            int stop;
#pragma omp atomic read
            stop = failed;
            if (stop) continue;
            const size_t s = jobs[j];
            module_out *mo = &mos[s];
            mo->st = merge_module(o, &cfg, ps, (int64_t)(s / ECO_LORA__COUNT),
                                  (int)(s % ECO_LORA__COUNT), R, w, mo);
            if (mo->st) {
                /* the message is this thread's: keep it for the caller's */
                snprintf(mo->msg, sizeof mo->msg, "%s", eco_last_error());
#pragma omp atomic write
                failed = 1;
            }
#pragma omp critical(eco_merge_lora_progress)
            if (o->progress) eco_progress_update(&pg, (double)++done_modules);
        }
    }
    if (o->progress) eco_progress_end(&pg);
    free(jobs);

    /* in module order: the first failure, the figures, the tensors */
    double norm2 = 0, err2 = 0, max_rel = 0;
    uint64_t bytes_read = 0, bytes_written = 0;
    bool every_concat = true;
    for (size_t s = 0; s < n_slots; s++)
        if (mos[s].st) {
            rc = eco_error(mos[s].st, "%s", mos[s].msg);
            goto done;
        }
    for (size_t s = 0; s < n_slots; s++) {
        const int t = (int)(s % ECO_LORA__COUNT);
        const int64_t l = (int64_t)(s / ECO_LORA__COUNT);
        if (!targets[t]) continue;
        int64_t out, in;
        eco_lora_module_dims(&cfg, (eco_lora_target)t, &out, &in);
        module_out *mo = &mos[s];
        every_concat &= mo->concat;
        for (int i = 0; i < n; i++)
            if (ps[i].pc.targets[t]) {
                const eco_lora_module *m = eco_lora_adapter_module(ps[i].a, l, (eco_lora_target)t);
                bytes_read += m->A->nbytes + m->B->nbytes;
            }
        const double rel = mo->norm2 > 0 ? sqrt(mo->err2 / mo->norm2) : 0.0;
        if (rel > max_rel) max_rel = rel;
        norm2 += mo->norm2;
        err2 += mo->err2;
        char name[160];
        snprintf(name, sizeof name, "model.layers.%lld.%s", (long long)l,
                 eco_lora_target_path((eco_lora_target)t));
        if (json_object_set_new(per_module, name, json_real(rel))) {
            rc = eco_error(ECO_STATUS_ENOMEM, "merge: out of memory");
            goto done;
        }
        eco_tensor *tb = &ts[2 * s], *ta = &ts[2 * s + 1];
        *tb = (eco_tensor){.dtype = ECO_DTYPE_F32, .ndim = 2, .shape = {out, R}, .data = mo->B};
        *ta = (eco_tensor){.dtype = ECO_DTYPE_F32, .ndim = 2, .shape = {R, in}, .data = mo->A};
        tb->nbytes = (size_t)out * (size_t)R * sizeof(float);
        ta->nbytes = (size_t)R * (size_t)in * sizeof(float);
        bytes_written += tb->nbytes + ta->nbytes;
        mods[s] = (eco_lora_module){.A = ta, .B = tb, .r = R, .scale = 1.0f};
    }

    /* the adapter: rank R, alpha R (scale 1), the union of targets */
    eco_peft_config oc;
    eco_peft_config_init(&oc);
    oc.r = R;
    oc.lora_alpha = (double)R;
    oc.lora_dropout = ps[0].pc.lora_dropout;
    memcpy(oc.targets, targets, sizeof oc.targets);
    for (int i = 0; i < n && !oc.base_model_name_or_path[0]; i++)
        snprintf(oc.base_model_name_or_path, sizeof oc.base_model_name_or_path, "%s",
                 ps[i].pc.base_model_name_or_path);
    if (!oc.base_model_name_or_path[0] && o->base)
        eco_peft_base_name(o->base, oc.base_model_name_or_path, sizeof oc.base_model_name_or_path);
    const double rel_error = norm2 > 0 ? sqrt(err2 / norm2) : 0.0;
    if (json_object_set_new(result, "factorization",
                            json_string(every_concat ? "concatenation" : "svd")) ||
        json_object_set_new(result, "rank", json_integer(R)) ||
        json_object_set_new(result, "rel_error", json_real(rel_error)) ||
        json_object_set_new(result, "max_rel_error", json_real(max_rel)) ||
        json_object_set_new(result, "modules", json_incref(per_module))) {
        rc = eco_error(ECO_STATUS_ENOMEM, "merge: out of memory");
        goto done;
    }
    if ((rc = eco_lora_adapter_save(od.tmp, &oc, mods, cfg.n_layers)) ||
        (rc = write_lineage(od.tmp, o, result)))
        goto done;
    rc = eco_output_commit(&od);
    begun = false;
    if (rc) goto done;
    if (rep) {
        rep->adapters = true;
        rep->n_tensors = (int64_t)n_modules;
        rep->bytes_read = bytes_read;
        rep->bytes_written = bytes_written;
        rep->concatenated = every_concat;
        rep->rank = R;
        rep->rel_error = rel_error;
        rep->result = json_incref(result);
        rep->seconds = eco_now() - t0;
    }

done:
    if (begun) eco_output_abort(&od);
    if (mos)
        for (size_t s = 0; s < (size_t)cfg.n_layers * ECO_LORA__COUNT; s++) {
            free(mos[s].A);
            free(mos[s].B);
        }
    free(mos);
    free(mods);
    free(ts);
    if (ws)
        for (int i = 0; i < ws_n; i++) work_free(&ws[i]);
    free(ws);
    free(zero);
    json_decref(result);
    json_decref(per_module);
    for (int i = 0; i < n; i++) eco_lora_adapter_free(ps[i].a);
    return rc;
}
