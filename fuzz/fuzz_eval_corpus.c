/*
 * libFuzzer target: eco_eval_corpus_parse over arbitrary bytes. A refused input leaves
 * *out NULL; an accepted corpus must hold at least one case, each consistent with its
 * check (exactly its check's fields set, answer inside options, names within the rules),
 * findable by its case hash, and parsing again must give the same corpus id and hashes.
 * Every prompt is then perturbed by each kind (the output must be valid UTF-8 and, for the
 * prefix kind, end with the prompt) and put in an n-gram set, where its own n-grams must
 * be found (containment 1), and eco_eval_corpus_overlap against the set of all its prompts
 * must find the first case that has words.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ecology/eval_corpus.h"
#include "ecology/eval_metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_case(const eco_eval_corpus *c, const eco_eval_case *k) {
    if (!k->capability || !k->prompt || k->prompt_len == 0 || strlen(k->prompt) != k->prompt_len)
        __builtin_trap();
    if ((unsigned)k->check >= ECO_CHECK__COUNT || k->line < 1) __builtin_trap();
    bool text = k->check == ECO_CHECK_EXACT || k->check == ECO_CHECK_CONTAINS;
    if (text != (k->expected != NULL)) __builtin_trap();
    if ((k->check == ECO_CHECK_REGEX) != (k->pattern != NULL)) __builtin_trap();
    if ((k->check == ECO_CHECK_JSON_SCHEMA) != (k->schema != NULL)) __builtin_trap();
    if (k->check == ECO_CHECK_CHOICE) {
        if (k->n_options < 2 || k->answer < 0 || (size_t)k->answer >= k->n_options)
            __builtin_trap();
    } else if (k->options || k->answer != -1) {
        __builtin_trap();
    }
    if (k->schema && k->schema[0] != '{') __builtin_trap();
    if (strlen(k->capability) > ECO_EVAL_MAX_NAME || (k->id && strlen(k->id) > ECO_EVAL_MAX_NAME))
        __builtin_trap();
    if (eco_eval_corpus_find_hash(c, k->hash) != k) __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eco_eval_corpus *c = NULL;
    if (eco_eval_corpus_parse((const char *)data, size, "fuzz.jsonl", &c) != ECO_STATUS_OK) {
        if (c) __builtin_trap();
        return 0;
    }
    if (c->n_cases == 0) __builtin_trap();
    eco_eval_corpus *again = NULL;
    if (eco_eval_corpus_parse((const char *)data, size, "fuzz.jsonl", &again) != ECO_STATUS_OK)
        __builtin_trap();
    if (strcmp(c->sha256_hex, again->sha256_hex) != 0 || again->n_cases != c->n_cases)
        __builtin_trap();
    eco_ngram_set *set = NULL;
    if (eco_ngram_set_new(3, &set) != ECO_STATUS_OK) __builtin_trap();
    eco_buf b = {0};
    size_t first_words = SIZE_MAX; /* the first case whose prompt has an n-gram */
    for (size_t i = 0; i < c->n_cases; i++) {
        const eco_eval_case *k = &c->cases[i];
        check_case(c, k);
        if (memcmp(k->hash, again->cases[i].hash, ECO_SHA256_LEN) != 0) __builtin_trap();
        for (int kind = 0; kind < ECO_PERTURB__COUNT; kind++) {
            eco_buf_reset(&b);
            if (eco_perturb((eco_perturb_kind)kind, size, i, k->prompt, k->prompt_len, NULL, &b) !=
                ECO_STATUS_OK)
                __builtin_trap();
            if (eco_utf8_valid_prefix(b.data, b.len) != b.len) __builtin_trap();
            if (kind == ECO_PERTURB_PREFIX &&
                (b.len <= k->prompt_len ||
                 memcmp(b.data + b.len - k->prompt_len, k->prompt, k->prompt_len) != 0))
                __builtin_trap();
        }
        eco_ngram_set *one = NULL;
        double v = -1;
        if (eco_ngram_set_new(3, &one) != ECO_STATUS_OK ||
            eco_ngram_set_add(one, k->prompt, k->prompt_len) != ECO_STATUS_OK ||
            eco_ngram_set_add(set, k->prompt, k->prompt_len) != ECO_STATUS_OK ||
            eco_ngram_containment(one, set, &v) != ECO_STATUS_OK)
            __builtin_trap();
        if (eco_ngram_set_size(one) > 0 && v != 1.0) __builtin_trap();
        if (eco_ngram_set_size(one) > 0 && first_words == SIZE_MAX) first_words = i;
        eco_ngram_set_free(one);
    }
    /* Against the set of its own prompts every case overlaps fully: the first one is found. */
    bool found = false;
    size_t at = 0;
    double score = 0;
    if (eco_eval_corpus_overlap(c, set, 1.0, &found, &at, &score) != ECO_STATUS_OK)
        __builtin_trap();
    if (found != (first_words != SIZE_MAX) || (found && (at != first_words || score != 1.0)))
        __builtin_trap();
    eco_buf_free(&b);
    eco_ngram_set_free(set);
    eco_eval_corpus_free(again);
    eco_eval_corpus_free(c);
    return 0;
}
