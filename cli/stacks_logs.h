/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "err.h"
#include "http_client.h"

/* Follows the logs of every container of the stack (new ones as they appear), each line
 * prefixed with "service-slot |", until SIGINT or SIGTERM. The stack keeps running. Returns 1
 * when a signal ended it. */
int stack_follow_logs(const struct http_target *target, const char *stack, struct err **errp);
