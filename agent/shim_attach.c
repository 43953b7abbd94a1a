/* SPDX-License-Identifier: Apache-2.0 */
/* The shim's attach socket: stdin in, output out (see shim_attach.h). Plain poll(2) like the
 * rest of the shim; every fd is non-blocking. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "err.h"
#include "shim_attach.h"
#include "unixsock.h"
#include "xalloc.h"

#define IN_MAX (64u * 1024u) /* stdin bytes waiting for the container */

void shim_attach_init(struct shim_attach *a) {
        *a = (struct shim_attach){.listen_fd = -EBADF, .in_fd = -EBADF};
        for (size_t i = 0; i < SHIM_ATTACH_MAX; i++)
                a->c[i].fd = -EBADF;
}

int shim_attach_listen(struct shim_attach *a, const char *path, int in_fd_take, bool tty,
                       bool stdin_once, struct err **errp) {
        struct sockaddr_un sa;
        _cleanup_close_ int fd = -EBADF, dirfd = -EBADF, in_fd = in_fd_take;

        int r = unix_sockaddr(path, &sa, &dirfd, errp);

        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return err_set(errp, errno, "socket");
        (void)unlink(path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return err_set(errp, errno, "bind '%s'", path);
        (void)chmod(path, 0600);
        if (listen(fd, SHIM_ATTACH_MAX) < 0)
                return err_set(errp, errno, "listen '%s'", path);
        if (in_fd >= 0)
                (void)fcntl(in_fd, F_SETFL, O_NONBLOCK);
        a->listen_fd = TAKE_FD(fd);
        a->in_fd = TAKE_FD(in_fd);
        a->tty = tty;
        a->stdin_once = stdin_once;
        return 0;
}

static void client_drop(struct shim_attach_client *c) {
        c->fd = safe_close(c->fd);
        free(c->q);
        *c = (struct shim_attach_client){.fd = -EBADF};
}

void shim_attach_done(struct shim_attach *a) {
        for (size_t i = 0; i < SHIM_ATTACH_MAX; i++)
                client_drop(&a->c[i]);
        a->listen_fd = safe_close(a->listen_fd);
        a->in_fd = safe_close(a->in_fd);
        free(a->in_buf);
        a->in_buf = NULL;
        a->in_len = 0;
}

static size_t pending(const struct shim_attach_client *c) {
        return c->q_len - c->q_off;
}

bool shim_attach_blocked(const struct shim_attach *a) {
        for (size_t i = 0; i < SHIM_ATTACH_MAX; i++)
                if (a->c[i].fd >= 0 && pending(&a->c[i]) > SHIM_ATTACH_QUEUE_MAX)
                        return true;
        return false;
}

static void q_append(struct shim_attach_client *c, const void *data, size_t len) {
        if (c->q_off == c->q_len)
                c->q_off = c->q_len = 0;
        if (c->q_off > 0 && c->q_off >= c->q_len / 2) {
                memmove(c->q, c->q + c->q_off, c->q_len - c->q_off);
                c->q_len -= c->q_off;
                c->q_off = 0;
        }
        c->q = xrealloc(c->q, c->q_len + len);
        memcpy(c->q + c->q_len, data, len);
        c->q_len += len;
}

/* Writes what a client has queued; false when it had to be dropped. */
static bool client_flush(struct shim_attach_client *c) {
        while (pending(c) > 0) {
                ssize_t n = send(c->fd, c->q + c->q_off, pending(c), MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return true;
                if (n <= 0) {
                        client_drop(c);
                        return false;
                }
                c->q_off += (size_t)n;
        }
        return true;
}

void shim_attach_output(struct shim_attach *a, enum shim_stream s, const char *data, size_t len) {
        unsigned char hdr[8] = {(unsigned char)s,
                                0,
                                0,
                                0,
                                (unsigned char)(len >> 24),
                                (unsigned char)(len >> 16),
                                (unsigned char)(len >> 8),
                                (unsigned char)len};

        for (size_t i = 0; i < SHIM_ATTACH_MAX; i++) {
                struct shim_attach_client *c = &a->c[i];

                if (c->fd < 0 || !c->ready || !(s == SHIM_STDOUT ? c->want_out : c->want_err))
                        continue;
                if (!a->tty)
                        q_append(c, hdr, sizeof(hdr));
                q_append(c, data, len);
                (void)client_flush(c);
        }
}

static void in_append(struct shim_attach *a, const char *data, size_t len) {
        if (a->in_fd < 0 || a->in_close || len == 0)
                return; /* nobody reads it (stdin closed, or never open) */
        a->in_buf = xrealloc(a->in_buf, a->in_len + len);
        memcpy(a->in_buf + a->in_len, data, len);
        a->in_len += len;
}

static void in_flush(struct shim_attach *a) {
        while (a->in_fd >= 0 && a->in_len > 0) {
                ssize_t n = write(a->in_fd, a->in_buf, a->in_len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return;
                if (n <= 0) {
                        /* The container closed its stdin: what it did not take is lost. */
                        a->in_len = 0;
                        a->in_fd = safe_close(a->in_fd);
                        return;
                }
                memmove(a->in_buf, a->in_buf + n, a->in_len - (size_t)n);
                a->in_len -= (size_t)n;
        }
        if (a->in_len == 0 && a->in_close && !a->tty)
                a->in_fd = safe_close(a->in_fd);
}

/* "attach stdin=1 stdout=1 stderr=1 detach=16,17" */
static int parse_header(struct shim_attach_client *c, char *line) {
        char *save = NULL;

        if (strncmp(line, "attach", 6) != 0)
                return -EINVAL;
        c->want_out = c->want_err = true;
        c->keys[0] = 16; /* ^P ^Q */
        c->keys[1] = 17;
        c->n_keys = 2;
        for (char *w = strtok_r(line + 6, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                if (strncmp(w, "stdin=", 6) == 0)
                        c->want_in = w[6] == '1';
                else if (strncmp(w, "stdout=", 7) == 0)
                        c->want_out = w[7] == '1';
                else if (strncmp(w, "stderr=", 7) == 0)
                        c->want_err = w[7] == '1';
                else if (strncmp(w, "detach=", 7) == 0) {
                        char *p = w + 7;

                        c->n_keys = 0;
                        while (*p && c->n_keys < sizeof(c->keys)) {
                                char *end;
                                unsigned long v = strtoul(p, &end, 10);

                                if (end == p || v > 255)
                                        return -EINVAL;
                                c->keys[c->n_keys++] = (unsigned char)v;
                                p = *end == ',' ? end + 1 : end;
                        }
                }
        }
        c->ready = true;
        return 0;
}

/* Client input to stdin, watching for the detach sequence. Returns false once detached. */
static bool client_input(struct shim_attach *a, struct shim_attach_client *c, const char *data,
                         size_t len) {
        size_t start = 0;

        if (!c->want_in)
                return true;
        for (size_t i = 0; i < len; i++) {
                unsigned char b = (unsigned char)data[i];

                if (c->n_keys == 0)
                        break;
                if (b == c->keys[c->matched]) {
                        in_append(a, data + start, i - start);
                        start = i + 1;
                        if (++c->matched == c->n_keys) {
                                client_drop(c); /* detached: stdin stays as it is */
                                return false;
                        }
                        continue;
                }
                if (c->matched > 0) {
                        /* Not the sequence after all: the held keys are input. */
                        in_append(a, (const char *)c->keys, c->matched);
                        c->matched = 0;
                        if (b == c->keys[0]) {
                                in_append(a, data + start, i - start);
                                start = i + 1;
                                c->matched = 1;
                                continue;
                        }
                }
        }
        in_append(a, data + start, len - start);
        in_flush(a);
        return true;
}

static void client_read(struct shim_attach *a, struct shim_attach_client *c) {
        char buf[16384];
        ssize_t n = read(c->fd, buf, sizeof(buf));
        size_t off = 0;

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n < 0) {
                client_drop(c);
                return;
        }
        if (n == 0) {
                if (!c->ready) {
                        client_drop(c);
                        return;
                }
                /* The client's input ended; it still reads the output. */
                c->in_eof = true;
                if (c->want_in && a->stdin_once) {
                        if (a->tty)
                                in_append(a, "\x04", 1); /* ^D: end of input on the console */
                        else
                                a->in_close = true;
                        in_flush(a);
                }
                return;
        }
        while (!c->ready && off < (size_t)n) {
                char ch = buf[off++];

                if (ch == '\n') {
                        c->hdr[c->hdr_len] = '\0';
                        if (parse_header(c, c->hdr) < 0) {
                                client_drop(c);
                                return;
                        }
                } else if (c->hdr_len < sizeof(c->hdr) - 1)
                        c->hdr[c->hdr_len++] = ch;
                else {
                        client_drop(c);
                        return;
                }
        }
        if (c->ready && off < (size_t)n)
                (void)client_input(a, c, buf + off, (size_t)n - off);
}

static void accept_all(struct shim_attach *a) {
        for (;;) {
                int fd = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                size_t i;

                if (fd < 0)
                        return;
                for (i = 0; i < SHIM_ATTACH_MAX && a->c[i].fd >= 0; i++)
                        ;
                if (i == SHIM_ATTACH_MAX) {
                        safe_close(fd);
                        continue;
                }
                a->c[i] = (struct shim_attach_client){.fd = fd};
                /* The daemon sends the header before it lets the container run: read it now,
                 * so this client gets the output from the first byte. */
                client_read(a, &a->c[i]);
        }
}

size_t shim_attach_pollfds(const struct shim_attach *a, struct pollfd *p) {
        size_t n = 0;

        p[n++] = (struct pollfd){.fd = a->listen_fd, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = a->in_len > 0 ? a->in_fd : -1, .events = POLLOUT};
        for (size_t i = 0; i < SHIM_ATTACH_MAX; i++) {
                const struct shim_attach_client *c = &a->c[i];
                short ev = 0;

                if (c->fd >= 0 && !c->in_eof && (!c->want_in || a->in_len < IN_MAX))
                        ev |= POLLIN;
                if (c->fd >= 0 && pending(c) > 0)
                        ev |= POLLOUT;
                p[n++] = (struct pollfd){.fd = ev ? c->fd : -1, .events = ev};
        }
        return n;
}

void shim_attach_handle(struct shim_attach *a, const struct pollfd *p, size_t n) {
        if (n < SHIM_ATTACH_NPOLL)
                return;
        if (p[0].revents)
                accept_all(a);
        if (p[1].revents)
                in_flush(a);
        for (size_t i = 0; i < SHIM_ATTACH_MAX; i++) {
                struct shim_attach_client *c = &a->c[i];

                if (p[2 + i].fd < 0 || c->fd != p[2 + i].fd || !p[2 + i].revents)
                        continue;
                if ((p[2 + i].revents & POLLOUT) && !client_flush(c))
                        continue;
                if (p[2 + i].revents & (POLLIN | POLLHUP | POLLERR))
                        client_read(a, c);
        }
}

static int64_t mono_msec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void shim_attach_finish(struct shim_attach *a, int timeout_msec) {
        int64_t deadline = mono_msec() + timeout_msec;

        for (;;) {
                struct pollfd p[SHIM_ATTACH_MAX];
                size_t n = 0;
                int64_t left = deadline - mono_msec();

                for (size_t i = 0; i < SHIM_ATTACH_MAX; i++)
                        if (a->c[i].fd >= 0 && pending(&a->c[i]) > 0)
                                p[n++] = (struct pollfd){.fd = a->c[i].fd, .events = POLLOUT};
                if (n == 0 || left <= 0)
                        break;
                if (poll(p, n, (int)left) <= 0)
                        continue;
                for (size_t i = 0; i < SHIM_ATTACH_MAX; i++)
                        if (a->c[i].fd >= 0 && pending(&a->c[i]) > 0)
                                (void)client_flush(&a->c[i]);
        }
        shim_attach_done(a);
}
