/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <ev.h>

#include "err.h"
#include "http_call.h"

/* HTTP client on libcurl: blocking calls (unix:// hosts go to common/uhttp.c, https:// ones to
 * curl's easy interface), and curl multi driven by a libev loop for the daemons (STYLE C11). */

/* The calls of http_transport_full (http_call.h says what they return). */
int http_request(const struct http_target *t, const struct http_call *call,
                 struct http_response *ret, struct err **errp);
int http_upgrade(const struct http_target *t, const struct http_call *call,
                 struct http_raw **ret_raw, struct http_response *ret_resp, struct err **errp);
extern const struct http_transport http_transport_full;

struct http_multi;
struct http_xfer;

/* r is 0 or the negative errno of a transport failure (e says why); resp and e are borrowed and
 * freed when the callback returns. */
typedef void http_done_fn(int r, const struct http_response *resp, const struct err *e, void *ud);

int http_multi_new(struct ev_loop *loop, struct http_multi **ret, struct err **errp);
/* Aborts transfers still running without calling their callbacks. */
struct http_multi *http_multi_free(struct http_multi *m);
void http_multi_freep(struct http_multi **m);

/* Starts a request; done runs from the loop when it ends. The call's strings are copied. Returns
 * a handle valid until done runs or the transfer is cancelled. */
int http_multi_request(struct http_multi *m, const struct http_target *t,
                       const struct http_call *call, http_done_fn *done, void *ud,
                       struct http_xfer **ret, struct err **errp);
/* Aborts a running transfer; its callback does not run. */
void http_multi_cancel(struct http_multi *m, struct http_xfer *x);
unsigned http_multi_running(const struct http_multi *m);
