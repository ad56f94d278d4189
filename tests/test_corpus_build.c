/* tasks: evaluation corpora (eco_tasks_corpus_build/write). Same options → same bytes;
 * in-distribution parts are the capability's held-out items; every out-of-distribution prompt
 * is in its capability's format and the EVAL split, with an answer recomputed here from the
 * prompt alone and accepted by eco_tasks_check; safety pairs balanced, in safety.refuse@1's
 * format, all EVAL; every line in the evaluator's case format, read back by its reader
 * (eco_eval_corpus_parse) unchanged; bad options. */
#include "test_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/tasks.h"
#include "tasks/corpus_internal.h"
#include "ecology/eval_corpus.h"

static const eco_capability *cap_named(const char *name) {
    const eco_capability *cap = NULL;
    ECO_ASSERT_OK(eco_tasks_find(name, &cap));
    return cap;
}

static void build(const char *const *names, size_t n_caps, size_t n, uint64_t seed, bool shift,
                  bool safety, eco_tasks_corpus *c) {
    const eco_capability *caps[16];
    for (size_t i = 0; i < n_caps; i++) caps[i] = cap_named(names[i]);
    eco_tasks_corpus_options o = {
        .caps = caps, .n_caps = n_caps, .n = n, .seed = seed, .shift = shift, .safety = safety};
    ECO_ASSERT_OK(eco_tasks_corpus_build(&o, c));
}

static char *jsonl(const eco_tasks_corpus *c) {
    eco_buf b = {0};
    ECO_ASSERT_OK(eco_tasks_corpus_write(c, &b));
    assert_non_null(b.data);
    return b.data;
}

static bool has_tag(const eco_tasks_corpus_case *k, const char *tag) {
    for (size_t i = 0; i < k->n_tags; i++)
        if (strcmp(k->tags[i], tag) == 0) return true;
    return false;
}

static const char *const synthetic[] = {"arith.add@1", "text.reverse@1", "text.sort@1",
                                        "json.record@1"};

/* ---- determinism ------------------------------------------------------------------- */

static void test_deterministic(void **state) {
    (void)state;
    static const char *const all[] = {"arith.add@1",     "text.reverse@1",  "text.sort@1",
                                      "json.record@1",   "safety.refuse@1", "sentiment.imdb@1",
                                      "sentiment.yelp@1"};
    for (int shift = 0; shift < 2; shift++) {
        eco_tasks_corpus a, b, d;
        size_t nc = shift ? 4 : 7;
        build(all, nc, 40, 7, shift, true, &a);
        build(all, nc, 40, 7, shift, true, &b);
        build(all, nc, 40, 8, shift, true, &d);
        char *ta = jsonl(&a), *tb = jsonl(&b), *td = jsonl(&d);
        assert_string_equal(ta, tb);
        assert_true(strcmp(ta, td) != 0);
        printf("# %s: %zu cases, %zu bytes; same bytes twice, other bytes for another seed\n",
               shift ? "shift" : "in-distribution", a.n_cases, strlen(ta));
        free(ta);
        free(tb);
        free(td);
        eco_tasks_corpus_free(&a);
        eco_tasks_corpus_free(&b);
        eco_tasks_corpus_free(&d);
    }
}

/* ---- in-distribution: the held-out items, as tasks eval scores them ----------------- */

static void test_in_distribution(void **state) {
    (void)state;
    for (size_t ci = 0; ci < 4; ci++) {
        const eco_capability *cap = cap_named(synthetic[ci]);
        eco_tasks_corpus c;
        build(&synthetic[ci], 1, 60, 11, false, false, &c);
        assert_int_equal(c.n_cases, 60);
        assert_int_equal(c.n_parts, 1);
        assert_int_equal(c.parts[0].n, 60);
        /* the first 60 distinct prompts of the held-out stream (arith.add@1 repeats its
         * one-digit sums: about 10 of its 100 are held out) */
        enum { M = 2000 };
        eco_task_item *items;
        ECO_ASSERT_OK(eco_tasks_generate(cap, ECO_TASK_SPLIT_EVAL, M, 11, &items));
        size_t next = 0, repeats = 0;
        for (size_t i = 0; i < c.n_cases; i++) {
            const eco_tasks_corpus_case *k = &c.cases[i];
            for (;;) { /* skip the stream's repeats */
                assert_true(next < M);
                bool seen = false;
                for (size_t j = 0; j < next && !seen; j++)
                    seen = strcmp(items[j].prompt, items[next].prompt) == 0;
                if (!seen) break;
                next++;
                repeats++;
            }
            const eco_task_item *it = &items[next++];
            assert_ptr_equal(k->cap, cap);
            assert_string_equal(k->item.prompt, it->prompt);
            assert_string_equal(k->item.completion, it->completion);
            assert_int_equal(k->check, ECO_TASKS_CORPUS_EXACT);
            assert_true(eco_tasks_check(cap, it, k->expected, strlen(k->expected)));
            assert_true(k->expected[0] != ' ' && !strchr(k->expected, '\n'));
            assert_int_equal(k->max_tokens, cap->max_completion_bytes + 8);
            char id[64];
            snprintf(id, sizeof id, "%s/eval/%zu", cap->name, i);
            assert_string_equal(k->id, id);
            assert_int_equal(k->n_tags, 1);
            assert_string_equal(k->tags[0], "in-distribution");
        }
        printf("# %s in-distribution: 60 cases, %zu repeats skipped\n", cap->name, repeats);
        eco_task_items_free(items, M);
        eco_tasks_corpus_free(&c);
    }
    /* safety.refuse@1 has 129 distinct held-out prompts: asked for 500, all 129, once each */
    eco_tasks_corpus c;
    static const char *const safety[] = {"safety.refuse@1"};
    build(safety, 1, 500, 0, false, false, &c);
    assert_int_equal(c.n_cases, 129);
    assert_int_equal(c.parts[0].n, 129);
    assert_int_equal(c.parts[0].n_requested, 500);
    for (size_t i = 0; i < c.n_cases; i++) {
        assert_int_equal(eco_tasks_split_of(c.cases[i].item.prompt, strlen(c.cases[i].item.prompt)),
                         ECO_TASK_SPLIT_EVAL);
        for (size_t j = 0; j < i; j++)
            assert_true(strcmp(c.cases[i].item.prompt, c.cases[j].item.prompt) != 0);
    }
    eco_tasks_corpus_free(&c);
}

/* ---- out-of-distribution: format, split, answers recomputed from the prompt ---------- */

static int cmp_char(const void *a, const void *b) {
    return (int)*(const unsigned char *)a - (int)*(const unsigned char *)b;
}

/* The word list as committed (data/corpora/moby-dick-words.txt) equals the compiled one. */
static void test_word_list(void **state) {
    (void)state;
    char *path = eco_test_source_path("data/corpora/moby-dick-words.txt"), *text;
    size_t len;
    ECO_ASSERT_OK(eco_read_file(path, 1 << 24, &text, &len));
    size_t i = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), i++) {
        assert_true(i < eco_corpus_words_count);
        assert_string_equal(line, eco_corpus_words[i]);
        size_t n = strlen(line);
        assert_true(n >= 2 && n <= 8);
        for (size_t k = 0; k < n; k++) assert_true(line[k] >= 'a' && line[k] <= 'z');
        if (i) assert_true(strcmp(eco_corpus_words[i - 1], line) < 0);
    }
    assert_int_equal(i, eco_corpus_words_count);
    printf("# word list: %zu words, the same in data/corpora/ and compiled in\n", i);
    free(text);
    free(path);
}

static bool in_word_list(const char *w) {
    size_t lo = 0, hi = eco_corpus_words_count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(eco_corpus_words[mid], w);
        if (c == 0) return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* The JSON answer of "Record: k=v ...\nJSON:" built from the prompt (jansson, not the
 * library's code): digits → integer, true/false → boolean, else a string. */
static char *record_answer(const char *prompt, size_t *n_keys) {
    const char *s = prompt + strlen("Record:");
    json_t *o = json_object();
    *n_keys = 0;
    while (*s == ' ') {
        s++;
        const char *eq = strchr(s, '='), *end = s + strcspn(s, " \n");
        assert_non_null(eq);
        char key[64], val[64];
        snprintf(key, sizeof key, "%.*s", (int)(eq - s), s);
        snprintf(val, sizeof val, "%.*s", (int)(end - eq - 1), eq + 1);
        json_t *v;
        if (strcmp(val, "true") == 0 || strcmp(val, "false") == 0)
            v = json_boolean(val[0] == 't');
        else if (strspn(val, "0123456789") == strlen(val))
            v = json_integer(strtoll(val, NULL, 10));
        else
            v = json_string(val);
        assert_int_equal(json_object_get(o, key), NULL); /* keys distinct */
        json_object_set_new(o, key, v);
        (*n_keys)++;
        s = end;
    }
    assert_string_equal(s, "\nJSON:");
    char *out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return out;
}

static void test_shift(void **state) {
    (void)state;
    static const char *const own_keys = " active age city color id name score ";
    size_t kinds[3] = {0}, long_values = 0;
    for (size_t ci = 0; ci < 4; ci++) {
        const eco_capability *cap = cap_named(synthetic[ci]);
        eco_tasks_corpus c;
        build(&synthetic[ci], 1, 300, 5, true, false, &c);
        assert_int_equal(c.n_cases, 300);
        size_t three_digit_sums = 0;
        for (size_t i = 0; i < c.n_cases; i++) {
            const eco_tasks_corpus_case *k = &c.cases[i];
            const char *p = k->item.prompt;
            assert_int_equal(eco_tasks_split_of(p, strlen(p)), ECO_TASK_SPLIT_EVAL);
            assert_true(has_tag(k, "shift"));
            char id[64], want[256];
            snprintf(id, sizeof id, "%s/shift/%zu", cap->name, i);
            assert_string_equal(k->id, id);
            for (size_t j = i >= 50 ? i - 50 : 0; j < i; j++) /* distinct (a window suffices) */
                assert_true(strcmp(p, c.cases[j].item.prompt) != 0);
            if (ci == 0) {
                assert_true(eco_test_regex_match("^Add: [1-9][0-9]{2}\\+[1-9][0-9]{2}\\nSum:$", p));
                unsigned a, b;
                assert_int_equal(sscanf(p, "Add: %u+%u", &a, &b), 2);
                snprintf(want, sizeof want, "%04u", a + b);
                if (a + b < 1000) three_digit_sums++;
                assert_true(has_tag(k, "uniform-3-digit"));
            } else if (ci == 1 || ci == 2) {
                assert_true(eco_test_regex_match(ci == 1 ? "^Reverse: [a-z]{2,8}\\nReversed:$"
                                                         : "^Sort: [a-z]{2,8}\\nSorted:$",
                                                 p));
                char w[16];
                snprintf(w, sizeof w, "%.*s", (int)(strchr(p, '\n') - strchr(p, ' ') - 1),
                         strchr(p, ' ') + 1);
                assert_true(in_word_list(w));
                size_t n = strlen(w);
                for (size_t q = 0; q < n; q++) want[q] = ci == 1 ? w[n - 1 - q] : w[q];
                want[n] = '\0';
                if (ci == 2) qsort(want, n, 1, cmp_char);
                assert_true(has_tag(k, "english-words"));
            } else {
                assert_true(eco_test_regex_match("^Record:( [a-z]+=[a-z0-9]+)+\\nJSON:$", p));
                size_t n_keys;
                char *ans = record_answer(p, &n_keys);
                snprintf(want, sizeof want, "%s", ans);
                free(ans);
                if (has_tag(k, "other-fields")) {
                    kinds[0]++;
                    assert_true(n_keys >= 2 && n_keys <= 4);
                    /* no key of json.record@1 */
                    for (const char *q = p + 7; *q == ' ';) {
                        char key[40];
                        size_t kl = strcspn(q + 1, "=");
                        snprintf(key, sizeof key, " %.*s ", (int)kl, q + 1);
                        assert_null(strstr(own_keys, key));
                        q = q + 1 + strcspn(q + 1, " \n");
                    }
                } else if (has_tag(k, "longer-values")) {
                    kinds[1]++;
                    assert_true(n_keys >= 2 && n_keys <= 4);
                    assert_true(eco_test_regex_match("=([a-z]{13,20}|[1-9][0-9]{4,6})( |\\n)", p));
                    long_values++;
                } else {
                    assert_true(has_tag(k, "other-key-counts"));
                    kinds[2]++;
                    assert_true(n_keys == 1 || (n_keys >= 5 && n_keys <= 7));
                }
            }
            /* the corpus's expected answer equals the one recomputed here, and the checker
             * accepts it against the reference completion */
            assert_string_equal(k->expected, want);
            assert_true(eco_tasks_check(cap, &k->item, want, strlen(want)));
            assert_true(k->max_tokens >= strlen(k->item.completion) + 8);
            assert_true(k->max_tokens >= cap->max_completion_bytes + 8);
        }
        if (ci == 0) { /* uniform operands: P(a + b < 1000) = 320400/810000 = 0.396 */
            printf("# arith shift: %zu/300 sums below 1000 (expected 119)\n", three_digit_sums);
            assert_true(three_digit_sums > 80 && three_digit_sums < 160);
        }
        eco_tasks_corpus_free(&c);
    }
    printf("# json shift kinds: %zu other-fields, %zu longer-values, %zu other-key-counts\n",
           kinds[0], kinds[1], kinds[2]);
    assert_int_equal(kinds[0], 100);
    assert_int_equal(kinds[1], 100);
    assert_int_equal(kinds[2], 100);
    /* the word list's EVAL share: a part asked for more words than it has stops short */
    eco_tasks_corpus c;
    build(&synthetic[1], 1, 5000, 0, true, false, &c);
    printf("# text.reverse@1 shift: %zu distinct EVAL words of %zu\n", c.n_cases,
           eco_corpus_words_count);
    assert_true(c.n_cases > 800 && c.n_cases < 1300);
    assert_int_equal(c.parts[0].n, c.n_cases);
    eco_tasks_corpus_free(&c);
}

/* ---- the safety pairs ---------------------------------------------------------------- */

static void test_safety_pairs(void **state) {
    (void)state;
    const eco_capability *cap = cap_named("safety.refuse@1");
    eco_tasks_corpus c;
    build(NULL, 0, 100000, 3, false, true, &c); /* all the suite has */
    size_t pairs = c.parts[0].n, kinds[4] = {0};
    static const char *const kind[4] = {"homonym", "figurative", "safe-context", "definition"};
    printf("# safety suite: %zu pairs\n", pairs);
    assert_true(pairs >= 100);
    assert_int_equal(c.n_cases, 2 * pairs);
    for (size_t i = 0; i < c.n_cases; i++) {
        const eco_tasks_corpus_case *k = &c.cases[i];
        bool harmful = i % 2 == 0;
        assert_ptr_equal(k->cap, cap);
        assert_true(eco_test_regex_match("^Request: [^\\n]+\\nResponse:$", k->item.prompt));
        assert_int_equal(eco_tasks_split_of(k->item.prompt, strlen(k->item.prompt)),
                         ECO_TASK_SPLIT_EVAL);
        assert_int_equal(k->check, harmful ? ECO_TASKS_CORPUS_REFUSAL : ECO_TASKS_CORPUS_COMPLY);
        assert_null(k->expected);
        const char *answer = harmful ? ECO_TASKS_REFUSAL : ECO_TASKS_COMPLY;
        assert_true(eco_tasks_check(cap, &k->item, answer, strlen(answer)));
        assert_string_equal(k->tags[0], "safety-pair");
        assert_string_equal(k->tags[2], harmful ? "harmful" : "harmless");
        char id[64];
        snprintf(id, sizeof id, "safety.refuse@1/pair/%zu/%s", i / 2,
                 harmful ? "harmful" : "harmless");
        assert_string_equal(k->id, id);
        if (!harmful) { /* the pair shares its kind */
            assert_string_equal(k->tags[1], c.cases[i - 1].tags[1]);
            for (int q = 0; q < 4; q++)
                if (strcmp(k->tags[1], kind[q]) == 0) kinds[q]++;
        }
        for (size_t j = 0; j < i; j++) assert_true(strcmp(k->item.prompt, c.cases[j].item.prompt));
    }
    /* the generator-actions pairs are items of safety.refuse@1's own held-out split */
    eco_buf gp = {0}, gc = {0};
    size_t gen_cases = 0;
    for (size_t i = 0; i < c.n_cases; i++) {
        const eco_tasks_corpus_case *k = &c.cases[i];
        assert_true(has_tag(k, "generator-actions") != has_tag(k, "new-actions"));
        if (!has_tag(k, "generator-actions")) continue;
        gen_cases++;
        bool found = false;
        for (size_t r = 0; r < cap->ops->count() && !found; r++) {
            eco_buf_reset(&gp);
            eco_buf_reset(&gc);
            ECO_ASSERT_OK(cap->ops->row(r, &gp, &gc));
            if (strcmp(gp.data, k->item.prompt) == 0) {
                found = true;
                assert_string_equal(gc.data, k->item.completion); /* same answer class */
            }
        }
        if (!found) print_error("not a generator item: %s\n", k->item.prompt);
        assert_true(found);
    }
    eco_buf_free(&gp);
    eco_buf_free(&gc);
    printf("# %zu cases from the generator's own actions\n", gen_cases);
    assert_true(gen_cases >= 20);
    printf("# kinds: %zu homonym, %zu figurative, %zu safe-context, %zu definition\n", kinds[0],
           kinds[1], kinds[2], kinds[3]);
    assert_int_equal(kinds[0] + kinds[1] + kinds[2] + kinds[3], pairs);
    for (int q = 0; q < 4; q++) assert_true(kinds[q] >= 10);
    eco_tasks_corpus_free(&c);
    /* a small n still covers every kind (round-robin over the templates) */
    build(NULL, 0, 30, 3, false, true, &c);
    assert_int_equal(c.n_cases, 60);
    size_t seen[4] = {0};
    for (size_t i = 0; i < c.n_cases; i++)
        for (int q = 0; q < 4; q++)
            if (strcmp(c.cases[i].tags[1], kind[q]) == 0) seen[q]++;
    for (int q = 0; q < 4; q++) assert_true(seen[q] > 0);
    eco_tasks_corpus_free(&c);
}

/* The suite against safety.refuse@2, whose generator draws from the suite's templates: every
 * request of the suite is an item of @2 with the same answer (so @2's space holds it), and
 * none is a TRAIN item of @2 — not in its enumeration's TRAIN split, not among the items the
 * shipped adapter was trained on (data/README.md: TRAIN items of @1, n 1466, and of @2, n 12000,
 * seed 1). */
static void test_safety_pairs_not_trained(void **state) {
    (void)state;
    const eco_capability *v2 = cap_named("safety.refuse@2");
    for (uint64_t seed = 0; seed < 4; seed += 3) {
        eco_tasks_corpus c;
        build(NULL, 0, 100000, seed, false, true, &c);
        corpus_prompt_set suite = {0}, found = {0};
        for (size_t i = 0; i < c.n_cases; i++)
            assert_true(tasks_corpus_set_add(&suite, c.cases[i].item.prompt));
        eco_buf p = {0}, a = {0};
        size_t train_rows = 0;
        for (size_t r = 0; r < v2->ops->count(); r++) {
            eco_buf_reset(&p);
            eco_buf_reset(&a);
            ECO_ASSERT_OK(v2->ops->row(r, &p, &a));
            bool eval = eco_tasks_split_of(p.data, p.len) == ECO_TASK_SPLIT_EVAL;
            train_rows += !eval;
            if (!tasks_corpus_set_has(&suite, p.data)) continue;
            assert_true(eval);
            for (size_t i = 0; i < c.n_cases; i++) {
                if (strcmp(c.cases[i].item.prompt, p.data) != 0) continue;
                assert_string_equal(c.cases[i].item.completion, a.data);
                if (!tasks_corpus_set_has(&found, c.cases[i].item.prompt))
                    assert_true(tasks_corpus_set_add(&found, c.cases[i].item.prompt));
            }
        }
        eco_buf_free(&p);
        eco_buf_free(&a);
        printf("# seed %llu: %zu suite requests, %zu of them @2 items; %zu @2 TRAIN rows\n",
               (unsigned long long)seed, c.n_cases, found.n, train_rows);
        assert_int_equal(found.n, c.n_cases);
        static const struct {
            const char *cap;
            size_t n;
        } recipe[] = {{"safety.refuse@1", 1466}, {"safety.refuse@2", 12000}};
        for (size_t r = 0; r < 2; r++) {
            eco_task_item *it = NULL;
            ECO_ASSERT_OK(eco_tasks_generate(cap_named(recipe[r].cap), ECO_TASK_SPLIT_TRAIN,
                                             recipe[r].n, 1, &it));
            for (size_t i = 0; i < recipe[r].n; i++)
                if (tasks_corpus_set_has(&suite, it[i].prompt)) {
                    print_error("trained on a suite request: %s\n", it[i].prompt);
                    fail();
                }
            eco_task_items_free(it, recipe[r].n);
        }
        tasks_corpus_set_free(&suite);
        tasks_corpus_set_free(&found);
        eco_tasks_corpus_free(&c);
    }
}

/* ---- the JSONL: the evaluator's case format -------------------------------------------- */

static void test_jsonl_format(void **state) {
    (void)state;
    eco_tasks_corpus c;
    build(synthetic, 4, 25, 2, true, true, &c);
    char *text = jsonl(&c);
    size_t lines = 0;
    json_t *ids = json_object(), *hashes = json_object();
    for (char *line = text, *nl; *line; line = nl + 1, lines++) {
        nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        json_error_t err;
        json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &err);
        assert_non_null(o);
        char *canon = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(canon, line); /* canonical: sorted keys, no white space */
        free(canon);
        const char *key;
        json_t *v;
        json_object_foreach(o, key, v) {
            assert_true(strcmp(key, "capability") == 0 || strcmp(key, "prompt") == 0 ||
                        strcmp(key, "check") == 0 || strcmp(key, "expected") == 0 ||
                        strcmp(key, "id") == 0 || strcmp(key, "max_tokens") == 0 ||
                        strcmp(key, "tags") == 0);
        }
        const char *check = json_string_value(json_object_get(o, "check"));
        assert_non_null(check);
        assert_non_null(json_string_value(json_object_get(o, "capability")));
        assert_true(strlen(json_string_value(json_object_get(o, "prompt"))) > 0);
        bool exact = strcmp(check, "exact") == 0;
        assert_true(exact || strcmp(check, "refusal") == 0 || strcmp(check, "comply") == 0);
        assert_int_equal(json_is_string(json_object_get(o, "expected")), exact);
        json_int_t mt = json_integer_value(json_object_get(o, "max_tokens"));
        assert_true(mt >= 1 && mt <= 65536);
        assert_true(json_array_size(json_object_get(o, "tags")) >= 1);
        const char *id = json_string_value(json_object_get(o, "id"));
        assert_non_null(id);
        assert_null(json_object_get(ids, id)); /* unique */
        json_object_set_new(ids, id, json_true());
        /* the case hash's fields: distinct (the evaluator refuses a repeated case) */
        json_t *task =
            json_pack("{s:O, s:O, s:O}", "capability", json_object_get(o, "capability"), "prompt",
                      json_object_get(o, "prompt"), "check", json_object_get(o, "check"));
        if (exact) json_object_set(task, "expected", json_object_get(o, "expected"));
        char *th = json_dumps(task, JSON_COMPACT | JSON_SORT_KEYS);
        assert_null(json_object_get(hashes, th));
        json_object_set_new(hashes, th, json_true());
        free(th);
        json_decref(task);
        json_decref(o);
    }
    assert_int_equal(lines, c.n_cases);
    assert_int_equal(lines, 4 * 25 + 2 * 25);
    json_decref(ids);
    json_decref(hashes);
    free(text);
    eco_tasks_corpus_free(&c);
}

/* ---- the evaluator reads what the builder writes ------------------------------------- */

static void test_evaluator_reads(void **state) {
    (void)state;
    static const char *const all[] = {"arith.add@1",     "text.reverse@1",  "text.sort@1",
                                      "json.record@1",   "safety.refuse@1", "sentiment.imdb@1",
                                      "sentiment.yelp@1"};
    for (int shift = 0; shift < 2; shift++) {
        eco_tasks_corpus c;
        build(all, shift ? 4 : 7, 150, 9, shift, true, &c);
        char *text = jsonl(&c);
        eco_eval_corpus *ec = NULL;
        ECO_ASSERT_OK(eco_eval_corpus_parse(text, strlen(text), "built", &ec));
        assert_int_equal(ec->n_cases, c.n_cases);
        for (size_t i = 0; i < c.n_cases; i++) {
            const eco_tasks_corpus_case *k = &c.cases[i];
            const eco_eval_case *e = &ec->cases[i];
            assert_string_equal(e->capability, k->cap->name);
            assert_string_equal(e->prompt, k->item.prompt);
            assert_string_equal(e->id, k->id);
            assert_string_equal(eco_check_name(e->check), eco_tasks_corpus_check_name(k->check));
            if (k->expected) assert_string_equal(e->expected, k->expected);
            assert_int_equal(e->max_tokens, (int64_t)k->max_tokens);
            assert_int_equal(e->n_tags, k->n_tags);
        }
        printf("# the evaluator's reader takes all %zu cases (%s)\n", ec->n_cases,
               shift ? "shift + safety" : "in-distribution + safety");
        eco_eval_corpus_free(ec);
        free(text);
        eco_tasks_corpus_free(&c);
    }
}

/* ---- bad options ---------------------------------------------------------------------- */

static void test_bad_options(void **state) {
    (void)state;
    const eco_capability *caps[2] = {cap_named("arith.add@1"), cap_named("arith.add@1")};
    eco_tasks_corpus c;
    eco_tasks_corpus_options o = {.caps = caps, .n_caps = 1, .n = 10};
    ECO_ASSERT_STATUS(eco_tasks_corpus_build(NULL, &c), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_tasks_corpus_build(&o, NULL), ECO_STATUS_EINVAL);
    o.n = 0;
    ECO_ASSERT_STATUS(eco_tasks_corpus_build(&o, &c), ECO_STATUS_EINVAL);
    assert_null(c.cases);
    o.n = ECO_TASKS_CORPUS_MAX_N + 1;
    ECO_ASSERT_STATUS(eco_tasks_corpus_build(&o, &c), ECO_STATUS_EINVAL);
    o.n = 10;
    o.n_caps = 2;
    ECO_ASSERT_STATUS(eco_tasks_corpus_build(&o, &c), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "given twice"));
    o.n_caps = 0;
    ECO_ASSERT_STATUS(eco_tasks_corpus_build(&o, &c), ECO_STATUS_EINVAL);
    o.n_caps = 1;
    o.shift = true;
    caps[0] = cap_named("sentiment.imdb@1");
    ECO_ASSERT_STATUS(eco_tasks_corpus_build(&o, &c), ECO_STATUS_EUNSUPPORTED);
    caps[0] = cap_named("safety.refuse@1");
    ECO_ASSERT_STATUS(eco_tasks_corpus_build(&o, &c), ECO_STATUS_EUNSUPPORTED);
    assert_non_null(strstr(eco_last_error(), "--safety"));
    assert_int_equal(c.n_cases, 0);
    ECO_ASSERT_STATUS(eco_tasks_corpus_write(NULL, NULL), ECO_STATUS_EINVAL);
    eco_tasks_corpus_free(&c); /* zeroed: a no-op */
    eco_tasks_corpus_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic), cmocka_unit_test(test_in_distribution),
        cmocka_unit_test(test_word_list),     cmocka_unit_test(test_shift),
        cmocka_unit_test(test_safety_pairs),  cmocka_unit_test(test_safety_pairs_not_trained),
        cmocka_unit_test(test_jsonl_format),  cmocka_unit_test(test_evaluator_reads),
        cmocka_unit_test(test_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
