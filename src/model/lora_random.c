/*
 * eco_lora_adapter_create_random: a PEFT adapter folder of random A and B for a model
 * configuration (tests and benchmarks: an adapter whose B is not zero changes the model,
 * unlike a freshly initialised one). Every targeted module of every layer gets A [r, in]
 * and B [out, r] (r from the config's rank pattern), f32, uniform in [−amp, amp) from one
 * eco_rng stream seeded by seed, drawn module by module in (layer, target) order.
 */
#include "model/model_internal.h"

#include <stdlib.h>

eco_status eco_lora_adapter_create_random(const char *dir, const eco_model_config *cfg,
                                          const eco_peft_config *pc, uint64_t seed, float amp) {
    if (!dir || !cfg || !pc) return eco_error(ECO_STATUS_EINVAL, "random adapter: NULL argument");
    const size_t n_mod = (size_t)cfg->n_layers * ECO_LORA__COUNT;
    eco_lora_module *mods = eco_calloc_array(n_mod, sizeof *mods);
    eco_tensor *ts = eco_calloc_array(2 * n_mod, sizeof *ts); /* [module][A, B] */
    eco_status st =
        mods && ts ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "random adapter: out of memory");
    eco_rng rng;
    eco_rng_seed(&rng, seed);
    for (size_t m = 0; st == ECO_STATUS_OK && m < n_mod; m++) {
        const eco_lora_target t = (eco_lora_target)(m % ECO_LORA__COUNT);
        if (!pc->targets[t]) continue;
        int64_t out, in, r;
        double alpha;
        eco_lora_module_dims(cfg, t, &out, &in);
        eco_peft_module_rank_alpha(pc, (int64_t)(m / ECO_LORA__COUNT), t, &r, &alpha);
        if (r <= 0) {
            st = eco_error(ECO_STATUS_EINVAL, "random adapter: %s: rank %lld",
                           eco_lora_target_name(t), (long long)r);
            break;
        }
        const int64_t shape[2][2] = {{r, in}, {out, r}}; /* A [r, in], B [out, r] */
        for (int h = 0; h < 2; h++) {
            size_t n;
            float *v = NULL;
            if (!eco_mul_ok((size_t)shape[h][0], (size_t)shape[h][1], &n) ||
                !(v = eco_malloc_array(n, sizeof *v))) {
                st = eco_error(ECO_STATUS_ENOMEM, "random adapter: %s: out of memory for rank %lld",
                               eco_lora_target_name(t), (long long)r);
                break;
            }
            for (size_t i = 0; i < n; i++) v[i] = amp * (float)(2.0 * eco_rng_uniform(&rng) - 1.0);
            ts[2 * m + (size_t)h] = (eco_tensor){.dtype = ECO_DTYPE_F32,
                                                 .ndim = 2,
                                                 .shape = {shape[h][0], shape[h][1]},
                                                 .data = v,
                                                 .nbytes = n * sizeof *v};
        }
        mods[m].A = &ts[2 * m];
        mods[m].B = &ts[2 * m + 1];
        mods[m].r = r;
    }
    if (st == ECO_STATUS_OK) st = eco_lora_adapter_save(dir, pc, mods, cfg->n_layers);
    for (size_t i = 0; ts && i < 2 * n_mod; i++) free(ts[i].data);
    free(ts);
    free(mods);
    return st;
}
