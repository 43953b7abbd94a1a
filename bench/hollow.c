/* SPDX-License-Identifier: Apache-2.0 */
/* Hollow nodes (like Kubernetes' kubemark): N node agents in one process, each the real node
 * agent of agent/node.c (join, long-polled assignments, local reconcile, status reports and
 * heartbeats over HTTP) with the in-memory pod runtime (pods_fake.c): a created pod is running
 * at once and no container is made. They join the controller at the unix socket given (the same
 * route as the daemon's own node), as hollow-000..hollow-N-1, each reporting 64 CPUs and 256 GiB
 * allocatable. Runs until SIGTERM or SIGINT. bench/sched.sh drives it.
 *
 *   build/bench/hollow SOCKET NODES [HEARTBEAT_SECONDS]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <ev.h>

#include "cleanup.h"
#include "node.h"
#include "pods.h"
#include "xalloc.h"

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
        double hb;
        long n;
        int rc = 0;

        if (argc < 3 || argc > 4) {
                fprintf(stderr, "usage: %s SOCKET NODES [HEARTBEAT_SECONDS]\n", argv[0]);
                return 2;
        }
        n = strtol(argv[2], NULL, 10);
        hb = argc > 3 ? strtod(argv[3], NULL) : 1.0;
        if (n < 1 || n > 10000 || !(hb > 0.0)) {
                fprintf(stderr, "%s: NODES must be 1..10000 and HEARTBEAT_SECONDS > 0\n", argv[0]);
                return 2;
        }
        signal(SIGPIPE, SIG_IGN);
        url = xasprintf("unix://%s", argv[1]);
        fakes = xnew0(struct pod_fake, (size_t)n);
        nodes = xnew0(struct node *, (size_t)n);
        for (long i = 0; i < n && rc == 0; i++) {
                _cleanup_err_ struct err *e = NULL;
                char name[32];

                snprintf(name, sizeof(name), "hollow-%03ld", i);
                if (node_new(loop,
                             &(struct node_config){.name = name,
                                                   .controller = {.host = url},
                                                   .rt = &pod_fake_ops,
                                                   .rt_ud = &fakes[i],
                                                   .status_interval = hb,
                                                   .cpu_millis = 64000,
                                                   .memory = 256ULL << 30},
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
        return rc;
}
