/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xalloc.h"

void oom(void) {
        static const char msg[] = "berth: out of memory\n";
        ssize_t r _unused_ = write(STDERR_FILENO, msg, sizeof(msg) - 1);
        abort();
}

void *xmalloc(size_t n) {
        void *p = malloc(n ? n : 1);
        if (!p)
                oom();
        return p;
}

void *xcalloc(size_t n, size_t size) {
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                oom();
        return p;
}

void *xrealloc(void *p, size_t n) {
        void *q = realloc(p, n ? n : 1);
        if (!q)
                oom();
        return q;
}

void *xreallocarray(void *p, size_t n, size_t size) {
        if (size && n > SIZE_MAX / size)
                oom();
        return xrealloc(p, n * size);
}

char *xstrdup(const char *s) {
        char *r;
        if (!s)
                return NULL;
        r = strdup(s);
        if (!r)
                oom();
        return r;
}

char *xstrndup(const char *s, size_t n) {
        char *r;
        if (!s)
                return NULL;
        r = strndup(s, n);
        if (!r)
                oom();
        return r;
}

void *xmemdup(const void *p, size_t n) {
        void *r = xmalloc(n);
        if (n)
                memcpy(r, p, n);
        return r;
}

char *xvasprintf(const char *fmt, va_list ap) {
        char *r = NULL;
        if (vasprintf(&r, fmt, ap) < 0)
                oom();
        return r;
}

char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *r;

        va_start(ap, fmt);
        r = xvasprintf(fmt, ap);
        va_end(ap);
        return r;
}

void *xgrow(void *p, size_t *allocated, size_t need, size_t sz) {
        size_t n;

        if (need <= *allocated)
                return p;
        n = MAX(need, *allocated * 2);
        n = MAX(n, (size_t)8);
        p = xreallocarray(p, n, sz);
        *allocated = n;
        return p;
}
