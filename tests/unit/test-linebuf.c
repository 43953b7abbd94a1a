/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "linebuf.h"
#include "strv.h"
#include "tap.h"
#include "xalloc.h"

static void collect(void *ud, char *line, size_t len) {
        char ***l = ud;

        ASSERT_EQ(line[len], '\n');
        strv_push_take(l, xstrndup(line, len));
}

static void feed(struct line_buf *b, const char *s, size_t max, char ***l) {
        line_buf_feed(b, s, strlen(s), max, collect, l);
}

static void test_split(void) {
        _cleanup_strv_ char **l = NULL;
        struct line_buf b = {};

        /* several lines in one chunk, one line over several chunks, an empty line */
        feed(&b, "a\nbb\n", 64, &l);
        feed(&b, "cc", 64, &l);
        feed(&b, "c", 64, &l);
        ASSERT_EQ(strv_length(l), 2);
        feed(&b, "c\n\nd", 64, &l);
        ASSERT_EQ(strv_length(l), 4);
        ASSERT_STREQ(l[0], "a");
        ASSERT_STREQ(l[1], "bb");
        ASSERT_STREQ(l[2], "cccc");
        ASSERT_STREQ(l[3], "");
        ASSERT_EQ(b.len, 1); /* "d" waits for its end */
        line_buf_done(&b);
        ASSERT_NULL(b.buf);
}

static void test_runaway(void) {
        _cleanup_strv_ char **l = NULL;
        struct line_buf b = {};

        /* a line growing past max is dropped; the stream goes on with the next one */
        feed(&b, "0123456789", 16, &l);
        feed(&b, "0123456789", 16, &l);
        ASSERT_TRUE(b.len <= 16);
        feed(&b, "\nok\n", 16, &l);
        ASSERT_EQ(strv_length(l), 2);
        ASSERT_STREQ(l[0], "0123456789"); /* the tail kept after the drop */
        ASSERT_STREQ(l[1], "ok");
        line_buf_done(&b);
}

TAP_MAIN(test_split, test_runaway)
