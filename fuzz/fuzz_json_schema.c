/*
 * libFuzzer target: eco_json_schema_compile and eco_json_schema_validate_text over arbitrary
 * bytes. The input is a schema, then optionally the line "=====" and an instance; with no
 * such line the schema is validated against itself. A refused schema must leave *out NULL;
 * a compiled one must give a verdict (OK) on any instance, or ERANGE (too costly) both
 * times, the same verdict and the same
 * report twice, and a report naming a reason whenever the verdict is invalid.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ecology/json_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    size_t schema_len = size;
    const char *inst = text;
    size_t inst_len = size;
    for (size_t i = 0; i + 7 <= size; i++) {
        if (memcmp(text + i, "\n=====\n", 7) == 0) {
            schema_len = i;
            inst = text + i + 7;
            inst_len = size - i - 7;
            break;
        }
    }
    eco_json_schema *s = NULL;
    if (eco_json_schema_compile(text, schema_len, "fuzz", &s) != ECO_STATUS_OK) {
        if (s) __builtin_trap();
        return 0;
    }
    if (!s) __builtin_trap();
    bool v1 = false, v2 = true;
    eco_json_schema_error e1, e2;
    eco_status st1 = eco_json_schema_validate_text(s, inst, inst_len, &v1, &e1);
    eco_status st2 = eco_json_schema_validate_text(s, inst, inst_len, &v2, &e2);
    if (st1 != st2 || (st1 != ECO_STATUS_OK && st1 != ECO_STATUS_ERANGE)) __builtin_trap();
    if (st1 == ECO_STATUS_ERANGE) { /* too costly: no verdict */
        eco_json_schema_free(s);
        return 0;
    }
    if (v1 != v2) __builtin_trap();
    if (!v1 && (!e1.reason[0] || memcmp(&e1, &e2, sizeof e1) != 0)) __builtin_trap();
    char buf[64];
    eco_json_schema_error_str(&e1, buf, sizeof buf);
    if (strlen(buf) >= sizeof buf) __builtin_trap();
    eco_json_schema_free(s);
    return 0;
}
