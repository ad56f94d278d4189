/*
 * compat: a model's compatibility identity, computed from its files (see registry.h).
 *
 * Each hash is SHA-256 over the canonical JSON (eco_json_canonical: sorted keys, no
 * insignificant white space, reals with 17 significant digits) of a small document built
 * from the file *as parsed*, so that formatting, key order and fields that do not change
 * the computation leave it alone, and anything that does change it changes the hash:
 *
 *   architecture_hash   config.json through eco_config_load (the engine's own parser, with
 *                       its defaults filled in and its checks run), then
 *                       {"architectures": ["LlamaForCausalLM"], "model_type": "llama",
 *                        "hidden_size": N, "intermediate_size": N, "num_hidden_layers": N,
 *                        "num_attention_heads": N, "num_key_value_heads": N, "head_dim": N,
 *                        "vocab_size": N, "max_position_embeddings": N,
 *                        "rms_norm_eps": real, "rope_theta": real,
 *                        "rope_scaling": null | {"rope_type": "llama3", "factor": real,
 *                            "low_freq_factor": real, "high_freq_factor": real,
 *                            "original_max_position_embeddings": N},
 *                        "tie_word_embeddings": bool, "attention_bias": bool,
 *                        "hidden_act": "silu"}
 *                       attention_bias is the q/k/v bias flag as parsed (Qwen2: always true;
 *                       with the architecture it fixes the o bias too). torch_dtype,
 *                       token ids, transformers_version and the like are left out. A config
 *                       the engine refuses (another architecture) has no hash.
 *   tokenizer_hash      tokenizer.json loaded by jansson (duplicate keys refused), then
 *                       {"model", "added_tokens", "normalizer", "pre_tokenizer",
 *                        "post_processor", "decoder"}, each as found or null when absent.
 *                       model must be an object, added_tokens an array or null. The values
 *                       are hashed as written: merges spelled "a b" and ["a", "b"] hash
 *                       differently although they mean the same.
 *   tensor_schema_hash  eco_weights_open on the folder (model.safetensors, or the shards of
 *                       model.safetensors.index.json), then [[name, [dim, ...]], ...] sorted
 *                       by name. dtype is deliberately left out: a bf16 copy of an f32 model
 *                       has the same schema and its parameters mix with the original's
 *                       (converted on load); base_family still tells the two apart.
 *   base_family         the manifest root (artifacts.h: SHA-256 over the concatenated raw
 *                       32-byte digests of the files in name order) of the folder's weight
 *                       files only: top-level regular files named *.safetensors and
 *                       model.safetensors.index.json. These are hashed here directly (not
 *                       through eco_manifest_from_dir, which would hash every file of the
 *                       folder), then the root is taken with eco_manifest_root, so
 *                       base_family equals the root of the same entries of the model's
 *                       registered manifest. Symbolic links are refused, as the manifest
 *                       refuses them.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "ecology/config.h"
#include "ecology/registry.h"
#include "ecology/safetensors.h"
#include "core/json_read.h"
#include "registry/registry_internal.h"

#define TOKENIZER_MAX_BYTES ((size_t)1 << 30) /* as the tokenizer loader allows */

/* SHA-256 hex of canonical(v); v is released. NULL v means building it ran out of memory. */
static eco_status hash_json(json_t *v, const char *label, char out[ECO_SHA256_HEX_LEN + 1]) {
    if (!v) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
    char *text = NULL;
    size_t len = 0;
    eco_status rc = eco_json_canonical(v, &text, &len);
    json_decref(v);
    if (rc) return eco_error_wrap(rc, "%s", label);
    rc = eco_sha256_hex(text, len, out);
    free(text);
    return rc;
}

/* ---- architecture ------------------------------------------------------------------ */

/* The architecture document of a parsed config (layout in the header comment); NULL when
 * out of memory. */
static json_t *arch_doc(const eco_model_config *c) {
    json_t *o = json_object();
    if (!o) return NULL;
    int bad = 0;
    json_t *archs = json_array();
    bad |= archs ? json_array_append_new(archs, json_string(eco_arch_name(c->arch))) : -1;
    bad |= json_object_set_new(o, "architectures", archs);
    bad |= json_object_set_new(o, "model_type", json_string(c->model_type));
    const struct {
        const char *key;
        int64_t v;
    } ints[] = {
        {"hidden_size", c->hidden_size},
        {"intermediate_size", c->intermediate_size},
        {"num_hidden_layers", c->n_layers},
        {"num_attention_heads", c->n_heads},
        {"num_key_value_heads", c->n_kv_heads},
        {"head_dim", c->head_dim},
        {"vocab_size", c->vocab_size},
        {"max_position_embeddings", c->max_position_embeddings},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        bad |= json_object_set_new(o, ints[i].key, json_integer((json_int_t)ints[i].v));
    bad |= json_object_set_new(o, "rms_norm_eps", json_real(c->rms_norm_eps));
    bad |= json_object_set_new(o, "rope_theta", json_real(c->rope_theta));
    json_t *rope = json_null();
    if (c->rope_llama3) {
        rope = json_object();
        if (rope) {
            bad |= json_object_set_new(rope, "rope_type", json_string("llama3"));
            bad |= json_object_set_new(rope, "factor", json_real(c->rope_factor));
            bad |= json_object_set_new(rope, "low_freq_factor", json_real(c->rope_low_freq_factor));
            bad |=
                json_object_set_new(rope, "high_freq_factor", json_real(c->rope_high_freq_factor));
            bad |= json_object_set_new(rope, "original_max_position_embeddings",
                                       json_integer((json_int_t)c->rope_original_max_pos));
        }
    }
    bad |= json_object_set_new(o, "rope_scaling", rope);
    bad |= json_object_set_new(o, "tie_word_embeddings", json_boolean(c->tie_word_embeddings));
    bad |= json_object_set_new(o, "attention_bias", json_boolean(c->qkv_bias));
    bad |= json_object_set_new(o, "hidden_act", json_string("silu")); /* the only one parsed */
    if (bad) { /* json_object_set_new takes (and drops) its value even when it fails */
        json_decref(o);
        return NULL;
    }
    return o;
}

eco_status eco_compat_architecture_hash(const char *config_path, char out[ECO_SHA256_HEX_LEN + 1]) {
    if (!config_path || !out)
        return eco_error(ECO_STATUS_EINVAL, "eco_compat_architecture_hash: NULL argument");
    eco_model_config c;
    eco_status rc = eco_config_load(config_path, &c); /* errors name the file and field */
    if (rc) return rc;
    return hash_json(arch_doc(&c), config_path, out);
}

/* ---- tokenizer ----------------------------------------------------------------------- */

static const char *const tok_keys[] = {"model",         "added_tokens",   "normalizer",
                                       "pre_tokenizer", "post_processor", "decoder"};

static eco_status tokenizer_doc(const json_t *root, const char *file, json_t **out) {
    if (!json_is_object(root)) return eco_error(ECO_STATUS_EFORMAT, "%s: not a JSON object", file);
    const json_t *model = json_object_get(root, "model");
    if (!json_is_object(model))
        return eco_error(ECO_STATUS_EFORMAT, "%s: model: %s", file,
                         model ? "expected an object" : "missing");
    const json_t *added = json_object_get(root, "added_tokens");
    if (added && !json_is_array(added) && !json_is_null(added))
        return eco_error(ECO_STATUS_EFORMAT, "%s: added_tokens: expected an array or null", file);
    json_t *doc = json_object();
    if (!doc) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", file);
    for (size_t i = 0; i < sizeof tok_keys / sizeof tok_keys[0]; i++) {
        json_t *v = json_object_get(root, tok_keys[i]);
        if (json_object_set(doc, tok_keys[i], v ? v : json_null())) {
            json_decref(doc);
            return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", file);
        }
    }
    *out = doc;
    return ECO_STATUS_OK;
}

eco_status eco_compat_tokenizer_hash(const char *tokenizer_path, char out[ECO_SHA256_HEX_LEN + 1]) {
    if (!tokenizer_path || !out)
        return eco_error(ECO_STATUS_EINVAL, "eco_compat_tokenizer_hash: NULL argument");
    char *file = NULL, *text = NULL;
    size_t len = 0;
    eco_status rc = eco_json_read_doc(tokenizer_path, "tokenizer.json", TOKENIZER_MAX_BYTES, &file,
                                      &text, &len);
    json_t *root = NULL, *doc = NULL;
    if (rc == ECO_STATUS_OK) {
        json_error_t jerr;
        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
            rc = eco_error(ECO_STATUS_EFORMAT, "%s: not valid JSON: %s (line %d, column %d)", file,
                           jerr.text, jerr.line, jerr.column);
    }
    free(text);
    if (rc == ECO_STATUS_OK) rc = tokenizer_doc(root, file, &doc);
    json_decref(root); /* doc holds its own references */
    if (rc == ECO_STATUS_OK) rc = hash_json(doc, file, out);
    free(file);
    return rc;
}

/* ---- tensor schema ------------------------------------------------------------------- */

eco_status eco_compat_tensor_schema_hash(const char *model_dir, char out[ECO_SHA256_HEX_LEN + 1]) {
    if (!model_dir || !out)
        return eco_error(ECO_STATUS_EINVAL, "eco_compat_tensor_schema_hash: NULL argument");
    eco_weights *w;
    eco_status rc = eco_weights_open(model_dir, &w);
    if (rc) return rc;
    json_t *doc = json_array();
    size_t n = eco_weights_count(w);
    for (size_t i = 0; doc && i < n; i++) { /* eco_weights_get is in name order */
        const eco_tensor *t = eco_weights_get(w, i);
        json_t *shape = json_array();
        for (int d = 0; shape && d < t->ndim; d++)
            if (json_array_append_new(shape, json_integer((json_int_t)t->shape[d]))) {
                json_decref(shape);
                shape = NULL;
            }
        json_t *entry = shape ? json_pack("[s, o]", t->name, shape) : NULL; /* "o" steals shape */
        if (!entry || json_array_append_new(doc, entry)) {
            json_decref(doc);
            doc = NULL;
        }
    }
    eco_weights_close(w);
    return hash_json(doc, model_dir, out);
}

/* ---- base family --------------------------------------------------------------------- */

static bool is_weight_file(const char *name) {
    static const char suffix[] = ".safetensors";
    size_t n = strlen(name), k = sizeof suffix - 1;
    return strcmp(name, "model.safetensors.index.json") == 0 ||
           (n > k && strcmp(name + n - k, suffix) == 0);
}

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const eco_file_entry *)a)->name, ((const eco_file_entry *)b)->name);
}

/* The weight files of dir as manifest entries (name, size, sha256), sorted by name. */
static eco_status weight_manifest(const char *dir, eco_manifest *m) {
    memset(m, 0, sizeof *m);
    DIR *d = opendir(dir);
    if (!d)
        return eco_error(errno == ENOENT ? ECO_STATUS_ENOTFOUND : ECO_STATUS_EIO,
                         "%s: cannot open folder: %s", dir, strerror(errno));
    eco_status rc = ECO_STATUS_OK;
    size_t cap = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            if (errno)
                rc = eco_error(ECO_STATUS_EIO, "%s: cannot read folder: %s", dir, strerror(errno));
            break;
        }
        if (!is_weight_file(e->d_name)) continue;
        char *path = eco_path_join(dir, e->d_name);
        if (!path) {
            rc = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
            break;
        }
        struct stat sb;
        if (lstat(path, &sb) != 0) {
            rc = eco_error(ECO_STATUS_EIO, "%s: cannot stat: %s", path, strerror(errno));
        } else if (!S_ISREG(sb.st_mode)) {
            rc = eco_error(ECO_STATUS_EFORMAT,
                           "%s: not a regular file (weight files must not be links or "
                           "special files)",
                           path);
        } else if (m->n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            eco_file_entry *f = realloc(m->files, ncap * sizeof *f); /* ncap <= file count * 2 */
            if (!f)
                rc = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
            else {
                m->files = f;
                cap = ncap;
            }
        }
        if (rc == ECO_STATUS_OK) {
            eco_file_entry *f = &m->files[m->n];
            memset(f, 0, sizeof *f);
            uint8_t dg[ECO_SHA256_LEN];
            f->name = eco_strdup(e->d_name);
            if (!f->name)
                rc = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
            else {
                m->n++;
                f->size = (uint64_t)sb.st_size;
                if ((rc = eco_sha256_file(path, dg)) == ECO_STATUS_OK)
                    eco_hex(f->sha256, dg, sizeof dg);
            }
        }
        free(path);
        if (rc) break;
    }
    closedir(d);
    if (rc == ECO_STATUS_OK && m->n == 0)
        rc = eco_error(ECO_STATUS_ENOTFOUND, "%s: no weight files (*.safetensors)", dir);
    if (rc) {
        eco_manifest_free(m);
        return rc;
    }
    qsort(m->files, m->n, sizeof *m->files, cmp_entry);
    return ECO_STATUS_OK;
}

static eco_status base_family(const char *dir, char out[ECO_SHA256_HEX_LEN + 1]) {
    eco_manifest m;
    eco_status rc = weight_manifest(dir, &m);
    if (rc) return rc;
    rc = eco_manifest_root(&m, out);
    eco_manifest_free(&m);
    return rc;
}

/* base_family from a manifest the caller already hashed: the root of its top-level weight
 * entries (the same entries weight_manifest would hash), so nothing is read again. */
static eco_status base_family_of(const eco_manifest *files, const char *dir,
                                 char out[ECO_SHA256_HEX_LEN + 1]) {
    eco_manifest w = {0};
    w.files = eco_malloc_array(files->n ? files->n : 1, sizeof *w.files);
    if (!w.files) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", dir);
    for (size_t i = 0; i < files->n; i++)
        if (!strchr(files->files[i].name, '/') && is_weight_file(files->files[i].name))
            w.files[w.n++] = files->files[i];
    eco_status rc =
        w.n ? eco_manifest_root(&w, out)
            : eco_error(ECO_STATUS_ENOTFOUND, "%s: no weight files (*.safetensors)", dir);
    free(w.files); /* the entries are borrowed from files */
    return rc;
}

/* The three hashes read from the folder's own files (architecture, tokenizer, schema). */
static eco_status file_hashes(const char *model_dir, eco_compat_identity *id) {
    char *config = eco_path_join(model_dir, "config.json");
    char *tok = eco_path_join(model_dir, "tokenizer.json");
    eco_status rc;
    if (!config || !tok)
        rc = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", model_dir);
    else if ((rc = eco_compat_architecture_hash(config, id->architecture_hash)) == ECO_STATUS_OK &&
             (rc = eco_compat_tokenizer_hash(tok, id->tokenizer_hash)) == ECO_STATUS_OK)
        rc = eco_compat_tensor_schema_hash(model_dir, id->tensor_schema_hash);
    free(config);
    free(tok);
    return rc;
}

eco_status eco_compat_compute_base_manifest(const char *model_dir, const eco_manifest *files,
                                            eco_compat_identity *out) {
    if (!model_dir || !files || !out)
        return eco_error(ECO_STATUS_EINVAL, "eco_compat_compute_base: NULL argument");
    eco_compat_identity id;
    memset(&id, 0, sizeof id);
    eco_status rc = file_hashes(model_dir, &id);
    if (rc == ECO_STATUS_OK) rc = base_family_of(files, model_dir, id.base_family);
    if (rc == ECO_STATUS_OK) *out = id;
    return rc;
}

eco_status eco_compat_compute_base(const char *model_dir, eco_compat_identity *out) {
    if (!model_dir || !out)
        return eco_error(ECO_STATUS_EINVAL, "eco_compat_compute_base: NULL argument");
    eco_compat_identity id;
    memset(&id, 0, sizeof id);
    eco_status rc = file_hashes(model_dir, &id);
    if (rc == ECO_STATUS_OK) rc = base_family(model_dir, id.base_family);
    if (rc == ECO_STATUS_OK) *out = id;
    return rc;
}

/* ---- comparison ---------------------------------------------------------------------- */

/* The fields are char[65]; compared with a bound in case one lacks its NUL. */
static bool hex_differs(const char *a, const char *b) {
    return strncmp(a, b, ECO_SHA256_HEX_LEN + 1) != 0;
}

size_t eco_compat_diff_all(const eco_compat_identity *a, const eco_compat_identity *b,
                           const char *fields[ECO_COMPAT_FIELDS]) {
    static const char *const names[ECO_COMPAT_FIELDS] = {"base_family", "architecture_hash",
                                                         "tokenizer_hash", "tensor_schema_hash"};
    if (!a || !b) { /* nothing known to be equal */
        for (size_t i = 0; i < ECO_COMPAT_FIELDS; i++) fields[i] = names[i];
        return ECO_COMPAT_FIELDS;
    }
    if (eco_compat_is_remote(a) || eco_compat_is_remote(b)) { /* compatible with nothing */
        for (size_t i = 0; i < ECO_COMPAT_FIELDS; i++) fields[i] = names[i];
        return ECO_COMPAT_FIELDS;
    }
    const char *fa[ECO_COMPAT_FIELDS] = {a->base_family, a->architecture_hash, a->tokenizer_hash,
                                         a->tensor_schema_hash};
    const char *fb[ECO_COMPAT_FIELDS] = {b->base_family, b->architecture_hash, b->tokenizer_hash,
                                         b->tensor_schema_hash};
    size_t n = 0;
    for (size_t i = 0; i < ECO_COMPAT_FIELDS; i++)
        if (hex_differs(fa[i], fb[i])) fields[n++] = names[i];
    return n;
}

const char *eco_compat_diff(const eco_compat_identity *a, const eco_compat_identity *b) {
    const char *fields[ECO_COMPAT_FIELDS];
    return eco_compat_diff_all(a, b, fields) ? fields[0] : NULL;
}

bool eco_compat_equal(const eco_compat_identity *a, const eco_compat_identity *b) {
    return eco_compat_diff(a, b) == NULL;
}
