/*
 * eco_train_save_lora: the trained LoRA tensors handed to eco_lora_adapter_save (PEFT's
 * layout). Kept in its own file so that programs that never save an adapter do not pull in
 * the PEFT writer.
 */
#include "train/train_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

eco_status eco_train_save_lora(eco_train_model *m, const char *dir) {
    if (!m || !dir) return eco_error(ECO_STATUS_EINVAL, "train save: NULL argument");
    if (m->opt.mode != ECO_TRAIN_MODE_LORA)
        return eco_error(ECO_STATUS_EINVAL, "train save: %s: a full fine-tuning run has no adapter",
                         dir);
    const size_t n = (size_t)m->cfg.n_layers * ECO_LORA__COUNT;
    eco_lora_module *mods = eco_calloc_array(n, sizeof *mods);
    eco_tensor *ts = eco_calloc_array(2 * n, sizeof *ts);
    if (!mods || !ts) {
        free(mods);
        free(ts);
        return eco_error(ECO_STATUS_ENOMEM, "train save: out of memory");
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
    eco_peft_config pc = m->opt.lora;
    /* the base's registry id or folder name (peft.h), as extract and merge write it */
    eco_peft_base_name(m->opt.lora.base_model_name_or_path, pc.base_model_name_or_path,
                       sizeof pc.base_model_name_or_path);
    eco_status st = eco_lora_adapter_save(dir, &pc, mods, m->cfg.n_layers);
    free(mods);
    free(ts);
    return st;
}
