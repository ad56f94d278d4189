/*
 * Breeding recipes (format in include/ecology/breed_recipe.h): hostile-input code. Every
 * field is read with the core reader (core/json_read.h) and checked against the operator's
 * parameter table, so that whatever the runner later reads from a step's params has the
 * type and range written here.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/breed_recipe.h"
#include "ecology/registry.h"
#include "core/json_read.h"

/* ---- operators ------------------------------------------------------------------------ */

/* What a parameter holds. */
typedef enum ptype {
    P_INT,       /* an integer in [lo, hi] */
    P_NUM,       /* a finite number in [lo, hi] (hi_open: [lo, hi); lo_open: (lo, hi]) */
    P_BOOL,      /* true or false */
    P_CHOICE,    /* one of the strings of choices ("a|b|c") */
    P_NUMS,      /* a number as P_NUM, or an array of 1..max of them */
    P_NUM_ARRAY, /* an array of 1..max numbers as P_NUM */
    P_STR_ARRAY, /* an array of 1..max distinct non-empty strings */
    P_STRING,    /* a non-empty string without NUL */
    P_REF        /* a reference (as in inputs) or a registry id */
} ptype;

typedef struct pspec {
    const char *key;
    ptype type;
    bool required;
    double lo, hi;
    bool lo_open, hi_open;
    const char *choices; /* P_CHOICE */
    size_t max;          /* arrays: most entries */
} pspec;

/* clang-format off */
#define MERGE_COMMON                                                                     \
    {"density", P_NUMS, false, 0, 1, false, false, NULL, ECO_BREED_MAX_INPUTS},          \
    {"lambda", P_NUM, false, -1e6, 1e6, false, false, NULL, 0},                          \
    {"gamma", P_NUM, false, 0, 1, false, true, NULL, 0},                                 \
    {"epsilon", P_NUM, false, 0, 1, false, true, NULL, 0},                               \
    {"election", P_CHOICE, false, 0, 0, false, false, "sum|count", 0},                   \
    {"rescale", P_CHOICE, false, 0, 0, false, false, "inverse|l1", 0},                   \
    {"normalize", P_BOOL, false, 0, 0, false, false, NULL, 0},                           \
    {"rank", P_INT, false, 1, 65536, false, false, NULL, 0},                             \
    {"base", P_REF, false, 0, 0, false, false, NULL, 0}

static const pspec merge_params[] = {
    {"weights", P_NUM_ARRAY, true, -1e6, 1e6, false, false, NULL, ECO_BREED_MAX_INPUTS},
    {"t", P_NUMS, false, 0, 1, false, false, NULL, 64},
    MERGE_COMMON, {NULL, 0, 0, 0, 0, 0, 0, NULL, 0}};
static const pspec slerp_params[] = {
    {"weights", P_NUM_ARRAY, false, -1e6, 1e6, false, false, NULL, ECO_BREED_MAX_INPUTS},
    {"t", P_NUMS, true, 0, 1, false, false, NULL, 64},
    MERGE_COMMON, {NULL, 0, 0, 0, 0, 0, 0, NULL, 0}};
static const pspec mutate_params[] = {
    {"sigma", P_NUM, true, 0, 100, true, false, NULL, 0},
    {"modules", P_STR_ARRAY, false, 0, 0, false, false, NULL, 64},
    {NULL, 0, 0, 0, 0, 0, 0, NULL, 0}};
static const pspec crossover_params[] = {
    {"granularity", P_CHOICE, false, 0, 0, false, false, "tensor|layer", 0},
    {NULL, 0, 0, 0, 0, 0, 0, NULL, 0}};
static const pspec prune_params[] = {
    {"density", P_NUM, true, 0, 1, false, false, NULL, 0},
    {"of", P_CHOICE, false, 0, 0, false, false, "weights|delta", 0},
    {"base", P_REF, false, 0, 0, false, false, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, 0, NULL, 0}};
static const pspec extract_params[] = {
    {"base", P_REF, true, 0, 0, false, false, NULL, 0},
    {"rank", P_INT, false, 1, 65536, false, false, NULL, 0},
    {"sv_epsilon", P_NUM, false, 0, 1, false, true, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, 0, NULL, 0}};
static const pspec quantize_params[] = {
    {"type", P_CHOICE, false, 0, 0, false, false, "q8_0", 0},
    {NULL, 0, 0, 0, 0, 0, 0, NULL, 0}};
#define TRAIN_COMMON                                                                     \
    {"steps", P_INT, true, 1, 1000000, false, false, NULL, 0},                           \
    {"lr", P_NUM, true, 0, 1, true, false, NULL, 0},                                     \
    {"batch", P_INT, false, 1, 4096, false, false, NULL, 0},                             \
    {"seq", P_INT, false, 1, 65536, false, false, NULL, 0},                              \
    {"accum", P_INT, false, 1, 1024, false, false, NULL, 0},                             \
    {"warmup", P_INT, false, 0, 1000000, false, false, NULL, 0},                         \
    {"weight_decay", P_NUM, false, 0, 1, false, false, NULL, 0},                         \
    {"clip", P_NUM, false, 0, 1e6, false, false, NULL, 0}
static const pspec finetune_params[] = {
    TRAIN_COMMON,
    {"hard_examples", P_STR_ARRAY, false, 0, 0, false, false, NULL, ECO_BREED_MAX_FILES},
    {NULL, 0, 0, 0, 0, 0, 0, NULL, 0}};
static const pspec distill_params[] = {
    TRAIN_COMMON,
    {"student", P_STRING, true, 0, 0, false, false, NULL, 0},
    {"weight", P_NUM, false, 0, 1, false, false, NULL, 0},
    {"temperature", P_NUM, false, 0, 100, true, false, NULL, 0},
    {"max_tokens", P_INT, false, 1, 4096, false, false, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, 0, NULL, 0}};

static const pspec rl_params[] = {
    {"capabilities", P_STR_ARRAY, false, 0, 0, false, false, NULL, 64},
    {"steps", P_INT, true, 1, 1000000, false, false, NULL, 0},
    {"batch", P_INT, false, 1, 4096, false, false, NULL, 0},
    {"group", P_INT, false, 2, 1024, false, false, NULL, 0},
    {"micro_batch", P_INT, false, 1, 65536, false, false, NULL, 0},
    {"iterations", P_INT, false, 1, 64, false, false, NULL, 0},
    {"lr", P_NUM, false, 1e-12, 10, false, false, NULL, 0},
    {"warmup", P_INT, false, 0, 1000000, false, false, NULL, 0},
    {"clip", P_NUM, false, 0, 1e6, false, false, NULL, 0},
    {"weight_decay", P_NUM, false, 0, 1, false, false, NULL, 0},
    {"beta", P_NUM, false, 0, 1e6, false, false, NULL, 0},
    {"reference", P_CHOICE, false, 0, 0, false, false, "start|base", 0},
    {"epsilon", P_NUM, false, 0, 0.999, false, false, NULL, 0},
    {"epsilon_high", P_NUM, false, 0, 1e6, false, false, NULL, 0},
    {"loss_type", P_CHOICE, false, 0, 0, false, false, "grpo|bnpo|dr_grpo", 0},
    {"scale_rewards", P_BOOL, false, 0, 0, false, false, NULL, 0},
    {"resample", P_INT, false, 0, 64, false, false, NULL, 0},
    {"reward_correct", P_NUM, false, -1e6, 1e6, false, false, NULL, 0},
    {"reward_format", P_NUM, false, -1e6, 1e6, false, false, NULL, 0},
    {"length_penalty", P_NUM, false, -1e6, 1e6, false, false, NULL, 0},
    {"temperature", P_NUM, false, 1e-6, 100, false, false, NULL, 0},
    {"top_p", P_NUM, false, 1e-6, 1, false, false, NULL, 0},
    {"max_tokens", P_INT, false, 1, 4096, false, false, NULL, 0},
    {"max_seq", P_INT, false, 2, 1 << 20, false, false, NULL, 0},
    {"eval_every", P_INT, false, 0, 1000000, false, false, NULL, 0},
    {"eval_n", P_INT, false, 0, 100000, false, false, NULL, 0},
    {"eval_seed", P_INT, false, 0, ECO_BREED_SEED_MAX, false, false, NULL, 0},
    {NULL, 0, 0, 0, 0, 0, 0, NULL, 0}};

typedef struct opspec {
    const char *name;
    int min_inputs, max_inputs;
    bool draws;
    const pspec *params;
} opspec;

static const opspec OPS[ECO_BREED_OP__COUNT] = {
    [ECO_BREED_OP_LINEAR] = {"linear", 1, ECO_BREED_MAX_INPUTS, false, merge_params},
    [ECO_BREED_OP_TASK_ARITHMETIC] = {"task_arithmetic", 1, ECO_BREED_MAX_INPUTS, false, merge_params},
    [ECO_BREED_OP_TIES] = {"ties", 1, ECO_BREED_MAX_INPUTS, false, merge_params},
    [ECO_BREED_OP_DARE_LINEAR] = {"dare_linear", 1, ECO_BREED_MAX_INPUTS, true, merge_params},
    [ECO_BREED_OP_DARE_TIES] = {"dare_ties", 1, ECO_BREED_MAX_INPUTS, true, merge_params},
    [ECO_BREED_OP_BREADCRUMBS] = {"breadcrumbs", 1, ECO_BREED_MAX_INPUTS, false, merge_params},
    [ECO_BREED_OP_DELLA] = {"della", 1, ECO_BREED_MAX_INPUTS, true, merge_params},
    [ECO_BREED_OP_SLERP] = {"slerp", 2, 2, false, slerp_params},
    [ECO_BREED_OP_MUTATE] = {"mutate", 1, 1, true, mutate_params},
    [ECO_BREED_OP_CROSSOVER] = {"crossover", 2, ECO_BREED_MAX_INPUTS, true, crossover_params},
    [ECO_BREED_OP_PRUNE] = {"prune", 1, 1, false, prune_params},
    [ECO_BREED_OP_EXTRACT] = {"extract", 1, 1, false, extract_params},
    [ECO_BREED_OP_QUANTIZE] = {"quantize", 1, 1, false, quantize_params},
    [ECO_BREED_OP_FINETUNE] = {"finetune", 1, 1, true, finetune_params},
    [ECO_BREED_OP_DISTILL] = {"distill", 1, ECO_BREED_MAX_INPUTS, true, distill_params},
    [ECO_BREED_OP_RL] = {"rl", 1, 1, true, rl_params},
};
/* clang-format on */

const char *eco_breed_op_name(eco_breed_op op) {
    return (unsigned)op < ECO_BREED_OP__COUNT ? OPS[op].name : NULL;
}

static const char OP_LIST[] = "linear, task_arithmetic, ties, dare_linear, dare_ties, "
                              "breadcrumbs, della, slerp, mutate, crossover, prune, extract, "
                              "quantize, finetune, distill, rl";

eco_status eco_breed_op_parse(const char *name, eco_breed_op *out) {
    for (int i = 0; name && i < ECO_BREED_OP__COUNT; i++)
        if (strcmp(name, OPS[i].name) == 0) {
            if (out) *out = (eco_breed_op)i;
            return ECO_STATUS_OK;
        }
    char shown[ECO_JSON_SHOWN_SIZE];
    return eco_error(ECO_STATUS_EINVAL, "unknown operator '%s' (one of %s)",
                     name ? eco_json_shown(name, strlen(name), shown) : "(null)", OP_LIST);
}

bool eco_breed_op_is_merge(eco_breed_op op) { return op <= ECO_BREED_OP_SLERP; }

bool eco_breed_op_draws(eco_breed_op op) {
    return (unsigned)op < ECO_BREED_OP__COUNT && OPS[op].draws;
}

const char *eco_breed_ref_name(const eco_breed_ref *ref, char *buf, size_t size) {
    if (ref->kind == ECO_BREED_REF_ID)
        snprintf(buf, size, "%s", ref->id ? ref->id : "");
    else
        snprintf(buf, size, "%s[%d]", ref->kind == ECO_BREED_REF_PARENT ? "parents" : "steps",
                 ref->index);
    return buf;
}

/* ---- freeing ---------------------------------------------------------------------- */

static void free_strs(char **s, size_t n) {
    for (size_t i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

void eco_breed_recipe_free(eco_breed_recipe *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_parents; i++) free(r->parents[i]);
    for (size_t i = 0; r->steps && i < r->n_steps; i++) {
        eco_breed_step *s = &r->steps[i];
        json_decref(s->params);
        free(s->base.id);
        free_strs(s->files, s->n_files);
    }
    free(r->steps);
    free_strs(r->corpus, r->n_corpus);
    free(r->id);
    free(r->sign_key);
    free(r->path);
    json_decref(r->doc);
    free(r);
}

/* ---- fields ------------------------------------------------------------------------- */

static eco_status oom(void) { return eco_error(ECO_STATUS_ENOMEM, "out of memory"); }

/* A non-empty string without NUL (borrowed); absent: NULL when optional. */
static eco_status get_str(const eco_jr *r, const char *key, bool required, const char **out) {
    *out = NULL;
    eco_status st = eco_jr_str(r, key, required, false, out, NULL);
    if (!st && *out && !**out) return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "empty");
    return st;
}

/* A value in hand checked as a number of spec p (name: how the message names it). */
static eco_status check_num(const eco_jr *r, const char *name, const json_t *v, const pspec *p,
                            double *out) {
    double x;
    eco_status st = eco_jr_num_value(r, name, v, p->lo, p->hi, &x);
    if (st) return st;
    if ((p->lo_open && x == p->lo) || (p->hi_open && x == p->hi))
        return eco_jr_fail(r, name, ECO_STATUS_EFORMAT, "%g outside %c%g, %g%c", x,
                           p->lo_open ? '(' : '[', p->lo, p->hi, p->hi_open ? ')' : ']');
    if (out) *out = x;
    return ECO_STATUS_OK;
}

/* An array of 1..p->max entries. */
static eco_status check_array(const eco_jr *r, const char *key, const json_t *v, const pspec *p) {
    if (!json_is_array(v)) return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "expected an array");
    size_t n = json_array_size(v);
    if (n == 0 || n > p->max)
        return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "%zu entries outside [1, %zu]", n, p->max);
    return ECO_STATUS_OK;
}

/* One parameter of a step (present, not null) against its spec. */
static eco_status check_param(const eco_jr *rp, const pspec *p, const json_t *v) {
    char name[64];
    eco_status st;
    switch (p->type) {
        case P_INT: {
            int64_t x;
            return eco_jr_int(rp, p->key, true, (int64_t)p->lo, (int64_t)p->hi, &x);
        }
        case P_NUM:
            return check_num(rp, p->key, v, p, NULL);
        case P_BOOL: {
            bool b;
            return eco_jr_bool(rp, p->key, true, &b);
        }
        case P_STRING: {
            const char *s;
            return get_str(rp, p->key, true, &s);
        }
        case P_CHOICE: {
            const char *s;
            size_t len;
            if ((st = eco_jr_str(rp, p->key, true, false, &s, &len))) return st;
            const char *c = p->choices;
            while (*c) {
                size_t n = strcspn(c, "|");
                if (n == len && memcmp(c, s, n) == 0) return ECO_STATUS_OK;
                c += n + (c[n] == '|');
            }
            char shown[ECO_JSON_SHOWN_SIZE];
            return eco_jr_fail(rp, p->key, ECO_STATUS_EFORMAT, "'%s' is not one of %s",
                               eco_json_shown(s, len, shown), p->choices);
        }
        case P_NUMS:
            if (json_is_number(v)) return check_num(rp, p->key, v, p, NULL);
            if (!json_is_array(v))
                return eco_jr_fail(rp, p->key, ECO_STATUS_EFORMAT,
                                   "expected a number or an array of numbers");
            /* fall through */
        case P_NUM_ARRAY:
            if ((st = check_array(rp, p->key, v, p))) return st;
            for (size_t i = 0; i < json_array_size(v); i++) {
                snprintf(name, sizeof name, "%s[%zu]", p->key, i);
                if ((st = check_num(rp, name, json_array_get(v, i), p, NULL))) return st;
            }
            return ECO_STATUS_OK;
        case P_STR_ARRAY:
            if ((st = check_array(rp, p->key, v, p))) return st;
            for (size_t i = 0; i < json_array_size(v); i++) {
                const char *s;
                size_t len;
                snprintf(name, sizeof name, "%s[%zu]", p->key, i);
                if ((st = eco_jr_str_value(rp, name, json_array_get(v, i), false, &s, &len)))
                    return st;
                if (!len) return eco_jr_fail(rp, name, ECO_STATUS_EFORMAT, "empty");
                for (size_t j = 0; j < i; j++)
                    if (json_equal(json_array_get(v, j), json_array_get(v, i)))
                        return eco_jr_fail(rp, name, ECO_STATUS_EFORMAT, "the same as %s[%zu]",
                                           p->key, j);
            }
            return ECO_STATUS_OK;
        case P_REF: {
            const char *s;
            return get_str(rp, p->key, true, &s); /* resolved with the inputs */
        }
    }
    return eco_jr_fail(rp, p->key, ECO_STATUS_EINTERNAL, "no type");
}

/* "parents[j]", "steps[k]" (k < step) or a name of parents into *ref. allow_id: anything
 * else that is a valid model id is an ECO_BREED_REF_ID (a base outside the recipe). */
static eco_status parse_ref(const eco_jr *r, const char *name, const json_t *v,
                            const eco_breed_recipe *rec, size_t step, bool allow_id,
                            eco_breed_ref *ref) {
    const char *s;
    size_t len;
    eco_status st = eco_jr_str_value(r, name, v, false, &s, &len);
    if (st) return st;
    char shown[ECO_JSON_SHOWN_SIZE];
    eco_json_shown(s, len, shown);
    memset(ref, 0, sizeof *ref);
    for (int kind = 0; kind < 2; kind++) {
        const char *prefix = kind == 0 ? "parents[" : "steps[";
        size_t pl = strlen(prefix);
        if (strncmp(s, prefix, pl) != 0) continue;
        const char *d = s + pl;
        size_t nd = strspn(d, "0123456789");
        if (nd == 0 || nd > 4 || d[nd] != ']' || d[nd + 1] || (nd > 1 && d[0] == '0'))
            return eco_jr_fail(r, name, ECO_STATUS_EFORMAT,
                               "'%s' is not a reference (%sN] with N a number)", shown, prefix);
        int idx = atoi(d);
        if (kind == 0 && (size_t)idx >= rec->n_parents)
            return eco_jr_fail(r, name, ECO_STATUS_EFORMAT,
                               "'%s' names no parent (the recipe has %zu)", shown, rec->n_parents);
        if (kind == 1 && (size_t)idx >= step) {
            if (step == 0)
                return eco_jr_fail(r, name, ECO_STATUS_EFORMAT,
                                   "'%s' is not an earlier step (the first step has none)", shown);
            return eco_jr_fail(r, name, ECO_STATUS_EFORMAT,
                               "'%s' is not an earlier step (steps[0] to steps[%zu])", shown,
                               step - 1);
        }
        ref->kind = kind == 0 ? ECO_BREED_REF_PARENT : ECO_BREED_REF_STEP;
        ref->index = idx;
        return ECO_STATUS_OK;
    }
    for (size_t j = 0; j < rec->n_parents; j++)
        if (strcmp(s, rec->parents[j]) == 0) {
            ref->kind = ECO_BREED_REF_PARENT;
            ref->index = (int)j;
            return ECO_STATUS_OK;
        }
    if (allow_id && eco_model_id_ok(s)) {
        ref->kind = ECO_BREED_REF_ID;
        if (!(ref->id = eco_strdup(s))) return oom();
        return ECO_STATUS_OK;
    }
    return eco_jr_fail(r, name, ECO_STATUS_EFORMAT,
                       allow_id ? "'%s' is neither a reference (parents[j], steps[k]) nor a "
                                  "model id"
                                : "'%s' is neither a parent of the recipe nor a reference "
                                  "(parents[j], steps[k])",
                       shown);
}

static bool same_ref(const eco_breed_ref *a, const eco_breed_ref *b) {
    return a->kind == b->kind && a->index == b->index;
}

/* An array of 1..max distinct non-empty strings into a fresh char*[]. */
static eco_status get_paths(const eco_jr *r, const char *key, const json_t *a, size_t max,
                            char ***out, size_t *n_out) {
    pspec p = {key, P_STR_ARRAY, true, 0, 0, false, false, NULL, max};
    eco_status st = check_param(r, &p, a);
    if (st) return st;
    size_t n = json_array_size(a);
    char **v = calloc(n, sizeof *v);
    if (!v) return oom();
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = eco_strdup(json_string_value(json_array_get(a, i))))) {
            free_strs(v, i);
            return oom();
        }
    *out = v;
    *n_out = n;
    return ECO_STATUS_OK;
}

/* The count of a P_NUMS / P_NUM_ARRAY value that must match the inputs (an array). */
static eco_status check_per_input(const eco_jr *rp, const char *key, const eco_breed_step *s,
                                  bool array_only) {
    const json_t *v = json_object_get(s->params, key);
    if (!v || json_is_null(v) || (!array_only && !json_is_array(v))) return ECO_STATUS_OK;
    if (json_array_size(v) != s->n_inputs)
        return eco_jr_fail(rp, key, ECO_STATUS_EFORMAT, "%zu values for %zu input%s",
                           json_array_size(v), s->n_inputs, s->n_inputs == 1 ? "" : "s");
    return ECO_STATUS_OK;
}

static eco_status parse_step(const eco_jr *root, const json_t *j, size_t i, eco_breed_recipe *rec) {
    static const char *const keys[] = {"op", "params", "seed", "inputs", NULL};
    eco_breed_step *s = &rec->steps[i];
    eco_jr rs = eco_jr_item(root, "steps", i, j);
    if (!json_is_object(j)) return eco_jr_fail(&rs, NULL, ECO_STATUS_EFORMAT, "expected an object");
    eco_status st = eco_jr_only(&rs, keys);
    if (st) return st;
    const char *opname;
    size_t oplen;
    if ((st = eco_jr_str(&rs, "op", true, false, &opname, &oplen))) return st;
    if (eco_breed_op_parse(opname, &s->op)) {
        char shown[ECO_JSON_SHOWN_SIZE];
        return eco_jr_fail(&rs, "op", ECO_STATUS_EFORMAT, "unknown operator '%s' (one of %s)",
                           eco_json_shown(opname, oplen, shown), OP_LIST);
    }
    const opspec *op = &OPS[s->op];

    /* seed */
    int64_t seed = 0;
    s->seed_given = eco_jr_opt(&rs, "seed") != NULL;
    if ((st = eco_jr_int(&rs, "seed", op->draws, 0, ECO_BREED_SEED_MAX, &seed))) {
        if (op->draws && !s->seed_given)
            return eco_jr_fail(&rs, "seed", ECO_STATUS_EFORMAT,
                               "missing (%s draws at random: every step that does names its "
                               "seed)",
                               op->name);
        return st;
    }
    s->seed = (uint64_t)seed;

    /* inputs */
    const json_t *in = NULL;
    if ((st = eco_jr_array(&rs, "inputs", false, &in))) return st;
    s->inputs_given = in != NULL;
    if (in) {
        size_t n = json_array_size(in);
        if (n == 0 || n > ECO_BREED_MAX_INPUTS)
            return eco_jr_fail(&rs, "inputs", ECO_STATUS_EFORMAT, "%zu entries outside [1, %d]", n,
                               ECO_BREED_MAX_INPUTS);
        for (size_t k = 0; k < n; k++) {
            char name[32];
            snprintf(name, sizeof name, "inputs[%zu]", k);
            if ((st = parse_ref(&rs, name, json_array_get(in, k), rec, i, false, &s->inputs[k])))
                return st;
            s->n_inputs = k + 1;
            for (size_t m = 0; m < k; m++)
                if (same_ref(&s->inputs[m], &s->inputs[k])) {
                    char b[32];
                    return eco_jr_fail(&rs, name, ECO_STATUS_EFORMAT, "%s named twice",
                                       eco_breed_ref_name(&s->inputs[k], b, sizeof b));
                }
        }
    } else if (i == 0) {
        s->n_inputs = rec->n_parents;
        for (size_t k = 0; k < rec->n_parents; k++)
            s->inputs[k] = (eco_breed_ref){ECO_BREED_REF_PARENT, (int)k, NULL};
    } else {
        s->n_inputs = 1;
        s->inputs[0] = (eco_breed_ref){ECO_BREED_REF_STEP, (int)i - 1, NULL};
    }
    if ((int)s->n_inputs < op->min_inputs || (int)s->n_inputs > op->max_inputs) {
        char want[48];
        if (op->min_inputs == op->max_inputs)
            snprintf(want, sizeof want, "exactly %d", op->min_inputs);
        else
            snprintf(want, sizeof want, "%d to %d", op->min_inputs, op->max_inputs);
        return eco_jr_fail(&rs, "inputs", ECO_STATUS_EFORMAT, "%s takes %s input%s, %s %zu%s",
                           op->name, want, op->max_inputs == 1 ? "" : "s",
                           in ? "got" : "the default gives", s->n_inputs,
                           in ? "" : (i == 0 ? " (the parents)" : " (the previous step)"));
    }

    /* params */
    const json_t *params = NULL;
    if ((st = eco_jr_object(&rs, "params", false, &params))) return st;
    s->params = params ? json_incref((json_t *)params) : json_object();
    if (!s->params) return oom();
    eco_jr rp = eco_jr_child(&rs, "params", s->params);
    const char *allowed[40];
    size_t na = 0;
    for (const pspec *p = op->params; p->key; p++) allowed[na++] = p->key;
    allowed[na] = NULL;
    if ((st = eco_jr_only(&rp, allowed))) return st;
    for (const pspec *p = op->params; p->key; p++) {
        const json_t *v = eco_jr_opt(&rp, p->key);
        if (!v) {
            if (p->required) return eco_jr_fail(&rp, p->key, ECO_STATUS_EFORMAT, "missing");
            continue;
        }
        if ((st = check_param(&rp, p, v))) return st;
        if (p->type == P_REF) {
            if ((st = parse_ref(&rp, p->key, v, rec, i, true, &s->base))) return st;
            s->has_base = true;
        }
    }

    /* what one field alone cannot say */
    if (eco_breed_op_is_merge(s->op)) {
        if ((st = check_per_input(&rp, "weights", s, true)) ||
            (st = check_per_input(&rp, "density", s, false)))
            return st;
    }
    const json_t *of = json_object_get(s->params, "of");
    if (s->op == ECO_BREED_OP_PRUNE && of && strcmp(json_string_value(of), "delta") == 0 &&
        !s->has_base)
        return eco_jr_fail(&rp, "base", ECO_STATUS_EFORMAT, "missing (of=delta prunes deltas)");
    if (s->op == ECO_BREED_OP_EXTRACT && !json_object_get(s->params, "rank") &&
        !json_object_get(s->params, "sv_epsilon"))
        return eco_jr_fail(&rp, NULL, ECO_STATUS_EFORMAT, "extract needs rank or sv_epsilon");
    if (s->op == ECO_BREED_OP_FINETUNE || s->op == ECO_BREED_OP_DISTILL ||
        s->op == ECO_BREED_OP_RL) {
        const json_t *w = json_object_get(s->params, "warmup");
        const json_t *n = json_object_get(s->params, "steps");
        if (w && json_is_integer(w) && json_integer_value(w) > json_integer_value(n))
            return eco_jr_fail(&rp, "warmup", ECO_STATUS_EFORMAT, "%lld is more than steps %lld",
                               (long long)json_integer_value(w), (long long)json_integer_value(n));
    }
    const json_t *hard = json_object_get(s->params, "hard_examples");
    if (hard && !json_is_null(hard) &&
        (st = get_paths(&rp, "hard_examples", hard, ECO_BREED_MAX_FILES, &s->files, &s->n_files)))
        return st;
    if ((s->op == ECO_BREED_OP_DISTILL || (s->op == ECO_BREED_OP_FINETUNE && !s->n_files)) &&
        !rec->n_corpus)
        return eco_jr_fail(&rs, NULL, ECO_STATUS_EFORMAT,
                           "%s needs training data: the recipe has no \"corpus\"%s", op->name,
                           s->op == ECO_BREED_OP_FINETUNE ? " and the step no hard_examples" : "");
    return ECO_STATUS_OK;
}

static eco_status parse_root(const eco_jr *rr, const json_t *root, eco_breed_recipe *r) {
    static const char *const keys[] = {"name", "parents",  "steps", "corpus",
                                       "id",   "sign_key", NULL};
    if (!json_is_object(root))
        return eco_jr_fail(rr, NULL, ECO_STATUS_EFORMAT, "expected an object");
    eco_status st = eco_jr_only(rr, keys);
    if (st) return st;
    const char *name;
    if ((st = get_str(rr, "name", true, &name))) return st;
    if (strlen(name) >= sizeof r->name || !eco_model_id_ok(name))
        return eco_jr_fail(rr, "name", ECO_STATUS_EFORMAT,
                           "expected 1 to 63 bytes of [A-Za-z0-9._@+-], not starting with '.' "
                           "or '-'");
    snprintf(r->name, sizeof r->name, "%s", name);

    const json_t *parents = NULL;
    if ((st = eco_jr_array(rr, "parents", true, &parents))) return st;
    size_t np = json_array_size(parents);
    if (np == 0 || np > ECO_BREED_MAX_PARENTS)
        return eco_jr_fail(rr, "parents", ECO_STATUS_EFORMAT, "%zu entries outside [1, %d]", np,
                           ECO_BREED_MAX_PARENTS);
    for (size_t i = 0; i < np; i++) {
        char f[32];
        snprintf(f, sizeof f, "parents[%zu]", i);
        const char *p;
        size_t len;
        if ((st = eco_jr_str_value(rr, f, json_array_get(parents, i), false, &p, &len))) return st;
        if (!eco_model_id_ok(p)) {
            char shown[ECO_JSON_SHOWN_SIZE];
            return eco_jr_fail(rr, f, ECO_STATUS_EFORMAT,
                               "'%s' is not a model id or alias (1 to 127 bytes of "
                               "[A-Za-z0-9._@+-], not starting with '.' or '-')",
                               eco_json_shown(p, len, shown));
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->parents[j], p) == 0)
                return eco_jr_fail(rr, f, ECO_STATUS_EFORMAT, "'%s' is also parents[%zu]", p, j);
        if (!(r->parents[i] = eco_strdup(p))) return oom();
        r->n_parents = i + 1;
    }

    const json_t *corpus = NULL;
    if ((st = eco_jr_array(rr, "corpus", false, &corpus))) return st;
    if (corpus &&
        (st = get_paths(rr, "corpus", corpus, ECO_BREED_MAX_FILES, &r->corpus, &r->n_corpus)))
        return st;

    const char *s;
    if ((st = get_str(rr, "id", false, &s))) return st;
    if (s) {
        if (!eco_model_id_ok(s))
            return eco_jr_fail(rr, "id", ECO_STATUS_EFORMAT,
                               "not a model id (1 to 127 bytes of [A-Za-z0-9._@+-], not "
                               "starting with '.' or '-')");
        if (!(r->id = eco_strdup(s))) return oom();
    }
    if ((st = get_str(rr, "sign_key", false, &s))) return st;
    if (s && !(r->sign_key = eco_strdup(s))) return oom();

    const json_t *steps = NULL;
    if ((st = eco_jr_array(rr, "steps", true, &steps))) return st;
    size_t ns = json_array_size(steps);
    if (ns == 0) return eco_jr_fail(rr, "steps", ECO_STATUS_EFORMAT, "empty (at least one step)");
    if (ns > ECO_BREED_MAX_STEPS)
        return eco_jr_fail(rr, "steps", ECO_STATUS_EFORMAT, "%zu steps, more than %d", ns,
                           ECO_BREED_MAX_STEPS);
    if (!(r->steps = calloc(ns, sizeof *r->steps))) return oom();
    for (size_t i = 0; i < ns; i++) {
        r->n_steps = i + 1;
        if ((st = parse_step(rr, json_array_get(steps, i), i, r))) return st;
    }
    return ECO_STATUS_OK;
}

eco_status eco_breed_recipe_parse(const char *text, size_t len, const char *label,
                                  eco_breed_recipe **out) {
    if (out) *out = NULL;
    if (!text || !out) return eco_error(ECO_STATUS_EINVAL, "breed recipe: NULL argument");
    if (!label) label = "recipe";
    if (len > ECO_BREED_RECIPE_MAX_BYTES)
        return eco_error(ECO_STATUS_ERANGE, "%s: %zu bytes, more than a recipe may hold (%zu)",
                         label, len, ECO_BREED_RECIPE_MAX_BYTES);
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) return eco_error(ECO_STATUS_EFORMAT, "%s: line %d: %s", label, err.line, err.text);
    eco_breed_recipe *r = calloc(1, sizeof *r);
    if (!r) {
        json_decref(root);
        return oom();
    }
    r->doc = root;
    eco_jr rr = eco_jr_root(label, root);
    eco_status st = parse_root(&rr, root, r);
    if (st) {
        eco_breed_recipe_free(r);
        return st;
    }
    *out = r;
    return ECO_STATUS_OK;
}

/* *p, when relative, joined to dir. */
static eco_status resolve(const char *dir, char **p) {
    if (!*p || (*p)[0] == '/' || !dir) return ECO_STATUS_OK;
    char *j = eco_path_join(dir, *p);
    if (!j) return oom();
    free(*p);
    *p = j;
    return ECO_STATUS_OK;
}

eco_status eco_breed_recipe_load(const char *path, eco_breed_recipe **out) {
    if (out) *out = NULL;
    if (!path || !out) return eco_error(ECO_STATUS_EINVAL, "breed recipe: NULL argument");
    char *file = NULL, *text = NULL;
    size_t len = 0;
    eco_status st =
        eco_json_read_doc(path, "recipe.json", ECO_BREED_RECIPE_MAX_BYTES, &file, &text, &len);
    eco_breed_recipe *r = NULL;
    if (!st) st = eco_breed_recipe_parse(text, len, file, &r);
    free(text);
    if (st) {
        free(file);
        return st;
    }
    r->path = file;
    const char *slash = strrchr(file, '/');
    char *dir = slash ? strndup(file, (size_t)(slash - file) + (slash == file)) : NULL;
    if (slash && !dir) st = oom();
    for (size_t i = 0; !st && i < r->n_corpus; i++) st = resolve(dir, &r->corpus[i]);
    for (size_t i = 0; !st && i < r->n_steps; i++)
        for (size_t k = 0; !st && k < r->steps[i].n_files; k++)
            st = resolve(dir, &r->steps[i].files[k]);
    if (!st) st = resolve(dir, &r->sign_key);
    free(dir);
    if (st) {
        eco_breed_recipe_free(r);
        return st;
    }
    *out = r;
    return ECO_STATUS_OK;
}
