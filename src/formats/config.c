/*
 * config: Hugging Face config.json for LlamaForCausalLM, Qwen2ForCausalLM and
 * MistralForCausalLM.
 *
 * Parsing reads every field the forward pass depends on, fills the Hugging Face default
 * when an optional field is absent or null (per architecture, as transformers does), and
 * then runs the same checks eco_config_write runs before writing (eco_config_validate):
 * sizes positive and below 2^31, heads divisible by kv heads, head_dim even, and every
 * product that sizes a tensor (and the parameter count, in f32 bytes) free of overflow.
 * Fields this engine does not implement are refused with EUNSUPPORTED naming the field;
 * wrong JSON types are refused with EFORMAT naming the field. Unknown fields are ignored
 * (HF configs carry many that do not change the computation).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ecology/config.h"
#include "ecology/gguf.h"
#include "core/json_read.h"

#define CONFIG_MAX_BYTES (16u * 1024u * 1024u)
#define SIZE_LIMIT       ((int64_t)INT32_MAX) /* every size and id must be < 2^31 */

static const struct {
    const char *arch;
    const char *model_type;
    int64_t default_max_pos; /* transformers' default max_position_embeddings */
} arch_table[] = {
    [ECO_ARCH_LLAMA] = {"LlamaForCausalLM", "llama", 2048},
    [ECO_ARCH_QWEN2] = {"Qwen2ForCausalLM", "qwen2", 32768},
    [ECO_ARCH_MISTRAL] = {"MistralForCausalLM", "mistral", 4096 * 32},
};
#define N_ARCH ((int)(sizeof arch_table / sizeof arch_table[0]))

const char *eco_arch_name(eco_arch a) {
    if ((unsigned)a >= (unsigned)N_ARCH) return "unknown";
    return arch_table[a].arch;
}

/* ---- field readers: the core reader (core/json_read.h), sizes in [min, SIZE_LIMIT] ----- */

static eco_status read_int(const eco_jr *r, const char *field, bool required, int64_t def,
                           int64_t min, int64_t *out) {
    *out = def;
    return eco_jr_int(r, field, required, min, SIZE_LIMIT, out);
}

/* A finite number > 0 (integer or real); absent: def. */
static eco_status read_pos_number(const eco_jr *r, const char *field, bool required, double def,
                                  double *out) {
    *out = def;
    eco_status rc = eco_jr_num(r, field, required, -HUGE_VAL, HUGE_VAL, out);
    if (rc == ECO_STATUS_OK && !(*out > 0))
        return eco_jr_fail(r, field, ECO_STATUS_EFORMAT, "expected a positive number, got %g",
                           *out);
    return rc;
}

static eco_status read_bool(const eco_jr *r, const char *field, bool def, bool *out) {
    *out = def;
    return eco_jr_bool(r, field, false, out);
}

/* An optional string; absent: *out NULL. */
static eco_status read_str(const eco_jr *r, const char *field, const char **out) {
    *out = NULL;
    return eco_jr_str(r, field, false, true, out, NULL);
}

/* ---- architecture, rope scaling, dtype ------------------------------------------------ */

static eco_status read_arch(const eco_jr *r, eco_model_config *c) {
    int from_arch = -1, from_type = -1;
    const json_t *archs = eco_jr_opt(r, "architectures");
    if (archs) {
        if (!json_is_array(archs) || json_array_size(archs) != 1 ||
            !json_is_string(json_array_get(archs, 0)))
            return eco_jr_fail(r, "architectures", ECO_STATUS_EFORMAT,
                               "expected a list of exactly one string");
        const char *a = json_string_value(json_array_get(archs, 0));
        for (int i = 0; i < N_ARCH; i++)
            if (strcmp(a, arch_table[i].arch) == 0) from_arch = i;
        if (from_arch < 0)
            return eco_jr_fail(
                r, "architectures", ECO_STATUS_EUNSUPPORTED,
                "'%.64s' is not supported (LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM)",
                a);
    }
    const char *t;
    eco_status rc = read_str(r, "model_type", &t);
    if (rc) return rc;
    if (t) {
        for (int i = 0; i < N_ARCH; i++)
            if (strcmp(t, arch_table[i].model_type) == 0) from_type = i;
        if (from_type < 0)
            return eco_jr_fail(r, "model_type", ECO_STATUS_EUNSUPPORTED, "'%.64s' is not supported",
                               t);
    }
    if (from_arch < 0 && from_type < 0)
        return eco_jr_fail(r, "architectures", ECO_STATUS_EFORMAT, "missing");
    if (from_arch >= 0 && from_type >= 0 && from_arch != from_type)
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: model_type '%s' does not match architectures '%s'", r->file,
                         arch_table[from_type].model_type, arch_table[from_arch].arch);
    c->arch = (eco_arch)(from_arch >= 0 ? from_arch : from_type);
    snprintf(c->model_type, sizeof c->model_type, "%s", arch_table[c->arch].model_type);
    return ECO_STATUS_OK;
}

static eco_status read_rope_scaling(const eco_jr *root, eco_model_config *c) {
    c->rope_llama3 = false;
    c->rope_factor = 0;
    c->rope_low_freq_factor = 0;
    c->rope_high_freq_factor = 0;
    c->rope_original_max_pos = 0;
    const json_t *rs = NULL;
    eco_status rc = eco_jr_object(root, "rope_scaling", false, &rs);
    if (rc || !rs) return rc;
    eco_jr r = eco_jr_child(root, "rope_scaling", rs);
    const char *rt, *ty;
    if ((rc = read_str(&r, "rope_type", &rt)) || (rc = read_str(&r, "type", &ty))) return rc;
    const char *field = rt ? "rope_type" : "type";
    const char *type = rt ? rt : ty;
    if (!type) return eco_jr_fail(&r, "rope_type", ECO_STATUS_EFORMAT, "missing");
    if (rt && ty && strcmp(ty, rt) != 0)
        return eco_error(
            ECO_STATUS_EFORMAT,
            "%s: rope_scaling.rope_type '%.32s' and rope_scaling.type '%.32s' disagree", r.file, rt,
            ty);
    if (strcmp(type, "default") == 0) return ECO_STATUS_OK; /* transformers: no scaling */
    if (strcmp(type, "llama3") != 0)
        return eco_jr_fail(&r, field, ECO_STATUS_EUNSUPPORTED, "'%.32s' is not supported", type);
    if ((rc = read_pos_number(&r, "factor", true, 0, &c->rope_factor)) != ECO_STATUS_OK ||
        (rc = read_pos_number(&r, "low_freq_factor", true, 0, &c->rope_low_freq_factor)) !=
            ECO_STATUS_OK ||
        (rc = read_pos_number(&r, "high_freq_factor", true, 0, &c->rope_high_freq_factor)) !=
            ECO_STATUS_OK ||
        (rc = read_int(&r, "original_max_position_embeddings", true, 0, 1,
                       &c->rope_original_max_pos)) != ECO_STATUS_OK)
        return rc;
    c->rope_llama3 = true;
    return ECO_STATUS_OK;
}

static eco_status read_dtype(const eco_jr *r, eco_model_config *c) {
    const char *field = "torch_dtype";
    if (!eco_jr_opt(r, field)) field = "dtype"; /* what transformers >= 4.56 writes */
    c->torch_dtype = ECO_DTYPE_F32;
    const char *s;
    eco_status rc = read_str(r, field, &s);
    if (rc || !s) return rc;
    if (strcmp(s, "float32") == 0)
        c->torch_dtype = ECO_DTYPE_F32;
    else if (strcmp(s, "bfloat16") == 0)
        c->torch_dtype = ECO_DTYPE_BF16;
    else if (strcmp(s, "float16") == 0)
        c->torch_dtype = ECO_DTYPE_F16;
    else
        return eco_jr_fail(r, field, ECO_STATUS_EUNSUPPORTED,
                           "'%.32s' is not supported (float32, bfloat16, float16)", s);
    return ECO_STATUS_OK;
}

static eco_status read_tokens(const eco_jr *r, eco_model_config *c) {
    eco_status rc;
    c->bos_token_id = -1;
    if ((rc = read_int(r, "bos_token_id", false, -1, 0, &c->bos_token_id)) != ECO_STATUS_OK)
        return rc;
    c->n_eos = 0;
    const json_t *e = eco_jr_opt(r, "eos_token_id");
    if (!e) return ECO_STATUS_OK;
    if (!json_is_array(e)) {
        if ((rc = read_int(r, "eos_token_id", true, 0, 0, &c->eos_token_ids[0])) != ECO_STATUS_OK)
            return rc;
        c->n_eos = 1;
        return ECO_STATUS_OK;
    }
    size_t n = json_array_size(e);
    if (n > ECO_MAX_EOS)
        return eco_jr_fail(r, "eos_token_id", ECO_STATUS_EUNSUPPORTED,
                           "%zu ids, at most %d supported", n, ECO_MAX_EOS);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "eos_token_id[%zu]", i);
        if ((rc = eco_jr_int_value(r, name, json_array_get(e, i), 0, SIZE_LIMIT,
                                   &c->eos_token_ids[i])) != ECO_STATUS_OK)
            return rc;
    }
    c->n_eos = (int)n;
    return ECO_STATUS_OK;
}

/* Fields whose presence changes the computation in a way this engine does not implement. */
static eco_status check_unsupported(const eco_jr *r, eco_arch arch) {
    const char *act;
    eco_status rc = read_str(r, "hidden_act", &act);
    if (rc) return rc;
    if (act && strcmp(act, "silu") != 0)
        return eco_jr_fail(r, "hidden_act", ECO_STATUS_EUNSUPPORTED,
                           "'%.32s' is not supported (only 'silu')", act);
    bool mlp_bias = false;
    if ((rc = read_bool(r, "mlp_bias", false, &mlp_bias)) != ECO_STATUS_OK) return rc;
    if (mlp_bias)
        return eco_jr_fail(r, "mlp_bias", ECO_STATUS_EUNSUPPORTED, "true is not supported");
    if (arch == ECO_ARCH_QWEN2) {
        bool sw = false;
        if ((rc = read_bool(r, "use_sliding_window", false, &sw)) != ECO_STATUS_OK) return rc;
        if (sw)
            return eco_jr_fail(r, "use_sliding_window", ECO_STATUS_EUNSUPPORTED,
                               "sliding-window attention is not supported");
    }
    /* Mistral's sliding_window is accepted and ignored: engine contexts stay below it. */
    return ECO_STATUS_OK;
}

/* ---- validation -------------------------------------------------------------------- */

static bool mul3(int64_t a, int64_t b, int64_t c, int64_t *out) {
    int64_t t;
    return !__builtin_mul_overflow(a, b, &t) && !__builtin_mul_overflow(t, c, out);
}

/* Parameter count with overflow checks; false on overflow. */
static bool param_count(const eco_model_config *c, int64_t *out) {
    if (c->vocab_size <= 0 || c->hidden_size <= 0 || c->intermediate_size <= 0 ||
        c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 || c->head_dim <= 0)
        return false;
    int64_t V = c->vocab_size, d = c->hidden_size, f = c->intermediate_size, L = c->n_layers;
    int64_t H = c->n_heads, KV = c->n_kv_heads, hd = c->head_dim;
    int64_t embed, q, kv, o, mlp, layer = 0, total, t;
    if (__builtin_mul_overflow(V, d, &embed)) return false;
    if (!mul3(d, H, hd, &q) || !mul3(d, KV, hd, &kv) || !mul3(H, hd, d, &o) || !mul3(3, d, f, &mlp))
        return false;
    if (__builtin_add_overflow(layer, q, &layer) || __builtin_mul_overflow(kv, 2, &t) ||
        __builtin_add_overflow(layer, t, &layer) || __builtin_add_overflow(layer, o, &layer) ||
        __builtin_add_overflow(layer, mlp, &layer) || __builtin_mul_overflow(d, 2, &t) ||
        __builtin_add_overflow(layer, t, &layer))
        return false;
    if (c->qkv_bias) {
        int64_t qb, kb;
        if (__builtin_mul_overflow(H, hd, &qb) || !mul3(2, KV, hd, &kb) ||
            __builtin_add_overflow(layer, qb, &layer) || __builtin_add_overflow(layer, kb, &layer))
            return false;
    }
    if (c->o_bias && __builtin_add_overflow(layer, d, &layer)) return false;
    if (__builtin_mul_overflow(layer, L, &total) || __builtin_add_overflow(total, embed, &total) ||
        __builtin_add_overflow(total, d, &total))
        return false;
    if (!c->tie_word_embeddings && __builtin_add_overflow(total, embed, &total)) return false;
    *out = total;
    return true;
}

eco_status eco_config_validate(const eco_model_config *c, const char *label) {
    if (!label) label = "config";
    if (!c) return eco_error(ECO_STATUS_EINVAL, "%s: config is NULL", label);
    if ((unsigned)c->arch >= (unsigned)N_ARCH)
        return eco_error(ECO_STATUS_EINVAL, "%s: unknown architecture %d", label, (int)c->arch);
    if (strnlen(c->model_type, sizeof c->model_type) == sizeof c->model_type ||
        strcmp(c->model_type, arch_table[c->arch].model_type) != 0)
        return eco_error(ECO_STATUS_EINVAL, "%s: model_type does not match %s", label,
                         arch_table[c->arch].arch);
    const struct {
        const char *name;
        int64_t v;
    } sizes[] = {
        {"vocab_size", c->vocab_size},
        {"hidden_size", c->hidden_size},
        {"intermediate_size", c->intermediate_size},
        {"num_hidden_layers", c->n_layers},
        {"num_attention_heads", c->n_heads},
        {"num_key_value_heads", c->n_kv_heads},
        {"head_dim", c->head_dim},
        {"max_position_embeddings", c->max_position_embeddings},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (sizes[i].v <= 0)
            return eco_error(ECO_STATUS_EINVAL, "%s: %s: %lld is not positive", label,
                             sizes[i].name, (long long)sizes[i].v);
        if (sizes[i].v > SIZE_LIMIT)
            return eco_error(ECO_STATUS_ERANGE, "%s: %s: %lld is too large", label, sizes[i].name,
                             (long long)sizes[i].v);
    }
    if (c->n_kv_heads > c->n_heads || c->n_heads % c->n_kv_heads != 0)
        return eco_error(
            ECO_STATUS_EINVAL,
            "%s: num_attention_heads %lld is not a multiple of num_key_value_heads %lld", label,
            (long long)c->n_heads, (long long)c->n_kv_heads);
    if (c->head_dim % 2 != 0)
        return eco_error(ECO_STATUS_EINVAL, "%s: head_dim: %lld is odd (rotary needs pairs)", label,
                         (long long)c->head_dim);
    if (!(c->rms_norm_eps > 0) || !isfinite(c->rms_norm_eps))
        return eco_error(ECO_STATUS_EINVAL, "%s: rms_norm_eps: expected a positive number", label);
    if (!(c->rope_theta > 0) || !isfinite(c->rope_theta))
        return eco_error(ECO_STATUS_EINVAL, "%s: rope_theta: expected a positive number", label);
    if (c->rope_llama3) {
        if (!(c->rope_factor > 0) || !isfinite(c->rope_factor) || !(c->rope_low_freq_factor > 0) ||
            !isfinite(c->rope_high_freq_factor))
            return eco_error(ECO_STATUS_EINVAL,
                             "%s: rope_scaling: factors must be positive numbers", label);
        if (!(c->rope_high_freq_factor > c->rope_low_freq_factor))
            return eco_error(ECO_STATUS_EINVAL,
                             "%s: rope_scaling: high_freq_factor %g must exceed low_freq_factor %g",
                             label, c->rope_high_freq_factor, c->rope_low_freq_factor);
        if (c->rope_original_max_pos <= 0 || c->rope_original_max_pos > SIZE_LIMIT)
            return eco_error(ECO_STATUS_EINVAL,
                             "%s: rope_scaling.original_max_position_embeddings must be positive",
                             label);
    }
    if (c->arch == ECO_ARCH_QWEN2) {
        if (!c->qkv_bias || c->o_bias)
            return eco_error(ECO_STATUS_EINVAL, "%s: Qwen2ForCausalLM has q/k/v bias and no o bias",
                             label);
    } else if (c->qkv_bias != c->o_bias) {
        return eco_error(ECO_STATUS_EINVAL, "%s: %s has one attention_bias flag for q/k/v and o",
                         label, arch_table[c->arch].arch);
    }
    if (c->bos_token_id < -1 || c->bos_token_id >= c->vocab_size)
        return eco_error(ECO_STATUS_EINVAL,
                         "%s: bos_token_id: %lld is outside the vocabulary (vocab_size %lld)",
                         label, (long long)c->bos_token_id, (long long)c->vocab_size);
    if (c->n_eos < 0 || c->n_eos > ECO_MAX_EOS)
        return eco_error(ECO_STATUS_EINVAL, "%s: %d eos ids (at most %d)", label, c->n_eos,
                         ECO_MAX_EOS);
    for (int i = 0; i < c->n_eos; i++)
        if (c->eos_token_ids[i] < 0 || c->eos_token_ids[i] >= c->vocab_size)
            return eco_error(ECO_STATUS_EINVAL,
                             "%s: eos_token_id: %lld is outside the vocabulary (vocab_size %lld)",
                             label, (long long)c->eos_token_ids[i], (long long)c->vocab_size);
    if (c->torch_dtype != ECO_DTYPE_F32 && c->torch_dtype != ECO_DTYPE_BF16 &&
        c->torch_dtype != ECO_DTYPE_F16)
        return eco_error(ECO_STATUS_EINVAL, "%s: torch_dtype %s is not float32/bfloat16/float16",
                         label, eco_dtype_name(c->torch_dtype));
    /* Every tensor and the whole model, as f32 bytes, must be addressable. */
    int64_t n, bytes;
    if (!param_count(c, &n) || __builtin_mul_overflow(n, 4, &bytes) || (uint64_t)bytes > SIZE_MAX)
        return eco_error(ECO_STATUS_EOVERFLOW, "%s: the parameter count of these sizes overflows",
                         label);
    return ECO_STATUS_OK;
}

/* ---- parse / load -------------------------------------------------------------------- */

static eco_status parse_root(const eco_jr *r, eco_model_config *c) {
    eco_status rc;
    if ((rc = read_arch(r, c)) != ECO_STATUS_OK) return rc;
    if ((rc = read_int(r, "vocab_size", true, 0, 1, &c->vocab_size)) != ECO_STATUS_OK ||
        (rc = read_int(r, "hidden_size", true, 0, 1, &c->hidden_size)) != ECO_STATUS_OK ||
        (rc = read_int(r, "intermediate_size", true, 0, 1, &c->intermediate_size)) !=
            ECO_STATUS_OK ||
        (rc = read_int(r, "num_hidden_layers", true, 0, 1, &c->n_layers)) != ECO_STATUS_OK ||
        (rc = read_int(r, "num_attention_heads", true, 0, 1, &c->n_heads)) != ECO_STATUS_OK ||
        (rc = read_int(r, "num_key_value_heads", false, c->n_heads, 1, &c->n_kv_heads)) !=
            ECO_STATUS_OK ||
        (rc = read_int(r, "max_position_embeddings", false, arch_table[c->arch].default_max_pos, 1,
                       &c->max_position_embeddings)) != ECO_STATUS_OK)
        return rc;
    if (eco_jr_opt(r, "head_dim")) {
        if ((rc = read_int(r, "head_dim", true, 0, 1, &c->head_dim)) != ECO_STATUS_OK) return rc;
    } else {
        if (c->hidden_size % c->n_heads != 0)
            return eco_jr_fail(
                r, "head_dim", ECO_STATUS_EFORMAT,
                "absent and hidden_size %lld is not a multiple of num_attention_heads %lld",
                (long long)c->hidden_size, (long long)c->n_heads);
        c->head_dim = c->hidden_size / c->n_heads;
    }
    if ((rc = read_pos_number(r, "rms_norm_eps", false, 1e-6, &c->rms_norm_eps)) != ECO_STATUS_OK ||
        (rc = read_pos_number(r, "rope_theta", false, 10000.0, &c->rope_theta)) != ECO_STATUS_OK)
        return rc;
    if ((rc = read_rope_scaling(r, c)) != ECO_STATUS_OK) return rc;
    if ((rc = read_bool(r, "tie_word_embeddings", false, &c->tie_word_embeddings)) != ECO_STATUS_OK)
        return rc;
    bool attn_bias;
    if ((rc = read_bool(r, "attention_bias", false, &attn_bias)) != ECO_STATUS_OK) return rc;
    if (c->arch == ECO_ARCH_QWEN2) {
        c->qkv_bias = true; /* Qwen2Attention: q/k/v bias=True, o bias=False, always */
        c->o_bias = false;
    } else {
        c->qkv_bias = attn_bias;
        c->o_bias = attn_bias;
    }
    if ((rc = read_tokens(r, c)) != ECO_STATUS_OK) return rc;
    if ((rc = read_dtype(r, c)) != ECO_STATUS_OK) return rc;
    if ((rc = check_unsupported(r, c->arch)) != ECO_STATUS_OK) return rc;
    rc = eco_config_validate(c, r->file);
    /* Inconsistent values in a file are a format problem, not a caller's. */
    if (rc == ECO_STATUS_EINVAL) rc = ECO_STATUS_EFORMAT;
    return rc;
}

eco_status eco_config_parse(const char *json, size_t len, const char *label,
                            eco_model_config *out) {
    if (!label) label = "config.json";
    if (!out || (!json && len > 0))
        return eco_error(ECO_STATUS_EINVAL, "%s: eco_config_parse: NULL argument", label);
    json_error_t jerr;
    json_t *root = json_loadb(json ? json : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return eco_error(ECO_STATUS_EFORMAT, "%s: not valid JSON: %s (line %d, column %d)", label,
                         jerr.text, jerr.line, jerr.column);
    eco_status rc;
    if (!json_is_object(root)) {
        rc = eco_error(ECO_STATUS_EFORMAT, "%s: not a JSON object", label);
    } else {
        eco_model_config c;
        memset(&c, 0, sizeof c);
        eco_jr r = eco_jr_root(label, root);
        rc = parse_root(&r, &c);
        if (rc == ECO_STATUS_OK) *out = c;
    }
    json_decref(root);
    return rc;
}

static eco_status parse_doc(const char *text, size_t len, const char *label, void *out) {
    return eco_config_parse(text, len, label, out);
}

eco_status eco_config_load(const char *path, eco_model_config *out) {
    if (!path || !out) return eco_error(ECO_STATUS_EINVAL, "eco_config_load: NULL argument");
    if (eco_gguf_is_model_path(path)) { /* a llama-family .gguf: its keys (gguf.h) */
        eco_gguf *g;
        eco_status st = eco_gguf_open(path, &g);
        if (st) return st;
        st = eco_gguf_model_config(g, out);
        eco_gguf_close(g);
        return st;
    }
    return eco_json_load_doc(path, "config.json", CONFIG_MAX_BYTES, parse_doc, out);
}

/* ---- write ----------------------------------------------------------------------------- */

static const char *torch_dtype_name(eco_dtype t) {
    switch (t) {
        case ECO_DTYPE_BF16:
            return "bfloat16";
        case ECO_DTYPE_F16:
            return "float16";
        default:
            return "float32";
    }
}

eco_status eco_config_to_json(const eco_model_config *c, char **out, size_t *out_len) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "eco_config_to_json: NULL argument");
    *out = NULL;
    eco_status rc = eco_config_validate(c, "config");
    if (rc != ECO_STATUS_OK) return rc;
    json_t *o = json_object();
    if (!o) return eco_error(ECO_STATUS_ENOMEM, "config: out of memory");
    int bad = 0;
    json_t *archs = json_array();
    bad |= archs ? json_array_append_new(archs, json_string(eco_arch_name(c->arch))) : -1;
    bad |= json_object_set_new(o, "architectures", archs);
    bad |= json_object_set_new(o, "model_type", json_string(c->model_type));
    bad |= json_object_set_new(o, "vocab_size", json_integer(c->vocab_size));
    bad |= json_object_set_new(o, "hidden_size", json_integer(c->hidden_size));
    bad |= json_object_set_new(o, "intermediate_size", json_integer(c->intermediate_size));
    bad |= json_object_set_new(o, "num_hidden_layers", json_integer(c->n_layers));
    bad |= json_object_set_new(o, "num_attention_heads", json_integer(c->n_heads));
    bad |= json_object_set_new(o, "num_key_value_heads", json_integer(c->n_kv_heads));
    bad |= json_object_set_new(o, "head_dim", json_integer(c->head_dim));
    bad |=
        json_object_set_new(o, "max_position_embeddings", json_integer(c->max_position_embeddings));
    bad |= json_object_set_new(o, "rms_norm_eps", json_real(c->rms_norm_eps));
    bad |= json_object_set_new(o, "rope_theta", json_real(c->rope_theta));
    if (c->rope_llama3) {
        json_t *rs = json_object();
        if (rs) {
            bad |= json_object_set_new(rs, "rope_type", json_string("llama3"));
            bad |= json_object_set_new(rs, "factor", json_real(c->rope_factor));
            bad |= json_object_set_new(rs, "low_freq_factor", json_real(c->rope_low_freq_factor));
            bad |= json_object_set_new(rs, "high_freq_factor", json_real(c->rope_high_freq_factor));
            bad |= json_object_set_new(rs, "original_max_position_embeddings",
                                       json_integer(c->rope_original_max_pos));
        }
        bad |= json_object_set_new(o, "rope_scaling", rs);
    } else {
        bad |= json_object_set_new(o, "rope_scaling", json_null());
    }
    bad |= json_object_set_new(o, "tie_word_embeddings", json_boolean(c->tie_word_embeddings));
    bad |= json_object_set_new(o, "hidden_act", json_string("silu"));
    if (c->arch == ECO_ARCH_QWEN2) {
        bad |= json_object_set_new(o, "use_sliding_window", json_false());
    } else {
        bad |= json_object_set_new(o, "attention_bias", json_boolean(c->qkv_bias));
        if (c->arch == ECO_ARCH_LLAMA) bad |= json_object_set_new(o, "mlp_bias", json_false());
        /* Full attention, as this engine computes it. */
        if (c->arch == ECO_ARCH_MISTRAL)
            bad |= json_object_set_new(o, "sliding_window", json_null());
    }
    if (c->bos_token_id >= 0)
        bad |= json_object_set_new(o, "bos_token_id", json_integer(c->bos_token_id));
    if (c->n_eos == 1) {
        bad |= json_object_set_new(o, "eos_token_id", json_integer(c->eos_token_ids[0]));
    } else if (c->n_eos > 1) {
        json_t *e = json_array();
        for (int i = 0; e && i < c->n_eos; i++)
            bad |= json_array_append_new(e, json_integer(c->eos_token_ids[i]));
        bad |= json_object_set_new(o, "eos_token_id", e);
    }
    bad |= json_object_set_new(o, "torch_dtype", json_string(torch_dtype_name(c->torch_dtype)));
    bad |= json_object_set_new(o, "use_cache", json_true());
    /* The shortest precision that prints every real exactly ("1e-06", not
     * "9.9999999999999995e-07"): jansson takes one precision for the whole document. */
    int prec = eco_json_real_digits(c->rms_norm_eps);
    const double reals[] = {c->rope_theta, c->rope_factor, c->rope_low_freq_factor,
                            c->rope_high_freq_factor};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        int p = eco_json_real_digits(reals[i]);
        if (p > prec) prec = p;
    }
    /* A trailing newline, as transformers writes. */
    eco_status st =
        bad ? eco_error(ECO_STATUS_ENOMEM, "config: out of memory serialising")
            : eco_json_dumps_line(o, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(prec),
                                  "config", out, out_len);
    json_decref(o);
    return st;
}

eco_status eco_config_write(const char *path, const eco_model_config *cfg) {
    if (!path || !cfg) return eco_error(ECO_STATUS_EINVAL, "eco_config_write: NULL argument");
    char *text = NULL;
    size_t len = 0;
    eco_status rc = eco_config_to_json(cfg, &text, &len);
    return eco_json_write_doc(path, "config.json", rc, text, len);
}

/* -1 when the config is not valid or its count would overflow. */
int64_t eco_config_param_count(const eco_model_config *cfg) {
    int64_t n;
    if (!cfg || !param_count(cfg, &n)) return -1;
    return n;
}

eco_status eco_config_check_context(const eco_model_config *cfg, int64_t n_positions,
                                    const char *what_fmt, ...) {
    if (!cfg || !what_fmt) return eco_error(ECO_STATUS_EINVAL, "context check: NULL argument");
    if (n_positions <= cfg->max_position_embeddings) return ECO_STATUS_OK;
    char what[256];
    va_list ap;
    va_start(ap, what_fmt);
    vsnprintf(what, sizeof what, what_fmt, ap);
    va_end(ap);
    return eco_error(ECO_STATUS_ERANGE,
                     "%s: %lld positions exceed the model's context of %lld "
                     "(max_position_embeddings in config.json)",
                     what, (long long)n_positions, (long long)cfg->max_position_embeddings);
}
