/* The plain helpers of the contracts' domain types (include/ecology/contracts.h). */
#include "ecology/contracts.h"

#include <stdlib.h>
#include <string.h>

void eco_infer_request_init(eco_infer_request *req) {
    memset(req, 0, sizeof *req);
    req->max_tokens = 64;
    req->top_p = 1.0f;
    req->add_special = true;
    req->stop_at_eos = true;
}

void eco_infer_response_free(eco_infer_response *resp) {
    free(resp->text);
    free(resp->tokens);
    free(resp->logprobs);
    memset(resp, 0, sizeof *resp);
}
