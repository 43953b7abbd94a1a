/* SPDX-License-Identifier: Apache-2.0 */
/* DNS lookup latency as a container sees it: bench/dns.sh runs this inside a container's network
 * namespace (nsenter -n) against the network's embedded DNS server.
 *
 *   dns-client SERVER PREFIX COUNT QUERIES
 *
 * sends QUERIES A queries one after the other over UDP to SERVER:53, for the names PREFIX0 ..
 * PREFIX<COUNT-1> in a scattered order, each waiting for its answer (at most 1 s), and prints
 * p50, p99 and max in microseconds. Every answer must be NOERROR with at least one address;
 * otherwise it exits 1 naming the query. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"

static double now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

static double pct(const double *v, size_t n, double p) {
        size_t i = (size_t)(p * (double)(n - 1) + 0.5);

        return v[i < n ? i : n - 1];
}

/* A query for name (one label), type A, class IN, recursion desired. */
static size_t make_query(unsigned char *q, size_t max, unsigned id, const char *name) {
        size_t l = 12, nl = strlen(name);

        if (nl == 0 || nl > 63 || l + 1 + nl + 5 > max)
                return 0;
        memset(q, 0, 12);
        q[0] = (unsigned char)(id >> 8);
        q[1] = (unsigned char)id;
        q[2] = 1; /* RD */
        q[5] = 1; /* QDCOUNT */
        q[l++] = (unsigned char)nl;
        memcpy(q + l, name, nl);
        l += nl;
        q[l++] = 0;
        q[l++] = 0, q[l++] = 1; /* A */
        q[l++] = 0, q[l++] = 1; /* IN */
        return l;
}

int main(int argc, char **argv) {
        struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons(53)};
        long count, queries;
        double *lat;
        int fd;

        if (argc != 5 || inet_pton(AF_INET, argv[1], &srv.sin_addr) != 1 ||
            (count = strtol(argv[3], NULL, 10)) < 1 || count > 100000 ||
            (queries = strtol(argv[4], NULL, 10)) < 1 || queries > 1000000) {
                fprintf(stderr, "usage: dns-client SERVER PREFIX COUNT QUERIES\n");
                return 2;
        }
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&srv, sizeof(srv)) < 0) {
                fprintf(stderr, "dns-client: connect to %s: %s\n", argv[1], strerror(errno));
                return 1;
        }
        lat = calloc((size_t)queries, sizeof(double));
        if (!lat)
                return 1;
        for (long i = 0; i < queries; i++) {
                unsigned char q[128], a[1500];
                char name[80];
                struct pollfd p = {.fd = fd, .events = POLLIN};
                unsigned id = (unsigned)i & 0xffff;
                double t0;
                ssize_t n;
                size_t l;

                snprintf(name, sizeof(name), "%s%ld", argv[2], (i * 7919) % count);
                l = make_query(q, sizeof(q), id, name);
                if (l == 0) {
                        fprintf(stderr, "dns-client: name '%s' too long\n", name);
                        return 1;
                }
                t0 = now_us();
                if (send(fd, q, l, 0) != (ssize_t)l) {
                        fprintf(stderr, "dns-client: send: %s\n", strerror(errno));
                        return 1;
                }
                for (;;) {
                        int r = poll(&p, 1, 1000);

                        if (r <= 0) {
                                fprintf(stderr, "dns-client: no answer for '%s'\n", name);
                                return 1;
                        }
                        n = recv(fd, a, sizeof(a), 0);
                        if (n >= 12 && a[0] == q[0] && a[1] == q[1])
                                break; /* a stale answer of an earlier query is skipped */
                        if (n < 0) {
                                fprintf(stderr, "dns-client: recv: %s\n", strerror(errno));
                                return 1;
                        }
                }
                lat[i] = now_us() - t0;
                if ((a[3] & 0xf) != 0 || (a[6] == 0 && a[7] == 0)) {
                        fprintf(stderr, "dns-client: '%s': rcode %d, %d answers\n", name,
                                a[3] & 0xf, a[6] << 8 | a[7]);
                        return 1;
                }
        }
        qsort_safe(lat, (size_t)queries, sizeof(double), cmp_d);
        printf("%.0f %.0f %.0f\n", pct(lat, (size_t)queries, 0.5), pct(lat, (size_t)queries, 0.99),
               lat[queries - 1]);
        free(lat);
        close(fd);
        return 0;
}
