/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>
#include <stdio.h>

/* What `berth up` says about model fields the engine cannot honour (cli/stacks_check.c; the
 * list is docs/orchestrator.md "Model fields on containers"): one "warning:" line per field,
 * naming it. The agent refuses the fatal ones at pod create too. Returns how many. */
unsigned stack_warn_unsupported(FILE *f, const json_t *model);
