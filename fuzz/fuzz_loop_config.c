/*
 * libFuzzer target: eco_loop_config_parse (daemon.h) over arbitrary bytes. A refused input
 * leaves a message that names the label; an accepted config holds what the loop relies on:
 * a valid run name, at least one capability (sorted, distinct), at least one model and one
 * operator with a positive weight, a budget, canary settings that pass their check, gates
 * that parse again, and a config hash that is the same when the text is parsed again.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ecology/daemon.h"
#include "ecology/evaluator.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eco_loop_config c, again;
    if (eco_loop_config_parse((const char *)data, size, "fuzz.json", &c) != ECO_STATUS_OK) {
        if (strncmp(eco_last_error(), "fuzz.json", 9) != 0) __builtin_trap();
        return 0;
    }
    if (!c.name[0] || c.n_capabilities == 0 || c.n_members == 0 || c.n_ops == 0 ||
        (c.generations <= 0 && c.minutes <= 0) || c.evaluation.n < 1 || c.children < 1)
        __builtin_trap();
    for (size_t i = 1; i < c.n_capabilities; i++)
        if (strcmp(c.capabilities[i - 1], c.capabilities[i]) >= 0) __builtin_trap();
    for (size_t i = 0; i < c.n_ops; i++)
        if (!(c.ops[i].weight > 0) || !c.ops[i].params) __builtin_trap();
    if (eco_canary_settings_check(&c.canary) != ECO_STATUS_OK) __builtin_trap();
    eco_gates *g = NULL;
    if (eco_gates_parse(c.gates, strlen(c.gates), "gates", &g) != ECO_STATUS_OK) __builtin_trap();
    eco_gates_free(g);
    if (eco_loop_config_parse((const char *)data, size, "fuzz.json", &again) != ECO_STATUS_OK ||
        strcmp(again.sha256, c.sha256) != 0)
        __builtin_trap();
    eco_loop_config_free(&again);
    eco_loop_config_free(&c);
    return 0;
}
