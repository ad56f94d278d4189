/*
 * libFuzzer target: eco_canary_settings_parse over arbitrary bytes. A refused input leaves a
 * message that names the label; accepted settings must pass eco_canary_settings_check, and
 * their timing must follow from them (steps = ceil(maxWeight / stepWeight), promote =
 * interval · steps, roll back = interval · threshold).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ecology/canary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eco_canary_settings s;
    if (eco_canary_settings_parse((const char *)data, size, "fuzz.json", &s) != ECO_STATUS_OK) {
        if (strncmp(eco_last_error(), "fuzz.json", 9) != 0) __builtin_trap();
        return 0;
    }
    if (eco_canary_settings_check(&s) != ECO_STATUS_OK) __builtin_trap();
    eco_canary_timing t;
    if (eco_canary_settings_timing(&s, &t) != ECO_STATUS_OK) __builtin_trap();
    const int steps = (s.max_weight + s.step_weight - 1) / s.step_weight;
    if (t.steps != steps || t.promote_requests != s.interval * steps ||
        t.rollback_requests != s.interval * s.threshold)
        __builtin_trap();
    return 0;
}
