/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* One reconcile pass of a stack against the store (DESIGN §6): read the desired stack and the
 * nodes' reported state, compute a plan, apply it by writing pod records and per-node
 * assignments that agents watch. The controller's loop calls reconcile_stack() on every event
 * or timer; everything else about it (HTTP, timers) lives in the daemon.
 *
 * Store layout used here (values are JSON):
 *   stacks/<stack>                          the canonical model, with "up" and per-service
 *                                           "x-rollout" ({state, previous_hash, previous_pod})
 *   nodes/<id>                              a node as in docs/orchestrator.md's observed format,
 *                                           plus "pods": the pods the agent reported
 *   pods/<stack>/<svc>/<slot>               the pod the controller wants for that slot
 *   assignments/<node>/<stack>.<svc>.<slot>.<hash12>   what the agent of <node> must run
 * A pod record and an assignment hold {stack, service, slot, node, hash, generation, reserved,
 * pod}; "reserved" ({cpu_millis, memory}) is what the agent reports back with the pod. */

#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "exec.h"
#include "plan.h"
#include "store.h"

/* The executor that applies a plan to the store. ud is a struct store_exec. */
struct store_exec {
        struct store *store;
        const json_t *stack; /* the stack document the plan was computed from (borrowed) */
};
extern const struct executor_ops store_exec_ops;

/* Builds the observed state from every nodes/<id> document (their "pods" are flattened). */
int observed_from_store(struct store *s, struct observed **ret, struct err **errp);

/* Computes and applies the plan for stacks/<name>. node_timeout_ms (0: the stack's own
 * up.node_timeout_ms) is how long a silent node stays up: the controller's --node-grace.
 * ret_plan (may be NULL) gets the plan, also when applying failed. -ENOENT when the stack does
 * not exist. */
int reconcile_stack(struct store *s, const char *name, uint64_t now_usec, uint64_t node_timeout_ms,
                    struct plan *ret_plan, struct err **errp);

/* reconcile_stack() with fix (may be NULL) called on the observed state before planning: the
 * controller sets each node's heartbeat to the newer time it keeps in memory. */
typedef void observed_fix_fn(struct observed *o, void *ud);
int reconcile_stack_fixed(struct store *s, const char *name, uint64_t now_usec,
                          uint64_t node_timeout_ms, observed_fix_fn *fix, void *fix_ud,
                          struct plan *ret_plan, struct err **errp);

/* Key helpers (allocated). */
char *key_pod(const char *stack, const char *service, unsigned slot);
char *key_assignment(const char *node, const char *stack, const char *service, unsigned slot,
                     const char *hash);
