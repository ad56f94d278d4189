/*
 * libFuzzer target: eco_peft_config_parse over arbitrary bytes. An accepted config must
 * write (eco_peft_config_to_json; refused only when pattern keys are not in sorted order)
 * and parse back to the same struct, and rank/alpha lookup
 * through its patterns must give a positive rank and a finite alpha for every module.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/peft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eco_peft_config c, d;
    if (eco_peft_config_parse((const char *)data, size, "fuzz", &c) != ECO_STATUS_OK) return 0;
    if (c.r <= 0 || !(c.lora_dropout >= 0 && c.lora_dropout < 1) || !isfinite(c.lora_alpha))
        __builtin_trap();
    bool any = false;
    for (int t = 0; t < ECO_LORA__COUNT; t++) any |= c.targets[t];
    if (!any) __builtin_trap();
    char *text = NULL;
    size_t len = 0;
    if (eco_peft_config_to_json(&c, &text, &len) != ECO_STATUS_OK) {
        /* Only pattern keys out of sorted order may stop a parsed config from being written. */
        bool sorted = true;
        for (int i = 1; i < c.n_rank_pattern; i++)
            sorted &= strcmp(c.rank_pattern_key[i - 1], c.rank_pattern_key[i]) < 0;
        for (int i = 1; i < c.n_alpha_pattern; i++)
            sorted &= strcmp(c.alpha_pattern_key[i - 1], c.alpha_pattern_key[i]) < 0;
        if (sorted) __builtin_trap();
        return 0;
    }
    memset(&d, 0, sizeof d);
    if (eco_peft_config_parse(text, len, "fuzz-rt", &d) != ECO_STATUS_OK) __builtin_trap();
    free(text);
    /* Same fields (the structs are zeroed before parsing, so bytes compare). */
    if (memcmp(&c, &d, sizeof c) != 0) __builtin_trap();
    for (int64_t l = 0; l < 3; l++)
        for (int t = 0; t < ECO_LORA__COUNT; t++) {
            int64_t r;
            double a;
            eco_peft_module_rank_alpha(&c, l * 7, (eco_lora_target)t, &r, &a);
            if (r <= 0 || !isfinite(a)) __builtin_trap();
        }
    return 0;
}
