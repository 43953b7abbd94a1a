/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The pure planner (DESIGN §6, STYLE C18): from the desired stack and the observed cluster it
 * computes the work to do, sorted into buckets, each entry with a reason. No I/O, no clock
 * (`now_usec` is a parameter), inputs untouched: the same inputs always give the same plan. The
 * rules are listed in docs/orchestrator.md. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "model.h"

enum plan_kind {
        PLAN_START,    /* start pod slot on node */
        PLAN_STOP,     /* stop and remove the pod (scale down, superseded) */
        PLAN_REPLACE,  /* start a new pod for the slot and stop the old one, in `order` */
        PLAN_REMOVE,   /* stop and remove an orphan (its service is no longer defined) */
        PLAN_KEEP,     /* nothing to do */
        PLAN_WAIT,     /* something to do, but blocked (the reason says on what) */
        PLAN_ROLLBACK, /* service-level: record rollout state rollback (target previous_hash) */
        PLAN_PAUSE,    /* service-level: record rollout state paused */
        PLAN_DONE,     /* service-level: the update finished, record rollout state none */
        _PLAN_KIND_MAX,
        _PLAN_KIND_INVALID = -EINVAL,
};

const char *plan_kind_to_string(enum plan_kind k);

struct plan_op {
        enum plan_kind kind;
        char *service;
        unsigned slot;           /* 0 for service-level ops */
        char *node;              /* START/REPLACE: where the new pod goes; others: the pod's node */
        char *old_node;          /* REPLACE, and START after a node went down: the old pod's node */
        char *hash;              /* template to start (START/REPLACE), the pod's otherwise */
        char *old_hash;          /* REPLACE, START after a node went down: the old pod's template */
        enum update_order order; /* REPLACE */
        uint64_t generation;     /* jobs: generation of the new pod */
        char *reason;
};

struct plan {
        char *stack;
        struct plan_op *ops;
        size_t n_ops, alloc_ops;
        size_t count[_PLAN_KIND_MAX];
};

void plan_done(struct plan *p);

/* Computes the plan for desired (one stack with its `up` options) against observed. Pods of
 * other stacks in observed only count for scheduling (their "reserved" resources). -EINVAL for an
 * inconsistent model (dependency cycle, unknown required dependency, bad constraint), naming the
 * service. */
int plan_compute(const struct model_stack *desired, const struct observed *observed,
                 uint64_t now_usec, struct plan *ret, struct err **errp);

/* One line per op: "START web/2 on n1: replicas 2 < 3". Allocated; "" for an empty plan. */
char *plan_summary(const struct plan *p);
/* The plan as JSON for the API (e.g. `up --dry-run`): {"stack", "counts": {"START": 1, ...},
 * "ops": [{"kind", "service", "slot", "node", "old_node", "hash", "old_hash", "order",
 * "generation", "reason"}]}; absent fields are left out. New reference. */
json_t *plan_to_json(const struct plan *p);
/* "web/2" or "web" for service-level ops; allocated. */
char *plan_op_name(const struct plan_op *op);
