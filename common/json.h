/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* jansson >= 2.14 ships json_decrefp() for exactly this purpose. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* Parses a buffer; errors name `what` and jansson's line/column. */
int json_parse(const char *buf, size_t len, const char *what, json_t **ret, struct err **errp);
/* Loads a JSON file of at most max bytes. */
int json_load_path(const char *path, size_t max, json_t **ret, struct err **errp);
/* Writes compact JSON atomically (write_file_atomic). */
int json_save_path(const char *path, const json_t *j, struct err **errp);
/* The same through write_file_replace (no fsync): see fileio.h for when that is right. */
int json_replace_path(const char *path, const json_t *j, struct err **errp);
/* Dumps to an allocated string (compact, keys in insertion order), with a trailing newline
 * when nl is true. */
char *json_dump_str(const json_t *j, bool nl);

/* Typed getters; they return the default when the key is missing or of another type. */
const char *json_get_str(const json_t *o, const char *key, const char *def);
int64_t json_get_int(const json_t *o, const char *key, int64_t def);
bool json_get_bool(const json_t *o, const char *key, bool def);

/* Sets key to a string, or to null when s is NULL. */
void json_set_str(json_t *o, const char *key, const char *s);
