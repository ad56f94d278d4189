/*
 * safetensors reader: validates a file image and hands out zero-copy tensor views.
 *
 * The input is hostile. Every count is checked against the bytes it claims before
 * anything is allocated: the header length against the file size and
 * ECO_SAFETENSORS_MAX_HEADER, the tensor array against the number of JSON entries (which
 * the header size bounds), every byte count against numel × dtype size computed with
 * overflow checks, and the ranges together against the data buffer (contiguous from 0,
 * no gap, no overlap, last end == buffer size).
 *
 * Memory: one eco_safetensors owns an arena holding its label, tensor views, tensor
 * names, the by-name index and the metadata strings; and, when opened from a path, the
 * read-only mapping the views point into.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/file_map.h"
#include "ecology/safetensors.h"

struct eco_safetensors {
    eco_arena arena;
    const char *label; /* path or caller's label, in the arena */
    void *map;         /* mmap'd file when opened from a path, else NULL */
    size_t map_len;
    const uint8_t *buffer; /* start of the data buffer (file + 8 + N) */
    size_t buffer_len;
    size_t n;
    eco_tensor *tensors; /* [n], ascending data offset */
    size_t *by_name;     /* [n], indices into tensors sorted by name */
    size_t n_meta;
    const char **meta_keys;   /* [n_meta], sorted */
    const char **meta_values; /* [n_meta] */
};

/* ---- parsing ----------------------------------------------------------------------------- */

static const char *st_name_of(const eco_safetensors *st, size_t idx) {
    return st->tensors[idx].name;
}

typedef struct {
    size_t idx;
    uint64_t begin, end;
    const char *name;
} range_entry;

static int cmp_range(const void *a, const void *b) {
    const range_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

typedef struct {
    const char *key;
    const char *value;
} kv_entry;

static int cmp_kv(const void *a, const void *b) {
    return strcmp(((const kv_entry *)a)->key, ((const kv_entry *)b)->key);
}

typedef struct {
    const char *name;
    size_t idx;
} name_entry;

static int cmp_name(const void *a, const void *b) {
    return strcmp(((const name_entry *)a)->name, ((const name_entry *)b)->name);
}

/* Reads a JSON integer >= 0 into *out; false when the value is not such an integer. */
static bool json_nonneg_int(const json_t *v, uint64_t *out) {
    if (!json_is_integer(v)) return false;
    json_int_t x = json_integer_value(v);
    if (x < 0) return false;
    *out = (uint64_t)x;
    return true;
}

/* Validates one header entry and fills the view (data pointer set later). */
static eco_status parse_entry(const char *label, const char *name, const json_t *v,
                              size_t buffer_len, eco_tensor *t, uint64_t *begin_out,
                              uint64_t *end_out) {
    if (!json_is_object(v))
        return eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s': expected an object", label, name);
    const json_t *jdtype = NULL, *jshape = NULL, *joffs = NULL;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val) {
        if (strcmp(key, "dtype") == 0)
            jdtype = val;
        else if (strcmp(key, "shape") == 0)
            jshape = val;
        else if (strcmp(key, "data_offsets") == 0)
            joffs = val;
        else
            return eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s': unknown field '%s'", label, name,
                             key);
    }
    if (!jdtype)
        return eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s': missing field 'dtype'", label, name);
    if (!jshape)
        return eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s': missing field 'shape'", label, name);
    if (!joffs)
        return eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s': missing field 'data_offsets'", label,
                         name);

    if (!json_is_string(jdtype))
        return eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s': dtype is not a string", label, name);
    if (eco_dtype_parse(json_string_value(jdtype), &t->dtype) != ECO_STATUS_OK)
        return eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s': unknown dtype '%.32s'", label, name,
                         json_string_value(jdtype));

    if (!json_is_array(jshape))
        return eco_error(ECO_STATUS_EFORMAT, "%s: tensor '%s': shape is not an array", label, name);
    size_t ndim = json_array_size(jshape);
    if (ndim > ECO_MAX_DIMS)
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: tensor '%s': shape has %zu dimensions (at most %d)", label, name,
                         ndim, ECO_MAX_DIMS);
    t->ndim = (int)ndim;
    size_t numel = 1;
    for (size_t i = 0; i < ndim; i++) {
        uint64_t d;
        if (!json_nonneg_int(json_array_get(jshape, i), &d))
            return eco_error(ECO_STATUS_EFORMAT,
                             "%s: tensor '%s': shape[%zu] is not a non-negative integer", label,
                             name, i);
        t->shape[i] = (int64_t)d;
        if (!eco_mul_ok(numel, (size_t)d, &numel))
            return eco_error(ECO_STATUS_EOVERFLOW, "%s: tensor '%s': shape element count overflows",
                             label, name);
    }
    size_t nbytes;
    if (!eco_mul_ok(numel, eco_dtype_size(t->dtype), &nbytes))
        return eco_error(ECO_STATUS_EOVERFLOW, "%s: tensor '%s': byte size overflows", label, name);
    t->nbytes = nbytes;

    uint64_t b, e;
    if (!json_is_array(joffs) || json_array_size(joffs) != 2 ||
        !json_nonneg_int(json_array_get(joffs, 0), &b) ||
        !json_nonneg_int(json_array_get(joffs, 1), &e))
        return eco_error(
            ECO_STATUS_EFORMAT,
            "%s: tensor '%s': data_offsets is not [begin, end] of non-negative integers", label,
            name);
    if (e < b)
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: tensor '%s': data_offsets [%llu, %llu]: end before start", label,
                         name, (unsigned long long)b, (unsigned long long)e);
    if (e > buffer_len)
        return eco_error(
            ECO_STATUS_EFORMAT,
            "%s: tensor '%s': data_offsets [%llu, %llu]: beyond the data buffer of %zu bytes",
            label, name, (unsigned long long)b, (unsigned long long)e, buffer_len);
    if (e - b != nbytes)
        return eco_error(
            ECO_STATUS_EFORMAT,
            "%s: tensor '%s': data_offsets [%llu, %llu] hold %llu bytes but %s shape needs %zu",
            label, name, (unsigned long long)b, (unsigned long long)e, (unsigned long long)(e - b),
            eco_dtype_name(t->dtype), nbytes);
    *begin_out = b;
    *end_out = e;
    return ECO_STATUS_OK;
}

static eco_status parse_metadata(eco_safetensors *st, const json_t *meta) {
    const char *label = st->label;
    if (!json_is_object(meta))
        return eco_error(ECO_STATUS_EFORMAT, "%s: __metadata__ is not an object", label);
    size_t n = json_object_size(meta);
    if (n == 0) return ECO_STATUS_OK;
    size_t bytes;
    if (!eco_mul_ok(n, sizeof(kv_entry), &bytes))
        return eco_error(ECO_STATUS_EOVERFLOW, "%s: __metadata__ too large", label);
    kv_entry *kv = eco_arena_alloc(&st->arena, bytes, _Alignof(kv_entry));
    if (!kv) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory for metadata", label);
    size_t i = 0;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)meta, key, val) {
        if (!json_is_string(val))
            return eco_error(ECO_STATUS_EFORMAT, "%s: __metadata__ value of '%s' is not a string",
                             label, key);
        kv[i].key = eco_arena_strndup(&st->arena, key, strlen(key));
        kv[i].value =
            eco_arena_strndup(&st->arena, json_string_value(val), json_string_length(val));
        if (!kv[i].key || !kv[i].value)
            return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory for metadata", label);
        i++;
    }
    qsort(kv, n, sizeof *kv, cmp_kv);
    const char **keys = eco_arena_alloc(&st->arena, n * sizeof(char *), _Alignof(char *));
    const char **values = eco_arena_alloc(&st->arena, n * sizeof(char *), _Alignof(char *));
    if (!keys || !values)
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory for metadata", label);
    for (size_t k = 0; k < n; k++) {
        keys[k] = kv[k].key;
        values[k] = kv[k].value;
    }
    st->meta_keys = keys;
    st->meta_values = values;
    st->n_meta = n;
    return ECO_STATUS_OK;
}

/* Parses the header of the image `data[len]` into st (label already set). */
static eco_status parse_image(eco_safetensors *st, const uint8_t *data, size_t len) {
    const char *label = st->label;
    if (len < 8)
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: file too short (%zu bytes) for the 8-byte header length", label, len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | data[i];
    if (hlen > ECO_SAFETENSORS_MAX_HEADER)
        return eco_error(ECO_STATUS_EFORMAT, "%s: header length %llu exceeds the limit of %u bytes",
                         label, (unsigned long long)hlen, ECO_SAFETENSORS_MAX_HEADER);
    if (hlen > len - 8)
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: header length %llu goes beyond the end of the file (%zu bytes)",
                         label, (unsigned long long)hlen, len);
    if (hlen == 0 || data[8] != '{')
        return eco_error(ECO_STATUS_EFORMAT, "%s: header does not start with '{'", label);
    const uint8_t *hdr = data + 8;
    size_t bad = eco_utf8_valid_prefix(hdr, (size_t)hlen);
    if (bad != hlen)
        return eco_error(ECO_STATUS_EFORMAT, "%s: header is not valid UTF-8 (byte %zu)", label,
                         bad);

    st->buffer = hdr + hlen;
    st->buffer_len = len - 8 - (size_t)hlen;

    json_error_t jerr;
    json_t *root = json_loadb((const char *)hdr, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return eco_error(ECO_STATUS_EFORMAT, "%s: header is not valid JSON: %s (byte %d)", label,
                         jerr.text, jerr.position);
    eco_status rc = ECO_STATUS_OK;
    if (!json_is_object(root)) {
        rc = eco_error(ECO_STATUS_EFORMAT, "%s: header is not a JSON object", label);
        goto out;
    }

    /* The number of JSON entries bounds every allocation below; the header size (checked
     * above) bounds the entries. */
    size_t n_entries = json_object_size(root);
    const json_t *meta = json_object_get(root, "__metadata__");
    size_t n = n_entries - (meta ? 1 : 0);
    range_entry *ranges = NULL;
    name_entry *names = NULL;
    if (n > 0) {
        size_t b1, b2;
        if (!eco_mul_ok(n, sizeof(eco_tensor), &b1) || !eco_mul_ok(n, sizeof(size_t), &b2)) {
            rc = eco_error(ECO_STATUS_EOVERFLOW, "%s: too many tensors", label);
            goto out;
        }
        st->tensors = eco_arena_alloc(&st->arena, b1, _Alignof(eco_tensor));
        st->by_name = eco_arena_alloc(&st->arena, b2, _Alignof(size_t));
        ranges = eco_malloc_array(n, sizeof *ranges);
        names = eco_malloc_array(n, sizeof *names);
        if (!st->tensors || !st->by_name || !ranges || !names) {
            rc = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory for %zu tensors", label, n);
            goto out_free;
        }
    }

    size_t i = 0;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) continue;
        eco_tensor t;
        memset(&t, 0, sizeof t);
        uint64_t b = 0, e = 0;
        rc = parse_entry(label, key, val, st->buffer_len, &t, &b, &e);
        if (rc != ECO_STATUS_OK) goto out_free;
        ranges[i].idx = i;
        ranges[i].begin = b;
        ranges[i].end = e;
        ranges[i].name = key;
        st->tensors[i] = t;
        i++;
    }
    if (meta) {
        rc = parse_metadata(st, meta);
        if (rc != ECO_STATUS_OK) goto out_free;
    }

    /* Ranges in offset order must tile the buffer exactly. */
    if (n > 0) qsort(ranges, n, sizeof *ranges, cmp_range);
    uint64_t expect = 0;
    for (size_t k = 0; k < n; k++) {
        const range_entry *r = &ranges[k];
        if (r->begin < expect) {
            rc = eco_error(
                ECO_STATUS_EFORMAT,
                "%s: tensor '%s': data_offsets [%llu, %llu] overlap the tensor '%s' before it",
                label, r->name, (unsigned long long)r->begin, (unsigned long long)r->end,
                ranges[k - 1].name);
            goto out_free;
        }
        if (r->begin > expect) {
            rc = eco_error(ECO_STATUS_EFORMAT,
                           "%s: tensor '%s': data_offsets [%llu, %llu] leave a gap after byte %llu",
                           label, r->name, (unsigned long long)r->begin, (unsigned long long)r->end,
                           (unsigned long long)expect);
            goto out_free;
        }
        expect = r->end;
    }
    if (expect != st->buffer_len) {
        rc = eco_error(ECO_STATUS_EFORMAT,
                       "%s: tensors cover %llu bytes but the data buffer holds %zu", label,
                       (unsigned long long)expect, st->buffer_len);
        goto out_free;
    }

    /* Final layout: tensors in offset order, names copied into the arena. */
    if (n > 0) {
        eco_tensor *ordered =
            eco_arena_alloc(&st->arena, n * sizeof(eco_tensor), _Alignof(eco_tensor));
        if (!ordered) {
            rc = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory for %zu tensors", label, n);
            goto out_free;
        }
        for (size_t k = 0; k < n; k++) {
            eco_tensor t = st->tensors[ranges[k].idx];
            t.name = eco_arena_strndup(&st->arena, ranges[k].name, strlen(ranges[k].name));
            if (!t.name) {
                rc = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory for tensor names", label);
                goto out_free;
            }
            t.data = (void *)(st->buffer + ranges[k].begin);
            ordered[k] = t;
            names[k].name = t.name;
            names[k].idx = k;
        }
        st->tensors = ordered;
        qsort(names, n, sizeof *names, cmp_name);
        for (size_t k = 0; k < n; k++) st->by_name[k] = names[k].idx;
    }
    st->n = n;

out_free:
    free(ranges);
    free(names);
out:
    json_decref(root);
    return rc;
}

static eco_safetensors *st_alloc(const char *label) {
    eco_safetensors *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    eco_arena_init(&st->arena, 0);
    if (!label) label = "safetensors";
    st->label = eco_arena_strndup(&st->arena, label, strlen(label));
    if (!st->label) {
        eco_arena_free(&st->arena);
        free(st);
        return NULL;
    }
    return st;
}

eco_status eco_safetensors_open_memory(const void *data, size_t len, const char *label,
                                       eco_safetensors **out) {
    if (!out || (!data && len > 0))
        return eco_error(ECO_STATUS_EINVAL, "eco_safetensors_open_memory: NULL argument");
    *out = NULL;
    eco_safetensors *st = st_alloc(label);
    if (!st)
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label ? label : "safetensors");
    eco_status rc = parse_image(st, data, len);
    if (rc != ECO_STATUS_OK) {
        eco_safetensors_close(st);
        return rc;
    }
    *out = st;
    return ECO_STATUS_OK;
}

eco_status eco_safetensors_open(const char *path, eco_safetensors **out) {
    if (!path || !out) return eco_error(ECO_STATUS_EINVAL, "eco_safetensors_open: NULL argument");
    *out = NULL;
    void *map;
    size_t len;
    eco_status rc = eco_map_file(path, &map, &len);
    if (rc) return rc;
    eco_safetensors *st = st_alloc(path);
    if (!st) {
        if (map) munmap(map, len);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    }
    st->map = map;
    st->map_len = len;
    rc = parse_image(st, map ? map : (const void *)"", len);
    if (rc != ECO_STATUS_OK) {
        eco_safetensors_close(st);
        return rc;
    }
    *out = st;
    return ECO_STATUS_OK;
}

void eco_safetensors_close(eco_safetensors *st) {
    if (!st) return;
    if (st->map) munmap(st->map, st->map_len);
    eco_arena_free(&st->arena);
    free(st);
}

size_t eco_safetensors_count(const eco_safetensors *st) { return st ? st->n : 0; }

const eco_tensor *eco_safetensors_get(const eco_safetensors *st, size_t i) {
    if (!st || i >= st->n) return NULL;
    return &st->tensors[i];
}

const eco_tensor *eco_safetensors_find(const eco_safetensors *st, const char *name) {
    if (!st || !name) return NULL;
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, st_name_of(st, st->by_name[mid]));
        if (c == 0) return &st->tensors[st->by_name[mid]];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *eco_safetensors_metadata(const eco_safetensors *st, const char *key) {
    if (!st || !key) return NULL;
    size_t lo = 0, hi = st->n_meta;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, st->meta_keys[mid]);
        if (c == 0) return st->meta_values[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

size_t eco_safetensors_metadata_count(const eco_safetensors *st) { return st ? st->n_meta : 0; }

void eco_safetensors_metadata_at(const eco_safetensors *st, size_t i, const char **key,
                                 const char **value) {
    const char *k = NULL, *v = NULL;
    if (st && i < st->n_meta) {
        k = st->meta_keys[i];
        v = st->meta_values[i];
    }
    if (key) *key = k;
    if (value) *value = v;
}

const char *eco_safetensors_path(const eco_safetensors *st) { return st ? st->label : NULL; }

void eco_safetensors_buffer(const eco_safetensors *st, const void **data, size_t *len) {
    if (data) *data = st ? st->buffer : NULL;
    if (len) *len = st ? st->buffer_len : 0;
}

void eco_safetensors_release(const eco_safetensors *st, const void *data, size_t nbytes) {
    if (!st || !st->map || !data || nbytes == 0) return;
    const uintptr_t map0 = (uintptr_t)st->map, map1 = map0 + st->map_len;
    uintptr_t lo = (uintptr_t)data, hi = lo + nbytes;
    if (hi < lo || hi <= map0 || lo >= map1) return;
    if (lo < map0) lo = map0; /* the part inside the mapping */
    if (hi > map1) hi = map1;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uintptr_t p0 = (lo + page - 1) / page * page, p1 = hi / page * page;
    if (p0 < p1)
        (void)madvise((void *)p0, p1 - p0, MADV_DONTNEED); /* advice: failure is harmless */
}
