/* SPDX-License-Identifier: Apache-2.0 */
/* The unix-socket client's response parser (common/uhttp.c): the first byte picks the options
 * (streamed lines, upgrade, HEAD) and the size of the reads; the rest is what the "daemon" sent,
 * then EOF. The same bytes fed at once and in pieces must give the same answer. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "uhttp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
        int r; /* 0 or the feed's negative errno */
        bool done;
        size_t used; /* bytes of the answer (the rest is an upgrade's stream) */
        size_t n_lines, line_bytes;
        struct http_response resp;
};

static int count_line(const char *line, size_t len, void *ud) {
        struct run *run = ud;

        if (memchr(line, '\n', len)) /* lines come without their newline */
                abort();
        run->n_lines++;
        run->line_bytes += len;
        return 0;
}

static void parse(const char *text, size_t len, size_t step, uint8_t flags, struct run *run) {
        _cleanup_(uhttp_resp_freep) struct uhttp_resp *p = NULL;
        size_t off = 0;

        p = uhttp_resp_new(&(struct uhttp_resp_opts){
                .on_line = flags & 1 ? count_line : NULL,
                .ud = run,
                .upgrade = flags & 2,
                .head_request = flags & 4,
                .max_body = 64 * 1024,
        });
        while (!uhttp_resp_done(p)) {
                size_t n = MIN(step, len - off);
                ssize_t k = uhttp_resp_feed(p, text + off, n, NULL);

                if (k < 0) {
                        run->r = (int)k;
                        return;
                }
                if ((size_t)k > n || ((size_t)k < n && !uhttp_resp_done(p)))
                        abort();
                off += (size_t)k;
                if (n == 0)
                        break;
        }
        run->done = uhttp_resp_done(p);
        run->used = off;
        if (run->done) {
                if (uhttp_resp_feed(p, "x", 1, NULL) != 0) /* nothing more once complete */
                        abort();
                uhttp_resp_take(p, &run->resp);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct run whole = {}, split = {};
        uint8_t flags;
        size_t step;

        if (size < 1 || size > 256 * 1024)
                return 0;
        flags = data[0];
        step = 1 + (flags >> 3);
        parse((const char *)data + 1, size - 1, size, flags, &whole);
        parse((const char *)data + 1, size - 1, step, flags, &split);
        if (whole.done != split.done || whole.used != split.used ||
            whole.resp.status != split.resp.status || whole.resp.body_len != split.resp.body_len ||
            (whole.resp.body_len &&
             memcmp(whole.resp.body, split.resp.body, whole.resp.body_len) != 0) ||
            whole.n_lines != split.n_lines || whole.line_bytes != split.line_bytes)
                abort();
        if (whole.done != (whole.r == 0))
                abort();
        http_response_done(&whole.resp);
        http_response_done(&split.resp);
        return 0;
}
