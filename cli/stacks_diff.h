/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdio.h>

#include <jansson.h>

/* Prints what differs between the stored model and a new one, field by field, for the
 * services ("services.api.pod.containers[0].env.V: \"1\" -> \"2\""). Controller records
 * (up, x-rollout) and derived fields (hash) are left out. old_model may be NULL (a new stack). */
void stack_print_diff(FILE *f, const json_t *old_model, const json_t *new_model);
