/* SPDX-License-Identifier: Apache-2.0 */
/* The controller's side of bench/sched.sh in one process, without HTTP or other processes: a
 * controller on a SQLite store and N node agents with the in-memory pod runtime, driven in
 * rounds like tests/unit/test-controller.c. Prints how long each phase takes for PODS pods (100
 * services) on N nodes, so a profiler (perf record) sees only the controller's and the agents'
 * own work:
 *   up:          controller_up (validate, plan, store every pod record and assignment)
 *   assignments: every node's assignments answer (controller_assignments)
 *   agents:      every node takes its answer, reconciles (fake pods start at once), builds
 *                its status report
 *   reports:     the controller stores every report (controller_status)
 *   pass:        one reconcile pass over the reported state (nothing left to place)
 *   heartbeats:  every node reports the same state again (heartbeat-only reports)
 * Times are CPU times of the process (the machine is shared; wall times are not comparable).
 * Usage: build/bench/sched-loop [PODS] [NODES] */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "cleanup.h"
#include "controller.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "node.h"
#include "pods.h"
#include "xalloc.h"

static double now_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *make_model(unsigned n_services, unsigned replicas) {
        json_t *svcs = json_object();

        for (unsigned i = 0; i < n_services; i++) {
                char name[32], hash[65];

                snprintf(name, sizeof(name), "s%03u", i);
                snprintf(hash, sizeof(hash), "b%063u", i);
                json_object_set_new(
                        svcs, name,
                        json_pack("{s:s, s:s, s:i, s:s, s:{s:[s]}, s:{s:{s:s}, s:[{s:s, s:s, "
                                  "s:[s], s:{s:{s:f, s:I}}}]}}",
                                  "name", name, "kind", "service", "replicas", (int)replicas,
                                  "hash", hash, "placement", "constraints",
                                  "node.labels.zone!=none", "pod", "restart", "policy", "always",
                                  "containers", "name", "c", "image", "busybox", "command", "true",
                                  "resources", "reservations", "cpus", 0.1, "memory",
                                  (json_int_t)(64LL << 20)));
        }
        return json_pack("{s:i, s:s, s:o}", "version", 1, "name", "bench", "services", svcs);
}

int main(int argc, char **argv) {
        unsigned pods = argc > 1 ? (unsigned)atoi(argv[1]) : 10000;
        unsigned n_nodes = argc > 2 ? (unsigned)atoi(argv[2]) : 100;
        unsigned n_services = 100, replicas = pods / n_services;
        char tmpl[] = "/tmp/berth-sched-loop.XXXXXX";
        _cleanup_free_ char *db = NULL;
        _cleanup_(controller_freep) struct controller *c = NULL;
        _cleanup_json_ json_t *body = NULL, *res = NULL;
        _cleanup_err_ struct err *e = NULL;
        struct node **nodes;
        struct pod_fake *fakes;
        json_t **answers, **reports;
        struct store *s = NULL;
        struct rusage ru;
        double t[8];
        int rc = 1;

        if (pods < n_services || n_nodes == 0 || n_nodes > 10000) {
                fprintf(stderr, "usage: %s [PODS >= 100] [NODES 1..10000]\n", argv[0]);
                return 2;
        }
        log_set_level(LOG_LVL_WARN);
        if (!mkdtemp(tmpl)) {
                perror("mkdtemp");
                return 1;
        }
        db = xasprintf("%s/state.db", tmpl);
        nodes = xnew0(struct node *, n_nodes);
        fakes = xnew0(struct pod_fake, n_nodes);
        answers = xnew0(json_t *, n_nodes);
        reports = xnew0(json_t *, n_nodes);
        if (store_open_sqlite(db, 0, &s, &e) < 0 || controller_new(NULL, s, &c, &e) < 0)
                goto out;
        for (unsigned i = 0; i < n_nodes; i++) {
                _cleanup_json_ json_t *j = NULL, *jr = NULL;
                char name[32];

                snprintf(name, sizeof(name), "hollow-%03u", i);
                j = json_pack("{s:s, s:{s:I, s:I}}", "name", name, "allocatable", "cpu_millis",
                              (json_int_t)64000, "memory", (json_int_t)(256LL << 30));
                if (controller_join(c, j, realtime_usec(), &jr, &e) < 0 ||
                    node_new(NULL,
                             &(struct node_config){
                                     .name = name, .rt = &pod_fake_ops, .rt_ud = &fakes[i]},
                             &nodes[i], &e) < 0)
                        goto out;
        }
        /* Every node reports once (empty), as after a start. */
        for (unsigned i = 0; i < n_nodes; i++) {
                _cleanup_json_ json_t *st = json_pack("{s:[]}", "pods");
                if (controller_status(c, node_name(nodes[i]), st, realtime_usec(), &e) < 0)
                        goto out;
        }
        controller_reconcile_all(c, realtime_usec());

        body = json_pack("{s:o}", "model", make_model(n_services, replicas));
        t[0] = now_sec();
        if (controller_up(c, "bench", body, realtime_usec(), &res, &e) < 0)
                goto out;
        t[1] = now_sec();
        for (unsigned i = 0; i < n_nodes; i++)
                if (controller_assignments(c, node_name(nodes[i]), &answers[i], &e) < 0)
                        goto out;
        t[2] = now_sec();
        for (unsigned i = 0; i < n_nodes; i++)
                if (node_set_assignments(nodes[i], answers[i], &e) < 0 ||
                    node_reconcile(nodes[i], realtime_usec(), &e) < 0 ||
                    node_status_json(nodes[i], &reports[i], &e) < 0)
                        goto out;
        t[3] = now_sec();
        for (unsigned i = 0; i < n_nodes; i++)
                if (controller_status(c, node_name(nodes[i]), reports[i], realtime_usec(), &e) < 0)
                        goto out;
        t[4] = now_sec();
        controller_reconcile_all(c, realtime_usec());
        t[5] = now_sec();
        for (unsigned i = 0; i < n_nodes; i++)
                if (controller_status(c, node_name(nodes[i]), reports[i], realtime_usec(), &e) < 0)
                        goto out;
        t[6] = now_sec();
        getrusage(RUSAGE_SELF, &ru);

        printf("%u pods (%u services) on %u nodes, in process (SQLite store):\n",
               n_services * replicas, n_services, n_nodes);
        printf("  up %.3f s, assignments %.3f s, agents %.3f s, reports %.3f s: %.0f pods/s\n",
               t[1] - t[0], t[2] - t[1], t[3] - t[2], t[4] - t[3],
               (double)(n_services * replicas) / (t[4] - t[0]));
        printf("  a pass over the converged state %.3f s; %u heartbeat-only reports %.3f s\n",
               t[5] - t[4], n_nodes, t[6] - t[5]);
        printf("  peak RSS %ld MiB (controller and agents)\n", ru.ru_maxrss / 1024);
        rc = 0;
out:
        if (rc)
                fprintf(stderr, "sched-loop: %s\n", err_msg(e));
        for (unsigned i = 0; i < n_nodes; i++) {
                node_free(nodes[i]);
                pod_fake_done(&fakes[i]);
                json_decref(answers[i]);
                json_decref(reports[i]);
        }
        free(nodes);
        free(fakes);
        free(answers);
        free(reports);
        (void)rm_rf(tmpl, NULL);
        return rc;
}
