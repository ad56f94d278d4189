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
 *   lineage.json of `model merge` or of  merged, quantized or distilled as its operation
 *   a breeding operator                  says (parents: found by their weights' digests;
 *                                        lineage_record.c; base_family from its base, else
 *                                        its first parent); an adapter stays an adapter
 *   a full model                         base (a root: base_family is its own weight digest)
 * A base-dependent model inherits base_family from its base; the other three hashes are
 * computed from its own files (an adapter has no config/tokenizer/weights of its own and
 * inherits all four). training.json, when present, gives the lineage operation (its run's
 * hyper-parameters and seed) and the corpus hash; else lineage.json (`model create`: the
 * preset and seed; `model merge`) gives it; a breeding operator's lineage.json gives it in
 * any case (operation, parameters, seed, result, corpus hashes).
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
eco_status eco_ingest_set_capabilities(eco_genome *g, const eco_add_options *opt) {
    if (opt->n_capabilities == 0) return ECO_STATUS_OK;
    g->capabilities = eco_calloc_array(opt->n_capabilities, sizeof(char *));
    if (!g->capabilities) return eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
    for (size_t i = 0; i < opt->n_capabilities; i++) {
        const char *c = opt->capabilities[i];
        const char *at = c ? strchr(c, '@') : NULL;
        if (!c || !at || at == c || !at[1])
            return eco_error(ECO_STATUS_EINVAL, "add: capability '%s' is not name@version",
                             c ? c : "(null)");
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
    g->op_name = eco_strdup(*distill                            ? "distill"
                            : mode && strcmp(mode, "lora") == 0 ? "train-lora"
                                                                : "train");
    json_t *seed = json_object_get(hyper, "seed");
    if (json_is_integer(seed) && json_integer_value(seed) >= 0)
        g->op_seed = (uint64_t)json_integer_value(seed);
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
        return eco_error(ECO_STATUS_EINVAL,
                         "%s: adapter names no base (give --base ID, or set "
                         "base_model_name_or_path to a registered id)",
                         dir);
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
    if (!(g->base = eco_strdup(bg.id)))
        st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
    else if (g->n_parents == 0)
        st = set_parents1(g, bg.id);
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
    for (size_t i = 0; i < eco_weights_count(w); i++)
        params += (int64_t)eco_tensor_numel(eco_weights_get(w, i));
    uint64_t bytes = eco_weights_nbytes(w);
    eco_weights_close(w);
    int64_t ctx =
        cfg.max_position_embeddings > 0 && cfg.max_position_embeddings < RESIDENT_KV_POSITIONS
            ? cfg.max_position_embeddings
            : RESIDENT_KV_POSITIONS;
    uint64_t kv = 2ull * (uint64_t)cfg.n_layers * (uint64_t)cfg.n_kv_heads *
                  (uint64_t)cfg.head_dim * (uint64_t)ctx * sizeof(float);
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
    memcpy(g->compatibility.base_family, bg.compatibility.base_family,
           sizeof g->compatibility.base_family);
    if (!(g->base = eco_strdup(bg.id)))
        st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
    else if (g->n_parents == 0)
        st = set_parents1(g, bg.id);
    eco_genome_free(&bg);
    return st;
}

/* Whether the store already holds this content intact: the object named by the digest is
 * re-hashed (not trusted on its size: a flipped byte keeps the size). A damaged object is
 * not reused; the put that follows replaces it. */
static bool stored_intact(eco_registry *r, const eco_file_entry *e) {
    if (!eco_store_has(eco_registry_store(r), e->sha256)) return false;
    if (eco_store_verify_object(eco_registry_store(r), e->sha256, e->size, false) == ECO_STATUS_OK)
        return true;
    eco_clear_error();
    return false;
}

/* Puts every manifest file into the store; a file whose content changed since it was
 * hashed is EINTEGRITY. The digests of the objects this call created (absent before) are
 * appended to *added (n_added of them; caller frees with eco_registry_ids_free), so a
 * refused add can remove them again. Damaged objects replaced on the way are logged as
 * "repair" events. progress (may be NULL) advances by the megabytes copied. */
static eco_status store_files(eco_registry *r, const char *dir, const char *id,
                              const eco_manifest *m, char ***added, size_t *n_added,
                              eco_progress *progress) {
    eco_store *s = eco_registry_store(r);
    eco_status st = ECO_STATUS_OK;
    *added = m->n ? eco_calloc_array(m->n, sizeof(char *)) : NULL;
    *n_added = 0;
    if (m->n && !*added) return eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
    for (size_t i = 0; i < m->n && st == ECO_STATUS_OK; i++) {
        const eco_file_entry *e = &m->files[i];
        if (stored_intact(r, e)) continue; /* identical content costs nothing */
        const bool was_there = eco_store_has(s, e->sha256);
        char *p = eco_path_join(dir, e->name);
        if (!p) {
            st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
            break;
        }
        char hex[ECO_SHA256_HEX_LEN + 1];
        uint64_t size = 0;
        st = eco_store_put_file_progress(s, p, hex, &size, progress);
        free(p);
        if (st != ECO_STATUS_OK) break;
        /* (content that changed meanwhile was stored under another digest: `registry gc`
         * removes it) */
        if (strcmp(hex, e->sha256) != 0 || size != e->size) {
            st = eco_error(ECO_STATUS_EINTEGRITY, "%s: file %s changed while it was being added",
                           dir, e->name);
            break;
        }
        if (!was_there) {
            if (!((*added)[*n_added] = eco_strdup(hex))) {
                st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
                break;
            }
            (*n_added)++;
        }
    }
    /* Each repair is logged even when the add fails (the store changed either way); the
     * add's own error message is kept. */
    char hex[ECO_SHA256_HEX_LEN + 1], msg[1024];
    snprintf(msg, sizeof msg, "%s", st ? eco_last_error() : "");
    bool logged_all = true;
    while (eco_store_pop_repaired(s, hex))
        if (eco_registry_log_event(r, "repair", id,
                                   json_pack("{s:s, s:s}", "sha256", hex, "folder", dir)) !=
            ECO_STATUS_OK)
            logged_all = false;
    if (!logged_all) ECO_WARN("add %s: a repair could not be logged: %s", dir, eco_last_error());
    if (st) eco_error(st, "%s", msg);
    return st;
}

/* Top-level entries of a trained folder that are training's working files, not part of the
 * model or adapter: a checkpoint (checkpoint.*), and the working folders (work/, .work/). */
static bool working_file(const char *name, bool is_dir) {
    if (is_dir) return strcmp(name, "work") == 0 || strcmp(name, ".work") == 0;
    return strncmp(name, "checkpoint.", 11) == 0;
}

/* The manifest's skip list: genome.json, signature.json and the working files found at the
 * top of dir, which are named in one warning (a NULL-terminated malloc'd array of malloc'd
 * names; free with free_skip). */
static eco_status skip_list(const char *dir, char ***out) {
    *out = NULL;
    size_t n = 0, cap = 8;
    char **v = eco_calloc_array(cap + 1, sizeof(char *));
    if (!v) return eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
    eco_status st = ECO_STATUS_OK;
    if (!(v[n++] = eco_strdup(ECO_GENOME_FILE)) || !(v[n++] = eco_strdup(ECO_SIGNATURE_FILE)))
        st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
    char listed[1024] = "";
    DIR *d = st == ECO_STATUS_OK ? opendir(dir) : NULL;
    struct dirent *de;
    while (d && st == ECO_STATUS_OK && (de = readdir(d)) != NULL) {
        char *p = eco_path_join(dir, de->d_name);
        struct stat sb;
        bool is_dir = p && lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
        free(p);
        if (!working_file(de->d_name, is_dir)) continue;
        if (n == cap) {
            char **nv = eco_calloc_array(cap * 2 + 1, sizeof(char *));
            if (!nv) {
                st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
                break;
            }
            memcpy(nv, v, n * sizeof *v);
            free(v);
            v = nv;
            cap *= 2;
        }
        if (!(v[n++] = eco_strdup(de->d_name)))
            st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
        size_t used = strlen(listed);
        snprintf(listed + used, sizeof listed - used, "%s%s%s", used ? ", " : "", de->d_name,
                 is_dir ? "/" : "");
    }
    if (d) closedir(d);
    if (st == ECO_STATUS_OK && n > 2)
        ECO_WARN("add %s: skipped training's working files, not part of a model or adapter: %s",
                 dir, listed);
    *out = v;
    return st;
}

static void free_skip(char **v) {
    if (!v) return;
    for (char **p = v; *p; p++) free(*p);
    free(v);
}

/* The bytes of the regular files under path (folders recursed into, at most 32 deep),
 * leaving out the top-level entries named in skip (NULL-terminated; may be NULL). */
static uint64_t tree_bytes(const char *path, int depth, char *const *skip) {
    DIR *d = depth <= 32 ? opendir(path) : NULL;
    if (!d) return 0;
    uint64_t total = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        bool skipped = false;
        for (char *const *k = depth == 0 ? skip : NULL; k && *k && !skipped; k++)
            skipped = strcmp(*k, de->d_name) == 0;
        if (skipped) continue;
        char *child = eco_path_join(path, de->d_name);
        struct stat sb;
        if (child && lstat(child, &sb) == 0) {
            if (S_ISDIR(sb.st_mode))
                total += tree_bytes(child, depth + 1, NULL);
            else if (S_ISREG(sb.st_mode))
                total += (uint64_t)sb.st_size;
        }
        free(child);
    }
    closedir(d);
    return total;
}

/* Begins the progress line of an add (in MB: the folder hashed, then its files copied into
 * the store) when asked for and the folder is large; NULL otherwise. */
static eco_progress *begin_progress(eco_progress *p, const char *dir, char *const *skip,
                                    const eco_add_options *opt) {
    if (!opt->progress) return NULL;
    uint64_t bytes = tree_bytes(dir, 0, skip);
    if (bytes < (opt->progress_min_bytes ? opt->progress_min_bytes : ECO_ADD_PROGRESS_MIN_BYTES))
        return NULL;
    eco_progress_begin(p, "add", 2.0 * (double)bytes / 1e6, "MB");
    return p;
}

/* After hashing: the copy still to come is only what the store does not hold yet. */
static void rescale_progress(eco_progress *p, eco_registry *r, const eco_manifest *m) {
    if (!p) return;
    double to_store = 0;
    for (size_t i = 0; i < m->n; i++)
        if (!eco_store_has(eco_registry_store(r), m->files[i].sha256))
            to_store += (double)m->files[i].size / 1e6;
    p->total = p->done + to_store;
}

/* Adding the same folder again must be a no-op, not a conflict over the clock: when the id
 * is registered and no time was asked for, take the registered genome's created_at (the
 * registry then compares everything else). */
static eco_status keep_first_registration_time(eco_registry *r, eco_genome *g,
                                               const eco_add_options *opt) {
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
eco_status eco_ingest_check_genome(const eco_genome *g) {
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

/* Warns when the signing key's public half is not among the registry's trusted keys: the
 * model is registered, but `verify` will call it untrusted until the key is trusted. */
static void warn_untrusted_key(eco_registry *r, const char *key_path) {
    eco_signing_key *k = NULL;
    eco_keyring *kr = NULL;
    if (eco_signing_key_load(key_path, &k) == ECO_STATUS_OK &&
        eco_keyring_load_dir(eco_registry_trusted_dir(r), &kr) == ECO_STATUS_OK &&
        !eco_keyring_has(kr, eco_signing_key_id(k)))
        ECO_WARN("add: signing key %s (id %s) is not trusted by this registry (no matching .pub in "
                 "%s): `verify` will "
                 "report the model as untrusted until its public key is copied there",
                 key_path, eco_signing_key_id(k), eco_registry_trusted_dir(r));
    eco_clear_error();
    eco_keyring_free(kr);
    eco_signing_key_free(k);
}

eco_status eco_registry_add_dir(eco_registry *r, const char *dir, const eco_add_options *opt,
                                eco_genome *genome_out) {
    if (!r || !dir || !opt || !opt->id) return eco_error(ECO_STATUS_EINVAL, "add: NULL argument");
    if (!eco_model_id_ok(opt->id))
        return eco_error(ECO_STATUS_EINVAL,
                         "'%s' is not a valid model id (1-127 of A-Z a-z 0-9 . _ @ + -, "
                         "not starting with '.' or '-')",
                         opt->id);
    if (!eco_path_is_dir(dir)) return eco_error(ECO_STATUS_ENOTFOUND, "%s: no such folder", dir);
    const bool adapter = has_file(dir, "adapter_config.json");
    if (!adapter && !has_file(dir, "config.json"))
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: neither config.json (a model) nor adapter_config.json (an adapter)",
                         dir);

    eco_genome g = {0};
    char created[32];
    if (opt->created_at)
        snprintf(created, sizeof created, "%s", opt->created_at);
    else
        eco_registry_now_rfc3339(created);
    char **skip = NULL, **added = NULL;
    size_t n_added = 0;
    int lock = -1;
    char *envelope = NULL;
    eco_lineage_record_info rec = {0};
    bool distill = false, created_new = false;
    eco_status st = ECO_STATUS_OK;
    eco_progress prog_line, *prog = NULL;
    g.id = eco_strdup(opt->id);
    g.interface_version = eco_strdup("text-generation@1");
    g.op_name = eco_strdup("import");
    g.op_params = json_object();
    g.created_at = eco_strdup(created);
    g.tool_version = eco_strdup("tiny-ecology " ECO_VERSION);
    if (!g.id || !g.interface_version || !g.op_name || !g.op_params || !g.created_at ||
        !g.tool_version) {
        st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
        goto out;
    }
    if ((st = eco_ingest_set_capabilities(&g, opt)) != ECO_STATUS_OK) goto out;
    if ((st = skip_list(dir, &skip)) != ECO_STATUS_OK) goto out;
    prog = begin_progress(&prog_line, dir, skip, opt);
    if ((st = eco_manifest_from_dir_progress(dir, (const char *const *)skip, prog, &g.files)) !=
        ECO_STATUS_OK)
        goto out;
    if (g.files.n == 0) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: no files", dir);
        goto out;
    }
    if ((st = read_training(dir, &g, &distill)) != ECO_STATUS_OK) goto out;
    /* lineage.json: `model create`, `model merge` (when no training.json tells more), or a
     * breeding operator's record (which names the operation even beside training.json) */
    eco_add_options fopt = *opt;
    const bool trained = strcmp(g.op_name, "import") != 0;
    if ((st = eco_ingest_lineage_record(r, dir, opt->base, trained, &g, &rec)) != ECO_STATUS_OK)
        goto out;
    if (rec.present && rec.family) {
        /* the child's family (and a full model's genome base): the record's base, else its
         * first parent (a distilled student keeps its own family unless a base is named) */
        if (adapter) {
            if (!opt->base && rec.has_base_role) fopt.base = rec.family;
        } else if ((rec.has_base_role || !opt->base) &&
                   (rec.kind != ECO_GENOME_KIND_DISTILLED || rec.has_base_role)) {
            fopt.base = rec.family;
        }
    }
    st = adapter ? describe_adapter(r, dir, &fopt, &g) : describe_full(r, dir, &fopt, distill, &g);
    if (st != ECO_STATUS_OK) goto out;
    if (rec.present && !adapter) g.kind = rec.kind;
    /* The run's LoRA settings name the base as training saw it (`ecology train` records the
     * folder path it was given): the genome names it by its registry id instead, so the
     * lineage does not depend on where the base lay on the trainer's machine. */
    json_t *lora = json_object_get(g.op_params, "lora");
    if (g.base && json_is_string(json_object_get(lora, "base_model_name_or_path")) &&
        json_object_set_new(lora, "base_model_name_or_path", json_string(g.base)) != 0) {
        st = eco_error(ECO_STATUS_ENOMEM, "add: out of memory");
        goto out;
    }
    if ((st = keep_first_registration_time(r, &g, opt)) != ECO_STATUS_OK) goto out;
    if ((st = eco_ingest_check_genome(&g)) != ECO_STATUS_OK) goto out;
    /* From storing to registering, a `registry gc` (exclusive lock) must not take the
     * objects this add is about to reference. */
    if ((st = eco_registry_store_lock(r, false, &lock)) != ECO_STATUS_OK) goto out;
    rescale_progress(prog, r, &g.files);
    if ((st = store_files(r, dir, g.id, &g.files, &added, &n_added, prog)) != ECO_STATUS_OK)
        goto out;
    if (opt->sign_key && (st = eco_sign_genome(&g, opt->sign_key, &envelope)) != ECO_STATUS_OK)
        goto out;
    if ((st = eco_registry_register(r, &g, envelope, &created_new)) != ECO_STATUS_OK) goto out;
    if (opt->sign_key && created_new) warn_untrusted_key(r, opt->sign_key);
    if (genome_out) {
        *genome_out = g;
        memset(&g, 0, sizeof g);
    }
out:
    if (prog) eco_progress_end(prog);
    eco_registry_store_unlock(lock);
    if (st != ECO_STATUS_OK && n_added > 0) {
        /* A refused add leaves nothing behind: the objects it created that no registered
         * model references (another add may have come to share them meanwhile) go. */
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", eco_last_error());
        if (eco_registry_remove_unreferenced(r, (const char *const *)added, n_added, NULL, NULL) !=
            ECO_STATUS_OK)
            ECO_WARN(
                "add %s: could not remove the objects it stored (`ecology registry gc` will): %s",
                dir, eco_last_error());
        eco_error(st, "%s", msg);
    }
    eco_registry_ids_free(added, n_added);
    free_skip(skip);
    free(envelope);
    free(rec.family);
    eco_genome_free(&g);
    return st;
}
