/*
 * tokenizer: small hand-written tokenizer.json files (every pipeline step, added-token
 * flags, split behaviours, byte fallback), the project's byte tokenizer, NFC against the
 * Unicode NormalizationTest vectors (tests/reference/nfc_cases.txt), and a table of
 * malformed tokenizer.json files, each with the status and message it must produce.
 * Real vocabularies are in test_tokenizer_real.c.
 */
#include "test_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "ecology/tokenizer.h"
#include "tokenizer/tokenizer_internal.h"

static eco_tokenizer *parse_ok(const char *json) {
    eco_tokenizer *tok = NULL;
    ECO_ASSERT_OK(eco_tokenizer_parse(json, strlen(json), "test.json", &tok));
    return tok;
}

/* Asserts encode(text) == want[0..n). */
static void expect_ids(const eco_tokenizer *tok, const char *text, size_t len, bool special,
                       const int32_t *want, size_t n) {
    int32_t *ids = NULL;
    size_t got = 0;
    ECO_ASSERT_OK(eco_tokenizer_encode(tok, text, len, special, &ids, &got));
    bool ok = got == n && (n == 0 || memcmp(ids, want, n * sizeof *ids) == 0);
    if (!ok) {
        fprintf(stderr, "encode(\"%.*s\"): got", (int)len, text);
        for (size_t i = 0; i < got; i++) fprintf(stderr, " %d", ids[i]);
        fprintf(stderr, "; want");
        for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", want[i]);
        fprintf(stderr, "\n");
    }
    free(ids);
    assert_true(ok);
}
#define EXPECT(tok, text, special, ...)                                                            \
    do {                                                                                           \
        const int32_t want_[] = {__VA_ARGS__};                                                     \
        expect_ids(tok, text, strlen(text), special, want_, sizeof want_ / sizeof want_[0]);       \
    } while (0)

static void expect_decode(const eco_tokenizer *tok, const int32_t *ids, size_t n, bool skip,
                          const char *want, size_t want_len) {
    char *text = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_tokenizer_decode(tok, ids, n, skip, &text, &len));
    if (len != want_len || memcmp(text, want, len) != 0) {
        fprintf(stderr, "decode: got \"%.*s\" want \"%.*s\"\n", (int)len, text, (int)want_len,
                want);
        fail();
    }
    assert_int_equal(text[len], '\0');
    free(text);
}

/* decode(encode(x)) == x, skipping the specials the post-processor added. */
static void expect_roundtrip(const eco_tokenizer *tok, const char *text, size_t len) {
    int32_t *ids;
    size_t n;
    ECO_ASSERT_OK(eco_tokenizer_encode(tok, text, len, true, &ids, &n));
    expect_decode(tok, ids, n, true, text, len);
    free(ids);
}

/* ---- a small byte-level BPE ---------------------------------------------------------- */

/* Vocabulary: the 256 byte characters plus a few merged tokens. Built in C so the JSON
 * holds exactly GPT-2's byte table. */
static char *bytelevel_json(const char *extra_vocab, const char *merges, const char *pre,
                            const char *added, const char *post) {
    eco_tokenizer tmp;
    tok_init_byte_table(&tmp);
    eco_buf b = {0};
    char num[32];
    assert_true(eco_buf_append(&b, "{\"version\":\"1.0\",\"added_tokens\":", 32));
    assert_true(eco_buf_append(&b, added, strlen(added)));
    assert_true(eco_buf_append(&b, ",\"normalizer\":null,\"pre_tokenizer\":", 35));
    assert_true(eco_buf_append(&b, pre, strlen(pre)));
    assert_true(eco_buf_append(&b, ",\"post_processor\":", 18));
    assert_true(eco_buf_append(&b, post, strlen(post)));
    const char *m = ",\"decoder\":{\"type\":\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":{";
    assert_true(eco_buf_append(&b, m, strlen(m)));
    for (int i = 0; i < 256; i++) {
        assert_true(eco_buf_append(&b, i ? ",\"" : "\"", i ? 2 : 1));
        if (tmp.byte_char[i][0] == '"' || tmp.byte_char[i][0] == '\\')
            assert_true(eco_buf_push(&b, '\\'));
        assert_true(eco_buf_append(&b, tmp.byte_char[i], tmp.byte_char_len[i]));
        snprintf(num, sizeof num, "\":%d", i);
        assert_true(eco_buf_append(&b, num, strlen(num)));
    }
    assert_true(eco_buf_append(&b, extra_vocab, strlen(extra_vocab)));
    assert_true(eco_buf_append(&b, "},\"merges\":", 11));
    assert_true(eco_buf_append(&b, merges, strlen(merges)));
    assert_true(eco_buf_append(&b, "}}", 2));
    return b.data;
}

static const char GPT2_PRE[] =
    "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true}";

static void test_bpe_merge_order(void **state) {
    (void)state;
    /* ids: byte b = id b (Ġ, byte 32, is 32); 256 "ab", 257 "bc", 258 "abc", 259 "Ġa" */
    const char *extra = ",\"ab\":256,\"bc\":257,\"abc\":258,\"\xc4\xa0"
                        "a\":259";
    /* rank decides: "b c" first gives bc, then a+bc */
    char *j =
        bytelevel_json(extra, "[\"b c\",\"a bc\",\"a b\",\"\xc4\xa0 a\"]", GPT2_PRE, "[]", "null");
    eco_tokenizer *tok = parse_ok(j);
    EXPECT(tok, "abc", false, 258);
    EXPECT(tok, "ab", false, 256);
    EXPECT(tok, "abab", false, 256, 256);
    EXPECT(tok, " a", false, 259);
    EXPECT(tok, " abc", false, 32,
           258); /* " abc" is one piece; "b c" (rank 0) beats "Ġ a" (rank 3) */
    EXPECT(tok, "", false);
    assert_int_equal(eco_tokenizer_vocab_size(tok), 260);
    assert_int_equal(eco_tokenizer_token_id(tok, "abc"), 258);
    assert_string_equal(eco_tokenizer_token_str(tok, 257), "bc");
    assert_null(eco_tokenizer_token_str(tok, 260));
    eco_tokenizer_free(tok);
    free(j);
    /* pair form, other order: "a b" first gives ab, then ab+c is not a merge */
    j = bytelevel_json(extra, "[[\"a\",\"b\"],[\"b\",\"c\"],[\"a\",\"bc\"]]", GPT2_PRE, "[]",
                       "null");
    tok = parse_ok(j);
    EXPECT(tok, "abc", false, 256, 99);
    /* equal ranks cannot happen; leftmost wins among the same pair */
    EXPECT(tok, "ababab", false, 256, 256, 256);
    expect_roundtrip(tok, "abc abc\xff\x00 \xe2\x82", 13);
    eco_tokenizer_free(tok);
    free(j);
}

static void test_ignore_merges(void **state) {
    (void)state;
    /* "abc" is in the vocabulary but unreachable by merges: only ignore_merges finds it */
    const char *extra = ",\"ab\":256,\"abc\":257";
    char *j = bytelevel_json(extra, "[\"a b\"]", GPT2_PRE, "[]", "null");
    eco_tokenizer *tok = parse_ok(j);
    EXPECT(tok, "abc", false, 256, 99);
    eco_tokenizer_free(tok);
    free(j);
    eco_buf b = {0};
    j = bytelevel_json(extra, "[\"a b\"]", GPT2_PRE, "[]", "null");
    const char *at = strstr(j, "\"type\":\"BPE\"");
    assert_non_null(at);
    assert_true(eco_buf_append(&b, j, (size_t)(at - j)));
    assert_true(eco_buf_append(&b, "\"ignore_merges\":true,", 21));
    assert_true(eco_buf_append(&b, at, strlen(at)));
    tok = parse_ok(b.data);
    EXPECT(tok, "abc", false, 257);
    eco_tokenizer_free(tok);
    eco_buf_free(&b);
    free(j);
}

static void test_added_tokens(void **state) {
    (void)state;
    const char *added =
        "[{\"id\":300,\"content\":\"<|end|>\",\"special\":true,\"normalized\":false},"
        "{\"id\":301,\"content\":\"<|end|>x\",\"special\":false,\"normalized\":false},"
        "{\"id\":302,\"content\":\"[L]\",\"special\":false,\"lstrip\":true,\"normalized\":false},"
        "{\"id\":303,\"content\":\"[R]\",\"special\":false,\"rstrip\":true,\"normalized\":false},"
        "{\"id\":304,\"content\":\"cat\",\"special\":false,\"single_word\":true,\"normalized\":"
        "false}]";
    const char *post = "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<|"
                       "end|>\",\"type_id\":0}},"
                       "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":{\"id\":\"<|"
                       "end|>\",\"type_id\":0}}],"
                       "\"special_tokens\":{\"<|end|>\":{\"id\":\"<|end|>\",\"ids\":[300],"
                       "\"tokens\":[\"<|end|>\"]}}}";
    char *j = bytelevel_json("", "[]", GPT2_PRE, added, post);
    eco_tokenizer *tok = parse_ok(j);
    assert_int_equal(eco_tokenizer_vocab_size(tok), 305);
    assert_true(eco_tokenizer_is_special(tok, 300));
    assert_false(eco_tokenizer_is_special(tok, 301));
    assert_false(eco_tokenizer_is_special(tok, 97));
    assert_int_equal(eco_tokenizer_token_id(tok, "<|end|>"), 300);
    /* longest match first; special tokens are matched even without add_special */
    EXPECT(tok, "a<|end|>b", false, 97, 300, 98);
    EXPECT(tok, "a<|end|>xb", false, 97, 301, 98);
    EXPECT(tok, "ab", true, 300, 97, 98, 300);
    /* lstrip eats the white space before, rstrip the white space after */
    EXPECT(tok, "a  [L] b", false, 97, 302, 32, 98);
    EXPECT(tok, "a [R]  b", false, 97, 32, 303, 98);
    /* single_word: only when not inside a word */
    EXPECT(tok, "a cat b", false, 97, 32, 304, 32, 98);
    EXPECT(tok, "cats", false, 99, 97, 116, 115);
    EXPECT(tok, "cat", false, 304);
    /* decode: specials are kept or skipped; added tokens read back as their text */
    const int32_t ids[] = {300, 97, 301, 302, 300};
    expect_decode(tok, ids, 5, false, "<|end|>a<|end|>x[L]<|end|>", 26);
    expect_decode(tok, ids, 5, true, "a<|end|>x[L]", 12);
    const int32_t bad[] = {97, 305};
    char *text;
    size_t len;
    ECO_ASSERT_STATUS(eco_tokenizer_decode(tok, bad, 2, false, &text, &len), ECO_STATUS_ERANGE);
    const int32_t neg[] = {-1};
    ECO_ASSERT_STATUS(eco_tokenizer_decode(tok, neg, 1, false, &text, &len), ECO_STATUS_ERANGE);
    /* ids 256..299 are holes: not tokens */
    const int32_t hole[] = {280};
    ECO_ASSERT_STATUS(eco_tokenizer_decode(tok, hole, 1, false, &text, &len), ECO_STATUS_ERANGE);
    eco_tokenizer_free(tok);
    free(j);
}

/* Split behaviours: with ignore_merges and whole pieces in the vocabulary, each piece is one
 * token, so the ids show where the pre-tokenizer cut. */
static void test_split_behaviors(void **state) {
    (void)state;
    static const struct {
        const char *behavior;
        bool invert;
        int32_t want[8];
        size_t n;
    } cases[] = {
        /* text "a-b--c", pattern "-" */
        {"Isolated", false, {97, 45, 98, 45, 45, 99}, 6},
        {"Removed", false, {97, 98, 99}, 3},
        {"MergedWithPrevious", false, {256, 257, 45, 99}, 4}, /* "a-" "b-" "-" "c" */
        {"MergedWithNext", false, {97, 258, 45, 259}, 4},     /* "a" "-b" "-" "-c" */
        {"Contiguous", false, {97, 45, 98, 260, 99}, 5},      /* "a" "-" "b" "--" "c" */
        {"Removed", true, {45, 45, 45}, 3},                   /* letters removed */
    };
    const char *extra = ",\"a-\":256,\"b-\":257,\"-b\":258,\"-c\":259,\"--\":260";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char pre[512];
        snprintf(
            pre, sizeof pre,
            "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"String\":"
            "\"-\"},"
            "\"behavior\":\"%s\",\"invert\":%s},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,"
            "\"use_regex\":false}]}",
            cases[i].behavior, cases[i].invert ? "true" : "false");
        char *j = bytelevel_json(extra, "[]", pre, "[]", "null");
        eco_buf b = {0};
        const char *at = strstr(j, "\"type\":\"BPE\"");
        assert_true(eco_buf_append(&b, j, (size_t)(at - j)));
        assert_true(eco_buf_append(&b, "\"ignore_merges\":true,", 21));
        assert_true(eco_buf_append(&b, at, strlen(at)));
        eco_tokenizer *tok = parse_ok(b.data);
        expect_ids(tok, "a-b--c", 6, false, cases[i].want, cases[i].n);
        eco_tokenizer_free(tok);
        eco_buf_free(&b);
        free(j);
    }
}

/* ---- SentencePiece style ------------------------------------------------------------- */

static char *sp_json(const char *normalizer, const char *pre, const char *decoder,
                     bool byte_fallback, const char *unk, bool fuse_unk) {
    eco_buf b = {0};
    char tmp[1024];
    snprintf(
        tmp, sizeof tmp,
        "{\"added_tokens\":[{\"id\":0,\"content\":\"<unk>\",\"special\":true},{\"id\":1,"
        "\"content\":\"<s>\","
        "\"special\":true},{\"id\":2,\"content\":\"</s>\",\"special\":true}],\"normalizer\":%s,"
        "\"pre_tokenizer\":%s,\"decoder\":%s,"
        "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":"
        "\"<s>\","
        "\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[],\"special_"
        "tokens\":{\"<s>\":"
        "{\"id\":\"<s>\",\"ids\":[1],\"tokens\":[\"<s>\"]}}},"
        "\"model\":{\"type\":\"BPE\",\"unk_token\":%s,\"fuse_unk\":%s,\"byte_fallback\":%s,"
        "\"vocab\":{"
        "\"<unk>\":0,\"<s>\":1,\"</s>\":2",
        normalizer, pre, decoder, unk, fuse_unk ? "true" : "false",
        byte_fallback ? "true" : "false");
    assert_true(eco_buf_append(&b, tmp, strlen(tmp)));
    for (int i = 0; i < 256; i++) {
        snprintf(tmp, sizeof tmp, ",\"<0x%02X>\":%d", i, 3 + i);
        assert_true(eco_buf_append(&b, tmp, strlen(tmp)));
    }
    /* 259 ▁ 260 h 261 i 262 ▁h 263 ▁hi 264 é */
    const char *rest =
        ",\"\xe2\x96\x81\":259,\"h\":260,\"i\":261,\"\xe2\x96\x81h\":262,\"\xe2\x96\x81hi\":263,"
        "\"\xc3\xa9\":264},\"merges\":[\"\xe2\x96\x81 h\",\"\xe2\x96\x81h i\"]}}";
    assert_true(eco_buf_append(&b, rest, strlen(rest)));
    return b.data;
}

static const char SP_NORM[] =
    "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\xe2\x96\x81\"},"
    "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\xe2\x96\x81\"}]}";
static const char SP_DEC[] =
    "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":"
    "\"\xe2\x96\x81\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},"
    "{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}";

static void test_sentencepiece(void **state) {
    (void)state;
    char *j = sp_json(SP_NORM, "null", SP_DEC, true, "\"<unk>\"", true);
    eco_tokenizer *tok = parse_ok(j);
    EXPECT(tok, "hi", true, 1, 263);
    EXPECT(tok, "hi hi", false, 263, 263);
    EXPECT(tok, " hi", false, 259, 263);
    EXPECT(tok, "h\xc3\xa9", false, 262, 264);
    /* 'x' is not in the vocabulary: byte fallback */
    EXPECT(tok, "hix", false, 263, 3 + 'x');
    EXPECT(tok, "\xe2\x82\xac", false, 259, 3 + 0xE2, 3 + 0x82, 3 + 0xAC);
    /* an invalid byte goes to byte fallback too */
    EXPECT(tok, "h\xff", false, 262, 3 + 0xFF);
    /* added tokens split the text; each piece gets its own prefix, as in HF */
    EXPECT(tok, "hi</s>hi", false, 263, 2, 263);
    EXPECT(tok, "", true, 1);
    static const char *const rt[] = {
        "hi",   " hi  hi ", "h\xc3\xa9 x\xe2\x82\xac", "\xf0\x9f\x98\x80!", "\xff\xfe h\xc3",
        "\n\t", ""};
    for (size_t i = 0; i < sizeof rt / sizeof *rt; i++) expect_roundtrip(tok, rt[i], strlen(rt[i]));
    eco_tokenizer_free(tok);
    free(j);

    /* without byte fallback: unknown characters become <unk>, fused when fuse_unk */
    j = sp_json(SP_NORM, "null", SP_DEC, false, "\"<unk>\"", true);
    tok = parse_ok(j);
    EXPECT(tok, "hixyz", false, 263, 0);
    EXPECT(tok, "xhi", false, 259, 0, 260, 261);
    eco_tokenizer_free(tok);
    free(j);
    j = sp_json(SP_NORM, "null", SP_DEC, false, "\"<unk>\"", false);
    tok = parse_ok(j);
    EXPECT(tok, "hixyz", false, 263, 0, 0, 0);
    eco_tokenizer_free(tok);
    free(j);
    /* no unk token: unknown characters are dropped (HF does the same) */
    j = sp_json(SP_NORM, "null", SP_DEC, false, "null", false);
    tok = parse_ok(j);
    EXPECT(tok, "hixyz", false, 263);
    eco_tokenizer_free(tok);
    free(j);
}

static void test_metaspace(void **state) {
    (void)state;
    const char *dec =
        "{\"type\":\"Metaspace\",\"replacement\":\"\xe2\x96\x81\",\"prepend_scheme\":\"always\"}";
    char *j = sp_json(
        "null",
        "{\"type\":\"Metaspace\",\"replacement\":\"\xe2\x96\x81\",\"prepend_scheme\":\"first\","
        "\"split\":true}",
        dec, true, "\"<unk>\"", false);
    eco_tokenizer *tok = parse_ok(j);
    EXPECT(tok, "hi hi", false, 263, 263);
    /* "first": only the piece at offset 0 of the input gets the prefix */
    EXPECT(tok, "hi</s>hi", false, 263, 2, 260, 261);
    EXPECT(tok, "</s>hi", false, 2, 260, 261);
    /* split: "  h" -> "▁▁h" -> "▁" "▁h" (no prepend: it starts with ▁ already) */
    EXPECT(tok, "  h", false, 259, 262);
    EXPECT(tok, "h  h", false, 262, 259, 262);
    const int32_t ids[] = {263, 263};
    expect_decode(tok, ids, 2, false, "hi hi", 5);
    eco_tokenizer_free(tok);
    free(j);
    j = sp_json(
        "null",
        "{\"type\":\"Metaspace\",\"replacement\":\"\xe2\x96\x81\",\"prepend_scheme\":\"always\","
        "\"split\":false}",
        dec, true, "\"<unk>\"", false);
    tok = parse_ok(j);
    EXPECT(tok, "hi</s>hi", false, 263, 2, 263);
    eco_tokenizer_free(tok);
    free(j);
}

/* ---- the byte tokenizer --------------------------------------------------------------- */

static void test_byte_tokenizer(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    char *path = eco_path_join(dir, "tokenizer.json");
    ECO_ASSERT_OK(eco_tokenizer_write_bytes(path));
    eco_tokenizer *tok = NULL;
    ECO_ASSERT_OK(eco_tokenizer_load(dir, &tok)); /* a folder works too */
    assert_int_equal(eco_tokenizer_vocab_size(tok), ECO_BYTE_TOKENIZER_VOCAB);
    assert_int_equal(eco_tokenizer_token_id(tok, "<|bos|>"), ECO_BYTE_TOKENIZER_BOS);
    assert_int_equal(eco_tokenizer_token_id(tok, "<|eos|>"), ECO_BYTE_TOKENIZER_EOS);
    assert_int_equal(eco_tokenizer_token_id(tok, "<|pad|>"), ECO_BYTE_TOKENIZER_PAD);
    assert_true(eco_tokenizer_is_special(tok, ECO_BYTE_TOKENIZER_PAD));
    assert_string_equal(eco_tokenizer_token_str(tok, ' '), "\xc4\xa0"); /* Ġ */
    assert_string_equal(eco_tokenizer_token_str(tok, 'A'), "A");
    EXPECT(tok, "hi", true, ECO_BYTE_TOKENIZER_BOS, 'h', 'i');
    EXPECT(tok, "hi", false, 'h', 'i');
    EXPECT(tok, " a<|eos|>", false, ' ', 'a', ECO_BYTE_TOKENIZER_EOS);
    /* every byte value is its own id, and comes back */
    char all[256];
    int32_t want[257];
    want[0] = ECO_BYTE_TOKENIZER_BOS;
    for (int i = 0; i < 256; i++) {
        all[i] = (char)i;
        want[i + 1] = i;
    }
    expect_ids(tok, all, 256, true, want, 257);
    expect_roundtrip(tok, all, 256);
    eco_rng rng;
    eco_rng_seed(&rng, 7);
    for (int t = 0; t < 200; t++) {
        char buf[300];
        size_t n = eco_rng_next(&rng) % sizeof buf;
        for (size_t i = 0; i < n; i++) buf[i] = (char)eco_rng_next(&rng);
        expect_roundtrip(tok, buf, n);
    }
    eco_tokenizer_free(tok);

    /* the file is a Hugging Face tokenizer.json with the documented pieces */
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    assert_non_null(root);
    json_t *model = json_object_get(root, "model");
    assert_string_equal(json_string_value(json_object_get(model, "type")), "BPE");
    assert_int_equal(json_object_size(json_object_get(model, "vocab")), 256);
    assert_int_equal(json_array_size(json_object_get(model, "merges")), 0);
    json_t *pre = json_object_get(root, "pre_tokenizer");
    assert_string_equal(json_string_value(json_object_get(pre, "type")), "ByteLevel");
    assert_true(json_is_false(json_object_get(pre, "use_regex")));
    assert_true(json_is_false(json_object_get(pre, "add_prefix_space")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(root, "decoder"), "type")), "ByteLevel");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(root, "post_processor"), "type")),
        "TemplateProcessing");
    assert_int_equal(json_array_size(json_object_get(root, "added_tokens")), 3);
    json_decref(root);
    /* deterministic: writing again gives the same bytes */
    char *a, *b;
    size_t na, nb;
    ECO_ASSERT_OK(eco_read_file(path, 1 << 20, &a, &na));
    ECO_ASSERT_OK(eco_tokenizer_write_bytes(path));
    ECO_ASSERT_OK(eco_read_file(path, 1 << 20, &b, &nb));
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
    eco_test_rmtree(dir);
    free(path);
    free(dir);
}

/* ---- NFC ----------------------------------------------------------------------------- */

static size_t hex_to_utf8(const char *s, const char *end, char *out) {
    size_t n = 0;
    while (s < end) {
        char *e;
        unsigned long cp = strtoul(s, &e, 16);
        if (e == s) break;
        n += eco_utf8_encode((uint32_t)cp, out + n);
        s = e;
        while (s < end && *s == ' ') s++;
    }
    return n;
}

static void test_nfc(void **state) {
    (void)state;
    /* a few by hand */
    static const struct {
        const char *in, *out;
    } hand[] = {
        {"e\xcc\x81", "\xc3\xa9"},                     /* e + acute -> é */
        {"\xc3\xa9", "\xc3\xa9"},                      /* already NFC */
        {"a\xcc\xa3\xcc\x87", "\xe1\xba\xa1\xcc\x87"}, /* a + dot below + dot above: ạ̇ */
        {"a\xcc\x87\xcc\xa3", "\xe1\xba\xa1\xcc\x87"}, /* reordered first */
        {"\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8", "\xea\xb0\x81"}, /* Hangul L V T -> 각 */
        {"\xe2\x84\xab", "\xc3\x85"},       /* Angstrom sign -> Å (singleton) */
        {"e\xff\xcc\x81", "e\xff\xcc\x81"}, /* an invalid byte blocks composition */
        {"", ""},
    };
    for (size_t i = 0; i < sizeof hand / sizeof *hand; i++) {
        eco_buf b = {0};
        assert_int_equal(tok_nfc(hand[i].in, strlen(hand[i].in), &b), ECO_STATUS_OK);
        assert_int_equal(b.len, strlen(hand[i].out));
        assert_memory_equal(b.data ? b.data : "", hand[i].out, b.len);
        eco_buf_free(&b);
    }
    assert_true(tok_nfc_quick("plain ascii \xc3\xa9", 14));
    assert_false(tok_nfc_quick("e\xcc\x81", 3));

    /* the Unicode test vectors */
    char *path = eco_test_source_path("tests/reference/nfc_cases.txt");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024];
    size_t n = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char *semi = strchr(line, ';');
        assert_non_null(semi);
        char src[512], want[512];
        size_t ns = hex_to_utf8(line, semi, src);
        size_t nw = hex_to_utf8(semi + 1, line + strlen(line), want);
        eco_buf b = {0};
        assert_int_equal(tok_nfc(src, ns, &b), ECO_STATUS_OK);
        bool ok = b.len == nw && memcmp(b.data, want, nw) == 0;
        /* the quick check may only say "yes" for text that NFC leaves unchanged */
        if (tok_nfc_quick(src, ns) && !(ns == nw && memcmp(src, want, nw) == 0)) ok = false;
        if (!ok && bad++ < 5) fprintf(stderr, "NFC mismatch: %s", line);
        n++;
        eco_buf_free(&b);
    }
    fclose(f);
    free(path);
    fprintf(stderr, "NFC: %zu/%zu Unicode test vectors pass\n", n - bad, n);
    assert_true(n > 10000);
    assert_int_equal(bad, 0);

    /* The quick check over every code point: a "yes" for a code point alone means NFC
     * leaves it alone, and no code point that follows the first of the canonical
     * decomposition of a composite that NFC composes back (not excluded from composition:
     * a possible second of a composition) ever gets a "yes". */
    size_t quick_yes = 0;
    bad = 0;
    for (int32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) continue;
        char u[4];
        size_t l = eco_utf8_encode((uint32_t)cp, u);
        if (tok_nfc_quick(u, l)) {
            quick_yes++;
            eco_buf b = {0};
            assert_int_equal(tok_nfc(u, l, &b), ECO_STATUS_OK);
            if (!(b.len == l && memcmp(b.data, u, l) == 0) && bad++ < 5)
                fprintf(stderr, "quick check says U+%04X is NFC; it is not\n", (unsigned)cp);
            eco_buf_free(&b);
        }
        if (utf8proc_get_property(cp)->comp_exclusion) continue;
        utf8proc_int32_t d[32];
        int last = 0;
        utf8proc_ssize_t nd = utf8proc_decompose_char(cp, d, 32, UTF8PROC_DECOMPOSE, &last);
        assert_true(nd >= 0 && nd <= 32);
        for (utf8proc_ssize_t j = 1; j < nd; j++) {
            char v[4];
            size_t lv = eco_utf8_encode((uint32_t)d[j], v);
            if (tok_nfc_quick(v, lv) && bad++ < 5)
                fprintf(stderr, "quick check says U+%04X (in U+%04X's decomposition) is NFC\n",
                        (unsigned)d[j], (unsigned)cp);
        }
    }
    fprintf(stderr, "NFC quick check: %zu code points stable alone\n", quick_yes);
    assert_int_equal(bad, 0);
}

/* ---- malformed and unsupported files ------------------------------------------------- */

#define MODEL_OK                                                                                   \
    "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b\"]}"

static void test_malformed(void **state) {
    (void)state;
    static const struct {
        const char *json;
        eco_status want;
        const char *msg; /* substring of the message; NULL: accepted */
    } cases[] = {
        {"{" MODEL_OK "}", ECO_STATUS_OK, NULL},
        {"", ECO_STATUS_EFORMAT, "invalid JSON"},
        {"{\"model\":", ECO_STATUS_EFORMAT, "invalid JSON"},
        {"[1,2]", ECO_STATUS_EFORMAT, "tokenizer.json: expected an object"},
        {"{}", ECO_STATUS_EFORMAT, "model: missing"},
        {"{\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}", ECO_STATUS_EUNSUPPORTED,
         "model.type 'WordPiece' is not supported"},
        {"{\"model\":{\"type\":\"Unigram\"}}", ECO_STATUS_EUNSUPPORTED, "model.type 'Unigram'"},
        {"{\"model\":{\"type\":\"WordLevel\"}}", ECO_STATUS_EUNSUPPORTED, "model.type 'WordLevel'"},
        {"{\"model\":{\"vocab\":{}}}", ECO_STATUS_EFORMAT, "model.type: missing"},
        {"{\"model\":{\"type\":7}}", ECO_STATUS_EFORMAT, "model.type: expected a string"},
        {"{\"model\":{\"type\":\"BPE\"}}", ECO_STATUS_EFORMAT, "model.vocab: missing"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":[]}}", ECO_STATUS_EFORMAT,
         "model.vocab: expected an object"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"0\"}}}", ECO_STATUS_EFORMAT,
         "model.vocab['a']: expected an integer"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1}}}", ECO_STATUS_EFORMAT,
         "model.vocab['a']: -1 outside"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":99999999999}}}", ECO_STATUS_EFORMAT,
         "99999999999 outside"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":0}}}", ECO_STATUS_EFORMAT,
         "id 0 is used by both"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"a\":1}}}", ECO_STATUS_EFORMAT,
         "duplicate object key"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":9000000}}}", ECO_STATUS_ERANGE,
         "too sparse"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":{}}}", ECO_STATUS_EFORMAT,
         "model.merges: expected an array"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a c\"]}}",
         ECO_STATUS_EFORMAT, "model.merges[0]: token 'c' is not in the vocabulary"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a b\"]}}",
         ECO_STATUS_EFORMAT, "merged token 'ab' is not in the vocabulary"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"ab\"]}}",
         ECO_STATUS_EFORMAT, "model.merges[0]: \"ab\" is not two tokens"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a b c\"]}}",
         ECO_STATUS_EFORMAT, "not two tokens"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[[\"a\"]]}}",
         ECO_STATUS_EFORMAT, "model.merges[0]: expected"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[[\"a\",2]]}}",
         ECO_STATUS_EFORMAT, "model.merges[0]: expected"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"unk_token\":\"<unk>\"}}",
         ECO_STATUS_EFORMAT, "model.unk_token '<unk>' is not in the vocabulary"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"dropout\":0.1}}",
         ECO_STATUS_EUNSUPPORTED, "model.dropout"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"continuing_subword_prefix\":\"##\"}}",
         ECO_STATUS_EUNSUPPORTED, "model.continuing_subword_prefix '##' is not supported"},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"byte_fallback\":\"yes\"}}",
         ECO_STATUS_EFORMAT, "model.byte_fallback: expected true or false"},
        {"{\"truncation\":{\"max_length\":5}," MODEL_OK "}", ECO_STATUS_EUNSUPPORTED,
         "truncation is not supported"},
        {"{\"normalizer\":{\"type\":\"NFKC\"}," MODEL_OK "}", ECO_STATUS_EUNSUPPORTED,
         "normalizer.type 'NFKC' is not supported"},
        {"{\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},{\"type\":"
         "\"Lowercase\"}]}," MODEL_OK "}",
         ECO_STATUS_EUNSUPPORTED, "normalizer.normalizers[1].type 'Lowercase' is not supported"},
        {"{\"normalizer\":{\"type\":\"Replace\",\"pattern\":{\"Regex\":\" "
         "+\"},\"content\":\"_\"}," MODEL_OK "}",
         ECO_STATUS_EUNSUPPORTED, "Regex is not supported"},
        {"{\"normalizer\":{\"type\":\"Prepend\"}," MODEL_OK "}", ECO_STATUS_EFORMAT,
         "normalizer.prepend: missing"},
        {"{\"normalizer\":\"NFC\"," MODEL_OK "}", ECO_STATUS_EFORMAT,
         "normalizer: expected an object or null"},
        {"{\"pre_tokenizer\":{\"type\":\"Whitespace\"}," MODEL_OK "}", ECO_STATUS_EUNSUPPORTED,
         "pre_tokenizer.type 'Whitespace' is not supported"},
        {"{\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Punctuation\"}]}"
         "," MODEL_OK "}",
         ECO_STATUS_EUNSUPPORTED,
         "pre_tokenizer.pretokenizers[0].type 'Punctuation' is not supported"},
        {"{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(\"},\"behavior\":"
         "\"Isolated\"}," MODEL_OK "}",
         ECO_STATUS_EFORMAT, "pre_tokenizer.pattern: regex does not compile"},
        {"{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a\"},\"behavior\":"
         "\"Sideways\"}," MODEL_OK "}",
         ECO_STATUS_EFORMAT, "pre_tokenizer.behavior 'Sideways' is not a split behaviour"},
        {"{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{},\"behavior\":\"Isolated\"}"
         "," MODEL_OK "}",
         ECO_STATUS_EFORMAT, "pre_tokenizer.pattern must hold \"String\" or \"Regex\""},
        {"{\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"use_regex\":1}," MODEL_OK "}",
         ECO_STATUS_EFORMAT, "pre_tokenizer.use_regex: expected true or false"},
        {"{\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"ab\"}," MODEL_OK "}",
         ECO_STATUS_EFORMAT, "replacement: expected one character"},
        {"{\"pre_tokenizer\":{\"type\":\"Metaspace\",\"replacement\":\"_\",\"prepend_scheme\":"
         "\"sometimes\"}," MODEL_OK "}",
         ECO_STATUS_EFORMAT, "prepend_scheme 'sometimes'"},
        {"{\"decoder\":{\"type\":\"WordPiece\"}," MODEL_OK "}", ECO_STATUS_EUNSUPPORTED,
         "decoder.type 'WordPiece' is not supported"},
        {"{\"decoder\":{\"type\":\"Strip\",\"content\":\" \",\"start\":-1}," MODEL_OK "}",
         ECO_STATUS_EFORMAT, "decoder.start: -1 outside"},
        {"{\"post_processor\":{\"type\":\"BertProcessing\",\"sep\":[\"b\",1],\"cls\":[\"a\",7]}"
         "," MODEL_OK "}",
         ECO_STATUS_ERANGE, "post_processor.cls: id 7 is not a token"},
        {"{\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{"
         "\"id\":\"<s>\"}},"
         "{\"Sequence\":{\"id\":\"A\"}}],\"special_tokens\":{}}," MODEL_OK "}",
         ECO_STATUS_EFORMAT, "special token '<s>' has no ids"},
        {"{\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[],\"special_tokens\":{}}"
         "," MODEL_OK "}",
         ECO_STATUS_EFORMAT, "must hold Sequence A exactly once"},
        {"{\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{"
         "\"id\":\"x\"}},"
         "{\"Sequence\":{\"id\":\"A\"}}],\"special_tokens\":{\"x\":{\"ids\":[5]}}}," MODEL_OK "}",
         ECO_STATUS_ERANGE, "special_tokens['x'].ids[0]: id 5 is not a token"},
        {"{\"post_processor\":{\"type\":\"RobertaProcessing\",\"sep\":[\"b\",1],\"cls\":[\"a\",0]}"
         "," MODEL_OK "}",
         ECO_STATUS_OK, NULL},
        {"{\"added_tokens\":{}," MODEL_OK "}", ECO_STATUS_EFORMAT,
         "added_tokens: expected an array"},
        {"{\"added_tokens\":[{\"content\":\"x\"}]," MODEL_OK "}", ECO_STATUS_EFORMAT,
         "added_tokens[0].id: missing"},
        {"{\"added_tokens\":[{\"id\":3}]," MODEL_OK "}", ECO_STATUS_EFORMAT,
         "added_tokens[0].content: missing"},
        {"{\"added_tokens\":[{\"id\":3,\"content\":\"\"}]," MODEL_OK "}", ECO_STATUS_EFORMAT,
         "content is empty"},
        {"{\"added_tokens\":[{\"id\":-3,\"content\":\"x\"}]," MODEL_OK "}", ECO_STATUS_EFORMAT,
         "added_tokens[0].id: -3 outside"},
        {"{\"added_tokens\":[{\"id\":3,\"content\":\"x\"},{\"id\":3,\"content\":\"y\"}]," MODEL_OK
         "}",
         ECO_STATUS_EFORMAT, "id 3 is used twice"},
        {"{\"added_tokens\":[{\"id\":3,\"content\":\"x\"},{\"id\":4,\"content\":\"x\"}]," MODEL_OK
         "}",
         ECO_STATUS_EFORMAT, "content 'x' is added twice"},
        /* An added token under a vocabulary id holding another token, and an empty
         * vocabulary: both loaded silently before. */
        {"{\"added_tokens\":[{\"id\":1,\"content\":\"<s>\"}]," MODEL_OK "}", ECO_STATUS_EFORMAT,
         "tokenizer.json: added_tokens: id 1 is 'b' in model.vocab, not '<s>'"},
        {"{\"added_tokens\":[{\"id\":1,\"content\":\"b\"}]," MODEL_OK "}", ECO_STATUS_OK, NULL},
        {"{\"model\":{\"type\":\"BPE\",\"vocab\":{},\"merges\":[]}}", ECO_STATUS_EFORMAT,
         "tokenizer.json: model.vocab: empty"},
        {"{\"added_tokens\":[{\"id\":0,\"content\":\"<s>\"}],\"model\":{\"type\":\"BPE\",\"vocab\":"
         "{},\"merges\":[]}}",
         ECO_STATUS_EFORMAT, "model.vocab: empty"},
        {"{\"added_tokens\":[{\"id\":3,\"content\":\"x\",\"special\":1}]," MODEL_OK "}",
         ECO_STATUS_EFORMAT, "added_tokens[0].special: expected true or false"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        eco_tokenizer *tok = NULL;
        eco_clear_error();
        eco_status st =
            eco_tokenizer_parse(cases[i].json, strlen(cases[i].json), "tokenizer.json", &tok);
        bool ok = st == cases[i].want;
        if (ok && cases[i].msg) ok = strstr(eco_last_error(), cases[i].msg) != NULL;
        if (ok && st != ECO_STATUS_OK)
            ok = tok == NULL && strncmp(eco_last_error(), "tokenizer.json: ", 16) == 0;
        if (!ok)
            fprintf(stderr, "case %zu: %s\n  got %s \"%s\"\n  want %s \"%s\"\n", i, cases[i].json,
                    eco_status_str(st), eco_last_error(), eco_status_str(cases[i].want),
                    cases[i].msg ? cases[i].msg : "");
        eco_tokenizer_free(tok);
        assert_true(ok);
    }
    /* files */
    eco_tokenizer *tok = NULL;
    ECO_ASSERT_STATUS(eco_tokenizer_load("/nonexistent/tokenizer.json", &tok),
                      ECO_STATUS_ENOTFOUND);
    assert_null(tok);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bpe_merge_order), cmocka_unit_test(test_ignore_merges),
        cmocka_unit_test(test_added_tokens),    cmocka_unit_test(test_split_behaviors),
        cmocka_unit_test(test_sentencepiece),   cmocka_unit_test(test_metaspace),
        cmocka_unit_test(test_byte_tokenizer),  cmocka_unit_test(test_nfc),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
