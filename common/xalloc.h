/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "macro.h"

/* Allocation that aborts on out-of-memory (there is no sane recovery in a container engine's
 * bookkeeping paths). Bound user-controlled sizes before calling these. */
_noreturn_ void oom(void);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
char *xvasprintf(const char *fmt, va_list ap) _printf_(1, 0);

#define xnew(type, n) ((type *)xreallocarray(NULL, (n), sizeof(type)))
#define xnew0(type, n) ((type *)xcalloc((n), sizeof(type)))

/* Grows *p so that it holds at least need elements of size sz; *allocated tracks capacity. */
void *xgrow(void *p, size_t *allocated, size_t need, size_t sz);
#define XGROW(p, allocated, need) ((p) = xgrow((p), &(allocated), (need), sizeof(*(p))))
