/* The Pareto archive: creation, insert (dominance, then crowding over capacity), removal
 * and member access. Members stay in id order so that every query and the JSON are
 * deterministic. */
#include "promotion/pareto_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "ecology/evaluator.h"

const eco_pareto_objective eco_pareto_default_objectives[ECO_PARETO_OBJ__COUNT] = {
    {"quality", ECO_PARETO_DIR_MAX},           {"robustness", ECO_PARETO_DIR_MAX},
    {"calibration_error", ECO_PARETO_DIR_MIN}, {"p95_ms", ECO_PARETO_DIR_MIN},
    {"memory_bytes", ECO_PARETO_DIR_MIN},
};

eco_status eco_pareto_values_from_fitness(const eco_fitness *f, double out[ECO_PARETO_OBJ__COUNT]) {
    if (!f || !out) return eco_error(ECO_STATUS_EINVAL, "pareto: NULL fitness");
    double v[ECO_PARETO_OBJ__COUNT];
    v[ECO_PARETO_OBJ_QUALITY] = f->objectives[0];
    v[ECO_PARETO_OBJ_ROBUSTNESS] = f->objectives[2];
    v[ECO_PARETO_OBJ_CALIBRATION_ERROR] = 1.0 - f->objectives[1];
    v[ECO_PARETO_OBJ_P95_MS] = -1000.0 * f->objectives[4];
    v[ECO_PARETO_OBJ_MEMORY_BYTES] = -1073741824.0 * f->objectives[5];
    for (int j = 0; j < ECO_PARETO_OBJ__COUNT; j++) {
        if (!isfinite(v[j]))
            return eco_error(ECO_STATUS_EINVAL, "pareto: fitness objective %s is %g (not finite)",
                             eco_pareto_default_objectives[j].name, v[j]);
        out[j] = v[j] == 0 ? 0.0 : v[j]; /* -0 as 0 */
    }
    return ECO_STATUS_OK;
}

bool eco_pareto_name_ok(const char *name, size_t len) {
    if (!name || len < 1 || len > ECO_PARETO_NAME_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
}

eco_status eco_pareto_check_id(const char *id, size_t len, const char *what) {
    char shown[ECO_JSON_SHOWN_SIZE];
    if (!id) return eco_error(ECO_STATUS_EINVAL, "%s: NULL id", what);
    if (len < 1 || len > ECO_PARETO_ID_MAX)
        return eco_error(ECO_STATUS_EINVAL, "%s: id '%s' is %zu bytes, expected 1..%d", what,
                         eco_json_shown(id, len, shown), len, ECO_PARETO_ID_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c < 0x20 || c == 0x7f)
            return eco_error(ECO_STATUS_EINVAL, "%s: id '%s' holds a control byte", what,
                             eco_json_shown(id, len, shown));
    }
    /* The JSON holds the id as a string: it must be UTF-8. */
    if (eco_utf8_valid_prefix(id, len) != len)
        return eco_error(ECO_STATUS_EINVAL, "%s: id '%s' is not valid UTF-8", what,
                         eco_json_shown(id, len, shown));
    return ECO_STATUS_OK;
}

eco_status eco_pareto_create(const eco_pareto_objective *obj, size_t n_obj, size_t capacity,
                             eco_pareto **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "pareto create: NULL out");
    *out = NULL;
    if (!obj || n_obj < 1 || n_obj > ECO_PARETO_MAX_OBJECTIVES)
        return eco_error(ECO_STATUS_EINVAL, "pareto create: %zu objectives, expected 1..%d", n_obj,
                         ECO_PARETO_MAX_OBJECTIVES);
    if (capacity < 1 || capacity > ECO_PARETO_MAX_CAPACITY)
        return eco_error(ECO_STATUS_EINVAL, "pareto create: capacity %zu, expected 1..%d", capacity,
                         ECO_PARETO_MAX_CAPACITY);
    for (size_t j = 0; j < n_obj; j++) {
        char shown[ECO_JSON_SHOWN_SIZE];
        const char *nm = obj[j].name;
        size_t len = nm ? strlen(nm) : 0;
        if (!eco_pareto_name_ok(nm, len))
            return eco_error(ECO_STATUS_EINVAL,
                             "pareto create: objective %zu name '%s' is not [a-z0-9_]{1,%d}", j,
                             nm ? eco_json_shown(nm, len, shown) : "(null)", ECO_PARETO_NAME_MAX);
        if (obj[j].dir != ECO_PARETO_DIR_MAX && obj[j].dir != ECO_PARETO_DIR_MIN)
            return eco_error(ECO_STATUS_EINVAL, "pareto create: objective '%s': direction %d", nm,
                             (int)obj[j].dir);
        for (size_t i = 0; i < j; i++)
            if (strcmp(obj[i].name, nm) == 0)
                return eco_error(ECO_STATUS_EINVAL, "pareto create: objective '%s' twice", nm);
    }
    eco_pareto *a = calloc(1, sizeof *a);
    if (!a) return eco_error(ECO_STATUS_ENOMEM, "pareto create: out of memory");
    a->n_obj = n_obj;
    a->capacity = capacity;
    for (size_t j = 0; j < n_obj; j++) {
        memcpy(a->names[j], obj[j].name, strlen(obj[j].name) + 1);
        a->dirs[j] = obj[j].dir;
        a->obj[j] = (eco_pareto_objective){a->names[j], obj[j].dir};
    }
    size_t rows = capacity + 1, cells;
    a->ids = eco_calloc_array(rows, sizeof *a->ids);
    a->vals = eco_mul_ok(rows, n_obj, &cells) ? eco_calloc_array(cells, sizeof *a->vals) : NULL;
    if (!a->ids || !a->vals) {
        eco_pareto_free(a);
        return eco_error(ECO_STATUS_ENOMEM, "pareto create: out of memory for %zu members",
                         capacity);
    }
    *out = a;
    return ECO_STATUS_OK;
}

void eco_pareto_free(eco_pareto *a) {
    if (!a) return;
    if (a->ids)
        for (size_t i = 0; i < a->n; i++) free(a->ids[i]);
    free(a->ids);
    free(a->vals);
    free(a);
}

/* The first index whose id is >= id (byte order); *found when equal. */
static size_t lower_bound(const eco_pareto *a, const char *id, bool *found) {
    size_t lo = 0, hi = a->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(a->ids[mid], id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < a->n && strcmp(a->ids[lo], id) == 0;
    return lo;
}

/* Removes member i, shifting the later ones down. */
static void remove_at(eco_pareto *a, size_t i) {
    free(a->ids[i]);
    size_t m = a->n_obj, after = a->n - i - 1;
    memmove(a->ids + i, a->ids + i + 1, after * sizeof *a->ids);
    memmove(a->vals + i * m, a->vals + (i + 1) * m, after * m * sizeof *a->vals);
    a->n--;
    a->ids[a->n] = NULL;
}

static void copy_id(char dst[ECO_PARETO_ID_MAX + 1], const char *id) {
    size_t n = strlen(id);
    if (n > ECO_PARETO_ID_MAX) n = ECO_PARETO_ID_MAX; /* ids are checked; never cut in fact */
    memcpy(dst, id, n);
    dst[n] = '\0';
}

eco_status eco_pareto_member_crowding(const eco_pareto *a, double *dist) {
    if (!a || (!dist && a->n))
        return eco_error(ECO_STATUS_EINVAL, "pareto crowding: NULL argument");
    if (a->n == 0) return ECO_STATUS_OK;
    size_t *rank = eco_calloc_array(a->n, sizeof *rank); /* [n] all 0: one front */
    if (!rank) return eco_error(ECO_STATUS_ENOMEM, "pareto crowding: out of memory");
    eco_status st = eco_pareto_crowding(a->n_obj, a->vals, a->n, rank, dist);
    free(rank);
    return st;
}

/* Over capacity: drops the member with the smallest crowding distance (ties: the id that
 * sorts last) and names it in dropped. */
static eco_status drop_most_crowded(eco_pareto *a, char dropped[ECO_PARETO_ID_MAX + 1]) {
    double *dist = eco_malloc_array(a->n, sizeof *dist); /* [n] */
    if (!dist) return eco_error(ECO_STATUS_ENOMEM, "pareto insert: out of memory");
    eco_status st = eco_pareto_member_crowding(a, dist);
    if (st == ECO_STATUS_OK) {
        size_t worst = 0;
        for (size_t i = 1; i < a->n; i++)
            if (dist[i] <= dist[worst]) worst = i; /* equal: the later id wins the drop */
        copy_id(dropped, a->ids[worst]);
        remove_at(a, worst);
    }
    free(dist);
    return st;
}

eco_status eco_pareto_insert(eco_pareto *a, const char *id, const double *values,
                             eco_pareto_insert_info *info) {
    eco_pareto_insert_info local;
    if (!info) info = &local;
    memset(info, 0, sizeof *info);
    if (!a || !values) return eco_error(ECO_STATUS_EINVAL, "pareto insert: NULL argument");
    eco_status st = eco_pareto_check_id(id, id ? strlen(id) : 0, "pareto insert");
    if (st) return st;
    for (size_t j = 0; j < a->n_obj; j++)
        if (!isfinite(values[j]))
            return eco_error(ECO_STATUS_EINVAL, "pareto insert: member '%s': %s is %g (not finite)",
                             id, a->names[j], values[j]);
    bool found;
    lower_bound(a, id, &found);
    if (found)
        return eco_error(ECO_STATUS_EEXIST,
                         "pareto insert: member '%s' is already in the archive (remove it first "
                         "to replace it)",
                         id);
    for (size_t i = 0; i < a->n; i++)
        if (eco_pareto_dominates(a->obj, a->n_obj, a->vals + i * a->n_obj, values)) {
            info->outcome = ECO_PARETO_OUTCOME_DOMINATED;
            copy_id(info->by, a->ids[i]);
            return ECO_STATUS_OK;
        }
    char *copy = eco_strdup(id);
    if (!copy) return eco_error(ECO_STATUS_ENOMEM, "pareto insert: out of memory");
    for (size_t i = a->n; i-- > 0;)
        if (eco_pareto_dominates(a->obj, a->n_obj, values, a->vals + i * a->n_obj)) {
            remove_at(a, i);
            info->n_removed++;
        }
    /* Room for capacity + 1 rows: there is always a free row here. */
    size_t pos = lower_bound(a, id, &found), m = a->n_obj;
    memmove(a->ids + pos + 1, a->ids + pos, (a->n - pos) * sizeof *a->ids);
    memmove(a->vals + (pos + 1) * m, a->vals + pos * m, (a->n - pos) * m * sizeof *a->vals);
    a->ids[pos] = copy;
    for (size_t j = 0; j < m; j++) a->vals[pos * m + j] = values[j] == 0 ? 0.0 : values[j];
    a->n++;
    info->outcome = ECO_PARETO_OUTCOME_ADDED;
    if (a->n > a->capacity) {
        st = drop_most_crowded(a, info->dropped);
        if (st) return st;
        if (strcmp(info->dropped, id) == 0) info->outcome = ECO_PARETO_OUTCOME_CROWDED;
    }
    return ECO_STATUS_OK;
}

eco_status eco_pareto_remove(eco_pareto *a, const char *id) {
    size_t i = 0;
    eco_status st = eco_pareto_find(a, id, &i);
    if (st) return eco_error_wrap(st, "pareto remove");
    remove_at(a, i);
    return ECO_STATUS_OK;
}

const char *eco_pareto_outcome_str(eco_pareto_outcome o) {
    switch (o) {
        case ECO_PARETO_OUTCOME_ADDED:
            return "added";
        case ECO_PARETO_OUTCOME_DOMINATED:
            return "dominated";
        case ECO_PARETO_OUTCOME_CROWDED:
            return "crowded";
    }
    return "unknown";
}

size_t eco_pareto_count(const eco_pareto *a) { return a ? a->n : 0; }
size_t eco_pareto_capacity(const eco_pareto *a) { return a ? a->capacity : 0; }
size_t eco_pareto_n_objectives(const eco_pareto *a) { return a ? a->n_obj : 0; }

eco_pareto_objective eco_pareto_objective_at(const eco_pareto *a, size_t i) {
    ECO_ASSERT(a && i < a->n_obj);
    return a->obj[i];
}

eco_status eco_pareto_objective_index(const eco_pareto *a, const char *name, size_t *index) {
    if (!a || !name || !index) return eco_error(ECO_STATUS_EINVAL, "pareto: NULL argument");
    for (size_t j = 0; j < a->n_obj; j++)
        if (strcmp(a->names[j], name) == 0) {
            *index = j;
            return ECO_STATUS_OK;
        }
    char shown[ECO_JSON_SHOWN_SIZE];
    return eco_error(ECO_STATUS_ENOTFOUND, "pareto: no objective '%s'",
                     eco_json_shown(name, strlen(name), shown));
}

const char *eco_pareto_id(const eco_pareto *a, size_t i) {
    ECO_ASSERT(a && i < a->n);
    return a->ids[i];
}

const double *eco_pareto_values(const eco_pareto *a, size_t i) {
    ECO_ASSERT(a && i < a->n);
    return a->vals + i * a->n_obj;
}

eco_status eco_pareto_find(const eco_pareto *a, const char *id, size_t *index) {
    if (!a || !id || !index) return eco_error(ECO_STATUS_EINVAL, "pareto find: NULL argument");
    bool found;
    size_t i = lower_bound(a, id, &found);
    if (!found) {
        char shown[ECO_JSON_SHOWN_SIZE];
        return eco_error(ECO_STATUS_ENOTFOUND, "pareto: no member '%s'",
                         eco_json_shown(id, strlen(id), shown));
    }
    *index = i;
    return ECO_STATUS_OK;
}
