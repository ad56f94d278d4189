/* The server's config file (eco_server_config_parse): a JSON object read with core's field
 * reader; strings stay in the parsed document the holder keeps. */
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "ecology/server.h"

#define PRELOAD_MAX 256

struct eco_server_config {
    json_t *doc;
    const char *preload[PRELOAD_MAX];
};

void eco_server_config_free(eco_server_config *c) {
    if (!c) return;
    json_decref(c->doc);
    free(c);
}

static eco_status read_limits(const eco_jr *r, eco_server_limits *l) {
    static const char *const allowed[] = {"max_body_bytes",
                                          "max_prompt_bytes",
                                          "max_prompt_tokens",
                                          "max_tokens",
                                          "default_max_tokens",
                                          "max_n",
                                          "max_stop",
                                          "max_messages",
                                          "max_concurrent",
                                          "request_timeout_s",
                                          NULL};
    eco_status st = eco_jr_only(r, allowed);
    int64_t v;
#define SIZE_FIELD(name, lo, hi, type)                                                             \
    v = (int64_t)l->name;                                                                          \
    if (st == ECO_STATUS_OK && (st = eco_jr_int(r, #name, false, lo, hi, &v)) == ECO_STATUS_OK)    \
        l->name = (type)v;
    SIZE_FIELD(max_body_bytes, 64, (int64_t)1 << 30, size_t)
    SIZE_FIELD(max_prompt_bytes, 1, (int64_t)1 << 30, size_t)
    SIZE_FIELD(max_prompt_tokens, 1, (int64_t)1 << 24, size_t)
    SIZE_FIELD(max_tokens, 1, 1 << 20, int)
    SIZE_FIELD(default_max_tokens, 1, 1 << 20, int)
    SIZE_FIELD(max_n, 1, 128, int)
    SIZE_FIELD(max_stop, 0, 15, size_t)
    SIZE_FIELD(max_messages, 1, 1 << 16, size_t)
    SIZE_FIELD(max_concurrent, 1, 4096, unsigned)
#undef SIZE_FIELD
    if (st == ECO_STATUS_OK)
        st = eco_jr_num(r, "request_timeout_s", false, 0.001, 86400, &l->request_timeout_s);
    if (st == ECO_STATUS_OK && l->default_max_tokens > l->max_tokens)
        st = eco_jr_fail(r, "default_max_tokens", ECO_STATUS_EFORMAT,
                         "%d is more than max_tokens %d", l->default_max_tokens, l->max_tokens);
    return st;
}

eco_status eco_server_config_parse(const char *text, size_t len, const char *label,
                                   eco_server_options *o, eco_server_config **holder) {
    *holder = NULL;
    eco_server_config *c = calloc(1, sizeof *c);
    if (!c) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
    eco_status st = eco_json_parse(text, len, 0, label, &c->doc);
    if (st == ECO_STATUS_OK && !json_is_object(c->doc))
        st = eco_error(ECO_STATUS_EFORMAT, "%s: expected an object", label);
    eco_jr r = eco_jr_root(label, c->doc);
    static const char *const allowed[] = {"host",          "port",    "data_dir", "api_keys",
                                          "threads",       "preload", "limits",   "pool",
                                          "report_public", NULL};
    if (st == ECO_STATUS_OK) st = eco_jr_only(&r, allowed);
    const char *sv;
    int64_t v;
    if (st == ECO_STATUS_OK &&
        (sv = NULL, st = eco_jr_str(&r, "host", false, false, &sv, NULL)) == 0 && sv)
        o->host = sv;
    if (st == ECO_STATUS_OK &&
        (sv = NULL, st = eco_jr_str(&r, "data_dir", false, false, &sv, NULL)) == 0 && sv)
        o->data_dir = sv;
    if (st == ECO_STATUS_OK &&
        (sv = NULL, st = eco_jr_str(&r, "api_keys", false, false, &sv, NULL)) == 0 && sv)
        o->api_keys = sv;
    v = o->port;
    if (st == ECO_STATUS_OK && (st = eco_jr_int(&r, "port", false, 0, 65535, &v)) == 0)
        o->port = (uint16_t)v;
    v = o->threads;
    if (st == ECO_STATUS_OK && (st = eco_jr_int(&r, "threads", false, 0, 1024, &v)) == 0)
        o->threads = (unsigned)v;
    if (st == ECO_STATUS_OK) st = eco_jr_bool(&r, "report_public", false, &o->report_public);
    const json_t *pre = NULL;
    if (st == ECO_STATUS_OK) st = eco_jr_array(&r, "preload", false, &pre);
    if (st == ECO_STATUS_OK && pre) {
        size_t n = json_array_size(pre);
        if (n > PRELOAD_MAX)
            st = eco_jr_fail(&r, "preload", ECO_STATUS_EFORMAT, "%zu models, more than %d", n,
                             PRELOAD_MAX);
        eco_jr pr = eco_jr_child(&r, "preload", pre);
        for (size_t i = 0; st == ECO_STATUS_OK && i < n; i++) {
            char name[32];
            snprintf(name, sizeof name, "[%zu]", i);
            st = eco_jr_str_value(&pr, name, json_array_get(pre, i), false, &c->preload[i], NULL);
        }
        if (st == ECO_STATUS_OK) {
            o->preload = c->preload;
            o->n_preload = n;
        }
    }
    const json_t *obj = NULL;
    if (st == ECO_STATUS_OK) st = eco_jr_object(&r, "limits", false, &obj);
    if (st == ECO_STATUS_OK && obj) {
        eco_jr lr = eco_jr_child(&r, "limits", obj);
        st = read_limits(&lr, &o->limits);
    }
    obj = NULL;
    if (st == ECO_STATUS_OK) st = eco_jr_object(&r, "pool", false, &obj);
    if (st == ECO_STATUS_OK && obj) {
        eco_jr pr = eco_jr_child(&r, "pool", obj);
        static const char *const pool_keys[] = {"adapter_budget_bytes", "max_bases", NULL};
        st = eco_jr_only(&pr, pool_keys);
        v = (int64_t)o->pool.adapter_budget_bytes;
        if (st == ECO_STATUS_OK &&
            (st = eco_jr_int(&pr, "adapter_budget_bytes", false, 0, INT64_MAX, &v)) == 0)
            o->pool.adapter_budget_bytes = (uint64_t)v;
        v = (int64_t)o->pool.max_bases;
        if (st == ECO_STATUS_OK && (st = eco_jr_int(&pr, "max_bases", false, 0, 1 << 20, &v)) == 0)
            o->pool.max_bases = (size_t)v;
    }
    if (st != ECO_STATUS_OK) {
        eco_server_config_free(c);
        return st;
    }
    *holder = c;
    return ECO_STATUS_OK;
}
