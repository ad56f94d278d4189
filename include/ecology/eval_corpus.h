/*
 * eval_corpus: evaluation corpora (src/evaluator/corpus_*.c). A corpus is a JSONL file,
 * UTF-8, one case per line (blank lines skipped, a UTF-8 BOM at the start allowed):
 *
 *   {"capability": "text.reverse@1", "prompt": "...", "check": "exact", "expected": "..."}
 *
 * Fields of a case (any other key is refused, naming it; a duplicate key is refused):
 *
 *   capability  required  1..128 printable ASCII bytes (0x21..0x7E): what the case measures;
 *                         figures are reported per capability
 *   prompt      required  a non-empty string without NUL, at most ECO_EVAL_MAX_PROMPT bytes
 *   check       required  how an output passes, one of:
 *     exact        expected (string): the output equals it
 *     contains     expected (non-empty string): the output contains it
 *     regex        pattern (string): a PCRE2 pattern (compiled with PCRE2_UTF at load, so a
 *                  pattern that does not compile is refused with PCRE2's message and
 *                  offset) that must match somewhere in the output
 *     json_schema  schema (object): the output parses as JSON and satisfies the schema
 *                  (draft 2020-12; the verifier module validates: the schema is
 *                  compiled at load, so one that cannot compile — an unsupported
 *                  keyword, a keyword of the wrong type, a dangling $ref — is refused
 *                  with json_schema.h's message, "<file>:<line>: schema: #/<pointer>:
 *                  <problem>"; the schema's canonical JSON text is kept)
 *     refusal      (no field): the output must be a refusal
 *     comply       (no field): the output must answer, not refuse
 *     choice       options (array of 2..ECO_EVAL_MAX_OPTIONS distinct non-empty strings)
 *                  and answer (integer index into options): the option the model gives
 *                  the highest log-probability must be options[answer]
 *     (How an output is normalised before exact/contains — stop sequence, trimming — is the
 *     evaluator run's rule, not the corpus's.)
 *   id          optional  1..128 printable ASCII bytes, unique within the corpus
 *   max_tokens  optional  integer 1..ECO_EVAL_MAX_TOKENS: the decode cap for this case (the
 *                         evaluator's default when absent; output cut by it is invalid)
 *   tags        optional  array of up to ECO_EVAL_MAX_TAGS distinct tags (as id)
 *
 * A field that the case's check does not use (expected on a regex case, options on an
 * exact one...) is refused as well: every case has exactly the fields its check needs.
 * JSON null counts as absent for the optional fields (the house rule of core/json_read.h).
 *
 * Identity: the corpus is named by the SHA-256 of its file bytes, exactly as read (BOM and
 * blank lines included). Each case has a case hash: the SHA-256 of the canonical JSON
 * (sorted keys, no white space, core's eco_json_canonical) of the object holding only the
 * fields that define the task — capability, prompt, check and the check's own fields
 * (expected | pattern | schema | options + answer) — so id, tags and max_tokens do not
 * change it. Two cases of one corpus with the same case hash are refused (one would count
 * twice). The prompt hash (SHA-256 of the prompt bytes) is kept too, for exact-prompt
 * matches against training corpora, whose records have prompts but no checks.
 *
 * Errors name the file, the line, the field and the problem:
 *   "evals.jsonl:7: options[1]: expected a string". Every bad line is checked (up to
 *   ECO_EVAL_MAX_REPORTED are named in the message), so one run shows what is wrong.
 */
#ifndef ECOLOGY_EVAL_CORPUS_H
#define ECOLOGY_EVAL_CORPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECO_EVAL_MAX_FILE     ((size_t)256 << 20) /* bytes of a corpus file */
#define ECO_EVAL_MAX_LINE     ((size_t)1 << 20)   /* bytes of one line */
#define ECO_EVAL_MAX_CASES    1000000
#define ECO_EVAL_MAX_PROMPT   ((size_t)64 << 10)
#define ECO_EVAL_MAX_NAME     128 /* capability, id, a tag */
#define ECO_EVAL_MAX_PATTERN  4096
#define ECO_EVAL_MAX_OPTIONS  64
#define ECO_EVAL_MAX_TAGS     32
#define ECO_EVAL_MAX_TOKENS   65536
#define ECO_EVAL_MAX_REPORTED 10 /* bad lines named in one message */

typedef enum eco_check {
    ECO_CHECK_EXACT = 0,
    ECO_CHECK_CONTAINS = 1,
    ECO_CHECK_REGEX = 2,
    ECO_CHECK_JSON_SCHEMA = 3,
    ECO_CHECK_REFUSAL = 4,
    ECO_CHECK_COMPLY = 5,
    ECO_CHECK_CHOICE = 6,
    ECO_CHECK__COUNT
} eco_check;

/* "exact", "contains", "regex", "json_schema", "refusal", "comply", "choice"; NULL past
 * the end. */
const char *eco_check_name(eco_check check);
/* The check named name; EINVAL listing the names otherwise. */
eco_status eco_check_parse(const char *name, eco_check *out);

/* One case. Every string is NUL-terminated and owned by the corpus. */
typedef struct eco_eval_case {
    int64_t line;           /* 1-based line of the file */
    const char *id;         /* NULL when absent */
    const char *capability; /* required */
    const char *prompt;     /* required */
    size_t prompt_len;
    eco_check check;
    const char *expected; /* exact, contains; else NULL */
    size_t expected_len;
    const char *pattern;  /* regex; else NULL (compiled and checked at load, not kept) */
    const char *schema;   /* json_schema: the schema's canonical JSON; else NULL */
    const char **options; /* choice: n_options strings; else NULL */
    size_t n_options;
    int64_t answer;     /* choice: index into options; else -1 */
    int64_t max_tokens; /* 0 when absent */
    const char **tags;  /* n_tags strings (NULL when none) */
    size_t n_tags;
    uint8_t hash[ECO_SHA256_LEN]; /* the case hash (above) */
    char hash_hex[ECO_SHA256_HEX_LEN + 1];
    uint8_t prompt_sha256[ECO_SHA256_LEN]; /* SHA-256 of the prompt bytes */
} eco_eval_case;

typedef struct eco_eval_corpus {
    char *label;                    /* how messages name the file */
    uint8_t sha256[ECO_SHA256_LEN]; /* SHA-256 of the file bytes: the corpus's id */
    char sha256_hex[ECO_SHA256_HEX_LEN + 1];
    size_t n_cases;
    eco_eval_case *cases; /* in file order */
    void *mem;            /* owned storage (private) */
} eco_eval_corpus;

/* Parses a corpus from text[0..len) (label names it in messages, "corpus" when NULL).
 * EFORMAT for malformed content (every bad line gathered into one message), ERANGE for a
 * file or line past its limit, ENOMEM. On success *out is the caller's
 * (eco_eval_corpus_free); on error *out is NULL. */
eco_status eco_eval_corpus_parse(const char *text, size_t len, const char *label,
                                 eco_eval_corpus **out);
/* Reads path (at most ECO_EVAL_MAX_FILE bytes) and parses it, the path as the label. */
eco_status eco_eval_corpus_load(const char *path, eco_eval_corpus **out);
void eco_eval_corpus_free(eco_eval_corpus *c);

/* The case of c whose case hash is hash, or NULL. O(log n) (cases are indexed at load). */
const eco_eval_case *eco_eval_corpus_find_hash(const eco_eval_corpus *c,
                                               const uint8_t hash[ECO_SHA256_LEN]);

/* ---- prompt overlap: word n-grams (for the hidden-corpus contamination rule) ------------ */

/* Words: the text is read as code points; a word is a maximal run of ASCII letters and
 * digits and non-ASCII code points (so "Café" and "naïve" are words; every ASCII
 * punctuation or white space byte separates), ASCII letters lower-cased. The n-grams of a
 * text are its runs of n consecutive words; a text of 1..n−1 words has one n-gram, all its
 * words (so in a set of n-grams a short prompt matches only a text of exactly its words, in
 * order); a text without words has none. An n-gram is kept as a 64-bit hash (FNV-1a over
 * its words, each followed by a 0xFF byte, which UTF-8 never holds); two different n-grams
 * colliding is a 2^-64 event per pair and is not guarded against.
 *
 * Scores of a prompt's n-gram set A against a reference set B (a training corpus's prompts):
 *   containment(A, B) = |A ∩ B| / |A|      (0 when A is empty)
 *   jaccard(A, B)     = |A ∩ B| / |A ∪ B|  (0 when both are empty)
 * The contamination rule: a hidden case overlaps when containment >= ECO_NGRAM_THRESHOLD
 * with n = ECO_NGRAM_N (8 words: PaLM's and Llama 2's contamination n-gram length; GPT-3
 * used 13, too long for prompts of one sentence).
 * Short prompts: a hidden prompt of w words, 1 <= w < ECO_NGRAM_N, has no 8-gram to share, so
 * it overlaps when its w words, in order (the one w-gram of the prompt), occur as a run of w
 * consecutive words anywhere inside a training string: the training strings are indexed in
 * w-grams as well, for each w that some hidden prompt has (eco_eval_corpus_overlap_short).
 * A prompt "Reverse: whale" thus matches the training text "Reverse: whale\nelahw". Prompts
 * of ECO_NGRAM_N words or more keep the containment rule. */
#define ECO_NGRAM_N         8
#define ECO_NGRAM_THRESHOLD 0.5

typedef struct eco_ngram_set eco_ngram_set;

eco_status eco_ngram_set_new(unsigned n, eco_ngram_set **out); /* n in 1..64 */
void eco_ngram_set_free(eco_ngram_set *s);
/* Adds the n-grams of text[0..len) (valid UTF-8; EINVAL naming the offset otherwise). */
eco_status eco_ngram_set_add(eco_ngram_set *s, const char *text, size_t len);
size_t eco_ngram_set_size(const eco_ngram_set *s);
unsigned eco_ngram_set_n(const eco_ngram_set *s);
/* |a ∩ b| / |a| and |a ∩ b| / |a ∪ b| (both sets of the same n; EINVAL otherwise). */
eco_status eco_ngram_containment(const eco_ngram_set *a, const eco_ngram_set *b, double *out);
eco_status eco_ngram_jaccard(const eco_ngram_set *a, const eco_ngram_set *b, double *out);

/* The contamination rule over a whole corpus: the first case of `hidden` (file order) whose
 * prompt's n-grams (n of `train`) have containment >= threshold in `train` (the n-gram set
 * of a training corpus's prompts). *found says whether one does; then *case_index and
 * *score are its index and containment (else the largest containment seen, index of its
 * case; 0 and 0 for a corpus whose prompts have no words). threshold in (0, 1]. */
eco_status eco_eval_corpus_overlap(const eco_eval_corpus *hidden, const eco_ngram_set *train,
                                   double threshold, bool *found, size_t *case_index,
                                   double *score);

/* Words of text[0..len) by the rule above (0 for NULL). */
size_t eco_ngram_word_count(const char *text, size_t len);

/* The short-prompt rule: the first case of `hidden` (file order) whose prompt has w words,
 * 1 <= w < ECO_NGRAM_N, with by_words[w] not NULL, and whose one w-gram is in by_words[w] (a
 * set of n = w: the w-grams of a training corpus's strings). by_words[0] is not read.
 * *found says whether one does, *case_index its index (0 when none). */
eco_status eco_eval_corpus_overlap_short(const eco_eval_corpus *hidden,
                                         eco_ngram_set *const by_words[ECO_NGRAM_N], bool *found,
                                         size_t *case_index);

#ifdef __cplusplus
}
#endif
#endif
