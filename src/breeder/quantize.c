/*
 * eco_quantize_dir (quantize.h): a model folder to a q8_0 model folder, streamed tensor by
 * tensor through eco_safetensors_writer (sharded as Hugging Face does past 5 GB). Each
 * quantized tensor is read a row at a time (widened to f32, quantized, its error summed,
 * written) and its pages of the input mapping dropped once read, so memory holds one row.
 */
#include "ecology/quantize.h"

#include "ecology/config.h"
#include "ecology/safetensors.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The input tensors and the running error sums. */
typedef struct qctx {
    const eco_weights *w;
    const eco_tensor **src; /* [n] the input tensors, by name (eco_weights_get order) */
    bool *quantize;         /* [n] made q8_0 here */
    float *row;             /* [largest cols] one widened row */
    uint8_t *qrow;          /* [its q8_0 bytes] */
    double err2, ref2, max_err;
    uint64_t params;
} qctx;

static bool float_dtype(eco_dtype t) {
    return t == ECO_DTYPE_F32 || t == ECO_DTYPE_BF16 || t == ECO_DTYPE_F16;
}

/* A 2-D float matrix whose rows are whole q8_0 blocks. */
static bool quantizable(const eco_tensor *t) {
    return float_dtype(t->dtype) && t->ndim == 2 && t->shape[0] > 0 && t->shape[1] > 0 &&
           t->shape[1] % ECO_Q8_0_BLOCK == 0;
}

/* Input tensor i's output bytes into the writer: copied, or quantized a row at a time (so
 * memory holds one row), then its pages of the input mapping dropped. */
static eco_status put_tensor(qctx *q, size_t i, eco_safetensors_writer *sw) {
    const eco_tensor *t = q->src[i];
    eco_status st = ECO_STATUS_OK;
    if (!q->quantize[i]) {
        st = eco_safetensors_writer_write(sw, t->data, t->nbytes);
    } else {
        const int64_t rows = t->shape[0], cols = t->shape[1];
        const size_t in_row = (size_t)cols * eco_dtype_size(t->dtype);
        const size_t out_row = eco_dtype_row_bytes(ECO_DTYPE_Q8_0, cols);
        float back[ECO_Q8_0_BLOCK];
        for (int64_t r = 0; r < rows && !st; r++) {
            eco_to_f32(q->row, (const char *)t->data + (size_t)r * in_row, t->dtype, (size_t)cols);
            eco_q8_0_quantize_row(q->qrow, q->row, cols);
            for (int64_t b = 0; b < cols / ECO_Q8_0_BLOCK; b++) {
                eco_q8_0_dequantize_row_ref(back, q->qrow + b * ECO_Q8_0_BLOCK_BYTES,
                                            ECO_Q8_0_BLOCK);
                const float *x = q->row + b * ECO_Q8_0_BLOCK;
                for (int j = 0; j < ECO_Q8_0_BLOCK; j++) {
                    const double e = (double)x[j] - (double)back[j];
                    q->err2 += e * e;
                    q->ref2 += (double)x[j] * (double)x[j];
                    if (fabs(e) > q->max_err) q->max_err = fabs(e);
                }
            }
            st = eco_safetensors_writer_write(sw, q->qrow, out_row);
        }
        q->params += (uint64_t)rows * (uint64_t)cols;
    }
    eco_weights_release(q->w, t);
    return st;
}

static int cmp_name(const void *key, const void *elem) {
    return strcmp((const char *)key, (*(const eco_tensor *const *)elem)->name);
}

/* Copies dir_in/name to dir_out/name when it exists. */
static eco_status copy_if_present(const char *dir_in, const char *dir_out, const char *name,
                                  bool required) {
    if (!eco_path_has_file(dir_in, name))
        return required ? eco_error(ECO_STATUS_ENOTFOUND, "%s: %s is missing", dir_in, name)
                        : ECO_STATUS_OK;
    char *src = eco_path_join(dir_in, name), *dst = eco_path_join(dir_out, name);
    char *data = NULL;
    size_t len = 0;
    eco_status st = src && dst ? eco_read_file(src, (size_t)1 << 30, &data, &len)
                               : eco_error(ECO_STATUS_ENOMEM, "quantize: out of memory");
    if (st == ECO_STATUS_OK) st = eco_write_file_atomic(dst, data, len);
    free(data);
    free(src);
    free(dst);
    return st;
}

/* lineage.json: operation "quantize", the one parent by its weights' digests (the index
 * and every shard when sharded: eco_weights_lineage_entry). */
static eco_status write_lineage(const char *model, const char *out, const char *type,
                                const eco_quantize_report *r) {
    json_t *parent = NULL;
    eco_status st = eco_weights_lineage_entry(model, "parent", NULL, NULL, 0, &parent);
    if (st) return st;
    json_t *rec = json_pack(
        "{s:s, s:s, s:{s:s, s:{s:s}, s:i, s:{s:I, s:I, s:I, s:I, s:I, s:f, s:f}}, "
        "s:[o]}",
        "tool", "ecology", "version", ECO_VERSION_STRING, "operation", "name", "quantize", "params",
        "type", type, "seed", 0, "result", "tensors", (json_int_t)r->n_tensors, "tensors_quantized",
        (json_int_t)r->n_quantized, "params_quantized", (json_int_t)r->params_q8_0, "bytes_in",
        (json_int_t)r->bytes_in, "bytes_out", (json_int_t)r->bytes_out, "rel_rms_error",
        r->rel_rms_error, "max_abs_error", r->max_abs_error, "parents", parent);
    char *path = eco_path_join(out, ECO_LINEAGE_FILE);
    st = rec && path ? eco_json_write_canonical_file(path, rec)
                     : eco_error(ECO_STATUS_ENOMEM, "quantize: out of memory");
    free(path);
    json_decref(rec);
    return st;
}

eco_status eco_quantize_dir(const eco_quantize_options *o, eco_quantize_report *rep) {
    if (!o || !o->model || !o->out || !o->type)
        return eco_error(ECO_STATUS_EINVAL, "quantize: NULL argument");
    if (strcmp(o->type, "q8_0") != 0)
        return eco_error(ECO_STATUS_EINVAL, "quantize: type '%s' is not supported (q8_0)", o->type);
    eco_quantize_report r;
    memset(&r, 0, sizeof r);
    const double t0 = eco_now();
    eco_status st = eco_path_require_dir(o->model, ECO_MODEL_DIR_EXPECTED);
    if (st) return st;
    char *cfg_path = eco_path_join(o->model, "config.json");
    if (!cfg_path) return eco_error(ECO_STATUS_ENOMEM, "quantize: out of memory");
    eco_model_config cfg;
    st = eco_config_load(o->model, &cfg); /* a model folder, not an adapter or anything else */
    free(cfg_path);
    if (st) return st;

    eco_weights *w = NULL;
    eco_tensor *ts = NULL;
    qctx q;
    memset(&q, 0, sizeof q);
    eco_output_dir od;
    memset(&od, 0, sizeof od);
    if ((st = eco_weights_open(o->model, &w))) return st;
    const size_t n = eco_weights_count(w);
    ts = eco_calloc_array(n ? n : 1, sizeof *ts);
    q.src = eco_calloc_array(n ? n : 1, sizeof *q.src);
    q.quantize = eco_calloc_array(n ? n : 1, sizeof *q.quantize);
    if (!ts || !q.src || !q.quantize) {
        st = eco_error(ECO_STATUS_ENOMEM, "quantize: out of memory");
        goto done;
    }
    int64_t widest = 1;
    for (size_t i = 0; i < n; i++) {
        const eco_tensor *t = eco_weights_get(w, i);
        q.src[i] = t;
        ts[i] = *t;
        ts[i].data = NULL;
        r.bytes_in += t->nbytes;
        if (quantizable(t)) {
            q.quantize[i] = true;
            r.n_quantized++;
            if (t->shape[1] > widest) widest = t->shape[1];
            ts[i].dtype = ECO_DTYPE_Q8_0;
            ts[i].nbytes = (size_t)t->shape[0] * eco_dtype_row_bytes(ECO_DTYPE_Q8_0, t->shape[1]);
        }
        ts[i] = eco_q8_0_storage_view(&ts[i]); /* q8_0 (new or copied) as U8 blocks */
        r.bytes_out += ts[i].nbytes;
    }
    r.n_tensors = (int64_t)n;
    q.w = w;
    q.row = eco_malloc_array((size_t)widest, sizeof(float));
    q.qrow = eco_malloc_array(eco_dtype_row_bytes(ECO_DTYPE_Q8_0, widest) + 1, 1);
    if (!q.row || !q.qrow) {
        st = eco_error(ECO_STATUS_ENOMEM, "quantize: out of memory");
        goto done;
    }
    const char *inputs[1] = {o->model};
    if ((st = eco_output_begin(&od, o->out, inputs, 1, NULL, o->force ? ECO_OUTPUT_FORCE : 0)))
        goto done;
    /* the weights: model.safetensors (or Hugging Face's 5 GB shards and their index) */
    static const char *const meta[] = {"format", "pt", ECO_Q8_0_META_KEY, "q8_0"};
    eco_safetensors_writer *sw = NULL;
    if ((st = eco_safetensors_writer_open(od.tmp, ts, n, meta, 2, 0, &sw))) goto done;
    eco_progress prog;
    if (o->progress) eco_progress_begin(&prog, "quantize", (double)n, "tensors");
    size_t done_n = 0;
    for (const eco_tensor *d; !st && (d = eco_safetensors_writer_next(sw));) {
        const eco_tensor **hit = bsearch(d->name, q.src, n, sizeof *q.src, cmp_name);
        st = hit && d->nbytes
                 ? put_tensor(&q, (size_t)(hit - q.src), sw)
                 : eco_error(ECO_STATUS_EINTERNAL, "quantize: tensor '%s' lost", d->name);
        if (o->progress) eco_progress_update(&prog, (double)++done_n);
    }
    if (o->progress) eco_progress_end(&prog);
    if (st) {
        eco_safetensors_writer_abort(sw);
        goto done;
    }
    if ((st = eco_safetensors_writer_commit(sw))) goto done;
    r.params_q8_0 = q.params;
    r.rel_rms_error = q.ref2 > 0 ? sqrt(q.err2 / q.ref2) : 0.0;
    r.max_abs_error = q.max_err;
    /* tokenizer files and the lineage next, config.json last: a folder with a config.json
     * is complete */
    static const char *const optional[] = {"tokenizer.json", "tokenizer_config.json",
                                           "special_tokens_map.json", "generation_config.json"};
    for (size_t i = 0; i < sizeof optional / sizeof *optional && !st; i++)
        st = copy_if_present(o->model, od.tmp, optional[i], false);
    if (!st) st = write_lineage(o->model, od.tmp, o->type, &r);
    if (!st) st = copy_if_present(o->model, od.tmp, "config.json", true);
    if (!st) st = eco_output_commit(&od);
    r.seconds = eco_now() - t0;
    if (!st && rep) *rep = r;

done:
    if (st) eco_output_abort(&od);
    free(q.row);
    free(q.qrow);
    free(q.src);
    free(q.quantize);
    free(ts);
    eco_weights_close(w);
    return st;
}
