/* SPDX-License-Identifier: Apache-2.0 */
/* Hollow nodes (like Kubernetes' kubemark): N node agents in one process, each the real node
 * agent of agent/node.c (join, long-polled assignments, local reconcile, status reports and
 * heartbeats over HTTP) with the in-memory pod runtime (pods_fake.c): a created pod is running
 * at once and no container is made. They join the controller at the unix socket given (the same
 * route as the daemon's own node), as hollow-000..hollow-N-1, each reporting 64 CPUs and 256 GiB
 * allocatable. Runs until SIGTERM or SIGINT. bench/sched.sh drives it.
 *
 * With EXPECT, it prints "running EXPECT at SECONDS" (CLOCK_REALTIME) the first time the
 * reports the controller accepted (its 204) hold EXPECT running pods in all: the moment every
 * pod has been reported running.
 *
 *   build/bench/hollow SOCKET NODES [HEARTBEAT_SECONDS [EXPECT]]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <ev.h>

#include "cleanup.h"
#include "node.h"
#include "pods.h"
#include "xalloc.h"

/* Running pods per node in its last accepted report, and their sum. */
struct tally {
        size_t *running;
        size_t total, expect;
        bool done;
};

struct tally_ref {
        struct tally *t;
        size_t i;
};

static void reported_cb(void *ud, size_t running) {
        struct tally_ref *ref = ud;
        struct tally *t = ref->t;
        struct timespec ts;

        t->total = t->total - t->running[ref->i] + running;
        t->running[ref->i] = running;
        if (t->done || t->expect == 0 || t->total < t->expect)
                return;
        t->done = true;
        clock_gettime(CLOCK_REALTIME, &ts);
        printf("running %zu at %lld.%06ld\n", t->total, (long long)ts.tv_sec, ts.tv_nsec / 1000);
        fflush(stdout);
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents) {
        (void)w;
        (void)revents;
        ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv) {
        struct ev_loop *loop = EV_DEFAULT;
        _cleanup_free_ char *url = NULL;
        struct pod_fake *fakes;
        struct node **nodes;
        ev_signal sigterm, sigint;
        struct tally tally = {};
        struct tally_ref *refs;
        double hb;
        long n;
        int rc = 0;

        if (argc < 3 || argc > 5) {
                fprintf(stderr, "usage: %s SOCKET NODES [HEARTBEAT_SECONDS [EXPECT]]\n", argv[0]);
                return 2;
        }
        n = strtol(argv[2], NULL, 10);
        hb = argc > 3 ? strtod(argv[3], NULL) : 1.0;
        tally.expect = argc > 4 ? strtoul(argv[4], NULL, 10) : 0;
        if (n < 1 || n > 10000 || !(hb > 0.0)) {
                fprintf(stderr, "%s: NODES must be 1..10000 and HEARTBEAT_SECONDS > 0\n", argv[0]);
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        url = xasprintf("unix://%s", argv[1]);
        fakes = xnew0(struct pod_fake, (size_t)n);
        nodes = xnew0(struct node *, (size_t)n);
        refs = xnew0(struct tally_ref, (size_t)n);
        tally.running = xnew0(size_t, (size_t)n);
        for (long i = 0; i < n && rc == 0; i++) {
                _cleanup_err_ struct err *e = NULL;
                char name[32];

                snprintf(name, sizeof(name), "hollow-%03ld", i);
                refs[i] = (struct tally_ref){&tally, (size_t)i};
                if (node_new(loop,
                             &(struct node_config){.name = name,
                                                   .controller = {.host = url},
                                                   .rt = &pod_fake_ops,
                                                   .rt_ud = &fakes[i],
                                                   .status_interval = hb,
                                                   .cpu_millis = 64000,
                                                   .memory = 256ULL << 30,
                                                   .reported = reported_cb,
                                                   .reported_ud = &refs[i]},
                             &nodes[i], &e) < 0 ||
                    node_start(nodes[i], &e) < 0) {
                        fprintf(stderr, "%s: node %s: %s\n", argv[0], name, err_msg(e));
                        rc = 1;
                }
        }
        if (rc == 0) {
                ev_signal_init(&sigterm, stop_cb, SIGTERM);
                ev_signal_init(&sigint, stop_cb, SIGINT);
                ev_signal_start(loop, &sigterm);
                ev_signal_start(loop, &sigint);
                printf("%ld hollow nodes started\n", n);
                fflush(stdout);
                ev_run(loop, 0);
                ev_signal_stop(loop, &sigterm);
                ev_signal_stop(loop, &sigint);
        }
        for (long i = 0; i < n; i++) {
                node_free(nodes[i]);
                pod_fake_done(&fakes[i]);
        }
        free(nodes);
        free(fakes);
        free(refs);
        free(tally.running);
        return rc;
}
