/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#include "err.h"
#include "http_call.h"
#include "json.h"

/* `berth up` in the foreground, in the thin berth (stacks_follow.c): follows the logs of every
 * container of the stack (new ones as they appear), each line prefixed with "service-slot |",
 * until SIGINT or SIGTERM, over the daemon's unix socket with poll(2) and common/uhttp.c (no
 * libcurl, no libev). The stack keeps running. Returns 1 when a signal ended it. berth-engine
 * keeps stack_follow_logs (stacks_logs.c, libcurl) for https hosts. */
int stack_follow_logs_unix(const struct http_target *target, const char *stack, struct err **errp);

/* Shared by both followers. */
/* "/v1/containers?filters=..." listing the stack's running containers. */
char *stack_log_list_path(const char *stack);
/* "service-slot" from a container of that list. */
char *stack_log_prefix(const json_t *container);
/* Prints one line of a container's log stream (a JSON object with "log") after the prefix;
 * anything else is skipped. */
void stack_log_print(const char *prefix, const char *line, size_t len);
