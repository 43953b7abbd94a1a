/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* NULL-terminated string vectors that own their strings. */
char **strv_free(char **l);
void strv_freep(char ***l);
#define _cleanup_strv_ _cleanup_(strv_freep)
size_t strv_length(char *const *l);
/* Appends a copy of s; *l may be NULL. */
void strv_push(char ***l, const char *s);
/* Appends s, taking ownership of it. */
void strv_push_take(char ***l, char *s);
char **strv_copy(char *const *l);
bool strv_contains(char *const *l, const char *s);
/* Joins with sep; returns an allocated string ("" for an empty vector). */
char *strv_join(char *const *l, const char *sep);
/* Splits s on any of the characters in seps, skipping empty fields. */
char **strv_split(const char *s, const char *seps);

#define STRV_FOREACH(s, l) for (char *const *s = (l); s && *s; s++)

bool str_startswith(const char *s, const char *prefix);
bool str_endswith(const char *s, const char *suffix);
static inline bool streq_ptr(const char *a, const char *b) {
        return a == b || (a && b && __builtin_strcmp(a, b) == 0);
}
#define streq(a, b) (__builtin_strcmp((a), (b)) == 0)

/* strcmp of two (char *) array elements: the comparator that sorts a string array. */
int strv_cmp(const void *a, const void *b);
