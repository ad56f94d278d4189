/* The policy tree (router.h): parsed from JSON with the core field reader, written back as
 * canonical JSON, freed. Hostile input: every field checked, limits on size, depth, node
 * and child counts, messages naming the field's path. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/json_read.h"
#include "ecology/router.h"

static const char *const KIND_NAMES[] = {"target",   "capability", "cascade",
                                         "ensemble", "canary",     "shadow"};
#define N_KINDS (sizeof KIND_NAMES / sizeof *KIND_NAMES)

const char *eco_route_kind_str(eco_route_kind k) {
    return (unsigned)k < N_KINDS ? KIND_NAMES[k] : "?";
}

void eco_route_policy_free(eco_route_node *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_children; i++) eco_route_policy_free(p->children[i]);
    free(p->children);
    free(p->at);
    free(p->target);
    free(p->capability);
    free(p);
}

/* ---- parsing ---------------------------------------------------------------------------- */

typedef struct parser {
    size_t n_nodes;
} parser;

static eco_status parse_node(parser *ps, const eco_jr *r, const json_t *v, int depth,
                             eco_route_node **out);

/* A new node of kind k at r's path (NULL when out of memory). */
static eco_route_node *node_new(eco_route_kind k, const eco_jr *r) {
    eco_route_node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->kind = k;
    n->at = eco_strdup(r->at);
    if (!n->at) {
        free(n);
        return NULL;
    }
    return n;
}

static eco_status oom(const eco_jr *r) {
    return eco_jr_fail(r, NULL, ECO_STATUS_ENOMEM, "out of memory");
}

/* The child node r[key] (required). */
static eco_status parse_child(parser *ps, const eco_jr *r, const char *key, int depth,
                              eco_route_node **out) {
    const json_t *v;
    eco_status st = eco_jr_need(r, key, &v);
    if (st) return st;
    eco_jr c = eco_jr_child(r, key, v);
    return parse_node(ps, &c, v, depth + 1, out);
}

/* The array r[key] of nodes into n->children; at least min entries (required when min > 0). */
static eco_status parse_children(parser *ps, const eco_jr *r, const char *key, size_t min,
                                 int depth, eco_route_node *n) {
    const json_t *a = NULL;
    eco_status st = eco_jr_array(r, key, min > 0, &a);
    if (st || !a) return st;
    size_t m = json_array_size(a);
    if (m < min || m > ECO_ROUTE_MAX_CHILDREN)
        return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "%zu entries, expected %zu to %d", m,
                           min ? min : 1, ECO_ROUTE_MAX_CHILDREN);
    if (m == 0)
        return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "empty (leave it out: every target)");
    n->children = calloc(m, sizeof *n->children);
    if (!n->children) return oom(r);
    for (size_t i = 0; i < m; i++) {
        const json_t *v = json_array_get(a, i);
        eco_jr c = eco_jr_item(r, key, i, v);
        if ((st = parse_node(ps, &c, v, depth + 1, &n->children[i]))) return st;
        n->n_children++;
    }
    return ECO_STATUS_OK;
}

static eco_status parse_capability(parser *ps, const eco_jr *r, int depth, eco_route_node *n) {
    static const char *const keys[] = {"policy", "capability", "profile", "members", NULL};
    eco_status st = eco_jr_only(r, keys);
    const char *cap = NULL;
    size_t len = 0;
    if (!st) st = eco_jr_str(r, "capability", false, false, &cap, &len);
    if (!st && cap && len == 0) st = eco_jr_fail(r, "capability", ECO_STATUS_EFORMAT, "empty");
    if (!st && cap && !(n->capability = eco_strdup(cap))) st = oom(r);
    const json_t *prof = NULL;
    if (!st) st = eco_jr_object(r, "profile", false, &prof);
    if (!st && prof) {
        static const char *const pkeys[] = {"max_p95_ms", "max_resident_bytes", NULL};
        eco_jr p = eco_jr_child(r, "profile", prof);
        int64_t bytes = 0;
        if (!(st = eco_jr_only(&p, pkeys)) &&
            !(st = eco_jr_num(&p, "max_p95_ms", false, 0, 1e12, &n->max_p95_ms)) &&
            !(st = eco_jr_int(&p, "max_resident_bytes", false, 0, INT64_MAX, &bytes)))
            n->max_resident_bytes = (uint64_t)bytes;
    }
    if (!st) st = parse_children(ps, r, "members", 0, depth, n);
    return st;
}

static eco_status parse_cascade(parser *ps, const eco_jr *r, int depth, eco_route_node *n) {
    static const char *const keys[] = {"policy", "threshold", "stages", NULL};
    eco_status st = eco_jr_only(r, keys);
    if (!st) st = eco_jr_num(r, "threshold", true, 0, 1, &n->threshold);
    if (!st && !(n->threshold > 0))
        st = eco_jr_fail(r, "threshold", ECO_STATUS_EFORMAT, "%g outside (0, 1]", n->threshold);
    if (!st) st = parse_children(ps, r, "stages", 2, depth, n);
    return st;
}

static eco_status parse_ensemble(parser *ps, const eco_jr *r, int depth, eco_route_node *n) {
    static const char *const keys[] = {"policy", "vote", "members", NULL};
    eco_status st = eco_jr_only(r, keys);
    const char *vote = NULL;
    if (!st) st = eco_jr_str(r, "vote", false, false, &vote, NULL);
    if (!st && vote) {
        if (!strcmp(vote, "majority"))
            n->vote = ECO_ROUTE_VOTE_MAJORITY;
        else if (!strcmp(vote, "confidence"))
            n->vote = ECO_ROUTE_VOTE_CONFIDENCE;
        else {
            char shown[ECO_JSON_SHOWN_SIZE];
            st = eco_jr_fail(r, "vote", ECO_STATUS_EFORMAT,
                             "'%s': expected \"majority\" or \"confidence\"",
                             eco_json_shown(vote, strlen(vote), shown));
        }
    }
    if (!st) st = parse_children(ps, r, "members", 2, depth, n);
    return st;
}

/* canary (with share) and shadow: champion and canary arms. */
static eco_status parse_arms(parser *ps, const eco_jr *r, int depth, eco_route_node *n) {
    static const char *const canary_keys[] = {"policy", "share", "champion", "canary", NULL};
    static const char *const shadow_keys[] = {"policy", "champion", "canary", NULL};
    const bool canary = n->kind == ECO_ROUTE_KIND_CANARY;
    eco_status st = eco_jr_only(r, canary ? canary_keys : shadow_keys);
    if (!st && canary) st = eco_jr_num(r, "share", true, 0, 1, &n->share);
    if (st) return st;
    n->children = calloc(2, sizeof *n->children);
    if (!n->children) return oom(r);
    if ((st = parse_child(ps, r, "champion", depth, &n->children[0]))) return st;
    n->n_children = 1;
    if ((st = parse_child(ps, r, "canary", depth, &n->children[1]))) return st;
    n->n_children = 2;
    return ECO_STATUS_OK;
}

static eco_status parse_node(parser *ps, const eco_jr *r, const json_t *v, int depth,
                             eco_route_node **out) {
    *out = NULL;
    if (depth > ECO_ROUTE_MAX_DEPTH)
        return eco_jr_fail(r, NULL, ECO_STATUS_EFORMAT, "nested more than %d deep",
                           ECO_ROUTE_MAX_DEPTH);
    if (++ps->n_nodes > ECO_ROUTE_MAX_NODES)
        return eco_jr_fail(r, NULL, ECO_STATUS_EFORMAT, "more than %d nodes", ECO_ROUTE_MAX_NODES);
    eco_status st;
    if (json_is_string(v)) {
        const char *id;
        size_t len;
        if ((st = eco_jr_str_value(r, NULL, v, false, &id, &len))) return st;
        if (len == 0) return eco_jr_fail(r, NULL, ECO_STATUS_EFORMAT, "an empty target id");
        eco_route_node *n = node_new(ECO_ROUTE_KIND_TARGET, r);
        if (!n || !(n->target = eco_strdup(id))) {
            eco_route_policy_free(n);
            return oom(r);
        }
        *out = n;
        return ECO_STATUS_OK;
    }
    if (!json_is_object(v))
        return eco_jr_fail(r, NULL, ECO_STATUS_EFORMAT,
                           "expected a target id (a string) or a policy (an object)");
    const char *name;
    if ((st = eco_jr_str(r, "policy", true, false, &name, NULL))) return st;
    size_t k = 1;
    while (k < N_KINDS && strcmp(name, KIND_NAMES[k]) != 0) k++;
    if (k == N_KINDS) {
        char shown[ECO_JSON_SHOWN_SIZE];
        return eco_jr_fail(r, "policy", ECO_STATUS_EFORMAT,
                           "'%s': expected capability, cascade, ensemble, canary or shadow",
                           eco_json_shown(name, strlen(name), shown));
    }
    eco_route_node *n = node_new((eco_route_kind)k, r);
    if (!n) return oom(r);
    switch (n->kind) {
        case ECO_ROUTE_KIND_CAPABILITY:
            st = parse_capability(ps, r, depth, n);
            break;
        case ECO_ROUTE_KIND_CASCADE:
            st = parse_cascade(ps, r, depth, n);
            break;
        case ECO_ROUTE_KIND_ENSEMBLE:
            st = parse_ensemble(ps, r, depth, n);
            break;
        default:
            st = parse_arms(ps, r, depth, n);
            break;
    }
    if (st) {
        eco_route_policy_free(n);
        return st;
    }
    *out = n;
    return ECO_STATUS_OK;
}

eco_status eco_route_policy_parse(const char *text, size_t len, const char *label,
                                  eco_route_node **out) {
    if (!out || (!text && len)) return eco_error(ECO_STATUS_EINVAL, "route policy: NULL argument");
    *out = NULL;
    if (!label) label = "policy";
    if (len > ECO_ROUTE_MAX_POLICY_BYTES)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %zu bytes, more than %u", label, len,
                         ECO_ROUTE_MAX_POLICY_BYTES);
    json_t *root;
    eco_status st = eco_json_parse(text, len, JSON_DECODE_ANY, label, &root);
    if (st) return st;
    parser ps = {0};
    eco_jr r = eco_jr_root(label, root);
    st = parse_node(&ps, &r, root, 0, out);
    json_decref(root);
    return st;
}

/* ---- writing ---------------------------------------------------------------------------- */

static json_t *node_json(const eco_route_node *n);

/* children [from, to) as a JSON array. */
static json_t *children_json(const eco_route_node *n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n->n_children; i++)
        if (json_array_append_new(a, node_json(n->children[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *node_json(const eco_route_node *n) {
    if (!n) return NULL;
    if (n->kind == ECO_ROUTE_KIND_TARGET) return json_string(n->target);
    json_t *o = json_object();
    if (!o) return NULL;
    bool bad = json_object_set_new(o, "policy", json_string(eco_route_kind_str(n->kind))) != 0;
    switch (n->kind) {
        case ECO_ROUTE_KIND_CAPABILITY: {
            if (n->capability)
                bad |= json_object_set_new(o, "capability", json_string(n->capability));
            if (n->max_p95_ms > 0 || n->max_resident_bytes > 0) {
                json_t *p = json_object();
                bad |= !p;
                if (p && n->max_p95_ms > 0)
                    bad |= json_object_set_new(p, "max_p95_ms", json_real(n->max_p95_ms)) != 0;
                if (p && n->max_resident_bytes > 0)
                    bad |=
                        json_object_set_new(p, "max_resident_bytes",
                                            json_integer((json_int_t)n->max_resident_bytes)) != 0;
                bad |= json_object_set_new(o, "profile", p) != 0;
            }
            if (n->n_children) bad |= json_object_set_new(o, "members", children_json(n)) != 0;
            break;
        }
        case ECO_ROUTE_KIND_CASCADE:
            bad |= json_object_set_new(o, "threshold", json_real(n->threshold)) != 0;
            bad |= json_object_set_new(o, "stages", children_json(n)) != 0;
            break;
        case ECO_ROUTE_KIND_ENSEMBLE:
            bad |= json_object_set_new(
                o, "vote",
                json_string(n->vote == ECO_ROUTE_VOTE_CONFIDENCE ? "confidence" : "majority"));
            bad |= json_object_set_new(o, "members", children_json(n)) != 0;
            break;
        default:
            if (n->kind == ECO_ROUTE_KIND_CANARY)
                bad |= json_object_set_new(o, "share", json_real(n->share)) != 0;
            bad |= n->n_children != 2;
            if (!bad) {
                bad |= json_object_set_new(o, "champion", node_json(n->children[0])) != 0;
                bad |= json_object_set_new(o, "canary", node_json(n->children[1])) != 0;
            }
            break;
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

eco_status eco_route_policy_json(const eco_route_node *policy, char **out) {
    if (!policy || !out) return eco_error(ECO_STATUS_EINVAL, "route policy: NULL argument");
    json_t *j = node_json(policy);
    if (!j) return eco_error(ECO_STATUS_ENOMEM, "route policy: out of memory writing JSON");
    size_t len;
    eco_status st = eco_json_canonical(j, out, &len);
    json_decref(j);
    return st;
}
