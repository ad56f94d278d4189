/*
 * eco_train_save_lora: the trained LoRA tensors handed to eco_lora_adapter_save (PEFT's
 * layout). Kept in its own file so that programs that never save an adapter do not pull in
 * the PEFT writer.
 */
#include "train/train_internal.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* What adapter_config.json's base_model_name_or_path says when the base is a folder: the
 * base's registry id when the folder says it (a genome.json, as `ecology export` writes,
 * with a string "id"), else the folder's last component, as the recipes write. A name that
 * is not a folder is kept as it is (the caller gave an id or a hub name). out_size bytes. */
static void base_name(const char *given, char *out, size_t out_size) {
    struct stat sb;
    if (stat(given, &sb) != 0 || !S_ISDIR(sb.st_mode)) return; /* not a folder: keep it */
    char *gpath = eco_path_join(given, "genome.json");
    json_t *g = gpath ? json_load_file(gpath, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(gpath);
    const char *id = json_string_value(json_object_get(g, "id"));
    if (id && id[0] && strlen(id) < out_size && !strchr(id, '/')) {
        snprintf(out, out_size, "%s", id);
        json_decref(g);
        return;
    }
    json_decref(g);
    char *real =
        realpath(given, NULL); /* "data/models/eco-tiny/", "." and ".." name a folder too */
    const char *slash = real ? strrchr(real, '/') : NULL;
    if (slash && slash[1] && strlen(slash + 1) < out_size) snprintf(out, out_size, "%s", slash + 1);
    free(real);
}

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
    base_name(m->opt.lora.base_model_name_or_path, pc.base_model_name_or_path,
              sizeof pc.base_model_name_or_path);
    eco_status st = eco_lora_adapter_save(dir, &pc, mods, m->cfg.n_layers);
    free(mods);
    free(ts);
    return st;
}
