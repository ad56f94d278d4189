/*
 * JSONL training data: good files of both kinds parse (blank lines, CRLF, BOM, unknown
 * keys); a table of malformed files, each refused with the expected status and a message
 * naming file:line; the corpus hash ignores white space and key order but not content;
 * with the byte tokenizer (byte b is id b) the loss mask lies exactly on completion bytes
 * and EOS; packing shapes, every target counted once per epoch, shuffling and resuming
 * deterministic.
 */
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/data.h"

static eco_data_corpus *parse_ok(const char *text) {
    eco_data_corpus *c = NULL;
    ECO_ASSERT_OK(eco_data_corpus_parse(text, strlen(text), "corpus.jsonl", &c));
    return c;
}

static void test_parse_good(void **state) {
    (void)state;
    const char *pc =
        "\xEF\xBB\xBF{\"prompt\": \"2+2=\", \"completion\": \"4\", \"id\": 7}\r\n"
        "\n"
        "   \t\n"
        "{\"completion\": \"b\\u0000c\", \"prompt\": \"\", \"meta\": {\"x\": [1, 2]}}\n"
        "{\"prompt\": \"\\u00e9\", \"completion\": \"\"}";
    eco_data_corpus *c = parse_ok(pc);
    assert_int_equal(c->kind, ECO_DATA_KIND_PROMPT_COMPLETION);
    assert_int_equal(c->n_records, 3);
    assert_int_equal(c->records[0].line, 1);
    assert_string_equal(c->records[0].prompt, "2+2=");
    assert_string_equal(c->records[0].text, "4");
    assert_int_equal(c->records[1].line, 4);
    assert_int_equal(c->records[1].prompt_len, 0);
    assert_int_equal(c->records[1].text_len, 3); /* NUL kept */
    assert_memory_equal(c->records[1].text, "b\0c", 3);
    assert_int_equal(c->records[2].line, 5);
    assert_string_equal(c->records[2].prompt, "\xC3\xA9");
    assert_int_equal(strlen(c->sha256_hex), 64);
    eco_data_corpus_free(c);

    c = parse_ok("{\"text\": \"hello\"}\n{\"text\": \"world\", \"source\": \"x\"}\n\n");
    assert_int_equal(c->kind, ECO_DATA_KIND_TEXT);
    assert_int_equal(c->n_records, 2);
    assert_null(c->records[0].prompt);
    assert_string_equal(c->records[1].text, "world");
    eco_data_corpus_free(c);
}

typedef struct {
    const char *what;
    const char *text;
    eco_status want;
    const char *needle;
} bad_case;

static void test_parse_bad(void **state) {
    (void)state;
    /* A line one byte over the limit. */
    size_t huge_len = ECO_DATA_MAX_LINE + 1;
    char *huge = malloc(huge_len + 64);
    assert_non_null(huge);
    strcpy(huge, "{\"text\": \"ok\"}\n{\"text\": \"");
    size_t k = strlen(huge);
    size_t body = huge_len - strlen("{\"text\": \"\"}");
    memset(huge + k, 'a', body);
    k += body;
    strcpy(huge + k, "\"}\n");
    /* Ten bad lines: eight spelled out, then a count. */
    char ten[512] = "";
    for (int i = 0; i < 10; i++) strcat(ten, "{\"text\": 1}\n");

    const bad_case cases[] = {
        {"empty file", "", ECO_STATUS_EFORMAT, "corpus.jsonl: no records"},
        {"blank file", "\n   \n\r\n", ECO_STATUS_EFORMAT, "no records"},
        {"bad JSON", "{\"text\": \"a\"}\n{\"text\": \"b\"", ECO_STATUS_EFORMAT,
         "corpus.jsonl:2: invalid JSON at column"},
        {"trailing garbage", "{\"text\": \"a\"} x\n", ECO_STATUS_EFORMAT,
         "corpus.jsonl:1: invalid JSON"},
        {"two objects on a line", "{\"text\": \"a\"}{\"text\": \"b\"}\n", ECO_STATUS_EFORMAT,
         "corpus.jsonl:1: invalid JSON"},
        {"not an object", "[\"text\", \"a\"]\n", ECO_STATUS_EFORMAT,
         "corpus.jsonl:1: expected a JSON object"},
        {"scalar", "\"text\"\n", ECO_STATUS_EFORMAT, "corpus.jsonl:1: invalid JSON"},
        {"prompt not a string", "{\"prompt\": 1, \"completion\": \"x\"}", ECO_STATUS_EFORMAT,
         "corpus.jsonl:1: \"prompt\": expected a string"},
        {"completion not a string", "{\"prompt\": \"p\", \"completion\": [\"x\"]}",
         ECO_STATUS_EFORMAT, "\"completion\": expected a string"},
        {"missing completion", "{\"prompt\": \"a\"}", ECO_STATUS_EFORMAT,
         "corpus.jsonl:1: missing \"completion\""},
        {"missing prompt", "{\"completion\": \"a\"}", ECO_STATUS_EFORMAT, "missing \"prompt\""},
        {"text null", "{\"text\": null}", ECO_STATUS_EFORMAT, "\"text\": expected a string"},
        {"no known key", "{\"input\": \"a\", \"output\": \"b\"}", ECO_STATUS_EFORMAT,
         "expected {\"prompt\""},
        {"both kinds in a record", "{\"text\": \"a\", \"prompt\": \"b\", \"completion\": \"c\"}",
         ECO_STATUS_EFORMAT, "both \"text\" and \"prompt\""},
        {"mixed kinds", "{\"prompt\": \"a\", \"completion\": \"b\"}\n\n{\"text\": \"c\"}\n",
         ECO_STATUS_EFORMAT,
         "corpus.jsonl:3: a {\"text\"} record in a {\"prompt\", \"completion\"} file (the kind set "
         "by line 1)"},
        {"mixed kinds after a bad line",
         "{\"text\": 1}\n{\"text\": \"a\"}\n{\"prompt\": \"a\", \"completion\": \"b\"}\n",
         ECO_STATUS_EFORMAT,
         "corpus.jsonl:3: a {\"prompt\", \"completion\"} record in a {\"text\"} file"},
        {"duplicate key", "{\"text\": \"a\", \"text\": \"b\"}", ECO_STATUS_EFORMAT, "duplicate"},
        {"invalid UTF-8", "{\"text\": \"\xff\"}", ECO_STATUS_EFORMAT,
         "corpus.jsonl:1: invalid JSON"},
        {"every bad line reported", "{\"text\": \"a\"}\n{\"text\": 2}\n{\"text\": \"b\"}\n{oops}\n",
         ECO_STATUS_EFORMAT,
         "corpus.jsonl: 2 bad lines: corpus.jsonl:2: \"text\": expected a string; corpus.jsonl:4: "
         "invalid JSON"},
        {"many bad lines", ten, ECO_STATUS_EFORMAT, "10 bad lines: corpus.jsonl:1:"},
        {"many bad lines, count", ten, ECO_STATUS_EFORMAT,
         "corpus.jsonl:8: \"text\": expected a string; and 2 more"},
        {"huge line", huge, ECO_STATUS_ERANGE, "corpus.jsonl:2: line of 4194305 bytes is too long"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        eco_data_corpus *c = (eco_data_corpus *)0x1;
        eco_clear_error();
        eco_status got =
            eco_data_corpus_parse(cases[i].text, strlen(cases[i].text), "corpus.jsonl", &c);
        const char *msg = eco_last_error();
        if (got != cases[i].want || !strstr(msg, cases[i].needle) || c != NULL) {
            print_error("case '%s': got %s \"%s\", want %s containing \"%s\"\n", cases[i].what,
                        eco_status_str(got), msg, eco_status_str(cases[i].want), cases[i].needle);
            if (got == ECO_STATUS_OK) eco_data_corpus_free(c);
            fail();
        }
    }
    free(huge);

    /* Files: missing, and a bad file names its path. */
    char *tmp = eco_test_tmpdir();
    char *path = eco_path_join(tmp, "train.jsonl");
    eco_data_corpus *c = NULL;
    ECO_ASSERT_STATUS(eco_data_corpus_load(path, &c), ECO_STATUS_ENOTFOUND);
    eco_test_write_file(path, "{\"text\": 1}\n", 12);
    eco_clear_error();
    ECO_ASSERT_STATUS(eco_data_corpus_load(path, &c), ECO_STATUS_EFORMAT);
    char want[512];
    snprintf(want, sizeof want, "%s:1: \"text\": expected a string", path);
    assert_non_null(strstr(eco_last_error(), want));
    eco_test_write_file(path, "{\"text\": \"a\"}\n", 14);
    ECO_ASSERT_OK(eco_data_corpus_load(path, &c));
    assert_int_equal(c->n_records, 1);
    eco_data_corpus_free(c);
    eco_test_rmtree(tmp);
    free(path);
    free(tmp);
}

static void test_hash(void **state) {
    (void)state;
    eco_data_corpus *a = parse_ok("{\"prompt\": \"a\", \"completion\": \"b\", \"n\": "
                                  "1.5}\n{\"prompt\": \"c\", \"completion\": \"d\"}\n");
    eco_data_corpus *b =
        parse_ok("\r\n  {\"completion\":\"b\",   \"n\": 1.50, "
                 "\"prompt\":\"a\"}\r\n\n\t\n{\"completion\": \"d\", \"prompt\": \"\\u0063\"}");
    assert_memory_equal(a->sha256, b->sha256, ECO_SHA256_LEN);
    /* The exact canonical text: records with sorted keys, compact, one per line. */
    const char *canon = "{\"completion\":\"b\",\"n\":1.5,\"prompt\":\"a\"}\n{\"completion\":\"d\","
                        "\"prompt\":\"c\"}\n";
    uint8_t want[ECO_SHA256_LEN];
    ECO_ASSERT_OK(eco_sha256(canon, strlen(canon), want));
    assert_memory_equal(a->sha256, want, ECO_SHA256_LEN);
    char hex[ECO_SHA256_HEX_LEN + 1];
    eco_hex(hex, want, ECO_SHA256_LEN);
    assert_string_equal(a->sha256_hex, hex);
    /* Content, order and extra keys all count. */
    eco_data_corpus *c = parse_ok("{\"prompt\": \"c\", \"completion\": \"d\"}\n{\"prompt\": \"a\", "
                                  "\"completion\": \"b\", \"n\": 1.5}\n");
    assert_memory_not_equal(a->sha256, c->sha256, ECO_SHA256_LEN);
    eco_data_corpus_free(c);
    c = parse_ok("{\"prompt\": \"a\", \"completion\": \"b \", \"n\": 1.5}\n{\"prompt\": \"c\", "
                 "\"completion\": \"d\"}\n");
    assert_memory_not_equal(a->sha256, c->sha256, ECO_SHA256_LEN);
    eco_data_corpus_free(c);
    eco_data_corpus_free(a);
    eco_data_corpus_free(b);
}

/* ---- tokenisation and batches ------------------------------------------------------- */

static eco_tokenizer *byte_tokenizer(void) {
    char *tmp = eco_test_tmpdir();
    char *path = eco_path_join(tmp, "tokenizer.json");
    ECO_ASSERT_OK(eco_tokenizer_write_bytes(path));
    eco_tokenizer *tok = NULL;
    ECO_ASSERT_OK(eco_tokenizer_load(path, &tok));
    eco_test_rmtree(tmp);
    free(path);
    free(tmp);
    return tok;
}

#define BOS ECO_BYTE_TOKENIZER_BOS
#define EOS ECO_BYTE_TOKENIZER_EOS
#define PAD ECO_BYTE_TOKENIZER_PAD

static void test_tokenize_masks(void **state) {
    (void)state;
    eco_tokenizer *tok = byte_tokenizer();
    eco_data_corpus *c = parse_ok(
        "{\"prompt\": \"ab\", \"completion\": \"cd\"}\n{\"prompt\": \"\", \"completion\": \"x\"}\n"
        "{\"prompt\": \"q\", \"completion\": \"\"}\n");
    eco_data_tokens *t = NULL;
    ECO_ASSERT_STATUS(eco_data_tokenize(c, tok, 100000, &t), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_data_tokenize(c, tok, -1, &t), ECO_STATUS_EINVAL);
    ECO_ASSERT_OK(eco_data_tokenize(c, tok, EOS, &t));
    const int32_t want_ids[] = {BOS, 'a', 'b', 'c', 'd', EOS, BOS, 'x', EOS, BOS, 'q', EOS};
    const uint8_t want_loss[] = {0, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 1};
    const size_t want_off[] = {0, 6, 9, 12};
    assert_int_equal(t->n_examples, 3);
    assert_int_equal(t->n_tokens, 12);
    assert_memory_equal(t->ids, want_ids, sizeof want_ids);
    assert_memory_equal(t->loss, want_loss, sizeof want_loss);
    assert_memory_equal(t->offsets, want_off, sizeof want_off);
    assert_int_equal(t->n_targets, 6);
    eco_data_tokens_free(t);
    eco_data_corpus_free(c);

    c = parse_ok("{\"text\": \"hi\"}\n{\"text\": \"\"}\n");
    ECO_ASSERT_OK(eco_data_tokenize(c, tok, EOS, &t));
    const int32_t want_ids2[] = {BOS, 'h', 'i', EOS, BOS, EOS};
    const uint8_t want_loss2[] = {0, 1, 1, 1, 0, 1};
    assert_int_equal(t->n_tokens, 6);
    assert_memory_equal(t->ids, want_ids2, sizeof want_ids2);
    assert_memory_equal(t->loss, want_loss2, sizeof want_loss2);
    assert_int_equal(t->kind, ECO_DATA_KIND_TEXT);
    eco_data_tokens_free(t);
    eco_data_corpus_free(c);
    eco_tokenizer_free(tok);
}

/* A corpus of n prompt/completion records of varying lengths: "p<i>" → "<i mod 7 + 1 letters>". */
static eco_data_tokens *make_tokens(const eco_tokenizer *tok, int n, bool text) {
    size_t cap = (size_t)n * 96 + 16, k = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (int i = 0; i < n; i++) {
        char comp[16];
        int len = i % 7 + 1;
        for (int j = 0; j < len; j++) comp[j] = (char)('a' + (i + j) % 26);
        comp[len] = 0;
        if (text)
            k += (size_t)snprintf(buf + k, cap - k, "{\"text\": \"t%d %s\"}\n", i, comp);
        else
            k += (size_t)snprintf(buf + k, cap - k,
                                  "{\"prompt\": \"p%d=\", \"completion\": \"%s\"}\n", i, comp);
    }
    eco_data_corpus *c = parse_ok(buf);
    free(buf);
    eco_data_tokens *t = NULL;
    ECO_ASSERT_OK(eco_data_tokenize(c, tok, EOS, &t));
    eco_data_corpus_free(c);
    return t;
}

typedef struct {
    int32_t *in, *tg, *pos;
    uint8_t *mask;
} batch;

static batch batch_alloc(int64_t B, int64_t T) {
    batch b = {malloc((size_t)(B * T) * 4), malloc((size_t)(B * T) * 4),
               malloc((size_t)(B * T) * 4), malloc((size_t)(B * T))};
    assert_true(b.in && b.tg && b.pos && b.mask);
    return b;
}
static void batch_free(batch *b) { free(b->in), free(b->tg), free(b->pos), free(b->mask); }

/* Runs one epoch row by row (B = 1) and checks the row invariants; returns the targets seen. */
static int64_t check_epoch(eco_data_loader *l, const eco_data_tokens *t, int64_t T) {
    batch b = batch_alloc(1, T);
    eco_data_pos start = eco_data_loader_tell(l);
    assert_int_equal(start.row, 0);
    int64_t rows = eco_data_loader_epoch_rows(l), total = 0;
    for (int64_t r = 0; r < rows; r++) {
        int64_t nt = -1;
        ECO_ASSERT_OK(eco_data_loader_next_pos(l, b.in, b.tg, b.mask, b.pos, &nt));
        int64_t sum = 0;
        for (int64_t j = 0; j < T; j++) {
            /* Positions restart exactly where an example (its BOS), a part of one at the row's
             * start, or the padding starts, and count up by one otherwise. */
            bool starts = j == 0 || b.in[j] == BOS || (b.in[j] == PAD && b.in[j - 1] != PAD);
            assert_int_equal(b.pos[j], starts ? 0 : b.pos[j - 1] + 1);
            if (j + 1 < T) assert_int_equal(b.in[j + 1], b.tg[j]); /* targets are inputs shifted */
            sum += b.mask[j];
            if (b.mask[j]) {
                /* A trained target is a completion letter or EOS, never BOS, PAD or a prompt byte. */
                bool letter = b.tg[j] >= 'a' && b.tg[j] <= 'z';
                if (!(letter || b.tg[j] == EOS) && t->kind == ECO_DATA_KIND_PROMPT_COMPLETION)
                    fail();
                assert_true(b.tg[j] != BOS && b.tg[j] != PAD);
            }
            if (b.tg[j] == PAD) assert_int_equal(b.mask[j], 0);
        }
        assert_int_equal(sum, nt);
        total += sum;
    }
    eco_data_pos end = eco_data_loader_tell(l);
    assert_int_equal(end.epoch, start.epoch + 1);
    assert_int_equal(end.row, 0);
    batch_free(&b);
    return total;
}

static void test_packing(void **state) {
    (void)state;
    eco_tokenizer *tok = byte_tokenizer();
    eco_data_tokens *t = make_tokens(tok, 50, false);
    const int64_t T = 16;
    eco_data_loader_options opt = {.batch = 1,
                                   .seq = T,
                                   .seed = 1,
                                   .shuffle = false,
                                   .pack = ECO_DATA_PACK_AUTO,
                                   .pad_id = PAD};
    eco_data_loader *l = NULL;
    ECO_ASSERT_OK(eco_data_loader_create(t, &opt, &l));
    assert_int_equal(eco_data_loader_pack(l), ECO_DATA_PACK_WHOLE);
    assert_int_equal(eco_data_loader_truncated(l), 0);
    /* Unshuffled whole packing: row 0 holds examples 0, 1, ... while they fit in T+1. */
    batch b = batch_alloc(1, T);
    ECO_ASSERT_OK(eco_data_loader_next(l, b.in, b.tg, b.mask, NULL));
    size_t fit = 0;
    while (t->offsets[fit + 1] <= (size_t)T + 1) fit++;
    assert_memory_equal(b.in, t->ids,
                        t->offsets[fit] * sizeof(int32_t) < (size_t)T * 4 ? t->offsets[fit] * 4
                                                                          : (size_t)T * 4);
    for (size_t j = t->offsets[fit]; j < (size_t)T; j++) assert_int_equal(b.in[j], PAD);
    for (size_t j = 0; j + 1 < t->offsets[fit]; j++) assert_int_equal(b.mask[j], t->loss[j + 1]);
    batch_free(&b);
    ECO_ASSERT_OK(eco_data_loader_seek(l, (eco_data_pos){0, 0}));
    /* Every target of every example is trained exactly once per epoch, in each epoch. */
    for (int e = 0; e < 3; e++) assert_int_equal(check_epoch(l, t, T), (int64_t)t->n_targets);
    eco_data_loader_free(l);

    opt.shuffle = true;
    ECO_ASSERT_OK(eco_data_loader_create(t, &opt, &l));
    for (int e = 0; e < 3; e++) assert_int_equal(check_epoch(l, t, T), (int64_t)t->n_targets);
    eco_data_loader_free(l);

    /* Stream packing: windows with stride T, every token but each example's first a target once. */
    opt.pack = ECO_DATA_PACK_STREAM;
    for (int64_t TT = 1; TT <= 40; TT += 13) {
        opt.seq = TT;
        ECO_ASSERT_OK(eco_data_loader_create(t, &opt, &l));
        assert_int_equal(eco_data_loader_epoch_rows(l), ((int64_t)t->n_tokens - 1 + TT - 1) / TT);
        for (int e = 0; e < 2; e++) assert_int_equal(check_epoch(l, t, TT), (int64_t)t->n_targets);
        eco_data_loader_free(l);
    }
    eco_data_tokens_free(t);

    /* Text corpora stream by default. */
    t = make_tokens(tok, 20, true);
    opt.pack = ECO_DATA_PACK_AUTO;
    opt.seq = 8;
    ECO_ASSERT_OK(eco_data_loader_create(t, &opt, &l));
    assert_int_equal(eco_data_loader_pack(l), ECO_DATA_PACK_STREAM);
    assert_int_equal(check_epoch(l, t, 8), (int64_t)t->n_targets);
    eco_data_loader_free(l);
    /* Whole packing with T+1 below the longest example: those are cut and counted. */
    opt.pack = ECO_DATA_PACK_WHOLE;
    opt.seq = 5;
    ECO_ASSERT_OK(eco_data_loader_create(t, &opt, &l));
    int64_t longer = 0;
    for (size_t i = 0; i < t->n_examples; i++) longer += t->offsets[i + 1] - t->offsets[i] > 6;
    assert_true(longer > 0);
    assert_int_equal(eco_data_loader_truncated(l), longer);
    assert_int_equal(eco_data_loader_epoch_rows(l),
                     (int64_t)t->n_examples); /* each example alone */
    assert_true(check_epoch(l, t, 5) < (int64_t)t->n_targets);
    eco_data_loader_free(l);

    /* Bad options. */
    opt.batch = 0;
    ECO_ASSERT_STATUS(eco_data_loader_create(t, &opt, &l), ECO_STATUS_EINVAL);
    opt.batch = 1;
    opt.seq = 0;
    ECO_ASSERT_STATUS(eco_data_loader_create(t, &opt, &l), ECO_STATUS_EINVAL);
    opt.seq = 4;
    opt.pad_id = -1;
    ECO_ASSERT_STATUS(eco_data_loader_create(t, &opt, &l), ECO_STATUS_EINVAL);
    opt.pad_id = PAD;
    opt.batch = 1 << 20;
    opt.seq = 1 << 20;
    ECO_ASSERT_STATUS(eco_data_loader_create(t, &opt, &l), ECO_STATUS_EINVAL);
    assert_null(l);
    eco_data_tokens_free(t);
    eco_tokenizer_free(tok);
}

/* Runs n batches of B x T and returns all of their bytes concatenated (caller frees). */
static uint8_t *run_batches(eco_data_loader *l, int64_t B, int64_t T, int n) {
    size_t per = (size_t)(B * T) * 9;
    uint8_t *out = malloc(per * (size_t)n);
    assert_non_null(out);
    batch b = batch_alloc(B, T);
    for (int i = 0; i < n; i++) {
        ECO_ASSERT_OK(eco_data_loader_next(l, b.in, b.tg, b.mask, NULL));
        memcpy(out + per * (size_t)i, b.in, (size_t)(B * T) * 4);
        memcpy(out + per * (size_t)i + (size_t)(B * T) * 4, b.tg, (size_t)(B * T) * 4);
        memcpy(out + per * (size_t)i + (size_t)(B * T) * 8, b.mask, (size_t)(B * T));
    }
    batch_free(&b);
    return out;
}

static void test_shuffle_and_resume(void **state) {
    (void)state;
    eco_tokenizer *tok = byte_tokenizer();
    eco_data_tokens *t = make_tokens(tok, 40, false);
    const int64_t B = 3, T = 12;
    const int N = 40; /* several epochs */
    eco_data_loader_options opt = {
        .batch = B, .seq = T, .seed = 42, .shuffle = true, .pad_id = PAD};
    eco_data_loader *l1 = NULL, *l2 = NULL;
    ECO_ASSERT_OK(eco_data_loader_create(t, &opt, &l1));
    ECO_ASSERT_OK(eco_data_loader_create(t, &opt, &l2));
    int64_t rows = eco_data_loader_epoch_rows(l1);
    assert_true(N * B > 3 * rows); /* the run crosses epoch boundaries mid-batch */
    uint8_t *a = run_batches(l1, B, T, N), *b = run_batches(l2, B, T, N);
    size_t total = (size_t)(B * T) * 9 * N;
    assert_memory_equal(a, b, total); /* same seed, same batches */
    eco_data_loader_free(l2);

    /* Another seed gives another order. */
    opt.seed = 43;
    ECO_ASSERT_OK(eco_data_loader_create(t, &opt, &l2));
    uint8_t *c = run_batches(l2, B, T, N);
    assert_memory_not_equal(a, c, total);
    free(c);
    eco_data_loader_free(l2);

    /* Epochs differ from each other: epoch 1 is not epoch 0 again. */
    opt.seed = 42;
    opt.batch = 1;
    ECO_ASSERT_OK(eco_data_loader_create(t, &opt, &l2));
    uint8_t *e0 = run_batches(l2, 1, T, (int)eco_data_loader_epoch_rows(l2));
    assert_int_equal(eco_data_loader_tell(l2).epoch, 1);
    int64_t rows1 = eco_data_loader_epoch_rows(l2);
    uint8_t *e1 = run_batches(l2, 1, T, (int)rows1);
    if (rows1 == rows) assert_memory_not_equal(e0, e1, (size_t)T * 9 * (size_t)rows);
    free(e0);
    free(e1);
    eco_data_loader_free(l2);

    /* Resume: stop after k batches, save the position, continue in a fresh loader. */
    opt.batch = B;
    for (int stop = 0; stop < N; stop += 7) {
        eco_data_loader *x = NULL, *y = NULL;
        ECO_ASSERT_OK(eco_data_loader_create(t, &opt, &x));
        free(run_batches(x, B, T, stop));
        eco_data_pos pos = eco_data_loader_tell(x);
        eco_data_loader_free(x);
        ECO_ASSERT_OK(eco_data_loader_create(t, &opt, &y));
        ECO_ASSERT_OK(eco_data_loader_seek(y, pos));
        uint8_t *rest = run_batches(y, B, T, N - stop);
        size_t per = (size_t)(B * T) * 9;
        assert_memory_equal(rest, a + per * (size_t)stop, per * (size_t)(N - stop));
        free(rest);
        eco_data_loader_free(y);
    }
    /* Seeking outside an epoch is refused. */
    ECO_ASSERT_STATUS(eco_data_loader_seek(l1, (eco_data_pos){0, rows}), ECO_STATUS_ERANGE);
    ECO_ASSERT_STATUS(eco_data_loader_seek(l1, (eco_data_pos){-1, 0}), ECO_STATUS_ERANGE);
    ECO_ASSERT_OK(eco_data_loader_seek(l1, (eco_data_pos){5, rows - 1}));
    free(a);
    free(b);
    eco_data_loader_free(l1);
    eco_data_tokens_free(t);
    eco_tokenizer_free(tok);
}

/* How examples fit the rows, and the batches with no target (issue 17: a prompt that fills
 * the row trained nothing, silently). */
static void test_fit_and_empty_batches(void **state) {
    (void)state;
    eco_tokenizer *tok = byte_tokenizer();
    /* [BOS a b c d e f x EOS]: first target at 7; [BOS q y EOS]: first target at 2 */
    eco_data_corpus *c = parse_ok("{\"prompt\": \"abcdef\", \"completion\": \"x\"}\n"
                                  "{\"prompt\": \"q\", \"completion\": \"y\"}\n");
    eco_data_tokens *t = NULL;
    ECO_ASSERT_OK(eco_data_tokenize(c, tok, EOS, &t));
    eco_data_loader_options opt = {.batch = 1,
                                   .seq = 4,
                                   .seed = 1,
                                   .shuffle = false,
                                   .pack = ECO_DATA_PACK_AUTO,
                                   .pad_id = PAD};
    eco_data_loader *l = NULL;
    ECO_ASSERT_OK(eco_data_loader_create(t, &opt, &l));
    eco_data_fit f;
    eco_data_loader_fit(l, &f);
    assert_int_equal(f.n_examples, 2);
    assert_int_equal(f.n_cut, 1);
    assert_int_equal(f.n_lost, 1);
    assert_int_equal(f.seq_keep, 7);
    assert_int_equal(f.seq_whole, 8);
    /* Unshuffled: row 0 is the first example cut to 5 tokens (no target), row 1 the second. */
    int64_t empty = -2;
    ECO_ASSERT_OK(eco_data_loader_find_empty(l, 3, &empty));
    assert_int_equal(empty, 0);
    assert_int_equal(eco_data_loader_tell(l).row, 0); /* looking does not move */
    batch b = batch_alloc(1, 4);
    int64_t nt = -1;
    ECO_ASSERT_OK(eco_data_loader_next(l, b.in, b.tg, b.mask, &nt));
    assert_int_equal(nt, 0);
    ECO_ASSERT_OK(eco_data_loader_find_empty(l, 1, &empty));
    assert_int_equal(empty, -1);
    ECO_ASSERT_OK(eco_data_loader_find_empty(l, 2, &empty));
    assert_int_equal(empty, 1); /* the next epoch's first row */
    ECO_ASSERT_OK(eco_data_loader_next(l, b.in, b.tg, b.mask, &nt));
    assert_int_equal(nt, 2);
    batch_free(&b);
    eco_data_loader_free(l);
    /* Two rows a batch: every batch holds the second example. */
    opt.batch = 2;
    ECO_ASSERT_OK(eco_data_loader_create(t, &opt, &l));
    ECO_ASSERT_OK(eco_data_loader_find_empty(l, 5, &empty));
    assert_int_equal(empty, -1);
    eco_data_loader_free(l);
    /* At --seq 7 the first example is still cut, but keeps its target. */
    opt.seq = 7;
    ECO_ASSERT_OK(eco_data_loader_create(t, &opt, &l));
    eco_data_loader_fit(l, &f);
    assert_int_equal(f.n_cut, 1);
    assert_int_equal(f.n_lost, 0);
    eco_data_loader_free(l);
    /* Stream packing cuts nothing off: every token is a target in some window. */
    opt.seq = 4;
    opt.pack = ECO_DATA_PACK_STREAM;
    ECO_ASSERT_OK(eco_data_loader_create(t, &opt, &l));
    eco_data_loader_fit(l, &f);
    assert_int_equal(f.n_examples, 2);
    assert_int_equal(f.n_cut + f.n_lost, 0);
    eco_data_loader_free(l);
    ECO_ASSERT_STATUS(eco_data_loader_find_empty(NULL, 1, &empty), ECO_STATUS_EINVAL);
    eco_data_tokens_free(t);
    eco_data_corpus_free(c);
    eco_tokenizer_free(tok);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_tokenize_masks),
        cmocka_unit_test(test_packing),
        cmocka_unit_test(test_shuffle_and_resume),
        cmocka_unit_test(test_fit_and_empty_batches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
