/*
 * ingest: a model folder on disk → its genome → its files in the store → a signature →
 * a registered model (eco_registry_add_dir).
 *
 * What the folder is decides the genome's kind:
 *   adapter_config.json present          adapter (base: --base, else the registered id named
 *                                        by base_model_name_or_path); its shapes must fit
 *                                        the base's config.json (eco_lora_adapter_load)
 *   training.json with a "distill" run   distilled (parents: the base given with --base)
 *   a full model with --base             merged (its weights derive from that base)
 *   a full model                         base (a root: base_family is its own weight digest)
 * A base-dependent model inherits base_family from its base; the other three hashes are
 * computed from its own files (an adapter has no config/tokenizer/weights of its own and
 * inherits all four). training.json, when present, gives the lineage operation (its run's
 * hyper-parameters and seed) and the corpus hash.
 */
#include "ecology/config.h"
#include "ecology/peft.h"
#include "ecology/registry.h"
#include "ecology/safetensors.h"
#include "ecology/signing.h"
#include "registry/registry_internal.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef ECO_VERSION
#define ECO_VERSION "0"
#endif

/* Resident memory estimate: the weights (memory-mapped) plus an f32 KV cache of this many
 * positions (capped at the model's own limit). */
#define RESIDENT_KV_POSITIONS 2048

static bool has_file(const char *dir, const char *name) {
    char *p = eco_path_join(dir, name);
    struct stat sb;
    bool ok = p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
    free(p);
    return ok;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* capabilities from the options: sorted, duplicates dropped, each "name@version". */
static eco_status set_capabilities(eco_genome *g, const eco_add_options *opt) {
    if (opt->n_capabilities == 0) return ECO_STATUS_OK;
    g->capabilities = eco_calloc_array(opt->n_capabilities, sizeof(char *));
    if (!g->capabilities) return eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
    for (size_t i = 0; i < opt->n_capabilities; i++) {
        const char *c = opt->capabilities[i];
        const char *at = c ? strchr(c, '@') : NULL;
        if (!c || !at || at == c || !at[1])
            return eco_error(ECO_STATUS_EINVAL, "add: capability '%s' is not name@version", c ? c : "(null)");
        if (!(g->capabilities[g->n_capabilities] = eco_strdup(c)))
            return eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
        g->n_capabilities++;
    }
    qsort(g->capabilities, g->n_capabilities, sizeof(char *), cmp_str);
    size_t w = 0;
    for (size_t i = 0; i < g->n_capabilities; i++) {
        if (w > 0 && strcmp(g->capabilities[w - 1], g->capabilities[i]) == 0) {
            free(g->capabilities[i]);
            continue;
        }
        g->capabilities[w++] = g->capabilities[i];
    }
    g->n_capabilities = w;
    return ECO_STATUS_OK;
}

static eco_status set_parents1(eco_genome *g, const char *parent) {
    g->parents = eco_calloc_array(1, sizeof(char *));
    if (!g->parents || !(g->parents[0] = eco_strdup(parent)))
        return eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
    g->n_parents = 1;
    return ECO_STATUS_OK;
}

/* training.json (optional): the operation (name from the run's kind, params = the run's
 * hyper-parameters and LoRA/distillation settings, seed) and the corpus hash. *distill
 * tells whether it was a distillation run. */
static eco_status read_training(const char *dir, eco_genome *g, bool *distill) {
    *distill = false;
    if (!has_file(dir, "training.json")) return ECO_STATUS_OK;
    char *path = eco_path_join(dir, "training.json");
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        eco_status st = eco_error(ECO_STATUS_EFORMAT, "%s: line %d: %s", path, err.line, err.text);
        free(path);
        return st;
    }
    eco_status st = ECO_STATUS_OK;
    json_t *run = json_object_get(root, "run");
    if (!json_is_object(run)) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: run: missing or not an object", path);
        goto out;
    }
    json_t *hyper = json_object_get(run, "hyper");
    json_t *params = json_object();
    if (!params) {
        st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
        goto out;
    }
    static const char *const keep[] = {"hyper", "lora", "distill", "mode"};
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
        json_t *v = json_object_get(run, keep[i]);
        if (v) json_object_set(params, keep[i], v);
    }
    json_decref(g->op_params);
    g->op_params = params;
    *distill = json_object_get(run, "distill") != NULL;
    const char *mode = json_string_value(json_object_get(run, "mode"));
    free(g->op_name);
    g->op_name = eco_strdup(*distill ? "distill" : mode && strcmp(mode, "lora") == 0 ? "train-lora" : "train");
    json_t *seed = json_object_get(hyper, "seed");
    if (json_is_integer(seed) && json_integer_value(seed) >= 0) g->op_seed = (uint64_t)json_integer_value(seed);
    const char *corpus = json_string_value(json_object_get(json_object_get(run, "data"), "sha256"));
    if (corpus) {
        g->corpora = eco_calloc_array(1, sizeof(char *));
        if (!g->corpora || !(g->corpora[0] = eco_strdup(corpus))) {
            st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
            goto out;
        }
        g->n_corpora = 1;
    }
    if (!g->op_name) st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
out:
    json_decref(root);
    free(path);
    return st;
}

/* The store path of a registered model's file `name` (malloc'd), ENOTFOUND if absent. */
static eco_status stored_file(eco_registry *r, const eco_genome *g, const char *name, char **path) {
    const eco_file_entry *e = eco_manifest_find(&g->files, name);
    if (!e) return eco_error(ECO_STATUS_ENOTFOUND, "model '%s' has no file %s", g->id, name);
    *path = eco_store_object_path(eco_registry_store(r), e->sha256);
    return *path ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
}

/* Adapter: base resolved and registered, shapes checked against its config.json;
 * compatibility inherited; resource profile from the adapter tensors. */
static eco_status describe_adapter(eco_registry *r, const char *dir, const eco_add_options *opt,
                                   eco_genome *g) {
    char *cfg_path = eco_path_join(dir, "adapter_config.json");
    if (!cfg_path) return eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
    eco_peft_config pc;
    eco_status st = eco_peft_config_load(cfg_path, &pc);
    free(cfg_path);
    if (st != ECO_STATUS_OK) return st;
    const char *base = opt->base ? opt->base : pc.base_model_name_or_path;
    if (!base || !base[0])
        return eco_error(ECO_STATUS_EINVAL, "%s: adapter names no base (give --base ID, or set "
                                            "base_model_name_or_path to a registered id)", dir);
    eco_genome bg = {0};
    st = eco_registry_get(r, base, &bg, NULL);
    if (st != ECO_STATUS_OK)
        return eco_error_wrap(st, "%s: adapter base '%s'%s", dir, base,
                              opt->base ? "" : " (from base_model_name_or_path)");
    if (bg.kind == ECO_GENOME_KIND_ADAPTER) {
        st = eco_error(ECO_STATUS_EINVAL, "%s: base '%s' is itself an adapter", dir, base);
        goto out;
    }
    char *bcfg_path = NULL;
    if ((st = stored_file(r, &bg, "config.json", &bcfg_path)) != ECO_STATUS_OK) goto out;
    eco_model_config bcfg;
    st = eco_config_load(bcfg_path, &bcfg);
    free(bcfg_path);
    if (st != ECO_STATUS_OK) goto out;
    eco_lora_adapter *a = NULL;
    if ((st = eco_lora_adapter_load(dir, &bcfg, &a)) != ECO_STATUS_OK) {
        st = eco_error_wrap(st, "%s: does not fit base '%s'", dir, base);
        goto out;
    }
    int64_t params = 0;
    uint64_t bytes = 0;
    for (int64_t i = 0; i < a->n_layers * ECO_LORA__COUNT; i++) {
        const eco_lora_module *m = &a->modules[i];
        if (m->A) params += (int64_t)(eco_tensor_numel(m->A) + eco_tensor_numel(m->B));
    }
    eco_lora_adapter_free(a);
    const eco_file_entry *w = eco_manifest_find(&g->files, "adapter_model.safetensors");
    bytes = w ? w->size : 0;
    g->kind = ECO_GENOME_KIND_ADAPTER;
    g->compatibility = bg.compatibility;
    g->n_params = params;
    g->bytes = bytes;
    g->resident_bytes = (uint64_t)params * sizeof(float); /* applied unmerged, in f32 */
    if (!(g->base = eco_strdup(bg.id))) st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
    else if (g->n_parents == 0) st = set_parents1(g, bg.id);
out:
    eco_genome_free(&bg);
    return st;
}

/* A full model: compatibility from its files; parameters, weight bytes and resident memory
 * from its weights and config. With a base: base_family inherited, kind merged/distilled. */
static eco_status describe_full(eco_registry *r, const char *dir, const eco_add_options *opt,
                                bool distill, eco_genome *g) {
    eco_status st = eco_compat_compute_base_manifest(dir, &g->files, &g->compatibility);
    if (st != ECO_STATUS_OK) return st;
    char *cfg_path = eco_path_join(dir, "config.json");
    if (!cfg_path) return eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
    eco_model_config cfg;
    st = eco_config_load(cfg_path, &cfg);
    free(cfg_path);
    if (st != ECO_STATUS_OK) return st;
    eco_weights *w = NULL;
    if ((st = eco_weights_open(dir, &w)) != ECO_STATUS_OK) return st;
    int64_t params = 0;
    for (size_t i = 0; i < eco_weights_count(w); i++) params += (int64_t)eco_tensor_numel(eco_weights_get(w, i));
    uint64_t bytes = eco_weights_nbytes(w);
    eco_weights_close(w);
    int64_t ctx = cfg.max_position_embeddings > 0 && cfg.max_position_embeddings < RESIDENT_KV_POSITIONS
                      ? cfg.max_position_embeddings
                      : RESIDENT_KV_POSITIONS;
    uint64_t kv = 2ull * (uint64_t)cfg.n_layers * (uint64_t)cfg.n_kv_heads * (uint64_t)cfg.head_dim *
                  (uint64_t)ctx * sizeof(float);
    g->n_params = params;
    g->bytes = bytes;
    g->resident_bytes = bytes + kv;
    if (!opt->base) {
        g->kind = distill ? ECO_GENOME_KIND_DISTILLED : ECO_GENOME_KIND_BASE;
        return ECO_STATUS_OK;
    }
    eco_genome bg = {0};
    if ((st = eco_registry_get(r, opt->base, &bg, NULL)) != ECO_STATUS_OK)
        return eco_error_wrap(st, "%s: base '%s'", dir, opt->base);
    g->kind = distill ? ECO_GENOME_KIND_DISTILLED : ECO_GENOME_KIND_MERGED;
    memcpy(g->compatibility.base_family, bg.compatibility.base_family, sizeof g->compatibility.base_family);
    if (!(g->base = eco_strdup(bg.id))) st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
    else if (g->n_parents == 0) st = set_parents1(g, bg.id);
    eco_genome_free(&bg);
    return st;
}

/* Whether the store already holds this content: an object named by the digest with the
 * same size (its bytes were hashed when it was stored; `verify` re-hashes them). */
static bool stored_with_size(eco_registry *r, const eco_file_entry *e) {
    char *path = eco_store_object_path(eco_registry_store(r), e->sha256);
    struct stat sb;
    bool ok = path && stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size == e->size;
    free(path);
    return ok;
}

/* Puts every manifest file into the store; a file whose content changed since it was
 * hashed is EINTEGRITY. progress (may be NULL) advances by the megabytes copied. */
static eco_status store_files(eco_registry *r, const char *dir, const eco_manifest *m, eco_progress *progress) {
    for (size_t i = 0; i < m->n; i++) {
        if (stored_with_size(r, &m->files[i])) continue; /* identical content costs nothing */
        char *p = eco_path_join(dir, m->files[i].name);
        if (!p) return eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
        char hex[ECO_SHA256_HEX_LEN + 1];
        uint64_t size = 0;
        eco_status st = eco_store_put_file_progress(eco_registry_store(r), p, hex, &size, progress);
        free(p);
        if (st != ECO_STATUS_OK) return st;
        if (strcmp(hex, m->files[i].sha256) != 0 || size != m->files[i].size)
            return eco_error(ECO_STATUS_EINTEGRITY, "%s: file %s changed while it was being added", dir,
                             m->files[i].name);
    }
    return ECO_STATUS_OK;
}

/* The bytes of the regular files under path (folders recursed into, at most 32 deep). */
static uint64_t tree_bytes(const char *path, int depth) {
    DIR *d = depth <= 32 ? opendir(path) : NULL;
    if (!d) return 0;
    uint64_t total = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        char *child = eco_path_join(path, de->d_name);
        struct stat sb;
        if (child && lstat(child, &sb) == 0) {
            if (S_ISDIR(sb.st_mode)) total += tree_bytes(child, depth + 1);
            else if (S_ISREG(sb.st_mode)) total += (uint64_t)sb.st_size;
        }
        free(child);
    }
    closedir(d);
    return total;
}

/* Begins the progress line of an add (in MB: the folder hashed, then its files copied into
 * the store) when asked for and the folder is large; NULL otherwise. */
static eco_progress *begin_progress(eco_progress *p, const char *dir, const eco_add_options *opt) {
    if (!opt->progress) return NULL;
    uint64_t bytes = tree_bytes(dir, 0);
    if (bytes < (opt->progress_min_bytes ? opt->progress_min_bytes : ECO_ADD_PROGRESS_MIN_BYTES)) return NULL;
    eco_progress_begin(p, "add", 2.0 * (double)bytes / 1e6, "MB");
    return p;
}

/* After hashing: the copy still to come is only what the store does not hold yet. */
static void rescale_progress(eco_progress *p, eco_registry *r, const eco_manifest *m) {
    if (!p) return;
    double to_store = 0;
    for (size_t i = 0; i < m->n; i++)
        if (!stored_with_size(r, &m->files[i])) to_store += (double)m->files[i].size / 1e6;
    p->total = p->done + to_store;
}

/* Adding the same folder again must be a no-op, not a conflict over the clock: when the id
 * is registered and no time was asked for, take the registered genome's created_at (the
 * registry then compares everything else). */
static eco_status keep_first_registration_time(eco_registry *r, eco_genome *g, const eco_add_options *opt) {
    if (opt->created_at || !eco_registry_exists(r, g->id)) return ECO_STATUS_OK;
    eco_genome old = {0};
    eco_status st = eco_registry_get(r, g->id, &old, NULL);
    if (st != ECO_STATUS_OK) return st;
    free(g->created_at);
    g->created_at = old.created_at;
    old.created_at = NULL;
    eco_genome_free(&old);
    return ECO_STATUS_OK;
}

/* The genome as it will be stored must pass the same checks as one read back (ids,
 * capability names, created_at, hex fields). */
static eco_status check_genome(const eco_genome *g) {
    char *text = NULL;
    size_t len = 0;
    eco_status st = eco_genome_to_canonical(g, &text, &len);
    if (st != ECO_STATUS_OK) return st;
    eco_genome back = {0};
    st = eco_genome_parse(text, len, "genome", &back);
    eco_genome_free(&back);
    free(text);
    return st;
}

eco_status eco_sign_genome(const eco_genome *g, const char *key_path, char **envelope) {
    *envelope = NULL;
    eco_signing_key *key = NULL;
    eco_status st = eco_signing_key_load(key_path, &key);
    if (st != ECO_STATUS_OK) return st;
    char root[ECO_SHA256_HEX_LEN + 1];
    json_t *gj = NULL;
    char *statement = NULL;
    size_t slen = 0, elen = 0;
    if ((st = eco_manifest_root(&g->files, root)) == ECO_STATUS_OK &&
        (st = eco_genome_to_json(g, &gj)) == ECO_STATUS_OK &&
        (st = eco_statement_build(g->id, root, gj, &statement, &slen)) == ECO_STATUS_OK)
        st = eco_dsse_sign(key, ECO_DSSE_PAYLOAD_TYPE, statement, slen, envelope, &elen);
    json_decref(gj);
    free(statement);
    eco_signing_key_free(key);
    return st;
}

eco_status eco_registry_add_dir(eco_registry *r, const char *dir, const eco_add_options *opt,
                                eco_genome *genome_out) {
    if (!r || !dir || !opt || !opt->id) return eco_error(ECO_STATUS_EINVAL, "add: NULL argument");
    if (!eco_model_id_ok(opt->id))
        return eco_error(ECO_STATUS_EINVAL, "'%s' is not a valid model id (1-127 of A-Z a-z 0-9 . _ @ + -, "
                                            "not starting with '.' or '-')", opt->id);
    if (!eco_path_is_dir(dir)) return eco_error(ECO_STATUS_ENOTFOUND, "%s: no such folder", dir);
    const bool adapter = has_file(dir, "adapter_config.json");
    if (!adapter && !has_file(dir, "config.json"))
        return eco_error(ECO_STATUS_EFORMAT, "%s: neither config.json (a model) nor adapter_config.json (an adapter)", dir);

    eco_genome g = {0};
    char created[32];
    if (opt->created_at) snprintf(created, sizeof created, "%s", opt->created_at);
    else eco_registry_now_rfc3339(created);
    static const char *const skip[] = {ECO_GENOME_FILE, ECO_SIGNATURE_FILE, NULL};
    char *envelope = NULL;
    bool distill = false, created_new = false;
    eco_status st = ECO_STATUS_OK;
    eco_progress prog_line, *prog = NULL;
    g.id = eco_strdup(opt->id);
    g.interface_version = eco_strdup("text-generation@1");
    g.op_name = eco_strdup("import");
    g.op_params = json_object();
    g.created_at = eco_strdup(created);
    g.tool_version = eco_strdup("tiny-ecology " ECO_VERSION);
    if (!g.id || !g.interface_version || !g.op_name || !g.op_params || !g.created_at || !g.tool_version) {
        st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
        goto out;
    }
    if ((st = set_capabilities(&g, opt)) != ECO_STATUS_OK) goto out;
    prog = begin_progress(&prog_line, dir, opt);
    if ((st = eco_manifest_from_dir_progress(dir, skip, prog, &g.files)) != ECO_STATUS_OK) goto out;
    if (g.files.n == 0) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: no files", dir);
        goto out;
    }
    if ((st = read_training(dir, &g, &distill)) != ECO_STATUS_OK) goto out;
    st = adapter ? describe_adapter(r, dir, opt, &g) : describe_full(r, dir, opt, distill, &g);
    if (st != ECO_STATUS_OK) goto out;
    if ((st = keep_first_registration_time(r, &g, opt)) != ECO_STATUS_OK) goto out;
    if ((st = check_genome(&g)) != ECO_STATUS_OK) goto out;
    rescale_progress(prog, r, &g.files);
    if ((st = store_files(r, dir, &g.files, prog)) != ECO_STATUS_OK) goto out;
    if (opt->sign_key && (st = eco_sign_genome(&g, opt->sign_key, &envelope)) != ECO_STATUS_OK) goto out;
    if ((st = eco_registry_register(r, &g, envelope, &created_new)) != ECO_STATUS_OK) goto out;
    if (genome_out) {
        *genome_out = g;
        memset(&g, 0, sizeof g);
    }
out:
    if (prog) eco_progress_end(prog);
    free(envelope);
    eco_genome_free(&g);
    return st;
}
