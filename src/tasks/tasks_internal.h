/*
 * tasks internals: the operations behind each capability, a growable string buffer for
 * building prompts, RNG helpers and the compiled-in sentiment rows.
 */
#ifndef ECO_TASKS_INTERNAL_H
#define ECO_TASKS_INTERNAL_H

#include "ecology/tasks.h"

/* Prompts and completions grow in an eco_buf (ecology/core.h). */

/* Uniform integer in [0, n) (n > 0), without modulo bias. */
uint64_t rng_below(eco_rng *r, uint64_t n);

/* Pronounceable pseudo-words of 1 to 4 syllables (consonant, vowel, sometimes a closing
 * consonant): at most TASK_WORD_MAX letters, a-z only. Generated rather than taken from a
 * word list so the library needs no data file; the space (millions of words) is far larger
 * than any training run. Consumes a fixed-by-construction sequence of RNG outputs. */
enum { TASK_WORD_MAX = 12 };
void task_draw_word(eco_rng *rng, char out[TASK_WORD_MAX + 1]);

/* What a capability does. Generated capabilities set draw; fixed ones set count and row.
 * A generated capability whose space is small may also set count and row (safety) so tests
 * can enumerate it; draw is then what generate uses. */
struct task_ops {
    /* Appends one candidate prompt and its completion drawn from rng (buffers are reset by
     * the caller). ECO_STATUS_ENOMEM when a buffer cannot grow. */
    eco_status (*draw)(eco_rng *rng, eco_buf *prompt, eco_buf *completion);
    /* Number of items in the whole set, and item i of it. */
    size_t (*count)(void);
    eco_status (*row)(size_t i, eco_buf *prompt, eco_buf *completion);
};

extern const task_ops eco_task_ops_arith_add;
extern const task_ops eco_task_ops_text_reverse;
extern const task_ops eco_task_ops_text_sort;
extern const task_ops eco_task_ops_json_record;
extern const task_ops eco_task_ops_safety_refuse;
extern const task_ops eco_task_ops_safety_refuse2;
extern const task_ops eco_task_ops_sentiment_imdb;
extern const task_ops eco_task_ops_sentiment_yelp;

extern const char eco_json_record_schema[];

/* json.record@1's field kinds, and a field: its key, kind and, for TASK_F_INT, the largest
 * value. task_json_record_fields are the capability's own seven. */
typedef enum { TASK_F_BOOL, TASK_F_INT, TASK_F_WORD, TASK_F_COLOR } task_field_kind;
typedef struct task_field {
    const char *key;
    task_field_kind kind;
    unsigned max;
} task_field;
enum { TASK_JSON_RECORD_N_FIELDS = 7 };
extern const task_field task_json_record_fields[TASK_JSON_RECORD_N_FIELDS];

/* Appends one json.record@1-format item of k distinct fields of tab[0..nf) (k <= nf <= 16)
 * in a random order (a partial Fisher-Yates): prompt "Record: key=value ...\nJSON:",
 * completion " <canonical JSON object>\n" (integers as numbers, true/false as booleans).
 * Values as the capability draws them, but with long_values an integer is uniform in
 * [10000, 10^7) and a word 13 to 20 letters, and with plain_words a word JSON would read as
 * another type (true, false, null) is drawn again. The one json.record drawer: the
 * capability and the corpus builder's shifted cases consume the RNG alike. false when out of
 * memory. */
bool task_json_record_write(eco_rng *rng, const task_field *tab, unsigned nf, unsigned k,
                            bool long_values, bool plain_words, eco_buf *p, eco_buf *c);

/* safety.refuse@1: whether item i of the enumeration is harmful (for tests). */
bool safety_row_is_harmful(size_t i);
/* safety.refuse@1's request frames ("how do I %s": one %s, the action), and its actions'
 * "{a|b}" groups: the number of expansions of an action, and expansion v (0 <= v <
 * safety_variants(action), first group fastest) appended to out (false without memory). */
size_t safety_frame_count(void);
const char *safety_frame(size_t i); /* NULL past the end */
size_t safety_variants(const char *action);
bool safety_expand(eco_buf *out, const char *action, size_t v);
/* safety.refuse@1's action tables (harmful: refused, else harmless look-alikes): the number
 * of actions and action i ("{a|b}" groups unexpanded; NULL past the end). */
size_t safety_action_count(bool harmful);
const char *safety_action(bool harmful, size_t i);

/* The safety pair templates (safety_pairs.c): the actions of the paired safety suite
 * (corpus_safety.c) and of safety.refuse@2 (gen_safety2.c). A template pairs a harmful
 * action with a harmless look-alike of one kind:
 *   homonym       the same word, another sense ("kill my boss" / "kill a python process")
 *   figurative    the word as a figure of speech ("steal a car" / "steal the show")
 *   safe-context  the same act where it harms no one ("kill a zombie in minecraft")
 *   definition    the same act asked about, not asked for: the harmless side is the harmful
 *                 action in a definition frame ("what does it mean to launder money") */
typedef enum {
    SAFETY_HOMONYM,
    SAFETY_FIGURATIVE,
    SAFETY_SAFE_CONTEXT,
    SAFETY_DEFINITION,
    SAFETY_KIND_COUNT
} safety_pair_kind;
typedef struct safety_pair_template {
    safety_pair_kind kind;
    const char *harmful;
    const char *harmless; /* NULL for a definition: the harmful action, in a definition frame */
    bool generator;       /* both actions are safety.refuse@1's own (gen_safety.c) */
} safety_pair_template;
enum { SAFETY_PAIR_COUNT = 41 };
extern const safety_pair_template eco_safety_pairs[SAFETY_PAIR_COUNT];
/* Definition frames ("what does it mean to %s": one %s, the action). */
extern const char *const eco_safety_definition_frames[];
extern const size_t eco_safety_definition_frames_count;
/* The tag of a kind ("homonym", "figurative", "safe-context", "definition"). */
const char *safety_kind_tag(safety_pair_kind kind);
/* Appends "Request: <frame with expansion v of action>\nResponse:" (the format of every
 * safety capability) to p; false without memory. */
bool safety_request(eco_buf *p, const char *frame, const char *action, size_t v);

/* The sentiment prompts: SENTIMENT_PREFIX + normalised sentence + SENTIMENT_SUFFIX. */
#define SENTIMENT_PREFIX "Review: "
#define SENTIMENT_SUFFIX "\nSentiment:"

/* Sentiment rows as vendored (sentiment_data.c, generated at build time by
 * scripts/gen_sentiment_data.py from data/tasks/sentiment-*.jsonl): text byte-for-byte
 * from the source, label 1 positive, 0 negative. */
typedef struct sentiment_row {
    const char *text;
    int label;
} sentiment_row;

extern const sentiment_row eco_sentiment_imdb_rows[];
extern const size_t eco_sentiment_imdb_count;
extern const sentiment_row eco_sentiment_yelp_rows[];
extern const size_t eco_sentiment_yelp_count;

/* The review text as it appears in prompts: C1 control characters left by the source's
 * Windows-1252 decoding mapped back (U+0085 → "...", U+0096 and U+0097 → "-"), other
 * control characters to a space, runs of spaces collapsed to one, and surrounding white
 * space removed. Appends to out. */
bool sentiment_normalize_text(eco_buf *out, const char *text);

#endif
