/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>

#include "linebuf.h"
#include "xalloc.h"

void line_buf_feed(struct line_buf *b, const char *data, size_t n, size_t max, line_buf_fn *fn,
                   void *ud) {
        size_t start = 0;
        char *nl;

        if (b->len + n > max)
                b->len = 0; /* a runaway line: drop it */
        b->buf = xrealloc(b->buf, b->len + n + 1);
        memcpy(b->buf + b->len, data, n);
        b->len += n;
        while ((nl = memchr(b->buf + start, '\n', b->len - start))) {
                size_t l = (size_t)(nl - (b->buf + start));

                fn(ud, b->buf + start, l);
                start += l + 1;
        }
        if (start > 0) {
                memmove(b->buf, b->buf + start, b->len - start);
                b->len -= start;
        }
}

void line_buf_done(struct line_buf *b) {
        free(b->buf);
        *b = (struct line_buf){};
}
