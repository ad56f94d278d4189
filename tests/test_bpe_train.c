/*
 * BPE trainer (include/ecology/tokenizer_train.h): merges on tiny corpora computed by hand
 * (the working is in the comments), Hugging Face's own unit test (trainer.rs test_train:
 * the "roses are red" word counts, min_frequency 2), the tie-break, HF's overlapping-pair
 * counting, special tokens (first ids, never split), the duplicate-merge rule of the writer,
 * malformed corpora and options refused with file and line named, line streaming across
 * batch boundaries, decode(encode(s)) == s for every byte and random byte strings, and the
 * same bytes from 1 and 2 threads.
 */
#include "test_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/tokenizer.h"
#include "ecology/tokenizer_train.h"
#include "tokenizer/bpe_train_internal.h"

/* Trains on text (one feed) and returns the tokenizer.json text; fails the test on error. */
static char *train_text(const char *text, int64_t vocab, uint64_t min_freq,
                        const char *const *specials, size_t n_specials, const char *bos,
                        int threads) {
    eco_bpe_train_options opt = {.vocab_size = vocab,
                                 .min_frequency = min_freq,
                                 .specials = specials,
                                 .n_specials = n_specials,
                                 .bos = bos,
                                 .threads = threads};
    eco_bpe_trainer *t = NULL;
    ECO_ASSERT_OK(eco_bpe_trainer_create(&opt, &t));
    ECO_ASSERT_OK(eco_bpe_trainer_feed_text(t, "corpus", text, strlen(text)));
    char *json = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_bpe_trainer_finish(t, &json, &len, NULL));
    assert_int_equal(len, strlen(json));
    eco_bpe_trainer_free(t);
    return json;
}

/* The merges of a tokenizer.json as "a b;a b;..." (caller frees). */
static char *merges_of(const char *json) {
    json_error_t err;
    json_t *root = json_loads(json, 0, &err);
    assert_non_null(root);
    json_t *m = json_object_get(json_object_get(root, "model"), "merges");
    assert_true(json_is_array(m));
    eco_buf b = {0};
    size_t i;
    json_t *pair;
    json_array_foreach(m, i, pair) {
        eco_buf_printf(&b, "%s%s %s", i ? ";" : "", json_string_value(json_array_get(pair, 0)),
                       json_string_value(json_array_get(pair, 1)));
    }
    json_decref(root);
    if (!b.data) eco_buf_puts(&b, "");
    return b.data;
}

static int64_t vocab_size_of(const char *json) {
    json_t *root = json_loads(json, 0, NULL);
    assert_non_null(root);
    int64_t n = (int64_t)json_object_size(json_object_get(json_object_get(root, "model"), "vocab"));
    json_decref(root);
    return n;
}

static eco_tokenizer *load(const char *json) {
    eco_tokenizer *tok = NULL;
    ECO_ASSERT_OK(eco_tokenizer_parse(json, strlen(json), "trained.json", &tok));
    return tok;
}

static void expect_merges(const char *json, const char *want) {
    char *got = merges_of(json);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "merges: got  '%s'\n        want '%s'\n", got, want);
    assert_string_equal(got, want);
    free(got);
}

/* ByteLevel ids (no specials): the 256 characters by code point: '!'..'~' are 0..93, so 'a'
 * is 64; U+0100 + k (the 68 remapped bytes) is 188 + k: ' ' -> 'Ġ' U+0120 is 220, '\n' ->
 * 'Ċ' U+010A is 198. */
static void test_hand_corpus(void **state) {
    (void)state;
    /* "ab ab ab\n": words ab x1, Ġab x2, Ċ x1. Pairs: (a,b) 3, (Ġ,a) 2.
     * 1: (a,b) -> "ab" 256; in Ġab: (Ġ,a) -1 x2 = 0, (Ġ,ab) +1 x2 = 2.
     * 2: (Ġ,ab) 2 -> "Ġab" 257. 3: (Ġ,a) is stale (2 -> 0), pushed back with 0, popped: stop. */
    char *json = train_text("ab ab ab\n", 1000, 0, NULL, 0, NULL, 1);
    expect_merges(json, "a b;Ġ ab");
    assert_int_equal(vocab_size_of(json), 258);
    eco_tokenizer *tok = load(json);
    assert_int_equal(eco_tokenizer_token_id(tok, "a"), 64);
    assert_int_equal(eco_tokenizer_token_id(tok, "Ġ"), 220);
    assert_int_equal(eco_tokenizer_token_id(tok, "Ċ"), 198);
    assert_int_equal(eco_tokenizer_token_id(tok, "ab"), 256);
    assert_int_equal(eco_tokenizer_token_id(tok, "Ġab"), 257);
    int32_t *ids;
    size_t n;
    ECO_ASSERT_OK(eco_tokenizer_encode(tok, "ab ab\n", 6, true, &ids, &n));
    assert_int_equal(n, 3);
    assert_int_equal(ids[0], 256);
    assert_int_equal(ids[1], 257);
    assert_int_equal(ids[2], 198);
    free(ids);
    eco_tokenizer_free(tok);
    free(json);

    /* The vocabulary size stops the loop: 257 tokens -> one merge. */
    json = train_text("ab ab ab\n", 257, 0, NULL, 0, NULL, 1);
    expect_merges(json, "a b");
    free(json);
    /* min_frequency 3: (a,b) has 3, (Ġ,ab) only 2. */
    json = train_text("ab ab ab\n", 1000, 3, NULL, 0, NULL, 1);
    expect_merges(json, "a b");
    free(json);
}

static void test_tie_break(void **state) {
    (void)state;
    /* "ac ab\n": words ac, Ġab, Ċ. Pairs all 1: (a,b)=[64,65] < (a,c)=[64,66] < (Ġ,a)=[220,64].
     * 1: (a,b) -> "ab" 256; (Ġ,a) -> 0, (Ġ,ab) = 1 (pair [220,256]).
     * 2: (a,c) [64,66] before the stale (Ġ,a) and (Ġ,ab) [220,256] -> "ac" 257.
     * 3: (Ġ,a) stale -> back with 0; (Ġ,ab) -> "Ġab" 258; then (Ġ,a) 0: stop. */
    char *json = train_text("ac ab\n", 1000, 0, NULL, 0, NULL, 1);
    expect_merges(json, "a b;a c;Ġ ab");
    free(json);
    /* Order in the corpus does not matter: "zw\nxy\n": (x,y) [87,88] before (z,w) [89,86]. */
    json = train_text("zw\nxy\n", 1000, 0, NULL, 0, NULL, 1);
    expect_merges(json, "x y;z w");
    free(json);
    /* A higher count wins over a smaller pair: "zw zw xy\n" gives words zw, Ġzw, Ġxy, Ċ;
     * pairs (z,w) 2 [89,86], (x,y) 1 [87,88], (Ġ,x) 1 [220,87], (Ġ,z) 1 [220,89].
     * 1: (z,w) -> "zw" 256: (Ġ,z) -> 0, (Ġ,zw) [220,256] = 1.  2: (x,y) -> "xy" 257:
     * (Ġ,x) -> 0, (Ġ,xy) [220,257] = 1.  3: (Ġ,x) and (Ġ,z) stale (-> 0); (Ġ,zw) before
     * (Ġ,xy).  4: (Ġ,xy). Then only zeros: stop. */
    json = train_text("zw zw xy\n", 1000, 0, NULL, 0, NULL, 1);
    expect_merges(json, "z w;x y;Ġ zw;Ġ xy");
    free(json);
}

/* HF tokenizers, src/models/bpe/trainer.rs, test_train: the trainer on word counts without
 * an initial alphabet, min_frequency 2, default vocab size 30000. */
static void test_hf_roses(void **state) {
    (void)state;
    static const struct {
        const char *w;
        uint64_t c;
    } wc_in[] = {{"roses", 1}, {"are", 2}, {"red", 1}, {"voilets", 1}, {"blue", 1}, {"BERT", 1},
                 {"is", 2},    {"big", 1}, {"and", 1}, {"so", 1},      {"GPT-2", 1}};
    tok_wordcount wc = {0};
    eco_arena_init(&wc.keys, 0);
    for (size_t i = 0; i < sizeof wc_in / sizeof *wc_in; i++)
        assert_true(tok_wordcount_add(&wc, wc_in[i].w, strlen(wc_in[i].w), wc_in[i].c));
    tok_bpe_params p = {.vocab_size = 30000, .min_frequency = 2};
    tok_bpe_result r = {0};
    ECO_ASSERT_OK(tok_bpe_merge(&p, &wc, &r));
    static const char *const want_vocab[] = {"-", "2", "B", "E", "G",  "P",   "R", "T", "a",
                                             "b", "d", "e", "g", "i",  "l",   "n", "o", "r",
                                             "s", "t", "u", "v", "re", "are", "is"};
    assert_int_equal(r.n_tok, sizeof want_vocab / sizeof *want_vocab);
    for (size_t i = 0; i < r.n_tok; i++) assert_string_equal(r.tok[i], want_vocab[i]);
    /* ((17, 11), (0, 22)) 'r' + 'e'; ((8, 22), (1, 23)) 'a' + 're'; ((13, 18), (2, 24)) 'i' + 's' */
    static const tok_bpe_merge_rec want_merges[] = {{17, 11, 22}, {8, 22, 23}, {13, 18, 24}};
    assert_int_equal(r.n_merges, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(r.merges[i].a, want_merges[i].a);
        assert_int_equal(r.merges[i].b, want_merges[i].b);
        assert_int_equal(r.merges[i].merged, want_merges[i].merged);
    }
    tok_bpe_result_free(&r);
    tok_wordcount_free(&wc);
}

/* Word::merge's change rules on overlapping pairs: "aaaa" has (a,a) three times; merging it
 * left to right gives [aa, aa] with (a,a) -1 (after the first), (aa,a) +1 then -1,
 * (aa,aa) +1; (a,a) stays at 2 (HF does not decrement the merged pair) but has no heap entry
 * left, so the next merge is (aa,aa). */
static void test_overlapping_pairs(void **state) {
    (void)state;
    tok_wordcount wc = {0};
    eco_arena_init(&wc.keys, 0);
    assert_true(tok_wordcount_add(&wc, "aaaa", 4, 1));
    tok_bpe_params p = {.vocab_size = 100};
    tok_bpe_result r = {0};
    ECO_ASSERT_OK(tok_bpe_merge(&p, &wc, &r));
    assert_int_equal(r.n_tok, 3);
    assert_string_equal(r.tok[1], "aa");
    assert_string_equal(r.tok[2], "aaaa");
    assert_int_equal(r.n_merges, 2);
    assert_int_equal(r.merges[1].a, 1);
    assert_int_equal(r.merges[1].b, 1);
    tok_bpe_result_free(&r);
    /* "aaa" x 1: (a,a) 2; merged: [aa, a], (a,a) -1 -> 1, (aa,a) +1. Next: (aa,a) 1 -> "aaa". */
    tok_wordcount_free(&wc);
    eco_arena_init(&wc.keys, 0);
    assert_true(tok_wordcount_add(&wc, "aaa", 3, 1));
    memset(&r, 0, sizeof r);
    ECO_ASSERT_OK(tok_bpe_merge(&p, &wc, &r));
    assert_int_equal(r.n_merges, 2);
    assert_string_equal(r.tok[2], "aaa");
    assert_int_equal(r.merges[1].a, 1);
    assert_int_equal(r.merges[1].b, 0);
    tok_bpe_result_free(&r);
    tok_wordcount_free(&wc);
}

/* The writer keeps a pair's later rank when the loop made it twice (HF's HashMap). */
static void test_duplicate_merges_written_once(void **state) {
    (void)state;
    tok_bpe_result r = {0};
    eco_arena_init(&r.strs, 0);
    static const char *toks[] = {"a", "b", "c", "ab", "bc"};
    r.n_tok = 5;
    r.tok = (const char **)toks;
    uint32_t lens[] = {1, 1, 1, 2, 2};
    r.tok_len = lens;
    tok_bpe_merge_rec m[] = {{0, 1, 3}, {1, 2, 4}, {0, 1, 3}};
    r.merges = m;
    r.n_merges = 3;
    char *json = NULL;
    size_t len;
    ECO_ASSERT_OK(tok_bpe_json(&r, 0, NULL, &json, &len));
    expect_merges(json, "b c;a b");
    free(json);
    eco_arena_free(&r.strs);
}

static void test_specials(void **state) {
    (void)state;
    const char *sp[] = {"<|endoftext|>", "<pad>"};
    /* the special's text is frequent in the corpus: merges build its pieces, yet encoding
     * finds the special whole */
    eco_buf corpus = {0};
    for (int i = 0; i < 50; i++) eco_buf_puts(&corpus, "hello world<|endoftext|>again\n");
    char *json = train_text(corpus.data, 400, 0, sp, 2, "<|bos|>", 2);
    eco_tokenizer *tok = load(json);
    assert_int_equal(eco_tokenizer_token_id(tok, "<|endoftext|>"), 0);
    assert_int_equal(eco_tokenizer_token_id(tok, "<pad>"), 1);
    assert_int_equal(eco_tokenizer_token_id(tok, "<|bos|>"), 2); /* --bos added last */
    assert_true(eco_tokenizer_is_special(tok, 0));
    assert_true(eco_tokenizer_is_special(tok, 2));
    assert_int_equal(eco_tokenizer_token_id(tok, "!"), 3); /* the alphabet follows */
    const char *text = "say hello<|endoftext|>world<pad>";
    int32_t *ids;
    size_t n;
    ECO_ASSERT_OK(eco_tokenizer_encode(tok, text, strlen(text), true, &ids, &n));
    assert_true(n > 4);
    assert_int_equal(ids[0], 2); /* BOS from the post-processor */
    int eot = 0, pad = 0;
    for (size_t i = 0; i < n; i++) {
        eot += ids[i] == 0;
        pad += ids[i] == 1;
    }
    assert_int_equal(eot, 1);
    assert_int_equal(pad, 1);
    assert_int_equal(ids[n - 1], 1);
    char *back;
    size_t blen;
    ECO_ASSERT_OK(eco_tokenizer_decode(tok, ids + 1, n - 1, false, &back, &blen));
    assert_string_equal(back, text);
    free(back);
    free(ids);
    eco_tokenizer_free(tok);
    free(json);
    eco_buf_free(&corpus);
}

static void expect_refused(eco_status want, eco_status got, const char *piece) {
    if (got != want || !strstr(eco_last_error(), piece))
        fprintf(stderr, "got %s '%s', want %s with '%s'\n", eco_status_str(got), eco_last_error(),
                eco_status_str(want), piece);
    assert_int_equal(got, want);
    assert_non_null(strstr(eco_last_error(), piece));
}

static void test_refused(void **state) {
    (void)state;
    eco_bpe_train_options opt = {.vocab_size = 300, .threads = 1};
    eco_bpe_trainer *t = NULL;
    /* options */
    opt.vocab_size = 255;
    expect_refused(ECO_STATUS_EINVAL, eco_bpe_trainer_create(&opt, &t), "vocab size 255");
    const char *sp[] = {"<s>", "</s>", "<s>"};
    opt.vocab_size = 257;
    opt.specials = sp;
    opt.n_specials = 2;
    expect_refused(ECO_STATUS_EINVAL, eco_bpe_trainer_create(&opt, &t),
                   "the 2 special token(s) and the 256 byte tokens");
    opt.vocab_size = 300;
    opt.n_specials = 3;
    expect_refused(ECO_STATUS_EINVAL, eco_bpe_trainer_create(&opt, &t), "'<s>' is given twice");
    const char *bad[] = {"\xff"};
    opt.specials = bad;
    opt.n_specials = 1;
    expect_refused(ECO_STATUS_EINVAL, eco_bpe_trainer_create(&opt, &t), "is not UTF-8");
    const char *bytechar[] = {"<s>", "\xc4\xa0"}; /* "Ġ", the character of byte ' ' */
    opt.specials = bytechar;
    opt.n_specials = 2;
    expect_refused(ECO_STATUS_EINVAL, eco_bpe_trainer_create(&opt, &t),
                   "special token 2 '\xc4\xa0' is the character of a byte token");
    const char *latin[] = {"\xc3\xa9t\xc3\xa9", "<|x|>"}; /* "été": é is byte 0xE9 */
    opt.specials = latin;
    expect_refused(ECO_STATUS_EINVAL, eco_bpe_trainer_create(&opt, &t),
                   "special token 1 '\xc3\xa9t\xc3\xa9' would not decode to itself");
    opt.n_specials = 0;
    opt.bos = "a";
    expect_refused(ECO_STATUS_EINVAL, eco_bpe_trainer_create(&opt, &t),
                   "the BOS token 'a' is the character of a byte token");
    opt.bos = NULL;
    ECO_ASSERT_OK(eco_bpe_trainer_create(&opt, &t));
    /* nothing fed */
    char *json = NULL;
    size_t len;
    expect_refused(ECO_STATUS_EINVAL, eco_bpe_trainer_finish(t, &json, &len, NULL),
                   "no corpus was given");
    /* invalid UTF-8 on line 3, byte 4 */
    const char bad_text[] = "good line\nanother\nabc\xC3(x\nlast\n";
    expect_refused(ECO_STATUS_EFORMAT,
                   eco_bpe_trainer_feed_text(t, "bad.txt", bad_text, sizeof bad_text - 1),
                   "bad.txt: line 3: invalid UTF-8 at byte 4 of the line");
    /* empty input */
    expect_refused(ECO_STATUS_EFORMAT, eco_bpe_trainer_feed_text(t, "empty.txt", "", 0),
                   "empty.txt: empty file");
    /* files: missing, empty, invalid */
    char *dir = eco_test_tmpdir();
    char *missing = eco_path_join(dir, "missing.txt");
    expect_refused(ECO_STATUS_EIO, eco_bpe_trainer_feed_file(t, missing),
                   "missing.txt: cannot open");
    char *empty = eco_path_join(dir, "empty.txt");
    eco_test_write_file(empty, "", 0);
    expect_refused(ECO_STATUS_EFORMAT, eco_bpe_trainer_feed_file(t, empty),
                   "empty.txt: empty file");
    char *inval = eco_path_join(dir, "latin1.txt");
    eco_test_write_file(inval, "caf\xe9\n", 5);
    expect_refused(ECO_STATUS_EFORMAT, eco_bpe_trainer_feed_file(t, inval),
                   "latin1.txt: line 1: invalid UTF-8 at byte 4");
    expect_refused(ECO_STATUS_EIO, eco_bpe_trainer_feed_file(t, dir), "is a folder");
    /* a refused file leaves nothing behind: still nothing to train on */
    expect_refused(ECO_STATUS_EINVAL, eco_bpe_trainer_finish(t, &json, &len, NULL),
                   "no corpus was given");
    /* the good lines of a file refused later are not counted either: a good file after a
     * refused one trains like the good file alone */
    char *good = eco_path_join(dir, "good.txt");
    eco_test_write_file(good, "ab ab ab\n", 9);
    char *half = eco_path_join(dir, "half.txt");
    eco_test_write_file(half, "xy xy xy\n\xff\n", 11);
    expect_refused(ECO_STATUS_EFORMAT, eco_bpe_trainer_feed_file(t, half), "half.txt: line 2");
    ECO_ASSERT_OK(eco_bpe_trainer_feed_file(t, good));
    eco_bpe_train_stats stats;
    ECO_ASSERT_OK(eco_bpe_trainer_finish(t, &json, &len, &stats));
    expect_merges(json, "a b;Ġ ab");
    assert_int_equal(stats.lines, 1);
    assert_int_equal(stats.bytes, 9);
    assert_int_equal(stats.words, 3);
    assert_int_equal(stats.word_total, 4);
    free(json);
    eco_bpe_trainer_free(t);
    /* eco_bpe_train_files writes atomically, and refuses the same */
    char *out = eco_path_join(dir, "tokenizer.json");
    const char *files[] = {good, inval};
    opt.specials = NULL;
    expect_refused(ECO_STATUS_EFORMAT, eco_bpe_train_files(&opt, files, 2, out, NULL),
                   "latin1.txt: line 1");
    FILE *fp = fopen(out, "rb");
    assert_null(fp);
    ECO_ASSERT_OK(eco_bpe_train_files(&opt, files, 1, out, NULL));
    eco_tokenizer *tok = NULL;
    ECO_ASSERT_OK(eco_tokenizer_load(out, &tok));
    assert_int_equal(eco_tokenizer_vocab_size(tok), 258);
    eco_tokenizer_free(tok);
    free(out);
    free(good);
    free(half);
    free(inval);
    free(empty);
    free(missing);
    eco_test_rmtree(dir);
    free(dir);
}

typedef struct collected {
    eco_buf text;
    int64_t lines, first_expected;
} collected;

static eco_status collect(void *ctx, const char *data, const size_t *ends, size_t n,
                          int64_t first_line) {
    collected *c = ctx;
    assert_int_equal(first_line, c->first_expected);
    for (size_t k = 0; k < n; k++) {
        size_t s = k ? ends[k - 1] : 0;
        /* each line but the input's last ends in '\n', and holds no other */
        const char *nl = memchr(data + s, '\n', ends[k] - s);
        assert_true(nl == NULL || nl == data + ends[k] - 1);
        eco_buf_append(&c->text, data + s, ends[k] - s);
    }
    c->lines += (int64_t)n;
    c->first_expected += (int64_t)n;
    return ECO_STATUS_OK;
}

/* Lines cut in small batches come out whole and in order, long lines across several reads
 * included, and the last line without '\n' counts (HF's read_line). */
static void test_streaming(void **state) {
    (void)state;
    eco_buf text = {0};
    eco_rng rng;
    eco_rng_seed(&rng, 7);
    int64_t nl = 0;
    for (int i = 0; i < 3000; i++) {
        size_t len = eco_rng_next(&rng) % 40;
        if (i % 500 == 0) len = 10000; /* longer than a batch */
        for (size_t k = 0; k < len; k++) eco_buf_push(&text, (char)('a' + eco_rng_next(&rng) % 26));
        if (i < 2999) {
            eco_buf_push(&text, '\n');
            nl++;
        }
    }
    collected c = {.first_expected = 1};
    int64_t lines, bytes;
    ECO_ASSERT_OK(
        tok_corpus_stream_text("t", text.data, text.len, 4096, collect, &c, &lines, &bytes));
    assert_int_equal(lines, nl + 1);
    assert_int_equal(c.lines, nl + 1);
    assert_int_equal(bytes, (int64_t)text.len);
    assert_int_equal(c.text.len, text.len);
    assert_memory_equal(c.text.data, text.data, text.len);
    eco_buf_free(&c.text);
    eco_buf_free(&text);
}

/* decode(encode(s)) == s for every single byte (invalid UTF-8 ones included) and for random
 * byte strings, with a vocabulary trained on English-like text. */
static void test_round_trip(void **state) {
    (void)state;
    eco_buf corpus = {0};
    eco_rng rng;
    eco_rng_seed(&rng, 11);
    static const char *words[] = {"the", "whale", "ship", "sea", "Ahab", "said", "and", "of",
                                  "a",   "to",    "in",   "it",  "was",  "that", "42",  "1851"};
    for (int i = 0; i < 2000; i++) {
        eco_buf_puts(&corpus, words[eco_rng_next(&rng) % 16]);
        eco_buf_puts(&corpus, eco_rng_next(&rng) % 7 ? " " : ".\n");
    }
    eco_buf_puts(&corpus, "caf\xc3\xa9 na\xc3\xafve \xe2\x80\x94 \xf0\x9f\x90\x8b\n");
    char *json = train_text(corpus.data, 600, 0, NULL, 0, NULL, 2);
    eco_tokenizer *tok = load(json);
    int32_t *ids;
    size_t n;
    char *back;
    size_t blen;
    for (int b = 0; b < 256; b++) {
        char s[1] = {(char)b};
        ECO_ASSERT_OK(eco_tokenizer_encode(tok, s, 1, false, &ids, &n));
        assert_int_equal(n, 1);
        ECO_ASSERT_OK(eco_tokenizer_decode(tok, ids, n, false, &back, &blen));
        assert_int_equal(blen, 1);
        assert_int_equal((unsigned char)back[0], b);
        free(back);
        free(ids);
    }
    for (int i = 0; i < 500; i++) {
        char s[96];
        size_t len = eco_rng_next(&rng) % 80;
        bool ascii = i % 2;
        if (ascii) { /* the corpus's words and separators */
            size_t k = 0;
            while (k < len) {
                const char *w = words[eco_rng_next(&rng) % 16];
                size_t wl = strlen(w);
                memcpy(s + k, w, wl);
                k += wl;
                s[k++] = " \n\t."[eco_rng_next(&rng) % 4];
            }
            len = k;
        } else {
            for (size_t k = 0; k < len; k++) s[k] = (char)(eco_rng_next(&rng) & 0xFF);
        }
        ECO_ASSERT_OK(eco_tokenizer_encode(tok, s, len, false, &ids, &n));
        ECO_ASSERT_OK(eco_tokenizer_decode(tok, ids, n, false, &back, &blen));
        assert_int_equal(blen, len);
        assert_memory_equal(back, s, len);
        if (ascii && len > 20) assert_true(n < len); /* merges were used */
        free(back);
        free(ids);
    }
    eco_tokenizer_free(tok);
    free(json);
    eco_buf_free(&corpus);
}

/* The same corpus gives the same bytes with 1 and 2 counting threads (and 3, uneven). */
static void test_threads_identical(void **state) {
    (void)state;
    eco_buf corpus = {0};
    eco_rng rng;
    eco_rng_seed(&rng, 3);
    for (int i = 0; i < 20000; i++) {
        size_t len = 1 + eco_rng_next(&rng) % 8;
        for (size_t k = 0; k < len; k++)
            eco_buf_push(&corpus, (char)('a' + (int)(eco_rng_next(&rng) % 6)));
        eco_buf_puts(&corpus, eco_rng_next(&rng) % 5 ? " " : ",\n");
    }
    char *j1 = train_text(corpus.data, 1500, 0, NULL, 0, NULL, 1);
    char *j2 = train_text(corpus.data, 1500, 0, NULL, 0, NULL, 2);
    char *j3 = train_text(corpus.data, 1500, 0, NULL, 0, NULL, 3);
    assert_string_equal(j1, j2);
    assert_string_equal(j1, j3);
    assert_true(vocab_size_of(j1) == 1500);
    free(j1);
    free(j2);
    free(j3);
    eco_buf_free(&corpus);
    /* Moby-Dick when the test material is there: a real text, one file */
    char *book = eco_test_source_path(".cache/test-material/moby-dick/package/data/data.txt");
    FILE *fp = fopen(book, "rb");
    if (!fp) {
        printf("  %s absent (scripts/fetch-test-material.sh): Moby-Dick not trained on\n", book);
        free(book);
        return;
    }
    fclose(fp);
    const char *files[] = {book};
    char *dir = eco_test_tmpdir();
    char *o1 = eco_path_join(dir, "t1.json"), *o2 = eco_path_join(dir, "t2.json");
    eco_bpe_train_options opt = {.vocab_size = 3000, .threads = 1};
    eco_bpe_train_stats s1, s2;
    ECO_ASSERT_OK(eco_bpe_train_files(&opt, files, 1, o1, &s1));
    opt.threads = 2;
    ECO_ASSERT_OK(eco_bpe_train_files(&opt, files, 1, o2, &s2));
    char *a, *b;
    size_t la, lb;
    ECO_ASSERT_OK(eco_read_file(o1, 1 << 26, &a, &la));
    ECO_ASSERT_OK(eco_read_file(o2, 1 << 26, &b, &lb));
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    assert_int_equal(s1.vocab_size, 3000);
    assert_int_equal(s1.words, s2.words);
    free(a);
    free(b);
    free(o1);
    free(o2);
    eco_test_rmtree(dir);
    free(dir);
    free(book);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_corpus),
        cmocka_unit_test(test_tie_break),
        cmocka_unit_test(test_hf_roses),
        cmocka_unit_test(test_overlapping_pairs),
        cmocka_unit_test(test_duplicate_merges_written_once),
        cmocka_unit_test(test_specials),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_threads_identical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
