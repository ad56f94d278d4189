/*
 * GGUF writer (gguf.h): the metadata is serialised as it is added; tensors are laid out
 * in the order added, each at the next multiple of the alignment, as ggml's writer does.
 * The file goes out through eco_atomic_file (temp file, fsync, rename), tensor by tensor,
 * so a fill callback needs one tensor's buffer at a time.
 */
#include <stdlib.h>
#include <string.h>

#include "ecology/gguf.h"

typedef struct wtensor {
    char *name;
    uint32_t type;
    int n_dims;
    int64_t ne[ECO_GGUF_MAX_DIMS];
    size_t nbytes;
    uint64_t offset;
    const void *data;
    eco_gguf_fill_fn fill;
    void *ctx;
} wtensor;

struct eco_gguf_writer {
    size_t alignment;
    eco_buf kv; /* serialised key/values */
    uint64_t n_kv;
    char **keys;
    wtensor *t;
    size_t n_t, cap_t;
    uint64_t data_size;
};

static bool put(eco_buf *b, const void *p, size_t n) { return eco_buf_append(b, p, n); }
static bool put_u32(eco_buf *b, uint32_t v) { return put(b, &v, 4); }
static bool put_u64(eco_buf *b, uint64_t v) { return put(b, &v, 8); }
static bool put_str(eco_buf *b, const char *s) {
    size_t n = strlen(s);
    return put_u64(b, n) && put(b, s, n);
}

eco_gguf_writer *eco_gguf_writer_new(size_t alignment) {
    if (alignment == 0) alignment = ECO_GGUF_DEFAULT_ALIGNMENT;
    if (alignment < 8 || (alignment & (alignment - 1)) != 0 || alignment > UINT32_MAX) return NULL;
    eco_gguf_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->alignment = alignment;
    if (alignment != ECO_GGUF_DEFAULT_ALIGNMENT &&
        eco_gguf_add_u32(w, "general.alignment", (uint32_t)alignment) != ECO_STATUS_OK) {
        eco_gguf_writer_free(w);
        return NULL;
    }
    return w;
}

void eco_gguf_writer_free(eco_gguf_writer *w) {
    if (!w) return;
    for (uint64_t i = 0; i < w->n_kv; i++) free(w->keys[i]);
    free(w->keys);
    for (size_t i = 0; i < w->n_t; i++) free(w->t[i].name);
    free(w->t);
    eco_buf_free(&w->kv);
    free(w);
}

/* Registers key (unique) and writes it with its type. */
static eco_status begin_kv(eco_gguf_writer *w, const char *key, uint32_t type) {
    if (!w || !key || !*key) return eco_error(ECO_STATUS_EINVAL, "gguf writer: empty key");
    for (uint64_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->keys[i], key) == 0)
            return eco_error(ECO_STATUS_EINVAL, "gguf writer: key '%s' added twice", key);
    char **k = realloc(w->keys, (size_t)(w->n_kv + 1) * sizeof *k);
    if (!k) return eco_error(ECO_STATUS_ENOMEM, "gguf writer: out of memory");
    w->keys = k;
    if (!(k[w->n_kv] = strdup(key)))
        return eco_error(ECO_STATUS_ENOMEM, "gguf writer: out of memory");
    w->n_kv++;
    if (!put_str(&w->kv, key) || !put_u32(&w->kv, type))
        return eco_error(ECO_STATUS_ENOMEM, "gguf writer: out of memory");
    return ECO_STATUS_OK;
}

static eco_status add_scalar(eco_gguf_writer *w, const char *key, uint32_t type, const void *v,
                             size_t n) {
    eco_status st = begin_kv(w, key, type);
    if (st) return st;
    return put(&w->kv, v, n) ? ECO_STATUS_OK
                             : eco_error(ECO_STATUS_ENOMEM, "gguf writer: out of memory");
}

eco_status eco_gguf_add_str(eco_gguf_writer *w, const char *key, const char *value) {
    eco_status st = begin_kv(w, key, ECO_GGUF_STRING);
    if (st) return st;
    return put_str(&w->kv, value) ? ECO_STATUS_OK
                                  : eco_error(ECO_STATUS_ENOMEM, "gguf writer: out of memory");
}

eco_status eco_gguf_add_u32(eco_gguf_writer *w, const char *key, uint32_t value) {
    return add_scalar(w, key, ECO_GGUF_UINT32, &value, 4);
}
eco_status eco_gguf_add_i32(eco_gguf_writer *w, const char *key, int32_t value) {
    return add_scalar(w, key, ECO_GGUF_INT32, &value, 4);
}
eco_status eco_gguf_add_f32(eco_gguf_writer *w, const char *key, float value) {
    return add_scalar(w, key, ECO_GGUF_FLOAT32, &value, 4);
}
eco_status eco_gguf_add_bool(eco_gguf_writer *w, const char *key, bool value) {
    uint8_t b = value ? 1 : 0;
    return add_scalar(w, key, ECO_GGUF_BOOL, &b, 1);
}

static eco_status add_array(eco_gguf_writer *w, const char *key, uint32_t elem, const void *items,
                            size_t n, size_t size) {
    eco_status st = begin_kv(w, key, ECO_GGUF_ARRAY);
    if (st) return st;
    if (!put_u32(&w->kv, elem) || !put_u64(&w->kv, n))
        return eco_error(ECO_STATUS_ENOMEM, "gguf writer: out of memory");
    if (elem == ECO_GGUF_STRING) {
        const char *const *s = items;
        for (size_t i = 0; i < n; i++)
            if (!put_str(&w->kv, s[i]))
                return eco_error(ECO_STATUS_ENOMEM, "gguf writer: out of memory");
        return ECO_STATUS_OK;
    }
    size_t bytes;
    if (!eco_mul_ok(n, size, &bytes) || (bytes && !put(&w->kv, items, bytes)))
        return eco_error(ECO_STATUS_ENOMEM, "gguf writer: out of memory");
    return ECO_STATUS_OK;
}

eco_status eco_gguf_add_str_array(eco_gguf_writer *w, const char *key, const char *const *items,
                                  size_t n) {
    return add_array(w, key, ECO_GGUF_STRING, items, n, 0);
}
eco_status eco_gguf_add_i32_array(eco_gguf_writer *w, const char *key, const int32_t *items,
                                  size_t n) {
    return add_array(w, key, ECO_GGUF_INT32, items, n, 4);
}
eco_status eco_gguf_add_f32_array(eco_gguf_writer *w, const char *key, const float *items,
                                  size_t n) {
    return add_array(w, key, ECO_GGUF_FLOAT32, items, n, 4);
}

eco_status eco_gguf_add_tensor(eco_gguf_writer *w, const char *name, uint32_t type, int ndim,
                               const int64_t *shape, const void *data, eco_gguf_fill_fn fill,
                               void *ctx) {
    if (!w || !name || !shape || (!data && !fill))
        return eco_error(ECO_STATUS_EINVAL, "gguf writer: NULL argument");
    size_t len = strlen(name);
    if (len == 0 || len > ECO_GGUF_MAX_NAME)
        return eco_error(ECO_STATUS_EINVAL, "gguf writer: tensor name '%s' is not 1..%d bytes",
                         name, ECO_GGUF_MAX_NAME);
    if (ndim < 1 || ndim > ECO_GGUF_MAX_DIMS)
        return eco_error(ECO_STATUS_EINVAL, "gguf writer: tensor '%s': %d dimensions", name, ndim);
    for (size_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return eco_error(ECO_STATUS_EINVAL, "gguf writer: tensor '%s' added twice", name);
    wtensor t = {.type = type, .n_dims = ndim, .data = data, .fill = fill, .ctx = ctx};
    size_t numel = 1;
    for (int d = 0; d < ECO_GGUF_MAX_DIMS; d++) {
        t.ne[d] = d < ndim ? shape[ndim - 1 - d] : 1;
        if (t.ne[d] < 0 || !eco_mul_ok(numel, (size_t)t.ne[d], &numel))
            return eco_error(ECO_STATUS_EINVAL, "gguf writer: tensor '%s': bad shape", name);
    }
    size_t row = eco_ggml_row_bytes(type, t.ne[0]);
    if (row == 0 && t.ne[0] != 0)
        return eco_error(ECO_STATUS_EINVAL, "gguf writer: tensor '%s': %s rows of %lld elements",
                         name, eco_ggml_type_name(type), (long long)t.ne[0]);
    if (!eco_mul_ok(row, t.ne[0] ? numel / (size_t)t.ne[0] : 0, &t.nbytes))
        return eco_error(ECO_STATUS_EOVERFLOW, "gguf writer: tensor '%s': size overflows", name);
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? 2 * w->cap_t : 64;
        wtensor *g = realloc(w->t, cap * sizeof *g);
        if (!g) return eco_error(ECO_STATUS_ENOMEM, "gguf writer: out of memory");
        w->t = g;
        w->cap_t = cap;
    }
    if (!(t.name = strdup(name))) return eco_error(ECO_STATUS_ENOMEM, "gguf writer: out of memory");
    t.offset = w->data_size;
    uint64_t padded = (t.nbytes + w->alignment - 1) / w->alignment * w->alignment;
    w->data_size += padded;
    w->t[w->n_t++] = t;
    return ECO_STATUS_OK;
}

/* The header: magic .. tensor infos, padded to the alignment. */
static eco_status build_header(eco_gguf_writer *w, eco_buf *h) {
    bool ok = put(h, "GGUF", 4) && put_u32(h, ECO_GGUF_VERSION) && put_u64(h, w->n_t) &&
              put_u64(h, w->n_kv) && put(h, w->kv.data ? w->kv.data : "", w->kv.len);
    for (size_t i = 0; ok && i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        ok = put_str(h, t->name) && put_u32(h, (uint32_t)t->n_dims);
        for (int d = 0; ok && d < t->n_dims; d++) ok = put_u64(h, (uint64_t)t->ne[d]);
        ok = ok && put_u32(h, t->type) && put_u64(h, t->offset);
    }
    static const uint8_t zeros[64];
    while (ok && h->len % w->alignment) ok = put(h, zeros, 1);
    return ok ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "gguf writer: out of memory");
}

typedef eco_status (*sink_fn)(void *sink, const void *data, size_t n);

static eco_status write_all(eco_gguf_writer *w, sink_fn sink, void *s) {
    eco_buf h = {0};
    eco_status st = build_header(w, &h);
    if (!st) st = sink(s, h.data, h.len);
    eco_buf_free(&h);
    static const uint8_t zeros[256];
    for (size_t i = 0; i < w->n_t && !st; i++) {
        const wtensor *t = &w->t[i];
        if (t->data) {
            st = sink(s, t->data, t->nbytes);
        } else {
            void *buf = malloc(t->nbytes ? t->nbytes : 1);
            if (!buf)
                return eco_error(ECO_STATUS_ENOMEM,
                                 "gguf writer: tensor '%s': out of memory for %zu bytes", t->name,
                                 t->nbytes);
            st = t->fill(t->ctx, buf, t->nbytes);
            if (!st) st = sink(s, buf, t->nbytes);
            free(buf);
        }
        size_t pad = (w->alignment - t->nbytes % w->alignment) % w->alignment;
        while (!st && pad) {
            size_t k = pad < sizeof zeros ? pad : sizeof zeros;
            st = sink(s, zeros, k);
            pad -= k;
        }
    }
    return st;
}

static eco_status sink_file(void *s, const void *data, size_t n) {
    return n ? eco_atomic_file_write(s, data, n) : ECO_STATUS_OK;
}

static eco_status sink_buf(void *s, const void *data, size_t n) {
    return !n || eco_buf_append(s, data, n)
               ? ECO_STATUS_OK
               : eco_error(ECO_STATUS_ENOMEM, "gguf writer: out of memory");
}

eco_status eco_gguf_write_file(eco_gguf_writer *w, const char *path) {
    if (!w || !path) return eco_error(ECO_STATUS_EINVAL, "eco_gguf_write_file: NULL argument");
    eco_atomic_file af;
    eco_status st = eco_atomic_file_open(&af, path);
    if (st) return st;
    st = write_all(w, sink_file, &af);
    if (st) {
        eco_atomic_file_abort(&af);
        return st;
    }
    return eco_atomic_file_commit(&af);
}

eco_status eco_gguf_write_memory(eco_gguf_writer *w, uint8_t **out, size_t *out_len) {
    if (!w || !out || !out_len)
        return eco_error(ECO_STATUS_EINVAL, "eco_gguf_write_memory: NULL argument");
    eco_buf b = {0};
    eco_status st = write_all(w, sink_buf, &b);
    if (st) {
        eco_buf_free(&b);
        return st;
    }
    if (!b.data && !eco_buf_reserve(&b, 1)) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    *out = (uint8_t *)b.data;
    *out_len = b.len;
    return ECO_STATUS_OK;
}
