/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "macro.h"
#include "unixsock.h"
#include "xalloc.h"

int unix_sockaddr(const char *path, struct sockaddr_un *sa, int *dirfd, struct err **errp) {
        _cleanup_free_ char *dir = NULL;
        const char *slash = strrchr(path, '/'), *name;
        _cleanup_close_ int fd = -EBADF;
        int n;

        *sa = (struct sockaddr_un){.sun_family = AF_UNIX};
        *dirfd = -EBADF;
        if (!path[0])
                return err_setx(errp, EINVAL, "empty socket path");
        if (strlen(path) < sizeof(sa->sun_path)) {
                memcpy(sa->sun_path, path, strlen(path) + 1);
                return (int)sizeof(*sa);
        }
        if (!slash || !slash[1])
                return err_setx(errp, ENAMETOOLONG, "socket path '%s' is too long", path);
        name = slash + 1;
        dir = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
        fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return err_set(errp, errno, "open the directory of socket '%s'", path);
        n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", fd, name);
        if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
                return err_setx(errp, ENAMETOOLONG, "socket name '%s' is too long", name);
        *dirfd = TAKE_FD(fd);
        return (int)sizeof(*sa);
}

int unix_recv_fd(int sock, int flags) {
        char buf[16], cbuf[CMSG_SPACE(sizeof(int))];
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = cbuf,
                            .msg_controllen = sizeof(cbuf)};
        struct cmsghdr *c;
        ssize_t n;
        int fd;

        n = RETRY_EINTR(recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | flags));
        if (n < 0)
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        c = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
        if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
            c->cmsg_len != CMSG_LEN(sizeof(int)))
                return -EPROTO;
        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        return fd;
}
