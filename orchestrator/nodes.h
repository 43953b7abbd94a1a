/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The node records in the store (`nodes/<id>`, the observed format of docs/orchestrator.md plus
 * the node's reported "pods"): what the controller's API handlers call when an agent joins or
 * reports (`POST /v1/nodes/join`, `PUT /v1/nodes/{id}/status`) and when an operator changes a
 * node (`berth node update`). Fields have one owner each:
 *   agent:    name, role, ready, allocatable, allocated, volumes, pods
 *   operator: labels, availability, fenced
 *   controller: id, reported, last_heartbeat_usec
 * A report never overwrites operator fields, an operator update never touches agent fields. */

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "macro.h"
#include "store.h"

#define NODE_ID_MAX 64
/* A node whose last report is older than this many of its heartbeat intervals is "suspect". */
#define NODE_SUSPECT_BEATS 3
#define NODE_GRACE_DEFAULT_USEC (5 * USEC_PER_SEC)

/* Checks a node id: 1..64 of [A-Za-z0-9_.-], not starting with '.' or '-'. */
int node_id_valid(const char *id, struct err **errp);

/* Stores an agent's status report for node id (validated: the observed node fields and every
 * pod, whose "node" must be id or absent), marks the node reported and stamps the heartbeat with
 * now_usec. Agent fields the report leaves out keep their stored value ("heartbeat_ms", the
 * agent's report interval, is one of them). Creates the record on the first report. Errors name
 * the field. */
int node_report(struct store *s, const char *id, const json_t *status, uint64_t now_usec,
                struct err **errp);

/* Applies an operator change: any of "labels" (object of strings, replaces), "availability"
 * (active | pause | drain), "fenced" (bool). -ENOENT for an unknown node; other keys are
 * -EINVAL. */
int node_update(struct store *s, const char *id, const json_t *patch, struct err **errp);

/* Forgets a node (after it was fenced or drained): -EBUSY while it still reports pods and is
 * not fenced. Returns 1 if removed, 0 if there was none. */
int node_remove(struct store *s, const char *id, struct err **errp);

/* At controller start: marks every node as not reported yet, in one transaction, so that the
 * planner stops nothing for being absent until each agent has reported again, and moves older
 * heartbeats up to now_usec, so a node's grace runs from the controller's start at the earliest.
 * Returns the number of nodes. */
int nodes_reset_reported(struct store *s, uint64_t now_usec, struct err **errp);

/* Stores the heartbeat times the controller keeps in memory (orchestrator/heartbeat.h), lazily:
 * sets last_heartbeat_usec of nodes/<ids[i]> to usecs[i] where that is newer, in one
 * transaction, each put conditional on the revision read. Nodes that are gone are skipped.
 * Returns the number of records written. */
int nodes_store_heartbeats(struct store *s, char *const *ids, const uint64_t *usecs, size_t n,
                           struct err **errp);

/* The state of a node record at now_usec: "fenced", "down" (not ready, or no report for
 * grace_usec), "suspect" (no report for NODE_SUSPECT_BEATS of its heartbeat intervals) or
 * "ready". */
const char *node_state(const json_t *doc, uint64_t now_usec, uint64_t grace_usec);
