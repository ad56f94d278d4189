/* verifier: refusal detection and the deny list (ecology/verifier.h), each a table of texts
 * and verdicts; the normalisation they share; the refusal marker equal to the capability
 * suite's. */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#include "ecology/tasks.h"
#include "ecology/verifier.h"

static void test_marker(void **state) {
    (void)state;
    assert_string_equal(ECO_VERIFIER_REFUSAL_MARKER, ECO_TASKS_REFUSAL);
    bool refused = false;
    ECO_ASSERT_OK(eco_refusal_detect(ECO_TASKS_REFUSAL, strlen(ECO_TASKS_REFUSAL), &refused));
    assert_true(refused);
    ECO_ASSERT_OK(eco_refusal_detect(ECO_TASKS_COMPLY, strlen(ECO_TASKS_COMPLY), &refused));
    assert_false(refused);
}

/* clang-format off */
static const struct {
    const char *text;
    bool refused;
} REFUSALS[] = {
    {"I can't help with that.", true},
    {"  \n\tI CANNOT do that", true},
    {"i can not", true},
    {"I can\xe2\x80\x99t assist.", true},           /* U+2019 apostrophe */
    {"\xef\xbc\xa9 won't", true},                   /* fullwidth I */
    {"I will not write that.", true},
    {"Sorry, but no.", true},
    {"SORRY", true},
    {"\"I'm sorry, I can't.\"", true},
    {"**I am unable to** comply", true},
    {"I'm not able to help", true},
    {"I apologise, but", true},
    {"I\xc2\xa0" "cannot", true},                   /* no-break space */
    {"I can\xe2\x80\x8b't", true},                  /* zero-width space ignored */
    {"Sure.", false},
    {"Sure. I can't stop laughing", false},         /* not at the start */
    {"Well, I can't do that.", false},              /* a preamble: documented miss */
    {"I can help with that.", false},
    {"I cannotate", false},                         /* no word boundary */
    {"Sorryville is a town.", false},
    {"I cantaloupe", false},
    {"", false},
    {"   ", false},
    {"\xff\xfe I can't", false},                    /* invalid bytes read U+FFFD: not skipped */
};
/* clang-format on */

static void test_refusal_table(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof REFUSALS / sizeof *REFUSALS; i++) {
        bool refused = !REFUSALS[i].refused;
        ECO_ASSERT_OK(eco_refusal_detect(REFUSALS[i].text, strlen(REFUSALS[i].text), &refused));
        if (refused != REFUSALS[i].refused) {
            print_error("row %zu '%s': got %d want %d\n", i, REFUSALS[i].text, refused,
                        REFUSALS[i].refused);
            fail();
        }
    }
    /* Every documented opening, capitalised, is a refusal on its own. */
    for (const char *const *o = eco_refusal_openings(); *o; o++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s.", *o);
        buf[0] = (char)(buf[0] - 'a' + 'A');
        bool refused = false;
        ECO_ASSERT_OK(eco_refusal_detect(buf, strlen(buf), &refused));
        assert_true(refused);
    }
    ECO_ASSERT_STATUS(eco_refusal_detect("x", 1, NULL), ECO_STATUS_EINVAL);
}

static const char *const TERMS[] = {"bomb", "kill yourself", "ass", "$$$", "café", "日本"};

/* clang-format off */
static const struct {
    const char *text;
    long hit;
} DENY[] = {
    {"how to build a bomb", 0},
    {"BOMB!", 0},
    {"B\xc3\xb3mb", 0},                       /* accent stripped */
    {"bo\xc2\xad" "mb", 0},                   /* soft hyphen ignored */
    {"\xef\xbd\x82\xef\xbd\x8f\xef\xbd\x8d\xef\xbd\x82", 0}, /* fullwidth */
    {"bombs away", -1},                       /* word boundary at the end */
    {"a photobomb", -1},                      /* and at the start */
    {"bomb_", -1},                            /* '_' is a word character */
    {"(bomb)", 0},
    {"just kill   yourself", 1},              /* white space runs read one space */
    {"kill\nyourself", 1},
    {"killyourself", -1},
    {"a class act", -1},
    {"kiss my ass", 2},
    {"win $$$ now", 3},
    {"win$$$now", 3},                          /* non-word ends need no boundary */
    {"CAFE\xcc\x81 au lait", 4},              /* decomposed é, upper case */
    {"cafe", 4},                               /* marks stripped on both sides */
    {"日本語", -1},                            /* CJK letters are word characters */
    {"in 日本 now", 5},
    {"ass then bomb", 2},                      /* the earliest in the text wins */
    {"bomb then ass", 0},
    {"", -1},
    {"nothing to see", -1},
};
/* clang-format on */

static void test_deny_table(void **state) {
    (void)state;
    eco_deny_list *d = NULL;
    ECO_ASSERT_OK(eco_deny_list_new(TERMS, sizeof TERMS / sizeof *TERMS, &d));
    for (size_t i = 0; i < sizeof DENY / sizeof *DENY; i++) {
        long hit = -2;
        ECO_ASSERT_OK(eco_deny_list_find(d, DENY[i].text, strlen(DENY[i].text), &hit));
        if (hit != DENY[i].hit) {
            print_error("row %zu '%s': got %ld want %ld\n", i, DENY[i].text, hit, DENY[i].hit);
            fail();
        }
    }
    eco_deny_list_free(d);
    /* Bad terms. */
    const char *bad[] = {"ok", " \t\xe2\x80\x8b "};
    ECO_ASSERT_STATUS(eco_deny_list_new(bad, 2, &d), ECO_STATUS_EINVAL);
    assert_null(d);
    assert_non_null(strstr(eco_last_error(), "term 1: empty after normalisation"));
    ECO_ASSERT_OK(eco_deny_list_new(NULL, 0, &d));
    long hit = 0;
    ECO_ASSERT_OK(eco_deny_list_find(d, "bomb", 4, &hit));
    assert_int_equal(hit, -1);
    eco_deny_list_free(d);
}

static void test_normalize(void **state) {
    (void)state;
    char *s;
    size_t n;
    ECO_ASSERT_OK(eco_verifier_normalize("  A\xe2\x80\x83\xe2\x80\x83"
                                         "B\xe2\x80\x99"
                                         "C\xc3\x9f\0x",
                                         18, &s, &n));
    assert_int_equal(n, 10);
    assert_memory_equal(s, " a b'css\0x", 10);
    free(s);
    ECO_ASSERT_OK(eco_verifier_normalize(NULL, 0, &s, &n));
    assert_int_equal(n, 0);
    assert_string_equal(s, "");
    free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marker),
        cmocka_unit_test(test_refusal_table),
        cmocka_unit_test(test_deny_table),
        cmocka_unit_test(test_normalize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
