/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cli.h"
#include "err.h"
#include "json.h"

/* Ctrl-C on a foreground `berth up` (cli/stacks_stop.c): takes the stack down like compose
 * stops its containers, printing each container as it goes; a second Ctrl-C kills what is
 * left. berth keeps no stopped stacks, so the pods are removed (named volumes stay). */
/* The stack's containers, running or not, as {id: name}. */
int stack_containers(const struct cli_ctx *ctx, const char *stack, json_t **ret, struct err **errp);

int stack_stop_foreground(const struct cli_ctx *ctx, const char *stack, struct err **errp);
