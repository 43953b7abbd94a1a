/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "err.h"
#include "xalloc.h"

static int err_new(struct err **errp, int code, char *msg) {
        struct err *e;

        if (code <= 0)
                code = EIO;
        if (!errp) {
                free(msg);
                return -code;
        }
        if (*errp) {
                /* Set exactly once: a second error is a programming mistake; keep the first. */
                free(msg);
                return -(*errp)->code;
        }
        e = xnew0(struct err, 1);
        e->code = code;
        e->msg = msg;
        *errp = e;
        return -code;
}

int err_set(struct err **errp, int code, const char *fmt, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;

        if (code < 0)
                code = -code;
        va_start(ap, fmt);
        m = xvasprintf(fmt, ap);
        va_end(ap);
        return err_new(errp, code, xasprintf("%s: %s", m, strerror(code ? code : EIO)));
}

int err_setx(struct err **errp, int code, const char *fmt, ...) {
        va_list ap;
        char *m;

        if (code < 0)
                code = -code;
        va_start(ap, fmt);
        m = xvasprintf(fmt, ap);
        va_end(ap);
        return err_new(errp, code, m);
}

int err_wrap(struct err **errp, const char *fmt, ...) {
        _cleanup_free_ char *m = NULL;
        va_list ap;
        char *n;

        if (!errp || !*errp)
                return -EIO;
        va_start(ap, fmt);
        m = xvasprintf(fmt, ap);
        va_end(ap);
        n = xasprintf("%s: %s", m, (*errp)->msg ? (*errp)->msg : "unknown error");
        free((*errp)->msg);
        (*errp)->msg = n;
        return -(*errp)->code;
}

void err_set_field(struct err **errp, const char *field) {
        if (!errp || !*errp || (*errp)->field || !field)
                return;
        (*errp)->field = xstrdup(field);
}

struct err *err_free(struct err *e) {
        int saved = errno;

        if (e) {
                free(e->msg);
                free(e->field);
                free(e);
        }
        errno = saved;
        return NULL;
}

void err_freep(struct err **e) {
        if (e)
                *e = err_free(*e);
}

int err_move(struct err **dst, struct err *src) {
        int code;

        if (!src)
                return -EIO;
        code = src->code;
        if (!dst || *dst) {
                err_free(src);
                return dst && *dst ? -(*dst)->code : -code;
        }
        *dst = src;
        return -code;
}
