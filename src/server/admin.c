/* POST /admin/aliases (admin scope): moves a capability's champion alias through the
 * promotion module's gated eco_promote, as `ecology promote` does: by default only to a
 * model with an accepted evaluation report for the capability (EGATE otherwise: 409), by
 * compare-and-swap when "expect" is given (ECONFLICT: 409). The body:
 *   {"capability": "text.reverse@1", "model": "<id or alias>", "expect": "<id>" | "-",
 *    "require_report": true}
 * read with core's field reader (eco_server_promote_parse, fuzzed with the request bodies). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "ecology/promotion.h"
#include "server/server_internal.h"

#define LABEL "request"

void eco_server_promote_free(eco_server_promote *p) {
    if (!p) return;
    free(p->capability);
    free(p->model);
    free(p->expect);
    memset(p, 0, sizeof *p);
}

static eco_status dup_field(const eco_jr *r, const char *key, bool required, char **out) {
    const char *s = NULL;
    eco_status st = eco_jr_str(r, key, required, false, &s, NULL);
    if (st || !s) return st;
    if (!s[0]) return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "is empty");
    if (!(*out = eco_strdup(s))) return eco_error(ECO_STATUS_ENOMEM, LABEL ": out of memory");
    return ECO_STATUS_OK;
}

eco_status eco_server_promote_parse(const char *body, size_t len, eco_server_promote *out) {
    memset(out, 0, sizeof *out);
    out->require_report = true;
    json_t *root = NULL;
    eco_status st = eco_json_parse(body, len, 0, LABEL, &root);
    if (st) return st;
    eco_jr r = eco_jr_root(LABEL, root);
    static const char *const allowed[] = {"capability", "model", "expect", "require_report", NULL};
    if (!json_is_object(root)) st = eco_error(ECO_STATUS_EFORMAT, LABEL ": expected a JSON object");
    if (st == ECO_STATUS_OK) st = eco_jr_only(&r, allowed);
    if (st == ECO_STATUS_OK) st = dup_field(&r, "capability", true, &out->capability);
    if (st == ECO_STATUS_OK) st = dup_field(&r, "model", true, &out->model);
    if (st == ECO_STATUS_OK) st = dup_field(&r, "expect", false, &out->expect);
    if (st == ECO_STATUS_OK) st = eco_jr_bool(&r, "require_report", false, &out->require_report);
    json_decref(root);
    if (st) eco_server_promote_free(out);
    return st;
}

void srv_handle_admin_promote(eco_server *s, const char *body, size_t len, answer *a) {
    eco_server_promote p;
    eco_status st = eco_server_promote_parse(body, len, &p);
    if (st) return srv_answer_error(a, 400, NULL, NULL, "%s", eco_last_error());
    eco_promote_options o = {.capability = p.capability,
                             .expect = p.expect,
                             .by = "manual",
                             .require_report = p.require_report};
    char alias[ECO_PROMOTION_ALIAS_MAX] = "";
    char *id = NULL;
    pthread_mutex_lock(&s->reg_mu);
    st = eco_promotion_alias(p.capability, "champion", alias);
    if (st == ECO_STATUS_OK) st = eco_promote(s->reg, p.model, &o);
    if (st == ECO_STATUS_OK) st = eco_registry_alias_get(s->reg, alias, &id);
    pthread_mutex_unlock(&s->reg_mu);
    if (st == ECO_STATUS_EGATE)
        srv_answer_error(a, 409, "gate_refused", "model", "%s", eco_last_error());
    else if (st == ECO_STATUS_ECONFLICT)
        srv_answer_error(a, 409, "conflict", "expect", "%s", eco_last_error());
    else if (st != ECO_STATUS_OK)
        srv_answer_error(a, srv_status_http(st), NULL, NULL, "%s", eco_last_error());
    else
        srv_answer_json(a, 200, json_pack("{s:s,s:s}", "alias", alias, "model", id));
    free(id);
    eco_server_promote_free(&p);
}
