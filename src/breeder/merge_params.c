/*
 * The parameters of a merge (merge.h): defaults, the check, the canonical JSON object the
 * lineage records and its strict reader, and slerp's t per layer.
 */
#include "merge_internal.h"

#include <float.h>
#include <math.h>

#include "core/json_read.h"

static const char *const ELECTION_NAMES[] = {"sum", "count"};
static const char *const RESCALE_NAMES[] = {"inverse", "l1"};

void eco_merge_params_init(eco_merge_params *p, eco_merge_method m) {
    memset(p, 0, sizeof *p);
    p->method = m;
    for (int i = 0; i < ECO_MERGE_MAX_PARENTS; i++) p->density[i] = 1.0;
    p->lambda = 1.0;
    p->gamma = 0.01;
    p->epsilon = 0.15;
    p->election = ECO_MERGE_ELECTION_SUM;
    p->rescale = ECO_MERGE_RESCALE_INVERSE;
    p->normalize = -1;
}

bool eco_merge_params_normalize(const eco_merge_params *p) {
    if (p->normalize >= 0) return p->normalize != 0;
    switch (p->method) {
        case ECO_MERGE_METHOD_LINEAR:
        case ECO_MERGE_METHOD_TIES:
        case ECO_MERGE_METHOD_DELLA:
            return true;
        default:
            return false;
    }
}

eco_status eco_merge_params_check(const eco_merge_params *p) {
    const char *name = eco_merge_method_name(p->method);
    if (!name)
        return eco_error(ECO_STATUS_EINVAL, "method: %d is not a merge method", (int)p->method);
    bool slerp = p->method == ECO_MERGE_METHOD_SLERP;
    if (slerp && p->n_parents != 2)
        return eco_error(ECO_STATUS_EINVAL, "weights: slerp merges exactly 2 parents, got %d",
                         p->n_parents);
    if (p->n_parents < 1 || p->n_parents > ECO_MERGE_MAX_PARENTS)
        return eco_error(ECO_STATUS_EINVAL, "weights: %d parents, expected 1 to %d", p->n_parents,
                         ECO_MERGE_MAX_PARENTS);
    for (int m = 0; m < p->n_parents; m++) {
        if (!isfinite(p->weight[m]))
            return eco_error(ECO_STATUS_EINVAL, "weights[%d]: not a finite number", m);
        double d = p->density[m];
        if (!(d >= 0 && d <= 1))
            return eco_error(ECO_STATUS_EINVAL, "density[%d]: %g outside [0, 1]", m, d);
        if (p->method == ECO_MERGE_METHOD_DELLA && d < 1 &&
            !(d - p->epsilon > 0 && d + p->epsilon < 1))
            return eco_error(ECO_STATUS_EINVAL,
                             "density[%d]: della needs density ± epsilon inside (0, 1), got %g "
                             "± %g",
                             m, d, p->epsilon);
    }
    if (!isfinite(p->lambda)) return eco_error(ECO_STATUS_EINVAL, "lambda: not a finite number");
    if (!(p->gamma >= 0 && p->gamma < 1))
        return eco_error(ECO_STATUS_EINVAL, "gamma: %g outside [0, 1)", p->gamma);
    if (!(p->epsilon >= 0 && p->epsilon < 1))
        return eco_error(ECO_STATUS_EINVAL, "epsilon: %g outside [0, 1)", p->epsilon);
    if ((unsigned)p->election > ECO_MERGE_ELECTION_COUNT)
        return eco_error(ECO_STATUS_EINVAL, "election: %d is not sum or count", (int)p->election);
    if ((unsigned)p->rescale > ECO_MERGE_RESCALE_L1)
        return eco_error(ECO_STATUS_EINVAL, "rescale: %d is not inverse or l1", (int)p->rescale);
    if (p->normalize < -1 || p->normalize > 1)
        return eco_error(ECO_STATUS_EINVAL, "normalize: %d is not -1, 0 or 1", p->normalize);
    if (p->n_t < 0 || p->n_t > ECO_MERGE_MAX_T)
        return eco_error(ECO_STATUS_EINVAL, "t: %d values, at most %d", p->n_t, ECO_MERGE_MAX_T);
    if (slerp && p->n_t < 1) return eco_error(ECO_STATUS_EINVAL, "t: slerp needs a value of t");
    for (int i = 0; i < p->n_t; i++)
        if (!(p->t[i] >= 0 && p->t[i] <= 1))
            return eco_error(ECO_STATUS_EINVAL, "t[%d]: %g outside [0, 1]", i, p->t[i]);
    if (p->seed > (uint64_t)INT64_MAX)
        return eco_error(ECO_STATUS_EINVAL, "seed: %llu outside [0, 2^63 - 1]",
                         (unsigned long long)p->seed);
    return ECO_STATUS_OK;
}

static json_t *real_array(const double *v, int n) {
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_real(v[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

eco_status eco_merge_params_to_json(const eco_merge_params *p, json_t **out) {
    *out = NULL;
    eco_status st = eco_merge_params_check(p);
    if (st) return st;
    json_t *o = json_pack(
        "{s:s, s:o*, s:o*, s:f, s:f, s:f, s:s, s:s, s:b, s:o*, s:I}", "method",
        eco_merge_method_name(p->method), "weights", real_array(p->weight, p->n_parents), "density",
        real_array(p->density, p->n_parents), "lambda", p->lambda, "gamma", p->gamma, "epsilon",
        p->epsilon, "election", ELECTION_NAMES[p->election], "rescale", RESCALE_NAMES[p->rescale],
        "normalize", (int)eco_merge_params_normalize(p), "t", real_array(p->t, p->n_t), "seed",
        (json_int_t)p->seed);
    if (!o || json_object_size(o) != 11) {
        json_decref(o);
        return eco_error(ECO_STATUS_ENOMEM, "merge parameters: no memory for their JSON");
    }
    *out = o;
    return ECO_STATUS_OK;
}

/* A number or an array of numbers into v[*n] (at most max); a number is one value. */
static eco_status read_reals(const eco_jr *r, const char *key, double lo, double hi, int max,
                             double *v, int *n, bool *present) {
    const json_t *a = eco_jr_opt(r, key);
    *present = a != NULL;
    if (!a) return ECO_STATUS_OK;
    if (json_is_number(a)) {
        *n = 1;
        return eco_jr_num(r, key, true, lo, hi, &v[0]);
    }
    if (!json_is_array(a))
        return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "expected a number or an array");
    size_t len = json_array_size(a);
    if (len > (size_t)max)
        return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "%zu values, at most %d", len, max);
    for (size_t i = 0; i < len; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s[%zu]", key, i);
        eco_status st = eco_jr_num_value(r, name, json_array_get(a, i), lo, hi, &v[i]);
        if (st) return st;
    }
    *n = (int)len;
    return ECO_STATUS_OK;
}

static eco_status read_enum(const eco_jr *r, const char *key, const char *const *names, int count,
                            int *out) {
    const char *s;
    const json_t *v = eco_jr_opt(r, key);
    if (!v) return ECO_STATUS_OK;
    eco_status st = eco_jr_str(r, key, true, false, &s, NULL);
    if (st) return st;
    for (int i = 0; i < count; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i;
            return ECO_STATUS_OK;
        }
    char shown[ECO_JSON_SHOWN_SIZE];
    return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "'%s' is not %s or %s",
                       eco_json_shown(s, strlen(s), shown), names[0], names[1]);
}

eco_status eco_merge_params_from_json(const json_t *j, const char *label, eco_merge_params *out) {
    static const char *const keys[] = {"method",    "weights", "density",  "lambda",
                                       "gamma",     "epsilon", "election", "rescale",
                                       "normalize", "t",       "seed",     NULL};
    label = label ? label : "merge parameters";
    eco_jr r = eco_jr_root(label, j);
    if (!json_is_object(j)) return eco_jr_fail(&r, NULL, ECO_STATUS_EFORMAT, "expected an object");
    eco_status st = eco_jr_only(&r, keys);
    if (st) return st;
    const char *mname;
    if ((st = eco_jr_str(&r, "method", true, false, &mname, NULL))) return st;
    eco_merge_method method;
    if (eco_merge_method_parse(mname, &method)) {
        char shown[ECO_JSON_SHOWN_SIZE];
        return eco_jr_fail(&r, "method", ECO_STATUS_EFORMAT,
                           "'%s' is not a merge method (linear, task_arithmetic, ties, "
                           "dare_linear, dare_ties, breadcrumbs, della, slerp)",
                           eco_json_shown(mname, strlen(mname), shown));
    }
    eco_merge_params p;
    eco_merge_params_init(&p, method);
    bool have_w, have_d, have_t;
    int n_d = 0, election = (int)p.election, rescale = (int)p.rescale;
    bool normalize = false;
    const json_t *norm_v = eco_jr_opt(&r, "normalize");
    int64_t seed = 0;
    if ((st = read_reals(&r, "weights", -DBL_MAX, DBL_MAX, ECO_MERGE_MAX_PARENTS, p.weight,
                         &p.n_parents, &have_w)) ||
        (st = read_reals(&r, "density", 0, 1, ECO_MERGE_MAX_PARENTS, p.density, &n_d, &have_d)) ||
        (st = eco_jr_num(&r, "lambda", false, -DBL_MAX, DBL_MAX, &p.lambda)) ||
        (st = eco_jr_num(&r, "gamma", false, 0, 1, &p.gamma)) ||
        (st = eco_jr_num(&r, "epsilon", false, 0, 1, &p.epsilon)) ||
        (st = read_enum(&r, "election", ELECTION_NAMES, 2, &election)) ||
        (st = read_enum(&r, "rescale", RESCALE_NAMES, 2, &rescale)) ||
        (st = eco_jr_bool(&r, "normalize", false, &normalize)) ||
        (st = read_reals(&r, "t", 0, 1, ECO_MERGE_MAX_T, p.t, &p.n_t, &have_t)) ||
        (st = eco_jr_int(&r, "seed", false, 0, INT64_MAX, &seed)))
        return st;
    if (!have_w) {
        if (method != ECO_MERGE_METHOD_SLERP)
            return eco_jr_fail(&r, "weights", ECO_STATUS_EFORMAT, "missing");
        p.n_parents = 2;
    }
    if (p.n_parents < 1) return eco_jr_fail(&r, "weights", ECO_STATUS_EFORMAT, "no parents");
    if (have_d) {
        if (json_is_number(eco_jr_opt(&r, "density")))
            for (int m = 1; m < p.n_parents; m++) p.density[m] = p.density[0];
        else if (n_d != p.n_parents)
            return eco_jr_fail(&r, "density", ECO_STATUS_EFORMAT, "%d values for %d parents", n_d,
                               p.n_parents);
    }
    p.election = (eco_merge_election)election;
    p.rescale = (eco_merge_rescale)rescale;
    if (norm_v) p.normalize = normalize ? 1 : 0;
    p.seed = (uint64_t)seed;
    if ((st = eco_merge_params_check(&p))) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", eco_last_error());
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s", label, msg);
    }
    *out = p;
    return ECO_STATUS_OK;
}

double eco_merge_slerp_t(const eco_merge_params *p, int64_t layer, int64_t n_layers) {
    if (p->n_t <= 0) return 0;
    if (p->n_t == 1) return p->t[0];
    double pos; /* where the tensor sits, 0 (first layer) .. 1 (last), mergekit's t */
    if (layer < 0)
        pos = 0;
    else if (layer >= n_layers)
        pos = 1;
    else
        pos = n_layers > 1 ? (double)layer / (double)(n_layers - 1) : 1;
    double scaled = pos * (p->n_t - 1);
    int i0 = (int)scaled;
    int i1 = i0 + 1 < p->n_t ? i0 + 1 : p->n_t - 1;
    double frac = scaled - i0;
    return (1 - frac) * p->t[i0] + frac * p->t[i1];
}
