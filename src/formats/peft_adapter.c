/*
 * peft_adapter: a LoRA adapter folder as PEFT saves it (adapter_config.json +
 * adapter_model.safetensors), bound to a base model's config.
 *
 * Tensor names are those PEFT's save_pretrained writes for a LlamaForCausalLM (and
 * Qwen2/Mistral) wrapped in PeftModelForCausalLM, adapter name stripped:
 *
 *   base_model.model.model.layers.{i}.self_attn.{q,k,v,o}_proj.lora_{A,B}.weight
 *   base_model.model.model.layers.{i}.mlp.{gate,up,down}_proj.lora_{A,B}.weight
 *
 * The same names with ".default" before ".weight" (an unstripped state dict) are accepted
 * too; both spellings of one tensor in one file are a duplicate. Loading is strict: every
 * tensor must be one of these names with a layer below num_hidden_layers and a module in
 * target_modules; every targeted module of every layer must have both halves (PEFT always
 * writes both: layers_to_transform and exclude_modules, the only ways to skip a layer, are
 * refused by the config parser, and a rank of 0 is not a valid PEFT rank); A is [r, in]
 * and B [out, r] with in/out from the base config and r from rank_pattern or r. Tensors
 * stay in the mapping (F32, F16 or BF16 views): nothing is copied.
 */
#include <stdlib.h>
#include <string.h>

#include "ecology/peft.h"

#define TENSOR_PREFIX "base_model.model.model.layers."

void eco_lora_module_dims(const eco_model_config *c, eco_lora_target t, int64_t *out, int64_t *in) {
    const int64_t d = c->hidden_size, f = c->intermediate_size;
    const int64_t qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim;
    switch (t) {
        case ECO_LORA_Q:
            *out = qd;
            *in = d;
            break;
        case ECO_LORA_K:
        case ECO_LORA_V:
            *out = kvd;
            *in = d;
            break;
        case ECO_LORA_O:
            *out = d;
            *in = qd;
            break;
        case ECO_LORA_GATE:
        case ECO_LORA_UP:
            *out = f;
            *in = d;
            break;
        case ECO_LORA_DOWN:
            *out = d;
            *in = f;
            break;
        default:
            *out = *in = 0;
            break;
    }
}

/* Parses a PEFT tensor name into (layer, target, half: 0 = A, 1 = B). Returns false for
 * anything else. The layer is decimal without leading zeros, at most 9 digits. */
static bool parse_name(const char *name, int64_t *layer, int *target, int *half) {
    size_t plen = sizeof TENSOR_PREFIX - 1;
    if (strncmp(name, TENSOR_PREFIX, plen) != 0) return false;
    const char *p = name + plen;
    int64_t v = 0;
    int nd = 0;
    while (p[nd] >= '0' && p[nd] <= '9') {
        if (nd == 9) return false;
        v = v * 10 + (p[nd] - '0');
        nd++;
    }
    if (nd == 0 || (nd > 1 && p[0] == '0') || p[nd] != '.') return false;
    p += nd + 1;
    int t = -1;
    for (int k = 0; k < ECO_LORA__COUNT; k++) {
        const char *path = eco_lora_target_path((eco_lora_target)k);
        size_t n = strlen(path);
        if (strncmp(p, path, n) == 0 && p[n] == '.') {
            t = k;
            p += n + 1;
            break;
        }
    }
    if (t < 0) return false;
    int h;
    if (strncmp(p, "lora_A.", 7) == 0)
        h = 0;
    else if (strncmp(p, "lora_B.", 7) == 0)
        h = 1;
    else
        return false;
    p += 7;
    if (strcmp(p, "weight") != 0 && strcmp(p, "default.weight") != 0) return false;
    *layer = v;
    *target = t;
    *half = h;
    return true;
}

static void shape_str(char *buf, size_t cap, const eco_tensor *t) {
    size_t k = 0;
    k += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < t->ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
}

void eco_lora_adapter_free(eco_lora_adapter *a) {
    if (!a) return;
    eco_safetensors_close(a->file);
    free(a->modules);
    free(a);
}

/* Binds an opened file to a parsed config and a base config. Takes ownership of st (closed
 * on failure too). `label` names the safetensors file in messages. */
static eco_status bind(const eco_peft_config *cfg, eco_safetensors *st,
                       const eco_model_config *base, const char *label, eco_lora_adapter **out) {
    eco_status rc = eco_config_validate(base, "base config");
    if (rc != ECO_STATUS_OK) {
        eco_safetensors_close(st);
        return rc;
    }
    eco_lora_adapter *a = calloc(1, sizeof *a);
    size_t nmod = 0;
    if (a && eco_mul_ok((size_t)base->n_layers, ECO_LORA__COUNT, &nmod))
        a->modules = eco_calloc_array(nmod, sizeof *a->modules);
    if (!a || !a->modules) {
        if (a) free(a);
        eco_safetensors_close(st);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
    }
    a->config = *cfg;
    a->file = st;
    a->n_layers = base->n_layers;

    size_t n = eco_safetensors_count(st);
    for (size_t i = 0; i < n; i++) {
        const eco_tensor *t = eco_safetensors_get(st, i);
        int64_t layer;
        int target, half;
        if (!parse_name(t->name, &layer, &target, &half)) {
            rc = eco_error(
                ECO_STATUS_EFORMAT,
                "%s: tensor '%.200s' is not a LoRA weight this engine loads (expected "
                "base_model.model.model.layers.N.{self_attn,mlp}.X_proj.lora_{A,B}.weight)",
                label, t->name);
            goto fail;
        }
        if (layer >= base->n_layers) {
            rc = eco_error(ECO_STATUS_EFORMAT,
                           "%s: tensor '%.200s': layer %lld out of range (the base has %lld)",
                           label, t->name, (long long)layer, (long long)base->n_layers);
            goto fail;
        }
        if (!cfg->targets[target]) {
            rc = eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%.200s': %s is not in target_modules",
                           label, t->name, eco_lora_target_name((eco_lora_target)target));
            goto fail;
        }
        if (t->dtype != ECO_DTYPE_F32 && t->dtype != ECO_DTYPE_F16 && t->dtype != ECO_DTYPE_BF16) {
            rc = eco_error(ECO_STATUS_EUNSUPPORTED,
                           "%s: tensor '%.200s': dtype %s is not supported (F32, F16, BF16)", label,
                           t->name, eco_dtype_name(t->dtype));
            goto fail;
        }
        eco_lora_module *m = &a->modules[layer * ECO_LORA__COUNT + target];
        const eco_tensor **slot = half ? &m->B : &m->A;
        if (*slot) {
            rc = eco_error(ECO_STATUS_EFORMAT,
                           "%s: tensor '%.200s': lora_%c of this module given twice", label,
                           t->name, half ? 'B' : 'A');
            goto fail;
        }
        *slot = t;
    }

    for (int64_t l = 0; l < base->n_layers; l++) {
        for (int t = 0; t < ECO_LORA__COUNT; t++) {
            if (!cfg->targets[t]) continue;
            eco_lora_module *m = &a->modules[l * ECO_LORA__COUNT + t];
            const char *path = eco_lora_target_path((eco_lora_target)t);
            if (!m->A || !m->B) {
                rc = eco_error(ECO_STATUS_EFORMAT,
                               "%s: missing tensor '" TENSOR_PREFIX "%lld.%s.lora_%c.weight'",
                               label, (long long)l, path, m->A ? 'B' : 'A');
                goto fail;
            }
            int64_t r, fout, fin;
            double alpha;
            eco_peft_module_rank_alpha(cfg, l, (eco_lora_target)t, &r, &alpha);
            eco_lora_module_dims(base, (eco_lora_target)t, &fout, &fin);
            const eco_tensor *bad = NULL;
            int64_t w0 = 0, w1 = 0;
            if (m->A->ndim != 2 || m->A->shape[0] != r || m->A->shape[1] != fin)
                bad = m->A, w0 = r, w1 = fin;
            else if (m->B->ndim != 2 || m->B->shape[0] != fout || m->B->shape[1] != r)
                bad = m->B, w0 = fout, w1 = r;
            if (bad) {
                char shape[128];
                shape_str(shape, sizeof shape, bad);
                rc = eco_error(ECO_STATUS_EFORMAT,
                               "%s: tensor '%.200s': shape %s, expected [%lld, %lld] (%s)", label,
                               bad->name, shape, (long long)w0, (long long)w1,
                               bad == m->A ? "r, in" : "out, r");
                goto fail;
            }
            m->r = r;
            m->scale = (float)eco_peft_scale(cfg, r, alpha);
        }
    }
    *out = a;
    return ECO_STATUS_OK;
fail:
    eco_lora_adapter_free(a);
    return rc;
}

eco_status eco_lora_adapter_load_memory(const char *config_json, size_t config_len,
                                        const void *st_data, size_t st_len,
                                        const eco_model_config *base, eco_lora_adapter **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "eco_lora_adapter_load_memory: NULL argument");
    *out = NULL;
    if (!config_json || !st_data || !base)
        return eco_error(ECO_STATUS_EINVAL, "eco_lora_adapter_load_memory: NULL argument");
    eco_peft_config cfg;
    eco_status rc = eco_peft_config_parse(config_json, config_len, "adapter_config.json", &cfg);
    if (rc != ECO_STATUS_OK) return rc;
    eco_safetensors *st = NULL;
    rc = eco_safetensors_open_memory(st_data, st_len, "adapter_model.safetensors", &st);
    if (rc != ECO_STATUS_OK) return rc;
    return bind(&cfg, st, base, "adapter_model.safetensors", out);
}

eco_status eco_lora_adapter_load(const char *dir, const eco_model_config *base,
                                 eco_lora_adapter **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "eco_lora_adapter_load: NULL argument");
    *out = NULL;
    if (!dir || !base) return eco_error(ECO_STATUS_EINVAL, "eco_lora_adapter_load: NULL argument");
    eco_status dst = eco_path_require_dir(
        dir, "an adapter folder (adapter_config.json, adapter_model.safetensors)");
    if (dst != ECO_STATUS_OK) return dst;
    if (!eco_path_has_file(dir, "adapter_config.json"))
        return eco_error(ECO_STATUS_ENOTFOUND,
                         "%s: no adapter_config.json: expected an adapter folder "
                         "(adapter_config.json, adapter_model.safetensors)%s",
                         dir,
                         eco_path_has_file(dir, "config.json") ? "; this is a model folder" : "");
    char *cfg_path = eco_path_join(dir, "adapter_config.json");
    char *st_path = eco_path_join(dir, "adapter_model.safetensors");
    char *bin_path = eco_path_join(dir, "adapter_model.bin");
    eco_status rc = ECO_STATUS_OK;
    eco_peft_config cfg;
    if (!cfg_path || !st_path || !bin_path) {
        rc = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
        goto done;
    }
    if ((rc = eco_peft_config_load(cfg_path, &cfg)) != ECO_STATUS_OK) goto done;
    eco_safetensors *st = NULL;
    rc = eco_safetensors_open(st_path, &st);
    if (rc == ECO_STATUS_ENOTFOUND) {
        FILE *f = fopen(bin_path, "rb");
        if (f) {
            fclose(f);
            rc = eco_error(
                ECO_STATUS_EUNSUPPORTED,
                "%s: only adapter_model.safetensors is supported (found adapter_model.bin, a "
                "pickle; re-save it with safe_serialization=True)",
                dir);
        }
        goto done;
    }
    if (rc != ECO_STATUS_OK) goto done;
    rc = bind(&cfg, st, base, st_path, out);
done:
    free(cfg_path);
    free(st_path);
    free(bin_path);
    return rc;
}

eco_status eco_lora_adapter_save(const char *dir, const eco_peft_config *cfg,
                                 const eco_lora_module *modules, int64_t n_layers) {
    if (!dir || !cfg || (!modules && n_layers > 0) || n_layers < 0 || n_layers > INT32_MAX)
        return eco_error(ECO_STATUS_EINVAL, "eco_lora_adapter_save: invalid argument");
    eco_status rc;
    size_t nmax = (size_t)n_layers * ECO_LORA__COUNT * 2;
    eco_tensor *ts = nmax ? eco_calloc_array(nmax, sizeof *ts) : NULL;
    /* Names: the longest is the prefix + 10 digits + ".mlp.gate_proj.lora_A.weight". */
    enum { NAME_MAX_LEN = 96 };
    char *names = nmax ? eco_malloc_array(nmax, NAME_MAX_LEN) : NULL;
    char *cfg_path = eco_path_join(dir, "adapter_config.json");
    char *st_path = eco_path_join(dir, "adapter_model.safetensors");
    size_t n = 0;
    if ((nmax && (!ts || !names)) || !cfg_path || !st_path) {
        rc = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
        goto done;
    }
    for (int64_t l = 0; l < n_layers; l++) {
        for (int t = 0; t < ECO_LORA__COUNT; t++) {
            const eco_lora_module *m = &modules[l * ECO_LORA__COUNT + t];
            const char *tn = eco_lora_target_name((eco_lora_target)t);
            if (!m->A) {
                if (cfg->targets[t]) {
                    rc = eco_error(ECO_STATUS_EINVAL,
                                   "%s: layer %lld: %s is in target_modules but has no tensors",
                                   dir, (long long)l, tn);
                    goto done;
                }
                continue;
            }
            if (!cfg->targets[t]) {
                rc = eco_error(ECO_STATUS_EINVAL,
                               "%s: layer %lld: %s has tensors but is not in target_modules", dir,
                               (long long)l, tn);
                goto done;
            }
            int64_t r;
            double alpha;
            eco_peft_module_rank_alpha(cfg, l, (eco_lora_target)t, &r, &alpha);
            if (!m->B || m->A->ndim != 2 || m->B->ndim != 2 || m->A->shape[0] != r ||
                m->B->shape[1] != r) {
                rc = eco_error(ECO_STATUS_EINVAL,
                               "%s: layer %lld: %s: need A [r, in] and B [out, r] with r = %lld "
                               "(from the config)",
                               dir, (long long)l, tn, (long long)r);
                goto done;
            }
            for (int h = 0; h < 2; h++) {
                const eco_tensor *src = h ? m->B : m->A;
                if (src->dtype != ECO_DTYPE_F32 && src->dtype != ECO_DTYPE_F16 &&
                    src->dtype != ECO_DTYPE_BF16) {
                    rc = eco_error(ECO_STATUS_EINVAL,
                                   "%s: layer %lld: %s: dtype %s (F32, F16 or BF16)", dir,
                                   (long long)l, tn, eco_dtype_name(src->dtype));
                    goto done;
                }
                char *name = names + n * NAME_MAX_LEN;
                snprintf(name, NAME_MAX_LEN, TENSOR_PREFIX "%lld.%s.lora_%c.weight", (long long)l,
                         eco_lora_target_path((eco_lora_target)t), h ? 'B' : 'A');
                ts[n] = *src;
                ts[n].name = name;
                n++;
            }
        }
    }
    if ((rc = eco_mkdir_p(dir)) != ECO_STATUS_OK) goto done;
    /* Weights first, then the config: a reader that finds the new config finds the new
     * weights. Each file appears atomically. */
    static const char *const meta[] = {"format", "pt"};
    if ((rc = eco_safetensors_write(st_path, ts, n, meta, 1)) != ECO_STATUS_OK) goto done;
    rc = eco_peft_config_write(cfg_path, cfg);
done:
    free(ts);
    free(names);
    free(cfg_path);
    free(st_path);
    return rc;
}
