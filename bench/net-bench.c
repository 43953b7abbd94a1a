/* SPDX-License-Identifier: Apache-2.0 */
/* Networking micro-benchmarks (root): veth creation with the peer born in the container's
 * namespace vs created then moved, and embedded DNS lookup latency. Runs in a private network
 * namespace; prints one line per figure. */
#include <arpa/inet.h>
#include <ev.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/dns.h"
#include "net/nl.h"

static double now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int new_netns(void) {
        int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC), fd;

        if (self < 0 || unshare(CLONE_NEWNET) < 0)
                exit(1);
        fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (setns(self, CLONE_NEWNET) < 0)
                abort();
        close(self);
        return fd;
}

static int cmp_d(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p) {
        qsort(v, n, sizeof(*v), cmp_d);
        return v[(size_t)((double)(n - 1) * p)];
}

static void bench_veth(int iters) {
        struct nl *nl = NULL;
        double fast[256], move[256];

        if (nl_open(&nl, NULL) < 0)
                exit(1);
        for (int i = 0; i < iters; i++) {
                int ns = new_netns();
                double t0 = now_ms();

                if (nl_link_add_veth(nl, "vbench0", "eth0", ns, 0, NULL, NULL) < 0)
                        exit(1);
                fast[i] = now_ms() - t0;
                nl_link_del(nl, "vbench0", NULL);
                close(ns);

                ns = new_netns();
                t0 = now_ms();
                if (nl_link_add_veth(nl, "vbench1", "vbench1p", -1, 0, NULL, NULL) < 0 ||
                    nl_link_set_netns(nl, "vbench1p", ns, NULL) < 0)
                        exit(1);
                move[i] = now_ms() - t0;
                nl_link_del(nl, "vbench1", NULL);
                close(ns);
        }
        printf("veth create, peer born in netns: median %.3f ms (n=%d)\n", pct(fast, iters, 0.5),
               iters);
        printf("veth create + move into netns:   median %.3f ms (n=%d)\n", pct(move, iters, 0.5),
               iters);
        nl_free(nl);
}

struct client {
        ev_io io;
        ssize_t len;
        unsigned char buf[1024];
};

static void client_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct client *c = (struct client *)w;

        (void)revents;
        c->len = recv(w->fd, c->buf, sizeof(c->buf), 0);
        ev_break(loop, EVBREAK_ALL);
}

static void bench_dns(int names, int queries) {
        struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
        struct dns_table *t = dns_table_new();
        struct dns_server *s = NULL;
        struct sockaddr_in la = {.sin_family = AF_INET}, srv;
        struct client c;
        double *lat = calloc((size_t)queries, sizeof(double));
        int fd;

        la.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        for (int i = 0; i < names; i++) {
                char n[32];
                snprintf(n, sizeof(n), "svc%d", i);
                dns_table_add(t, n, 0x0a000000u + (uint32_t)i, NULL);
        }
        if (dns_server_new(loop, &la, t, NULL, 0, 0, &s, NULL) < 0 || dns_server_local(s, &srv) < 0)
                exit(1);
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (connect(fd, (struct sockaddr *)&srv, sizeof(srv)) < 0)
                exit(1);
        ev_io_init(&c.io, client_cb, fd, EV_READ);
        ev_io_start(loop, &c.io);
        for (int i = 0; i < queries; i++) {
                unsigned char q[64];
                char n[32];
                size_t l = 12;
                int nl = snprintf(n, sizeof(n), "svc%d", (i * 7919) % names);
                double t0;

                memset(q, 0, 12);
                q[0] = (unsigned char)(i >> 8);
                q[1] = (unsigned char)i;
                q[2] = 1;
                q[5] = 1;
                q[l++] = (unsigned char)nl;
                memcpy(q + l, n, (size_t)nl);
                l += (size_t)nl;
                q[l++] = 0;
                q[l++] = 0, q[l++] = 1, q[l++] = 0, q[l++] = 1;
                t0 = now_ms();
                if (send(fd, q, l, 0) != (ssize_t)l)
                        exit(1);
                ev_run(loop, 0);
                lat[i] = now_ms() - t0;
                if (c.len < 12 || (c.buf[3] & 0xf) != 0)
                        exit(2);
        }
        printf("DNS lookup (%d names, %d queries over UDP): p50 %.1f us, p99 %.1f us\n", names,
               queries, pct(lat, (size_t)queries, 0.5) * 1e3,
               pct(lat, (size_t)queries, 0.99) * 1e3);
        ev_io_stop(loop, &c.io);
        close(fd);
        dns_server_free(s);
        dns_table_free(t);
        ev_loop_destroy(loop);
        free(lat);
}

int main(void) {
        if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
                fprintf(stderr, "net-bench: needs root\n");
                return 77;
        }
        if (system("ip link set lo up") != 0)
                return 1;
        bench_veth(30);
        bench_dns(200, 2000);
        return 0;
}
