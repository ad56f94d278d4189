/*
 * What the training operators share (breed_train.h): defaults, the mixed corpus, and the
 * lineage.json they write (breed_train_internal.h).
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/breed_train.h"
#include "ecology/data.h"
#include "ecology/safetensors.h"
#include "breeder/breed_train_internal.h"

void eco_breed_train_init(eco_breed_train_params *p) {
    memset(p, 0, sizeof *p);
    p->steps = 50;
    p->batch = 8;
    p->seq = 128;
    p->accum = 1;
    p->lr = 1e-3;
    p->clip = 1.0;
}

void eco_breed_finetune_init(eco_breed_finetune_options *o) {
    memset(o, 0, sizeof *o);
    eco_breed_train_init(&o->train);
}

void eco_breed_distill_init(eco_breed_distill_options *o) {
    memset(o, 0, sizeof *o);
    eco_breed_train_init(&o->train);
    o->weight = 0.5;
    o->temperature = 2.0;
    o->max_tokens = 64;
}

static const char *kind_name(eco_data_kind k) {
    return k == ECO_DATA_KIND_TEXT ? "{\"text\"}" : "{\"prompt\", \"completion\"}";
}

/* One record as canonical JSON into b, with its newline. */
static eco_status append_record(eco_buf *b, const eco_data_record *r) {
    json_t *j = r->prompt ? json_pack("{s:s%, s:s%}", "prompt", r->prompt, r->prompt_len,
                                      "completion", r->text, r->text_len)
                          : json_pack("{s:s%}", "text", r->text, r->text_len);
    if (!j) return eco_error(ECO_STATUS_EFORMAT, "mix: a record is not valid UTF-8");
    char *s = NULL;
    size_t len = 0;
    eco_status st = eco_json_canonical(j, &s, &len);
    json_decref(j);
    if (!st && (!eco_buf_append(b, s, len) || !eco_buf_push(b, '\n')))
        st = eco_error(ECO_STATUS_ENOMEM, "mix: out of memory");
    free(s);
    return st;
}

eco_status eco_breed_mix_corpus(const char *const *files, size_t n, const char *out_path,
                                size_t *n_records, char mix_sha256[ECO_SHA256_HEX_LEN + 1],
                                json_t **entries) {
    if (entries) *entries = NULL;
    if (!files || !n || !out_path)
        return eco_error(ECO_STATUS_EINVAL, "mix: no training data (corpus or hard examples)");
    json_t *list = json_array();
    eco_buf b = {0};
    eco_status st = list ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "mix: out of memory");
    eco_data_kind kind = ECO_DATA_KIND_TEXT;
    size_t total = 0;
    for (size_t i = 0; !st && i < n; i++) {
        eco_data_corpus *c = NULL;
        if ((st = eco_data_corpus_load(files[i], &c))) break;
        if (i == 0) kind = c->kind;
        if (c->kind != kind)
            st = eco_error(ECO_STATUS_EINVAL,
                           "mix: %s holds %s records, %s %s records: one kind for all the files",
                           files[i], kind_name(c->kind), files[0], kind_name(kind));
        for (size_t k = 0; !st && k < c->n_records; k++) st = append_record(&b, &c->records[k]);
        total += c->n_records;
        if (!st && json_array_append_new(list, json_pack("{s:s, s:I}", "sha256", c->sha256_hex,
                                                         "records", (json_int_t)c->n_records)))
            st = eco_error(ECO_STATUS_ENOMEM, "mix: out of memory");
        eco_data_corpus_free(c);
    }
    if (!st) st = eco_sha256_hex(b.data, b.len, mix_sha256);
    if (!st) st = eco_write_file_atomic(out_path, b.data, b.len);
    eco_buf_free(&b);
    if (st) {
        json_decref(list);
        return st;
    }
    if (n_records) *n_records = total;
    if (entries)
        *entries = list;
    else
        json_decref(list);
    return ECO_STATUS_OK;
}

/* ---- lineage ------------------------------------------------------------------------- */

eco_status breed_weights_entry(const char *dir, const char *role, json_t *parents) {
    if (!eco_path_has_file(dir, "adapter_model.safetensors")) {
        if (!eco_path_has_file(dir, "model.safetensors") &&
            !eco_path_has_file(dir, ECO_SAFETENSORS_INDEX_FILE))
            return eco_error(ECO_STATUS_ENOTFOUND,
                             "%s: no weights (adapter_model.safetensors, model.safetensors or "
                             "model.safetensors.index.json)",
                             dir);
        json_t *e = NULL; /* the index and every shard when sharded */
        eco_status st = eco_weights_lineage_entry(dir, role, NULL, NULL, 0, &e);
        if (st) return st;
        if (json_array_append_new(parents, e))
            return eco_error(ECO_STATUS_ENOMEM, "lineage: out of memory");
        return ECO_STATUS_OK;
    }
    static const char *const names[] = {"adapter_model.safetensors"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!eco_path_has_file(dir, names[i])) continue;
        char *f = eco_path_join(dir, names[i]);
        char hex[ECO_SHA256_HEX_LEN + 1];
        eco_status st = f ? eco_sha256_file_hex(f, hex) : eco_error(ECO_STATUS_ENOMEM, "oom");
        free(f);
        if (st) return st;
        if (json_array_append_new(parents, json_pack("{s:s, s:s, s:s}", "role", role, "file",
                                                     names[i], "sha256", hex)))
            return eco_error(ECO_STATUS_ENOMEM, "lineage: out of memory");
        return ECO_STATUS_OK;
    }
    return eco_error(ECO_STATUS_ENOTFOUND,
                     "%s: no weights (adapter_model.safetensors, model.safetensors or "
                     "model.safetensors.index.json)",
                     dir);
}

json_t *breed_real(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *breed_train_params_json(const eco_breed_train_params *p) {
    return json_pack("{s:I, s:I, s:I, s:I, s:f, s:I, s:f, s:f}", "steps", (json_int_t)p->steps,
                     "batch", (json_int_t)p->batch, "seq", (json_int_t)p->seq, "accum",
                     (json_int_t)p->accum, "lr", p->lr, "warmup", (json_int_t)p->warmup,
                     "weight_decay", p->weight_decay, "clip", p->clip);
}

eco_status breed_write_lineage(const char *dir, const char *op, json_t *params, uint64_t seed,
                               const eco_breed_train_report *rep, json_t *parents) {
    json_t *result = json_pack(
        "{s:I, s:o, s:o, s:I, s:I}", "steps_done", (json_int_t)rep->steps_done, "first_loss",
        breed_real(rep->first_loss), "final_loss", breed_real(rep->final_loss), "tokens",
        (json_int_t)rep->tokens, "trainable_floats", (json_int_t)rep->trainable_floats);
    return breed_write_lineage_result(dir, op, params, seed, result, parents);
}

eco_status breed_write_lineage_result(const char *dir, const char *op, json_t *params,
                                      uint64_t seed, json_t *result, json_t *parents) {
    json_t *j =
        result ? json_pack("{s:s, s:s, s:{s:s, s:O, s:I, s:o}, s:O}", "tool", "ecology", "version",
                           ECO_VERSION_STRING, "operation", "name", op, "params", params, "seed",
                           (json_int_t)seed, "result", result, "parents", parents)
               : NULL;
    if (!j) return eco_error(ECO_STATUS_ENOMEM, "lineage: out of memory");
    char *path = eco_path_join(dir, ECO_LINEAGE_FILE);
    eco_status st = path ? eco_json_write_canonical_file(path, j)
                         : eco_error(ECO_STATUS_ENOMEM, "lineage: out of memory");
    free(path);
    json_decref(j);
    return st;
}

eco_status breed_drop_training_files(const char *dir) {
    static const char *const drop[] = {"training.json", ECO_WORK_DIR};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) {
        char *p = eco_path_join(dir, drop[i]);
        if (!p) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
        eco_status st = eco_remove_tree(p);
        free(p);
        if (st) return st;
    }
    return ECO_STATUS_OK;
}

eco_status breed_check_train(const char *what, const eco_breed_train_params *p) {
    if (p->steps < 1 || p->batch < 1 || p->seq < 1 || p->accum < 1 || p->warmup < 0 ||
        p->warmup > p->steps)
        return eco_error(ECO_STATUS_EINVAL,
                         "%s: steps, batch, seq, accum must be >= 1 and warmup in [0, steps]",
                         what);
    if (!(p->lr > 0) || !isfinite(p->lr))
        return eco_error(ECO_STATUS_EINVAL, "%s: lr %g is not a positive number", what, p->lr);
    return ECO_STATUS_OK;
}
