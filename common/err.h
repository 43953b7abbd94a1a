/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "macro.h"

/* The one error type of berth (STYLE C3). A fallible function returns a negative errno and sets
 * *errp exactly once; on success *errp is untouched. errp may be NULL when the caller does not
 * want the details. Whoever consumes the error frees it. */
struct err {
        int code;  /* positive errno, never 0 */
        char *msg; /* "outer context: inner context: root cause" */
        /* Optional machine-readable location for API/validation errors. */
        char *field;
};

/* Sets *errp to a new error "fmt: strerror(code)" for errno-derived errors. Returns -code. */
int err_set(struct err **errp, int code, const char *fmt, ...) _printf_(3, 4);
/* Sets *errp to a new error with exactly the message given (no strerror suffix). Returns -code. */
int err_setx(struct err **errp, int code, const char *fmt, ...) _printf_(3, 4);
/* Prepends "fmt: " to the message of *errp. Returns -(*errp)->code (or -EIO if *errp is NULL). */
int err_wrap(struct err **errp, const char *fmt, ...) _printf_(2, 3);
/* Records a field path ("services.web.ports[0]") on the error; keeps the first one set. */
void err_set_field(struct err **errp, const char *field);
struct err *err_free(struct err *e);
void err_freep(struct err **e);
/* Moves an error: *dst takes src (if *dst is already set, src is freed). Returns -code. */
int err_move(struct err **dst, struct err *src);

#define _cleanup_err_ _cleanup_(err_freep)

static inline const char *err_msg(const struct err *e) {
        return e && e->msg ? e->msg : "unknown error";
}
