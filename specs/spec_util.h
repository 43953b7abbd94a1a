/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "json.h"
#include "yaml_tree.h"

/* Typed accessors over YAML nodes for the loaders. Every failure is an error with the node's
 * position and path ("FILE:LINE:COL: services.web.tty: expected a boolean, got \"maybe\""). */

int y_map(const struct ynode *n, struct err **errp);
int y_seq(const struct ynode *n, struct err **errp);
/* A non-null scalar. */
int y_str(const struct ynode *n, const char **ret, struct err **errp);
/* A scalar or null (ret NULL). */
int y_str_or_null(const struct ynode *n, const char **ret, struct err **errp);
int y_bool(const struct ynode *n, bool *ret, struct err **errp);
int y_int(const struct ynode *n, int64_t min, int64_t max, int64_t *ret, struct err **errp);
int y_number(const struct ynode *n, double *ret, struct err **errp);
/* A list of scalars -> JSON array of strings. */
int y_strv(const struct ynode *n, json_t **ret, struct err **errp);
/* A scalar (one element) or a list of scalars. */
int y_str_or_list(const struct ynode *n, json_t **ret, struct err **errp);
/* A map of scalar values -> JSON object of strings (null values kept as ""). */
int y_str_map(const struct ynode *n, json_t **ret, struct err **errp);
int y_duration_ms(const struct ynode *n, int64_t *ret, struct err **errp);
int y_size(const struct ynode *n, int64_t *ret, struct err **errp);

/* Rejects keys of a map that are not in known (NULL-terminated). allow_ext allows "x-*". When
 * warnings is not NULL, unknown keys are warnings instead of errors. The message suggests the
 * nearest known key. */
int y_check_keys(const struct ynode *n, const char *const *known, bool allow_ext, char ***warnings,
                 struct err **errp);
/* Same, with the word used for unknown keys ("unsupported field" for Kubernetes, where the
 * key is valid upstream but berth does not implement it). */
int y_check_keys_as(const struct ynode *n, const char *const *known, bool allow_ext,
                    char ***warnings, const char *what, struct err **errp);
/* Checks a resource name (service, network, volume ...) used as a map key: letters, digits,
 * '.', '_' and '-', starting with a letter or digit. The error points at the key. */
int y_check_name(const struct ynode *key, const char *what, struct err **errp);
/* Formats the position prefix "FILE:LINE:COL: PATH" of a node for warnings. */
char *y_where(const struct ynode *n);

/* An absolute path for p, relative to the directory of the file n came from. Lexically
 * normalised ("a/./b/../c" -> "a/c"); "~" is home (from env, may be NULL). */
char *y_abs_path(const struct ynode *n, const char *p, const char *home);
char *path_normalize(const char *p);

/* read_file() for stack inputs: only regular files, so that a path naming a FIFO or a device
 * fails at once instead of blocking or reading forever. */
int spec_read_file(const char *path, size_t max, char **ret, size_t *ret_len, struct err **errp);

/* Warnings as collected by the loaders. */
void warn_push(char ***warnings, const struct ynode *n, const char *fmt, ...) _printf_(3, 4);
