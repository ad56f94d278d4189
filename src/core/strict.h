/*
 * strict: the checks that the readers of hostile input in artifacts/, signing/ and registry/ share
 * (DSSE envelopes, in-toto statements, manifests, store object names, genomes). Internal to
 * the library; not under include/.
 *
 * The JSON checks refuse with EFORMAT and a message "<label>: <name>: <what>", where name is
 * the field as the reader spells it in errors ("signatures[2].keyid"), so each reader keeps
 * its own wording for where a field is.
 */
#ifndef ECO_CORE_STRICT_H
#define ECO_CORE_STRICT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "ecology/core.h"

/* Whether s (len bytes) is exactly `want` lower-case hex digits. For a NUL-terminated s of
 * unknown length pass strnlen(s, want + 1), so a longer string is refused unread. */
bool eco_strict_lower_hex(const char *s, size_t len, size_t want);

#define ECO_STRICT_SHOWN_SIZE 48

/* s (a key or value from hostile input) fit for a message: printable ASCII kept, any other
 * byte '?', at most 40 characters then "...". Returns buf. */
const char *eco_strict_shown(const char *s, char buf[ECO_STRICT_SHOWN_SIZE]);

/* The first member of obj not in allowed (NULL-terminated), or NULL. Borrowed from obj. */
const char *eco_strict_unknown_field(const json_t *obj, const char *const *allowed);

/* EFORMAT "<label>: <where>unknown field '<key>'" for the first member of obj not in
 * allowed (where is "" or ends in ": "); OK when there is none. */
eco_status eco_strict_only_fields(const json_t *obj, const char *const *allowed, const char *label,
                                  const char *where);

/* obj[field] as a string: *out (borrowed from obj) and *len, its length in bytes (it may
 * hold NULs). EFORMAT "<label>: <name>: missing" or "...: expected a string". */
eco_status eco_strict_string(const json_t *obj, const char *field, const char *label, const char *name,
                             const char **out, size_t *len);

#endif
