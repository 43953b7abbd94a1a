/* SPDX-License-Identifier: Apache-2.0 */
/* Pull engine without the daemon and CLI: N cold pulls of REF into a store at ROOT (the image
 * is removed and collected, untimed, before each), printing the wall time and the CPU time
 * (user + system, the extractors included) of each and their medians. For profiling:
 * `perf record -g build/bench/image-pull-loop ROOT REF 5`. With PERF_CTL_FIFO and PERF_ACK_FIFO
 * set (`perf record -D -1 --control=fifo:CTL,ACK`), only the timed pulls are recorded (not the
 * untimed rmi and gc before each).
 * Usage: build/bench/image-pull-loop ROOT REF [N] */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <time.h>

#include "cleanup.h"
#include "image/registry.h"
#include "image/store.h"
#include "macro.h"

static double now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void) {
        struct rusage a, b;

        getrusage(RUSAGE_SELF, &a);
        getrusage(RUSAGE_CHILDREN, &b);
        return (double)(a.ru_utime.tv_sec + a.ru_stime.tv_sec + b.ru_utime.tv_sec +
                        b.ru_stime.tv_sec) *
                       1e3 +
               (double)(a.ru_utime.tv_usec + a.ru_stime.tv_usec + b.ru_utime.tv_usec +
                        b.ru_stime.tv_usec) /
                       1e3;
}

/* "enable" / "disable" to perf record's control fifo, waiting for its ack. */
static void perf_ctl(int ctl, int ack, const char *cmd) {
        char buf[16];

        if (ctl < 0 || ack < 0)
                return;
        if (write(ctl, cmd, strlen(cmd)) < 0 || read(ack, buf, sizeof(buf)) < 0)
                fprintf(stderr, "perf control: %m\n");
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

static double median(double *v, size_t n) {
        qsort_safe(v, n, sizeof(*v), cmp_double);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
        _cleanup_(image_store_freep) struct image_store *s = NULL;
        struct err *e = NULL;
        unsigned n = argc > 3 ? (unsigned)atoi(argv[3]) : 5;
        double wall[64], cpu[64];
        const char *ctl_path = getenv("PERF_CTL_FIFO"), *ack_path = getenv("PERF_ACK_FIFO");
        _cleanup_close_ int ctl = -EBADF, ack = -EBADF;

        if (argc < 3 || n == 0 || n > 64) {
                fprintf(stderr, "usage: %s ROOT REF [N (1..64)]\n", argv[0]);
                return 2;
        }
        if (image_store_open(argv[1], &s, &e) < 0) {
                fprintf(stderr, "open store: %s\n", err_msg(e));
                return 1;
        }
        if (ctl_path && ack_path) {
                ctl = open(ctl_path, O_WRONLY | O_CLOEXEC);
                ack = open(ack_path, O_RDONLY | O_CLOEXEC);
        }
        for (unsigned i = 0; i < n; i++) {
                struct image *img = NULL;
                double w, c;
                int r;

                (void)image_store_remove(s, argv[2], true, NULL);
                (void)image_store_gc(s, NULL, NULL);
                w = now_ms();
                c = cpu_ms();
                perf_ctl(ctl, ack, "enable\n");
                r = image_pull(s, argv[2], NULL, &img, &e);
                perf_ctl(ctl, ack, "disable\n");
                if (r < 0) {
                        fprintf(stderr, "pull: %s\n", err_msg(e));
                        return 1;
                }
                wall[i] = now_ms() - w;
                cpu[i] = cpu_ms() - c;
                image_free(img);
                printf("pull %u: %.0f ms wall, %.0f ms cpu\n", i + 1, wall[i], cpu[i]);
        }
        printf("median of %u: %.0f ms wall, %.0f ms cpu\n", n, median(wall, n), median(cpu, n));
        return 0;
}
