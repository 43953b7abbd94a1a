/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "macro.h"

/* Destructors for cleanup attributes (STYLE C5). Each accepts NULL / -1 and preserves errno. */
static inline void freep(void *p) {
        int saved = errno;
        free(*(void **)p);
        errno = saved;
}
static inline void freep_char(char **p) {
        freep(p);
}
/* Closes an fd without retrying on EINTR (STYLE C8); returns -EBADF for "p = safe_close(p)". */
static inline int safe_close(int fd) {
        int saved = errno;
        if (fd >= 0)
                (void)close(fd);
        errno = saved;
        return -EBADF;
}
static inline void closep(int *fd) {
        *fd = safe_close(*fd);
}
static inline void fclosep(FILE **f) {
        int saved = errno;
        if (*f)
                fclose(*f);
        *f = NULL;
        errno = saved;
}
static inline void closedirp(DIR **d) {
        int saved = errno;
        if (*d)
                closedir(*d);
        *d = NULL;
        errno = saved;
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)

/* Closes every fd in a pair (pipes, socketpairs). */
static inline void close_pairp(int (*p)[2]) {
        (*p)[0] = safe_close((*p)[0]);
        (*p)[1] = safe_close((*p)[1]);
}
#define _cleanup_close_pair_ _cleanup_(close_pairp)
