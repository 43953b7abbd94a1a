/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Remote endpoints of overlay networks on this node (overlay_peers_*, docs/cluster.md).
 *
 * The controller sends, with the node's assignments, each stack's endpoint table
 * (stacks.<stack>.overlay.endpoints: the pods and nodes of the stack on other nodes, with IP,
 * MAC, their node's underlay address, DNS names and service endpoint; orchestrator/overlay.h).
 * overlay_peers_sync() makes the kernel and the DNS agree with it, by difference:
 * - an FDB entry (MAC -> remote VTEP) and a permanent neighbour (IP -> MAC) per endpoint, on
 *   the network's VXLAN device (netmgr_overlay_peer_add/del): no flooding, no learning;
 * - the remote pods' container names and aliases in the network's DNS table;
 * - the remote pods as members of the service names and VIPs (pod_vip_set_remote), so a
 *   service resolves and balances over its replicas on every node.
 * Entries of a network that is gone (its VXLAN device took them along) are forgotten. */

#include <jansson.h>

struct daemon;
struct pod_vip;
struct overlay_peers;

struct overlay_peers *overlay_peers_new(struct daemon *d);
struct overlay_peers *overlay_peers_free(struct overlay_peers *p);
/* stacks: the assignments answer's "stacks" (may be NULL: nothing remote). */
void overlay_peers_sync(struct overlay_peers *p, const json_t *stacks, struct pod_vip *vip);
