/* Overflow-checked allocation helpers and the arena. */
#include "ecology/core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

bool eco_shape_numel(const int64_t *shape, int ndim, size_t *out) {
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return false;
        if (!eco_mul_ok(n, (size_t)shape[i], &n)) return false;
    }
    *out = n;
    return true;
}

void *eco_malloc_array(size_t count, size_t size) {
    size_t bytes;
    if (!eco_mul_ok(count, size, &bytes)) return NULL;
    return malloc(bytes ? bytes : 1);
}

void *eco_calloc_array(size_t count, size_t size) {
    size_t bytes;
    if (!eco_mul_ok(count, size, &bytes)) return NULL;
    return calloc(bytes ? count : 1, bytes ? size : 1);
}

#define HUGE_PAGE ((size_t)2 << 20)

/* Decoding writes one row of each layer's cache per token: with 4 KiB pages a new page,
 * and a fault (microseconds under a hypervisor), every few tokens in every layer, a
 * measurable share of a decode step; with 2 MiB pages, one fault per 2 MiB. */
void *eco_zalloc_large(size_t bytes) {
    if (bytes < HUGE_PAGE)
        return calloc(bytes ? bytes : 1, 1); /* a huge page would be mostly waste */
    size_t len;
    if (!eco_add_ok(bytes, HUGE_PAGE - 1, &len)) return NULL;
    len &= ~(HUGE_PAGE - 1);
    size_t map_len;
    if (!eco_add_ok(len, HUGE_PAGE, &map_len)) return NULL;
    char *map = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) return NULL;
    /* keep the 2 MiB-aligned [p, p + len) and unmap the rest of the slack */
    char *p = (char *)(((uintptr_t)map + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (p > map) munmap(map, (size_t)(p - map));
    if (map + map_len > p + len) munmap(p + len, (size_t)(map + map_len - (p + len)));
#ifdef MADV_HUGEPAGE
    (void)madvise(p, len, MADV_HUGEPAGE); /* advice only: without THP, 4 KiB pages */
#endif
    return p;
}

void eco_free_large(void *p, size_t bytes) {
    if (!p) return;
    if (bytes < HUGE_PAGE) {
        free(p);
        return;
    }
    munmap(p, (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
}

char *eco_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

char *eco_bytes_dup(const void *s, size_t n) {
    char *p = n < SIZE_MAX ? malloc(n + 1) : NULL;
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* ---- arena: a list of blocks, newest first; allocations bump within the head block. */

struct eco_arena_block {
    eco_arena_block *next;
    size_t cap;
    size_t used;
    _Alignas(64) unsigned char data[];
};

void eco_arena_init(eco_arena *a, size_t block_size) {
    a->head = NULL;
    a->block_size = block_size ? block_size : (size_t)64 * 1024;
    a->used_total = 0;
}

void *eco_arena_alloc(eco_arena *a, size_t size, size_t align) {
    if (align == 0) align = 1;
    if (align > 4096 || (align & (align - 1)) != 0) return NULL;
    eco_arena_block *b = a->head;
    if (b) {
        uintptr_t at = (uintptr_t)(b->data + b->used);
        size_t start = b->used + (size_t)((align - (at & (align - 1))) & (align - 1));
        size_t end;
        if (start <= b->cap && eco_add_ok(start, size, &end) && end <= b->cap) {
            b->used = end;
            a->used_total += size;
            return memset(b->data + start, 0, size);
        }
    }
    size_t need, cap = a->block_size;
    if (!eco_add_ok(size, align, &need)) return NULL;
    if (need > cap) cap = need;
    size_t total;
    if (!eco_add_ok(sizeof(eco_arena_block), cap, &total)) return NULL;
    b = aligned_alloc(64, (total + 63) & ~(size_t)63);
    if (!b) return NULL;
    b->cap = cap;
    b->used = 0;
    b->next = a->head;
    a->head = b;
    size_t start = 0; /* data is 64-aligned; align <= 4096 may need padding */
    uintptr_t base = (uintptr_t)b->data;
    if (base & (align - 1)) start = align - (base & (align - 1));
    b->used = start + size;
    a->used_total += size;
    return memset(b->data + start, 0, size);
}

char *eco_arena_strndup(eco_arena *a, const char *s, size_t n) {
    size_t bytes;
    if (!eco_add_ok(n, 1, &bytes)) return NULL;
    char *p = eco_arena_alloc(a, bytes, 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void eco_arena_free(eco_arena *a) {
    eco_arena_block *b = a->head;
    while (b) {
        eco_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}
