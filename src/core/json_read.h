/*
 * json_read: the one JSON field reader every parser of a JSON document uses (config.json,
 * adapter_config.json, tokenizer.json, recipes, genomes, in-toto statements, DSSE
 * envelopes). Internal to the library; not under include/.
 *
 * A reader (eco_jr) is a JSON object plus where it sits: the file, as messages name it, and
 * the object's path inside the document ("" at the root, "lineage.operation", "data[2]").
 * Every message has one shape, "<file>: <path>.<key>: <problem>", with one wording for each
 * problem:
 *
 *   missing                     a required field is absent
 *   expected an integer         (a number, a string, true or false, an object, an array)
 *   <x> outside [<lo>, <hi>]    a number out of range
 *   unknown field '<key>'       a key the format does not have ("<file>: <path>: ...")
 *
 * Every problem is EFORMAT (a document's content is a format matter), except where the
 * caller says EUNSUPPORTED. Keys come from hostile input: messages show them through eco_json_shown (printable ASCII
 * kept, every other byte \xNN, at most 48 bytes then "..."), so a key cannot forge a line
 * of output or hide in one. Absent and JSON null are the same for optional fields ("use
 * the default"), as Hugging Face's readers treat them.
 *
 * The doc helpers (eco_json_read_doc / eco_json_write_doc) are the load and write halves
 * of every "<file> or <folder>/<default name>" document; eco_json_real_digits is the
 * precision that writes a real back exactly.
 */
#ifndef ECO_CORE_JSON_READ_H
#define ECO_CORE_JSON_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ecology/core.h"

#define ECO_JR_PATH_MAX     256
#define ECO_JSON_SHOWN_SIZE 200

typedef struct eco_jr {
    const char *file;         /* how messages name the document (borrowed) */
    const json_t *obj;        /* the object whose fields are read (borrowed) */
    char at[ECO_JR_PATH_MAX]; /* where obj sits: "" at the root */
} eco_jr;

/* A reader for obj at the root of `file`. */
eco_jr eco_jr_root(const char *file, const json_t *obj);
/* A reader for obj, the member `key` of parent (path "<parent>.<key>"). */
eco_jr eco_jr_child(const eco_jr *parent, const char *key, const json_t *obj);
/* A reader for obj, entry i of the array parent[key] (path "<parent>.<key>[i]"). */
eco_jr eco_jr_item(const eco_jr *parent, const char *key, size_t i, const json_t *obj);

/* s (len bytes, from hostile input) fit for a message: printable ASCII kept, any other
 * byte as \xNN, cut with "..." past the buffer. Returns buf. */
const char *eco_json_shown(const char *s, size_t len, char buf[ECO_JSON_SHOWN_SIZE]);

/* "<path>.<key>" (key shown escaped; key NULL: the object's own path) into buf. */
const char *eco_jr_name(const eco_jr *r, const char *key, char buf[ECO_JR_PATH_MAX]);

/* Returns code with the message "<file>: <path>.<key>: <fmt...>" (key NULL: the object
 * itself; at the root with no key, "<file>: <fmt...>"). */
eco_status eco_jr_fail(const eco_jr *r, const char *key, eco_status code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The member `key`, or NULL when it is absent or null. Borrowed. */
const json_t *eco_jr_opt(const eco_jr *r, const char *key);
/* The member `key` into *v (borrowed, possibly JSON null); "missing" when absent. */
eco_status eco_jr_need(const eco_jr *r, const char *key, const json_t **v);

/* Typed getters. Absent: "missing" when required, else OK with *out unchanged (the caller
 * sets the default first). Null reads as absent for an optional field and as the wrong type
 * for a required one. */
eco_status eco_jr_int(const eco_jr *r, const char *key, bool required, int64_t lo, int64_t hi,
                      int64_t *out);
/* A finite number in [lo, hi]. */
eco_status eco_jr_num(const eco_jr *r, const char *key, bool required, double lo, double hi,
                      double *out);
eco_status eco_jr_bool(const eco_jr *r, const char *key, bool required, bool *out);
/* A string (borrowed from the document); *len (may be NULL) its bytes. nul_ok false refuses
 * a string holding a NUL ("holds a NUL byte"). */
eco_status eco_jr_str(const eco_jr *r, const char *key, bool required, bool nul_ok,
                      const char **out, size_t *len);
/* An object or an array (borrowed). */
eco_status eco_jr_object(const eco_jr *r, const char *key, bool required, const json_t **out);
eco_status eco_jr_array(const eco_jr *r, const char *key, bool required, const json_t **out);

/* The same checks on a value in hand (an array entry, a map value): name is how the
 * message names it, below the reader's path ("vocab['a']", "[3]" names an entry). */
eco_status eco_jr_int_value(const eco_jr *r, const char *name, const json_t *v, int64_t lo,
                            int64_t hi, int64_t *out);
eco_status eco_jr_num_value(const eco_jr *r, const char *name, const json_t *v, double lo,
                            double hi, double *out);
eco_status eco_jr_str_value(const eco_jr *r, const char *name, const json_t *v, bool nul_ok,
                            const char **out, size_t *len);

/* Refuses the first member of the object not in allowed (NULL-terminated): EFORMAT
 * "<file>: <path>: unknown field '<key>'". A key holding a NUL is never allowed. */
eco_status eco_jr_only(const eco_jr *r, const char *const *allowed);
/* eco_jr_only, then each of keys must be present ("missing"); the object must be one. */
eco_status eco_jr_exact(const eco_jr *r, const char *const *keys);

/* ---- documents ------------------------------------------------------------------------ */

/* Reads the document at `path`, or at path/name when path is a folder, refusing more than
 * max_bytes. On success *file (the path read: the label for messages) and *text (NUL
 * terminated, *len bytes) are the caller's to free; on error both are NULL or the caller's
 * to free (free(NULL) is fine). */
eco_status eco_json_read_doc(const char *path, const char *name, size_t max_bytes, char **file,
                             char **text, size_t *len);

/* eco_json_read_doc, then parse(text, len, file read, out): the whole of a "<file> or
 * <folder>/<default name>" loader. */
typedef eco_status (*eco_json_parse_fn)(const char *text, size_t len, const char *label, void *out);
eco_status eco_json_load_doc(const char *path, const char *name, size_t max_bytes,
                             eco_json_parse_fn parse, void *out);

/* The write half: st is how serialising went; when OK, text (len bytes) is written
 * atomically to `path`, or to path/name when path is a folder; otherwise st comes back with
 * path added to its message. text is freed here in every case. */
eco_status eco_json_write_doc(const char *path, const char *name, eco_status st, char *text,
                              size_t len);

/* The fewest %.*g digits (at most 17) that print v so it reads back exactly, and no fewer
 * than its integer digits when 1 <= |v| < 1e16 (so 10000 prints "10000.0", not "1e4"). */
int eco_json_real_digits(double v);

#endif
