/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* Reads exactly n bytes unless EOF comes first; returns bytes read or -errno. */
ssize_t fd_read_full(int fd, void *buf, size_t n);
/* Writes all n bytes; returns 0 or -errno. */
int fd_write_full(int fd, const void *buf, size_t n);

/* Reads a whole file of at most max bytes (NUL-terminated). Larger files give -EFBIG. */
int read_file(const char *path, size_t max, char **ret, size_t *ret_len, struct err **errp);
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len,
                 struct err **errp);

/* Atomic replacement (STYLE C17): writes path.new, fsyncs it, renames it over path, fsyncs the
 * directory. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                      struct err **errp);

/* The same replacement by rename, without any fsync: readers see the old or the new content,
 * never a partial file, but after a power loss the old one (or, on file systems that do not
 * order data before renames, an empty one) may come back. Only for files that are rebuilt from
 * other state before they are used (a container's hosts file, its OCI bundle), runtime state
 * on tmpfs, and records whose loss the caller reconciles. Costs a few ms less per file than
 * write_file_atomic on a disk (docs/bench.md). */
int write_file_replace(const char *path, const void *data, size_t len, mode_t mode,
                       struct err **errp);

/* mkdir -p; existing directories are fine. */
int mkdir_p(const char *path, mode_t mode, struct err **errp);

/* Removes a tree without crossing into other file systems (mount points are left alone and
 * reported as EBUSY). A missing path is success. */
int rm_rf(const char *path, struct err **errp);

/* Monotonic and wall clocks in microseconds. */
uint64_t now_usec(void);
uint64_t realtime_usec(void);

/* Random hex id of 2*nbytes characters (getrandom). */
char *random_hex(size_t nbytes);

/* p made absolute against the current directory (a copy when it already is); NULL with errno
 * set when the current directory cannot be read. */
char *path_absolute(const char *p);
