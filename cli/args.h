/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <jansson.h>

/* Command-line values shared by several commands. Both print docker's message for a bad value
 * to stderr and return -EXIT_USAGE; 0 on success. */

/* "K=V" (a --label or --opt named flag) into obj: obj[K] = V. The key must not be empty. */
int cli_kv_add(json_t *obj, const char *flag, const char *s);

/* A --filter "K=V" appended to filters[K] (an array, docker's filters JSON). keys: the accepted
 * keys (NULL: any), keys_text names them in the error ("name, label or id"). */
int cli_filter_add(json_t *filters, const char *s, const char *const *keys, const char *keys_text);
