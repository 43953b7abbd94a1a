/* SPDX-License-Identifier: Apache-2.0 */
/* A tiny HTTP/1.1 load generator for unix sockets: N keep-alive GET requests spread over C
 * connections, reporting throughput and latency percentiles. Standalone on purpose (no berth
 * code), so it measures docker's or podman's API the same way it measures berth's.
 *
 *   pingbench -s /run/berth/berth.sock [-p /v1/ping] [-n 10000] [-c 1]
 * Output (one line, key=value): requests, concurrency, seconds, rps, p50_us, p90_us, p99_us,
 * max_us. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256

struct bconn {
        int fd;
        char buf[65536];
        size_t len;
        size_t sent; /* bytes of the request written */
        bool busy;   /* a request is outstanding */
        double start;
};

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static int connect_unix(const char *path) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* Returns the length of one complete response at the start of buf, 0 if incomplete, -1 on a
 * response this tool does not understand (no Content-Length, or not 2xx). */
static long response_len(const char *buf, size_t len) {
        const char *end = memmem(buf, len, "\r\n\r\n", 4), *p;
        long body = -1;

        if (!end)
                return 0;
        if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[9] != '2')
                return -1;
        for (p = buf; p && p < end; p = memmem(p, (size_t)(end - p), "\r\n", 2)) {
                p += 2;
                if (strncasecmp(p, "Content-Length:", 15) == 0)
                        body = strtol(p + 15, NULL, 10);
        }
        if (body < 0)
                return -1;
        if ((size_t)(end + 4 - buf) + (size_t)body > len)
                return 0;
        return (long)(end + 4 - buf) + body;
}

int main(int argc, char **argv) {
        const char *sock = "/run/berth/berth.sock", *path = "/v1/ping";
        long n = 10000, done = 0, started = 0;
        int conc = 1, c;
        struct bconn *conns;
        struct pollfd *pfd;
        double *lat, t0, t1;
        char req[1024];
        size_t req_len;

        while ((c = getopt(argc, argv, "s:p:n:c:h")) != -1) {
                switch (c) {
                case 's':
                        sock = optarg;
                        break;
                case 'p':
                        path = optarg;
                        break;
                case 'n':
                        n = strtol(optarg, NULL, 10);
                        break;
                case 'c':
                        conc = atoi(optarg);
                        break;
                default:
                        fprintf(stderr, "usage: pingbench [-s SOCKET] [-p PATH] [-n REQUESTS] "
                                        "[-c CONNECTIONS]\n");
                        return c == 'h' ? 0 : 2;
                }
        }
        if (n < 1 || n > 10000000 || conc < 1 || conc > MAX_CONNS || conc > n) {
                fprintf(stderr, "pingbench: need 1 <= -c <= min(%d, -n) and 1 <= -n <= 1e7\n",
                        MAX_CONNS);
                return 2;
        }
        req_len =
                (size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: bench\r\n\r\n", path);
        conns = calloc((size_t)conc, sizeof(*conns));
        pfd = calloc((size_t)conc, sizeof(*pfd));
        lat = calloc((size_t)n, sizeof(double));
        if (!conns || !pfd || !lat)
                return 1;
        for (int i = 0; i < conc; i++) {
                conns[i].fd = connect_unix(sock);
                if (conns[i].fd < 0) {
                        fprintf(stderr, "pingbench: connect '%s': %s\n", sock,
                                strerror(-conns[i].fd));
                        return 1;
                }
        }

        t0 = now();
        while (done < n) {
                for (int i = 0; i < conc; i++) {
                        struct bconn *b = &conns[i];

                        if (!b->busy && started < n) {
                                b->busy = true;
                                b->sent = 0;
                                b->start = now();
                                started++;
                        }
                        pfd[i].fd = b->fd;
                        pfd[i].events = b->busy ? (b->sent < req_len ? POLLOUT : POLLIN) : 0;
                }
                if (poll(pfd, (nfds_t)conc, 30000) <= 0) {
                        fprintf(stderr, "pingbench: no progress for 30 s (%s)\n", strerror(errno));
                        return 1;
                }
                for (int i = 0; i < conc; i++) {
                        struct bconn *b = &conns[i];
                        ssize_t k;
                        long rl;

                        if (pfd[i].revents & POLLOUT) {
                                k = send(b->fd, req + b->sent, req_len - b->sent, MSG_NOSIGNAL);
                                if (k > 0)
                                        b->sent += (size_t)k;
                                else if (k < 0 && errno != EAGAIN) {
                                        perror("pingbench: send");
                                        return 1;
                                }
                        }
                        if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        k = recv(b->fd, b->buf + b->len, sizeof(b->buf) - b->len, 0);
                        if (k == 0 || (k < 0 && errno != EAGAIN)) {
                                fprintf(stderr, "pingbench: connection closed by the server\n");
                                return 1;
                        }
                        if (k < 0)
                                continue;
                        b->len += (size_t)k;
                        rl = response_len(b->buf, b->len);
                        if (rl < 0) {
                                fprintf(stderr, "pingbench: unexpected response: %.*s\n",
                                        (int)(b->len > 200 ? 200 : b->len), b->buf);
                                return 1;
                        }
                        if (rl == 0)
                                continue;
                        lat[done++] = now() - b->start;
                        memmove(b->buf, b->buf + rl, b->len - (size_t)rl);
                        b->len -= (size_t)rl;
                        b->busy = false;
                }
        }
        t1 = now();
        qsort(lat, (size_t)n, sizeof(double), cmp_double);
        printf("requests=%ld concurrency=%d seconds=%.3f rps=%.0f p50_us=%.0f p90_us=%.0f "
               "p99_us=%.0f max_us=%.0f\n",
               n, conc, t1 - t0, (double)n / (t1 - t0), lat[n / 2] * 1e6, lat[(n * 9) / 10] * 1e6,
               lat[(n * 99) / 100] * 1e6, lat[n - 1] * 1e6);
        for (int i = 0; i < conc; i++)
                close(conns[i].fd);
        free(conns);
        free(pfd);
        free(lat);
        return 0;
}
