/*
 * The trained LoRA tensors as an adapter: saved in PEFT's layout (eco_lora_adapter_save), or
 * widened into an inference model's adapter (eco_model_adapter_create) so that a policy can
 * be sampled while it trains. Kept in its own file so that programs that never use the
 * adapter do not pull in the PEFT writer.
 */
#include "train/train_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The module table of m's LoRA tensors ([n_layers · COUNT] entries; tensors point into the
 * parameter arena; modules of targets that are off have A == NULL). Both arrays malloc'd. */
static eco_status lora_table(eco_train_model *m, const char *what, eco_lora_module **mods_out,
                             eco_tensor **ts_out) {
    if (m->opt.mode != ECO_TRAIN_MODE_LORA)
        return eco_error(ECO_STATUS_EINVAL, "%s: a full fine-tuning run has no adapter", what);
    const size_t n = (size_t)m->cfg.n_layers * ECO_LORA__COUNT;
    eco_lora_module *mods = eco_calloc_array(n, sizeof *mods);
    eco_tensor *ts = eco_calloc_array(2 * n, sizeof *ts);
    if (!mods || !ts) {
        free(mods);
        free(ts);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", what);
    }
    for (size_t i = 0; i < n; i++) {
        const tlora *lo = &m->lora[i];
        if (!lo->on) continue;
        eco_tensor *A = &ts[2 * i], *B = &ts[2 * i + 1];
        A->dtype = B->dtype = ECO_DTYPE_F32;
        A->ndim = B->ndim = 2;
        A->shape[0] = lo->r;
        A->shape[1] = lo->in;
        A->data = lo->A;
        A->nbytes = (size_t)(lo->r * lo->in) * sizeof(float);
        B->shape[0] = lo->out;
        B->shape[1] = lo->r;
        B->data = lo->B;
        B->nbytes = (size_t)(lo->out * lo->r) * sizeof(float);
        mods[i].A = A;
        mods[i].B = B;
        mods[i].r = lo->r;
        mods[i].scale = lo->scale;
    }
    *mods_out = mods;
    *ts_out = ts;
    return ECO_STATUS_OK;
}

eco_status eco_train_save_lora(eco_train_model *m, const char *dir) {
    if (!m || !dir) return eco_error(ECO_STATUS_EINVAL, "train save: NULL argument");
    eco_lora_module *mods;
    eco_tensor *ts;
    char what[64 + 4096];
    snprintf(what, sizeof what, "train save: %s", dir);
    eco_status st = lora_table(m, what, &mods, &ts);
    if (st) return st;
    eco_peft_config pc = m->opt.lora;
    /* the base's registry id or folder name (peft.h), as extract and merge write it */
    eco_peft_base_name(m->opt.lora.base_model_name_or_path, pc.base_model_name_or_path,
                       sizeof pc.base_model_name_or_path);
    st = eco_lora_adapter_save(dir, &pc, mods, m->cfg.n_layers);
    free(mods);
    free(ts);
    return st;
}

eco_status eco_train_model_adapter(eco_train_model *m, const eco_model *target,
                                   eco_model_adapter **out) {
    if (out) *out = NULL;
    if (!m || !target || !out) return eco_error(ECO_STATUS_EINVAL, "train adapter: NULL argument");
    eco_lora_module *mods;
    eco_tensor *ts;
    eco_status st = lora_table(m, "train adapter", &mods, &ts);
    if (st) return st;
    eco_lora_adapter a;
    memset(&a, 0, sizeof a);
    a.config = m->opt.lora;
    a.n_layers = m->cfg.n_layers;
    a.modules = mods;
    st = eco_model_adapter_create(target, &a, out); /* copies: the arena may change after */
    free(mods);
    free(ts);
    return st;
}
