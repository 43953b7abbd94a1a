/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Service names and VIPs of stack pods on this node (pod_vip_*).
 *
 * A pod's owner container carries the label berth.endpoint (pod_body.c):
 *   {"names": ["web", <Kubernetes Service>], "mode": "vip"|"dnsrr",
 *    "ports": [{"port", "target", "protocol"}], "vips": {<network name>: "10.96.0.3"}}
 * The service's names are not container aliases: this module keeps them in each network's DNS
 * table itself, so only ready replicas (running; healthy when they have a health check) are in
 * them and a replica can leave before it is stopped.
 *
 * - A service with a VIP on a network (mode vip, endpoint ports, a VIP from the controller
 *   outside every local subnet): its names resolve to the VIP there, and connections to
 *   VIP:port are DNAT'ed round robin to target port of the ready replicas' addresses on that
 *   network (netmgr_set_services). The VIP resolves even with no ready replica.
 * - Otherwise (dnsrr, no ports, no VIP): the names resolve to the ready replicas' addresses.
 *
 * pod_vip_sync() runs on every list of the pod runtime (each local pass of the agent);
 * pod_vip_withdraw() takes a pod out of DNS and every VIP at once, before it is stopped. */

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"
#include "net/nft.h"
#include "pods.h"

/* One replica as the pure planner sees it (all borrowed). */
struct pod_vip_member {
        const char *pod;
        bool ready;
        const json_t *endpoint; /* the berth.endpoint label, parsed */
        const json_t *addrs;    /* {network name: "ip"} */
};

/* What should be in force: DNS entries as "network\tname\tip" (sorted, unique) and the nft
 * services (names "stack/service@network:port/proto", backends sorted). key is a text form of
 * svcs to compare sets. */
struct pod_vip_plan {
        char **dns;
        struct nft_service *svcs;
        size_t n_svcs;
        char *key;
};

/* Pure. vip_usable (may be NULL = all usable) says whether a VIP can be used (not inside a
 * local subnet). */
void pod_vip_plan_compute(const struct pod_vip_member *m, size_t n,
                          bool (*vip_usable)(void *ud, uint32_t vip), void *ud,
                          struct pod_vip_plan *ret);
void pod_vip_plan_done(struct pod_vip_plan *p);

struct daemon;
struct pod_vip;

struct pod_vip *pod_vip_new(struct daemon *d);
struct pod_vip *pod_vip_free(struct pod_vip *v);
/* Recomputes from the daemon's containers with these pod states and applies the difference. */
void pod_vip_sync(struct pod_vip *v, const struct pod_status *pods, size_t n);
/* Replaces the replicas on other nodes (overlay_peers.h): an array of {"pod", "ready",
 * "endpoint" (like the label, VIPs by network name), "addrs" ({network name: ip})}. They join
 * the service names and VIP backends of the networks this node has. */
void pod_vip_set_remote(struct pod_vip *v, const json_t *members);
/* Replaces the routing mesh ports of this node (overlay_peers.h, docs/cluster.md "Routing
 * mesh"): an array of {"vip", "port", "protocol", "published"}: connections to the published
 * port of any local address go to the ready replicas of the service vip:port/protocol,
 * through the same chain as the VIP (so a replica leaves both at once). */
void pod_vip_set_mesh(struct pod_vip *v, const json_t *mesh);
/* Takes the pod out of every DNS name and VIP now (it is about to be stopped); it stays out
 * until its containers are gone. */
void pod_vip_withdraw(struct pod_vip *v, const char *pod);
