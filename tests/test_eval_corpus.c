/*
 * Evaluation corpora (include/ecology/eval_corpus.h): a corpus with every check read back
 * field by field, the corpus id (SHA-256 of the bytes) and the case hashes against
 * hand-written canonical JSON, a table of malformed inputs (each refused with the file, the
 * line, the field and the problem in the message), and the word n-gram overlap scores on
 * hand-counted examples.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "ecology/eval_corpus.h"

static eco_eval_corpus *parse_ok(const char *text) {
    eco_eval_corpus *c = NULL;
    ECO_ASSERT_OK(eco_eval_corpus_parse(text, strlen(text), "corpus.jsonl", &c));
    return c;
}

static void test_sample(void **state) {
    (void)state;
    char *path = eco_test_source_path("tests/data/eval-corpus-sample.jsonl");
    eco_eval_corpus *c = NULL;
    ECO_ASSERT_OK(eco_eval_corpus_load(path, &c));
    assert_int_equal(c->n_cases, 7);
    char hex[ECO_SHA256_HEX_LEN + 1];
    ECO_ASSERT_OK(eco_sha256_file_hex(path, hex));
    assert_string_equal(c->sha256_hex, hex); /* the id is the hash of the bytes */

    const eco_eval_case *k = &c->cases[0];
    assert_int_equal(k->line, 1);
    assert_string_equal(k->id, "rev-1");
    assert_string_equal(k->capability, "text.reverse@1");
    assert_int_equal(k->check, ECO_CHECK_EXACT);
    assert_string_equal(k->expected, "elahw");
    assert_int_equal(k->n_tags, 2);
    assert_string_equal(k->tags[1], "english");
    assert_int_equal(k->max_tokens, 0);
    assert_int_equal(k->answer, -1);
    k = &c->cases[1];
    assert_int_equal(k->check, ECO_CHECK_CONTAINS);
    assert_int_equal(k->max_tokens, 8);
    assert_null(k->id);
    k = &c->cases[2];
    assert_int_equal(k->line, 4); /* after the blank line */
    assert_int_equal(k->check, ECO_CHECK_REGEX);
    assert_string_equal(k->pattern, "^\\d{4}-\\d{2}-\\d{2}$");
    k = &c->cases[3];
    assert_int_equal(k->check, ECO_CHECK_JSON_SCHEMA);
    assert_string_equal(k->schema, "{\"properties\":{\"name\":{\"type\":\"string\"}},"
                                   "\"required\":[\"name\"],\"type\":\"object\"}");
    assert_int_equal(c->cases[4].check, ECO_CHECK_REFUSAL);
    assert_int_equal(c->cases[5].check, ECO_CHECK_COMPLY);
    k = &c->cases[6];
    assert_int_equal(k->check, ECO_CHECK_CHOICE);
    assert_int_equal(k->n_options, 2);
    assert_string_equal(k->options[1], "negative");
    assert_int_equal(k->answer, 0);

    /* The case hash: SHA-256 of the canonical JSON of the task's fields only. */
    const char *canon =
        "{\"capability\":\"text.reverse@1\",\"check\":\"exact\",\"expected\":\"elahw\","
        "\"prompt\":\"Reverse the letters.\\nInput: whale\\nOutput:\"}";
    ECO_ASSERT_OK(eco_sha256_hex(canon, strlen(canon), hex));
    assert_string_equal(c->cases[0].hash_hex, hex);
    const char *canon6 = "{\"answer\":0,\"capability\":\"sentiment@1\",\"check\":\"choice\","
                         "\"options\":[\"positive\",\"negative\"],\"prompt\":\"Review: Caf\xc3\xa9"
                         " au lait was wonderful.\\nSentiment:\"}";
    ECO_ASSERT_OK(eco_sha256_hex(canon6, strlen(canon6), hex));
    assert_string_equal(c->cases[6].hash_hex, hex);
    uint8_t ph[ECO_SHA256_LEN];
    ECO_ASSERT_OK(eco_sha256(c->cases[6].prompt, c->cases[6].prompt_len, ph));
    assert_memory_equal(ph, c->cases[6].prompt_sha256, ECO_SHA256_LEN);

    for (size_t i = 0; i < c->n_cases; i++)
        assert_ptr_equal(eco_eval_corpus_find_hash(c, c->cases[i].hash), &c->cases[i]);
    uint8_t zero[ECO_SHA256_LEN] = {0};
    assert_null(eco_eval_corpus_find_hash(c, zero));
    eco_eval_corpus_free(c);
    free(path);
}

/* id, tags and max_tokens do not change the case hash; the field order and white space
 * do not either; the prompt does. */
static void test_case_hash(void **state) {
    (void)state;
    eco_eval_corpus *a =
        parse_ok("{\"capability\":\"c\",\"prompt\":\"p\",\"check\":\"refusal\"}\n");
    eco_eval_corpus *b =
        parse_ok("{ \"check\": \"refusal\", \"prompt\": \"p\", \"capability\": \"c\","
                 " \"id\": \"x\", \"tags\": [\"t\"], \"max_tokens\": 3 }");
    eco_eval_corpus *d = parse_ok("{\"capability\":\"c\",\"prompt\":\"p \",\"check\":\"refusal\"}");
    assert_string_equal(a->cases[0].hash_hex, b->cases[0].hash_hex);
    assert_string_not_equal(a->cases[0].hash_hex, d->cases[0].hash_hex);
    assert_string_not_equal(a->sha256_hex, b->sha256_hex); /* the file bytes differ */
    eco_eval_corpus_free(a);
    eco_eval_corpus_free(b);
    eco_eval_corpus_free(d);
    /* null reads as absent for an optional field */
    eco_eval_corpus *e =
        parse_ok("{\"capability\":\"c\",\"prompt\":\"p\",\"check\":\"comply\",\"id\":null}");
    assert_null(e->cases[0].id);
    eco_eval_corpus_free(e);
}

/* ---- malformed input ------------------------------------------------------------------ */

#define BASE "\"capability\":\"c\",\"prompt\":\"p\""

/* clang-format off */
static const struct {
    const char *text;
    eco_status status;
    const char *want[3]; /* pieces of the message */
} BAD[] = {
    {"", ECO_STATUS_EFORMAT, {"corpus.jsonl: no cases"}},
    {"\n  \n", ECO_STATUS_EFORMAT, {"no cases"}},
    {"not json", ECO_STATUS_EFORMAT, {"corpus.jsonl:1: invalid JSON at column"}},
    {"[1,2]", ECO_STATUS_EFORMAT, {"corpus.jsonl:1: expected a JSON object"}},
    {"null", ECO_STATUS_EFORMAT, {"corpus.jsonl:1: invalid JSON"}},
    {"{" BASE ",\"check\":\"exact\",\"expected\":\"x\",\"expected\":\"y\"}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1:", "duplicate"}},
    {"{" BASE ",\"check\":\"refusal\",\"foo\":1}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: unknown field 'foo'"}},
    {"{" BASE ",\"check\":\"regex\",\"pattern\":\"a\",\"expected\":\"x\"}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: expected: not a field of check 'regex'"}},
    {"{" BASE ",\"check\":\"refusal\",\"options\":[\"a\",\"b\"]}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: options: not a field of check 'refusal'"}},
    {"{" BASE "}", ECO_STATUS_EFORMAT, {"corpus.jsonl:1: check: missing"}},
    {"{" BASE ",\"check\":\"fuzzy\"}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: check: unknown check 'fuzzy'", "exact, contains"}},
    {"{" BASE ",\"check\":7}", ECO_STATUS_EFORMAT, {"corpus.jsonl:1: check: expected a string"}},
    {"{\"capability\":\"c\",\"check\":\"refusal\"}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: prompt: missing"}},
    {"{\"prompt\":\"p\",\"check\":\"refusal\"}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: capability: missing"}},
    {"{\"capability\":\"c\",\"prompt\":\"\",\"check\":\"refusal\"}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: prompt: empty"}},
    {"{\"capability\":\"c\",\"prompt\":\"a\\u0000b\",\"check\":\"refusal\"}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: prompt: holds a NUL byte"}},
    {"{\"capability\":\"a b\",\"prompt\":\"p\",\"check\":\"refusal\"}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: capability: expected 1..128 printable ASCII"}},
    {"{\"capability\":\"\",\"prompt\":\"p\",\"check\":\"refusal\"}", ECO_STATUS_EFORMAT,
     {"capability: expected 1..128"}},
    {"{" BASE ",\"check\":\"exact\"}", ECO_STATUS_EFORMAT, {"corpus.jsonl:1: expected: missing"}},
    {"{" BASE ",\"check\":\"exact\",\"expected\":5}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: expected: expected a string"}},
    {"{" BASE ",\"check\":\"contains\",\"expected\":\"\"}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: expected: empty"}},
    {"{" BASE ",\"check\":\"regex\",\"pattern\":\"(ab\"}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: pattern: not a valid PCRE2 pattern", "offset 3"}},
    {"{" BASE ",\"check\":\"regex\",\"pattern\":\"\"}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: pattern: empty"}},
    {"{" BASE ",\"check\":\"json_schema\",\"schema\":\"x\"}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: schema: expected an object"}},
    {"{" BASE ",\"check\":\"json_schema\"}", ECO_STATUS_EFORMAT, {"corpus.jsonl:1: schema: missing"}},
    /* w-fixreg: the schema compiled at load (a schema that can never be checked refused) */
    {"{" BASE ",\"check\":\"json_schema\",\"schema\":{\"type\":\"strnig\"}}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: schema: #/type: "}},
    {"{" BASE ",\"check\":\"json_schema\",\"schema\":{\"frobnicate\":1}}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: schema: #", "frobnicate"}},
    {"{" BASE ",\"check\":\"json_schema\",\"schema\":{\"$ref\":\"#/$defs/none\"}}",
     ECO_STATUS_EFORMAT, {"corpus.jsonl:1: schema: #"}},
    {"{" BASE ",\"check\":\"choice\",\"options\":[\"a\"],\"answer\":0}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: options: 1 entries (expected 2..64)"}},
    {"{" BASE ",\"check\":\"choice\",\"options\":[\"a\",\"a\"],\"answer\":0}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: options[1]: the same as options[0]"}},
    {"{" BASE ",\"check\":\"choice\",\"options\":[\"a\",\"\"],\"answer\":0}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: options[1]: empty"}},
    {"{" BASE ",\"check\":\"choice\",\"options\":[\"a\",3],\"answer\":0}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: options[1]: expected a string"}},
    {"{" BASE ",\"check\":\"choice\",\"options\":[\"a\",\"b\"],\"answer\":2}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: answer: 2 outside [0, 1]"}},
    {"{" BASE ",\"check\":\"choice\",\"options\":[\"a\",\"b\"],\"answer\":0.5}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: answer: expected an integer"}},
    {"{" BASE ",\"check\":\"choice\",\"options\":[\"a\",\"b\"]}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: answer: missing"}},
    {"{" BASE ",\"check\":\"refusal\",\"max_tokens\":0}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: max_tokens: 0 outside [1, 65536]"}},
    {"{" BASE ",\"check\":\"refusal\",\"tags\":\"x\"}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: tags: expected an array"}},
    {"{" BASE ",\"check\":\"refusal\",\"tags\":[\"x\",\"x\"]}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: tags[1]: the same as tags[0]"}},
    {"{" BASE ",\"check\":\"refusal\",\"id\":\"a\\nb\"}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:1: id: expected 1..128"}},
    {"{" BASE ",\"check\":\"refusal\",\"id\":\"a\"}\n{\"capability\":\"c\",\"prompt\":\"q\","
     "\"check\":\"refusal\",\"id\":\"a\"}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:2: id: 'a' is already the id of line 1"}},
    {"{" BASE ",\"check\":\"refusal\",\"id\":\"a\"}\n\n{" BASE ",\"check\":\"refusal\",\"id\":\"b\"}",
     ECO_STATUS_EFORMAT, {"corpus.jsonl:3: the same case as line 1"}},
    {"\n\n{" BASE ",\"check\":\"exact\"}\n{" BASE ",\"check\":\"nope\"}", ECO_STATUS_EFORMAT,
     {"corpus.jsonl:3: expected: missing", "; corpus.jsonl:4: check: unknown check"}},
};
/* clang-format on */

static void test_malformed(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        eco_eval_corpus *c = (eco_eval_corpus *)1;
        eco_status st = eco_eval_corpus_parse(BAD[i].text, strlen(BAD[i].text), "corpus.jsonl", &c);
        const char *msg = eco_last_error();
        bool ok = st == BAD[i].status && c == NULL;
        for (int j = 0; j < 3 && BAD[i].want[j]; j++) ok = ok && strstr(msg, BAD[i].want[j]);
        if (!ok) {
            print_error("row %zu: %s\n  got %s: %s\n  want %s with \"%s\"\n", i, BAD[i].text,
                        eco_status_str(st), msg, eco_status_str(BAD[i].status), BAD[i].want[0]);
            fail();
        }
    }
    /* More than ECO_EVAL_MAX_REPORTED bad lines: the count and "and N more". */
    eco_buf b = {0};
    for (int i = 0; i < 15; i++) assert_true(eco_buf_puts(&b, "{}\n"));
    eco_eval_corpus *c = NULL;
    ECO_ASSERT_STATUS(eco_eval_corpus_parse(b.data, b.len, "x.jsonl", &c), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "x.jsonl: 15 bad lines: x.jsonl:1: check: missing"));
    assert_non_null(strstr(eco_last_error(), "and 5 more"));
    eco_buf_free(&b);
    /* A line past ECO_EVAL_MAX_LINE. */
    size_t n = ECO_EVAL_MAX_LINE + 10;
    char *big = malloc(n);
    memset(big, ' ', n);
    big[0] = 'x';
    ECO_ASSERT_STATUS(eco_eval_corpus_parse(big, n, "big.jsonl", &c), ECO_STATUS_ERANGE);
    assert_non_null(strstr(eco_last_error(), "big.jsonl:1: line of"));
    free(big);
    ECO_ASSERT_STATUS(eco_eval_corpus_load("/nonexistent/corpus.jsonl", &c), ECO_STATUS_ENOTFOUND);
    assert_null(c);

    eco_check k;
    ECO_ASSERT_OK(eco_check_parse("json_schema", &k));
    assert_int_equal(k, ECO_CHECK_JSON_SCHEMA);
    assert_string_equal(eco_check_name(ECO_CHECK_CHOICE), "choice");
    assert_null(eco_check_name(ECO_CHECK__COUNT));
}

/* ---- n-grams --------------------------------------------------------------------------- */

static eco_ngram_set *grams(unsigned n, const char *text) {
    eco_ngram_set *s = NULL;
    ECO_ASSERT_OK(eco_ngram_set_new(n, &s));
    ECO_ASSERT_OK(eco_ngram_set_add(s, text, strlen(text)));
    return s;
}

static void test_ngrams(void **state) {
    (void)state;
    double v;
    /* "the cat sat on the mat": 3-grams {the cat sat, cat sat on, sat on the, on the mat}
     * (4); "The CAT sat, on the rug!" gives {the cat sat, cat sat on, sat on the, on the
     * rug}: 3 shared. containment = 3/4, jaccard = 3/5. */
    eco_ngram_set *a = grams(3, "the cat sat on the mat"),
                  *b = grams(3, "The CAT sat, on the rug!");
    assert_int_equal(eco_ngram_set_size(a), 4);
    ECO_ASSERT_OK(eco_ngram_containment(a, b, &v));
    assert_true(v == 0.75);
    ECO_ASSERT_OK(eco_ngram_jaccard(a, b, &v));
    assert_true(v == 0.6);
    /* A repeated n-gram counts once: "a b a b a" has 2-grams {a b, b a}. */
    eco_ngram_set *r = grams(2, "a b a b a");
    assert_int_equal(eco_ngram_set_size(r), 2);
    /* Short texts: one n-gram of all their words; equal only to the same words. */
    eco_ngram_set *s1 = grams(8, "Reverse: whale"), *s2 = grams(8, "reverse   WHALE."),
                  *s3 = grams(8, "reverse whale now");
    assert_int_equal(eco_ngram_set_size(s1), 1);
    ECO_ASSERT_OK(eco_ngram_containment(s1, s2, &v));
    assert_true(v == 1);
    ECO_ASSERT_OK(eco_ngram_containment(s1, s3, &v));
    assert_true(v == 0);
    /* Non-ASCII code points are word characters: "café" is not "caf". */
    eco_ngram_set *u1 = grams(1, "un café noir"), *u2 = grams(1, "un caf noir");
    ECO_ASSERT_OK(eco_ngram_containment(u1, u2, &v));
    assert_true(v == 2.0 / 3);
    /* A set accumulates texts (a training corpus's prompts). */
    ECO_ASSERT_OK(eco_ngram_set_add(u2, "café", strlen("café")));
    ECO_ASSERT_OK(eco_ngram_containment(u1, u2, &v));
    assert_true(v == 1);
    /* Empty: no words, no n-grams, scores 0. */
    eco_ngram_set *e = grams(3, " ,.; ");
    assert_int_equal(eco_ngram_set_size(e), 0);
    ECO_ASSERT_OK(eco_ngram_containment(e, a, &v));
    assert_true(v == 0);
    ECO_ASSERT_OK(eco_ngram_jaccard(e, e, &v));
    assert_true(v == 0);
    /* Growth past the first table size keeps every n-gram. */
    eco_ngram_set *big = NULL;
    ECO_ASSERT_OK(eco_ngram_set_new(1, &big));
    char w[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(w, sizeof w, "w%d", i);
        ECO_ASSERT_OK(eco_ngram_set_add(big, w, strlen(w)));
    }
    assert_int_equal(eco_ngram_set_size(big), 5000);
    /* Refusals. */
    ECO_ASSERT_STATUS(eco_ngram_containment(a, r, &v), ECO_STATUS_EINVAL); /* 3 vs 2 */
    ECO_ASSERT_STATUS(eco_ngram_set_add(a, "a\xc3", 2), ECO_STATUS_EINVAL);
    eco_ngram_set *z = NULL;
    ECO_ASSERT_STATUS(eco_ngram_set_new(0, &z), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_ngram_set_new(65, &z), ECO_STATUS_EINVAL);
    eco_ngram_set *sets[] = {a, b, r, s1, s2, s3, u1, u2, e, big};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) eco_ngram_set_free(sets[i]);
}

/* The rule over a corpus: the first case at or over the threshold, named by index. */
static void test_overlap(void **state) {
    (void)state;
    eco_eval_corpus *h = parse_ok(
        "{\"capability\":\"c\",\"prompt\":\"Reverse: ship\",\"check\":\"refusal\"}\n"
        "{\"capability\":\"c\",\"prompt\":\"one two three four five six\",\"check\":\"refusal\"}\n"
        "{\"capability\":\"c\",\"prompt\":\"REVERSE whale\",\"check\":\"refusal\"}\n");
    eco_ngram_set *train = NULL;
    ECO_ASSERT_OK(eco_ngram_set_new(3, &train));
    /* 3-grams of case 2: {one two three, two three four, three four five, four five six};
     * the training text shares the first two: containment 0.5. */
    const char *t1 = "zero one two three four", *t2 = "reverse: whale!";
    ECO_ASSERT_OK(eco_ngram_set_add(train, t1, strlen(t1)));
    bool found = true;
    size_t at = 99;
    double v = -1;
    ECO_ASSERT_OK(eco_eval_corpus_overlap(h, train, 0.6, &found, &at, &v));
    assert_false(found);
    assert_int_equal(at, 1);
    assert_true(v == 0.5);
    ECO_ASSERT_OK(eco_eval_corpus_overlap(h, train, 0.5, &found, &at, &v));
    assert_true(found && at == 1 && v == 0.5);
    ECO_ASSERT_OK(eco_ngram_set_add(train, t2, strlen(t2)));
    ECO_ASSERT_OK(eco_eval_corpus_overlap(h, train, 0.5, &found, &at, &v));
    assert_true(found && at == 1); /* the first in file order */
    ECO_ASSERT_OK(eco_eval_corpus_overlap(h, train, 1.0, &found, &at, &v));
    assert_true(found && at == 2 && v == 1.0); /* a short prompt: a normalised exact match */
    ECO_ASSERT_STATUS(eco_eval_corpus_overlap(h, train, 0, &found, &at, &v), ECO_STATUS_EINVAL);
    eco_ngram_set_free(train);
    eco_eval_corpus_free(h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample),    cmocka_unit_test(test_case_hash),
        cmocka_unit_test(test_malformed), cmocka_unit_test(test_ngrams),
        cmocka_unit_test(test_overlap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
