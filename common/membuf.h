/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <string.h>

#include "xalloc.h"

/* A growing byte buffer, always with room for a NUL after the data. */
struct membuf {
        char *s;
        size_t len, cap;
};

static inline void membuf_add(struct membuf *b, const void *p, size_t n) {
        XGROW(b->s, b->cap, b->len + n + 1);
        memcpy(b->s + b->len, p, n);
        b->len += n;
}
