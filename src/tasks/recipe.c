/*
 * Training recipes: a JSON file that says which model (or LoRA adapter) to build, from which
 * data, with which hyper-parameters (format in include/ecology/recipe.h). The parser is hostile-input
 * code: duplicate and unknown keys, wrong types and values out of range are refused with
 * the field named; paths are resolved against the recipe's folder.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/model.h"
#include "ecology/tasks.h"
#include "ecology/tokenizer.h"
#include "ecology/recipe.h"
#include "core/json_read.h"

#define RECIPE_MAX_BYTES ((size_t)1 << 20)
#define TEXT_MAX_BYTES   ((size_t)256 << 20)

/* ---- fields, read with the core reader (core/json_read.h) ------------------------------- */

/* An integer in [lo, hi]; absent: def when not required. */
static eco_status get_int(const eco_jr *r, const char *key, bool required, int64_t lo, int64_t hi,
                          int64_t def, int64_t *out) {
    *out = def;
    return eco_jr_int(r, key, required, lo, hi, out);
}

/* A number in [lo, hi] ((lo, hi] when lo_open); absent: def when not required. */
static eco_status get_num(const eco_jr *r, const char *key, bool required, double lo, double hi,
                          bool lo_open, double def, double *out) {
    *out = def;
    eco_status st = eco_jr_num(r, key, required, lo, hi, out);
    if (!st && lo_open && *out == lo)
        return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "%g outside (%g, %g]", *out, lo, hi);
    return st;
}

/* A non-empty string without NUL bytes (borrowed); absent: NULL when not required. */
static eco_status get_str(const eco_jr *r, const char *key, bool required, const char **out) {
    *out = NULL;
    eco_status st = eco_jr_str(r, key, required, false, out, NULL);
    if (!st && *out && !**out) return eco_jr_fail(r, key, ECO_STATUS_EFORMAT, "empty");
    return st;
}

static char *resolve(const char *base_dir, const char *p) {
    if (p[0] == '/' || !base_dir || !*base_dir) return eco_strdup(p);
    return eco_path_join(base_dir, p);
}

void eco_recipe_free(eco_recipe *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_sources; i++) free(r->sources[i].path);
    free(r->out);
    free(r->path);
    free(r->base_model);
    free(r->tokenizer_path);
    free(r);
}

static eco_status parse_base(const eco_jr *root, const json_t *b, eco_recipe *r) {
    static const char *const keys[] = {"preset",
                                       "hidden_size",
                                       "intermediate_size",
                                       "num_hidden_layers",
                                       "num_attention_heads",
                                       "num_key_value_heads",
                                       "head_dim",
                                       "max_position_embeddings",
                                       "rope_theta",
                                       "rms_norm_eps",
                                       "tie_word_embeddings",
                                       "init_std",
                                       NULL};
    eco_jr rb = eco_jr_child(root, "base", b);
    eco_status st = eco_jr_only(&rb, keys);
    if (st) return st;
    const char *preset;
    if ((st = get_str(&rb, "preset", true, &preset))) return st;
    if (strlen(preset) >= sizeof r->preset)
        return eco_jr_fail(&rb, "preset", ECO_STATUS_EFORMAT, "too long");
    if (eco_model_preset_config(preset, &r->config) != ECO_STATUS_OK)
        return eco_jr_fail(&rb, "preset", ECO_STATUS_EFORMAT, "%s", eco_last_error());
    snprintf(r->preset, sizeof r->preset, "%s", preset);
    eco_model_config *c = &r->config;
    const int64_t big = 1 << 16;
    int64_t heads_before = c->n_heads, hidden_before = c->hidden_size, hd;
    if ((st = get_int(&rb, "hidden_size", false, 1, big, c->hidden_size, &c->hidden_size)) ||
        (st = get_int(&rb, "intermediate_size", false, 1, 4 * big, c->intermediate_size,
                      &c->intermediate_size)) ||
        (st = get_int(&rb, "num_hidden_layers", false, 1, 1024, c->n_layers, &c->n_layers)) ||
        (st = get_int(&rb, "num_attention_heads", false, 1, 1024, c->n_heads, &c->n_heads)) ||
        (st = get_int(&rb, "num_key_value_heads", false, 1, 1024,
                      json_object_get(b, "num_attention_heads") ? c->n_heads : c->n_kv_heads,
                      &c->n_kv_heads)) ||
        (st = get_int(&rb, "max_position_embeddings", false, 1, 1 << 20, c->max_position_embeddings,
                      &c->max_position_embeddings)) ||
        (st = get_num(&rb, "rope_theta", false, 0, 1e12, true, c->rope_theta, &c->rope_theta)) ||
        (st = get_num(&rb, "rms_norm_eps", false, 0, 1, true, c->rms_norm_eps, &c->rms_norm_eps)) ||
        (st = get_num(&rb, "init_std", false, 0, 1, true, 0.02, &r->init_std)))
        return st;
    int64_t def_hd = (c->hidden_size != hidden_before || c->n_heads != heads_before)
                         ? c->hidden_size / c->n_heads
                         : c->head_dim;
    if ((st = get_int(&rb, "head_dim", false, 2, 1024, def_hd, &hd))) return st;
    c->head_dim = hd;
    if ((st = eco_jr_bool(&rb, "tie_word_embeddings", false, &c->tie_word_embeddings))) return st;
    if (c->n_heads % c->n_kv_heads != 0)
        return eco_jr_fail(&rb, "num_key_value_heads", ECO_STATUS_EFORMAT,
                           "%lld does not divide num_attention_heads %lld",
                           (long long)c->n_kv_heads, (long long)c->n_heads);
    if (c->head_dim % 2 != 0 || c->head_dim < 2)
        return eco_jr_fail(&rb, "head_dim", ECO_STATUS_EFORMAT, "%lld is not even",
                           (long long)c->head_dim);
    return ECO_STATUS_OK;
}

/* lora: "base": {"model": folder}. */
static eco_status parse_base_model(const eco_jr *root, const json_t *b, const char *base_dir,
                                   eco_recipe *r) {
    static const char *const keys[] = {"model", NULL};
    eco_jr rb = eco_jr_child(root, "base", b);
    eco_status st = eco_jr_only(&rb, keys);
    const char *m;
    if (st || (st = get_str(&rb, "model", true, &m))) return st;
    if (!(r->base_model = resolve(base_dir, m)))
        return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    /* base_model_name_or_path: the folder's last component, as written */
    size_t n = strlen(m);
    while (n > 1 && m[n - 1] == '/') n--;
    size_t start = n;
    while (start > 0 && m[start - 1] != '/') start--;
    if (n - start >= sizeof r->lora.base_model_name_or_path)
        return eco_jr_fail(&rb, "model", ECO_STATUS_EFORMAT, "too long");
    memcpy(r->lora.base_model_name_or_path, m + start, n - start);
    r->lora.base_model_name_or_path[n - start] = 0;
    return ECO_STATUS_OK;
}

/* lora: "lora": {"r", "alpha", "targets", "dropout", "rslora"}. */
static eco_status parse_lora(const eco_jr *root, eco_recipe *r) {
    static const char *const keys[] = {"r", "alpha", "targets", "dropout", "rslora", NULL};
    static const char *const short_names[ECO_LORA__COUNT] = {"q",    "k",  "v",   "o",
                                                             "gate", "up", "down"};
    const json_t *l;
    eco_status st = eco_jr_need(root, "lora", &l);
    if (st) return st;
    eco_jr rl = eco_jr_child(root, "lora", l);
    if ((st = eco_jr_only(&rl, keys))) return st;
    eco_peft_config *c = &r->lora;
    if ((st = get_int(&rl, "r", false, 1, 65536, 8, &c->r)) ||
        (st = get_num(&rl, "alpha", false, 0, 1e6, true, 16, &c->lora_alpha)) ||
        (st = get_num(&rl, "dropout", false, 0, 0.999, false, 0, &c->lora_dropout)))
        return st;
    if ((st = eco_jr_bool(&rl, "rslora", false, &c->use_rslora))) return st;
    const json_t *t;
    if ((st = eco_jr_array(&rl, "targets", true, &t))) return st;
    if (json_array_size(t) == 0 || json_array_size(t) > ECO_LORA__COUNT)
        return eco_jr_fail(&rl, "targets", ECO_STATUS_EFORMAT, "expected an array of 1 to %d names",
                           ECO_LORA__COUNT);
    for (size_t i = 0; i < json_array_size(t); i++) {
        char f[32];
        snprintf(f, sizeof f, "targets[%zu]", i);
        const char *name;
        if ((st = eco_jr_str_value(&rl, f, json_array_get(t, i), false, &name, NULL))) return st;
        int found = -1;
        for (int k = 0; k < ECO_LORA__COUNT && found < 0; k++)
            if (strcmp(name, short_names[k]) == 0 ||
                strcmp(name, eco_lora_target_name((eco_lora_target)k)) == 0)
                found = k;
        if (found < 0)
            return eco_jr_fail(&rl, f, ECO_STATUS_EFORMAT,
                               "'%.64s' is not one of q, k, v, o, gate, up, down", name);
        if (c->targets[found])
            return eco_jr_fail(&rl, f, ECO_STATUS_EFORMAT, "'%s' named twice", name);
        c->targets[found] = true;
    }
    return ECO_STATUS_OK;
}

static eco_status parse_source(const eco_jr *root, const json_t *s, size_t i, const char *base_dir,
                               eco_recipe_kind kind, eco_recipe_source *src) {
    static const char *const text_keys[] = {"path", "weight", "chunk_bytes", NULL};
    static const char *const cap_keys[] = {"capability", "n", "seed", "augment", NULL};
    static const char *const drill_keys[] = {"drill", "n", "seed", NULL};
    eco_jr rs = eco_jr_item(root, "data", i, s);
    if (!json_is_object(s)) return eco_jr_fail(&rs, NULL, ECO_STATUS_EFORMAT, "expected an object");
    bool is_text = json_object_get(s, "path") != NULL,
         is_cap = json_object_get(s, "capability") != NULL,
         is_drill = json_object_get(s, "drill") != NULL;
    if (is_text + is_cap + is_drill != 1)
        return eco_jr_fail(&rs, NULL, ECO_STATUS_EFORMAT,
                           "expected exactly one of \"path\", \"capability\" and \"drill\"");
    if ((is_text || is_drill) && kind == ECO_RECIPE_LORA)
        return eco_jr_fail(&rs, is_text ? "path" : "drill", ECO_STATUS_EFORMAT,
                           "a lora recipe takes capabilities only");
    eco_status st = eco_jr_only(&rs, is_text ? text_keys : is_cap ? cap_keys : drill_keys);
    if (st) return st;
    if (is_text) {
        const char *p;
        if ((st = get_str(&rs, "path", true, &p)) ||
            (st = get_num(&rs, "weight", false, 0, 100, true, 1.0, &src->weight)) ||
            (st = get_int(&rs, "chunk_bytes", false, 16, 1 << 20, 1024, &src->chunk_bytes)))
            return st;
        src->path = resolve(base_dir, p);
        if (!src->path) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
        return ECO_STATUS_OK;
    }
    const char *name, *which = is_cap ? "capability" : "drill";
    int64_t seed;
    if ((st = get_str(&rs, which, true, &name)) ||
        (st = get_int(&rs, "n", true, 1, (int64_t)ECO_TASKS_MAX_N, 0, &src->n)) ||
        (st = get_int(&rs, "seed", false, 0, INT64_MAX, 0, &seed)))
        return st;
    src->seed = (uint64_t)seed;
    if (is_drill) {
        if (!eco_drill_known(name))
            return eco_jr_fail(&rs, which, ECO_STATUS_EFORMAT, "unknown drill '%.64s'", name);
        snprintf(src->drill, sizeof src->drill, "%s", name);
        return ECO_STATUS_OK;
    }
    const eco_capability *cap;
    if (eco_tasks_find(name, &cap) != ECO_STATUS_OK)
        return eco_jr_fail(&rs, which, ECO_STATUS_EFORMAT, "unknown capability '%.64s'", name);
    snprintf(src->capability, sizeof src->capability, "%s", cap->name);
    const json_t *a = NULL;
    if ((st = eco_jr_object(&rs, "augment", false, &a)) || !a) return st;
    static const char *const aug_keys[] = {"word_dropout", "join", NULL};
    eco_jr ra = eco_jr_child(&rs, "augment", a);
    if ((st = eco_jr_only(&ra, aug_keys)) ||
        (st = get_num(&ra, "word_dropout", false, 0, 0.9, false, 0, &src->augment.word_dropout)) ||
        (st = get_num(&ra, "join", false, 0, 1, false, 0, &src->augment.join)))
        return st;
    if (!cap->text_prefix)
        return eco_jr_fail(
            &ra, NULL, ECO_STATUS_EFORMAT,
            "%s is not built on free text (only the sentiment capabilities take augmentation)",
            cap->name);
    src->augmented = true;
    return ECO_STATUS_OK;
}

/* pretrain: "tokenizer": {"path", "sha256", "bos", "eos"}: a tokenizer.json file whose
 * SHA-256 must match, and its BOS/EOS tokens (specials). */
static eco_status parse_tokenizer_file(const eco_jr *root, const json_t *t, const char *base_dir,
                                       eco_recipe *r) {
    static const char *const keys[] = {"path", "sha256", "bos", "eos", NULL};
    eco_jr rt = eco_jr_child(root, "tokenizer", t);
    eco_status st = eco_jr_only(&rt, keys);
    const char *p, *want, *bos = "<|bos|>", *eos = "<|eos|>";
    if (st || (st = get_str(&rt, "path", true, &p)) || (st = get_str(&rt, "sha256", true, &want)))
        return st;
    if ((st = get_str(&rt, "bos", false, &bos)) || (st = get_str(&rt, "eos", false, &eos)))
        return st;
    if (!bos) bos = "<|bos|>";
    if (!eos) eos = "<|eos|>";
    if (strlen(want) != ECO_SHA256_HEX_LEN || strspn(want, "0123456789abcdef") != strlen(want))
        return eco_jr_fail(&rt, "sha256", ECO_STATUS_EFORMAT,
                           "expected 64 lower-case hexadecimal digits");
    if (!(r->tokenizer_path = resolve(base_dir, p)))
        return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    char got[ECO_SHA256_HEX_LEN + 1];
    if ((st = eco_sha256_file_hex(r->tokenizer_path, got)))
        return eco_jr_fail(&rt, "path", st, "%s", eco_last_error());
    if (strcmp(got, want) != 0)
        return eco_jr_fail(&rt, "sha256", ECO_STATUS_EFORMAT, "%s has SHA-256 %s, not %s",
                           r->tokenizer_path, got, want);
    memcpy(r->tokenizer_sha256, got, sizeof got);
    eco_tokenizer *tok;
    if ((st = eco_tokenizer_load(r->tokenizer_path, &tok)))
        return eco_jr_fail(&rt, "path", st, "%s", eco_last_error());
    int32_t bos_id = eco_tokenizer_token_id(tok, bos), eos_id = eco_tokenizer_token_id(tok, eos);
    int64_t vocab = eco_tokenizer_vocab_size(tok);
    bool bos_special = bos_id >= 0 && eco_tokenizer_is_special(tok, bos_id),
         eos_special = eos_id >= 0 && eco_tokenizer_is_special(tok, eos_id);
    eco_tokenizer_free(tok);
    if (!bos_special)
        return eco_jr_fail(&rt, "bos", ECO_STATUS_EFORMAT, "'%.64s' is not a special token of %s",
                           bos, r->tokenizer_path);
    if (!eos_special)
        return eco_jr_fail(&rt, "eos", ECO_STATUS_EFORMAT, "'%.64s' is not a special token of %s",
                           eos, r->tokenizer_path);
    r->config.vocab_size = vocab;
    r->config.bos_token_id = bos_id;
    r->config.eos_token_ids[0] = eos_id;
    return ECO_STATUS_OK;
}

/* pretrain: "base" (preset + overrides) and "tokenizer" into r->config. */
static eco_status parse_pretrain_base(const eco_jr *root, const json_t *base, const char *base_dir,
                                      eco_recipe *r) {
    eco_status st;
    if ((st = parse_base(root, base, r))) return st;
    const json_t *t = json_object_get(root->obj, "tokenizer");
    if (json_is_object(t)) {
        if ((st = parse_tokenizer_file(root, t, base_dir, r))) return st;
    } else {
        const char *tokname;
        if ((st = get_str(root, "tokenizer", true, &tokname))) return st;
        if (strcmp(tokname, "bytes") != 0)
            return eco_jr_fail(root, "tokenizer", ECO_STATUS_EFORMAT,
                               "'%.64s' is not supported (\"bytes\", or an object {\"path\", "
                               "\"sha256\"})",
                               tokname);
        r->config.vocab_size = ECO_BYTE_TOKENIZER_VOCAB;
        r->config.bos_token_id = ECO_BYTE_TOKENIZER_BOS;
        r->config.eos_token_ids[0] = ECO_BYTE_TOKENIZER_EOS;
    }
    r->config.n_eos = 1;
    r->config.torch_dtype = ECO_DTYPE_F32;
    if ((st = eco_config_validate(&r->config, root->file)))
        return eco_jr_fail(root, "base", ECO_STATUS_EFORMAT, "%s", eco_last_error());
    return ECO_STATUS_OK;
}

eco_status eco_recipe_parse(const char *json, size_t len, const char *label, const char *base_dir,
                            eco_recipe **out) {
    static const char *const keys[] = {"name",     "kind",         "base", "tokenizer",    "data",
                                       "steps",    "batch",        "seq",  "accum",        "lr",
                                       "warmup",   "weight_decay", "clip", "min_lr_ratio", "seed",
                                       "doc_mask", "out",          NULL};
    static const char *const lora_keys[] = {
        "name",  "kind",         "base",  "lora",     "data",   "steps",
        "batch", "seq",          "accum", "lr",       "warmup", "weight_decay",
        "clip",  "min_lr_ratio", "seed",  "doc_mask", "out",    NULL};
    if (!json || !out) return eco_error(ECO_STATUS_EINVAL, "recipe: NULL argument");
    *out = NULL;
    if (!label) label = "recipe";
    if (len > RECIPE_MAX_BYTES)
        return eco_error(ECO_STATUS_ERANGE, "%s: %zu bytes, more than a recipe may hold", label,
                         len);
    json_error_t err;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) return eco_error(ECO_STATUS_EFORMAT, "%s: line %d: %s", label, err.line, err.text);
    eco_recipe *r = calloc(1, sizeof *r);
    eco_status st = ECO_STATUS_OK;
    eco_jr rr = eco_jr_root(label, root);
    if (!r) {
        st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
        goto done;
    }
    if (!json_is_object(root)) {
        st = eco_jr_fail(&rr, NULL, ECO_STATUS_EFORMAT, "(root): expected an object");
        goto done;
    }
    const char *name, *outp, *kind;
    if ((st = get_str(&rr, "kind", false, &kind))) goto done;
    if (kind && strcmp(kind, "lora") == 0) {
        r->kind = ECO_RECIPE_LORA;
    } else if (kind && strcmp(kind, "pretrain") != 0) {
        st = eco_jr_fail(&rr, "kind", ECO_STATUS_EFORMAT, "'%.64s' is not \"pretrain\" or \"lora\"",
                         kind);
        goto done;
    }
    if ((st = eco_jr_only(&rr, r->kind == ECO_RECIPE_LORA ? lora_keys : keys))) goto done;
    if ((st = get_str(&rr, "name", true, &name))) goto done;
    if (strlen(name) >= sizeof r->name) {
        st = eco_jr_fail(&rr, "name", ECO_STATUS_EFORMAT, "longer than %zu bytes",
                         sizeof r->name - 1);
        goto done;
    }
    snprintf(r->name, sizeof r->name, "%s", name);
    const json_t *base, *data;
    if ((st = eco_jr_object(&rr, "base", true, &base))) goto done;
    if (r->kind == ECO_RECIPE_LORA) {
        eco_peft_config_init(&r->lora);
        if ((st = parse_base_model(&rr, base, base_dir, r)) || (st = parse_lora(&rr, r))) goto done;
    } else if ((st = parse_pretrain_base(&rr, base, base_dir, r))) {
        goto done;
    }
    if ((st = eco_jr_array(&rr, "data", true, &data))) goto done;
    if (json_array_size(data) == 0 || json_array_size(data) > ECO_RECIPE_MAX_SOURCES) {
        st = eco_jr_fail(&rr, "data", ECO_STATUS_EFORMAT, "expected an array of 1 to %d sources",
                         ECO_RECIPE_MAX_SOURCES);
        goto done;
    }
    for (size_t i = 0; i < json_array_size(data); i++) {
        r->n_sources = i + 1;
        if ((st = parse_source(&rr, json_array_get(data, i), i, base_dir, r->kind, &r->sources[i])))
            goto done;
    }
    int64_t seed;
    if ((st = get_int(&rr, "steps", true, 1, 100000000, 0, &r->steps)) ||
        (st = get_int(&rr, "batch", true, 1, 65536, 0, &r->batch)) ||
        (st = get_int(&rr, "seq", true, 1,
                      r->kind == ECO_RECIPE_LORA ? (int64_t)1 << 20
                                                 : r->config.max_position_embeddings,
                      0, &r->seq)) ||
        (st = get_int(&rr, "accum", false, 1, 65536, 1, &r->accum)) ||
        (st = get_int(&rr, "warmup", false, 0, r->steps, 0, &r->warmup)) ||
        (st = get_int(&rr, "seed", true, 0, INT64_MAX, 0, &seed)) ||
        (st = get_num(&rr, "lr", true, 0, 10, true, 0, &r->lr)) ||
        (st = get_num(&rr, "weight_decay", false, 0, 10, false, 0.1, &r->weight_decay)) ||
        (st = get_num(&rr, "clip", false, 0, 1e6, false, 1.0, &r->clip)) ||
        (st = get_num(&rr, "min_lr_ratio", false, 0, 1, false, 0.1, &r->min_lr_ratio)) ||
        (st = eco_jr_bool(&rr, "doc_mask", false, &r->doc_mask)) ||
        (st = get_str(&rr, "out", false, &outp)))
        goto done;
    r->seed = (uint64_t)seed;
    if (outp && !(r->out = resolve(base_dir, outp)))
        st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
done:
    json_decref(root);
    if (st) {
        eco_recipe_free(r);
        return st;
    }
    *out = r;
    return ECO_STATUS_OK;
}

eco_status eco_recipe_load(const char *path, eco_recipe **out) {
    if (!path || !out) return eco_error(ECO_STATUS_EINVAL, "recipe: NULL argument");
    char *text;
    size_t len;
    eco_status st = eco_read_file(path, RECIPE_MAX_BYTES, &text, &len);
    if (st) return st;
    char *dir = eco_strdup(path);
    if (!dir) {
        free(text);
        return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        dir[0] = 0;
    st = eco_recipe_parse(text, len, path, slash ? (*dir ? dir : "/") : NULL, out);
    free(text);
    free(dir);
    if (!st && !((*out)->path = eco_strdup(path))) {
        eco_recipe_free(*out);
        *out = NULL;
        st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
    }
    return st;
}

/* ---- the corpus ---------------------------------------------------------------------- */

/* Appends obj as one canonical JSON line and releases it. */
static eco_status add_json_line(eco_buf *out, json_t *obj) {
    char *line;
    size_t len;
    eco_status st = eco_json_canonical(obj, &line, &len);
    json_decref(obj);
    if (st) return st;
    bool ok = eco_buf_append(out, line, len) && eco_buf_append(out, "\n", 1);
    free(line);
    return ok ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "out of memory");
}

/* Appends {"text": s} canonically and a newline. */
static eco_status add_record(eco_buf *out, const char *s, size_t n, const char *label) {
    json_t *str = json_stringn(s, n);
    if (!str) return eco_error(ECO_STATUS_EFORMAT, "%s: text is not valid UTF-8", label);
    json_t *obj = json_object();
    if (!obj || json_object_set_new(obj, "text", str)) {
        json_decref(obj);
        return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    }
    return add_json_line(out, obj);
}

/* Whether byte i starts a UTF-8 character. */
static bool utf8_start(const char *s, size_t i) { return ((unsigned char)s[i] & 0xC0) != 0x80; }

/* Cuts text into chunks (start, len) of at most max bytes at blank lines, or within a long
 * paragraph at the last newline or space (else at a character boundary). */
typedef struct span {
    size_t start, len;
} span;

static eco_status chunk_text(const char *t, size_t n, size_t max, span **out, size_t *n_out) {
    size_t cap = 64, k = 0;
    span *v = malloc(cap * sizeof *v);
    if (!v) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    size_t i = 0;
    while (i < n) {
        while (i < n && (t[i] == '\n' || t[i] == ' ' || t[i] == '\t'))
            i++; /* skip blank space between chunks */
        if (i >= n) break;
        size_t end = i, last_para = 0;
        /* grow to the furthest paragraph end (a "\n\n") within max */
        for (size_t j = i; j < n && j - i < max; j++) {
            if (t[j] == '\n' && j + 1 < n && t[j + 1] == '\n') last_para = j;
        }
        if (n - i <= max) {
            end = n;
        } else if (last_para > i) {
            end = last_para;
        } else {
            size_t j = i + max;
            while (j > i && t[j] != '\n' && t[j] != ' ') j--;
            if (j == i) {
                j = i + max;
                while (j > i && !utf8_start(t, j)) j--;
                if (j == i) j = i + max;
            }
            end = j;
        }
        while (end > i && (t[end - 1] == '\n' || t[end - 1] == ' ')) end--;
        if (end > i) {
            if (k == cap) {
                span *w = realloc(v, 2 * cap * sizeof *v);
                if (!w) {
                    free(v);
                    return eco_error(ECO_STATUS_ENOMEM, "out of memory");
                }
                v = w;
                cap *= 2;
            }
            v[k].start = i;
            v[k++].len = end - i;
        }
        i = end > i ? end : i + 1;
    }
    *out = v;
    *n_out = k;
    return ECO_STATUS_OK;
}

static eco_status add_text_source(eco_buf *out, const eco_recipe_source *s, size_t *n_records) {
    char *raw;
    size_t len;
    eco_status st = eco_read_file(s->path, TEXT_MAX_BYTES, &raw, &len);
    if (st) return st;
    size_t w = 0; /* "\r\n" → "\n" */
    for (size_t i = 0; i < len; i++)
        if (!(raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n')) raw[w++] = raw[i];
    len = w;
    span *sp = NULL;
    size_t n_sp = 0;
    if ((st = chunk_text(raw, len, (size_t)s->chunk_bytes, &sp, &n_sp))) goto done;
    if (n_sp == 0) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: no text", s->path);
        goto done;
    }
    size_t copies = (size_t)floor(s->weight);
    size_t extra = (size_t)llround((s->weight - (double)copies) * (double)n_sp);
    if (copies == 0 && extra == 0) extra = 1;
    for (size_t c = 0; c <= copies && !st; c++) {
        size_t take = c < copies ? n_sp : extra;
        for (size_t i = 0; i < take && !st; i++) {
            st = add_record(out, raw + sp[i].start, sp[i].len, s->path);
            (*n_records)++;
        }
    }
done:
    free(sp);
    free(raw);
    return st;
}

/* Appends {"prompt": p, "completion": c} canonically and a newline. */
static eco_status add_pc_record(eco_buf *out, const char *p, const char *c, const char *label) {
    json_t *obj = json_object();
    json_t *jp = json_string(p), *jc = json_string(c);
    if (!jp || !jc) {
        json_decref(jp), json_decref(jc), json_decref(obj);
        return eco_error(ECO_STATUS_EFORMAT, "%s: item is not valid UTF-8", label);
    }
    if (!obj || json_object_set_new(obj, "prompt", jp) ||
        json_object_set_new(obj, "completion", jc)) {
        json_decref(obj);
        return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    }
    return add_json_line(out, obj);
}

/* Capability items of the TRAIN split: prompt + completion as one text (pretrain), or as
 * {"prompt", "completion"} records (pc). */
static eco_status add_capability_source(eco_buf *out, const eco_recipe_source *s, bool pc,
                                        size_t *n_records) {
    const eco_capability *cap;
    eco_status st = eco_tasks_find(s->capability, &cap);
    if (st) return st;
    eco_task_item *items;
    if ((st = eco_tasks_generate(cap, ECO_TASK_SPLIT_TRAIN, (size_t)s->n, s->seed, &items)))
        return st;
    /* its own stream: the generator's draws stay what they were without augmentation */
    if (s->augmented && (st = eco_tasks_augment(cap, items, (size_t)s->n, &s->augment,
                                                s->seed ^ 0x6175676d656e74ULL))) {
        eco_task_items_free(items, (size_t)s->n);
        return st;
    }
    eco_buf t = {0};
    for (size_t i = 0; i < (size_t)s->n && !st; i++) {
        if (pc) {
            st = add_pc_record(out, items[i].prompt, items[i].completion, s->capability);
            (*n_records)++;
            continue;
        }
        t.len = 0;
        if (!eco_buf_append(&t, items[i].prompt, strlen(items[i].prompt)) ||
            !eco_buf_append(&t, items[i].completion, strlen(items[i].completion))) {
            st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
            break;
        }
        st = add_record(out, t.data, t.len, s->capability);
        (*n_records)++;
    }
    eco_buf_free(&t);
    eco_task_items_free(items, (size_t)s->n);
    return st;
}

/* Drill texts, one record each. */
static eco_status add_drill_source(eco_buf *out, const eco_recipe_source *s, size_t *n_records) {
    char **texts;
    eco_status st = eco_drills_generate(s->drill, (size_t)s->n, s->seed, &texts);
    if (st) return st;
    for (size_t i = 0; i < (size_t)s->n && !st; i++) {
        st = add_record(out, texts[i], strlen(texts[i]), s->drill);
        (*n_records)++;
    }
    eco_drill_texts_free(texts, (size_t)s->n);
    return st;
}

eco_status eco_recipe_build_corpus(const eco_recipe *r, const char *jsonl_path, size_t *n_records) {
    if (!r || !jsonl_path) return eco_error(ECO_STATUS_EINVAL, "recipe corpus: NULL argument");
    eco_buf out = {0};
    size_t n = 0;
    eco_status st = ECO_STATUS_OK;
    for (size_t i = 0; i < r->n_sources && !st; i++)
        st = r->sources[i].path ? add_text_source(&out, &r->sources[i], &n)
             : r->sources[i].drill[0]
                 ? add_drill_source(&out, &r->sources[i], &n)
                 : add_capability_source(&out, &r->sources[i], r->kind == ECO_RECIPE_LORA, &n);
    if (!st) st = eco_write_file_atomic(jsonl_path, out.data ? out.data : "", out.len);
    eco_buf_free(&out);
    if (!st && n_records) *n_records = n;
    return st;
}

/* The random model's folder gets the recipe's tokenizer.json (its SHA-256 checked again, as
 * the file may have changed since parsing) and a config.json with its BOS and EOS (the random
 * model is written with the byte tokenizer's). */
static eco_status install_tokenizer(const eco_recipe *r, const char *init) {
    char *text = NULL, *to = eco_path_join(init, "tokenizer.json"),
         *cfg = eco_path_join(init, "config.json");
    size_t len;
    eco_status st = (!to || !cfg) ? eco_error(ECO_STATUS_ENOMEM, "out of memory")
                                  : eco_read_file(r->tokenizer_path, (size_t)1 << 30, &text, &len);
    char got[ECO_SHA256_HEX_LEN + 1];
    if (!st) st = eco_sha256_hex(text, len, got);
    if (!st && strcmp(got, r->tokenizer_sha256) != 0)
        st = eco_error(ECO_STATUS_EFORMAT,
                       "recipe: %s changed since the recipe was read (SHA-256 %s, not %s)",
                       r->tokenizer_path, got, r->tokenizer_sha256);
    if (!st) st = eco_write_file_atomic(to, text, len);
    if (!st) st = eco_config_write(cfg, &r->config);
    free(text);
    free(to);
    free(cfg);
    return st;
}

eco_status eco_recipe_run(const eco_recipe *r, const eco_recipe_run_options *opt,
                          eco_trainer_result *res) {
    if (!r) return eco_error(ECO_STATUS_EINVAL, "recipe: NULL recipe");
    eco_recipe_run_options ro = {0};
    if (opt) ro = *opt;
    const char *out = ro.out_dir ? ro.out_dir : r->out;
    if (!out)
        return eco_error(ECO_STATUS_EINVAL,
                         "recipe: recipe '%s' names no \"out\" folder and none was given", r->name);
    const int threads = ro.threads;
    if (threads > 0) eco_set_threads(threads);
    char *work = ro.work_dir ? eco_strdup(ro.work_dir) : eco_path_join(out, ECO_WORK_DIR);
    char *init = work ? eco_path_join(work, "init") : NULL;
    char *corpus = work ? eco_path_join(work, "corpus.jsonl") : NULL;
    eco_status st = ECO_STATUS_OK;
    if (!work || !init || !corpus) {
        st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
        goto done;
    }
    bool lora = r->kind == ECO_RECIPE_LORA;
    eco_trainer_options o;
    eco_trainer_options_init(&o);
    o.model_dir = lora ? r->base_model : init;
    o.data_path = corpus;
    o.out_dir = out;
    o.work_dir = work;
    o.mode = lora ? ECO_TRAIN_MODE_LORA : ECO_TRAIN_MODE_FULL;
    if (lora) {
        o.lora = r->lora;
        o.adapter_out = out;
    }
    o.steps = r->steps;
    o.batch = r->batch;
    o.seq = r->seq;
    o.accum = r->accum;
    o.lr = r->lr;
    o.warmup = r->warmup;
    o.weight_decay = r->weight_decay;
    o.grad_clip = r->clip;
    o.min_lr_ratio = r->min_lr_ratio;
    o.seed = r->seed;
    o.doc_mask = r->doc_mask;
    o.threads = threads;
    o.resume = ro.resume;
    o.force = ro.force;
    o.progress = ro.progress;
    o.checkpoint_every = r->steps >= 200 ? r->steps / 10 : 0;
    o.recipe_path = r->path;
    /* before the random init and the corpus are written into out/.work */
    if ((st = eco_trainer_output_check(&o, NULL, 0))) goto done;
    if ((st = eco_mkdir_p(work))) goto done;
    if (!lora &&
        (st = eco_model_create_random_std(&r->config, r->seed, ECO_DTYPE_F32, r->init_std, init)))
        goto done;
    if (!lora && r->tokenizer_path && (st = install_tokenizer(r, init))) goto done;
    if ((st = eco_recipe_build_corpus(r, corpus, NULL))) goto done;
    st = eco_trainer_run(&o, res);
done:
    free(work);
    free(init);
    free(corpus);
    return st;
}
