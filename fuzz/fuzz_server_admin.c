/*
 * libFuzzer target: the admin API's model body parser (eco_server_model_body_parse, the body
 * of POST /admin/models/load and /unload) over arbitrary bytes. A refused body leaves a
 * message beginning with "request" and no model; an accepted one a valid model id.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/registry.h"
#include "ecology/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *model = NULL;
    if (eco_server_model_body_parse((const char *)data, size, &model) != ECO_STATUS_OK) {
        if (model || strncmp(eco_last_error(), "request", 7) != 0) abort();
        return 0;
    }
    if (!model || !eco_model_id_ok(model)) abort();
    free(model);
    return 0;
}
