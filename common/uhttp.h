/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "http_call.h"

/* HTTP/1.1 client over AF_UNIX without libcurl (docs/http.md, "Clients"): what the CLI uses to
 * talk to its daemon. Requests are written here; answers are parsed with http-parser, with
 * Content-Length, chunked and EOF-delimited bodies, bodies handed out line by line for streams
 * (logs -f, events, stats), and the connection handed over raw after an upgrade (attach, exec).
 * One connection per call; every wait is bounded by the call's timeout. */

/* unix:///PATH only; http_call.h says what they return. */
int uhttp_request(const struct http_target *t, const struct http_call *call,
                  struct http_response *ret, struct err **errp);
int uhttp_upgrade(const struct http_target *t, const struct http_call *call,
                  struct http_raw **ret_raw, struct http_response *ret_resp, struct err **errp);

/* For callers that multiplex several streams with poll(2) (the thin berth's foreground up):
 * connects to t (unix:// only), sends the request (bounded by call->timeout_ms, 10 s when 0)
 * and hands over the connected, non-blocking socket. The answer is the caller's to read and
 * feed to a uhttp_resp. */
int uhttp_stream_open(const struct http_target *t, const struct http_call *call, int *ret_fd,
                      struct err **errp);

/* The response parser on its own (the unit test and fuzz/fuzz-uhttp.c drive it). */
struct uhttp_resp;
struct uhttp_resp_opts {
        http_line_fn *on_line; /* a 2xx body goes line by line to on_line instead of the body */
        void *ud;
        bool head_request; /* the answer to HEAD: no body whatever the headers say */
        bool upgrade;      /* stop after the head of a 101 or 200 answer: the rest is raw */
        size_t max_body;   /* 0: 256 MiB (a line: 16 MiB) */
};
struct uhttp_resp *uhttp_resp_new(const struct uhttp_resp_opts *o);
struct uhttp_resp *uhttp_resp_free(struct uhttp_resp *p);
void uhttp_resp_freep(struct uhttp_resp **p);
/* Feeds n bytes read from the connection (n == 0: the peer closed it). Returns how many bytes
 * belong to the answer (fewer than n only once it is complete: for an upgrade, the rest is the
 * raw stream), or a negative errno: -EPROTO for a malformed answer, -EFBIG for one too large,
 * -ECONNRESET for a connection closed in the middle, or on_line's own negative return. */
ssize_t uhttp_resp_feed(struct uhttp_resp *p, const char *data, size_t n, struct err **errp);
/* Whether the answer is complete (for an upgrade: its head). */
bool uhttp_resp_done(const struct uhttp_resp *p);
/* Moves the complete answer to *ret (status, content type, body unless it went to on_line). */
void uhttp_resp_take(struct uhttp_resp *p, struct http_response *ret);
