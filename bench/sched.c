/* SPDX-License-Identifier: Apache-2.0 */
/* Scheduler and planner throughput: 10 000 pods (100 services x 100 replicas) onto 100 nodes.
 * Prints placements per second for the bare scheduler and for a whole plan_compute, and the
 * peak RSS. Usage: build/bench/sched [pods] [nodes] */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "cleanup.h"
#include "json.h"
#include "model.h"
#include "plan.h"
#include "sched.h"
#include "strv.h"
#include "xalloc.h"

static double now_sec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *make_observed(unsigned n_nodes) {
        json_t *nodes = json_array();

        for (unsigned i = 0; i < n_nodes; i++) {
                json_t *n = json_object();
                char id[32];

                snprintf(id, sizeof(id), "node%03u", i);
                json_object_set_new(n, "id", json_string(id));
                json_object_set_new(n, "ready", json_true());
                json_object_set_new(n, "reported", json_true());
                json_object_set_new(n, "last_heartbeat_usec", json_integer(1000000));
                json_object_set_new(n, "labels", json_pack("{s:s}", "zone", i % 2 ? "a" : "b"));
                json_object_set_new(n, "allocatable",
                                    json_pack("{s:I, s:I}", "cpu_millis", (json_int_t)64000,
                                              "memory", (json_int_t)(256LL << 30)));
                json_array_append_new(nodes, n);
        }
        return json_pack("{s:o, s:[]}", "nodes", nodes, "pods");
}

static json_t *make_model(unsigned n_services, unsigned replicas) {
        json_t *svcs = json_object();

        for (unsigned i = 0; i < n_services; i++) {
                json_t *svc = json_object(), *ctr = json_object(), *pod = json_object();
                char name[32];

                snprintf(name, sizeof(name), "svc%03u", i);
                json_object_set_new(svc, "name", json_string(name));
                json_object_set_new(svc, "kind", json_string("service"));
                json_object_set_new(svc, "replicas", json_integer(replicas));
                json_object_set_new(svc, "hash", json_string("0123456789abcdef"));
                json_object_set_new(
                        svc, "placement",
                        json_pack("{s:[s]}", "constraints",
                                  i % 3 ? "node.labels.zone!=none" : "node.role==worker"));
                json_object_set_new(ctr, "resources",
                                    json_pack("{s:{s:f, s:I}}", "reservations", "cpus", 0.1,
                                              "memory", (json_int_t)(64LL << 20)));
                json_object_set_new(pod, "restart", json_pack("{s:s}", "policy", "always"));
                json_object_set_new(pod, "containers", json_pack("[o]", ctr));
                json_object_set_new(svc, "pod", pod);
                json_object_set_new(svcs, name, svc);
        }
        return json_pack("{s:i, s:s, s:o}", "version", 1, "name", "bench", "services", svcs);
}

int main(int argc, char **argv) {
        unsigned pods = argc > 1 ? (unsigned)atoi(argv[1]) : 10000;
        unsigned n_nodes = argc > 2 ? (unsigned)atoi(argv[2]) : 100;
        unsigned n_services = 100, replicas = pods / n_services;
        _cleanup_json_ json_t *oj = make_observed(n_nodes), *mj = NULL;
        _cleanup_(observed_freep) struct observed *o = NULL;
        _cleanup_(model_stack_freep) struct model_stack *m = NULL;
        _cleanup_(sched_freep) struct sched *s = NULL;
        _cleanup_(plan_done) struct plan p = {};
        _cleanup_err_ struct err *e = NULL;
        struct rusage ru;
        unsigned placed = 0;
        double t0, t1, t2, t3;

        if (pods < n_services || n_nodes == 0) {
                fprintf(stderr, "usage: %s [pods >= 100] [nodes >= 1]\n", argv[0]);
                return 2;
        }
        if (observed_from_json(oj, &o, &e) < 0) {
                fprintf(stderr, "observed: %s\n", err_msg(e));
                return 1;
        }

        /* 1. The bare scheduler. */
        t0 = now_sec();
        s = sched_new(o->nodes, o->n_nodes, 1000000, 30000);
        for (unsigned g = 0; g < n_services; g++) {
                _cleanup_strv_ char **cons = NULL;
                char name[32];
                int gi;

                snprintf(name, sizeof(name), "svc%03u", g);
                strv_push(&cons, g % 3 ? "node.labels.zone!=none" : "node.role==worker");
                gi = sched_add_group(s, name, cons, 0, 100, 64u << 20, NULL, &e);
                if (gi < 0) {
                        fprintf(stderr, "group: %s\n", err_msg(e));
                        return 1;
                }
                for (unsigned r = 0; r < replicas; r++) {
                        size_t node;
                        _cleanup_free_ char *why = NULL;
                        if (sched_place(s, gi, SIZE_MAX, &node, &why) < 0) {
                                fprintf(stderr, "place: %s\n", why);
                                return 1;
                        }
                        placed++;
                }
        }
        t1 = now_sec();

        /* 2. A whole plan: parse the model, compute every START with its reason. */
        mj = make_model(n_services, replicas);
        t2 = now_sec();
        if (model_stack_from_json(mj, &m, &e) < 0 || plan_compute(m, o, 1000000, &p, &e) < 0) {
                fprintf(stderr, "plan: %s\n", err_msg(e));
                return 1;
        }
        t3 = now_sec();
        getrusage(RUSAGE_SELF, &ru);

        printf("sched: %u placements on %u nodes in %.3f s: %.0f placements/s\n", placed, n_nodes,
               t1 - t0, placed / (t1 - t0));
        printf("plan_compute: %zu ops (%zu START) in %.3f s: %.0f placements/s\n", p.n_ops,
               p.count[PLAN_START], t3 - t2, p.count[PLAN_START] / (t3 - t2));
        printf("peak RSS: %ld KiB\n", ru.ru_maxrss);
        return p.count[PLAN_START] == placed ? 0 : 1;
}
