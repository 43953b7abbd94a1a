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
#include "store.h"

#define NODE_ID_MAX 64

/* Checks a node id: 1..64 of [A-Za-z0-9_.-], not starting with '.' or '-'. */
int node_id_valid(const char *id, struct err **errp);

/* Stores an agent's status report for node id (validated: the observed node fields and every
 * pod, whose "node" must be id or absent), marks the node reported and stamps the heartbeat with
 * now_usec. Creates the record on the first report (join). Errors name the field. */
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
 * planner stops nothing for being absent until each agent has reported again. Returns the
 * number of nodes. */
int nodes_reset_reported(struct store *s, struct err **errp);
