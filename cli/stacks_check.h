/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdio.h>

#include "err.h"

/* What `berth up` says about model fields the engine cannot honour (cli/stacks_check.c; the
 * list is docs/orchestrator.md "Model fields on containers"): one "warning:" line per field,
 * naming it. The agent refuses the fatal ones at pod create too. Returns how many. */
unsigned stack_warn_unsupported(FILE *f, const json_t *model);

/* Secrets and configs with `environment: VAR` take the variable's value from this process
 * (the `up` that reads the stack, as compose does) as inline `content`, so agents need no
 * access to it. An unset variable is an error naming the field. */
#define ENV_SOURCE_MAX (1024 * 1024)
int stack_resolve_env_sources(json_t *model, struct err **errp);
