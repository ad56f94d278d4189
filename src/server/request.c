/* The request-body parser of /v1/completions and /v1/chat/completions: hostile input, read
 * through core's one JSON field reader (duplicate keys refused by eco_json_parse, every
 * field typed and ranged by eco_jr_*), every string checked for NUL and copied out, so the
 * request owns nothing of the parsed document. */
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "ecology/merge.h"
#include "ecology/router.h"
#include "ecology/json_schema.h"
#include "ecology/server.h"

#define LABEL "request"

void eco_server_limits_default(eco_server_limits *l) {
    l->max_body_bytes = (size_t)1 << 20;
    l->max_prompt_bytes = (size_t)256 << 10;
    l->max_prompt_tokens = 4096;
    l->max_tokens = 1024;
    l->default_max_tokens = 16;
    l->max_n = 8;
    l->max_stop = 4;
    l->max_messages = 256;
    l->max_concurrent = 8;
    l->request_timeout_s = 120;
}

void eco_server_request_free(eco_server_request *r) {
    if (!r) return;
    free(r->model);
    free(r->prompt);
    for (size_t i = 0; i < r->n_messages; i++) {
        free(r->messages[i].role);
        free(r->messages[i].content);
    }
    free(r->messages);
    for (size_t i = 0; i < r->n_stop; i++) free(r->stop[i]);
    free(r->stop);
    for (size_t i = 0; i < r->n_lora; i++) free(r->lora[i].id);
    free(r->lora);
    if (r->merged) {
        for (size_t i = 0; i < r->merged->n; i++) free(r->merged->ids[i]);
        free(r->merged->ids);
        free(r->merged->weights);
        free(r->merged);
    }
    free(r->routing);
    eco_json_schema_free(r->schema);
    memset(r, 0, sizeof *r);
}

/* The parse in progress: where a failure names its field. */
typedef struct parse {
    char *param;
    size_t param_size;
} parse;

/* Records the failing field (r's path plus key) as the error's param and returns st. */
static eco_status at(parse *P, const eco_jr *r, const char *key, eco_status st) {
    if (st != ECO_STATUS_OK && P->param && P->param_size) {
        char name[ECO_JR_PATH_MAX];
        eco_jr_name(r, key, name);
        snprintf(P->param, P->param_size, "%s", name);
    }
    return st;
}

/* The object `key` of r (required or not) holding only the `allowed` keys: *child reads it
 * and *present says whether it was given. Errors name the field. */
static eco_status sub_object(parse *P, const eco_jr *r, const char *key, bool required,
                             const char *const *allowed, eco_jr *child, bool *present) {
    const json_t *v = NULL;
    eco_status st = eco_jr_object(r, key, required, &v);
    *present = v != NULL;
    if (st || !v) return at(P, r, key, st);
    *child = eco_jr_child(r, key, v);
    if ((st = eco_jr_only(child, allowed))) return at(P, child, NULL, st);
    return ECO_STATUS_OK;
}

static eco_status dup_str(const char *s, size_t len, char **out) {
    *out = malloc(len + 1);
    if (!*out) return eco_error(ECO_STATUS_ENOMEM, LABEL ": out of memory");
    memcpy(*out, s, len);
    (*out)[len] = '\0';
    return ECO_STATUS_OK;
}

/* A field that must be absent, null, or equal to its neutral value (the parameters this
 * server does not implement but clients send at their defaults). */
static eco_status neutral(parse *P, const eco_jr *r, const char *key) {
    const json_t *v = eco_jr_opt(r, key);
    if (!v) return ECO_STATUS_OK;
    bool ok = false;
    if (json_is_number(v))
        ok = json_number_value(v) == 0;
    else if (json_is_false(v))
        ok = true;
    else if (json_is_object(v))
        ok = json_object_size(v) == 0;
    if (ok) return ECO_STATUS_OK;
    return at(P, r, key,
              eco_jr_fail(r, key, ECO_STATUS_EUNSUPPORTED,
                          "not supported by this server (only its default is accepted)"));
}

/* Fields whose design is fixed but whose work is for later sessions (issue 22): refused by
 * name, never ignored. */
static eco_status later(parse *P, const eco_jr *r, const char *const *keys) {
    for (size_t i = 0; keys[i]; i++)
        if (eco_jr_opt(r, keys[i]))
            return at(P, r, keys[i],
                      eco_jr_fail(r, keys[i], ECO_STATUS_EUNSUPPORTED,
                                  "not supported by this server yet"));
    return ECO_STATUS_OK;
}

/* "response_format": {"type": "text"} | {"type": "json_object"} | {"type": "json_schema",
 * "json_schema": {"name", "schema", "strict", "description"}}; the schema compiled and
 * checked to be one the decoder can enforce. */
static eco_status read_response_format(parse *P, const eco_jr *r, eco_server_request *q) {
    static const char *const allowed[] = {"type", "json_schema", NULL};
    eco_jr fr;
    bool given = false;
    eco_status st = sub_object(P, r, "response_format", false, allowed, &fr, &given);
    if (st || !given) return st;
    const char *type;
    if ((st = eco_jr_str(&fr, "type", true, false, &type, NULL))) return at(P, &fr, "type", st);
    if (!strcmp(type, "text") || !strcmp(type, "json_object")) {
        if (eco_jr_opt(&fr, "json_schema"))
            return at(P, &fr, "json_schema",
                      eco_jr_fail(&fr, "json_schema", ECO_STATUS_EFORMAT,
                                  "only with \"type\": \"json_schema\""));
        q->format = !strcmp(type, "text") ? ECO_SERVER_FORMAT_TEXT : ECO_SERVER_FORMAT_JSON_OBJECT;
        return ECO_STATUS_OK;
    }
    if (strcmp(type, "json_schema") != 0) {
        char shown[ECO_JSON_SHOWN_SIZE];
        return at(P, &fr, "type",
                  eco_jr_fail(&fr, "type", ECO_STATUS_EUNSUPPORTED,
                              "'%s' is not supported (text, json_object, json_schema)",
                              eco_json_shown(type, strlen(type), shown)));
    }
    static const char *const fields[] = {"name", "schema", "strict", "description", NULL};
    eco_jr sr;
    bool js = false;
    if ((st = sub_object(P, &fr, "json_schema", true, fields, &sr, &js))) return st;
    const char *name, *desc;
    size_t name_len = 0;
    bool strict = false;
    if ((st = eco_jr_str(&sr, "name", true, false, &name, &name_len)))
        return at(P, &sr, "name", st);
    bool name_ok = name_len > 0 && name_len <= 64;
    for (size_t i = 0; i < name_len && name_ok; i++) {
        char c = name[i];
        name_ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
    }
    if (!name_ok)
        return at(P, &sr, "name",
                  eco_jr_fail(&sr, "name", ECO_STATUS_EFORMAT,
                              "must be 1 to 64 of a-z, A-Z, 0-9, '_' and '-'"));
    if ((st = eco_jr_str(&sr, "description", false, false, &desc, NULL)))
        return at(P, &sr, "description", st);
    if ((st = eco_jr_bool(&sr, "strict", false, &strict))) return at(P, &sr, "strict", st);
    const json_t *schema = eco_jr_opt(&sr, "schema");
    if (schema && !json_is_object(schema) && !json_is_boolean(schema))
        return at(P, &sr, "schema",
                  eco_jr_fail(&sr, "schema", ECO_STATUS_EFORMAT,
                              "expected an object or a boolean (a JSON Schema)"));
    const char *param = "response_format.json_schema.schema";
    const char *label = LABEL ": response_format.json_schema.schema";
    st = schema ? eco_json_schema_compile_value(schema, label, &q->schema)
                : eco_json_schema_compile("true", 4, label, &q->schema);
    if (st) {
        if (P->param && P->param_size) snprintf(P->param, P->param_size, "%s", param);
        return st;
    }
    eco_json_constraint *c = NULL;
    char where[256];
    st = eco_json_constraint_create(q->schema, label, &c, where, sizeof where);
    eco_json_constraint_free(c);
    if (st) {
        if (P->param && P->param_size) {
            /* the refused keyword's pointer, as dotted names */
            size_t k = (size_t)snprintf(P->param, P->param_size, "%s", param);
            for (const char *w = where; *w && k + 1 < P->param_size; w++, k++)
                P->param[k] = *w == '/' ? '.' : *w;
            if (k < P->param_size) P->param[k] = '\0';
        }
        return st;
    }
    q->format = ECO_SERVER_FORMAT_JSON_SCHEMA;
    return ECO_STATUS_OK;
}

/* "stop": a string or an array of at most max strings, each non-empty. */
static eco_status read_stop(parse *P, const eco_jr *r, size_t max, eco_server_request *q) {
    const json_t *v = eco_jr_opt(r, "stop");
    if (!v) return ECO_STATUS_OK;
    if (json_is_string(v)) {
        const char *s;
        size_t n;
        eco_status st = eco_jr_str(r, "stop", false, false, &s, &n);
        if (st) return at(P, r, "stop", st);
        if (n == 0) return at(P, r, "stop", eco_jr_fail(r, "stop", ECO_STATUS_EFORMAT, "is empty"));
        if (max == 0)
            return at(P, r, "stop",
                      eco_jr_fail(r, "stop", ECO_STATUS_ERANGE, "more than 0 stop sequences"));
        if (!(q->stop = calloc(1, sizeof *q->stop)))
            return eco_error(ECO_STATUS_ENOMEM, LABEL ": out of memory");
        q->n_stop = 1;
        return dup_str(s, n, &q->stop[0]);
    }
    if (!json_is_array(v))
        return at(P, r, "stop",
                  eco_jr_fail(r, "stop", ECO_STATUS_EFORMAT, "expected a string or an array"));
    size_t n = json_array_size(v);
    if (n > max)
        return at(
            P, r, "stop",
            eco_jr_fail(r, "stop", ECO_STATUS_ERANGE, "%zu stop sequences, more than %zu", n, max));
    if (n == 0) return ECO_STATUS_OK;
    if (!(q->stop = calloc(n, sizeof *q->stop)))
        return eco_error(ECO_STATUS_ENOMEM, LABEL ": out of memory");
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "[%zu]", i);
        eco_jr sr = eco_jr_child(r, "stop", v);
        const char *s;
        size_t len;
        eco_status st = eco_jr_str_value(&sr, name, json_array_get(v, i), false, &s, &len);
        if (st == ECO_STATUS_OK && len == 0)
            st = eco_jr_fail(&sr, name, ECO_STATUS_EFORMAT, "is empty");
        if (st) return at(P, &sr, name, st);
        if ((st = dup_str(s, len, &q->stop[i]))) return st;
        q->n_stop = i + 1;
    }
    return ECO_STATUS_OK;
}

/* A message's content: a string, or an array of {"type": "text", "text": "..."} parts,
 * joined. */
static eco_status read_content(parse *P, const eco_jr *m, char **out) {
    const json_t *v;
    eco_status st = eco_jr_need(m, "content", &v);
    if (st) return at(P, m, "content", st);
    const char *s;
    size_t n;
    if (json_is_string(v)) {
        if ((st = eco_jr_str(m, "content", true, false, &s, &n))) return at(P, m, "content", st);
        return dup_str(s, n, out);
    }
    if (!json_is_array(v))
        return at(P, m, "content",
                  eco_jr_fail(m, "content", ECO_STATUS_EFORMAT,
                              "expected a string or an array of text parts"));
    eco_buf b = {0};
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *part = json_array_get(v, i);
        eco_jr pr = eco_jr_item(m, "content", i, part);
        if (!json_is_object(part)) {
            eco_buf_free(&b);
            return at(P, &pr, NULL,
                      eco_jr_fail(&pr, NULL, ECO_STATUS_EFORMAT, "expected an object"));
        }
        static const char *const allowed[] = {"type", "text", NULL};
        const char *type;
        if ((st = eco_jr_only(&pr, allowed)) ||
            (st = eco_jr_str(&pr, "type", true, false, &type, NULL))) {
            eco_buf_free(&b);
            return at(P, &pr, NULL, st);
        }
        if (strcmp(type, "text") != 0) {
            eco_buf_free(&b);
            return at(P, &pr, "type",
                      eco_jr_fail(&pr, "type", ECO_STATUS_EUNSUPPORTED,
                                  "only \"text\" content parts are supported"));
        }
        if ((st = eco_jr_str(&pr, "text", true, false, &s, &n))) {
            eco_buf_free(&b);
            return at(P, &pr, "text", st);
        }
        if (!eco_buf_append(&b, s, n)) {
            eco_buf_free(&b);
            return eco_error(ECO_STATUS_ENOMEM, LABEL ": out of memory");
        }
    }
    if (!b.data && !eco_buf_reserve(&b, 0))
        return eco_error(ECO_STATUS_ENOMEM, LABEL ": out of memory");
    *out = b.data;
    return ECO_STATUS_OK;
}

static eco_status read_messages(parse *P, const eco_jr *r, size_t max, eco_server_request *q) {
    const json_t *v;
    eco_status st = eco_jr_array(r, "messages", true, &v);
    if (st) return at(P, r, "messages", st);
    size_t n = json_array_size(v);
    if (n == 0)
        return at(P, r, "messages", eco_jr_fail(r, "messages", ECO_STATUS_EFORMAT, "is empty"));
    if (n > max)
        return at(
            P, r, "messages",
            eco_jr_fail(r, "messages", ECO_STATUS_ERANGE, "%zu messages, more than %zu", n, max));
    if (!(q->messages = calloc(n, sizeof *q->messages)))
        return eco_error(ECO_STATUS_ENOMEM, LABEL ": out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *mv = json_array_get(v, i);
        eco_jr m = eco_jr_item(r, "messages", i, mv);
        if (!json_is_object(mv))
            return at(P, &m, NULL, eco_jr_fail(&m, NULL, ECO_STATUS_EFORMAT, "expected an object"));
        static const char *const allowed[] = {"role", "content", "name", NULL};
        if ((st = eco_jr_only(&m, allowed))) return at(P, &m, NULL, st);
        const char *role, *name;
        size_t role_len;
        if ((st = eco_jr_str(&m, "role", true, false, &role, &role_len)))
            return at(P, &m, "role", st);
        if ((st = eco_jr_str(&m, "name", false, false, &name, NULL))) return at(P, &m, "name", st);
        static const char *const roles[] = {"system", "developer", "user", "assistant"};
        bool known = false;
        for (size_t k = 0; k < sizeof roles / sizeof *roles; k++) known |= !strcmp(role, roles[k]);
        if (!known) {
            char shown[ECO_JSON_SHOWN_SIZE];
            return at(P, &m, "role",
                      eco_jr_fail(&m, "role", ECO_STATUS_EUNSUPPORTED,
                                  "'%s' is not supported (system, developer, user, assistant)",
                                  eco_json_shown(role, role_len, shown)));
        }
        q->n_messages = i + 1;
        if ((st = dup_str(role, role_len, &q->messages[i].role))) return st;
        if ((st = read_content(P, &m, &q->messages[i].content))) return st;
    }
    return ECO_STATUS_OK;
}

/* "prompt": a string, or an array holding exactly one string (several prompts in one
 * request, and token-id prompts, are refused). */
static eco_status read_prompt(parse *P, const eco_jr *r, eco_server_request *q) {
    const json_t *v;
    eco_status st = eco_jr_need(r, "prompt", &v);
    if (st) return at(P, r, "prompt", st);
    const char *s;
    size_t n;
    if (json_is_array(v)) {
        eco_jr pr = eco_jr_child(r, "prompt", v);
        if (json_array_size(v) != 1 || !json_is_string(json_array_get(v, 0)))
            return at(P, r, "prompt",
                      eco_jr_fail(r, "prompt", ECO_STATUS_EUNSUPPORTED,
                                  "only one text prompt per request is supported"));
        if ((st = eco_jr_str_value(&pr, "[0]", json_array_get(v, 0), false, &s, &n)))
            return at(P, &pr, "[0]", st);
    } else if ((st = eco_jr_str(r, "prompt", true, false, &s, &n))) {
        return at(P, r, "prompt", st);
    }
    return dup_str(s, n, &q->prompt);
}

/* "lora": [{"id": "...", "scale": s}, ...], 1 to ECO_SERVER_MAX_ADAPTERS entries. */
static eco_status read_lora(parse *P, const eco_jr *r, eco_server_request *q) {
    const json_t *v = NULL;
    eco_status st = eco_jr_array(r, "lora", false, &v);
    if (st || !v) return at(P, r, "lora", st);
    size_t n = json_array_size(v);
    if (n == 0 || n > ECO_SERVER_MAX_ADAPTERS)
        return at(P, r, "lora",
                  eco_jr_fail(r, "lora", ECO_STATUS_ERANGE, "%zu adapters, expected 1 to %d", n,
                              ECO_SERVER_MAX_ADAPTERS));
    if (!(q->lora = calloc(n, sizeof *q->lora)))
        return eco_error(ECO_STATUS_ENOMEM, LABEL ": out of memory");
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        eco_jr er = eco_jr_item(r, "lora", i, e);
        if (!json_is_object(e))
            return at(P, &er, NULL,
                      eco_jr_fail(&er, NULL, ECO_STATUS_EFORMAT, "expected an object"));
        static const char *const allowed[] = {"id", "scale", NULL};
        if ((st = eco_jr_only(&er, allowed))) return at(P, &er, NULL, st);
        const char *id;
        size_t len;
        if ((st = eco_jr_str(&er, "id", true, false, &id, &len))) return at(P, &er, "id", st);
        if (len == 0)
            return at(P, &er, "id", eco_jr_fail(&er, "id", ECO_STATUS_EFORMAT, "is empty"));
        q->lora[i].scale = 1;
        if ((st = eco_jr_num(&er, "scale", false, -1e6, 1e6, &q->lora[i].scale)))
            return at(P, &er, "scale", st);
        q->n_lora = i + 1;
        if ((st = dup_str(id, len, &q->lora[i].id))) return st;
    }
    return ECO_STATUS_OK;
}

/* "merged_adapters": LoRAX's object (eco_server_merged). */
static eco_status read_merged(parse *P, const eco_jr *r, eco_server_request *q) {
    static const char *const allowed[] = {
        "ids", "weights", "merge_strategy", "density", "majority_sign_method", "seed", NULL};
    eco_jr mr;
    bool given = false;
    eco_status st = sub_object(P, r, "merged_adapters", false, allowed, &mr, &given);
    if (st || !given) return st;
    eco_server_merged *m = calloc(1, sizeof *m);
    if (!m) return eco_error(ECO_STATUS_ENOMEM, LABEL ": out of memory");
    q->merged = m;
    const json_t *ids = NULL, *ws = NULL;
    if ((st = eco_jr_array(&mr, "ids", true, &ids))) return at(P, &mr, "ids", st);
    size_t n = json_array_size(ids);
    if (n == 0 || n > ECO_SERVER_MAX_ADAPTERS)
        return at(P, &mr, "ids",
                  eco_jr_fail(&mr, "ids", ECO_STATUS_ERANGE, "%zu adapters, expected 1 to %d", n,
                              ECO_SERVER_MAX_ADAPTERS));
    if (!(m->ids = calloc(n, sizeof *m->ids)) || !(m->weights = calloc(n, sizeof *m->weights)))
        return eco_error(ECO_STATUS_ENOMEM, LABEL ": out of memory");
    eco_jr ir = eco_jr_child(&mr, "ids", ids);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "[%zu]", i);
        const char *s;
        size_t len;
        st = eco_jr_str_value(&ir, name, json_array_get(ids, i), false, &s, &len);
        if (st == ECO_STATUS_OK && len == 0)
            st = eco_jr_fail(&ir, name, ECO_STATUS_EFORMAT, "is empty");
        if (st) return at(P, &ir, name, st);
        m->n = i + 1;
        m->weights[i] = 1;
        if ((st = dup_str(s, len, &m->ids[i]))) return st;
    }
    if ((st = eco_jr_array(&mr, "weights", false, &ws))) return at(P, &mr, "weights", st);
    if (ws) {
        if (json_array_size(ws) != n)
            return at(P, &mr, "weights",
                      eco_jr_fail(&mr, "weights", ECO_STATUS_EFORMAT,
                                  "%zu weights for %zu ids (one weight per adapter)",
                                  json_array_size(ws), n));
        eco_jr wr = eco_jr_child(&mr, "weights", ws);
        for (size_t i = 0; i < n; i++) {
            char name[32];
            snprintf(name, sizeof name, "[%zu]", i);
            if ((st =
                     eco_jr_num_value(&wr, name, json_array_get(ws, i), -1e6, 1e6, &m->weights[i])))
                return at(P, &wr, name, st);
        }
    }
    const char *s = "linear";
    size_t len = 0;
    if ((st = eco_jr_str(&mr, "merge_strategy", false, false, &s, &len)))
        return at(P, &mr, "merge_strategy", st);
    static const struct {
        const char *name;
        eco_merge_method m;
    } strategies[] = {{"linear", ECO_MERGE_METHOD_LINEAR},
                      {"ties", ECO_MERGE_METHOD_TIES},
                      {"dare_linear", ECO_MERGE_METHOD_DARE_LINEAR},
                      {"dare_ties", ECO_MERGE_METHOD_DARE_TIES}};
    bool known = false;
    for (size_t k = 0; k < sizeof strategies / sizeof *strategies; k++)
        if (!strcmp(s, strategies[k].name)) {
            m->strategy = (int)strategies[k].m;
            known = true;
        }
    if (!known) {
        char shown[ECO_JSON_SHOWN_SIZE];
        return at(P, &mr, "merge_strategy",
                  eco_jr_fail(&mr, "merge_strategy", ECO_STATUS_EUNSUPPORTED,
                              "'%s' is not one of linear, ties, dare_linear, dare_ties",
                              eco_json_shown(s, strlen(s), shown)));
    }
    m->density = 1;
    if ((st = eco_jr_num(&mr, "density", false, 0, 1, &m->density)))
        return at(P, &mr, "density", st);
    if (m->density <= 0)
        return at(P, &mr, "density",
                  eco_jr_fail(&mr, "density", ECO_STATUS_EFORMAT, "must be in (0, 1]"));
    s = "total";
    if ((st = eco_jr_str(&mr, "majority_sign_method", false, false, &s, &len)))
        return at(P, &mr, "majority_sign_method", st);
    if (strcmp(s, "total") && strcmp(s, "frequency")) {
        char shown[ECO_JSON_SHOWN_SIZE];
        return at(P, &mr, "majority_sign_method",
                  eco_jr_fail(&mr, "majority_sign_method", ECO_STATUS_EUNSUPPORTED,
                              "'%s' is not one of total, frequency",
                              eco_json_shown(s, strlen(s), shown)));
    }
    m->sign_by_count = !strcmp(s, "frequency");
    int64_t seed = 0;
    if ((st = eco_jr_int(&mr, "seed", false, 0, INT64_MAX, &seed))) return at(P, &mr, "seed", st);
    m->seed = (uint64_t)seed;
    return ECO_STATUS_OK;
}

/* "routing": a router policy node object (router.h), kept as its canonical JSON. */
static eco_status read_routing(parse *P, const eco_jr *r, eco_server_request *q) {
    const json_t *v = NULL;
    eco_status st = eco_jr_object(r, "routing", false, &v);
    if (st || !v) return at(P, r, "routing", st);
    char *text = json_dumps(v, JSON_COMPACT);
    if (!text) return eco_error(ECO_STATUS_ENOMEM, LABEL ": out of memory");
    eco_route_node *node = NULL;
    st = eco_route_policy_parse(text, strlen(text), LABEL ": routing", &node);
    free(text);
    if (st == ECO_STATUS_OK) st = eco_route_policy_json(node, &q->routing);
    eco_route_policy_free(node);
    if (st && P->param) snprintf(P->param, P->param_size, "routing");
    return st;
}

/* Model selection beyond `model`: lora, merged_adapters, routing (one at most). */
static eco_status read_selection(parse *P, const eco_jr *r, eco_server_request *q) {
    static const char *const keys[] = {"lora", "merged_adapters", "routing"};
    const char *first = NULL;
    for (size_t i = 0; i < 3; i++) {
        if (!eco_jr_opt(r, keys[i])) continue;
        if (first)
            return at(
                P, r, keys[i],
                eco_jr_fail(r, keys[i], ECO_STATUS_EFORMAT, "cannot be given with %s", first));
        first = keys[i];
    }
    eco_status st;
    if ((st = read_lora(P, r, q)) || (st = read_merged(P, r, q)) || (st = read_routing(P, r, q)))
        return st;
    if (q->routing && (q->stream || q->logprobs))
        return at(P, r, "routing",
                  eco_jr_fail(r, "routing", ECO_STATUS_EUNSUPPORTED,
                              "a routed request is answered whole: no stream, no logprobs"));
    return ECO_STATUS_OK;
}

static eco_status read_body(parse *P, const eco_jr *r, eco_server_endpoint ep,
                            const eco_server_limits *L, eco_server_request *q) {
    static const char *const completions[] = {"model",
                                              "prompt",
                                              "max_tokens",
                                              "temperature",
                                              "top_p",
                                              "seed",
                                              "stop",
                                              "n",
                                              "stream",
                                              "stream_options",
                                              "logprobs",
                                              "echo",
                                              "user",
                                              "frequency_penalty",
                                              "presence_penalty",
                                              "best_of",
                                              "suffix",
                                              "logit_bias",
                                              "response_format",
                                              "lora",
                                              "merged_adapters",
                                              "routing",
                                              NULL};
    static const char *const chat[] = {"model",
                                       "messages",
                                       "max_tokens",
                                       "max_completion_tokens",
                                       "temperature",
                                       "top_p",
                                       "seed",
                                       "stop",
                                       "n",
                                       "stream",
                                       "stream_options",
                                       "logprobs",
                                       "top_logprobs",
                                       "user",
                                       "frequency_penalty",
                                       "presence_penalty",
                                       "logit_bias",
                                       "response_format",
                                       "tools",
                                       "tool_choice",
                                       "parallel_tool_calls",
                                       "lora",
                                       "merged_adapters",
                                       "routing",
                                       NULL};
    static const char *const later_c[] = {NULL};
    static const char *const later_chat[] = {"tools", "tool_choice", "parallel_tool_calls", NULL};
    const bool is_chat = ep == ECO_SERVER_ENDPOINT_CHAT;
    eco_status st = eco_jr_only(r, is_chat ? chat : completions);
    if (st) {
        /* the unknown key is the param: find it again */
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)r->obj, key, val) {
            bool ok = false;
            for (const char *const *k = is_chat ? chat : completions; *k; k++)
                ok |= !strcmp(*k, key);
            if (!ok) {
                if (P->param) snprintf(P->param, P->param_size, "%s", key);
                break;
            }
        }
        return st;
    }
    if ((st = later(P, r, is_chat ? later_chat : later_c))) return st;

    const char *s;
    size_t n;
    if ((st = eco_jr_str(r, "model", true, false, &s, &n))) return at(P, r, "model", st);
    if (n == 0) return at(P, r, "model", eco_jr_fail(r, "model", ECO_STATUS_EFORMAT, "is empty"));
    if ((st = dup_str(s, n, &q->model))) return st;

    if (is_chat) {
        if ((st = read_messages(P, r, L->max_messages, q))) return st;
    } else if ((st = read_prompt(P, r, q))) {
        return st;
    }

    int64_t iv = 0;
    const char *mt = "max_tokens";
    if (is_chat && eco_jr_opt(r, "max_completion_tokens")) {
        if (eco_jr_opt(r, "max_tokens"))
            return at(P, r, "max_completion_tokens",
                      eco_jr_fail(r, "max_completion_tokens", ECO_STATUS_EFORMAT,
                                  "give max_tokens or max_completion_tokens, not both"));
        mt = "max_completion_tokens";
    }
    if ((st = eco_jr_int(r, mt, false, 1, L->max_tokens, &iv))) return at(P, r, mt, st);
    q->max_tokens = (int)iv;

    q->temperature = 1;
    if ((st = eco_jr_num(r, "temperature", false, 0, 2, &q->temperature)))
        return at(P, r, "temperature", st);
    q->top_p = 1;
    if ((st = eco_jr_num(r, "top_p", false, 0, 1, &q->top_p))) return at(P, r, "top_p", st);
    if (q->top_p <= 0)
        return at(P, r, "top_p", eco_jr_fail(r, "top_p", ECO_STATUS_ERANGE, "must be > 0"));
    iv = 0;
    if ((st = eco_jr_int(r, "seed", false, INT64_MIN, INT64_MAX, &iv))) return at(P, r, "seed", st);
    q->seed = (uint64_t)iv;
    if ((st = read_stop(P, r, L->max_stop, q))) return st;
    iv = 1;
    if ((st = eco_jr_int(r, "n", false, 1, L->max_n, &iv))) return at(P, r, "n", st);
    q->n = (int)iv;
    if (eco_jr_opt(r, "best_of")) {
        int64_t best = 0;
        if ((st = eco_jr_int(r, "best_of", false, 1, L->max_n, &best)))
            return at(P, r, "best_of", st);
        if (best != q->n)
            return at(P, r, "best_of",
                      eco_jr_fail(r, "best_of", ECO_STATUS_EUNSUPPORTED,
                                  "only best_of equal to n is supported"));
    }
    if ((st = eco_jr_bool(r, "stream", false, &q->stream))) return at(P, r, "stream", st);
    static const char *const so_keys[] = {"include_usage", NULL};
    eco_jr sr;
    bool so = false;
    if ((st = sub_object(P, r, "stream_options", false, so_keys, &sr, &so))) return st;
    if (so) {
        if ((st = eco_jr_bool(&sr, "include_usage", false, &q->include_usage)))
            return at(P, &sr, "include_usage", st);
    }

    if (is_chat) {
        if ((st = eco_jr_bool(r, "logprobs", false, &q->logprobs))) return at(P, r, "logprobs", st);
        iv = 0;
        if ((st = eco_jr_int(r, "top_logprobs", false, 0, 20, &iv)))
            return at(P, r, "top_logprobs", st);
        q->top_logprobs = (int)iv;
        if (eco_jr_opt(r, "top_logprobs") && !q->logprobs)
            return at(
                P, r, "top_logprobs",
                eco_jr_fail(r, "top_logprobs", ECO_STATUS_EFORMAT, "needs \"logprobs\": true"));
    } else {
        iv = -1;
        if ((st = eco_jr_int(r, "logprobs", false, 0, 5, &iv))) return at(P, r, "logprobs", st);
        q->logprobs = iv >= 0;
        q->top_logprobs = iv > 0 ? (int)iv : 0;
        if ((st = neutral(P, r, "echo"))) return st;
        const json_t *sfx = eco_jr_opt(r, "suffix");
        if (sfx && !(json_is_string(sfx) && json_string_length(sfx) == 0))
            return at(
                P, r, "suffix",
                eco_jr_fail(r, "suffix", ECO_STATUS_EUNSUPPORTED, "not supported by this server"));
    }
    if ((st = read_response_format(P, r, q))) return st;
    if ((st = eco_jr_str(r, "user", false, false, &s, NULL))) return at(P, r, "user", st);
    if ((st = neutral(P, r, "frequency_penalty")) || (st = neutral(P, r, "presence_penalty")) ||
        (st = neutral(P, r, "logit_bias")))
        return st;
    return read_selection(P, r, q);
}

eco_status eco_server_request_parse(const char *body, size_t len, eco_server_endpoint endpoint,
                                    const eco_server_limits *limits, eco_server_request *out,
                                    char *param, size_t param_size) {
    eco_server_limits defaults;
    if (!limits) {
        eco_server_limits_default(&defaults);
        limits = &defaults;
    }
    parse P = {param, param_size};
    if (param && param_size) param[0] = '\0';
    memset(out, 0, sizeof *out);
    out->endpoint = endpoint;
    if (!body && len > 0) return eco_error(ECO_STATUS_EINVAL, LABEL ": NULL body");
    if (len > limits->max_body_bytes)
        return eco_error(ECO_STATUS_ERANGE, LABEL ": body of %zu bytes, more than %zu", len,
                         limits->max_body_bytes);
    json_t *root = NULL;
    eco_status st = eco_json_parse(body, len, 0, LABEL, &root);
    if (st) return st;
    if (!json_is_object(root)) {
        json_decref(root);
        return eco_error(ECO_STATUS_EFORMAT, LABEL ": expected a JSON object");
    }
    eco_jr r = eco_jr_root(LABEL, root);
    st = read_body(&P, &r, endpoint, limits, out);
    json_decref(root);
    if (st != ECO_STATUS_OK) eco_server_request_free(out);
    if (st == ECO_STATUS_OK) out->endpoint = endpoint;
    return st;
}
