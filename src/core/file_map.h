/*
 * file_map: mapping a whole file read-only, the first step of every loader that reads a
 * weight file in place (safetensors_read.c, gguf_read.c). Internal to the library; not
 * under include/.
 */
#ifndef ECO_CORE_FILE_MAP_H
#define ECO_CORE_FILE_MAP_H

#include "ecology/core.h"

#include <stddef.h>

/* Maps the regular file at `path` read-only (MAP_PRIVATE, PROT_READ). On success *map and
 * *len describe the whole file; an empty file gives *map NULL and *len 0 (mmap refuses a
 * zero length). The caller owns the mapping: munmap(*map, *len) when *map is not NULL. The
 * descriptor is closed before returning. ENOTFOUND when the file is absent; EIO when it
 * cannot be opened or stat'd, is not a regular file (a folder, a device) or mmap fails;
 * EOVERFLOW when it is larger than size_t. Messages name the path. file.c. */
eco_status eco_map_file(const char *path, void **map, size_t *len);

#endif
