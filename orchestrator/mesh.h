/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The routing mesh of the controller (mesh_*, docs/cluster.md "Routing mesh").
 *
 * A service on an overlay network that publishes a port (compose `ports` in ingress mode, the
 * default; a Kubernetes NodePort) answers on that port on every node of the cluster that has
 * an advertise address, and the connection goes to a ready replica on any node through the
 * service's VIP chain. At `up` the controller stores the stack's mesh ports in one document:
 *
 *   mesh/<stack>  [{"service": "web", "network": "default", "port": 80, "protocol": "tcp",
 *                   "published": 8080}, ...]
 *
 * and from then on every node with an advertise address gets an address on that overlay
 * network (overlay_assign), the stack's parts with a "mesh" list in its assignments answer
 * even without a replica (overlay_decorate), and the pods' own host bindings of those ports are
 * dropped (the mesh serves them; two replicas on one node do not clash). */

#include <stdbool.h>

#include <jansson.h>

#include "err.h"
#include "store.h"

#define MESH_PREFIX "mesh/"

/* The mesh ports of a canonical model (array, see above; empty when none). A service counts
 * when its endpoint mode is vip and one of its pod's networks is an overlay network; ports with
 * a host_ip, a range or mode host are the pod's own, as without the mesh. */
json_t *mesh_ports(const json_t *model);
/* Refuses mesh ports of the model that another stack's mesh already publishes, or that two
 * services of the model publish: "services.web.ports: host port 8080/tcp is already published
 * by service 'api' of stack 'b' (the routing mesh publishes it on every node)". */
int mesh_check(struct store *s, const char *stack, const json_t *model, struct err **errp);
/* Refuses a single host port published (ingress mode, compose's default) by a service of more
 * than one replica unless the routing mesh serves it (an overlay network, mesh_ports()): with
 * the mesh the replicas bind nothing, elsewhere every replica would bind it on its node.
 * "services.web.ports: host port 8080 is published by 2 replicas (use a range or drop the host
 * port)". Host mode ports are refused by the compose file's validation already. */
int mesh_check_replicas(const json_t *model, struct err **errp);
/* Stores (or, without mesh ports, deletes) mesh/<stack>. */
int mesh_store(struct store *s, const char *stack, const json_t *model, struct err **errp);
/* {stack: [mesh ports]} of every stack with some; NULL on a store error. */
json_t *mesh_load(struct store *s);
/* Whether the node (its record) takes part in the mesh: it reported an IPv4 advertise address
 * (its VTEP). Hollow nodes and agents without --advertise-addr do not. */
bool mesh_node_eligible(const json_t *node);
