/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Applying a plan through an executor (STYLE C18): the real executor calls agents over HTTP, the
 * recording one writes each call as a line of text (Nomad's Harness idea). Also the per-key
 * backoff bookkeeping the controller uses to re-queue failed ops: pure functions over a table. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "plan.h"

/* Every callback gets the op it serves; its fields say what to do (service, slot, node, hash,
 * generation; for the stop half of a REPLACE, old_node and old_hash). */
struct executor_ops {
        /* Start a pod for op->slot on op->node with template op->hash. */
        int (*start)(void *ud, const char *stack, const struct plan_op *op, struct err **errp);
        /* Stop and remove the pod of op->slot on node with template hash. */
        int (*stop)(void *ud, const char *stack, const struct plan_op *op, const char *node,
                    const char *hash, struct err **errp);
        /* Stop and remove an orphan pod (op->node, op->hash). */
        int (*remove)(void *ud, const char *stack, const struct plan_op *op, struct err **errp);
        /* Record the service's rollout state (ROLLBACK and PAUSE ops). */
        int (*set_rollout)(void *ud, const char *stack, const char *service,
                           enum rollout_state state, struct err **errp);
        /* Optional: told about every failed op (e.g. to back off its key). */
        void (*failed)(void *ud, const char *stack, const struct plan_op *op, const struct err *e);
        /* Optional: false skips the op this time (e.g. its key is backing off). */
        bool (*ready)(void *ud, const char *stack, const struct plan_op *op);
};

/* Applies the ops in this order: rollout records; STOPs and REMOVEs (they free resources);
 * stop-first REPLACEs (stop, then start); STARTs; start-first REPLACEs (start, then stop).
 * Within each phase the plan's order (dependencies first) is kept. KEEP and WAIT do nothing. A
 * failed op does not stop the others (the loop is level-triggered, the next pass retries); the
 * first failure is returned, wrapped with the op, after all ops were tried. Returns the number of
 * executor calls made. */
int plan_apply(const struct plan *p, const struct executor_ops *ops, void *ud, struct err **errp);

/* The recording executor: ud is a struct exec_recorder. */
struct exec_recorder {
        char **lines;  /* strv: "start shop web/2 on n1 abc123 gen 0", ... */
        char **fail;   /* strv of "verb name" ("start web/2") that should fail with EIO */
        char **failed; /* strv of op names reported through ->failed */
        char **skip;   /* strv of op names ->ready refuses */
};
extern const struct executor_ops exec_recorder_ops;
void exec_recorder_done(struct exec_recorder *r);

/* The backoff key of an op: "<stack>/<service>/<slot>" (allocated). */
char *plan_op_key(const char *stack, const struct plan_op *op);

/* Per-key backoff for failed ops: the next attempt after n earlier failures is
 * now + min(base << n, cap) (100 ms doubling to the cap, STYLE C16). */
#define BACKOFF_BASE_USEC (100 * USEC_PER_MSEC)
#define BACKOFF_CAP_USEC (60 * USEC_PER_SEC)

struct backoff_entry {
        char *key;
        unsigned failures;
        uint64_t next_usec;
};

struct backoff {
        struct backoff_entry *entries;
        size_t n, alloc;
        uint64_t base_usec, cap_usec; /* 0 = the defaults above */
};

uint64_t backoff_delay(unsigned prior_failures, uint64_t base_usec, uint64_t cap_usec);
/* Records a failure of key at now; returns the time of the next attempt. */
uint64_t backoff_failed(struct backoff *b, const char *key, uint64_t now_usec);
/* Forgets key (it succeeded). Returns true if it was there. */
bool backoff_succeeded(struct backoff *b, const char *key);
/* Whether key may be tried at now (unknown keys always may). */
bool backoff_ready(const struct backoff *b, const char *key, uint64_t now_usec);
/* Earliest next attempt among all keys, UINT64_MAX when empty (for arming a timer). */
uint64_t backoff_next(const struct backoff *b);
void backoff_done(struct backoff *b);
