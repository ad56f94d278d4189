/* The one UTF-8 module and the one growable buffer in core (ecology/core.h): a table of
 * byte sequences each decoded valid or invalid, round trips through the encoder, the
 * lossy copy the CLI and distillation print, and the buffer's growth and reset. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

typedef struct utf8_case {
    const char *bytes;
    size_t n;
    size_t want_len; /* 0: invalid */
    uint32_t want_cp;
} utf8_case;

static const utf8_case UTF8[] = {
    {"A", 1, 1, 0x41},
    {"\x7f", 1, 1, 0x7f},
    {"\xc2\x80", 2, 2, 0x80},
    {"\xc3\xa9", 2, 2, 0xe9},
    {"\xdf\xbf", 2, 2, 0x7ff},
    {"\xe0\xa0\x80", 3, 3, 0x800},
    {"\xe2\x82\xac", 3, 3, 0x20ac},
    {"\xed\x9f\xbf", 3, 3, 0xd7ff},
    {"\xee\x80\x80", 3, 3, 0xe000},
    {"\xef\xbf\xbf", 3, 3, 0xffff},
    {"\xf0\x90\x80\x80", 4, 4, 0x10000},
    {"\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff},
    {"", 0, 0, 0},                 /* nothing */
    {"\x80", 1, 0, 0},             /* continuation byte */
    {"\xc0\xaf", 2, 0, 0},         /* overlong '/' */
    {"\xc1\xbf", 2, 0, 0},         /* overlong */
    {"\xe0\x80\xaf", 3, 0, 0},     /* overlong 3-byte */
    {"\xf0\x80\x80\xaf", 4, 0, 0}, /* overlong 4-byte */
    {"\xed\xa0\x80", 3, 0, 0},     /* surrogate D800 */
    {"\xed\xbf\xbf", 3, 0, 0},     /* surrogate DFFF */
    {"\xf4\x90\x80\x80", 4, 0, 0}, /* past U+10FFFF */
    {"\xf5\x80\x80\x80", 4, 0, 0}, /* lead byte past F4 */
    {"\xff", 1, 0, 0},
    {"\xc3", 1, 0, 0},         /* cut short */
    {"\xe2\x82", 2, 0, 0},     /* cut short */
    {"\xe2\x28\xa1", 3, 0, 0}, /* bad continuation */
};

static void test_utf8_table(void **state) {
    (void)state;
    int bad = 0;
    for (size_t i = 0; i < sizeof UTF8 / sizeof UTF8[0]; i++) {
        const utf8_case *c = &UTF8[i];
        uint32_t cp = 0xdeadbeef;
        size_t l = eco_utf8_decode(c->bytes, c->n, &cp);
        if (l != c->want_len || (l && cp != c->want_cp)) {
            print_error("case %zu: got len %zu cp %#x, want len %zu cp %#x\n", i, l, cp,
                        c->want_len, c->want_cp);
            bad++;
        }
        if (l) { /* the encoder writes the same bytes back */
            char out[4];
            size_t m = eco_utf8_encode(cp, out);
            if (m != l || memcmp(out, c->bytes, l) != 0) {
                print_error("case %zu: encode gave %zu bytes\n", i, m);
                bad++;
            }
        }
        size_t v = eco_utf8_valid_prefix(c->bytes, c->n);
        if (v != (c->want_len == c->n ? c->n : 0)) {
            print_error("case %zu: valid prefix %zu\n", i, v);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void test_utf8_lossy(void **state) {
    (void)state;
    size_t n = 0;
    char *s = eco_utf8_lossy("a\xff"
                             "b\xe2\x82\xac\xc3",
                             7, &n);
    assert_non_null(s);
    assert_int_equal(n, 1 + 3 + 1 + 3 + 3);
    assert_memory_equal(s,
                        "a\xef\xbf\xbd"
                        "b\xe2\x82\xac\xef\xbf\xbd",
                        n);
    assert_int_equal(s[n], '\0');
    free(s);
    assert_int_equal(eco_utf8_valid_prefix("ok\xe2\x82\xac\x80", 6), 5);
    s = eco_utf8_lossy("", 0, &n);
    assert_non_null(s);
    assert_int_equal(n, 0);
    free(s);
}

static void test_buf(void **state) {
    (void)state;
    eco_buf b = {0};
    assert_true(eco_buf_puts(&b, ""));
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    for (int i = 0; i < 1000; i++) assert_true(eco_buf_printf(&b, "%d,", i % 10));
    assert_int_equal(b.len, 2000);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[b.len], '\0');
    assert_true(eco_buf_push(&b, 'x'));
    assert_true(eco_buf_append(&b, "yz\0w", 4)); /* bytes, NULs included */
    assert_int_equal(b.len, 2005);
    assert_memory_equal(b.data + 2000, "xyz\0w", 5);
    size_t cap = b.cap;
    eco_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, cap);
    assert_string_equal(b.data, "");
    assert_false(eco_buf_reserve(&b, SIZE_MAX)); /* overflow refused, buffer intact */
    assert_int_equal(b.cap, cap);
    eco_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len + b.cap, 0);
}

/* eco_lines: numbering, the BOM, a last line with and without '\n', CRs kept. */
static void test_lines(void **state) {
    (void)state;
    const char text[] = "\xEF\xBB\xBF{\"a\"}\r\n\n \t\nlast";
    eco_lines it;
    const char *s;
    size_t n;
    eco_lines_init(&it, text, sizeof text - 1, true);
    assert_true(eco_lines_next(&it, &s, &n));
    assert_int_equal(it.line, 1);
    assert_int_equal(n, 6);
    assert_memory_equal(s, "{\"a\"}\r", 6);
    assert_false(eco_text_is_blank(s, n));
    assert_true(eco_lines_next(&it, &s, &n));
    assert_int_equal(it.line, 2);
    assert_int_equal(n, 0);
    assert_true(eco_text_is_blank(s, n));
    assert_true(eco_lines_next(&it, &s, &n));
    assert_true(eco_text_is_blank(s, n));
    assert_true(eco_lines_next(&it, &s, &n));
    assert_int_equal(it.line, 4);
    assert_memory_equal(s, "last", n);
    assert_false(eco_lines_next(&it, &s, &n));
    assert_int_equal(it.line, 4);

    eco_lines_init(&it, text, sizeof text - 1, false); /* the BOM stays in line 1 */
    assert_true(eco_lines_next(&it, &s, &n));
    assert_int_equal(n, 9);
    eco_lines_init(&it, "a\n", 2, true); /* no empty line after a final '\n' */
    assert_true(eco_lines_next(&it, &s, &n));
    assert_false(eco_lines_next(&it, &s, &n));
    eco_lines_init(&it, NULL, 0, true);
    assert_false(eco_lines_next(&it, &s, &n));
}

/* eco_bytes_dup: NUL-terminated, NULs inside kept, n == 0 gives "". */
static void test_bytes_dup(void **state) {
    (void)state;
    char *d = eco_bytes_dup("ab\0cd", 5);
    assert_non_null(d);
    assert_memory_equal(d, "ab\0cd", 6);
    free(d);
    d = eco_bytes_dup(NULL, 0);
    assert_non_null(d);
    assert_string_equal(d, "");
    free(d);
    assert_null(eco_bytes_dup("x", SIZE_MAX));
}

/* eco_text_answer_span: the first line, spaces, tabs and CRs trimmed. */
static void test_answer_span(void **state) {
    (void)state;
    static const struct {
        const char *in, *want;
    } rows[] = {
        {" 357\n", "357"}, {"357 \nmore", "357"}, {"\t a b\r", "a b"}, {"\nx", ""}, {"", ""},
        {"  ", ""}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t b = 99, n = 99;
        eco_text_answer_span(rows[i].in, strlen(rows[i].in), &b, &n);
        assert_true(b + n <= strlen(rows[i].in));
        assert_int_equal(n, strlen(rows[i].want));
        assert_memory_equal(rows[i].in + b, rows[i].want, n);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_table),  cmocka_unit_test(test_utf8_lossy),
        cmocka_unit_test(test_buf),         cmocka_unit_test(test_lines),
        cmocka_unit_test(test_answer_span), cmocka_unit_test(test_bytes_dup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
