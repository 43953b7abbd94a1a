/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Standard base64 (RFC 4648 section 4, with '=' padding), as docker's API carries secret and
 * config data. */

#include <stddef.h>

/* The encoding of n bytes of p, NUL-terminated. */
char *base64_encode(const void *p, size_t n);

/* Decodes s strictly (whitespace is skipped; other characters outside the alphabet, bad padding
 * or an unpadded last group give -EINVAL). *ret is NUL-terminated (not counted in *ret_n) and may
 * hold NULs. */
int base64_decode(const char *s, char **ret, size_t *ret_n);
