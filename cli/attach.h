/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include <jansson.h>

#include "cli.h"
#include "err.h"

/* Attaching a terminal (or pipes) to a container (cli/attach.c). */

struct attach_opts {
        bool in;                 /* forward our stdin */
        bool tty;                /* the container has a console: raw bytes, raw terminal mode */
        const char *detach_keys; /* docker syntax, "ctrl-p,ctrl-q" when NULL */
};

struct cli_attach;

/* Opens POST /v1/containers/ID/attach (upgraded). Works before the start too: the daemon then
 * connects it when the container starts, so nothing of the output is missed. */
int cli_attach_open(const struct cli_ctx *ctx, const char *id, const struct attach_opts *o,
                    struct cli_attach **ret, struct err **errp);
/* Relays until the container's output ends: stdin to the container (its EOF half-closes),
 * output to stdout/stderr (demultiplexed without a console). With a console and a terminal on
 * stdin: raw mode (restored before returning) and the window size sent now and on SIGWINCH.
 * Returns 1 when the user detached with the detach keys, 0 when the output ended, or a negative
 * errno. Frees a. */
int cli_attach_relay(const struct cli_ctx *ctx, struct cli_attach *a, struct err **errp);
void cli_attach_free(struct cli_attach *a);
/* exec -i: POST path (the exec route) with body, upgraded; stdin forwarded. */
int cli_attach_open_exec(const struct cli_ctx *ctx, const char *path, const json_t *body,
                         struct cli_attach **ret, struct err **errp);
/* cli_attach_relay() that also reads the exit record (frame stream 3, {"ExitCode":N}) into
 * *ret_code (-1 without one). */
int cli_attach_relay_code(const struct cli_ctx *ctx, struct cli_attach *a, int *ret_code,
                          struct err **errp);
/* exec -t: POST /v1/exec/EXEC_ID/start (upgraded, raw console bytes) with body start; resizes
 * go to /v1/exec/EXEC_ID/resize; the detach keys (o->detach_keys) end the relay with 1. Relay
 * with cli_attach_relay(), then read the exit code from GET /v1/exec/EXEC_ID/json. */
int cli_attach_open_exec_tty(const struct cli_ctx *ctx, const char *exec_id, const json_t *start,
                             const struct attach_opts *o, struct cli_attach **ret,
                             struct err **errp);
/* The terminal's size on stdin or stdout; false without one. */
bool cli_attach_console_size(unsigned *ret_h, unsigned *ret_w);

/* `berth attach` */
int cli_cmd_attach(const struct cli_ctx *ctx, int argc, char **argv);
