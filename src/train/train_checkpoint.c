/*
 * Saving what training produced, and checkpoints to resume from.
 *
 * A checkpoint is one safetensors file: for every table entry NAME the tensors NAME (the
 * parameter), NAME.adam_m and NAME.adam_v (f32), and in __metadata__ the eco_train_state
 * ("step", "forward_counter", "data_position", "data_rng" as 4 hex words) plus "mode" and
 * "n_floats" to refuse a checkpoint from another set-up. Gradients are not saved: a
 * checkpoint is taken between optimiser steps, when they are zero.
 */
#include "train/train_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void tensor_view(eco_tensor *t, const char *name, const eco_train_param *p, float *data) {
    memset(t, 0, sizeof *t);
    t->name = name;
    t->dtype = ECO_DTYPE_F32;
    t->ndim = p->ndim;
    t->shape[0] = p->shape[0];
    t->shape[1] = p->shape[1];
    t->data = data;
    t->nbytes = p->numel * sizeof(float);
}

eco_status eco_train_save_model(eco_train_model *m, const char *dir) {
    if (!m || !dir) return eco_error(ECO_STATUS_EINVAL, "train save: NULL argument");
    if (m->opt.mode != ECO_TRAIN_MODE_FULL)
        return eco_error(ECO_STATUS_EINVAL,
                         "train save: %s: a LoRA run saves an adapter, not a model", dir);
    eco_status st = eco_mkdir_p(dir);
    if (st) return st;
    eco_tensor *ts = eco_calloc_array(m->n_params, sizeof(eco_tensor));
    char *cfg_path = eco_path_join(dir, "config.json");
    char *st_path = eco_path_join(dir, "model.safetensors");
    if (!ts || !cfg_path || !st_path) {
        st = eco_error(ECO_STATUS_ENOMEM, "train save: out of memory");
        goto done;
    }
    for (size_t i = 0; i < m->n_params; i++)
        tensor_view(&ts[i], m->table[i].name, &m->table[i], m->params + m->table[i].offset);
    eco_model_config cfg = m->cfg;
    cfg.torch_dtype = ECO_DTYPE_F32;
    const char *meta[] = {"format", "pt"};
    if ((st = eco_safetensors_write(st_path, ts, m->n_params, meta, 1))) goto done;
    st = eco_config_write(cfg_path, &cfg);
done:
    free(ts);
    free(cfg_path);
    free(st_path);
    return st;
}

eco_status eco_train_checkpoint_save(eco_train_model *m, const char *path) {
    if (!m || !path) return eco_error(ECO_STATUS_EINVAL, "checkpoint save: NULL argument");
    const size_t n = m->n_params;
    eco_tensor *ts = eco_calloc_array(3 * n, sizeof(eco_tensor));
    char *names = eco_calloc_array(2 * n, 176);
    if (!ts || !names) {
        free(ts);
        free(names);
        return eco_error(ECO_STATUS_ENOMEM, "checkpoint save: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const eco_train_param *p = &m->table[i];
        char *nm = names + (2 * i) * 176, *nv = names + (2 * i + 1) * 176;
        snprintf(nm, 176, "%s.adam_m", p->name);
        snprintf(nv, 176, "%s.adam_v", p->name);
        tensor_view(&ts[3 * i], p->name, p, m->params + p->offset);
        tensor_view(&ts[3 * i + 1], nm, p, m->adam_m + p->offset);
        tensor_view(&ts[3 * i + 2], nv, p, m->adam_v + p->offset);
    }
    char step[32], fc[32], dp[32], rng[80], nf[32], mode[8];
    const eco_train_state *s = &m->state;
    snprintf(step, sizeof step, "%lld", (long long)s->step);
    snprintf(fc, sizeof fc, "%" PRIu64, s->forward_counter);
    snprintf(dp, sizeof dp, "%lld", (long long)s->data_position);
    snprintf(rng, sizeof rng, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
             s->data_rng.s[0], s->data_rng.s[1], s->data_rng.s[2], s->data_rng.s[3]);
    snprintf(nf, sizeof nf, "%zu", m->n_floats);
    snprintf(mode, sizeof mode, "%s", m->opt.mode == ECO_TRAIN_MODE_LORA ? "lora" : "full");
    const char *meta[] = {"format",
                          "ecology-train-checkpoint",
                          "step",
                          step,
                          "forward_counter",
                          fc,
                          "data_position",
                          dp,
                          "data_rng",
                          rng,
                          "n_floats",
                          nf,
                          "mode",
                          mode};
    eco_status st = eco_safetensors_write(path, ts, 3 * n, meta, 7);
    free(ts);
    free(names);
    return st;
}

static eco_status meta_u64(const eco_safetensors *f, const char *path, const char *key,
                           uint64_t *out) {
    const char *v = eco_safetensors_metadata(f, key);
    char *end = NULL;
    if (!v || !*v)
        return eco_error(ECO_STATUS_EFORMAT, "%s: checkpoint metadata '%s' missing", path, key);
    unsigned long long x = strtoull(v, &end, 10);
    if (*end)
        return eco_error(ECO_STATUS_EFORMAT, "%s: checkpoint metadata '%s' = '%s' is not a number",
                         path, key, v);
    *out = (uint64_t)x;
    return ECO_STATUS_OK;
}

static eco_status load_one(eco_safetensors *f, const char *path, const char *name,
                           const eco_train_param *p, float *dst) {
    const eco_tensor *t = eco_safetensors_find(f, name);
    if (!t) return eco_error(ECO_STATUS_EFORMAT, "%s: checkpoint lacks tensor '%s'", path, name);
    if (t->dtype != ECO_DTYPE_F32 || t->ndim != p->ndim || t->shape[0] != p->shape[0] ||
        (p->ndim == 2 && t->shape[1] != p->shape[1]))
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: checkpoint tensor '%s' has another dtype or shape", path, name);
    memcpy(dst, t->data, p->numel * sizeof(float));
    return ECO_STATUS_OK;
}

eco_status eco_train_checkpoint_load(eco_train_model *m, const char *path) {
    if (!m || !path) return eco_error(ECO_STATUS_EINVAL, "checkpoint load: NULL argument");
    eco_safetensors *f;
    eco_status st = eco_safetensors_open(path, &f);
    if (st) return st;
    const char *fmt = eco_safetensors_metadata(f, "format");
    const char *mode = eco_safetensors_metadata(f, "mode");
    const char *want_mode = m->opt.mode == ECO_TRAIN_MODE_LORA ? "lora" : "full";
    uint64_t step = 0, fc = 0, dp = 0, nf = 0;
    if (!fmt || strcmp(fmt, "ecology-train-checkpoint") != 0) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: not a training checkpoint", path);
        goto done;
    }
    if (!mode || strcmp(mode, want_mode) != 0) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: checkpoint of a %s run, this run is %s", path,
                       mode ? mode : "(unknown)", want_mode);
        goto done;
    }
    if ((st = meta_u64(f, path, "step", &step)) ||
        (st = meta_u64(f, path, "forward_counter", &fc)) ||
        (st = meta_u64(f, path, "data_position", &dp)) || (st = meta_u64(f, path, "n_floats", &nf)))
        goto done;
    if (nf != m->n_floats || eco_safetensors_count(f) != 3 * m->n_params) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: checkpoint holds another set of parameters", path);
        goto done;
    }
    const char *rng = eco_safetensors_metadata(f, "data_rng");
    eco_rng r;
    if (!rng || strlen(rng) != 64) {
        st = eco_error(ECO_STATUS_EFORMAT,
                       "%s: checkpoint metadata 'data_rng' missing or malformed", path);
        goto done;
    }
    for (int i = 0; i < 4; i++) {
        char word[17];
        memcpy(word, rng + 16 * i, 16);
        word[16] = 0;
        char *end;
        r.s[i] = (uint64_t)strtoull(word, &end, 16);
        if (*end) {
            st =
                eco_error(ECO_STATUS_EFORMAT, "%s: checkpoint metadata 'data_rng' malformed", path);
            goto done;
        }
    }
    for (size_t i = 0; i < m->n_params && !st; i++) {
        const eco_train_param *p = &m->table[i];
        char name[176];
        st = load_one(f, path, p->name, p, m->params + p->offset);
        snprintf(name, sizeof name, "%s.adam_m", p->name);
        if (!st) st = load_one(f, path, name, p, m->adam_m + p->offset);
        snprintf(name, sizeof name, "%s.adam_v", p->name);
        if (!st) st = load_one(f, path, name, p, m->adam_v + p->offset);
    }
    if (st) goto done;
    m->state.step = (int64_t)step;
    m->state.forward_counter = fc;
    m->state.data_position = (int64_t)dp;
    m->state.data_rng = r;
    m->have_fwd = false;
    eco_train_zero_grad(m);
done:
    eco_safetensors_close(f);
    return st;
}
