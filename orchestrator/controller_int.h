/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The controller's state, shared by controller.c (core) and controller_api.c (routes). */

#include <ev.h>

#include "controller.h"
#include "exec.h"
#include "heartbeat.h"
#include "store.h"

struct http_req;
struct http_router;
struct sbox_key;

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
        uint64_t shared_gen; /* c->shared_gen when parked */
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
        /* Node liveness in memory (controller_live.c): heartbeat-only reports stop here */
        struct hb_table hb;
        ev_timer live;         /* judges liveness, stores heartbeat times lazily */
        bool hb_writing;       /* the nodes/ watch ignores the lazy heartbeat writes */
        uint64_t hb_stored_at; /* when heartbeat times were last stored */
        /* {stack: {"parts", "ranks"}} of assignment answers (stack_shared in controller.c),
         * dropped on every change under stacks/ or vips/, which also bumps shared_gen */
        json_t *shared_cache;
        uint64_t shared_gen;
        struct tunnel *tunnel; /* the reverse channel to agents (tunnel.c), made on first use */
        /* secrets.c: the data key's file and the key once loaded */
        char *secrets_key_path;
        struct sbox_key *secrets_key;
};

/* controller_live.c */
void ctl_live_start(struct controller *c);
void ctl_live_stop(struct controller *c);
void ctl_live_regrace(struct controller *c);
/* Sets each observed node's heartbeat to the newer in-memory one (an observed_fix_fn). */
void ctl_fix_observed(struct observed *o, void *ud);
/* A status report whose canonical text (hb_report_text) is text: when it repeats the stored
 * one, records the heartbeat in memory and returns true (nothing else to do); false when it
 * must be stored. A node heard again after it was judged down asks for a pass either way. */
bool ctl_heartbeat_only(struct controller *c, const char *node, const char *text,
                        uint64_t now_usec);
/* The nodes/ watch: forgets the stored report of a node whose record changed. */
void ctl_live_node_changed(struct controller *c, const char *key, bool deleted);
/* Sets c->dirty and schedules a pass (controller.c). */
void ctl_want_pass(struct controller *c);

/* An unsigned query parameter, def when absent; answers 400 naming it when bad
 * (controller_api.c). */
int ctl_query_u64(struct http_req *req, const char *name, uint64_t def, uint64_t max,
                  uint64_t *ret);
/* Answers the parked watches whose node's assignments moved (controller_api.c). */
void ctl_waiters_flush(struct controller *c, bool all);
void ctl_waiters_free(struct controller *c);
/* Overlay networks (controller_overlay.c): allocates addresses, wakes the watches of nodes whose
 * view changed. Not from a store watch callback. */
void ctl_overlay_pass(struct controller *c);
int controller_api_register(struct http_router *router, struct err **errp);
