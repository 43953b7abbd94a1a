/* SPDX-License-Identifier: Apache-2.0 */
/* The container manager's Prometheus metrics (issue #6): containers by state, health status
 * counts and live shims are collected at render time; restarts are counted as they happen. */
#include "api.h"
#include "ctr_internal.h"
#include "json.h"
#include "metrics.h"
#include "strv.h"

static void collect(struct metric_text *t, void *userdata) {
        static const char *const states[] = {"created", "running", "paused", "restarting",
                                             "exited"};
        static const char *const healths[] = {"starting", "healthy", "unhealthy"};
        struct ctr_mgr *m = userdata;
        unsigned by_state[ELEMENTSOF(states)] = {}, by_health[ELEMENTSOF(healths)] = {};
        unsigned shims = 0;

        for (size_t i = 0; i < m->n; i++) {
                const json_t *st = ctr_state(m->v[i]);
                const char *s = json_get_str(st, "Status", "created");
                const char *h = json_get_str(json_object_get(st, "Health"), "Status", "");

                for (size_t k = 0; k < ELEMENTSOF(states); k++)
                        if (streq(s, states[k]))
                                by_state[k]++;
                if (ctr_running(m->v[i]))
                        for (size_t k = 0; k < ELEMENTSOF(healths); k++)
                                if (streq(h, healths[k]))
                                        by_health[k]++;
                if (m->v[i]->shim_fd >= 0)
                        shims++;
        }
        metric_text_family(t, "berth_containers", METRIC_GAUGE, "Containers by state.");
        for (size_t k = 0; k < ELEMENTSOF(states); k++)
                metric_text_sample(t, "berth_containers", "state", states[k], by_state[k]);
        metric_text_family(t, "berth_container_health", METRIC_GAUGE,
                           "Running containers with a health check, by health status.");
        for (size_t k = 0; k < ELEMENTSOF(healths); k++)
                metric_text_sample(t, "berth_container_health", "status", healths[k], by_health[k]);
        metric_text_family(t, "berth_shims_alive", METRIC_GAUGE,
                           "Container shims the daemon is connected to.");
        metric_text_sample(t, "berth_shims_alive", NULL, NULL, shims);
}

void ctr_metrics_register(struct ctr_mgr *m) {
        struct metrics *mx = m->d ? m->d->metrics : NULL;

        if (!mx)
                return;
        metrics_declare(mx, "berth_container_restarts_total", METRIC_COUNTER,
                        "Container restarts by the restart policy, restart requests and "
                        "failed health checks.",
                        NULL, 0);
        metrics_add(mx, "berth_container_restarts_total", NULL, NULL, 0);
        metrics_add_collector(mx, collect, m);
}

void ctr_metrics_restart(struct ctr *c) {
        if (c->m->d && c->m->d->metrics)
                metrics_add(c->m->d->metrics, "berth_container_restarts_total", NULL, NULL, 1);
}
