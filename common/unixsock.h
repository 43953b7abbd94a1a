/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Unix socket addresses for paths of any length. sun_path holds 107 bytes, and a daemon whose
 * run directory is deep (a test's temporary directory, a long --run) puts its shims' sockets
 * past that: a longer path is reached through an O_PATH descriptor of its directory, as
 * "/proc/self/fd/N/NAME", which bind() and connect() resolve like the full path. */

#include <sys/socket.h>
#include <sys/un.h>

#include "err.h"

/* Fills *sa for path and returns its length for bind/connect. *dirfd is -EBADF, or the
 * directory's descriptor the address goes through: keep it open until bind/connect returned,
 * then close it. A name (the last component) that does not fit on its own is ENAMETOOLONG. */
int unix_sockaddr(const char *path, struct sockaddr_un *sa, int *dirfd, struct err **errp);

/* Receives one descriptor sent with SCM_RIGHTS, close-on-exec. flags: 0 or MSG_DONTWAIT.
 * Returns it; -EAGAIN when a non-blocking socket has nothing yet; -EPROTO when the peer closed
 * or sent a message without exactly one descriptor; another -errno when recvmsg fails. */
int unix_recv_fd(int sock, int flags);
