/* SPDX-License-Identifier: Apache-2.0 */
/* Streamed requests of the controller's reverse channel (node_stream.h). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/close_range.h>

#include "cleanup.h"
#include "http_client.h"
#include "json.h"
#include "log.h"
#include "node_stream.h"
#include "tunnel_req.h"
#include "unixsock.h"
#include "xalloc.h"

#define STREAM_BUF (64u * 1024u) /* per direction: what is in flight between the two ends */

static int engine_connect(const char *url, struct err **errp) {
        struct sockaddr_un sa;
        _cleanup_close_ int dirfd = -EBADF;
        _cleanup_close_ int fd = -EBADF;
        const char *path = url;
        int len;

        if (strncmp(path, "unix://", 7) == 0)
                path += 7;
        len = unix_sockaddr(path, &sa, &dirfd, errp);
        if (len < 0)
                return len;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return err_set(errp, errno, "socket");
        if (connect(fd, (struct sockaddr *)&sa, (socklen_t)len) < 0)
                return err_set(errp, errno, "connect to the engine at '%s'", path);
        return TAKE_FD(fd);
}

static int send_all(struct http_raw *raw, const char *data, size_t len) {
        for (int spins = 0; len > 0;) {
                ssize_t n = http_raw_send(raw, data, len);

                if (n == -EAGAIN) {
                        struct pollfd p = {.fd = http_raw_fd(raw), .events = POLLOUT};

                        if (++spins > 300 || poll(&p, 1, 100) < 0)
                                return -ETIMEDOUT;
                        continue;
                }
                if (n < 0)
                        return (int)n;
                data += n;
                len -= (size_t)n;
        }
        return 0;
}

/* One direction of the splice. */
struct pipe_dir {
        struct http_raw *from, *to;
        char *buf;
        size_t len, off;
        bool eof, shut;
        char *peek; /* optional: keeps the first peek_max bytes that pass */
        size_t peek_len, peek_max;
};

/* Moves what it can without blocking; returns whether anything moved, or a negative errno. */
static int dir_step(struct pipe_dir *d, bool may_read) {
        bool moved = false;

        if (may_read && !d->eof && d->len == 0) {
                ssize_t n = http_raw_recv(d->from, d->buf, STREAM_BUF);

                if (n > 0) {
                        d->len = (size_t)n;
                        d->off = 0;
                        moved = true;
                        if (d->peek_len < d->peek_max) {
                                size_t k = d->peek_max - d->peek_len;

                                k = k < d->len ? k : d->len;
                                memcpy(d->peek + d->peek_len, d->buf, k);
                                d->peek_len += k;
                        }
                } else if (n == 0 || n != -EAGAIN) {
                        d->eof = true; /* a reset reads as the end of this direction */
                        moved = true;
                }
        }
        while (d->off < d->len) {
                ssize_t n = http_raw_send(d->to, d->buf + d->off, d->len - d->off);

                if (n == -EAGAIN)
                        break;
                if (n < 0)
                        return (int)n;
                d->off += (size_t)n;
                moved = true;
        }
        if (d->off == d->len)
                d->off = d->len = 0;
        if (d->eof && d->len == 0 && !d->shut) {
                (void)http_raw_shutdown_write(d->to);
                d->shut = true;
                moved = true;
        }
        return moved;
}

/* Relays between the controller's stream (ctl) and the engine's connection (eng) until the
 * engine's answer has been passed on whole. */
static void splice(struct http_raw *ctl, struct http_raw *eng, bool upgrade) {
        _cleanup_free_ char *b0 = xmalloc(STREAM_BUF), *b1 = xmalloc(STREAM_BUF);
        char head[12];
        struct pipe_dir out = {
                .from = eng, .to = ctl, .buf = b0, .peek = head, .peek_max = sizeof(head)};
        struct pipe_dir in = {.from = ctl, .to = eng, .buf = b1};
        bool gate_open = false; /* client bytes reach the engine only once it answered 101 */

        for (;;) {
                int r0, r1 = 0;
                struct pollfd p[2];
                size_t np = 0;

                r0 = dir_step(&out, true);
                if (r0 < 0)
                        return; /* the controller (the client) is gone */
                /* Only an engine that switched protocols gets the client's bytes (exec -i's
                 * stdin); any other answer is the whole exchange. */
                if (upgrade && !gate_open && out.peek_len == sizeof(head))
                        gate_open = memcmp(head, "HTTP/1.1 101", sizeof(head)) == 0;
                if (gate_open) {
                        r1 = dir_step(&in, true);
                        if (r1 < 0)
                                return;
                } else {
                        /* Nothing goes in; the client's end of the stream (EOF) or a reset
                         * means it went away: stop following at once. */
                        char junk[512];
                        ssize_t n = http_raw_recv(ctl, junk, sizeof(junk));

                        if (n == 0 || (n < 0 && n != -EAGAIN))
                                return;
                }
                if (out.shut)
                        return; /* the whole answer went to the controller */
                if (r0 > 0 || r1 > 0)
                        continue;
                if (out.len > 0)
                        p[np++] = (struct pollfd){.fd = http_raw_fd(ctl), .events = POLLOUT};
                else
                        p[np++] = (struct pollfd){.fd = http_raw_fd(eng), .events = POLLIN};
                if (!gate_open)
                        p[np++] = (struct pollfd){.fd = http_raw_fd(ctl), .events = POLLIN};
                else if (gate_open && in.len > 0)
                        p[np++] = (struct pollfd){.fd = http_raw_fd(eng), .events = POLLOUT};
                else if (gate_open && !in.eof)
                        p[np++] = (struct pollfd){.fd = http_raw_fd(ctl), .events = POLLIN};
                if (http_raw_has_pending(ctl) || http_raw_has_pending(eng))
                        continue;
                if (poll(p, np, -1) < 0 && errno != EINTR)
                        return;
        }
}

/* The helper process: dial back, connect to the engine, relay, exit. */
static _noreturn_ void stream_child(const struct http_target *ctl, const char *node, uint64_t rid,
                                    const char *engine, const json_t *spec) {
        _cleanup_free_ char *path = xasprintf("/v1/nodes/%s/tunnel/%" PRIu64 "/stream", node, rid);
        _cleanup_free_ char *request = tunnel_req_text(
                json_get_str(spec, "method", "GET"), json_get_str(spec, "path", "/"),
                json_get_str(spec, "body", NULL), json_get_bool(spec, "upgrade", false));
        _cleanup_err_ struct err *e = NULL;
        struct http_response resp = {};
        struct http_raw *craw = NULL, *eraw = NULL;
        bool upgrade = json_get_bool(spec, "upgrade", false);
        int fd, r;

        r = http_upgrade(ctl,
                         &(struct http_call){.method = "POST", .path = path, .timeout_ms = 30000},
                         &craw, &resp, &e);
        if (r < 0 || !craw) {
                log_warn(node, "Tunnel stream %" PRIu64 ": the controller refused it: %s", rid,
                         r < 0       ? err_msg(e)
                         : resp.body ? resp.body
                                     : "");
                _exit(1);
        }
        http_response_done(&resp);
        fd = engine_connect(engine, &e);
        if (fd < 0) {
                _cleanup_free_ char *msg =
                        xasprintf("{\"message\":\"the node's engine is not reachable\"}");
                _cleanup_free_ char *ans =
                        xasprintf("HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\n"
                                  "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                  strlen(msg), msg);

                log_warn(node, "Tunnel stream %" PRIu64 ": %s", rid, err_msg(e));
                (void)send_all(craw, ans, strlen(ans));
                http_raw_free(craw);
                _exit(1);
        }
        eraw = http_raw_new(fd, NULL, NULL, NULL, 0);
        if (send_all(eraw, request, strlen(request)) >= 0)
                splice(craw, eraw, upgrade);
        http_raw_free(eraw);
        http_raw_free(craw);
        _exit(0);
}

int node_stream_start(const struct http_target *ctl, const char *node, uint64_t rid,
                      const char *engine, const json_t *spec, pid_t *ret_pid, struct err **errp) {
        pid_t pid;

        if (tunnel_req_check(json_get_str(spec, "method", "GET"), json_get_str(spec, "path", NULL),
                             errp) < 0)
                return -EPERM;
        pid = fork();
        if (pid < 0)
                return err_set(errp, errno, "fork a tunnel stream");
        if (pid == 0) {
                sigset_t none;

                /* Nothing of the daemon's: its descriptors (a copy would keep its connections
                 * open), its signal handlers and mask. */
                (void)close_range(3, ~0U, 0);
                (void)prctl(PR_SET_NAME, "berth-tunnel");
                sigemptyset(&none);
                (void)sigprocmask(SIG_SETMASK, &none, NULL);
                signal(SIGTERM, SIG_DFL);
                signal(SIGINT, SIG_DFL);
                signal(SIGHUP, SIG_DFL);
                signal(SIGCHLD, SIG_DFL);
                signal(SIGPIPE, SIG_IGN);
                stream_child(ctl, node, rid, engine, spec);
        }
        if (ret_pid)
                *ret_pid = pid;
        return 0;
}
