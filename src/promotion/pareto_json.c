/* The archive as canonical JSON (core's canonical writer) and back (core's field reader,
 * every problem named by its field). */
#include "promotion/pareto_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/json_read.h"

eco_status eco_pareto_to_json(const eco_pareto *a, char **out, size_t *len) {
    if (!a || !out) return eco_error(ECO_STATUS_EINVAL, "pareto JSON: NULL argument");
    *out = NULL;
    json_t *root = json_object(), *objs = json_array(), *mems = json_array();
    int bad = !root || !objs || !mems;
    for (size_t j = 0; !bad && j < a->n_obj; j++) {
        json_t *o = json_object();
        bad |= !o;
        bad |= json_object_set_new(o, "direction",
                                   json_string(a->dirs[j] == ECO_PARETO_DIR_MAX ? "max" : "min"));
        bad |= json_object_set_new(o, "name", json_string(a->names[j]));
        bad |= json_array_append_new(objs, o);
    }
    for (size_t i = 0; !bad && i < a->n; i++) {
        json_t *m = json_object(), *vals = json_object();
        bad |= !m || !vals;
        for (size_t j = 0; !bad && j < a->n_obj; j++)
            bad |= json_object_set_new(vals, a->names[j], json_real(a->vals[i * a->n_obj + j]));
        bad |= json_object_set_new(m, "id", json_string(a->ids[i]));
        bad |= json_object_set_new(m, "values", vals);
        bad |= json_array_append_new(mems, m);
    }
    bad |= json_object_set_new(root, "capacity", json_integer((json_int_t)a->capacity));
    bad |= json_object_set_new(root, "members", mems);
    bad |= json_object_set_new(root, "objectives", objs);
    bad |= json_object_set_new(root, "version", json_integer(ECO_PARETO_JSON_VERSION));
    eco_status st = bad ? eco_error(ECO_STATUS_ENOMEM, "pareto JSON: out of memory serialising")
                        : eco_json_canonical(root, out, len);
    json_decref(root);
    return st;
}

/* objectives[]: into obj/names (names borrowed from the document). */
static eco_status parse_objectives(const eco_jr *r, const json_t *arr, eco_pareto_objective *obj,
                                   size_t *n_obj) {
    size_t n = json_array_size(arr);
    if (n < 1 || n > ECO_PARETO_MAX_OBJECTIVES)
        return eco_jr_fail(r, "objectives", ECO_STATUS_EFORMAT, "%zu entries, expected 1..%d", n,
                           ECO_PARETO_MAX_OBJECTIVES);
    static const char *const keys[] = {"direction", "name", NULL};
    for (size_t j = 0; j < n; j++) {
        eco_jr o = eco_jr_item(r, "objectives", j, json_array_get(arr, j));
        eco_status st = eco_jr_exact(&o, keys);
        if (st) return st;
        const char *name, *dir;
        size_t nlen;
        if ((st = eco_jr_str(&o, "name", true, false, &name, &nlen))) return st;
        if (!eco_pareto_name_ok(name, nlen))
            return eco_jr_fail(&o, "name", ECO_STATUS_EFORMAT, "expected [a-z0-9_]{1,%d}",
                               ECO_PARETO_NAME_MAX);
        for (size_t i = 0; i < j; i++)
            if (strcmp(obj[i].name, name) == 0)
                return eco_jr_fail(&o, "name", ECO_STATUS_EFORMAT, "'%s' named twice", name);
        if ((st = eco_jr_str(&o, "direction", true, false, &dir, NULL))) return st;
        if (strcmp(dir, "max") != 0 && strcmp(dir, "min") != 0)
            return eco_jr_fail(&o, "direction", ECO_STATUS_EFORMAT, "expected \"max\" or \"min\"");
        obj[j] =
            (eco_pareto_objective){name, dir[1] == 'a' ? ECO_PARETO_DIR_MAX : ECO_PARETO_DIR_MIN};
    }
    *n_obj = n;
    return ECO_STATUS_OK;
}

/* members[i]: id and values, checked, added to a (which must keep it: a member dominated
 * by another, or one over capacity, is refused). */
static eco_status parse_member(const eco_jr *r, size_t i, const json_t *v, eco_pareto *a) {
    eco_jr o = eco_jr_item(r, "members", i, v);
    static const char *const keys[] = {"id", "values", NULL};
    eco_status st = eco_jr_exact(&o, keys);
    if (st) return st;
    const char *id;
    size_t idlen;
    if ((st = eco_jr_str(&o, "id", true, false, &id, &idlen))) return st;
    if (eco_pareto_check_id(id, idlen, "id") != ECO_STATUS_OK)
        return eco_jr_fail(&o, "id", ECO_STATUS_EFORMAT,
                           "expected 1..%d bytes without a control byte", ECO_PARETO_ID_MAX);
    size_t at;
    if (eco_pareto_find(a, id, &at) == ECO_STATUS_OK)
        return eco_jr_fail(&o, "id", ECO_STATUS_EFORMAT, "a second member with this id");
    const json_t *vals;
    if ((st = eco_jr_object(&o, "values", true, &vals))) return st;
    eco_jr vr = eco_jr_child(&o, "values", vals);
    const char *names[ECO_PARETO_MAX_OBJECTIVES + 1];
    for (size_t j = 0; j < a->n_obj; j++) names[j] = a->names[j];
    names[a->n_obj] = NULL;
    if ((st = eco_jr_exact(&vr, names))) return st;
    double x[ECO_PARETO_MAX_OBJECTIVES];
    for (size_t j = 0; j < a->n_obj; j++)
        if ((st = eco_jr_num(&vr, a->names[j], true, -HUGE_VAL, HUGE_VAL, &x[j]))) return st;
    eco_pareto_insert_info info;
    if ((st = eco_pareto_insert(a, id, x, &info)))
        return eco_jr_fail(&o, NULL, st, "%s", eco_last_error());
    if (info.outcome == ECO_PARETO_OUTCOME_DOMINATED)
        return eco_jr_fail(&o, NULL, ECO_STATUS_EFORMAT, "dominated by member '%s'", info.by);
    if (info.n_removed > 0)
        return eco_jr_fail(&o, NULL, ECO_STATUS_EFORMAT,
                           "dominates %zu earlier member(s): an archive holds none dominated",
                           info.n_removed);
    return ECO_STATUS_OK; /* never over capacity: the count was checked first */
}

eco_status eco_pareto_from_json(const char *text, size_t len, const char *label, eco_pareto **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "pareto JSON: NULL out");
    *out = NULL;
    if (!label) label = "pareto JSON";
    if (!text && len) return eco_error(ECO_STATUS_EINVAL, "%s: NULL text", label);
    json_t *root;
    eco_status pst = eco_json_parse(text, len, 0, label, &root);
    if (pst) return pst;
    eco_jr r = eco_jr_root(label, root);
    static const char *const keys[] = {"capacity", "members", "objectives", "version", NULL};
    eco_pareto *a = NULL;
    int64_t version = 0, capacity = 0;
    const json_t *objs, *mems;
    eco_pareto_objective obj[ECO_PARETO_MAX_OBJECTIVES];
    size_t n_obj = 0;
    eco_status st = eco_jr_exact(&r, keys);
    if (!st)
        st = eco_jr_int(&r, "version", true, ECO_PARETO_JSON_VERSION, ECO_PARETO_JSON_VERSION,
                        &version);
    if (!st) st = eco_jr_int(&r, "capacity", true, 1, ECO_PARETO_MAX_CAPACITY, &capacity);
    if (!st) st = eco_jr_array(&r, "objectives", true, &objs);
    if (!st) st = parse_objectives(&r, objs, obj, &n_obj);
    if (!st) st = eco_jr_array(&r, "members", true, &mems);
    if (!st && json_array_size(mems) > (size_t)capacity)
        st = eco_jr_fail(&r, "members", ECO_STATUS_EFORMAT, "%zu members, more than capacity %lld",
                         json_array_size(mems), (long long)capacity);
    if (!st) st = eco_pareto_create(obj, n_obj, (size_t)capacity, &a);
    for (size_t i = 0; !st && i < json_array_size(mems); i++)
        st = parse_member(&r, i, json_array_get(mems, i), a);
    json_decref(root);
    if (st) {
        eco_pareto_free(a);
        return st;
    }
    *out = a;
    return ECO_STATUS_OK;
}
