/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>

#include "cli.h"
#include "err.h"
#include "http_call.h"

/* The CLI's side of the API: one blocking call per request to ctx->host.
 *
 * Errors are ready to print: a daemon that cannot be reached gives -ECONNREFUSED and "Cannot
 * connect to the berth daemon at unix:///run/berth/berth.sock: is 'berth daemon' running?"; an
 * API error gives the API's own message, with its HTTP status mapped to an errno (404 ENOENT,
 * 400 EINVAL, 409 EEXIST, 403 EACCES, 413 EFBIG, others EIO) and its field kept. */

/* Calls method path with an optional JSON body; *ret gets the JSON answer (NULL when the answer
 * is empty or not JSON). ret may be NULL. */
int client_call(const struct cli_ctx *ctx, const char *method, const char *path, const json_t *body,
                json_t **ret, struct err **errp);

/* Same, but hands back the raw 2xx response (for text answers such as /v1/ping). */
int client_call_raw(const struct cli_ctx *ctx, const char *method, const char *path,
                    const json_t *body, struct http_response *ret, struct err **errp);

/* Streams a newline-delimited JSON answer: on_line runs per line. */
int client_stream(const struct cli_ctx *ctx, const char *method, const char *path,
                  const json_t *body, http_line_fn *on_line, void *ud, struct err **errp);

/* Sends the data read from fd as the body (streamed: a file of any size, or a pipe) and
 * parses the JSON answer into *ret (may be NULL). */
int client_upload(const struct cli_ctx *ctx, const char *method, const char *path, int fd,
                  const char *content_type, json_t **ret, struct err **errp);

/* An upgraded call (attach): *ret is the raw stream (http_client.h); API errors as above. */
int client_upgrade(const struct cli_ctx *ctx, const char *method, const char *path,
                   const json_t *body, struct http_raw **ret, bool *ret_upgraded,
                   struct err **errp);

/* The exit code for an error from client_*(): 125 when the daemon could not be reached or
 * failed, 1 for errors the API reported about the request. */
int client_exit_code(int r);

/* `berth X inspect [-f FORMAT] NAME...`: GET prefix/NAME for each name (escaped), printed with
 * fmt_print_all. A name that fails is reported and the others still print; the exit code is
 * the last failure's. what names the command in the "requires an argument" error. */
int client_inspect_each(const struct cli_ctx *ctx, int argc, char **argv, const char *usage,
                        const char *what, const char *prefix);
