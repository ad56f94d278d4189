/*
 * Shared helpers for the cmocka unit tests.
 *
 * Tests find the source tree through ECO_SOURCE_DIR (set by ctest) and write into a fresh
 * temporary folder. ECO_ASSERT_OK prints the library's error message on failure.
 */
#ifndef ECO_TEST_UTIL_H
#define ECO_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ecology/core.h"

#define ECO_ASSERT_OK(expr)                                                              \
    do {                                                                                 \
        eco_status st_ = (expr);                                                         \
        if (st_ != ECO_STATUS_OK) {                                                      \
            print_error("%s failed: %s: %s\n", #expr, eco_status_str(st_), eco_last_error()); \
            fail();                                                                      \
        }                                                                                \
    } while (0)

#define ECO_ASSERT_STATUS(expr, want)                                                    \
    do {                                                                                 \
        eco_status st_ = (expr);                                                         \
        if (st_ != (want)) {                                                             \
            print_error("%s: got %s (%s), want %s\n", #expr, eco_status_str(st_),        \
                        eco_last_error(), eco_status_str(want));                         \
            fail();                                                                      \
        }                                                                                \
    } while (0)

/* "<ECO_SOURCE_DIR>/<rel>" (static buffer per call site is not needed: malloc'd, caller
 * frees). Falls back to the compile-time source directory when the variable is unset. */
char *eco_test_source_path(const char *rel);
/* A fresh folder under $TMPDIR (or /tmp); malloc'd path, caller frees. Removed by
 * eco_test_rmtree. */
char *eco_test_tmpdir(void);
void eco_test_rmtree(const char *path);
/* Writes bytes to path (not atomic; tests only). */
void eco_test_write_file(const char *path, const void *data, size_t len);
/* Largest |a[i] - b[i]|. */
double eco_test_max_abs_diff(const float *a, const float *b, size_t n);

#endif
