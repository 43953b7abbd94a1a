/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

/* Value parsers shared by the compose and Kubernetes loaders. They never know about files or
 * positions: on failure they return -EINVAL and put a message ("expected ..., got ...") in
 * *ret_msg (allocated) for the caller to prefix with the position. */

/* Go-style durations ("1m30s", "500ms", "1.5h", "0") to milliseconds. */
int parse_duration_ms(const char *s, int64_t *ret, char **ret_msg);
/* Compose byte sizes ("128m", "1gb", "512", "1.5g"), base 1024, to bytes. */
int parse_size(const char *s, int64_t *ret, char **ret_msg);
/* Kubernetes quantities ("500m", "128Mi", "1G", "2", "1e3") to a number. */
int parse_quantity(const char *s, double *ret, char **ret_msg);
/* A port number 1..65535 (0 allowed when allow_zero). */
int parse_port_number(const char *s, bool allow_zero, int *ret, char **ret_msg);
/* A compose short port spec "[HOST_IP:][HOST[-HOST]:]CONTAINER[-CONTAINER][/PROTO]"; appends
 * one model port object per container port to ports. */
int parse_port_short(const char *s, json_t *ports, char **ret_msg);
/* "tcp" | "udp" | "sctp" */
bool protocol_valid(const char *s);
/* Splits a command line like a POSIX shell (quotes and backslashes; no expansion). */
int shell_split(const char *s, char ***ret, char **ret_msg);
/* Checks and normalises an image reference: "nginx" -> "docker.io/library/nginx:latest". */
int image_ref_normalize(const char *s, char **ret, char **ret_msg);
/* Edit distance (bounded inputs: strings longer than 64 bytes compare as far apart). */
size_t levenshtein(const char *a, const char *b);
/* Best "did you mean" candidate among a NULL-terminated list, or NULL when none is close. */
const char *did_you_mean(const char *word, const char *const *candidates);

/* Variable lookup for interpolation: returns the value or NULL when unset. */
typedef const char *(*var_lookup_fn)(const char *name, void *userdata);
/* Compose interpolation: ${VAR} ${VAR:-d} ${VAR-d} ${VAR:?msg} ${VAR?msg} ${VAR:+x} ${VAR+x}
 * $VAR and $$. Unset variables without a default become "" and add a warning (strv) when
 * warnings is not NULL. */
int interpolate(const char *s, var_lookup_fn lookup, void *userdata, char **ret, char **ret_msg,
                char ***warnings);
/* Parses a .env / env_file buffer into "KEY=VALUE" entries (in order, later ones win when
 * looked up from the end). Values in double quotes or unquoted are interpolated with lookup
 * (which may be NULL); single-quoted values are literal. */
int envfile_parse(const char *buf, const char *fname, var_lookup_fn lookup, void *userdata,
                  char ***ret, struct err **errp);
/* Looks up KEY in a "KEY=VALUE" list, last match wins. */
const char *env_list_get(char *const *l, const char *key);
