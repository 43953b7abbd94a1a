/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* GET /v1/stacks/{name}[?watch=REV&timeout=MS]: the stack's summary (controller_stacks) with
 * "revision", the store revision it reflects. With watch=REV the request is parked until the
 * stack, its pod records or any node's report changed after REV (or timeout, default 30 s,
 * max 300 s, passes), then answered the same way: `berth up --wait` follows a stack without
 * polling. A stack that is gone answers 404 at once. */

#include <stdint.h>

struct controller;
struct http_req;

void stack_get_or_watch(struct controller *c, struct http_req *req);
/* Answers every parked request and drops the store watches (controller_free). */
void stack_watch_free(struct controller *c);
