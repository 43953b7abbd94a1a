/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The controller (DESIGN §3, §6): keeps the desired stacks and the nodes' reports in the store,
 * reconciles every stack level-triggered (on stack changes, status reports and a periodic
 * timer) by writing pod records and per-node assignments, and serves the cluster API
 * (docs/controller.md). It never calls the engine: agents read their assignments over HTTP.
 *
 * The core functions below do the work without HTTP, so tests drive them directly;
 * controller_api.c wraps them as routes. Everything runs on one libev loop: a request is
 * handled to the end before the next one starts, so two `up`s of one stack never interleave. */

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#include "daemon_env.h"
#include "err.h"
#include "store.h"

#define CONTROLLER_RESYNC_SEC 5.0
/* A pass (asked for by a stored node report, a stack change or a liveness change) starts at
 * least this long, and at least twice the previous pass's (or up's) duration, after the previous
 * one ended: at most a third of the loop goes to passes. */
#define CONTROLLER_NODE_PASS_GAP_SEC 0.02
/* Heartbeat times are kept in memory and stored at most this often (controller_live.c). */
#define CONTROLLER_HB_STORE_SEC 5.0
#define CONTROLLER_WATCH_TIMEOUT_MS 30000u
#define CONTROLLER_WATCH_TIMEOUT_MAX_MS 300000u
#define CONTROLLER_STOP_TIMEOUT_KEEP_USEC (300 * USEC_PER_SEC)

struct controller;

/* Takes ownership of store. Marks every known node as "not reported since this start", so
 * nothing is stopped for being absent until each node reported again. loop may be NULL (tests:
 * no timers, the caller calls controller_reconcile_all()). */
int controller_new(struct ev_loop *loop, struct store *store_take, struct controller **ret,
                   struct err **errp);
struct controller *controller_free(struct controller *c);
void controller_freep(struct controller **c);
struct store *controller_store(struct controller *c);
/* How long a node may stay silent before it is down and its pods are rescheduled (0: the
 * default, NODE_GRACE_DEFAULT_USEC). The grace of a node not heard from since the controller
 * started runs from the start. */
void controller_set_node_grace(struct controller *c, uint64_t grace_usec);
uint64_t controller_node_grace(const struct controller *c);

/* PUT /v1/stacks/{name}. body: {"model": <canonical model>, "options": {"force_recreate",
 * "no_recreate", "remove_orphans", "services": [...], "dry_run"}}. Validates (errors name the
 * field), records each changed service's rollout (previous hash and template), computes the plan
 * and, unless dry_run, stores the stack and applies the plan. *ret: {"stack", "generation",
 * "dry_run", "plan": [{"op", "service", "slot", "node", "hash", "old_hash", "reason"}],
 * "summary"}. */
int controller_up(struct controller *c, const char *name, const json_t *body, uint64_t now_usec,
                  json_t **ret, struct err **errp);

/* DELETE /v1/stacks/{name}: removes the stack, then its assignments and pod records service by
 * service in reverse dependency order. timeout_s >= 0 overrides the pods' stop grace period:
 * the agents get it with their next assignments ("stop_timeouts", kept for
 * CONTROLLER_STOP_TIMEOUT_KEEP_USEC). *ret: {"stack", "removed": ["web/1", ...]}. -ENOENT for an
 * unknown stack. */
int controller_down(struct controller *c, const char *name, int timeout_s, json_t **ret,
                    struct err **errp);

/* GET /v1/stacks (name NULL: a list) or /v1/stacks/{name}: each with its services' desired and
 * observed replica counts. */
int controller_stacks(struct controller *c, const char *name, json_t **ret, struct err **errp);
/* GET /v1/services (stack may be NULL). */
int controller_services(struct controller *c, const char *stack, json_t **ret, struct err **errp);
/* GET /v1/pods (stack may be NULL): the desired pods with what their node reported. */
int controller_pods(struct controller *c, const char *stack, json_t **ret, struct err **errp);

/* POST /v1/nodes/join. body: {"name", "labels", "allocatable": {"cpu_millis", "memory"},
 * "role"}. *ret: {"id", "revision"}. */
int controller_join(struct controller *c, const json_t *body, uint64_t now_usec, json_t **ret,
                    struct err **errp);
/* PUT /v1/nodes/{id}/status. body: {"pods": [observed pods], "heartbeat_ms"?}: node_report()
 * (orchestrator/nodes.h) records it with the heartbeat and marks the node reported. -ENOENT for
 * a node that never joined. */
int controller_status(struct controller *c, const char *node, const json_t *body, uint64_t now_usec,
                      struct err **errp);
/* The node's assignments now: {"revision": R, "assignments": [{..., "rev": create_rev}]}, R
 * being the last revision that changed them (or the store's revision). */
int controller_assignments(struct controller *c, const char *node, json_t **ret, struct err **errp);
/* The last revision that changed assignments/<node>/ (0 when none since the start). */
uint64_t controller_assignment_rev(struct controller *c, const char *node);

/* When the controller last heard from node id (any report, heartbeat-only ones included; 0
 * when never since its start, or unknown). Liveness is judged from this time. */
uint64_t controller_node_seen(struct controller *c, const char *id);
/* Judges liveness at now_usec: returns how many nodes went silent past the grace or came back
 * since the last check, and asks for a pass when any did. The daemon calls it from a timer. */
size_t controller_check_liveness(struct controller *c, uint64_t now_usec);
/* Stores the in-memory heartbeat times that are newer than the stored ones, in one
 * transaction that asks for no pass. Returns the number of node records written. */
int controller_store_heartbeats(struct controller *c, uint64_t now_usec, struct err **errp);
/* True when a change (a stack, a stored node report, a liveness change) asked for a pass that
 * has not run yet. */
bool controller_pass_wanted(const struct controller *c);

/* One reconcile pass over every stack; per-stack errors are logged and backed off. Returns the
 * number of ops applied. */
int controller_reconcile_all(struct controller *c, uint64_t now_usec);

/* The daemon addon (register it in main.c). Opens <root>/controller/state.db. */
extern const struct daemon_addon controller_addon;
