/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The node agent (DESIGN §3): joins the controller over HTTP (the local unix socket inside
 * `berth daemon`, the same code path as a remote node), long-polls its assignments, reconciles
 * its own pods against them through a pod runtime (pods.h), and reports status and heartbeats.
 * The local reconcile keeps running while the controller is unreachable (restart policies,
 * unhealthy and dead pods replaced); nothing is removed before the first assignments arrived.
 *
 * node_set_assignments(), node_reconcile() and node_status_json() are the core without HTTP,
 * for tests; node_start() drives them from a libev loop with the curl multi client. */

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#include "daemon_env.h"
#include "err.h"
#include "http_client.h"
#include "pods.h"

#define NODE_STATUS_INTERVAL_SEC 1.0
#define NODE_RETRY_SEC 1.0
#define NODE_WATCH_TIMEOUT_MS 30000u
#define NODE_RESTART_BACKOFF_CAP_USEC (10 * USEC_PER_SEC)
#define NODE_RESTART_RESET_USEC (10 * USEC_PER_SEC)

struct node_config {
        const char *name;              /* node id; the host name when NULL */
        struct http_target controller; /* where the controller is */
        const struct pod_runtime_ops *rt;
        void *rt_ud;
        double status_interval; /* seconds; NODE_STATUS_INTERVAL_SEC when 0 */
        /* Allocatable resources reported at join; this host's CPUs and memory when 0 (hollow
         * nodes of bench/hollow.c report simulated ones). */
        uint64_t cpu_millis, memory;
        /* This node's underlay address (--advertise-addr): reported to the controller, the
         * local VTEP of overlay networks. NULL = none (no overlay networks here). */
        const char *advertise_addr;
        /* Called when the controller accepted a status report, with how many of its pods were
         * running (bench/hollow.c times "every pod reported running" with it). May be NULL. */
        void (*reported)(void *ud, size_t running);
        void *reported_ud;
        /* This node's own engine API ("unix://<run>/berth.sock"): the controller's proxied
         * requests (cluster-wide logs and exec, orchestrator/tunnel.h) go there. NULL: the node
         * takes none (hollow nodes). */
        const char *engine;
};

struct node;

/* Copies cfg's strings. loop may be NULL (tests drive the core functions). */
int node_new(struct ev_loop *loop, const struct node_config *cfg, struct node **ret,
             struct err **errp);
struct node *node_free(struct node *n);
void node_freep(struct node **n);
const char *node_name(const struct node *n);

/* Starts joining, watching and reporting. */
int node_start(struct node *n, struct err **errp);
/* Whether the node has joined and has assignments (for tests and `berth info`). */
bool node_synced(const struct node *n);

/* Takes an assignments answer ({"revision", "assignments": [...]}) as the desired state. Bad
 * entries are refused as a whole (-EINVAL naming the entry). */
int node_set_assignments(struct node *n, const json_t *answer, struct err **errp);
/* One local pass: removes pods nobody wants any more (newest first), creates missing ones
 * (oldest first), applies restart policies and replaces unhealthy or dead pods. Returns the
 * number of runtime calls made; the first error after trying everything. Does nothing before
 * the first assignments. */
int node_reconcile(struct node *n, uint64_t now_usec, struct err **errp);
/* The body of PUT /v1/nodes/{id}/status: {"pods": [...]} from the runtime's pods. */
int node_status_json(struct node *n, json_t **ret, struct err **errp);

/* The daemon addon: arg is the struct pod_runtime_ops to use (its open() gives the ud); it joins
 * the controller at env->local_url under the host name. */
extern const struct daemon_addon node_addon;
