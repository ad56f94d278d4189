/*
 * The loop's configuration file (daemon.h): one JSON object, strict (core/json_read.h's
 * reader: an unknown or duplicate key, a missing or mistyped field, a value out of range is
 * refused naming the field). The gates object is checked by eco_gates_parse and the canary
 * settings by eco_canary_settings_parse, each on its canonical text, so the loop refuses what
 * `ecology eval --gates` and the canary refuse, with their messages.
 *
 *   {"name": "demo", "seed": 1,
 *    "budget": {"generations": 3, "minutes": 9},              (at least one)
 *    "children": 2,                                           (optional, default 2)
 *    "population": [{"id", "path", "base"?, "capabilities"?}],
 *    "capabilities": ["text.reverse@1", ...],
 *    "evaluation": {"n", "shift_n", "safety_pairs", "seed", "threads", "max_tokens"?,
 *                   "deny"?},
 *    "traffic": {"n", "shift_n", "slices"?, "safety_pairs"?}, (slices default 4)
 *    "gates": {...}, "canary": {"stepWeight", "maxWeight", "interval", "threshold"},
 *    "archive": {"capacity", "objectives"?: ["quality", "robustness", "calibration_error"]},
 *    "operators": [{"op", "weight", "params"?, "then"?, "train_items"?, "train_mix"?,
 *                   "child"?, "capabilities"?}],
 *    "hard_examples": {"max"}}
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "ecology/breeder.h"
#include "ecology/daemon.h"
#include "ecology/evaluator.h"
#include "ecology/pareto.h"
#include "ecology/tasks.h"

#define MAX_N 100000

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool name_ok(const char *s, size_t len) {
    if (len == 0 || len > ECO_LOOP_NAME_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '-' && c != '_'))) return false;
    }
    return true;
}

/* Whether name is one of the loop's capabilities. */
static bool loop_has_cap(const eco_loop_config *c, const char *name) {
    for (size_t i = 0; i < c->n_capabilities; i++)
        if (strcmp(c->capabilities[i], name) == 0) return true;
    return false;
}

/* Safety pairs (at r's "safety_pairs") are the safety capability's suite: n > 0 needs it
 * among the loop's capabilities. */
static eco_status pairs_need_safety(const eco_jr *r, const eco_loop_config *c, int64_t n) {
    if (n == 0 || loop_has_cap(c, ECO_TASKS_SAFETY_CAPABILITY)) return ECO_STATUS_OK;
    return eco_jr_fail(r, "safety_pairs", ECO_STATUS_EFORMAT,
                       "the pairs are %s's suite: add it to capabilities",
                       ECO_TASKS_SAFETY_CAPABILITY);
}

/* The canonical text of v (an object) into *out. */
static eco_status canonical(const eco_jr *r, const char *key, const json_t *v, char **out) {
    if (!json_is_object(v)) return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "expected an object");
    eco_status st = eco_json_canonical(v, out, NULL);
    return st ? eco_error_wrap(st, "%s", r->file) : ECO_STATUS_OK;
}

/* A list of capability names (each known to the suite, no duplicate) into *out. */
static eco_status read_caps(const eco_jr *r, const char *key, const json_t *arr, bool need_one,
                            char ***out, size_t *n) {
    if (!json_is_array(arr)) return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "expected an array");
    size_t len = json_array_size(arr);
    if ((need_one && len == 0) || len > ECO_LOOP_MAX_CAPS)
        return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "expected 1 to %d capabilities",
                           ECO_LOOP_MAX_CAPS);
    if (len == 0) return ECO_STATUS_OK;
    if (!(*out = eco_calloc_array(len, sizeof **out)))
        return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    for (size_t i = 0; i < len; i++) {
        const char *s;
        char item[32];
        snprintf(item, sizeof item, "%s[%zu]", key, i);
        eco_status st = eco_jr_str_value(r, item, json_array_get(arr, i), false, &s, NULL);
        const eco_capability *cap;
        if (!st && eco_tasks_find(s, &cap) != ECO_STATUS_OK)
            st = eco_jr_fail(r, item, ECO_STATUS_EFORMAT, "'%s': %s",
                             eco_json_shown(s, strlen(s), (char[ECO_JSON_SHOWN_SIZE]){0}),
                             eco_last_error());
        for (size_t j = 0; !st && j < i; j++)
            if (strcmp((*out)[j], s) == 0)
                st = eco_jr_fail(r, item, ECO_STATUS_EFORMAT, "'%s' given twice", s);
        if (st) return st;
        if (!((*out)[i] = eco_strdup(s))) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
        *n = i + 1;
    }
    qsort(*out, *n, sizeof **out, cmp_str);
    return ECO_STATUS_OK;
}

static eco_status read_member(const eco_jr *parent, size_t i, const json_t *v, void *elem) {
    eco_loop_member *m = elem;
    static const char *const keys[] = {"id", "path", "base", "capabilities", NULL};
    if (!json_is_object(v))
        return eco_jr_fail(parent, NULL, ECO_STATUS_EFORMAT, "population[%zu]: expected an object",
                           i);
    eco_jr r = eco_jr_item(parent, "population", i, v);
    const char *id, *path, *base = NULL;
    const json_t *caps = NULL;
    eco_status st;
    if ((st = eco_jr_only(&r, keys)) || (st = eco_jr_str(&r, "id", true, false, &id, NULL)) ||
        (st = eco_jr_str(&r, "path", true, false, &path, NULL)) ||
        (st = eco_jr_str(&r, "base", false, false, &base, NULL)) ||
        (st = eco_jr_array(&r, "capabilities", false, &caps)))
        return st;
    if (!eco_model_id_ok(id))
        return eco_jr_fail(&r, "id", ECO_STATUS_EFORMAT, "not a valid model id");
    if (base && !eco_model_id_ok(base))
        return eco_jr_fail(&r, "base", ECO_STATUS_EFORMAT, "not a valid model id");
    if (!path[0]) return eco_jr_fail(&r, "path", ECO_STATUS_EFORMAT, "empty");
    if (!(m->id = eco_strdup(id)) || !(m->path = eco_strdup(path)) ||
        (base && !(m->base = eco_strdup(base))))
        return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    if (caps)
        return read_caps(&r, "capabilities", caps, false, &m->capabilities, &m->n_capabilities);
    return ECO_STATUS_OK;
}

static eco_status read_op(const eco_jr *parent, size_t i, const json_t *v, void *elem) {
    eco_loop_op *o = elem;
    static const char *const keys[] = {"op",        "weight", "params",       "then", "train_items",
                                       "train_mix", "child",  "capabilities", NULL};
    if (!json_is_object(v))
        return eco_jr_fail(parent, NULL, ECO_STATUS_EFORMAT, "operators[%zu]: expected an object",
                           i);
    eco_jr r = eco_jr_item(parent, "operators", i, v);
    const char *name;
    const json_t *params = NULL, *then = NULL;
    const eco_breeder_op *op;
    o->train_items = 400;
    o->slot = -1;
    eco_status st;
    if ((st = eco_jr_only(&r, keys)) || (st = eco_jr_str(&r, "op", true, false, &name, NULL)) ||
        (st = eco_jr_num(&r, "weight", true, 1e-9, 1e9, &o->weight)) ||
        (st = eco_jr_int(&r, "train_items", false, 1, MAX_N, &o->train_items)) ||
        (st = eco_jr_int(&r, "child", false, 0, 63, &o->slot)))
        return st;
    if (eco_breeder_op_find(name, &op) != ECO_STATUS_OK)
        return eco_jr_fail(&r, "op", ECO_STATUS_EFORMAT, "%s", eco_last_error());
    if (!(o->op = eco_strdup(name))) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    params = eco_jr_opt(&r, "params");
    json_t *empty = json_object();
    st = canonical(&r, "params", params ? params : empty, &o->params);
    json_decref(empty);
    if (st) return st;
    const json_t *mix = eco_jr_opt(&r, "train_mix");
    if (mix) {
        const char *k;
        const json_t *w;
        if (!json_is_object(mix))
            return eco_jr_fail(&r, "train_mix", ECO_STATUS_EFORMAT,
                               "expected an object {capability: factor}");
        json_object_foreach((json_t *)mix, k, w) {
            if (!json_is_number(w) || !(json_number_value(w) > 0) || json_number_value(w) > 1e3)
                return eco_jr_fail(&r, "train_mix", ECO_STATUS_EFORMAT,
                                   "'%s': expected a number in (0, 1000]", k);
        }
        if ((st = canonical(&r, "train_mix", mix, &o->train_mix))) return st;
    }
    const json_t *caps = eco_jr_opt(&r, "capabilities");
    if (caps &&
        (st = read_caps(&r, "capabilities", caps, true, &o->capabilities, &o->n_capabilities)))
        return st;
    if ((then = eco_jr_opt(&r, "then"))) {
        if (eco_breeder_op_takes_corpora(op))
            return eco_jr_fail(&r, "then", ECO_STATUS_EFORMAT,
                               "a fine-tune after '%s', which trains already", name);
        if ((st = canonical(&r, "then", then, &o->then))) return st;
    }
    return ECO_STATUS_OK;
}

/* An array of 1..max objects at key, each read by fn into the next of size-byte elements
 * of a new array *out (its count in *n as they are read, so a partial one is freed whole). */
typedef eco_status (*item_fn)(const eco_jr *parent, size_t i, const json_t *v, void *elem);
static eco_status read_list(const eco_jr *r, const char *key, size_t max, const char *what,
                            size_t size, void **out, size_t *n, item_fn fn) {
    const json_t *arr;
    eco_status st = eco_jr_array(r, key, true, &arr);
    if (st) return st;
    size_t len = json_array_size(arr);
    if (len == 0 || len > max)
        return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "expected 1 to %zu %s", max, what);
    if (!(*out = eco_calloc_array(len, size))) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    for (size_t i = 0; i < len; i++) {
        *n = i + 1;
        if ((st = fn(r, i, json_array_get(arr, i), (char *)*out + i * size))) return st;
    }
    return ECO_STATUS_OK;
}

static eco_status read_population(const eco_jr *r, eco_loop_config *c) {
    eco_status st = read_list(r, "population", ECO_LOOP_MAX_MEMBERS, "models", sizeof *c->members,
                              (void **)&c->members, &c->n_members, read_member);
    for (size_t i = 0; !st && i < c->n_members; i++)
        for (size_t j = 0; !st && j < i; j++)
            if (strcmp(c->members[j].id, c->members[i].id) == 0)
                st = eco_jr_fail(r, NULL, ECO_STATUS_EFORMAT,
                                 "population[%zu].id: '%s' given twice", i, c->members[i].id);
    return st;
}

static eco_status read_ops(const eco_jr *r, eco_loop_config *c) {
    eco_status st = read_list(r, "operators", ECO_LOOP_MAX_OPS, "operators", sizeof *c->ops,
                              (void **)&c->ops, &c->n_ops, read_op);
    for (size_t i = 0; !st && i < c->n_ops; i++)
        for (size_t k = 0; k < c->ops[i].n_capabilities; k++)
            if (!loop_has_cap(c, c->ops[i].capabilities[k]))
                return eco_jr_fail(r, NULL, ECO_STATUS_EFORMAT,
                                   "operators[%zu].capabilities: '%s' is not one of the loop's "
                                   "capabilities",
                                   i, c->ops[i].capabilities[k]);
    return st;
}

static eco_status read_budget(const eco_jr *root, eco_loop_config *c) {
    static const char *const keys[] = {"generations", "minutes", NULL};
    const json_t *o;
    eco_status st = eco_jr_object(root, "budget", true, &o);
    if (st) return st;
    eco_jr r = eco_jr_child(root, "budget", o);
    if ((st = eco_jr_only(&r, keys)) ||
        (st = eco_jr_int(&r, "generations", false, 1, 1000000, &c->generations)) ||
        (st = eco_jr_num(&r, "minutes", false, 1e-3, 1e7, &c->minutes)))
        return st;
    if (!c->generations && c->minutes <= 0)
        return eco_jr_fail(root, "budget", ECO_STATUS_EFORMAT, "give generations, minutes or both");
    return ECO_STATUS_OK;
}

static eco_status read_evaluation(const eco_jr *root, eco_loop_config *c) {
    static const char *const keys[] = {"n",       "shift_n",    "safety_pairs", "seed",
                                       "threads", "max_tokens", "deny",         NULL};
    const json_t *o;
    int64_t seed = 0, threads = 1;
    eco_status st = eco_jr_object(root, "evaluation", true, &o);
    if (st) return st;
    eco_jr r = eco_jr_child(root, "evaluation", o);
    if ((st = eco_jr_only(&r, keys)) ||
        (st = eco_jr_int(&r, "n", true, 1, MAX_N, &c->evaluation.n)) ||
        (st = eco_jr_int(&r, "shift_n", true, 0, MAX_N, &c->evaluation.shift_n)) ||
        (st = eco_jr_int(&r, "safety_pairs", true, 0, MAX_N, &c->evaluation.safety_pairs)) ||
        (st = eco_jr_int(&r, "seed", false, 0, INT64_MAX, &seed)) ||
        (st = eco_jr_int(&r, "threads", false, 1, ECO_MAX_THREADS, &threads)) ||
        (st = eco_jr_int(&r, "max_tokens", false, 1, ECO_EVAL_MAX_TOKENS,
                         &c->evaluation.max_tokens)))
        return st;
    c->evaluation.seed = (uint64_t)seed;
    c->evaluation.threads = (int)threads;
    const char *deny = NULL;
    if ((st = eco_jr_str(&r, "deny", false, false, &deny, NULL))) return st;
    if (deny && !deny[0]) return eco_jr_fail(&r, "deny", ECO_STATUS_EFORMAT, "empty");
    if (deny && !(c->evaluation.deny = eco_strdup(deny)))
        return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    if ((st = pairs_need_safety(&r, c, c->evaluation.safety_pairs))) return st;
    return ECO_STATUS_OK;
}

static eco_status read_traffic(const eco_jr *root, eco_loop_config *c) {
    static const char *const keys[] = {"n", "shift_n", "slices", "safety_pairs", NULL};
    const json_t *o;
    c->traffic.slices = 4;
    eco_status st = eco_jr_object(root, "traffic", true, &o);
    if (st) return st;
    eco_jr r = eco_jr_child(root, "traffic", o);
    if ((st = eco_jr_only(&r, keys)) || (st = eco_jr_int(&r, "n", true, 0, MAX_N, &c->traffic.n)) ||
        (st = eco_jr_int(&r, "shift_n", true, 0, MAX_N, &c->traffic.shift_n)) ||
        (st = eco_jr_int(&r, "slices", false, 1, ECO_LOOP_MAX_SLICES, &c->traffic.slices)) ||
        (st = eco_jr_int(&r, "safety_pairs", false, 0, MAX_N, &c->traffic.safety_pairs)))
        return st;
    if ((st = pairs_need_safety(&r, c, c->traffic.safety_pairs))) return st;
    if (c->traffic.n + c->traffic.shift_n == 0)
        return eco_jr_fail(root, "traffic", ECO_STATUS_EFORMAT, "n and shift_n are both 0");
    return ECO_STATUS_OK;
}

/* "gates" and "canary": their own parsers, on the canonical text. */
static eco_status read_gates_canary(const eco_jr *root, eco_loop_config *c) {
    const json_t *g, *k;
    char label[300], *text = NULL;
    eco_status st;
    if ((st = eco_jr_object(root, "gates", true, &g)) ||
        (st = canonical(root, "gates", g, &c->gates)))
        return st;
    snprintf(label, sizeof label, "%s: gates", root->file);
    eco_gates *parsed = NULL;
    if ((st = eco_gates_parse(c->gates, strlen(c->gates), label, &parsed))) return st;
    eco_gates_free(parsed);
    if ((st = eco_jr_object(root, "canary", true, &k)) ||
        (st = canonical(root, "canary", k, &text)))
        return st;
    snprintf(label, sizeof label, "%s: canary", root->file);
    st = eco_canary_settings_parse(text, strlen(text), label, &c->canary);
    free(text);
    return st;
}

static eco_status read_archive(const eco_jr *root, eco_loop_config *c) {
    static const char *const keys[] = {"capacity", "objectives", NULL};
    static const char *const dflt[] = {"capabilities", "quality", "calibration_error"};
    const json_t *o, *objs = NULL;
    eco_status st = eco_jr_object(root, "archive", true, &o);
    if (st) return st;
    eco_jr r = eco_jr_child(root, "archive", o);
    if ((st = eco_jr_only(&r, keys)) ||
        (st = eco_jr_int(&r, "capacity", true, 1, ECO_PARETO_MAX_CAPACITY, &c->archive_capacity)) ||
        (st = eco_jr_array(&r, "objectives", false, &objs)))
        return st;
    size_t n = objs ? json_array_size(objs) : 3;
    if (n == 0 || n > ECO_PARETO_OBJ__COUNT)
        return eco_jr_fail(&r, "objectives", ECO_STATUS_EFORMAT, "expected 1 to %d names",
                           ECO_PARETO_OBJ__COUNT);
    if (!(c->objectives = eco_calloc_array(n, sizeof *c->objectives)))
        return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const char *s = dflt[i < 3 ? i : 0];
        char item[32];
        snprintf(item, sizeof item, "objectives[%zu]", i);
        if (objs && (st = eco_jr_str_value(&r, item, json_array_get(objs, i), false, &s, NULL)))
            return st;
        bool known = strcmp(s, "capabilities") == 0;
        for (size_t k = 0; k < ECO_PARETO_OBJ__COUNT; k++)
            known = known || strcmp(eco_pareto_default_objectives[k].name, s) == 0;
        if (!known)
            return eco_jr_fail(&r, item, ECO_STATUS_EFORMAT,
                               "unknown objective (capabilities, quality, robustness, "
                               "calibration_error, p95_ms, memory_bytes)");
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->objectives[j], s) == 0)
                return eco_jr_fail(&r, item, ECO_STATUS_EFORMAT, "'%s' given twice", s);
        if (!(c->objectives[i] = eco_strdup(s)))
            return eco_error(ECO_STATUS_ENOMEM, "out of memory");
        c->n_objectives = i + 1;
    }
    return ECO_STATUS_OK;
}

/* The objectives' count once "capabilities" stands for one per capability: at most
 * ECO_PARETO_MAX_OBJECTIVES. */
static eco_status check_objectives(const eco_jr *root, const eco_loop_config *c) {
    size_t n = 0;
    for (size_t i = 0; i < c->n_objectives; i++)
        n += strcmp(c->objectives[i], "capabilities") == 0 ? c->n_capabilities : 1;
    if (n > ECO_PARETO_MAX_OBJECTIVES)
        return eco_jr_fail(root, "archive", ECO_STATUS_EFORMAT,
                           "objectives: %zu objectives (\"capabilities\" counts one per "
                           "capability), more than %d",
                           n, ECO_PARETO_MAX_OBJECTIVES);
    return ECO_STATUS_OK;
}

static eco_status read_hard(const eco_jr *root, eco_loop_config *c) {
    static const char *const keys[] = {"max", NULL};
    const json_t *o = NULL;
    c->hard_examples.max = 1000;
    eco_status st = eco_jr_object(root, "hard_examples", false, &o);
    if (st || !o) return st;
    eco_jr r = eco_jr_child(root, "hard_examples", o);
    if ((st = eco_jr_only(&r, keys)) ||
        (st = eco_jr_int(&r, "max", false, 1, ECO_CANARY_HARD_MAX, &c->hard_examples.max)))
        return st;
    return ECO_STATUS_OK;
}

static eco_status parse_root(const eco_jr *r, eco_loop_config *c) {
    static const char *const keys[] = {
        "name",    "seed",  "budget", "children", "population", "capabilities",  "evaluation",
        "traffic", "gates", "canary", "archive",  "operators",  "hard_examples", NULL};
    const char *name;
    size_t len;
    int64_t seed;
    const json_t *caps;
    c->children = 2;
    eco_status st;
    if ((st = eco_jr_only(r, keys)) || (st = eco_jr_str(r, "name", true, false, &name, &len)))
        return st;
    if (!name_ok(name, len))
        return eco_jr_fail(r, "name", ECO_STATUS_EFORMAT,
                           "expected 1 to %d bytes of [a-z0-9_-], starting with a letter or digit",
                           ECO_LOOP_NAME_MAX);
    memcpy(c->name, name, len + 1);
    if ((st = eco_jr_int(r, "seed", true, 0, INT64_MAX, &seed))) return st;
    c->seed = (uint64_t)seed;
    if ((st = read_budget(r, c)) ||
        (st = eco_jr_int(r, "children", false, 1, ECO_LOOP_MAX_CHILDREN, &c->children)) ||
        (st = read_population(r, c)) || (st = eco_jr_array(r, "capabilities", true, &caps)) ||
        (st = read_caps(r, "capabilities", caps, true, &c->capabilities, &c->n_capabilities)) ||
        (st = read_evaluation(r, c)) || (st = read_traffic(r, c)) ||
        (st = read_gates_canary(r, c)) || (st = read_archive(r, c)) ||
        (st = check_objectives(r, c)) || (st = read_ops(r, c)) || (st = read_hard(r, c)))
        return st;
    return ECO_STATUS_OK;
}

eco_status eco_loop_config_parse(const char *text, size_t len, const char *label,
                                 eco_loop_config *out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "loop config: NULL argument");
    memset(out, 0, sizeof *out);
    if (!label) label = "loop";
    if (!text && len) return eco_error(ECO_STATUS_EINVAL, "loop config: NULL text");
    if (len > ECO_LOOP_CONFIG_MAX_BYTES)
        return eco_error(ECO_STATUS_ERANGE, "%s: larger than %zu bytes", label,
                         ECO_LOOP_CONFIG_MAX_BYTES);
    json_t *j = NULL;
    eco_status st = eco_json_parse(text, len, 0, label, &j);
    if (!st && !json_is_object(j))
        st = eco_error(ECO_STATUS_EFORMAT, "%s: expected an object", label);
    if (!st) {
        eco_jr r = eco_jr_root(label, j);
        st = parse_root(&r, out);
    }
    char *canon = NULL;
    size_t clen = 0;
    if (!st) st = eco_json_canonical(j, &canon, &clen);
    if (!st) st = eco_sha256_hex(canon, clen, out->sha256);
    free(canon);
    json_decref(j);
    if (st) eco_loop_config_free(out);
    return st;
}

eco_status eco_loop_config_load(const char *path, eco_loop_config *out) {
    char *text = NULL;
    size_t len = 0;
    if (out) memset(out, 0, sizeof *out);
    eco_status st = eco_read_file(path, ECO_LOOP_CONFIG_MAX_BYTES, &text, &len);
    if (st) return eco_error_wrap(st, "loop config");
    st = eco_loop_config_parse(text, len, path, out);
    free(text);
    if (st) return st;
    const char *slash = strrchr(path, '/');
    out->base_dir =
        slash ? eco_bytes_dup(path, (size_t)(slash - path) + (slash == path)) : eco_strdup(".");
    if (!out->base_dir) {
        eco_loop_config_free(out);
        return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    }
    return ECO_STATUS_OK;
}

static void free_strs(char **v, size_t n) {
    for (size_t i = 0; v && i < n; i++) free(v[i]);
    free(v);
}

void eco_loop_config_free(eco_loop_config *c) {
    if (!c) return;
    for (size_t i = 0; c->members && i < c->n_members; i++) {
        free(c->members[i].id);
        free(c->members[i].path);
        free(c->members[i].base);
        free_strs(c->members[i].capabilities, c->members[i].n_capabilities);
    }
    free(c->members);
    free_strs(c->capabilities, c->n_capabilities);
    free_strs(c->objectives, c->n_objectives);
    for (size_t i = 0; c->ops && i < c->n_ops; i++) {
        free(c->ops[i].op);
        free(c->ops[i].params);
        free(c->ops[i].then);
        free(c->ops[i].train_mix);
        free_strs(c->ops[i].capabilities, c->ops[i].n_capabilities);
    }
    free(c->ops);
    free(c->gates);
    free(c->evaluation.deny);
    free(c->base_dir);
    memset(c, 0, sizeof *c);
}
