/* Who serves a capability (promotion.h): the "C.champion" alias, moved by compare-and-swap
 * on promotion and back one step on rollback, each move with its event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ecology/promotion.h"

eco_status eco_promotion_alias(const char *capability, const char *role,
                               char out[ECO_PROMOTION_ALIAS_MAX]) {
    out[0] = '\0';
    if (!capability || !*capability || !role || !*role)
        return eco_error(ECO_STATUS_EINVAL, "alias: no capability or role");
    int k = snprintf(out, ECO_PROMOTION_ALIAS_MAX, "%s.%s", capability, role);
    if (k < 0 || k >= ECO_PROMOTION_ALIAS_MAX || !eco_model_id_ok(out)) {
        out[0] = '\0';
        return eco_error(ECO_STATUS_EINVAL,
                         "capability '%s': '%s.%s' is not a valid alias name (1..127 of "
                         "[A-Za-z0-9._@+-])",
                         capability, capability, role);
    }
    return ECO_STATUS_OK;
}

/* Whether the stored report's "capabilities" object names capability. */
static bool report_scores(const char *report, const char *capability) {
    json_t *j = json_loads(report, 0, NULL);
    bool yes = json_object_get(json_object_get(j, "capabilities"), capability) != NULL;
    json_decref(j);
    return yes;
}

eco_status eco_promotion_accepted_report(eco_registry *r, const char *id, const char *capability,
                                         int64_t *seq) {
    *seq = -1;
    eco_registry_report *rep = NULL;
    size_t n = 0;
    eco_status st = eco_registry_reports(r, id, NULL, &rep, &n);
    if (st) return st;
    for (size_t i = n; i-- > 0;)
        if (rep[i].accepted == 1 && report_scores(rep[i].report, capability)) {
            *seq = rep[i].seq;
            break;
        }
    eco_registry_reports_free(rep, n);
    return ECO_STATUS_OK;
}

/* Appends an event whose detail is obj (consumed). */
static eco_status append(eco_registry *r, const char *type, const char *model_id, json_t *obj) {
    char *text = NULL;
    eco_status st = obj ? eco_json_canonical(obj, &text, NULL)
                        : eco_error(ECO_STATUS_ENOMEM, "%s event: out of memory", type);
    json_decref(obj);
    if (!st) st = eco_registry_event_append(r, type, model_id, text, NULL);
    free(text);
    return st;
}

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

eco_status eco_promote(eco_registry *r, const char *ref, const eco_promote_options *o) {
    if (!r || !ref || !o || !o->capability)
        return eco_error(ECO_STATUS_EINVAL, "promote: no registry, model or capability");
    char alias[ECO_PROMOTION_ALIAS_MAX];
    eco_status st = eco_promotion_alias(o->capability, "champion", alias);
    if (st) return st;
    char *id = NULL, *current = NULL;
    if ((st = eco_registry_resolve(r, ref, &id))) return st;
    int64_t seq = -1;
    if ((st = eco_promotion_accepted_report(r, id, o->capability, &seq))) goto done;
    if (o->require_report && seq < 0) {
        st = eco_error(ECO_STATUS_EGATE,
                       "promote %s for %s: no accepted evaluation report scores %s (evaluate it "
                       "behind the gates first: `ecology eval`)",
                       id, o->capability, o->capability);
        goto done;
    }
    if (!o->expect) {
        st = eco_registry_alias_get(r, alias, &current);
        if (st == ECO_STATUS_ENOTFOUND) {
            eco_clear_error();
            st = ECO_STATUS_OK;
        } else if (st) {
            goto done;
        }
    } else if (strcmp(o->expect, "-") != 0 && !(current = strdup(o->expect))) {
        st = eco_error(ECO_STATUS_ENOMEM, "promote: out of memory");
        goto done;
    }
    if (current && strcmp(current, id) == 0) goto done; /* already the champion */
    if ((st = eco_registry_alias_set(r, alias, id, current))) goto done;
    json_t *d = json_pack("{s:s, s:o, s:s, s:s, s:o}", "capability", o->capability, "from",
                          str_or_null(current), "to", id, "by", o->by ? o->by : "manual",
                          "report_seq", seq >= 0 ? json_integer(seq) : json_null());
    st = append(r, "promote", id, d);
done:
    free(id);
    free(current);
    return st;
}

eco_status eco_rollback(eco_registry *r, const char *capability, const char *reason, char **to) {
    if (to) *to = NULL;
    if (!r || !capability) return eco_error(ECO_STATUS_EINVAL, "rollback: no capability");
    char alias[ECO_PROMOTION_ALIAS_MAX];
    eco_status st = eco_promotion_alias(capability, "champion", alias);
    if (st) return st;
    eco_alias_change *h = NULL;
    size_t n = 0;
    if ((st = eco_registry_alias_history(r, alias, &h, &n))) return st;
    if (n == 0) {
        st = eco_error(ECO_STATUS_ENOTFOUND, "rollback %s: no champion yet (alias %s unset)",
                       capability, alias);
    } else if (!h[n - 1].from_id) {
        st = eco_error(ECO_STATUS_ENOTFOUND,
                       "rollback %s: %s is the first champion; there is none to go back to",
                       capability, h[n - 1].to_id);
    } else {
        const char *cur = h[n - 1].to_id, *prev = h[n - 1].from_id;
        if (!(st = eco_registry_alias_set(r, alias, prev, cur))) {
            json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "capability", capability, "from", cur,
                                  "to", prev, "reason", reason ? reason : "manual rollback");
            st = append(r, "rollback", prev, d);
        }
        if (!st && to && !(*to = strdup(prev)))
            st = eco_error(ECO_STATUS_ENOMEM, "rollback: out of memory");
    }
    eco_alias_changes_free(h, n);
    return st;
}
