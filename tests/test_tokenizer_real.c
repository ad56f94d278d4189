/*
 * The tokenizer against real vocabularies and a reference implementation.
 *
 * Material (fetched by scripts/fetch-test-material.sh into .cache/test-material/, never
 * by this test): the Qwen3 tokenizer.json (byte-level BPE, 151,643 tokens, NFC) and the
 * Mistral-7B one (SentencePiece-style BPE with byte fallback), Moby Dick and the Big List
 * of Naughty Strings. Reference ids: tests/reference/{qwen3,mistral}_ids.jsonl, written by
 * tests/reference/make_token_ids.mjs with @lenml/tokenizers@3.7.2 (transformers.js).
 *
 * Every case is checked, in the sanitizer build too; the whole book is also encoded once
 * per vocabulary and compared by id count and SHA-256 of the ids.
 */
#include "test_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/tokenizer.h"
#include "tokenizer/tokenizer_internal.h"

/* Every case by default, sanitizer builds included (about 15 s under ASan);
 * ECO_TOKENIZER_REAL_STRIDE=N checks every N-th case only, for quick runs. */
#define DEFAULT_STRIDE 1

static const char *CACHE = ".cache/test-material";

static size_t stride(void) {
    const char *s = getenv("ECO_TOKENIZER_REAL_STRIDE");
    long v = s ? strtol(s, NULL, 10) : DEFAULT_STRIDE;
    return v > 0 ? (size_t)v : 1;
}

static char *material(const char *rel) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s/%s", CACHE, rel);
    char *p = eco_test_source_path(buf);
    FILE *f = fopen(p, "rb");
    if (!f) {
        print_error(
            "missing test material %s: run scripts/fetch-test-material.sh (make test does)\n", p);
        fail();
    }
    fclose(f);
    return p;
}

static char *slurp(const char *path, size_t *len) {
    char *data = NULL;
    ECO_ASSERT_OK(eco_read_file(path, (size_t)1 << 30, &data, len));
    return data;
}

typedef struct texts {
    json_t *blns; /* array of strings */
    char *book;
    size_t book_len;
} texts;

static void texts_load(texts *t) {
    char *p = material("blns/package/resources/blns.json");
    json_error_t err;
    t->blns = json_load_file(p, JSON_ALLOW_NUL, &err);
    if (!t->blns) {
        print_error("%s: %s\n", p, err.text);
        fail();
    }
    free(p);
    p = material("moby-dick/package/data/data.txt");
    t->book = slurp(p, &t->book_len);
    free(p);
}

static void texts_free(texts *t) {
    json_decref(t->blns);
    free(t->book);
}

static void print_ids(const char *what, const int32_t *ids, size_t n) {
    fprintf(stderr, "  %s (%zu):", what, n);
    for (size_t i = 0; i < n && i < 400; i++) fprintf(stderr, " %d", ids[i]);
    if (n > 400) fprintf(stderr, " ...");
    fprintf(stderr, "\n");
}

/* First index where a and b differ (or the shorter length). */
static size_t first_diff(const int32_t *a, size_t na, const json_t *b) {
    size_t i = 0;
    for (; i < na && i < json_array_size(b); i++)
        if (a[i] != json_integer_value(json_array_get(b, i))) break;
    return i;
}

/* Compares encode(text) with the reference list; prints both on mismatch. */
static bool check_ids(const eco_tokenizer *tok, const char *name, const char *text, size_t len,
                      bool special, const json_t *want, const char *where) {
    int32_t *ids = NULL;
    size_t n = 0;
    ECO_ASSERT_OK(eco_tokenizer_encode(tok, text, len, special, &ids, &n));
    bool ok = n == json_array_size(want) && first_diff(ids, n, want) == n;
    if (!ok) {
        size_t d = first_diff(ids, n, want);
        fprintf(stderr, "%s: %s (add_special=%d): ids differ at %zu; text (%zu bytes): \"%.*s\"\n",
                name, where, special, d, len, (int)(len > 300 ? 300 : len), text);
        print_ids("got ", ids, n);
        int32_t *w = malloc((json_array_size(want) + 1) * sizeof *w);
        for (size_t i = 0; i < json_array_size(want); i++)
            w[i] = (int32_t)json_integer_value(json_array_get(want, i));
        print_ids("want", w, json_array_size(want));
        free(w);
    }
    free(ids);
    return ok;
}

static bool contains(const char *s, size_t n, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(s + i, needle, k) == 0) return true;
    return false;
}

/* decode(encode(x)) == x, or NFC(x) when the tokenizer normalizes to NFC. */
static bool check_roundtrip(const eco_tokenizer *tok, const char *name, const char *text,
                            size_t len, bool nfc) {
    int32_t *ids = NULL;
    size_t n = 0;
    ECO_ASSERT_OK(eco_tokenizer_encode(tok, text, len, true, &ids, &n));
    char *back = NULL;
    size_t blen = 0;
    ECO_ASSERT_OK(eco_tokenizer_decode(tok, ids, n, true, &back, &blen));
    eco_buf want = {0};
    if (nfc)
        assert_int_equal(tok_nfc(text, len, &want), ECO_STATUS_OK);
    else
        assert_true(eco_buf_append(&want, text, len));
    bool ok = blen == want.len && memcmp(back, want.data ? want.data : "", blen) == 0;
    if (!ok)
        fprintf(stderr, "%s: round trip differs: \"%.*s\" -> \"%.*s\"\n", name,
                (int)(len > 200 ? 200 : len), text, (int)(blen > 200 ? 200 : blen), back);
    eco_buf_free(&want);
    free(back);
    free(ids);
    return ok;
}

typedef struct vocab_case {
    const char *name;
    const char *json_rel;
    const char *ref_rel;
    bool nfc;
    const char *hello_ref; /* "Hello world!" with add_special */
} vocab_case;

static void run_vocab(const vocab_case *vc) {
    char *path = material(vc->json_rel);
    eco_tokenizer *tok = NULL;
    double t0 = eco_now();
    ECO_ASSERT_OK(eco_tokenizer_load(path, &tok));
    double t_load = eco_now() - t0;
    free(path);

    texts tx;
    texts_load(&tx);

    /* quick check from TEST-MATERIAL.md */
    {
        int32_t *ids;
        size_t n;
        ECO_ASSERT_OK(eco_tokenizer_encode(tok, "Hello world!", 12, true, &ids, &n));
        char buf[128] = "";
        for (size_t i = 0; i < n; i++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%d", i ? "," : "", ids[i]);
        free(ids);
        if (strcmp(buf, vc->hello_ref) != 0) {
            print_error("%s: \"Hello world!\" -> [%s], want [%s]\n", vc->name, buf, vc->hello_ref);
            fail();
        }
    }

    char *ref_path = eco_test_source_path(vc->ref_rel);
    FILE *f = fopen(ref_path, "rb");
    assert_non_null(f);
    size_t step = stride(), lineno = 0, cases = 0, matched = 0, rt_cases = 0, rt_ok = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    double t_enc = 0;
    size_t enc_bytes = 0;
    while ((got = getline(&line, &cap, f)) > 0) {
        lineno++;
        json_error_t err;
        json_t *o = json_loadb(line, (size_t)got, 0, &err);
        if (!o) {
            print_error("%s:%zu: %s\n", ref_path, lineno, err.text);
            fail();
        }
        const char *src = json_string_value(json_object_get(o, "src"));
        assert_non_null(src);
        const char *text = NULL;
        size_t len = 0;
        char where[64];
        if (strcmp(src, "blns") == 0) {
            size_t idx = (size_t)json_integer_value(json_object_get(o, "index"));
            const json_t *s = json_array_get(tx.blns, idx);
            assert_non_null(s);
            text = json_string_value(s);
            len = json_string_length(s);
            snprintf(where, sizeof where, "blns[%zu]", idx);
        } else {
            size_t off = (size_t)json_integer_value(json_object_get(o, "off"));
            len = (size_t)json_integer_value(json_object_get(o, "len"));
            assert_true(off <= tx.book_len && len <= tx.book_len - off);
            text = tx.book + off;
            snprintf(where, sizeof where, "moby[%zu..+%zu]", off, len);
        }
        if (strcmp(src, "moby-full") == 0) {
            int32_t *ids;
            size_t n;
            double t1 = eco_now();
            ECO_ASSERT_OK(eco_tokenizer_encode(tok, text, len, false, &ids, &n));
            double dt = eco_now() - t1;
            uint8_t h[ECO_SHA256_LEN];
            char hex[ECO_SHA256_HEX_LEN + 1];
            /* the reference hashes little-endian int32 */
            uint8_t *le = malloc(n * 4 + 1);
            for (size_t i = 0; i < n; i++)
                for (int b = 0; b < 4; b++) le[4 * i + b] = (uint8_t)((uint32_t)ids[i] >> (8 * b));
            ECO_ASSERT_OK(eco_sha256(le, n * 4, h));
            eco_hex(hex, h, ECO_SHA256_LEN);
            free(le);
            free(ids);
            size_t want_n = (size_t)json_integer_value(json_object_get(o, "n_ids"));
            const char *want_h = json_string_value(json_object_get(o, "sha256"));
            cases++;
            if (n == want_n && strcmp(hex, want_h) == 0)
                matched++;
            else
                fprintf(stderr, "%s: whole book: %zu ids sha256 %s, want %zu ids sha256 %s\n",
                        vc->name, n, hex, want_n, want_h);
            fprintf(stderr,
                    "%s: encoded the whole book (%zu bytes) into %zu ids in %.3f s (%.1f MB/s)\n",
                    vc->name, len, n, dt, (double)len / dt / 1e6);
            json_decref(o);
            continue;
        }
        if ((lineno - 1) % step != 0) {
            json_decref(o);
            continue;
        }
        double t1 = eco_now();
        bool ok0 = check_ids(tok, vc->name, text, len, false, json_object_get(o, "ids"), where);
        bool ok1 =
            check_ids(tok, vc->name, text, len, true, json_object_get(o, "ids_special"), where);
        t_enc += eco_now() - t1;
        enc_bytes += 2 * len;
        cases += 2;
        matched += ok0 + ok1;
        /* round trip: texts that hold an added token's text, or (SentencePiece) a literal
         * "▁", cannot come back exactly, by design of the format */
        bool skip_rt = contains(text, len, "<s>") || contains(text, len, "</s>") ||
                       contains(text, len, "<unk>") ||
                       (!vc->nfc && contains(text, len, "\xE2\x96\x81"));
        if (!skip_rt) {
            rt_cases++;
            rt_ok += check_roundtrip(tok, vc->name, text, len, vc->nfc);
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    free(ref_path);
    fprintf(stderr,
            "%s: loaded in %.3f s; %zu/%zu reference cases match (stride %zu); %zu/%zu round trips "
            "exact; "
            "%.1f MB/s on the cases\n",
            vc->name, t_load, matched, cases, step, rt_ok, rt_cases,
            t_enc > 0 ? (double)enc_bytes / t_enc / 1e6 : 0.0);
    texts_free(&tx);
    eco_tokenizer_free(tok);
    assert_true(cases > 0);
    assert_int_equal(matched, cases);
    assert_int_equal(rt_ok, rt_cases);
}

static void test_qwen3(void **state) {
    (void)state;
    vocab_case vc = {"qwen3", "qwen3/package/models/tokenizer.json",
                     "tests/reference/qwen3_ids.jsonl", true, "9707,1879,0"};
    run_vocab(&vc);
}

static void test_mistral(void **state) {
    (void)state;
    vocab_case vc = {"mistral", "llama2/package/models/tokenizer.json",
                     "tests/reference/mistral_ids.jsonl", false, "1,22557,1526,28808"};
    run_vocab(&vc);
}

/* Invalid UTF-8 and hard Unicode on the real vocabularies: exact round trips. */
static void test_real_roundtrip_bytes(void **state) {
    (void)state;
    static const char *const samples[] = {
        "\xff",
        "a\xff\x62",
        "\xe2\x82",
        "x\xe2\x82",
        "\xf0\x9f\x98",
        "\xc3",
        "\xc0\xaf",
        "\xed\xa0\x80",
        "caf\xc3\xa9 na\xc3\xafve \xf0\x9f\x98\x80\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd",
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xed\x95\x9c\xea\xb5\xad\xec\x96\xb4",
        "e\xcc\x81 a\xcc\x8a\xcc\x81 \xe1\x84\x80\xe1\x85\xa1",
        "  lead and trail  ",
        "\n\n\t tabs\r\n",
        "\x00nul\x00",
        "\xfe\xff\xfe\xff",
        "x\xf4\x90\x80\x80y",
    };
    const char *names[] = {"qwen3/package/models/tokenizer.json",
                           "llama2/package/models/tokenizer.json"};
    for (int v = 0; v < 2; v++) {
        char *path = material(names[v]);
        eco_tokenizer *tok;
        ECO_ASSERT_OK(eco_tokenizer_load(path, &tok));
        free(path);
        for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
            const char *s = samples[i];
            size_t len = strlen(s);
            if (i == 13) len = 5; /* "\0nul\0" */
            assert_true(check_roundtrip(tok, names[v], s, len, v == 0));
        }
        eco_tokenizer_free(tok);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qwen3),
        cmocka_unit_test(test_mistral),
        cmocka_unit_test(test_real_roundtrip_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
