/* OpenAI's error object, {"error": {"message", "type", "param", "code"}}, one table from
 * HTTP status to type and code, as redis builds its wire errors from one table. */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

static const struct {
    unsigned status;
    const char *type, *code;
} kinds[] = {
    {400, "invalid_request_error", "invalid_request"},
    {401, "authentication_error", "invalid_api_key"},
    {403, "permission_error", "insufficient_scope"},
    {404, "not_found_error", "not_found"},
    {405, "invalid_request_error", "method_not_allowed"},
    {413, "invalid_request_error", "request_too_large"},
    {429, "rate_limit_error", "too_many_requests"},
    {503, "server_error", "unavailable"},
    {504, "server_error", "timeout"},
};

unsigned srv_status_http(eco_status st) {
    switch (st) {
        case ECO_STATUS_EINVAL:
        case ECO_STATUS_EFORMAT:
        case ECO_STATUS_ERANGE:
        case ECO_STATUS_EUNSUPPORTED:
            return 400;
        case ECO_STATUS_ENOTFOUND:
            return 404;
        default:
            return 500;
    }
}

void srv_answer_json(answer *a, unsigned status, json_t *v) {
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    free(a->body);
    a->content_type = "application/json";
    if (!text) {
        static const char oom[] = "{\"error\":{\"message\":\"out of memory\",\"type\":"
                                  "\"server_error\",\"param\":null,\"code\":\"internal\"}}";
        a->status = 500;
        a->body = eco_strdup(oom);
        a->len = a->body ? strlen(a->body) : 0;
        return;
    }
    a->status = status;
    a->body = text;
    a->len = strlen(text);
}

void srv_answer_error(answer *a, unsigned status, const char *code, const char *param,
                      const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *type = "server_error", *dcode = "internal";
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (kinds[i].status == status) {
            type = kinds[i].type;
            dcode = kinds[i].code;
        }
    /* Messages may quote hostile bytes: eco_utf8_lossy keeps the JSON valid. */
    size_t n = 0;
    char *safe = eco_utf8_lossy(msg, strlen(msg), &n);
    json_t *e = json_pack("{s:{s:s%,s:s,s:o,s:s}}", "error", "message", safe ? safe : "error",
                          safe ? n : (size_t)5, "type", type, "param",
                          param && param[0] ? json_string(param) : json_null(), "code",
                          code ? code : dcode);
    free(safe);
    srv_answer_json(a, status, e);
}
