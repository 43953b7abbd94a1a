/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>

#include "cli.h"
#include "err.h"

/* `berth down -v` (cli/stacks_volumes.c): once the stack's containers are gone (bounded wait
 * of wait_s seconds), removes the named volumes the model declares, except external ones. */
int stack_down_volumes(const struct cli_ctx *ctx, const char *stack, const json_t *model,
                       unsigned wait_s, struct err **errp);
