/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

/* Splits a byte stream (a child's pipe) into lines. */
struct line_buf {
        char *buf;
        size_t len;
};

/* Called for each complete line: line[len] is its '\n'. */
typedef void line_buf_fn(void *ud, char *line, size_t len);

/* Appends n bytes of data and calls fn for every line it completes. A line that grows beyond max
 * bytes without its end is dropped (a runaway writer cannot make the reader grow without
 * bound). */
void line_buf_feed(struct line_buf *b, const char *data, size_t n, size_t max, line_buf_fn *fn,
                   void *ud);
void line_buf_done(struct line_buf *b);
