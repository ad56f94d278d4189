/*
 * eco_weights: one model's tensors, from a single safetensors file or from the shards a
 * model.safetensors.index.json names ({"metadata": {...}, "weight_map": {tensor: file}}).
 *
 * The index is input like any other: shard names must be plain file names inside the
 * folder (no '/', no '..'), every tensor it lists must be in the shard it names, every
 * tensor of an opened shard must be listed for that shard, and no tensor may sit in two
 * shards. The result is one name-sorted array of pointers to the shards' views, searched
 * by bisection.
 *
 * Memory: eco_weights owns its open shards (and so their mappings); the views it hands
 * out stay valid until eco_weights_close.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "ecology/gguf.h"
#include "ecology/safetensors.h"

#define INDEX_NAME      "model.safetensors.index.json"
#define SINGLE_NAME     "model.safetensors"
#define INDEX_MAX_BYTES (64u * 1024u * 1024u)

struct eco_weights {
    eco_safetensors **shards; /* [n_shards], owned */
    eco_tensor *q8_0;         /* [n_q8_0] Q8_0 views of shards' U8 tensors (safetensors.h) */
    size_t n_q8_0;
    size_t n_shards;
    const eco_tensor **sorted; /* [n], by name; views owned by the shards */
    const char **shard_of;     /* [n], the label of the shard holding sorted[i] */
    size_t n;
    size_t nbytes;
    eco_gguf *gguf;  /* a .gguf model: its mapping, owned */
    eco_gguf_hf *hf; /* its tensors under HF names, owned */
};

typedef struct {
    const eco_tensor *t;
    size_t shard;
} tensor_ref;

static int cmp_ref(const void *a, const void *b) {
    return strcmp(((const tensor_ref *)a)->t->name, ((const tensor_ref *)b)->t->name);
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool is_regular_file(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

#define Q8_0_META_KEY ECO_Q8_0_META_KEY

eco_tensor eco_q8_0_storage_view(const eco_tensor *t) {
    eco_tensor v = *t;
    if (t->dtype != ECO_DTYPE_Q8_0 || t->ndim < 1) return v;
    v.dtype = ECO_DTYPE_U8;
    v.shape[t->ndim - 1] = t->shape[t->ndim - 1] / ECO_Q8_0_BLOCK * ECO_Q8_0_BLOCK_BYTES;
    return v;
}

/* Checks shard s's "quantization" metadata; *q8_0 says whether its U8 tensors are q8_0. */
static eco_status shard_quantization(const eco_safetensors *st, bool *q8_0) {
    const char *q = eco_safetensors_metadata(st, Q8_0_META_KEY);
    *q8_0 = false;
    if (!q) return ECO_STATUS_OK;
    if (strcmp(q, "q8_0") != 0)
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: __metadata__: " Q8_0_META_KEY
                         ": '%s' is not supported (the only quantization is q8_0)",
                         eco_safetensors_path(st), q);
    *q8_0 = true;
    return ECO_STATUS_OK;
}

/* *dst = the Q8_0 view of src, a U8 tensor of a q8_0 shard: the last dimension in 34-byte
 * blocks becomes the logical columns (32 a block). */
static eco_status q8_0_view(const eco_safetensors *st, const eco_tensor *src, eco_tensor *dst) {
    const int64_t last = src->ndim > 0 ? src->shape[src->ndim - 1] : 0;
    if (src->ndim < 1 || last <= 0 || last % ECO_Q8_0_BLOCK_BYTES != 0)
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: tensor '%s': U8 in a q8_0 file, but its last dimension (%lld) is "
                         "not a whole number of %d-byte Q8_0 blocks",
                         eco_safetensors_path(st), src->name, (long long)last,
                         ECO_Q8_0_BLOCK_BYTES);
    *dst = *src;
    dst->dtype = ECO_DTYPE_Q8_0;
    dst->shape[src->ndim - 1] = last / ECO_Q8_0_BLOCK_BYTES * ECO_Q8_0_BLOCK;
    return ECO_STATUS_OK;
}

/* Collects every tensor of the open shards, sorts them by name, rejects a name seen in two
 * shards and fills w->sorted; U8 tensors of q8_0 shards become Q8_0 views. */
static eco_status build_sorted(eco_weights *w, const char *label) {
    size_t total = 0;
    for (size_t s = 0; s < w->n_shards; s++) {
        if (!eco_add_ok(total, eco_safetensors_count(w->shards[s]), &total))
            return eco_error(ECO_STATUS_EOVERFLOW, "%s: too many tensors", label);
    }
    if (total == 0) return ECO_STATUS_OK;
    tensor_ref *refs = eco_malloc_array(total, sizeof *refs);
    w->sorted = eco_malloc_array(total, sizeof *w->sorted);
    w->shard_of = eco_malloc_array(total, sizeof *w->shard_of);
    if (!refs || !w->sorted || !w->shard_of) {
        free(refs);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory for %zu tensors", label, total);
    }
    size_t k = 0;
    for (size_t s = 0; s < w->n_shards; s++) {
        size_t c = eco_safetensors_count(w->shards[s]);
        for (size_t i = 0; i < c; i++) {
            refs[k].t = eco_safetensors_get(w->shards[s], i);
            refs[k].shard = s;
            k++;
        }
    }
    qsort(refs, total, sizeof *refs, cmp_ref);
    /* q8_0 shards: Q8_0 views of their U8 tensors, in place of the shards' own views */
    bool *shard_q = eco_calloc_array(w->n_shards, sizeof *shard_q);
    if (!shard_q) {
        free(refs);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
    }
    size_t n_q = 0;
    eco_status qrc = ECO_STATUS_OK;
    for (size_t s = 0; s < w->n_shards && qrc == ECO_STATUS_OK; s++)
        qrc = shard_quantization(w->shards[s], &shard_q[s]);
    for (size_t i = 0; i < total && qrc == ECO_STATUS_OK; i++)
        if (shard_q[refs[i].shard] && refs[i].t->dtype == ECO_DTYPE_U8) n_q++;
    if (qrc == ECO_STATUS_OK && n_q > 0) {
        w->q8_0 = eco_calloc_array(n_q, sizeof *w->q8_0);
        if (!w->q8_0) qrc = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
        for (size_t i = 0; i < total && qrc == ECO_STATUS_OK; i++) {
            if (!shard_q[refs[i].shard] || refs[i].t->dtype != ECO_DTYPE_U8) continue;
            eco_tensor *v = &w->q8_0[w->n_q8_0];
            qrc = q8_0_view(w->shards[refs[i].shard], refs[i].t, v);
            if (qrc == ECO_STATUS_OK) {
                refs[i].t = v;
                w->n_q8_0++;
            }
        }
    }
    free(shard_q);
    if (qrc != ECO_STATUS_OK) {
        free(refs);
        return qrc;
    }
    size_t nbytes = 0;
    for (size_t i = 0; i < total; i++) {
        if (i > 0 && strcmp(refs[i - 1].t->name, refs[i].t->name) == 0) {
            eco_status rc =
                eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s' is in two shards: %s and %s", label,
                          refs[i].t->name, eco_safetensors_path(w->shards[refs[i - 1].shard]),
                          eco_safetensors_path(w->shards[refs[i].shard]));
            free(refs);
            return rc;
        }
        w->sorted[i] = refs[i].t;
        w->shard_of[i] = eco_safetensors_path(w->shards[refs[i].shard]);
        if (!eco_add_ok(nbytes, refs[i].t->nbytes, &nbytes)) {
            free(refs);
            return eco_error(ECO_STATUS_EOVERFLOW, "%s: total tensor size overflows", label);
        }
    }
    free(refs);
    w->n = total;
    w->nbytes = nbytes;
    return ECO_STATUS_OK;
}

/* A llama-family .gguf: its tensors under their HF names (eco_gguf_hf_open). */
static eco_status open_gguf(eco_weights *w, const char *file) {
    eco_status rc = eco_gguf_open(file, &w->gguf);
    if (rc == ECO_STATUS_OK) rc = eco_gguf_hf_open(w->gguf, &w->hf);
    if (rc != ECO_STATUS_OK) return rc;
    size_t total = eco_gguf_hf_count(w->hf);
    if (total == 0) return ECO_STATUS_OK;
    tensor_ref *refs = eco_malloc_array(total, sizeof *refs);
    w->sorted = eco_malloc_array(total, sizeof *w->sorted);
    w->shard_of = eco_malloc_array(total, sizeof *w->shard_of);
    if (!refs || !w->sorted || !w->shard_of) {
        free(refs);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory for %zu tensors", file, total);
    }
    for (size_t i = 0; i < total; i++) refs[i] = (tensor_ref){eco_gguf_hf_get(w->hf, i), 0};
    qsort(refs, total, sizeof *refs, cmp_ref);
    for (size_t i = 0; i < total; i++) {
        w->sorted[i] = refs[i].t;
        w->shard_of[i] = eco_gguf_label(w->gguf);
        w->nbytes += refs[i].t->nbytes; /* bounded by the mapping and the copies made */
    }
    free(refs);
    w->n = total;
    return ECO_STATUS_OK;
}

static eco_status open_single(eco_weights *w, const char *file) {
    w->shards = calloc(1, sizeof *w->shards);
    if (!w->shards) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", file);
    eco_status rc = eco_safetensors_open(file, &w->shards[0]);
    if (rc != ECO_STATUS_OK) return rc;
    w->n_shards = 1;
    return build_sorted(w, file);
}

/* A shard name must name a file directly inside the folder. */
static bool shard_name_ok(const char *s) {
    return s[0] != '\0' && strchr(s, '/') == NULL && strstr(s, "..") == NULL && strcmp(s, ".") != 0;
}

static eco_status open_index(eco_weights *w, const char *dir, const char *index_path) {
    char *text = NULL;
    size_t len = 0;
    eco_status rc = eco_read_file(index_path, INDEX_MAX_BYTES, &text, &len);
    if (rc != ECO_STATUS_OK) return rc;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!root)
        return eco_error(ECO_STATUS_EFORMAT, "%s: not valid JSON: %s (line %d, column %d)",
                         index_path, jerr.text, jerr.line, jerr.column);

    const char **names = NULL; /* distinct shard names, sorted; point into root */
    size_t n_names = 0;
    const json_t *map = NULL;
    if (!json_is_object(root)) {
        rc = eco_error(ECO_STATUS_EFORMAT, "%s: not a JSON object", index_path);
        goto out;
    }
    const json_t *meta = json_object_get(root, "metadata");
    if (meta && !json_is_object(meta) && !json_is_null(meta)) {
        rc = eco_error(ECO_STATUS_EFORMAT, "%s: 'metadata' is not an object", index_path);
        goto out;
    }
    map = json_object_get(root, "weight_map");
    if (!json_is_object(map)) {
        rc = eco_error(ECO_STATUS_EFORMAT, "%s: 'weight_map' is missing or not an object",
                       index_path);
        goto out;
    }
    size_t n_map = json_object_size(map);
    if (n_map > 0) {
        names = eco_malloc_array(n_map, sizeof *names);
        if (!names) {
            rc = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", index_path);
            goto out;
        }
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)map, key, val) {
        if (!json_is_string(val)) {
            rc = eco_error(ECO_STATUS_EFORMAT, "%s: weight_map['%s'] is not a string", index_path,
                           key);
            goto out;
        }
        const char *shard = json_string_value(val);
        if (!shard_name_ok(shard)) {
            rc =
                eco_error(ECO_STATUS_EFORMAT,
                          "%s: weight_map['%s']: shard '%s' is not a plain file name in the folder",
                          index_path, key, shard);
            goto out;
        }
        names[n_names++] = shard;
    }
    if (n_names > 1) qsort(names, n_names, sizeof *names, cmp_str_ptr);
    size_t uniq = 0;
    for (size_t i = 0; i < n_names; i++)
        if (uniq == 0 || strcmp(names[uniq - 1], names[i]) != 0) names[uniq++] = names[i];
    n_names = uniq;

    if (n_names > 0) {
        w->shards = eco_calloc_array(n_names, sizeof *w->shards);
        if (!w->shards) {
            rc = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", index_path);
            goto out;
        }
    }
    for (size_t i = 0; i < n_names; i++) {
        char *p = eco_path_join(dir, names[i]);
        if (!p) {
            rc = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", index_path);
            goto out;
        }
        rc = eco_safetensors_open(p, &w->shards[i]);
        free(p);
        if (rc != ECO_STATUS_OK) {
            rc = eco_error_wrap(rc, "%s: shard '%s'", index_path, names[i]);
            goto out;
        }
        w->n_shards = i + 1;
    }

    /* Every listed tensor in its shard. */
    json_object_foreach((json_t *)map, key, val) {
        const char *shard = json_string_value(val);
        const char **hit = bsearch(&shard, names, n_names, sizeof *names, cmp_str_ptr);
        if (!hit) {
            rc = eco_error(ECO_STATUS_EINTERNAL, "%s: shard '%s' lost", index_path, shard);
            goto out;
        }
        if (!eco_safetensors_find(w->shards[hit - names], key)) {
            rc = eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s' is not in its shard '%s'",
                           index_path, key, shard);
            goto out;
        }
    }
    rc = build_sorted(w, index_path);
    if (rc != ECO_STATUS_OK) goto out;
    /* Every tensor of a shard listed for that shard (the index and shards agree exactly). */
    for (size_t i = 0; i < w->n; i++) {
        const json_t *v = json_object_get(map, w->sorted[i]->name);
        const char *base = strrchr(w->shard_of[i], '/');
        base = base ? base + 1 : w->shard_of[i];
        if (!v) {
            rc = eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s' in shard '%s' is not in weight_map",
                           index_path, w->sorted[i]->name, base);
            goto out;
        }
        if (strcmp(json_string_value(v), base) != 0) {
            rc = eco_error(ECO_STATUS_EFORMAT,
                           "%s: tensor '%s' is in shard '%s', weight_map says '%s'", index_path,
                           w->sorted[i]->name, base, json_string_value(v));
            goto out;
        }
    }

out:
    free(names);
    json_decref(root);
    return rc;
}

eco_status eco_weights_open(const char *path, eco_weights **out) {
    if (!path || !out) return eco_error(ECO_STATUS_EINVAL, "eco_weights_open: NULL argument");
    *out = NULL;
    eco_weights *w = calloc(1, sizeof *w);
    if (!w) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    eco_status rc;
    if (eco_path_is_dir(path)) {
        char *index = eco_path_join(path, INDEX_NAME);
        char *single = eco_path_join(path, SINGLE_NAME);
        if (!index || !single) {
            rc = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
        } else if (is_regular_file(index)) {
            rc = open_index(w, path, index);
        } else if (is_regular_file(single)) {
            rc = open_single(w, single);
        } else {
            rc = eco_error(ECO_STATUS_ENOTFOUND, "%s: neither %s nor %s found", path, INDEX_NAME,
                           SINGLE_NAME);
        }
        free(index);
        free(single);
    } else if (ends_with(path, ".index.json")) {
        /* The index file itself: shards live beside it. */
        const char *slash = strrchr(path, '/');
        char *dir =
            slash ? strndup(path, (size_t)(slash - path) + (slash == path ? 1 : 0)) : strdup(".");
        if (!dir)
            rc = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
        else
            rc = open_index(w, dir, path);
        free(dir);
    } else if (eco_gguf_is_model_path(path)) {
        rc = open_gguf(w, path);
    } else {
        rc = open_single(w, path);
    }
    if (rc != ECO_STATUS_OK) {
        eco_weights_close(w);
        return rc;
    }
    *out = w;
    return ECO_STATUS_OK;
}

void eco_weights_close(eco_weights *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_shards; i++) eco_safetensors_close(w->shards[i]);
    free(w->shards);
    free(w->q8_0);
    free(w->sorted);
    free(w->shard_of);
    eco_gguf_hf_free(w->hf);
    eco_gguf_close(w->gguf);
    free(w);
}

size_t eco_weights_count(const eco_weights *w) { return w ? w->n : 0; }

const eco_tensor *eco_weights_get(const eco_weights *w, size_t i) {
    if (!w || i >= w->n) return NULL;
    return w->sorted[i];
}

const eco_tensor *eco_weights_find(const eco_weights *w, const char *name) {
    if (!w || !name) return NULL;
    size_t lo = 0, hi = w->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, w->sorted[mid]->name);
        if (c == 0) return w->sorted[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

size_t eco_weights_nbytes(const eco_weights *w) { return w ? w->nbytes : 0; }

size_t eco_weights_shard_count(const eco_weights *w) { return w ? w->n_shards : 0; }

void eco_weights_release(const eco_weights *w, const eco_tensor *t) {
    if (!w || !t) return;
    for (size_t i = 0; i < w->n_shards; i++) /* each shard ignores a range outside its map */
        eco_safetensors_release(w->shards[i], t->data, t->nbytes);
    eco_gguf_release(w->gguf, t->data, t->nbytes); /* a view into a .gguf (copies: nothing) */
}

eco_status eco_weights_check_layers(const eco_weights *w, const char *dir, int64_t n_layers) {
    static const char prefix[] = "model.layers.";
    int64_t n = 0;
    for (size_t i = 0; i < eco_weights_count(w); i++) {
        const char *name = eco_weights_get(w, i)->name;
        if (!name || strncmp(name, prefix, sizeof prefix - 1) != 0) continue;
        const char *p = name + sizeof prefix - 1;
        int64_t k = 0;
        size_t digits = 0;
        for (; *p >= '0' && *p <= '9' && digits < 10; p++, digits++) k = k * 10 + (*p - '0');
        if (digits == 0 || *p != '.') continue;
        if (k + 1 > n) n = k + 1;
    }
    if (n != n_layers)
        return eco_error(
            ECO_STATUS_EFORMAT,
            "%s/config.json: num_hidden_layers: %lld, but the weights hold %lld layers", dir,
            (long long)n_layers, (long long)n);
    return ECO_STATUS_OK;
}
