/*
 * The check macro of the C unit tests: CHECK(cond) counts a pass or a
 * failure and prints the file, line and condition of each failure, so
 * a test program runs every check and reports all that failed.  Each
 * program includes this once and prints n_passed and n_failed at the
 * end.
 */
#ifndef NN_TEST_CHECK_H
#define NN_TEST_CHECK_H

#include <stdio.h>

static int n_passed, n_failed;

/* stdout is flushed first, so a failure shows after the lines that
 * led to it. */
#define CHECK(cond)                                                     \
    do {                                                                \
        if (cond) {                                                     \
            n_passed++;                                                 \
        } else {                                                        \
            n_failed++;                                                 \
            fflush(stdout);                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,      \
                    __LINE__, #cond);                                   \
        }                                                               \
    } while (0)

#endif
