/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <ev.h>
#include <sys/socket.h>

#include "err.h"
#include "net/ipam.h"
#include "net/net.h"
#include "net/nft.h"

/* The network manager (netmgr_*): what the daemon calls. It ties the pieces together: network
 * records and their endpoints persisted in <root>/networks/<name>.json, the driver, the
 * nftables ruleset (written whole at start-up and when networks change, element by element
 * when containers connect or services change) and one embedded DNS server per user
 * network on the gateway address. Every public call leaves the kernel, the files and the
 * in-memory state consistent: on failure the partial work is undone. */

struct netmgr_opts {
        const char *root;
        const struct ipam_pool *pools; /* NULL = ipam_default_pools */
        size_t n_pools;
        const struct sockaddr_storage *upstreams; /* DNS forwarders (not for internal nets) */
        size_t n_upstreams;
        uint16_t dns_port; /* 0 = 53 */
        bool no_dns;       /* no embedded DNS servers */
        bool no_default;   /* do not create the default network "bridge" */
        /* The name of this root's kernel objects (net_instance_name): nft tables `ip NAME` and
         * `bridge NAME`, default bridge net_instance_bridge(NAME). NULL = "berth" (berth0). */
        const char *instance;
};

struct netmgr;

/* Loads every network of root, creates the default network when missing, (re)creates each
 * network's bridge (idempotent), starts DNS and applies the firewall: this is the start-up
 * reconciliation. loop drives the DNS servers. */
int netmgr_new(struct ev_loop *loop, const struct netmgr_opts *o, struct netmgr **ret,
               struct err **errp);
/* Stops the DNS servers and frees memory; leaves bridges, veths and rules in place (containers
 * keep running across daemon restarts). */
struct netmgr *netmgr_free(struct netmgr *m);
void netmgr_freep(struct netmgr **m);
#define _cleanup_netmgr_ _cleanup_(netmgr_freep)

/* The subnet ("a.b.c.d/len") already on this instance's default bridge device (left by an
 * earlier run whose state is gone); buf is left empty when there is none. The default network
 * adopts it rather than adding one more subnet to the device. */
void netmgr_default_bridge_subnet(struct netmgr *m, char *buf, size_t n);

/* The manager's nft table name (both families) and default bridge device. */
const char *netmgr_nft_table(const struct netmgr *m);
const char *netmgr_default_bridge(const struct netmgr *m);

size_t netmgr_n_networks(const struct netmgr *m);
const struct net_network *netmgr_network_at(const struct netmgr *m, size_t i);
const struct net_network *netmgr_network_get(const struct netmgr *m, const char *name);

/* Endpoints of a network, for inspection (NULL past the end or for an unknown network). */
size_t netmgr_n_endpoints(const struct netmgr *m, const char *network);
const struct net_endpoint *netmgr_endpoint_at(const struct netmgr *m, const char *network,
                                              size_t i);

int netmgr_network_create(struct netmgr *m, const struct net_create_opts *o,
                          const struct net_network **ret, struct err **errp);
/* EBUSY while endpoints are connected, EPERM for the default network. Returns 1 if removed, 0
 * if there was no such network. */
int netmgr_network_remove(struct netmgr *m, const char *name, struct err **errp);
/* The same for the default network (a daemon undoing its own failed start). */
int netmgr_default_remove(struct netmgr *m, const char *name, struct err **errp);

struct netmgr_connect_opts {
        const char *id;     /* container id: owner of the address */
        const char *ifname; /* NULL = eth0 */
        const char *ip;     /* --ip, NULL = next free */
        const char *mac;    /* --mac-address, NULL = derived from the IP */
        char *const *ports; /* -p specs, may be NULL */
        char *const *names; /* DNS names: container name, aliases, --link aliases */
};
/* Connects the container whose network namespace is netns_fd. *ret (optional) stays owned by
 * the manager. */
int netmgr_connect(struct netmgr *m, const char *network, const struct netmgr_connect_opts *o,
                   int netns_fd, const struct net_endpoint **ret, struct err **errp);
/* Returns 1 if disconnected, 0 if the container was not on the network. */
int netmgr_disconnect(struct netmgr *m, const char *network, const char *id, struct err **errp);
/* The same for a running container whose network namespace is netns_fd: on an overlay network
 * with the macvlan data path its interface is taken out of that namespace (nothing of it is on
 * the host, so netmgr_disconnect() leaves it to die with the namespace). */
int netmgr_disconnect_netns(struct netmgr *m, const char *network, const char *id, int netns_fd,
                            struct err **errp);
/* Disconnects the container from every network; returns how many. For a container that has
 * stopped (exit, rm, daemon start-up): the host ends are left to the kernel, which deletes them
 * with the container's namespace, so the caller does not wait for that; a timer on the loop
 * deletes what is still there after 2 s, and a later connect of the same endpoint cancels it. */
int netmgr_disconnect_all(struct netmgr *m, const char *id, struct err **errp);
/* Writes the endpoint files (<root>/networks/<name>.live) that connects and disconnects left
 * to the end of the loop iteration (an ev_prepare watcher does it then). A caller that lets a
 * connected container run calls it first, so that no container runs with an address the files
 * do not record. Returns the first write error; what failed is tried again later. */
int netmgr_flush(struct netmgr *m, struct err **errp);
/* Programs (or removes) a remote endpoint of an overlay network, as learnt from the controller.
 * Kernel entries survive daemon restarts with the VXLAN device; the controller re-sends peers
 * after a reboot. */
int netmgr_overlay_peer_add(struct netmgr *m, const char *network, const struct net_overlay_peer *p,
                            struct err **errp);
int netmgr_overlay_peer_del(struct netmgr *m, const char *network, const struct net_overlay_peer *p,
                            struct err **errp);
/* Replaces the set of service VIPs (copied); only the VIPs that changed are touched in the
 * firewall (one small transaction; the whole ruleset is rewritten only if that fails). On
 * failure the previous set stays in force. Not persisted: the controller re-sends them. */
int netmgr_set_services(struct netmgr *m, const struct nft_service *svcs, size_t n,
                        struct err **errp);
/* The DNS table of a user network (NULL for the default network or with no_dns), for names
 * the daemon manages itself. */
struct dns_table *netmgr_dns_table(struct netmgr *m, const char *network);
