/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The scheduler: picks a node for a new pod (pure, no I/O). Filters, in order: availability
 * (active; pause and drain take no new pods), readiness, placement constraints, max replicas
 * per node, volume affinity (a pod with a named volume goes where that volume lives), resources
 * (reservations against allocatable). Scores the survivors: fewest replicas of the same service
 * first (spread), then least allocated, then node id. When nothing fits, the reason counts the
 * nodes per failed filter: "0/3 nodes available: 2 do not match constraint
 * node.labels.zone==a, 1 insufficient memory".
 *
 * Cost per placement is O(nodes): the static filters (availability, readiness, constraints) are
 * evaluated once per group (service) and per-service replica counts are kept per node. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"

enum sched_field {
        SCHED_FIELD_LABEL,    /* node.labels.KEY */
        SCHED_FIELD_HOSTNAME, /* node.hostname */
        SCHED_FIELD_ROLE,     /* node.role */
        SCHED_FIELD_ID,       /* node.id */
        _SCHED_FIELD_MAX,
        _SCHED_FIELD_INVALID = -EINVAL,
};

struct sched_constraint {
        enum sched_field field;
        char *key;  /* label key */
        bool equal; /* == or != */
        char *value;
        char *text; /* as written, for reasons */
};

/* Parses "node.labels.zone==a", "node.role!=manager", ... */
int sched_constraint_parse(const char *s, struct sched_constraint *ret, struct err **errp);
void sched_constraint_done(struct sched_constraint *c);
bool sched_constraint_match(const struct sched_constraint *c, const struct obs_node *n);

struct sched;

/* A scheduler over nodes (borrowed: they must outlive the scheduler). now_usec and
 * node_timeout_ms decide which nodes count as down (not ready, or heartbeat too old). */
struct sched *sched_new(const struct obs_node *nodes, size_t n_nodes, uint64_t now_usec,
                        uint64_t node_timeout_ms);
struct sched *sched_free(struct sched *s);
void sched_freep(struct sched **s);

/* True when the node is up: ready, not fenced, heartbeat within the timeout. */
bool sched_node_up(const struct sched *s, size_t node);
size_t sched_node_index(const struct sched *s, const char *id); /* SIZE_MAX if unknown */

/* Declares a group of identical pods (one service): constraints are parsed (errors name the
 * service and constraint), per-node eligibility is computed once. Returns the group index. */
int sched_add_group(struct sched *s, const char *name, char *const *constraints,
                    unsigned max_per_node, uint64_t cpu_millis, uint64_t memory,
                    char *const *volumes, struct err **errp);

/* Records an existing pod of group on node (counts it and its reservations). */
void sched_account(struct sched *s, int group, size_t node);
/* Records resources used on node outside any group (pods of other stacks). */
void sched_reserve(struct sched *s, size_t node, uint64_t cpu_millis, uint64_t memory);
/* Forgets a pod recorded with sched_account (a pod being stopped). */
void sched_unaccount(struct sched *s, int group, size_t node);

/* Picks a node for one new pod of group, never one in exclude (may be SIZE_MAX), and accounts
 * it. -ENOSPC with *ret_reason set (allocated) when no node fits. */
int sched_place(struct sched *s, int group, size_t exclude, size_t *ret_node, char **ret_reason);
/* Whether node still passes every filter for group (for keeping a replacement in place). */
bool sched_fits(struct sched *s, int group, size_t node);

const struct obs_node *sched_node(const struct sched *s, size_t node);

/* The number of pods of group recorded on node. */
unsigned sched_count(const struct sched *s, int group, size_t node);
/* Rebalancing: among the nodes other than from that take one more pod of group (sched_fits),
 * the one holding the fewest pods of it (then the least loaded), provided it holds at least two
 * fewer than from: moving one pod there evens the spread without reversing it. Nothing is
 * accounted. SIZE_MAX when no move helps. */
size_t sched_rebalance_target(struct sched *s, int group, size_t from);
