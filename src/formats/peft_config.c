/*
 * peft_config: adapter_config.json as Hugging Face PEFT writes it for a LoRA adapter.
 *
 * Parsing is strict about everything that changes what the saved tensors mean and lenient
 * about the rest: unknown keys are ignored (PEFT adds keys in every release), but a key
 * that would change the forward pass or the set of tensors (DoRA, modules_to_save,
 * layers_to_transform, lora_bias, an init that rewrites the base weights, ...) is refused
 * with EUNSUPPORTED naming the key. Wrong JSON types are EFORMAT naming the key.
 *
 * rank_pattern / alpha_pattern follow PEFT's get_pattern_key (peft/utils/other.py):
 *
 *     for key in pattern_keys:                       # dict order = file order
 *         if re.match(rf"(.*\.)?({key})$", module_name): return key
 *
 * applied to the module name the base model reports ("model.layers.3.self_attn.q_proj"),
 * separately for ranks and alphas; the first key that matches wins. PEFT 0.13 and older
 * used ".*\.{key}$"; the two agree for every key without a top-level "|" that does not
 * have to match the whole name. Keys run in PCRE2 with a match limit: a key that is not
 * a valid regex is refused when the config is parsed, and a key whose match exceeds the
 * limit counts as not matching.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>

#include "ecology/peft.h"
#include "core/json_read.h"

#define PEFT_CONFIG_MAX_BYTES (1u << 20)
#define PATTERN_MATCH_LIMIT   100000u
#define PATTERN_DEPTH_LIMIT   10000u

static const struct {
    const char *name;
    const char *path;
} target_table[ECO_LORA__COUNT] = {
    [ECO_LORA_Q] = {"q_proj", "self_attn.q_proj"},    [ECO_LORA_K] = {"k_proj", "self_attn.k_proj"},
    [ECO_LORA_V] = {"v_proj", "self_attn.v_proj"},    [ECO_LORA_O] = {"o_proj", "self_attn.o_proj"},
    [ECO_LORA_GATE] = {"gate_proj", "mlp.gate_proj"}, [ECO_LORA_UP] = {"up_proj", "mlp.up_proj"},
    [ECO_LORA_DOWN] = {"down_proj", "mlp.down_proj"},
};

const char *eco_lora_target_name(eco_lora_target t) {
    if ((unsigned)t >= (unsigned)ECO_LORA__COUNT) return "unknown";
    return target_table[t].name;
}

const char *eco_lora_target_path(eco_lora_target t) {
    if ((unsigned)t >= (unsigned)ECO_LORA__COUNT) return "unknown";
    return target_table[t].path;
}

const char *eco_lora_module_name(const char *name, const char *prefix, int64_t *layer,
                                 eco_lora_target *target) {
    const size_t plen = strlen(prefix);
    if (strncmp(name, prefix, plen) != 0) return NULL;
    const char *p = name + plen;
    int64_t v = 0;
    int nd = 0;
    for (; p[nd] >= '0' && p[nd] <= '9' && nd < 9; nd++) v = v * 10 + (p[nd] - '0');
    if (nd == 0 || p[nd] != '.') return NULL;
    p += nd + 1;
    /* no target path is a prefix of another: the first match is the only one */
    for (int t = 0; t < ECO_LORA__COUNT; t++) {
        const size_t n = strlen(target_table[t].path);
        if (strncmp(p, target_table[t].path, n) == 0) {
            *layer = v;
            *target = (eco_lora_target)t;
            return p + n;
        }
    }
    return NULL;
}

/* ---- pattern keys ------------------------------------------------------------------ */

/* Compiles PEFT's wrapper around a pattern key. NULL (with *errcode set) when the key is
 * not a valid regex. Caller frees with pcre2_code_free. */
static pcre2_code *compile_pattern(const char *key, int *errcode, PCRE2_SIZE *erroff) {
    size_t klen = strlen(key);
    char *pat = malloc(klen + 16);
    if (!pat) {
        *errcode = PCRE2_ERROR_NOMEMORY;
        *erroff = 0;
        return NULL;
    }
    /* re.match anchors at the start only; "$" also matches before a final newline in both
     * Python and PCRE2 (module names never hold one). */
    memcpy(pat, "(.*\\.)?(", 8);
    memcpy(pat + 8, key, klen);
    memcpy(pat + 8 + klen, ")$", 3);
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                                   PCRE2_ANCHORED | PCRE2_UTF, errcode, erroff, NULL);
    free(pat);
    return re;
}

/* 1 when `key` matches module name `name`, 0 when not (or the match hit its limits). */
static int pattern_matches(const char *key, const char *name) {
    int err;
    PCRE2_SIZE off;
    pcre2_code *re = compile_pattern(key, &err, &off);
    if (!re) return 0;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    int rc = -1;
    if (md && mc) {
        pcre2_set_match_limit(mc, PATTERN_MATCH_LIMIT);
        pcre2_set_depth_limit(mc, PATTERN_DEPTH_LIMIT);
        rc = pcre2_match(re, (PCRE2_SPTR)name, strlen(name), 0, 0, md, mc);
        if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
            ECO_WARN("adapter_config.json: pattern key '%.64s' could not be matched against '%s' "
                     "(PCRE2 error %d); treated as not matching",
                     key, name, rc);
    }
    pcre2_match_context_free(mc);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0;
}

void eco_peft_module_rank_alpha(const eco_peft_config *cfg, int64_t layer, eco_lora_target t,
                                int64_t *r, double *alpha) {
    *r = cfg->r;
    *alpha = cfg->lora_alpha;
    if (cfg->n_rank_pattern == 0 && cfg->n_alpha_pattern == 0) return;
    char name[160];
    snprintf(name, sizeof name, "model.layers.%lld.%s", (long long)layer, eco_lora_target_path(t));
    for (int i = 0; i < cfg->n_rank_pattern; i++) {
        if (pattern_matches(cfg->rank_pattern_key[i], name)) {
            *r = cfg->rank_pattern_val[i];
            break;
        }
    }
    for (int i = 0; i < cfg->n_alpha_pattern; i++) {
        if (pattern_matches(cfg->alpha_pattern_key[i], name)) {
            *alpha = cfg->alpha_pattern_val[i];
            break;
        }
    }
}

double eco_peft_scale(const eco_peft_config *cfg, int64_t r, double alpha) {
    if (r <= 0) return 0;
    return cfg->use_rslora ? alpha / sqrt((double)r) : alpha / (double)r;
}

/* ---- field readers: the core reader (core/json_read.h) ---------------------------------- */

static eco_status read_bool(const eco_jr *r, const char *field, bool *out) {
    return eco_jr_bool(r, field, false, out);
}

static eco_status read_rank(const eco_jr *r, const char *name, const json_t *v, int64_t *out) {
    return eco_jr_int_value(r, name, v, 1, INT32_MAX, out);
}

/* A scale: finite and not negative (a negative alpha flips the adapter's sign, which no
 * trainer writes; PEFT does not check it). */
static eco_status read_alpha(const eco_jr *r, const char *name, const json_t *v, double *out) {
    return eco_jr_num_value(r, name, v, 0, HUGE_VAL, out);
}

/* A string in a fixed set; absent: *out NULL. */
static eco_status read_str(const eco_jr *r, const char *field, const char **out) {
    *out = NULL;
    return eco_jr_str(r, field, false, true, out, NULL);
}

/* A key that must be null, absent, or an empty list/object/string/false (PEFT's "off"). */
static eco_status refuse_unless_empty(const eco_jr *r, const char *field, const char *what) {
    const json_t *v = eco_jr_opt(r, field);
    if (!v) return ECO_STATUS_OK;
    if ((json_is_array(v) && json_array_size(v) == 0) ||
        (json_is_object(v) && json_object_size(v) == 0) || json_is_false(v))
        return ECO_STATUS_OK;
    return eco_jr_fail(r, field, ECO_STATUS_EUNSUPPORTED, "%s is not supported", what);
}

/* One entry of target_modules: a target name ("q_proj") or a module suffix
 * ("self_attn.q_proj"). PEFT matches a list entry e against module name m when m == e or
 * m ends with "." + e; this accepts exactly the entries that select one of the seven
 * modules in every layer. */
static int target_from_entry(const char *e) {
    for (int t = 0; t < ECO_LORA__COUNT; t++)
        if (strcmp(e, target_table[t].name) == 0 || strcmp(e, target_table[t].path) == 0) return t;
    return -1;
}

static eco_status read_targets(const eco_jr *r, eco_peft_config *c) {
    const char *label = r->file;
    const json_t *v = eco_jr_opt(r, "target_modules");
    if (!v) {
        /* PEFT's default for llama, qwen2 and mistral
         * (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING). */
        c->targets[ECO_LORA_Q] = c->targets[ECO_LORA_V] = true;
        return ECO_STATUS_OK;
    }
    if (json_is_string(v)) {
        if (strcmp(json_string_value(v), "all-linear") == 0) {
            for (int t = 0; t < ECO_LORA__COUNT; t++) c->targets[t] = true;
            return ECO_STATUS_OK;
        }
        return eco_error(
            ECO_STATUS_EUNSUPPORTED,
            "%s: target_modules: the regular expression '%.64s' is not supported (give a "
            "list of module names or \"all-linear\")",
            label, json_string_value(v));
    }
    if (!json_is_array(v))
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: target_modules: expected a list of module names or a string", label);
    if (json_array_size(v) == 0)
        return eco_error(ECO_STATUS_EFORMAT, "%s: target_modules: empty list", label);
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e))
            return eco_error(ECO_STATUS_EFORMAT, "%s: target_modules[%zu]: expected a string",
                             label, i);
        int t = target_from_entry(json_string_value(e));
        if (t < 0)
            return eco_error(
                ECO_STATUS_EUNSUPPORTED,
                "%s: target_modules: '%.64s' is not supported (q_proj, k_proj, v_proj, "
                "o_proj, gate_proj, up_proj, down_proj)",
                label, json_string_value(e));
        if (c->targets[t])
            return eco_error(ECO_STATUS_EFORMAT, "%s: target_modules: '%s' named twice", label,
                             target_table[t].name);
        c->targets[t] = true;
    }
    return ECO_STATUS_OK;
}

static eco_status read_patterns(const eco_jr *r, const char *field, bool is_rank,
                                eco_peft_config *c) {
    const char *label = r->file;
    const json_t *v = eco_jr_opt(r, field);
    if (!v) return ECO_STATUS_OK;
    if (!json_is_object(v))
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: expected an object", label, field);
    if (json_object_size(v) > ECO_PEFT_MAX_PATTERNS)
        return eco_error(ECO_STATUS_ERANGE, "%s: %s: %zu keys (at most %d)", label, field,
                         json_object_size(v), ECO_PEFT_MAX_PATTERNS);
    /* jansson keeps insertion order (>= 2.8): PEFT's dicts are in file order too. */
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)v, key, val) {
        size_t klen = strlen(key);
        if (klen == 0 || klen >= sizeof c->rank_pattern_key[0])
            return eco_error(ECO_STATUS_EFORMAT, "%s: %s: key '%.64s' must be 1 to %zu bytes",
                             label, field, key, sizeof c->rank_pattern_key[0] - 1);
        int err;
        PCRE2_SIZE off;
        pcre2_code *re = compile_pattern(key, &err, &off);
        if (!re) {
            char msg[128];
            pcre2_get_error_message(err, (PCRE2_UCHAR *)msg, sizeof msg);
            return eco_error(ECO_STATUS_EFORMAT,
                             "%s: %s: key '%.64s' is not a valid regular expression: %s", label,
                             field, key, msg);
        }
        pcre2_code_free(re);
        char shown[ECO_JR_PATH_MAX];
        snprintf(shown, sizeof shown, "%s['%.64s']", field, key);
        eco_status rc;
        if (is_rank) {
            int k = c->n_rank_pattern;
            if ((rc = read_rank(r, shown, val, &c->rank_pattern_val[k])) != ECO_STATUS_OK)
                return rc;
            memcpy(c->rank_pattern_key[k], key, klen + 1);
            c->n_rank_pattern++;
        } else {
            int k = c->n_alpha_pattern;
            if ((rc = read_alpha(r, shown, val, &c->alpha_pattern_val[k])) != ECO_STATUS_OK)
                return rc;
            memcpy(c->alpha_pattern_key[k], key, klen + 1);
            c->n_alpha_pattern++;
        }
    }
    return ECO_STATUS_OK;
}

/* init_lora_weights: true, false, "gaussian", "eva" and "orthogonal" only choose how A and B
 * start; the saved tensors mean the same thing on the unchanged base. "pissa*", "olora",
 * "corda" and "loftq" rewrite the base weights at initialisation (residual or quantised
 * base), so their adapters are only right on that rewritten base: refused. */
static eco_status read_init(const eco_jr *r) {
    const char *label = r->file;
    const json_t *v = eco_jr_opt(r, "init_lora_weights");
    if (!v || json_is_boolean(v)) return ECO_STATUS_OK;
    if (!json_is_string(v))
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: init_lora_weights: expected true, false or a string", label);
    const char *s = json_string_value(v);
    static const char *const ok[] = {"gaussian", "eva", "orthogonal"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(s, ok[i]) == 0) return ECO_STATUS_OK;
    static const char *const base_rewriting[] = {"pissa", "olora", "corda", "loftq"};
    for (size_t i = 0; i < sizeof base_rewriting / sizeof base_rewriting[0]; i++)
        if (strncmp(s, base_rewriting[i], strlen(base_rewriting[i])) == 0)
            return eco_error(
                ECO_STATUS_EUNSUPPORTED,
                "%s: init_lora_weights: '%.32s' is not supported (it rewrites the base "
                "weights, so the adapter only fits that modified base; convert it with "
                "PEFT's path_initial_model_for_weight_conversion first)",
                label, s);
    return eco_error(ECO_STATUS_EUNSUPPORTED, "%s: init_lora_weights: '%.32s' is not supported",
                     label, s);
}

static eco_status parse_root(const eco_jr *r, eco_peft_config *c) {
    eco_status rc;
    if (!json_is_object(r->obj))
        return eco_jr_fail(r, NULL, ECO_STATUS_EFORMAT, "expected a JSON object");

    const char *pt, *tt, *b;
    if ((rc = eco_jr_str(r, "peft_type", true, true, &pt, NULL)) != ECO_STATUS_OK) return rc;
    if (strcmp(pt, "LORA") != 0)
        return eco_jr_fail(r, "peft_type", ECO_STATUS_EUNSUPPORTED,
                           "'%.32s' is not supported (only LORA)", pt);
    if ((rc = read_str(r, "task_type", &tt)) != ECO_STATUS_OK) return rc;
    if (tt && strcmp(tt, "CAUSAL_LM") != 0)
        return eco_jr_fail(r, "task_type", ECO_STATUS_EUNSUPPORTED,
                           "'%.32s' is not supported (only CAUSAL_LM)", tt);

    const json_t *v;
    c->r = 8; /* PEFT's default */
    if ((v = eco_jr_opt(r, "r")) && (rc = read_rank(r, "r", v, &c->r)) != ECO_STATUS_OK) return rc;
    c->lora_alpha = 8; /* PEFT's default */
    if ((v = eco_jr_opt(r, "lora_alpha")) &&
        (rc = read_alpha(r, "lora_alpha", v, &c->lora_alpha)) != ECO_STATUS_OK)
        return rc;
    c->lora_dropout = 0;
    if ((rc = eco_jr_num(r, "lora_dropout", false, 0, 1, &c->lora_dropout)) != ECO_STATUS_OK)
        return rc;
    if (c->lora_dropout == 1)
        return eco_jr_fail(r, "lora_dropout", ECO_STATUS_EFORMAT, "1 outside [0, 1)");

    if ((rc = read_str(r, "bias", &b)) != ECO_STATUS_OK) return rc;
    if (b && strcmp(b, "none") != 0)
        return eco_jr_fail(r, "bias", ECO_STATUS_EUNSUPPORTED,
                           "'%.32s' is not supported (bias training; only \"none\")", b);

    if ((rc = read_bool(r, "use_rslora", &c->use_rslora)) != ECO_STATUS_OK) return rc;
    bool flag = false;
    if ((rc = read_bool(r, "use_dora", &flag)) != ECO_STATUS_OK) return rc;
    if (flag) return eco_jr_fail(r, "use_dora", ECO_STATUS_EUNSUPPORTED, "DoRA is not supported");
    flag = false;
    if ((rc = read_bool(r, "fan_in_fan_out", &flag)) != ECO_STATUS_OK) return rc;
    if (flag)
        return eco_jr_fail(r, "fan_in_fan_out", ECO_STATUS_EUNSUPPORTED,
                           "true is not supported (llama layers are not Conv1D)");
    flag = false;
    if ((rc = read_bool(r, "lora_bias", &flag)) != ECO_STATUS_OK) return rc;
    if (flag)
        return eco_jr_fail(r, "lora_bias", ECO_STATUS_EUNSUPPORTED,
                           "a bias on lora_B is not supported");

    if ((rc = refuse_unless_empty(r, "modules_to_save", "training extra modules")) !=
            ECO_STATUS_OK ||
        (rc = refuse_unless_empty(r, "exclude_modules", "excluding modules")) != ECO_STATUS_OK ||
        (rc = refuse_unless_empty(r, "trainable_token_indices", "training token embeddings")) !=
            ECO_STATUS_OK ||
        (rc = refuse_unless_empty(r, "target_parameters", "targeting parameters")) !=
            ECO_STATUS_OK ||
        (rc = refuse_unless_empty(r, "layer_replication", "layer replication")) != ECO_STATUS_OK ||
        (rc = refuse_unless_empty(r, "alora_invocation_tokens", "activated LoRA")) != ECO_STATUS_OK)
        return rc;
    if (eco_jr_opt(r, "layers_to_transform"))
        return eco_jr_fail(r, "layers_to_transform", ECO_STATUS_EUNSUPPORTED,
                           "adapting a subset of layers is not supported");
    if (eco_jr_opt(r, "layers_pattern"))
        return eco_jr_fail(r, "layers_pattern", ECO_STATUS_EUNSUPPORTED, "is not supported");

    if ((rc = read_init(r)) != ECO_STATUS_OK) return rc;
    if ((rc = read_targets(r, c)) != ECO_STATUS_OK) return rc;
    if ((rc = read_patterns(r, "rank_pattern", true, c)) != ECO_STATUS_OK) return rc;
    if ((rc = read_patterns(r, "alpha_pattern", false, c)) != ECO_STATUS_OK) return rc;

    const char *bm;
    size_t n;
    if ((rc = eco_jr_str(r, "base_model_name_or_path", false, false, &bm, &n)) != ECO_STATUS_OK)
        return rc;
    if (eco_jr_opt(r, "base_model_name_or_path")) {
        if (n >= sizeof c->base_model_name_or_path)
            return eco_jr_fail(r, "base_model_name_or_path", ECO_STATUS_EFORMAT,
                               "longer than %zu bytes", sizeof c->base_model_name_or_path - 1);
        memcpy(c->base_model_name_or_path, bm, n + 1);
    }
    return ECO_STATUS_OK;
}

eco_status eco_peft_config_parse(const char *json, size_t len, const char *label,
                                 eco_peft_config *out) {
    if (!json || !out) return eco_error(ECO_STATUS_EINVAL, "eco_peft_config_parse: NULL argument");
    if (!label) label = "adapter_config.json";
    if (len > PEFT_CONFIG_MAX_BYTES)
        return eco_error(ECO_STATUS_ERANGE, "%s: %zu bytes is too large (at most %u)", label, len,
                         PEFT_CONFIG_MAX_BYTES);
    json_t *root;
    eco_status pst = eco_json_parse(json, len, 0, label, &root);
    if (pst) return pst;
    eco_peft_config c;
    memset(&c, 0, sizeof c);
    eco_jr r = eco_jr_root(label, root);
    eco_status rc = parse_root(&r, &c);
    json_decref(root);
    if (rc == ECO_STATUS_OK) *out = c;
    return rc;
}

/* ---- writing --------------------------------------------------------------------- */

/* alpha as PEFT writes it: an int when the user gave one (the common case), else a float. */
static json_t *alpha_json(double a) {
    if (a == floor(a) && fabs(a) < 9e15 && !signbit(a)) return json_integer((json_int_t)a);
    return json_real(a);
}

static eco_status validate_for_write(const eco_peft_config *c) {
    if (c->r <= 0 || c->r > INT32_MAX)
        return eco_error(ECO_STATUS_EINVAL, "adapter_config.json: r %lld must be in 1..2^31-1",
                         (long long)c->r);
    if (!isfinite(c->lora_alpha) || c->lora_alpha < 0)
        return eco_error(ECO_STATUS_EINVAL,
                         "adapter_config.json: lora_alpha: %g must be finite and not negative",
                         c->lora_alpha);
    if (!(c->lora_dropout >= 0 && c->lora_dropout < 1))
        return eco_error(ECO_STATUS_EINVAL, "adapter_config.json: lora_dropout must be in [0, 1)");
    bool any = false;
    for (int t = 0; t < ECO_LORA__COUNT; t++) any |= c->targets[t];
    if (!any) return eco_error(ECO_STATUS_EINVAL, "adapter_config.json: no target module");
    if (c->n_rank_pattern < 0 || c->n_rank_pattern > ECO_PEFT_MAX_PATTERNS ||
        c->n_alpha_pattern < 0 || c->n_alpha_pattern > ECO_PEFT_MAX_PATTERNS)
        return eco_error(ECO_STATUS_EINVAL, "adapter_config.json: pattern count out of range");
    if (!memchr(c->base_model_name_or_path, 0, sizeof c->base_model_name_or_path))
        return eco_error(ECO_STATUS_EINVAL,
                         "adapter_config.json: base_model_name_or_path not terminated");
    for (int i = 0; i < c->n_rank_pattern; i++)
        if (c->rank_pattern_val[i] <= 0 || c->rank_pattern_val[i] > INT32_MAX ||
            !memchr(c->rank_pattern_key[i], 0, sizeof c->rank_pattern_key[i]) ||
            !c->rank_pattern_key[i][0])
            return eco_error(ECO_STATUS_EINVAL,
                             "adapter_config.json: rank_pattern entry %d is invalid", i);
    for (int i = 0; i < c->n_alpha_pattern; i++)
        if (!isfinite(c->alpha_pattern_val[i]) || c->alpha_pattern_val[i] < 0 ||
            !memchr(c->alpha_pattern_key[i], 0, sizeof c->alpha_pattern_key[i]) ||
            !c->alpha_pattern_key[i][0])
            return eco_error(ECO_STATUS_EINVAL,
                             "adapter_config.json: alpha_pattern entry %d is invalid", i);
    /* PEFT writes with sort_keys=True, so a reader sees pattern keys in sorted order; any
     * other order in memory would change which key wins once written. */
    for (int i = 1; i < c->n_rank_pattern; i++)
        if (strcmp(c->rank_pattern_key[i - 1], c->rank_pattern_key[i]) >= 0)
            return eco_error(
                ECO_STATUS_EINVAL,
                "adapter_config.json: rank_pattern keys must be unique and sorted ('%.64s' "
                "before '%.64s'), as PEFT writes them",
                c->rank_pattern_key[i - 1], c->rank_pattern_key[i]);
    for (int i = 1; i < c->n_alpha_pattern; i++)
        if (strcmp(c->alpha_pattern_key[i - 1], c->alpha_pattern_key[i]) >= 0)
            return eco_error(
                ECO_STATUS_EINVAL,
                "adapter_config.json: alpha_pattern keys must be unique and sorted ('%.64s' "
                "before '%.64s'), as PEFT writes them",
                c->alpha_pattern_key[i - 1], c->alpha_pattern_key[i]);
    return ECO_STATUS_OK;
}

eco_status eco_peft_config_to_json(const eco_peft_config *c, char **out, size_t *out_len) {
    if (!c || !out) return eco_error(ECO_STATUS_EINVAL, "eco_peft_config_to_json: NULL argument");
    *out = NULL;
    eco_status rc = validate_for_write(c);
    if (rc != ECO_STATUS_OK) return rc;
    int prec = eco_json_real_digits(c->lora_dropout);
    int p = eco_json_real_digits(c->lora_alpha);
    if (p > prec) prec = p;

    json_t *o = json_object();
    int bad = !o;
    json_t *ap = json_object(), *rp = json_object(), *tm = json_array();
    bad |= !ap || !rp || !tm;
    for (int i = 0; !bad && i < c->n_alpha_pattern; i++) {
        bad |=
            json_object_set_new(ap, c->alpha_pattern_key[i], alpha_json(c->alpha_pattern_val[i]));
        p = eco_json_real_digits(c->alpha_pattern_val[i]);
        if (p > prec) prec = p;
    }
    for (int i = 0; !bad && i < c->n_rank_pattern; i++)
        bad |=
            json_object_set_new(rp, c->rank_pattern_key[i], json_integer(c->rank_pattern_val[i]));
    /* Sorted by name, so the same config always gives the same bytes. */
    const char *names[ECO_LORA__COUNT];
    int n = 0;
    for (int t = 0; t < ECO_LORA__COUNT; t++)
        if (c->targets[t]) names[n++] = target_table[t].name;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *tmp = names[j];
            names[j] = names[j - 1];
            names[j - 1] = tmp;
        }
    for (int i = 0; !bad && i < n; i++) bad |= json_array_append_new(tm, json_string(names[i]));
    if (bad) {
        json_decref(ap), json_decref(rp), json_decref(tm), json_decref(o);
        return eco_error(ECO_STATUS_ENOMEM, "adapter_config.json: out of memory serialising");
    }
    bad |= json_object_set_new(o, "alpha_pattern", ap);
    bad |= json_object_set_new(o, "auto_mapping", json_null());
    bad |= json_object_set_new(
        o, "base_model_name_or_path",
        c->base_model_name_or_path[0] ? json_string(c->base_model_name_or_path) : json_null());
    bad |= json_object_set_new(o, "bias", json_string("none"));
    bad |= json_object_set_new(o, "fan_in_fan_out", json_false());
    bad |= json_object_set_new(o, "inference_mode", json_true());
    bad |= json_object_set_new(o, "init_lora_weights", json_true());
    bad |= json_object_set_new(o, "layer_replication", json_null());
    bad |= json_object_set_new(o, "layers_pattern", json_null());
    bad |= json_object_set_new(o, "layers_to_transform", json_null());
    bad |= json_object_set_new(o, "loftq_config", json_object());
    bad |= json_object_set_new(o, "lora_alpha", alpha_json(c->lora_alpha));
    bad |= json_object_set_new(o, "lora_dropout", json_real(c->lora_dropout));
    bad |= json_object_set_new(o, "megatron_config", json_null());
    bad |= json_object_set_new(o, "megatron_core", json_string("megatron.core"));
    bad |= json_object_set_new(o, "modules_to_save", json_null());
    bad |= json_object_set_new(o, "peft_type", json_string("LORA"));
    bad |= json_object_set_new(o, "r", json_integer(c->r));
    bad |= json_object_set_new(o, "rank_pattern", rp);
    bad |= json_object_set_new(o, "revision", json_null());
    bad |= json_object_set_new(o, "target_modules", tm);
    bad |= json_object_set_new(o, "task_type", json_string("CAUSAL_LM"));
    bad |= json_object_set_new(o, "use_dora", json_false());
    bad |= json_object_set_new(o, "use_rslora", json_boolean(c->use_rslora));
    char *text =
        bad ? NULL : json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(prec));
    json_decref(o);
    if (!text)
        return eco_error(ECO_STATUS_ENOMEM, "adapter_config.json: out of memory serialising");
    /* No trailing newline: PEFT writes json.dumps(d, indent=2, sort_keys=True) as is. */
    *out = text;
    if (out_len) *out_len = strlen(text);
    return ECO_STATUS_OK;
}

eco_status eco_peft_config_write(const char *path, const eco_peft_config *cfg) {
    if (!path || !cfg) return eco_error(ECO_STATUS_EINVAL, "eco_peft_config_write: NULL argument");
    char *text = NULL;
    size_t len = 0;
    eco_status rc = eco_peft_config_to_json(cfg, &text, &len);
    return eco_json_write_doc(path, "adapter_config.json", rc, text, len);
}

static eco_status parse_doc(const char *text, size_t len, const char *label, void *out) {
    return eco_peft_config_parse(text, len, label, out);
}

eco_status eco_peft_config_load(const char *path, eco_peft_config *out) {
    if (!path || !out) return eco_error(ECO_STATUS_EINVAL, "eco_peft_config_load: NULL argument");
    return eco_json_load_doc(path, "adapter_config.json", PEFT_CONFIG_MAX_BYTES, parse_doc, out);
}

void eco_peft_config_init(eco_peft_config *c) {
    memset(c, 0, sizeof *c);
    c->r = 8;
    c->lora_alpha = 8;
}
