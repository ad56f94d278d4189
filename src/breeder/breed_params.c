/*
 * Reading an operator's parameters (breed_internal.h): one wording for every operator,
 * "<op>: params: <key>: <problem>" (EINVAL: the parameters are the caller's values).
 */
#include "breeder/breed_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* items (NULL-terminated) joined by sep into buf (cap bytes; cut short when full). */
static void join_list(char *buf, size_t cap, const char *const *items, const char *sep) {
    buf[0] = '\0';
    for (const char *const *a = items; *a; a++) {
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, "%s%s", a == items ? "" : sep, *a);
    }
}

/* params[key] when given (present and not null); NULL when not, with *st set: EINVAL
 * "missing" when required, else OK (the caller keeps its default). */
static const json_t *param_get(const char *op, const json_t *params, const char *key, bool required,
                               eco_status *st) {
    const json_t *v = json_object_get(params, key);
    *st = ECO_STATUS_OK;
    if (v && !json_is_null(v)) return v;
    if (required) *st = eco_error(ECO_STATUS_EINVAL, "%s: params: %s: missing", op, key);
    return NULL;
}

eco_status eco_breed_params_only(const char *op, const json_t *params, const char *const *allowed) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)params, key, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++) ok = strcmp(*a, key) == 0;
        if (ok) continue;
        char list[256];
        join_list(list, sizeof list, allowed, ", ");
        return eco_error(ECO_STATUS_EINVAL, "%s: params: unknown parameter '%.64s' (%s)", op, key,
                         list[0] ? list : "none taken");
    }
    return ECO_STATUS_OK;
}

eco_status eco_breed_param_num(const char *op, const json_t *params, const char *key, bool required,
                               double lo, double hi, double *out) {
    eco_status st;
    const json_t *v = param_get(op, params, key, required, &st);
    if (!v) return st;
    double d = json_number_value(v);
    if (!json_is_number(v) || !isfinite(d) || d < lo || d > hi)
        return eco_error(ECO_STATUS_EINVAL, "%s: params: %s: expected a number in [%g, %g]", op,
                         key, lo, hi);
    *out = d;
    return ECO_STATUS_OK;
}

eco_status eco_breed_param_int(const char *op, const json_t *params, const char *key, bool required,
                               int64_t lo, int64_t hi, int64_t *out) {
    eco_status st;
    const json_t *v = param_get(op, params, key, required, &st);
    if (!v) return st;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return eco_error(ECO_STATUS_EINVAL, "%s: params: %s: expected an integer in [%lld, %lld]",
                         op, key, (long long)lo, (long long)hi);
    *out = (int64_t)json_integer_value(v);
    return ECO_STATUS_OK;
}

eco_status eco_breed_param_bool(const char *op, const json_t *params, const char *key, bool *out) {
    eco_status st;
    const json_t *v = param_get(op, params, key, false, &st);
    if (!v) return st;
    if (!json_is_boolean(v))
        return eco_error(ECO_STATUS_EINVAL, "%s: params: %s: expected true or false", op, key);
    *out = json_is_true(v);
    return ECO_STATUS_OK;
}

eco_status eco_breed_param_str(const char *op, const json_t *params, const char *key,
                               const char *const *choices, const char **out) {
    eco_status st;
    const json_t *v = param_get(op, params, key, false, &st);
    if (!v) return st;
    const char *s = json_string_value(v);
    if (!s) return eco_error(ECO_STATUS_EINVAL, "%s: params: %s: expected a string", op, key);
    for (const char *const *c = choices; c && *c; c++)
        if (strcmp(*c, s) == 0) {
            *out = s;
            return ECO_STATUS_OK;
        }
    if (choices) {
        char list[128];
        join_list(list, sizeof list, choices, " or ");
        return eco_error(ECO_STATUS_EINVAL, "%s: params: %s: '%.64s' is not %s", op, key, s, list);
    }
    *out = s;
    return ECO_STATUS_OK;
}

eco_status eco_breed_param_seed(const char *op, const json_t *params, uint64_t *out) {
    int64_t seed = 0;
    eco_status st = eco_breed_param_int(op, params, "seed", false, 0, INT64_MAX, &seed);
    if (!st) *out = (uint64_t)seed;
    return st;
}

eco_status eco_breed_param_modules(const char *op, const json_t *params, char *buf, size_t len) {
    buf[0] = '\0';
    const json_t *v = json_object_get(params, "modules");
    if (!v || json_is_null(v)) return ECO_STATUS_OK;
    if (json_is_string(v)) {
        if ((size_t)snprintf(buf, len, "%s", json_string_value(v)) >= len)
            return eco_error(ECO_STATUS_EINVAL, "%s: params: modules: too long", op);
        return ECO_STATUS_OK;
    }
    if (!json_is_array(v))
        return eco_error(ECO_STATUS_EINVAL, "%s: params: modules: expected a list of module names",
                         op);
    size_t i;
    json_t *m;
    json_array_foreach(v, i, m) {
        const char *s = json_string_value(m);
        size_t used = strlen(buf);
        if (!s || !*s || strchr(s, ','))
            return eco_error(ECO_STATUS_EINVAL, "%s: params: modules[%zu]: expected a module name",
                             op, i);
        if ((size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "", s) >= len - used)
            return eco_error(ECO_STATUS_EINVAL, "%s: params: modules: too long", op);
    }
    return ECO_STATUS_OK;
}
