/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The controller's state, shared by controller.c (core) and controller_api.c (routes). */

#include <ev.h>

#include "controller.h"
#include "exec.h"
#include "store.h"

struct http_req;
struct http_router;

struct node_rev {
        char *node;
        uint64_t rev;
};

/* A parked GET /v1/nodes/{id}/assignments?watch=REV. */
struct ctl_waiter {
        struct controller *ctl;
        struct http_req *req;
        char *node;
        uint64_t rev;
        ev_timer timeout;
        struct ctl_waiter *next;
};

struct controller {
        struct ev_loop *loop;
        struct store *store;
        ev_timer resync; /* periodic reconcile */
        ev_timer kick;   /* reconcile soon: a stack or a node changed */
        bool dirty;      /* stacks/ or nodes/ changed since the last pass */
        bool waiters_due;
        struct backoff backoff; /* per stack */
        struct node_rev *revs;
        size_t n_revs, alloc_revs;
        struct ctl_waiter *waiters;
        bool in_pass;
        uint64_t grace_usec; /* a node silent this long is down (--node-grace) */
        /* {node: {pod name: {"t": seconds, "until": usec}}} from `down -t` */
        json_t *stop_timeouts;
        /* {stack: [{"service", "slot", "node", "reason"}]}: the WAIT ops of each stack's last
         * plan, shown by GET /v1/pods (`berth service ps`) */
        json_t *waits;
        /* Passes a node report asks for are spaced out (schedule_node_pass in controller.c) */
        bool kick_delayed;   /* kick is armed with a delay, for a node report */
        double pass_end;     /* ev_time() at the end of the last pass */
        double pass_seconds; /* how long the last pass took */
        /* {node: digest of its last assignments answer} while overlay networks exist
         * (controller_overlay.c) */
        json_t *overlay_digests;
        struct stack_watch *stack_watch; /* parked GET /v1/stacks/{name}?watch= (stack_watch.c) */
};

/* Answers the parked watches whose node's assignments moved (controller_api.c). */
void ctl_waiters_flush(struct controller *c, bool all);
void ctl_waiters_free(struct controller *c);
/* Overlay networks (controller_overlay.c): allocates addresses, wakes the watches of nodes whose
 * view changed. Not from a store watch callback. */
void ctl_overlay_pass(struct controller *c);
int controller_api_register(struct http_router *router, struct err **errp);
