/* SPDX-License-Identifier: Apache-2.0 */
/* Throughput of the API's streaming paths (berth-attach) on a unix socket, medians of 3 runs:
 *   upload   a streamed request body (HTTP_ROUTE_STREAM_BODY, client stream_body from a file)
 *   upgrade  an upgraded connection echoing the bytes back (attach/exec path, both directions)
 *   raw      a plain unix socket pair copy of the same size (the ceiling, no HTTP)
 * The server runs on a libev loop in this process, the client in a forked child.
 * Usage: build/bench/http-stream [MiB] */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "fileio.h"
#include "http_client.h"
#include "http_server.h"
#include "xalloc.h"

static double now_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void up_chunk(struct http_req *req, const char *data, size_t len, void *ud) {
        (void)req;
        (void)data;
        *(size_t *)ud += len;
}

static void up_end(struct http_req *req, void *ud) {
        char s[32];

        snprintf(s, sizeof(s), "%zu", *(size_t *)ud);
        free(ud);
        http_reply(req, 200, "text/plain", s, strlen(s));
}

static void h_upload(struct http_req *req, void *ud) {
        (void)ud;
        http_req_body_stream(req, up_chunk, up_end, xnew0(size_t, 1));
}

static void echo_data(struct http_req *req, const char *data, size_t len, void *ud) {
        (void)ud;
        (void)http_upgraded_write(req, data, len);
        if (http_upgraded_pending(req) > 1024 * 1024)
                http_upgraded_pause(req, true);
}

static void echo_drain(struct http_req *req, void *ud) {
        (void)ud;
        http_upgraded_pause(req, false);
}

static void echo_eof(struct http_req *req, void *ud) {
        (void)ud;
        http_upgraded_end(req);
}

static const struct http_upgrade_ops echo_ops = {
        .on_data = echo_data, .on_eof = echo_eof, .on_drain = echo_drain};

static void h_echo(struct http_req *req, void *ud) {
        (void)ud;
        http_req_upgrade(req, "application/octet-stream", &echo_ops, NULL);
}

static const struct http_route routes[] = {
        {"PUT", "/upload", h_upload, HTTP_ROUTE_STREAM_BODY, 0},
        {"POST", "/echo", h_echo},
        {},
};

/* Child: one transfer, prints the seconds it took on fd out. */
static double client_upload(const char *host, int file_fd) {
        struct http_target t = {.host = host};
        struct http_response resp = {};
        double t0 = now_sec();
        int r;

        (void)lseek(file_fd, 0, SEEK_SET);
        r = http_request(&t,
                         &(struct http_call){.method = "PUT",
                                             .path = "/upload",
                                             .stream_body = true,
                                             .body_fd = file_fd,
                                             .content_type = "application/octet-stream"},
                         &resp, NULL);
        if (r < 0 || resp.status != 200)
                t0 = -1e9;
        http_response_done(&resp);
        return now_sec() - t0;
}

static double client_upgrade(const char *host, size_t total) {
        _cleanup_(http_raw_freep) struct http_raw *raw = NULL;
        struct http_target t = {.host = host};
        struct http_response resp = {};
        _cleanup_free_ char *buf = xmalloc(65536);
        size_t sent = 0, got = 0;
        bool shut = false;
        double t0 = now_sec();

        memset(buf, 'x', 65536);
        if (http_upgrade(&t, &(struct http_call){.path = "/echo"}, &raw, &resp, NULL) < 0 || !raw)
                return -1;
        http_response_done(&resp);
        for (;;) {
                struct pollfd p = {.fd = http_raw_fd(raw), .events = POLLIN};
                ssize_t n;

                if (sent < total)
                        p.events |= POLLOUT;
                else if (!shut) {
                        (void)http_raw_shutdown_write(raw);
                        shut = true;
                }
                if (poll(&p, 1, 10000) <= 0)
                        return -1;
                if (sent < total) {
                        n = http_raw_send(raw, buf, MIN((size_t)65536, total - sent));
                        if (n > 0)
                                sent += (size_t)n;
                }
                while ((n = http_raw_recv(raw, buf, 65536)) > 0)
                        got += (size_t)n;
                if (n == 0)
                        break;
                if (n != -EAGAIN)
                        return -1;
        }
        return got == total ? now_sec() - t0 : -1;
}

static double raw_copy(size_t total) {
        int sv[2];
        pid_t pid;
        double t0 = now_sec();
        _cleanup_free_ char *buf = xmalloc(65536);

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return -1;
        memset(buf, 'x', 65536);
        pid = fork();
        if (pid == 0) {
                close(sv[0]);
                for (size_t s = 0; s < total; s += 65536)
                        (void)fd_write_full(sv[1], buf, MIN((size_t)65536, total - s));
                _exit(0);
        }
        close(sv[1]);
        while (read(sv[0], buf, 65536) > 0)
                ;
        close(sv[0]);
        (void)waitpid(pid, NULL, 0);
        return now_sec() - t0;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

struct child_watch {
        ev_io io;
        double *out;
        size_t n;
};

static void child_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct child_watch *cw = (struct child_watch *)w;
        ssize_t n = read(w->fd, (char *)cw->out + cw->n, 3 * 2 * sizeof(double) - cw->n);

        (void)revents;
        if (n <= 0) {
                ev_io_stop(loop, w);
                ev_break(loop, EVBREAK_ALL);
                return;
        }
        cw->n += (size_t)n;
}

int main(int argc, char **argv) {
        size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 256, total = mib * 1024 * 1024;
        char dir[] = "/tmp/berth-bench-XXXXXX";
        _cleanup_free_ char *sock = NULL, *host = NULL, *chunk = xmalloc(1 << 20);
        _cleanup_(http_router_freep) struct http_router *rt = http_router_new();
        struct http_server *srv = NULL;
        struct ev_loop *loop = ev_default_loop(0);
        double res[6] = {}, up[3], ug[3], rc[3];
        struct child_watch cw = {.out = res};
        int p[2], file_fd;
        pid_t pid;

        signal(SIGPIPE, SIG_IGN);
        if (!mkdtemp(dir))
                return 1;
        sock = xasprintf("%s/api.sock", dir);
        host = xasprintf("unix://%s", sock);
        if (http_router_add_table(rt, routes, NULL) < 0 ||
            http_server_new(loop, NULL, rt, NULL, &srv, NULL) < 0 ||
            http_server_listen_unix(srv, sock, 0600, (gid_t)-1, NULL) < 0)
                return 1;
        /* the upload's source: a file of the size asked, unlinked */
        file_fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (file_fd < 0)
                return 1;
        memset(chunk, 'y', 1 << 20);
        for (size_t i = 0; i < mib; i++)
                if (fd_write_full(file_fd, chunk, 1 << 20) < 0)
                        return 1;
        if (pipe2(p, O_CLOEXEC) < 0)
                return 1;
        pid = fork();
        if (pid == 0) {
                close(p[0]);
                for (int i = 0; i < 3; i++) {
                        double a = client_upload(host, file_fd), b = client_upgrade(host, total);

                        (void)fd_write_full(p[1], &a, sizeof(a));
                        (void)fd_write_full(p[1], &b, sizeof(b));
                }
                _exit(0);
        }
        close(p[1]);
        ev_io_init(&cw.io, child_cb, p[0], EV_READ);
        ev_io_start(loop, &cw.io);
        ev_run(loop, 0);
        (void)waitpid(pid, NULL, 0);
        close(p[0]);
        for (int i = 0; i < 3; i++) {
                up[i] = res[2 * i];
                ug[i] = res[2 * i + 1];
                rc[i] = raw_copy(total);
        }
        qsort_safe(up, 3, sizeof(double), cmp_double);
        qsort_safe(ug, 3, sizeof(double), cmp_double);
        qsort_safe(rc, 3, sizeof(double), cmp_double);
        printf("%zu MiB over a unix socket, median of 3 (MiB/s):\n", mib);
        printf("  berth streamed upload (PUT, HTTP_ROUTE_STREAM_BODY)  %8.0f\n",
               up[1] > 0 ? (double)mib / up[1] : 0.0);
        printf("  berth upgraded echo (both directions, each way)      %8.0f\n",
               ug[1] > 0 ? (double)mib / ug[1] : 0.0);
        printf("  raw socketpair copy (ceiling, no HTTP)               %8.0f\n",
               rc[1] > 0 ? (double)mib / rc[1] : 0.0);
        http_server_free(srv);
        close(file_fd);
        (void)rm_rf(dir, NULL);
        return 0;
}
