/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Overlay networks of the controller (overlay_*, docs/cluster.md "Overlay networks").
 *
 * A stack network with `driver: overlay` spans every node: the controller gives it a VXLAN
 * network identifier and a subnet, every pod on it an address, and every node on it an address
 * of its own (the source of VIP traffic the node DNATs to a remote replica, so replies come
 * back through it). One store document per network:
 *
 *   overlay/<stack>/<network key>
 *     {"vni": 4096, "subnet": "10.128.0.0/24", "gateway": "10.128.0.1",
 *      "pods": {"<node>/<pod>": "10.128.0.2", ...}, "nodes": {"<node>": "10.128.0.254", ...}}
 *
 * Pod addresses are per assignment (node and pod name): a pod that moves gets a new address,
 * so a stale copy on a node that comes back never shares it. MACs are derived from addresses
 * (02:42 + the four bytes, like the engine's). The agents get the network, their pods'
 * addresses and the endpoint table of the other nodes with their assignments
 * (overlay_decorate). */

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "store.h"

/* Subnets are /24s of 10.128.0.0/10 unless the stack names one. */
#define OVERLAY_POOL_BASE 0x0a800000u
#define OVERLAY_POOL_PREFIX 10
#define OVERLAY_SUBNET_PREFIX 24
#define OVERLAY_VNI_FIRST 4096u
#define OVERLAY_VNI_LAST 0xffffffu
/* Bytes of outer Ethernet, IP, UDP and VXLAN headers: an overlay's MTU is the underlay's minus
 * this (the agent knows its underlay MTU). */
#define OVERLAY_MTU_OVERHEAD 50

/* The overlay network keys of a canonical model (sorted strv): networks with driver overlay
 * that are not external. */
char **overlay_wanted(const json_t *model);

/* The network keys of a pod template, sorted as the model has them ("default" when it names
 * none; none with a network_mode). */
char **overlay_pod_net_keys(const json_t *pod);
/* Part B of issue #10 (docs/cluster.md "Overlay by default"): when at least two nodes of the
 * cluster have an advertise address, the model's stack networks that name no driver
 * (driver bridge without driver_explicit) and that old (the stored model, may be NULL) did not
 * have become overlay networks; a network old has keeps its driver. Returns how many changed. */
int overlay_default_networks(struct store *s, json_t *model, const json_t *old);
/* Makes the store hold exactly the overlay networks the model wants for the stack: new ones get
 * the lowest free VNI and their declared subnet or the first free /24 of the pool; kept ones
 * never change; gone ones are released. A subnet overlapping another network (any stack's
 * overlay network or declared subnet, or the service VIP range) is refused naming both, and
 * then nothing is changed. One transaction. */
int overlay_sync_stack(struct store *s, const char *stack, const json_t *model, struct err **errp);
/* Releases every overlay network of the stack and its routing mesh ports (down). */
int overlay_release(struct store *s, const char *stack, struct err **errp);
/* The address pass: every assignment on an overlay network gets an address, and its node one;
 * addresses of assignments (and nodes) that are gone are released. One transaction. Returns 1
 * when something changed. */
int overlay_assign(struct store *s, struct err **errp);
/* Adds to an assignments answer of node ({"assignments": [...], "stacks": {...}}): each overlay
 * network's vni, subnet, gateway, vtep_local (the node's advertise address) and node_ip in
 * stacks.<stack>.networks.<key>; each pod's address as pod.networks.<key>.ipv4_address; and
 * stacks.<stack>.overlay.endpoints: the pods and nodes of the stack on OTHER nodes
 * ({"network", "ip", "mac", "vtep", "node", "pod", "ready", "names", "endpoint"}). An overlay
 * pod without an address yet (before the next address pass) is left out of the answer. */
int overlay_decorate(struct store *s, const char *node, json_t *answer, struct err **errp);
/* Whether the store has any overlay network (the controller skips the overlay work if not). */
bool overlay_any(struct store *s);
/* The stacks whose routing mesh (mesh.h) gives node an address on one of their overlay
 * networks: its assignments answer carries them even without a pod there (strv). */
char **overlay_mesh_stacks(struct store *s, const char *node);
