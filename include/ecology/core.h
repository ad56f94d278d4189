/*
 * core: the pieces every other module stands on.
 *
 *  - eco_status: one enum of failure kinds whose numbers never change, and a per-thread
 *    error message that says what was being done and what was found ("model.safetensors:
 *    tensor 'x': data_offsets [10, 4] end before start"). Library code never exits.
 *  - logging with levels (ECOLOGY_LOG=debug|info|warn|error, default info), to stderr.
 *  - an arena (bump allocator in chained blocks) for many small allocations freed together.
 *  - overflow-checked size arithmetic for every allocation sized from input.
 *  - atomic file writes: temp file in the same folder, fsync, rename, fsync of the folder.
 *  - SHA-256 through OpenSSL's EVP interface.
 *  - canonical JSON on jansson: sorted keys, no insignificant white space.
 *  - a progress line for long work, and a small deterministic RNG.
 */
#ifndef ECOLOGY_CORE_H
#define ECOLOGY_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status ------------------------------------------------------------------------ */

/* Numbers are stable: never renumber, only append. */
typedef enum eco_status {
    ECO_STATUS_OK = 0,
    ECO_STATUS_EINVAL = 1,       /* invalid argument (caller error or bad user value) */
    ECO_STATUS_ENOMEM = 2,       /* allocation failed */
    ECO_STATUS_EIO = 3,          /* open/read/write/mmap/fsync/rename failed */
    ECO_STATUS_EFORMAT = 4,      /* malformed input file or data */
    ECO_STATUS_EUNSUPPORTED = 5, /* well-formed but a feature this build does not handle */
    ECO_STATUS_ENOTFOUND = 6,    /* a named file, tensor, token or entry does not exist */
    ECO_STATUS_EOVERFLOW = 7,    /* size arithmetic would overflow */
    ECO_STATUS_ERANGE = 8,       /* a value outside its allowed range (token id, context) */
    ECO_STATUS_EEXIST = 9,       /* already exists with different content */
    ECO_STATUS_ECONFLICT = 10,   /* compare-and-swap or concurrent update lost */
    ECO_STATUS_EINTEGRITY = 11,  /* content does not match its recorded hash */
    ECO_STATUS_ESIGNATURE = 12,  /* missing, invalid or untrusted signature */
    ECO_STATUS_EINTERNAL = 13,   /* a bug: an invariant did not hold */
    ECO_STATUS_EINCOMPAT = 14,   /* models whose compatibility identity differs (a merge) */
    ECO_STATUS_EGATE = 15,       /* refused by a gate (no accepted report, a failed check) */
    ECO_STATUS__COUNT
} eco_status;

/* Short stable name of a status ("EFORMAT"); never NULL. */
const char *eco_status_str(eco_status st);

/* Records a formatted message as this thread's last error and returns `st`, so that
 * failing paths read `return eco_error(ECO_STATUS_EFORMAT, "%s: ...", path);`. */
eco_status eco_error(eco_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
eco_status eco_verror(eco_status st, const char *fmt, va_list ap);

/* Prepends "<context>: " to this thread's last error message (e.g. a file name added by
 * an outer caller) and returns `st`. */
eco_status eco_error_wrap(eco_status st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* This thread's last error message ("" when none). Valid until the next eco_error call on
 * this thread. */
const char *eco_last_error(void);
void eco_clear_error(void);

/* ---- debug assertions ------------------------------------------------------------ */

/* ECO_ASSERT(cond): an invariant that no input can break (a kernel's shapes, alignment,
 * non-NULL buffers its callers guarantee), in the manner of SQLite's assert and curl's
 * DEBUGASSERT. Compiled in only when ECO_DEBUG_ASSERT is defined (the sanitizer build,
 * CMake option ECO_SANITIZE), where a false condition prints it with its place and aborts;
 * otherwise it expands to nothing and cond is not evaluated. Never a substitute for an
 * eco_status on input: anything a file, request or user can reach is checked and returned. */
#ifdef ECO_DEBUG_ASSERT
#define ECO_ASSERT(cond) ((cond) ? (void)0 : eco_assert_fail(#cond, __FILE__, __LINE__, __func__))
/* Prints "ECO_ASSERT(cond) failed at file:line (func)" to stderr and aborts; for ECO_ASSERT
 * only, and only in the builds that define ECO_DEBUG_ASSERT (the release library has no
 * abort at all). */
_Noreturn void eco_assert_fail(const char *cond, const char *file, int line, const char *func);
#else
#define ECO_ASSERT(cond) ((void)0)
#endif

/* ---- logging ----------------------------------------------------------------------- */

typedef enum eco_log_level {
    ECO_LOG_DEBUG = 0,
    ECO_LOG_INFO = 1,
    ECO_LOG_WARN = 2,
    ECO_LOG_ERROR = 3,
    ECO_LOG_OFF = 4
} eco_log_level;

void eco_log_set_level(eco_log_level level);
eco_log_level eco_log_get_level(void);
/* Parses "debug|info|warn|error|off"; returns ECO_STATUS_EINVAL for anything else. */
eco_status eco_log_level_parse(const char *s, eco_log_level *out);
/* Sets the level from ECOLOGY_LOG (unset or empty: info). ECO_STATUS_EINVAL, naming the
 * variable and the accepted levels, for an unknown level (the level is then info): a
 * program calls this first so that a misspelt level is reported, not silently ignored. */
eco_status eco_log_init_from_env(void);
void eco_log(eco_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ECO_DEBUG(...) eco_log(ECO_LOG_DEBUG, __VA_ARGS__)
#define ECO_INFO(...)  eco_log(ECO_LOG_INFO, __VA_ARGS__)
#define ECO_WARN(...)  eco_log(ECO_LOG_WARN, __VA_ARGS__)

/* ---- checked size arithmetic --------------------------------------------------------- */

/* *out = a * b; false (and *out untouched) on overflow. */
static inline bool eco_mul_ok(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool eco_add_ok(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
/* Product of n dimensions, each >= 0; false on a negative dimension or overflow. */
bool eco_shape_numel(const int64_t *shape, int ndim, size_t *out);

/* malloc/calloc of count*size with an overflow check; NULL on overflow or failure.
 * The caller owns the result and frees it with free(). */
void *eco_malloc_array(size_t count, size_t size);
void *eco_calloc_array(size_t count, size_t size);
/* strdup that returns NULL on failure; caller frees. */
char *eco_strdup(const char *s);
/* A NUL-terminated malloc'd copy of the n bytes at s (NUL bytes among them copied as they
 * are; s may be NULL when n == 0); NULL when out of memory. Caller frees. */
char *eco_bytes_dup(const void *s, size_t n);

/* Zeroed memory for a large buffer that is filled a little at a time (a KV cache): from
 * 2 MiB up, an anonymous mapping, 2 MiB-aligned and marked MADV_HUGEPAGE, so that filling
 * it takes one page fault per 2 MiB instead of one per 4 KiB where the kernel allows
 * transparent huge pages (pages are committed only as they are touched); below that,
 * calloc. NULL on failure; free with eco_free_large and the same byte count. */
void *eco_zalloc_large(size_t bytes);
void eco_free_large(void *p, size_t bytes);

/* ---- arena ------------------------------------------------------------------------- */

typedef struct eco_arena_block eco_arena_block;
typedef struct eco_arena {
    eco_arena_block *head; /* newest block first */
    size_t block_size;     /* default size of a new block */
    size_t used_total;     /* bytes handed out, for reporting */
} eco_arena;

/* block_size 0 picks 64 KiB. No allocation happens until the first eco_arena_alloc. */
void eco_arena_init(eco_arena *a, size_t block_size);
/* Returns zeroed memory aligned to `align` (a power of two <= 4096) or NULL when out of
 * memory or on overflow. Owned by the arena; freed by eco_arena_free. */
void *eco_arena_alloc(eco_arena *a, size_t size, size_t align);
char *eco_arena_strndup(eco_arena *a, const char *s, size_t n);
void eco_arena_free(eco_arena *a);

/* ---- files ------------------------------------------------------------------------- */

/* Reads a whole file into a NUL-terminated malloc'd buffer; refuses files larger than
 * max_bytes (ECO_STATUS_ERANGE). Caller frees *data. */
eco_status eco_read_file(const char *path, size_t max_bytes, char **data, size_t *len);

/* An atomic write in progress: data goes to "<path>.tmp.<pid>.<n>" and appears at `path`
 * only on commit (fsync, rename, fsync of the folder). */
typedef struct eco_atomic_file {
    FILE *fp;
    char *path;
    char *tmp_path;
} eco_atomic_file;

eco_status eco_atomic_file_open(eco_atomic_file *af, const char *path);
eco_status eco_atomic_file_write(eco_atomic_file *af, const void *data, size_t len);
/* Flushes, fsyncs, renames into place and fsyncs the folder. Always releases af. */
eco_status eco_atomic_file_commit(eco_atomic_file *af);
/* Removes the temp file and releases af; safe to call after a failed commit or twice. */
void eco_atomic_file_abort(eco_atomic_file *af);
/* One-shot: writes len bytes atomically. */
eco_status eco_write_file_atomic(const char *path, const void *data, size_t len);
/* mkdir -p; fine if it exists. */
eco_status eco_mkdir_p(const char *path);
/* "<dir>/<name>" in a malloc'd string; NULL on failure. */
char *eco_path_join(const char *dir, const char *name);
bool eco_path_is_dir(const char *path);
/* rm -rf: path and everything under it (links not followed); a missing path is OK. */
eco_status eco_remove_tree(const char *path);

/* ---- output folders (outdir.c) ------------------------------------------------------ */

/* A folder written as a whole (a model, an adapter): into a temporary sibling
 * "<parent>/.<name>.tmp.<pid>.<n>", put in place by one rename at commit, so a crash
 * leaves the old folder or the new one under the final name, never half of one. keep names
 * an entry of the old folder that moves into the new one (a run's ".work"). */
typedef struct eco_output_dir {
    char *path; /* the final folder (its real path when it existed) */
    char *tmp;  /* the temporary sibling to write into */
    char *keep; /* or NULL */
} eco_output_dir;

#define ECO_OUTPUT_FORCE 1u      /* replace a folder that holds more than keep */
#define ECO_WORK_DIR     ".work" /* a run's working files (checkpoints) inside its output folder */

/* Whether out may be written: OK when it does not exist. EINVAL when out is one of the
 * n_inputs paths (same device and inode; NULL entries skipped) or a folder holding one
 * outside out/keep, whatever the flags; EEXIST when out is not a folder, or holds entries
 * other than keep and flags lack ECO_OUTPUT_FORCE (the message names a few and --force). */
eco_status eco_output_check(const char *out, const char *const *inputs, size_t n_inputs,
                            const char *keep, unsigned flags);
/* eco_output_check, then creates out's parent folders and the temporary sibling o->tmp.
 * On success the caller writes into o->tmp and calls eco_output_commit or _abort. */
eco_status eco_output_begin(eco_output_dir *o, const char *out, const char *const *inputs,
                            size_t n_inputs, const char *keep, unsigned flags);
/* fsyncs everything in o->tmp, moves path/keep (when present) into it, puts it in place of
 * path (an atomic exchange with an existing folder, whose old contents are then removed;
 * a rename otherwise) and fsyncs the parent folder. Always releases o; on failure the old
 * folder stays as it was and the temporary one is removed. */
eco_status eco_output_commit(eco_output_dir *o);
/* Removes o->tmp and releases o; safe after a commit, on a zeroed o, or twice. */
void eco_output_abort(eco_output_dir *o);
/* true when dir/name is a regular file. */
bool eco_path_has_file(const char *dir, const char *name);
/* ECO_STATUS_OK when path is a folder. Else ECO_STATUS_ENOTFOUND "PATH: no such folder
 * (expected EXPECTED)" or ECO_STATUS_EINVAL "PATH: is a file, expected EXPECTED" (a user who
 * gives config.json for a model folder is told so). */
eco_status eco_path_require_dir(const char *path, const char *expected);
/* What eco_path_require_dir says a model folder holds. */
#define ECO_MODEL_DIR_EXPECTED "a model folder (config.json, model.safetensors, tokenizer.json)"

/* The lineage record a command leaves in the model folder it makes without training
 * (`model create`, `model merge`; training leaves training.json), read by the registry's
 * add (ingest.c) to record how the model was made. Canonical JSON:
 *   {"tool": "ecology", "version": "0.1.0",
 *    "operation": {"name": "create" | "merge", "params": {...}, "seed": N},
 *    "parents": [{"role": "base" | "adapter", "path": "...", "file": "model.safetensors",
 *                 "sha256": hex}, ...]}
 * create: params {"preset", "dtype", "init_std"}, no parents. merge: params {"lora": the
 * adapter's adapter_config.json}, parents the base (its model.safetensors, or the shard
 * index) and the adapter (adapter_model.safetensors), which add finds among registered
 * models by those files' digests. */
#define ECO_LINEAGE_FILE "lineage.json"

/* ---- SHA-256 (OpenSSL EVP) --------------------------------------------------------- */

#define ECO_SHA256_LEN     32
#define ECO_SHA256_HEX_LEN 64

typedef struct eco_sha256_ctx eco_sha256_ctx;
eco_status eco_sha256_begin(eco_sha256_ctx **ctx);
eco_status eco_sha256_update(eco_sha256_ctx *ctx, const void *data, size_t len);
/* Writes the digest and frees ctx. */
eco_status eco_sha256_end(eco_sha256_ctx *ctx, uint8_t out[ECO_SHA256_LEN]);
void eco_sha256_abort(eco_sha256_ctx *ctx);
eco_status eco_sha256(const void *data, size_t len, uint8_t out[ECO_SHA256_LEN]);
eco_status eco_sha256_file(const char *path, uint8_t out[ECO_SHA256_LEN]);
/* Lower-case hex; out has room for 2*n+1 bytes. */
void eco_hex(char *out, const uint8_t *bytes, size_t n);
/* SHA-256 of data (len bytes), of a file, in lower-case hex with a NUL. */
eco_status eco_sha256_hex(const void *data, size_t len, char out[ECO_SHA256_HEX_LEN + 1]);
eco_status eco_sha256_file_hex(const char *path, char out[ECO_SHA256_HEX_LEN + 1]);
/* Whether s (len bytes) is exactly `want` lower-case hex digits. For a NUL-terminated s of
 * unknown length pass strnlen(s, want + 1), so a longer string is refused unread. */
bool eco_hex_is_lower(const char *s, size_t len, size_t want);

/* ---- canonical JSON --------------------------------------------------------------- */

/* jansson's json_t, declared here so headers need not include jansson. */
struct json_t;
/* Serialises with sorted keys and no insignificant white space (UTF-8 kept as is).
 * *out is malloc'd and NUL-terminated; caller frees. */
eco_status eco_json_canonical(const struct json_t *value, char **out, size_t *len);
/* json_dumps(value, flags) plus a trailing newline (as transformers and tokenizers write
 * their files): *out malloc'd and NUL-terminated, *len (if not NULL) counts the newline;
 * ENOMEM naming `what` when jansson or the allocation fails. */
eco_status eco_json_dumps_line(const struct json_t *value, size_t flags, const char *what,
                               char **out, size_t *len);
/* Writes value as canonical JSON plus a newline to path, atomically. */
eco_status eco_json_write_canonical_file(const char *path, const struct json_t *value);
/* Parses text[0..len) (NULL with len 0: empty) as JSON with duplicate keys refused,
 * jansson's JSON_* decode flags added (JSON_ALLOW_NUL, JSON_DECODE_ANY): *out a new
 * reference; EFORMAT "LABEL: invalid JSON at line L column C: why" otherwise. */
eco_status eco_json_parse(const char *text, size_t len, size_t flags, const char *label,
                          struct json_t **out);
/* Parses text as JSON and re-serialises it canonically (label names the source). */
eco_status eco_json_canonicalize(const char *text, size_t len, const char *label, char **out,
                                 size_t *out_len);

/* ---- progress ---------------------------------------------------------------------- */

/* A progress line for long work: on a terminal, "label  done/total unit  rate/s  eta" is
 * redrawn at most 10 times a second; otherwise one summary line is printed at the end. */
typedef struct eco_progress {
    const char *label;
    const char *unit;
    double total;
    double done;
    double t_start;
    double t_last_draw;
    bool tty;
    bool quiet;
} eco_progress;

void eco_progress_begin(eco_progress *p, const char *label, double total, const char *unit);
void eco_progress_update(eco_progress *p, double done);
void eco_progress_end(eco_progress *p);

/* ---- time, threads, RNG ------------------------------------------------------------ */

/* Monotonic seconds. */
double eco_now(void);
/* The most threads a run uses, whatever asks (--threads, OMP_NUM_THREADS, the CPU count):
 * libgomp crashes creating a team of 100,000. */
#define ECO_MAX_THREADS 1024
/* Sets the thread count for OpenMP kernels and OpenBLAS; n <= 0 keeps the default, n above
 * ECO_MAX_THREADS is clamped to it with a warning. A count above ECO_MAX_THREADS from the
 * environment (OMP_NUM_THREADS) or the CPU count is clamped, with a warning, when the
 * library is loaded. */
void eco_set_threads(int n);
int eco_get_threads(void);

/* xoshiro256** seeded through splitmix64: same seed, same stream, on every platform. */
typedef struct eco_rng {
    uint64_t s[4];
} eco_rng;
void eco_rng_seed(eco_rng *r, uint64_t seed);
uint64_t eco_rng_next(eco_rng *r);
/* Uniform in [0, 1) with 53 bits. */
double eco_rng_uniform(eco_rng *r);
/* Standard normal (Box-Muller, no cached second value, so streams stay simple). */
double eco_rng_normal(eco_rng *r);

#define ECO_VERSION_STRING "0.1.0"

/* ---- growable buffer ----------------------------------------------------------------- */

/* A NUL-terminated growable byte string (the one buffer of the library, after curl's
 * dynbuf). Zero-initialise it; data is NULL until the first append. Functions return false
 * when out of memory or when the size would overflow, and the buffer then keeps what it
 * had. data is owned by the buffer: eco_buf_free, or take it and zero the struct. */
typedef struct eco_buf {
    char *data;
    size_t len, cap;
} eco_buf;

bool eco_buf_reserve(eco_buf *b, size_t extra); /* room for extra more bytes and the NUL */
bool eco_buf_append(eco_buf *b, const void *data, size_t n);
bool eco_buf_push(eco_buf *b, char c);
bool eco_buf_puts(eco_buf *b, const char *s);
bool eco_buf_printf(eco_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void eco_buf_reset(eco_buf *b); /* len 0, memory kept */
void eco_buf_free(eco_buf *b);

/* ---- lines of text ------------------------------------------------------------------ */

/* A cursor over the lines of text[0..len) (JSONL corpora, prompt files, term lists): each
 * line without its '\n' (a '\r' before it is kept); a last line without '\n' counts, and
 * text that ends in '\n' has no empty line after it. The text is borrowed. */
typedef struct eco_lines {
    const char *text;
    size_t len, pos;
    int64_t line; /* 1-based number of the line eco_lines_next returned last; 0 before */
} eco_lines;

/* Starts a cursor at text[0..len); with skip_bom, past a leading UTF-8 byte order mark. */
void eco_lines_init(eco_lines *it, const char *text, size_t len, bool skip_bom);
/* The next line in *s and *n (it->line its number); false, and nothing set, at the end. */
bool eco_lines_next(eco_lines *it, const char **s, size_t *n);
/* Whether s[0..n) holds only spaces, tabs and carriage returns (true when n == 0). */
bool eco_text_is_blank(const char *s, size_t n);
/* The answer part of a model output or completion (the one rule of tasks.h's
 * eco_tasks_answer_span and of evaluator.h's exact check): the text before the first
 * '\n' (or all of it), without leading and trailing spaces, tabs and carriage returns.
 * Sets *start and *alen to a span inside s[0..len). */
void eco_text_answer_span(const char *s, size_t len, size_t *start, size_t *alen);

/* ---- UTF-8 --------------------------------------------------------------------------- */

/* Length (1..4) of the valid UTF-8 sequence at s[0..n) and its code point in *cp, or 0 when
 * s[0] does not start one (n == 0, a continuation byte, an overlong form, a surrogate, a
 * code point past U+10FFFF, a sequence cut short). */
size_t eco_utf8_decode(const void *s, size_t n, uint32_t *cp);
/* Writes cp (<= U+10FFFF) as UTF-8 into out; returns its length (1..4). */
size_t eco_utf8_encode(uint32_t cp, char out[4]);
/* Offset of the first byte of s[0..n) that does not start a valid sequence; n when all is
 * valid UTF-8. */
size_t eco_utf8_valid_prefix(const void *s, size_t n);
/* A copy of s[0..n) with every byte that does not start a valid sequence replaced by
 * U+FFFD; NUL-terminated, malloc'd (caller frees), length in *out_len. NULL when out of
 * memory. */
char *eco_utf8_lossy(const void *s, size_t n, size_t *out_len);

/* ---- sorted numbers ----------------------------------------------------------------- */

/* qsort comparator for doubles, ascending (NaNs are the caller's to keep out). */
int eco_cmp_double(const void *a, const void *b);
/* A value with the index it came from, for sorting values while keeping their origin. */
typedef struct eco_keyed {
    double v;
    size_t i;
} eco_keyed;
/* qsort comparator for eco_keyed: v ascending, then i ascending (a total order, so the
 * result does not depend on qsort's handling of ties). */
int eco_cmp_keyed(const void *a, const void *b);
/* The first j in [0, n) with sorted[j] >= x (numpy's searchsorted side='left'); n when none
 * is. sorted ascending. */
size_t eco_lower_bound(const double *sorted, size_t n, double x);
/* The nearest-rank pct-th percentile of the n values sorted ascending (sorted[0] the
 * smallest): rank r = ceil(pct/100 · n) computed in integers as (pct·n + 99) / 100, at
 * least 1; the value is sorted[r − 1]. So p50 of {1,2,3,4} is 2, p95 of 20 values is the
 * 19th, p99 of 100 values the 99th, p95 of 1 value that value. pct in 1..100, n >= 1;
 * otherwise EINVAL. */
eco_status eco_percentile_nearest_rank(const double *sorted, size_t n, unsigned pct, double *out);

#ifdef __cplusplus
}
#endif
#endif
