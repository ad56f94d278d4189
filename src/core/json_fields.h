/*
 * json_fields: what the JSON readers in src/formats (config.json, adapter_config.json)
 * share. Internal to the library; not under include/.
 *
 * Each reader keeps its own wording for errors (config.json names a field "field 'x'",
 * adapter_config.json names it "x"), so the typed readers here take the name as it should
 * appear in the message. jf_read_doc / jf_write_doc are the load and write halves every
 * "<file> or <folder>/<default name>" document shares; jf_real_digits is the precision that
 * writes each real back exactly.
 */
#ifndef ECO_CORE_JSON_FIELDS_H
#define ECO_CORE_JSON_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "ecology/core.h"

/* The member `field` of obj, or NULL when it is absent or JSON null (both mean "use the
 * default"). Borrowed from obj. */
const json_t *jf_opt(const json_t *obj, const char *field);

/* The boolean obj[field] into *out; absent or null leaves *out as it is (the caller sets
 * the default first). A value of another type is EFORMAT "<label>: <shown>: expected true
 * or false". */
eco_status jf_bool(const char *label, const json_t *obj, const char *field, const char *shown,
                   bool *out);

/* The fewest %.*g digits (at most 17) that print v so it reads back exactly, and no fewer
 * than its integer digits when 1 <= |v| < 1e16 (so 10000 prints "10000.0", not "1e4"). */
int jf_real_digits(double v);

/* Reads the document at `path`, or at path/name when path is a folder, refusing more than
 * max_bytes. On success *file (the path read: the label for messages) and *text (NUL
 * terminated, *len bytes) are the caller's to free; on error both are NULL or the caller's
 * to free (free(NULL) is fine). */
eco_status jf_read_doc(const char *path, const char *name, size_t max_bytes, char **file, char **text,
                       size_t *len);

/* Writes text (len bytes) atomically to `path`, or to path/name when path is a folder.
 * text stays the caller's. */
eco_status jf_write_doc(const char *path, const char *name, const char *text, size_t len);

#endif
