/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A minimal TAP harness for unit tests (STYLE C19). Each test function runs in order; ASSERT_*
 * failures print the expression, the values and errno, then mark the current test "not ok" and
 * return from it. Exit status: 0 if all passed, 1 otherwise, 77 when the whole program skips. */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tap_state {
        int n;
        int failed;
        bool cur_failed;
        const char *cur_skip;
};
extern struct tap_state tap_st;

#define TAP_FAIL_(fmt, ...)                                                                        \
        do {                                                                                       \
                int e_ = errno;                                                                    \
                printf("#   %s:%d: " fmt " (errno %d: %s)\n", __FILE__, __LINE__, __VA_ARGS__, e_, \
                       strerror(e_));                                                              \
                tap_st.cur_failed = true;                                                          \
                return;                                                                            \
        } while (0)

#define ASSERT_TRUE(expr)                                                                          \
        do {                                                                                       \
                if (!(expr))                                                                       \
                        TAP_FAIL_("assertion failed: %s", #expr);                                  \
        } while (0)
#define ASSERT_FALSE(expr) ASSERT_TRUE(!(expr))
#define ASSERT_EQ(a, b)                                                                            \
        do {                                                                                       \
                intmax_t a_ = (intmax_t)(a), b_ = (intmax_t)(b);                                   \
                if (a_ != b_)                                                                      \
                        TAP_FAIL_("%s == %s: %jd != %jd", #a, #b, a_, b_);                         \
        } while (0)
#define ASSERT_NE(a, b)                                                                            \
        do {                                                                                       \
                intmax_t a_ = (intmax_t)(a), b_ = (intmax_t)(b);                                   \
                if (a_ == b_)                                                                      \
                        TAP_FAIL_("%s != %s: both %jd", #a, #b, a_);                               \
        } while (0)
#define ASSERT_STREQ(a, b)                                                                         \
        do {                                                                                       \
                const char *a_ = (a), *b_ = (b);                                                   \
                if (!a_ || !b_ || strcmp(a_, b_) != 0)                                             \
                        TAP_FAIL_("%s == %s: '%s' != '%s'", #a, #b, a_ ? a_ : "(null)",            \
                                  b_ ? b_ : "(null)");                                             \
        } while (0)
#define ASSERT_NULL(p) ASSERT_TRUE((p) == NULL)
#define ASSERT_NOT_NULL(p) ASSERT_TRUE((p) != NULL)
/* For int-returning berth functions: r >= 0. */
#define ASSERT_OK(expr)                                                                            \
        do {                                                                                       \
                intmax_t r_ = (intmax_t)(expr);                                                    \
                if (r_ < 0)                                                                        \
                        TAP_FAIL_("%s failed: %jd", #expr, r_);                                    \
        } while (0)
#define ASSERT_ERR(expr, code)                                                                     \
        do {                                                                                       \
                intmax_t r_ = (intmax_t)(expr);                                                    \
                if (r_ != -(intmax_t)(code))                                                       \
                        TAP_FAIL_("%s: expected -%s, got %jd", #expr, #code, r_);                  \
        } while (0)

/* Marks the current test as skipped (it still counts as ok) and returns from it. */
#define TAP_SKIP(reason)                                                                           \
        do {                                                                                       \
                tap_st.cur_skip = (reason);                                                        \
                return;                                                                            \
        } while (0)

typedef void tap_test_fn(void);

#define TAP_MAIN(...)                                                                              \
        struct tap_state tap_st;                                                                   \
        int main(void) {                                                                           \
                tap_test_fn *fns_[] = {__VA_ARGS__};                                               \
                const char *names_ = #__VA_ARGS__;                                                 \
                return tap_main_(fns_, sizeof(fns_) / sizeof(fns_[0]), names_);                    \
        }
int tap_main_(tap_test_fn **fns, size_t n, const char *names);
