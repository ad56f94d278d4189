/*
 * eco_extract_lora_dir: a LoRA adapter from a full fine-tune and its base (merge_dir.h;
 * mergekit's extract-lora: rank cap, --sv-epsilon as an absolute threshold on the singular
 * values, √S split to both halves).
 *
 * Both models are memory-mapped; the seven linear weights of each layer are read one pair
 * at a time (widened to f32, their pages dropped after), δ = W_ft − W_base gets a thin SVD
 * (lora_svd.c) and its kept halves are held until the adapter is written. Every other
 * tensor is compared in chunks: a LoRA cannot carry a changed norm or embedding, so those
 * are reported (or refused with strict).
 */
#include "breeder/lora_lineage.h"
#include "breeder/lora_svd.h"
#include "ecology/merge_dir.h"
#include "ecology/peft.h"

#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One module's kept halves, B [out, k] and A [k, in], and its singular-value sums. */
typedef struct extracted {
    const eco_tensor *tb, *tf; /* the base's and the fine-tune's weight (NULL: no module) */
    float *B, *A;
    int64_t k;
    double kept2, total2;
    eco_status st;
    char msg[512];
} extracted;

/* One thread's buffers: both weights widened [out·in], S, the top-cap halves. */
typedef struct xwork {
    float *x, *y, *S, *Bt, *At;
} xwork;

static void xwork_free(xwork *w) {
    free(w->x);
    free(w->y);
    free(w->S);
    free(w->Bt);
    free(w->At);
}

/* δ = W_ft − W_base of one module, its SVD, the kept halves into e (B [out, k], A [k, in]). */
static eco_status extract_module(const eco_extract_options *o, const eco_weights *wf,
                                 const eco_weights *wb, int64_t cap, xwork *w, extracted *e) {
    const eco_tensor *tb = e->tb, *tf = e->tf;
    const int64_t out = tb->shape[0], in = tb->shape[1], k0 = out < in ? out : in;
    const size_t numel = (size_t)out * (size_t)in;
    eco_to_f32(w->x, tf->data, tf->dtype, numel);
    eco_to_f32(w->y, tb->data, tb->dtype, numel);
    eco_weights_release(wf, tf);
    eco_weights_release(wb, tb);
    for (size_t j = 0; j < numel; j++) w->x[j] -= w->y[j];
    const int64_t kc = cap < k0 ? cap : k0;
    char label[160];
    snprintf(label, sizeof label, "extract: %s", tb->name);
    eco_status rc = eco_lora_svd(w->x, out, in, kc, w->S, w->Bt, kc, w->At, label);
    if (rc) return rc;
    int64_t k = kc;
    if (o->sv_epsilon > 0)
        for (k = 0; k < kc && w->S[k] > o->sv_epsilon;) k++;
    while (k > 0 && w->S[k - 1] <= 0) k--; /* a zero direction is no direction */
    for (int64_t j = 0; j < k0; j++) {
        const double s2 = (double)w->S[j] * w->S[j];
        e->total2 += s2;
        if (j < k) e->kept2 += s2;
    }
    e->k = k;
    e->B = eco_malloc_array((size_t)out * (size_t)(k ? k : 1), sizeof(float));
    e->A = eco_malloc_array((size_t)(k ? k : 1) * (size_t)in, sizeof(float));
    if (!e->B || !e->A) return eco_error(ECO_STATUS_ENOMEM, "extract: out of memory");
    for (int64_t r = 0; r < out; r++)
        memcpy(e->B + r * k, w->Bt + r * kc, (size_t)k * sizeof(float));
    memcpy(e->A, w->At, (size_t)k * (size_t)in * sizeof(float));
    return ECO_STATUS_OK;
}

/* EINVAL naming the first config field where the two models differ in shape. */
static eco_status same_shape(const eco_model_config *a, const eco_model_config *b,
                             const char *model, const char *base) {
    const struct {
        const char *name;
        int64_t x, y;
    } f[] = {
        {"architectures", a->arch, b->arch},
        {"vocab_size", a->vocab_size, b->vocab_size},
        {"hidden_size", a->hidden_size, b->hidden_size},
        {"intermediate_size", a->intermediate_size, b->intermediate_size},
        {"num_hidden_layers", a->n_layers, b->n_layers},
        {"num_attention_heads", a->n_heads, b->n_heads},
        {"num_key_value_heads", a->n_kv_heads, b->n_kv_heads},
        {"head_dim", a->head_dim, b->head_dim},
    };
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        if (f[i].x != f[i].y)
            return eco_error(ECO_STATUS_EINCOMPAT,
                             "extract: %s/config.json: %s is %lld but %lld in the base %s: not "
                             "a fine-tune of that base",
                             model, f[i].name, (long long)f[i].x, (long long)f[i].y, base);
    return ECO_STATUS_OK;
}

/* (layer, target) of "model.layers.L.<path>.weight"; false for any other name. */
static bool linear_name(const char *name, int64_t *layer, int *target) {
    eco_lora_target t;
    const char *rest = eco_lora_module_name(name, "model.layers.", layer, &t);
    if (!rest || strcmp(rest, ".weight") != 0) return false;
    *target = (int)t;
    return true;
}

static bool same_dims(const eco_tensor *a, const eco_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return false;
    return true;
}

/* ‖ft − base‖² and ‖base‖² of two tensors of any float dtype, in chunks. */
static eco_status diff_norms(const eco_tensor *ft, const eco_tensor *base, float *x, float *y,
                             size_t chunk, double *d2, double *b2) {
    const size_t n = eco_tensor_numel(base);
    const size_t ef = ft->nbytes / (n ? n : 1), eb = base->nbytes / (n ? n : 1);
    *d2 = *b2 = 0;
    for (size_t i = 0; i < n; i += chunk) {
        const size_t m = n - i < chunk ? n - i : chunk;
        eco_to_f32(x, (const char *)ft->data + i * ef, ft->dtype, m);
        eco_to_f32(y, (const char *)base->data + i * eb, base->dtype, m);
        for (size_t j = 0; j < m; j++) {
            const double d = (double)x[j] - y[j];
            *d2 += d * d;
            *b2 += (double)y[j] * y[j];
        }
    }
    return isfinite(*d2) ? ECO_STATUS_OK
                         : eco_error(ECO_STATUS_EFORMAT, "extract: tensor '%s': non-finite values",
                                     base->name);
}

static bool is_float(eco_dtype d) {
    return d == ECO_DTYPE_F32 || d == ECO_DTYPE_F16 || d == ECO_DTYPE_BF16;
}

static eco_status write_lineage(const char *dir, const eco_extract_options *o,
                                const json_t *result) {
    json_t *parents = json_array();
    json_t *params = json_pack("{s:I, s:f, s:b}", "rank", (json_int_t)o->rank, "sv_epsilon",
                               o->sv_epsilon, "strict", o->strict);
    eco_status rc =
        parents && params ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "extract: out of memory");
    if (!rc && !(rc = eco_lora_lineage_parent(parents, "base", o->base, NULL)) &&
        !(rc = eco_lora_lineage_parent(parents, "parent", o->model, NULL)))
        rc = eco_lora_lineage_write(dir, "extract", params, 0, result, parents);
    json_decref(parents);
    json_decref(params);
    return rc;
}

static eco_status check_options(const eco_extract_options *o) {
    if (!o || !o->model || !o->base || !o->out)
        return eco_error(ECO_STATUS_EINVAL, "extract: NULL argument");
    if (o->rank < 0 || o->rank > INT32_MAX)
        return eco_error(ECO_STATUS_EINVAL, "extract: rank %lld: expected 1 to %d",
                         (long long)o->rank, INT32_MAX);
    if (!isfinite(o->sv_epsilon) || o->sv_epsilon < 0)
        return eco_error(ECO_STATUS_EINVAL, "extract: sv_epsilon %g: expected a finite value >= 0",
                         o->sv_epsilon);
    if (o->rank == 0 && o->sv_epsilon == 0)
        return eco_error(ECO_STATUS_EINVAL, "extract: give a rank, an sv_epsilon, or both");
    return ECO_STATUS_OK;
}

eco_status eco_extract_lora_dir(const eco_extract_options *o, eco_merge_dir_report *rep) {
    if (rep) memset(rep, 0, sizeof *rep);
    eco_status rc = check_options(o);
    if (rc) return rc;
    const double t0 = eco_now();
    eco_model_config cf, cb;
    eco_weights *wf = NULL, *wb = NULL;
    extracted *ex = NULL;
    eco_lora_module *mods = NULL;
    eco_tensor *ts = NULL;
    xwork *ws = NULL;
    int ws_n = 0;
    json_t *result = json_object(), *modules = json_object(), *other = json_object();
    eco_output_dir od;
    memset(&od, 0, sizeof od);
    bool begun = false;
    size_t n_slots = 0;
    eco_progress pg;
    memset(&pg, 0, sizeof pg);
    if (!result || !modules || !other) {
        rc = eco_error(ECO_STATUS_ENOMEM, "extract: out of memory");
        goto done;
    }
    if ((rc = eco_path_require_dir(o->model, ECO_MODEL_DIR_EXPECTED)) ||
        (rc = eco_path_require_dir(o->base, ECO_MODEL_DIR_EXPECTED)) ||
        (rc = eco_config_load(o->model, &cf)) || (rc = eco_config_load(o->base, &cb)) ||
        (rc = same_shape(&cf, &cb, o->model, o->base)) || (rc = eco_weights_open(o->model, &wf)) ||
        (rc = eco_weights_open(o->base, &wb)))
        goto done;

    /* the same tensors, of the same shapes, on both sides */
    for (int side = 0; side < 2; side++) {
        const eco_weights *a = side ? wb : wf, *b = side ? wf : wb;
        for (size_t i = 0; i < eco_weights_count(a); i++) {
            const eco_tensor *t = eco_weights_get(a, i), *u = eco_weights_find(b, t->name);
            if (!u)
                rc = eco_error(ECO_STATUS_EINCOMPAT,
                               "extract: tensor '%s' is in %s but not in %s: not a fine-tune of "
                               "that base",
                               t->name, side ? o->base : o->model, side ? o->model : o->base);
            else if (!same_dims(t, u) || !is_float(t->dtype) || !is_float(u->dtype))
                rc = eco_error(ECO_STATUS_EINCOMPAT,
                               "extract: tensor '%s': shapes or dtypes differ between %s and %s "
                               "(float tensors of one shape expected)",
                               t->name, o->model, o->base);
            if (rc) goto done;
        }
    }

    /* buffers: the largest linear weight; chunks of the other tensors */
    size_t max_numel = 0;
    int64_t max_dim = 0;
    for (int t = 0; t < ECO_LORA__COUNT; t++) {
        int64_t out, in;
        eco_lora_module_dims(&cb, (eco_lora_target)t, &out, &in);
        if ((size_t)out * (size_t)in > max_numel) max_numel = (size_t)out * (size_t)in;
        if (out > max_dim) max_dim = out;
        if (in > max_dim) max_dim = in;
    }
    const size_t chunk = (size_t)1 << 16;
    const size_t xy = max_numel > chunk ? max_numel : chunk;
    n_slots = (size_t)cb.n_layers * ECO_LORA__COUNT;
    const int64_t cap = o->rank > 0 && o->rank < max_dim ? o->rank : max_dim;
    /* modules run in parallel, one per thread with single-threaded LAPACK inside the region,
     * so the bytes do not depend on the thread count */
    const int n_threads = omp_get_max_threads() > 0 ? omp_get_max_threads() : 1;
    ws = eco_calloc_array((size_t)n_threads, sizeof *ws);
    ex = eco_calloc_array(n_slots, sizeof *ex);
    mods = eco_calloc_array(n_slots, sizeof *mods);
    ts = eco_calloc_array(2 * n_slots, sizeof *ts);
    bool ok = ws && ex && mods && ts;
    if (ws) ws_n = n_threads;
    for (int i = 0; ok && i < n_threads; i++) {
        xwork *w = &ws[i];
        w->x = eco_malloc_array(xy, sizeof *w->x);
        w->y = eco_malloc_array(xy, sizeof *w->y);
        w->S = eco_malloc_array((size_t)max_dim, sizeof *w->S);
        w->Bt = eco_malloc_array((size_t)max_dim * (size_t)cap, sizeof *w->Bt);
        w->At = eco_malloc_array((size_t)cap * (size_t)max_dim, sizeof *w->At);
        ok = w->x && w->y && w->S && w->Bt && w->At;
    }
    if (!ok) {
        rc = eco_error(ECO_STATUS_ENOMEM, "extract: out of memory for the buffers");
        goto done;
    }

    /* the output is checked (and its temporary folder made) before the work */
    const char *inputs[2] = {o->model, o->base};
    if ((rc = eco_output_begin(&od, o->out, inputs, 2, NULL, o->force ? ECO_OUTPUT_FORCE : 0)))
        goto done;
    begun = true;
    if (o->progress) eco_progress_begin(&pg, "extract", (double)eco_weights_count(wb), "tensors");
    uint64_t bytes_read = 0;
    double kept2 = 0, total2 = 0;
    size_t n_done = 0;
    /* every other tensor first (compared in chunks), the linear modules listed */
    for (size_t i = 0; i < eco_weights_count(wb); i++) {
        const eco_tensor *tb = eco_weights_get(wb, i), *tf = eco_weights_find(wf, tb->name);
        bytes_read += tb->nbytes + tf->nbytes;
        int64_t l;
        int t;
        if (linear_name(tb->name, &l, &t)) {
            if (l >= cb.n_layers) {
                rc = eco_error(ECO_STATUS_EFORMAT,
                               "extract: %s: tensor '%s': layer %lld, but %s/config.json gives "
                               "%lld layers",
                               o->base, tb->name, (long long)l, o->base, (long long)cb.n_layers);
                goto done;
            }
            /* the buffers are sized from config.json: a module only at the shape it gives
             * (the fine-tune's tensor has the base's shape, checked above) */
            int64_t out, in;
            eco_lora_module_dims(&cb, (eco_lora_target)t, &out, &in);
            if (tb->ndim != 2 || tb->shape[0] != out || tb->shape[1] != in) {
                char shape[96];
                int n = snprintf(shape, sizeof shape, "[");
                for (int d = 0; d < tb->ndim && n > 0 && (size_t)n < sizeof shape; d++)
                    n += snprintf(shape + n, sizeof shape - (size_t)n, "%s%lld", d ? ", " : "",
                                  (long long)tb->shape[d]);
                if (n > 0 && (size_t)n < sizeof shape)
                    snprintf(shape + n, sizeof shape - (size_t)n, "]");
                rc = eco_error(ECO_STATUS_EFORMAT,
                               "extract: %s: tensor '%s' has shape %s but %s/config.json gives "
                               "[%lld, %lld]",
                               o->base, tb->name, shape, o->base, (long long)out, (long long)in);
                goto done;
            }
            ex[(size_t)l * ECO_LORA__COUNT + (size_t)t].tb = tb;
            ex[(size_t)l * ECO_LORA__COUNT + (size_t)t].tf = tf;
            continue;
        }
        double d2, b2;
        if ((rc = diff_norms(tf, tb, ws[0].x, ws[0].y, chunk, &d2, &b2))) goto done;
        if (o->progress) eco_progress_update(&pg, (double)++n_done);
        if (d2 == 0) continue;
        const double rel = b2 > 0 ? sqrt(d2 / b2) : sqrt(d2);
        if (o->strict) {
            rc = eco_error(ECO_STATUS_EUNSUPPORTED,
                           "extract: tensor '%s' differs between the models (relative change "
                           "%.3g) and a LoRA of the seven linear modules cannot carry it",
                           tb->name, rel);
            goto done;
        }
        eco_log(ECO_LOG_WARN,
                "extract: tensor '%s' differs (relative change %.3g): not carried by the adapter",
                tb->name, rel);
        if (json_object_set_new(other, tb->name, json_real(rel))) {
            rc = eco_error(ECO_STATUS_ENOMEM, "extract: out of memory");
            goto done;
        }
    }
    for (size_t s = 0; s < n_slots; s++)
        if (!ex[s].tb) {
            rc = eco_error(ECO_STATUS_EFORMAT,
                           "extract: %s: no tensor 'model.layers.%lld.%s.weight', but "
                           "%s/config.json gives %lld layers",
                           o->base, (long long)(s / ECO_LORA__COUNT),
                           eco_lora_target_path((eco_lora_target)(s % ECO_LORA__COUNT)), o->base,
                           (long long)cb.n_layers);
            goto done;
        }
    int failed = 0;
#pragma omp parallel num_threads(n_threads)
    {
        xwork *w = &ws[omp_get_thread_num()];
#pragma omp for schedule(dynamic, 1)
        for (size_t s = 0; s < n_slots; s++) {
            int stop;
#pragma omp atomic read
            stop = failed;
            if (stop || !ex[s].tb) continue;
            extracted *e = &ex[s];
            if ((e->st = extract_module(o, wf, wb, cap, w, e))) {
                snprintf(e->msg, sizeof e->msg, "%s", eco_last_error());
#pragma omp atomic write
                failed = 1;
            }
#pragma omp critical(eco_extract_progress)
            if (o->progress) eco_progress_update(&pg, (double)++n_done);
        }
    }
    if (o->progress) eco_progress_end(&pg);
    for (size_t s = 0; s < n_slots; s++) {
        if (ex[s].st) {
            rc = eco_error(ex[s].st, "%s", ex[s].msg);
            goto done;
        }
        kept2 += ex[s].kept2;
        total2 += ex[s].total2;
    }

    /* the rank, the targets, the padded halves */
    int64_t R = 0;
    bool targets[ECO_LORA__COUNT] = {false};
    for (size_t s = 0; s < n_slots; s++) {
        if (ex[s].k > R) R = ex[s].k;
        if (ex[s].k > 0) targets[s % ECO_LORA__COUNT] = true;
    }
    if (R == 0) {
        rc = eco_error(ECO_STATUS_EINVAL,
                       "extract: the seven linear modules of %s equal those of %s%s: nothing to "
                       "extract",
                       o->model, o->base, o->sv_epsilon > 0 ? " (above sv_epsilon)" : "");
        goto done;
    }
    uint64_t bytes_written = 0;
    int64_t n_modules = 0;
    for (size_t s = 0; s < n_slots; s++) {
        const int t = (int)(s % ECO_LORA__COUNT);
        if (!targets[t]) continue;
        const int64_t l = (int64_t)(s / ECO_LORA__COUNT);
        int64_t out, in;
        eco_lora_module_dims(&cb, (eco_lora_target)t, &out, &in);
        extracted *e = &ex[s];
        float *B = eco_calloc_array((size_t)out * (size_t)R, sizeof *B);
        float *A = eco_calloc_array((size_t)R * (size_t)in, sizeof *A);
        if (!B || !A) {
            free(B);
            free(A);
            rc = eco_error(ECO_STATUS_ENOMEM, "extract: out of memory");
            goto done;
        }
        for (int64_t r = 0; r < out; r++)
            memcpy(B + r * R, e->B + r * e->k, (size_t)e->k * sizeof *B);
        memcpy(A, e->A, (size_t)e->k * (size_t)in * sizeof *A);
        free(e->B);
        free(e->A);
        e->B = B;
        e->A = A;
        ts[2 * s] = (eco_tensor){.dtype = ECO_DTYPE_F32, .ndim = 2, .shape = {out, R}, .data = B};
        ts[2 * s + 1] =
            (eco_tensor){.dtype = ECO_DTYPE_F32, .ndim = 2, .shape = {R, in}, .data = A};
        ts[2 * s].nbytes = (size_t)out * (size_t)R * sizeof(float);
        ts[2 * s + 1].nbytes = (size_t)R * (size_t)in * sizeof(float);
        bytes_written += ts[2 * s].nbytes + ts[2 * s + 1].nbytes;
        mods[s] = (eco_lora_module){.A = &ts[2 * s + 1], .B = &ts[2 * s], .r = R, .scale = 1.0f};
        char name[160];
        snprintf(name, sizeof name, "model.layers.%lld.%s", (long long)l,
                 eco_lora_target_path((eco_lora_target)t));
        if (json_object_set_new(modules, name,
                                json_pack("{s:I, s:f}", "rank", (json_int_t)e->k, "energy",
                                          e->total2 > 0 ? e->kept2 / e->total2 : 1.0))) {
            rc = eco_error(ECO_STATUS_ENOMEM, "extract: out of memory");
            goto done;
        }
        n_modules++;
    }
    const double energy = total2 > 0 ? kept2 / total2 : 1.0;
    const double rel_error = total2 > 0 ? sqrt(fmax(total2 - kept2, 0) / total2) : 0.0;
    if (json_object_set_new(result, "rank", json_integer(R)) ||
        json_object_set_new(result, "energy", json_real(energy)) ||
        json_object_set_new(result, "rel_error", json_real(rel_error)) ||
        json_object_set_new(result, "modules", json_incref(modules)) ||
        json_object_set_new(result, "not_extracted", json_incref(other))) {
        rc = eco_error(ECO_STATUS_ENOMEM, "extract: out of memory");
        goto done;
    }

    eco_peft_config pc;
    eco_peft_config_init(&pc);
    pc.r = R;
    pc.lora_alpha = (double)R;
    memcpy(pc.targets, targets, sizeof pc.targets);
    eco_peft_base_name(o->base, pc.base_model_name_or_path, sizeof pc.base_model_name_or_path);
    if ((rc = eco_lora_adapter_save(od.tmp, &pc, mods, cb.n_layers)) ||
        (rc = write_lineage(od.tmp, o, result)))
        goto done;
    begun = false;
    if ((rc = eco_output_commit(&od))) goto done;
    if (rep) {
        rep->adapters = true;
        rep->n_tensors = n_modules;
        rep->bytes_read = bytes_read;
        rep->bytes_written = bytes_written;
        rep->rank = R;
        rep->rel_error = rel_error;
        rep->result = json_incref(result);
        rep->seconds = eco_now() - t0;
    }
done:
    if (begun) eco_output_abort(&od);
    if (ex)
        for (size_t s = 0; s < n_slots; s++) {
            free(ex[s].B);
            free(ex[s].A);
        }
    free(ex);
    free(mods);
    free(ts);
    if (ws)
        for (int i = 0; i < ws_n; i++) xwork_free(&ws[i]);
    free(ws);
    json_decref(result);
    json_decref(modules);
    json_decref(other);
    eco_weights_close(wf);
    eco_weights_close(wb);
    return rc;
}
