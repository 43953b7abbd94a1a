/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
#define _pure_ __attribute__((pure))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)
#define _weak_ __attribute__((weak))

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

#ifndef MIN
#define MIN(a, b)                                                                                  \
        ({                                                                                         \
                __typeof__(a) _a = (a);                                                            \
                __typeof__(b) _b = (b);                                                            \
                _a < _b ? _a : _b;                                                                 \
        })
#endif
#ifndef MAX
#define MAX(a, b)                                                                                  \
        ({                                                                                         \
                __typeof__(a) _a = (a);                                                            \
                __typeof__(b) _b = (b);                                                            \
                _a > _b ? _a : _b;                                                                 \
        })
#endif

#ifndef container_of
#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))
#endif

/* Hands ownership of a pointer over: returns its value and leaves NULL behind. */
#define TAKE_PTR(p)                                                                                \
        ({                                                                                         \
                __typeof__(p) *_pp = &(p);                                                         \
                __typeof__(p) _v = *_pp;                                                           \
                *_pp = NULL;                                                                       \
                _v;                                                                                \
        })

/* Same for file descriptors: leaves -EBADF behind. */
#define TAKE_FD(fd)                                                                                \
        ({                                                                                         \
                int *_pfd = &(fd);                                                                 \
                int _v = *_pfd;                                                                    \
                *_pfd = -EBADF;                                                                    \
                _v;                                                                                \
        })

/* For calls that are not restarted by SA_RESTART (poll, nanosleep, slow read/write). Never for
 * close(). */
#define RETRY_EINTR(expr)                                                                          \
        ({                                                                                         \
                __typeof__(expr) _r;                                                               \
                do                                                                                 \
                        _r = (expr);                                                               \
                while (_r < 0 && errno == EINTR);                                                  \
                _r;                                                                                \
        })

#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MSEC 1000ULL
#define NSEC_PER_USEC 1000ULL
#define NSEC_PER_SEC 1000000000ULL

#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* qsort() that accepts an empty (NULL, 0) array: passing NULL to qsort is undefined behaviour
 * even with 0 elements, and UBSan reports it. Use this everywhere instead of qsort(). */
#include <stdlib.h>
static inline void qsort_safe(void *base, size_t n, size_t size,
                              int (*cmp)(const void *, const void *)) {
        if (n > 1)
                qsort(base, n, size, cmp);
}
