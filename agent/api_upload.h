/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

#include "err.h"

struct http_req;

/* Streamed uploads (load, import, build context): a route flagged HTTP_ROUTE_STREAM_BODY spools
 * its body into an unlinked file under dir (O_TMPFILE, so nothing stays behind after a crash),
 * then done(req, fd, ud) runs with the fd rewound; done owns the fd. A write failure (disk full)
 * answers 507 and done does not run. */
typedef void api_upload_done_fn(struct http_req *req, int fd, void *ud);
int api_upload_spool(struct http_req *req, const char *dir, api_upload_done_fn *done, void *ud,
                     struct err **errp);
