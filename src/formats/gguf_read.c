/*
 * GGUF reader (gguf.h): the header is parsed from a read-only mapping (or a caller's
 * image) with every length checked against the bytes left before it is trusted; keys,
 * strings and tensor names are copied NUL-terminated, fixed-size values and tensor data
 * stay in the image.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file_map.h"
#include "ecology/gguf.h"

typedef struct gguf_kv {
    char *key;
    eco_gguf_type type;
    eco_gguf_type elem; /* arrays */
    uint64_t n;         /* array count; 1 for a scalar */
    const uint8_t *raw; /* fixed-size values: the bytes in the image */
    eco_gguf_str *strs; /* STRING (1) or array of STRING (n), owned */
    char *str_block;    /* the strings' bytes, owned */
} gguf_kv;

struct eco_gguf {
    char *label;
    void *map; /* when opened from a path */
    size_t map_len;
    size_t alignment;
    gguf_kv *kv;
    size_t n_kv;
    eco_gguf_tensor *tensors;
    size_t n_tensors;
    char *names; /* tensor names, NUL-separated, owned */
};

const char *eco_ggml_type_name(uint32_t type) {
    static char buf[24];
    switch (type) {
        case ECO_GGML_F32:
            return "F32";
        case ECO_GGML_F16:
            return "F16";
        case ECO_GGML_BF16:
            return "BF16";
        case ECO_GGML_Q8_0:
            return "Q8_0";
        default:
            snprintf(buf, sizeof buf, "type %u", type);
            return buf;
    }
}

size_t eco_ggml_row_bytes(uint32_t type, int64_t n) {
    if (n < 0) return 0;
    size_t out;
    switch (type) {
        case ECO_GGML_F32:
            return eco_mul_ok((size_t)n, 4, &out) ? out : 0;
        case ECO_GGML_F16:
        case ECO_GGML_BF16:
            return eco_mul_ok((size_t)n, 2, &out) ? out : 0;
        case ECO_GGML_Q8_0:
            if (n % ECO_Q8_0_BLOCK != 0) return 0;
            return eco_mul_ok((size_t)(n / ECO_Q8_0_BLOCK), ECO_Q8_0_BLOCK_BYTES, &out) ? out : 0;
        default:
            return 0;
    }
}

/* Size of a fixed-size value type, 0 for STRING/ARRAY/unknown. */
static size_t scalar_size(uint32_t t) {
    switch (t) {
        case ECO_GGUF_UINT8:
        case ECO_GGUF_INT8:
        case ECO_GGUF_BOOL:
            return 1;
        case ECO_GGUF_UINT16:
        case ECO_GGUF_INT16:
            return 2;
        case ECO_GGUF_UINT32:
        case ECO_GGUF_INT32:
        case ECO_GGUF_FLOAT32:
            return 4;
        case ECO_GGUF_UINT64:
        case ECO_GGUF_INT64:
        case ECO_GGUF_FLOAT64:
            return 8;
        default:
            return 0;
    }
}

typedef struct cursor {
    const uint8_t *p, *end;
    const char *label;
} cursor;

static size_t left(const cursor *c) { return (size_t)(c->end - c->p); }

static bool rd_u32(cursor *c, uint32_t *v) {
    if (left(c) < 4) return false;
    memcpy(v, c->p, 4);
    c->p += 4;
    return true;
}

static bool rd_u64(cursor *c, uint64_t *v) {
    if (left(c) < 8) return false;
    memcpy(v, c->p, 8);
    c->p += 8;
    return true;
}

static eco_status truncated(const cursor *c, const char *what) {
    return eco_error(ECO_STATUS_EFORMAT, "%s: truncated in %s", c->label, what);
}

/* A string: its length and bytes, checked against what is left; not copied. */
static eco_status rd_str(cursor *c, const char *what, const uint8_t **s, size_t *len) {
    uint64_t n;
    if (!rd_u64(c, &n)) return truncated(c, what);
    if (n > left(c))
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: %s: string length %llu exceeds the %zu bytes left", c->label, what,
                         (unsigned long long)n, left(c));
    *s = c->p;
    *len = (size_t)n;
    c->p += n;
    return ECO_STATUS_OK;
}

/* Reads `n` strings (the count already checked ≥ 8 bytes each) into kv->strs/str_block. */
static eco_status rd_strings(cursor *c, gguf_kv *kv, uint64_t n) {
    const cursor start = *c;
    size_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *s = NULL;
        size_t len = 0;
        eco_status st = rd_str(c, kv->key, &s, &len);
        if (st) return st;
        total += len + 1; /* bounded by the image size */
    }
    kv->strs = eco_malloc_array(n ? (size_t)n : 1, sizeof *kv->strs);
    kv->str_block = malloc(total ? total : 1);
    if (!kv->strs || !kv->str_block)
        return eco_error(ECO_STATUS_ENOMEM, "%s: %s: out of memory for %llu strings", c->label,
                         kv->key, (unsigned long long)n);
    *c = start;
    char *at = kv->str_block;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *s = NULL;
        size_t len = 0;
        (void)rd_str(c, kv->key, &s, &len);
        if (len) memcpy(at, s, len);
        at[len] = '\0';
        kv->strs[i].s = at;
        kv->strs[i].len = len;
        at += len + 1;
    }
    return ECO_STATUS_OK;
}

static eco_status rd_value(cursor *c, gguf_kv *kv) {
    uint32_t t;
    if (!rd_u32(c, &t)) return truncated(c, kv->key);
    kv->type = (eco_gguf_type)t;
    kv->n = 1;
    if (t == ECO_GGUF_STRING) return rd_strings(c, kv, 1);
    if (t == ECO_GGUF_ARRAY) {
        uint32_t e;
        uint64_t n;
        if (!rd_u32(c, &e) || !rd_u64(c, &n)) return truncated(c, kv->key);
        kv->elem = (eco_gguf_type)e;
        kv->n = n;
        if (e == ECO_GGUF_ARRAY)
            return eco_error(ECO_STATUS_EFORMAT, "%s: %s: arrays of arrays are not supported",
                             c->label, kv->key);
        if (e == ECO_GGUF_STRING) {
            if (n > left(c) / 8)
                return eco_error(ECO_STATUS_EFORMAT,
                                 "%s: %s: %llu strings cannot fit in the %zu bytes left", c->label,
                                 kv->key, (unsigned long long)n, left(c));
            return rd_strings(c, kv, n);
        }
        size_t sz = scalar_size(e), bytes;
        if (!sz)
            return eco_error(ECO_STATUS_EFORMAT, "%s: %s: unknown array element type %u", c->label,
                             kv->key, e);
        if (n > SIZE_MAX || !eco_mul_ok((size_t)n, sz, &bytes) || bytes > left(c))
            return eco_error(ECO_STATUS_EFORMAT,
                             "%s: %s: array of %llu elements exceeds the %zu bytes left", c->label,
                             kv->key, (unsigned long long)n, left(c));
        if (e == ECO_GGUF_BOOL)
            for (size_t i = 0; i < bytes; i++)
                if (c->p[i] > 1)
                    return eco_error(ECO_STATUS_EFORMAT, "%s: %s: bool element %zu is %u", c->label,
                                     kv->key, i, c->p[i]);
        kv->raw = c->p;
        c->p += bytes;
        return ECO_STATUS_OK;
    }
    size_t sz = scalar_size(t);
    if (!sz)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: unknown value type %u", c->label, kv->key, t);
    if (sz > left(c)) return truncated(c, kv->key);
    if (t == ECO_GGUF_BOOL && c->p[0] > 1)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: bool value %u", c->label, kv->key, c->p[0]);
    kv->raw = c->p;
    c->p += sz;
    return ECO_STATUS_OK;
}

static int cmp_kv_ptr(const void *a, const void *b) {
    return strcmp((*(const gguf_kv *const *)a)->key, (*(const gguf_kv *const *)b)->key);
}

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp((*(const eco_gguf_tensor *const *)a)->name,
                  (*(const eco_gguf_tensor *const *)b)->name);
}

static int cmp_tensor_offset(const void *a, const void *b) {
    uint64_t x = (*(const eco_gguf_tensor *const *)a)->offset,
             y = (*(const eco_gguf_tensor *const *)b)->offset;
    return x < y ? -1 : x > y;
}

/* Keys unique; general.alignment a power of two u32. */
static eco_status check_kv(eco_gguf *g) {
    if (g->n_kv > 1) {
        gguf_kv **order = eco_malloc_array(g->n_kv, sizeof *order);
        if (!order) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", g->label);
        for (size_t i = 0; i < g->n_kv; i++) order[i] = &g->kv[i];
        qsort(order, g->n_kv, sizeof *order, cmp_kv_ptr);
        for (size_t i = 1; i < g->n_kv; i++)
            if (strcmp(order[i - 1]->key, order[i]->key) == 0) {
                eco_status st = eco_error(ECO_STATUS_EFORMAT, "%s: duplicate key '%s'", g->label,
                                          order[i]->key);
                free(order);
                return st;
            }
        free(order);
    }
    g->alignment = ECO_GGUF_DEFAULT_ALIGNMENT;
    int64_t ai = eco_gguf_find_key(g, "general.alignment");
    if (ai >= 0) {
        const gguf_kv *kv = &g->kv[ai];
        uint32_t a = 0;
        if (kv->type == ECO_GGUF_UINT32) memcpy(&a, kv->raw, 4);
        if (kv->type != ECO_GGUF_UINT32 || a == 0 || (a & (a - 1)) != 0)
            return eco_error(ECO_STATUS_EFORMAT,
                             "%s: general.alignment: expected a power of two (u32)", g->label);
        g->alignment = a;
    }
    return ECO_STATUS_OK;
}

static eco_status rd_tensor_info(cursor *c, eco_gguf *g, size_t i, char **name_at) {
    eco_gguf_tensor *t = &g->tensors[i];
    const uint8_t *s = NULL; /* initialised for gcc -O3's maybe-uninitialized */
    size_t len = 0;
    char what[48];
    snprintf(what, sizeof what, "tensor %zu", i);
    eco_status st = rd_str(c, what, &s, &len);
    if (st) return st;
    if (len == 0 || len > ECO_GGUF_MAX_NAME || memchr(s, '\0', len))
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: tensor %zu: name of %zu bytes (expected 1..%d, no NUL)", g->label, i,
                         len, ECO_GGUF_MAX_NAME);
    memcpy(*name_at, s, len);
    (*name_at)[len] = '\0';
    t->name = *name_at;
    *name_at += len + 1;
    uint32_t nd;
    if (!rd_u32(c, &nd)) return truncated(c, t->name);
    if (nd < 1 || nd > ECO_GGUF_MAX_DIMS)
        return eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s': %u dimensions (expected 1..%d)",
                         g->label, t->name, nd, ECO_GGUF_MAX_DIMS);
    t->n_dims = (int)nd;
    size_t numel = 1;
    for (int d = 0; d < ECO_GGUF_MAX_DIMS; d++) {
        uint64_t v = 1;
        if (d < t->n_dims && !rd_u64(c, &v)) return truncated(c, t->name);
        if (v > (uint64_t)INT64_MAX || !eco_mul_ok(numel, (size_t)v, &numel))
            return eco_error(ECO_STATUS_EOVERFLOW, "%s: tensor '%s': dimensions overflow", g->label,
                             t->name);
        t->ne[d] = (int64_t)v;
    }
    uint32_t type;
    uint64_t off;
    if (!rd_u32(c, &type) || !rd_u64(c, &off)) return truncated(c, t->name);
    t->type = type;
    t->offset = off;
    if (type != ECO_GGML_F32 && type != ECO_GGML_F16 && type != ECO_GGML_BF16 &&
        type != ECO_GGML_Q8_0)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s: tensor '%s': ggml type %u is not supported (F32, F16, BF16, Q8_0)",
                         g->label, t->name, type);
    size_t row = eco_ggml_row_bytes(type, t->ne[0]);
    if (row == 0 && t->ne[0] != 0 && (type != ECO_GGML_Q8_0 || t->ne[0] % ECO_Q8_0_BLOCK == 0))
        return eco_error(ECO_STATUS_EOVERFLOW, "%s: tensor '%s': size overflows", g->label,
                         t->name);
    if (row == 0 && t->ne[0] != 0)
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: tensor '%s': %s rows of %lld elements are not whole blocks of %d",
                         g->label, t->name, eco_ggml_type_name(type), (long long)t->ne[0],
                         ECO_Q8_0_BLOCK);
    size_t rows = t->ne[0] ? numel / (size_t)t->ne[0] : 0;
    if (!eco_mul_ok(row, rows, &t->nbytes))
        return eco_error(ECO_STATUS_EOVERFLOW, "%s: tensor '%s': size overflows", g->label,
                         t->name);
    if (off % g->alignment != 0)
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: tensor '%s': offset %llu is not a multiple of the alignment %zu",
                         g->label, t->name, (unsigned long long)off, g->alignment);
    return ECO_STATUS_OK;
}

static eco_status parse_image(eco_gguf *g, const uint8_t *data, size_t len) {
    cursor c = {data, data + len, g->label};
    if (len < 4 || memcmp(data, "GGUF", 4) != 0)
        return eco_error(ECO_STATUS_EFORMAT, "%s: not a GGUF file (no 'GGUF' magic)", g->label);
    c.p += 4;
    uint32_t version;
    uint64_t n_tensors, n_kv;
    if (!rd_u32(&c, &version)) return truncated(&c, "the header");
    if (version != 2 && version != 3)
        return eco_error(ECO_STATUS_EUNSUPPORTED, "%s: GGUF version %u (expected 3)", g->label,
                         version);
    if (!rd_u64(&c, &n_tensors) || !rd_u64(&c, &n_kv)) return truncated(&c, "the header");
    /* Each key/value takes at least 13 bytes, each tensor info at least 33. */
    if (n_kv > left(&c) / 13)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %llu keys cannot fit in the %zu bytes left",
                         g->label, (unsigned long long)n_kv, left(&c));
    if (n_kv) {
        g->kv = eco_calloc_array((size_t)n_kv, sizeof *g->kv);
        if (!g->kv) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", g->label);
    }
    for (uint64_t i = 0; i < n_kv; i++) {
        gguf_kv *kv = &g->kv[i];
        const uint8_t *s = NULL; /* initialised for gcc -O3's maybe-uninitialized */
        size_t klen = 0;
        char what[40];
        snprintf(what, sizeof what, "key %llu", (unsigned long long)i);
        eco_status st = rd_str(&c, what, &s, &klen);
        if (st) return st;
        if (klen == 0 || memchr(s, '\0', klen))
            return eco_error(ECO_STATUS_EFORMAT, "%s: key %llu is empty or holds a NUL byte",
                             g->label, (unsigned long long)i);
        if (!(kv->key = eco_bytes_dup(s, klen)))
            return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", g->label);
        g->n_kv = (size_t)i + 1;
        if ((st = rd_value(&c, kv))) return st;
    }
    eco_status st = check_kv(g);
    if (st) return st;

    if (n_tensors > left(&c) / 33)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %llu tensors cannot fit in the %zu bytes left",
                         g->label, (unsigned long long)n_tensors, left(&c));
    if (n_tensors) {
        g->tensors = eco_calloc_array((size_t)n_tensors, sizeof *g->tensors);
        /* names: at most 64 bytes each with the NUL */
        g->names = eco_malloc_array((size_t)n_tensors, ECO_GGUF_MAX_NAME + 1);
        if (!g->tensors || !g->names)
            return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory for %llu tensors", g->label,
                             (unsigned long long)n_tensors);
    }
    char *name_at = g->names;
    for (size_t i = 0; i < (size_t)n_tensors; i++) {
        if ((st = rd_tensor_info(&c, g, i, &name_at))) return st;
        g->n_tensors = i + 1;
    }
    size_t pos = (size_t)(c.p - data);
    size_t data_start = (pos + g->alignment - 1) / g->alignment * g->alignment;
    if (data_start < pos || (data_start > len && g->n_tensors > 0))
        return eco_error(ECO_STATUS_EFORMAT, "%s: the data section starts past the end of the file",
                         g->label);
    for (size_t i = pos; i < data_start && i < len; i++)
        if (data[i] != 0)
            return eco_error(ECO_STATUS_EFORMAT, "%s: non-zero padding before the data section",
                             g->label);
    size_t data_len = data_start <= len ? len - data_start : 0;
    if (g->n_tensors == 0) return ECO_STATUS_OK;

    const eco_gguf_tensor **order = eco_malloc_array(g->n_tensors, sizeof *order);
    if (!order) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", g->label);
    for (size_t i = 0; i < g->n_tensors; i++) order[i] = &g->tensors[i];
    qsort(order, g->n_tensors, sizeof *order, cmp_tensor_name);
    st = ECO_STATUS_OK;
    for (size_t i = 1; i < g->n_tensors && !st; i++)
        if (strcmp(order[i - 1]->name, order[i]->name) == 0)
            st = eco_error(ECO_STATUS_EFORMAT, "%s: duplicate tensor '%s'", g->label,
                           order[i]->name);
    if (!st) qsort(order, g->n_tensors, sizeof *order, cmp_tensor_offset);
    uint64_t prev_end = 0;
    for (size_t i = 0; i < g->n_tensors && !st; i++) {
        const eco_gguf_tensor *t = order[i];
        if (t->offset > data_len || t->nbytes > data_len - t->offset)
            st = eco_error(ECO_STATUS_EFORMAT,
                           "%s: tensor '%s': bytes [%llu, +%zu) lie outside the %zu-byte data "
                           "section",
                           g->label, t->name, (unsigned long long)t->offset, t->nbytes, data_len);
        else if (i > 0 && t->offset < prev_end)
            st = eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s' overlaps tensor '%s'", g->label,
                           t->name, order[i - 1]->name);
        prev_end = t->offset + t->nbytes;
    }
    free(order);
    if (st) return st;
    for (size_t i = 0; i < g->n_tensors; i++)
        g->tensors[i].data = data + data_start + g->tensors[i].offset;
    return ECO_STATUS_OK;
}

static eco_gguf *gguf_alloc(const char *label) {
    eco_gguf *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->label = strdup(label ? label : "(gguf)");
    if (!g->label) {
        free(g);
        return NULL;
    }
    return g;
}

eco_status eco_gguf_open_memory(const void *data, size_t len, const char *label, eco_gguf **out) {
    if (!out || (!data && len))
        return eco_error(ECO_STATUS_EINVAL, "eco_gguf_open_memory: NULL argument");
    *out = NULL;
    eco_gguf *g = gguf_alloc(label);
    if (!g) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    eco_status st = parse_image(g, data ? data : (const void *)"", len);
    if (st) {
        eco_gguf_close(g);
        return st;
    }
    *out = g;
    return ECO_STATUS_OK;
}

eco_status eco_gguf_open(const char *path, eco_gguf **out) {
    if (!path || !out) return eco_error(ECO_STATUS_EINVAL, "eco_gguf_open: NULL argument");
    *out = NULL;
    void *map;
    size_t len;
    eco_status st = eco_map_file(path, &map, &len);
    if (st) return st;
    eco_gguf *g = gguf_alloc(path);
    if (!g) {
        if (map) munmap(map, len);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    }
    g->map = map;
    g->map_len = len;
    st = parse_image(g, map ? map : (const void *)"", len);
    if (st) {
        eco_gguf_close(g);
        return st;
    }
    *out = g;
    return ECO_STATUS_OK;
}

void eco_gguf_close(eco_gguf *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n_kv; i++) {
        free(g->kv[i].key);
        free(g->kv[i].strs);
        free(g->kv[i].str_block);
    }
    free(g->kv);
    free(g->tensors);
    free(g->names);
    if (g->map) munmap(g->map, g->map_len);
    free(g->label);
    free(g);
}

const char *eco_gguf_label(const eco_gguf *g) { return g->label; }
size_t eco_gguf_alignment(const eco_gguf *g) { return g->alignment; }
size_t eco_gguf_kv_count(const eco_gguf *g) { return g ? g->n_kv : 0; }
const char *eco_gguf_kv_key(const eco_gguf *g, size_t i) {
    return g && i < g->n_kv ? g->kv[i].key : NULL;
}

int64_t eco_gguf_find_key(const eco_gguf *g, const char *key) {
    if (!g || !key) return -1;
    for (size_t i = 0; i < g->n_kv; i++)
        if (strcmp(g->kv[i].key, key) == 0) return (int64_t)i;
    return -1;
}

eco_gguf_type eco_gguf_kv_type(const eco_gguf *g, size_t i, eco_gguf_type *elem_type, uint64_t *n) {
    const gguf_kv *kv = &g->kv[i];
    if (elem_type) *elem_type = kv->elem;
    if (n) *n = kv->n;
    return kv->type;
}

/* Integer of type t at p, widened; false when it does not fit int64. */
static bool int_at(uint32_t t, const uint8_t *p, int64_t *out) {
    switch (t) {
        case ECO_GGUF_UINT8:
            *out = p[0];
            return true;
        case ECO_GGUF_INT8:
            *out = (int8_t)p[0];
            return true;
        case ECO_GGUF_UINT16: {
            uint16_t v;
            memcpy(&v, p, 2);
            *out = v;
            return true;
        }
        case ECO_GGUF_INT16: {
            int16_t v;
            memcpy(&v, p, 2);
            *out = v;
            return true;
        }
        case ECO_GGUF_UINT32: {
            uint32_t v;
            memcpy(&v, p, 4);
            *out = v;
            return true;
        }
        case ECO_GGUF_INT32: {
            int32_t v;
            memcpy(&v, p, 4);
            *out = v;
            return true;
        }
        case ECO_GGUF_UINT64: {
            uint64_t v;
            memcpy(&v, p, 8);
            if (v > (uint64_t)INT64_MAX) return false;
            *out = (int64_t)v;
            return true;
        }
        case ECO_GGUF_INT64: {
            int64_t v;
            memcpy(&v, p, 8);
            *out = v;
            return true;
        }
        default:
            return false;
    }
}

static const gguf_kv *find_kv(const eco_gguf *g, const char *key) {
    int64_t i = eco_gguf_find_key(g, key);
    return i < 0 ? NULL : &g->kv[i];
}

eco_status eco_gguf_get_int(const eco_gguf *g, const char *key, int64_t *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv) return ECO_STATUS_ENOTFOUND;
    if (kv->type == ECO_GGUF_ARRAY || kv->type == ECO_GGUF_STRING ||
        !int_at(kv->type, kv->raw, out))
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: expected an integer", g->label, key);
    return ECO_STATUS_OK;
}

eco_status eco_gguf_get_float(const eco_gguf *g, const char *key, double *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv) return ECO_STATUS_ENOTFOUND;
    if (kv->type == ECO_GGUF_FLOAT32) {
        float f;
        memcpy(&f, kv->raw, 4);
        *out = f;
    } else if (kv->type == ECO_GGUF_FLOAT64) {
        memcpy(out, kv->raw, 8);
    } else {
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: expected a float", g->label, key);
    }
    return ECO_STATUS_OK;
}

eco_status eco_gguf_get_bool(const eco_gguf *g, const char *key, bool *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv) return ECO_STATUS_ENOTFOUND;
    if (kv->type != ECO_GGUF_BOOL)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: expected a bool", g->label, key);
    *out = kv->raw[0] != 0;
    return ECO_STATUS_OK;
}

eco_status eco_gguf_get_str(const eco_gguf *g, const char *key, eco_gguf_str *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv) return ECO_STATUS_ENOTFOUND;
    if (kv->type != ECO_GGUF_STRING)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: expected a string", g->label, key);
    *out = kv->strs[0];
    return ECO_STATUS_OK;
}

eco_status eco_gguf_get_str_array(const eco_gguf *g, const char *key, const eco_gguf_str **items,
                                  uint64_t *n) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv) return ECO_STATUS_ENOTFOUND;
    if (kv->type != ECO_GGUF_ARRAY || kv->elem != ECO_GGUF_STRING)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: expected an array of strings", g->label, key);
    *items = kv->strs;
    *n = kv->n;
    return ECO_STATUS_OK;
}

eco_status eco_gguf_get_int_array(const eco_gguf *g, const char *key, int64_t **out, uint64_t *n) {
    *out = NULL;
    const gguf_kv *kv = find_kv(g, key);
    if (!kv) return ECO_STATUS_ENOTFOUND;
    size_t sz = kv->type == ECO_GGUF_ARRAY ? scalar_size(kv->elem) : 0;
    if (!sz || kv->elem == ECO_GGUF_BOOL || kv->elem == ECO_GGUF_FLOAT32 ||
        kv->elem == ECO_GGUF_FLOAT64)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: expected an array of integers", g->label,
                         key);
    int64_t *v = eco_malloc_array(kv->n ? (size_t)kv->n : 1, sizeof *v);
    if (!v) return eco_error(ECO_STATUS_ENOMEM, "%s: %s: out of memory", g->label, key);
    for (uint64_t i = 0; i < kv->n; i++)
        if (!int_at(kv->elem, kv->raw + i * sz, &v[i])) {
            free(v);
            return eco_error(ECO_STATUS_EFORMAT, "%s: %s: element %llu out of range", g->label, key,
                             (unsigned long long)i);
        }
    *out = v;
    *n = kv->n;
    return ECO_STATUS_OK;
}

eco_status eco_gguf_get_float_array(const eco_gguf *g, const char *key, double **out, uint64_t *n) {
    *out = NULL;
    const gguf_kv *kv = find_kv(g, key);
    if (!kv) return ECO_STATUS_ENOTFOUND;
    if (kv->type != ECO_GGUF_ARRAY ||
        (kv->elem != ECO_GGUF_FLOAT32 && kv->elem != ECO_GGUF_FLOAT64))
        return eco_error(ECO_STATUS_EFORMAT, "%s: %s: expected an array of floats", g->label, key);
    double *v = eco_malloc_array(kv->n ? (size_t)kv->n : 1, sizeof *v);
    if (!v) return eco_error(ECO_STATUS_ENOMEM, "%s: %s: out of memory", g->label, key);
    for (uint64_t i = 0; i < kv->n; i++) {
        if (kv->elem == ECO_GGUF_FLOAT32) {
            float f;
            memcpy(&f, kv->raw + i * 4, 4);
            v[i] = f;
        } else {
            memcpy(&v[i], kv->raw + i * 8, 8);
        }
    }
    *out = v;
    *n = kv->n;
    return ECO_STATUS_OK;
}

size_t eco_gguf_tensor_count(const eco_gguf *g) { return g ? g->n_tensors : 0; }

const eco_gguf_tensor *eco_gguf_tensor_at(const eco_gguf *g, size_t i) {
    return g && i < g->n_tensors ? &g->tensors[i] : NULL;
}

const eco_gguf_tensor *eco_gguf_find_tensor(const eco_gguf *g, const char *name) {
    if (!g || !name) return NULL;
    for (size_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0) return &g->tensors[i];
    return NULL;
}

void eco_gguf_release(const eco_gguf *g, const void *data, size_t nbytes) {
    if (!g || !g->map || !data || nbytes == 0) return;
    const uintptr_t map0 = (uintptr_t)g->map, map1 = map0 + g->map_len;
    const uintptr_t lo = (uintptr_t)data, hi = lo + nbytes;
    if (lo < map0 || hi > map1 || hi < lo) return;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t p0 = (lo + page - 1) / page * page, p1 = hi / page * page;
    if (p0 < p1) (void)madvise((void *)p0, p1 - p0, MADV_DONTNEED); /* advice only */
}

bool eco_gguf_is_model_path(const char *path) {
    if (!path) return false;
    size_t n = strlen(path);
    return n > 5 && strcasecmp(path + n - 5, ".gguf") == 0 && !eco_path_is_dir(path);
}
