/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "err.h"

struct daemon;
struct http_req;

/* Work of a request done in a forked child (STYLE C11), so that a long pull, load or copy never
 * blocks the daemon's loop. The child runs run(d, args, out_fd, &result, &err) and leaves with
 * _exit; it may write newline-delimited JSON progress lines to out_fd (api_job_emit) and then
 * writes {"result": ...} or {"error": {"message", "errno"}}. The child dies with the daemon
 * (PDEATHSIG) and does not hold the daemon's root lock.
 *
 * In the daemon: with stream, the reply is an NDJSON stream and every line is forwarded as it
 * comes. Once the child's pipe is closed, done(req, last, ud) runs with the last line (NULL when
 * the child died without one): it answers the request (or ends the stream) and frees ud. args is
 * owned by the call; the child inherits every fd the caller holds at the call. */
typedef int api_job_fn(struct daemon *d, json_t *args, int out_fd, json_t **ret, struct err **errp);
typedef void api_job_done_fn(struct http_req *req, json_t *last, void *ud);

void api_job_start(struct daemon *d, struct http_req *req, api_job_fn *run, json_t *args,
                   bool stream, api_job_done_fn *done, void *ud);

/* Child side: one JSON line to out_fd. */
void api_job_emit(int fd, const json_t *j);

/* done's common answer: the "error" object of last as an API error, its "result" as 200 JSON, or
 * 500 when the child died without an answer. */
void api_job_reply(struct http_req *req, json_t *last);
