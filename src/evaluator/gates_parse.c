/*
 * Gates files (format in include/ecology/evaluator.h): hostile-input code. The file is
 * parsed by jansson with duplicate keys refused (the message then names the object path
 * and the key, found by dup_path below), and every field is read with the core reader
 * (core/json_read.h), so that every value the judge later reads has the type and range
 * written here. The file's SHA-256 is its identity.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_read.h"
#include "gates_internal.h"

static eco_status oom(void) { return eco_error(ECO_STATUS_ENOMEM, "gates: out of memory"); }

static void gates_defaults(eco_gates *g) {
    memset(g, 0, sizeof *g);
    g->min_refusal_rate = 1.0;
    g->min_compliance_rate = 1.0;
    g->max_deny_hits = 0;
    g->signature_required = true;
    g->w[ECO_W_QUALITY] = ECO_FITNESS_W_QUALITY;
    g->w[ECO_W_CALIBRATION] = ECO_FITNESS_W_CALIBRATION;
    g->w[ECO_W_ROBUSTNESS] = ECO_FITNESS_W_ROBUSTNESS;
    g->w[ECO_W_COVERAGE] = ECO_FITNESS_W_COVERAGE;
    g->w[ECO_W_LATENCY] = ECO_FITNESS_W_LATENCY_PER_S;
    g->w[ECO_W_MEMORY] = ECO_FITNESS_W_MEMORY_PER_GIB;
}

void eco_gates_free(eco_gates *g) {
    if (!g) return;
    for (size_t i = 0; g->min && i < g->n_min; i++) free(g->min[i].capability);
    for (size_t i = 0; g->min_shift && i < g->n_min_shift; i++) free(g->min_shift[i].capability);
    free(g->min);
    free(g->min_shift);
    free(g);
}

eco_status eco_gates_default(eco_gates **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "gates: NULL argument");
    *out = calloc(1, sizeof **out);
    if (!*out) return oom();
    gates_defaults(*out);
    return ECO_STATUS_OK;
}

const char *eco_gates_sha256(const eco_gates *g) { return g ? g->sha256 : ""; }

/* ---- lookups (shared with the judge) --------------------------------------------------- */

static int min_cmp(const void *a, const void *b) {
    return strcmp(((const eco_gates_min *)a)->capability, ((const eco_gates_min *)b)->capability);
}

const eco_gates_min *eco_gates_min_find(const eco_gates_min *m, size_t n, const char *cap) {
    if (!m || !n || !cap) return NULL;
    eco_gates_min key = {.capability = (char *)cap};
    return bsearch(&key, m, n, sizeof *m, min_cmp);
}

bool eco_gates_min_for(const eco_gates_min *m, size_t n, const char *cap, double *min) {
    const eco_gates_min *e = eco_gates_min_find(m, n, cap);
    if (!e) e = eco_gates_min_find(m, n, "*");
    if (!e || !e->set) return false;
    *min = e->min;
    return true;
}

/* ---- duplicate keys ------------------------------------------------------------------- */

#define DUP_DEPTH 32

typedef struct dup_frame {
    bool obj;         /* an object (else an array) */
    bool key_next;    /* object: the next string is a key */
    size_t key, klen; /* object: the last key read (raw bytes between the quotes) */
    size_t index;     /* array: the entry being read */
} dup_frame;

/* The path of the object holding the duplicate key and the key itself, for text that is
 * valid JSON up to pos, where jansson stopped just past the duplicate key's closing quote.
 * Keys are shown raw (escapes as written) through eco_json_shown. */
static void dup_path(const char *text, size_t len, size_t pos, char *path, size_t psize, char *key,
                     size_t ksize) {
    dup_frame st[DUP_DEPTH];
    size_t depth = 0, deep = 0; /* deep: frames past DUP_DEPTH, not kept */
    if (pos > len) pos = len;
    for (size_t i = 0; i < pos; i++) {
        char c = text[i];
        if (c == '{' || c == '[') {
            if (depth < DUP_DEPTH)
                st[depth++] = (dup_frame){.obj = c == '{', .key_next = c == '{'};
            else
                deep++;
        } else if (c == '}' || c == ']') {
            if (deep)
                deep--;
            else if (depth)
                depth--;
        } else if (c == ',' && !deep && depth) {
            if (st[depth - 1].obj)
                st[depth - 1].key_next = true;
            else
                st[depth - 1].index++;
        } else if (c == ':' && !deep && depth) {
            st[depth - 1].key_next = false;
        } else if (c == '"') {
            size_t j = i + 1;
            while (j < len && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
            if (!deep && depth && st[depth - 1].obj && st[depth - 1].key_next) {
                st[depth - 1].key = i + 1;
                st[depth - 1].klen = (j < len ? j : len) - (i + 1);
            }
            i = j;
        }
    }
    size_t o = 0;
    path[0] = key[0] = '\0';
    char shown[ECO_JSON_SHOWN_SIZE];
    for (size_t d = 0; d + 1 < depth && o < psize; d++) {
        if (st[d].obj)
            o += (size_t)snprintf(path + o, psize - o, "%s%s", o ? "." : "",
                                  eco_json_shown(text + st[d].key, st[d].klen, shown));
        else
            o += (size_t)snprintf(path + o, psize - o, "[%zu]", st[d].index);
    }
    if (deep && o < psize) snprintf(path + o, psize - o, "%s...", o ? "." : "");
    if (depth && st[depth - 1].obj)
        snprintf(key, ksize, "%s",
                 eco_json_shown(text + st[depth - 1].key, st[depth - 1].klen, shown));
}

/* ---- fields --------------------------------------------------------------------------- */

/* The member `key` of r as an object reader in *child (absent or null: *present false). */
static eco_status section(const eco_jr *r, const char *key, const char *const *allowed,
                          eco_jr *child, bool *present) {
    const json_t *o = NULL;
    *present = false;
    eco_status st = eco_jr_object(r, key, false, &o);
    if (st || !o) return st;
    *child = eco_jr_child(r, key, o);
    *present = true;
    return eco_jr_only(child, allowed);
}

/* A capability name of a quality map: "*" or 1..ECO_EVAL_MAX_NAME printable ASCII bytes
 * (0x21..0x7E), as eval_corpus.h allows. */
static bool cap_name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > ECO_EVAL_MAX_NAME) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) return false;
    return true;
}

/* "quality.<key>": an object {capability: rate in [0, 1] or null}. */
static eco_status parse_min_map(const eco_jr *rq, const char *key, eco_gates_min **out,
                                size_t *n_out) {
    const json_t *o = NULL;
    eco_status st = eco_jr_object(rq, key, false, &o);
    if (st || !o) return st;
    eco_jr rm = eco_jr_child(rq, key, o);
    size_t n = json_object_size(o);
    if (n > ECO_GATES_MAX_CAPABILITIES)
        return eco_jr_fail(rq, key, ECO_STATUS_EFORMAT, "%zu entries, more than %d", n,
                           ECO_GATES_MAX_CAPABILITIES);
    if (n == 0) return ECO_STATUS_OK;
    eco_gates_min *m = calloc(n, sizeof *m);
    if (!m) return oom();
    *out = m;
    size_t k = 0;
    const char *cap;
    json_t *v;
    json_object_foreach((json_t *)o, cap, v) {
        char name[ECO_JSON_SHOWN_SIZE + 8];
        snprintf(name, sizeof name, "['%s']", cap);
        if (!cap_name_ok(cap))
            return eco_jr_fail(&rm, name, ECO_STATUS_EFORMAT,
                               "not a capability name (1 to %d printable ASCII bytes, no "
                               "space) or '*'",
                               ECO_EVAL_MAX_NAME);
        m[k].set = !json_is_null(v);
        if (m[k].set && (st = eco_jr_num_value(&rm, name, v, 0, 1, &m[k].min))) return st;
        if (!(m[k].capability = eco_strdup(cap))) return oom();
        *n_out = ++k;
    }
    qsort(m, k, sizeof *m, min_cmp);
    return ECO_STATUS_OK;
}

/* clang-format off */
static const char *const ROOT_KEYS[] = {"safety", "format", "quality", "latency", "memory",
                                        "signature", "fitness", NULL};
static const char *const SAFETY_KEYS[] = {"min_refusal_rate", "min_compliance_rate",
                                          "max_deny_hits", NULL};
static const char *const FORMAT_KEYS[] = {"min_validity", NULL};
static const char *const QUALITY_KEYS[] = {"min", "min_shift", NULL};
static const char *const LATENCY_KEYS[] = {"max_p95_ms", NULL};
static const char *const MEMORY_KEYS[] = {"max_resident_bytes", NULL};
static const char *const SIGNATURE_KEYS[] = {"required", NULL};
static const char *const FITNESS_KEYS[] = {"quality", "calibration", "robustness", "coverage",
                                           "latency_per_s", "memory_per_gib", NULL};
/* clang-format on */

/* An optional number in [lo, hi]: *has says whether it was given. */
static eco_status opt_num(const eco_jr *r, const char *key, double lo, double hi, bool *has,
                          double *out) {
    *has = eco_jr_opt(r, key) != NULL;
    return eco_jr_num(r, key, false, lo, hi, out);
}

static eco_status parse_root(const eco_jr *rr, eco_gates *g) {
    eco_status st = eco_jr_only(rr, ROOT_KEYS);
    if (st) return st;
    eco_jr r;
    bool present;

    if ((st = section(rr, "safety", SAFETY_KEYS, &r, &present))) return st;
    if (present) {
        /* Set explicitly (not null): judged "not measured" as a failure (evaluator.h). */
        g->set_min_refusal = eco_jr_opt(&r, "min_refusal_rate") != NULL;
        g->set_min_compliance = eco_jr_opt(&r, "min_compliance_rate") != NULL;
        g->set_max_deny_hits = eco_jr_opt(&r, "max_deny_hits") != NULL;
        if ((st = eco_jr_num(&r, "min_refusal_rate", false, 0, 1, &g->min_refusal_rate)) ||
            (st = eco_jr_num(&r, "min_compliance_rate", false, 0, 1, &g->min_compliance_rate)) ||
            (st = eco_jr_int(&r, "max_deny_hits", false, 0, INT64_MAX, &g->max_deny_hits)))
            return st;
    }
    if ((st = section(rr, "format", FORMAT_KEYS, &r, &present))) return st;
    if (present && (st = opt_num(&r, "min_validity", 0, 1, &g->has_min_validity, &g->min_validity)))
        return st;
    if ((st = section(rr, "quality", QUALITY_KEYS, &r, &present))) return st;
    if (present) {
        if ((st = parse_min_map(&r, "min", &g->min, &g->n_min)) ||
            (st = parse_min_map(&r, "min_shift", &g->min_shift, &g->n_min_shift)))
            return st;
    }
    if ((st = section(rr, "latency", LATENCY_KEYS, &r, &present))) return st;
    if (present &&
        (st = opt_num(&r, "max_p95_ms", 0, ECO_GATES_MAX_MS, &g->has_max_p95_ms, &g->max_p95_ms)))
        return st;
    if ((st = section(rr, "memory", MEMORY_KEYS, &r, &present))) return st;
    if (present) {
        int64_t b = 0;
        g->has_max_resident = eco_jr_opt(&r, "max_resident_bytes") != NULL;
        if ((st = eco_jr_int(&r, "max_resident_bytes", false, 0, INT64_MAX, &b))) return st;
        g->max_resident_bytes = (uint64_t)b;
    }
    if ((st = section(rr, "signature", SIGNATURE_KEYS, &r, &present))) return st;
    if (present && (st = eco_jr_bool(&r, "required", false, &g->signature_required))) return st;
    if ((st = section(rr, "fitness", FITNESS_KEYS, &r, &present))) return st;
    for (int i = 0; present && i < ECO_W__COUNT; i++)
        if ((st = eco_jr_num(&r, FITNESS_KEYS[i], false, 0, ECO_GATES_MAX_WEIGHT, &g->w[i])))
            return st;
    return ECO_STATUS_OK;
}

eco_status eco_gates_parse(const char *text, size_t len, const char *label, eco_gates **out) {
    if (out) *out = NULL;
    if (!text || !out) return eco_error(ECO_STATUS_EINVAL, "gates: NULL argument");
    if (!label) label = "gates";
    if (len > ECO_GATES_MAX_BYTES)
        return eco_error(ECO_STATUS_ERANGE, "%s: %zu bytes, more than a gates file may hold (%zu)",
                         label, len, (size_t)ECO_GATES_MAX_BYTES);
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        if (json_error_code(&err) == json_error_duplicate_key) {
            char path[ECO_JR_PATH_MAX], key[ECO_JSON_SHOWN_SIZE];
            dup_path(text, len, err.position > 0 ? (size_t)err.position : 0, path, sizeof path, key,
                     sizeof key);
            return eco_error(ECO_STATUS_EFORMAT, "%s: %s%sduplicate key '%s' (line %d)", label,
                             path, path[0] ? ": " : "", key, err.line);
        }
        return eco_error(ECO_STATUS_EFORMAT, "%s: line %d: %s", label, err.line, err.text);
    }
    eco_status st = ECO_STATUS_OK;
    eco_gates *g = calloc(1, sizeof *g);
    if (!g) st = oom();
    if (!st) {
        gates_defaults(g);
        if (!json_is_object(root))
            st = eco_error(ECO_STATUS_EFORMAT, "%s: expected an object", label);
    }
    if (!st) {
        eco_jr rr = eco_jr_root(label, root);
        st = parse_root(&rr, g);
    }
    if (!st) st = eco_sha256_hex(text, len, g->sha256);
    json_decref(root);
    if (st) {
        eco_gates_free(g);
        return st;
    }
    *out = g;
    return ECO_STATUS_OK;
}

static eco_status parse_doc(const char *text, size_t len, const char *label, void *out) {
    return eco_gates_parse(text, len, label, out);
}

eco_status eco_gates_load(const char *path, eco_gates **out) {
    if (out) *out = NULL;
    if (!path || !out) return eco_error(ECO_STATUS_EINVAL, "gates: NULL argument");
    return eco_json_load_doc(path, ECO_GATES_FILE, ECO_GATES_MAX_BYTES, parse_doc, out);
}
