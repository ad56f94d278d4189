/*
 * ECO_ASSERT (core.h): compiled in only with ECO_DEBUG_ASSERT (the sanitizer build), where
 * a false condition aborts, naming it; compiled out otherwise, where the condition is not
 * even evaluated. A kernel precondition (eco_rope's even head_dim) shows it in place.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

#include "ecology/core.h"
#include "ecology/tensor.h"

#ifdef ECO_DEBUG_ASSERT
/* Runs fn in a child with stderr silenced; true when it died of SIGABRT. */
static bool aborts(void (*fn)(void)) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) _exit(3);
        fn();
        _exit(0);
    }
    int ws = 0;
    if (pid < 0 || waitpid(pid, &ws, 0) != pid) return false;
    return WIFSIGNALED(ws) && WTERMSIG(ws) == SIGABRT;
}
static void false_assert(void) { ECO_ASSERT(1 + 1 == 3); }
static void true_assert(void) { ECO_ASSERT(1 + 1 == 2); }
static void rope_odd_head(void) {
    float x[3] = {1, 2, 3}, c[1] = {1}, s[1] = {0};
    eco_rope(x, c, s, 1, 3);
}
#endif

static void test_eco_assert(void **state) {
    (void)state;
#ifdef ECO_DEBUG_ASSERT
    printf("ECO_ASSERT compiled in (ECO_DEBUG_ASSERT)\n");
    assert_true(aborts(false_assert));
    assert_false(aborts(true_assert));
    assert_true(aborts(rope_odd_head));
#else
    printf("ECO_ASSERT compiled out: the condition is not evaluated\n");
    int evaluated = 0;
    ECO_ASSERT(++evaluated == 1);
    ECO_ASSERT(++evaluated == 99);
    assert_int_equal(evaluated, 0);
#endif
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_eco_assert)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
