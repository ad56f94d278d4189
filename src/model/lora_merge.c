/*
 * eco_model_merge_adapter: a LoRA adapter folded into a new model folder.
 *
 * The base is loaded as for inference (which checks every tensor) and the adapter is
 * attached to it (which checks it against the base and widens A and B to f32); each
 * adapted matrix is then widened to f32 [out, in], gets W += s·B·A (add_scaled_product), and is
 * rounded once to the base tensor's dtype (q8_0: quantized again, and the folder stays a
 * q8_0 folder, safetensors.h). Every other tensor is written from the mapping as it is.
 */
#include "model/model_internal.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* work[out, in] += s · (B[out, r] · A[r, in]), each row's sums in the order j = 0..r-1 and
 * scaled once: the same bytes for any thread count (an sgemm's blocking, and so its rounding,
 * depends on how many threads OpenBLAS splits the product over). */
static void add_scaled_product(float *work, const float *B, const float *A, int64_t out, int64_t in,
                               int64_t r, float s) {
#pragma omp parallel
    {
        float *acc = malloc((size_t)in * sizeof *acc);
#pragma omp for schedule(static)
        for (int64_t o = 0; o < out; o++) {
            float *row = work + (size_t)o * (size_t)in;
            if (!acc) { /* no scratch row: the same order, one element at a time */
                for (int64_t i = 0; i < in; i++) {
                    float a = 0.0f;
                    for (int64_t j = 0; j < r; j++) a += B[o * r + j] * A[j * in + i];
                    row[i] += s * a;
                }
                continue;
            }
            for (int64_t i = 0; i < in; i++) acc[i] = 0.0f;
            for (int64_t j = 0; j < r; j++) {
                const float b = B[o * r + j];
                const float *a = A + (size_t)j * (size_t)in;
                for (int64_t i = 0; i < in; i++) acc[i] += b * a[i];
            }
            for (int64_t i = 0; i < in; i++) row[i] += s * acc[i];
        }
        free(acc);
    }
}

/* Copies dir_in/name to dir_out/name byte for byte, atomically. ENOTFOUND when absent
 * (the caller decides whether that matters). */
static eco_status copy_file(const char *dir_in, const char *dir_out, const char *name) {
    char *src = eco_path_join(dir_in, name), *dst = eco_path_join(dir_out, name);
    eco_status st;
    if (!src || !dst) {
        st = eco_error(ECO_STATUS_ENOMEM, "merge: out of memory");
        goto done;
    }
    char *data = NULL;
    size_t len = 0;
    st = eco_read_file(src, (size_t)1 << 30, &data, &len);
    if (st == ECO_STATUS_OK) {
        st = eco_write_file_atomic(dst, data, len);
        free(data);
    }
done:
    free(src);
    free(dst);
    return st;
}

/* {"role", "file", "sha256"} for a parent's weights file dir/name (no path: the merged
 * folder's bytes must not depend on where its parents lay). */
static eco_status parent_json(const char *role, const char *dir, const char *name,
                              json_t *parents) {
    char *p = eco_path_join(dir, name);
    if (!p) return eco_error(ECO_STATUS_ENOMEM, "merge: out of memory");
    uint8_t d[ECO_SHA256_LEN];
    char hex[ECO_SHA256_HEX_LEN + 1];
    eco_status st = eco_sha256_file(p, d);
    free(p);
    if (st) return st;
    eco_hex(hex, d, ECO_SHA256_LEN);
    if (json_array_append_new(
            parents, json_pack("{s:s, s:s, s:s}", "role", role, "file", name, "sha256", hex)))
        return eco_error(ECO_STATUS_ENOMEM, "merge: out of memory");
    return ECO_STATUS_OK;
}

/* lineage.json (ECO_LINEAGE_FILE, core.h): operation "merge" with the adapter's
 * configuration, parents the base and the adapter by their weights' digests. */
static eco_status write_lineage(const char *base_dir, const char *adapter_dir,
                                const eco_peft_config *pc, const char *out_dir) {
    char *pc_json = NULL, *path = NULL;
    size_t pc_len = 0;
    json_t *parents = json_array(), *rec = NULL, *lora = NULL;
    eco_status st = eco_peft_config_to_json(pc, &pc_json, &pc_len);
    if (st) goto done;
    json_error_t err;
    lora = json_loadb(pc_json, pc_len, 0, &err);
    if (!parents || !lora) {
        st = eco_error(ECO_STATUS_ENOMEM, "merge: out of memory");
        goto done;
    }
    json_t *base_entry = NULL; /* the index and every shard when sharded */
    if ((st = eco_weights_lineage_entry(base_dir, "base", NULL, NULL, 0, &base_entry))) goto done;
    if (json_array_append_new(parents, base_entry)) {
        st = eco_error(ECO_STATUS_ENOMEM, "merge: out of memory");
        goto done;
    }
    if ((st = parent_json("adapter", adapter_dir, "adapter_model.safetensors", parents))) goto done;
    rec = json_pack("{s:s, s:s, s:{s:s, s:{s:O}, s:i}, s:O}", "tool", "ecology", "version",
                    ECO_VERSION_STRING, "operation", "name", "merge", "params", "lora", lora,
                    "seed", 0, "parents", parents);
    path = eco_path_join(out_dir, ECO_LINEAGE_FILE);
    st = rec && path ? eco_json_write_canonical_file(path, rec)
                     : eco_error(ECO_STATUS_ENOMEM, "merge: out of memory");
done:
    json_decref(rec);
    json_decref(lora);
    json_decref(parents);
    free(pc_json);
    free(path);
    return st;
}

static bool same_dir(const char *a, const char *b) {
    char ra[PATH_MAX], rb[PATH_MAX];
    if (!realpath(a, ra) || !realpath(b, rb)) return false;
    return strcmp(ra, rb) == 0;
}

eco_status eco_model_merge_adapter(const char *base_dir, const char *adapter_dir,
                                   const char *out_dir) {
    if (!base_dir || !adapter_dir || !out_dir)
        return eco_error(ECO_STATUS_EINVAL, "merge: NULL argument");
    eco_model *m = NULL;
    eco_lora_adapter *a = NULL;
    eco_tensor *ts = NULL;
    void **owned = NULL; /* [n_tensors] merged data, NULL where the tensor is copied */
    float *work = NULL;
    size_t n_t = 0;
    char *path = NULL;
    eco_status st = eco_model_load(base_dir, &m);
    if (st) return st;
    const eco_model_config *c = &m->cfg;
    if ((st = eco_lora_adapter_load(adapter_dir, c, &a))) goto done;
    if ((st = eco_model_set_adapter(m, a))) goto done;
    if ((st = eco_mkdir_p(out_dir))) goto done;
    if (same_dir(base_dir, out_dir)) {
        st = eco_error(ECO_STATUS_EINVAL, "merge: the output folder %s is the base model's folder",
                       out_dir);
        goto done;
    }
    path = eco_path_join(out_dir, "model.safetensors.index.json");
    if (!path) {
        st = eco_error(ECO_STATUS_ENOMEM, "merge: out of memory");
        goto done;
    }
    FILE *fp = fopen(path, "rb");
    if (fp) {
        fclose(fp);
        st = eco_error(ECO_STATUS_EINVAL,
                       "merge: %s exists and would shadow the merged model.safetensors", path);
        goto done;
    }
    free(path);
    path = NULL;

    const eco_weights *w = eco_model_get_weights(m);
    n_t = eco_weights_count(w);
    ts = eco_calloc_array(n_t ? n_t : 1, sizeof *ts);
    owned = eco_calloc_array(n_t ? n_t : 1, sizeof *owned);
    if (!ts || !owned) {
        st = eco_error(ECO_STATUS_ENOMEM, "merge: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_t; i++) ts[i] = *eco_weights_get(w, i);

    /* The work buffer for the largest adapted matrix, [out, in] f32. */
    size_t work_floats = 0;
    for (int t = 0; t < ECO_LORA__COUNT; t++) {
        int64_t out, in;
        eco_lora_module_dims(c, (eco_lora_target)t, &out, &in);
        size_t nf = (size_t)out * (size_t)in; /* fits: checked by eco_model_load */
        if (nf > work_floats) work_floats = nf;
    }
    work = eco_malloc_array(work_floats ? work_floats : 1, sizeof(float));
    if (!work) {
        st = eco_error(ECO_STATUS_ENOMEM, "merge: out of memory for a %zu-float work buffer",
                       work_floats);
        goto done;
    }

    for (int64_t l = 0; l < c->n_layers; l++) {
        const eco_layer *ly = &m->layers[l];
        const eco_tensor *const base_w[ECO_LORA__COUNT] = {ly->wq, ly->wk, ly->wv, ly->wo,
                                                           ly->wg, ly->wu, ly->wd};
        for (int t = 0; t < ECO_LORA__COUNT; t++) {
            const eco_lora_w *lw = &m->lora[l * ECO_LORA__COUNT + t];
            if (!lw->A) continue;
            const eco_tensor *W = base_w[t];
            size_t idx = n_t;
            for (size_t i = 0; i < n_t;
                 i++) /* by name: W may be the model's aligned or fused copy */
                if (strcmp(eco_weights_get(w, i)->name, W->name) == 0) idx = i;
            if (idx == n_t) {
                st = eco_error(ECO_STATUS_EINTERNAL, "merge: layer %lld %s: base tensor not found",
                               (long long)l, eco_lora_target_path((eco_lora_target)t));
                goto done;
            }
            const int64_t out = W->shape[0], in = W->shape[1];
            const size_t numel = (size_t)out * (size_t)in;
            /* work[out, in] = W (f32) + s · B[out, r] · A[r, in], rounded once to W's dtype */
            eco_to_f32(work, W->data, W->dtype, numel);
            add_scaled_product(work, lw->B, lw->A, out, in, lw->r, lw->scale);
            void *dst = malloc(W->nbytes ? W->nbytes : 1);
            if (!dst) {
                st = eco_error(ECO_STATUS_ENOMEM, "merge: out of memory for %s",
                               W->name ? W->name : "a tensor");
                goto done;
            }
            eco_from_f32(dst, W->dtype, work, numel);
            owned[idx] = dst;
            ts[idx].data = dst;
        }
    }

    /* Weights first, tokenizer files and the lineage record next, config.json last: a
     * folder with a config.json is complete. */
    path = eco_path_join(out_dir, "model.safetensors");
    if (!path) {
        st = eco_error(ECO_STATUS_ENOMEM, "merge: out of memory");
        goto done;
    }
    /* a q8_0 base (its merged matrices rounded to q8_0 again) stays a q8_0 folder */
    bool q8_0 = false;
    for (size_t i = 0; i < n_t; i++)
        if (ts[i].dtype == ECO_DTYPE_Q8_0) {
            ts[i] = eco_q8_0_storage_view(&ts[i]);
            q8_0 = true;
        }
    static const char *const meta[4] = {"format", "pt", ECO_Q8_0_META_KEY, "q8_0"};
    if ((st = eco_safetensors_write(path, ts, n_t, meta, q8_0 ? 2 : 1))) goto done;
    static const char *const optional[] = {"tokenizer.json", "tokenizer_config.json",
                                           "special_tokens_map.json", "generation_config.json"};
    for (size_t i = 0; i < sizeof optional / sizeof *optional; i++) {
        st = copy_file(base_dir, out_dir, optional[i]);
        if (st == ECO_STATUS_ENOTFOUND) st = ECO_STATUS_OK;
        if (st) goto done;
    }
    if ((st = write_lineage(base_dir, adapter_dir, &a->config, out_dir))) goto done;
    st = copy_file(base_dir, out_dir, "config.json");

done:
    if (owned)
        for (size_t i = 0; i < n_t; i++) free(owned[i]);
    free(owned);
    free(ts);
    free(work);
    free(path);
    eco_lora_adapter_free(a);
    eco_model_free(m);
    return st;
}
