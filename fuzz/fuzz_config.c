/*
 * libFuzzer target: eco_config_parse over arbitrary bytes. An accepted config must
 * validate, have a positive parameter count, and survive eco_config_to_json → parse
 * unchanged in every field the engine reads.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eco_model_config c, d;
    if (eco_config_parse((const char *)data, size, "fuzz", &c) != ECO_STATUS_OK) return 0;
    if (eco_config_validate(&c, "fuzz") != ECO_STATUS_OK) __builtin_trap();
    if (eco_config_param_count(&c) <= 0) __builtin_trap();
    char *text = NULL;
    size_t len = 0;
    if (eco_config_to_json(&c, &text, &len) != ECO_STATUS_OK) __builtin_trap();
    if (eco_config_parse(text, len, "fuzz-rt", &d) != ECO_STATUS_OK) __builtin_trap();
    free(text);
    if (c.arch != d.arch || c.vocab_size != d.vocab_size || c.hidden_size != d.hidden_size ||
        c.head_dim != d.head_dim || c.n_kv_heads != d.n_kv_heads ||
        c.rms_norm_eps != d.rms_norm_eps || c.rope_theta != d.rope_theta ||
        c.rope_llama3 != d.rope_llama3 || c.rope_factor != d.rope_factor ||
        c.qkv_bias != d.qkv_bias || c.o_bias != d.o_bias || c.n_eos != d.n_eos ||
        c.bos_token_id != d.bos_token_id || c.torch_dtype != d.torch_dtype ||
        c.max_position_embeddings != d.max_position_embeddings ||
        eco_config_param_count(&c) != eco_config_param_count(&d))
        __builtin_trap();
    return 0;
}
